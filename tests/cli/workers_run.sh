#!/usr/bin/env bash
# Runs the HTTP test files (serve, auth, accounts) against `atp serve` with ATP_WORKERS=N, so one
# worker and several both pass what the default count passes. Usage: workers_run.sh N path/to/atp
n=$1
atp=$2
dir=$(dirname "$0")
rc=0
for t in test_serve test_auth test_accounts; do
  if ATP_WORKERS=$n bash "$dir/$t.sh" "$atp" >"${TMPDIR:-/tmp}/atp-workers-$n-$$.log" 2>&1; then
    echo "ok: $t with $n worker(s)"
  else
    echo "FAIL: $t with $n worker(s):"
    grep -v '^ok' "${TMPDIR:-/tmp}/atp-workers-$n-$$.log"
    rc=1
  fi
done
rm -f "${TMPDIR:-/tmp}/atp-workers-$n-$$.log"
exit $rc

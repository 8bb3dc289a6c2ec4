#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD/tests for SECONDS each, starting from its seed corpus in
# tests/fuzz/<target>/. New interesting inputs go to a scratch corpus (not committed); a crash
# leaves crash-* in the scratch directory and fails the run: copy it into tests/fuzz/<target>/ so
# it becomes a regression test replayed by `make test`.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/tests/fuzz_*; do
  case "$bin" in *_replay) continue ;; esac
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  work="$build/fuzz-work/$name"
  mkdir -p "$work/corpus"
  dict=()
  [ -f "$root/tests/fuzz/$name.dict" ] && dict=(-dict="$root/tests/fuzz/$name.dict")
  echo "== $name (${seconds}s)"
  if ! "$bin" "${dict[@]}" -max_total_time="$seconds" -artifact_prefix="$work/" -print_final_stats=1 \
       "$work/corpus" "$root/tests/fuzz/$name" 2>"$work/log"; then
    echo "!! $name found a crash; see $work/ (log, crash-*)"; tail -30 "$work/log"; status=1
  else
    grep -E "stat::(number_of_executed_units|new_units_added)" "$work/log" || true
  fi
done
exit $status

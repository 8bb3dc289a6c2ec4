#!/usr/bin/env bash
# HTTP benchmarks of `atp serve` (part of `make bench`): starts the server on a free port with a
# fresh SQLite store and the per-IP rate limit lifted (a benchmark from one client IP would
# otherwise measure the limiter), creates a trader with a few accounts, then runs wrk against
#   1. GET /health                     (io thread only: the cheapest answer)
#   2. GET /api/v1/accounts            (Bearer token of the trader: identity, policy, store, JSON)
#   3. POST /api/v1/auth/login         (argon2id-bound: one hash verification per request)
# and prints wrk's summaries. Usage: bench/http.sh [build-dir] [seconds]
# Environment: ATP_BENCH_CONNS (64), ATP_BENCH_THREADS (2), ATP_WORKERS (server default),
# ATP_BENCH_ONLY=health|accounts|login (one of them).
set -euo pipefail
build=${1:-build}
secs=${2:-10}
conns=${ATP_BENCH_CONNS:-64}
threads=${ATP_BENCH_THREADS:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
export NO_PROXY='*' no_proxy='*'
ATP_LOG_LEVEL=warn ATP_RATE_PER_S=100000000 ATP_RATE_BURST=100000000 \
  ATP_JWT_SECRET=bench-secret-bench-secret-bench-secret-0123 \
  ATP_ADMIN_PASSWORD="bench admin password" \
  "$root/$build/atp" serve --db "sqlite:$tmp/bench.db" --listen 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$tmp/out" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$tmp/out" | head -1)
[ -n "$url" ] || { echo "bench/http.sh: the server did not start" >&2; cat "$tmp/err" >&2; exit 1; }
url=${url%/}

export ATP_BENCH_EMAIL=bench-trader@example.com ATP_BENCH_PASSWORD="bench trader password"
post() { curl -sf -H 'Content-Type: application/json' "$@"; }
post -d "{\"email\":\"$ATP_BENCH_EMAIL\",\"name\":\"Bench\",\"password\":\"$ATP_BENCH_PASSWORD\"}" \
  "$url/api/v1/auth/register" >/dev/null
token=$(post -d "{\"email\":\"$ATP_BENCH_EMAIL\",\"password\":\"$ATP_BENCH_PASSWORD\"}" \
  "$url/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
for n in 1 2 3 4 5; do
  post -H "Authorization: Bearer $token" -d "{\"name\":\"bench $n\"}" "$url/api/v1/accounts" >/dev/null
done
items=$(curl -sf -H "Authorization: Bearer $token" "$url/api/v1/accounts" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
[ "$items" = 5 ] || { echo "bench/http.sh: expected 5 accounts, got $items" >&2; exit 1; }

# Server CPU time per request (user + system, from /proc): unlike req/s it barely moves when other
# work shares the machine, so it is the figure to compare changes by on a busy box.
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
run_wrk() { # run_wrk WRK-ARGS...: wrk's summary, then the server's CPU time per request
  local t0 t1
  t0=$(cpu_ticks)
  wrk "$@" | tee "$tmp/wrk"
  t1=$(cpu_ticks)
  awk -v t="$((t1 - t0))" -v hz="$tck" '/ requests in / { if ($1 > 0) printf "server CPU per request: %.1f us\n", t / hz * 1e6 / $1 }' "$tmp/wrk"
}

only=${ATP_BENCH_ONLY:-}
if [ -z "$only" ] || [ "$only" = health ]; then
  echo "== GET /health (wrk, $threads threads, $conns connections, $secs s)"
  run_wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$url/health"
fi
if [ -z "$only" ] || [ "$only" = accounts ]; then
  echo "== GET /api/v1/accounts as a trader with 5 accounts (wrk, $threads threads, $conns connections, $secs s)"
  run_wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" "$url/api/v1/accounts"
fi
if [ -z "$only" ] || [ "$only" = login ]; then
  # Few connections: each login costs one argon2id verification (tens of ms of one core).
  echo "== POST /api/v1/auth/login (wrk, 2 threads, 8 connections, $secs s; argon2id-bound)"
  run_wrk -t2 -c8 -d"${secs}s" --latency -s "$root/bench/login.lua" "$url/api/v1/auth/login"
fi

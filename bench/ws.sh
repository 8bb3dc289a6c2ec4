#!/usr/bin/env bash
# WebSocket benchmarks of `atp serve` (part of `make bench`): the server on a free port with the
# simulator (--feed synthetic --speed 60), a fresh SQLite store and the rate limits lifted, then
# bench/ws_bench.py (plain asyncio sockets, no third-party module):
#   1. latency: N clients each subscribed to the market channel of S symbols for D seconds:
#      server-saw-quote -> client delay p50/p99, quotes/s, server CPU and RSS;
#   2. idle: M sockets that only answer pings: server RSS per socket.
# Usage: bench/ws.sh [build-dir] [seconds]. Environment: ATP_BENCH_WS_CLIENTS (500),
# ATP_BENCH_WS_SYMBOLS (RELIANCE,TCS,INFY,HDFCBANK,ICICIBANK), ATP_BENCH_WS_IDLE (10000).
set -euo pipefail
build=${1:-build}
secs=${2:-10}
clients=${ATP_BENCH_WS_CLIENTS:-500}
symbols=${ATP_BENCH_WS_SYMBOLS:-RELIANCE,TCS,INFY,HDFCBANK,ICICIBANK}
idle=${ATP_BENCH_WS_IDLE:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
export NO_PROXY='*' no_proxy='*'
# Both processes need a descriptor per socket (the client its end, the server its own).
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((idle + 100)) ] || idle=$(($(ulimit -n) - 200))
ATP_LOG_LEVEL=warn ATP_RATE_PER_S=100000000 ATP_RATE_BURST=100000000 ATP_USER_RATE_PER_S=100000000 \
  ATP_USER_RATE_BURST=100000000 ATP_JWT_SECRET=bench-secret-bench-secret-bench-secret-0123 \
  ATP_ADMIN_PASSWORD="bench admin password" \
  "$root/$build/atp" serve --db "sqlite:$tmp/bench.db" --listen 127.0.0.1:0 --feed synthetic --speed 60 \
  >"$tmp/out" 2>"$tmp/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$tmp/out" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$tmp/out" | head -1)
[ -n "$url" ] || { echo "bench/ws.sh: the server did not start" >&2; cat "$tmp/err" >&2; exit 1; }
url=${url%/}
post() { curl -sf -H 'Content-Type: application/json' "$@"; }
post -d '{"email":"bench-ws@example.com","name":"Bench","password":"bench trader password"}' \
  "$url/api/v1/auth/register" >/dev/null
token=$(post -d '{"email":"bench-ws@example.com","password":"bench trader password"}' \
  "$url/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
echo "== market quotes: $clients clients x $symbols, $secs s (simulator at 60x)"
python3 "$root/bench/ws_bench.py" latency "$url" "$token" "$pid" "$clients" "$symbols" "$secs"
echo "== idle sockets: $idle"
python3 "$root/bench/ws_bench.py" idle "$url" "$token" "$pid" "$idle"

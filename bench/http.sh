#!/usr/bin/env bash
# HTTP benchmark: starts `atp serve` on a free port with the per-IP rate limit lifted (a benchmark
# from one client IP would otherwise measure the limiter), then runs wrk against GET /health and
# prints wrk's summary (requests/s and the latency distribution). Usage: bench/http.sh [build-dir]
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp)
ATP_RATE_PER_S=100000000 ATP_RATE_BURST=100000000 "$root/$build/atp" serve --listen 127.0.0.1:0 >"$out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q "listening on" "$out" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$out" | head -1)
[ -n "$url" ] || { echo "bench/http.sh: the server did not start" >&2; cat "$out" >&2; exit 1; }
echo "== GET ${url}health (wrk, 2 threads, 64 connections, 10 s)"
wrk -t2 -c64 -d10s --latency "${url}health"

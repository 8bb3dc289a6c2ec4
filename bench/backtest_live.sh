#!/usr/bin/env bash
# Do backtests disturb live paper trading? (docs/PERFORMANCE.md "Backtests beside live trading")
# Starts `atp serve` with the simulator at speed 60 on a fresh SQLite store and measures, first
# with no backtest ("idle"), then while heavy backtests run ("busy": a year of simulated minutes of
# three symbols, kept running back to back through the API):
#   - the feed thread's lag: market time from GET /api/v1/admin/market/status, sampled every 50 ms,
#     against where it should be at speed 60 (lag_i = (wall_i - wall_0) * 60 - (market_i -
#     market_0), in wall ms, reported above its minimum over the previous 2 s: p50, p99, max; and
#     its drift over the phase);
#   - GET /api/v1/market/quote latency from one keep-alive client, ~100 requests/s (p50, p95, p99);
#   - how far the backtests got (bars/s of simulated minutes generated and run).
# Usage: bench/backtest_live.sh [build-dir] [seconds per phase]
# Environment passed to the server: ATP_BACKTEST_NICE (default 19), ATP_BACKTEST_WORKERS (1).
set -euo pipefail
build=${1:-build}
secs=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
export NO_PROXY='*' no_proxy='*'
ATP_LOG_LEVEL=warn ATP_RATE_PER_S=100000000 ATP_RATE_BURST=100000000 ATP_USER_RATE_BURST=100000000 \
  ATP_JWT_SECRET=bench-secret-bench-secret-bench-secret-0123 \
  ATP_ADMIN_EMAIL=bench-admin@example.com ATP_ADMIN_PASSWORD="bench admin password" \
  "$root/$build/atp" serve --db "sqlite:$tmp/bench.db" --listen 127.0.0.1:0 --speed 60 >"$tmp/out" 2>"$tmp/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$tmp/out" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$tmp/out" | head -1)
[ -n "$url" ] || { echo "bench/backtest_live.sh: the server did not start" >&2; cat "$tmp/err" >&2; exit 1; }
echo "server pid $pid, backtest nice ${ATP_BACKTEST_NICE:-19}, workers ${ATP_BACKTEST_WORKERS:-1}, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "${url%/}" "$secs" "$pid" <<'EOF'
import http.client, json, os, statistics, sys, threading, time, urllib.parse

base, secs, pid = sys.argv[1], float(sys.argv[2]), sys.argv[3]
host = urllib.parse.urlparse(base)
SPEED = 60.0

def conn():
    return http.client.HTTPConnection(host.hostname, host.port, timeout=30)

def call(c, method, path, token=None, body=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data and r.getheader("Content-Type", "").startswith("application/json") else None)

c = conn()
st, login = call(c, "POST", "/api/v1/auth/login", body={"email": "bench-admin@example.com", "password": "bench admin password"})
assert st == 200, login
tok = login["access_token"]
# The market must be live (past its warm-up) before anything is measured.
for _ in range(300):
    st, s = call(c, "GET", "/api/v1/admin/market/status", tok)
    if st == 200 and s.get("ts_ns"):
        st2, q = call(c, "GET", "/api/v1/market/quote?symbol=RELIANCE", tok)
        if st2 == 200 and q.get("last") is not None:
            break
    time.sleep(0.1)
time.sleep(2)

HEAVY = {"strategy": "sma_crossover", "params": {"fast": 5, "slow": 20}, "symbols": ["RELIANCE", "TCS", "INFY"],
         "risk": {"qty": 1}, "data": {"source": "simulator", "days": 250, "seed": 3}}

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")

def phase(name, busy):
    stop = threading.Event()
    lags, quotes, done_ids = [], [], []

    def sample_feed():
        c = conn()
        first = None
        while not stop.is_set():
            t = time.monotonic()
            st, s = call(c, "GET", "/api/v1/admin/market/status", tok)
            if st == 200 and s.get("ts_ns"):
                m = s["ts_ns"] / 1e9
                if first is None:
                    first = (t, m)
                lags.append(((t - first[0]) * SPEED - (m - first[1])) / SPEED * 1000.0)
            time.sleep(0.05)

    def sample_quotes():
        c = conn()
        while not stop.is_set():
            t = time.perf_counter()
            st, _ = call(c, "GET", "/api/v1/market/quote?symbol=RELIANCE", tok)
            if st == 200:
                quotes.append((time.perf_counter() - t) * 1000.0)
            time.sleep(0.01)

    def keep_busy():
        c = conn()
        running = []
        while not stop.is_set():
            running = [i for i in running if call(c, "GET", f"/api/v1/backtests/{i}", tok)[1]["status"] in ("queued", "running")]
            while len(running) < 2 and not stop.is_set():
                st, r = call(c, "POST", "/api/v1/backtests", tok, HEAVY)
                assert st == 202, r
                running.append(r["id"])
                done_ids.append(r["id"])
            time.sleep(0.2)
        for i in running:
            call(c, "POST", f"/api/v1/backtests/{i}/cancel", tok)

    threads = [threading.Thread(target=f) for f in (sample_feed, sample_quotes) + ((keep_busy,) if busy else ())]
    cpu0 = open(f"/proc/{pid}/stat").read().split()
    for th in threads:
        th.start()
    time.sleep(secs)
    stop.set()
    for th in threads:
        th.join()
    cpu1 = open(f"/proc/{pid}/stat").read().split()
    hz = os.sysconf("SC_CLK_TCK")
    cpu = (int(cpu1[13]) + int(cpu1[14]) - int(cpu0[13]) - int(cpu0[14])) / hz
    # Above the best of the previous 2 s: a transient delay of the feed thread shows, a slow drift
    # of the pacing (the player re-anchors on pauses and at session edges) does not.
    rel = [x - min(lags[max(0, i - 40):i + 1]) for i, x in enumerate(lags)]
    drift = lags[-1] - lags[0] if lags else float("nan")
    progress = 0.0
    c = conn()  # the main connection idled through the phase: the server may have closed it
    for i in done_ids:
        st, b = call(c, "GET", f"/api/v1/backtests/{i}", tok)
        progress += b["progress"] if b["status"] != "done" else 1.0
    print(f"{name:5s} feed lag ms p50 {pct(rel, 50):6.1f} p99 {pct(rel, 99):6.1f} max {max(rel) if rel else float('nan'):6.1f} "
          f"({len(rel)} samples, drift {drift:+.0f}) | quote ms p50 {pct(quotes, 50):5.2f} p95 {pct(quotes, 95):5.2f} p99 {pct(quotes, 99):5.2f} "
          f"({len(quotes)} req) | server CPU {cpu / secs * 100:5.1f}% | backtests {progress:.2f} runs "
          f"(~{progress * 250 * 375 * 3 / secs:,.0f} bars/s)", flush=True)

phase("idle", False)
phase("busy", True)
phase("idle", False)
EOF
echo "backtest worker threads (tid, nice):"
ps -L -o tid=,ni=,pcpu= -p "$pid" | awk '$2 != 0' || true

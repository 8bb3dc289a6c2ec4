# atp serve over real HTTP: starts the server on an ephemeral port, drives it with curl, then
# checks a graceful SIGTERM (a slow upload and logins on the workers still get their answers; exit
# status 0; the SQLite WAL is flushed). Also: /health with its store check (answered while
# argon2id logins occupy the workers), and the configuration of workers.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"

start_server "sqlite:$TMP/serve.db" ATP_LOG_LEVEL=info

req "$U/health"
expect_eq "health status" 200 "$CODE"
expect_json "health body" "d['status']" ok
expect_hdr "content type" content-type application/json
expect_hdr "nosniff" x-content-type-options nosniff
expect_hdr "frame" x-frame-options DENY
expect_hdr "csp" content-security-policy "default-src 'none'; frame-ancestors 'none'"
expect_hdr "referrer" referrer-policy no-referrer
expect_hdr "cache" cache-control no-store
grep -qi '^x-request-id: [0-9a-f]\{24\}' "$TMP/hdr" && ok || bad "generated request id"

expect_json "health store backend" "d['store']['backend']" sqlite
expect_json "health store ok" "d['store']['ok']" True
expect_json "health store latency" "d['store']['latency_ms'] >= 0" True
WORKERS=${ATP_WORKERS:-2} # tests/cli/test_workers.sh runs this file with other counts
expect_json "health workers" "d['workers']" "$WORKERS"

req -H 'X-Request-Id: test-abc.123' "$U/health"
expect_hdr "request id echoed" x-request-id test-abc.123
req -H 'X-Request-Id: bad id"' "$U/health"
grep -qi '^x-request-id: [0-9a-f]\{24\}' "$TMP/hdr" && ok || bad "invalid request id replaced"

req "$U/no/such/route"
expect_eq "404" 404 "$CODE"
expect_json "404 code" "d['error']['code']" not_found
expect_hdr "404 security headers" x-content-type-options nosniff

req -X DELETE "$U/health"
expect_eq "405" 405 "$CODE"
expect_json "405 code" "d['error']['code']" method_not_allowed
expect_hdr "405 allow" allow "GET, HEAD"

head -c 1100000 /dev/zero | tr '\0' a >"$TMP/big"
req -X POST -H 'Content-Type: application/json' --data-binary @"$TMP/big" "$U/api/v1/auth/login"
expect_eq "413" 413 "$CODE"
expect_json "413 code" "d['error']['code']" body_too_large

req -X POST -H 'Content-Type: application/json' -d '{"email": "a@b", ' "$U/api/v1/auth/login"
expect_eq "malformed 400" 400 "$CODE"
expect_json "malformed field" "d['error']['field']" body
expect_json "malformed code" "d['error']['code']" malformed_body
req -X POST -d '{"email": 5, "password": "x"}' "$U/api/v1/auth/login"
expect_eq "wrong type 400" 400 "$CODE"
expect_json "wrong type field" "d['error']['field']" email
req -X POST -d '{"password": "x"}' "$U/api/v1/auth/login"
expect_json "missing field" "d['error']['field'] + ' ' + d['error']['message']" "email is required"
req -X POST -d '{"email": "a@b", "password": "x", "is_admin": true}' "$U/api/v1/auth/login"
expect_json "unknown field" "d['error']['field']" is_admin
req -X POST -d '{"email": "a@b", "password": "x"}' "$U/api/v1/auth/login"
expect_eq "login of an unknown user" 401 "$CODE"

req "$U/api/v1/openapi.json"
expect_eq "openapi" 200 "$CODE"
expect_json "openapi version" "d['openapi']" 3.1.0
expect_json "openapi login op" "d['paths']['/api/v1/auth/login']['post']['operationId']" auth.login

# /docs: the page, with a CSP of its own that allows exactly its inline style and script (by
# hash) and fetching from this origin; the script is valid JavaScript.
req "$U/docs"
expect_eq "docs" 200 "$CODE"
expect_hdr "docs content type" content-type "text/html; charset=utf-8"
expect_hdr "docs frame" x-frame-options DENY
grep -q 'fetch("/api/v1/openapi.json"' "$TMP/body" && ok || bad "docs page fetches the OpenAPI document"
python3 - "$TMP/body" "$TMP/hdr" >"$TMP/csp.check" <<'PY'
import base64, hashlib, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
csp = [l.split(":", 1)[1].strip() for l in open(sys.argv[2]) if l.lower().startswith("content-security-policy:")][0]
def h(tag):
    body = re.search("<%s>(.*?)</%s>" % (tag, tag), page, re.S).group(1)
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
want = "default-src 'none'; style-src %s; script-src %s; connect-src 'self'; base-uri 'none'; " \
       "form-action 'none'; frame-ancestors 'none'" % (h("style"), h("script"))
print("ok" if csp == want else "csp %r != %r" % (csp, want))
PY
expect_eq "docs CSP hashes its inline style and script" ok "$(cat "$TMP/csp.check")"
python3 -c "import re,sys; print(re.search('<script>(.*?)</script>', open(sys.argv[1]).read(), re.S).group(1))" \
  "$TMP/body" >"$TMP/docs.js"
node --check "$TMP/docs.js" && ok || bad "the docs page's script does not parse"

req "$U/metrics"
expect_eq "metrics" 200 "$CODE"
grep -q '^atp_http_requests_total{route="health",method="GET",status="200"} [3-9]' "$TMP/body" && ok || bad "metrics health count"
grep -q '^atp_http_requests_total{route="unmatched",method="",status="404"} 1$' "$TMP/body" && ok || bad "metrics 404 count"
grep -q '^atp_http_requests_total{route="auth.login",method="POST",status="400"} 4$' "$TMP/body" && ok || bad "metrics 400 count"
grep -q '^atp_http_request_duration_seconds_count{route="health"}' "$TMP/body" && ok || bad "metrics latency"

grep -q '^atp_store_up 1$' "$TMP/body" && ok || bad "metrics store up"
grep -q '^atp_store_ping_seconds [0-9.]*$' "$TMP/body" && ok || bad "metrics store ping"
grep -q '^atp_worker_duration_seconds_count [1-9]' "$TMP/body" && ok || bad "metrics worker duration"
grep -q '^atp_websockets_open 0$' "$TMP/body" && ok || bad "metrics websockets gauge"
grep -q "^atp_workers $WORKERS\$" "$TMP/body" && ok || bad "metrics workers"

# Logins (one argon2id verification each, tens of ms) run on the workers, so /health, asked
# while 8 of them are under way (at least two rounds for up to 4 workers), is answered before the
# last one: on one thread it would queue behind them all. Ordering only, no timings.
for i in 1 2 3 4 5 6 7 8; do
  req -X POST -d "{\"email\":\"c$i@example.com\",\"name\":\"C$i\",\"password\":\"correct horse\"}" \
    "$U/api/v1/auth/register"
  expect_eq "register c$i" 201 "$CODE"
done
logins_bg() { # 8 logins at once from one curl (parallel connections), in the background; their
  # statuses, then the time the last one ended, in $TMP/logins
  local args=() i
  for i in 1 2 3 4 5 6 7 8; do
    [ $i -gt 1 ] && args+=(--next)
    args+=(-s -o /dev/null -w '%{http_code}\n' -X POST
      -d "{\"email\":\"c$i@example.com\",\"password\":\"correct horse\"}" "$U/api/v1/auth/login")
  done
  ( curl -s --parallel --parallel-immediate --parallel-max 8 "${args[@]}" >"$TMP/logins" 2>/dev/null
    date +%s%N >>"$TMP/logins" ) &
  LOGINS_PID=$!
}
logins_bg
sleep 0.02
req "$U/health"
health_end=$(date +%s%N)
wait $LOGINS_PID
expect_eq "health during logins" 200 "$CODE"
expect_eq "concurrent logins" "200 200 200 200 200 200 200 200" "$(head -8 "$TMP/logins" | xargs)"
last_login=$(tail -1 "$TMP/logins")
[ "$health_end" -lt "$last_login" ] && ok || bad "/health waited for the logins (health $health_end, last login $last_login)"

# Every log line of a request carries its request id.
req -H 'X-Request-Id: trace-me-42' "$U/nope"
sleep 0.1
grep -q '"request_id":"trace-me-42".*"msg":"GET /nope 404' "$TMP/srv.err" && ok || { bad "request log line"; cat "$TMP/srv.err" >&2; }

# Graceful shutdown: an upload in flight (about 2 s at 2 KB/s) still gets its answer.
python3 -c "print('{\"email\":\"' + 'a'*4000 + '\",\"password\":\"x\"}')" >"$TMP/slow"
curl -s -o "$TMP/slow.body" -w '%{http_code}' --limit-rate 2K -X POST --data-binary @"$TMP/slow" \
  "$U/api/v1/auth/login" >"$TMP/slow.code" &
CURL_PID=$!
sleep 0.7
kill -TERM "$SRV_PID"
wait "$CURL_PID"
expect_eq "in-flight request answered" 400 "$(cat "$TMP/slow.code")"
for _ in $(seq 1 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$SRV_PID" 2>/dev/null; then bad "server still running 5 s after SIGTERM"; else ok; fi
wait "$SRV_PID"
expect_eq "exit status after SIGTERM" 0 "$?"
SRV_PID=

# Graceful shutdown with logins on the workers: each is answered, the workers' store connections
# are closed, and the WAL is checkpointed into the database file (the store is flushed). One
# worker, so the 8 logins queue behind each other; SIGTERM once the server has received all 8
# (answered + in flight; the metrics request itself is also in flight) and one is still going.
start_server "sqlite:$TMP/serve.db" ATP_LOG_LEVEL=info ATP_WORKERS=1
logins_bg
for _ in $(seq 1 500); do
  curl -s "$U/metrics" >"$TMP/m"
  n=$(sed -n 's/^atp_http_inflight_requests //p' "$TMP/m")
  done_logins=$(grep '^atp_http_requests_total{route="auth.login"' "$TMP/m" | awk '{s += $2} END {print s + 0}')
  [ "${n:-0}" -ge 2 ] && [ $((done_logins + n - 1)) -ge 8 ] && break
  sleep 0.01
done
kill -TERM "$SRV_PID"
wait "$SRV_PID"
expect_eq "exit status after SIGTERM with logins in flight" 0 "$?"
SRV_PID=
wait $LOGINS_PID
inflight=$(sed -n 's/.*shutting down: \([0-9]*\) request(s) in flight.*/\1/p' "$TMP/srv.err")
[ "${inflight:-0}" -ge 1 ] && ok || bad "no login was in flight at SIGTERM ('$inflight'; last poll: $n in flight, $done_logins answered)"
expect_eq "logins in flight at SIGTERM answered" "200 200 200 200 200 200 200 200" "$(head -8 "$TMP/logins" | xargs)"
grep -q 'store connection(s) flushed and closed' "$TMP/srv.err" && ok || bad "workers' stores closed"
if [ -s "$TMP/serve.db-wal" ]; then bad "WAL not checkpointed at shutdown ($(stat -c %s "$TMP/serve.db-wal") bytes)"; else ok; fi

# Per-IP rate limit: a burst of 3, then 429 with Retry-After.
start_server "sqlite:$TMP/serve.db" ATP_LOG_LEVEL=info ATP_RATE_BURST=3 ATP_RATE_PER_S=0.5
for _ in 1 2 3; do req "$U/health"; done
expect_eq "within burst" 200 "$CODE"
req "$U/health"
expect_eq "429" 429 "$CODE"
expect_json "429 code" "d['error']['code']" rate_limited
expect_hdr "retry-after" retry-after 2
kill -INT "$SRV_PID"
wait "$SRV_PID"
expect_eq "exit status after SIGINT" 0 "$?"
SRV_PID=

# CORS: off by default (no CORS header, preflights refused), then an allow-list of exact origins.
start_server "sqlite:$TMP/serve.db"
req -H 'Origin: https://app.example' "$U/health"
expect_hdr "cors off: no allow-origin" access-control-allow-origin ""
expect_hdr "cors off: no vary" vary ""
req -X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: POST' "$U/api/v1/accounts"
expect_eq "cors off: preflight refused" 403 "$CODE"
expect_json "cors off: preflight code" "d['error']['code']" cors_forbidden
stop_server
start_server "sqlite:$TMP/serve.db" ATP_CORS_ORIGINS=" https://app.example , http://localhost:5173"
req -H 'Origin: https://app.example' "$U/health"
expect_hdr "allowed origin echoed" access-control-allow-origin https://app.example
expect_hdr "vary origin" vary Origin
expect_hdr "exposed headers" access-control-expose-headers "X-Request-Id, Retry-After"
req -H 'Origin: http://localhost:5173' "$U/api/v1/accounts"
expect_eq "allowed origin, worker route" 401 "$CODE"
expect_hdr "second origin echoed on a worker's answer" access-control-allow-origin http://localhost:5173
req -H 'Origin: https://evil.example' "$U/health"
expect_eq "disallowed origin still served" 200 "$CODE"
expect_hdr "disallowed origin: no allow-origin" access-control-allow-origin ""
expect_hdr "disallowed origin: vary" vary Origin
req -H 'Origin: https://app.example.evil.com' "$U/health"
expect_hdr "origin prefix is not a match" access-control-allow-origin ""
req -X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: POST' \
  -H 'Access-Control-Request-Headers: authorization, content-type' "$U/api/v1/accounts"
expect_eq "preflight" 204 "$CODE"
expect_hdr "preflight origin" access-control-allow-origin https://app.example
expect_hdr "preflight methods" access-control-allow-methods "GET, HEAD, POST, OPTIONS"
expect_hdr "preflight headers" access-control-allow-headers "Authorization, Content-Type, X-Request-Id, Idempotency-Key"
expect_hdr "preflight max age" access-control-max-age 600
req -X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: PATCH' "$U/api/v1/accounts/7"
expect_hdr "preflight methods of a parameterised path" access-control-allow-methods "GET, HEAD, PATCH, OPTIONS"
req -X OPTIONS -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: POST' "$U/api/v1/accounts"
expect_eq "preflight from a disallowed origin" 403 "$CODE"
expect_hdr "no allow-origin on the refusal" access-control-allow-origin ""
expect_hdr "no allow-methods on the refusal" access-control-allow-methods ""
req -X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: GET' "$U/no/such"
expect_eq "preflight of an unknown path" 404 "$CODE"
req -X OPTIONS "$U/api/v1/accounts"
expect_eq "OPTIONS without a preflight" 405 "$CODE"
stop_server
for bad_origin in '*' 'https://app.example/' 'ftp://x.example' 'https://a.example/path' 'app.example'; do
  expect_status "cors origin '$bad_origin' refused" 2 env ATP_CORS_ORIGINS="$bad_origin" "$ATP" serve --listen 127.0.0.1:0
  expect_err_contains "cors origin '$bad_origin' message" "ATP_CORS_ORIGINS: '$bad_origin' is not an origin"
done
echo '{"cors_origins": ["https://a.example", 5]}' >"$TMP/cfg.json"
expect_status "cors origins file: not strings" 2 "$ATP" serve --config "$TMP/cfg.json" --listen 127.0.0.1:0
expect_err_contains "cors origins file message" "field 'cors_origins' must be a string"
echo '{"cors_origins": ["https://a.example", "https://b.example:8443"], "workers": 1}' >"$TMP/cfg.json"
saved_workers=${ATP_WORKERS-}
unset ATP_WORKERS # the environment would override the file
start_server "sqlite:$TMP/serve.db" ATP_CONFIG="$TMP/cfg.json"
[ -n "$saved_workers" ] && export ATP_WORKERS=$saved_workers
req -H 'Origin: https://b.example:8443' "$U/health"
expect_hdr "cors origins from the file" access-control-allow-origin https://b.example:8443
expect_json "workers from the file" "d['workers']" 1
stop_server

# The store check fails: PostgreSQL drops the server's connections (they carry an application
# name of their own), so /health turns 503 "degraded" within a few seconds, naming the error.
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  schema="serve_health_$$"
  app="atp_serve_test_$$"
  psql "$ATP_TEST_PG_URL" -qc "create schema $schema" >/dev/null
  sep='?'
  case "$ATP_TEST_PG_URL" in *\?*) sep='&' ;; esac
  start_server "$ATP_TEST_PG_URL${sep}options=-csearch_path%3D$schema&application_name=$app"
  req "$U/health"
  expect_eq "pg health" 200 "$CODE"
  expect_json "pg health backend" "d['store']['backend']" postgres
  psql "$ATP_TEST_PG_URL" -qc \
    "select pg_terminate_backend(pid) from pg_stat_activity where application_name = '$app'" >/dev/null
  for _ in $(seq 1 60); do
    req "$U/health"
    [ "$CODE" = 503 ] && break
    sleep 0.1
  done
  expect_eq "health with the store gone" 503 "$CODE"
  expect_json "degraded" "d['status'] + ' ' + str(d['store']['ok'])" "degraded False"
  expect_json "degraded names the error" "len(d['store']['error']) > 0" True
  stop_server
  psql "$ATP_TEST_PG_URL" -qc "set client_min_messages = warning; drop schema $schema cascade" >/dev/null
fi

expect_status "bad listen" 2 "$ATP" serve --listen 127.0.0.1:99999
expect_err_contains "bad listen message" "listen"
expect_status "bad workers" 2 env ATP_WORKERS=2.5 "$ATP" serve --listen 127.0.0.1:0
expect_err_contains "bad workers message" "ATP_WORKERS must be an integer in 0..64"
echo '{"workers": 65}' >"$TMP/cfg.json"
expect_status "workers out of range in the file" 2 "$ATP" serve --config "$TMP/cfg.json" --listen 127.0.0.1:0
expect_err_contains "workers file message" "field 'workers' must be an integer in 0..64"
expect_status "memory store with workers" 1 env ATP_WORKERS=2 "$ATP" serve --db sqlite::memory: --listen 127.0.0.1:0
expect_err_contains "memory store message" "sqlite::memory: is private to one connection"

# workers 0 (everything on the io thread) still serves.
start_server "sqlite:$TMP/serve.db" ATP_WORKERS=0
req -X POST -d '{"email":"c1@example.com","password":"correct horse"}' "$U/api/v1/auth/login"
expect_eq "login without workers" 200 "$CODE"
req "$U/health"
expect_json "health without workers" "str(d['workers']) + ' ' + str(d['store']['ok'])" "0 True"
stop_server

finish

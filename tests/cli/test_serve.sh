# atp serve over real HTTP: starts the server on an ephemeral port, drives it with curl, then
# checks a graceful SIGTERM (a slow upload in flight still gets its answer; exit status 0).
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

req "$U/metrics"
expect_eq "metrics" 200 "$CODE"
grep -q '^atp_http_requests_total{route="health",method="GET",status="200"} [3-9]' "$TMP/body" && ok || bad "metrics health count"
grep -q '^atp_http_requests_total{route="unmatched",method="",status="404"} 1$' "$TMP/body" && ok || bad "metrics 404 count"
grep -q '^atp_http_requests_total{route="auth.login",method="POST",status="400"} 4$' "$TMP/body" && ok || bad "metrics 400 count"
grep -q '^atp_http_request_duration_seconds_count{route="health"}' "$TMP/body" && ok || bad "metrics latency"

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

expect_status "bad listen" 2 "$ATP" serve --listen 127.0.0.1:99999
expect_err_contains "bad listen message" "listen"

finish

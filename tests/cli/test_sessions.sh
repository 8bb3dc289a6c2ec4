# Sessions over real HTTP (docs/security.md "Sessions"): logout kills the access token at once;
# the inactivity timeout ends a session (401 session_expired) and its refresh; a password change
# ends the other sessions but not the caller's and retires the old password; a role change and a
# disable made by `atp user` on the same database while the server runs act on the next request;
# the per-user and credential-attempt rate limits answer 429 with Retry-After. Against SQLite,
# then PostgreSQL when ATP_TEST_PG_URL is set.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
post() { local path=$1; shift; req -X POST -H 'Content-Type: application/json' "$@" "$U$path"; }
login() { post /api/v1/auth/login -d "{\"email\":\"$1\",\"password\":\"$2\"}"; }
me() { req -H "Authorization: Bearer $1" "$U/api/v1/me"; }
expect_retry_between() { # NAME LOW HIGH: the Retry-After header of the last response
  local got
  got=$(grep -i '^retry-after:' "$TMP/hdr" | head -1 | cut -d: -f2 | tr -d ' \r')
  if [ -n "$got" ] && [ "$got" -ge "$2" ] && [ "$got" -le "$3" ]; then ok; else bad "$1: Retry-After '$got' not in $2..$3"; fi
}

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  local email="sess-$L@example.com" pw="first password"

  # ---- revocation, role changes, disable, password change (default idle timeout) ----
  start_server "$db"
  post /api/v1/auth/register -d "{\"email\":\"$email\",\"name\":\"S\",\"password\":\"$pw\"}"
  expect_eq "$L: register" 201 "$CODE"
  login "$email" "$pw"
  expect_eq "$L: login" 200 "$CODE"
  expect_json "$L: idle timeout announced" "d['session_idle_s']" 1800
  local at rt
  at=$(jget "d['access_token']")
  rt=$(jget "d['refresh_token']")
  me "$at"
  expect_eq "$L: me" 200 "$CODE"
  local sid
  sid=$(jget "d['session_id']")
  [ ${#sid} -eq 43 ] && ok || bad "$L: a session id in /me ($sid)"

  # Logout: the access token of the session is dead on the next request (the deny-list).
  post /api/v1/auth/logout -d "{\"refresh_token\":\"$rt\"}"
  expect_eq "$L: logout" 200 "$CODE"
  me "$at"
  expect_eq "$L: access token after logout" 401 "$CODE"
  expect_json "$L: ended-session code" "d['error']['code']" session_expired
  post /api/v1/auth/refresh -d "{\"refresh_token\":\"$rt\"}"
  expect_eq "$L: refresh after logout" 401 "$CODE"
  # An ended session's token does not stand in the way of a route anonymous callers may use.
  post /api/v1/auth/login -H "Authorization: Bearer $at" -d "{\"email\":\"$email\",\"password\":\"$pw\"}"
  expect_eq "$L: login while sending a dead token" 200 "$CODE"
  at=$(jget "d['access_token']")
  rt=$(jget "d['refresh_token']")

  # Refresh-token reuse ends the session, access token included.
  me "$at"
  sid=$(jget "d['session_id']")
  post /api/v1/auth/refresh -d "{\"refresh_token\":\"$rt\"}"
  expect_eq "$L: refresh" 200 "$CODE"
  local at2
  at2=$(jget "d['access_token']")
  me "$at2"
  expect_json "$L: refreshed token, same session" "d['session_id']" "$sid"
  post /api/v1/auth/refresh -d "{\"refresh_token\":\"$rt\"}"
  expect_eq "$L: reuse refused" 401 "$CODE"
  me "$at2"
  expect_eq "$L: access token after reuse" 401 "$CODE"
  expect_json "$L: reuse code" "d['error']['code']" session_expired

  # A role change by the operator acts on the next request, with the same token.
  login "$email" "$pw"
  at=$(jget "d['access_token']")
  post /api/v1/accounts -H "Authorization: Bearer $at" -d '{"name":"Main","broker":"paper"}'
  expect_eq "$L: trader creates an account" 201 "$CODE"
  expect_status "$L: set-role investor" 0 "$ATP" user set-role --db "$db" --email "$email" --role investor
  post /api/v1/accounts -H "Authorization: Bearer $at" -d '{"name":"Second","broker":"paper"}'
  expect_eq "$L: investor now, same token" 403 "$CODE"
  me "$at"
  expect_json "$L: me shows the new role" "d['role']" investor
  expect_status "$L: set-role trader" 0 "$ATP" user set-role --db "$db" --email "$email" --role trader
  post /api/v1/accounts -H "Authorization: Bearer $at" -d '{"name":"Third","broker":"paper"}'
  expect_eq "$L: trader again" 201 "$CODE"

  # Password change: the caller's session survives, the other one ends, the old password is out.
  login "$email" "$pw"
  local other_at other_rt
  other_at=$(jget "d['access_token']")
  other_rt=$(jget "d['refresh_token']")
  post /api/v1/me/password -H "Authorization: Bearer $at" -d "{\"current_password\":\"wrong one!\",\"new_password\":\"second password\"}"
  expect_eq "$L: wrong current password" 403 "$CODE"
  expect_json "$L: wrong current password field" "d['error']['field']" current_password
  post /api/v1/me/password -H "Authorization: Bearer $at" -d "{\"current_password\":\"$pw\",\"new_password\":\"short\"}"
  expect_eq "$L: weak new password" 422 "$CODE"
  expect_json "$L: weak new password field" "d['error']['field'] + ' ' + d['error']['code']" "new_password weak_password"
  post /api/v1/me/password -H "Authorization: Bearer $at" -d "{\"current_password\":\"$pw\",\"new_password\":\"$pw\"}"
  expect_eq "$L: the same password again" 422 "$CODE"
  expect_json "$L: the same password again: field" "d['error']['field']" new_password
  post /api/v1/me/password -d "{\"current_password\":\"$pw\",\"new_password\":\"second password\"}"
  expect_eq "$L: password change needs a login" 401 "$CODE"
  post /api/v1/me/password -H "Authorization: Bearer $at" -d "{\"current_password\":\"$pw\",\"new_password\":\"second password\"}"
  expect_eq "$L: password change" 200 "$CODE"
  expect_json "$L: other sessions ended" "d['sessions_revoked']" 1
  me "$at"
  expect_eq "$L: the caller's session survives" 200 "$CODE"
  me "$other_at"
  expect_eq "$L: the other session is out" 401 "$CODE"
  post /api/v1/auth/refresh -d "{\"refresh_token\":\"$other_rt\"}"
  expect_eq "$L: the other session's refresh is out" 401 "$CODE"
  login "$email" "$pw"
  expect_eq "$L: the old password is refused" 401 "$CODE"
  login "$email" "second password"
  expect_eq "$L: the new password works" 200 "$CODE"

  # Disable by the operator: every session ends on the next request; login is refused.
  local at3
  at3=$(jget "d['access_token']")
  expect_status "$L: atp user disable" 0 "$ATP" user disable --db "$db" --email "$email"
  me "$at"
  expect_eq "$L: disabled user's token" 401 "$CODE"
  expect_json "$L: disabled code" "d['error']['code']" account_disabled
  me "$at3"
  expect_eq "$L: disabled user's other token" 401 "$CODE"
  login "$email" "second password"
  expect_eq "$L: disabled user's login" 403 "$CODE"
  stop_server

  # ---- the inactivity timeout ----
  local email2="idle-$L@example.com" idle
  start_server "$db" ATP_SESSION_IDLE_S=2
  post /api/v1/auth/register -d "{\"email\":\"$email2\",\"name\":\"I\",\"password\":\"$pw\"}"
  login "$email2" "$pw"
  read -r at rt idle < <(jget "d['access_token'], d['refresh_token'], d['session_idle_s']")
  expect_eq "$L: idle timeout announced" 2 "$idle"
  # Activity keeps the session alive past the timeout counted from the login (each request is
  # well within 2 s of the previous one; the touch interval is then 0.5 s).
  for i in 1 2 3 4; do
    sleep 0.7
    me "$at"
    expect_eq "$L: active at ${i}x0.7 s" 200 "$CODE"
  done
  sleep 3
  me "$at"
  expect_eq "$L: idle session" 401 "$CODE"
  expect_json "$L: idle code" "d['error']['code']" session_expired
  post /api/v1/auth/refresh -d "{\"refresh_token\":\"$rt\"}"
  expect_eq "$L: idle session's refresh" 401 "$CODE"
  expect_json "$L: idle refresh code" "d['error']['code']" session_expired
  login "$email2" "$pw"
  expect_eq "$L: a new login after the timeout" 200 "$CODE"
  stop_server

  # ---- rate limits ----
  local email3="limit-$L@example.com"
  start_server "$db" ATP_AUTH_IP_BURST=4 ATP_AUTH_IP_PER_MIN=1 ATP_USER_RATE_BURST=3 ATP_USER_RATE_PER_S=0.5
  post /api/v1/auth/register -d "{\"email\":\"$email3\",\"name\":\"L\",\"password\":\"$pw\"}"
  expect_eq "$L: register (attempt 1)" 201 "$CODE"
  login "$email3" "$pw"
  expect_eq "$L: login (attempt 2)" 200 "$CODE"
  at=$(jget "d['access_token']")
  for i in 1 2 3; do
    me "$at"
    expect_eq "$L: request $i of the user's burst" 200 "$CODE"
  done
  me "$at"
  expect_eq "$L: per-user limit" 429 "$CODE"
  expect_json "$L: per-user limit code" "d['error']['code']" rate_limited
  expect_retry_between "$L: per-user Retry-After" 1 2
  req "$U/health"
  expect_eq "$L: anonymous requests are not the user's" 200 "$CODE"
  login "$email3" "wrong password"
  expect_eq "$L: attempt 3" 401 "$CODE"
  login "$email3" "wrong password"
  expect_eq "$L: attempt 4" 401 "$CODE"
  login "$email3" "$pw"
  expect_eq "$L: per-IP login limit" 429 "$CODE"
  expect_retry_between "$L: login Retry-After" 50 60
  post /api/v1/auth/register -d "{\"email\":\"other-$email3\",\"name\":\"L\",\"password\":\"$pw\"}"
  expect_eq "$L: register shares the per-IP limit" 429 "$CODE"
  stop_server

  local email4="email-limit-$L@example.com"
  start_server "$db" ATP_AUTH_EMAIL_BURST=2
  post /api/v1/auth/register -d "{\"email\":\"$email4\",\"name\":\"E\",\"password\":\"$pw\"}"
  expect_eq "$L: email attempt 1 (register)" 201 "$CODE"
  login "${email4^^}" "$pw"
  expect_eq "$L: email attempt 2 (any case)" 200 "$CODE"
  login "$email4" "$pw"
  expect_eq "$L: per-email limit" 429 "$CODE"
  expect_retry_between "$L: per-email Retry-After" 80 90
  login "$email2" "$pw"
  expect_eq "$L: another email is not limited" 200 "$CODE"
  stop_server

  # Bad settings stop the start, naming the variable.
  expect_status "$L: bad ATP_SESSION_IDLE_S" 2 env ATP_SESSION_IDLE_S=0 "$ATP" serve --db "$db" --listen 127.0.0.1:0
  expect_err_contains "$L: bad setting named" ATP_SESSION_IDLE_S

  # The audit trail has the session events.
  if [ "${db#sqlite:}" != "$db" ]; then
    local got
    got=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(' '.join(f'{a}/{r}' for a,r in c.execute('select distinct action,result from audit_log where action in (\'auth.logout\',\'auth.refresh_reuse\',\'password.change\',\'auth.refresh\') order by 1,2')))" "${db#sqlite:}")
    expect_eq "$L: audit" "auth.logout/ok auth.refresh/session_ended auth.refresh_reuse/denied password.change/denied password.change/ok" "$got"
  fi
}

run_suite "sqlite:$TMP/sessions.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_url && run_suite "$PG_URL" "pg$$$(date +%s)"
fi

finish

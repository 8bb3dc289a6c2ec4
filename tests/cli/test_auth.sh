# Identity over real HTTP: atp serve on an ephemeral port with a real store, driven with curl:
# register, login, /me, forged tokens, refresh rotation and reuse detection, logout, lockout and
# `atp user unlock`, SQL metacharacters. Against SQLite (a temp file), then against PostgreSQL
# when ATP_TEST_PG_URL is set.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
post() { local path=$1; shift; req -X POST -H 'Content-Type: application/json' "$@" "$U$path"; }
b64url() { python3 -c "import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip('='))" "$1"; }

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  start_server "$db" ATP_ADMIN_EMAIL="root-$L@example.com" ATP_ADMIN_PASSWORD="admin-password-1"
  grep -q "created admin root-$L@example.com" "$TMP/srv.out" && ok || bad "$L: admin created"
  local email="alice-$L@example.com"

  # Register: new users are traders; duplicate (any case) 409; weak password 422 with its field.
  post /api/v1/auth/register -d "{\"email\":\"$email\",\"name\":\"Alice\",\"password\":\"correct horse\"}"
  expect_eq "$L: register" 201 "$CODE"
  expect_json "$L: register role" "d['role'] + ' ' + d['email']" "trader $email"
  post /api/v1/auth/register -d "{\"email\":\"ALICE-$L@example.com\",\"name\":\"A2\",\"password\":\"correct horse\"}"
  expect_eq "$L: duplicate" 409 "$CODE"
  expect_json "$L: duplicate field" "d['error']['field']" email
  post /api/v1/auth/register -d "{\"email\":\"bob-$L@example.com\",\"name\":\"Bob\",\"password\":\"short\"}"
  expect_eq "$L: weak password" 422 "$CODE"
  expect_json "$L: weak password field" "d['error']['field'] + ' ' + d['error']['code']" "password weak_password"

  # Login.
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"correct horse\"}"
  expect_eq "$L: login" 200 "$CODE"
  expect_json "$L: login shape" "d['expires_in'], d['user']['email'], d['token_type']" "900 $email Bearer"
  local at rt
  at=$(jget "d['access_token']")
  rt=$(jget "d['refresh_token']")
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"wrong password\"}"
  expect_eq "$L: wrong password" 401 "$CODE"
  local msg_wrong
  msg_wrong=$(jget "d['error']['message']")
  post /api/v1/auth/login -d "{\"email\":\"nobody-$L@example.com\",\"password\":\"wrong password\"}"
  expect_eq "$L: unknown email" 401 "$CODE"
  expect_json "$L: same message for unknown email" "d['error']['message']" "$msg_wrong"
  # A success resets the count (one failure above).
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"correct horse\"}"
  expect_eq "$L: login again" 200 "$CODE"

  # /me.
  req -H "Authorization: Bearer $at" "$U/api/v1/me"
  expect_eq "$L: me" 200 "$CODE"
  expect_json "$L: me body" "d['email'], d['role']" "$email trader"
  req "$U/api/v1/me"
  expect_eq "$L: me without token" 401 "$CODE"
  expect_json "$L: me without token code" "d['error']['code']" unauthenticated
  req -H "Authorization: Bearer garbage" "$U/api/v1/me"
  expect_eq "$L: me with garbage" 401 "$CODE"
  # Forged: alg none (two spellings), and a tampered payload (role admin) under the real signature.
  local h p s payload
  IFS=. read -r h p s <<<"$at"
  payload=$(python3 -c "import base64,json,sys; t=sys.argv[1]; t+='='*(-len(t)%4); d=json.loads(base64.urlsafe_b64decode(t)); d['role']='admin'; print(json.dumps(d,separators=(',',':')))" "$p")
  for alg in none NONE; do
    req -H "Authorization: Bearer $(b64url "{\"alg\":\"$alg\",\"typ\":\"JWT\"}").$(b64url "$payload")." "$U/api/v1/me"
    expect_eq "$L: alg $alg" 401 "$CODE"
  done
  req -H "Authorization: Bearer $h.$(b64url "$payload").$s" "$U/api/v1/me"
  expect_eq "$L: tampered payload" 401 "$CODE"

  # Refresh rotation, then reuse of the old token revokes the whole family.
  post /api/v1/auth/refresh -d "{\"refresh_token\":\"$rt\"}"
  expect_eq "$L: refresh" 200 "$CODE"
  local rt2 at2
  rt2=$(jget "d['refresh_token']")
  at2=$(jget "d['access_token']")
  [ "$rt2" != "$rt" ] && ok || bad "$L: refresh token rotated"
  req -H "Authorization: Bearer $at2" "$U/api/v1/me"
  expect_eq "$L: me with refreshed token" 200 "$CODE"
  post /api/v1/auth/refresh -d "{\"refresh_token\":\"$rt\"}"
  expect_eq "$L: reuse of a rotated token" 401 "$CODE"
  post /api/v1/auth/refresh -d "{\"refresh_token\":\"$rt2\"}"
  expect_eq "$L: family revoked after reuse" 401 "$CODE"
  post /api/v1/auth/refresh -d '{"refresh_token":"not-a-token"}'
  expect_eq "$L: malformed refresh token" 401 "$CODE"

  # Logout revokes the refresh token.
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"correct horse\"}"
  rt=$(jget "d['refresh_token']")
  post /api/v1/auth/logout -d "{\"refresh_token\":\"$rt\"}"
  expect_eq "$L: logout" 200 "$CODE"
  post /api/v1/auth/refresh -d "{\"refresh_token\":\"$rt\"}"
  expect_eq "$L: refresh after logout" 401 "$CODE"

  # Lockout: 3 consecutive failures lock for 15 min (423, even with the right password).
  for i in 1 2 3; do
    post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"wrong $i wrong\"}"
    expect_eq "$L: failure $i" 401 "$CODE"
  done
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"correct horse\"}"
  expect_eq "$L: locked" 423 "$CODE"
  expect_json "$L: locked code" "d['error']['code']" locked
  expect_status "$L: atp user unlock" 0 "$ATP" user unlock --db "$db" --email "$email"
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"correct horse\"}"
  expect_eq "$L: login after unlock" 200 "$CODE"

  # The admin logs in as admin.
  post /api/v1/auth/login -d "{\"email\":\"root-$L@example.com\",\"password\":\"admin-password-1\"}"
  expect_json "$L: admin role" "d['user']['role']" admin

  # SQL metacharacters are data.
  local evil_email="o'brien\\\";--$L@x.com" evil_name="Robert'); DROP TABLE users;-- \\\"%_"
  post /api/v1/auth/register -d "{\"email\":\"$evil_email\",\"name\":\"$evil_name\",\"password\":\"p'; OR 1=1 --\"}"
  expect_eq "$L: evil register" 201 "$CODE"
  expect_json "$L: evil stored verbatim" "d['name']" "Robert'); DROP TABLE users;-- \"%_"
  post /api/v1/auth/login -d "{\"email\":\"$evil_email\",\"password\":\"p'; OR 1=1 --\"}"
  expect_eq "$L: evil login" 200 "$CODE"
  expect_json "$L: evil email verbatim" "d['user']['email']" "o'brien\";--$L@x.com"
  post /api/v1/auth/login -d "{\"email\":\"x' OR '1'='1\",\"password\":\"' OR '1'='1\"}"
  expect_eq "$L: injection login" 401 "$CODE"

  # Logins, failures and the lock are audited.
  stop_server
  "$ATP" user list --db "$db" >"$TMP/users" 2>&1
  grep -qF "DROP TABLE users" "$TMP/users" && ok || bad "$L: users table intact, evil name listed"
  if [ "${db#sqlite:}" != "$db" ]; then
    local got
    got=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(' '.join(f'{a}/{r}={n}' for a,r,n in c.execute('select action,result,count(*) from audit_log where action like \'auth.lo%\' or action = \'user.unlock\' group by 1,2 order by 1,2')))" "${db#sqlite:}")
    expect_eq "$L: audit of logins and the lock" "auth.lock/ok=1 auth.login/denied=6 auth.login/locked=1 auth.login/ok=6 auth.logout/ok=1 user.unlock/ok=1" "$got"
  fi
}

run_suite "sqlite:$TMP/auth.db" sqlite

# First start without ATP_ADMIN_PASSWORD: a generated password, printed once, that logs in; a
# token signed by another process's random key is refused (tokens die with the process).
start_server "sqlite:$TMP/fresh.db"
pw=$(sed -n 's|^atp serve: created admin admin@localhost with password \([^ ]*\) (shown once)$|\1|p' "$TMP/srv.out")
[ -n "$pw" ] && ok || bad "generated admin password printed"
post /api/v1/auth/login -d "{\"email\":\"admin@localhost\",\"password\":\"$pw\"}"
expect_eq "login with the generated password" 200 "$CODE"
old_at=$(jget "d['access_token']")
stop_server
start_server "sqlite:$TMP/fresh.db"
grep -q "created admin" "$TMP/srv.out" && bad "admin created twice" || ok
req -H "Authorization: Bearer $old_at" "$U/api/v1/me"
expect_eq "token of another process's key" 401 "$CODE"
stop_server
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_url && run_suite "$PG_URL" "pg$$$(date +%s)"
fi

finish

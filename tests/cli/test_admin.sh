# Administration over real HTTP: atp serve on an ephemeral port with a real store (a fresh SQLite
# file, then a fresh PostgreSQL schema): admins only (a trader 403, anonymous 401), users listed
# with cursor pagination, role and status changes (a disabled user cannot log in; an admin cannot
# demote itself; the last active admin stays, also through `atp user`), unlocking a user locked by
# 3 wrong logins, the audit log with its filters, the status route.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
login() { # login EMAIL [PASSWORD] -> status in $CODE, the access token in $TOK
  as "" POST /api/v1/auth/login "{\"email\":\"$1\",\"password\":\"${2:-correct horse}\"}"
  TOK=
  [ "$CODE" = 200 ] && TOK=$(jget "d['access_token']")
}
register() { # register EMAIL NAME -> the new user's id in $ID
  as "" POST /api/v1/auth/register "{\"email\":\"$1\",\"name\":\"$2\",\"password\":\"correct horse\"}"
  expect_eq "register $1" 201 "$CODE"
  ID=$(jget "d['id']")
}

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  start_server "$db" ATP_ADMIN_EMAIL="root@example.com" ATP_ADMIN_PASSWORD="correct horse"
  local adm tt alice bob carol
  login root@example.com; adm=$TOK
  expect_eq "$L: admin login" 200 "$CODE"
  register alice@example.com Alice; alice=$ID
  register bob@example.com Bob; bob=$ID
  register carol@example.com Carol; carol=$ID
  login alice@example.com; tt=$TOK

  # Admins only: anonymous 401, a trader 403 on every admin route.
  local p
  for p in /api/v1/admin/users /api/v1/admin/users/1 /api/v1/admin/audit /api/v1/admin/status; do
    as "" GET "$p"; expect_eq "$L: anonymous $p" 401 "$CODE"
    as "$tt" GET "$p"; expect_eq "$L: trader $p" 403 "$CODE"
  done
  as "$tt" PATCH "/api/v1/admin/users/$alice" '{"role":"admin"}'; expect_eq "$L: trader promotes itself" 403 "$CODE"
  as "$tt" POST "/api/v1/admin/users/$alice/unlock"; expect_eq "$L: trader unlocks" 403 "$CODE"

  # The list, paged by cursor; never a password hash.
  as "$adm" GET "/api/v1/admin/users?limit=2"
  expect_eq "$L: list" 200 "$CODE"
  expect_json "$L: first page" "[u['email'] for u in d['items']], d['next_cursor'] == d['items'][1]['id']" \
    "['root@example.com', 'alice@example.com'] True"
  expect_json "$L: no secrets" "any(k in u for u in d['items'] for k in ('password_hash', 'password', 'totp_secret'))" False
  local cur
  cur=$(jget "d['next_cursor']")
  as "$adm" GET "/api/v1/admin/users?limit=2&cursor=$cur"
  expect_json "$L: second page" "[u['email'] for u in d['items']], 'next_cursor' in d" "['bob@example.com', 'carol@example.com'] False"
  as "$adm" GET "/api/v1/admin/users?limit=0"; expect_eq "$L: limit 0" 422 "$CODE"
  expect_json "$L: limit named" "d['error']['field']" limit
  as "$adm" GET "/api/v1/admin/users?limit=501"; expect_eq "$L: limit 501" 422 "$CODE"
  as "$adm" GET "/api/v1/admin/users?cursor=x"; expect_eq "$L: bad cursor" 422 "$CODE"
  expect_json "$L: cursor named" "d['error']['field']" cursor
  as "$adm" GET "/api/v1/admin/users/$bob"
  expect_eq "$L: get" 200 "$CODE"
  expect_json "$L: get shape" "d['email'], d['role'], d['status'], d['locked'], d['created'].endswith('Z')" \
    "bob@example.com trader active False True"
  as "$adm" GET /api/v1/admin/users/999999; expect_eq "$L: absent user" 404 "$CODE"

  # Role and status.
  as "$adm" PATCH "/api/v1/admin/users/$bob" '{"role":"investor"}'
  expect_eq "$L: set role" 200 "$CODE"
  expect_json "$L: role set" "d['role']" investor
  as "$adm" PATCH "/api/v1/admin/users/$bob" '{"role":"root"}'; expect_eq "$L: unknown role" 422 "$CODE"
  expect_json "$L: role named" "d['error']['field']" role
  as "$adm" PATCH "/api/v1/admin/users/$bob" '{"status":"gone"}'; expect_eq "$L: unknown status" 422 "$CODE"
  expect_json "$L: status named" "d['error']['field']" status
  as "$adm" PATCH "/api/v1/admin/users/$bob" '{}'; expect_eq "$L: nothing to change" 422 "$CODE"
  as "$adm" PATCH "/api/v1/admin/users/$bob" '{"role":"trader","email":"x@y"}'; expect_eq "$L: unknown field" 400 "$CODE"
  as "$adm" PATCH /api/v1/admin/users/999999 '{"role":"trader"}'; expect_eq "$L: patch absent" 404 "$CODE"

  # A disabled user cannot log in (its refresh tokens are revoked); enabled again, it can.
  as "" POST /api/v1/auth/login '{"email":"carol@example.com","password":"correct horse"}'
  local carol_rt
  carol_rt=$(jget "d['refresh_token']")
  as "$adm" PATCH "/api/v1/admin/users/$carol" '{"status":"disabled"}'
  expect_eq "$L: disable" 200 "$CODE"
  expect_json "$L: disabled" "d['status']" disabled
  login carol@example.com; expect_eq "$L: disabled user cannot log in" 403 "$CODE"
  as "" POST /api/v1/auth/refresh "{\"refresh_token\":\"$carol_rt\"}"
  expect_eq "$L: disabled user's refresh token" 401 "$CODE"
  as "$adm" PATCH "/api/v1/admin/users/$carol" '{"status":"active"}'
  expect_eq "$L: enable" 200 "$CODE"
  login carol@example.com; expect_eq "$L: enabled user logs in" 200 "$CODE"

  # An admin cannot demote or disable itself; the last active admin stays (also via atp user).
  local root_id
  as "$adm" GET "/api/v1/admin/users?limit=1"
  root_id=$(jget "d['items'][0]['id']")
  as "$adm" PATCH "/api/v1/admin/users/$root_id" '{"role":"trader"}'
  expect_eq "$L: self demotion" 409 "$CODE"
  expect_json "$L: self demotion field" "d['error']['field']" role
  as "$adm" PATCH "/api/v1/admin/users/$root_id" '{"status":"disabled"}'
  expect_eq "$L: self disable" 409 "$CODE"
  expect_json "$L: self disable field" "d['error']['field']" status
  expect_status "$L: cli: last admin cannot be demoted" 2 "$ATP" user set-role --db "$db" --email root@example.com --role trader
  expect_err_contains "$L: cli: last admin named" "last active admin"
  expect_status "$L: cli: last admin cannot be disabled" 2 "$ATP" user disable --db "$db" --email root@example.com
  as "$adm" PATCH "/api/v1/admin/users/$alice" '{"role":"admin"}'; expect_eq "$L: promote alice" 200 "$CODE"
  expect_status "$L: cli: demote with another admin" 0 "$ATP" user set-role --db "$db" --email alice@example.com --role trader
  as "$adm" GET "/api/v1/admin/users/$alice"
  expect_json "$L: cli change seen by the API" "d['role']" trader

  # Lockout: 3 wrong logins lock; the admin unlocks; the user logs in again.
  local i
  for i in 1 2 3; do login bob@example.com "wrong password $i"; done
  expect_eq "$L: third wrong login" 401 "$CODE"
  login bob@example.com; expect_eq "$L: locked" 423 "$CODE"
  as "$adm" GET "/api/v1/admin/users/$bob"
  expect_json "$L: admin sees the lock" "d['locked'], d['failed_logins'], d['locked_until'].endswith('Z')" "True 3 True"
  as "$adm" POST "/api/v1/admin/users/$bob/unlock"
  expect_eq "$L: unlock" 200 "$CODE"
  expect_json "$L: unlocked" "d['locked'], d['failed_logins']" "False 0"
  login bob@example.com; expect_eq "$L: login after unlock" 200 "$CODE"
  as "$adm" POST /api/v1/admin/users/999999/unlock; expect_eq "$L: unlock absent" 404 "$CODE"

  # The audit log: newest first, filters, pagination, ISO 8601 and ns times, old and new values.
  as "$adm" GET "/api/v1/admin/audit?action=role.change"
  expect_eq "$L: audit" 200 "$CODE"
  expect_json "$L: role changes newest first" \
    "[(e['details'].get('old'), e['details'].get('new'), e['result']) for e in d['items']]" \
    "[('admin', 'trader', 'ok'), ('trader', 'admin', 'ok'), (None, None, 'denied'), (None, None, 'denied'), ('trader', 'investor', 'ok')]"
  expect_json "$L: cli actor" "d['items'][0]['ip'], d['items'][0]['user_id'], d['items'][1]['user_id'] == $root_id" "cli 0 True"
  expect_json "$L: times" "all(e['ts'].endswith('Z') and e['ts_ns'] > 1.7e18 for e in d['items'])" True
  as "$adm" GET "/api/v1/admin/audit?action=user.unlock"
  expect_json "$L: unlock audited" "[(e['resource'], e['details']['old']['failed_logins'], e['details']['new']['failed_logins']) for e in d['items']]" "[('user:$bob', 3, 0)]"
  as "$adm" GET "/api/v1/admin/audit?action=user.disable"
  expect_json "$L: disable audited" "[(e['details']['old'], e['details']['new'], e['result']) for e in d['items'] if e['result'] == 'ok']" "[('active', 'disabled', 'ok')]"
  as "$adm" GET "/api/v1/admin/audit?action=user.enable"
  expect_json "$L: enable audited" "len(d['items'])" 1
  as "$adm" GET "/api/v1/admin/audit?user_id=$bob&action=auth.login"
  expect_json "$L: filter by user" "[e['result'] for e in d['items']]" "['ok', 'locked', 'denied', 'denied', 'denied']"
  as "$adm" GET "/api/v1/admin/audit?user_id=$bob&action=auth.login&limit=2"
  expect_json "$L: audit page 1" "len(d['items']), 'next_cursor' in d" "2 True"
  cur=$(jget "d['next_cursor']")
  as "$adm" GET "/api/v1/admin/audit?user_id=$bob&action=auth.login&limit=2&cursor=$cur"
  expect_json "$L: audit page 2" "[e['result'] for e in d['items']]" "['denied', 'denied']"
  as "$adm" GET "/api/v1/admin/audit?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z"
  expect_json "$L: time window" "len(d['items'])" 0
  as "$adm" GET "/api/v1/admin/audit?from=2000-01-01T00:00:00Z&action=user.unlock"
  expect_json "$L: from" "len(d['items'])" 1
  as "$adm" GET "/api/v1/admin/audit?from=yesterday"; expect_eq "$L: bad from" 422 "$CODE"
  expect_json "$L: from named" "d['error']['field']" from
  as "$adm" GET "/api/v1/admin/audit?user_id=-3"; expect_eq "$L: bad user_id" 422 "$CODE"
  as "$adm" GET "/api/v1/admin/audit?action=%27%3B%20DROP%20TABLE%20users%3B--"
  expect_eq "$L: metacharacters in a filter" 200 "$CODE"
  expect_json "$L: nothing matches" "len(d['items'])" 0

  # Status.
  as "$adm" GET /api/v1/admin/status
  expect_eq "$L: status" 200 "$CODE"
  local backend=sqlite
  [ "$L" = sqlite ] || backend=postgres
  expect_json "$L: status shape" "d['store']['backend'], d['store']['ok'], d['store']['latency_ms'] >= 0, d['store']['migration_version'] >= 1, d['counts']['users'], d['counts']['active_admins'], d['inflight'] >= 1, d['vault']['configured']" \
    "$backend True True True 4 1 True False"
  stop_server
}

run_suite "sqlite:$TMP/admin.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_schema_url "t_admin_$$"
  run_suite "$PG_URL" pg
fi

finish

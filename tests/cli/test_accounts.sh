# Trading accounts, invitations and access over real HTTP: atp serve on an ephemeral port with a
# real store, driven with curl. Tenancy (another tenant's account is 404 and absent from lists),
# investor invitations (accept, read-only: 403 on writes), revocation, admin (reads every account,
# 403 on writes to others'), anonymous 401, audit. Against SQLite, then PostgreSQL when
# ATP_TEST_PG_URL is set.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
# as TOKEN METHOD PATH [JSON]
register() { # register EMAIL NAME
  as "" POST /api/v1/auth/register "{\"email\":\"$1\",\"name\":\"$2\",\"password\":\"correct horse\"}"
  expect_eq "register $1" 201 "$CODE"
}

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  start_server "$db" ATP_ADMIN_EMAIL="root-$L@example.com" ATP_ADMIN_PASSWORD="correct horse"
  local alice="alice-$L@example.com" mallory="mallory-$L@example.com"
  local ivan="ivan-$L@example.com" eve="eve-$L@example.com"
  register "$alice" Alice
  register "$mallory" Mallory
  for who in "$ivan" "$eve"; do
    expect_status "$L: user add investor $who" 0 env ATP_USER_PASSWORD="correct horse" \
      "$ATP" user add --db "$db" --email "$who" --role investor
  done
  local at mt it et adm
  at=$(token_of "$alice"); mt=$(token_of "$mallory"); it=$(token_of "$ivan"); et=$(token_of "$eve")
  adm=$(token_of "root-$L@example.com")

  # Anonymous: 401 everywhere.
  as "" GET /api/v1/accounts; expect_eq "$L: anonymous list" 401 "$CODE"
  as "" POST /api/v1/accounts '{"name":"x"}'; expect_eq "$L: anonymous create" 401 "$CODE"
  as "" GET /api/v1/accounts/1; expect_eq "$L: anonymous get" 401 "$CODE"
  as "" GET /api/v1/invitations; expect_eq "$L: anonymous invitations" 401 "$CODE"

  # A trader creates and lists accounts.
  as "$at" POST /api/v1/accounts '{"name":"Alpha","broker":"paper"}'
  expect_eq "$L: create" 201 "$CODE"
  expect_json "$L: create shape" "d['name'], d['broker'], d['access']" "Alpha paper owner"
  local acc
  acc=$(jget "d['id']")
  as "$at" POST /api/v1/accounts '{"name":"Beta"}'
  expect_eq "$L: create second" 201 "$CODE"
  as "$at" GET /api/v1/accounts
  expect_eq "$L: list" 200 "$CODE"
  expect_json "$L: list names" "' '.join(a['name'] + ':' + a['access'] for a in d['items'])" "Alpha:owner Beta:owner"
  as "$at" GET "/api/v1/accounts/$acc"
  expect_eq "$L: owner get" 200 "$CODE"
  as "$at" PATCH "/api/v1/accounts/$acc" '{"name":"Alpha One"}'
  expect_eq "$L: owner update" 200 "$CODE"
  expect_json "$L: renamed" "d['name']" "Alpha One"
  as "$at" POST /api/v1/accounts '{"name":"x","owner_id":1}'
  expect_eq "$L: unknown field" 400 "$CODE"

  # Another trader: 404 (never 403), and the account is not in its list.
  as "$mt" GET "/api/v1/accounts/$acc"; expect_eq "$L: stranger get" 404 "$CODE"
  as "$mt" PATCH "/api/v1/accounts/$acc" '{"name":"pwned"}'; expect_eq "$L: stranger update" 404 "$CODE"
  as "$mt" GET "/api/v1/accounts/$acc/access"; expect_eq "$L: stranger access" 404 "$CODE"
  as "$mt" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$mallory\",\"role\":\"trader\"}"
  expect_eq "$L: stranger invites itself" 404 "$CODE"
  as "$mt" GET "/api/v1/accounts/999999999"; expect_eq "$L: absent account same 404" 404 "$CODE"
  as "$mt" GET "/api/v1/accounts/abc"; expect_eq "$L: malformed id 404" 404 "$CODE"
  as "$mt" GET /api/v1/accounts
  expect_json "$L: stranger list empty" "len(d['items'])" 0

  # Investors cannot create accounts.
  as "$it" POST /api/v1/accounts '{"name":"mine"}'; expect_eq "$L: investor create" 403 "$CODE"

  # Invitation: owner only; token returned once; the invitee sees and accepts it.
  as "$at" POST "/api/v1/accounts/$acc/invitations" '{"email":"nope","role":"investor"}'
  expect_eq "$L: invite bad email" 422 "$CODE"
  as "$at" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$ivan\",\"role\":\"admin\"}"
  expect_eq "$L: invite bad role" 422 "$CODE"
  as "$at" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"IVAN-$L@example.com\",\"role\":\"investor\"}"
  expect_eq "$L: invite" 201 "$CODE"
  expect_json "$L: invite shape" "d['status'], d['role'], len(d['token'])" "pending investor 43"
  local inv
  inv=$(jget "d['id']")
  as "$at" GET "/api/v1/accounts/$acc/invitations"
  expect_json "$L: owner lists invitations, no token" "len(d['items']), 'token' in d['items'][0], 'token_hash' in d['items'][0]" "1 False False"
  as "$it" GET "/api/v1/accounts/$acc"; expect_eq "$L: investor before accepting" 404 "$CODE"
  as "$et" GET /api/v1/invitations
  expect_json "$L: other investor has no invitations" "len(d['items'])" 0
  as "$et" POST "/api/v1/invitations/$inv/accept"; expect_eq "$L: another user cannot accept" 404 "$CODE"
  as "$it" GET /api/v1/invitations
  expect_eq "$L: my invitations" 200 "$CODE"
  expect_json "$L: my invitation" "[(i['id'], i['account_name']) for i in d['items']] == [($inv, 'Alpha One')]" True
  as "$it" POST "/api/v1/invitations/$inv/accept"
  expect_eq "$L: accept" 200 "$CODE"
  expect_json "$L: accepted" "d['status']" accepted
  as "$it" POST "/api/v1/invitations/$inv/accept"; expect_eq "$L: accept twice" 409 "$CODE"
  as "$it" GET /api/v1/invitations
  expect_json "$L: no more pending" "len(d['items'])" 0

  # The investor reads, never writes; sees the account in its list.
  as "$it" GET "/api/v1/accounts/$acc"
  expect_eq "$L: investor get" 200 "$CODE"
  expect_json "$L: investor access" "d['access']" investor
  as "$it" PATCH "/api/v1/accounts/$acc" '{"name":"x"}'; expect_eq "$L: investor update" 403 "$CODE"
  as "$it" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$eve\",\"role\":\"investor\"}"
  expect_eq "$L: investor invites" 403 "$CODE"
  as "$it" GET "/api/v1/accounts/$acc/access"; expect_eq "$L: investor access list" 403 "$CODE"
  as "$it" GET /api/v1/accounts
  expect_json "$L: investor list" "' '.join(a['name'] + ':' + a['access'] for a in d['items'])" "Alpha One:investor"
  # An uninvited investor: 404.
  as "$et" GET "/api/v1/accounts/$acc"; expect_eq "$L: uninvited investor" 404 "$CODE"

  # A rejected invitation grants nothing.
  as "$at" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$eve\",\"role\":\"investor\"}"
  local inv2
  inv2=$(jget "d['id']")
  as "$et" POST "/api/v1/invitations/$inv2/reject"; expect_eq "$L: reject" 200 "$CODE"
  as "$et" POST "/api/v1/invitations/$inv2/accept"; expect_eq "$L: accept after reject" 409 "$CODE"
  as "$et" GET "/api/v1/accounts/$acc"; expect_eq "$L: rejected investor" 404 "$CODE"

  # A revoked invitation cannot be accepted; only the owner revokes.
  as "$at" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$eve\",\"role\":\"trader\"}"
  local inv3
  inv3=$(jget "d['id']")
  as "$mt" DELETE "/api/v1/accounts/$acc/invitations/$inv3"; expect_eq "$L: stranger revokes invitation" 404 "$CODE"
  as "$et" DELETE "/api/v1/accounts/$acc/invitations/$inv3"; expect_eq "$L: invitee revokes invitation" 404 "$CODE"
  as "$at" DELETE "/api/v1/accounts/$acc/invitations/$inv3"; expect_eq "$L: revoke invitation" 200 "$CODE"
  as "$at" DELETE "/api/v1/accounts/$acc/invitations/$inv3"; expect_eq "$L: revoke invitation twice" 409 "$CODE"
  as "$et" POST "/api/v1/invitations/$inv3/accept"; expect_eq "$L: accept revoked" 409 "$CODE"
  as "$et" GET "/api/v1/accounts/$acc"; expect_eq "$L: revoked invitee" 404 "$CODE"

  # Admin: reads every account, never writes to another's.
  as "$adm" GET "/api/v1/accounts/$acc"
  expect_eq "$L: admin get" 200 "$CODE"
  expect_json "$L: admin access" "d['access']" none
  as "$adm" GET "/api/v1/accounts/$acc/access"; expect_eq "$L: admin access list" 200 "$CODE"
  as "$adm" GET "/api/v1/accounts?cursor=$((acc - 1))"
  expect_json "$L: admin lists every account" "[(a['id'], a['access']) for a in d['items'] if a['id'] == $acc] == [($acc, 'none')]" True
  as "$adm" PATCH "/api/v1/accounts/$acc" '{"name":"x"}'; expect_eq "$L: admin update other's" 403 "$CODE"
  as "$adm" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$eve\",\"role\":\"trader\"}"
  expect_eq "$L: admin invites on other's" 403 "$CODE"
  as "$adm" GET "/api/v1/accounts/999999999"; expect_eq "$L: admin absent account" 404 "$CODE"

  # An admin owns and writes its own accounts.
  as "$adm" POST /api/v1/accounts '{"name":"Ops"}'; expect_eq "$L: admin creates" 201 "$CODE"
  local adm_acc
  adm_acc=$(jget "d['id']")
  as "$adm" PATCH "/api/v1/accounts/$adm_acc" '{"name":"Ops 2"}'; expect_eq "$L: admin updates its own" 200 "$CODE"
  as "$at" GET "/api/v1/accounts/$adm_acc"; expect_eq "$L: trader on admin's account" 404 "$CODE"

  # A trader grant: reads, no owner rights; another user cannot reject it.
  as "$at" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$mallory\",\"role\":\"trader\"}"
  local inv5
  inv5=$(jget "d['id']")
  as "$it" POST "/api/v1/invitations/$inv5/reject"; expect_eq "$L: another user cannot reject" 404 "$CODE"
  as "$mt" POST "/api/v1/invitations/$inv5/accept"; expect_eq "$L: trader accepts" 200 "$CODE"
  as "$mt" GET "/api/v1/accounts/$acc"
  expect_json "$L: trader grant access" "d['access']" trader
  as "$mt" PATCH "/api/v1/accounts/$acc" '{"name":"x"}'; expect_eq "$L: trader grant update" 403 "$CODE"
  as "$mt" GET "/api/v1/accounts/$acc/invitations"; expect_eq "$L: trader grant invitations" 403 "$CODE"
  local mal_id
  as "$at" GET "/api/v1/accounts/$acc/access"
  mal_id=$(jget "[g['user_id'] for g in d['items'] if g['role'] == 'trader'][0]")
  as "$at" DELETE "/api/v1/accounts/$acc/access/$mal_id"; expect_eq "$L: revoke trader grant" 200 "$CODE"
  as "$mt" GET "/api/v1/accounts/$acc"; expect_eq "$L: revoked trader" 404 "$CODE"

  # Access list and revocation.
  as "$at" GET "/api/v1/accounts/$acc/access"
  expect_json "$L: access list" "' '.join(g['email'] + ':' + g['role'] for g in d['items'])" "$ivan:investor"
  local ivan_id
  ivan_id=$(jget "d['items'][0]['user_id']")
  as "$mt" DELETE "/api/v1/accounts/$acc/access/$ivan_id"; expect_eq "$L: stranger revokes" 404 "$CODE"
  as "$adm" DELETE "/api/v1/accounts/$acc/access/$ivan_id"; expect_eq "$L: admin revokes other's" 403 "$CODE"
  as "$at" DELETE "/api/v1/accounts/$acc/access/$ivan_id"; expect_eq "$L: revoke" 200 "$CODE"
  as "$at" DELETE "/api/v1/accounts/$acc/access/$ivan_id"; expect_eq "$L: revoke twice" 404 "$CODE"
  as "$it" GET "/api/v1/accounts/$acc"; expect_eq "$L: revoked investor" 404 "$CODE"
  as "$it" GET /api/v1/accounts
  expect_json "$L: revoked investor list" "len(d['items'])" 0

  # An invitation past its 7 days (its expiry moved back in the database): 410 expired.
  as "$at" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$eve\",\"role\":\"investor\"}"
  local inv4
  inv4=$(jget "d['id']")
  if [ "$L" = sqlite ]; then
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('update invitations set expires_ns = 1 where id = ?', (int(sys.argv[2]),)); c.commit()" "${db#sqlite:}" "$inv4"
    as "$et" GET /api/v1/invitations
    expect_json "$L: expired not listed" "len(d['items'])" 0
    as "$et" POST "/api/v1/invitations/$inv4/accept"; expect_eq "$L: accept expired" 410 "$CODE"
    as "$et" POST "/api/v1/invitations/$inv4/accept"; expect_eq "$L: accept expired again" 409 "$CODE"
    as "$at" GET "/api/v1/accounts/$acc/invitations"
    expect_json "$L: expired status" "[i['status'] for i in d['items'] if i['id'] == $inv4]" "['expired']"
    as "$et" GET "/api/v1/accounts/$acc"; expect_eq "$L: expired invitee" 404 "$CODE"
  fi

  stop_server
  if [ "$L" = sqlite ]; then
    local got
    got=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(' '.join(f'{a}/{r}={n}' for a,r,n in c.execute('select action,result,count(*) from audit_log where action like \'invitation.%\' or action like \'access.%\' group by 1,2 order by 1,2')))" "${db#sqlite:}")
    expect_eq "$L: audit" "access.revoke/ok=2 invitation.accept/denied=5 invitation.accept/ok=2 invitation.create/ok=5 invitation.reject/ok=1 invitation.revoke/denied=1 invitation.revoke/ok=1" "$got"
  fi
}

run_suite "sqlite:$TMP/accounts.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_url && run_suite "$PG_URL" "pg$$$(date +%s)"
fi

finish

# Broker connections over real HTTP (a fresh SQLite file, then a fresh PostgreSQL schema):
# credentials sealed by the vault and never returned (create, list and audit show only masked
# summaries); tenancy: another trader 404, an invited investor 403, anonymous 401, an admin lists
# but cannot write another's; bad input named; 503 vault_unavailable without a master key.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
login() { # login EMAIL -> the access token in $TOK
  as "" POST /api/v1/auth/login "{\"email\":\"$1\",\"password\":\"correct horse\"}"
  expect_eq "login $1" 200 "$CODE"
  TOK=$(jget "d['access_token']")
}
no_secret_in_body() { # NAME: none of the test's secret values appears in the last response
  if grep -qE 'S3cr3t|Acc3ss|4821|JBSWY3DP|KEYabcdef' "$TMP/body"; then bad "$1: a secret in the response"; else ok; fi
}
KEY1=$(python3 -c "import os; print(os.urandom(32).hex())")
CRED='{"api_key":"KEYabcdef0123456789wxyz","api_secret":"S3cr3t-value-that-is-long","access_token":"Acc3ss-token-0123456789","client_id":"AB1234","pin":"4821","totp_secret":"JBSWY3DPEHPK3PXP"}'

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  start_server "$db" ATP_ADMIN_EMAIL="root@example.com" ATP_ADMIN_PASSWORD="correct horse" ATP_MASTER_KEY="$KEY1"
  local who
  for who in alice mallory; do
    as "" POST /api/v1/auth/register "{\"email\":\"$who@example.com\",\"name\":\"$who\",\"password\":\"correct horse\"}"
  done
  expect_status "$L: add investor" 0 env ATP_USER_PASSWORD="correct horse" "$ATP" user add --db "$db" \
    --email ivan@example.com --role investor
  local at mt it adm acc base
  login alice@example.com; at=$TOK
  login mallory@example.com; mt=$TOK
  login ivan@example.com; it=$TOK
  login root@example.com; adm=$TOK
  as "$at" POST /api/v1/accounts '{"name":"Alpha","broker":"kite"}'
  acc=$(jget "d['id']")
  as "$at" POST "/api/v1/accounts/$acc/invitations" '{"email":"ivan@example.com","role":"investor"}'
  as "$it" POST "/api/v1/invitations/$(jget "d['id']")/accept"
  expect_eq "$L: investor accepts" 200 "$CODE"
  base="/api/v1/accounts/$acc/broker-connections"

  # The owner stores credentials: sealed, answered masked.
  as "$at" POST "$base" "{\"broker\":\"kite\",\"credentials\":$CRED}"
  expect_eq "$L: create" 201 "$CODE"
  expect_json "$L: create shape" "sorted(d)" "['account_id', 'broker', 'created', 'created_ns', 'id', 'key_id', 'masked']"
  expect_json "$L: masked" "d['masked']" "access_token=set api_key=KEYa…wxyz api_secret=set client_id=… pin=set totp_secret=set"
  expect_json "$L: key id" "d['key_id'], d['broker'], d['created'].endswith('Z')" "1 kite True"
  no_secret_in_body "$L: create"
  local conn
  conn=$(jget "d['id']")
  as "$at" POST "$base" '{"broker":"paper","credentials":{"client_id":"PAPER-7"}}'
  expect_eq "$L: create second" 201 "$CODE"
  as "$at" GET "$base"
  expect_eq "$L: list" 200 "$CODE"
  expect_json "$L: list items" "[(c['broker'], c['key_id']) for c in d['items']]" "[('kite', 1), ('paper', 1)]"
  no_secret_in_body "$L: list"
  as "$at" GET "$base?limit=1"
  expect_json "$L: list paged" "len(d['items']), 'next_cursor' in d" "1 True"

  # Bad input, named; nothing stored.
  as "$at" POST "$base" "{\"broker\":\"robinhood\",\"credentials\":$CRED}"
  expect_eq "$L: unknown broker" 422 "$CODE"
  expect_json "$L: broker named" "d['error']['field']" broker
  as "$at" POST "$base" '{"broker":"kite","credentials":{"api_key":"k","pin":4821}}'
  expect_eq "$L: non-string value" 422 "$CODE"
  expect_json "$L: value named, not echoed" "d['error']['field'], '4821' in d['error']['message']" "credentials.pin False"
  as "$at" POST "$base" '{"broker":"kite","credentials":{}}'
  expect_eq "$L: empty credentials" 422 "$CODE"
  as "$at" POST "$base" '{"broker":"kite","credentials":{"API KEY":"x"}}'
  expect_eq "$L: bad field name" 422 "$CODE"
  as "$at" POST "$base" '{"broker":"kite"}'
  expect_eq "$L: missing credentials" 400 "$CODE"
  as "$at" POST "$base" '{"broker":"kite","credentials":"api_key=x"}'
  expect_eq "$L: credentials not an object" 400 "$CODE"

  # Tenancy.
  as "" GET "$base"; expect_eq "$L: anonymous list" 401 "$CODE"
  as "" POST "$base" "{\"broker\":\"kite\",\"credentials\":$CRED}"; expect_eq "$L: anonymous create" 401 "$CODE"
  as "$mt" GET "$base"; expect_eq "$L: another trader lists" 404 "$CODE"
  as "$mt" POST "$base" "{\"broker\":\"kite\",\"credentials\":$CRED}"; expect_eq "$L: another trader creates" 404 "$CODE"
  as "$mt" DELETE "$base/$conn"; expect_eq "$L: another trader deletes" 404 "$CODE"
  as "$it" POST "$base" "{\"broker\":\"kite\",\"credentials\":$CRED}"; expect_eq "$L: invited investor creates" 403 "$CODE"
  as "$it" GET "$base"; expect_eq "$L: invited investor lists" 403 "$CODE"
  as "$it" DELETE "$base/$conn"; expect_eq "$L: invited investor deletes" 403 "$CODE"
  as "$adm" GET "$base"; expect_eq "$L: admin lists" 200 "$CODE"
  no_secret_in_body "$L: admin list"
  as "$adm" POST "$base" "{\"broker\":\"kite\",\"credentials\":$CRED}"; expect_eq "$L: admin creates on another's" 403 "$CODE"
  as "$adm" DELETE "$base/$conn"; expect_eq "$L: admin deletes another's" 403 "$CODE"
  as "$mt" POST /api/v1/accounts '{"name":"Mine"}'
  local macc
  macc=$(jget "d['id']")
  as "$mt" DELETE "/api/v1/accounts/$macc/broker-connections/$conn"
  expect_eq "$L: a connection through another account" 404 "$CODE"

  # Delete.
  as "$at" DELETE "$base/$conn"; expect_eq "$L: delete" 200 "$CODE"
  as "$at" DELETE "$base/$conn"; expect_eq "$L: delete twice" 404 "$CODE"
  as "$at" DELETE "$base/abc"; expect_eq "$L: delete malformed" 404 "$CODE"
  as "$at" GET "$base"
  expect_json "$L: after delete" "[c['broker'] for c in d['items']]" "['paper']"

  # Audited, without the secrets.
  as "$adm" GET "/api/v1/admin/audit?account_id=$acc"
  expect_json "$L: audit" "[(e['action'], e['details'].get('broker')) for e in d['items'] if e['action'].startswith('broker.')]" \
    "[('broker.credentials.delete', 'kite'), ('broker.credentials.create', 'paper'), ('broker.credentials.create', 'kite')]"
  expect_json "$L: audit names fields" "[e['details']['fields'] for e in d['items'] if e['action'] == 'broker.credentials.create'][1]" \
    "['access_token', 'api_key', 'api_secret', 'client_id', 'pin', 'totp_secret']"
  no_secret_in_body "$L: audit"
  stop_server
  if grep -qE 'S3cr3t|Acc3ss|JBSWY3DP|KEYabcdef' "$TMP/srv.out" "$TMP/srv.err"; then bad "$L: a secret in the logs"; else ok; fi

  # Without a master key: 503 naming the setting; listing still works (it needs no key).
  start_server "$db"
  login alice@example.com; at=$TOK
  as "$at" POST "$base" "{\"broker\":\"kite\",\"credentials\":$CRED}"
  expect_eq "$L: no master key" 503 "$CODE"
  expect_json "$L: vault_unavailable" "d['error']['code'], 'ATP_MASTER_KEY' in d['error']['message']" "vault_unavailable True"
  as "$at" GET "$base"; expect_eq "$L: list without a key" 200 "$CODE"
  stop_server
}

run_suite "sqlite:$TMP/brokers.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_schema_url "t_brokers_$$"
  run_suite "$PG_URL" pg
fi

finish

# The credential vault end to end (a fresh SQLite file, then a fresh PostgreSQL schema):
# credentials created over HTTP under key 1; the server stopped; `atp vault rotate` with keys 1
# and 2 re-seals them under 2 (and re-running it changes nothing); the server restarted with key
# 2 alone still serves them and `atp vault check` opens them all; key 1 alone no longer does. The
# SQLite file (and its WAL) and a pg_dump never contain a credential in clear.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
login() {
  as "" POST /api/v1/auth/login "{\"email\":\"$1\",\"password\":\"correct horse\"}"
  expect_eq "login $1" 200 "$CODE"
  TOK=$(jget "d['access_token']")
}
KEY1=$(python3 -c "import os; print(os.urandom(32).hex())")
KEY2=$(python3 -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())")
SECRETS=(PLAINapikey7Q2ZR9 PLAINsecretXk81Lq PLAINtokenM3v0Ww PLAINtotpJBSWY3DP)
# found FILE...: 1 when any secret occurs in the bytes of the files (read with python3)
found() {
  python3 - "$@" <<'PY'
import sys
secrets = [b"PLAINapikey7Q2ZR9", b"PLAINsecretXk81Lq", b"PLAINtokenM3v0Ww", b"PLAINtotpJBSWY3DP", b"PLAIN"]
data = b"".join(open(p, "rb").read() for p in sys.argv[1:])
print(1 if any(s in data for s in secrets) else 0)
PY
}

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  start_server "$db" ATP_ADMIN_EMAIL="root@example.com" ATP_ADMIN_PASSWORD="correct horse" ATP_MASTER_KEY="1:$KEY1"
  as "" POST /api/v1/auth/register '{"email":"alice@example.com","name":"Alice","password":"correct horse"}'
  login alice@example.com
  local at=$TOK acc a2 base
  as "$at" POST /api/v1/accounts '{"name":"Alpha"}'; acc=$(jget "d['id']")
  as "$at" POST /api/v1/accounts '{"name":"Beta"}'; a2=$(jget "d['id']")
  base="/api/v1/accounts/$acc/broker-connections"
  as "$at" POST "$base" "{\"broker\":\"kite\",\"credentials\":{\"api_key\":\"${SECRETS[0]}\",\"api_secret\":\"${SECRETS[1]}\",\"access_token\":\"${SECRETS[2]}\"}}"
  expect_eq "$L: create 1" 201 "$CODE"
  as "$at" POST "$base" "{\"broker\":\"angel\",\"credentials\":{\"client_id\":\"A1\",\"totp_secret\":\"${SECRETS[3]}\"}}"
  expect_eq "$L: create 2" 201 "$CODE"
  as "$at" POST "/api/v1/accounts/$a2/broker-connections" "{\"broker\":\"dhan\",\"credentials\":{\"access_token\":\"${SECRETS[2]}\"}}"
  expect_eq "$L: create 3" 201 "$CODE"
  stop_server

  # Check and rotate, offline.
  expect_status "$L: check under key 1" 0 env ATP_MASTER_KEY="1:$KEY1" "$ATP" vault check --db "$db"
  grep -q "3 connections: 3 open, 0 failed; key 1: 3" "$TMP/out" && ok || { bad "$L: check counts"; cat "$TMP/out"; }
  expect_status "$L: no key" 2 env -u ATP_MASTER_KEY "$ATP" vault check --db "$db"
  expect_err_contains "$L: no key named" "ATP_MASTER_KEY"
  expect_status "$L: rotate" 0 env ATP_MASTER_KEY="1:$KEY1,2:$KEY2" "$ATP" vault rotate --db "$db"
  grep -q "current key 2; 3 connections: 3 re-sealed, 0 already under key 2, 0 deleted meanwhile, 0 failed" "$TMP/out" \
    && ok || { bad "$L: rotate counts"; cat "$TMP/out"; }
  expect_status "$L: rotate again" 0 env ATP_MASTER_KEY="1:$KEY1,2:$KEY2" "$ATP" vault rotate --db "$db"
  grep -q "0 re-sealed, 3 already under key 2" "$TMP/out" && ok || { bad "$L: rotate is idempotent"; cat "$TMP/out"; }
  expect_status "$L: check under key 2 alone" 0 env ATP_MASTER_KEY="2:$KEY2" "$ATP" vault check --db "$db"
  grep -q "3 open, 0 failed; key 2: 3" "$TMP/out" && ok || { bad "$L: check after rotation"; cat "$TMP/out"; }
  expect_status "$L: key 1 alone no longer opens them" 1 env ATP_MASTER_KEY="1:$KEY1" "$ATP" vault check --db "$db"
  grep -q "0 open, 3 failed" "$TMP/out" && ok || { bad "$L: old key counts"; cat "$TMP/out"; }
  expect_err_contains "$L: which key is missing" "master key id 2, which is not loaded"
  expect_status "$L: a wrong key 2" 1 env ATP_MASTER_KEY="2:$KEY1" "$ATP" vault check --db "$db"
  expect_err_contains "$L: authentication fails" "failed authentication"
  if grep -q PLAIN "$TMP/out" "$TMP/err"; then bad "$L: a secret printed"; else ok; fi

  # The server with the new key alone: the connections are there, sealed under key 2; new ones too.
  start_server "$db" ATP_MASTER_KEY="2:$KEY2"
  login alice@example.com; at=$TOK
  as "$at" GET "$base"
  expect_json "$L: listed under key 2" "[(c['broker'], c['key_id']) for c in d['items']]" "[('kite', 2), ('angel', 2)]"
  as "$at" POST "$base" '{"broker":"paper","credentials":{"client_id":"P-1"}}'
  expect_json "$L: new seals use key 2" "d['key_id']" 2
  stop_server
  expect_status "$L: check all four" 0 env ATP_MASTER_KEY="2:$KEY2" "$ATP" vault check --db "$db"
  grep -q "4 open, 0 failed; key 2: 4" "$TMP/out" && ok || { bad "$L: check four"; cat "$TMP/out"; }

  # At rest: never in clear.
  if [ "$L" = sqlite ]; then
    local f=${db#sqlite:} files
    files=("$f")
    [ -f "$f-wal" ] && files+=("$f-wal")
    expect_eq "$L: no credential in the database file" 0 "$(found "${files[@]}")"
    python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from broker_connections').fetchone()[0])" "$f" >"$TMP/n"
    expect_eq "$L: the rows are there" 4 "$(cat "$TMP/n")"
  else
    "$PG_BIN/pg_dump" --schema="$PG_SCHEMA" "$ATP_TEST_PG_URL" >"$TMP/dump.sql" 2>"$TMP/dump.err" \
      || bad "$L: pg_dump: $(cat "$TMP/dump.err")"
    grep -q "COPY $PG_SCHEMA.broker_connections" "$TMP/dump.sql" && ok || bad "$L: the dump has the table"
    grep -q "P-1" "$TMP/dump.sql" && bad "$L: even a client id is not in clear" || ok
    expect_eq "$L: no credential in pg_dump" 0 "$(found "$TMP/dump.sql")"
  fi
}

run_suite "sqlite:$TMP/vault.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_schema_url "t_vault_$$"
  PG_SCHEMA="t_vault_$$"
  run_suite "$PG_URL" pg
fi

finish

# Security tests over real HTTP (security.py): forged and altered JWTs, lockout and unlock,
# refresh-token reuse, body limits, malformed JSON, SQL metacharacters / unicode / limit-length
# strings in every string field of every route with a body, and no plaintext password in the
# SQLite file or in pg_dump's output; hostile strings in the admin, notification and broker
# connection bodies, in the caller's own routes (password change, TOTP: each call on a fresh user)
# and in every documented query parameter; no plaintext broker credential, changed password or
# TOTP secret in the SQLite file, pg_dump's output or the server's log (the servers have a master
# key). The credential-attempt and per-user limits are far above what it sends (one IP, the owner's
# token for most calls); test_sessions.sh tests them. SQLite, then PostgreSQL (a fresh schema) when ATP_TEST_PG_URL
# is set; the per-IP rate limit on its own server.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SECRET="test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
export ATP_BODY_MAX=65536
MASTER_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n') # 64 hex digits: a fresh test key

run_security() { # run_security DB LABEL: leaves the secrets sent in $TMP/secrets-LABEL
  local admin="root-$2@example.com"
  start_server "$1" ATP_ADMIN_EMAIL="$admin" ATP_ADMIN_PASSWORD="correct horse battery" \
    ATP_RATE_PER_S=100000 ATP_RATE_BURST=100000 ATP_JWT_SECRET="$SECRET" \
    ATP_MASTER_KEY="$MASTER_KEY" ATP_AUTH_IP_BURST=100000 ATP_AUTH_EMAIL_BURST=100000 ATP_USER_RATE_BURST=100000
  if python3 "$HERE/security.py" run "$U" "$ATP" "$1" "$2" "$admin" "$SECRET" "$TMP/secrets-$2"; then
    ok
  else
    bad "$2: security tests"
  fi
  # The secrets, the passwords and the broker credentials never reach the log either.
  if grep -qF -e "$SECRET" -e "$MASTER_KEY" -e "correct horse" "$TMP/srv.out" "$TMP/srv.err"; then
    bad "$2: a secret in the server's output"
  else
    ok
  fi
  stop_server
  if python3 "$HERE/security.py" leakcheck-logs "$TMP/secrets-$2" "$TMP/srv.out" "$TMP/srv.err"; then
    ok
  else
    bad "$2: a secret in the server's log"
  fi
}

leakcheck() { # leakcheck LABEL FILE...
  local label=$1
  shift
  if python3 "$HERE/security.py" leakcheck "$TMP/secrets-$label" "$@"; then ok; else bad "$label: leak check"; fi
}

run_security "sqlite:$TMP/sec.db" sqlite
leakcheck sqlite "$TMP"/sec.db*

if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  schema="sec_$$_$(date +%s)"
  if url=$(pg_schema_create "$schema"); then
    run_security "$url" pg
    "$(pg_bin)/pg_dump" --no-owner -n "$schema" "$ATP_TEST_PG_URL" >"$TMP/pg.sql" || bad "pg_dump"
    grep -q "CREATE TABLE $schema.users" "$TMP/pg.sql" && ok || bad "pg_dump holds the users table"
    leakcheck pg "$TMP/pg.sql"
    pg_schema_drop "$schema"
  else
    bad "create schema $schema"
  fi
fi

# The per-IP rate limit: a burst of 3, then 429 with Retry-After (refilled 1 token in 100 s).
start_server "sqlite:$TMP/rate.db" ATP_RATE_BURST=3 ATP_RATE_PER_S=0.01 \
  ATP_ADMIN_EMAIL=root-rate@example.com ATP_ADMIN_PASSWORD="correct horse battery"
if python3 "$HERE/security.py" ratelimit "$U" 3; then ok; else bad "rate limit"; fi
stop_server
finish

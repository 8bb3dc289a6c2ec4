# TOTP two-factor authentication over real HTTP: enrol (secret and otpauth URI shown once,
# sealed in the store, never in clear), verify, login without a code (totp_required), with a wrong
# one (invalid_totp, counts toward the lockout), with the right one, the same code again (a
# replay: refused), disable by password and by code; without a master key the routes answer 503
# naming ATP_MASTER_KEY. Codes are computed here with Python's standard library (RFC 6238).
# Against SQLite, then PostgreSQL when ATP_TEST_PG_URL is set.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
post() { local path=$1; shift; req -X POST -H 'Content-Type: application/json' "$@" "$U$path"; }
# totp SECRET OFFSET_STEPS: the code of the step containing now + OFFSET_STEPS * 30 s
totp() {
  python3 -c '
import base64, hashlib, hmac, struct, sys, time
secret, offset = sys.argv[1], int(sys.argv[2])
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + offset), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 1000000))' "$1" "$2"
}
MASTER_KEY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  local email="totp-$L@example.com" pw="a fine password"
  start_server "$db" ATP_MASTER_KEY="$MASTER_KEY"
  post /api/v1/auth/register -d "{\"email\":\"$email\",\"name\":\"T\",\"password\":\"$pw\"}"
  expect_eq "$L: register" 201 "$CODE"
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"$pw\"}"
  local at
  at=$(jget "d['access_token']")
  local auth=(-H "Authorization: Bearer $at")

  post /api/v1/me/totp/enrol -d "{\"password\":\"$pw\"}"
  expect_eq "$L: enrol needs a login" 401 "$CODE"
  post /api/v1/me/totp/enrol "${auth[@]}" -d '{"password":"not the password"}'
  expect_eq "$L: enrol with a wrong password (a stolen token alone cannot enrol)" 403 "$CODE"
  post /api/v1/me/totp/enrol "${auth[@]}"
  expect_eq "$L: enrol without the password" 400 "$CODE"
  post /api/v1/me/totp/verify "${auth[@]}" -d '{"code":"123456"}'
  expect_eq "$L: verify before enrol" 409 "$CODE"
  expect_json "$L: verify before enrol code" "d['error']['code']" totp_not_enrolled
  post /api/v1/me/totp/enrol "${auth[@]}" -d "{\"password\":\"$pw\"}"
  expect_eq "$L: enrol" 200 "$CODE"
  local secret uri
  secret=$(jget "d['secret']")
  uri=$(jget "d['otpauth_uri']")
  [[ $secret =~ ^[A-Z2-7]{32}$ ]] && ok || bad "$L: base32 secret ($secret)"
  expect_eq "$L: otpauth URI" "otpauth://totp/ATP:totp-$L%40example.com?secret=$secret&issuer=ATP&algorithm=SHA1&digits=6&period=30" "$uri"
  req "${auth[@]}" "$U/api/v1/me"
  expect_json "$L: not on before verify" "d['totp_enabled']" False
  # Not on yet: a login needs no code.
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"$pw\"}"
  expect_eq "$L: login before verify" 200 "$CODE"

  local wrong
  wrong=$(printf '%06d' $(( (10#$(totp "$secret" 0) + 1) % 1000000 )))
  post /api/v1/me/totp/verify "${auth[@]}" -d "{\"code\":\"$wrong\"}"
  expect_eq "$L: verify with a wrong code" 422 "$CODE"
  expect_json "$L: wrong code names the field" "d['error']['code'] + ' ' + d['error']['field']" "invalid_totp code"
  post /api/v1/me/totp/verify "${auth[@]}" -d '{"code":"12ab56"}'
  expect_eq "$L: verify with a malformed code" 422 "$CODE"
  local c0
  c0=$(totp "$secret" 0)
  post /api/v1/me/totp/verify "${auth[@]}" -d "{\"code\":\"$c0\"}"
  expect_eq "$L: verify" 200 "$CODE"
  req "${auth[@]}" "$U/api/v1/me"
  expect_json "$L: on after verify" "d['totp_enabled']" True
  post /api/v1/me/totp/enrol "${auth[@]}" -d "{\"password\":\"$pw\"}"
  expect_eq "$L: enrol again while on" 409 "$CODE"

  # Login now needs the code; a wrong one counts toward the lockout; a code works once.
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"$pw\"}"
  expect_eq "$L: login without a code" 401 "$CODE"
  expect_json "$L: totp_required" "d['error']['code'] + ' ' + d['error']['field']" "totp_required totp"
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"$pw\",\"totp\":\"$wrong\"}"
  expect_eq "$L: login with a wrong code" 401 "$CODE"
  expect_json "$L: invalid_totp" "d['error']['code']" invalid_totp
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"$pw\",\"totp\":\"$c0\"}"
  expect_eq "$L: the verify code again (replay)" 401 "$CODE"
  expect_json "$L: replay code" "d['error']['code']" invalid_totp
  local c1
  c1=$(totp "$secret" 1) # the next step's code: inside the +-1 window, later than the last used
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"wrong password\",\"totp\":\"$c1\"}"
  expect_eq "$L: right code, wrong password" 401 "$CODE"
  expect_json "$L: wrong password is invalid_credentials" "d['error']['code']" invalid_credentials
  # Three failures so far (wrong code, replay, wrong password): locked.
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"$pw\",\"totp\":\"$c1\"}"
  expect_eq "$L: locked by failed codes" 423 "$CODE"
  expect_status "$L: atp user unlock" 0 "$ATP" user unlock --db "$db" --email "$email"
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"$pw\",\"totp\":\"$c1\"}"
  expect_eq "$L: login with the right code" 200 "$CODE"
  expect_json "$L: user shows 2FA" "d['user']['totp_enabled']" True
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"$pw\",\"totp\":\"$c1\"}"
  expect_eq "$L: the same code again" 401 "$CODE"
  expect_json "$L: the same code again: invalid_totp" "d['error']['code']" invalid_totp

  # The secret is sealed at rest: the database never holds it in clear.
  if [ "${db#sqlite:}" != "$db" ]; then
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print('\n'.join(c.iterdump()))" "${db#sqlite:}" >"$TMP/dump"
  else
    pg_dump "$db" >"$TMP/dump" 2>/dev/null || psql "$db" -c "select encode(totp_secret,'escape') from users" >"$TMP/dump"
  fi
  [ -s "$TMP/dump" ] && ok || bad "$L: database dump"
  grep -qF "$secret" "$TMP/dump" && bad "$L: the TOTP secret is in the database in clear" || ok

  # Disable: by password (wrong, then right); then enrol again and disable by code.
  post /api/v1/me/totp/disable "${auth[@]}" -d '{}'
  expect_eq "$L: disable needs a code or the password" 400 "$CODE"
  post /api/v1/me/totp/disable "${auth[@]}" -d '{"password":"not the password"}'
  expect_eq "$L: disable with a wrong password" 403 "$CODE"
  post /api/v1/me/totp/disable "${auth[@]}" -d "{\"password\":\"$pw\"}"
  expect_eq "$L: disable by password" 200 "$CODE"
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"$pw\"}"
  expect_eq "$L: login without a code once off" 200 "$CODE"
  post /api/v1/me/totp/enrol "${auth[@]}" -d "{\"password\":\"$pw\"}"
  secret=$(jget "d['secret']")
  post /api/v1/me/totp/verify "${auth[@]}" -d "{\"code\":\"$(totp "$secret" 0)\"}"
  expect_eq "$L: verify the new secret (a new step history)" 200 "$CODE"
  post /api/v1/me/totp/disable "${auth[@]}" -d "{\"code\":\"$(totp "$secret" 0)\"}"
  expect_eq "$L: disable with the used code" 422 "$CODE"
  post /api/v1/me/totp/disable "${auth[@]}" -d "{\"code\":\"$(totp "$secret" 1)\"}"
  expect_eq "$L: disable by code" 200 "$CODE"
  post /api/v1/me/totp/disable "${auth[@]}" -d "{\"password\":\"$pw\"}"
  expect_eq "$L: disable when off" 409 "$CODE"
  stop_server

  # Without a master key: 503 naming the setting.
  start_server "$db"
  post /api/v1/auth/login -d "{\"email\":\"$email\",\"password\":\"$pw\"}"
  at=$(jget "d['access_token']")
  post /api/v1/me/totp/enrol -H "Authorization: Bearer $at" -d "{\"password\":\"$pw\"}"
  expect_eq "$L: enrol without a master key" 503 "$CODE"
  grep -q ATP_MASTER_KEY "$TMP/body" && ok || bad "$L: 503 names ATP_MASTER_KEY"
  stop_server

  if [ "${db#sqlite:}" != "$db" ]; then
    local got
    got=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(' '.join(f'{a}/{r}={n}' for a,r,n in c.execute('select action,result,count(*) from audit_log where action like \'totp.%\' or result like \'%totp%\' group by 1,2 order by 1,2')))" "${db#sqlite:}")
    expect_eq "$L: audit" "auth.login/invalid_totp=3 auth.login/totp_required=1 totp.disable/denied=1 totp.disable/invalid_totp=1 totp.disable/ok=2 totp.enable/ok=2 totp.enrol/denied=1 totp.enrol/ok=2 totp.verify/invalid_totp=2" "$got"
  fi
}

run_suite "sqlite:$TMP/totp.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_url && run_suite "$PG_URL" "pg$$$(date +%s)"
fi

finish

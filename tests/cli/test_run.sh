# `make run` (scripts/run.sh): the development server. In a scratch copy of the tree: the first
# start creates var/master.key and var/jwt.secret (0600, 64 hex digits), prints the URL and the
# generated admin's password; a restart keeps both secrets, says the admin exists and how to get
# back in, and an access token from the first run is still accepted (the signing key survived).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$TMP/tree/scripts" "$TMP/tree/build"
cp "$root/scripts/run.sh" "$TMP/tree/scripts/"
ln -s "$(cd "$(dirname "$ATP")" && pwd)/$(basename "$ATP")" "$TMP/tree/build/atp"

run_start() { # starts scripts/run.sh on an ephemeral port; sets U and SRV_PID
  rm -f "$TMP/run.out" "$TMP/run.err" # not the previous run's port (see server_lib.sh)
  (cd "$TMP/tree" && ATP_LISTEN=127.0.0.1:0 ATP_LOG_LEVEL=warn exec bash scripts/run.sh build) \
    >"$TMP/run.out" 2>"$TMP/run.err" &
  SRV_PID=$!
  local port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's|^atp serve: listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$TMP/run.out" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { bad "run.sh did not start"; cat "$TMP/run.out" "$TMP/run.err" >&2; finish; exit 1; }
  U="http://127.0.0.1:$port"
}

run_start
for f in master.key jwt.secret; do
  expect_eq "$f mode" 600 "$(stat -c %a "$TMP/tree/var/$f")"
  grep -qx '[0-9a-f]\{64\}' "$TMP/tree/var/$f" && ok || bad "$f is not 64 hex digits"
done
pw=$(sed -n 's/^atp serve: created admin admin@localhost with password \([^ ]*\) (shown once)$/\1/p' "$TMP/run.out")
[ -n "$pw" ] && ok || { bad "first start prints the admin's password"; cat "$TMP/run.out" >&2; }
req -X POST -d "{\"email\":\"admin@localhost\",\"password\":\"$pw\"}" "$U/api/v1/auth/login"
expect_eq "admin login with the printed password" 200 "$CODE"
token=$(jget "d['access_token']")
req "$U/health"
expect_json "store in var/" "d['store']['ok']" True
keys_before=$(cat "$TMP/tree/var/master.key" "$TMP/tree/var/jwt.secret")
stop_server

run_start
expect_eq "secrets kept across restarts" "$keys_before" "$(cat "$TMP/tree/var/master.key" "$TMP/tree/var/jwt.secret")"
grep -q '^atp serve: admin admin@localhost exists .*atp user add' "$TMP/run.out" && ok ||
  { bad "restart says the admin exists and how to get back in"; cat "$TMP/run.out" >&2; }
grep -q 'with password' "$TMP/run.out" && bad "restart printed a password" || ok
req -H "Authorization: Bearer $token" "$U/api/v1/me"
expect_eq "token of the first run accepted after a restart" 200 "$CODE"
expect_json "token's user" "d['email']" admin@localhost
stop_server

chmod 644 "$TMP/tree/var/jwt.secret"
expect_status "a group-readable JWT key file is refused" 2 env ATP_JWT_SECRET_FILE="$TMP/tree/var/jwt.secret" \
  "$ATP" serve --db "sqlite:$TMP/x.db" --listen 127.0.0.1:0
expect_err_contains "mode message" "must not be accessible by group or others"
finish

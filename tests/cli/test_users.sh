# atp migrate and atp user: the embedded database is created, migrated once, owner-only; users are
# added (duplicate e-mails refused whatever their case), listed, changed; passwords never stored
# in clear.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

expect_status "migrate" 0 "$ATP" migrate
grep -qE '^ +1 initial +applied$' "$TMP/out" && ok || bad "migration 1 applied"
expect_status "migrate twice" 0 "$ATP" migrate
expect_eq "db mode" "600" "$(stat -c %a var/atp.db)"

ATP_USER_PASSWORD=correct-horse-battery expect_status "add admin" 0 "$ATP" user add --email Admin@Example.com --role admin --name "Asha Admin"
grep -q "user 1 Admin@Example.com (admin) created" "$TMP/out" && ok || bad "admin created"
grep -q "password:" "$TMP/out" && bad "a given password is not printed" || ok
expect_status "add trader" 0 "$ATP" user add --email trader@example.com
grep -qE "^password: [A-Za-z0-9_-]{20} " "$TMP/out" && ok || bad "a generated password is printed once"
expect_status "duplicate email" 2 "$ATP" user add --email ADMIN@example.COM
expect_err_contains "duplicate names the field" "email"
ATP_USER_PASSWORD=short expect_status "short password" 2 "$ATP" user add --email x@example.com
expect_status "bad role" 2 "$ATP" user add --email y@example.com --role root
expect_status "set-role" 0 "$ATP" user set-role --email trader@example.com --role investor
expect_status "disable" 0 "$ATP" user disable --email trader@example.com
expect_status "unlock" 0 "$ATP" user unlock --email Admin@example.com
expect_status "unknown user" 2 "$ATP" user unlock --email nobody@example.com
expect_status "list" 0 "$ATP" user list
grep -qE '^1 +Admin@Example.com +admin +active +Asha Admin$' "$TMP/out" && ok || bad "admin listed"
grep -qE '^2 +trader@example.com +investor +disabled ' "$TMP/out" && ok || bad "trader changed"
# The password is stored as an argon2id hash only.
grep -q "correct-horse-battery" var/atp.db var/atp.db-wal 2>/dev/null && bad "password in clear" || ok
grep -q 'argon2id' var/atp.db var/atp.db-wal 2>/dev/null && ok || bad "argon2id hash stored"
expect_status "unknown action" 2 "$ATP" user frob

finish

#!/usr/bin/env bash
# `make run`: the platform server for development. Creates once, owner-only (0600), the secrets
# that must survive restarts so the vault's sealed credentials stay readable and access tokens
# stay valid: var/master.key (the vault's master key: 32 random bytes, hex) and var/jwt.secret
# (the token signing key: 32 random bytes, hex). Then runs
#   atp serve --db sqlite:var/atp.db --listen 127.0.0.1:8080
# (ATP_LISTEN / ATP_DB override them), which prints the URL and, on the first start, the
# generated admin's credentials. Usage: scripts/run.sh [build-dir]
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
umask 077
mkdir -p var
new_secret() { # new_secret FILE: 64 hex digits, written once
  [ -s "$1" ] && return 0
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$1.tmp"
  mv "$1.tmp" "$1"
  echo "run.sh: created $1 (0600; keep it: the store's sealed data and tokens depend on it)"
}
new_secret var/master.key
new_secret var/jwt.secret
chmod 600 var/master.key var/jwt.secret
listen=${ATP_LISTEN:-127.0.0.1:8080}
db=${ATP_DB:-sqlite:var/atp.db}
echo "run.sh: atp serve --db $db --listen $listen (Ctrl-C stops it gracefully)"
ATP_MASTER_KEY_FILE=var/master.key ATP_JWT_SECRET_FILE=var/jwt.secret \
  exec "./$build/atp" serve --db "$db" --listen "$listen"

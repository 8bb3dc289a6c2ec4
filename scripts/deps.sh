#!/usr/bin/env bash
# Installs everything ATP needs to build, test and run on a fresh Debian 12 machine: the Debian
# packages below, then the npm packages of web/vendor (lightweight-charts, inlined into the
# backtest HTML report) and of tests/openapi (the OpenAPI validator of tests/cli/test_openapi.sh)
# with `npm ci` from their committed package-lock.json.
# Idempotent and quick when everything is there: it asks dpkg (and for Node.js, the PATH) first
# and only calls apt-get for what is missing, and runs npm ci only when web/vendor/node_modules is
# missing or was installed from another lockfile. Runs as root, or through sudo when available.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PACKAGES=(
  build-essential cmake pkg-config   # toolchain
  clang libclang-rt-14-dev           # libFuzzer targets (make fuzz)
  libjansson-dev                     # JSON
  libcriterion-dev                   # unit tests
  libsodium-dev                      # argon2id, XChaCha20-Poly1305, HMAC-SHA256, randomness
  liboath-dev                        # TOTP (RFC 6238)
  libsqlite3-dev                     # embedded store (src/store/sqlite)
  libwebsockets-dev libuv1-dev       # HTTP/WS server (atp serve) on the libuv event loop
  curl                               # tests/cli/test_serve.sh drives the server over HTTP
  jq                                 # the README's example session picks fields with it
  python3-websocket                  # the WebSocket client of tests/cli/test_ws.sh and the authz matrix
  wrk                                # bench/http.sh (make bench)
  libpq-dev                          # PostgreSQL client (src/store/postgres)
  postgresql                         # local test server (scripts/pg.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm: Debian 12's nodejs (18) and npm (9) are enough (the lockfile is version 3).
# Asked by command, not by package: a machine may have them from elsewhere (a nodejs package that
# bundles npm conflicts with Debian's npm), and then they are used as they are.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# python3: the CLI tests that drive the server read its JSON answers with it (not in a minimal
# Debian 12 install); asked by command like node, so any python3 on the PATH serves.
command -v python3 >/dev/null 2>&1 || missing+=(python3)

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
  fi
  echo "deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages. The stamp records which lockfile node_modules was installed from, so a changed
# lockfile (a new pin) reinstalls and an unchanged one costs nothing.
npm_install() {
  local dir="$1" check="$2"
  local stamp="$dir/node_modules/.atp-lock.sha256"
  local want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$dir/$check" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "deps.sh: npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --prefer-offline --loglevel=error)
  if [ ! -f "$dir/$check" ]; then
    echo "deps.sh: npm ci in $dir did not install $check" >&2; exit 1
  fi
  echo "$want" > "$stamp"
}

npm_install "$ROOT/web/vendor" \
  node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js
# The standard OpenAPI 3.1 validator tests/cli/test_openapi.sh runs on the live document.
npm_install "$ROOT/tests/openapi" \
  node_modules/@seriousme/openapi-schema-validator/index.js

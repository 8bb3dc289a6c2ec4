#!/usr/bin/env bash
# Installs every Debian package ATP needs to build, test and run on a fresh Debian 12 machine.
# Idempotent and quick when everything is there: it asks dpkg first and only calls apt-get for
# what is missing. Runs as root, or through sudo when available.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config   # toolchain
  clang libclang-rt-14-dev           # libFuzzer targets (make fuzz)
  libjansson-dev                     # JSON
  libcriterion-dev                   # unit tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

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

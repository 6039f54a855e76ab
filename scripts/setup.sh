#!/usr/bin/env bash
# Installs everything the build, the tests, the demo and the benchmarks need on
# a fresh Debian 12 machine: Debian packages, then the Python venv (.venv) and
# the npm packages. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libuv1-dev libssl-dev openssl zlib1g-dev node-llhttp
  clang libclang-rt-14-dev valgrind
  libwebsockets-dev
  python3-venv
  chromium
  tinyproxy dante-server
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python: a venv of the project's own, so nothing touches the system Python.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements-*.txt 2>/dev/null | sha1sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  for f in requirements-*.txt; do .venv/bin/python -m pip install -q -r "$f"; done
  echo "$want" > "$stamp"
fi

# npm packages (peers for interop and benchmarks, the addon's build deps).
if [ -f package.json ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi
echo "setup: ok"

#!/usr/bin/env bash
# Conformance of the C engine: the runner against the C echo server and the
# C Autobahn client, over ws:// and wss:// (certificates made on the fly).
# Usage: tests/conformance/run_c.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}/bin
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
pki=$(mktemp -d)
trap 'rm -rf "$pki"' EXIT
tests/tls/make_certs.sh "$pki" >/dev/null || exit 1
cases=1-7,9,10
# Every run is strict (FAILED, NON-STRICT or UNIMPLEMENTED fail it) and must have
# exactly the number of OK cases README.md claims; the rest of each selection are
# the 3 cases that are INFORMATIONAL by definition (7.1.6, 7.13.1, 7.13.2), whose
# closing handshake is still judged.
ok_plain=298     # 1-7,9,10: 301 cases
ok_deflate=568   # 1-7,10,12,13: 571 cases
ok_client_deflate=324  # 12,13
strict() { echo --strict --expect-ok="$1"; }
status=0
run() { echo "--- $*"; "$@" || status=1; }
run "$PY" tests/conformance/run_against.py server --agent uvws-c-server --cases $cases $(strict $ok_plain) \
  -- "$B/echo_server" --host 127.0.0.1 --port 0 --max-fragments 0
run "$PY" tests/conformance/run_against.py server --agent uvws-c-server-wss --cases $cases $(strict $ok_plain) \
  --scheme wss --host localhost --ca "$pki/ca.pem" \
  -- "$B/echo_server" --host 127.0.0.1 --port 0 --max-fragments 0 --tls-cert "$pki/server.pem" --tls-key "$pki/server.key"
run "$PY" tests/conformance/run_against.py client --agent uvws-c-client --cases $cases $(strict $ok_plain) \
  -- "$B/autobahn_client" {url} {agent}
run "$PY" tests/conformance/run_against.py client --agent uvws-c-client-wss --cases $cases $(strict $ok_plain) \
  --scheme wss --host localhost --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" \
  -- "$B/autobahn_client" {url} {agent} "$pki/ca.pem"
# permessage-deflate (RFC 7692): groups 12 and 13, and 1-7, 10 with it on.
run "$PY" tests/conformance/run_against.py server --agent uvws-c-server-deflate --cases 1-7,10,12,13 \
  $(strict $ok_deflate) \
  -- "$B/echo_server" --host 127.0.0.1 --port 0 --deflate
run env UVWS_DEFLATE=1 "$PY" tests/conformance/run_against.py client --agent uvws-c-client-deflate \
  --cases 12,13 $(strict $ok_client_deflate) -- "$B/autobahn_client" {url} {agent}
exit $status

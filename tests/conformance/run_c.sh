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
status=0
run() { echo "--- $*"; "$@" || status=1; }
run "$PY" tests/conformance/run_against.py server --agent uvws-c-server --cases $cases \
  -- "$B/echo_server" --host 127.0.0.1 --port 0 --max-fragments 0
run "$PY" tests/conformance/run_against.py server --agent uvws-c-server-wss --cases $cases \
  --scheme wss --host localhost --ca "$pki/ca.pem" \
  -- "$B/echo_server" --host 127.0.0.1 --port 0 --max-fragments 0 --tls-cert "$pki/server.pem" --tls-key "$pki/server.key"
run "$PY" tests/conformance/run_against.py client --agent uvws-c-client --cases $cases \
  -- "$B/autobahn_client" {url} {agent}
run "$PY" tests/conformance/run_against.py client --agent uvws-c-client-wss --cases $cases \
  --scheme wss --host localhost --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" \
  -- "$B/autobahn_client" {url} {agent} "$pki/ca.pem"
# permessage-deflate (RFC 7692): groups 12 and 13, and 1-7, 10 with it on.
run "$PY" tests/conformance/run_against.py server --agent uvws-c-server-deflate --cases 1-7,10,12,13 \
  -- "$B/echo_server" --host 127.0.0.1 --port 0 --deflate
run env UVWS_DEFLATE=1 "$PY" tests/conformance/run_against.py client --agent uvws-c-client-deflate \
  --cases 12,13 -- "$B/autobahn_client" {url} {agent}
exit $status

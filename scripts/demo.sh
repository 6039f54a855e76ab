#!/usr/bin/env bash
# The demo: installs what is missing, builds the engine, starts the C echo
# server on a free port and talks to it with the C client over ws:// (IPv4 and
# IPv6), printing what flows. Ends by itself; exit code 0 on success.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
cmake -S . -B build-demo -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DUVWS_BUILD_TESTS=OFF -DUVWS_BUILD_BENCH=OFF >/dev/null
cmake --build build-demo >/dev/null

log=$(mktemp)
build-demo/bin/echo_server --host :: --port 0 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q "listening on" "$log" && break; sleep 0.1; done
port=$(awk '/listening on/ {print $3}' "$log")
echo "demo: C echo server listening on port $port"
echo "demo: client over IPv4 sends three messages:"
build-demo/bin/client "ws://127.0.0.1:$port/demo" "hello from C" "ünïcödé ✓" '{"json": true}'
echo "demo: client over IPv6 sends stdin lines:"
printf 'line one\nline two\n' | build-demo/bin/client "ws://[::1]:$port/demo"
kill -TERM $server
wait $server
echo "demo: server closed cleanly; done"

#!/usr/bin/env bash
# permessage-deflate side by side: a 2 KiB JSON message echoed by the uvws C
# server and by npm ws, both with compression on (every message compressed),
# with and without context takeover, and uncompressed for reference. Prints
# messages/s, bytes on the wire per message (server's socket reads + writes,
# halved: one direction) and the server's CPU time per message.
# Usage: bench/deflate.sh [-c CONNS] [-d SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=10
secs=5
while [ $# -gt 0 ]; do
  case $1 in -c) conns=$2; shift 2 ;; -d) secs=$2; shift 2 ;; *) echo "usage: $0 [-c N] [-d S]"; exit 2 ;; esac
done
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target echo_server uvws_deflate_bench >/dev/null
[ -d node_modules/ws ] || npm install --no-audit --no-fund --loglevel=error >/dev/null
run() { # label, client flags, server command...
  local label=$1 cflags=$2
  shift 2
  local log
  log=$(mktemp)
  "$@" >"$log" 2>&1 &
  local srv=$!
  for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
  local port
  port=$(awk '/listening on/ {print $3}' "$log")
  local out
  out=$(build/bin/uvws_deflate_bench --url "ws://127.0.0.1:$port/" --server-pid $srv -c "$conns" -d "$secs" $cflags) || true
  kill $srv 2>/dev/null; wait $srv 2>/dev/null || true
  rm -f "$log"
  python3 - "$label" "$out" <<'PY'
import json, sys
label, out = sys.argv[1], sys.argv[2]
try:
    d = json.loads(out)
except Exception:
    print(f"{label:34} FAILED: {out!r}")
    sys.exit(0)
print(f"{label:34} {d['msgs_per_s']:>9,.0f} {d['wire_bytes_per_msg']:>12,.0f} {d['cpu_us_per_msg']:>12.2f} {d['errors']:>7}")
PY
}
echo "2 KiB JSON echo, $conns connections, ${secs}s each (message: 2 KiB before compression)"
printf '%-34s %9s %12s %12s %7s\n' server msg/s wire-B/msg "CPU us/msg" errors
run "uvws, uncompressed" "--plain" build/bin/echo_server --host 127.0.0.1 --port 0
run "uvws, deflate" "" build/bin/echo_server --host 127.0.0.1 --port 0 --deflate
run "ws, perMessageDeflate" "" node bench/peers/ws_deflate_echo.js --port 0
run "uvws, deflate, no context takeover" "--no-takeover" build/bin/echo_server --host 127.0.0.1 --port 0 --deflate-no-takeover
run "ws, deflate, no context takeover" "--no-takeover" node bench/peers/ws_deflate_echo.js --port 0 --no-takeover

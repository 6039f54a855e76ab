#!/usr/bin/env bash
# The echo server example's --stats: the counters it prints on SIGTERM after
# a client sent two messages and a bad upgrade request was refused.
# Usage: echo_stats.sh BIN_DIR
set -u
bin=$1
out=$(mktemp)
trap 'rm -f "$out"; kill "$pid" 2>/dev/null' EXIT
"$bin/echo_server" --host 127.0.0.1 --port 0 --stats > "$out" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$out")
[ -n "$port" ] || { echo "echo_server did not start"; exit 1; }
"$bin/client" "ws://127.0.0.1:$port/" hello world >/dev/null || { echo "client failed"; exit 1; }
# Not a WebSocket request: 426, counted as rejected_bad_request.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&3
head -c 12 <&3 | grep -q "HTTP/1.1 4" || { echo "no 4xx answer"; exit 1; }
exec 3>&-
kill -TERM "$pid"
wait "$pid"
status=0
expect() { grep -qx "stat $1 $2" "$out" || { echo "expected 'stat $1 $2' in:"; cat "$out"; status=1; }; }
expect connections_total 1
expect connections_open 0
expect messages_in 2
expect messages_out 2
expect bytes_in 10
expect closes_normal 1
expect rejected_bad_request 1
# One line per counter of UVWS_STATS_MAP.
want=$(sed -n '/define UVWS_STATS_MAP/,/^$/p' "$(dirname "$0")/../../core/include/uvws.h" | grep -c 'XX(')
[ "$(grep -c '^stat ' "$out")" -eq "$want" ] || { echo "expected $want counters"; status=1; }
[ $status = 0 ] && echo "echo_stats: 1 passed, 0 failed"
exit $status

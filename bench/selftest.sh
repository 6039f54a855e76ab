#!/usr/bin/env bash
# bench/selftest.sh - checks the benchmark harness itself (~30 s):
# uvws_loadgen must exit 0 against correct echo servers (raw, lws with
# fragmenting 4 KiB buffers, text, pipelining, 16 MiB messages) and exit 1,
# naming the right error, against each fault of bench/peers/faulty_echo.py;
# in fan-out mode likewise against bench/peers/faulty_fanout.py.
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/build/bin"
PY="$ROOT/.venv/bin/python"
mkdir -p "$BIN"
cc -O2 -Wall "$ROOT/bench/loadgen.c" -o "$BIN/uvws_loadgen" -lcrypto || exit 1
cc -O2 -Wall "$ROOT/bench/peers/raw_tcp_echo.c" -o "$BIN/raw_tcp_echo" -lcrypto || exit 1
HAVE_LWS=0
if pkg-config --exists libwebsockets 2>/dev/null; then
    # shellcheck disable=SC2046
    cc -O2 -Wall "$ROOT/bench/peers/lws_echo.c" -o "$BIN/lws_echo" $(pkg-config --cflags --libs libwebsockets) && HAVE_LWS=1
fi
TMP=$(mktemp -d /tmp/uvws-selftest.XXXXXX)
SPID=""
cleanup() { [ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
PASS=0; FAIL=0

start() {
    : >"$TMP/out" # truncate here: the child's redirection may happen after our first read
    "$@" >"$TMP/out" 2>"$TMP/err" &
    SPID=$!
    PORT=""
    for _ in $(seq 1 100); do
        PORT=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$TMP/out")
        [ -n "$PORT" ] && return 0
        sleep 0.1
    done
    echo "server did not start: $*"; cat "$TMP/err"; return 1
}
stop() { kill -TERM "$SPID" 2>/dev/null; sleep 0.2; kill -KILL "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""; }

# expect NAME WANT_RC WANT_ERROR(or -) -- loadgen args
expect() {
    local name=$1 want=$2 werr=$3; shift 4
    timeout 60 "$BIN/uvws_loadgen" --url "ws://127.0.0.1:$PORT/" --json "$@" >"$TMP/lg" 2>"$TMP/lgerr"
    local rc=$? ok=1
    [ "$rc" = "$want" ] || ok=0
    if [ "$werr" != - ]; then grep -q "\"$werr\":[1-9]" "$TMP/lg" || ok=0; fi
    if [ "$ok" = 1 ]; then PASS=$((PASS + 1)); echo "ok   $name"
    else FAIL=$((FAIL + 1)); echo "FAIL $name (rc=$rc, want $want${werr:+ with $werr})"; cat "$TMP/lg" "$TMP/lgerr" | head -5; fi
}

start "$BIN/raw_tcp_echo" --port 0 || exit 1
expect "raw 10x1k" 0 - -- -c 10 -s 1k -d 0.5 --warmup 0.1 --raw
expect "raw 2x16MiB pipeline 2" 0 - -- -c 2 -s 16m -d 0.5 --warmup 0 --raw --pipeline 2
expect "raw without --raw is a protocol error" 1 protocol -- -c 1 -s 16 -d 0.3 --warmup 0
stop

if [ "$HAVE_LWS" = 1 ]; then
    start "$BIN/lws_echo" --port 0 --rx-buffer 4096 || exit 1
    expect "lws fragmented 64k text pipeline 4" 0 - -- -c 4 -s 64k -d 0.5 --warmup 0.1 --text --pipeline 4
    expect "lws 1 byte" 0 - -- -c 3 -s 1 -d 0.3 --warmup 0
    expect "lws empty messages" 0 - -- -c 3 -s 0 -d 0.3 --warmup 0
    expect "lws 64 MiB" 0 - -- -c 1 -s 64m -d 0.5 --warmup 0
    stop
else
    echo "skip lws checks (libwebsockets-dev not installed)"
fi

if [ -x "$PY" ] && "$PY" -c "import websockets" 2>/dev/null; then
    for f in corrupt:mismatch drop:msg_timeout dup:mismatch close:unexpected_close type:mismatch short:mismatch; do
        start "$PY" "$ROOT/bench/peers/faulty_echo.py" --port 0 --fault "${f%%:*}" --every 50 || exit 1
        expect "detects ${f%%:*} as ${f##*:}" 1 "${f##*:}" -- -c 4 -s 64 -d 1.5 --warmup 0 --msg-timeout 1
        stop
    done
else
    echo "skip fault checks (.venv with websockets missing)"
fi

# Fan-out mode: a correct publish/subscribe server passes; dropped,
# duplicated and reordered deliveries are caught.
if [ -x "$PY" ] && "$PY" -c "import websockets" 2>/dev/null; then
    start "$PY" "$ROOT/bench/peers/faulty_fanout.py" --port 0 --fault none || exit 1
    expect "fan-out 20 subscribers x 2 publishers" 0 - -- --fanout 20 -c 2 -s 64 --rate 400 --burst 4 -d 0.5 --warmup 0.1
    stop
    for f in drop dup reorder; do
        start "$PY" "$ROOT/bench/peers/faulty_fanout.py" --port 0 --fault "$f" --every 20 || exit 1
        expect "fan-out detects $f" 1 mismatch -- --fanout 5 -s 32 --rate 400 -d 0.5 --warmup 0 --msg-timeout 2
        stop
    done
else
    echo "skip fan-out checks (.venv with websockets missing)"
fi

start "$BIN/raw_tcp_echo" --port 0 || exit 1
"$BIN/uvws_loadgen" --url "ws://192.0.2.1:$PORT/" -d 1 >/dev/null 2>&1
if [ $? = 2 ]; then PASS=$((PASS + 1)); echo "ok   refuses a non-loopback target"; else FAIL=$((FAIL + 1)); echo "FAIL non-loopback target accepted"; fi
stop

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]

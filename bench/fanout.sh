#!/usr/bin/env bash
# bench/fanout.sh - publish/subscribe fan-out: uvws (C, Node, Python) against
# ws's broadcast loop and python-websockets' broadcast(), side by side.
#
#   bench/fanout.sh                          # both scenarios, every server
#   bench/fanout.sh --servers uvws-c,ws --scenarios 1000x16:r100:b10 --duration 10
#
# uvws-c-sendloop is the C server without topics, calling uvws_send() for each
# subscriber (the loop users wrote before topics): the baseline.
# A scenario is SUBSxSIZE[:rRATE][:bBURST][:pPUBLISHERS]: SUBS subscriber
# connections, messages of SIZE bytes (k/m suffixes) published at RATE per
# second in total (default 100), BURST back to back (default 1), by
# PUBLISHERS connections (default 1). For each scenario and server: start the
# server (--port 0), run build/bin/uvws_loadgen --fanout with --cpu-pid,
# stop it. uvws_loadgen checks that every subscriber gets every message, in
# order, and reports deliveries per second (one message received by one
# subscriber), publish-to-delivery latency and the server's CPU time per
# delivery. Every server gets the same offered load: compare CPU/delivery.
# Results: one JSON line per run in bench/results/fanout-<stamp>.jsonl
# (gitignored), a table on stdout. See bench/README.md.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/build/bin"
PEERS="$ROOT/bench/peers"
PY="$ROOT/.venv/bin/python"
SERVERS="uvws-c,uvws-c-sendloop,uvws-node,uvws-python,ws,websockets"
SCENARIOS="1000x16:r100:b10,100x64k:r20:b1"
DURATION=5
WARMUP=1
PIN=none

usage() {
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    cat <<EOF
options: --servers LIST (default $SERVERS)
         --scenarios LIST (default $SCENARIOS)
         --duration S (default $DURATION)  --warmup S (default $WARMUP)
         --pin none|same   same: server and load generator on CPU 0
         --uws-bin PATH    a uWebSockets fan-out server built outside this
                           repository (nothing here builds it), run as "uws":
                           it must take --fanout and --port 0, print
                           "listening on <port>", subscribe connections whose
                           query has role=sub to "t" (answering "ok") and
                           App::publish every other message to "t"
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --servers) SERVERS=$2; shift 2 ;;
        --scenarios) SCENARIOS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --pin) PIN=$2; shift 2 ;;
        --uws-bin) UWS_BIN=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "fanout.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

for t in uvws_loadgen uvws_fanout_server; do
    if [ ! -x "$BIN/$t" ]; then
        echo "fanout.sh: $BIN/$t missing: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build" >&2
        exit 1
    fi
done

server_cmd() {
    case "$1" in
        uvws-c) echo "$BIN/uvws_fanout_server --port 0" ;;
        uvws-c-sendloop) echo "$BIN/uvws_fanout_server --port 0 --send-loop" ;;
        uvws-node) echo "node $PEERS/uvws_fanout.js --port 0" ;;
        uvws-python) echo "$PY $PEERS/uvws_fanout.py --port 0" ;;
        ws) echo "node $PEERS/ws_fanout.js --port 0" ;;
        websockets) echo "$PY $PEERS/websockets_fanout.py --port 0" ;;
        uws) if [ -n "${UWS_BIN:-}" ] && [ -x "$UWS_BIN" ]; then echo "$UWS_BIN --fanout --port 0"
             else echo "fanout.sh: server uws needs --uws-bin PATH (built outside this repository)" >&2; return 1; fi ;;
        *) return 1 ;;
    esac
}

taskset_cmd() { [ "$PIN" = same ] && echo "taskset -c 0" || true; }

mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/fanout-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
status=0
printf '%-14s %-12s %12s %10s %10s %12s %8s\n' scenario server "deliv/s" "p50 us" "p99 us" "cpu us/dlv" errors
for sc in ${SCENARIOS//,/ }; do
    subs=${sc%%x*}
    rest=${sc#*x}
    size=${rest%%:*}
    rate=100 burst=1 pubs=1
    IFS=: read -ra parts <<< "${rest#"$size"}"
    for p in "${parts[@]}"; do
        case "$p" in
            r*) rate=${p#r} ;;
            b*) burst=${p#b} ;;
            p*) pubs=${p#p} ;;
            "") ;;
            *) echo "fanout.sh: bad scenario part $p" >&2; exit 2 ;;
        esac
    done
    for srv in ${SERVERS//,/ }; do
        cmd=$(server_cmd "$srv") || { echo "fanout.sh: unknown server $srv" >&2; exit 2; }
        log=$(mktemp)
        # shellcheck disable=SC2086
        $(taskset_cmd) $cmd >"$log" 2>&1 &
        spid=$!
        port=""
        for _ in $(seq 150); do
            port=$(awk '/^listening on/ {print $3; exit}' "$log")
            [ -n "$port" ] && break
            kill -0 $spid 2>/dev/null || break
            sleep 0.1
        done
        if [ -z "$port" ]; then
            echo "fanout.sh: $srv did not start: $(head -c 500 "$log")" >&2
            kill $spid 2>/dev/null
            wait $spid 2>/dev/null
            rm -f "$log"
            status=1
            continue
        fi
        # shellcheck disable=SC2046
        json=$($(taskset_cmd) "$BIN/uvws_loadgen" --url "ws://127.0.0.1:$port/" --fanout "$subs" -c "$pubs" \
               -s "$size" --rate "$rate" --burst "$burst" -d "$DURATION" --warmup "$WARMUP" --msg-timeout 30 \
               --cpu-pid $spid --json --label "$srv $sc")
        rc=$?
        kill $spid 2>/dev/null
        wait $spid 2>/dev/null
        rm -f "$log"
        [ $rc -ne 0 ] && status=1
        echo "$json" >> "$OUT"
        python3 - "$json" "$sc" "$srv" <<'EOF'
import json, sys
try:
    r = json.loads(sys.argv[1])
except ValueError:
    print(f"{sys.argv[2]:<14} {sys.argv[3]:<12} (no result)")
    sys.exit(0)
print(f"{sys.argv[2]:<14} {sys.argv[3]:<12} {r['msgs_per_s']:12.0f} {r['latency_us']['p50']:10.0f} "
      f"{r['latency_us']['p99']:10.0f} {r['server_cpu_us_per_msg']:12.3f} {r['errors']['total']:8d}")
EOF
    done
done
echo "results: $OUT"
exit $status

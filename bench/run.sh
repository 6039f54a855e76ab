#!/usr/bin/env bash
# bench/run.sh - compare the uvws echo server with peer WebSocket servers.
#
#   bench/run.sh                      # default scenarios x default servers (< 10 min)
#   bench/run.sh --quick              # short windows, a smoke run (~1.5 min)
#   bench/run.sh --servers uvws,lws,raw --scenarios 100x16,10x64k --duration 10
#
# For each scenario it starts each server in turn (--port 0, reads
# "listening on <port>"), runs build/bin/uvws_loadgen against it with
# --cpu-pid, stops it, then prints a table. Results go to
# bench/results/<timestamp>.json (gitignored). See bench/README.md.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/build/bin"
PEERS="$ROOT/bench/peers"
PY="$ROOT/.venv/bin/python"
RESULTS="$ROOT/bench/results"

ALL_SERVERS="uvws uvws-base uws uvws-node uvws-python uvws-python-uvloop uvws-python-cb uvws-python-cb-uvloop lws lws4k lws-uv ws websockets websockets-uvloop picows picows-uvloop aiohttp aiohttp-uvloop raw"
SERVERS="uvws,lws,lws4k,ws,websockets,websockets-uvloop,picows-uvloop,aiohttp,raw"
SCENARIOS="100x16,10x64k,1x16,1000x16,100x1k"
DURATION=5
WARMUP=1
QUICK=0
PIN=none
TEXT=0
SETUP=0
BUILD=1
OUT=""
UVWS_BIN="$BIN/echo_server"
RETRIES=1          # re-run a run once if other processes used > 15 % of a core
BUDGET=480         # ... but only while the whole run is under this many seconds

usage() {
    cat <<EOF
usage: bench/run.sh [options]
  --servers LIST     comma-separated, default: $SERVERS
                     known: $(echo $ALL_SERVERS | tr ' ' ',')
  --scenarios LIST   CONNSxSIZE[:pN],... default: $SCENARIOS
                     (size suffixes k/m = KiB/MiB; e.g. 10x64k, 4x1k:p16 = pipeline 16)
  --duration S       measured seconds per run (default $DURATION; --quick: 1)
  --warmup S         warm-up seconds per run (default $WARMUP; --quick: 0.3)
  --quick            short runs for a smoke test
  --text             send text messages instead of binary
  --pin MODE         none (default): the scheduler places both processes;
                     same: server and load generator both on CPU 0 (per-message
                     work without cross-core wake-ups; little affected by load
                     on the other core); split: server on CPU 0, loadgen on CPU 1
  --setup            install the peers' dependencies first (npm install, .venv)
  --no-build         do not (re)build the C tools
  --out FILE         results JSON path (default bench/results/<timestamp>.json)
  --uvws-bin PATH    the uvws echo server (default build/bin/echo_server)
  --uws-bin PATH     a uWebSockets echo server built outside this repository
                     (nothing here builds it): run as "uws"; it must take
                     --host, --port 0 and print "listening on <port>"
  --base-bin PATH    a second uvws echo server, run as "uvws-base" (e.g. an
                     older build: bench/compare.sh REV makes one)
  --retries N        re-run a run up to N times when other processes used more
                     than 15 % of a core during its window (default $RETRIES; kept: the
                     quietest attempt), while the total time is under --budget
  --budget S         seconds (default $BUDGET)
  --list             list the servers and exit
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    --servers) SERVERS=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --duration) DURATION=$2; DURATION_SET=1; shift 2 ;;
    --warmup) WARMUP=$2; WARMUP_SET=1; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --text) TEXT=1; shift ;;
    --pin) PIN=$2; shift 2 ;;
    --setup) SETUP=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    --uws-bin) UWS_BIN=$2; shift 2 ;;
    --base-bin) BASE_BIN=$(cd "$(dirname "$2")" 2>/dev/null && pwd)/$(basename "$2"); shift 2 ;;
    --uvws-bin) UVWS_BIN=$(cd "$(dirname "$2")" 2>/dev/null && pwd)/$(basename "$2"); shift 2 ;;
    --retries) RETRIES=$2; shift 2 ;;
    --budget) BUDGET=$2; shift 2 ;;
    --list) echo $ALL_SERVERS | tr ' ' '\n'; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
if [ "$QUICK" = 1 ]; then
    [ -z "${DURATION_SET:-}" ] && DURATION=1
    [ -z "${WARMUP_SET:-}" ] && WARMUP=0.3
fi
case "$PIN" in none|same|split) ;; *) echo "run.sh: --pin none|same|split" >&2; exit 2 ;; esac
# every loop bounded: refuse absurd windows
if ! awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { exit !(d > 0 && d <= 120 && w >= 0 && w <= 30) }'; then
    echo "run.sh: --duration must be in (0,120] and --warmup in [0,30]" >&2
    exit 2
fi

log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- setup/build
if [ "$SETUP" = 1 ]; then
    log "== setup: npm install, .venv"
    (cd "$ROOT" && npm install --no-audit --no-fund) >&2 || log "npm install failed"
    [ -x "$PY" ] || python3 -m venv "$ROOT/.venv" >&2
    "$ROOT/.venv/bin/pip" install -q -r "$ROOT/requirements-bench.txt" >&2 || log "pip install failed"
fi

mkdir -p "$BIN" "$RESULTS"
build_one() { # out src libs...
    local out=$1 src=$2; shift 2
    if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
        log "build: $(basename "$out")"
        cc -O2 -Wall "$src" -o "$out" "$@" || return 1
    fi
}
if [ "$BUILD" = 1 ]; then
    build_one "$BIN/uvws_loadgen" "$ROOT/bench/loadgen.c" -lcrypto || { log "cannot build uvws_loadgen"; exit 1; }
    build_one "$BIN/raw_tcp_echo" "$PEERS/raw_tcp_echo.c" -lcrypto || log "cannot build raw_tcp_echo"
    if pkg-config --exists libwebsockets 2>/dev/null; then
        # shellcheck disable=SC2046
        build_one "$BIN/lws_echo" "$PEERS/lws_echo.c" $(pkg-config --cflags --libs libwebsockets) || log "cannot build lws_echo"
    else
        log "libwebsockets not found (apt-get install libwebsockets-dev): lws servers will be skipped"
    fi
fi
LOADGEN="$BIN/uvws_loadgen"
[ -x "$LOADGEN" ] || { log "no $LOADGEN"; exit 1; }

# ---------------------------------------------------------------- servers
# server_def NAME: sets CMD (array), LGX (extra loadgen args), returns 1 with
# SKIP set if the server cannot run here.
server_def() {
    CMD=(); LGX=(); SKIP=""
    case "$1" in
    uvws)
        CMD=("$UVWS_BIN" --host 127.0.0.1 --port 0 --max-payload 67108864)
        [ -x "$UVWS_BIN" ] || SKIP="$UVWS_BIN not built yet (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)" ;;
    uws)
        CMD=("${UWS_BIN:-}" --host 127.0.0.1 --port 0)
        [ -n "${UWS_BIN:-}" ] && [ -x "$UWS_BIN" ] || SKIP="no --uws-bin given (uWebSockets is built outside this repository)" ;;
    uvws-base)
        CMD=("${BASE_BIN:-}" --host 127.0.0.1 --port 0 --max-payload 67108864)
        [ -n "${BASE_BIN:-}" ] && [ -x "$BASE_BIN" ] || SKIP="no --base-bin given" ;;
    uvws-node)
        # The Node package's echo server (examples/node/echo_server.js): the
        # engine on Node's loop, messages through the ws-compatible JS API.
        CMD=(node "$ROOT/examples/node/echo_server.js" --host 127.0.0.1 --port 0 --max-payload 67108864)
        command -v node >/dev/null || SKIP="node not installed"
        [ -z "$SKIP" ] && [ ! -f "$ROOT/node/build/uvws.node" ] && SKIP="node/build/uvws.node not built (npm install at the repo root)" ;;
    uvws-python|uvws-python-uvloop|uvws-python-cb|uvws-python-cb-uvloop)
        # The Python package's echo server (examples/python/echo_server.py),
        # installed in .venv with `.venv/bin/pip install .`: the engine on
        # asyncio's loop (or uvloop). -cb: the echo goes through a Python
        # lambda instead of handing ws.send to the engine.
        CMD=("$PY" "$ROOT/examples/python/echo_server.py" --host 127.0.0.1 --port 0 --max-payload 67108864)
        case $1 in *-cb*) CMD+=(--python-callback) ;; esac
        case $1 in *-uvloop) CMD+=(--uvloop) ;; esac
        if [ ! -x "$PY" ]; then SKIP=".venv missing (python3 -m venv .venv)"
        elif ! "$PY" -c "import uvws" 2>/dev/null; then SKIP="uvws not installed in .venv (.venv/bin/pip install .)"; fi ;;
    lws)    CMD=("$BIN/lws_echo" --port 0) ;;
    lws4k)  CMD=("$BIN/lws_echo" --port 0 --rx-buffer 4096) ;;
    lws-uv) CMD=("$BIN/lws_echo" --port 0 --loop uv) ;;
    ws)
        CMD=(node "$PEERS/ws_echo.js" --port 0)
        command -v node >/dev/null || SKIP="node not installed"
        [ -z "$SKIP" ] && [ ! -d "$ROOT/node_modules/ws" ] && SKIP="node_modules/ws missing (npm install at the repo root, or run.sh --setup)" ;;
    websockets|websockets-uvloop|picows|picows-uvloop|aiohttp|aiohttp-uvloop)
        local base=${1%-uvloop} mod
        case $base in websockets) mod=websockets ;; picows) mod=picows ;; aiohttp) mod=aiohttp ;; esac
        CMD=("$PY" "$PEERS/${base}_echo.py" --port 0)
        [ "$base" != "$1" ] && { CMD+=(--uvloop); mod="$mod,uvloop"; }
        if [ ! -x "$PY" ]; then SKIP=".venv missing (python3 -m venv .venv && .venv/bin/pip install -r requirements-bench.txt, or run.sh --setup)"
        elif ! "$PY" -c "import $mod" 2>/dev/null; then SKIP="python module(s) $mod missing in .venv (pip install -r requirements-bench.txt)"; fi ;;
    raw)    CMD=("$BIN/raw_tcp_echo" --port 0); LGX=(--raw) ;;
    *) SKIP="unknown server"; return 1 ;;
    esac
    case "${CMD[0]}" in /*) [ -z "$SKIP" ] && [ ! -x "${CMD[0]}" ] && SKIP="${CMD[0]} not built" ;; esac
    [ -z "$SKIP" ]
}

SPID=""
TMP=$(mktemp -d /tmp/uvws-bench.XXXXXX)
cleanup() {
    if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
        kill -TERM "$SPID" 2>/dev/null
        sleep 0.3
        kill -KILL "$SPID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() { # name -> SPID, SPORT
    local name=$1 i
    : >"$TMP/srv.out"; : >"$TMP/srv.err"
    if [ "$PIN" != none ]; then
        taskset -c 0 "${CMD[@]}" >"$TMP/srv.out" 2>"$TMP/srv.err" &
    else
        "${CMD[@]}" >"$TMP/srv.out" 2>"$TMP/srv.err" &
    fi
    SPID=$!
    SPORT=""
    for i in $(seq 1 150); do # <= 15 s
        SPORT=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$TMP/srv.out" | head -n1)
        [ -n "$SPORT" ] && break
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$SPORT" ] || [ "$SPORT" = 0 ]; then
        log "  $name: did not print 'listening on <port>' within 15 s; stderr:"
        tail -n 5 "$TMP/srv.err" >&2
        stop_server
        return 1
    fi
}

stop_server() {
    [ -n "$SPID" ] || return 0
    kill -TERM "$SPID" 2>/dev/null
    local i
    for i in $(seq 1 30); do # <= 3 s
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    SPID=""
}

# ---------------------------------------------------------------- runs
IFS=',' read -r -a SERVER_LIST <<<"$SERVERS"
IFS=',' read -r -a SCEN_LIST <<<"$SCENARIOS"
for s in "${SCEN_LIST[@]}"; do
    if ! [[ "$s" =~ ^[0-9]+x[0-9]+[kKmM]?(:?p[0-9]+)?$ ]]; then
        log "run.sh: bad scenario '$s' (want CONNSxSIZE or CONNSxSIZE:pN, e.g. 10x64k, 4x1k:p16)"; exit 2
    fi
done

AVAILABLE=()
for srv in "${SERVER_LIST[@]}"; do
    if server_def "$srv"; then
        AVAILABLE+=("$srv")
    else
        log "SKIP $srv: $SKIP"
    fi
done
[ ${#AVAILABLE[@]} -gt 0 ] || { log "no server can run"; exit 1; }

# how was the uvws server built? (a Debug or sanitizer build makes its figures meaningless)
UVWS_BUILD=unknown
cache="$(dirname "$(dirname "$UVWS_BIN")")/CMakeCache.txt"
if [ -f "$cache" ]; then
    bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
    san=$(sed -n 's/^UVWS_SANITIZE:[A-Z]*=//p' "$cache")
    UVWS_BUILD="${bt:-none}${san:+ sanitize=$san}"
fi
if [[ " ${AVAILABLE[*]} " == *" uvws "* ]]; then
    log "uvws: $UVWS_BIN ($UVWS_BUILD build)"
    case "$UVWS_BUILD" in
    Release|RelWithDebInfo|MinSizeRel|unknown) ;;
    *) log "WARNING: uvws is a '$UVWS_BUILD' build: configure with -DCMAKE_BUILD_TYPE=Release and no UVWS_SANITIZE for real figures" ;;
    esac
fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
[ -n "$OUT" ] || OUT="$RESULTS/$STAMP.json"
JSONL="$TMP/runs.jsonl"
: >"$JSONL"
MSGFLAG=--binary; [ "$TEXT" = 1 ] && MSGFLAG=--text
nruns=$(( ${#AVAILABLE[@]} * ${#SCEN_LIST[@]} ))
log "== ${#AVAILABLE[@]} servers x ${#SCEN_LIST[@]} scenarios = $nruns runs, ${WARMUP}s warm-up + ${DURATION}s each"
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN { exit !(l > 0.5) }' && log "note: load average is $load before starting: other work on this machine will add noise (see the 'other' column)"

NOISY=0.15
# other_util JSONLINE -> the run's other_cpu_util (9 if unknown/failed)
other_util() {
    local v
    v=$(sed -n 's/.*"other_cpu_util":\(-\{0,1\}[0-9.]*\).*/\1/p' <<<"$1")
    echo "${v:-9}"
}

# run_one SCEN SERVER CONNS SIZE PIPELINE -> LINE (one JSON line)
run_one() {
    local scen=$1 srv=$2 conns=$3 size=$4 pipe=$5 rc alive res note lim
    server_def "$srv"
    log "-- $scen  $srv"
    if ! start_server "$srv"; then
        LINE=$(printf '{"scenario":"%s","server":"%s","rc":-1,"note":"server did not start","result":null}' "$scen" "$srv")
        return
    fi
    local lg=("$LOADGEN" --url "ws://127.0.0.1:$SPORT/" -c "$conns" -s "$size" --pipeline "$pipe"
        -d "$DURATION" --warmup "$WARMUP" "$MSGFLAG" --json --cpu-pid "$SPID" --label "$srv" "${LGX[@]}")
    [ "$PIN" = same ] && lg=(taskset -c 0 "${lg[@]}")
    [ "$PIN" = split ] && lg=(taskset -c 1 "${lg[@]}")
    lim=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 60 }')
    timeout -k 5 "$lim" "${lg[@]}" >"$TMP/lg.out" 2>"$TMP/lg.err"
    rc=$?
    alive=1; kill -0 "$SPID" 2>/dev/null || alive=0
    stop_server
    res=$(grep -m1 '^{' "$TMP/lg.out")
    [ -n "$res" ] || res=null
    note=""
    [ "$alive" = 0 ] && note="server died"
    if [ "$rc" != 0 ]; then
        log "  loadgen exit $rc; stderr:"; head -n 8 "$TMP/lg.err" >&2
        [ "$alive" = 0 ] && { log "  server stderr:"; tail -n 5 "$TMP/srv.err" >&2; }
    fi
    LINE=$(printf '{"scenario":"%s","server":"%s","rc":%d,"note":"%s","result":%s}' "$scen" "$srv" "$rc" "$note" "$res")
}

FAILED=0
for scen in "${SCEN_LIST[@]}"; do
    conns=${scen%%x*}; rest=${scen#*x}; pipe=1
    size=${rest%%[:p]*}
    [[ "$rest" == *p* ]] && pipe=${rest##*p}
    for srv in "${AVAILABLE[@]}"; do
        best=""; best_other=""
        for attempt in $(seq 0 "$RETRIES"); do
            run_one "$scen" "$srv" "$conns" "$size" "$pipe"
            case "$LINE" in *'"rc":0,'*) ;; *) best=$LINE; break ;; esac # never hide a failure
            other=$(other_util "$LINE")
            if [ -z "$best" ] || awk -v a="$other" -v b="$best_other" 'BEGIN { exit !(a < b) }'; then
                best=$LINE; best_other=$other
            fi
            awk -v o="$other" -v t="$NOISY" 'BEGIN { exit !(o > t) }' || break
            [ $((SECONDS)) -lt "$BUDGET" ] || break
            [ "$attempt" -lt "$RETRIES" ] && log "  other processes used $(awk -v o="$other" 'BEGIN{printf "%.0f", o*100}') % of a core: running it again"
        done
        printf '%s\n' "$best" >>"$JSONL"
        rc=$(sed -n 's/^{"scenario":"[^"]*","server":"[^"]*","rc":\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$best")
        [ "$rc" = 0 ] || FAILED=1
    done
    python3 "$ROOT/bench/report.py" table "$JSONL" "$scen"
done

python3 "$ROOT/bench/report.py" save "$JSONL" "$OUT" \
    --meta "duration=$DURATION" "warmup=$WARMUP" "pin=$PIN" "text=$TEXT" "servers=$SERVERS" "scenarios=$SCENARIOS" "uvws_bin=$UVWS_BIN" "uvws_build=$UVWS_BUILD" \
    "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
log "results: $OUT"
exit $FAILED

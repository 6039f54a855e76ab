#!/usr/bin/env bash
# The demo: installs what is missing, builds what it needs, then runs a small
# system of three services that exchange JSON requests and replies over wss://
# (a test CA made on the fly, subprotocol "jobs.v1" checked on both ends):
#
#   client (C, uvws.h) --wss--> gateway (Node, uvws) --wss--> worker (Python, uvws asyncio)
#     examples/demo/client.c    examples/demo/gateway.js     examples/demo/worker.py
#
# The client sends 600 requests at 40/s (with a quiet pause halfway, where
# only heartbeats flow); the gateway forwards each as a job to the worker and
# the reply back. Meanwhile this script breaks things:
#   - it kills the worker (SIGKILL) and restarts it 1.5 s later: the gateway
#     sees its link close (1006), reconnects with backoff and resends the
#     jobs that were in flight;
#   - it freezes the worker (SIGSTOP) for 4 s: the link stays up, so only the
#     gateway's heartbeat notices (no pong within 2 s): it drops the link and
#     reconnects, and gets through once the worker runs again (SIGCONT).
# Every reply must still arrive, with the right result. Each service prints
# a trace prefixed by its name (the first few jobs and every 100th, every
# connection event, some heartbeats) and a summary; this script prints the
# overall result. Ends by itself in about 25 s; exit code 0 on success.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null

# --- build: the C engine and the C client; the Python and Node packages
cmake -S . -B build-demo -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DUVWS_BUILD_TESTS=OFF -DUVWS_BUILD_BENCH=OFF >/dev/null
cmake --build build-demo >/dev/null
# shellcheck disable=SC2046
cc -O2 -Wall -Wextra -Icore/include examples/demo/client.c build-demo/libuvws.a \
  $(pkg-config --libs libuv openssl zlib) -o build-demo/bin/demo_client
.venv/bin/python -c 'import uvws' 2>/dev/null || .venv/bin/python -m pip install -q .
node -e "require('./')" >/dev/null

# --- run
tmp=$(mktemp -d)
restarted=
log=$tmp/demo.log
declare -A pids=()
exec 3>&1 4>&2
exec > >(tee "$log") 2>&1 # the trace: on the terminal and in $log (readiness lines)
tee_pid=$!
cleanup() {
  local status=$?
  for name in "${!pids[@]}"; do
    kill -CONT "${pids[$name]}" 2>/dev/null || true
    kill -TERM "${pids[$name]}" 2>/dev/null || true
  done
  for name in "${!pids[@]}"; do
    for _ in $(seq 30); do kill -0 "${pids[$name]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pids[$name]}" 2>/dev/null || true
  done
  exec 1>&3 2>&4 3>&- 4>&-
  wait "$tee_pid" 2>/dev/null || true
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "[demo] $*"; }
fail() { say "FAIL: $*"; exit 1; }
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
# wait_for NAME PATTERN COUNT SECONDS: until $log has COUNT lines matching
# PATTERN, as long as service NAME runs.
wait_for() {
  local deadline=$((SECONDS + $4))
  while (($(grep -c -- "$2" "$log" || true) < $3)); do
    kill -0 "${pids[$1]}" 2>/dev/null || fail "$1 exited before printing '$2'"
    ((SECONDS < deadline)) || fail "$1 did not print '$2' within $4 s"
    sleep 0.05
  done
}
port_of() { grep -- "^\[$1\] listening on" "$log" | tail -1 | awk '{print $4}'; }
running() { kill -0 "${pids[client]}" 2>/dev/null; }
# sleep_until T: until T seconds after the client started (or it ended).
sleep_until() {
  while running && awk -v t="$1" -v a="$tc" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a < t) }'; do
    sleep 0.1
  done
}

# DEMO_FAULT breaks one thing on purpose, to see the demo fail (exit 1):
#   tls          the client trusts another CA than the one that signed the
#                gateway's certificate: its TLS handshakes fail
#   subprotocol  the client offers "jobs.v2": the gateway refuses it (HTTP 400)
#   lost-reply   the worker never answers job 250: the gateway fails it after
#                its job timeout (10 s) and the client gets an error reply
client_ca=ca.pem client_protocol=jobs.v1 worker_fault=()
case "${DEMO_FAULT:-}" in
  "") ;;
  tls) client_ca=otherca.pem ;;
  subprotocol) client_protocol=jobs.v2 ;;
  lost-reply) worker_fault=(--drop-job 250) ;;
  *) fail "unknown DEMO_FAULT '$DEMO_FAULT' (tls, subprotocol, lost-reply)" ;;
esac
[ -z "${DEMO_FAULT:-}" ] || say "*** DEMO_FAULT=$DEMO_FAULT: this run must FAIL"

say "making a test CA and a server certificate for localhost/127.0.0.1 (tests/tls/make_certs.sh)"
tests/tls/make_certs.sh "$tmp/pki" >/dev/null
pki=$tmp/pki

start_worker() { # [port]
  .venv/bin/python examples/demo/worker.py --port "${1:-0}" --tls-cert "$pki/server.pem" \
    --tls-key "$pki/server.key" --ping-interval 0.5 --ping-timeout 2 "${worker_fault[@]}" &
  pids[worker]=$!
}
start_worker 0
wait_for worker '^\[worker\] listening on' 1 30
wport=$(port_of worker)

node examples/demo/gateway.js --port 0 --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" \
  --ca "$pki/ca.pem" --worker "wss://localhost:$wport/jobs" --heartbeat-ms 1000 --pong-timeout-ms 2000 \
  --job-timeout-ms 10000 &
pids[gateway]=$!
wait_for gateway '^\[gateway\] listening on' 1 30
wait_for gateway '^\[gateway\] worker link up' 1 15
gport=$(port_of gateway)

timeout 120 build-demo/bin/demo_client --ca "$pki/$client_ca" --protocol "$client_protocol" --jobs 600 --rate 40 --quiet-ms 3000 \
  --ping-ms 1000 --drain-ms 25000 "wss://localhost:$gport/jobs" &
pids[client]=$!
tc=$(date +%s.%N)

# Chaos, on a schedule relative to the client's start (it sends for ~18 s).
sleep_until 3
if running; then
  say "*** killing the worker (SIGKILL, pid ${pids[worker]}) mid-run; restarting it in 1.5 s on the same port $wport"
  kill -KILL "${pids[worker]}"
  wait "${pids[worker]}" 2>/dev/null || true
  sleep 1.5
  start_worker "$wport"
  restarted=1
  wait_for worker '^\[worker\] listening on' 2 30
fi
sleep_until 12.5
if running; then
  say "*** freezing the worker (SIGSTOP, pid ${pids[worker]}) for 4 s: its connections stay open, only heartbeats can tell"
  kill -STOP "${pids[worker]}"
  sleep 4
  say "*** resuming the worker (SIGCONT)"
  kill -CONT "${pids[worker]}"
fi

set +e
wait "${pids[client]}"
client_rc=$?
unset 'pids[client]'
kill -TERM "${pids[gateway]}"
wait "${pids[gateway]}"
gateway_rc=$?
unset 'pids[gateway]'
kill -TERM "${pids[worker]}"
wait "${pids[worker]}"
worker_rc=$?
unset 'pids[worker]'
set -e

# --- summary
for _ in $(seq 30); do # tee may still be writing the last lines to $log
  grep -q '^\[worker\] summary' "$log" && break
  sleep 0.1
done
reconnects=$(sed -n 's/^\[gateway\] summary (worker link):.*reconnects \([0-9]*\).*/\1/p' "$log")
missed=$(sed -n 's/^\[gateway\] summary (worker link):.* \([0-9]*\) missed.*/\1/p' "$log")
problems=()
((client_rc == 0)) || problems+=("client exited with $client_rc")
((gateway_rc == 0)) || problems+=("gateway exited with $gateway_rc")
((worker_rc == 0)) || problems+=("worker exited with $worker_rc")
if ((client_rc == 0)); then # the whole run happened: so must the recoveries
  ((${reconnects:-0} >= 2)) || problems+=("expected 2 reconnects (kill, freeze), saw ${reconnects:-none}")
  ((${missed:-0} >= 1)) || problems+=("expected the heartbeat to catch the frozen worker, saw ${missed:-no} missed pongs")
fi
say "-----------------------------------------------------------------------"
grep -e '^\[client\] summary' -e '^\[gateway\] summary' -e '^\[worker\] summary' -e '^\[gateway\] latency' "$log" |
  sed 's/^\[\([a-z]*\)\] /\1: /; s/^/[demo] /'
[ -z "$restarted" ] || say "(the worker's summary is its second run's: the first was killed)"
if ((${#problems[@]})); then
  say "summary: FAIL after $(elapsed) s: $(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g')"
  exit 1
fi
say "summary: PASS after $(elapsed) s: every request answered correctly despite a killed and a frozen worker ($reconnects reconnects)"

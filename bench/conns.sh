#!/usr/bin/env bash
# Concurrent connections and memory: starts the C echo server (ws://,
# wss://, and ws:// with permessage-deflate with and without context
# takeover), warms it up, then for each N (default 1000 and 10000) opens N
# connections with bench/conns.c, exchanges a message on all of them, reports
# the server's RSS per idle connection, exchanges again and closes them.
# Usage: bench/conns.sh [N ...]          (e.g. bench/conns.sh 1000 10000)
#        MODES="ws wss" bench/conns.sh 10000
# It fails when the RSS per idle connection is above the bound of its mode
# (max_kib below: the figures docs/limits.md "Memory" and README.md state;
# change them together). NO_BOUNDS=1 only reports.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt 25000 ]; then ulimit -n 65536 2>/dev/null || true; fi
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target echo_server uvws_conns >/dev/null
pki=$(mktemp -d)
trap 'rm -rf "$pki"; kill $srv 2>/dev/null || true' EXIT
tests/tls/make_certs.sh "$pki" >/dev/null
# KiB of server RSS per idle connection, at most. Measured on x86-64 Linux
# with glibc at 10,000 connections: ws 0.35, wss 13.4-13.7, deflate without
# context takeover 0.57; with it 91 at 1,000 connections. The bounds leave
# room for allocator and kernel variation, not for a whole structure more.
max_kib() {
  case $1 in
    ws) echo 0.40 ;;
    wss) echo 15 ;;
    deflate-no-takeover) echo 0.70 ;;
    deflate) echo 110 ;;
  esac
}
status=0
for mode in ${MODES:-ws wss deflate deflate-no-takeover}; do
  scheme=ws
  [ "$mode" = wss ] && scheme=wss
  for n in "${counts[@]}"; do
    log=$(mktemp)
    tlsargs=()
    extra=()
    [ "$scheme" = wss ] && tlsargs=(--tls-cert "$pki/server.pem" --tls-key "$pki/server.key")
    case $mode in deflate*) extra=(--$mode) ;; esac
    build/bin/echo_server --host 127.0.0.1 --port 0 "${tlsargs[@]}" "${extra[@]}" >"$log" 2>&1 &
    srv=$!
    for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
    port=$(awk '/listening on/ {print $3}' "$log")
    host=127.0.0.1
    caargs=()
    [ "$scheme" = wss ] && { host=localhost; caargs=(--ca "$pki/ca.pem"); }
    # Warm-up: the loop's shared buffers and malloc's arenas are touched
    # once, so the figure below is what each further connection costs.
    build/bin/uvws_conns --url "$scheme://$host:$port/" -n 200 --server-pid $srv "${caargs[@]}" "${extra[@]}" >/dev/null || true
    echo "== $mode ($scheme://) $n connections"
    bound=()
    [ -n "${NO_BOUNDS:-}" ] || bound=(--max-kib "$(max_kib "$mode")")
    build/bin/uvws_conns --url "$scheme://$host:$port/" -n "$n" --server-pid $srv "${caargs[@]}" "${extra[@]}" "${bound[@]}" || status=1
    kill $srv; wait $srv 2>/dev/null || true
    rm -f "$log"
  done
done
exit $status

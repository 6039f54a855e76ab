#!/usr/bin/env bash
# Concurrent connections and memory: starts the C echo server (ws://,
# wss://, and ws:// with permessage-deflate with and without context
# takeover), warms it up, then for each N (default 1000 and 10000) opens N
# connections with bench/conns.c, exchanges a message on all of them, reports
# the server's RSS per idle connection, exchanges again and closes them.
# Fails (exit 1) on any connection error, and when the RSS per idle
# connection of a mode exceeds its bound in bench/results.json
# (runs.conns.bound_kib_per_idle_connection, the bound README.md states).
# Usage: bench/conns.sh [N ...]          (e.g. bench/conns.sh 1000 10000)
#        MODES="ws wss" bench/conns.sh 10000
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
    out=$(mktemp)
    build/bin/uvws_conns --url "$scheme://$host:$port/" -n "$n" --server-pid $srv "${caargs[@]}" "${extra[@]}" | tee "$out" || status=1
    per=$(awk '/^server rss/ {print $(NF-3)}' "$out")
    rm -f "$out"
    bound=$(python3 -c 'import json, sys; print(json.load(open("bench/results.json"))["runs"]["conns"]["bound_kib_per_idle_connection"][sys.argv[1]])' "$mode")
    if [ -z "$per" ]; then
      echo "conns.sh: $mode: no RSS figure from uvws_conns" >&2
      status=1
    elif awk -v p="$per" -v b="$bound" 'BEGIN { exit !(p > b) }'; then
      echo "conns.sh: $mode, $n connections: $per KiB per idle connection, above the bound of $bound KiB (bench/results.json)" >&2
      status=1
    else
      echo "bound         $per <= $bound KiB per idle connection"
    fi
    kill $srv; wait $srv 2>/dev/null || true
    rm -f "$log"
  done
done
exit $status

#!/usr/bin/env bash
# bench/node.sh - the Node package's echo server (examples/node/echo_server.js,
# "uvws-node") against npm ws (+ bufferutil, bench/peers/ws_echo.js), with the
# project's load generator, at 1 and 100 connections, 16 B and 64 KiB:
# messages/s, p99 latency, server CPU per message. Then checks the targets of
# the Node package at 100 connections x 16 B:
#   CPU/msg <= 0.55x ws's, msgs/s >= 1.7x ws's, and a lower p99.
#
#   bench/node.sh [--duration S] [--rounds N] [any other bench/run.sh option]
#
# Each scenario is measured --rounds times (default 3, servers alternating)
# and the median is taken, because this machine is shared. Exit status 0 when
# the targets are met, 1 when not, 2 when a run failed.
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=3
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
    esac
done
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 10 ] || { echo "node.sh: --rounds must be 1..10" >&2; exit 2; }

[ -f "$ROOT/node/build/uvws.node" ] || (cd "$ROOT" && node node/build.js --quiet) || exit 2

OUTS=()
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$ROOT/bench/results"
for r in $(seq 1 "$ROUNDS"); do
    out="$ROOT/bench/results/node-$STAMP-r$r.json"
    "$ROOT/bench/run.sh" --servers uvws-node,ws --scenarios 1x16,100x16,1x64k,100x64k \
        --retries 0 --out "$out" "${ARGS[@]}" || exit 2
    OUTS+=("$out")
done

python3 - "${OUTS[@]}" <<'PY'
import json, statistics, sys

runs = {}
for path in sys.argv[1:]:
    for run in json.load(open(path))["runs"]:
        res = run.get("result") or {}
        if run.get("rc") != 0 or not res or res.get("errors", {}).get("total", 1) != 0:
            print(f"run failed: {run.get('scenario')} {run.get('server')}: {run.get('note')}")
            sys.exit(2)
        runs.setdefault((run["scenario"], run["server"]), []).append(res)

def med(xs):
    return statistics.median(xs)

print(f"\nmedians of {len(sys.argv) - 1} round(s):")
print(f"{'scenario':9} {'server':10} {'msg/s':>10} {'p99 us':>9} {'CPU us/msg':>11} {'other%':>7}")
summary = {}
for scen in ["1x16", "100x16", "1x64k", "100x64k"]:
    for srv in ["uvws-node", "ws"]:
        rs = runs.get((scen, srv))
        if not rs:
            continue
        m = dict(
            mps=med([r["msgs_per_s"] for r in rs]),
            p99=med([r["latency_us"]["p99"] for r in rs]),
            cpu=med([r["server_cpu_us_per_msg"] for r in rs]),
            other=med([r["other_cpu_util"] for r in rs]) * 100,
        )
        summary[(scen, srv)] = m
        print(f"{scen:9} {srv:10} {m['mps']:>10,.0f} {m['p99']:>9,.1f} {m['cpu']:>11.2f} {m['other']:>6.0f}%")
    if (scen, "uvws-node") in summary and (scen, "ws") in summary:
        u, w = summary[(scen, "uvws-node")], summary[(scen, "ws")]
        print(f"{'':9} {'ratio':10} {u['mps'] / w['mps']:>9.2f}x {u['p99'] / w['p99']:>8.2f}x {u['cpu'] / w['cpu']:>10.2f}x")

u, w = summary[("100x16", "uvws-node")], summary[("100x16", "ws")]
checks = [
    ("CPU/msg <= 0.55x ws", u["cpu"] <= 0.55 * w["cpu"], f"{u['cpu'] / w['cpu']:.2f}x"),
    ("msgs/s >= 1.7x ws", u["mps"] >= 1.7 * w["mps"], f"{u['mps'] / w['mps']:.2f}x"),
    ("p99 lower than ws", u["p99"] < w["p99"], f"{u['p99']:.0f} vs {w['p99']:.0f} us"),
]
print("\ntargets at 100 connections x 16 B:")
for name, ok, val in checks:
    print(f"  {'ok  ' if ok else 'MISS'} {name}: {val}")
sys.exit(0 if all(ok for _, ok, _ in checks) else 1)
PY

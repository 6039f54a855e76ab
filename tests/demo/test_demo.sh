#!/usr/bin/env bash
# Runs the demo (scripts/demo.sh) and checks that it passes: exit code 0, the
# "[demo] summary: PASS" line, the gateway's latency percentiles, a trace of
# bounded length, and no service process left behind. Then runs it with each
# fault of DEMO_FAULTS (default: tls subprotocol lost-reply; "" for none)
# injected and checks that it fails (exit code 1, "[demo] summary: FAIL" or
# "[demo] FAIL:"), also without leftovers.
set -uo pipefail
cd "$(dirname "$0")/../.."
TIMEOUT=${DEMO_TIMEOUT:-600} # setup and build included
faults=${DEMO_FAULTS-tls subprotocol lost-reply}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
bad() { echo "test_demo: FAIL: $*"; status=1; }

leftovers() { # the pids the services printed must all be gone
  local pid
  for pid in $(sed -n 's/^\[[a-z]*\] listening on [0-9]* (pid \([0-9]*\).*/\1/p' "$out"); do
    if kill -0 "$pid" 2>/dev/null; then bad "$1: service pid $pid still runs after the demo"; fi
  done
}

echo "test_demo: ./scripts/demo.sh"
start=$SECONDS
timeout "$TIMEOUT" ./scripts/demo.sh >"$out" 2>&1
rc=$?
cat "$out"
echo "test_demo: exit code $rc after $((SECONDS - start)) s"
((rc == 0)) || bad "the demo exited with $rc"
grep -q '^\[demo\] summary: PASS' "$out" || bad "no '[demo] summary: PASS' line"
grep -Eq '^\[gateway\] latency .*all 600 jobs: p50 [0-9.]+ ms, p90 [0-9.]+ ms, p99 [0-9.]+ ms' "$out" ||
  bad "no latency percentiles from the gateway"
grep -q '^\[client\] summary: sent 600 requests, received 600 replies (600 correct' "$out" || bad "the client's summary is not all-correct"
lines=$(wc -l <"$out")
((lines < 400)) || bad "the trace has $lines lines (should be concise)"
leftovers "demo"

for fault in $faults; do
  echo
  echo "test_demo: DEMO_FAULT=$fault ./scripts/demo.sh (must fail)"
  start=$SECONDS
  DEMO_FAULT=$fault timeout "$TIMEOUT" ./scripts/demo.sh >"$out" 2>&1
  rc=$?
  grep -e '^\[demo\]' -e 'FAIL' -e 'error' "$out" | grep -v '^\[demo\] \(client\|gateway\|worker\):' | tail -8
  echo "test_demo: exit code $rc after $((SECONDS - start)) s"
  ((rc == 1)) || bad "DEMO_FAULT=$fault: exit code $rc, expected 1"
  grep -Eq '^\[demo\] (summary: FAIL|FAIL:)' "$out" || bad "DEMO_FAULT=$fault: no FAIL line"
  case $fault in # and for the expected reason
    tls) symptom='^\[client\] .*certificate verify failed' ;;
    subprotocol) symptom='^\[gateway\] refused a client .* offering "jobs.v2" (HTTP 400' ;;
    lost-reply) symptom='^\[gateway\] job 250 .* unanswered after' ;;
    *) symptom='.' ;;
  esac
  grep -q -- "$symptom" "$out" || bad "DEMO_FAULT=$fault: no line matching '$symptom'"
  leftovers "DEMO_FAULT=$fault"
done

((status == 0)) && echo "test_demo: ok"
exit $status

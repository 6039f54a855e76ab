#!/usr/bin/env bash
# Runs each libFuzzer target (frames, request, response, inflate: the receive
# path with permessage-deflate, extensions: its negotiation) for SECONDS
# (default 60) from the committed seed
# corpus (copied, so the repository is not written to). A crash fails the
# run and leaves the reproducer in $FUZZ_OUT (default build-fuzz/findings).
# Usage: tests/fuzz/run.sh [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
CC=clang cmake -S . -B build-fuzz -G Ninja -DUVWS_FUZZ=ON -DUVWS_BUILD_TESTS=OFF \
  -DUVWS_BUILD_EXAMPLES=OFF -DUVWS_BUILD_BENCH=OFF -DUVWS_BUILD_SHARED=OFF >/dev/null || exit 1
cmake --build build-fuzz >/dev/null || exit 1
out=${FUZZ_OUT:-build-fuzz/findings}
mkdir -p "$out"
status=0
for t in frames request response inflate extensions topics; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/$t/* "$work/"
  echo "fuzz_$t: ${secs}s"
  if ! build-fuzz/bin/fuzz_$t -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$out/${t}-" -print_final_stats=1 "$work" >"$out/$t.log" 2>&1; then
    echo "fuzz_$t: FAILED (see $out/$t.log and the artifact in $out)"
    tail -30 "$out/$t.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$out/$t.log" | tail -2
  fi
  rm -rf "$work"
done
exit $status

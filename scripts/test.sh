#!/usr/bin/env bash
# Runs every test of the project: installs what is missing (scripts/setup.sh),
# builds the C engine, runs the C tests (plain, then under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the end-to-end ones under valgrind), the
# install test, the conformance runs, the Python and Node packages' tests (also
# with the extension and the addon built with AddressSanitizer, tests/sanitize), the
# demo (tests/demo: it must pass, and fail when a fault is injected), the
# hostile peers (ping floods, tests/hostile), the interop matrix (every
# client against every server, tests/matrix), the uvws
# command-line tools (tests/cli) and the README's quick starts and the API
# pages (tests/readme).
# Exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}

./scripts/setup.sh || exit 1

# setup.sh installed everything the tests use: from here on a test that skips
# because something is missing fails instead (tests/pytest_require_all.py,
# tests/node/helpers.js), unless its reason is a documented platform limit.
export UVWS_TEST_REQUIRE_ALL=1

failed=()
passed=()
section() { echo; echo "=== $1"; }
record() { # name, status
  if [ "$2" -eq 0 ]; then passed+=("$1"); else failed+=("$1"); echo "*** $1 FAILED"; fi
}

section "C engine: build (RelWithDebInfo) and ctest"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
  cmake --build build -j "$JOBS" &&
  (cd build && ctest --output-on-failure -j "$JOBS")
record "ctest" $?

section "C engine: AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DUVWS_SANITIZE=address,undefined \
  -DUVWS_BUILD_BENCH=OFF >/dev/null &&
  cmake --build build-asan -j "$JOBS" &&
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j "$JOBS")
record "ctest-asan" $?

section "C engine: soak, ${SOAK_SECONDS:-300} s of mixed traffic under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 build-asan/bin/soak "${SOAK_SECONDS:-300}" 40
record "soak" $?

section "C engine: every end-to-end test (ctest label e2e) under valgrind; a missing binary fails"
tests/c/valgrind_e2e.sh build
record "valgrind" $?

section "Docs: the C API reference matches the header"
python3 docs/gen_c_api.py --check
record "docs" $?

section "C engine: install, then build a program with pkg-config and with find_package"
./tests/install/run.sh
record "install" $?

section "Conformance runner self-check (against npm ws and PyPI websockets, and deliberately broken peers)"
.venv/bin/python -m pytest -q tests/conformance
record "conformance-selftest" $?

section "Conformance (Autobahn groups 1-7, 9 short, 10, 12, 13): C echo server and C client, ws:// and wss://"
tests/conformance/run_c.sh build
record "conformance-c" $?

section "Load: 10,000 concurrent connections (ws://, wss://, compressed), server RSS per idle connection"
MODES="ws wss deflate-no-takeover" bench/conns.sh 10000 && MODES=deflate bench/conns.sh 1000
record "load-10k" $?

section "Fuzzing: libFuzzer, 60 s per target (frames, upgrade request, upgrade response, inflate, deflate negotiation)"
tests/fuzz/run.sh "${FUZZ_SECONDS:-60}"
record "fuzz" $?

if [ -f pyproject.toml ] && [ -d tests/python ]; then
  section "Python package: build and pytest"
  .venv/bin/python -m pip install -q . && .venv/bin/python -m pytest -q tests/python
  record "python" $?

  section "Python package under AddressSanitizer + LeakSanitizer (tests/python; extension and engine built with ASan)"
  tests/sanitize/python.sh
  record "python-asan" $?

  section "Python package: sdist and wheel (python -m build), the wheel in a fresh venv"
  ./scripts/test-python.sh --build-only
  record "python-wheel" $?
fi

if [ -d tests/node ] && [ -d node ]; then
  section "Node package: build and node --test"
  npm test
  record "node" $?

  section "Node addon under AddressSanitizer + LeakSanitizer (leak, interop, compat and uvws tests; addon and engine built with ASan)"
  tests/sanitize/node.sh
  record "node-asan" $?
fi

if [ -x tests/demo/test_demo.sh ]; then
  section "Demo: scripts/demo.sh (C client, Node gateway, Python worker over wss://), then with faults injected"
  tests/demo/test_demo.sh
  record "demo" $?
fi

if [ -d tests/hostile ]; then
  section "Hostile peers: ping floods (raw sockets) against the C, Python and Node echo servers and clients"
  .venv/bin/python -m pytest -q tests/hostile
  record "hostile" $?
fi

if [ -f tests/matrix/run.py ]; then
  section "Interop matrix: C, Python and Node clients x C, Python and Node servers, ws:// and wss://"
  .venv/bin/python tests/matrix/run.py
  record "matrix" $?
fi

if [ -d tests/cli ]; then
  section "Command-line tool: uvws connect | uvws listen, Python and Node tools in every pairing, ws:// and wss://"
  .venv/bin/python -m pytest -q tests/cli
  record "cli" $?
fi

if [ -d tests/readme ]; then
  section "README quick starts (the C, Python and Node programs run as written) and the API pages against the code"
  .venv/bin/python -m pytest -q tests/readme
  record "readme" $?
fi

echo
echo "=== summary"
for p in "${passed[@]}"; do echo "ok    $p"; done
for f in "${failed[@]}"; do echo "FAIL  $f"; done
echo "sections: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]

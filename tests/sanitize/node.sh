#!/usr/bin/env bash
# Node tests with the addon built with AddressSanitizer, so that a native leak
# or memory error in node/src or core/ fails them:
#   * the addon (engine included) is built with UVWS_SANITIZE=address into
#     build-nodeasan/ (node/build stays as it is) and loaded from there
#     (UVWS_ADDON_PATH);
#   * node runs with libasan preloaded; at exit LeakSanitizer reports every
#     malloc block nothing points to, except those of
#     tests/sanitize/lsan-node.supp (V8's heap bookkeeping and Node's own
#     records), and then the exit status is non-zero.
# The addon frees its native objects when their JS objects are collected or
# at environment teardown, so the tests end with everything closed.
# Usage: tests/sanitize/node.sh [TEST_FILES...]
# Default: the leak test (server and client, messages of every size, wss://,
# permessage-deflate, every close path, through garbage collections), the
# interop tests against ws (16 MiB messages, ping/pong, close paths,
# backpressure, wss://), the ws-compatibility tests and the uvws-specific
# ones (worker threads terminated with connections open, listener
# exceptions, slab buffers across collections); their child processes run
# with ASan too. Not the browser test (Chromium would inherit the preloaded
# libasan) nor the package and types tests (npm pack, tsc: no connections).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=$ROOT/build-nodeasan

UVWS_SANITIZE=address UVWS_NODE_BUILD_DIR="$B" node node/build.js --debug --quiet
asan=$(${CC:-gcc} -print-file-name=libasan.so)
[ -f "$asan" ] || { echo "node.sh: libasan.so not found ($asan)" >&2; exit 1; }
# The addon must be the ASan build.
nm -D "$B/uvws.node" | grep __asan_init >/dev/null || { echo "node.sh: $B/uvws.node is not built with ASan" >&2; exit 1; }

[ $# -gt 0 ] || set -- tests/node/leak.test.js tests/node/interop.test.js tests/node/compat.test.js tests/node/uvws.test.js
export UVWS_ADDON_PATH=$B/uvws.node UVWS_NO_LAZY_BUILD=1 UVWS_TEST_ASAN=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export LSAN_OPTIONS=suppressions=$ROOT/tests/sanitize/lsan-node.supp:print_suppressions=1
# Each test file runs in its own node process (node --test), all with ASan.
LD_PRELOAD="$asan" node --test "$@"

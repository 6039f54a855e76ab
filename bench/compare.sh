#!/usr/bin/env bash
# bench/compare.sh REV [run.sh options...]
#
# The C echo server built from git revision REV against the one of this
# tree, side by side in one run.sh run (servers "uvws-base" and "uvws"), so
# that a change's cost is a ratio measured under the same load. REV is built
# in a temporary worktree outside the repository, removed afterwards.
#
#   bench/compare.sh HEAD~3 --scenarios 100x16,1000x16,10x64k --pin same --duration 3
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
rev=${1:?usage: bench/compare.sh REV [run.sh options]}
shift
tmp=$(mktemp -d)
trap 'git -C "$ROOT" worktree remove --force "$tmp/src" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add -q --detach "$tmp/src" "$rev"
cmake -S "$tmp/src" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUVWS_BUILD_BENCH=OFF >/dev/null
cmake --build "$tmp/build" --target echo_server >/dev/null
cmake --build build --target echo_server >/dev/null
bench/run.sh --servers uvws-base,uvws --base-bin "$tmp/build/bin/echo_server" "$@"

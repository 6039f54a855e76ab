#!/usr/bin/env bash
# Runs every end-to-end C test (every ctest test labelled e2e in tests/c/e2e.cmake,
# with the arguments and working directory ctest gives it) under valgrind's
# memcheck: any memory error or leak fails it. The list comes from ctest, so a
# test added to the e2e list is covered without editing this script; a test whose
# binary is missing is a failure, not a skip.
# Usage: tests/c/valgrind_e2e.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
B=$(cd "${1:-build}" && pwd) || { echo "valgrind_e2e: no build directory ${1:-build}" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind_e2e: valgrind is not installed" >&2; exit 1; }

# one line per test: name<TAB>working directory<TAB>command (NUL-free, space-separated)
list=$(ctest --test-dir "$B" -L e2e --show-only=json-v1 | python3 -c '
import json, shlex, sys
for t in json.load(sys.stdin)["tests"]:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    cmd = t.get("command")
    print("%s\t%s\t%s" % (t["name"], props.get("WORKING_DIRECTORY", "."),
                          shlex.join(cmd) if cmd else ""))
') || { echo "valgrind_e2e: ctest could not list the e2e tests" >&2; exit 1; }
[ -n "$list" ] || { echo "valgrind_e2e: ctest lists no e2e test in $B" >&2; exit 1; }

status=0
while IFS=$'\t' read -r name wd cmd; do
  eval "argv=($cmd)"
  if [ ${#argv[@]} -eq 0 ] || [ ! -x "${argv[0]}" ]; then
    echo "*** valgrind_e2e: $name: its binary ${argv[0]:-(ctest found none)} is missing (build it first)" >&2
    status=1
    continue
  fi
  echo "--- valgrind $name: ${argv[*]}"
  start=$SECONDS
  (cd "$wd" && timeout 900 valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
    --error-exitcode=9 -q "${argv[@]}") || { echo "*** valgrind_e2e: $name FAILED" >&2; status=1; }
  echo "    $name: $((SECONDS - start)) s"
done <<<"$list"
exit $status

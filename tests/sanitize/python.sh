#!/usr/bin/env bash
# The Python tests with the extension built with AddressSanitizer, so that a
# native leak or memory error in python/src or core/ fails them:
#   * the extension (engine included) is built with -fsanitize=address in
#     build-pyasan/ and laid out with the package's Python files in
#     build-pyasan/pkg/, which goes first on PYTHONPATH (the installed
#     package is not used);
#   * the interpreter runs with libasan preloaded and PYTHONMALLOC=malloc, so
#     every Python object is a malloc block that LeakSanitizer tracks: an
#     object whose reference the binding forgets to drop is a leak too;
#   * at exit LeakSanitizer reports every block nothing points to, except
#     those of tests/sanitize/lsan-python.supp (the interpreter's own), and
#     then the exit status is non-zero.
# Usage: tests/sanitize/python.sh [PYTEST_ARGS...]   (default: tests/python)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PYTHON_BIN:-$ROOT/.venv/bin/python}
B=build-pyasan

cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DUVWS_SANITIZE=address \
  -DUVWS_BUILD_PYTHON=ON -DUVWS_STATIC_LIBUV=ON -DUVWS_BUILD_SHARED=OFF \
  -DUVWS_BUILD_TESTS=OFF -DUVWS_BUILD_EXAMPLES=OFF -DUVWS_BUILD_BENCH=OFF \
  -DPython_EXECUTABLE="$PY" >/dev/null
cmake --build "$B" -j "${JOBS:-2}" >/dev/null
rm -rf "$B/pkg"
mkdir -p "$B/pkg"
cp -r python/uvws "$B/pkg/"
cp "$B"/python/_uvws*.so "$B/pkg/uvws/"

asan=$(${CC:-gcc} -print-file-name=libasan.so)
[ -f "$asan" ] || { echo "python.sh: libasan.so not found ($asan)" >&2; exit 1; }
# The package must come from the ASan build, not from site-packages.
got=$(PYTHONPATH="$B/pkg" LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0 "$PY" -c 'import uvws; print(uvws.__file__)')
[ "$got" = "$ROOT/$B/pkg/uvws/__init__.py" ] || { echo "python.sh: imported $got" >&2; exit 1; }

[ $# -gt 0 ] || set -- tests/python
export UVWS_TEST_ASAN=1 PYTHONPATH="$ROOT/$B/pkg" PYTHONMALLOC=malloc
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export LSAN_OPTIONS=suppressions=$ROOT/tests/sanitize/lsan-python.supp:print_suppressions=1
LD_PRELOAD="$asan" "$PY" -m pytest -q -p no:cacheprovider "$@"

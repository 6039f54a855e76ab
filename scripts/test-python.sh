#!/usr/bin/env bash
# The Python package from a fresh clone of HEAD, in a temporary directory:
#   1. `pip install .` into a new venv, then pytest over tests/python;
#   2. `python -m build` (sdist, then a wheel built from that sdist), the
#      wheel installed into another new venv (no build tools, no source tree
#      on sys.path), and a smoke test of the installed wheel.
# Usage: scripts/test-python.sh [--build-only | PYTEST_ARGS...]   (PYTHON=python3.x to choose)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/src"
cd "$work/src"
reqs=(-r requirements-dev.txt)
[ -f requirements-bench.txt ] && reqs+=(-r requirements-bench.txt)

"$PY" -m venv "$work/venv"
if [ "${1:-}" = "--build-only" ]; then
  # Step 1 already ran elsewhere (scripts/test.sh): only build and install.
  shift
else
  echo "=== 1. pip install . from the fresh clone, then pytest"
  "$work/venv/bin/python" -m pip install -q "${reqs[@]}"
  "$work/venv/bin/python" -m pip install -q .
  "$work/venv/bin/python" -m pytest -q tests/python "$@"
fi

echo "=== 2. python -m build (sdist + wheel), wheel into a fresh venv"
"$work/venv/bin/python" -m pip install -q build
"$work/venv/bin/python" -m build -q --outdir "$work/dist" . >/dev/null
ls -l "$work/dist"
tar tzf "$work"/dist/uvws-*.tar.gz | grep -c . | sed 's/^/sdist files: /'
"$PY" -m venv "$work/venv2"
"$work/venv2/bin/python" -m pip install -q "$work"/dist/uvws-*.whl
cd "$work"   # not the source tree
"$work/venv2/bin/python" - <<'PYEOF'
import asyncio, uvws, uvws._uvws as ext
print("installed:", uvws.__file__, ext.__file__, "engine", uvws.engine_version())
async def echo(ws):
    async for m in ws:
        await ws.send(m)
async def main():
    async with uvws.serve(echo, "127.0.0.1", 0) as server:
        async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
            for m in ("wheel", b"\x00" * 100000):
                await ws.send(m)
                assert await ws.recv() == m
asyncio.run(asyncio.wait_for(main(), 20))
print("wheel smoke test: ok")
PYEOF
# the module must not need the system libuv
if ldd "$work"/venv2/lib/python*/site-packages/uvws/_uvws*.so | grep -q libuv; then
  echo "the extension links libuv dynamically" >&2
  exit 1
fi
echo "test-python: ok"

"""Shared helpers for the uvws Python tests.

The tests import the *installed* package (``pip install .``); set
``UVWS_TEST_SOURCE=1`` to put ``python/`` first on sys.path instead (for a
development build whose extension is linked into ``python/uvws``).
"""

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "python"

if os.environ.get("UVWS_TEST_SOURCE"):
    sys.path.insert(0, str(ROOT / "python"))

import uvws  # noqa: E402

# A skip inside the test command is a failure (tests/pytest_require_all.py).
sys.path.append(str(ROOT / "tests"))
from pytest_require_all import pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402,F401


def arun(coro, timeout=30.0):
    """Run a coroutine on a fresh asyncio loop, bounded."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def run_bounded(timeout=20.0):
    """uvws.run(), but stop (and fail) after `timeout` seconds."""
    fired = []

    def fire():
        fired.append(True)
        uvws.stop()

    t = threading.Timer(timeout, fire)
    t.start()
    try:
        uvws.run(handle_signals=False)
    finally:
        t.cancel()
    assert not fired, f"uvws.run() did not finish within {timeout}s"


def wait_for(pred, timeout=10.0, interval=0.005):
    """Coroutine: poll `pred` until true (bounded)."""

    async def _w():
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not pred():
            if loop.time() > end:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(interval)

    return _w()


def example_env():
    env = dict(os.environ)
    if os.environ.get("UVWS_TEST_SOURCE"):
        env["PYTHONPATH"] = str(ROOT / "python") + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def example_server():
    """Start an example server script with --port 0; yields (proc, port)."""
    procs = []

    def start(name, *args):
        p = subprocess.Popen(
            [sys.executable, str(EXAMPLES / name), "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=example_env(),
        )
        procs.append(p)
        line = p.stdout.readline()
        assert line.startswith("listening on "), (line, p.stderr.read() if p.poll() is not None else "")
        return p, int(line.split()[-1])

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(5)
        for f in (p.stdout, p.stderr):
            f.close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed certificate for localhost / 127.0.0.1 (made with the
    openssl command line tool); skips the test if it is missing."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl command not available")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def engine_has_tls(tls_files):
    cert, key = tls_files
    try:
        s = uvws.Server(port=0, host="127.0.0.1", tls=uvws.TLSOptions(certfile=cert, keyfile=key))
    except uvws.NotSupportedError:
        return False
    s.close()
    return True

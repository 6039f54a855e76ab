"""Shared helpers for the uvws Python tests.

The tests import the *installed* package (``pip install .``); set
``UVWS_TEST_SOURCE=1`` to put ``python/`` first on sys.path instead (for a
development build whose extension is linked into ``python/uvws``).
"""

import asyncio
import logging
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


class _CallbackErrors(logging.Handler):
    """Exceptions raised by listeners and handlers fail the test, at once.

    The package reports an exception raised in a callback (a listener of the
    callback API, an asyncio connection handler, process_request) by logging
    it on the "uvws" logger and emitting 'error'; the run goes on. In a test,
    a failing assert inside a listener would then show up only as a timeout.
    This handler records every such exception, stops the run that is in
    progress (uvws.run() through uvws.stop(), arun() by cancelling its task),
    and run_bounded() / arun() / the fixture's teardown raise the first one.
    A test that raises in a callback on purpose is marked
    @pytest.mark.callback_errors_expected.
    """

    def __init__(self):
        super().__init__(logging.ERROR)
        self.errors = []
        self.expected = False
        self.task = None  # (asyncio loop, task) of the arun() in progress

    def emit(self, record):
        if self.expected or not record.exc_info or record.exc_info[1] is None:
            return
        self.errors.append((record.getMessage(), record.exc_info[1]))
        uvws.stop()
        if self.task is not None:
            loop, task = self.task
            loop.call_soon_threadsafe(task.cancel)

    def raise_first(self):
        if self.errors:
            what, exc = self.errors[0]
            self.errors.clear()
            raise AssertionError(f"a callback raised ({what}): {exc!r}") from exc


CALLBACK_ERRORS = _CallbackErrors()
logging.getLogger("uvws").addHandler(CALLBACK_ERRORS)


def pytest_configure(config):
    config.addinivalue_line("markers", "callback_errors_expected: the test raises in callbacks on purpose")


@pytest.fixture(autouse=True)
def callback_errors_fail_the_test(request):
    CALLBACK_ERRORS.errors.clear()
    CALLBACK_ERRORS.expected = request.node.get_closest_marker("callback_errors_expected") is not None
    yield CALLBACK_ERRORS
    CALLBACK_ERRORS.expected = False
    CALLBACK_ERRORS.raise_first()


def arun(coro, timeout=30.0):
    """Run a coroutine on a fresh asyncio loop, bounded. If a callback raises
    meanwhile, the coroutine is cancelled and that exception fails the test."""

    async def main():
        task = asyncio.ensure_future(coro)
        CALLBACK_ERRORS.task = (asyncio.get_running_loop(), task)
        try:
            return await asyncio.wait_for(task, timeout)
        except asyncio.CancelledError:
            CALLBACK_ERRORS.raise_first()
            raise
        finally:
            CALLBACK_ERRORS.task = None

    return asyncio.run(main())


def run_bounded(timeout=20.0):
    """uvws.run(), but stop (and fail) after `timeout` seconds. If a callback
    raises meanwhile, the run stops and that exception fails the test."""
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
    CALLBACK_ERRORS.raise_first()
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

"""The example programs in examples/python."""

import asyncio
import signal
import subprocess
import sys
import time

import pytest
from websockets.asyncio.client import connect as ws_connect

from conftest import EXAMPLES, arun, example_env


@pytest.mark.parametrize("args", [(), ("--python-callback",), ("--uvloop",)])
def test_echo_server_example(example_server, args):
    if "--uvloop" in args:
        pytest.importorskip("uvloop")
    proc, port = example_server("echo_server.py", *args)

    async def main():
        async with ws_connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
            for m in ("hello", b"\x00\xff", "x" * 100000, b"y" * (1 << 20)):
                await ws.send(m)
                assert await ws.recv() == m

    arun(main())
    # Ctrl-C stops it cleanly
    t = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert time.monotonic() - t < 5


def test_echo_server_sigterm_closes_clients(example_server):
    proc, port = example_server("echo_server.py")

    async def main():
        async with ws_connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1001

    arun(main())
    assert proc.wait(10) == 0


def test_echo_server_port_in_use(example_server):
    proc, port = example_server("echo_server.py")
    r = subprocess.run([sys.executable, str(EXAMPLES / "echo_server.py"), "--host", "127.0.0.1", "--port", str(port)],
                       capture_output=True, text=True, env=example_env(), timeout=30)
    assert r.returncode == 1
    assert "cannot listen" in r.stderr


def test_client_example(example_server):
    proc, port = example_server("echo_server.py")
    r = subprocess.run([sys.executable, str(EXAMPLES / "client.py"), f"ws://127.0.0.1:{port}/", "hello", "world"],
                       capture_output=True, text=True, env=example_env(), timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["hello", "world"]
    r = subprocess.run([sys.executable, str(EXAMPLES / "client.py"), f"ws://127.0.0.1:{port}/"], input="a\nb\nc\n",
                       capture_output=True, text=True, env=example_env(), timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["a", "b", "c"]


def test_chat_example(example_server):
    proc, port = example_server("chat.py")

    async def main():
        async with ws_connect(f"ws://127.0.0.1:{port}/?name=ann") as ann:
            assert (await ann.recv()).startswith("* ann joined")
            async with ws_connect(f"ws://127.0.0.1:{port}/?name=bob") as bob:
                assert (await bob.recv()).startswith("* bob joined")
                assert (await ann.recv()).startswith("* bob joined")
                await ann.send("hi bob")
                assert await ann.recv() == "ann: hi bob"
                assert await bob.recv() == "ann: hi bob"
            assert (await ann.recv()).startswith("* bob left")

    arun(main())

"""The asyncio client in the real world: ``async for ws in connect(uri)``
reconnects as websockets does (immediately after a connection that opened,
with backoff after failures, raising what retrying cannot fix), and
``unix_connect`` over a Unix domain socket (against websockets' own
``unix_serve``)."""

import os
import tempfile

import pytest

import uvws
from conftest import arun


def fast(c):
    """Short backoff delays for the test (the defaults are websockets')."""
    c.BACKOFF_INITIAL_DELAY = 0.05
    c.BACKOFF_MIN_DELAY = 0.05
    c.BACKOFF_MAX_DELAY = 0.2
    return c


def test_async_for_reconnects_after_the_server_closes():
    count = 0

    async def handler(ws):
        nonlocal count
        count += 1
        if count == 1:
            return  # closes the first connection (1000)
        await ws.send("second")
        await ws.wait_closed()

    async def main():
        async with uvws.serve(handler, "127.0.0.1", 0) as server:
            seen = []
            async for ws in fast(uvws.connect(f"ws://127.0.0.1:{server.port}/")):
                try:
                    seen.append(await ws.recv())
                    break
                except uvws.ConnectionClosedOK:
                    seen.append("closed")
                    continue
            assert seen == ["closed", "second"]
            assert count == 2

    arun(main())


def test_async_for_retries_503_and_raises_403():
    answers = [503, 429, None]
    statuses = []

    def process_request(request):
        status = answers.pop(0) if answers else 403
        statuses.append(status)
        return (status, b"not now") if status else None

    async def handler(ws):
        await ws.send("in")
        await ws.wait_closed()

    async def main():
        async with uvws.serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
            url = f"ws://127.0.0.1:{server.port}/"
            async for ws in fast(uvws.connect(url)):
                assert await ws.recv() == "in"
                break
            assert statuses == [503, 429, None]
            # 403 is fatal: raised out of the loop, no retry
            with pytest.raises(uvws.InvalidStatus) as e:
                async for ws in fast(uvws.connect(url)):
                    pytest.fail("should not open")
            assert e.value.status == 403
            assert statuses == [503, 429, None, 403]

    arun(main())


def test_unix_connect_to_websockets_unix_serve():
    websockets_server = pytest.importorskip("websockets.asyncio.server")

    async def handler(ws):
        await ws.send(f"path {ws.request.path}")
        async for m in ws:
            await ws.send(m)

    async def main():
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.sock")
            async with websockets_server.unix_serve(handler, path):
                async with uvws.unix_connect(path, "ws://localhost/chat?room=1") as ws:
                    assert await ws.recv() == "path /chat?room=1"
                    await ws.send("over a unix socket")
                    assert await ws.recv() == "over a unix socket"
                async with uvws.unix_connect(path) as ws:
                    assert await ws.recv() == "path /"
            with pytest.raises(uvws.InvalidURI):
                uvws.unix_connect(path, "wss://localhost/")
            # the server is gone (its socket file may be left behind)
            with pytest.raises((ConnectionRefusedError, FileNotFoundError)):
                await uvws.unix_connect(path)

    arun(main())

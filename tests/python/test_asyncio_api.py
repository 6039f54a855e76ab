"""The asyncio API (websockets-style): uvws.serve, uvws.connect."""

import asyncio
import logging
import threading

import pytest

import uvws
from conftest import arun, wait_for


async def echo(ws):
    async for message in ws:
        await ws.send(message)


def test_echo_and_iteration():
    async def main():
        async with uvws.serve(echo, "127.0.0.1", 0) as server:
            assert server.port > 0
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/x") as ws:
                assert ws.state is uvws.State.OPEN
                assert ws.response.status == 101
                for m in ("a", b"b", "", b"", "\u2603" * 1000, b"\x00" * 100000):
                    await ws.send(m)
                    assert await ws.recv() == m
                await ws.send(b"bytes")
                assert await ws.recv(decode=True) == "bytes"
                await ws.send("text")
                assert await ws.recv(decode=False) == b"text"
                await ws.send(bytearray(b"ba"))
                assert await ws.recv() == b"ba"
                await ws.send(memoryview(b"mv"))
                assert await ws.recv() == b"mv"
                await ws.send(b"forced text", text=True)
                assert await ws.recv() == "forced text"
            assert ws.state is uvws.State.CLOSED
            assert ws.close_code == 1000
            await wait_for(lambda: not server.connections)

    arun(main())


def test_fragmented_send_iterables():
    async def agen():
        for part in ("as", "ync"):
            await asyncio.sleep(0)
            yield part

    async def main():
        async with uvws.serve(echo, "127.0.0.1", 0) as server:
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
                await ws.send(["frag", "mented"])
                assert await ws.recv() == "fragmented"
                await ws.send([b"\x01", b"\x02", b"\x03"])
                assert await ws.recv() == b"\x01\x02\x03"
                await ws.send(agen())
                assert await ws.recv() == "async"
                with pytest.raises(TypeError):
                    await ws.send({"a": 1})
                # Text fragments given as bytes may split a character: only
                # the joined message has to be UTF-8.
                await ws.send([b"split-\xc3", b"\xa9-end"], text=True)
                assert await ws.recv() == "split-\u00e9-end"
                with pytest.raises(ValueError):
                    await ws.send(b"bad \xff", text=True)

    arun(main())


@pytest.mark.callback_errors_expected
def test_closed_exceptions():
    async def handler(ws):
        msg = await ws.recv()
        if msg == "close-error":
            await ws.close(4001, "custom")
        elif msg == "close-ok":
            await ws.close(1001, "bye")
        elif msg == "raise":
            raise RuntimeError("handler failed")
        else:
            await ws.send(msg)
            # returning closes with 1000

    async def main():
        async with uvws.serve(handler, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.port}/"
            async with uvws.connect(url) as ws:
                await ws.send("close-error")
                with pytest.raises(uvws.ConnectionClosedError) as ei:
                    await ws.recv()
                assert ei.value.code == 4001 and ei.value.reason == "custom"
                with pytest.raises(uvws.ConnectionClosedError):
                    await ws.send("after close")
            async with uvws.connect(url) as ws:
                await ws.send("close-ok")
                with pytest.raises(uvws.ConnectionClosedOK) as ei:
                    await ws.recv()
                assert ei.value.code == 1001 and ei.value.reason == "bye"
            async with uvws.connect(url) as ws:
                await ws.send("raise")
                with pytest.raises(uvws.ConnectionClosedError) as ei:
                    await ws.recv()
                assert ei.value.code == 1011
            async with uvws.connect(url) as ws:
                await ws.send("echo")
                assert [m async for m in ws] == ["echo"]  # ends at the clean close
                assert ws.close_code == 1000

    arun(main())


def test_abnormal_close_and_server_shutdown():
    async def handler(ws):
        m = await ws.recv()
        if m == "drop":
            ws.connection.terminate()
        await ws.wait_closed()

    async def main():
        server = await uvws.serve(handler, "127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}/"
        ws = await uvws.connect(url)
        await ws.send("drop")
        with pytest.raises(uvws.ConnectionClosedError) as ei:
            await ws.recv()
        assert ei.value.code == 1006
        ws2 = await uvws.connect(url)
        await ws2.send("stay")
        await wait_for(lambda: len(server.connections) == 1)
        server.close()
        with pytest.raises(uvws.ConnectionClosedOK) as ei:
            await ws2.recv()
        assert ei.value.code == 1001
        await asyncio.wait_for(server.wait_closed(), 10)

    arun(main())


def test_ping_latency_and_pong():
    async def main():
        async with uvws.serve(echo, "127.0.0.1", 0) as server:
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
                waiter = await ws.ping()
                latency = await asyncio.wait_for(waiter, 5)
                assert 0 <= latency < 5
                w1 = await ws.ping(b"one")
                w2 = await ws.ping("two")
                assert await asyncio.wait_for(w2, 5) >= 0
                assert w1.done()  # acknowledged by the later pong
                with pytest.raises(RuntimeError):
                    await ws.ping(b"x")
                    await ws.ping(b"x")
                await ws.pong(b"unsolicited")

    arun(main())


def test_subprotocols_and_process_request():
    async def process_request(request):
        if request.path == "/forbidden":
            return (403, "Forbidden\n", [("X-Why", "testing")])
        if request.path == "/slow":
            await asyncio.sleep(0.05)
        return None

    async def handler(ws):
        await ws.send(f"{ws.subprotocol}|{ws.request.path}|{ws.request.headers.get('x-hello')}")
        await ws.wait_closed()

    async def main():
        async with uvws.serve(handler, "127.0.0.1", 0, subprotocols=["b", "a"], process_request=process_request) as server:
            base = f"ws://127.0.0.1:{server.port}"
            async with uvws.connect(base + "/p", subprotocols=["a", "b"], additional_headers={"X-Hello": "hi"}) as ws:
                assert ws.subprotocol == "b"
                assert await ws.recv() == "b|/p|hi"
            async with uvws.connect(base + "/slow") as ws:
                assert ws.subprotocol is None
                assert await ws.recv() == "None|/slow|None"
            # As ws (not websockets): the engine's client fails the handshake
            # when it offered subprotocols and the server chose none.
            with pytest.raises(uvws.InvalidHandshake):
                await uvws.connect(base + "/p", subprotocols=["c"])
            with pytest.raises(uvws.InvalidStatus) as ei:
                await uvws.connect(base + "/forbidden")
            assert ei.value.status == 403
            assert ei.value.response.headers["x-why"] == "testing"

    arun(main())


def test_max_size_and_limits():
    async def main():
        async with uvws.serve(echo, "127.0.0.1", 0, max_size=1000) as server:
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
                await ws.send(b"x" * 1000)
                assert len(await ws.recv()) == 1000
                await ws.send(b"x" * 1001)
                with pytest.raises(uvws.ConnectionClosedError) as ei:
                    await ws.recv()
                assert ei.value.code == 1009
        async with uvws.serve(echo, "127.0.0.1", 0, max_size=None) as server:
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/", max_size=2000) as ws:
                await ws.send(b"y" * 2001)  # the echo is too big for the client
                with pytest.raises(uvws.ConnectionClosedError) as ei:
                    await ws.recv()
                assert ei.value.code == 1009

    arun(main())


def test_connect_errors():
    import socket

    # a port that is bound but not listening: connecting is refused (and no
    # other process can take the port meanwhile)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]

    async def main():
        with pytest.raises(ConnectionRefusedError):
            await uvws.connect(f"ws://127.0.0.1:{port}/")
        with pytest.raises(uvws.InvalidURI):
            await uvws.connect("https://example.com/")
        # a TCP server that never answers the upgrade
        writers = []
        srv = await asyncio.start_server(lambda r, w: writers.append(w), "127.0.0.1", 0)
        p = srv.sockets[0].getsockname()[1]
        with pytest.raises(uvws.ConnectionTimeout):
            await uvws.connect(f"ws://127.0.0.1:{p}/", open_timeout=0.3)
        for w in writers:
            w.close()
        srv.close()
        await srv.wait_closed()

    arun(main())
    s.close()


def test_concurrent_recv_is_an_error():
    # The server sends only when the client says so (events, not a race of
    # sleeps), so the first recv() is still waiting when the second starts.
    send_late, send_after = asyncio.Event(), asyncio.Event()

    async def handler(ws):
        await send_late.wait()
        await ws.send("late")
        await send_after.wait()
        await ws.send("after the cancel")
        await ws.wait_closed()

    async def main():
        async with uvws.serve(handler, "127.0.0.1", 0) as server:
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
                t = asyncio.ensure_future(ws.recv())
                await asyncio.sleep(0)  # t runs up to its wait
                assert not t.done()
                with pytest.raises(RuntimeError):
                    await ws.recv()
                send_late.set()
                assert await asyncio.wait_for(t, 10) == "late"
                # a cancelled recv leaves the connection usable
                t2 = asyncio.ensure_future(ws.recv())
                await asyncio.sleep(0)
                assert not t2.done()
                t2.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await t2
                send_after.set()
                assert await asyncio.wait_for(ws.recv(), 10) == "after the cancel"

    arun(main())


def test_max_queue_pauses_reading():
    N = 2000

    async def handler(ws):
        for i in range(N):
            await ws.send(str(i).ljust(4096))
        await ws.wait_closed()

    async def main():
        async with uvws.serve(handler, "127.0.0.1", 0) as server:
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/", max_queue=4) as ws:
                # First the queue fills (so something was read: a bound checked
                # after a sleep alone also holds when nothing arrived), then
                # the client gets time in which it could read on if it did not
                # pause.
                await wait_for(lambda: ws.connection._qsize >= 4)
                await asyncio.sleep(0.2)
                # Reading paused at max_queue: what was already read (at most
                # one 256 KiB read buffer, 64 messages) is queued, no more.
                assert 4 <= ws.connection._qsize <= 4 + 64
                got = [int(await ws.recv()) for _ in range(N)]
                assert got == list(range(N))

    arun(main())


@pytest.mark.callback_errors_expected
def test_handler_exception_is_logged(caplog):
    async def handler(ws):
        raise ValueError("oops in handler")

    async def main():
        async with uvws.serve(handler, "127.0.0.1", 0) as server:
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
                await ws.wait_closed()
                assert ws.close_code == 1011

    with caplog.at_level(logging.ERROR, logger="uvws"):
        arun(main())
    assert any(r.exc_info and "oops in handler" in str(r.exc_info[1]) for r in caplog.records)


def test_send_threadsafe():
    async def main():
        async with uvws.serve(echo, "127.0.0.1", 0) as server:
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
                def worker():
                    for i in range(500):
                        ws.send_threadsafe(str(i))

                th = threading.Thread(target=worker)
                th.start()
                got = [int(await ws.recv()) for _ in range(500)]
                th.join()
                assert got == list(range(500))

    arun(main())


def test_loops_in_several_threads():
    """Each thread gets its own engine loop driven by its own asyncio loop."""
    results = {}

    def thread_main(name):
        async def main():
            async with uvws.serve(echo, "127.0.0.1", 0) as server:
                async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
                    for i in range(200):
                        await ws.send(f"{name}-{i}")
                        assert await ws.recv() == f"{name}-{i}"
            return uvws.get_loop()

        results[name] = arun(main())

    threads = [threading.Thread(target=thread_main, args=(n,)) for n in ("t1", "t2", "t3")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 3
    assert len({id(v) for v in results.values()}) == 3


def test_uvloop():
    uvloop = pytest.importorskip("uvloop")

    async def main():
        assert "uvloop" in type(asyncio.get_running_loop()).__module__
        async with uvws.serve(echo, "127.0.0.1", 0) as server:
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
                for i in range(100):
                    await ws.send(b"%d" % i)
                    assert await ws.recv() == b"%d" % i
                latency = await (await ws.ping())
                assert latency >= 0

    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(main(), 20))
    finally:
        loop.close()


def test_ws_api_and_asyncio_api_together():
    async def main():
        server = uvws.Server(port=0, host="127.0.0.1")
        server.on("connection", lambda ws, req: ws.on("message", ws.send))
        async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
            await ws.send("mixed")
            assert await ws.recv() == "mixed"
        done = asyncio.get_running_loop().create_future()
        server.close(lambda: done.set_result(None))
        await done

    arun(main())


def test_keepalive_ping_timeout():
    """A peer that stops answering is dropped after ping_interval + ping_timeout."""

    async def main():
        # the server reads nothing: no pong; closing it takes its close_timeout
        server = uvws.Server(port=0, host="127.0.0.1", close_timeout=0.5)
        server.on("connection", lambda ws, req: ws.pause())
        async with uvws.connect(f"ws://127.0.0.1:{server.port}/", ping_interval=0.2, ping_timeout=0.3) as ws:
            with pytest.raises(uvws.ConnectionClosedError) as ei:
                await asyncio.wait_for(ws.recv(), 5)
            assert ei.value.code == 1006
            assert isinstance(ei.value.cause, uvws.ConnectionTimeout)
        done = asyncio.get_running_loop().create_future()
        server.close(lambda: done.set_result(None))
        await done

    arun(main())


def test_connect_after_the_loop_sat_idle():
    """libuv's clock only moves while its loop runs; a connection started
    after a long idle period must not inherit a stale clock (its handshake
    deadline would already be past)."""
    import time

    async def once():
        server = uvws.Server(port=0, host="127.0.0.1")
        server.on("connection", lambda ws, req: ws.on("message", ws.send))
        # open_timeout below the idle time, so a stale clock fails it, yet
        # long enough for a handshake on a slow, loaded machine
        async with uvws.connect(f"ws://127.0.0.1:{server.port}/", open_timeout=1.5) as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
        done = asyncio.get_running_loop().create_future()
        server.close(lambda: done.set_result(None))
        await done

    arun(once())
    time.sleep(2.5)  # nothing alive: the engine loop does not run
    arun(once())

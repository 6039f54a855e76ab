"""The event-callback API (ws-style): uvws.Server, uvws.WebSocket, uvws.run()."""

import asyncio
import logging
import threading
import time

import pytest

import uvws
from conftest import arun, run_bounded, wait_for


def make_echo_server(**kw):
    server = uvws.Server(port=0, host="127.0.0.1", **kw)

    @server.on("connection")
    def _(ws, request):
        ws.on("message", ws.send)

    return server


def test_echo_roundtrip_and_request():
    server = uvws.Server(port=0, host="127.0.0.1")
    assert server.port > 0
    seen = {}
    got = []

    @server.on("connection")
    def on_connection(ws, request):
        seen["request"] = request
        seen["clients"] = len(server.clients)
        seen["ws"] = ws
        assert ws.ready_state == uvws.OPEN
        assert not ws.is_client
        ws.on("message", lambda data, is_binary: ws.send(data, is_binary))

    url = f"ws://127.0.0.1:{server.port}/chat/room?x=1&y=2"
    c = uvws.WebSocket(url, headers={"X-Test": "yes"}, origin="http://example.com")
    assert c.ready_state == uvws.CONNECTING
    assert c.url == url
    payloads = ["hello", b"\x00\x01\xff", "", b"", "h\u00e9llo \u2603 \U0001F600", b"x" * 70000, "y" * 200000]

    @c.on("open")
    def _():
        assert c.ready_state == uvws.OPEN
        assert c.response.status == 101
        for p in payloads:
            c.send(p)

    @c.on("message")
    def _(data, is_binary):
        got.append((data, is_binary))
        if len(got) == len(payloads):
            c.close(1000, "done")

    closes = []
    c.on("close", lambda code, reason: (closes.append((code, reason)), server.close()))
    run_bounded()
    assert got == [(p, isinstance(p, bytes)) for p in payloads]
    req = seen["request"]
    assert req.path == "/chat/room"
    assert req.query == "x=1&y=2"
    assert req.url == "/chat/room?x=1&y=2"
    assert req.headers["x-test"] == "yes"
    assert req.headers.get("Origin") == "http://example.com"
    assert "sec-websocket-key" in req.headers
    assert req.remote_address[0] == "127.0.0.1"
    assert seen["clients"] == 1
    assert closes == [(1000, "")]
    assert c.ready_state == uvws.CLOSED
    assert c.close_code == 1000
    assert seen["ws"].ready_state == uvws.CLOSED
    assert server.clients == set()
    assert server.closed


def test_send_types_and_text_flag():
    server = make_echo_server()
    got = []
    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")

    @c.on("open")
    def _():
        data = bytearray(b"abcdef")
        c.send(data)
        c.send(memoryview(b"0123456789")[2:5])
        c.send("text as binary", binary=True)
        c.send(b"bytes as text", binary=False)
        with pytest.raises(ValueError):
            c.send(b"\xff\xfe", binary=False)
        with pytest.raises(TypeError):
            c.send(12345)
        data[0:1] = b"Z"  # the engine copied what it needed

    @c.on("message")
    def _(data, is_binary):
        got.append((data, is_binary))
        if len(got) == 4:
            c.close()

    c.on("close", lambda *a: server.close())
    run_bounded()
    assert got == [(b"abcdef", True), (b"234", True), (b"text as binary", True), ("bytes as text", False)]


def test_fragmented_send():
    server = uvws.Server(port=0, host="127.0.0.1")
    got = []

    @server.on("connection")
    def _(ws, req):
        ws.on("message", lambda d, b: (got.append((d, b)), ws.close(1000)))

    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")

    @c.on("open")
    def _():
        c.send("hel", fin=False)
        c.send("lo ", fin=False)
        c.send("world")

    c.on("close", lambda *a: server.close())
    run_bounded()
    assert got == [("hello world", False)]


@pytest.mark.parametrize(
    "who, code, reason, expect_server, expect_client",
    [
        ("client", 4000, "bye", (4000, "bye"), (4000, "")),
        ("client", None, "", (1005, ""), (1005, "")),
        ("server", 4001, "server says bye", (4001, ""), (4001, "server says bye")),
        ("server-close", None, None, (1001, ""), (1001, "server shutting down")),
        ("client-terminate", None, None, (1006, ""), (1006, "")),
        ("server-terminate", None, None, (1006, ""), (1006, "")),
    ],
)
def test_close_paths(who, code, reason, expect_server, expect_client):
    server = uvws.Server(port=0, host="127.0.0.1")
    result = {}

    @server.on("connection")
    def _(ws, req):
        ws.on("close", lambda c, r: result.__setitem__("server", (c, r)))
        if who == "server":
            ws.close(code, reason)
        elif who == "server-close":
            server.close()
        elif who == "server-terminate":
            ws.terminate()

    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")

    @c.on("open")
    def _():
        if who == "client":
            c.close(code, reason)
        elif who == "client-terminate":
            c.terminate()

    def on_close(cc, r):
        result["client"] = (cc, r)
        if who != "server-close":
            server.close()

    c.on("close", on_close)
    run_bounded()
    assert result["server"] == expect_server
    assert result["client"] == expect_client


def test_invalid_close_arguments():
    server = make_echo_server()
    errors = []
    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")

    @c.on("open")
    def _():
        for code, reason in ((999, ""), (1005, ""), (1006, ""), (5000, ""), (1000, "x" * 124)):
            try:
                c.close(code, reason)
            except ValueError as e:
                errors.append(e)
        c.close(1000)
        c.close(1000)  # twice: no error

    c.on("close", lambda *a: server.close())
    run_bounded()
    assert len(errors) == 5


def test_ping_pong_events():
    server = uvws.Server(port=0, host="127.0.0.1")
    log = []

    @server.on("connection")
    def _(ws, req):
        ws.on("ping", lambda d: log.append(("server ping", d)))
        ws.on("pong", lambda d: (log.append(("server pong", d)), ws.close(1000)))
        ws.ping("from server")

    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
    c.on("open", lambda: c.ping(b"from client"))
    c.on("ping", lambda d: log.append(("client ping", d)))
    c.on("pong", lambda d: log.append(("client pong", d)))
    c.on("close", lambda *a: server.close())
    run_bounded()
    assert ("server ping", b"from client") in log
    assert ("client pong", b"from client") in log
    assert ("client ping", b"from server") in log
    assert ("server pong", b"from server") in log


def test_ping_payload_limit():
    server = make_echo_server()
    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
    errs = []

    @c.on("open")
    def _():
        try:
            c.ping(b"x" * 126)
        except ValueError as e:
            errs.append(e)
        c.close()

    c.on("close", lambda *a: server.close())
    run_bounded()
    assert len(errs) == 1


def test_backpressure_drain_and_buffered_amount():
    server = uvws.Server(port=0, host="127.0.0.1")
    state = {"queued": 0, "drains": 0, "received": 0}
    big = b"z" * (4 << 20)

    @server.on("connection")
    def _(ws, req):
        ws.pause()  # the client cannot write it all at once

        def go():
            ws.resume()

        asyncio.get_running_loop().call_later(0.2, go)

        def on_msg(d, b):
            state["received"] += len(d)
            if state["received"] == 3 * len(big):
                ws.close(1000)

        ws.on("message", on_msg)

    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")

    @c.on("open")
    def _():
        for _ in range(3):
            r = c.send(big)
            if r == uvws.SEND_QUEUED:
                state["queued"] += 1
        state["buffered"] = c.buffered_amount

    c.on("drain", lambda: state.__setitem__("drains", state["drains"] + 1))
    c.on("close", lambda *a: server.close())
    run_bounded()
    assert state["queued"] >= 1
    assert state["buffered"] > 0
    assert state["drains"] >= 1
    assert state["received"] == 3 * len(big)


def test_max_backpressure_drops():
    server = uvws.Server(port=0, host="127.0.0.1")
    results = []

    @server.on("connection")
    def _(ws, req):
        ws.pause()
        asyncio.get_running_loop().call_later(0.3, lambda: ws.close(1000))

    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/", max_backpressure=1 << 20)

    @c.on("open")
    def _():
        for _ in range(64):
            results.append(c.send(b"q" * (256 << 10)))

    c.on("close", lambda *a: server.close())
    run_bounded()
    assert uvws.SEND_DROPPED in results


def test_verify_client_and_protocols():
    def verify(request):
        if request.headers.get("x-token") != "secret":
            return (False, 403, "Forbidden")
        return True

    chosen = []

    def handle_protocols(protocols, request):
        chosen.append(list(protocols))
        return "chat.v2" if "chat.v2" in protocols else None

    out = {}

    async def main():
        server = uvws.Server(port=0, host="127.0.0.1", verify_client=verify, handle_protocols=handle_protocols)
        server.on("connection", lambda ws, req: ws.on("message", ws.send))
        bad = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
        bad.on("error", lambda e: out.__setitem__("bad_error", e))
        bad.on("close", lambda c, r: out.__setitem__("bad_close", c))
        good = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/", ["chat.v1", "chat.v2"], headers=[("X-Token", "secret")])
        good.on("open", lambda: (out.__setitem__("protocol", good.protocol), good.close(1000)))
        good.on("close", lambda c, r: out.__setitem__("good_close", c))
        await wait_for(lambda: "bad_close" in out and "good_close" in out)
        server.close()
        await wait_for(lambda: server.closed)

    arun(main())
    assert isinstance(out["bad_error"], uvws.InvalidStatus)
    assert out["bad_error"].status == 403
    assert out["bad_close"] == 1006
    assert out["protocol"] == "chat.v2"
    assert out["good_close"] == 1000
    assert chosen == [["chat.v1", "chat.v2"]]


def test_async_verify_client():
    async def verify(request):
        await asyncio.sleep(0.05)
        return request.path == "/ok"

    server = uvws.Server(port=0, host="127.0.0.1", verify_client=verify)
    out = {}

    async def main():
        server.on("connection", lambda ws, req: ws.on("message", ws.send))
        ok = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/ok")
        ok.on("open", lambda: ok.send("hi"))
        ok.on("message", lambda d, b: (out.__setitem__("msg", d), ok.close()))
        no = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/no")
        no.on("error", lambda e: out.__setitem__("err", e))
        await wait_for(lambda: ok.closed and no.closed)
        server.close()
        await wait_for(lambda: server.closed)

    arun(main())
    assert out["msg"] == "hi"
    assert isinstance(out["err"], uvws.InvalidStatus) and out["err"].status == 401


def test_server_path_and_max_payload():
    server = make_echo_server(path="/only", max_payload=1000)
    out = {}

    async def main():
        wrong = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/other")
        wrong.on("error", lambda e: out.__setitem__("wrong", e))
        right = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/only")
        right.on("open", lambda: right.send(b"x" * 1001))
        right.on("close", lambda c, r: out.__setitem__("big", (c, r)))
        await wait_for(lambda: wrong.closed and right.closed)
        server.close()

    arun(main())
    assert isinstance(out["wrong"], uvws.InvalidStatus) and out["wrong"].status == 400
    assert out["big"][0] == 1009


@pytest.mark.callback_errors_expected
def test_callback_exception_is_reported_and_loop_survives(caplog):
    server = uvws.Server(port=0, host="127.0.0.1")
    errors = []
    got = []

    @server.on("connection")
    def _(ws, req):
        def on_message(data, is_binary):
            if data == "boom":
                raise RuntimeError("boom in callback")
            ws.send(data)

        ws.on("message", on_message)
        ws.on("error", lambda e: errors.append(e))

    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
    c.on("open", lambda: [c.send(m) for m in ("a", "boom", "b")])

    def on_message(data, b):
        got.append(data)
        if len(got) == 2:
            c.close(1000)

    c.on("message", on_message)
    c.on("close", lambda *a: server.close())
    with caplog.at_level(logging.ERROR, logger="uvws"):
        run_bounded()
    assert got == ["a", "b"]
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert any("boom in callback" in (r.exc_text or "") or (r.exc_info and "boom" in str(r.exc_info[1])) for r in caplog.records)


@pytest.mark.callback_errors_expected
def test_exception_in_error_and_close_listeners(caplog):
    server = make_echo_server()
    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
    c.on("open", lambda: c.send("x"))

    def bad_message(d, b):
        raise ValueError("bad message listener")

    def bad_error(e):
        raise KeyError("bad error listener")

    def bad_close(code, reason):
        server.close()
        raise ZeroDivisionError("bad close listener")

    c.on("message", bad_message)
    c.on("message", lambda d, b: c.close())  # a second listener still runs
    c.on("error", bad_error)
    c.on("close", bad_close)
    with caplog.at_level(logging.ERROR, logger="uvws"):
        run_bounded()
    text = "\n".join(str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    assert "bad message listener" in text
    assert "bad error listener" in text
    assert "bad close listener" in text
    assert c.closed


def test_event_emitter_semantics():
    server = make_echo_server()
    calls = []
    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
    l1 = lambda d, b: calls.append(("l1", d))  # noqa: E731
    l2 = lambda d, b: calls.append(("l2", d))  # noqa: E731
    c.on("message", l1)
    c.once("message", l2)
    assert c.listener_count("message") == 2
    assert c.listeners("message") == [l1, l2]

    @c.on("open")
    def _():
        c.send("1")
        c.send("2")
        c.send("3")

    def on3(d, b):
        if d == "2":
            c.off("message", l1)
        if d == "3":
            c.close()

    c.on("message", on3)
    c.on("close", lambda *a: server.close())
    run_bounded()
    assert calls == [("l1", "1"), ("l2", "1"), ("l1", "2")]


def test_cross_thread_send():
    server = uvws.Server(port=0, host="127.0.0.1")
    got = []
    N = 2000

    @server.on("connection")
    def _(ws, req):
        def worker():
            for i in range(N):
                assert ws.send(str(i)) == uvws.SEND_QUEUED
            ws.send(b"end")

        threading.Thread(target=worker).start()

    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")

    def on_message(d, b):
        if b:
            c.close()
        else:
            got.append(int(d))

    c.on("message", on_message)
    c.on("close", lambda *a: server.close())
    run_bounded()
    assert got == list(range(N))


def test_cross_thread_close_and_terminate():
    server = uvws.Server(port=0, host="127.0.0.1")
    out = {}

    @server.on("connection")
    def _(ws, req):
        threading.Thread(target=lambda: (time.sleep(0.05), ws.close(4004, "from thread"))).start()

    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
    c.on("close", lambda code, r: (out.__setitem__("c", (code, r)), server.close()))
    run_bounded()
    assert out["c"] == (4004, "from thread")


def test_run_returns_when_idle_and_stop():
    uvws.run(handle_signals=False)  # nothing to do: returns at once
    server = make_echo_server()
    threading.Timer(0.2, uvws.stop).start()
    t = time.monotonic()
    run_bounded()
    assert time.monotonic() - t < 5
    assert server.closed  # stop() closed it


def test_stop_closes_clients_with_going_away():
    server = uvws.Server(port=0, host="127.0.0.1")
    out = {}
    server.on("connection", lambda ws, req: ws.on("close", lambda c, r: out.__setitem__("server", c)))
    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
    c.on("open", uvws.stop)
    c.on("close", lambda code, r: out.__setitem__("client", code))
    run_bounded()
    assert out["client"] == 1001
    assert server.closed


def test_connect_refused_and_bad_url():
    with pytest.raises(uvws.InvalidURI):
        uvws.WebSocket("http://127.0.0.1/")
    # a free port: bind and close
    import socket

    # a port that is bound but not listening: connecting is refused (and no
    # other process can take the port meanwhile)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    out = {}
    c = uvws.WebSocket(f"ws://127.0.0.1:{port}/")
    c.on("error", lambda e: out.__setitem__("err", e))
    c.on("close", lambda code, r: out.__setitem__("close", code))
    c.on("open", lambda: out.__setitem__("open", True))
    run_bounded()
    s.close()
    assert isinstance(out["err"], ConnectionRefusedError)
    assert out["close"] == 1006
    assert "open" not in out


def test_send_when_not_open():
    server = make_echo_server()
    c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
    with pytest.raises(uvws.InvalidStateError):
        c.send("too early")
    out = {}

    @c.on("open")
    def _():
        c.close()
        try:
            c.send("too late")
        except uvws.InvalidStateError as e:
            out["late"] = e

    c.on("close", lambda *a: server.close())
    run_bounded()
    assert "late" in out
    with pytest.raises(uvws.InvalidStateError):
        c.send("closed")


def test_broadcast():
    server = uvws.Server(port=0, host="127.0.0.1")
    got = {i: [] for i in range(3)}
    opened = []
    sent = []

    def maybe_broadcast():
        if len(server.clients) == 3:
            sent.append(server.broadcast("hello all"))
            sent.append(server.broadcast(b"\x01", binary=True))

    server.on("connection", lambda ws, req: maybe_broadcast())
    clients = []
    for i in range(3):
        c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")

        def on_message(d, b, i=i, c=c):
            got[i].append(d)
            if len(got[i]) == 2:
                c.close()

        c.on("message", on_message)
        c.on("open", lambda: opened.append(1))
        clients.append(c)
    closed = []
    for c in clients:
        c.on("close", lambda *a: (closed.append(1), len(closed) == 3 and server.close()))
    run_bounded()
    assert sent == [3, 3], f"broadcast() returned {sent}, not the number of clients"
    assert all(v == ["hello all", b"\x01"] for v in got.values())


def test_ws_api_inside_asyncio():
    """The callback API works inside a running asyncio loop too."""

    async def main():
        server = make_echo_server()
        fut = asyncio.get_running_loop().create_future()
        c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
        c.on("open", lambda: c.send("inside"))
        c.on("message", lambda d, b: fut.set_result(d))
        assert await fut == "inside"
        c.close()
        done = asyncio.get_running_loop().create_future()
        server.close(lambda: done.set_result(True))
        await done

    arun(main())


def test_system_exit_in_callback_stops_the_loop(tmp_path):
    """SystemExit / KeyboardInterrupt raised by a callback are not swallowed:
    they stop the loop and propagate (here: the process exits with 3)."""
    import subprocess
    import sys

    from conftest import example_env

    script = tmp_path / "exit.py"
    script.write_text(
        "import uvws\n"
        "server = uvws.Server(port=0, host='127.0.0.1')\n"
        "def on_connection(ws, req):\n"
        "    def on_message(d, b):\n"
        "        raise SystemExit(3)\n"
        "    ws.on('message', on_message)\n"
        "server.on('connection', on_connection)\n"
        "c = uvws.WebSocket(f'ws://127.0.0.1:{server.port}/')\n"
        "c.on('open', lambda: c.send('bye'))\n"
        "uvws.run()\n"
        "print('not reached')\n"
    )
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30, env=example_env())
    assert r.returncode == 3, r.stderr
    assert "not reached" not in r.stdout


def test_closed_connections_are_collected():
    """Connections (and their listeners, which usually refer back to them)
    are freed once closed and dropped; the engine holds them only while open."""
    import gc
    import weakref

    refs = []

    async def main():
        server = uvws.Server(port=0, host="127.0.0.1")

        @server.on("connection")
        def _(ws, req):
            refs.append(weakref.ref(ws))
            ws.on("message", lambda d, b: ws.send(d))  # a cycle through the closure

        for _ in range(3):
            c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
            refs.append(weakref.ref(c))
            got = asyncio.get_running_loop().create_future()
            c.on("open", lambda c=c: c.send("x"))
            c.on("message", lambda d, b, c=c, got=got: (got.set_result(d), c.close()))
            await got
            await wait_for(lambda: c.closed)
            del c, got
        await wait_for(lambda: not server.clients)
        done = asyncio.get_running_loop().create_future()
        server.close(lambda: done.set_result(None))
        await done

    arun(main())
    gc.collect()
    assert len(refs) == 6
    assert all(r() is None for r in refs)

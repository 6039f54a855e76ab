"""Interoperability with the websockets package (PyPI), both ways:
our servers (callback API and asyncio API) with websockets' client, and
websockets' server with our clients (callback API and asyncio API).

Covered: text, binary, empty, non-ASCII, fragmented (both directions),
16 MiB (both directions), ping/pong (both directions), every close path
(normal, custom code and reason, no status code, going away, abrupt TCP
drop, too big, invalid UTF-8, protocol error, rejected handshake), and the
same over wss:// when the engine has TLS.
"""

import asyncio
import socket
import ssl

import pytest
import websockets
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import serve as ws_serve

import uvws
from conftest import arun, engine_has_tls, wait_for

BIG = 16 * 1024 * 1024
PAYLOADS = ["hello", b"\x00\x01\x02\xff", "", b"", "\u00e9\u2603\U0001F600 mixed", "a" * 70000, b"b" * 200000]


# ----------------------------------------------------------------------
# Our servers, driven by commands sent as text messages:
#   "close:<code>:<reason>"  close with that code ("close::" = no code)
#   "terminate"              drop the TCP connection
#   "shutdown"               close the whole server (1001)
#   "fragments"              send "frag"+"ment"+"ed" as one fragmented message
#   "ping"                   ping the client with b"srv-ping"
#   "big"                    send 16 MiB binary
# anything else is echoed.
# ----------------------------------------------------------------------


class OurServer:
    def __init__(self, kind, **kw):
        self.kind = kind
        self.events = []
        self.server = None
        self.kw = kw

    async def start(self):
        if self.kind == "callbacks":
            s = self.server = uvws.Server(port=0, host="127.0.0.1", max_payload=self.kw.get("max_size", 100 << 20), tls=self.kw.get("tls"),
                                          per_message_deflate=self.kw.get("deflate", False))

            @s.on("connection")
            def on_connection(ws, request):
                ws.on("message", lambda d, b: self._command_cb(ws, d, b))
                ws.on("pong", lambda d: self.events.append(("pong", d)))
                ws.on("ping", lambda d: self.events.append(("ping", d)))
                ws.on("close", lambda code, reason: self.events.append(("close", code, reason)))

            return s.port
        s = self.server = await uvws.serve(self._handler, "127.0.0.1", 0, max_size=self.kw.get("max_size"), tls=self.kw.get("tls"), ping_interval=None,
                                           compression="deflate" if self.kw.get("deflate") else None)
        return s.port

    def _command_cb(self, ws, d, b):
        if b or not d.startswith(("close:", "terminate", "shutdown", "fragments", "ping", "big")):
            ws.send(d, b)
        elif d.startswith("close:"):
            _, code, reason = d.split(":", 2)
            ws.close(int(code) if code else None, reason)
        elif d == "terminate":
            ws.terminate()
        elif d == "shutdown":
            self.server.close()
        elif d == "fragments":
            ws.send("frag", fin=False)
            ws.send("ment", fin=False)
            ws.send("ed")
        elif d == "ping":
            ws.ping(b"srv-ping")
        elif d == "big":
            ws.send(b"\x07" * BIG)

    async def _handler(self, ws):
        c = ws.connection
        c_pong = c._on_pong

        def on_pong(d):
            self.events.append(("pong", d))
            c_pong(d)

        c._on_pong = on_pong
        try:
            async for d in ws:
                if isinstance(d, bytes) or not d.startswith(("close:", "terminate", "shutdown", "fragments", "ping", "big")):
                    await ws.send(d)
                elif d.startswith("close:"):
                    _, code, reason = d.split(":", 2)
                    await ws.close(int(code) if code else 1000, reason)
                elif d == "terminate":
                    c.terminate()
                elif d == "shutdown":
                    self.server.close()
                elif d == "fragments":
                    await ws.send(["frag", "ment", "ed"])
                elif d == "ping":
                    await ws.ping(b"srv-ping")
                elif d == "big":
                    await ws.send(b"\x07" * BIG)
        finally:
            await ws.wait_closed()
            self.events.append(("close", ws.close_code, ws.close_reason))

    async def stop(self):
        if self.kind == "callbacks":
            if not self.server.closed:
                done = asyncio.get_running_loop().create_future()
                self.server.close(lambda: done.done() or done.set_result(None))
                await asyncio.wait_for(done, 10)
        else:
            self.server.close()
            await asyncio.wait_for(self.server.wait_closed(), 10)

    async def close_event(self):
        await wait_for(lambda: any(e[0] == "close" for e in self.events))
        return next(e for e in self.events if e[0] == "close")[1:]


SERVER_KINDS = ["callbacks", "asyncio"]


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_our_server_their_client_messages(kind):
    async def main():
        srv = OurServer(kind)
        port = await srv.start()
        async with ws_connect(f"ws://127.0.0.1:{port}/", max_size=None, compression=None) as ws:
            for p in PAYLOADS:
                await ws.send(p)
                assert await ws.recv() == p
            # fragmented, client to server (websockets sends an iterable as fragments)
            await ws.send(["con", "tin", "ued"])
            assert await ws.recv() == "continued"
            await ws.send([b"\x01", b"\x02"])
            assert await ws.recv() == b"\x01\x02"
            # fragmented, server to client
            await ws.send("fragments")
            assert await ws.recv() == "fragmented"
            # 16 MiB both ways
            big = bytes(range(256)) * (BIG // 256)
            await ws.send(big)
            assert await ws.recv() == big
            text = "\u00e9" * (BIG // 2)
            await ws.send(text)
            assert await ws.recv() == text
            await ws.send("big")
            assert await ws.recv() == b"\x07" * BIG
            # ping from their client: our engine answers
            latency = await asyncio.wait_for(await ws.ping(b"cli-ping"), 5)
            assert latency >= 0
            # ping from our server: their client answers
            await ws.send("ping")
            await wait_for(lambda: ("pong", b"srv-ping") in srv.events)
        await srv.stop()

    arun(main(), 60)


CLOSE_CASES = [
    # command / action, expected code at their client, reason at their client, expected at our server
    ("client-1000", 1000, "", (1000, "")),
    ("client-4000", 4000, "", (4000, "see you")),
    # websockets echoes the code and the reason of a close frame it receives
    ("close:4001:server bye", 4001, "server bye", (4001, "server bye")),
    ("close:1000:", 1000, "", (1000, "")),
    ("shutdown", 1001, "server shutting down", (1001, "server shutting down")),
    ("terminate", 1006, "", (1006, "")),
    ("client-abort", None, None, (1006, "")),
]


@pytest.mark.parametrize("kind", SERVER_KINDS)
@pytest.mark.parametrize("case, code, reason, server_expect", CLOSE_CASES, ids=[c[0] for c in CLOSE_CASES])
def test_our_server_their_client_close_paths(kind, case, code, reason, server_expect):
    async def main():
        srv = OurServer(kind)
        port = await srv.start()
        ws = await ws_connect(f"ws://127.0.0.1:{port}/", close_timeout=5)
        await ws.send("hi")
        assert await ws.recv() == "hi"
        if case == "client-1000":
            await ws.close()
        elif case == "client-4000":
            await ws.close(4000, "see you")
        elif case == "client-abort":
            ws.transport.abort()
        else:
            await ws.send(case)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
        await asyncio.wait_for(ws.wait_closed(), 10)
        if code is not None and case != "terminate":
            assert ws.close_code == code
            if reason is not None:
                assert ws.close_reason == reason
        if case == "terminate":
            assert ws.close_code == 1006
        assert await srv.close_event() == server_expect
        await srv.stop()

    arun(main(), 30)


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_our_server_their_client_errors(kind):
    async def main():
        srv = OurServer(kind, max_size=1000)
        port = await srv.start()
        # too big: 1009
        async with ws_connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.send(b"x" * 1001)
            with pytest.raises(websockets.ConnectionClosedError):
                await ws.recv()
            assert ws.close_code == 1009
        # invalid UTF-8 in a text frame: 1007
        async with ws_connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.send(b"\xff\xfe", text=True)
            with pytest.raises(websockets.ConnectionClosedError):
                await ws.recv()
            assert ws.close_code == 1007
        # protocol error (an unmasked client frame): 1002, over a raw socket
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = await r.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        w.write(b"\x81\x02hi")  # FIN text, no mask bit
        frame = await asyncio.wait_for(r.readexactly(4), 5)
        assert frame[0] == 0x88 and int.from_bytes(frame[2:4], "big") == 1002
        w.close()
        await srv.stop()

    arun(main())


def test_our_server_rejects_bad_handshakes():
    async def main():
        srv = OurServer("callbacks")
        port = await srv.start()
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # not an upgrade
        head = await asyncio.wait_for(r.read(4096), 5)
        assert head.startswith(b"HTTP/1.1 4")
        w.close()
        with pytest.raises(websockets.InvalidStatus):
            async with ws_connect(f"ws://127.0.0.1:{port}/", subprotocols=["x"], additional_headers={"Sec-WebSocket-Version": "12"}):
                pass
        await srv.stop()

    arun(main())


# ----------------------------------------------------------------------
# Their server, our clients.
# ----------------------------------------------------------------------


class TheirServer:
    def __init__(self, **kw):
        self.events = []
        self.kw = kw

    async def handler(self, ws):
        try:
            async for d in ws:
                if isinstance(d, str) and d.startswith("close:"):
                    _, code, reason = d.split(":", 2)
                    await ws.close(int(code), reason)
                elif d == "abort":
                    ws.transport.abort()
                elif d == "fragments":
                    await ws.send(["frag", "ment", "ed"])
                elif d == "ping":
                    await ws.ping(b"their-ping")
                elif d == "big":
                    await ws.send(b"\x09" * BIG)
                elif d == "shutdown":
                    self.server.close()
                else:
                    await ws.send(d)
        except websockets.ConnectionClosed:
            pass
        self.events.append(("close", ws.close_code, ws.close_reason))

    async def process_request(self, connection, request):
        if self.kw.get("record_extensions") is not None:
            self.kw["record_extensions"].append(request.headers.get("Sec-WebSocket-Extensions"))
        if request.path == "/forbidden":
            return connection.respond(403, "Forbidden\n")
        return None

    async def __aenter__(self):
        self.server = await ws_serve(self.handler, "127.0.0.1", 0, max_size=self.kw.get("max_size"), compression=self.kw.get("compression"),
                                     process_request=self.process_request, subprotocols=self.kw.get("subprotocols"), ssl=self.kw.get("ssl"))
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await asyncio.wait_for(self.server.wait_closed(), 10)

    async def close_event(self):
        await wait_for(lambda: any(e[0] == "close" for e in self.events))
        return next(e for e in self.events if e[0] == "close")[1:]


class CallbackClient:
    """Our callback-API client with an awaitable surface for the tests."""

    def __init__(self, url, **kw):
        self.ws = uvws.WebSocket(url, **kw)
        self.q = asyncio.Queue()
        self.opened = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.events = []
        self.ws.on("open", lambda: self.opened.set_result(None))
        self.ws.on("message", lambda d, b: self.q.put_nowait(d))
        self.ws.on("ping", lambda d: self.events.append(("ping", d)))
        self.ws.on("pong", lambda d: self.events.append(("pong", d)))
        self.ws.on("error", lambda e: self.events.append(("error", e)))

        def on_close(code, reason):
            if not self.opened.done():
                self.opened.set_exception(self.ws.error or RuntimeError("closed"))
                self.opened.exception()
            self.closed.set_result((code, reason))

        self.ws.on("close", on_close)

    async def send(self, d):
        self.ws.send(d)

    async def recv(self):
        return await asyncio.wait_for(self.q.get(), 10)


CLIENT_KINDS = ["callbacks", "asyncio"]


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_their_server_our_client_messages(kind):
    async def main():
        async with TheirServer() as srv:
            url = f"ws://127.0.0.1:{srv.port}/"
            if kind == "callbacks":
                c = CallbackClient(url, max_payload=None)
                await c.opened
                send, recv = c.send, c.recv
            else:
                ws = await uvws.connect(url, max_size=None)
                send, recv = ws.send, ws.recv
            for p in PAYLOADS:
                await send(p)
                assert await recv() == p
            await send("fragments")
            assert await recv() == "fragmented"
            big = bytes(range(256)) * (BIG // 256)
            await send(big)
            assert await recv() == big
            await send("big")
            assert await recv() == b"\x09" * BIG
            if kind == "callbacks":
                c.ws.send("our", fin=False)
                c.ws.send(" fragments")
                assert await recv() == "our fragments"
                c.ws.ping(b"our-ping")
                await wait_for(lambda: ("pong", b"our-ping") in c.events)
                await send("ping")
                await wait_for(lambda: ("ping", b"their-ping") in c.events)
                c.ws.close(1000)
                assert await c.closed == (1000, "")
            else:
                await ws.send(["our", " fragments"])
                assert await recv() == "our fragments"
                assert await asyncio.wait_for(await ws.ping(b"our-ping"), 5) >= 0
                await send("ping")
                await send("after ping")  # the engine answered their ping in between
                assert await recv() == "after ping"
                await ws.close()
            assert await srv.close_event() == (1000, "")

    arun(main(), 60)


THEIR_CLOSE_CASES = [
    # action, expected code at our client, reason at our client, expected at their server
    ("client-1000", 1000, "", (1000, "")),
    ("client-4000", 4000, "", (4000, "ours")),
    ("client-noreason", 1005, "", (1005, "")),
    # the engine answers a close frame with its code only
    ("close:4002:their bye", 4002, "their bye", (4002, "")),
    ("shutdown", 1001, "", (1001, "")),
    ("abort", 1006, "", None),
    ("client-terminate", 1006, "", (1006, "")),
]


@pytest.mark.parametrize("kind", CLIENT_KINDS)
@pytest.mark.parametrize("case, code, reason, their_expect", THEIR_CLOSE_CASES, ids=[c[0] for c in THEIR_CLOSE_CASES])
def test_their_server_our_client_close_paths(kind, case, code, reason, their_expect):
    async def main():
        async with TheirServer() as srv:
            url = f"ws://127.0.0.1:{srv.port}/"
            if kind == "callbacks":
                c = CallbackClient(url)
                await c.opened
                await c.send("hi")
                assert await c.recv() == "hi"
                if case == "client-1000":
                    c.ws.close(1000)
                elif case == "client-4000":
                    c.ws.close(4000, "ours")
                elif case == "client-noreason":
                    c.ws.close()
                elif case == "client-terminate":
                    c.ws.terminate()
                else:
                    await c.send(case)
                got = await asyncio.wait_for(c.closed, 10)
            else:
                ws = await uvws.connect(url)
                await ws.send("hi")
                assert await ws.recv() == "hi"
                if case == "client-1000":
                    await ws.close()
                elif case == "client-4000":
                    await ws.close(4000, "ours")
                elif case == "client-noreason":
                    ws.connection.close()  # no status code
                    await ws.wait_closed()
                elif case == "client-terminate":
                    ws.connection.terminate()
                    await ws.wait_closed()
                else:
                    await ws.send(case)
                    exc_type = uvws.ConnectionClosedOK if code in (1000, 1001, 1005) else uvws.ConnectionClosedError
                    with pytest.raises(exc_type) as ei:
                        await asyncio.wait_for(ws.recv(), 10)
                    assert ei.value.code == code
                got = (ws.close_code, ws.close_reason)
            # our client reports the server's close frame (code and reason)
            if case.startswith("client-") and case != "client-terminate":
                assert got[0] == code
            else:
                assert got == (code, reason)
            if their_expect is not None:
                ev = await srv.close_event()
                assert ev[0] == their_expect[0]
                if their_expect[0] not in (1005, 1006):
                    assert ev[1] == their_expect[1]

    arun(main(), 30)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_their_server_our_client_errors(kind):
    async def main():
        async with TheirServer(max_size=1000, subprotocols=["chat"]) as srv:
            base = f"ws://127.0.0.1:{srv.port}"
            if kind == "callbacks":
                c = CallbackClient(base + "/forbidden")
                with pytest.raises(uvws.InvalidStatus) as ei:
                    await c.opened
                assert ei.value.status == 403
                c = CallbackClient(base + "/", protocols=["chat"])
                await c.opened
                assert c.ws.protocol == "chat"
                c.ws.send(b"z" * 1001)
                assert (await c.closed)[0] == 1009
            else:
                with pytest.raises(uvws.InvalidStatus) as ei:
                    await uvws.connect(base + "/forbidden")
                assert ei.value.status == 403
                async with uvws.connect(base + "/", subprotocols=["chat"]) as ws:
                    assert ws.subprotocol == "chat"
                    await ws.send(b"z" * 1001)
                    with pytest.raises(uvws.ConnectionClosedError) as ei:
                        await ws.recv()
                    assert ei.value.code == 1009

    arun(main())


# ----------------------------------------------------------------------
# wss://
# ----------------------------------------------------------------------


@pytest.fixture
def tls(tls_files):
    if not engine_has_tls(tls_files):
        pytest.skip("the engine was built without TLS")
    return tls_files


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_wss_our_server_their_client(kind, tls):
    cert, key = tls

    async def main():
        srv = OurServer(kind, tls=uvws.TLSOptions(certfile=cert, keyfile=key), max_size=None)
        port = await srv.start()
        ctx = ssl.create_default_context(cafile=cert)
        async with ws_connect(f"wss://localhost:{port}/", ssl=ctx, max_size=None) as ws:
            for p in PAYLOADS:
                await ws.send(p)
                assert await ws.recv() == p
            big = bytes(range(256)) * (BIG // 256)
            await ws.send(big)
            assert await ws.recv() == big
            await ws.send(["f", "r", "ag"])
            assert await ws.recv() == "frag"
            await ws.send("close:4003:tls bye")
            with pytest.raises(websockets.ConnectionClosedError):
                await ws.recv()
            assert ws.close_code == 4003 and ws.close_reason == "tls bye"
        await srv.stop()

    arun(main(), 60)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_wss_their_server_our_client(kind, tls):
    cert, key = tls

    async def main():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        async with TheirServer(ssl=ctx) as srv:
            url = f"wss://localhost:{srv.port}/"
            our_tls = uvws.TLSContext()
            our_tls.load_verify_locations(cafile=cert)
            if kind == "callbacks":
                c = CallbackClient(url, tls=our_tls, max_payload=None)
                await c.opened
                send, recv = c.send, c.recv
            else:
                ws = await uvws.connect(url, tls=our_tls, max_size=None)
                send, recv = ws.send, ws.recv
            for p in PAYLOADS:
                await send(p)
                assert await recv() == p
            await send("big")
            assert await recv() == b"\x09" * BIG
            if kind == "callbacks":
                c.ws.close(1000)
                await c.closed
            else:
                await ws.close()
            assert await srv.close_event() == (1000, "")
            # an untrusted certificate fails the handshake
            if kind == "callbacks":
                c = CallbackClient(url)
                with pytest.raises(uvws.TLSError):
                    await c.opened
            else:
                with pytest.raises(uvws.TLSError):
                    await uvws.connect(url)

    arun(main(), 60)


def test_handshake_and_partial_write_latency():
    """Sockets that libuv starts watching during a run (an accepted
    connection; POLLOUT after a partial write) are watched before asyncio
    waits again: no handshake or write waits for the next timer tick."""

    async def main():
        srv = OurServer("callbacks")
        port = await srv.start()
        loop = asyncio.get_running_loop()
        t = loop.time()
        for _ in range(20):
            async with ws_connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send("x")
                assert await ws.recv() == "x"
        handshakes = loop.time() - t
        # a reply too large for the socket buffers, read by a client that
        # is slow to start reading
        async with ws_connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
            await ws.send("big")
            await asyncio.sleep(0.05)
            t = loop.time()
            assert len(await ws.recv()) == BIG
            big_reply = loop.time() - t
        await srv.stop()
        return handshakes, big_reply

    handshakes, big_reply = arun(main())
    assert handshakes < 1.5, f"20 handshakes took {handshakes:.2f}s"
    assert big_reply < 1.0, f"the 16 MiB reply took {big_reply:.2f}s"


# ----------------------------------------------------------------------
# permessage-deflate (RFC 7692), both ways
# ----------------------------------------------------------------------

DEFLATE_PAYLOADS = ["short", "compressible " * 5000, b"\x00" * 300000, bytes(range(256)) * 4000, "\u2603" * 100000]


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_deflate_our_server_their_client(kind):
    async def main():
        srv = OurServer(kind, deflate=True)
        port = await srv.start()
        async with ws_connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:  # websockets offers deflate
            assert "permessage-deflate" in ws.response.headers.get("Sec-WebSocket-Extensions", "")
            for p in DEFLATE_PAYLOADS:
                await ws.send(p)
                assert await ws.recv() == p
            await ws.send(["frag ", "mented ", "deflate"])
            assert await ws.recv() == "frag mented deflate"
            big = b"zz" * (BIG // 2)
            await ws.send(big)
            assert await ws.recv() == big
        # without the option the server declines the extension
        srv2 = OurServer(kind)
        port2 = await srv2.start()
        async with ws_connect(f"ws://127.0.0.1:{port2}/") as ws:
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
            await ws.send("plain")
            assert await ws.recv() == "plain"
        await srv.stop()
        await srv2.stop()

    arun(main(), 60)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_deflate_their_server_our_client(kind):
    async def main():
        offers = []
        async with TheirServer(compression="deflate", record_extensions=offers) as srv:
            url = f"ws://127.0.0.1:{srv.port}/"
            if kind == "callbacks":
                c = CallbackClient(url, per_message_deflate=True, max_payload=None)
                await c.opened
                assert "permessage-deflate" in c.ws.extensions
                send, recv = c.send, c.recv
            else:
                ws = await uvws.connect(url, compression="deflate", max_size=None)
                assert "permessage-deflate" in ws.extensions
                send, recv = ws.send, ws.recv
            for p in DEFLATE_PAYLOADS:
                await send(p)
                assert await recv() == p
            await send("big")
            assert await recv() == b"\x09" * BIG
            if kind == "callbacks":
                c.ws.send("not compressed", compress=False)
                assert await recv() == "not compressed"
                c.ws.close(1000)
                await c.closed
            else:
                await ws.close()
        assert offers and "permessage-deflate" in offers[0]

    arun(main(), 60)


def test_deflate_between_our_apis():
    async def main():
        server = uvws.Server(port=0, host="127.0.0.1", per_message_deflate={"threshold": 1, "server_no_context_takeover": True})
        server.on("connection", lambda ws, req: ws.on("message", ws.send))
        async with uvws.connect(f"ws://127.0.0.1:{server.port}/", compression={"level": 9}) as ws:
            assert ws.connection.compressed
            assert "server_no_context_takeover" in ws.extensions
            for p in DEFLATE_PAYLOADS + ["x", b""]:
                await ws.send(p)
                assert await ws.recv() == p
        with pytest.raises(TypeError):
            uvws.Server(port=0, per_message_deflate={"bogus": 1})
        with pytest.raises(ValueError):
            uvws.connect("ws://127.0.0.1:1/", compression="gzip")
        done = asyncio.get_running_loop().create_future()
        server.close(lambda: done.set_result(None))
        await done

    arun(main())

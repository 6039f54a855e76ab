"""Header injection through every Python API that takes headers or
subprotocols, and the server counters (stats()).

Every refused header must never reach the wire: raw sockets read the bytes
the server sends, or record the request a client would have sent.
"""

import asyncio
import socket

import pytest

from conftest import arun, wait_for

import uvws
from uvws import _loop, _uvws

UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)

BAD_HEADERS = [
    ("X-A", "a\r\nInjected: 1"),
    ("X-A", "a\nInjected: 1"),
    ("X-A", "a\x00Injected: 1"),
    ("X A", "1"),
    ("X-A\r\nInjected", "1"),
    ("", "1"),
]


async def raw_exchange(port, request=UPGRADE):
    """Send `request`, return every byte the server sent until it closed."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(request)
    data = await asyncio.wait_for(r.read(), 10)
    w.close()
    return data


class Recorder:
    """A TCP listener recording the request heads it receives."""

    def __init__(self):
        self.heads = []

    async def __aenter__(self):
        async def on_conn(r, w):
            try:
                self.heads.append(await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 10))
            except Exception:
                pass
            w.close()

        self.srv = await asyncio.start_server(on_conn, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.srv.sockets[0].getsockname()[1]}/"
        return self

    async def __aexit__(self, *exc):
        self.srv.close()
        await self.srv.wait_closed()


@pytest.mark.callback_errors_expected  # the hook raises: 500, and the error is logged
@pytest.mark.parametrize("name,value", BAD_HEADERS)
def test_process_request_headers_refused(name, value):
    async def main():
        async def handler(ws):
            await ws.recv()

        async with uvws.serve(handler, "127.0.0.1", 0, process_request=lambda req: (401, "no", [(name, value)])) as srv:
            data = await raw_exchange(srv.port)
            assert data.startswith(b"HTTP/1.1 500 "), data
            assert b"Injected" not in data and b"X-A" not in data and b"X A" not in data
            assert srv.stats()["rejected_by_app"] == 1

    arun(main())


@pytest.mark.callback_errors_expected  # the hook raises: 500, and the error is logged
@pytest.mark.parametrize("name,value", BAD_HEADERS[:4])
def test_verify_client_headers_refused(name, value):
    async def main():
        server = uvws.Server(port=0, host="127.0.0.1", verify_client=lambda req: (False, 401, "no", {name: value}))
        errors = []
        server.on("error", errors.append)
        try:
            data = await raw_exchange(server.port)
            assert data.startswith(b"HTTP/1.1 500 "), data
            assert b"Injected" not in data and name.encode() not in data
        finally:
            server.close()

    arun(main())


def test_valid_headers_still_sent():
    async def main():
        async with uvws.serve(lambda ws: ws.recv(), "127.0.0.1", 0, process_request=lambda req: (401, "no", [("X-A", "a\tb"), ("WWW-Authenticate", 'Basic realm="x"')])) as srv:
            data = await raw_exchange(srv.port)
            assert data.startswith(b"HTTP/1.1 401 ")
            assert b"\r\nX-A: a\tb\r\n" in data
            assert b'\r\nWWW-Authenticate: Basic realm="x"\r\n' in data

    arun(main())


@pytest.mark.parametrize("name,value", BAD_HEADERS)
def test_upgrade_accept_and_reject_raise_and_decide_nothing(name, value):
    """The extension's Upgrade: a refused header raises ValueError naming it,
    and the upgrade stays undecided (a later valid decision still works)."""
    async def main():
        L = _loop.attach()
        seen = []

        def hook(up, req, protocols):
            for decide in (lambda: up.accept(None, [(name, value)]), lambda: up.reject(403, "no", [(name, value)])):
                with pytest.raises(ValueError) as ei:
                    decide()
                seen.append(str(ei.value))
                assert not up.decided
            up.reject(403, "refused", [("X-Ok", "1")])
            assert up.decided

        srv = _uvws.Server(L, None, host="127.0.0.1", port=0, on_upgrade=hook)
        try:
            data = await raw_exchange(srv.port)
        finally:
            srv.close()
        assert data.startswith(b"HTTP/1.1 403 "), data
        assert b"\r\nX-Ok: 1\r\n" in data and b"Injected" not in data
        assert len(seen) == 2 and all("header" in m for m in seen), seen

    arun(main())


CLIENT_CASES = [
    dict(additional_headers={"X-A": "a\r\nInjected: 1"}),
    dict(additional_headers=[("X-A", "a\nInjected: 1")]),
    dict(additional_headers={"X-A": "a\x00b"}),
    dict(additional_headers={"X A": "1"}),
    dict(additional_headers={"X-A\r\nInjected": "1"}),
    dict(subprotocols=["a\x01b"]),
    dict(subprotocols=["a;b"]),
    dict(subprotocols=["X A"]),
    dict(subprotocols=["chat", "chat"]),
    dict(origin="http://x\r\nInjected: 1"),
]


def test_client_headers_subprotocols_origin_refused():
    async def main():
        async with Recorder() as rec:
            for kw in CLIENT_CASES:
                with pytest.raises(ValueError) as ei:
                    await uvws.connect(rec.url, **kw)
                assert any(w in str(ei.value) for w in ("header", "subprotocol", "origin")), (kw, ei.value)
            # The callback API: the same rules.
            for headers, protocols in (({"X-A": "a\r\nInjected: 1"}, None), (None, ["a;b"])):
                with pytest.raises(ValueError):
                    uvws.WebSocket(rec.url, protocols, headers=headers)
            # Nothing of those was sent; a valid request still is.
            with pytest.raises(Exception):
                await uvws.connect(rec.url, additional_headers={"X-A": "a"}, subprotocols=["chat"], open_timeout=5)
            await wait_for(lambda: len(rec.heads) == 1)
            assert b"\r\nX-A: a\r\n" in rec.heads[0]
            assert b"Injected" not in b"".join(rec.heads)

    arun(main())


# ----------------------------------------------------------------------
# stats()


def test_stats_fields_are_the_engines():
    assert list(uvws.STATS_FIELDS) == list(_uvws.STATS_FIELDS)
    for name in ("connections_open", "messages_in", "bytes_out", "sends_dropped", "pings_in", "pongs_coalesced", "closes_normal", "rejected_busy", "errors_protocol"):
        assert name in uvws.STATS_FIELDS and uvws.STATS_FIELDS[name]


def test_stats_asyncio_api_counters_move():
    async def main():
        async def handler(ws):
            async for m in ws:
                await ws.send(m)

        def pr(req):
            return (403, "no") if req.headers.get("X-Deny") else None

        async with uvws.serve(handler, "127.0.0.1", 0, process_request=pr) as srv:
            st = srv.stats()
            assert list(st) == list(uvws.STATS_FIELDS) and not any(st.values())
            url = f"ws://127.0.0.1:{srv.port}/"
            async with uvws.connect(url) as ws:
                await ws.send("one")
                assert await ws.recv() == "one"
                await ws.send(b"three")
                assert await ws.recv() == b"three"
                pong = await ws.ping(b"p")
                await asyncio.wait_for(pong, 5)
                st = srv.stats()
                assert st["connections_open"] == 1 and st["connections_total"] == 1
                assert st["messages_in"] == 2 and st["bytes_in"] == 8
                assert st["messages_out"] == 2 and st["bytes_out"] == 8
                assert st["pings_in"] == 1 and st["pongs_out"] == 1
            await wait_for(lambda: srv.stats()["connections_open"] == 0)
            with pytest.raises(uvws.InvalidStatus):
                await uvws.connect(url, additional_headers={"X-Deny": "1"})
            data = await raw_exchange(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert data.startswith(b"HTTP/1.1 4")
            st = srv.stats()
            assert st["closes_normal"] == 1
            assert st["rejected_by_app"] == 1
            assert st["rejected_bad_request"] == 1
        # After the server closed: the final values.
        assert srv.stats()["connections_total"] == 1

    arun(main())


def test_stats_events_api_counters_move():
    async def main():
        server = uvws.Server(port=0, host="127.0.0.1", max_payload=10)
        server.on("connection", lambda ws, req: ws.on("message", ws.send))
        try:
            url = f"ws://127.0.0.1:{server.port}/"
            async with uvws.connect(url) as ws:
                await ws.send("hi")
                assert await ws.recv() == "hi"
            async with uvws.connect(url) as ws:
                await ws.send("x" * 100)  # over max_payload: the server fails it with 1009
                with pytest.raises(uvws.ConnectionClosed):
                    await ws.recv()
            await wait_for(lambda: server.stats()["connections_open"] == 0)
            st = server.stats()
            assert st["connections_total"] == 2
            assert st["messages_in"] == 1 and st["messages_out"] == 1
            assert st["errors_too_big"] == 1
            assert st["closes_normal"] == 1
        finally:
            server.close()

    arun(main())


# ----------------------------------------------------------------------
# max_pending_handshakes reaches the engine


@pytest.mark.parametrize("api", ["events", "asyncio"])
def test_max_pending_handshakes(api):
    async def main():
        if api == "events":
            server = uvws.Server(port=0, host="127.0.0.1", max_pending_handshakes=1)
            port, stats, close = server.port, server.stats, server.close
        else:
            srv = await uvws.serve(lambda ws: ws.recv(), "127.0.0.1", 0, max_pending_handshakes=1)
            port, stats, close = srv.port, srv.stats, srv.close
        try:
            # A silent client holds the one handshake slot...
            r1, w1 = await asyncio.open_connection("127.0.0.1", port)
            await wait_for(lambda: stats()["handshakes_pending"] == 1)
            # ...so the next connection is answered 503 at once.
            data = await raw_exchange(port)
            assert data.startswith(b"HTTP/1.1 503 "), data
            assert stats()["rejected_busy"] == 1
            w1.close()
        finally:
            close()

    arun(main())


@pytest.mark.parametrize("offer", [
    b"permessage-deflate; server_max_window_bits=foo",
    b"permessage-deflate; foo",
    b"permessage-deflate;;",
])
def test_malformed_deflate_offer_is_400(offer):
    async def main():
        srv = await uvws.serve(lambda ws: ws.recv(), "127.0.0.1", 0, compression="deflate")
        try:
            req = UPGRADE.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: " + offer + b"\r\n\r\n")
            data = await raw_exchange(srv.port, req)
            assert data.startswith(b"HTTP/1.1 400 "), data
            assert b"Invalid Sec-WebSocket-Extensions header" in data
            assert srv.stats()["rejected_bad_request"] == 1
        finally:
            srv.close()

    arun(main())


def test_more_than_16384_fragments_is_1009():
    async def main():
        got = []

        async def handler(ws):
            async for m in ws:
                got.append(m)

        srv = await uvws.serve(handler, "127.0.0.1", 0)
        try:
            mask = b"\x01\x02\x03\x04"
            frames = [bytes([0x02, 0x80]) + mask]
            frames += [bytes([0x80 if i == 16384 else 0x00, 0x80]) + mask for i in range(1, 16385)]
            data = await raw_exchange(srv.port, UPGRADE + b"".join(frames))
            body = data[data.index(b"\r\n\r\n") + 4:]
            assert body[0] == 0x88 and int.from_bytes(body[2:4], "big") == 1009, body[:8]
            assert got == []
            # counted when the server's side of the connection is gone
            await wait_for(lambda: srv.stats()["errors_too_big"] == 1)
        finally:
            srv.close()

    arun(main())

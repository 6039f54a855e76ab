"""The asyncio API, for people who know ``websockets``.

::

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async def main():
        async with uvws.serve(echo, "127.0.0.1", 8765) as server:
            async with uvws.connect(f"ws://127.0.0.1:{server.port}/") as ws:
                await ws.send("hello")
                print(await ws.recv())

It runs on the running asyncio loop (the default loop or uvloop) and shares
the engine loop and the connection implementation with the callback API.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import os
from typing import Any, AsyncIterable, AsyncIterator, Awaitable, Callable, Dict, Generator, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Union

from . import _loop, _uvws
from ._errors import ConnectionClosed, ConnectionClosedOK, InvalidHandshake, InvalidStateError, InvalidStatus, InvalidURI, TLSError, closed_exception
from ._events import MAX_FRAGMENTS, _deflate, _headers, _limits, _ms
from ._http import Request, Response
from ._tls import TLSArg, to_engine

__all__ = ["State", "Connection", "ServerConnection", "ClientConnection", "WebSocketServer", "serve", "connect", "broadcast"]

Data = Union[str, bytes]
_NO_LIMIT_MS = 0x7FFFFFFF


class State(enum.IntEnum):
    """Connection state (as ``websockets.protocol.State``)."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


def _asyncio_limits(max_size: Optional[int], ping_interval: Optional[float], ping_timeout: Optional[float], close_timeout: Optional[float]) -> Dict[str, int]:
    d = _limits(max_size, MAX_FRAGMENTS, 0, False, None, ping_interval, ping_timeout, close_timeout)
    # Flow control is done here (send() waits for the engine's drain), so the
    # engine never has to drop a message.
    d["max_backpressure"] = 0
    if ping_interval and not ping_timeout:
        d["pong_timeout_ms"] = _NO_LIMIT_MS
    return d


def _compression(compression: Union[None, str, Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if compression is None:
        return None
    if compression == "deflate":
        return {}
    if isinstance(compression, Mapping):
        return _deflate(compression)
    raise ValueError(f"unsupported compression: {compression!r} (None or 'deflate')")


def _mark_retrieved(fut: "asyncio.Future[Any]") -> None:
    if fut.done() and not fut.cancelled():
        fut.exception()


class Connection:
    """An open WebSocket connection of the asyncio API (the common part of
    :class:`ServerConnection` and :class:`ClientConnection`).

    ``await recv()`` returns the next message (``str`` for text, ``bytes``
    for binary); ``async for message in ws`` iterates until a clean close;
    ``await send(message)`` sends ``str`` / bytes-like, or fragments from an
    (async) iterable; ``await close(code, reason)``; ``await ping()``
    returns a future resolved (with the latency) by the matching pong.

    Once the connection is closed, ``recv()`` and ``send()`` raise
    :class:`ConnectionClosedOK` (1000, 1001, 1005) or
    :class:`ConnectionClosedError` (other codes, 1006).

    Threads: the connection belongs to the thread of its event loop; only
    ``_uvws``-level ``send`` may be used from other threads (see
    :meth:`send_threadsafe`).
    """

    def __init__(self, conn: _uvws.Connection, aio: asyncio.AbstractEventLoop, max_queue: Optional[int]) -> None:
        self._c = conn
        self._aio = aio
        self._closed: "asyncio.Future[None]" = aio.create_future()
        self._drain_waiter: Optional["asyncio.Future[None]"] = None
        self._pings: Dict[bytes, Tuple["asyncio.Future[float]", float]] = {}
        conn._set_queue(max_queue or 0)
        conn._on_close = self._on_close
        conn._on_drain = self._on_drain
        conn._on_pong = self._on_pong

    # -- receiving -------------------------------------------------------

    async def recv(self, decode: Optional[bool] = None) -> Data:
        """The next message: ``str`` (text) or ``bytes`` (binary).

        ``decode=True`` returns text for binary messages too (UTF-8), and
        ``decode=False`` bytes for text messages. Raises
        :class:`ConnectionClosed` once the connection is closed and every
        received message was returned.
        """
        m = self._c._pop()
        if m is None:
            m = await self._recv_wait()
        if decode is None:
            return m
        if decode and isinstance(m, bytes):
            return m.decode()
        if not decode and isinstance(m, str):
            return m.encode()
        return m

    async def _recv_wait(self) -> Data:
        c = self._c
        while True:
            m = c._pop()
            if m is not None:
                return m
            if c.closed:
                raise self._exc()
            if c._waiter is not None:
                raise RuntimeError("cannot call recv() while another coroutine is already waiting for the next message")
            fut = self._aio.create_future()
            c._waiter = fut
            try:
                await fut
            finally:
                if c._waiter is fut:
                    c._waiter = None

    def __aiter__(self) -> "Connection":
        return self

    async def __anext__(self) -> Data:
        m = self._c._pop()
        if m is not None:
            return m
        try:
            return await self._recv_wait()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None

    # -- sending ---------------------------------------------------------

    async def send(self, message: Union[Data, bytearray, memoryview, Iterable[Data], AsyncIterable[Data]], text: Optional[bool] = None) -> None:
        """Send a message: ``str`` as text, bytes-like as binary (``text=``
        forces the type). An iterable or async iterable of ``str`` / bytes
        is sent as one fragmented message, one frame per item.

        Returns once the engine took the message (it waits while the
        socket's send buffer is full). Raises :class:`ConnectionClosed` if
        the connection is closing or closed.
        """
        binary = None if text is None else (not text)
        if isinstance(message, (str, bytes, bytearray, memoryview)):
            try:
                r = self._c.send(message, binary)
            except InvalidStateError:
                await self._raise_closed()
            if r:
                await self._drain()
            return
        if isinstance(message, Mapping):
            raise TypeError("data is a dict-like object")
        if hasattr(message, "__aiter__"):
            prev: Any = None
            async for item in message:
                if prev is not None:
                    await self._send_frame(prev, binary, False)
                prev = item
            if prev is not None:
                await self._send_frame(prev, binary, True)
            return
        if isinstance(message, Iterable):
            prev = None
            for item in message:
                if prev is not None:
                    await self._send_frame(prev, binary, False)
                prev = item
            if prev is not None:
                await self._send_frame(prev, binary, True)
            return
        raise TypeError(f"data must be str, bytes-like or an iterable, not {type(message).__name__}")

    async def _send_frame(self, data: Any, binary: Optional[bool], fin: bool) -> None:
        try:
            r = self._c.send(data, binary, fin)
        except InvalidStateError:
            await self._raise_closed()
        if r:
            await self._drain()

    def send_threadsafe(self, message: Union[Data, bytearray, memoryview], text: Optional[bool] = None) -> int:
        """Send from any thread without waiting (no flow control): the
        message is handed to the loop's thread. Returns the engine's
        status."""
        return self._c.send(message, None if text is None else (not text))

    async def _drain(self) -> None:
        fut = self._drain_waiter
        if fut is None or fut.done():
            fut = self._drain_waiter = self._aio.create_future()
        await fut
        if self._c.closed:
            raise self._exc()

    def _on_drain(self) -> None:
        fut = self._drain_waiter
        if fut is not None and not fut.done():
            fut.set_result(None)

    # -- control ---------------------------------------------------------

    async def ping(self, data: Union[None, str, bytes] = None) -> "asyncio.Future[float]":
        """Send a ping; returns a future that the matching pong resolves
        with the round-trip time in seconds (``await (await ws.ping())``).
        Without `data` a random 4-byte payload is used."""
        if data is None:
            payload = os.urandom(4)
            while payload in self._pings:
                payload = os.urandom(4)
        else:
            payload = data.encode() if isinstance(data, str) else bytes(data)
            if payload in self._pings:
                raise RuntimeError("already waiting for a pong with the same data")
        try:
            self._c.ping(payload)
        except InvalidStateError:
            await self._raise_closed()
        fut: "asyncio.Future[float]" = self._aio.create_future()
        self._pings[payload] = (fut, self._aio.time())
        return fut

    async def pong(self, data: Union[str, bytes] = b"") -> None:
        """Send an unsolicited pong."""
        try:
            self._c.pong(data)
        except InvalidStateError:
            await self._raise_closed()

    def _on_pong(self, data: bytes) -> None:
        if data not in self._pings:
            return
        now = self._aio.time()
        # A pong acknowledges its ping and every earlier one.
        for key in list(self._pings):
            fut, sent = self._pings.pop(key)
            if not fut.done():
                fut.set_result(now - sent)
            if key == data:
                break

    # -- closing ---------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Perform the closing handshake and wait until the connection is
        closed (at most ``close_timeout``). Never raises ConnectionClosed."""
        self._c.close(code, reason)
        await asyncio.shield(self._closed)

    async def wait_closed(self) -> None:
        """Wait until the connection is closed."""
        await asyncio.shield(self._closed)

    def _on_close(self, code: int, reason: str) -> None:
        if not self._closed.done():
            self._closed.set_result(None)
        fut = self._drain_waiter
        if fut is not None and not fut.done():
            fut.set_result(None)
        if self._pings:
            for f, _ in self._pings.values():
                if not f.done():
                    f.set_exception(self._exc())
                    _mark_retrieved(f)
            self._pings.clear()

    def _exc(self) -> ConnectionClosed:
        c = self._c
        return closed_exception(c.close_code, c.close_reason, c.error)

    async def _raise_closed(self) -> None:
        if not self._c.closed:
            await asyncio.shield(self._closed)
        raise self._exc()

    def _shutdown(self) -> None:
        self._c.close(1001, "going away")

    def _terminate_all(self) -> None:
        self._c.terminate()

    # -- properties ------------------------------------------------------

    @property
    def state(self) -> State:
        """CONNECTING, OPEN, CLOSING or CLOSED."""
        return State(self._c.ready_state)

    @property
    def subprotocol(self) -> Optional[str]:
        """The negotiated subprotocol, or None."""
        return self._c.protocol or None

    @property
    def remote_address(self) -> Optional[Tuple[str, int]]:
        """(host, port) of the peer."""
        return self._c.remote_address

    @property
    def close_code(self) -> Optional[int]:
        """The peer's close code once closed (1005: none; 1006: abnormal)."""
        return self._c.close_code

    @property
    def close_reason(self) -> Optional[str]:
        """The peer's close reason once closed."""
        return self._c.close_reason

    @property
    def buffered_amount(self) -> int:
        """Bytes accepted but not yet handed to the kernel."""
        return self._c.buffered_amount

    @property
    def extensions(self) -> str:
        """The negotiated Sec-WebSocket-Extensions value ("" if none)."""
        return self._c.extensions

    @property
    def connection(self) -> _uvws.Connection:
        """The engine connection underneath (shared with the callback API)."""
        return self._c

    # -- topics (server connections; loop thread only) -------------------

    def subscribe(self, topic: str) -> bool:
        """Subscribe to a topic filter: ``'+'`` matches one level, ``'#'``
        the rest (docs/topics.md). True if newly subscribed. Closing the
        connection unsubscribes it from everything."""
        return self._c.subscribe(topic)

    def unsubscribe(self, topic: str) -> bool:
        """True if the connection held exactly this filter."""
        return self._c.unsubscribe(topic)

    def is_subscribed(self, topic: str) -> bool:
        """True if the connection holds exactly this filter."""
        return self._c.is_subscribed(topic)

    @property
    def topics(self) -> List[str]:
        """The filters held, in subscription order."""
        return self._c.topics

    def publish(self, topic: str, message: Union[Data, bytearray, memoryview], text: Optional[bool] = None, compress: bool = True) -> int:
        """Send `message` to every subscriber of `topic` on this server
        except this connection; returns how many it was handed to."""
        return self._c.publish(topic, message, None if text is None else not text, compress)


class ServerConnection(Connection):
    """A connection accepted by :func:`serve`; ``request`` is the upgrade
    request (path, query, headers, remote_address)."""

    def __init__(self, conn: _uvws.Connection, aio: asyncio.AbstractEventLoop, request: Request, server: "WebSocketServer", max_queue: Optional[int]) -> None:
        super().__init__(conn, aio, max_queue)
        self.request = request
        self.server = server

    def __repr__(self) -> str:
        return f"<uvws.ServerConnection {self.remote_address} {self.state.name}>"


class ClientConnection(Connection):
    """A connection made by :func:`connect`; ``response`` is the server's
    101 response."""

    _response: Optional[Response] = None

    def __init__(self, conn: _uvws.Connection, aio: asyncio.AbstractEventLoop, max_queue: Optional[int]) -> None:
        super().__init__(conn, aio, max_queue)
        self._opened: "asyncio.Future[None]" = aio.create_future()
        conn._on_open = self._on_open

    @property
    def response(self) -> Optional[Response]:
        """The server's 101 response (status, headers)."""
        return self._response

    def _on_open(self, http: Tuple[Any, ...]) -> None:
        self._response = Response._from_tuple(http)
        if not self._opened.done():
            self._opened.set_result(None)

    def _on_close(self, code: int, reason: str) -> None:
        _loop.unregister(self)
        if not self._opened.done():
            err = self._c.error
            if err is None:
                err = InvalidHandshake("connection closed during the opening handshake")
            if isinstance(err, InvalidStatus):
                raw = self._c.__dict__.get("_http_response")
                if raw is not None:
                    err.response = Response._from_tuple(raw)
                    err.status = err.response.status
            self._opened.set_exception(err)
            _mark_retrieved(self._opened)
        super()._on_close(code, reason)

    @property
    def url(self) -> str:
        """The URL connected to."""
        return self._c.url or ""

    def __repr__(self) -> str:
        return f"<uvws.ClientConnection {self.url} {self.state.name}>"


# ----------------------------------------------------------------------
# Server
# ----------------------------------------------------------------------


class WebSocketServer:
    """A server started by :func:`serve`. ``port`` is the port bound;
    ``connections`` the open connections; :meth:`close` stops accepting and
    closes them (1001); :meth:`wait_closed` waits until everything,
    handlers included, has finished."""

    def __init__(self, handler: Callable[[ServerConnection], Awaitable[Any]], host: Optional[str], port: int, *, path: Optional[str], subprotocols: Optional[Sequence[str]], process_request: Optional[Callable[[Request], Any]], max_size: Optional[int], max_queue: Optional[int], ping_interval: Optional[float], ping_timeout: Optional[float], close_timeout: Optional[float], open_timeout: Optional[float], tls: TLSArg, max_connections: int, backlog: int, ipv6_only: bool, compression: Union[None, str, Mapping[str, Any]] = None, max_pending_handshakes: int = 1024) -> None:
        self._aio = asyncio.get_running_loop()
        L = _loop.attach()
        self._handler = handler
        self._max_queue = max_queue
        self._subprotocols = list(subprotocols) if subprotocols is not None else None
        self._process_request = process_request
        self._handlers: Set[ServerConnection] = set()
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._closed: "asyncio.Future[None]" = self._aio.create_future()
        hook = self._on_upgrade if (subprotocols is not None or process_request is not None) else None
        self._srv = _uvws.Server(
            L,
            self._on_open,
            host=host,
            port=port or 0,
            path=path,
            backlog=backlog,
            ipv6_only=ipv6_only,
            handshake_timeout_ms=_ms(open_timeout) or 10000,
            max_connections=max_connections,
            max_pending_handshakes=max_pending_handshakes,
            limits=_asyncio_limits(max_size, ping_interval, ping_timeout, close_timeout),
            tls=to_engine(tls),
            on_upgrade=hook,
            on_closed=self._on_closed,
            deflate=_compression(compression),
        )
        _loop.register(self)

    @property
    def port(self) -> int:
        """The port actually bound."""
        return self._srv.port

    @property
    def address(self) -> Tuple[str, int]:
        """(host, port) the server listens on."""
        return (self._srv.host or "0.0.0.0", self._srv.port)

    @property
    def connections(self) -> Set[ServerConnection]:
        """The open connections (handlers may still run for closed ones)."""
        return {ws for ws in self._handlers if ws._c.ready_state == _uvws.OPEN}

    def close(self, close_connections: bool = True) -> None:
        """Stop accepting connections and close the open ones with 1001."""
        self._srv.close()

    def publish(self, topic: str, message: Union[Data, bytearray, memoryview], text: Optional[bool] = None, compress: bool = True) -> int:
        """Send `message` to every connection subscribed to a filter matching
        `topic`, once each (framed once; docs/topics.md). Returns how many
        connections it was handed to. Loop thread only."""
        return self._srv.publish(topic, message, None if text is None else not text, compress)

    def num_subscribers(self, topic: str) -> int:
        """Connections holding exactly this filter."""
        return self._srv.num_subscribers(topic)
    def stats(self) -> Dict[str, int]:
        """The engine's counters for this server (``uvws.STATS_FIELDS``
        describes each); after the server closed, their final values."""
        return self._srv.stats()

    async def wait_closed(self) -> None:
        """Wait until the server, its connections and their handlers are done."""
        await asyncio.shield(self._closed)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def serve_forever(self) -> None:
        """Wait until the server is closed."""
        await self.wait_closed()

    async def __aenter__(self) -> "WebSocketServer":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
        await self.wait_closed()

    def _on_open(self, conn: _uvws.Connection, req: Tuple[Any, ...]) -> None:
        ws = ServerConnection(conn, self._aio, Request._from_tuple(req), self, self._max_queue)
        self._handlers.add(ws)
        task = self._aio.create_task(self._run(ws))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, ws: ServerConnection) -> None:
        try:
            await self._handler(ws)
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            ws._c.close(1001, "")
            raise
        except Exception:
            _loop.logger.error("connection handler failed", exc_info=True)
            ws._c.close(1011, "")
        else:
            ws._c.close(1000, "")
        finally:
            try:
                await ws.wait_closed()
            finally:
                self._handlers.discard(ws)

    def _on_upgrade(self, up: _uvws.Upgrade, req: Tuple[Any, ...], protocols: Tuple[str, ...]) -> None:
        request = Request._from_tuple(req)
        if self._process_request is not None:
            verdict = self._process_request(request)
            if inspect.isawaitable(verdict):
                self._aio.create_task(self._decide_later(up, request, protocols, verdict))
                return
        else:
            verdict = None
        self._decide(up, protocols, verdict)

    async def _decide_later(self, up: _uvws.Upgrade, request: Request, protocols: Tuple[str, ...], verdict: Awaitable[Any]) -> None:
        try:
            result = await verdict
            self._decide(up, protocols, result)
        except Exception:
            _loop.logger.error("process_request failed", exc_info=True)
            if not up.decided:
                up.reject(500, "Internal Server Error")

    def _decide(self, up: _uvws.Upgrade, protocols: Tuple[str, ...], verdict: Any) -> None:
        if up.aborted:
            up.reject(400)
            return
        if verdict is not None:
            status, body = verdict[0], verdict[1] if len(verdict) > 1 else None
            headers = _headers(verdict[2]) if len(verdict) > 2 else None
            up.reject(int(status), body, headers)
            return
        proto = None
        if self._subprotocols is not None:
            for p in self._subprotocols:
                if p in protocols:
                    proto = p
                    break
        elif protocols:
            proto = protocols[0]
        up.accept(proto)

    def _on_closed(self) -> None:
        _loop.unregister(self)
        if not self._closed.done():
            self._closed.set_result(None)

    def _shutdown(self) -> None:
        self._srv.close()

    def _terminate_all(self) -> None:
        for ws in list(self._handlers):
            ws._c.terminate()

    def __repr__(self) -> str:
        return f"<uvws.WebSocketServer port={self.port} connections={len(self.connections)}>"


class serve:
    """Start a WebSocket server on the running asyncio loop.

    ``handler(ws)`` is a coroutine function run for each connection (a
    :class:`ServerConnection`); the connection is closed (1000) when it
    returns, or with 1011 if it raises. Use it as ``async with serve(...) as
    server`` (closed on exit) or ``server = await serve(...)``.

    Options (websockets' names and defaults): ``subprotocols`` (the first of
    these that the client offers is chosen; without it, the client's first
    offer), ``process_request(request)`` (return None to continue or
    ``(status, body[, headers])`` to answer with an HTTP error; may be a
    coroutine function), ``max_size`` (1 MiB; None: no limit),
    ``max_queue`` (16 messages waiting for ``recv()`` before reading
    pauses; None: no limit), ``ping_interval`` / ``ping_timeout`` (20 s;
    None: off), ``close_timeout`` (10 s), ``open_timeout`` (10 s),
    ``ssl`` / ``tls`` (:class:`uvws.TLSOptions` / :class:`uvws.TLSContext`).
    Also ``path``, ``max_connections``, ``max_pending_handshakes`` (1024:
    beyond it, connections still in their opening handshake get 503),
    ``backlog``, ``ipv6_only``.
    ``compression="deflate"`` accepts permessage-deflate from clients that
    offer it (a dict gives the engine's settings, see
    :class:`uvws.WebSocket`); unlike websockets, the default is None (off).
    """

    def __init__(
        self,
        handler: Callable[[ServerConnection], Awaitable[Any]],
        host: Optional[str] = None,
        port: Optional[int] = None,
        *,
        path: Optional[str] = None,
        subprotocols: Optional[Sequence[str]] = None,
        process_request: Optional[Callable[[Request], Any]] = None,
        max_size: Optional[int] = 2**20,
        max_queue: Optional[int] = 16,
        ping_interval: Optional[float] = 20.0,
        ping_timeout: Optional[float] = 20.0,
        close_timeout: Optional[float] = 10.0,
        open_timeout: Optional[float] = 10.0,
        ssl: TLSArg = None,
        tls: TLSArg = None,
        max_connections: int = 0,
        backlog: int = 511,
        ipv6_only: bool = False,
        compression: Union[None, str, Mapping[str, Any]] = None,
        max_pending_handshakes: int = 1024,
    ) -> None:
        self._args = (handler, host, port or 0)
        self._kw: Dict[str, Any] = dict(path=path, subprotocols=subprotocols, process_request=process_request, max_size=max_size, max_queue=max_queue, ping_interval=ping_interval, ping_timeout=ping_timeout, close_timeout=close_timeout, open_timeout=open_timeout, tls=tls if tls is not None else ssl, max_connections=max_connections, backlog=backlog, ipv6_only=ipv6_only, compression=compression, max_pending_handshakes=max_pending_handshakes)
        self._server: Optional[WebSocketServer] = None

    async def _create(self) -> WebSocketServer:
        self._server = WebSocketServer(*self._args, **self._kw)
        return self._server

    def __await__(self) -> Generator[Any, None, WebSocketServer]:
        return self._create().__await__()

    async def __aenter__(self) -> WebSocketServer:
        return await self._create()

    async def __aexit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class connect:
    """Open a client connection on the running asyncio loop.

    ``async with connect(url) as ws`` (closed on exit) or ``ws = await
    connect(url)``; ``ws`` is a :class:`ClientConnection`. Fails with
    ``OSError`` (e.g. ``ConnectionRefusedError``), :class:`InvalidStatus`,
    :class:`InvalidHandshake`, :class:`InvalidURI` or
    :class:`ConnectionTimeout`.

    Options (websockets' names and defaults): ``subprotocols``,
    ``additional_headers`` (dict or pairs), ``origin``, ``open_timeout``
    (10 s), ``ping_interval`` / ``ping_timeout`` (20 s; None: off),
    ``close_timeout`` (10 s), ``max_size`` (1 MiB; None: no limit),
    ``max_queue`` (16), ``ssl`` / ``tls``, ``compression`` (``"deflate"``
    offers permessage-deflate; default None, unlike websockets).
    """

    def __init__(
        self,
        uri: str,
        *,
        subprotocols: Optional[Sequence[str]] = None,
        additional_headers: Union[None, Mapping[str, str], Iterable[Tuple[str, str]]] = None,
        extra_headers: Union[None, Mapping[str, str], Iterable[Tuple[str, str]]] = None,
        origin: Optional[str] = None,
        open_timeout: Optional[float] = 10.0,
        ping_interval: Optional[float] = 20.0,
        ping_timeout: Optional[float] = 20.0,
        close_timeout: Optional[float] = 10.0,
        max_size: Optional[int] = 2**20,
        max_queue: Optional[int] = 16,
        ssl: TLSArg = None,
        tls: TLSArg = None,
        compression: Union[None, str, Mapping[str, Any]] = None,
    ) -> None:
        self._uri = uri
        self._kw: Dict[str, Any] = dict(
            protocols=list(subprotocols) if subprotocols else None,
            headers=_headers(additional_headers if additional_headers is not None else extra_headers),
            origin=origin,
            connect_timeout_ms=_ms(open_timeout) or 0x7FFFFFFF,
            limits=_asyncio_limits(max_size, ping_interval, ping_timeout, close_timeout),
            tls=to_engine(tls if tls is not None else ssl),
            deflate=_compression(compression),
        )
        self._max_queue = max_queue
        self._ws: Optional[ClientConnection] = None

    async def _create(self) -> ClientConnection:
        aio = asyncio.get_running_loop()
        L = _loop.attach()
        c = _uvws.Connection()
        ws = ClientConnection(c, aio, self._max_queue)
        c._connect(L, self._uri, **self._kw)
        _loop.register(ws)
        try:
            await asyncio.shield(ws._opened)
        except asyncio.CancelledError:
            c.terminate()
            raise
        self._ws = ws
        return ws

    def __await__(self) -> Generator[Any, None, ClientConnection]:
        return self._create().__await__()

    async def __aenter__(self) -> ClientConnection:
        return await self._create()

    async def __aexit__(self, *exc: Any) -> None:
        if self._ws is not None:
            await self._ws.close()

    # Reconnection, as websockets' ``async for ws in connect(uri)``: each
    # iteration yields a new connection; after one that opened the next
    # dial is immediate, after failures the delay backs off (websockets'
    # defaults). What cannot get better by retrying is raised.
    BACKOFF_INITIAL_DELAY = float(os.environ.get("UVWS_BACKOFF_INITIAL_DELAY", "5"))
    BACKOFF_MIN_DELAY = float(os.environ.get("UVWS_BACKOFF_MIN_DELAY", "3.1"))
    BACKOFF_MAX_DELAY = float(os.environ.get("UVWS_BACKOFF_MAX_DELAY", "90.0"))
    BACKOFF_FACTOR = float(os.environ.get("UVWS_BACKOFF_FACTOR", "1.618"))

    @staticmethod
    def _retryable(exc: BaseException) -> bool:
        """The engine's rule (docs/client.md): a 4xx other than 429 or a 3xx,
        a bad URI and a certificate that failed verification are fatal;
        network errors, timeouts, 5xx and 429 are retried."""
        if isinstance(exc, InvalidStatus):
            return exc.status >= 500 or exc.status == 429
        if isinstance(exc, (InvalidURI, TypeError, ValueError)):
            return False
        if isinstance(exc, TLSError):
            return "certificate verify failed" not in str(exc)
        return isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError, InvalidHandshake))

    def _backoff(self) -> Iterable[float]:
        import random

        yield random.random() * self.BACKOFF_INITIAL_DELAY
        delay = self.BACKOFF_MIN_DELAY
        while delay < self.BACKOFF_MAX_DELAY:
            yield delay
            delay *= self.BACKOFF_FACTOR
        while True:
            yield self.BACKOFF_MAX_DELAY

    async def __aiter__(self) -> AsyncIterator[ClientConnection]:
        delays: Optional[Iterator[float]] = None
        while True:
            try:
                ws = await self._create()
            except Exception as exc:
                if not self._retryable(exc):
                    raise
                if delays is None:
                    delays = iter(self._backoff())
                await asyncio.sleep(next(delays))
                continue
            delays = None
            try:
                yield ws
            finally:
                await ws.close()


def unix_connect(path: str, uri: Optional[str] = None, **kwargs: Any) -> connect:
    """Connect over the Unix domain socket `path` (as websockets'
    ``unix_connect``): `uri` (default ``ws://localhost/``) only gives the
    request path and query. Options as :class:`connect`; ``async for``
    reconnects too."""
    from urllib.parse import urlsplit

    u = urlsplit(uri or "ws://localhost/")
    if u.scheme.lower() != "ws":
        raise InvalidURI(f"{uri} is not a ws:// URI (TLS over a Unix socket is not supported)")
    target = (u.path or "/") + (f"?{u.query}" if u.query else "")
    return connect(f"ws+unix:{path}:{target}", **kwargs)


def broadcast(connections: Iterable[Connection], message: Union[Data, bytearray, memoryview], text: Optional[bool] = None) -> None:
    """Send `message` to every open connection without waiting (as
    ``websockets.broadcast``). Connections that are not open are skipped;
    for a slow one the message is buffered. Loop thread only."""
    binary = None if text is None else (not text)
    for ws in connections:
        c = ws._c if isinstance(ws, Connection) else ws
        try:
            c.send(message, binary)
        except InvalidStateError:
            pass

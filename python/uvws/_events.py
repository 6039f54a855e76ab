"""The event-callback API, for people who know Node's ``ws``.

::

    import uvws

    server = uvws.Server(port=8080)

    @server.on("connection")
    def on_connection(ws, request):
        ws.on("message", lambda data, is_binary: ws.send(data))

    uvws.run()
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Type, TypeVar, Union

from . import _loop, _uvws
from ._http import Request, Response
from ._tls import TLSArg, to_engine

__all__ = ["EventEmitter", "WebSocket", "Server"]

F = TypeVar("F", bound=Callable[..., Any])

MiB = 1024 * 1024
#: frames per message beyond which a message is refused (1009), as ws
MAX_FRAGMENTS = 16384

# Events whose listener the engine calls directly when it is the only one.
_DIRECT = {"message": "_on_message", "ping": "_on_ping", "pong": "_on_pong", "drain": "_on_drain"}


def _ms(seconds: Optional[float]) -> int:
    if seconds is None or seconds <= 0:
        return 0
    return max(1, int(seconds * 1000))


def _limits(max_payload: Optional[int], max_fragments: int, max_backpressure: Optional[int], close_on_backpressure: bool, idle_timeout: Optional[float], ping_interval: Optional[float], pong_timeout: Optional[float], close_timeout: Optional[float]) -> Dict[str, int]:
    d = {
        "max_payload": max_payload if max_payload is not None else 0,
        "max_fragments": max_fragments or 0,
        "max_backpressure": max_backpressure or 0,
        "close_on_backpressure": 1 if close_on_backpressure else 0,
        "idle_timeout_ms": _ms(idle_timeout),
        "ping_interval_ms": _ms(ping_interval),
        "close_timeout_ms": _ms(close_timeout) or 5000,
    }
    if max_payload is None:
        d["max_payload"] = 1 << 62  # no limit
    if pong_timeout:
        d["pong_timeout_ms"] = _ms(pong_timeout)
    return d


_DEFLATE_KEYS = ("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits", "level", "mem_level", "threshold")


def _deflate(option: Union[None, bool, Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """permessage-deflate settings for the engine: None/False = off, True =
    the engine's defaults, or a dict with the keys of _DEFLATE_KEYS."""
    if option is None or option is False:
        return None
    if option is True:
        return {}
    if isinstance(option, Mapping):
        unknown = set(option) - set(_DEFLATE_KEYS)
        if unknown:
            raise TypeError(f"unknown permessage-deflate option(s): {', '.join(sorted(unknown))} (known: {', '.join(_DEFLATE_KEYS)})")
        return {k: (int(v) if isinstance(v, bool) else v) for k, v in option.items() if v is not None}
    raise TypeError("per_message_deflate must be a bool or a dict")


def _headers(headers: Union[None, Mapping[str, str], Iterable[Tuple[str, str]]]) -> Optional[List[Tuple[str, str]]]:
    if headers is None:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(k), str(v)) for k, v in items]


def _protocols(protocols: Union[None, str, Sequence[str]]) -> Optional[List[str]]:
    if protocols is None:
        return None
    if isinstance(protocols, str):
        return [protocols]
    return list(protocols)


class EventEmitter:
    """Node-style events: ``on``, ``once``, ``off``, ``emit``.

    ``on(event)`` without a listener is a decorator. A listener that raises
    is logged with its traceback and reported as an ``'error'`` event; it
    never stops the loop.
    """

    __slots__ = ()
    _events: Optional[Dict[str, List[Callable[..., Any]]]] = None

    def on(self, event: str, listener: Optional[Callable[..., Any]] = None) -> Any:
        """Add `listener` for `event`; returns self (or, used as a decorator
        without `listener`, the decorated function)."""
        if listener is None:

            def deco(fn: F) -> F:
                self.on(event, fn)
                return fn

            return deco
        if not callable(listener):
            raise TypeError("listener must be callable")
        ev = self._events
        if ev is None:
            ev = self._events = {}  # type: ignore[misc]
        ev.setdefault(event, []).append(listener)
        self._listeners_changed(event)
        return self

    add_listener = on

    def once(self, event: str, listener: Optional[Callable[..., Any]] = None) -> Any:
        """Like :meth:`on`, but the listener is removed after its first call."""
        if listener is None:

            def deco(fn: F) -> F:
                self.once(event, fn)
                return fn

            return deco

        def wrapper(*args: Any) -> Any:
            self.off(event, wrapper)
            return listener(*args)

        wrapper.listener = listener  # type: ignore[attr-defined]
        return self.on(event, wrapper)

    def off(self, event: str, listener: Callable[..., Any]) -> Any:
        """Remove one registration of `listener` for `event`; returns self."""
        ev = self._events
        lst = ev.get(event) if ev else None
        if lst:
            for i, fn in enumerate(lst):
                if fn is listener or getattr(fn, "listener", None) is listener:
                    del lst[i]
                    if not lst:
                        del ev[event]  # type: ignore[union-attr]
                    self._listeners_changed(event)
                    break
        return self

    remove_listener = off

    def remove_all_listeners(self, event: Optional[str] = None) -> Any:
        """Remove every listener of `event` (of all events if None)."""
        ev = self._events
        if ev:
            names = list(ev) if event is None else [event]
            for name in names:
                if ev.pop(name, None) is not None:
                    self._listeners_changed(name)
        return self

    def listeners(self, event: str) -> List[Callable[..., Any]]:
        """A copy of the listeners of `event`."""
        ev = self._events
        return [getattr(fn, "listener", fn) for fn in (ev.get(event, ()) if ev else ())]

    def listener_count(self, event: str) -> int:
        """How many listeners `event` has."""
        ev = self._events
        return len(ev.get(event, ())) if ev else 0

    def emit(self, event: str, *args: Any) -> bool:
        """Call every listener of `event` with `args`; False if it had none.
        A listener that raises is reported (log + 'error') and the others
        still run."""
        ev = self._events
        lst = ev.get(event) if ev else None
        if not lst:
            return False
        for fn in tuple(lst):
            try:
                fn(*args)
            except Exception as exc:
                _loop._error_hook(self, exc, "error-handler" if event == "error" else event)
        return True

    def _listeners_changed(self, event: str) -> None:
        pass

    def _callback_error(self, exc: BaseException, where: str) -> None:
        """A callback raised `exc` (already logged): emit 'error'."""
        self.emit("error", exc)


class WebSocket(EventEmitter, _uvws.Connection):
    """A WebSocket connection, as in ``ws``.

    Client: ``WebSocket(url, protocols=None, headers=None, tls=None, ...)``
    connects at once (the connection proceeds when the loop runs, e.g. in
    :func:`uvws.run`). Server side: handed to the ``'connection'`` listener
    of :class:`Server`.

    Events (``ws.on(event, listener)``):

    ``'open'`` ()
        the handshake completed (client).
    ``'upgrade'`` (response)
        the server's 101 response, just before ``'open'`` (client).
    ``'message'`` (data, is_binary)
        a whole message: ``str`` for text, ``bytes`` for binary.
    ``'ping'`` (data) / ``'pong'`` (data)
        a ping (already answered) or pong arrived.
    ``'drain'`` ()
        the send buffer emptied after :meth:`send` returned ``SEND_QUEUED``.
    ``'error'`` (exc)
        a failure (protocol violation, socket error, timeout, failed
        handshake) or an exception raised by one of your listeners.
    ``'close'`` (code, reason)
        always last: the peer's close code (1005: none, 1006: no closing
        handshake) and reason.

    Methods: :meth:`send` (``send(data, binary=None, fin=True,
    compress=True)``), :meth:`ping`, :meth:`pong`, :meth:`close`,
    :meth:`terminate`, :meth:`pause`, :meth:`resume`. Properties:
    ``ready_state``, ``buffered_amount``, ``protocol``, ``extensions``,
    ``url``, ``remote_address``, ``close_code``, ``close_reason``.

    Threads: every callback runs in the thread that owns the loop, holding
    the GIL. :meth:`send`, :meth:`ping`, :meth:`pong`, :meth:`close` and
    :meth:`terminate` may be called from any thread: from another thread the
    call is handed to the loop thread (in order) and :meth:`send` returns
    ``SEND_QUEUED``.
    """

    CONNECTING = _uvws.CONNECTING
    OPEN = _uvws.OPEN
    CLOSING = _uvws.CLOSING
    CLOSED = _uvws.CLOSED

    _server: Optional["Server"] = None
    _request: Optional[Request] = None
    _response: Optional[Response] = None

    def __init__(
        self,
        url: str,
        protocols: Union[None, str, Sequence[str]] = None,
        *,
        headers: Union[None, Mapping[str, str], Iterable[Tuple[str, str]]] = None,
        origin: Optional[str] = None,
        tls: TLSArg = None,
        handshake_timeout: float = 30.0,
        max_payload: Optional[int] = 100 * MiB,
        max_fragments: int = MAX_FRAGMENTS,
        max_backpressure: Optional[int] = 16 * MiB,
        close_on_backpressure: bool = False,
        ping_interval: Optional[float] = None,
        pong_timeout: Optional[float] = 30.0,
        idle_timeout: Optional[float] = None,
        close_timeout: float = 5.0,
        max_response_bytes: Optional[int] = None,
        per_message_deflate: Union[bool, Mapping[str, Any]] = False,
    ) -> None:
        """Connect to `url` (``ws://host[:port][/path][?query]``; ``wss://``
        with ``tls`` options when the engine has TLS).

        ``protocols``: subprotocols to offer. ``headers``: extra request
        headers. ``handshake_timeout``: seconds for DNS + TCP + TLS +
        upgrade. ``max_payload``: largest message accepted (larger: close
        1009; None: no limit). ``max_fragments``: frames one message may
        have (more: close 1009; 0: no limit). ``max_backpressure``: bytes a send may leave
        buffered before further sends are dropped (``SEND_DROPPED``) or, with
        ``close_on_backpressure``, the connection closed. ``ping_interval``:
        send a ping after that many seconds without traffic, and fail (1006)
        if nothing arrives within ``pong_timeout``. ``idle_timeout``: close
        after that long without any frame. ``close_timeout``: how long to
        wait for the peer's close frame. ``per_message_deflate``: offer
        permessage-deflate (RFC 7692): True for the engine's defaults, or a
        dict (``server_no_context_takeover``, ``client_no_context_takeover``,
        ``server_max_window_bits``, ``client_max_window_bits``, ``level``,
        ``mem_level``, ``threshold``: messages shorter than it, 1024 bytes by
        default, go uncompressed); off by default (ws offers it by default).
        """
        L = _loop.attach()
        self._events = None
        self._on_open = self._c_open
        self._on_error = self._c_error
        self._on_close = self._c_close
        self._connect(
            L,
            url,
            protocols=_protocols(protocols),
            headers=_headers(headers),
            origin=origin,
            connect_timeout_ms=_ms(handshake_timeout) or 30000,
            max_response_bytes=max_response_bytes or 0,
            limits=_limits(max_payload, max_fragments, max_backpressure, close_on_backpressure, idle_timeout, ping_interval, pong_timeout, close_timeout),
            tls=to_engine(tls),
            deflate=_deflate(per_message_deflate),
        )
        _loop.register(self)

    # -- engine adapters -------------------------------------------------

    def _listeners_changed(self, event: str) -> None:
        slot = _DIRECT.get(event)
        if slot is None:
            return
        lst = self._events.get(event) if self._events else None
        if not lst or self.closed:
            setattr(self, slot, None)
        elif len(lst) == 1:
            setattr(self, slot, lst[0])  # the engine calls it directly
        else:
            setattr(self, slot, functools.partial(self.emit, event))

    def _c_open(self, http: Tuple[Any, ...]) -> None:
        self._response = Response._from_tuple(http)
        self.emit("upgrade", self._response)
        self.emit("open")

    def _c_error(self, exc: BaseException) -> None:
        if not self.emit("error", exc):
            _loop.logger.debug("connection %r: %s", self, exc)

    def _c_close(self, code: int, reason: str) -> None:
        srv = self._server
        if srv is not None:
            srv.clients.discard(self)
        else:
            _loop.unregister(self)
        self.emit("close", code, reason)

    def _shutdown(self) -> None:
        self.close(1001, "going away")

    def _terminate_all(self) -> None:
        self.terminate()

    # -- API -------------------------------------------------------------

    def close(self, code: Optional[int] = None, reason: Union[str, bytes] = "") -> None:
        """Start the closing handshake. Without `code` the close frame has no
        status code (the peer sees 1005), unless a `reason` is given (then
        1000). ``'close'`` follows when the peer answers or after
        ``close_timeout``. Closing twice does nothing."""
        if code is None:
            code = 1000 if reason else 0
        _uvws.Connection.close(self, code, reason)

    @property
    def request(self) -> Optional[Request]:
        """Server side: the upgrade request."""
        return self._request

    @property
    def response(self) -> Optional[Response]:
        """Client side: the server's 101 response, once open."""
        return self._response

    def __repr__(self) -> str:
        state = ("CONNECTING", "OPEN", "CLOSING", "CLOSED")[self.ready_state]
        who = self.url if self.is_client else self.remote_address
        return f"<uvws.WebSocket {who} {state}>"


class Server(EventEmitter):
    """A WebSocket server, as ``ws``'s ``WebSocketServer``; listens as soon
    as it is constructed (``server.port`` is the port bound, also with
    ``port=0``).

    Events: ``'connection'`` (ws, request), ``'error'`` (exc), ``'close'`` ()
    once the server and all its connections are gone.

    ``clients`` is the set of open connections; :meth:`close` stops
    listening and closes every connection with 1001; :meth:`broadcast`
    sends one message to all.
    """

    def __init__(
        self,
        port: int = 0,
        host: Optional[str] = None,
        *,
        path: Optional[str] = None,
        max_payload: Optional[int] = 100 * MiB,
        max_fragments: int = MAX_FRAGMENTS,
        verify_client: Optional[Callable[[Request], Any]] = None,
        handle_protocols: Optional[Callable[[List[str], Request], Optional[str]]] = None,
        tls: TLSArg = None,
        ping_interval: Optional[float] = None,
        pong_timeout: Optional[float] = 30.0,
        idle_timeout: Optional[float] = None,
        close_timeout: float = 5.0,
        max_backpressure: Optional[int] = 16 * MiB,
        close_on_backpressure: bool = False,
        backlog: int = 511,
        ipv6_only: bool = False,
        max_connections: int = 0,
        max_pending_handshakes: int = 1024,
        handshake_timeout: float = 10.0,
        max_header_bytes: int = 8192,
        max_headers: int = 64,
        per_message_deflate: Union[bool, Mapping[str, Any]] = False,
        websocket_class: Type[WebSocket] = WebSocket,
    ) -> None:
        """Bind and listen on `host` (default all IPv4 interfaces; "::" for
        both families) and `port` (0: any free port).

        ``path``: accept upgrades only for this path (others get 400).
        ``verify_client(request)``: return True to accept, False or
        ``(False, status, message[, headers])`` to reject; may be a
        coroutine function (the upgrade waits for it). ``handle_protocols
        (protocols, request)``: return the subprotocol to answer with (one
        of `protocols`) or None; without it the first offered one is chosen,
        as in ws. ``tls``: :class:`uvws.TLSOptions` / :class:`uvws.TLSContext`
        for wss://. The limits and timeouts are those of
        :class:`WebSocket`, in seconds; ``max_connections`` answers further
        upgrades with 503, as ``max_pending_handshakes`` does for
        connections still in their opening handshake (0: no limit);
        ``handshake_timeout`` bounds the upgrade request.
        ``per_message_deflate``: accept permessage-deflate (RFC 7692) when a
        client offers it: True for the engine's defaults or a dict, as for
        :class:`WebSocket`; off by default (as in ws).
        """
        L = _loop.attach()
        self._events = None
        self.clients: Set[WebSocket] = set()
        self._verify = verify_client
        self._handle_protocols = handle_protocols
        hook = self._on_upgrade if (verify_client is not None or handle_protocols is not None) else None
        self._srv = _uvws.Server(
            L,
            self._on_open,  # type: ignore[arg-type]
            host=host,
            port=port,
            path=path,
            backlog=backlog,
            ipv6_only=ipv6_only,
            max_header_bytes=max_header_bytes,
            max_headers=max_headers,
            handshake_timeout_ms=_ms(handshake_timeout) or 10000,
            max_connections=max_connections,
            max_pending_handshakes=max_pending_handshakes,
            limits=_limits(max_payload, max_fragments, max_backpressure, close_on_backpressure, idle_timeout, ping_interval, pong_timeout, close_timeout),
            tls=to_engine(tls),
            on_upgrade=hook,
            on_closed=self._on_closed,
            connection_type=websocket_class,
            deflate=_deflate(per_message_deflate),
        )
        self._srv._topic_callbacks(self._on_subscription, self._on_dropped)
        _loop.register(self)

    @property
    def port(self) -> int:
        """The port actually bound."""
        return self._srv.port

    def address(self) -> Tuple[str, int]:
        """(host, port) the server listens on."""
        return (self._srv.host or "0.0.0.0", self._srv.port)

    @property
    def closed(self) -> bool:
        """True once the server and all its connections are gone."""
        return self._srv.closed

    def close(self, callback: Optional[Callable[[], Any]] = None) -> None:
        """Stop accepting and close every connection with 1001 (going away);
        ``'close'`` (and `callback`) follow once everything is gone."""
        if callback is not None:
            if self._srv.closed:
                callback()
                return
            self.once("close", callback)
        self._srv.close()

    def broadcast(self, data: Union[str, bytes, bytearray, memoryview], binary: Optional[bool] = None) -> int:
        """Send one message to every open connection (the frame header is
        built once); returns how many connections it was handed to. Loop
        thread only."""
        return self._srv.broadcast(data, binary)

    def publish(self, topic: str, data: Union[str, bytes, bytearray, memoryview], binary: Optional[bool] = None, compress: bool = True) -> int:
        """Send one message to every connection subscribed to a filter that
        matches `topic` (once each, framed once; see ``WebSocket.subscribe``
        and docs/topics.md). Returns how many connections it was handed to.
        Loop thread only."""
        return self._srv.publish(topic, data, binary, compress)

    def num_subscribers(self, topic: str) -> int:
        """Connections holding exactly this filter (string comparison)."""
        return self._srv.num_subscribers(topic)
    def stats(self) -> Dict[str, int]:
        """The engine's counters for this server: connections, upgrades
        rejected by reason, messages and bytes each way, sends dropped,
        pings and pongs, closes by code, errors by reason
        (``uvws.STATS_FIELDS`` describes each). Loop thread only; after
        the server closed, their final values."""
        return self._srv.stats()

    # -- engine adapters -------------------------------------------------

    def _on_open(self, ws: WebSocket, req: Tuple[Any, ...]) -> None:
        request = Request._from_tuple(req)
        ws._request = request
        ws._server = self
        ws._on_close = ws._c_close
        ws._on_error = ws._c_error
        self.clients.add(ws)
        if not self.emit("connection", ws, request):
            _loop.logger.debug("server %r: connection without a 'connection' listener", self)

    def _on_upgrade(self, up: _uvws.Upgrade, req: Tuple[Any, ...], protocols: Tuple[str, ...]) -> None:
        request = Request._from_tuple(req)
        if self._verify is None:
            self._decide(up, request, protocols, True)
            return
        verdict = self._verify(request)
        if inspect.isawaitable(verdict):
            asyncio.ensure_future(self._decide_later(up, request, protocols, verdict))
        else:
            self._decide(up, request, protocols, verdict)

    async def _decide_later(self, up: _uvws.Upgrade, request: Request, protocols: Tuple[str, ...], verdict: Any) -> None:
        try:
            result = await verdict
        except Exception as exc:
            _loop._error_hook(self, exc, "verify_client")
            up.reject(500)
            return
        try:
            self._decide(up, request, protocols, result)
        except Exception as exc:
            _loop._error_hook(self, exc, "verify_client")
            if not up.decided:
                up.reject(500)

    def _decide(self, up: _uvws.Upgrade, request: Request, protocols: Tuple[str, ...], verdict: Any) -> None:
        if up.aborted:
            up.reject(400)  # frees it
            return
        status, message, headers = 401, "Unauthorized", None
        if isinstance(verdict, tuple):
            ok = bool(verdict[0])
            if len(verdict) > 1:
                status = verdict[1]
            if len(verdict) > 2:
                message = verdict[2]
            if len(verdict) > 3:
                headers = _headers(verdict[3])
        else:
            ok = bool(verdict)
        if not ok:
            up.reject(status, message, headers)
            return
        proto: Optional[str] = None
        if protocols:
            if self._handle_protocols is not None:
                proto = self._handle_protocols(list(protocols), request) or None
            else:
                proto = protocols[0]
        up.accept(proto)

    def _on_closed(self) -> None:
        _loop.unregister(self)
        self.emit("close")

    def _on_subscription(self, ws: WebSocket, topic: str, new_count: int, old_count: int) -> None:
        self.emit("subscription", ws, topic, new_count, old_count)

    def _on_dropped(self, ws: WebSocket, topic: Optional[str], data: Union[str, bytes]) -> None:
        self.emit("dropped", ws, topic, data)

    def _shutdown(self) -> None:
        self._srv.close()

    def _terminate_all(self) -> None:
        for ws in list(self.clients):
            ws.terminate()

    def __repr__(self) -> str:
        return f"<uvws.Server port={self.port} clients={len(self.clients)}>"

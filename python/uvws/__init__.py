"""uvws: WebSocket (RFC 6455) server and client on a C engine (libuv, llhttp).

Two APIs over one implementation:

* event callbacks, as Node's ``ws``: :class:`Server`, :class:`WebSocket`,
  :func:`run`;
* asyncio, as ``websockets``: :func:`serve`, :func:`connect`,
  :class:`ServerConnection`, :class:`ClientConnection`.

Both run on the running asyncio event loop (default loop or uvloop): the
engine's libuv loop is driven from it, in the same thread. Callbacks run
holding the GIL; the GIL is released while the loop waits. ``send``,
``ping``, ``pong``, ``close`` and ``terminate`` of a connection may be called
from any thread.

An exception raised by a callback is logged (logger ``"uvws"``) with its
traceback and reported as an ``'error'`` event; it never stops the loop.
"""

from . import _uvws
from ._asyncio import ClientConnection, Connection, ServerConnection, State, WebSocketServer, broadcast, connect, serve, unix_connect
from ._errors import (
    BackpressureError,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    ConnectionTimeout,
    InvalidHandshake,
    InvalidStateError,
    InvalidStatus,
    InvalidURI,
    NotSupportedError,
    PayloadTooBig,
    ProtocolError,
    TLSError,
    WebSocketError,
)
from ._events import EventEmitter, Server, WebSocket
from ._http import Headers, Request, Response
from ._loop import get_loop, run, stop
from ._tls import TLSContext, TLSOptions

__version__ = "0.1.0"

#: ready states
CONNECTING = _uvws.CONNECTING
OPEN = _uvws.OPEN
CLOSING = _uvws.CLOSING
CLOSED = _uvws.CLOSED

#: results of ``send()``: written (or corked for this loop turn)
SEND_OK = _uvws.SEND_OK
#: results of ``send()``: accepted but buffered; wait for ``'drain'``
SEND_QUEUED = _uvws.SEND_QUEUED
#: results of ``send()``: not sent, ``max_backpressure`` would be exceeded
SEND_DROPPED = _uvws.SEND_DROPPED

#: engine error codes by value, e.g. ``errorcodes[-30002] == "ECLOSED"``
errorcodes = dict(_uvws.errorcodes)
#: what each counter of ``Server.stats()`` / ``WebSocketServer.stats()``
#: counts, by name (the engine's UVWS_STATS_MAP, in its order)
STATS_FIELDS = dict(_uvws.STATS_FIELDS)


def engine_version() -> str:
    """Version of the C engine linked into the extension."""
    return _uvws.version()


__all__ = [
    "BackpressureError",
    "CLOSED",
    "CLOSING",
    "CONNECTING",
    "ClientConnection",
    "Connection",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "ConnectionTimeout",
    "EventEmitter",
    "Headers",
    "InvalidHandshake",
    "InvalidStateError",
    "InvalidStatus",
    "InvalidURI",
    "NotSupportedError",
    "OPEN",
    "PayloadTooBig",
    "ProtocolError",
    "Request",
    "Response",
    "SEND_DROPPED",
    "SEND_OK",
    "SEND_QUEUED",
    "Server",
    "ServerConnection",
    "State",
    "TLSContext",
    "TLSError",
    "TLSOptions",
    "WebSocket",
    "WebSocketError",
    "WebSocketServer",
    "broadcast",
    "connect",
    "unix_connect",
    "engine_version",
    "errorcodes",
    "STATS_FIELDS",
    "get_loop",
    "run",
    "serve",
    "stop",
]

"""Exceptions raised by uvws, and the translation of engine error codes."""

from __future__ import annotations

import errno as _errno
from typing import Optional

from . import _uvws

__all__ = [
    "WebSocketError",
    "InvalidStateError",
    "InvalidURI",
    "InvalidHandshake",
    "InvalidStatus",
    "ProtocolError",
    "PayloadTooBig",
    "ConnectionTimeout",
    "BackpressureError",
    "TLSError",
    "NotSupportedError",
    "ConnectionClosed",
    "ConnectionClosedOK",
    "ConnectionClosedError",
]


class WebSocketError(Exception):
    """Base class of the errors the uvws engine reports.

    ``code`` is the engine's error code (``uvws.errorcodes`` names them) and
    ``message`` a human-readable description.
    """

    code: int
    message: str

    def __init__(self, message: str = "", code: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class InvalidStateError(WebSocketError):
    """The operation needs an open connection (it is connecting, closing or
    closed)."""


class InvalidURI(WebSocketError, ValueError):
    """The URL is not a valid ``ws://`` or ``wss://`` URL."""


class InvalidHandshake(WebSocketError):
    """The opening handshake failed (bad response, wrong
    ``Sec-WebSocket-Accept``, subprotocol or extension not offered)."""


class InvalidStatus(InvalidHandshake):
    """The server answered the upgrade with an HTTP status other than 101.

    ``status`` holds that status (0 if unknown) and ``response`` the
    :class:`uvws.Response` when it was received.
    """

    status: int
    response: object

    def __init__(self, message: str = "", code: int = 0, status: int = 0, response: object = None) -> None:
        super().__init__(message, code)
        self.status = status
        self.response = response


class ProtocolError(WebSocketError):
    """The peer violated the WebSocket protocol."""


class PayloadTooBig(WebSocketError):
    """A message exceeded ``max_payload`` / ``max_size``."""


class ConnectionTimeout(WebSocketError, TimeoutError):
    """The opening handshake, a ping or the idle timeout expired."""


class BackpressureError(WebSocketError):
    """``max_backpressure`` was exceeded with ``close_on_backpressure``."""


class TLSError(WebSocketError):
    """A TLS failure (handshake, certificate verification, bad key)."""


class NotSupportedError(WebSocketError, NotImplementedError):
    """The engine does not support this (e.g. TLS in a build without it)."""


# Close codes that count as a normal end (as in websockets): normal closure,
# going away, and a close frame without a status code.
_OK_CODES = frozenset((1000, 1001, 1005))


class ConnectionClosed(WebSocketError):
    """The connection is closed; ``code`` and ``reason`` are the close code
    and reason the peer sent (1005: its close frame had no code; 1006: no
    closing handshake at all).

    Raised by the asyncio API by ``recv()``, ``send()`` and friends once the
    connection is closed. ``ConnectionClosedOK`` means a clean close with
    1000, 1001 or 1005; anything else is ``ConnectionClosedError``.
    """

    reason: str
    cause: Optional[BaseException]

    def __init__(self, code: int, reason: str = "", cause: Optional[BaseException] = None) -> None:
        text = f"received {code}" + (f" ({reason})" if reason else "")
        if cause is not None:
            text += f"; {cause}"
        super().__init__(text, code)
        self.reason = reason
        self.cause = cause

    @property
    def rcvd_code(self) -> int:
        """Alias of ``code`` (websockets spells it ``rcvd.code``)."""
        return self.code


class ConnectionClosedOK(ConnectionClosed):
    """The connection closed cleanly (1000, 1001 or 1005)."""


class ConnectionClosedError(ConnectionClosed):
    """The connection closed with an error code, or without a closing
    handshake (1006)."""


def closed_exception(code: Optional[int], reason: Optional[str], error: Optional[BaseException]) -> ConnectionClosed:
    """The ConnectionClosed subclass that describes how a connection ended."""
    code = 1006 if code is None else code
    reason = reason or ""
    if error is None and code in _OK_CODES:
        return ConnectionClosedOK(code, reason)
    return ConnectionClosedError(code, reason, error)


_BY_NAME = {
    "EINVAL": ValueError,
    "ELIMIT": ValueError,
    "ECLOSED": InvalidStateError,
    "ENOTOPEN": InvalidStateError,
    "EURL": InvalidURI,
    "EHANDSHAKE": InvalidHandshake,
    "ESTATUS": InvalidStatus,
    "EACCEPT": InvalidHandshake,
    "EPROTOCOL": InvalidHandshake,
    "EEXTENSION": InvalidHandshake,
    "ETIMEDOUT": ConnectionTimeout,
    "ETOOBIG": PayloadTooBig,
    "EBACKPRESSURE": BackpressureError,
    "ENOMEM": MemoryError,
    "ETLS": TLSError,
    "ENOTSUP": NotSupportedError,
    "EREMOTE": ProtocolError,
}


def make_error(code: int, message: str) -> BaseException:
    """Build the exception for an engine (UVWS_E*) or libuv (UV_E*) code.

    libuv's codes are negated errno values: they become ``OSError`` (Python
    picks the subclass, e.g. ``ConnectionRefusedError``)."""
    name = _uvws.errorcodes.get(code)
    if name is None:
        if -4096 < code < 0:
            err = -code
            text = message
            std = _uvws.strerror(code)
            if std and std != message:
                text = f"{message}: {std}"
            if err == _errno.ETIMEDOUT:
                return ConnectionTimeout(text, code)
            return OSError(err, text)
        return WebSocketError(message, code)
    cls = _BY_NAME.get(name, WebSocketError)
    if cls is ValueError:
        return ValueError(message)
    exc: BaseException
    if cls is MemoryError:
        return MemoryError(message)
    if cls is InvalidStatus:
        status = 0
        tail = message.rsplit(":", 1)[-1].strip()
        if tail.isdigit():
            status = int(tail)
        return InvalidStatus(message, code, status)
    exc = cls(message, code)
    return exc

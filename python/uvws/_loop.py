"""The per-thread engine loop, its asyncio driver, and ``uvws.run()``.

Each thread that uses uvws gets one engine loop (a libuv loop inside the
extension). It is driven from that thread's running asyncio loop: the libuv
backend fd is watched with ``add_reader``, its next timer mirrored with
``call_later``, and every wakeup runs one non-blocking libuv iteration
holding the GIL; the GIL is released while asyncio waits. The event-callback
API (``uvws.Server``, ``uvws.WebSocket``) and the asyncio API
(``uvws.serve``, ``uvws.connect``) both run this way, on the same loop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from typing import Any, Callable, Dict, Optional, Set

from . import _uvws
from ._errors import make_error

__all__ = ["get_loop", "run", "stop", "logger"]

logger = logging.getLogger("uvws")


class _State(threading.local):
    def __init__(self) -> None:
        self.loop: Optional[_uvws.Loop] = None
        self.stop_future: Optional["asyncio.Future[None]"] = None
        self.aio: Optional[asyncio.AbstractEventLoop] = None
        # Servers and client connections of this thread that are not closed
        # yet: what a graceful stop (Ctrl-C, SIGTERM, stop()) has to close.
        self.live: Set[Any] = set()


_state = _State()


def get_loop() -> _uvws.Loop:
    """This thread's engine loop (created on first use)."""
    L = _state.loop
    if L is None:
        L = _state.loop = _uvws.Loop()
    return L


def attach() -> _uvws.Loop:
    """This thread's engine loop, attached to the running asyncio loop if
    there is one (else it runs once one is attached, e.g. by ``run()``)."""
    L = get_loop()
    try:
        aio = asyncio.get_running_loop()
    except RuntimeError:
        return L
    if L.attached is not aio:
        L.attach(aio)
    return L


def register(obj: Any) -> None:
    _state.live.add(obj)


def unregister(obj: Any) -> None:
    _state.live.discard(obj)


def _error_hook(obj: Any, exc: BaseException, where: str) -> None:
    """Called by the extension for an exception raised in a callback: log it
    with its traceback, then give the object a chance to emit 'error'."""
    logger.error("exception in %s callback of %r", where, obj, exc_info=(type(exc), exc, exc.__traceback__))
    if where == "error-handler":
        return  # an 'error' listener failed: do not loop
    report = getattr(obj, "_callback_error", None)
    if report is not None:
        try:
            report(exc, where)
        except Exception:
            logger.exception("exception while reporting a callback error")


_uvws._set_hooks(make_error, _error_hook)


async def _wait_idle(L: _uvws.Loop, timeout: float) -> bool:
    """Wait until the engine loop has nothing alive (True) or `timeout`."""
    if not L.alive:
        return True
    fut = asyncio.get_running_loop().create_future()

    def idle() -> None:
        if not fut.done():
            fut.set_result(None)

    L.idle_callback = idle
    L.kick()
    try:
        await asyncio.wait_for(fut, timeout)
        return True
    except asyncio.TimeoutError:
        return False
    finally:
        L.idle_callback = None


async def shutdown(timeout: float = 6.0) -> None:
    """Close every server (1001 to its clients) and client connection of this
    thread and wait (at most `timeout` s) until they are gone."""
    L = attach()
    for obj in list(_state.live):
        try:
            obj._shutdown()
        except Exception:
            logger.exception("error while closing %r", obj)
    if not await _wait_idle(L, timeout):
        for obj in list(_state.live):
            try:
                obj._terminate_all()
            except Exception:
                logger.exception("error while terminating %r", obj)
        await _wait_idle(L, 1.0)


def stop() -> None:
    """Make ``uvws.run()`` return: servers and connections are closed
    (1001, going away) first. Safe to call from any thread or callback."""
    fut, aio = _STOP.get("fut"), _STOP.get("aio")
    if fut is None or aio is None:
        return

    def _set() -> None:
        if not fut.done():
            fut.set_result(None)

    try:
        if threading.get_ident() == _STOP.get("thread"):
            _set()
        else:
            aio.call_soon_threadsafe(_set)
    except RuntimeError:
        pass


_STOP: Dict[str, Any] = {}


async def _run_main(shutdown_timeout: float, handle_signals: bool) -> None:
    aio = asyncio.get_running_loop()
    L = attach()
    fut = aio.create_future()
    _STOP.update(fut=fut, aio=aio, thread=threading.get_ident())

    def idle() -> None:
        if not fut.done():
            fut.set_result(None)

    L.idle_callback = idle
    sigterm = False
    if handle_signals and threading.current_thread() is threading.main_thread():
        try:
            aio.add_signal_handler(signal.SIGTERM, idle)
            sigterm = True
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    L.kick()
    try:
        await fut
    finally:
        L.idle_callback = None
        if sigterm:
            aio.remove_signal_handler(signal.SIGTERM)
        _STOP.clear()
        try:
            await shutdown(shutdown_timeout)
        finally:
            L.detach()


def run(*, loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None, debug: Optional[bool] = None, shutdown_timeout: float = 6.0, handle_signals: bool = True) -> None:
    """Run the event loop of the callback API; blocks.

    Returns when nothing is left to do (no server, no connection), when
    :func:`stop` is called, or on Ctrl-C (SIGINT) or SIGTERM. Before
    returning, every server and connection is closed with 1001 (going away)
    and given up to ``shutdown_timeout`` seconds to finish.

    It is ``asyncio.run()`` underneath (pass ``loop_factory=uvloop.new_event_loop``
    for uvloop), so coroutines, ``uvws.serve()`` and ``uvws.connect()`` may be
    used from callbacks with ``asyncio.ensure_future()``.
    """
    coro = _run_main(shutdown_timeout, handle_signals)
    try:
        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=loop_factory, debug=debug) as runner:
                runner.run(coro)
        elif loop_factory is None:
            asyncio.run(coro, debug=bool(debug))
        else:
            loop = loop_factory()
            try:
                asyncio.set_event_loop(loop)
                if debug is not None:
                    loop.set_debug(debug)
                loop.run_until_complete(coro)
            finally:
                asyncio.set_event_loop(None)
                loop.close()
    except KeyboardInterrupt:
        pass

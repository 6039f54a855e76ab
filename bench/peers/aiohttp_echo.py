#!/usr/bin/env python3
"""aiohttp_echo.py - echo server on PyPI `aiohttp` (asyncio), a peer for the
uvws benchmarks.

    .venv/bin/python bench/peers/aiohttp_echo.py --port 0 [--uvloop]

Prints "listening on <port>" once ready. Echoes every message with the same
type, no compression, 64 MiB max message, 127.0.0.1 only, one process, one
thread, access log off.
"""
import argparse
import asyncio
import signal
import sys

from aiohttp import WSMsgType, web

MAX = 64 * 1024 * 1024 + 1  # aiohttp rejects a message whose size is >= max_msg_size


async def handler(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(compress=False, max_msg_size=MAX, autoping=True)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
        elif msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.ERROR:
            break
    return ws


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    print(f"listening on {runner.addresses[0][1]}", flush=True)
    try:
        await stop
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--uvloop", action="store_true")
    a = ap.parse_args()
    if a.uvloop:
        import uvloop

        uvloop.run(main(a.port))
    else:
        asyncio.run(main(a.port))
    sys.exit(0)

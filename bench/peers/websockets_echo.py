#!/usr/bin/env python3
"""websockets_echo.py - echo server on PyPI `websockets` (asyncio), a peer
for the uvws benchmarks.

    .venv/bin/python bench/peers/websockets_echo.py --port 0 [--uvloop]

Prints "listening on <port>" once ready. Echoes every message with the same
type (str -> text, bytes -> binary), no compression, 64 MiB max payload,
listens on 127.0.0.1 only, one process, one thread. --uvloop runs it on
uvloop instead of the default asyncio event loop.
"""
import argparse
import asyncio
import signal
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    try:
        async for msg in ws:
            await ws.send(msg)
    except Exception:
        pass


async def main(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(
        echo,
        "127.0.0.1",
        port,
        compression=None,
        max_size=64 * 1024 * 1024,
    ) as server:
        sock_port = server.sockets[0].getsockname()[1]
        print(f"listening on {sock_port}", flush=True)
        await stop


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

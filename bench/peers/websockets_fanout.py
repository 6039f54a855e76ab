#!/usr/bin/env python3
"""python-websockets fan-out server for bench/fanout.sh, with its documented
websockets.broadcast(): a connection whose path has "role=sub" is a
subscriber and is told "ok"; every message of another connection is
broadcast to the subscribers.

    .venv/bin/python bench/peers/websockets_fanout.py --port 0
"""
import argparse
import asyncio
import signal

from websockets.asyncio.server import broadcast, serve

subscribers = set()


async def handler(ws):
    if "role=sub" in ws.request.path:
        subscribers.add(ws)
        try:
            await ws.send("ok")
            await ws.wait_closed()
        finally:
            subscribers.discard(ws)
    else:
        try:
            async for msg in ws:
                broadcast(subscribers, msg)
        except Exception:
            pass


async def main(port):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=64 * 1024 * 1024) as server:
        print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
        await stop


ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
asyncio.run(main(ap.parse_args().port))

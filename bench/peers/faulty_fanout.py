#!/usr/bin/env python3
"""faulty_fanout.py - a fan-out server (as bench/peers/websockets_fanout.py)
that breaks delivery on purpose, for bench/selftest.sh: every --every-th
published message is dropped for one subscriber (drop), sent twice to it
(dup), or held back and sent after the next one (reorder); --fault none
delivers correctly.

    .venv/bin/python bench/peers/faulty_fanout.py --port 0 --fault drop --every 20
"""
import argparse
import asyncio
import signal

from websockets.asyncio.server import broadcast, serve

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--fault", choices=["none", "drop", "dup", "reorder"], default="none")
ap.add_argument("--every", type=int, default=20)
args = ap.parse_args()
subscribers = []
count = 0
held = None


def publish(msg):
    global count, held
    count += 1
    victim = subscribers[0] if subscribers else None
    others = [s for s in subscribers if s is not victim]
    broadcast(others, msg)
    if victim is None:
        return
    if held is not None:
        broadcast([victim], msg)
        broadcast([victim], held)
        held = None
        return
    if args.fault != "none" and count % args.every == 0:
        if args.fault == "drop":
            return
        if args.fault == "dup":
            broadcast([victim], msg)
        if args.fault == "reorder":
            held = msg
            return
    broadcast([victim], msg)


async def handler(ws):
    if "role=sub" in ws.request.path:
        subscribers.append(ws)
        try:
            await ws.send("ok")
            await ws.wait_closed()
        finally:
            subscribers.remove(ws)
    else:
        try:
            async for msg in ws:
                publish(msg)
        except Exception:
            pass


async def main():
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(handler, "127.0.0.1", args.port, compression=None) as server:
        print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
        await stop


asyncio.run(main())

#!/usr/bin/env python3
"""Standard Autobahn|Testsuite test-client loop built on PyPI `websockets`.

Usage: websockets_autobahn_client.py [--deflate] ws://127.0.0.1:PORT [agent]
getCaseCount, then runCase?case=i&agent=A for each case (echoing every message),
then updateReports?agent=A. Messages up to 256 MiB, every step bounded. Compression is off
unless --deflate is given: then permessage-deflate is offered with websockets' defaults
(compression="deflate").
"""
import os

# websockets >= 15 refuses messages of more than 4096 fragments (closes with 1009) unless told
# otherwise; group 9.3.1/9.4.1 send 65536 fragments. Must be set before websockets is imported.
os.environ.setdefault("WEBSOCKETS_MAX_FRAGMENTS", str(1 << 20))

import asyncio
import sys
import urllib.parse

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

CASE_TIMEOUT = 120
DEFLATE = "--deflate" in sys.argv[1:]
ARGS = [a for a in sys.argv[1:] if a != "--deflate"]


def opts():
    return dict(compression="deflate" if DEFLATE else None, max_size=256 * 2**20, max_queue=None, ping_interval=None,
                open_timeout=10, close_timeout=5)


async def get_case_count(base):
    async with connect(base + "/getCaseCount", **opts()) as ws:
        return int(await asyncio.wait_for(ws.recv(), 10))


async def run_case(base, i, agent):
    url = "%s/runCase?case=%d&agent=%s" % (base, i, urllib.parse.quote(agent))
    try:
        async with connect(url, **opts()) as ws:
            async for msg in ws:
                await ws.send(msg)
    except (ConnectionClosed, InvalidHandshake, OSError):
        pass


async def main():
    base = (ARGS[0] if ARGS else "ws://127.0.0.1:9001").rstrip("/")
    agent = ARGS[1] if len(ARGS) > 1 else "websockets"
    count = await get_case_count(base)
    print("running %d cases against %s as agent %s" % (count, base, agent), flush=True)
    for i in range(1, count + 1):
        try:
            await asyncio.wait_for(run_case(base, i, agent), CASE_TIMEOUT)
        except asyncio.TimeoutError:
            print("case %d: timeout" % i, file=sys.stderr, flush=True)
    async with connect(base + "/updateReports?agent=" + urllib.parse.quote(agent), **opts()) as ws:
        try:
            await asyncio.wait_for(ws.wait_closed(), 10)
        except asyncio.TimeoutError:
            pass
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python3
"""Echo server built on PyPI `websockets` (asyncio API), a reference peer for the runner.

Usage: websockets_echo_server.py --port N [--host 127.0.0.1] [--tls-cert C --tls-key K] [--deflate]
Prints "listening on <port>" once ready (port 0 picks a free port); echoes every
message with its type; messages up to 256 MiB. Compression is off unless --deflate is
given: then permessage-deflate is accepted with websockets' defaults (compression="deflate").
"""
import os

# websockets >= 15 refuses messages of more than 4096 fragments (closes with 1009) unless told
# otherwise; group 9.3.1/9.4.1 send 65536 fragments. Must be set before websockets is imported.
os.environ.setdefault("WEBSOCKETS_MAX_FRAGMENTS", str(1 << 20))

import argparse
import asyncio
import signal
import ssl

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def echo(ws):
    try:
        async for msg in ws:
            await ws.send(msg)
    except ConnectionClosed:
        pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--deflate", action="store_true", help="accept permessage-deflate")
    a = ap.parse_args()
    ctx = None
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(echo, a.host, a.port, ssl=ctx, compression="deflate" if a.deflate else None, max_size=256 * 2**20,
                     max_queue=None, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print("listening on %d" % port, flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())

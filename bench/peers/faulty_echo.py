#!/usr/bin/env python3
"""faulty_echo.py - a deliberately broken echo server (PyPI `websockets`) used
by bench/selftest.sh to check that uvws_loadgen detects each kind of fault.

    .venv/bin/python bench/peers/faulty_echo.py --port 0 --fault corrupt|drop|dup|close|type|short --every N

Echoes normally except for every N-th message (per connection):
  corrupt  flip one byte in the middle of the payload
  drop     do not echo it
  dup      echo it twice
  close    close the connection (code 1011) instead of echoing
  type     echo it with the other type (text <-> binary)
  short    echo it without its last byte
"""
import argparse
import asyncio
import signal

from websockets.asyncio.server import serve


def make_handler(fault: str, every: int):
    async def handler(ws):
        n = 0
        async for msg in ws:
            n += 1
            if n % every:
                await ws.send(msg)
                continue
            if fault == "corrupt":
                b = bytearray(msg.encode() if isinstance(msg, str) else msg)
                b[len(b) // 2] ^= 0x01
                await ws.send(b.decode() if isinstance(msg, str) else bytes(b))
            elif fault == "drop":
                pass
            elif fault == "dup":
                await ws.send(msg)
                await ws.send(msg)
            elif fault == "close":
                await ws.close(1011, "faulty_echo")
                return
            elif fault == "type":
                await ws.send(msg.encode() if isinstance(msg, str) else msg.decode())
            elif fault == "short":
                await ws.send(msg[:-1])

    return handler


async def main(port: int, fault: str, every: int) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(make_handler(fault, every), "127.0.0.1", port, compression=None, max_size=None) as server:
        print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
        await stop


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fault", required=True, choices=["corrupt", "drop", "dup", "close", "type", "short"])
    ap.add_argument("--every", type=int, default=100)
    a = ap.parse_args()
    asyncio.run(main(a.port, a.fault, a.every))

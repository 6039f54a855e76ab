#!/usr/bin/env python3
"""picows_echo.py - echo server on PyPI `picows` (Cython, frame level), a peer
for the uvws benchmarks.

    .venv/bin/python bench/peers/picows_echo.py --port 0 [--uvloop]

Prints "listening on <port>" once ready. picows hands over frames, not
messages, so every data frame is echoed as a frame with the same opcode
(text, binary or continuation) and FIN bit: message boundaries and types are
preserved. Close frames are answered with the same code. No compression,
64 MiB max frame, 127.0.0.1 only, one process, one thread.
"""
import argparse
import asyncio
import signal
import sys

from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

MAX = 64 * 1024 * 1024

DATA = (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION)


class Echo(WSListener):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        t = frame.msg_type
        if t in DATA:
            transport.send(t, frame.get_payload_as_memoryview(), frame.fin)
        elif t == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()


def factory(_req: WSUpgradeRequest) -> WSListener:
    return Echo()


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    server = await ws_create_server(factory, "127.0.0.1", port, max_frame_size=MAX, enable_auto_pong=True)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    try:
        await stop
    finally:
        server.close()


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

#!/usr/bin/env python3
"""The standard Autobahn|Testsuite client loop on the uvws asyncio client:
ask the fuzzing server for its case count, run every case echoing each
message back, then ask it to write its report.

    python3 examples/python/autobahn_client.py ws://127.0.0.1:9001 uvws-python
    python3 examples/python/autobahn_client.py wss://localhost:9001 uvws-python ca.pem

With UVWS_AUTOBAHN_API=callbacks in the environment it uses the
event-callback API instead: there each message is echoed from inside the
'message' event, before the engine reads the next frame, whereas the asyncio
API echoes from a task, after the engine may already have failed the
connection on a protocol error that arrived in the same read (the runner
reports those cases as NON-STRICT).
"""

import asyncio
import os
import sys

import uvws


async def main(base: str, agent: str, ca: str = "") -> int:
    opts = dict(max_size=64 * 1024 * 1024, max_queue=None, ping_interval=None, open_timeout=10)
    if ca:
        opts["tls"] = uvws.TLSOptions(cafile=ca)
    async with uvws.connect(f"{base}/getCaseCount?agent={agent}", **opts) as ws:
        count = int(await ws.recv())
    for case in range(1, count + 1):
        try:
            async with uvws.connect(f"{base}/runCase?case={case}&agent={agent}", **opts) as ws:
                async for message in ws:
                    await ws.send(message)
        except (uvws.WebSocketError, OSError):
            pass  # the case decides; the next one goes on
    async with uvws.connect(f"{base}/updateReports?agent={agent}", **opts) as ws:
        try:
            await ws.recv()
        except uvws.ConnectionClosed:
            pass
    return 0


def main_callbacks(base: str, agent: str, ca: str = "") -> int:
    opts = dict(max_payload=64 * 1024 * 1024, handshake_timeout=10)
    if ca:
        opts["tls"] = uvws.TLSOptions(cafile=ca)
    state = {"count": 0, "case": 0}

    def open_url(path: str) -> uvws.WebSocket:
        return uvws.WebSocket(f"{base}/{path}agent={agent}", **opts)

    def next_case(*_: object) -> None:
        state["case"] += 1
        if state["case"] > state["count"]:
            open_url("updateReports?")
            return
        ws = open_url(f"runCase?case={state['case']}&")
        ws.on("message", ws.send)
        ws.on("close", next_case)

    def got_count(data: object, is_binary: bool) -> None:
        state["count"] = int(data)  # type: ignore[arg-type]

    counter = open_url("getCaseCount?")
    counter.on("message", got_count)
    counter.on("close", next_case)
    uvws.run()
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and os.environ.get("UVWS_AUTOBAHN_API") == "callbacks":
        sys.exit(main_callbacks(*sys.argv[1:4]))
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(*sys.argv[1:4])))

#!/usr/bin/env python3
"""Chat server (uvws, event-callback API): every text message a client
sends is broadcast to all connected clients as "<name>: <text>"; joins and
leaves are announced. The name is the ?name= query parameter, else
"guest-<n>".

    python3 examples/python/chat.py [--host 127.0.0.1] [--port 9002]

Try it with two terminals running
    python3 examples/python/client.py --timeout 60 "ws://127.0.0.1:9002/?name=ann"
(type lines; every line comes back to every client).

Prints "listening on <port>" once it accepts connections.
"""

import argparse
import itertools
import sys
from urllib.parse import parse_qs

import uvws


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9002)
    args = ap.parse_args()

    server = uvws.Server(port=args.port, host=args.host, max_payload=64 * 1024, ping_interval=30)
    guests = itertools.count(1)

    @server.on("connection")
    def on_connection(ws: uvws.WebSocket, request: uvws.Request) -> None:
        names = parse_qs(request.query or "").get("name")
        name = names[0][:32] if names else f"guest-{next(guests)}"

        def on_message(data, is_binary):
            if is_binary:
                ws.close(1003, "text only")
                return
            # One frame header built for everyone; slow clients buffer
            # (up to max_backpressure, then their messages are dropped).
            server.broadcast(f"{name}: {data}")

        def on_close(code, reason):
            server.broadcast(f"* {name} left ({len(server.clients)} online)")

        ws.on("message", on_message)
        ws.on("close", on_close)
        server.broadcast(f"* {name} joined ({len(server.clients)} online)")

    print(f"listening on {server.port}", flush=True)
    uvws.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

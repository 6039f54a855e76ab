#!/usr/bin/env python3
"""Interop matrix server (Python package, event-callback API): the same
behaviour as server.c and server.js; see tests/matrix/README.md.

    .venv/bin/python tests/matrix/server.py [--host 127.0.0.1] [--port 0]
        [--tls-cert FILE --tls-key FILE]

Prints "listening on <port>" once it accepts connections. SIGTERM / SIGINT
(handled by uvws.run()) or the text "shutdown" on /shutdown close every
connection with 1001 and exit.
"""

import argparse
import asyncio
import json
import sys

import uvws

MiB = 1024 * 1024


def log(**fields: object) -> None:
    print(json.dumps(fields), file=sys.stderr, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()

    tls = None
    if args.tls_cert:
        tls = uvws.TLSOptions(certfile=args.tls_cert, keyfile=args.tls_key or args.tls_cert)

    records: dict = {}  # id -> "code reason" as the server saw the close

    def verify_client(request: uvws.Request):
        if request.path == "/reject":
            return (False, 401, "Unauthorized", {"WWW-Authenticate": 'Bearer realm="matrix"'})
        return True

    def handle_protocols(protocols, request):
        if "v2.demo" in protocols:
            return "v2.demo"
        return protocols[0] if protocols else None

    try:
        server = uvws.Server(
            port=args.port,
            host=args.host,
            tls=tls,
            max_payload=64 * MiB,  # the 16 MiB echo; /too-big is checked per message
            max_backpressure=None,  # an echo server never drops
            verify_client=verify_client,
            handle_protocols=handle_protocols,
        )
    except (OSError, uvws.WebSocketError) as exc:
        print(f"matrix server (python): cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    shutting_down = False

    def shutdown() -> None:
        nonlocal shutting_down
        if shutting_down:
            return
        shutting_down = True
        log(event="shutdown", connections=len(server.clients))
        server.close()  # every connection gets 1001; uvws.run() returns once all are gone
        asyncio.get_running_loop().call_later(10, lambda: (log(event="shutdown grace period over"), uvws.stop()))

    @server.on("connection")
    def on_connection(ws: uvws.WebSocket, request: uvws.Request) -> None:
        path = request.path
        ident = None
        if request.query and request.query.startswith("id="):
            ident = request.query[3:]

        def on_message(data, is_binary: bool) -> None:
            if path == "/too-big" and len(data) > MiB:
                ws.close(1009, "message too big")
                return
            if not is_binary:
                if path == "/protocol-error" and data == "close-1002":
                    ws.close(1002, "protocol error requested")
                    return
                if path == "/close":
                    if data == "close-1000":
                        ws.close(1000, "bye-from-server")
                        return
                    if data.startswith("report "):
                        ws.send(records.get(data[7:], "pending"))
                        return
                if path == "/shutdown" and data == "shutdown":
                    shutdown()
                    return
            ws.send(data, is_binary)

        def on_close(code: int, reason: str) -> None:
            log(event="close", path=path, id=ident or "", code=code, reason=reason)
            if ident:
                records[ident] = f"{code} {reason}"

        ws.on("message", on_message)
        ws.on("close", on_close)
        ws.on("error", lambda exc: log(event="error", path=path, error=repr(exc)))

    print(f"listening on {server.port}", flush=True)
    uvws.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

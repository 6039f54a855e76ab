#!/usr/bin/env python3
"""Echo server (uvws, event-callback API): sends every message back as it
came, text as text and binary as binary. Ctrl-C or SIGTERM closes every
connection with 1001 (going away) and exits.

    python3 examples/python/echo_server.py [--host 0.0.0.0] [--port 9001]
        [--max-payload BYTES] [--uvloop] [--python-callback]
        [--tls-cert FILE --tls-key FILE] [--deflate] [--deflate-no-takeover]

Prints "listening on <port>" once it accepts connections (--port 0 picks a
free one).
"""

import argparse
import sys

import uvws


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=9001)
    ap.add_argument("--max-payload", type=int, default=100 * 1024 * 1024)
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop instead of asyncio's default loop")
    ap.add_argument(
        "--python-callback",
        action="store_true",
        help="echo from a Python function (lambda) instead of handing ws.send to the engine",
    )
    ap.add_argument("--tls-cert", help="PEM certificate chain: serve wss://")
    ap.add_argument("--tls-key", help="PEM private key")
    ap.add_argument("--deflate", action="store_true", help="accept permessage-deflate (compress every message)")
    ap.add_argument("--deflate-no-takeover", action="store_true", help="permessage-deflate, both directions reset per message")
    args = ap.parse_args()

    tls = None
    if args.tls_cert:
        tls = uvws.TLSOptions(certfile=args.tls_cert, keyfile=args.tls_key or args.tls_cert)
    deflate = False
    if args.deflate or args.deflate_no_takeover:
        # threshold 1: compress everything, as an echo peer should
        deflate = {"threshold": 1}
        if args.deflate_no_takeover:
            deflate.update(server_no_context_takeover=True, client_no_context_takeover=True)
    try:
        server = uvws.Server(port=args.port, host=args.host, max_payload=args.max_payload, tls=tls, per_message_deflate=deflate)
    except (OSError, uvws.WebSocketError) as exc:
        print(f"echo_server: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    @server.on("connection")
    def on_connection(ws: uvws.WebSocket, request: uvws.Request) -> None:
        if args.python_callback:
            send = ws.send
            ws.on("message", lambda data, is_binary: send(data, is_binary))
        else:
            # 'message' is called with (data, is_binary) and send() takes
            # (data, binary): the engine calls send directly, no Python frame.
            ws.on("message", ws.send)

    print(f"listening on {server.port}", flush=True)
    loop_factory = None
    if args.uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop
    uvws.run(loop_factory=loop_factory)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A scripted WebSocket server for the CLI tests (uvws callback API, so
every reply is sent from the message callback, before a close frame that
follows the message is even read).

    python tests/cli/peer.py [--tls-cert C --tls-key K]

Prints "listening on <port>" (127.0.0.1, a free port). Upgrades to
/reject get 401, to /need-header 403 unless the request has
"X-Token: secret". Subprotocols: "chat" and "superchat" (the client's
first offer among them). After the upgrade, each text message is a command:

    binary HEX       send these bytes as a binary message
    text T           send T as a text message
    later T          send T as a text message half a second later
    close CODE [R]   close with CODE and reason R
    headers          send each request header (but Sec-WebSocket-Key) as
                     "Name: value" (text)
    anything else    echoed back as text
"""

import argparse
import asyncio
import sys

import uvws


def verify(request):
    if request.path == "/reject":
        return (False, 401, "go away", [("WWW-Authenticate", 'Bearer realm="cli"')])
    if request.path == "/need-header" and request.headers.get("X-Token") != "secret":
        return (False, 403, "no token")
    return True


def protocols(offered, request):
    for p in offered:
        if p in ("chat", "superchat"):
            return p
    return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    tls = uvws.TLSOptions(certfile=args.tls_cert, keyfile=args.tls_key) if args.tls_cert else None
    server = uvws.Server(port=0, host="127.0.0.1", tls=tls, verify_client=verify, handle_protocols=protocols)

    @server.on("connection")
    def on_connection(ws, request):
        def on_message(message, is_binary):
            if is_binary:
                ws.send(message, True)
                return
            cmd, _, arg = message.partition(" ")
            if cmd == "binary":
                ws.send(bytes.fromhex(arg))
            elif cmd == "text":
                ws.send(arg)
            elif cmd == "later":
                asyncio.get_running_loop().call_later(0.5, lambda: ws.ready_state == uvws.OPEN and ws.send(arg))
            elif cmd == "close":
                code, _, reason = arg.partition(" ")
                ws.close(int(code), reason)
            elif cmd == "headers":
                for name, value in request.headers.items():
                    if name.lower() != "sec-websocket-key":  # random
                        ws.send(f"{name}: {value}")
            else:
                ws.send(message)

        ws.on("message", on_message)

    print(f"listening on {server.port}", flush=True)
    uvws.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

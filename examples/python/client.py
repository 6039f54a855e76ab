#!/usr/bin/env python3
"""Client (uvws, asyncio API): connects to a WebSocket URL, sends each
argument (or, without arguments, each line of stdin) as a text message,
prints every reply, then closes with 1000.

    python3 examples/python/client.py ws://127.0.0.1:9001/ hello world
    echo hi | python3 examples/python/client.py ws://[::1]:9001/chat

Options before the URL: --header "Name: value", --subprotocol NAME,
--timeout SECONDS (wait for replies after the last send; default 2),
--ca FILE (trust anchors for wss://), --insecure (wss:// without
verification, for tests).
"""

import argparse
import asyncio
import sys

import uvws


async def run(args: argparse.Namespace, messages: list) -> int:
    tls = None
    if args.ca or args.insecure:
        tls = uvws.TLSOptions(cafile=args.ca, verify=not args.insecure)
    headers = []
    for h in args.header:
        name, _, value = h.partition(":")
        headers.append((name.strip(), value.strip()))
    try:
        ws = await uvws.connect(
            args.url,
            subprotocols=args.subprotocol or None,
            additional_headers=headers,
            tls=tls,
            max_size=None,
        )
    except (OSError, uvws.WebSocketError) as exc:
        print(f"client: {args.url}: {exc}", file=sys.stderr)
        return 2
    if ws.subprotocol:
        print(f"client: connected, subprotocol {ws.subprotocol}", file=sys.stderr)
    received = 0
    try:
        for m in messages:
            await ws.send(m)
        while received < len(messages):
            reply = await asyncio.wait_for(ws.recv(), args.timeout)
            if isinstance(reply, bytes):
                print(f"<binary {len(reply)} bytes>")
            else:
                print(reply)
            received += 1
    except asyncio.TimeoutError:
        print(f"client: timed out waiting for replies ({received} of {len(messages)})", file=sys.stderr)
    except uvws.ConnectionClosed as exc:
        print(f"client: connection closed: {exc}", file=sys.stderr)
    await ws.close(1000, "bye")
    print(f"client: closed {ws.close_code} {ws.close_reason or ''}".rstrip(), file=sys.stderr)
    return 0 if received == len(messages) and ws.close_code == 1000 else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--subprotocol", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--ca")
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("url")
    ap.add_argument("messages", nargs="*")
    args = ap.parse_args()
    messages = args.messages or [line.rstrip("\r\n") for line in sys.stdin]
    return asyncio.run(run(args, messages))


if __name__ == "__main__":
    sys.exit(main())

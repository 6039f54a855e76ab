#!/usr/bin/env python3
"""A deliberately NON-conformant WebSocket echo peer, to check that the runner catches bugs.

It does the opening handshake and echoes messages, but validates nothing: RSV bits,
reserved opcodes, control-frame rules, fragmentation state, UTF-8 and close codes are
all ignored, and close frames are echoed verbatim.

  lax_echo_peer.py server --port 0 [--no-close-reply] [--close-reply-code C] [--fail-utf8 C] [--fail-rsv C]
      prints "listening on <port>"; --no-close-reply: never answers a close frame;
      --close-reply-code C: answers every close frame with code C instead of an echo;
      --fail-utf8 C / --fail-rsv C: the one check it does make: it fails the connection
      with close code C on a text message that is not UTF-8 / a frame with RSV bits set
      (with C other than 1007 / 1002 that is the wrong code)
  lax_echo_peer.py client ws://127.0.0.1:PORT [agent]
      the Autobahn client loop (getCaseCount, runCase..., updateReports)

Standard library only; loopback use only; every wait is bounded.
"""
import asyncio
import base64
import hashlib
import os
import struct
import sys
from urllib.parse import urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def unmask(key, data):
    n = len(data)
    if not n:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def frame(opcode, payload, mask):
    n = len(payload)
    b0 = 0x80 | opcode
    m = 0x80 if mask else 0
    if n < 126:
        h = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        h = struct.pack("!BBH", b0, m | 126, n)
    else:
        h = struct.pack("!BBQ", b0, m | 127, n)
    if mask:
        key = os.urandom(4)
        return h + key + unmask(key, payload)
    return h + payload


async def fail(reader, writer, mask, code):
    """Fail the connection with `code`, then wait (bounded) for the peer's close reply."""
    writer.write(frame(8, struct.pack("!H", code), mask))
    await writer.drain()
    try:
        await asyncio.wait_for(reader.read(1 << 20), 2)
    except asyncio.TimeoutError:
        pass


async def echo_loop(reader, writer, mask, no_close_reply=False, first_text=None, opts=None):
    opts = opts or {}
    parts, op0 = [], None
    try:
        while True:
            hdr = await asyncio.wait_for(reader.readexactly(2), 30)
            if opts.get("fail_rsv") and hdr[0] & 0x70:
                await fail(reader, writer, mask, opts["fail_rsv"])
                break
            opcode, n = hdr[0] & 0x0F, hdr[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", await reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await reader.readexactly(8))[0]
            key = await reader.readexactly(4) if hdr[1] & 0x80 else None
            data = await reader.readexactly(n)
            if key:
                data = unmask(key, data)
            fin = hdr[0] & 0x80
            if opcode == 8:
                if no_close_reply:
                    continue
                if opts.get("close_reply_code"):
                    data = struct.pack("!H", opts["close_reply_code"])
                writer.write(frame(8, data, mask))
                await writer.drain()
                break
            if opcode == 9:
                writer.write(frame(10, data, mask))
            elif opcode in (0, 1, 2):
                if opcode:
                    op0, parts = opcode, []
                parts.append(data)
                if fin:
                    msg = b"".join(parts)
                    if opts.get("fail_utf8") and (op0 or 1) == 1:
                        try:
                            msg.decode("utf-8")
                        except UnicodeDecodeError:
                            await fail(reader, writer, mask, opts["fail_utf8"])
                            break
                    if first_text is not None:
                        first_text.append(msg)
                    else:
                        writer.write(frame(op0 or 1, msg, mask))
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def serve(port, no_close_reply, opts):
    async def handle(reader, writer):
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except Exception:
            writer.close()
            return
        key = ""
        for line in raw.decode("latin-1").split("\r\n"):
            if line.lower().startswith("sec-websocket-key:"):
                key = line.split(":", 1)[1].strip()
        acc = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\nServer: lax-echo-peer\r\n\r\n" % acc).encode())
        await echo_loop(reader, writer, mask=False, no_close_reply=no_close_reply, opts=opts)

    srv = await asyncio.start_server(handle, "127.0.0.1", port)
    print("listening on %d" % srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await asyncio.sleep(3600)   # bounded; the caller stops us much earlier


async def connect(url, collect=None):
    u = urlsplit(url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(u.hostname, u.port), 5)
    key = base64.b64encode(os.urandom(16)).decode()
    path = u.path + ("?" + u.query if u.query else "")
    writer.write(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, u.hostname, u.port, key))
                 .encode())
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    await asyncio.wait_for(echo_loop(reader, writer, mask=True, first_text=collect), 60)


async def client(base, agent):
    base = base.rstrip("/")
    got = []
    await connect(base + "/getCaseCount", collect=got)
    count = int(got[0])
    for i in range(1, count + 1):
        await connect("%s/runCase?case=%d&agent=%s" % (base, i, agent))
    await connect("%s/updateReports?agent=%s" % (base, agent), collect=[])


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "server":
        def opt(name):
            return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else 0
        opts = {"close_reply_code": opt("--close-reply-code"), "fail_utf8": opt("--fail-utf8"),
                "fail_rsv": opt("--fail-rsv")}
        asyncio.run(serve(opt("--port"), "--no-close-reply" in sys.argv, opts))
    elif len(sys.argv) >= 3 and sys.argv[1] == "client":
        asyncio.run(client(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "lax"))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

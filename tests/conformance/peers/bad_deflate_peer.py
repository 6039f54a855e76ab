#!/usr/bin/env python3
"""A permessage-deflate echo peer with selectable bugs, to check that the runner's groups 12
and 13 catch them. Standard library only; loopback use only; every wait is bounded.

  bad_deflate_peer.py server --port 0 [--bug BUG]     prints "listening on <port>"
  bad_deflate_peer.py client [--bug BUG] ws://127.0.0.1:PORT [agent]   (Autobahn client loop)

Without --bug (or --bug none) the peer is correct. Legal variations (the runner must accept):
  nocompress   echoes are never compressed (RSV1 = 0)
  bfinal       each echo is a complete DEFLATE stream (BFINAL=1, fresh compressor)
Bugs:
  window       deflates with a 32K window whatever window was agreed
  takeover     keeps the compression context although no_context_takeover was agreed
  rsv1cont     echoes in two fragments, both with RSV1 set
  corrupt      damages the compressed data
  smwb-above   (server) answers server_max_window_bits=15 to any server_max_window_bits offer
  dup          (server) answers with server_no_context_takeover twice
  cmwb-unoffered (server) answers client_max_window_bits=15 even when it was not offered
  bad-offer    (client) offers client_max_window_bits=7 first
"""
import asyncio
import base64
import hashlib
import os
import struct
import sys
import zlib
from urllib.parse import urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TAIL = b"\x00\x00\xff\xff"


def xor(key, data):
    n = len(data)
    if not n:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def frame(opcode, payload, mask, fin=True, rsv1=False):
    n = len(payload)
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    m = 0x80 if mask else 0
    if n < 126:
        h = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        h = struct.pack("!BBH", b0, m | 126, n)
    else:
        h = struct.pack("!BBQ", b0, m | 127, n)
    if mask:
        key = os.urandom(4)
        return h + key + xor(key, payload)
    return h + payload


def parse(header):
    """'permessage-deflate; a; b=9, x' -> [('permessage-deflate', {'a': True, 'b': '9'}), ('x', {})]"""
    out = []
    for elem in (header or "").split(","):
        parts = [p.strip() for p in elem.split(";") if p.strip()]
        if not parts:
            continue
        params = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            params[k.strip().lower()] = v.strip().strip('"') if v else True
        out.append((parts[0].lower(), params))
    return out


class Codec:
    def __init__(self, bug, tx_bits, tx_nct, rx_bits, rx_nct):
        self.bug = bug
        self.tx_bits = 15 if bug == "window" else max(9, tx_bits)
        self.tx_nct = tx_nct and bug != "takeover"
        self.rx_bits = rx_bits
        self.rx_nct = rx_nct
        self.comp = None
        self.dec = None

    def compress(self, data):
        if self.bug == "bfinal":
            c = zlib.compressobj(6, zlib.DEFLATED, -self.tx_bits)
            return c.compress(data) + c.flush(zlib.Z_FINISH)
        if self.comp is None or self.tx_nct:
            self.comp = zlib.compressobj(6, zlib.DEFLATED, -self.tx_bits)
        out = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        out = out[:-4]
        if self.bug == "corrupt" and len(out) > 4:
            out = out[:2] + bytes([out[2] ^ 0xFF, out[3] ^ 0x5A]) + out[4:]
        return out

    def decompress(self, data):
        if self.dec is None or self.rx_nct:
            self.dec = zlib.decompressobj(-15)
        return self.dec.decompress(data + TAIL)


async def echo_loop(reader, writer, mask, codec, collect=None):
    parts, op0, comp = [], None, False
    try:
        while True:
            hdr = await asyncio.wait_for(reader.readexactly(2), 30)
            opcode, n = hdr[0] & 0x0F, hdr[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", await reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await reader.readexactly(8))[0]
            key = await reader.readexactly(4) if hdr[1] & 0x80 else None
            data = await reader.readexactly(n)
            if key:
                data = xor(key, data)
            if opcode == 8:
                writer.write(frame(8, data[:2], mask))
                await writer.drain()
                break
            if opcode == 9:
                writer.write(frame(10, data, mask))
            elif opcode in (0, 1, 2):
                if opcode:
                    op0, parts, comp = opcode, [], bool(hdr[0] & 0x40)
                parts.append(data)
                if hdr[0] & 0x80:
                    msg = b"".join(parts)
                    if comp:
                        msg = codec.decompress(msg)
                    if collect is not None:
                        collect.append(msg)
                    elif codec is None or codec.bug == "nocompress":
                        writer.write(frame(op0, msg, mask))
                    else:
                        z = codec.compress(msg)
                        if codec.bug == "rsv1cont" and len(z) > 1:
                            writer.write(frame(op0, z[:1], mask, fin=False, rsv1=True))
                            writer.write(frame(0, z[1:], mask, rsv1=True))
                        else:
                            writer.write(frame(op0, z, mask, rsv1=True))
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, OSError, zlib.error):
        pass
    finally:
        writer.close()


def server_response(bug, header):
    """Pick the first permessage-deflate offer; return (response header, codec) or (None, None)."""
    for name, p in parse(header):
        if name != "permessage-deflate":
            continue
        resp = ["permessage-deflate"]
        snct = "server_no_context_takeover" in p
        smwb = int(p["server_max_window_bits"]) if "server_max_window_bits" in p else 15
        if snct:
            resp.append("server_no_context_takeover")
            if bug == "dup":
                resp.append("server_no_context_takeover")
        if "server_max_window_bits" in p:
            resp.append("server_max_window_bits=%d" % (15 if bug == "smwb-above" else smwb))
        if bug == "cmwb-unoffered":
            resp.append("client_max_window_bits=15")
        return "; ".join(resp), Codec(bug, smwb, snct, 15, False)
    return None, None


async def serve(port, bug):
    async def handle(reader, writer):
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except Exception:
            writer.close()
            return
        key, ext = "", ""
        for line in raw.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            if k.strip().lower() == "sec-websocket-key":
                key = v.strip()
            elif k.strip().lower() == "sec-websocket-extensions":
                ext = (ext + ", " + v.strip()) if ext else v.strip()
        acc = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        resp, codec = server_response(bug, ext)
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\nServer: bad-deflate-peer\r\n%s\r\n" % (
                          acc, ("Sec-WebSocket-Extensions: %s\r\n" % resp) if resp else "")).encode())
        await echo_loop(reader, writer, False, codec)

    srv = await asyncio.start_server(handle, "127.0.0.1", port)
    print("listening on %d" % srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await asyncio.sleep(3600)   # bounded; the caller stops us much earlier


async def connect(url, bug, collect=None):
    u = urlsplit(url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(u.hostname, u.port), 5)
    key = base64.b64encode(os.urandom(16)).decode()
    path = u.path + ("?" + u.query if u.query else "")
    offer = "permessage-deflate; client_max_window_bits"
    if bug == "bad-offer":
        offer = "permessage-deflate; client_max_window_bits=7, " + offer
    writer.write(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: %s\r\n\r\n"
                  % (path, u.hostname, u.port, key, offer)).encode())
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    ext = ""
    for line in raw.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        if k.strip().lower() == "sec-websocket-extensions":
            ext = v.strip()
    codec = None
    for name, p in parse(ext):
        if name == "permessage-deflate":
            codec = Codec(bug, int(p.get("client_max_window_bits", 15)), "client_no_context_takeover" in p,
                          int(p.get("server_max_window_bits", 15)), "server_no_context_takeover" in p)
    await asyncio.wait_for(echo_loop(reader, writer, True, codec, collect), 60)


async def client(base, agent, bug):
    base = base.rstrip("/")
    got = []
    await connect(base + "/getCaseCount", bug, collect=got)
    for i in range(1, int(got[0]) + 1):
        await connect("%s/runCase?case=%d&agent=%s" % (base, i, agent), bug)
    await connect("%s/updateReports?agent=%s" % (base, agent), bug, collect=[])


def main():
    argv = sys.argv[1:]
    bug = "none"
    if "--bug" in argv:
        i = argv.index("--bug")
        bug = argv[i + 1]
        del argv[i:i + 2]
    if argv and argv[0] == "server":
        port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 0
        asyncio.run(serve(port, bug))
    elif len(argv) >= 2 and argv[0] == "client":
        asyncio.run(client(argv[1], argv[2] if len(argv) > 2 else "bad-deflate", bug))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_inflate and fuzz_extensions (tests/fuzz/corpus/
inflate, .../extensions); the files are committed, this shows how they were made.
Standard library only; deterministic."""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def deflate(msgs, wbits=15, keep=True, final=False):
    """Raw deflate of each message, Z_SYNC_FLUSH, the 00 00 ff ff tail removed."""
    out, c = [], zlib.compressobj(6, zlib.DEFLATED, -wbits)
    for m in msgs:
        if not keep:
            c = zlib.compressobj(6, zlib.DEFLATED, -wbits)
        if final:
            out.append(c.compress(m) + c.flush(zlib.Z_FINISH))
            c = zlib.compressobj(6, zlib.DEFLATED, -wbits)
        else:
            out.append((c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH))[:-4])
    return out


def frame(op, payload, fin=True, rsv1=False, mask=True):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | op
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        h = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        h = struct.pack("!BBH", b0, m | 126, n)
    else:
        h = struct.pack("!BBQ", b0, m | 127, n)
    if mask:
        key = b"\x01\x02\x03\x04"
        return h + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))
    return h + payload


def write(sub, name, data):
    with open(os.path.join(HERE, "corpus", sub, name), "wb") as f:
        f.write(data)


def main():
    text = [b"Hello, hello, hello! " * 20, b"Hello again, hello again. " * 10, b'{"a": [1, 2, 3], "b": "hello"}' * 8]
    # byte 0: bit 0 server, bit 1 small limit, bit 2/3 server/client no_context_takeover, bit 4 direct
    # byte 1: windows (server 8 + (b & 7), client 8 + (b >> 3 & 7)); byte 2: piece size
    w15 = 0x3F
    srv = bytes([1, w15, 64])
    cli = bytes([0, w15, 64])
    z = deflate(text)
    write("inflate", "server_takeover", srv + b"".join(frame(1, p, rsv1=True) for p in z))
    write("inflate", "client_takeover", cli + b"".join(frame(1, p, rsv1=True, mask=False) for p in z))
    z = deflate(text, keep=False)
    write("inflate", "server_no_ctx", bytes([1 | 8, w15, 7]) + b"".join(frame(2, p, rsv1=True) for p in z))
    z10 = deflate(text, wbits=10)
    write("inflate", "server_window10", bytes([1, (2 << 3) | 2, 200]) + b"".join(frame(1, p, rsv1=True) for p in z10))
    p = deflate([b"fragmented compressed message " * 30])[0]
    h = len(p) // 2
    write("inflate", "fragmented", srv + frame(1, p[:h], fin=False, rsv1=True) + frame(9, b"ping") +
          frame(0, p[h:]))
    bomb = deflate([bytes(1 << 20)])[0]
    write("inflate", "zip_bomb_small_limit", bytes([1 | 2, w15, 255]) + frame(2, bomb, rsv1=True))
    write("inflate", "zip_bomb", srv + frame(2, bomb, rsv1=True))
    write("inflate", "bfinal", srv + b"".join(frame(1, p, rsv1=True) for p in deflate(text, final=True)))
    bad = bytearray(deflate(text)[0])
    bad[len(bad) // 2] ^= 0xFF
    write("inflate", "corrupt", srv + frame(1, bytes(bad), rsv1=True))
    write("inflate", "mixed_plain", srv + frame(1, b"plain text") + frame(1, deflate([b"zz" * 100])[0], rsv1=True) +
          frame(8, struct.pack("!H", 1000)))
    direct = b"".join(struct.pack("<H", len(p)) + p for p in deflate(text))
    write("inflate", "direct_takeover", bytes([1 | 16, w15, 1]) + direct)
    write("inflate", "direct_bomb", bytes([1 | 2 | 16, w15, 1]) + struct.pack("<H", len(bomb)) + bomb)

    # extensions: bytes 0-2 the options of one endpoint, 3-5 of another, then a header value
    opts = [bytes([0, 0, 0, 0, 0, 0]), bytes([3, 10, 9, 1, 15, 12]), bytes([1, 8, 8, 2, 9, 0])]
    values = [
        b"permessage-deflate",
        b"permessage-deflate; client_max_window_bits",
        b"permessage-deflate; client_max_window_bits=10; server_max_window_bits=12; server_no_context_takeover",
        b'permessage-deflate; server_max_window_bits="10", permessage-deflate; client_no_context_takeover',
        b"x-webkit-deflate-frame, permessage-deflate; foo=bar, permessage-deflate",
        b"permessage-deflate; server_max_window_bits=08",
        b"permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        b'permessage-deflate; client_max_window_bits="1\\5"',
    ]
    for i, v in enumerate(values):
        write("extensions", "value%d" % i, opts[i % len(opts)] + v)


if __name__ == "__main__":
    main()

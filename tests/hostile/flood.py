#!/usr/bin/env python3
"""Hostile WebSocket peers on raw sockets (no WebSocket library): ping floods.

  flood.py server TARGET [--ping-payload N] [--mb MB] [--seconds S]
      starts TARGET (c | python | node: the echo server of examples/ built as
      the README says), opens one connection, and floods it with masked pings
      of N payload bytes (0: 6-byte frames, 125: 131-byte frames) without
      ever reading, until MB megabytes are sent or S seconds have passed.
  flood.py client TARGET [--ping-payload N] [--mb MB] [--seconds S]
      the other way round: a malicious server that answers the upgrade of
      TARGET's example client, then floods it with unmasked pings and never
      reads.

Either way the target's memory is read from /proc/<pid>/status before and
after (VmRSS, and VmHWM: the peak), its CPU time from /proc/<pid>/stat, and
then the connection must still work: the hostile peer sends a text message,
reads (skipping the pongs) until the echo comes back, and closes with 1000.

Prints one line of JSON with the figures; exits 0. The test
(tests/hostile/test_flood.py) asserts on them.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import select
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MiB = 1024 * 1024
KEY = base64.b64encode(b"uvws-hostile-key").decode()


# ----------------------------------------------------------------------
# /proc


def proc_status(pid: int) -> Dict[str, int]:
    """VmRSS and VmHWM of `pid`, in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value, _unit = line.split()
                out[name[:-1]] = int(value) * 1024
    return out


def proc_cpu(pid: int) -> float:
    """utime + stime of `pid`, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------
# Frames


def frame(opcode: int, payload: bytes, mask: bool) -> bytes:
    n = len(payload)
    head = bytes([0x80 | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = b"\x37\xfa\x21\x3d"
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class FrameReader:
    """Frames from a byte stream (either direction: unmasks if masked)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.skipped = 0

    def skip_pongs(self, payload_len: int, masked: bool) -> int:
        """Drop a run of pongs of `payload_len` bytes at the front in one go
        (a flood leaves millions; parsing them one by one in Python would
        take minutes). Returns how many."""
        if masked:
            pat = re.compile(rb"(?:\x8a" + re.escape(bytes([0x80 | payload_len])) + rb".{%d})+" % (4 + payload_len), re.S)
        else:
            pat = re.compile(rb"(?:\x8a" + re.escape(bytes([payload_len])) + rb".{%d})+" % payload_len, re.S)
        m = pat.match(self.buf)
        if not m:
            return 0
        n = m.end() // (2 + payload_len + (4 if masked else 0))
        del self.buf[: m.end()]
        return n

    def feed(self, data: bytes) -> None:
        self.buf += data

    def next(self) -> Optional[Tuple[int, bytes]]:
        b = self.buf
        if len(b) < 2:
            return None
        opcode, masked, n = b[0] & 0x0F, b[1] & 0x80, b[1] & 0x7F
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack_from("!H", b, 2)[0]
            pos = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack_from("!Q", b, 2)[0]
            pos = 10
        key = b""
        if masked:
            if len(b) < pos + 4:
                return None
            key = bytes(b[pos : pos + 4])
            pos += 4
        if len(b) < pos + n:
            return None
        payload = bytes(b[pos : pos + n])
        if masked:
            payload = bytes(x ^ key[i % 4] for i, x in enumerate(payload))
        del b[: pos + n]
        return opcode, payload


# ----------------------------------------------------------------------
# Flooding and checking the connection afterwards


def read_http_head(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError(f"connection closed during the handshake: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if rest:
        raise RuntimeError("data after the handshake before any frame was sent")
    return head


def flood(sock: socket.socket, ping: bytes, total: int, seconds: float) -> Tuple[int, float]:
    """Send `ping` frames, never reading, until `total` bytes are written or
    `seconds` have passed (the peer may stop reading). Returns (bytes sent,
    seconds spent)."""
    chunk = ping * max(1, 65536 // len(ping))
    sent = 0
    t0 = time.monotonic()
    deadline = t0 + seconds
    sock.setblocking(False)
    view = memoryview(chunk)
    off = 0
    while sent < total:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        _, w, _ = select.select([], [sock], [], min(left, 0.5))
        if not w:
            continue
        try:
            n = sock.send(view[off:])
        except BlockingIOError:
            continue
        sent += n
        off = (off + n) % len(chunk)
    sock.setblocking(True)
    return sent, time.monotonic() - t0


def check_alive(sock: socket.socket, mask: bool, seconds: float, pong_len: int) -> Dict[str, int]:
    """Send a text message, read until its echo (counting the pongs queued in
    the meantime), then close with 1000 and wait for the peer's close."""
    sock.sendall(frame(0x1, b"still there?", mask))
    masked_pongs = not mask
    reader = FrameReader()
    counts = {"pongs_read": 0, "bytes_read": 0, "echo": 0, "close": 0}
    deadline = time.monotonic() + seconds
    sent_close = False
    while time.monotonic() < deadline:
        # Stop after 10 s without data: the echo is not coming.
        sock.settimeout(min(10.0, max(0.1, deadline - time.monotonic())))
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            break
        if not data:
            break
        counts["bytes_read"] += len(data)
        reader.feed(data)
        while True:
            counts["pongs_read"] += reader.skip_pongs(pong_len, masked_pongs)
            f = reader.next()
            if f is None:
                break
            op, payload = f
            if op == 0xA:
                counts["pongs_read"] += 1
            elif op == 0x1 and payload == b"still there?":
                counts["echo"] = 1
                if not sent_close:
                    sock.sendall(frame(0x8, struct.pack("!H", 1000), mask))
                    sent_close = True
            elif op == 0x8:
                counts["close"] = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                return counts
    return counts


# ----------------------------------------------------------------------
# Targets


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("NODE_OPTIONS", None)
    return env


def python_exe() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def c_bin(name: str) -> str:
    for d in (os.environ.get("UVWS_BUILD", ""), "build"):
        if d:
            p = (ROOT / d / "bin" / name) if not os.path.isabs(d) else Path(d) / "bin" / name
            if p.exists():
                return str(p)
    raise FileNotFoundError(f"{name}: build the C engine first (cmake --build build)")


def server_cmd(target: str) -> List[str]:
    if target == "c":
        return [c_bin("echo_server"), "--host", "127.0.0.1", "--port", "0"]
    if target == "python":
        return [python_exe(), str(ROOT / "examples/python/echo_server.py"), "--host", "127.0.0.1", "--port", "0"]
    if target == "node":
        return ["node", str(ROOT / "examples/node/echo_server.js"), "--host", "127.0.0.1", "--port", "0"]
    raise ValueError(target)


def client_cmd(target: str, url: str) -> List[str]:
    # The client sends one message and waits (up to 10 minutes) for its echo.
    if target == "c":
        return [c_bin("client"), "--timeout", "600000", url, "hello"]
    if target == "python":
        return [python_exe(), str(ROOT / "examples/python/client.py"), "--timeout", "600", url, "hello"]
    if target == "node":
        return ["node", str(ROOT / "examples/node/client.js"), "--timeout", "600000", url, "hello"]
    raise ValueError(target)


def start_server(target: str) -> Tuple[subprocess.Popen, int]:
    p = subprocess.Popen(server_cmd(target), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    assert p.stdout is not None
    line = p.stdout.readline()
    m = re.search(r"listening on (\d+)", line)
    if not m:
        p.kill()
        raise RuntimeError(f"{target} echo server did not start: {line!r} {p.stderr.read() if p.stderr else ''}")
    return p, int(m.group(1))


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def attack_server(target: str, payload: int, total: int, seconds: float) -> Dict[str, object]:
    p, port = start_server(target)
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive window: the target's pongs back up at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(
            (
                f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = read_http_head(sock, time.monotonic() + 10)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"upgrade refused: {head!r}")
        return measure(p, sock, True, payload, total, seconds, target, "server")
    finally:
        stop(p)


def attack_client(target: str, payload: int, total: int, seconds: float) -> Dict[str, object]:
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited by the accepted socket
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    port = lst.getsockname()[1]
    p = subprocess.Popen(client_cmd(target, f"ws://127.0.0.1:{port}/"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    try:
        lst.settimeout(30)
        sock, _ = lst.accept()
        head = read_http_head(sock, time.monotonic() + 30)
        m = re.search(rb"(?im)^sec-websocket-key:\s*(\S+)", head)
        if not m:
            raise RuntimeError(f"no key in {head!r}")
        accept = base64.b64encode(hashlib.sha1(m.group(1) + GUID).digest())
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        result = measure(p, sock, False, payload, total, seconds, target, "client")
        # The client got its echo and closed: it must exit on its own, with 0.
        try:
            result["exit"] = p.wait(30)
        except subprocess.TimeoutExpired:
            result["exit"] = None
        result["stdout"] = (p.stdout.read() if p.stdout else "").strip()[-200:]
        return result
    finally:
        stop(p)
        lst.close()


def measure(p: subprocess.Popen, sock: socket.socket, mask: bool, payload: int, total: int, seconds: float, target: str, role: str) -> Dict[str, object]:
    time.sleep(0.2)  # let the target settle after the upgrade
    before = proc_status(p.pid)
    cpu0 = proc_cpu(p.pid)
    ping = frame(0x9, b"p" * payload, mask)
    sent, spent = flood(sock, ping, total, seconds)
    time.sleep(0.5)  # let the target read what is still in flight
    alive_during = p.poll() is None
    after = proc_status(p.pid) if alive_during else {"VmRSS": 0, "VmHWM": 0}
    cpu1 = proc_cpu(p.pid) if alive_during else cpu0
    if role == "client":
        # Answer the client's "hello" so that it closes; skip its pongs.
        counts = client_check(sock, 60.0, payload)
    else:
        counts = check_alive(sock, mask, 60.0, payload)
    sock.close()
    return {
        "target": target,
        "role": role,
        "ping_payload": payload,
        "ping_frame_bytes": len(ping),
        "sent_bytes": sent,
        "pings_sent": sent // len(ping),
        "flood_seconds": round(spent, 2),
        "rss_before_mib": round(before["VmRSS"] / MiB, 1),
        "rss_after_mib": round(after["VmRSS"] / MiB, 1),
        "hwm_after_mib": round(after["VmHWM"] / MiB, 1),
        "growth_mib": round((max(after["VmHWM"], after["VmRSS"]) - before["VmRSS"]) / MiB, 1),
        "cpu_seconds": round(cpu1 - cpu0, 2),
        "alive": alive_during,
        **counts,
    }


def client_check(sock: socket.socket, seconds: float, pong_len: int) -> Dict[str, int]:
    """Malicious server, after the flood: read the client's frames (its
    "hello" and the pongs), echo "hello", answer its close."""
    masked_pongs = True
    reader = FrameReader()
    counts = {"pongs_read": 0, "bytes_read": 0, "echo": 0, "close": 0}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        # Stop after 10 s without data: the echo is not coming.
        sock.settimeout(min(10.0, max(0.1, deadline - time.monotonic())))
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            break
        if not data:
            break
        counts["bytes_read"] += len(data)
        reader.feed(data)
        while True:
            counts["pongs_read"] += reader.skip_pongs(pong_len, masked_pongs)
            f = reader.next()
            if f is None:
                break
            op, payload = f
            if op == 0xA:
                counts["pongs_read"] += 1
            elif op == 0x1 and payload == b"hello":
                sock.sendall(frame(0x1, b"hello", False))
                counts["echo"] = 1
            elif op == 0x8:
                counts["close"] = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                sock.sendall(frame(0x8, payload[:2], False))
                return counts
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("role", choices=["server", "client"], help="attack a server (we are the client) or a client")
    ap.add_argument("target", choices=["c", "python", "node"])
    ap.add_argument("--ping-payload", type=int, default=0, help="payload bytes per ping (0..125)")
    ap.add_argument("--mb", type=float, default=60.0, help="megabytes of pings to send")
    ap.add_argument("--seconds", type=float, default=60.0, help="time cap of the flood")
    args = ap.parse_args()
    fn = attack_server if args.role == "server" else attack_client
    result = fn(args.target, args.ping_payload, int(args.mb * 1e6), args.seconds)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

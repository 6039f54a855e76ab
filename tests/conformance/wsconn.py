"""RFC 6455 machinery for the conformance runner (standard library only).

This module knows how to build arbitrary (also deliberately broken) frames, do
the opening handshake from either side, and run one "fuzzing" connection whose
closing-handshake bookkeeping follows the model used by Autobahn|Testsuite:

* closed_by_me  -- we sent the first close frame (we initiated the closing
                   handshake, or we failed the connection),
* was_clean     -- a close frame was both sent and received,
* dropped_by_me -- we closed the TCP connection (instead of the peer),
* remote_close_code / remote_close_reason -- what the peer's close frame said.

Everything that waits is bounded by a timer.
"""

import asyncio
import base64
import codecs
import collections
import hashlib
import os
import ssl
import struct
import time
from urllib.parse import parse_qs, urlsplit

from deflate import InflateError, InflateTooBig

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OPEN = "OPEN"
CLOSING = "CLOSING"
CLOSED = "CLOSED"

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_TOO_BIG = 1009

MAX_MESSAGE = 128 * 1024 * 1024
USER_AGENT = "uvws-conformance/1.0"

_GRACEFUL_CLOSE = object()


def valid_close_code(code):
    """Close codes a peer may put on the wire (RFC 6455 7.4, IANA registry;
    the same set npm ws accepts)."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + GUID).digest()).decode("ascii")


def apply_mask(key, data, offset=0):
    """XOR data with the 4-byte masking key, starting at key position offset."""
    n = len(data)
    if n == 0:
        return b""
    r = offset % 4
    if r:
        key = key[r:] + key[:r]
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def frame_header(opcode, length, fin=True, rsv=0, mask_key=None):
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
    m = 0x80 if mask_key is not None else 0
    if length < 126:
        hdr = struct.pack("!BB", b0, m | length)
    elif length < 65536:
        hdr = struct.pack("!BBH", b0, m | 126, length)
    else:
        hdr = struct.pack("!BBQ", b0, m | 127, length)
    if mask_key is not None:
        hdr += mask_key
    return hdr


def repeat_to(pattern, length):
    if length == 0:
        return b""
    if not pattern:
        return b"\x00" * length
    return (pattern * (length // len(pattern) + 1))[:length]


class HandshakeError(Exception):
    pass


# --------------------------------------------------------------------------
# Opening handshakes
# --------------------------------------------------------------------------

def _parse_headers(lines):
    headers = {}
    for line in lines:
        if not line:
            continue
        if ":" not in line:
            raise HandshakeError("malformed header line %r" % line)
        k, v = line.split(":", 1)
        k = k.strip().lower()
        v = v.strip()
        headers[k] = headers[k] + ", " + v if k in headers else v
    return headers


def _tokens(value):
    return [t.strip().lower() for t in (value or "").split(",") if t.strip()]


def make_client_ssl_context(cafile=None, insecure=False):
    ctx = ssl.create_default_context(cafile=cafile)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def client_handshake(url, ssl_ctx=None, timeout=5.0, extensions=None):
    """Open a TCP (+TLS) connection and do the client opening handshake.

    extensions: the Sec-WebSocket-Extensions offer to send (None: none). The caller checks
    the server's answer to an offer; without an offer any accepted extension is an error.
    Returns (reader, writer, response_headers)."""
    u = urlsplit(url)
    if u.scheme not in ("ws", "wss"):
        raise HandshakeError("URL scheme must be ws or wss: %s" % url)
    host = u.hostname or "127.0.0.1"
    port = u.port or (443 if u.scheme == "wss" else 80)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    ctx = None
    if u.scheme == "wss":
        ctx = ssl_ctx or make_client_ssl_context()

    async def _do():
        reader, writer = await asyncio.open_connection(
            host, port, ssl=ctx, server_hostname=host if ctx else None, limit=1 << 20)
        try:
            key = base64.b64encode(os.urandom(16)).decode("ascii")
            hostport = host if (u.port is None) else "%s:%d" % (host, port)
            if ":" in host and not host.startswith("["):
                hostport = "[%s]:%d" % (host, port)
            req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nUser-Agent: %s\r\n%s\r\n"
                   % (path, hostport, key, USER_AGENT,
                      ("Sec-WebSocket-Extensions: %s\r\n" % extensions) if extensions else ""))
            writer.write(req.encode("ascii"))
            await writer.drain()
            raw = await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("iso-8859-1").split("\r\n")
            status = lines[0].split(" ", 2)
            if len(status) < 2 or status[1] != "101":
                raise HandshakeError("server answered %r instead of 101" % lines[0])
            headers = _parse_headers(lines[1:])
            if "websocket" not in _tokens(headers.get("upgrade")):
                raise HandshakeError("101 response without 'Upgrade: websocket'")
            if "upgrade" not in _tokens(headers.get("connection")):
                raise HandshakeError("101 response without 'Connection: Upgrade'")
            if headers.get("sec-websocket-accept") != accept_for(key):
                raise HandshakeError("wrong Sec-WebSocket-Accept %r" % headers.get("sec-websocket-accept"))
            if headers.get("sec-websocket-extensions") and not extensions:
                raise HandshakeError("server accepted extensions we did not offer: %r"
                                     % headers["sec-websocket-extensions"])
            if headers.get("sec-websocket-protocol"):
                raise HandshakeError("server selected a subprotocol we did not offer")
            return reader, writer, headers
        except BaseException:
            writer.transport.abort()
            raise

    try:
        return await asyncio.wait_for(_do(), timeout)
    except asyncio.TimeoutError:
        raise HandshakeError("opening handshake timed out after %.1fs" % timeout)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        raise HandshakeError("bad/incomplete handshake response: %s" % e)


class ServerRequest:
    def __init__(self, path, params, headers):
        self.path = path
        self.params = params
        self.headers = headers

    def param(self, name, default=None):
        v = self.params.get(name)
        return v[0] if v else default


async def server_handshake(reader, writer, timeout=5.0, server_name=USER_AGENT, negotiate=None):
    """Read an upgrade request and answer 101 (or 400). Returns ServerRequest or None.

    negotiate(request) may return a Sec-WebSocket-Extensions value for the 101 response."""
    try:
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ConnectionError, OSError, ssl.SSLError):
        return None
    lines = raw.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ")
    err = None
    headers = {}
    try:
        headers = _parse_headers(lines[1:])
    except HandshakeError as e:
        err = str(e)
    if err is None:
        if len(parts) != 3 or parts[0] != "GET" or not parts[2].startswith("HTTP/1.1"):
            err = "expected 'GET <path> HTTP/1.1', got %r" % lines[0]
        elif "websocket" not in _tokens(headers.get("upgrade")):
            err = "missing 'Upgrade: websocket'"
        elif "upgrade" not in _tokens(headers.get("connection")):
            err = "missing 'Connection: Upgrade'"
        elif headers.get("sec-websocket-version") != "13":
            err = "unsupported Sec-WebSocket-Version %r" % headers.get("sec-websocket-version")
        else:
            key = headers.get("sec-websocket-key", "")
            try:
                ok = len(base64.b64decode(key, validate=True)) == 16
            except Exception:
                ok = False
            if not ok:
                err = "bad Sec-WebSocket-Key %r" % key
    if err is not None:
        body = (err + "\n").encode()
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)
        try:
            await asyncio.wait_for(writer.drain(), 2)
        except Exception:
            pass
        writer.transport.abort()
        return None
    target = urlsplit(parts[1])
    request = ServerRequest(target.path, parse_qs(target.query), headers)
    ext = negotiate(request) if negotiate else None
    resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\nServer: %s\r\n%s\r\n" % (
                accept_for(headers["sec-websocket-key"]), server_name,
                ("Sec-WebSocket-Extensions: %s\r\n" % ext) if ext else ""))
    writer.write(resp.encode("latin-1"))
    return request


# --------------------------------------------------------------------------
# The fuzzing connection
# --------------------------------------------------------------------------

class FuzzConnection:
    """One WebSocket connection (after the opening handshake) driven by a test case.

    The handler (a test case) receives on_message(payload: bytes, binary: bool)
    and on_pong(payload: bytes). Pings from the peer are answered automatically.
    """

    def __init__(self, reader, writer, is_server, close_timeout=1.0, drop_timeout=1.0):
        self.reader = reader
        self.writer = writer
        self.is_server = is_server
        self.loop = asyncio.get_running_loop()
        self.close_timeout = close_timeout
        self.drop_timeout = drop_timeout
        self.handler = None

        self.state = OPEN
        self.closed_by_me = False
        self.failed_by_me = False
        self.dropped_by_me = False
        self.was_clean = False
        self.was_not_clean_reason = None
        self.remote_close_code = None
        self.remote_close_reason = None
        self.local_close_code = None
        self.local_close_reason = None
        self.peer_violation = None       # first protocol violation by the peer that we detected
        self.peer_violation_rfc = None   # "RFC 6455" or "RFC 7692" (permessage-deflate)
        self.internal_error = None
        self.tx_frame_stats = collections.Counter()
        self.rx_frame_stats = collections.Counter()
        self.auto_fragment_size = 0
        self.pmd = None                  # deflate.PerMessageDeflate once negotiated

        self._timers = set()
        self._close_timer = None
        self._drop_timer = None
        self._out = collections.deque()
        self._out_event = asyncio.Event()
        self._buf = bytearray()
        self._rx_dead = False            # after a violation: only close frames are processed
        self._msg_opcode = None
        self._msg_parts = []
        self._msg_len = 0
        self._msg_compressed = False
        self._utf8 = None
        self._stream = None              # (mask_key, offset) for begin_frame / frame_data
        self.closed = self.loop.create_future()
        self._lost = False
        self._reader_task = None
        self._writer_task = None

    # ---------------------------------------------------------------- tasks
    def start(self):
        self._writer_task = self.loop.create_task(self._write_loop())
        self._reader_task = self.loop.create_task(self._read_loop())

    async def _read_loop(self):
        try:
            while True:
                data = await self.reader.read(1 << 18)
                if not data:
                    break
                self._feed(data)
        except (ConnectionError, OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception as e:  # a bug in a case / the runner: record, do not hang
            self.internal_error = "%s: %s" % (type(e).__name__, e)
            self._abort()
        finally:
            self._connection_lost()

    async def _write_loop(self):
        w = self.writer
        try:
            while True:
                while not self._out:
                    self._out_event.clear()
                    await self._out_event.wait()
                pending = []
                while self._out:
                    item = self._out.popleft()
                    if item is _GRACEFUL_CLOSE:
                        if pending:
                            w.write(b"".join(pending))
                            pending = []
                        try:
                            await asyncio.wait_for(w.drain(), 2.0)
                            w.close()
                            await asyncio.wait_for(w.wait_closed(), 1.0)
                        except Exception:
                            pass
                        self._abort()
                        return
                    data, sync = item
                    if sync:
                        if pending:
                            w.write(b"".join(pending))
                            pending = []
                            await w.drain()
                            await asyncio.sleep(0)
                        w.write(data)
                        await w.drain()
                        await asyncio.sleep(0)
                    else:
                        pending.append(data)
                if pending:
                    w.write(b"".join(pending))
                    await w.drain()
        except asyncio.CancelledError:
            pass
        except (ConnectionError, OSError, ssl.SSLError, RuntimeError):
            pass  # the reader notices the loss of the connection

    def _abort(self):
        try:
            self.writer.transport.abort()
        except Exception:
            pass

    # --------------------------------------------------------------- timers
    def call_later(self, delay, fn, *args):
        def run():
            self._timers.discard(h)
            if self.state == CLOSED:
                return
            try:
                fn(*args)
            except Exception as e:
                self.internal_error = "%s: %s" % (type(e).__name__, e)
                self.drop(abort=True)
        h = self.loop.call_later(delay, run)
        self._timers.add(h)
        return h

    def _cancel_timers(self):
        for h in list(self._timers):
            h.cancel()
        self._timers.clear()

    # ---------------------------------------------------------------- sending
    def send_data(self, data, sync=False, chopsize=None):
        if self.state == CLOSED and not self._out:
            return
        if chopsize and chopsize > 0:
            for i in range(0, len(data), chopsize):
                self._out.append((data[i:i + chopsize], True))
        else:
            self._out.append((data, sync))
        self._out_event.set()

    def build_frame(self, opcode, payload=b"", fin=True, rsv=0, mask=None, payload_len=None):
        if payload_len is not None:
            payload = repeat_to(payload, payload_len)
        key = None
        if mask is None:
            if not self.is_server:
                key = os.urandom(4)
        elif mask is not False:
            key = mask
        data = frame_header(opcode, len(payload), fin, rsv, key)
        data += apply_mask(key, payload) if key is not None else payload
        return data

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, mask=None, payload_len=None,
                   chopsize=None, sync=False):
        """Send one raw frame: no state checks, any opcode/rsv/length allowed."""
        if self.state == CLOSED:
            return
        self.tx_frame_stats[opcode] += 1
        self.send_data(self.build_frame(opcode, payload, fin, rsv, mask, payload_len), sync, chopsize)

    def send_message(self, payload, binary=False, fragment_size=None, compress=True):
        """Send a message, compressed when permessage-deflate was negotiated (unless compress is
        False), in fragments of fragment_size / auto_fragment_size octets of wire payload."""
        fs = fragment_size or self.auto_fragment_size or 0
        opcode = 2 if binary else 1
        rsv = 0
        if self.pmd is not None and compress:
            payload = self.pmd.compress(payload)
            rsv = 4
        if fs <= 0 or len(payload) <= fs:
            self.send_frame(opcode, payload, rsv=rsv)
            return
        n = len(payload)
        for i in range(0, n, fs):
            self.send_frame(opcode if i == 0 else 0, payload[i:i + fs], fin=(i + fs >= n), rsv=rsv if i == 0 else 0)

    def begin_frame(self, opcode, length, fin=True):
        """Start a frame whose payload is then sent in pieces with frame_data()."""
        key = None if self.is_server else os.urandom(4)
        self.tx_frame_stats[opcode] += 1
        self._stream = [key, 0, length]
        self.send_data(frame_header(opcode, length, fin, 0, key), sync=True)

    def frame_data(self, data):
        key, off, length = self._stream
        self._stream[1] += len(data)
        if self._stream[1] >= length:
            self._stream = None
        self.send_data(apply_mask(key, data, off) if key is not None else data, sync=True)

    def send_close_frame(self, code=None, reason=None, is_reply=False):
        """Send a close frame (arbitrary content) and move to CLOSING, like Autobahn's sendCloseFrame."""
        if self.state != OPEN:
            return
        if self._stream is not None:
            # a frame started with begin_frame() is still incomplete (6.4.3/6.4.4 when the peer
            # fails fast): finish it with filler so that our close frame is parsed as a frame
            self.frame_data(b"\x00" * (self._stream[2] - self._stream[1]))
        payload = b""
        if code is not None:
            payload += struct.pack("!H", code)
        if reason is not None:
            payload += reason
        self.send_frame(8, payload)
        self.state = CLOSING
        self.closed_by_me = not is_reply
        self.local_close_code = code
        self.local_close_reason = reason
        if self.closed_by_me and self.close_timeout > 0:
            self._close_timer = self.call_later(self.close_timeout, self._on_close_timeout)

    def send_close(self, code=None, reason=None):
        if isinstance(reason, str):
            reason = reason.encode("utf-8")[:123]
        self.send_close_frame(code, reason, is_reply=False)

    def fail(self, code=CLOSE_GOING_AWAY, reason="going away"):
        """Fail the WebSocket connection (RFC 6455 7.1.7) without dropping TCP first."""
        if self.state == CLOSED:
            return
        self.failed_by_me = True
        if self.state == OPEN:
            self.send_close_frame(code, reason.encode("utf-8")[:123], is_reply=False)
        else:
            if not self.was_clean and self.was_not_clean_reason is None:
                why = "case timer fired" if code == CLOSE_GOING_AWAY else reason
                self.was_not_clean_reason = ("closing handshake still incomplete; the runner dropped the "
                                             "connection (%s)" % why)
            self.drop(abort=False)

    def drop(self, abort=False):
        if self.state == CLOSED:
            return
        self.dropped_by_me = True
        self.state = CLOSED
        self._cancel_timers()
        if abort:
            self._out.clear()
            self._abort()
        else:
            self._out.append(_GRACEFUL_CLOSE)
            self._out_event.set()
            # safety net: never wait long for a graceful close
            self.loop.call_later(3.0, self._abort)

    def _on_close_timeout(self):
        self.was_clean = False
        self.was_not_clean_reason = "peer did not answer our close frame within %.1fs" % self.close_timeout
        self.drop(abort=True)

    def _on_drop_timeout(self):
        self.was_clean = False
        self.was_not_clean_reason = ("server did not close the TCP connection within %.1fs after the "
                                     "closing handshake" % self.drop_timeout)
        self.drop(abort=True)

    def _connection_lost(self):
        if self._lost:
            return
        self._lost = True
        self._cancel_timers()
        if self.state != CLOSED:
            self.state = CLOSED
            if not self.was_clean and self.was_not_clean_reason is None:
                self.was_not_clean_reason = "peer dropped the TCP connection without WebSocket closing handshake"
        if self._writer_task and not self._writer_task.done() and not (self._out and self._out[-1] is _GRACEFUL_CLOSE):
            self._writer_task.cancel()
        self._abort()
        if not self.closed.done():
            self.closed.set_result(True)

    async def wait_closed(self, timeout):
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def shutdown(self):
        """Make sure nothing is left running (used after a case ends)."""
        self.drop(abort=True)
        await self.wait_closed(3.0)
        for t in (self._reader_task, self._writer_task):
            if t and not t.done():
                t.cancel()
                try:
                    await asyncio.wait_for(t, 1.0)
                except BaseException:
                    pass

    # -------------------------------------------------------------- receiving
    def _violation(self, reason, code=CLOSE_PROTOCOL_ERROR, rfc="RFC 6455"):
        if self.peer_violation is None:
            self.peer_violation = reason
            self.peer_violation_rfc = rfc
        self._rx_dead = True
        self.fail(code, reason)

    def _feed(self, data):
        if self.state == CLOSED:
            return
        buf = self._buf
        buf += data
        pos = 0
        n = len(buf)
        while self.state != CLOSED:
            if n - pos < 2:
                break
            b0 = buf[pos]
            b1 = buf[pos + 1]
            ln = b1 & 0x7F
            hl = 2
            if ln == 126:
                if n - pos < 4:
                    break
                ln = (buf[pos + 2] << 8) | buf[pos + 3]
                hl = 4
            elif ln == 127:
                if n - pos < 10:
                    break
                ln = int.from_bytes(buf[pos + 2:pos + 10], "big")
                hl = 10
                if ln >> 63:
                    self._violation("frame length with most significant bit set")
                    pos = n
                    break
            masked = bool(b1 & 0x80)
            if masked:
                hl += 4
            if ln > MAX_MESSAGE:
                self._violation("frame of %d octets is larger than this runner accepts" % ln, CLOSE_TOO_BIG)
                pos = n
                break
            if n - pos < hl + ln:
                break
            payload = bytes(buf[pos + hl:pos + hl + ln])
            if masked:
                payload = apply_mask(bytes(buf[pos + hl - 4:pos + hl]), payload)
            pos += hl + ln
            self._on_frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, masked, payload)
        del buf[:pos]

    def _on_frame(self, fin, rsv, opcode, masked, payload):
        self.rx_frame_stats[opcode] += 1
        if self._rx_dead and opcode != 8:
            return
        if rsv:
            if self.pmd is None:
                return self._violation("peer sent a frame with RSV=%d but no extension was negotiated" % rsv)
            if rsv & 3:
                return self._violation("peer sent a frame with RSV=%d; permessage-deflate defines only RSV1" % rsv, rfc="RFC 7692")
            if opcode >= 8:
                return self._violation("peer sent a control frame with RSV1 set (control frames are never "
                                       "compressed)", rfc="RFC 7692")
            if opcode == 0:
                return self._violation("peer sent a continuation frame with RSV1 set (only the first frame of a "
                                       "compressed message has RSV1)", rfc="RFC 7692")
        if opcode in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
            return self._violation("peer sent a frame with reserved opcode %d" % opcode)
        if self.is_server and not masked:
            return self._violation("client sent an unmasked frame")
        if not self.is_server and masked:
            return self._violation("server sent a masked frame")
        if opcode >= 8:
            if not fin:
                return self._violation("peer sent a fragmented control frame")
            if len(payload) > 125:
                return self._violation("peer sent a control frame with %d octets payload" % len(payload))
            if opcode == 8:
                return self._on_close_frame(payload)
            if opcode == 9:
                if self.state == OPEN:
                    self.send_frame(10, payload)
                h = getattr(self.handler, "on_ping", None)
                if h:
                    h(payload)
                return
            if self.handler:
                self.handler.on_pong(payload)
            return
        if opcode == 0:
            if self._msg_opcode is None:
                return self._violation("peer sent a continuation frame without a message to continue")
        else:
            if self._msg_opcode is not None:
                return self._violation("peer started a new message inside a fragmented message")
            self._msg_opcode = opcode
            self._msg_parts = []
            self._msg_len = 0
            self._msg_compressed = bool(rsv & 4)
            self._utf8 = (codecs.getincrementaldecoder("utf-8")("strict")
                          if opcode == 1 and not self._msg_compressed else None)
        self._msg_len += len(payload)
        if self._msg_len > MAX_MESSAGE:
            return self._violation("message larger than this runner accepts", CLOSE_TOO_BIG)
        self._msg_parts.append(payload)
        if self._utf8 is not None:
            try:
                self._utf8.decode(payload, final=fin)
            except UnicodeDecodeError:
                return self._violation("peer sent a text message that is not valid UTF-8", CLOSE_INVALID_PAYLOAD)
        if fin:
            msg = b"".join(self._msg_parts)
            binary = self._msg_opcode == 2
            if self._msg_compressed:
                try:
                    msg = self.pmd.inflate(msg)
                except InflateTooBig as e:
                    return self._violation("peer sent a compressed message that inflates beyond what this runner "
                                           "accepts (%s)" % e, CLOSE_TOO_BIG)
                except InflateError as e:
                    return self._violation("peer sent a compressed message that cannot be inflated with the "
                                           "negotiated parameters (%s)" % e, CLOSE_INVALID_PAYLOAD, rfc="RFC 7692")
                if not binary:
                    try:
                        msg.decode("utf-8")
                    except UnicodeDecodeError:
                        return self._violation("peer sent a compressed text message that is not valid UTF-8",
                                               CLOSE_INVALID_PAYLOAD)
            elif self.pmd is not None:
                self.pmd.note_uncompressed(len(msg))
            self._msg_opcode = None
            self._msg_parts = []
            self._utf8 = None
            if self.handler:
                self.handler.on_message(msg, binary)

    def _on_close_frame(self, payload):
        code = None
        reason = None
        bad = None
        if len(payload) == 1:
            bad = ("peer sent a close frame with a 1-octet payload", CLOSE_PROTOCOL_ERROR)
        elif len(payload) >= 2:
            code = struct.unpack("!H", payload[:2])[0]
            reason = payload[2:]
            # a case may allow the echo of an undefined code it sent itself (7.13.x)
            if not valid_close_code(code) and code not in getattr(self.handler, "echo_ok_codes", ()):
                bad = ("peer sent close code %d, which may not be sent on the wire" % code, CLOSE_PROTOCOL_ERROR)
            else:
                try:
                    reason.decode("utf-8")
                except UnicodeDecodeError:
                    bad = ("peer sent a close reason that is not valid UTF-8", CLOSE_INVALID_PAYLOAD)
        self.remote_close_code = code
        self.remote_close_reason = reason
        if bad:
            self._violation(*bad)
            if self.state == CLOSED:
                return
        if self.state == CLOSING:
            # reply to our close frame
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._timers.discard(self._close_timer)
                self._close_timer = None
            self.was_clean = True
            if self.is_server:
                self.drop(abort=True)
            else:
                self._drop_timer = self.call_later(self.drop_timeout, self._on_drop_timeout)
        elif self.state == OPEN:
            self.was_clean = True
            reply = code if (code is not None and valid_close_code(code)) else (None if code is None else CLOSE_NORMAL)
            self.send_close_frame(reply, None, is_reply=True)
            if self.is_server:
                self.drop(abort=False)
            else:
                self._drop_timer = self.call_later(self.drop_timeout, self._on_drop_timeout)

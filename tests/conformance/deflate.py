"""permessage-deflate (RFC 7692) for the conformance runner: extension header parsing,
the negotiation from both sides with its validity rules, and the per-direction
compressor / decompressor. Standard library only (zlib).

Terms: an *offer* is one permessage-deflate element of the client's
Sec-WebSocket-Extensions header, a *response* the server's element. Parameters are
kept as a dict name -> value, where a parameter without value has the value True.

Windows and strictness
----------------------
* Our own compressor uses zlib with the negotiated window. zlib refuses a raw deflate
  window of 8 bits (wbits=-8); for 8 we deflate with 9 bits. That is still valid for a
  256-octet window: zlib never emits a distance above the window size minus 262
  (MIN_LOOKAHEAD), 250 for 9 bits.
* The peer's messages are inflated with exactly the window it may use, 8 bits included
  (zlib inflates with 8). zlib itself accepts distances beyond the window as long as
  the data is in the output of the same inflate() call, so we inflate in output chunks
  of window/4 octets (at least 64): a distance of more than 1.25 times the window is
  always caught, and a peer that deflates with a bigger window than agreed is caught
  in practice (zlib at 15 bits uses distances of up to 32506).
* A peer may send any message uncompressed (RSV1 = 0); that never touches the
  decompression context. When the peer agreed to no context takeover, each of its
  messages is inflated with an empty window, so a peer that still refers to the
  previous message is caught.
"""

import re
import zlib

NAME = "permessage-deflate"
PARAMS = ("server_no_context_takeover", "client_no_context_takeover",
          "server_max_window_bits", "client_max_window_bits")
TAIL = b"\x00\x00\xff\xff"
HISTORY = 1 << 15

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BITS = re.compile(r"(?:[89]|1[0-5])\Z")


class ExtensionSyntaxError(ValueError):
    pass


# --------------------------------------------------------------------------
# Sec-WebSocket-Extensions syntax (RFC 6455 9.1)
# --------------------------------------------------------------------------

def parse_extensions(header):
    """Parse a Sec-WebSocket-Extensions value into [(name, [(param, value-or-True), ...]), ...].

    Quoted-string values are unquoted (RFC 6455 9.1: the unquoted value must then be a
    token). Raises ExtensionSyntaxError on malformed text."""
    s = header or ""
    i, n = 0, len(s)
    out = []

    def ws(i):
        while i < n and s[i] in " \t":
            i += 1
        return i

    def token(i, what):
        m = _TOKEN.match(s, i)
        if not m:
            raise ExtensionSyntaxError("expected %s at %r" % (what, s[i:i + 20] or "end"))
        return m.group(0), m.end()

    while True:
        i = ws(i)
        if i >= n:
            break
        if s[i] == ",":          # empty list elements are allowed by the # rule
            i += 1
            continue
        name, i = token(i, "extension name")
        params = []
        i = ws(i)
        while i < n and s[i] == ";":
            i = ws(i + 1)
            pname, i = token(i, "parameter name")
            i = ws(i)
            value = True
            if i < n and s[i] == "=":
                i = ws(i + 1)
                if i < n and s[i] == '"':
                    j = i + 1
                    buf = []
                    while j < n and s[j] != '"':
                        if s[j] == "\\" and j + 1 < n:
                            j += 1
                        buf.append(s[j])
                        j += 1
                    if j >= n:
                        raise ExtensionSyntaxError("unterminated quoted string")
                    value = "".join(buf)
                    if not _TOKEN.fullmatch(value):
                        raise ExtensionSyntaxError("quoted value %r is not a token" % value)
                    i = j + 1
                else:
                    value, i = token(i, "parameter value")
            params.append((pname.lower(), value))
            i = ws(i)
        out.append((name.lower(), params))
        i = ws(i)
        if i < n:
            if s[i] != ",":
                raise ExtensionSyntaxError("unexpected %r" % s[i:i + 20])
            i += 1
    return out


def format_params(params):
    """[(name, value)] or {name: value} -> 'permessage-deflate; a; b=9'."""
    items = params.items() if isinstance(params, dict) else params
    parts = [NAME]
    for k, v in items:
        parts.append(k if v is True else "%s=%s" % (k, v))
    return "; ".join(parts)


def format_offers(offers):
    return ", ".join(format_params(o) for o in offers)


def _check_params(params, side):
    """Validate the parameters of one offer (side='offer') or response (side='response').
    Returns (dict, None) or (None, error)."""
    d = {}
    for name, value in params:
        if name not in PARAMS:
            return None, "unknown parameter %r" % name
        if name in d:
            return None, "parameter %s appears twice" % name
        if name.endswith("no_context_takeover"):
            if value is not True:
                return None, "%s must not have a value (got %r)" % (name, value)
        else:
            if value is True:
                if not (side == "offer" and name == "client_max_window_bits"):
                    return None, "%s needs a value in %s" % (name, "an offer" if side == "offer" else "a response")
            elif not _BITS.match(value):
                return None, "%s=%s: the value must be 8..15 without leading zeros" % (name, value)
            else:
                value = int(value)
        d[name] = value
    return d, None


# --------------------------------------------------------------------------
# client side: our offers, the server's response
# --------------------------------------------------------------------------

def client_accept(offers, header):
    """Check the server's Sec-WebSocket-Extensions against our offers (lists of (param, value)).

    Returns (error, agreed): error is a string when the response is invalid (the client must
    fail the connection), agreed is None when the server declined permessage-deflate, else the
    dict of agreed parameters."""
    if not header or not header.strip():
        return None, None
    try:
        elems = parse_extensions(header)
    except ExtensionSyntaxError as e:
        return "malformed Sec-WebSocket-Extensions %r: %s" % (header, e), None
    if not elems:
        return None, None
    others = [e[0] for e in elems if e[0] != NAME]
    if others:
        return "server accepted extension(s) we did not offer: %s" % ", ".join(others), None
    if len(elems) > 1:
        return "server answered with %d permessage-deflate elements (at most one may be accepted)" % len(elems), None
    resp, err = _check_params(elems[0][1], "response")
    if err:
        return "invalid permessage-deflate response %r: %s" % (header, err), None
    why = []
    for k, offer in enumerate(offers):
        o, oerr = _check_params(offer, "offer")
        assert oerr is None, oerr
        problem = _response_mismatch(o, resp)
        if problem is None:
            return None, _agreed_for_client(o, resp, k)
        why.append("offer %d: %s" % (k + 1, problem))
    return ("permessage-deflate response %r accepts none of our offers (%s)" % (header, "; ".join(why))), None


def _valued(v):
    return v is not None and v is not True


def _response_mismatch(o, resp):
    if o.get("server_no_context_takeover") and not resp.get("server_no_context_takeover"):
        return "we asked for server_no_context_takeover, the response lacks it"
    if "server_max_window_bits" in o:
        if "server_max_window_bits" not in resp:
            return "we asked for server_max_window_bits=%d, the response lacks it" % o["server_max_window_bits"]
        if resp["server_max_window_bits"] > o["server_max_window_bits"]:
            return "server_max_window_bits=%d is above the %d we offered" % (
                resp["server_max_window_bits"], o["server_max_window_bits"])
    if "client_max_window_bits" in resp and "client_max_window_bits" not in o:
        return "client_max_window_bits in the response, but we did not offer it"
    return None


def _agreed_for_client(o, resp, index):
    ours = resp.get("client_max_window_bits", 15)
    if _valued(o.get("client_max_window_bits")):          # our own hint: we keep it
        ours = min(ours, o["client_max_window_bits"])
    return {
        "offer": index + 1,
        "response": format_params(resp),
        "client_max_window_bits": ours,
        # the hint in our offer is honoured as well
        "client_no_context_takeover": bool(resp.get("client_no_context_takeover")
                                           or o.get("client_no_context_takeover")),
        "server_max_window_bits": resp.get("server_max_window_bits", 15),
        "server_no_context_takeover": bool(resp.get("server_no_context_takeover")),
        # what the peer (the server) may do, for the strict checks
        "peer_max_window_bits": resp.get("server_max_window_bits", 15),
        "peer_no_context_takeover": bool(resp.get("server_no_context_takeover")),
    }


# --------------------------------------------------------------------------
# server side: the client's offers, our response
# --------------------------------------------------------------------------

class Accept:
    """How the runner, as server, answers a client's permessage-deflate offers.

    Tries the rules in order; a rule is a dict with
      need_cmwb  -- only an offer that has client_max_window_bits qualifies
      cnct       -- ask the client for client_no_context_takeover
      cmwb       -- ask the client for client_max_window_bits=N (only when offered)
      snct       -- use server_no_context_takeover ourselves
      smwb       -- use server_max_window_bits=N ourselves (never above the offer)
    The first offer that qualifies for the first rule wins, as in Autobahn's accept functions."""

    def __init__(self, doc, *rules):
        self.doc = doc
        self.rules = rules or ({},)

    def __call__(self, offers):
        for rule in self.rules:
            for k, o in enumerate(offers):
                if o is None:
                    continue
                if rule.get("need_cmwb") and "client_max_window_bits" not in o:
                    continue
                return k, self._response(o, rule)
        return None, None

    @staticmethod
    def _response(o, rule):
        r = []
        if o.get("server_no_context_takeover") or rule.get("snct"):
            r.append(("server_no_context_takeover", True))
        smwb = o.get("server_max_window_bits")
        if rule.get("smwb"):
            smwb = min(smwb, rule["smwb"]) if smwb else rule["smwb"]
        if smwb:
            r.append(("server_max_window_bits", smwb))
        if rule.get("cnct"):
            r.append(("client_no_context_takeover", True))
        if rule.get("cmwb") and "client_max_window_bits" in o:
            v = o["client_max_window_bits"]
            r.append(("client_max_window_bits", min(v, rule["cmwb"]) if _valued(v) else rule["cmwb"]))
        return r


def server_negotiate(accept, header):
    """The runner as server: pick a response to the client's offers.

    Returns (errors, response_header, agreed). errors lists invalid offers of the client
    (those are declined, and count against the client); response_header/agreed are None
    when nothing was accepted."""
    errors = []
    if not header or not header.strip():
        return errors, None, None
    try:
        elems = parse_extensions(header)
    except ExtensionSyntaxError as e:
        return ["malformed Sec-WebSocket-Extensions %r: %s" % (header, e)], None, None
    offers = []
    for name, params in elems:
        if name != NAME:
            continue
        d, err = _check_params(params, "offer")
        if err:
            errors.append("invalid permessage-deflate offer %r: %s" % (format_params(params), err))
        offers.append(d)
    if accept is None or not any(o is not None for o in offers):
        return errors, None, None
    k, resp = accept(offers)
    if k is None:
        return errors, None, None
    rd = dict(resp)
    client_bits = rd.get("client_max_window_bits", 15)
    agreed = {
        "offer": k + 1,
        "response": format_params(resp),
        "server_max_window_bits": rd.get("server_max_window_bits", 15),
        "server_no_context_takeover": bool(rd.get("server_no_context_takeover")),
        "client_max_window_bits": client_bits,
        "client_no_context_takeover": bool(rd.get("client_no_context_takeover")),
        "peer_max_window_bits": client_bits,
        "peer_no_context_takeover": bool(rd.get("client_no_context_takeover")),
    }
    return errors, format_params(resp), agreed


# --------------------------------------------------------------------------
# the codec of one connection
# --------------------------------------------------------------------------

class InflateError(Exception):
    pass


class InflateTooBig(InflateError):
    pass


class PerMessageDeflate:
    """Compression state of one connection after a successful negotiation."""

    def __init__(self, is_server, agreed, level=zlib.Z_DEFAULT_COMPRESSION, max_size=None):
        self.is_server = is_server
        self.agreed = dict(agreed)
        if is_server:
            self.tx_bits = agreed["server_max_window_bits"]
            self.tx_no_takeover = agreed["server_no_context_takeover"]
        else:
            self.tx_bits = agreed["client_max_window_bits"]
            self.tx_no_takeover = agreed["client_no_context_takeover"]
        self.rx_bits = agreed["peer_max_window_bits"]
        self.rx_no_takeover = agreed["peer_no_context_takeover"]
        self.level = level
        self.max_size = max_size
        self._comp = None
        self._hist = b""
        self.stats = {"sent": 0, "sent_octets": 0, "sent_wire_octets": 0,
                      "received": 0, "received_compressed": 0, "received_octets": 0,
                      "received_wire_octets": 0}

    # ---- sending
    def compress(self, data):
        if self._comp is None or self.tx_no_takeover:
            self._comp = zlib.compressobj(self.level, zlib.DEFLATED, -max(9, self.tx_bits), 8)
        out = self._comp.compress(data) + self._comp.flush(zlib.Z_SYNC_FLUSH)
        if out.endswith(TAIL):
            out = out[:-4]
        self.stats["sent"] += 1
        self.stats["sent_octets"] += len(data)
        self.stats["sent_wire_octets"] += len(out)
        return out

    # ---- receiving
    def inflate(self, data):
        """Inflate one compressed message from the peer. Raises InflateError."""
        out = self._inflate(data, self.rx_bits, b"" if self.rx_no_takeover else self._hist)
        if not self.rx_no_takeover:
            self._hist = (self._hist + out)[-HISTORY:] if len(out) < HISTORY else out[-HISTORY:]
        self.stats["received"] += 1
        self.stats["received_compressed"] += 1
        self.stats["received_octets"] += len(out)
        self.stats["received_wire_octets"] += len(data)
        return out

    def note_uncompressed(self, n):
        self.stats["received"] += 1
        self.stats["received_octets"] += n
        self.stats["received_wire_octets"] += n

    def _inflate(self, data, bits, zdict):
        window = 1 << bits
        chunk = max(64, window // 4)
        zd = zdict[-window:] if zdict else b""
        try:
            d = zlib.decompressobj(-bits, zdict=zd) if zd else zlib.decompressobj(-bits)
            parts = []
            total = 0
            buf = data + TAIL
            while True:
                piece = d.decompress(buf, chunk)
                parts.append(piece)
                total += len(piece)
                if self.max_size is not None and total > self.max_size:
                    raise InflateTooBig("inflated message is larger than %d octets" % self.max_size)
                buf = d.unconsumed_tail
                if d.eof or (not buf and len(piece) < chunk):
                    break
        except zlib.error as e:
            hint = ""
            if "too far back" in str(e):
                hint = (" (a back-reference reaches beyond the %d-octet window%s)" % (
                    window, ", or into an earlier message although no context takeover was agreed"
                    if self.rx_no_takeover else ""))
            raise InflateError("cannot inflate with a window of %d bits: %s%s" % (bits, e, hint))
        if d.eof:
            # a block with BFINAL=1 ended the data: only (part of) our appended tail may follow
            rest = d.unused_data
            if not TAIL.endswith(rest):
                raise InflateError("%d octets follow the final DEFLATE block" % (len(rest) - len(TAIL)))
        return b"".join(parts)


def describe_agreed(agreed):
    if not agreed:
        return None
    return {k: agreed[k] for k in ("offer", "response", "client_max_window_bits", "client_no_context_takeover",
                                   "server_max_window_bits", "server_no_context_takeover")}

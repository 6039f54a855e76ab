"""Test cases: groups 1-7, 9 (short form), 10, 12 and 13 (short form) of Autobahn|Testsuite,
written anew from the suite's published case descriptions and expectations (RFC 6455,
RFC 7692 for the permessage-deflate groups 12 and 13).

A case drives a FuzzConnection (see wsconn.py) through `self.p`, records what it
receives (`self.received`) and is judged when the connection is gone:

* behavior      -- received events compared with the expected outcomes
                   (OK / NON-STRICT alternatives), or a case-specific rule.
* behaviorClose -- who started the closing handshake, whether it completed,
                   which close code the peer sent, who dropped TCP.

Timers (kill_after / close_after / later) are multiplied by TIME_SCALE.
"""

import hashlib

import deflate
import testdata
from wsconn import CLOSED, OPEN

OK = "OK"
NON_STRICT = "NON-STRICT"
FAILED = "FAILED"
INFORMATIONAL = "INFORMATIONAL"
UNIMPLEMENTED = "UNIMPLEMENTED"
VERDICTS = (OK, NON_STRICT, FAILED, INFORMATIONAL, UNIMPLEMENTED)

# detailed close outcomes (the labels Autobahn prints), mapped to the five verdicts
WRONG_CODE = "WRONG CODE"
WRONG_RFC_CODE = "WRONG CODE (RFC-named)"
UNCLEAN = "UNCLEAN"
FAILED_BY_CLIENT = "FAILED BY CLIENT"
CLOSE_DETAIL_TO_VERDICT = {
    OK: OK,
    INFORMATIONAL: INFORMATIONAL,
    FAILED: FAILED,
    UNCLEAN: FAILED,
    WRONG_CODE: NON_STRICT,      # Autobahn shows this in its "non-strict" colour
    # the peer failed the connection with another code than the one RFC 6455 7.4.1 names for
    # the error it had to detect (1002 protocol error, 1007 invalid payload data): a failure,
    # not a matter of style (Autobahn counts it NON-STRICT)
    WRONG_RFC_CODE: FAILED,
    FAILED_BY_CLIENT: NON_STRICT,  # the server SHOULD close TCP first (RFC 6455 7.1.1)
}

TIME_SCALE = 1.0

CATEGORIES = {
    "1": "Framing", "2": "Pings/Pongs", "3": "Reserved Bits", "4": "Opcodes",
    "5": "Fragmentation", "6": "UTF-8 Handling", "7": "Close Handling",
    "9": "Limits/Performance (short form)", "10": "Misc",
    "12": "WebSocket Compression, different payloads (short form)",
    "13": "WebSocket Compression, different parameters (short form)",
}

# expected close behaviours
def by_me(codes=(1000,), clean=True):
    return {"closedByMe": True, "closeCode": list(codes), "requireClean": clean}


def by_peer(codes=(1002,), clean=False, fatal=False):
    # the peer must fail the connection; the codes are those RFC 6455 7.4.1 names for the
    # error, so any other code is FAILED (WRONG_RFC_CODE)
    d = {"closedByMe": False, "closeCode": list(codes), "requireClean": clean, "rfcNamedCode": True}
    if fatal:
        d["closedByWrongEndpointIsFatal"] = True
    return d


NORMAL = by_me()
PROTO = by_peer()
BAD_UTF8 = by_peer((1007,), fatal=True)


def short(data, limit=48):
    """Readable, bounded rendering of a payload for the report."""
    if isinstance(data, str):
        return data
    text = data[:limit]
    try:
        s = text.decode("utf-8")
        s = repr(s)
    except UnicodeDecodeError:
        s = "0x" + text.hex()
    if len(data) > limit:
        s += "... (%d octets, sha1 %s)" % (len(data), hashlib.sha1(data).hexdigest()[:12])
    return s


def render_event(e):
    if e[0] == "message":
        return ["message", short(e[1]), "binary" if e[2] else "text", len(e[1])]
    if e[0] in ("ping", "pong"):
        return [e[0], short(e[1])]
    return list(e)


class Case:
    id = "?"
    description = ""
    expectation = ""
    hard_limit = 20.0     # seconds; the runner aborts the case after this
    short_form = False
    report_time = False
    non_strict_note = ""

    def __init__(self):
        self.p = None
        self.expected = {}
        self.expected_close = dict(NORMAL)
        self.received = []
        self.suppress_close = False
        self.behavior = FAILED
        self.behavior_close = FAILED
        self.result = "Actual events differ from any expected."
        self.result_close = "TCP connection was dropped without close handshake"

    # ---- timers (scaled)
    def kill_after(self, t):
        self.p.call_later(t * TIME_SCALE, self.p.fail)

    def close_after(self, t):
        self.p.call_later(t * TIME_SCALE, self.p.send_close, 1000)

    def later(self, t, fn):
        self.p.call_later(t * TIME_SCALE, fn)

    # ---- events
    def start(self, p):
        self.p = p
        self.on_open()

    def on_open(self):
        raise NotImplementedError

    def on_message(self, payload, binary):
        self.received.append(("message", payload, binary))
        self.finish_when_done()

    def on_pong(self, payload):
        self.received.append(("pong", payload))
        self.finish_when_done()

    def finish_when_done(self):
        # start the closing handshake as soon as what we got matches every expected outcome
        for exp in self.expected.values():
            if self.received != exp:
                return
        if self.expected_close["closedByMe"] and not self.suppress_close:
            self.p.send_close(self.expected_close["closeCode"][0])

    # ---- judgement
    def evaluate(self, was_open, is_server):
        p = self.p
        for verdict, exp in self.expected.items():
            if self.received == exp:
                self.behavior = verdict
                if verdict == OK:
                    self.result = "Actual events match the expected outcome."
                else:
                    self.result = "Actual events match only the %s outcome%s" % (
                        verdict, (": " + self.non_strict_note) if self.non_strict_note else ".")
                break
        else:
            self.result = "Actual events %s differ from any expected outcome." % (
                [render_event(e) for e in self.received],)
        if was_open:
            ec = self.expected_close
            if ec["closedByMe"] != p.closed_by_me:
                self.behavior_close = FAILED
                self.result_close = "The connection was failed by the wrong endpoint"
            elif ec["requireClean"] and not p.was_clean:
                self.behavior_close = UNCLEAN
                self.result_close = "The spec requires the connection to be failed cleanly here"
            elif p.remote_close_code is not None and p.remote_close_code not in ec["closeCode"]:
                if ec.get("rfcNamedCode"):
                    self.behavior_close = WRONG_RFC_CODE
                    self.result_close = ("The close code should have been %s (RFC 6455 7.4.1 names it for this "
                                         "error) or empty, not %d" % (",".join(map(str, ec["closeCode"])),
                                                                     p.remote_close_code))
                else:
                    self.behavior_close = WRONG_CODE
                    self.result_close = "The close code should have been %s or empty" % ",".join(
                        map(str, ec["closeCode"]))
            elif not is_server and p.dropped_by_me:
                self.behavior_close = FAILED_BY_CLIENT
                self.result_close = "It is preferred that the server close the TCP connection"
            else:
                self.behavior_close = OK
                self.result_close = "Connection was properly closed"
            if ec.get("closedByWrongEndpointIsFatal") and ec["closedByMe"] != p.closed_by_me:
                self.behavior = FAILED
                self.result = "The peer did not fail the connection (it should have detected the invalid payload)."
        else:
            self.behavior = FAILED
            self.behavior_close = FAILED
            self.result_close = "The WebSocket opening handshake was never completed!"
        self.post_evaluate()

    def post_evaluate(self):
        pass

    def expected_for_report(self):
        return {k: [render_event(e) for e in v] for k, v in self.expected.items()}


# --------------------------------------------------------------------------
# scripted cases: a list of actions plus expectations
# --------------------------------------------------------------------------

def F(opcode, payload=b"", fin=True, rsv=0, chop=None, sync=False, length=None):
    return ("frame", dict(opcode=opcode, payload=payload, fin=fin, rsv=rsv, chopsize=chop, sync=sync,
                          payload_len=length))


def MSG(payload, binary=False, frag=None):
    return ("message", payload, binary, frag)


def CLOSE(code=1000, reason=None):          # regular close: Autobahn's sendClose
    return ("close", code, reason)


def CLOSE_FRAME(code=None, reason=None):    # close frame with arbitrary content: sendCloseFrame
    return ("closeframe", code, reason)


def KILL(t):
    return ("kill", t)


def CLOSE_AFTER(t):
    return ("closeafter", t)


class Scripted(Case):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.expected = {k: list(v) for k, v in spec["expected"].items()}
        self.expected_close = dict(spec["close"])
        self.suppress_close = spec.get("suppress_close", False)
        self.echo_ok_codes = spec.get("echo_ok", ())
        if NON_STRICT in self.expected and not self.expected[NON_STRICT]:
            self.non_strict_note = ("the peer failed the connection before echoing the valid message that "
                                    "preceded the protocol error.")

    def on_open(self):
        p = self.p
        for a in self.spec["actions"]:
            kind = a[0]
            if kind == "frame":
                p.send_frame(**a[1])
            elif kind == "message":
                p.send_message(a[1], a[2], a[3])
            elif kind == "close":
                p.send_close(a[1], a[2])
            elif kind == "closeframe":
                p.send_close_frame(a[1], a[2])
            elif kind == "kill":
                self.kill_after(a[1])
            elif kind == "closeafter":
                self.close_after(a[1])
            else:
                raise ValueError(kind)

    def post_evaluate(self):
        post = self.spec.get("post")
        if post:
            post(self)


def close_code_rule(case):
    """Group 7: a wrong close code is a failure of the case itself."""
    if case.behavior_close in (WRONG_CODE, WRONG_RFC_CODE):
        case.behavior = FAILED
        case.result = case.result_close


def informational(case):
    """The events are undefined by the spec, so the behaviour is INFORMATIONAL; the closing
    handshake is still judged (right endpoint, clean where required, an allowed code), and
    runner.case_record still fails a peer that put an invalid frame on the wire."""
    case.result = "Actual events are undefined by the spec. Received: %s; close code %s" % (
        [render_event(e) for e in case.received], case.p.remote_close_code)
    case.behavior = INFORMATIONAL
    if case.behavior_close == OK:
        case.behavior_close = INFORMATIONAL


# --------------------------------------------------------------------------
# special cases
# --------------------------------------------------------------------------

class InterleavedPings(Case):
    """5.19 / 5.20"""
    hard_limit = 20.0

    def __init__(self, sync):
        super().__init__()
        self.sync = sync
        self.frags = [b"fragment1", b"fragment2", b"fragment3", b"fragment4", b"fragment5"]
        self.pings = [b"pongme 1!", b"pongme 2!"]
        self.expected = {OK: [("pong", self.pings[0]), ("pong", self.pings[1]),
                              ("message", b"".join(self.frags), False)]}

    def on_open(self):
        s = self.sync
        self.p.send_frame(1, self.frags[0], fin=False, sync=s)
        self.p.send_frame(0, self.frags[1], fin=False, sync=s)
        self.p.send_frame(9, self.pings[0], sync=s)
        self.later(1, self.part2)

    def part2(self):
        s = self.sync
        self.p.send_frame(0, self.frags[2], fin=False, sync=s)
        self.p.send_frame(0, self.frags[3], fin=False, sync=s)
        self.p.send_frame(9, self.pings[1], sync=s)
        self.p.send_frame(0, self.frags[4], fin=True, sync=s)
        self.close_after(1)


KOSME = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"   # valid UTF-8 (Greek 'kosme')
EDITED = b"edited"


class FailFastUtf8(Case):
    """6.4.1 - 6.4.4: invalid UTF-8 arrives in the middle of a message; the peer should
    fail at once (OK), or at the latest when the message is complete (NON-STRICT)."""
    hard_limit = 20.0

    def __init__(self, parts, same_frame):
        super().__init__()
        self.parts = parts
        self.same_frame = same_frame
        self.expected = {OK: [("timeout", "A")], NON_STRICT: [("timeout", "A"), ("timeout", "B")]}
        self.expected_close = dict(BAD_UTF8)
        self.non_strict_note = ("the peer did not fail the connection right after the octets that made the "
                                "payload invalid (no fail-fast on UTF-8), only after the rest of the message.")

    def on_open(self):
        if self.same_frame:
            self.p.begin_frame(1, sum(len(x) for x in self.parts))
            self.p.frame_data(self.parts[0])
        else:
            self.p.send_frame(1, self.parts[0], fin=False)
        self.later(1, self.part2)

    def part2(self):
        if self.p.state != OPEN:
            return
        self.received.append(("timeout", "A"))
        if self.same_frame:
            self.p.frame_data(self.parts[1])
        else:
            self.p.send_frame(0, self.parts[1], fin=False)
        self.later(1, self.part3)

    def part3(self):
        if self.p.state != OPEN:
            return
        self.received.append(("timeout", "B"))
        if self.same_frame:
            self.p.frame_data(self.parts[2])
        else:
            self.p.send_frame(0, self.parts[2], fin=True)
        self.kill_after(1)


class AutoFragment(Case):
    """10.1.1"""

    def __init__(self):
        super().__init__()
        self.payload = b"*" * 65536
        self.expected = {OK: [("message", self.payload, False)]}

    def on_open(self):
        self.p.auto_fragment_size = 1300
        self.p.send_message(self.payload, binary=False)
        self.kill_after(10)

    def post_evaluate(self):
        want = {0: len(self.payload) // 1300, 1: 1 if len(self.payload) % 1300 else 0}
        got = {0: self.p.tx_frame_stats.get(0, 0), 1: self.p.tx_frame_stats.get(1, 0)}
        if got != want:
            self.behavior = FAILED
            self.result = "Frames transmitted %s do not match what we expected %s." % (got, want)


class Perf(Case):
    """Group 9 (short form): big messages, many fragments, small TCP chops, round trips."""
    short_form = True
    report_time = True

    def __init__(self, kind, binary, length, wait, frag=None, chop=None, count=1):
        super().__init__()
        self.kind = kind
        self.binary = binary
        self.length = length
        self.wait = wait
        self.frag = frag
        self.chop = chop
        self.count = count
        self.sent = 0
        pattern = (b"\x00\xfe\x23\xfa\xf0" if binary else b"BAsd7&jh23")
        if kind in ("fragmented", "rtt"):
            pattern = b"\xfe" if binary else b"*"
        self.payload = (pattern * (length // len(pattern) + 1))[:length]
        self.hard_limit = wait + 10.0
        self.result = "Did not receive the echo within %d seconds." % wait

    def on_open(self):
        self.close_after(self.wait)
        self.send_one()

    def send_one(self):
        op = 2 if self.binary else 1
        self.sent += 1
        if self.kind == "fragmented":
            self.p.send_message(self.payload, self.binary, self.frag)
        elif self.kind == "chopped":
            self.p.send_frame(op, self.payload, chopsize=self.chop)
        else:
            self.p.send_frame(op, self.payload)

    def on_message(self, payload, binary):
        if binary != self.binary or payload != self.payload:
            self.behavior = FAILED
            self.result = ("Echo differs from what was sent: got %s message of %d octets, expected %s "
                           "message of %d octets%s." % ("binary" if binary else "text", len(payload),
                                                       "binary" if self.binary else "text", self.length,
                                                       "" if len(payload) != self.length else " (content differs)"))
            self.p.send_close(1000)
        elif self.sent < self.count:
            self.send_one()
        else:
            self.behavior = OK
            self.result = "Received %d echoed %s message(s) of %d octets." % (
                self.count, "binary" if self.binary else "text", self.length)
            self.p.send_close(1000)

    def evaluate(self, was_open, is_server):
        behavior, result = self.behavior, self.result
        super().evaluate(was_open, is_server)
        if was_open:   # behaviour was decided by on_message, not by comparing event lists
            self.behavior, self.result = behavior, result


class DeflateEcho(Case):
    """Groups 12 and 13 (short form): negotiate permessage-deflate, then send `count` compressed
    messages of `length` units (octets, or code points for text data) cut from a data set, one
    at a time, each after the echo of the previous one. Every echo must have the type, length
    and content of what was sent; the peer may compress it or not.

    Client mode: we send `offers`; the server's response is checked in runner.py (an invalid
    one fails the case before it starts). Server mode: `accept` picks our response to the
    client's offers; invalid offers by the client fail the case."""
    short_form = True
    report_time = True

    def __init__(self, data_key, length, count, wait, autofrag, offers, accept):
        super().__init__()
        self.data_key = data_key
        self.binary = testdata.DATASETS[data_key][1]
        self.length = length
        self.count = count
        self.wait = wait
        self.autofrag = autofrag
        self.offers = offers
        self.accept = accept
        self.hard_limit = wait + 10.0
        self.sent = 0
        self.echoed = 0
        self.timed_out = False
        self.expect = None
        self.cursor = None
        self.offer_header = None       # what the client offered
        self.response_header = None    # what the server answered
        self.agreed = None
        self.negotiation_errors = []   # server mode: invalid offers of the client
        self.result = "Case did not finish within %d seconds." % wait

    def client_offer(self):
        return deflate.format_offers(self.offers)

    def negotiated(self, offer_header, response_header, agreed, errors=()):
        self.offer_header = offer_header
        self.response_header = response_header
        self.agreed = agreed
        self.negotiation_errors = list(errors)

    def on_open(self):
        p = self.p
        if p.pmd is None:
            self.behavior = UNIMPLEMENTED
            self.result = ("permessage-deflate was not negotiated (offer %r, response %r)."
                           % (self.offer_header, self.response_header))
            p.send_close(1000)
            return
        self.behavior = FAILED
        self.cursor = testdata.Cursor(self.data_key, self.length)
        p.auto_fragment_size = self.autofrag
        self.later(self.wait, self._timeout)
        self.send_one()

    def _timeout(self):
        self.timed_out = True
        self.p.send_close(1000)

    def send_one(self):
        self.expect = self.cursor.next()
        self.sent += 1
        self.p.send_message(self.expect, self.binary)

    def on_message(self, payload, binary):
        if self.expect is None:
            self.behavior = FAILED
            self.result = "Received a message although we sent none (%s, %d octets)." % (
                "binary" if binary else "text", len(payload))
            self.p.send_close(1000)
            return
        if binary != self.binary or payload != self.expect:
            self.behavior = FAILED
            if binary != self.binary:
                self.result = "Echo'ed message %d type differs from what we sent (got %s, expected %s)." % (
                    self.sent, "binary" if binary else "text", "binary" if self.binary else "text")
            elif len(payload) != len(self.expect):
                self.result = "Echo'ed message %d length differs from what we sent (got %d octets, expected %d)." % (
                    self.sent, len(payload), len(self.expect))
            else:
                self.result = "Echo'ed message %d content differs from what we sent (got SHA1 %s, expected SHA1 %s)." % (
                    self.sent, hashlib.sha1(payload).hexdigest(), hashlib.sha1(self.expect).hexdigest())
            self.expect = None
            self.p.send_close(1000)
        elif self.sent < self.count:
            self.echoed += 1
            self.send_one()
        else:
            self.echoed += 1
            self.expect = None
            self.behavior = OK
            self.result = "Ok, received all %d echo'ed messages in time." % self.count
            self.p.send_close(1000)

    def evaluate(self, was_open, is_server):
        behavior, result = self.behavior, self.result
        super().evaluate(was_open, is_server)
        if was_open:
            self.behavior, self.result = behavior, result
            if self.behavior == FAILED and self.cursor is not None and not self.timed_out and self.expect is not None:
                self.result = ("The connection ended after %d of %d echoes, before the echo of message %d." % (
                    self.echoed, self.count, self.sent))
                if self.echoed == 0 and is_server and not self.p.closed_by_me:
                    self.result += (" The client left right after the opening handshake: did it reject our "
                                    "permessage-deflate response %r?" % self.response_header)
        if self.negotiation_errors:
            self.behavior = FAILED
            self.result = "The client's permessage-deflate offer is invalid: %s. %s" % (
                "; ".join(self.negotiation_errors), self.result)

    def deflate_report(self):
        d = {"offer": self.offer_header, "response": self.response_header,
             "agreed": deflate.describe_agreed(self.agreed)}
        pmd = getattr(self.p, "pmd", None) if self.p is not None else None
        if pmd is not None:
            d["traffic"] = dict(pmd.stats)
        return d


# --------------------------------------------------------------------------
# UTF-8 test sequences (after Markus Kuhn's UTF-8 decoder capability test)
# --------------------------------------------------------------------------

def _valid(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def utf8_sequences():
    """[(subcategory title, [(is_valid, payload), ...]), ...] for cases 6.5.x - 6.23.x"""
    V, I = True, False
    groups = []
    groups.append(("Some valid UTF-8 sequences", [
        (V, b"hello$world"), (V, b"hello\xc2\xa2world"), (V, b"hello\xe2\x82\xacworld"),
        (V, b"hello\xf0\xa4\xad\xa2world"), (V, KOSME)]))
    groups.append(("All prefixes of a valid UTF-8 string that contains multi-byte code points",
                   [(_valid(KOSME[:i]), KOSME[:i]) for i in range(1, len(KOSME) + 1)]))
    groups.append(("First possible sequence of a certain length", [
        (V, b"\x00"), (V, b"\xc2\x80"), (V, b"\xe0\xa0\x80"), (V, b"\xf0\x90\x80\x80")]))
    groups.append(("First possible sequence length 5/6 (invalid codepoints)", [
        (I, b"\xf8\x88\x80\x80\x80"), (I, b"\xfc\x84\x80\x80\x80\x80")]))
    groups.append(("Last possible sequence of a certain length", [
        (V, b"\x7f"), (V, b"\xdf\xbf"), (V, b"\xef\xbf\xbf"), (V, b"\xf4\x8f\xbf\xbf")]))
    groups.append(("Last possible sequence length 4/5/6 (invalid codepoints)", [
        (I, b"\xf7\xbf\xbf\xbf"), (I, b"\xfb\xbf\xbf\xbf\xbf"), (I, b"\xfd\xbf\xbf\xbf\xbf\xbf")]))
    groups.append(("Other boundary conditions", [
        (V, b"\xed\x9f\xbf"), (V, b"\xee\x80\x80"), (V, b"\xef\xbf\xbd"), (V, b"\xf4\x8f\xbf\xbf"),
        (I, b"\xf4\x90\x80\x80")]))
    cont = [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80", b"\x80\xbf\x80\xbf", b"\x80\xbf\x80\xbf\x80",
            b"\x80\xbf\x80\xbf\x80\xbf", bytes(range(0x80, 0xbf))]
    groups.append(("Unexpected continuation bytes", [(I, x) for x in cont]))
    lonely = []
    for lo, hi in ((0xc0, 0xdf), (0xe0, 0xef), (0xf0, 0xf7), (0xf8, 0xfb), (0xfc, 0xfd)):
        lonely.append((I, b"".join(bytes((c, 0x20)) for c in range(lo, hi))))
    groups.append(("Lonely start characters", lonely))
    missing = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80", b"\xfc\x80\x80\x80\x80",
               b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf", b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]
    groups.append(("Sequences with last continuation byte missing", [(I, x) for x in missing]))
    groups.append(("Concatenation of incomplete sequences", [(I, b"".join(missing))]))
    groups.append(("Impossible bytes", [(I, b"\xfe"), (I, b"\xff"), (I, b"\xfe\xfe\xff\xff")]))
    groups.append(("Examples of an overlong ASCII character", [
        (I, b"\xc0\xaf"), (I, b"\xe0\x80\xaf"), (I, b"\xf0\x80\x80\xaf"), (I, b"\xf8\x80\x80\x80\xaf"),
        (I, b"\xfc\x80\x80\x80\x80\xaf")]))
    groups.append(("Maximum overlong sequences", [
        (I, b"\xc1\xbf"), (I, b"\xe0\x9f\xbf"), (I, b"\xf0\x8f\xbf\xbf"), (I, b"\xf8\x87\xbf\xbf\xbf"),
        (I, b"\xfc\x83\xbf\xbf\xbf\xbf")]))
    groups.append(("Overlong representation of the NUL character", [
        (I, b"\xc0\x80"), (I, b"\xe0\x80\x80"), (I, b"\xf0\x80\x80\x80"), (I, b"\xf8\x80\x80\x80\x80"),
        (I, b"\xfc\x80\x80\x80\x80\x80")]))
    singles = [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf", b"\xed\xb0\x80",
               b"\xed\xbe\x80", b"\xed\xbf\xbf"]
    groups.append(("Single UTF-16 surrogates", [(I, x) for x in singles]))
    pairs = [hi + lo for hi in singles[:4] for lo in (b"\xed\xb0\x80", b"\xed\xbf\xbf")]
    groups.append(("Paired UTF-16 surrogates", [(I, x) for x in pairs]))
    nonchars = [b"\xef\xbf\xbe", b"\xef\xbf\xbf"]
    for lead in (0xf0, 0xf1, 0xf2, 0xf3, 0xf4):
        for second in (0x8f, 0x9f, 0xaf, 0xbf):
            if lead == 0xf4 and second != 0x8f:
                continue                       # beyond U+10FFFF
            for last in (0xbe, 0xbf):
                seq = bytes((lead, second, 0xbf, last))
                if lead == 0xf0 and second == 0x8f:
                    continue                   # overlong
                nonchars.append(seq)
    groups.append(("Non-character code points (valid UTF-8)", [(V, x) for x in nonchars]))
    groups.append(("Unicode specials (i.e. replacement char)",
                   [(V, bytes((0xef, 0xbf, c))) for c in range(0xb9, 0xc0)]))
    for title, seqs in groups:
        for ok, b in seqs:
            assert ok == _valid(b), (title, b)
    return groups


# --------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------

class CaseSpec:
    def __init__(self, cid, description, expectation, factory, subcategory=""):
        self.id = cid
        self.description = description
        self.expectation = expectation
        self.factory = factory
        self.subcategory = subcategory

    def make(self):
        c = self.factory()
        c.id = self.id
        c.description = self.description
        c.expectation = self.expectation
        return c

    @property
    def group(self):
        return int(self.id.split(".")[0])

    def sort_key(self):
        return tuple(int(x) for x in self.id.split("."))


ALL = []


def add(cid, desc, exp, factory, sub=""):
    ALL.append(CaseSpec(cid, desc, exp, factory, sub))


def script(cid, desc, exp, actions, expected, close, suppress_close=False, post=None, hard_limit=None, sub="",
           echo_ok=()):
    spec = {"actions": actions, "expected": expected, "close": close, "suppress_close": suppress_close,
            "post": post, "echo_ok": tuple(echo_ok)}

    def factory():
        c = Scripted(spec)
        if hard_limit:
            c.hard_limit = hard_limit
        return c
    add(cid, desc, exp, factory, sub)


def _group1():
    sizes = [0, 125, 126, 127, 128, 65535, 65536]
    for typ, binary, fill, sub in (("text", False, b"*", "1.1"), ("binary", True, b"\xfe", "1.2")):
        for i, n in enumerate(sizes + [65536]):
            chop = 997 if i == 7 else None
            payload = fill * n
            if n == 0:
                desc = "Send %s message with payload 0." % typ
                exp = "Receive echo'ed %s message (with empty payload). Clean close with normal code." % typ
            else:
                desc = "Send %s message message with payload of length %d." % (typ, n)
                if chop:
                    desc += " Sent out data in chops of 997 octets."
                exp = "Receive echo'ed %s message (with payload as sent). Clean close with normal code." % typ
            script("%s.%d" % (sub, i + 1), desc, exp,
                   [F(2 if binary else 1, payload, chop=chop), KILL(10 if n > 128 else 1)],
                   {OK: [("message", payload, binary)]}, NORMAL, hard_limit=20)


def _group2():
    pong_exp = "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code."
    script("2.1", "Send ping without payload.",
           "Pong (with empty payload) is sent in reply to Ping. Clean close with normal code.",
           [F(9), CLOSE_AFTER(1)], {OK: [("pong", b"")]}, NORMAL)
    script("2.2", "Send ping with small text payload.", pong_exp,
           [F(9, b"Hello, world!"), CLOSE_AFTER(1)], {OK: [("pong", b"Hello, world!")]}, NORMAL)
    bp = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
    script("2.3", "Send ping with small binary (non UTF-8) payload.", pong_exp,
           [F(9, bp), CLOSE_AFTER(1)], {OK: [("pong", bp)]}, NORMAL)
    script("2.4", "Send ping with binary payload of 125 octets.", pong_exp,
           [F(9, b"\xfe" * 125), CLOSE_AFTER(1)], {OK: [("pong", b"\xfe" * 125)]}, NORMAL)
    script("2.5", "Send ping with binary payload of 126 octets.",
           "Connection is failed immediately (1002/Protocol Error), since control frames are only allowed "
           "to have payload up to and including 125 octets..",
           [F(9, b"\xfe" * 126), KILL(1)], {OK: []}, PROTO)
    script("2.6", "Send ping with binary payload of 125 octets, send in octet-wise chops.",
           "Pong with payload echo'ed is sent in reply to Ping. Implementations must be TCP clean. "
           "Clean close with normal code.",
           [F(9, b"\xfe" * 125, chop=1), CLOSE_AFTER(2)], {OK: [("pong", b"\xfe" * 125)]}, NORMAL)
    script("2.7", "Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.",
           "Nothing.", [F(10), CLOSE(1000), CLOSE_AFTER(1)], {OK: []}, NORMAL)
    script("2.8", "Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.",
           "Nothing.", [F(10, b"unsolicited pong payload"), CLOSE(1000), CLOSE_AFTER(1)], {OK: []}, NORMAL)
    script("2.9", "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.",
           "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.",
           [F(10, b"unsolicited pong payload"), F(9, b"ping payload"), CLOSE_AFTER(1)],
           {OK: [("pong", b"ping payload")]}, NORMAL)
    for cid, chop, desc in (("2.10", None, "Send 10 Pings with payload."),
                            ("2.11", 1, "Send 10 Pings with payload. Send out octets in octet-wise chops.")):
        pl = [b"payload-%d" % i for i in range(10)]
        script(cid, desc, "Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. "
               "but we check for this behaviour anyway. Clean close with normal code.",
               [F(9, x, chop=chop) for x in pl] + [CLOSE_AFTER(3)], {OK: [("pong", x) for x in pl]}, NORMAL)


def _group3():
    hw = b"Hello, world!"
    immediate = "The connection is failed immediately (1002/protocol error), since RSV must be 0, when no " \
                "extension defining RSV meaning has been negotiated."
    later = "Echo for first message is received, but then connection is failed immediately, since RSV must be 0, " \
            "when no extension defining RSV meaning has been negotiated. The Pong is not received."
    script("3.1", "Send small text message with RSV = 1.", immediate,
           [F(1, hw, rsv=1), KILL(1)], {OK: []}, PROTO)
    script("3.2", "Send small text message, then send again with RSV = 2, then send Ping.", later,
           [F(1, hw), F(1, hw, rsv=2), F(9), KILL(1)],
           {OK: [("message", hw, False)], NON_STRICT: []}, PROTO)
    script("3.3", "Send small text message, then send again with RSV = 3, then send Ping. Octets are sent in "
           "frame-wise chops.", later,
           [F(1, hw, sync=True), F(1, hw, rsv=3, sync=True), F(9, sync=True), KILL(1)],
           {OK: [("message", hw, False)], NON_STRICT: []}, PROTO)
    script("3.4", "Send small text message, then send again with RSV = 4, then send Ping. Octets are sent in "
           "octet-wise chops.", later,
           [F(1, hw, chop=1), F(1, hw, rsv=4, chop=1), F(9, chop=1), KILL(1)],
           {OK: [("message", hw, False)], NON_STRICT: []}, PROTO)
    script("3.5", "Send small binary message with RSV = 5.", "The connection is failed immediately, since RSV must be 0.",
           [F(2, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff", rsv=5), KILL(1)], {OK: []}, PROTO)
    # Autobahn's implementation of 3.6 puts a binary frame on the wire; we send what the description says.
    script("3.6", "Send Ping with RSV = 6.", "The connection is failed immediately, since RSV must be 0.",
           [F(9, hw, rsv=6), KILL(1)], {OK: []}, PROTO)
    script("3.7", "Send Close with RSV = 7.", "The connection is failed immediately, since RSV must be 0.",
           [F(8, rsv=7), KILL(1)], {OK: []}, PROTO)


def _group4():
    hw = b"Hello, world!"
    later = "Echo for first message is received, but then connection is failed immediately, since reserved " \
            "opcode frame is used. A Pong is not received."
    for sub, kind, ops in (("4.1", "non-control", (3, 4, 5, 6, 7)), ("4.2", "control", (11, 12, 13, 14, 15))):
        a, b, c, d, e = ops
        script(sub + ".1", "Send frame with reserved %s Opcode = %d." % (kind, a),
               "The connection is failed immediately.", [F(a), KILL(1)], {OK: []}, PROTO)
        script(sub + ".2", "Send frame with reserved %s Opcode = %d and non-empty payload." % (kind, b),
               "The connection is failed immediately.", [F(b, b"reserved opcode payload"), KILL(1)], {OK: []}, PROTO)
        script(sub + ".3", "Send small text message, then send frame with reserved %s Opcode = %d, then send Ping."
               % (kind, c), later, [F(1, hw), F(c), F(9), KILL(1)],
               {OK: [("message", hw, False)], NON_STRICT: []}, PROTO)
        script(sub + ".4", "Send small text message, then send frame with reserved %s Opcode = %d and non-empty "
               "payload, then send Ping." % (kind, d), later, [F(1, hw), F(d, hw), F(9), KILL(1)],
               {OK: [("message", hw, False)], NON_STRICT: []}, PROTO)
        script(sub + ".5", "Send small text message, then send frame with reserved %s Opcode = %d and non-empty "
               "payload, then send Ping." % (kind, e), later,
               [F(1, hw, chop=1), F(e, hw, chop=1), F(9, chop=1), KILL(1)],
               {OK: [("message", hw, False)], NON_STRICT: []}, PROTO)


def _group5():
    f1, f2 = b"fragment1", b"fragment2"
    ctrl = "Connection is failed immediately, since control message MUST NOT be fragmented."
    script("5.1", "Send Ping fragmented into 2 fragments.", ctrl,
           [F(9, f1, fin=False), F(0, f2), KILL(1)], {OK: []}, PROTO)
    script("5.2", "Send Pong fragmented into 2 fragments.", ctrl,
           [F(10, f1, fin=False), F(0, f2), KILL(1)], {OK: []}, PROTO)
    echo = "Message is processed and echo'ed back to us."
    for cid, how, kw in (("5.3", "", {}), ("5.4", ", octets are sent in frame-wise chops", {"sync": True}),
                         ("5.5", ", octets are sent in octet-wise chops", {"chop": 1})):
        script(cid, "Send text Message fragmented into 2 fragments%s." % how, echo,
               [F(1, f1, fin=False, **kw), F(0, f2, **kw), CLOSE_AFTER(1)],
               {OK: [("message", f1 + f2, False)]}, NORMAL)
    pp = b"ping payload"
    for cid, how, kw in (("5.6", "", {}), ("5.7", " Octets are sent in frame-wise chops.", {"sync": True}),
                         ("5.8", " Octets are sent in octet-wise chops.", {"chop": 1})):
        script(cid, "Send text Message fragmented into 2 fragments, one ping with payload in-between." + how,
               "A pong is received, then the message is echo'ed back to us.",
               [F(1, f1, fin=False, **kw), F(9, pp, **kw), F(0, f2, **kw), CLOSE_AFTER(1)],
               {OK: [("pong", pp), ("message", f1 + f2, False)]}, NORMAL)
    nothing = "The connection is failed immediately, since there is no message to continue."
    ncp, hw = b"non-continuation payload", b"Hello, world!"
    n = 9
    for fin in (True, False):
        for how, kw in (("one chop", {}), ("per-frame chops", {"sync": True}), ("octet-wise chops", {"chop": 1})):
            script("5.%d" % n, "Send unfragmented Text Message after Continuation Frame with FIN = %s, where there "
                   "is nothing to continue, sent in %s." % ("true" if fin else "false", how), nothing,
                   [F(0, ncp, fin=fin, **kw), F(1, hw, **kw), KILL(1)], {OK: []}, PROTO)
            n += 1
    f3, f4 = b"fragment3", b"fragment4"
    script("5.15", "Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where "
           "there is nothing to continue, then unfragmented Text Message, all sent in one chop.", nothing,
           [F(1, f1, fin=False), F(0, f2), F(0, f3, fin=False), F(1, f4), KILL(1)],
           {OK: [("message", f1 + f2, False)], NON_STRICT: []}, PROTO)
    for cid, fin in (("5.16", False), ("5.17", True)):
        script(cid, "Repeated 2x: Continuation Frame with FIN = %s (where there is nothing to continue), then text "
               "Message fragmented into 2 fragments." % ("true" if fin else "false"), nothing,
               [F(0, f1, fin=fin), F(1, f2, fin=False), F(0, f3)] * 2 + [KILL(1)], {OK: []}, PROTO)
    script("5.18", "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one "
           "chop.", "The connection is failed immediately, since all data frames after the initial data frame must "
           "have opcode 0.", [F(1, f1, fin=False), F(1, f2), KILL(1)], {OK: []}, PROTO)
    add("5.19", "A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text "
        "message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the "
        "final text fragment. Everything is legal.",
        "The peer immediately answers the first Ping before it has received the last text message fragment. The "
        "peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.",
        lambda: InterleavedPings(False))
    add("5.20", "Same as Case 5.19, but send all frames with SYNC = True. Note, this does not change the octets sent "
        "in any way, only how the stream is chopped up on the wire.",
        "Same as Case 5.19. Implementations must be agnostic to how octet stream is chopped up on wire (must be TCP "
        "clean).", lambda: InterleavedPings(True))


def _group6():
    script("6.1.1", "Send text message of length 0.", "A message is echo'ed back to us (with empty payload).",
           [F(1, b""), CLOSE_AFTER(1)], {OK: [("message", b"", False)]}, NORMAL)
    script("6.1.2", "Send fragmented text message, 3 fragments each of length 0.",
           "A message is echo'ed back to us (with empty payload).",
           [F(1, b"", fin=False), F(0, b"", fin=False), F(0, b""), CLOSE_AFTER(1)],
           {OK: [("message", b"", False)]}, NORMAL)
    mid = b"middle frame payload"
    script("6.1.3", "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.",
           "A message is echo'ed back to us (with payload = payload of middle fragment).",
           [F(1, b"", fin=False), F(0, mid, fin=False), F(0, b""), CLOSE_AFTER(1)],
           {OK: [("message", mid, False)]}, NORMAL)
    hello = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode("utf-8")
    p1, p2 = "Hello-\u00b5@\u00df\u00f6\u00e4".encode("utf-8"), "\u00fc\u00e0\u00e1-UTF-8!!".encode("utf-8")
    echo = "The message is echo'ed back to us."
    script("6.2.1", "Send a valid UTF-8 text message in one fragment. MESSAGE: %s" % hello.hex(), echo,
           [MSG(hello), CLOSE_AFTER(1)], {OK: [("message", hello, False)]}, NORMAL)
    script("6.2.2", "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary. "
           "FRAGMENT 1: %s FRAGMENT 2: %s" % (p1.hex(), p2.hex()), echo,
           [F(1, p1, fin=False), F(0, p2), CLOSE_AFTER(1)], {OK: [("message", p1 + p2, False)]}, NORMAL)
    for cid, pl in (("6.2.3", hello), ("6.2.4", KOSME)):
        script(cid, "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on "
               "positions which are not code point ends. MESSAGE: %s" % pl.hex(), echo,
               [MSG(pl, frag=1), CLOSE_AFTER(1)], {OK: [("message", pl, False)]}, NORMAL)
    bad = KOSME + b"\xed\xa0\x80" + EDITED
    failed = "The connection is failed immediately, since the payload is not valid UTF-8."
    script("6.3.1", "Send invalid UTF-8 text message unfragmented. MESSAGE: %s" % bad.hex(), failed,
           [MSG(bad), KILL(1)], {OK: []}, BAD_UTF8)
    script("6.3.2", "Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending on "
           "positions which are not code point ends. MESSAGE: %s" % bad.hex(), failed,
           [MSG(bad, frag=1), KILL(1)], {OK: []}, BAD_UTF8)
    part2 = b"\xf4\x90\x80\x80"    # 0x110000 in the UTF-8 integer scheme: out of range
    full = KOSME + part2 + EDITED
    ff = ("%s should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is "
          "failed at least then, since the complete message payload is not valid UTF-8.")
    add("6.4.1", "Send invalid UTF-8 text message in 3 fragments (frames). First frame payload is valid, then wait, "
        "then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest. "
        "PART1 = %s PART2 = %s PART3 = %s" % (KOSME.hex(), part2.hex(), EDITED.hex()),
        "The first frame is accepted, we expect to timeout on the first wait. " + ff % "The 2nd frame",
        lambda: FailFastUtf8([KOSME, part2, EDITED], same_frame=False))
    add("6.4.2", "Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet making the "
        "complete payload invalid. PART1 = %s PART2 = %s PART3 = %s" % (full[:12].hex(), full[12:13].hex(),
                                                                       full[13:].hex()),
        "The first frame is accepted, we expect to timeout on the first wait. " + ff % "The 2nd frame",
        lambda: FailFastUtf8([full[:12], full[12:13], full[13:]], same_frame=False))
    add("6.4.3", "Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same message frame. "
        "PART1 = %s PART2 = %s PART3 = %s" % (KOSME.hex(), part2.hex(), EDITED.hex()),
        "The first chop is accepted, we expect to timeout on the first wait. " + ff % "The 2nd chop",
        lambda: FailFastUtf8([KOSME, part2, EDITED], same_frame=True))
    add("6.4.4", "Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same message frame. "
        "PART1 = %s PART2 = %s PART3 = %s" % (full[:12].hex(), full[12:13].hex(), full[13:].hex()),
        "The first chop is accepted, we expect to timeout on the first wait. " + ff % "The 2nd chop",
        lambda: FailFastUtf8([full[:12], full[12:13], full[13:]], same_frame=True))
    for gi, (title, seqs) in enumerate(utf8_sequences()):
        for j, (valid, pl) in enumerate(seqs):
            cid = "6.%d.%d" % (gi + 5, j + 1)
            if valid:
                script(cid, "Send a text message with payload which is valid UTF-8 in one fragment. Payload: 0x%s"
                       % pl.hex(), "The message is echo'ed back to us.",
                       [MSG(pl), KILL(0.5)], {OK: [("message", pl, False)]}, NORMAL, sub=title)
            else:
                script(cid, "Send a text message with payload which is not valid UTF-8 in one fragment. Payload: "
                       "0x%s" % pl.hex(), "The connection is failed immediately, since the payload is not valid "
                       "UTF-8.", [MSG(pl), KILL(0.5)], {OK: []}, BAD_UTF8, sub=title)


def _group7():
    rule = close_code_rule
    hw = b"Hello World!"
    script("7.1.1", "Send a message followed by a close frame",
           "Echoed message followed by clean close with normal code.",
           [F(1, hw), KILL(1)], {OK: [("message", hw, False)]}, NORMAL, post=rule)
    script("7.1.2", "Send two close frames", "Clean close with normal code. Second close frame ignored.",
           [CLOSE(1000), F(8), KILL(1)], {OK: []}, NORMAL, suppress_close=True, post=rule)
    script("7.1.3", "Send a ping after close message", "Clean close with normal code, no pong.",
           [CLOSE(1000), F(9), KILL(1)], {OK: []}, NORMAL, suppress_close=True, post=rule)
    script("7.1.4", "Send text message after sending a close frame.", "Clean close with normal code. Text message "
           "ignored.", [CLOSE(1000), F(1, hw), KILL(1)], {OK: []}, NORMAL, suppress_close=True, post=rule)
    script("7.1.5", "Send message fragment1 followed by close then fragment", "Clean close with normal code.",
           [F(1, b"fragment1", fin=False), CLOSE(1000), F(0, b"fragment2"), KILL(1)], {OK: []}, NORMAL,
           suppress_close=True, post=rule)

    def info_716(case):
        if case.received and case.received[-1][:1] == ("message",) and case.received[-1][1] == hw:
            note = "Text message was processed before close."
        else:
            note = "Close was processed before text message could be returned."
        informational(case)
        case.result = note + " " + case.result
    script("7.1.6", "Send 256K message followed by close then a ping",
           "Case outcome depends on implementation defined close behavior. Message and close frame are sent back to "
           "back. If the close frame is processed before the text message write is complete (as can happen in "
           "asynchronous processing models) the close frame is processed first and the text message may not be "
           "received or may only be partially received.",
           [F(1, b"BAsd7&jh23", length=256 * 1024), F(1, hw), CLOSE(1000), F(9), KILL(1)],
           {OK: [("message", hw, False)], NON_STRICT: []}, NORMAL, suppress_close=True, post=info_716)
    script("7.3.1", "Send a close frame with payload length 0 (no close code, no close reason)",
           "Clean close with normal code.", [CLOSE_FRAME(), KILL(1)], {OK: []}, NORMAL, suppress_close=True,
           post=rule)
    script("7.3.2", "Send a close frame with payload length 1", "Clean close with protocol error or drop TCP.",
           [CLOSE_FRAME(None, b"a"), KILL(1)], {OK: []}, by_me((1002,), clean=False), suppress_close=True, post=rule)
    script("7.3.3", "Send a close frame with payload length 2 (regular close with a code)",
           "Clean close with normal code.", [CLOSE(1000), KILL(1)], {OK: []}, NORMAL, suppress_close=True,
           post=rule)
    script("7.3.4", "Send a close frame with close code and close reason", "Clean close with normal code.",
           [CLOSE(1000, "Hello World!"), KILL(1)], {OK: []}, NORMAL, suppress_close=True, post=rule)
    script("7.3.5", "Send a close frame with close code and close reason of maximum length (123)",
           "Clean close with normal code.", [CLOSE(1000, "*" * 123), KILL(1)], {OK: []}, NORMAL,
           suppress_close=True, post=rule)
    script("7.3.6", "Send a close frame with close code and close reason which is too long (124) - total frame "
           "payload 126 octets", "Clean close with protocol error code or dropped TCP connection.",
           [CLOSE_FRAME(1000, b"*" * 124), KILL(1)], {OK: []}, by_me((1002,), clean=False), suppress_close=True,
           post=rule)
    bad = KOSME + b"\xed\xa0\x80" + EDITED
    script("7.5.1", "Send a close frame with invalid UTF8 payload",
           "Clean close with protocol error or invalid utf8 code or dropped TCP.",
           [CLOSE_FRAME(1000, bad), KILL(1)], {OK: []}, by_me((1002, 1007), clean=False), suppress_close=True,
           post=rule)
    for i, code in enumerate([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]):
        script("7.7.%d" % (i + 1), "Send close with valid close code %d" % code,
               "Clean close with normal or echoed code", [CLOSE_FRAME(code), KILL(1)], {OK: []},
               by_me((1000, code), clean=True), post=rule)
    for i, code in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999]):
        script("7.9.%d" % (i + 1), "Send close with invalid close code %d" % code,
               "Clean close with protocol error code or drop TCP", [CLOSE_FRAME(code), KILL(1)], {OK: []},
               by_me((1002,), clean=False), post=rule)
    for i, code in enumerate([5000, 65535]):
        script("7.13.%d" % (i + 1), "Send close with close code %d" % code, "Actual events are undefined by the spec.",
               [CLOSE_FRAME(code), KILL(1)], {OK: []}, by_me((1000, code, 1002), clean=False), suppress_close=True,
               post=informational, echo_ok=(code,))


# Group 9 short form: payload sizes are 1/4 of Autobahn's, round-trip counts 1/4 (250 instead of 1000).
K = 1024
M = 1024 * 1024


def _size(n):
    return ("%dM" % (n // M)) if n >= M and n % M == 0 else ("%dk" % (n // K) if n >= K else "%d" % n)


def _group9():
    sf = "[short form] "
    for sub, binary in (("9.1", False), ("9.2", True)):
        typ = "binary" if binary else "text"
        for i, n in enumerate([16 * K, 64 * K, 256 * K, 1 * M, 2 * M, 4 * M]):
            add("%s.%d" % (sub, i + 1), sf + "Send %s message message with payload of length %s." % (typ, _size(n)),
                "Receive echo'ed %s message (with payload as sent)." % typ,
                (lambda b=binary, n=n: Perf("single", b, n, wait=20)))
    for sub, binary in (("9.3", False), ("9.4", True)):
        typ = "binary" if binary else "text"
        for i, fs in enumerate([16, 64, 256, 1 * K, 4 * K, 16 * K, 64 * K, 256 * K, 1 * M]):
            add("%s.%d" % (sub, i + 1), sf + "Send fragmented %s message message with message payload of length 1M. "
                "Sent out in fragments of %s." % (typ, _size(fs)),
                "Receive echo'ed %s message (with payload as sent)." % typ,
                (lambda b=binary, fs=fs: Perf("fragmented", b, 1 * M, wait=30, frag=fs)))
    for sub, binary in (("9.5", False), ("9.6", True)):
        typ = "binary" if binary else "text"
        for i, cs in enumerate([16, 32, 64, 128, 256, 512]):
            add("%s.%d" % (sub, i + 1), sf + "Send %s message message with payload of length 256k. Sent out data in "
                "chops of %d octets." % (typ, cs), "Receive echo'ed %s message (with payload as sent)." % typ,
                (lambda b=binary, cs=cs: Perf("chopped", b, 256 * K, wait=30, chop=cs)))
    for sub, binary in (("9.7", False), ("9.8", True)):
        typ = "binary" if binary else "text"
        for i, n in enumerate([0, 16, 64, 256, 1024, 4096]):
            add("%s.%d" % (sub, i + 1), sf + "Send 250 %s messages of payload size %d to measure implementation/"
                "network RTT (round trip time) / latency." % (typ, n),
                "Receive echo'ed %s messages (with payload as sent). Timeout case after 30 secs." % typ,
                (lambda b=binary, n=n: Perf("rtt", b, n, wait=30, count=250)))


def _group10():
    add("10.1.1", "Send text message with payload of length 65536 auto-fragmented with autoFragmentSize = 1300.",
        "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close "
        "with normal code.", AutoFragment)


# Groups 12 and 13, short form. Autobahn sends 1000 messages per case (its waits: 60..480 s);
# we keep its 18 rows of message size / auto-fragment size and send fewer messages: enough to
# go through the window and the context many times over, small enough that groups 12 and 13
# run in about a minute against a local echo server.
#   (message size, Autobahn's auto-fragment size, messages sent here)
DEFLATE_ROWS = [
    (16, 0, 250), (64, 0, 250), (256, 0, 250), (1024, 0, 250), (4096, 0, 100), (8192, 0, 60),
    (16384, 0, 30), (32768, 0, 16), (65536, 0, 8), (131072, 0, 4),
    (8192, 256, 60), (16384, 256, 30), (32768, 256, 16), (65536, 256, 8), (131072, 256, 4),
    (131072, 1024, 4), (131072, 4096, 4), (131072, 32768, 4),
]
DEFLATE_WAIT = 10

CMWB = ("client_max_window_bits", True)
CNCT = ("client_no_context_takeover", True)
SNCT = ("server_no_context_takeover", True)


def _cmwb(n):
    return ("client_max_window_bits", str(n))


def _smwb(n):
    return ("server_max_window_bits", str(n))


ACCEPT_FIRST = deflate.Accept("accept the first offer as it is")
# Autobahn's 13.x pairs: (client offers, server accept). Autobahn's offers also carry the
# client_no_context_takeover hint, which its client then does not honour; ours leave the hint
# out (13.9 and 13.12 have it, and the runner honours it), so the peer's inflater has to keep
# the context across messages.
DEFLATE_PARAMS = [
    ([[CMWB]], ACCEPT_FIRST),
    ([[CMWB, SNCT]], deflate.Accept("request client_no_context_takeover", {"cnct": True})),
    ([[CMWB, _smwb(9)]], deflate.Accept("request client_max_window_bits=9 (offers with client_max_window_bits "
                                        "only)", {"need_cmwb": True, "cmwb": 9})),
    ([[CMWB, _smwb(15)]], deflate.Accept("request client_max_window_bits=15 (offers with client_max_window_bits "
                                         "only)", {"need_cmwb": True, "cmwb": 15})),
    ([[CMWB, SNCT, _smwb(9)]], deflate.Accept("request client_no_context_takeover and client_max_window_bits=9 "
                                              "(offers with client_max_window_bits only)",
                                              {"need_cmwb": True, "cnct": True, "cmwb": 9})),
    ([[CMWB, SNCT, _smwb(15)]], deflate.Accept("request client_no_context_takeover and client_max_window_bits=15 "
                                               "(offers with client_max_window_bits only)",
                                               {"need_cmwb": True, "cnct": True, "cmwb": 15})),
    ([[CMWB, SNCT, _smwb(9)], [CMWB, SNCT], [CMWB]],
     deflate.Accept("request client_no_context_takeover and client_max_window_bits=9, else "
                    "client_no_context_takeover only", {"need_cmwb": True, "cnct": True, "cmwb": 9}, {"cnct": True})),
    # ---- additions (not in Autobahn): window sizes 8 and 10-14, client_max_window_bits with a value
    # or left out (13.10: the server must not answer with client_max_window_bits)
    ([[_cmwb(8), _smwb(8)]],
     deflate.Accept("request client_max_window_bits=8, use server_max_window_bits=8",
                    {"need_cmwb": True, "cmwb": 8, "smwb": 8}, {"smwb": 8})),
    ([[CNCT, _cmwb(10), SNCT, _smwb(10)]],
     deflate.Accept("request client_no_context_takeover and client_max_window_bits=10, use "
                    "server_no_context_takeover and server_max_window_bits=10",
                    {"need_cmwb": True, "cnct": True, "cmwb": 10, "snct": True, "smwb": 10},
                    {"cnct": True, "snct": True, "smwb": 10})),
    ([[_smwb(11)]],
     deflate.Accept("request client_max_window_bits=11, use server_max_window_bits=11",
                    {"need_cmwb": True, "cmwb": 11, "smwb": 11}, {"smwb": 11})),
    ([[_cmwb(12), SNCT, _smwb(12)]],
     deflate.Accept("request client_max_window_bits=12, use server_no_context_takeover and "
                    "server_max_window_bits=12", {"need_cmwb": True, "cmwb": 12, "snct": True, "smwb": 12},
                    {"snct": True, "smwb": 12})),
    ([[CNCT, _cmwb(13), _smwb(13)]],
     deflate.Accept("request client_no_context_takeover and client_max_window_bits=13, use "
                    "server_max_window_bits=13", {"need_cmwb": True, "cnct": True, "cmwb": 13, "smwb": 13},
                    {"cnct": True, "smwb": 13})),
    ([[_cmwb(14), SNCT, _smwb(14)], [CMWB, _smwb(10)], []],
     deflate.Accept("request client_max_window_bits=14, use server_max_window_bits=14",
                    {"need_cmwb": True, "cmwb": 14, "smwb": 14}, {"smwb": 14})),
]
AUTOBAHN_13_SUBGROUPS = 7


def _deflate_case(cid, data_key, row, offers, accept, what):
    length, frag, count = row
    desc = ("[short form] Send %d compressed messages each of payload size %d, auto-fragment to %d octets. %s" % (
        count, length, frag, what))
    exp = "Receive echo'ed messages (with payload as sent). Timeout case after %d secs." % DEFLATE_WAIT
    add(cid, desc, exp, (lambda: DeflateEcho(data_key, length, count, DEFLATE_WAIT, frag, offers, accept)))


def _subgroup_title(key):
    desc, binary = testdata.DATASETS[key]
    return desc


def _group12():
    for j, key in enumerate(testdata.ORDER):
        for i, row in enumerate(DEFLATE_ROWS):
            what = ("Data: %s, sent as %s. Client mode: offer '%s'. Server mode: %s." % (
                _subgroup_title(key), "binary" if testdata.DATASETS[key][1] else "text",
                deflate.format_offers(DEFLATE_PARAMS[0][0]), ACCEPT_FIRST.doc))
            _deflate_case("12.%d.%d" % (j + 1, i + 1), key, row, DEFLATE_PARAMS[0][0], ACCEPT_FIRST, what)


def _group13():
    for j, (offers, accept) in enumerate(DEFLATE_PARAMS):
        extra = "" if j < AUTOBAHN_13_SUBGROUPS else " [addition, not in Autobahn]"
        what = ("Data: %s, sent as text. Client mode: offer '%s'. Server mode: %s.%s" % (
            testdata.DATASETS["json"][0], deflate.format_offers(offers), accept.doc, extra))
        for i, row in enumerate(DEFLATE_ROWS):
            _deflate_case("13.%d.%d" % (j + 1, i + 1), "json", row, offers, accept, what)


_group1()
_group2()
_group3()
_group4()
_group5()
_group6()
_group7()
_group9()
_group10()
_group12()
_group13()
ALL.sort(key=CaseSpec.sort_key)
BY_ID = {c.id: c for c in ALL}
assert len(BY_ID) == len(ALL), "duplicate case ids"


def select(spec="*", exclude=""):
    """Select cases. spec: comma-separated groups ("1", "1-7"), ids ("5.19"), id prefixes ("6.4"),
    ranges of those ("6.5-6.23", "5.9-5.14") or "*"."""
    def matcher(text):
        tests = []
        for tok in [t.strip() for t in (text or "").split(",") if t.strip()]:
            if tok in ("*", "all"):
                tests.append(lambda c: True)
            elif "-" in tok:
                a, b = tok.split("-", 1)
                lo = tuple(int(x) for x in a.strip().split("."))
                hi = tuple(int(x) for x in b.strip().split("."))
                tests.append(lambda c, lo=lo, hi=hi: lo <= c.sort_key()[:len(lo)] and c.sort_key()[:len(hi)] <= hi)
            elif tok.endswith("*"):
                pre = tok[:-1].rstrip(".")
                tests.append(lambda c, pre=pre: c.id == pre or c.id.startswith(pre + "."))
            else:
                tests.append(lambda c, t=tok: c.id == t or c.id.startswith(t + "."))
        return tests
    inc = matcher(spec or "*")
    exc = matcher(exclude)
    out = [c for c in ALL if any(t(c) for t in inc) and not any(t(c) for t in exc)]
    return out

"""Self-tests of the conformance runner (pytest). They check the runner, not uvws:

* the case catalogue has Autobahn's shape (ids, counts, UTF-8 test data),
* a deliberately lax peer is caught (FAILED where it ignores protocol errors),
* permessage-deflate: the negotiation rules and the codec (deflate.py), and a peer with
  selectable deflate bugs is caught in both directions,
* the reference peers (npm ws, PyPI websockets) pass, in both directions, with and without
  permessage-deflate.

Each run is small (a few seconds); peers that are not installed are skipped.
"""
import json
import os
import shutil
import subprocess
import sys
import zlib

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PEERS = os.path.join(HERE, "peers")
RUN_AGAINST = os.path.join(HERE, "run_against.py")
sys.path.insert(0, HERE)

import cases  # noqa: E402
import deflate  # noqa: E402
import testdata  # noqa: E402

# everything except the timer-driven 6.4.x (2 s each) keeps these runs short
QUICK = ["--cases", "1-5,6.1,6.2,6.3,6.5-6.23,7,10"]


def have_node_ws():
    return shutil.which("node") and os.path.isdir(os.path.join(ROOT, "node_modules", "ws"))


def websockets_python():
    for py in (os.path.join(ROOT, ".venv", "bin", "python"), sys.executable):
        if os.path.exists(py) and subprocess.run([py, "-c", "import websockets.asyncio.server"],
                                                 capture_output=True).returncode == 0:
            return py
    return None


def run(what, cmd, report, extra=()):
    p = subprocess.run([sys.executable, RUN_AGAINST, what, "--report", str(report)] + list(extra) + ["--"] + cmd,
                       capture_output=True, text=True, timeout=300)
    with open(report) as f:
        rep = json.load(f)
    return p.returncode, {c["id"]: c for c in rep["cases"]}, p.stdout + p.stderr


def test_catalogue_shape():
    ids = [c.id for c in cases.ALL]
    assert len(ids) == len(set(ids)) == 301 + 90 + 234
    assert len(cases.select("1-7,10")) == 247
    assert len(cases.select("9")) == 54
    assert len(cases.select("1-7,9,10")) == 301
    assert len(cases.select("12")) == 90 and len(cases.select("13")) == 234
    assert len(cases.select("13.1-13.7")) == 126          # Autobahn's part of group 13
    assert ids[:3] == ["1.1.1", "1.1.2", "1.1.3"] and ids[-1] == "13.13.18"
    assert [c.id for c in cases.select("12.5")] == ["12.5.%d" % i for i in range(1, 19)]
    assert [c.id for c in cases.select("12,13")][:2] == ["12.1.1", "12.1.2"]
    assert all(c.make().short_form for c in cases.select("12,13"))
    assert [c.id for c in cases.select("6.23")] == ["6.23.%d" % i for i in range(1, 8)]
    assert len(cases.select("6.22")) == 34 and len(cases.select("7.7")) == 13 and len(cases.select("7.9")) == 9
    assert all(c.make().short_form for c in cases.select("9"))


def test_option_selection_syntax():
    assert [c.id for c in cases.select("5.19,7.13", "7.13.2")] == ["5.19", "7.13.1"]
    assert len(cases.select("1-2")) == 16 + 11
    assert len(cases.select("6.5-6.23")) == 132
    assert [c.id for c in cases.select("5.9-5.14")] == ["5.%d" % i for i in range(9, 15)]
    assert len(cases.select("1-7,10")) == 247


def test_lax_peer_is_caught(tmp_path):
    sel = ["--cases", "1.1.1,2.1,2.5,3.1,4.1.1,5.3,5.9,6.3.1,6.12.1,7.3.2,7.7.1,7.9.1"]
    rc, res, out = run("server", [sys.executable, os.path.join(PEERS, "lax_echo_peer.py"), "server", "--port", "0"],
                       tmp_path / "lax.json", sel)
    assert rc == 1, out
    for cid in ("1.1.1", "2.1", "5.3", "7.7.1"):
        assert res[cid]["verdict"] == "OK", (cid, res[cid])
    for cid in ("2.5", "3.1", "4.1.1", "5.9", "6.3.1", "6.12.1", "7.3.2", "7.9.1"):
        assert res[cid]["verdict"] == "FAILED", (cid, res[cid])
        assert res[cid]["reason"]["summary"]


def test_lax_client_is_caught(tmp_path):
    sel = ["--cases", "1.1.1,3.1,6.3.1", "--agent", "lax"]
    rc, res, out = run("client", [sys.executable, os.path.join(PEERS, "lax_echo_peer.py"), "client"],
                       tmp_path / "laxc.json", sel)
    assert rc == 1, out
    assert res["1.1.1"]["verdict"] == "OK"
    assert res["3.1"]["verdict"] == res["6.3.1"]["verdict"] == "FAILED"


def test_peer_that_never_closes_is_bounded(tmp_path):
    rc, res, out = run("server", [sys.executable, os.path.join(PEERS, "lax_echo_peer.py"), "server", "--port", "0",
                                  "--no-close-reply"], tmp_path / "noclose.json", ["--cases", "1.1.1,2.1"])
    assert rc == 1
    assert res["1.1.1"]["behaviorClose"] == "FAILED" and res["1.1.1"]["duration"] < 5000


LAX = os.path.join(PEERS, "lax_echo_peer.py")


@pytest.mark.parametrize("flags,cid,verdict", [
    # the close code RFC 6455 7.4.1 names for the error: OK; another one: FAILED (Autobahn: NON-STRICT)
    (["--fail-utf8", "1007"], "6.3.1", "OK"),
    (["--fail-utf8", "1002"], "6.3.1", "FAILED"),
    (["--fail-utf8", "1002"], "6.12.1", "FAILED"),
    (["--fail-rsv", "1002"], "3.1", "OK"),
    (["--fail-rsv", "1007"], "3.1", "FAILED"),
])
def test_wrong_close_code_where_the_rfc_names_one_fails(tmp_path, flags, cid, verdict):
    rc, res, out = run("server", [sys.executable, LAX, "server", "--port", "0"] + flags, tmp_path / "code.json",
                       ["--cases", cid])
    assert res[cid]["verdict"] == verdict, out
    assert rc == (0 if verdict == "OK" else 1), out
    if verdict == "FAILED":
        assert res[cid]["behaviorCloseDetail"] == "WRONG CODE (RFC-named)", res[cid]


@pytest.mark.parametrize("flags,want", [
    ([], {"7.1.6": "INFORMATIONAL", "7.13.1": "INFORMATIONAL", "7.13.2": "INFORMATIONAL"}),
    # an invalid close frame in reply: a peer violation, which INFORMATIONAL does not waive
    (["--close-reply-code", "1005"], {"7.1.6": "FAILED", "7.13.1": "FAILED", "7.13.2": "FAILED"}),
    # no reply to the close frame: 7.1.6 requires a clean close; 7.13 allows a dropped TCP
    # connection, but the server should drop it first (NON-STRICT)
    (["--no-close-reply"], {"7.1.6": "FAILED", "7.13.1": "NON-STRICT", "7.13.2": "NON-STRICT"}),
])
def test_informational_cases_still_judge_the_peer(tmp_path, flags, want):
    rc, res, out = run("server", [sys.executable, LAX, "server", "--port", "0"] + flags, tmp_path / "info.json",
                       ["--cases", "7.1.6,7.13", "--strict"])
    assert {cid: c["verdict"] for cid, c in res.items()} == want, out
    assert rc == (0 if set(want.values()) == {"INFORMATIONAL"} else 1), out


def test_strict_fails_unimplemented_and_expect_ok_counts(tmp_path):
    cmd = [sys.executable, LAX, "server", "--port", "0"]
    # the lax peer negotiates no permessage-deflate: 12.1.1 is UNIMPLEMENTED
    rc, res, out = run("server", cmd, tmp_path / "u.json", ["--cases", "1.1.1,12.1.1"])
    assert res["12.1.1"]["verdict"] == "UNIMPLEMENTED" and rc == 0, out
    rc, res, out = run("server", cmd, tmp_path / "u.json", ["--cases", "1.1.1,12.1.1", "--strict"])
    assert rc == 1 and "1 UNIMPLEMENTED (--strict)" in out, out
    rc, res, out = run("server", cmd, tmp_path / "e.json", ["--cases", "1.1.1,2.1", "--strict", "--expect-ok=2"])
    assert rc == 0, out
    rc, res, out = run("server", cmd, tmp_path / "e.json", ["--cases", "1.1.1,2.1", "--strict", "--expect-ok=3"])
    assert rc == 1 and "2 OK where --expect-ok says 3" in out, out


@pytest.mark.skipif(not have_node_ws(), reason="node or npm ws not installed (npm install)")
def test_ws_echo_server(tmp_path):
    rc, res, out = run("server", ["node", os.path.join(PEERS, "ws_echo_server.js"), "--port", "0"],
                       tmp_path / "ws.json", QUICK)
    assert rc == 0, out
    assert not [c for c in res.values() if c["verdict"] not in ("OK", "INFORMATIONAL")], out


@pytest.mark.skipif(not have_node_ws(), reason="node or npm ws not installed (npm install)")
def test_ws_autobahn_client(tmp_path):
    rc, res, out = run("client", ["node", os.path.join(PEERS, "ws_autobahn_client.js")], tmp_path / "wsc.json",
                       QUICK + ["--agent", "ws"])
    assert rc == 0, out


@pytest.mark.skipif(websockets_python() is None, reason="websockets not installed")
def test_websockets_echo_server(tmp_path):
    rc, res, out = run("server", [websockets_python(), os.path.join(PEERS, "websockets_echo_server.py"),
                                  "--port", "0"], tmp_path / "wsk.json", QUICK)
    # websockets answers a close frame in the middle of a fragmented message with 1002 (7.1.5),
    # which Autobahn and this runner count as FAILED; everything else passes.
    failed = sorted(c["id"] for c in res.values() if c["verdict"] == "FAILED")
    assert failed == ["7.1.5"], out


@pytest.mark.skipif(websockets_python() is None, reason="websockets not installed")
def test_websockets_autobahn_client(tmp_path):
    rc, res, out = run("client", [websockets_python(), os.path.join(PEERS, "websockets_autobahn_client.py")],
                       tmp_path / "wskc.json", QUICK + ["--agent", "websockets"])
    failed = sorted(c["id"] for c in res.values() if c["verdict"] == "FAILED")
    assert failed == ["7.1.5"], out


# ---------------------------------------------------------------------------
# permessage-deflate: negotiation rules and codec
# ---------------------------------------------------------------------------

def test_extension_header_parsing():
    assert deflate.parse_extensions('permessage-deflate; client_max_window_bits; server_max_window_bits="10", '
                                    'x-foo;a=b, permessage-deflate') == [
        ("permessage-deflate", [("client_max_window_bits", True), ("server_max_window_bits", "10")]),
        ("x-foo", [("a", "b")]), ("permessage-deflate", [])]
    for bad in ("permessage-deflate; =1", "permessage-deflate; a=\"unterminated", "permessage-deflate; a=\"x y\"",
                "permessage-deflate x"):
        with pytest.raises(deflate.ExtensionSyntaxError):
            deflate.parse_extensions(bad)


CMWB = [("client_max_window_bits", True)]


@pytest.mark.parametrize("offers,response,error", [
    ([CMWB], "permessage-deflate", None),
    ([CMWB], "permessage-deflate; client_max_window_bits=8; server_max_window_bits=8", None),
    ([CMWB], "permessage-deflate; client_no_context_takeover; server_no_context_takeover", None),
    ([CMWB], "permessage-deflate; server_max_window_bits=7", "8..15"),
    ([CMWB], "permessage-deflate; server_max_window_bits=09", "8..15"),
    ([CMWB], "permessage-deflate; server_max_window_bits", "needs a value"),
    ([CMWB], "permessage-deflate; client_max_window_bits", "needs a value"),
    ([CMWB], "permessage-deflate; server_no_context_takeover=1", "must not have a value"),
    ([CMWB], "permessage-deflate; server_no_context_takeover; server_no_context_takeover", "twice"),
    ([CMWB], "permessage-deflate; foo", "unknown parameter"),
    ([CMWB], "permessage-deflate, permessage-deflate", "at most one"),
    ([CMWB], "x-webkit-deflate-frame", "did not offer"),
    ([[("server_max_window_bits", "10")]], "permessage-deflate; server_max_window_bits=11", "above the 10"),
    ([[("server_max_window_bits", "10")]], "permessage-deflate", "lacks it"),
    ([[("server_max_window_bits", "10")]], "permessage-deflate; server_max_window_bits=9", None),
    ([[("server_max_window_bits", "10")]], "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10",
     "did not offer it"),
    ([[("server_no_context_takeover", True)]], "permessage-deflate", "lacks it"),
    # several offers: the response must fit one of them
    ([[("server_no_context_takeover", True), ("server_max_window_bits", "9")], CMWB],
     "permessage-deflate; client_max_window_bits=12", None),
    ([[("server_no_context_takeover", True)], [("server_max_window_bits", "9")]],
     "permessage-deflate", "none of our offers"),
])
def test_client_side_response_rules(offers, response, error):
    err, agreed = deflate.client_accept(offers, response)
    if error is None:
        assert err is None and agreed is not None
    else:
        assert err is not None and error in err, err


def test_client_side_agreed_parameters():
    offers = [[("client_no_context_takeover", True), ("client_max_window_bits", "10"),
               ("server_max_window_bits", "12")]]
    err, a = deflate.client_accept(offers, "permessage-deflate; server_max_window_bits=11; client_max_window_bits=12")
    assert err is None
    # our hints (10 bits, no context takeover) are kept although the server allows more
    assert (a["client_max_window_bits"], a["client_no_context_takeover"]) == (10, True)
    assert (a["peer_max_window_bits"], a["peer_no_context_takeover"]) == (11, False)
    assert deflate.client_accept([CMWB], "") == (None, None)


def test_server_side_accept():
    a5 = cases.DEFLATE_PARAMS[4][1]        # Autobahn's accept5
    errors, resp, agreed = deflate.server_negotiate(a5, "permessage-deflate; client_max_window_bits; "
                                                        "server_no_context_takeover")
    assert errors == [] and resp == ("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                                     "client_max_window_bits=9")
    assert (agreed["peer_max_window_bits"], agreed["peer_no_context_takeover"]) == (9, True)
    assert agreed["server_no_context_takeover"] is True
    # without client_max_window_bits in the offer accept5 declines (Autobahn: UNIMPLEMENTED)
    assert deflate.server_negotiate(a5, "permessage-deflate")[1] is None
    # accept7 falls back to client_no_context_takeover only
    a7 = cases.DEFLATE_PARAMS[6][1]
    assert deflate.server_negotiate(a7, "permessage-deflate")[1] == "permessage-deflate; client_no_context_takeover"
    # a client hint below our request wins; our own window never exceeds the offer
    a8 = cases.DEFLATE_PARAMS[7][1]
    assert deflate.server_negotiate(a8, "permessage-deflate; client_max_window_bits")[1] == (
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8")
    a10 = cases.DEFLATE_PARAMS[9][1]
    assert deflate.server_negotiate(a10, "permessage-deflate; client_max_window_bits=9; server_max_window_bits=10")[1] \
        == "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"
    # invalid offers are declined and reported; a later valid one is used
    errors, resp, _ = deflate.server_negotiate(cases.ACCEPT_FIRST, "permessage-deflate; client_max_window_bits=7, "
                                                                   "permessage-deflate; foo, permessage-deflate")
    assert len(errors) == 2 and resp == "permessage-deflate"


def _pair(bits, no_takeover):
    agreed = {"client_max_window_bits": bits, "client_no_context_takeover": no_takeover,
              "server_max_window_bits": bits, "server_no_context_takeover": no_takeover,
              "peer_max_window_bits": bits, "peer_no_context_takeover": no_takeover}
    return deflate.PerMessageDeflate(False, agreed), deflate.PerMessageDeflate(True, agreed)


@pytest.mark.parametrize("bits", [8, 9, 12, 15])
@pytest.mark.parametrize("no_takeover", [False, True])
def test_codec_round_trip(bits, no_takeover):
    client, server = _pair(bits, no_takeover)
    cur = testdata.Cursor("json", 3000)
    for _ in range(20):
        msg = cur.next()
        assert server.inflate(client.compress(msg)) == msg
    assert client.compress(b"") and server.inflate(client.compress(b"")) == b""


def test_codec_catches_window_and_takeover_violations():
    data = testdata.Cursor("html", 20000).next()
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    wide = (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    _, server = _pair(9, False)
    with pytest.raises(deflate.InflateError, match="beyond the 512-octet window"):
        server.inflate(wide)
    # context takeover although the peer agreed not to
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    second = (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    _, server = _pair(15, True)
    assert server.inflate(first) == data
    with pytest.raises(deflate.InflateError, match="no context takeover"):
        server.inflate(second)
    _, server = _pair(15, False)                   # with context takeover it is fine
    assert server.inflate(first) == data and server.inflate(second) == data


def test_codec_bfinal_and_trailing_garbage():
    _, server = _pair(15, False)
    msg = b"hello hello hello"
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    final = c.compress(msg) + c.flush(zlib.Z_FINISH)
    assert server.inflate(final) == msg and server.inflate(final) == msg
    with pytest.raises(deflate.InflateError, match="follow the final"):
        server.inflate(final + b"\x01\x02")
    with pytest.raises(deflate.InflateError):
        server.inflate(b"\xff\xff\xff")


def test_data_sets_are_stable():
    for key in testdata.ORDER:
        data = testdata.dataset(key)
        assert len(data) > 150000
        if not testdata.DATASETS[key][1]:
            data.encode("utf-8")
    assert testdata.Cursor("json", 10).next() == testdata.Cursor("json", 10).next()


DEFLATE_QUICK = ["--cases", "12.1.1,12.1.11,12.2.10,12.3.2,12.4.16,12.5.15,13.1.18,13.2.4,13.3.10,13.4.2,13.5.12,"
                            "13.6.6,13.7.9,13.8.10,13.9.4,13.10.10,13.11.15,13.12.4,13.13.9"]
BAD_DEFLATE = os.path.join(PEERS, "bad_deflate_peer.py")


@pytest.mark.parametrize("bug,failed", [
    ("none", []), ("nocompress", []), ("bfinal", []),
    # a 32K window where less was agreed (13.9.4: 1024-octet messages, no context takeover, 10 bits:
    # no distance can exceed the window, so there is nothing to catch)
    ("window", ["13.3.10", "13.5.12", "13.7.9", "13.8.10", "13.10.10", "13.11.15", "13.12.4", "13.13.9"]),
    ("takeover", ["13.2.4", "13.5.12", "13.6.6", "13.7.9", "13.9.4", "13.11.15", "13.13.9"]),
    ("rsv1cont", "all"), ("corrupt", "all"),
    # above the offered server_max_window_bits (13.4 and 13.6 offer 15: nothing is above; in 13.7
    # and 13.13 the answer is a valid acceptance of a later offer without server_max_window_bits)
    ("smwb-above", ["13.3.10", "13.5.12", "13.8.10", "13.9.4", "13.10.10", "13.11.15", "13.12.4"]),
    ("dup", ["13.2.4", "13.5.12", "13.6.6", "13.7.9", "13.9.4", "13.11.15", "13.13.9"]),
    ("cmwb-unoffered", ["13.10.10"]),
])
def test_deflate_bugs_of_a_server_are_caught(tmp_path, bug, failed):
    rc, res, out = run("server", [sys.executable, BAD_DEFLATE, "server", "--port", "0", "--bug", bug],
                       tmp_path / "bad.json", DEFLATE_QUICK)
    got = sorted(c["id"] for c in res.values() if c["verdict"] == "FAILED")
    want = sorted(res) if failed == "all" else failed
    assert got == sorted(want), out
    assert rc == (1 if want else 0)
    for cid in got:
        assert res[cid]["reason"]["summary"]


@pytest.mark.parametrize("bug,failed", [
    ("none", []), ("nocompress", []), ("bfinal", []),
    # as a client the peer must keep to client_max_window_bits / client_no_context_takeover, which
    # the runner asks for in 13.3, 13.5, 13.7-13.13 (window; in 13.9.4 and 13.12.4 the messages of
    # 1024 octets without context takeover cannot reach beyond the window) and 13.2, 13.5-13.7,
    # 13.9, 13.12 (takeover)
    ("window", ["13.3.10", "13.5.12", "13.7.9", "13.8.10", "13.10.10", "13.11.15", "13.13.9"]),
    ("takeover", ["13.2.4", "13.5.12", "13.6.6", "13.7.9", "13.9.4", "13.12.4"]),
    ("bad-offer", "all"),
])
def test_deflate_bugs_of_a_client_are_caught(tmp_path, bug, failed):
    rc, res, out = run("client", [sys.executable, BAD_DEFLATE, "client", "--bug", bug], tmp_path / "badc.json",
                       DEFLATE_QUICK + ["--agent", "bad"])
    got = sorted(c["id"] for c in res.values() if c["verdict"] == "FAILED")
    want = sorted(res) if failed == "all" else failed
    assert got == sorted(want), out
    assert rc == (1 if want else 0)


@pytest.mark.skipif(not have_node_ws(), reason="node or npm ws not installed (npm install)")
def test_ws_deflate_both_ways(tmp_path):
    rc, res, out = run("server", ["node", os.path.join(PEERS, "ws_echo_server.js"), "--port", "0", "--deflate"],
                       tmp_path / "wsd.json", DEFLATE_QUICK)
    assert rc == 0 and all(c["verdict"] == "OK" for c in res.values()), out
    rc, res, out = run("client", ["node", os.path.join(PEERS, "ws_autobahn_client.js"), "--deflate"],
                       tmp_path / "wsdc.json", DEFLATE_QUICK + ["--agent", "ws"])
    assert rc == 0 and all(c["verdict"] == "OK" for c in res.values()), out


@pytest.mark.skipif(websockets_python() is None, reason="websockets not installed")
def test_websockets_deflate_both_ways(tmp_path):
    py = websockets_python()
    rc, res, out = run("server", [py, os.path.join(PEERS, "websockets_echo_server.py"), "--port", "0", "--deflate"],
                       tmp_path / "wskd.json", DEFLATE_QUICK)
    # websockets declines server_max_window_bits=8 (legal: a server may decline an offer)
    assert {c["id"]: c["verdict"] for c in res.values() if c["verdict"] != "OK"} == {"13.8.10": "UNIMPLEMENTED"}, out
    assert rc == 0
    rc, res, out = run("client", [py, os.path.join(PEERS, "websockets_autobahn_client.py"), "--deflate"],
                       tmp_path / "wskdc.json", DEFLATE_QUICK + ["--agent", "websockets"])
    # websockets' client offers client_max_window_bits but fails the connection when the server
    # answers client_max_window_bits=8 (see README)
    assert {c["id"]: c["verdict"] for c in res.values() if c["verdict"] != "OK"} == {"13.8.10": "FAILED"}, out

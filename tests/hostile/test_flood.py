"""Ping floods against the C, Python and Node echo servers and clients of
examples/ (tests/hostile/flood.py does the attacking and the measuring).

A peer that sends pings and never reads must not make the target queue one
pong per ping: the engine coalesces them (RFC 6455 section 5.5.3), so the
target's memory stays flat, and the connection still works afterwards (the
echo of a text message comes back, the close handshake completes).

Before the fix (38cf744), 60 MB of 6-byte pings grew each echo server by
more than 1 GiB (60 MB of 131-byte pings: 107-119 MiB), and 6 MB of 2-byte
pings grew the clients by 133-311 MiB.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flood  # noqa: E402

# Growth of the target's peak RSS (VmHWM after the flood minus VmRSS
# before), independent of max_backpressure: the coalesced pong is one slot.
# Node's bound is larger because each ping still reaches JavaScript as a
# 'ping' event with its own Buffer: V8's young generation grows to a fixed
# size (6.6-8.2 MiB measured, the same for 20 MB and 60 MB of pings), which
# is not a queue of the engine.
BOUND_MIB = {"c": 8.0, "python": 8.0, "node": 16.0}
# Megabytes of pings per run: 6-byte pings cost the target the most CPU per
# byte (Node: about 5 s for 20 MB), 125-byte ones the most pong bytes.
MB = {0: float(os.environ.get("HOSTILE_FLOOD_MB", "20")), 125: float(os.environ.get("HOSTILE_FLOOD_MB", "60"))}
SECONDS = 60.0


@pytest.mark.parametrize("payload", [0, 125], ids=["6-byte", "125-byte"])
@pytest.mark.parametrize("target", ["c", "python", "node"])
def test_ping_flood_against_server(target, payload):
    r = flood.attack_server(target, payload, int(MB[payload] * 1e6), SECONDS)
    print(r)
    assert r["alive"], r
    assert r["sent_bytes"] > 0.9 * MB[payload] * 1e6 or r["flood_seconds"] >= SECONDS, r
    assert r["growth_mib"] < BOUND_MIB[target], r
    # Far fewer pongs than pings came back, and the connection still works.
    assert r["pongs_read"] < r["pings_sent"], r
    assert r["echo"] == 1 and r["close"] == 1000, r


@pytest.mark.parametrize("payload", [0, 125], ids=["2-byte", "127-byte"])
@pytest.mark.parametrize("target", ["c", "python", "node"])
def test_ping_flood_against_client(target, payload):
    r = flood.attack_client(target, payload, int(MB[payload] * 1e6), SECONDS)
    print(r)
    assert r["alive"], r
    assert r["sent_bytes"] > 0.9 * MB[payload] * 1e6 or r["flood_seconds"] >= SECONDS, r
    assert r["growth_mib"] < BOUND_MIB[target], r
    assert r["pongs_read"] < r["pings_sent"], r
    # The client got the echo of its message, closed with 1000 and exited 0.
    assert r["echo"] == 1 and r["close"] == 1000, r
    assert r["exit"] == 0 and r["stdout"] == "hello", r

"""Topics (publish/subscribe) in both Python APIs."""

import asyncio

import pytest

import uvws
from conftest import arun, run_bounded, wait_for


def test_asyncio_subscribe_publish():
    async def main():
        conns = {}

        async def handler(ws):
            name = ws.request.path.strip("/")
            conns[name] = ws
            async for m in ws:
                cmd, _, arg = m.partition(" ")
                if cmd == "sub":
                    await ws.send(f"ok {ws.subscribe(arg)}")
                elif cmd == "unsub":
                    await ws.send(f"ok {ws.unsubscribe(arg)}")
                elif cmd == "pub":
                    topic, _, text = arg.partition(" ")
                    await ws.send(f"ok {ws.publish(topic, text)}")

        async with uvws.serve(handler, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.port}"
            a = await uvws.connect(url + "/a")
            b = await uvws.connect(url + "/b")
            c = await uvws.connect(url + "/c")
            for ws, topic, want in ((a, "room/1", "ok True"), (b, "room/+", "ok True"),
                                    (c, "room/#", "ok True"), (c, "room/#", "ok False"),
                                    (c, "caf\u00e9/\u20ac", "ok True")):
                await ws.send(f"sub {topic}")
                assert await ws.recv() == want
            sa, sb, sc = conns["a"], conns["b"], conns["c"]
            assert sa.topics == ["room/1"]
            assert sc.topics == ["room/#", "caf\u00e9/\u20ac"]
            assert sb.is_subscribed("room/+") and not sb.is_subscribed("room/1")
            assert server.num_subscribers("room/1") == 1
            assert server.num_subscribers("room/+") == 1
            # everyone gets one copy, in order with their own sends
            assert server.publish("room/1", "hello") == 3
            assert server.publish("room/2", b"\x00\x01") == 2
            assert server.publish("caf\u00e9/\u20ac", "unicode") == 1
            for ws, want in ((a, ["hello"]), (b, ["hello", b"\x00\x01"]),
                             (c, ["hello", b"\x00\x01", "unicode"])):
                for m in want:
                    assert await ws.recv() == m
            # ws.publish skips the sender
            await a.send("pub room/1 from-a")
            assert await a.recv() == "ok 2"
            assert await b.recv() == "from-a"
            assert await c.recv() == "from-a"
            # errors
            with pytest.raises(ValueError):
                sa.subscribe("room+")
            with pytest.raises(ValueError):
                server.publish("room/+", "x")
            with pytest.raises(ValueError):
                sa.subscribe("x" * 5000)
            with pytest.raises(TypeError):
                sa.subscribe(3)
            with pytest.raises(uvws.NotSupportedError):
                a.connection.subscribe("room/1")
            await b.send("unsub room/+")
            assert await b.recv() == "ok True"
            assert server.num_subscribers("room/+") == 0
            # closing unsubscribes from everything
            await c.close()
            await wait_for(lambda: server.num_subscribers("room/#") == 0)
            assert server.publish("room/1", "last") == 1
            assert await a.recv() == "last"
            await a.close()
            await b.close()

    arun(main())


def test_events_api_chat_rooms():
    server = uvws.Server(port=0, host="127.0.0.1")
    got = {"x": [], "y": []}
    opened = []
    subs = []
    server.on("subscription", lambda ws, topic, new, old: subs.append((topic, new, old)))

    @server.on("connection")
    def on_connection(ws, request):
        room = request.path.strip("/")
        assert ws.subscribe(f"chat/{room}")
        assert ws.subscribe("chat/all")
        assert ws.topics == [f"chat/{room}", "chat/all"]
        opened.append(ws)
        # relay: a message goes to the room, not back to the sender
        ws.on("message", lambda data, is_binary: ws.publish(f"chat/{room}", data))
        if len(opened) == 3:
            assert server.num_subscribers("chat/all") == 3
            assert server.publish("chat/all", "welcome") == 3

    clients = {}

    def make(name, room):
        c = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/{room}")
        clients[name] = c

        @c.on("message")
        def _(data, is_binary):
            got.setdefault(name, []).append(data)
            if name == "x" and data == "welcome":
                c.send("hi room one")
            if name == "z" and data == "hi room one":
                for w in clients.values():
                    w.close()
                server.close()

    make("x", "one")
    make("y", "two")
    make("z", "one")
    run_bounded()
    assert got["x"] == ["welcome"]
    assert got["y"] == ["welcome"]
    assert got["z"] == ["welcome", "hi room one"]
    assert server.num_subscribers("chat/all") == 0
    # three joined chat/all (1, 2, 3), then all left (on close)
    all_events = [(n, o) for t, n, o in subs if t == "chat/all"]
    assert all_events[:3] == [(1, 0), (2, 1), (3, 2)]
    assert sorted(all_events[3:]) == [(0, 1), (1, 2), (2, 3)]
    assert len(subs) == 12


def test_slow_subscriber_dropped_fast_one_gets_everything():
    """Events API (max_backpressure applies; the asyncio API has its own
    flow control and no limit): a paused subscriber is dropped for, the
    other one gets every message, in order."""
    server = uvws.Server(port=0, host="127.0.0.1", max_backpressure=256 * 1024)
    n = 200
    state = {"handed": 0, "sent": 0, "got": 0, "bad": 0, "open": 0}

    @server.on("connection")
    def _(ws, request):
        ws.subscribe("t")
        state["open"] += 1
        if state["open"] == 2:
            publish_some(4)

    def publish_some(k):
        for _ in range(k):
            if state["sent"] < n:
                body = state["sent"].to_bytes(4, "big") * 16384
                state["handed"] += server.publish("t", body)
                state["sent"] += 1

    drops = []
    server.on("dropped", lambda ws, topic, data: drops.append((topic, data[:4], len(data))))
    fast = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
    slow = uvws.WebSocket(f"ws://127.0.0.1:{server.port}/")
    slow.on("open", slow.pause)

    @fast.on("message")
    def _(data, is_binary):
        if data[:4] != state["got"].to_bytes(4, "big"):
            state["bad"] += 1
        state["got"] += 1
        publish_some(1)  # the fast one paces the publisher
        if state["got"] == n:
            fast.close()
            slow.terminate()
            server.close()

    run_bounded(60)
    assert state["got"] == n and state["bad"] == 0
    assert n < state["handed"] < 2 * n  # the slow one missed some
    # each one it missed was reported, with the message
    assert len(drops) == 2 * n - state["handed"]
    assert all(t == "t" and size == 65536 for t, _, size in drops)
    assert [d[1] for d in drops] == sorted(d[1] for d in drops)


# --- the rooms examples (examples/{c,python,node}/rooms*): one protocol ---

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from conftest import ROOT, example_env  # noqa: E402


def _rooms_command(kind):
    if kind == "python":
        return [sys.executable, str(ROOT / "examples" / "python" / "rooms.py")]
    if kind == "node":
        node = shutil.which("node")
        if not node or not (ROOT / "node" / "build" / "uvws.node").exists():
            pytest.skip("node or the built addon (node node/build.js) is missing")
        return [node, str(ROOT / "examples" / "node" / "rooms.js")]
    exe = ROOT / os.environ.get("UVWS_BUILD_DIR", "build") / "bin" / "rooms"
    if not exe.exists():
        pytest.skip(f"{exe} not built (cmake --build build)")
    return [str(exe)]


@pytest.mark.parametrize("kind", ["python", "node", "c"])
def test_rooms_example(kind):
    p = subprocess.Popen(_rooms_command(kind) + ["--host", "127.0.0.1", "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=example_env())
    try:
        line = p.stdout.readline()
        assert line.startswith("listening on "), (line, p.stderr.read() if p.poll() is not None else "")
        port = int(line.split()[-1])

        async def main():
            url = f"ws://127.0.0.1:{port}/?name="
            ann = await uvws.connect(url + "ann")
            bob = await uvws.connect(url + "bob")
            carl = await uvws.connect(url + "carl")

            async def ask(ws, line):
                await ws.send(line)
                return await ws.recv()

            assert await ask(ann, "join lobby") == "joined lobby (1 here)"
            assert await ask(bob, "join lobby") == "joined lobby (2 here)"
            assert await ask(carl, "join *") == "joined * (1 here)"
            await ann.send("say lobby hi \u2603")
            for ws in (ann, bob, carl):
                assert await ws.recv() == "[lobby] ann: hi \u2603"
            await bob.send("say other x")  # bob is not in "other": carl only
            assert await carl.recv() == "[other] bob: x"
            assert await ask(ann, "rooms") == "rooms: lobby"
            assert await ask(carl, "rooms") == "rooms: *"
            assert (await ask(ann, "join a+b")).startswith("error: ")
            assert await ask(bob, "leave lobby") == "left lobby"
            assert await ask(bob, "leave lobby") == "error: not in lobby"
            await ann.send("say lobby again")
            assert await ann.recv() == "[lobby] ann: again"
            assert await carl.recv() == "[lobby] ann: again"
            assert await ask(bob, "rooms") == "rooms: "  # nothing from lobby first
            await carl.close()
            await bob.close()
            # carl's close left "*": ann is the only one in it once she joins
            await wait_for(lambda: True, 0.01)
            for _ in range(200):
                r = await ask(ann, "join *")
                if r == "joined * (1 here)":
                    break
                assert r == "joined * (2 here)"  # carl's close not seen yet
                assert await ask(ann, "leave *") == "left *"
                await asyncio.sleep(0.01)
            assert r == "joined * (1 here)"
            await ann.close()

        arun(main())
    finally:
        p.kill()
        p.wait(5)
        p.stdout.close()
        p.stderr.close()

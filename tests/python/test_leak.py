"""Leak tests: memory (RSS) and the number of live Python objects stay flat.

* 200,000 messages over a few connections (both APIs, mixed sizes: 16 B
  text, 1 KiB binary, 100 KiB binary that takes the zero-copy path, pings);
* 5,000 connect / message / close cycles (both client APIs, every close
  path taken in turn).

Bounds, measured after a warm-up (10% of the work) against the end of the
run, after gc.collect():
  RSS growth      <= 8 MiB
  object growth   <= 300 objects (gc.get_objects())
A leak of one small object per message (200,000) or per connection (5,000)
would exceed both.
"""

import asyncio
import gc
import os

import uvws
from conftest import arun, wait_for

RSS_BOUND = 8 * 1024 * 1024
OBJ_BOUND = 300
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def snapshot():
    gc.collect()
    gc.collect()
    return rss(), len(gc.get_objects())


def check(before, after, what):
    drss, dobj = after[0] - before[0], after[1] - before[1]
    print(f"{what}: RSS {before[0] >> 10} -> {after[0] >> 10} KiB ({drss:+d} B), objects {before[1]} -> {after[1]} ({dobj:+d})")
    assert drss <= RSS_BOUND, f"{what}: RSS grew by {drss} bytes"
    assert dobj <= OBJ_BOUND, f"{what}: {dobj} more live objects"


def echo_callbacks_server(python_callback):
    server = uvws.Server(port=0, host="127.0.0.1")

    @server.on("connection")
    def _(ws, request):
        if python_callback:
            ws.on("message", lambda d, b: ws.send(d, b))
        else:
            ws.on("message", ws.send)

    return server


async def echo_handler(ws):
    async for m in ws:
        await ws.send(m)


SMALL = "0123456789abcdef"  # 16 B
MEDIUM = b"\x5a" * 1024
LARGE = b"\xa5" * (100 * 1024)


async def pump(ws, count, window=64):
    """Send `count` messages (pipelined `window` deep) and check every echo."""
    sent = 0
    while sent < count:
        n = min(window, count - sent)
        batch = []
        for i in range(n):
            k = sent + i
            m = LARGE if k % 997 == 0 else MEDIUM if k % 3 == 0 else SMALL
            batch.append(m)
            await ws.send(m)
        for m in batch:
            assert await ws.recv() == m
        sent += n
        if sent % 4096 < window:
            await asyncio.wait_for(await ws.ping(), 5)


def test_200k_messages_flat():
    total = 200_000
    conns = 4
    per_conn = total // conns

    async def main():
        servers = [echo_callbacks_server(False), echo_callbacks_server(True), await uvws.serve(echo_handler, "127.0.0.1", 0)]
        urls = [f"ws://127.0.0.1:{s.port}/" for s in servers]
        clients = [await uvws.connect(urls[i % len(urls)], max_size=None) for i in range(conns)]
        warm = per_conn // 10
        await asyncio.gather(*(pump(c, warm) for c in clients))
        before = snapshot()
        await asyncio.gather(*(pump(c, per_conn - warm) for c in clients))
        after = snapshot()
        for c in clients:
            await c.close()
        for s in servers[:2]:
            done = asyncio.get_running_loop().create_future()
            s.close(lambda d=done: d.set_result(None))
            await done
        servers[2].close()
        await servers[2].wait_closed()
        return before, after

    before, after = arun(main(), 300)
    check(before, after, f"{total} messages")
    assert uvws.get_loop().live == 0


def test_5000_connect_close_cycles_flat():
    cycles = 5000

    async def one_cycle(i, url):
        mode = i % 5
        if mode < 3:
            ws = await uvws.connect(url)
            await ws.send("ping %d" % i)
            assert await ws.recv() == "ping %d" % i
            if mode == 0:
                await ws.close()
            elif mode == 1:
                await ws.close(4000, "bye")
            else:
                ws.connection.terminate()
                await ws.wait_closed()
        else:
            loop = asyncio.get_running_loop()
            done = loop.create_future()
            got = loop.create_future()
            c = uvws.WebSocket(url)
            c.on("open", lambda: c.send(b"x" * 100))
            c.on("message", lambda d, b: got.done() or got.set_result(d))
            c.on("close", lambda code, reason: done.set_result(code))
            assert await got == b"x" * 100
            if mode == 3:
                c.close()
            else:
                c.close(1001, "going")
            await done

    async def main():
        s1 = echo_callbacks_server(False)
        s2 = await uvws.serve(echo_handler, "127.0.0.1", 0, ping_interval=None)
        urls = [f"ws://127.0.0.1:{s1.port}/", f"ws://127.0.0.1:{s2.port}/"]
        warm = cycles // 10
        for i in range(warm):
            await one_cycle(i, urls[i % 2])
        await wait_for(lambda: not s1.clients and not s2.connections)
        before = snapshot()
        for i in range(warm, cycles):
            await one_cycle(i, urls[i % 2])
        await wait_for(lambda: not s1.clients and not s2.connections)
        after = snapshot()
        done = asyncio.get_running_loop().create_future()
        s1.close(lambda: done.set_result(None))
        await done
        s2.close()
        await s2.wait_closed()
        return before, after

    before, after = arun(main(), 300)
    check(before, after, f"{cycles} connect/close cycles")
    assert uvws.get_loop().live == 0

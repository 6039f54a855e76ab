#!/usr/bin/env python3
"""The demo's "worker" service (uvws Python package, asyncio API).

A wss:// server that computes jobs for the gateway: each text message is a
JSON request {"job": N, "op": "sum"|"prod"|"max"|"min", "args": [ints]}
and gets a JSON reply {"job": N, "ok": true, "result": R} (or "ok": false
with an "error"). Jobs run concurrently (a few ms of simulated work each),
so replies may come back out of order.

- Subprotocol "jobs.v1" is required: an upgrade that does not offer it is
  refused with HTTP 400 (process_request), and the handler checks what was
  negotiated.
- Heartbeat: the engine pings the gateway after --ping-interval seconds
  without traffic and drops the connection (1006) when nothing answers within
  --ping-timeout.
- SIGTERM/SIGINT: closes the server (1001 to the gateway), prints a summary
  line and exits 0.

    worker.py --port 0 --tls-cert server.pem --tls-key server.key

Prints "[worker] listening on <port>" once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import sys
import time

import uvws

PROTOCOL = "jobs.v1"
NAME = "worker"


def log(msg: str) -> None:
    # One write per line (print() writes the newline separately when stdout is
    # unbuffered): the services share the terminal, lines must not interleave.
    sys.stdout.write(f"[{NAME}] {msg}\n")
    sys.stdout.flush()


def traced(job: int, every: int) -> bool:
    return job <= 3 or job % every == 0


OPS = {
    "sum": sum,
    "prod": math.prod,
    "max": max,
    "min": min,
}


# Simulated work per op, in ms: "prod" is the slow one (so that some jobs are
# in flight when the worker dies, and replies come back out of order).
WORK_MS = {"prod": (100, 300), None: (1, 10)}


def compute(req: dict) -> dict:
    job = req.get("job")
    op = OPS.get(req.get("op"))
    args = req.get("args")
    if op is None:
        return {"job": job, "ok": False, "error": f"unknown op {req.get('op')!r}"}
    if not isinstance(args, list) or not args or not all(isinstance(a, int) for a in args):
        return {"job": job, "ok": False, "error": "args must be a non-empty list of integers"}
    return {"job": job, "ok": True, "result": op(args)}


class Worker:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stats = {"connections": 0, "received": 0, "replied": 0, "lost_replies": 0, "bad": 0}
        self.started = time.monotonic()

    def process_request(self, request: uvws.Request):
        values = request.headers.get_all("Sec-WebSocket-Protocol")
        offered = [p.strip() for v in values for p in v.split(",") if p.strip()]
        if PROTOCOL not in offered:
            log(f"refused an upgrade offering {offered or 'no subprotocol'} (HTTP 400: {PROTOCOL} required)")
            return (400, f"subprotocol {PROTOCOL} required\n")
        return None

    async def handler(self, ws) -> None:
        peer = "%s:%d" % ws.remote_address if ws.remote_address else "?"
        if ws.subprotocol != PROTOCOL:  # cannot happen after process_request; checked anyway
            log(f"connection from {peer} negotiated {ws.subprotocol!r}, not {PROTOCOL}: closing 1002")
            self.stats["bad"] += 1
            await ws.close(1002, f"{PROTOCOL} required")
            return
        self.stats["connections"] += 1
        log(f"gateway connected from {peer}, subprotocol {ws.subprotocol}")
        tasks: set[asyncio.Task] = set()
        lost = [0]  # replies that could not be sent on this connection
        try:
            async for message in ws:
                try:
                    req = json.loads(message)
                except (TypeError, ValueError):
                    self.stats["bad"] += 1
                    log(f"<- unparsable message {message[:60]!r}: ignored")
                    continue
                self.stats["received"] += 1
                if traced(int(req.get("job") or 0), self.args.trace_every):
                    log(f"<- job {req.get('job')} {json.dumps({k: v for k, v in req.items() if k != 'job'}, separators=(',', ':'))}")
                t = asyncio.create_task(self.run_job(ws, req, lost))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
        except uvws.ConnectionClosed:
            pass
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        log(f"gateway connection closed: {ws.close_code}{' ' + ws.close_reason if ws.close_reason else ''}"
            + (f"; {lost[0]} replies could not be sent" if lost[0] else ""))

    async def run_job(self, ws, req: dict, lost: list) -> None:
        job = int(req.get("job") or 0)
        if job == self.args.drop_job:  # fault injection: this reply is "lost"
            log(f"<- job {job}: dropping it on purpose (--drop-job): it will never be answered")
            return
        lo, hi = WORK_MS.get(req.get("op"), WORK_MS[None])
        await asyncio.sleep(random.uniform(lo, hi) / 1000)  # the "work"
        reply = compute(req)
        try:
            await ws.send(json.dumps(reply, separators=(",", ":")))
        except uvws.ConnectionClosed as exc:
            self.stats["lost_replies"] += 1
            lost[0] += 1
            if lost[0] <= 2:
                log(f"-> job {job}: reply not sent, the connection is closed ({exc.code}); the gateway resends such jobs")
            return
        self.stats["replied"] += 1
        if traced(job, self.args.trace_every):
            log(f"-> job {job} " + (f"result {reply['result']}" if reply["ok"] else f"error {reply['error']}"))

    def summary(self) -> str:
        s = self.stats
        return (f"summary: pid {os.getpid()}, up {time.monotonic() - self.started:.1f} s, "
                f"{s['connections']} gateway connection(s), received {s['received']} jobs, "
                f"sent {s['replied']} replies, {s['lost_replies']} replies lost to a closed connection, "
                f"{s['bad']} bad messages")


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert", required=True)
    ap.add_argument("--tls-key", required=True)
    ap.add_argument("--ping-interval", type=float, default=1.0)
    ap.add_argument("--ping-timeout", type=float, default=3.0)
    ap.add_argument("--drop-job", type=int, default=0, help="never answer this job (fault injection)")
    ap.add_argument("--trace-every", type=int, default=100)
    args = ap.parse_args()

    w = Worker(args)
    tls = uvws.TLSOptions(certfile=args.tls_cert, keyfile=args.tls_key)
    try:
        server = await uvws.serve(
            w.handler, args.host, args.port,
            subprotocols=[PROTOCOL], process_request=w.process_request, ssl=tls,
            ping_interval=args.ping_interval, ping_timeout=args.ping_timeout, close_timeout=2.0,
        )
    except (OSError, uvws.WebSocketError) as exc:
        log(f"cannot listen on {args.host}:{args.port}: {exc}")
        return 1
    log(f"listening on {server.port} (pid {os.getpid()}, wss, subprotocol {PROTOCOL}, "
        f"engine ping every {args.ping_interval:g} s idle, pong timeout {args.ping_timeout:g} s)")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log("stopping: closing the server (1001 to the gateway)")
    server.close()
    try:
        await asyncio.wait_for(server.wait_closed(), 5)
    except asyncio.TimeoutError:
        log("server did not close within 5 s")
        log(w.summary())
        return 1
    log(w.summary())
    return 1 if w.stats["bad"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

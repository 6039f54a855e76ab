#!/usr/bin/env python3
"""uvws (Python, event API) fan-out server for bench/fanout.sh: a connection
whose URL has "role=sub" subscribes to the topic "t" and is told "ok"; every
message of another connection is published to "t" (server.publish: framed
once, shared).

    .venv/bin/python bench/peers/uvws_fanout.py --port 0
"""
import argparse

import uvws

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
args = ap.parse_args()
server = uvws.Server(port=args.port, host="127.0.0.1", max_payload=64 * 1024 * 1024)


@server.on("connection")
def on_connection(ws, request):
    if "role=sub" in (request.query or ""):
        ws.subscribe("t")
        ws.send("ok")
    else:
        ws.on("message", lambda data, is_binary: server.publish("t", data, is_binary))


print(f"listening on {server.port}", flush=True)
uvws.run()

#!/usr/bin/env python3
"""Chat with rooms, on topics (uvws, event-callback API): each room is the
topic "rooms/<room>". Clients send text lines:

    join ROOM       subscribe (ROOM "*" joins every room: "rooms/+")
    leave ROOM      unsubscribe
    say ROOM TEXT   publish "[ROOM] NAME: TEXT" to the room (the sender gets
                    it too if it is in the room)
    rooms           the rooms this connection is in

NAME is the ?name= query parameter, else "guest-<n>". Closing a connection
leaves every room. Answers: "joined ROOM (N here)", "left ROOM",
"rooms: A,B", "error: WHY". The same protocol as examples/c/rooms.c and
examples/node/rooms.js.

    python3 examples/python/rooms.py [--host 127.0.0.1] [--port 9003]

Prints "listening on <port>" once it accepts connections.
"""

import argparse
import itertools
import sys
from urllib.parse import parse_qs

import uvws


def topic_of(room: str) -> str:
    return "rooms/+" if room == "*" else f"rooms/{room}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9003)
    args = ap.parse_args()

    server = uvws.Server(port=args.port, host=args.host, max_payload=4096)
    guests = itertools.count(1)

    @server.on("connection")
    def on_connection(ws: uvws.WebSocket, request: uvws.Request) -> None:
        names = parse_qs(request.query or "").get("name")
        name = names[0][:32] if names else f"guest-{next(guests)}"

        def on_message(data, is_binary):
            if is_binary:
                ws.close(1003, "text only")
                return
            cmd, _, arg = data.partition(" ")
            if cmd == "rooms":
                rooms = ["*" if t == "rooms/+" else t[6:] for t in ws.topics]
                ws.send("rooms: " + ",".join(rooms))
                return
            room, _, text = arg.partition(" ")
            if not 0 < len(room.encode()) <= 64:
                ws.send("error: a room name of 1 to 64 bytes is needed")
                return
            topic = topic_of(room)
            try:
                if cmd == "join":
                    ws.subscribe(topic)
                    ws.send(f"joined {room} ({server.num_subscribers(topic)} here)")
                elif cmd == "leave":
                    ws.send(f"left {room}" if ws.unsubscribe(topic) else f"error: not in {room}")
                elif cmd == "say" and text and room != "*":
                    # Framed once, shared by every subscriber of the room.
                    server.publish(topic, f"[{room}] {name}: {text}")
                else:
                    ws.send("error: commands: join ROOM, leave ROOM, say ROOM TEXT, rooms")
            except ValueError as e:  # a room name that is not a valid topic
                ws.send(f"error: {e}")

        ws.on("message", on_message)

    print(f"listening on {server.port}", flush=True)
    uvws.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

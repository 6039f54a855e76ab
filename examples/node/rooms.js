#!/usr/bin/env node
// Chat with rooms, on topics: each room is the topic "rooms/<room>".
// Clients send text lines:
//   join ROOM       subscribe (ROOM "*" joins every room: "rooms/+")
//   leave ROOM      unsubscribe
//   say ROOM TEXT   publish "[ROOM] NAME: TEXT" to the room (the sender gets
//                   it too if it is in the room)
//   rooms           the rooms this connection is in
// NAME is the ?name= query parameter, else "guest-<n>". Closing a connection
// leaves every room. Answers: "joined ROOM (N here)", "left ROOM",
// "rooms: A,B", "error: WHY". The same protocol as examples/c/rooms.c and
// examples/python/rooms.py.
//
//   node examples/node/rooms.js [--port 9003] [--host 127.0.0.1]
//
// Prints "listening on <port>". subscribe/publish/numSubscribers are the
// uWebSockets.js names.
'use strict';

const { WebSocketServer } = require('../../node');

const opts = { port: 9003, host: '127.0.0.1', maxPayload: 4096 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--port') opts.port = Number(argv[++i]);
  else if (argv[i] === '--host') opts.host = argv[++i];
  else {
    process.stderr.write('usage: rooms.js [--port N] [--host ADDR]\n');
    process.exit(2);
  }
}

const wss = new WebSocketServer(opts);
let guests = 0;
const topicOf = (room) => (room === '*' ? 'rooms/+' : `rooms/${room}`);

wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
wss.on('connection', (ws, req) => {
  const name = (new URL(req.url, 'http://x').searchParams.get('name') || `guest-${++guests}`).slice(0, 32);
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003, 'text only');
    const line = data.toString();
    const [cmd] = line.split(' ', 1);
    if (cmd === 'rooms') {
      ws.send('rooms: ' + ws.getTopics().map((t) => (t === 'rooms/+' ? '*' : t.slice(6))).join(','));
      return;
    }
    const rest = line.slice(cmd.length + 1);
    const sp = rest.indexOf(' ');
    const room = sp < 0 ? rest : rest.slice(0, sp);
    const text = sp < 0 ? '' : rest.slice(sp + 1);
    if (!room || Buffer.byteLength(room) > 64) return ws.send('error: a room name of 1 to 64 bytes is needed');
    const topic = topicOf(room);
    try {
      if (cmd === 'join') {
        ws.subscribe(topic);
        ws.send(`joined ${room} (${wss.numSubscribers(topic)} here)`);
      } else if (cmd === 'leave') {
        ws.send(ws.unsubscribe(topic) ? `left ${room}` : `error: not in ${room}`);
      } else if (cmd === 'say' && text && room !== '*') {
        wss.publish(topic, `[${room}] ${name}: ${text}`); // framed once for the room
      } else {
        ws.send('error: commands: join ROOM, leave ROOM, say ROOM TEXT, rooms');
      }
    } catch (e) {
      ws.send(`error: ${e.message}`);
    }
  });
});

function shutdown() {
  wss.close(() => process.exit(0));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

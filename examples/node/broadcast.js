#!/usr/bin/env node
// Broadcast (chat) server: every text message a client sends is relayed to
// every connected client, with a sequence number; a ticker also broadcasts
// the time every --tick ms (0 = off).
//
//   node examples/node/broadcast.js [--port 9002] [--host ADDR] [--tick 1000]
//
// Prints "listening on <port>". Relaying uses the ws API (wss.clients); the
// ticker shows uvws's wss.broadcast(), which builds the frame once for all.
'use strict';

const { WebSocketServer, WebSocket } = require('../../node');

const opts = { port: 9002 };
let tick = 1000;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--port') opts.port = Number(argv[++i]);
  else if (argv[i] === '--host') opts.host = argv[++i];
  else if (argv[i] === '--tick') tick = Number(argv[++i]);
  else {
    process.stderr.write('usage: broadcast.js [--port N] [--host ADDR] [--tick MS]\n');
    process.exit(2);
  }
}

const wss = new WebSocketServer(opts);
let seq = 0;

wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
wss.on('connection', (ws, req) => {
  const who = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  ws.on('message', (data, isBinary) => {
    const text = `#${++seq} ${who}: ${isBinary ? `<${data.length} bytes>` : data.toString()}`;
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(text);
    }
  });
  ws.on('error', () => {});
  ws.send(`welcome ${who}, ${wss.clients.size} connected`);
});

let timer = null;
if (tick > 0) {
  timer = setInterval(() => wss.broadcast(`tick ${new Date().toISOString()}`), tick);
}

function stop() {
  clearInterval(timer);
  for (const ws of wss.clients) ws.close(1001, 'server shutting down');
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

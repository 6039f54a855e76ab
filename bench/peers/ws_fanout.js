#!/usr/bin/env node
// ws fan-out server for bench/fanout.sh, with ws's documented broadcast loop
// (wss.clients.forEach(c => c.send(m)), restricted to the subscribers): a
// connection whose URL has "role=sub" is a subscriber and is told "ok";
// every message of another connection goes to every open subscriber.
//   node bench/peers/ws_fanout.js --port 0
'use strict';
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[process.argv.indexOf('--port') + 1] || 0);
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
wss.on('connection', (ws, req) => {
  ws.on('error', () => {});
  if (req.url.includes('role=sub')) {
    ws.isSubscriber = true;
    ws.send('ok');
  } else {
    ws.on('message', (data, isBinary) => {
      wss.clients.forEach((c) => {
        if (c.isSubscriber && c.readyState === WebSocket.OPEN) c.send(data, { binary: isBinary });
      });
    });
  }
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));

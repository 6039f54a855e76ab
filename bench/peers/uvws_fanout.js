#!/usr/bin/env node
// uvws (Node) fan-out server for bench/fanout.sh: a connection whose URL has
// "role=sub" subscribes to the topic "t" and is told "ok"; every message of
// another connection is published to "t" (wss.publish: framed once, shared).
//   node bench/peers/uvws_fanout.js --port 0
'use strict';
const { WebSocketServer } = require('../../node');

const port = Number(process.argv[process.argv.indexOf('--port') + 1] || 0);
const wss = new WebSocketServer({ port, host: '127.0.0.1', maxPayload: 64 * 1024 * 1024 });
wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
wss.on('connection', (ws, req) => {
  ws.on('error', () => {});
  if (req.url.includes('role=sub')) {
    ws.subscribe('t');
    ws.send('ok');
  } else {
    ws.on('message', (data, isBinary) => wss.publish('t', data, isBinary));
  }
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));

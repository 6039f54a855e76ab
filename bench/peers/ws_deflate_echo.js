#!/usr/bin/env node
// ws_deflate_echo.js - echo server on npm `ws` with permessage-deflate on,
// for bench/deflate.sh. Prints "listening on <port>".
//   node bench/peers/ws_deflate_echo.js --port 0 [--no-takeover]
'use strict';
const path = require('path');
const root = path.resolve(__dirname, '..', '..');
const { WebSocketServer } = require(require.resolve('ws', { paths: [root] }));
let port = 0, noTakeover = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--port') port = Number(argv[++i]);
  else if (argv[i] === '--no-takeover') noTakeover = true;
}
const wss = new WebSocketServer({
  host: '127.0.0.1', port, maxPayload: 64 * 1024 * 1024,
  // Compress every message, as the uvws server in this benchmark does.
  perMessageDeflate: { threshold: 0, serverNoContextTakeover: noTakeover, clientNoContextTakeover: noTakeover },
});
wss.on('listening', () => process.stdout.write(`listening on ${wss.address().port}\n`));
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
process.on('SIGTERM', () => process.exit(0));

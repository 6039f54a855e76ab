#!/usr/bin/env node
// ws_echo.js - WebSocket echo server on npm `ws` (+ `bufferutil`), peer for
// the uvws benchmarks.
//
//   node bench/peers/ws_echo.js --port 0      # prints "listening on <port>"
//
// Echoes every message with the same type, no permessage-deflate, 64 MiB max
// payload, listens on 127.0.0.1 only. Run `npm install` at the repo root
// first (ws and bufferutil are devDependencies there). Exits with status 3 if
// bufferutil's native addon cannot be loaded, so a run never silently
// measures ws's JavaScript fallback.
'use strict';

const path = require('path');
const root = path.resolve(__dirname, '..', '..');
const req = (name) => require(require.resolve(name, { paths: [root, __dirname] }));

const { WebSocketServer } = req('ws');

let port = 0;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--port' && i + 1 < argv.length) port = Number(argv[++i]);
  else {
    process.stderr.write('usage: ws_echo.js [--port N]\n');
    process.exit(2);
  }
}

try {
  const bu = req('bufferutil');
  if (typeof bu.mask !== 'function') throw new Error('no mask()');
  // ws uses bufferutil only if it loads the native build; check that it does
  const nodeGypBuild = req('node-gyp-build');
  nodeGypBuild(path.dirname(require.resolve('bufferutil', { paths: [root, __dirname] })));
} catch (e) {
  process.stderr.write(`ws_echo.js: bufferutil native addon not available: ${e.message}\n`);
  process.exit(3);
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  maxPayload: 64 * 1024 * 1024,
  clientTracking: false,
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', () => {});
});

wss.on('listening', () => {
  process.stdout.write(`listening on ${wss.address().port}\n`);
});

const stop = () => {
  wss.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

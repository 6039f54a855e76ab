#!/usr/bin/env node
// Echo server built on npm `ws`, a reference peer for the conformance runner.
// Usage: node ws_echo_server.js --port N [--host 127.0.0.1] [--tls-cert C --tls-key K] [--deflate]
// Prints "listening on <port>" once ready (port 0 picks a free port). Every message
// is echoed with the same type (text/binary). Stops on SIGTERM/SIGINT.
// --deflate: accept permessage-deflate (RFC 7692) with ws's defaults and threshold 0,
// so that every echo is compressed.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');

function loadWs() {
  try { return require('ws'); } catch (e) {
    return require(path.join(__dirname, '..', '..', '..', 'node_modules', 'ws'));
  }
}
const { WebSocketServer } = loadWs();

const args = process.argv.slice(2);
function opt(name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const port = parseInt(opt('--port', '0'), 10);
const host = opt('--host', '127.0.0.1');
const cert = opt('--tls-cert');
const key = opt('--tls-key');
const deflate = args.includes('--deflate');

const server = cert && key
  ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http.createServer();
const wss = new WebSocketServer({
  server,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  maxPayload: 256 * 1024 * 1024,
  // ws >= 8.18 closes with 1008 after 16384 fragments of one message by default;
  // group 9.3.1/9.4.1 (Autobahn's and our short form) send 65536 fragments.
  maxFragments: 0,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
server.listen(port, host, () => {
  console.log(`listening on ${server.address().port}`);
});
function stop() {
  for (const c of wss.clients) c.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

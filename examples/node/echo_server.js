#!/usr/bin/env node
// Echo server: sends every message back as it came (text as text, binary as
// binary). SIGINT/SIGTERM stops it.
//
//   node examples/node/echo_server.js [--port 9001] [--host ADDR] [--path /x]
//        [--max-payload BYTES] [--tls-cert cert.pem --tls-key key.pem]
//        [--deflate] [--deflate-no-takeover]   (permessage-deflate)
//        [--ws]   (use npm's ws instead of uvws, for comparisons)
//
// Prints "listening on <port>" once it accepts connections (--port 0 picks a
// free port).
'use strict';

const fs = require('fs');

function usage() {
  process.stderr.write(
    'usage: echo_server.js [--port N] [--host ADDR] [--path P] [--max-payload BYTES] ' +
      '[--tls-cert FILE --tls-key FILE] [--deflate] [--deflate-no-takeover] [--ws]\n',
  );
  process.exit(2);
}

const opts = { port: 9001 };
let useWs = false;
let cert;
let key;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => (i + 1 < argv.length ? argv[++i] : usage());
  if (a === '--port') opts.port = Number(val());
  else if (a === '--host') opts.host = val();
  else if (a === '--path') opts.path = val();
  else if (a === '--max-payload') opts.maxPayload = Number(val());
  else if (a === '--tls-cert') cert = fs.readFileSync(val());
  else if (a === '--tls-key') key = fs.readFileSync(val());
  else if (a === '--deflate') opts.perMessageDeflate = { threshold: 0 };
  else if (a === '--deflate-no-takeover') {
    opts.perMessageDeflate = { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true };
  } else if (a === '--ws') useWs = true;
  else usage();
}

let wss;
if (useWs) {
  // ws with bufferutil (if installed), for benchmarks against the same script.
  const { WebSocketServer } = require('ws');
  if (cert) {
    const server = require('https').createServer({ cert, key });
    wss = new WebSocketServer({ server, maxPayload: opts.maxPayload, path: opts.path });
    server.listen(opts.port, opts.host, () => {
      console.log(`listening on ${server.address().port}`);
    });
  } else {
    wss = new WebSocketServer(opts);
  }
} else {
  const { WebSocketServer } = require('../../node');
  if (cert) Object.assign(opts, { cert, key });
  wss = new WebSocketServer(opts);
}

wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
wss.on('error', (err) => {
  console.error(`echo_server: ${err.message}`);
  process.exit(1);
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

function stop() {
  for (const ws of wss.clients) ws.close(1001, 'server shutting down');
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

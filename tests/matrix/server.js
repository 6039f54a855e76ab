#!/usr/bin/env node
// Interop matrix server (Node package, ws's API): the same behaviour as
// server.c and server.py; see tests/matrix/README.md.
//
//   node tests/matrix/server.js [--host 127.0.0.1] [--port 0]
//        [--tls-cert FILE --tls-key FILE]
//
// Prints "listening on <port>" once it accepts connections. SIGTERM / SIGINT
// or the text "shutdown" on /shutdown close every connection with 1001 and
// exit.
'use strict';

const fs = require('fs');
const path = require('path');
const { WebSocketServer } = require(path.join(__dirname, '..', '..', 'node'));

const MiB = 1024 * 1024;

function usage() {
  process.stderr.write('usage: server.js [--host ADDR] [--port N] [--tls-cert FILE --tls-key FILE]\n');
  process.exit(2);
}

const opts = {
  host: '127.0.0.1',
  port: 0,
  maxPayload: 64 * MiB, // the 16 MiB echo; /too-big is checked per message
  verifyClient(info, cb) {
    const p = (info.req.url || '/').split('?')[0];
    if (p === '/reject') cb(false, 401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer realm="matrix"' });
    else cb(true);
  },
  handleProtocols(protocols) {
    if (protocols.has('v2.demo')) return 'v2.demo';
    const first = protocols.values().next();
    return first.done ? false : first.value;
  },
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => (i + 1 < argv.length ? argv[++i] : usage());
  if (a === '--port') opts.port = Number(val());
  else if (a === '--host') opts.host = val();
  else if (a === '--tls-cert') opts.cert = fs.readFileSync(val());
  else if (a === '--tls-key') opts.key = fs.readFileSync(val());
  else usage();
}

const log = (fields) => process.stderr.write(JSON.stringify(fields) + '\n');
const records = new Map(); // id -> "code reason" as the server saw the close

const wss = new WebSocketServer(opts);
wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
wss.on('error', (err) => {
  console.error(`matrix server (node): ${err.message}`);
  process.exit(1);
});

let shuttingDown = false;
function shutdown(why) {
  if (shuttingDown) return;
  shuttingDown = true;
  log({ event: 'shutdown', why, connections: wss.clients.size });
  for (const ws of wss.clients) ws.close(1001, 'server shutting down');
  wss.close(() => process.exit(0));
  setTimeout(() => {
    log({ event: 'shutdown grace period over' });
    process.exit(1);
  }, 10000).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

wss.on('connection', (ws, req) => {
  const [p, query] = (req.url || '/').split('?');
  const id = query && query.startsWith('id=') ? query.slice(3) : '';
  ws.on('message', (data, isBinary) => {
    if (p === '/too-big' && data.length > MiB) {
      ws.close(1009, 'message too big');
      return;
    }
    if (!isBinary) {
      const text = data.toString();
      if (p === '/protocol-error' && text === 'close-1002') {
        ws.close(1002, 'protocol error requested');
        return;
      }
      if (p === '/close') {
        if (text === 'close-1000') {
          ws.close(1000, 'bye-from-server');
          return;
        }
        if (text.startsWith('report ')) {
          ws.send(records.has(text.slice(7)) ? records.get(text.slice(7)) : 'pending');
          return;
        }
      }
      if (p === '/shutdown' && text === 'shutdown') {
        shutdown('shutdown message');
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code, reason) => {
    log({ event: 'close', path: p, id, code, reason: reason.toString() });
    if (id) records.set(id, `${code} ${reason.toString()}`);
  });
  ws.on('error', (err) => log({ event: 'error', path: p, error: String(err && err.message) }));
});

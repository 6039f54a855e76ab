#!/usr/bin/env node
// Client: connects to a WebSocket URL, sends each argument (or, without
// arguments, each line of stdin) as a text message, prints every message that
// comes back, then closes with 1000.
//
//   node examples/node/client.js ws://127.0.0.1:9001/ hello world
//   echo hi | node examples/node/client.js ws://[::1]:9001/chat
//
// Options before the URL: --header "Name: value", --subprotocol NAME,
// --timeout MS (wait for replies after the last send; default 2000),
// --ca FILE (trust this CA for wss://), --insecure (accept any certificate).
'use strict';

const fs = require('fs');
const readline = require('readline');
const WebSocket = require('../../node');

const headers = {};
const protocols = [];
const options = { headers };
let timeout = 2000;
const argv = process.argv.slice(2);
while (argv.length && argv[0].startsWith('--')) {
  const a = argv.shift();
  if (a === '--header') {
    const h = argv.shift();
    const i = h.indexOf(':');
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  } else if (a === '--subprotocol') protocols.push(argv.shift());
  else if (a === '--timeout') timeout = Number(argv.shift());
  else if (a === '--ca') options.ca = fs.readFileSync(argv.shift());
  else if (a === '--insecure') options.rejectUnauthorized = false;
  else {
    process.stderr.write(`client: unknown option ${a}\n`);
    process.exit(2);
  }
}
const url = argv.shift();
if (!url) {
  process.stderr.write('usage: client.js [--header "N: v"] [--subprotocol P] [--timeout MS] [--ca FILE] URL [message...]\n');
  process.exit(2);
}

async function messagesToSend() {
  if (argv.length) return argv;
  const lines = [];
  for await (const line of readline.createInterface({ input: process.stdin })) lines.push(line);
  return lines;
}

messagesToSend().then((messages) => {
  const ws = new WebSocket(url, protocols, options);
  let received = 0;
  let timer = null;
  const finish = () => {
    clearTimeout(timer);
    ws.close(1000, 'bye');
  };
  ws.on('open', () => {
    if (ws.protocol) process.stderr.write(`client: connected, subprotocol ${ws.protocol}\n`);
    for (const m of messages) ws.send(m);
    if (messages.length === 0) finish();
    else timer = setTimeout(() => {
      process.stderr.write(`client: timed out waiting for replies (${received} of ${messages.length})\n`);
      finish();
    }, timeout);
  });
  ws.on('message', (data, isBinary) => {
    console.log(isBinary ? `<binary ${data.length} bytes>` : data.toString());
    if (++received === messages.length) finish();
  });
  ws.on('error', (err) => process.stderr.write(`client: error: ${err.message}\n`));
  ws.on('close', (code, reason) => {
    clearTimeout(timer);
    process.stderr.write(`client: closed ${code} ${reason}\n`);
    process.exitCode = code === 1000 && received === messages.length ? 0 : 1;
  });
});

#!/usr/bin/env node
// Standard Autobahn|Testsuite test-client loop built on npm `ws`.
// Usage: node ws_autobahn_client.js [--deflate] ws://127.0.0.1:PORT [agent]
// --deflate: offer permessage-deflate (ws's default offer) with threshold 0, so that
// every echo is compressed.
// getCaseCount, then runCase?case=i&agent=A for each case (echoing every message with
// its type), then updateReports?agent=A. Every step has a time limit.
'use strict';
const path = require('path');

function loadWs() {
  try { return require('ws'); } catch (e) {
    return require(path.join(__dirname, '..', '..', '..', 'node_modules', 'ws'));
  }
}
const WebSocket = loadWs();

const argv = process.argv.slice(2);
const deflate = argv.includes('--deflate');
const pos = argv.filter((a) => a !== '--deflate');
const base = (pos[0] || 'ws://127.0.0.1:9001').replace(/\/+$/, '');
const agent = pos[1] || 'ws';
const CASE_TIMEOUT_MS = 120000;

function connect(url, onOpen, onMessage) {
  return new Promise((resolve) => {
    let done = false;
    const ws = new WebSocket(url, {
      perMessageDeflate: deflate ? { threshold: 0 } : false,
      maxPayload: 256 * 1024 * 1024,
      maxFragments: 0, // default 16384 would refuse 9.3.1/9.4.1 (65536 fragments)
      rejectUnauthorized: process.env.NODE_TLS_REJECT_UNAUTHORIZED !== '0',
    });
    const timer = setTimeout(() => { ws.terminate(); finish('timeout'); }, CASE_TIMEOUT_MS);
    function finish(how) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(how);
    }
    ws.on('open', () => onOpen && onOpen(ws));
    ws.on('message', (data, isBinary) => onMessage && onMessage(ws, data, isBinary));
    ws.on('close', () => finish('closed'));
    ws.on('error', () => {});
  });
}

async function main() {
  let count = null;
  await connect(`${base}/getCaseCount`, null, (ws, data) => { count = parseInt(data.toString(), 10); });
  if (!Number.isInteger(count) || count < 0) {
    console.error('could not get the case count');
    process.exit(2);
  }
  console.log(`running ${count} cases against ${base} as agent ${agent}`);
  const enc = encodeURIComponent(agent);
  for (let i = 1; i <= count; i++) {
    const how = await connect(`${base}/runCase?case=${i}&agent=${enc}`, null, (ws, data, isBinary) => {
      ws.send(data, { binary: isBinary });
    });
    if (how !== 'closed') console.error(`case ${i}: ${how}`);
  }
  await connect(`${base}/updateReports?agent=${enc}`, null, null);
  console.log('done');
}

main().catch((e) => { console.error(e); process.exit(1); });

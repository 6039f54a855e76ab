'use strict';

// Leak test of the Node binding: connections and messages go through garbage
// collections, and afterwards
//   * the addon's own count of native objects alive (connections, servers,
//     pending upgrades, buffers lent to the engine; binding.debugCounts()) and
//     the number of WebSocket objects not yet garbage-collected (a
//     FinalizationRegistry) are back to 0 once everything is closed and
//     collected, and during the run they are exactly what is open;
//   * the JS heap and the process's RSS grew by less than a bound, measured
//     after a warm-up (10% of the work) against the end of the run.
//
// Work: 2,000 connect / message / close cycles (every close path in turn:
// client close, close with a code and reason, terminate, server-side close;
// every 10th over wss://, every 4th with permessage-deflate when the engine
// has it), then 200,000 messages over 4 connections (16 B text, 1 KiB binary,
// 100 KiB binary, pings).
//
// One native Conn or WebSocket object kept per connection shows in the
// counts; one leaked 1 KiB
// buffer per message would be about 12 MiB of RSS.

const { describe, it } = require('node:test');
const assert = require('node:assert');
const v8 = require('v8');
const vm = require('vm');

const WebSocket = require('uvws');
const { WebSocketServer } = WebSocket;
const binding = require('../../node/lib/binding');
const { once, until, pki } = require('./helpers');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const HEAP_BOUND = 4 * 1024 * 1024;
const RSS_BOUND = 16 * 1024 * 1024;
// Under AddressSanitizer (tests/sanitize/node.sh) freed memory waits in ASan's
// quarantine, so RSS says nothing there; LeakSanitizer checks native memory
// in that run instead.
const UNDER_ASAN = !!process.env.UVWS_TEST_ASAN;
const DEFLATE = WebSocket.engineFeatures.permessageDeflate;
const NOTHING = { conns: 0, servers: 0, upgrades: 0, ownedBuffers: 0, engineConns: 0, engineServers: 0 };

// WebSocket objects (clients and server-side) not garbage-collected yet.
let jsAlive = 0;
const registry = new FinalizationRegistry(() => jsAlive--);
function track(ws) {
  jsAlive++;
  registry.register(ws, null);
  return ws;
}

// Collect garbage until the addon's counts equal `want` and `jsWant`
// WebSocket objects are left (finalizers run after the collection, from the
// event loop), bounded.
async function settle(want, jsWant = 0, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    gc();
    await new Promise((r) => setImmediate(r));
    const got = binding.debugCounts();
    if (JSON.stringify(got) === JSON.stringify(want) && jsAlive === jsWant) return got;
    if (Date.now() > end) {
      assert.deepStrictEqual(got, want, 'native objects alive');
      assert.strictEqual(jsAlive, jsWant, 'WebSocket objects not garbage-collected');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function memory() {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, external: m.external };
}

function checkMemory(before, after, what) {
  const d = { heap: after.heap - before.heap, rss: after.rss - before.rss, external: after.external - before.external };
  console.log(`${what}: heapUsed ${d.heap >= 0 ? '+' : ''}${d.heap} B, rss ${d.rss >= 0 ? '+' : ''}${d.rss} B, external ${d.external >= 0 ? '+' : ''}${d.external} B`);
  assert.ok(d.heap <= HEAP_BOUND, `${what}: the JS heap grew by ${d.heap} bytes`);
  assert.ok(d.external <= HEAP_BOUND, `${what}: external memory grew by ${d.external} bytes`);
  if (!UNDER_ASAN) assert.ok(d.rss <= RSS_BOUND, `${what}: RSS grew by ${d.rss} bytes`);
}

async function echoServer(options = {}) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  wss.on('connection', (ws) => {
    track(ws);
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.length === 5 && data.toString() === 'close') ws.close(4001, 'server');
      else ws.send(data, { binary: isBinary });
    });
  });
  await once(wss, 'listening');
  return wss;
}

function closeServer(wss) {
  return new Promise((resolve) => wss.close(resolve));
}

describe('the Node binding does not leak', () => {
  it('2,000 connect / message / close cycles: native objects back to 0, memory flat', async (t) => {
    assert.deepStrictEqual(binding.debugCounts(), NOTHING);
    const { ca, cert, key } = pki();
    const plain = await echoServer(DEFLATE ? { perMessageDeflate: true } : {});
    const secure = await echoServer({ cert, key });
    t.after(() => {
      for (const wss of [plain, secure]) {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
      }
    });
    await settle({ ...NOTHING, servers: 2, engineServers: 2 });

    async function cycle(i) {
      const tls = i % 10 === 9;
      const url = tls ? `wss://localhost:${secure.address().port}/` : `ws://127.0.0.1:${plain.address().port}/`;
      const opts = tls ? { ca } : { perMessageDeflate: DEFLATE && i % 4 === 0 ? {} : false };
      const ws = track(new WebSocket(url, opts));
      await once(ws, 'open');
      const msg = `message ${i}`;
      ws.send(msg);
      const [data] = await once(ws, 'message');
      assert.strictEqual(data.toString(), msg);
      const closed = once(ws, 'close');
      switch (i % 4) {
        case 0: ws.close(); break;
        case 1: ws.close(4000, 'bye'); break;
        case 2: ws.terminate(); break;
        default: ws.send('close'); break; // the server closes
      }
      await closed;
    }

    const cycles = 2000;
    const warm = cycles / 10;
    for (let i = 0; i < warm; i++) await cycle(i);
    await until(() => plain.clients.size === 0 && secure.clients.size === 0, 10000, 'server-side connections closed');
    await settle({ ...NOTHING, servers: 2, engineServers: 2 });
    const before = await memory();
    for (let i = warm; i < cycles; i++) await cycle(i);
    await until(() => plain.clients.size === 0 && secure.clients.size === 0, 10000, 'server-side connections closed');
    await settle({ ...NOTHING, servers: 2, engineServers: 2 });
    checkMemory(before, await memory(), `${cycles} cycles`);
    await closeServer(plain);
    await closeServer(secure);
    await settle(NOTHING);
  });

  it('200,000 messages over 4 connections: native objects back to 0, memory flat', async (t) => {
    const wss = await echoServer();
    const clients = [];
    t.after(() => {
      for (const ws of clients) ws.terminate();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    });
    const port = wss.address().port;
    const SMALL = '0123456789abcdef';
    const MEDIUM = Buffer.alloc(1024, 0x5a);
    const LARGE = Buffer.alloc(100 * 1024, 0xa5);
    // (Opened in a function of its own: a variable of this suspended async
    // function could keep the last one reachable.)
    async function open() {
      const ws = track(new WebSocket(`ws://127.0.0.1:${port}/`));
      await once(ws, 'open');
      return ws;
    }
    for (let i = 0; i < 4; i++) clients.push(await open());

    // Send `count` messages on `ws`, `window` in flight, and check every echo.
    function pump(ws, count, window = 64) {
      return new Promise((resolve, reject) => {
        let sent = 0;
        let got = 0;
        const expect = [];
        const timer = setTimeout(() => reject(new Error(`stalled at ${got}/${count}`)), 120000);
        function fill() {
          while (sent < count && sent - got < window) {
            const m = sent % 997 === 0 ? LARGE : sent % 3 === 0 ? MEDIUM : SMALL;
            expect.push(m);
            ws.send(m);
            if (sent % 4096 === 0) ws.ping();
            sent++;
          }
        }
        function onMessage(data, isBinary) {
          const m = expect.shift();
          try {
            if (typeof m === 'string') assert.ok(!isBinary && data.toString() === m, 'text echo');
            else assert.ok(isBinary && m.equals(data), 'binary echo');
          } catch (e) {
            clearTimeout(timer);
            ws.off('message', onMessage);
            reject(e);
            return;
          }
          got++;
          if (got === count) {
            clearTimeout(timer);
            ws.off('message', onMessage);
            resolve();
          } else fill();
        }
        ws.on('message', onMessage);
        fill();
      });
    }

    const total = 200000;
    const per = total / clients.length;
    const warm = per / 10;
    await Promise.all(clients.map((ws) => pump(ws, warm)));
    const before = await memory();
    await Promise.all(clients.map((ws) => pump(ws, per - warm)));
    await settle({ ...NOTHING, conns: 8, servers: 1, engineConns: 8, engineServers: 1 }, 8);
    checkMemory(before, await memory(), `${total} messages`);
    await Promise.all(clients.map((ws) => {
      const closed = once(ws, 'close');
      ws.close();
      return closed;
    }));
    clients.length = 0;
    await until(() => wss.clients.size === 0, 10000, 'server-side connections closed');
    await closeServer(wss);
    await settle(NOTHING);
  });
});

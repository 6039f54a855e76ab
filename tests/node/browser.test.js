'use strict';

// A real browser: headless Chromium (Debian's chromium, driven by
// playwright-core) loads a page that talks to a uvws WebSocketServer over
// ws:// and wss://, and the test checks every round trip on both sides.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const { WebSocketServer } = require('uvws');
const { once, pki, skipUnless } = require('./helpers');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const PAGE = `<!doctype html><meta charset="utf-8"><title>uvws browser test</title>
<script>
// Runs the whole exchange against url and returns what it saw.
window.roundTrip = (url) => new Promise((resolve) => {
  const seen = { events: [], messages: [] };
  const ws = new WebSocket(url, ['chat.v1']);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    seen.events.push('open');
    seen.protocol = ws.protocol;
    seen.extensions = ws.extensions;
    ws.send('hello from the browser ✓');
    ws.send(new Uint8Array([1, 2, 3, 250]).buffer);
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    ws.send(big);
    ws.send('please close');
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') {
      seen.messages.push({ text: ev.data });
    } else {
      const b = new Uint8Array(ev.data);
      let sum = 0;
      for (let i = 0; i < b.length; i++) sum = (sum + b[i]) % 65521;
      seen.messages.push({ binary: b.length, sum, head: Array.from(b.slice(0, 4)) });
    }
  };
  ws.onerror = () => seen.events.push('error');
  ws.onclose = (ev) => {
    seen.events.push('close');
    seen.close = { code: ev.code, reason: ev.reason, wasClean: ev.wasClean };
    resolve(seen);
  };
  setTimeout(() => resolve(seen), 15000);
});
</script>`;

function checksum(buf) {
  let sum = 0;
  for (const b of buf) sum = (sum + b) % 65521;
  return sum;
}

function startEcho(options) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  const server = { wss, requests: [], closes: [] };
  wss.on('connection', (ws, req) => {
    server.requests.push({ url: req.url, origin: req.headers.origin, ua: req.headers['user-agent'] });
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'please close') ws.close(4000, 'done here');
      else ws.send(data, { binary: isBinary });
    });
    ws.on('close', (code, reason) => server.closes.push({ code, reason: reason.toString() }));
  });
  return once(wss, 'listening').then(() => server);
}

describe('headless Chromium', { skip: skipUnless(fs.existsSync(CHROMIUM), `no ${CHROMIUM} (apt-get install -y chromium)`) }, () => {
  let context;
  let page;
  let httpServer;
  let userDataDir;

  before(async () => {
    const { chromium } = require('playwright-core');
    httpServer = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    });
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvws-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        // The test CA is not in the browser's store.
        '--ignore-certificate-errors',
      ],
      timeout: 60000,
    });
    page = await context.newPage();
    await page.goto(`http://127.0.0.1:${httpServer.address().port}/`);
  });

  after(async () => {
    if (context) await context.close();
    if (httpServer) await new Promise((resolve) => httpServer.close(resolve));
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  // Chromium always offers permessage-deflate: with the server's compression
  // on (every message compressed), the same exchange runs compressed.
  for (const [scheme, deflate] of [['ws', false], ['wss', false], ['ws', true], ['wss', true]]) {
    const what = deflate ? ', compressed (permessage-deflate)' : '';
    it(`round trips over ${scheme}://${what} (text, binary, 1 MiB, subprotocol, close code and reason)`, async () => {
      const tls = scheme === 'wss' ? { cert: pki().cert, key: pki().key } : {};
      const server = await startEcho(deflate ? { ...tls, perMessageDeflate: { threshold: 0 } } : tls);
      const host = scheme === 'wss' ? 'localhost' : '127.0.0.1';
      try {
        const url = `${scheme}://${host}:${server.wss.address().port}/browser?x=1`;
        const seen = await page.evaluate((u) => window.roundTrip(u), url);
        assert.deepStrictEqual(seen.events, ['open', 'close']);
        assert.strictEqual(seen.protocol, 'chat.v1');
        if (deflate) assert.match(seen.extensions, /^permessage-deflate/);
        else assert.strictEqual(seen.extensions, '');
        const big = Buffer.alloc(1 << 20);
        for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
        assert.deepStrictEqual(seen.messages, [
          { text: 'hello from the browser ✓' },
          { binary: 4, sum: checksum([1, 2, 3, 250]), head: [1, 2, 3, 250] },
          { binary: 1 << 20, sum: checksum(big), head: [0, 1, 2, 3] },
        ]);
        assert.deepStrictEqual(seen.close, { code: 4000, reason: 'done here', wasClean: true });
        assert.strictEqual(server.requests.length, 1);
        assert.strictEqual(server.requests[0].url, '/browser?x=1');
        assert.strictEqual(server.requests[0].origin, `http://127.0.0.1:${httpServer.address().port}`);
        assert.match(server.requests[0].ua, /Chrome/);
        const end = Date.now() + 5000;
        while (server.closes.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
        // The browser answers with the same code (and, as Chromium does, reason).
        assert.strictEqual(server.closes.length, 1);
        assert.strictEqual(server.closes[0].code, 4000);
      } finally {
        await new Promise((resolve) => server.wss.close(resolve));
      }
    });
  }
});

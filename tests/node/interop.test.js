'use strict';

// Interop both ways against npm's ws: a uvws server with a ws client, a ws
// server with a uvws client (and uvws with itself): text, binary, fragments,
// 16 MiB messages, ping/pong, every close path, backpressure, and wss://.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const https = require('https');
const crypto = require('crypto');
const { impls, once, delay, until, pki, skipUnless } = require('./helpers');

const PAIRS = [
  ['uvws', 'ws'],
  ['ws', 'uvws'],
  ['uvws', 'uvws'],
];

// A server of implementation `S` (plain, or TLS with the test PKI).
async function startServer(S, options = {}, tls = false) {
  if (tls && S === impls.ws()) {
    const { cert, key } = pki();
    const server = https.createServer({ cert, key });
    const wss = new S.WebSocketServer({ server, ...options });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { wss, port: server.address().port, close: () => closeAll(wss, server) };
  }
  const extra = tls ? { cert: pki().cert, key: pki().key } : {};
  const wss = new S.WebSocketServer({ port: 0, host: '127.0.0.1', ...options, ...extra });
  await once(wss, 'listening');
  return { wss, port: wss.address().port, close: () => closeAll(wss) };
}

function closeAll(wss, httpServer) {
  for (const c of wss.clients) c.terminate();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 3000);
    wss.close(() => {
      if (!httpServer) {
        clearTimeout(timer);
        resolve();
        return;
      }
      httpServer.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  });
}

// Connect a client of `C`; resolves with [clientWs, serverWs] once both are open.
async function pair(srv, C, path = '/', options = {}, scheme = 'ws') {
  const conn = once(srv.wss, 'connection');
  const ws = new C.WebSocket(`${scheme}://127.0.0.1:${srv.port}${path}`, options);
  const [[sws]] = await Promise.all([conn, once(ws, 'open')]);
  sws.on('error', () => {});
  return [ws, sws];
}

function sha(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

for (const [sName, cName] of PAIRS) {
  const S = impls[sName]();
  const C = impls[cName]();

  describe(`${sName} server <-> ${cName} client`, () => {
    let srv;
    before(async () => {
      srv = await startServer(S, { maxPayload: 32 * 1024 * 1024 });
    });
    after(() => srv.close());

    it('text and binary messages both ways', async () => {
      const [ws, sws] = await pair(srv, C);
      ws.send('hello from the client ✓');
      let [d, b] = await once(sws, 'message');
      assert.strictEqual(d.toString(), 'hello from the client ✓');
      assert.strictEqual(b, false);
      ws.send(Buffer.from([1, 2, 3, 0, 255]));
      [d, b] = await once(sws, 'message');
      assert.deepStrictEqual([...d], [1, 2, 3, 0, 255]);
      assert.strictEqual(b, true);
      sws.send('hello from the server');
      [d, b] = await once(ws, 'message');
      assert.strictEqual(d.toString(), 'hello from the server');
      assert.strictEqual(b, false);
      sws.send(Buffer.alloc(70000, 7));
      [d, b] = await once(ws, 'message');
      assert.strictEqual(d.length, 70000);
      assert.ok(d.every((x) => x === 7));
      assert.strictEqual(b, true);
      // Many small messages keep their order.
      const got = [];
      sws.on('message', (m) => got.push(m.toString()));
      for (let i = 0; i < 1000; i++) ws.send(`m${i}`);
      await until(() => got.length === 1000, 5000, '1000 messages');
      assert.deepStrictEqual(got, Array.from({ length: 1000 }, (_, i) => `m${i}`));
      ws.close();
      await once(ws, 'close');
    });

    it('fragmented messages both ways', async () => {
      const [ws, sws] = await pair(srv, C);
      ws.send('frag', { fin: false });
      ws.send('ment', { fin: false });
      ws.send('ed');
      let [d, b] = await once(sws, 'message');
      assert.strictEqual(d.toString(), 'fragmented');
      assert.strictEqual(b, false);
      sws.send(Buffer.from([1]), { binary: true, fin: false });
      sws.send(Buffer.alloc(100000, 2), { binary: true, fin: false });
      sws.send(Buffer.from([3]), { binary: true, fin: true });
      [d, b] = await once(ws, 'message');
      assert.strictEqual(b, true);
      assert.strictEqual(d.length, 100002);
      assert.strictEqual(d[0], 1);
      assert.strictEqual(d[100001], 3);
      ws.close();
      await once(ws, 'close');
    });

    it('16 MiB messages both ways', async () => {
      const [ws, sws] = await pair(srv, C);
      const big = crypto.randomBytes(16 * 1024 * 1024);
      const want = sha(big);
      ws.send(big);
      let [d, b] = await once(sws, 'message', 20000);
      assert.strictEqual(d.length, big.length);
      assert.strictEqual(b, true);
      assert.strictEqual(sha(d), want);
      sws.send(d);
      [d, b] = await once(ws, 'message', 20000);
      assert.strictEqual(sha(d), want);
      const text = 'é'.repeat(8 * 1024 * 1024); // 16 MiB of UTF-8
      sws.send(text);
      [d, b] = await once(ws, 'message', 20000);
      assert.strictEqual(b, false);
      assert.strictEqual(d.length, 16 * 1024 * 1024);
      assert.strictEqual(d.toString() === text, true);
      ws.close();
      await once(ws, 'close');
    });

    it('ping and pong with payloads both ways', async () => {
      const [ws, sws] = await pair(srv, C);
      const sping = once(sws, 'ping');
      const cpong = once(ws, 'pong');
      ws.ping(Buffer.from('client ping'));
      assert.strictEqual((await sping)[0].toString(), 'client ping');
      assert.strictEqual((await cpong)[0].toString(), 'client ping');
      const cping = once(ws, 'ping');
      const spong = once(sws, 'pong');
      sws.ping('x'.repeat(125));
      assert.strictEqual((await cping)[0].length, 125);
      assert.strictEqual((await spong)[0].length, 125);
      const empty = once(sws, 'pong');
      ws.pong();
      assert.strictEqual((await empty)[0].length, 0);
      ws.close();
      await once(ws, 'close');
    });

    it('close paths: client close(code, reason)', async () => {
      const [ws, sws] = await pair(srv, C);
      const sclose = once(sws, 'close');
      const cclose = once(ws, 'close');
      ws.close(4000, 'client says bye');
      const [scode, sreason] = await sclose;
      assert.strictEqual(scode, 4000);
      assert.strictEqual(sreason.toString(), 'client says bye');
      const [ccode] = await cclose;
      assert.strictEqual(ccode, 4000);
    });

    it('close paths: server close(code, reason)', async () => {
      const [ws, sws] = await pair(srv, C);
      const sclose = once(sws, 'close');
      const cclose = once(ws, 'close');
      sws.close(1001, 'server going away');
      const [ccode, creason] = await cclose;
      assert.strictEqual(ccode, 1001);
      assert.strictEqual(creason.toString(), 'server going away');
      const [scode] = await sclose;
      assert.strictEqual(scode, 1001);
    });

    it('close paths: close() without a code gives 1005 on both sides', async () => {
      const [ws, sws] = await pair(srv, C);
      const sclose = once(sws, 'close');
      const cclose = once(ws, 'close');
      sws.close();
      assert.strictEqual((await cclose)[0], 1005);
      assert.strictEqual((await sclose)[0], 1005);
    });

    it('close paths: terminate() on either side gives 1006 on the other', async () => {
      let [ws, sws] = await pair(srv, C);
      let sclose = once(sws, 'close');
      let cclose = once(ws, 'close');
      ws.terminate();
      assert.strictEqual((await sclose)[0], 1006);
      assert.strictEqual((await cclose)[0], 1006);
      [ws, sws] = await pair(srv, C);
      cclose = once(ws, 'close');
      sclose = once(sws, 'close');
      sws.terminate();
      assert.strictEqual((await cclose)[0], 1006);
      assert.strictEqual((await sclose)[0], 1006);
    });

    it('close paths: both sides close at once', async () => {
      const [ws, sws] = await pair(srv, C);
      const sclose = once(sws, 'close');
      const cclose = once(ws, 'close');
      ws.close(1000, 'a');
      sws.close(1000, 'b');
      const [[ccode], [scode]] = await Promise.all([cclose, sclose]);
      assert.strictEqual(ccode, 1000);
      assert.strictEqual(scode, 1000);
    });

    it('close paths: a message over the peer limit closes with 1009', async () => {
      const [ws] = await pair(srv, C, '/', { maxPayload: 1000 });
      const cerr = once(ws, 'error');
      const cclose = once(ws, 'close');
      for (const s of srv.wss.clients) s.send(Buffer.alloc(1001));
      const [err] = await cerr;
      assert.strictEqual(err.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      assert.ok([1006, 1009].includes((await cclose)[0]));
    });

    it('close paths: over the server limit, the client gets 1009', async () => {
      const small = await startServer(S, { maxPayload: 100 });
      const [ws] = await pair(small, C);
      const cclose = once(ws, 'close');
      ws.send(Buffer.alloc(101));
      const [code] = await cclose;
      assert.strictEqual(code, 1009);
      await small.close();
    });

    it('backpressure: bufferedAmount and send callbacks follow a paused peer', async () => {
      const [ws, sws] = await pair(srv, C);
      for (const [sender, receiver] of [
        [sws, ws],
        [ws, sws],
      ]) {
        receiver.pause();
        const chunk = Buffer.alloc(1024 * 1024, 3);
        let done = 0;
        let errors = 0;
        let received = 0;
        receiver.on('message', (d) => {
          received += d.length;
        });
        // 12 MiB: under uvws's default maxBackpressure (16 MiB), over which a
        // send is refused (tests/node/hostile.test.js).
        for (let i = 0; i < 12; i++) {
          sender.send(chunk, (err) => {
            if (err) errors++;
            done++;
          });
        }
        assert.ok(sender.bufferedAmount > 0, 'bytes are buffered');
        await delay(100);
        assert.ok(done < 12, `callbacks wait for the kernel (done ${done})`);
        assert.ok(sender.bufferedAmount > 0);
        receiver.resume();
        await until(() => done === 12 && received === 12 * chunk.length, 15000, 'every callback and byte');
        assert.strictEqual(errors, 0);
        assert.strictEqual(sender.bufferedAmount, 0);
        receiver.removeAllListeners('message');
      }
      ws.close();
      await once(ws, 'close');
    });

    it('subprotocol negotiation', async () => {
      const [ws, sws] = await pair(srv, C, '/', ['v2.proto', 'v1.proto']);
      assert.strictEqual(ws.protocol, 'v2.proto');
      assert.strictEqual(sws.protocol, 'v2.proto');
      ws.close();
      await once(ws, 'close');
    });
  });

  const noDeflate = skipUnless((sName !== 'uvws' && cName !== 'uvws') || impls.uvws().engineFeatures.permessageDeflate,
    'engine without permessage-deflate');
  describe(`${sName} server <-> ${cName} client with permessage-deflate`, { skip: noDeflate }, () => {
    for (const [label, opts] of [
      ['context takeover', {}],
      ['no context takeover, 10-bit windows', { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10 }],
    ]) {
      it(`compressed messages both ways (${label})`, async () => {
        const srv = await startServer(S, { perMessageDeflate: { threshold: 0, ...opts } });
        try {
          const [ws, sws] = await pair(srv, C);
          assert.strictEqual(ws.extensions, 'permessage-deflate');
          assert.strictEqual(sws.extensions, 'permessage-deflate');
          const text = 'a rather compressible line of text\n'.repeat(50000);
          ws.send(text);
          let [d, b] = await once(sws, 'message', 20000);
          assert.strictEqual(b, false);
          assert.strictEqual(d.toString(), text);
          const bin = crypto.randomBytes(300000);
          sws.send(bin);
          [d, b] = await once(ws, 'message', 20000);
          assert.strictEqual(b, true);
          assert.strictEqual(sha(d), sha(bin));
          const got = [];
          sws.on('message', (m) => got.push(m.toString()));
          for (let i = 0; i < 500; i++) ws.send(`message number ${i} `.repeat(1 + (i % 7)));
          await until(() => got.length === 500, 10000, '500 messages');
          for (let i = 0; i < 500; i++) assert.strictEqual(got[i], `message number ${i} `.repeat(1 + (i % 7)));
          ws.close(1000, 'done');
          assert.strictEqual((await once(ws, 'close'))[0], 1000);
        } finally {
          await srv.close();
        }
      });
    }
  });

  describe(`${sName} server <-> ${cName} client over wss://`, () => {
    let srv;
    before(async () => {
      srv = await startServer(S, {}, true);
      srv.wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
    });
    after(() => srv.close());

    it('echoes text, binary and 4 MiB over TLS, verifying the certificate', async () => {
      const { ca } = pki();
      const ws = new C.WebSocket(`wss://localhost:${srv.port}/`, { ca });
      await once(ws, 'open');
      ws.send('secure hello');
      let [d, b] = await once(ws, 'message');
      assert.strictEqual(d.toString(), 'secure hello');
      assert.strictEqual(b, false);
      const big = crypto.randomBytes(4 * 1024 * 1024);
      ws.send(big);
      [d, b] = await once(ws, 'message', 20000);
      assert.strictEqual(b, true);
      assert.strictEqual(sha(d), sha(big));
      const closed = once(ws, 'close');
      ws.close(1000, 'tls bye');
      assert.strictEqual((await closed)[0], 1000);
    });

    it('refuses a certificate it cannot verify; rejectUnauthorized: false accepts it', async () => {
      const ws = new C.WebSocket(`wss://localhost:${srv.port}/`);
      const closed = once(ws, 'close');
      const [err] = await once(ws, 'error');
      assert.match(err.message, /certificate|issuer/i);
      assert.strictEqual((await closed)[0], 1006);
      const ok = new C.WebSocket(`wss://localhost:${srv.port}/`, { rejectUnauthorized: false });
      await once(ok, 'open');
      ok.close();
      await once(ok, 'close');
    });
  });
}

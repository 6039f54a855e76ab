'use strict';

// Hostile peers and safe defaults in the Node package: the default send
// limit, header injection through every API that takes headers or
// subprotocols, and the server's counters.

const { describe, it } = require('node:test');
const assert = require('node:assert');
const net = require('net');
const path = require('path');
const { spawnSync } = require('child_process');
const WebSocket = require('uvws');

const { once, until, listen, closeServer } = require('./helpers');

const MiB = 1024 * 1024;

describe('default send limit (maxBackpressure)', () => {
  it('two clients that never read: bufferedAmount stays at 16 MiB + one message, nothing lost silently', () => {
    // In a child with --expose-gc, so that RSS is measured after a full GC.
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'fixtures', 'never_read.js'), '64'], {
      encoding: 'utf8',
      timeout: 60000,
    });
    assert.strictEqual(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    // With callbacks: the sends over the limit report ERR_UVWS_BACKPRESSURE
    // and the connection stays open.
    assert.ok(out.aErrors.length > 0, `no send was refused: ${r.stdout}`);
    assert.ok(out.aErrors.every((c) => c === 'ERR_UVWS_BACKPRESSURE'), r.stdout);
    assert.ok(out.aMaxBuffered <= 17 * MiB, `bufferedAmount reached ${out.aMaxBuffered}`);
    assert.strictEqual(out.aState, WebSocket.OPEN);
    // Without callbacks: the connection is closed with 1008 after an
    // ERR_UVWS_BACKPRESSURE error, before the queue passes the limit.
    assert.strictEqual(out.bError, 'ERR_UVWS_BACKPRESSURE', r.stdout);
    assert.strictEqual(out.bCloseCode, 1008, r.stdout);
    assert.ok(out.bSent < 64 && out.bMaxBuffered <= 17 * MiB, r.stdout);
    // 128 MiB were offered to the two connections; at most 2 x 17 MiB may
    // be held.
    assert.ok(out.rssGrowthMiB < 64, `RSS grew by ${out.rssGrowthMiB} MiB`);
  });

  it('maxBackpressure: 0 keeps ws behaviour (no limit); invalid values throw', async () => {
    assert.throws(() => new WebSocket.WebSocketServer({ port: 0, maxBackpressure: -1 }), RangeError);
    assert.throws(() => new WebSocket('ws://127.0.0.1:1/', { maxBackpressure: 'x' }), RangeError);
    const wss = await listen(WebSocket, { maxBackpressure: 0 });
    const conn = once(wss, 'connection');
    const sock = net.connect(wss.address().port, '127.0.0.1');
    sock.on('error', () => {});
    sock.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const [ws] = await conn;
    sock.pause();
    const errors = [];
    for (let i = 0; i < 24; i++) ws.send('x'.repeat(MiB), (err) => err && errors.push(err));
    await new Promise((r) => setImmediate(r));
    assert.deepStrictEqual(errors, []);
    assert.ok(ws.bufferedAmount > 17 * MiB, `bufferedAmount ${ws.bufferedAmount}`);
    sock.destroy();
    await closeServer(wss);
  });
});

// A raw TCP peer: sends `request`, returns every byte the server sent until
// it closed the connection.
function rawExchange(port, request) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    const chunks = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close; got ${Buffer.concat(chunks).toString('latin1')}`));
    }, 10000);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

const UPGRADE =
  'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

// A TCP listener that records the request heads it receives.
async function recorder() {
  const heads = [];
  const srv = net.createServer((s) => {
    let d = '';
    s.on('data', (x) => {
      d += x.toString('latin1');
      if (d.includes('\r\n\r\n')) {
        heads.push(d);
        s.destroy();
      }
    });
    s.on('error', () => {});
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { srv, heads, url: `ws://127.0.0.1:${srv.address().port}/` };
}

describe('header injection is refused before anything reaches the wire', () => {
  for (const [what, line, code] of [
    ['CR/LF in a value', 'X-A: a\r\nInjected: 1', 'ERR_INVALID_CHAR'],
    ['NUL in a value', 'X-A: a\0Injected: 1', 'ERR_INVALID_CHAR'],
    ['a name that is not a token', 'X A\r\nInjected: 1', 'ERR_INVALID_HTTP_TOKEN'],
  ]) {
    it(`a 'headers' listener pushing ${what}: 500, server 'error' ${code}`, async () => {
      const wss = await listen(WebSocket);
      wss.on('headers', (headers) => headers.push(line));
      const errors = [];
      wss.on('error', (err) => errors.push(err));
      const opened = [];
      wss.on('connection', (ws) => opened.push(ws));
      const bytes = await rawExchange(wss.address().port, UPGRADE);
      assert.match(bytes, /^HTTP\/1\.1 500 /);
      assert.doesNotMatch(bytes, /Injected|X-A/i);
      assert.strictEqual(errors.length, 1);
      assert.ok(errors[0] instanceof TypeError);
      assert.strictEqual(errors[0].code, code);
      assert.strictEqual(opened.length, 0);
      assert.strictEqual(wss.stats().rejected_by_app, 1);
      await closeServer(wss);
    });
  }

  it("verifyClient's cb(false, 401, 'no', {'X-A': 'a\\r\\nInjected: 1'}): 500, server 'error'", async () => {
    const wss = await listen(WebSocket, {
      verifyClient: (info, cb) => setImmediate(() => cb(false, 401, 'no', { 'X-A': 'a\r\nInjected: 1' })),
    });
    const errors = [];
    wss.on('error', (err) => errors.push(err));
    const bytes = await rawExchange(wss.address().port, UPGRADE);
    assert.match(bytes, /^HTTP\/1\.1 500 /);
    assert.doesNotMatch(bytes, /Injected|X-A/i);
    assert.strictEqual(errors.length, 1);
    assert.strictEqual(errors[0].code, 'ERR_INVALID_CHAR');
    assert.match(errors[0].message, /X-A/);
    await closeServer(wss);
  });

  it('valid headers still go out (the same paths, no false positives)', async () => {
    const wss = await listen(WebSocket, {
      verifyClient: (info, cb) => cb(false, 401, 'no', { 'X-A': 'a\tb', 'WWW-Authenticate': 'Basic realm="x"' }),
    });
    const bytes = await rawExchange(wss.address().port, UPGRADE);
    assert.match(bytes, /^HTTP\/1\.1 401 /);
    assert.match(bytes, /\r\nX-A: a\tb\r\n/);
    assert.match(bytes, /\r\nWWW-Authenticate: Basic realm="x"\r\n/);
    await closeServer(wss);
  });

  it('client headers, origin and subprotocols: thrown by the constructor, nothing sent', async () => {
    const rec = await recorder();
    const cases = [
      [{ headers: { 'X-A': 'a\r\nInjected: 1' } }, TypeError, 'ERR_INVALID_CHAR'],
      [{ headers: { 'X-A': 'a\nInjected: 1' } }, TypeError, 'ERR_INVALID_CHAR'],
      [{ headers: { 'X-A': 'a\0b' } }, TypeError, 'ERR_INVALID_CHAR'],
      [{ headers: { 'X A': '1' } }, TypeError, 'ERR_INVALID_HTTP_TOKEN'],
      [{ headers: { 'X-A\r\nInjected': '1' } }, TypeError, 'ERR_INVALID_HTTP_TOKEN'],
      [{ origin: 'http://x\r\nInjected: 1' }, TypeError, 'ERR_INVALID_CHAR'],
    ];
    for (const [options, Ctor, code] of cases) {
      assert.throws(
        () => new WebSocket(rec.url, options),
        (err) => err instanceof Ctor && err.code === code,
        JSON.stringify(options),
      );
    }
    for (const protocols of [['a\x01b'], ['a;b'], ['X A'], ['a', 'a'], ['ok', 'b\r\nInjected: 1']]) {
      assert.throws(() => new WebSocket(rec.url, protocols), SyntaxError, JSON.stringify(protocols));
    }
    // The listener saw nothing of those; a valid client still reaches it.
    const ws = new WebSocket(rec.url, ['chat'], { headers: { 'X-A': 'a' } });
    ws.on('error', () => {});
    const closed = once(ws, 'close');
    await until(() => rec.heads.length === 1, 5000, 'the valid request');
    assert.match(rec.heads[0], /\r\nX-A: a\r\n/);
    assert.doesNotMatch(rec.heads.join(''), /Injected/);
    await closed;
    rec.srv.close();
  });
});

describe('wss.stats()', () => {
  it('has every counter of WebSocketServer.statsFields, and they move', async () => {
    const wss = await listen(WebSocket, {
      verifyClient: (info) => info.req.headers['x-deny'] === undefined,
    });
    const names = Object.keys(WebSocket.WebSocketServer.statsFields);
    assert.ok(names.includes('messages_in') && names.includes('pongs_coalesced'));
    // index.d.ts's ServerStats lists the same names (it cannot be generated).
    const dts = require('fs').readFileSync(path.join(__dirname, '..', '..', 'node', 'index.d.ts'), 'utf8');
    const iface = dts.match(/interface ServerStats \{([^}]*)\}/)[1];
    assert.deepStrictEqual([...iface.matchAll(/^\s*(\w+): number;/gm)].map((m) => m[1]), names);
    const zero = wss.stats();
    assert.deepStrictEqual(Object.keys(zero), names);
    for (const n of names) assert.strictEqual(zero[n], 0, n);

    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    const url = `ws://127.0.0.1:${wss.address().port}/`;
    const ws = new WebSocket(url);
    await once(ws, 'open');
    const got = [];
    ws.on('message', (d) => got.push(d.toString()));
    ws.send('one');
    ws.send('three');
    ws.ping('p');
    await once(ws, 'pong');
    await until(() => got.length === 2, 5000, 'the echoes');
    let st = wss.stats();
    assert.strictEqual(st.connections_open, 1);
    assert.strictEqual(st.connections_total, 1);
    assert.strictEqual(st.messages_in, 2);
    assert.strictEqual(st.bytes_in, 8);
    assert.strictEqual(st.messages_out, 2);
    assert.strictEqual(st.bytes_out, 8);
    assert.strictEqual(st.pings_in, 1);
    assert.strictEqual(st.pongs_out, 1);
    ws.close(1000);
    await once(ws, 'close');
    await until(() => wss.stats().connections_open === 0, 5000, 'the server side close');

    // Rejections: by verifyClient, and a request that is not an upgrade.
    const denied = new WebSocket(url, { headers: { 'X-Deny': '1' } });
    denied.on('error', () => {});
    await once(denied, 'close');
    const bad = await rawExchange(wss.address().port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 4\d\d /);
    st = wss.stats();
    assert.strictEqual(st.closes_normal, 1);
    assert.strictEqual(st.rejected_by_app, 1);
    assert.strictEqual(st.rejected_bad_request, 1);
    assert.strictEqual(st.connections_total, 1);
    await closeServer(wss);
    // After close: the final values.
    assert.strictEqual(wss.stats().messages_in, 2);
    assert.strictEqual(wss.stats().rejected_by_app, 1);
  });

  it('noServer: the counters of the private engine server are kept when it ends', async () => {
    const http = require('http');
    const wss = new WebSocket.WebSocketServer({ noServer: true });
    const srv = http.createServer();
    srv.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (d) => ws.send(d))));
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const url = `ws://127.0.0.1:${srv.address().port}/`;
    for (let i = 0; i < 2; i++) {
      // Each round: a connection, one echo, close; the private server ends
      // with its last connection.
      const ws = new WebSocket(url);
      await once(ws, 'open');
      ws.send('hi');
      await once(ws, 'message');
      ws.close(1000);
      await once(ws, 'close');
      await until(() => wss._hidden === null, 5000, 'the private server to end');
      await until(() => wss.stats().connections_total === i + 1, 5000, 'the kept counters');
    }
    const st = wss.stats();
    assert.strictEqual(st.messages_in, 2);
    assert.strictEqual(st.messages_out, 2);
    assert.strictEqual(st.connections_open, 0);
    srv.close();
    wss.close();
  });
});

describe('maxPendingHandshakes', () => {
  it('reaches the engine: beyond it a new connection gets 503 at once', async () => {
    const wss = await listen(WebSocket, { maxPendingHandshakes: 1 });
    const silent = net.connect(wss.address().port, '127.0.0.1');
    silent.on('error', () => {});
    await until(() => wss.stats().handshakes_pending === 1, 5000, 'the silent handshake');
    const bytes = await rawExchange(wss.address().port, UPGRADE);
    assert.match(bytes, /^HTTP\/1\.1 503 /);
    assert.strictEqual(wss.stats().rejected_busy, 1);
    silent.destroy();
    await closeServer(wss);
  });
});

describe('ws-safe defaults', () => {
  it('answers a malformed permessage-deflate offer with 400, as ws does', async () => {
    const wss = await listen(WebSocket, { perMessageDeflate: true });
    const port = wss.address().port;
    for (const offer of ['permessage-deflate; server_max_window_bits=foo', 'permessage-deflate; foo',
                         'permessage-deflate;;']) {
      const req = UPGRADE.replace('\r\n\r\n', `\r\nSec-WebSocket-Extensions: ${offer}\r\n\r\n`);
      const bytes = await rawExchange(port, req);
      assert.match(bytes, /^HTTP\/1\.1 400 /, offer);
      assert.match(bytes, /Invalid Sec-WebSocket-Extensions header/);
    }
    assert.strictEqual(wss.stats().rejected_bad_request, 3);
    await closeServer(wss);
  });

  it('closes a message of more than 16,384 fragments with 1009', async () => {
    const wss = await listen(WebSocket, {});
    const got = [];
    const errors = [];
    wss.on('connection', (ws) => {
      ws.on('message', (m) => got.push(m.length));
      ws.on('error', (e) => errors.push(e));
    });
    const mask = Buffer.from([1, 2, 3, 4]);
    const frame = (fin, op) => Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | op, 0x80]), mask]);
    const parts = [Buffer.from(UPGRADE), frame(false, 0x2)];
    for (let i = 1; i < 16385; i++) parts.push(frame(i === 16384, 0x0));
    const bytes = await rawExchange(wss.address().port, Buffer.concat(parts));
    const at = bytes.indexOf('\r\n\r\n') + 4;
    // the server's close frame: 0x88, length, code 1009 (0x03f1)
    assert.strictEqual(bytes.charCodeAt(at), 0x88);
    assert.strictEqual((bytes.charCodeAt(at + 2) << 8) | bytes.charCodeAt(at + 3), 1009);
    assert.deepStrictEqual(got, []);
    await until(() => errors.length === 1, 5000, "the connection's error event");
    assert.ok(errors[0] instanceof RangeError, String(errors[0]));
    // counted when the server's side of the connection is gone
    await until(() => wss.stats().errors_too_big === 1, 5000, 'the 1009 counted');
    await closeServer(wss);
  });
});

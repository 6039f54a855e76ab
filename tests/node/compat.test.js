'use strict';

// Drop-in compatibility, measured: the behaviour ws's documentation (ws.md,
// README) promises for the API uvws implements, as tests that run unchanged
// against npm's ws and against uvws. Each implementation talks to itself here;
// interop.test.js mixes them. COMPAT_IMPL=ws (or uvws) runs one only.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const http = require('http');
const net = require('net');
const crypto = require('crypto');
const { impls, once, delay, until, listen, closeServer, skipUnless } = require('./helpers');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// A TCP server that answers the WebSocket handshake itself and then lets the
// test write raw frames.
function rawServer(onUpgraded) {
  const server = net.createServer((socket) => {
    let buf = '';
    socket.on('data', function onData(d) {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.removeListener('data', onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(buf)[1];
      const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      onUpgraded(socket);
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// An unmasked server frame.
function frame(opcode, payload, fin = true) {
  const p = Buffer.from(payload);
  assert(p.length < 126);
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, p.length]), p]);
}

// Parse the first frame of a buffer (client frames are masked).
function parseFrame(b) {
  const opcode = b[0] & 0x0f;
  let len = b[1] & 0x7f;
  let off = 2;
  if (len === 126) {
    len = b.readUInt16BE(2);
    off = 4;
  }
  const masked = (b[1] & 0x80) !== 0;
  let payload;
  if (masked) {
    const mask = b.subarray(off, off + 4);
    payload = Buffer.from(b.subarray(off + 4, off + 4 + len));
    for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
  } else {
    payload = b.subarray(off, off + len);
  }
  return { opcode, payload };
}

const names = process.env.COMPAT_IMPL ? [process.env.COMPAT_IMPL] : Object.keys(impls);

for (const name of names) {
  const WS = impls[name]();
  const { WebSocket, WebSocketServer } = WS;

  describe(`${name}: module shape`, () => {
    it('require() returns the WebSocket class with the other exports as properties', () => {
      assert.strictEqual(typeof WS, 'function');
      assert.strictEqual(WS.WebSocket, WS);
      assert.strictEqual(WS.WebSocketServer, WS.Server);
      assert.strictEqual(typeof WS.createWebSocketStream, 'function');
    });

    it('has the readyState constants on the class and on instances', async () => {
      assert.deepStrictEqual(
        [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED],
        [0, 1, 2, 3],
      );
      const wss = await listen(WS);
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
      assert.strictEqual(ws.CONNECTING, 0);
      assert.strictEqual(ws.OPEN, 1);
      assert.strictEqual(ws.CLOSING, 2);
      assert.strictEqual(ws.CLOSED, 3);
      await once(ws, 'open');
      ws.close();
      await once(ws, 'close');
      await closeServer(wss);
    });
  });

  describe(`${name}: WebSocketServer`, () => {
    it('throws a TypeError unless exactly one of port, server, noServer is given', () => {
      assert.throws(() => new WebSocketServer({}), TypeError);
      assert.throws(() => new WebSocketServer({ port: 0, noServer: true }), TypeError);
      assert.throws(() => new WebSocketServer({ noServer: true, server: http.createServer() }), TypeError);
    });

    it("emits 'listening', calls the callback, and address() gives the port", async () => {
      let called = false;
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {
        called = true;
      });
      await once(wss, 'listening');
      assert.ok(called);
      const addr = wss.address();
      assert.strictEqual(addr.address, '127.0.0.1');
      assert.strictEqual(addr.family, 'IPv4');
      assert.ok(addr.port > 0);
      await closeServer(wss);
    });

    it("emits 'error' when the port is taken", async () => {
      const a = await listen(WS);
      const b = new WebSocketServer({ port: a.address().port, host: '127.0.0.1' });
      const [err] = await once(b, 'error');
      assert.strictEqual(err.code, 'EADDRINUSE');
      await closeServer(a);
    });

    it("emits 'connection' with the WebSocket and the request (url, headers, socket.remoteAddress)", async () => {
      const wss = await listen(WS);
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}/chat?room=1`, {
        headers: { 'X-Custom': 'yes' },
      });
      const [sws, req] = await conn;
      assert.ok(sws instanceof WebSocket);
      assert.strictEqual(sws.readyState, WebSocket.OPEN);
      assert.strictEqual(req.url, '/chat?room=1');
      assert.strictEqual(req.headers['x-custom'], 'yes');
      assert.strictEqual(req.headers.upgrade.toLowerCase(), 'websocket');
      assert.match(req.socket.remoteAddress, /127\.0\.0\.1/);
      await once(ws, 'open');
      ws.close();
      await once(ws, 'close');
      await closeServer(wss);
    });

    it('the path option accepts only that path (others get 400)', async () => {
      const wss = await listen(WS, { path: '/only' });
      const port = wss.address().port;
      const ok = new WebSocket(`ws://127.0.0.1:${port}/only?x=1`);
      await once(ok, 'open');
      const bad = new WebSocket(`ws://127.0.0.1:${port}/other`);
      const badClosed = once(bad, 'close');
      const [err] = await once(bad, 'error');
      assert.strictEqual(err.message, 'Unexpected server response: 400');
      await badClosed;
      ok.close();
      await once(ok, 'close');
      await closeServer(wss);
    });

    it('verifyClient(info) returning false rejects with 401', async () => {
      let seen = null;
      const wss = await listen(WS, {
        verifyClient: (info) => {
          seen = info;
          return info.req.headers['x-token'] === 'good';
        },
      });
      const port = wss.address().port;
      const bad = new WebSocket(`ws://127.0.0.1:${port}`, { origin: 'http://example.test' });
      bad.on('close', () => {});
      const [err] = await once(bad, 'error');
      assert.strictEqual(err.message, 'Unexpected server response: 401');
      assert.strictEqual(seen.origin, 'http://example.test');
      assert.strictEqual(seen.secure, false);
      assert.strictEqual(typeof seen.req.headers, 'object');
      const good = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { 'X-Token': 'good' } });
      await once(good, 'open');
      good.close();
      await once(good, 'close');
      await closeServer(wss);
    });

    it('verifyClient(info, cb) may decide later, with a status, message and headers', async () => {
      const wss = await listen(WS, {
        verifyClient: (info, cb) => {
          setTimeout(() => {
            if (info.req.url === '/yes') cb(true);
            else cb(false, 403, 'Go away', { 'X-Why': 'because' });
          }, 20);
        },
      });
      const port = wss.address().port;
      const bad = new WebSocket(`ws://127.0.0.1:${port}/no`);
      bad.on('error', () => {});
      const badClosed = once(bad, 'close');
      const [, res] = await once(bad, 'unexpected-response');
      assert.strictEqual(res.statusCode, 403);
      assert.strictEqual(res.headers['x-why'], 'because');
      res.resume();
      bad.terminate();
      await badClosed;
      const good = new WebSocket(`ws://127.0.0.1:${port}/yes`);
      await once(good, 'open');
      good.close();
      await once(good, 'close');
      await closeServer(wss);
    });

    it('selects the first offered subprotocol by default', async () => {
      const wss = await listen(WS);
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`, ['chat', 'superchat']);
      const [[sws]] = await Promise.all([once(wss, 'connection'), once(ws, 'open')]);
      assert.strictEqual(ws.protocol, 'chat');
      assert.strictEqual(sws.protocol, 'chat');
      ws.close();
      await once(ws, 'close');
      await closeServer(wss);
    });

    it('handleProtocols(protocols, req) picks the subprotocol', async () => {
      let offered = null;
      const wss = await listen(WS, {
        handleProtocols: (protocols, req) => {
          offered = protocols;
          assert.ok(req.headers);
          return protocols.has('b') ? 'b' : false;
        },
      });
      const port = wss.address().port;
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, ['a', 'b']);
      await once(ws, 'open');
      assert.ok(offered instanceof Set);
      assert.deepStrictEqual([...offered], ['a', 'b']);
      assert.strictEqual(ws.protocol, 'b');
      ws.close();
      await once(ws, 'close');
      // Returning false sends no subprotocol, which the client refuses.
      const ws2 = new WebSocket(`ws://127.0.0.1:${port}`, ['c']);
      const closed2 = once(ws2, 'close');
      const [err] = await once(ws2, 'error');
      assert.strictEqual(err.message, 'Server sent no subprotocol');
      await closed2;
      await closeServer(wss);
    });

    it("'headers' lets the server add response headers; the client sees them in 'upgrade'", async () => {
      const wss = await listen(WS);
      let reqSeen = null;
      wss.on('headers', (headers, req) => {
        assert.strictEqual(headers[0], 'HTTP/1.1 101 Switching Protocols');
        reqSeen = req;
        headers.push('Set-Cookie: a=1');
        headers.push('X-Server: test');
      });
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
      const opened = once(ws, 'open');
      const [res] = await once(ws, 'upgrade');
      assert.strictEqual(res.statusCode, 101);
      assert.strictEqual(res.headers['x-server'], 'test');
      assert.deepStrictEqual(res.headers['set-cookie'], ['a=1']);
      assert.ok(reqSeen && reqSeen.headers);
      await opened;
      ws.close();
      await once(ws, 'close');
      await closeServer(wss);
    });

    it('tracks clients in wss.clients (and not with clientTracking: false)', async () => {
      const wss = await listen(WS);
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
      const [[sws]] = await Promise.all([once(wss, 'connection'), once(ws, 'open')]);
      assert.ok(wss.clients instanceof Set);
      assert.ok(wss.clients.has(sws));
      ws.close();
      await once(sws, 'close');
      assert.strictEqual(wss.clients.size, 0);
      await closeServer(wss);
      const wss2 = await listen(WS, { clientTracking: false });
      assert.strictEqual(wss2.clients, undefined);
      await closeServer(wss2);
    });

    it('maxPayload: a bigger message fails the connection with 1009', async () => {
      const wss = await listen(WS, { maxPayload: 1024 });
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
      const [sws] = await once(wss, 'connection');
      await once(ws, 'open');
      const serr = once(sws, 'error');
      const cclose = once(ws, 'close');
      ws.send(Buffer.alloc(2048));
      const [err] = await serr;
      assert.ok(err instanceof RangeError);
      assert.strictEqual(err.message, 'Max payload size exceeded');
      assert.strictEqual(err.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      const [code] = await cclose;
      assert.strictEqual(code, 1009);
      await closeServer(wss);
    });

    it('close(cb) stops the server but leaves open connections alone; close follows when they end', async () => {
      const wss = await listen(WS);
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
      const [sws] = await once(wss, 'connection');
      await once(ws, 'open');
      sws.on('message', (d, b) => sws.send(d, { binary: b }));
      let closed = false;
      wss.close(() => {
        closed = true;
      });
      await delay(50);
      assert.strictEqual(closed, false);
      assert.strictEqual(ws.readyState, WebSocket.OPEN);
      ws.send('still here');
      const [msg] = await once(ws, 'message');
      assert.strictEqual(msg.toString(), 'still here');
      ws.close();
      await until(() => closed, 5000, "the server's close callback");
      // Closing again reports that it is not running.
      const [err] = await new Promise((resolve) => wss.close((...a) => resolve(a)));
      assert.strictEqual(err.message, 'The server is not running');
    });

    it('close(cb) with no connections calls back', async () => {
      const wss = await listen(WS);
      await new Promise((resolve) => wss.close(resolve));
      assert.strictEqual(wss.address(), null);
    });

    it('noServer: address() throws and handleUpgrade() works with an http.Server', async () => {
      const wss = new WebSocketServer({ noServer: true });
      assert.throws(() => wss.address(), /noServer/);
      const server = http.createServer((req, res) => res.end('plain http'));
      server.on('upgrade', (req, socket, head) => {
        if (req.url !== '/ws') {
          socket.destroy();
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws, request) => {
          assert.strictEqual(request, req);
          wss.emit('connection', ws, request);
        });
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = server.address().port;
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      const [sws] = await conn;
      sws.on('message', (d, b) => sws.send(d, { binary: b }));
      await once(ws, 'open');
      ws.send('via handleUpgrade');
      const [msg] = await once(ws, 'message');
      assert.strictEqual(msg.toString(), 'via handleUpgrade');
      assert.strictEqual(wss.clients.size, 1);
      const sclosed = once(sws, 'close');
      const cclosed = once(ws, 'close');
      ws.close(1000, 'done');
      const [code, reason] = await sclosed;
      assert.strictEqual(code, 1000);
      assert.strictEqual(reason.toString(), 'done');
      const [ccode] = await cclosed;
      assert.strictEqual(ccode, 1000);
      const body = await new Promise((resolve, reject) => {
        http.get(`http://127.0.0.1:${port}/`, (res) => {
          let s = '';
          res.on('data', (d) => (s += d));
          res.on('end', () => resolve(s));
        }).on('error', reject);
      });
      assert.strictEqual(body, 'plain http');
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => server.close(resolve));
    });

    it('server option: attaches to an http.Server', async () => {
      const server = http.createServer();
      const wss = new WebSocketServer({ server });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      assert.strictEqual(wss.address().port, server.address().port);
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/x`);
      const [sws, req] = await conn;
      assert.strictEqual(req.url, '/x');
      await once(ws, 'open');
      sws.send('hi');
      const [msg] = await once(ws, 'message');
      assert.strictEqual(msg.toString(), 'hi');
      ws.close();
      await once(ws, 'close');
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => server.close(resolve));
    });

    it('answers a plain HTTP request with 426', async () => {
      const wss = await listen(WS);
      const status = await new Promise((resolve, reject) => {
        http.get(`http://127.0.0.1:${wss.address().port}/`, (res) => {
          res.resume();
          resolve(res.statusCode);
        }).on('error', reject);
      });
      assert.strictEqual(status, 426);
      await closeServer(wss);
    });
  });

  describe(`${name}: WebSocket client`, () => {
    let wss;
    let port;
    before(async () => {
      wss = await listen(WS);
      port = wss.address().port;
      wss.on('connection', (ws, req) => {
        ws.on('error', () => {});
        if (req.url === '/echo') ws.on('message', (d, b) => ws.send(d, { binary: b }));
        if (req.url === '/headers') ws.send(JSON.stringify(req.headers));
      });
    });
    after(() => closeServer(wss));

    it('throws SyntaxError for invalid URLs, schemes, fragments and subprotocols', () => {
      assert.throws(() => new WebSocket('not a url'), SyntaxError);
      assert.throws(() => new WebSocket('ftp://127.0.0.1/'), SyntaxError);
      assert.throws(() => new WebSocket(`ws://127.0.0.1:${port}/#frag`), SyntaxError);
      assert.throws(() => new WebSocket(`ws://127.0.0.1:${port}/`, ['a b']), SyntaxError);
      assert.throws(() => new WebSocket(`ws://127.0.0.1:${port}/`, ['a', 'a']), SyntaxError);
    });

    it('accepts http:// URLs and URL objects; url gives the ws:// URL', async () => {
      const ws = new WebSocket(`http://127.0.0.1:${port}/echo`);
      assert.strictEqual(ws.url, `ws://127.0.0.1:${port}/echo`);
      await once(ws, 'open');
      ws.close();
      await once(ws, 'close');
      const ws2 = new WebSocket(new URL(`ws://127.0.0.1:${port}/echo`));
      await once(ws2, 'open');
      ws2.close();
      await once(ws2, 'close');
    });

    it('goes CONNECTING, OPEN, CLOSING, CLOSED', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
      assert.strictEqual(ws.readyState, WebSocket.CONNECTING);
      assert.throws(() => ws.send('early'), /WebSocket is not open: readyState 0 \(CONNECTING\)/);
      assert.throws(() => ws.ping(), /readyState 0/);
      await once(ws, 'open');
      assert.strictEqual(ws.readyState, WebSocket.OPEN);
      ws.close();
      assert.strictEqual(ws.readyState, WebSocket.CLOSING);
      await once(ws, 'close');
      assert.strictEqual(ws.readyState, WebSocket.CLOSED);
    });

    it('sends text and binary, message gives (data, isBinary) with Buffers', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
      await once(ws, 'open');
      ws.send('héllo');
      let [data, isBinary] = await once(ws, 'message');
      assert.ok(Buffer.isBuffer(data));
      assert.strictEqual(isBinary, false);
      assert.strictEqual(data.toString(), 'héllo');
      ws.send(Buffer.from([0, 1, 2, 255]));
      [data, isBinary] = await once(ws, 'message');
      assert.strictEqual(isBinary, true);
      assert.deepStrictEqual([...data], [0, 1, 2, 255]);
      ws.send(new Uint16Array([1, 2]));
      [data] = await once(ws, 'message');
      assert.strictEqual(data.length, 4);
      ws.send(new ArrayBuffer(3));
      [data] = await once(ws, 'message');
      assert.strictEqual(data.length, 3);
      ws.send(42);
      [data, isBinary] = await once(ws, 'message');
      assert.strictEqual(data.toString(), '42');
      assert.strictEqual(isBinary, false);
      ws.send('as binary', { binary: true });
      [data, isBinary] = await once(ws, 'message');
      assert.strictEqual(isBinary, true);
      ws.send(Buffer.from('as text'), { binary: false });
      [data, isBinary] = await once(ws, 'message');
      assert.strictEqual(isBinary, false);
      ws.send('');
      [data, isBinary] = await once(ws, 'message');
      assert.strictEqual(data.length, 0);
      ws.close();
      await once(ws, 'close');
    });

    it('binaryType: nodebuffer, arraybuffer, fragments (invalid values are ignored)', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
      assert.strictEqual(ws.binaryType, 'nodebuffer');
      ws.binaryType = 'bogus';
      assert.strictEqual(ws.binaryType, 'nodebuffer');
      await once(ws, 'open');
      ws.binaryType = 'arraybuffer';
      ws.send(Buffer.from([7, 8, 9]));
      let [data] = await once(ws, 'message');
      assert.ok(data instanceof ArrayBuffer);
      assert.deepStrictEqual([...new Uint8Array(data)], [7, 8, 9]);
      ws.send('text stays a Buffer');
      [data] = await once(ws, 'message');
      assert.ok(Buffer.isBuffer(data));
      ws.binaryType = 'fragments';
      ws.send(Buffer.from([1]));
      [data] = await once(ws, 'message');
      assert.ok(Array.isArray(data));
      assert.deepStrictEqual([...Buffer.concat(data)], [1]);
      ws.close();
      await once(ws, 'close');
    });

    it('fragments: send(..., { fin: false }) continues one message', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
      await once(ws, 'open');
      ws.send('one ', { fin: false });
      ws.send('two ', { fin: false });
      ws.send('three');
      const [data, isBinary] = await once(ws, 'message');
      assert.strictEqual(data.toString(), 'one two three');
      assert.strictEqual(isBinary, false);
      ws.send(Buffer.from([1, 2]), { binary: true, fin: false });
      ws.send(Buffer.from([3]), { binary: true, fin: true });
      const [bin, isBin] = await once(ws, 'message');
      assert.deepStrictEqual([...bin], [1, 2, 3]);
      assert.strictEqual(isBin, true);
      ws.close();
      await once(ws, 'close');
    });

    it('send callback is called without error once written; after close with an error', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
      await once(ws, 'open');
      const err = await new Promise((resolve) => ws.send('x', (e) => resolve(e)));
      assert.ok(err === null || err === undefined);
      const err2 = await new Promise((resolve) => ws.send('y', { binary: true }, (e) => resolve(e)));
      assert.ok(err2 === null || err2 === undefined);
      ws.close();
      await once(ws, 'close');
      const before = ws.bufferedAmount;
      const err3 = await new Promise((resolve) => ws.send('after', (e) => resolve(e)));
      assert.ok(err3 instanceof Error);
      assert.match(err3.message, /WebSocket is not open: readyState 3 \(CLOSED\)/);
      assert.strictEqual(ws.bufferedAmount, before + 5);
    });

    it('ping and pong: the peer sees them, a ping is answered with a pong carrying its data', async () => {
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ctl`);
      const [sws] = await conn;
      await once(ws, 'open');
      const sping = once(sws, 'ping');
      const pong = once(ws, 'pong');
      ws.ping('are you there');
      const [pdata] = await sping;
      assert.strictEqual(pdata.toString(), 'are you there');
      const [pongData] = await pong;
      assert.strictEqual(pongData.toString(), 'are you there');
      const cping = once(ws, 'ping');
      const autoPong = once(sws, 'pong');
      sws.ping(Buffer.from([1, 2, 3]));
      assert.deepStrictEqual([...(await cping)[0]], [1, 2, 3]);
      assert.deepStrictEqual([...(await autoPong)[0]], [1, 2, 3]);
      const spong = once(sws, 'pong');
      ws.pong('unsolicited');
      assert.strictEqual((await spong)[0].toString(), 'unsolicited');
      const cbErr = await new Promise((resolve) => ws.ping(undefined, undefined, resolve));
      assert.ok(cbErr === null || cbErr === undefined);
      assert.throws(() => ws.ping(Buffer.alloc(126)), RangeError);
      ws.close();
      await once(ws, 'close');
    });

    it('close(code, reason): the peer gets them; invalid arguments throw', async () => {
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ctl`);
      const [sws] = await conn;
      await once(ws, 'open');
      assert.throws(() => ws.close(1005), TypeError);
      assert.throws(() => ws.close(999), TypeError);
      assert.throws(() => ws.close(1000, 'x'.repeat(124)), RangeError);
      const sclose = once(sws, 'close');
      // Either side may see its 'close' first: ws's client ends TCP first, uvws's
      // waits for the server to (RFC 6455 7.1.1).
      const cclose = once(ws, 'close');
      ws.close(4001, 'going');
      const [code, reason] = await sclose;
      assert.strictEqual(code, 4001);
      assert.ok(Buffer.isBuffer(reason));
      assert.strictEqual(reason.toString(), 'going');
      const [ccode] = await cclose;
      assert.strictEqual(ccode, 4001);
    });

    it('close() without a code: the peer sees 1005', async () => {
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ctl`);
      const [sws] = await conn;
      await once(ws, 'open');
      const sclose = once(sws, 'close');
      const cclose = once(ws, 'close');
      ws.close();
      const [code, reason] = await sclose;
      assert.strictEqual(code, 1005);
      assert.strictEqual(reason.length, 0);
      const [ccode] = await cclose;
      assert.strictEqual(ccode, 1005);
    });

    it('a server-side close reaches the client with code and reason', async () => {
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ctl`);
      const [sws] = await conn;
      await once(ws, 'open');
      const cclose = once(ws, 'close');
      sws.close(1001, 'bye');
      const [code, reason] = await cclose;
      assert.strictEqual(code, 1001);
      assert.strictEqual(reason.toString(), 'bye');
    });

    it('terminate(): both sides see 1006', async () => {
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ctl`);
      const [sws] = await conn;
      await once(ws, 'open');
      const sclose = once(sws, 'close');
      ws.terminate();
      assert.strictEqual(ws.readyState, WebSocket.CLOSING);
      const [ccode] = await once(ws, 'close');
      assert.strictEqual(ccode, 1006);
      const [scode] = await sclose;
      assert.strictEqual(scode, 1006);
    });

    it('close() or terminate() before open: error, then close with 1006', async () => {
      for (const method of ['close', 'terminate']) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ctl`);
        const events = [];
        ws.on('open', () => events.push('open'));
        ws.on('error', (e) => events.push(`error: ${e.message}`));
        const closed = once(ws, 'close');
        ws[method]();
        const [code] = await closed;
        assert.strictEqual(code, 1006);
        assert.deepStrictEqual(events, ['error: WebSocket was closed before the connection was established']);
        assert.strictEqual(ws.readyState, WebSocket.CLOSED);
      }
    });

    it('a refused connection: error (ECONNREFUSED), then close with 1006', async () => {
      const free = await new Promise((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const p = s.address().port;
          s.close(() => resolve(p));
        });
      });
      const ws = new WebSocket(`ws://127.0.0.1:${free}/`);
      const closed = once(ws, 'close');
      const [err] = await once(ws, 'error');
      assert.strictEqual(err.code, 'ECONNREFUSED');
      const [code] = await closed;
      assert.strictEqual(code, 1006);
    });

    it("'unexpected-response' gets (req, res) for a non-101 answer, without an error", async () => {
      const server = http.createServer((req, res) => {
        res.writeHead(401, { 'X-Reason': 'auth' });
        res.end('no');
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/`);
      const errors = [];
      ws.on('error', (e) => errors.push(e.message));
      const closed = once(ws, 'close');
      const [req, res] = await once(ws, 'unexpected-response');
      assert.ok(req);
      assert.strictEqual(res.statusCode, 401);
      assert.strictEqual(res.headers['x-reason'], 'auth');
      res.resume();
      assert.deepStrictEqual(errors, []);
      ws.terminate();
      await closed;
      // Without a listener it is an error.
      const ws2 = new WebSocket(`ws://127.0.0.1:${server.address().port}/`);
      const closed2 = once(ws2, 'close');
      const [err] = await once(ws2, 'error');
      assert.strictEqual(err.message, 'Unexpected server response: 401');
      await closed2;
      await new Promise((resolve) => server.close(resolve));
    });

    it('handshakeTimeout: a server that never answers', async () => {
      const sockets = [];
      const server = net.createServer((s) => sockets.push(s));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/`, { handshakeTimeout: 300 });
      const closed = once(ws, 'close', 3000);
      const [err] = await once(ws, 'error', 3000);
      assert.strictEqual(err.message, 'Opening handshake has timed out');
      await closed;
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    it('headers and origin options are sent', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/headers`, {
        headers: { 'X-A': '1', Cookie: 'k=v' },
        origin: 'https://origin.test',
      });
      const [data] = await once(ws, 'message');
      const h = JSON.parse(data.toString());
      assert.strictEqual(h['x-a'], '1');
      assert.strictEqual(h.cookie, 'k=v');
      assert.strictEqual(h.origin, 'https://origin.test');
      ws.close();
      await once(ws, 'close');
    });

    it('maxPayload on the client', async () => {
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ctl`, { maxPayload: 10 });
      const [sws] = await conn;
      await once(ws, 'open');
      const cerr = once(ws, 'error');
      const sclose = once(sws, 'close');
      sws.send('x'.repeat(11));
      const [err] = await cerr;
      assert.strictEqual(err.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      const [code] = await sclose;
      assert.strictEqual(code, 1009);
    });

    it('pause() holds messages back until resume()', async () => {
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ctl`);
      const [sws] = await conn;
      await once(ws, 'open');
      const got = [];
      ws.on('message', (d) => got.push(d.toString()));
      assert.strictEqual(ws.isPaused, false);
      ws.pause();
      assert.strictEqual(ws.isPaused, true);
      sws.send('a');
      sws.send('b');
      await delay(100);
      assert.deepStrictEqual(got, []);
      ws.resume();
      assert.strictEqual(ws.isPaused, false);
      await until(() => got.length === 2, 3000, 'messages after resume');
      assert.deepStrictEqual(got, ['a', 'b']);
      ws.close();
      await once(ws, 'close');
    });

    it('bufferedAmount grows while the peer does not read, and the send callback fires when it drains', async () => {
      const conn = once(wss, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ctl`);
      const [sws] = await conn;
      await once(ws, 'open');
      ws.pause();
      const chunk = Buffer.alloc(1024 * 1024, 1);
      let done = 0;
      let received = 0;
      for (let i = 0; i < 16; i++) sws.send(chunk, () => done++);
      assert.ok(sws.bufferedAmount > 0, 'something is buffered');
      ws.on('message', (d) => {
        received += d.length;
      });
      await delay(50);
      assert.ok(done < 16, 'not every callback fired while the peer is paused');
      ws.resume();
      await until(() => done === 16 && received === 16 * chunk.length, 10000, 'all callbacks');
      assert.strictEqual(sws.bufferedAmount, 0);
      ws.close();
      await once(ws, 'close');
    });

    it('extensions is empty without permessage-deflate', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ctl`, { perMessageDeflate: false });
      await once(ws, 'open');
      assert.strictEqual(ws.extensions, '');
      assert.strictEqual(ws.protocol, '');
      ws.close();
      await once(ws, 'close');
    });
  });

  describe(`${name}: browser-style API`, () => {
    let wss;
    let port;
    before(async () => {
      wss = await listen(WS);
      port = wss.address().port;
      wss.on('connection', (ws) => {
        ws.on('message', (d, b) => {
          if (d.toString() === 'close me') ws.close(4321, 'as asked');
          else ws.send(d, { binary: b });
        });
      });
    });
    after(() => closeServer(wss));

    it('onopen, onmessage (MessageEvent), onclose (CloseEvent)', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      assert.strictEqual(ws.onopen, null);
      const events = [];
      await new Promise((resolve) => {
        ws.onopen = (ev) => {
          events.push(ev.type);
          assert.strictEqual(ev.target, ws);
          ws.send('hello');
        };
        ws.onmessage = (ev) => {
          events.push(`${ev.type}:${ev.data}`);
          assert.strictEqual(typeof ev.data, 'string');
          ws.send('close me');
        };
        ws.onclose = (ev) => {
          events.push(`${ev.type}:${ev.code}:${ev.reason}:${ev.wasClean}`);
          resolve();
        };
      });
      assert.deepStrictEqual(events, ['open', 'message:hello', 'close:4321:as asked:true']);
      assert.strictEqual(typeof ws.onopen, 'function');
      ws.onopen = null;
      assert.strictEqual(ws.onopen, null);
      assert.strictEqual(ws.listenerCount('open'), 0);
    });

    it('addEventListener (once, handleEvent objects), removeEventListener', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      const got = [];
      const listener = (ev) => got.push(`l:${ev.data}`);
      ws.addEventListener('message', listener);
      ws.addEventListener('message', listener); // added once only
      ws.addEventListener('message', { handleEvent: (ev) => got.push(`h:${ev.data}`) }, { once: true });
      ws.binaryType = 'arraybuffer';
      await new Promise((resolve) => ws.addEventListener('open', resolve));
      ws.send('one');
      await until(() => got.length === 2, 3000, 'two listeners');
      ws.removeEventListener('message', listener);
      const bin = new Promise((resolve) => ws.addEventListener('message', (ev) => resolve(ev.data)));
      ws.send(Buffer.from([5]));
      const data = await bin;
      assert.ok(data instanceof ArrayBuffer);
      assert.deepStrictEqual(got, ['l:one', 'h:one']);
      const closeEv = new Promise((resolve) => ws.addEventListener('close', resolve));
      ws.close(1000);
      const ev = await closeEv;
      assert.strictEqual(ev.code, 1000);
    });

    it('onerror gets an ErrorEvent', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      const ev = await new Promise((resolve) => {
        ws.onerror = resolve;
        ws.close();
      });
      assert.strictEqual(ev.type, 'error');
      assert.ok(ev.error instanceof Error);
      assert.strictEqual(ev.message, 'WebSocket was closed before the connection was established');
    });
  });

  describe(`${name}: protocol violations by the peer`, () => {
    it('invalid UTF-8 in a text message: error WS_ERR_INVALID_UTF8, close 1007 sent, close event 1006', async () => {
      let peerGot = null;
      const server = await rawServer((socket) => {
        socket.on('data', (d) => {
          peerGot = parseFrame(d);
        });
        socket.write(frame(0x1, Buffer.from([0xc3, 0x28])));
      });
      const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/`);
      const closed = once(ws, 'close', 8000);
      const [err] = await once(ws, 'error');
      assert.strictEqual(err.code, 'WS_ERR_INVALID_UTF8');
      assert.strictEqual(err.message, 'Invalid WebSocket frame: invalid UTF-8 sequence');
      await until(() => peerGot !== null, 3000, 'the close frame');
      assert.strictEqual(peerGot.opcode, 0x8);
      assert.strictEqual(peerGot.payload.readUInt16BE(0), 1007);
      ws.terminate();
      const [code] = await closed;
      assert.strictEqual(code, 1006);
      server.close();
    });

    it('a masked frame from a server: error WS_ERR_UNEXPECTED_MASK, close 1002 sent', async () => {
      let peerGot = null;
      let sock = null;
      const server = await rawServer((socket) => {
        sock = socket;
        socket.on('data', (d) => {
          peerGot = parseFrame(d);
        });
        socket.write(Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x61 ^ 1]));
      });
      const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/`);
      const closed = once(ws, 'close', 8000);
      const [err] = await once(ws, 'error');
      assert.strictEqual(err.code, 'WS_ERR_UNEXPECTED_MASK');
      assert.ok(err instanceof RangeError);
      await until(() => peerGot !== null, 3000, 'the close frame');
      assert.strictEqual(peerGot.payload.readUInt16BE(0), 1002);
      sock.destroy();
      const [code] = await closed;
      assert.strictEqual(code, 1006);
      server.close();
    });

    it('a close frame with an invalid code: error WS_ERR_INVALID_CLOSE_CODE', async () => {
      let sock = null;
      const server = await rawServer((socket) => {
        sock = socket;
        const p = Buffer.alloc(2);
        p.writeUInt16BE(1005);
        socket.write(frame(0x8, p));
      });
      const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/`);
      const closed = once(ws, 'close', 8000);
      const [err] = await once(ws, 'error');
      assert.strictEqual(err.code, 'WS_ERR_INVALID_CLOSE_CODE');
      sock.destroy();
      await closed;
      server.close();
    });
  });

  const noDeflate = skipUnless(name !== 'uvws' || WS.engineFeatures.permessageDeflate, 'engine without permessage-deflate');
  describe(`${name}: permessage-deflate`, { skip: noDeflate }, () => {
    it('negotiated when the server enables it (clients offer it by default)', async () => {
      const wss = await listen(WS, { perMessageDeflate: { threshold: 0 } });
      wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
      const port = wss.address().port;
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      const [[sws]] = await Promise.all([once(wss, 'connection'), once(ws, 'open')]);
      assert.strictEqual(ws.extensions, 'permessage-deflate');
      assert.strictEqual(sws.extensions, 'permessage-deflate');
      const text = 'compress me '.repeat(20000);
      ws.send(text);
      let [d, b] = await once(ws, 'message');
      assert.strictEqual(d.toString(), text);
      assert.strictEqual(b, false);
      ws.send(Buffer.from([1, 2, 3]), { compress: false });
      [d, b] = await once(ws, 'message');
      assert.deepStrictEqual([...d], [1, 2, 3]);
      assert.strictEqual(b, true);
      for (let i = 0; i < 50; i++) ws.send(`small ${i}`);
      const got = [];
      ws.on('message', (m) => got.push(m.toString()));
      await until(() => got.length === 50, 5000, '50 messages');
      assert.strictEqual(got[49], 'small 49');
      ws.close();
      await once(ws, 'close');
      // A client that does not want it.
      const plain = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
      await once(plain, 'open');
      assert.strictEqual(plain.extensions, '');
      plain.close();
      await once(plain, 'close');
      await closeServer(wss);
    });

    it('not negotiated when the server does not enable it', async () => {
      const wss = await listen(WS);
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
      await once(ws, 'open');
      assert.strictEqual(ws.extensions, '');
      ws.close();
      await once(ws, 'close');
      await closeServer(wss);
    });
  });

  describe(`${name}: createWebSocketStream`, () => {
    it('wraps a WebSocket in a Duplex', async () => {
      const wss = await listen(WS);
      wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
      const duplex = WS.createWebSocketStream(ws);
      duplex.write('streamed');
      const [chunk] = await once(duplex, 'data');
      assert.strictEqual(chunk.toString(), 'streamed');
      duplex.end();
      duplex.resume();
      await once(ws, 'close');
      await closeServer(wss);
    });
  });
}

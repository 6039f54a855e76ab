'use strict';
// The Node client over a Unix domain socket (ws+unix:) and following
// redirects (followRedirects / maxRedirects), as ws spells them.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('uvws');
const { WebSocketServer } = WebSocket;
const { once } = require('./helpers');

function echoOn(server) {
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    ws.send(`path ${req.url}`);
    ws.on('message', (d, b) => ws.send(d, { binary: b }));
  });
  return wss;
}

describe('ws+unix:', () => {
  it('connects to a server listening on a Unix socket path', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvws-node-unix-'));
    const sock = path.join(dir, 's.sock');
    const server = http.createServer();
    const wss = echoOn(server);
    await new Promise((resolve) => server.listen(sock, resolve));
    const ws = new WebSocket(`ws+unix:${sock}:/chat?room=1`);
    const [first] = await once(ws, 'message');
    assert.strictEqual(first.toString(), 'path /chat?room=1');
    ws.send('hello');
    const [echo] = await once(ws, 'message');
    assert.strictEqual(echo.toString(), 'hello');
    const closed = once(ws, 'close');
    ws.close(1000);
    assert.strictEqual((await closed)[0], 1000);
    wss.close();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports a missing socket file as an error', async () => {
    const ws = new WebSocket(`ws+unix:${path.join(os.tmpdir(), 'uvws-no-such.sock')}:/`);
    const [err] = await once(ws, 'error');
    assert.match(err.message, /ENOENT|no such file/i);
    await once(ws, 'close');
  });
});

describe('followRedirects', () => {
  async function redirector(status, locationOf) {
    const server = http.createServer();
    server.on('upgrade', (req, socket) => {
      socket.end(`HTTP/1.1 ${status} Moved\r\nLocation: ${locationOf(req)}\r\nContent-Length: 0\r\n\r\n`);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  it('follows 301/302/307/308 to the final server, up to maxRedirects', async () => {
    const target = http.createServer();
    const wss = echoOn(target);
    await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));
    const tport = target.address().port;
    for (const status of [301, 302, 307, 308]) {
      const r = await redirector(status, () => `ws://127.0.0.1:${tport}/final`);
      const ws = new WebSocket(`ws://127.0.0.1:${r.address().port}/start`, { followRedirects: true });
      const [first] = await once(ws, 'message');
      assert.strictEqual(first.toString(), 'path /final');
      const closed = once(ws, 'close');
      ws.close();
      await closed;
      await new Promise((resolve) => r.close(resolve));
    }
    wss.close();
    await new Promise((resolve) => target.close(resolve));
  });

  it('is off by default (a 3xx is an unexpected response) and refuses more than maxRedirects', async () => {
    let hops = 0;
    const r = await redirector(302, (req) => {
      hops++;
      return `/again${hops}`;
    });
    const url = `ws://127.0.0.1:${r.address().port}/`;
    const off = new WebSocket(url);
    const [err] = await once(off, 'error');
    assert.match(err.message, /Unexpected server response: 302/);
    await once(off, 'close');
    hops = 0;
    const ws = new WebSocket(url, { followRedirects: true, maxRedirects: 2 });
    const [err2] = await once(ws, 'error');
    assert.match(err2.message, /too many redirects/);
    assert.strictEqual(hops, 3); // the first answer and two followed
    await once(ws, 'close');
    await new Promise((resolve) => r.close(resolve));
  });
});

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

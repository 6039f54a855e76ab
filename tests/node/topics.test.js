'use strict';

// Topics (publish/subscribe), with uWebSockets.js names: subscribe,
// unsubscribe, isSubscribed, getTopics, publish on WebSocket; publish and
// numSubscribers on WebSocketServer.

const { describe, it } = require('node:test');
const assert = require('node:assert');

const WebSocket = require('uvws');
const { ROOT, once, until, listen, closeServer } = require('./helpers');

// Connect and collect every message (decoded as text when the frame was).
async function client(port, path) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  ws.got = [];
  ws.on('message', (data, isBinary) => ws.got.push(isBinary ? Buffer.from(data) : data.toString()));
  await once(ws, 'open');
  return ws;
}

describe('topics', () => {
  it('subscribe, publish with wildcards, the sender skipped, close unsubscribes', async () => {
    const wss = await listen(WebSocket);
    const server = {};
    wss.on('connection', (ws, req) => {
      server[req.url.slice(1)] = ws;
    });
    const a = await client(wss.address().port, '/a');
    const b = await client(wss.address().port, '/b');
    const c = await client(wss.address().port, '/c');
    await until(() => server.a && server.b && server.c);
    const { a: sa, b: sb, c: sc } = server;
    assert.strictEqual(sa.subscribe('room/1'), true);
    assert.strictEqual(sa.subscribe('room/1'), false);
    assert.strictEqual(sb.subscribe('room/+'), true);
    assert.strictEqual(sc.subscribe('room/#'), true);
    assert.strictEqual(sc.subscribe('#'), true);
    assert.strictEqual(sc.subscribe('caf\u00e9/\u20ac'), true);
    assert.deepStrictEqual(sc.getTopics(), ['room/#', '#', 'caf\u00e9/\u20ac']);
    assert.ok(sb.isSubscribed('room/+'));
    assert.ok(!sb.isSubscribed('room/1'));
    assert.strictEqual(wss.numSubscribers('room/1'), 1);
    assert.strictEqual(wss.numSubscribers('nothing'), 0);

    sa.send('own-1');
    assert.strictEqual(wss.publish('room/1', 'hello'), 3); // c once, not twice
    assert.strictEqual(wss.publish('room/2', Buffer.from([0, 1, 2])), 2);
    assert.strictEqual(wss.publish('caf\u00e9/\u20ac', 'unicode'), 1);
    assert.strictEqual(sa.publish('room/1', 'from-a'), 2);
    sa.send('own-2');
    await until(() => a.got.length === 3 && b.got.length === 3 && c.got.length === 4);
    assert.deepStrictEqual(a.got, ['own-1', 'hello', 'own-2']);
    assert.deepStrictEqual(b.got, ['hello', Buffer.from([0, 1, 2]), 'from-a']);
    assert.deepStrictEqual(c.got, ['hello', Buffer.from([0, 1, 2]), 'unicode', 'from-a']);

    assert.throws(() => sa.subscribe('room+'), /invalid argument/);
    assert.throws(() => wss.publish('room/+', 'x'), /invalid argument/);
    assert.throws(() => sa.subscribe('x'.repeat(5000)), (e) => e.code === 'UVWS_ELIMIT');
    assert.throws(() => sa.subscribe(3), TypeError);
    assert.throws(() => a.subscribe('room/1'), (e) => e.code === 'UVWS_ENOTSUP');

    assert.strictEqual(sb.unsubscribe('room/+'), true);
    assert.strictEqual(sb.unsubscribe('room/+'), false);
    assert.deepStrictEqual(sb.getTopics(), []);

    c.close();
    await until(() => wss.numSubscribers('#') === 0);
    assert.strictEqual(wss.publish('room/1', 'last'), 1);
    await until(() => a.got.length === 4);
    a.close();
    b.close();
    await closeServer(wss);
  });

  it('keeps order across send, publish and broadcast under load', async () => {
    const wss = await listen(WebSocket);
    const conns = [];
    wss.on('connection', (ws) => {
      ws.subscribe(`t/${conns.length % 2}`);
      conns.push(ws);
    });
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await client(wss.address().port, `/${i}`));
    await until(() => conns.length === 4);
    const N = 3000;
    const expect = new Map(conns.map((ws) => [ws, 0]));
    for (let i = 0; i < N; i++) {
      const body = `${i}:` + 'x'.repeat(i % 7 === 0 ? 70000 : i % 50);
      if (i % 5 === 0) {
        const ws = conns[i % 4];
        ws.send(body);
        expect.set(ws, expect.get(ws) + 1);
      } else if (i % 11 === 0) {
        assert.strictEqual(wss.broadcast(body), 4);
        for (const ws of conns) expect.set(ws, expect.get(ws) + 1);
      } else {
        const t = i % 2;
        assert.strictEqual(wss.publish(`t/${t}`, body), 2);
        for (const ws of conns) if (ws.isSubscribed(`t/${t}`)) expect.set(ws, expect.get(ws) + 1);
      }
    }
    // client i's server side is conns[i]? not necessarily: match by count
    const total = [...expect.values()].reduce((x, y) => x + y, 0);
    await until(() => clients.reduce((x, c) => x + c.got.length, 0) === total, 20000, 'all messages');
    for (const c of clients) {
      const seqs = c.got.map((m) => Number(m.split(':', 1)[0]));
      for (let k = 1; k < seqs.length; k++) assert.ok(seqs[k] > seqs[k - 1], 'in order');
    }
    for (const c of clients) c.close();
    await closeServer(wss);
  });

  it("emits 'subscription' and 'dropped' (a paused subscriber past maxBackpressure)", async () => {
    const wss = await listen(WebSocket, { maxBackpressure: 256 * 1024 });
    const subs = [];
    const drops = [];
    wss.on('subscription', (ws, topic, n, o) => subs.push([topic, n, o]));
    wss.on('dropped', (ws, topic, data, isBinary) => drops.push([topic, data.length, isBinary]));
    const server = [];
    wss.on('connection', (ws) => {
      ws.subscribe('t');
      server.push(ws);
    });
    const fast = await client(wss.address().port, '/fast');
    const slow = await client(wss.address().port, '/slow');
    slow.pause();
    await until(() => server.length === 2);
    assert.deepStrictEqual(subs, [['t', 1, 0], ['t', 2, 1]]);
    const big = Buffer.alloc(65536, 7);
    let handed = 0;
    const N = 500; // 32 MiB: more than the kernel buffers of a paused socket
    for (let i = 0; i < N; i++) {
      handed += wss.publish('t', big);
      await until(() => fast.got.length === i + 1, 5000, `message ${i}`);
    }
    assert.ok(handed > N && handed < 2 * N, `handed ${handed}`);
    assert.strictEqual(drops.length, 2 * N - handed);
    assert.deepStrictEqual(drops[0], ['t', 65536, true]);
    slow.terminate();
    await until(() => subs.length === 3);
    assert.deepStrictEqual(subs[2], ['t', 1, 2]);
    fast.close();
    await closeServer(wss);
  });

  it("without a 'dropped' listener a subscriber past maxBackpressure is closed (1008), the others go on", async () => {
    const wss = await listen(WebSocket, { maxBackpressure: 256 * 1024 });
    const server = [];
    const closes = [];
    wss.on('connection', (ws) => {
      ws.subscribe('t');
      ws.on('error', (e) => closes.push(e.code));
      ws.on('close', (code) => closes.push(code));
      server.push(ws);
    });
    const fast = await client(wss.address().port, '/fast');
    const slow = await client(wss.address().port, '/slow');
    slow.pause();
    await until(() => server.length === 2);
    const big = Buffer.alloc(65536, 9);
    const N = 500;
    for (let i = 0; i < N; i++) {
      wss.publish('t', big);
      await until(() => fast.got.length === i + 1, 5000, `message ${i}`);
    }
    await until(() => closes.length === 2, 5000, 'the slow one closed');
    assert.deepStrictEqual(closes, ['ERR_UVWS_BACKPRESSURE', 1008]);
    assert.strictEqual(wss.numSubscribers('t'), 1);
    slow.terminate();
    fast.close();
    await closeServer(wss);
  });

  it('typed in index.d.ts', () => {
    const fs = require('fs');
    const dts = fs.readFileSync(require('path').join(ROOT, 'node', 'index.d.ts'), 'utf8');
    for (const name of ['subscribe(topic: string)', 'unsubscribe(topic: string)', 'isSubscribed(topic: string)',
      'getTopics(): string[]', 'publish(topic: string', 'numSubscribers(topic: string)']) {
      assert.ok(dts.includes(name), name);
    }
  });
});

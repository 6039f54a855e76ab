'use strict';

// What is specific to uvws (not part of ws's behaviour): the features ws has
// that uvws refuses loudly, exceptions thrown by listeners, worker threads,
// message buffers that outlive garbage collections, the broadcast extension.

const { describe, it } = require('node:test');
const assert = require('node:assert');

const http = require('http');
const https = require('https');
const { spawnSync } = require('child_process');
const WebSocket = require('uvws');
const { WebSocketServer } = WebSocket;
const { ROOT, once, until, listen, closeServer, pki } = require('./helpers');

function runNode(script, args = []) {
  const r = spawnSync(process.execPath, [...args, '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30000 });
  assert.strictEqual(r.status, 0, `child failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// The engine reports its features at run time (the addon asks the engine's
// permessage-deflate negotiation, node/src/addon.cc EngineFeatures); every
// build of this repository has them all. The compression suites skip on an
// engine without permessage-deflate, so this is what keeps a regression from
// switching them off silently.
it('the engine reports every feature of this build (TLS, permessage-deflate)', () => {
  assert.deepStrictEqual({ ...WebSocket.engineFeatures }, { tls: true, permessageDeflate: true });
});

describe('features uvws does not have throw a clear error', () => {
  const cases = [
    ['protocolVersion 8', () => new WebSocket('ws://127.0.0.1:1/', { protocolVersion: 8 })],
    ['autoPong: false', () => new WebSocket('ws://127.0.0.1:1/', { autoPong: false })],
    ['createConnection', () => new WebSocket('ws://127.0.0.1:1/', { createConnection: () => null })],
    ['an https.Server as server', () => new WebSocketServer({ server: https.createServer() })],
    ['pfx', () => new WebSocketServer({ port: 0, pfx: Buffer.alloc(1) })],
  ];
  if (!WebSocket.engineFeatures.permessageDeflate) {
    cases.push(
      ['perMessageDeflate on a server', () => new WebSocketServer({ port: 0, perMessageDeflate: true })],
      ['perMessageDeflate on a client', () => new WebSocket('ws://127.0.0.1:1/', { perMessageDeflate: {} })],
    );
  }
  for (const [what, fn] of cases) {
    it(what, () => {
      assert.throws(fn, (err) => err.code === 'ERR_UVWS_UNSUPPORTED' && /uvws does not support/.test(err.message));
    });
  }

  it('sending a Blob', async () => {
    const wss = await listen(WebSocket);
    const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}/`);
    await once(ws, 'open');
    assert.throws(() => ws.send(new Blob(['x'])), { code: 'ERR_UVWS_UNSUPPORTED' });
    ws.close();
    await once(ws, 'close');
    await closeServer(wss);
  });

  it('handleUpgrade() on a TLS socket', () => {
    const wss = new WebSocketServer({ noServer: true });
    const fake = { encrypted: true, _handle: { fd: 3 } };
    assert.throws(() => wss.handleUpgrade({}, fake, Buffer.alloc(0), () => {}), { code: 'ERR_UVWS_UNSUPPORTED' });
  });
});

describe('uvws specifics', () => {
  it('an exception in a listener is an uncaught exception; the connection goes on', () => {
    const out = runNode(`
      const WebSocket = require('uvws');
      const errors = [];
      process.on('uncaughtException', (e) => errors.push(e.message));
      const wss = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1' });
      wss.on('connection', (ws) => ws.on('message', (d) => {
        if (d.toString() === 'throw') throw new Error('boom in a listener');
        ws.send(d);
      }));
      wss.on('listening', () => {
        const c = new WebSocket('ws://127.0.0.1:' + wss.address().port);
        c.on('open', () => { c.send('throw'); c.send('after'); });
        c.on('message', (d) => {
          console.log(JSON.stringify({ got: d.toString(), errors }));
          c.close(); wss.close();
        });
      });
    `);
    assert.deepStrictEqual(JSON.parse(out), { got: 'after', errors: ['boom in a listener'] });
  });

  it('works in a worker thread, which can be terminated with open connections', () => {
    const out = runNode(`
      const { Worker } = require('worker_threads');
      const WebSocket = require('uvws');
      const w = new Worker(\`
        const { parentPort } = require('worker_threads');
        const { WebSocketServer, WebSocket } = require('uvws');
        const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
        wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
        wss.on('listening', () => {
          const c = new WebSocket('ws://127.0.0.1:' + wss.address().port);
          c.on('open', () => parentPort.postMessage(wss.address().port));
        });
      \`, { eval: true });
      const result = {};
      const done = () => {
        if ('code' in result && 'exit' in result) console.log(JSON.stringify(result));
      };
      w.on('exit', (exit) => { result.exit = exit; done(); });
      w.on('message', (port) => {
        const c = new WebSocket('ws://127.0.0.1:' + port);
        c.on('open', () => c.send('to the worker'));
        c.on('message', (d) => {
          result.got = d.toString();
          w.terminate();
        });
        c.on('close', (code) => { result.code = code; done(); });
      });
    `);
    assert.deepStrictEqual(JSON.parse(out), { got: 'to the worker', code: 1006, exit: 1 });
  });

  it('an empty message as the first message of a process', () => {
    const out = runNode(`
      const WebSocket = require('uvws');
      const wss = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1' });
      wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
      wss.on('listening', () => {
        const c = new WebSocket('ws://127.0.0.1:' + wss.address().port);
        c.on('open', () => c.send(''));
        c.on('message', (d, b) => { console.log(JSON.stringify([d.length, b])); c.close(); wss.close(); });
      });
    `);
    assert.deepStrictEqual(JSON.parse(out), [0, false]);
  });

  it('received Buffers stay intact across slabs and garbage collections', () => {
    const out = runNode(
      `
      const WebSocket = require('uvws');
      const wss = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1' });
      const N = 20000;
      const kept = [];
      wss.on('connection', (ws) => ws.on('message', (d) => {
        kept.push(d);
        if (kept.length % 1000 === 0) global.gc();
        if (kept.length === N) {
          global.gc();
          let bad = 0;
          for (let i = 0; i < N; i++) {
            const want = 'message ' + i + ' ' + 'x'.repeat(i % 300);
            if (kept[i].toString() !== want) bad++;
          }
          console.log(JSON.stringify({ n: kept.length, bad }));
          ws.close(); wss.close();
        }
      }));
      wss.on('listening', () => {
        const c = new WebSocket('ws://127.0.0.1:' + wss.address().port);
        c.on('open', () => { for (let i = 0; i < N; i++) c.send('message ' + i + ' ' + 'x'.repeat(i % 300)); });
        c.on('error', () => {});
      });
    `,
      ['--expose-gc'],
    );
    assert.deepStrictEqual(JSON.parse(out), { n: 20000, bad: 0 });
  });

  it('wss.broadcast() sends one message to every open connection', async () => {
    const wss = await listen(WebSocket);
    const port = wss.address().port;
    const clients = [];
    for (let i = 0; i < 5; i++) clients.push(new WebSocket(`ws://127.0.0.1:${port}/`));
    await Promise.all(clients.map((c) => once(c, 'open')));
    await until(() => wss.clients.size === 5, 3000, 'five connections');
    const got = clients.map((c) => once(c, 'message'));
    assert.strictEqual(wss.broadcast('to all'), 5);
    for (const [d, isBinary] of await Promise.all(got)) {
      assert.strictEqual(d.toString(), 'to all');
      assert.strictEqual(isBinary, false);
    }
    const bin = clients.map((c) => once(c, 'message'));
    assert.strictEqual(wss.broadcast(Buffer.from([1, 2])), 5);
    for (const [d, isBinary] of await Promise.all(bin)) {
      assert.deepStrictEqual([...d], [1, 2]);
      assert.strictEqual(isBinary, true);
    }
    for (const c of clients) c.close();
    await Promise.all(clients.map((c) => once(c, 'close')));
    await closeServer(wss);
  });

  it('handleUpgrade() serves connection after connection (the private server comes and goes)', async () => {
    const wss = new WebSocketServer({ noServer: true });
    const server = http.createServer();
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (d, b) => ws.send(d, { binary: b }));
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    for (let i = 0; i < 3; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/round${i}`);
      await once(ws, 'open');
      ws.send(`round ${i}`);
      const [d] = await once(ws, 'message');
      assert.strictEqual(d.toString(), `round ${i}`);
      ws.close();
      await once(ws, 'close');
      await until(() => wss._hidden === null, 3000, 'the private server to close');
    }
    // Frames sent right behind the upgrade request reach the engine too.
    const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/`);
    ws.on('open', () => {
      for (let i = 0; i < 100; i++) ws.send(`burst ${i}`);
    });
    const got = [];
    ws.on('message', (d) => got.push(d.toString()));
    await until(() => got.length === 100, 5000, 'the burst');
    assert.strictEqual(got[99], 'burst 99');
    ws.close();
    await once(ws, 'close');
    await new Promise((resolve) => wss.close(resolve));
    await new Promise((resolve) => server.close(resolve));
  });

  it('TLS options OpenSSL cannot load throw ERR_UVWS_TLS', () => {
    assert.throws(() => new WebSocketServer({ port: 0, host: '127.0.0.1', cert: 'garbage', key: 'garbage' }), {
      code: 'ERR_UVWS_TLS',
    });
    assert.throws(() => new WebSocket('wss://127.0.0.1:1/', { ca: 'not a certificate' }), { code: 'ERR_UVWS_TLS' });
  });

  it('mutual TLS: a server with requestCert accepts a client certificate from its CA', async () => {
    const { ca, cert, key, clientCert, clientKey } = pki();
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', cert, key, ca, requestCert: true });
    await once(wss, 'listening');
    wss.on('connection', (ws) => ws.send('hello, certified client'));
    const port = wss.address().port;
    const ok = new WebSocket(`wss://localhost:${port}/`, { ca, cert: clientCert, key: clientKey });
    const [d] = await once(ok, 'message');
    assert.strictEqual(d.toString(), 'hello, certified client');
    ok.close();
    await once(ok, 'close');
    const anon = new WebSocket(`wss://localhost:${port}/`, { ca });
    const closed = once(anon, 'close');
    anon.on('error', () => {});
    await closed;
    assert.notStrictEqual(anon.protocol, undefined);
    await closeServer(wss);
  });
});


'use strict';

// The package itself: CommonJS and ESM entry points, an addon that uses Node's
// own libuv and OpenSSL (no second copy, no extra thread), and `npm pack` +
// `npm install <tarball>` in an empty project building and working.

const { describe, it } = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const os = require('os');
const { spawnSync } = require('child_process');
const { ROOT, once } = require('./helpers');

const ADDON = path.join(ROOT, 'node', 'build', 'uvws.node');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300000, ...opts });
  assert.strictEqual(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const ECHO_SCRIPT_ESM = `
import WebSocket, { WebSocketServer } from 'uvws';
import * as ns from 'uvws';
if (ns.WebSocket !== WebSocket || ns.default !== WebSocket) throw new Error('ESM exports');
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
wss.on('listening', () => {
  const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port);
  ws.on('open', () => ws.send('esm round trip'));
  ws.on('message', (d) => { console.log(d.toString()); ws.close(); wss.close(); });
});
`;

const ECHO_SCRIPT_CJS = `
const WebSocket = require('uvws');
const { WebSocketServer } = require('uvws');
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
wss.on('listening', () => {
  const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port);
  ws.on('open', () => ws.send('cjs round trip'));
  ws.on('message', (d) => { console.log(d.toString()); ws.close(); wss.close(); });
});
`;

describe('package', () => {
  it('loads as ESM (import) and as CommonJS (require)', () => {
    const esm = run(process.execPath, ['--input-type=module', '-e', ECHO_SCRIPT_ESM], { cwd: ROOT, timeout: 20000 });
    assert.strictEqual(esm.trim(), 'esm round trip');
    const cjs = run(process.execPath, ['-e', ECHO_SCRIPT_CJS], { cwd: ROOT, timeout: 20000 });
    assert.strictEqual(cjs.trim(), 'cjs round trip');
  });

  it('the addon needs neither libuv nor libcrypto/libssl and exports only the Node-API entry points', () => {
    const dyn = run('readelf', ['-d', ADDON]);
    const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    assert.ok(needed.length > 0);
    for (const lib of needed) assert.doesNotMatch(lib, /libuv|libcrypto|libssl|libnode|llhttp/);
    const syms = run('nm', ['-D', '--defined-only', ADDON])
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/).pop());
    assert.deepStrictEqual(syms.sort(), ['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
    const undef = run('nm', ['-D', '--undefined-only', ADDON]);
    assert.match(undef, /\buv_run\b|\buv_tcp_init\b/);
    assert.match(undef, /\bEVP_Digest\b/);
  });

  it('runs on Node\'s own loop: no libuv/OpenSSL library mapped, no thread added', async () => {
    const script = `
      const fs = require('fs');
      const net = require('net');
      const threads = () => fs.readdirSync('/proc/self/task').length;
      const before = threads();
      const { WebSocketServer } = require('uvws');
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
      wss.on('listening', () => {
        // A raw client (no DNS lookup, no other Node machinery).
        const s = net.connect(wss.address().port, '127.0.0.1', () => {
          s.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n');
          s.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69]));
        });
        let got = '';
        s.on('data', (d) => {
          got += d.toString('latin1');
          if (got.includes('hi')) {
            const maps = fs.readFileSync('/proc/self/maps', 'utf8');
            const libs = [...new Set(maps.split('\\n').map((l) => l.split(/\\s+/)[5]).filter((p) => p && (p.includes('.so') || p.endsWith('.node'))))];
            console.log(JSON.stringify({ before, after: threads(), libs }));
            s.destroy();
            wss.close();
          }
        });
      });
    `;
    const out = run(process.execPath, ['-e', script], { cwd: ROOT, timeout: 20000 });
    const { before, after, libs } = JSON.parse(out);
    assert.strictEqual(after, before, `threads before ${before}, after ${after}`);
    assert.ok(libs.some((l) => l.endsWith('uvws.node')), 'the addon is mapped');
    for (const l of libs) assert.doesNotMatch(path.basename(l), /^lib(uv|crypto|ssl)\.so/);
  });

  it('npm pack, then npm install <tarball> in an empty project builds the addon and works', (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvws-pack-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const packOut = run('npm', ['pack', '--pack-destination', dir, '--json', '--loglevel=error'], { cwd: ROOT });
    const tarball = path.join(dir, JSON.parse(packOut)[0].filename);
    const files = JSON.parse(packOut)[0].files.map((f) => f.path);
    assert.ok(files.includes('node/deps/llhttp/llhttp.c'), 'llhttp sources are bundled');
    assert.ok(files.includes('core/include/uvws.h'));
    assert.ok(!files.some((f) => f.startsWith('node/build/')), 'no prebuilt binary is shipped');
    assert.ok(!fs.existsSync(path.join(ROOT, 'node', 'deps')), 'postpack removed the bundled copy');
    const proj = path.join(dir, 'project');
    fs.mkdirSync(proj);
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', private: true }));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], {
      cwd: proj,
      env: { ...process.env, UVWS_NO_LAZY_BUILD: '1' },
    });
    assert.ok(fs.existsSync(path.join(proj, 'node_modules', 'uvws', 'node', 'build', 'uvws.node')), 'built at install');
    fs.writeFileSync(path.join(proj, 'esm.mjs'), ECHO_SCRIPT_ESM);
    fs.writeFileSync(path.join(proj, 'cjs.js'), ECHO_SCRIPT_CJS);
    const env = { ...process.env, UVWS_NO_LAZY_BUILD: '1' };
    assert.strictEqual(run(process.execPath, ['esm.mjs'], { cwd: proj, env, timeout: 20000 }).trim(), 'esm round trip');
    assert.strictEqual(run(process.execPath, ['cjs.js'], { cwd: proj, env, timeout: 20000 }).trim(), 'cjs round trip');
  });
});

describe('examples', () => {
  it('echo_server.js --port 0 prints "listening on <port>" and echoes; client.js talks to it', async () => {
    const { spawn } = require('child_process');
    const server = spawn(process.execPath, [path.join(ROOT, 'examples', 'node', 'echo_server.js'), '--port', '0', '--host', '127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = await once(server.stdout, 'data', 10000);
      const m = /^listening on (\d+)$/m.exec(line.toString());
      assert.ok(m, `unexpected output ${line}`);
      const out = run(process.execPath, [path.join(ROOT, 'examples', 'node', 'client.js'), `ws://127.0.0.1:${m[1]}/`, 'one', 'two'], {
        timeout: 20000,
      });
      assert.strictEqual(out, 'one\ntwo\n');
    } finally {
      server.kill('SIGTERM');
      await once(server, 'exit', 5000).catch(() => server.kill('SIGKILL'));
    }
  });

  it('broadcast.js relays a message to every client', async () => {
    const { spawn } = require('child_process');
    const WebSocket = require('uvws');
    const server = spawn(process.execPath, [path.join(ROOT, 'examples', 'node', 'broadcast.js'), '--port', '0', '--host', '127.0.0.1', '--tick', '50'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = await once(server.stdout, 'data', 10000);
      const port = /listening on (\d+)/.exec(line.toString())[1];
      const a = new WebSocket(`ws://127.0.0.1:${port}/`);
      const b = new WebSocket(`ws://127.0.0.1:${port}/`);
      const got = { a: [], b: [] };
      a.on('message', (d) => got.a.push(d.toString()));
      b.on('message', (d) => got.b.push(d.toString()));
      await Promise.all([once(a, 'open'), once(b, 'open')]);
      await new Promise((r) => setTimeout(r, 50));
      a.send('hello all');
      const end = Date.now() + 5000;
      while (!(got.b.some((m) => m.includes('hello all')) && got.b.some((m) => m.startsWith('tick')))) {
        assert.ok(Date.now() < end, `b got ${JSON.stringify(got.b)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(got.a.some((m) => m.includes('hello all')));
      a.close();
      b.close();
      await Promise.all([once(a, 'close'), once(b, 'close')]);
    } finally {
      server.kill('SIGTERM');
      await once(server, 'exit', 5000).catch(() => server.kill('SIGKILL'));
    }
  });
});

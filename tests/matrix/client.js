#!/usr/bin/env node
// Interop matrix client (Node package, ws's API): runs the scenario list of
// tests/matrix/README.md against a matrix server and prints one JSON line
// per step, then a summary line. Exit status 0 when no step failed.
//
//   node tests/matrix/client.js [--ca FILE] [--only a,b] ws://127.0.0.1:PORT
//
// The URL is the server's base (scheme, host, port); the steps add paths.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { WebSocket } = require(path.join(__dirname, '..', '..', 'node'));

const MiB = 1024 * 1024;
const TEXT_MSG = 'Hello, matrix! \u00fcnic\u00f6de \u2713';
const PING_PAYLOAD = Buffer.from('matrix-ping-\x01\x02\x03-payload', 'latin1');
const FRAG_CHUNK = 64 * 1024;
const BIG = crypto.randomBytes(16 * MiB);

class StepFailed extends Error {}
class Skip extends Error {}

function check(cond, msg) {
  if (!cond) throw new StepFailed(msg);
}

function describe(m) {
  return `${m.isBinary ? 'binary' : 'text'} of ${m.data.length} bytes`;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new StepFailed(`timed out after ${ms} ms${what ? ` (${what})` : ''}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// A connection with awaitable events: opened, next message, next pong, closed.
class Conn {
  constructor(url, protocols, options) {
    this.messages = [];
    this.pongs = [];
    this.waiters = [];
    this.status = 0;
    this.error = null;
    this.ws = new WebSocket(url, protocols, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.closed = new Promise((resolveClose) => {
        this.ws.once('close', (code, reason) => {
          this.code = code;
          this.reason = reason.toString();
          resolveClose({ code, reason: this.reason });
          reject(new StepFailed(`closed before open: ${code} ${this.error ? this.error.message : ''}`));
          this.wake();
        });
      });
    });
    this.opened.catch(() => {});
    this.ws.on('error', (err) => {
      this.error = err;
    });
    this.ws.on('unexpected-response', (req, res) => {
      this.status = res.statusCode;
      this.response = res;
    });
    this.ws.on('message', (data, isBinary) => {
      this.messages.push({ data, isBinary });
      this.wake();
    });
    this.ws.on('pong', (data) => {
      this.pongs.push(data);
      this.wake();
    });
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async next(queue, what) {
    while (queue.length === 0) {
      if (this.code !== undefined) throw new StepFailed(`connection closed (${this.code} ${this.reason}) while waiting for a ${what}`);
      await new Promise((resolve) => this.waiters.push(resolve));
    }
    return queue.shift();
  }

  recv() {
    return this.next(this.messages, 'message');
  }

  pong() {
    return this.next(this.pongs, 'pong');
  }

  // The close ({code, reason}); a message arriving first fails the step.
  async expectClose() {
    while (this.messages.length === 0 && this.code === undefined) {
      await new Promise((resolve) => this.waiters.push(resolve));
    }
    if (this.messages.length > 0) throw new StepFailed(`got ${describe(this.messages[0])} where the close was expected`);
    return this.closed;
  }
}

class Client {
  constructor(base, ca) {
    this.base = base;
    this.options = { handshakeTimeout: 10000, closeTimeout: 5000 };
    if (base.startsWith('wss://')) this.options.ca = fs.readFileSync(ca);
    this.conns = [];
  }

  open(p, protocols, extra) {
    const c = new Conn(this.base + p, protocols || [], { ...this.options, ...extra });
    this.conns.push(c);
    return c;
  }

  async connect(p, protocols, extra) {
    const c = this.open(p, protocols, extra);
    await c.opened;
    return c;
  }

  async cleanup() {
    const live = this.conns.filter((c) => c.code === undefined);
    this.conns = [];
    for (const c of live) {
      if (c.ws.readyState === WebSocket.OPEN) c.ws.close(1000, 'step done');
      else if (c.ws.readyState === WebSocket.CONNECTING) c.ws.terminate();
    }
    const all = Promise.all(live.map((c) => c.closed));
    try {
      await withTimeout(all, 7000);
    } catch {
      for (const c of live) c.ws.terminate();
      await all;
    }
  }

  async 'text-echo'() {
    const c = await this.connect('/echo');
    c.ws.send(TEXT_MSG);
    const m = await c.recv();
    check(!m.isBinary && m.data.toString() === TEXT_MSG, `got ${describe(m)}, expected the text sent`);
    return `echoed ${Buffer.byteLength(TEXT_MSG)} bytes of text`;
  }

  async 'binary-echo'() {
    const c = await this.connect('/echo');
    const data = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    c.ws.send(data);
    const m = await c.recv();
    check(m.isBinary && data.equals(m.data), `got ${describe(m)}, expected binary 00..ff`);
    return 'echoed 256 bytes 00..ff as binary';
  }

  async 'big-binary-echo'() {
    const c = await this.connect('/echo');
    c.ws.send(BIG);
    const m = await c.recv();
    check(m.isBinary && m.data.length === BIG.length, `got ${describe(m)}, expected 16 MiB binary`);
    check(BIG.equals(m.data), '16 MiB came back with different contents');
    return 'echoed 16 MiB, contents identical';
  }

  async fragmented() {
    const c = await this.connect('/echo');
    const ws = c.ws;
    ws.send('frag-', { fin: false });
    ws.send('ment-', { fin: false });
    ws.send('ed', { fin: true });
    for (let i = 0; i < 3; i++) {
      ws.send(BIG.subarray(i * FRAG_CHUNK, (i + 1) * FRAG_CHUNK), { binary: true, fin: i === 2 });
    }
    // "é" (c3 a9) split across two fragments: valid only as a whole.
    ws.send(Buffer.from('split-\xc3', 'latin1'), { binary: false, fin: false });
    ws.send(Buffer.from('\xa9-end', 'latin1'), { binary: false, fin: true });
    const m1 = await c.recv();
    check(!m1.isBinary && m1.data.toString() === 'frag-ment-ed', `message 1: expected text "frag-ment-ed", got ${describe(m1)}`);
    const m2 = await c.recv();
    check(m2.isBinary && BIG.subarray(0, 3 * FRAG_CHUNK).equals(m2.data), `message 2: expected 192 KiB binary from 3 fragments, got ${describe(m2)}`);
    const m3 = await c.recv();
    check(!m3.isBinary && m3.data.toString() === 'split-\u00e9-end', `message 3: expected text "split-\u00e9-end", got ${describe(m3)}`);
    return '3 fragmented messages (text 3 frames, binary 3x64 KiB, text split inside a UTF-8 character) each echoed whole';
  }

  async 'ping-pong'() {
    const c = await this.connect('/echo');
    c.ws.ping(PING_PAYLOAD);
    const data = await c.pong();
    check(PING_PAYLOAD.equals(data), `pong payload of ${data.length} bytes differs`);
    return `pong carried the ${data.length}-byte payload`;
  }

  async subprotocol() {
    const c = await this.connect('/echo', ['v1.demo', 'v2.demo']);
    check(c.ws.protocol === 'v2.demo', `server chose "${c.ws.protocol}", expected v2.demo`);
    return 'offered v1.demo, v2.demo; server chose v2.demo';
  }

  async 'subprotocol-fallback'() {
    const c = await this.connect('/echo', ['v1.demo']);
    check(c.ws.protocol === 'v1.demo', `server chose "${c.ws.protocol}", expected v1.demo`);
    return 'offered v1.demo only; server chose v1.demo';
  }

  async 'close-normal'() {
    const id = `js-${process.pid}-${Date.now() % 1000000}`;
    const a = await this.connect(`/echo?id=${id}`);
    a.ws.close(1000, 'bye-from-client');
    await a.closed;
    check(a.code === 1000, `client-initiated close: client saw ${a.code}, expected 1000`);
    const [seen, queries] = await this.report(id);
    const b = await this.connect('/close');
    check(seen === '1000 bye-from-client', `server saw the client's close as "${seen}", expected "1000 bye-from-client"`);
    b.ws.send('close-1000');
    const { code, reason } = await b.expectClose();
    check(code === 1000 && reason === 'bye-from-server', `server-initiated close: client saw ${code} "${reason}", expected 1000 "bye-from-server"`);
    return `client close 1000 "bye-from-client": client saw ${a.code}, server saw "${seen}" (${queries} queries); server close: client saw ${code} "${reason}"`;
  }

  async 'too-big'() {
    const c = await this.connect('/too-big');
    c.ws.send(BIG.subarray(0, MiB));
    const m = await c.recv();
    check(m.isBinary && BIG.subarray(0, MiB).equals(m.data), `1 MiB: got ${describe(m)}`);
    c.ws.send(Buffer.alloc(2 * MiB, 'z'));
    const { code, reason } = await c.expectClose();
    check(code === 1009, `close code ${code} "${reason}", expected 1009 ${c.error ? c.error.message : ''}`);
    return `1 MiB echoed; 2 MiB closed with 1009 "${reason}"`;
  }

  // How the server saw the close of the connection opened with ?id=<id> (it
  // may take a moment to learn it): [report, queries].
  async report(id) {
    const b = await this.connect('/close');
    for (let queries = 1; queries <= 200; queries++) {
      b.ws.send(`report ${id}`);
      const seen = (await b.recv()).data.toString();
      if (seen !== 'pending') return [seen, queries];
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new StepFailed('server still reports the connection open after 200 queries');
  }

  async 'too-big-client'() {
    const id = `js-${process.pid}-${Date.now() % 1000000}`;
    const c = await this.connect(`/echo?id=${id}`, [], { maxPayload: MiB });
    c.ws.send(Buffer.alloc(2 * MiB, 'z'));
    const { code } = await c.expectClose();
    const mine = `error "${c.error ? c.error.message : ''}" (${c.error ? c.error.code : ''}), close code ${code}`;
    const [seen] = await this.report(id);
    check(seen.startsWith('1009 '), `server saw the close as "${seen}", expected 1009; client: ${mine}`);
    return `client refused the 2 MiB echo: ${mine}; server saw "${seen}"`;
  }

  async 'protocol-error'() {
    const c = await this.connect('/protocol-error');
    c.ws.send('close-1002');
    const { code, reason } = await c.expectClose();
    check(code === 1002, `close code ${code} "${reason}", expected 1002 ${c.error ? c.error.message : ''}`);
    return `server closed with 1002 "${reason}"`;
  }

  async 'invalid-utf8'() {
    const c = await this.connect('/echo');
    // ws (and uvws) send a Buffer as text as it is, unvalidated.
    c.ws.send(Buffer.from('bad \xff\xfe text', 'latin1'), { binary: false });
    const { code, reason } = await c.expectClose();
    check(code === 1007, `close code ${code} "${reason}", expected 1007 ${c.error ? c.error.message : ''}`);
    return `server closed with 1007 "${reason}"`;
  }

  async 'protocol-error-raw'() {
    throw new Skip('the Node package gives no access to the socket under a connection');
  }

  async 'reject-401'() {
    const c = this.open('/reject');
    const opened = await c.opened.then(
      () => true,
      () => false, // closed before open: expected
    );
    check(!opened, 'the upgrade to /reject was accepted');
    await c.closed;
    check(c.status === 401, `unexpected-response status ${c.status}, error ${c.error ? c.error.message : 'none'}, expected 401`);
    const auth = c.response.headers['www-authenticate'];
    check(auth === 'Bearer realm="matrix"', `status 401 but WWW-Authenticate ${JSON.stringify(auth)}, expected 'Bearer realm="matrix"'`);
    return `'unexpected-response' with statusCode ${c.status}, WWW-Authenticate: ${auth}; close ${c.code}`;
  }

  async 'going-away'() {
    const idle = await this.connect('/echo');
    const req = await this.connect('/shutdown');
    req.ws.send('shutdown');
    const [a, b] = await Promise.all([idle.expectClose(), req.expectClose()]);
    check(a.code === 1001 && b.code === 1001, `idle connection: ${a.code}, requesting connection: ${b.code}, expected 1001 for both`);
    return `idle connection: 1001 "${a.reason}"; requesting connection: 1001 "${b.reason}"`;
  }
}

const STEPS = [
  ['text-echo', 10000],
  ['binary-echo', 10000],
  ['big-binary-echo', 60000],
  ['fragmented', 10000],
  ['ping-pong', 10000],
  ['subprotocol', 10000],
  ['subprotocol-fallback', 10000],
  ['close-normal', 15000],
  ['too-big', 20000],
  ['too-big-client', 15000],
  ['protocol-error', 10000],
  ['invalid-utf8', 10000],
  ['protocol-error-raw', 10000],
  ['reject-401', 10000],
  ['going-away', 15000],
];

function usage() {
  process.stderr.write('usage: client.js [--ca FILE] [--only step,...] ws[s]://HOST:PORT\n');
  process.exit(2);
}

async function main() {
  const argv = process.argv.slice(2);
  let ca;
  let only;
  let url;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--ca' && i + 1 < argv.length) ca = argv[++i];
    else if (argv[i] === '--only' && i + 1 < argv.length) only = new Set(argv[++i].split(','));
    else if (!argv[i].startsWith('--') && url === undefined) url = argv[i];
    else usage();
  }
  if (!url) usage();
  const client = new Client(url.replace(/\/$/, ''), ca);
  const counts = { pass: 0, fail: 0, skip: 0 };
  for (const [name, timeout] of STEPS) {
    if (only && !only.has(name)) continue;
    const t0 = Date.now();
    let result;
    let detail;
    try {
      detail = await withTimeout(client[name](), timeout);
      result = 'pass';
    } catch (err) {
      if (err instanceof Skip) result = 'skip';
      else result = 'fail';
      detail = err instanceof StepFailed || err instanceof Skip ? err.message : `${err.name}: ${err.message}`;
    }
    counts[result]++;
    console.log(JSON.stringify({ step: name, result, pass: result !== 'fail', ms: Date.now() - t0, detail }));
    await client.cleanup();
  }
  console.log(JSON.stringify({ summary: { client: 'node', passed: counts.pass, failed: counts.fail, skipped: counts.skip } }));
  process.exitCode = counts.fail ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

'use strict';

// Small helpers shared by the Node tests. Every wait is bounded.

const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');

const impls = {
  ws: () => require('ws'),
  uvws: () => require('uvws'),
};

function once(emitter, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, on);
      reject(new Error(`timed out waiting for '${event}'`));
    }, timeoutMs);
    function on(...args) {
      clearTimeout(timer);
      resolve(args);
    }
    emitter.once(event, on);
  });
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Resolves once `fn()` is true (polled), rejects after timeoutMs.
async function until(fn, timeoutMs = 5000, what = 'condition') {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

// A WebSocketServer of `WS` on 127.0.0.1 with a free port; resolves when
// listening.
async function listen(WS, options = {}) {
  const wss = new WS.WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  return wss;
}

function closeServer(wss) {
  return new Promise((resolve) => {
    if (wss.clients) for (const c of wss.clients) c.terminate();
    const timer = setTimeout(resolve, 3000);
    wss.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// Collect messages of a WebSocket into an array (as [data, isBinary]).
function collect(ws) {
  const list = [];
  ws.on('message', (data, isBinary) => list.push([data, isBinary]));
  return list;
}

let pkiDir = null;
// A throwaway PKI (tests/tls/make_certs.sh): { ca, cert, key } as Buffers.
function pki() {
  if (!pkiDir) {
    pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvws-node-pki-'));
    execFileSync('bash', [path.join(ROOT, 'tests', 'tls', 'make_certs.sh'), pkiDir], { stdio: 'ignore' });
    process.on('exit', () => fs.rmSync(pkiDir, { recursive: true, force: true }));
  }
  const read = (f) => fs.readFileSync(path.join(pkiDir, f));
  return {
    ca: read('ca.pem'),
    cert: read('server.pem'),
    key: read('server.key'),
    clientCert: read('client.pem'),
    clientKey: read('client.key'),
    dir: pkiDir,
  };
}

// The test command (scripts/test.sh) installs everything these tests use and
// sets UVWS_TEST_REQUIRE_ALL=1 (CI=true counts too): there, a test that would
// be skipped because something is missing fails instead, so that a missing
// browser, compiler or engine feature cannot silently switch a suite off.
// Elsewhere (a developer's machine without Chromium, say) it is skipped.
function requireAll() {
  return process.env.UVWS_TEST_REQUIRE_ALL === '1' || process.env.CI === 'true';
}

// For describe()/it() options: `{ skip: skipUnless(available, reason) }`.
// When the suite cannot run and the test command requires it, this registers a
// failing test in its place (and skips the suite itself).
function skipUnless(available, reason) {
  if (available) return false;
  if (requireAll()) {
    require('node:test').it(`required but missing: ${reason}`, () => {
      require('node:assert').fail(`${reason}; the test command requires it (UVWS_TEST_REQUIRE_ALL=1 or CI=true)`);
    });
  }
  return reason;
}

// Inside a test: skip it (t.skip) or, in the test command, fail it.
function skipOrFail(t, reason) {
  if (requireAll()) {
    require('node:assert').fail(`${reason}; the test command requires it (UVWS_TEST_REQUIRE_ALL=1 or CI=true)`);
  }
  t.skip(reason);
}

module.exports = { ROOT, impls, once, delay, until, listen, closeServer, collect, pki, requireAll, skipUnless, skipOrFail };

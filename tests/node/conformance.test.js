'use strict';

// The conformance runner (tests/conformance, Autobahn|Testsuite groups 1-7
// and 10 re-implemented, 12 and 13 for permessage-deflate) against
// examples/node/echo_server.js: every case must be OK (the 3 cases that are
// INFORMATIONAL by definition still have their closing handshake judged). The
// runner runs strict (NON-STRICT and UNIMPLEMENTED fail) and with the exact
// number of OK cases expected.

const { it } = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const os = require('os');
const { spawn } = require('child_process');
const WebSocket = require('uvws');
const { ROOT, once, skipUnless, skipOrFail } = require('./helpers');

const RUNNER = path.join(ROOT, 'tests', 'conformance', 'runner.py');

function python() {
  const venv = path.join(ROOT, '.venv', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

async function runConformance(t, serverArgs, cases, expectOk) {
  if (!fs.existsSync(RUNNER)) {
    skipOrFail(t, 'tests/conformance/runner.py is not there');
    return;
  }
  const server = spawn(
    process.execPath,
    [path.join(ROOT, 'examples', 'node', 'echo_server.js'), '--port', '0', '--host', '127.0.0.1', ...serverArgs],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'uvws-conf-')), 'report.json');
  try {
    const [line] = await once(server.stdout, 'data', 10000);
    const port = /listening on (\d+)/.exec(line.toString())[1];
    const r = await new Promise((resolve) => {
      const p = spawn(python(), [RUNNER, 'client', '--url', `ws://127.0.0.1:${port}/`, '--cases', cases, '--report', report,
        '--strict', `--expect-ok=${expectOk}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      const timer = setTimeout(() => p.kill('SIGKILL'), 280000);
      p.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
    assert.ok(fs.existsSync(report), `no report:\n${r.out}`);
    const rep = JSON.parse(fs.readFileSync(report, 'utf8'));
    const bad = rep.cases.filter((c) => c.verdict !== 'OK' && c.verdict !== 'INFORMATIONAL');
    assert.deepStrictEqual(
      bad.map((c) => `${c.id} ${c.verdict}: ${c.result}`),
      [],
      `cases not OK:\n${r.out}`,
    );
    assert.strictEqual(rep.summary.OK, expectOk, `OK cases:\n${r.out}`);
    for (const g of cases.split(',')) {
      const first = g.split('-')[0];
      assert.ok(rep.cases.some((c) => c.id.split('.')[0] === first), `group ${first} ran`);
    }
    assert.strictEqual(r.code, 0, r.out);
  } finally {
    server.kill('SIGTERM');
    await once(server, 'exit', 5000).catch(() => server.kill('SIGKILL'));
    fs.rmSync(path.dirname(report), { recursive: true, force: true });
  }
}

it('conformance groups 1-7 and 10 against the Node echo server: all OK', { timeout: 300000 }, (t) =>
  runConformance(t, [], '1-7,10', 244));

it(
  'with permessage-deflate: groups 1-7, 10, 12 and 13 all OK',
  { timeout: 300000, skip: skipUnless(WebSocket.engineFeatures.permessageDeflate, 'engine without permessage-deflate') },
  (t) => runConformance(t, ['--deflate'], '1-7,10,12,13', 568),
);

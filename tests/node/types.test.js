'use strict';

// index.d.ts: a TypeScript program written against the ws-style API (CommonJS
// and ESM imports) compiles with `tsc --strict`, and misuse does not
// (@ts-expect-error lines in tests/node/types/usage.ts).

const { it } = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const { spawnSync } = require('child_process');
const { ROOT, skipOrFail } = require('./helpers');

it('tsc --strict compiles tests/node/types against node/index.d.ts', (t) => {
  const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
  if (!fs.existsSync(tsc)) {
    skipOrFail(t, 'typescript is not installed (npm install)');
    return;
  }
  const r = spawnSync(tsc, ['--strict', '-p', path.join(__dirname, 'types', 'tsconfig.json')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120000,
  });
  assert.strictEqual(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
});

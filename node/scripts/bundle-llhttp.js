#!/usr/bin/env node
// npm prepack: copy llhttp's C sources (Debian's node-llhttp, or
// LLHTTP_SOURCE_DIR / LLHTTP_INCLUDE_DIR) into node/deps/llhttp so that the
// packed tarball builds on machines without them. --clean removes the copy
// again (npm postpack).
'use strict';

const fs = require('fs');
const path = require('path');

const dest = path.join(__dirname, '..', 'deps', 'llhttp');

if (process.argv.includes('--clean')) {
  fs.rmSync(path.join(__dirname, '..', 'deps'), { recursive: true, force: true });
  process.exit(0);
}

function find(dirs, file) {
  for (const d of dirs) if (d && fs.existsSync(path.join(d, file))) return path.join(d, file);
  throw new Error(`llhttp: ${file} not found in ${dirs.filter(Boolean).join(', ')}`);
}

const srcDirs = [process.env.LLHTTP_SOURCE_DIR, '/usr/share/llhttp'];
const incDirs = [process.env.LLHTTP_INCLUDE_DIR, process.env.LLHTTP_SOURCE_DIR, '/usr/share/include/llhttp', '/usr/include/llhttp'];
fs.mkdirSync(dest, { recursive: true });
for (const f of ['llhttp.c', 'api.c', 'http.c']) fs.copyFileSync(find(srcDirs, f), path.join(dest, f));
fs.copyFileSync(find(incDirs, 'llhttp.h'), path.join(dest, 'llhttp.h'));
const copyright = '/usr/share/doc/node-llhttp/copyright';
if (fs.existsSync(copyright)) fs.copyFileSync(copyright, path.join(dest, 'COPYRIGHT'));
fs.writeFileSync(
  path.join(dest, 'README'),
  'llhttp (MIT licence, https://github.com/nodejs/llhttp) C sources, bundled by\n' +
    'node/scripts/bundle-llhttp.js when the npm package is packed.\n',
);

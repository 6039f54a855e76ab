#!/usr/bin/env node
// Builds the uvws Node addon (node/build/uvws.node) by calling the C and C++
// compilers directly: the C engine (core/src/*.c), llhttp's C sources and the
// node-addon-api glue (node/src/*.cc).
//
// Nothing is downloaded. Node's own headers are used (node_api.h, uv.h and
// Node's bundled OpenSSL headers), and the addon links neither libuv nor
// libcrypto: it leaves their symbols undefined, and they resolve against the
// node binary that loads it, so the process has one libuv (Node's loop) and
// one OpenSSL. Everything is compiled with -fvisibility=hidden, so our llhttp
// copy never clashes with Node's.
//
//   node node/build.js [--debug] [--force] [--jobs N] [--quiet] [--check]
//
// Environment: CC, CXX, CFLAGS, CXXFLAGS, LDFLAGS, UVWS_NODE_INCLUDE (the
// directory holding node_api.h and uv.h), LLHTTP_SOURCE_DIR (llhttp.c, api.c,
// http.c), LLHTTP_INCLUDE_DIR (llhttp.h), UVWS_SANITIZE (e.g. address),
// UVWS_NODE_BUILD_DIR (output directory instead of node/build).
// Rebuilds are incremental (compiler dependency files).
'use strict';

const fs = require('fs');
const path = require('path');
const os = require('os');
const { spawn, spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
// UVWS_NODE_BUILD_DIR builds elsewhere (the AddressSanitizer build of
// tests/sanitize/node.sh), leaving node/build alone.
const OUT_DIR = process.env.UVWS_NODE_BUILD_DIR ? path.resolve(process.env.UVWS_NODE_BUILD_DIR) : path.join(__dirname, 'build');
const OBJ_DIR = path.join(OUT_DIR, 'obj');
const TARGET = path.join(OUT_DIR, 'uvws.node');

function parseArgs(argv) {
  const o = { debug: false, force: false, jobs: Math.min(2, os.cpus().length || 1), quiet: false, check: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--debug') o.debug = true;
    else if (a === '--force') o.force = true;
    else if (a === '--quiet') o.quiet = true;
    else if (a === '--check') o.check = true;
    else if (a === '--jobs' || a === '-j') o.jobs = Math.max(1, parseInt(argv[++i], 10) || 1);
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function firstDir(candidates, file) {
  for (const c of candidates) {
    if (c && fs.existsSync(path.join(c, file))) return c;
  }
  return null;
}

function nodeIncludeDir() {
  const dir = firstDir([
    process.env.UVWS_NODE_INCLUDE,
    path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ], 'node_api.h');
  if (!dir) {
    throw new Error('Node headers (node_api.h) not found: install the ' +
      'Node.js development headers or set UVWS_NODE_INCLUDE');
  }
  // A Node that bundles libuv and OpenSSL ships their headers next to its
  // own; one built against the system's (Debian's nodejs) uses the system
  // headers, found after these.
  if (!fs.existsSync(path.join(dir, 'uv.h')) && !fs.existsSync('/usr/include/uv.h')) {
    throw new Error(`uv.h not found (neither in ${dir} nor in /usr/include)`);
  }
  return dir;
}

function llhttpDirs() {
  const src = firstDir([
    process.env.LLHTTP_SOURCE_DIR,
    path.join(__dirname, 'deps', 'llhttp'),
    '/usr/share/llhttp',
  ], 'llhttp.c');
  const inc = firstDir([
    process.env.LLHTTP_INCLUDE_DIR,
    src,
    path.join(__dirname, 'deps', 'llhttp'),
    '/usr/share/include/llhttp',
    '/usr/include/llhttp',
    '/usr/include',
  ], 'llhttp.h');
  if (!src || !inc) {
    throw new Error('llhttp C sources not found: install Debian\'s node-llhttp ' +
      'or set LLHTTP_SOURCE_DIR and LLHTTP_INCLUDE_DIR');
  }
  return { src, inc };
}

function addonApiDir() {
  return path.dirname(require.resolve('node-addon-api/package.json', { paths: [ROOT, __dirname] }));
}

function splitFlags(s) {
  return (s || '').split(/\s+/).filter(Boolean);
}

function sources() {
  const list = [];
  const core = path.join(ROOT, 'core', 'src');
  for (const f of fs.readdirSync(core).sort()) if (f.endsWith('.c')) list.push({ file: path.join(core, f), lang: 'c', kind: 'core' });
  const { src } = llhttpDirs();
  for (const f of ['llhttp.c', 'api.c', 'http.c']) list.push({ file: path.join(src, f), lang: 'c', kind: 'llhttp' });
  const glue = path.join(__dirname, 'src');
  for (const f of fs.readdirSync(glue).sort()) if (f.endsWith('.cc')) list.push({ file: path.join(glue, f), lang: 'cxx', kind: 'glue' });
  return list;
}

function objName(s) {
  const base = path.basename(s.file).replace(/\.(c|cc)$/, '');
  return path.join(OBJ_DIR, `${s.kind}_${base}.o`);
}

function mtime(f) {
  try {
    return fs.statSync(f).mtimeMs;
  } catch {
    return -1;
  }
}

// Parse a make-style dependency file written by -MMD.
function depsOf(dfile) {
  let text;
  try {
    text = fs.readFileSync(dfile, 'utf8');
  } catch {
    return null;
  }
  const body = text.replace(/\\\r?\n/g, ' ');
  const colon = body.indexOf(': ');
  if (colon < 0) return null;
  return body.slice(colon + 2).split(/\s+/).filter((x) => x && !x.endsWith(':'));
}

function stale(obj, flagsKey) {
  const t = mtime(obj);
  if (t < 0) return true;
  const deps = depsOf(obj.replace(/\.o$/, '.d'));
  if (!deps) return true;
  for (const d of deps) if (mtime(d) > t || mtime(d) < 0) return true;
  let key;
  try {
    key = fs.readFileSync(obj.replace(/\.o$/, '.flags'), 'utf8');
  } catch {
    return true;
  }
  return key !== flagsKey;
}

function run(cmd, args, quiet) {
  return new Promise((resolve, reject) => {
    if (!quiet) process.stdout.write(`  ${path.basename(cmd)} ${args.filter((a) => !a.startsWith('-I') && !a.startsWith('-D') && !a.startsWith('-W') && !a.startsWith('-f')).join(' ')}\n`);
    const p = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function build(opts) {
  const nodeInc = nodeIncludeDir();
  const { inc: llInc } = llhttpDirs();
  const napiDir = addonApiDir();
  const CC = process.env.CC || which('cc') || 'gcc';
  const CXX = process.env.CXX || which('c++') || 'g++';

  const common = [
    '-fPIC', '-fvisibility=hidden', '-pthread',
    opts.debug ? '-O0' : '-O2', '-g',
    '-D_GNU_SOURCE',
  ];
  if (!opts.debug) common.push('-DNDEBUG');
  if (process.env.UVWS_SANITIZE) common.push(`-fsanitize=${process.env.UVWS_SANITIZE}`, '-fno-omit-frame-pointer');
  // Node's headers come first: its uv.h and its bundled OpenSSL headers, not
  // the system's, because those are the libraries the symbols resolve to.
  const includes = [`-I${nodeInc}`, `-I${path.join(ROOT, 'core', 'include')}`, `-I${path.join(ROOT, 'core', 'src')}`, `-I${llInc}`];
  const cflags = [...common, '-std=gnu11', ...includes, ...splitFlags(process.env.CFLAGS)];
  // permessage-deflate is always compiled in (the engine always has it); the
  // addon reports the engine's features at run time (binding.features).
  const cxxflags = [
    ...common, '-std=c++17', '-fno-exceptions', '-fno-rtti', ...includes, `-I${napiDir}`,
    '-DNAPI_VERSION=8', '-DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS',
    '-DNODE_ADDON_API_DISABLE_DEPRECATED', ...splitFlags(process.env.CXXFLAGS),
  ];
  const warn = { core: ['-Wall', '-Wextra', '-Wno-unused-parameter'], llhttp: ['-w'], glue: ['-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-missing-field-initializers'] };

  fs.mkdirSync(OBJ_DIR, { recursive: true });
  const srcs = sources();
  const jobs = [];
  for (const s of srcs) {
    const obj = objName(s);
    const compiler = s.lang === 'c' ? CC : CXX;
    const flags = [...(s.lang === 'c' ? cflags : cxxflags), ...warn[s.kind]];
    const key = JSON.stringify([compiler, flags]);
    if (opts.force || stale(obj, key)) {
      jobs.push({ s, obj, compiler, args: [...flags, '-MMD', '-MF', obj.replace(/\.o$/, '.d'), '-c', s.file, '-o', obj], key });
    }
  }
  if (opts.check) {
    return jobs.length === 0 && mtime(TARGET) >= 0;
  }
  if (!jobs.length && mtime(TARGET) < 0 && !opts.quiet) process.stdout.write('uvws: linking\n');
  let next = 0;
  let failed = null;
  async function worker() {
    while (next < jobs.length && !failed) {
      const j = jobs[next++];
      try {
        await run(j.compiler, j.args, opts.quiet);
        fs.writeFileSync(j.obj.replace(/\.o$/, '.flags'), j.key);
      } catch (e) {
        failed = e;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.jobs, Math.max(1, jobs.length)) }, worker));
  if (failed) throw failed;

  const objs = srcs.map(objName);
  const newest = Math.max(...objs.map(mtime));
  const linkKeyFile = path.join(OUT_DIR, 'link.flags');
  const linkKey = JSON.stringify([CXX, process.env.LDFLAGS || '', process.env.UVWS_SANITIZE || '', objs]);
  let oldLinkKey = '';
  try {
    oldLinkKey = fs.readFileSync(linkKeyFile, 'utf8');
  } catch {}
  if (opts.force || jobs.length || mtime(TARGET) < newest || oldLinkKey !== linkKey) {
    // No -lcrypto, no -luv: those symbols come from the node process.
    // Export only the Node-API entry points: the engine's and llhttp's symbols
    // stay private to the addon.
    const vscript = path.join(OUT_DIR, 'exports.map');
    fs.writeFileSync(vscript, '{\n  global: napi_register_module_v1; node_api_module_get_api_version_v1;\n  local: *;\n};\n');
    const ldflags = ['-shared', '-pthread', `-Wl,--version-script=${vscript}`, ...splitFlags(process.env.LDFLAGS)];
    if (process.env.UVWS_SANITIZE) ldflags.push(`-fsanitize=${process.env.UVWS_SANITIZE}`);
    const tmp = `${TARGET}.tmp`;
    await run(CXX, [...ldflags, '-o', tmp, ...objs], opts.quiet);
    fs.renameSync(tmp, TARGET);
    fs.writeFileSync(linkKeyFile, linkKey);
  }
  if (!opts.quiet) process.stdout.write(`uvws: built ${path.relative(process.cwd(), TARGET) || TARGET}\n`);
  return true;
}

module.exports = { build, TARGET };

if (require.main === module) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\nusage: node node/build.js [--debug] [--force] [--jobs N] [--quiet] [--check]\n`);
    process.exit(2);
  }
  build(opts).then(
    (ok) => process.exit(ok ? 0 : 1),
    (e) => {
      process.stderr.write(`uvws: build failed: ${e.message}\n`);
      process.exit(1);
    },
  );
}

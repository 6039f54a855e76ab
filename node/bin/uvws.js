#!/usr/bin/env node
// The `uvws` command-line tool: a WebSocket server and an interactive client
// for debugging services (`npx uvws`). The Python package installs the same
// tool (`python -m uvws`, python/uvws/__main__.py): same commands, options,
// output and exit codes; see docs/cli.md.
//
//   uvws listen PORT [--echo] [--host H] [--tls-cert C --tls-key K]
//                    [--subprotocol P ...]
//   uvws connect URL [--header "Name: value" ...] [--subprotocol P ...]
//                    [--ca FILE] [--insecure] [--wait SECONDS]
//
// Events go to stdout, one line each; errors to stderr, prefixed "uvws: ".
'use strict';

const fs = require('fs');

const USAGE = `\
usage: uvws listen PORT [--echo] [--host H] [--tls-cert C --tls-key K] [--subprotocol P ...]
       uvws connect URL [--header "Name: value" ...] [--subprotocol P ...] [--ca FILE] [--insecure] [--wait S]

listen   run a WebSocket server on PORT (0: any free port); prints
         "listening on <port>", then each connection, message and close
         (--echo: send every message back)
connect  connect to URL (ws:// or wss://); each line of stdin is sent as a
         text message, received messages are printed as "< text" or
         "< binary N bytes: <hex>"; end of input closes with 1000 (after
         --wait seconds, default 0, for late replies)
`;

// Options of each command: name -> 'flag', 'one' (takes a value) or 'many'
// (repeatable).
const OPTIONS = {
  listen: { '--echo': 'flag', '--host': 'one', '--tls-cert': 'one', '--tls-key': 'one', '--subprotocol': 'many' },
  connect: { '--header': 'many', '--subprotocol': 'many', '--ca': 'one', '--insecure': 'flag', '--wait': 'one' },
};

const HIGH_WATER = 1024 * 1024; // connect: stop reading stdin beyond this much unsent
const HEX_BYTES = 64; // binary messages: hex of the first 64 bytes, then "..."

const CLOSE_NAMES = {
  1000: 'normal',
  1001: 'going away',
  1002: 'protocol error',
  1003: 'unsupported data',
  1004: 'reserved',
  1005: 'no status',
  1006: 'abnormal',
  1007: 'invalid data',
  1008: 'policy violation',
  1009: 'message too big',
  1010: 'extension required',
  1011: 'internal error',
  1012: 'service restart',
  1013: 'try again later',
  1014: 'bad gateway',
  1015: 'TLS handshake',
};

class UsageError extends Error {}

// -- output formats (identical in python/uvws/__main__.py) -----------------

function closeName(code) {
  if (CLOSE_NAMES[code] !== undefined) return CLOSE_NAMES[code];
  if (code >= 3000 && code <= 3999) return 'registered';
  if (code >= 4000 && code <= 4999) return 'private';
  return 'unknown';
}

function formatClose(code, reason) {
  if (code === undefined || code === null) code = 1006;
  let line = `closed ${code} (${closeName(code)})`;
  const text = Buffer.isBuffer(reason) ? reason.toString('utf8') : reason || '';
  if (text) line += ` ${JSON.stringify(text)}`;
  return line;
}

function formatMessage(data, isBinary) {
  const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  if (!isBinary) return `< ${buf.toString('utf8')}`;
  const tail = buf.length > HEX_BYTES ? '...' : '';
  return `< binary ${buf.length} bytes: ${buf.subarray(0, HEX_BYTES).toString('hex')}${tail}`;
}

function formatAddress(host, port) {
  if (!host) return '?';
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

// errno name for socket errors (as Python's errno.errorcode), else the message.
function errorText(err) {
  if (err && typeof err.code === 'string' && /^E[A-Z0-9]+$/.test(err.code) && err.syscall) return err.code;
  const text = (err && err.message) || String(err);
  return lowerFirst(text.startsWith('uvws: ') ? text.slice(6) : text);
}

// "Server sent ..." -> "server sent ..." (not "TLS ..." -> "tLS ...").
function lowerFirst(text) {
  if (text.length > 1 && /[A-Z]/.test(text[0]) && /[a-z]/.test(text[1])) return text[0].toLowerCase() + text.slice(1);
  return text;
}

function out(line) {
  process.stdout.write(line + '\n');
}

function err(line) {
  process.stderr.write(`uvws: ${line}\n`);
}

// Exit once what was written to stdout and stderr has been handed over (a
// pipe that is full makes Node queue writes, which an immediate
// process.exit() would drop).
function exit(code) {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(1);
  throw e;
});

// -- arguments -------------------------------------------------------------

class HelpRequest extends Error {
  constructor(status) {
    super('help');
    this.status = status;
  }
}

function parse(argv) {
  if (argv.length === 0) throw new HelpRequest(2);
  if (['-h', '--help', 'help'].includes(argv[0])) throw new HelpRequest(0);
  const command = argv[0];
  if (!Object.prototype.hasOwnProperty.call(OPTIONS, command)) throw new UsageError(`unknown command '${command}'`);
  const spec = OPTIONS[command];
  const opts = {};
  const positional = [];
  let i = 1;
  while (i < argv.length) {
    const a = argv[i++];
    if (a === '-h' || a === '--help') throw new HelpRequest(0);
    if (a === '--') {
      positional.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a : a.slice(0, eq);
      let value = eq < 0 ? undefined : a.slice(eq + 1);
      const kind = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
      if (kind === undefined) throw new UsageError(`unknown option ${name} for ${command}`);
      if (kind === 'flag') {
        if (value !== undefined) throw new UsageError(`${name} takes no value`);
        opts[name] = true;
        continue;
      }
      if (value === undefined) {
        if (i >= argv.length) throw new UsageError(`${name} needs a value`);
        value = argv[i++];
      }
      if (kind === 'many') (opts[name] = opts[name] || []).push(value);
      else opts[name] = value;
      continue;
    }
    positional.push(a);
  }
  if (positional.length !== 1) {
    const what = command === 'listen' ? 'PORT' : 'URL';
    throw new UsageError(`${command} needs one ${what}` + (positional.length ? `, got ${positional.length} arguments` : ''));
  }
  return { command, arg: positional[0], opts };
}

function loadUvws() {
  return require('../index.js');
}

function readFile(name, file) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`${name}: cannot read ${file}: ${e.code || e.message}`);
  }
}

// -- listen ----------------------------------------------------------------

function listen(portArg, opts) {
  if (!/^[0-9]+$/.test(portArg) || Number(portArg) > 65535) throw new UsageError(`invalid port '${portArg}'`);
  const port = Number(portArg);
  const host = opts['--host'] === undefined ? '0.0.0.0' : opts['--host'];
  const cert = opts['--tls-cert'];
  const key = opts['--tls-key'];
  if (Boolean(cert) !== Boolean(key)) throw new UsageError('--tls-cert and --tls-key go together');
  const echo = Boolean(opts['--echo']);
  const supported = opts['--subprotocol'];
  const options = {
    port,
    host,
    // The first of the client's offers that we support (any, without
    // --subprotocol); none: the client fails the handshake.
    handleProtocols(offered) {
      for (const p of offered) if (supported === undefined || supported.includes(p)) return p;
      return false;
    },
  };
  if (cert) {
    options.cert = readFile('--tls-cert', cert);
    options.key = readFile('--tls-key', key);
  }

  const { WebSocketServer } = loadUvws();
  let wss;
  try {
    wss = new WebSocketServer(options);
  } catch (e) {
    err(`cannot listen on ${host}:${port}: ${errorText(e)}`);
    exit(1);
    return;
  }
  let listening = false;
  let ids = 0;
  wss.on('listening', () => {
    listening = true;
    out(`listening on ${wss.address().port}`);
  });
  wss.on('error', (e) => {
    if (!listening) {
      err(`cannot listen on ${host}:${port}: ${errorText(e)}`);
      exit(1);
      return;
    }
    err(`server error: ${errorText(e)}`);
  });
  wss.on('connection', (ws, req) => {
    const tag = `[${++ids}]`;
    let line = `${tag} connection from ${formatAddress(req.socket.remoteAddress, req.socket.remotePort)} ${req.url}`;
    if (ws.protocol) line += ` subprotocol ${ws.protocol}`;
    out(line);
    ws.on('message', (data, isBinary) => {
      out(`${tag} ${formatMessage(data, isBinary)}`);
      if (echo && ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
    });
    ws.on('error', (e) => err(`${tag} error: ${errorText(e)}`));
    ws.on('close', (code, reason) => out(`${tag} ${formatClose(code, reason)}`));
  });

  // SIGINT / SIGTERM: every connection is closed with 1001 (going away).
  let stopping = false;
  const stop = () => {
    if (stopping) {
      exit(0);
      return;
    }
    stopping = true;
    for (const ws of wss.clients) ws.close(1001, 'server shutting down'); // as the Python engine's
    wss.close(() => exit(0));
    setTimeout(() => exit(0), 6000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

// -- connect ---------------------------------------------------------------

function connect(url, opts) {
  const headers = {};
  for (const h of opts['--header'] || []) {
    const i = h.indexOf(':');
    const name = i < 0 ? '' : h.slice(0, i).trim();
    if (!name) throw new UsageError(`invalid header '${h}' (expected "Name: value")`);
    const value = h.slice(i + 1).trim();
    if (headers[name] === undefined) headers[name] = value;
    else headers[name] = [].concat(headers[name], value);
  }
  const options = { headers, perMessageDeflate: false };
  if (opts['--ca']) options.ca = readFile('--ca', opts['--ca']);
  if (opts['--insecure']) options.rejectUnauthorized = false;
  const protocols = opts['--subprotocol'] || [];
  const waitArg = opts['--wait'] === undefined ? '0' : opts['--wait'];
  if (!/^[0-9]+(\.[0-9]+)?$/.test(waitArg)) throw new UsageError(`invalid --wait '${waitArg}' (seconds)`);
  const wait = Number(waitArg);

  const WebSocket = loadUvws();
  let ws;
  try {
    ws = new WebSocket(url, protocols, options);
  } catch (e) {
    err(`cannot connect to ${url}: ${errorText(e)}`);
    exit(1);
    return;
  }

  let opened = false;
  let firstError = null;
  let status = 0; // HTTP status of a refused upgrade
  let reading = false;
  let eof = false;
  let buf = Buffer.alloc(0);
  const stdin = process.stdin;

  // stdin: read only while the connection is open; each line is one text
  // message (without its "\n" or "\r\n").
  const sendLine = (line) => {
    if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (ws.readyState !== ws.OPEN) return;
    ws.send(line.toString('utf8'), (e) => {
      if (!e && ws.bufferedAmount <= HIGH_WATER) resume();
    });
    // Stop reading while the socket is this far behind; the callback of a
    // send the engine had to queue runs once its queue has drained.
    if (ws.bufferedAmount > HIGH_WATER) pause();
  };
  const onData = (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let i;
    while ((i = buf.indexOf(0x0a)) >= 0) {
      const line = buf.subarray(0, i);
      buf = buf.subarray(i + 1);
      sendLine(line);
    }
  };
  const onEnd = () => {
    if (buf.length) sendLine(buf);
    buf = Buffer.alloc(0);
    endOfInput();
  };
  const resume = () => {
    if (reading || eof || ws.readyState !== ws.OPEN) return;
    reading = true;
    stdin.resume();
  };
  const pause = () => {
    if (!reading) return;
    reading = false;
    stdin.pause();
  };
  const endOfInput = () => {
    if (eof) return;
    eof = true;
    pause();
    if (wait > 0) setTimeout(() => ws.close(1000), wait * 1000);
    else ws.close(1000);
  };

  ws.on('open', () => {
    opened = true;
    let line = `connected to ${url}`;
    if (ws.protocol) line += ` subprotocol ${ws.protocol}`;
    out(line);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onEnd);
    resume();
  });
  ws.on('unexpected-response', (req, res) => {
    status = res.statusCode;
  });
  ws.on('message', (data, isBinary) => out(formatMessage(data, isBinary)));
  ws.on('error', (e) => {
    if (firstError === null) firstError = e;
    if (opened) err(`error: ${errorText(e)}`);
  });
  ws.on('close', (code, reason) => {
    pause();
    let result;
    if (!opened) {
      let why = 'closed during the handshake';
      if (status) why = `handshake failed: HTTP ${status}`;
      else if (firstError) why = errorText(firstError);
      err(`cannot connect to ${url}: ${why}`);
      result = 1;
    } else {
      out(formatClose(code, reason));
      result = code === 1000 || code === 1001 || code === 1005 ? 0 : 1;
    }
    stdin.destroy();
    exit(result);
  });

  // Ctrl-C / SIGTERM: as end of input (close with 1000); a second one drops
  // the connection.
  const interrupted = () => {
    if (eof || !opened) ws.terminate();
    else endOfInput();
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
}

function main(argv) {
  try {
    const { command, arg, opts } = parse(argv);
    if (command === 'listen') listen(arg, opts);
    else connect(arg, opts);
  } catch (e) {
    if (e instanceof HelpRequest) {
      (e.status === 0 ? process.stdout : process.stderr).write(USAGE);
      process.exitCode = e.status;
      return;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`uvws: ${e.message}\n` + USAGE.split('\n').slice(0, 2).join('\n') + '\n');
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}

module.exports = { closeName, formatClose, formatMessage, parse };

if (require.main === module) main(process.argv.slice(2));

'use strict';

// WebSocketServer: ws's API on the uvws engine. With `port`, the engine itself
// listens (no Node HTTP server in the path). With `noServer` or `server`,
// Node's HTTP server reads the upgrade request and handleUpgrade() hands the
// socket over to the engine (its file descriptor is duplicated and adopted by
// a private engine server bound to 127.0.0.1, which only serves adopted
// sockets and exists only while it has some).

const EventEmitter = require('events');
const http = require('http');
const net = require('net');
const dns = require('dns');
const { createHash } = require('crypto');

const binding = require('./binding');
const { WebSocket, makeHeaders, tlsVersion, pemText, deflateOptions, backpressureOptions, publishArgs, topicResult, failBackpressure } = require('./websocket');
const { unsupported } = require('./unsupported');

const E = binding.errors;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

// Response headers the engine writes itself.
const ENGINE_RESPONSE_HEADERS = new Set([
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'content-length',
  'content-type',
]);

class UpgradeRequest {
  constructor(path, query, rawHeaders, ip, port, family, secure) {
    this.method = 'GET';
    this.url = query === null ? path : `${path}?${query}`;
    this.httpVersion = '1.1';
    this.httpVersionMajor = 1;
    this.httpVersionMinor = 1;
    this.rawHeaders = rawHeaders;
    this.headers = makeHeaders(rawHeaders);
    this.socket = {
      remoteAddress: ip,
      remotePort: port,
      remoteFamily: family === 6 ? 'IPv6' : 'IPv4',
      encrypted: secure ? true : undefined,
    };
    this.connection = this.socket;
  }
}

function emitClose(server) {
  server._state = CLOSED;
  server.emit('close');
}

function listenError(code, host, port) {
  const name = binding.errName(code) || 'UNKNOWN';
  const err = new Error(`listen ${name}: ${binding.strerror(code)} ${host}:${port}`);
  err.code = name;
  err.errno = code;
  err.syscall = 'listen';
  err.address = host;
  err.port = port;
  return err;
}

function headerPairs(headers, skip) {
  const out = [];
  if (!headers) return out;
  for (const name of Object.keys(headers)) {
    if (skip && skip.has(name.toLowerCase())) continue;
    const v = headers[name];
    if (Array.isArray(v)) for (const x of v) out.push(name, String(x));
    else if (v !== undefined) out.push(name, String(v));
  }
  return out;
}

// The engine refused a response header (a name that is not an HTTP token, a
// value with CR, LF, NUL or another control character): the error Node's
// http module throws for the same header.
function headerError() {
  const detail = binding.lastError();
  const isName = /header name/.test(detail);
  const err = new TypeError(`uvws: ${detail || 'invalid response header'}`);
  err.code = isName ? 'ERR_INVALID_HTTP_TOKEN' : 'ERR_INVALID_CHAR';
  return err;
}

// A header given by the application was refused: nothing of it reaches the
// wire. The upgrade is answered with a plain 500 and the server emits
// 'error' (an uncaught exception when nobody listens, as in Node's http).
function refuseHeaders(server, up) {
  const err = headerError();
  binding.reject(up, 500, [], http.STATUS_CODES[500]);
  server.emit('error', err);
}

function rejectUpgrade(up, code, message, headers, server) {
  if (!http.STATUS_CODES[code]) code = code >= 500 ? 500 : 400;
  message = message || http.STATUS_CODES[code];
  const r = binding.reject(up, code, headerPairs(headers, ENGINE_RESPONSE_HEADERS), String(message));
  if (r === E.EINVAL) refuseHeaders(server, up);
}

function serverTls(options) {
  if (options.cert === undefined && options.key === undefined && options.pfx === undefined) return null;
  for (const k of ['pfx', 'passphrase', 'SNICallback', 'secureContext', 'ALPNProtocols']) {
    if (options[k] !== undefined) unsupported(`the TLS option ${k}`, 'give PEM cert and key (and sni for several names)');
  }
  const tls = { cert: pemText(options.cert), key: pemText(options.key) };
  if (options.ca !== undefined) tls.ca = pemText(options.ca);
  if (options.requestCert) tls.verifyClient = options.rejectUnauthorized === false ? 1 : 2;
  if (typeof options.ciphers === 'string') tls.ciphers = options.ciphers;
  if (options.minVersion !== undefined) tls.minVersion = tlsVersion(options.minVersion, 'minVersion');
  if (options.sni) {
    tls.sni = Object.keys(options.sni).map((name) => ({
      serverName: name,
      cert: pemText(options.sni[name].cert),
      key: pemText(options.sni[name].key),
    }));
  }
  return tls;
}

class WebSocketServer extends EventEmitter {
  /**
   * @param {Object} options
   * @param {Function} [callback] a listener for 'listening'
   */
  constructor(options, callback) {
    super();
    options = {
      maxPayload: 100 * 1024 * 1024,
      skipUTF8Validation: false,
      perMessageDeflate: false,
      handleProtocols: null,
      clientTracking: true,
      verifyClient: null,
      noServer: false,
      backlog: null,
      server: null,
      host: null,
      path: null,
      port: null,
      WebSocket,
      ...options,
    };

    if (
      (options.port == null && !options.server && !options.noServer) ||
      (options.port != null && (options.server || options.noServer)) ||
      (options.server && options.noServer)
    ) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    if (options.perMessageDeflate && !binding.features.permessageDeflate) {
      unsupported('perMessageDeflate', 'this build of the uvws engine has no permessage-deflate; leave it false');
    }
    this._deflate = options.perMessageDeflate ? deflateOptions(options.perMessageDeflate) : null;
    backpressureOptions(options, {}); // throws now for an invalid maxBackpressure
    if (options.autoPong === false) unsupported('autoPong: false', 'the engine always answers pings');
    if (options.server && (options.server.addContext || options.server instanceof require('tls').Server)) {
      unsupported('attaching to an https.Server', 'give WebSocketServer the TLS options (cert, key) and a port instead');
    }

    this._state = RUNNING;
    this._native = null; // the engine server listening on options.port
    this._hidden = null; // the private engine server for adopted sockets
    this._adopting = null;
    this._pending = 0; // adopted upgrades not yet decided
    this._statsBase = null; // counters of engine servers that have ended
    this._live = 0; // open engine connections
    this._server = null;
    this._removeListeners = null;
    this._tls = serverTls(options);
    this._secure = this._tls !== null;
    this._emitConnection = (ws, req) => this.emit('connection', ws, req);
    if (options.path !== null && options.path !== undefined && typeof options.path !== 'string') {
      throw new TypeError('The "path" option must be a string');
    }

    if (options.clientTracking) {
      this.clients = new Set();
      this._shouldEmitClose = false;
    }
    this.options = options;

    if (options.port != null) {
      if (callback) this.once('listening', callback);
      this._listen();
    } else if (options.server) {
      if (this._secure) unsupported('TLS options together with the server option');
      this._server = options.server;
      const map = {
        listening: this.emit.bind(this, 'listening'),
        error: this.emit.bind(this, 'error'),
        upgrade: (req, socket, head) => {
          this.handleUpgrade(req, socket, head, this._emitConnection);
        },
      };
      for (const ev of Object.keys(map)) this._server.on(ev, map[ev]);
      this._removeListeners = () => {
        for (const ev of Object.keys(map)) options.server.removeListener(ev, map[ev]);
      };
    }
  }

  _nativeOptions() {
    const o = this.options;
    const n = { maxPayload: o.maxPayload };
    if (o.closeTimeout) n.closeTimeout = o.closeTimeout;
    if (o.maxFragments !== undefined) n.maxFragments = o.maxFragments;
    if (o.handshakeTimeout) n.handshakeTimeout = o.handshakeTimeout;
    if (o.maxConnections) n.maxConnections = o.maxConnections;
    if (o.maxPendingHandshakes !== undefined) n.maxPendingHandshakes = o.maxPendingHandshakes;
    backpressureOptions(o, n);
    if (this._deflate) n.deflate = this._deflate;
    return n;
  }

  _listen() {
    const o = this.options;
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`options.port should be >= 0 and < 65536. Received ${o.port}.`);
    }
    const start = (hosts, sync) => {
      let r;
      let host;
      for (host of hosts) {
        const n = this._nativeOptions();
        n.host = host;
        n.port = port;
        if (o.path) n.path = o.path;
        if (o.backlog != null) n.backlog = o.backlog;
        if (o.ipv6Only) n.ipv6Only = 1;
        if (this._tls) n.tls = this._tls;
        r = binding.listen(this, n);
        if (typeof r !== 'number') break;
        if (r === E.ENOTSUP && this._tls) {
          unsupported('TLS servers (wss://)', 'this build of the uvws engine has no TLS yet');
        }
        if (r === E.ETLS) {
          const err = new Error('uvws: the TLS options were refused (cert, key, ca: PEM text that OpenSSL can load, a key that matches the certificate)');
          err.code = 'ERR_UVWS_TLS';
          if (sync) throw err;
          this.emit('error', err);
          return;
        }
        if (r !== binding.errors.EINVAL && binding.errName(r) !== 'EAFNOSUPPORT' && binding.errName(r) !== 'EADDRNOTAVAIL') break;
      }
      if (typeof r === 'number') {
        const err = r === E.EINVAL ? new TypeError(`uvws: invalid server options (host ${host})`) : listenError(r, host, port);
        process.nextTick(() => this.emit('error', err));
        return;
      }
      this._native = r;
      process.nextTick(() => {
        if (this._native !== null) this.emit('listening');
      });
    };
    const host = o.host;
    if (host === null || host === undefined) {
      start(['::', '0.0.0.0'], true);
    } else if (net.isIP(host) || host === 'localhost') {
      start([host === 'localhost' ? '127.0.0.1' : host], true);
    } else {
      dns.lookup(host, (err, address) => {
        if (err) {
          this.emit('error', err);
          return;
        }
        if (this._state === RUNNING) start([address], false);
      });
    }
  }

  address() {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    if (this._server) return this._server.address();
    if (this._native === null) return null;
    return binding.serverAddress(this._native);
  }

  close(cb) {
    if (this._state === CLOSED) {
      if (cb) {
        this.once('close', () => {
          cb(new Error('The server is not running'));
        });
      }
      process.nextTick(emitClose, this);
      return;
    }
    if (cb) this.once('close', cb);
    if (this._state === CLOSING) return;
    this._state = CLOSING;

    if (this.options.noServer || this.options.server) {
      if (this._removeListeners) {
        this._removeListeners();
        this._removeListeners = null;
        this._server = null;
      }
      if (this.clients) {
        if (!this.clients.size) process.nextTick(emitClose, this);
        else this._shouldEmitClose = true;
      } else {
        process.nextTick(emitClose, this);
      }
      this._maybeCloseHidden();
    } else if (this._native === null) {
      // Never listened (error, or a host still being looked up).
      process.nextTick(emitClose, this);
    } else {
      // As an http.Server: stop accepting, and 'close' once every
      // connection has ended. The engine cannot stop listening without
      // closing its connections, so until they are gone new upgrades are
      // answered 503.
      this._maybeCloseNative();
    }
  }

  _maybeCloseNative() {
    if (this._state !== CLOSING || this._native === null || this._live !== 0 || this._pending !== 0) return;
    const h = this._native;
    this._native = null;
    this._nativeClosing = true;
    if (binding.serverClose(h) < 0) process.nextTick(emitClose, this);
  }

  _maybeCloseHidden() {
    if (this._hidden === null || this._live !== 0 || this._pending !== 0 || this._adopting !== null) return;
    const h = this._hidden;
    this._hidden = null;
    binding.serverClose(h);
  }

  shouldHandle(req) {
    if (this.options.path) {
      const index = req.url.indexOf('?');
      const pathname = index !== -1 ? req.url.slice(0, index) : req.url;
      if (pathname !== this.options.path) return false;
    }
    return true;
  }

  handleUpgrade(req, socket, head, cb) {
    if (socket.encrypted) {
      unsupported('handleUpgrade() on a TLS socket', 'give WebSocketServer the TLS options and a port instead');
    }
    const handle = socket._handle;
    const fd = handle && typeof handle.fd === 'number' ? handle.fd : -1;
    if (fd < 0) {
      unsupported('handleUpgrade() on a socket without a file descriptor (e.g. a Duplex that is not a TCP socket)');
    }
    if (socket.destroyed || !socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    if (this._state !== RUNNING) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (this._hidden === null) {
      const n = this._nativeOptions();
      n.host = '127.0.0.1';
      n.port = 0;
      n.backlog = 1;
      if (this.options.path) n.path = this.options.path;
      const r = binding.listen(this, n);
      if (typeof r === 'number') throw listenError(r, '127.0.0.1', 0);
      this._hidden = r;
    }
    // Stop Node reading, take what it has buffered, and give the engine the
    // request as it came (rebuilt from the raw headers) plus what followed.
    socket.pause();
    if (typeof handle.readStop === 'function') handle.readStop();
    const chunks = [];
    let chunk;
    while ((chunk = socket.read()) !== null) chunks.push(chunk);
    let headText = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) headText += `${raw[i]}: ${raw[i + 1]}\r\n`;
    headText += '\r\n';
    const buf = Buffer.concat([Buffer.from(headText, 'latin1'), head || Buffer.alloc(0), ...chunks]);
    this._adopting = { req, cb };
    let r;
    try {
      r = binding.adopt(this._hidden, fd, buf);
    } finally {
      this._adopting = null;
    }
    // The engine has its own descriptor of the connection now.
    socket.destroy();
    if (r < 0) this.emit('error', new Error(`uvws: cannot adopt the socket: ${binding.strerror(r)}`));
    this._maybeCloseHidden();
  }

  /**
   * uvws extension: send one message to every open connection of this
   * server (the frame is built once). Returns how many it was handed to.
   */
  broadcast(data, options) {
    const h = this._native;
    if (h === null) return 0;
    let binary = typeof data !== 'string';
    if (options && options.binary !== undefined) binary = !!options.binary;
    return binding.broadcast(h, data, binary ? binding.BINARY : binding.TEXT);
  }

  /**
   * uvws extension (uWebSockets.js name): send one message to every
   * connection subscribed to a filter matching `topic`, once each; the
   * frame is built once and shared. Returns how many connections it was
   * handed to.
   */
  publish(topic, message, isBinary, compress) {
    const h = this._native;
    if (h === null) return 0;
    const [data, flags] = publishArgs(message, isBinary, compress);
    return topicResult(binding.serverPublish(h, topic, data, flags));
  }

  /** Connections holding exactly this filter. */
  numSubscribers(topic) {
    const h = this._native;
    return h === null ? 0 : binding.numSubscribers(h, topic);
  }

  /**
   * uvws extension: the engine's counters for this server (connections,
   * rejected upgrades by reason, messages and bytes each way, sends dropped,
   * pings and pongs, closes by code, errors by reason), as numbers. The
   * names are the engine's UVWS_STATS_MAP; `WebSocketServer.statsFields`
   * describes each. They include the engine servers that have ended (the
   * private one of `server` / `noServer` comes and goes), so after close()
   * they are the final values.
   */
  stats() {
    const out = {};
    for (const name of Object.keys(binding.statsFields)) out[name] = this._statsBase ? this._statsBase[name] : 0;
    for (const h of [this._native, this._hidden]) {
      const st = h === null ? null : binding.serverStats(h);
      if (st === null) continue;
      for (const name of Object.keys(st)) out[name] += st[name];
    }
    return out;
  }

  // An engine server ended: keep its counters (gauges are 0 by then).
  _keepStats(st) {
    if (!st) return;
    if (!this._statsBase) this._statsBase = st;
    else for (const name of Object.keys(st)) this._statsBase[name] += st[name];
  }

  _onOpen(ws) {
    this._live++;
    if (this.clients) this.clients.add(ws);
    const cb = ws._onConnection;
    const req = ws._req;
    ws._onConnection = null;
    ws._req = null;
    cb(ws, req);
  }

  _onClientClose(ws) {
    this._live--;
    if (this.clients) {
      this.clients.delete(ws);
      if (this._shouldEmitClose && !this.clients.size) process.nextTick(emitClose, this);
    }
    if (this._state === CLOSING) this._maybeCloseNative();
    this._maybeCloseHidden();
  }
}

function completeUpgrade(server, up, req, protocols, cb) {
  if (binding.upgradeAborted(up)) {
    rejectUpgrade(up, 400);
    return;
  }
  if (server._state > RUNNING) {
    rejectUpgrade(up, 503);
    return;
  }
  const ws = new server.options.WebSocket(null, undefined, server.options);
  let protocol = null;
  if (protocols.length) {
    protocol = server.options.handleProtocols
      ? server.options.handleProtocols(new Set(protocols), req)
      : protocols[0];
    if (!protocol) protocol = null;
  }
  let extra;
  if (server.listenerCount('headers') > 0) {
    const key = req.headers['sec-websocket-key'];
    const digest = createHash('sha1').update(key + GUID).digest('base64');
    const headers = [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${digest}`,
    ];
    if (protocol) headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
    server.emit('headers', headers, req);
    extra = [];
    for (let i = 1; i < headers.length; i++) {
      const line = String(headers[i]);
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim();
      if (ENGINE_RESPONSE_HEADERS.has(name.toLowerCase())) continue;
      extra.push(name, line.slice(colon + 1).trim());
    }
  }
  ws._protocol = protocol || '';
  ws._server = server;
  ws._req = req;
  ws._onConnection = cb;
  const h = binding.newConn(ws);
  ws._h = h;
  let r = binding.accept(up, h, protocol, extra);
  if (r === E.EPROTOCOL) {
    // handleProtocols chose a protocol the client did not offer.
    ws._protocol = '';
    r = binding.accept(up, h, null, extra);
  }
  if (r === E.EINVAL) {
    // A header pushed by a 'headers' listener was refused.
    ws._h = null;
    ws._readyState = WebSocket.CLOSED;
    refuseHeaders(server, up);
    return;
  }
  if (r < 0) {
    // The client went away before the 101 could be written.
    ws._h = null;
    ws._readyState = WebSocket.CLOSED;
  }
}

function handleRequest(server, up, req, protocols, cb) {
  if (server._state !== RUNNING) {
    rejectUpgrade(up, 503);
    return;
  }
  const verify = server.options.verifyClient;
  if (verify) {
    const version = +req.headers['sec-websocket-version'];
    const info = {
      origin: req.headers[version === 8 ? 'sec-websocket-origin' : 'origin'],
      secure: server._secure,
      req,
    };
    if (verify.length === 2) {
      server._pending++;
      let done = false;
      verify(info, (verified, code, message, headers) => {
        if (done) return;
        done = true;
        server._pending--;
        if (!verified) rejectUpgrade(up, code || 401, message, headers, server);
        else completeUpgrade(server, up, req, protocols, cb);
        if (server._state === CLOSING) server._maybeCloseNative();
        server._maybeCloseHidden();
      });
      return;
    }
    if (!verify(info)) {
      rejectUpgrade(up, 401);
      return;
    }
  }
  completeUpgrade(server, up, req, protocols, cb);
}

// Engine event: a valid upgrade request (`this` is the WebSocketServer).
function onUpgrade(up, path, query, rawHeaders, ip, port, family, protocols) {
  const adopting = this._adopting;
  if (adopting !== null) {
    this._adopting = null;
    handleRequest(this, up, adopting.req, protocols, adopting.cb);
    return;
  }
  if (this._native === null || this._hidden !== null && this.options.port == null) {
    // A direct connection to the private server of adopted sockets, or an
    // upgrade that raced with close().
    rejectUpgrade(up, this._state === RUNNING ? 403 : 503);
    return;
  }
  const req = new UpgradeRequest(path, query, rawHeaders, ip, port, family, this._secure);
  handleRequest(this, up, req, protocols, this._emitConnection);
}

// Engine event: the engine server is closed (`this` is the WebSocketServer).
function onServerClosed(finalStats) {
  this._keepStats(finalStats);
  if (this._nativeClosing) {
    this._nativeClosing = false;
    emitClose(this);
  }
}

// Engine events of topics (`this` is the WebSocketServer): uvws extensions.
function onSubscription(ws, topic, newCount, oldCount) {
  this.emit('subscription', ws, topic, newCount, oldCount);
}

// A published or broadcast message was not handed to `ws` (maxBackpressure).
// Nothing is lost silently: without a 'dropped' listener the connection is
// closed as for a send without a callback ('error' ERR_UVWS_BACKPRESSURE,
// then 'close' 1008).
function onDropped(ws, topic, data, isBinary) {
  if (!this.emit('dropped', ws, topic, data, isBinary) && ws.readyState === WebSocket.OPEN) failBackpressure(ws);
}
// Each counter of stats() and what it counts (from the engine).
Object.defineProperty(WebSocketServer, 'statsFields', { enumerable: true, value: Object.freeze({ ...binding.statsFields }) });

module.exports = {
  WebSocketServer,
  handlers: { onUpgrade, onServerClosed, onSubscription, onDropped },
};

'use strict';

// The WebSocket class: ws's API on the uvws engine. Server-side instances are
// created by WebSocketServer; `new WebSocket(url, protocols, options)` is a
// client. The native connection is `this._h` (an External); the engine's
// events arrive through the handlers at the end of this file, which index.js
// registers with the addon, with the WebSocket as `this`.

const EventEmitter = require('events');
const { Buffer } = require('buffer');
const http = require('http');
const { URL } = require('url');
const { Readable } = require('stream');

const binding = require('./binding');
const {
  addEventListener,
  removeEventListener,
  defineEventAttributes,
} = require('./event-target');
const { unsupported } = require('./unsupported');

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const readyStates = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
const BINARY_TYPES = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];
const EMPTY_BUFFER = Buffer.alloc(0);
const kStatusCode = Symbol('status-code');

const { TEXT, BINARY, MORE, NO_COMPRESS, SEND_QUEUED, SEND_DROPPED } = binding;
const E = binding.errors;

// Headers the engine writes itself in the upgrade request.
const RESERVED_REQUEST_HEADERS = new Set([
  'host',
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

function isValidStatusCode(code) {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

const isBlob = typeof Blob === 'function' ? (v) => v instanceof Blob : () => false;

// What the addon accepts as message data: strings, ArrayBufferViews and
// ArrayBuffers go as they are; anything else as ws does (Buffer.from).
function toSendable(data) {
  if (typeof data === 'string' || data === undefined || data === null) return data;
  if (ArrayBuffer.isView(data) || data instanceof ArrayBuffer) return data;
  if (typeof SharedArrayBuffer === 'function' && data instanceof SharedArrayBuffer) return Buffer.from(data);
  if (isBlob(data)) {
    unsupported('sending a Blob', 'send an ArrayBuffer or a Buffer (await blob.arrayBuffer())');
  }
  return Buffer.from(data);
}

// Topics: the message and flags of publish(topic, message, isBinary,
// compress). isBinary undefined: strings go as text, anything else binary.
function publishArgs(message, isBinary, compress) {
  if (typeof message === 'number') message = message.toString();
  const data = toSendable(message);
  let flags = typeof data === 'string' ? TEXT : BINARY;
  if (isBinary !== undefined && isBinary !== null) flags = isBinary ? BINARY : TEXT;
  if (compress === false) flags |= NO_COMPRESS;
  return [data, flags];
}

function topicResult(r) {
  if (r < 0) {
    const err = new Error(`uvws: ${binding.strerror(r)}`);
    const name = Object.keys(E).find((k) => E[k] === r);
    err.code = name ? `UVWS_${name}` : binding.errName(r);
    err.errno = r;
    throw err;
  }
  return r;
}

function byteLengthOf(data) {
  if (data === undefined || data === null) return 0;
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (isBlob(data)) return data.size;
  if (ArrayBuffer.isView(data) || data instanceof ArrayBuffer) return data.byteLength;
  return Buffer.from(data).length;
}

// ws's perMessageDeflate (true or an object) as the engine's options.
function deflateOptions(v) {
  const o = v === true ? {} : v;
  if (typeof o !== 'object' || o === null) throw new TypeError('perMessageDeflate must be a boolean or an object');
  const z = o.zlibDeflateOptions || {};
  const bits = (x, name) => {
    if (x === undefined || x === true || x === false) return 0;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 8 || x > 15) {
      throw new RangeError(`Invalid value for parameter "${name}": ${x}`);
    }
    return x;
  };
  return {
    serverNoContextTakeover: o.serverNoContextTakeover ? 1 : 0,
    clientNoContextTakeover: o.clientNoContextTakeover ? 1 : 0,
    serverMaxWindowBits: bits(o.serverMaxWindowBits, 'server_max_window_bits'),
    clientMaxWindowBits: bits(o.clientMaxWindowBits, 'client_max_window_bits'),
    level: Number.isInteger(z.level) && z.level > 0 ? z.level : 0,
    memLevel: Number.isInteger(z.memLevel) && z.memLevel > 0 ? z.memLevel : 0,
    threshold: o.threshold === undefined ? 0 : Math.max(1, o.threshold | 0),
  };
}

// maxBackpressure (bytes; 0: no limit, as ws) and closeOnBackpressure, for
// the engine. Left out, the engine's default applies (16 MiB).
function backpressureOptions(opts, native) {
  const max = opts.maxBackpressure;
  if (max !== undefined && max !== null) {
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) {
      throw new RangeError(`maxBackpressure must be a non-negative integer (bytes; 0: no limit). Received ${max}`);
    }
    native.maxBackpressure = max;
  }
  if (opts.closeOnBackpressure !== undefined) native.closeOnBackpressure = opts.closeOnBackpressure ? 1 : 0;
}

function toArrayBuffer(buf) {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf.buffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

class WebSocket extends EventEmitter {
  /**
   * @param {(String|URL|null)} address the URL to connect to; null for a
   *     server-side instance (created by WebSocketServer)
   * @param {(String|String[])} [protocols]
   * @param {Object} [options]
   */
  constructor(address, protocols, options) {
    super();
    this._binaryType = BINARY_TYPES[0];
    this._closeCode = 1006;
    this._closeFrameReceived = false;
    this._closeFrameSent = false;
    this._closeMessage = EMPTY_BUFFER;
    this._errorEmitted = false;
    this._paused = false;
    this._protocol = '';
    this._readyState = CONNECTING;
    this._bufferedAmount = 0;
    this._h = null;
    this._drainCbs = null;
    this._url = undefined;
    this._server = null;
    this._req = null;
    this._onConnection = null;
    this._failed = false;
    this._statusSeen = false;
    this._extensions = '';
    this._backpressureFailed = false;

    if (address !== null) {
      this._isServer = false;
      if (protocols === undefined) {
        if (!options || options.protocols === undefined) protocols = [];
        else if (Array.isArray(options.protocols)) protocols = options.protocols;
        else protocols = [options.protocols];
      } else if (!Array.isArray(protocols)) {
        if (typeof protocols === 'object' && protocols !== null) {
          options = protocols;
          if (options.protocols === undefined) protocols = [];
          else if (Array.isArray(options.protocols)) protocols = options.protocols;
          else protocols = [options.protocols];
        } else {
          protocols = [protocols];
        }
      }
      initAsClient(this, address, protocols, options);
    } else {
      this._isServer = true;
    }
  }

  get binaryType() {
    return this._binaryType;
  }

  set binaryType(type) {
    if (!BINARY_TYPES.includes(type)) return;
    this._binaryType = type;
  }

  get bufferedAmount() {
    if (this._h === null) return this._bufferedAmount;
    return binding.bufferedAmount(this._h) + this._bufferedAmount;
  }

  get extensions() {
    return this._extensions;
  }

  get isPaused() {
    return this._paused;
  }

  get protocol() {
    return this._protocol;
  }

  get readyState() {
    if (this._readyState === OPEN && this._h !== null && binding.readyState(this._h) !== OPEN) {
      // The peer started the closing handshake (or the socket is going).
      this._readyState = CLOSING;
    }
    return this._readyState;
  }

  get url() {
    return this._url;
  }

  close(code, data) {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (state === CONNECTING) {
      this._readyState = CLOSING;
      // The engine aborts the handshake and reports "WebSocket was closed
      // before the connection was established", then close (1006).
      if (this._h !== null) binding.terminate(this._h);
      return;
    }
    if (state === CLOSING) return;

    let reason;
    if (code === undefined) {
      code = 0;
    } else if (typeof code !== 'number' || !isValidStatusCode(code)) {
      throw new TypeError('First argument must be a valid error code number');
    } else if (data !== undefined && data.length) {
      if (Buffer.byteLength(data) > 123) {
        throw new RangeError('The message must not be greater than 123 bytes');
      }
      if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
        throw new TypeError('Second argument must be a string or a Uint8Array');
      }
      reason = data;
    }
    let r = binding.close(this._h, code, reason);
    if (r === E.EINVAL && reason !== undefined) {
      // The engine refuses a reason that is not UTF-8; send the code alone.
      r = binding.close(this._h, code, undefined);
    }
    this._readyState = CLOSING;
    if (r === 0) this._closeFrameSent = true;
  }

  pause() {
    const state = this.readyState;
    if (state === CONNECTING || state === CLOSED) return;
    this._paused = true;
    binding.pause(this._h);
  }

  resume() {
    const state = this.readyState;
    if (state === CONNECTING || state === CLOSED) return;
    this._paused = false;
    binding.resume(this._h);
  }

  ping(data, mask, cb) {
    return this._control(true, data, mask, cb);
  }

  pong(data, mask, cb) {
    return this._control(false, data, mask, cb);
  }

  _control(isPing, data, mask, cb) {
    if (this._readyState === CONNECTING) {
      throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    }
    if (typeof data === 'function') {
      cb = data;
      data = mask = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
      mask = undefined;
    }
    if (typeof data === 'number') data = data.toString();
    if (this.readyState !== OPEN) {
      sendAfterClose(this, data, cb);
      return;
    }
    data = toSendable(data);
    const r = isPing ? binding.ping(this._h, data) : binding.pong(this._h, data);
    if (r === E.EINVAL) throw new RangeError('The data size must not be greater than 125 bytes');
    if (r < 0) {
      this._readyState = CLOSING;
      sendAfterClose(this, data, cb);
      return;
    }
    if (cb) afterSend(this, 0, cb);
  }

  send(data, options, cb) {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (this._readyState !== OPEN) {
      if (this._readyState === CONNECTING) {
        throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
      }
      if (typeof data === 'number') data = data.toString();
      sendAfterClose(this, data, cb);
      return;
    }
    let flags;
    if (typeof data === 'string') {
      flags = TEXT;
    } else {
      if (typeof data === 'number') {
        data = data.toString();
        flags = TEXT;
      } else {
        data = toSendable(data);
        flags = BINARY;
      }
    }
    if (options !== undefined && options !== null) {
      if (options.binary !== undefined) flags = options.binary ? BINARY : TEXT;
      if (options.fin === false) flags |= MORE;
      if (options.compress === false) flags |= NO_COMPRESS;
    }
    const r = binding.send(this._h, data, flags);
    if (r < 0) {
      if (r === E.ENOTOPEN) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
      this._readyState = CLOSING;
      sendAfterClose(this, data, cb);
      return;
    }
    if (r === SEND_DROPPED) {
      // maxBackpressure bytes already wait for this peer: the message was
      // not queued. Data is never lost silently: the callback is told, and
      // without one the connection is closed (1008), as closeOnBackpressure.
      if (cb) process.nextTick(cb, backpressureError('message dropped: maxBackpressure reached'));
      else failBackpressure(this);
      return;
    }
    if (cb) afterSend(this, r, cb);
  }

  // --- topics (uWebSockets.js names; server connections only) ---

  /** Subscribe to a topic filter ('+' one level, '#' the rest; see
   *  docs/topics.md). True if newly subscribed; false if it already was or
   *  the connection is closed. Throws for a malformed filter, a limit, or a
   *  client connection. */
  subscribe(topic) {
    if (this._h === null) return false;
    const r = binding.subscribe(this._h, topic);
    if (r === E.ECLOSED) return false;
    return topicResult(r) === 1;
  }

  /** True if the connection held exactly this filter. */
  unsubscribe(topic) {
    if (this._h === null) return false;
    return topicResult(binding.unsubscribe(this._h, topic)) === 1;
  }

  /** True if the connection holds exactly this filter. */
  isSubscribed(topic) {
    return this._h !== null && binding.isSubscribed(this._h, topic);
  }

  /** The filters held, in subscription order. */
  getTopics() {
    return this._h === null ? [] : binding.topics(this._h);
  }

  /** Send a message to every subscriber of `topic` on this connection's
   *  server except this connection. Returns how many connections it was
   *  handed to. */
  publish(topic, message, isBinary, compress) {
    if (this._h === null) return 0;
    const [data, flags] = publishArgs(message, isBinary, compress);
    const r = binding.publish(this._h, topic, data, flags);
    if (r === E.ECLOSED) return 0;
    return topicResult(r);
  }

  terminate() {
    const state = this.readyState;
    if (state === CLOSED) return;
    this._readyState = CLOSING;
    if (this._h !== null) binding.terminate(this._h);
  }
}

for (const [name, value] of [
  ['CONNECTING', CONNECTING],
  ['OPEN', OPEN],
  ['CLOSING', CLOSING],
  ['CLOSED', CLOSED],
]) {
  Object.defineProperty(WebSocket, name, { enumerable: true, value });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}

for (const property of ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url']) {
  Object.defineProperty(WebSocket.prototype, property, { enumerable: true });
}

defineEventAttributes(WebSocket.prototype);
WebSocket.prototype.addEventListener = addEventListener;
WebSocket.prototype.removeEventListener = removeEventListener;

// The send callback: called once the data was handed to the kernel. A send
// that the engine wrote (or corked for this loop turn) completes now; one it
// had to queue completes when the queue drains.
function afterSend(ws, result, cb) {
  if (result === SEND_QUEUED || ws._drainCbs !== null) {
    if (ws._drainCbs === null) ws._drainCbs = [];
    ws._drainCbs.push(cb);
  } else {
    process.nextTick(cb, null);
  }
}

function backpressureError(msg) {
  const err = new Error(`uvws: ${msg}`);
  err.code = 'ERR_UVWS_BACKPRESSURE';
  return err;
}

// A send without a callback found maxBackpressure reached: close at once, as
// the engine's closeOnBackpressure does (the queue is full, so there is no
// room for a close frame): 'error' (ERR_UVWS_BACKPRESSURE), then 'close'
// with 1008.
function failBackpressure(ws) {
  ws._backpressureFailed = true;
  ws._readyState = CLOSING;
  binding.terminate(ws._h);
}

function flushDrainCbs(ws, err) {
  const cbs = ws._drainCbs;
  if (cbs === null) return;
  ws._drainCbs = null;
  for (const cb of cbs) cb(err);
}

function sendAfterClose(ws, data, cb) {
  if (data) ws._bufferedAmount += byteLengthOf(data);
  if (cb) {
    const state = ws.readyState;
    const err = new Error(`WebSocket is not open: readyState ${state} (${readyStates[state]})`);
    process.nextTick(cb, err);
  }
}

// ------------------------------------------------------------------------
// Client

function headerPairs(headers) {
  const out = [];
  if (!headers) return out;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    if (RESERVED_REQUEST_HEADERS.has(name.toLowerCase())) continue;
    if (Array.isArray(value)) {
      for (const v of value) out.push(name, String(v));
    } else {
      out.push(name, String(value));
    }
  }
  return out;
}

function pemText(v) {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(pemText).join('\n');
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  throw new TypeError('TLS certificates and keys must be PEM strings or Buffers');
}

function tlsVersion(v, name) {
  if (v === undefined) return 0;
  if (v === 'TLSv1.2') return 0x0303;
  if (v === 'TLSv1.3') return 0x0304;
  throw unsupported(`${name} ${v}`, 'the engine supports TLSv1.2 and TLSv1.3');
}

function clientTls(opts, host) {
  for (const k of ['pfx', 'passphrase', 'secureContext', 'checkServerIdentity', 'ALPNProtocols', 'session']) {
    if (opts[k] !== undefined) unsupported(`the TLS option ${k}`, 'give the PEM cert, key and ca instead');
  }
  const tls = {};
  if (opts.ca !== undefined) tls.ca = pemText(opts.ca);
  if (opts.cert !== undefined) tls.cert = pemText(opts.cert);
  if (opts.key !== undefined) tls.key = pemText(opts.key);
  if (opts.rejectUnauthorized === false) tls.insecure = 1;
  if (typeof opts.servername === 'string' && opts.servername !== '') tls.serverName = opts.servername;
  if (typeof opts.ciphers === 'string') tls.ciphers = opts.ciphers;
  if (opts.minVersion !== undefined) tls.minVersion = tlsVersion(opts.minVersion, 'minVersion');
  return tls;
}

function initAsClient(ws, address, protocols, options) {
  const opts = {
    protocolVersion: 13,
    maxPayload: 100 * 1024 * 1024,
    followRedirects: false,
    ...options,
  };

  if (opts.protocolVersion !== 13 && opts.protocolVersion !== 8) {
    throw new RangeError(`Unsupported protocol version: ${opts.protocolVersion} (supported versions: 8, 13)`);
  }
  if (opts.protocolVersion === 8) unsupported('protocolVersion 8', 'the engine speaks RFC 6455 (version 13)');

  let parsedUrl;
  if (address instanceof URL) {
    parsedUrl = address;
  } else {
    try {
      parsedUrl = new URL(address);
    } catch {
      throw new SyntaxError(`Invalid URL: ${address}`);
    }
  }
  if (parsedUrl.protocol === 'http:' || parsedUrl.protocol === 'https:') {
    parsedUrl = new URL(parsedUrl);
    parsedUrl.protocol = parsedUrl.protocol === 'http:' ? 'ws:' : 'wss:';
  }
  ws._url = parsedUrl.href;

  const isSecure = parsedUrl.protocol === 'wss:';
  const isIpcUrl = parsedUrl.protocol === 'ws+unix:';
  if (parsedUrl.protocol !== 'ws:' && !isSecure && !isIpcUrl) {
    throw new SyntaxError('The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"');
  }
  if (isIpcUrl && !parsedUrl.pathname) throw new SyntaxError("The URL's pathname is empty");
  if (parsedUrl.hash) throw new SyntaxError('The URL contains a fragment identifier');

  if (!binding.features.permessageDeflate && opts.perMessageDeflate !== undefined && opts.perMessageDeflate !== false) {
    unsupported('perMessageDeflate', 'this build of the uvws engine has no permessage-deflate; pass perMessageDeflate: false');
  }
  if (opts.autoPong === false) unsupported('autoPong: false', 'the engine always answers pings');
  for (const k of ['createConnection', 'agent', 'finishRequest', 'socketPath', 'generateMask']) {
    if (opts[k] !== undefined && opts[k] !== null) unsupported(`the client option ${k}`);
  }

  // Tokens and duplicates are checked by the engine (connect() below).
  for (const protocol of protocols) {
    if (typeof protocol !== 'string') throw new SyntaxError('An invalid or duplicated subprotocol was specified');
  }

  const headers = headerPairs(opts.headers);
  let origin = opts.origin;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].toLowerCase() === 'origin' && origin !== undefined) {
      headers.splice(i, 2);
      i -= 2;
    }
  }
  if ((parsedUrl.username || parsedUrl.password) && !headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'authorization')) {
    const auth = `${decodeURIComponent(parsedUrl.username)}:${decodeURIComponent(parsedUrl.password)}`;
    headers.push('Authorization', `Basic ${Buffer.from(auth).toString('base64')}`);
  }

  const native = {
    headers,
    protocols: [...protocols],
    maxPayload: opts.maxPayload,
  };
  if (origin !== undefined && origin !== null) native.origin = String(origin);
  // As ws: off unless followRedirects, then at most maxRedirects (10) hops;
  // the engine follows them on the same connection.
  if (opts.followRedirects) native.maxRedirects = opts.maxRedirects === undefined ? 10 : opts.maxRedirects;
  if (opts.handshakeTimeout) native.handshakeTimeout = opts.handshakeTimeout;
  if (opts.closeTimeout) native.closeTimeout = opts.closeTimeout;
  if (opts.maxFragments !== undefined) native.maxFragments = opts.maxFragments;
  backpressureOptions(opts, native);
  if (isSecure) native.tls = clientTls(opts, parsedUrl.hostname);
  // As ws, a client offers permessage-deflate unless told not to.
  if (binding.features.permessageDeflate && opts.perMessageDeflate !== false) {
    native.deflate = deflateOptions(opts.perMessageDeflate === undefined ? true : opts.perMessageDeflate);
  }

  // The engine's URL: no user info (it went into Authorization). ws+unix:
  // keeps ws's "SOCKET:/request-path" in the path.
  const url = isIpcUrl
    ? `ws+unix:${decodeURIComponent(parsedUrl.pathname)}${parsedUrl.search}`
    : `${parsedUrl.protocol}//${parsedUrl.host}${parsedUrl.pathname}${parsedUrl.search}`;
  ws._host = parsedUrl.hostname.startsWith('[') ? parsedUrl.hostname.slice(1, -1) : parsedUrl.hostname;
  ws._port = parsedUrl.port ? Number(parsedUrl.port) : isSecure ? 443 : 80;

  const h = binding.connect(ws, url, native);
  if (typeof h === 'number') {
    if (h === E.ENOTSUP && isSecure) {
      unsupported('wss:// URLs (TLS)', 'this build of the uvws engine has no TLS yet');
    }
    if (h === E.EURL) throw new SyntaxError(`Invalid URL: ${address}`);
    if (h === E.ETLS) {
      const err = new Error('uvws: the TLS options were refused (ca, cert, key: PEM text that OpenSSL can load)');
      err.code = 'ERR_UVWS_TLS';
      throw err;
    }
    if (h === E.EINVAL) throw invalidOptionError();
    throw new Error(`uvws: cannot connect: ${binding.strerror(h)}`);
  }
  ws._h = h;
}

// ------------------------------------------------------------------------
// Errors

// The engine refused a client option that goes into the upgrade request; the
// errors ws (and Node's http module, for headers) throw for the same.
function invalidOptionError() {
  const detail = binding.lastError();
  let err;
  if (/subprotocol/.test(detail)) {
    err = new SyntaxError(`An invalid or duplicated subprotocol was specified (${detail})`);
  } else if (/header name/.test(detail)) {
    err = new TypeError(`uvws: ${detail}`);
    err.code = 'ERR_INVALID_HTTP_TOKEN';
  } else if (/header|origin/.test(detail)) {
    err = new TypeError(`uvws: ${detail}`);
    err.code = 'ERR_INVALID_CHAR';
  } else {
    err = new TypeError(`Invalid WebSocket options: ${detail || binding.strerror(E.EINVAL)}`);
  }
  return err;
}

const FRAME_ERRORS = {
  'reserved bits set': [RangeError, 'RSV1 must be clear', 'WS_ERR_UNEXPECTED_RSV_1'],
  'unmasked client frame': [RangeError, 'MASK must be set', 'WS_ERR_EXPECTED_MASK'],
  'masked server frame': [RangeError, 'MASK must be clear', 'WS_ERR_UNEXPECTED_MASK'],
  'reserved opcode': [RangeError, 'invalid opcode', 'WS_ERR_INVALID_OPCODE'],
  'fragmented control frame': [RangeError, 'FIN must be set', 'WS_ERR_EXPECTED_FIN'],
  'control frame too long': [RangeError, 'invalid payload length', 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
  'continuation without a message': [RangeError, 'invalid opcode 0', 'WS_ERR_INVALID_OPCODE'],
  'new message inside a fragmented one': [RangeError, 'invalid opcode', 'WS_ERR_INVALID_OPCODE'],
  'text message is not UTF-8': [Error, 'invalid UTF-8 sequence', 'WS_ERR_INVALID_UTF8'],
  'close reason is not UTF-8': [Error, 'invalid UTF-8 sequence', 'WS_ERR_INVALID_UTF8'],
  'invalid close frame': [RangeError, 'invalid status code', 'WS_ERR_INVALID_CLOSE_CODE'],
  'invalid frame length': [RangeError, 'Unsupported WebSocket frame: payload length > 2^53 - 1', 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'],
};

const HANDSHAKE_ERRORS = {
  'missing or invalid Upgrade header in the response': 'Invalid Upgrade header',
  'invalid Sec-WebSocket-Accept header': 'Invalid Sec-WebSocket-Accept header',
  'server chose a subprotocol that was not offered': 'Server sent an invalid subprotocol',
  'server sent a subprotocol but none was offered': 'Server sent a subprotocol but none was requested',
  'server sent no subprotocol': 'Server sent no subprotocol',
  'server sent an extension that was not offered':
    'Server sent a Sec-WebSocket-Extensions header but no extension was requested',
};

function frameError(msg) {
  const spec = FRAME_ERRORS[msg];
  const [Ctor, text, code] = spec || [RangeError, msg, 'WS_ERR_PROTOCOL'];
  const err = new Ctor(`Invalid WebSocket frame: ${text}`);
  err.code = code;
  err[kStatusCode] = code === 'WS_ERR_INVALID_UTF8' ? 1007 : 1002;
  return err;
}

function systemError(ws, code, msg) {
  let name = binding.errName(code) || 'UNKNOWN';
  let syscall = 'connect';
  let err;
  if (/resolve/.test(msg)) {
    syscall = 'getaddrinfo';
    if (name === 'EAI_NONAME' || name === 'EAI_NODATA') name = 'ENOTFOUND';
    err = new Error(`getaddrinfo ${name} ${ws._host}`);
    err.hostname = ws._host;
  } else if (ws._readyState === CONNECTING || !ws._isServer) {
    err = new Error(`${syscall} ${name} ${ws._host}:${ws._port}`);
    err.address = ws._host;
    err.port = ws._port;
  } else {
    syscall = 'read';
    err = new Error(`${syscall} ${name}`);
  }
  err.errno = code;
  err.code = name;
  err.syscall = syscall;
  return err;
}

function makeError(ws, code, msg) {
  let err;
  switch (code) {
    case E.EREMOTE:
      return frameError(msg);
    case E.ETOOBIG:
      err = new RangeError(msg === 'too many fragments' ? 'Max fragments exceeded' : 'Max payload size exceeded');
      err.code = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      err[kStatusCode] = 1009;
      return err;
    case E.ETIMEDOUT:
      if (ws._readyState === CONNECTING || (!ws._isServer && !ws._opened)) {
        return new Error('Opening handshake has timed out');
      }
      err = new Error(msg);
      err.code = 'ETIMEDOUT';
      return err;
    case E.EACCEPT:
    case E.EPROTOCOL:
    case E.EEXTENSION:
    case E.EHANDSHAKE:
      return new Error(HANDSHAKE_ERRORS[msg] || msg.charAt(0).toUpperCase() + msg.slice(1));
    case E.ESTATUS:
    case E.ECLOSED:
      return new Error(msg);
    case E.EBACKPRESSURE:
      return backpressureError(msg);
    case E.ETLS:
      err = new Error(msg);
      err.code = 'ERR_TLS';
      return err;
    default:
      if (code < 0 && code > -4096) return systemError(ws, code, msg);
      return new Error(msg);
  }
}

// ------------------------------------------------------------------------
// Engine events (`this` is the WebSocket)

function onOpen(protocol) {
  this._readyState = OPEN;
  this._opened = true;
  this._protocol = protocol;
  if (binding.features.permessageDeflate) this._extensions = binding.extensions(this._h);
  const server = this._server;
  this.emit('open');
  if (server !== null) server._onOpen(this);
}

let slab = null; // the addon's current slab of small messages

// Buffers over a slab, made without Buffer.from()'s argument checks: the same
// prototype, constructor and species as Node's own Buffers.
class SlabBuffer extends Uint8Array {}
Object.setPrototypeOf(SlabBuffer.prototype, Buffer.prototype);
Object.defineProperty(SlabBuffer.prototype, 'constructor', { value: Buffer, writable: true, configurable: true });

function onMessage(data, length, isBinary, newSlab) {
  if (length >= 0) {
    if (newSlab !== undefined) slab = newSlab;
    data = new SlabBuffer(slab, data, length);
  }
  if (isBinary) {
    const type = this._binaryType;
    if (type === 'nodebuffer') {
      // as is
    } else if (type === 'arraybuffer') {
      data = toArrayBuffer(data);
    } else if (type === 'fragments') {
      data = [data];
    } else if (type === 'blob') {
      data = new Blob([data]);
    }
  }
  this.emit('message', data, isBinary);
}

function onPing(data) {
  this.emit('ping', data);
}

function onPong(data) {
  this.emit('pong', data);
}

function onDrain() {
  flushDrainCbs(this, null);
}

function onError(code, msg) {
  if (code === E.EREMOTE || code === E.ETOOBIG) this._failed = true;
  if (code === E.ESTATUS && this._statusSeen) return; // 'unexpected-response' was emitted
  const opened = this._opened === true;
  // As ws: a socket error on an open connection only closes it (1006).
  if (opened && code < 0 && code > -4096) return;
  const err = makeError(this, code, msg);
  if (this._errorEmitted) return;
  this._errorEmitted = true;
  this._readyState = this._readyState === CLOSED ? CLOSED : CLOSING;
  this.emit('error', err);
}

function onClose(code, reason) {
  this._h = null;
  if (this._backpressureFailed) {
    if (!this._errorEmitted) {
      this._errorEmitted = true;
      this.emit('error', backpressureError('max backpressure reached'));
    }
    code = 1008;
    reason = EMPTY_BUFFER;
  } else if (this._failed) {
    // As ws: a connection failed for a protocol violation reports 1006.
    code = 1006;
    reason = EMPTY_BUFFER;
  }
  if (code !== 1006) {
    this._closeFrameReceived = true;
    this._closeFrameSent = true;
  }
  this._closeCode = code;
  this._closeMessage = reason;
  this._readyState = CLOSED;
  if (this._drainCbs !== null) {
    flushDrainCbs(this, new Error('WebSocket is not open: readyState 3 (CLOSED)'));
  }
  const server = this._server;
  if (server !== null) server._onClientClose(this);
  this.emit('close', code, reason);
}

function makeHeaders(raw) {
  const headers = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    if (name === 'set-cookie') {
      if (headers[name] === undefined) headers[name] = [value];
      else headers[name].push(value);
    } else if (headers[name] === undefined) {
      headers[name] = value;
    } else {
      headers[name] += `, ${value}`;
    }
  }
  return headers;
}

class UpgradeResponse extends Readable {
  constructor(status, raw) {
    super({ read() {} });
    this.statusCode = status;
    this.statusMessage = http.STATUS_CODES[status] || '';
    this.httpVersion = '1.1';
    this.httpVersionMajor = 1;
    this.httpVersionMinor = 1;
    this.rawHeaders = raw;
    this.headers = makeHeaders(raw);
    // The engine does not read response bodies.
    this.push(null);
  }
}

function onResponse(status, raw) {
  const res = new UpgradeResponse(status, raw);
  if (status === 101) {
    this.emit('upgrade', res);
    return;
  }
  const req = {
    method: 'GET',
    path: this._url ? new URL(this._url).pathname : '/',
    abort: () => {},
    destroy: () => {},
  };
  if (this.listenerCount('unexpected-response') > 0) {
    this._statusSeen = true;
    this.emit('unexpected-response', req, res);
  }
}

module.exports = {
  WebSocket,
  publishArgs,
  topicResult,
  failBackpressure,
  makeHeaders,
  kStatusCode,
  handlers: { onOpen, onMessage, onPing, onPong, onDrain, onError, onClose, onResponse },
  tlsVersion,
  pemText,
  deflateOptions,
  backpressureOptions,
};

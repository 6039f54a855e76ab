// Type definitions for uvws: ws's API on the uvws C engine.
/// <reference types="node" />

import { EventEmitter } from 'events';
import { Duplex, DuplexOptions } from 'stream';
import { IncomingHttpHeaders, IncomingMessage, Server as HTTPServer } from 'http';
import { URL } from 'url';

type BufferLike =
  | string
  | Buffer
  | DataView
  | number
  | ArrayBufferView
  | Uint8Array
  | ArrayBuffer
  | SharedArrayBuffer
  | readonly any[]
  | readonly number[]
  | { valueOf(): ArrayBuffer }
  | { valueOf(): SharedArrayBuffer }
  | { valueOf(): Uint8Array }
  | { valueOf(): readonly number[] }
  | { valueOf(): string }
  | { [Symbol.toPrimitive](hint: string): string };

/** A PEM certificate or key, as text or bytes (arrays are concatenated). */
type PEM = string | Buffer | Array<string | Buffer>;

declare namespace WebSocket {
  type RawData = Buffer | ArrayBuffer | Buffer[];

  /** What the server knows of an upgrade request. With `port`, uvws reads the
   *  request itself and this is a light object; with `server`/`noServer` it is
   *  Node's IncomingMessage. */
  interface UpgradeRequest {
    method?: string;
    url?: string;
    httpVersion: string;
    headers: IncomingHttpHeaders;
    rawHeaders: string[];
    socket: {
      remoteAddress?: string;
      remotePort?: number;
      remoteFamily?: string;
      encrypted?: boolean;
    };
  }

  interface UpgradeResponse {
    statusCode?: number;
    statusMessage?: string;
    headers: IncomingHttpHeaders;
    rawHeaders: string[];
  }

  interface ClientTLSOptions {
    /** Trust anchors for the server's certificate (PEM). */
    ca?: PEM;
    /** Client certificate chain and key for mutual TLS (PEM). */
    cert?: PEM;
    key?: PEM;
    /** false: accept any certificate (tests only). Default true. */
    rejectUnauthorized?: boolean;
    /** The name sent as SNI and checked against the certificate. */
    servername?: string;
    ciphers?: string;
    minVersion?: 'TLSv1.2' | 'TLSv1.3';
  }

  interface ClientOptions extends ClientTLSOptions {
    protocol?: string;
    protocols?: string | string[];
    /** Timeout for DNS + TCP + TLS + the upgrade, in ms. */
    handshakeTimeout?: number;
    /** Extra request headers. */
    headers?: { [key: string]: string | string[] | number };
    origin?: string;
    /** 13 only (8 throws: not supported). */
    protocolVersion?: number;
    /** Largest message accepted, in bytes (default 100 MiB). */
    maxPayload?: number;
    maxFragments?: number;
    /** How long to wait for the peer's close frame, in ms. */
    closeTimeout?: number;
    /**
     * uvws: bytes that may wait in the send queue of a connection (default
     * 16 MiB; 0: no limit, as ws). A send that finds the queue this full is
     * not queued: its callback gets an Error with code
     * 'ERR_UVWS_BACKPRESSURE'; a send without a callback closes the
     * connection ('error' ERR_UVWS_BACKPRESSURE, then 'close' 1008).
     */
    maxBackpressure?: number;
    /** uvws: close the connection (1008) on any send over maxBackpressure, callback or not. */
    closeOnBackpressure?: boolean;
    /** Offered by default, as ws does (false: not offered). */
    perMessageDeflate?: boolean | PerMessageDeflateOptions;
    /** Follow 301/302/303/307/308 (the engine's rules: credentials dropped
     * across origins, wss: to ws: refused). Default false, as ws. */
    followRedirects?: boolean;
    /** With followRedirects: at most this many hops (default 10). */
    maxRedirects?: number;
    skipUTF8Validation?: boolean;
    allowSynchronousEvents?: boolean;
    autoPong?: true;
  }

  interface PerMessageDeflateOptions {
    serverNoContextTakeover?: boolean;
    clientNoContextTakeover?: boolean;
    serverMaxWindowBits?: number | boolean;
    clientMaxWindowBits?: number | boolean;
    zlibDeflateOptions?: { level?: number; memLevel?: number; [key: string]: unknown };
    /** Ignored by uvws. */
    zlibInflateOptions?: { [key: string]: unknown };
    /** Messages below this many bytes are sent uncompressed (default 1024). */
    threshold?: number;
    /** Ignored by uvws. */
    concurrencyLimit?: number;
  }

  interface Event {
    type: string;
    target: WebSocket;
  }

  interface ErrorEvent {
    error: any;
    message: string;
    type: string;
    target: WebSocket;
  }

  interface CloseEvent {
    wasClean: boolean;
    code: number;
    reason: string;
    type: string;
    target: WebSocket;
  }

  interface MessageEvent {
    data: Data;
    type: string;
    target: WebSocket;
  }

  type Data = string | Buffer | ArrayBuffer | Buffer[];

  interface EventListenerOptions {
    once?: boolean | undefined;
  }

  type VerifyClientCallbackSync = (info: { origin: string; secure: boolean; req: IncomingMessage | UpgradeRequest }) => boolean;
  type VerifyClientCallbackAsync = (
    info: { origin: string; secure: boolean; req: IncomingMessage | UpgradeRequest },
    callback: (res: boolean, code?: number, message?: string, headers?: { [name: string]: string | number }) => void,
  ) => void;

  interface ServerTLSOptions {
    /** Certificate chain and key (PEM): with them the server speaks wss://. */
    cert?: PEM;
    key?: PEM;
    /** CAs that client certificates must chain to. */
    ca?: PEM;
    /** Ask for a client certificate (with rejectUnauthorized, require it). */
    requestCert?: boolean;
    rejectUnauthorized?: boolean;
    ciphers?: string;
    minVersion?: 'TLSv1.2' | 'TLSv1.3';
    /** More certificates, chosen by the SNI name ("*.example.com" allowed). */
    sni?: { [serverName: string]: { cert: PEM; key: PEM } };
  }

  interface ServerOptions extends ServerTLSOptions {
    host?: string;
    port?: number;
    backlog?: number;
    server?: HTTPServer;
    verifyClient?: VerifyClientCallbackAsync | VerifyClientCallbackSync;
    handleProtocols?: (protocols: Set<string>, request: IncomingMessage | UpgradeRequest) => string | false;
    path?: string;
    noServer?: boolean;
    clientTracking?: boolean;
    /** Enable permessage-deflate (off by default, as in ws). */
    perMessageDeflate?: boolean | PerMessageDeflateOptions;
    maxPayload?: number;
    maxFragments?: number;
    closeTimeout?: number;
    /**
     * uvws: bytes that may wait in the send queue of a connection (default
     * 16 MiB; 0: no limit, as ws). A send that finds the queue this full is
     * not queued: its callback gets an Error with code
     * 'ERR_UVWS_BACKPRESSURE'; a send without a callback closes the
     * connection ('error' ERR_UVWS_BACKPRESSURE, then 'close' 1008).
     */
    maxBackpressure?: number;
    /** uvws: close the connection (1008) on any send over maxBackpressure, callback or not. */
    closeOnBackpressure?: boolean;
    /** uvws: time allowed for the whole upgrade request, in ms (default 10000). */
    handshakeTimeout?: number;
    /** uvws: beyond this many open connections, upgrades get 503. */
    maxConnections?: number;
    /** uvws: connections still in the opening handshake beyond which new ones get 503 (default 1024; 0: no limit). */
    maxPendingHandshakes?: number;
    /** uvws: with host "::", do not accept IPv4. */
    ipv6Only?: boolean;
    skipUTF8Validation?: boolean;
    allowSynchronousEvents?: boolean;
    autoPong?: true;
    WebSocket?: typeof WebSocket;
  }

  /**
   * uvws: the engine's counters of a server (`wss.stats()`); the names are
   * the engine's UVWS_STATS_MAP, described in `WebSocketServer.statsFields`.
   */
  interface ServerStats {
    connections_open: number;
    connections_total: number;
    handshakes_pending: number;
    rejected_bad_request: number;
    rejected_too_large: number;
    rejected_busy: number;
    rejected_by_app: number;
    handshake_timeouts: number;
    messages_in: number;
    bytes_in: number;
    messages_out: number;
    bytes_out: number;
    sends_dropped: number;
    pings_in: number;
    pongs_in: number;
    pings_out: number;
    pongs_out: number;
    pongs_coalesced: number;
    closes_normal: number;
    closes_going_away: number;
    closes_no_status: number;
    closes_abnormal: number;
    closes_other: number;
    errors_protocol: number;
    errors_invalid_payload: number;
    errors_too_big: number;
    errors_backpressure: number;
    errors_timeout: number;
    errors_socket: number;
  }

  interface AddressInfo {
    address: string;
    family: string;
    port: number;
  }

  class Server<T extends WebSocket = WebSocket> extends EventEmitter {
    options: ServerOptions;
    path: string;
    clients: Set<T>;

    constructor(options?: ServerOptions, callback?: () => void);

    address(): AddressInfo | string | null;
    close(cb?: (err?: Error) => void): void;
    handleUpgrade(
      request: IncomingMessage,
      socket: Duplex,
      upgradeHead: Buffer,
      callback: (client: T, request: IncomingMessage) => void,
    ): void;
    shouldHandle(request: IncomingMessage | UpgradeRequest): boolean | Promise<boolean>;
    /** uvws extension: one message to every open connection (frame built once).
     *  Returns how many connections it was handed to. */
    broadcast(data: string | Buffer | ArrayBuffer | ArrayBufferView, options?: { binary?: boolean }): number;
    /** uvws extension (uWebSockets.js name): one message to every connection
     *  subscribed to a filter matching `topic` ('+' one level, '#' the rest),
     *  once each, framed once. Returns how many connections it was handed to. */
    publish(topic: string, message: string | Buffer | ArrayBuffer | ArrayBufferView, isBinary?: boolean, compress?: boolean): number;
    /** Connections holding exactly this filter. */
    numSubscribers(topic: string): number;
    /** uvws extension: the engine's counters for this server (see ServerStats). */
    stats(): WebSocket.ServerStats;
    /** uvws: what each counter of stats() counts. */
    static readonly statsFields: { readonly [K in keyof WebSocket.ServerStats]: string };

    on(event: 'connection', cb: (this: Server<T>, socket: T, request: IncomingMessage) => void): this;
    on(event: 'error', cb: (this: Server<T>, error: Error) => void): this;
    on(event: 'headers', cb: (this: Server<T>, headers: string[], request: IncomingMessage) => void): this;
    on(event: 'close' | 'listening', cb: (this: Server<T>) => void): this;
    /** uvws extension: a connection subscribed to or unsubscribed from a topic
     *  filter (also for each filter of a closing connection, before its 'close'). */
    on(event: 'subscription', cb: (this: Server<T>, socket: T, topic: string, newCount: number, oldCount: number) => void): this;
    /** uvws extension: a published (topic) or broadcast (null) message was not
     *  handed to `socket` (maxBackpressure). */
    on(event: 'dropped', cb: (this: Server<T>, socket: T, topic: string | null, data: Buffer, isBinary: boolean) => void): this;
    on(event: string | symbol, listener: (this: Server<T>, ...args: any[]) => void): this;

    once(event: 'connection', cb: (this: Server<T>, socket: T, request: IncomingMessage) => void): this;
    once(event: 'error', cb: (this: Server<T>, error: Error) => void): this;
    once(event: 'headers', cb: (this: Server<T>, headers: string[], request: IncomingMessage) => void): this;
    once(event: 'close' | 'listening', cb: (this: Server<T>) => void): this;
    once(event: string | symbol, listener: (this: Server<T>, ...args: any[]) => void): this;

    off(event: 'connection', cb: (this: Server<T>, socket: T, request: IncomingMessage) => void): this;
    off(event: 'error', cb: (this: Server<T>, error: Error) => void): this;
    off(event: 'headers', cb: (this: Server<T>, headers: string[], request: IncomingMessage) => void): this;
    off(event: 'close' | 'listening', cb: (this: Server<T>) => void): this;
    off(event: string | symbol, listener: (this: Server<T>, ...args: any[]) => void): this;

    addListener(event: 'connection', cb: (client: T, request: IncomingMessage) => void): this;
    addListener(event: 'error', cb: (err: Error) => void): this;
    addListener(event: 'headers', cb: (headers: string[], request: IncomingMessage) => void): this;
    addListener(event: 'close' | 'listening', cb: () => void): this;
    addListener(event: string | symbol, listener: (...args: any[]) => void): this;

    removeListener(event: 'connection', cb: (client: T, request: IncomingMessage) => void): this;
    removeListener(event: 'error', cb: (err: Error) => void): this;
    removeListener(event: 'headers', cb: (headers: string[], request: IncomingMessage) => void): this;
    removeListener(event: 'close' | 'listening', cb: () => void): this;
    removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
  }

  const WebSocketServer: typeof Server;
  interface WebSocketServer<T extends WebSocket = WebSocket> extends Server<T> {}
  const WebSocket: typeof WebSocketAlias;
  interface WebSocket extends WebSocketAlias {}

  function createWebSocketStream(websocket: WebSocket, options?: DuplexOptions): Duplex;

  /** The version of the C engine. */
  const engineVersion: string;
  /** What this build of the engine can do. */
  const engineFeatures: { readonly tls: boolean; readonly permessageDeflate: boolean };
}

declare class WebSocket extends EventEmitter {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;

  binaryType: 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
  readonly bufferedAmount: number;
  /** Topics (uvws extension, uWebSockets.js names; server connections).
   *  True if newly subscribed. Throws for a malformed filter or a limit. */
  subscribe(topic: string): boolean;
  /** True if the connection held exactly this filter. */
  unsubscribe(topic: string): boolean;
  isSubscribed(topic: string): boolean;
  /** The filters held, in subscription order. */
  getTopics(): string[];
  /** To every subscriber of `topic` but this connection; returns the count. */
  publish(topic: string, message: string | Buffer | ArrayBuffer | ArrayBufferView, isBinary?: boolean, compress?: boolean): number;
  readonly extensions: string;
  readonly isPaused: boolean;
  readonly protocol: string;
  readonly readyState: typeof WebSocket.CONNECTING | typeof WebSocket.OPEN | typeof WebSocket.CLOSING | typeof WebSocket.CLOSED;
  readonly url: string;

  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;

  onopen: ((event: WebSocket.Event) => void) | null;
  onerror: ((event: WebSocket.ErrorEvent) => void) | null;
  onclose: ((event: WebSocket.CloseEvent) => void) | null;
  onmessage: ((event: WebSocket.MessageEvent) => void) | null;

  constructor(address: null);
  constructor(address: string | URL, options?: WebSocket.ClientOptions);
  constructor(address: string | URL, protocols?: string | string[], options?: WebSocket.ClientOptions);

  close(code?: number, data?: string | Buffer): void;
  ping(data?: any, mask?: boolean, cb?: (err: Error | null | undefined) => void): void;
  pong(data?: any, mask?: boolean, cb?: (err: Error | null | undefined) => void): void;
  send(data: BufferLike, cb?: (err?: Error | null) => void): void;
  send(
    data: BufferLike,
    options: { mask?: boolean | undefined; binary?: boolean | undefined; compress?: boolean | undefined; fin?: boolean | undefined },
    cb?: (err?: Error | null) => void,
  ): void;
  terminate(): void;
  pause(): void;
  resume(): void;

  addEventListener(
    method: 'message',
    cb: (event: WebSocket.MessageEvent) => void,
    options?: WebSocket.EventListenerOptions,
  ): void;
  addEventListener(method: 'close', cb: (event: WebSocket.CloseEvent) => void, options?: WebSocket.EventListenerOptions): void;
  addEventListener(method: 'error', cb: (event: WebSocket.ErrorEvent) => void, options?: WebSocket.EventListenerOptions): void;
  addEventListener(method: 'open', cb: (event: WebSocket.Event) => void, options?: WebSocket.EventListenerOptions): void;

  removeEventListener(method: 'message', cb: (event: WebSocket.MessageEvent) => void): void;
  removeEventListener(method: 'close', cb: (event: WebSocket.CloseEvent) => void): void;
  removeEventListener(method: 'error', cb: (event: WebSocket.ErrorEvent) => void): void;
  removeEventListener(method: 'open', cb: (event: WebSocket.Event) => void): void;

  on(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (this: WebSocket, err: Error) => void): this;
  on(event: 'upgrade', listener: (this: WebSocket, request: IncomingMessage | WebSocket.UpgradeResponse) => void): this;
  on(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this;
  on(event: 'open', listener: (this: WebSocket) => void): this;
  on(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this;
  on(
    event: 'unexpected-response',
    listener: (this: WebSocket, request: any, response: IncomingMessage | WebSocket.UpgradeResponse) => void,
  ): this;
  on(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;

  once(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  once(event: 'error', listener: (this: WebSocket, err: Error) => void): this;
  once(event: 'upgrade', listener: (this: WebSocket, request: IncomingMessage | WebSocket.UpgradeResponse) => void): this;
  once(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this;
  once(event: 'open', listener: (this: WebSocket) => void): this;
  once(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this;
  once(
    event: 'unexpected-response',
    listener: (this: WebSocket, request: any, response: IncomingMessage | WebSocket.UpgradeResponse) => void,
  ): this;
  once(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;

  off(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  off(event: 'error', listener: (this: WebSocket, err: Error) => void): this;
  off(event: 'upgrade', listener: (this: WebSocket, request: IncomingMessage | WebSocket.UpgradeResponse) => void): this;
  off(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this;
  off(event: 'open', listener: (this: WebSocket) => void): this;
  off(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this;
  off(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;

  addListener(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  addListener(event: 'error', listener: (err: Error) => void): this;
  addListener(event: 'message', listener: (data: WebSocket.RawData, isBinary: boolean) => void): this;
  addListener(event: 'open', listener: () => void): this;
  addListener(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  addListener(event: string | symbol, listener: (...args: any[]) => void): this;

  removeListener(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  removeListener(event: 'error', listener: (err: Error) => void): this;
  removeListener(event: 'message', listener: (data: WebSocket.RawData, isBinary: boolean) => void): this;
  removeListener(event: 'open', listener: () => void): this;
  removeListener(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
}

declare const WebSocketAlias: typeof WebSocket;
interface WebSocketAlias extends WebSocket {}

export = WebSocket;

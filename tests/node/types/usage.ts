// Compiled by types.test.js with `tsc --strict`: the ws-style API as users
// write it against uvws, plus lines that must not compile (@ts-expect-error).
import WebSocket = require('uvws');
import * as http from 'http';

const { WebSocketServer } = WebSocket;

const wss = new WebSocketServer({
  maxBackpressure: 1 << 20,
  closeOnBackpressure: false,
  port: 0,
  host: '127.0.0.1',
  path: '/chat',
  maxPayload: 1 << 20,
  backlog: 128,
  clientTracking: true,
  verifyClient: (info, cb) => cb(info.origin === 'https://ok.test', 401, 'no', { 'X-Why': 'origin' }),
  handleProtocols: (protocols: Set<string>) => (protocols.has('chat') ? 'chat' : false),
});

wss.on('listening', () => {
  const addr = wss.address();
  if (addr && typeof addr === 'object') console.log(addr.port.toFixed(0));
});
wss.on('headers', (headers: string[]) => headers.push('X-Extra: 1'));
wss.on('connection', (ws, req) => {
  const ip: string | undefined = req.socket.remoteAddress;
  const url: string | undefined = req.url;
  console.log(ip, url, req.headers['user-agent']);
  ws.binaryType = 'arraybuffer';
  ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
    ws.send(data, { binary: isBinary }, (err) => {
      if (err) console.error(err.message);
    });
  });
  ws.on('close', (code: number, reason: Buffer) => console.log(code, reason.toString()));
  ws.on('ping', (data: Buffer) => ws.pong(data));
  ws.ping('hi', false, (err) => console.log(err));
  const n: number = ws.bufferedAmount;
  if (ws.readyState === WebSocket.OPEN && n < 1024) ws.send('x');
  ws.pause();
  ws.resume();
  ws.close(1000, 'bye');
  ws.terminate();
});
const count: number = wss.broadcast('to everyone');
const stats: WebSocket.ServerStats = wss.stats();
const pending: number = stats.handshakes_pending + stats.pongs_coalesced;
const described: string = WebSocketServer.statsFields.sends_dropped;
console.log(pending, described);
// @ts-expect-error: not a counter
console.log(stats.no_such_counter);
const limited = new WebSocketServer({ port: 0, maxBackpressure: 1 << 20, closeOnBackpressure: false, maxPendingHandshakes: 64 });
limited.close();
console.log(count, wss.clients.size);
wss.on('connection', (ws: WebSocket) => {
  const added: boolean = ws.subscribe('room/+');
  const topics: string[] = ws.getTopics();
  const held: boolean = ws.isSubscribed('room/+');
  const others: number = ws.publish('room/1', Buffer.from('hi'), true, false);
  console.log(added, topics, held, others, ws.unsubscribe('room/+'));
});
wss.on('subscription', (ws: WebSocket, topic: string, n: number, o: number) => console.log(ws.url, topic, n, o));
wss.on('dropped', (ws: WebSocket, topic: string | null, data: Buffer, isBinary: boolean) => console.log(topic, data.length, isBinary));
const handed: number = wss.publish('room/1', 'to the room');
console.log(handed, wss.numSubscribers('room/+'));
wss.close((err?: Error) => console.log(err));

const client = new WebSocket('ws://127.0.0.1:1/chat', ['chat'], {
  headers: { Authorization: 'Bearer x' },
  handshakeTimeout: 1000,
  maxPayload: 1024,
  ca: Buffer.from(''),
  rejectUnauthorized: true,
});
client.onopen = (ev: WebSocket.Event) => console.log(ev.type);
client.onmessage = (ev: WebSocket.MessageEvent) => console.log(ev.data);
client.onclose = (ev: WebSocket.CloseEvent) => console.log(ev.code, ev.reason, ev.wasClean);
client.onerror = (ev: WebSocket.ErrorEvent) => console.log(ev.message);
client.addEventListener('message', (ev) => console.log(ev.data), { once: true });
client.on('upgrade', (res) => console.log(res.headers));
client.on('unexpected-response', (_req, res) => console.log(res.statusCode));
client.on('error', (err: Error) => console.log(err.message));
const proto: string = client.protocol;
const url: string = client.url;
console.log(proto, url, client.isPaused, client.extensions);

const noServer = new WebSocket.WebSocketServer({ noServer: true });
const server = http.createServer();
server.on('upgrade', (req, socket, head) => {
  noServer.handleUpgrade(req, socket, head, (ws, request) => noServer.emit('connection', ws, request));
});
const stream = WebSocket.createWebSocketStream(client, { encoding: 'utf8' });
stream.on('data', (d: string) => console.log(d));

// @ts-expect-error binaryType is a union of known strings
client.binaryType = 'text';
// @ts-expect-error readyState is read-only
client.readyState = 1;
new WebSocketServer({ port: 0, perMessageDeflate: { threshold: 0, serverNoContextTakeover: true, zlibDeflateOptions: { level: 3 } } });
const features: { readonly permessageDeflate: boolean } = WebSocket.engineFeatures;
console.log(features.permessageDeflate);
client.send('x', { compress: false });
// @ts-expect-error perMessageDeflate takes a boolean or an options object
new WebSocketServer({ port: 0, perMessageDeflate: 'yes' });
// @ts-expect-error send() needs data
client.send();
// @ts-expect-error close() takes a callback, not a number
wss.close(42);

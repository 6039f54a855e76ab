// The ESM entry, as `import` users write it.
import WebSocket, { WebSocketServer } from 'uvws';

const wss = new WebSocketServer({ port: 0 });
wss.on('connection', (ws: WebSocket) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
const ws = new WebSocket('ws://127.0.0.1:1');
ws.on('open', () => ws.close());
export {};

// ESM entry: the same objects as the CommonJS entry.
import WebSocket from './index.js';

export const { WebSocketServer, createWebSocketStream } = WebSocket;
export const Server = WebSocketServer;
export { WebSocket };
export default WebSocket;

'use strict';

// uvws: ws's API (WebSocket, WebSocketServer) on the uvws C engine, which runs
// on Node's own event loop. `require('uvws')` returns the WebSocket class with
// the other exports as its properties, like `require('ws')`.

const binding = require('./lib/binding');
const { WebSocket, handlers: wsHandlers } = require('./lib/websocket');
const { WebSocketServer, handlers: serverHandlers } = require('./lib/websocket-server');
const { createWebSocketStream } = require('./lib/stream');

binding.init({ ...wsHandlers, ...serverHandlers });

WebSocket.WebSocket = WebSocket;
WebSocket.WebSocketServer = WebSocketServer;
WebSocket.Server = WebSocketServer;
WebSocket.createWebSocketStream = createWebSocketStream;
WebSocket.engineVersion = binding.version;
WebSocket.engineFeatures = Object.freeze({ ...binding.features });

module.exports = WebSocket;

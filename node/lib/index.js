// websock for Node: the websock WebSocket engine (WebAssembly) under a
// ws-style API over node:net and node:tls.

import { WebSocketServer } from "./server.js";
import { WebSocket } from "./websocket.js";

WebSocket.WebSocket = WebSocket;
WebSocket.WebSocketServer = WebSocketServer;
WebSocket.Server = WebSocketServer;

export { WebSocket, WebSocketServer, WebSocketServer as Server };
export default WebSocket;

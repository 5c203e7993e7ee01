// Compiled (not run) by pack.test.mjs against the declarations in the
// installed tarball: code a ws user would write must type-check.
import http from "node:http";

import WebSocketDefault, { WebSocket, WebSocketServer, type RawData, type ServerOptions } from "websock";
import { ServerConnection, type WebSocketEvent } from "websock/engine";

const options: ServerOptions = {
  port: 0,
  maxPayload: 1 << 20,
  perMessageDeflate: { serverMaxWindowBits: 10, zlibDeflateOptions: { level: 1 } },
  handleProtocols: (protocols) => (protocols.has("chat") ? "chat" : false),
  verifyClient: (info, done) => done(info.origin !== "http://evil.example", 403, "Forbidden"),
};
const wss = new WebSocketServer(options, () => console.log("listening"));
wss.on("connection", (ws, req) => {
  const path: string | undefined = req.url;
  ws.on("message", (data: RawData, isBinary: boolean) => ws.send(data as Buffer, { binary: isBinary }));
  ws.on("close", (code: number, reason: Buffer) => console.log(path, code, reason.toString()));
  ws.ping(Buffer.from("x"), undefined, (err) => err && console.log(err.message));
});
const size: number = wss.clients.size;

const server = http.createServer();
const attached = new WebSocketServer({ server, path: "/ws" });
const manual = new WebSocketServer({ noServer: true });
server.on("upgrade", (req, socket, head) => {
  manual.handleUpgrade(req, socket, head, (ws) => manual.emit("connection", ws, req));
});

const ws = new WebSocketDefault("ws://127.0.0.1:1/", ["chat"], { perMessageDeflate: false, handshakeTimeout: 1000 });
ws.binaryType = "arraybuffer";
ws.onmessage = (event) => console.log(event.data);
ws.addEventListener("close", (event) => console.log(event.code, event.reason, event.wasClean));
ws.on("error", (err) => console.log(err.code, err.closeCode));
const buffered: number = ws.bufferedAmount;
const open: boolean = ws.readyState === WebSocket.OPEN;
ws.close(1000, "bye");

const engine = new ServerConnection({ perMessageDeflate: false });
const events: WebSocketEvent[] = [];
console.log(size, attached, buffered, open, engine, events);

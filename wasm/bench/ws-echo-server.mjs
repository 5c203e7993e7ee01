// The reference: an echo server on the `ws` package, as its README writes
// one, with compression off like websock-wasm's.
//
//   node wasm/bench/ws-echo-server.mjs PORT

import { WebSocketServer } from "ws";

const port = Number(process.argv[2]);
const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false, maxPayload: 64 << 20 });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => {});
});
wss.on("listening", () => console.log(`ws echo server on ws://127.0.0.1:${port}`));

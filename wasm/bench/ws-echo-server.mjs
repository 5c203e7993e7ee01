// The reference: an echo server on the `ws` package, as its README writes
// one. Like the websock-wasm example it accepts permessage-deflate unless
// --no-deflate (ws's defaults otherwise: level 6, messages under 1 KiB
// sent uncompressed, zlib on libuv's thread pool).
//
//   node wasm/bench/ws-echo-server.mjs PORT [--no-deflate]

import { WebSocketServer } from "ws";

const port = Number(process.argv[2]);
const perMessageDeflate = !process.argv.includes("--no-deflate");
const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate, maxPayload: 64 << 20 });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => {});
});
wss.on("listening", () => console.log(`ws echo server on ws://127.0.0.1:${port}`));

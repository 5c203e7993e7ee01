// The reference for node/bench/run.sh: an echo server on the ws package
// (the version pinned in node/package-lock.json), as its README writes one,
// in the same process layout as examples/echo-server.mjs (one Node
// process, 127.0.0.1, no compression unless asked: ws's server default).
//
//   node node/bench/ws-echo-server.mjs PORT [--deflate]

import { WebSocketServer } from "ws";

const port = Number(process.argv[2]);
const perMessageDeflate = process.argv.includes("--deflate");
const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate, maxPayload: 64 << 20 });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => {});
});
wss.on("listening", () => console.log(`ws echo server on ws://127.0.0.1:${port}`));

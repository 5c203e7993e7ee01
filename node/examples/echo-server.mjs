// An echo server: every text or binary message comes back as it came.
// It accepts permessage-deflate when a client offers it (then both
// directions are compressed), unless --no-deflate.
//
//   node examples/echo-server.mjs PORT [--max-payload BYTES] [--no-deflate] [--deflate-level 0-9]
//
// Serves on 127.0.0.1:PORT (0: any free port) until killed; prints one
// line with its URL once listening.

import { parseArgs } from "node:util";

import { WebSocketServer } from "websock";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "max-payload": { type: "string", default: String(64 << 20) },
    "no-deflate": { type: "boolean", default: false },
    "deflate-level": { type: "string", default: "6" },
  },
});
const port = Number(positionals[0]);
const maxPayload = Number(values["max-payload"]);
const level = Number(values["deflate-level"]);
if (positionals.length !== 1 || !Number.isInteger(port) || port < 0 || port > 65535 || !(level >= 0 && level <= 9)) {
  console.error("usage: echo-server.mjs PORT [--max-payload BYTES] [--no-deflate] [--deflate-level 0-9]");
  process.exit(2);
}

const wss = new WebSocketServer({
  port,
  host: "127.0.0.1",
  maxPayload,
  perMessageDeflate: values["no-deflate"] ? false : { zlibDeflateOptions: { level } },
});

wss.on("connection", (ws, req) => {
  const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", (err) => console.log(`${peer}: ${err.code ?? ""} ${err.message}`));
});
wss.on("listening", () => console.log(`echo server on ws://127.0.0.1:${wss.address().port}`));

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}

// An echo server on websock-wasm over node:net: every text or binary
// message comes back unchanged. It accepts permessage-deflate when a client
// offers it (then both directions are compressed), unless --no-deflate.
//
//   node wasm/examples/echo-server.mjs PORT [--max-message-size BYTES] [--no-deflate] [--deflate-level 0-9]
//
// --deflate-level sets the zlib level of our compressor (default 6).
//
// Serves on 127.0.0.1:PORT until killed. Build the package first with
// wasm/build.sh.

import net from "node:net";
import { parseArgs } from "node:util";

import { ServerConnection } from "../pkg/websock.js";
import { link } from "./link.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "max-message-size": { type: "string", default: String(64 << 20) },
    "no-deflate": { type: "boolean", default: false },
    "deflate-level": { type: "string", default: "6" },
  },
});
const port = Number(positionals[0]);
const maxMessageSize = Number(values["max-message-size"]);
const level = Number(values["deflate-level"]);
const perMessageDeflate = values["no-deflate"] ? false : { level };
if (positionals.length !== 1 || !Number.isInteger(port) || port <= 0 || port > 65535 || !(level >= 0 && level <= 9)) {
  console.error("usage: echo-server.mjs PORT [--max-message-size BYTES] [--no-deflate] [--deflate-level 0-9]");
  process.exit(2);
}

const server = net.createServer({ noDelay: true }, (socket) => {
  const conn = new ServerConnection({ maxMessageSize, perMessageDeflate });
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  link(socket, conn, {
    handshake: (bytes) => conn.accept(bytes) !== undefined,
    onEvent(event) {
      if (event.type === "error") console.log(`${peer}: ${event.error.message}`);
      // Only while open: nothing may follow a close frame.
      if (conn.state !== "open") return;
      if (event.type === "text") conn.sendText(event.data);
      else if (event.type === "binary") conn.sendBinary(event.data);
    },
    onClose(closure, error) {
      if (error) console.log(`${peer}: ${error.code ?? ""} ${error.message}`);
      else if (!closure.clean) console.log(`${peer}: closed uncleanly (${closure.code})`);
    },
  });
});

server.listen(port, "127.0.0.1", () => console.log(`echo server on ws://127.0.0.1:${port}`));
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}

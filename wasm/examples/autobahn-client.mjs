// The Autobahn fuzzingserver client driver on websock-wasm over node:net:
// asks for the number of cases, runs each one echoing every message, then
// asks the server to write its reports.
//
//   node wasm/examples/autobahn-client.mjs ws://HOST:PORT [--agent NAME] [--no-deflate] [--parallel N]
//
// --parallel N runs up to N cases at once (default 1). The compression
// cases (12.*, 13.*) spend most of their time waiting on the test server's
// pacing of large messages rather than computing, so overlapping them
// shortens a run several times over.
//
// It offers permessage-deflate (sections 12 and 13 need it) with
// client_no_context_takeover: RFC 7692 makes that a hint that our
// compressor resets after each message, and Autobahn's server (like
// Autobahn's own client) reads it as leave to *ask* for that, which cases
// 13.2, 13.5 and 13.6 do; without the hint they would not negotiate at all.
//
// Exits 0 once the reports are written, 1 on a connection failure outside
// the cases themselves. Build the package first with wasm/build.sh.

import net from "node:net";
import { parseArgs } from "node:util";

import { ClientConnection } from "../pkg/websock.js";
import { link } from "./link.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    agent: { type: "string", default: "websock-wasm" },
    "no-deflate": { type: "boolean", default: false },
    parallel: { type: "string", default: "1" },
  },
});
const parallel = Number(values.parallel);
if (positionals.length !== 1 || !Number.isInteger(parallel) || parallel < 1) {
  console.error("usage: autobahn-client.mjs ws://HOST:PORT [--agent NAME] [--no-deflate] [--parallel N]");
  process.exit(2);
}
const base = new URL(positionals[0]);
if (base.protocol !== "ws:") {
  console.error("only ws:// URLs are supported");
  process.exit(2);
}
const agent = encodeURIComponent(values.agent);
const perMessageDeflate = values["no-deflate"] ? false : { clientNoContextTakeover: true };

/**
 * One WebSocket connection to `path`; `onMessage(event, conn)` sees each
 * text or binary message. Resolves with how the connection closed.
 */
function connect(path, onMessage) {
  return new Promise((resolve, reject) => {
    const port = Number(base.port || 80);
    const socket = net.connect({ host: base.hostname, port, noDelay: true });
    const conn = new ClientConnection({ maxMessageSize: 64 << 20, perMessageDeflate });
    let opened = false;
    const flush = link(socket, conn, {
      handshake(bytes) {
        opened = conn.readResponse(bytes) !== undefined;
        return opened;
      },
      onEvent(event) {
        if (event.type === "text" || event.type === "binary") onMessage(event, conn);
      },
      onClose(closure, error) {
        // Failures after the handshake are the cases' business, not ours.
        if (opened) resolve(closure);
        else reject(error ?? new Error(`${path}: closed during the handshake`));
      },
    });
    socket.once("connect", () => {
      conn.writeRequest(base.host, path);
      flush();
    });
  });
}

async function main() {
  let count;
  await connect("/getCaseCount", (event) => {
    count = Number(event.data);
  });
  if (!Number.isInteger(count)) throw new Error("the server sent no case count");
  let next = 1;
  async function worker() {
    while (next <= count) {
      const i = next++;
      const closure = await connect(`/runCase?case=${i}&agent=${agent}`, (event, conn) => {
        if (conn.state !== "open") return;
        if (event.type === "text") conn.sendText(event.data);
        else conn.sendBinary(event.data);
      });
      console.log(`case ${i}/${count}: ${closure.clean ? "clean" : "unclean"} close ${closure.code}`);
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  await connect(`/updateReports?agent=${agent}`, () => {});
  console.log("reports updated");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`autobahn client: ${err.code ?? ""} ${err.message}`);
    process.exit(1);
  },
);

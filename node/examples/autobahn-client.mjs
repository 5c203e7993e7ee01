// The Autobahn fuzzingserver client driver: asks for the number of cases,
// runs each one echoing every message, then asks the server to write its
// reports.
//
//   node examples/autobahn-client.mjs ws://HOST:PORT [--agent NAME] [--no-deflate] [--parallel N]
//
// --parallel N runs up to N cases at once (default 1). The compression
// cases (12.*, 13.*) spend most of their time waiting on the test server's
// pacing of large messages rather than computing, so overlapping them
// shortens a run several times over.
//
// It offers permessage-deflate (sections 12 and 13 need it) with
// client_no_context_takeover: RFC 7692 makes that a hint that our
// compressor resets after each message, and Autobahn's server reads it as
// leave to *ask* for that, which cases 13.2, 13.5 and 13.6 do; without the
// hint they would not negotiate at all.
//
// Exits 0 once the reports are written, 1 on a connection failure outside
// the cases themselves.

import { parseArgs } from "node:util";

import { WebSocket } from "websock";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    agent: { type: "string", default: "websock" },
    "no-deflate": { type: "boolean", default: false },
    parallel: { type: "string", default: "1" },
  },
});
const parallel = Number(values.parallel);
if (positionals.length !== 1 || !Number.isInteger(parallel) || parallel < 1) {
  console.error("usage: autobahn-client.mjs ws://HOST:PORT [--agent NAME] [--no-deflate] [--parallel N]");
  process.exit(2);
}
const base = positionals[0].replace(/\/$/, "");
const agent = encodeURIComponent(values.agent);
const perMessageDeflate = values["no-deflate"] ? false : { clientNoContextTakeover: true };

/**
 * One connection to `path`; `onMessage(data, isBinary, ws)` sees each
 * message. Resolves with the close code once the connection has closed;
 * rejects if it never opened.
 */
function connect(path, onMessage) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path, { perMessageDeflate, maxPayload: 64 << 20 });
    let opened = false;
    let failure;
    ws.on("open", () => (opened = true));
    ws.on("message", (data, isBinary) => onMessage(data, isBinary, ws));
    // Failures after the handshake are the cases' business, not ours.
    ws.on("error", (err) => (failure ??= err));
    ws.on("close", (code) => {
      if (opened) resolve(code);
      else reject(failure ?? new Error(`${path}: closed during the handshake`));
    });
  });
}

async function main() {
  let count;
  await connect("/getCaseCount", (data) => {
    count = Number(data.toString());
  });
  if (!Number.isInteger(count)) throw new Error("the server sent no case count");
  let next = 1;
  async function worker() {
    while (next <= count) {
      const i = next++;
      const code = await connect(`/runCase?case=${i}&agent=${agent}`, (data, isBinary, ws) => {
        ws.send(data, { binary: isBinary });
      });
      console.log(`case ${i}/${count}: close ${code}`);
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

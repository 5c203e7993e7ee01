// Work per echoed message, counted rather than timed (not a test): how
// many calls cross the wasm boundary, each way, while the npm package's
// WebSocketServer echoes messages one at a time to a ws client in the
// same process (the client is the ws package, so every call counted is
// the server's). Counts do not depend on the machine's load, unlike the
// messages per second of node/bench/run.sh. Also prints the process's CPU
// time per round trip (server and client together; noisy on a busy
// machine).
//
//   node node/bench/calls.mjs [--size BYTES] [--messages N] [--text]
//
// Needs node/build.sh and npm ci in node/ first.

import { once } from "node:events";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "16" },
    messages: { type: "string", default: "2000" },
    text: { type: "boolean", default: false },
  },
});
const size = Number(values.size);
const messages = Number(values.messages);

// Every function the module imports or exports, wrapped in a counter
// before the engine's glue instantiates it.
const counts = new Map();
let counting = false;
function counted(name, fn) {
  return function (...args) {
    if (counting) counts.set(name, (counts.get(name) ?? 0) + 1);
    return fn.apply(this, args);
  };
}
const RealInstance = WebAssembly.Instance;
WebAssembly.Instance = function Instance(module, imports) {
  const wrapped = {};
  for (const [ns, fns] of Object.entries(imports ?? {})) {
    wrapped[ns] = {};
    for (const [name, value] of Object.entries(fns)) {
      wrapped[ns][name] = typeof value === "function" ? counted(`import ${name}`, value) : value;
    }
  }
  const instance = new RealInstance(module, wrapped);
  const exports = {};
  for (const [name, value] of Object.entries(instance.exports)) {
    exports[name] = typeof value === "function" ? counted(`export ${name}`, value) : value;
  }
  return { exports };
};

const { WebSocketServer } = await import("../lib/index.js");
const { WebSocket } = await import("ws");

const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
await once(wss, "listening");
const client = new WebSocket(`ws://127.0.0.1:${wss.address().port}`, { perMessageDeflate: false });
await once(client, "open");

const payload = values.text ? "x".repeat(size) : Buffer.alloc(size, 7);
async function echo(n) {
  for (let i = 0; i < n; i++) {
    client.send(payload);
    const [data] = await once(client, "message");
    if (data.length !== size) throw new Error(`echo of ${data.length} bytes, expected ${size}`);
  }
}

await echo(200);
counting = true;
const cpu = process.cpuUsage();
await echo(messages);
const used = process.cpuUsage(cpu);
counting = false;

let exported = 0;
let imported = 0;
const rows = [...counts].sort((a, b) => b[1] - a[1]);
for (const [name, n] of rows) {
  if (name.startsWith("export ")) exported += n;
  else imported += n;
}
const per = (n) => (n / messages).toFixed(2);
console.log(`${messages} echoes of ${size} B ${values.text ? "text" : "binary"} messages`);
console.log(`calls into wasm per message:   ${per(exported)}`);
console.log(`calls out of wasm per message: ${per(imported)}`);
for (const [name, n] of rows) console.log(`  ${per(n).padStart(6)}  ${name}`);
console.log(`CPU per round trip (server + client): ${((used.user + used.system) / messages).toFixed(1)} us`);

client.close();
wss.close();
for (const ws of wss.clients) ws.terminate();

// Echo throughput: the websock-wasm example server (wasm/examples/echo-server.mjs)
// against the `ws` package's echo server, in the same run, each in its own
// Node process, loaded by the same `ws` client from this process.
//
//   (cd wasm/bench && npm ci) && node wasm/bench/echo-bench.mjs [--seconds N] [--connections N] [--deflate]
//
// --deflate: permessage-deflate on both servers and the client, with text
// of 1 KiB and 64 KiB made of words (compressible like prose, not a run of
// one letter).
//
// For each message size and kind, every connection keeps `window` messages
// in flight for the given time; reported are round trips per second and
// the payload MB/s echoed (one way). Not a test: numbers vary with the machine.

import { spawn } from "node:child_process";
import net from "node:net";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

import WebSocket from "ws";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "8" },
    window: { type: "string", default: "8" },
    deflate: { type: "boolean", default: false },
  },
});
const deflate = values.deflate;
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const window = Number(values.window);

const servers = {
  "websock-wasm": fileURLToPath(new URL("../../node/examples/echo-server.mjs", import.meta.url)),
  ws: fileURLToPath(new URL("./ws-echo-server.mjs", import.meta.url)),
};
const loads = deflate
  ? [
      { kind: "text", size: 1024 },
      { kind: "text", size: 64 << 10 },
    ]
  : [
      { kind: "binary", size: 16 },
      { kind: "text", size: 16 },
      { kind: "binary", size: 1024 },
      { kind: "text", size: 1024 },
      { kind: "binary", size: 64 << 10 },
      { kind: "binary", size: 1 << 20 },
    ];

/** `size` bytes of words picked by a fixed xorshift sequence. */
function words(size) {
  const list = ["socket", "frame", "message", "deflate", "window", "the", "of", "and", "close", "ping"];
  list.push("handshake", "engine", "buffer", "event", "server", "client", "a", "to", "is", "latency");
  let x = 2463534242;
  let text = "";
  while (text.length < size) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    text += list[x % list.length] + " ";
  }
  return text.slice(0, size);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function start(script) {
  const port = await freePort();
  // Both servers take compression by default with --deflate, and go
  // without otherwise.
  const args = deflate ? [] : ["--no-deflate"];
  const child = spawn(process.execPath, [script, String(port), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
    child.stdout.once("data", resolve);
  });
  return { child, url: `ws://127.0.0.1:${port}` };
}

/** Runs one load against `url`; resolves with round trips completed. */
async function load(url, { kind, size }) {
  const payload = kind === "text" ? (deflate ? words(size) : "x".repeat(size)) : Buffer.alloc(size, 7);
  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: deflate, maxPayload: 64 << 20 });
          ws.once("open", () => resolve(ws));
          ws.once("error", reject);
        }),
    ),
  );
  let done = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on("message", (data) => {
      if (data.length !== size) throw new Error(`echo of ${data.length} bytes, sent ${size}`);
      done++;
      if (running) ws.send(payload, { binary: kind === "binary" });
    });
    for (let i = 0; i < window; i++) ws.send(payload, { binary: kind === "binary" });
  }
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  const count = done;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          ws.once("close", resolve);
          ws.close(1000);
        }),
    ),
  );
  return count / elapsed;
}

console.log(
  `node ${process.version}, ${connections} connections x ${window} in flight, ${seconds}s per load` +
    (deflate ? ", permessage-deflate" : ""),
);
console.log("load            server          round trips/s      MB/s   vs ws");
for (const l of loads) {
  const label = `${l.kind} ${l.size >= 1 << 20 ? `${l.size >> 20} MiB` : l.size >= 1024 ? `${l.size >> 10} KiB` : `${l.size} B`}`;
  const rates = {};
  for (const [name, script] of Object.entries(servers)) {
    const server = await start(script);
    try {
      rates[name] = await load(server.url, l);
    } finally {
      server.child.kill();
    }
  }
  for (const [name, rate] of Object.entries(rates)) {
    const mbps = (rate * l.size) / 1e6;
    const vs = name === "ws" ? "" : `${((rate / rates.ws) * 100).toFixed(0)}%`;
    console.log(
      `${label.padEnd(15)} ${name.padEnd(14)} ${rate.toFixed(0).padStart(12)} ${mbps.toFixed(1).padStart(9)}   ${vs}`,
    );
  }
}

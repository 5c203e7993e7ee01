// Echo throughput: the websock-wasm example server (wasm/examples/echo-server.mjs)
// against the `ws` package's echo server, in the same run, each in its own
// Node process, loaded by the same `ws` client from this process.
//
//   (cd wasm/bench && npm ci) && node wasm/bench/echo-bench.mjs [--seconds N] [--connections N]
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
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const window = Number(values.window);

const servers = {
  "websock-wasm": fileURLToPath(new URL("../examples/echo-server.mjs", import.meta.url)),
  ws: fileURLToPath(new URL("./ws-echo-server.mjs", import.meta.url)),
};
const loads = [
  { kind: "binary", size: 16 },
  { kind: "text", size: 16 },
  { kind: "binary", size: 1024 },
  { kind: "text", size: 1024 },
  { kind: "binary", size: 64 << 10 },
  { kind: "binary", size: 1 << 20 },
];

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
  const child = spawn(process.execPath, [script, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
    child.stdout.once("data", resolve);
  });
  return { child, url: `ws://127.0.0.1:${port}` };
}

/** Runs one load against `url`; resolves with round trips completed. */
async function load(url, { kind, size }) {
  const payload = kind === "text" ? "x".repeat(size) : Buffer.alloc(size, 7);
  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 << 20 });
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

console.log(`node ${process.version}, ${connections} connections x ${window} in flight, ${seconds}s per load`);
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

// Work per echoed message of the npm server's adapter alone (not a test):
// JS, wasm and the garbage they make, with no sockets. A fake socket feeds
// masked binary frames (16-bit lengths: SIZE < 65536) to an echo WebSocket
// made by WebSocketServer#handleUpgrade; after a 5,000-message warm-up it
// echoes N more. Under callgrind with CG=1 it zeroes the counters before
// those N and dumps them after (callgrind_control), so the second dump
// divided by N is the instructions per message:
//
//   CG=1 valgrind --tool=callgrind node --single-threaded \
//       node/bench/adapter-work.mjs [PACKAGE_DIR] SIZE N
//
// --single-threaded keeps V8's compiler and collector on the one thread,
// in order, so that repeat runs agree. PACKAGE_DIR (default: this
// package) lets a build before a change be counted beside it.

import { execFileSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const dir = args.length === 3 ? args.shift() : fileURLToPath(new URL("..", import.meta.url));
const size = Number(args[0]);
const n = Number(args[1]);
const { WebSocketServer } = await import(`${dir}/lib/index.js`);

/** What WebSocket uses of a net.Socket; every write completes at once. */
class FakeSocket extends EventEmitter {
  constructor() {
    super();
    this.readable = true;
    this.writable = true;
    this.destroyed = false;
    this.writableLength = 0;
    this.bytes = 0;
  }
  setNoDelay() {}
  setTimeout() {}
  unshift() {}
  pause() {}
  resume() {}
  write(bytes, cb) {
    this.bytes += bytes.length;
    if (cb) cb();
    return true;
  }
  end() {}
  destroy() {
    this.destroyed = true;
  }
}
const wss = new WebSocketServer({ noServer: true });
const socket = new FakeSocket();
const req = {
  method: "GET", url: "/", httpVersion: "1.1", socket,
  headers: { "sec-websocket-version": "13" },
  rawHeaders: ["Host", "x", "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "13"],
};
let got = 0;
wss.handleUpgrade(req, socket, Buffer.alloc(0), (ws) => {
  ws.on("message", (data, isBinary) => { got++; ws.send(data, { binary: isBinary }); });
});
const mask = [0x37, 0xfa, 0x21, 0x3d];
const head = size < 126 ? [0x82, 0x80 | size] : [0x82, 0x80 | 126, size >> 8, size & 255];
const frame = Buffer.alloc(head.length + 4 + size);
Buffer.from([...head, ...mask]).copy(frame);
for (let i = 0; i < size; i++) frame[head.length + 4 + i] = (i & 255) ^ mask[i % 4];
const cg = (what) => process.env.CG && execFileSync("callgrind_control", [what, String(process.pid)], { stdio: "ignore" });
// Each read is a fresh Buffer, as a socket's are.
async function run(count) {
  for (let i = 0; i < count; i++) {
    socket.emit("data", Buffer.from(frame));
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setImmediate(r));
}
await run(5000);
cg("-z");
await run(n);
cg("-d");
if (got !== n + 5000) throw new Error(`echoed ${got} of ${n}`);
console.log(`echoed ${got}, wrote ${socket.bytes}`);

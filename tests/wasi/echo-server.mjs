// node tests/wasi/echo-server.mjs PORT
//
// A streaming WebSocket echo server on 127.0.0.1:PORT whose protocol engine
// is libwebsock's wasm32-wasip1 build, driven through its C ABI under
// node:wasi; node:net does the sockets. Each received chunk goes back as a
// fragment of the same message. WEBSOCK_WASM names the module (default:
// the release build under target/).

import net from 'node:net';
import { fileURLToPath } from 'node:url';

import { Connection, EventType, Status, load } from './websock-wasi.mjs';

const LINGER_MS = 2000;
const wasmPath =
  process.env.WEBSOCK_WASM ??
  fileURLToPath(new URL('../../target/wasm32-wasip1/release/websock.wasm', import.meta.url));
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node echo-server.mjs PORT');
  process.exit(2);
}

const ws = await load(wasmPath);
const now = () => BigInt(Math.floor(performance.now()));

function serve(socket) {
  const c = new Connection(ws);
  let open = false;
  let closing = false;
  let disposed = false;
  let pending = Buffer.alloc(0); // input the engine has not consumed yet
  let timer = null;
  c.initServer(now());
  socket.setNoDelay(true);

  const write = (bytes) => {
    if (bytes.length > 0 && !socket.destroyed) socket.write(Buffer.from(bytes));
  };

  const finish = () => {
    if (disposed) return;
    disposed = true;
    clearTimeout(timer);
    c.transportClosed();
    c.dispose();
    socket.destroy();
  };

  // Lingering close: end() sends our FIN after the queued bytes; we read
  // (and drop) until the peer's FIN or the timeout, then close.
  const closeTransport = () => {
    if (closing) return;
    closing = true;
    clearTimeout(timer);
    socket.end();
    timer = setTimeout(finish, LINGER_MS);
  };

  const armDeadline = () => {
    clearTimeout(timer);
    const d = c.deadline();
    if (d === 0xffffffffffffffffn) return;
    const wait = Number(d - now());
    timer = setTimeout(() => {
      c.tick(now());
      afterEngine();
    }, Math.max(0, wait) + 1);
  };

  const afterEngine = () => {
    if (closing || disposed) return;
    write(c.pollOutput().bytes);
    if (c.shouldClose()) closeTransport();
    else armDeadline();
  };

  const feed = () => {
    for (let guard = 0; !closing && guard < 100000; guard++) {
      const len = Math.min(pending.length, c.inputCap);
      ws.bytes().set(pending.subarray(0, len), c.input);
      if (!open) {
        const r = c.accept(pending.subarray(0, len));
        write(r.response);
        if (r.status === Status.INCOMPLETE) break;
        if (r.status !== Status.OK) break; // refused: the engine asks to close
        open = true;
        pending = pending.subarray(r.consumed);
        continue;
      }
      const r = c.receiveInPlace(len);
      pending = pending.subarray(r.consumed);
      write(r.pong); // a ping's pong, written by the same call
      const e = r.event;
      if (e.kind === EventType.TEXT || e.kind === EventType.BINARY) {
        const echo = c.sendFrom(e.kind, e.dataPtr, e.data.length, e.fin);
        if (echo.status === Status.OK) write(echo.bytes);
      }
      write(c.pollOutput().bytes);
      if (r.status !== Status.OK) break; // failed: the close frame is written
      if (r.consumed === 0 && e.kind === EventType.NONE) break;
    }
    afterEngine();
  };

  socket.on('data', (chunk) => {
    if (closing) return; // lingering: drop
    c.tick(now());
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    feed();
  });
  socket.on('end', () => {
    if (!closing) socket.end();
    finish();
  });
  socket.on('error', finish);
  socket.on('close', finish);
  armDeadline();
}

const server = net.createServer(serve);
server.listen(port, '127.0.0.1', () => {
  console.log(`wasi echo server (libwebsock ${ws.version()}) on ws://127.0.0.1:${port}/`);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}

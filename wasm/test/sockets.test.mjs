// Real sockets: the example echo server in a child process, driven by the
// ClientConnection class over node:net and by raw bytes.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { link } from "../examples/link.mjs";
import { ClientConnection, closeCodeOf, concat, dec, enc, frame, upgradeRequest } from "./helpers.mjs";

// The echo server of the npm package (node/), on this engine under its ws-style adapter.
const serverScript = fileURLToPath(new URL("../../node/examples/echo-server.mjs", import.meta.url));
let server;
let port;

/** A port nothing listens on right now. */
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

before(async () => {
  port = await freePort();
  server = spawn(process.execPath, [serverScript, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    server.once("exit", (code) => reject(new Error(`echo server exited with ${code}`)));
    server.stdout.once("data", resolve);
  });
});

after(() => {
  server.kill();
});

/**
 * Opens a ClientConnection (with `options`) to the echo server; resolves
 * once it is open.
 */
function open(options) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const conn = new ClientConnection(options);
    const received = [];
    let waiting = [];
    let closed;
    const closedPromise = new Promise((r) => (closed = r));
    let opened = false;
    const flush = link(socket, conn, {
      handshake(bytes) {
        opened = conn.readResponse(bytes) !== undefined;
        if (opened) resolve(api);
        return opened;
      },
      onEvent(event) {
        received.push(event);
        const ready = waiting.filter((w) => received.length >= w.count);
        waiting = waiting.filter((w) => received.length < w.count);
        for (const w of ready) w.resolve(received.slice(0, w.count));
      },
      onClose(closure, error) {
        if (!opened) reject(error ?? new Error("closed during the handshake"));
        closed({ closure, error });
      },
    });
    socket.once("connect", () => {
      conn.writeRequest(`127.0.0.1:${port}`, "/");
      flush();
    });
    const api = {
      conn,
      flush,
      /** Resolves with the first `count` events. */
      events: (count) =>
        received.length >= count
          ? Promise.resolve(received.slice(0, count))
          : new Promise((r) => waiting.push({ count, resolve: r })),
      closed: closedPromise,
    };
  });
}

/** Raw bytes in, everything the server sent until it closed out. */
function rawExchange(...writes) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const chunks = [];
    socket.on("connect", async () => {
      for (const w of writes) {
        socket.write(w);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    socket.on("data", (d) => chunks.push(d));
    socket.on("error", reject);
    socket.on("close", () => resolve(concat(...chunks)));
  });
}

test("messages of every size echo back, and the close is clean", { timeout: 20_000 }, async () => {
  const c = await open();
  // The example server accepts the default offer: all of this is compressed.
  assert.equal(c.conn.compression, true);
  assert.equal(c.conn.extensions, "permessage-deflate");
  const big = new Uint8Array(4 << 20);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  c.conn.sendText("hello wasm ✓");
  c.conn.sendBinary(big);
  c.conn.ping(enc.encode("p"));
  c.conn.sendText("frag", false);
  c.conn.sendText("ments", true);
  c.flush();
  const events = await c.events(4);
  assert.deepEqual(events[0], { type: "text", data: "hello wasm ✓" });
  assert.equal(events[1].type, "binary");
  assert.equal(events[1].data.length, big.length);
  assert.ok(events[1].data.every((b, i) => b === big[i]), "binary intact");
  assert.deepEqual(events[2], { type: "pong", data: enc.encode("p") });
  assert.deepEqual(events[3], { type: "text", data: "fragments" });
  c.conn.close(1000, "bye");
  c.flush();
  const { closure, error } = await c.closed;
  assert.equal(error, undefined);
  // Clean means both close frames crossed and then the server closed TCP.
  assert.deepEqual(closure, { clean: true, code: 1000 });
});

test("many connections at once each get their own echoes", { timeout: 20_000 }, async () => {
  // Half of them without compression: the server takes either.
  const clients = await Promise.all(
    Array.from({ length: 20 }, (_, i) => open({ perMessageDeflate: i % 2 === 0 })),
  );
  clients.forEach((c, i) => assert.equal(c.conn.compression, i % 2 === 0));
  clients.forEach((c, i) => {
    c.conn.sendText(`client ${i}`);
    c.flush();
  });
  const firsts = await Promise.all(clients.map((c) => c.events(1)));
  firsts.forEach(([e], i) => assert.deepEqual(e, { type: "text", data: `client ${i}` }));
  for (const c of clients) {
    c.conn.close(1000, "");
    c.flush();
  }
  for (const { closure } of await Promise.all(clients.map((c) => c.closed))) {
    assert.deepEqual(closure, { clean: true, code: 1000 });
  }
});

test("a bad upgrade request gets an HTTP error and the socket closes", { timeout: 10_000 }, async () => {
  const reply = dec.decode(await rawExchange(upgradeRequest({ version: "7" })));
  assert.match(reply, /^HTTP\/1\.1 426 /);
  const junk = dec.decode(await rawExchange(enc.encode("hello?\r\n\r\n")));
  assert.match(junk, /^HTTP\/1\.1 400 /);
});

test("garbage after the handshake gets a 1002 close and the socket closes", { timeout: 10_000 }, async () => {
  const reply = await rawExchange(upgradeRequest(), concat(frame(1, "ok"), enc.encode("\x00garbage")));
  const text = dec.decode(reply);
  const end = text.indexOf("\r\n\r\n") + 4;
  assert.match(text, /^HTTP\/1\.1 101 /);
  const frames = reply.subarray(end);
  assert.deepEqual([...frames.subarray(0, 4)], [0x81, 2, 0x6f, 0x6b], "the echo of 'ok' first");
  assert.equal(closeCodeOf(frames.subarray(4)), 1002);
});

test("a client refuses a server that does not switch protocols", { timeout: 10_000 }, async () => {
  const http = net.createServer((s) => {
    s.once("data", () => s.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
  });
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  try {
    const socket = net.connect({ host: "127.0.0.1", port: http.address().port });
    const conn = new ClientConnection();
    const outcome = new Promise((resolve) => {
      const flush = link(socket, conn, {
        handshake: (bytes) => conn.readResponse(bytes) !== undefined,
        onEvent: () => {},
        onClose: (closure, error) => resolve({ closure, error }),
      });
      socket.once("connect", () => {
        conn.writeRequest("127.0.0.1", "/");
        flush();
      });
    });
    const { closure, error } = await outcome;
    assert.equal(error.code, "ERR_WEBSOCK_HANDSHAKE");
    assert.equal(error.status, 404);
    assert.deepEqual(closure, { clean: false, code: 1006 });
  } finally {
    http.close();
  }
});

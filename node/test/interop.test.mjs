// Interop with the ws package (pinned in package-lock.json): its client
// against our server, our client against its server (and ours against
// ours), with and without permessage-deflate: text, binary, 16 MiB, ping
// both ways, compressed messages, and a clean close from either side.
// Since the APIs match, one scenario drives every pairing.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { describe, test } from "node:test";

import * as ws from "ws";

import * as ours from "websock";

const impls = { ws, websock: ours };

/** An echo server of `impl` on a free port; resolves with it and its URL. */
async function echoServer(impl, perMessageDeflate) {
  const server = new impl.WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate });
  await once(server, "listening");
  const closes = [];
  server.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => {
      if (!isBinary && data.toString() === "close me") socket.close(4001, "as asked");
      else socket.send(data, { binary: isBinary });
    });
    socket.on("ping", (data) => socket.send(`pinged ${data}`));
    socket.on("close", (code, reason) => closes.push([code, reason.toString()]));
  });
  return { server, url: `ws://127.0.0.1:${server.address().port}/echo`, closes };
}

/** Opens a client of `impl`; resolves with it and a queue of its messages. */
async function client(impl, url, perMessageDeflate) {
  const socket = new impl.WebSocket(url, { perMessageDeflate });
  const messages = [];
  let waiting = null;
  socket.on("message", (data, isBinary) => {
    messages.push({ data, isBinary });
    if (waiting) waiting();
  });
  await once(socket, "open");
  const next = async () => {
    while (messages.length === 0) await new Promise((resolve) => (waiting = resolve));
    return messages.shift();
  };
  return { socket, next };
}

const pairings = [
  ["ws", "websock"],
  ["websock", "ws"],
  ["websock", "websock"],
];

for (const [clientName, serverName] of pairings) {
  for (const deflate of [false, true]) {
    describe(`${clientName} client, ${serverName} server, ${deflate ? "compressed" : "plain"}`, () => {
      test("messages, pings and a clean close by the client", { timeout: 60_000 }, async () => {
        const { server, url, closes } = await echoServer(impls[serverName], deflate);
        try {
          const { socket, next } = await client(impls[clientName], url, deflate);
          assert.equal(socket.extensions, deflate ? "permessage-deflate" : "");

          socket.send("héllo, wörld");
          let m = await next();
          assert.equal(m.isBinary, false);
          assert.equal(m.data.toString(), "héllo, wörld");

          const bytes = randomBytes(1000);
          socket.send(bytes);
          m = await next();
          assert.equal(m.isBinary, true);
          assert.ok(m.data.equals(bytes));

          const big = randomBytes(16 << 20);
          socket.send(big);
          m = await next();
          assert.equal(m.data.length, big.length);
          assert.ok(m.data.equals(big), "16 MiB came back changed");

          // Compressible text: with deflate agreed, it crosses compressed.
          const prose = "the quick brown fox jumps over the lazy dog. ".repeat(20_000);
          socket.send(prose);
          m = await next();
          assert.equal(m.data.toString(), prose);

          const pong = once(socket, "pong");
          socket.ping("ping-payload");
          assert.equal((await pong)[0].toString(), "ping-payload");
          // The server saw the ping as an event too, and said so.
          m = await next();
          assert.equal(m.data.toString(), "pinged ping-payload");

          const closed = once(socket, "close");
          socket.close(1000, "bye");
          const [code, reason] = await closed;
          assert.equal(code, 1000);
          assert.equal(typeof reason.toString(), "string");
          assert.equal(socket.readyState, impls[clientName].WebSocket.CLOSED);
          await waitFor(() => closes.length === 1);
          assert.deepEqual(closes[0], [1000, "bye"]);
        } finally {
          await closeServer(server);
        }
      });

      test("a clean close by the server, and a ping from it", { timeout: 30_000 }, async () => {
        const { server, url, closes } = await echoServer(impls[serverName], deflate);
        try {
          const { socket } = await client(impls[clientName], url, deflate);
          const [serverSide] = server.clients;
          const pinged = once(socket, "ping");
          const ponged = once(serverSide, "pong");
          serverSide.ping("from the server");
          assert.equal((await pinged)[0].toString(), "from the server");
          assert.equal((await ponged)[0].toString(), "from the server");

          const closed = once(socket, "close");
          socket.send("close me");
          const [code, reason] = await closed;
          assert.equal(code, 4001);
          assert.equal(reason.toString(), "as asked");
          await waitFor(() => closes.length === 1);
          assert.equal(closes[0][0], 4001);
        } finally {
          await closeServer(server);
        }
      });
    });
  }
}

async function waitFor(condition) {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), "timed out waiting");
}

async function closeServer(server) {
  for (const c of server.clients) c.terminate();
  await new Promise((resolve) => server.close(resolve));
}

// The ws-style API where it has rules of its own: attaching to an
// http.Server, noServer + handleUpgrade, path, subprotocols, verifyClient,
// the headers event, argument checks, maxPayload, bufferedAmount,
// binaryType, the EventTarget face, pause/resume, and failures to connect.

import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";

import WebSocketDefault, { WebSocket, WebSocketServer } from "websock";

async function listening(server) {
  if (!server.listening) await once(server, "listening");
  return server.address().port;
}

async function standalone(options = {}) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
  await once(wss, "listening");
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
  return { wss, url: `ws://127.0.0.1:${wss.address().port}` };
}

function stop(wss) {
  for (const c of wss.clients ?? []) c.terminate();
  return new Promise((resolve) => wss.close(resolve));
}

test("the default export is WebSocket, with the server on it as in ws", () => {
  assert.equal(WebSocketDefault, WebSocket);
  assert.equal(WebSocket.WebSocketServer, WebSocketServer);
  assert.equal(WebSocket.Server, WebSocketServer);
  assert.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
});

test("one and only one of port, server, noServer", () => {
  assert.throws(() => new WebSocketServer({}), TypeError);
  assert.throws(() => new WebSocketServer({ port: 0, noServer: true }), TypeError);
});

test("attached to an http.Server: upgrades on its path, plain requests stay the server's", { timeout: 20_000 }, async () => {
  const server = http.createServer((req, res) => res.end("plain http"));
  const wss = new WebSocketServer({ server, path: "/ws" });
  const requests = [];
  wss.on("connection", (ws, req) => {
    requests.push(req.url);
    ws.on("message", (data) => ws.send(`got ${data}`));
  });
  server.listen(0, "127.0.0.1");
  const port = await listening(server);
  try {
    const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.equal(body, "plain http");
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?room=1`);
    await once(ws, "open");
    ws.send("x");
    const [data] = await once(ws, "message");
    assert.equal(data.toString(), "got x");
    assert.deepEqual(requests, ["/ws?room=1"]);
    ws.close();
    await once(ws, "close");

    // Another path is refused with 400.
    const other = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`);
    const [err] = await once(other, "error");
    assert.equal(err.status, 400);
    const [code] = await once(other, "close");
    assert.equal(code, 1006);
  } finally {
    await stop(wss);
    server.close();
  }
});

test("noServer with handleUpgrade, routed by the application", { timeout: 20_000 }, async () => {
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  assert.throws(() => wss.address(), /noServer/);
  server.on("upgrade", (req, socket, head) => {
    if (req.url !== "/chat") {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });
  wss.on("connection", (ws) => ws.send("welcome"));
  server.listen(0, "127.0.0.1");
  const port = await listening(server);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    const [data, isBinary] = await once(ws, "message");
    assert.equal(data.toString(), "welcome");
    assert.equal(isBinary, false);
    assert.equal(wss.clients.size, 1);
    ws.close(1000);
    await once(ws, "close");
    const missing = new WebSocket(`ws://127.0.0.1:${port}/nope`);
    const [err] = await once(missing, "error");
    assert.equal(err.status, 404);
  } finally {
    await stop(wss);
    server.close();
  }
});

test("a plain HTTP request to a standalone server gets 426", async () => {
  const { wss, url } = await standalone();
  try {
    const res = await fetch(url.replace("ws:", "http:"));
    assert.equal(res.status, 426);
  } finally {
    await stop(wss);
  }
});

test("subprotocols: handleProtocols picks one, and the client sees it", async () => {
  const { wss, url } = await standalone({
    handleProtocols: (protocols) => (protocols.has("b") ? "b" : false),
  });
  try {
    const ws = new WebSocket(url, ["a", "b"]);
    await once(ws, "open");
    assert.equal(ws.protocol, "b");
    const [[serverSide]] = [[...wss.clients]];
    assert.equal(serverSide.protocol, "b");
    ws.close();
    await once(ws, "close");
    assert.throws(() => new WebSocket(url, ["a", "a"]), SyntaxError);
    assert.throws(() => new WebSocket(url, ["bad name"]), SyntaxError);
  } finally {
    await stop(wss);
  }
});

test("verifyClient, sync and async, and the headers event", async () => {
  let verdict = false;
  const { wss, url } = await standalone({
    verifyClient: (info, done) => setImmediate(() => done(verdict, 403, "not you")),
  });
  wss.on("headers", (headers) => headers.push("X-Extra: 1"));
  try {
    const refused = new WebSocket(url);
    const [err] = await once(refused, "error");
    assert.equal(err.status, 403);
    verdict = true;
    const ws = new WebSocket(url, { headers: { "X-Hello": "there" }, origin: "http://example.test" });
    const seen = once(wss, "connection");
    await once(ws, "open");
    const [, req] = await seen;
    assert.equal(req.headers["x-hello"], "there");
    assert.equal(req.headers.origin, "http://example.test");
    ws.close();
    await once(ws, "close");
  } finally {
    await stop(wss);
  }
  const sync = await standalone({ verifyClient: () => false });
  try {
    const ws = new WebSocket(sync.url);
    const [err] = await once(ws, "error");
    assert.equal(err.status, 401);
  } finally {
    await stop(sync.wss);
  }
});

test("argument checks as in ws", async () => {
  assert.throws(() => new WebSocket("not a url"), SyntaxError);
  assert.throws(() => new WebSocket("ftp://127.0.0.1/"), SyntaxError);
  assert.throws(() => new WebSocket("ws://127.0.0.1/#frag"), SyntaxError);
  const { wss, url } = await standalone();
  try {
    const ws = new WebSocket(url);
    assert.throws(() => ws.send("too early"), /readyState 0 \(CONNECTING\)/);
    assert.throws(() => ws.ping(), /readyState 0/);
    await once(ws, "open");
    assert.throws(() => ws.close(1005), TypeError);
    assert.throws(() => ws.close(999), TypeError);
    assert.throws(() => ws.close(1000, "x".repeat(124)), RangeError);
    assert.throws(() => ws.ping(Buffer.alloc(126)), RangeError);
    ws.close(4000, "x".repeat(123));
    // After close: send does not throw, its callback gets the error.
    const [err] = await new Promise((resolve) => ws.send("late", (e) => resolve([e])));
    assert.match(err.message, /readyState 2 \(CLOSING\)/);
    const [code] = await once(ws, "close");
    assert.equal(code, 4000);
  } finally {
    await stop(wss);
  }
});

test("maxPayload: a larger message fails the connection with 1009", async () => {
  const { wss, url } = await standalone({ maxPayload: 1000 });
  const serverErrors = [];
  wss.on("connection", (ws) => ws.on("error", (e) => serverErrors.push(e)));
  try {
    const ws = new WebSocket(url);
    await once(ws, "open");
    ws.send(Buffer.alloc(1000));
    const [echo] = await once(ws, "message");
    assert.equal(echo.length, 1000);
    ws.send(Buffer.alloc(1001));
    const [code] = await once(ws, "close");
    assert.equal(code, 1009);
    assert.equal(serverErrors.length, 1);
    assert.equal(serverErrors[0].closeCode, 1009);
  } finally {
    await stop(wss);
  }
});

test("bufferedAmount counts what is not yet written, send callbacks run once written", async () => {
  const { wss, url } = await standalone();
  try {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await once(ws, "open");
    assert.equal(ws.bufferedAmount, 0);
    const written = new Promise((resolve) => ws.send(Buffer.alloc(100_000), resolve));
    assert.ok(ws.bufferedAmount >= 100_000, `bufferedAmount ${ws.bufferedAmount}`);
    assert.equal(await written, undefined);
    await once(ws, "message");
    assert.equal(ws.bufferedAmount, 0);
    ws.close();
    await once(ws, "close");
  } finally {
    await stop(wss);
  }
});

test("binaryType, fragments, and the EventTarget face", async () => {
  const { wss, url } = await standalone();
  try {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.binaryType = "nonsense"; // ignored, as in ws
    assert.equal(ws.binaryType, "arraybuffer");
    const opened = new Promise((resolve) => (ws.onopen = resolve));
    await opened;
    const events = [];
    ws.onmessage = (e) => events.push(e.data);
    const listener = (e) => events.push(`listener ${typeof e.data}`);
    ws.addEventListener("message", listener);
    ws.send(Uint8Array.of(1, 2));
    ws.send("part one, ", { fin: false });
    ws.send("part two", { fin: true });
    await waitFor(() => events.length === 4);
    assert.ok(events[0] instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(events[0])], [1, 2]);
    assert.equal(events[2], "part one, part two");
    ws.removeEventListener("message", listener);
    const closed = new Promise((resolve) => ws.addEventListener("close", resolve, { once: true }));
    ws.close(1000, "done");
    const event = await closed;
    assert.equal(event.code, 1000);
    assert.equal(event.wasClean, true);
  } finally {
    await stop(wss);
  }
});

test("echoes stay whole while the server's writes wait for a reader that does not read", { timeout: 60_000 }, async () => {
  // The adapter writes output through a buffer its connections share, and
  // hands out payloads in the received chunk: with one client not reading,
  // the server's writes to it are left pending while it goes on echoing to
  // both clients, and every echo must still come back as sent.
  const { wss, url } = await standalone();
  try {
    const stalled = new WebSocket(url, { perMessageDeflate: false });
    const active = new WebSocket(url, { perMessageDeflate: false });
    await Promise.all([once(stalled, "open"), once(active, "open")]);
    const message = (i) => Buffer.alloc(1 + ((i * 7919) % 30_000), i % 251);
    const count = 1500;
    const got = [];
    stalled.on("message", (data) => got.push(data));
    stalled.pause();
    for (let i = 0; i < count; i++) stalled.send(message(i));
    let serverPending = 0;
    let echoed = 0;
    active.on("message", (data) => {
      assert.ok(data.equals(message(count + echoed)), `active message ${echoed}`);
      echoed++;
      if (echoed < count) active.send(message(count + echoed));
    });
    active.send(message(count));
    await waitFor(() => {
      for (const c of wss.clients) serverPending = Math.max(serverPending, c.bufferedAmount);
      return stalled.bufferedAmount === 0 && serverPending > 0 && echoed === count;
    });
    stalled.resume();
    await waitFor(() => got.length === count);
    for (let i = 0; i < count; i++) assert.ok(got[i].equals(message(i)), `message ${i}`);
    stalled.close();
    active.close();
    await Promise.all([once(stalled, "close"), once(active, "close")]);
  } finally {
    await stop(wss);
  }
});

test("pause holds messages until resume", async () => {
  const { wss, url } = await standalone();
  try {
    const ws = new WebSocket(url);
    await once(ws, "open");
    const got = [];
    ws.on("message", (data) => {
      got.push(data.toString());
      if (got.length === 1) ws.pause();
    });
    for (const m of ["a", "b", "c"]) ws.send(m);
    await waitFor(() => got.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ws.isPaused, true);
    assert.deepEqual(got, ["a"]);
    ws.resume();
    await waitFor(() => got.length === 3);
    assert.deepEqual(got, ["a", "b", "c"]);
    ws.close();
    await once(ws, "close");
  } finally {
    await stop(wss);
  }
});

test("connecting to nothing: error then close 1006; close() while connecting too", async () => {
  const probe = net.createServer().listen(0, "127.0.0.1");
  const port = await listening(probe);
  await new Promise((r) => probe.close(r));
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const [err] = await once(ws, "error");
  assert.equal(err.code, "ECONNREFUSED");
  const [code] = await once(ws, "close");
  assert.equal(code, 1006);

  const { wss, url } = await standalone();
  try {
    const early = new WebSocket(url);
    const errored = once(early, "error");
    early.close();
    assert.match((await errored)[0].message, /closed before the connection was established/);
    await once(early, "close");
    assert.equal(early.readyState, WebSocket.CLOSED);
  } finally {
    await stop(wss);
  }
});

test("terminate drops the connection: both sides see 1006", async () => {
  const { wss, url } = await standalone();
  try {
    const ws = new WebSocket(url);
    const [serverSide] = await Promise.all([once(wss, "connection").then(([s]) => s), once(ws, "open")]);
    const serverClosed = once(serverSide, "close");
    ws.terminate();
    assert.equal((await once(ws, "close"))[0], 1006);
    assert.equal((await serverClosed)[0], 1006);
    await waitFor(() => wss.clients.size === 0);
  } finally {
    await stop(wss);
  }
});

async function waitFor(condition) {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), "timed out waiting");
}

// Events: what receive() reports for each kind of frame, as plain objects.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ServerConnection, concat, deliver, enc, frame, pair, receiveAll, upgradeRequest } from "./helpers.mjs";

test("the handshake reports the request and the chosen subprotocol", () => {
  const { client, server, request, response } = pair({
    client: { protocols: ["v2.chat", "chat"] },
    server: { protocols: ["chat", "v2.chat"] },
  });
  // permessage-deflate is on by default on both sides.
  const extensions = "permessage-deflate";
  assert.deepEqual(request, { path: "/chat", host: "localhost:8080", protocol: "chat", extensions });
  assert.deepEqual(response, { protocol: "chat", extensions });
  assert.equal(client.state, "open");
  assert.equal(server.state, "open");
});

test("text and binary messages arrive whole, as plain objects", () => {
  const { client, server } = pair();
  client.sendText("héllo, wörld €");
  client.sendBinary(new Uint8Array([0, 255, 7]));
  client.sendText("");
  const events = deliver(client, server);
  assert.deepEqual(events, [
    { type: "text", data: "héllo, wörld €" },
    { type: "binary", data: new Uint8Array([0, 255, 7]) },
    { type: "text", data: "" },
  ]);
  assert.equal(Object.getPrototypeOf(events[0]), Object.prototype);
  server.sendText("back");
  assert.deepEqual(deliver(server, client), [{ type: "text", data: "back" }]);
});

test("text keeps a leading U+FEFF (it is content, not a byte order mark)", () => {
  const { client, server } = pair();
  client.sendText("\uFEFFbom");
  assert.deepEqual(deliver(client, server), [{ type: "text", data: "\uFEFFbom" }]);
});

test("fragmented messages are reassembled, with control frames in between", () => {
  const { client } = pair();
  client.sendText("frag", false);
  client.ping(enc.encode("in between"));
  client.sendText("mented ", false);
  client.sendText("€", true);
  client.sendBinary(new Uint8Array([1]), false);
  client.sendBinary(new Uint8Array([2, 3]), true);
  const wire = client.takeOutput();
  // Fed whole, and one byte at a time: the same events.
  for (const step of [wire.length, 1, 5]) {
    const { server: fresh } = pair();
    const events = [];
    for (let at = 0; at < wire.length; at += step) events.push(...receiveAll(fresh, wire.subarray(at, at + step)));
    assert.deepEqual(
      events,
      [
        { type: "ping", data: enc.encode("in between") },
        { type: "text", data: "fragmented €" },
        { type: "binary", data: new Uint8Array([1, 2, 3]) },
      ],
      `fed ${step} bytes at a time`,
    );
  }
});

test("a text character split across fragments decodes once whole", () => {
  const { server } = pair();
  const euro = enc.encode("€"); // three bytes
  const wire = concat(frame(1, euro.subarray(0, 1), { fin: false }), frame(0, euro.subarray(1), { fin: true }));
  assert.deepEqual(receiveAll(server, wire), [{ type: "text", data: "€" }]);
});

test("pings are answered with pongs in the output; pongs are reported", () => {
  const { client, server } = pair();
  client.ping(enc.encode("are you there"));
  assert.deepEqual(deliver(client, server), [{ type: "ping", data: enc.encode("are you there") }]);
  assert.deepEqual(deliver(server, client), [{ type: "pong", data: enc.encode("are you there") }]);
  server.pong(new Uint8Array([42]));
  assert.deepEqual(deliver(server, client), [{ type: "pong", data: new Uint8Array([42]) }]);
  client.ping();
  assert.deepEqual(deliver(client, server), [{ type: "ping", data: new Uint8Array() }]);
});

test("receive() stops after each message so the reply precedes the close reply", () => {
  const { client, server } = pair();
  client.sendText("echo me");
  client.close(1000, "done");
  const wire = client.takeOutput();
  assert.deepEqual(server.receive(wire), [{ type: "text", data: "echo me" }]);
  assert.equal(server.state, "open");
  server.sendText("echo me");
  assert.deepEqual(server.receive(), [{ type: "close", code: 1000, reason: "done" }]);
  assert.deepEqual(server.receive(), []);
  assert.equal(server.state, "closed");
  assert.equal(server.shouldClose(), true);
  assert.deepEqual(deliver(server, client), [
    { type: "text", data: "echo me" },
    { type: "close", code: 1000, reason: "" },
  ]);
  assert.equal(client.state, "closed");
  // The client leaves closing TCP to the server (RFC 6455 section 7.1.1).
  assert.equal(client.shouldClose(), false);
  assert.deepEqual(server.transportClosed(), { clean: true, code: 1000 });
  assert.deepEqual(client.transportClosed(), { clean: true, code: 1000 });
});

test("a close frame without a code reports 1005 and is answered without one", () => {
  const { server } = pair();
  assert.deepEqual(receiveAll(server, frame(8)), [{ type: "close", code: 1005, reason: "" }]);
  assert.deepEqual(server.takeOutput(), new Uint8Array([0x88, 0]));
});

test("frames that came with the upgrade request wait for receive()", () => {
  const server = new ServerConnection();
  const wire = concat(upgradeRequest(), frame(1, "early"));
  assert.ok(server.accept(wire.subarray(0, 20)) === undefined);
  assert.ok(server.accept(wire.subarray(20)));
  assert.match(new TextDecoder().decode(server.takeOutput()), /^HTTP\/1\.1 101 /);
  assert.deepEqual(server.receive(), [{ type: "text", data: "early" }]);
});

test("output accumulates until taken, and bufferedAmount says how much", () => {
  const { client } = pair({ client: { perMessageDeflate: false } });
  assert.equal(client.bufferedAmount, 0);
  client.sendBinary(new Uint8Array(1000));
  client.sendText("x");
  const n = client.bufferedAmount;
  assert.ok(n >= 1000 + 1 + 2 * 6, `${n}`);
  assert.equal(client.takeOutput().length, n);
  assert.equal(client.bufferedAmount, 0);
  assert.equal(client.takeOutput().length, 0);
});

test("large messages cross intact", () => {
  const { client, server } = pair();
  const big = new Uint8Array(3 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  client.sendBinary(big);
  const [event] = deliver(client, server);
  assert.equal(event.type, "binary");
  assert.equal(event.data.length, big.length);
  assert.ok(event.data.every((b, i) => b === big[i]));
});

test("textAsBytes delivers text as its UTF-8 bytes; sendTextBytes sends bytes as text", () => {
  const { client, server } = pair({ server: { textAsBytes: true, perMessageDeflate: false } });
  client.sendText("héllo");
  const [event] = receiveAll(server, client.takeOutput());
  assert.equal(event.type, "text");
  assert.ok(event.data instanceof Uint8Array);
  assert.deepEqual(event.data, enc.encode("héllo"));
  server.sendTextBytes(enc.encode("wörld"));
  assert.deepEqual(receiveAll(client, server.takeOutput()), [{ type: "text", data: "wörld" }]);
  assert.throws(() => new ServerConnection({ textAsBytes: 1 }), { code: "ERR_WEBSOCK_INVALID_ARGUMENT" });
});

// Errors: thrown Errors with a machine-readable code for the caller's
// mistakes, and an error event (never a throw, never a hang) for the peer's.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ClientConnection,
  ServerConnection,
  closeCodeOf,
  concat,
  dec,
  enc,
  frame,
  pair,
  prng,
  receiveAll,
  upgradeRequest,
} from "./helpers.mjs";

/** assert.throws, checking the thrown value is an Error with `code`. */
function throwsCode(fn, code, extra = {}) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof Error, "an Error");
    assert.equal(err.code, code);
    for (const [k, v] of Object.entries(extra)) assert.equal(err[k], v, k);
    return true;
  });
}

test("garbage after the handshake fails with 1002 and an error event", () => {
  const { server } = pair();
  const garbage = enc.encode("this is not a WebSocket frame at all");
  const events = receiveAll(server, garbage);
  assert.equal(events.length, 1);
  const [{ type, error }] = events;
  assert.equal(type, "error");
  assert.ok(error instanceof Error);
  assert.equal(error.code, "ERR_WEBSOCK_PROTOCOL");
  assert.equal(error.closeCode, 1002);
  assert.equal(closeCodeOf(server.takeOutput()), 1002);
  assert.equal(server.state, "failed");
  assert.equal(server.shouldClose(), true);
  // The connection stays usable as a value: more input is ignored, sends
  // throw a coded error, and closing the transport reports the failure.
  assert.deepEqual(receiveAll(server, garbage), []);
  assert.equal(server.takeOutput().length, 0);
  throwsCode(() => server.sendText("late"), "ERR_WEBSOCK_INVALID_STATE");
  assert.deepEqual(server.transportClosed(), { clean: false, code: 1006 });
});

test("events before a violation are delivered, in order, before the error", () => {
  const { server } = pair();
  const wire = concat(frame(1, "fine"), frame(9, "ping"), frame(3, "reserved opcode"), frame(1, "never"));
  const events = receiveAll(server, wire);
  assert.deepEqual(
    events.map((e) => e.type),
    ["text", "ping", "error"],
  );
  assert.equal(events[0].data, "fine");
  assert.equal(events[2].error.closeCode, 1002);
  // The pong went out before the failing close.
  const out = server.takeOutput();
  assert.equal(out[0], 0x8a);
  assert.equal(closeCodeOf(out.subarray(2 + 4)), 1002);
});

test("each kind of violation gets its close code", () => {
  const cases = [
    ["unmasked client frame", frame(1, "x", { mask: null }), 1002],
    ["reserved bits", frame(1, "x", { rsv: 2 }), 1002],
    ["fragmented ping", frame(9, "x", { fin: false }), 1002],
    ["ping over 125 bytes", frame(9, new Uint8Array(126)), 1002],
    ["continuation without a message", frame(0, "x"), 1002],
    ["one-byte close", frame(8, new Uint8Array([3])), 1002],
    ["close code 1005 on the wire", frame(8, new Uint8Array([0x03, 0xed])), 1002],
    ["invalid UTF-8 text", frame(1, new Uint8Array([0xce, 0xba, 0xff])), 1007],
    ["invalid UTF-8 close reason", frame(8, new Uint8Array([0x03, 0xe8, 0xff])), 1007],
  ];
  for (const [name, wire, code] of cases) {
    const { server } = pair();
    const events = receiveAll(server, wire);
    assert.equal(events.at(-1)?.type, "error", name);
    assert.equal(events.at(-1).error.closeCode, code, name);
    assert.equal(closeCodeOf(server.takeOutput()), code, name);
  }
});

test("invalid UTF-8 fails fast, before the message ends", () => {
  const { server } = pair();
  const events = receiveAll(server, frame(1, new Uint8Array([0x61, 0xff]), { fin: false }));
  assert.equal(events.at(-1)?.error?.closeCode, 1007);
});

test("a message over maxMessageSize closes with 1009", () => {
  // Uncompressed, so the frame headers announce the size (compressed
  // messages are counted as they inflate: compression.test.mjs).
  const { client, server } = pair({ client: { perMessageDeflate: false }, server: { maxMessageSize: 10 } });
  client.sendText("0123456789");
  client.sendText("01234", false);
  client.sendText("56789!", true);
  const events = receiveAll(server, client.takeOutput());
  assert.deepEqual(events[0], { type: "text", data: "0123456789" });
  assert.equal(events[1].type, "error");
  assert.equal(events[1].error.closeCode, 1009);
  assert.equal(closeCodeOf(server.takeOutput()), 1009);
});

test("random bytes never throw or hang, and end in a failure or nothing", () => {
  const next = prng(0x5eed);
  for (let round = 0; round < 300; round++) {
    const { server } = pair();
    const garbage = new Uint8Array(1 + (next() % 200));
    for (let i = 0; i < garbage.length; i++) garbage[i] = next() & 0xff;
    const events = [];
    for (let at = 0; at < garbage.length; ) {
      const step = 1 + (next() % 17);
      events.push(...receiveAll(server, garbage.subarray(at, at + step)));
      at += step;
    }
    const failures = events.filter((e) => e.type === "error");
    assert.ok(failures.length <= 1, `round ${round}`);
    if (failures.length === 1) {
      assert.equal(events.at(-1).type, "error", `round ${round}: the error comes last`);
      assert.ok([1002, 1007, 1009].includes(failures[0].error.closeCode));
      assert.equal(server.shouldClose(), true);
    }
    server.takeOutput();
    server.transportClosed();
    server.free();
  }
});

test("a bad upgrade request is refused with an HTTP error to write", () => {
  const server = new ServerConnection();
  throwsCode(() => server.accept(upgradeRequest({ version: "8" })), "ERR_WEBSOCK_HANDSHAKE", { status: 426 });
  const response = dec.decode(server.takeOutput());
  assert.match(response, /^HTTP\/1\.1 426 /);
  assert.match(response, /Sec-WebSocket-Version: 13/i);
  assert.equal(server.state, "failed");
  assert.equal(server.shouldClose(), true);

  const post = new ServerConnection();
  throwsCode(() => post.accept(enc.encode("POST / HTTP/1.1\r\nHost: x\r\n\r\n")), "ERR_WEBSOCK_HANDSHAKE", {
    status: 405,
  });
  assert.match(dec.decode(post.takeOutput()), /^HTTP\/1\.1 405 /);

  const junk = new ServerConnection();
  throwsCode(() => junk.accept(enc.encode("\x16\x03\x01 TLS hello?\r\n\r\n")), "ERR_WEBSOCK_HANDSHAKE", {
    status: 400,
  });
  assert.match(dec.decode(junk.takeOutput()), /^HTTP\/1\.1 400 /);
});

test("an oversized upgrade request is refused with 431", () => {
  const server = new ServerConnection({ maxHandshakeSize: 256 });
  const request = upgradeRequest({ extra: `X-Padding: ${"a".repeat(300)}\r\n` });
  throwsCode(() => server.accept(request), "ERR_WEBSOCK_HANDSHAKE", { status: 431 });
  assert.match(dec.decode(server.takeOutput()), /^HTTP\/1\.1 431 /);
});

test("a client refuses a non-101 response and a wrong accept key", () => {
  const client = new ClientConnection();
  client.writeRequest("example.com", "/");
  client.takeOutput();
  throwsCode(
    () => client.readResponse(enc.encode("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")),
    "ERR_WEBSOCK_HANDSHAKE",
    { status: 404 },
  );
  assert.equal(client.shouldClose(), true);

  const other = new ClientConnection();
  other.writeRequest("example.com", "/");
  const forged =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  throwsCode(() => other.readResponse(enc.encode(forged)), "ERR_WEBSOCK_HANDSHAKE");
});

test("calls out of turn throw ERR_WEBSOCK_INVALID_STATE", () => {
  const server = new ServerConnection();
  throwsCode(() => server.receive(new Uint8Array([1, 2, 3])), "ERR_WEBSOCK_INVALID_STATE");
  throwsCode(() => server.sendText("too early"), "ERR_WEBSOCK_INVALID_STATE");
  const client = new ClientConnection();
  throwsCode(() => client.readResponse(new Uint8Array()), "ERR_WEBSOCK_INVALID_STATE");
  const { client: open } = pair();
  open.close();
  throwsCode(() => open.sendBinary(new Uint8Array([1])), "ERR_WEBSOCK_INVALID_STATE");
  throwsCode(() => open.close(), "ERR_WEBSOCK_INVALID_STATE");
});

test("bad arguments throw coded errors and write nothing", () => {
  const { client } = pair();
  throwsCode(() => client.ping(new Uint8Array(126)), "ERR_WEBSOCK_CONTROL_TOO_LONG");
  throwsCode(() => client.close(1000, "r".repeat(124)), "ERR_WEBSOCK_CONTROL_TOO_LONG");
  for (const code of [1005, 1006, 999, 5000]) throwsCode(() => client.close(code), "ERR_WEBSOCK_INVALID_CLOSE_CODE");
  for (const code of [1000.5, -1, 70000, NaN]) throwsCode(() => client.close(code), "ERR_WEBSOCK_INVALID_CLOSE_CODE");
  throwsCode(() => client.tick(-5), "ERR_WEBSOCK_INVALID_ARGUMENT");
  assert.equal(client.bufferedAmount, 0);
  assert.equal(client.state, "open");
});

test("bad options throw ERR_WEBSOCK_INVALID_ARGUMENT", () => {
  for (const options of [
    { maxMessageSize: -1 },
    { maxMessageSize: "big" },
    { closeTimeout: Infinity },
    { protocols: "chat" },
    { protocols: ["two words"] },
    { protocols: ["x\r\nSet-Cookie: a=b"] },
    { now: NaN },
    { perMessageDeflate: "on" },
    { perMessageDeflate: { level: 12 } },
    42,
  ]) {
    throwsCode(() => new ServerConnection(options), "ERR_WEBSOCK_INVALID_ARGUMENT");
  }
  assert.equal(new ServerConnection({ perMessageDeflate: false }).state, "handshake");
});

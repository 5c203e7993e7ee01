// permessage-deflate (RFC 7692): negotiation strings both ways, compressed
// messages through a pair and against Node's own zlib (an independent
// implementation), window sizes honoured for real, and the limits that
// keep a small compressed frame from inflating without bound.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { test } from "node:test";

import {
  ClientConnection,
  ServerConnection,
  closeCodeOf,
  concat,
  dec,
  deliver,
  enc,
  frame,
  pair,
  parseFrames,
  prng,
  receiveAll,
  upgradeRequest,
} from "./helpers.mjs";

/** The bytes every compressed message ends with, stripped on the wire. */
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** The value of header `name` in an HTTP head, or undefined. */
function header(bytes, name) {
  const match = dec.decode(bytes).match(new RegExp(`^${name}: (.*)\r$`, "im"));
  return match?.[1];
}

/** Bytes that do not compress: a deterministic xorshift stream. */
function noise(length, seed = 7) {
  const next = prng(seed);
  return Uint8Array.from({ length }, () => next() & 0xff);
}

/**
 * Inflates one compressed message (its frames' payloads) with Node's zlib.
 * A 64-byte output chunk makes zlib enforce `windowBits` (with one big
 * output buffer it resolves far references from the buffer itself).
 */
function inflateMessage(frames, windowBits = 15) {
  const data = concat(...frames.map((f) => f.payload), TAIL);
  // The message has no final block, so the input ends mid-stream.
  const options = { windowBits, chunkSize: 64, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  return new Uint8Array(zlib.inflateRawSync(data, options));
}

/** A message as a compressing client sends it, made by Node's zlib. */
function nodeCompressed(opcode, payload, { windowBits = 15 } = {}) {
  const data = typeof payload === "string" ? enc.encode(payload) : payload;
  const z = zlib.deflateRawSync(data, { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  // Section 7.2.1: a sync flush ends with the tail, which is stripped.
  assert.deepEqual([...z.subarray(z.length - 4)], [...TAIL]);
  return frame(opcode, z.subarray(0, z.length - 4), { rsv: 4 });
}

/** A 101 response to `request` that a client must check, with `extra` lines. */
function response101(request, extra = "") {
  const key = header(request, "Sec-WebSocket-Key");
  const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  return enc.encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\n${extra}\r\n`,
  );
}

test("by default the client offers, the server accepts, and both say so", () => {
  const client = new ClientConnection();
  const server = new ServerConnection();
  client.writeRequest("localhost", "/");
  const request = client.takeOutput();
  assert.equal(header(request, "Sec-WebSocket-Extensions"), "permessage-deflate; client_max_window_bits");
  const accepted = server.accept(request);
  const response = server.takeOutput();
  assert.equal(header(response, "Sec-WebSocket-Extensions"), "permessage-deflate");
  assert.equal(accepted.extensions, "permessage-deflate");
  assert.equal(client.readResponse(response).extensions, "permessage-deflate");
  for (const conn of [client, server]) {
    assert.equal(conn.compression, true);
    assert.equal(conn.extensions, "permessage-deflate");
  }
});

test("parameters make the offer, and a server applies its limits", () => {
  const { client, server, request, response } = pair({
    client: {
      perMessageDeflate: {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 12,
      },
    },
  });
  // What the client sent is gone (pair() moved it); make the same offer again.
  const again = new ClientConnection({
    perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 },
  });
  again.writeRequest("h", "/");
  assert.equal(
    header(again.takeOutput(), "Sec-WebSocket-Extensions"),
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover; client_max_window_bits=12",
  );
  // The client's promise to reset its own compressor needs no answer.
  const agreed = "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12";
  assert.equal(request.extensions, agreed);
  assert.equal(response.extensions, agreed);
  assert.equal(client.extensions, agreed);
  assert.equal(server.extensions, agreed);

  // A server's own limits: a smaller window for itself, and asking the
  // client to reset and shrink its window, which the default offer allows.
  const limited = pair({
    server: { perMessageDeflate: { serverMaxWindowBits: 11, clientMaxWindowBits: 10, clientNoContextTakeover: true, level: 9 } },
  });
  assert.equal(
    limited.server.extensions,
    "permessage-deflate; server_max_window_bits=11; client_no_context_takeover; client_max_window_bits=10",
  );
  assert.equal(limited.client.extensions, limited.server.extensions);
  limited.client.sendText("still talking");
  assert.deepEqual(deliver(limited.client, limited.server), [{ type: "text", data: "still talking" }]);
});

test("either side can go without, and then nothing is compressed", () => {
  for (const options of [{ client: { perMessageDeflate: false } }, { server: { perMessageDeflate: false } }]) {
    const client = new ClientConnection(options.client);
    const server = new ServerConnection(options.server);
    client.writeRequest("h", "/");
    const request = client.takeOutput();
    server.accept(request);
    const response = server.takeOutput();
    assert.equal(header(response, "Sec-WebSocket-Extensions"), undefined);
    assert.equal(client.readResponse(response).extensions, undefined);
    for (const conn of [client, server]) {
      assert.equal(conn.compression, false);
      assert.equal(conn.extensions, "");
    }
    client.sendText("plain");
    const wire = client.takeOutput();
    assert.equal(parseFrames(wire)[0].rsv, 0);
    assert.deepEqual(receiveAll(server, wire), [{ type: "text", data: "plain" }]);
  }
});

test("a server declines offers it cannot honour and takes the first it can", () => {
  const cases = [
    ["permessage-deflate; server_max_window_bits=8", undefined], // zlib has no 8-bit raw window
    ["permessage-deflate; no_such_param", undefined],
    ["permessage-deflate; server_max_window_bits=16", undefined],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", undefined],
    ["x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8, permessage-deflate", "permessage-deflate"],
    ['permessage-deflate; client_max_window_bits="10"', "permessage-deflate; client_max_window_bits=10"],
  ];
  for (const [offer, expected] of cases) {
    const server = new ServerConnection();
    const accepted = server.accept(upgradeRequest({ extra: `Sec-WebSocket-Extensions: ${offer}\r\n` }));
    assert.equal(accepted.extensions, expected, offer);
    assert.equal(header(server.takeOutput(), "Sec-WebSocket-Extensions"), expected, offer);
    assert.equal(server.compression, expected !== undefined, offer);
  }
});

test("a client refuses responses that break its offer", () => {
  const bad = [
    [false, "permessage-deflate"], // nothing was offered
    [true, "x-unknown"],
    [true, "permessage-deflate; client_max_window_bits=8"], // below what zlib can do
    [true, "permessage-deflate; client_max_window_bits"], // a response needs a value
    [true, "permessage-deflate, permessage-deflate"],
  ];
  for (const [offered, value] of bad) {
    const client = new ClientConnection({ perMessageDeflate: offered });
    client.writeRequest("h", "/");
    const response = response101(client.takeOutput(), `Sec-WebSocket-Extensions: ${value}\r\n`);
    assert.throws(() => client.readResponse(response), { code: "ERR_WEBSOCK_HANDSHAKE" }, value);
    assert.equal(client.shouldClose(), true, value);
  }
  // And one it must take: a smaller client window it allowed.
  const client = new ClientConnection();
  client.writeRequest("h", "/");
  const ok = response101(client.takeOutput(), "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n");
  assert.equal(client.readResponse(ok).extensions, "permessage-deflate; client_max_window_bits=9");
  assert.equal(client.compression, true);
});

test("compressed messages round-trip through a server and client pair", () => {
  const { client, server } = pair();
  const text = "The quick brown fox jumps over the lazy dog. ".repeat(2000);
  const binary = noise(100_000); // more than one inflate chunk, and incompressible
  client.sendText(text);
  client.sendBinary(binary);
  client.sendText("frag", false);
  client.ping(enc.encode("between"));
  client.sendText("ments ✓", true);
  client.sendBinary(new Uint8Array());
  const wire = client.takeOutput();
  const frames = parseFrames(wire);
  assert.equal(frames[0].rsv, 4, "RSV1 on a compressed message");
  assert.ok(frames[0].payload.length < text.length / 20, `text compressed to ${frames[0].payload.length}`);
  assert.deepEqual(
    frames.map((f) => [f.opcode, f.rsv]),
    [[1, 4], [2, 4], [1, 4], [9, 0], [0, 0], [2, 4]],
    "RSV1 on first frames only, never on control frames or continuations",
  );
  const events = receiveAll(server, wire);
  assert.equal(events.length, 5);
  assert.deepEqual(events[0], { type: "text", data: text });
  assert.equal(events[1].type, "binary");
  assert.deepEqual(events[1].data, binary);
  assert.deepEqual(events[2], { type: "ping", data: enc.encode("between") });
  assert.deepEqual(events[3], { type: "text", data: "fragments ✓" });
  assert.deepEqual(events[4], { type: "binary", data: new Uint8Array() });

  // And back: the server compresses too.
  server.sendText(text);
  const back = server.takeOutput();
  assert.deepEqual(receiveAll(client, back).at(-1), { type: "text", data: text });
});

test("context is kept between messages unless no_context_takeover is agreed", () => {
  // Letters without a short period: only the previous message helps.
  const letters = Array.from(noise(8000, 3), (b) => String.fromCharCode(97 + (b % 26))).join("");
  const twice = (conn) => {
    conn.sendText(letters);
    conn.sendText(letters);
    return parseFrames(conn.takeOutput()).map((f) => f.payload.length);
  };
  const kept = pair();
  const [first, second] = twice(kept.server);
  assert.ok(second < first / 10, `with context: ${first} then ${second} bytes`);
  const reset = pair({ client: { perMessageDeflate: { serverNoContextTakeover: true } } });
  const [a, b] = twice(reset.server);
  assert.ok(b > a / 2, `without context: ${a} then ${b} bytes`);
  // The client's compressor keeps its context too, and the server follows.
  kept.client.sendText(letters);
  kept.client.sendText(letters);
  assert.deepEqual(deliver(kept.client, kept.server), [
    { type: "text", data: letters },
    { type: "text", data: letters },
  ]);
});

test("what websock compresses, Node's zlib inflates, and the other way round", () => {
  const { client, server } = pair();
  const text = "zlib interop, ".repeat(500) + "ünïcödé";
  server.sendText(text);
  const frames = parseFrames(server.takeOutput());
  assert.equal(frames.length, 1);
  assert.equal(dec.decode(inflateMessage(frames)), text);

  // A client message made by Node's zlib, fed in awkward pieces.
  const wire = concat(nodeCompressed(1, text), nodeCompressed(2, noise(5000)), nodeCompressed(1, ""));
  const events = [];
  for (let at = 0; at < wire.length; at += 13) events.push(...receiveAll(server, wire.subarray(at, at + 13)));
  assert.deepEqual(events, [
    { type: "text", data: text },
    { type: "binary", data: noise(5000) },
    { type: "text", data: "" },
  ]);
  client.free();
});

test("a 9-bit window asked for is the window used, both ways", () => {
  // Repeats 1000 bytes apart: a 15-bit compressor refers back across
  // them, which a 9-bit (512-byte) inflater cannot follow.
  const data = concat(...Array(8).fill(noise(1000, 99)));
  const sent = (conn) => {
    conn.sendBinary(data);
    return parseFrames(conn.takeOutput());
  };

  // The client asks for the server's window.
  const asked = pair({ client: { perMessageDeflate: { serverMaxWindowBits: 9 } } });
  assert.equal(asked.server.extensions, "permessage-deflate; server_max_window_bits=9");
  const fromServer = sent(asked.server);
  assert.deepEqual(inflateMessage(fromServer, 9), data);

  // The server limits the client's (the default offer allows it).
  const limited = pair({ server: { perMessageDeflate: { clientMaxWindowBits: 9 } } });
  assert.equal(limited.client.extensions, "permessage-deflate; client_max_window_bits=9");
  const fromClient = sent(limited.client);
  assert.deepEqual(inflateMessage(fromClient, 9), data);
  assert.deepEqual(receiveAll(limited.server, concat(...fromClient.map((f) => frame(f.opcode, f.payload, { rsv: f.rsv })))), [
    { type: "binary", data },
  ]);

  // Control, so that the checks above can fail: with the default 15-bit
  // window the same data does not inflate at 9 bits.
  const wide = sent(pair().server);
  assert.deepEqual(inflateMessage(wide, 15), data);
  assert.throws(() => inflateMessage(wide, 9), /too far back/);
});

test("a decompression bomb closes with 1009 before it is inflated whole", () => {
  const limit = 64 << 10;
  // Made by websock's own client...
  const { client, server } = pair({ server: { maxMessageSize: limit } });
  client.sendBinary(new Uint8Array(16 << 20));
  const wire = client.takeOutput();
  assert.ok(wire.length < limit, `the bomb is small on the wire: ${wire.length} bytes`);
  const events = receiveAll(server, wire);
  assert.equal(events.length, 1, "no data event before the failure");
  assert.equal(events[0].type, "error");
  assert.equal(events[0].error.code, "ERR_WEBSOCK_PROTOCOL");
  assert.equal(events[0].error.closeCode, 1009);
  assert.equal(closeCodeOf(server.takeOutput()), 1009);
  assert.equal(server.shouldClose(), true);

  // ...and by Node's zlib, as text, fed a byte at a time at first.
  const other = pair({ server: { maxMessageSize: limit } }).server;
  const bomb = nodeCompressed(1, "a".repeat(32 << 20));
  const seen = [];
  for (let at = 0; at < 64; at++) seen.push(...receiveAll(other, bomb.subarray(at, at + 1)));
  seen.push(...receiveAll(other, bomb.subarray(64)));
  assert.deepEqual(
    seen.map((e) => e.type),
    ["error"],
  );
  assert.equal(seen[0].error.closeCode, 1009);
  assert.equal(closeCodeOf(other.takeOutput()), 1009);

  // Just under the limit is fine.
  const fits = pair({ server: { maxMessageSize: limit } });
  fits.client.sendBinary(new Uint8Array(limit));
  assert.equal(deliver(fits.client, fits.server)[0].data.length, limit);
});

test("broken compressed input fails the connection with the right code", () => {
  const cases = [
    ["data that does not inflate", frame(1, new Uint8Array([0x07, 0x00]), { rsv: 4 }), 1007],
    ["invalid UTF-8 inside compressed text", nodeCompressed(1, new Uint8Array([0x61, 0xff, 0x62])), 1007],
    ["RSV1 on a continuation", concat(frame(1, "a", { fin: false }), frame(0, "b", { rsv: 4 })), 1002],
    ["RSV1 on a ping", frame(9, "p", { rsv: 4 }), 1002],
    ["RSV2 (nothing owns it)", frame(2, "x", { rsv: 2 }), 1002],
  ];
  for (const [name, wire, code] of cases) {
    const { server } = pair();
    const events = receiveAll(server, wire);
    assert.equal(events.at(-1)?.type, "error", name);
    assert.equal(events.at(-1).error.closeCode, code, name);
    assert.equal(closeCodeOf(server.takeOutput()), code, name);
  }
  // Without compression agreed, RSV1 is just a reserved bit.
  const plain = pair({ client: { perMessageDeflate: false } }).server;
  assert.equal(receiveAll(plain, nodeCompressed(1, "x")).at(-1).error.closeCode, 1002);
});

test("random compressed payloads never throw or hang", () => {
  const next = prng(0xdef1a7e);
  for (let round = 0; round < 200; round++) {
    const { server } = pair();
    const payload = noise(1 + (next() % 300), round + 1);
    const wire = concat(frame(next() & 1 ? 1 : 2, payload, { rsv: 4 }), frame(1, "after"));
    const events = [];
    for (let at = 0; at < wire.length; ) {
      const step = 1 + (next() % 50);
      events.push(...receiveAll(server, wire.subarray(at, at + step)));
      at += step;
    }
    const failures = events.filter((e) => e.type === "error");
    assert.ok(failures.length <= 1, `round ${round}`);
    if (failures.length === 1) assert.ok([1002, 1007].includes(failures[0].error.closeCode), `round ${round}`);
    server.free();
  }
});

test("perMessageDeflate must be a boolean or an object of valid parameters", () => {
  for (const value of [
    null,
    "yes",
    1,
    [],
    { level: 10 },
    { level: 1.5 },
    { serverMaxWindowBits: 8 },
    { clientMaxWindowBits: 16 },
    { clientNoContextTakeover: 1 },
    { serverNoContextTakeover: "true" },
  ]) {
    for (const Class of [ServerConnection, ClientConnection]) {
      assert.throws(() => new Class({ perMessageDeflate: value }), { code: "ERR_WEBSOCK_INVALID_ARGUMENT" }, JSON.stringify(value));
    }
  }
  assert.equal(new ClientConnection({ perMessageDeflate: { level: 0 } }).state, "handshake");
});

// Staged I/O: stagingArea/receiveStaged/sendStaged/flushOutput, the calls
// a host that reads the module's memory itself uses (the npm package's
// Node adapter does). Checked against the object API on the same bytes.

import assert from "node:assert/strict";
import { test } from "node:test";

import { stagingArea, wasmMemory } from "../pkg/websock.js";
import { concat, enc, frame, pair, receiveAll } from "./helpers.mjs";

const memory = wasmMemory();
const CAPACITY = 1 << 16;
const staging = stagingArea(CAPACITY);

function stage(bytes) {
  new Uint8Array(memory.buffer, staging, CAPACITY).set(bytes);
  return bytes.length;
}

/**
 * The packed events at `at` as [kind, bytes, code] triples, and the flags.
 * Each event gives its payload's address; the bytes are copied from there
 * before anything else calls into the module.
 */
function unpack(at) {
  const view = new DataView(memory.buffer);
  const end = at + view.getUint32(at, true);
  const flags = view.getUint32(at + 4, true);
  const events = [];
  for (let p = at + 8; p < end; p += 16) {
    const n = view.getUint32(p + 8, true);
    const from = view.getUint32(p + 12, true);
    events.push([view.getUint8(p), new Uint8Array(memory.buffer.slice(from, from + n)), view.getUint32(p + 4, true)]);
  }
  return { events, flags };
}

function flushed(conn) {
  const at = conn.flushOutput();
  const [ptr, len, close, deadline] = new Float64Array(memory.buffer, at, 4);
  return { bytes: new Uint8Array(memory.buffer.slice(ptr, ptr + len)), close, deadline };
}

test("receiveStaged packs what receive() reports, one message per call", () => {
  const wire = concat(
    frame(1, "héllo"),
    frame(9, "p"),
    frame(2, new Uint8Array([0, 255])),
    frame(8, concat(new Uint8Array([0x03, 0xe9]), enc.encode("bye"))),
  );
  const { server } = pair({ server: { perMessageDeflate: false }, client: { perMessageDeflate: false } });
  const first = unpack(server.receiveStaged(stage(wire)));
  assert.deepEqual(first.events, [[1, enc.encode("héllo"), 0]]);
  assert.equal(first.flags, 1, "more bytes are buffered");
  const second = unpack(server.receiveStaged(0));
  assert.deepEqual(second.events, [
    [3, enc.encode("p"), 0],
    [2, new Uint8Array([0, 255]), 0],
  ]);
  const third = unpack(server.receiveStaged(0));
  assert.deepEqual(third.events, [[5, enc.encode("bye"), 1001]]);
  assert.equal(third.flags, 0);
  assert.deepEqual(unpack(server.receiveStaged(0)).events, []);

  // The pong and the close reply, then the server closes.
  const out = flushed(server);
  assert.deepEqual(out.bytes, new Uint8Array([0x8a, 1, 0x70, 0x88, 2, 0x03, 0xe9]));
  assert.equal(out.close, 1);
  assert.equal(flushed(server).bytes.length, 0, "taken once");
});

test("a protocol violation is an error event whose error takeError() gives", () => {
  const { server } = pair();
  const at = server.receiveStaged(stage(frame(3, "x")));
  assert.deepEqual(unpack(at).events, [[6, new Uint8Array(), 0]]);
  const err = server.takeError();
  assert.equal(err.code, "ERR_WEBSOCK_PROTOCOL");
  assert.equal(err.closeCode, 1002);
  assert.equal(server.takeError(), undefined);
  assert.equal(flushed(server).close, 1);
});

test("sendStaged frames staged bytes as the object API does", () => {
  const a = pair({ server: { perMessageDeflate: false }, client: { perMessageDeflate: false } });
  a.server.sendStaged(2, stage(new Uint8Array([1, 2, 3])), true);
  a.server.sendStaged(1, stage(enc.encode("frag")), false);
  a.server.sendStaged(1, stage(enc.encode("ment")), true);
  const out = flushed(a.server);
  assert.equal(out.close, 0);
  assert.equal(out.deadline, -1);
  assert.deepEqual(receiveAll(a.client, out.bytes), [
    { type: "binary", data: new Uint8Array([1, 2, 3]) },
    { type: "text", data: "fragment" },
  ]);
  assert.throws(() => a.server.sendStaged(3, 0, true), { code: "ERR_WEBSOCK_INVALID_ARGUMENT" });
  assert.throws(() => a.server.sendStaged(2, CAPACITY + 1, true), { code: "ERR_WEBSOCK_INVALID_ARGUMENT" });
});

test("compressed messages inflate through the staged path too", () => {
  const { client, server } = pair();
  assert.equal(server.compression, true);
  const text = "compress me, ".repeat(500);
  client.sendText(text);
  const { events } = unpack(server.receiveStaged(stage(client.takeOutput())));
  assert.equal(events.length, 1);
  assert.equal(new TextDecoder().decode(events[0][1]), text);
});

test("a message gathered from fragments is read from where it was gathered", () => {
  const { server } = pair({ server: { perMessageDeflate: false }, client: { perMessageDeflate: false } });
  // The first fragment ends one read, the rest (with a ping between the
  // fragments) comes in the next: the message is reassembled, not in place.
  assert.deepEqual(unpack(server.receiveStaged(stage(frame(1, "frag", { fin: false })))).events, []);
  const wire = concat(frame(9, "p"), frame(0, "ment"), frame(2, "next"));
  const { events, flags } = unpack(server.receiveStaged(stage(wire)));
  assert.deepEqual(events, [
    [3, enc.encode("p"), 0],
    [1, enc.encode("fragment"), 0],
  ]);
  assert.equal(flags, 1);
  assert.deepEqual(unpack(server.receiveStaged(0)).events, [[2, enc.encode("next"), 0]]);
});

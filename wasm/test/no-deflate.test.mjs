// The module built without compression (wasm/build.sh --no-deflate, into
// pkg-no-deflate/): it makes no offer, accepts none, talks to a compressing
// build uncompressed, and says clearly that it cannot compress. Skipped
// when that build is absent, unless WEBSOCK_WASM_NO_DEFLATE=require (as
// tests/suite-wasm.sh sets it).

import assert from "node:assert/strict";
import { access } from "node:fs/promises";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { ServerConnection as DeflateServer, dec, frame, receiveAll, upgradeRequest } from "./helpers.mjs";

const moduleUrl = new URL("../pkg-no-deflate/websock.js", import.meta.url);
const present = await access(fileURLToPath(moduleUrl)).then(
  () => true,
  () => false,
);
const required = process.env.WEBSOCK_WASM_NO_DEFLATE === "require";
const skip = !present && !required && "no pkg-no-deflate/ (run wasm/build.sh --no-deflate)";
const lean = present || required ? await import(moduleUrl) : undefined;

test("asking for compression throws ERR_WEBSOCK_UNSUPPORTED", { skip }, () => {
  for (const value of [true, {}, { level: 1 }]) {
    for (const Class of [lean.ServerConnection, lean.ClientConnection]) {
      assert.throws(() => new Class({ perMessageDeflate: value }), { code: "ERR_WEBSOCK_UNSUPPORTED" });
    }
  }
  assert.throws(() => new lean.ServerConnection({ perMessageDeflate: "yes" }), { code: "ERR_WEBSOCK_INVALID_ARGUMENT" });
  assert.equal(new lean.ServerConnection({ perMessageDeflate: false }).compression, false);
});

test("it offers nothing, accepts nothing, and talks plainly to a compressing peer", { skip }, () => {
  const client = new lean.ClientConnection();
  const server = new DeflateServer();
  client.writeRequest("h", "/");
  const request = client.takeOutput();
  assert.doesNotMatch(dec.decode(request), /Sec-WebSocket-Extensions/i);
  server.accept(request);
  client.readResponse(server.takeOutput());
  assert.equal(client.compression, false);
  assert.equal(server.compression, false);
  client.sendText("plain");
  assert.deepEqual(receiveAll(server, client.takeOutput()), [{ type: "text", data: "plain" }]);

  const leanServer = new lean.ServerConnection();
  const accepted = leanServer.accept(upgradeRequest({ extra: "Sec-WebSocket-Extensions: permessage-deflate\r\n" }));
  assert.equal(accepted.extensions, undefined);
  assert.doesNotMatch(dec.decode(leanServer.takeOutput()), /Sec-WebSocket-Extensions/i);
  // RSV1 is then a reserved bit like any other.
  const [event] = receiveAll(leanServer, frame(1, "x", { rsv: 4 }));
  assert.equal(event.error.closeCode, 1002);
});

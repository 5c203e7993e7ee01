// Time: the engine's deadlines, driven by the `now` the host passes.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ClientConnection, ServerConnection, deliver, pair } from "./helpers.mjs";

test("the opening handshake times out at handshakeTimeout", () => {
  const server = new ServerConnection({ now: 1000, handshakeTimeout: 500 });
  assert.equal(server.deadline(), 1500);
  server.tick(1499);
  assert.equal(server.shouldClose(), false);
  server.tick(1500);
  assert.equal(server.shouldClose(), true);
  assert.equal(server.state, "failed");
  assert.equal(server.deadline(), undefined);
});

test("an open connection has no deadline", () => {
  const { client, server } = pair({ client: { now: 0 }, server: { now: 0 } });
  assert.equal(client.deadline(), undefined);
  assert.equal(server.deadline(), undefined);
});

test("a close that is never answered gives up after closeTimeout", () => {
  const { server } = pair({ server: { now: 0, closeTimeout: 250 } });
  server.tick(100);
  server.close(1001, "going away");
  assert.equal(server.deadline(), 350);
  server.tick(349);
  assert.equal(server.shouldClose(), false);
  server.tick(350);
  assert.equal(server.shouldClose(), true);
  assert.deepEqual(server.transportClosed(), { clean: false, code: 1006 });
});

test("a client waits closeTimeout for the server to drop TCP", () => {
  const { client, server } = pair({ client: { now: 0, closeTimeout: 1000 }, server: { now: 0 } });
  server.close(1000, "");
  deliver(server, client);
  deliver(client, server);
  assert.equal(server.shouldClose(), true);
  assert.equal(client.shouldClose(), false);
  client.tick(999);
  assert.equal(client.shouldClose(), false);
  client.tick(1000);
  assert.equal(client.shouldClose(), true);
  assert.deepEqual(client.transportClosed(), { clean: true, code: 1000 });
});

test("without `now`, the clock is performance.now()", () => {
  const before = performance.now();
  const client = new ClientConnection({ handshakeTimeout: 60_000 });
  const deadline = client.deadline();
  assert.ok(deadline >= Math.floor(before) + 60_000 && deadline <= performance.now() + 60_000, `${deadline}`);
  client.tick();
  assert.equal(client.shouldClose(), false);
});

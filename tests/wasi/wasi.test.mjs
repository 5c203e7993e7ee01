// libwebsock's C ABI from a WASI host: the wasm32-wasip1 build of the
// library, loaded under node:wasi, runs a server handshake, an echo, the
// engine's automatic replies and the closing handshake through its exports.
//
//   node --test tests/wasi/
//
// WEBSOCK_WASM names the module (default: the release build under target/).

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';

import { Connection, ConnState, EventType, Status, load } from './websock-wasi.mjs';

const wasmPath =
  process.env.WEBSOCK_WASM ??
  fileURLToPath(new URL('../../target/wasm32-wasip1/release/websock.wasm', import.meta.url));

const REQUEST =
  'GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nOrigin: http://example.com\r\n' +
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
  'Sec-WebSocket-Version: 13\r\n\r\n';

const bytes = (s) => new TextEncoder().encode(s);
const text = (b) => new TextDecoder().decode(b);

/** A client frame: masked with `key`, as section 5.3 requires. */
function clientFrame(opcode, payload, { fin = true, key = [0x37, 0xfa, 0x21, 0x3d] } = {}) {
  if (payload.length > 125) throw new Error('short frames only');
  const frame = new Uint8Array(6 + payload.length);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  frame[1] = 0x80 | payload.length;
  frame.set(key, 2);
  payload.forEach((b, i) => (frame[6 + i] = b ^ key[i % 4]));
  return frame;
}

let ws;

before(async () => {
  ws = await load(wasmPath);
});

function openServer() {
  const c = new Connection(ws);
  assert.equal(c.initServer(0n), Status.OK);
  const r = c.accept(bytes(REQUEST));
  assert.equal(r.status, Status.OK);
  return c;
}

test('the module reports the version and sizes of the C header', () => {
  assert.match(ws.version(), /^\d+\.\d+\.\d+$/);
  const [major, minor, patch] = ws.version().split('.').map(Number);
  assert.equal(ws.x.websock_version_number(), major * 10000 + minor * 100 + patch);
  assert.ok(ws.x.websock_conn_size() > 0 && ws.x.websock_conn_size() <= 768);
  assert.equal(ws.statusText(Status.UNMASKED_FRAME), 'unmasked client frame');
});

test('server handshake: the RFC 6455 sample request gets its 101', () => {
  const c = new Connection(ws);
  try {
    assert.equal(c.initServer(1000n), Status.OK);
    assert.equal(c.state(), ConnState.AWAITING_REQUEST);
    assert.equal(c.deadline(), 11000n);
    const partial = c.accept(bytes(REQUEST.slice(0, 50)));
    assert.equal(partial.status, Status.INCOMPLETE);
    const r = c.accept(bytes(REQUEST));
    assert.equal(r.status, Status.OK);
    assert.equal(r.consumed, REQUEST.length);
    const response = text(r.response);
    assert.match(response, /^HTTP\/1\.1 101 /);
    assert.match(response, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
    assert.ok(response.endsWith('\r\n\r\n'));
    assert.equal(r.path, '/chat?room=1');
    assert.ok(r.pathInInput, 'the path borrows the input buffer');
    assert.equal(r.host, 'server.example.com');
    assert.equal(r.origin, 'http://example.com');
    assert.equal(r.protocol, -1);
    assert.equal(c.state(), ConnState.OPEN);
  } finally {
    c.dispose();
  }
});

test('a refused handshake gets an HTTP error and asks to close', () => {
  const c = new Connection(ws);
  try {
    assert.equal(c.initServer(), Status.OK);
    const r = c.accept(bytes(REQUEST.replace('Upgrade: websocket\r\n', '')));
    assert.equal(r.status, Status.HANDSHAKE_NOT_UPGRADE);
    assert.match(text(r.response), /^HTTP\/1\.1 426 /);
    assert.ok(c.shouldClose());
  } finally {
    c.dispose();
  }
});

test('echo: a masked text frame comes back as an unmasked one', () => {
  const c = openServer();
  try {
    // RFC 6455 section 5.7's masked "Hello".
    const r = c.receive(clientFrame(0x1, bytes('Hello')));
    assert.equal(r.status, Status.OK);
    assert.equal(r.consumed, 11);
    assert.equal(r.event.kind, EventType.TEXT);
    assert.equal(r.event.fin, true);
    assert.equal(text(r.event.data), 'Hello');
    assert.equal(r.event.dataPtr, c.input + 6, 'the chunk is unmasked in place, not copied');
    // Echo straight from where the event points: no copy out of the module.
    const echo = c.sendFrom(r.event.kind, r.event.dataPtr, r.event.data.length, r.event.fin);
    assert.equal(echo.status, Status.OK);
    assert.deepEqual([...echo.bytes], [0x81, 0x05, ...bytes('Hello')]);
  } finally {
    c.dispose();
  }
});

test('echo of a fragmented binary message with a ping in the middle', () => {
  const c = openServer();
  try {
    const wire = [
      ...clientFrame(0x2, [1, 2, 3], { fin: false }),
      ...clientFrame(0x9, bytes('are you there')),
      ...clientFrame(0x0, [4, 5], { fin: true, key: [9, 8, 7, 6] }),
    ];
    const input = new Uint8Array(wire);
    ws.bytes().set(input, c.input);
    let offset = 0;
    const seen = [];
    const out = [];
    for (let guard = 0; offset < input.length && guard < 10; guard++) {
      const r = c.receiveInPlace(input.length - offset, offset);
      assert.equal(r.status, Status.OK);
      offset += r.consumed;
      out.push(...r.pong);
      if (r.event.kind === EventType.BINARY) {
        const e = c.sendFrom(EventType.BINARY, r.event.dataPtr, r.event.data.length, r.event.fin);
        assert.equal(e.status, Status.OK);
        out.push(...e.bytes);
      }
      if (r.event.kind !== EventType.NONE) seen.push([r.event.kind, [...r.event.data], r.event.fin]);
      const polled = c.pollOutput();
      assert.equal(polled.status, Status.OK);
      out.push(...polled.bytes);
    }
    assert.equal(offset, input.length);
    assert.deepEqual(seen, [
      [EventType.BINARY, [1, 2, 3], false],
      [EventType.PING, [...bytes('are you there')], false],
      [EventType.BINARY, [4, 5], true],
    ]);
    // The echo keeps the fragments; the pong sits between them.
    assert.deepEqual(out, [
      0x02, 0x03, 1, 2, 3,
      0x8a, 13, ...bytes('are you there'),
      0x80, 0x02, 4, 5,
    ]);
  } finally {
    c.dispose();
  }
});

test('closing handshake started by the client ends clean', () => {
  const c = openServer();
  try {
    const r = c.receive(clientFrame(0x8, [0x03, 0xe8, ...bytes('done')]));
    assert.equal(r.status, Status.OK);
    assert.equal(r.event.kind, EventType.CLOSE);
    assert.equal(r.event.closeCode, 1000);
    assert.equal(text(r.event.data), 'done');
    assert.equal(c.state(), ConnState.CLOSE_RECEIVED);
    assert.equal(c.shouldClose(), false, 'the reply is not written yet');
    const reply = c.pollOutput();
    assert.deepEqual([...reply.bytes], [0x88, 0x02, 0x03, 0xe8]);
    assert.equal(c.state(), ConnState.CLOSED);
    assert.equal(c.shouldClose(), true, 'the server drops TCP first');
    const end = c.transportClosed();
    assert.deepEqual(end, { status: Status.OK, clean: true, code: 1000 });
  } finally {
    c.dispose();
  }
});

test('a protocol violation fails the connection with the right close code', () => {
  const c = openServer();
  try {
    // An unmasked frame from a client.
    const r = c.receive(new Uint8Array([0x81, 0x02, 0x68, 0x69]));
    assert.equal(r.status, Status.UNMASKED_FRAME);
    const close = c.pollOutput();
    assert.deepEqual([...close.bytes.slice(0, 4)], [0x88, close.bytes.length - 2, 0x03, 0xea]);
    assert.ok(c.shouldClose());
    assert.equal(c.state(), ConnState.FAILED);
    assert.deepEqual(c.transportClosed(), { status: Status.OK, clean: false, code: 1006 });
  } finally {
    c.dispose();
  }
});

test('invalid UTF-8 fails fast with 1007', () => {
  const c = openServer();
  try {
    const r = c.receive(clientFrame(0x1, [0x68, 0xc3, 0x28]));
    assert.equal(r.status, Status.INVALID_UTF8);
    const close = c.pollOutput();
    assert.deepEqual([...close.bytes.slice(2, 4)], [0x03, 0xef]);
  } finally {
    c.dispose();
  }
});

test('the timeout of the opening handshake', () => {
  const c = new Connection(ws);
  try {
    assert.equal(c.initServer(0n), Status.OK);
    assert.equal(c.tick(9999n), Status.OK);
    assert.equal(c.shouldClose(), false);
    assert.equal(c.tick(10000n), Status.OK);
    assert.equal(c.shouldClose(), true);
    assert.equal(c.state(), ConnState.FAILED);
  } finally {
    c.dispose();
  }
});

test('bad arguments are status codes, not traps', () => {
  const x = ws.x;
  const c = new Connection(ws);
  try {
    assert.equal(x.websock_server_init(0, 512, 0, 0n), Status.NULL_POINTER);
    assert.equal(x.websock_server_init(c.conn + 1, 512, 0, 0n), Status.MISALIGNED);
    assert.equal(x.websock_server_init(c.conn, 8, 0, 0n), Status.CONN_TOO_SMALL);
    // Zeroed memory was never initialised.
    ws.bytes().fill(0, c.conn, c.conn + c.connSize);
    assert.equal(
      x.websock_receive(c.conn, c.input, 4, c.output, 200, c.sizeOut, c.sizeOut + 4, c.event),
      Status.NOT_INITIALIZED);
    assert.equal(c.initServer(), Status.OK);
    // The output overlapping the input.
    assert.equal(
      x.websock_accept(c.conn, c.input, 100, 0, 0, c.input + 50, 512, c.request),
      Status.INVALID_ARGUMENT);
    assert.equal(x.websock_send_text(c.conn, c.input, 1, 1, c.output, 64, c.sizeOut), Status.INVALID_STATE);
  } finally {
    c.dispose();
  }
});

test('permessage-deflate: negotiated, and interoperable with Node zlib', async () => {
  const zlib = await import('node:zlib');
  const c = new Connection(ws);
  const scratch = { len: 64, ptr: ws.alloc(64) };
  try {
    assert.equal(c.initServer(0n, { serverMaxWindowBits: 12 }), Status.OK);
    const offer = REQUEST.replace(
      '\r\n\r\n',
      '\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n');
    const r = c.accept(bytes(offer));
    assert.equal(r.status, Status.OK);
    assert.match(text(r.response), /\r\nSec-WebSocket-Extensions: permessage-deflate[^\r]*server_max_window_bits=12/);
    assert.equal(r.compression, true);
    // A compressed message from the client (RFC 7692 section 7.2.1: sync
    // flush, tail stripped, RSV1 on the first frame), made by Node's zlib.
    const message = 'hello hello hello hello, compressed world! '.repeat(20);
    const deflated = zlib.deflateRawSync(bytes(message), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.deepEqual([...deflated.subarray(-4)], [0, 0, 0xff, 0xff]);
    const payload = deflated.subarray(0, deflated.length - 4);
    assert.ok(payload.length < 126);
    const frame = clientFrame(0x1, [...payload]);
    frame[0] |= 0x40;
    // Without scratch, nothing is read.
    const refused = c.receive(frame);
    assert.equal(refused.status, Status.BUFFER_TOO_SMALL);
    assert.equal(refused.consumed, 0);
    let got = '';
    let offset = 0;
    for (let guard = 0; guard < 100; guard++) {
      const step = c.receiveInPlace(frame.length - offset, offset, scratch);
      assert.equal(step.status, Status.OK);
      offset += step.consumed;
      if (step.event.kind === EventType.TEXT) {
        assert.ok(step.event.dataPtr >= scratch.ptr && step.event.dataPtr < scratch.ptr + scratch.len);
        got += text(step.event.data);
        if (step.event.fin) break;
      }
    }
    assert.equal(got, message);
    // The echo goes out compressed; Node's zlib inflates it.
    const echo = c.send(EventType.TEXT, bytes(message));
    assert.equal(echo.status, Status.OK);
    assert.equal(echo.bytes[0], 0xc1, 'FIN, RSV1, text');
    const len = echo.bytes[1];
    assert.ok(len < 126);
    const inflated = zlib.inflateRawSync(
      Buffer.concat([echo.bytes.subarray(2, 2 + len), Buffer.from([0, 0, 0xff, 0xff])]),
      { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.equal(inflated.toString(), message);
  } finally {
    ws.free(scratch.ptr, scratch.len);
    c.dispose();
  }
});

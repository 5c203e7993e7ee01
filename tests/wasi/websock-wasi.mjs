// A JavaScript host for libwebsock built for wasm32-wasip1: loads the module
// under node:wasi and drives the same C ABI that include/websock.h declares.
//
// Memory: JavaScript cannot hand the module memory of its own, so every
// buffer the C functions take (the connection, input, output, the
// out-parameters) is allocated inside the module with websock_alloc (the
// library's `alloc` feature, on in the default build) and freed with
// websock_free. Addresses are plain numbers; 64-bit arguments (times) are
// BigInts. A call that allocates may grow the module's memory, which
// detaches earlier views of it, so views are made afresh for each access.
//
// Struct layouts below are those of include/websock.h on wasm32 (4-byte
// pointers and size_t, 4-byte C enums, natural alignment).

import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

export const Status = Object.freeze({
  OK: 0,
  INCOMPLETE: 1,
  NULL_POINTER: 10,
  INVALID_ARGUMENT: 11,
  NOT_UTF8: 12,
  MISALIGNED: 13,
  CONN_TOO_SMALL: 14,
  NOT_INITIALIZED: 15,
  BUFFER_TOO_SMALL: 16,
  INVALID_STATE: 17,
  UNMASKED_FRAME: 103,
  INVALID_UTF8: 109,
  HANDSHAKE_NOT_UPGRADE: 206,
});

export const EventType = Object.freeze({ NONE: 0, TEXT: 1, BINARY: 2, PING: 3, PONG: 4, CLOSE: 5 });

export const ConnState = Object.freeze({
  AWAITING_REQUEST: 0,
  AWAITING_RESPONSE: 1,
  OPEN: 2,
  CLOSE_SENT: 3,
  CLOSE_RECEIVED: 4,
  CLOSED: 5,
  FAILED: 6,
});

// websock_request: consumed, written, protocol, path, path_len, host,
// host_len, origin, origin_len; 4 bytes each.
const REQUEST_SIZE = 36;
// websock_event: kind @0, fin @4, close_code @6, data @8, len @12.
const EVENT_SIZE = 16;
// websock_closure: clean @0, code @2.
const CLOSURE_SIZE = 4;
// websock_config: max_message_size @0 (u64), max_handshake_len @8,
// handshake_timeout_ms @16, close_timeout_ms @24, deflate @32,
// deflate_level @33, server_no_context_takeover @34,
// client_no_context_takeover @35, server_max_window_bits @36,
// client_max_window_bits @37; padded to 40.
const CONFIG_SIZE = 40;

/** Loads the module at `path` and returns its exports wrapped. */
export async function load(path) {
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
  const module = await WebAssembly.compile(await readFile(path));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  // A library module (reactor): no _start to run.
  wasi.initialize(instance);
  return new Websock(instance.exports);
}

export class Websock {
  constructor(exports) {
    this.x = exports;
  }

  bytes() {
    return new Uint8Array(this.x.memory.buffer);
  }

  view() {
    return new DataView(this.x.memory.buffer);
  }

  alloc(size) {
    const ptr = this.x.websock_alloc(size);
    if (ptr === 0) throw new Error(`websock_alloc(${size}) failed`);
    return ptr;
  }

  free(ptr, size) {
    this.x.websock_free(ptr, size);
  }

  /** A NUL-terminated string in module memory. */
  cstring(ptr) {
    const mem = this.bytes();
    let end = ptr;
    while (mem[end] !== 0) end++;
    return new TextDecoder().decode(mem.subarray(ptr, end));
  }

  version() {
    return this.cstring(this.x.websock_version());
  }

  statusText(status) {
    return this.cstring(this.x.websock_status_str(status));
  }
}

/**
 * One connection with its memory inside the module: the websock_conn, an
 * input and an output buffer, and the out-parameters.
 */
export class Connection {
  constructor(ws, { inputCap = 64 * 1024, outputCap = 64 * 1024 + 256 } = {}) {
    this.ws = ws;
    this.x = ws.x;
    this.connSize = this.x.websock_conn_size();
    this.inputCap = inputCap;
    this.outputCap = outputCap;
    this.conn = ws.alloc(this.connSize);
    this.input = ws.alloc(inputCap);
    this.output = ws.alloc(outputCap);
    this.event = ws.alloc(EVENT_SIZE);
    this.request = ws.alloc(REQUEST_SIZE);
    this.closure = ws.alloc(CLOSURE_SIZE);
    this.sizeOut = ws.alloc(8); // two size_t: consumed, written
  }

  /** Ends the connection and frees everything this object allocated. */
  dispose() {
    const ws = this.ws;
    // Releases what permessage-deflate allocated, if it was negotiated.
    this.x.websock_conn_deinit(this.conn);
    ws.free(this.conn, this.connSize);
    ws.free(this.input, this.inputCap);
    ws.free(this.output, this.outputCap);
    ws.free(this.event, EVENT_SIZE);
    ws.free(this.request, REQUEST_SIZE);
    ws.free(this.closure, CLOSURE_SIZE);
    ws.free(this.sizeOut, 8);
  }

  /**
   * websock_server_init; `deflate` (optional) turns permessage-deflate on
   * with these window limits.
   */
  initServer(nowMs = 0n, deflate = null) {
    if (deflate === null) {
      return this.x.websock_server_init(this.conn, this.connSize, 0, BigInt(nowMs));
    }
    const config = this.ws.alloc(CONFIG_SIZE);
    try {
      // websock_config_default() returns the struct through a pointer
      // (wasm32's C ABI for struct results).
      this.x.websock_config_default(config);
      const view = this.ws.view();
      view.setUint8(config + 32, 1);
      view.setUint8(config + 36, deflate.serverMaxWindowBits ?? 15);
      view.setUint8(config + 37, deflate.clientMaxWindowBits ?? 15);
      return this.x.websock_server_init(this.conn, this.connSize, config, BigInt(nowMs));
    } finally {
      this.ws.free(config, CONFIG_SIZE);
    }
  }

  u32(ptr) {
    return this.ws.view().getUint32(ptr, true);
  }

  text(ptr, len) {
    return new TextDecoder().decode(this.ws.bytes().slice(ptr, ptr + len));
  }

  /** The bytes the last call wrote at the start of the output buffer. */
  written(n) {
    return this.ws.bytes().slice(this.output, this.output + n);
  }

  /** websock_accept over `bytes`; answers the status and the request. */
  accept(bytes) {
    this.ws.bytes().set(bytes, this.input);
    const status = this.x.websock_accept(
      this.conn, this.input, bytes.length, 0, 0, this.output, this.outputCap, this.request);
    const r = this.request;
    const at = (i) => this.u32(r + 4 * i);
    const written = at(1);
    const origin = at(7);
    return {
      status,
      consumed: at(0),
      response: this.written(written),
      compression: this.x.websock_compression_active(this.conn) !== 0,
      protocol: this.ws.view().getInt32(r + 8, true),
      // The pointers point into our input buffer: check that, then read.
      pathInInput: at(3) >= this.input && at(3) + at(4) <= this.input + bytes.length,
      path: this.text(at(3), at(4)),
      host: this.text(at(5), at(6)),
      origin: origin === 0 ? null : this.text(origin, at(8)),
    };
  }

  /**
   * One websock_receive call on `bytes` (copied into the input buffer).
   * Answers the status, the bytes consumed, the pong written into the
   * output buffer (empty for none), and the event, with its data copied
   * out and where it pointed.
   */
  receive(bytes) {
    if (bytes.length > this.inputCap) throw new Error('input larger than the buffer');
    this.ws.bytes().set(bytes, this.input);
    return this.receiveInPlace(bytes.length);
  }

  /**
   * websock_receive on the first `len` bytes already in the input buffer,
   * or websock_receive_with when given a scratch buffer.
   */
  receiveInPlace(len, offset = 0, scratch = null) {
    const [out, cap, written] = [this.output, this.outputCap, this.sizeOut + 4];
    const status = scratch === null
      ? this.x.websock_receive(
        this.conn, this.input + offset, len, out, cap, this.sizeOut, written, this.event)
      : this.x.websock_receive_with(
        this.conn, this.input + offset, len, scratch.ptr, scratch.len, out, cap, this.sizeOut,
        written, this.event);
    const view = this.ws.view();
    const e = this.event;
    const data = view.getUint32(e + 8, true);
    const dataLen = view.getUint32(e + 12, true);
    return {
      status,
      consumed: this.u32(this.sizeOut),
      pong: this.written(this.u32(written)),
      event: {
        kind: view.getInt32(e, true),
        fin: view.getUint8(e + 4) !== 0,
        closeCode: view.getUint16(e + 6, true),
        dataPtr: data,
        data: this.ws.bytes().slice(data, data + dataLen),
      },
    };
  }

  /** Runs `call(out, cap, writtenPtr)` and answers status and bytes. */
  writeWith(call) {
    const status = call(this.output, this.outputCap, this.sizeOut);
    const n = this.u32(this.sizeOut);
    return { status, bytes: status === Status.OK ? this.written(n) : new Uint8Array(0), n };
  }

  /** Copies a payload into the output buffer's tail, the argument area. */
  stage(payload) {
    // Payloads go after the frame area: the call must not overlap them.
    const at = this.output + this.outputCap - payload.length;
    this.ws.bytes().set(payload, at);
    return at;
  }

  send(kind, payload, fin = true) {
    const at = this.stage(payload);
    const fn = kind === EventType.TEXT ? this.x.websock_send_text : this.x.websock_send_binary;
    return this.writeWith((out, _cap, w) =>
      fn(this.conn, at, payload.length, fin ? 1 : 0, out, at - out, w));
  }

  /** Sends a chunk that already lies in the module's memory. */
  sendFrom(kind, ptr, len, fin) {
    const fn = kind === EventType.TEXT ? this.x.websock_send_text : this.x.websock_send_binary;
    return this.writeWith((out, cap, w) => fn(this.conn, ptr, len, fin ? 1 : 0, out, cap, w));
  }

  pollOutput() {
    return this.writeWith((out, cap, w) => this.x.websock_poll_output(this.conn, out, cap, w));
  }

  close(code, reason = '') {
    const payload = new TextEncoder().encode(reason);
    const at = this.stage(payload);
    return this.writeWith((out, _cap, w) =>
      this.x.websock_close(this.conn, code, at, payload.length, out, at - out, w));
  }

  state() {
    return this.x.websock_state(this.conn);
  }

  shouldClose() {
    return this.x.websock_should_close(this.conn) !== 0;
  }

  deadline() {
    return this.x.websock_deadline(this.conn);
  }

  tick(nowMs) {
    return this.x.websock_tick(this.conn, BigInt(nowMs));
  }

  transportClosed() {
    const status = this.x.websock_transport_closed(this.conn, this.closure);
    const view = this.ws.view();
    return { status, clean: view.getUint8(this.closure) !== 0, code: view.getUint16(this.closure + 2, true) };
  }
}

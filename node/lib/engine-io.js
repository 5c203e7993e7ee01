// The engine's staged I/O, from the adapter's side. Instead of one JS
// object, Uint8Array and call across the wasm boundary per event (the
// engine's receive()/takeOutput() API), bytes go through the module's
// memory: received bytes and payloads are copied into one staging area,
// receiveStaged() packs a read's events into a buffer that is read here
// (each with the address of its payload, which is copied once, from where
// the engine left it), and flushOutput() says where the output is. A message costs one call
// each way and no value made by the module. The layouts are the engine
// crate's (wasm/src/packed.rs and wasm/src/js/io.rs).

import { stagingArea, wasmMemory } from "../engine/websock.js";

const memory = wasmMemory();

// Event kinds in the packed layout.
export const TEXT = 1;
export const BINARY = 2;
export const PING = 3;
export const PONG = 4;
export const CLOSE = 5;
export const ERROR = 6;
const HEADER = 8;
const EVENT = 16;
const FLAG_BUFFERED = 1;

// The staging area starts at this size and, once a large send has grown
// it, goes back to it so that one large message does not pin its memory.
const MIN_STAGING = 64 * 1024;
const RETAINED_STAGING = 1024 * 1024;

// Views of the module's memory; growing the memory detaches them
// (byteLength 0), after which they are made again. Bytes are copied out
// through a Uint8Array made on `memBuffer` for just those bytes, then
// TypedArray#set: Buffer#copy does the same with more checks, and asks
// for the source's ArrayBuffer each time, which is not cheap.
let memBuffer = memory.buffer;
let mem = Buffer.from(memBuffer);
let view = new DataView(memBuffer);
let stagingPtr = stagingArea(MIN_STAGING);
let stagingCap = MIN_STAGING;

function views() {
  if (mem.byteLength === 0) {
    memBuffer = memory.buffer;
    mem = Buffer.from(memBuffer);
    view = new DataView(memBuffer);
  }
}

function growStaging(n) {
  let cap = MIN_STAGING;
  while (cap < n) cap *= 2;
  stagingPtr = stagingArea(cap);
  stagingCap = cap;
}

/** Copies `bytes` into the staging area and returns their length. */
export function stage(bytes) {
  const n = bytes.length;
  if (n > stagingCap) growStaging(n);
  views();
  mem.set(bytes, stagingPtr);
  return n;
}

/** Writes `text` as UTF-8 into the staging area and returns its length. */
export function stageText(text) {
  // UTF-16 code units take at most 3 UTF-8 bytes each.
  if (text.length * 3 > stagingCap) {
    const n = Buffer.byteLength(text);
    if (n > stagingCap) growStaging(n);
  }
  views();
  return mem.write(text, stagingPtr, stagingCap, "utf8");
}

/** Gives back a staging area a large message grew. */
export function shrinkStaging() {
  if (stagingCap > RETAINED_STAGING) {
    stagingPtr = stagingArea(MIN_STAGING);
    stagingCap = MIN_STAGING;
  }
}

/** `n` bytes of the module's memory from `at`, as a view to copy from. */
function bytesAt(at, n) {
  return new Uint8Array(memBuffer, at, n);
}

/** A fresh Buffer holding `n` bytes of the module's memory from `at`. */
function copyOut(at, n) {
  const out = Buffer.allocUnsafe(n);
  out.set(bytesAt(at, n));
  return out;
}

/** Set by receive(): whether received bytes wait for another call. */
export let buffered = false;

// Where receive() may put payloads instead of allocating: the received
// chunk, which the caller owns and has staged (its bytes are in the
// engine), and how much of it is used. A message's payload is never
// longer than the frame bytes it came in, so when messages arrive whole
// in one chunk their payloads fit in it, one after the other.
let reuse = null;
let reused = 0;

/**
 * Lends receive() the chunk just staged, whose bytes the caller no longer
 * needs, to hold the payloads of the events it carries (null: none).
 */
export function lend(chunk) {
  reuse = chunk;
  reused = 0;
}

/** `n` bytes of the module's memory from `at`, in the lent chunk if they fit. */
function payload(at, n) {
  if (reuse !== null && n <= reuse.length - reused) {
    const start = reused;
    reused += n;
    reuse.set(bytesAt(at, n), start);
    return reuse.subarray(start, reused);
  }
  return copyOut(at, n);
}

/** Set by receive() when the read carried exactly one event: its kind, data and code. */
export let kind = 0;
export let data = null;
export let code = 0;

/**
 * Feeds the first `len` staged bytes (0: bytes already buffered) to
 * `conn` and returns the events as [kind, data, code] triples, with
 * `data` a Buffer the caller owns (a close's reason, empty for an error;
 * a part of the lent chunk, or a fresh Buffer). They are all copied out
 * before any is handed on, so that a listener that drives another
 * connection cannot overwrite them. The common case of exactly one event
 * makes no array: receive() returns null and the event is in `kind`,
 * `data` and `code`, to be read before anything else calls receive().
 */
export function receive(conn, len) {
  const at = conn.receiveStaged(len);
  views();
  const end = at + view.getUint32(at, true);
  buffered = (view.getUint32(at + 4, true) & FLAG_BUFFERED) !== 0;
  if (end - at === HEADER + EVENT) {
    const p = at + HEADER;
    kind = mem[p];
    code = view.getUint32(p + 4, true);
    data = payload(view.getUint32(p + 12, true), view.getUint32(p + 8, true));
    return null;
  }
  const events = [];
  for (let p = at + HEADER; p < end; p += EVENT) {
    const n = view.getUint32(p + 8, true);
    events.push(mem[p], payload(view.getUint32(p + 12, true), n), view.getUint32(p + 4, true));
  }
  return events;
}

/** Set by flush(): close the transport once the output is written. */
export let shouldClose = false;
/** Set by flush(): the engine's next deadline, or undefined. */
export let deadline;

// Output is copied into a region of a Buffer the connections share, taken
// from its free end. A write that the socket finishes at once gives its
// region back (the next output goes to the same place); one left pending
// keeps its region, and later outputs go after it, into a fresh Buffer
// when this one is full (the old one lives as long as its pending writes).
// A socket that already has output waiting, and output larger than the
// Buffer, get a Buffer of their own.
const OUT_SIZE = 128 * 1024;
let out = null;
let outUsed = 0;
// Where the region of the last flush() starts, until written(); -1: none.
let lentAt = -1;

/**
 * The bytes `conn` has for the transport, as a Buffer, or null. With
 * `shared` (the socket has nothing waiting), the Buffer may be a region of
 * the shared one: the caller writes it at once and then calls written().
 */
export function flush(conn, shared) {
  const at = conn.flushOutput();
  views();
  const from = view.getFloat64(at, true);
  const n = view.getFloat64(at + 8, true);
  shouldClose = view.getFloat64(at + 16, true) !== 0;
  const d = view.getFloat64(at + 24, true);
  deadline = d < 0 ? undefined : d;
  if (n === 0) return null;
  if (!shared || n > OUT_SIZE) return copyOut(from, n);
  if (out === null || OUT_SIZE - outUsed < n) {
    out = Buffer.allocUnsafeSlow(OUT_SIZE);
    outUsed = 0;
  }
  lentAt = outUsed;
  outUsed += n;
  out.set(bytesAt(from, n), lentAt);
  return out.subarray(lentAt, outUsed);
}

/**
 * Called after `socket.write()` of flush()'s Buffer: when the socket has
 * handed it all to the kernel (nothing is waiting), its region is free.
 */
export function written(socket) {
  if (lentAt >= 0 && socket.writableLength === 0) outUsed = lentAt;
  lentAt = -1;
}

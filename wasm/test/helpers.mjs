// Shared by the websock-wasm tests: the package, connected pairs, and a
// frame builder for the bytes a well-behaved (or not) peer would send.

export { ServerConnection, ClientConnection } from "../pkg/websock.js";
import { ServerConnection, ClientConnection } from "../pkg/websock.js";

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** A client and a server after the opening handshake, wired by hand. */
export function pair(options = {}) {
  const client = new ClientConnection(options.client);
  const server = new ServerConnection(options.server);
  client.writeRequest("localhost:8080", "/chat");
  const request = server.accept(client.takeOutput());
  const response = client.readResponse(server.takeOutput());
  return { client, server, request, response };
}

/** Every event `bytes` carry: receive() until it has nothing more. */
export function receiveAll(conn, bytes) {
  const all = [];
  let events = conn.receive(bytes);
  for (let guard = 0; events.length > 0; guard++) {
    if (guard > 10_000) throw new Error("receive() never ran dry");
    all.push(...events);
    events = conn.receive();
  }
  return all;
}

/** Moves `from`'s output into `to` and returns all events it carried. */
export function deliver(from, to) {
  return receiveAll(to, from.takeOutput());
}

/**
 * One frame as a client sends it (masked unless `mask` is null):
 * opcode 1 text, 2 binary, 0 continuation, 8 close, 9 ping, 10 pong.
 */
export function frame(opcode, payload = new Uint8Array(), { fin = true, rsv = 0, mask = [0x11, 0x22, 0x33, 0x44] } = {}) {
  const data = typeof payload === "string" ? enc.encode(payload) : payload;
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (data.length < 126) head.push(maskBit | data.length);
  else if (data.length < 65536) head.push(maskBit | 126, data.length >> 8, data.length & 0xff);
  else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    for (let shift = 24; shift >= 0; shift -= 8) head.push((data.length >>> shift) & 0xff);
  }
  if (mask) head.push(...mask);
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  for (let i = 0; i < data.length; i++) out[head.length + i] = mask ? data[i] ^ mask[i % 4] : data[i];
  return out;
}

/** Concatenates byte arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The close code of the close frame at the start of `bytes`, if it is one. */
export function closeCodeOf(bytes) {
  if (bytes.length < 4 || (bytes[0] & 0x0f) !== 8) return undefined;
  const masked = (bytes[1] & 0x80) !== 0;
  const at = masked ? 6 : 2;
  const hi = masked ? bytes[at] ^ bytes[2] : bytes[at];
  const lo = masked ? bytes[at + 1] ^ bytes[3] : bytes[at + 1];
  return (hi << 8) | lo;
}

/** A small deterministic PRNG (xorshift32) so fuzz inputs repeat. */
export function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** A valid upgrade request, with `extra` header lines. */
export function upgradeRequest({ version = "13", extra = "" } = {}) {
  return enc.encode(
    "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ${version}\r\n${extra}\r\n`,
  );
}

/**
 * Splits wire bytes into frames: `{ fin, rsv, opcode, payload }`, payloads
 * unmasked. Throws on a truncated frame.
 */
export function parseFrames(bytes) {
  const frames = [];
  let at = 0;
  while (at < bytes.length) {
    const b0 = bytes[at];
    const b1 = bytes[at + 1];
    let len = b1 & 0x7f;
    let pos = at + 2;
    if (len === 126) {
      len = (bytes[pos] << 8) | bytes[pos + 1];
      pos += 2;
    } else if (len === 127) {
      len = 0;
      for (let i = 0; i < 8; i++) len = len * 256 + bytes[pos + i];
      pos += 8;
    }
    const mask = b1 & 0x80 ? bytes.subarray(pos, pos + 4) : null;
    if (mask) pos += 4;
    if (pos + len > bytes.length) throw new Error("truncated frame");
    const payload = bytes.slice(pos, pos + len);
    if (mask) for (let i = 0; i < len; i++) payload[i] ^= mask[i % 4];
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, payload });
    at = pos + len;
  }
  return frames;
}

// Translates the ws-style options of this package into the engine's
// ConnectionOptions, and holds the constants both roles share.

/** ws's default maxPayload: 100 MiB. */
export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;

/** ws waits this long for the closing handshake before dropping the socket. */
export const DEFAULT_CLOSE_TIMEOUT = 30_000;

/** How long a socket we ended may wait for the peer's FIN before we drop it. */
export const LINGER_MS = 2000;

export const EMPTY = Buffer.alloc(0);

/**
 * The engine's `perMessageDeflate` from ws's: `false`/absent for none,
 * `true` for the defaults, or an object. ws's `zlibDeflateOptions.level`
 * becomes the level; window bits of 8 become 9 (zlib cannot make raw 8-bit
 * streams, and Node's zlib, which ws uses, does the same); `threshold`,
 * `concurrencyLimit`, `zlibInflateOptions` and the other zlib settings have
 * no counterpart and are ignored.
 */
export function engineDeflate(value) {
  if (value === undefined || value === null || value === false) return false;
  if (value === true) return {};
  if (typeof value !== "object") throw new TypeError("perMessageDeflate must be a boolean or an object");
  const out = {};
  const level = value.zlibDeflateOptions?.level;
  if (level !== undefined && level !== -1) out.level = level;
  if (value.serverNoContextTakeover !== undefined) out.serverNoContextTakeover = Boolean(value.serverNoContextTakeover);
  if (value.clientNoContextTakeover !== undefined) out.clientNoContextTakeover = Boolean(value.clientNoContextTakeover);
  for (const name of ["serverMaxWindowBits", "clientMaxWindowBits"]) {
    const bits = value[name];
    // `true` (ws: offer the bare parameter) is what the engine always does.
    if (typeof bits === "number") out[name] = bits === 8 ? 9 : bits;
  }
  return out;
}

/** The engine options shared by both roles. */
export function engineOptions(options, perMessageDeflate) {
  const out = {
    maxMessageSize: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    closeTimeout: options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
    perMessageDeflate,
    textAsBytes: true,
  };
  if (options.handshakeTimeout !== undefined) out.handshakeTimeout = options.handshakeTimeout;
  return out;
}

/** ws's rule for close codes an application may send. */
export function isValidStatusCode(code) {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** Whether `name` is an HTTP token (RFC 7230 section 3.2.6), as a subprotocol must be. */
export function isToken(name) {
  return typeof name === "string" && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name);
}

/** Bytes of what `send()` or `ping()` accept, without copying where possible. */
export function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (typeof data === "string") return Buffer.from(data);
  if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("The data must be a string, a Buffer, an ArrayBuffer, a typed array or a DataView");
}

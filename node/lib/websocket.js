// WebSocket: one connection, client or server side, with the shape of the
// ws package's class, driving a websock engine connection over a node:net
// or node:tls socket. The engine does the protocol (framing, masking,
// UTF-8, control frames, the closing handshake, permessage-deflate, the
// handshake and close timeouts); this file moves bytes and maps events.

import { EventEmitter } from "node:events";
import net from "node:net";
import { performance } from "node:perf_hooks";
import tls from "node:tls";

import { ClientConnection } from "../engine/websock.js";
import * as io from "./engine-io.js";
import { addEventTarget } from "./event-target.js";
import {
  EMPTY,
  LINGER_MS,
  engineDeflate,
  engineOptions,
  isToken,
  isValidStatusCode,
  toBytes,
} from "./options.js";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const STATE_NAMES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];
const BINARY_TYPES = ["nodebuffer", "arraybuffer", "fragments"];

/** Passed by the server instead of an address: a socket is attached later. */
export const kServerSide = Symbol("websock.serverSide");

function notOpen(state) {
  return new Error(`WebSocket is not open: readyState ${state} (${STATE_NAMES[state]})`);
}

export class WebSocket extends EventEmitter {
  /**
   * A client connection to `address` (ws://, wss://, http:// or https://),
   * offering `protocols` (a name or a list). `options` as in ws:
   * perMessageDeflate (default true), maxPayload (default 100 MiB),
   * handshakeTimeout, headers, origin, closeTimeout, and TLS options for
   * wss:// (ca, rejectUnauthorized, servername, ...), passed to tls.connect.
   */
  constructor(address, protocols, options) {
    super();
    this._readyState = CONNECTING;
    this._binaryType = "nodebuffer";
    this._protocol = "";
    this._extensions = "";
    this._url = "";
    this._isServer = false;
    this._closeCode = 1006;
    this._closeMessage = EMPTY;
    this._closeFrameSent = false;
    this._closeFrameReceived = false;
    this._conn = null;
    this._socket = null;
    this._paused = false;
    // Input the engine holds that was not read out yet because of pause().
    this._pendingInput = false;
    this._receiving = false;
    this._flushQueued = false;
    this._callbacks = [];
    this._timer = undefined;
    this._deadline = undefined;
    this._ending = false;
    this._afterClose = 0;
    this._handshakeError = null;
    if (address === kServerSide) return;

    if (protocols !== undefined && !Array.isArray(protocols) && typeof protocols === "object" && protocols !== null) {
      options = protocols;
      protocols = [];
    } else if (protocols === undefined) protocols = [];
    else if (!Array.isArray(protocols)) protocols = [protocols];
    this._initClient(address, protocols, options ?? {});
  }

  get binaryType() {
    return this._binaryType;
  }

  set binaryType(type) {
    if (BINARY_TYPES.includes(type)) this._binaryType = type;
  }

  /** Bytes sent but not yet handed to the kernel. */
  get bufferedAmount() {
    let n = this._afterClose;
    if (this._conn) n += this._conn.bufferedAmount;
    if (this._socket) n += this._socket.writableLength;
    return n;
  }

  /** The agreed extension names, e.g. "permessage-deflate", or "". */
  get extensions() {
    return this._extensions;
  }

  get isPaused() {
    return this._paused;
  }

  get protocol() {
    return this._protocol;
  }

  get readyState() {
    return this._readyState;
  }

  get url() {
    return this._url;
  }

  _initClient(address, protocols, options) {
    let url;
    if (address instanceof URL) url = new URL(address.href);
    else {
      try {
        url = new URL(address);
      } catch {
        throw new SyntaxError(`Invalid URL: ${address}`);
      }
    }
    if (url.protocol === "http:") url.protocol = "ws:";
    else if (url.protocol === "https:") url.protocol = "wss:";
    if (url.protocol !== "ws:" && url.protocol !== "wss:") {
      throw new SyntaxError('The URL\'s protocol must be one of "ws:", "wss:", "http:", or "https:"');
    }
    if (url.hash) throw new SyntaxError("The URL contains a fragment identifier");
    const seen = new Set();
    for (const p of protocols) {
      if (!isToken(p) || seen.has(p)) throw new SyntaxError("An invalid or duplicated subprotocol was specified");
      seen.add(p);
    }
    const extra = [];
    for (const [name, value] of Object.entries(options.headers ?? {})) extra.push([name, String(value)]);
    if (options.origin !== undefined) extra.push(["Origin", String(options.origin)]);
    for (const [name, value] of extra) {
      if (!isToken(name) || /[\r\n\0]/.test(value)) throw new SyntaxError(`Invalid header: ${name}`);
    }

    this._url = url.href;
    const secure = url.protocol === "wss:";
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port ? Number(url.port) : secure ? 443 : 80;
    const conn = new ClientConnection({
      ...engineOptions(options, engineDeflate(options.perMessageDeflate ?? true)),
      protocols,
    });
    this._conn = conn;

    const {
      perMessageDeflate,
      maxPayload,
      handshakeTimeout,
      closeTimeout,
      headers,
      origin,
      protocolVersion,
      followRedirects,
      maxRedirects,
      skipUTF8Validation,
      autoPong,
      ...socketOptions
    } = options;
    let socket;
    if (secure) {
      socket = tls.connect({
        ...socketOptions,
        host,
        port,
        servername: socketOptions.servername ?? (net.isIP(host) ? undefined : host),
      });
    } else {
      socket = net.connect({ ...socketOptions, host, port });
    }
    socket.once(secure ? "secureConnect" : "connect", () => {
      if (!this._conn) return;
      conn.writeRequest(url.host, url.pathname + url.search);
      if (extra.length > 0) {
        // The request ends with an empty line: put our headers before it.
        const request = Buffer.from(conn.takeOutput());
        const lines = extra.map(([n, v]) => `${n}: ${v}\r\n`).join("");
        socket.write(Buffer.concat([request.subarray(0, -2), Buffer.from(`${lines}\r\n`, "latin1")]));
      }
      this._flush();
    });
    this._attach(socket);
  }

  /** Server side: `conn` has accepted the request read from `socket`. */
  _initServer(socket, conn, accepted, head) {
    this._isServer = true;
    this._conn = conn;
    this._protocol = accepted.protocol ?? "";
    this._extensions = extensionNames(accepted.extensions);
    this._readyState = OPEN;
    socket.setTimeout(0);
    // As ws does: bytes that came with the request are read before new ones.
    if (head && head.length > 0) socket.unshift(head);
    this._attach(socket);
  }

  _attach(socket) {
    this._socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (bytes) => this._onData(bytes));
    socket.on("error", (err) => this._onSocketError(err));
    socket.on("close", () => this._onSocketClose());
    socket.on("end", () => {
      // The peer is done sending; answer with our FIN once we have written
      // everything (allowHalfOpen sockets do not do it themselves).
      if (!socket.destroyed) socket.end();
    });
    this._schedule(this._conn?.deadline());
  }

  _onData(bytes) {
    const conn = this._conn;
    if (!conn || this._ending) return;
    if (this._readyState === CONNECTING) {
      let response;
      try {
        response = conn.readResponse(bytes);
      } catch (err) {
        this._abort(err);
        return;
      }
      if (response === undefined) return this._flush();
      this._protocol = response.protocol ?? "";
      this._extensions = extensionNames(response.extensions);
      this._readyState = OPEN;
      this.emit("open");
      if (!this._conn) return;
      bytes = undefined;
    }
    this._receive(bytes);
  }

  /**
   * Feeds `bytes` to the engine and emits what they carried. The engine
   * stops after each whole message (so that a reply goes out before what
   * follows it is read): it is called again while bytes are buffered.
   */
  _receive(bytes) {
    const conn = this._conn;
    this._receiving = true;
    try {
      let len = 0;
      if (bytes !== undefined) {
        len = io.stage(bytes);
        // Its bytes are in the engine now: it can hold the payloads.
        io.lend(bytes);
      }
      for (;;) {
        const events = io.receive(conn, len);
        const more = io.buffered;
        len = 0;
        if (events === null) this._dispatch(io.kind, io.data, io.code);
        else for (let i = 0; i < events.length; i += 3) this._dispatch(events[i], events[i + 1], events[i + 2]);
        if (!this._conn || events?.length === 0 || !more) break;
        if (this._paused) {
          this._pendingInput = true;
          break;
        }
      }
    } finally {
      io.lend(null);
      this._receiving = false;
    }
    if (this._conn) this._flush();
  }

  /** One event of `io.receive()`: its kind, bytes and close code. */
  _dispatch(kind, data, code) {
    switch (kind) {
      case io.BINARY:
        this.emit("message", this._data(data), true);
        break;
      case io.TEXT:
        // As in ws: text is a Buffer whatever binaryType says.
        this.emit("message", data, false);
        break;
      case io.PING:
        // The engine has already put the pong in its output.
        this.emit("ping", data);
        break;
      case io.PONG:
        this.emit("pong", data);
        break;
      case io.CLOSE:
        this._closeFrameReceived = true;
        // The engine replies by itself when we had not closed yet.
        this._closeFrameSent = true;
        this._closeCode = code;
        this._closeMessage = data;
        if (this._readyState === OPEN) this._readyState = CLOSING;
        break;
      case io.ERROR: {
        const err = this._conn.takeError();
        this._closeCode = err.closeCode ?? 1006;
        this._closeFrameSent = true;
        this._readyState = CLOSING;
        this.emit("error", err);
        break;
      }
    }
  }

  _data(bytes) {
    switch (this._binaryType) {
      case "arraybuffer":
        return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
          ? bytes.buffer
          : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      case "fragments":
        return [bytes];
      default:
        return bytes;
    }
  }

  /** Writes what the engine has for the socket, and acts on what it says. */
  _flush() {
    this._flushQueued = false;
    const conn = this._conn;
    const socket = this._socket;
    if (!conn || !socket || socket.destroyed || this._ending) return;
    const out = io.flush(conn, socket.writableLength === 0);
    if (out !== null) {
      const callbacks = this._callbacks;
      if (callbacks.length > 0) {
        this._callbacks = [];
        socket.write(out, (err) => {
          for (const cb of callbacks) cb(err ?? undefined);
        });
      } else {
        socket.write(out);
      }
      io.written(socket);
    }
    if (io.shouldClose) this._end();
    else this._schedule(io.deadline);
  }

  /** Flushes once the current synchronous code is done (sends coalesce). */
  _queueFlush() {
    if (this._receiving || this._flushQueued) return;
    this._flushQueued = true;
    queueMicrotask(() => this._flush());
  }

  /** Keeps one timer for the engine's next `deadline` (undefined: none). */
  _schedule(deadline) {
    if (!this._conn) return;
    if (deadline === this._deadline) return;
    clearTimeout(this._timer);
    this._deadline = deadline;
    if (deadline === undefined) return;
    this._timer = setTimeout(
      () => {
        this._deadline = undefined;
        if (!this._conn) return;
        this._conn.tick();
        this._flush();
      },
      Math.max(0, Math.ceil(deadline - performance.now())),
    );
  }

  /** Ends the socket once our output is written; drops it if the peer lingers. */
  _end() {
    if (this._ending) return;
    this._ending = true;
    clearTimeout(this._timer);
    const socket = this._socket;
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  /** The opening handshake failed (or close()/terminate() came first). */
  _abort(err) {
    this._readyState = CLOSING;
    this._handshakeError = err;
    this.emit("error", err);
    if (this._socket) this._socket.destroy();
  }

  _onSocketError(err) {
    // As in ws, a socket error after the handshake only closes (1006); one
    // before it (e.g. ECONNREFUSED) is the client's error event.
    if (this._readyState === CONNECTING && !this._handshakeError) this._abort(err);
  }

  _onSocketClose() {
    clearTimeout(this._timer);
    const conn = this._conn;
    if (conn) {
      this._conn = null;
      conn.transportClosed();
      conn.free();
    }
    if (this._readyState === CONNECTING && !this._handshakeError) {
      this._readyState = CLOSING;
      this.emit("error", new Error("Socket closed before the opening handshake completed"));
    }
    this._readyState = CLOSED;
    this.emit("close", this._closeCode, this._closeMessage);
  }

  _afterClosed(data, cb) {
    if (data !== undefined && data !== null) this._afterClose += toBytes(data).length;
    if (cb) process.nextTick(cb, notOpen(this._readyState));
  }

  /**
   * Sends `data` (string, Buffer, ArrayBuffer, typed array, DataView or
   * number). `options.binary` defaults to `typeof data !== "string"`;
   * `options.fin: false` sends a fragment that later calls continue.
   * `cb(err)` runs once the frame is written to the socket.
   */
  send(data, options, cb) {
    if (typeof options === "function") {
      cb = options;
      options = undefined;
    }
    if (this._readyState === CONNECTING) throw notOpen(CONNECTING);
    if (typeof data === "number") data = data.toString();
    if (this._readyState !== OPEN) return this._afterClosed(data, cb);
    const binary = options?.binary ?? typeof data !== "string";
    const fin = options?.fin ?? true;
    if (typeof data === "string" && !binary) this._conn.sendStaged(io.TEXT, io.stageText(data), fin);
    else this._conn.sendStaged(binary ? io.BINARY : io.TEXT, io.stage(toBytes(data)), fin);
    io.shrinkStaging();
    if (cb) this._callbacks.push(cb);
    this._queueFlush();
  }

  /** Sends a ping with up to 125 bytes; `cb(err)` once written. */
  ping(data, mask, cb) {
    this._control("ping", data, mask, cb);
  }

  /** Sends an unsolicited pong with up to 125 bytes; `cb(err)` once written. */
  pong(data, mask, cb) {
    this._control("pong", data, mask, cb);
  }

  _control(kind, data, mask, cb) {
    if (this._readyState === CONNECTING) throw notOpen(CONNECTING);
    if (typeof data === "function") {
      cb = data;
      data = undefined;
    } else if (typeof mask === "function") cb = mask;
    if (typeof data === "number") data = data.toString();
    if (this._readyState !== OPEN) return this._afterClosed(data, cb);
    const bytes = data === undefined || data === null ? EMPTY : toBytes(data);
    if (bytes.length > 125) throw new RangeError("The data size must not be greater than 125 bytes");
    this._conn[kind](bytes);
    if (cb) this._callbacks.push(cb);
    this._queueFlush();
  }

  /**
   * Starts the closing handshake. `code` must be 1000-1014 (but not 1004,
   * 1005, 1006) or 3000-4999; `reason` at most 123 bytes. Without a code
   * the close frame carries 1000.
   */
  close(code, reason) {
    if (this._readyState === CLOSED) return;
    if (this._readyState === CONNECTING) {
      this._abort(new Error("WebSocket was closed before the connection was established"));
      return;
    }
    if (this._readyState === CLOSING) return;
    if (code !== undefined && (typeof code !== "number" || !isValidStatusCode(code))) {
      throw new TypeError("First argument must be a valid error code number");
    }
    let text = "";
    if (code !== undefined && reason !== undefined && reason !== null) {
      text = typeof reason === "string" ? reason : Buffer.from(toBytes(reason)).toString();
      if (Buffer.byteLength(text) > 123) throw new RangeError("The message must not be greater than 123 bytes");
    }
    this._readyState = CLOSING;
    this._closeFrameSent = true;
    this._conn.close(code ?? 1000, text);
    this._flush();
  }

  /** Drops the connection at once, without a closing handshake. */
  terminate() {
    if (this._readyState === CLOSED) return;
    if (this._readyState === CONNECTING) {
      this._abort(new Error("WebSocket was closed before the connection was established"));
      return;
    }
    this._readyState = CLOSING;
    this._socket.destroy();
  }

  /** Stops reading from the socket (and emitting messages) until resume(). */
  pause() {
    if (this._readyState === CONNECTING || this._readyState === CLOSED) return;
    this._paused = true;
    this._socket.pause();
  }

  resume() {
    if (this._readyState === CONNECTING || this._readyState === CLOSED) return;
    this._paused = false;
    if (this._pendingInput) {
      this._pendingInput = false;
      setImmediate(() => {
        if (this._conn && !this._paused) this._receive(undefined);
      });
    }
    this._socket.resume();
  }
}

/** "permessage-deflate; server_max_window_bits=9" -> "permessage-deflate". */
function extensionNames(value) {
  if (!value) return "";
  return value
    .split(",")
    .map((e) => e.split(";")[0].trim())
    .join();
}

for (const [i, name] of STATE_NAMES.entries()) {
  Object.defineProperty(WebSocket, name, { enumerable: true, value: i });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value: i });
}
addEventTarget(WebSocket.prototype);

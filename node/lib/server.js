// WebSocketServer with the shape of the ws package's: standalone on a port,
// attached to an http(s).Server's `upgrade` event, or with noServer and
// handleUpgrade(). Node's HTTP parser reads the request; the engine then
// checks it (from the same bytes, rebuilt) and writes the 101 or the error.

import { EventEmitter } from "node:events";
import http from "node:http";

import { ServerConnection } from "../engine/websock.js";
import { DEFAULT_MAX_PAYLOAD, LINGER_MS, engineDeflate, engineOptions } from "./options.js";
import { WebSocket, kServerSide } from "./websocket.js";

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

const kUpgraded = Symbol("websock.upgraded");

export class WebSocketServer extends EventEmitter {
  /**
   * Exactly one of `port` (listen on it, with `host` and `backlog`),
   * `server` (an http.Server or https.Server to attach to) or `noServer`.
   * Also as in ws: path, maxPayload (100 MiB), perMessageDeflate (false),
   * clientTracking (true), handleProtocols, verifyClient, WebSocket.
   */
  constructor(options, callback) {
    super();
    options = {
      maxPayload: DEFAULT_MAX_PAYLOAD,
      perMessageDeflate: false,
      handleProtocols: null,
      clientTracking: true,
      verifyClient: null,
      noServer: false,
      backlog: null,
      server: null,
      host: null,
      path: null,
      port: null,
      WebSocket,
      ...options,
    };
    if (
      (options.port == null && !options.server && !options.noServer) ||
      (options.port != null && (options.server || options.noServer)) ||
      (options.server && options.noServer)
    ) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    if (options.port != null) {
      this._server = http.createServer((req, res) => {
        const body = http.STATUS_CODES[426];
        res.writeHead(426, { "Content-Length": body.length, "Content-Type": "text/plain" });
        res.end(body);
      });
      this._server.listen(options.port, options.host ?? undefined, options.backlog ?? undefined, callback);
    } else if (options.server) {
      this._server = options.server;
    }
    if (this._server) {
      const emitConnection = this.emit.bind(this, "connection");
      const listeners = {
        listening: this.emit.bind(this, "listening"),
        error: this.emit.bind(this, "error"),
        upgrade: (req, socket, head) => this.handleUpgrade(req, socket, head, emitConnection),
      };
      for (const [event, listener] of Object.entries(listeners)) this._server.on(event, listener);
      this._removeListeners = () => {
        for (const [event, listener] of Object.entries(listeners)) this._server.removeListener(event, listener);
      };
    }
    // Checked once here, so that a bad value fails now rather than per client.
    this._deflate = engineDeflate(options.perMessageDeflate);
    if (options.clientTracking) {
      this.clients = new Set();
      this._shouldEmitClose = false;
    }
    this.options = options;
    this._state = RUNNING;
  }

  /** The listening address, as net.Server#address() gives it. */
  address() {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    if (!this._server) return null;
    return this._server.address();
  }

  /**
   * Stops accepting connections (existing ones stay open, as in ws 8); in
   * standalone mode also closes the HTTP server. `cb` runs on `close`.
   */
  close(cb) {
    if (this._state === CLOSED) {
      if (cb) this.once("close", () => cb(new Error("The server is not running")));
      process.nextTick(() => this.emit("close"));
      return;
    }
    if (cb) this.once("close", cb);
    if (this._state === CLOSING) return;
    this._state = CLOSING;
    if (this.options.noServer || this.options.server) {
      if (this._server) {
        this._removeListeners();
        this._removeListeners = this._server = null;
      }
      if (this.clients && this.clients.size > 0) this._shouldEmitClose = true;
      else process.nextTick(() => this._emitClose());
    } else {
      const server = this._server;
      this._removeListeners();
      this._removeListeners = this._server = null;
      server.close(() => this._emitClose());
    }
  }

  _emitClose() {
    this._state = CLOSED;
    this.emit("close");
  }

  /** Whether a request is for this server (its `path`, when set). */
  shouldHandle(req) {
    if (this.options.path) {
      const index = req.url.indexOf("?");
      const pathname = index !== -1 ? req.url.slice(0, index) : req.url;
      if (pathname !== this.options.path) return false;
    }
    return true;
  }

  /**
   * Completes the opening handshake of `req` (an http.IncomingMessage with
   * its `socket` and the `head` bytes read past it, as the `upgrade` event
   * gives them) and calls `cb(ws, req)` with the new WebSocket.
   */
  handleUpgrade(req, socket, head, cb) {
    socket.on("error", socketOnError);
    if (!this.shouldHandle(req)) return abortHandshake(socket, 400);
    if (socket[kUpgraded]) {
      throw new Error(
        "server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration",
      );
    }

    const offered = new Set();
    const header = req.headers["sec-websocket-protocol"];
    if (header !== undefined) for (const p of header.split(",")) if (p.trim()) offered.add(p.trim());
    let chosen;
    if (offered.size > 0) {
      chosen = this.options.handleProtocols ? this.options.handleProtocols(offered, req) : offered.values().next().value;
    }

    const request = requestBytes(req);
    const conn = new ServerConnection({
      ...engineOptions(this.options, this._deflate),
      maxHandshakeSize: Math.max(8192, request.length),
      protocols: chosen ? [chosen] : [],
    });
    let accepted;
    try {
      accepted = conn.accept(request);
      if (accepted === undefined) throw new Error("Incomplete upgrade request");
    } catch (err) {
      const response = conn.takeOutput();
      conn.free();
      if (this.listenerCount("wsClientError") > 0) {
        this.emit("wsClientError", err, socket, req);
      } else {
        endWith(socket, response.length > 0 ? response : httpError(400, err.message));
      }
      return;
    }

    const verifyClient = this.options.verifyClient;
    if (verifyClient) {
      const info = {
        origin: req.headers.origin,
        secure: Boolean(req.socket.authorized || req.socket.encrypted),
        req,
      };
      if (verifyClient.length === 2) {
        verifyClient(info, (verified, code, message, headers) => {
          if (!verified) {
            conn.free();
            return abortHandshake(socket, code || 401, message, headers);
          }
          this._completeUpgrade(conn, accepted, req, socket, head, cb);
        });
        return;
      }
      if (!verifyClient(info)) {
        conn.free();
        return abortHandshake(socket, 401);
      }
    }
    this._completeUpgrade(conn, accepted, req, socket, head, cb);
  }

  _completeUpgrade(conn, accepted, req, socket, head, cb) {
    if (!socket.readable || !socket.writable) {
      conn.free();
      return socket.destroy();
    }
    if (this._state > RUNNING) {
      conn.free();
      return abortHandshake(socket, 503);
    }
    socket[kUpgraded] = true;
    if (this.listenerCount("headers") > 0) {
      // The 101 as lines, for listeners to read or add to (as in ws).
      const lines = Buffer.from(conn.takeOutput()).toString("latin1").split("\r\n").slice(0, -2);
      this.emit("headers", lines, req);
      socket.write(Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"));
    }
    const ws = new this.options.WebSocket(kServerSide);
    socket.removeListener("error", socketOnError);
    ws._initServer(socket, conn, accepted, head);
    // The 101 goes out now, before any message the application sends.
    ws._flush();
    if (this.clients) {
      this.clients.add(ws);
      ws.on("close", () => {
        this.clients.delete(ws);
        if (this._shouldEmitClose && this.clients.size === 0) process.nextTick(() => this._emitClose());
      });
    }
    cb(ws, req);
  }
}

/**
 * The request as it came on the wire: Node's parser keeps the raw header
 * names and values (latin1, byte for byte), so the engine sees the same.
 */
function requestBytes(req) {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(`${text}\r\n`, "latin1");
}

function httpError(code, message = http.STATUS_CODES[code], headers = {}) {
  const head = [`HTTP/1.1 ${code} ${http.STATUS_CODES[code]}`, "Connection: close", "Content-Type: text/html"];
  head.push(`Content-Length: ${Buffer.byteLength(message)}`);
  for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
  return Buffer.from(`${head.join("\r\n")}\r\n\r\n${message}`);
}

function abortHandshake(socket, code, message, headers) {
  endWith(socket, httpError(code, message ?? http.STATUS_CODES[code], headers));
}

/** Writes `bytes`, ends the socket, and drops it if the peer does not close. */
function endWith(socket, bytes) {
  socket.once("finish", () => setTimeout(() => socket.destroy(), LINGER_MS).unref());
  socket.end(bytes);
}

function socketOnError() {
  this.destroy();
}

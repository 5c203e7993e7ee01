// Types of the websock package: a ws-style WebSocket client and server for
// Node on the websock engine. See README.md for where they differ from ws.

import { EventEmitter } from "node:events";
import type * as http from "node:http";
import type * as https from "node:https";
import type * as net from "node:net";
import type * as tls from "node:tls";
import type { Duplex } from "node:stream";

/** What `send()`, `ping()` and `pong()` accept. */
export type Data = string | Buffer | ArrayBuffer | ArrayBufferView | number;

/** A received message, as `binaryType` says: Buffer, ArrayBuffer, or Buffer[]. */
export type RawData = Buffer | ArrayBuffer | Buffer[];

export type BinaryType = "nodebuffer" | "arraybuffer" | "fragments";

/** permessage-deflate (RFC 7692) parameters, as ws names them. */
export interface PerMessageDeflateOptions {
  /** Server: reset our compressor after every message. Client: ask the server to. */
  serverNoContextTakeover?: boolean;
  /** Server: ask the client to reset its compressor. Client: reset ours and say so. */
  clientNoContextTakeover?: boolean;
  /** The server's window, 8 (taken as 9) to 15. */
  serverMaxWindowBits?: number;
  /** The client's window, 8 (taken as 9) to 15; `true` is accepted (the engine always offers the parameter). */
  clientMaxWindowBits?: number | boolean;
  /** Only `level` (0-9) is used. */
  zlibDeflateOptions?: { level?: number; [option: string]: unknown };
  /** Accepted for ws compatibility; ignored (the engine's inflater is its own). */
  zlibInflateOptions?: Record<string, unknown>;
  /** Accepted for ws compatibility; ignored: every message is compressed once agreed. */
  threshold?: number;
  /** Accepted for ws compatibility; ignored (compression is synchronous). */
  concurrencyLimit?: number;
}

export interface ClientOptions extends tls.ConnectionOptions {
  /** permessage-deflate offer; default true. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** The largest message accepted, in bytes (default 100 MiB); past it the connection fails with 1009. */
  maxPayload?: number;
  /** How long the opening handshake may take, in ms (default 10000). */
  handshakeTimeout?: number;
  /** How long to wait for the closing handshake, in ms (default 30000). */
  closeTimeout?: number;
  /** Extra request headers. */
  headers?: Record<string, string | number>;
  /** The Origin header. */
  origin?: string;
}

export interface SendOptions {
  /** Send as binary; default: when data is not a string. */
  binary?: boolean;
  /** false sends a fragment that later sends continue; default true. */
  fin?: boolean;
  /** Accepted for ws compatibility; ignored (compression follows the handshake). */
  compress?: boolean;
  /** Accepted for ws compatibility; ignored (clients mask, servers do not). */
  mask?: boolean;
}

export declare class Event {
  readonly type: string;
  readonly target: WebSocket;
}
export declare class MessageEvent extends Event {
  readonly data: string | Buffer | ArrayBuffer | Buffer[];
}
export declare class CloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}
export declare class ErrorEvent extends Event {
  readonly error: Error;
  readonly message: string;
}

/** An error from the engine or the handshake. */
export interface WebSockError extends Error {
  /** e.g. "ERR_WEBSOCK_PROTOCOL", "ERR_WEBSOCK_HANDSHAKE", or a socket's "ECONNREFUSED". */
  code?: string;
  /** The close code sent for a protocol violation (1002, 1007, 1009, ...). */
  closeCode?: number;
  /** The HTTP status of a refused handshake. */
  status?: number;
}

export declare class WebSocket extends EventEmitter {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  /** Also on the default export, as in ws. */
  static readonly WebSocket: typeof WebSocket;
  static readonly WebSocketServer: typeof WebSocketServer;
  static readonly Server: typeof WebSocketServer;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;

  constructor(address: string | URL, options?: ClientOptions);
  constructor(address: string | URL, protocols?: string | string[], options?: ClientOptions);

  binaryType: BinaryType;
  readonly bufferedAmount: number;
  readonly extensions: string;
  readonly isPaused: boolean;
  readonly protocol: string;
  readonly readyState: 0 | 1 | 2 | 3;
  readonly url: string;

  onopen: ((this: WebSocket, event: Event) => void) | null;
  onmessage: ((this: WebSocket, event: MessageEvent) => void) | null;
  onclose: ((this: WebSocket, event: CloseEvent) => void) | null;
  onerror: ((this: WebSocket, event: ErrorEvent) => void) | null;

  send(data: Data, cb?: (err?: Error) => void): void;
  send(data: Data, options: SendOptions, cb?: (err?: Error) => void): void;
  ping(data?: Data, mask?: boolean, cb?: (err?: Error) => void): void;
  pong(data?: Data, mask?: boolean, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string | Buffer): void;
  terminate(): void;
  pause(): void;
  resume(): void;

  addEventListener(type: "open", listener: (event: Event) => void, options?: { once?: boolean }): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void, options?: { once?: boolean }): void;
  addEventListener(type: "close", listener: (event: CloseEvent) => void, options?: { once?: boolean }): void;
  addEventListener(type: "error", listener: (event: ErrorEvent) => void, options?: { once?: boolean }): void;
  removeEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;

  on(event: "open", listener: (this: WebSocket) => void): this;
  on(event: "message", listener: (this: WebSocket, data: RawData, isBinary: boolean) => void): this;
  on(event: "ping" | "pong", listener: (this: WebSocket, data: Buffer) => void): this;
  on(event: "close", listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  on(event: "error", listener: (this: WebSocket, err: WebSockError) => void): this;
  on(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
  once(event: "open", listener: (this: WebSocket) => void): this;
  once(event: "message", listener: (this: WebSocket, data: RawData, isBinary: boolean) => void): this;
  once(event: "ping" | "pong", listener: (this: WebSocket, data: Buffer) => void): this;
  once(event: "close", listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  once(event: "error", listener: (this: WebSocket, err: WebSockError) => void): this;
  once(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
}

export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  req: http.IncomingMessage;
}

export interface ServerOptions {
  /** Listen on this port (a standalone HTTP server answering 426 to plain requests). */
  port?: number;
  host?: string;
  backlog?: number;
  /** Attach to this server's `upgrade` event instead. */
  server?: http.Server | https.Server;
  /** Neither: call handleUpgrade() yourself. */
  noServer?: boolean;
  /** Only accept requests for this path (others get 400). */
  path?: string;
  /** The largest message accepted, in bytes (default 100 MiB); past it the connection fails with 1009. */
  maxPayload?: number;
  /** Accept permessage-deflate offers; default false, as in ws. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Keep `clients`; default true. */
  clientTracking?: boolean;
  /** Picks the subprotocol from those offered; false for none. */
  handleProtocols?: (protocols: Set<string>, request: http.IncomingMessage) => string | false;
  verifyClient?:
    | ((info: VerifyClientInfo) => boolean)
    | ((
        info: VerifyClientInfo,
        callback: (verified: boolean, code?: number, message?: string, headers?: http.OutgoingHttpHeaders) => void,
      ) => void);
  /** How long to wait for the closing handshake, in ms (default 30000). */
  closeTimeout?: number;
  WebSocket?: typeof WebSocket;
}

export declare class WebSocketServer extends EventEmitter {
  constructor(options: ServerOptions, callback?: () => void);
  readonly options: ServerOptions;
  /** The connected clients, unless clientTracking is false. */
  readonly clients: Set<WebSocket>;
  address(): net.AddressInfo | string | null;
  close(cb?: (err?: Error) => void): void;
  shouldHandle(request: http.IncomingMessage): boolean;
  handleUpgrade(
    request: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (ws: WebSocket, request: http.IncomingMessage) => void,
  ): void;

  on(event: "connection", listener: (this: WebSocketServer, ws: WebSocket, request: http.IncomingMessage) => void): this;
  on(event: "headers", listener: (this: WebSocketServer, headers: string[], request: http.IncomingMessage) => void): this;
  on(event: "wsClientError", listener: (this: WebSocketServer, error: Error, socket: Duplex, request: http.IncomingMessage) => void): this;
  on(event: "error", listener: (this: WebSocketServer, error: Error) => void): this;
  on(event: "listening" | "close", listener: (this: WebSocketServer) => void): this;
  on(event: string | symbol, listener: (this: WebSocketServer, ...args: any[]) => void): this;
}

export { WebSocketServer as Server };
export default WebSocket;

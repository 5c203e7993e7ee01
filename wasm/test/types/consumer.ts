// Compiled (not run) by package.test.mjs against the shipped declarations:
// code a TypeScript user would write must type-check, and the discriminated
// event union must narrow.
import {
  ClientConnection,
  ServerConnection,
  type Closure,
  type ConnectionOptions,
  type ConnectionState,
  type PerMessageDeflateOptions,
  type UpgradeRequest,
  type UpgradeResponse,
  type WebSocketEvent,
  type WebSockError,
} from "websock-wasm";

const deflate: PerMessageDeflateOptions = { level: 1, serverMaxWindowBits: 10, clientNoContextTakeover: true };
const options: ConnectionOptions = {
  maxMessageSize: 1 << 20,
  protocols: ["chat"],
  closeTimeout: 1000,
  perMessageDeflate: deflate,
};
const plain: ConnectionOptions = { perMessageDeflate: false };
const server = new ServerConnection(options);
const request: UpgradeRequest | undefined = server.accept(new Uint8Array());
const path: string | undefined = request?.path;
const agreed: string | undefined = request?.extensions;
const compressed: boolean = server.compression;
const extensions: string = server.extensions;

function handle(conn: ServerConnection | ClientConnection, event: WebSocketEvent): string {
  switch (event.type) {
    case "text":
      conn.sendText(event.data.toUpperCase());
      return event.data;
    case "binary":
      conn.sendBinary(event.data.subarray(1), false);
      return String(event.data.byteLength);
    case "ping":
    case "pong":
      return String(event.data.length);
    case "close":
      return `${event.code} ${event.reason}`;
    case "error": {
      const err: WebSockError = event.error;
      return `${err.code} ${err.closeCode ?? ""} ${err.message}`;
    }
  }
}

const client = new ClientConnection(plain);
client.writeRequest("example.com", "/");
const response: UpgradeResponse | undefined = client.readResponse(new Uint8Array());
const offered: string | undefined = response?.extensions;
const out: Uint8Array = client.takeOutput();
const events: WebSocketEvent[] = server.state === "open" ? server.receive(out) : [];
const results: string[] = events.map((e) => handle(server, e));
const state: ConnectionState = client.state;
const deadline: number | undefined = client.deadline();
const closure: Closure = client.transportClosed();
client.close(1000, "bye");
client.tick();
export { path, agreed, compressed, extensions, offered, results, state, deadline, closure };

// A client: connects to URL, sends a text message, a binary one and a
// ping, prints what comes back, then closes with 1000.
//
//   node examples/client.mjs ws://127.0.0.1:PORT
//
// Prints one line per event; exits 0 after a clean close, 1 otherwise.

import { WebSocket } from "websock";

const url = process.argv[2];
if (!url) {
  console.error("usage: client.mjs ws://HOST:PORT[/PATH]");
  process.exit(2);
}

const ws = new WebSocket(url);
let expected = 2;
ws.on("open", () => {
  console.log(`open ${ws.extensions || "(no extensions)"}`);
  ws.send("hello");
  ws.send(Buffer.from([1, 2, 3]));
  ws.ping("are you there");
});
ws.on("message", (data, isBinary) => {
  console.log(isBinary ? `binary ${data.toString("hex")}` : `text ${data}`);
  if (--expected === 0) ws.close(1000, "done");
});
ws.on("pong", (data) => console.log(`pong ${data}`));
ws.on("error", (err) => console.log(`error ${err.message}`));
ws.on("close", (code, reason) => {
  console.log(reason.length > 0 ? `close ${code} ${reason}` : `close ${code}`);
  process.exitCode = code === 1000 ? 0 : 1;
});

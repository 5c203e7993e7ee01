// The floor for node/bench/run.sh: a plain TCP echo on node:net, no
// WebSocket at all (every chunk read is written back as it came). Any
// WebSocket server on node:net streams does at least this much work per
// message (one read, one write through the same stream machinery), so
// its messages/s bound what either WebSocket server can reach.
//
//   node node/bench/tcp-echo-server.mjs PORT

import net from "node:net";

const port = Number(process.argv[2]);
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("data", (chunk) => socket.write(chunk));
  socket.on("error", () => {});
});
server.listen(port, "127.0.0.1", () => console.log(`tcp echo server on 127.0.0.1:${port}`));

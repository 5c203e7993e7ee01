// Drives one websock-wasm connection over a node:net socket: feeds it what
// the socket reads, writes what it produces (pausing reads while the socket
// is backed up), runs its timers, and closes the socket when it says so.
// Shared by the echo server and the Autobahn client.

import { performance } from "node:perf_hooks";

/** How long a socket we ended may wait for the peer's FIN before we drop it. */
const LINGER_MS = 2000;

/**
 * Attaches `conn` (a ServerConnection or ClientConnection) to `socket`.
 *
 * - `handshake(bytes)`: feeds handshake bytes to `conn`; returns true once
 *   it is complete, false for more; throws when it failed (the output then
 *   holds what to send, e.g. an HTTP error).
 * - `onEvent(event)`: each received event, in order, after the handshake.
 * - `onClose(closure, error)`: once, when the socket has closed; `error`
 *   is the handshake or socket error, if any. `conn` is freed by then.
 *
 * Returns `flush()`, to call after sending on `conn` outside `onEvent`.
 */
export function link(socket, conn, { handshake, onEvent, onClose }) {
  let open = false;
  let ending = false;
  let timer;
  let failure;

  function schedule() {
    clearTimeout(timer);
    const deadline = conn.deadline();
    if (deadline !== undefined) {
      const wait = Math.max(0, Math.ceil(deadline - performance.now()));
      timer = setTimeout(() => {
        conn.tick();
        flush();
      }, wait);
    }
  }

  function end() {
    if (ending) return;
    ending = true;
    clearTimeout(timer);
    // end() sends FIN once everything written has gone out; a peer that
    // never answers with its own is dropped after a short linger.
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  function flush() {
    if (socket.destroyed) return;
    const out = conn.takeOutput();
    // Backpressure: stop reading (and so producing replies) until the
    // socket's buffer has drained.
    if (out.length > 0 && !ending && !socket.write(out)) socket.pause();
    if (conn.shouldClose()) end();
    else schedule();
  }

  socket.on("drain", () => {
    if (!ending) socket.resume();
  });

  socket.on("data", (bytes) => {
    if (ending) return; // the engine ignores input after closing anyway
    if (!open) {
      try {
        open = handshake(bytes);
      } catch (err) {
        failure = err;
        flush();
        end();
        return;
      }
      if (!open) return flush();
      bytes = undefined;
    }
    for (let events = conn.receive(bytes); events.length > 0; events = conn.receive()) {
      for (const event of events) onEvent(event);
    }
    flush();
  });

  socket.on("error", (err) => {
    failure ??= err;
  });

  socket.on("close", () => {
    clearTimeout(timer);
    const closure = conn.transportClosed();
    conn.free();
    onClose(closure, failure);
  });

  schedule();
  return flush;
}

/*
 * Socket plumbing shared by the examples: one WebSocket connection over a
 * non-blocking POSIX socket, driven by poll(). It owns the connection's
 * input and output buffers, runs the opening handshake (either role),
 * feeds input to the engine, writes output (partial writes, EINTR and
 * EAGAIN handled), and closes the transport when the engine says so, with
 * a lingering close so the peer reads our last frame rather than a reset.
 */
#ifndef CONN_IO_H
#define CONN_IO_H

#include <stddef.h>
#include <stdint.h>

#include "websock.h"

/* Bytes read from the socket at most before the engine sees them. */
#define IO_IN_CAP (16 * 1024)
/* The output buffer's usual size: a whole input buffer echoed back, the
 * engine's own replies, and as much again so that reading goes on while
 * writing. */
#define IO_OUT_BASE (2 * IO_IN_CAP + 1024)
/* Output may grow up to this much before reading stops. Some peers write a
 * whole message before reading anything (Autobahn's runner kosoku does, up
 * to 16 MiB): a streaming echo of it cannot drain until the peer is done
 * writing, so stopping earlier would deadlock both sides. The kernel's
 * socket buffers hold a few MiB of it; the rest waits here, and the buffer
 * shrinks back once drained. A peer that reads as it writes never gets
 * near this. */
#define IO_HIGH_WATER (16 * 1024 * 1024)
/* Where compressed messages inflate to (permessage-deflate), allocated
 * only on connections that negotiated it. */
#define IO_SCRATCH_CAP (16 * 1024)
/* How long to read and discard after shutting down our side. */
#define IO_LINGER_MS 2000

enum io_phase {
    IO_HANDSHAKE, /* opening handshake in progress */
    IO_OPEN,      /* frames flow (closing handshake included) */
    IO_LINGER,    /* our side is shut down; discarding until the peer's EOF */
    IO_DONE       /* the socket is closed */
};

/* One connection: the socket, the engine's memory and the buffers. */
struct conn_io {
    int fd;
    int is_client;
    enum io_phase phase;
    /* The peer closed its side: nothing more to read. */
    int peer_eof;
    uint64_t linger_until;
    /* The first failure (a refused handshake, a protocol violation). */
    websock_status failure;
    /* Set once the transport is closed: how the connection ended. */
    websock_closure closure;
    websock_conn ws;
    /* Unconsumed input is in[in_start, in_len). */
    size_t in_start, in_len;
    /* Bytes not yet written are out[out_start, out_len) of out_cap. */
    unsigned char *out;
    size_t out_start, out_len, out_cap;
    /* NULL unless compression is in force. */
    unsigned char *scratch;
    unsigned char in[IO_IN_CAP];
};

/* Handles one event; returns 0, or -1 to fail the connection. Data events
 * point into io->in and are valid during the call only. */
typedef int (*io_event_fn)(struct conn_io *io, const websock_event *ev, void *ctx);

/* Milliseconds from a monotonic clock. */
uint64_t io_now_ms(void);

/* Makes a descriptor non-blocking; returns 0 or -1. */
int io_set_nonblocking(int fd);

/* Server side: takes a freshly accepted, non-blocking socket. `config`
 * may be NULL for the defaults. Returns 0, or -1 (out of memory or a bad
 * configuration; the socket is left open). */
int io_start_server(struct conn_io *io, int fd, uint64_t now, const websock_config *config);

/* Client side: takes a connected, non-blocking socket and queues the
 * upgrade request for `host` (with ":port") and `path`. `entropy` is
 * WEBSOCK_ENTROPY_LEN fresh random bytes. Returns 0 or -1. */
int io_start_client(struct conn_io *io, int fd, uint64_t now, const websock_config *config,
                    const char *host, const char *path, const unsigned char *entropy);

/* The poll() events the connection waits for. */
short io_poll_events(const struct conn_io *io);

/* When the connection next needs io_step without any socket event
 * (WEBSOCK_NO_DEADLINE for never). */
uint64_t io_deadline(const struct conn_io *io);

/* Does everything one poll() round allows: reads, runs the handshake,
 * feeds the engine (calling `on_event` per event), writes, and closes
 * when it is time. `revents` is what poll() reported (0 on a timeout). */
void io_step(struct conn_io *io, short revents, uint64_t now, io_event_fn on_event, void *ctx);

/* Makes room for `need` more bytes at io->out + io->out_len (moving
 * pending bytes to the front, growing the buffer up to IO_HIGH_WATER plus
 * one input buffer). Returns the room, which is less than `need` only
 * when memory is short or the limit is reached. */
size_t io_out_room(struct conn_io *io, size_t need);

/* Commits `n` bytes the caller wrote at io->out + io->out_len. */
void io_out_commit(struct conn_io *io, size_t n);

/* Bytes waiting to be written. */
size_t io_pending(const struct conn_io *io);

/* Writes what can be written now; returns 0, or -1 if the socket failed. */
int io_flush(struct conn_io *io);

/* The streaming echo: sends a text or binary chunk back as a fragment of
 * the same kind, ending the message where the peer's did. Other events
 * need nothing: the engine answers pings and close frames itself. */
int io_echo(struct conn_io *io, const websock_event *ev, void *ctx);

/* Closes the socket now if still open (no lingering). */
void io_abort(struct conn_io *io);

/* Releases the buffers (after io_abort or once done). */
void io_free(struct conn_io *io);

#endif

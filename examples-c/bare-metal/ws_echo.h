/*
 * A WebSocket echo service for one connection over any byte stream, for
 * bare-metal and RTOS targets (FreeRTOS+TCP, Zephyr sockets, lwIP netconn
 * or raw callbacks): no heap, no libc, no clock of its own. Everything it
 * uses is in `struct ws_echo`, which the caller places (static memory, a
 * task's stack, a pool), and the three functions of `struct ws_transport`.
 *
 * Needs libwebsock built without std (see README.md): the header alone,
 * freestanding C99.
 */
#ifndef WS_ECHO_H
#define WS_ECHO_H

#include <stddef.h>
#include <stdint.h>

#include "websock.h"

/* Input buffer: the upgrade request must fit (the engine answers 431 when
 * it does not), and message data passes through it in chunks of at most
 * this size, so any message size works. */
#define WS_ECHO_IN 1024
/* Output: the 101 answer (320 bytes suffice without subprotocols) or one
 * echoed chunk with its frame header; control frames are smaller. */
#define WS_ECHO_OUT (WS_ECHO_IN + WEBSOCK_MAX_FRAME_HEADER)

/* What the platform gives. `ctx` is passed back to each function. */
struct ws_transport {
    void *ctx;
    /* Reads up to `cap` bytes into `buf` and returns how many (0 when none
     * came in time: the loop then only advances the clock), or -1 once the
     * peer has closed the stream or it failed. */
    long (*read)(void *ctx, uint8_t *buf, size_t cap);
    /* Writes all `len` bytes, blocking as needed; 0 on success, -1 when
     * the stream failed. */
    int (*write)(void *ctx, const uint8_t *buf, size_t len);
    /* Milliseconds from any fixed origin, never going backwards. */
    uint64_t (*now_ms)(void *ctx);
};

/* One connection's memory, owned by the caller; needs no initialisation. */
struct ws_echo {
    websock_conn conn;
    uint8_t in[WS_ECHO_IN];
    uint8_t out[WS_ECHO_OUT];
    size_t in_len;
};

/*
 * Serves one connection on `t` until it is over: the opening handshake,
 * then every text and binary message echoed as it arrives (each chunk sent
 * on as a fragment of the same message), pings answered, the closing
 * handshake, timeouts. Returns in `*how` how the connection ended (clean,
 * and the peer's close code or 1006). The caller then closes its stream.
 * The return value is WEBSOCK_STATUS_OK, or the status that ended the
 * connection early (a refused handshake, a protocol error from the peer,
 * or WS_ECHO_WRITE_FAILED when the transport failed).
 */
int ws_echo_run(struct ws_echo *s, const struct ws_transport *t, websock_closure *how);

/* ws_echo_run's answer when the transport's write failed. */
#define WS_ECHO_WRITE_FAILED (-1)

#endif

/* Socket plumbing shared by the examples; see conn_io.h. */
#define _POSIX_C_SOURCE 200809L

#include "conn_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

uint64_t io_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)(ts.tv_nsec / 1000000);
}

int io_set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -1 : 0;
}

static int reset(struct conn_io *io, int fd, int is_client)
{
    if (io->out == NULL || io->out_cap != IO_OUT_BASE) {
        free(io->out);
        io->out = malloc(IO_OUT_BASE);
        io->out_cap = io->out ? IO_OUT_BASE : 0;
    }
    io->fd = fd;
    io->is_client = is_client;
    io->phase = IO_HANDSHAKE;
    io->peer_eof = 0;
    io->linger_until = 0;
    io->failure = WEBSOCK_STATUS_OK;
    io->closure.clean = false;
    io->closure.code = 1006;
    io->in_start = io->in_len = 0;
    io->out_start = io->out_len = 0;
    free(io->scratch);
    io->scratch = NULL;
    return io->out ? 0 : -1;
}

void io_free(struct conn_io *io)
{
    free(io->out);
    free(io->scratch);
    io->out = NULL;
    io->scratch = NULL;
    io->out_cap = 0;
}

int io_start_server(struct conn_io *io, int fd, uint64_t now, const websock_config *config)
{
    if (reset(io, fd, 0) != 0)
        return -1;
    return websock_server_init(&io->ws, sizeof io->ws, config, now) == WEBSOCK_STATUS_OK ? 0 : -1;
}

int io_start_client(struct conn_io *io, int fd, uint64_t now, const websock_config *config,
                    const char *host, const char *path, const unsigned char *entropy)
{
    size_t n = 0;
    if (reset(io, fd, 1) != 0)
        return -1;
    if (websock_client_init(&io->ws, sizeof io->ws, config, now, entropy, WEBSOCK_ENTROPY_LEN) !=
        WEBSOCK_STATUS_OK)
        return -1;
    if (websock_client_request(&io->ws, host, strlen(host), path, strlen(path), NULL, 0, io->out,
                               io->out_cap, &n) != WEBSOCK_STATUS_OK)
        return -1;
    io->out_len = n;
    return 0;
}

short io_poll_events(const struct conn_io *io)
{
    short events = 0;
    switch (io->phase) {
    case IO_DONE:
        return 0;
    case IO_LINGER:
        return POLLIN;
    default:
        /* After end of stream the socket stays readable: asking for POLLIN
         * then would spin. Consumed input does not count: reading moves
         * the rest to the front first. */
        if (!io->peer_eof && io->in_len - io->in_start < IO_IN_CAP)
            events |= POLLIN;
        if (io->out_start < io->out_len)
            events |= POLLOUT;
        return events;
    }
}

uint64_t io_deadline(const struct conn_io *io)
{
    switch (io->phase) {
    case IO_DONE:
        return WEBSOCK_NO_DEADLINE;
    case IO_LINGER:
        return io->linger_until;
    default:
        return websock_deadline(&io->ws);
    }
}

size_t io_pending(const struct conn_io *io)
{
    return io->out_len - io->out_start;
}

size_t io_out_room(struct conn_io *io, size_t need)
{
    size_t pending = io_pending(io);
    if (pending == 0) {
        io->out_start = io->out_len = 0;
        if (io->out_cap > 8 * IO_OUT_BASE) {
            /* A backlog has drained: give its memory back. */
            unsigned char *smaller = realloc(io->out, IO_OUT_BASE);
            if (smaller != NULL) {
                io->out = smaller;
                io->out_cap = IO_OUT_BASE;
            }
        }
    } else if (io->out_start > 0 && io->out_cap - io->out_len < need) {
        /* Only when the tail is short, so each byte moves rarely. */
        memmove(io->out, io->out + io->out_start, pending);
        io->out_start = 0;
        io->out_len = pending;
    }
    if (io->out_cap - io->out_len < need && io->out_len + need <= IO_HIGH_WATER + IO_OUT_BASE) {
        size_t cap = io->out_cap;
        unsigned char *grown;
        while (cap - io->out_len < need)
            cap *= 2;
        grown = realloc(io->out, cap);
        if (grown != NULL) {
            io->out = grown;
            io->out_cap = cap;
        }
    }
    return io->out_cap - io->out_len;
}

void io_out_commit(struct conn_io *io, size_t n)
{
    io->out_len += n;
}

int io_flush(struct conn_io *io)
{
    while (io->out_start < io->out_len) {
        ssize_t w = send(io->fd, io->out + io->out_start, io->out_len - io->out_start,
                         MSG_NOSIGNAL);
        if (w > 0) {
            io->out_start += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            return -1;
        }
    }
    io->out_start = io->out_len = 0;
    return 0;
}

/* What one recv() found. */
enum io_read { IO_READ_DATA, IO_READ_AGAIN, IO_READ_EOF, IO_READ_ERROR };

static enum io_read read_input(struct conn_io *io)
{
    ssize_t r;
    if (io->in_start > 0) {
        memmove(io->in, io->in + io->in_start, io->in_len - io->in_start);
        io->in_len -= io->in_start;
        io->in_start = 0;
    }
    /* A zero-length recv() would return 0 and look like end of stream. */
    if (io->in_len == IO_IN_CAP)
        return IO_READ_AGAIN;
    do {
        r = recv(io->fd, io->in + io->in_len, IO_IN_CAP - io->in_len, 0);
    } while (r < 0 && errno == EINTR);
    if (r > 0) {
        io->in_len += (size_t)r;
        return IO_READ_DATA;
    }
    if (r == 0)
        return IO_READ_EOF;
    return errno == EAGAIN || errno == EWOULDBLOCK ? IO_READ_AGAIN : IO_READ_ERROR;
}

/* Closes the socket, tells the engine, and ends the engine's use of its
 * memory (which frees what compression allocated); `io->closure` says how
 * the connection ended. */
static void finish(struct conn_io *io)
{
    websock_transport_closed(&io->ws, &io->closure);
    websock_conn_deinit(&io->ws);
    if (io->fd >= 0)
        close(io->fd);
    io->fd = -1;
    io->phase = IO_DONE;
}

void io_abort(struct conn_io *io)
{
    if (io->phase != IO_DONE)
        finish(io);
}

/* Reads and discards until the peer closes, the socket fails, or time is
 * up; then closes. */
static void linger(struct conn_io *io, uint64_t now)
{
    for (;;) {
        ssize_t r = recv(io->fd, io->in, sizeof io->in, 0);
        if (r > 0 || (r < 0 && errno == EINTR))
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        finish(io);
        return;
    }
    if (now >= io->linger_until)
        finish(io);
}

/* Moves the engine's queued replies into the output buffer; returns the
 * bytes taken. */
static size_t take_engine_output(struct conn_io *io)
{
    size_t total = 0;
    while (websock_has_output(&io->ws)) {
        size_t n = 0;
        size_t room = io_out_room(io, WEBSOCK_MAX_CONTROL_FRAME);
        if (websock_poll_output(&io->ws, io->out + io->out_len, room, &n) != WEBSOCK_STATUS_OK ||
            n == 0)
            break;
        io->out_len += n;
        total += n;
    }
    return total;
}

/* Runs the opening handshake on the input so far. */
static void handshake(struct conn_io *io)
{
    const unsigned char *input = io->in + io->in_start;
    size_t len = io->in_len - io->in_start;
    websock_status st;
    if (io->is_client) {
        websock_response response;
        st = websock_client_response(&io->ws, input, len, NULL, 0, &response);
        if (st == WEBSOCK_STATUS_OK)
            io->in_start += response.consumed;
    } else {
        websock_request request;
        size_t room = io_out_room(io, 512);
        memset(&request, 0, sizeof request);
        st = websock_accept(&io->ws, input, len, NULL, 0, io->out + io->out_len, room, &request);
        /* On success the 101, on refusal an HTTP error: write it either way. */
        io->out_len += request.written;
        if (st == WEBSOCK_STATUS_OK)
            io->in_start += request.consumed;
    }
    if (st == WEBSOCK_STATUS_OK) {
        io->phase = IO_OPEN;
        /* Compressed messages need somewhere to inflate to. Without it
         * they are refused with WEBSOCK_STATUS_BUFFER_TOO_SMALL. */
        if (websock_compression_active(&io->ws))
            io->scratch = malloc(IO_SCRATCH_CAP);
    } else if (st != WEBSOCK_STATUS_INCOMPLETE) {
        io->failure = st; /* the engine now asks to close the transport */
    }
}

/* Feeds input to the engine while input and output room allow progress.
 * Returns 0, or -1 when the connection must be dropped (`on_event` failed,
 * or memory ran out). */
static int pump(struct conn_io *io, io_event_fn on_event, void *ctx)
{
    for (;;) {
        size_t available = io->in_len - io->in_start;
        size_t chunk = available, room, need, used = 0, pong = 0;
        int progress;
        websock_event ev;
        websock_status st;
        if (io_pending(io) >= IO_HIGH_WATER)
            return 0; /* wait until the socket takes some output */
        /* Room for the echo of the largest chunk this call may yield (a
         * compressed one inflates into the scratch buffer), a pong and the
         * engine's close frame. */
        if (io->scratch != NULL && chunk < IO_SCRATCH_CAP)
            chunk = IO_SCRATCH_CAP;
        need = websock_max_frame_len(&io->ws, chunk) + 2 * WEBSOCK_MAX_CONTROL_FRAME;
        room = io_out_room(io, need);
        if (room < need)
            return 0;
        /* Even with no new input: a compressed message's last chunk comes
         * from the inflater alone. A ping's pong goes straight into the
         * output, ahead of anything the event handler adds. */
        st = websock_receive_with(&io->ws, io->in + io->in_start, available, io->scratch,
                                  io->scratch ? IO_SCRATCH_CAP : 0, io->out + io->out_len,
                                  room, &used, &pong, &ev);
        io->in_start += used;
        io->out_len += pong;
        progress = take_engine_output(io) > 0 || used > 0 || ev.kind != WEBSOCK_EVENT_TYPE_NONE;
        if (st != WEBSOCK_STATUS_OK) {
            if (io->failure == WEBSOCK_STATUS_OK)
                io->failure = st;
            /* The peer broke the protocol: the failing close frame has just
             * been taken, and the engine asks to close once it is written.
             * Anything else is our own failure (no scratch memory): give
             * up on the connection. */
            return st >= 100 && st < 200 ? 0 : -1;
        }
        if (ev.kind != WEBSOCK_EVENT_TYPE_NONE && on_event(io, &ev, ctx) != 0)
            return -1;
        if (!progress)
            return 0;
    }
}

void io_step(struct conn_io *io, short revents, uint64_t now, io_event_fn on_event, void *ctx)
{
    if (io->phase == IO_DONE)
        return;
    websock_tick(&io->ws, now);
    if (io->phase == IO_LINGER) {
        linger(io, now);
        return;
    }
    if (!io->peer_eof && (revents & (POLLIN | POLLHUP | POLLERR))) {
        switch (read_input(io)) {
        case IO_READ_ERROR:
            finish(io);
            return;
        case IO_READ_EOF:
            io->peer_eof = 1;
            break;
        default:
            break;
        }
    }
    if (io->phase == IO_HANDSHAKE)
        handshake(io);
    if (io->phase == IO_OPEN && pump(io, on_event, ctx) != 0) {
        finish(io);
        return;
    }
    if (io_flush(io) != 0) {
        finish(io);
        return;
    }
    if (io->out_start < io->out_len)
        return; /* poll() says when the socket takes more */
    if (io->peer_eof) {
        /* Everything we could answer has been written; the peer will send
         * nothing more. */
        finish(io);
    } else if (websock_should_close(&io->ws)) {
        shutdown(io->fd, SHUT_WR);
        io->phase = IO_LINGER;
        io->linger_until = now + IO_LINGER_MS;
        linger(io, now);
    }
}

int io_echo(struct conn_io *io, const websock_event *ev, void *ctx)
{
    size_t n = 0;
    size_t room = io_out_room(io, websock_max_frame_len(&io->ws, ev->len));
    unsigned char *out = io->out + io->out_len;
    websock_status st;
    (void)ctx;
    if (ev->kind == WEBSOCK_EVENT_TYPE_TEXT)
        st = websock_send_text(&io->ws, ev->data, ev->len, ev->fin, out, room, &n);
    else if (ev->kind == WEBSOCK_EVENT_TYPE_BINARY)
        st = websock_send_binary(&io->ws, ev->data, ev->len, ev->fin, out, room, &n);
    else
        return 0;
    /* Data that arrives after we started closing needs no answer. */
    if (st == WEBSOCK_STATUS_INVALID_STATE)
        return 0;
    if (st != WEBSOCK_STATUS_OK)
        return -1;
    io->out_len += n;
    return 0;
}

/*
 * The echo loop of ws_echo.h. Freestanding C99: no libc call, no heap;
 * the only memory is the caller's `struct ws_echo` and a websock_event on
 * the stack.
 */
#include "ws_echo.h"

#include <stdbool.h>

/* Moves buf[from..len) to the front (memmove without libc). */
static void shift(uint8_t *buf, size_t from, size_t len)
{
    size_t i;
    for (i = 0; from + i < len; i++)
        buf[i] = buf[from + i];
}

static int write_all(const struct ws_transport *t, const uint8_t *buf, size_t len)
{
    return len == 0 || t->write(t->ctx, buf, len) == 0 ? 0 : WS_ECHO_WRITE_FAILED;
}

/* Writes what the engine owes: the close reply or the close that fails
 * the connection. `out` always takes the next frame (it is larger
 * than WEBSOCK_MAX_CONTROL_FRAME), so the loop ends when nothing waits. */
static int flush(struct ws_echo *s, const struct ws_transport *t)
{
    size_t n;
    do {
        if (websock_poll_output(&s->conn, s->out, sizeof s->out, &n) != WEBSOCK_STATUS_OK)
            return WS_ECHO_WRITE_FAILED;
        if (write_all(t, s->out, n) != 0)
            return WS_ECHO_WRITE_FAILED;
    } while (n > 0);
    return 0;
}

/* The opening handshake on the bytes so far: WEBSOCK_STATUS_INCOMPLETE to
 * read more, WEBSOCK_STATUS_OK once the 101 is written (frames that came
 * with the request stay in `in`), or the refusal, its HTTP answer written. */
static int accept_request(struct ws_echo *s, const struct ws_transport *t)
{
    websock_request req;
    int st = websock_accept(&s->conn, s->in, s->in_len, NULL, 0, s->out, sizeof s->out, &req);
    if (st == WEBSOCK_STATUS_INCOMPLETE || st == WEBSOCK_STATUS_BUFFER_TOO_SMALL)
        return st;
    if (write_all(t, s->out, req.written) != 0)
        return WS_ECHO_WRITE_FAILED;
    if (st == WEBSOCK_STATUS_OK) {
        shift(s->in, req.consumed, s->in_len);
        s->in_len -= req.consumed;
    }
    return st;
}

/* Feeds `in` to the engine, echoing each chunk of data as it comes: the
 * chunk points into `in`, so it goes out before `in` is reused. */
static int receive(struct ws_echo *s, const struct ws_transport *t)
{
    size_t off = 0;
    int st = WEBSOCK_STATUS_OK;
    while (off < s->in_len) {
        websock_event ev;
        size_t used, pong, n;
        st = websock_receive(&s->conn, s->in + off, s->in_len - off, s->out, sizeof s->out, &used,
                             &pong, &ev);
        off += used;
        /* A ping's pong, written into `out` by the same call. */
        if (write_all(t, s->out, pong) != 0)
            return WS_ECHO_WRITE_FAILED;
        if (st == WEBSOCK_STATUS_OK && ev.kind == WEBSOCK_EVENT_TYPE_TEXT)
            st = websock_send_text(&s->conn, ev.data, ev.len, ev.fin, s->out, sizeof s->out, &n);
        else if (st == WEBSOCK_STATUS_OK && ev.kind == WEBSOCK_EVENT_TYPE_BINARY)
            st = websock_send_binary(&s->conn, ev.data, ev.len, ev.fin, s->out, sizeof s->out, &n);
        else
            n = 0;
        if (st == WEBSOCK_STATUS_OK && write_all(t, s->out, n) != 0)
            return WS_ECHO_WRITE_FAILED;
        if (flush(s, t) != 0)
            return WS_ECHO_WRITE_FAILED;
        if (st != WEBSOCK_STATUS_OK)
            break;
        if (used == 0 && ev.kind == WEBSOCK_EVENT_TYPE_NONE)
            break; /* the rest of a header or control frame is still to come */
    }
    shift(s->in, off, s->in_len);
    s->in_len -= off;
    return st;
}

int ws_echo_run(struct ws_echo *s, const struct ws_transport *t, websock_closure *how)
{
    websock_config config = websock_config_default();
    bool open = false;
    int result = WEBSOCK_STATUS_OK;
    int st;

    /* A request that fills the buffer is refused by the engine (431). */
    config.max_handshake_len = WS_ECHO_IN - 1;
    s->in_len = 0;
    st = websock_server_init(&s->conn, sizeof s->conn, &config, t->now_ms(t->ctx));
    if (st != WEBSOCK_STATUS_OK) {
        how->clean = false;
        how->code = 1006;
        return st;
    }
    while (!websock_should_close(&s->conn)) {
        long got = t->read(t->ctx, s->in + s->in_len, sizeof s->in - s->in_len);
        if (got < 0)
            break;
        s->in_len += (size_t)got;
        websock_tick(&s->conn, t->now_ms(t->ctx));
        if (!open && s->in_len > 0) {
            st = accept_request(s, t);
            if (st == WEBSOCK_STATUS_INCOMPLETE)
                continue;
            if (st != WEBSOCK_STATUS_OK) {
                result = st;
                break;
            }
            open = true;
        }
        if (open && s->in_len > 0) {
            st = receive(s, t);
            if (st == WS_ECHO_WRITE_FAILED) {
                result = st;
                break;
            }
            /* A protocol error: its close frame is written; keep going
             * until the engine says to close. */
            if (st != WEBSOCK_STATUS_OK && result == WEBSOCK_STATUS_OK)
                result = st;
        }
        if (flush(s, t) != 0) {
            result = WS_ECHO_WRITE_FAILED;
            break;
        }
    }
    websock_transport_closed(&s->conn, how);
    websock_conn_deinit(&s->conn);
    return result;
}

/*
 * The C ABI seen from C: every check goes through include/websock.h and
 * libwebsock exactly as a C program would. Built with -std=c99 -Wall
 * -Wextra -Werror -pedantic and run under valgrind by tests/suite-c.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "websock.h"

static int failures = 0;

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

#define CHECK_STATUS(expr, want)                                                    \
    do {                                                                            \
        websock_status got_ = (expr);                                               \
        if (got_ != (want)) {                                                       \
            fprintf(stderr, "%s:%d: %s gave %d (%s), wanted %s\n", __FILE__, __LINE__, \
                    #expr, (int)got_, websock_status_str(got_), #want);             \
            failures++;                                                             \
        }                                                                           \
    } while (0)

static const char REQUEST[] = "GET /chat HTTP/1.1\r\n"
                              "Host: server.example.com\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Protocol: superchat, chat\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";

static int contains(const unsigned char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;
    for (i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

/* Where websock_receive writes the pong of a ping it takes. */
static unsigned char pong_out[WEBSOCK_MAX_CONTROL_FRAME];
static size_t pong_len;

#define RECEIVE(c, in, len, used, ev) \
    websock_receive((c), (in), (len), pong_out, sizeof pong_out, (used), &pong_len, (ev))
#define RECEIVE_WITH(c, in, len, scratch, cap, used, ev)                                     \
    websock_receive_with((c), (in), (len), (scratch), (cap), pong_out, sizeof pong_out, (used), \
                         &pong_len, (ev))

/* A server connection past the RFC's sample handshake. */
static void open_server(websock_conn *c)
{
    unsigned char out[512];
    websock_request req;
    CHECK_STATUS(websock_server_init(c, sizeof *c, NULL, 0), WEBSOCK_STATUS_OK);
    CHECK_STATUS(websock_accept(c, REQUEST, strlen(REQUEST), NULL, 0, out, sizeof out, &req),
                 WEBSOCK_STATUS_OK);
}

static void test_version_and_sizes(void)
{
    websock_conn c;
    CHECK(websock_version_number() ==
          WEBSOCK_VERSION_MAJOR * 10000u + WEBSOCK_VERSION_MINOR * 100u + WEBSOCK_VERSION_PATCH);
    CHECK(strlen(websock_version()) >= 5);
    CHECK(websock_conn_size() <= sizeof(websock_conn));
    CHECK(sizeof(websock_conn) == WEBSOCK_CONN_SIZE);
    CHECK(websock_conn_align() <= 8 && (uintptr_t)&c % websock_conn_align() == 0);
    CHECK(strcmp(websock_status_str(WEBSOCK_STATUS_OK), "ok") == 0);
    CHECK(strcmp(websock_status_str(9999), "unknown status") == 0);
    CHECK(strcmp(websock_status_str(WEBSOCK_STATUS_INVALID_UTF8), "peer sent invalid UTF-8") == 0);
}

static void test_config(void)
{
    websock_conn c;
    websock_config config = websock_config_default();
    CHECK(config.max_message_size == 64u << 20 && config.max_handshake_len == 8192);
    CHECK(!config.deflate && config.deflate_level == 6 && config.server_max_window_bits == 15);
    config.client_max_window_bits = 8;
    CHECK_STATUS(websock_server_init(&c, sizeof c, &config, 0), WEBSOCK_STATUS_INVALID_CONFIG);
    config = websock_config_default();
    config.deflate_level = 10;
    CHECK_STATUS(websock_server_init(&c, sizeof c, &config, 0), WEBSOCK_STATUS_INVALID_CONFIG);
    /* A small message limit: 1009 as soon as a header announces more. */
    {
        unsigned char big[] = {0x82, 0xfe, 0x01, 0x00, 0, 0, 0, 0};
        unsigned char out[512];
        size_t used = 0, n = 0;
        websock_event ev;
        websock_request req;
        config = websock_config_default();
        config.max_message_size = 100;
        CHECK_STATUS(websock_server_init(&c, sizeof c, &config, 0), WEBSOCK_STATUS_OK);
        CHECK_STATUS(websock_accept(&c, REQUEST, strlen(REQUEST), NULL, 0, out, sizeof out, &req),
                     WEBSOCK_STATUS_OK);
        CHECK_STATUS(RECEIVE(&c, big, sizeof big, &used, &ev), WEBSOCK_STATUS_MESSAGE_TOO_BIG);
        CHECK_STATUS(websock_poll_output(&c, out, sizeof out, &n), WEBSOCK_STATUS_OK);
        CHECK(n >= 4 && out[0] == 0x88 && out[2] == 0x03 && out[3] == 0xf1); /* 1009 */
        CHECK_STATUS(websock_conn_deinit(&c), WEBSOCK_STATUS_OK);
    }
}

static void test_deinit(void)
{
    websock_conn c;
    size_t n = 0;
    unsigned char out[16];
    open_server(&c);
    CHECK_STATUS(websock_conn_deinit(&c), WEBSOCK_STATUS_OK);
    CHECK_STATUS(websock_conn_deinit(&c), WEBSOCK_STATUS_NOT_INITIALIZED);
    CHECK_STATUS(websock_send_text(&c, "x", 1, true, out, sizeof out, &n), WEBSOCK_STATUS_NOT_INITIALIZED);
    CHECK(websock_should_close(&c));
    /* The memory can be used again. */
    open_server(&c);
    CHECK(websock_state(&c) == WEBSOCK_CONN_STATE_OPEN);
    CHECK_STATUS(websock_conn_deinit(&c), WEBSOCK_STATUS_OK);
}

/* permessage-deflate through the C API: negotiated, compressed on the
 * wire, inflated into the caller's scratch buffer; deinit frees the codec
 * (valgrind checks). */
static void test_deflate(void)
{
    static const unsigned char seed[WEBSOCK_ENTROPY_LEN] = {42};
    static char text[3000];
    websock_config config = websock_config_default();
    websock_conn client, server;
    unsigned char wire[4096], back[1024], scratch[256], got[3000];
    size_t n = 0, m = 0, used = 0, pos = 0, have = 0, i;
    websock_request req;
    websock_response resp;
    websock_event ev;
    int guard = 0, done = 0;
    for (i = 0; i < sizeof text; i++)
        text[i] = "abcabcabd "[i % 10];
    config.deflate = true;
    config.client_max_window_bits = 10;
    CHECK_STATUS(websock_client_init(&client, sizeof client, &config, 0, seed, sizeof seed), WEBSOCK_STATUS_OK);
    CHECK_STATUS(websock_server_init(&server, sizeof server, &config, 0), WEBSOCK_STATUS_OK);
    CHECK_STATUS(websock_client_request(&client, "h", 1, "/", 1, NULL, 0, wire, sizeof wire, &n),
                 WEBSOCK_STATUS_OK);
    CHECK(contains(wire, n, "Sec-WebSocket-Extensions: permessage-deflate"));
    CHECK_STATUS(websock_accept(&server, wire, n, NULL, 0, back, sizeof back, &req), WEBSOCK_STATUS_OK);
    CHECK(contains(back, req.written, "Sec-WebSocket-Extensions: permessage-deflate"));
    CHECK_STATUS(websock_client_response(&client, back, req.written, NULL, 0, &resp), WEBSOCK_STATUS_OK);
    CHECK(resp.extensions != NULL);
    CHECK(websock_compression_active(&client) && websock_compression_active(&server));
    CHECK(websock_max_frame_len(&client, sizeof text) <= sizeof wire);
    CHECK(websock_max_frame_len(&client, SIZE_MAX) == SIZE_MAX);
    CHECK_STATUS(websock_send_text(&client, text, sizeof text, true, wire, sizeof wire, &n), WEBSOCK_STATUS_OK);
    CHECK(n < sizeof text / 4);  /* repetitive text compresses */
    CHECK((wire[0] & 0x40) != 0); /* RSV1: compressed */
    /* Without scratch, a compressed message is refused and nothing used. */
    CHECK_STATUS(RECEIVE(&server, wire, n, &used, &ev), WEBSOCK_STATUS_BUFFER_TOO_SMALL);
    CHECK(used == 0);
    while (!done && guard++ < 1000) {
        CHECK_STATUS(RECEIVE_WITH(&server, wire + pos, n - pos, scratch, sizeof scratch, &used, &ev),
                     WEBSOCK_STATUS_OK);
        pos += used;
        if (ev.kind == WEBSOCK_EVENT_TYPE_TEXT) {
            CHECK(ev.data >= scratch && ev.data + ev.len <= scratch + sizeof scratch);
            CHECK(have + ev.len <= sizeof got);
            if (have + ev.len <= sizeof got)
                memcpy(got + have, ev.data, ev.len);
            have += ev.len;
            done = ev.fin;
        }
    }
    CHECK(done && have == sizeof text && memcmp(got, text, sizeof text) == 0);
    /* And back, compressed by the server. */
    CHECK_STATUS(websock_send_text(&server, "abcabcabcabc", 12, true, back, sizeof back, &m), WEBSOCK_STATUS_OK);
    CHECK((back[0] & 0x40) != 0);
    CHECK_STATUS(RECEIVE_WITH(&client, back, m, scratch, sizeof scratch, &used, &ev), WEBSOCK_STATUS_OK);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_TEXT && ev.len == 12 && memcmp(ev.data, "abcabcabcabc", 12) == 0);
    CHECK_STATUS(websock_conn_deinit(&client), WEBSOCK_STATUS_OK);
    CHECK_STATUS(websock_conn_deinit(&server), WEBSOCK_STATUS_OK);
}

static void test_bad_arguments(void)
{
    static uint64_t storage[WEBSOCK_CONN_WORDS + 1];
    websock_conn zeroed;
    websock_conn *misaligned = (websock_conn *)((unsigned char *)storage + 1);
    unsigned char buf[64];
    size_t n = 0;
    websock_event ev;
    memset(&zeroed, 0, sizeof zeroed);
    CHECK_STATUS(websock_server_init(NULL, sizeof zeroed, NULL, 0), WEBSOCK_STATUS_NULL_POINTER);
    CHECK_STATUS(websock_server_init(misaligned, sizeof zeroed, NULL, 0), WEBSOCK_STATUS_MISALIGNED);
    CHECK_STATUS(websock_server_init(&zeroed, websock_conn_size() - 1, NULL, 0),
                 WEBSOCK_STATUS_CONN_TOO_SMALL);
    /* Never initialised: every call refuses it. */
    CHECK_STATUS(RECEIVE(&zeroed, buf, sizeof buf, &n, &ev), WEBSOCK_STATUS_NOT_INITIALIZED);
    CHECK_STATUS(websock_send_text(&zeroed, "x", 1, true, buf, sizeof buf, &n),
                 WEBSOCK_STATUS_NOT_INITIALIZED);
    CHECK(websock_should_close(&zeroed));
    CHECK(websock_state(&zeroed) == WEBSOCK_CONN_STATE_FAILED);
    CHECK(websock_deadline(NULL) == WEBSOCK_NO_DEADLINE);
    CHECK(!websock_has_output(NULL));
    CHECK_STATUS(websock_tick(NULL, 5), WEBSOCK_STATUS_NULL_POINTER);

    open_server(&zeroed);
    CHECK_STATUS(RECEIVE(&zeroed, NULL, 4, &n, &ev), WEBSOCK_STATUS_NULL_POINTER);
    CHECK_STATUS(websock_receive(&zeroed, buf, sizeof buf, pong_out, sizeof pong_out, NULL, &pong_len,
                                 &ev),
                 WEBSOCK_STATUS_NULL_POINTER);
    CHECK_STATUS(websock_receive(&zeroed, buf, sizeof buf, pong_out, sizeof pong_out, &n, NULL, &ev),
                 WEBSOCK_STATUS_NULL_POINTER);
    CHECK_STATUS(websock_receive(&zeroed, buf, sizeof buf, buf + 4, 8, &n, &pong_len, &ev),
                 WEBSOCK_STATUS_INVALID_ARGUMENT); /* output overlapping input */
    CHECK_STATUS(RECEIVE(&zeroed, buf, sizeof buf, &n, NULL), WEBSOCK_STATUS_NULL_POINTER);
    CHECK_STATUS(RECEIVE(&zeroed, buf, SIZE_MAX, &n, &ev), WEBSOCK_STATUS_INVALID_ARGUMENT);
    /* Output overlapping the payload, or the connection itself. */
    CHECK_STATUS(websock_send_text(&zeroed, buf, 8, true, buf + 4, 32, &n),
                 WEBSOCK_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(websock_send_text(&zeroed, "x", 1, true, (unsigned char *)&zeroed + 8, 32, &n),
                 WEBSOCK_STATUS_INVALID_ARGUMENT);
    /* Empty with NULL is fine. */
    CHECK_STATUS(RECEIVE(&zeroed, NULL, 0, &n, &ev), WEBSOCK_STATUS_OK);
    CHECK(n == 0 && ev.kind == WEBSOCK_EVENT_TYPE_NONE);
}

static void test_server_handshake(void)
{
    websock_conn c;
    unsigned char out[512];
    websock_request req;
    const websock_str protocols[] = {WEBSOCK_STR("chat"), WEBSOCK_STR("other")};
    CHECK_STATUS(websock_server_init(&c, sizeof c, NULL, 1000), WEBSOCK_STATUS_OK);
    CHECK(websock_state(&c) == WEBSOCK_CONN_STATE_AWAITING_REQUEST);
    CHECK(websock_deadline(&c) == 1000 + 10000);
    /* Half a request: more is needed. */
    CHECK_STATUS(websock_accept(&c, REQUEST, 40, protocols, 2, out, sizeof out, &req),
                 WEBSOCK_STATUS_INCOMPLETE);
    /* The output buffer is too small: the size needed comes back. */
    CHECK_STATUS(websock_accept(&c, REQUEST, strlen(REQUEST), protocols, 2, out, 16, &req),
                 WEBSOCK_STATUS_BUFFER_TOO_SMALL);
    CHECK(req.written > 16 && req.written <= sizeof out);
    CHECK_STATUS(websock_accept(&c, REQUEST, strlen(REQUEST), protocols, 2, out, sizeof out, &req),
                 WEBSOCK_STATUS_OK);
    CHECK(req.consumed == strlen(REQUEST));
    CHECK(contains(out, req.written, "HTTP/1.1 101"));
    CHECK(contains(out, req.written, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    CHECK(contains(out, req.written, "Sec-WebSocket-Protocol: chat"));
    CHECK(req.protocol == 0);
    CHECK(req.path_len == 5 && memcmp(req.path, "/chat", 5) == 0);
    CHECK(req.host_len == 18 && memcmp(req.host, "server.example.com", 18) == 0);
    CHECK(req.origin == NULL && req.origin_len == 0);
    /* The path borrows the input. */
    CHECK(req.path >= REQUEST && req.path < REQUEST + strlen(REQUEST));
    CHECK(websock_state(&c) == WEBSOCK_CONN_STATE_OPEN);
    CHECK(websock_deadline(&c) == WEBSOCK_NO_DEADLINE);
    CHECK_STATUS(websock_accept(&c, REQUEST, strlen(REQUEST), NULL, 0, out, sizeof out, &req),
                 WEBSOCK_STATUS_INVALID_STATE);
}

static void test_refused_handshake(void)
{
    static const char bad[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
    websock_conn c;
    unsigned char out[512];
    websock_request req;
    CHECK_STATUS(websock_server_init(&c, sizeof c, NULL, 0), WEBSOCK_STATUS_OK);
    CHECK_STATUS(websock_accept(&c, bad, strlen(bad), NULL, 0, out, sizeof out, &req),
                 WEBSOCK_STATUS_HANDSHAKE_NOT_UPGRADE);
    CHECK(contains(out, req.written, "HTTP/1.1 426"));
    CHECK(contains(out, req.written, "Sec-WebSocket-Version: 13"));
    CHECK(websock_should_close(&c));
}

static void test_timeout(void)
{
    websock_conn c;
    CHECK_STATUS(websock_server_init(&c, sizeof c, NULL, 500), WEBSOCK_STATUS_OK);
    CHECK_STATUS(websock_tick(&c, 10499), WEBSOCK_STATUS_OK);
    CHECK(!websock_should_close(&c));
    CHECK_STATUS(websock_tick(&c, 10500), WEBSOCK_STATUS_OK);
    CHECK(websock_should_close(&c));
    CHECK(websock_state(&c) == WEBSOCK_CONN_STATE_FAILED);
}

static void test_receive(void)
{
    /* RFC 6455 section 5.7: a masked "Hello", then "Hel" + "lo" fragments
     * (masked here), then a masked ping "Hello". */
    unsigned char wire[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
                            0x01, 0x83, 0x00, 0x00, 0x00, 0x00, 'H',  'e',  'l',
                            0x80, 0x82, 0x00, 0x00, 0x00, 0x00, 'l',  'o',
                            0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    websock_conn c;
    websock_event ev;
    unsigned char out[256];
    size_t used = 0, pos = 0, n = 0;
    open_server(&c);
    CHECK_STATUS(RECEIVE(&c, wire, sizeof wire, &used, &ev), WEBSOCK_STATUS_OK);
    CHECK(used == 11);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_TEXT && ev.fin && ev.len == 5);
    CHECK(memcmp(ev.data, "Hello", 5) == 0);
    /* Zero copy: the chunk is the caller's buffer, unmasked in place. */
    CHECK(ev.data == wire + 6);
    pos += used;
    CHECK_STATUS(RECEIVE(&c, wire + pos, sizeof wire - pos, &used, &ev), WEBSOCK_STATUS_OK);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_TEXT && !ev.fin && ev.len == 3);
    pos += used;
    CHECK_STATUS(RECEIVE(&c, wire + pos, sizeof wire - pos, &used, &ev), WEBSOCK_STATUS_OK);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_TEXT && ev.fin && ev.len == 2 && memcmp(ev.data, "lo", 2) == 0);
    pos += used;
    /* The ping, with no room for its pong: left unread, still masked. */
    CHECK_STATUS(websock_receive(&c, wire + pos, sizeof wire - pos, out, 3, &used, &n, &ev),
                 WEBSOCK_STATUS_OK);
    CHECK(used == 0 && n == 0 && ev.kind == WEBSOCK_EVENT_TYPE_NONE && wire[pos + 6] == 0x7f);
    /* With room: the pong is written in the same call. */
    CHECK_STATUS(websock_receive(&c, wire + pos, sizeof wire - pos, out, sizeof out, &used, &n, &ev),
                 WEBSOCK_STATUS_OK);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_PING && ev.len == 5 && memcmp(ev.data, "Hello", 5) == 0);
    CHECK(ev.data == wire + pos + 6); /* the payload, in place */
    CHECK(n == 7 && out[0] == 0x8a && out[1] == 0x05 && memcmp(out + 2, "Hello", 5) == 0);
    pos += used;
    CHECK(pos == sizeof wire);
    CHECK(!websock_has_output(&c));
}

static void test_one_byte_at_a_time(void)
{
    unsigned char wire[] = {0x82, 0x84, 0x01, 0x02, 0x03, 0x04, 0x01 ^ 9, 0x02 ^ 8, 0x03 ^ 7, 0x04 ^ 6};
    unsigned char got[4];
    size_t have = 0, i, start = 0;
    int ended = 0;
    websock_conn c;
    open_server(&c);
    /* Bytes arrive one at a time; what is not consumed is presented again
     * with the next byte (a header is taken once whole). */
    for (i = 0; i < sizeof wire; i++) {
        websock_event ev;
        size_t used = 0;
        CHECK_STATUS(RECEIVE(&c, wire + start, i + 1 - start, &used, &ev), WEBSOCK_STATUS_OK);
        CHECK(used == (i < 5 ? 0 : i + 1 - start));
        start += used;
        if (ev.kind == WEBSOCK_EVENT_TYPE_BINARY) {
            CHECK(have + ev.len <= sizeof got);
            if (have + ev.len <= sizeof got)
                memcpy(got + have, ev.data, ev.len);
            have += ev.len;
            ended = ev.fin;
        }
    }
    CHECK(ended && have == 4 && got[0] == 9 && got[1] == 8 && got[2] == 7 && got[3] == 6);
}

static void test_send(void)
{
    websock_conn c;
    unsigned char out[256];
    size_t n = 0;
    char big[126];
    open_server(&c);
    CHECK_STATUS(websock_send_text(&c, "Hello", 5, true, out, sizeof out, &n), WEBSOCK_STATUS_OK);
    CHECK(n == 7 && out[0] == 0x81 && out[1] == 0x05 && memcmp(out + 2, "Hello", 5) == 0);
    CHECK_STATUS(websock_send_text(&c, "Hello", 5, true, out, 6, &n), WEBSOCK_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 7);
    /* Fragments: the first sets the kind, the rest are continuations. */
    CHECK_STATUS(websock_send_binary(&c, "Hel", 3, false, out, sizeof out, &n), WEBSOCK_STATUS_OK);
    CHECK(n == 5 && out[0] == 0x02);
    CHECK_STATUS(websock_ping(&c, "p", 1, out, sizeof out, &n), WEBSOCK_STATUS_OK);
    CHECK(n == 3 && out[0] == 0x89);
    CHECK_STATUS(websock_send_binary(&c, "lo", 2, true, out, sizeof out, &n), WEBSOCK_STATUS_OK);
    CHECK(n == 4 && out[0] == 0x80);
    memset(big, 'a', sizeof big);
    CHECK_STATUS(websock_ping(&c, big, sizeof big, out, sizeof out, &n), WEBSOCK_STATUS_CONTROL_TOO_LONG);
    CHECK_STATUS(websock_pong(&c, big, 125, out, sizeof out, &n), WEBSOCK_STATUS_OK);
    CHECK(n == 127 && out[0] == 0x8a);
    CHECK_STATUS(websock_close(&c, 1005, NULL, 0, out, sizeof out, &n), WEBSOCK_STATUS_INVALID_CLOSE_CODE);
    CHECK_STATUS(websock_close(&c, 1000, "\xff", 1, out, sizeof out, &n), WEBSOCK_STATUS_NOT_UTF8);
    CHECK_STATUS(websock_close(&c, 1000, big, 124, out, sizeof out, &n), WEBSOCK_STATUS_CONTROL_TOO_LONG);
    CHECK_STATUS(websock_close(&c, 4000, "done", 4, out, sizeof out, &n), WEBSOCK_STATUS_OK);
    CHECK(n == 8 && out[0] == 0x88 && out[2] == 0x0f && out[3] == 0xa0);
    CHECK(websock_state(&c) == WEBSOCK_CONN_STATE_CLOSE_SENT);
    CHECK(websock_deadline(&c) == 5000);
    CHECK_STATUS(websock_send_text(&c, "x", 1, true, out, sizeof out, &n), WEBSOCK_STATUS_INVALID_STATE);
}

static void test_protocol_violation(void)
{
    /* An unmasked frame from a client (section 5.1). */
    unsigned char wire[] = {0x81, 0x02, 'h', 'i'};
    websock_conn c;
    websock_event ev;
    unsigned char out[256];
    size_t used = 0, n = 0;
    open_server(&c);
    CHECK_STATUS(RECEIVE(&c, wire, sizeof wire, &used, &ev), WEBSOCK_STATUS_UNMASKED_FRAME);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_NONE);
    CHECK(!websock_should_close(&c)); /* the close frame is not written yet */
    CHECK_STATUS(websock_poll_output(&c, out, sizeof out, &n), WEBSOCK_STATUS_OK);
    CHECK(n >= 4 && out[0] == 0x88 && out[2] == 0x03 && out[3] == 0xea); /* 1002 */
    CHECK(websock_should_close(&c));
}

static void test_closing_handshake(void)
{
    /* A masked close 1000 "ok" from the client (mask 0). */
    unsigned char wire[] = {0x88, 0x84, 0, 0, 0, 0, 0x03, 0xe8, 'o', 'k'};
    websock_conn c;
    websock_event ev;
    websock_closure closure;
    unsigned char out[256];
    size_t used = 0, n = 0;
    open_server(&c);
    CHECK_STATUS(RECEIVE(&c, wire, sizeof wire, &used, &ev), WEBSOCK_STATUS_OK);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_CLOSE && ev.close_code == 1000);
    CHECK(ev.len == 2 && memcmp(ev.data, "ok", 2) == 0);
    CHECK(websock_state(&c) == WEBSOCK_CONN_STATE_CLOSE_RECEIVED);
    CHECK_STATUS(websock_poll_output(&c, out, sizeof out, &n), WEBSOCK_STATUS_OK);
    CHECK(n == 4 && out[0] == 0x88 && out[1] == 0x02 && out[2] == 0x03 && out[3] == 0xe8);
    CHECK(websock_state(&c) == WEBSOCK_CONN_STATE_CLOSED);
    /* The server closes the transport first (section 7.1.1). */
    CHECK(websock_should_close(&c));
    CHECK_STATUS(websock_transport_closed(&c, &closure), WEBSOCK_STATUS_OK);
    CHECK(closure.clean && closure.code == 1000);
    CHECK_STATUS(websock_transport_closed(&c, NULL), WEBSOCK_STATUS_OK);
}

/* A client and a server wired together through the C API. */
static void test_client_and_server(void)
{
    static const unsigned char seed[WEBSOCK_ENTROPY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const websock_str offer[] = {WEBSOCK_STR("v2.proto"), WEBSOCK_STR("chat")};
    const websock_str speak[] = {WEBSOCK_STR("chat")};
    websock_conn *client = malloc(sizeof *client);
    websock_conn server;
    unsigned char wire[1024], back[1024];
    size_t n = 0, m = 0, used = 0;
    websock_request req;
    websock_response resp;
    websock_event ev;
    if (client == NULL) {
        failures++;
        return;
    }
    CHECK_STATUS(websock_client_init(client, websock_conn_size(), NULL, 0, seed, 16),
                 WEBSOCK_STATUS_BAD_ENTROPY);
    CHECK_STATUS(websock_client_init(client, websock_conn_size(), NULL, 0, seed, sizeof seed),
                 WEBSOCK_STATUS_OK);
    CHECK_STATUS(websock_client_request(client, "localhost:9001", 14, "/x?y=1", 6, offer, 2, wire, 10, &n),
                 WEBSOCK_STATUS_BUFFER_TOO_SMALL);
    CHECK(n > 10);
    CHECK_STATUS(websock_client_request(client, "localhost:9001", 14, "/x?y=1", 6, offer, 2, wire,
                                        sizeof wire, &n),
                 WEBSOCK_STATUS_OK);
    CHECK(contains(wire, n, "GET /x?y=1 HTTP/1.1\r\n") && contains(wire, n, "Host: localhost:9001\r\n"));
    CHECK_STATUS(websock_server_init(&server, sizeof server, NULL, 0), WEBSOCK_STATUS_OK);
    CHECK_STATUS(websock_accept(&server, wire, n, speak, 1, back, sizeof back, &req), WEBSOCK_STATUS_OK);
    CHECK(req.protocol == 0);
    /* The response, delivered in two pieces. */
    CHECK_STATUS(websock_client_response(client, back, req.written - 5, offer, 2, &resp),
                 WEBSOCK_STATUS_INCOMPLETE);
    CHECK_STATUS(websock_client_response(client, back, req.written, offer, 2, &resp), WEBSOCK_STATUS_OK);
    CHECK(resp.consumed == req.written && resp.http_status == 101 && resp.protocol == 1);
    CHECK(resp.extensions == NULL);
    /* Client to server: masked on the wire, plain after receive. */
    CHECK_STATUS(websock_send_text(client, "ping me", 7, true, wire, sizeof wire, &n), WEBSOCK_STATUS_OK);
    CHECK(n == 13 && (wire[1] & 0x80));
    CHECK_STATUS(RECEIVE(&server, wire, n, &used, &ev), WEBSOCK_STATUS_OK);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_TEXT && ev.fin && ev.len == 7 && memcmp(ev.data, "ping me", 7) == 0);
    /* Server to client, then the closing handshake started by the client. */
    CHECK_STATUS(websock_send_binary(&server, "\x00\x01", 2, true, back, sizeof back, &m), WEBSOCK_STATUS_OK);
    CHECK_STATUS(RECEIVE(client, back, m, &used, &ev), WEBSOCK_STATUS_OK);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_BINARY && ev.len == 2 && ev.data[1] == 1);
    CHECK_STATUS(websock_close(client, 1000, "bye", 3, wire, sizeof wire, &n), WEBSOCK_STATUS_OK);
    CHECK_STATUS(RECEIVE(&server, wire, n, &used, &ev), WEBSOCK_STATUS_OK);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_CLOSE && ev.close_code == 1000);
    CHECK_STATUS(websock_poll_output(&server, back, sizeof back, &m), WEBSOCK_STATUS_OK);
    CHECK(websock_should_close(&server));
    CHECK_STATUS(RECEIVE(client, back, m, &used, &ev), WEBSOCK_STATUS_OK);
    CHECK(ev.kind == WEBSOCK_EVENT_TYPE_CLOSE && ev.close_code == 1000);
    /* The client waits for the server to drop TCP, up to the close timeout. */
    CHECK(websock_state(client) == WEBSOCK_CONN_STATE_CLOSED && !websock_should_close(client));
    CHECK(websock_deadline(client) == 5000);
    CHECK_STATUS(websock_tick(client, 5000), WEBSOCK_STATUS_OK);
    CHECK(websock_should_close(client));
    free(client);
}

int main(void)
{
    test_version_and_sizes();
    test_config();
    test_deinit();
    test_deflate();
    test_bad_arguments();
    test_server_handshake();
    test_refused_handshake();
    test_timeout();
    test_receive();
    test_one_byte_at_a_time();
    test_send();
    test_protocol_violation();
    test_closing_handshake();
    test_client_and_server();
    if (failures != 0) {
        fprintf(stderr, "api_test: %d checks failed\n", failures);
        return 1;
    }
    printf("api_test: all checks passed\n");
    return 0;
}

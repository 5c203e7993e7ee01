/*
 * ws_echo on a Cortex-M4 (QEMU's mps2-an386), with a scripted client as
 * its transport: the RFC 6455 upgrade request, a masked "Hello" (section
 * 5.7), a 700-byte binary message in two fragments with a ping between
 * them, and a close (1000, "bye"), handed over a few bytes at a time so
 * that requests and frames arrive split everywhere. It then parses what
 * the server wrote and checks every byte of it, prints the figures through
 * semihosting, and exits QEMU with 0 only when all matched.
 *
 * Everything is static memory; the program links with -nostdlib.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "websock.h"
#include "ws_echo.h"

/* Semihosting (ARM DUI 0471): SYS_WRITE0 prints a NUL-terminated string,
 * SYS_EXIT ends QEMU (application exit: status 0, else 1). */
static void semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

static void print(const char *s)
{
    semihost(0x04, s);
}

static void print_num(const char *label, unsigned long v)
{
    char buf[24];
    int i = (int)sizeof buf - 1;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && i > 0);
    print(label);
    print(buf + i);
    print("\n");
}

static void exit_qemu(bool ok)
{
    /* ADP_Stopped_ApplicationExit, or ADP_Stopped_InternalError. */
    semihost(0x18, (const void *)(uintptr_t)(ok ? 0x20026u : 0x20024u));
    for (;;)
        ;
}

/* ---- the scripted client ---------------------------------------------- */

static const char request[] = "GET /chat HTTP/1.1\r\n"
                              "Host: server.example.com\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n"
                              "\r\n";
/* The accept value for that key, from RFC 6455 section 1.3. */
static const char accept_value[] = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

#define BINARY_LEN 700
#define FIRST_FRAGMENT 300

static uint8_t script[2048];
static size_t script_len, script_pos;
static uint8_t written[4096];
static size_t written_len;
static bool overflow;
static uint64_t clock_ms;

static void put(const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i;
    for (i = 0; i < n && script_len < sizeof script; i++)
        script[script_len++] = b[i];
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 7 + 3);
}

/* A client frame: masked, as section 5.3 requires. */
static void frame(uint8_t first, const uint8_t *payload, size_t len)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t head[4];
    size_t i, n = 0;
    head[n++] = first;
    if (len < 126) {
        head[n++] = (uint8_t)(0x80 | len);
    } else {
        head[n++] = 0x80 | 126;
        head[n++] = (uint8_t)(len >> 8);
        head[n++] = (uint8_t)len;
    }
    put(head, n);
    put(key, 4);
    for (i = 0; i < len; i++) {
        uint8_t b = (uint8_t)(payload[i] ^ key[i % 4]);
        put(&b, 1);
    }
}

static void build_script(void)
{
    static uint8_t data[BINARY_LEN];
    static const uint8_t bye[] = {0x03, 0xe8, 'b', 'y', 'e'};
    size_t i;
    for (i = 0; i < BINARY_LEN; i++)
        data[i] = pattern(i);
    put(request, sizeof request - 1);
    frame(0x81, (const uint8_t *)"Hello", 5);
    frame(0x02, data, FIRST_FRAGMENT);                           /* binary, not final */
    frame(0x89, (const uint8_t *)"p", 1);                        /* ping in between */
    frame(0x80, data + FIRST_FRAGMENT, BINARY_LEN - FIRST_FRAGMENT); /* continuation, final */
    frame(0x88, bye, sizeof bye);
}

/* Hands the script over in pieces of 1 to 61 bytes. */
static long script_read(void *ctx, uint8_t *buf, size_t cap)
{
    static unsigned piece = 1;
    size_t n = 0;
    (void)ctx;
    if (script_pos == script_len)
        return -1;
    piece = (piece * 13 + 5) % 61 + 1;
    while (n < cap && n < piece && script_pos < script_len)
        buf[n++] = script[script_pos++];
    return (long)n;
}

static int capture_write(void *ctx, const uint8_t *buf, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) {
        if (written_len == sizeof written) {
            overflow = true;
            return -1;
        }
        written[written_len++] = buf[i];
    }
    return 0;
}

static uint64_t tick_ms(void *ctx)
{
    (void)ctx;
    return clock_ms += 1;
}

/* ---- checking what the server wrote ------------------------------------ */

static bool starts_with(const uint8_t *p, size_t len, const char *s)
{
    size_t i;
    for (i = 0; s[i] != '\0'; i++)
        if (i >= len || p[i] != (uint8_t)s[i])
            return false;
    return true;
}

static bool contains(const uint8_t *p, size_t len, const char *s)
{
    size_t i;
    for (i = 0; i < len; i++)
        if (starts_with(p + i, len - i, s))
            return true;
    return false;
}

static size_t header_end(const uint8_t *p, size_t len)
{
    size_t i;
    for (i = 0; i + 4 <= len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return i + 4;
    return 0;
}

/* Walks the server's frames (unmasked) and checks the echoed messages,
 * the pong and the close reply. */
static bool check_frames(const uint8_t *p, size_t len)
{
    uint8_t text[8];
    size_t text_len = 0, binary_len = 0, pos = 0;
    int message = 0; /* 0 none, 1 text, 2 binary */
    bool pong = false, closed = false, binary_ok = true;
    while (pos + 2 <= len) {
        uint8_t op = p[pos] & 0x0f, fin = p[pos] >> 7;
        size_t n = p[pos + 1] & 0x7f, i;
        if (p[pos + 1] & 0x80)
            return false; /* a server never masks */
        pos += 2;
        if (n == 126) {
            if (pos + 2 > len)
                return false;
            n = (size_t)p[pos] << 8 | p[pos + 1];
            pos += 2;
        } else if (n == 127) {
            return false;
        }
        if (pos + n > len)
            return false;
        if (op == 0x1 || (op == 0x0 && message == 1)) {
            message = 1;
            for (i = 0; i < n; i++)
                if (text_len < sizeof text)
                    text[text_len++] = p[pos + i];
        } else if (op == 0x2 || (op == 0x0 && message == 2)) {
            message = 2;
            for (i = 0; i < n; i++, binary_len++)
                if (binary_len >= BINARY_LEN || p[pos + i] != pattern(binary_len))
                    binary_ok = false;
        } else if (op == 0xa) {
            pong = n == 1 && p[pos] == 'p';
        } else if (op == 0x8) {
            closed = n >= 2 && p[pos] == 0x03 && p[pos + 1] == 0xe8;
        } else {
            return false;
        }
        if (op <= 0x2 && fin)
            message = 0;
        pos += n;
    }
    print_num("echoed text bytes ", text_len);
    print_num("echoed binary bytes ", binary_len);
    return pos == len && text_len == 5 && starts_with(text, 5, "Hello") && binary_ok &&
           binary_len == BINARY_LEN && pong && closed;
}

static struct ws_echo server; /* all of the connection's memory */

int main(void)
{
    static const struct ws_transport transport = {NULL, script_read, capture_write, tick_ms};
    websock_closure how;
    size_t head;
    int st;
    bool ok;

    build_script();
    st = ws_echo_run(&server, &transport, &how);
    head = header_end(written, written_len);
    ok = st == WEBSOCK_STATUS_OK && !overflow && head > 0 &&
         starts_with(written, head, "HTTP/1.1 101") && contains(written, head, accept_value) &&
         check_frames(written + head, written_len - head) && how.clean && how.code == 1000;
    print_num("websock_conn_size ", websock_conn_size());
    print_num("sizeof(struct ws_echo) ", sizeof server);
    print_num("client bytes in ", script_len);
    print_num("server bytes out ", written_len);
    print_num("status ", (unsigned long)st);
    print_num("closure code ", how.code);
    print(ok ? "bare-metal echo ok\n" : "bare-metal echo FAILED\n");
    exit_qemu(ok);
    return 0;
}

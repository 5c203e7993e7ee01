// include/websock.h from C++: it must compile warning-free under
// -Wall -Wextra -Werror -pedantic, link (extern "C"), and work. Built with
// WEBSOCK_HAVE_ALLOC so the heap conveniences are declared and used too.
#include "websock.h"
#include "websock.h" // the include guard makes a second inclusion harmless

#include <cstdio>
#include <cstdint>
#include <cstring>

static const char request[] =
    "GET / HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

int main()
{
    websock_conn *conn = websock_conn_new();
    if (conn == nullptr)
        return 1;
    int failed = 0;
    unsigned char out[512];
    websock_request req;
    const websock_str protocols[] = {WEBSOCK_STR("chat")};
    websock_config config = websock_config_default();
    config.max_message_size = 1024;
    if (websock_server_init(conn, websock_conn_size(), &config, 0) != WEBSOCK_STATUS_OK ||
        websock_accept(conn, request, sizeof request - 1, protocols, 1, out, sizeof out, &req) !=
            WEBSOCK_STATUS_OK ||
        req.protocol != -1)
        failed = 1;
    // A masked "Hello" (RFC 6455 section 5.7), echoed back unmasked.
    unsigned char frame[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    size_t used = 0, written = 0, pong = 0;
    unsigned char pong_out[WEBSOCK_MAX_CONTROL_FRAME];
    websock_event ev;
    if (websock_receive(conn, frame, sizeof frame, pong_out, sizeof pong_out, &used, &pong, &ev) !=
            WEBSOCK_STATUS_OK ||
        ev.kind != WEBSOCK_EVENT_TYPE_TEXT || !ev.fin ||
        websock_send_text(conn, ev.data, ev.len, ev.fin, out, sizeof out, &written) !=
            WEBSOCK_STATUS_OK ||
        written != 7 || std::memcmp(out + 2, "Hello", 5) != 0)
        failed = 1;
    // Over the configured limit: 1009 as soon as the header says so.
    unsigned char big[] = {0x82, 0xFE, 0x10, 0x00, 0, 0, 0, 0};
    if (websock_receive(conn, big, sizeof big, pong_out, sizeof pong_out, &used, &pong, &ev) !=
        WEBSOCK_STATUS_MESSAGE_TOO_BIG)
        failed = 1;
    websock_conn_free(conn);
    void *block = websock_alloc(100);
    if (block == nullptr || reinterpret_cast<std::uintptr_t>(block) % WEBSOCK_ALLOC_ALIGN != 0)
        failed = 1;
    websock_free(block, 100);
    std::printf("header_cxx: %s (libwebsock %s)\n", failed ? "FAILED" : "ok", websock_version());
    return failed;
}

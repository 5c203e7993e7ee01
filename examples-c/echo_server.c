/*
 * echo_server PORT [--deflate]
 *
 * A WebSocket echo server on 127.0.0.1:PORT: many connections on one
 * thread with poll(), each echoed as a stream (every chunk the engine
 * hands over goes straight back as a fragment, so a message of any size
 * passes through fixed buffers). Connections end with a lingering close.
 * --deflate accepts permessage-deflate (RFC 7692) offers. SIGINT or
 * SIGTERM stops it cleanly: every socket closed, every byte of memory
 * freed.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_io.h"
#include "websock.h"

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static int install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: poll() must return EINTR so the loop sees `stopping`. */
    sa.sa_handler = on_signal;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

static int listen_on(unsigned short port)
{
    struct sockaddr_in addr;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 128) != 0 ||
        io_set_nonblocking(fd) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The live connections. */
struct server {
    websock_config config;
    struct conn_io **conns;
    size_t count, cap;
    struct pollfd *fds; /* [0] is the listener, then one per connection */
    size_t fds_cap;
};

static int add_connection(struct server *s, int fd, uint64_t now)
{
    struct conn_io *io;
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct conn_io **grown = realloc(s->conns, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        s->conns = grown;
        s->cap = cap;
    }
    io = calloc(1, sizeof *io);
    if (io == NULL)
        return -1;
    if (io_start_server(io, fd, now, &s->config) != 0) {
        io_free(io);
        free(io);
        return -1;
    }
    s->conns[s->count++] = io;
    return 0;
}

static void accept_all(struct server *s, int listener, uint64_t now)
{
    for (;;) {
        int one = 1;
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            /* EAGAIN: all taken. EMFILE and the like: try again later. */
            return;
        }
        /* Small frames (pongs, close replies) should not wait for Nagle. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (io_set_nonblocking(fd) != 0 || add_connection(s, fd, now) != 0)
            close(fd);
    }
}

/* Drops connections whose socket is closed, keeping the order of others. */
static void sweep(struct server *s)
{
    size_t kept = 0, i;
    for (i = 0; i < s->count; i++) {
        if (s->conns[i]->phase == IO_DONE) {
            io_free(s->conns[i]);
            free(s->conns[i]);
        } else {
            s->conns[kept++] = s->conns[i];
        }
    }
    s->count = kept;
}

/* poll()'s timeout for the earliest deadline, or -1 for none. */
static int poll_timeout(const struct server *s, uint64_t now)
{
    uint64_t earliest = WEBSOCK_NO_DEADLINE;
    size_t i;
    for (i = 0; i < s->count; i++) {
        uint64_t d = io_deadline(s->conns[i]);
        if (d < earliest)
            earliest = d;
    }
    if (earliest == WEBSOCK_NO_DEADLINE)
        return -1;
    if (earliest <= now)
        return 0;
    /* Round up so the deadline has passed when poll() returns. */
    return earliest - now > 60000 ? 60000 : (int)(earliest - now) + 1;
}

static int serve(int listener, const websock_config *config)
{
    struct server s;
    int result = 0;
    size_t i;
    memset(&s, 0, sizeof s);
    s.config = *config;
    while (!stopping) {
        size_t polled = s.count;
        int n;
        uint64_t now;
        if (s.fds_cap < polled + 1) {
            struct pollfd *grown = realloc(s.fds, (polled + 1) * sizeof *grown);
            if (grown == NULL) {
                result = -1;
                break;
            }
            s.fds = grown;
            s.fds_cap = polled + 1;
        }
        s.fds[0].fd = listener;
        s.fds[0].events = POLLIN;
        s.fds[0].revents = 0;
        for (i = 0; i < polled; i++) {
            s.fds[i + 1].fd = s.conns[i]->fd;
            s.fds[i + 1].events = io_poll_events(s.conns[i]);
            s.fds[i + 1].revents = 0;
        }
        n = poll(s.fds, polled + 1, poll_timeout(&s, io_now_ms()));
        if (n < 0 && errno != EINTR) {
            perror("poll");
            result = -1;
            break;
        }
        now = io_now_ms();
        /* Every connection steps, not only those with socket events: time
         * may have passed one of their deadlines. */
        for (i = 0; i < polled; i++)
            io_step(s.conns[i], n > 0 ? s.fds[i + 1].revents : 0, now, io_echo, NULL);
        if (n > 0 && (s.fds[0].revents & POLLIN))
            accept_all(&s, listener, now);
        sweep(&s);
    }
    for (i = 0; i < s.count; i++) {
        io_abort(s.conns[i]);
        io_free(s.conns[i]);
        free(s.conns[i]);
    }
    free(s.conns);
    free(s.fds);
    return result;
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long port;
    int listener, result;
    websock_config config = websock_config_default();
    if (argc == 3 && strcmp(argv[2], "--deflate") == 0)
        config.deflate = true;
    else if (argc != 2) {
        fprintf(stderr, "usage: %s PORT [--deflate]\n", argv[0]);
        return 2;
    }
    port = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "%s: bad port '%s'\n", argv[0], argv[1]);
        return 2;
    }
    if (install_signals() != 0) {
        perror("sigaction");
        return 1;
    }
    listener = listen_on((unsigned short)port);
    if (listener < 0) {
        perror("listen");
        return 1;
    }
    fprintf(stderr,
            "echo_server (libwebsock %s): ws://127.0.0.1:%ld/, %lu bytes per connection "
            "(engine %lu, input %lu, output %lu growing up to %lu)\n",
            websock_version(), port, (unsigned long)(sizeof(struct conn_io) + IO_OUT_BASE),
            (unsigned long)websock_conn_size(), (unsigned long)IO_IN_CAP,
            (unsigned long)IO_OUT_BASE, (unsigned long)IO_HIGH_WATER);
    result = serve(listener, &config);
    close(listener);
    return result == 0 ? 0 : 1;
}

/*
 * client [--deflate] URL
 *     A terminal client: each line of standard input goes out as a text
 *     message (a line longer than the buffer as fragments of one message),
 *     each message received is printed on standard output. End of input
 *     starts the closing handshake.
 *
 * client [--deflate] --autobahn URL [--agent NAME]
 *     The Autobahn test suite's client driver: asks URL/getCaseCount, runs
 *     every case as URL/runCase?case=N&agent=NAME (echoing each message as
 *     a stream), then asks URL/updateReports?agent=NAME.
 *
 * --deflate offers permessage-deflate (RFC 7692) on every connection.
 * URL is ws://HOST[:PORT][/PATH]. Exit status 0 when every connection
 * ended with a closing handshake (terminal mode) or every case ran
 * (driver mode).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
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

/* Gives up on a connection that has not finished after this long. */
#define SESSION_LIMIT_MS (120 * 1000)
#define CONNECT_TIMEOUT_MS 10000

static volatile sig_atomic_t stopping = 0;

/* Every connection's settings: the defaults, plus --deflate. */
static websock_config config;

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
    sa.sa_handler = on_signal;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

/* A parsed ws:// URL. */
struct url {
    char host[256];      /* for getaddrinfo, without brackets */
    char port[8];
    char authority[300]; /* for the Host header: as written in the URL */
    char path[1024];
};

static int parse_url(const char *text, struct url *u)
{
    const char *rest, *slash, *colon, *host_end;
    size_t host_len, auth_len;
    if (strncmp(text, "ws://", 5) != 0)
        return -1;
    rest = text + 5;
    slash = strchr(rest, '/');
    auth_len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (auth_len == 0 || auth_len >= sizeof u->authority)
        return -1;
    memcpy(u->authority, rest, auth_len);
    u->authority[auth_len] = '\0';
    if (strlen(slash ? slash : "/") >= sizeof u->path)
        return -1;
    strcpy(u->path, slash ? slash : "/");
    if (u->authority[0] == '[') {
        /* An IPv6 literal: [::1]:9001 */
        host_end = strchr(u->authority, ']');
        if (host_end == NULL)
            return -1;
        host_len = (size_t)(host_end - u->authority) - 1;
        memcpy(u->host, u->authority + 1, host_len);
        colon = host_end[1] == ':' ? host_end + 1 : NULL;
        if (host_end[1] != '\0' && colon == NULL)
            return -1;
    } else {
        colon = strchr(u->authority, ':');
        host_len = colon ? (size_t)(colon - u->authority) : auth_len;
        memcpy(u->host, u->authority, host_len);
    }
    u->host[host_len] = '\0';
    if (host_len == 0)
        return -1;
    if (colon && (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof u->port ||
                  strspn(colon + 1, "0123456789") != strlen(colon + 1)))
        return -1;
    strcpy(u->port, colon ? colon + 1 : "80");
    return 0;
}

/* Connects within CONNECT_TIMEOUT_MS; returns a non-blocking socket or -1. */
static int connect_to(const struct url *u)
{
    struct addrinfo hints, *found = NULL, *ai;
    int fd = -1;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(u->host, u->port, &hints, &found) != 0)
        return -1;
    for (ai = found; ai != NULL; ai = ai->ai_next) {
        struct pollfd p;
        int err = 0, one = 1, r;
        socklen_t len = sizeof err;
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (io_set_nonblocking(fd) == 0) {
            r = connect(fd, ai->ai_addr, ai->ai_addrlen);
            if (r != 0 && errno == EINPROGRESS) {
                p.fd = fd;
                p.events = POLLOUT;
                do {
                    r = poll(&p, 1, CONNECT_TIMEOUT_MS);
                } while (r < 0 && errno == EINTR && !stopping);
                if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                    r = 0;
                else
                    r = -1;
            }
            if (r == 0) {
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                break;
            }
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    return fd;
}

/* Fresh entropy for a client connection (masking keys, the handshake key). */
static int entropy(unsigned char *buf, size_t len)
{
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0)
        return -1;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r > 0)
            got += (size_t)r;
        else if (r < 0 && errno == EINTR)
            continue;
        else
            break;
    }
    close(fd);
    return got == len ? 0 : -1;
}

/* Opens a connection to u's host and queues the upgrade request for path. */
static int open_session(struct conn_io *io, const struct url *u, const char *path)
{
    unsigned char seed[WEBSOCK_ENTROPY_LEN];
    int fd;
    if (entropy(seed, sizeof seed) != 0) {
        fprintf(stderr, "client: no entropy from /dev/urandom\n");
        return -1;
    }
    fd = connect_to(u);
    if (fd < 0) {
        fprintf(stderr, "client: cannot connect to %s\n", u->authority);
        return -1;
    }
    if (io_start_client(io, fd, io_now_ms(), &config, u->authority, path, seed) != 0) {
        fprintf(stderr, "client: cannot start the handshake for %s\n", path);
        close(fd);
        return -1;
    }
    return 0;
}

static int timeout_until(uint64_t deadline, uint64_t now)
{
    if (deadline == WEBSOCK_NO_DEADLINE)
        return -1;
    if (deadline <= now)
        return 0;
    return deadline - now > 60000 ? 60000 : (int)(deadline - now) + 1;
}

/* Runs one connection to its end with `on_event` handling its events. */
static int run_session(struct conn_io *io, io_event_fn on_event, void *ctx)
{
    uint64_t limit = io_now_ms() + SESSION_LIMIT_MS;
    while (io->phase != IO_DONE) {
        struct pollfd p;
        uint64_t now = io_now_ms();
        uint64_t deadline = io_deadline(io);
        int n;
        if (stopping || now >= limit) {
            io_abort(io);
            return -1;
        }
        p.fd = io->fd;
        p.events = io_poll_events(io);
        p.revents = 0;
        n = poll(&p, 1, timeout_until(deadline < limit ? deadline : limit, now));
        if (n < 0 && errno != EINTR) {
            io_abort(io);
            return -1;
        }
        io_step(io, n > 0 ? p.revents : 0, io_now_ms(), on_event, ctx);
    }
    return 0;
}

/* ----- the Autobahn driver ----- */

/* Collects the text of the one message getCaseCount sends. */
struct text {
    char buf[32];
    size_t len;
};

static int collect_text(struct conn_io *io, const websock_event *ev, void *ctx)
{
    struct text *t = ctx;
    (void)io;
    if (ev->kind != WEBSOCK_EVENT_TYPE_TEXT)
        return 0;
    if (ev->len >= sizeof t->buf - t->len)
        return -1;
    memcpy(t->buf + t->len, ev->data, ev->len);
    t->len += ev->len;
    t->buf[t->len] = '\0';
    return 0;
}

static int ignore_events(struct conn_io *io, const websock_event *ev, void *ctx)
{
    (void)io;
    (void)ev;
    (void)ctx;
    return 0;
}

/* Joins the URL's path and a request target; "/" alone adds nothing. */
static int target(char *out, size_t cap, const struct url *u, const char *what)
{
    const char *base = strcmp(u->path, "/") == 0 ? "" : u->path;
    int n = snprintf(out, cap, "%s%s", base, what);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int autobahn(struct conn_io *io, const struct url *u, const char *agent)
{
    char path[1200];
    struct text count;
    long cases, i;
    char *end = NULL;
    memset(&count, 0, sizeof count);
    if (target(path, sizeof path, u, "/getCaseCount") != 0 || open_session(io, u, path) != 0 ||
        run_session(io, collect_text, &count) != 0)
        return 1;
    cases = strtol(count.buf, &end, 10);
    if (count.len == 0 || *end != '\0' || cases < 0 || cases > 100000) {
        fprintf(stderr, "client: bad case count '%s'\n", count.buf);
        return 1;
    }
    fprintf(stderr, "client: %ld cases\n", cases);
    for (i = 1; i <= cases && !stopping; i++) {
        char what[300];
        if (snprintf(what, sizeof what, "/runCase?case=%ld&agent=%s", i, agent) >= (int)sizeof what ||
            target(path, sizeof path, u, what) != 0 || open_session(io, u, path) != 0)
            return 1;
        /* A case may end any way at all: the fuzzing server judges it. */
        if (run_session(io, io_echo, NULL) != 0 && stopping)
            return 1;
    }
    {
        char what[300];
        if (snprintf(what, sizeof what, "/updateReports?agent=%s", agent) >= (int)sizeof what ||
            target(path, sizeof path, u, what) != 0 || open_session(io, u, path) != 0 ||
            run_session(io, ignore_events, NULL) != 0)
            return 1;
    }
    fprintf(stderr, "client: reports updated for agent %s\n", agent);
    return 0;
}

/* ----- the terminal client ----- */

struct terminal {
    /* Standard input not sent yet: line[0, line_len). */
    char line[IO_IN_CAP];
    size_t line_len;
    int stdin_open;
    /* A line longer than the buffer went out as fragments: continue it. */
    int fragmenting;
    size_t binary_len;
};

static int print_event(struct conn_io *io, const websock_event *ev, void *ctx)
{
    struct terminal *t = ctx;
    (void)io;
    switch (ev->kind) {
    case WEBSOCK_EVENT_TYPE_TEXT:
        fwrite(ev->data, 1, ev->len, stdout);
        if (ev->fin) {
            putchar('\n');
            fflush(stdout);
        }
        break;
    case WEBSOCK_EVENT_TYPE_BINARY:
        t->binary_len += ev->len;
        if (ev->fin) {
            printf("[binary message, %lu bytes]\n", (unsigned long)t->binary_len);
            fflush(stdout);
            t->binary_len = 0;
        }
        break;
    case WEBSOCK_EVENT_TYPE_CLOSE:
        fprintf(stderr, "client: server closed with %u '%.*s'\n", (unsigned)ev->close_code,
                (int)ev->len, (const char *)ev->data);
        break;
    default:
        break;
    }
    return 0;
}

/* Sends what standard input gave: every complete line as the end of a
 * message, and a full buffer without a newline as a fragment. Returns 0,
 * or -1 if the engine refused. */
static int send_lines(struct conn_io *io, struct terminal *t)
{
    for (;;) {
        char *nl = memchr(t->line, '\n', t->line_len);
        size_t piece, n = 0, room, need;
        int fin = nl != NULL;
        websock_status st;
        if (!fin && t->line_len < sizeof t->line)
            return 0;
        piece = fin ? (size_t)(nl - t->line) : t->line_len;
        need = websock_max_frame_len(&io->ws, piece);
        room = io_out_room(io, need);
        if (room < need)
            return 0; /* wait until the socket takes some output */
        st = websock_send_text(&io->ws, t->line, piece, fin, io->out + io->out_len, room, &n);
        if (st != WEBSOCK_STATUS_OK) {
            fprintf(stderr, "client: cannot send: %s\n", websock_status_str(st));
            return -1;
        }
        io_out_commit(io, n);
        t->fragmenting = !fin;
        if (fin)
            piece++; /* the newline */
        memmove(t->line, t->line + piece, t->line_len - piece);
        t->line_len -= piece;
    }
}

/* Reads standard input; at its end, sends what is left and starts the
 * closing handshake. */
static int read_stdin(struct conn_io *io, struct terminal *t)
{
    ssize_t r;
    size_t n = 0, room;
    websock_status st;
    do {
        r = read(STDIN_FILENO, t->line + t->line_len, sizeof t->line - t->line_len);
    } while (r < 0 && errno == EINTR);
    if (r > 0) {
        t->line_len += (size_t)r;
        return send_lines(io, t);
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    t->stdin_open = 0;
    room = io_out_room(io, websock_max_frame_len(&io->ws, t->line_len) + WEBSOCK_MAX_CONTROL_FRAME);
    if (t->line_len > 0 || t->fragmenting) {
        /* The last line had no newline. */
        st = websock_send_text(&io->ws, t->line, t->line_len, true, io->out + io->out_len, room, &n);
        if (st != WEBSOCK_STATUS_OK)
            return -1;
        io_out_commit(io, n);
        t->line_len = 0;
        room = io_out_room(io, WEBSOCK_MAX_CONTROL_FRAME);
    }
    st = websock_close(&io->ws, 1000, "bye", 3, io->out + io->out_len, room, &n);
    if (st != WEBSOCK_STATUS_OK && st != WEBSOCK_STATUS_INVALID_STATE)
        return -1;
    io_out_commit(io, n);
    return 0;
}

static int terminal(struct conn_io *io, const struct url *u)
{
    static struct terminal t;
    uint64_t now;
    t.stdin_open = 1;
    if (open_session(io, u, u->path) != 0)
        return 1;
    while (io->phase != IO_DONE && !stopping) {
        struct pollfd p[2];
        int n;
        /* Standard input waits while the socket's output is backed up:
         * the line buffer then fills and the terminal blocks the writer. */
        int want_stdin = t.stdin_open && io->phase == IO_OPEN &&
                         websock_state(&io->ws) == WEBSOCK_CONN_STATE_OPEN &&
                         t.line_len < sizeof t.line &&
                         io_pending(io) < IO_OUT_BASE;
        now = io_now_ms();
        p[0].fd = io->fd;
        p[0].events = io_poll_events(io);
        p[0].revents = 0;
        p[1].fd = want_stdin ? STDIN_FILENO : -1;
        p[1].events = POLLIN;
        p[1].revents = 0;
        n = poll(p, 2, timeout_until(io_deadline(io), now));
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && read_stdin(io, &t) != 0)
            break;
        io_step(io, n > 0 ? p[0].revents : 0, io_now_ms(), print_event, &t);
    }
    io_abort(io);
    if (io->failure != WEBSOCK_STATUS_OK)
        fprintf(stderr, "client: %s\n", websock_status_str(io->failure));
    fprintf(stderr, "client: connection closed (%s, code %u)\n",
            io->closure.clean ? "clean" : "not clean", (unsigned)io->closure.code);
    return io->closure.clean ? 0 : 1;
}

int main(int argc, char **argv)
{
    static struct conn_io io;
    struct url u;
    const char *agent = "websock-c";
    const char *url = NULL;
    int driver = 0, deflate = 0, bad = 0, i, result;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--autobahn") == 0)
            driver = 1;
        else if (strcmp(argv[i], "--deflate") == 0)
            deflate = 1;
        else if (strcmp(argv[i], "--agent") == 0 && i + 1 < argc)
            agent = argv[++i];
        else if (url == NULL && argv[i][0] != '-')
            url = argv[i];
        else
            bad = 1;
    }
    /* The agent name goes into a URL's query unescaped. */
    if (strspn(agent, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
        strlen(agent))
        bad = 1;
    if (bad || url == NULL || parse_url(url, &u) != 0) {
        fprintf(stderr, "usage: %s [--deflate] [--autobahn [--agent NAME]] ws://HOST[:PORT][/PATH]\n",
                argv[0]);
        return 2;
    }
    config = websock_config_default();
    config.deflate = deflate;
    /* RFC 7692 section 7.1.1.2: offering client_no_context_takeover tells
     * the server we can work without context takeover. Autobahn's cases
     * 13.2, 13.5 and 13.6 accept only offers that say so. */
    config.client_no_context_takeover = deflate && driver;
    if (install_signals() != 0) {
        perror("sigaction");
        return 1;
    }
    result = driver ? autobahn(&io, &u, agent) : terminal(&io, &u);
    io_free(&io);
    return result;
}

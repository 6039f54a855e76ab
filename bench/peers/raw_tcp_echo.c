/*
 * raw_tcp_echo - the syscall floor: a TCP echo with no WebSocket processing.
 *
 * It answers the HTTP upgrade request with a valid "101 Switching Protocols"
 * (correct Sec-WebSocket-Accept) and from then on echoes every byte verbatim:
 * no frame parsing, no unmasking. The client's masked frames therefore come
 * back masked; `uvws_loadgen --raw` expects exactly that.
 *
 * One thread, level-triggered epoll, non-blocking sockets, one shared read
 * buffer; a connection gets its own output buffer only while the kernel
 * refuses part of an echo (then reading from it pauses until it drains).
 *
 *   cc -O2 bench/peers/raw_tcp_echo.c -o build/bin/raw_tcp_echo -lcrypto
 *   raw_tcp_echo --port 0      # prints "listening on <port>"
 *
 * Listens on 127.0.0.1 only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#define RBUF_SIZE (256 * 1024)
#define HS_MAX 8192

struct conn {
    int fd;
    int upgraded;
    int paused; /* EPOLLIN removed while output is pending */
    char *hs;
    size_t hslen;
    char *out;
    size_t outlen, outhead;
};

static int epfd;
static unsigned char *rbuf;
static volatile sig_atomic_t stop;

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c->hs);
    free(c->out);
    free(c);
}

static void set_events(struct conn *c, unsigned ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
}

/* write; keep the rest if the socket is full. 0 ok, -1 dead */
static int send_or_keep(struct conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return -1;
    }
    if (n > 0) {
        char *o = malloc(n);
        if (!o)
            return -1;
        memcpy(o, p, n);
        c->out = o;
        c->outlen = n;
        c->outhead = 0;
        c->paused = 1;
        set_events(c, EPOLLOUT);
    }
    return 0;
}

static int drain(struct conn *c)
{
    while (c->outhead < c->outlen) {
        ssize_t w = send(c->fd, c->out + c->outhead, c->outlen - c->outhead, MSG_NOSIGNAL);
        if (w > 0) {
            c->outhead += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1;
    }
    free(c->out);
    c->out = NULL;
    c->outlen = c->outhead = 0;
    c->paused = 0;
    set_events(c, EPOLLIN);
    return 0;
}

static int handshake(struct conn *c)
{
    if (!c->hs && !(c->hs = malloc(HS_MAX)))
        return -1;
    ssize_t r = recv(c->fd, c->hs + c->hslen, HS_MAX - 1 - c->hslen, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r <= 0)
        return -1;
    c->hslen += (size_t)r;
    c->hs[c->hslen] = 0;
    char *end = strstr(c->hs, "\r\n\r\n");
    if (!end)
        return c->hslen >= HS_MAX - 1 ? -1 : 0;
    *end = 0;
    char *key = NULL;
    for (char *line = strstr(c->hs, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (!strncasecmp(line, "Sec-WebSocket-Key:", 18)) {
            key = line + 18;
            while (*key == ' ' || *key == '\t')
                key++;
            char *e = key;
            while (*e && *e != '\r' && *e != ' ' && *e != '\t')
                e++;
            *e = 0;
            break;
        }
    }
    if (!key || strlen(key) > 64) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send(c->fd, bad, sizeof bad - 1, MSG_NOSIGNAL);
        return -1;
    }
    char buf[160];
    int n = snprintf(buf, sizeof buf, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
    char acc[64];
    EVP_EncodeBlock((unsigned char *)acc, md, (int)mdlen);
    char resp[256];
    int rn = snprintf(resp, sizeof resp,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n\r\n",
                      acc);
    size_t rest = c->hslen - (size_t)(end + 4 - c->hs);
    c->upgraded = 1;
    if (send_or_keep(c, resp, (size_t)rn) < 0)
        return -1;
    if (rest > 0) { /* bytes sent right behind the request: echo them too */
        if (c->out) {
            char *o = realloc(c->out, c->outlen + rest);
            if (!o)
                return -1;
            memcpy(o + c->outlen, end + 4, rest);
            c->out = o;
            c->outlen += rest;
        } else if (send_or_keep(c, end + 4, rest) < 0) {
            return -1;
        }
    }
    free(c->hs);
    c->hs = NULL;
    return 0;
}

static int echo(struct conn *c)
{
    ssize_t r = recv(c->fd, rbuf, RBUF_SIZE, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (r <= 0)
        return -1;
    return send_or_keep(c, (const char *)rbuf, (size_t)r);
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: raw_tcp_echo [--port N]\n");
            return 2;
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    rbuf = malloc(RBUF_SIZE);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, ls, &lev);
    printf("listening on %d\n", ntohs(a.sin_port));
    fflush(stdout);

    struct epoll_event evs[512];
    while (!stop) {
        int n = epoll_wait(epfd, evs, 512, 500);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                for (int k = 0; k < 64; k++) {
                    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            int rc = 0;
            if (c->paused) {
                if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                    rc = drain(c);
            } else if (!c->upgraded) {
                rc = handshake(c);
            } else {
                rc = echo(c);
            }
            if (rc < 0)
                conn_close(c);
        }
    }
    return 0;
}

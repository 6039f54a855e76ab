/*
 * lws_echo - WebSocket echo server on libwebsockets (Debian's 4.1.x), peer for
 * the uvws benchmarks.
 *
 *   cc -O2 bench/peers/lws_echo.c -o build/bin/lws_echo $(pkg-config --cflags --libs libwebsockets)
 *   lws_echo --port 0 [--loop poll|uv|ev] [--rx-buffer BYTES]
 *
 * Prints "listening on <port>" once ready. Single process, single thread,
 * no extensions (no permessage-deflate), listens on 127.0.0.1 only.
 *
 * The pattern is lws's own minimal echo example: every chunk lws hands to
 * LWS_CALLBACK_RECEIVE goes into a per-connection FIFO with its first/final
 * flags and is written back as one frame (fragment) of the same type from
 * LWS_CALLBACK_SERVER_WRITEABLE, one lws_write() per writeable callback, as
 * lws requires. Differences from the example, for efficiency and
 * correctness: the FIFO grows instead of dropping when full (rx flow control
 * still pauses the sender when it gets long) and its slots keep their
 * buffers, so there is no malloc per message once warmed up. Message size is
 * unbounded (streamed), so 64 MiB messages work.
 *
 * --rx-buffer sets both the protocol's rx_buffer_size and the context's
 * pt_serv_buf_size (the read chunk). Default 65536; lws's own default is 4096,
 * which splits a 64 KiB message into 16 fragments.
 * --loop picks lws's event loop: poll (lws's default), or the libuv / libev
 * event-lib plugins Debian ships.
 */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct frag {
    unsigned char *buf; /* LWS_PRE headroom + payload, kept across reuse */
    size_t cap;
    size_t len;
    unsigned char binary, first, final;
};

struct pss {
    struct frag *q; /* ring, capacity power of two */
    unsigned cap, head, count;
    int flow_off;
};

#define Q_INIT 8
#define Q_FLOW_HIGH 64 /* pause rx when this many fragments are queued */

static volatile int interrupted;
static struct lws_context *context;

static int q_grow(struct pss *p)
{
    unsigned ncap = p->cap ? p->cap * 2 : Q_INIT;
    struct frag *nq = calloc(ncap, sizeof *nq);
    if (!nq)
        return -1;
    for (unsigned i = 0; i < p->cap; i++) /* linearize, keep buffers */
        nq[i] = p->q[(p->head + i) & (p->cap - 1)];
    free(p->q);
    p->q = nq;
    p->head = 0;
    p->cap = ncap;
    return 0;
}

static void q_free(struct pss *p)
{
    for (unsigned i = 0; i < p->cap; i++)
        free(p->q[i].buf);
    free(p->q);
    p->q = NULL;
    p->cap = p->head = p->count = 0;
}

static int callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct pss *p = user;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(p, 0, sizeof *p);
        if (q_grow(p))
            return -1;
        break;

    case LWS_CALLBACK_RECEIVE: {
        if (p->count == p->cap && q_grow(p))
            return -1;
        struct frag *f = &p->q[(p->head + p->count) & (p->cap - 1)];
        if (f->cap < len || !f->buf) {
            size_t ncap = len < 256 ? 256 : len;
            unsigned char *nb = realloc(f->buf, LWS_PRE + ncap);
            if (!nb)
                return -1;
            f->buf = nb;
            f->cap = ncap;
        }
        if (len)
            memcpy(f->buf + LWS_PRE, in, len);
        f->len = len;
        f->binary = (unsigned char)lws_frame_is_binary(wsi);
        f->first = (unsigned char)lws_is_first_fragment(wsi);
        f->final = (unsigned char)lws_is_final_fragment(wsi);
        p->count++;
        if (p->count >= Q_FLOW_HIGH && !p->flow_off) {
            p->flow_off = 1;
            lws_rx_flow_control(wsi, 0);
        }
        lws_callback_on_writable(wsi);
        break;
    }

    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!p->count)
            break;
        struct frag *f = &p->q[p->head];
        int flags = lws_write_ws_flags(f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT, f->first, f->final);
        int m = lws_write(wsi, f->buf + LWS_PRE, f->len, (enum lws_write_protocol)flags);
        if (m < (int)f->len) {
            lwsl_err("lws_write failed (%d of %zu)\n", m, f->len);
            return -1;
        }
        p->head = (p->head + 1) & (p->cap - 1);
        p->count--;
        if (p->count)
            lws_callback_on_writable(wsi);
        if (p->flow_off && p->count < Q_FLOW_HIGH / 2) {
            p->flow_off = 0;
            lws_rx_flow_control(wsi, 1);
        }
        break;
    }

    case LWS_CALLBACK_CLOSED:
        q_free(p);
        break;

    default:
        break;
    }
    return 0;
}

static struct lws_protocols protocols[] = {
    {"echo", callback_echo, sizeof(struct pss), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    if (context)
        lws_cancel_service(context);
}

/* With the uv / ev event-lib plugins lws owns SIGINT/SIGTERM: by default it
 * stops its loop and lws_service() then returns at once, forever (a busy
 * spin). Leave right away instead: teardown is not what we measure. */
static void on_exit_signal(int sig)
{
    (void)sig;
    _exit(0);
}

static void on_evlib_signal(void *handle, int sig)
{
    (void)handle;
    on_exit_signal(sig);
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *loop = "poll";
    long rxbuf = 65536;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--loop") && i + 1 < argc)
            loop = argv[++i];
        else if (!strcmp(argv[i], "--rx-buffer") && i + 1 < argc)
            rxbuf = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: lws_echo [--port N] [--loop poll|uv|ev] [--rx-buffer BYTES]\n");
            return 2;
        }
    }
    if (rxbuf < 128 || rxbuf > 64 * 1024 * 1024) {
        fprintf(stderr, "lws_echo: --rx-buffer out of range\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    lws_set_log_level(LLL_ERR, NULL);

    protocols[0].rx_buffer_size = (size_t)rxbuf;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.pt_serv_buf_size = (unsigned int)rxbuf;
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.count_threads = 1;
    info.fd_limit_per_thread = 0;
    info.signal_cb = on_evlib_signal;
    if (!strcmp(loop, "uv"))
        info.options |= LWS_SERVER_OPTION_LIBUV;
    else if (!strcmp(loop, "ev"))
        info.options |= LWS_SERVER_OPTION_LIBEV;
    else if (strcmp(loop, "poll") != 0) {
        fprintf(stderr, "lws_echo: --loop poll|uv|ev\n");
        return 2;
    }

    context = lws_create_context(&info);
    if (!context) {
        fprintf(stderr, "lws_echo: lws_create_context failed\n");
        return 1;
    }
    struct lws_vhost *vh = lws_create_vhost(context, &info);
    if (!vh) {
        fprintf(stderr, "lws_echo: lws_create_vhost failed\n");
        lws_context_destroy(context);
        return 1;
    }
    if (strcmp(loop, "poll") != 0) {
        /* take the signals back from the event lib (libev ignores signal_cb) */
        signal(SIGINT, on_exit_signal);
        signal(SIGTERM, on_exit_signal);
    }
    printf("listening on %d\n", lws_get_vhost_listen_port(vh));
    fflush(stdout);

    int n = 0;
    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);

    lws_context_destroy(context);
    return 0;
}

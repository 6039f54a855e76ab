/*
 * uvws_loadgen - a small, standalone WebSocket echo load generator.
 *
 * Linux only: one thread, epoll (level-triggered), non-blocking sockets.
 * No dependency on the uvws library; only OpenSSL's libcrypto (SHA-1 and
 * base64 for the handshake).
 *
 *   cc -O2 bench/loadgen.c -o build/bin/uvws_loadgen -lcrypto
 *
 * Life cycle:
 *   1. connect all connections (at most --connect-concurrency connecting or
 *      handshaking at once), do the RFC 6455 client handshake on each
 *      (checks "101", Upgrade and Sec-WebSocket-Accept, refuses extensions);
 *   2. warm-up (--warmup s): every connection keeps --pipeline messages in
 *      flight (send, wait for the echo, send the next); nothing is counted;
 *   3. measured window (-d s): echoes received are counted, their latency is
 *      recorded in a log-linear histogram; with --cpu-pid the CPU time
 *      (utime+stime from /proc/PID/stat) of that process is sampled exactly
 *      at the start and the end of this window;
 *   4. every connection sends a close frame (1000) and waits (<= 2 s) for the
 *      server's close frame, then the socket is closed.
 *
 * Every echoed message is verified: opcode, exact length, a per-connection
 * sequence number embedded in the first 16 bytes (so lost, duplicated or
 * reordered messages are detected) and, by default, every other byte
 * (--verify cheap checks only the last 8 bytes besides the header).
 *
 * --raw: for bench/peers/raw_tcp_echo, which answers the upgrade with a valid
 * 101 and then echoes bytes verbatim: the frames that come back are our own
 * *masked* client frames, so in this mode server frames must be masked and
 * are unmasked before verification.  Everything else is identical.
 *
 * --fanout N (publish/subscribe): N subscriber connections plus -c publisher
 * connections (default 1). The URL gets "?role=sub" or "?role=pub" (or
 * "&role=..."). The server subscribes a "sub" connection to one topic and
 * answers it with the text message "ok"; every message a "pub" connection
 * sends, it publishes to that topic (to every subscriber, not back to the
 * publishers). Once every subscriber has its "ok", the publishers send
 * --rate messages per second in total, --burst at a time, round robin. Each
 * message carries (publisher, sequence) in its first 16 bytes, so every
 * subscriber checks that it gets every message of every publisher, exactly
 * once and in order; latency is publish-to-delivery (one clock: this
 * process). After the measured window the publishers stop and every
 * subscriber must catch up (within --msg-timeout) before closing. Reported:
 * deliveries (messages = one copy received by one subscriber) per second,
 * their latency, and server CPU per delivery. Sizes >= 16 bytes.
 *
 * Exit status: 0 only if there was no error at all (connect, handshake,
 * unexpected close, payload mismatch, protocol error, close timeout, or no
 * message echoed in the measured window); 1 on errors; 2 on usage errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

/* ------------------------------------------------------------------ */
/* options                                                              */

static struct {
    char host[256];
    char hostport[300];
    char path[1024];
    struct sockaddr_in addr;
    int conns;
    uint64_t size;
    double duration;
    double warmup;
    int binary;
    int pipeline;
    int json;
    int raw;
    int verify_full;
    int cpu_pid;
    int connect_concurrency;
    double connect_timeout;
    double close_timeout;
    double msg_timeout;
    const char *label;
    int fanout;      /* subscribers (0: echo mode) */
    double rate;     /* fan-out: messages per second, all publishers */
    int burst;       /* fan-out: messages sent back to back */
} opt = {
    .conns = 1,
    .size = 16,
    .duration = 5,
    .warmup = 1,
    .binary = 1,
    .pipeline = 1,
    .verify_full = 1,
    .cpu_pid = 0,
    .connect_concurrency = 128,
    .connect_timeout = 20,
    .close_timeout = 2,
    .msg_timeout = 5,
    .label = NULL,
    .fanout = 0,
    .rate = 100,
    .burst = 1,
};

#define MAX_DURATION 3600.0

/* ------------------------------------------------------------------ */
/* time, histogram                                                      */

static inline uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns;

/* Log-linear histogram of nanoseconds: values < 64 exact, then 64 sub-buckets
 * per power of two (relative error < 1.6 %). */
#define H_SUB 64
#define H_BUCKETS (H_SUB + 58 * H_SUB)
static uint64_t hist[H_BUCKETS];
static uint64_t hist_count, hist_max, hist_min = UINT64_MAX;
static double hist_sum;

static inline unsigned h_index(uint64_t v)
{
    if (v < H_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 6 */
    unsigned sub = (unsigned)(v >> (e - 6)) - H_SUB;  /* 0..63 */
    return H_SUB + (e - 6) * H_SUB + sub;
}

static inline void h_bounds(unsigned idx, uint64_t *lo, uint64_t *width)
{
    if (idx < H_SUB) {
        *lo = idx;
        *width = 1;
        return;
    }
    unsigned e = (idx - H_SUB) / H_SUB + 6;
    unsigned sub = (idx - H_SUB) % H_SUB;
    *lo = (uint64_t)(H_SUB + sub) << (e - 6);
    *width = 1ull << (e - 6);
}

static inline void h_record(uint64_t v)
{
    hist[h_index(v)]++;
    hist_count++;
    hist_sum += (double)v;
    if (v > hist_max)
        hist_max = v;
    if (v < hist_min)
        hist_min = v;
}

static void h_reset(void)
{
    memset(hist, 0, sizeof hist);
    hist_count = 0;
    hist_max = 0;
    hist_min = UINT64_MAX;
    hist_sum = 0;
}

/* percentile in microseconds (midpoint of the bucket, capped by the max) */
static double h_pct_us(double q)
{
    if (!hist_count)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)hist_count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > hist_count)
        rank = hist_count;
    uint64_t cum = 0;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        cum += hist[i];
        if (cum >= rank) {
            uint64_t lo, w;
            h_bounds(i, &lo, &w);
            double mid = (double)lo + (double)(w - 1) / 2.0;
            if (mid > (double)hist_max)
                mid = (double)hist_max;
            if (mid < (double)hist_min)
                mid = (double)hist_min;
            return mid / 1000.0;
        }
    }
    return (double)hist_max / 1000.0;
}

/* ------------------------------------------------------------------ */
/* errors                                                               */

enum { E_CONNECT, E_HANDSHAKE, E_UNEXPECTED_CLOSE, E_MISMATCH, E_PROTOCOL, E_MSG_TIMEOUT, E_CLOSE_TIMEOUT, E_NO_MESSAGES, E__N };
static const char *const err_names[E__N] = {
    "connect", "handshake", "unexpected_close", "mismatch", "protocol", "msg_timeout", "close_timeout", "no_messages",
};
static uint64_t errs[E__N];

static void error_ev(int kind, unsigned conn_id, const char *fmt, ...)
{
    errs[kind]++;
    if (errs[kind] <= 5) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "loadgen: conn %u: %s error: ", conn_id, err_names[kind]);
        vfprintf(stderr, fmt, ap);
        if (errs[kind] == 5)
            fprintf(stderr, " (further %s errors not shown)", err_names[kind]);
        fputc('\n', stderr);
        va_end(ap);
    }
}

/* ------------------------------------------------------------------ */
/* connections                                                          */

enum { S_IDLE, S_CONNECTING, S_HANDSHAKE, S_OPEN, S_CLOSING, S_DONE, S_DEAD };

#define HS_MAX 4096

struct conn {
    int fd;
    uint8_t state;
    uint8_t epout; /* EPOLLOUT registered */
    uint32_t id;
    uint64_t t_start; /* connect start, for timeouts */

    /* handshake */
    char key_b64[32];
    char *hsbuf;
    uint32_t hslen;

    /* output */
    uint8_t *wbuf;
    size_t wcap, whead, wlen;

    /* sequence numbers, send timestamps ring (pipeline entries) */
    uint64_t send_seq, recv_seq;
    uint64_t *send_ts;

    /* incremental frame parser */
    uint8_t hdr[14];
    uint8_t hdr_have;
    uint8_t in_frame;
    uint8_t f_op, f_fin, f_masked;
    uint8_t f_mask[4];
    uint64_t f_rem, f_pos; /* payload bytes remaining / seen in frame */
    uint8_t in_msg, msg_op;
    uint64_t moff;
    uint8_t exp_hdr[16];
    uint8_t ctrl[125];
    uint8_t ctrl_len;

    /* fan-out */
    uint8_t sub;      /* a subscriber (else a publisher) */
    uint8_t ready;    /* subscriber: "ok" received */
    uint64_t *exp;    /* subscriber: next sequence expected per publisher */
};

static struct conn *conns;
static int epfd = -1;
static uint8_t *tmpl;      /* expected payload bytes (header region overwritten per message) */
static unsigned hdr_len;   /* min(16, size) */
static uint8_t *rbuf;      /* one shared read buffer */
#define RBUF_SIZE (256 * 1024)
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static inline uint64_t rng64(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

enum { P_CONNECT, P_WARMUP, P_MEASURE, P_DRAIN, P_CLOSING };
static int phase = P_CONNECT;
static int n_connected, n_failed, n_pending, n_started, n_alive;
static uint64_t m_msgs, m_bytes;      /* measured window */
static uint64_t total_msgs;           /* all verified echoes */
/* fan-out: total connections, publish times per publisher (a ring indexed
 * by sequence), subscribers ready */
static int n_total, n_ready;
#define PUB_RING (1u << 16)
static uint64_t **pub_ts;
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void conn_kill(struct conn *c, uint8_t final_state)
{
    if (c->fd >= 0) {
        close(c->fd); /* also removes it from the epoll set */
        c->fd = -1;
    }
    if (c->state == S_CONNECTING || c->state == S_HANDSHAKE)
        n_pending--;
    if (c->state == S_OPEN || c->state == S_CLOSING)
        n_alive--;
    c->state = final_state;
}

static void set_epout(struct conn *c, int on)
{
    if (c->epout == on || c->fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->epout = (uint8_t)on;
}

/* returns 0 ok, -1 connection died */
static int conn_flush(struct conn *c)
{
    while (c->whead < c->wlen) {
        ssize_t w = send(c->fd, c->wbuf + c->whead, c->wlen - c->whead, MSG_NOSIGNAL);
        if (w > 0) {
            c->whead += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_epout(c, 1);
            return 0;
        }
        error_ev(E_UNEXPECTED_CLOSE, c->id, "send: %s", w < 0 ? strerror(errno) : "returned 0");
        conn_kill(c, S_DEAD);
        return -1;
    }
    c->whead = c->wlen = 0;
    set_epout(c, 0);
    return 0;
}

/* make room for n more output bytes; 0 ok, -1 no room */
static int wroom(struct conn *c, size_t n)
{
    if (c->wlen + n <= c->wcap)
        return 0;
    if (c->whead) {
        memmove(c->wbuf, c->wbuf + c->whead, c->wlen - c->whead);
        c->wlen -= c->whead;
        c->whead = 0;
    }
    return c->wlen + n <= c->wcap ? 0 : -1;
}

static inline void mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4])
{
    uint8_t kb[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
    uint64_t k64;
    memcpy(&k64, kb, 8);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t a, b, cc, d;
        memcpy(&a, src + i, 8);
        memcpy(&b, src + i + 8, 8);
        memcpy(&cc, src + i + 16, 8);
        memcpy(&d, src + i + 24, 8);
        a ^= k64;
        b ^= k64;
        cc ^= k64;
        d ^= k64;
        memcpy(dst + i, &a, 8);
        memcpy(dst + i + 8, &b, 8);
        memcpy(dst + i + 16, &cc, 8);
        memcpy(dst + i + 24, &d, 8);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t a;
        memcpy(&a, src + i, 8);
        a ^= k64;
        memcpy(dst + i, &a, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ kb[i & 3];
}

static size_t frame_hdr(uint8_t *p, uint8_t b0, uint64_t len, const uint8_t key[4])
{
    size_t h = 0;
    p[h++] = b0;
    if (len < 126) {
        p[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        p[h++] = 0x80 | 126;
        p[h++] = (uint8_t)(len >> 8);
        p[h++] = (uint8_t)len;
    } else {
        p[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            p[h++] = (uint8_t)(len >> (8 * i));
    }
    memcpy(p + h, key, 4);
    return h + 4;
}

/* the first hdr_len payload bytes: hex digits (least significant first) of
 * conn id << 40 | seq, so that truncation keeps the sequence number */
static inline void make_hdr(uint8_t out[16], uint32_t id, uint64_t seq)
{
    static const char hexd[] = "0123456789abcdef";
    uint64_t v = ((uint64_t)id << 40) | (seq & 0xFFFFFFFFFFull);
    for (int i = 0; i < 16; i++)
        out[i] = (uint8_t)hexd[(v >> (4 * i)) & 15];
}

static int queue_msg(struct conn *c)
{
    size_t fs = 14 + opt.size;
    if (wroom(c, fs) < 0) {
        error_ev(E_PROTOCOL, c->id, "internal: output buffer full");
        conn_kill(c, S_DEAD);
        return -1;
    }
    uint64_t r = rng64();
    uint8_t key[4] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16), (uint8_t)(r >> 24)};
    uint8_t *p = c->wbuf + c->wlen;
    size_t h = frame_hdr(p, (uint8_t)(0x80 | (opt.binary ? 2 : 1)), opt.size, key);
    uint8_t *pl = p + h;
    mask_copy(pl, tmpl, opt.size, key);
    uint8_t hx[16];
    make_hdr(hx, c->id, c->send_seq);
    for (unsigned i = 0; i < hdr_len; i++)
        pl[i] = hx[i] ^ key[i & 3];
    c->wlen += h + opt.size;
    if (opt.fanout)
        pub_ts[c->id][c->send_seq % PUB_RING] = now_ns;
    else
        c->send_ts[c->send_seq % (uint64_t)opt.pipeline] = now_ns;
    c->send_seq++;
    return 0;
}

static void queue_ctrl(struct conn *c, uint8_t op, const uint8_t *payload, size_t n)
{
    if (wroom(c, 6 + n) < 0)
        return; /* cannot happen for sane servers; a dropped pong is harmless */
    uint64_t r = rng64();
    uint8_t key[4] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16), (uint8_t)(r >> 24)};
    uint8_t *p = c->wbuf + c->wlen;
    size_t h = frame_hdr(p, (uint8_t)(0x80 | op), n, key);
    mask_copy(p + h, payload, n, key);
    c->wlen += h + n;
}

static void queue_close(struct conn *c)
{
    static const uint8_t code[2] = {0x03, 0xE8}; /* 1000 */
    queue_ctrl(c, 8, code, 2);
}

/* ------------------------------------------------------------------ */
/* incoming frames                                                      */

/* verify payload bytes [off, off+k) of the current message */
static int verify_chunk(struct conn *c, const uint8_t *p, uint64_t off, uint64_t k)
{
    if (opt.fanout && !c->ready) {
        /* the "ok" that says the subscription is in place */
        if (off + k > 2)
            return -1;
        memcpy(c->exp_hdr + off, p, k);
        return 0;
    }
    if (off + k > opt.size)
        return -1;
    uint64_t end = off + k;
    if (opt.fanout && off < hdr_len) {
        /* whose message and which: checked when it is complete */
        uint64_t m = (end < hdr_len ? end : hdr_len) - off;
        memcpy(c->exp_hdr + off, p, m);
        p += m;
        off += m;
        k -= m;
        if (k == 0)
            return 0;
    }
    if (off < hdr_len) {
        uint64_t m = (end < hdr_len ? end : hdr_len) - off;
        if (memcmp(p, c->exp_hdr + off, m) != 0)
            return -2;
    }
    uint64_t s = off > hdr_len ? off : hdr_len;
    if (s >= end)
        return 0;
    if (!opt.verify_full) {
        uint64_t t = opt.size >= 8 ? opt.size - 8 : 0;
        if (t < hdr_len)
            t = hdr_len;
        if (s < t)
            s = t;
        if (s >= end)
            return 0;
    }
    return memcmp(p + (s - off), tmpl + s, end - s) == 0 ? 0 : -3;
}

static inline void unmask_inplace(uint8_t *p, uint64_t n, const uint8_t mask[4], uint64_t phase_)
{
    uint8_t k[4];
    for (int j = 0; j < 4; j++)
        k[j] = mask[(phase_ + (uint64_t)j) & 3];
    mask_copy(p, p, n, k);
}

static int hexval(uint8_t ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A published message reached subscriber c: it must be the next one of its
 * publisher. */
static void on_fanout_message(struct conn *c)
{
    if (!c->ready) {
        if (c->moff != 2 || c->msg_op != 1 || memcmp(c->exp_hdr, "ok", 2) != 0) {
            error_ev(E_PROTOCOL, c->id, "fan-out: the first message must be the text \"ok\"");
            conn_kill(c, S_DEAD);
            return;
        }
        c->ready = 1;
        n_ready++;
        return;
    }
    if (c->moff != opt.size || c->msg_op != (opt.binary ? 2 : 1)) {
        error_ev(E_MISMATCH, c->id, "published message of %" PRIu64 " bytes, op %u", c->moff, c->msg_op);
        conn_kill(c, S_DEAD);
        return;
    }
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        int d = hexval(c->exp_hdr[i]);
        if (d < 0) {
            error_ev(E_MISMATCH, c->id, "published message without a sequence header");
            conn_kill(c, S_DEAD);
            return;
        }
        v |= (uint64_t)d << (4 * i);
    }
    uint32_t pub = (uint32_t)(v >> 40);
    uint64_t seq = v & 0xFFFFFFFFFFull;
    if (pub >= (uint32_t)opt.conns || seq != c->exp[pub]) {
        error_ev(E_MISMATCH, c->id, "from publisher %u got seq %" PRIu64 ", expected %" PRIu64, pub, seq,
                 pub < (uint32_t)opt.conns ? c->exp[pub] : 0);
        conn_kill(c, S_DEAD);
        return;
    }
    c->exp[pub]++;
    total_msgs++;
    if (phase == P_MEASURE) {
        m_msgs++;
        m_bytes += opt.size;
        h_record(now_ns - pub_ts[pub][seq % PUB_RING]);
    }
}

static void on_message(struct conn *c)
{
    if (opt.fanout) {
        if (!c->sub) {
            error_ev(E_PROTOCOL, c->id, "fan-out: a publisher received a message");
            conn_kill(c, S_DEAD);
            return;
        }
        on_fanout_message(c);
        return;
    }
    if (c->moff != opt.size) {
        error_ev(E_MISMATCH, c->id, "echo length %" PRIu64 " != %" PRIu64, c->moff, opt.size);
        conn_kill(c, S_DEAD);
        return;
    }
    if (c->msg_op != (opt.binary ? 2 : 1)) {
        error_ev(E_MISMATCH, c->id, "echo opcode %u, sent %u", c->msg_op, opt.binary ? 2 : 1);
        conn_kill(c, S_DEAD);
        return;
    }
    uint64_t lat = now_ns - c->send_ts[c->recv_seq % (uint64_t)opt.pipeline];
    c->recv_seq++;
    total_msgs++;
    if (phase == P_MEASURE) {
        m_msgs++;
        m_bytes += opt.size;
        h_record(lat);
    }
    if (c->state == S_OPEN && (phase == P_WARMUP || phase == P_MEASURE))
        queue_msg(c);
}

static void on_control(struct conn *c)
{
    switch (c->f_op) {
    case 9: /* ping */
        if (c->state == S_OPEN && !opt.raw)
            queue_ctrl(c, 10, c->ctrl, c->ctrl_len);
        break;
    case 10: /* pong */
        break;
    case 8: /* close */
        if (c->state == S_CLOSING) {
            conn_kill(c, S_DONE);
        } else {
            unsigned code = c->ctrl_len >= 2 ? ((unsigned)c->ctrl[0] << 8 | c->ctrl[1]) : 0;
            error_ev(E_UNEXPECTED_CLOSE, c->id, "server sent close frame (code %u) while running", code);
            conn_kill(c, S_DEAD);
        }
        break;
    }
}

/* Parse n bytes of server stream. The buffer is writable (unmasked in place
 * in --raw mode). */
static void process_input(struct conn *c, uint8_t *p, size_t n)
{
    while (n > 0 && (c->state == S_OPEN || c->state == S_CLOSING)) {
        if (!c->in_frame) {
            /* gather the header: 2 bytes, then the rest */
            uint8_t *h;
            size_t need;
            size_t have = c->hdr_have;
            if (have == 0 && n >= 2) {
                need = 2 + ((p[1] & 127) == 126 ? 2 : (p[1] & 127) == 127 ? 8 : 0) + ((p[1] & 0x80) ? 4 : 0);
                if (n >= need) { /* fast path: parse in place */
                    h = p;
                    p += need;
                    n -= need;
                    goto parse;
                }
            }
            while (c->hdr_have < 2 && n > 0) {
                c->hdr[c->hdr_have++] = *p++;
                n--;
            }
            if (c->hdr_have < 2)
                return;
            need = 2 + ((c->hdr[1] & 127) == 126 ? 2 : (c->hdr[1] & 127) == 127 ? 8 : 0) + ((c->hdr[1] & 0x80) ? 4 : 0);
            while (c->hdr_have < need && n > 0) {
                c->hdr[c->hdr_have++] = *p++;
                n--;
            }
            if (c->hdr_have < need)
                return;
            h = c->hdr;
            c->hdr_have = 0;
        parse: {
            uint8_t fin = h[0] >> 7, rsv = (h[0] >> 4) & 7, op = h[0] & 15;
            uint8_t masked = h[1] >> 7;
            uint64_t len = h[1] & 127;
            size_t i = 2;
            if (len == 126) {
                len = ((uint64_t)h[2] << 8) | h[3];
                i = 4;
            } else if (len == 127) {
                len = 0;
                for (int j = 0; j < 8; j++)
                    len = (len << 8) | h[2 + j];
                i = 10;
            }
            if (rsv) {
                error_ev(E_PROTOCOL, c->id, "RSV bits set (0x%x) - compression was not negotiated", rsv);
                conn_kill(c, S_DEAD);
                return;
            }
            if (masked != (uint8_t)opt.raw) {
                error_ev(E_PROTOCOL, c->id, opt.raw ? "--raw: expected our masked frames echoed verbatim"
                                                    : "server frame is masked");
                conn_kill(c, S_DEAD);
                return;
            }
            if (masked)
                memcpy(c->f_mask, h + i, 4);
            if (op >= 8) {
                if (op > 10 || !fin || len > 125) {
                    error_ev(E_PROTOCOL, c->id, "bad control frame op=%u fin=%u len=%" PRIu64, op, fin, len);
                    conn_kill(c, S_DEAD);
                    return;
                }
                c->ctrl_len = 0;
            } else if (op == 0) {
                if (!c->in_msg) {
                    error_ev(E_PROTOCOL, c->id, "continuation frame without a message");
                    conn_kill(c, S_DEAD);
                    return;
                }
            } else if (op == 1 || op == 2) {
                if (c->in_msg) {
                    error_ev(E_PROTOCOL, c->id, "new data frame inside a fragmented message");
                    conn_kill(c, S_DEAD);
                    return;
                }
                if (!opt.fanout && c->recv_seq >= c->send_seq) {
                    error_ev(E_MISMATCH, c->id, "message received but none in flight");
                    conn_kill(c, S_DEAD);
                    return;
                }
                c->in_msg = 1;
                c->msg_op = op;
                c->moff = 0;
                if (!opt.fanout)
                    make_hdr(c->exp_hdr, c->id, c->recv_seq);
            } else {
                error_ev(E_PROTOCOL, c->id, "reserved opcode %u", op);
                conn_kill(c, S_DEAD);
                return;
            }
            c->f_op = op;
            c->f_fin = fin;
            c->f_masked = masked;
            c->f_rem = len;
            c->f_pos = 0;
            c->in_frame = 1;
        }
        }
        if (c->f_rem > 0) {
            size_t k = c->f_rem < n ? (size_t)c->f_rem : n;
            if (c->f_masked)
                unmask_inplace(p, k, c->f_mask, c->f_pos);
            if (c->f_op >= 8) {
                memcpy(c->ctrl + c->ctrl_len, p, k);
                c->ctrl_len = (uint8_t)(c->ctrl_len + k);
            } else {
                int v = verify_chunk(c, p, c->moff, k);
                if (v) {
                    if (v == -1)
                        error_ev(E_MISMATCH, c->id, "echo longer than %" PRIu64 " bytes", opt.size);
                    else
                        error_ev(E_MISMATCH, c->id, "payload differs (seq %" PRIu64 ", offset %" PRIu64 "%s)",
                                 c->recv_seq, c->moff, v == -2 ? ", sequence header" : "");
                    conn_kill(c, S_DEAD);
                    return;
                }
                c->moff += k;
            }
            c->f_rem -= k;
            c->f_pos += k;
            p += k;
            n -= k;
        }
        if (c->f_rem == 0) {
            c->in_frame = 0;
            if (c->f_op >= 8) {
                on_control(c);
            } else if (c->f_fin) {
                c->in_msg = 0;
                on_message(c);
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* handshake                                                            */

static void b64(const uint8_t *in, int n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, n);
}

static void expected_accept(const char *key, char out[64])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%s%s", key, guid);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
    b64(md, (int)mdlen, out);
}

static void start_connect(struct conn *c)
{
    c->t_start = now_ns;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        error_ev(E_CONNECT, c->id, "socket: %s", strerror(errno));
        c->state = S_DEAD;
        n_failed++;
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = S_CONNECTING;
    n_pending++;
    int r = connect(c->fd, (struct sockaddr *)&opt.addr, sizeof opt.addr);
    if (r < 0 && errno != EINPROGRESS) {
        error_ev(E_CONNECT, c->id, "connect: %s", strerror(errno));
        conn_kill(c, S_DEAD);
        n_failed++;
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        error_ev(E_CONNECT, c->id, "epoll_ctl: %s", strerror(errno));
        conn_kill(c, S_DEAD);
        n_failed++;
    }
}

static void fail_pending(struct conn *c, int kind, const char *what)
{
    error_ev(kind, c->id, "%s", what);
    conn_kill(c, S_DEAD);
    n_failed++;
}

static void on_connected(struct conn *c)
{
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        err = errno;
    if (err) {
        fail_pending(c, E_CONNECT, strerror(err));
        return;
    }
    uint8_t rnd[16];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = rng64();
        memcpy(rnd + i, &r, 8);
    }
    b64(rnd, 16, c->key_b64);
    char req[2048], path[1100];
    if (opt.fanout)
        snprintf(path, sizeof path, "%s%crole=%s", opt.path, strchr(opt.path, '?') ? '&' : '?',
                 c->sub ? "sub" : "pub");
    else
        snprintf(path, sizeof path, "%s", opt.path);
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "User-Agent: uvws_loadgen\r\n"
                     "\r\n",
                     path, opt.hostport, c->key_b64);
    ssize_t w = send(c->fd, req, (size_t)n, MSG_NOSIGNAL);
    if (w != n) {
        fail_pending(c, E_HANDSHAKE, "could not send the upgrade request");
        return;
    }
    c->hsbuf = malloc(HS_MAX);
    if (!c->hsbuf) {
        fail_pending(c, E_HANDSHAKE, "out of memory");
        return;
    }
    c->hslen = 0;
    c->state = S_HANDSHAKE;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static char *trim(char *s, char *e)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *e = 0;
    return s;
}

/* returns 1 when the handshake is complete and valid, 0 need more, -1 failed */
static int check_handshake(struct conn *c, size_t *consumed)
{
    char *buf = c->hsbuf;
    char *end = memmem(buf, c->hslen, "\r\n\r\n", 4);
    if (!end) {
        if (c->hslen >= HS_MAX - 1) {
            error_ev(E_HANDSHAKE, c->id, "response headers larger than %d bytes", HS_MAX);
            return -1;
        }
        return 0;
    }
    *consumed = (size_t)(end - buf) + 4;
    *end = 0;
    if (strncmp(buf, "HTTP/1.1 101", 12) != 0) {
        char *eol = strstr(buf, "\r\n");
        if (eol)
            *eol = 0;
        error_ev(E_HANDSHAKE, c->id, "status line '%.80s'", buf);
        return -1;
    }
    char acc[64];
    expected_accept(c->key_b64, acc);
    int got_accept = 0, got_upgrade = 0;
    char *line = strstr(buf, "\r\n");
    while (line) {
        line += 2;
        char *eol = strstr(line, "\r\n");
        char *le = eol ? eol : line + strlen(line);
        char *colon = memchr(line, ':', (size_t)(le - line));
        if (colon) {
            *colon = 0;
            char *name = trim(line, colon);
            char *val = trim(colon + 1, le);
            if (!strcasecmp(name, "sec-websocket-accept")) {
                if (strcmp(val, acc) != 0) {
                    error_ev(E_HANDSHAKE, c->id, "bad Sec-WebSocket-Accept '%s' (expected '%s')", val, acc);
                    return -1;
                }
                got_accept = 1;
            } else if (!strcasecmp(name, "upgrade")) {
                got_upgrade = !strcasecmp(val, "websocket");
            } else if (!strcasecmp(name, "sec-websocket-extensions") && *val) {
                error_ev(E_HANDSHAKE, c->id, "server negotiated extensions '%s' we did not offer", val);
                return -1;
            }
        }
        line = eol;
    }
    if (!got_accept || !got_upgrade) {
        error_ev(E_HANDSHAKE, c->id, "missing %s", !got_accept ? "Sec-WebSocket-Accept" : "Upgrade: websocket");
        return -1;
    }
    return 1;
}

static size_t wbuf_capacity(void)
{
    /* fan-out publishers: room for a few bursts the socket did not take */
    size_t n = opt.fanout ? (size_t)opt.burst * 8 + 64 : (size_t)opt.pipeline;
    return n * (size_t)(opt.size + 14) + 4096;
}

static void on_handshake_readable(struct conn *c)
{
    ssize_t r = recv(c->fd, c->hsbuf + c->hslen, HS_MAX - 1 - c->hslen, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        fail_pending(c, E_HANDSHAKE, r == 0 ? "connection closed during handshake" : strerror(errno));
        return;
    }
    c->hslen += (uint32_t)r;
    size_t consumed = 0;
    int v = check_handshake(c, &consumed);
    if (v == 0)
        return;
    if (v < 0) {
        conn_kill(c, S_DEAD);
        n_failed++;
        return;
    }
    c->wcap = wbuf_capacity();
    c->wbuf = malloc(c->wcap);
    c->send_ts = calloc((size_t)opt.pipeline, sizeof(uint64_t));
    if (!c->wbuf || !c->send_ts) {
        fail_pending(c, E_HANDSHAKE, "out of memory");
        return;
    }
    n_pending--;
    c->state = S_OPEN;
    n_connected++;
    n_alive++;
    size_t extra = c->hslen - consumed;
    if (extra) { /* frames right after the 101 */
        memcpy(rbuf, c->hsbuf + consumed, extra);
        free(c->hsbuf);
        c->hsbuf = NULL;
        process_input(c, rbuf, extra);
    } else {
        free(c->hsbuf);
        c->hsbuf = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* event handling                                                       */

static void on_readable(struct conn *c)
{
    for (int round = 0; round < 4 && (c->state == S_OPEN || c->state == S_CLOSING); round++) {
        ssize_t r = recv(c->fd, rbuf, RBUF_SIZE, 0);
        if (r > 0) {
            now_ns = mono_ns();
            process_input(c, rbuf, (size_t)r);
            if ((size_t)r < RBUF_SIZE)
                break;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        error_ev(E_UNEXPECTED_CLOSE, c->id, "%s%s", r == 0 ? "EOF" : strerror(errno),
                 c->state == S_CLOSING ? " before the server's close frame" : "");
        conn_kill(c, S_DEAD);
        return;
    }
    if ((c->state == S_OPEN || c->state == S_CLOSING) && c->wlen > c->whead)
        conn_flush(c);
}

static void handle_event(struct conn *c, uint32_t events)
{
    switch (c->state) {
    case S_CONNECTING:
        on_connected(c);
        break;
    case S_HANDSHAKE:
        on_handshake_readable(c);
        break;
    case S_OPEN:
    case S_CLOSING:
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            on_readable(c);
        if ((events & EPOLLOUT) && (c->state == S_OPEN || c->state == S_CLOSING))
            conn_flush(c);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ */
/* CPU accounting                                                       */

/* utime+stime of a process (all its threads) in microseconds, -1 on error */
/* Resident memory of a process (VmRSS), KiB; -1 if unknown. */
static long proc_rss_kib(int pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = atol(line + 6);
    fclose(f);
    return kib;
}

static double proc_cpu_us(int pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p += 2; /* field 3 (state) */
    unsigned long long ut = 0, st = 0;
    /* fields 3..13 skipped, then 14 utime, 15 stime */
    if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return (double)(ut + st) * 1e6 / (double)(hz > 0 ? hz : 100);
}

/* The CPUs whose busy time is compared with ours: the union of the
 * affinity masks of this process and of --cpu-pid. When that is every CPU,
 * the machine's total line of /proc/stat is used. */
static cpu_set_t scope_set;
static int scope_all = 1;
static char scope_desc[256] = "all";

static void init_cpu_scope(void)
{
    cpu_set_t a, b;
    CPU_ZERO(&a);
    if (sched_getaffinity(0, sizeof a, &a) != 0)
        return;
    if (opt.cpu_pid > 0) {
        CPU_ZERO(&b);
        if (sched_getaffinity(opt.cpu_pid, sizeof b, &b) != 0)
            return;
        CPU_OR(&a, &a, &b);
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu <= 0 || CPU_COUNT(&a) >= ncpu)
        return;
    scope_set = a;
    scope_all = 0;
    size_t off = 0;
    scope_desc[0] = 0;
    for (int i = 0; i < CPU_SETSIZE && off + 8 < sizeof scope_desc; i++)
        if (CPU_ISSET(i, &a))
            off += (size_t)snprintf(scope_desc + off, sizeof scope_desc - off, "%scpu%d", off ? "+" : "", i);
}

/* busy CPU time of the scope's CPUs in microseconds, -1 on error */
static double system_busy_us(void)
{
    static char buf[65536];
    int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    unsigned long long busy = 0;
    int found = 0;
    for (char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, "cpu", 3) != 0)
            break;
        int idx = -1;
        if (line[3] == ' ') {
            if (!scope_all)
                continue;
        } else {
            idx = atoi(line + 3);
            if (scope_all || idx < 0 || idx >= CPU_SETSIZE || !CPU_ISSET(idx, &scope_set))
                continue;
        }
        unsigned long long v[8] = {0};
        char *p = line + 3;
        while (*p && *p != ' ')
            p++;
        if (sscanf(p, " %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                   &v[7]) < 8)
            return -1;
        /* user nice system [idle iowait] irq softirq steal */
        busy += v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        found = 1;
        if (scope_all)
            break;
    }
    if (!found)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return (double)busy * 1e6 / (double)(hz > 0 ? hz : 100);
}

static double self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* ------------------------------------------------------------------ */
/* main                                                                 */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: uvws_loadgen --url ws://127.0.0.1:PORT/PATH [options]\n"
            "  -c N                connections (default 1)\n"
            "  -s BYTES            message size (default 16; suffixes k/K, m/M = 1024-based)\n"
            "  -d SECONDS          measured duration (default 5, max 3600)\n"
            "  --warmup SECONDS    warm-up before measuring (default 1)\n"
            "  --binary | --text   message type (default binary)\n"
            "  --pipeline N        messages in flight per connection (default 1)\n"
            "  --json              print one JSON line instead of the text report\n"
            "  --cpu-pid PID       sample /proc/PID/stat CPU time at start/end of the measured window\n"
            "  --raw               server echoes bytes verbatim (bench/peers/raw_tcp_echo):\n"
            "                      expect our own masked frames back\n"
            "  --verify full|cheap check every payload byte (default) or header+last 8 bytes\n"
            "  --connect-concurrency N  max connections connecting at once (default 128)\n"
            "  --connect-timeout S total time allowed to connect everything (default 20)\n"
            "  --msg-timeout S     an echo that takes longer is an error (lost message; default 5)\n"
            "  --label NAME        free text copied into the JSON output\n"
            "  --fanout N          publish/subscribe: N subscribers, -c publishers (see the top of loadgen.c)\n"
            "  --rate R            fan-out: messages per second from all publishers (default 100)\n"
            "  --burst B           fan-out: messages sent back to back each time (default 1)\n"
            "Only loopback targets (127.0.0.0/8, localhost) are accepted.\n");
}

static uint64_t parse_size(const char *s)
{
    char *e;
    double v = strtod(s, &e);
    if (e == s || v < 0)
        return UINT64_MAX;
    if (*e == 'k' || *e == 'K')
        v *= 1024, e++;
    else if (*e == 'm' || *e == 'M')
        v *= 1024 * 1024, e++;
    if (*e == 'i' || *e == 'B')
        e++;
    if (*e == 'B')
        e++;
    if (*e)
        return UINT64_MAX;
    return (uint64_t)v;
}

static int parse_url(const char *url)
{
    if (strncmp(url, "ws://", 5) != 0) {
        fprintf(stderr, "loadgen: only ws:// URLs are supported\n");
        return -1;
    }
    const char *h = url + 5;
    const char *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (hl == 0 || hl >= sizeof opt.hostport) {
        fprintf(stderr, "loadgen: bad host in URL\n");
        return -1;
    }
    memcpy(opt.hostport, h, hl);
    opt.hostport[hl] = 0;
    snprintf(opt.path, sizeof opt.path, "%s", slash ? slash : "/");
    char *colon = strrchr(opt.hostport, ':');
    int port = 80;
    size_t nl = hl;
    if (colon) {
        port = atoi(colon + 1);
        nl = (size_t)(colon - opt.hostport);
    }
    if (port <= 0 || port > 65535 || nl == 0 || nl >= sizeof opt.host) {
        fprintf(stderr, "loadgen: bad host or port in URL\n");
        return -1;
    }
    memcpy(opt.host, opt.hostport, nl);
    opt.host[nl] = 0;
    memset(&opt.addr, 0, sizeof opt.addr);
    opt.addr.sin_family = AF_INET;
    opt.addr.sin_port = htons((uint16_t)port);
    const char *ip = !strcasecmp(opt.host, "localhost") ? "127.0.0.1" : opt.host;
    if (inet_pton(AF_INET, ip, &opt.addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: host must be an IPv4 loopback address or localhost\n");
        return -1;
    }
    if ((ntohl(opt.addr.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "loadgen: refusing non-loopback target %s (only 127.0.0.0/8)\n", opt.host);
        return -1;
    }
    return 0;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ------------------------------------------------------------------ */
/* fan-out: readiness, the publishing schedule, the final catch-up       */

static int fanout_ready(void)
{
    for (int i = opt.conns; i < n_total; i++)
        if (conns[i].state == S_OPEN && !conns[i].ready)
            return 0;
    return 1;
}

static uint64_t pub_t0, bursts_sent;
static uint64_t next_burst_ns(void)
{
    return pub_t0 + (uint64_t)((double)bursts_sent * (double)opt.burst / opt.rate * 1e9);
}

/* Send every burst that is due (catching up when the loop was late), round
 * robin over the publishers, then write. */
static void publish_due(void)
{
    int sent_any = 0;
    static uint64_t next_pub;
    while (next_burst_ns() <= now_ns) {
        for (int k = 0; k < opt.burst; k++) {
            struct conn *c = NULL;
            for (int tries = 0; tries < opt.conns && !c; tries++) {
                struct conn *x = &conns[next_pub++ % (uint64_t)opt.conns];
                if (x->state == S_OPEN)
                    c = x;
            }
            if (!c)
                return;
            if (queue_msg(c) < 0)
                continue;
            sent_any = 1;
        }
        bursts_sent++;
    }
    for (int i = 0; sent_any && i < opt.conns; i++)
        if (conns[i].state == S_OPEN && conns[i].wlen > conns[i].whead)
            conn_flush(&conns[i]);
}

static int fanout_drained(void)
{
    for (int i = opt.conns; i < n_total; i++) {
        const struct conn *c = &conns[i];
        if (c->state != S_OPEN)
            continue;
        for (int p = 0; p < opt.conns; p++)
            if (c->exp[p] < conns[p].send_seq)
                return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (fprintf(stderr, "loadgen: %s needs a value\n", a), exit(2), (char *)0))
        if (!strcmp(a, "--url"))
            url = NEXT();
        else if (!strcmp(a, "-c") || !strcmp(a, "--connections"))
            opt.conns = atoi(NEXT());
        else if (!strcmp(a, "-s") || !strcmp(a, "--size")) {
            opt.size = parse_size(NEXT());
            if (opt.size == UINT64_MAX || opt.size > (1ull << 30)) {
                fprintf(stderr, "loadgen: bad size (0 .. 1 GiB)\n");
                return 2;
            }
        } else if (!strcmp(a, "-d") || !strcmp(a, "--duration"))
            opt.duration = atof(NEXT());
        else if (!strcmp(a, "--warmup"))
            opt.warmup = atof(NEXT());
        else if (!strcmp(a, "--binary"))
            opt.binary = 1;
        else if (!strcmp(a, "--text"))
            opt.binary = 0;
        else if (!strcmp(a, "--pipeline"))
            opt.pipeline = atoi(NEXT());
        else if (!strcmp(a, "--json"))
            opt.json = 1;
        else if (!strcmp(a, "--raw"))
            opt.raw = 1;
        else if (!strcmp(a, "--cpu-pid"))
            opt.cpu_pid = atoi(NEXT());
        else if (!strcmp(a, "--verify")) {
            const char *v = NEXT();
            if (!strcmp(v, "full"))
                opt.verify_full = 1;
            else if (!strcmp(v, "cheap"))
                opt.verify_full = 0;
            else {
                fprintf(stderr, "loadgen: --verify full|cheap\n");
                return 2;
            }
        } else if (!strcmp(a, "--connect-concurrency"))
            opt.connect_concurrency = atoi(NEXT());
        else if (!strcmp(a, "--connect-timeout"))
            opt.connect_timeout = atof(NEXT());
        else if (!strcmp(a, "--msg-timeout"))
            opt.msg_timeout = atof(NEXT());
        else if (!strcmp(a, "--label"))
            opt.label = NEXT();
        else if (!strcmp(a, "--fanout"))
            opt.fanout = atoi(NEXT());
        else if (!strcmp(a, "--rate"))
            opt.rate = atof(NEXT());
        else if (!strcmp(a, "--burst"))
            opt.burst = atoi(NEXT());
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "loadgen: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
#undef NEXT
    }
    if (!url) {
        usage(stderr);
        return 2;
    }
    if (parse_url(url) < 0)
        return 2;
    if (opt.conns < 1 || opt.conns > 1000000 || opt.pipeline < 1 || opt.pipeline > 1000000 ||
        !(opt.duration > 0 && opt.duration <= MAX_DURATION) || !(opt.warmup >= 0 && opt.warmup <= MAX_DURATION) ||
        opt.connect_concurrency < 1 || !(opt.connect_timeout > 0 && opt.connect_timeout <= 600) ||
        !(opt.msg_timeout > 0 && opt.msg_timeout <= 600) || opt.fanout < 0 || opt.fanout > 1000000 ||
        (opt.fanout && (opt.size < 16 || !(opt.rate > 0 && opt.rate <= 1e7) || opt.burst < 1 || opt.burst > 100000 ||
                        opt.conns > 65536))) {
        fprintf(stderr, "loadgen: option out of range\n");
        return 2;
    }
    if (opt.label)
        for (const char *q = opt.label; *q; q++)
            if (*q == '"' || *q == '\\' || (unsigned char)*q < 32) {
                fprintf(stderr, "loadgen: --label must not contain quotes, backslashes or control characters\n");
                return 2;
            }

    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    hdr_len = opt.size < 16 ? (unsigned)opt.size : 16;
    tmpl = malloc(opt.size ? opt.size : 1);
    rbuf = malloc(RBUF_SIZE);
    n_total = opt.conns + opt.fanout;
    conns = calloc((size_t)n_total, sizeof *conns);
    if (opt.fanout) {
        pub_ts = calloc((size_t)opt.conns, sizeof *pub_ts);
        for (int i = 0; pub_ts && i < opt.conns; i++)
            if (!(pub_ts[i] = calloc(PUB_RING, sizeof **pub_ts)))
                pub_ts = NULL;
    }
    if (!tmpl || !rbuf || !conns || (opt.fanout && !pub_ts)) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    /* printable ASCII (valid UTF-8 for --text), not periodic on short scales */
    for (uint64_t i = 0; i < opt.size; i++)
        tmpl[i] = (uint8_t)(33 + ((i * 31u + (i >> 7) * 7u + (i >> 13)) % 94u));
    rng_state ^= mono_ns() ^ ((uint64_t)getpid() << 32);
    for (int i = 0; i < n_total; i++) {
        conns[i].fd = -1;
        conns[i].id = (uint32_t)i;
        conns[i].state = S_IDLE;
        if (i >= opt.conns) {
            conns[i].sub = 1;
            if (!(conns[i].exp = calloc((size_t)opt.conns, sizeof(uint64_t)))) {
                fprintf(stderr, "loadgen: out of memory\n");
                return 1;
            }
        }
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        perror("epoll_create1");
        return 1;
    }

    enum { MAXEV = 512 };
    struct epoll_event evs[MAXEV];
    now_ns = mono_ns();
    const uint64_t t_begin = now_ns;
    const uint64_t connect_deadline = now_ns + (uint64_t)(opt.connect_timeout * 1e9);
    uint64_t t_connected = 0, warm_end = 0, t0 = 0, t1 = 0, measure_end = 0, close_deadline = 0, drain_deadline = 0;
    double cpu0 = -1, cpu1 = -1, self0 = 0, self1 = 0, sys0 = -1, sys1 = -1;
    int next_conn = 0;
    int aborted = 0;
    uint64_t next_scan = 0;
    const uint64_t msg_timeout_ns = (uint64_t)(opt.msg_timeout * 1e9);
    /* The server's RSS before the first connection, once half of them are
     * open and once all are (handshakes done, no message yet). What one
     * more connection costs is the growth over the second half: by then
     * the server's first-use buffers and the peak of concurrent handshakes
     * (at most --connect-concurrency) are paid for already. */
    long rss0 = opt.cpu_pid > 0 ? proc_rss_kib(opt.cpu_pid) : -1, rss_half = -1, rss1 = -1;
    int n_half = 0;

    for (;;) {
        /* phase bookkeeping */
        if (phase == P_CONNECT) {
            if (opt.cpu_pid > 0 && rss_half < 0 && n_total >= 2 && n_connected >= n_total / 2) {
                rss_half = proc_rss_kib(opt.cpu_pid);
                n_half = n_connected;
            }
            while (next_conn < n_total && n_pending < opt.connect_concurrency) {
                start_connect(&conns[next_conn++]);
                n_started++;
            }
            if (now_ns >= connect_deadline || stop_flag) {
                for (int i = 0; i < n_total; i++) {
                    struct conn *c = &conns[i];
                    if (c->state == S_CONNECTING || c->state == S_HANDSHAKE || c->state == S_IDLE) {
                        if (c->state == S_IDLE)
                            c->state = S_DEAD, n_failed++, error_ev(E_CONNECT, c->id, "not started before the connect timeout");
                        else
                            fail_pending(c, c->state == S_CONNECTING ? E_CONNECT : E_HANDSHAKE, "timed out");
                    }
                }
                next_conn = n_total;
            }
            /* fan-out: every subscriber also has its "ok" (subscribed) */
            if (n_connected + n_failed >= n_total && (!opt.fanout || fanout_ready())) {
                t_connected = now_ns;
                if (opt.cpu_pid > 0)
                    rss1 = proc_rss_kib(opt.cpu_pid);
                if (n_connected == 0 || stop_flag) {
                    aborted = 1;
                    break;
                }
                phase = P_WARMUP;
                warm_end = now_ns + (uint64_t)(opt.warmup * 1e9);
                pub_t0 = now_ns;
                for (int i = 0; i < n_total && !opt.fanout; i++) {
                    struct conn *c = &conns[i];
                    if (c->state != S_OPEN)
                        continue;
                    for (int k = 0; k < opt.pipeline && c->state == S_OPEN; k++)
                        queue_msg(c);
                    if (c->state == S_OPEN)
                        conn_flush(c);
                }
            }
        }
        if (phase == P_WARMUP && (now_ns >= warm_end || stop_flag)) {
            phase = P_MEASURE;
            h_reset();
            m_msgs = m_bytes = 0;
            if (opt.cpu_pid > 0)
                cpu0 = proc_cpu_us(opt.cpu_pid);
            init_cpu_scope();
            self0 = self_cpu_us();
            sys0 = system_busy_us();
            now_ns = mono_ns();
            t0 = now_ns;
            measure_end = t0 + (uint64_t)(opt.duration * 1e9);
        }
        if (phase == P_MEASURE && (now_ns >= measure_end || stop_flag || n_alive == 0)) {
            t1 = now_ns;
            if (opt.cpu_pid > 0)
                cpu1 = proc_cpu_us(opt.cpu_pid);
            self1 = self_cpu_us();
            sys1 = system_busy_us();
            phase = opt.fanout ? P_DRAIN : P_CLOSING;
            drain_deadline = now_ns + msg_timeout_ns;
        }
        if (phase == P_DRAIN && (fanout_drained() || now_ns >= drain_deadline || stop_flag)) {
            for (int i = opt.conns; i < n_total; i++) {
                struct conn *c = &conns[i];
                for (int p = 0; c->state == S_OPEN && p < opt.conns; p++)
                    if (c->exp[p] < conns[p].send_seq) {
                        error_ev(E_MSG_TIMEOUT, c->id, "publisher %d's message %" PRIu64 " (of %" PRIu64
                                 ") not delivered %.1f s after publishing stopped", p, c->exp[p],
                                 conns[p].send_seq, opt.msg_timeout);
                        conn_kill(c, S_DEAD);
                    }
            }
            phase = P_CLOSING;
        }
        if (phase == P_CLOSING && close_deadline == 0) {
            close_deadline = now_ns + (uint64_t)(opt.close_timeout * 1e9);
            for (int i = 0; i < n_total; i++) {
                struct conn *c = &conns[i];
                if (c->state != S_OPEN)
                    continue;
                c->state = S_CLOSING;
                queue_close(c);
                conn_flush(c);
            }
        }
        if (phase == P_CLOSING) {
            if (n_alive == 0)
                break;
            if (now_ns >= close_deadline) {
                for (int i = 0; i < n_total; i++) {
                    struct conn *c = &conns[i];
                    if (c->state == S_OPEN || c->state == S_CLOSING) {
                        error_ev(E_CLOSE_TIMEOUT, c->id, "no close frame from the server within %.1f s", opt.close_timeout);
                        conn_kill(c, S_DEAD);
                    }
                }
                break;
            }
        }

        if (opt.fanout && (phase == P_WARMUP || phase == P_MEASURE))
            publish_due();
        /* lost echoes: the oldest message in flight waited too long (scan every 100 ms) */
        if (!opt.fanout && (phase == P_WARMUP || phase == P_MEASURE) && now_ns >= next_scan) {
            next_scan = now_ns + 100000000ull;
            for (int i = 0; i < n_total; i++) {
                struct conn *c = &conns[i];
                if (c->state != S_OPEN || c->recv_seq >= c->send_seq)
                    continue;
                uint64_t ts = c->send_ts[c->recv_seq % (uint64_t)opt.pipeline];
                if (now_ns > ts && now_ns - ts > msg_timeout_ns) {
                    error_ev(E_MSG_TIMEOUT, c->id, "no echo of message %" PRIu64 " after %.1f s", c->recv_seq,
                             opt.msg_timeout);
                    conn_kill(c, S_DEAD);
                }
            }
        }

        /* wait */
        uint64_t deadline = phase == P_CONNECT ? connect_deadline
                            : phase == P_WARMUP ? warm_end
                            : phase == P_MEASURE ? measure_end
                            : phase == P_DRAIN ? drain_deadline
                                                 : close_deadline;
        if (opt.fanout && (phase == P_WARMUP || phase == P_MEASURE) && next_burst_ns() < deadline)
            deadline = next_burst_ns();
        int timeout_ms = deadline > now_ns ? (int)((deadline - now_ns + 999999) / 1000000) : 0;
        if (timeout_ms > 100)
            timeout_ms = 100;
        int n = epoll_wait(epfd, evs, MAXEV, timeout_ms);
        now_ns = mono_ns();
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++)
            handle_event((struct conn *)evs[i].data.ptr, evs[i].events);
        /* hard bound on the whole run, whatever happens */
        if (now_ns - t_begin > (uint64_t)((opt.connect_timeout + opt.warmup + opt.duration + opt.close_timeout + 30 +
                                           (opt.fanout ? opt.msg_timeout : 0)) * 1e9)) {
            fprintf(stderr, "loadgen: hard time limit reached\n");
            aborted = 1;
            break;
        }
    }

    for (int i = 0; i < n_total; i++) {
        if (conns[i].fd >= 0)
            close(conns[i].fd);
        free(conns[i].wbuf);
        free(conns[i].send_ts);
        free(conns[i].hsbuf);
        free(conns[i].exp);
    }

    double secs = (t1 > t0) ? (double)(t1 - t0) / 1e9 : 0;
    if (!aborted && m_msgs == 0)
        error_ev(E_NO_MESSAGES, 0, "no echo received in the measured window");
    uint64_t nerr = 0;
    for (int k = 0; k < E__N; k++)
        nerr += errs[k];
    if (aborted && nerr == 0)
        nerr = 1;
    double mps = secs > 0 ? (double)m_msgs / secs : 0;
    double bps = secs > 0 ? (double)m_bytes / secs : 0;
    double srv_cpu = (cpu0 >= 0 && cpu1 >= 0) ? cpu1 - cpu0 : -1;
    double self_cpu = self1 - self0;
    double sys_cpu = (sys0 >= 0 && sys1 >= 0) ? sys1 - sys0 : -1;
    /* CPU used by everything else on the machine during the window */
    double other_cpu = sys_cpu >= 0 ? sys_cpu - self_cpu - (srv_cpu > 0 ? srv_cpu : 0) : -1;
    double p50 = h_pct_us(0.50), p90 = h_pct_us(0.90), p99 = h_pct_us(0.99), p999 = h_pct_us(0.999);
    double mx = (double)hist_max / 1000.0, mean = hist_count ? hist_sum / (double)hist_count / 1000.0 : 0;
    double connect_s = t_connected > t_begin ? (double)(t_connected - t_begin) / 1e9 : 0;

    uint64_t published = 0;
    for (int i = 0; opt.fanout && i < opt.conns; i++)
        published += conns[i].send_seq;
    if (opt.json) {
        printf("{\"mode\":\"%s\",\"subscribers\":%d,\"rate\":%.1f,\"burst\":%d,\"published\":%" PRIu64 ",",
               opt.fanout ? "fanout" : "echo", opt.fanout, opt.fanout ? opt.rate : 0, opt.fanout ? opt.burst : 0,
               published);
        printf("\"label\":\"%s\",\"url\":\"ws://%s%s\",\"connections\":%d,\"connected\":%d,\"size\":%" PRIu64
               ",\"type\":\"%s\",\"pipeline\":%d,\"raw\":%s,\"warmup_s\":%.3f,\"duration_s\":%.6f,\"connect_s\":%.3f,"
               "\"messages\":%" PRIu64 ",\"msgs_per_s\":%.1f,\"bytes_per_s\":%.1f,"
               "\"latency_us\":{\"mean\":%.2f,\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p99_9\":%.2f,\"max\":%.2f},"
               "\"server_pid\":%d,\"server_cpu_us\":%.0f,\"server_cpu_us_per_msg\":%.4f,\"server_cpu_util\":%.4f,"
               "\"loadgen_cpu_us\":%.0f,\"loadgen_cpu_us_per_msg\":%.4f,\"system_cpu_us\":%.0f,\"other_cpu_util\":%.4f,\"cpu_scope\":\"%s\","
               "\"server_rss_kib_before\":%ld,\"server_rss_kib_half\":%ld,\"server_rss_kib_connected\":%ld,"
               "\"server_rss_kib_per_conn\":%.4f,"
               "\"errors\":{\"total\":%" PRIu64,
               opt.label ? opt.label : "", opt.hostport, opt.path, opt.conns, n_connected, opt.size,
               opt.binary ? "binary" : "text", opt.pipeline, opt.raw ? "true" : "false", opt.warmup, secs, connect_s,
               m_msgs, mps, bps, mean, p50, p90, p99, p999, mx, opt.cpu_pid, srv_cpu,
               (srv_cpu >= 0 && m_msgs) ? srv_cpu / (double)m_msgs : -1, (srv_cpu >= 0 && secs > 0) ? srv_cpu / 1e6 / secs : -1,
               self_cpu, m_msgs ? self_cpu / (double)m_msgs : -1, sys_cpu,
               (other_cpu >= 0 && secs > 0) ? other_cpu / 1e6 / secs : -1, scope_desc, rss0, rss_half, rss1,
               (rss_half >= 0 && rss1 >= 0 && n_connected > n_half) ? (double)(rss1 - rss_half) / (n_connected - n_half) : -1,
               nerr);
        for (int k = 0; k < E__N; k++)
            printf(",\"%s\":%" PRIu64, err_names[k], errs[k]);
        printf("}}\n");
    } else {
        printf("target        ws://%s%s (%s%s, %" PRIu64 " B, %d conns, pipeline %d)\n", opt.hostport, opt.path,
               opt.binary ? "binary" : "text", opt.raw ? ", raw" : "", opt.size, opt.conns, opt.pipeline);
        if (opt.fanout)
            printf("fan-out       %d subscribers, %d publishers, %.0f msg/s in bursts of %d; %" PRIu64
                   " published, each delivered to every subscriber in order\n",
                   opt.fanout, opt.conns, opt.rate, opt.burst, published);
        printf("connected     %d/%d in %.3f s\n", n_connected, n_total, connect_s);
        printf("duration      %.3f s measured (after %.1f s warm-up)\n", secs, opt.warmup);
        printf("messages      %" PRIu64 " %s, %.1f msg/s, %.2f MB/s payload\n", m_msgs, opt.fanout ? "delivered" : "echoed", mps, bps / 1e6);
        printf("latency us    mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", mean, p50, p90, p99, p999, mx);
        if (opt.cpu_pid > 0)
            printf("server cpu    %.0f us (%.1f %% of a core), %.3f us/msg  [pid %d]\n", srv_cpu,
                   secs > 0 ? srv_cpu / 1e4 / secs : 0, m_msgs ? srv_cpu / (double)m_msgs : 0, opt.cpu_pid);
        if (rss_half >= 0 && rss1 >= 0 && n_connected > n_half)
            printf("server rss    %ld KiB before, %ld KiB with %d connections open, %ld KiB with %d: %.3f KiB per "
                   "connection over the second half\n",
                   rss0, rss_half, n_half, rss1, n_connected, (double)(rss1 - rss_half) / (n_connected - n_half));
        printf("loadgen cpu   %.0f us (%.1f %% of a core), %.3f us/msg\n", self_cpu, secs > 0 ? self_cpu / 1e4 / secs : 0,
               m_msgs ? self_cpu / (double)m_msgs : 0);
        if (other_cpu >= 0 && secs > 0)
            printf("other cpu     %.1f %% of a core used by other processes during the window (cpus: %s)\n",
                   other_cpu / 1e4 / secs, scope_desc);
        printf("errors        %" PRIu64, nerr);
        for (int k = 0; k < E__N; k++)
            if (errs[k])
                printf("  %s=%" PRIu64, err_names[k], errs[k]);
        printf("\n");
    }
    fflush(stdout);
    (void)total_msgs;
    (void)n_started;
    return nerr ? 1 : 0;
}

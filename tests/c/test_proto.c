/* The receive-side state machine (uvws_proto.h), driven with crafted frame
 * streams. Every stream is fed whole, byte by byte, in random pieces, at
 * every split point (small streams) and through uvws_proto_read_target() the
 * way the transport reads large frames; all must produce the same events. */
#include "test.h"
#include "uvws.h"
#include "uvws_proto.h"

/* ------------------------------------------------------------------ */
/* Building streams                                                    */
/* ------------------------------------------------------------------ */

typedef struct {
  uint8_t *p;
  size_t len, cap;
} buf_t;

static void buf_put(buf_t *b, const void *d, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
  }
  if (n) memcpy(b->p + b->len, d, n);
  b->len += n;
}

static void buf_free(buf_t *b) {
  free(b->p);
  memset(b, 0, sizeof(*b));
}

/* A frame whose header says `declared` bytes, followed by `n` bytes of
 * `payload` (masked with a random key when `masked`). Written by hand, not
 * with uvws_frame_header, to stay independent of the code under test. */
static void raw_frame(buf_t *b, int fin, int rsv, int op, uint64_t declared,
                      const void *payload, size_t n, int masked) {
  uint8_t h[14];
  size_t hn = 0;
  uint8_t key[4];
  h[hn++] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
  uint8_t m = masked ? 0x80 : 0;
  if (declared <= 125) {
    h[hn++] = (uint8_t)(m | declared);
  } else if (declared <= 0xffff) {
    h[hn++] = m | 126;
    h[hn++] = (uint8_t)(declared >> 8);
    h[hn++] = (uint8_t)declared;
  } else {
    h[hn++] = m | 127;
    for (int i = 7; i >= 0; i--) h[hn++] = (uint8_t)(declared >> (8 * i));
  }
  if (masked) {
    test_rand_bytes(key, 4);
    if (test_rand_below(8) == 0) memset(key, 0, 4);
    memcpy(h + hn, key, 4);
    hn += 4;
  }
  buf_put(b, h, hn);
  size_t at = b->len;
  buf_put(b, payload, n);
  if (masked)
    for (size_t i = 0; i < n; i++) b->p[at + i] ^= key[i % 4];
}

/* Frames are masked on a stream to a server, unmasked to a client. */
static int g_masked = 1;

static void frame(buf_t *b, int fin, int op, const void *payload, size_t n) {
  raw_frame(b, fin, 0, op, n, payload, n, g_masked);
}

#define TXT(s) (s), (sizeof(s) - 1)

static size_t header_size(uint64_t len, int masked) {
  return (len <= 125 ? 2 : len <= 0xffff ? 4 : 10) + (masked ? 4 : 0);
}

/* ------------------------------------------------------------------ */
/* Recording events                                                    */
/* ------------------------------------------------------------------ */

enum { EV_TEXT = 1, EV_BINARY, EV_PING, EV_PONG, EV_CLOSE, EV_FAIL };
static const char *ev_names[] = {"?", "text", "binary", "ping", "pong", "close", "fail"};

typedef struct {
  int type;
  uint8_t *data; /* copy; the close reason for EV_CLOSE */
  size_t len;
  int code, err; /* EV_CLOSE: code; EV_FAIL: close code and error */
  size_t at;     /* stream bytes handed to the proto when it happened */
} ev_t;

#define MAX_EVENTS 1024

typedef struct {
  ev_t ev[MAX_EVENTS];
  size_t n;
  size_t fed;       /* set by the driver */
  size_t stop_at;   /* a message/ping/pong handler returns 1 at this count */
  int stopped;      /* a handler asked to stop */
  int terminal;     /* close or fail seen */
  int violations;   /* events after close/fail, too many events... */
  char why[128];
} rec_t;

static void rec_init(rec_t *r) { memset(r, 0, sizeof(*r)); }

static void rec_free(rec_t *r) {
  for (size_t i = 0; i < r->n; i++) free(r->ev[i].data);
  r->n = 0;
}

static void violation(rec_t *r, const char *why) {
  if (!r->violations++) snprintf(r->why, sizeof(r->why), "%s", why);
}

static ev_t *rec_add(rec_t *r, int type, const void *data, size_t len) {
  if (r->terminal) violation(r, "event after close/fail");
  if (r->n == MAX_EVENTS) {
    violation(r, "too many events");
    r->n--;
    free(r->ev[r->n].data);
  }
  ev_t *e = &r->ev[r->n++];
  memset(e, 0, sizeof(*e));
  e->type = type;
  e->len = len;
  e->data = malloc(len ? len : 1);
  if (len) memcpy(e->data, data, len);
  e->at = r->fed;
  return e;
}

/* Handlers. Payloads may be modified by a handler (uvws_proto.h): scribble
 * over them so that the proto cannot rely on them afterwards. */
static int h_message(void *ctx, uint8_t *data, size_t len, int binary) {
  rec_t *r = ctx;
  rec_add(r, binary ? EV_BINARY : EV_TEXT, data, len);
  memset(data, 0xaa, len);
  if (r->stop_at && r->n == r->stop_at) return r->stopped = 1;
  return 0;
}
static int h_ping(void *ctx, uint8_t *data, size_t len) {
  rec_t *r = ctx;
  rec_add(r, EV_PING, data, len);
  memset(data, 0xbb, len);
  if (r->stop_at && r->n == r->stop_at) return r->stopped = 1;
  return 0;
}
static int h_pong(void *ctx, uint8_t *data, size_t len) {
  rec_t *r = ctx;
  rec_add(r, EV_PONG, data, len);
  memset(data, 0xcc, len);
  if (r->stop_at && r->n == r->stop_at) return r->stopped = 1;
  return 0;
}
static int h_close(void *ctx, int code, const uint8_t *reason, size_t len) {
  rec_t *r = ctx;
  rec_add(r, EV_CLOSE, reason, len)->code = code;
  r->terminal = 1;
  return 0;
}
static void h_fail(void *ctx, int close_code, int err, const char *why) {
  rec_t *r = ctx;
  ev_t *e = rec_add(r, EV_FAIL, NULL, 0);
  e->code = close_code;
  e->err = err;
  if (!why || !*why) violation(r, "fail without a reason");
  r->terminal = 1;
}

static const uvws_proto_handler_t handler = {h_message, h_ping, h_pong, h_close, h_fail, NULL, NULL, NULL};

/* Expected events. */
static void x_msg(rec_t *r, int type, const void *d, size_t n) { rec_add(r, type, d, n); }
static void x_close(rec_t *r, int code, const void *reason, size_t n) {
  rec_add(r, EV_CLOSE, reason, n)->code = code;
}
static void x_fail(rec_t *r, int code, int err) {
  ev_t *e = rec_add(r, EV_FAIL, NULL, 0);
  e->code = code;
  e->err = err;
}

static void dump_events(const char *title, const rec_t *r) {
  fprintf(stderr, "  %s: %zu events\n", title, r->n);
  for (size_t i = 0; i < r->n && i < 12; i++) {
    const ev_t *e = &r->ev[i];
    fprintf(stderr, "    %s len %zu code %d err %d at %zu ", ev_names[e->type], e->len,
            e->code, e->err, e->at);
    test_dump_(e->data, e->len, 40);
    fputc('\n', stderr);
  }
}

static int events_equal(const rec_t *a, const rec_t *b) {
  if (a->n != b->n) return 0;
  for (size_t i = 0; i < a->n; i++) {
    const ev_t *x = &a->ev[i], *y = &b->ev[i];
    if (x->type != y->type || x->len != y->len || x->code != y->code || x->err != y->err ||
        memcmp(x->data, y->data, x->len) != 0)
      return 0;
  }
  return 1;
}

/* ------------------------------------------------------------------ */
/* Driving the proto                                                   */
/* ------------------------------------------------------------------ */

typedef struct {
  int server;
  size_t max_payload;
  unsigned max_fragments;
} cfg_t;

static const cfg_t SERVER = {1, 0, 0}, CLIENT = {0, 0, 0};

enum { M_WHOLE, M_BYTES, M_RANDOM, M_SPLIT, M_TARGET };
static const char *mode_names[] = {"whole", "byte by byte", "random pieces", "split", "read target"};

typedef struct {
  size_t target_bytes; /* bytes fed from the read target (M_TARGET) */
  size_t consumed;     /* sum of the feed return values */
} drive_info_t;

/* Feed `stream` (not modified) in the way `mode` says; `arg` is the split
 * point for M_SPLIT. Checks the feed contract on the way: every byte is
 * consumed unless a handler stopped or the connection ended, and once it
 * has ended, more input is ignored (0 consumed, no event). */
static void drive(const uint8_t *stream, size_t len, const cfg_t *cfg, int mode, size_t arg,
                  rec_t *r, drive_info_t *info) {
  uvws_proto_t p;
  uvws_proto_init(&p, cfg->server, cfg->max_payload, cfg->max_fragments);
  uint8_t *copy = malloc(len ? len : 1);
  if (len) memcpy(copy, stream, len);
  drive_info_t di = {0, 0};
  size_t pos = 0;
  while (pos < len && !r->terminal && !r->stopped) {
    size_t k = len - pos;
    uint8_t *in = copy + pos;
    switch (mode) {
      case M_BYTES: k = 1; break;
      case M_SPLIT: if (pos < arg) k = arg - pos; break;
      case M_RANDOM:
        k = 1 + test_rand_below(test_rand_below(4) ? 7 : len - pos);
        if (k > len - pos) k = len - pos;
        break;
      case M_TARGET: {
        uint8_t *t;
        size_t n = uvws_proto_read_target(&p, &t);
        k = 1 + test_rand_below(test_rand_below(3) ? 50 : len - pos);
        if (k > len - pos) k = len - pos;
        if (n) {
          if (k > n) k = n;
          memcpy(t, copy + pos, k); /* as a read() into the target would */
          in = t;
          di.target_bytes += k;
        }
        break;
      }
      default: break;
    }
    r->fed = pos + k;
    size_t used = uvws_proto_feed(&p, in, k, &handler, r);
    di.consumed += used;
    if (used > k) violation(r, "consumed more than given");
    if (used != k && !r->terminal && !r->stopped) violation(r, "input left without a reason");
    pos += k;
  }
  if (r->terminal) {
    if (!p.done) violation(r, "close/fail but not done");
    size_t n = r->n;
    uint8_t more[16] = {0x81, 0x80, 0, 0, 0, 0, 0x89, 0x00};
    if (uvws_proto_feed(&p, more, sizeof(more), &handler, r) != 0)
      violation(r, "input consumed after close/fail");
    if (r->n != n) violation(r, "event after close/fail");
    uint8_t *t;
    if (uvws_proto_read_target(&p, &t) != 0) violation(r, "read target after close/fail");
  }
  uvws_proto_free(&p);
  free(copy);
  if (info) *info = di;
}

static int g_all_splits_max = 600; /* every split point for streams up to this */
static size_t g_target_bytes;      /* bytes fed through read targets so far */

/* Run a stream in every mode and compare each run with `expect`. */
static void check_stream_cfg(const char *label, const buf_t *s, const cfg_t *cfg,
                             const rec_t *expect) {
  int modes[] = {M_WHOLE, M_BYTES, M_RANDOM, M_RANDOM, M_RANDOM, M_TARGET, M_TARGET, M_TARGET};
  for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
    rec_t *r = malloc(sizeof(*r));
    rec_init(r);
    drive_info_t di;
    drive(s->p, s->len, cfg, modes[m], 0, r, &di);
    g_target_bytes += di.target_bytes;
    test_ctx("%s (%s)", label, mode_names[modes[m]]);
    int eq = events_equal(r, expect);
    CHECK(eq);
    CHECK_EQ(r->violations, 0);
    if (!eq) {
      dump_events("expected", expect);
      dump_events("got", r);
    }
    if (r->violations) fprintf(stderr, "  violation: %s\n", r->why);
    rec_free(r);
    free(r);
  }
  if (s->len <= (size_t)g_all_splits_max) {
    size_t bad = 0, first = 0;
    for (size_t k = 1; k < s->len; k++) {
      rec_t *r = malloc(sizeof(*r));
      rec_init(r);
      drive(s->p, s->len, cfg, M_SPLIT, k, r, NULL);
      if (!events_equal(r, expect) || r->violations) {
        if (!bad++) first = k;
      }
      rec_free(r);
      free(r);
    }
    test_ctx("%s (every split point; first bad %zu)", label, first);
    CHECK_EQ(bad, 0);
  }
  test_ctx(NULL);
}

static void check_stream(const char *label, const buf_t *s, int server, const rec_t *expect) {
  check_stream_cfg(label, s, server ? &SERVER : &CLIENT, expect);
}

/* Build the same stream for both sides (masked to the server, not to the
 * client), with the same expected events. */
#define BOTH_SIDES(label, build, expect_build)         \
  do {                                                 \
    for (int side_ = 1; side_ >= 0; side_--) {         \
      buf_t s = {0};                                   \
      rec_t *x = malloc(sizeof(rec_t));                \
      rec_init(x);                                     \
      g_masked = side_;                                \
      build;                                           \
      expect_build;                                    \
      char l_[128];                                    \
      snprintf(l_, sizeof(l_), "%s [%s]", label, side_ ? "server" : "client"); \
      check_stream(l_, &s, side_, x);                  \
      rec_free(x);                                     \
      free(x);                                         \
      buf_free(&s);                                    \
    }                                                  \
    g_masked = 1;                                      \
  } while (0)

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

static void test_unfragmented(void) {
  BOTH_SIDES("text", frame(&s, 1, UVWS_OP_TEXT, TXT("Hello")),
             x_msg(x, EV_TEXT, "Hello", 5));
  BOTH_SIDES("binary", frame(&s, 1, UVWS_OP_BINARY, TXT("\x00\x01\xff\x00")),
             x_msg(x, EV_BINARY, "\x00\x01\xff\x00", 4));
  BOTH_SIDES("empty text", frame(&s, 1, UVWS_OP_TEXT, "", 0), x_msg(x, EV_TEXT, "", 0));
  BOTH_SIDES("empty binary", frame(&s, 1, UVWS_OP_BINARY, "", 0), x_msg(x, EV_BINARY, "", 0));
  BOTH_SIDES("utf-8 text", frame(&s, 1, UVWS_OP_TEXT, TXT("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")),
             x_msg(x, EV_TEXT, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11));
  BOTH_SIDES("several messages",
             (frame(&s, 1, UVWS_OP_TEXT, TXT("one")), frame(&s, 1, UVWS_OP_BINARY, TXT("two")),
              frame(&s, 1, UVWS_OP_TEXT, "", 0), frame(&s, 1, UVWS_OP_TEXT, TXT("four"))),
             (x_msg(x, EV_TEXT, "one", 3), x_msg(x, EV_BINARY, "two", 3), x_msg(x, EV_TEXT, "", 0),
              x_msg(x, EV_TEXT, "four", 4)));
  /* every length encoding */
  static const size_t lens[] = {125, 126, 127, 65535, 65536, 100000};
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
    size_t n = lens[i];
    uint8_t *d = malloc(n);
    for (size_t k = 0; k < n; k++) d[k] = (uint8_t)('a' + k % 26);
    char label[64];
    snprintf(label, sizeof(label), "text of %zu", n);
    BOTH_SIDES(label, (frame(&s, 1, UVWS_OP_TEXT, d, n), frame(&s, 1, UVWS_OP_BINARY, d, n)),
               (x_msg(x, EV_TEXT, d, n), x_msg(x, EV_BINARY, d, n)));
    free(d);
  }
}

static void test_fragmented(void) {
  BOTH_SIDES("text in 3 fragments",
             (frame(&s, 0, UVWS_OP_TEXT, TXT("Hel")), frame(&s, 0, UVWS_OP_CONT, TXT("lo, ")),
              frame(&s, 1, UVWS_OP_CONT, TXT("world"))),
             x_msg(x, EV_TEXT, "Hello, world", 12));
  BOTH_SIDES("binary with empty fragments",
             (frame(&s, 0, UVWS_OP_BINARY, "", 0), frame(&s, 0, UVWS_OP_CONT, TXT("ab")),
              frame(&s, 0, UVWS_OP_CONT, "", 0), frame(&s, 0, UVWS_OP_CONT, TXT("\x00")),
              frame(&s, 1, UVWS_OP_CONT, "", 0)),
             x_msg(x, EV_BINARY, "ab\x00", 3));
  BOTH_SIDES("all fragments empty",
             (frame(&s, 0, UVWS_OP_TEXT, "", 0), frame(&s, 1, UVWS_OP_CONT, "", 0)),
             x_msg(x, EV_TEXT, "", 0));
  BOTH_SIDES("two fragmented messages back to back",
             (frame(&s, 0, UVWS_OP_TEXT, TXT("a")), frame(&s, 1, UVWS_OP_CONT, TXT("b")),
              frame(&s, 0, UVWS_OP_BINARY, TXT("c")), frame(&s, 1, UVWS_OP_CONT, TXT("d")),
              frame(&s, 1, UVWS_OP_TEXT, TXT("e"))),
             (x_msg(x, EV_TEXT, "ab", 2), x_msg(x, EV_BINARY, "cd", 2), x_msg(x, EV_TEXT, "e", 1)));
  /* 100 one-byte fragments */
  {
    buf_t s = {0};
    rec_t *x = malloc(sizeof(*x));
    rec_init(x);
    char all[100];
    for (int i = 0; i < 100; i++) {
      all[i] = (char)('A' + i % 26);
      frame(&s, i == 99, i ? UVWS_OP_CONT : UVWS_OP_BINARY, all + i, 1);
    }
    x_msg(x, EV_BINARY, all, 100);
    check_stream("100 fragments", &s, 1, x);
    rec_free(x);
    free(x);
    buf_free(&s);
  }
  /* large fragments crossing the length encodings */
  size_t sizes[] = {126, 65536, 1, 70000, 0, 125};
  size_t total = 0;
  for (size_t i = 0; i < 6; i++) total += sizes[i];
  uint8_t *d = malloc(total);
  test_rand_bytes(d, total);
  BOTH_SIDES("large fragments", {
    size_t off = 0;
    for (size_t i = 0; i < 6; i++) {
      frame(&s, i == 5, i ? UVWS_OP_CONT : UVWS_OP_BINARY, d + off, sizes[i]);
      off += sizes[i];
    }
  }, x_msg(x, EV_BINARY, d, total));
  free(d);
}

static void test_control_interleaved(void) {
  char p125[125];
  memset(p125, 'p', sizeof(p125));
  BOTH_SIDES("ping/pong between fragments",
             (frame(&s, 0, UVWS_OP_TEXT, TXT("Hel")), frame(&s, 1, UVWS_OP_PING, TXT("p1")),
              frame(&s, 0, UVWS_OP_CONT, TXT("lo")), frame(&s, 1, UVWS_OP_PONG, "", 0),
              frame(&s, 1, UVWS_OP_PING, p125, 125), frame(&s, 1, UVWS_OP_CONT, TXT("!"))),
             (x_msg(x, EV_PING, "p1", 2), x_msg(x, EV_PONG, "", 0), x_msg(x, EV_PING, p125, 125),
              x_msg(x, EV_TEXT, "Hello!", 6)));
  BOTH_SIDES("control frames alone",
             (frame(&s, 1, UVWS_OP_PING, "", 0), frame(&s, 1, UVWS_OP_PONG, TXT("xyz")),
              frame(&s, 1, UVWS_OP_PING, TXT("\xff\xfe")), frame(&s, 1, UVWS_OP_PONG, p125, 125)),
             (x_msg(x, EV_PING, "", 0), x_msg(x, EV_PONG, "xyz", 3), x_msg(x, EV_PING, "\xff\xfe", 2),
              x_msg(x, EV_PONG, p125, 125)));
  BOTH_SIDES("close inside a fragmented message",
             (frame(&s, 0, UVWS_OP_BINARY, TXT("abc")), frame(&s, 1, UVWS_OP_CLOSE, TXT("\x03\xe8" "bye")),
              frame(&s, 1, UVWS_OP_CONT, TXT("def"))),
             x_close(x, 1000, "bye", 3));
  /* a control frame between fragments of a large message */
  uint8_t *d = malloc(140000);
  test_rand_bytes(d, 140000);
  BOTH_SIDES("ping inside a large message",
             (frame(&s, 0, UVWS_OP_BINARY, d, 70000), frame(&s, 1, UVWS_OP_PING, TXT("mid")),
              frame(&s, 1, UVWS_OP_CONT, d + 70000, 70000)),
             (x_msg(x, EV_PING, "mid", 3), x_msg(x, EV_BINARY, d, 140000)));
  free(d);
}

/* ------------------------------------------------------------------ */
/* Protocol violations: fail with 1002                                  */
/* ------------------------------------------------------------------ */

static void test_masking_rules(void) {
  buf_t s = {0};
  rec_t *x = malloc(sizeof(*x));
  rec_init(x);
  x_fail(x, 1002, UVWS_EREMOTE);
  raw_frame(&s, 1, 0, UVWS_OP_TEXT, 5, "Hello", 5, 0);
  check_stream("server: unmasked text", &s, 1, x);
  buf_free(&s);
  raw_frame(&s, 1, 0, UVWS_OP_PING, 0, "", 0, 0);
  check_stream("server: unmasked ping", &s, 1, x);
  buf_free(&s);
  raw_frame(&s, 1, 0, UVWS_OP_TEXT, 5, "Hello", 5, 1);
  check_stream("client: masked text", &s, 0, x);
  buf_free(&s);
  raw_frame(&s, 1, 0, UVWS_OP_CLOSE, 2, "\x03\xe8", 2, 1);
  check_stream("client: masked close", &s, 0, x);
  buf_free(&s);
  /* after a good message */
  raw_frame(&s, 1, 0, UVWS_OP_TEXT, 2, "ok", 2, 1);
  raw_frame(&s, 1, 0, UVWS_OP_TEXT, 2, "no", 2, 0);
  rec_free(x);
  x_msg(x, EV_TEXT, "ok", 2);
  x_fail(x, 1002, UVWS_EREMOTE);
  check_stream("server: masked then unmasked", &s, 1, x);
  rec_free(x);
  free(x);
  /* the failure comes with the header: nothing of the payload is used */
  {
    uvws_proto_t p;
    rec_t r;
    rec_init(&r);
    uvws_proto_init(&p, 1, 0, 0);
    buf_t t = {0};
    raw_frame(&t, 1, 0, UVWS_OP_BINARY, 100, "0123456789", 10, 0);
    CHECK_EQ(uvws_proto_feed(&p, t.p, t.len, &handler, &r), 2);
    CHECK_EQ(r.n, 1);
    CHECK(p.done);
    uvws_proto_free(&p);
    rec_free(&r);
    buf_free(&t);
  }
  buf_free(&s);
}

static void one_fail(const char *label, int server, int code, int err, buf_t *s) {
  rec_t *x = malloc(sizeof(*x));
  rec_init(x);
  x_fail(x, code, err);
  check_stream(label, s, server, x);
  rec_free(x);
  free(x);
  buf_free(s);
}

static void test_rsv_bits(void) {
  for (int side = 1; side >= 0; side--) {
    for (int rsv = 1; rsv < 8; rsv++) {
      char l[64];
      buf_t s = {0};
      snprintf(l, sizeof(l), "rsv %d on text [%d]", rsv, side);
      raw_frame(&s, 1, rsv, UVWS_OP_TEXT, 2, "hi", 2, side);
      one_fail(l, side, 1002, UVWS_EREMOTE, &s);
      snprintf(l, sizeof(l), "rsv %d on ping [%d]", rsv, side);
      raw_frame(&s, 1, rsv, UVWS_OP_PING, 0, "", 0, side);
      one_fail(l, side, 1002, UVWS_EREMOTE, &s);
      snprintf(l, sizeof(l), "rsv %d on continuation [%d]", rsv, side);
      raw_frame(&s, 0, 0, UVWS_OP_BINARY, 1, "a", 1, side);
      raw_frame(&s, 1, rsv, UVWS_OP_CONT, 1, "b", 1, side);
      one_fail(l, side, 1002, UVWS_EREMOTE, &s);
    }
  }
}

static void test_reserved_opcodes(void) {
  static const int ops[] = {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf};
  for (int side = 1; side >= 0; side--)
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
      char l[64];
      buf_t s = {0};
      snprintf(l, sizeof(l), "opcode 0x%x [%d]", ops[i], side);
      raw_frame(&s, 1, 0, ops[i], 1, "x", 1, side);
      one_fail(l, side, 1002, UVWS_EREMOTE, &s);
      snprintf(l, sizeof(l), "opcode 0x%x empty, after a message [%d]", ops[i], side);
      raw_frame(&s, 1, 0, UVWS_OP_TEXT, 1, "x", 1, side);
      raw_frame(&s, 1, 0, ops[i], 0, "", 0, side);
      rec_t *x = malloc(sizeof(*x));
      rec_init(x);
      x_msg(x, EV_TEXT, "x", 1);
      x_fail(x, 1002, UVWS_EREMOTE);
      check_stream(l, &s, side, x);
      rec_free(x);
      free(x);
      buf_free(&s);
      snprintf(l, sizeof(l), "opcode 0x%x inside a fragmented message [%d]", ops[i], side);
      raw_frame(&s, 0, 0, UVWS_OP_TEXT, 1, "x", 1, side);
      raw_frame(&s, 0, 0, ops[i], 0, "", 0, side);
      one_fail(l, side, 1002, UVWS_EREMOTE, &s);
    }
}

static void test_control_rules(void) {
  char big[200];
  memset(big, 'z', sizeof(big));
  static const int ctl[] = {UVWS_OP_PING, UVWS_OP_PONG, UVWS_OP_CLOSE};
  for (int side = 1; side >= 0; side--)
    for (int i = 0; i < 3; i++) {
      char l[80];
      buf_t s = {0};
      snprintf(l, sizeof(l), "control 0x%x of 126 bytes [%d]", ctl[i], side);
      raw_frame(&s, 1, 0, ctl[i], 126, big, 126, side);
      one_fail(l, side, 1002, UVWS_EREMOTE, &s);
      snprintf(l, sizeof(l), "control 0x%x with a 64-bit length of 1 GiB [%d]", ctl[i], side);
      raw_frame(&s, 1, 0, ctl[i], 1u << 30, big, 10, side);
      one_fail(l, side, 1002, UVWS_EREMOTE, &s);
      snprintf(l, sizeof(l), "fragmented control 0x%x [%d]", ctl[i], side);
      raw_frame(&s, 0, 0, ctl[i], 2, "\x03\xe8", 2, side);
      one_fail(l, side, 1002, UVWS_EREMOTE, &s);
      snprintf(l, sizeof(l), "fragmented empty control 0x%x [%d]", ctl[i], side);
      raw_frame(&s, 0, 0, ctl[i], 0, "", 0, side);
      one_fail(l, side, 1002, UVWS_EREMOTE, &s);
    }
}

static void test_fragmentation_rules(void) {
  for (int side = 1; side >= 0; side--) {
    char l[80];
    buf_t s = {0};
    g_masked = side;
    snprintf(l, sizeof(l), "continuation without a start [%d]", side);
    frame(&s, 1, UVWS_OP_CONT, TXT("x"));
    one_fail(l, side, 1002, UVWS_EREMOTE, &s);
    snprintf(l, sizeof(l), "non-final continuation without a start [%d]", side);
    frame(&s, 0, UVWS_OP_CONT, TXT("x"));
    one_fail(l, side, 1002, UVWS_EREMOTE, &s);
    snprintf(l, sizeof(l), "empty continuation without a start [%d]", side);
    frame(&s, 1, UVWS_OP_CONT, "", 0);
    one_fail(l, side, 1002, UVWS_EREMOTE, &s);
    snprintf(l, sizeof(l), "text inside a fragmented text [%d]", side);
    frame(&s, 0, UVWS_OP_TEXT, TXT("a"));
    frame(&s, 1, UVWS_OP_TEXT, TXT("b"));
    one_fail(l, side, 1002, UVWS_EREMOTE, &s);
    snprintf(l, sizeof(l), "binary inside a fragmented text, after a ping [%d]", side);
    frame(&s, 0, UVWS_OP_TEXT, TXT("a"));
    frame(&s, 1, UVWS_OP_PING, "", 0);
    frame(&s, 0, UVWS_OP_BINARY, TXT("b"));
    {
      rec_t *x = malloc(sizeof(*x));
      rec_init(x);
      x_msg(x, EV_PING, "", 0);
      x_fail(x, 1002, UVWS_EREMOTE);
      check_stream(l, &s, side, x);
      rec_free(x);
      free(x);
      buf_free(&s);
    }
    snprintf(l, sizeof(l), "continuation after a complete message [%d]", side);
    frame(&s, 0, UVWS_OP_TEXT, TXT("a"));
    frame(&s, 1, UVWS_OP_CONT, TXT("b"));
    frame(&s, 1, UVWS_OP_CONT, TXT("c"));
    {
      rec_t *x = malloc(sizeof(*x));
      rec_init(x);
      x_msg(x, EV_TEXT, "ab", 2);
      x_fail(x, 1002, UVWS_EREMOTE);
      check_stream(l, &s, side, x);
      rec_free(x);
      free(x);
      buf_free(&s);
    }
  }
  g_masked = 1;
}

/* ------------------------------------------------------------------ */
/* UTF-8 of text messages                                              */
/* ------------------------------------------------------------------ */

static void test_text_utf8(void) {
  BOTH_SIDES("invalid byte", frame(&s, 1, UVWS_OP_TEXT, TXT("ab\xff")), x_fail(x, 1007, UVWS_EREMOTE));
  BOTH_SIDES("surrogate", frame(&s, 1, UVWS_OP_TEXT, TXT("\xed\xa0\x80")), x_fail(x, 1007, UVWS_EREMOTE));
  BOTH_SIDES("truncated at the end of the message", frame(&s, 1, UVWS_OP_TEXT, TXT("ok\xe2\x82")),
             x_fail(x, 1007, UVWS_EREMOTE));
  BOTH_SIDES("truncated at the end of a fragmented message",
             (frame(&s, 0, UVWS_OP_TEXT, TXT("a")), frame(&s, 1, UVWS_OP_CONT, TXT("\xf0\x9f\x98"))),
             x_fail(x, 1007, UVWS_EREMOTE));
  BOTH_SIDES("invalid in the first fragment",
             (frame(&s, 0, UVWS_OP_TEXT, TXT("\xc0\x80")), frame(&s, 1, UVWS_OP_CONT, TXT("ok"))),
             x_fail(x, 1007, UVWS_EREMOTE));
  BOTH_SIDES("code point split across fragments",
             (frame(&s, 0, UVWS_OP_TEXT, TXT("\xe2")), frame(&s, 0, UVWS_OP_CONT, TXT("\x82")),
              frame(&s, 1, UVWS_OP_PING, "", 0), frame(&s, 1, UVWS_OP_CONT, TXT("\xac!"))),
             (x_msg(x, EV_PING, "", 0), x_msg(x, EV_TEXT, "\xe2\x82\xac!", 4)));
  BOTH_SIDES("4-byte code point split 1+1+1+1",
             (frame(&s, 0, UVWS_OP_TEXT, TXT("\xf0")), frame(&s, 0, UVWS_OP_CONT, TXT("\x9f")),
              frame(&s, 0, UVWS_OP_CONT, TXT("\x98")), frame(&s, 1, UVWS_OP_CONT, TXT("\x80"))),
             x_msg(x, EV_TEXT, "\xf0\x9f\x98\x80", 4));
  BOTH_SIDES("split code point that turns out invalid",
             (frame(&s, 0, UVWS_OP_TEXT, TXT("\xe2")), frame(&s, 1, UVWS_OP_CONT, TXT("\x28\xa1"))),
             x_fail(x, 1007, UVWS_EREMOTE));
  BOTH_SIDES("invalid UTF-8 in binary is fine", frame(&s, 1, UVWS_OP_BINARY, TXT("\xff\xc0\x80")),
             x_msg(x, EV_BINARY, "\xff\xc0\x80", 3));
  BOTH_SIDES("invalid UTF-8 in ping is fine", frame(&s, 1, UVWS_OP_PING, TXT("\xff")),
             x_msg(x, EV_PING, "\xff", 1));
  BOTH_SIDES("a new text message starts with a fresh validator",
             (frame(&s, 0, UVWS_OP_BINARY, TXT("\xe2")), frame(&s, 1, UVWS_OP_CONT, "", 0),
              frame(&s, 1, UVWS_OP_TEXT, TXT("\x82\xac"))),
             (x_msg(x, EV_BINARY, "\xe2", 1), x_fail(x, 1007, UVWS_EREMOTE)));
}

/* Fail fast: the connection fails when the first invalid byte is fed, not
 * at the end of the frame or message. */
static void test_utf8_fail_fast(void) {
  for (int side = 1; side >= 0; side--) {
    /* one 200-byte text frame, bad byte at 50 */
    uint8_t text[200];
    memset(text, 'a', sizeof(text));
    text[50] = 0xff;
    buf_t s = {0};
    raw_frame(&s, 1, 0, UVWS_OP_TEXT, sizeof(text), text, sizeof(text), side);
    size_t hs = header_size(sizeof(text), side);
    for (int mode = M_BYTES; mode <= M_TARGET; mode += M_TARGET - M_BYTES) {
      rec_t r;
      rec_init(&r);
      drive(s.p, s.len, side ? &SERVER : &CLIENT, mode, 0, &r, NULL);
      test_ctx("fail fast in one frame [%d] %s", side, mode_names[mode]);
      CHECK_EQ(r.n, 1);
      CHECK_EQ(r.ev[0].type, EV_FAIL);
      CHECK_EQ(r.ev[0].code, 1007);
      if (mode == M_BYTES) CHECK_EQ(r.ev[0].at, hs + 51);
      else CHECK(r.ev[0].at >= hs + 51); /* the piece holding byte 50 */
      rec_free(&r);
    }
    /* by hand: header + 50 good bytes: nothing; the bad byte: fail */
    {
      uvws_proto_t p;
      rec_t r;
      rec_init(&r);
      uvws_proto_init(&p, side, 0, 0);
      CHECK_EQ(uvws_proto_feed(&p, s.p, hs + 50, &handler, &r), hs + 50);
      CHECK_EQ(r.n, 0);
      CHECK(!p.done);
      uvws_proto_feed(&p, s.p + hs + 50, 1, &handler, &r);
      CHECK_EQ(r.n, 1);
      CHECK_EQ(r.ev[0].code, 1007);
      CHECK(p.done);
      uvws_proto_free(&p);
      rec_free(&r);
    }
    buf_free(&s);
    /* in a first fragment that is still open (fin = 0, more expected) */
    raw_frame(&s, 0, 0, UVWS_OP_TEXT, 10, "abc\xf5xxxxxx", 10, side);
    {
      uvws_proto_t p;
      rec_t r;
      rec_init(&r);
      uvws_proto_init(&p, side, 0, 0);
      hs = header_size(10, side);
      CHECK_EQ(uvws_proto_feed(&p, s.p, hs + 3, &handler, &r), hs + 3);
      CHECK_EQ(r.n, 0);
      uvws_proto_feed(&p, s.p + hs + 3, 1, &handler, &r);
      test_ctx("fail fast in an open fragment [%d]", side);
      CHECK_EQ(r.n, 1);
      CHECK_EQ(r.ev[0].type, EV_FAIL);
      CHECK_EQ(r.ev[0].code, 1007);
      uvws_proto_free(&p);
      rec_free(&r);
    }
    buf_free(&s);
  }
  test_ctx(NULL);
}

/* ------------------------------------------------------------------ */
/* Close frames                                                        */
/* ------------------------------------------------------------------ */

static void close_case(const char *label, const void *payload, size_t n, int want_code,
                       int want_fail) {
  for (int side = 1; side >= 0; side--) {
    buf_t s = {0};
    raw_frame(&s, 1, 0, UVWS_OP_CLOSE, n, payload, n, side);
    rec_t *x = malloc(sizeof(*x));
    rec_init(x);
    if (want_fail) x_fail(x, want_fail, UVWS_EREMOTE);
    else x_close(x, want_code, n > 2 ? (const uint8_t *)payload + 2 : NULL, n > 2 ? n - 2 : 0);
    char l[96];
    snprintf(l, sizeof(l), "close: %s [%s]", label, side ? "server" : "client");
    check_stream(l, &s, side, x);
    rec_free(x);
    free(x);
    buf_free(&s);
  }
}

static void test_close_frames(void) {
  close_case("empty", "", 0, 1005, 0);
  close_case("one byte", "\x03", 1, 0, 1002);
  close_case("one byte 0x0f", "\x0f", 1, 0, 1002);
  /* one byte, followed by a frame whose first byte would complete a valid
   * code (0x0f81 = 3969) if the parser looked past the payload */
  BOTH_SIDES("one-byte close, then a frame",
             (frame(&s, 1, UVWS_OP_CLOSE, TXT("\x0f")), frame(&s, 1, UVWS_OP_TEXT, TXT("x"))),
             x_fail(x, 1002, UVWS_EREMOTE));
  close_case("1000 with reason", "\x03\xe8" "bye", 5, 1000, 0);
  close_case("reason not UTF-8", "\x03\xe8" "\xff", 3, 0, 1007);
  close_case("reason truncated UTF-8", "\x03\xe8" "ab\xe2\x82", 6, 0, 1007);
  close_case("reason with a surrogate", "\x0b\xb8" "\xed\xa0\x80", 5, 0, 1007);
  close_case("reason UTF-8", "\x0f\xa0" "\xe2\x82\xac", 5, 4000, 0);
  uint8_t max[125];
  max[0] = 0x03;
  max[1] = 0xe9;
  memset(max + 2, 'r', 123);
  close_case("123-byte reason", max, 125, 1001, 0);
  /* every code class */
  static const struct {
    int code, valid;
  } codes[] = {{0, 0},    {999, 0},  {1000, 1}, {1001, 1}, {1002, 1}, {1003, 1},
               {1004, 0}, {1005, 0}, {1006, 0}, {1007, 1}, {1008, 1}, {1009, 1},
               {1010, 1}, {1011, 1}, {1012, 1}, {1013, 1}, {1014, 1}, {1015, 0},
               {1016, 0}, {1100, 0}, {2000, 0}, {2999, 0}, {3000, 1}, {3999, 1},
               {4000, 1}, {4999, 1}, {5000, 0}, {65535, 0}};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    uint8_t pl[4] = {(uint8_t)(codes[i].code >> 8), (uint8_t)codes[i].code, 'o', 'k'};
    char l[32];
    snprintf(l, sizeof(l), "code %d", codes[i].code);
    close_case(l, pl, 2, codes[i].code, codes[i].valid ? 0 : 1002);
    snprintf(l, sizeof(l), "code %d + reason", codes[i].code);
    close_case(l, pl, 4, codes[i].code, codes[i].valid ? 0 : 1002);
  }
  /* nothing after a close frame is looked at, not even a violation */
  BOTH_SIDES("events after close are ignored",
             (frame(&s, 1, UVWS_OP_TEXT, TXT("a")), frame(&s, 1, UVWS_OP_CLOSE, TXT("\x03\xe8")),
              frame(&s, 1, UVWS_OP_TEXT, TXT("b")), raw_frame(&s, 1, 7, 0xf, 0, "", 0, 0)),
             (x_msg(x, EV_TEXT, "a", 1), x_close(x, 1000, "", 0)));
  BOTH_SIDES("events after a failure are ignored",
             (frame(&s, 1, UVWS_OP_TEXT, TXT("\xff")), frame(&s, 1, UVWS_OP_TEXT, TXT("b")),
              frame(&s, 1, UVWS_OP_CLOSE, "", 0)),
             x_fail(x, 1007, UVWS_EREMOTE));
  /* the feed returns the bytes up to the end of the close frame */
  {
    buf_t s = {0};
    frame(&s, 1, UVWS_OP_CLOSE, TXT("\x03\xe8"));
    size_t n = s.len;
    frame(&s, 1, UVWS_OP_TEXT, TXT("after"));
    uvws_proto_t p;
    rec_t r;
    rec_init(&r);
    uvws_proto_init(&p, 1, 0, 0);
    CHECK_EQ(uvws_proto_feed(&p, s.p, s.len, &handler, &r), n);
    CHECK_EQ(r.n, 1);
    CHECK_EQ(uvws_proto_feed(&p, s.p + n, s.len - n, &handler, &r), 0);
    CHECK_EQ(r.n, 1);
    uvws_proto_free(&p);
    rec_free(&r);
    buf_free(&s);
  }
}

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

static void limit_case(const char *label, const buf_t *s, size_t max_payload, unsigned max_frags,
                       rec_t *x) {
  for (int side = 1; side >= 0; side--) {
    cfg_t c = {side, max_payload, max_frags};
    char l[128];
    snprintf(l, sizeof(l), "%s [%s]", label, side ? "server" : "client");
    check_stream_cfg(l, &s[side], &c, x);
  }
}

#define LIMIT_CASE(label, maxp, maxf, build, expect_build) \
  do {                                                     \
    buf_t s[2] = {{0}, {0}};                               \
    for (int side_ = 0; side_ < 2; side_++) {              \
      g_masked = side_;                                    \
      buf_t *sp = &s[side_];                               \
      build;                                               \
    }                                                      \
    g_masked = 1;                                          \
    rec_t *x = malloc(sizeof(rec_t));                      \
    rec_init(x);                                           \
    expect_build;                                          \
    limit_case(label, s, maxp, maxf, x);                   \
    rec_free(x);                                           \
    free(x);                                               \
    buf_free(&s[0]);                                       \
    buf_free(&s[1]);                                       \
  } while (0)

static void test_max_payload(void) {
  uint8_t *d = malloc(70000);
  test_rand_bytes(d, 70000);
  LIMIT_CASE("exactly max", 1000, 0, frame(sp, 1, UVWS_OP_BINARY, d, 1000),
             x_msg(x, EV_BINARY, d, 1000));
  LIMIT_CASE("max + 1", 1000, 0, frame(sp, 1, UVWS_OP_BINARY, d, 1001),
             x_fail(x, 1009, UVWS_ETOOBIG));
  LIMIT_CASE("max + 1 in text", 1000, 0, frame(sp, 1, UVWS_OP_TEXT, d, 1001),
             x_fail(x, 1009, UVWS_ETOOBIG));
  LIMIT_CASE("fragments summing to max", 1000, 0,
             (frame(sp, 0, UVWS_OP_BINARY, d, 500), frame(sp, 0, UVWS_OP_CONT, d + 500, 499),
              frame(sp, 1, UVWS_OP_CONT, d + 999, 1)),
             x_msg(x, EV_BINARY, d, 1000));
  LIMIT_CASE("fragments summing to max + 1", 1000, 0,
             (frame(sp, 0, UVWS_OP_BINARY, d, 500), frame(sp, 0, UVWS_OP_CONT, d + 500, 500),
              frame(sp, 1, UVWS_OP_CONT, d + 1000, 1)),
             x_fail(x, 1009, UVWS_ETOOBIG));
  LIMIT_CASE("three fragments of 400", 1000, 0,
             (frame(sp, 0, UVWS_OP_BINARY, "aaaa", 4), frame(sp, 0, UVWS_OP_CONT, d, 0),
              raw_frame(sp, 0, 0, UVWS_OP_CONT, 400, d, 400, g_masked),
              raw_frame(sp, 0, 0, UVWS_OP_CONT, 400, d, 400, g_masked),
              raw_frame(sp, 1, 0, UVWS_OP_CONT, 400, d, 400, g_masked)),
             x_fail(x, 1009, UVWS_ETOOBIG));
  LIMIT_CASE("max applies per message", 1000, 0,
             (frame(sp, 1, UVWS_OP_BINARY, d, 1000), frame(sp, 0, UVWS_OP_BINARY, d, 600),
              frame(sp, 1, UVWS_OP_CONT, d + 600, 400), frame(sp, 1, UVWS_OP_BINARY, d, 1000)),
             (x_msg(x, EV_BINARY, d, 1000), x_msg(x, EV_BINARY, d, 1000), x_msg(x, EV_BINARY, d, 1000)));
  LIMIT_CASE("control frames do not count", 10, 0,
             (frame(sp, 0, UVWS_OP_BINARY, d, 5), frame(sp, 1, UVWS_OP_PING, d, 100),
              frame(sp, 1, UVWS_OP_CONT, d + 5, 5)),
             (x_msg(x, EV_PING, d, 100), x_msg(x, EV_BINARY, d, 10)));
  LIMIT_CASE("64 KiB limit, large message", 65536, 0, frame(sp, 1, UVWS_OP_BINARY, d, 65536),
             x_msg(x, EV_BINARY, d, 65536));
  LIMIT_CASE("64 KiB limit, large message + 1", 65536, 0, frame(sp, 1, UVWS_OP_BINARY, d, 65537),
             x_fail(x, 1009, UVWS_ETOOBIG));
  LIMIT_CASE("no limit", 0, 0, frame(sp, 1, UVWS_OP_BINARY, d, 70000),
             x_msg(x, EV_BINARY, d, 70000));
  free(d);
}

/* A huge length fails at once from the header: nothing is allocated and the
 * payload is not waited for. */
static void test_huge_length(void) {
  static const uint64_t lens[] = {1ull << 30, 1ull << 62, (1ull << 63) - 1};
  static const size_t maxes[] = {1 << 20, 100u << 20};
  for (size_t i = 0; i < 3; i++)
    for (size_t m = 0; m < 2; m++)
      for (int side = 1; side >= 0; side--)
        for (int op = UVWS_OP_TEXT; op <= UVWS_OP_BINARY; op++) {
          buf_t s = {0};
          uint8_t junk[100];
          memset(junk, 'j', sizeof(junk));
          raw_frame(&s, 1, 0, op, lens[i], junk, sizeof(junk), side);
          size_t hs = header_size(lens[i], side);
          test_ctx("length %llu max %zu side %d op %d", (unsigned long long)lens[i], maxes[m],
                   side, op);
          uvws_proto_t p;
          rec_t r;
          rec_init(&r);
          uvws_proto_init(&p, side, maxes[m], 0);
          CHECK_EQ(uvws_proto_feed(&p, s.p, s.len, &handler, &r), hs);
          CHECK_EQ(r.n, 1);
          CHECK_EQ(r.ev[0].type, EV_FAIL);
          CHECK_EQ(r.ev[0].code, 1009);
          CHECK_EQ(r.ev[0].err, UVWS_ETOOBIG);
          CHECK_PTR(p.msg, NULL);
          CHECK_EQ(p.msg_cap, 0);
          CHECK(p.done);
          uvws_proto_free(&p);
          rec_free(&r);
          /* the header alone, byte by byte: fails on its last byte */
          rec_init(&r);
          uvws_proto_init(&p, side, maxes[m], 0);
          for (size_t k = 0; k < hs; k++) {
            uvws_proto_feed(&p, s.p + k, 1, &handler, &r);
            if (k + 1 < hs) CHECK_EQ(r.n, 0);
          }
          CHECK_EQ(r.n, 1);
          CHECK_PTR(p.msg, NULL);
          uvws_proto_free(&p);
          rec_free(&r);
          /* as a continuation of a started message */
          buf_free(&s);
          raw_frame(&s, 0, 0, op, 10, junk, 10, side);
          size_t first = s.len;
          raw_frame(&s, 1, 0, UVWS_OP_CONT, lens[i], junk, sizeof(junk), side);
          rec_init(&r);
          uvws_proto_init(&p, side, maxes[m], 0);
          CHECK_EQ(uvws_proto_feed(&p, s.p, s.len, &handler, &r), first + hs);
          CHECK_EQ(r.n, 1);
          CHECK_EQ(r.ev[0].code, 1009);
          CHECK(p.msg_cap <= 10); /* only the first fragment was ever buffered */
          uvws_proto_free(&p);
          rec_free(&r);
          buf_free(&s);
        }
  /* 64-bit length with the top bit set: invalid frame, 1002 */
  buf_t s = {0};
  raw_frame(&s, 1, 0, UVWS_OP_BINARY, 0x8000000000000000ull, "x", 1, 1);
  test_ctx("top bit");
  one_fail("length with the top bit set", 1, 1002, UVWS_EREMOTE, &s);
  test_ctx(NULL);
}

static void test_max_fragments(void) {
  LIMIT_CASE("3 fragments, max 3", 0, 3,
             (frame(sp, 0, UVWS_OP_TEXT, TXT("a")), frame(sp, 0, UVWS_OP_CONT, TXT("b")),
              frame(sp, 1, UVWS_OP_CONT, TXT("c"))),
             x_msg(x, EV_TEXT, "abc", 3));
  LIMIT_CASE("4 fragments, max 3", 0, 3,
             (frame(sp, 0, UVWS_OP_TEXT, TXT("a")), frame(sp, 0, UVWS_OP_CONT, TXT("b")),
              frame(sp, 0, UVWS_OP_CONT, TXT("c")), frame(sp, 1, UVWS_OP_CONT, TXT("d"))),
             x_fail(x, 1009, UVWS_ETOOBIG));
  LIMIT_CASE("control frames are not fragments", 0, 2,
             (frame(sp, 0, UVWS_OP_TEXT, TXT("a")), frame(sp, 1, UVWS_OP_PING, "", 0),
              frame(sp, 1, UVWS_OP_PONG, "", 0), frame(sp, 1, UVWS_OP_CONT, TXT("b"))),
             (x_msg(x, EV_PING, "", 0), x_msg(x, EV_PONG, "", 0), x_msg(x, EV_TEXT, "ab", 2)));
  LIMIT_CASE("the count restarts with each message", 0, 2,
             (frame(sp, 0, UVWS_OP_TEXT, TXT("a")), frame(sp, 1, UVWS_OP_CONT, TXT("b")),
              frame(sp, 0, UVWS_OP_BINARY, TXT("c")), frame(sp, 1, UVWS_OP_CONT, TXT("d")),
              frame(sp, 1, UVWS_OP_TEXT, TXT("e"))),
             (x_msg(x, EV_TEXT, "ab", 2), x_msg(x, EV_BINARY, "cd", 2), x_msg(x, EV_TEXT, "e", 1)));
  LIMIT_CASE("max 1: unfragmented only", 0, 1,
             (frame(sp, 1, UVWS_OP_TEXT, TXT("x")), frame(sp, 0, UVWS_OP_TEXT, TXT("a")),
              frame(sp, 1, UVWS_OP_CONT, TXT("b"))),
             (x_msg(x, EV_TEXT, "x", 1), x_fail(x, 1009, UVWS_ETOOBIG)));
}

/* ------------------------------------------------------------------ */
/* Handlers asking to stop                                             */
/* ------------------------------------------------------------------ */

static void test_handler_stop(void) {
  for (int side = 1; side >= 0; side--) {
    g_masked = side;
    static const int kinds[] = {UVWS_OP_TEXT, UVWS_OP_BINARY, UVWS_OP_PING, UVWS_OP_PONG};
    for (int k = 0; k < 4; k++)
      for (int frag = 0; frag < 2; frag++) {
        if (frag && kinds[k] >= UVWS_OP_CLOSE) continue;
        buf_t s = {0};
        frame(&s, 1, UVWS_OP_TEXT, TXT("first"));
        if (frag) {
          frame(&s, 0, kinds[k], TXT("sec"));
          frame(&s, 1, UVWS_OP_CONT, TXT("ond"));
        } else {
          frame(&s, 1, kinds[k], TXT("second"));
        }
        size_t end2 = s.len;
        frame(&s, 1, UVWS_OP_TEXT, TXT("third"));
        uvws_proto_t p;
        rec_t r;
        rec_init(&r);
        r.stop_at = 2;
        uvws_proto_init(&p, side, 0, 0);
        test_ctx("stop on op %d frag %d side %d", kinds[k], frag, side);
        CHECK_EQ(uvws_proto_feed(&p, s.p, s.len, &handler, &r), end2);
        CHECK_EQ(r.n, 2);
        CHECK(r.stopped);
        if (r.n == 2) CHECK_MEM(r.ev[1].data, r.ev[1].len, "second", 6);
        uvws_proto_free(&p);
        rec_free(&r);
        buf_free(&s);
      }
  }
  g_masked = 1;
  test_ctx(NULL);
}

/* ------------------------------------------------------------------ */
/* uvws_proto_read_target                                              */
/* ------------------------------------------------------------------ */

static void test_read_target(void) {
  for (int side = 1; side >= 0; side--) {
    enum { N1 = 100000, N2 = 5000 };
    uint8_t *d = malloc(N1 + N2);
    test_rand_bytes(d, N1 + N2);
    buf_t s = {0};
    raw_frame(&s, 0, 0, UVWS_OP_BINARY, N1, d, N1, side);
    size_t h1 = header_size(N1, side);
    size_t f2 = s.len;
    raw_frame(&s, 1, 0, UVWS_OP_CONT, N2, d + N1, N2, side);
    size_t h2 = header_size(N2, side);
    test_ctx("read target [%d]", side);

    uvws_proto_t p;
    rec_t r;
    rec_init(&r);
    uvws_proto_init(&p, side, 0, 0);
    uint8_t *t = (uint8_t *)"unset";
    CHECK_EQ(uvws_proto_read_target(&p, &t), 0); /* idle */
    /* header + 10 bytes, from an ordinary buffer */
    uint8_t *chunk = malloc(h1 + 10);
    memcpy(chunk, s.p, h1 + 10);
    CHECK_EQ(uvws_proto_feed(&p, chunk, h1 + 10, &handler, &r), h1 + 10);
    free(chunk);
    CHECK(p.msg != NULL);
    CHECK_EQ(p.msg_len, 10);
    CHECK_EQ(uvws_proto_read_target(&p, &t), N1 - 10);
    CHECK_PTR(t, p.msg + 10);
    /* "read" 50000 bytes straight into the target, feed them from there */
    memcpy(t, s.p + h1 + 10, 50000);
    CHECK_EQ(uvws_proto_feed(&p, t, 50000, &handler, &r), 50000);
    CHECK_EQ(p.msg_len, 50010);
    CHECK_EQ(uvws_proto_read_target(&p, &t), N1 - 50010);
    CHECK_PTR(t, p.msg + 50010);
    /* the rest of frame 1 and the header of frame 2 in an ordinary buffer */
    chunk = malloc(f2 + h2);
    memcpy(chunk, s.p, f2 + h2);
    CHECK_EQ(uvws_proto_feed(&p, chunk + h1 + 50010, f2 + h2 - (h1 + 50010), &handler, &r),
             f2 + h2 - (h1 + 50010));
    free(chunk);
    CHECK_EQ(r.n, 0);
    CHECK_EQ(p.msg_len, N1);
    CHECK_EQ(uvws_proto_read_target(&p, &t), N2);
    CHECK_PTR(t, p.msg + N1);
    CHECK(p.msg_cap >= N1 + N2);
    /* the second frame through the target in two reads */
    memcpy(t, s.p + f2 + h2, 3000);
    CHECK_EQ(uvws_proto_feed(&p, t, 3000, &handler, &r), 3000);
    CHECK_EQ(uvws_proto_read_target(&p, &t), N2 - 3000);
    memcpy(t, s.p + f2 + h2 + 3000, N2 - 3000);
    CHECK_EQ(uvws_proto_feed(&p, t, N2 - 3000, &handler, &r), N2 - 3000);
    CHECK_EQ(r.n, 1);
    if (r.n == 1) {
      CHECK_EQ(r.ev[0].type, EV_BINARY);
      CHECK_MEM(r.ev[0].data, r.ev[0].len, d, N1 + N2); /* no corruption */
    }
    CHECK_PTR(p.msg, NULL); /* idle connections hold no buffer */
    CHECK_EQ(uvws_proto_read_target(&p, &t), 0);
    uvws_proto_free(&p);
    rec_free(&r);
    buf_free(&s);

    /* no target for control frames, for frames that arrive whole, and once
     * the connection is done */
    rec_init(&r);
    uvws_proto_init(&p, side, 0, 0);
    raw_frame(&s, 1, 0, UVWS_OP_PING, 100, d, 100, side);
    CHECK_EQ(uvws_proto_feed(&p, s.p, 20, &handler, &r), 20);
    CHECK_EQ(uvws_proto_read_target(&p, &t), 0); /* inside a ping */
    CHECK_EQ(uvws_proto_feed(&p, s.p + 20, s.len - 20, &handler, &r), s.len - 20);
    CHECK_EQ(r.n, 1);
    buf_free(&s);
    raw_frame(&s, 1, 0, UVWS_OP_TEXT, 3, "abc", 3, side);
    CHECK_EQ(uvws_proto_feed(&p, s.p, s.len, &handler, &r), s.len);
    CHECK_EQ(uvws_proto_read_target(&p, &t), 0);
    CHECK_EQ(r.n, 2);
    buf_free(&s);
    /* an unfragmented large frame that arrives in parts does get a target */
    uint8_t big[1000];
    memset(big, 'q', sizeof(big));
    raw_frame(&s, 1, 0, UVWS_OP_TEXT, sizeof(big), big, sizeof(big), side);
    size_t hs = header_size(sizeof(big), side);
    CHECK_EQ(uvws_proto_feed(&p, s.p, hs + 1, &handler, &r), hs + 1);
    CHECK_EQ(uvws_proto_read_target(&p, &t), 999);
    CHECK_PTR(t, p.msg + 1);
    memcpy(t, s.p + hs + 1, 999);
    CHECK_EQ(uvws_proto_feed(&p, t, 999, &handler, &r), 999);
    CHECK_EQ(r.n, 3);
    if (r.n == 3) CHECK_MEM(r.ev[2].data, r.ev[2].len, big, sizeof(big));
    buf_free(&s);
    /* once done, no target even inside a frame */
    raw_frame(&s, 0, 0, UVWS_OP_BINARY, 500, big, 500, side);
    CHECK_EQ(uvws_proto_feed(&p, s.p, 100, &handler, &r), 100);
    CHECK_EQ(uvws_proto_read_target(&p, &t), 400 + header_size(500, side));
    buf_free(&s);
    raw_frame(&s, 0, 0, UVWS_OP_BINARY, 500, big, 500, side);
    uvws_proto_free(&p);
    CHECK_EQ(uvws_proto_read_target(&p, &t), 0);
    rec_free(&r);
    buf_free(&s);
    free(d);
  }
  test_ctx(NULL);
}

/* ------------------------------------------------------------------ */
/* Random streams                                                      */
/* ------------------------------------------------------------------ */

static size_t rand_utf8(uint8_t *o, size_t max) {
  size_t n = 0;
  while (n + 4 <= max) {
    uint32_t cp;
    switch (test_rand_below(4)) {
      case 0: cp = 0x20 + (uint32_t)test_rand_below(0x5f); break;
      case 1: cp = 0x80 + (uint32_t)test_rand_below(0x780); break;
      case 2: cp = 0xe000 + (uint32_t)test_rand_below(0x2000); break;
      default: cp = 0x10000 + (uint32_t)test_rand_below(0x100000); break;
    }
    if (cp < 0x80) o[n++] = (uint8_t)cp;
    else if (cp < 0x800) {
      o[n++] = (uint8_t)(0xc0 | cp >> 6);
      o[n++] = (uint8_t)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      o[n++] = (uint8_t)(0xe0 | cp >> 12);
      o[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
      o[n++] = (uint8_t)(0x80 | (cp & 0x3f));
    } else {
      o[n++] = (uint8_t)(0xf0 | cp >> 18);
      o[n++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
      o[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
      o[n++] = (uint8_t)(0x80 | (cp & 0x3f));
    }
    if (test_rand_below(16) == 0) break;
  }
  return n;
}

static void rand_control(buf_t *s, rec_t *x) {
  uint8_t pl[125];
  size_t n = test_rand_below(4) ? test_rand_below(10) : test_rand_below(126);
  test_rand_bytes(pl, n);
  int op = test_rand_below(2) ? UVWS_OP_PING : UVWS_OP_PONG;
  frame(s, 1, op, pl, n);
  x_msg(x, op == UVWS_OP_PING ? EV_PING : EV_PONG, pl, n);
}

/* A random valid conversation, with its expected events. */
static void rand_conversation(buf_t *s, rec_t *x) {
  size_t nmsg = 1 + test_rand_below(6);
  uint8_t *msg = malloc(80000);
  for (size_t m = 0; m < nmsg; m++) {
    if (test_rand_below(3) == 0) rand_control(s, x);
    int binary = (int)test_rand_below(2);
    size_t len;
    if (test_rand_below(10) == 0) len = 60000 + test_rand_below(10000);
    else len = test_rand_below(test_rand_below(2) ? 40 : 400);
    if (binary) test_rand_bytes(msg, len);
    else len = rand_utf8(msg, len);
    /* fragment at random byte offsets, possibly inside code points */
    size_t nfrag = test_rand_below(3) ? 1 : 1 + test_rand_below(5);
    size_t pos = 0;
    for (size_t f = 0; f < nfrag; f++) {
      size_t take = f + 1 == nfrag ? len - pos : test_rand_below(len - pos + 1);
      frame(s, f + 1 == nfrag, f ? UVWS_OP_CONT : (binary ? UVWS_OP_BINARY : UVWS_OP_TEXT),
            msg + pos, take);
      pos += take;
      if (f + 1 < nfrag && test_rand_below(3) == 0) rand_control(s, x);
    }
    x_msg(x, binary ? EV_BINARY : EV_TEXT, msg, len);
  }
  if (test_rand_below(2)) {
    uint8_t pl[20] = {0x0f, 0xa0};
    size_t n = 2 + rand_utf8(pl + 2, 18);
    frame(s, 1, UVWS_OP_CLOSE, pl, n);
    x_close(x, 4000, pl + 2, n - 2);
    frame(s, 1, UVWS_OP_TEXT, TXT("ignored"));
  }
  free(msg);
}

static void test_random_conversations(void) {
  int saved = g_all_splits_max;
  g_all_splits_max = 300;
  for (int round = 0; round < 150; round++) {
    for (int side = 1; side >= 0; side--) {
      g_masked = side;
      buf_t s = {0};
      rec_t *x = malloc(sizeof(*x));
      rec_init(x);
      rand_conversation(&s, x);
      char l[64];
      snprintf(l, sizeof(l), "random conversation %d [%d]", round, side);
      check_stream(l, &s, side, x);
      rec_free(x);
      free(x);
      buf_free(&s);
    }
  }
  g_masked = 1;
  g_all_splits_max = saved;
  /* the read-target mode really read into message buffers */
  CHECK(g_target_bytes > 100000);
}

/* Broken streams: whatever happens, every way of feeding agrees with the
 * one-shot feed, and nothing crashes or leaks. */
static void test_random_corruption(void) {
  size_t disagree = 0;
  for (int round = 0; round < 600; round++) {
    int side = round & 1;
    g_masked = side;
    buf_t s = {0};
    rec_t *x = malloc(sizeof(*x));
    rec_init(x);
    rand_conversation(&s, x);
    rec_free(x);
    size_t flips = 1 + test_rand_below(3);
    for (size_t f = 0; f < flips && s.len; f++) {
      size_t at = test_rand_below(s.len);
      if (test_rand_below(2)) s.p[at] ^= (uint8_t)(1u << test_rand_below(8));
      else s.p[at] = (uint8_t)test_rand();
    }
    if (test_rand_below(4) == 0) s.len = test_rand_below(s.len + 1);
    cfg_t c = {side, 1 << 20, test_rand_below(2) ? 0 : 4};
    rec_t *ref = malloc(sizeof(*ref));
    rec_init(ref);
    drive(s.p, s.len, &c, M_WHOLE, 0, ref, NULL);
    for (int m = M_BYTES; m <= M_TARGET; m++) {
      if (m == M_SPLIT) continue;
      rec_t *r = malloc(sizeof(*r));
      rec_init(r);
      drive(s.p, s.len, &c, m, 0, r, NULL);
      if (!events_equal(r, ref) || r->violations || ref->violations) {
        if (!disagree++) {
          test_ctx("corrupted stream %d, %s", round, mode_names[m]);
          dump_events("one shot", ref);
          dump_events("other", r);
          if (r->violations) fprintf(stderr, "  violation: %s\n", r->why);
          CHECK(0);
        }
      }
      rec_free(r);
      free(r);
    }
    rec_free(ref);
    free(ref);
    free(x);
    buf_free(&s);
  }
  g_masked = 1;
  test_ctx(NULL);
  CHECK_EQ(disagree, 0);
}

/* Freeing in the middle of a message and of a split control frame. */
static void test_free_midway(void) {
  for (int side = 1; side >= 0; side--) {
    uvws_proto_t p;
    rec_t r;
    rec_init(&r);
    buf_t s = {0};
    raw_frame(&s, 0, 0, UVWS_OP_BINARY, 50, "0123456789", 10, side);
    uvws_proto_init(&p, side, 0, 0);
    uvws_proto_feed(&p, s.p, s.len, &handler, &r);
    CHECK(p.msg != NULL);
    uvws_proto_free(&p);
    CHECK_PTR(p.msg, NULL);
    uvws_proto_free(&p); /* twice is harmless */
    buf_free(&s);
    raw_frame(&s, 1, 0, UVWS_OP_PING, 50, "0123456789", 10, side);
    uvws_proto_init(&p, side, 0, 0);
    uvws_proto_feed(&p, s.p, s.len, &handler, &r);
    CHECK(p.ctl != NULL);
    uvws_proto_free(&p);
    CHECK_PTR(p.ctl, NULL);
    CHECK_EQ(r.n, 0);
    buf_free(&s);
  }
}

int main(void) {
  test_seed(1002);
  RUN_TEST(test_unfragmented);
  RUN_TEST(test_fragmented);
  RUN_TEST(test_control_interleaved);
  RUN_TEST(test_masking_rules);
  RUN_TEST(test_rsv_bits);
  RUN_TEST(test_reserved_opcodes);
  RUN_TEST(test_control_rules);
  RUN_TEST(test_fragmentation_rules);
  RUN_TEST(test_text_utf8);
  RUN_TEST(test_utf8_fail_fast);
  RUN_TEST(test_close_frames);
  RUN_TEST(test_max_payload);
  RUN_TEST(test_huge_length);
  RUN_TEST(test_max_fragments);
  RUN_TEST(test_handler_stop);
  RUN_TEST(test_read_target);
  RUN_TEST(test_free_midway);
  RUN_TEST(test_random_conversations);
  RUN_TEST(test_random_corruption);
  return test_report();
}

/* Bad input from raw TCP peers: it must get the RFC's answer (an HTTP error
 * status or a close code), never a crash, a hang or a leak (run under ASan
 * and valgrind). Also the timeouts: slowloris, idle, ping/pong, close. */
#include "e2e_util.h"

#include <stdlib.h>

static uv_loop_t *loop;
static uvws_server_t *server;
static int port;

typedef struct {
  int opens, closes, errors, messages, last_code, last_err;
  char last_msg[64];
  size_t last_len;
} srv_stats_t;
static srv_stats_t st;

static void s_open(uvws_t *ws, const uvws_http_t *r) {
  (void)ws;
  (void)r;
  st.opens++;
}
static void s_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)bin;
  st.messages++;
  st.last_len = n;
  snprintf(st.last_msg, sizeof(st.last_msg), "%.*s", (int)(n < 63 ? n : 63), d);
  uvws_send(ws, d, n, bin ? UVWS_BINARY : UVWS_TEXT);
}
static void s_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  (void)msg;
  st.errors++;
  st.last_err = err;
}
static void s_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws;
  (void)r;
  (void)n;
  st.closes++;
  st.last_code = code;
}

static void start(uvws_server_options_t *so) {
  uvws_callbacks_t cb = {0};
  cb.on_open = s_open;
  cb.on_message = s_message;
  cb.on_error = s_error;
  cb.on_close = s_close;
  memset(&st, 0, sizeof(st));
  server = e2e_server(loop, "127.0.0.1", so, &cb, NULL, NULL);
  port = uvws_server_port(server);
}

static void stop(void) {
  uvws_server_close(server, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

/* Close the raw peer once the server has closed its side. */
static void close_on_eof(e2e_raw_t *r) { e2e_raw_close(r); }


typedef struct {
  e2e_raw_t raw;
  int status;
  char head[1024];
} probe_t;

static void probe_eof(e2e_raw_t *r) {
  probe_t *p = r->data;
  p->status = e2e_raw_status(r);
  size_t n = r->in_len < sizeof(p->head) - 1 ? r->in_len : sizeof(p->head) - 1;
  memcpy(p->head, r->in, n);
  p->head[n] = 0;
  e2e_raw_close(r);
}

static void probe_data(e2e_raw_t *r) {
  /* A 101 leaves the connection open: done once the head is complete. */
  if (e2e_raw_head_end(r) && e2e_raw_status(r) == 101) probe_eof(r);
}

static int probe(const char *bytes, size_t len, char *head_out, size_t cap) {
  probe_t p;
  memset(&p, 0, sizeof(p));
  p.raw.data = &p;
  p.raw.send = (const uint8_t *)bytes;
  p.raw.send_len = len;
  p.raw.on_eof = probe_eof;
  p.raw.on_data = probe_data;
  e2e_raw_connect(loop, &p.raw, "127.0.0.1", port);
  /* Until the server answered and shut its side (or sent its 101). */
  e2e_wait(loop, &p.raw.closed, 5000);
  e2e_raw_close(&p.raw);
  e2e_spin(loop, 1);
  if (head_out) snprintf(head_out, cap, "%s", p.head);
  return p.status;
}

static void test_bad_requests(void) {
  start(NULL);
  char req[4096], head[1024];
  size_t n;

  n = e2e_request(req, sizeof(req), "/", NULL);
  EXPECT_INT(probe(req, n, head, sizeof(head)), 101);
  EXPECT(strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != NULL);

  const char garbage[] = "\x00\xff\x13\x37 garbage \r\n\r\n";
  EXPECT_INT(probe(garbage, sizeof(garbage) - 1, NULL, 0), 400);

  const char *post = "POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  EXPECT_INT(probe(post, strlen(post), NULL, 0), 405);

  const char *v7 = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n";
  EXPECT_INT(probe(v7, strlen(v7), head, sizeof(head)), 426);
  EXPECT(strstr(head, "Sec-WebSocket-Version: 13, 8") != NULL);
  /* hybi-08 speaks the same protocol: accepted, as ws does. */
  const char *v8 = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
  EXPECT_INT(probe(v8, strlen(v8), NULL, 0), 101);

  const char *plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_INT(probe(plain, strlen(plain), NULL, 0), 426);

  const char *badkey = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n";
  EXPECT_INT(probe(badkey, strlen(badkey), NULL, 0), 400);

  const char *nohost = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  EXPECT_INT(probe(nohost, strlen(nohost), NULL, 0), 400);

  /* Too large: 431 without buffering it all. */
  char *huge = malloc(64 * 1024);
  n = (size_t)snprintf(huge, 64 * 1024, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
  memset(huge + n, 'a', 20000);
  n += 20000;
  memcpy(huge + n, "\r\n\r\n", 4);
  n += 4;
  EXPECT_INT(probe(huge, n, NULL, 0), 431);
  /* Too many headers: 431. */
  n = (size_t)snprintf(huge, 64 * 1024, "GET / HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(huge + n, 64 * 1024 - n, "X-H%d: v\r\n", i);
  n += (size_t)snprintf(huge + n, 64 * 1024 - n, "\r\n");
  EXPECT_INT(probe(huge, n, NULL, 0), 431);
  free(huge);

  EXPECT_INT(st.opens, 2); /* only the valid requests (13 and 8) were ever exposed */
  stop();
}

/* A truncated handshake then a disconnect; a disconnect mid-frame. */
typedef struct {
  e2e_raw_t raw;
  int phase;
  uv_timer_t timer;
} trunc_t;

static void trunc_timer(uv_timer_t *t) {
  trunc_t *tr = t->data;
  uv_close((uv_handle_t *)t, NULL);
  e2e_raw_close(&tr->raw);
}
static void trunc_connected(e2e_raw_t *r) {
  trunc_t *tr = r->data;
  uv_timer_init(loop, &tr->timer);
  tr->timer.data = tr;
  uv_timer_start(&tr->timer, trunc_timer, 100, 0);
}

static void test_disconnects(void) {
  start(NULL);
  /* 1: half a request line, then gone. */
  trunc_t a;
  memset(&a, 0, sizeof(a));
  a.raw.data = &a;
  a.raw.send = (const uint8_t *)"GET / HTTP/1.1\r\nHo";
  a.raw.send_len = 18;
  a.raw.on_connect = trunc_connected;
  e2e_raw_connect(loop, &a.raw, "127.0.0.1", port);
  EXPECT_INT(e2e_wait(loop, &a.raw.closed, 5000), 0);
  e2e_spin(loop, 50);
  EXPECT_INT(uvws_server_connections(server), 0);

  /* 2: a full handshake, then half a frame, then gone: close 1006. */
  static uint8_t buf[8192];
  size_t n = e2e_request((char *)buf, sizeof(buf), "/", NULL);
  uint8_t payload[1000];
  memset(payload, 'x', sizeof(payload));
  size_t f = e2e_frame(buf + n, 1, 1, 1, payload, sizeof(payload));
  trunc_t b;
  memset(&b, 0, sizeof(b));
  b.raw.data = &b;
  b.raw.send = buf;
  b.raw.send_len = n + f / 2;
  b.raw.on_connect = trunc_connected;
  e2e_raw_connect(loop, &b.raw, "127.0.0.1", port);
  EXPECT_INT(e2e_wait(loop, &b.raw.closed, 5000), 0);
  e2e_wait(loop, &st.closes, 5000);
  EXPECT_INT(st.opens, 1);
  EXPECT_INT(st.closes, 1);
  EXPECT_INT(st.last_code, 1006);
  EXPECT_INT(st.messages, 0);
  stop();
}

/* Frames that must fail the connection with a given close code. */
typedef struct {
  e2e_raw_t raw;
  int close_code;
} fail_t;

static void fail_data(e2e_raw_t *r) {
  fail_t *f = r->data;
  size_t h = e2e_raw_head_end(r);
  if (!h || f->close_code) return;
  /* Skip echoed messages; find the close frame. */
  size_t off = h;
  for (;;) {
    int op;
    const uint8_t *p;
    uint64_t len;
    size_t fl = e2e_parse_frame(r->in + off, r->in_len - off, &op, &p, &len);
    if (!fl) return;
    if (op == 8) {
      f->close_code = len >= 2 ? (p[0] << 8) | p[1] : 1005;
      return;
    }
    off += fl;
  }
}

static int close_code_for(const uint8_t *frames, size_t len, int *opens_out) {
  static uint8_t buf[1 << 16];
  size_t n = e2e_request((char *)buf, sizeof(buf), "/", NULL);
  memcpy(buf + n, frames, len);
  fail_t f;
  memset(&f, 0, sizeof(f));
  f.raw.data = &f;
  f.raw.send = buf;
  f.raw.send_len = n + len;
  f.raw.on_data = fail_data;
  f.raw.on_eof = close_on_eof;
  int before = st.opens;
  e2e_raw_connect(loop, &f.raw, "127.0.0.1", port);
  EXPECT_INT(e2e_wait(loop, &f.raw.closed, 8000), 0);
  e2e_raw_close(&f.raw);
  e2e_spin(loop, 1);
  if (opens_out) *opens_out = st.opens - before;
  return f.close_code;
}

static void test_protocol_violations(void) {
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.limits.max_payload = 1 << 20;
  start(&so);
  uint8_t fr[256];
  size_t n;

  /* Unmasked client frame: 1002. */
  n = e2e_frame(fr, 1, 1, 0, "hi", 2);
  EXPECT_INT(close_code_for(fr, n, NULL), 1002);
  /* RSV1 without an extension: 1002. */
  n = e2e_frame(fr, 1, 1, 1, "hi", 2);
  fr[0] |= 0x40;
  EXPECT_INT(close_code_for(fr, n, NULL), 1002);
  /* Reserved opcode: 1002. */
  n = e2e_frame(fr, 1, 3, 1, "hi", 2);
  EXPECT_INT(close_code_for(fr, n, NULL), 1002);
  /* Invalid UTF-8: 1007. */
  n = e2e_frame(fr, 1, 1, 1, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", 14);
  EXPECT_INT(close_code_for(fr, n, NULL), 1007);
  /* A 1 GiB length header: 1009 at once, nothing allocated for it (ASan
   * and valgrind would see a 1 GiB allocation). */
  n = e2e_frame(fr, 1, 2, 1, NULL, 1ull << 30);
  EXPECT_INT(close_code_for(fr, n, NULL), 1009);
  /* 2^63 and above: invalid length, 1002. */
  n = e2e_frame(fr, 1, 2, 1, NULL, 1ull << 63);
  EXPECT_INT(close_code_for(fr, n, NULL), 1002);
  /* Invalid close code: 1002; close reason not UTF-8: 1007. */
  n = e2e_frame(fr, 1, 8, 1, "\x03\xed", 2); /* 1005 */
  EXPECT_INT(close_code_for(fr, n, NULL), 1002);
  n = e2e_frame(fr, 1, 8, 1, "\x03\xe8\xff", 3);
  EXPECT_INT(close_code_for(fr, n, NULL), 1007);
  /* A valid close is echoed with its code. */
  n = e2e_frame(fr, 1, 8, 1, "\x0f\xa0", 2); /* 4000 */
  EXPECT_INT(close_code_for(fr, n, NULL), 4000);
  /* Frames in the same segment as the request are kept: message, then a
   * close; the echo comes back before the close. */
  n = e2e_frame(fr, 1, 1, 1, "early", 5);
  n += e2e_frame(fr + n, 1, 8, 1, "\x03\xe8", 2);
  int before = st.messages;
  EXPECT_INT(close_code_for(fr, n, NULL), 1000);
  EXPECT_INT(st.messages, before + 1);
  EXPECT(!strcmp(st.last_msg, "early"));
  EXPECT(st.errors >= 7);
  stop();
}

/* An upper bound on elapsed loop time that cannot flake: a repeating
 * 100 ms timer on the test's loop counts ticks. A stalled loop (valgrind, a
 * loaded machine) cannot make it run ahead, since a repeating timer runs at
 * most once per iteration and never sooner than 100 ms after its last run;
 * and the engine's timeouts run on the same loop clock. So "a timeout fired
 * within N ticks" still fails if the timeout is far too long, while a wall
 * clock bound ("took < 3000 ms") fails whenever the machine is slow. Lower
 * bounds stay on the loop clock (uv_now): a timer never fires early. */
static struct {
  uv_timer_t t;
  unsigned ticks;
} tick_clock;
static void tick_clock_cb(uv_timer_t *t) { tick_clock.ticks++; }
static void tick_clock_start(void) {
  tick_clock.ticks = 0;
  uv_timer_init(loop, &tick_clock.t);
  uv_timer_start(&tick_clock.t, tick_clock_cb, 100, 100);
}
static unsigned tick_clock_stop(void) {
  uv_close((uv_handle_t *)&tick_clock.t, NULL);
  return tick_clock.ticks;
}

/* Slowloris: a header byte every 100 ms never completes the handshake
 * before the timeout. */
typedef struct {
  e2e_raw_t raw;
  uv_timer_t timer;
  const char *req;
  size_t pos, len;
  uint64_t start;
  uint64_t dropped_after;
} slow_t;

static void slow_tick(uv_timer_t *t) {
  slow_t *s = t->data;
  if (s->raw.eof || s->pos >= s->len) {
    uv_close((uv_handle_t *)t, NULL);
    return;
  }
  e2e_raw_write(&s->raw, s->req + s->pos++, 1);
}
static void slow_eof(e2e_raw_t *r) {
  slow_t *s = r->data;
  s->dropped_after = uv_now(loop) - s->start;
  e2e_raw_close(r);
}
static void slow_connected(e2e_raw_t *r) {
  slow_t *s = r->data;
  uv_timer_init(loop, &s->timer);
  s->timer.data = s;
  uv_timer_start(&s->timer, slow_tick, 1, 100);
}

static void test_slowloris(void) {
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.handshake_timeout_ms = 800;
  start(&so);
  static char req[512];
  slow_t s;
  memset(&s, 0, sizeof(s));
  s.len = e2e_request(req, sizeof(req), "/", NULL);
  s.req = req;
  s.raw.data = &s;
  s.raw.on_connect = slow_connected;
  s.raw.on_eof = slow_eof;
  /* Before the connect, so that the server's deadline (accept + 800 ms)
   * cannot start before `start`. */
  s.start = uv_now(loop);
  e2e_raw_connect(loop, &s.raw, "127.0.0.1", port);
  EXPECT_INT(e2e_wait(loop, &s.raw.closed, 10000), 0);
  e2e_spin(loop, 150); /* let the tick timer close */
  EXPECT(s.raw.eof);
  EXPECT(s.dropped_after >= 700);
  /* The writer's own 100 ms ticks bound the time from above (see
   * tick_clock): 800 ms plus one engine tick (200 ms) is at most 11 bytes,
   * 18 with room for a few slow loop iterations; a timeout three times too
   * long sends 24 or more. */
  EXPECT(s.pos <= 18);
  EXPECT(s.pos < s.len);
  EXPECT_INT(st.opens, 0);
  stop();
}

/* A peer that completes the handshake and then never reads nor answers:
 * auto-ping, then dropped at the pong timeout (1006, ETIMEDOUT). */
typedef struct {
  e2e_raw_t raw;
  int ponged;
} silent_t;

static void silent_eof(e2e_raw_t *r) {
  silent_t *s = r->data;
  /* A ping went out before the drop. */
  size_t h = e2e_raw_head_end(r);
  int op = 0;
  const uint8_t *p;
  uint64_t len;
  if (h && e2e_parse_frame(r->in + h, r->in_len - h, &op, &p, &len) && op == 9) s->ponged = 1;
  e2e_raw_close(r);
}

static void test_ping_timeout(void) {
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.limits.ping_interval_ms = 300;
  so.limits.pong_timeout_ms = 400;
  start(&so);
  static char req[512];
  silent_t s;
  memset(&s, 0, sizeof(s));
  s.raw.send = (const uint8_t *)req;
  s.raw.send_len = e2e_request(req, sizeof(req), "/", NULL);
  s.raw.on_eof = silent_eof;
  s.raw.data = &s;
  uint64_t t0 = uv_now(loop);
  tick_clock_start();
  e2e_raw_connect(loop, &s.raw, "127.0.0.1", port);
  EXPECT_INT(e2e_wait(loop, &s.raw.closed, 10000), 0);
  unsigned ticks = tick_clock_stop();
  e2e_wait(loop, &st.closes, 2000);
  uint64_t took = uv_now(loop) - t0;
  EXPECT_INT(st.opens, 1);
  EXPECT_INT(st.closes, 1);
  EXPECT_INT(st.last_code, 1006);
  EXPECT_INT(st.last_err, UVWS_ETIMEDOUT);
  /* ping after 300 ms, drop 400 ms later, each seen by a 200 ms engine
   * tick: 700-1100 ms of loop time, at most 11 ticks of 100 ms (18 with
   * room for the handshake's iterations); a pong timeout four times too
   * long takes 21 or more. */
  EXPECT(took >= 600);
  EXPECT(ticks <= 18);
  EXPECT(s.ponged); /* i.e. the peer saw our ping */
  stop();
}

/* Idle timeout closes with 1001; close timeout drops a peer that never
 * answers our close frame. */
static void test_idle_and_close_timeout(void) {
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.limits.idle_timeout_ms = 300;
  so.limits.close_timeout_ms = 400;
  start(&so);
  static char req[512];
  fail_t f;
  memset(&f, 0, sizeof(f));
  f.raw.data = &f;
  f.raw.send = (const uint8_t *)req;
  f.raw.send_len = e2e_request(req, sizeof(req), "/", NULL);
  f.raw.on_data = fail_data;
  f.raw.on_eof = close_on_eof;
  uint64_t t0 = uv_now(loop);
  tick_clock_start();
  e2e_raw_connect(loop, &f.raw, "127.0.0.1", port);
  EXPECT_INT(e2e_wait(loop, &f.raw.closed, 10000), 0);
  unsigned ticks = tick_clock_stop();
  e2e_wait(loop, &st.closes, 2000);
  uint64_t took = uv_now(loop) - t0;
  EXPECT_INT(f.close_code, 1001);
  EXPECT_INT(st.last_code, 1006); /* the peer never answered the close */
  /* idle close after 300 ms, drop 400 ms later, each seen by a 200 ms
   * engine tick: 700-1100 ms of loop time, at most 11 ticks (18 with room,
   * as above; tick_clock). */
  EXPECT(took >= 600);
  EXPECT(ticks <= 18);
  stop();
}

int main(void) {
  loop = uv_default_loop();
  test_bad_requests();
  test_disconnects();
  test_protocol_violations();
  test_slowloris();
  test_ping_timeout();
  test_idle_and_close_timeout();
  EXPECT_INT(uv_loop_close(loop), 0);
  return e2e_report("hostile");
}

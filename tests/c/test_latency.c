/* Round trips of pings: uvws_ping_timed() reports each pong's RTT,
 * uvws_latency_us() keeps the last one (automatic pings included), a pong
 * answers every earlier ping too, and unanswered pings hear about the close
 * before on_close. */
#include "e2e_util.h"
#include "e2e_peer.h"

#include <stdlib.h>

static uv_loop_t *loop;

#define MAXP 80
typedef struct {
  int called[MAXP], status[MAXP], order[MAXP], n;
  uint64_t rtt[MAXP];
  int opened, closed, pongs, close_seen_after_cbs;
  uint64_t latency_at_pong;
} lat_t;
static lat_t L;

static void pong_cb(uvws_t *ws, int status, uint64_t rtt, void *arg) {
  (void)ws;
  int i = (int)(intptr_t)arg;
  L.called[i]++;
  L.status[i] = status;
  L.rtt[i] = rtt;
  L.order[L.n++] = i;
  EXPECT(!L.closed); /* before on_close */
}
static void c_pong(uvws_t *ws, const char *d, size_t n) {
  (void)d, (void)n;
  L.pongs++;
  L.latency_at_pong = uvws_latency_us(ws);
}
static void c_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)code, (void)r, (void)n;
  L.closed = 1;
}

/* --- against the engine's server ------------------------------------ */

static void c_open_echo(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  L.opened = 1;
  EXPECT_INT(uvws_latency_us(ws), 0);
  EXPECT_INT(uvws_ping_timed(ws, "one", 3, pong_cb, (void *)0), 0);
  EXPECT_INT(uvws_ping_timed(ws, NULL, 1, pong_cb, (void *)1), UVWS_EINVAL);
  EXPECT_INT(uvws_ping_timed(ws, "x", 1, NULL, NULL), UVWS_EINVAL);
}

static void test_engine_server(void) {
  memset(&L, 0, sizeof(L));
  uvws_callbacks_t none = {0};
  uvws_server_t *s = e2e_server(loop, "127.0.0.1", NULL, &none, NULL, NULL);
  char url[64];
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(s), "/");
  uvws_callbacks_t cb = {.on_open = c_open_echo, .on_pong = c_pong, .on_close = c_close};
  uvws_client_options_t o;
  uvws_client_options_init(&o);
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, &o, &cb, NULL, &ws), 0);
  EXPECT_INT(e2e_wait(loop, &L.called[0], 10000), 0);
  EXPECT_INT(L.status[0], 0);
  EXPECT(L.rtt[0] > 0);
  EXPECT_INT(uvws_latency_us(ws), L.rtt[0]);
  EXPECT_INT(L.latency_at_pong, L.rtt[0]); /* set before on_pong runs */
  /* the automatic pings of ping_interval_ms are measured too */
  uvws_close(ws, 1000, NULL, 0);
  EXPECT_INT(e2e_wait(loop, &L.closed, 10000), 0);

  memset(&L, 0, sizeof(L));
  o.limits.ping_interval_ms = 50;
  uvws_callbacks_t cb2 = {.on_pong = c_pong, .on_close = c_close};
  EXPECT_INT(uvws_connect(loop, url, &o, &cb2, NULL, &ws), 0);
  EXPECT_INT(e2e_wait(loop, &L.pongs, 10000), 0);
  EXPECT(L.latency_at_pong > 0);
  uvws_close(ws, 1000, NULL, 0);
  EXPECT_INT(e2e_wait(loop, &L.closed, 10000), 0);
  uvws_server_close(s, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

/* --- against a peer that answers only the latest ping ----------------- */

static int peer_pings;
static void peer_data(e2e_pconn_t *c) {
  char head[2048];
  if (!c->data) {
    if (!e2e_pconn_take_request(c, head, sizeof(head))) return;
    c->data = (void *)1;
    e2e_pconn_accept(c, head);
  }
  int op;
  uint8_t pl[128], frame[160];
  size_t len;
  while (e2e_pconn_take_frame(c, &op, pl, sizeof(pl), &len)) {
    if (op == 9 && ++peer_pings == 3) {
      /* one unsolicited pong, then one pong for the third ping only */
      e2e_pconn_write(c, frame, e2e_frame(frame, 1, 10, 0, "zzz", 3));
      e2e_pconn_write(c, frame, e2e_frame(frame, 1, 10, 0, pl, len));
    }
  }
}
static void peer_eof(e2e_pconn_t *c) { e2e_pconn_close(c); }

static void c_open_three(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  L.opened = 1;
  EXPECT_INT(uvws_ping_timed(ws, "1", 1, pong_cb, (void *)0), 0);
  EXPECT_INT(uvws_ping_timed(ws, "2", 1, pong_cb, (void *)1), 0);
  EXPECT_INT(uvws_ping_timed(ws, "3", 1, pong_cb, (void *)2), 0);
}

static void test_coalesced_and_closed(void) {
  memset(&L, 0, sizeof(L));
  peer_pings = 0;
  e2e_srv_t srv;
  EXPECT_INT(e2e_srv_tcp(loop, &srv, "127.0.0.1"), 0);
  srv.on_data = peer_data;
  srv.on_eof = peer_eof;
  char url[64];
  e2e_url(url, sizeof(url), "127.0.0.1", srv.port, "/");
  uvws_callbacks_t cb = {.on_open = c_open_three, .on_pong = c_pong, .on_close = c_close};
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, NULL, &cb, NULL, &ws), 0);
  EXPECT_INT(e2e_wait(loop, &L.called[2], 10000), 0);
  EXPECT_INT(L.pongs, 2);
  /* the one pong answered all three, oldest first, each with its own RTT */
  EXPECT_INT(L.n, 3);
  for (int i = 0; i < 3; i++) {
    EXPECT_INT(L.order[i], i);
    EXPECT_INT(L.status[i], 0);
    EXPECT_INT(L.called[i], 1);
  }
  EXPECT(L.rtt[0] >= L.rtt[1] && L.rtt[1] >= L.rtt[2]);
  EXPECT_INT(uvws_latency_us(ws), L.rtt[2]);

  /* 64 unanswered pings at most; they all hear about the close first */
  memset(&L, 0, sizeof(L));
  for (int i = 0; i < 64; i++) {
    char p[8];
    int n = snprintf(p, sizeof(p), "p%d", i);
    EXPECT_INT(uvws_ping_timed(ws, p, (size_t)n, pong_cb, (void *)(intptr_t)i), 0);
  }
  EXPECT_INT(uvws_ping_timed(ws, "more", 4, pong_cb, (void *)64), UVWS_EBACKPRESSURE);
  uvws_terminate(ws);
  EXPECT_INT(e2e_wait(loop, &L.closed, 10000), 0);
  EXPECT_INT(L.n, 64);
  for (int i = 0; i < 64; i++) {
    EXPECT_INT(L.called[i], 1);
    EXPECT_INT(L.status[i], UVWS_ECLOSED);
    EXPECT_INT(L.rtt[i], 0);
  }
  EXPECT_INT(L.called[64], 0);
  e2e_srv_close(&srv);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

int main(void) {
  uv_loop_t l;
  uv_loop_init(&l);
  loop = &l;
  test_engine_server();
  test_coalesced_and_closed();
  EXPECT_INT(uv_loop_close(&l), 0);
  return e2e_report("latency");
}

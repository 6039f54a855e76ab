/* Soak: minutes of mixed traffic between the engine's server and many of its
 * clients on one loop, meant to run under ASan (or valgrind): connects,
 * disconnects in the middle of large frames, small, large and fragmented
 * messages, pings, pauses, closes from either side. Every message carries its
 * connection id and sequence number; the server checks order and content of
 * what it receives and echoes it, the client checks the echo. At the end the
 * server is closed and the loop must end with everything freed.
 *
 *   soak [SECONDS] [CONCURRENT_CLIENTS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uvws.h>

static uv_loop_t *loop;
static uvws_server_t *server;
static char url[128];
static uint64_t deadline;
static int stopping;
static unsigned concurrent = 40;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static struct {
  uint64_t connects, opens, closes_clean, closes_abnormal, terminations;
  uint64_t sent, echoed, server_checked, bytes, pings, pongs, errors, bad;
} st;

static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

typedef struct {
  uint32_t id, next_send, next_echo;
  int live, closing;
} client_t;

typedef struct {
  uint32_t id, next;
  int known;
} peer_t; /* server side view of one client */

static uint32_t next_id;

static void fill(uint8_t *p, size_t len, uint32_t id, uint32_t seq) {
  memcpy(p, &id, 4);
  memcpy(p + 4, &seq, 4);
  for (size_t i = 8; i < len; i++) p[i] = (uint8_t)(seq * 31 + i * 7 + id);
}

static int check(const uint8_t *p, size_t len, uint32_t id, uint32_t seq) {
  uint32_t a, b;
  if (len < 8) return 0;
  memcpy(&a, p, 4);
  memcpy(&b, p + 4, 4);
  if (a != id || b != seq) return 0;
  for (size_t i = 8; i < len; i++)
    if (p[i] != (uint8_t)(seq * 31 + i * 7 + id)) return 0;
  return 1;
}

/* --- server --- */

static void s_open(uvws_t *ws, const uvws_http_t *req) {
  (void)req;
  peer_t *p = calloc(1, sizeof(*p));
  uvws_set_data(ws, p);
}

static void s_message(uvws_t *ws, const char *data, size_t len, int bin) {
  peer_t *p = uvws_get_data(ws);
  uint32_t id, seq;
  if (len < 8) {
    fprintf(stderr, "server: short message\n");
    st.bad++;
    return;
  }
  memcpy(&id, data, 4);
  memcpy(&seq, data + 4, 4);
  if (!p->known) {
    p->known = 1;
    p->id = id;
  }
  if (id != p->id || seq != p->next || !check((const uint8_t *)data, len, id, seq)) {
    fprintf(stderr, "server: bad message from %u: seq %u, expected %u\n", id, seq, p->next);
    st.bad++;
  }
  p->next = seq + 1;
  st.server_checked++;
  /* Now and then the server is the one that ends it. */
  if (rnd() % 2000 == 0) {
    uvws_send(ws, data, len, bin ? UVWS_BINARY : UVWS_TEXT);
    uvws_close(ws, 4001, "server says bye", 15);
    return;
  }
  int r = uvws_send(ws, data, len, bin ? UVWS_BINARY : UVWS_TEXT);
  /* ECLOSED: frames still arrive after our own close frame went out;
   * socket errors (EPIPE, ECONNRESET): the client terminated on purpose. */
  if ((r < 0 && r != UVWS_ECLOSED && r < -4095) || r == UVWS_SEND_DROPPED) {
    fprintf(stderr, "server: echo failed: %d\n", r);
    st.bad++;
  }
}

static void s_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)code, (void)r, (void)n;
  free(uvws_get_data(ws));
}

/* --- clients --- */

static void spawn(void);
static uvws_callbacks_t ccb;

static void send_one(uvws_t *ws, client_t *c) {
  uint32_t kind = rnd() % 100;
  size_t len;
  if (kind < 70) len = 8 + rnd() % 200;
  else if (kind < 95) len = 1024 + rnd() % 65536;
  else len = 256 * 1024 + rnd() % (2 * 1024 * 1024);
  uint8_t *buf = malloc(len);
  fill(buf, len, c->id, c->next_send);
  int r;
  if (rnd() % 10 == 0 && len > 64) {
    /* Three fragments, with a ping between them. */
    size_t a = len / 3, b = len / 3;
    r = uvws_send(ws, buf, a, UVWS_BINARY | UVWS_MORE);
    if (r >= 0) uvws_ping(ws, "p", 1), st.pings++;
    if (r >= 0) r = uvws_send(ws, buf + a, b, UVWS_BINARY | UVWS_MORE);
    if (r >= 0) r = uvws_send(ws, buf + a + b, len - a - b, UVWS_BINARY);
  } else {
    r = uvws_send(ws, buf, len, UVWS_BINARY);
  }
  free(buf);
  if (r < 0 || r == UVWS_SEND_DROPPED) {
    fprintf(stderr, "client %u: send failed: %d\n", c->id, r);
    st.bad++;
    return;
  }
  c->next_send++;
  st.sent++;
  st.bytes += len;
}

static void c_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  client_t *c = uvws_get_data(ws);
  st.opens++;
  /* A few messages in flight at once. */
  unsigned n = 1 + rnd() % 4;
  for (unsigned i = 0; i < n; i++) send_one(ws, c);
}

static void c_message(uvws_t *ws, const char *data, size_t len, int bin) {
  client_t *c = uvws_get_data(ws);
  (void)bin;
  if (!check((const uint8_t *)data, len, c->id, c->next_echo)) {
    fprintf(stderr, "client %u: bad echo (expected seq %u)\n", c->id, c->next_echo);
    st.bad++;
  }
  c->next_echo++;
  st.echoed++;
  if (c->closing) return;
  uint32_t action = rnd() % 1000;
  if (stopping || action < 8) {
    c->closing = 1;
    uvws_close(ws, 1000, "done", 4);
  } else if (action < 14) {
    /* Disconnect in the middle of a large frame. */
    /* Well formed, in case it does get through whole before the reset. */
    uint8_t *big = malloc(4 * 1024 * 1024);
    fill(big, 4 * 1024 * 1024, c->id, c->next_send);
    uvws_send(ws, big, 4 * 1024 * 1024, UVWS_BINARY);
    free(big);
    c->closing = 1;
    st.terminations++;
    uvws_terminate(ws);
  } else if (action < 20) {
    uvws_pause(ws);
    uvws_resume(ws);
    send_one(ws, c);
  } else if (action < 60) {
    uvws_ping(ws, "ping", 4);
    st.pings++;
    send_one(ws, c);
  } else {
    send_one(ws, c);
  }
}

static void c_pong(uvws_t *ws, const char *d, size_t n) {
  (void)ws, (void)d, (void)n;
  st.pongs++;
}

static void c_error(uvws_t *ws, int err, const char *msg) {
  client_t *c = uvws_get_data(ws);
  /* Errors after our own terminate, or once the server is shutting down
   * (a client that was still connecting), are expected; others are not. */
  if (!c->closing && !stopping) {
    fprintf(stderr, "client %u: error %s (%s)\n", c->id, msg, uvws_strerror(err));
    st.errors++;
  }
}

static void c_close(uvws_t *ws, int code, const char *r, size_t n) {
  client_t *c = uvws_get_data(ws);
  (void)r, (void)n;
  if (code == 1000 || code == 4001 || code == 1001) {
    st.closes_clean++;
    /* When the client ended it, every echo arrived before the close (the
     * server answers frames in order); when the server did, what was in
     * flight is lost, and the order checks above are what counts. */
    if (code == 1000 && c->next_echo != c->next_send) {
      fprintf(stderr, "client %u: closed %d with %u of %u echoes\n", c->id, code,
              c->next_echo, c->next_send);
      st.bad++;
    }
  } else {
    st.closes_abnormal++;
    if (!c->closing && !stopping) {
      fprintf(stderr, "client %u: unexpected close %d\n", c->id, code);
      st.bad++;
    }
  }
  free(c);
  if (!stopping) spawn();
}

static void spawn(void) {
  client_t *c = calloc(1, sizeof(*c));
  c->id = ++next_id;
  uvws_t *ws;
  st.connects++;
  if (uvws_connect(loop, url, NULL, &ccb, c, &ws) < 0) {
    st.bad++;
    free(c);
  }
}

static void on_tick(uv_timer_t *t) {
  if (uv_now(loop) < deadline) return;
  stopping = 1;
  uv_timer_stop(t);
  uv_close((uv_handle_t *)t, NULL);
  /* Clients close as their next echo arrives; the server close sends 1001
   * to whoever is left. */
  uvws_server_close(server, NULL);
}

int main(int argc, char **argv) {
  unsigned secs = argc > 1 ? (unsigned)atoi(argv[1]) : 300;
  if (argc > 2) concurrent = (unsigned)atoi(argv[2]);
  loop = uv_default_loop();
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.host = "127.0.0.1";
  so.port = 0;
  so.limits.max_backpressure = 0; /* every echo must go out */
  uvws_callbacks_t scb = {0};
  scb.on_open = s_open;
  scb.on_message = s_message;
  scb.on_close = s_close;
  if (uvws_server_start(loop, &so, &scb, NULL, NULL, &server) < 0) return 1;
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/soak", uvws_server_port(server));
  ccb.on_open = c_open;
  ccb.on_message = c_message;
  ccb.on_pong = c_pong;
  ccb.on_error = c_error;
  ccb.on_close = c_close;
  deadline = uv_now(loop) + secs * 1000ull;
  for (unsigned i = 0; i < concurrent; i++) spawn();
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, on_tick, 250, 250);
  uv_run(loop, UV_RUN_DEFAULT);
  int closed = uv_loop_close(loop) == 0;
  printf("soak: %us, %llu connects, %llu opens, %llu clean closes, %llu abnormal "
         "(%llu deliberate terminations), %llu messages sent, %llu echoed and checked, "
         "%llu checked by the server, %.1f MB, %llu pings, %llu pongs, %llu errors, "
         "%llu bad, loop %s\n",
         secs, (unsigned long long)st.connects, (unsigned long long)st.opens,
         (unsigned long long)st.closes_clean, (unsigned long long)st.closes_abnormal,
         (unsigned long long)st.terminations, (unsigned long long)st.sent,
         (unsigned long long)st.echoed, (unsigned long long)st.server_checked,
         st.bytes / 1e6, (unsigned long long)st.pings, (unsigned long long)st.pongs,
         (unsigned long long)st.errors, (unsigned long long)st.bad,
         closed ? "closed cleanly" : "NOT empty");
  int ok = closed && st.bad == 0 && st.errors == 0 && st.echoed > 0;
  printf("%d passed, %d failed\n", ok, !ok);
  return ok ? 0 : 1;
}

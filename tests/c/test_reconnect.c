/* The reconnecting client (uvws_dial): backoff delays, which failures are
 * retried and which are fatal, and a real server process (the echo_server
 * example) that is killed and restarted, then frozen with SIGSTOP and
 * thawed: the client must come back each time by itself.
 * Usage: test_reconnect MAKE_CERTS_SH ECHO_SERVER */
#include "e2e_util.h"
#include "e2e_peer.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static uv_loop_t *loop;

#define MAX_INFO 64
typedef struct {
  uvws_retry_t info[MAX_INFO];
  char msgs[MAX_INFO][128];
  int n_info, opens, closes, messages, gave_up, dialer_closed;
  uvws_dialer_t *d;
} rec_t;
static rec_t R;

static void on_retry(uvws_dialer_t *d, const uvws_retry_t *info) {
  EXPECT(d == R.d);
  if (R.n_info < MAX_INFO) {
    R.info[R.n_info] = *info;
    snprintf(R.msgs[R.n_info], sizeof(R.msgs[0]), "%s", info->msg);
    R.info[R.n_info].msg = R.msgs[R.n_info];
  }
  R.n_info++;
  if (info->fatal) R.gave_up = 1;
}
static void on_dialer_closed(uvws_dialer_t *d) {
  (void)d;
  R.dialer_closed = 1;
}
static void c_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  EXPECT(uvws_get_dialer(ws) == R.d);
  EXPECT(uvws_dialer_conn(R.d) == ws);
  R.opens++;
}
static void c_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)code, (void)r, (void)n;
  R.closes++;
}

static const uvws_callbacks_t cbs = {.on_open = c_open, .on_close = c_close};

static void close_dialer(void) {
  R.dialer_closed = 0;
  EXPECT_INT(uvws_dialer_close(R.d, 1000, NULL, 0, on_dialer_closed), 0);
  EXPECT_INT(uvws_dialer_close(R.d, 1000, NULL, 0, on_dialer_closed), UVWS_ECLOSED);
  EXPECT_INT(e2e_wait(loop, &R.dialer_closed, 10000), 0);
}

static uvws_reconnect_policy_t fixed_policy(unsigned initial, double factor, unsigned max,
                                            unsigned retries) {
  uvws_reconnect_policy_t p;
  uvws_reconnect_policy_init(&p);
  p.initial_delay_ms = initial;
  p.factor = factor;
  p.max_delay_ms = max;
  p.jitter = 0;
  p.max_retries = retries;
  return p;
}

/* ------------------------------------------------------------------ */
/* A hand-driven server: answers each upgrade with the next status      */
/* ------------------------------------------------------------------ */

static const int *statuses;
static void answer(e2e_pconn_t *c) {
  char head[2048];
  int op;
  uint8_t pl[128], frame[160];
  size_t len;
  if (c->data) {
    /* open: answer a close frame and close TCP, as a server does */
    while (e2e_pconn_take_frame(c, &op, pl, sizeof(pl), &len)) {
      if (op != 8) continue;
      e2e_pconn_write(c, frame, e2e_frame(frame, 1, 8, 0, pl, len < 2 ? len : 2));
      e2e_pconn_close(c);
      return;
    }
    return;
  }
  if (!e2e_pconn_take_request(c, head, sizeof(head))) return;
  c->data = (void *)1;
  int st = statuses[c->index];
  if (st == 101) {
    e2e_pconn_accept(c, head);
    return;
  }
  char res[160];
  int n = snprintf(res, sizeof(res), "HTTP/1.1 %d Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", st);
  e2e_pconn_write(c, res, (size_t)n);
  e2e_pconn_close(c);
}
static void peer_eof(e2e_pconn_t *c) { e2e_pconn_close(c); }

static void status_case(const int *seq, int expect_opens, int expect_fatal_status) {
  e2e_srv_t srv;
  memset(&R, 0, sizeof(R));
  statuses = seq;
  EXPECT_INT(e2e_srv_tcp(loop, &srv, "127.0.0.1"), 0);
  srv.on_data = answer;
  srv.on_eof = peer_eof;
  char url[64];
  e2e_url(url, sizeof(url), "127.0.0.1", srv.port, "/");
  uvws_reconnect_policy_t p = fixed_policy(20, 2, 1000, 0);
  EXPECT_INT(uvws_dial(loop, url, NULL, &p, &cbs, on_retry, NULL, &R.d), 0);
  if (expect_opens) {
    EXPECT_INT(e2e_wait(loop, &R.opens, 10000), 0);
  } else {
    EXPECT_INT(e2e_wait(loop, &R.gave_up, 10000), 0);
    EXPECT(uvws_dialer_conn(R.d) == NULL);
  }
  int fails = 0;
  while (seq[fails] != 101 && seq[fails]) fails++;
  if (expect_opens) {
    /* one report per refused upgrade, each retried with the next delay */
    EXPECT_INT(R.n_info, fails);
    for (int i = 0; i < fails && i < R.n_info; i++) {
      EXPECT_INT(R.info[i].err, UVWS_ESTATUS);
      EXPECT_INT(R.info[i].status, seq[i]);
      EXPECT_INT(R.info[i].fatal, 0);
      EXPECT_INT(R.info[i].attempt, i + 1);
      EXPECT_INT(R.info[i].delay_ms, 20u << i);
      EXPECT_INT(R.info[i].close_code, 0);
    }
    EXPECT_INT(srv.accepted, fails + 1);
  } else {
    EXPECT_INT(R.n_info, 1);
    EXPECT_INT(R.info[0].fatal, 1);
    EXPECT_INT(R.info[0].status, expect_fatal_status);
    EXPECT_INT(R.info[0].attempt, 0);
    EXPECT_INT(srv.accepted, 1);
  }
  close_dialer();
  e2e_srv_close(&srv);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

static void test_statuses(void) {
  static const int s503[] = {503, 101, 0};
  static const int s5xx[] = {503, 500, 429, 502, 101, 0};
  static const int s403[] = {403, 101, 0};
  static const int s404[] = {404, 101, 0};
  status_case(s503, 1, 0);
  status_case(s5xx, 1, 0);
  status_case(s403, 0, 403);
  status_case(s404, 0, 404);
}

/* Nobody listens: refused, retried with growing delays, then given up. */
static void test_backoff_and_give_up(void) {
  e2e_srv_t srv;
  EXPECT_INT(e2e_srv_tcp(loop, &srv, "127.0.0.1"), 0);
  int port = srv.port;
  e2e_srv_close(&srv);
  e2e_spin(loop, 10);
  char url[64];
  e2e_url(url, sizeof(url), "127.0.0.1", port, "/");

  memset(&R, 0, sizeof(R));
  uvws_reconnect_policy_t p = fixed_policy(10, 2, 35, 5);
  EXPECT_INT(uvws_dial(loop, url, NULL, &p, &cbs, on_retry, NULL, &R.d), 0);
  EXPECT_INT(e2e_wait(loop, &R.gave_up, 10000), 0);
  static const unsigned want[] = {10, 20, 35, 35, 35};
  EXPECT_INT(R.n_info, 6);
  for (int i = 0; i < 5 && i < R.n_info; i++) {
    EXPECT_INT(R.info[i].attempt, i + 1);
    EXPECT_INT(R.info[i].delay_ms, want[i]);
    EXPECT_INT(R.info[i].err, UV_ECONNREFUSED);
    EXPECT_INT(R.info[i].fatal, 0);
  }
  if (R.n_info == 6) {
    EXPECT_INT(R.info[5].fatal, 1);
    EXPECT_INT(R.info[5].err, UV_ECONNREFUSED);
  }
  EXPECT_INT(R.opens, 0);
  EXPECT_INT(R.closes, 6); /* every attempt's connection got its on_close */
  close_dialer();

  /* Full jitter: every delay within [0, ceiling]. */
  memset(&R, 0, sizeof(R));
  p = fixed_policy(40, 2, 100, 4);
  p.jitter = 1;
  EXPECT_INT(uvws_dial(loop, url, NULL, &p, &cbs, on_retry, NULL, &R.d), 0);
  EXPECT_INT(e2e_wait(loop, &R.gave_up, 10000), 0);
  static const unsigned ceil_[] = {40, 80, 100, 100};
  EXPECT_INT(R.n_info, 5);
  for (int i = 0; i < 4 && i < R.n_info; i++) EXPECT(R.info[i].delay_ms <= ceil_[i]);
  close_dialer();

  /* Closing while waiting for the next attempt. */
  memset(&R, 0, sizeof(R));
  p = fixed_policy(60000, 2, 60000, 0);
  EXPECT_INT(uvws_dial(loop, url, NULL, &p, &cbs, on_retry, NULL, &R.d), 0);
  EXPECT_INT(e2e_wait(loop, &R.n_info, 10000), 0);
  EXPECT_INT(R.info[0].delay_ms, 60000);
  EXPECT(uvws_dialer_conn(R.d) == NULL);
  close_dialer();

  /* A bad URL or policy fails at once; nothing to close. */
  uvws_dialer_t *d = NULL;
  EXPECT_INT(uvws_dial(loop, "http://x/", NULL, NULL, &cbs, NULL, NULL, &d), UVWS_EURL);
  p.factor = 0.5;
  EXPECT_INT(uvws_dial(loop, url, NULL, &p, &cbs, NULL, NULL, &d), UVWS_EINVAL);
  EXPECT(d == NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

/* A certificate that fails verification is fatal. */
static void test_bad_certificate(const char *dir) {
  char cert[512], key[512];
  snprintf(cert, sizeof(cert), "%s/server.pem", dir);
  snprintf(key, sizeof(key), "%s/server.key", dir);
  uvws_tls_options_t tls = {0};
  tls.cert_file = cert;
  tls.key_file = key;
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.tls = &tls;
  uvws_callbacks_t none = {0};
  uvws_server_t *s = e2e_server(loop, "127.0.0.1", &so, &none, NULL, NULL);
  char url[64];
  snprintf(url, sizeof(url), "wss://localhost:%d/", uvws_server_port(s));
  memset(&R, 0, sizeof(R));
  uvws_reconnect_policy_t p = fixed_policy(10, 2, 100, 0);
  /* The system trust store does not know the test CA. */
  EXPECT_INT(uvws_dial(loop, url, NULL, &p, &cbs, on_retry, NULL, &R.d), 0);
  EXPECT_INT(e2e_wait(loop, &R.gave_up, 10000), 0);
  EXPECT_INT(R.n_info, 1);
  EXPECT_INT(R.info[0].err, UVWS_ETLS);
  EXPECT_INT(R.info[0].fatal, 1);
  EXPECT(strstr(R.msgs[0], "certificate verify failed") != NULL);
  close_dialer();
  uvws_server_close(s, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

/* ------------------------------------------------------------------ */
/* A real server process: killed, restarted, frozen, thawed            */
/* ------------------------------------------------------------------ */

typedef struct {
  uv_process_t proc;
  uv_pipe_t out;
  char buf[256];
  size_t len;
  int port, exited, out_closed;
} child_t;
static child_t C;
static const char *echo_bin;

static void child_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)h, (void)s;
  *b = uv_buf_init(C.buf + C.len, (unsigned)(sizeof(C.buf) - 1 - C.len));
}
static void child_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  (void)b;
  if (n < 0) {
    uv_read_stop(st);
    return;
  }
  C.len += (size_t)n;
  C.buf[C.len] = 0;
  char *p = strstr(C.buf, "listening on ");
  if (p && strchr(p, '\n')) C.port = atoi(p + 13);
}
static void child_exit(uv_process_t *p, int64_t status, int sig) {
  (void)status, (void)sig;
  C.exited = 1;
  uv_close((uv_handle_t *)p, NULL);
}
static void out_closed(uv_handle_t *h) {
  (void)h;
  C.out_closed = 1;
}

/* Start the echo server on `port` (0 = any); returns its port. */
static int start_child(int port) {
  char portstr[16];
  snprintf(portstr, sizeof(portstr), "%d", port);
  char *args[] = {(char *)echo_bin, "--host", "127.0.0.1", "--port", portstr, NULL};
  memset(&C, 0, sizeof(C));
  uv_pipe_init(loop, &C.out, 0);
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&C.out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  uv_process_options_t o = {0};
  o.file = echo_bin;
  o.args = args;
  o.exit_cb = child_exit;
  o.stdio = stdio;
  o.stdio_count = 3;
  int r = uv_spawn(loop, &C.proc, &o);
  if (r < 0) {
    fprintf(stderr, "cannot start %s: %s\n", echo_bin, uv_strerror(r));
    exit(1);
  }
  uv_read_start((uv_stream_t *)&C.out, child_alloc, child_read);
  while (!C.port && !C.exited) uv_run(loop, UV_RUN_ONCE);
  EXPECT(C.port > 0);
  return C.port;
}
static void kill_child(void) {
  uv_process_kill(&C.proc, SIGKILL);
  EXPECT_INT(e2e_wait(loop, &C.exited, 10000), 0);
  uv_close((uv_handle_t *)&C.out, out_closed);
  EXPECT_INT(e2e_wait(loop, &C.out_closed, 10000), 0);
}

typedef struct {
  int phase;       /* 1 killed, 2 restarted, 3 frozen, 4 thawed */
  int refused;     /* failures seen while down */
  int handshake_timeouts; /* failures seen while frozen */
  int dropped;     /* reports of an open connection that ended */
  int echoes;
} life_t;
static life_t L;

static void tick(uv_timer_t *t) { (void)t; }

/* Run the loop until *v >= target; fail after ms. */
static int wait_ge(const int *v, int target, unsigned ms) {
  uv_timer_t t;
  uv_timer_init(loop, &t);
  uv_timer_start(&t, tick, 10, 10);
  uint64_t deadline = uv_now(loop) + ms;
  while (*v < target && uv_now(loop) < deadline) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  if (*v < target) {
    e2e_failures++;
    fprintf(stderr, "FAILED: %d of %d events within %u ms\n", *v, target, ms);
    return -1;
  }
  return 0;
}

static void life_open(uvws_t *ws, const uvws_http_t *res) {
  c_open(ws, res);
  uvws_send(ws, "still there?", 12, UVWS_TEXT);
}
static void life_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)ws, (void)bin;
  EXPECT(n == 12 && !memcmp(d, "still there?", 12));
  L.echoes++;
}
static void life_retry(uvws_dialer_t *d, const uvws_retry_t *info) {
  on_retry(d, info);
  EXPECT_INT(info->fatal, 0);
  if (info->close_code) L.dropped++;
  if (L.phase == 1 && info->err == UV_ECONNREFUSED) L.refused++;
  if (L.phase == 3 && info->err == UVWS_ETIMEDOUT && !info->close_code) L.handshake_timeouts++;
}

static void test_server_process(void) {
  memset(&R, 0, sizeof(R));
  memset(&L, 0, sizeof(L));
  int port = start_child(0);
  char url[64];
  e2e_url(url, sizeof(url), "127.0.0.1", port, "/");
  uvws_client_options_t o;
  uvws_client_options_init(&o);
  o.connect_timeout_ms = 800;           /* a frozen server never answers */
  o.limits.ping_interval_ms = 300;      /* nor pings */
  o.limits.pong_timeout_ms = 600;
  uvws_reconnect_policy_t p;
  uvws_reconnect_policy_init(&p);
  p.initial_delay_ms = 30;
  p.max_delay_ms = 200;
  uvws_callbacks_t cb = {.on_open = life_open, .on_message = life_message, .on_close = c_close};
  EXPECT_INT(uvws_dial(loop, url, &o, &p, &cb, life_retry, NULL, &R.d), 0);
  EXPECT_INT(wait_ge(&L.echoes, 1, 10000), 0);

  /* Killed: the connection drops, attempts are refused while it is down. */
  L.phase = 1;
  kill_child();
  EXPECT_INT(wait_ge(&L.refused, 2, 10000), 0);
  EXPECT_INT(L.dropped, 1);

  /* Restarted on the same port: the client is back by itself. */
  L.phase = 2;
  start_child(port);
  EXPECT_INT(wait_ge(&L.echoes, 2, 10000), 0);
  EXPECT_INT(R.opens, 2);

  /* Frozen: the open connection dies at its ping timeout; new attempts
   * connect (the kernel still accepts) but get no answer in time. */
  L.phase = 3;
  uv_process_kill(&C.proc, SIGSTOP);
  EXPECT_INT(wait_ge(&L.handshake_timeouts, 1, 20000), 0);
  EXPECT_INT(L.dropped, 2);

  /* Thawed: back again. */
  L.phase = 4;
  uv_process_kill(&C.proc, SIGCONT);
  EXPECT_INT(wait_ge(&L.echoes, 3, 20000), 0);
  EXPECT_INT(R.opens, 3);

  close_dialer();
  kill_child();
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_reconnect MAKE_CERTS_SH ECHO_SERVER\n");
    return 2;
  }
  echo_bin = argv[2];
  char dir[64], cmd[1024];
  snprintf(dir, sizeof(dir), "/tmp/uvws-reconnect-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  snprintf(cmd, sizeof(cmd), "%s %s >/dev/null", argv[1], dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot make certificates with %s\n", cmd);
    return 1;
  }
  uv_loop_t l;
  uv_loop_init(&l);
  loop = &l;
  test_statuses();
  test_backoff_and_give_up();
  test_bad_certificate(dir);
  test_server_process();
  EXPECT_INT(uv_loop_close(&l), 0);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return e2e_report("reconnect");
}

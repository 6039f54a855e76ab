/* End to end: the engine's server and client on one loop, over 127.0.0.1
 * and ::1. */
#include "e2e_util.h"

#include <stdlib.h>
#include <unistd.h>

static uv_loop_t *loop;

/* ------------------------------------------------------------------ */
/* Echo: text, binary, empty, fragmented, 16 MiB, ping/pong, close     */
/* ------------------------------------------------------------------ */

#define BIG (16u * 1024 * 1024)

typedef struct {
  uvws_server_t *server;
  int server_open, server_close_code, server_pings, client_pongs;
  char server_reason[64];
  int step, client_close_code, got_open;
  uint8_t *big;
  int server_closed;
} echo_t;

static echo_t E;

static void srv_message(uvws_t *ws, const char *data, size_t len, int bin) {
  uvws_send(ws, data, len, bin ? UVWS_BINARY : UVWS_TEXT);
}
static void srv_open(uvws_t *ws, const uvws_http_t *req) {
  E.server_open++;
  EXPECT(req->path_len == 5 && !memcmp(req->path, "/echo", 5));
  EXPECT(req->query_len == 3 && !memcmp(req->query, "a=b", 3));
  EXPECT(req->remote_ip && req->remote_ip[0]);
  EXPECT(uvws_http_header(req, "x-test", NULL) != NULL);
  EXPECT(uvws_get_server(ws) == E.server);
  EXPECT(!uvws_is_client(ws));
}
static void srv_ping(uvws_t *ws, const char *d, size_t n) {
  (void)ws;
  E.server_pings++;
  EXPECT(n == 4 && !memcmp(d, "ping", 4));
}
static void srv_close(uvws_t *ws, int code, const char *reason, size_t len) {
  (void)ws;
  E.server_close_code = code;
  snprintf(E.server_reason, sizeof(E.server_reason), "%.*s", (int)len, reason);
}
static void server_closed(uvws_server_t *s) {
  (void)s;
  E.server_closed = 1;
}

static void next_step(uvws_t *ws);

static void cli_open(uvws_t *ws, const uvws_http_t *res) {
  EXPECT_INT(res->status, 101);
  EXPECT_INT(uvws_ready_state(ws), UVWS_OPEN);
  E.got_open = 1;
  next_step(ws);
}

static void next_step(uvws_t *ws) {
  switch (E.step++) {
    case 0:
      EXPECT_INT(uvws_send(ws, "hello", 5, UVWS_TEXT), UVWS_SEND_OK);
      break;
    case 1:
      uvws_send(ws, "\x00\x01\x02", 3, UVWS_BINARY);
      break;
    case 2:
      uvws_send(ws, "", 0, UVWS_TEXT);
      break;
    case 3: /* a message in three fragments */
      EXPECT_INT(uvws_send(ws, "frag", 4, UVWS_TEXT | UVWS_MORE), UVWS_SEND_OK);
      uvws_ping(ws, "ping", 4); /* control frames may interleave */
      uvws_send(ws, "men", 3, UVWS_TEXT | UVWS_MORE);
      uvws_send(ws, "ted", 3, UVWS_TEXT);
      break;
    case 4: {
      E.big = malloc(BIG);
      for (size_t i = 0; i < BIG; i++) E.big[i] = (uint8_t)(i * 7 + (i >> 12));
      int r = uvws_send(ws, E.big, BIG, UVWS_BINARY);
      EXPECT(r == UVWS_SEND_OK || r == UVWS_SEND_QUEUED);
      break;
    }
    case 5:
      EXPECT_INT(uvws_close(ws, 1000, "bye", 3), 0);
      EXPECT_INT(uvws_close(ws, 1000, NULL, 0), UVWS_ECLOSED);
      EXPECT_INT(uvws_send(ws, "x", 1, UVWS_TEXT), UVWS_ECLOSED);
      EXPECT_INT(uvws_ready_state(ws), UVWS_CLOSING);
      break;
  }
}

static void cli_message(uvws_t *ws, const char *data, size_t len, int bin) {
  switch (E.step) {
    case 1: EXPECT(!bin && len == 5 && !memcmp(data, "hello", 5)); break;
    case 2: EXPECT(bin && len == 3 && !memcmp(data, "\x00\x01\x02", 3)); break;
    case 3: EXPECT(!bin && len == 0); break;
    case 4: EXPECT(!bin && len == 10 && !memcmp(data, "fragmented", 10)); break;
    case 5:
      EXPECT(bin && len == BIG && !memcmp(data, E.big, BIG));
      free(E.big);
      E.big = NULL;
      break;
    default: EXPECT(!"unexpected message");
  }
  next_step(ws);
}
static void cli_pong(uvws_t *ws, const char *d, size_t n) {
  (void)ws;
  E.client_pongs++;
  EXPECT(n == 4 && !memcmp(d, "ping", 4));
}
static void cli_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  fprintf(stderr, "unexpected client error: %s (%s)\n", msg, uvws_strerror(err));
  e2e_failures++;
}
static void cli_close(uvws_t *ws, int code, const char *reason, size_t len) {
  (void)ws;
  (void)reason;
  (void)len;
  E.client_close_code = code;
  uvws_server_close(E.server, server_closed);
}

static void test_echo(const char *host) {
  memset(&E, 0, sizeof(E));
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_open = srv_open;
  scb.on_message = srv_message;
  scb.on_ping = srv_ping;
  scb.on_close = srv_close;
  ccb.on_open = cli_open;
  ccb.on_message = cli_message;
  ccb.on_pong = cli_pong;
  ccb.on_error = cli_error;
  ccb.on_close = cli_close;
  E.server = e2e_server(loop, host, NULL, &scb, NULL, NULL);
  EXPECT(uvws_server_port(E.server) > 0);
  char url[128];
  e2e_url(url, sizeof(url), host, uvws_server_port(E.server), "/echo?a=b");
  uvws_client_options_t co;
  uvws_client_options_init(&co);
  uvws_header_t hdr = {"X-Test", 6, "1", 1};
  co.headers = &hdr;
  co.num_headers = 1;
  uvws_t *ws = NULL;
  EXPECT_INT(uvws_connect(loop, url, &co, &ccb, NULL, &ws), 0);
  EXPECT_INT(uvws_ready_state(ws), UVWS_CONNECTING);
  EXPECT_INT(uvws_send(ws, "x", 1, UVWS_TEXT), UVWS_ENOTOPEN);
  EXPECT_INT(e2e_run(loop, 20000), 0);
  EXPECT(E.got_open);
  EXPECT_INT(E.step, 6);
  EXPECT_INT(E.server_open, 1);
  EXPECT_INT(E.server_pings, 1);
  EXPECT_INT(E.client_pongs, 1);
  EXPECT_INT(E.server_close_code, 1000);
  EXPECT(!strcmp(E.server_reason, "bye"));
  EXPECT_INT(E.client_close_code, 1000);
  EXPECT(E.server_closed);
  free(E.big);
}

/* ------------------------------------------------------------------ */
/* Server shutdown: clients see 1001, the callback runs once           */
/* ------------------------------------------------------------------ */

typedef struct {
  uvws_server_t *server;
  int opened, closed_1001, server_cb;
} shut_t;
static shut_t S;

static void shut_server_cb(uvws_server_t *s) {
  (void)s;
  S.server_cb++;
}
static void shut_open(uvws_t *ws, const uvws_http_t *res) {
  (void)ws;
  (void)res;
  if (++S.opened == 3) {
    EXPECT_INT(uvws_server_connections(S.server), 3);
    EXPECT_INT(uvws_server_close(S.server, shut_server_cb), 0);
    EXPECT_INT(uvws_server_close(S.server, shut_server_cb), UVWS_ECLOSED);
  }
}
static void shut_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws;
  (void)r;
  (void)n;
  if (code == 1001) S.closed_1001++;
}

static void test_server_close(void) {
  memset(&S, 0, sizeof(S));
  uvws_callbacks_t ccb = {0};
  ccb.on_open = shut_open;
  ccb.on_close = shut_close;
  S.server = e2e_server(loop, "127.0.0.1", NULL, NULL, NULL, NULL);
  char url[128];
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(S.server), "/");
  for (int i = 0; i < 3; i++) {
    uvws_t *ws;
    EXPECT_INT(uvws_connect(loop, url, NULL, &ccb, NULL, &ws), 0);
  }
  EXPECT_INT(e2e_run(loop, 10000), 0);
  EXPECT_INT(S.opened, 3);
  EXPECT_INT(S.closed_1001, 3);
  EXPECT_INT(S.server_cb, 1);
}

/* ------------------------------------------------------------------ */
/* The upgrade hook: reject with 401, choose a subprotocol, decide late */
/* ------------------------------------------------------------------ */

typedef struct {
  uvws_server_t *server;
  int mode; /* 0 reject 401, 1 pick "b", 2 decide in a timer */
  int response_status, error, opened, closes;
  char err_msg[128];
  char protocol[16];
  uvws_upgrade_t *pending;
  uv_timer_t timer;
  void *accepted_data;
} up_t;
static up_t U;

static void up_timer(uv_timer_t *t) {
  (void)t;
  uv_close((uv_handle_t *)&U.timer, NULL);
  EXPECT(!uvws_upgrade_is_aborted(U.pending));
  EXPECT_INT(uvws_upgrade_accept(U.pending, "nope", NULL, 0, NULL), UVWS_EPROTOCOL);
  uvws_header_t h = {"X-Late", 6, "yes", 3};
  EXPECT_INT(uvws_upgrade_accept(U.pending, "a", &h, 1, &U), 0);
}

static void up_hook(uvws_server_t *s, uvws_upgrade_t *up, const uvws_http_t *req) {
  EXPECT(uvws_upgrade_server(up) == s);
  EXPECT(uvws_upgrade_request(up) == req);
  uvws_header_t offered[4];
  size_t n = uvws_upgrade_protocols(up, offered, 4);
  if (U.mode == 0) {
    uvws_header_t h = {"WWW-Authenticate", 16, "Bearer", 6};
    EXPECT_INT(uvws_upgrade_reject(up, 401, &h, 1, "no token", 8), 0);
  } else if (U.mode == 1) {
    EXPECT_INT(n, 2);
    EXPECT(offered[1].name_len == 1 && offered[1].name[0] == 'b');
    EXPECT_INT(uvws_upgrade_accept(up, "b", NULL, 0, &U), 0);
  } else {
    U.pending = up;
    uv_timer_init(loop, &U.timer);
    uv_timer_start(&U.timer, up_timer, 50, 0);
  }
}

static void up_srv_open(uvws_t *ws, const uvws_http_t *req) {
  (void)req;
  U.accepted_data = uvws_get_data(ws);
}
static void up_response(uvws_t *ws, const uvws_http_t *res) {
  (void)ws;
  U.response_status = res->status;
  if (U.mode == 2) EXPECT(uvws_http_header(res, "x-late", NULL) != NULL);
}
static void up_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  U.opened++;
  snprintf(U.protocol, sizeof(U.protocol), "%s", uvws_protocol(ws));
  uvws_close(ws, 1000, NULL, 0);
}
static void up_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  U.error = err;
  snprintf(U.err_msg, sizeof(U.err_msg), "%s", msg);
}
static void up_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws;
  (void)r;
  (void)n;
  (void)code;
  U.closes++;
  uvws_server_close(U.server, NULL);
}

static void test_upgrade_hook(int mode) {
  memset(&U, 0, sizeof(U));
  U.mode = mode;
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_open = up_srv_open;
  ccb.on_response = up_response;
  ccb.on_open = up_open;
  ccb.on_error = up_error;
  ccb.on_close = up_close;
  U.server = e2e_server(loop, "127.0.0.1", NULL, &scb, up_hook, NULL);
  char url[128];
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(U.server), "/");
  uvws_client_options_t co;
  uvws_client_options_init(&co);
  const char *protos[] = {"a", "b"};
  co.protocols = protos;
  co.num_protocols = 2;
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, &co, &ccb, NULL, &ws), 0);
  EXPECT_INT(e2e_run(loop, 10000), 0);
  EXPECT_INT(U.closes, 1);
  if (mode == 0) {
    EXPECT_INT(U.response_status, 401);
    EXPECT_INT(U.error, UVWS_ESTATUS);
    EXPECT(strstr(U.err_msg, "401") != NULL);
    EXPECT_INT(U.opened, 0);
  } else {
    EXPECT_INT(U.response_status, 101);
    EXPECT_INT(U.opened, 1);
    EXPECT(!strcmp(U.protocol, mode == 1 ? "b" : "a"));
    EXPECT(U.accepted_data == &U);
  }
}

/* ------------------------------------------------------------------ */
/* Handshake refusals seen by our client: path, limits, refused TCP     */
/* ------------------------------------------------------------------ */

typedef struct {
  int errors, closes, opens, last_err, last_code;
  char msg[128];
  uvws_server_t *server;
  int close_server_after;
} cl_t;
static cl_t C;

static void c_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  C.opens++;
  (void)ws;
}
static void c_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  C.errors++;
  C.last_err = err;
  snprintf(C.msg, sizeof(C.msg), "%s", msg);
}
static void c_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws;
  (void)r;
  (void)n;
  C.closes++;
  C.last_code = code;
  if (C.server && C.closes == C.close_server_after) uvws_server_close(C.server, NULL);
}
static void c_open_close_later(uvws_t *ws, const uvws_http_t *res) {
  c_open(ws, res);
}

static void test_refusals(void) {
  uvws_callbacks_t ccb = {0};
  ccb.on_open = c_open;
  ccb.on_error = c_error;
  ccb.on_close = c_close;
  char url[128];

  /* Path filter: 400. */
  memset(&C, 0, sizeof(C));
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.path = "/only";
  C.server = e2e_server(loop, "127.0.0.1", &so, NULL, NULL, NULL);
  C.close_server_after = 1;
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(C.server), "/other");
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, NULL, &ccb, NULL, &ws), 0);
  EXPECT_INT(e2e_run(loop, 10000), 0);
  EXPECT_INT(C.last_err, UVWS_ESTATUS);
  EXPECT(strstr(C.msg, "400") != NULL);
  EXPECT_INT(C.last_code, 1006);
  EXPECT_INT(C.opens, 0);

  /* Connection refused: error, then close 1006. */
  memset(&C, 0, sizeof(C));
  uvws_server_t *s = e2e_server(loop, "127.0.0.1", NULL, NULL, NULL, NULL);
  int port = uvws_server_port(s);
  uvws_server_close(s, NULL);
  EXPECT_INT(e2e_run(loop, 5000), 0);
  e2e_url(url, sizeof(url), "127.0.0.1", port, "/");
  EXPECT_INT(uvws_connect(loop, url, NULL, &ccb, NULL, &ws), 0);
  EXPECT_INT(e2e_run(loop, 10000), 0);
  EXPECT_INT(C.errors, 1);
  EXPECT_INT(C.last_err, UV_ECONNREFUSED);
  EXPECT_INT(C.closes, 1);
  EXPECT_INT(C.last_code, 1006);

  /* Bad arguments fail synchronously and create nothing. */
  EXPECT_INT(uvws_connect(loop, "http://127.0.0.1/", NULL, &ccb, NULL, &ws), UVWS_EURL);
  EXPECT_INT(uvws_connect(loop, "ws://", NULL, &ccb, NULL, &ws), UVWS_EURL);
  EXPECT_INT(uvws_connect(loop, "ws://h:99999/", NULL, &ccb, NULL, &ws), UVWS_EURL);
  uvws_client_options_t co;
  uvws_client_options_init(&co);
  uvws_header_t evil = {"X-Evil", 6, "a\r\nInjected: 1", 15};
  co.headers = &evil;
  co.num_headers = 1;
  EXPECT_INT(uvws_connect(loop, "ws://127.0.0.1:1/", &co, &ccb, NULL, &ws), UVWS_EINVAL);
  uvws_server_options_init(&so);
  so.port = 70000;
  EXPECT_INT(uvws_server_start(loop, &so, NULL, NULL, NULL, &s), UVWS_EINVAL);
  uvws_server_options_init(&so);
  so.host = "not an address";
  EXPECT_INT(uvws_server_start(loop, &so, NULL, NULL, NULL, &s), UVWS_EINVAL);
  EXPECT_INT(e2e_run(loop, 5000), 0);

  /* max_connections: the second client gets 503. */
  memset(&C, 0, sizeof(C));
  uvws_server_options_init(&so);
  so.max_connections = 1;
  C.server = e2e_server(loop, "127.0.0.1", &so, NULL, NULL, NULL);
  C.close_server_after = 2;
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(C.server), "/");
  ccb.on_open = c_open_close_later;
  EXPECT_INT(uvws_connect(loop, url, NULL, &ccb, NULL, &ws), 0);
  uvws_t *ws2;
  /* The second one connects once the first is surely open. */
  e2e_spin(loop, 300);
  EXPECT_INT(uvws_connect(loop, url, NULL, &ccb, NULL, &ws2), 0);
  e2e_spin(loop, 300);
  EXPECT_INT(C.opens, 1);
  EXPECT_INT(C.last_err, UVWS_ESTATUS);
  EXPECT(strstr(C.msg, "503") != NULL);
  uvws_terminate(ws);
  EXPECT_INT(e2e_run(loop, 5000), 0);
  EXPECT_INT(C.closes, 2);
}

/* ------------------------------------------------------------------ */
/* Backpressure: a reader that pauses; drain; drop; close on limit      */
/* ------------------------------------------------------------------ */

typedef struct {
  uvws_server_t *server;
  uvws_t *srv_ws, *cli_ws;
  int queued_seen, drains, dropped, received, sent, mode, closed_code, srv_err;
  size_t max_buffered;
  uv_timer_t timer;
} bp_t;
static bp_t B;
static char chunk[256 * 1024];

static void bp_resume(uv_timer_t *t) {
  uv_close((uv_handle_t *)t, NULL);
  if (B.srv_ws) EXPECT(uvws_buffered_amount(B.srv_ws) > 0);
  if (B.cli_ws) uvws_resume(B.cli_ws);
}

static void bp_srv_open(uvws_t *ws, const uvws_http_t *req) {
  (void)req;
  B.srv_ws = ws;
  /* Keep sending until the kernel buffers are full and the queue grows. */
  for (int i = 0; i < 400; i++) {
    int r = uvws_send(ws, chunk, sizeof(chunk), UVWS_BINARY);
    if (r >= 0 && r != UVWS_SEND_DROPPED) B.sent++;
    if (r == UVWS_SEND_QUEUED) B.queued_seen++;
    if (r == UVWS_SEND_DROPPED) {
      B.dropped++;
      break;
    }
    if (r < 0) {
      B.srv_err = r;
      break;
    }
    size_t b = uvws_buffered_amount(ws);
    if (b > B.max_buffered) B.max_buffered = b;
    if (B.mode == 0 && B.queued_seen >= 8) break;
  }
  uv_timer_init(loop, &B.timer);
  uv_timer_start(&B.timer, bp_resume, 200, 0);
}
static void bp_srv_drain(uvws_t *ws) {
  B.drains++;
  EXPECT_INT(uvws_buffered_amount(ws), 0);
  uvws_close(ws, 1000, NULL, 0);
}
static void bp_srv_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws;
  (void)r;
  (void)n;
  B.closed_code = code;
  B.srv_ws = NULL;
}
static void bp_cli_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  B.cli_ws = ws;
  uvws_pause(ws);
}
static void bp_cli_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)ws;
  (void)d;
  (void)bin;
  EXPECT_INT(n, sizeof(chunk));
  B.received++;
}
static void bp_cli_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws;
  B.cli_ws = NULL;
  (void)code;
  (void)r;
  (void)n;
  uvws_server_close(B.server, NULL);
}

static void test_backpressure(int mode) {
  memset(&B, 0, sizeof(B));
  B.mode = mode;
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  if (mode >= 1) so.limits.max_backpressure = 4 * sizeof(chunk);
  if (mode == 2) so.limits.close_on_backpressure = 1;
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_open = bp_srv_open;
  scb.on_drain = bp_srv_drain;
  scb.on_close = bp_srv_close;
  ccb.on_open = bp_cli_open;
  ccb.on_message = bp_cli_message;
  ccb.on_close = bp_cli_close;
  B.server = e2e_server(loop, "127.0.0.1", &so, &scb, NULL, NULL);
  char url[128];
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(B.server), "/");
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, NULL, &ccb, NULL, &ws), 0);
  EXPECT_INT(e2e_run(loop, 20000), 0);
  EXPECT(B.queued_seen > 0);
  if (mode == 0) {
    EXPECT_INT(B.drains, 1);
    EXPECT_INT(B.received, B.sent);
    EXPECT_INT(B.closed_code, 1000);
  } else if (mode == 1) {
    EXPECT_INT(B.dropped, 1);
    EXPECT_INT(B.received, B.sent);
    EXPECT(B.max_buffered < so.limits.max_backpressure + sizeof(chunk) + 14);
    EXPECT_INT(B.drains, 1);
  } else {
    EXPECT_INT(B.srv_err, UVWS_EBACKPRESSURE);
    EXPECT_INT(B.closed_code, 1008);
  }
}

/* ------------------------------------------------------------------ */
/* Many small sends in one turn arrive complete and in order; broadcast */
/* ------------------------------------------------------------------ */

typedef struct {
  uvws_server_t *server;
  int next_expected, clients_open, broadcast_got, closes;
} ord_t;
static ord_t O;
#define ORDER_N 20000

static void ord_srv_open(uvws_t *ws, const uvws_http_t *req) {
  (void)req;
  char buf[16];
  for (int i = 0; i < ORDER_N; i++) {
    int n = snprintf(buf, sizeof(buf), "%d", i);
    int r = uvws_send(ws, buf, (size_t)n, UVWS_TEXT);
    if (r < 0) {
      EXPECT_INT(r, 0);
      break;
    }
  }
}
static void ord_cli_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)bin;
  if (n == 9 && !memcmp(d, "broadcast", 9)) {
    O.broadcast_got++;
    uvws_close(ws, 1000, NULL, 0);
    return;
  }
  char buf[16];
  snprintf(buf, sizeof(buf), "%.*s", (int)n, d);
  EXPECT_INT(atoi(buf), O.next_expected);
  if (++O.next_expected == ORDER_N) {
    EXPECT_INT(uvws_server_broadcast(O.server, "broadcast", 9, UVWS_TEXT), 1);
  }
}
static void ord_cli_close(uvws_t *ws, int c, const char *r, size_t n) {
  (void)ws;
  (void)c;
  (void)r;
  (void)n;
  uvws_server_close(O.server, NULL);
}

static void test_ordering(void) {
  memset(&O, 0, sizeof(O));
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_open = ord_srv_open;
  ccb.on_message = ord_cli_message;
  ccb.on_close = ord_cli_close;
  O.server = e2e_server(loop, "::1", NULL, &scb, NULL, NULL);
  char url[128];
  e2e_url(url, sizeof(url), "::1", uvws_server_port(O.server), "/");
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, NULL, &ccb, NULL, &ws), 0);
  EXPECT_INT(e2e_run(loop, 20000), 0);
  EXPECT_INT(O.next_expected, ORDER_N);
  EXPECT_INT(O.broadcast_got, 1);
}

/* ------------------------------------------------------------------ */
/* The rest of the API: send_owned, foreach, addresses, stream, adopt   */
/* ------------------------------------------------------------------ */

typedef struct {
  uvws_server_t *server;
  int released, foreach_seen, got, adopted_open, closes;
  uv_tcp_t listener, accepted;
  char head[1024];
  size_t head_len;
} misc_t;
static misc_t M;

static void owned_release(const void *data, void *arg) {
  EXPECT(arg == &M);
  M.released++;
  free((void *)data);
}
static int count_each(uvws_t *ws, void *arg) {
  (void)arg;
  M.foreach_seen++;
  EXPECT(uvws_stream(ws) != NULL);
  struct sockaddr_storage ss;
  EXPECT_INT(uvws_remote_address(ws, &ss), 0);
  EXPECT(ss.ss_family == AF_INET);
  char *big = malloc(100000);
  memset(big, 'o', 100000);
  int r = uvws_send_owned(ws, big, 100000, UVWS_BINARY, owned_release, &M);
  EXPECT(r == UVWS_SEND_OK || r == UVWS_SEND_QUEUED);
  return 0;
}
static void misc_srv_open(uvws_t *ws, const uvws_http_t *req) {
  (void)req;
  if (uvws_get_data(ws) == &M) M.adopted_open++;
  if (uvws_server_connections(M.server) == 2) uvws_server_foreach(M.server, count_each, NULL);
}
static void misc_cli_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)d;
  EXPECT(bin && n == 100000);
  if (++M.got == 2) uvws_server_close(M.server, NULL);
  (void)ws;
}
static void misc_cli_close(uvws_t *ws, int c, const char *r, size_t n) {
  (void)ws, (void)r, (void)n;
  EXPECT_INT(c, 1001);
  M.closes++;
}
static void misc_hook(uvws_server_t *s, uvws_upgrade_t *up, const uvws_http_t *req) {
  (void)s;
  /* The adopted connection is recognised by its path. */
  int adopted = req->path_len == 8 && !memcmp(req->path, "/adopted", 8);
  uvws_upgrade_accept(up, NULL, NULL, 0, adopted ? &M : NULL);
}
static void misc_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)h, (void)s;
  *b = uv_buf_init(M.head + M.head_len, (unsigned)(sizeof(M.head) - M.head_len));
}
static void misc_accepted_closed(uv_handle_t *h) { (void)h; }
static void misc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  if (n <= 0) return;
  M.head_len += (size_t)n;
  if (!strstr(M.head, "\r\n\r\n")) return;
  /* Hand the socket and what was read of it to the WebSocket server, as
   * Node's handleUpgrade does. */
  uv_read_stop(s);
  uv_os_fd_t fd;
  EXPECT_INT(uv_fileno((uv_handle_t *)s, &fd), 0);
  int copy = dup(fd);
  EXPECT_INT(uvws_server_adopt(M.server, copy, M.head, M.head_len), 0);
  uv_close((uv_handle_t *)s, misc_accepted_closed);
  uv_close((uv_handle_t *)&M.listener, NULL);
}
static void misc_conn(uv_stream_t *l, int status) {
  (void)status;
  uv_tcp_init(loop, &M.accepted);
  uv_accept(l, (uv_stream_t *)&M.accepted);
  uv_read_start((uv_stream_t *)&M.accepted, misc_alloc, misc_read);
}

static void test_misc_api(void) {
  memset(&M, 0, sizeof(M));
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_open = misc_srv_open;
  ccb.on_message = misc_cli_message;
  ccb.on_close = misc_cli_close;
  M.server = e2e_server(loop, "127.0.0.1", NULL, &scb, misc_hook, NULL);
  struct sockaddr_storage ss;
  EXPECT_INT(uvws_server_address(M.server, &ss), 0);
  EXPECT_INT(ntohs(((struct sockaddr_in *)&ss)->sin_port), uvws_server_port(M.server));
  uvws_server_set_data(M.server, &M);
  EXPECT(uvws_server_get_data(M.server) == &M);
  /* A plain TCP listener that hands its connection over. */
  uv_tcp_init(loop, &M.listener);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_bind(&M.listener, (struct sockaddr *)&a, 0);
  uv_listen((uv_stream_t *)&M.listener, 8, misc_conn);
  int len = sizeof(ss);
  uv_tcp_getsockname(&M.listener, (struct sockaddr *)&ss, &len);
  char url[128];
  e2e_url(url, sizeof(url), "127.0.0.1", ntohs(((struct sockaddr_in *)&ss)->sin_port), "/adopted");
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, NULL, &ccb, NULL, &ws), 0);
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(M.server), "/direct");
  EXPECT_INT(uvws_connect(loop, url, NULL, &ccb, NULL, &ws), 0);
  EXPECT_INT(e2e_run(loop, 10000), 0);
  EXPECT_INT(M.adopted_open, 1);
  EXPECT_INT(M.foreach_seen, 2);
  EXPECT_INT(M.released, 2);
  EXPECT_INT(M.got, 2);
  EXPECT_INT(M.closes, 2);
}

/* A paused connection still completes its closing handshake, and keeps the
 * loop alive meanwhile; a dropped fragment can be sent again. */
typedef struct {
  uvws_server_t *server;
  int code;
  uint64_t closed_after;
  uint64_t t0;
} pz_t;
static pz_t PZ;

static void pz_open(uvws_t *ws, const uvws_http_t *r) {
  (void)r;
  uvws_pause(ws);
  PZ.t0 = uv_now(loop);
  EXPECT_INT(uvws_close(ws, 1000, "paused", 6), 0);
}
static void pz_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)r, (void)n;
  PZ.code = code;
  PZ.closed_after = uv_now(loop) - PZ.t0;
  uvws_server_close(PZ.server, NULL);
}

static void test_paused_close(void) {
  memset(&PZ, 0, sizeof(PZ));
  uvws_callbacks_t ccb = {0};
  ccb.on_open = pz_open;
  ccb.on_close = pz_close;
  PZ.server = e2e_server(loop, "127.0.0.1", NULL, NULL, NULL, NULL);
  char url[96];
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(PZ.server), "/");
  uvws_t *ws;
  /* A close timeout far beyond the run's 10 s bound: the connection can only
   * close in time through the closing handshake, whatever the machine's
   * speed (a wall-clock bound against the default 5 s timeout flaked). */
  uvws_client_options_t co;
  uvws_client_options_init(&co);
  co.limits.close_timeout_ms = 60000;
  EXPECT_INT(uvws_connect(loop, url, &co, &ccb, NULL, &ws), 0);
  EXPECT_INT(e2e_run(loop, 10000), 0);
  EXPECT_INT(PZ.code, 1000);
  EXPECT(PZ.closed_after < 10000); /* the handshake, not the 60 s close timeout */
}

/* The close answer is never dropped, even with more than max_backpressure
 * queued (a 32 MiB echo in flight when the close frame arrives). */
typedef struct {
  uvws_server_t *server;
  int code, got;
  uint8_t *big;
} bq_t;
static bq_t BQ;
#define BQ_SIZE (32u * 1024 * 1024)

static void bq_open(uvws_t *ws, const uvws_http_t *r) {
  (void)r;
  BQ.big = calloc(1, BQ_SIZE);
  uvws_send(ws, BQ.big, BQ_SIZE, UVWS_BINARY);
  uvws_close(ws, 1000, "after the big one", 17);
}
static void bq_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)ws, (void)d, (void)bin;
  EXPECT_INT(n, BQ_SIZE);
  BQ.got++;
}
static void bq_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)r, (void)n;
  BQ.code = code;
  free(BQ.big);
  uvws_server_close(BQ.server, NULL);
}

static void test_close_behind_big_queue(void) {
  memset(&BQ, 0, sizeof(BQ));
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_message = srv_message;
  ccb.on_open = bq_open;
  ccb.on_message = bq_message;
  ccb.on_close = bq_close;
  BQ.server = e2e_server(loop, "127.0.0.1", &so, &scb, NULL, NULL);
  char url[96];
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(BQ.server), "/");
  uvws_client_options_t co;
  uvws_client_options_init(&co);
  co.limits.max_backpressure = 0; /* the client side sends it all */
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, &co, &ccb, NULL, &ws), 0);
  EXPECT_INT(e2e_run(loop, 30000), 0);
  EXPECT_INT(BQ.got, 1);
  EXPECT_INT(BQ.code, 1000);
}

int main(void) {
  loop = uv_default_loop();
  test_echo("127.0.0.1");
  test_echo("::1");
  test_server_close();
  test_upgrade_hook(0);
  test_upgrade_hook(1);
  test_upgrade_hook(2);
  test_refusals();
  test_backpressure(0);
  test_backpressure(1);
  test_backpressure(2);
  test_ordering();
  test_misc_api();
  test_paused_close();
  test_close_behind_big_queue();
  EXPECT_INT(uv_loop_close(loop), 0);
  return e2e_report("e2e");
}

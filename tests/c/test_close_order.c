/* Close order (RFC 6455 section 7.1.1): after the closing handshake the
 * server closes TCP first; the client waits for it, at most
 * close_timeout_ms, and only then closes its own socket. The server here is
 * a hand-driven peer (e2e_peer.c) that records when the client's FIN comes. */
#include "e2e_util.h"
#include "e2e_peer.h"

#include <stdlib.h>

static uv_loop_t *loop;
static e2e_srv_t srv;

typedef struct {
  uvws_t *ws;
  int opened, closed, errors, code;
  char reason[64];
  /* peer side */
  int peer_closes_after_handshake; /* close TCP once the close frames crossed */
  int client_initiates;            /* the client sends the first close */
  int got_close;                   /* the client's close frame arrived */
  int close_code_seen;
  int eof_seen;
  int state_at_eof;                /* client's ready state when its FIN came */
} ctx_t;
static ctx_t cx;

static void c_open(uvws_t *ws, const uvws_http_t *h) {
  (void)h;
  cx.opened = 1;
  if (cx.client_initiates) EXPECT_INT(uvws_close(ws, 1000, "done", 4), 0);
}
static void c_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  fprintf(stderr, "client error: %s (%s)\n", uvws_strerror(err), msg);
  cx.errors++;
}
static void c_close(uvws_t *ws, int code, const char *reason, size_t len) {
  (void)ws;
  cx.closed = 1;
  cx.code = code;
  snprintf(cx.reason, sizeof(cx.reason), "%.*s", (int)len, reason);
  cx.ws = NULL;
}

static void send_close(e2e_pconn_t *c, int code, const char *reason) {
  uint8_t payload[64], frame[80];
  size_t n = 0;
  payload[n++] = (uint8_t)(code >> 8);
  payload[n++] = (uint8_t)code;
  memcpy(payload + n, reason, strlen(reason));
  n += strlen(reason);
  size_t fl = e2e_frame(frame, 1, 8, 0, payload, n);
  e2e_pconn_write(c, frame, fl);
}

static void p_data(e2e_pconn_t *c) {
  char head[2048];
  if (!c->data) {
    if (!e2e_pconn_take_request(c, head, sizeof(head))) return;
    c->data = &cx;
    e2e_pconn_accept(c, head);
    if (!cx.client_initiates) send_close(c, 1000, "bye");
  }
  int op;
  uint8_t pl[128];
  size_t len;
  while (e2e_pconn_take_frame(c, &op, pl, sizeof(pl), &len)) {
    if (op != 8) continue;
    cx.got_close = 1;
    cx.close_code_seen = len >= 2 ? (pl[0] << 8) | pl[1] : 1005;
    if (cx.client_initiates) send_close(c, cx.close_code_seen, "");
    if (cx.peer_closes_after_handshake) e2e_pconn_close(c);
  }
}

static void p_eof(e2e_pconn_t *c) {
  cx.eof_seen = 1;
  /* The client may only have closed its socket (never merely shut down its
   * write side while still waiting): by now its handle is closed. */
  cx.state_at_eof = cx.ws ? uvws_ready_state(cx.ws) : UVWS_CLOSED;
  e2e_pconn_close(c);
}

static void run_case(int client_initiates, int peer_closes, unsigned close_timeout) {
  memset(&cx, 0, sizeof(cx));
  cx.client_initiates = client_initiates;
  cx.peer_closes_after_handshake = peer_closes;
  cx.state_at_eof = -1;
  EXPECT_INT(e2e_srv_tcp(loop, &srv, "127.0.0.1"), 0);
  srv.on_data = p_data;
  srv.on_eof = p_eof;
  uvws_callbacks_t cb = {0};
  cb.on_open = c_open;
  cb.on_error = c_error;
  cb.on_close = c_close;
  uvws_client_options_t o;
  uvws_client_options_init(&o);
  o.limits.close_timeout_ms = close_timeout;
  char url[64];
  e2e_url(url, sizeof(url), "127.0.0.1", srv.port, "/");
  EXPECT_INT(uvws_connect(loop, url, &o, &cb, NULL, &cx.ws), 0);
  EXPECT_INT(e2e_wait(loop, &cx.closed, 20000), 0);
  EXPECT(cx.opened);
  EXPECT(cx.got_close);
  EXPECT_INT(cx.errors, 0);
  EXPECT_INT(cx.code, 1000);
  EXPECT_INT(cx.close_code_seen, 1000);
  if (!peer_closes) {
    /* The peer never closes: the client closes at its close timeout, and
     * its FIN is the first thing after its close frame. */
    EXPECT_INT(e2e_wait(loop, &cx.eof_seen, 10000), 0);
    EXPECT_INT(cx.state_at_eof, UVWS_CLOSED);
  } else {
    /* The peer closed first; the client did not send a FIN before. */
    EXPECT_INT(cx.eof_seen, 0);
  }
  e2e_srv_close(&srv);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

int main(void) {
  uv_loop_t l;
  uv_loop_init(&l);
  loop = &l;
  /* The server starts the close and closes TCP after it: the client ends
   * at once (its close timeout is far away). */
  run_case(0, 1, 60000);
  /* The client starts the close; the server answers and closes TCP. */
  run_case(1, 1, 60000);
  /* The server answers but keeps TCP open: the client waits for it until
   * its close timeout, never half-closing before. */
  run_case(0, 0, 300);
  run_case(1, 0, 300);
  uv_loop_close(&l);
  return e2e_report("close_order");
}

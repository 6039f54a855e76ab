/* Hostile peers against the engine's bounds (issue 10): a ping flood from a
 * peer that never reads (server and client side), pending handshakes, a
 * malformed extension offer, header injection through every API that takes
 * headers, the default fragment limit, and the per-server counters that let
 * an operator see all of it. Run plain, under ASan + UBSan and valgrind. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "e2e_util.h"
#include "uvws_handshake.h"

#include <stdlib.h>
#include <sys/socket.h>

static uv_loop_t *loop;

/* ------------------------------------------------------------------ */
/* A server that records what a flood did to it                        */
/* ------------------------------------------------------------------ */

typedef struct {
  int pings, opens, closes, close_code, messages;
  size_t max_buffered;
  uvws_t *ws;
} flood_t;
static flood_t fl;

/* Small kernel buffers on both ends, so that a few thousand pongs fill
 * them and the engine's own queue is what the flood presses on. */
static void shrink_buf(uv_stream_t *s, int opt) {
  uv_os_fd_t fd;
  int small = 4096;
  if (uv_fileno((uv_handle_t *)s, &fd) == 0) setsockopt(fd, SOL_SOCKET, opt, &small, sizeof(small));
}

static void f_open(uvws_t *ws, const uvws_http_t *r) {
  (void)r;
  fl.opens++;
  fl.ws = ws;
  shrink_buf(uvws_stream(ws), SO_SNDBUF);
}
static void f_ping(uvws_t *ws, const char *d, size_t n) {
  (void)d, (void)n;
  fl.pings++;
  size_t b = uvws_buffered_amount(ws);
  if (b > fl.max_buffered) fl.max_buffered = b;
}
static void f_message(uvws_t *ws, const char *d, size_t n, int bin) {
  fl.messages++;
  uvws_send(ws, d, n, bin ? UVWS_BINARY : UVWS_TEXT);
}
static void f_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)r, (void)n;
  fl.closes++;
  fl.close_code = code;
  fl.ws = NULL;
}

/* What the pong queue may hold at most: one cork's worth that the socket
 * did not take (16 KiB, core/src/uvws_internal.h) and the one owed pong. */
#define PONG_BOUND (16 * 1024 + 2 * 127)

/* The flood: `count` pings of `plen` bytes (payload = sequence number,
 * padded), masked as a client must. Returns the buffer; *len its size. */
static uint8_t *make_pings(int count, size_t plen, int masked, size_t *len) {
  uint8_t *buf = malloc((size_t)count * (plen + 6)), payload[125];
  size_t n = 0;
  for (int i = 0; i < count; i++) {
    memset(payload, 'p', sizeof(payload));
    char seq[16];
    int sl = snprintf(seq, sizeof(seq), "%07d", i);
    memcpy(payload, seq, plen < (size_t)sl ? plen : (size_t)sl);
    n += e2e_frame(buf + n, 1, 0x9, masked, payload, plen);
  }
  *len = n;
  return buf;
}

/* The payload of the last pong in `in` (after the HTTP head), or -1. */
static int last_pong_seq(const uint8_t *in, size_t n) {
  int seq = -1, op;
  const uint8_t *p;
  uint64_t len;
  size_t used;
  while ((used = e2e_parse_frame(in, n, &op, &p, &len)) > 0) {
    if (op == 0xA) {
      /* The payload carries the ping's sequence number (empty pings: 0). */
      char s[8] = "0";
      if (len >= 7) {
        memcpy(s, p, 7);
        s[7] = 0;
      }
      seq = atoi(s);
    }
    in += used;
    n -= used;
  }
  return seq;
}

static void shrink_rcvbuf(uv_stream_t *s) { shrink_buf(s, SO_RCVBUF); }

typedef struct {
  e2e_raw_t raw;
  int want_seq, got;
} reader_t;

static void reader_data(e2e_raw_t *r) {
  reader_t *rd = r->data;
  size_t head = e2e_raw_head_end(r);
  if (head && last_pong_seq(r->in + head, r->in_len - head) == rd->want_seq) rd->got = 1;
}

static void raw_connected_shrink(e2e_raw_t *r) { shrink_rcvbuf((uv_stream_t *)&r->tcp); }

static void flood_server(size_t plen, int count) {
  memset(&fl, 0, sizeof(fl));
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  uvws_callbacks_t cb = {0};
  cb.on_open = f_open;
  cb.on_ping = f_ping;
  cb.on_close = f_close;
  uvws_server_t *server = e2e_server(loop, "127.0.0.1", &so, &cb, NULL, NULL);

  size_t flen;
  uint8_t *pings = make_pings(count, plen, 1, &flen);
  char req[512];
  size_t rl = e2e_request(req, sizeof(req), "/", NULL);
  reader_t rd;
  memset(&rd, 0, sizeof(rd));
  rd.want_seq = plen >= 7 ? count - 1 : 0;
  rd.raw.data = &rd;
  rd.raw.no_read = 1; /* the attacker never reads */
  rd.raw.on_connect = raw_connected_shrink;
  rd.raw.on_data = reader_data;
  e2e_raw_connect(loop, &rd.raw, "127.0.0.1", uvws_server_port(server));
  e2e_spin(loop, 50);
  e2e_raw_write(&rd.raw, req, rl);
  e2e_raw_write(&rd.raw, pings, flen);
  free(pings);

  /* Every ping arrives (TCP flow control never stops the flood: the server
   * keeps reading), while the answers pile up unread. */
  int done = 0;
  for (int waited = 0; waited < 120000 && fl.pings < count; waited += 50) e2e_spin(loop, 50);
  EXPECT_INT(fl.pings, count);
  fprintf(stderr, "  %zu-byte pings x %d: server buffered at most %zu bytes (bound %d)\n", plen,
          count, fl.max_buffered, PONG_BOUND);
  EXPECT(fl.max_buffered <= PONG_BOUND);
  uvws_stats_t st;
  uvws_server_stats(server, &st);
  EXPECT_INT(st.pings_in, count);
  EXPECT(st.pongs_coalesced > 0);
  EXPECT_INT(st.pongs_out + st.pongs_coalesced + 1 >= (uint64_t)count, 1);

  /* When the attacker reads at last, the newest ping has its answer
   * (RFC 6455 section 5.5.3: the most recent one). */
  e2e_raw_start_reading(&rd.raw);
  e2e_wait(loop, &rd.got, 60000);
  EXPECT(rd.got);
  if (!rd.got) {
    size_t head = e2e_raw_head_end(&rd.raw);
    fprintf(stderr, "  last pong seen: %d (in %zu bytes)\n",
            head ? last_pong_seq(rd.raw.in + head, rd.raw.in_len - head) : -9, rd.raw.in_len);
  }
  e2e_raw_close(&rd.raw);
  done = 0;
  for (int waited = 0; waited < 20000 && fl.closes == 0; waited += 20) e2e_spin(loop, 20);
  (void)done;
  EXPECT_INT(fl.closes, 1);
  uvws_server_close(server, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

static void test_ping_flood_server(void) {
  /* ~8 MiB of answers each: far more than the kernel buffers between the
   * two sockets, so the queue would grow without the bound. */
  flood_server(125, 16 * 1024);
  flood_server(7, 16 * 1024);
  flood_server(0, 64 * 1024);
}

/* ------------------------------------------------------------------ */
/* A malicious server flooding a uvws client                           */
/* ------------------------------------------------------------------ */

typedef struct {
  uv_tcp_t listener, conn;
  uint8_t in[64 * 1024];
  size_t in_len, head_len;
  int count, plen, got_last, conn_closed;
  int reading_pongs;
} evil_t;
static evil_t ev;

static struct {
  int opens, pings, closes;
  size_t max_buffered;
} cl;

static void evil_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)h, (void)s;
  if (ev.in_len >= sizeof(ev.in)) ev.in_len = ev.head_len; /* only the tail matters */
  *b = uv_buf_init((char *)ev.in + ev.in_len, (unsigned)(sizeof(ev.in) - ev.in_len));
}

/* The client's frames are masked: the seq of its last pong, or -1. */
static int last_masked_pong(const uint8_t *p, size_t n) {
  int seq = -1;
  while (n >= 6) {
    size_t len = p[1] & 0x7f, hl = 6;
    if (len >= 126) return seq; /* pongs are small */
    if (n < hl + len) break;
    if ((p[0] & 0x0f) == 0xA) {
      char s[8] = "0";
      if (len >= 7) {
        for (int i = 0; i < 7; i++) s[i] = (char)(p[hl + i] ^ p[2 + (i & 3)]);
        s[7] = 0;
      }
      seq = atoi(s);
    }
    p += hl + len;
    n -= hl + len;
  }
  return seq;
}

static void evil_written(uv_write_t *req, int status) {
  (void)status;
  free(req->data);
  free(req);
}

static void evil_send(uv_stream_t *s, uint8_t *buf, size_t len) {
  uv_write_t *req = malloc(sizeof(*req));
  req->data = buf;
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  uv_write(req, s, &b, 1, evil_written);
}

static void evil_read_head(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  if (n < 0) {
    uv_read_stop(s);
    return;
  }
  ev.in_len += (size_t)n;
  if (ev.reading_pongs) {
    if (last_masked_pong(ev.in + ev.head_len, ev.in_len - ev.head_len) ==
        (ev.plen >= 7 ? ev.count - 1 : 0))
      ev.got_last = 1;
    return;
  }
  uint8_t *end = memmem(ev.in, ev.in_len, "\r\n\r\n", 4);
  if (!end) return;
  ev.head_len = (size_t)(end - ev.in) + 4;
  ev.in[ev.head_len - 1] = 0;
  const char *k = strcasestr((char *)ev.in, "Sec-WebSocket-Key: ");
  char accept[UVWS_ACCEPT_LEN + 1];
  uvws_accept_key(k + 19, UVWS_KEY_LEN, accept);
  size_t flen;
  uint8_t *pings = make_pings(ev.count, (size_t)ev.plen, 0, &flen);
  uint8_t *all = malloc(256 + flen);
  int rl = snprintf((char *)all, 256,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                    accept);
  memcpy(all + rl, pings, flen);
  free(pings);
  evil_send(s, all, (size_t)rl + flen);
  /* From here the malicious server never reads, until the test says so. */
  uv_read_stop(s);
  ev.in_len = ev.head_len;
}

static void evil_conn_closed(uv_handle_t *h) {
  (void)h;
  ev.conn_closed = 1;
}

static void evil_connection(uv_stream_t *l, int status) {
  if (status < 0) return;
  uv_tcp_init(loop, &ev.conn);
  if (uv_accept(l, (uv_stream_t *)&ev.conn) < 0) return;
  shrink_rcvbuf((uv_stream_t *)&ev.conn);
  uv_read_start((uv_stream_t *)&ev.conn, evil_alloc, evil_read_head);
}

static void c_open(uvws_t *ws, const uvws_http_t *r) {
  (void)r;
  cl.opens++;
  shrink_buf(uvws_stream(ws), SO_SNDBUF);
}
static void c_ping(uvws_t *ws, const char *d, size_t n) {
  (void)d, (void)n;
  cl.pings++;
  size_t b = uvws_buffered_amount(ws);
  if (b > cl.max_buffered) cl.max_buffered = b;
}
static void c_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)code, (void)r, (void)n;
  cl.closes++;
}

static void flood_client(int plen, int count) {
  memset(&ev, 0, sizeof(ev));
  memset(&cl, 0, sizeof(cl));
  ev.count = count;
  ev.plen = plen;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(loop, &ev.listener);
  uv_tcp_bind(&ev.listener, (struct sockaddr *)&addr, 0);
  uv_listen((uv_stream_t *)&ev.listener, 8, evil_connection);
  struct sockaddr_storage bound;
  int blen = sizeof(bound);
  uv_tcp_getsockname(&ev.listener, (struct sockaddr *)&bound, &blen);
  char url[64];
  e2e_url(url, sizeof(url), "127.0.0.1", ntohs(((struct sockaddr_in *)&bound)->sin_port), "/");

  uvws_callbacks_t cb = {0};
  cb.on_open = c_open;
  cb.on_ping = c_ping;
  cb.on_close = c_close;
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, NULL, &cb, NULL, &ws), 0);
  for (int waited = 0; waited < 120000 && cl.pings < count; waited += 50) e2e_spin(loop, 50);
  EXPECT_INT(cl.opens, 1);
  EXPECT_INT(cl.pings, count);
  fprintf(stderr, "  client, %d-byte pings x %d: buffered at most %zu bytes (bound %d)\n", plen,
          count, cl.max_buffered, PONG_BOUND);
  EXPECT(cl.max_buffered <= PONG_BOUND);
  /* The server reads at last: the newest ping has its answer. */
  ev.reading_pongs = 1;
  uv_read_start((uv_stream_t *)&ev.conn, evil_alloc, evil_read_head);
  e2e_wait(loop, &ev.got_last, 60000);
  EXPECT(ev.got_last);
  uv_close((uv_handle_t *)&ev.conn, evil_conn_closed);
  uv_close((uv_handle_t *)&ev.listener, NULL);
  for (int waited = 0; waited < 20000 && cl.closes == 0; waited += 20) e2e_spin(loop, 20);
  EXPECT_INT(cl.closes, 1);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

static void test_ping_flood_client(void) {
  flood_client(125, 16 * 1024);
  flood_client(7, 16 * 1024);
  flood_client(0, 64 * 1024);
}

/* ------------------------------------------------------------------ */
/* Probes: one raw request, the status it got                          */
/* ------------------------------------------------------------------ */

typedef struct {
  e2e_raw_t raw;
  char head[2048];
} probe_t;

static void probe_done(e2e_raw_t *r) {
  probe_t *p = r->data;
  size_t n = r->in_len < sizeof(p->head) - 1 ? r->in_len : sizeof(p->head) - 1;
  memcpy(p->head, r->in, n);
  p->head[n] = 0;
  e2e_raw_close(r);
}

static void probe_data(e2e_raw_t *r) {
  if (e2e_raw_head_end(r) && e2e_raw_status(r) == 101) probe_done(r);
}

/* Send `extra` headers in a valid upgrade request; returns the status and
 * copies the response head into `head` (may be NULL). */
static int probe(int port, const char *extra, char *head, size_t cap) {
  probe_t p;
  memset(&p, 0, sizeof(p));
  char req[2048];
  size_t n = e2e_request(req, sizeof(req), "/", extra);
  p.raw.data = &p;
  p.raw.send = (const uint8_t *)req;
  p.raw.send_len = n;
  p.raw.on_eof = probe_done;
  p.raw.on_data = probe_data;
  e2e_raw_connect(loop, &p.raw, "127.0.0.1", port);
  e2e_wait(loop, &p.raw.closed, 10000);
  int status = atoi(p.head + 9);
  e2e_raw_close(&p.raw);
  e2e_spin(loop, 1);
  if (head) snprintf(head, cap, "%s", p.head);
  return status;
}

static void test_pending_handshakes(void) {
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  EXPECT_INT(so.max_pending_handshakes, 1024);
  so.max_pending_handshakes = 2;
  uvws_callbacks_t cb = {0};
  uvws_server_t *server = e2e_server(loop, "127.0.0.1", &so, &cb, NULL, NULL);
  int port = uvws_server_port(server);
  /* Two silent clients take both places... */
  e2e_raw_t silent[2];
  memset(silent, 0, sizeof(silent));
  for (int i = 0; i < 2; i++) e2e_raw_connect(loop, &silent[i], "127.0.0.1", port);
  uvws_stats_t st;
  for (int waited = 0; waited < 5000; waited += 10) {
    e2e_spin(loop, 10);
    uvws_server_stats(server, &st);
    if (st.handshakes_pending == 2) break;
  }
  EXPECT_INT(st.handshakes_pending, 2);
  /* ...so a third is answered 503 at once, before it sends anything. */
  char head[2048];
  EXPECT_INT(probe(port, NULL, head, sizeof(head)), 503);
  EXPECT(strstr(head, "Too many pending handshakes") != NULL);
  uvws_server_stats(server, &st);
  EXPECT_INT(st.rejected_busy, 1);
  /* A place freed is a place taken again. */
  e2e_raw_close(&silent[0]);
  for (int waited = 0; waited < 5000; waited += 10) {
    e2e_spin(loop, 10);
    uvws_server_stats(server, &st);
    if (st.handshakes_pending == 1) break;
  }
  EXPECT_INT(probe(port, NULL, NULL, 0), 101);
  e2e_raw_close(&silent[1]);
  uvws_server_close(server, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

static void test_extension_offer(void) {
  uvws_deflate_options_t d = {0};
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.deflate = &d;
  uvws_callbacks_t cb = {0};
  uvws_server_t *server = e2e_server(loop, "127.0.0.1", &so, &cb, NULL, NULL);
  int port = uvws_server_port(server);
  char head[2048];
  EXPECT_INT(probe(port, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=foo\r\n",
                   head, sizeof(head)), 400);
  EXPECT(strstr(head, "Invalid Sec-WebSocket-Extensions header") != NULL);
  EXPECT_INT(probe(port, "Sec-WebSocket-Extensions: permessage-deflate; foo\r\n", NULL, 0), 400);
  EXPECT_INT(probe(port, "Sec-WebSocket-Extensions: permessage-deflate;;\r\n", NULL, 0), 400);
  EXPECT_INT(probe(port, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
                   head, sizeof(head)), 101);
  EXPECT(strstr(head, "permessage-deflate") != NULL);
  /* An extension we do not know is declined, not an error. */
  EXPECT_INT(probe(port, "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n", head, sizeof(head)),
             101);
  EXPECT(strstr(head, "Sec-WebSocket-Extensions") == NULL);
  uvws_stats_t st;
  uvws_server_stats(server, &st);
  EXPECT_INT(st.rejected_bad_request, 3);
  uvws_server_close(server, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

/* ------------------------------------------------------------------ */
/* Header injection                                                    */
/* ------------------------------------------------------------------ */

static int hook_mode;
static int hook_results[8];

static void inject_hook(uvws_server_t *s, uvws_upgrade_t *up, const uvws_http_t *req) {
  (void)s, (void)req;
  uvws_header_t bad_value = {"X-A", 3, "a\r\nInjected: 1", 14};
  uvws_header_t bad_lf = {"X-A", 3, "a\nInjected: 1", 13};
  uvws_header_t bad_nul = {"X-A", 3, "a\0b", 3};
  uvws_header_t bad_name = {"X A", 3, "1", 1};
  uvws_header_t bad_name2 = {"X-A\r\nInjected", 13, "1", 1};
  uvws_header_t good = {"X-Good", 6, "a\tb c", 5};
  int i = 0;
  hook_results[i++] = uvws_upgrade_accept(up, NULL, &bad_value, 1, NULL);
  EXPECT(strstr(uvws_last_error(), "X-A") != NULL);
  hook_results[i++] = uvws_upgrade_accept(up, NULL, &bad_lf, 1, NULL);
  hook_results[i++] = uvws_upgrade_reject(up, 401, &bad_nul, 1, "no", 2);
  hook_results[i++] = uvws_upgrade_reject(up, 401, &bad_name, 1, "no", 2);
  hook_results[i++] = uvws_upgrade_accept(up, NULL, &bad_name2, 1, NULL);
  /* The upgrade is still undecided: a valid answer goes through. */
  if (hook_mode == 0) hook_results[i++] = uvws_upgrade_accept(up, NULL, &good, 1, NULL);
  else hook_results[i++] = uvws_upgrade_reject(up, 401, &good, 1, "no", 2);
}

static void test_header_injection_server(void) {
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  uvws_callbacks_t cb = {0};
  uvws_server_t *server = e2e_server(loop, "127.0.0.1", &so, &cb, inject_hook, NULL);
  int port = uvws_server_port(server);
  char head[2048];
  for (hook_mode = 0; hook_mode < 2; hook_mode++) {
    memset(hook_results, 0x7f, sizeof(hook_results));
    EXPECT_INT(probe(port, NULL, head, sizeof(head)), hook_mode == 0 ? 101 : 401);
    for (int i = 0; i < 5; i++) EXPECT_INT(hook_results[i], UVWS_EINVAL);
    EXPECT_INT(hook_results[5], 0);
    EXPECT(strstr(head, "Injected") == NULL);
    EXPECT(strstr(head, "X-Good: a\tb c\r\n") != NULL);
  }
  uvws_stats_t st;
  uvws_server_stats(server, &st);
  EXPECT_INT(st.rejected_by_app, 1);
  EXPECT_INT(st.connections_total, 1);
  uvws_server_close(server, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

static int try_connect(const uvws_client_options_t *o) {
  uvws_t *ws = NULL;
  int r = uvws_connect(loop, "ws://127.0.0.1:9/", o, NULL, NULL, &ws);
  EXPECT(ws == NULL || r == 0);
  if (r == 0) uvws_terminate(ws);
  return r;
}

static void test_header_injection_client(void) {
  uvws_client_options_t o;
  uvws_header_t h;
  const char *protos[2];
  const char *bad_values[] = {"a\r\nInjected: 1", "a\nb", "a\rb", "a\x01"};
  for (size_t i = 0; i < sizeof(bad_values) / sizeof(*bad_values); i++) {
    uvws_client_options_init(&o);
    h = (uvws_header_t){"X-A", 3, bad_values[i], strlen(bad_values[i])};
    o.headers = &h;
    o.num_headers = 1;
    EXPECT_INT(try_connect(&o), UVWS_EINVAL);
    EXPECT(strstr(uvws_last_error(), "X-A") != NULL);
  }
  const char *bad_names[] = {"X A", "a;b", "a:b", "", "a\r\nb"};
  for (size_t i = 0; i < sizeof(bad_names) / sizeof(*bad_names); i++) {
    uvws_client_options_init(&o);
    h = (uvws_header_t){bad_names[i], strlen(bad_names[i]), "1", 1};
    o.headers = &h;
    o.num_headers = 1;
    EXPECT_INT(try_connect(&o), UVWS_EINVAL);
  }
  const char *bad_protos[] = {"a\x01" "b", "a;b", "X A", "a,b", "", "a\r\nb"};
  for (size_t i = 0; i < sizeof(bad_protos) / sizeof(*bad_protos); i++) {
    uvws_client_options_init(&o);
    protos[0] = bad_protos[i];
    o.protocols = protos;
    o.num_protocols = 1;
    EXPECT_INT(try_connect(&o), UVWS_EINVAL);
    EXPECT(strstr(uvws_last_error(), "subprotocol") != NULL);
  }
  uvws_client_options_init(&o);
  protos[0] = protos[1] = "chat";
  o.protocols = protos;
  o.num_protocols = 2;
  EXPECT_INT(try_connect(&o), UVWS_EINVAL);
  uvws_client_options_init(&o);
  o.origin = "http://a\r\nInjected: 1";
  EXPECT_INT(try_connect(&o), UVWS_EINVAL);
  /* Valid ones pass (the connect then fails on its own, asynchronously). */
  uvws_client_options_init(&o);
  h = (uvws_header_t){"X-Good", 6, "a\tb \x80", 5};
  o.headers = &h;
  o.num_headers = 1;
  protos[0] = "v1.chat";
  protos[1] = "x-y_z~!#$%&'*+^`|";
  o.protocols = protos;
  o.num_protocols = 2;
  EXPECT_INT(try_connect(&o), 0);
  EXPECT_INT(e2e_run(loop, 10000), 0);

  EXPECT_INT(uvws_http_token_is_valid("Sec-WebSocket-Key", 17), 1);
  EXPECT_INT(uvws_http_token_is_valid("a b", 3), 0);
  EXPECT_INT(uvws_http_token_is_valid("", 0), 0);
  EXPECT_INT(uvws_http_value_is_valid("", 0), 1);
  EXPECT_INT(uvws_http_value_is_valid("a\x7f", 2), 0);
}

/* ------------------------------------------------------------------ */
/* Fragments, counters                                                 */
/* ------------------------------------------------------------------ */

typedef struct {
  e2e_raw_t raw;
  int code;
} frag_t;

static void frag_data(e2e_raw_t *r) {
  frag_t *f = r->data;
  size_t head = e2e_raw_head_end(r);
  if (!head) return;
  int op;
  const uint8_t *p;
  uint64_t len;
  const uint8_t *in = r->in + head;
  size_t n = r->in_len - head, used;
  while ((used = e2e_parse_frame(in, n, &op, &p, &len)) > 0) {
    if (op == 0x8 && len >= 2) f->code = (p[0] << 8) | p[1];
    in += used;
    n -= used;
  }
}

/* A text message in `frames` frames (empty but the first): the close code
 * the server answered with, or 0 if the message was echoed. */
static int send_fragments(int port, int frames) {
  uint8_t *buf = malloc((size_t)frames * 8 + 64);
  size_t n = e2e_frame(buf, frames == 1, 0x1, 1, "x", 1);
  for (int i = 1; i < frames; i++) n += e2e_frame(buf + n, i == frames - 1, 0x0, 1, NULL, 0);
  n += e2e_frame(buf + n, 1, 0x8, 1, "\x03\xe8", 2);
  char req[512];
  size_t rl = e2e_request(req, sizeof(req), "/", NULL);
  frag_t f;
  memset(&f, 0, sizeof(f));
  f.raw.data = &f;
  f.raw.on_data = frag_data;
  f.raw.on_eof = e2e_raw_close;
  e2e_raw_connect(loop, &f.raw, "127.0.0.1", port);
  e2e_spin(loop, 20);
  e2e_raw_write(&f.raw, req, rl);
  e2e_raw_write(&f.raw, buf, n);
  free(buf);
  e2e_wait(loop, &f.raw.closed, 20000);
  e2e_raw_close(&f.raw);
  e2e_spin(loop, 1);
  return f.code == 1000 ? 0 : f.code;
}

static void test_default_fragments(void) {
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  EXPECT_INT(so.limits.max_fragments, 16384);
  uvws_client_options_t co;
  uvws_client_options_init(&co);
  EXPECT_INT(co.limits.max_fragments, 16384);
  memset(&fl, 0, sizeof(fl));
  uvws_callbacks_t cb = {0};
  cb.on_message = f_message;
  uvws_server_t *server = e2e_server(loop, "127.0.0.1", &so, &cb, NULL, NULL);
  int port = uvws_server_port(server);
  EXPECT_INT(send_fragments(port, 16384), 0);
  EXPECT_INT(fl.messages, 1);
  EXPECT_INT(send_fragments(port, 16385), 1009);
  EXPECT_INT(fl.messages, 1);
  uvws_stats_t st;
  uvws_server_stats(server, &st);
  EXPECT_INT(st.errors_too_big, 1);
  EXPECT_INT(st.closes_normal, 1);
  EXPECT_INT(st.messages_in, 1);
  EXPECT_INT(st.messages_out, 1);
  EXPECT_INT(st.bytes_in, 1);
  uvws_server_close(server, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

/* Counters through a normal session: a uvws client sends, pings, closes. */
static int cs_step;
static void cs_open(uvws_t *ws, const uvws_http_t *r) {
  (void)r;
  uvws_send(ws, "hello", 5, UVWS_TEXT);
  uvws_send(ws, "\x01\x02\x03", 3, UVWS_BINARY);
  uvws_ping(ws, "p", 1);
}
static void cs_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)d, (void)n, (void)bin;
  if (++cs_step == 2) uvws_close(ws, 1000, NULL, 0);
}

static void test_counters(void) {
  memset(&fl, 0, sizeof(fl));
  cs_step = 0;
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  uvws_callbacks_t scb = {0};
  scb.on_message = f_message;
  uvws_server_t *server = e2e_server(loop, "127.0.0.1", &so, &scb, NULL, NULL);
  char url[64];
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(server), "/");
  uvws_callbacks_t ccb = {0};
  ccb.on_open = cs_open;
  ccb.on_message = cs_message;
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, NULL, &ccb, NULL, &ws), 0);
  uvws_stats_t st;
  for (int waited = 0; waited < 10000; waited += 10) {
    e2e_spin(loop, 10);
    uvws_server_stats(server, &st);
    if (st.closes_normal == 1) break;
  }
  EXPECT_INT(st.connections_total, 1);
  EXPECT_INT(st.connections_open, 0);
  EXPECT_INT(st.handshakes_pending, 0);
  EXPECT_INT(st.messages_in, 2);
  EXPECT_INT(st.bytes_in, 8);
  EXPECT_INT(st.messages_out, 2);
  EXPECT_INT(st.bytes_out, 8);
  EXPECT_INT(st.pings_in, 1);
  EXPECT_INT(st.pongs_out, 1);
  EXPECT_INT(st.closes_normal, 1);
  EXPECT_INT(st.sends_dropped, 0);
  EXPECT_INT(uvws_server_stats(NULL, &st), UVWS_EINVAL);
  uvws_server_close(server, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

/* ------------------------------------------------------------------ */
/* Reads stop while paused, and while the upgrade hook decides         */
/* ------------------------------------------------------------------ */

static uvws_upgrade_t *held_up;
static int pause_on_open;

static void hold_hook(uvws_server_t *s, uvws_upgrade_t *up, const uvws_http_t *req) {
  (void)s, (void)req;
  held_up = up; /* decided later by the test */
}

static void p_open(uvws_t *ws, const uvws_http_t *r) {
  (void)r;
  fl.ws = ws;
  fl.opens++;
  if (pause_on_open) uvws_pause(ws);
}

static void p_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)ws, (void)d, (void)bin;
  if (n == 1024 && (unsigned char)d[0] == (unsigned char)(fl.messages & 0xff)) fl.messages++;
}

/* A peer that sends `count` 1 KiB messages right behind its request: the
 * server must stop reading (so the peer's own write queue grows, and the
 * server holds at most one read) until the test lets it go on. */
static void flood_unread(int paused) {
  enum { COUNT = 8192 };
  memset(&fl, 0, sizeof(fl));
  held_up = NULL;
  pause_on_open = paused;
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  uvws_callbacks_t cb = {0};
  cb.on_open = p_open;
  cb.on_message = p_message;
  uvws_server_t *server =
      e2e_server(loop, "127.0.0.1", &so, &cb, paused ? NULL : hold_hook, NULL);
  uint8_t *frames = malloc((size_t)COUNT * 1040), payload[1024];
  size_t n = 0;
  for (int i = 0; i < COUNT; i++) {
    memset(payload, i & 0xff, sizeof(payload));
    n += e2e_frame(frames + n, 1, 0x2, 1, payload, sizeof(payload));
  }
  char req[512];
  size_t rl = e2e_request(req, sizeof(req), "/", NULL);
  e2e_raw_t raw;
  memset(&raw, 0, sizeof(raw));
  raw.no_read = 1;
  raw.on_connect = raw_connected_shrink;
  e2e_raw_connect(loop, &raw, "127.0.0.1", uvws_server_port(server));
  e2e_spin(loop, 50);
  e2e_raw_write(&raw, req, rl);
  e2e_raw_write(&raw, frames, n);
  free(frames);
  /* The peer's bytes back up on its side: the server is not reading. */
  size_t backlog = 0;
  for (int waited = 0; waited < 20000; waited += 20) {
    e2e_spin(loop, 20);
    backlog = uv_stream_get_write_queue_size((uv_stream_t *)&raw.tcp);
    if (backlog > (size_t)COUNT * 1030 / 2) break;
  }
  int before = fl.messages;
  e2e_spin(loop, 100);
  size_t later = uv_stream_get_write_queue_size((uv_stream_t *)&raw.tcp);
  fprintf(stderr, "  %s: %zu of %zu bytes still unsent by the peer, %d messages read\n",
          paused ? "paused" : "undecided upgrade", later, n + rl, fl.messages);
  EXPECT(later > (size_t)COUNT * 1030 / 2);
  /* What one read brought with the request may still be delivered (as in
   * ws, pausing stops reading, not what was already read): at most one
   * read buffer (256 KiB), and nothing more while paused. */
  EXPECT(fl.messages <= 256);
  EXPECT_INT(fl.messages, before);
  if (!paused) EXPECT_INT(fl.messages, 0);
  /* Let it go on: everything arrives, in order. */
  if (paused) {
    EXPECT_INT(uvws_resume(fl.ws), 0);
  } else {
    EXPECT(held_up != NULL);
    EXPECT_INT(uvws_upgrade_accept(held_up, NULL, NULL, 0, NULL), 0);
  }
  for (int waited = 0; waited < 60000 && fl.messages < COUNT; waited += 20) e2e_spin(loop, 20);
  EXPECT_INT(fl.messages, COUNT);
  e2e_raw_close(&raw);
  uvws_server_close(server, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

static void test_no_read_while_paused(void) { flood_unread(1); }
static void test_no_read_while_deciding(void) { flood_unread(0); }

int main(void) {
  loop = uv_default_loop();
  test_ping_flood_server();
  test_ping_flood_client();
  test_pending_handshakes();
  test_extension_offer();
  test_header_injection_server();
  test_header_injection_client();
  test_default_fragments();
  test_counters();
  test_no_read_while_paused();
  test_no_read_while_deciding();
  return e2e_report("bounds");
}

/* Interop matrix client (C engine): runs the scenario list of
 * tests/matrix/README.md against a matrix server and prints one JSON line
 * per step, then a summary line. Exit status 0 when no step failed.
 *
 *   matrix_client [--ca FILE] [--only step1,step2] ws://127.0.0.1:PORT
 *
 * The URL is the server's base (scheme, host, port); the steps add paths. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uvws.h>

#define MIB (1024 * 1024)
#define MAX_CONNS 4

typedef struct cconn {
  uvws_t *ws;
  int used;
  int opened;
  int closed;
  int close_code;
  char close_reason[128];
  int status; /* HTTP status of the upgrade response */
  char error[256];
  int nmsgs;
} cconn_t;

typedef struct step {
  const char *name;
  unsigned timeout_ms;
  const char *(*skip)(void); /* reason to skip, or NULL */
  void (*start)(void);
  void (*on_open)(cconn_t *c);
  void (*on_message)(cconn_t *c, const char *data, size_t len, int is_binary);
  void (*on_pong)(cconn_t *c, const char *data, size_t len);
  void (*on_response)(cconn_t *c, const uvws_http_t *res);
  void (*on_close)(cconn_t *c);
  void (*on_timer)(void);
} step_t;

static uv_loop_t *loop;
static const char *base_url;
static int is_wss;
static uvws_tls_options_t tls;
static const char *only;
static cconn_t conns[MAX_CONNS];
static const step_t *cur;
static size_t cur_index;
static int step_ended;
static uint64_t step_started;
static uv_timer_t step_timer, cleanup_timer, next_timer, aux_timer, watchdog;
static int passed, failed, skipped;
static char *big; /* 16 MiB of pseudo-random bytes */
static char *two_mib;
static char ident[64];
static int retries;
static size_t next_max_payload; /* for the next open_conn(); 0 = default */

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20 || ch >= 0x7f) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

static void print_step(const char *name, const char *result, const char *detail, uint64_t ms) {
  printf("{\"step\": ");
  json_string(stdout, name);
  printf(", \"result\": \"%s\", \"pass\": %s, \"ms\": %llu, \"detail\": ", result,
         strcmp(result, "fail") ? "true" : "false", (unsigned long long)ms);
  json_string(stdout, detail);
  printf("}\n");
  fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static int live_conns(void) {
  int n = 0;
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i].used && !conns[i].closed) n++;
  return n;
}

static void start_next(uv_timer_t *t);

static void maybe_next(void) {
  if (step_ended && live_conns() == 0) {
    uv_timer_stop(&cleanup_timer);
    uv_timer_start(&next_timer, start_next, 0, 0);
  }
}

static void on_cleanup_timeout(uv_timer_t *t) {
  fprintf(stderr, "matrix client (c): connections of step %s still open after 7 s, terminating\n", cur->name);
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i].used && !conns[i].closed && conns[i].ws) uvws_terminate(conns[i].ws);
}

static void end_step(int ok, const char *fmt, ...) {
  if (step_ended) return;
  step_ended = 1;
  char detail[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  print_step(cur->name, ok ? "pass" : "fail", detail, uv_now(loop) - step_started);
  if (ok) passed++;
  else failed++;
  uv_timer_stop(&step_timer);
  uv_timer_stop(&aux_timer);
  for (int i = 0; i < MAX_CONNS; i++) {
    cconn_t *c = &conns[i];
    if (!c->used || c->closed || !c->ws) continue;
    int st = uvws_ready_state(c->ws);
    if (st == UVWS_OPEN) uvws_close(c->ws, UVWS_CLOSE_NORMAL, "step done", 9);
    else if (st == UVWS_CONNECTING) uvws_terminate(c->ws);
  }
  if (live_conns() > 0) uv_timer_start(&cleanup_timer, on_cleanup_timeout, 7000, 0);
  maybe_next();
}

#define PASS(...) end_step(1, __VA_ARGS__)
#define FAIL(...) end_step(0, __VA_ARGS__)

static void on_step_timeout(uv_timer_t *t) {
  char what[512] = "";
  size_t o = 0;
  for (int i = 0; i < MAX_CONNS; i++) {
    cconn_t *c = &conns[i];
    if (!c->used) continue;
    o += (size_t)snprintf(what + o, sizeof(what) - o, "[conn %d: opened=%d closed=%d code=%d msgs=%d%s%s] ",
                          i, c->opened, c->closed, c->close_code, c->nmsgs, c->error[0] ? " error=" : "",
                          c->error);
    if (o >= sizeof(what)) break;
  }
  FAIL("timed out after %u ms %s", cur->timeout_ms, what);
}

static int slot_of(uvws_t *ws) { return (int)(intptr_t)uvws_get_data(ws); }

static void cb_open(uvws_t *ws, const uvws_http_t *http) {
  cconn_t *c = &conns[slot_of(ws)];
  c->opened = 1;
  if (!step_ended && cur->on_open) cur->on_open(c);
}

static void cb_message(uvws_t *ws, const char *data, size_t len, int is_binary) {
  cconn_t *c = &conns[slot_of(ws)];
  c->nmsgs++;
  if (!step_ended && cur->on_message) cur->on_message(c, data, len, is_binary);
}

static void cb_pong(uvws_t *ws, const char *data, size_t len) {
  cconn_t *c = &conns[slot_of(ws)];
  if (!step_ended && cur->on_pong) cur->on_pong(c, data, len);
}

static void cb_response(uvws_t *ws, const uvws_http_t *res) {
  cconn_t *c = &conns[slot_of(ws)];
  c->status = res->status;
  if (!step_ended && cur->on_response) cur->on_response(c, res);
}

static void cb_error(uvws_t *ws, int err, const char *msg) {
  cconn_t *c = &conns[slot_of(ws)];
  snprintf(c->error, sizeof(c->error), "%s (%s)", msg, uvws_strerror(err));
}

static void cb_close(uvws_t *ws, int code, const char *reason, size_t len) {
  cconn_t *c = &conns[slot_of(ws)];
  c->closed = 1;
  c->ws = NULL;
  c->close_code = code;
  if (len >= sizeof(c->close_reason)) len = sizeof(c->close_reason) - 1;
  memcpy(c->close_reason, reason, len);
  c->close_reason[len] = 0;
  if (!step_ended && cur->on_close) cur->on_close(c);
  maybe_next();
}

/* Open connection `slot` to base_url + path, offering `protocols`. */
static cconn_t *open_conn(int slot, const char *path, const char *const *protocols, size_t nprotocols) {
  static const uvws_callbacks_t cb = {
      .on_open = cb_open,
      .on_message = cb_message,
      .on_pong = cb_pong,
      .on_error = cb_error,
      .on_response = cb_response,
      .on_close = cb_close,
  };
  cconn_t *c = &conns[slot];
  memset(c, 0, sizeof(*c));
  c->used = 1;
  char url[512];
  snprintf(url, sizeof(url), "%s%s", base_url, path);
  uvws_client_options_t opts;
  uvws_client_options_init(&opts);
  opts.protocols = protocols;
  opts.num_protocols = nprotocols;
  opts.connect_timeout_ms = 10000;
  opts.limits.max_backpressure = 0;
  if (next_max_payload) opts.limits.max_payload = next_max_payload;
  next_max_payload = 0;
  if (is_wss) opts.tls = &tls;
  int r = uvws_connect(loop, url, &opts, &cb, (void *)(intptr_t)slot, &c->ws);
  if (r < 0) {
    c->closed = 1;
    c->ws = NULL;
    FAIL("uvws_connect(%s): %s %s", url, uvws_strerror(r), uvws_last_error());
  }
  return c;
}

static int send_text(cconn_t *c, const char *s) {
  int r = uvws_send(c->ws, s, strlen(s), UVWS_TEXT);
  if (r < 0) FAIL("send failed: %s", uvws_strerror(r));
  return r;
}

static int is_text(const char *data, size_t len, int is_binary, const char *s) {
  return !is_binary && len == strlen(s) && !memcmp(data, s, len);
}

/* ------------------------------------------------------------------ */
/* Steps                                                               */
/* ------------------------------------------------------------------ */

static const char TEXT_MSG[] = "Hello, matrix! \xc3\xbcnic\xc3\xb6" "de \xe2\x9c\x93";

/* text-echo */
static void text_start(void) { open_conn(0, "/echo", NULL, 0); }
static void text_open(cconn_t *c) { send_text(c, TEXT_MSG); }
static void text_message(cconn_t *c, const char *d, size_t len, int bin) {
  if (is_text(d, len, bin, TEXT_MSG)) PASS("echoed %zu bytes of text", len);
  else FAIL("got %s of %zu bytes, expected the text sent", bin ? "binary" : "text", len);
}

/* binary-echo */
static void binary_open(cconn_t *c) {
  unsigned char b[256];
  for (int i = 0; i < 256; i++) b[i] = (unsigned char)i;
  uvws_send(c->ws, b, sizeof(b), UVWS_BINARY);
}
static void binary_message(cconn_t *c, const char *d, size_t len, int bin) {
  int ok = bin && len == 256;
  for (size_t i = 0; ok && i < 256; i++) ok = (unsigned char)d[i] == i;
  if (ok) PASS("echoed 256 bytes 00..ff as binary");
  else FAIL("got %s of %zu bytes, expected binary 00..ff", bin ? "binary" : "text", len);
}

/* big-binary-echo: 16 MiB */
static void big_open(cconn_t *c) {
  int r = uvws_send(c->ws, big, 16 * MIB, UVWS_BINARY);
  if (r < 0 || r == UVWS_SEND_DROPPED) FAIL("send of 16 MiB: %d", r);
}
static void big_message(cconn_t *c, const char *d, size_t len, int bin) {
  if (bin && len == 16 * MIB && !memcmp(d, big, len)) PASS("echoed 16 MiB, contents identical");
  else FAIL("got %s of %zu bytes (%s)", bin ? "binary" : "text", len,
            len == 16 * MIB ? "contents differ" : "length differs");
}

/* fragmented: three messages sent in fragments, each must come back whole */
#define FRAG_CHUNK (64 * 1024)
static void frag_open(cconn_t *c) {
  uvws_send(c->ws, "frag-", 5, UVWS_TEXT | UVWS_MORE);
  uvws_send(c->ws, "ment-", 5, UVWS_TEXT | UVWS_MORE);
  uvws_send(c->ws, "ed", 2, UVWS_TEXT);
  for (int i = 0; i < 3; i++)
    uvws_send(c->ws, big + i * FRAG_CHUNK, FRAG_CHUNK, UVWS_BINARY | (i < 2 ? UVWS_MORE : 0));
  /* "é" (c3 a9) split across two fragments: valid only as a whole */
  uvws_send(c->ws, "split-\xc3", 7, UVWS_TEXT | UVWS_MORE);
  uvws_send(c->ws, "\xa9-end", 5, UVWS_TEXT);
}
static void frag_message(cconn_t *c, const char *d, size_t len, int bin) {
  switch (c->nmsgs) {
  case 1:
    if (!is_text(d, len, bin, "frag-ment-ed")) FAIL("message 1: expected text \"frag-ment-ed\", got %zu bytes", len);
    break;
  case 2:
    if (!bin || len != 3 * FRAG_CHUNK || memcmp(d, big, len))
      FAIL("message 2: expected 192 KiB binary from 3 fragments, got %s of %zu bytes", bin ? "binary" : "text", len);
    break;
  case 3:
    if (!is_text(d, len, bin, "split-\xc3\xa9-end")) FAIL("message 3: expected text \"split-\\u00e9-end\", got %zu bytes", len);
    else PASS("3 fragmented messages (text 3 frames, binary 3x64 KiB, text split inside a UTF-8 character) each echoed whole");
    break;
  default:
    FAIL("unexpected message %d", c->nmsgs);
  }
}

/* ping-pong */
static const char PING_PAYLOAD[] = "matrix-ping-\x01\x02\x03-payload";
static void ping_open(cconn_t *c) {
  int r = uvws_ping(c->ws, PING_PAYLOAD, sizeof(PING_PAYLOAD) - 1);
  if (r < 0) FAIL("ping: %s", uvws_strerror(r));
}
static void ping_pong(cconn_t *c, const char *d, size_t len) {
  if (len == sizeof(PING_PAYLOAD) - 1 && !memcmp(d, PING_PAYLOAD, len)) PASS("pong carried the %zu-byte payload", len);
  else FAIL("pong payload of %zu bytes differs", len);
}

/* subprotocol / subprotocol-fallback */
static void sub_start(void) {
  static const char *const p[] = {"v1.demo", "v2.demo"};
  open_conn(0, "/echo", p, 2);
}
static void sub_open(cconn_t *c) {
  const char *p = uvws_protocol(c->ws);
  if (!strcmp(p, "v2.demo")) PASS("offered v1.demo, v2.demo; server chose v2.demo");
  else FAIL("server chose \"%s\", expected v2.demo", p);
}
static void subfb_start(void) {
  static const char *const p[] = {"v1.demo"};
  open_conn(0, "/echo", p, 1);
}
static void subfb_open(cconn_t *c) {
  const char *p = uvws_protocol(c->ws);
  if (!strcmp(p, "v1.demo")) PASS("offered v1.demo only; server chose v1.demo");
  else FAIL("server chose \"%s\", expected v1.demo", p);
}
static void sub_close(cconn_t *c) { FAIL("closed before open: %d %s", c->close_code, c->error); }

/* close-normal: the client closes (1000 + reason) and the server reports
 * what it received; then the server closes (1000 + reason). */
static char report_msg[128];
static void close_start(void) {
  char path[128];
  snprintf(path, sizeof(path), "/echo?id=%s", ident);
  retries = 0;
  open_conn(0, path, NULL, 0);
}
static void close_send_report(uv_timer_t *t) {
  if (conns[1].ws) send_text(&conns[1], report_msg);
}
static void close_open(cconn_t *c) {
  if (c == &conns[0]) {
    uvws_close(c->ws, UVWS_CLOSE_NORMAL, "bye-from-client", 15);
  } else {
    snprintf(report_msg, sizeof(report_msg), "report %s", ident);
    send_text(c, report_msg);
  }
}
static void close_message(cconn_t *c, const char *d, size_t len, int bin) {
  if (c != &conns[1] || bin) {
    FAIL("unexpected message");
    return;
  }
  if (len == 7 && !memcmp(d, "pending", 7)) {
    if (++retries > 200) FAIL("server still reports the connection open after 200 queries");
    else uv_timer_start(&aux_timer, close_send_report, 20, 0);
    return;
  }
  const char *want = "1000 bye-from-client";
  if (len != strlen(want) || memcmp(d, want, len)) {
    FAIL("server saw the client's close as \"%.*s\", expected \"%s\"", (int)(len > 200 ? 200 : len), d, want);
    return;
  }
  send_text(c, "close-1000");
}
static void close_close(cconn_t *c) {
  if (c == &conns[0]) {
    if (c->close_code != 1000) FAIL("client-initiated close: client saw %d, expected 1000", c->close_code);
    else open_conn(1, "/close", NULL, 0);
    return;
  }
  if (c->close_code == 1000 && !strcmp(c->close_reason, "bye-from-server"))
    PASS("client close 1000 \"bye-from-client\": client saw %d, server saw 1000 \"bye-from-client\" (%d queries); "
         "server close: client saw 1000 \"bye-from-server\"",
         conns[0].close_code, retries + 1);
  else
    FAIL("server-initiated close: client saw %d \"%s\", expected 1000 \"bye-from-server\"", c->close_code,
         c->close_reason);
}

/* too-big: 1 MiB is echoed, 2 MiB closes with 1009 */
static int too_big_echoed;
static void too_big_start(void) {
  too_big_echoed = 0;
  open_conn(0, "/too-big", NULL, 0);
}
static void too_big_open(cconn_t *c) { uvws_send(c->ws, big, MIB, UVWS_BINARY); }
static void too_big_message(cconn_t *c, const char *d, size_t len, int bin) {
  if (c->nmsgs == 1 && bin && len == MIB) {
    too_big_echoed = 1;
    uvws_send(c->ws, two_mib, 2 * MIB, UVWS_BINARY);
  } else {
    FAIL("unexpected message %d of %zu bytes", c->nmsgs, len);
  }
}
static void too_big_close(cconn_t *c) {
  if (too_big_echoed && c->close_code == 1009) PASS("1 MiB echoed; 2 MiB closed with 1009 \"%s\"", c->close_reason);
  else FAIL("1 MiB echoed: %d; close code %d \"%s\", expected 1009 %s", too_big_echoed, c->close_code,
            c->close_reason, c->error);
}

/* too-big-client: the client's own max payload (1 MiB, the engine's
 * check): the server echoes 2 MiB, the client closes with 1009, and the
 * server reports that it saw 1009. */
static void tbc_start(void) {
  char path[128];
  snprintf(path, sizeof(path), "/echo?id=%s", ident);
  retries = 0;
  next_max_payload = MIB;
  open_conn(0, path, NULL, 0);
}
static void tbc_open(cconn_t *c) {
  if (c == &conns[0]) {
    uvws_send(c->ws, two_mib, 2 * MIB, UVWS_BINARY);
  } else {
    snprintf(report_msg, sizeof(report_msg), "report %s", ident);
    send_text(c, report_msg);
  }
}
static void tbc_message(cconn_t *c, const char *d, size_t len, int bin) {
  if (c != &conns[1] || bin) {
    FAIL("unexpected %s message of %zu bytes on connection %d", bin ? "binary" : "text", len, (int)(c - conns));
    return;
  }
  if (len == 7 && !memcmp(d, "pending", 7)) {
    if (++retries > 200) FAIL("server still reports the connection open after 200 queries");
    else uv_timer_start(&aux_timer, close_send_report, 20, 0);
    return;
  }
  if (len >= 5 && !memcmp(d, "1009 ", 5) )
    PASS("client refused the 2 MiB echo: its error \"%s\", its close code %d; server saw \"%.*s\"",
         conns[0].error, conns[0].close_code, (int)(len > 200 ? 200 : len), d);
  else
    FAIL("server saw the close as \"%.*s\", expected 1009; client: error \"%s\", close code %d",
         (int)(len > 200 ? 200 : len), d, conns[0].error, conns[0].close_code);
}
static void tbc_close(cconn_t *c) {
  if (c == &conns[0]) open_conn(1, "/close", NULL, 0);
  else FAIL("report connection closed: %d %s", c->close_code, c->error);
}

/* protocol-error: the server closes with 1002 on request (see README) */
static void perr_start(void) { open_conn(0, "/protocol-error", NULL, 0); }
static void perr_open(cconn_t *c) { send_text(c, "close-1002"); }
static void perr_close(cconn_t *c) {
  if (c->close_code == 1002) PASS("server closed with 1002 \"%s\"", c->close_reason);
  else FAIL("close code %d \"%s\", expected 1002 %s", c->close_code, c->close_reason, c->error);
}
static void unexpected_message(cconn_t *c, const char *d, size_t len, int bin) {
  FAIL("unexpected %s message of %zu bytes", bin ? "binary" : "text", len);
}

/* invalid-utf8: a text message that is not UTF-8; the server's engine must
 * close with 1007 */
static void utf8_open(cconn_t *c) { uvws_send(c->ws, "bad \xff\xfe text", 11, UVWS_TEXT); }
static void utf8_close(cconn_t *c) {
  if (c->close_code == 1007) PASS("server closed with 1007 \"%s\"", c->close_reason);
  else FAIL("close code %d \"%s\", expected 1007 %s", c->close_code, c->close_reason, c->error);
}

/* protocol-error-raw: a real protocol error, a frame with RSV1 set (no
 * extension negotiated) written to the TCP socket under the engine; ws://
 * only (under wss:// the socket carries TLS records). */
static const char *raw_skip(void) { return is_wss ? "raw frames need ws:// (the socket carries TLS)" : NULL; }
static void raw_open(cconn_t *c) {
  /* FIN|RSV1|text, masked, length 1, mask 0, payload "x" */
  static const char frame[] = {(char)0xC1, (char)0x81, 0, 0, 0, 0, 'x'};
  uv_buf_t b = uv_buf_init((char *)frame, sizeof(frame));
  int r = uv_try_write(uvws_stream(c->ws), &b, 1);
  if (r != (int)sizeof(frame)) FAIL("uv_try_write: %d", r);
}
static void raw_close(cconn_t *c) {
  if (c->close_code == 1002) PASS("server's engine closed with 1002 \"%s\"", c->close_reason);
  else FAIL("close code %d \"%s\", expected 1002 %s", c->close_code, c->close_reason, c->error);
}

/* reject-401: also the header the server's hook added */
static char www_auth[128];
static void reject_start(void) {
  www_auth[0] = 0;
  open_conn(0, "/reject", NULL, 0);
}
static void reject_response(cconn_t *c, const uvws_http_t *res) {
  size_t len;
  const char *v = uvws_http_header(res, "www-authenticate", &len);
  if (v) snprintf(www_auth, sizeof(www_auth), "%.*s", (int)len, v);
}
static void reject_open(cconn_t *c) { FAIL("the upgrade to /reject was accepted"); }
static void reject_close(cconn_t *c) {
  if (c->status == 401 && !c->opened && strstr(c->error, "401") && !strcmp(www_auth, "Bearer realm=\"matrix\""))
    PASS("on_response status %d (WWW-Authenticate: %s), on_error \"%s\", on_close %d", c->status, www_auth,
         c->error, c->close_code);
  else FAIL("status %d, error \"%s\", WWW-Authenticate \"%s\"; expected 401 in both and Bearer realm=\"matrix\"",
            c->status, c->error, www_auth);
}

/* going-away: an idle connection and the one that asks for the shutdown
 * both get 1001 */
static void away_start(void) { open_conn(0, "/echo", NULL, 0); }
static void away_open(cconn_t *c) {
  if (c == &conns[0]) open_conn(1, "/shutdown", NULL, 0);
  else send_text(c, "shutdown");
}
static void away_close(cconn_t *c) {
  if (!conns[0].closed || !conns[1].used || !conns[1].closed) return;
  if (conns[0].close_code == 1001 && conns[1].close_code == 1001)
    PASS("idle connection: 1001 \"%s\"; requesting connection: 1001 \"%s\"", conns[0].close_reason,
         conns[1].close_reason);
  else FAIL("idle connection: %d, requesting connection: %d, expected 1001 for both", conns[0].close_code,
            conns[1].close_code);
}

static void echo_start(void) { open_conn(0, "/echo", NULL, 0); }
static void unexpected_close(cconn_t *c) {
  FAIL("closed: %d \"%s\" %s", c->close_code, c->close_reason, c->error);
}

static const step_t steps[] = {
    {"text-echo", 10000, NULL, text_start, text_open, text_message, NULL, NULL, unexpected_close, NULL},
    {"binary-echo", 10000, NULL, echo_start, binary_open, binary_message, NULL, NULL, unexpected_close, NULL},
    {"big-binary-echo", 60000, NULL, echo_start, big_open, big_message, NULL, NULL, unexpected_close, NULL},
    {"fragmented", 10000, NULL, echo_start, frag_open, frag_message, NULL, NULL, unexpected_close, NULL},
    {"ping-pong", 10000, NULL, echo_start, ping_open, unexpected_message, ping_pong, NULL, unexpected_close, NULL},
    {"subprotocol", 10000, NULL, sub_start, sub_open, unexpected_message, NULL, NULL, sub_close, NULL},
    {"subprotocol-fallback", 10000, NULL, subfb_start, subfb_open, unexpected_message, NULL, NULL, sub_close, NULL},
    {"close-normal", 15000, NULL, close_start, close_open, close_message, NULL, NULL, close_close, NULL},
    {"too-big", 20000, NULL, too_big_start, too_big_open, too_big_message, NULL, NULL, too_big_close, NULL},
    {"too-big-client", 15000, NULL, tbc_start, tbc_open, tbc_message, NULL, NULL, tbc_close, NULL},
    {"protocol-error", 10000, NULL, perr_start, perr_open, unexpected_message, NULL, NULL, perr_close, NULL},
    {"invalid-utf8", 10000, NULL, echo_start, utf8_open, unexpected_message, NULL, NULL, utf8_close, NULL},
    {"protocol-error-raw", 10000, raw_skip, echo_start, raw_open, unexpected_message, NULL, NULL, raw_close, NULL},
    {"reject-401", 10000, NULL, reject_start, reject_open, unexpected_message, NULL, reject_response, reject_close, NULL},
    {"going-away", 15000, NULL, away_start, away_open, unexpected_message, NULL, NULL, away_close, NULL},
};
static const size_t num_steps = sizeof(steps) / sizeof(steps[0]);

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

static int selected(const char *name) {
  if (!only) return 1;
  size_t n = strlen(name);
  for (const char *p = only; *p;) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && !memcmp(p, name, n)) return 1;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

static void finish(void) {
  printf("{\"summary\": {\"client\": \"c\", \"passed\": %d, \"failed\": %d, \"skipped\": %d}}\n", passed, failed,
         skipped);
  fflush(stdout);
  uv_close((uv_handle_t *)&step_timer, NULL);
  uv_close((uv_handle_t *)&cleanup_timer, NULL);
  uv_close((uv_handle_t *)&next_timer, NULL);
  uv_close((uv_handle_t *)&aux_timer, NULL);
  uv_close((uv_handle_t *)&watchdog, NULL);
}

static void start_next(uv_timer_t *t) {
  for (;;) {
    if (cur) cur_index++;
    if (cur_index >= num_steps) {
      finish();
      return;
    }
    cur = &steps[cur_index];
    if (!selected(cur->name)) continue;
    const char *why = cur->skip ? cur->skip() : NULL;
    if (why) {
      print_step(cur->name, "skip", why, 0);
      skipped++;
      continue;
    }
    break;
  }
  memset(conns, 0, sizeof(conns));
  step_ended = 0;
  step_started = uv_now(loop);
  snprintf(ident, sizeof(ident), "c-%d-%zu-%llu", (int)uv_os_getpid(), cur_index,
           (unsigned long long)uv_hrtime() % 1000000);
  uv_timer_start(&step_timer, on_step_timeout, cur->timeout_ms, 0);
  cur->start();
}

static void on_watchdog(uv_timer_t *t) {
  fprintf(stderr, "matrix client (c): overall timeout\n");
  printf("{\"summary\": {\"client\": \"c\", \"passed\": %d, \"failed\": %d, \"skipped\": %d, \"error\": \"overall timeout\"}}\n",
         passed, failed + 1, skipped);
  fflush(stdout);
  exit(1);
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
    if (i + 1 >= argc) break;
    if (!strcmp(argv[i], "--ca")) tls.ca_file = argv[i + 1];
    else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
    else break;
  }
  if (i != argc - 1) {
    fprintf(stderr, "usage: matrix_client [--ca FILE] [--only step,...] ws[s]://HOST:PORT\n");
    return 2;
  }
  base_url = argv[i];
  is_wss = !strncmp(base_url, "wss://", 6);
  big = malloc(16 * MIB);
  two_mib = malloc(2 * MIB);
  if (!big || !two_mib) return 1;
  uint32_t x = 2463534242u;
  for (size_t k = 0; k < 16 * MIB; k++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    big[k] = (char)x;
  }
  memset(two_mib, 'z', 2 * MIB);
  loop = uv_default_loop();
  uv_timer_init(loop, &step_timer);
  uv_timer_init(loop, &cleanup_timer);
  uv_timer_init(loop, &next_timer);
  uv_timer_init(loop, &aux_timer);
  uv_timer_init(loop, &watchdog);
  uv_timer_start(&watchdog, on_watchdog, 170000, 0);
  uv_unref((uv_handle_t *)&watchdog);
  uv_timer_start(&next_timer, start_next, 0, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  free(big);
  free(two_mib);
  return failed ? 1 : 0;
}

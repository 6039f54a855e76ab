/* Interop matrix server (C engine). The same behaviour as server.py and
 * server.js; see tests/matrix/README.md.
 *
 *   matrix_server [--host 127.0.0.1] [--port 0] [--tls-cert F --tls-key F]
 *
 * Prints "listening on <port>" once it accepts connections. Paths:
 *   /echo            echo (text as text, binary as binary)
 *   /too-big         echo up to 1 MiB; a larger message closes with 1009
 *   /protocol-error  the text "close-1002" closes with 1002, else echo
 *   /close           "close-1000" closes with 1000 "bye-from-server";
 *                    "report <id>" answers how the connection opened with
 *                    ?id=<id> was closed ("pending" if it is still open)
 *   /shutdown        "shutdown" closes every connection with 1001 and exits
 *   /reject          refused by the upgrade hook with HTTP 401
 * Subprotocols: "v2.demo" when offered, else the first one offered.
 * SIGTERM / SIGINT: as "shutdown". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uvws.h>

#define MIB (1024 * 1024)
#define MAX_RECORDS 256

typedef struct conn {
  char path[64];
  char id[64];
} conn_t;

typedef struct record {
  char id[64];
  int code;
  char reason[128];
} record_t;

static uvws_server_t *server;
static uv_signal_t sigint_h, sigterm_h;
static uv_timer_t exit_timer;
static int shutting_down;
static record_t records[MAX_RECORDS];
static size_t num_records;

static int path_is(const conn_t *c, const char *p) { return c && strcmp(c->path, p) == 0; }

static int msg_is(const char *data, size_t len, const char *s) {
  return len == strlen(s) && memcmp(data, s, len) == 0;
}

/* JSON string body with the characters that need it escaped. */
static void json_escape(char *out, size_t cap, const char *s, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len && o + 7 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\') {
      out[o++] = '\\';
      out[o++] = (char)ch;
    } else if (ch < 0x20) {
      o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
    } else {
      out[o++] = (char)ch;
    }
  }
  out[o] = 0;
}

static void on_exit_timer(uv_timer_t *t) {
  fprintf(stderr, "matrix server (c): connections still open after the shutdown grace period\n");
  exit(1);
}

static void on_server_closed(uvws_server_t *s) {
  (void)s;
  uv_close((uv_handle_t *)&sigint_h, NULL);
  uv_close((uv_handle_t *)&sigterm_h, NULL);
  uv_close((uv_handle_t *)&exit_timer, NULL);
}

static void shutdown_server(uv_loop_t *loop) {
  if (shutting_down) return;
  shutting_down = 1;
  fprintf(stderr, "matrix server (c): shutting down (%zu connections)\n",
          uvws_server_connections(server));
  uv_signal_stop(&sigint_h);
  uv_signal_stop(&sigterm_h);
  uv_timer_start(&exit_timer, on_exit_timer, 10000, 0);
  if (uvws_server_close(server, on_server_closed) < 0) uv_stop(loop);
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  shutdown_server(h->loop);
}

static void choose_protocol(uvws_upgrade_t *up, char *out, size_t cap) {
  uvws_header_t offered[16];
  size_t n = uvws_upgrade_protocols(up, offered, 16);
  if (n > 16) n = 16;
  out[0] = 0;
  for (size_t i = 0; i < n; i++) {
    if (offered[i].value_len == 7 && !memcmp(offered[i].value, "v2.demo", 7)) {
      snprintf(out, cap, "v2.demo");
      return;
    }
  }
  if (n > 0 && offered[0].value_len < cap) {
    memcpy(out, offered[0].value, offered[0].value_len);
    out[offered[0].value_len] = 0;
  }
}

static void on_upgrade(uvws_server_t *s, uvws_upgrade_t *up, const uvws_http_t *req) {
  (void)s;
  if (req->path_len == 7 && !memcmp(req->path, "/reject", 7)) {
    uvws_header_t h = {"WWW-Authenticate", 16, "Bearer realm=\"matrix\"", 21};
    uvws_upgrade_reject(up, 401, &h, 1, "unauthorized\n", 13);
    return;
  }
  conn_t *c = calloc(1, sizeof(*c));
  if (!c) {
    uvws_upgrade_reject(up, 500, NULL, 0, NULL, 0);
    return;
  }
  size_t pl = req->path_len < sizeof(c->path) - 1 ? req->path_len : sizeof(c->path) - 1;
  memcpy(c->path, req->path, pl);
  /* ?id=<id> (the whole query must be that one parameter) */
  if (req->query && req->query_len > 3 && !memcmp(req->query, "id=", 3)) {
    size_t il = req->query_len - 3;
    if (il > sizeof(c->id) - 1) il = sizeof(c->id) - 1;
    memcpy(c->id, req->query + 3, il);
  }
  char proto[128];
  choose_protocol(up, proto, sizeof(proto));
  int r = uvws_upgrade_accept(up, proto[0] ? proto : NULL, NULL, 0, c);
  if (r < 0) {
    fprintf(stderr, "matrix server (c): accept failed: %s\n", uvws_strerror(r));
    uvws_upgrade_reject(up, 500, NULL, 0, NULL, 0);
    free(c);
  }
}

static void report(uvws_t *ws, const char *id, size_t id_len) {
  char reply[256];
  for (size_t i = 0; i < num_records; i++) {
    record_t *rec = &records[i];
    if (strlen(rec->id) == id_len && !memcmp(rec->id, id, id_len)) {
      int n = snprintf(reply, sizeof(reply), "%d %s", rec->code, rec->reason);
      uvws_send(ws, reply, (size_t)n, UVWS_TEXT);
      return;
    }
  }
  uvws_send(ws, "pending", 7, UVWS_TEXT);
}

static void on_message(uvws_t *ws, const char *data, size_t len, int is_binary) {
  conn_t *c = uvws_get_data(ws);
  int flags = is_binary ? UVWS_BINARY : UVWS_TEXT;
  if (path_is(c, "/too-big") && len > MIB) {
    uvws_close(ws, UVWS_CLOSE_TOO_BIG, "message too big", 15);
    return;
  }
  if (!is_binary && path_is(c, "/protocol-error") && msg_is(data, len, "close-1002")) {
    uvws_close(ws, UVWS_CLOSE_PROTOCOL_ERROR, "protocol error requested", 24);
    return;
  }
  if (!is_binary && path_is(c, "/close")) {
    if (msg_is(data, len, "close-1000")) {
      uvws_close(ws, UVWS_CLOSE_NORMAL, "bye-from-server", 15);
      return;
    }
    if (len > 7 && !memcmp(data, "report ", 7)) {
      report(ws, data + 7, len - 7);
      return;
    }
  }
  if (!is_binary && path_is(c, "/shutdown") && msg_is(data, len, "shutdown")) {
    shutdown_server(uv_handle_get_loop((uv_handle_t *)uvws_stream(ws)));
    return;
  }
  int r = uvws_send(ws, data, len, flags);
  if (r < 0 || r == UVWS_SEND_DROPPED)
    fprintf(stderr, "matrix server (c): echo of %zu bytes failed: %d\n", len, r);
}

static void on_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  fprintf(stderr, "matrix server (c): connection error: %s (%s)\n", msg, uvws_strerror(err));
}

static void on_close(uvws_t *ws, int code, const char *reason, size_t len) {
  conn_t *c = uvws_get_data(ws);
  char esc[300];
  json_escape(esc, sizeof(esc), reason, len);
  fprintf(stderr, "{\"event\": \"close\", \"path\": \"%s\", \"id\": \"%s\", \"code\": %d, \"reason\": \"%s\"}\n",
          c ? c->path : "", c ? c->id : "", code, esc);
  if (c && c->id[0] && num_records < MAX_RECORDS) {
    record_t *rec = &records[num_records++];
    snprintf(rec->id, sizeof(rec->id), "%s", c->id);
    rec->code = code;
    size_t rl = len < sizeof(rec->reason) - 1 ? len : sizeof(rec->reason) - 1;
    memcpy(rec->reason, reason, rl);
    rec->reason[rl] = 0;
  }
  free(c);
}

static void usage(void) {
  fprintf(stderr, "usage: matrix_server [--host ADDR] [--port N] [--tls-cert FILE --tls-key FILE]\n");
  exit(2);
}

int main(int argc, char **argv) {
  uvws_server_options_t opts;
  uvws_server_options_init(&opts);
  uvws_tls_options_t tls = {0};
  opts.host = "127.0.0.1";
  opts.port = 0;
  opts.limits.max_payload = 64 * MIB; /* the 16 MiB echo; /too-big is checked per message */
  opts.limits.max_backpressure = 0;   /* an echo server never drops */
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage();
    if (!strcmp(argv[i], "--host")) opts.host = argv[++i];
    else if (!strcmp(argv[i], "--port")) opts.port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--tls-cert")) tls.cert_file = argv[++i];
    else if (!strcmp(argv[i], "--tls-key")) tls.key_file = argv[++i];
    else usage();
  }
  if (tls.cert_file || tls.key_file) opts.tls = &tls;

  uvws_callbacks_t cb = {0};
  cb.on_message = on_message;
  cb.on_error = on_error;
  cb.on_close = on_close;
  uv_loop_t *loop = uv_default_loop();
  int r = uvws_server_start(loop, &opts, &cb, on_upgrade, NULL, &server);
  if (r < 0) {
    fprintf(stderr, "matrix server (c): cannot listen on %s:%d: %s %s\n", opts.host, opts.port,
            uvws_strerror(r), uvws_last_error());
    return 1;
  }
  printf("listening on %d\n", uvws_server_port(server));
  fflush(stdout);
  uv_timer_init(loop, &exit_timer);
  uv_unref((uv_handle_t *)&exit_timer);
  uv_signal_init(loop, &sigint_h);
  uv_signal_init(loop, &sigterm_h);
  uv_signal_start(&sigint_h, on_signal, SIGINT);
  uv_signal_start(&sigterm_h, on_signal, SIGTERM);
  uv_unref((uv_handle_t *)&sigint_h);
  uv_unref((uv_handle_t *)&sigterm_h);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return 0;
}

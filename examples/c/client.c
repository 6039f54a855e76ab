/* Client: connects to a WebSocket URL, sends each argument (or, without
 * arguments, each line of stdin) as a text message, prints every message that
 * comes back, then closes with 1000.
 *
 *   client ws://127.0.0.1:9001/ hello world
 *   echo hi | client ws://[::1]:9001/chat
 *
 * Options before the URL: --header "Name: value", --subprotocol NAME,
 * --timeout MS (wait for replies after the last send; default 2000),
 * --ca FILE (trust this CA for wss://), --deflate (offer permessage-deflate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uvws.h>

static int expected, received, status = 1;
static char **messages;
static int num_messages;
static unsigned timeout_ms = 2000;
static uv_timer_t timer;

static void finish(uvws_t *ws) {
  uv_timer_stop(&timer);
  uvws_close(ws, UVWS_CLOSE_NORMAL, "bye", 3);
}

static void on_timeout(uv_timer_t *t) {
  fprintf(stderr, "client: timed out waiting for replies (%d of %d)\n", received, expected);
  finish(t->data);
}

static void on_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  const char *proto = uvws_protocol(ws);
  if (*proto) fprintf(stderr, "client: connected, subprotocol %s\n", proto);
  if (uvws_compressed(ws)) fprintf(stderr, "client: compression: %s\n", uvws_extensions(ws));
  for (int i = 0; i < num_messages; i++) uvws_send(ws, messages[i], strlen(messages[i]), UVWS_TEXT);
  expected = num_messages;
  timer.data = ws;
  if (expected == 0) finish(ws);
  else uv_timer_start(&timer, on_timeout, timeout_ms, 0);
}

static void on_message(uvws_t *ws, const char *data, size_t len, int is_binary) {
  if (is_binary) printf("<binary %zu bytes>\n", len);
  else printf("%.*s\n", (int)len, data);
  fflush(stdout);
  if (++received == expected) finish(ws);
}

static void on_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  fprintf(stderr, "client: error: %s (%s)\n", msg, uvws_strerror(err));
}

static void on_close(uvws_t *ws, int code, const char *reason, size_t len) {
  (void)ws;
  fprintf(stderr, "client: closed %d %.*s\n", code, (int)len, reason);
  status = (code == UVWS_CLOSE_NORMAL && received == expected) ? 0 : 1;
  uv_close((uv_handle_t *)&timer, NULL);
}

int main(int argc, char **argv) {
  uvws_client_options_t opts;
  uvws_client_options_init(&opts);
  uvws_tls_options_t tls = {0};
  uvws_header_t headers[16];
  const char *protocols[16];
  int i = 1;
  uvws_deflate_options_t deflate = {0};
  deflate.threshold = 1;
  for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
    if (!strcmp(argv[i], "--deflate")) {
      opts.deflate = &deflate;
      i--; /* no value */
      continue;
    }
    if (i + 1 >= argc) break;
    if (!strcmp(argv[i], "--header") && opts.num_headers < 16) {
      char *colon = strchr(argv[i + 1], ':');
      if (!colon) continue;
      uvws_header_t *h = &headers[opts.num_headers++];
      h->name = argv[i + 1];
      h->name_len = (size_t)(colon - argv[i + 1]);
      h->value = colon + 1 + strspn(colon + 1, " ");
      h->value_len = strlen(h->value);
    } else if (!strcmp(argv[i], "--subprotocol") && opts.num_protocols < 16) {
      protocols[opts.num_protocols++] = argv[i + 1];
    } else if (!strcmp(argv[i], "--ca")) {
      tls.ca_file = argv[i + 1];
      opts.tls = &tls;
    } else if (!strcmp(argv[i], "--timeout")) {
      timeout_ms = (unsigned)atoi(argv[i + 1]);
    }
  }
  opts.headers = headers;
  opts.protocols = protocols;
  if (i >= argc) {
    fprintf(stderr, "usage: client [--header H] [--subprotocol P] [--timeout MS] [--ca FILE] [--deflate] URL [message...]\n");
    return 2;
  }
  const char *url = argv[i++];
  if (i < argc) {
    messages = argv + i;
    num_messages = argc - i;
  } else {
    char line[65536];
    static char *lines[4096];
    while (num_messages < 4096 && fgets(line, sizeof(line), stdin)) {
      line[strcspn(line, "\r\n")] = 0;
      lines[num_messages++] = strdup(line);
    }
    messages = lines;
  }
  uv_loop_t *loop = uv_default_loop();
  uv_timer_init(loop, &timer);
  uvws_callbacks_t cb = {0};
  cb.on_open = on_open;
  cb.on_message = on_message;
  cb.on_error = on_error;
  cb.on_close = on_close;
  uvws_t *ws;
  int r = uvws_connect(loop, url, &opts, &cb, NULL, &ws);
  if (r < 0) {
    fprintf(stderr, "client: %s: %s\n", url, uvws_strerror(r));
    return 2;
  }
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  if (messages != argv + i) for (int k = 0; k < num_messages; k++) free(messages[k]);
  return status;
}

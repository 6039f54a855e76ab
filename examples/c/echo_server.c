/* Echo server: sends every message back as it came (text as text, binary as
 * binary). Ctrl-C or SIGTERM closes every connection with 1001 and exits.
 *
 *   echo_server [--host 0.0.0.0] [--port 9001] [--max-payload BYTES] [--max-fragments N]
 *               [--tls-cert cert.pem --tls-key key.pem]   (wss://)
 *               [--deflate] [--deflate-no-takeover]      (permessage-deflate)
 *               [--stats]     (print the server's counters when it stops)
 *
 * Prints "listening on <port>" once it accepts connections (port 0 picks a
 * free one). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uvws.h>

static uvws_server_t *server;
static uv_signal_t sigint, sigterm;
static int print_stats;

/* Every counter as "name value", from the one list in uvws.h. */
static void dump_stats(uvws_server_t *s) {
  uvws_stats_t st;
  if (uvws_server_stats(s, &st) < 0) return;
#define PRINT_STAT(name, desc) printf("stat %s %llu\n", #name, (unsigned long long)st.name);
  UVWS_STATS_MAP(PRINT_STAT)
#undef PRINT_STAT
  fflush(stdout);
}

static void on_message(uvws_t *ws, const char *data, size_t len, int is_binary) {
  uvws_send(ws, data, len, is_binary ? UVWS_BINARY : UVWS_TEXT);
}

static void on_closed(uvws_server_t *s) {
  (void)s;
  uv_close((uv_handle_t *)&sigint, NULL);
  uv_close((uv_handle_t *)&sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  uv_signal_stop(&sigint);
  uv_signal_stop(&sigterm);
  if (print_stats) dump_stats(server);
  if (uvws_server_close(server, on_closed) < 0) uv_stop(h->loop);
}

static void usage(void) {
  fprintf(stderr, "usage: echo_server [--host ADDR] [--port N] [--max-payload BYTES] [--max-fragments N] "
                  "[--tls-cert FILE --tls-key FILE] [--deflate] [--deflate-no-takeover] [--stats]\n");
  exit(2);
}

int main(int argc, char **argv) {
  uvws_server_options_t opts;
  uvws_server_options_init(&opts);
  uvws_tls_options_t tls = {0};
  uvws_deflate_options_t deflate = {0};
  deflate.threshold = 1; /* compress everything, as an echo peer should */
  opts.port = 9001;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--stats")) {
      print_stats = 1;
      continue;
    }
    if (!strcmp(argv[i], "--deflate")) {
      opts.deflate = &deflate;
      continue;
    }
    if (!strcmp(argv[i], "--deflate-no-takeover")) {
      /* Both directions reset per message: no zlib state per connection. */
      deflate.server_no_context_takeover = deflate.client_no_context_takeover = 1;
      opts.deflate = &deflate;
      continue;
    }
    if (i + 1 >= argc) usage();
    if (!strcmp(argv[i], "--host")) opts.host = argv[++i];
    else if (!strcmp(argv[i], "--port")) opts.port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--max-payload")) opts.limits.max_payload = strtoull(argv[++i], NULL, 10);
    /* 0 = no limit: conformance case 9.3.1 sends 65,536 fragments. */
    else if (!strcmp(argv[i], "--max-fragments")) opts.limits.max_fragments = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--tls-cert")) tls.cert_file = argv[++i];
    else if (!strcmp(argv[i], "--tls-key")) tls.key_file = argv[++i];
    else usage();
  }
  if (tls.cert_file || tls.key_file) opts.tls = &tls;
  uvws_callbacks_t cb = {0};
  cb.on_message = on_message;

  uv_loop_t *loop = uv_default_loop();
  int r = uvws_server_start(loop, &opts, &cb, NULL, NULL, &server);
  if (r < 0) {
    fprintf(stderr, "echo_server: cannot listen on %s:%d: %s %s\n", opts.host, opts.port,
            uvws_strerror(r), uvws_last_error());
    return 1;
  }
  printf("listening on %d\n", uvws_server_port(server));
  fflush(stdout);
  uv_signal_init(loop, &sigint);
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_unref((uv_handle_t *)&sigint);
  uv_unref((uv_handle_t *)&sigterm);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return 0;
}

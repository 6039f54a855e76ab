/* uvws_fanout_server: the uvws C side of bench/fanout.sh. A connection whose
 * URL has "role=sub" is subscribed to the topic "t" and told "ok"; every
 * message from any other connection is published to "t" (framed once,
 * shared by the subscribers; see docs/topics.md).
 *
 * --send-loop: no topics; the application keeps its subscribers in a list
 * and calls uvws_send() for each (what a uvws user had to do before topics,
 * as ws's clients.forEach loop): the baseline the fan-out path is measured
 * against.
 *
 *   uvws_fanout_server [--port 0] [--host 127.0.0.1] [--send-loop]
 *
 * Prints "listening on <port>". SIGTERM/SIGINT close everything. */
#define _GNU_SOURCE /* memmem */
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uvws.h>

static uvws_server_t *server;
static uv_signal_t sigint, sigterm;
static int send_loop;
static uvws_t **subs; /* --send-loop: the subscribers */
static size_t nsubs, capsubs;

static void on_open(uvws_t *ws, const uvws_http_t *req) {
  int sub = req->query && req->query_len >= 8 && memmem(req->query, req->query_len, "role=sub", 8);
  if (!sub) return;
  if (send_loop) {
    if (nsubs == capsubs) {
      capsubs = capsubs ? capsubs * 2 : 1024;
      subs = realloc(subs, capsubs * sizeof(*subs));
      if (!subs) abort();
    }
    uvws_set_data(ws, (void *)(uintptr_t)(nsubs + 1));
    subs[nsubs++] = ws;
  } else {
    uvws_subscribe(ws, "t", 1);
  }
  uvws_send(ws, "ok", 2, UVWS_TEXT);
}

static void on_close(uvws_t *ws, int code, const char *reason, size_t len) {
  size_t i = (size_t)(uintptr_t)uvws_get_data(ws);
  if (!send_loop || !i) return;
  subs[i - 1] = subs[--nsubs];
  if (i - 1 < nsubs) uvws_set_data(subs[i - 1], (void *)(uintptr_t)i);
}

static void on_message(uvws_t *ws, const char *data, size_t len, int is_binary) {
  int type = is_binary ? UVWS_BINARY : UVWS_TEXT;
  if (!send_loop) {
    uvws_server_publish(server, "t", 1, data, len, type);
    return;
  }
  for (size_t i = 0; i < nsubs; i++) uvws_send(subs[i], data, len, type);
}

static void on_closed(uvws_server_t *s) {
  uv_close((uv_handle_t *)&sigint, NULL);
  uv_close((uv_handle_t *)&sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
  uv_signal_stop(&sigint);
  uv_signal_stop(&sigterm);
  if (uvws_server_close(server, on_closed) < 0) uv_stop(h->loop);
}

int main(int argc, char **argv) {
  uvws_server_options_t opts;
  uvws_server_options_init(&opts);
  opts.host = "127.0.0.1";
  opts.port = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--send-loop")) send_loop = 1;
    else if (!strcmp(argv[i], "--port") && i + 1 < argc) opts.port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--host") && i + 1 < argc) opts.host = argv[++i];
    else {
      fprintf(stderr, "usage: uvws_fanout_server [--port N] [--host ADDR] [--send-loop]\n");
      return 2;
    }
  }
  uvws_callbacks_t cb = {0};
  cb.on_open = on_open;
  cb.on_message = on_message;
  cb.on_close = on_close;
  uv_loop_t *loop = uv_default_loop();
  int r = uvws_server_start(loop, &opts, &cb, NULL, NULL, &server);
  if (r < 0) {
    fprintf(stderr, "uvws_fanout_server: %s\n", uvws_strerror(r));
    return 1;
  }
  printf("listening on %d\n", uvws_server_port(server));
  fflush(stdout);
  uv_signal_init(loop, &sigint);
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return 0;
}

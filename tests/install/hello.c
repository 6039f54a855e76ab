/* Built against the installed library (pkg-config and find_package): a
 * server and a client on one loop exchange one message. Exits 0 on success. */
#include <stdio.h>
#include <string.h>
#include <uvws.h>

static uvws_server_t *server;
static int ok;

static void on_server_message(uvws_t *ws, const char *data, size_t len, int bin) {
  uvws_send(ws, data, len, bin ? UVWS_BINARY : UVWS_TEXT);
}

static void on_client_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  uvws_send(ws, "hello", 5, UVWS_TEXT);
}

static void on_client_message(uvws_t *ws, const char *data, size_t len, int bin) {
  ok = !bin && len == 5 && memcmp(data, "hello", 5) == 0;
  uvws_close(ws, UVWS_CLOSE_NORMAL, NULL, 0);
}

static void on_client_close(uvws_t *ws, int code, const char *reason, size_t len) {
  (void)ws, (void)reason, (void)len;
  printf("closed with %d, echo %s\n", code, ok ? "ok" : "missing");
  uvws_server_close(server, NULL);
}

int main(void) {
  uv_loop_t *loop = uv_default_loop();
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.host = "127.0.0.1";
  so.port = 0;
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_message = on_server_message;
  ccb.on_open = on_client_open;
  ccb.on_message = on_client_message;
  ccb.on_close = on_client_close;
  if (uvws_server_start(loop, &so, &scb, NULL, NULL, &server) < 0) return 1;
  char url[64];
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", uvws_server_port(server));
  uvws_t *ws;
  if (uvws_connect(loop, url, NULL, &ccb, NULL, &ws) < 0) return 1;
  uv_run(loop, UV_RUN_DEFAULT);
  printf("uvws %s\n", uvws_version());
  return (ok && uv_loop_close(loop) == 0) ? 0 : 1;
}

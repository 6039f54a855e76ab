/* The standard Autobahn|Testsuite client loop on the uvws client: ask the
 * fuzzing server for its case count, run every case echoing each message
 * back, then ask it to write its report.
 *
 *   autobahn_client ws://127.0.0.1:9001 uvws
 *   autobahn_client wss://localhost:9001 uvws ca.pem     (trust this CA)
 *   UVWS_DEFLATE=1 autobahn_client ...                    (offer permessage-deflate)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uvws.h>

static const char *base, *agent, *ca_file;
static int case_count = -1, current;
static uv_loop_t *loop;
static uvws_callbacks_t cb;

static void open_url(const char *fmt, int n) {
  char url[512];
  snprintf(url, sizeof(url), fmt, base, n, agent);
  uvws_client_options_t opts;
  uvws_client_options_init(&opts);
  opts.limits.max_payload = 64 * 1024 * 1024;
  /* Conformance case 9.3.1 sends 65,536 fragments; the default is 16,384
   * (as ws; its own conformance client sets maxFragments: 0 likewise). */
  opts.limits.max_fragments = 0;
  opts.connect_timeout_ms = 10000;
  uvws_tls_options_t tls = {0};
  static uvws_deflate_options_t deflate;
  deflate.threshold = 1;
  if (getenv("UVWS_DEFLATE") && *getenv("UVWS_DEFLATE") == '1') opts.deflate = &deflate;
  if (ca_file) {
    tls.ca_file = ca_file;
    opts.tls = &tls;
  }
  uvws_t *ws;
  int r = uvws_connect(loop, url, &opts, &cb, NULL, &ws);
  if (r < 0) {
    fprintf(stderr, "autobahn_client: %s: %s\n", url, uvws_strerror(r));
    exit(1);
  }
}

static void on_message(uvws_t *ws, const char *data, size_t len, int is_binary) {
  if (case_count < 0) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31), data);
    case_count = atoi(buf);
    return;
  }
  uvws_send(ws, data, len, is_binary ? UVWS_BINARY : UVWS_TEXT);
}

static void on_close(uvws_t *ws, int code, const char *reason, size_t len) {
  (void)ws;
  (void)code;
  (void)reason;
  (void)len;
  if (current > case_count) return; /* the report request closed */
  current++;
  if (current <= case_count) {
    open_url("%s/runCase?case=%d&agent=%s", current);
  } else {
    open_url("%s/updateReports?x=%d&agent=%s", 0);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: autobahn_client BASE_URL AGENT [CA_FILE]\n");
    return 2;
  }
  base = argv[1];
  agent = argv[2];
  ca_file = argc > 3 ? argv[3] : NULL;
  loop = uv_default_loop();
  cb.on_message = on_message;
  cb.on_close = on_close;
  open_url("%s/getCaseCount?x=%d&agent=%s", 0);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  if (case_count < 0) {
    fprintf(stderr, "autobahn_client: no case count received\n");
    return 1;
  }
  printf("ran %d cases\n", case_count);
  return 0;
}

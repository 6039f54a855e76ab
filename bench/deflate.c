/* Compression benchmark client: N connections offer permessage-deflate and
 * send a 2 KiB JSON document back and forth with an echo server for D
 * seconds (one message in flight per connection), checking every echo. It
 * reports messages/s and, from /proc/PID/io and /proc/PID/stat of the server,
 * the bytes the server read and wrote per message (what went over the wire)
 * and its CPU time per message.
 *
 *   uvws_deflate_bench --url ws://127.0.0.1:PORT/ --server-pid PID [-c 10]
 *                      [-d 5] [--no-takeover] [--plain]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uvws.h>

static uv_loop_t *loop;
static size_t msg_len;
typedef struct {
  char msg[4096];
  size_t len;
  unsigned seq;
} conn_t;
static int conns = 10, seconds = 5, pid, measuring, done, errors, open_count;
static uint64_t count, t_start;
static long long cpu0, io0;
static uv_timer_t timer;
static uvws_t **all;

static void sample(long long *cpu, long long *io) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  *cpu = *io = 0;
  if (f && fgets(buf, sizeof(buf), f)) {
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
      *cpu = (long long)(ut + st) * (1000000LL / sysconf(_SC_CLK_TCK));
  }
  if (f) fclose(f);
  snprintf(path, sizeof(path), "/proc/%d/io", pid);
  f = fopen(path, "r");
  while (f && fgets(buf, sizeof(buf), f)) {
    if (!strncmp(buf, "rchar:", 6) || !strncmp(buf, "wchar:", 6)) *io += atoll(buf + 6);
  }
  if (f) fclose(f);
}

/* A 2 KiB JSON document, like an API response: repetitive keys, values that
 * change from message to message (so that context takeover cannot simply
 * point back at the previous message). Deterministic per (connection, seq). */
static void make_msg(conn_t *c, unsigned salt) {
  char *m = c->msg;
  size_t n = (size_t)snprintf(m, sizeof(c->msg), "{\"type\":\"orders\",\"page\":%u,\"items\":[", c->seq);
  unsigned x = c->seq * 2654435761u + salt;
  for (int i = 0; n < 1950; i++) {
    x = x * 1103515245u + 12345u;
    n += (size_t)snprintf(m + n, sizeof(c->msg) - n,
                          "%s{\"id\":%u,\"sku\":\"SKU-%05u\",\"qty\":%u,\"price\":%u.%02u,\"status\":\"%s\"}",
                          i ? "," : "", (x >> 8) % 100000, (x >> 4) % 100000, 1 + x % 5,
                          3 + (x >> 12) % 90, (x >> 16) % 100, (x >> 20) % 3 ? "shipped" : "pending");
  }
  n += (size_t)snprintf(m + n, sizeof(c->msg) - n, "]}");
  c->len = n;
  msg_len = n;
}

static void send_next(uvws_t *ws) {
  conn_t *c = uvws_get_data(ws);
  c->seq++;
  make_msg(c, (unsigned)(uintptr_t)c);
  uvws_send(ws, c->msg, c->len, UVWS_TEXT);
}

static void on_open(uvws_t *ws, const uvws_http_t *r) {
  (void)r;
  open_count++;
  send_next(ws);
}

static void on_message(uvws_t *ws, const char *d, size_t n, int bin) {
  conn_t *c = uvws_get_data(ws);
  if (bin || n != c->len || memcmp(d, c->msg, n)) errors++;
  if (measuring) count++;
  if (!done) send_next(ws);
}

static void on_error(uvws_t *ws, int err, const char *m) {
  (void)ws;
  fprintf(stderr, "deflate_bench: %s (%s)\n", m, uvws_strerror(err));
  errors++;
}

static void on_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)r, (void)n;
  if (code != 1000) errors++;
  if (--open_count == 0) uv_close((uv_handle_t *)&timer, NULL);
}

static void on_timer(uv_timer_t *t) {
  (void)t;
  uint64_t now = uv_now(loop);
  if (!measuring && now - t_start >= 1000) { /* 1 s warm-up */
    measuring = 1;
    t_start = now;
    sample(&cpu0, &io0);
  } else if (measuring && now - t_start >= (uint64_t)seconds * 1000) {
    long long cpu1, io1;
    sample(&cpu1, &io1);
    double secs = (now - t_start) / 1000.0;
    printf("{\"msgs_per_s\": %.0f, \"wire_bytes_per_msg\": %.1f, \"cpu_us_per_msg\": %.2f, "
           "\"message_bytes\": %zu, \"messages\": %llu, \"errors\": %d}\n",
           count / secs, count ? (double)(io1 - io0) / count / 2 : 0,
           count ? (double)(cpu1 - cpu0) / count : 0, msg_len, (unsigned long long)count, errors);
    fflush(stdout);
    done = 1;
    measuring = 0;
    for (int i = 0; i < conns; i++) uvws_close(all[i], 1000, NULL, 0);
  }
}

int main(int argc, char **argv) {
  const char *url = NULL;
  uvws_deflate_options_t d = {0};
  int plain = 0;
  d.threshold = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--url") && i + 1 < argc) url = argv[++i];
    else if (!strcmp(argv[i], "--server-pid") && i + 1 < argc) pid = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-c") && i + 1 < argc) conns = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-d") && i + 1 < argc) seconds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--no-takeover")) d.client_no_context_takeover = d.server_no_context_takeover = 1;
    else if (!strcmp(argv[i], "--plain")) plain = 1;
  }
  if (!url || !pid || seconds < 1 || seconds > 600 || conns < 1 || conns > 10000) {
    fprintf(stderr, "usage: uvws_deflate_bench --url URL --server-pid PID [-c N] [-d S] [--no-takeover] [--plain]\n");
    return 2;
  }
  loop = uv_default_loop();
  uvws_client_options_t o;
  uvws_client_options_init(&o);
  if (!plain) o.deflate = &d;
  uvws_callbacks_t cb = {0};
  cb.on_open = on_open;
  cb.on_message = on_message;
  cb.on_error = on_error;
  cb.on_close = on_close;
  all = calloc((size_t)conns, sizeof(*all));
  conn_t *state = calloc((size_t)conns, sizeof(*state));
  for (int i = 0; i < conns; i++)
    if (uvws_connect(loop, url, &o, &cb, &state[i], &all[i]) < 0) return 1;
  uv_timer_init(loop, &timer);
  t_start = uv_now(loop);
  uv_timer_start(&timer, on_timer, 50, 50);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  free(all);
  free(state);
  return errors ? 1 : 0;
}

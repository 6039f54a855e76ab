/* Many concurrent connections: opens N WebSocket connections (ws:// or
 * wss://) with the uvws client, exchanges a message on every one of them,
 * measures the server's resident memory while they sit idle, exchanges again,
 * then closes them all. Bounded in time; exit code 0 only without errors.
 *
 *   uvws_conns --url ws://127.0.0.1:PORT/ -n 10000 --server-pid PID [--ca FILE]
 *              [--deflate | --deflate-no-takeover]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uvws.h>

static uv_loop_t *loop;
static const char *url, *ca;
static int n_total = 1000, max_pending = 256, server_pid;
static int started, open_now, opened, errors, closed, phase, replies;
static uvws_t **conns;
static uvws_client_options_t opts;
static uvws_tls_options_t tls;
static uvws_deflate_options_t deflate;
static uvws_callbacks_t cb;
static uv_timer_t timer;
static uint64_t t_phase;
static long rss_before, rss_idle;

static long rss_kib(int pid) {
  char path[64], line[256];
  long kb = -1;
  snprintf(path, sizeof(path), "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  while (fgets(line, sizeof(line), f))
    if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
  fclose(f);
  return kb;
}

static void start_more(void);

static void exchange_all(void) {
  replies = 0;
  for (int i = 0; i < n_total; i++)
    if (conns[i] && uvws_send(conns[i], "0123456789abcdef0123456789abcdef", 32, UVWS_TEXT) < 0)
      errors++;
}

static void on_open(uvws_t *ws, const uvws_http_t *res) {
  (void)ws, (void)res;
  open_now++;
  opened++;
  if (opened == n_total) {
    printf("connected     %d in %.2f s\n", n_total, (uv_now(loop) - t_phase) / 1000.0);
    phase = 1;
    t_phase = uv_now(loop);
    exchange_all();
  } else {
    start_more();
  }
}

static void on_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)ws, (void)d, (void)bin;
  if (n != 32) errors++;
  if (++replies < n_total) return;
  if (phase == 1) {
    printf("exchange 1    %d echoes in %.3f s\n", replies, (uv_now(loop) - t_phase) / 1000.0);
    phase = 2; /* idle: the timer measures */
    t_phase = uv_now(loop);
  } else if (phase == 3) {
    printf("exchange 2    %d echoes in %.3f s\n", replies, (uv_now(loop) - t_phase) / 1000.0);
    phase = 4;
    for (int i = 0; i < n_total; i++)
      if (conns[i]) uvws_close(conns[i], 1000, NULL, 0);
  }
}

static void on_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  if (errors++ < 5) fprintf(stderr, "uvws_conns: error: %s (%s)\n", msg, uvws_strerror(err));
}

static void on_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)r, (void)n;
  int i = (int)(intptr_t)uvws_get_data(ws);
  conns[i] = NULL;
  closed++;
  if (code != 1000 && phase < 4) errors++;
  if (phase < 1) start_more(); /* a failed connect frees a slot */
  if (closed == n_total) {
    uv_timer_stop(&timer);
    uv_close((uv_handle_t *)&timer, NULL);
  }
}

static void start_more(void) {
  while (started < n_total && started - opened - (closed - 0) < max_pending) {
    int i = started++;
    if (uvws_connect(loop, url, &opts, &cb, (void *)(intptr_t)i, &conns[i]) < 0) {
      errors++;
      closed++;
    }
  }
}

static void on_timer(uv_timer_t *t) {
  (void)t;
  uint64_t now = uv_now(loop);
  if (phase == 2 && now - t_phase >= 1500) {
    rss_idle = rss_kib(server_pid);
    long delta = rss_idle - rss_before;
    printf("server rss    %ld KiB before, %ld KiB with %d idle connections: %.3f KiB per connection\n",
           rss_before, rss_idle, n_total, (double)delta / n_total);
    printf("client rss    %ld KiB\n", rss_kib(getpid()));
    phase = 3;
    t_phase = now;
    exchange_all();
  }
  if (now > 120000 + t_phase && phase != 2) {
    fprintf(stderr, "uvws_conns: timed out in phase %d\n", phase);
    errors++;
    for (int i = 0; i < n_total; i++)
      if (conns[i]) uvws_terminate(conns[i]);
    phase = 4;
  }
}

int main(int argc, char **argv) {
  uvws_client_options_init(&opts);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--deflate") || !strcmp(argv[i], "--deflate-no-takeover")) {
      deflate.threshold = 1;
      if (argv[i][9]) deflate.client_no_context_takeover = deflate.server_no_context_takeover = 1;
      opts.deflate = &deflate;
      continue;
    }
    if (i + 1 >= argc) break;
    if (!strcmp(argv[i], "--url")) url = argv[++i];
    else if (!strcmp(argv[i], "-n")) n_total = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--server-pid")) server_pid = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--ca")) ca = argv[++i];
    else if (!strcmp(argv[i], "--pending")) max_pending = atoi(argv[++i]);
  }
  if (!url || !server_pid || n_total <= 0) {
    fprintf(stderr, "usage: uvws_conns --url URL -n N --server-pid PID [--ca FILE] [--pending N]\n");
    return 2;
  }
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  loop = uv_default_loop();
  conns = calloc((size_t)n_total, sizeof(*conns));
  opts.connect_timeout_ms = 60000;
  if (ca) {
    tls.ca_file = ca;
    opts.tls = &tls;
  }
  cb.on_open = on_open;
  cb.on_message = on_message;
  cb.on_error = on_error;
  cb.on_close = on_close;
  rss_before = rss_kib(server_pid);
  t_phase = uv_now(loop);
  uv_timer_init(loop, &timer);
  uv_timer_start(&timer, on_timer, 100, 100);
  start_more();
  uv_run(loop, UV_RUN_DEFAULT);
  printf("closed        %d, errors %d\n", closed, errors);
  free(conns);
  uv_loop_close(loop);
  return errors ? 1 : 0;
}

/* The demo's "client" service (uvws C API): produces the load.
 *
 * 1. Probe: connects offering only the subprotocol "jobs.v0" and expects the
 *    gateway to refuse the upgrade (HTTP 400): a wrong subprotocol must not
 *    get through.
 * 2. Load: connects offering "jobs.v1" (--protocol: another one, to see it
 *    fail) and checks that the gateway chose it, then sends --jobs JSON requests {"id": N, "op": ..., "args": [...]}
 *    at --rate per second, with a quiet pause of --quiet-ms after the first
 *    half (only heartbeats flow then: the engine pings the gateway after
 *    --ping-ms without traffic). Every reply is checked against the expected
 *    result.
 * 3. Waits up to --drain-ms for the last replies, closes with 1000, prints a
 *    summary and exits 0 only if every request got the right answer.
 *
 *   demo_client --ca ca.pem [--protocol jobs.v1] [--jobs 600] [--rate 40] [--quiet-ms 3000]
 *               [--ping-ms 1000] [--drain-ms 25000] [--trace-every 100]
 *               wss://localhost:PORT/jobs
 */
#define _GNU_SOURCE /* memmem */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uvws.h>

#define PROTOCOL "jobs.v1"

static const char *url, *ca_file, *protocol = PROTOCOL;
static int num_jobs = 600, rate = 40, trace_every = 100;
static unsigned quiet_ms = 3000, ping_ms = 1000, drain_ms = 25000;

static uv_loop_t *loop;
static uv_timer_t send_timer, drain_timer;
static uvws_t *conn;
static int sent, received, correct, wrong, errors, duplicates, pongs;
static int64_t *expected; /* per id */
static char *answered;    /* per id */
static int failed;        /* fatal: connection lost, wrong subprotocol, ... */
static int probe_ok;
static int closing;
static uint64_t t_start;

/* One write per line: the services share the terminal. */
static void logf_(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line + 9, sizeof(line) - 10, fmt, ap);
  va_end(ap);
  memcpy(line, "[client] ", 9);
  n = n < 0 ? 9 : 9 + (n < (int)sizeof(line) - 10 ? n : (int)sizeof(line) - 11);
  line[n++] = '\n';
  fwrite(line, 1, (size_t)n, stdout);
  fflush(stdout);
}

static int traced(int id) { return id <= 3 || id % trace_every == 0; }

static uvws_tls_options_t tls_opts(void) {
  uvws_tls_options_t tls = {0};
  tls.ca_file = ca_file; /* the demo's test CA; the host name is checked too */
  return tls;
}

/* ------------------------------------------------------------ 2. load */

static const char *const ops[] = {"sum", "prod", "max", "min"};

static void make_job(int id, char *buf, size_t cap) {
  /* 2-4 small arguments, deterministic per id. */
  int n = 2 + id % 3;
  int64_t a[4] = {0};
  for (int i = 0; i < n; i++) a[i] = (int64_t)((id * 7919 + i * 104729) % 97) - 30;
  const char *op = ops[id % 4];
  int64_t r = a[0];
  for (int i = 1; i < n; i++) {
    switch (id % 4) {
      case 0: r += a[i]; break;
      case 1: r *= a[i]; break;
      case 2: r = a[i] > r ? a[i] : r; break;
      default: r = a[i] < r ? a[i] : r; break;
    }
  }
  expected[id] = r;
  int len = snprintf(buf, cap, "{\"id\":%d,\"op\":\"%s\",\"args\":[", id, op);
  for (int i = 0; i < n; i++) len += snprintf(buf + len, cap - (size_t)len, "%s%" PRId64, i ? "," : "", a[i]);
  snprintf(buf + len, cap - (size_t)len, "]}");
}

static void finish(const char *why) {
  if (closing) return;
  closing = 1;
  uv_timer_stop(&send_timer);
  uv_timer_stop(&drain_timer);
  logf_("%s: closing (1000)", why);
  if (conn) uvws_close(conn, UVWS_CLOSE_NORMAL, "done", 4);
}

static void on_drain_timeout(uv_timer_t *t) {
  (void)t;
  logf_("gave up waiting: %d of %d replies after %u ms", received, sent, drain_ms);
  failed = 1;
  finish("drain timeout");
}

static void send_next(uv_timer_t *t);

static void resume_sending(uv_timer_t *t) {
  logf_("quiet period over: sending again");
  uv_timer_start(t, send_next, 0, 1000 / (unsigned)rate);
}

static void send_next(uv_timer_t *t) {
  if (sent >= num_jobs) {
    uv_timer_stop(t);
    return;
  }
  char buf[256];
  int id = ++sent;
  make_job(id, buf, sizeof(buf));
  if (traced(id)) logf_("-> req %d %s", id, buf);
  int r = uvws_send(conn, buf, strlen(buf), UVWS_TEXT);
  if (r < 0 || r == UVWS_SEND_DROPPED) {
    logf_("send of req %d failed: %s", id, r < 0 ? uvws_strerror(r) : "dropped");
    failed = 1;
    finish("send failure");
    return;
  }
  if (sent == num_jobs) {
    uv_timer_stop(t);
    logf_("all %d requests sent; waiting for the last replies (up to %u ms)", sent, drain_ms);
    uv_timer_start(&drain_timer, on_drain_timeout, drain_ms, 0);
  } else if (sent == num_jobs / 2 && quiet_ms) {
    uv_timer_stop(t);
    logf_("%d requests sent: quiet for %u ms (only heartbeats flow)", sent, quiet_ms);
    uv_timer_start(t, resume_sending, quiet_ms, 0);
  }
}

static void on_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  const char *proto = uvws_protocol(ws);
  if (strcmp(proto, PROTOCOL) != 0) {
    logf_("the gateway chose subprotocol \"%s\", not " PROTOCOL, proto);
    failed = 1;
    finish("wrong subprotocol");
    return;
  }
  logf_("connected to %s, subprotocol %s; sending %d requests at %d/s (engine ping after %u ms idle)", url,
        proto, num_jobs, rate, ping_ms);
  uv_timer_start(&send_timer, send_next, 0, 1000 / (unsigned)rate);
}

/* Finds "key": and parses the integer after it; 0 if absent. */
static int json_int(const char *data, size_t len, const char *key, int64_t *out) {
  char pat[32];
  snprintf(pat, sizeof(pat), "\"%s\":", key);
  size_t plen = strlen(pat);
  for (size_t i = 0; i + plen <= len; i++) {
    if (memcmp(data + i, pat, plen) == 0) {
      char num[32];
      size_t j = i + plen, k = 0;
      while (j < len && data[j] == ' ') j++;
      while (j < len && k < sizeof(num) - 1 && (data[j] == '-' || (data[j] >= '0' && data[j] <= '9'))) num[k++] = data[j++];
      num[k] = 0;
      if (!k) return 0;
      *out = strtoll(num, NULL, 10);
      return 1;
    }
  }
  return 0;
}

static void on_message(uvws_t *ws, const char *data, size_t len, int is_binary) {
  (void)ws;
  int64_t id, result;
  if (is_binary || !json_int(data, len, "id", &id) || id < 1 || id > sent) {
    logf_("<- unexpected message: %.*s", (int)(len > 80 ? 80 : len), data);
    errors++;
    return;
  }
  if (answered[id]) {
    duplicates++;
    logf_("<- req %d answered twice: %.*s", (int)id, (int)len, data);
    return;
  }
  answered[id] = 1;
  received++;
  if (!memmem(data, len, "\"ok\":true", 9) || !json_int(data, len, "result", &result)) {
    errors++;
    logf_("<- req %d failed: %.*s", (int)id, (int)len, data);
  } else if (result != expected[id]) {
    wrong++;
    logf_("<- req %d WRONG result %" PRId64 ", expected %" PRId64, (int)id, result, expected[id]);
  } else {
    correct++;
    if (traced((int)id)) logf_("<- req %d result %" PRId64 " (correct)", (int)id, result);
  }
  if (received == num_jobs) finish("all replies in");
}

static void on_pong(uvws_t *ws, const char *data, size_t len) {
  (void)ws, (void)data, (void)len;
  pongs++;
  if (pongs <= 2 || pongs % 5 == 0) logf_("heartbeat: pong %d from the gateway (our engine pinged after %u ms idle)", pongs, ping_ms);
}

static void on_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  logf_("error: %s (%s)", msg, uvws_strerror(err));
}

static void on_close(uvws_t *ws, int code, const char *reason, size_t len) {
  (void)ws;
  conn = NULL;
  if (!closing || code != UVWS_CLOSE_NORMAL) {
    logf_("connection to the gateway lost: %d %.*s", code, (int)len, reason);
    failed = 1;
  } else {
    logf_("closed: %d%s%.*s", code, len ? " " : "", (int)len, reason);
  }
  closing = 1;
  uv_close((uv_handle_t *)&send_timer, NULL);
  uv_close((uv_handle_t *)&drain_timer, NULL);
}

static int start_load(void) {
  uvws_client_options_t opts;
  uvws_client_options_init(&opts);
  uvws_tls_options_t tls = tls_opts();
  const char *protocols[] = {protocol};
  opts.protocols = protocols;
  opts.num_protocols = 1;
  opts.tls = &tls;
  opts.connect_timeout_ms = 5000;
  opts.limits.ping_interval_ms = ping_ms;
  opts.limits.pong_timeout_ms = 3000;
  uvws_callbacks_t cb = {0};
  cb.on_open = on_open;
  cb.on_message = on_message;
  cb.on_pong = on_pong;
  cb.on_error = on_error;
  cb.on_close = on_close;
  int r = uvws_connect(loop, url, &opts, &cb, NULL, &conn);
  if (r < 0) {
    logf_("cannot connect to %s: %s %s", url, uvws_strerror(r), uvws_last_error());
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------ 1. probe */

static int probe_status;

static void probe_response(uvws_t *ws, const uvws_http_t *res) {
  (void)ws;
  probe_status = res->status;
}

static void probe_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  logf_("probe: the gateway ACCEPTED subprotocol \"%s\" (it must refuse it)", uvws_protocol(ws));
  uvws_close(ws, UVWS_CLOSE_NORMAL, NULL, 0);
  probe_ok = 0;
}

static void probe_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  if (err == UVWS_ESTATUS && probe_status == 400) {
    logf_("probe: refused with HTTP %d as expected (%s)", probe_status, uvws_strerror(err));
    probe_ok = 1;
  } else {
    logf_("probe: failed for another reason: %s (%s)", msg, uvws_strerror(err));
  }
}

static void probe_close(uvws_t *ws, int code, const char *reason, size_t len) {
  (void)ws, (void)reason, (void)len, (void)code;
  if (!probe_ok) {
    failed = 1;
    return;
  }
  if (start_load() < 0) failed = 1;
}

static int start_probe(void) {
  uvws_client_options_t opts;
  uvws_client_options_init(&opts);
  uvws_tls_options_t tls = tls_opts();
  static const char *protocols[] = {"jobs.v0"};
  opts.protocols = protocols;
  opts.num_protocols = 1;
  opts.tls = &tls;
  opts.connect_timeout_ms = 5000;
  uvws_callbacks_t cb = {0};
  cb.on_open = probe_open;
  cb.on_response = probe_response;
  cb.on_error = probe_error;
  cb.on_close = probe_close;
  logf_("probe: connecting to %s offering only subprotocol \"jobs.v0\" (must be refused)", url);
  uvws_t *ws;
  int r = uvws_connect(loop, url, &opts, &cb, NULL, &ws);
  if (r < 0) {
    logf_("cannot connect to %s: %s %s", url, uvws_strerror(r), uvws_last_error());
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------ main */

static void usage(void) {
  fprintf(stderr, "usage: demo_client --ca FILE [--protocol P] [--jobs N] [--rate N] [--quiet-ms N] [--ping-ms N] "
                  "[--drain-ms N] [--trace-every N] wss://HOST:PORT/jobs\n");
  exit(2);
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
    if (i + 1 >= argc) usage();
    const char *v = argv[i + 1];
    if (!strcmp(argv[i], "--ca")) ca_file = v;
    else if (!strcmp(argv[i], "--protocol")) protocol = v;
    else if (!strcmp(argv[i], "--jobs")) num_jobs = atoi(v);
    else if (!strcmp(argv[i], "--rate")) rate = atoi(v);
    else if (!strcmp(argv[i], "--quiet-ms")) quiet_ms = (unsigned)atoi(v);
    else if (!strcmp(argv[i], "--ping-ms")) ping_ms = (unsigned)atoi(v);
    else if (!strcmp(argv[i], "--drain-ms")) drain_ms = (unsigned)atoi(v);
    else if (!strcmp(argv[i], "--trace-every")) trace_every = atoi(v);
    else usage();
  }
  if (i != argc - 1 || !ca_file || num_jobs < 1 || rate < 1 || rate > 1000 || trace_every < 1) usage();
  url = argv[i];
  expected = calloc((size_t)num_jobs + 1, sizeof(*expected));
  answered = calloc((size_t)num_jobs + 1, 1);
  loop = uv_default_loop();
  t_start = uv_hrtime();
  uv_timer_init(loop, &send_timer);
  uv_timer_init(loop, &drain_timer);
  if (start_probe() < 0) return 1;
  uv_run(loop, UV_RUN_DEFAULT);
  if (!uv_is_closing((uv_handle_t *)&send_timer)) { /* the load never started */
    uv_close((uv_handle_t *)&send_timer, NULL);
    uv_close((uv_handle_t *)&drain_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(loop);
  int ok = !failed && probe_ok && correct == num_jobs && !wrong && !errors && !duplicates;
  logf_("summary: sent %d requests, received %d replies (%d correct, %d wrong, %d errors, %d duplicates), "
        "missing %d, %d heartbeat pongs, %.1f s: %s",
        sent, received, correct, wrong, errors, duplicates, num_jobs - received, pongs,
        (double)(uv_hrtime() - t_start) / 1e9, ok ? "OK" : "FAILED");
  free(expected);
  free(answered);
  return ok ? 0 : 1;
}

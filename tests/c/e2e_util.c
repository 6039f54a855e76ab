#include "e2e_util.h"

#include <stdlib.h>

int e2e_failures, e2e_passes;

static void on_watchdog(uv_timer_t *t) {
  int *timed_out = t->data;
  *timed_out = 1;
  uv_stop(t->loop);
}

int e2e_run(uv_loop_t *loop, unsigned ms) {
  uv_timer_t wd;
  int timed_out = 0;
  uv_timer_init(loop, &wd);
  wd.data = &timed_out;
  uv_timer_start(&wd, on_watchdog, ms, 0);
  uv_unref((uv_handle_t *)&wd);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&wd, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  if (timed_out) {
    e2e_failures++;
    fprintf(stderr, "FAILED: the loop did not finish within %u ms\n", ms);
    return -1;
  }
  return 0;
}

static void on_wait_tick(uv_timer_t *t) { (void)t; }

int e2e_wait(uv_loop_t *loop, const int *flag, unsigned ms) {
  uv_timer_t t;
  uint64_t deadline = uv_now(loop) + ms;
  uv_timer_init(loop, &t);
  /* A periodic timer so that UV_RUN_ONCE never blocks for long. */
  uv_timer_start(&t, on_wait_tick, 10, 10);
  while (!*flag && uv_now(loop) < deadline) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  if (!*flag) {
    e2e_failures++;
    fprintf(stderr, "FAILED: condition not reached within %u ms\n", ms);
    return -1;
  }
  return 0;
}

static void on_spin(uv_timer_t *t) { uv_stop(t->loop); }

void e2e_spin(uv_loop_t *loop, unsigned ms) {
  uv_timer_t t;
  uv_timer_init(loop, &t);
  uv_timer_start(&t, on_spin, ms, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

uvws_server_t *e2e_server(uv_loop_t *loop, const char *host,
                          uvws_server_options_t *opts,
                          const uvws_callbacks_t *cb, uvws_upgrade_cb up,
                          void *data) {
  uvws_server_options_t local;
  if (!opts) {
    uvws_server_options_init(&local);
    opts = &local;
  }
  opts->host = host;
  opts->port = 0;
  uvws_server_t *s = NULL;
  int r = uvws_server_start(loop, opts, cb, up, data, &s);
  if (r < 0) {
    fprintf(stderr, "cannot start a server on %s: %s\n", host, uvws_strerror(r));
    exit(1);
  }
  return s;
}

void e2e_url(char *out, size_t cap, const char *host, int port, const char *path) {
  if (strchr(host, ':')) snprintf(out, cap, "ws://[%s]:%d%s", host, port, path);
  else snprintf(out, cap, "ws://%s:%d%s", host, port, path);
}

static void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char b[65536];
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(b, sizeof(b));
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  e2e_raw_t *r = s->data;
  if (n < 0) {
    r->eof = 1;
    uv_read_stop(s);
    if (r->on_eof) r->on_eof(r);
    return;
  }
  if (r->in_len + (size_t)n > r->in_cap) {
    r->in_cap = (r->in_len + (size_t)n) * 2;
    r->in = realloc(r->in, r->in_cap);
  }
  memcpy(r->in + r->in_len, buf->base, (size_t)n);
  r->in_len += (size_t)n;
  if (r->on_data) r->on_data(r);
}

void e2e_raw_start_reading(e2e_raw_t *r) {
  uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
}

static void raw_connected(uv_connect_t *req, int status) {
  e2e_raw_t *r = req->data;
  if (status < 0) {
    fprintf(stderr, "raw connect failed: %s\n", uv_strerror(status));
    e2e_failures++;
    e2e_raw_close(r);
    return;
  }
  if (r->send_len) e2e_raw_write(r, r->send, r->send_len);
  if (!r->no_read) e2e_raw_start_reading(r);
  if (r->on_connect) r->on_connect(r);
}

void e2e_raw_connect(uv_loop_t *loop, e2e_raw_t *r, const char *ip, int port) {
  struct sockaddr_storage ss;
  if (strchr(ip, ':')) uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss);
  else uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss);
  uv_tcp_init(loop, &r->tcp);
  r->tcp.data = r;
  r->connect.data = r;
  uv_tcp_connect(&r->connect, &r->tcp, (struct sockaddr *)&ss, raw_connected);
}

typedef struct {
  uv_write_t req;
  char data[];
} raw_write_t;

static void raw_written(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

void e2e_raw_write(e2e_raw_t *r, const void *data, size_t len) {
  if (r->closed) return;
  raw_write_t *w = malloc(sizeof(*w) + len);
  memcpy(w->data, data, len);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
  if (uv_write(&w->req, (uv_stream_t *)&r->tcp, &b, 1, raw_written) < 0) free(w);
}

static void raw_closed(uv_handle_t *h) {
  e2e_raw_t *r = h->data;
  free(r->in);
  r->in = NULL;
}

void e2e_raw_close(e2e_raw_t *r) {
  if (r->closed) return;
  r->closed = 1;
  uv_close((uv_handle_t *)&r->tcp, raw_closed);
}

size_t e2e_raw_head_end(const e2e_raw_t *r) {
  for (size_t i = 0; i + 3 < r->in_len; i++)
    if (!memcmp(r->in + i, "\r\n\r\n", 4)) return i + 4;
  return 0;
}

int e2e_raw_status(const e2e_raw_t *r) {
  if (r->in_len < 12 || memcmp(r->in, "HTTP/1.1 ", 9)) return 0;
  return atoi((const char *)r->in + 9);
}

size_t e2e_request(char *out, size_t cap, const char *path, const char *extra) {
  return (size_t)snprintf(out, cap,
                          "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n%s\r\n",
                          path, extra ? extra : "");
}

size_t e2e_frame(uint8_t *out, int fin, int opcode, int mask,
                 const void *payload, uint64_t len) {
  static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  size_t n = 0;
  out[n++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
  uint8_t m = mask ? 0x80 : 0;
  if (len < 126) {
    out[n++] = m | (uint8_t)len;
  } else if (len <= 0xffff) {
    out[n++] = m | 126;
    out[n++] = (uint8_t)(len >> 8);
    out[n++] = (uint8_t)len;
  } else {
    out[n++] = m | 127;
    for (int i = 7; i >= 0; i--) out[n++] = (uint8_t)(len >> (8 * i));
  }
  if (mask) {
    memcpy(out + n, key, 4);
    n += 4;
  }
  if (payload) {
    for (uint64_t i = 0; i < len; i++)
      out[n + i] = ((const uint8_t *)payload)[i] ^ (mask ? key[i & 3] : 0);
    n += (size_t)len;
  }
  return n;
}

size_t e2e_parse_frame(const uint8_t *buf, size_t n, int *opcode,
                       const uint8_t **payload, uint64_t *len) {
  if (n < 2) return 0;
  size_t h = 2;
  uint64_t l = buf[1] & 0x7f;
  if (l == 126) {
    if (n < 4) return 0;
    l = ((uint64_t)buf[2] << 8) | buf[3];
    h = 4;
  } else if (l == 127) {
    if (n < 10) return 0;
    l = 0;
    for (int i = 0; i < 8; i++) l = (l << 8) | buf[2 + i];
    h = 10;
  }
  if (n < h + l) return 0;
  *opcode = buf[0] & 0x0f;
  *payload = buf + h;
  *len = l;
  return h + (size_t)l;
}

int e2e_report(const char *name) {
  printf("%s: %d passed, %d failed\n", name, e2e_passes, e2e_failures);
  return e2e_failures ? 1 : 0;
}

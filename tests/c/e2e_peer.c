#include "e2e_peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "uvws_handshake.h"

static void peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char b[65536];
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(b, sizeof(b));
}

static void peer_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  e2e_pconn_t *c = st->data;
  if (n == 0) return;
  if (n < 0) {
    c->eof = 1;
    if (!c->closed) c->eof_before_close = 1;
    uv_read_stop(st);
    if (c->srv->on_eof) c->srv->on_eof(c);
    return;
  }
  if (c->in_len + (size_t)n > c->in_cap) {
    c->in_cap = (c->in_len + (size_t)n) * 2;
    c->in = realloc(c->in, c->in_cap);
  }
  memcpy(c->in + c->in_len, buf->base, (size_t)n);
  c->in_len += (size_t)n;
  if (c->srv->on_data) c->srv->on_data(c);
}

static void on_conn(uv_stream_t *l, int status) {
  e2e_srv_t *s = l->data;
  if (status < 0) return;
  e2e_pconn_t *c = calloc(1, sizeof(*c));
  if (s->is_pipe) uv_pipe_init(s->loop, &c->h.pipe, 0);
  else uv_tcp_init(s->loop, &c->h.tcp);
  c->h.stream.data = c;
  c->srv = s;
  if (uv_accept(l, &c->h.stream) < 0) {
    uv_close((uv_handle_t *)&c->h.stream, (uv_close_cb)free);
    return;
  }
  c->index = s->accepted++;
  c->next = s->conns;
  s->conns = c;
  uv_read_start(&c->h.stream, peer_alloc, peer_read);
  if (s->on_accept) s->on_accept(c);
}

int e2e_srv_tcp(uv_loop_t *loop, e2e_srv_t *s, const char *ip) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  if (strchr(ip, ':')) uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss);
  else uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss);
  uv_tcp_init(loop, &s->h.tcp);
  s->h.tcp.data = s;
  int r = uv_tcp_bind(&s->h.tcp, (struct sockaddr *)&ss, 0);
  if (r == 0) r = uv_listen((uv_stream_t *)&s->h.tcp, 64, on_conn);
  if (r == 0) r = uv_tcp_getsockname(&s->h.tcp, (struct sockaddr *)&ss, &len);
  if (r < 0) return r;
  s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return 0;
}

int e2e_srv_pipe(uv_loop_t *loop, e2e_srv_t *s, const char *path) {
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->is_pipe = 1;
  uv_pipe_init(loop, &s->h.pipe, 0);
  s->h.pipe.data = s;
  int r = uv_pipe_bind(&s->h.pipe, path);
  if (r == 0) r = uv_listen((uv_stream_t *)&s->h.pipe, 64, on_conn);
  return r;
}

static void conn_closed(uv_handle_t *h) {
  e2e_pconn_t *c = h->data;
  free(c->in);
  free(c);
}

void e2e_pconn_close(e2e_pconn_t *c) {
  if (c->closed) return;
  c->closed = 1;
  e2e_srv_t *s = c->srv;
  for (e2e_pconn_t **p = &s->conns; *p; p = &(*p)->next) {
    if (*p == c) {
      *p = c->next;
      break;
    }
  }
  uv_close((uv_handle_t *)&c->h.stream, conn_closed);
}

void e2e_srv_close(e2e_srv_t *s) {
  while (s->conns) e2e_pconn_close(s->conns);
  if (!uv_is_closing((uv_handle_t *)&s->h)) uv_close((uv_handle_t *)&s->h, NULL);
}

typedef struct {
  uv_write_t req;
  char data[];
} peer_write_t;

static void peer_written(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

void e2e_pconn_write(e2e_pconn_t *c, const void *data, size_t len) {
  if (c->closed) return;
  peer_write_t *w = malloc(sizeof(*w) + len);
  memcpy(w->data, data, len);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
  if (uv_write(&w->req, &c->h.stream, &b, 1, peer_written) < 0) free(w);
}

size_t e2e_pconn_take_request(e2e_pconn_t *c, char *head, size_t cap) {
  for (size_t i = c->used; i + 3 < c->in_len; i++) {
    if (memcmp(c->in + i, "\r\n\r\n", 4) == 0) {
      size_t n = i + 4 - c->used;
      size_t k = n < cap - 1 ? n : cap - 1;
      memcpy(head, c->in + c->used, k);
      head[k] = 0;
      c->used += n;
      return n;
    }
  }
  return 0;
}

int e2e_head_header(const char *head, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  out[0] = 0;
  for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
    const char *line = p + 2;
    if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
      const char *v = line + nl + 1;
      while (*v == ' ' || *v == '\t') v++;
      const char *e = strstr(v, "\r\n");
      size_t n = e ? (size_t)(e - v) : strlen(v);
      if (n >= cap) n = cap - 1;
      memcpy(out, v, n);
      out[n] = 0;
      return 1;
    }
  }
  return 0;
}

void e2e_pconn_accept(e2e_pconn_t *c, const char *head) {
  char key[64], accept[UVWS_ACCEPT_LEN + 1], res[256];
  e2e_head_header(head, "Sec-WebSocket-Key", key, sizeof(key));
  uvws_accept_key(key, strlen(key), accept);
  int n = snprintf(res, sizeof(res),
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                   accept);
  e2e_pconn_write(c, res, (size_t)n);
}

int e2e_pconn_take_frame(e2e_pconn_t *c, int *opcode, uint8_t *out, size_t cap,
                         size_t *len) {
  const uint8_t *b = c->in + c->used;
  size_t n = c->in_len - c->used;
  if (n < 2) return 0;
  size_t h = 2;
  uint64_t l = b[1] & 0x7f;
  if (l == 126) {
    if (n < 4) return 0;
    l = ((uint64_t)b[2] << 8) | b[3];
    h = 4;
  } else if (l == 127) {
    if (n < 10) return 0;
    l = 0;
    for (int i = 0; i < 8; i++) l = (l << 8) | b[2 + i];
    h = 10;
  }
  int masked = (b[1] & 0x80) != 0;
  const uint8_t *key = b + h;
  if (masked) h += 4;
  if (n < h + l) return 0;
  *opcode = b[0] & 0x0f;
  *len = (size_t)l;
  for (size_t i = 0; i < l && i < cap; i++) out[i] = b[h + i] ^ (masked ? key[i & 3] : 0);
  c->used += h + (size_t)l;
  return 1;
}

/* The server: listen, accept, read and judge the upgrade request, let the
 * user's hook decide, answer, and close everything on shutdown. */
#include "uvws_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

struct uvws_upgrade_s {
  uvws_head_t head;
  uvws_pmd_params_t pmd;        /* negotiated, when has_pmd */
  char pmd_response[160];
  int has_pmd;
  uvws_t *ws;                   /* NULL once the socket is gone */
  uvws_server_t *server;
  uvws_upgrade_info_t info;
  uint8_t *extra;               /* bytes that followed the request */
  size_t extra_len;
  char remote_ip[64];
  struct sockaddr_storage addr;
  int deciding;
};

void uvws_server_options_init(uvws_server_options_t *o) {
  memset(o, 0, sizeof(*o));
  o->host = "0.0.0.0";
  o->backlog = 511;
  o->max_header_bytes = 8192;
  o->max_headers = 64;
  o->handshake_timeout_ms = 10000;
  o->max_pending_handshakes = 1024;
  o->limits.max_payload = 100 * 1024 * 1024;
  o->limits.max_fragments = 16384;
  o->limits.max_backpressure = 16 * 1024 * 1024;
  o->limits.pong_timeout_ms = 30000;
  o->limits.close_timeout_ms = 5000;
}

static void link_conn(uvws_server_t *s, uvws_t *ws) {
  ws->prev = NULL;
  ws->next = s->conns;
  if (s->conns) s->conns->prev = ws;
  s->conns = ws;
  s->num_conns++;
}

static void free_upgrade(uvws_upgrade_t *up) {
  uvws_head_free(&up->head);
  free(up->extra);
  free(up);
}

static void maybe_finish_close(uvws_server_t *s);

/* The connection leaves the opening handshake (answered, or gone). */
static void handshake_done(uvws_t *ws) {
  if (!(ws->flags & F_HANDSHAKING)) return;
  ws->flags &= ~F_HANDSHAKING;
  uvws__conn_server(ws)->num_handshaking--;
}

void uvws__server_conn_gone(uvws_t *ws) {
  uvws_server_t *s = uvws__conn_server(ws);
  if (ws->prev) ws->prev->next = ws->next;
  else s->conns = ws->next;
  if (ws->next) ws->next->prev = ws->prev;
  s->num_conns--;
  if (ws->flags & F_EXPOSED) s->num_open--;
  handshake_done(ws);
  uvws_upgrade_t *up = ws->hs;
  ws->hs = NULL;
  if (up) {
    /* A pending decision outlives the socket: the hook may still call
     * accept or reject, which then only frees it. */
    if (up->deciding) up->ws = NULL;
    else free_upgrade(up);
  }
  maybe_finish_close(s);
}

/* Answer the handshake with an error status and close. */
static void reject(uvws_t *ws, int status, const uvws_header_t *headers,
                   size_t num_headers, const char *body, size_t body_len) {
  char buf[2048];
  size_t n = uvws_build_error(buf, sizeof(buf), status, headers, num_headers,
                              body, body_len);
  if (n == 0) n = uvws_build_error(buf, sizeof(buf), status, NULL, 0, NULL, 0);
  uvws__stop_reading(ws);
  ws->flags &= ~F_DECIDING;
  handshake_done(ws);
  uvws__rx_stop(ws); /* whatever follows is not WebSocket data */
  uvws__write_raw(ws, buf, n);
  uvws__shutdown(ws);
}

/* A rejection the engine decided (not the upgrade hook), counted by kind. */
static void reject_why(uvws_t *ws, int status, const char *why) {
  uvws_stats_t *st = &ws->conf->stats;
  if (status == 431) st->rejected_too_large++;
  else if (status == 503) st->rejected_busy++;
  else if (status < 500) st->rejected_bad_request++;
  reject(ws, status, NULL, 0, why, why ? strlen(why) : 0);
}

/* Returns 0, or a negative code when the connection died on the way (then
 * it is already being closed, and the user never sees it). */
static int do_accept(uvws_upgrade_t *up, const char *protocol,
                     const uvws_header_t *headers, size_t num_headers) {
  uvws_t *ws = up->ws;
  uvws_server_t *s = up->server;
  size_t cap = 512 + (protocol ? strlen(protocol) : 0);
  for (size_t i = 0; i < num_headers; i++)
    cap += headers[i].name_len + headers[i].value_len + 4;
  /* The extension answer goes in front of the user's headers. */
  uvws_header_t all[33];
  if (up->has_pmd) {
    if (num_headers > 32) num_headers = 32;
    all[0].name = "Sec-WebSocket-Extensions";
    all[0].name_len = 24;
    all[0].value = up->pmd_response;
    all[0].value_len = strlen(up->pmd_response);
    if (num_headers) memcpy(all + 1, headers, num_headers * sizeof(*headers));
    headers = all;
    num_headers++;
    cap += 24 + all[0].value_len + 4;
  }
  char stackbuf[1024], *buf = cap <= sizeof(stackbuf) ? stackbuf : malloc(cap);
  size_t n = buf ? uvws_build_101(buf, cap, up->info.key, protocol, headers, num_headers) : 0;
  if (n == 0) {
    if (buf != stackbuf) free(buf);
    reject_why(ws, 500, "could not build the response");
    return UVWS_ENOMEM;
  }
  uvws_aux_t *a = protocol && *protocol ? uvws__aux(ws) : NULL;
  if (a) a->protocol = strdup(protocol);
  int r = uvws__write_raw(ws, buf, n);
  if (buf != stackbuf) free(buf);
  if (r < 0) return r;
  if (ws->flags & F_HANDLE_CLOSING) return UVWS_ECLOSED;
  ws->flags &= ~F_DECIDING;
  handshake_done(ws);
  if (up->has_pmd && uvws__conn_use_deflate(ws, &up->pmd, up->pmd_response) < 0) {
    uvws__conn_abort(ws, 0, NULL);
    return UVWS_ENOMEM;
  }
  ws->flags |= F_EXPOSED;
  ws->state = UVWS_OPEN;
  s->num_open++;
  s->conf.stats.connections_total++;
  if (s->conf.cb.on_open) s->conf.cb.on_open(ws, &up->head.http);
  /* The request is no longer needed; what followed it is frame data. */
  ws->hs = NULL;
  uvws__conn_opened(ws, up->extra, up->extra_len);
  free_upgrade(up);
  return 0;
}

static size_t list_protocols(const uvws_http_t *req, uvws_header_t *out,
                             size_t max) {
  size_t count = 0;
  for (size_t i = 0; i < req->num_headers; i++) {
    const uvws_header_t *h = &req->headers[i];
    if (!uvws_strieq(h->name, h->name_len, "sec-websocket-protocol")) continue;
    size_t pos = 0, len;
    const char *item;
    while (uvws_token_next(h->value, h->value_len, &pos, &item, &len)) {
      if (count < max) {
        out[count].name = item;
        out[count].name_len = len;
        out[count].value = item;
        out[count].value_len = len;
      }
      count++;
    }
  }
  return count;
}

static void on_request(uvws_t *ws, uvws_upgrade_t *up, int method_get) {
  uvws_server_t *s = uvws__conn_server(ws);
  const char *why = NULL;
  int status = uvws_check_request(&up->head.http, up->head.llhttp.http_major,
                                  up->head.llhttp.http_minor, method_get,
                                  s->path, &up->info, &why);
  if (status) {
    reject_why(ws, status, why);
    return;
  }
  if (s->closing) {
    reject_why(ws, 503, "Server is shutting down");
    return;
  }
  if (s->opts.max_connections && s->num_open >= s->opts.max_connections) {
    reject_why(ws, 503, "Too many connections");
    return;
  }
  if (s->conf.deflate_on) {
    /* Every Sec-WebSocket-Extensions header, as one list. */
    char joined[2048];
    size_t jl = 0;
    for (size_t i = 0; i < up->head.http.num_headers; i++) {
      const uvws_header_t *h = &up->head.http.headers[i];
      if (!uvws_strieq(h->name, h->name_len, "sec-websocket-extensions")) continue;
      if (jl + h->value_len + 2 > sizeof(joined)) break;
      if (jl) joined[jl++] = ',';
      memcpy(joined + jl, h->value, h->value_len);
      jl += h->value_len;
    }
    int r = jl ? uvws_pmd_server_negotiate(&s->conf.deflate, joined, jl, &up->pmd,
                                           up->pmd_response, sizeof(up->pmd_response))
               : 0;
    if (r < 0) {
      /* As ws: a broken offer is the client's bug, not a reason to go on
       * without compression and hide it. */
      reject_why(ws, 400, "Invalid Sec-WebSocket-Extensions header");
      return;
    }
    up->has_pmd = r == 1;
  }
  up->head.http.remote_addr = (const struct sockaddr *)&up->addr;
  up->head.http.remote_ip = up->remote_ip;
  if (up->addr.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&up->addr;
    uv_ip6_name(a, up->remote_ip, sizeof(up->remote_ip));
    up->head.http.remote_port = ntohs(a->sin6_port);
  } else if (up->addr.ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&up->addr;
    uv_ip4_name(a, up->remote_ip, sizeof(up->remote_ip));
    up->head.http.remote_port = ntohs(a->sin_port);
  }
  /* No more reading until the hook has decided: a client that pipelines
   * frames behind its request cannot make us buffer without bound. */
  uvws__stop_reading(ws);
  ws->flags |= F_DECIDING;
  up->deciding = 1;
  if (s->upgrade_cb) {
    s->upgrade_cb(s, up, &up->head.http);
    return;
  }
  uvws_header_t first;
  const char *proto = NULL;
  char name[256];
  if (list_protocols(&up->head.http, &first, 1) && first.name_len < sizeof(name)) {
    memcpy(name, first.name, first.name_len);
    name[first.name_len] = 0;
    proto = name;
  }
  uvws_upgrade_accept(up, proto, NULL, 0, NULL);
}

void uvws__server_on_read(uvws_t *ws, const uint8_t *data, size_t len) {
  uvws_upgrade_t *up = ws->hs;
  if (!up || (ws->flags & (F_DECIDING | F_SHUTDOWN))) return;
  size_t used;
  int r = uvws_head_feed(&up->head, (const char *)data, len, &used);
  if (r == 0) return;
  if (r < 0) {
    if (r == UVWS_ETOOBIG) reject_why(ws, 431, "Request Header Fields Too Large");
    else reject_why(ws, 400, "Bad Request");
    return;
  }
  if (used < len) {
    up->extra_len = len - used;
    up->extra = malloc(up->extra_len);
    if (!up->extra) {
      uvws__conn_abort(ws, 0, NULL);
      return;
    }
    memcpy(up->extra, data + used, up->extra_len);
  }
  on_request(ws, up, up->head.llhttp.method == HTTP_GET);
}

/* ------------------------------------------------------------------ */
/* Upgrade decisions                                                   */
/* ------------------------------------------------------------------ */

int uvws_upgrade_accept(uvws_upgrade_t *up, const char *protocol,
                        const uvws_header_t *headers, size_t num_headers,
                        void *data) {
  uvws__set_last_error(NULL);
  if (!up || !up->deciding) return UVWS_EINVAL;
  if (uvws__headers_check(headers, num_headers) < 0) return UVWS_EINVAL;
  if (!up->ws) {
    free_upgrade(up);
    return UVWS_ECLOSED;
  }
  if (protocol && *protocol) {
    uvws_header_t offered[64];
    size_t n = list_protocols(&up->head.http, offered, 64), plen = strlen(protocol);
    int found = 0;
    for (size_t i = 0; i < n && i < 64; i++)
      if (offered[i].name_len == plen && memcmp(offered[i].name, protocol, plen) == 0)
        found = 1;
    if (!found) {
      uvws__set_last_error("subprotocol not offered by the client");
      return UVWS_EPROTOCOL;
    }
  }
  up->deciding = 0;
  up->ws->tcp.data = data;
  return do_accept(up, protocol, headers, num_headers);
}

int uvws_upgrade_reject(uvws_upgrade_t *up, int status,
                        const uvws_header_t *headers, size_t num_headers,
                        const char *body, size_t body_len) {
  uvws__set_last_error(NULL);
  if (!up || !up->deciding) return UVWS_EINVAL;
  if (uvws__headers_check(headers, num_headers) < 0) return UVWS_EINVAL;
  /* A redirect (with a Location among the headers) sends the client
   * elsewhere; anything else that is not an error becomes 400. */
  int redirect = status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  if (!redirect && (status < 400 || status > 599)) status = 400;
  up->deciding = 0;
  up->server->conf.stats.rejected_by_app++;
  uvws_t *ws = up->ws;
  if (!ws) {
    free_upgrade(up);
    return UVWS_ECLOSED;
  }
  reject(ws, status, headers, num_headers, body, body_len);
  return 0;
}

size_t uvws_upgrade_protocols(const uvws_upgrade_t *up, uvws_header_t *out,
                              size_t max) {
  return list_protocols(&up->head.http, out, max);
}

int uvws_upgrade_is_aborted(const uvws_upgrade_t *up) { return up->ws == NULL; }
uvws_server_t *uvws_upgrade_server(const uvws_upgrade_t *up) { return up->server; }
const uvws_http_t *uvws_upgrade_request(const uvws_upgrade_t *up) { return &up->head.http; }

/* ------------------------------------------------------------------ */
/* Accepting                                                           */
/* ------------------------------------------------------------------ */

/* Server connections come from the loop's slab pool so that live ones
 * stay packed while their handshake state (malloc's heap) comes and goes;
 * debug builds use malloc because freed handles go to a quarantine
 * (uvws_debug.c) that frees them later with free(). */
static uvws_t *conn_alloc(uvws_loopctx_t *lc) {
#ifdef UVWS_DEBUG
  return calloc(1, sizeof(uvws_t));
#else
  return uvws_pool_alloc(&lc->conns);
#endif
}

static void conn_unalloc(uvws_loopctx_t *lc, uvws_t *ws) {
#ifdef UVWS_DEBUG
  (void)lc;
  free(ws);
#else
  if (ws) uvws_pool_free(&lc->conns, ws);
#endif
}

static uvws_t *new_conn(uvws_server_t *s) {
  uvws_t *ws = conn_alloc(s->lc);
  uvws_upgrade_t *up = calloc(1, sizeof(*up));
  if (!ws || !up) {
    conn_unalloc(s->lc, ws);
    free(up);
    return NULL;
  }
  uvws__loopctx_get(s->lc->loop); /* every connection holds a reference */
  uvws__conn_init(ws, s->lc, s->opts.unix_path ? UVWS__CONN_PIPE : 0, &s->conf);
  ws->stamp = uvws__now(s->lc) + s->opts.handshake_timeout_ms;
  uvws_head_init(&up->head, 0, s->opts.max_header_bytes, s->opts.max_headers);
  up->ws = ws;
  up->server = s;
  ws->hs = up;
  link_conn(s, ws);
  ws->flags |= F_HANDSHAKING;
  s->num_handshaking++;
  return ws;
}

static void fill_peer(uvws_t *ws) {
  uvws_upgrade_t *up = ws->hs;
  int len = sizeof(up->addr);
  if (UVWS__IS_PIPE(ws)) uvws__pipe_peer(ws, &up->addr);
  else uv_tcp_getpeername(&ws->tcp, (struct sockaddr *)&up->addr, &len);
}

/* Past max_pending_handshakes a new connection is answered 503 at once,
 * before a byte of its request is read, so that slow or silent clients
 * cannot tie up every descriptor. A wss:// one is closed instead: answering
 * would cost a TLS handshake. Returns 1 when `ws` was turned away. */
static int over_pending_limit(uvws_server_t *s, uvws_t *ws) {
  unsigned max = s->opts.max_pending_handshakes;
  /* ws itself is already counted. */
  if (!max || s->num_handshaking <= max) return 0;
  if (s->tls) {
    s->conf.stats.rejected_busy++;
    handshake_done(ws);
    uvws__conn_abort(ws, 0, NULL);
  } else {
    reject_why(ws, 503, "Too many pending handshakes");
  }
  return 1;
}

static void on_connection(uv_stream_t *listener, int status) {
  uvws_server_t *s = listener->data;
  if (status < 0 || s->closing) return;
  uvws_t *ws = new_conn(s);
  if (!ws) return;
  if (uv_accept(listener, (uv_stream_t *)&ws->tcp) < 0) {
    uvws__conn_abort(ws, 0, NULL);
    return;
  }
  if (!UVWS__IS_PIPE(ws)) uv_tcp_nodelay(&ws->tcp, 1);
  fill_peer(ws);
  if (over_pending_limit(s, ws)) return;
  if (s->tls && uvws__tls_attach(ws, s->tls, NULL) < 0) {
    uvws__conn_abort(ws, 0, NULL);
    return;
  }
  uvws__start_reading(ws);
}

int uvws_server_adopt(uvws_server_t *s, uv_os_sock_t fd, const char *head,
                      size_t head_len) {
  if (!s || s->closing || s->opts.unix_path) return UVWS_EINVAL;
  uvws_t *ws = new_conn(s);
  if (!ws) return UVWS_ENOMEM;
  int r = uv_tcp_open(&ws->tcp, fd);
  if (r < 0) {
    uvws__conn_abort(ws, 0, NULL);
    return r;
  }
  uv_tcp_nodelay(&ws->tcp, 1);
  fill_peer(ws);
  if (over_pending_limit(s, ws)) return 0;
  if (s->tls) {
    /* An adopted socket has already spoken HTTP in the clear. */
    uvws__conn_abort(ws, 0, NULL);
    return UVWS_ENOTSUP;
  }
  if (head_len) {
    /* Same path as bytes read from the socket. */
    uint8_t *copy = malloc(head_len);
    if (!copy) {
      uvws__conn_abort(ws, 0, NULL);
      return UVWS_ENOMEM;
    }
    memcpy(copy, head, head_len);
    uvws__server_on_read(ws, copy, head_len);
    free(copy);
  }
  if (ws->state == UVWS_CONNECTING && !(ws->flags & F_DECIDING)) uvws__start_reading(ws);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Server lifetime                                                     */
/* ------------------------------------------------------------------ */

static int resolve_bind(const char *host, int port, struct sockaddr_storage *ss) {
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) return 0;
  if (strcmp(host, "localhost") == 0)
    return uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)ss);
  return UVWS_EINVAL;
}

static int check_limits(const uvws_limits_t *l) {
  if (l->pong_timeout_ms == 0 && l->ping_interval_ms) return UVWS_EINVAL;
  if (l->close_timeout_ms == 0) return UVWS_EINVAL;
  return 0;
}

static void on_failed_listener_closed(uv_handle_t *h) {
  uvws_server_t *s = h->data;
  uvws__tls_ctx_free(s->tls);
  free(s->path);
  uvws__loopctx_put(s->lc, free, s);
}

int uvws_server_start(uv_loop_t *loop, const uvws_server_options_t *opts,
                      const uvws_callbacks_t *callbacks,
                      uvws_upgrade_cb upgrade_cb, void *data,
                      uvws_server_t **out) {
  if (!loop || !opts || !out) return UVWS_EINVAL;
  *out = NULL;
  uvws__set_last_error(NULL);
  if (opts->port < 0 || opts->port > 65535 || opts->max_header_bytes < 256 ||
      opts->max_headers == 0 || opts->handshake_timeout_ms == 0 ||
      check_limits(&opts->limits) < 0 || (opts->path && opts->path[0] != '/'))
    return UVWS_EINVAL;
  if (opts->unix_path && !uvws__unix_path_ok(opts->unix_path)) {
    uvws__set_last_error("unix_path is empty or longer than a socket address holds");
    return UVWS_EINVAL;
  }
  struct sockaddr_storage ss;
  int r = opts->unix_path ? 0 : resolve_bind(opts->host ? opts->host : "0.0.0.0", opts->port, &ss);
  if (r < 0) return r;
  uvws_tls_ctx_t *tls = NULL;
  if (opts->tls) {
    char err[256];
    r = uvws__tls_server_ctx(opts->tls, &tls, err, sizeof(err));
    if (r < 0) {
      uvws__set_last_error(err);
      return r;
    }
  }
  uvws_server_t *s = calloc(1, sizeof(*s));
  if (!s) {
    uvws__tls_ctx_free(tls);
    return UVWS_ENOMEM;
  }
  s->tls = tls;
  s->opts = *opts;
  s->opts.host = NULL;
  s->opts.path = NULL;
  s->opts.tls = NULL;
  /* Only tells new connections to be pipes from here on; libuv keeps its
   * own copy of the name. */
  s->opts.unix_path = opts->unix_path ? "" : NULL;
  if (opts->path && !(s->path = strdup(opts->path))) {
    uvws__tls_ctx_free(tls);
    free(s);
    return UVWS_ENOMEM;
  }
  if (callbacks) s->conf.cb = *callbacks;
  s->conf.limits = opts->limits;
  if (opts->deflate) {
    s->conf.deflate = *opts->deflate;
    s->conf.deflate_on = 1;
  }
  s->opts.deflate = NULL;
  s->upgrade_cb = upgrade_cb;
  s->data = data;
  s->lc = uvws__loopctx_get(loop);
  if (!s->lc) {
    uvws__tls_ctx_free(tls);
    free(s->path);
    free(s);
    return UVWS_ENOMEM;
  }
  if (opts->unix_path) {
    uv_pipe_init(loop, &s->listener_pipe, 0);
    s->listener.data = s;
    r = uvws__unix_bind(&s->listener_pipe, opts->unix_path, opts->unix_mode);
  } else {
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    unsigned flags = (ss.ss_family == AF_INET6 && opts->ipv6_only) ? UV_TCP_IPV6ONLY : 0;
    r = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, flags);
  }
  if (r == 0) r = uv_listen((uv_stream_t *)&s->listener, opts->backlog > 0 ? opts->backlog : 511, on_connection);
  if (r < 0) {
    /* Closing the listener needs a loop turn; the server is freed then. */
    uv_close((uv_handle_t *)&s->listener, on_failed_listener_closed);
    return r;
  }
  struct sockaddr_storage bound;
  int len = sizeof(bound);
  if (!opts->unix_path && uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len) == 0)
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
  s->next = s->lc->servers;
  if (s->next) s->next->prev = s;
  s->lc->servers = s;
  *out = s;
  return 0;
}

int uvws_server_port(const uvws_server_t *s) { return s->port; }

int uvws_server_address(const uvws_server_t *s, struct sockaddr_storage *addr) {
  int len = sizeof(*addr);
  if (s->opts.unix_path) {
    struct sockaddr_un *sun = (struct sockaddr_un *)addr;
    size_t n = sizeof(sun->sun_path);
    memset(addr, 0, sizeof(*addr));
    sun->sun_family = AF_UNIX;
    return uv_pipe_getsockname(&s->listener_pipe, sun->sun_path, &n);
  }
  return uv_tcp_getsockname(&s->listener, (struct sockaddr *)addr, &len);
}

void *uvws_server_get_data(const uvws_server_t *s) { return s->data; }
void uvws_server_set_data(uvws_server_t *s, void *data) { s->data = data; }
size_t uvws_server_connections(const uvws_server_t *s) { return s->num_open; }

int uvws_server_stats(const uvws_server_t *s, uvws_stats_t *out) {
  if (!s || !out) return UVWS_EINVAL;
  *out = s->conf.stats;
  out->connections_open = s->num_open;
  out->handshakes_pending = s->num_handshaking;
  return 0;
}

void uvws_server_foreach(uvws_server_t *s, int (*fn)(uvws_t *, void *), void *arg) {
  for (uvws_t *ws = s->conns, *next; ws; ws = next) {
    next = ws->next;
    if (ws->state == UVWS_OPEN && !(ws->flags & (F_HANDLE_CLOSING | F_CLOSE_SENT)) &&
        (ws->flags & F_EXPOSED))
      if (fn(ws, arg)) break;
  }
}

void uvws__server_tick(uvws_server_t *s, uint32_t now) {
  for (uvws_t *ws = s->conns, *next; ws; ws = next) {
    next = ws->next;
    uvws__conn_tick(ws, now);
  }
}

static void server_free(void *arg) {
  uvws_server_t *s = arg;
  void (*cb)(uvws_server_t *) = s->close_cb;
  uvws__tls_ctx_free(s->tls);
  uvws__pubsub_free(s);
  free(s->path);
  if (cb) cb(s);
  free(s);
}

static void maybe_finish_close(uvws_server_t *s) {
  if (!s->closing || !s->listener_closed || s->num_conns) return;
  s->listener_closed = 0; /* run once */
  uvws_loopctx_t *lc = s->lc;
  if (s->prev) s->prev->next = s->next;
  else lc->servers = s->next;
  if (s->next) s->next->prev = s->prev;
  uvws__loopctx_put(lc, server_free, s);
}

static void on_listener_closed(uv_handle_t *h) {
  uvws_server_t *s = h->data;
  s->listener_closed = 1;
  maybe_finish_close(s);
}

int uvws_server_close(uvws_server_t *s, void (*cb)(uvws_server_t *)) {
  if (!s) return UVWS_EINVAL;
  if (s->closing) return UVWS_ECLOSED;
  s->closing = 1;
  s->close_cb = cb;
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
  for (uvws_t *ws = s->conns, *next; ws; ws = next) {
    next = ws->next;
    if (ws->state == UVWS_CONNECTING) {
      uvws__conn_abort(ws, 0, NULL);
    } else if (ws->state == UVWS_OPEN && !(ws->flags & F_CLOSE_SENT)) {
      uvws_close(ws, UVWS_CLOSE_GOING_AWAY, "server shutting down", 20);
    }
  }
  return 0;
}

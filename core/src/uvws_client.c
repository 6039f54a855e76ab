/* The client: resolve, connect (trying each address in turn), send the
 * upgrade request and validate the server's answer. */
#include "uvws_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct client_hs {
  uvws_url_t url;
  char key[UVWS_KEY_LEN + 1];
  char *request;
  size_t request_len;
  char **protocols;             /* copies of the offered subprotocols */
  size_t num_protocols;
  uv_getaddrinfo_t gai;
  uv_connect_t connect;
  struct addrinfo *ai, *cur;
  uvws_head_t head;
} client_hs_t;

/* A client connection keeps its own callbacks and limits. */
typedef struct client_conn {
  uvws_t ws;
  uvws_conf_t conf;
  uvws_dialer_t *dialer;        /* the dialer that made it, if any */
} client_conn_t;

uvws_dialer_t *uvws_get_dialer(const uvws_t *ws) {
  UVWS__CHECK(ws);
  return ws && (ws->flags & F_CLIENT) ? ((const client_conn_t *)ws)->dialer : NULL;
}

void uvws_client_options_init(uvws_client_options_t *o) {
  memset(o, 0, sizeof(*o));
  o->connect_timeout_ms = 30000;
  o->max_response_bytes = 16384;
  o->limits.max_payload = 100 * 1024 * 1024;
  o->limits.max_fragments = 16384;
  o->limits.max_backpressure = 16 * 1024 * 1024;
  o->limits.pong_timeout_ms = 30000;
  o->limits.close_timeout_ms = 5000;
}

static void hs_free(client_hs_t *hs) {
  if (!hs) return;
  uvws_url_free(&hs->url);
  free(hs->request);
  free(hs->protocols);
  if (hs->ai) uv_freeaddrinfo(hs->ai);
  uvws_head_free(&hs->head);
  free(hs);
}

void uvws__client_conn_gone(uvws_t *ws) {
  uvws_loopctx_t *lc = ws->lc;
  if (ws->prev) ws->prev->next = ws->next;
  else lc->clients = ws->next;
  if (ws->next) ws->next->prev = ws->prev;
  /* A pending DNS request still points into the handshake state; it is
   * freed when that request completes. */
  if (ws->pending_reqs == 0) {
    hs_free(ws->hs);
    ws->hs = NULL;
  } else if (ws->hs) {
    uv_cancel((uv_req_t *)&((client_hs_t *)ws->hs)->gai);
  }
}

static void on_connect(uv_connect_t *req, int status);

static void try_connect(uvws_t *ws) {
  client_hs_t *hs = ws->hs;
  int r = UV_EAI_NONAME;
  while (hs->cur) {
    r = uv_tcp_connect(&hs->connect, &ws->tcp, hs->cur->ai_addr, on_connect);
    if (r == 0) return;
    hs->cur = hs->cur->ai_next;
  }
  uvws__conn_abort(ws, r, "could not connect");
}

int uvws__client_on_handle_closed(uvws_t *ws) {
  if (!(ws->flags & F_RECONNECT)) return 0;
  ws->flags &= ~F_RECONNECT;
  uv_tcp_init(ws->lc->loop, &ws->tcp);
  ws->tcp.data = ws;
  try_connect(ws);
  return 1;
}

static void on_connect(uv_connect_t *req, int status) {
  uvws_t *ws = req->data ? req->data : ((uv_handle_t *)req->handle)->data;
  client_hs_t *hs = ws->hs;
  if (status == UV_ECANCELED || (ws->flags & F_HANDLE_CLOSING)) return;
  if (status < 0) {
    if (hs->cur && hs->cur->ai_next) {
      /* A failed connect leaves the socket unusable: start over with a new
       * one for the next address (e.g. ::1 refused, then 127.0.0.1). */
      hs->cur = hs->cur->ai_next;
      uvws__close_for_reconnect(ws);
      return;
    }
    uvws__conn_abort(ws, status, "could not connect");
    return;
  }
  if (!UVWS__IS_PIPE(ws)) uv_tcp_nodelay(&ws->tcp, 1);
  uvws__start_reading(ws);
  if (ws->tls) uvws__tls_start(ws);
  else uvws__client_tls_ready(ws);
}

void uvws__client_tls_ready(uvws_t *ws) {
  client_hs_t *hs = ws->hs;
  uvws__write_raw(ws, hs->request, hs->request_len);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  uvws_t *ws = req->data;
  client_hs_t *hs = ws->hs;
  if (ws->flags & F_HANDLE_CLOSING) {
    if (res) uv_freeaddrinfo(res);
    if (ws->state == UVWS_CLOSED) {
      hs_free(hs);
      ws->hs = NULL;
    }
    uvws__conn_release_req(ws);
    return;
  }
  ws->pending_reqs--;
  if (status < 0) {
    uvws__conn_abort(ws, status, "could not resolve the host name");
    return;
  }
  hs->ai = hs->cur = res;
  try_connect(ws);
}

void uvws__client_on_read(uvws_t *ws, const uint8_t *data, size_t len) {
  client_hs_t *hs = ws->hs;
  size_t used;
  int r = uvws_head_feed(&hs->head, (const char *)data, len, &used);
  if (r == 0) return;
  if (r < 0) {
    uvws__conn_abort(ws, r == UVWS_ETOOBIG ? UVWS_EHANDSHAKE : r,
                     r == UVWS_ETOOBIG ? "response head too large"
                                       : "invalid HTTP response");
    return;
  }
  const uvws_http_t *res = &hs->head.http;
  if (ws->conf->cb.on_response) {
    ws->conf->cb.on_response(ws, res);
    if (ws->flags & F_HANDLE_CLOSING) return;
  }
  const char *proto, *why = NULL;
  size_t proto_len;
  r = uvws_check_response(res, hs->head.llhttp.http_major, hs->head.llhttp.http_minor,
                          hs->key, (const char *const *)hs->protocols,
                          hs->num_protocols, ws->conf->deflate_on, &proto, &proto_len, &why);
  uvws_pmd_params_t pmd;
  size_t ext_len = 0;
  const char *ext = r == 0 ? uvws_http_header(res, "sec-websocket-extensions", &ext_len) : NULL;
  char ext_copy[256];
  if (ext) {
    r = uvws_pmd_client_check(&ws->conf->deflate, ext, ext_len, &pmd, &why);
    snprintf(ext_copy, sizeof(ext_copy), "%.*s", (int)ext_len, ext);
    if (r == 0 && uvws__conn_use_deflate(ws, &pmd, ext_copy) < 0) {
      uvws__conn_abort(ws, UVWS_ENOMEM, NULL);
      return;
    }
  }
  if (r < 0) {
    char msg[128];
    if (r == UVWS_ESTATUS)
      snprintf(msg, sizeof(msg), "Unexpected server response: %d", res->status);
    else
      snprintf(msg, sizeof(msg), "%s", why);
    uvws__set_error(ws, r, msg, 1);
    uvws__conn_abort(ws, 0, NULL);
    return;
  }
  uvws_aux_t *a = proto ? uvws__aux(ws) : NULL;
  if (a && (a->protocol = malloc(proto_len + 1))) {
    memcpy(a->protocol, proto, proto_len);
    a->protocol[proto_len] = 0;
  }
  ws->state = UVWS_OPEN;
  if (ws->conf->cb.on_open) ws->conf->cb.on_open(ws, res);
  ws->hs = NULL;
  /* What followed the response is already frame data, in the read buffer. */
  uvws__conn_opened(ws, data + used, len - used);
  hs_free(hs);
}

static int copy_protocols(client_hs_t *hs, const uvws_client_options_t *o) {
  size_t size = o->num_protocols * sizeof(char *);
  for (size_t i = 0; i < o->num_protocols; i++) size += strlen(o->protocols[i]) + 1;
  if (!o->num_protocols) return 0;
  hs->protocols = malloc(size);
  if (!hs->protocols) return UVWS_ENOMEM;
  char *s = (char *)(hs->protocols + o->num_protocols);
  for (size_t i = 0; i < o->num_protocols; i++) {
    hs->protocols[i] = s;
    strcpy(s, o->protocols[i]);
    s += strlen(s) + 1;
  }
  hs->num_protocols = o->num_protocols;
  return 0;
}

/* Everything of ours that goes into the request must keep it well-formed. */
static int check_request_options(const uvws_client_options_t *o) {
  if (uvws__headers_check(o->headers, o->num_headers) < 0) return UVWS_EINVAL;
  if (o->num_protocols && !o->protocols) return UVWS_EINVAL;
  for (size_t i = 0; i < o->num_protocols; i++) {
    const char *p = o->protocols[i];
    char msg[96];
    if (!p || !uvws_http_token_is_valid(p, strlen(p))) {
      snprintf(msg, sizeof(msg), "invalid subprotocol \"%.40s\": not an HTTP token", p ? p : "");
      uvws__set_last_error(msg);
      return UVWS_EINVAL;
    }
    for (size_t j = 0; j < i; j++) {
      if (strcmp(o->protocols[j], p) == 0) {
        snprintf(msg, sizeof(msg), "subprotocol \"%.40s\" offered twice", p);
        uvws__set_last_error(msg);
        return UVWS_EINVAL;
      }
    }
  }
  if (o->origin && !uvws_http_value_is_valid(o->origin, strlen(o->origin))) {
    uvws__set_last_error("invalid origin: control characters (CR, LF, NUL, ...) are not allowed");
    return UVWS_EINVAL;
  }
  return 0;
}

int uvws_connect(uv_loop_t *loop, const char *url,
                 const uvws_client_options_t *opts,
                 const uvws_callbacks_t *callbacks, void *data, uvws_t **out) {
  return uvws__client_connect(loop, url, opts, callbacks, data, NULL, out);
}

int uvws__client_connect(uv_loop_t *loop, const char *url,
                         const uvws_client_options_t *opts,
                         const uvws_callbacks_t *callbacks, void *data,
                         uvws_dialer_t *dialer, uvws_t **out) {
  uvws_client_options_t defaults;
  if (!loop || !out) return UVWS_EINVAL;
  *out = NULL;
  uvws__set_last_error(NULL);
  if (!opts) {
    uvws_client_options_init(&defaults);
    opts = &defaults;
  }
  if (opts->connect_timeout_ms == 0 || opts->max_response_bytes < 256 ||
      opts->limits.close_timeout_ms == 0 ||
      (opts->limits.ping_interval_ms && !opts->limits.pong_timeout_ms))
    return UVWS_EINVAL;
  int r = check_request_options(opts);
  if (r < 0) return r;
  client_hs_t *hs = calloc(1, sizeof(*hs));
  if (!hs) return UVWS_ENOMEM;
  if ((r = uvws_url_parse(url, &hs->url)) < 0 || (r = copy_protocols(hs, opts)) < 0 ||
      (r = uvws_make_key(hs->key)) < 0) {
    hs_free(hs);
    return r;
  }
  if (hs->url.unix_path && !uvws__unix_path_ok(hs->url.unix_path)) {
    uvws__set_last_error("the Unix socket path is longer than a socket address holds");
    hs_free(hs);
    return UVWS_EURL;
  }
  uvws_tls_ctx_t *tls = NULL;
  if (hs->url.secure) {
    char err[256];
    r = uvws__tls_client_ctx(opts->tls, &tls, err, sizeof(err));
    if (r < 0) {
      uvws__set_last_error(err);
      hs_free(hs);
      return r;
    }
  }
  char offer[192];
  size_t offer_len = opts->deflate ? uvws_pmd_client_offer(opts->deflate, offer, sizeof(offer)) : 0;
  hs->request = uvws_build_request(hs->url.host_header, hs->url.path_query, hs->key,
                                   opts, offer_len ? offer : NULL, &hs->request_len);
  client_conn_t *cc = calloc(1, sizeof(*cc));
  uvws_loopctx_t *lc = hs->request && cc ? uvws__loopctx_get(loop) : NULL;
  if (!lc) {
    free(cc);
    hs_free(hs);
    uvws__tls_ctx_free(tls);
    return UVWS_ENOMEM;
  }
  uvws_head_init(&hs->head, 1, opts->max_response_bytes, 128);
  if (callbacks) cc->conf.cb = *callbacks;
  cc->conf.limits = opts->limits;
  if (opts->deflate) {
    cc->conf.deflate = *opts->deflate;
    cc->conf.deflate_on = 1;
  }
  uvws_t *ws = &cc->ws;
  ws->lc = lc;
  if (tls) {
    /* Before the handle exists, so that a failure only has memory to free. */
    const char *name = opts->tls && opts->tls->server_name ? opts->tls->server_name : hs->url.host;
    r = uvws__tls_attach(ws, tls, name);
    /* The session holds its own reference to the OpenSSL context. */
    uvws__tls_ctx_free(tls);
    if (r < 0) {
      hs_free(hs);
      free(cc);
      uvws__loopctx_put(lc, NULL, NULL);
      return r;
    }
  }
  uvws__conn_init(ws, lc, UVWS__CONN_CLIENT | (hs->url.unix_path ? UVWS__CONN_PIPE : 0),
                  &cc->conf);
  ws->data = data;
  cc->dialer = dialer;
  ws->hs = hs;
  ws->flags |= F_EXPOSED;
  /* Called from outside a loop run (bindings driving the loop from another
   * event loop), the cached loop time may be old: the deadline must start
   * now, not then. */
  uv_update_time(loop);
  ws->stamp = uvws__now(lc) + opts->connect_timeout_ms;
  hs->connect.data = ws;
  hs->gai.data = ws;
  ws->next = lc->clients;
  if (lc->clients) lc->clients->prev = ws;
  lc->clients = ws;

  if (hs->url.unix_path) {
    /* No name to resolve; a failure (no such file, nobody listening)
     * arrives in on_connect like a refused TCP connection. */
    uv_pipe_connect(&hs->connect, &ws->pipe, hs->url.unix_path, on_connect);
    *out = ws;
    return 0;
  }
  char port[8];
  snprintf(port, sizeof(port), "%d", hs->url.port);
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  ws->pending_reqs++;
  r = uv_getaddrinfo(loop, &hs->gai, on_resolved, hs->url.host, port, &hints);
  if (r < 0) {
    /* Report it like any later failure: the handle exists already. */
    ws->pending_reqs--;
    uvws__conn_abort(ws, r, "could not resolve the host name");
  }
  *out = ws;
  return 0;
}

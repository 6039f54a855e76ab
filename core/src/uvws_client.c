/* The client: resolve, connect (trying each address in turn), send the
 * upgrade request and validate the server's answer, following redirects
 * when asked to. */
#include "uvws_internal.h"
#include "uvws_proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
  /* Redirects (max_redirects > 0): what a new request needs. */
  uvws_client_options_t opts;   /* deep copy */
  void *opts_mem;
  uvws_tls_ctx_t *tls_ctx;      /* for a wss:// hop */
  char **chain;                 /* URLs visited, the current one last */
  unsigned num_chain;
  int cross_origin;             /* credentials headers dropped */
  int redirecting;              /* handle closed to follow a redirect */
  /* Proxy: the tunnel is set up before TLS and the upgrade. */
  uvws_proxy_t *proxy;
  int proxy_phase;              /* talking to the proxy */
  uvws_tls_t *tls_pending;      /* the session waits for the tunnel */
} client_hs_t;

/* A client connection keeps its own callbacks and limits. */
typedef struct client_conn {
  uvws_t ws;
  uvws_conf_t conf;
  uvws_dialer_t *dialer;        /* the dialer that made it, if any */
  char *url;                    /* connected to (after redirects) */
} client_conn_t;

const char *uvws_url(const uvws_t *ws) {
  UVWS__CHECK(ws);
  const char *u = ws && (ws->flags & F_CLIENT) ? ((const client_conn_t *)ws)->url : NULL;
  return u ? u : "";
}

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
  uvws__copts_free(hs->opts_mem);
  uvws__tls_ctx_free(hs->tls_ctx);
  for (unsigned i = 0; i < hs->num_chain; i++) free(hs->chain[i]);
  free(hs->chain);
  if (hs->proxy) {
    uvws__proxy_free(hs->proxy);
    free(hs->proxy);
  }
  free(hs);
}

void uvws__client_conn_gone(uvws_t *ws) {
  uvws_loopctx_t *lc = ws->lc;
  free(((client_conn_t *)ws)->url);
  ((client_conn_t *)ws)->url = NULL;
  client_hs_t *phs = ws->hs;
  if (phs && phs->tls_pending) {
    /* Freed with the connection, like any session. */
    ws->tls = phs->tls_pending;
    phs->tls_pending = NULL;
  }
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

static void start_dial(uvws_t *ws);

int uvws__client_on_handle_closed(uvws_t *ws) {
  if (!(ws->flags & F_RECONNECT)) return 0;
  client_hs_t *hs = ws->hs;
  ws->flags &= ~(F_RECONNECT | F_HANDLE_CLOSING | F_READING);
  if (hs->redirecting) {
    /* A new TLS session for the next hop (the old one was still in use
     * while the handle closed). */
    uvws__tls_free(ws);
    if (hs->url.secure) {
      const uvws_tls_options_t *t = hs->opts.tls;
      int r = uvws__tls_attach(ws, hs->tls_ctx, t && t->server_name ? t->server_name : hs->url.host);
      if (r < 0) {
        /* No handle any more: finish as a closed connection. */
        uvws__set_error(ws, r, "could not start TLS for the redirect", 0);
        ws->flags |= F_HANDLE_CLOSING;
        return 0;
      }
    }
  }
  if (hs->url.unix_path) uv_pipe_init(ws->lc->loop, &ws->pipe, 0);
  else uv_tcp_init(ws->lc->loop, &ws->tcp);
  /* init leaves tcp.data (the user's) alone */
  if (hs->redirecting) {
    hs->redirecting = 0;
    start_dial(ws);
  } else {
    try_connect(ws);
  }
  return 1;
}

static void on_connect(uv_connect_t *req, int status) {
  uvws_t *ws = req->data ? req->data : (uvws_t *)req->handle;
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
  if (hs->proxy) {
    /* Talk to the proxy in the clear; TLS (to the origin) waits for the
     * tunnel. */
    uint8_t hello[1024];
    size_t n = uvws__proxy_start(hs->proxy, hs->url.host, hs->url.port, hello, sizeof(hello));
    if (!n) {
      uvws__conn_abort(ws, UVWS_EPROXY, "could not build the proxy request");
      return;
    }
    hs->tls_pending = ws->tls;
    ws->tls = NULL;
    hs->proxy_phase = 1;
    uvws__write_raw(ws, hello, n);
    return;
  }
  if (ws->tls) uvws__tls_start(ws);
  else uvws__client_tls_ready(ws);
}

static void proxy_on_read(uvws_t *ws, const uint8_t *data, size_t len) {
  client_hs_t *hs = ws->hs;
  while (len) {
    uint8_t out[600];
    size_t used, out_len;
    char why[200];
    int r = uvws__proxy_feed(hs->proxy, hs->url.host, hs->url.port, data, len, &used, out,
                             sizeof(out), &out_len, why, sizeof(why));
    if (r < 0) {
      uvws__set_error(ws, UVWS_EPROXY, why, 1);
      uvws__conn_abort(ws, 0, NULL);
      return;
    }
    if (out_len && uvws__write_raw(ws, out, out_len) < 0) return;
    data += used;
    len -= used;
    if (r == 1) {
      /* The tunnel is up: from here the bytes are the origin's. Nothing
       * may come from it before our ClientHello or request. */
      hs->proxy_phase = 0;
      ws->tls = hs->tls_pending;
      hs->tls_pending = NULL;
      if (len) {
        uvws__conn_abort(ws, UVWS_EPROXY, "the proxy sent data before the tunnel was used");
        return;
      }
      if (ws->tls) uvws__tls_start(ws);
      else uvws__client_tls_ready(ws);
      return;
    }
  }
}

void uvws__client_eof(uvws_t *ws) {
  client_hs_t *hs = ws->hs;
  if (!hs || !hs->proxy_phase) return;
  int authenticating = hs->proxy->user && (hs->proxy->type == UVWS__PROXY_HTTP || hs->proxy->step > 0);
  uvws__set_error(ws, UVWS_EPROXY,
                  authenticating ? "the proxy closed the connection during authentication "
                                   "(credentials refused?)"
                  : hs->proxy->user ? "the proxy closed the connection"
                                    : "the proxy closed the connection (does it need credentials?)",
                  0);
}

const char *uvws__client_timeout_msg(const uvws_t *ws) {
  const client_hs_t *hs = ws->hs;
  return hs && hs->proxy_phase ? "timed out waiting for the proxy to open the tunnel"
                               : "opening handshake has timed out";
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

/* ------------------------------------------------------------------ */
/* Redirects                                                           */
/* ------------------------------------------------------------------ */

static int chain_push(client_hs_t *hs, const char *url) {
  char **c = realloc(hs->chain, (hs->num_chain + 1) * sizeof(*c));
  if (!c) return UVWS_ENOMEM;
  hs->chain = c;
  if (!(c[hs->num_chain] = strdup(url))) return UVWS_ENOMEM;
  hs->num_chain++;
  return 0;
}

static int is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* The absolute URL a Location points to from `base` (malloc'd), or NULL.
 * http(s):// becomes ws(s)://, as ws does. */
static char *resolve_location(const uvws_url_t *base, const char *loc, size_t n) {
  static const struct { const char *from, *to; } schemes[] = {
      {"ws://", "ws://"}, {"wss://", "wss://"}, {"http://", "ws://"}, {"https://", "wss://"}};
  char *out = NULL;
  for (size_t i = 0; i < 4; i++) {
    size_t fl = strlen(schemes[i].from);
    if (n >= fl && strncasecmp(loc, schemes[i].from, fl) == 0) {
      if (base->unix_path) return NULL; /* cannot leave the socket */
      out = malloc(strlen(schemes[i].to) + n - fl + 1);
      if (out) sprintf(out, "%s%.*s", schemes[i].to, (int)(n - fl), loc + fl);
      return out;
    }
  }
  if (n >= 2 && loc[0] == '/' && loc[1] == '/') { /* scheme-relative */
    if (base->unix_path) return NULL;
    out = malloc(n + 8);
    if (out) sprintf(out, "%s:%.*s", base->secure ? "wss" : "ws", (int)n, loc);
    return out;
  }
  /* A path: absolute, or relative to the current path's directory. */
  size_t dir = 0;
  if (n == 0 || loc[0] != '/') {
    const char *pq = base->path_query;
    size_t plen = strcspn(pq, "?");
    for (size_t i = 0; i < plen; i++)
      if (pq[i] == '/') dir = i + 1;
  }
  size_t cap = strlen(base->host_header) + (base->unix_path ? strlen(base->unix_path) : 0) + dir + n + 16;
  if (!(out = malloc(cap))) return NULL;
  if (base->unix_path)
    snprintf(out, cap, "ws+unix:%s:%.*s%.*s", base->unix_path, (int)dir, base->path_query, (int)n, loc);
  else
    snprintf(out, cap, "%s://%s%.*s%.*s", base->secure ? "wss" : "ws", base->host_header, (int)dir,
             base->path_query, (int)n, loc);
  return out;
}

static int same_origin(const uvws_url_t *a, const uvws_url_t *b) {
  if (a->unix_path || b->unix_path)
    return a->unix_path && b->unix_path && strcmp(a->unix_path, b->unix_path) == 0;
  return a->secure == b->secure && a->port == b->port && strcasecmp(a->host, b->host) == 0;
}

static int is_credential(const uvws_header_t *h) {
  return uvws_strieq(h->name, h->name_len, "authorization") ||
         uvws_strieq(h->name, h->name_len, "cookie") ||
         uvws_strieq(h->name, h->name_len, "proxy-authorization");
}

static void fail_redirect(uvws_t *ws, const char *why, const char *url) {
  char msg[256];
  snprintf(msg, sizeof(msg), "%s%s%.200s", why, url ? ": " : "", url ? url : "");
  uvws__set_error(ws, UVWS_EREDIRECT, msg, 1);
  uvws__conn_abort(ws, 0, NULL);
}

/* A 3xx arrived: check it, then dial its Location on the same handle.
 * Returns 1 when the response was handled here (followed or failed). */
static int follow_redirect(uvws_t *ws, const uvws_http_t *res) {
  client_hs_t *hs = ws->hs;
  if (!hs->opts.max_redirects || !is_redirect(res->status)) return 0;
  size_t n;
  const char *loc = uvws_http_header(res, "location", &n);
  char *url = loc ? resolve_location(&hs->url, loc, n) : NULL;
  uvws_url_t next;
  if (!url || uvws_url_parse(url, &next) < 0) {
    free(url);
    fail_redirect(ws, loc ? "bad redirect Location" : "redirect without a Location", NULL);
    return 1;
  }
  const char *why = NULL;
  if (hs->num_chain > hs->opts.max_redirects) why = "too many redirects";
  else if (hs->url.secure && !next.secure) why = "redirect from wss:// to ws:// refused";
  else if (!hs->url.unix_path != !next.unix_path) why = "redirect between a Unix socket and TCP refused";
  else if (next.unix_path && !uvws__unix_path_ok(next.unix_path)) why = "bad redirect Location";
  for (unsigned i = 0; !why && i < hs->num_chain; i++)
    if (strcmp(hs->chain[i], url) == 0) why = "redirect loop";
  if (why || chain_push(hs, url) < 0) {
    fail_redirect(ws, why ? why : "out of memory", url);
    uvws_url_free(&next);
    free(url);
    return 1;
  }
  if (!same_origin(&hs->url, &next)) hs->cross_origin = 1;
  /* The request for the next hop: a new key, the new Host and path, and no
   * credentials once they would reach another origin. */
  int status = res->status; /* res lives in the head about to be reset */
  uvws_client_options_t o = hs->opts;
  uvws_header_t kept[64];
  if (hs->cross_origin) {
    size_t k = 0;
    for (size_t i = 0; i < o.num_headers && k < 64; i++)
      if (!is_credential(&o.headers[i])) kept[k++] = o.headers[i];
    o.headers = kept;
    o.num_headers = k;
  }
  char offer[192];
  size_t offer_len = o.deflate ? uvws_pmd_client_offer(o.deflate, offer, sizeof(offer)) : 0;
  char *req = NULL;
  size_t req_len = 0;
  if (uvws_make_key(hs->key) == 0)
    req = uvws_build_request(next.host_header, next.path_query, hs->key, &o,
                             offer_len ? offer : NULL, &req_len);
  client_conn_t *cc = (client_conn_t *)ws;
  char *url_copy = req ? strdup(url) : NULL;
  int r = req && url_copy ? 0 : UVWS_ENOMEM;
  if (r < 0) {
    free(req);
    free(url_copy);
    free(url);
    uvws_url_free(&next);
    uvws__conn_abort(ws, r, NULL);
    return 1;
  }
  free(hs->request);
  hs->request = req;
  hs->request_len = req_len;
  uvws_url_free(&hs->url);
  hs->url = next;
  free(cc->url);
  cc->url = url_copy;
  uvws_head_free(&hs->head);
  uvws_head_init(&hs->head, 1, o.max_response_bytes, 128);
  if (hs->ai) uv_freeaddrinfo(hs->ai);
  hs->ai = hs->cur = NULL;
  if (ws->conf->cb.on_redirect) {
    ws->conf->cb.on_redirect(ws, status, url);
    if (ws->flags & F_HANDLE_CLOSING) {
      free(url);
      return 1;
    }
  }
  free(url);
  hs->redirecting = 1;
  uvws__close_for_reconnect(ws);
  return 1;
}

void uvws__client_on_read(uvws_t *ws, const uint8_t *data, size_t len) {
  client_hs_t *hs = ws->hs;
  if (hs->proxy_phase) {
    proxy_on_read(ws, data, len);
    return;
  }
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
  if (follow_redirect(ws, res)) return;
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
  const char *proxy = opts->proxy;
  if (!proxy && opts->proxy_from_env && !hs->url.unix_path)
    proxy = uvws__proxy_from_env(hs->url.secure, hs->url.host, hs->url.port);
  if (proxy && !hs->url.unix_path) {
    if (!(hs->proxy = calloc(1, sizeof(*hs->proxy)))) {
      hs_free(hs);
      return UVWS_ENOMEM;
    }
    if (uvws__proxy_parse(proxy, hs->proxy) < 0) {
      free(hs->proxy);
      hs->proxy = NULL;
      uvws__set_last_error("invalid proxy URL (http://, socks5:// or socks5h://, host and port)");
      hs_free(hs);
      return UVWS_EINVAL;
    }
  }
  uvws_tls_ctx_t *tls = NULL;
  if (opts->max_redirects) {
    /* A later hop builds its request from these, maybe over TLS. */
    if ((r = uvws__copts_copy(&hs->opts, opts, &hs->opts_mem)) < 0 ||
        (r = chain_push(hs, url)) < 0) {
      hs_free(hs);
      return r;
    }
    char err[256];
    r = uvws__tls_client_ctx(opts->tls, &hs->tls_ctx, err, sizeof(err));
    if (r < 0) {
      uvws__set_last_error(err);
      hs_free(hs);
      return r;
    }
  }
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
  if (cc) cc->url = strdup(url);
  uvws_loopctx_t *lc = hs->request && cc && cc->url ? uvws__loopctx_get(loop) : NULL;
  if (!lc) {
    if (cc) free(cc->url);
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
      free(cc->url);
      free(cc);
      uvws__loopctx_put(lc, NULL, NULL);
      return r;
    }
  }
  uvws__conn_init(ws, lc, UVWS__CONN_CLIENT | (hs->url.unix_path ? UVWS__CONN_PIPE : 0),
                  &cc->conf);
  ws->tcp.data = data;
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

  start_dial(ws);
  *out = ws;
  return 0;
}

/* Resolve and connect to hs->url (the handle is initialized). */
static void start_dial(uvws_t *ws) {
  client_hs_t *hs = ws->hs;
  if (hs->url.unix_path) {
    /* No name to resolve; a failure (no such file, nobody listening)
     * arrives in on_connect like a refused TCP connection. */
    uv_pipe_connect(&hs->connect, &ws->pipe, hs->url.unix_path, on_connect);
    return;
  }
  char port[8];
  snprintf(port, sizeof(port), "%d", hs->proxy ? hs->proxy->port : hs->url.port);
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  ws->pending_reqs++;
  int r = uv_getaddrinfo(ws->lc->loop, &hs->gai, on_resolved,
                         hs->proxy ? hs->proxy->host : hs->url.host, port, &hints);
  if (r < 0) {
    /* Report it like any later failure: the handle exists already. */
    ws->pending_reqs--;
    uvws__conn_abort(ws, r, "could not resolve the host name");
  }
}

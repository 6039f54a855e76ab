/* A client that comes back by itself: it dials, and after every failed
 * attempt or ended connection waits a backoff delay and dials again, until
 * told to stop or a failure that retrying cannot fix. */
#include "uvws_internal.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct uvws_dialer_s {
  uv_loop_t *loop;
  uv_timer_t timer;
  char *url;
  uvws_client_options_t opts;   /* deep copy */
  void *opts_mem;
  uvws_reconnect_policy_t policy;
  uvws_callbacks_t user;        /* the caller's callbacks */
  uvws_callbacks_t cb;          /* what each connection gets */
  uvws_retry_cb on_retry;
  void *data;
  uvws_t *conn;                 /* connecting or open, else NULL */
  unsigned retries;             /* consecutive retries since the last open */
  /* the current attempt */
  int opened, status, err, cert_failed;
  char msg[256];
  /* closing */
  int closing, timer_closed;
  void (*close_cb)(uvws_dialer_t *d);
};

void uvws_reconnect_policy_init(uvws_reconnect_policy_t *p) {
  memset(p, 0, sizeof(*p));
  p->initial_delay_ms = 1000;
  p->factor = 2.0;
  p->max_delay_ms = 30000;
  p->jitter = 1;
}

static void dial(uvws_dialer_t *d);

static void maybe_free(uvws_dialer_t *d) {
  if (!d->closing || !d->timer_closed || d->conn) return;
  void (*cb)(uvws_dialer_t *) = d->close_cb;
  uvws__copts_free(d->opts_mem);
  free(d->url);
  if (cb) cb(d);
  free(d);
}

static void on_timer_closed(uv_handle_t *h) {
  uvws_dialer_t *d = h->data;
  d->timer_closed = 1;
  maybe_free(d);
}

static void on_timer(uv_timer_t *t) {
  uvws_dialer_t *d = t->data;
  dial(d);
}

static unsigned backoff(const uvws_reconnect_policy_t *p, unsigned n) {
  double ceiling = p->initial_delay_ms;
  for (unsigned i = 1; i < n && ceiling < p->max_delay_ms; i++) ceiling *= p->factor;
  if (ceiling > p->max_delay_ms) ceiling = p->max_delay_ms;
  unsigned c = (unsigned)ceiling;
  if (!p->jitter || c == 0) return c;
  uint32_t r;
  if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1) r = 0;
  return (unsigned)((uint64_t)r * ((uint64_t)c + 1) >> 32); /* [0, c] */
}

static int is_fatal(const uvws_dialer_t *d) {
  if (d->opened) return 0;
  /* The server said no (4xx), or sent us elsewhere without max_redirects
   * (3xx): asking again gets the same answer. 429 asks to come back. */
  if (d->err == UVWS_ESTATUS && d->status >= 300 && d->status < 500 && d->status != 429)
    return 1;
  if (d->err == UVWS_EREDIRECT) return 1;
  if (d->err == UVWS_ETLS && d->cert_failed) return 1;
  return d->err == UVWS_EURL;
}

/* An attempt failed or a connection ended: tell, then wait and dial again
 * (or give up). */
static void schedule(uvws_dialer_t *d, int close_code) {
  if (d->closing) return;
  uvws_retry_t info;
  memset(&info, 0, sizeof(info));
  info.err = d->err;
  info.msg = d->err ? d->msg : "";
  info.status = d->opened ? 0 : d->status;
  info.close_code = d->opened ? close_code : 0;
  if (d->opened) d->retries = 0;
  if (is_fatal(d) || (d->policy.max_retries && d->retries >= d->policy.max_retries)) {
    info.fatal = 1;
  } else {
    info.attempt = ++d->retries;
    info.delay_ms = backoff(&d->policy, info.attempt);
    uv_timer_start(&d->timer, on_timer, info.delay_ms, 0);
  }
  if (d->on_retry) d->on_retry(d, &info);
}

static void w_open(uvws_t *ws, const uvws_http_t *res) {
  uvws_dialer_t *d = uvws_get_dialer(ws);
  d->opened = 1;
  d->retries = 0;
  if (d->user.on_open) d->user.on_open(ws, res);
}

static void w_response(uvws_t *ws, const uvws_http_t *res) {
  uvws_dialer_t *d = uvws_get_dialer(ws);
  d->status = res->status;
  if (d->user.on_response) d->user.on_response(ws, res);
}

static void w_error(uvws_t *ws, int err, const char *msg) {
  uvws_dialer_t *d = uvws_get_dialer(ws);
  d->err = err;
  snprintf(d->msg, sizeof(d->msg), "%s", msg ? msg : "");
  d->cert_failed = err == UVWS_ETLS && uvws__tls_verify_failed(ws);
  if (d->user.on_error) d->user.on_error(ws, err, msg);
}

static void w_close(uvws_t *ws, int code, const char *reason, size_t len) {
  uvws_dialer_t *d = uvws_get_dialer(ws);
  if (d->user.on_close) d->user.on_close(ws, code, reason, len);
  d->conn = NULL;
  schedule(d, code);
  maybe_free(d);
}

static void dial(uvws_dialer_t *d) {
  d->opened = d->status = d->err = d->cert_failed = 0;
  d->msg[0] = 0;
  int r = uvws__client_connect(d->loop, d->url, &d->opts, &d->cb, d->data, d, &d->conn);
  if (r < 0) {
    /* Out of memory, a TLS file gone: reported like a failed attempt. */
    d->conn = NULL;
    d->err = r;
    snprintf(d->msg, sizeof(d->msg), "%s", uvws_last_error()[0] ? uvws_last_error() : uvws_strerror(r));
    schedule(d, 0);
  }
}

int uvws_dial(uv_loop_t *loop, const char *url, const uvws_client_options_t *opts,
              const uvws_reconnect_policy_t *policy, const uvws_callbacks_t *callbacks,
              uvws_retry_cb on_retry, void *data, uvws_dialer_t **out) {
  uvws_client_options_t defaults;
  if (!loop || !url || !out) return UVWS_EINVAL;
  *out = NULL;
  if (!opts) {
    uvws_client_options_init(&defaults);
    opts = &defaults;
  }
  if (policy && (!(policy->factor >= 1.0) || policy->max_delay_ms < policy->initial_delay_ms))
    return UVWS_EINVAL;
  uvws_dialer_t *d = calloc(1, sizeof(*d));
  if (!d || !(d->url = strdup(url))) {
    free(d);
    return UVWS_ENOMEM;
  }
  if (uvws__copts_copy(&d->opts, opts, &d->opts_mem) < 0) {
    free(d->url);
    free(d);
    return UVWS_ENOMEM;
  }
  if (policy) d->policy = *policy;
  else uvws_reconnect_policy_init(&d->policy);
  d->loop = loop;
  if (callbacks) d->user = *callbacks;
  d->cb = d->user;
  d->cb.on_open = w_open;
  d->cb.on_response = w_response;
  d->cb.on_error = w_error;
  d->cb.on_close = w_close;
  d->on_retry = on_retry;
  d->data = data;
  /* The first dial checks the URL and options synchronously: a mistake
   * there is the caller's, not a reason to retry. */
  int r = uvws__client_connect(loop, d->url, &d->opts, &d->cb, data, d, &d->conn);
  if (r < 0) {
    uvws__copts_free(d->opts_mem);
    free(d->url);
    free(d);
    return r;
  }
  uv_timer_init(loop, &d->timer);
  d->timer.data = d;
  *out = d;
  return 0;
}

uvws_t *uvws_dialer_conn(const uvws_dialer_t *d) { return d ? d->conn : NULL; }

void *uvws_dialer_get_data(const uvws_dialer_t *d) { return d ? d->data : NULL; }

int uvws_dialer_close(uvws_dialer_t *d, int code, const char *reason, size_t len,
                      void (*cb)(uvws_dialer_t *d)) {
  if (!d) return UVWS_EINVAL;
  if (d->closing) return UVWS_ECLOSED;
  d->closing = 1;
  d->close_cb = cb;
  uv_close((uv_handle_t *)&d->timer, on_timer_closed);
  if (d->conn) {
    if (uvws_ready_state(d->conn) == UVWS_OPEN) {
      if (uvws_close(d->conn, code, reason, len) < 0) uvws_terminate(d->conn);
    } else if (uvws_ready_state(d->conn) == UVWS_CONNECTING) {
      uvws_terminate(d->conn);
    }
  }
  return 0;
}

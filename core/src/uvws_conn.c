/* One WebSocket connection on a libuv TCP stream, server or client side:
 * the read path into the protocol engine, the write path (cork, direct
 * writev, queue under backpressure), the closing handshake and timeouts. */
#include "uvws_internal.h"
#include "uvws_close.h"
#include "uvws_mask.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Errors and teardown                                                 */
/* ------------------------------------------------------------------ */

uvws_aux_t *uvws__aux(uvws_t *ws) {
  if (!ws->aux) ws->aux = calloc(1, sizeof(*ws->aux));
  return ws->aux;
}

void uvws__set_error(uvws_t *ws, int err, const char *msg, int copy) {
  uvws_aux_t *a = uvws__aux(ws);
  if (!a || a->err) return; /* the first cause is the one worth reporting */
  a->err = err;
  if (copy && msg) {
    a->err_msg = strdup(msg);
  } else {
    a->err_static = msg;
  }
}

static void release_chunk(uvws_chunk_t *c) {
  if (c->release) c->release(c->orig, c->release_arg);
  free(c);
}

static void free_outq(uvws_t *ws) {
  uvws_outq_t *q = ws->outq;
  if (!q) return;
  for (uvws_chunk_t *c = q->head, *next; c; c = next) {
    next = c->next;
    release_chunk(c);
  }
  free(q);
  ws->outq = NULL;
}

static void conn_free(uvws_t *ws) {
  free_outq(ws);
  uvws__tls_free(ws);
  if (ws->rx) {
    uvws_proto_free(ws->rx);
    uvws_pool_free(&ws->lc->rxs, ws->rx);
    ws->rx = NULL;
  }
  if (ws->aux) {
    if (ws->aux->pmd) {
      uvws_pmd_free(ws->aux->pmd);
      free(ws->aux->pmd);
    }
    free(ws->aux->protocol);
    free(ws->aux->close_reason);
    free(ws->aux->err_msg);
    free(ws->aux->pong);
    free(ws->aux);
  }
  uvws_loopctx_t *lc = ws->lc;
#ifdef UVWS_DEBUG
  uvws__quarantine(lc, ws);
#else
  if (ws->flags & F_CLIENT) free(ws); /* inside its client_conn_t */
  else uvws_pool_free(&lc->conns, ws);
#endif
  /* A paused connection has no active handle, yet its timeouts must run
   * and the loop must not end under it: the tick holds the loop while any
   * connection lives. */
  if (--lc->live == 0) uv_unref((uv_handle_t *)&lc->tick);
  uvws__loopctx_put(lc, NULL, NULL);
}

static void count_close(uvws_t *ws) {
  uvws_stats_t *st = &ws->conf->stats;
  switch (ws->close_code) {
    case UVWS_CLOSE_NORMAL: st->closes_normal++; break;
    case UVWS_CLOSE_GOING_AWAY: st->closes_going_away++; break;
    case UVWS_CLOSE_NO_STATUS: st->closes_no_status++; break;
    case UVWS_CLOSE_ABNORMAL: st->closes_abnormal++; break;
    default: st->closes_other++; break;
  }
  /* Failures we detected ourselves, by cause. */
  int err = ws->aux ? ws->aux->err : 0;
  if (ws->flags & F_FAILED) {
    switch (ws->close_code) {
      case UVWS_CLOSE_PROTOCOL_ERROR: st->errors_protocol++; break;
      case UVWS_CLOSE_INVALID_PAYLOAD: st->errors_invalid_payload++; break;
      case UVWS_CLOSE_TOO_BIG: st->errors_too_big++; break;
      default: break;
    }
  } else if (err == UVWS_EBACKPRESSURE) {
    st->errors_backpressure++;
  } else if (err == UVWS_ETIMEDOUT) {
    st->errors_timeout++;
  } else if (err < 0 && err > -4096) {
    st->errors_socket++; /* libuv's UV_E* codes */
  }
}

static void on_handle_closed(uv_handle_t *h) {
  uvws_t *ws = (uvws_t *)h;
  if ((ws->flags & F_CLIENT) && uvws__client_on_handle_closed(ws)) return;
  ws->state = UVWS_CLOSED;
  /* Writes were cancelled before this callback; their chunks are gone. */
  free_outq(ws);
  if (ws->aux && ws->aux->subs) uvws__pubsub_conn_gone(ws);
  uvws__pings_cancel(ws); /* before on_close: the last callback */
  if (ws->flags & F_EXPOSED) {
    const uvws_callbacks_t *cb = &ws->conf->cb;
    uvws_aux_t *a = ws->aux;
    count_close(ws);
    if (a && a->err && cb->on_error)
      cb->on_error(ws, a->err,
                   a->err_msg ? a->err_msg : a->err_static ? a->err_static : uvws_strerror(a->err));
    if (cb->on_close)
      cb->on_close(ws, ws->close_code, a && a->close_reason ? a->close_reason : "",
                   a ? a->close_reason_len : 0);
#ifdef UVWS_DEBUG
    ws->magic = UVWS__DEAD; /* the user's pointer is invalid from here */
#endif
  }
  if (!(ws->flags & F_CLIENT)) uvws__server_conn_gone(ws);
  else uvws__client_conn_gone(ws);
  if (ws->pending_reqs == 0) conn_free(ws);
}

static void close_handle(uvws_t *ws) {
  if (ws->flags & F_RECONNECT) {
    /* Closing already, only to dial again: make it the end instead. */
    ws->flags &= ~F_RECONNECT;
    return;
  }
  if (ws->flags & F_HANDLE_CLOSING) return;
  ws->flags |= F_HANDLE_CLOSING;
  if (ws->flags & F_KICK) uvws__fanout_forget(ws);
  uvws_loopctx_t *lc = ws->lc;
  if (lc->cork_owner == ws) {
    lc->cork_owner = NULL;
    lc->cork_len = 0;
    uv_unref((uv_handle_t *)&lc->prepare);
  }
  uvws__rx_stop(ws);
  uv_close((uv_handle_t *)&ws->tcp, on_handle_closed);
}

void uvws__close_for_reconnect(uvws_t *ws) {
  /* F_HANDLE_CLOSING stops everything still running on this handle (a TLS
   * read loop, a write); the client clears both flags once it is closed. */
  ws->flags |= F_RECONNECT | F_HANDLE_CLOSING;
  uv_close((uv_handle_t *)&ws->tcp, on_handle_closed);
}

void uvws__conn_abort(uvws_t *ws, int err, const char *msg) {
  if (err) uvws__set_error(ws, err, msg, 0);
  close_handle(ws);
}

void uvws__conn_release_req(uvws_t *ws) {
  if (--ws->pending_reqs == 0 && ws->state == UVWS_CLOSED) conn_free(ws);
}

/* ------------------------------------------------------------------ */
/* Write path                                                          */
/* ------------------------------------------------------------------ */

static void maybe_shutdown(uvws_t *ws);
static void on_write(uv_write_t *req, int status);
static void send_owed_pong(uvws_t *ws);

static uvws_outq_t *outq_get(uvws_t *ws) {
  if (ws->outq) return ws->outq;
  /* Not calloc: the write request and the buffer array (most of its ~740
   * bytes) are filled before use, and a fan-out turn makes one of these
   * per subscriber. */
  uvws_outq_t *q = malloc(sizeof(*q));
  if (q) {
    q->head = q->tail = NULL;
    q->bytes = 0;
    q->inflight = 0;
    q->writing = 0;
  }
  return ws->outq = q;
}

static int queue_append(uvws_t *ws, const uint8_t *p, size_t n,
                        void (*release)(const void *, void *), void *arg,
                        const void *orig) {
  uvws_outq_t *q = outq_get(ws);
  uvws_chunk_t *c = malloc(sizeof(*c) + (release ? 0 : n));
  if (!q || !c) {
    free(c);
    if (release) release(orig, arg);
    return UVWS_ENOMEM;
  }
  c->next = NULL;
  c->release = release;
  c->release_arg = arg;
  c->orig = orig;
  c->len = n;
  c->cap = release ? 0 : n;
  if (release) {
    c->data = p;
  } else {
    memcpy(c->buf, p, n);
    c->data = c->buf;
  }
  if (q->tail) q->tail->next = c;
  else q->head = c;
  q->tail = c;
  q->bytes += n;
  return 0;
}

static void queue_kick(uvws_t *ws) {
  uvws_outq_t *q = ws->outq;
  if (!q || q->writing || !q->head || (ws->flags & F_HANDLE_CLOSING)) return;
  unsigned n = 0;
  for (uvws_chunk_t *c = q->head; c && n < UVWS_MAX_WRITE_BUFS; c = c->next) {
    q->bufs[n++] = uv_buf_init((char *)c->data, (unsigned)c->len);
    c->cap = 0; /* its length is in the write now: no more appending */
  }
  q->inflight = n;
  q->req.data = ws;
  int r = uv_write(&q->req, (uv_stream_t *)&ws->tcp, q->bufs, n, on_write);
  if (r < 0) {
    uvws__conn_abort(ws, r, NULL);
    return;
  }
  q->writing = 1;
}

/* The queue went empty: free it, then what waited for that. May run user
 * code (on_drain). */
static void queue_drained(uvws_t *ws) {
  free(ws->outq);
  ws->outq = NULL;
  /* The peer reads again: the pong it is owed goes first. */
  if (ws->aux && ws->aux->pong_owed) send_owed_pong(ws);
  maybe_shutdown(ws);
  if ((ws->flags & F_NEED_DRAIN) && !(ws->flags & F_HANDLE_CLOSING)) {
    ws->flags &= ~F_NEED_DRAIN;
    if (ws->conf->cb.on_drain && ws->state == UVWS_OPEN) ws->conf->cb.on_drain(ws);
  }
}

static void on_write(uv_write_t *req, int status) {
  uvws_t *ws = req->data;
  uvws_outq_t *q = ws->outq;
  q->writing = 0;
  for (unsigned i = 0; i < q->inflight && q->head; i++) {
    uvws_chunk_t *c = q->head;
    q->head = c->next;
    if (!q->head) q->tail = NULL;
    q->bytes -= c->len;
    release_chunk(c);
  }
  q->inflight = 0;
  if (status < 0) {
    if (status != UV_ECANCELED) uvws__conn_abort(ws, status, NULL);
    return;
  }
  if (ws->flags & F_HANDLE_CLOSING) return;
  if (q->head) {
    queue_kick(ws);
    return;
  }
  queue_drained(ws);
}

/* Write the queue now, as far as the socket takes it without blocking:
 * one writev and no write request, so a connection that had a few batched
 * frames this turn costs one syscall and no callback a turn later. What the
 * socket does not take goes through queue_kick. */
static void queue_flush(uvws_t *ws) {
  uvws_outq_t *q = ws->outq;
  if (!q || q->writing || !q->head || (ws->flags & F_HANDLE_CLOSING)) return;
  unsigned n = 0;
  for (uvws_chunk_t *c = q->head; c && n < UVWS_MAX_WRITE_BUFS; c = c->next)
    q->bufs[n++] = uv_buf_init((char *)c->data, (unsigned)c->len);
  int r = uv_try_write((uv_stream_t *)&ws->tcp, q->bufs, n);
  if (r < 0 && r != UV_EAGAIN && r != UV_ENOSYS) {
    uvws__conn_abort(ws, r, NULL);
    return;
  }
  size_t done = r > 0 ? (size_t)r : 0;
  while (done && q->head) {
    uvws_chunk_t *c = q->head;
    if (done < c->len) {
      /* Partly written: it is closed to appends from here (data != buf). */
      c->data += done;
      c->len -= done;
      q->bytes -= done;
      break;
    }
    done -= c->len;
    q->bytes -= c->len;
    q->head = c->next;
    if (!q->head) q->tail = NULL;
    release_chunk(c);
  }
  if (q->head) queue_kick(ws);
  else queue_drained(ws);
}

/* Write `bufs` now, as far as the socket takes them, and queue the rest.
 * The last buffer may be owned (release != NULL): its unwritten part is
 * referenced rather than copied. */
int uvws__sock_write(uvws_t *ws, uv_buf_t *bufs, unsigned n,
                     void (*release)(const void *, void *), void *arg,
                     const void *orig) {
  if (ws->flags & F_HANDLE_CLOSING) {
    if (release) release(orig, arg);
    return UVWS_ECLOSED;
  }
  /* Behind queued data nothing may overtake: skip straight to queueing. */
  int r = (ws->outq && ws->outq->head) ? UV_EAGAIN
                                       : uv_try_write((uv_stream_t *)&ws->tcp, bufs, n);
  size_t done = 0;
  if (r >= 0) {
    done = (size_t)r;
  } else if (r != UV_EAGAIN && r != UV_ENOSYS) {
    if (release) release(orig, arg);
    uvws__conn_abort(ws, r, NULL);
    return r;
  }
  for (unsigned i = 0; i < n; i++) {
    size_t len = bufs[i].len;
    if (done >= len) {
      done -= len;
      continue;
    }
    const uint8_t *p = (const uint8_t *)bufs[i].base + done;
    size_t rest = len - done;
    done = 0;
    int last_owned = release && i == n - 1;
    r = queue_append(ws, p, rest, last_owned ? release : NULL, arg, orig);
    if (r < 0) {
      if (release && !last_owned) release(orig, arg);
      uvws__conn_abort(ws, r, NULL);
      return r;
    }
    if (last_owned) release = NULL; /* the queue owns it now */
  }
  if (release) release(orig, arg);
  queue_kick(ws);
  return ws->outq && ws->outq->head ? UVWS_SEND_QUEUED : UVWS_SEND_OK;
}

/* Write plaintext: through TLS when the connection has it. */
static int write_now(uvws_t *ws, uv_buf_t *bufs, unsigned n,
                     void (*release)(const void *, void *), void *arg,
                     const void *orig) {
  if (!ws->tls) return uvws__sock_write(ws, bufs, n, release, arg, orig);
  /* OpenSSL copies as it encrypts, so an owned buffer is free at once. */
  int r = uvws__tls_write(ws, bufs, n);
  if (release) release(orig, arg);
  if (r < 0) return r;
  return ws->outq && ws->outq->head ? UVWS_SEND_QUEUED : UVWS_SEND_OK;
}

void uvws__uncork(uvws_loopctx_t *lc) {
  uvws_t *ws = lc->cork_owner;
  if (!ws) return;
  uv_buf_t b = uv_buf_init((char *)lc->cork, (unsigned)lc->cork_len);
  lc->cork_owner = NULL;
  lc->cork_len = 0;
  uv_unref((uv_handle_t *)&lc->prepare);
  /* The cork is reused as soon as this returns: anything the socket does
   * not take is copied into the queue. */
  write_now(ws, &b, 1, NULL, NULL, NULL);
  maybe_shutdown(ws);
}

size_t uvws_buffered_amount(const uvws_t *ws) {
  UVWS__CHECK(ws);
  size_t n = ws->outq ? ws->outq->bytes : 0;
  if (ws->lc->cork_owner == ws) n += ws->lc->cork_len;
  return n;
}

static void free_release(const void *p, void *arg) {
  (void)arg;
  free((void *)p);
}

/* As uWebSockets: a connection already holding max_backpressure bytes
 * takes no more, so memory stays within the limit plus one message.
 * Returns 0, UVWS_SEND_DROPPED, or UVWS_EBACKPRESSURE (connection closed). */
static int backpressure_check(uvws_t *ws) {
  const uvws_limits_t *lim = &ws->conf->limits;
  if (!lim->max_backpressure || uvws_buffered_amount(ws) < lim->max_backpressure) return 0;
  if (lim->close_on_backpressure) {
    UVWS__STAT(ws, sends_dropped, 1);
    uvws__set_error(ws, UVWS_EBACKPRESSURE, "max backpressure reached", 0);
    /* The queue is full: there is no room to say goodbye politely. */
    ws->close_code = UVWS_CLOSE_POLICY;
    close_handle(ws);
    return UVWS_EBACKPRESSURE;
  }
  UVWS__STAT(ws, sends_dropped, 1);
  return UVWS_SEND_DROPPED;
}

int uvws__send_frame(uvws_t *ws, const uint8_t *hdr, size_t hlen,
                     const void *data, size_t len,
                     void (*release)(const void *, void *), void *arg) {
  uvws_loopctx_t *lc = ws->lc;
  size_t total = hlen + len;
  const void *orig = data;
  /* Control frames (close, pong) are tiny and must never be dropped: a
   * close answer lost to a full queue would end the connection uncleanly. */
  int bp = (hdr[0] & 0x08) ? 0 : backpressure_check(ws);
  if (bp) {
    if (release) release(orig, arg);
    return bp;
  }

  int queued = ws->outq && ws->outq->head;
  if (!queued && total <= UVWS_CORK_SIZE) {
    /* Small frame: batch it with the other small frames of this turn. */
    if (lc->cork_owner != ws || lc->cork_len + total > UVWS_CORK_SIZE) {
      uvws__uncork(lc);
      if (ws->flags & F_HANDLE_CLOSING) {
        if (release) release(orig, arg);
        return UVWS_ECLOSED;
      }
      /* Our own cork may not have been written entirely: then its rest is
       * queued and this frame must follow it through the queue. */
      queued = ws->outq && ws->outq->head;
      if (!queued) {
        lc->cork_owner = ws;
        uv_ref((uv_handle_t *)&lc->prepare);
      }
    }
  }
  if (!queued && total <= UVWS_CORK_SIZE) {
    uint8_t *dst = lc->cork + lc->cork_len;
    memcpy(dst, hdr, hlen);
    if (ws->flags & F_CLIENT)
      uvws_mask_copy(dst + hlen, data, len, hdr + hlen - 4);
    else if (len)
      memcpy(dst + hlen, data, len);
    lc->cork_len += total;
    if (release) release(orig, arg);
    return UVWS_SEND_OK;
  }

  if (ws->flags & F_CLIENT && len) {
    /* The payload must be masked and the caller's bytes stay untouched, so
     * a client always sends a copy. */
    uint8_t *m = malloc(len);
    if (!m) {
      if (release) release(orig, arg);
      return UVWS_ENOMEM;
    }
    uvws_mask_copy(m, data, len, hdr + hlen - 4);
    if (release) release(orig, arg);
    data = orig = m;
    release = free_release;
    arg = NULL;
  }

  if (queued && ws->tls) {
    uv_buf_t b[2] = {uv_buf_init((char *)hdr, (unsigned)hlen), uv_buf_init((char *)data, (unsigned)len)};
    int r = write_now(ws, b, 2, release, arg, orig);
    if (r == UVWS_SEND_QUEUED) ws->flags |= F_NEED_DRAIN;
    return r;
  }
  if (queued) {
    int r = queue_append(ws, hdr, hlen, NULL, NULL, NULL);
    if (r == 0) r = queue_append(ws, data, len, release, arg, orig);
    else if (release) release(orig, arg);
    if (r < 0) {
      uvws__conn_abort(ws, r, NULL);
      return r;
    }
    queue_kick(ws);
    ws->flags |= F_NEED_DRAIN;
    return UVWS_SEND_QUEUED;
  }

  /* Large frame: one writev of what is corked, the header and the payload,
   * straight from the caller's memory. */
  uv_buf_t bufs[3];
  unsigned n = 0;
  if (lc->cork_owner == ws) {
    bufs[n++] = uv_buf_init((char *)lc->cork, (unsigned)lc->cork_len);
    lc->cork_owner = NULL;
    uv_unref((uv_handle_t *)&lc->prepare);
  } else {
    uvws__uncork(lc);
  }
  bufs[n++] = uv_buf_init((char *)hdr, (unsigned)hlen);
  bufs[n++] = uv_buf_init((char *)data, (unsigned)len);
  int r = write_now(ws, bufs, n, release, arg, orig);
  /* The corked bytes were written or copied into the queue: reuse it. */
  if (n == 3) lc->cork_len = 0;
  if (r == UVWS_SEND_QUEUED) ws->flags |= F_NEED_DRAIN;
  return r;
}

/* Batch chunks start small (most subscribers get a few small messages a
 * turn, and every subscriber holds one) and double while a turn fills
 * them, up to UVWS_BATCH_MAX. */
#define UVWS_BATCH_MIN 512
#define UVWS_BATCH_MAX (16 * 1024)

int uvws__queue_copy(uvws_t *ws, const uint8_t *hdr, size_t hlen,
                     const void *data, size_t len) {
  uvws_outq_t *q = outq_get(ws);
  if (!q) return UVWS_ENOMEM;
  size_t total = hlen + len;
  uvws_chunk_t *c = q->tail;
  if (!c || c->release || c->data != c->buf || c->len + total > c->cap) {
    /* An open chunk that is full: this turn sends a lot, take more. */
    size_t cap = c && !c->release && c->data == c->buf && c->cap ? c->cap * 2 : UVWS_BATCH_MIN;
    if (cap > UVWS_BATCH_MAX) cap = UVWS_BATCH_MAX;
    if (cap < total) cap = total;
    if (!(c = malloc(sizeof(*c) + cap))) return UVWS_ENOMEM;
    c->next = NULL;
    c->release = NULL;
    c->release_arg = NULL;
    c->orig = NULL;
    c->data = c->buf;
    c->len = 0;
    c->cap = cap;
    if (q->tail) q->tail->next = c;
    else q->head = c;
    q->tail = c;
  }
  memcpy(c->buf + c->len, hdr, hlen);
  if (len) memcpy(c->buf + c->len + hlen, data, len);
  c->len += total;
  q->bytes += total;
  return 0;
}

int uvws__queue_ref(uvws_t *ws, const uint8_t *data, size_t len,
                    void (*release)(const void *, void *), void *arg) {
  return queue_append(ws, data, len, release, arg, data);
}

void uvws__queue_kick(uvws_t *ws) { queue_kick(ws); }

void uvws__queue_flush(uvws_t *ws) { queue_flush(ws); }

int uvws__backpressure(uvws_t *ws) { return backpressure_check(ws); }

/* Build and send one frame. */
static int send_op_rsv(uvws_t *ws, unsigned op, int fin, unsigned rsv,
                       const void *data, size_t len,
                       void (*release)(const void *, void *), void *arg) {
  uint8_t hdr[UVWS_FRAME_MAX_HEADER], key[4];
  int client = (ws->flags & F_CLIENT) != 0;
  if (client) uvws__mask_key(ws->lc, key);
  size_t hlen = uvws_frame_header(hdr, op, fin, rsv, len, client ? key : NULL);
  return uvws__send_frame(ws, hdr, hlen, data, len, release, arg);
}

static int send_op(uvws_t *ws, unsigned op, int fin, const void *data,
                   size_t len, void (*release)(const void *, void *),
                   void *arg) {
  return send_op_rsv(ws, op, fin, 0, data, len, release, arg);
}

int uvws__write_raw(uvws_t *ws, const void *data, size_t len) {
  if (ws->flags & F_HANDLE_CLOSING) return UVWS_ECLOSED;
  uvws__uncork(ws->lc);
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  int r = write_now(ws, &b, 1, NULL, NULL, NULL);
  return r < 0 ? r : 0;
}

/* ------------------------------------------------------------------ */
/* Shutdown: flush, FIN, wait for the peer's FIN                       */
/* ------------------------------------------------------------------ */

static void on_shutdown(uv_shutdown_t *req, int status) {
  uvws_t *ws = req->data;
  free(req);
  if (status < 0 && status != UV_ECANCELED) close_handle(ws);
}

static void maybe_shutdown(uvws_t *ws) {
  if (!(ws->flags & F_SHUTDOWN) || (ws->flags & (F_SHUTDOWN_DONE | F_HANDLE_CLOSING)))
    return;
  if ((ws->outq && ws->outq->head) || ws->lc->cork_owner == ws) return;
  /* RFC 6455 section 7.1.1: the server closes TCP first; a client only
   * flushes its close frame and waits for the server's FIN (or TLS
   * close_notify), up to close_timeout_ms (uvws__conn_tick). Not when we
   * failed the connection for a protocol violation: a broken peer is not
   * waited for. */
  if ((ws->flags & (F_CLIENT | F_FAILED)) == F_CLIENT) return;
  if (ws->tls && uvws__tls_handshake_done(ws)) {
    uvws__tls_shutdown(ws); /* close_notify, once */
    if ((ws->outq && ws->outq->head) || (ws->flags & F_HANDLE_CLOSING)) return;
  }
  ws->flags |= F_SHUTDOWN_DONE;
  uv_shutdown_t *req = malloc(sizeof(*req));
  if (!req) {
    close_handle(ws);
    return;
  }
  req->data = ws;
  if (uv_shutdown(req, (uv_stream_t *)&ws->tcp, on_shutdown) < 0) {
    free(req);
    close_handle(ws);
  }
}

void uvws__shutdown(uvws_t *ws) {
  ws->flags |= F_SHUTDOWN;
  if (ws->state != UVWS_CLOSING) {
    ws->state = UVWS_CLOSING;
    ws->stamp = uvws__now(ws->lc) + ws->conf->limits.close_timeout_ms;
  }
  if (ws->lc->cork_owner == ws) uvws__uncork(ws->lc);
  /* Keep reading, even if paused, so that the peer's FIN is seen. */
  uvws__start_reading(ws);
  maybe_shutdown(ws);
}

/* ------------------------------------------------------------------ */
/* Read path                                                           */
/* ------------------------------------------------------------------ */

static int h_message(void *ctx, uint8_t *data, size_t len, int binary) {
  uvws_t *ws = ctx;
  UVWS__STAT(ws, messages_in, 1);
  UVWS__STAT(ws, bytes_in, len);
  if (ws->conf->cb.on_message) ws->conf->cb.on_message(ws, (const char *)data, len, binary);
  return (ws->flags & F_HANDLE_CLOSING) != 0;
}

static void send_owed_pong(uvws_t *ws) {
  uvws_aux_t *a = ws->aux;
  a->pong_owed = 0;
  if (ws->flags & (F_CLOSE_SENT | F_HANDLE_CLOSING)) return;
  UVWS__STAT(ws, pongs_out, 1);
  send_op(ws, UVWS_OP_PONG, 1, a->pong + 1, a->pong[0], NULL, NULL);
}

/* Answer a ping. A peer that sends pings and never reads would otherwise
 * make us queue one pong per ping without bound; RFC 6455 section 5.5.3
 * lets an endpoint answer only the most recent of several pings. So while
 * the send queue is not draining, the latest payload waits in one slot and
 * goes out when the queue empties (on_write): a ping flood costs at most
 * 126 bytes per connection, on both the server and the client side. */
static void answer_ping(uvws_t *ws, const uint8_t *data, size_t len) {
  if (ws->flags & F_CLOSE_SENT) return;
  if (ws->outq && ws->outq->head) {
    uvws_aux_t *a = uvws__aux(ws);
    if (a && !a->pong) a->pong = malloc(126);
    if (!a || !a->pong) {
      uvws__conn_abort(ws, UVWS_ENOMEM, NULL);
      return;
    }
    if (a->pong_owed) UVWS__STAT(ws, pongs_coalesced, 1);
    a->pong[0] = (uint8_t)len;
    memcpy(a->pong + 1, data, len);
    a->pong_owed = 1;
    return;
  }
  UVWS__STAT(ws, pongs_out, 1);
  send_op(ws, UVWS_OP_PONG, 1, data, len, NULL, NULL);
}

static int h_ping(void *ctx, uint8_t *data, size_t len) {
  uvws_t *ws = ctx;
  UVWS__STAT(ws, pings_in, 1);
  answer_ping(ws, data, len);
  if (ws->conf->cb.on_ping && !(ws->flags & F_HANDLE_CLOSING))
    ws->conf->cb.on_ping(ws, (const char *)data, len);
  return (ws->flags & F_HANDLE_CLOSING) != 0;
}

static int h_pong(void *ctx, uint8_t *data, size_t len) {
  uvws_t *ws = ctx;
  UVWS__STAT(ws, pongs_in, 1);
  uvws__pong_rcvd(ws, data, len);
  if (ws->flags & F_HANDLE_CLOSING) return 1;
  if (ws->conf->cb.on_pong) ws->conf->cb.on_pong(ws, (const char *)data, len);
  return (ws->flags & F_HANDLE_CLOSING) != 0;
}

static void send_close_frame(uvws_t *ws, int code, const char *reason, size_t len) {
  uint8_t payload[125];
  size_t n = uvws_close_build(payload, code, reason, len);
  ws->flags |= F_CLOSE_SENT; /* from here no pong is owed any more */
  send_op(ws, UVWS_OP_CLOSE, 1, payload, n, NULL, NULL);
}

static int h_close(void *ctx, int code, const uint8_t *reason, size_t len) {
  uvws_t *ws = ctx;
  ws->flags |= F_CLOSE_RCVD;
  ws->close_code = (uint16_t)code;
  uvws_aux_t *a = len ? uvws__aux(ws) : NULL;
  if (a && (a->close_reason = malloc(len + 1))) {
    memcpy(a->close_reason, reason, len);
    a->close_reason[len] = 0;
    a->close_reason_len = (uint16_t)len;
  }
  /* Echo the code, as the RFC asks, then the closing handshake is done on
   * our side: flush and send FIN. */
  if (!(ws->flags & F_CLOSE_SENT))
    send_close_frame(ws, code == UVWS_CLOSE_NO_STATUS ? 0 : code, NULL, 0);
  uvws__shutdown(ws);
  return 1;
}

static void h_fail(void *ctx, int code, int err, const char *why) {
  uvws_t *ws = ctx;
  ws->flags |= F_FAILED;
  ws->close_code = (uint16_t)code;
  uvws__set_error(ws, err, why, 0);
  if (!(ws->flags & F_CLOSE_SENT)) send_close_frame(ws, code, why, strlen(why));
  uvws__shutdown(ws);
}

static int h_inflate(void *ctx, const uint8_t *in, size_t len, size_t max,
                     uint8_t **out, size_t *out_len) {
  uvws_t *ws = ctx;
  if (!ws->aux || !ws->aux->pmd) return UVWS_EREMOTE;
  return uvws_pmd_inflate(ws->aux->pmd, in, len, max, out, out_len);
}

/* One reassembly buffer per loop is kept between messages (up to the size
 * of the shared read buffer): a loop delivers one message at a time, and
 * reusing it spares a malloc/free pair per large message, which with glibc
 * trimmed and regrew the heap's top (10x64k echo: 7-10 % more CPU once
 * connections no longer lived in the heap, uvws_pool.h). */
static uint8_t *h_buf_take(void *ctx, size_t need, size_t *cap) {
  uvws_loopctx_t *lc = ((uvws_t *)ctx)->lc;
  uint8_t *b = lc->msg_spare;
  if (!b || lc->msg_spare_cap < need) return NULL;
  *cap = lc->msg_spare_cap;
  lc->msg_spare = NULL;
  return b;
}

static void h_buf_give(void *ctx, uint8_t *buf, size_t cap) {
  uvws_loopctx_t *lc = ((uvws_t *)ctx)->lc;
  if (cap > UVWS_READ_BUF_SIZE || (lc->msg_spare && lc->msg_spare_cap >= cap)) {
    free(buf);
    return;
  }
  free(lc->msg_spare);
  lc->msg_spare = buf;
  lc->msg_spare_cap = cap;
}

static const uvws_proto_handler_t handler = {
    h_message, h_ping, h_pong, h_close, h_fail, h_inflate, h_buf_take, h_buf_give,
};

int uvws__conn_use_deflate(uvws_t *ws, const uvws_pmd_params_t *params,
                           const char *extensions) {
  uvws_loopctx_t *lc = ws->lc;
  uvws_aux_t *a = uvws__aux(ws);
  if (!a) return UVWS_ENOMEM;
  if (!lc->pmd && !(lc->pmd = uvws_pmd_shared_new())) return UVWS_ENOMEM;
  uvws_pmd_t *pmd = malloc(sizeof(*pmd));
  if (!pmd) return UVWS_ENOMEM;
  if (uvws_pmd_init(pmd, &ws->conf->deflate, params, !(ws->flags & F_CLIENT), lc->pmd,
                    extensions) < 0) {
    free(pmd);
    return UVWS_ENOMEM;
  }
  a->pmd = pmd; /* rx_feed allows RSV1 from now on */
  if (ws->rx) ws->rx->rsv_allowed = 0x4;
  return 0;
}

int uvws_compressed(const uvws_t *ws) {
  UVWS__CHECK(ws);
  return ws->aux && ws->aux->pmd;
}

const char *uvws_extensions(const uvws_t *ws) {
  UVWS__CHECK(ws);
  return ws->aux && ws->aux->pmd ? ws->aux->pmd->extensions : "";
}

/* The receive state at rest: between frames, no message or control payload
 * in progress, nothing allocated. Such a state is what uvws_proto_init()
 * makes, so it need not be kept. */
static int rx_at_rest(const uvws_proto_t *p) {
  return !p->fp.in_payload && p->fp.hdr_len == 0 && !p->msg_op && !p->msg && !p->ctl;
}

/* Feed received plaintext to the protocol engine. Most reads start and end
 * at a frame boundary (small messages): they are parsed with a uvws_proto_t
 * on the stack and nothing is kept. Only a read that ends inside a frame or
 * a fragmented message moves the state to the heap (ws->rx) until a later
 * read brings it back to rest. During the feed ws->rx points at the state in
 * use, so that a handler closing the connection (close_handle) frees its
 * buffers. Not reentrant: handlers never feed the same connection. */
static void rx_feed(uvws_t *ws, uint8_t *data, size_t len) {
  uvws_proto_t tmp, *p = ws->rx;
  if (!p) {
    p = &tmp;
    uvws_proto_init(p, !(ws->flags & F_CLIENT), ws->conf->limits.max_payload,
                    ws->conf->limits.max_fragments);
    if (ws->aux && ws->aux->pmd) p->rsv_allowed = 0x4;
    ws->rx = p;
  }
  uvws_proto_feed(p, data, len, &handler, ws);
  if (p->done) ws->rx_done = 1;
  if (p->done || rx_at_rest(p)) {
    uvws_proto_free(p); /* buffers of a failed or closed state */
    if (p != &tmp) uvws_pool_free(&ws->lc->rxs, p);
    ws->rx = NULL;
    return;
  }
  if (p != &tmp) return;
  /* From the loop's pool, not malloc: taking and giving back a small block
   * around each large message's buffer made glibc trim and regrow the top
   * of its heap (10x64k echo cost 7 % more CPU). */
  ws->rx = uvws_pool_alloc(&ws->lc->rxs);
  if (!ws->rx) {
    uvws_proto_free(p);
    ws->rx_done = 1;
    uvws__conn_abort(ws, UVWS_ENOMEM, "out of memory");
    return;
  }
  *ws->rx = tmp;
}

void uvws__rx_stop(uvws_t *ws) {
  ws->rx_done = 1;
  if (ws->rx) uvws_proto_free(ws->rx); /* freed with the connection */
}

size_t uvws__rx_target(const uvws_t *ws, uint8_t **buf) {
  return ws->rx ? uvws_proto_read_target(ws->rx, buf) : 0;
}

void uvws__alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  uvws_t *ws = (uvws_t *)h;
  uint8_t *p;
  size_t n;
  (void)suggested;
  if (ws->tls) {
    /* Ciphertext has a buffer of its own: decryption writes into rbuf. */
    uvws_loopctx_t *lc = ws->lc;
    if (!lc->tls_in) lc->tls_in = malloc(UVWS_TLS_IN_SIZE);
    *buf = uv_buf_init((char *)lc->tls_in, lc->tls_in ? UVWS_TLS_IN_SIZE : 0);
    return;
  }
  if (ws->state != UVWS_CONNECTING &&
      (n = uvws__rx_target(ws, &p)) >= UVWS_DIRECT_READ_MIN) {
    /* The rest of a large frame goes straight into its message buffer. */
    *buf = uv_buf_init((char *)p, n > (1u << 30) ? (1u << 30) : (unsigned)n);
    return;
  }
  *buf = uv_buf_init((char *)ws->lc->rbuf, UVWS_READ_BUF_SIZE);
}

void uvws__on_eof(uvws_t *ws) {
  if ((ws->flags & F_CLIENT) && ws->state == UVWS_CONNECTING) uvws__client_eof(ws);
  close_handle(ws);
}

void uvws__on_plain(uvws_t *ws, uint8_t *data, size_t len) {
  if (ws->state == UVWS_CONNECTING) {
    if (ws->flags & F_CLIENT) uvws__client_on_read(ws, data, len);
    else uvws__server_on_read(ws, data, len);
  } else if (!uvws__rx_done(ws)) {
    rx_feed(ws, data, len);
  }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  uvws_t *ws = (uvws_t *)s;
  if (nread == 0 || (ws->flags & F_HANDLE_CLOSING)) return;
  if (nread < 0) {
    if (nread != UV_EOF && !(ws->flags & (F_CLOSE_RCVD | F_FAILED)))
      uvws__set_error(ws, (int)nread, NULL, 0);
    uvws__on_eof(ws);
    return;
  }
  ws->last_rx = uvws__now(ws->lc);
  if (ws->flags & F_PING_OUT) ws->flags &= ~F_PING_OUT;
  if (ws->tls) uvws__tls_on_read(ws, (const uint8_t *)buf->base, (size_t)nread);
  else uvws__on_plain(ws, (uint8_t *)buf->base, (size_t)nread);
  if (ws->lc->cork_owner == ws) uvws__uncork(ws->lc);
}

void uvws__start_reading(uvws_t *ws) {
  if (ws->flags & (F_HANDLE_CLOSING | F_READING | F_DECIDING)) return;
  /* Paused means no more messages; while closing, the peer's close frame
   * and FIN must still be read. */
  if ((ws->flags & F_PAUSED) && !(ws->flags & F_SHUTDOWN) && ws->state != UVWS_CLOSING) return;
  if (uv_read_start((uv_stream_t *)&ws->tcp, uvws__alloc_cb, on_read) == 0)
    ws->flags |= F_READING;
}

void uvws__stop_reading(uvws_t *ws) {
  if (!(ws->flags & F_READING)) return;
  uv_read_stop((uv_stream_t *)&ws->tcp);
  ws->flags &= ~F_READING;
}

void uvws__conn_opened(uvws_t *ws, const uint8_t *extra, size_t extra_len) {
  if (ws->flags & F_HANDLE_CLOSING) return;
  if (ws->state == UVWS_CONNECTING) ws->state = UVWS_OPEN;
  ws->last_rx = uvws__now(ws->lc);
  if (extra_len && !uvws__rx_done(ws)) {
    /* Frames that arrived with the handshake; the proto unmasks in place,
     * so it works on a copy in the shared buffer (where they may already
     * be, hence memmove). */
    while (extra_len && !(ws->flags & F_HANDLE_CLOSING) && !uvws__rx_done(ws)) {
      size_t n = extra_len < UVWS_READ_BUF_SIZE ? extra_len : UVWS_READ_BUF_SIZE;
      memmove(ws->lc->rbuf, extra, n);
      rx_feed(ws, ws->lc->rbuf, n);
      extra += n;
      extra_len -= n;
    }
  }
  uvws__start_reading(ws);
}

void uvws__conn_init(uvws_t *ws, uvws_loopctx_t *lc, int kind,
                     uvws_conf_t *conf) {
  int is_client = (kind & UVWS__CONN_CLIENT) != 0;
#ifdef UVWS_DEBUG
  ws->magic = UVWS__LIVE;
#endif
  if (kind & UVWS__CONN_PIPE) uv_pipe_init(lc->loop, &ws->pipe, 0);
  else uv_tcp_init(lc->loop, &ws->tcp);
  ws->lc = lc;
  if (lc->live++ == 0) uv_ref((uv_handle_t *)&lc->tick);
  ws->conf = conf;
  ws->state = UVWS_CONNECTING;
  ws->close_code = UVWS_CLOSE_ABNORMAL;
  if (is_client) ws->flags |= F_CLIENT;
  ws->last_rx = uvws__now(lc);
}

/* ------------------------------------------------------------------ */
/* Timeouts                                                            */
/* ------------------------------------------------------------------ */

static int passed(uint32_t now, uint32_t deadline) {
  return (int32_t)(now - deadline) >= 0;
}

void uvws__conn_tick(uvws_t *ws, uint32_t now) {
  if (ws->flags & F_HANDLE_CLOSING) return;
  /* Nothing received for a whole tick: OpenSSL's buffers can go. */
  if (ws->tls && now - ws->last_rx >= UVWS_TICK_MS) uvws__tls_idle(ws);
  const uvws_limits_t *lim = &ws->conf->limits;
  switch (ws->state) {
    case UVWS_CONNECTING:
      if (passed(now, ws->stamp)) {
        UVWS__STAT(ws, handshake_timeouts, 1);
        uvws__conn_abort(ws, UVWS_ETIMEDOUT, (ws->flags & F_CLIENT) ? uvws__client_timeout_msg(ws)
                                                                     : "opening handshake has timed out");
      }
      break;
    case UVWS_OPEN: {
      uint32_t idle = now - ws->last_rx;
      if (ws->flags & F_PING_OUT) {
        if (passed(now, ws->stamp))
          uvws__conn_abort(ws, UVWS_ETIMEDOUT, "peer did not answer the ping in time");
      } else if (lim->idle_timeout_ms && idle >= lim->idle_timeout_ms) {
        uvws__set_error(ws, UVWS_ETIMEDOUT, "idle timeout", 0);
        uvws_close(ws, UVWS_CLOSE_GOING_AWAY, "idle timeout", 12);
      } else if (lim->ping_interval_ms && idle >= lim->ping_interval_ms) {
        ws->flags |= F_PING_OUT;
        ws->stamp = now + lim->pong_timeout_ms;
        UVWS__STAT(ws, pings_out, 1);
        if (send_op(ws, UVWS_OP_PING, 1, NULL, 0, NULL, NULL) >= 0)
          (void)uvws__ping_sent(ws, NULL, 0, NULL, NULL);
      }
      break;
    }
    case UVWS_CLOSING:
      if (passed(now, ws->stamp)) close_handle(ws);
      break;
  }
}

/* ------------------------------------------------------------------ */
/* Public connection API                                               */
/* ------------------------------------------------------------------ */

static int check_open(const uvws_t *ws) {
  if (!ws) return UVWS_EINVAL;
  if (ws->state == UVWS_CONNECTING) return UVWS_ENOTOPEN;
  if (ws->state != UVWS_OPEN || (ws->flags & (F_CLOSE_SENT | F_HANDLE_CLOSING)))
    return UVWS_ECLOSED;
  return 0;
}

/* Count a message (or fragment) the connection took. */
static int count_sent(uvws_t *ws, int r, size_t len, int fin) {
  if (r >= 0 && r != UVWS_SEND_DROPPED) {
    UVWS__STAT(ws, messages_out, fin);
    UVWS__STAT(ws, bytes_out, len);
  }
  return r;
}

static int send_message(uvws_t *ws, const void *data, size_t len, int flags,
                        void (*release)(const void *, void *), void *arg) {
  int r = check_open(ws);
  int type = flags & 0xff;
  if (r == 0 && type != UVWS_TEXT && type != UVWS_BINARY) r = UVWS_EINVAL;
  if (r == 0 && !data && len) r = UVWS_EINVAL;
  if (r < 0) {
    if (release) release(data, arg);
    return r;
  }
  int fin = !(flags & UVWS_MORE);
  unsigned op = ws->tx_op ? UVWS_OP_CONT : (unsigned)type;
  uvws_pmd_t *pmd = ws->aux ? ws->aux->pmd : NULL;
  /* Whole messages are compressed; fragmented sends go uncompressed, which
   * the extension allows message by message. */
  if (pmd && fin && !ws->tx_op && !(flags & UVWS_NO_COMPRESS) && uvws_pmd_wants(pmd, len)) {
    uint8_t *z;
    size_t zlen;
    /* Decide about backpressure first: a dropped message must not have
     * entered the compressor's context. */
    if ((r = backpressure_check(ws))) {
      if (release) release(data, arg);
      return r;
    }
    r = uvws_pmd_deflate(pmd, data, len, &z, &zlen);
    if (release) release(data, arg);
    if (r < 0) {
      uvws__set_error(ws, r, "compression failed", 0);
      close_handle(ws);
      return r;
    }
    /* The compressed bytes live in a buffer of the loop: copied as needed. */
    return count_sent(ws, send_op_rsv(ws, op, 1, 0x4, z, zlen, NULL, NULL), len, 1);
  }
  uint8_t prev = ws->tx_op;
  ws->tx_op = fin ? 0 : (uint8_t)type;
  r = send_op(ws, op, fin, data, len, release, arg);
  /* A fragment that did not go out leaves the message as it was, so that
   * the same send can be retried. */
  if (r < 0 || r == UVWS_SEND_DROPPED) ws->tx_op = prev;
  return count_sent(ws, r, len, fin);
}

int uvws__send_message(uvws_t *ws, const void *data, size_t len, int flags) {
  return send_message(ws, data, len, flags, NULL, NULL);
}

int uvws_send(uvws_t *ws, const void *data, size_t len, int flags) {
  UVWS__CHECK(ws);
  return send_message(ws, data, len, flags, NULL, NULL);
}

int uvws_send_owned(uvws_t *ws, const void *data, size_t len, int flags,
                    void (*release)(const void *data, void *arg), void *arg) {
  UVWS__CHECK(ws);
  if (!release) return UVWS_EINVAL;
  return send_message(ws, data, len, flags, release, arg);
}

static int send_control(uvws_t *ws, unsigned op, const void *data, size_t len) {
  int r = check_open(ws);
  if (r < 0) return r;
  if (len > 125 || (!data && len)) return UVWS_EINVAL;
  if (op == UVWS_OP_PING) UVWS__STAT(ws, pings_out, 1);
  else UVWS__STAT(ws, pongs_out, 1);
  r = send_op(ws, op, 1, data, len, NULL, NULL);
  if (r >= 0 && op == UVWS_OP_PING) (void)uvws__ping_sent(ws, data, len, NULL, NULL);
  return r < 0 ? r : 0;
}

int uvws_ping(uvws_t *ws, const void *data, size_t len) {
  UVWS__CHECK(ws);
  return send_control(ws, UVWS_OP_PING, data, len);
}

int uvws_ping_timed(uvws_t *ws, const void *data, size_t len, uvws_pong_cb cb, void *arg) {
  UVWS__CHECK(ws);
  int r = check_open(ws);
  if (r < 0) return r;
  if (!cb || len > 125 || (!data && len)) return UVWS_EINVAL;
  if (ws->aux && ws->aux->num_pings >= 64) return UVWS_EBACKPRESSURE;
  UVWS__STAT(ws, pings_out, 1);
  r = send_op(ws, UVWS_OP_PING, 1, data, len, NULL, NULL);
  if (r < 0) return r;
  return uvws__ping_sent(ws, data, len, cb, arg);
}

int uvws_pong(uvws_t *ws, const void *data, size_t len) {
  UVWS__CHECK(ws);
  return send_control(ws, UVWS_OP_PONG, data, len);
}

int uvws_close(uvws_t *ws, int code, const char *reason, size_t len) {
  UVWS__CHECK(ws);
  if (!ws) return UVWS_EINVAL;
  if (code == 0 ? len != 0 : !uvws_close_code_is_valid(code)) return UVWS_EINVAL;
  if (len > UVWS_CLOSE_MAX_REASON || (len && !reason) ||
      (len && !uvws_utf8_is_valid(reason, len)))
    return UVWS_EINVAL;
  if (ws->state == UVWS_CONNECTING) {
    /* As ws: closing before the handshake completed aborts it. */
    uvws__conn_abort(ws, UVWS_ECLOSED,
                     "WebSocket was closed before the connection was established");
    return 0;
  }
  if (ws->state != UVWS_OPEN || (ws->flags & (F_CLOSE_SENT | F_HANDLE_CLOSING)))
    return UVWS_ECLOSED;
  send_close_frame(ws, code, reason, len);
  ws->state = UVWS_CLOSING;
  uv_update_time(ws->lc->loop); /* may be called between loop runs */
  ws->stamp = uvws__now(ws->lc) + ws->conf->limits.close_timeout_ms;
  uvws__start_reading(ws); /* even if paused: the answer must be seen */
  return 0;
}

void uvws_terminate(uvws_t *ws) {
  UVWS__CHECK(ws);
  if (!ws || ((ws->flags & F_HANDLE_CLOSING) && !(ws->flags & F_RECONNECT))) return;
  if (ws->state == UVWS_CONNECTING)
    uvws__set_error(ws, UVWS_ECLOSED,
                    "WebSocket was closed before the connection was established", 0);
  close_handle(ws);
}

int uvws_pause(uvws_t *ws) {
  UVWS__CHECK(ws);
  if (!ws) return UVWS_EINVAL;
  ws->flags |= F_PAUSED;
  if (!(ws->flags & F_SHUTDOWN)) uvws__stop_reading(ws);
  return 0;
}

int uvws_resume(uvws_t *ws) {
  UVWS__CHECK(ws);
  if (!ws) return UVWS_EINVAL;
  ws->flags &= ~F_PAUSED;
  if (ws->state != UVWS_CONNECTING) uvws__start_reading(ws);
  return 0;
}

int uvws_ready_state(const uvws_t *ws) {
  UVWS__CHECK(ws);
  if (ws->flags & F_HANDLE_CLOSING) return UVWS_CLOSED;
  if (ws->state == UVWS_OPEN && (ws->flags & F_CLOSE_SENT)) return UVWS_CLOSING;
  return ws->state;
}

void *uvws_get_data(const uvws_t *ws) {
  UVWS__CHECK(ws);
  return ws->tcp.data;
}
void uvws_set_data(uvws_t *ws, void *data) {
  UVWS__CHECK(ws);
  ws->tcp.data = data;
}
uvws_server_t *uvws_get_server(const uvws_t *ws) {
  UVWS__CHECK(ws);
  return uvws__conn_server(ws);
}
const char *uvws_protocol(const uvws_t *ws) {
  UVWS__CHECK(ws);
  return ws->aux && ws->aux->protocol ? ws->aux->protocol : "";
}
int uvws_is_client(const uvws_t *ws) {
  UVWS__CHECK(ws);
  return (ws->flags & F_CLIENT) != 0;
}

uv_stream_t *uvws_stream(uvws_t *ws) {
  UVWS__CHECK(ws);
  return (ws->flags & F_HANDLE_CLOSING) ? NULL : (uv_stream_t *)&ws->tcp;
}

int uvws_remote_address(const uvws_t *ws, struct sockaddr_storage *addr) {
  UVWS__CHECK(ws);
  int len = sizeof(*addr);
  if (ws->flags & F_HANDLE_CLOSING) return UVWS_ECLOSED;
  if (UVWS__IS_PIPE(ws)) return uvws__pipe_peer(ws, addr);
  return uv_tcp_getpeername(&ws->tcp, (struct sockaddr *)addr, &len);
}

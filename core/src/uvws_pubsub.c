/* Topics and fan-out: the public publish/subscribe API on top of the topic
 * registry (uvws_topic.c), and the one delivery path that publish and
 * broadcast share.
 *
 * Delivery frames a message once. For an uncompressed ws:// connection the
 * frame is appended to the connection's send queue without writing: small
 * frames are copied into the queue's open chunk (so many messages of one
 * loop turn become one buffer), large ones are referenced from one shared,
 * reference-counted copy. The connection goes on the loop's kick list and
 * every queue on it is written once, with one writev, when the loop turn
 * ends (prepare/check, as the cork). Because each frame joins the same
 * per-connection queue that uvws_send() writes behind, the order of sends
 * and publishes on one connection is kept. */
#include "uvws_internal.h"
#include "uvws_frame.h"

#include <stdlib.h>
#include <string.h>

/* Frames of at least this many bytes (header included) are shared by
 * reference; smaller ones are cheaper to copy than to count. */
#define UVWS_SHARE_MIN 1024

struct uvws_pubsub {
  uvws_topics_t *topics;
  uvws_topic_callbacks_t cb;
  uint64_t epoch;                /* one per publish: selects each
                                    subscriber once */
  /* The target list of a publish, kept between publishes so that a topic
   * with many subscribers costs no allocation per publish. A publish made
   * while another one delivers (from on_dropped or on_drain) uses its own. */
  uvws_t **tbuf;
  size_t tcap;
  int tbusy;
};

static struct uvws_pubsub *ps_get(uvws_server_t *s) {
  if (s->ps) return s->ps;
  struct uvws_pubsub *ps = calloc(1, sizeof(*ps));
  if (!ps) return NULL;
  if (!(ps->topics = uvws_topics_new())) {
    free(ps);
    return NULL;
  }
  s->ps = ps;
  return ps;
}

void uvws__pubsub_free(uvws_server_t *s) {
  if (!s->ps) return;
  free(s->ps->tbuf);
  uvws_topics_free(s->ps->topics);
  free(s->ps);
  s->ps = NULL;
}

size_t uvws__pubsub_memory(const uvws_server_t *s) {
  return s->ps ? sizeof(*s->ps) + uvws_topics_memory(s->ps->topics) : 0;
}

void uvws_server_topic_callbacks(uvws_server_t *s, const uvws_topic_callbacks_t *cb) {
  if (!s) return;
  struct uvws_pubsub *ps = cb ? ps_get(s) : s->ps;
  if (!ps) return;
  if (cb) ps->cb = *cb;
  else memset(&ps->cb, 0, sizeof(ps->cb));
}

/* ------------------------------------------------------------------ */
/* Kick list: queues to write at the end of the loop turn              */
/* ------------------------------------------------------------------ */

static int kick_add(uvws_t *ws) {
  uvws_loopctx_t *lc = ws->lc;
  if (ws->flags & F_KICK) return 0;
  if (lc->kick_len == lc->kick_cap) {
    size_t cap = lc->kick_cap ? lc->kick_cap * 2 : 64;
    uvws_t **k = realloc(lc->kick, cap * sizeof(*k));
    if (!k) return UVWS_ENOMEM;
    lc->kick = k;
    lc->kick_cap = cap;
  }
  lc->kick[lc->kick_len++] = ws;
  ws->flags |= F_KICK;
  return 0;
}

void uvws__fanout_flush(uvws_loopctx_t *lc) {
  /* A flush that empties a queue may run on_drain, which may publish again
   * (appending to this list, perhaps moving it: hence the index and the
   * fresh read of lc->kick) or close a connection (which clears its entry).
   * A failed write only starts closing. */
  for (size_t i = 0; i < lc->kick_len; i++) {
    uvws_t *ws = lc->kick[i];
    if (!ws) continue;
    ws->flags &= ~F_KICK;
    uvws__queue_flush(ws);
  }
  lc->kick_len = 0;
}

void uvws__fanout_forget(uvws_t *ws) {
  uvws_loopctx_t *lc = ws->lc;
  ws->flags &= ~F_KICK;
  for (size_t i = 0; i < lc->kick_len; i++)
    if (lc->kick[i] == ws) lc->kick[i] = NULL;
}

/* ------------------------------------------------------------------ */
/* Delivery                                                            */
/* ------------------------------------------------------------------ */

typedef struct shared {
  size_t refs;
  uint8_t bytes[];
} shared_t;

static void shared_release(const void *p, void *arg) {
  (void)p;
  shared_t *sh = arg;
  if (--sh->refs == 0) free(sh);
}

/* One compressed frame for the subscribers without context takeover that
 * compress alike (window, level, memLevel): their output depends on the
 * message alone, so it is the same bytes for all of them. */
typedef struct zframe {
  uint8_t wbits, level, mem;
  shared_t *sh;
  size_t len;
} zframe_t;

#define UVWS_ZFRAMES 4

typedef struct msg {
  uvws_server_t *s;
  const void *data;
  size_t len;
  int flags;
  const char *topic;             /* NULL for broadcast */
  size_t topic_len;
  uint8_t hdr[UVWS_FRAME_MAX_HEADER];
  size_t hlen;
  shared_t *sh;                  /* the frame, once a subscriber shares it */
  zframe_t z[UVWS_ZFRAMES];      /* compressed variants, made on demand */
  int nz;
} msg_t;

/* Compressions made by the fan-out on this thread (tests check that
 * subscribers without context takeover share one). */
_Thread_local size_t uvws__fanout_compressions;

static void dropped(msg_t *m, uvws_t *ws) {
  struct uvws_pubsub *ps = m->s->ps;
  if (ps && ps->cb.on_dropped)
    ps->cb.on_dropped(ws, m->topic, m->topic_len, m->data, m->len, m->flags);
}

static shared_t *shared_frame(const uint8_t *hdr, size_t hlen, const void *data, size_t len) {
  shared_t *sh = malloc(sizeof(shared_t) + hlen + len);
  if (!sh) return NULL;
  sh->refs = 1; /* the publisher's, dropped when delivery ends */
  memcpy(sh->bytes, hdr, hlen);
  if (len) memcpy(sh->bytes + hlen, data, len);
  return sh;
}

/* The compressed frame for `pmd`, made by the first subscriber that needs
 * it; NULL when it cannot be shared (context takeover) or on failure. */
static zframe_t *zframe_for(msg_t *m, uvws_pmd_t *pmd, int *err) {
  *err = 0;
  if (!pmd->params.server_no_ctx) return NULL;
  for (int i = 0; i < m->nz; i++)
    if (m->z[i].wbits == pmd->params.server_wbits && m->z[i].level == pmd->level &&
        m->z[i].mem == pmd->mem_level)
      return &m->z[i];
  if (m->nz == UVWS_ZFRAMES) return NULL; /* unusual mixes: their own path */
  uint8_t *z;
  size_t zlen;
  int r = uvws_pmd_deflate(pmd, m->data, m->len, &z, &zlen);
  if (r < 0) {
    *err = r;
    return NULL;
  }
  uvws__fanout_compressions++;
  uint8_t hdr[UVWS_FRAME_MAX_HEADER];
  size_t hlen = uvws_frame_header(hdr, (unsigned)(m->flags & 0xff), 1, 0x4, zlen, NULL);
  shared_t *sh = shared_frame(hdr, hlen, z, zlen);
  if (!sh) {
    *err = UVWS_ENOMEM;
    return NULL;
  }
  zframe_t *zf = &m->z[m->nz++];
  zf->wbits = pmd->params.server_wbits;
  zf->level = pmd->level;
  zf->mem = pmd->mem_level;
  zf->sh = sh;
  zf->len = hlen + zlen;
  return zf;
}

/* Append one frame to ws's queue: `frame` of `total` bytes, shared through
 * *sh (made from hdr + data on first use) when large, copied when small. */
static int queue_frame(uvws_t *ws, const uint8_t *hdr, size_t hlen, const void *data,
                       size_t len, shared_t **sh) {
  size_t total = hlen + len;
  if (total < UVWS_SHARE_MIN && !*sh) return uvws__queue_copy(ws, hdr, hlen, data, len);
  if (total < UVWS_SHARE_MIN) return uvws__queue_copy(ws, (*sh)->bytes, total, NULL, 0);
  if (!*sh && !(*sh = shared_frame(hdr, hlen, data, len))) return UVWS_ENOMEM;
  (*sh)->refs++;
  return uvws__queue_ref(ws, (*sh)->bytes, total, shared_release, *sh);
}

/* Hand the message to one connection; 1 if it took it. */
static int deliver(msg_t *m, uvws_t *ws) {
  if (ws->state != UVWS_OPEN || !(ws->flags & F_EXPOSED) ||
      (ws->flags & (F_HANDLE_CLOSING | F_CLOSE_SENT)))
    return 0;
  if (ws->tx_op) {
    /* A fragmented send is open: a whole message cannot go in between. */
    UVWS__STAT(ws, sends_dropped, 1);
    dropped(m, ws);
    return 0;
  }
  uvws_pmd_t *pmd = ws->aux ? ws->aux->pmd : NULL;
  int compress = pmd && !(m->flags & UVWS_NO_COMPRESS) && uvws_pmd_wants(pmd, m->len);
  zframe_t *zf = NULL;
  int r = 0;
  if (!ws->tls && compress) {
    /* Decide about backpressure before compressing anything for it. */
    r = uvws__backpressure(ws);
    if (r == UVWS_SEND_DROPPED) dropped(m, ws);
    if (r) return 0;
    zf = zframe_for(m, pmd, &r);
    if (r < 0) {
      uvws__set_error(ws, r, "compression failed", 0);
      uvws_terminate(ws);
      return 0;
    }
  }
  if (ws->tls || (compress && !zf)) {
    /* Its bytes differ per connection (encrypted, or compressed with its
     * own context): the uvws_send() path, one copy each. */
    r = uvws__send_message(ws, m->data, m->len, m->flags);
    if (r == UVWS_SEND_DROPPED) dropped(m, ws);
    return r >= 0 && r != UVWS_SEND_DROPPED;
  }
  if (!zf) {
    r = uvws__backpressure(ws);
    if (r == UVWS_SEND_DROPPED) dropped(m, ws);
    if (r) return 0;
  }
  uvws_loopctx_t *lc = ws->lc;
  if (lc->cork_owner == ws) {
    /* What it corked was sent before this message. */
    uvws__uncork(lc);
    if (ws->flags & F_HANDLE_CLOSING) return 0;
  }
  r = zf ? queue_frame(ws, NULL, 0, NULL, zf->len, &zf->sh)
         : queue_frame(ws, m->hdr, m->hlen, m->data, m->len, &m->sh);
  if (r < 0) {
    uvws__conn_abort(ws, r, NULL);
    return 0;
  }
  if (kick_add(ws) < 0) uvws__queue_kick(ws);
  UVWS__STAT(ws, messages_out, 1);
  UVWS__STAT(ws, bytes_out, m->len);
  return 1;
}

static size_t deliver_all(msg_t *m, uvws_t **v, size_t n) {
  size_t done = 0;
  m->hlen = uvws_frame_header(m->hdr, (unsigned)(m->flags & 0xff), 1, 0, m->len, NULL);
  m->sh = NULL;
  m->nz = 0;
  for (size_t i = 0; i < n; i++) done += (size_t)deliver(m, v[i]);
  if (m->sh) shared_release(NULL, m->sh);
  for (int i = 0; i < m->nz; i++) shared_release(NULL, m->z[i].sh);
  return done;
}

/* Targets are collected before anything is delivered: callbacks run during
 * delivery (on_dropped) may subscribe, unsubscribe or publish, and the
 * message goes to the subscribers of the moment it was published. */
typedef struct targets {
  uvws_t **v;
  size_t n, cap;
  uvws_t *stack[64];
  uvws_t *except;
  uint64_t epoch;
  struct uvws_pubsub *ps;        /* v is ps->tbuf (borrowed), or NULL */
  int oom;
} targets_t;

static void targets_init(targets_t *t, struct uvws_pubsub *ps) {
  t->n = 0;
  t->oom = 0;
  t->ps = ps && !ps->tbusy ? ps : NULL;
  if (t->ps && ps->tbuf) {
    ps->tbusy = 1;
    t->v = ps->tbuf;
    t->cap = ps->tcap;
  } else {
    if (t->ps) ps->tbusy = 1;
    t->v = t->stack;
    t->cap = sizeof(t->stack) / sizeof(t->stack[0]);
  }
}

static void targets_push(targets_t *t, uvws_t *ws) {
  if (t->n == t->cap) {
    size_t cap = t->cap * 2;
    uvws_t **v = t->v == t->stack ? malloc(cap * sizeof(*v)) : realloc(t->v, cap * sizeof(*v));
    if (!v) {
      t->oom = 1;
      return;
    }
    if (t->v == t->stack) memcpy(v, t->stack, sizeof(t->stack));
    t->v = v;
    t->cap = cap;
    if (t->ps) { /* the grown buffer is the one kept */
      t->ps->tbuf = v;
      t->ps->tcap = cap;
    }
  }
  t->v[t->n++] = ws;
}

static void targets_free(targets_t *t) {
  if (t->ps) t->ps->tbusy = 0;
  else if (t->v != t->stack) free(t->v);
}

static void collect(uvws_topic_t *topic, void *arg) {
  targets_t *t = arg;
  for (uint32_t i = 0; i < topic->n; i++) {
    uvws_subs_t *subs = topic->v[i].subs;
    if (subs->epoch == t->epoch) continue; /* matched by another filter */
    subs->epoch = t->epoch;
    if (subs->owner != t->except) targets_push(t, subs->owner);
  }
}

static int check_flags(int flags) {
  int type = flags & 0xff;
  if (type != UVWS_TEXT && type != UVWS_BINARY) return UVWS_EINVAL;
  if (flags & ~(0xff | UVWS_NO_COMPRESS)) return UVWS_EINVAL; /* UVWS_MORE */
  return 0;
}

static int publish(uvws_server_t *s, uvws_t *except, const char *topic, size_t topic_len,
                   const void *data, size_t len, int flags) {
  int r = check_flags(flags);
  if (r == 0 && !data && len) r = UVWS_EINVAL;
  if (r == 0) r = uvws_topic_check_name(topic, topic_len);
  if (r < 0) return r;
  struct uvws_pubsub *ps = s->ps;
  if (!ps || uvws_topics_count(ps->topics) == 0) return 0;
  targets_t t;
  targets_init(&t, ps);
  t.except = except;
  t.epoch = ++ps->epoch;
  uvws_topics_match(ps->topics, topic, topic_len, collect, &t);
  if (t.oom) {
    targets_free(&t);
    return UVWS_ENOMEM;
  }
  msg_t m = {.s = s, .data = data, .len = len, .flags = flags, .topic = topic, .topic_len = topic_len};
  size_t n = deliver_all(&m, t.v, t.n);
  targets_free(&t);
  return n > INT32_MAX ? INT32_MAX : (int)n;
}

int uvws_publish(uvws_t *ws, const char *topic, size_t topic_len, const void *data,
                 size_t len, int flags) {
  UVWS__CHECK(ws);
  if (!ws) return UVWS_EINVAL;
  if (!uvws__conn_server(ws)) return UVWS_ENOTSUP;
  return publish(uvws__conn_server(ws), ws, topic, topic_len, data, len, flags);
}

int uvws_server_publish(uvws_server_t *s, const char *topic, size_t topic_len,
                        const void *data, size_t len, int flags) {
  if (!s) return UVWS_EINVAL;
  return publish(s, NULL, topic, topic_len, data, len, flags);
}

size_t uvws_server_broadcast(uvws_server_t *s, const void *data, size_t len, int flags) {
  if (!s || check_flags(flags) < 0 || (!data && len)) return 0;
  targets_t t;
  targets_init(&t, ps_get(s)); /* NULL (out of memory) still works */
  for (uvws_t *ws = s->conns; ws; ws = ws->next)
    if (ws->state == UVWS_OPEN && (ws->flags & F_EXPOSED)) targets_push(&t, ws);
  msg_t m = {.s = s, .data = data, .len = len, .flags = flags};
  size_t n = t.oom ? 0 : deliver_all(&m, t.v, t.n);
  targets_free(&t);
  return n;
}

/* ------------------------------------------------------------------ */
/* Subscriptions                                                       */
/* ------------------------------------------------------------------ */

int uvws_subscribe(uvws_t *ws, const char *filter, size_t len) {
  UVWS__CHECK(ws);
  if (!ws) return UVWS_EINVAL;
  if (!uvws__conn_server(ws)) return UVWS_ENOTSUP;
  /* Past this point the connection has been (or is about to be)
   * unsubscribed from everything: nothing may be added. */
  if ((ws->flags & F_HANDLE_CLOSING) || ws->state == UVWS_CLOSED) return UVWS_ECLOSED;
  int wild, r = uvws_topic_check_filter(filter, len, &wild);
  if (r < 0) return r;
  struct uvws_pubsub *ps = ps_get(uvws__conn_server(ws));
  uvws_aux_t *a = uvws__aux(ws);
  if (!ps || !a) return UVWS_ENOMEM;
  size_t count;
  r = uvws_topics_subscribe(ps->topics, &a->subs, ws, filter, len, wild, &count);
  if (r == 1 && ps->cb.on_subscription) ps->cb.on_subscription(ws, filter, len, count, count - 1);
  return r;
}

int uvws_unsubscribe(uvws_t *ws, const char *filter, size_t len) {
  UVWS__CHECK(ws);
  if (!ws || !filter || !len) return UVWS_EINVAL;
  if (!uvws__conn_server(ws)) return UVWS_ENOTSUP;
  struct uvws_pubsub *ps = uvws__conn_server(ws)->ps;
  if (!ps || !ws->aux || !ws->aux->subs) return 0;
  size_t count;
  int r = uvws_topics_unsubscribe(ps->topics, ws->aux->subs, filter, len, &count);
  /* A connection that holds nothing goes back to costing nothing. */
  if (ws->aux->subs->n == 0) uvws_topics_unsubscribe_all(ps->topics, &ws->aux->subs, NULL, NULL);
  if (r == 1 && ps->cb.on_subscription) ps->cb.on_subscription(ws, filter, len, count, count + 1);
  return r;
}

int uvws_is_subscribed(const uvws_t *ws, const char *filter, size_t len) {
  UVWS__CHECK(ws);
  if (!ws || !uvws__conn_server(ws) || !uvws__conn_server(ws)->ps || !ws->aux || !ws->aux->subs || !filter) return 0;
  return uvws_subs_has(uvws__conn_server(ws)->ps->topics, ws->aux->subs, filter, len);
}

size_t uvws_topics(const uvws_t *ws, int (*fn)(uvws_t *, const char *, size_t, void *),
                   void *arg) {
  UVWS__CHECK(ws);
  if (!ws || !ws->aux || !ws->aux->subs) return 0;
  const uvws_subs_t *s = ws->aux->subs;
  size_t n = s->n;
  for (size_t i = 0; fn && i < s->n; i++) {
    const uvws_topic_t *t = s->v[i].topic;
    if (fn((uvws_t *)ws, t->name, t->h.klen, arg)) break;
  }
  return n;
}

size_t uvws_server_num_subscribers(const uvws_server_t *s, const char *filter, size_t len) {
  if (!s || !s->ps || !filter) return 0;
  uvws_topic_t *t = uvws_topics_find(s->ps->topics, filter, len);
  return t ? t->n : 0;
}

typedef struct gone {
  uvws_t *ws;
  struct uvws_pubsub *ps;
} gone_t;

static void gone_cb(const char *f, size_t len, size_t count, void *arg) {
  gone_t *g = arg;
  if (g->ps->cb.on_subscription) g->ps->cb.on_subscription(g->ws, f, len, count, count + 1);
}

void uvws__pubsub_conn_gone(uvws_t *ws) {
  struct uvws_pubsub *ps = uvws__conn_server(ws) ? uvws__conn_server(ws)->ps : NULL;
  uvws_subs_t *subs = ws->aux->subs;
  if (!ps) return;
  /* Detached first: during the callbacks the connection holds nothing. */
  ws->aux->subs = NULL;
  gone_t g = {ws, ps};
  uvws_topics_unsubscribe_all(ps->topics, &subs, gone_cb, &g);
}

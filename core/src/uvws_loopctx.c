/* Per-loop shared state. One loop runs one callback at a time, so every
 * connection on it can share one receive buffer and one cork buffer: the
 * memory a connection needs of its own stays small. */
#include "uvws_internal.h"

#include <openssl/rand.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static uvws_loopctx_t *registry;
static uv_mutex_t registry_lock;
static uv_once_t registry_once = UV_ONCE_INIT;

static void registry_init(void) {
  uv_mutex_init(&registry_lock);
#ifndef _WIN32
  /* A write to a socket the peer has reset raises SIGPIPE, whose default
   * action kills the process; the engine handles EPIPE as an error instead.
   * A handler the application installed is left alone. */
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
  }
#endif
}

static void on_prepare(uv_prepare_t *h) {
  uvws__uncork(h->data);
  uvws__fanout_flush(h->data);
}
static void on_check(uv_check_t *h) {
  uvws__uncork(h->data);
  uvws__fanout_flush(h->data);
}

static void on_tick(uv_timer_t *t) {
  uvws_loopctx_t *lc = t->data;
  uint32_t now = uvws__now(lc);
  for (uvws_server_t *s = lc->servers, *next; s; s = next) {
    next = s->next;
    uvws__server_tick(s, now);
  }
  for (uvws_t *ws = lc->clients, *next; ws; ws = next) {
    next = ws->next;
    uvws__conn_tick(ws, now);
  }
}

uint32_t uvws__now(uvws_loopctx_t *lc) { return (uint32_t)uv_now(lc->loop); }

static void refill_random(uvws_loopctx_t *lc) {
  if (RAND_bytes(lc->rand, sizeof(lc->rand)) != 1) {
    /* RAND_bytes only fails without an entropy source; keys must still be
     * unpredictable to the peer, so fall back to the loop's hrtime mixing. */
    uint64_t x = uv_hrtime() ^ (uintptr_t)lc;
    for (size_t i = 0; i < sizeof(lc->rand); i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      lc->rand[i] = (uint8_t)x;
    }
  }
  lc->rand_pos = 0;
}

void uvws__mask_key(uvws_loopctx_t *lc, uint8_t key[4]) {
  if (lc->rand_pos + 4 > sizeof(lc->rand)) refill_random(lc);
  memcpy(key, lc->rand + lc->rand_pos, 4);
  lc->rand_pos += 4;
}

uvws_loopctx_t *uvws__loopctx_get(uv_loop_t *loop) {
  uv_once(&registry_once, registry_init);
  uv_mutex_lock(&registry_lock);
  uvws_loopctx_t *lc;
  for (lc = registry; lc; lc = lc->next)
    if (lc->loop == loop && lc->refs > 0) break;
  if (lc) {
    lc->refs++;
    uv_mutex_unlock(&registry_lock);
    return lc;
  }
  lc = calloc(1, sizeof(*lc));
  if (lc) lc->rbuf = malloc(UVWS_READ_BUF_SIZE);
  if (lc && lc->rbuf) lc->cork = malloc(UVWS_CORK_SIZE);
  if (!lc || !lc->rbuf || !lc->cork) {
    if (lc) {
      free(lc->rbuf);
      free(lc);
    }
    uv_mutex_unlock(&registry_lock);
    return NULL;
  }
  lc->loop = loop;
  lc->refs = 1;
  uvws_pool_init(&lc->conns, sizeof(uvws_t));
  uvws_pool_init(&lc->rxs, sizeof(uvws_proto_t));
  lc->rand_pos = sizeof(lc->rand);
  uv_prepare_init(loop, &lc->prepare);
  uv_check_init(loop, &lc->check);
  uv_timer_init(loop, &lc->tick);
  lc->prepare.data = lc->check.data = lc->tick.data = lc;
  uv_prepare_start(&lc->prepare, on_prepare);
  uv_check_start(&lc->check, on_check);
  uv_timer_start(&lc->tick, on_tick, UVWS_TICK_MS, UVWS_TICK_MS);
  /* None of these keep the loop alive; only connections and servers do. */
  uv_unref((uv_handle_t *)&lc->prepare);
  uv_unref((uv_handle_t *)&lc->check);
  uv_unref((uv_handle_t *)&lc->tick);
  lc->handles_open = 3;
  lc->next = registry;
  registry = lc;
  uv_mutex_unlock(&registry_lock);
  return lc;
}

static void on_handle_closed(uv_handle_t *h) {
  uvws_loopctx_t *lc = h->data;
  if (--lc->handles_open) return;
  void (*cb)(void *) = lc->released_cb;
  void *arg = lc->released_arg;
  free(lc->rbuf);
  free(lc->cork);
  free(lc->tls_in);
  free(lc->tls_out);
  free(lc->kick);
  uvws_pmd_shared_free(lc->pmd);
  free(lc->msg_spare);
  uvws_pool_destroy(&lc->conns);
  uvws_pool_destroy(&lc->rxs);
  free(lc);
  if (cb) cb(arg);
}

void uvws__loopctx_put(uvws_loopctx_t *lc, void (*cb)(void *arg), void *arg) {
  uv_mutex_lock(&registry_lock);
  if (--lc->refs > 0) {
    uv_mutex_unlock(&registry_lock);
    if (cb) cb(arg);
    return;
  }
  for (uvws_loopctx_t **p = &registry; *p; p = &(*p)->next) {
    if (*p == lc) {
      *p = lc->next;
      break;
    }
  }
  uv_mutex_unlock(&registry_lock);
  lc->released_cb = cb;
  lc->released_arg = arg;
  uv_close((uv_handle_t *)&lc->prepare, on_handle_closed);
  uv_close((uv_handle_t *)&lc->check, on_handle_closed);
  uv_close((uv_handle_t *)&lc->tick, on_handle_closed);
}

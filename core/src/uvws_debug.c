/* Debug builds only (UVWS_DEBUG): catch a uvws_t used after its on_close.
 *
 * A freed handle's memory may be reused by the next connection, so a stale
 * pointer would silently act on a stranger. Here a handle is poisoned when
 * its on_close returns and its memory is parked in a quarantine instead of
 * being freed, so the check in every public function reads memory that is
 * still ours and can abort with a message that names the function. The
 * quarantine is process-wide (the loop may be gone by the time a stale
 * pointer is used) and bounded: the oldest entry is freed when it is full. */
#include "uvws_internal.h"

#ifdef UVWS_DEBUG
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUARANTINE 256

static void *parked[QUARANTINE];
static unsigned next_slot;
static uv_mutex_t lock;
static uv_once_t once = UV_ONCE_INIT;

static void init_lock(void) { uv_mutex_init(&lock); }

void uvws__check_handle(const uvws_t *ws, const char *fn) {
  if (!ws || ws->magic == UVWS__LIVE) return;
  fprintf(stderr,
          "uvws: %s() called with a connection handle %s (uvws_t %p); the pointer is invalid "
          "once on_close has returned\n",
          fn, ws->magic == UVWS__DEAD ? "after its on_close" : "that is not a live uvws_t",
          (const void *)ws);
  abort();
}

void uvws__quarantine(uvws_loopctx_t *lc, uvws_t *ws) {
  (void)lc;
  /* Poison everything but the magic, so stale reads see garbage too. */
  memset(ws, 0xdd, sizeof(*ws));
  ws->magic = UVWS__DEAD;
  uv_once(&once, init_lock);
  uv_mutex_lock(&lock);
  void *old = parked[next_slot];
  parked[next_slot] = ws;
  next_slot = (next_slot + 1) % QUARANTINE;
  uv_mutex_unlock(&lock);
  free(old);
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int uvws__debug_unused;
#endif

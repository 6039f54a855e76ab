/* Round-trip times of pings: each ping sent is remembered (payload and
 * time) until a pong answers it; the last measurement stays on the
 * connection, and uvws_ping_timed() callers hear about theirs. */
#include "uvws_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PINGS 64

typedef struct uvws_ping_wait {
  struct uvws_ping_wait *next;
  uint64_t sent_ns;
  uvws_pong_cb cb;
  void *arg;
  uint8_t len;
  uint8_t data[];
} ping_wait_t;

int uvws__ping_sent(uvws_t *ws, const void *data, size_t len, uvws_pong_cb cb, void *arg) {
  uvws_aux_t *a = uvws__aux(ws);
  /* Untimed pings beyond the bound are simply not measured. */
  if (!a) return UVWS_ENOMEM;
  if (a->num_pings >= MAX_PINGS) return UVWS_EBACKPRESSURE;
  ping_wait_t *p = malloc(sizeof(*p) + len);
  if (!p) return UVWS_ENOMEM;
  p->next = NULL;
  p->sent_ns = uv_hrtime();
  p->cb = cb;
  p->arg = arg;
  p->len = (uint8_t)len;
  if (len) memcpy(p->data, data, len);
  ping_wait_t **tail = &a->pings;
  while (*tail) tail = &(*tail)->next;
  *tail = p;
  a->num_pings++;
  return 0;
}

void uvws__pong_rcvd(uvws_t *ws, const uint8_t *data, size_t len) {
  uvws_aux_t *a = ws->aux;
  if (!a || !a->pings) return;
  ping_wait_t *match = a->pings;
  while (match && !(match->len == len && memcmp(match->data, data, len) == 0)) match = match->next;
  if (!match) return; /* unsolicited, or for a ping we did not keep */
  uint64_t now = uv_hrtime();
  a->latency_us = (now - match->sent_ns) / 1000;
  if (a->latency_us == 0) a->latency_us = 1; /* 0 means "none yet" */
  /* Everything up to the match is answered, oldest first. */
  ping_wait_t *end = match->next;
  while (a->pings != end) {
    ping_wait_t *p = a->pings;
    a->pings = p->next;
    a->num_pings--;
    if (p->cb && !(ws->flags & F_HANDLE_CLOSING)) {
      uint64_t rtt = (now - p->sent_ns) / 1000;
      p->cb(ws, 0, rtt ? rtt : 1, p->arg);
    } else if (p->cb) {
      p->cb(ws, UVWS_ECLOSED, 0, p->arg);
    }
    free(p);
    if (!ws->aux) return;
  }
}

void uvws__pings_cancel(uvws_t *ws) {
  uvws_aux_t *a = ws->aux;
  while (a && a->pings) {
    ping_wait_t *p = a->pings;
    a->pings = p->next;
    a->num_pings--;
    if (p->cb) p->cb(ws, UVWS_ECLOSED, 0, p->arg);
    free(p);
  }
}

uint64_t uvws_latency_us(const uvws_t *ws) {
  UVWS__CHECK(ws);
  return ws && ws->aux ? ws->aux->latency_us : 0;
}

#include "uvws_utf8.h"
#include "uvws.h"

#include <string.h>

#define ST(need, lo, hi) (((uint32_t)(need) << 16) | ((uint32_t)(lo) << 8) | (hi))

/* The state after a lead byte: how many continuation bytes follow and the
 * range of the first one, which is where overlongs, surrogates and values
 * above U+10FFFF are excluded. */
static uint32_t lead_state(uint8_t c) {
  if (c >= 0xc2 && c <= 0xdf) return ST(1, 0x80, 0xbf);
  if (c == 0xe0) return ST(2, 0xa0, 0xbf);            /* no overlong */
  if (c == 0xed) return ST(2, 0x80, 0x9f);            /* no surrogates */
  if (c >= 0xe1 && c <= 0xef) return ST(2, 0x80, 0xbf);
  if (c == 0xf0) return ST(3, 0x90, 0xbf);            /* no overlong */
  if (c >= 0xf1 && c <= 0xf3) return ST(3, 0x80, 0xbf);
  if (c == 0xf4) return ST(3, 0x80, 0x8f);            /* <= U+10FFFF */
  return UVWS_UTF8_REJECT;                            /* 80-c1, f5-ff */
}

uint32_t uvws_utf8_feed(uint32_t state, const uint8_t *p, size_t len) {
  const uint8_t *end = p + len;
  if (state == UVWS_UTF8_REJECT) return state;
  while (p < end) {
    if (state == UVWS_UTF8_ACCEPT) {
      /* Most text is ASCII: skip it eight bytes at a time. */
      while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (w & 0x8080808080808080ull) break;
        p += 8;
      }
      while (p < end && *p < 0x80) p++;
      if (p == end) break;
      state = lead_state(*p++);
      if (state == UVWS_UTF8_REJECT) return state;
      continue;
    }
    uint8_t c = *p++;
    if (c < ((state >> 8) & 0xff) || c > (state & 0xff)) return UVWS_UTF8_REJECT;
    uint32_t need = (state >> 16) - 1;
    state = need ? ST(need, 0x80, 0xbf) : UVWS_UTF8_ACCEPT;
  }
  return state;
}

int uvws_utf8_is_valid(const void *data, size_t len) {
  return uvws_utf8_feed(UVWS_UTF8_ACCEPT, data, len) == UVWS_UTF8_ACCEPT;
}

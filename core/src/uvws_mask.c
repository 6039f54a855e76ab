#include "uvws_mask.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The key rotated so that byte 0 of the result lines up with payload byte
 * whose key position is `pos`, repeated over 64 bits. */
static uint64_t key64(const uint8_t key[4], unsigned pos) {
  uint8_t k[8];
  for (unsigned i = 0; i < 8; i++) k[i] = key[(pos + i) & 3];
  uint64_t w;
  memcpy(&w, k, 8);
  return w;
}

unsigned uvws_mask(uint8_t *p, size_t len, const uint8_t key[4], unsigned pos) {
  pos &= 3;
  if (len < 16) {
    for (size_t i = 0; i < len; i++) p[i] ^= key[(pos + i) & 3];
    return (unsigned)((pos + len) & 3);
  }
  uint64_t k = key64(key, pos);
  size_t i = 0;
#if defined(__SSE2__)
  __m128i k128 = _mm_set1_epi64x((long long)k);
  for (; i + 64 <= len; i += 64) {
    __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
    __m128i b = _mm_loadu_si128((const __m128i *)(p + i + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(p + i + 32));
    __m128i d = _mm_loadu_si128((const __m128i *)(p + i + 48));
    _mm_storeu_si128((__m128i *)(p + i), _mm_xor_si128(a, k128));
    _mm_storeu_si128((__m128i *)(p + i + 16), _mm_xor_si128(b, k128));
    _mm_storeu_si128((__m128i *)(p + i + 32), _mm_xor_si128(c, k128));
    _mm_storeu_si128((__m128i *)(p + i + 48), _mm_xor_si128(d, k128));
  }
#endif
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    w ^= k;
    memcpy(p + i, &w, 8);
  }
  /* i is a multiple of 8, so the key position here is still `pos`. */
  for (; i < len; i++) p[i] ^= key[(pos + i) & 3];
  return (unsigned)((pos + len) & 3);
}

void uvws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len,
                    const uint8_t key[4]) {
  uint64_t k = key64(key, 0);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, src + i, 8);
    w ^= k;
    memcpy(dst + i, &w, 8);
  }
  for (; i < len; i++) dst[i] = src[i] ^ key[i & 3];
}

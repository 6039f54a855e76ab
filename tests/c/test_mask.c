/* Masking (uvws_mask.h) against a byte-wise reference: every length 0..300,
 * every key position, unaligned buffers, piecewise masking, and nothing
 * written outside the range. */
#include "test.h"
#include "uvws_mask.h"

#define MAXLEN 300
#define GUARD 32

static void ref_mask(uint8_t *p, size_t len, const uint8_t key[4], unsigned pos) {
  for (size_t i = 0; i < len; i++) p[i] ^= key[(pos + i) % 4];
}

static const uint8_t keys[][4] = {
    {0x00, 0x00, 0x00, 0x00},
    {0xff, 0xff, 0xff, 0xff},
    {0x37, 0xfa, 0x21, 0x3d}, /* RFC 6455 section 5.7 */
    {0x01, 0x02, 0x04, 0x80},
    {0xde, 0xad, 0xbe, 0xef},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Buffers with guard zones on both sides, filled with a pattern. */
static uint8_t area[GUARD + MAXLEN + 16 + GUARD];
static uint8_t expect[sizeof(area)];

static void fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}

static void test_all_lengths_positions(void) {
  size_t mism = 0, bad_ret = 0;
  for (size_t k = 0; k < NKEYS; k++)
    for (size_t len = 0; len <= MAXLEN; len++)
      for (unsigned pos = 0; pos < 4; pos++)
        for (size_t align = 0; align < 16; align++) {
          fill(area, sizeof(area), (unsigned)(len + pos + align));
          memcpy(expect, area, sizeof(area));
          uint8_t *p = area + GUARD + align;
          ref_mask(expect + GUARD + align, len, keys[k], pos);
          unsigned r = uvws_mask(p, len, keys[k], pos);
          if (r != (pos + len) % 4) bad_ret++;
          if (memcmp(area, expect, sizeof(area)) != 0) {
            if (!mism++) test_ctx("key %zu len %zu pos %u align %zu", k, len, pos, align);
          }
        }
  CHECK_EQ(mism, 0);
  CHECK_EQ(bad_ret, 0);
  test_ctx(NULL);
}

/* Masking twice restores the data. */
static void test_involution(void) {
  uint8_t buf[MAXLEN], orig[MAXLEN];
  test_rand_bytes(orig, sizeof(orig));
  for (size_t len = 0; len <= MAXLEN; len++)
    for (unsigned pos = 0; pos < 4; pos++) {
      memcpy(buf, orig, MAXLEN);
      uvws_mask(buf, len, keys[2], pos);
      if (len >= 4) CHECK(memcmp(buf, orig, len) != 0);
      uvws_mask(buf, len, keys[2], pos);
      CHECK_MEM(buf, MAXLEN, orig, MAXLEN);
    }
}

/* Piecewise: masking a range in pieces, passing the returned position on,
 * gives the one-shot result. Every single split point of every length, and
 * random multi-piece splits. */
static void test_piecewise(void) {
  uint8_t one[MAXLEN + 8], piece[MAXLEN + 8];
  size_t mism = 0;
  for (size_t len = 0; len <= MAXLEN; len++)
    for (unsigned pos = 0; pos < 4; pos++) {
      fill(one, sizeof(one), (unsigned)len);
      memcpy(piece, one, sizeof(one));
      uvws_mask(one + 1, len, keys[4], pos);
      for (size_t k = 0; k <= len; k++) {
        uint8_t tmp[MAXLEN + 8];
        memcpy(tmp, piece, sizeof(tmp));
        unsigned p2 = uvws_mask(tmp + 1, k, keys[4], pos);
        unsigned p3 = uvws_mask(tmp + 1 + k, len - k, keys[4], p2);
        if (memcmp(tmp, one, sizeof(tmp)) != 0 || p3 != (pos + len) % 4) {
          if (!mism++) test_ctx("len %zu pos %u split %zu", len, pos, k);
        }
      }
    }
  CHECK_EQ(mism, 0);
  test_ctx(NULL);
  /* random multi-piece splits of a larger buffer */
  enum { BIG = 70000 };
  uint8_t *a = malloc(BIG + 8), *b = malloc(BIG + 8);
  for (int round = 0; round < 200; round++) {
    size_t len = test_rand_below(BIG), off = test_rand_below(8);
    unsigned pos = (unsigned)test_rand_below(4);
    uint8_t key[4];
    test_rand_bytes(key, 4);
    test_rand_bytes(a, BIG + 8);
    memcpy(b, a, BIG + 8);
    ref_mask(a + off, len, key, pos);
    size_t cuts[512];
    size_t n = test_rand_splits(len, cuts, 512), at = 0;
    unsigned p = pos;
    for (size_t i = 0; i < n; i++) {
      p = uvws_mask(b + off + at, cuts[i] - at, key, p);
      at = cuts[i];
    }
    test_ctx("round %d len %zu pieces %zu", round, len, n);
    CHECK_EQ(p, (pos + len) % 4);
    CHECK(memcmp(a, b, BIG + 8) == 0);
  }
  test_ctx(NULL);
  free(a);
  free(b);
}

static void test_mask_copy(void) {
  static uint8_t src[GUARD + MAXLEN + 16 + GUARD], src_orig[sizeof(src)];
  size_t mism = 0, src_changed = 0;
  for (size_t k = 0; k < NKEYS; k++)
    for (size_t len = 0; len <= MAXLEN; len++)
      for (size_t sa = 0; sa < 8; sa++)
        for (size_t da = 0; da < 8; da++) {
          fill(src, sizeof(src), (unsigned)(len ^ sa));
          memcpy(src_orig, src, sizeof(src));
          fill(area, sizeof(area), (unsigned)(len + da + 1));
          memcpy(expect, area, sizeof(area));
          memcpy(expect + GUARD + da, src + GUARD + sa, len);
          ref_mask(expect + GUARD + da, len, keys[k], 0);
          uvws_mask_copy(area + GUARD + da, src + GUARD + sa, len, keys[k]);
          if (memcmp(area, expect, sizeof(area)) != 0) {
            if (!mism++) test_ctx("key %zu len %zu src+%zu dst+%zu", k, len, sa, da);
          }
          if (memcmp(src, src_orig, sizeof(src)) != 0) src_changed++;
        }
  CHECK_EQ(mism, 0);
  CHECK_EQ(src_changed, 0);
  test_ctx(NULL);
  /* mask_copy then uvws_mask at position 0 restores the source */
  uint8_t s[MAXLEN], d[MAXLEN];
  test_rand_bytes(s, sizeof(s));
  for (size_t len = 0; len <= MAXLEN; len++) {
    memset(d, 0, sizeof(d));
    uvws_mask_copy(d, s, len, keys[3]);
    CHECK_EQ(uvws_mask(d, len, keys[3], 0), len % 4);
    CHECK_MEM(d, len, s, len);
  }
  /* a copied prefix followed by in-place masking of the rest from the
   * returned position equals a one-shot copy of everything */
  for (size_t len = 0; len <= 64; len++)
    for (size_t k = 0; k <= len; k++) {
      uint8_t one[64], two[64];
      uvws_mask_copy(one, s, len, keys[2]);
      uvws_mask_copy(two, s, k, keys[2]);
      memcpy(two + k, s + k, len - k);
      uvws_mask(two + k, len - k, keys[2], k % 4);
      CHECK_MEM(one, len, two, len);
    }
}

/* The RFC 6455 section 5.7 example: "Hello" masked with 37 fa 21 3d. */
static void test_rfc_example(void) {
  uint8_t hello[5] = {'H', 'e', 'l', 'l', 'o'};
  const uint8_t masked[5] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
  uint8_t out[5];
  uvws_mask_copy(out, hello, 5, keys[2]);
  CHECK_MEM(out, 5, masked, 5);
  CHECK_EQ(uvws_mask(hello, 5, keys[2], 0), 1);
  CHECK_MEM(hello, 5, masked, 5);
}

/* A large buffer (SIMD path, many iterations) at every alignment. */
static void test_large(void) {
  enum { N = 1 << 20 };
  uint8_t *a = malloc(N + 16), *b = malloc(N + 16);
  for (size_t align = 0; align < 16; align += 3) {
    for (unsigned pos = 0; pos < 4; pos++) {
      size_t len = N - align - pos;
      test_rand_bytes(a, N + 16);
      memcpy(b, a, N + 16);
      ref_mask(a + align, len, keys[4], pos);
      CHECK_EQ(uvws_mask(b + align, len, keys[4], pos), (pos + len) % 4);
      CHECK(memcmp(a, b, N + 16) == 0);
      /* mask_copy of the same size, unaligned source and destination */
      uint8_t *ref = malloc(len);
      memcpy(ref, a + 1 + (align * 5 + pos) % 8, len);
      ref_mask(ref, len, keys[3], 0);
      uvws_mask_copy(b + align, a + 1 + (align * 5 + pos) % 8, len, keys[3]);
      CHECK(memcmp(b + align, ref, len) == 0);
      free(ref);
    }
  }
  free(a);
  free(b);
}

int main(void) {
  test_seed(5);
  RUN_TEST(test_rfc_example);
  RUN_TEST(test_all_lengths_positions);
  RUN_TEST(test_involution);
  RUN_TEST(test_piecewise);
  RUN_TEST(test_mask_copy);
  RUN_TEST(test_large);
  return test_report();
}

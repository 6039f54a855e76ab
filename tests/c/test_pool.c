/* The slab pool (uvws_pool.h): blocks are zeroed, aligned, distinct and
 * writable in full; freed blocks are reused before a new slab is mapped;
 * slabs are given back when empty (one spare kept); random interleavings of
 * allocations and frees keep every live block's contents intact. */
#include "test.h"
#include "uvws_pool.h"

#include <stdint.h>

#define N 5000

static void fill(uint8_t *p, size_t n, unsigned v) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v * 13 + i);
}

static int intact(const uint8_t *p, size_t n, unsigned v) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (uint8_t)(v * 13 + i)) return 0;
  return 1;
}

static void test_sizes_alignment(void) {
  static const size_t sizes[] = {1, 8, 24, 112, 336, 456, 1000, 4096};
  for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    uvws_pool_t p;
    uvws_pool_init(&p, sizes[k]);
    test_ctx("size %zu", sizes[k]);
    CHECK(p.block >= sizes[k]);
    CHECK_EQ(p.block % 8, 0);
    uint8_t *a = uvws_pool_alloc(&p), *b = uvws_pool_alloc(&p);
    CHECK(a && b && a != b);
    CHECK_EQ((uintptr_t)a % 8, 0);
    if (sizes[k] % 16 == 0) CHECK_EQ((uintptr_t)a % 16, 0);
    /* Blocks do not overlap. */
    CHECK((size_t)(a < b ? b - a : a - b) >= p.block);
    uvws_pool_free(&p, a);
    uvws_pool_free(&p, b);
    uvws_pool_destroy(&p);
  }
}

static void test_zeroed_and_reused(void) {
  uvws_pool_t p;
  uvws_pool_init(&p, 336);
  uint8_t *a = uvws_pool_alloc(&p);
  fill(a, 336, 7);
  uvws_pool_free(&p, a);
  uint8_t *b = uvws_pool_alloc(&p);
  CHECK_PTR(b, a); /* the hole is filled first */
  size_t nonzero = 0;
  for (size_t i = 0; i < 336; i++) nonzero += b[i] != 0;
  CHECK_EQ(nonzero, 0);
  uvws_pool_free(&p, b);
  uvws_pool_destroy(&p);
}

static void test_slabs_given_back(void) {
  uvws_pool_t p;
  uvws_pool_init(&p, 336);
  static void *blocks[N];
  for (int i = 0; i < N; i++) CHECK((blocks[i] = uvws_pool_alloc(&p)) != NULL);
  size_t full = (N + p.per_slab - 1) / p.per_slab;
  CHECK_EQ(p.slabs, full);
  /* Free every other block: no slab empties, none is given back. */
  for (int i = 0; i < N; i += 2) uvws_pool_free(&p, blocks[i]);
  CHECK_EQ(p.slabs, full);
  /* Half as many allocations fit in the holes, without a new slab. */
  for (int i = 0; i < N; i += 2) CHECK((blocks[i] = uvws_pool_alloc(&p)) != NULL);
  CHECK_EQ(p.slabs, full);
  for (int i = 0; i < N; i++) uvws_pool_free(&p, blocks[i]);
  CHECK_EQ(p.slabs, 1); /* only the spare */
  CHECK(p.partial == NULL);
  uvws_pool_destroy(&p);
  CHECK_EQ(p.slabs, 0);
}

static void test_random_interleaving(void) {
  uvws_pool_t p;
  uvws_pool_init(&p, 200);
  static uint8_t *live[N];
  static unsigned tag[N];
  size_t n = 0, peak = 0;
  for (int step = 0; step < 200000; step++) {
    int grow = n == 0 || (n < N && test_rand_below(100) < (step < 100000 ? 60 : 40));
    if (grow) {
      uint8_t *b = uvws_pool_alloc(&p);
      CHECK(b != NULL);
      if (!b) break;
      tag[n] = (unsigned)step;
      fill(b, 200, tag[n]);
      live[n++] = b;
      if (n > peak) peak = n;
    } else {
      size_t i = test_rand_below(n);
      if (!intact(live[i], 200, tag[i])) {
        CHECK(!"a live block was overwritten");
        break;
      }
      uvws_pool_free(&p, live[i]);
      live[i] = live[--n];
      tag[i] = tag[n];
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (!intact(live[i], 200, tag[i])) CHECK(!"a live block was overwritten");
    uvws_pool_free(&p, live[i]);
  }
  /* All blocks back: at most the spare slab is still mapped. */
  CHECK(p.slabs <= 1);
  CHECK(peak > p.per_slab); /* the walk did span several slabs */
  uvws_pool_destroy(&p);
}

int main(void) {
  test_seed(17);
  RUN_TEST(test_sizes_alignment);
  RUN_TEST(test_zeroed_and_reused);
  RUN_TEST(test_slabs_given_back);
  RUN_TEST(test_random_interleaving);
  return test_report();
}

/* A tiny test harness for the C unit tests: no framework, one header.
 *
 *   CHECK(cond)              cond is true
 *   CHECK_EQ(a, b)           integers (any width/signedness) are equal;
 *                            compared as uintmax_t, printed signed and hex
 *   CHECK_NE(a, b)           integers differ
 *   CHECK_STR(a, b)          NUL-terminated strings are equal (NULL-safe)
 *   CHECK_MEM(a, alen, b, blen)  byte ranges are equal; prints the first
 *                            difference and both ranges (escaped)
 *   CHECK_PTR(a, b)          pointers are equal
 *
 * Every check counts as passed or failed. A failure prints file:line, the
 * current test, the current context (test_ctx()) and the values. After the
 * first TEST_MAX_REPORTS failures only the count goes on (loops over a
 * million inputs must not flood the log). main() ends with
 * `return test_report();`, which prints the summary line exactly as
 * `N passed, M failed` and returns non-zero if anything failed.
 *
 * RUN_TEST(fn) runs `static void fn(void)` and prints "[ OK ]"/"[FAIL]".
 *
 * Deterministic randomness: test_rand() etc.; the seed is fixed unless the
 * environment variable UVWS_TEST_SEED is set (the seed is printed). */
#ifndef UVWS_TEST_H
#define UVWS_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TEST_MAX_REPORTS
#define TEST_MAX_REPORTS 50
#endif

static unsigned long test_passed_, test_failed_;
static const char *test_name_ = "";
static char test_ctx_[256];

#if defined(__GNUC__)
#define TEST_UNUSED_ __attribute__((unused))
#define TEST_PRINTF_(a, b) __attribute__((format(printf, a, b)))
#else
#define TEST_UNUSED_
#define TEST_PRINTF_(a, b)
#endif

/* Context printed with every failure until changed: which input, which
 * split, which seed... test_ctx(NULL) clears it. */
TEST_UNUSED_ TEST_PRINTF_(1, 2) static void test_ctx(const char *fmt, ...) {
  if (!fmt) {
    test_ctx_[0] = 0;
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(test_ctx_, sizeof(test_ctx_), fmt, ap);
  va_end(ap);
}

/* Returns 1 if the failure is to be printed in detail. */
TEST_UNUSED_ static int test_fail_(const char *file, int line) {
  test_failed_++;
  if (test_failed_ > TEST_MAX_REPORTS) {
    if (test_failed_ == TEST_MAX_REPORTS + 1)
      fprintf(stderr, "... more failures, not printed\n");
    return 0;
  }
  fprintf(stderr, "%s:%d: FAILED in %s%s%s%s: ", file, line, test_name_,
          test_ctx_[0] ? " [" : "", test_ctx_, test_ctx_[0] ? "]" : "");
  return 1;
}

/* Print `len` bytes escaped, at most `max` of them. */
TEST_UNUSED_ static void test_dump_(const void *p, size_t len, size_t max) {
  const unsigned char *s = (const unsigned char *)p;
  if (!p) {
    fputs("(null)", stderr);
    return;
  }
  fputc('"', stderr);
  for (size_t i = 0; i < len && i < max; i++) {
    if (s[i] >= 32 && s[i] < 127 && s[i] != '"' && s[i] != '\\')
      fputc(s[i], stderr);
    else if (s[i] == '\r')
      fputs("\\r", stderr);
    else if (s[i] == '\n')
      fputs("\\n", stderr);
    else
      fprintf(stderr, "\\x%02x", s[i]);
  }
  fputc('"', stderr);
  if (len > max) fprintf(stderr, "...(%zu bytes)", len);
}

#define CHECK(cond)                                       \
  do {                                                    \
    if (cond)                                             \
      test_passed_++;                                     \
    else if (test_fail_(__FILE__, __LINE__))              \
      fprintf(stderr, "CHECK(%s)\n", #cond);              \
  } while (0)

#define CHECK_EQ(a, b)                                                       \
  do {                                                                       \
    uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);                      \
    if (a_ == b_)                                                            \
      test_passed_++;                                                        \
    else if (test_fail_(__FILE__, __LINE__))                                 \
      fprintf(stderr, "CHECK_EQ(%s, %s): %jd (0x%jx) != %jd (0x%jx)\n", #a, \
              #b, (intmax_t)a_, a_, (intmax_t)b_, b_);                       \
  } while (0)

#define CHECK_NE(a, b)                                                 \
  do {                                                                 \
    uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);                \
    if (a_ != b_)                                                      \
      test_passed_++;                                                  \
    else if (test_fail_(__FILE__, __LINE__))                           \
      fprintf(stderr, "CHECK_NE(%s, %s): both %jd (0x%jx)\n", #a, #b, \
              (intmax_t)a_, a_);                                       \
  } while (0)

#define CHECK_PTR(a, b)                                                 \
  do {                                                                  \
    const void *a_ = (const void *)(a), *b_ = (const void *)(b);        \
    if (a_ == b_)                                                       \
      test_passed_++;                                                   \
    else if (test_fail_(__FILE__, __LINE__))                            \
      fprintf(stderr, "CHECK_PTR(%s, %s): %p != %p\n", #a, #b, a_, b_); \
  } while (0)

#define CHECK_STR(a, b)                                                   \
  do {                                                                    \
    const char *a_ = (a), *b_ = (b);                                      \
    if ((a_ && b_ && strcmp(a_, b_) == 0) || (!a_ && !b_))                \
      test_passed_++;                                                     \
    else if (test_fail_(__FILE__, __LINE__)) {                            \
      fprintf(stderr, "CHECK_STR(%s, %s): ", #a, #b);                     \
      test_dump_(a_, a_ ? strlen(a_) : 0, 200);                           \
      fputs(" != ", stderr);                                              \
      test_dump_(b_, b_ ? strlen(b_) : 0, 200);                           \
      fputc('\n', stderr);                                                \
    }                                                                     \
  } while (0)

TEST_UNUSED_ static void test_mem_fail_(const char *ea, const char *eb,
                                        const void *a, size_t alen,
                                        const void *b, size_t blen) {
  const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
  size_t i = 0;
  if (x && y)
    while (i < alen && i < blen && x[i] == y[i]) i++;
  fprintf(stderr, "CHECK_MEM(%s, %s): lengths %zu, %zu; first difference at %zu\n  ",
          ea, eb, alen, blen, i);
  test_dump_(a, alen, 120);
  fputs("\n  ", stderr);
  test_dump_(b, blen, 120);
  fputc('\n', stderr);
}

#define CHECK_MEM(a, alen, b, blen)                                         \
  do {                                                                      \
    const void *a_ = (a), *b_ = (b);                                        \
    size_t al_ = (size_t)(alen), bl_ = (size_t)(blen);                      \
    if (al_ == bl_ && (al_ == 0 || (a_ && b_ && memcmp(a_, b_, al_) == 0))) \
      test_passed_++;                                                       \
    else if (test_fail_(__FILE__, __LINE__))                                \
      test_mem_fail_(#a, #b, a_, al_, b_, bl_);                             \
  } while (0)

#define RUN_TEST(fn)                                                      \
  do {                                                                    \
    unsigned long f_ = test_failed_;                                      \
    test_name_ = #fn;                                                     \
    test_ctx_[0] = 0;                                                     \
    fn();                                                                 \
    test_ctx_[0] = 0;                                                     \
    fprintf(stderr, "%s %s\n", test_failed_ == f_ ? "[ OK ]" : "[FAIL]", #fn); \
  } while (0)

TEST_UNUSED_ static int test_report(void) {
  fflush(stderr);
  printf("%lu passed, %lu failed\n", test_passed_, test_failed_);
  fflush(stdout);
  return test_failed_ ? 1 : 0;
}

/* ---- deterministic PRNG (xoshiro256**) ---- */

static uint64_t test_rng_[4];

TEST_UNUSED_ static uint64_t test_splitmix_(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Seed from UVWS_TEST_SEED if set, else `def`; prints the seed. */
TEST_UNUSED_ static void test_seed(uint64_t def) {
  const char *e = getenv("UVWS_TEST_SEED");
  uint64_t s = e && *e ? strtoull(e, NULL, 0) : def;
  uint64_t x = s;
  for (int i = 0; i < 4; i++) test_rng_[i] = test_splitmix_(&x);
  fprintf(stderr, "seed %llu (set UVWS_TEST_SEED to change)\n", (unsigned long long)s);
}

TEST_UNUSED_ static uint64_t test_rand(void) {
  uint64_t *s = test_rng_;
  uint64_t r = s[1] * 5;
  r = ((r << 7) | (r >> 57)) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 45) | (s[3] >> 19);
  return r;
}

/* Uniform-ish in [0, n); n > 0. */
TEST_UNUSED_ static size_t test_rand_below(size_t n) {
  return (size_t)(test_rand() % n);
}

TEST_UNUSED_ static void test_rand_bytes(void *p, size_t n) {
  unsigned char *b = (unsigned char *)p;
  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)test_rand();
}

/* Split [0, len) into random chunks: fills `cuts` with increasing chunk end
 * offsets, the last being len; returns how many (at most max, >= 1). */
TEST_UNUSED_ static size_t test_rand_splits(size_t len, size_t *cuts, size_t max) {
  size_t n = 0, pos = 0;
  while (pos < len && n + 1 < max) {
    size_t step = 1 + test_rand_below(test_rand() % 4 == 0 ? 3 : (len / 4 + 2));
    pos = pos + step > len ? len : pos + step;
    cuts[n++] = pos;
  }
  if (n == 0 || cuts[n - 1] != len) cuts[n++] = len;
  return n;
}

#endif

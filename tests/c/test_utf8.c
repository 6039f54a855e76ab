/* The incremental UTF-8 validator (uvws_utf8.h) against RFC 3629 and the
 * Autobahn testsuite's case group 6, plus an independent reference decoder:
 * exhaustive short strings, every code point, and random strings. */
#include "test.h"
#include "uvws.h"
#include "uvws_utf8.h"

/* ------------------------------------------------------------------ */
/* Reference                                                           */
/* ------------------------------------------------------------------ */

/* Can a sequence of L bytes (2-4), of which `have` are known and whose known
 * payload bits are `v`, still be completed into a Unicode scalar value that
 * needs exactly L bytes (not overlong, not a surrogate, <= U+10FFFF)? The
 * unknown low bits span an interval of code points; some value in it must
 * be acceptable. */
static int ref_viable(uint32_t v, int L, int have) {
  static const uint32_t minv[5] = {0, 0, 0x80, 0x800, 0x10000};
  int rem = 6 * (L - have);
  uint32_t lo = v << rem, hi = lo | ((1u << rem) - 1);
  if (lo < minv[L]) lo = minv[L];
  if (hi > 0x10FFFF) hi = 0x10FFFF;
  if (lo > hi) return 0;
  if (lo >= 0xD800 && hi <= 0xDFFF) return 0;
  return 1;
}

/* Index of the first byte after which the input can no longer be a prefix
 * of valid UTF-8, or n if there is none; *complete says whether the input
 * ends between code points. */
static size_t ref_scan(const uint8_t *s, size_t n, int *complete) {
  size_t i = 0;
  *complete = 1;
  while (i < n) {
    uint8_t c = s[i];
    int L;
    uint32_t v;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xe0) == 0xc0) L = 2, v = c & 0x1f;
    else if ((c & 0xf0) == 0xe0) L = 3, v = c & 0x0f;
    else if ((c & 0xf8) == 0xf0) L = 4, v = c & 0x07;
    else return i; /* continuation byte or F8-FF */
    if (!ref_viable(v, L, 1)) return i;
    for (int k = 1; k < L; k++) {
      if (i + k >= n) {
        *complete = 0;
        return n;
      }
      uint8_t d = s[i + k];
      if ((d & 0xc0) != 0x80) return i + k;
      v = (v << 6) | (d & 0x3f);
      if (!ref_viable(v, L, k + 1)) return i + k;
    }
    i += (size_t)L;
  }
  return n;
}

enum { V_VALID = 0, V_PENDING = 1, V_INVALID = 2 };

static int class_of(uint32_t st) {
  if (st == UVWS_UTF8_ACCEPT) return V_VALID;
  if (st == UVWS_UTF8_REJECT) return V_INVALID;
  return V_PENDING;
}

static int ref_class(const uint8_t *s, size_t n, size_t *bad) {
  int complete;
  size_t b = ref_scan(s, n, &complete);
  if (bad) *bad = b;
  if (b < n) return V_INVALID;
  return complete ? V_VALID : V_PENDING;
}

static size_t encode(uint32_t cp, uint8_t *o) {
  if (cp < 0x80) {
    o[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (uint8_t)(0xc0 | (cp >> 6));
    o[1] = (uint8_t)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (uint8_t)(0xe0 | (cp >> 12));
    o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (uint8_t)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (uint8_t)(0xf0 | (cp >> 18));
  o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (uint8_t)(0x80 | (cp & 0x3f));
  return 4;
}

/* Encode with exactly L bytes, overlong or out of range if need be. */
static size_t encode_len(uint32_t cp, int L, uint8_t *o) {
  static const uint8_t lead[5] = {0, 0, 0xc0, 0xe0, 0xf0};
  for (int k = L - 1; k > 0; k--) {
    o[k] = (uint8_t)(0x80 | (cp & 0x3f));
    cp >>= 6;
  }
  o[0] = (uint8_t)(lead[L] | cp);
  return (size_t)L;
}

static uint32_t feed(uint32_t st, const uint8_t *p, size_t n) {
  return uvws_utf8_feed(st, p, n);
}

/* ------------------------------------------------------------------ */
/* The full check of one string                                        */
/* ------------------------------------------------------------------ */

/* Checks, for one input, that:
 *  - the one-shot verdict matches the reference, and uvws_utf8_is_valid;
 *  - fail fast: the prefix before the first bad byte is not REJECT, the
 *    prefix through it is;
 *  - byte-by-byte feeding: REJECT appears exactly at the first bad byte and
 *    stays; the final state equals the one-shot state;
 *  - every split point (and, for short inputs, every pair of split points)
 *    gives the one-shot state.
 * `expect` is the verdict from a table (-1: only the reference). */
static void check_string(const char *label, const uint8_t *s, size_t n, int expect) {
  size_t bad;
  int want = ref_class(s, n, &bad);
  test_ctx("%s (len %zu)", label, n);
  if (expect >= 0) CHECK_EQ(want, expect); /* the table and the reference agree */
  uint32_t one = feed(UVWS_UTF8_ACCEPT, s, n);
  CHECK_EQ(class_of(one), want);
  CHECK_EQ(uvws_utf8_is_valid(s, n), want == V_VALID);
  if (want == V_INVALID) {
    CHECK(feed(UVWS_UTF8_ACCEPT, s, bad) != UVWS_UTF8_REJECT);
    CHECK_EQ(feed(UVWS_UTF8_ACCEPT, s, bad + 1), UVWS_UTF8_REJECT);
  }
  /* byte by byte */
  uint32_t st = UVWS_UTF8_ACCEPT;
  size_t first_reject = n;
  for (size_t i = 0; i < n; i++) {
    st = feed(st, s + i, 1);
    if (st == UVWS_UTF8_REJECT && first_reject == n) first_reject = i;
    if (st != UVWS_UTF8_REJECT && first_reject != n) first_reject = (size_t)-1; /* not sticky */
  }
  CHECK_EQ(st, one);
  CHECK_EQ(first_reject, want == V_INVALID ? bad : n);
  /* every split point */
  size_t mism = 0, first_mism = 0;
  for (size_t k = 0; k <= n; k++) {
    uint32_t a = feed(UVWS_UTF8_ACCEPT, s, k);
    int a_ok = want == V_INVALID ? ((a == UVWS_UTF8_REJECT) == (k > bad)) : a != UVWS_UTF8_REJECT;
    uint32_t b = feed(a, s + k, n - k);
    if (b != one || !a_ok) {
      if (!mism++) first_mism = k;
    }
  }
  if (mism) test_ctx("%s (len %zu): split at %zu", label, n, first_mism);
  CHECK_EQ(mism, 0);
  if (n <= 24) {
    mism = 0;
    for (size_t i = 0; i <= n; i++)
      for (size_t j = i; j <= n; j++) {
        uint32_t a = feed(UVWS_UTF8_ACCEPT, s, i);
        a = feed(a, s + i, j - i);
        a = feed(a, s + j, n - j);
        if (a != one) mism++;
      }
    CHECK_EQ(mism, 0);
  }
  /* REJECT is sticky, even with valid input after it */
  if (want == V_INVALID) CHECK_EQ(feed(one, (const uint8_t *)"abc", 3), UVWS_UTF8_REJECT);
  /* Empty input leaves any state as it is. */
  CHECK_EQ(feed(one, s, 0), one);
  test_ctx(NULL);
}

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
  const char *name;
  const char *bytes;
  size_t len;
  int expect;
  int bad; /* index of the first bad byte, -1 for none */
} utf8_case_t;

#define C(name, lit, expect, bad) {name, lit, sizeof(lit) - 1, expect, bad}

static const utf8_case_t cases[] = {
    /* RFC 3629 boundaries, all valid */
    C("U+0000", "\x00", V_VALID, -1),
    C("U+007F", "\x7f", V_VALID, -1),
    C("U+0080", "\xc2\x80", V_VALID, -1),
    C("U+07FF", "\xdf\xbf", V_VALID, -1),
    C("U+0800", "\xe0\xa0\x80", V_VALID, -1),
    C("U+D7FF", "\xed\x9f\xbf", V_VALID, -1),
    C("U+E000", "\xee\x80\x80", V_VALID, -1),
    C("U+FFFD", "\xef\xbf\xbd", V_VALID, -1),
    C("U+FFFF", "\xef\xbf\xbf", V_VALID, -1),
    C("U+10000", "\xf0\x90\x80\x80", V_VALID, -1),
    C("U+10FFFF", "\xf4\x8f\xbf\xbf", V_VALID, -1),
    C("empty", "", V_VALID, -1),
    /* overlongs */
    C("overlong C0 80", "\xc0\x80", V_INVALID, 0),
    C("overlong C1 BF", "\xc1\xbf", V_INVALID, 0),
    C("overlong E0 80 80", "\xe0\x80\x80", V_INVALID, 1),
    C("overlong E0 9F BF", "\xe0\x9f\xbf", V_INVALID, 1),
    C("overlong F0 80 80 80", "\xf0\x80\x80\x80", V_INVALID, 1),
    C("overlong F0 8F BF BF", "\xf0\x8f\xbf\xbf", V_INVALID, 1),
    C("overlong '/' C0 AF", "\xc0\xaf", V_INVALID, 0),
    C("overlong '/' E0 80 AF", "\xe0\x80\xaf", V_INVALID, 1),
    C("overlong '/' F0 80 80 AF", "\xf0\x80\x80\xaf", V_INVALID, 1),
    C("overlong 5 bytes", "\xf8\x80\x80\x80\xaf", V_INVALID, 0),
    C("overlong 6 bytes", "\xfc\x80\x80\x80\x80\xaf", V_INVALID, 0),
    /* surrogates */
    C("U+D800", "\xed\xa0\x80", V_INVALID, 1),
    C("U+DB7F", "\xed\xad\xbf", V_INVALID, 1),
    C("U+DB80", "\xed\xae\x80", V_INVALID, 1),
    C("U+DBFF", "\xed\xaf\xbf", V_INVALID, 1),
    C("U+DC00", "\xed\xb0\x80", V_INVALID, 1),
    C("U+DF80", "\xed\xbe\x80", V_INVALID, 1),
    C("U+DFFF", "\xed\xbf\xbf", V_INVALID, 1),
    C("surrogate pair", "\xed\xa0\x80\xed\xb0\x80", V_INVALID, 1),
    C("surrogate pair 2", "\xed\xaf\xbf\xed\xbf\xbf", V_INVALID, 1),
    /* > U+10FFFF */
    C("U+110000", "\xf4\x90\x80\x80", V_INVALID, 1),
    C("F4 BF BF BF", "\xf4\xbf\xbf\xbf", V_INVALID, 1),
    C("F5 lead", "\xf5\x80\x80\x80", V_INVALID, 0),
    C("F6 lead", "\xf6\x80\x80\x80", V_INVALID, 0),
    C("F7 BF BF BF", "\xf7\xbf\xbf\xbf", V_INVALID, 0),
    C("F8 lead", "\xf8\x88\x80\x80\x80", V_INVALID, 0),
    C("FB lead", "\xfb\xbf\xbf\xbf\xbf", V_INVALID, 0),
    C("FC lead", "\xfc\x84\x80\x80\x80\x80", V_INVALID, 0),
    C("FD lead", "\xfd\xbf\xbf\xbf\xbf\xbf", V_INVALID, 0),
    C("FE", "\xfe", V_INVALID, 0),
    C("FF", "\xff", V_INVALID, 0),
    C("FE FE FF FF", "\xfe\xfe\xff\xff", V_INVALID, 0),
    /* lone continuation bytes */
    C("80", "\x80", V_INVALID, 0),
    C("BF", "\xbf", V_INVALID, 0),
    C("80 BF", "\x80\xbf", V_INVALID, 0),
    C("80 BF 80", "\x80\xbf\x80", V_INVALID, 0),
    C("a 80", "a\x80", V_INVALID, 1),
    C("valid then extra continuation", "\xc2\x80\x80", V_INVALID, 2),
    C("4-byte then extra continuation", "\xf0\x90\x80\x80\xbf", V_INVALID, 4),
    /* lonely start characters */
    C("C0 space", "\xc0 ", V_INVALID, 0),
    C("C2 space", "\xc2 ", V_INVALID, 1),
    C("DF space", "\xdf ", V_INVALID, 1),
    C("E1 space", "\xe1 ", V_INVALID, 1),
    C("F1 space", "\xf1 ", V_INVALID, 1),
    /* truncated at the end: not REJECT, not ACCEPT */
    C("C2", "\xc2", V_PENDING, -1),
    C("DF", "\xdf", V_PENDING, -1),
    C("E0", "\xe0", V_PENDING, -1),
    C("E0 A0", "\xe0\xa0", V_PENDING, -1),
    C("ED 9F", "\xed\x9f", V_PENDING, -1),
    C("EF BF", "\xef\xbf", V_PENDING, -1),
    C("F0 90", "\xf0\x90", V_PENDING, -1),
    C("F0 90 80", "\xf0\x90\x80", V_PENDING, -1),
    C("F4 8F BF", "\xf4\x8f\xbf", V_PENDING, -1),
    C("kosme + truncated", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf0\x90", V_PENDING, -1),
    /* truncated in the middle */
    C("C2 then a", "\xc2" "a", V_INVALID, 1),
    C("E0 A0 then a", "\xe0\xa0" "a", V_INVALID, 2),
    C("F0 90 80 then a", "\xf0\x90\x80" "a", V_INVALID, 3),
    C("E1 then E1 80 80", "\xe1\xe1\x80\x80", V_INVALID, 1),
    C("truncated seqs concatenated",
      "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf",
      V_INVALID, 0),
    C("truncated seqs concatenated (valid leads)", "\xdf\xef\xbf\xf4\x8f\xbf", V_INVALID, 1),
    /* Autobahn group 6 */
    C("6.2 Hello-mu", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
      V_VALID, -1),
    C("6.3 kosme + surrogate",
      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
      V_INVALID, 12),
    C("6.4 kosme + F4 90 (fail fast)",
      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64",
      V_INVALID, 12),
    C("6.4.3", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80", V_INVALID, 12),
    C("6.5 kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", V_VALID, -1),
    C("6.22 noncharacters", "\xef\xbf\xbe\xef\xbf\xbf\xf0\x9f\xbf\xbe\xf0\x9f\xbf\xbf"
      "\xf4\x8f\xbf\xbe\xf4\x8f\xbf\xbf\xef\xb7\x90\xef\xb7\xaf", V_VALID, -1),
    C("ascii run then bad", "abcdefghijklmnopqrstuvwxyz0123456789\xff", V_INVALID, 36),
    C("ascii run, 2-byte, ascii run", "abcdefghijklmnop\xc3\xa9qrstuvwxyzabcdefgh", V_VALID, -1),
    C("ascii run, truncated at 8", "abcdefg\xe2\x82", V_PENDING, -1),
    C("ascii run, lead at 8", "abcdefgh\xe2\x82\xac", V_VALID, -1),
};

static void test_table(void) {
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const utf8_case_t *c = &cases[i];
    const uint8_t *s = (const uint8_t *)c->bytes;
    check_string(c->name, s, c->len, c->expect);
    size_t bad;
    ref_class(s, c->len, &bad);
    test_ctx("%s", c->name);
    CHECK_EQ(bad, c->bad < 0 ? c->len : (size_t)c->bad);
    /* The same case behind an ASCII prefix of every length 0..17 (the
     * validator skips ASCII 8 bytes at a time) and at unaligned addresses. */
    uint8_t buf[64 + 32];
    for (size_t pre = 0; pre < 18 && pre + c->len + 20 <= sizeof(buf); pre++) {
      memset(buf, 'x', pre);
      memcpy(buf + pre, s, c->len);
      uint32_t st = feed(UVWS_UTF8_ACCEPT, buf, pre + c->len);
      test_ctx("%s with %zu ASCII bytes before", c->name, pre);
      CHECK_EQ(class_of(st), c->expect);
      if (c->bad >= 0) {
        CHECK(feed(UVWS_UTF8_ACCEPT, buf, pre + (size_t)c->bad) != UVWS_UTF8_REJECT);
        CHECK_EQ(feed(UVWS_UTF8_ACCEPT, buf, pre + (size_t)c->bad + 1), UVWS_UTF8_REJECT);
      }
      /* and followed by ASCII: pending sequences now fail at the ASCII */
      memset(buf + pre + c->len, 'y', 20);
      st = feed(UVWS_UTF8_ACCEPT, buf, pre + c->len + 20);
      CHECK_EQ(class_of(st), c->expect == V_PENDING ? V_INVALID : c->expect);
    }
    test_ctx(NULL);
  }
}

/* ------------------------------------------------------------------ */
/* Every code point, every overlong, every surrogate                   */
/* ------------------------------------------------------------------ */

static void test_all_code_points(void) {
  uint8_t b[4];
  size_t bad_valid = 0, bad_pending = 0, bad_over = 0, bad_sur = 0, bad_big = 0;
  uint32_t first = 0;
  for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
    size_t n = encode(cp, b);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      /* ED A0..BF: fails at the second byte */
      if (feed(UVWS_UTF8_ACCEPT, b, 1) == UVWS_UTF8_REJECT ||
          feed(UVWS_UTF8_ACCEPT, b, 2) != UVWS_UTF8_REJECT) {
        if (!bad_sur++) first = cp;
      }
      continue;
    }
    if (feed(UVWS_UTF8_ACCEPT, b, n) != UVWS_UTF8_ACCEPT) {
      if (!bad_valid++) first = cp;
    }
    /* every proper prefix is pending, fed at once or byte by byte */
    uint32_t st = UVWS_UTF8_ACCEPT;
    for (size_t k = 0; k < n; k++) {
      if (k && class_of(feed(UVWS_UTF8_ACCEPT, b, k)) != V_PENDING) bad_pending++;
      st = feed(st, b + k, 1);
      if ((k + 1 < n) != (class_of(st) == V_PENDING)) bad_pending++;
    }
    /* the same value overlong, in every longer form */
    for (int L = (int)n + 1; L <= 4; L++) {
      encode_len(cp, L, b);
      if (feed(UVWS_UTF8_ACCEPT, b, (size_t)L) != UVWS_UTF8_REJECT) {
        if (!bad_over++) first = cp;
      }
    }
  }
  /* 0x110000-0x1FFFFF in four bytes: F4 90.. fails at byte 1, F5+ at 0 */
  for (uint32_t cp = 0x110000; cp <= 0x1fffff; cp++) {
    encode_len(cp, 4, b);
    size_t at = b[0] == 0xf4 ? 1 : 0;
    if (feed(UVWS_UTF8_ACCEPT, b, at + 1) != UVWS_UTF8_REJECT ||
        (at && feed(UVWS_UTF8_ACCEPT, b, at) == UVWS_UTF8_REJECT)) {
      if (!bad_big++) first = cp;
    }
  }
  test_ctx("first bad code point U+%04X", (unsigned)first);
  CHECK_EQ(bad_valid, 0);
  CHECK_EQ(bad_pending, 0);
  CHECK_EQ(bad_over, 0);
  CHECK_EQ(bad_sur, 0);
  CHECK_EQ(bad_big, 0);
}

/* All scalar values in one buffer (about 4.3 MB): one shot, random splits,
 * unaligned starts. Exercises the 8-byte ASCII skipping at every phase. */
static void test_big_buffer(void) {
  size_t cap = 0x110000 * 4 + (0x110000 / 7 + 1) * 23 + 64, n = 0;
  uint8_t *buf = malloc(cap);
  for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    n += encode(cp, buf + n);
    if (cp % 7 == 0) { /* some ASCII runs of varying length */
      size_t run = cp % 23;
      memset(buf + n, 'a' + (int)(cp % 26), run);
      n += run;
    }
  }
  CHECK_EQ(feed(UVWS_UTF8_ACCEPT, buf, n), UVWS_UTF8_ACCEPT);
  CHECK(uvws_utf8_is_valid(buf, n));
  for (int round = 0; round < 20; round++) {
    size_t cuts[4096];
    size_t nc = test_rand_splits(n, cuts, 4096), pos = 0;
    uint32_t st = UVWS_UTF8_ACCEPT;
    for (size_t i = 0; i < nc; i++) {
      st = feed(st, buf + pos, cuts[i] - pos);
      pos = cuts[i];
    }
    CHECK_EQ(st, UVWS_UTF8_ACCEPT);
  }
  /* one bad byte somewhere: REJECT, and exactly there */
  for (int round = 0; round < 50; round++) {
    size_t at = test_rand_below(n);
    uint8_t saved = buf[at];
    buf[at] = 0xff;
    test_ctx("0xff at %zu", at);
    CHECK(feed(UVWS_UTF8_ACCEPT, buf, at) != UVWS_UTF8_REJECT);
    CHECK_EQ(feed(UVWS_UTF8_ACCEPT, buf, at + 1), UVWS_UTF8_REJECT);
    CHECK_EQ(feed(UVWS_UTF8_ACCEPT, buf, n), UVWS_UTF8_REJECT);
    buf[at] = saved;
  }
  test_ctx(NULL);
  free(buf);
}

/* ------------------------------------------------------------------ */
/* Exhaustive short strings against the reference                      */
/* ------------------------------------------------------------------ */

static void test_exhaustive(void) {
  uint8_t b[4];
  size_t mism = 0;
  uint32_t first = 0;
  /* every 1- and 2-byte string: full check of class and fail-fast point */
  for (uint32_t x = 0; x < 0x10000; x++) {
    b[0] = (uint8_t)(x >> 8);
    b[1] = (uint8_t)x;
    for (size_t n = 1; n <= 2; n++) {
      if (n == 1 && b[1] != 0) continue;
      size_t bad;
      int want = ref_class(b, n, &bad);
      uint32_t st = feed(UVWS_UTF8_ACCEPT, b, n);
      uint32_t st2 = feed(feed(UVWS_UTF8_ACCEPT, b, 1), b + 1, n - 1);
      int ok = class_of(st) == want && st2 == st;
      if (want == V_INVALID) ok = ok && (bad == 0 || feed(UVWS_UTF8_ACCEPT, b, bad) != UVWS_UTF8_REJECT);
      if (!ok && !mism++) first = x;
    }
  }
  test_ctx("2-byte 0x%04x", (unsigned)first);
  CHECK_EQ(mism, 0);
  /* every 3-byte string */
  mism = 0;
  for (uint32_t x = 0; x < 0x1000000; x++) {
    b[0] = (uint8_t)(x >> 16);
    b[1] = (uint8_t)(x >> 8);
    b[2] = (uint8_t)x;
    int want = ref_class(b, 3, NULL);
    uint32_t st = feed(UVWS_UTF8_ACCEPT, b, 3);
    if (class_of(st) != want && !mism++) first = x;
    if (want != V_INVALID || b[0] >= 0xc0) { /* incremental, where it matters */
      uint32_t st2 = feed(feed(UVWS_UTF8_ACCEPT, b, 2), b + 2, 1);
      if (st2 != st && !mism++) first = x;
    }
  }
  test_ctx("3-byte 0x%06x", (unsigned)first);
  CHECK_EQ(mism, 0);
  /* 4-byte strings: every lead byte, interesting bytes elsewhere */
  static const uint8_t pick[] = {0x00, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f,
                                 0xa0, 0xbe, 0xbf, 0xc0, 0xc2, 0xe0, 0xf0, 0xff};
  const size_t np = sizeof(pick);
  mism = 0;
  for (uint32_t lead = 0; lead < 256; lead++)
    for (size_t i = 0; i < np; i++)
      for (size_t j = 0; j < np; j++)
        for (size_t k = 0; k < np; k++) {
          b[0] = (uint8_t)lead;
          b[1] = pick[i];
          b[2] = pick[j];
          b[3] = pick[k];
          size_t bad;
          int want = ref_class(b, 4, &bad);
          uint32_t st = feed(UVWS_UTF8_ACCEPT, b, 4);
          int ok = class_of(st) == want;
          if (want == V_INVALID)
            ok = ok && feed(UVWS_UTF8_ACCEPT, b, bad) != UVWS_UTF8_REJECT &&
                 feed(UVWS_UTF8_ACCEPT, b, bad + 1) == UVWS_UTF8_REJECT;
          if (!ok && !mism++) first = (uint32_t)(lead << 24 | pick[i] << 16 | pick[j] << 8 | pick[k]);
        }
  test_ctx("4-byte 0x%08x", (unsigned)first);
  CHECK_EQ(mism, 0);
  test_ctx(NULL);
}

/* ------------------------------------------------------------------ */
/* Random strings, biased toward valid UTF-8                           */
/* ------------------------------------------------------------------ */

static uint32_t rand_scalar(void) {
  switch (test_rand_below(5)) {
    case 0: return (uint32_t)test_rand_below(0x80);
    case 1: return 0x80 + (uint32_t)test_rand_below(0x800 - 0x80);
    case 2: {
      uint32_t cp = 0x800 + (uint32_t)test_rand_below(0x10000 - 0x800);
      return cp >= 0xd800 && cp <= 0xdfff ? cp - 0x800 : cp;
    }
    case 3: return 0x10000 + (uint32_t)test_rand_below(0x110000 - 0x10000);
    default: {
      static const uint32_t edge[] = {0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000,
                                      0xfffd, 0xfffe, 0xffff, 0x10000, 0x10ffff};
      return edge[test_rand_below(sizeof(edge) / sizeof(edge[0]))];
    }
  }
}

static size_t rand_string(uint8_t *out, size_t cap) {
  size_t target = test_rand_below(8) == 0 ? test_rand_below(cap - 8) : test_rand_below(48);
  int only_valid = test_rand_below(2) == 0;
  size_t n = 0;
  while (n < target) {
    unsigned r = (unsigned)test_rand_below(100);
    if (only_valid && r >= 80) r = r % 80;
    if (r < 35) {
      out[n++] = (uint8_t)test_rand_below(0x80);
    } else if (r < 80) {
      n += encode(rand_scalar(), out + n);
    } else if (r < 84) {
      out[n++] = (uint8_t)test_rand();
    } else if (r < 87) {
      n += encode(0xd800 + (uint32_t)test_rand_below(0x800), out + n);
    } else if (r < 90) { /* overlong */
      uint32_t cp = rand_scalar();
      size_t L = encode(cp, out + n);
      if (L < 4) n += encode_len(cp, (int)L + 1 + (int)test_rand_below(4 - L), out + n);
    } else if (r < 92) { /* > U+10FFFF */
      n += encode_len(0x110000 + (uint32_t)test_rand_below(0xf0000), 4, out + n);
    } else if (r < 97) { /* truncated sequence */
      uint8_t t[4];
      size_t L = encode(0x80 + (uint32_t)test_rand_below(0x10ff80), t);
      size_t k = 1 + test_rand_below(L - 1 ? L - 1 : 1);
      memcpy(out + n, t, k);
      n += k;
    } else { /* lone continuation */
      out[n++] = (uint8_t)(0x80 | test_rand_below(0x40));
    }
  }
  if (test_rand_below(16) == 0) { /* end in the middle of a code point */
    uint8_t t[4];
    size_t L = encode(0x80 + (uint32_t)test_rand_below(0x10ff80), t);
    size_t k = 1 + test_rand_below(L - 1);
    memcpy(out + n, t, k);
    n += k;
  }
  return n;
}

static void test_random(void) {
  enum { COUNT = 100000, CAP = 512 };
  uint8_t buf[CAP + 8];
  size_t mism = 0, valid = 0, invalid = 0, pending = 0;
  for (int i = 0; i < COUNT; i++) {
    size_t off = test_rand_below(8); /* unaligned starts */
    uint8_t *s = buf + off;
    size_t n = rand_string(s, CAP);
    size_t bad;
    int want = ref_class(s, n, &bad);
    valid += want == V_VALID;
    invalid += want == V_INVALID;
    pending += want == V_PENDING;
    uint32_t one = feed(UVWS_UTF8_ACCEPT, s, n);
    int ok = class_of(one) == want && uvws_utf8_is_valid(s, n) == (want == V_VALID);
    if (want == V_INVALID)
      ok = ok && feed(UVWS_UTF8_ACCEPT, s, bad) != UVWS_UTF8_REJECT &&
           feed(UVWS_UTF8_ACCEPT, s, bad + 1) == UVWS_UTF8_REJECT;
    /* one random split and byte by byte */
    size_t k = n ? test_rand_below(n + 1) : 0;
    uint32_t st = feed(feed(UVWS_UTF8_ACCEPT, s, k), s + k, n - k);
    ok = ok && st == one;
    st = UVWS_UTF8_ACCEPT;
    for (size_t j = 0; j < n; j++) {
      st = feed(st, s + j, 1);
      if ((st == UVWS_UTF8_REJECT) != (want == V_INVALID && j >= bad)) ok = 0;
    }
    ok = ok && st == one;
    if (!ok) {
      if (!mism++) {
        test_ctx("random string #%d", i);
        check_string("first mismatching random string", s, n, -1);
      }
    }
  }
  test_ctx(NULL);
  CHECK_EQ(mism, 0);
  /* the generator really produces all three kinds, valid the most */
  fprintf(stderr, "  random: %zu valid, %zu invalid, %zu truncated\n", valid, invalid, pending);
  CHECK(valid > COUNT / 3);
  CHECK(invalid > COUNT / 10);
  CHECK(pending > COUNT / 100);
  /* full check_string (every split point) on a few thousand of them */
  for (int i = 0; i < 3000; i++) {
    size_t n = rand_string(buf, 64);
    char label[32];
    snprintf(label, sizeof(label), "random #%d", i);
    check_string(label, buf, n, -1);
  }
}

/* The reference itself, on known answers (so that a bug in it cannot hide a
 * bug in the validator). */
static void test_reference(void) {
  size_t bad;
  CHECK_EQ(ref_class(S("\xe0\xa0\x80"), &bad), V_VALID);
  CHECK_EQ(ref_class(S("\xe0\x9f\xbf"), &bad), V_INVALID);
  CHECK_EQ(bad, 1);
  CHECK_EQ(ref_class(S("\xed\xa0"), &bad), V_INVALID);
  CHECK_EQ(bad, 1);
  CHECK_EQ(ref_class(S("\xed\x9f"), &bad), V_PENDING);
  CHECK_EQ(ref_class(S("\xf4\x90"), &bad), V_INVALID);
  CHECK_EQ(bad, 1);
  CHECK_EQ(ref_class(S("\xf4\x8f"), &bad), V_PENDING);
  CHECK_EQ(ref_class(S("\xc1"), &bad), V_INVALID);
  CHECK_EQ(bad, 0);
  CHECK_EQ(ref_class(S("\xc2"), &bad), V_PENDING);
}

static void test_public_api(void) {
  CHECK(uvws_utf8_is_valid("", 0));
  CHECK(uvws_utf8_is_valid("hello", 5));
  CHECK(uvws_utf8_is_valid("\xe2\x82\xac", 3));
  CHECK(!uvws_utf8_is_valid("\xe2\x82", 2)); /* truncated is not valid */
  CHECK(!uvws_utf8_is_valid("\xed\xa0\x80", 3));
  CHECK(uvws_utf8_is_valid("a\0b", 3)); /* NUL is a character */
  /* REJECT in, REJECT out, whatever the input */
  CHECK_EQ(uvws_utf8_feed(UVWS_UTF8_REJECT, (const uint8_t *)"a", 1), UVWS_UTF8_REJECT);
  CHECK_EQ(uvws_utf8_feed(UVWS_UTF8_REJECT, (const uint8_t *)"a", 0), UVWS_UTF8_REJECT);
}

int main(void) {
  test_seed(6455);
  RUN_TEST(test_reference);
  RUN_TEST(test_public_api);
  RUN_TEST(test_table);
  RUN_TEST(test_all_code_points);
  RUN_TEST(test_big_buffer);
  RUN_TEST(test_exhaustive);
  RUN_TEST(test_random);
  return test_report();
}

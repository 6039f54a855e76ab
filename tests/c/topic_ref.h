/* A reference matcher for topic filters, written the plain way (split into
 * levels, compare level by level): the tests and the fuzzer check the
 * registry's trie against it. */
#ifndef UVWS_TOPIC_REF_H
#define UVWS_TOPIC_REF_H

#include <stddef.h>
#include <string.h>

#define REF_MAX_LEVELS 64

static size_t ref_split(const char *s, size_t len, const char **lv, size_t *lvlen) {
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= len && n < REF_MAX_LEVELS; i++) {
    if (i == len || s[i] == '/') {
      lv[n] = s + start;
      lvlen[n++] = i - start;
      start = i + 1;
    }
  }
  return n;
}

/* 1 if the (valid) filter f matches the (valid) name n. */
static int ref_match(const char *f, size_t fl, const char *n, size_t nl) {
  const char *F[REF_MAX_LEVELS], *N[REF_MAX_LEVELS];
  size_t FL[REF_MAX_LEVELS], NL[REF_MAX_LEVELS];
  size_t nf = ref_split(f, fl, F, FL), nn = ref_split(n, nl, N, NL);
  if (nl && n[0] == '$' && (f[0] == '+' || f[0] == '#')) return 0;
  for (size_t i = 0; i < nf; i++) {
    if (FL[i] == 1 && F[i][0] == '#') return 1;
    if (i >= nn) return 0;
    if (FL[i] == 1 && F[i][0] == '+') continue;
    if (FL[i] != NL[i] || memcmp(F[i], N[i], FL[i]) != 0) return 0;
  }
  return nf == nn;
}

#endif

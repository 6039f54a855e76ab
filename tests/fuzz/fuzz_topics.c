/* libFuzzer target for the topic registry: the input is a program of
 * subscribe / unsubscribe / match / drop-owner operations on 8 owners with
 * filters and names taken from the input. A shadow list of (owner, filter)
 * pairs and the plain reference matcher (tests/c/topic_ref.h) say what
 * every answer must be. */
#include "uvws.h"
#include "uvws_topic.h"
#include "../c/topic_ref.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OWNERS 8
#define MAX_PAIRS 4096

typedef struct {
  int owner;
  char f[64];
  size_t len;
} pair_t;

static pair_t pairs[MAX_PAIRS];
static size_t npairs;

static long find_pair(int owner, const char *f, size_t len) {
  for (size_t i = 0; i < npairs; i++)
    if (pairs[i].owner == owner && pairs[i].len == len && memcmp(pairs[i].f, f, len) == 0)
      return (long)i;
  return -1;
}

static size_t holders(const char *f, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < npairs; i++)
    n += pairs[i].len == len && memcmp(pairs[i].f, f, len) == 0;
  return n;
}

static void on_match(uvws_topic_t *t, void *arg) {
  (void)t;
  (*(size_t *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uvws_topics_t *t = uvws_topics_new();
  uvws_subs_t *subs[OWNERS] = {0};
  npairs = 0;
  size_t pos = 0;
  while (pos + 2 <= size) {
    int op = data[pos] & 3, owner = (data[pos] >> 2) & (OWNERS - 1);
    size_t len = data[pos + 1] % 48;
    pos += 2;
    if (len > size - pos) len = size - pos;
    /* A small alphabet would find more collisions, but any byte goes. */
    char s[64];
    for (size_t i = 0; i < len; i++) {
      uint8_t b = data[pos + i];
      static const char alpha[] = "ab/+#$/\xc3\xa9";
      s[i] = b < 0xc0 ? alpha[b % (sizeof(alpha) - 1)] : (char)(b & 0x7f);
    }
    pos += len;
    size_t count;
    if (op == 0) {
      int wild, r = uvws_topic_check_filter(s, len, &wild);
      if (r < 0 || npairs == MAX_PAIRS) continue;
      long had = find_pair(owner, s, len);
      r = uvws_topics_subscribe(t, &subs[owner], &subs[owner], s, len, wild, &count);
      if (r < 0) abort();
      if (r != (had < 0)) abort();
      if (r == 1) {
        pairs[npairs].owner = owner;
        memcpy(pairs[npairs].f, s, len);
        pairs[npairs++].len = len;
      }
      if (count != holders(s, len)) abort();
      if (!uvws_subs_has(t, subs[owner], s, len)) abort();
    } else if (op == 1) {
      long had = find_pair(owner, s, len);
      int r = subs[owner] ? uvws_topics_unsubscribe(t, subs[owner], s, len, &count) : 0;
      if (r != (had >= 0)) abort();
      if (had >= 0) pairs[had] = pairs[--npairs];
      if (r == 1 && count != holders(s, len)) abort();
      if (subs[owner] && uvws_subs_has(t, subs[owner], s, len)) abort();
    } else if (op == 2) {
      if (uvws_topic_check_name(s, len) < 0) continue;
      size_t expect = 0, got = 0;
      /* each distinct matching filter once */
      for (size_t i = 0; i < npairs; i++) {
        if (!ref_match(pairs[i].f, pairs[i].len, s, len)) continue;
        size_t j = 0;
        while (j < i && !(pairs[j].len == pairs[i].len && !memcmp(pairs[j].f, pairs[i].f, pairs[i].len))) j++;
        expect += j == i;
      }
      if (uvws_topics_match(t, s, len, on_match, &got) != expect || got != expect) abort();
    } else {
      uvws_topics_unsubscribe_all(t, &subs[owner], NULL, NULL);
      for (size_t i = 0; i < npairs;)
        if (pairs[i].owner == owner) pairs[i] = pairs[--npairs];
        else i++;
    }
    if (uvws_topics_count(t) > npairs) abort();
  }
  for (int o = 0; o < OWNERS; o++) uvws_topics_unsubscribe_all(t, &subs[o], NULL, NULL);
  if (uvws_topics_count(t) != 0) abort();
  uvws_topics_free(t);
  return 0;
}

/* Topic registry: filters, subscribers, and matching (see uvws_topic.h and
 * the "Topics" section of uvws.h for the rules). */
#include "uvws_topic.h"
#include "uvws.h"

#include <stdlib.h>
#include <string.h>

typedef struct uvws_htab {
  uvws_hnode_t **b;
  size_t mask, n;
} uvws_htab_t;

typedef struct uvws_tnode {
  uvws_hnode_t h;             /* literal edge from the parent */
  struct uvws_tnode *parent;
  struct uvws_tnode *plus;    /* '+' child */
  uvws_topic_t *end;          /* the wildcard filter that ends here */
  uvws_topic_t *rest;         /* "<this node>/#" */
  uint32_t refs;              /* filters ending at or below this node */
  uint8_t is_plus;
  char level[];
} uvws_tnode_t;

struct uvws_topics {
  uvws_htab_t topics;         /* filter string -> topic */
  uvws_htab_t edges;          /* (parent node, level) -> child node */
  uvws_tnode_t *root;          /* the empty prefix: never freed with refs */
  uint64_t seed;
  size_t mem;                 /* bytes allocated, for reporting */
  size_t nwild;               /* wildcard filters (0: no trie walk) */
};

/* ------------------------------------------------------------------ */
/* Accounting allocator                                                */
/* ------------------------------------------------------------------ */

static void *t_calloc(uvws_topics_t *t, size_t n) {
  void *p = calloc(1, n);
  if (p) t->mem += n;
  return p;
}

static void *t_realloc(uvws_topics_t *t, void *p, size_t old, size_t n) {
  void *q = realloc(p, n);
  if (q) t->mem += n - old;
  return q;
}

static void t_free(uvws_topics_t *t, void *p, size_t n) {
  if (!p) return;
  t->mem -= n;
  free(p);
}

/* ------------------------------------------------------------------ */
/* Hash table                                                          */
/* ------------------------------------------------------------------ */

/* FNV-1a over the parent pointer and the key, seeded per registry, with a
 * final avalanche so that the low bits (the bucket) depend on every byte. */
static uint64_t hash_key(uint64_t seed, const void *parent, const char *key, size_t len) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  uintptr_t p = (uintptr_t)parent;
  for (size_t i = 0; i < sizeof(p); i++, p >>= 8) h = (h ^ (uint8_t)p) * 0x100000001b3ull;
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)key[i]) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

static uvws_hnode_t *ht_find(const uvws_htab_t *ht, uint64_t hash, const void *parent,
                             const char *key, size_t len) {
  if (!ht->b) return NULL;
  for (uvws_hnode_t *e = ht->b[hash & ht->mask]; e; e = e->next)
    if (e->hash == hash && e->parent == parent && e->klen == len && memcmp(e->key, key, len) == 0)
      return e;
  return NULL;
}

static int ht_insert(uvws_topics_t *t, uvws_htab_t *ht, uvws_hnode_t *e) {
  if (!ht->b || ht->n >= ht->mask + 1) {
    size_t old = ht->b ? ht->mask + 1 : 0, cap = old ? old * 2 : 16;
    uvws_hnode_t **b = t_calloc(t, cap * sizeof(*b));
    if (!b) return UVWS_ENOMEM;
    for (size_t i = 0; i < old; i++) {
      for (uvws_hnode_t *x = ht->b[i], *next; x; x = next) {
        next = x->next;
        x->next = b[x->hash & (cap - 1)];
        b[x->hash & (cap - 1)] = x;
      }
    }
    t_free(t, ht->b, old * sizeof(*b));
    ht->b = b;
    ht->mask = cap - 1;
  }
  uvws_hnode_t **slot = &ht->b[e->hash & ht->mask];
  e->next = *slot;
  *slot = e;
  ht->n++;
  return 0;
}

static void ht_remove(uvws_htab_t *ht, uvws_hnode_t *e) {
  for (uvws_hnode_t **p = &ht->b[e->hash & ht->mask]; *p; p = &(*p)->next) {
    if (*p == e) {
      *p = e->next;
      ht->n--;
      return;
    }
  }
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

static int check(const char *s, size_t len, int allow_wild, int *wild) {
  if (!s || len == 0) return UVWS_EINVAL;
  if (len > UVWS_TOPIC_MAX_LEN) return UVWS_ELIMIT;
  size_t levels = 1;
  int w = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '/') {
      levels++;
    } else if (c == '+' || c == '#') {
      /* A wildcard is a whole level; '#' only the last one. */
      if (!allow_wild || (i > 0 && s[i - 1] != '/') || (i + 1 < len && s[i + 1] != '/') ||
          (c == '#' && i + 1 != len))
        return UVWS_EINVAL;
      w = 1;
    } else if (c == 0) {
      return UVWS_EINVAL;
    }
  }
  if (levels > UVWS_TOPIC_MAX_LEVELS) return UVWS_ELIMIT;
  if (!uvws_utf8_is_valid(s, len)) return UVWS_EINVAL;
  if (wild) *wild = w;
  return 0;
}

int uvws_topic_check_filter(const char *s, size_t len, int *wild) {
  return check(s, len, 1, wild);
}

int uvws_topic_check_name(const char *s, size_t len) { return check(s, len, 0, NULL); }

/* ------------------------------------------------------------------ */
/* Registry                                                            */
/* ------------------------------------------------------------------ */

uvws_topics_t *uvws_topics_new(void) {
  uvws_topics_t *t = calloc(1, sizeof(*t));
  if (t && !(t->root = calloc(1, sizeof(*t->root)))) {
    free(t);
    return NULL;
  }
  if (!t) return NULL;
  t->mem = sizeof(*t) + sizeof(*t->root);
  /* Seeded by addresses (randomized by ASLR): bucket positions are not a
   * fixed function of the topic names. */
  t->seed = hash_key((uintptr_t)t, &t, (const char *)&t->seed, sizeof(t->seed));
  return t;
}

static size_t topic_size(size_t len) { return sizeof(uvws_topic_t) + len + 1; }

static void topic_free(uvws_topics_t *t, uvws_topic_t *topic);

void uvws_topics_free(uvws_topics_t *t) {
  if (!t) return;
  /* Normally empty: every connection unsubscribes before it goes. */
  if (t->topics.b) {
    for (size_t i = 0; i <= t->topics.mask; i++) {
      while (t->topics.b[i]) {
        uvws_topic_t *topic = (uvws_topic_t *)t->topics.b[i];
        topic->n = 0;
        topic_free(t, topic);
      }
    }
  }
  free(t->topics.b);
  free(t->edges.b);
  free(t->root);
  free(t);
}

size_t uvws_topics_memory(const uvws_topics_t *t) { return t ? t->mem : 0; }
size_t uvws_topics_count(const uvws_topics_t *t) { return t ? t->topics.n : 0; }

uvws_topic_t *uvws_topics_find(const uvws_topics_t *t, const char *f, size_t len) {
  if (!t) return NULL;
  return (uvws_topic_t *)ht_find(&t->topics, hash_key(t->seed, NULL, f, len), NULL, f, len);
}

/* --- trie --- */

static int is_rest(const uvws_topic_t *topic) {
  size_t len = topic->h.klen;
  return topic->name[len - 1] == '#';
}

static void node_release(uvws_topics_t *t, uvws_tnode_t *n) {
  while (n && n != t->root) {
    uvws_tnode_t *parent = n->parent;
    if (--n->refs == 0) {
      if (n->is_plus) parent->plus = NULL;
      else ht_remove(&t->edges, &n->h);
      t_free(t, n, sizeof(*n) + n->h.klen);
    }
    n = parent;
  }
  if (n) n->refs--;
}

static uvws_tnode_t *node_new(uvws_topics_t *t, uvws_tnode_t *parent, const char *lv,
                              size_t len, int plus) {
  uvws_tnode_t *n = t_calloc(t, sizeof(*n) + len);
  if (!n) return NULL;
  n->parent = parent;
  n->is_plus = (uint8_t)plus;
  memcpy(n->level, lv, len);
  n->h.parent = parent;
  n->h.key = n->level;
  n->h.klen = (uint32_t)len;
  if (plus) {
    parent->plus = n;
    return n;
  }
  n->h.hash = hash_key(t->seed, parent, lv, len);
  if (ht_insert(t, &t->edges, &n->h) < 0) {
    t_free(t, n, sizeof(*n) + len);
    return NULL;
  }
  return n;
}

/* Hang a wildcard filter in the trie. Every node on its path counts it, so
 * a node is freed when its last filter goes. */
static int trie_add(uvws_topics_t *t, uvws_topic_t *topic) {
  const char *s = topic->name;
  size_t len = topic->h.klen, pos = 0;
  uvws_tnode_t *n = t->root;
  n->refs++;
  for (;;) {
    const char *slash = memchr(s + pos, '/', len - pos);
    size_t end = slash ? (size_t)(slash - s) : len, lvlen = end - pos;
    const char *lv = s + pos;
    if (lvlen == 1 && lv[0] == '#') break; /* always the last level */
    uvws_tnode_t *child;
    if (lvlen == 1 && lv[0] == '+') {
      child = n->plus ? n->plus : node_new(t, n, lv, 1, 1);
    } else {
      child = (uvws_tnode_t *)ht_find(&t->edges, hash_key(t->seed, n, lv, lvlen), n, lv, lvlen);
      if (!child) child = node_new(t, n, lv, lvlen, 0);
    }
    if (!child) {
      node_release(t, n);
      return UVWS_ENOMEM;
    }
    child->refs++;
    n = child;
    if (!slash) break;
    pos = end + 1;
  }
  if (is_rest(topic)) n->rest = topic;
  else n->end = topic;
  topic->node = n;
  t->nwild++;
  return 0;
}

static void trie_remove(uvws_topics_t *t, uvws_topic_t *topic) {
  uvws_tnode_t *n = topic->node;
  if (is_rest(topic)) n->rest = NULL;
  else n->end = NULL;
  topic->node = NULL;
  t->nwild--;
  node_release(t, n);
}

static uvws_topic_t *topic_new(uvws_topics_t *t, const char *f, size_t len, int wild) {
  uvws_topic_t *topic = t_calloc(t, topic_size(len));
  if (!topic) return NULL;
  memcpy(topic->name, f, len);
  topic->h.key = topic->name;
  topic->h.klen = (uint32_t)len;
  topic->h.hash = hash_key(t->seed, NULL, f, len);
  if (ht_insert(t, &t->topics, &topic->h) < 0) {
    t_free(t, topic, topic_size(len));
    return NULL;
  }
  if (wild && trie_add(t, topic) < 0) {
    ht_remove(&t->topics, &topic->h);
    t_free(t, topic, topic_size(len));
    return NULL;
  }
  return topic;
}

static void topic_free(uvws_topics_t *t, uvws_topic_t *topic) {
  if (topic->node) trie_remove(t, topic);
  ht_remove(&t->topics, &topic->h);
  t_free(t, topic->v, topic->cap * sizeof(*topic->v));
  t_free(t, topic, topic_size(topic->h.klen));
}

/* --- subscriptions --- */

static long subs_index(const uvws_subs_t *s, const uvws_topic_t *topic) {
  if (!s || !topic) return -1;
  /* Scan the shorter side. */
  if (topic->n < s->n) {
    for (uint32_t i = 0; i < topic->n; i++)
      if (topic->v[i].subs == s) return topic->v[i].idx;
    return -1;
  }
  for (uint32_t i = 0; i < s->n; i++)
    if (s->v[i].topic == topic) return i;
  return -1;
}

int uvws_subs_has(const uvws_topics_t *t, const uvws_subs_t *s, const char *f, size_t len) {
  return subs_index(s, uvws_topics_find(t, f, len)) >= 0;
}

static int grow(uvws_topics_t *t, void **v, uint32_t *cap, uint32_t n, size_t size) {
  if (n < *cap) return 0;
  uint32_t nc = *cap ? *cap * 2 : 4;
  void *p = t_realloc(t, *v, (size_t)*cap * size, (size_t)nc * size);
  if (!p) return UVWS_ENOMEM;
  *v = p;
  *cap = nc;
  return 0;
}

static void subs_free(uvws_topics_t *t, uvws_subs_t *s) {
  t_free(t, s->v, s->cap * sizeof(*s->v));
  t_free(t, s, sizeof(*s));
}

int uvws_topics_subscribe(uvws_topics_t *t, uvws_subs_t **subs, void *owner, const char *f,
                          size_t len, int wild, size_t *count) {
  uvws_subs_t *s = *subs;
  uvws_topic_t *topic = uvws_topics_find(t, f, len);
  if (topic && subs_index(s, topic) >= 0) {
    *count = topic->n;
    return 0;
  }
  if (s && s->n >= UVWS_TOPIC_MAX_PER_CONN) return UVWS_ELIMIT;
  if (!s) {
    if (!(s = t_calloc(t, sizeof(*s)))) return UVWS_ENOMEM;
    s->owner = owner;
  }
  int created = 0;
  if (grow(t, (void **)&s->v, &s->cap, s->n, sizeof(*s->v)) < 0) goto nomem;
  if (!topic) {
    if (!(topic = topic_new(t, f, len, wild))) goto nomem;
    created = 1;
  }
  if (grow(t, (void **)&topic->v, &topic->cap, topic->n, sizeof(*topic->v)) < 0) {
    if (created) topic_free(t, topic);
    goto nomem;
  }
  topic->v[topic->n].subs = s;
  topic->v[topic->n].idx = s->n;
  s->v[s->n].topic = topic;
  s->v[s->n].idx = topic->n;
  topic->n++;
  s->n++;
  *subs = s;
  *count = topic->n;
  return 1;
nomem:
  if (!*subs) subs_free(t, s);
  return UVWS_ENOMEM;
}

/* Unlink subscription j of s; the topic is returned (possibly empty now,
 * for the caller to free). */
static uvws_topic_t *remove_pair(uvws_subs_t *s, uint32_t j) {
  uvws_topic_t *topic = s->v[j].topic;
  uint32_t ti = s->v[j].idx, last = --topic->n;
  if (ti != last) {
    topic->v[ti] = topic->v[last];
    topic->v[ti].subs->v[topic->v[ti].idx].idx = ti;
  }
  /* The connection's side keeps subscription order (uvws_topics()). */
  s->n--;
  if (j < s->n) memmove(s->v + j, s->v + j + 1, (s->n - j) * sizeof(*s->v));
  for (uint32_t k = j; k < s->n; k++) s->v[k].topic->v[s->v[k].idx].idx = k;
  return topic;
}

int uvws_topics_unsubscribe(uvws_topics_t *t, uvws_subs_t *s, const char *f, size_t len,
                            size_t *count) {
  uvws_topic_t *topic = uvws_topics_find(t, f, len);
  long j = subs_index(s, topic);
  *count = topic ? topic->n : 0;
  if (j < 0) return 0;
  remove_pair(s, (uint32_t)j);
  *count = topic->n;
  if (topic->n == 0) topic_free(t, topic);
  return 1;
}

void uvws_topics_unsubscribe_all(uvws_topics_t *t, uvws_subs_t **subs,
                                 void (*fn)(const char *f, size_t len, size_t count, void *arg),
                                 void *arg) {
  uvws_subs_t *s = *subs;
  if (!s) return;
  while (s->n) {
    uvws_topic_t *topic = remove_pair(s, s->n - 1);
    /* fn may change other subscriptions, even free this topic: it gets a
     * copy of the name and the registry is consistent before it runs. */
    char name[UVWS_TOPIC_MAX_LEN + 1];
    size_t len = topic->h.klen, count = topic->n;
    memcpy(name, topic->name, len + 1);
    if (count == 0) topic_free(t, topic);
    if (fn) fn(name, len, count, arg);
  }
  subs_free(t, s);
  *subs = NULL;
}

/* ------------------------------------------------------------------ */
/* Matching                                                            */
/* ------------------------------------------------------------------ */

typedef struct {
  const uvws_topics_t *t;
  const char *lv[UVWS_TOPIC_MAX_LEVELS];
  size_t lvlen[UVWS_TOPIC_MAX_LEVELS];
  size_t nlv;
  int dollar;                 /* the name starts with '$' */
  void (*fn)(uvws_topic_t *, void *);
  void *arg;
  size_t found;
} match_t;

static void report(match_t *m, uvws_topic_t *topic) {
  m->found++;
  m->fn(topic, m->arg);
}

/* Each trie node is reached by one path only, so every filter is reported
 * at most once and the walk visits each node at most once. */
static void walk(match_t *m, const uvws_tnode_t *n, size_t i) {
  int wild_ok = !(i == 0 && m->dollar);
  if (n->rest && wild_ok) report(m, n->rest);
  if (i == m->nlv) {
    if (n->end) report(m, n->end);
    return;
  }
  const uvws_tnode_t *c = (const uvws_tnode_t *)ht_find(
      &m->t->edges, hash_key(m->t->seed, n, m->lv[i], m->lvlen[i]), n, m->lv[i], m->lvlen[i]);
  if (c) walk(m, c, i + 1);
  if (n->plus && wild_ok) walk(m, n->plus, i + 1);
}

size_t uvws_topics_match(const uvws_topics_t *t, const char *name, size_t len,
                         void (*fn)(uvws_topic_t *topic, void *arg), void *arg) {
  if (!t) return 0;
  match_t m;
  m.t = t;
  m.fn = fn;
  m.arg = arg;
  m.found = 0;
  uvws_topic_t *exact = uvws_topics_find(t, name, len);
  if (exact && !exact->node) report(&m, exact);
  if (t->nwild == 0) return m.found;
  m.nlv = 0;
  m.dollar = name[0] == '$';
  size_t pos = 0;
  for (;;) {
    const char *slash = memchr(name + pos, '/', len - pos);
    size_t end = slash ? (size_t)(slash - name) : len;
    if (m.nlv == UVWS_TOPIC_MAX_LEVELS) return m.found; /* names are checked */
    m.lv[m.nlv] = name + pos;
    m.lvlen[m.nlv++] = end - pos;
    if (!slash) break;
    pos = end + 1;
  }
  walk(&m, t->root, 0);
  return m.found;
}

/* The topic registry of one server: which connections hold which filters,
 * and which filters match a published name. Sans-I/O: it knows connections
 * only as opaque owners, so the fuzzer and the unit tests drive it alone.
 *
 * Filters without wildcards live only in a hash keyed by the filter string,
 * so a publish finds them in O(1). Wildcard filters also hang in a trie of
 * levels whose literal edges are one hash keyed by (parent node, level);
 * '+' and '#' are direct pointers of a node. */
#ifndef UVWS_TOPIC_H
#define UVWS_TOPIC_H

#include <stddef.h>
#include <stdint.h>

typedef struct uvws_topic uvws_topic_t;
typedef struct uvws_subs uvws_subs_t;
typedef struct uvws_topics uvws_topics_t;

/* A chained hash node, embedded first in topics and trie nodes. */
typedef struct uvws_hnode {
  struct uvws_hnode *next;
  uint64_t hash;
  const void *parent;         /* NULL for topics; the parent trie node */
  const char *key;
  uint32_t klen;
} uvws_hnode_t;

/* One side of a subscription: the topic keeps (subs, index in subs->v),
 * the connection keeps (topic, index in topic->v), so either side removes
 * the pair in O(1) (plus an ordered shift on the connection's side). */
typedef struct uvws_topic_ref {
  uvws_subs_t *subs;
  uint32_t idx;
} uvws_topic_ref_t;

typedef struct uvws_subs_ref {
  uvws_topic_t *topic;
  uint32_t idx;
} uvws_subs_ref_t;

struct uvws_topic {
  uvws_hnode_t h;             /* key = the filter string (name[]) */
  struct uvws_tnode *node;    /* wildcard filters: where it ends in the trie */
  uvws_topic_ref_t *v;        /* subscribers */
  uint32_t n, cap;
  char name[];                /* NUL-terminated copy of the filter */
};

/* One connection's subscriptions, in subscription order. */
struct uvws_subs {
  void *owner;
  uint64_t epoch;             /* last publish that selected the owner */
  uvws_subs_ref_t *v;
  uint32_t n, cap;
};

uvws_topics_t *uvws_topics_new(void);
/* Frees the registry and every topic left in it; the connections' subs
 * must have been released first (uvws_topics_unsubscribe_all). */
void uvws_topics_free(uvws_topics_t *t);

/* Validate a filter (wildcards allowed as whole levels) or a name (no
 * wildcard at all). Return 0, UVWS_EINVAL or UVWS_ELIMIT; *wild is set to
 * 1 when the filter has a wildcard. */
int uvws_topic_check_filter(const char *s, size_t len, int *wild);
int uvws_topic_check_name(const char *s, size_t len);

/* Subscribe `owner` (its subs are created in *subs on first use) to a
 * checked filter. Returns 1 (new), 0 (already), UVWS_ELIMIT, UVWS_ENOMEM;
 * *count is the filter's subscriber count afterwards. */
int uvws_topics_subscribe(uvws_topics_t *t, uvws_subs_t **subs, void *owner,
                          const char *f, size_t len, int wild, size_t *count);
/* Returns 1 when removed, 0 when `subs` did not hold the filter; *count is
 * the filter's subscriber count afterwards. */
int uvws_topics_unsubscribe(uvws_topics_t *t, uvws_subs_t *subs,
                            const char *f, size_t len, size_t *count);
/* Remove every subscription of *subs, last first, calling fn for each with
 * the count afterwards (the name is valid during the call), then free the
 * subs and set *subs to NULL. */
void uvws_topics_unsubscribe_all(uvws_topics_t *t, uvws_subs_t **subs,
                                 void (*fn)(const char *f, size_t len,
                                            size_t count, void *arg),
                                 void *arg);
/* The topic with exactly this filter string, or NULL. */
uvws_topic_t *uvws_topics_find(const uvws_topics_t *t, const char *f, size_t len);
/* 1 if `subs` holds this exact filter. */
int uvws_subs_has(const uvws_topics_t *t, const uvws_subs_t *subs,
                  const char *f, size_t len);

/* Call fn for every topic whose filter matches the checked name: the exact
 * one first, then wildcard filters in trie order. Each matching filter is
 * reported once. Returns how many matched. */
size_t uvws_topics_match(const uvws_topics_t *t, const char *name, size_t len,
                         void (*fn)(uvws_topic_t *topic, void *arg), void *arg);

/* Bytes the registry and the subs it created have allocated. */
size_t uvws_topics_memory(const uvws_topics_t *t);
size_t uvws_topics_count(const uvws_topics_t *t);

#endif

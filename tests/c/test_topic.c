/* Topics: the registry (validation, the MQTT matching table, a random
 * comparison with a plain reference matcher, thousands of topics with their
 * memory), then publish/subscribe end to end over loopback: the API,
 * ordering across send/publish/broadcast and topics under load,
 * unsubscribing during delivery, connections closing with messages batched,
 * slow subscribers dropped or closed while the others get everything, and
 * many subscribers. */
#include "e2e_util.h"
#include "test.h"
#include "topic_ref.h"
#include "uvws_internal.h"

#include <stdlib.h>

static uv_loop_t *loop;

/* ================================================================== */
/* Registry                                                            */
/* ================================================================== */

static void test_validation(void) {
  static const struct {
    const char *s;
    int filter, name; /* expected results */
  } cases[] = {
      {"a", 0, 0},
      {"a/b/c", 0, 0},
      {"/", 0, 0},
      {"//", 0, 0},
      {"a//b", 0, 0},
      {"/a", 0, 0},
      {"a/", 0, 0},
      {"+", 0, UVWS_EINVAL},
      {"#", 0, UVWS_EINVAL},
      {"+/+", 0, UVWS_EINVAL},
      {"a/+", 0, UVWS_EINVAL},
      {"+/a", 0, UVWS_EINVAL},
      {"a/+/b", 0, UVWS_EINVAL},
      {"a/#", 0, UVWS_EINVAL},
      {"+/#", 0, UVWS_EINVAL},
      {"/#", 0, UVWS_EINVAL},
      {"a+", UVWS_EINVAL, UVWS_EINVAL},
      {"+a", UVWS_EINVAL, UVWS_EINVAL},
      {"a/b+", UVWS_EINVAL, UVWS_EINVAL},
      {"a#", UVWS_EINVAL, UVWS_EINVAL},
      {"#/a", UVWS_EINVAL, UVWS_EINVAL},
      {"a/#/b", UVWS_EINVAL, UVWS_EINVAL},
      {"##", UVWS_EINVAL, UVWS_EINVAL},
      {"++", UVWS_EINVAL, UVWS_EINVAL},
      {"a/#/", UVWS_EINVAL, UVWS_EINVAL},
      {"caf\xc3\xa9/\xe2\x82\xac", 0, 0},        /* café/€ */
      {"\xf0\x9f\x98\x80/+", 0, UVWS_EINVAL},     /* emoji level */
      {"\xc3", UVWS_EINVAL, UVWS_EINVAL},          /* truncated UTF-8 */
      {"a/\xff", UVWS_EINVAL, UVWS_EINVAL},
      {"$SYS/#", 0, UVWS_EINVAL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int wild = -1;
    test_ctx("%s", cases[i].s);
    EXPECT_INT(uvws_topic_check_filter(cases[i].s, strlen(cases[i].s), &wild), cases[i].filter);
    EXPECT_INT(uvws_topic_check_name(cases[i].s, strlen(cases[i].s)), cases[i].name);
    if (cases[i].filter == 0)
      EXPECT_INT(wild, strchr(cases[i].s, '+') || strchr(cases[i].s, '#'));
  }
  EXPECT_INT(uvws_topic_check_filter("", 0, NULL), UVWS_EINVAL);
  EXPECT_INT(uvws_topic_check_name(NULL, 3), UVWS_EINVAL);
  EXPECT_INT(uvws_topic_check_name("a\0b", 3), UVWS_EINVAL);
  /* Limits: length and levels, exactly at and one past. */
  char buf[UVWS_TOPIC_MAX_LEN + 2];
  memset(buf, 'x', sizeof(buf));
  EXPECT_INT(uvws_topic_check_name(buf, UVWS_TOPIC_MAX_LEN), 0);
  EXPECT_INT(uvws_topic_check_name(buf, UVWS_TOPIC_MAX_LEN + 1), UVWS_ELIMIT);
  size_t n = 0;
  for (int i = 0; i < UVWS_TOPIC_MAX_LEVELS; i++) {
    if (i) buf[n++] = '/';
    buf[n++] = 'l';
  }
  EXPECT_INT(uvws_topic_check_filter(buf, n, NULL), 0);
  buf[n] = '/';
  buf[n + 1] = '#';
  EXPECT_INT(uvws_topic_check_filter(buf, n + 2, NULL), UVWS_ELIMIT);
  test_ctx(NULL);
}

/* The owner's epoch trick is the fan-out's business; here: which filters
 * match. */
typedef struct {
  char names[16][64];
  size_t n;
} found_t;

static void on_found(uvws_topic_t *t, void *arg) {
  found_t *f = arg;
  if (f->n < 16) snprintf(f->names[f->n], 64, "%s", t->name);
  f->n++;
}

static void test_match_table(void) {
  static const struct {
    const char *filter, *name;
    int match;
  } cases[] = {
      {"a/b", "a/b", 1},
      {"a/b", "a/b/c", 0},
      {"a/b", "a", 0},
      {"a/+", "a/b", 1},
      {"a/+", "a/", 1},            /* '+' matches an empty level */
      {"a/+", "a", 0},
      {"a/+", "a/b/c", 0},
      {"+", "a", 1},
      {"+", "/a", 0},
      {"+/+", "/a", 1},
      {"+/+", "/", 1},
      {"/+", "/x", 1},             /* '+' at the end after an empty level */
      {"+/", "x/", 1},             /* '+' first, then an empty level */
      {"+/", "x", 0},
      {"+/b/+", "a/b/c", 1},
      {"+/b/+", "a/x/c", 0},
      {"a//b", "a//b", 1},
      {"a//b", "a/b", 0},
      {"a/+/b", "a//b", 1},
      {"#", "a", 1},
      {"#", "a/b/c", 1},
      {"#", "/", 1},
      {"#", "$SYS/x", 0},          /* '$' names: no first-level wildcard */
      {"+/x", "$SYS/x", 0},
      {"$SYS/#", "$SYS/x", 1},
      {"$SYS/+", "$SYS/x", 1},
      {"a/#", "a", 1},             /* '#' includes the parent level */
      {"a/#", "a/", 1},
      {"a/#", "a/b/c", 1},
      {"a/#", "ab", 0},
      {"a/#", "b/a", 0},
      {"/#", "/", 1},
      {"/#", "a", 0},
      {"+/#", "a", 1},
      {"+/#", "a/b/c", 1},
      {"a/+/#", "a", 0},
      {"a/+/#", "a/b", 1},
      {"caf\xc3\xa9/+", "caf\xc3\xa9/\xe2\x82\xac", 1},
      {"caf\xc3\xa9/+", "cafe/\xe2\x82\xac", 0},
      {"+/\xf0\x9f\x98\x80", "x/\xf0\x9f\x98\x80", 1},
      {"A/b", "a/b", 0},           /* case matters */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *f = cases[i].filter, *n = cases[i].name;
    test_ctx("%s ~ %s", f, n);
    EXPECT_INT(ref_match(f, strlen(f), n, strlen(n)), cases[i].match);
    if (!*n) continue; /* not a valid name: only the reference is asked */
    uvws_topics_t *t = uvws_topics_new();
    uvws_subs_t *subs = NULL;
    size_t count;
    int wild;
    EXPECT_INT(uvws_topic_check_filter(f, strlen(f), &wild), 0);
    EXPECT_INT(uvws_topics_subscribe(t, &subs, t, f, strlen(f), wild, &count), 1);
    found_t fd = {.n = 0};
    EXPECT_INT(uvws_topics_match(t, n, strlen(n), on_found, &fd), cases[i].match);
    uvws_topics_unsubscribe_all(t, &subs, NULL, NULL);
    EXPECT(subs == NULL);
    EXPECT_INT(uvws_topics_count(t), 0);
    uvws_topics_free(t);
  }
  test_ctx(NULL);
}

/* Every filter that matches is reported once, exact and wildcard alike. */
static void test_match_several(void) {
  uvws_topics_t *t = uvws_topics_new();
  uvws_subs_t *a = NULL, *b = NULL;
  const char *fa[] = {"r/1", "r/+", "r/#", "#", "+/+", "r/2", "x/#"};
  size_t count;
  for (size_t i = 0; i < 7; i++) {
    int wild;
    uvws_topic_check_filter(fa[i], strlen(fa[i]), &wild);
    EXPECT_INT(uvws_topics_subscribe(t, &a, (void *)1, fa[i], strlen(fa[i]), wild, &count), 1);
    EXPECT_INT(uvws_topics_subscribe(t, &a, (void *)1, fa[i], strlen(fa[i]), wild, &count), 0);
    EXPECT_INT(count, 1);
  }
  EXPECT_INT(uvws_topics_subscribe(t, &b, (void *)2, "r/+", 3, 1, &count), 1);
  EXPECT_INT(count, 2);
  found_t fd = {.n = 0};
  EXPECT_INT(uvws_topics_match(t, "r/1", 3, on_found, &fd), 5);
  EXPECT(strcmp(fd.names[0], "r/1") == 0); /* exact first */
  int seen_plus = 0;
  for (size_t i = 0; i < fd.n; i++) seen_plus += strcmp(fd.names[i], "r/+") == 0;
  EXPECT_INT(seen_plus, 1);
  /* Order kept on the connection's side after removals in the middle. */
  EXPECT_INT(uvws_topics_unsubscribe(t, a, "r/+", 3, &count), 1);
  EXPECT_INT(count, 1);
  EXPECT_INT(uvws_topics_unsubscribe(t, a, "r/+", 3, &count), 0);
  EXPECT_INT(uvws_topics_unsubscribe(t, a, "#", 1, &count), 1);
  EXPECT_INT(a->n, 5);
  const char *left[] = {"r/1", "r/#", "+/+", "r/2", "x/#"};
  for (size_t i = 0; i < 5; i++) {
    EXPECT(strcmp(a->v[i].topic->name, left[i]) == 0);
    EXPECT(a->v[i].topic->v[a->v[i].idx].subs == a); /* back links */
  }
  EXPECT(uvws_subs_has(t, a, "r/#", 3));
  EXPECT(!uvws_subs_has(t, a, "r/+", 3));
  EXPECT(uvws_subs_has(t, b, "r/+", 3));
  uvws_topics_unsubscribe_all(t, &a, NULL, NULL);
  uvws_topics_unsubscribe_all(t, &b, NULL, NULL);
  EXPECT_INT(uvws_topics_count(t), 0);
  uvws_topics_free(t);
}

/* Random filters and names from a small alphabet (so that they collide),
 * the trie against the reference. */
static void random_topic(char *out, size_t *len, int filter) {
  static const char *levels[] = {"a", "b", "", "c\xc3\xa9", "$x", "ab"};
  size_t n = 1 + test_rand_below(5), pos = 0;
  for (size_t i = 0; i < n; i++) {
    if (i) out[pos++] = '/';
    int r = (int)test_rand_below(filter ? 9 : 6);
    const char *lv = r < 6 ? levels[r] : r < 8 ? "+" : "#";
    if (r == 8) {
      out[pos++] = '#';
      break;
    }
    if (i == 0 && lv[0] == '$' && test_rand_below(2)) lv = "a";
    size_t l = strlen(lv);
    memcpy(out + pos, lv, l);
    pos += l;
  }
  *len = pos;
}

static void test_match_random(void) {
  test_seed(13);
  for (int round = 0; round < 200; round++) {
    uvws_topics_t *t = uvws_topics_new();
    uvws_subs_t *subs = NULL;
    char filters[40][64];
    size_t flen[40], nf = 0;
    for (int i = 0; i < 40; i++) {
      size_t count;
      int wild;
      random_topic(filters[nf], &flen[nf], 1);
      if (uvws_topic_check_filter(filters[nf], flen[nf], &wild) < 0) continue;
      if (uvws_topics_subscribe(t, &subs, t, filters[nf], flen[nf], wild, &count) == 1) nf++;
    }
    for (int i = 0; i < 50; i++) {
      char name[64];
      size_t nl;
      random_topic(name, &nl, 0);
      if (uvws_topic_check_name(name, nl) < 0) continue;
      size_t expect = 0;
      for (size_t j = 0; j < nf; j++) expect += ref_match(filters[j], flen[j], name, nl);
      found_t fd = {.n = 0};
      size_t got = uvws_topics_match(t, name, nl, on_found, &fd);
      if (got != expect) fprintf(stderr, "round %d, name %.*s:\n", round, (int)nl, name);
      EXPECT_INT(got, expect);
    }
    /* Remove half, compare again: nodes freed on the way must not be
     * reached any more. */
    for (size_t j = 0; j < nf; j += 2) {
      size_t count;
      EXPECT_INT(uvws_topics_unsubscribe(t, subs, filters[j], flen[j], &count), 1);
    }
    for (int i = 0; i < 20; i++) {
      char name[64];
      size_t nl;
      random_topic(name, &nl, 0);
      if (uvws_topic_check_name(name, nl) < 0) continue;
      size_t expect = 0;
      for (size_t j = 1; j < nf; j += 2) expect += ref_match(filters[j], flen[j], name, nl);
      found_t fd = {.n = 0};
      EXPECT_INT(uvws_topics_match(t, name, nl, on_found, &fd), expect);
    }
    uvws_topics_unsubscribe_all(t, &subs, NULL, NULL);
    EXPECT_INT(uvws_topics_count(t), 0);
    uvws_topics_free(t);
  }
  test_ctx(NULL);
}

/* 10,000 topics, 2,000 owners with 50 filters each (100,000 subscriptions),
 * some wildcards: counts, matching, and the memory it takes, reported. All
 * of it is returned when the owners go. */
static void test_registry_many(void) {
  enum { TOPICS = 10000, OWNERS = 2000, PER = 50 };
  uvws_topics_t *t = uvws_topics_new();
  size_t empty = uvws_topics_memory(t);
  uvws_subs_t **subs = calloc(OWNERS, sizeof(*subs));
  char name[64];
  size_t count;
  for (int o = 0; o < OWNERS; o++) {
    for (int k = 0; k < PER; k++) {
      int topic = (o * 7 + k * 197) % TOPICS;
      size_t n = (size_t)snprintf(name, sizeof(name), "room/%d/msg", topic);
      int r = uvws_topics_subscribe(t, &subs[o], &subs[o], name, n, 0, &count);
      if (r != 1) EXPECT_INT(r, 1);
    }
    /* one wildcard filter per 100 owners */
    if (o % 100 == 0) {
      size_t n = (size_t)snprintf(name, sizeof(name), "room/+/msg");
      uvws_topics_subscribe(t, &subs[o], &subs[o], name, n, 1, &count);
    }
  }
  size_t used = uvws_topics_memory(t);
  fprintf(stderr, "registry: %zu topics, %d subscriptions: %zu bytes (%.1f per subscription)\n",
          uvws_topics_count(t), OWNERS * PER + OWNERS / 100, used - empty,
          (double)(used - empty) / (OWNERS * PER));
  EXPECT(uvws_topics_count(t) <= TOPICS + 1);
  /* Each topic's subscribers, plus the 20 wildcard holders (once each). */
  size_t total = 0;
  for (int topic = 0; topic < TOPICS; topic += 37) {
    size_t n = (size_t)snprintf(name, sizeof(name), "room/%d/msg", topic);
    uvws_topic_t *tp = uvws_topics_find(t, name, n);
    size_t exact = tp ? tp->n : 0;
    size_t matched = 0;
    found_t fd = {.n = 0};
    uvws_topics_match(t, name, n, on_found, &fd);
    matched = fd.n;
    EXPECT_INT(matched, (tp ? 1 : 0) + 1);
    total += exact;
  }
  EXPECT(total > 0);
  for (int o = 0; o < OWNERS; o++) uvws_topics_unsubscribe_all(t, &subs[o], NULL, NULL);
  EXPECT_INT(uvws_topics_count(t), 0);
  /* Only the (grown) hash bucket arrays stay. */
  fprintf(stderr, "registry after all unsubscribed: %zu bytes\n", uvws_topics_memory(t));
  EXPECT(uvws_topics_memory(t) < empty + (size_t)2 * 16384 * sizeof(void *) + 1);
  uvws_topics_free(t);
  free(subs);
}

static void test_per_conn_limit(void) {
  uvws_topics_t *t = uvws_topics_new();
  uvws_subs_t *s = NULL;
  char name[32];
  size_t count;
  for (int i = 0; i < UVWS_TOPIC_MAX_PER_CONN; i++) {
    size_t n = (size_t)snprintf(name, sizeof(name), "t%d", i);
    int r = uvws_topics_subscribe(t, &s, t, name, n, 0, &count);
    if (r != 1) EXPECT_INT(r, 1);
  }
  EXPECT_INT(uvws_topics_subscribe(t, &s, t, "one-more", 8, 0, &count), UVWS_ELIMIT);
  /* Already held: still answered, not an error. */
  EXPECT_INT(uvws_topics_subscribe(t, &s, t, "t5", 2, 0, &count), 0);
  EXPECT_INT(uvws_topics_unsubscribe(t, s, "t5", 2, &count), 1);
  EXPECT_INT(uvws_topics_subscribe(t, &s, t, "one-more", 8, 0, &count), 1);
  uvws_topics_unsubscribe_all(t, &s, NULL, NULL);
  uvws_topics_free(t);
}

/* ================================================================== */
/* End to end                                                          */
/* ================================================================== */

#define MAXC 256

typedef struct client {
  uvws_t *ws;         /* client side */
  uvws_t *srv;        /* its server side */
  int id, open, closed, close_code, srv_close_code;
  int64_t last_seq;
  long got, bad, expect;
  size_t bytes;
  int ack;            /* answer every message with "a" */
  int pause;          /* pause reading once open */
} client_t;

typedef struct {
  uvws_server_t *server;
  client_t c[MAXC];
  int nc, cli_open, srv_open, srv_closed, cli_closed, all_open, server_closed, done;
  int busy;           /* the test is still producing: do not stop waiting */
  /* per test */
  void (*on_srv_message)(client_t *c, const char *d, size_t n);
  void (*on_cli_message)(client_t *c, const char *d, size_t n);
  void (*on_srv_close)(client_t *c);
  void (*on_dropped)(uvws_t *ws, const char *topic, size_t tl, const void *d, size_t n, int f);
  long dropped, sub_events;
  size_t last_new, last_old;
  char last_filter[64];
} world_t;

static world_t W;

static void update_flags(void) {
  W.all_open = W.cli_open == W.nc && W.srv_open == W.nc;
}

static void w_srv_open(uvws_t *ws, const uvws_http_t *req) {
  int id = atoi(req->path + 1);
  if (id < 0 || id >= W.nc) return;
  W.c[id].srv = ws;
  uvws_set_data(ws, &W.c[id]);
  W.srv_open++;
  update_flags();
}

static void w_srv_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)bin;
  client_t *c = uvws_get_data(ws);
  if (c && W.on_srv_message) W.on_srv_message(c, d, n);
}

static void w_srv_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)r;
  (void)n;
  client_t *c = uvws_get_data(ws);
  /* Unsubscribed from everything before on_close. */
  EXPECT_INT(uvws_topics(ws, NULL, NULL), 0);
  if (c) {
    c->srv_close_code = code;
    c->srv = NULL;
    if (W.on_srv_close) W.on_srv_close(c);
  }
  W.srv_closed++;
}

static uint32_t be32(const char *p) {
  const uint8_t *u = (const uint8_t *)p;
  return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* Messages: 4-byte sequence number, then bytes equal to seq & 0xff. */
static size_t make_msg(char *buf, uint32_t seq, size_t len) {
  buf[0] = (char)(seq >> 24);
  buf[1] = (char)(seq >> 16);
  buf[2] = (char)(seq >> 8);
  buf[3] = (char)seq;
  memset(buf + 4, (int)(seq & 0xff), len - 4);
  return len;
}

static void w_cli_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)bin;
  client_t *c = uvws_get_data(ws);
  if (W.on_cli_message) {
    W.on_cli_message(c, d, n);
    return;
  }
  /* Default: checked sequence. */
  if (n < 4) {
    c->bad++;
    return;
  }
  int64_t seq = be32(d);
  if (seq <= c->last_seq) c->bad++;
  for (size_t i = 4; i < n; i++)
    if ((uint8_t)d[i] != (uint8_t)(seq & 0xff)) {
      c->bad++;
      break;
    }
  c->last_seq = seq;
  c->got++;
  c->bytes += n;
  if (c->ack) uvws_send(ws, "a", 1, UVWS_TEXT);
}

static void w_cli_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  client_t *c = uvws_get_data(ws);
  c->open = 1;
  if (c->pause) {
    uvws_pause(ws);
    /* A small receive buffer fills soon: the server's queue then grows. */
    int sz = 4096;
    uv_recv_buffer_size((uv_handle_t *)uvws_stream(ws), &sz);
  }
  W.cli_open++;
  update_flags();
}

static void w_cli_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)r;
  (void)n;
  client_t *c = uvws_get_data(ws);
  c->closed = 1;
  c->close_code = code;
  c->ws = NULL;
  W.cli_closed++;
}

static void w_subscription(uvws_t *ws, const char *f, size_t len, size_t nw, size_t old) {
  (void)ws;
  W.sub_events++;
  W.last_new = nw;
  W.last_old = old;
  snprintf(W.last_filter, sizeof(W.last_filter), "%.*s", (int)len, f);
}

static void w_dropped(uvws_t *ws, const char *topic, size_t tl, const void *d, size_t n, int f) {
  W.dropped++;
  if (W.on_dropped) W.on_dropped(ws, topic, tl, d, n, f);
}

static void w_server_closed(uvws_server_t *s) {
  (void)s;
  W.server_closed = 1;
}

/* Start a server and `nc` clients (those whose bit is set in deflate_mask
 * negotiate permessage-deflate); wait until all are open. */
/* The permessage-deflate options world_start gives the server and the
 * clients in its deflate_mask (reset after each start). */
static uvws_deflate_options_t world_dfl;

static void world_start(int nc, uvws_server_options_t *so, unsigned long long deflate_mask) {
  memset(&W, 0, sizeof(W));
  W.nc = nc;
  static uvws_deflate_options_t dfl;
  dfl = world_dfl;
  memset(&world_dfl, 0, sizeof(world_dfl));
  uvws_server_options_t local;
  if (!so) {
    uvws_server_options_init(&local);
    so = &local;
  }
  if (deflate_mask) so->deflate = &dfl;
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_open = w_srv_open;
  scb.on_message = w_srv_message;
  scb.on_close = w_srv_close;
  ccb.on_open = w_cli_open;
  ccb.on_message = w_cli_message;
  ccb.on_close = w_cli_close;
  W.server = e2e_server(loop, "127.0.0.1", so, &scb, NULL, NULL);
  uvws_topic_callbacks_t tcb = {w_subscription, w_dropped};
  uvws_server_topic_callbacks(W.server, &tcb);
  for (int i = 0; i < nc; i++) {
    char url[128], path[16];
    snprintf(path, sizeof(path), "/%d", i);
    e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(W.server), path);
    uvws_client_options_t co;
    uvws_client_options_init(&co);
    co.limits.max_backpressure = 0;
    if (i < 64 && (deflate_mask >> i & 1)) co.deflate = &dfl;
    W.c[i].id = i;
    W.c[i].last_seq = -1;
    EXPECT_INT(uvws_connect(loop, url, &co, &ccb, &W.c[i], &W.c[i].ws), 0);
  }
  e2e_wait(loop, &W.all_open, 20000);
}

static int world_done_flag(void) {
  if (W.busy) return 0;
  for (int i = 0; i < W.nc; i++)
    if (!W.c[i].closed && W.c[i].got < W.c[i].expect) return 0;
  return 1;
}

static void on_poll_done(uv_timer_t *t) {
  (void)t;
  if (world_done_flag()) W.done = 1;
}

/* Run until every client got what it expects. */
static void world_wait_received(unsigned ms) {
  uv_timer_t t;
  W.done = 0;
  uv_timer_init(loop, &t);
  uv_timer_start(&t, on_poll_done, 1, 1);
  e2e_wait(loop, &W.done, ms);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static void world_stop(void) {
  W.on_srv_message = NULL;
  W.on_dropped = NULL;
  for (int i = 0; i < W.nc; i++)
    if (W.c[i].ws && W.c[i].pause) uvws_terminate(W.c[i].ws);
  uvws_server_close(W.server, w_server_closed);
  EXPECT_INT(e2e_run(loop, 30000), 0);
  EXPECT(W.server_closed);
  EXPECT_INT(W.cli_closed, W.nc);
}

/* ------------------------------------------------------------------ */
/* The API on live connections                                         */
/* ------------------------------------------------------------------ */

static int collect_topics(uvws_t *ws, const char *f, size_t len, void *arg) {
  (void)ws;
  char *out = arg;
  strncat(out, f, len);
  strcat(out, ",");
  return 0;
}

static void test_api(void) {
  world_start(4, NULL, 0);
  uvws_t *s0 = W.c[0].srv, *s1 = W.c[1].srv, *s2 = W.c[2].srv, *s3 = W.c[3].srv;
  char msg[32];
  /* Errors */
  EXPECT_INT(uvws_subscribe(W.c[0].ws, "a", 1), UVWS_ENOTSUP);
  EXPECT_INT(uvws_publish(W.c[0].ws, "a", 1, "x", 1, UVWS_TEXT), UVWS_ENOTSUP);
  EXPECT_INT(uvws_subscribe(s0, "a+", 2), UVWS_EINVAL);
  EXPECT_INT(uvws_subscribe(s0, "", 0), UVWS_EINVAL);
  EXPECT_INT(uvws_subscribe(NULL, "a", 1), UVWS_EINVAL);
  EXPECT_INT(uvws_server_publish(W.server, "a/+", 3, "x", 1, UVWS_TEXT), UVWS_EINVAL);
  EXPECT_INT(uvws_server_publish(W.server, "a", 1, "x", 1, UVWS_TEXT | UVWS_MORE), UVWS_EINVAL);
  EXPECT_INT(uvws_server_publish(W.server, "a", 1, "x", 1, 7), UVWS_EINVAL);
  EXPECT_INT(uvws_server_publish(W.server, "a", 1, NULL, 1, UVWS_TEXT), UVWS_EINVAL);
  EXPECT(strcmp(uvws_strerror(UVWS_ELIMIT), "unknown error") != 0);
  /* Nobody subscribed yet. */
  EXPECT_INT(uvws_server_publish(W.server, "a/b", 3, "x", 1, UVWS_TEXT), 0);
  EXPECT_INT(uvws_topics(s0, NULL, NULL), 0);
  /* Subscribe, with the callback's counts. */
  EXPECT_INT(uvws_subscribe(s0, "a/b", 3), 1);
  EXPECT_INT(W.last_new, 1);
  EXPECT_INT(W.last_old, 0);
  EXPECT_INT(uvws_subscribe(s0, "a/b", 3), 0);
  EXPECT_INT(W.sub_events, 1);
  EXPECT_INT(uvws_subscribe(s1, "a/b", 3), 1);
  EXPECT_INT(W.last_new, 2);
  EXPECT_INT(W.last_old, 1);
  EXPECT(strcmp(W.last_filter, "a/b") == 0);
  EXPECT_INT(uvws_server_num_subscribers(W.server, "a/b", 3), 2);
  EXPECT_INT(uvws_server_num_subscribers(W.server, "a/+", 3), 0);
  EXPECT(uvws_is_subscribed(s0, "a/b", 3));
  EXPECT(!uvws_is_subscribed(s2, "a/b", 3));
  /* Overlapping filters: one copy. */
  const char *fl[] = {"r/1", "r/+", "r/#", "#"};
  for (int i = 0; i < 4; i++) EXPECT_INT(uvws_subscribe(s2, fl[i], strlen(fl[i])), 1);
  EXPECT_INT(uvws_subscribe(s3, "$SYS/#", 6), 1);
  EXPECT(uvws_is_subscribed(s2, "r/+", 3));
  EXPECT(!uvws_is_subscribed(s2, "r/2", 3)); /* held filters, not matches */
  char list[256] = "";
  EXPECT_INT(uvws_topics(s2, collect_topics, list), 4);
  EXPECT(strcmp(list, "r/1,r/+,r/#,#,") == 0);
  uint32_t seq = 0;
  /* s2 only ("#" and the r/ filters): one message although four match */
  EXPECT_INT(uvws_server_publish(W.server, "r/1", 3, msg, make_msg(msg, seq++, 10), UVWS_BINARY), 1);
  W.c[2].expect++;
  /* a/b: s0 and s1, and s2 by "#" */
  EXPECT_INT(uvws_server_publish(W.server, "a/b", 3, msg, make_msg(msg, seq++, 10), UVWS_BINARY), 3);
  W.c[0].expect++, W.c[1].expect++, W.c[2].expect++;
  /* from s0: everyone but s0 */
  EXPECT_INT(uvws_publish(s0, "a/b", 3, msg, make_msg(msg, seq++, 10), UVWS_BINARY), 2);
  W.c[1].expect++, W.c[2].expect++;
  /* $SYS: not for "#", only for "$SYS/#" */
  EXPECT_INT(uvws_server_publish(W.server, "$SYS/load", 9, msg, make_msg(msg, seq++, 10), UVWS_BINARY), 1);
  W.c[3].expect++;
  /* broadcast goes everywhere, through the same path */
  EXPECT_INT(uvws_server_broadcast(W.server, msg, make_msg(msg, seq++, 10), UVWS_BINARY), 4);
  for (int i = 0; i < 4; i++) W.c[i].expect++;
  /* Unsubscribe */
  EXPECT_INT(uvws_unsubscribe(s1, "a/b", 3), 1);
  EXPECT_INT(W.last_new, 1);
  EXPECT_INT(W.last_old, 2);
  EXPECT_INT(uvws_unsubscribe(s1, "a/b", 3), 0);
  EXPECT_INT(uvws_unsubscribe(s1, "never", 5), 0);
  EXPECT_INT(uvws_topics(s1, NULL, NULL), 0);
  EXPECT(W.c[1].srv && uvws__aux(s1)->subs == NULL); /* back to nothing */
  EXPECT_INT(uvws_server_publish(W.server, "a/b", 3, msg, make_msg(msg, seq++, 10), UVWS_BINARY), 2);
  W.c[0].expect++, W.c[2].expect++;
  world_wait_received(10000);
  for (int i = 0; i < 4; i++) {
    EXPECT_INT(W.c[i].got, W.c[i].expect);
    EXPECT_INT(W.c[i].bad, 0);
  }
  /* A closing connection loses its filters just before on_close. */
  long events = W.sub_events;
  uvws_close(W.c[2].ws, 1000, NULL, 0);
  while (W.c[2].srv) uv_run(loop, UV_RUN_ONCE);
  EXPECT_INT(W.sub_events, events + 4);
  EXPECT_INT(uvws_server_num_subscribers(W.server, "#", 1), 0);
  EXPECT_INT(uvws_server_num_subscribers(W.server, "a/b", 3), 1);
  world_stop();
}

/* ------------------------------------------------------------------ */
/* Ordering across send, publish, broadcast and topics, under load      */
/* ------------------------------------------------------------------ */

#define ORD_CLIENTS 6
#define ORD_TOTAL 6000
#define ORD_BIG 70000

static struct {
  uv_timer_t timer;
  uint32_t seq;
  char *buf;
  int per_tick;
} OR;

static void ord_step(void) {
  for (int k = 0; k < OR.per_tick && OR.seq < ORD_TOTAL; k++) {
    uint32_t i = OR.seq++;
    size_t len = make_msg(OR.buf, i, i % 13 == 0 ? ORD_BIG : 4 + i % 40);
    int r;
    if (i % 5 == 0) {
      client_t *c = &W.c[(i / 5) % ORD_CLIENTS];
      r = uvws_send(c->srv, OR.buf, len, UVWS_BINARY);
      if (r >= 0 && r != UVWS_SEND_DROPPED) c->expect++;
      else EXPECT_INT(r, 0);
    } else if (i % 11 == 0) {
      r = (int)uvws_server_broadcast(W.server, OR.buf, len, UVWS_BINARY);
      EXPECT_INT(r, ORD_CLIENTS);
      for (int j = 0; j < ORD_CLIENTS; j++) W.c[j].expect++;
    } else {
      /* client j holds topic t when bit t of j+1 is set; client 5 also
       * holds "t/#", which matches every topic. */
      int topic = (int)(i % 3);
      char name[8];
      int n = snprintf(name, sizeof(name), "t/%d", topic);
      int want = 0;
      for (int j = 0; j < ORD_CLIENTS; j++)
        if (((j + 1) >> topic & 1) || j == 5) {
          W.c[j].expect++;
          want++;
        }
      r = uvws_server_publish(W.server, name, (size_t)n, OR.buf, len, UVWS_BINARY);
      EXPECT_INT(r, want);
    }
  }
  if (OR.seq >= ORD_TOTAL) {
    uv_timer_stop(&OR.timer);
    W.busy = 0;
  }
}

static void ord_tick(uv_timer_t *t) {
  (void)t;
  ord_step();
}

static void test_ordering(int per_tick) {
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.limits.max_backpressure = 0; /* everything must arrive */
  /* client 4 negotiates permessage-deflate: its large messages are
   * compressed on its own path, the small ones shared. */
  world_start(ORD_CLIENTS, &so, 1ull << 4);
  EXPECT(uvws_compressed(W.c[4].srv));
  for (int j = 0; j < ORD_CLIENTS; j++) {
    for (int topic = 0; topic < 3; topic++) {
      char name[8];
      int n = snprintf(name, sizeof(name), "t/%d", topic);
      if ((j + 1) >> topic & 1) EXPECT_INT(uvws_subscribe(W.c[j].srv, name, (size_t)n), 1);
    }
  }
  EXPECT_INT(uvws_subscribe(W.c[5].srv, "t/#", 3), 1);
  OR.buf = malloc(ORD_BIG);
  OR.seq = 0;
  OR.per_tick = per_tick;
  uv_timer_init(loop, &OR.timer);
  W.busy = 1;
  if (per_tick >= ORD_TOTAL) {
    ord_step(); /* all of it in one loop turn */
  } else {
    uv_timer_start(&OR.timer, ord_tick, 0, 1);
  }
  world_wait_received(60000);
  uv_close((uv_handle_t *)&OR.timer, NULL);
  long total = 0;
  for (int j = 0; j < ORD_CLIENTS; j++) {
    test_ctx("client %d", j);
    EXPECT_INT(W.c[j].bad, 0);
    EXPECT_INT(W.c[j].got, W.c[j].expect);
    total += W.c[j].got;
  }
  test_ctx(NULL);
  fprintf(stderr, "ordering (%d per turn): %ld messages checked in order\n", per_tick, total);
  free(OR.buf);
  world_stop();
}

/* ------------------------------------------------------------------ */
/* Compressed subscribers: one compressed frame for those without       */
/* context takeover, their own compression for the others               */
/* ------------------------------------------------------------------ */

extern _Thread_local size_t uvws__fanout_compressions;

static void test_compressed(int no_context_takeover) {
  world_dfl.server_no_context_takeover = no_context_takeover;
  world_dfl.threshold = 64;
  /* clients 0-2 negotiate permessage-deflate, 3 does not */
  world_start(4, NULL, 0x7);
  for (int i = 0; i < 4; i++) {
    EXPECT_INT(uvws_compressed(W.c[i].srv), i < 3);
    EXPECT_INT(uvws_subscribe(W.c[i].srv, "z", 1), 1);
  }
  size_t before = uvws__fanout_compressions;
  static char msg[100000];
  uint32_t seq = 0;
  for (int k = 0; k < 20; k++) {
    /* small (batched copies), over the threshold, and large (shared) */
    size_t len = k % 4 == 0 ? sizeof(msg) : k % 4 == 1 ? 32 : 2000;
    EXPECT_INT(uvws_server_publish(W.server, "z", 1, msg, make_msg(msg, seq++, len), UVWS_BINARY), 4);
  }
  /* ... and one uncompressed on request */
  EXPECT_INT(uvws_server_publish(W.server, "z", 1, msg, make_msg(msg, seq++, 5000),
                                 UVWS_BINARY | UVWS_NO_COMPRESS), 4);
  /* 15 messages are over the threshold: compressed once each when the
   * subscribers reset their context, else by each on its own path */
  EXPECT_INT(uvws__fanout_compressions - before, no_context_takeover ? 15 : 0);
  for (int i = 0; i < 4; i++) W.c[i].expect = 21;
  world_wait_received(20000);
  for (int i = 0; i < 4; i++) {
    EXPECT_INT(W.c[i].got, 21);
    EXPECT_INT(W.c[i].bad, 0);
  }
  world_stop();
}

/* ------------------------------------------------------------------ */
/* Unsubscribing during delivery, and while messages are batched        */
/* ------------------------------------------------------------------ */

static int nested;

/* s0 is the slow one: dropping for it unsubscribes the others and
 * publishes again, in the middle of the first delivery. */
static void ud_dropped(uvws_t *ws, const char *topic, size_t tl, const void *d, size_t n, int f) {
  (void)d;
  (void)n;
  (void)f;
  if (ws != W.c[0].srv || nested || !topic) return;
  nested = 1;
  EXPECT_INT(uvws_unsubscribe(W.c[1].srv, "u", 1), 1);
  EXPECT_INT(uvws_unsubscribe(W.c[2].srv, "u", 1), 1);
  EXPECT_INT(uvws_unsubscribe(ws, "u", 1), 1);
  char msg[16];
  /* nobody holds "u" any more */
  EXPECT_INT(uvws_server_publish(W.server, topic, tl, msg, make_msg(msg, 1000, 8), UVWS_BINARY), 0);
}

static void test_unsubscribe_during_delivery(void) {
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.limits.max_backpressure = 1; /* anything buffered drops the next */
  world_start(3, &so, 0);
  nested = 0;
  W.on_dropped = ud_dropped;
  /* s0 gets one message buffered (the socket is written at the end of the
   * turn), so the second publish drops for it first: s0 holds "u" first */
  for (int i = 0; i < 3; i++) EXPECT_INT(uvws_subscribe(W.c[i].srv, "u", 1), 1);
  char msg[16];
  EXPECT_INT(uvws_send(W.c[0].srv, msg, make_msg(msg, 1, 8), UVWS_BINARY), UVWS_SEND_OK);
  W.c[0].expect = 1;
  /* s0 has corked bytes: over the limit of 1 byte */
  int r = uvws_server_publish(W.server, "u", 1, msg, make_msg(msg, 2, 8), UVWS_BINARY);
  EXPECT_INT(nested, 1);
  EXPECT_INT(W.dropped, 1);
  /* collected before the callback ran: s1 and s2 still got it */
  EXPECT_INT(r, 2);
  W.c[1].expect = W.c[2].expect = 1;
  EXPECT_INT(uvws_server_num_subscribers(W.server, "u", 1), 0);
  world_wait_received(10000);
  for (int i = 0; i < 3; i++) {
    EXPECT_INT(W.c[i].got, W.c[i].expect);
    EXPECT_INT(W.c[i].bad, 0);
  }
  world_stop();

  /* Batched: publish, unsubscribe, publish in one turn: the first is
   * delivered (it was published while subscribed), the second not. */
  world_start(2, NULL, 0);
  EXPECT_INT(uvws_subscribe(W.c[0].srv, "b/1", 3), 1);
  EXPECT_INT(uvws_subscribe(W.c[1].srv, "b/+", 3), 1);
  static char big[100000];
  EXPECT_INT(uvws_server_publish(W.server, "b/1", 3, big, make_msg(big, 1, sizeof(big)), UVWS_BINARY), 2);
  EXPECT_INT(uvws_server_publish(W.server, "b/1", 3, msg, make_msg(msg, 2, 8), UVWS_BINARY), 2);
  EXPECT_INT(uvws_unsubscribe(W.c[0].srv, "b/1", 3), 1);
  EXPECT_INT(uvws_server_publish(W.server, "b/1", 3, msg, make_msg(msg, 3, 8), UVWS_BINARY), 1);
  EXPECT_INT(uvws_subscribe(W.c[0].srv, "b/1", 3), 1);
  EXPECT_INT(uvws_server_publish(W.server, "b/1", 3, msg, make_msg(msg, 4, 8), UVWS_BINARY), 2);
  W.c[0].expect = 3;
  W.c[1].expect = 4;
  world_wait_received(10000);
  EXPECT_INT(W.c[0].got, 3);
  EXPECT_INT(W.c[0].last_seq, 4);
  EXPECT_INT(W.c[1].got, 4);
  EXPECT_INT(W.c[0].bad + W.c[1].bad, 0);
  world_stop();
}

/* ------------------------------------------------------------------ */
/* Connections closing while messages for them are batched             */
/* ------------------------------------------------------------------ */

static void test_close_while_batched(void) {
  world_start(4, NULL, 0);
  for (int i = 0; i < 4; i++) EXPECT_INT(uvws_subscribe(W.c[i].srv, "c", 1), 1);
  static char big[200000];
  char small[64];
  /* small ones batched in the queue chunk, large ones shared by reference */
  for (uint32_t s = 1; s <= 20; s++) {
    int r = s % 4 == 0 ? uvws_server_publish(W.server, "c", 1, big, make_msg(big, s, sizeof(big)), UVWS_BINARY)
                       : uvws_server_publish(W.server, "c", 1, small, make_msg(small, s, sizeof(small)), UVWS_BINARY);
    EXPECT_INT(r, 4);
  }
  EXPECT(uvws_buffered_amount(W.c[0].srv) > sizeof(big));
  /* 0: dropped at once; 1: closed politely behind its batch; 2, 3: get it */
  uvws_terminate(W.c[0].srv);
  EXPECT_INT(uvws_close(W.c[1].srv, 1000, NULL, 0), 0);
  EXPECT_INT(uvws_server_publish(W.server, "c", 1, small, make_msg(small, 21, sizeof(small)), UVWS_BINARY), 2);
  /* the shared frames are still referenced by 2 and 3 */
  W.c[1].expect = 20;
  W.c[2].expect = W.c[3].expect = 21;
  world_wait_received(20000);
  while (W.c[0].srv || W.c[1].srv || !W.c[1].closed) uv_run(loop, UV_RUN_ONCE);
  EXPECT_INT(W.c[0].close_code, 1006);
  EXPECT_INT(W.c[1].close_code, 1000);
  EXPECT_INT(W.c[1].got, 20); /* everything published before the close */
  EXPECT_INT(W.c[1].bad, 0);
  EXPECT(W.c[0].got <= 20);
  EXPECT_INT(W.c[0].bad, 0);
  for (int i = 2; i < 4; i++) {
    EXPECT_INT(W.c[i].got, 21);
    EXPECT_INT(W.c[i].bad, 0);
  }
  EXPECT_INT(uvws_server_num_subscribers(W.server, "c", 1), 2);
  world_stop();
}

/* ------------------------------------------------------------------ */
/* Slow subscriber: dropped or closed, the others get everything        */
/* ------------------------------------------------------------------ */

#define SLOW_N 300
#define SLOW_SIZE 65536
#define SLOW_LIMIT (512 * 1024)

static struct {
  char *buf;
  uint32_t sent;
  size_t max_buffered;
  uint64_t t0, t1;
} SL;

static void slow_publish_one(void) {
  if (SL.sent >= SLOW_N) return;
  uint32_t s = SL.sent++;
  uvws_server_publish(W.server, "tick", 4, SL.buf, make_msg(SL.buf, s, SLOW_SIZE), UVWS_BINARY);
  if (W.c[1].srv) {
    size_t b = uvws_buffered_amount(W.c[1].srv);
    if (b > SL.max_buffered) SL.max_buffered = b;
  }
  if (SL.sent == SLOW_N) SL.t1 = uv_hrtime();
}

/* The fast client acks every message: the next goes out then, so its
 * queue never fills, whatever the slow one does. */
static void slow_srv_message(client_t *c, const char *d, size_t n) {
  (void)d;
  (void)n;
  if (c->id == 0) slow_publish_one();
}

/* mode 0: the slow one is dropped for; 1: it is closed; 2: the baseline,
 * the fast one alone (its time is printed for comparison, never
 * asserted). */
static void test_slow_subscriber(int mode) {
  int close_mode = mode == 1;
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.limits.max_backpressure = SLOW_LIMIT;
  so.limits.close_on_backpressure = close_mode;
  world_start(2, &so, 0);
  W.c[0].ack = 1;
  W.on_srv_message = slow_srv_message;
  /* client 1 never reads; its server side has a small send buffer too */
  if (mode != 2) {
    uvws_pause(W.c[1].ws);
    W.c[1].pause = 1;
  }
  int sz = 4096;
  uv_recv_buffer_size((uv_handle_t *)uvws_stream(W.c[1].ws), &sz);
  uv_send_buffer_size((uv_handle_t *)uvws_stream(W.c[1].srv), &sz);
  EXPECT_INT(uvws_subscribe(W.c[0].srv, "tick", 4), 1);
  if (mode != 2) EXPECT_INT(uvws_subscribe(W.c[1].srv, "tick", 4), 1);
  SL.buf = malloc(SLOW_SIZE);
  SL.sent = 0;
  SL.max_buffered = 0;
  SL.t0 = uv_hrtime();
  for (int i = 0; i < 4; i++) slow_publish_one(); /* a window of 4 */
  W.c[0].expect = SLOW_N;
  world_wait_received(60000);
  EXPECT_INT(W.c[0].got, SLOW_N);
  EXPECT_INT(W.c[0].bad, 0);
  fprintf(stderr, "slow subscriber (%s): fast one got %d x %d B in %.1f ms; %ld drops; "
          "the other one's queue peaked at %zu B (limit %d)\n",
          mode == 2 ? "baseline: no slow one" : close_mode ? "close" : "drop", SLOW_N, SLOW_SIZE,
          (SL.t1 - SL.t0) / 1e6, W.dropped, SL.max_buffered, SLOW_LIMIT);
  EXPECT(SL.max_buffered <= SLOW_LIMIT + SLOW_SIZE + 14);
  if (mode == 2) {
    EXPECT_INT(W.dropped, 0);
    EXPECT_INT(W.c[1].got, 0);
  } else if (close_mode) {
    while (W.c[1].srv) uv_run(loop, UV_RUN_ONCE);
    EXPECT_INT(W.c[1].srv_close_code, 1008);
    EXPECT_INT(W.dropped, 0);
  } else {
    EXPECT(W.dropped > 0);
    EXPECT(W.c[1].srv != NULL);
  }
  free(SL.buf);
  world_stop();
}

/* ------------------------------------------------------------------ */
/* Many subscribers and topics                                         */
/* ------------------------------------------------------------------ */

#define MANY_CLIENTS 200
#define MANY_TOPICS 2000
#define MANY_PER 20

static void test_many(void) {
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  world_start(MANY_CLIENTS, &so, 0);
  size_t before = uvws__pubsub_memory(W.server);
  for (int j = 0; j < MANY_CLIENTS; j++) {
    for (int k = 0; k < MANY_PER; k++) {
      char name[32];
      int topic = (j * MANY_PER + k) % MANY_TOPICS;
      int n = snprintf(name, sizeof(name), "room/%d", topic);
      EXPECT_INT(uvws_subscribe(W.c[j].srv, name, (size_t)n), 1);
    }
  }
  EXPECT_INT(uvws_subscribe(W.c[0].srv, "room/+", 6), 1);
  size_t after = uvws__pubsub_memory(W.server);
  fprintf(stderr, "many: %d connections x %d topics (%d distinct): registry %zu bytes, "
          "%.1f per subscription\n",
          MANY_CLIENTS, MANY_PER, MANY_TOPICS, after - before,
          (double)(after - before) / (MANY_CLIENTS * MANY_PER));
  char msg[32];
  uint32_t seq = 0;
  for (int topic = 0; topic < MANY_TOPICS; topic++) {
    char name[32];
    int n = snprintf(name, sizeof(name), "room/%d", topic);
    int want = (int)uvws_server_num_subscribers(W.server, name, (size_t)n);
    int r = uvws_server_publish(W.server, name, (size_t)n, msg, make_msg(msg, seq++, 16), UVWS_BINARY);
    /* client 0 also holds room/+ (counted once where it holds both) */
    int has0 = uvws_is_subscribed(W.c[0].srv, name, (size_t)n);
    EXPECT_INT(r, want + !has0);
  }
  for (int j = 0; j < MANY_CLIENTS; j++) W.c[j].expect = MANY_PER;
  W.c[0].expect = MANY_TOPICS;
  world_wait_received(30000);
  long bad = 0, ok = 0;
  for (int j = 0; j < MANY_CLIENTS; j++) {
    bad += W.c[j].bad;
    ok += W.c[j].got == W.c[j].expect;
  }
  EXPECT_INT(bad, 0);
  EXPECT_INT(ok, MANY_CLIENTS);
  world_stop();
}

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  loop = uv_default_loop();
  test_validation();
  test_match_table();
  test_match_several();
  test_match_random();
  test_registry_many();
  test_per_conn_limit();
  e2e_report("registry");
  test_api();
  e2e_report("api");
  test_ordering(ORD_TOTAL);
  test_ordering(50);
  e2e_report("ordering");
  test_compressed(1);
  test_compressed(0);
  e2e_report("compressed subscribers");
  test_unsubscribe_during_delivery();
  e2e_report("unsubscribe during delivery");
  test_close_while_batched();
  e2e_report("close while batched");
  test_slow_subscriber(2);
  test_slow_subscriber(0);
  test_slow_subscriber(1);
  e2e_report("slow subscriber");
  test_many();
  int r = e2e_report("many");
  uv_loop_close(loop);
  return r;
}

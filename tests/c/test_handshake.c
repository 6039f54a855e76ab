/* The opening handshake (uvws_http.h, uvws_handshake.h): raw request bytes
 * through uvws_head_t (whole, byte by byte, random pieces) and
 * uvws_check_request; responses built by uvws_build_101 / uvws_build_error
 * parsed back and checked with uvws_check_response; uvws_build_request. */
#include "test.h"
#include "uvws.h"
#include "uvws_handshake.h"
#include "uvws_http.h"

#define SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* ------------------------------------------------------------------ */
/* Feeding heads                                                       */
/* ------------------------------------------------------------------ */

enum { F_WHOLE, F_BYTES, F_RANDOM, F_EMPTY_CHUNKS };
static const char *feed_names[] = {"whole", "byte by byte", "random pieces", "with empty chunks"};
#define NUM_FEED_MODES 4

/* Feed `raw` into `h` in pieces (each piece in its own heap buffer, freed
 * right after the call: the head must copy what it keeps). Stops at the
 * first non-zero result. *used = bytes that belonged to the head. Checks
 * that a 0 result used the whole piece and that `used` never exceeds it. */
static int feed_head(uvws_head_t *h, const char *raw, size_t len, int mode, size_t *used_total) {
  size_t pos = 0;
  int rc = 0;
  *used_total = 0;
  while (pos < len) {
    size_t k = len - pos;
    if (mode == F_BYTES) k = 1;
    else if (mode == F_RANDOM || mode == F_EMPTY_CHUNKS) {
      k = test_rand_below(4) ? 1 + test_rand_below(12) : 1 + test_rand_below(len - pos);
      if (k > len - pos) k = len - pos;
    }
    if (mode == F_EMPTY_CHUNKS && test_rand_below(3) == 0) {
      size_t u = 99;
      int r0 = uvws_head_feed(h, raw + pos, 0, &u);
      CHECK_EQ(r0, 0);
      CHECK_EQ(u, 0);
    }
    char *piece = malloc(k);
    memcpy(piece, raw + pos, k);
    size_t used = (size_t)-1;
    rc = uvws_head_feed(h, piece, k, &used);
    free(piece);
    if (used > k) {
      CHECK(used <= k);
      return -1;
    }
    if (rc >= 0) *used_total += used;
    if (rc == 0) CHECK_EQ(used, k);
    if (rc != 0) break;
    pos += k;
  }
  return rc;
}

/* Parse a request and check it. Returns the uvws_head_feed result if it is
 * not 1, else the uvws_check_request status (0 = valid). `h` is left
 * initialised for the caller to inspect and free. */
static int request_status(uvws_head_t *h, const char *raw, size_t len, const char *path,
                          int mode, size_t max_bytes, unsigned max_headers,
                          uvws_upgrade_info_t *info, const char **why, size_t *used) {
  uvws_head_init(h, 0, max_bytes, max_headers);
  size_t u;
  int rc = feed_head(h, raw, len, mode, &u);
  if (used) *used = u;
  if (rc != 1) return rc == 0 ? -1 : rc;
  *why = NULL;
  int st = uvws_check_request(&h->http, h->llhttp.http_major, h->llhttp.http_minor,
                              h->llhttp.method == HTTP_GET, path, info, why);
  if (st) CHECK(*why && **why);
  return st;
}

/* Every feed mode (and several random splits) gives `want`. */
static void expect_request_lim(const char *label, const char *raw, const char *path, int want,
                               size_t max_bytes, unsigned max_headers) {
  size_t len = strlen(raw);
  for (int mode = 0; mode < NUM_FEED_MODES + 6; mode++) {
    int m = mode < NUM_FEED_MODES ? mode : F_RANDOM;
    uvws_head_t h;
    uvws_upgrade_info_t info;
    const char *why;
    int st = request_status(&h, raw, len, path, m, max_bytes, max_headers, &info, &why, NULL);
    test_ctx("%s (%s)", label, feed_names[m]);
    CHECK_EQ(st, want);
    if (st != want && st > 0) fprintf(stderr, "  why: %s\n", why);
    uvws_head_free(&h);
  }
  test_ctx(NULL);
}

static void expect_request(const char *label, const char *raw, const char *path, int want) {
  expect_request_lim(label, raw, path, want, 8192, 64);
}

/* A request from the standard header set, minus the header starting with
 * `omit` (case-sensitive prefix, NULL for none), plus `extra` lines. */
static char *make_request(const char *line, const char *omit, const char *extra) {
  static const char *std[] = {
      "Host: server.example.com\r\n",  "Upgrade: websocket\r\n",
      "Connection: Upgrade\r\n",       "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n",
      "Sec-WebSocket-Version: 13\r\n",
  };
  static char buf[4096];
  size_t n = (size_t)snprintf(buf, sizeof(buf), "%s\r\n", line ? line : "GET /chat HTTP/1.1");
  for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++) {
    if (omit && strncmp(std[i], omit, strlen(omit)) == 0) continue;
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", std[i]);
  }
  n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\r\n", extra ? extra : "");
  return buf;
}

#define REQ(omit, extra) make_request(NULL, omit, extra)

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static void test_valid_request(void) {
  static const char raw[] =
      "GET /chat?x=1&y=2 HTTP/1.1\r\n"
      "Host: server.example.com\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
      "Origin: http://example.com\r\n"
      "Sec-WebSocket-Protocol: chat, superchat\r\n"
      "Sec-WebSocket-Version: 13\r\n"
      "\r\n";
  for (int mode = 0; mode < NUM_FEED_MODES; mode++) {
    uvws_head_t h;
    uvws_upgrade_info_t info;
    const char *why = NULL;
    size_t used;
    test_ctx("%s", feed_names[mode]);
    CHECK_EQ(request_status(&h, raw, sizeof(raw) - 1, "/chat", mode, 8192, 64, &info, &why, &used), 0);
    CHECK_EQ(used, sizeof(raw) - 1);
    const uvws_http_t *r = &h.http;
    CHECK_EQ(r->status, 0);
    CHECK_MEM(r->path, r->path_len, "/chat", 5);
    CHECK_MEM(r->query, r->query_len, "x=1&y=2", 7);
    CHECK_EQ(r->num_headers, 7);
    CHECK_MEM(info.key, 24, SAMPLE_KEY, 24);
    CHECK_MEM(info.protocols, info.protocols_len, "chat, superchat", 15);
    CHECK_PTR(info.extensions, NULL);
    size_t n = 0;
    const char *v = uvws_http_header(r, "ORIGIN", &n);
    CHECK_MEM(v, n, "http://example.com", 18);
    v = uvws_http_header(r, "host", &n);
    CHECK_MEM(v, n, "server.example.com", 18);
    CHECK_PTR(uvws_http_header(r, "cookie", &n), NULL);
    CHECK(uvws_http_header(r, "upgrade", NULL) != NULL); /* len may be NULL */
    if (r->num_headers == 7) {
      CHECK_MEM(r->headers[0].name, r->headers[0].name_len, "Host", 4);
      CHECK_MEM(r->headers[6].name, r->headers[6].name_len, "Sec-WebSocket-Version", 21);
      CHECK_MEM(r->headers[6].value, r->headers[6].value_len, "13", 2);
    }
    /* done: more input is not taken */
    size_t u = 99;
    CHECK_EQ(uvws_head_feed(&h, "xyz", 3, &u), 1);
    CHECK_EQ(u, 0);
    uvws_head_free(&h);
  }
  test_ctx(NULL);
  expect_request("standard set", REQ(NULL, NULL), NULL, 0);
  expect_request("extensions", REQ(NULL, "Sec-WebSocket-Extensions: permessage-deflate\r\n"), NULL, 0);
  {
    uvws_head_t h;
    uvws_upgrade_info_t info;
    const char *why, *raw = REQ(NULL, "Sec-WebSocket-Extensions: permessage-deflate; x=1\r\n");
    CHECK_EQ(request_status(&h, raw, strlen(raw), NULL, F_WHOLE, 8192, 64, &info, &why, NULL), 0);
    CHECK_MEM(info.extensions, info.extensions_len, "permessage-deflate; x=1", 23);
    uvws_head_free(&h);
  }
  /* no query; an empty query */
  {
    uvws_head_t h;
    uvws_upgrade_info_t info;
    const char *why, *raw = make_request("GET / HTTP/1.1", NULL, NULL);
    CHECK_EQ(request_status(&h, raw, strlen(raw), "/", F_BYTES, 8192, 64, &info, &why, NULL), 0);
    CHECK_MEM(h.http.path, h.http.path_len, "/", 1);
    CHECK_PTR(h.http.query, NULL);
    uvws_head_free(&h);
    raw = make_request("GET /p? HTTP/1.1", NULL, NULL);
    CHECK_EQ(request_status(&h, raw, strlen(raw), "/p", F_BYTES, 8192, 64, &info, &why, NULL), 0);
    CHECK(h.http.query != NULL);
    CHECK_EQ(h.http.query_len, 0);
    uvws_head_free(&h);
  }
}

static void test_case_insensitive(void) {
  expect_request("Upgrade: WebSocket", REQ("Upgrade:", "Upgrade: WebSocket\r\n"), NULL, 0);
  expect_request("UPGRADE: WEBSOCKET", REQ("Upgrade:", "UPGRADE: WEBSOCKET\r\n"), NULL, 0);
  expect_request("Upgrade list", REQ("Upgrade:", "Upgrade: foo/2, websocket\r\n"), NULL, 0);
  expect_request("Connection: keep-alive, Upgrade",
                 REQ("Connection:", "Connection: keep-alive, Upgrade\r\n"), NULL, 0);
  expect_request("connection: upgrade", REQ("Connection:", "connection: upgrade\r\n"), NULL, 0);
  expect_request("Connection: Upgrade, keep-alive",
                 REQ("Connection:", "Connection: Upgrade,keep-alive\r\n"), NULL, 0);
  expect_request("two Connection headers",
                 REQ("Connection:", "Connection: keep-alive\r\nConnection: Upgrade\r\n"), NULL, 0);
  expect_request("lower-case names",
                 "GET / HTTP/1.1\r\nhost: a\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
                 "sec-websocket-key: " SAMPLE_KEY "\r\nsec-websocket-version: 13\r\n\r\n",
                 NULL, 0);
  expect_request("mixed-case names",
                 "GET / HTTP/1.1\r\nHOST: a\r\nuPgRaDe: websocket\r\nCONNECTION: UPGRADE\r\n"
                 "SEC-WEBSOCKET-KEY: " SAMPLE_KEY "\r\nSec-Websocket-Version: 13\r\n\r\n",
                 NULL, 0);
  expect_request("spaces around values",
                 "GET / HTTP/1.1\r\nHost:a\r\nUpgrade:   websocket\r\nConnection:\tUpgrade\r\n"
                 "Sec-WebSocket-Key:" SAMPLE_KEY "\r\nSec-WebSocket-Version:  13\r\n\r\n",
                 NULL, 0);
}

static void test_request_errors(void) {
  expect_request("missing Host", REQ("Host:", NULL), NULL, 400);
  expect_request("duplicate Host", REQ(NULL, "Host: other\r\n"), NULL, 400);
  expect_request("POST", make_request("POST /chat HTTP/1.1", NULL, NULL), NULL, 405);
  expect_request("PUT", make_request("PUT /chat HTTP/1.1", NULL, NULL), NULL, 405);
  expect_request("HEAD", make_request("HEAD /chat HTTP/1.1", NULL, NULL), NULL, 405);
  expect_request("HTTP/1.0", make_request("GET /chat HTTP/1.0", NULL, NULL), NULL, 400);
  expect_request("missing Upgrade", REQ("Upgrade:", NULL), NULL, 426);
  expect_request("wrong Upgrade", REQ("Upgrade:", "Upgrade: h2c\r\n"), NULL, 400);
  expect_request("Upgrade: websocket2", REQ("Upgrade:", "Upgrade: websocket2\r\n"), NULL, 400);
  expect_request("missing Connection", REQ("Connection:", NULL), NULL, 400);
  expect_request("Connection without upgrade", REQ("Connection:", "Connection: keep-alive\r\n"),
                 NULL, 400);
  expect_request("Connection: upgraded", REQ("Connection:", "Connection: upgraded\r\n"), NULL, 400);
  expect_request("missing version", REQ("Sec-WebSocket-Version:", NULL), NULL, 400);
  expect_request("version 8", REQ("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8\r\n"),
                 NULL, 0);
  expect_request("version 14", REQ("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 14\r\n"),
                 NULL, 426);
  expect_request("version 7", REQ("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 7\r\n"),
                 NULL, 426);
  expect_request("version 13, 8",
                 REQ("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13, 8\r\n"), NULL, 426);
  expect_request("version duplicated", REQ(NULL, "Sec-WebSocket-Version: 13\r\n"), NULL, 400);
  expect_request("missing key", REQ("Sec-WebSocket-Key:", NULL), NULL, 400);
  static const char *bad_keys[] = {
      "",
      "dGhlIHNhbXBsZSBub25jZQ",       /* no padding */
      "AAAAAAAAAAAAAAAAAAAA",         /* 15 bytes */
      "AAAAAAAAAAAAAAAAAAAAAAA=",     /* 17 bytes */
      "AAAAAAAAAAAAAAAAAAAAAAAA",     /* 18 bytes */
      "dGhlIHNhbXBsZSBub25jZ!==",     /* not base64 */
      "dGhlIHNhbXBsZSBub25jZQ=",      /* 23 chars */
      "dGhlIHNhbXBsZSBub25jZR==",     /* unused bits set */
      "dGhlIHNhbXBsZSBub25jZQ==AAAA", /* 20 bytes */
      "dGhlIHNhbXBsZSBub25jZQ=A",
      "d GhlIHNhbXBsZSBub25jQ==",
  };
  for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
    char extra[128], label[96];
    snprintf(extra, sizeof(extra), "Sec-WebSocket-Key: %s\r\n", bad_keys[i]);
    snprintf(label, sizeof(label), "key \"%s\"", bad_keys[i]);
    expect_request(label, REQ("Sec-WebSocket-Key:", extra), NULL, 400);
  }
  expect_request("key of 16 zero bytes", REQ("Sec-WebSocket-Key:", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"),
                 NULL, 0);
  expect_request("key with + and /", REQ("Sec-WebSocket-Key:", "Sec-WebSocket-Key: ++//++//++//++//++//+w==\r\n"),
                 NULL, 0);
  expect_request("duplicate key", REQ(NULL, "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"), NULL, 400);
}

static void test_path_filter(void) {
  const char *raw = make_request("GET /chat?room=1 HTTP/1.1", NULL, NULL);
  expect_request("path matches (query ignored)", raw, "/chat", 0);
  expect_request("no filter", raw, NULL, 0);
  expect_request("other path", raw, "/other", 400);
  expect_request("prefix only", raw, "/ch", 400);
  expect_request("longer filter", raw, "/chat/", 400);
  expect_request("case differs", raw, "/Chat", 400);
  expect_request("root", make_request("GET / HTTP/1.1", NULL, NULL), "/", 0);
  expect_request("root vs /chat", make_request("GET / HTTP/1.1", NULL, NULL), "/chat", 400);
}

static void test_subprotocols(void) {
  expect_request("one protocol", REQ(NULL, "Sec-WebSocket-Protocol: chat\r\n"), NULL, 0);
  expect_request("two protocols", REQ(NULL, "Sec-WebSocket-Protocol: chat, v2.json\r\n"), NULL, 0);
  expect_request("two headers",
                 REQ(NULL, "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat\r\n"),
                 NULL, 0);
  static const char *bad[] = {"",        ", ,",        "super chat", "chat, ch@t", "\"chat\"",
                              "chat/1.0", "a, b;c",    "chat, {x}",  "x=y",        "[v]"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char extra[128], label[96];
    snprintf(extra, sizeof(extra), "Sec-WebSocket-Protocol: %s\r\n", bad[i]);
    snprintf(label, sizeof(label), "protocol \"%s\"", bad[i]);
    expect_request(label, REQ(NULL, extra), NULL, 400);
  }
  /* the first header's list is reported */
  uvws_head_t h;
  uvws_upgrade_info_t info;
  const char *why,
      *raw = REQ(NULL, "Sec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Protocol: c\r\n");
  CHECK_EQ(request_status(&h, raw, strlen(raw), NULL, F_WHOLE, 8192, 64, &info, &why, NULL), 0);
  CHECK_MEM(info.protocols, info.protocols_len, "a, b", 4);
  uvws_head_free(&h);
}

static void test_head_limits(void) {
  const char *base = REQ(NULL, NULL);
  size_t blen = strlen(base);
  char *raw = malloc(blen + 1);
  memcpy(raw, base, blen + 1);
  /* exactly max_bytes: fine; one less: too big */
  expect_request_lim("head of exactly max bytes", raw, NULL, 0, blen, 64);
  expect_request_lim("head one byte over max", raw, NULL, UVWS_ETOOBIG, blen - 1, 64);
  expect_request_lim("head far over max", raw, NULL, UVWS_ETOOBIG, 64, 64);
  /* with bytes after the head: they do not count against the limit */
  {
    char *more = malloc(blen + 200);
    memcpy(more, raw, blen);
    memset(more + blen, 'x', 199);
    more[blen + 199] = 0;
    uvws_head_t h;
    uvws_upgrade_info_t info;
    const char *why;
    size_t used;
    CHECK_EQ(request_status(&h, more, blen + 199, NULL, F_WHOLE, blen, 64, &info, &why, &used), 0);
    CHECK_EQ(used, blen);
    uvws_head_free(&h);
    free(more);
  }
  free(raw);
  /* a huge header value */
  char *big = malloc(20000);
  char *v = malloc(16001);
  memset(v, 'v', 16000);
  v[16000] = 0;
  snprintf(big, 20000, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: %s\r\n\r\n", v);
  expect_request_lim("16 KB header, 8 KB limit", big, NULL, UVWS_ETOOBIG, 8192, 64);
  /* endless header stream without CRLFCRLF: too big, never incomplete */
  {
    uvws_head_t h;
    uvws_head_init(&h, 0, 8192, 64);
    int rc = 0;
    size_t used, i;
    const char *line = "X-Foo: bar\r\n";
    rc = uvws_head_feed(&h, "GET / HTTP/1.1\r\n", 16, &used);
    for (i = 0; i < 2000 && rc == 0; i++) rc = uvws_head_feed(&h, line, strlen(line), &used);
    CHECK_EQ(rc, UVWS_ETOOBIG);
    CHECK(h.len <= 8192); /* never buffered past the limit */
    uvws_head_free(&h);
  }
  free(v);
  free(big);
  /* header count */
  char req[4096];
  size_t n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                                                "Connection: Upgrade\r\nSec-WebSocket-Key: " SAMPLE_KEY
                                                "\r\nSec-WebSocket-Version: 13\r\n");
  for (int i = 0; i < 5; i++) n += (size_t)snprintf(req + n, sizeof(req) - n, "X-%d: %d\r\n", i, i);
  snprintf(req + n, sizeof(req) - n, "\r\n");
  expect_request_lim("10 headers, max 10", req, NULL, 0, 8192, 10);
  expect_request_lim("10 headers, max 9", req, NULL, UVWS_ETOOBIG, 8192, 9);
  expect_request_lim("10 headers, max 1", req, NULL, UVWS_ETOOBIG, 8192, 1);
}

/* An empty feed is a no-op, also on a fresh head (nothing buffered yet). */
static void test_empty_feed(void) {
  for (int resp = 0; resp < 2; resp++) {
    uvws_head_t h;
    uvws_head_init(&h, resp, 8192, 64);
    size_t used = 99;
    static const char empty[1] = {0};
    CHECK_EQ(uvws_head_feed(&h, empty, 0, &used), 0);
    CHECK_EQ(used, 0);
    const char *raw = resp ? "HTTP/1.1 101 Switching Protocols\r\n\r\n" : REQ(NULL, NULL);
    CHECK_EQ(uvws_head_feed(&h, raw, 5, &used), 0);
    CHECK_EQ(uvws_head_feed(&h, raw + 5, 0, &used), 0);
    CHECK_EQ(used, 0);
    CHECK_EQ(uvws_head_feed(&h, raw + 5, strlen(raw) - 5, &used), 1);
    CHECK_EQ(used, strlen(raw) - 5);
    uvws_head_free(&h);
  }
}

static void test_garbage(void) {
  static const struct {
    const char *name, *raw;
    size_t len;
  } g[] = {
#define G(name, lit) {name, lit, sizeof(lit) - 1}
      G("TLS client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
      G("binary", "\x00\x01\x02\x03\r\n\r\n"),
      G("words", "HELLO WORLD\r\n\r\n"),
      G("header without colon", "GET / HTTP/1.1\r\nHost example\r\n\r\n"),
      G("bad version", "GET / HTTP/9.x\r\nHost: a\r\n\r\n"),
      G("space in header name", "GET / HTTP/1.1\r\nHo st: a\r\n\r\n"),
      G("response to a server", "HTTP/1.1 200 OK\r\n\r\n"),
      G("NUL in header value", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"),
      /* RFC 7230 section 3.2.4: no whitespace in or after a field name
       * (request smuggling), no obs-fold line continuations */
      G("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
      G("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
      G("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n folded\r\n\r\n"),
      G("obs-fold with tab", "GET / HTTP/1.1\r\nX-A: b\r\n\tfolded\r\nHost: a\r\n\r\n"),
#undef G
  };
  for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
    for (int mode = 0; mode < NUM_FEED_MODES; mode++) {
      uvws_head_t h;
      uvws_head_init(&h, 0, 8192, 64);
      size_t used;
      test_ctx("%s (%s)", g[i].name, feed_names[mode]);
      CHECK_EQ(feed_head(&h, g[i].raw, g[i].len, mode, &used), UVWS_EHANDSHAKE);
      uvws_head_free(&h);
    }
  test_ctx(NULL);
  /* a request to a response parser */
  uvws_head_t h;
  uvws_head_init(&h, 1, 8192, 64);
  size_t used;
  const char *raw = REQ(NULL, NULL);
  CHECK_EQ(feed_head(&h, raw, strlen(raw), F_WHOLE, &used), UVWS_EHANDSHAKE);
  uvws_head_free(&h);
}

/* Bytes after the head in the same chunk are not consumed: *used says
 * where the head ended, in every way of feeding. */
static void test_bytes_after_head(void) {
  const char *base = REQ(NULL, NULL);
  size_t blen = strlen(base);
  char raw[1024];
  memcpy(raw, base, blen);
  memcpy(raw + blen, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  for (int mode = 0; mode < NUM_FEED_MODES + 10; mode++) {
    int m = mode < NUM_FEED_MODES ? mode : F_RANDOM;
    uvws_head_t h;
    uvws_upgrade_info_t info;
    const char *why;
    size_t used;
    test_ctx("%s", feed_names[m]);
    CHECK_EQ(request_status(&h, raw, blen + 11, NULL, m, 8192, 64, &info, &why, &used), 0);
    CHECK_EQ(used, blen);
    CHECK_MEM(info.key, 24, SAMPLE_KEY, 24);
    uvws_head_free(&h);
  }
  /* every split point: the used count of each piece adds up to the head */
  for (size_t k = 1; k < blen + 11; k++) {
    uvws_head_t h;
    uvws_head_init(&h, 0, 8192, 64);
    size_t u1 = 0, u2 = 0;
    int r1 = uvws_head_feed(&h, raw, k, &u1);
    int r2 = r1 == 1 ? 1 : uvws_head_feed(&h, raw + k, blen + 11 - k, &u2);
    test_ctx("split at %zu", k);
    CHECK_EQ(r1, k >= blen ? 1 : 0);
    CHECK_EQ(r2, 1);
    CHECK_EQ(u1 + u2, blen);
    uvws_head_free(&h);
  }
  test_ctx(NULL);
}

/* llhttp may report a span (URL, header name or value) in several calls when
 * it straddles two feeds; the head must join the pieces. */
static void test_spans_across_feeds(void) {
  static const char raw[] =
      "GET /a/long/path/name?and=a&long=query HTTP/1.1\r\n"
      "Host: some.host.example.org:8080\r\n"
      "X-Long-Header-Name-For-Testing: a fairly long value, with, commas\r\n"
      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  size_t len = sizeof(raw) - 1;
  for (size_t i = 1; i < len; i++) {
    for (size_t j = i; j < len; j += 7) {
      uvws_head_t h;
      uvws_head_init(&h, 0, 8192, 64);
      size_t u, tot = 0;
      int rc = uvws_head_feed(&h, raw, i, &u);
      tot += u;
      if (rc == 0) {
        rc = uvws_head_feed(&h, raw + i, j - i, &u);
        tot += u;
      }
      if (rc == 0) {
        rc = uvws_head_feed(&h, raw + j, len - j, &u);
        tot += u;
      }
      test_ctx("splits at %zu, %zu", i, j);
      int ok = rc == 1 && tot == len && h.http.num_headers == 6;
      size_t n;
      const char *v = ok ? uvws_http_header(&h.http, "x-long-header-name-for-testing", &n) : NULL;
      ok = ok && v && n == 33 && memcmp(v, "a fairly long value, with, commas", 33) == 0;
      ok = ok && h.http.path_len == 17 && memcmp(h.http.path, "/a/long/path/name", 17) == 0;
      ok = ok && h.http.query_len == 16 && memcmp(h.http.query, "and=a&long=query", 16) == 0;
      v = ok ? uvws_http_header(&h.http, "host", &n) : NULL;
      ok = ok && v && n == 26 && memcmp(v, "some.host.example.org:8080", 26) == 0;
      if (!ok) {
        CHECK(ok);
        uvws_head_free(&h);
        test_ctx(NULL);
        return;
      }
      uvws_head_free(&h);
    }
  }
  test_ctx(NULL);
  CHECK(1);
}

static void expect_response(const char *label, const char *raw, const char *const *offered,
                            size_t n_offered, int want);

/* Optional whitespace around a header value (RFC 7230 section 3.2) is not
 * part of the value: a client or server that pads values must still be
 * understood (Node and Python websockets strip it). */
static void test_header_value_ows(void) {
  expect_request("trailing spaces after the key and version",
                 "GET / HTTP/1.1\r\nHost: a \r\nUpgrade: websocket \r\nConnection: Upgrade \r\n"
                 "Sec-WebSocket-Key: " SAMPLE_KEY " \r\nSec-WebSocket-Version: 13\t\r\n\r\n",
                 NULL, 0);
  static const char raw[] = "GET / HTTP/1.1\r\nHost: a\r\nX-A: \t b  c \t \r\nX-B: \t \r\n\r\n";
  for (int mode = 0; mode < NUM_FEED_MODES; mode++) {
    uvws_head_t h;
    size_t used, n = 99;
    uvws_head_init(&h, 0, 8192, 64);
    test_ctx("%s", feed_names[mode]);
    CHECK_EQ(feed_head(&h, raw, sizeof(raw) - 1, mode, &used), 1);
    const char *v = uvws_http_header(&h.http, "x-a", &n);
    CHECK_MEM(v, n, "b  c", 4); /* inner whitespace stays */
    v = uvws_http_header(&h.http, "x-b", &n);
    CHECK(v != NULL);
    CHECK_EQ(n, 0);
    uvws_head_free(&h);
  }
  test_ctx(NULL);
  expect_response("101 with trailing spaces",
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket \r\nConnection: Upgrade\t\r\n"
                  "Sec-WebSocket-Accept: " SAMPLE_ACCEPT " \r\n\r\n",
                  NULL, 0, 0);
}

/* ------------------------------------------------------------------ */
/* Accept key, responses                                               */
/* ------------------------------------------------------------------ */

static void test_accept_key(void) {
  char out[UVWS_ACCEPT_LEN + 1];
  memset(out, 'z', sizeof(out));
  uvws_accept_key(SAMPLE_KEY, 24, out);
  CHECK_STR(out, SAMPLE_ACCEPT);
  /* fresh keys: 24 chars of valid base64 of 16 bytes, and different */
  char k1[UVWS_KEY_LEN + 1], k2[UVWS_KEY_LEN + 1];
  CHECK_EQ(uvws_make_key(k1), 0);
  CHECK_EQ(uvws_make_key(k2), 0);
  CHECK_EQ(strlen(k1), 24);
  CHECK(strcmp(k1, k2) != 0);
  char extra[64];
  snprintf(extra, sizeof(extra), "Sec-WebSocket-Key: %s\r\n", k1);
  expect_request("request with a fresh key", REQ("Sec-WebSocket-Key:", extra), NULL, 0);
}

static int parse_response(uvws_head_t *h, const char *raw, size_t len, int mode, size_t *used) {
  uvws_head_init(h, 1, 16384, 64);
  return feed_head(h, raw, len, mode, used);
}

static int response_result(const char *raw, const char *key, const char *const *offered,
                           size_t n_offered, const char **proto, size_t *proto_len, int mode) {
  uvws_head_t h;
  size_t used;
  int rc = parse_response(&h, raw, strlen(raw), mode, &used);
  if (rc != 1) {
    uvws_head_free(&h);
    return 1000 + rc;
  }
  const char *why = NULL;
  int r = uvws_check_response(&h.http, h.llhttp.http_major, h.llhttp.http_minor, key, offered,
                              n_offered, 0, proto, proto_len, &why);
  if (r) CHECK(why && *why);
  /* *proto points into the head, which is freed here: keep a copy */
  static char proto_copy[256];
  if (!r && *proto && *proto_len < sizeof(proto_copy)) {
    memcpy(proto_copy, *proto, *proto_len);
    *proto = proto_copy;
  }
  uvws_head_free(&h);
  return r;
}

static void expect_response(const char *label, const char *raw, const char *const *offered,
                            size_t n_offered, int want) {
  for (int mode = 0; mode < NUM_FEED_MODES; mode++) {
    const char *proto;
    size_t plen;
    test_ctx("%s (%s)", label, feed_names[mode]);
    CHECK_EQ(response_result(raw, SAMPLE_KEY, offered, n_offered, &proto, &plen, mode), want);
  }
  test_ctx(NULL);
}

static void test_build_101(void) {
  char out[1024];
  static const uvws_header_t extra[] = {{"X-Server", 8, "uvws", 4}, {"Set-Cookie", 10, "a=b", 3}};
  size_t n = uvws_build_101(out, sizeof(out), SAMPLE_KEY, "chat", extra, 2);
  CHECK(n > 0);
  out[n] = 0;
  CHECK(strstr(out, "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n") != NULL);
  CHECK(strncmp(out, "HTTP/1.1 101 ", 13) == 0);
  CHECK(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
  static const char *const offered[] = {"superchat", "chat"};
  for (int mode = 0; mode < NUM_FEED_MODES; mode++) {
    uvws_head_t h;
    size_t used;
    test_ctx("%s", feed_names[mode]);
    CHECK_EQ(parse_response(&h, out, n, mode, &used), 1);
    CHECK_EQ(used, n);
    CHECK_EQ(h.http.status, 101);
    CHECK_EQ(h.llhttp.http_major, 1);
    CHECK_EQ(h.llhttp.http_minor, 1);
    size_t vl;
    const char *v = uvws_http_header(&h.http, "x-server", &vl);
    CHECK_MEM(v, vl, "uvws", 4);
    v = uvws_http_header(&h.http, "set-cookie", &vl);
    CHECK_MEM(v, vl, "a=b", 3);
    const char *proto = NULL, *why = NULL;
    size_t plen = 0;
    CHECK_EQ(uvws_check_response(&h.http, 1, 1, SAMPLE_KEY, offered, 2, 0, &proto, &plen, &why), 0);
    CHECK_MEM(proto, plen, "chat", 4);
    /* against another key */
    CHECK_EQ(uvws_check_response(&h.http, 1, 1, "AAAAAAAAAAAAAAAAAAAAAA==", offered, 2, 0, &proto,
                                 &plen, &why),
             UVWS_EACCEPT);
    uvws_head_free(&h);
  }
  test_ctx(NULL);
  /* no protocol */
  n = uvws_build_101(out, sizeof(out), SAMPLE_KEY, NULL, NULL, 0);
  out[n] = 0;
  CHECK(strstr(out, "Sec-WebSocket-Protocol") == NULL);
  const char *proto = (const char *)1;
  size_t plen = 9;
  CHECK_EQ(response_result(out, SAMPLE_KEY, NULL, 0, &proto, &plen, F_BYTES), 0);
  CHECK_PTR(proto, NULL);
  CHECK_EQ(plen, 0);
  n = uvws_build_101(out, sizeof(out), SAMPLE_KEY, "", NULL, 0); /* "" = none */
  out[n] = 0;
  CHECK(strstr(out, "Sec-WebSocket-Protocol") == NULL);
  /* does not fit: 0, whatever the shortfall, and never writes past cap */
  size_t full = uvws_build_101(out, sizeof(out), SAMPLE_KEY, "chat", extra, 2);
  for (size_t cap = 0; cap < full; cap++) {
    char *small = malloc(cap ? cap : 1);
    CHECK_EQ(uvws_build_101(small, cap, SAMPLE_KEY, "chat", extra, 2), 0);
    free(small);
  }
  char *exact = malloc(full);
  CHECK_EQ(uvws_build_101(exact, full, SAMPLE_KEY, "chat", extra, 2), full);
  CHECK_MEM(exact, full, out, full);
  free(exact);
}

static void test_build_error(void) {
  static const int statuses[] = {400, 403, 404, 405, 426, 429, 431, 500, 503, 418, 599};
  for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
    char out[1024];
    static const uvws_header_t extra[] = {{"Retry-After", 11, "5", 1}};
    const char *body = i % 2 ? "custom body" : NULL;
    size_t body_len = body ? strlen(body) : 0;
    size_t n = uvws_build_error(out, sizeof(out), statuses[i], extra, 1, body, body_len);
    test_ctx("status %d", statuses[i]);
    CHECK(n > 0);
    const char *expect_body = body ? body : uvws_status_text(statuses[i]);
    for (int mode = 0; mode < NUM_FEED_MODES; mode++) {
      uvws_head_t h;
      size_t used;
      CHECK_EQ(parse_response(&h, out, n, mode, &used), 1);
      CHECK_EQ(h.http.status, statuses[i]);
      /* the head ends before the body; the body is what Content-Length says */
      CHECK_EQ(n - used, strlen(expect_body));
      CHECK_MEM(out + used, n - used, expect_body, strlen(expect_body));
      size_t vl;
      const char *v = uvws_http_header(&h.http, "content-length", &vl);
      char cl[24];
      snprintf(cl, sizeof(cl), "%zu", strlen(expect_body));
      CHECK_MEM(v, vl, cl, strlen(cl));
      v = uvws_http_header(&h.http, "connection", &vl);
      CHECK_MEM(v, vl, "close", 5);
      v = uvws_http_header(&h.http, "retry-after", &vl);
      CHECK_MEM(v, vl, "5", 1);
      if (statuses[i] == 426) {
        v = uvws_http_header(&h.http, "sec-websocket-version", &vl);
        CHECK_MEM(v, vl, "13, 8", 5);
        v = uvws_http_header(&h.http, "upgrade", &vl);
        CHECK_MEM(v, vl, "websocket", 9);
      }
      const char *proto, *why;
      size_t plen;
      CHECK_EQ(uvws_check_response(&h.http, h.llhttp.http_major, h.llhttp.http_minor,
                                   SAMPLE_KEY, NULL, 0, 0, &proto, &plen, &why),
               UVWS_ESTATUS);
      uvws_head_free(&h);
    }
    /* too small: 0 */
    size_t full = n;
    for (size_t cap = 0; cap < full; cap += 7) {
      char *small = malloc(cap ? cap : 1);
      CHECK_EQ(uvws_build_error(small, cap, statuses[i], extra, 1, body, body_len), 0);
      free(small);
    }
  }
  test_ctx(NULL);
  CHECK_STR(uvws_status_text(101), "Switching Protocols");
  CHECK_STR(uvws_status_text(400), "Bad Request");
  CHECK_STR(uvws_status_text(426), "Upgrade Required");
  CHECK_STR(uvws_status_text(431), "Request Header Fields Too Large");
  CHECK_STR(uvws_status_text(503), "Service Unavailable");
  CHECK(uvws_status_text(499) != NULL);
  CHECK(uvws_status_text(599) != NULL);
}

#define RESP_OK_HEADERS                                            \
  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"

static void test_check_response(void) {
  static const char *const chat[] = {"chat"};
  static const char *const two[] = {"chat", "superchat"};
  expect_response("valid", "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS "\r\n", NULL, 0, 0);
  expect_response("any reason phrase", "HTTP/1.1 101 OK\r\n" RESP_OK_HEADERS "\r\n", NULL, 0, 0);
  expect_response("case-insensitive names and tokens",
                  "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, upgrade\r\n"
                  "sec-websocket-accept: " SAMPLE_ACCEPT "\r\n\r\n",
                  NULL, 0, 0);
  expect_response("200", "HTTP/1.1 200 OK\r\n" RESP_OK_HEADERS "Content-Length: 0\r\n\r\n", NULL, 0,
                  UVWS_ESTATUS);
  expect_response("302", "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", NULL, 0,
                  UVWS_ESTATUS);
  expect_response("HTTP/1.0 101", "HTTP/1.0 101 Switching Protocols\r\n" RESP_OK_HEADERS "\r\n", NULL,
                  0, UVWS_EHANDSHAKE);
  expect_response("wrong accept",
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\r\n\r\n",
                  NULL, 0, UVWS_EACCEPT);
  expect_response("accept in lower case",
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=\r\n\r\n",
                  NULL, 0, UVWS_EACCEPT);
  expect_response("missing accept",
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                  NULL, 0, UVWS_EACCEPT);
  expect_response("duplicate accept",
                  "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS
                  "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n",
                  NULL, 0, UVWS_EACCEPT);
  expect_response("missing Upgrade",
                  "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n",
                  NULL, 0, UVWS_EHANDSHAKE);
  expect_response("wrong Upgrade",
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n",
                  NULL, 0, UVWS_EHANDSHAKE);
  expect_response("missing Connection",
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n",
                  NULL, 0, UVWS_EHANDSHAKE);
  expect_response("Connection: keep-alive",
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
                  "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n",
                  NULL, 0, UVWS_EHANDSHAKE);
  /* subprotocols */
  expect_response("protocol chosen from the offer",
                  "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS "Sec-WebSocket-Protocol: superchat\r\n\r\n",
                  two, 2, 0);
  expect_response("protocol not offered",
                  "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS "Sec-WebSocket-Protocol: superchat\r\n\r\n",
                  chat, 1, UVWS_EPROTOCOL);
  expect_response("protocol differs in case",
                  "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS "Sec-WebSocket-Protocol: CHAT\r\n\r\n",
                  chat, 1, UVWS_EPROTOCOL);
  expect_response("protocol list in the answer",
                  "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
                  two, 2, UVWS_EPROTOCOL);
  expect_response("two protocol headers",
                  "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS
                  "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
                  two, 2, UVWS_EPROTOCOL);
  expect_response("none chosen while offered",
                  "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS "\r\n", chat, 1, UVWS_EPROTOCOL);
  expect_response("protocol while none offered",
                  "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS "Sec-WebSocket-Protocol: chat\r\n\r\n",
                  NULL, 0, UVWS_EPROTOCOL);
  expect_response("unexpected extension",
                  "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS
                  "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                  NULL, 0, UVWS_EEXTENSION);
  /* the chosen protocol is reported */
  const char *proto = NULL;
  size_t plen = 0;
  CHECK_EQ(response_result("HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS
                           "Sec-WebSocket-Protocol: superchat\r\n\r\n",
                           SAMPLE_KEY, two, 2, &proto, &plen, F_RANDOM),
           0);
  CHECK_MEM(proto, plen, "superchat", 9);
  /* frames right after the 101 stay in the input */
  {
    static const char raw[] = "HTTP/1.1 101 Switching Protocols\r\n" RESP_OK_HEADERS "\r\n\x81\x02hi";
    uvws_head_t h;
    size_t used;
    CHECK_EQ(parse_response(&h, raw, sizeof(raw) - 1, F_WHOLE, &used), 1);
    CHECK_EQ(used, sizeof(raw) - 1 - 4);
    uvws_head_free(&h);
  }
}

/* ------------------------------------------------------------------ */
/* The client's request                                                */
/* ------------------------------------------------------------------ */

static void test_build_request(void) {
  uvws_client_options_t o;
  uvws_client_options_init(&o);
  static const char *const protos[] = {"chat", "superchat"};
  static const uvws_header_t hdrs[] = {{"X-Token", 7, "abc", 3}, {"Cookie", 6, "a=1; b=2", 8}};
  o.protocols = protos;
  o.num_protocols = 2;
  o.origin = "https://example.com";
  o.headers = hdrs;
  o.num_headers = 2;
  char key[UVWS_KEY_LEN + 1];
  CHECK_EQ(uvws_make_key(key), 0);
  size_t len = 0;
  char *req = uvws_build_request("example.com:8080", "/chat?room=1", key, &o, NULL, &len);
  CHECK(req != NULL);
  if (!req) return;
  CHECK(len > 100);
  for (int mode = 0; mode < NUM_FEED_MODES; mode++) {
    uvws_head_t h;
    uvws_upgrade_info_t info;
    const char *why;
    size_t used;
    char *copy = malloc(len + 1);
    memcpy(copy, req, len);
    copy[len] = 0;
    test_ctx("%s", feed_names[mode]);
    CHECK_EQ(request_status(&h, copy, len, "/chat", mode, 8192, 64, &info, &why, &used), 0);
    CHECK_EQ(used, len);
    CHECK_MEM(info.key, 24, key, 24);
    CHECK_MEM(info.protocols, info.protocols_len, "chat, superchat", 15);
    size_t vl;
    const char *v = uvws_http_header(&h.http, "host", &vl);
    CHECK_MEM(v, vl, "example.com:8080", 16);
    v = uvws_http_header(&h.http, "origin", &vl);
    CHECK_MEM(v, vl, "https://example.com", 19);
    v = uvws_http_header(&h.http, "x-token", &vl);
    CHECK_MEM(v, vl, "abc", 3);
    v = uvws_http_header(&h.http, "cookie", &vl);
    CHECK_MEM(v, vl, "a=1; b=2", 8);
    CHECK_MEM(h.http.query, h.http.query_len, "room=1", 6);
    /* the server's answer to it passes the client's check */
    char resp[512];
    size_t rn = uvws_build_101(resp, sizeof(resp) - 1, info.key, "superchat", NULL, 0);
    resp[rn] = 0;
    const char *proto;
    size_t plen;
    CHECK_EQ(response_result(resp, key, protos, 2, &proto, &plen, mode), 0);
    uvws_head_free(&h);
    free(copy);
  }
  test_ctx(NULL);
  free(req);
  /* many long protocols, headers and a long origin: the request is sized
   * from them (nothing is cut off, no NULL) */
  {
    enum { NP = 40, NH = 30 };
    static char pnames[NP][120], hnames[NH][64], hvals[NH][300], origin[500];
    static const char *pp[NP];
    static uvws_header_t hh[NH];
    for (int i = 0; i < NP; i++) {
      memset(pnames[i], 'a' + i % 26, 100);
      snprintf(pnames[i] + 100, 20, "-%d", i);
      pp[i] = pnames[i];
    }
    for (int i = 0; i < NH; i++) {
      snprintf(hnames[i], sizeof(hnames[i]), "X-Header-Number-%d", i);
      memset(hvals[i], 'v', 299);
      hh[i].name = hnames[i];
      hh[i].name_len = strlen(hnames[i]);
      hh[i].value = hvals[i];
      hh[i].value_len = 299;
    }
    memcpy(origin, "https://", 8);
    memset(origin + 8, 'o', 480);
    uvws_client_options_init(&o);
    o.protocols = pp;
    o.num_protocols = NP;
    o.headers = hh;
    o.num_headers = NH;
    o.origin = origin;
    char host[300], path[1000];
    memset(host, 'h', 250);
    host[250] = 0;
    path[0] = '/';
    memset(path + 1, 'p', 900);
    path[901] = 0;
    req = uvws_build_request(host, path, key, &o, NULL, &len);
    CHECK(req != NULL);
    if (req) {
      uvws_head_t h;
      uvws_upgrade_info_t info;
      const char *why;
      CHECK_EQ(request_status(&h, req, len, NULL, F_WHOLE, 65536, 64, &info, &why, NULL), 0);
      CHECK_EQ(h.http.num_headers, 5 + 1 + 1 + NH);
      size_t vl;
      const char *v = uvws_http_header(&h.http, "x-header-number-29", &vl);
      CHECK_EQ(vl, 299);
      v = uvws_http_header(&h.http, "sec-websocket-protocol", &vl);
      CHECK(v && vl > 40 * 102);
      uvws_head_free(&h);
      free(req);
    }
  }
  /* minimal options: no protocol, origin or extra headers */
  uvws_client_options_init(&o);
  req = uvws_build_request("[::1]", "/", key, &o, NULL, &len);
  CHECK(req != NULL);
  if (req) {
    uvws_head_t h;
    uvws_upgrade_info_t info;
    const char *why;
    CHECK_EQ(request_status(&h, req, len, "/", F_WHOLE, 8192, 64, &info, &why, NULL), 0);
    CHECK_PTR(info.protocols, NULL);
    CHECK_PTR(uvws_http_header(&h.http, "origin", NULL), NULL);
    size_t vl;
    const char *v = uvws_http_header(&h.http, "host", &vl);
    CHECK_MEM(v, vl, "[::1]", 5);
    CHECK_EQ(h.http.num_headers, 5);
    uvws_head_free(&h);
    free(req);
  }
}

/* ------------------------------------------------------------------ */
/* Token lists                                                         */
/* ------------------------------------------------------------------ */

static void test_token_lists(void) {
#define HAS(v, t) uvws_token_list_has(v, strlen(v), t)
  CHECK(HAS("Upgrade", "upgrade"));
  CHECK(HAS("keep-alive, Upgrade", "upgrade"));
  CHECK(HAS("keep-alive,upgrade", "UPGRADE"));
  CHECK(HAS(" , upgrade ,", "upgrade"));
  CHECK(HAS("\tupgrade\t", "upgrade"));
  CHECK(!HAS("upgraded", "upgrade"));
  CHECK(!HAS("up grade", "upgrade"));
  CHECK(!HAS("", "upgrade"));
  CHECK(!HAS(",,,", "upgrade"));
  CHECK(!HAS("keep-alive", "upgrade"));
#undef HAS
  const char *v = "a, ,b,\tc\t,, dd ";
  size_t pos = 0, n;
  const char *item;
  const char *want[] = {"a", "b", "c", "dd"};
  size_t count = 0;
  while (uvws_token_next(v, strlen(v), &pos, &item, &n)) {
    if (count < 4) CHECK_MEM(item, n, want[count], strlen(want[count]));
    count++;
  }
  CHECK_EQ(count, 4);
  pos = 0;
  CHECK_EQ(uvws_token_next("", 0, &pos, &item, &n), 0);
  CHECK(uvws_strieq("WebSocket", 9, "websocket"));
  CHECK(!uvws_strieq("WebSocke", 8, "websocket"));
  CHECK(!uvws_strieq("WebSockets", 10, "websocket"));
  CHECK(uvws_strieq("", 0, ""));
}

int main(void) {
  test_seed(13);
  RUN_TEST(test_token_lists);
  RUN_TEST(test_valid_request);
  RUN_TEST(test_case_insensitive);
  RUN_TEST(test_request_errors);
  RUN_TEST(test_path_filter);
  RUN_TEST(test_subprotocols);
  RUN_TEST(test_head_limits);
  RUN_TEST(test_empty_feed);
  RUN_TEST(test_garbage);
  RUN_TEST(test_bytes_after_head);
  RUN_TEST(test_spans_across_feeds);
  RUN_TEST(test_header_value_ows);
  RUN_TEST(test_accept_key);
  RUN_TEST(test_build_101);
  RUN_TEST(test_build_error);
  RUN_TEST(test_check_response);
  RUN_TEST(test_build_request);
  return test_report();
}

/* uvws_url_parse (ws://, wss:// and ws+unix: URLs), uvws_close_code_is_valid,
 * uvws_strerror and uvws_version. */
#include "test.h"
#include "uvws.h"
#include "uvws_close.h"
#include "uvws_url.h"

static void ok(const char *url, int secure, const char *host, int port, const char *host_header,
               const char *path_query) {
  uvws_url_t u;
  memset(&u, 0x5a, sizeof(u));
  test_ctx("%s", url);
  int r = uvws_url_parse(url, &u);
  CHECK_EQ(r, 0);
  if (r == 0) {
    CHECK_EQ(u.secure, secure);
    CHECK_EQ(u.port, port);
    CHECK_STR(u.host, host);
    CHECK_STR(u.host_header, host_header);
    CHECK_STR(u.path_query, path_query);
    uvws_url_free(&u);
    CHECK_PTR(u.host, NULL); /* free leaves it empty */
    uvws_url_free(&u);       /* and a second free is harmless */
  }
  test_ctx(NULL);
}

static void bad(const char *url) {
  uvws_url_t u;
  memset(&u, 0x5a, sizeof(u));
  test_ctx("%s", url ? url : "(null)");
  CHECK_EQ(uvws_url_parse(url, &u), UVWS_EURL);
  /* nothing allocated: the struct is safe to free */
  CHECK_PTR(u.host, NULL);
  CHECK_PTR(u.host_header, NULL);
  CHECK_PTR(u.path_query, NULL);
  uvws_url_free(&u);
  test_ctx(NULL);
}

static void test_valid_urls(void) {
  ok("ws://example.com", 0, "example.com", 80, "example.com", "/");
  ok("wss://example.com", 1, "example.com", 443, "example.com", "/");
  ok("ws://example.com/", 0, "example.com", 80, "example.com", "/");
  ok("ws://example.com/chat", 0, "example.com", 80, "example.com", "/chat");
  ok("ws://example.com:8080/chat?x=1&y=2", 0, "example.com", 8080, "example.com:8080",
     "/chat?x=1&y=2");
  ok("ws://example.com?x=1", 0, "example.com", 80, "example.com", "/?x=1");
  ok("ws://example.com:9000?x", 0, "example.com", 9000, "example.com:9000", "/?x");
  ok("ws://example.com/a/b/c/", 0, "example.com", 80, "example.com", "/a/b/c/");
  /* a default port given explicitly is left out of Host */
  ok("ws://example.com:80/x", 0, "example.com", 80, "example.com", "/x");
  ok("wss://example.com:443/x", 1, "example.com", 443, "example.com", "/x");
  ok("wss://example.com:80/x", 1, "example.com", 80, "example.com:80", "/x");
  ok("ws://example.com:443/x", 0, "example.com", 443, "example.com:443", "/x");
  ok("ws://127.0.0.1:1234", 0, "127.0.0.1", 1234, "127.0.0.1:1234", "/");
  ok("ws://localhost:1", 0, "localhost", 1, "localhost:1", "/");
  ok("ws://localhost:65535", 0, "localhost", 65535, "localhost:65535", "/");
  ok("ws://localhost:00080", 0, "localhost", 80, "localhost", "/");
  /* IPv6 literals: brackets stripped from host, kept in Host */
  ok("ws://[::1]", 0, "::1", 80, "[::1]", "/");
  ok("ws://[::1]:9000/x", 0, "::1", 9000, "[::1]:9000", "/x");
  ok("wss://[2001:db8::1]/p?q", 1, "2001:db8::1", 443, "[2001:db8::1]", "/p?q");
  ok("ws://[fe80::1%25eth0]:81", 0, "fe80::1%25eth0", 81, "[fe80::1%25eth0]:81", "/");
  ok("ws://[::ffff:127.0.0.1]:8080/", 0, "::ffff:127.0.0.1", 8080, "[::ffff:127.0.0.1]:8080", "/");
  /* scheme is case-insensitive */
  ok("WS://example.com", 0, "example.com", 80, "example.com", "/");
  ok("WsS://example.com", 1, "example.com", 443, "example.com", "/");
  /* '@' and ':' after the authority are path characters */
  ok("ws://example.com/a@b:c", 0, "example.com", 80, "example.com", "/a@b:c");
  ok("ws://example.com?u=a@b", 0, "example.com", 80, "example.com", "/?u=a@b");
}

static void test_invalid_urls(void) {
  bad(NULL);
  bad("");
  bad("example.com");
  bad("//example.com");
  bad("http://example.com");
  bad("https://example.com");
  bad("ftp://example.com");
  bad("ws:/example.com");
  bad("ws:example.com");
  bad("ws//example.com");
  bad("ws://");
  bad("wss://");
  bad("ws:///path");
  bad("ws://?x=1");
  bad("ws://:80");
  bad("ws://:80/x");
  bad("ws://example.com/#frag");
  bad("ws://example.com#frag");
  bad("ws://example.com/chat?x=1#frag");
  bad("ws://example.com:0");
  bad("ws://example.com:65536");
  bad("ws://example.com:99999999999999999999");
  bad("ws://example.com:8a");
  bad("ws://example.com:a8");
  bad("ws://example.com:-1");
  bad("ws://example.com:+80");
  bad("ws://example.com: 80");
  bad("ws://example.com:");
  bad("ws://example.com:/x");
  bad("ws://example.com:80:81");
  bad("ws://user@example.com");
  bad("ws://user:pass@example.com/");
  bad("ws://@example.com");
  bad("ws://exa mple.com");
  bad("ws://example.com/a b");
  bad("ws://example.com/\t");
  bad("ws://example.com/\x7f");
  bad("ws://[::1");
  bad("ws://[::1/x]");
  bad("ws://[::1]x");
  bad("ws://[::1]:");
  bad("ws://[::1]:0");
  bad("ws://[::1]:65536");
  bad("ws://[]");
  bad("ws://[]:80");
}

static void test_close_codes(void) {
  /* reference: what an application may send (uvws_close()) and what a
   * peer may put on the wire */
  size_t mism = 0;
  int first = -1;
  for (int c = -70000; c <= 70000; c++) {
    int want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
    if (uvws_close_code_is_valid(c) != want) {
      if (!mism++) first = c;
    }
  }
  test_ctx("first mismatch %d", first);
  CHECK_EQ(mism, 0);
  test_ctx(NULL);
  static const int valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
                              1014, 3000, 3999, 4000, 4999};
  static const int invalid[] = {0,    1,    999,  1004, 1005, 1006, 1015, 1016,  1100,
                                2000, 2999, 5000, 5001, 65535, 65536, -1, -1000};
  for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
    test_ctx("%d", valid[i]);
    CHECK_EQ(uvws_close_code_is_valid(valid[i]), 1);
  }
  for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
    test_ctx("%d", invalid[i]);
    CHECK_EQ(uvws_close_code_is_valid(invalid[i]), 0);
  }
  test_ctx(NULL);
}

/* uvws_close_parse / uvws_close_build round trip. */
static void test_close_payload(void) {
  uint8_t out[125];
  int code;
  const uint8_t *reason;
  size_t rlen;
  size_t n = uvws_close_build(out, 1000, "bye", 3);
  CHECK_EQ(n, 5);
  CHECK_MEM(out, n, "\x03\xe8" "bye", 5);
  CHECK_EQ(uvws_close_parse(out, n, &code, &reason, &rlen), 0);
  CHECK_EQ(code, 1000);
  CHECK_MEM(reason, rlen, "bye", 3);
  CHECK_EQ(uvws_close_build(out, 0, NULL, 0), 0);
  CHECK_EQ(uvws_close_parse(out, 0, &code, &reason, &rlen), 0);
  CHECK_EQ(code, 1005);
  CHECK_EQ(rlen, 0);
  char reason123[200];
  memset(reason123, 'r', sizeof(reason123));
  n = uvws_close_build(out, 4999, reason123, 123);
  CHECK_EQ(n, 125);
  CHECK_EQ(uvws_close_parse(out, n, &code, &reason, &rlen), 0);
  CHECK_EQ(code, 4999);
  CHECK_EQ(rlen, 123);
  /* a longer reason is cut to fit in a control frame */
  CHECK_EQ(uvws_close_build(out, 1000, reason123, 200), 125);
  CHECK_EQ(uvws_close_parse(out, 1, &code, &reason, &rlen), 1002);
  static const uint8_t bad_code[] = {0x03, 0xed}; /* 1005 */
  CHECK_EQ(uvws_close_parse(bad_code, 2, &code, &reason, &rlen), 1002);
  static const uint8_t bad_utf8[] = {0x03, 0xe8, 0xc0, 0x80};
  CHECK_EQ(uvws_close_parse(bad_utf8, 4, &code, &reason, &rlen), 1007);
  uint8_t big[126] = {0x03, 0xe8};
  memset(big + 2, 'a', 124);
  CHECK_EQ(uvws_close_parse(big, 126, &code, &reason, &rlen), 1002);
}

static void test_strerror(void) {
#define XX(name, val, msg)                                 \
  CHECK_EQ(UVWS_##name, val);                              \
  CHECK_STR(uvws_strerror(UVWS_##name), msg);
  UVWS_ERRNO_MAP(XX)
#undef XX
  /* libuv codes pass through to libuv's names */
  CHECK_STR(uvws_strerror(UV_ECONNREFUSED), uv_strerror(UV_ECONNREFUSED));
  CHECK_STR(uvws_strerror(UV_EOF), uv_strerror(UV_EOF));
  CHECK_STR(uvws_strerror(UV_ENOMEM), uv_strerror(UV_ENOMEM));
  /* anything else: a string, never NULL */
  static const int other[] = {0, 1, 42, -30000, -30099, -29999, -40000, -4096, -5000, -2147483647 - 1,
                              2147483647};
  for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
    const char *s = uvws_strerror(other[i]);
    test_ctx("%d", other[i]);
    CHECK(s != NULL && *s);
  }
  test_ctx(NULL);
  CHECK_STR(uvws_strerror(1), "unknown error");
  CHECK_STR(uvws_strerror(-30099), "unknown error"); /* past the last engine code */
  CHECK_STR(uvws_strerror(-2147483647 - 1), "unknown error");
  /* every engine message is distinct */
  const int codes[] = {
#define XX(name, val, msg) val,
      UVWS_ERRNO_MAP(XX)
#undef XX
  };
  size_t n = sizeof(codes) / sizeof(codes[0]), dup = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(uvws_strerror(codes[i]), uvws_strerror(codes[j])) == 0) dup++;
  CHECK_EQ(dup, 0);
  char v[32];
  snprintf(v, sizeof(v), "%d.%d.%d", UVWS_VERSION_MAJOR, UVWS_VERSION_MINOR, UVWS_VERSION_PATCH);
  CHECK_STR(uvws_version(), v);
}

static void unix_ok(const char *url, const char *sock, const char *path_query) {
  uvws_url_t u;
  memset(&u, 0x5a, sizeof(u));
  test_ctx("%s", url);
  int r = uvws_url_parse(url, &u);
  CHECK_EQ(r, 0);
  if (r == 0) {
    CHECK_EQ(u.secure, 0);
    CHECK_STR(u.unix_path, sock);
    CHECK_STR(u.host, "localhost");
    CHECK_STR(u.host_header, "localhost");
    CHECK_STR(u.path_query, path_query);
    uvws_url_free(&u);
    CHECK_PTR(u.unix_path, NULL);
  }
  test_ctx(NULL);
}

/* ws's syntax for a Unix domain socket: ws+unix:SOCKET:REQUEST-PATH. */
static void test_unix_urls(void) {
  unix_ok("ws+unix:/run/app.sock:/chat", "/run/app.sock", "/chat");
  unix_ok("ws+unix:///run/app.sock:/chat?room=1", "/run/app.sock", "/chat?room=1");
  unix_ok("WS+UNIX:/tmp/s:/", "/tmp/s", "/");
  unix_ok("ws+unix:/tmp/s", "/tmp/s", "/");
  unix_ok("ws+unix:/tmp/s:", "/tmp/s", "/");
  unix_ok("ws+unix:/tmp/s:?x=1", "/tmp/s", "/?x=1");
  unix_ok("ws+unix:relative.sock:/a", "relative.sock", "/a");
  /* only the first ':' separates: the request path may hold more */
  unix_ok("ws+unix:/tmp/s:/a:b", "/tmp/s", "/a:b");
  /* a TCP URL has no socket path */
  uvws_url_t u;
  CHECK_EQ(uvws_url_parse("ws://example.com/", &u), 0);
  CHECK_PTR(u.unix_path, NULL);
  uvws_url_free(&u);
  bad("ws+unix:");
  bad("ws+unix://");
  bad("ws+unix::/chat");
  bad("ws+unix:/tmp/s:chat");
  bad("ws+unix:/tmp/s:/chat#frag");
  bad("ws+unix:/tmp/s\n:/chat");
  bad("wss+unix:/tmp/s:/chat");
  bad("ws+unixx:/tmp/s:/chat");
}

int main(void) {
  RUN_TEST(test_valid_urls);
  RUN_TEST(test_invalid_urls);
  RUN_TEST(test_unix_urls);
  RUN_TEST(test_close_codes);
  RUN_TEST(test_close_payload);
  RUN_TEST(test_strerror);
  return test_report();
}

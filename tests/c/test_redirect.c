/* Redirects (max_redirects): 301/302/303/307/308 followed on the same
 * handle, the chain reported, credentials dropped when the origin changes,
 * and refusals: too many, a loop, wss:// to ws://, no Location, Unix socket
 * to TCP. The servers are the engine's own, answering from the upgrade hook
 * (uvws_upgrade_reject with a redirect status and a Location).
 * Usage: test_redirect MAKE_CERTS_SH */
#include "e2e_util.h"

#include <stdlib.h>
#include <unistd.h>

static uv_loop_t *loop;

/* Each server has a rule: redirect to `location` with `status`, or accept. */
typedef struct {
  uvws_server_t *s;
  int port;
  int status;
  char location[256];
  int requests;
  char auth[64], cookie[64], proxy_auth[64], custom[64], path[64];
} srv_t;

static void copy_header(const uvws_http_t *req, const char *name, char *out, size_t cap) {
  size_t n;
  const char *v = uvws_http_header(req, name, &n);
  snprintf(out, cap, "%.*s", v ? (int)n : 0, v ? v : "");
}

static void hook(uvws_server_t *server, uvws_upgrade_t *up, const uvws_http_t *req) {
  srv_t *s = uvws_server_get_data(server);
  s->requests++;
  copy_header(req, "authorization", s->auth, sizeof(s->auth));
  copy_header(req, "cookie", s->cookie, sizeof(s->cookie));
  copy_header(req, "proxy-authorization", s->proxy_auth, sizeof(s->proxy_auth));
  copy_header(req, "x-custom", s->custom, sizeof(s->custom));
  snprintf(s->path, sizeof(s->path), "%.*s", (int)req->path_len, req->path);
  if (!s->status) {
    EXPECT_INT(uvws_upgrade_accept(up, NULL, NULL, 0, NULL), 0);
    return;
  }
  uvws_header_t h[1] = {{"Location", 8, s->location, strlen(s->location)}};
  EXPECT_INT(uvws_upgrade_reject(up, s->status, s->location[0] ? h : NULL, s->location[0] ? 1 : 0,
                                 NULL, 0),
             0);
}

static void s_message(uvws_t *ws, const char *d, size_t n, int bin) {
  uvws_send(ws, d, n, bin ? UVWS_BINARY : UVWS_TEXT);
}

static const uvws_callbacks_t server_cb = {.on_message = s_message};

static void start(srv_t *s, const uvws_tls_options_t *tls, const char *unix_path) {
  memset(s, 0, sizeof(*s));
  uvws_server_options_t o;
  uvws_server_options_init(&o);
  o.host = "127.0.0.1";
  o.tls = tls;
  o.unix_path = unix_path;
  EXPECT_INT(uvws_server_start(loop, &o, &server_cb, hook, s, &s->s), 0);
  s->port = uvws_server_port(s->s);
}
static void stop(srv_t *s) { uvws_server_close(s->s, NULL); }

/* the client */
#define MAX_HOPS 8
typedef struct {
  int opens, closes, err, code, echoed;
  int hops, hop_status[MAX_HOPS];
  char hop_url[MAX_HOPS][128];
  char final_url[128], err_msg[256];
} cli_t;
static cli_t C;

static void c_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  C.opens++;
  snprintf(C.final_url, sizeof(C.final_url), "%s", uvws_url(ws));
  uvws_send(ws, "hi", 2, UVWS_TEXT);
}
static void c_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)bin;
  EXPECT(n == 2 && !memcmp(d, "hi", 2));
  C.echoed++;
  uvws_close(ws, 1000, NULL, 0);
}
static void c_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  C.err = err;
  snprintf(C.err_msg, sizeof(C.err_msg), "%s", msg);
}
static void c_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)r, (void)n;
  C.closes = 1;
  C.code = code;
}
static void c_redirect(uvws_t *ws, int status, const char *url) {
  if (C.hops < MAX_HOPS) {
    C.hop_status[C.hops] = status;
    snprintf(C.hop_url[C.hops], sizeof(C.hop_url[0]), "%s", url);
  }
  C.hops++;
  /* the handle's URL is the one being left until the next one answers */
  EXPECT(uvws_url(ws)[0] != 0);
}

static const uvws_callbacks_t client_cb = {.on_open = c_open,
                                           .on_message = c_message,
                                           .on_error = c_error,
                                           .on_close = c_close,
                                           .on_redirect = c_redirect};

static const uvws_header_t creds[] = {
    {"Authorization", 13, "Bearer secret", 13},
    {"Cookie", 6, "session=1", 9},
    {"Proxy-Authorization", 19, "Basic cHJveHk6cHc=", 18},
    {"X-Custom", 8, "kept", 4},
};

static void run(const char *url, unsigned max_redirects, const uvws_tls_options_t *tls) {
  memset(&C, 0, sizeof(C));
  uvws_client_options_t o;
  uvws_client_options_init(&o);
  o.max_redirects = max_redirects;
  o.headers = creds;
  o.num_headers = 4;
  o.tls = tls;
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, &o, &client_cb, NULL, &ws), 0);
  EXPECT_INT(e2e_wait(loop, &C.closes, 20000), 0);
}

static void url_of(char *out, size_t cap, const char *scheme, const char *host, int port,
                   const char *path) {
  snprintf(out, cap, "%s://%s:%d%s", scheme, host, port, path);
}

static void test_same_origin(void) {
  srv_t a;
  static const int statuses[] = {301, 302, 303, 307, 308};
  for (int i = 0; i < 5; i++) {
    start(&a, NULL, NULL);
    a.status = statuses[i];
    snprintf(a.location, sizeof(a.location), "/final?x=%d", i);
    char url[128], want[128];
    url_of(url, sizeof(url), "ws", "127.0.0.1", a.port, "/start");
    run(url, 1, NULL);
    EXPECT_INT(C.hops, 1);
    EXPECT_INT(C.hop_status[0], statuses[i]);
    snprintf(want, sizeof(want), "ws://127.0.0.1:%d/final?x=%d", a.port, i);
    EXPECT(strcmp(C.hop_url[0], want) == 0);
    EXPECT(C.opens == 0); /* the same server redirects every time */
    EXPECT_INT(C.err, UVWS_EREDIRECT);
    EXPECT(strstr(C.err_msg, "too many redirects") != NULL);
    EXPECT_INT(a.requests, 2);
    /* same origin: credentials still sent */
    EXPECT(strcmp(a.auth, "Bearer secret") == 0);
    EXPECT(strcmp(a.cookie, "session=1") == 0);
    EXPECT(strcmp(a.path, "/final") == 0);
    stop(&a);
  }
  /* relative to the current path's directory, then accepted */
  srv_t b;
  start(&a, NULL, NULL);
  start(&b, NULL, NULL);
  a.status = 307;
  snprintf(a.location, sizeof(a.location), "next");
  char url[128];
  url_of(url, sizeof(url), "ws", "127.0.0.1", a.port, "/dir/start");
  /* the second request reaches the same server: let it accept then */
  run(url, 5, NULL);
  EXPECT_INT(C.hops, 1);
  EXPECT(strstr(C.hop_url[0], "/dir/next") != NULL);
  EXPECT_INT(C.err, UVWS_EREDIRECT); /* /dir/next redirects to /dir/next */
  EXPECT(strstr(C.err_msg, "redirect loop") != NULL);
  stop(&a);
  stop(&b);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

static void test_cross_origin(void) {
  srv_t a, b, c;
  start(&a, NULL, NULL);
  start(&b, NULL, NULL);
  start(&c, NULL, NULL);
  a.status = 302;
  url_of(a.location, sizeof(a.location), "http", "localhost", b.port, "/b");
  b.status = 308;
  url_of(b.location, sizeof(b.location), "ws", "127.0.0.1", c.port, "/c?q=1");
  char url[128];
  url_of(url, sizeof(url), "ws", "127.0.0.1", a.port, "/a");
  run(url, 2, NULL);
  EXPECT_INT(C.hops, 2);
  EXPECT_INT(C.hop_status[0], 302);
  EXPECT_INT(C.hop_status[1], 308);
  char want[128];
  url_of(want, sizeof(want), "ws", "localhost", b.port, "/b");
  EXPECT(strcmp(C.hop_url[0], want) == 0); /* http:// became ws:// */
  url_of(want, sizeof(want), "ws", "127.0.0.1", c.port, "/c?q=1");
  EXPECT(strcmp(C.final_url, want) == 0);
  EXPECT_INT(C.opens, 1);
  EXPECT_INT(C.echoed, 1);
  EXPECT_INT(C.code, 1000);
  EXPECT(strcmp(a.auth, "Bearer secret") == 0);
  /* another origin: no credentials, other headers kept */
  EXPECT(strcmp(b.auth, "") == 0);
  EXPECT(strcmp(b.cookie, "") == 0);
  EXPECT(strcmp(b.proxy_auth, "") == 0);
  EXPECT(strcmp(b.custom, "kept") == 0);
  EXPECT(strcmp(c.auth, "") == 0);
  EXPECT(strcmp(c.cookie, "") == 0);
  EXPECT(strcmp(c.custom, "kept") == 0);
  EXPECT(strcmp(c.path, "/c") == 0);

  /* the same chain with max_redirects 1: the second hop is refused */
  a.requests = b.requests = c.requests = 0;
  run(url, 1, NULL);
  EXPECT_INT(C.err, UVWS_EREDIRECT);
  EXPECT_INT(C.code, 1006);
  EXPECT_INT(c.requests, 0);

  /* redirects off (the default): a 3xx is an unexpected status */
  run(url, 0, NULL);
  EXPECT_INT(C.err, UVWS_ESTATUS);
  EXPECT_INT(C.hops, 0);

  /* a loop: a -> b -> a */
  url_of(b.location, sizeof(b.location), "ws", "127.0.0.1", a.port, "/a");
  run(url, 10, NULL);
  EXPECT_INT(C.err, UVWS_EREDIRECT);
  EXPECT(strstr(C.err_msg, "redirect loop") != NULL);
  EXPECT_INT(C.hops, 1);

  /* no Location */
  a.location[0] = 0;
  run(url, 3, NULL);
  EXPECT_INT(C.err, UVWS_EREDIRECT);
  EXPECT(strstr(C.err_msg, "without a Location") != NULL);
  stop(&a);
  stop(&b);
  stop(&c);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

static void test_tls(const char *dir) {
  char cert[512], key[512], ca[512];
  snprintf(cert, sizeof(cert), "%s/server.pem", dir);
  snprintf(key, sizeof(key), "%s/server.key", dir);
  snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
  uvws_tls_options_t stls = {0};
  stls.cert_file = cert;
  stls.key_file = key;
  uvws_tls_options_t ctls = {0};
  ctls.ca_file = ca;
  srv_t a, b, plain;
  start(&a, &stls, NULL);
  start(&b, &stls, NULL);
  start(&plain, NULL, NULL);
  /* wss -> wss on another port: a new TLS session, then open */
  a.status = 301;
  url_of(a.location, sizeof(a.location), "https", "localhost", b.port, "/secure");
  char url[128];
  url_of(url, sizeof(url), "wss", "localhost", a.port, "/");
  run(url, 3, &ctls);
  EXPECT_INT(C.hops, 1);
  EXPECT_INT(C.opens, 1);
  EXPECT_INT(C.echoed, 1);
  EXPECT(strcmp(b.path, "/secure") == 0);
  /* wss -> ws: refused before anything is sent in the clear */
  url_of(a.location, sizeof(a.location), "ws", "localhost", plain.port, "/");
  run(url, 3, &ctls);
  EXPECT_INT(C.err, UVWS_EREDIRECT);
  EXPECT(strstr(C.err_msg, "wss:// to ws://") != NULL);
  EXPECT_INT(plain.requests, 0);
  /* ws -> wss is an upgrade: followed */
  plain.status = 302;
  url_of(plain.location, sizeof(plain.location), "wss", "localhost", b.port, "/up");
  url_of(url, sizeof(url), "ws", "localhost", plain.port, "/");
  run(url, 3, &ctls);
  EXPECT_INT(C.opens, 1);
  EXPECT(strcmp(b.path, "/up") == 0);
  stop(&a);
  stop(&b);
  stop(&plain);
  EXPECT_INT(e2e_run(loop, 10000), 0);
}

static void test_unix(void) {
  char dir[64], path[128], url[256];
  snprintf(dir, sizeof(dir), "/tmp/uvws-redir-XXXXXX");
  if (!mkdtemp(dir)) return;
  snprintf(path, sizeof(path), "%s/s.sock", dir);
  srv_t a, t;
  start(&a, NULL, path);
  start(&t, NULL, NULL);
  /* a path on the same socket is followed... */
  a.status = 307;
  snprintf(a.location, sizeof(a.location), "/again");
  snprintf(url, sizeof(url), "ws+unix:%s:/first", path);
  run(url, 1, NULL);
  EXPECT_INT(C.hops, 1);
  char want[256];
  snprintf(want, sizeof(want), "ws+unix:%s:/again", path);
  EXPECT(strcmp(C.hop_url[0], want) == 0);
  EXPECT_INT(a.requests, 2);
  /* ...TCP is not */
  url_of(a.location, sizeof(a.location), "ws", "127.0.0.1", t.port, "/");
  run(url, 3, NULL);
  EXPECT_INT(C.err, UVWS_EREDIRECT);
  EXPECT_INT(t.requests, 0);
  stop(&a);
  stop(&t);
  EXPECT_INT(e2e_run(loop, 10000), 0);
  rmdir(dir);
}

int main(int argc, char **argv) {
  char dir[64], cmd[1024];
  snprintf(dir, sizeof(dir), "/tmp/uvws-redirect-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  snprintf(cmd, sizeof(cmd), "%s %s >/dev/null", argc > 1 ? argv[1] : "tests/tls/make_certs.sh", dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot make certificates with %s\n", cmd);
    return 1;
  }
  uv_loop_t l;
  uv_loop_init(&l);
  loop = &l;
  test_same_origin();
  test_cross_origin();
  test_tls(dir);
  test_unix();
  EXPECT_INT(uv_loop_close(&l), 0);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return e2e_report("redirect");
}

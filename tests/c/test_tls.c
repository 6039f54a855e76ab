/* wss:// end to end: certificates made at test time by tests/tls/make_certs.sh
 * (openssl command). Good path with 16 MiB messages, wrong host name,
 * untrusted CA, expired certificate, mutual TLS accepted and refused, SNI,
 * byte-by-byte TLS writes through a relay, and the insecure switch. */
#include "e2e_util.h"

#include <stdlib.h>
#include <unistd.h>

static uv_loop_t *loop;
static char dir[256];
static char path_buf[16][512];
static int path_i;

static const char *P(const char *name) {
  char *p = path_buf[path_i++ % 16];
  snprintf(p, 512, "%s/%s", dir, name);
  return p;
}

#define BIG (16u * 1024 * 1024)

typedef struct {
  uvws_server_t *server;
  int opens, messages, errors, closes, server_errors, last_err, close_code;
  char err_msg[320];
  uint8_t *big;
  int send_big;
} tls_t;
static tls_t T;

static void s_message(uvws_t *ws, const char *d, size_t n, int bin) {
  uvws_send(ws, d, n, bin ? UVWS_BINARY : UVWS_TEXT);
}
static void s_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  (void)msg;
  T.server_errors++;
}
static void c_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  T.opens++;
  uvws_send(ws, "hello over tls", 14, UVWS_TEXT);
  if (T.send_big) {
    T.big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++) T.big[i] = (uint8_t)(i * 13 + (i >> 10));
    int r = uvws_send(ws, T.big, BIG, UVWS_BINARY);
    EXPECT(r == UVWS_SEND_OK || r == UVWS_SEND_QUEUED);
  }
}
static void c_message(uvws_t *ws, const char *d, size_t n, int bin) {
  T.messages++;
  if (T.messages == 1) EXPECT(!bin && n == 14 && !memcmp(d, "hello over tls", 14));
  if (T.messages == 2) EXPECT(bin && n == BIG && !memcmp(d, T.big, BIG));
  if (T.messages == 1 + (T.send_big ? 1 : 0)) uvws_close(ws, 1000, "done", 4);
}
static void c_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  T.errors++;
  T.last_err = err;
  snprintf(T.err_msg, sizeof(T.err_msg), "%s", msg);
}
static void c_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws;
  (void)r;
  (void)n;
  T.closes++;
  T.close_code = code;
  uvws_server_close(T.server, NULL);
}

/* Run one client against one TLS server. */
static void run_case(uvws_tls_options_t *stls, uvws_tls_options_t *ctls,
                     const char *host, const char *url_host, int relay_port) {
  free(T.big);
  memset(&T, 0, sizeof(T));
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.tls = stls;
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_message = s_message;
  scb.on_error = s_error;
  ccb.on_open = c_open;
  ccb.on_message = c_message;
  ccb.on_error = c_error;
  ccb.on_close = c_close;
  T.server = e2e_server(loop, host, &so, &scb, NULL, NULL);
  char url[256];
  snprintf(url, sizeof(url), "wss://%s:%d/", url_host,
           relay_port ? relay_port : uvws_server_port(T.server));
  uvws_client_options_t co;
  uvws_client_options_init(&co);
  co.tls = ctls;
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, &co, &ccb, NULL, &ws), 0);
}

static void test_good_path(void) {
  uvws_tls_options_t s = {0}, c = {0};
  s.cert_file = P("server.pem");
  s.key_file = P("server.key");
  c.ca_file = P("ca.pem");
  run_case(&s, &c, "127.0.0.1", "localhost", 0);
  T.send_big = 1;
  EXPECT_INT(e2e_run(loop, 60000), 0);
  EXPECT_INT(T.opens, 1);
  EXPECT_INT(T.messages, 2);
  EXPECT_INT(T.errors, 0);
  EXPECT_INT(T.close_code, 1000);
  /* IPv6 literal, certificate with IP SAN, PEM in memory. */
  static char cert[8192], key[4096];
  FILE *f = fopen(P("server.pem"), "r");
  cert[fread(cert, 1, sizeof(cert) - 1, f)] = 0;
  fclose(f);
  f = fopen(P("server.key"), "r");
  key[fread(key, 1, sizeof(key) - 1, f)] = 0;
  fclose(f);
  uvws_tls_options_t s2 = {0};
  s2.cert_pem = cert;
  s2.key_pem = key;
  run_case(&s2, &c, "::1", "[::1]", 0);
  EXPECT_INT(e2e_run(loop, 20000), 0);
  EXPECT_INT(T.messages, 1);
  EXPECT_INT(T.close_code, 1000);
}

static void expect_refused(const char *what, const char *needle) {
  EXPECT_INT(e2e_run(loop, 20000), 0);
  EXPECT_INT(T.opens, 0);
  EXPECT_INT(T.last_err, UVWS_ETLS);
  EXPECT_INT(T.close_code, 1006);
  if (!strstr(T.err_msg, needle)) {
    fprintf(stderr, "%s: error \"%s\" lacks \"%s\"\n", what, T.err_msg, needle);
    e2e_failures++;
  }
}

static void test_refusals(void) {
  uvws_tls_options_t s = {0}, c = {0};
  c.ca_file = P("ca.pem");

  s.cert_file = P("wronghost.pem");
  s.key_file = P("wronghost.key");
  run_case(&s, &c, "127.0.0.1", "localhost", 0);
  expect_refused("wrong host", "hostname mismatch");

  s.cert_file = P("untrusted.pem");
  s.key_file = P("untrusted.key");
  run_case(&s, &c, "127.0.0.1", "localhost", 0);
  expect_refused("untrusted CA", "unable to get local issuer certificate");

  s.cert_file = P("expired.pem");
  s.key_file = P("expired.key");
  run_case(&s, &c, "127.0.0.1", "localhost", 0);
  expect_refused("expired", "certificate has expired");

  /* The insecure switch accepts the untrusted certificate. */
  uvws_tls_options_t insecure = {0};
  insecure.insecure_skip_verify = 1;
  s.cert_file = P("untrusted.pem");
  s.key_file = P("untrusted.key");
  run_case(&s, &insecure, "127.0.0.1", "localhost", 0);
  EXPECT_INT(e2e_run(loop, 20000), 0);
  EXPECT_INT(T.messages, 1);

  /* Bad server options fail at start, with nothing left behind. */
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  uvws_tls_options_t bad = {0};
  bad.cert_file = P("server.pem");
  so.tls = &bad;
  uvws_server_t *srv;
  EXPECT_INT(uvws_server_start(loop, &so, NULL, NULL, NULL, &srv), UVWS_EINVAL);
  bad.key_file = P("client.key"); /* does not match */
  EXPECT_INT(uvws_server_start(loop, &so, NULL, NULL, NULL, &srv), UVWS_ETLS);
  EXPECT(strstr(uvws_last_error(), "private key") != NULL);
}

static void test_mutual(void) {
  uvws_tls_options_t s = {0}, c = {0};
  s.cert_file = P("server.pem");
  s.key_file = P("server.key");
  s.ca_file = P("ca.pem");
  s.verify_client = 2;
  c.ca_file = P("ca.pem");
  c.cert_file = P("client.pem");
  c.key_file = P("client.key");
  run_case(&s, &c, "127.0.0.1", "127.0.0.1", 0);
  EXPECT_INT(e2e_run(loop, 20000), 0);
  EXPECT_INT(T.messages, 1);
  EXPECT_INT(T.close_code, 1000);

  /* No client certificate: refused. With TLS 1.3 the client learns it when
   * the server's alert arrives after its own Finished. */
  uvws_tls_options_t c2 = {0};
  c2.ca_file = P("ca.pem");
  run_case(&s, &c2, "127.0.0.1", "127.0.0.1", 0);
  EXPECT_INT(e2e_run(loop, 20000), 0);
  EXPECT_INT(T.opens, 0);
  EXPECT_INT(T.messages, 0);
  EXPECT(T.errors >= 1);
  EXPECT(T.server_errors == 0); /* never exposed on the server side */
  EXPECT_INT(T.close_code, 1006);
}

static void test_sni(void) {
  uvws_tls_options_t s = {0}, c = {0};
  uvws_tls_sni_t alt = {0};
  s.cert_file = P("server.pem");
  s.key_file = P("server.key");
  alt.server_name = "alt.test";
  alt.cert_file = P("alt.pem");
  alt.key_file = P("alt.key");
  s.sni = &alt;
  s.num_sni = 1;
  c.ca_file = P("ca.pem");
  c.server_name = "alt.test"; /* verified against the alt certificate */
  run_case(&s, &c, "127.0.0.1", "127.0.0.1", 0);
  EXPECT_INT(e2e_run(loop, 20000), 0);
  EXPECT_INT(T.messages, 1);
  EXPECT_INT(T.errors, 0);
}

/* A relay that forwards client->server one byte per write. */
typedef struct {
  uv_tcp_t listener, down, up;
  uv_connect_t conn;
  int target_port, closed;
  uint8_t pending[1 << 16];
  size_t pending_len;
} relay_t;
static relay_t R;

static void relay_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  static char buf[65536];
  (void)h;
  (void)s;
  *b = uv_buf_init(buf, sizeof(buf));
}
static void relay_written(uv_write_t *w, int status) {
  (void)status;
  free(w);
}
static void relay_send(uv_tcp_t *to, const char *d, size_t n, int bytewise) {
  size_t step = bytewise ? 1 : n;
  for (size_t off = 0; off < n; off += step) {
    uv_write_t *w = malloc(sizeof(*w) + step);
    memcpy((char *)(w + 1), d + off, step);
    uv_buf_t b = uv_buf_init((char *)(w + 1), (unsigned)step);
    if (uv_write(w, (uv_stream_t *)to, &b, 1, relay_written) < 0) free(w);
  }
}
static void relay_close_all(void) {
  if (R.closed) return;
  R.closed = 1;
  uv_close((uv_handle_t *)&R.down, NULL);
  uv_close((uv_handle_t *)&R.up, NULL);
  uv_close((uv_handle_t *)&R.listener, NULL);
}
static void down_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)s;
  if (n < 0) {
    relay_close_all();
    return;
  }
  relay_send(&R.up, b->base, (size_t)n, 1);
}
static void up_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)s;
  if (n < 0) {
    relay_close_all();
    return;
  }
  relay_send(&R.down, b->base, (size_t)n, 0);
}
static void up_connected(uv_connect_t *c, int status) {
  (void)c;
  EXPECT_INT(status, 0);
  uv_read_start((uv_stream_t *)&R.up, relay_alloc, up_read);
  uv_read_start((uv_stream_t *)&R.down, relay_alloc, down_read);
}
static void relay_accept(uv_stream_t *l, int status) {
  (void)status;
  uv_tcp_init(loop, &R.down);
  uv_accept(l, (uv_stream_t *)&R.down);
  uv_tcp_nodelay(&R.down, 1);
  uv_tcp_init(loop, &R.up);
  uv_tcp_nodelay(&R.up, 1);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", R.target_port, &a);
  uv_tcp_connect(&R.conn, &R.up, (struct sockaddr *)&a, up_connected);
}

static void test_bytewise(void) {
  uvws_tls_options_t s = {0}, c = {0};
  s.cert_file = P("server.pem");
  s.key_file = P("server.key");
  c.ca_file = P("ca.pem");
  memset(&R, 0, sizeof(R));
  uv_tcp_init(loop, &R.listener);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_bind(&R.listener, (struct sockaddr *)&a, 0);
  uv_listen((uv_stream_t *)&R.listener, 8, relay_accept);
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  uv_tcp_getsockname(&R.listener, (struct sockaddr *)&ss, &len);
  int relay_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  run_case(&s, &c, "127.0.0.1", "127.0.0.1", relay_port);
  R.target_port = uvws_server_port(T.server);
  EXPECT_INT(e2e_run(loop, 30000), 0);
  EXPECT_INT(T.messages, 1);
  EXPECT_INT(T.close_code, 1000);
}

int main(int argc, char **argv) {
  (void)argc;
  snprintf(dir, sizeof(dir), "/tmp/uvws-tls-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "%s %s >/dev/null", argc > 1 ? argv[1] : "tests/tls/make_certs.sh", dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot make certificates with %s\n", cmd);
    return 1;
  }
  loop = uv_default_loop();
  test_good_path();
  test_refusals();
  test_mutual();
  test_sni();
  test_bytewise();
  free(T.big);
  EXPECT_INT(uv_loop_close(loop), 0);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return e2e_report("tls");
}

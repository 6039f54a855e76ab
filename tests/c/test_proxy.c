/* Proxies, through real proxy servers started here on loopback: tinyproxy
 * (HTTP CONNECT, with and without Basic authentication) and Dante's danted
 * (SOCKS5), for ws:// and wss:// (TLS to the origin inside the tunnel);
 * the environment variables; and proxies that refuse, want credentials or
 * hang; SOCKS5 with username/password through pproxy (PyPI).
 * Usage: test_proxy MAKE_CERTS_SH [PYTHON_WITH_PPROXY]
 * tinyproxy, danted and pproxy must be installed (scripts/setup.sh does it). */
#include "e2e_util.h"
#include "e2e_peer.h"
#include "uvws_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static uv_loop_t *loop;
static char dir[64];

/* ------------------------------------------------------------------ */
/* Proxy processes                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
  uv_process_t proc;
  int port, exited;
} proxy_proc_t;

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, (struct sockaddr *)&a, sizeof(a));
  socklen_t l = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &l);
  close(fd);
  return ntohs(a.sin_port);
}

static int port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  close(fd);
  return ok;
}

static void proc_exit(uv_process_t *p, int64_t st, int sig) {
  (void)st, (void)sig;
  ((proxy_proc_t *)p->data)->exited = 1;
  uv_close((uv_handle_t *)p, NULL);
}

/* Start `argv`; wait (bounded) until it accepts on `port`. */
static int spawn_proxy(proxy_proc_t *pp, char **argv, int port) {
  memset(pp, 0, sizeof(*pp));
  pp->port = port;
  uv_stdio_container_t stdio[3] = {{UV_IGNORE, {0}}, {UV_IGNORE, {0}}, {UV_IGNORE, {0}}};
  if (getenv("UVWS_PROXY_LOGS")) {
    stdio[1].flags = stdio[2].flags = UV_INHERIT_FD;
    stdio[1].data.fd = 1;
    stdio[2].data.fd = 2;
  }
  uv_process_options_t o = {0};
  o.file = argv[0];
  o.args = argv;
  o.exit_cb = proc_exit;
  o.stdio = stdio;
  o.stdio_count = 3;
  pp->proc.data = pp;
  int r = uv_spawn(loop, &pp->proc, &o);
  if (r < 0) {
    fprintf(stderr, "cannot start %s: %s\n", argv[0], uv_strerror(r));
    /* Never started: nothing to stop later (a kill of pid 0 would signal
     * this whole process group, the test runner included). */
    pp->exited = 1;
    uv_close((uv_handle_t *)&pp->proc, NULL);
    return r;
  }
  for (int i = 0; i < 500 && !pp->exited; i++) {
    if (port_open(port)) return 0;
    uv_run(loop, UV_RUN_NOWAIT);
    usleep(10000);
  }
  fprintf(stderr, "%s did not listen on port %d\n", argv[0], port);
  return -1;
}

static void stop_proxy(proxy_proc_t *pp) {
  if (!pp->exited && pp->proc.pid > 0) uv_process_kill(&pp->proc, SIGTERM);
  EXPECT_INT(e2e_wait(loop, &pp->exited, 10000), 0);
}

static const char *write_file(const char *name, const char *text) {
  static char path[8][256];
  static int i;
  char *p = path[i++ % 8];
  snprintf(p, 256, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  fputs(text, f);
  fclose(f);
  return p;
}

static int start_tinyproxy(proxy_proc_t *pp, const char *auth) {
  int port = free_port();
  char conf[1024];
  /* As root it must drop to a user; as anyone else it runs as itself. */
  snprintf(conf, sizeof(conf),
           "%sPort %d\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nAllow 127.0.0.1\n"
           "LogLevel Critical\n%s%s\n",
           getuid() == 0 ? "User nobody\nGroup nogroup\n" : "", port, auth ? "BasicAuth " : "",
           auth ? auth : "");
  char name[32];
  snprintf(name, sizeof(name), "tinyproxy-%d.conf", port);
  const char *path = write_file(name, conf);
  char *argv[] = {"tinyproxy", "-d", "-c", (char *)path, NULL};
  return spawn_proxy(pp, argv, port) == 0 ? port : -1;
}

static int start_danted(proxy_proc_t *pp) {
  int port = free_port();
  char conf[1024];
  snprintf(conf, sizeof(conf),
           "logoutput: stderr\ninternal: 127.0.0.1 port = %d\nexternal: 127.0.0.1\n"
           "clientmethod: none\nsocksmethod: none\n%s"
           "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
           "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }\n",
           port, getuid() == 0 ? "user.privileged: root\nuser.unprivileged: nobody\n" : "");
  const char *path = write_file("danted.conf", conf);
  char pid[300];
  snprintf(pid, sizeof(pid), "%s/danted.pid", dir);
  char *argv[] = {"/usr/sbin/danted", "-f", (char *)path, "-p", pid, "-N", "1", NULL};
  return spawn_proxy(pp, argv, port) == 0 ? port : -1;
}

/* pproxy (PyPI): SOCKS5 with username/password, which danted only checks
 * against system accounts. */
static int start_pproxy(proxy_proc_t *pp, const char *python, const char *auth) {
  int port = free_port();
  char listen[128];
  snprintf(listen, sizeof(listen), "socks5://127.0.0.1:%d#%s", port, auth);
  /* pproxy picks uvloop when it is installed and then fails to get a
   * loop on recent Pythons: hide it, the standard loop is enough. */
  static const char code[] =
      "import sys; sys.modules['uvloop'] = None; sys.argv[0] = 'pproxy'\n"
      "from pproxy.server import main; main()";
  /* --auth=-1: ask every connection for credentials (by default pproxy
   * trusts an address for a month once it has authenticated). */
  char *argv[] = {(char *)python, "-c", (char *)code, "-l", listen, "--auth=-1", NULL};
  return spawn_proxy(pp, argv, port) == 0 ? port : -1;
}

/* ------------------------------------------------------------------ */
/* The origin server and the client                                     */
/* ------------------------------------------------------------------ */

static void s_message(uvws_t *ws, const char *d, size_t n, int bin) {
  uvws_send(ws, d, n, bin ? UVWS_BINARY : UVWS_TEXT);
}
static const uvws_callbacks_t server_cb = {.on_message = s_message};

typedef struct {
  int opens, echoed, closed, err, code;
  char msg[256];
} cli_t;
static cli_t C;

static void c_open(uvws_t *ws, const uvws_http_t *res) {
  (void)res;
  C.opens++;
  uvws_send(ws, "through the proxy", 17, UVWS_TEXT);
}
static void c_message(uvws_t *ws, const char *d, size_t n, int bin) {
  (void)bin;
  EXPECT(n == 17 && !memcmp(d, "through the proxy", 17));
  C.echoed++;
  uvws_close(ws, 1000, NULL, 0);
}
static void c_error(uvws_t *ws, int err, const char *msg) {
  (void)ws;
  C.err = err;
  snprintf(C.msg, sizeof(C.msg), "%s", msg);
}
static void c_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)r, (void)n;
  C.closed = 1;
  C.code = code;
}
static const uvws_callbacks_t client_cb = {
    .on_open = c_open, .on_message = c_message, .on_error = c_error, .on_close = c_close};

static const uvws_tls_options_t *client_tls;

static void run(const char *url, const char *proxy, int from_env, unsigned timeout_ms) {
  memset(&C, 0, sizeof(C));
  uvws_client_options_t o;
  uvws_client_options_init(&o);
  o.proxy = proxy;
  o.proxy_from_env = from_env;
  o.tls = client_tls;
  if (timeout_ms) o.connect_timeout_ms = timeout_ms;
  uvws_t *ws;
  int r = uvws_connect(loop, url, &o, &client_cb, NULL, &ws);
  EXPECT_INT(r, 0);
  if (r == 0) EXPECT_INT(e2e_wait(loop, &C.closed, 20000), 0);
}

static void expect_echo(const char *what) {
  if (C.echoed != 1 || C.code != 1000)
    fprintf(stderr, "%s: echoed %d, close %d, error %s (%s)\n", what, C.echoed, C.code,
            C.err ? uvws_strerror(C.err) : "none", C.msg);
  EXPECT_INT(C.echoed, 1);
  EXPECT_INT(C.code, 1000);
}

static void expect_error(int err, const char *needle) {
  EXPECT_INT(C.err, err);
  EXPECT_INT(C.opens, 0);
  EXPECT_INT(C.code, 1006);
  if (!strstr(C.msg, needle)) {
    fprintf(stderr, "error message \"%s\" lacks \"%s\"\n", C.msg, needle);
    EXPECT(0);
  }
}

/* What goes to a SOCKS5 proxy: the target's name, for the proxy to
 * resolve (remote DNS), and IP literals as addresses. */
static void test_socks_request_bytes(void) {
  uvws_proxy_t p;
  EXPECT_INT(uvws__proxy_parse("socks5://u:p@proxy.example:1081", &p), 0);
  EXPECT_INT(p.port, 1081);
  uint8_t out[600];
  size_t used, n, on;
  char why[128];
  n = uvws__proxy_start(&p, "origin.example", 443, out, sizeof(out));
  EXPECT(n == 4 && !memcmp(out, "\x05\x02\x00\x02", 4));
  static const uint8_t choose_userpass[] = {5, 2};
  EXPECT_INT(uvws__proxy_feed(&p, "origin.example", 443, choose_userpass, 2, &used, out,
                              sizeof(out), &on, why, sizeof(why)), 0);
  EXPECT(on == 5 && !memcmp(out, "\x01\x01u\x01p", 5));
  static const uint8_t auth_ok[] = {1, 0};
  EXPECT_INT(uvws__proxy_feed(&p, "origin.example", 443, auth_ok, 2, &used, out, sizeof(out),
                              &on, why, sizeof(why)), 0);
  EXPECT(on == 7 + 14 && !memcmp(out, "\x05\x01\x00\x03\x0eorigin.example\x01\xbb", on));
  uvws__proxy_free(&p);
  EXPECT_INT(uvws__proxy_parse("socks5h://[::1]", &p), 0);
  EXPECT_INT(p.port, 1080);
  uvws__proxy_start(&p, "127.0.0.1", 80, out, sizeof(out));
  static const uint8_t none[] = {5, 0};
  EXPECT_INT(uvws__proxy_feed(&p, "127.0.0.1", 80, none, 2, &used, out, sizeof(out), &on, why,
                              sizeof(why)), 0);
  EXPECT(on == 10 && !memcmp(out, "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50", 10));
  uvws__proxy_free(&p);
}

int main(int argc, char **argv) {
  test_socks_request_bytes();
  signal(SIGPIPE, SIG_IGN);
  snprintf(dir, sizeof(dir), "/tmp/uvws-proxy-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  chmod(dir, 0755); /* tinyproxy may read its config as nobody */
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "%s %s >/dev/null", argc > 1 ? argv[1] : "tests/tls/make_certs.sh", dir);
  if (system(cmd) != 0) return 1;
  char cert[256], key[256], ca[256];
  snprintf(cert, sizeof(cert), "%s/server.pem", dir);
  snprintf(key, sizeof(key), "%s/server.key", dir);
  snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
  uv_loop_t l;
  uv_loop_init(&l);
  loop = &l;

  /* origins: ws:// and wss:// */
  uvws_server_t *plain = e2e_server(loop, "127.0.0.1", NULL, &server_cb, NULL, NULL);
  uvws_tls_options_t stls = {0};
  stls.cert_file = cert;
  stls.key_file = key;
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.tls = &stls;
  uvws_server_t *secure = e2e_server(loop, "127.0.0.1", &so, &server_cb, NULL, NULL);
  uvws_tls_options_t ctls = {0};
  ctls.ca_file = ca;
  client_tls = &ctls;
  char ws_url[64], wss_url[64], proxy[128];
  snprintf(ws_url, sizeof(ws_url), "ws://127.0.0.1:%d/", uvws_server_port(plain));
  snprintf(wss_url, sizeof(wss_url), "wss://localhost:%d/", uvws_server_port(secure));

  /* --- tinyproxy: HTTP CONNECT --- */
  proxy_proc_t tp, tpa, dn;
  int tport = start_tinyproxy(&tp, NULL);
  EXPECT(tport > 0);
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", tport);
  run(ws_url, proxy, 0, 0);
  expect_echo("ws:// through tinyproxy");
  run(wss_url, proxy, 0, 0);
  expect_echo("wss:// through tinyproxy");
  /* no scheme means http:// */
  snprintf(proxy, sizeof(proxy), "127.0.0.1:%d", tport);
  run(ws_url, proxy, 0, 0);
  expect_echo("ws:// through tinyproxy, bare host:port");
  /* the origin is down: the proxy says so */
  e2e_srv_t gone;
  EXPECT_INT(e2e_srv_tcp(loop, &gone, "127.0.0.1"), 0);
  int gone_port = gone.port;
  e2e_srv_close(&gone);
  e2e_spin(loop, 10);
  char gone_url[64];
  snprintf(gone_url, sizeof(gone_url), "ws://127.0.0.1:%d/", gone_port);
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", tport);
  run(gone_url, proxy, 0, 0);
  expect_error(UVWS_EPROXY, "the HTTP proxy answered CONNECT with 5");

  /* --- tinyproxy with Basic authentication --- */
  int aport = start_tinyproxy(&tpa, "alice secret123");
  EXPECT(aport > 0);
  snprintf(proxy, sizeof(proxy), "http://alice:secret%%31%%323@127.0.0.1:%d", aport);
  run(wss_url, proxy, 0, 0);
  expect_echo("wss:// through tinyproxy with Basic auth");
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", aport);
  run(ws_url, proxy, 0, 0);
  expect_error(UVWS_EPROXY, "407");
  EXPECT(strstr(C.msg, "needs credentials") != NULL);
  snprintf(proxy, sizeof(proxy), "http://alice:wrong@127.0.0.1:%d", aport);
  run(ws_url, proxy, 0, 0);
  expect_error(UVWS_EPROXY, "credentials refused");

  /* --- the environment (opt-in) --- */
  char env[128];
  snprintf(env, sizeof(env), "http://127.0.0.1:%d", aport); /* wants credentials */
  setenv("http_proxy", env, 1);
  snprintf(env, sizeof(env), "http://alice:secret%%31%%323@127.0.0.1:%d", aport);
  setenv("HTTPS_PROXY", env, 1);
  run(ws_url, NULL, 0, 0);
  expect_echo("env ignored without proxy_from_env");
  run(ws_url, NULL, 1, 0);
  expect_error(UVWS_EPROXY, "407"); /* it went to the proxy */
  run(wss_url, NULL, 1, 0);
  expect_echo("wss:// through HTTPS_PROXY");
  setenv("NO_PROXY", "example.com, 127.0.0.1", 1);
  run(ws_url, NULL, 1, 0);
  expect_echo("NO_PROXY names the host");
  setenv("no_proxy", ".localhost", 1); /* lowercase wins; a domain suffix */
  run(ws_url, NULL, 1, 0);
  expect_error(UVWS_EPROXY, "407");
  run(wss_url, NULL, 1, 0); /* localhost matches .localhost */
  expect_echo("no_proxy suffix");
  setenv("no_proxy", "*", 1);
  run(ws_url, NULL, 1, 0);
  expect_echo("no_proxy *");
  unsetenv("http_proxy");
  unsetenv("HTTPS_PROXY");
  unsetenv("NO_PROXY");
  unsetenv("no_proxy");
  snprintf(env, sizeof(env), "socks5://127.0.0.1:%d", gone_port);
  setenv("ALL_PROXY", env, 1);
  run(ws_url, NULL, 1, 0);
  expect_error(UV_ECONNREFUSED, ""); /* ALL_PROXY was used: nothing there */
  unsetenv("ALL_PROXY");

  /* --- danted: SOCKS5 --- */
  int dport = start_danted(&dn);
  EXPECT(dport > 0);
  snprintf(proxy, sizeof(proxy), "socks5://127.0.0.1:%d", dport);
  run(ws_url, proxy, 0, 0);
  expect_echo("ws:// through danted");
  run(wss_url, proxy, 0, 0); /* "localhost" resolved by the proxy */
  expect_echo("wss:// through danted");
  snprintf(proxy, sizeof(proxy), "socks5h://127.0.0.1:%d", dport);
  run(gone_url, proxy, 0, 0);
  expect_error(UVWS_EPROXY, "the SOCKS5 proxy could not connect");
  /* credentials it did not ask for are not needed: it chose "none" */
  snprintf(proxy, sizeof(proxy), "socks5://u:p@127.0.0.1:%d", dport);
  run(ws_url, proxy, 0, 0);
  expect_echo("socks5 with unused credentials");

  /* --- pproxy: SOCKS5 with username/password --- */
  proxy_proc_t pa;
  const char *python = argc > 2 ? argv[2] : ".venv/bin/python";
  int pport = start_pproxy(&pa, python, "bob:pw123");
  EXPECT(pport > 0);
  snprintf(proxy, sizeof(proxy), "socks5://bob:pw%%3123@127.0.0.1:%d", pport);
  run(ws_url, proxy, 0, 0);
  expect_echo("ws:// through pproxy with username/password");
  run(wss_url, proxy, 0, 0);
  expect_echo("wss:// through pproxy with username/password");
  /* pproxy hangs up instead of answering "no acceptable method" or
   * "refused": the error says so */
  snprintf(proxy, sizeof(proxy), "socks5://127.0.0.1:%d", pport);
  run(ws_url, proxy, 0, 0);
  expect_error(UVWS_EPROXY, "closed the connection (does it need credentials?)");
  snprintf(proxy, sizeof(proxy), "socks5://bob:nope@127.0.0.1:%d", pport);
  run(ws_url, proxy, 0, 0);
  expect_error(UVWS_EPROXY, "closed the connection during authentication");
  stop_proxy(&pa);

  /* --- proxies that refuse or hang --- */
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", gone_port);
  run(ws_url, proxy, 0, 0);
  expect_error(UV_ECONNREFUSED, "");
  e2e_srv_t mute; /* accepts, reads, never answers */
  EXPECT_INT(e2e_srv_tcp(loop, &mute, "127.0.0.1"), 0);
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", mute.port);
  run(ws_url, proxy, 0, 400);
  expect_error(UVWS_ETIMEDOUT, "waiting for the proxy");
  snprintf(proxy, sizeof(proxy), "socks5://127.0.0.1:%d", mute.port);
  run(wss_url, proxy, 0, 400);
  expect_error(UVWS_ETIMEDOUT, "waiting for the proxy");
  e2e_srv_close(&mute);

  /* bad proxy URLs fail at once */
  uvws_client_options_t o;
  uvws_client_options_init(&o);
  uvws_t *ws = NULL;
  static const char *bad[] = {"https://127.0.0.1:1", "socks4://h:1", "http://", "http://h:0",
                              "http://h:99999", "http://[::1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    o.proxy = bad[i];
    EXPECT_INT(uvws_connect(loop, ws_url, &o, &client_cb, NULL, &ws), UVWS_EINVAL);
  }

  stop_proxy(&tp);
  stop_proxy(&tpa);
  stop_proxy(&dn);
  uvws_server_close(plain, NULL);
  uvws_server_close(secure, NULL);
  EXPECT_INT(e2e_run(loop, 10000), 0);
  EXPECT_INT(uv_loop_close(&l), 0);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return e2e_report("proxy");
}

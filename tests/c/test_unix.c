/* Unix domain sockets: a server on unix_path, clients on ws+unix:PATH:/req,
 * the socket file's mode, a stale file taken over, a live one refused, and
 * the client's errors when nothing is there. */
#include "e2e_util.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static uv_loop_t *loop;
static char dir[64], sock_path[128];

typedef struct {
  int srv_open, srv_close;
  int cli_open, cli_close, cli_code, cli_err;
  int echoed;
  char path[32], query[32], remote_ip[64];
  int peer_family;
} st_t;
static st_t st;
static uvws_server_t *server;

static void s_open(uvws_t *ws, const uvws_http_t *req) {
  st.srv_open++;
  snprintf(st.path, sizeof(st.path), "%.*s", (int)req->path_len, req->path);
  snprintf(st.query, sizeof(st.query), "%.*s", (int)req->query_len,
           req->query ? req->query : "");
  snprintf(st.remote_ip, sizeof(st.remote_ip), "%s", req->remote_ip ? req->remote_ip : "(null)");
  EXPECT_INT(req->remote_port, 0);
  struct sockaddr_storage ss;
  EXPECT_INT(uvws_remote_address(ws, &ss), 0);
  st.peer_family = ss.ss_family;
  EXPECT(uvws_get_server(ws) == server);
}
static void s_message(uvws_t *ws, const char *d, size_t n, int bin) {
  uvws_send(ws, d, n, bin ? UVWS_BINARY : UVWS_TEXT);
}
static void s_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)code, (void)r, (void)n;
  st.srv_close++;
}

static void c_open(uvws_t *ws, const uvws_http_t *res) {
  EXPECT_INT(res->status, 101);
  st.cli_open++;
  EXPECT_INT(uvws_send(ws, "over a unix socket", 18, UVWS_TEXT), UVWS_SEND_OK);
}
static void c_message(uvws_t *ws, const char *d, size_t n, int bin) {
  EXPECT(!bin && n == 18 && !memcmp(d, "over a unix socket", 18));
  st.echoed++;
  uvws_close(ws, 1000, NULL, 0);
}
static void c_error(uvws_t *ws, int err, const char *msg) {
  (void)ws, (void)msg;
  st.cli_err = err;
}
static void c_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)r, (void)n;
  st.cli_close++;
  st.cli_code = code;
}

static const uvws_callbacks_t server_cb = {
    .on_open = s_open, .on_message = s_message, .on_close = s_close};
static const uvws_callbacks_t client_cb = {
    .on_open = c_open, .on_message = c_message, .on_error = c_error, .on_close = c_close};

static int start_server(const char *path, unsigned mode, uvws_server_t **out) {
  uvws_server_options_t o;
  uvws_server_options_init(&o);
  o.unix_path = path;
  o.unix_mode = mode;
  return uvws_server_start(loop, &o, &server_cb, NULL, NULL, out);
}

static void connect_client(const char *url) {
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, NULL, &client_cb, NULL, &ws), 0);
  EXPECT_INT(e2e_wait(loop, &st.cli_close, 20000), 0);
}

static int server_done;
static void on_server_closed(uvws_server_t *s) {
  (void)s;
  server_done = 1;
}
static void close_server(uvws_server_t *s) {
  server_done = 0;
  uvws_server_close(s, on_server_closed);
  EXPECT_INT(e2e_wait(loop, &server_done, 10000), 0);
}

static void test_echo(void) {
  memset(&st, 0, sizeof(st));
  EXPECT_INT(start_server(sock_path, 0600, &server), 0);
  struct stat sb;
  EXPECT_INT(stat(sock_path, &sb), 0);
  EXPECT(S_ISSOCK(sb.st_mode));
  EXPECT_INT(sb.st_mode & 0777, 0600);
  EXPECT_INT(uvws_server_port(server), 0);
  struct sockaddr_storage ss;
  EXPECT_INT(uvws_server_address(server, &ss), 0);
  EXPECT_INT(ss.ss_family, AF_UNIX);
  EXPECT(strcmp(((struct sockaddr_un *)&ss)->sun_path, sock_path) == 0);

  char url[256];
  snprintf(url, sizeof(url), "ws+unix:%s:/chat?room=1", sock_path);
  connect_client(url);
  EXPECT_INT(st.cli_open, 1);
  EXPECT_INT(st.echoed, 1);
  EXPECT_INT(st.cli_code, 1000);
  EXPECT_INT(st.cli_err, 0);
  EXPECT_INT(st.srv_open, 1);
  EXPECT(strcmp(st.path, "/chat") == 0);
  EXPECT(strcmp(st.query, "room=1") == 0);
  EXPECT(strcmp(st.remote_ip, "") == 0);
  EXPECT_INT(st.peer_family, AF_UNIX);

  /* ws's other spelling, with an empty authority */
  memset(&st.cli_open, 0, sizeof(st) - offsetof(st_t, cli_open));
  snprintf(url, sizeof(url), "ws+unix://%s:/", sock_path);
  connect_client(url);
  EXPECT_INT(st.echoed, 1);
  EXPECT(strcmp(st.path, "/") == 0);

  close_server(server);
  /* libuv removes the socket file with the listener */
  EXPECT(access(sock_path, F_OK) != 0 && errno == ENOENT);
}

/* A socket file whose process died (bound, never unlinked). */
static void make_stale(const char *path) {
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_INT(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
  EXPECT_INT(listen(fd, 1), 0);
  close(fd);
}

static void test_stale_and_live(void) {
  memset(&st, 0, sizeof(st));
  make_stale(sock_path);
  struct stat sb;
  EXPECT_INT(stat(sock_path, &sb), 0);

  /* A client finds nobody listening on the stale file. */
  char url[256];
  snprintf(url, sizeof(url), "ws+unix:%s:/", sock_path);
  connect_client(url);
  EXPECT_INT(st.cli_open, 0);
  EXPECT_INT(st.cli_err, UV_ECONNREFUSED);
  EXPECT_INT(st.cli_code, 1006);

  /* A server takes the stale name over. */
  memset(&st, 0, sizeof(st));
  EXPECT_INT(start_server(sock_path, 0, &server), 0);
  /* A second server must not steal the name of a live one. */
  uvws_server_t *second = NULL;
  EXPECT_INT(start_server(sock_path, 0, &second), UV_EADDRINUSE);
  EXPECT(second == NULL);
  EXPECT(strstr(uvws_last_error(), "listening") != NULL);
  e2e_spin(loop, 10); /* the failed listener's close */
  /* The first one still serves. */
  connect_client(url);
  EXPECT_INT(st.echoed, 1);
  EXPECT_INT(st.cli_code, 1000);
  close_server(server);

  /* A file that is not a socket is never removed. */
  FILE *f = fopen(sock_path, "w");
  fputs("data", f);
  fclose(f);
  EXPECT_INT(start_server(sock_path, 0, &second), UV_EADDRINUSE);
  e2e_spin(loop, 10);
  EXPECT_INT(stat(sock_path, &sb), 0);
  EXPECT(S_ISREG(sb.st_mode));
  unlink(sock_path);
}

static void test_errors(void) {
  memset(&st, 0, sizeof(st));
  char url[256];
  snprintf(url, sizeof(url), "ws+unix:%s/missing.sock:/", dir);
  connect_client(url);
  EXPECT_INT(st.cli_err, UV_ENOENT);
  EXPECT_INT(st.cli_code, 1006);

  char longp[200];
  memset(longp, 'a', sizeof(longp) - 1);
  longp[0] = '/';
  longp[sizeof(longp) - 1] = 0;
  uvws_server_t *s = NULL;
  EXPECT_INT(start_server(longp, 0, &s), UVWS_EINVAL);
  EXPECT_INT(start_server("", 0, &s), UVWS_EINVAL);
  snprintf(url, sizeof(url), "ws+unix:%s:/", longp);
  uvws_t *ws = NULL;
  EXPECT_INT(uvws_connect(loop, url, NULL, &client_cb, NULL, &ws), UVWS_EURL);
  EXPECT(ws == NULL);
}

int main(void) {
  uv_loop_t l;
  uv_loop_init(&l);
  loop = &l;
  snprintf(dir, sizeof(dir), "/tmp/uvws-unix-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  snprintf(sock_path, sizeof(sock_path), "%s/ws.sock", dir);
  test_echo();
  test_stale_and_live();
  test_errors();
  EXPECT_INT(e2e_run(loop, 10000), 0);
  uv_loop_close(&l);
  unlink(sock_path);
  rmdir(dir);
  return e2e_report("unix");
}

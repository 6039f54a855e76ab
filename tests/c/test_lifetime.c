/* The handle lifetime rule (uvws.h): a uvws_t is invalid once its on_close
 * has returned. Debug builds (UVWS_DEBUG) must catch a use after that with a
 * message naming the function, instead of acting on freed memory. Built
 * only in the Debug configuration (the ASan + UBSan run of the test
 * command), where the check exists. */
#include "e2e_util.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static uv_loop_t *loop;
static uvws_server_t *server;
static uvws_t *stale;

static void on_open(uvws_t *ws, const uvws_http_t *r) {
  (void)r;
  uvws_close(ws, 1000, NULL, 0);
}

static void on_close(uvws_t *ws, int code, const char *reason, size_t len) {
  (void)code, (void)reason, (void)len;
  /* Still valid during on_close itself. */
  EXPECT(uvws_get_data(ws) == NULL);
  stale = ws;
  uvws_server_close(server, NULL);
}

/* In a child: connect, close, then call `fn` on the stale handle. */
static int run_child(int which) {
  loop = uv_default_loop();
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  uvws_callbacks_t scb = {0};
  server = e2e_server(loop, "127.0.0.1", &so, &scb, NULL, NULL);
  char url[64];
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(server), "/");
  uvws_callbacks_t ccb = {0};
  ccb.on_open = on_open;
  ccb.on_close = on_close;
  uvws_t *ws;
  if (uvws_connect(loop, url, NULL, &ccb, NULL, &ws) < 0) return 2;
  e2e_run(loop, 10000);
  if (!stale) return 3;
  switch (which) {
    case 0: uvws_send(stale, "x", 1, UVWS_TEXT); break;
    case 1: uvws_close(stale, 1000, NULL, 0); break;
    case 2: (void)uvws_get_data(stale); break;
    default: uvws_terminate(stale); break;
  }
  return 0; /* reached only if the check did not fire */
}

int main(void) {
  const char *names[] = {"uvws_send", "uvws_close", "uvws_get_data", "uvws_terminate"};
  for (int which = 0; which < 4; which++) {
    int fds[2];
    if (pipe(fds) < 0) return 1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], 2);
      close(fds[0]);
      _exit(run_child(which));
    }
    close(fds[1]);
    char out[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(out) - 1 && (r = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0) n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    char want[96];
    snprintf(want, sizeof(want), "uvws: %s() called with a connection handle after its on_close",
             names[which]);
    EXPECT(strstr(out, want) != NULL);
    if (!strstr(out, want)) fprintf(stderr, "child said:\n%s\n", out);
  }
  return e2e_report("lifetime");
}

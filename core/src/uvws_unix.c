/* Unix domain sockets: a server listening on a path (with a stale socket
 * file left by a dead process taken over, a live one refused) and the peer
 * address of a connection on one. */
#include "uvws_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int uvws__unix_path_ok(const char *path) {
  struct sockaddr_un sun;
  /* libuv would silently truncate a longer path and bind another name. */
  return path && path[0] && strlen(path) < sizeof(sun.sun_path);
}

/* 1 if something accepts connections on `path`, 0 if not (a stale file),
 * negative if that cannot be told. A non-blocking connect to a Unix socket
 * answers at once: ECONNREFUSED when nobody listens, EAGAIN when the
 * listener's backlog is full (it is alive). */
static int unix_in_use(const char *path) {
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return uv_translate_sys_error(errno);
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  int r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
  int e = errno;
  close(fd);
  if (r == 0 || e == EAGAIN || e == EINPROGRESS) return 1;
  if (e == ECONNREFUSED) return 0;
  return uv_translate_sys_error(e);
}

int uvws__unix_bind(uv_pipe_t *listener, const char *path, unsigned mode) {
  struct stat st;
  int r = uv_pipe_bind(listener, path);
  if (r == UV_EADDRINUSE && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
    /* A socket file is there. Left by a process that died without removing
     * it, it blocks the name for good; remove it only when nothing answers
     * on it, so that a second server never steals a running one's name. */
    int used = unix_in_use(path);
    if (used != 0) {
      uvws__set_last_error(used > 0 ? "another process is listening on this Unix socket path"
                                    : "cannot tell whether the existing Unix socket is in use");
      return UV_EADDRINUSE;
    }
    if (unlink(path) < 0 && errno != ENOENT) return uv_translate_sys_error(errno);
    r = uv_pipe_bind(listener, path);
  }
  if (r < 0) return r;
  /* Without unix_mode the file keeps bind's mode (0777 minus the umask).
   * Connecting needs write permission on it. */
  if (mode && chmod(path, (mode_t)mode) < 0) return uv_translate_sys_error(errno);
  return 0;
}

int uvws__pipe_peer(const uvws_t *ws, struct sockaddr_storage *addr) {
  struct sockaddr_un *sun = (struct sockaddr_un *)addr;
  size_t len = sizeof(sun->sun_path);
  memset(addr, 0, sizeof(*addr));
  sun->sun_family = AF_UNIX;
  int r = uv_pipe_getpeername(&ws->pipe, sun->sun_path, &len);
  /* A connecting client's socket usually has no name: "" then. */
  if (r == UV_ENOBUFS) return r;
  if (r < 0) sun->sun_path[0] = 0;
  return 0;
}

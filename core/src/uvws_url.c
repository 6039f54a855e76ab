#include "uvws_url.h"
#include "uvws.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_range(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

/* ws+unix:/run/app.sock:/chat?room=1 (or ws+unix:///run/app.sock:/chat):
 * the socket path runs up to the first ':', the request path follows it
 * ("/" when absent). */
static int parse_unix(const char *p, uvws_url_t *u) {
  if (strncmp(p, "//", 2) == 0) p += 2; /* empty authority */
  for (const char *c = p; *c; c++)
    if ((unsigned char)*c < 32 || *c == 127) return UVWS_EURL;
  if (strchr(p, '#')) return UVWS_EURL;
  size_t n = strcspn(p, ":");
  const char *req = p[n] == ':' ? p + n + 1 : "";
  if (n == 0 || (*req && *req != '/' && *req != '?')) return UVWS_EURL;
  u->unix_path = dup_range(p, n);
  u->host = dup_range("localhost", 9);
  u->host_header = dup_range("localhost", 9);
  if (*req == '/') {
    u->path_query = dup_range(req, strlen(req));
  } else {
    u->path_query = malloc(strlen(req) + 2);
    if (u->path_query) sprintf(u->path_query, "/%s", req);
  }
  if (!u->unix_path || !u->host || !u->host_header || !u->path_query) {
    uvws_url_free(u);
    return UVWS_ENOMEM;
  }
  return 0;
}

int uvws_url_parse(const char *url, uvws_url_t *u) {
  memset(u, 0, sizeof(*u));
  const char *p;
  if (!url) return UVWS_EURL;
  if (strncasecmp(url, "ws+unix:", 8) == 0) return parse_unix(url + 8, u);
  if (strncasecmp(url, "ws://", 5) == 0) {
    p = url + 5;
  } else if (strncasecmp(url, "wss://", 6) == 0) {
    p = url + 6;
    u->secure = 1;
  } else {
    return UVWS_EURL;
  }
  /* Fragments are not allowed in WebSocket URLs (RFC 6455 section 3). */
  if (strchr(p, '#')) return UVWS_EURL;
  for (const char *c = p; *c; c++)
    if ((unsigned char)*c <= 32 || *c == 127) return UVWS_EURL;
  size_t auth_len = strcspn(p, "/?");
  const char *rest = p + auth_len;
  const char *host = p, *host_end, *port_str = NULL;
  if (memchr(p, '@', auth_len)) return UVWS_EURL; /* no userinfo */
  if (*p == '[') {
    const char *close = memchr(p, ']', auth_len);
    if (!close) return UVWS_EURL;
    host = p + 1;
    host_end = close;
    if (close + 1 < rest) {
      if (close[1] != ':') return UVWS_EURL;
      port_str = close + 2;
    }
  } else {
    const char *colon = memchr(p, ':', auth_len);
    host_end = colon ? colon : rest;
    if (colon) port_str = colon + 1;
  }
  if (host_end == host) return UVWS_EURL;
  u->port = u->secure ? 443 : 80;
  if (port_str) {
    if (port_str == rest) return UVWS_EURL;
    long port = 0;
    for (const char *c = port_str; c < rest; c++) {
      if (!isdigit((unsigned char)*c)) return UVWS_EURL;
      port = port * 10 + (*c - '0');
      if (port > 65535) return UVWS_EURL;
    }
    if (port == 0) return UVWS_EURL;
    u->port = (int)port;
  }
  u->host = dup_range(host, (size_t)(host_end - host));
  int default_port = u->port == (u->secure ? 443 : 80);
  size_t hh = (size_t)(host_end - host) + 16;
  u->host_header = malloc(hh);
  if (*rest == '/') {
    u->path_query = dup_range(rest, strlen(rest));
  } else {
    u->path_query = malloc(strlen(rest) + 2);
    if (u->path_query) sprintf(u->path_query, "/%s", rest);
  }
  if (!u->host || !u->host_header || !u->path_query) {
    uvws_url_free(u);
    return UVWS_ENOMEM;
  }
  int v6 = strchr(u->host, ':') != NULL;
  if (default_port)
    snprintf(u->host_header, hh, v6 ? "[%s]" : "%s", u->host);
  else
    snprintf(u->host_header, hh, v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
  return 0;
}

void uvws_url_free(uvws_url_t *u) {
  free(u->host);
  free(u->host_header);
  free(u->path_query);
  free(u->unix_path);
  memset(u, 0, sizeof(*u));
}

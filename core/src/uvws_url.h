/* ws:// and wss:// URLs (RFC 6455 section 3), and ws+unix:SOCKET:/PATH
 * (ws's syntax for a WebSocket over a Unix domain socket). */
#ifndef UVWS_URL_H
#define UVWS_URL_H

typedef struct uvws_url {
  int secure;          /* wss:// */
  int port;
  char *host;          /* without brackets, NUL-terminated */
  char *host_header;   /* as sent in Host: brackets for IPv6, port if not default */
  char *path_query;    /* "/path?query", "/" when empty */
  char *unix_path;     /* ws+unix: the socket's path (host is "localhost") */
} uvws_url_t;

/* Parse `url` into `u` (strings malloc'd); returns 0 or UVWS_EURL. */
int uvws_url_parse(const char *url, uvws_url_t *u);
void uvws_url_free(uvws_url_t *u);

#endif

/* Tunnels through a proxy before the WebSocket handshake (sans-I/O): HTTP
 * CONNECT with Basic authentication, and SOCKS5 (RFC 1928) with
 * username/password (RFC 1929), the target's name resolved by the proxy.
 * Also the choice of a proxy from the environment. */
#ifndef UVWS_PROXY_H
#define UVWS_PROXY_H

#include <stddef.h>
#include <stdint.h>

enum { UVWS__PROXY_HTTP = 1, UVWS__PROXY_SOCKS5 = 2 };

typedef struct uvws_proxy {
  int type;
  char *host;          /* the proxy, without brackets */
  int port;
  char *user, *pass;   /* NULL when no credentials */
  /* the tunnel being set up */
  int step;
  uint8_t buf[8192];   /* the proxy's answer so far */
  size_t len;
} uvws_proxy_t;

/* Parse "http://[user:pass@]host[:port]" (port 80 by default) or
 * "socks5://..." / "socks5h://..." (1080); a URL without a scheme is
 * http://. %XX escapes in the credentials are decoded. Returns 0 or
 * UVWS_EINVAL. */
int uvws__proxy_parse(const char *url, uvws_proxy_t *p);
void uvws__proxy_free(uvws_proxy_t *p);

/* The proxy URL the environment gives for a target, as curl reads it:
 * https_proxy / HTTPS_PROXY for wss://, http_proxy / HTTP_PROXY for ws://,
 * else all_proxy / ALL_PROXY; NULL when none applies or no_proxy / NO_PROXY
 * names the host ("*", a host, a domain suffix such as ".example.com" or
 * "example.com", optionally with ":port"). */
const char *uvws__proxy_from_env(int secure, const char *host, int port);

/* The first bytes to send once connected to the proxy, into out (cap
 * bytes); returns their length, 0 if they do not fit. */
size_t uvws__proxy_start(uvws_proxy_t *p, const char *host, int port, uint8_t *out,
                         size_t cap);

/* Bytes from the proxy. Returns 1 when the tunnel is up (*used: how many
 * of these bytes were the proxy's), 0 when more is needed, and maybe bytes
 * to send in out (*out_len), or UVWS_EPROXY with *why set. */
int uvws__proxy_feed(uvws_proxy_t *p, const char *host, int port, const uint8_t *data,
                     size_t len, size_t *used, uint8_t *out, size_t cap, size_t *out_len,
                     char *why, size_t why_cap);

#endif

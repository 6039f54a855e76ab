#include "uvws_proxy.h"
#include "uvws.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <uv.h>

/* SOCKS5 steps */
enum { S5_METHOD = 0, S5_AUTH, S5_REPLY };

static char *dup_decoded(const char *s, size_t n) {
  char *d = malloc(n + 1), *o = d;
  if (!d) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
        isxdigit((unsigned char)s[i + 2])) {
      char hex[3] = {s[i + 1], s[i + 2], 0};
      *o++ = (char)strtol(hex, NULL, 16);
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  *o = 0;
  return d;
}

void uvws__proxy_free(uvws_proxy_t *p) {
  if (!p) return;
  free(p->host);
  free(p->user);
  free(p->pass);
  p->host = p->user = p->pass = NULL;
}

int uvws__proxy_parse(const char *url, uvws_proxy_t *p) {
  memset(p, 0, sizeof(*p));
  if (!url || !*url) return UVWS_EINVAL;
  const char *s = url;
  p->type = UVWS__PROXY_HTTP;
  p->port = 80;
  if (strncasecmp(s, "http://", 7) == 0) {
    s += 7;
  } else if (strncasecmp(s, "socks5://", 9) == 0 || strncasecmp(s, "socks5h://", 10) == 0) {
    s += s[6] == 'h' || s[6] == 'H' ? 10 : 9;
    p->type = UVWS__PROXY_SOCKS5;
    p->port = 1080;
  } else if (strstr(s, "://")) {
    return UVWS_EINVAL; /* https:// proxies, socks4: not supported */
  }
  size_t auth_len = strcspn(s, "/?#");
  const char *at = NULL;
  for (size_t i = 0; i < auth_len; i++)
    if (s[i] == '@') at = s + i;
  if (at) {
    const char *colon = memchr(s, ':', (size_t)(at - s));
    size_t ul = colon ? (size_t)(colon - s) : (size_t)(at - s);
    p->user = dup_decoded(s, ul);
    p->pass = colon ? dup_decoded(colon + 1, (size_t)(at - colon - 1)) : strdup("");
    if (!p->user || !p->pass || strlen(p->user) > 255 || strlen(p->pass) > 255) goto bad;
    auth_len -= (size_t)(at + 1 - s);
    s = at + 1;
  }
  const char *host = s, *host_end, *port = NULL;
  if (*s == '[') {
    const char *close = memchr(s, ']', auth_len);
    if (!close) goto bad;
    host = s + 1;
    host_end = close;
    if (close + 1 < s + auth_len) {
      if (close[1] != ':') goto bad;
      port = close + 2;
    }
  } else {
    const char *colon = memchr(s, ':', auth_len);
    host_end = colon ? colon : s + auth_len;
    if (colon) port = colon + 1;
  }
  if (host_end == host) goto bad;
  if (port) {
    long v = 0;
    const char *end = s + auth_len;
    if (port == end) goto bad;
    for (const char *c = port; c < end; c++) {
      if (!isdigit((unsigned char)*c) || (v = v * 10 + (*c - '0')) > 65535) goto bad;
    }
    if (v == 0) goto bad;
    p->port = (int)v;
  }
  p->host = malloc((size_t)(host_end - host) + 1);
  if (!p->host) goto bad;
  memcpy(p->host, host, (size_t)(host_end - host));
  p->host[host_end - host] = 0;
  return 0;
bad:
  uvws__proxy_free(p);
  return UVWS_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

static const char *env2(const char *lower, const char *upper) {
  const char *v = getenv(lower);
  if (!v || !*v) v = getenv(upper);
  return v && *v ? v : NULL;
}

static int no_proxy_matches(const char *list, const char *host, int port) {
  size_t hl = strlen(host);
  const char *p = list;
  while (*p) {
    size_t n = strcspn(p, ", ");
    const char *e = p;
    size_t el = n;
    if (el == 1 && *e == '*') return 1;
    /* an optional :port; several ':' without brackets: an IPv6 address */
    int eport = 0, colons = 0;
    const char *colon = NULL;
    for (size_t i = 0; i < el; i++)
      if (e[i] == ':') {
        colons++;
        colon = e + i;
      }
    if (e[0] == '[') {
      const char *close = memchr(e, ']', el);
      if (close) {
        if (close + 1 < e + el && close[1] == ':') eport = atoi(close + 2);
        e++;
        el = (size_t)(close - e);
      }
    } else if (colons == 1) {
      eport = atoi(colon + 1);
      el = (size_t)(colon - e);
    }
    if (el && *e == '.') {
      e++;
      el--;
    }
    if (el && (!eport || eport == port)) {
      if (hl == el && strncasecmp(host, e, el) == 0) return 1;
      if (hl > el && host[hl - el - 1] == '.' && strncasecmp(host + hl - el, e, el) == 0) return 1;
    }
    p += n;
    while (*p == ',' || *p == ' ') p++;
  }
  return 0;
}

const char *uvws__proxy_from_env(int secure, const char *host, int port) {
  const char *proxy = secure ? env2("https_proxy", "HTTPS_PROXY") : env2("http_proxy", "HTTP_PROXY");
  if (!proxy) proxy = env2("all_proxy", "ALL_PROXY");
  if (!proxy) return NULL;
  const char *no = env2("no_proxy", "NO_PROXY");
  if (no && no_proxy_matches(no, host, port)) return NULL;
  return proxy;
}

/* ------------------------------------------------------------------ */
/* The tunnel                                                          */
/* ------------------------------------------------------------------ */

static size_t http_connect(const uvws_proxy_t *p, const char *host, int port, uint8_t *out,
                           size_t cap) {
  char authority[300];
  int v6 = strchr(host, ':') != NULL;
  snprintf(authority, sizeof(authority), v6 ? "[%s]:%d" : "%s:%d", host, port);
  int n = snprintf((char *)out, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", authority, authority);
  if (n < 0 || (size_t)n >= cap) return 0;
  if (p->user) {
    char cred[520];
    unsigned char b64[700];
    int cl = snprintf(cred, sizeof(cred), "%s:%s", p->user, p->pass ? p->pass : "");
    EVP_EncodeBlock(b64, (const unsigned char *)cred, cl);
    int m = snprintf((char *)out + n, cap - (size_t)n, "Proxy-Authorization: Basic %s\r\n", b64);
    if (m < 0 || (size_t)(n + m) >= cap) return 0;
    n += m;
  }
  if ((size_t)n + 2 >= cap) return 0;
  memcpy(out + n, "\r\n", 2);
  return (size_t)n + 2;
}

size_t uvws__proxy_start(uvws_proxy_t *p, const char *host, int port, uint8_t *out,
                         size_t cap) {
  p->step = S5_METHOD;
  p->len = 0;
  if (p->type == UVWS__PROXY_HTTP) return http_connect(p, host, port, out, cap);
  if (cap < 4) return 0;
  out[0] = 5;
  if (p->user) {
    out[1] = 2;
    out[2] = 0x00; /* none */
    out[3] = 0x02; /* username/password */
    return 4;
  }
  out[1] = 1;
  out[2] = 0x00;
  return 3;
}

static size_t socks_request(const char *host, int port, uint8_t *out) {
  size_t n = 0;
  out[n++] = 5;
  out[n++] = 1; /* CONNECT */
  out[n++] = 0;
  struct sockaddr_in6 a6;
  struct sockaddr_in a4;
  if (uv_ip4_addr(host, port, &a4) == 0) {
    out[n++] = 1;
    memcpy(out + n, &a4.sin_addr, 4);
    n += 4;
  } else if (uv_ip6_addr(host, port, &a6) == 0) {
    out[n++] = 4;
    memcpy(out + n, &a6.sin6_addr, 16);
    n += 16;
  } else {
    /* A name: the proxy resolves it (what socks5h:// means elsewhere). */
    size_t hl = strlen(host);
    out[n++] = 3;
    out[n++] = (uint8_t)hl;
    memcpy(out + n, host, hl);
    n += hl;
  }
  out[n++] = (uint8_t)(port >> 8);
  out[n++] = (uint8_t)port;
  return n;
}

static const char *socks_reply_text(int rep) {
  switch (rep) {
    case 1: return "general SOCKS server failure";
    case 2: return "connection not allowed by ruleset";
    case 3: return "network unreachable";
    case 4: return "host unreachable";
    case 5: return "connection refused";
    case 6: return "TTL expired";
    case 7: return "command not supported";
    case 8: return "address type not supported";
    default: return "unknown error";
  }
}

static int fail(char *why, size_t cap, const char *fmt, const char *a, int b) {
  snprintf(why, cap, fmt, a, b);
  return UVWS_EPROXY;
}

int uvws__proxy_feed(uvws_proxy_t *p, const char *host, int port, const uint8_t *data,
                     size_t len, size_t *used, uint8_t *out, size_t cap, size_t *out_len,
                     char *why, size_t why_cap) {
  *out_len = 0;
  *used = len;
  if (p->type == UVWS__PROXY_HTTP) {
    /* Collect the response head; only its status line matters. */
    size_t old = p->len;
    size_t take = len < sizeof(p->buf) - p->len ? len : sizeof(p->buf) - p->len;
    memcpy(p->buf + p->len, data, take);
    p->len += take;
    for (size_t i = old >= 3 ? old - 3 : 0; i + 3 < p->len; i++) {
      if (memcmp(p->buf + i, "\r\n\r\n", 4) != 0) continue;
      *used = i + 4 - old;
      int status = 0;
      char reason[64] = "";
      if (sscanf((const char *)p->buf, "HTTP/1.%*d %d %63[^\r\n]", &status, reason) < 1)
        return fail(why, why_cap, "the HTTP proxy sent an invalid response%s", "", 0);
      if (status >= 200 && status < 300) return 1;
      snprintf(why, why_cap, "the HTTP proxy answered CONNECT with %d %s%s", status, reason,
               status == 407 || status == 401
                   ? (p->user ? " (credentials refused)" : " (it needs credentials)")
                   : "");
      return UVWS_EPROXY;
    }
    if (p->len == sizeof(p->buf))
      return fail(why, why_cap, "the HTTP proxy's response head is too large%s", "", 0);
    return 0;
  }
  /* SOCKS5: fixed-size answers, gathered byte by byte. */
  for (size_t i = 0; i < len; i++) {
    if (p->len < sizeof(p->buf)) p->buf[p->len++] = data[i];
    const uint8_t *b = p->buf;
    switch (p->step) {
      case S5_METHOD:
        if (p->len < 2) continue;
        if (b[0] != 5) return fail(why, why_cap, "not a SOCKS5 proxy%s", "", 0);
        if (b[1] == 0xff)
          return fail(why, why_cap, "the SOCKS5 proxy accepts none of our authentication methods%s",
                      p->user ? "" : " (it needs credentials)", 0);
        p->len = 0;
        if (b[1] == 0x02 && p->user) {
          size_t ul = strlen(p->user), pl = strlen(p->pass);
          if (3 + ul + pl > cap) return fail(why, why_cap, "credentials too long%s", "", 0);
          out[0] = 1;
          out[1] = (uint8_t)ul;
          memcpy(out + 2, p->user, ul);
          out[2 + ul] = (uint8_t)pl;
          memcpy(out + 3 + ul, p->pass, pl);
          *out_len = 3 + ul + pl;
          p->step = S5_AUTH;
        } else if (b[1] == 0x00) {
          *out_len = socks_request(host, port, out);
          p->step = S5_REPLY;
        } else {
          return fail(why, why_cap, "the SOCKS5 proxy chose an unknown method%s", "", 0);
        }
        *used = i + 1;
        return 0;
      case S5_AUTH:
        if (p->len < 2) continue;
        if (b[1] != 0) return fail(why, why_cap, "the SOCKS5 proxy refused the credentials%s", "", 0);
        p->len = 0;
        *out_len = socks_request(host, port, out);
        p->step = S5_REPLY;
        *used = i + 1;
        return 0;
      case S5_REPLY: {
        if (p->len < 5) continue;
        if (b[0] != 5) return fail(why, why_cap, "not a SOCKS5 proxy%s", "", 0);
        if (b[1] != 0) {
          snprintf(why, why_cap, "the SOCKS5 proxy could not connect: %s (%d)", socks_reply_text(b[1]), b[1]);
          return UVWS_EPROXY;
        }
        size_t need = b[3] == 1 ? 4 + 4 + 2 : b[3] == 4 ? 4 + 16 + 2 : b[3] == 3 ? 4 + 1 + (size_t)b[4] + 2 : 0;
        if (!need) return fail(why, why_cap, "the SOCKS5 proxy sent an invalid reply%s", "", 0);
        if (p->len < need) continue;
        *used = i + 1;
        return 1;
      }
    }
  }
  return 0;
}

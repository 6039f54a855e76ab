#include "uvws_http.h"
#include "uvws_error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uvws_head_t *head_of(llhttp_t *p) { return (uvws_head_t *)p->data; }

static uint32_t offset_of(uvws_head_t *h, const char *at) {
  return (uint32_t)(h->base + (size_t)(at - h->chunk));
}

/* llhttp may report one span in several calls when it straddles two feeds;
 * the head buffer is contiguous, so the pieces simply extend the span. */
static void extend(uvws_head_t *h, uvws_span_t *s, int first, const char *at,
                   size_t len) {
  if (first) {
    s->off = offset_of(h, at);
    s->len = 0;
  }
  s->len += (uint32_t)len;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  uvws_head_t *h = head_of(p);
  extend(h, &h->url, h->url.len == 0, at, len);
  return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len) {
  uvws_head_t *h = head_of(p);
  extend(h, &h->status_text, h->status_text.len == 0, at, len);
  return 0;
}

/* RFC 7230 tchar. llhttp built without LLHTTP_STRICT_MODE lets spaces into
 * a field name ("Host : x", "Ho st: x"), which a server must reject (section
 * 3.2.4: a proxy might read the header differently). */
static int is_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  uvws_head_t *h = head_of(p);
  int first = !h->in_name;
  for (size_t i = 0; i < len; i++)
    if (!is_tchar((unsigned char)at[i])) return HPE_USER;
  if (first) {
    if (h->num_headers >= h->max_headers) {
      h->too_many = 1;
      return HPE_USER;
    }
    if (h->num_headers * 2 + 2 > h->spans_cap) {
      size_t cap = h->spans_cap ? h->spans_cap * 2 : 32;
      uvws_span_t *s = realloc(h->spans, cap * sizeof(*s));
      if (!s) return HPE_USER;
      h->spans = s;
      h->spans_cap = cap;
    }
    h->num_headers++;
    h->spans[h->num_headers * 2 - 1].len = 0;
    h->spans[h->num_headers * 2 - 1].off = 0;
    h->in_name = 1;
  }
  extend(h, &h->spans[h->num_headers * 2 - 2], first, at, len);
  return 0;
}

static int on_header_field_complete(llhttp_t *p) {
  head_of(p)->in_name = 0;
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  uvws_head_t *h = head_of(p);
  int first = !h->in_value;
  uvws_span_t *s = &h->spans[h->num_headers * 2 - 1];
  /* A value continued on the next line (obs-fold) comes in pieces that are
   * not adjacent; joining them as one span would take in the CRLF and cut
   * the end off. RFC 7230 section 3.2.4 allows rejecting it: do so. */
  if (!first && offset_of(h, at) != s->off + s->len) return HPE_USER;
  h->in_value = 1;
  extend(h, s, first, at, len);
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  head_of(p)->in_value = 0;
  return 0;
}

static int on_headers_complete(llhttp_t *p) {
  head_of(p)->done = 1;
  /* No body: stop right after the head, as for an upgrade, so whatever
   * follows in the input is left to the caller. */
  return 2;
}

static const llhttp_settings_t settings = {
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
};

int uvws_head_init(uvws_head_t *h, int is_response, size_t max_bytes,
                   unsigned max_headers) {
  memset(h, 0, sizeof(*h));
  llhttp_init(&h->llhttp, is_response ? HTTP_RESPONSE : HTTP_REQUEST, &settings);
  h->llhttp.data = h;
  h->max = max_bytes;
  h->max_headers = max_headers;
  return 0;
}

void uvws_head_free(uvws_head_t *h) {
  free(h->buf);
  free(h->spans);
  free(h->headers);
  h->buf = NULL;
  h->spans = NULL;
  h->headers = NULL;
}

static int finish(uvws_head_t *h) {
  size_t n = h->num_headers;
  h->headers = calloc(n ? n : 1, sizeof(*h->headers));
  if (!h->headers) return UVWS_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    uvws_span_t name = h->spans[2 * i], value = h->spans[2 * i + 1];
    const char *v = h->buf + value.off;
    size_t vlen = value.len;
    /* llhttp drops the whitespace before a value but keeps the whitespace
     * after it, which is not part of the value either (RFC 7230 3.2). */
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
    h->headers[i].name = h->buf + name.off;
    h->headers[i].name_len = name.len;
    h->headers[i].value = v;
    h->headers[i].value_len = vlen;
  }
  uvws_http_t *http = &h->http;
  memset(http, 0, sizeof(*http));
  http->headers = h->headers;
  http->num_headers = n;
  if (h->llhttp.type == HTTP_RESPONSE) {
    http->status = h->llhttp.status_code;
  } else {
    const char *url = h->buf + h->url.off;
    const char *q = memchr(url, '?', h->url.len);
    http->path = url;
    http->path_len = q ? (size_t)(q - url) : h->url.len;
    if (q) {
      http->query = q + 1;
      http->query_len = h->url.len - http->path_len - 1;
    }
  }
  return 1;
}

int uvws_head_feed(uvws_head_t *h, const char *data, size_t len, size_t *used) {
  *used = 0;
  if (h->done) return 1;
  /* Never buffer more than the limit: only max - len bytes can belong to an
   * acceptable head. One byte more is allowed to tell "too big" apart. */
  size_t room = h->max - h->len;
  size_t take = len <= room ? len : room + 1;
  h->base = h->len;
  h->chunk = data;
  llhttp_errno_t err = llhttp_execute(&h->llhttp, data, take);
  size_t consumed = take;
  if (err == HPE_PAUSED_UPGRADE || err == HPE_PAUSED) {
    consumed = (size_t)(llhttp_get_error_pos(&h->llhttp) - data);
  } else if (err != HPE_OK) {
    return h->too_many ? UVWS_ETOOBIG : UVWS_EHANDSHAKE;
  }
  if (h->len + consumed > h->max) return UVWS_ETOOBIG;
  if (h->len + consumed > h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 1024;
    while (cap < h->len + consumed) cap *= 2;
    if (cap > h->max) cap = h->max;
    char *b = realloc(h->buf, cap);
    if (!b) return UVWS_ENOMEM;
    h->buf = b;
    h->cap = cap;
  }
  if (consumed) memcpy(h->buf + h->len, data, consumed); /* buf is NULL until then */
  h->len += consumed;
  *used = consumed;
  if (!h->done) {
    if (take < len) return UVWS_ETOOBIG;
    return 0;
  }
  return finish(h);
}

/* RFC 9110 tchar: visible ASCII except the delimiters. */
int uvws_http_token_is_valid(const char *s, size_t len) {
  static const char delims[] = "()<>@,;:\\\"/[]?={}";
  if (!s || len == 0) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 32 || c >= 127 || memchr(delims, c, sizeof(delims) - 1)) return 0;
  }
  return 1;
}

/* As Node's http module: HTAB, visible ASCII, space and obs-text (0x80-0xff,
 * kept for values already in the wild); every other control character is
 * refused, which is what keeps CR/LF from splitting a header in two. */
int uvws_http_value_is_valid(const char *s, size_t len) {
  if (!s && len) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 32 && c != '\t') || c == 127) return 0;
  }
  return 1;
}

int uvws__headers_check(const uvws_header_t *h, size_t n) {
  if (n && !h) return UVWS_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!uvws_http_token_is_valid(h[i].name, h[i].name_len)) {
      char msg[96];
      snprintf(msg, sizeof(msg), "invalid header name \"%.*s\": not an HTTP token",
               (int)(h[i].name_len > 40 ? 40 : h[i].name_len), h[i].name ? h[i].name : "");
      uvws__set_last_error(msg);
      return UVWS_EINVAL;
    }
    if (!uvws_http_value_is_valid(h[i].value, h[i].value_len)) {
      char msg[128];
      snprintf(msg, sizeof(msg),
               "invalid value for header \"%.*s\": control characters (CR, LF, NUL, ...) "
               "are not allowed",
               (int)(h[i].name_len > 40 ? 40 : h[i].name_len), h[i].name);
      uvws__set_last_error(msg);
      return UVWS_EINVAL;
    }
  }
  return 0;
}

int uvws_strieq(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  if (alen != blen) return 0;
  for (size_t i = 0; i < alen; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
  return 1;
}

int uvws_token_next(const char *v, size_t len, size_t *pos, const char **item,
                    size_t *item_len) {
  while (*pos < len) {
    size_t start = *pos, end;
    while (*pos < len && v[*pos] != ',') (*pos)++;
    end = *pos;
    if (*pos < len) (*pos)++; /* skip the comma */
    while (start < end && (v[start] == ' ' || v[start] == '\t')) start++;
    while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) end--;
    if (end > start) {
      *item = v + start;
      *item_len = end - start;
      return 1;
    }
  }
  return 0;
}

int uvws_token_list_has(const char *v, size_t len, const char *token) {
  size_t pos = 0, n;
  const char *item;
  while (uvws_token_next(v, len, &pos, &item, &n))
    if (uvws_strieq(item, n, token)) return 1;
  return 0;
}

const char *uvws_http_header(const uvws_http_t *http, const char *name,
                             size_t *len) {
  for (size_t i = 0; i < http->num_headers; i++) {
    const uvws_header_t *hd = &http->headers[i];
    if (uvws_strieq(hd->name, hd->name_len, name)) {
      if (len) *len = hd->value_len;
      return hd->value;
    }
  }
  return NULL;
}

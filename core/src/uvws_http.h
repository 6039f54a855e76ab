/* HTTP/1.1 message heads (the upgrade request, the 101 response) parsed with
 * llhttp, incrementally, into one contiguous buffer, plus the token-list
 * helpers the handshake rules need. Sans-I/O. */
#ifndef UVWS_HTTP_H
#define UVWS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "uvws.h"

typedef struct uvws_span {
  uint32_t off, len;
} uvws_span_t;

typedef struct uvws_head {
  llhttp_t llhttp;
  char *buf;             /* the head's bytes, as received */
  size_t len, cap, max;
  unsigned max_headers;
  uvws_span_t url, status_text;
  uvws_span_t *spans;    /* name, value pairs */
  size_t num_headers, spans_cap;
  size_t base;           /* during a feed: buffer offset of the chunk */
  const char *chunk;
  uint8_t in_name, in_value, done, too_many;
  uvws_header_t *headers; /* built when done */
  uvws_http_t http;
} uvws_head_t;

/* is_response: 1 to parse a response (client side), 0 a request. */
int uvws_head_init(uvws_head_t *h, int is_response, size_t max_bytes,
                   unsigned max_headers);
void uvws_head_free(uvws_head_t *h);

/* Feed bytes. Returns 1 when the head is complete (then *used tells how
 * many of these bytes belonged to it; the rest follow the head), 0 when more
 * is needed (all bytes used), UVWS_EHANDSHAKE when malformed, or
 * UVWS_ETOOBIG when over max_bytes or max_headers. */
int uvws_head_feed(uvws_head_t *h, const char *data, size_t len, size_t *used);

/* 1 if the comma-separated list `v` holds `token` (case-insensitive, spaces
 * around items ignored). */
int uvws_token_list_has(const char *v, size_t len, const char *token);

/* Iterate a comma-separated list: sets *item and *item_len to the next item,
 * trimmed; returns 0 at the end. *pos starts at 0. */
int uvws_token_next(const char *v, size_t len, size_t *pos, const char **item,
                    size_t *item_len);

/* 0 if every header has a token name and a valid value (see
 * uvws_http_token_is_valid() / uvws_http_value_is_valid() in uvws.h), else
 * UVWS_EINVAL with the first culprit named in uvws_last_error(). The one
 * check behind every API that takes headers. */
int uvws__headers_check(const uvws_header_t *headers, size_t n);

/* Case-insensitive comparison of a counted string with a C string. */
int uvws_strieq(const char *a, size_t alen, const char *b);

#endif

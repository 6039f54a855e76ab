/* The opening handshake rules of RFC 6455 section 4, both sides, sans-I/O:
 * validate a parsed request or response, build the answer. */
#ifndef UVWS_HANDSHAKE_H
#define UVWS_HANDSHAKE_H

#include <stddef.h>

#include "uvws.h"

#define UVWS_KEY_LEN 24    /* base64 of 16 bytes */
#define UVWS_ACCEPT_LEN 28 /* base64 of a SHA-1 */

/* base64(SHA-1(key + GUID)), NUL-terminated. */
void uvws_accept_key(const char *key, size_t key_len,
                     char out[UVWS_ACCEPT_LEN + 1]);

/* A fresh random Sec-WebSocket-Key, NUL-terminated. */
int uvws_make_key(char out[UVWS_KEY_LEN + 1]);

/* What a valid upgrade request carried. */
typedef struct uvws_upgrade_info {
  const char *key;             /* Sec-WebSocket-Key (24 chars) */
  const char *protocols;       /* Sec-WebSocket-Protocol, NULL if absent */
  size_t protocols_len;
  const char *extensions;      /* Sec-WebSocket-Extensions, NULL if absent */
  size_t extensions_len;
} uvws_upgrade_info_t;

/* Check an upgrade request. Returns 0 if valid, else the HTTP status to
 * answer with (400, 405, 426) and sets *why. `path` (may be NULL) is the only
 * path accepted. */
int uvws_check_request(const uvws_http_t *req, int http_major, int http_minor,
                       int method_is_get, const char *path,
                       uvws_upgrade_info_t *info, const char **why);

/* Write the 101 response into `out` (size `cap`); returns its length, or 0 if
 * it does not fit. */
size_t uvws_build_101(char *out, size_t cap, const char *key,
                      const char *protocol, const uvws_header_t *headers,
                      size_t num_headers);

/* Write an error response (with Connection: close and a text body). Returns
 * the length, or 0 if it does not fit. */
size_t uvws_build_error(char *out, size_t cap, int status,
                        const uvws_header_t *headers, size_t num_headers,
                        const char *body, size_t body_len);

/* Reason phrase of a status code. */
const char *uvws_status_text(int status);

/* Build the client's upgrade request. Returns a malloc'd string (its length
 * in *len), or NULL when out of memory. */
char *uvws_build_request(const char *host_header, const char *path_query,
                         const char *key, const uvws_client_options_t *opts,
                         const char *extensions, size_t *len);

/* Check the server's response against what we sent. Returns 0, or
 * UVWS_ESTATUS / UVWS_EHANDSHAKE / UVWS_EACCEPT / UVWS_EPROTOCOL /
 * UVWS_EEXTENSION with a description in *why. On success *protocol points at
 * the chosen subprotocol (not NUL-terminated, *protocol_len) or is NULL.
 * `offered_extensions`: whether Sec-WebSocket-Extensions was sent (if not,
 * any in the response is an error; if so, the caller checks the value). */
int uvws_check_response(const uvws_http_t *res, int http_major,
                        int http_minor, const char *key,
                        const char *const *offered, size_t num_offered,
                        int offered_extensions, const char **protocol,
                        size_t *protocol_len, const char **why);

#endif

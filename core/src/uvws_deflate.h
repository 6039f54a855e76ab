/* permessage-deflate (RFC 7692): negotiation both ways, and whole-message
 * compression and decompression on zlib. Sans-I/O. */
#ifndef UVWS_DEFLATE_H
#define UVWS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "uvws.h"

typedef struct uvws_pmd_params {
  uint8_t server_no_ctx;  /* server_no_context_takeover */
  uint8_t client_no_ctx;  /* client_no_context_takeover */
  uint8_t server_wbits;   /* window the server compresses with, 8-15 */
  uint8_t client_wbits;   /* window the client compresses with, 8-15 */
} uvws_pmd_params_t;

/* Server: pick the first acceptable permessage-deflate offer in `value` (all
 * Sec-WebSocket-Extensions values of the request, comma-joined). Returns 1
 * and fills *p and the response value `resp` when one is accepted, 0 when
 * none is (the connection then goes on without compression; offers the
 * server cannot accept are declined, as RFC 7692 section 5 says), and -1
 * when the header is malformed: a syntax error in any element, or a
 * permessage-deflate offer with an unknown, repeated or invalid parameter
 * (the server answers 400, as ws does). */
int uvws_pmd_server_negotiate(const uvws_deflate_options_t *o, const char *value,
                              size_t len, uvws_pmd_params_t *p, char *resp,
                              size_t cap);

/* Client: the offer to send; returns its length (0 if it does not fit). */
size_t uvws_pmd_client_offer(const uvws_deflate_options_t *o, char *out, size_t cap);

/* Client: check the server's Sec-WebSocket-Extensions answer against what
 * was offered. Returns 0 and fills *p, or UVWS_EEXTENSION with *why. */
int uvws_pmd_client_check(const uvws_deflate_options_t *o, const char *value,
                          size_t len, uvws_pmd_params_t *p, const char **why);

/* zlib streams and output buffers one loop shares: compressors for
 * connections without context takeover (one per window/level/memLevel),
 * one decompressor for peers without context takeover. */
typedef struct uvws_pmd_shared uvws_pmd_shared_t;
uvws_pmd_shared_t *uvws_pmd_shared_new(void);
void uvws_pmd_shared_free(uvws_pmd_shared_t *s);

/* One connection's compression state. */
typedef struct uvws_pmd {
  uvws_pmd_params_t params;
  uint8_t is_server;
  uint8_t level, mem_level;
  size_t threshold;
  void *def;                 /* own z_stream when keeping context, lazily */
  void *inf;                 /* own z_stream when the peer keeps context */
  uvws_pmd_shared_t *shared;
  char *extensions;          /* the negotiated header value */
} uvws_pmd_t;

int uvws_pmd_init(uvws_pmd_t *p, const uvws_deflate_options_t *o,
                  const uvws_pmd_params_t *params, int is_server,
                  uvws_pmd_shared_t *shared, const char *extensions);
void uvws_pmd_free(uvws_pmd_t *p);

/* Whether a message of `len` bytes is sent compressed. */
int uvws_pmd_wants(const uvws_pmd_t *p, size_t len);

/* Inflate one whole message (the 0x00 0x00 0xff 0xff tail is added here).
 * *out points into a buffer of the loop, valid until the next inflate.
 * Returns 0, UVWS_ETOOBIG as soon as the output would pass `max` (nothing
 * beyond it is allocated), UVWS_EREMOTE for invalid data, UVWS_ENOMEM. */
int uvws_pmd_inflate(uvws_pmd_t *p, const uint8_t *in, size_t len, size_t max,
                     uint8_t **out, size_t *out_len);

/* Deflate one whole message (the tail is removed). *out is valid until the
 * next deflate on this loop. Returns 0 or UVWS_ENOMEM. */
int uvws_pmd_deflate(uvws_pmd_t *p, const uint8_t *in, size_t len,
                     uint8_t **out, size_t *out_len);

#endif

/* Close frame payloads (RFC 6455 sections 5.5.1 and 7.4). */
#ifndef UVWS_CLOSE_H
#define UVWS_CLOSE_H

#include <stddef.h>
#include <stdint.h>

#define UVWS_CLOSE_MAX_REASON 123

/* Parse a received close payload. Returns 0 and sets *code (1005 when the
 * payload is empty), *reason and *reason_len; or returns the close code the
 * connection must fail with (1002 for a bad length or code, 1007 for a reason
 * that is not UTF-8). */
int uvws_close_parse(const uint8_t *payload, size_t len, int *code,
                     const uint8_t **reason, size_t *reason_len);

/* Build a close payload (at most 125 bytes) into `out`; returns its length.
 * code 0 = no code and no reason. The caller has validated both. */
size_t uvws_close_build(uint8_t out[125], int code, const char *reason,
                        size_t len);

#endif

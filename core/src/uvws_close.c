#include "uvws_close.h"
#include "uvws.h"
#include "uvws_utf8.h"

#include <string.h>

/* Codes a peer may put on the wire: the defined ones minus those reserved
 * for reporting (1004-1006, 1015), plus the registered and private ranges.
 * 1012-1014 are IANA-registered and sent by real servers (as ws accepts). */
int uvws_close_code_is_valid(int code) {
  if (code >= 1000 && code <= 1014)
    return code != 1004 && code != 1005 && code != 1006;
  return code >= 3000 && code <= 4999;
}

int uvws_close_parse(const uint8_t *payload, size_t len, int *code,
                     const uint8_t **reason, size_t *reason_len) {
  *reason = payload;
  *reason_len = 0;
  if (len == 0) {
    *code = UVWS_CLOSE_NO_STATUS;
    return 0;
  }
  if (len == 1 || len > 125) return UVWS_CLOSE_PROTOCOL_ERROR;
  int c = (payload[0] << 8) | payload[1];
  if (!uvws_close_code_is_valid(c)) return UVWS_CLOSE_PROTOCOL_ERROR;
  if (!uvws_utf8_is_valid(payload + 2, len - 2)) return UVWS_CLOSE_INVALID_PAYLOAD;
  *code = c;
  *reason = payload + 2;
  *reason_len = len - 2;
  return 0;
}

size_t uvws_close_build(uint8_t out[125], int code, const char *reason,
                        size_t len) {
  if (code == 0) return 0;
  out[0] = (uint8_t)(code >> 8);
  out[1] = (uint8_t)code;
  if (len > UVWS_CLOSE_MAX_REASON) len = UVWS_CLOSE_MAX_REASON;
  if (len) memcpy(out + 2, reason, len);
  return 2 + len;
}

#include "uvws_frame.h"
#include "uvws_mask.h"

#include <string.h>

void uvws_frame_parser_init(uvws_frame_parser_t *fp) {
  memset(fp, 0, sizeof(*fp));
}

/* Bytes of header needed given the first two bytes. */
static unsigned header_size(const uint8_t *h) {
  unsigned n = 2, code = h[1] & 0x7f;
  if (code == 126) n += 2;
  else if (code == 127) n += 8;
  if (h[1] & 0x80) n += 4;
  return n;
}

static int decode_header(uvws_frame_parser_t *fp) {
  const uint8_t *h = fp->hdr;
  unsigned code = h[1] & 0x7f, off = 2;
  uint64_t len = code;
  fp->fin = h[0] >> 7;
  fp->rsv = (h[0] >> 4) & 7;
  fp->opcode = h[0] & 0x0f;
  fp->masked = h[1] >> 7;
  if (code == 126) {
    len = ((uint64_t)h[2] << 8) | h[3];
    off = 4;
  } else if (code == 127) {
    len = 0;
    for (int i = 0; i < 8; i++) len = (len << 8) | h[2 + i];
    off = 10;
    if (len >> 63) return -1;
  }
  if (fp->masked) memcpy(fp->key, h + off, 4);
  fp->length = fp->remaining = len;
  fp->mask_pos = 0;
  return 0;
}

size_t uvws_frame_parse(uvws_frame_parser_t *fp, uint8_t *in, size_t len,
                        uvws_frame_event_t *ev) {
  size_t used = 0;
  ev->data = NULL;
  ev->len = 0;
  ev->last = 0;
  if (!fp->in_payload) {
    /* Fast path: the whole header is in the input, as it nearly always is. */
    if (fp->hdr_len == 0 && len >= 2 && len >= header_size(in)) {
      unsigned n = header_size(in);
      memcpy(fp->hdr, in, n);
      used = n;
    } else {
      while (used < len) {
        fp->hdr[fp->hdr_len++] = in[used++];
        if (fp->hdr_len >= 2 && fp->hdr_len == header_size(fp->hdr)) break;
      }
      if (fp->hdr_len < 2 || fp->hdr_len < header_size(fp->hdr)) {
        ev->type = UVWS_FRAME_NEED_MORE;
        return used;
      }
    }
    fp->hdr_len = 0;
    if (decode_header(fp) < 0) {
      ev->type = UVWS_FRAME_BAD_LENGTH;
      return used;
    }
    ev->type = UVWS_FRAME_HEADER;
    fp->in_payload = fp->length != 0;
    ev->last = fp->length == 0;
    return used;
  }
  if (len == 0) {
    ev->type = UVWS_FRAME_NEED_MORE;
    return 0;
  }
  size_t n = len < fp->remaining ? len : (size_t)fp->remaining;
  if (fp->masked) fp->mask_pos = (uint8_t)uvws_mask(in, n, fp->key, fp->mask_pos);
  fp->remaining -= n;
  ev->type = UVWS_FRAME_PAYLOAD;
  ev->data = in;
  ev->len = n;
  ev->last = fp->remaining == 0;
  if (ev->last) fp->in_payload = 0;
  return n;
}

size_t uvws_frame_header(uint8_t out[UVWS_FRAME_MAX_HEADER], unsigned opcode,
                         int fin, unsigned rsv, uint64_t len,
                         const uint8_t *key) {
  size_t n;
  out[0] = (uint8_t)((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f));
  uint8_t m = key ? 0x80 : 0;
  if (len < 126) {
    out[1] = m | (uint8_t)len;
    n = 2;
  } else if (len <= 0xffff) {
    out[1] = m | 126;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    n = 4;
  } else {
    out[1] = m | 127;
    for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    n = 10;
  }
  if (key) {
    memcpy(out + n, key, 4);
    n += 4;
  }
  return n;
}

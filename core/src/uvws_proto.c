#include "uvws_proto.h"
#include "uvws.h"
#include "uvws_close.h"
#include "uvws_utf8.h"

#include <stdlib.h>
#include <string.h>

void uvws_proto_init(uvws_proto_t *p, int is_server, size_t max_payload,
                     unsigned max_fragments) {
  memset(p, 0, sizeof(*p));
  uvws_frame_parser_init(&p->fp);
  p->expect_masked = is_server ? 1 : 0;
  p->max_payload = max_payload;
  p->max_fragments = max_fragments;
}

static void reset_message(uvws_proto_t *p) {
  /* Idle connections hold no buffer: memory per connection stays small. */
  free(p->msg);
  p->msg = NULL;
  p->msg_len = p->msg_cap = 0;
  p->msg_op = 0;
  p->frames = 0;
  p->utf8 = UVWS_UTF8_ACCEPT;
  p->compressed = 0;
}

void uvws_proto_free(uvws_proto_t *p) {
  reset_message(p);
  free(p->ctl);
  p->ctl = NULL;
  p->done = 1;
}

static void fail(uvws_proto_t *p, const uvws_proto_handler_t *h, void *ctx,
                 int code, int err, const char *why) {
  p->done = 1;
  h->fail(ctx, code, err, why);
}

/* Validate a frame header; 0 if fine, else the connection has failed. */
static int check_header(uvws_proto_t *p, const uvws_proto_handler_t *h,
                        void *ctx, size_t avail) {
  uvws_frame_parser_t *fp = &p->fp;
  /* RSV1 means "compressed" only on the first frame of a data message, and
   * only once permessage-deflate is in use (RFC 7692 section 6). */
  if ((fp->rsv & ~p->rsv_allowed) ||
      ((fp->rsv & 0x4) && (fp->opcode >= 0x8 || fp->opcode == UVWS_OP_CONT))) {
    fail(p, h, ctx, UVWS_CLOSE_PROTOCOL_ERROR, UVWS_EREMOTE, "reserved bits set");
    return -1;
  }
  if (fp->masked != p->expect_masked) {
    fail(p, h, ctx, UVWS_CLOSE_PROTOCOL_ERROR, UVWS_EREMOTE,
         p->expect_masked ? "unmasked client frame" : "masked server frame");
    return -1;
  }
  if (fp->opcode >= 0x8) {
    if (fp->opcode > UVWS_OP_PONG) {
      fail(p, h, ctx, UVWS_CLOSE_PROTOCOL_ERROR, UVWS_EREMOTE, "reserved opcode");
      return -1;
    }
    if (!fp->fin) {
      fail(p, h, ctx, UVWS_CLOSE_PROTOCOL_ERROR, UVWS_EREMOTE, "fragmented control frame");
      return -1;
    }
    if (fp->length > 125) {
      fail(p, h, ctx, UVWS_CLOSE_PROTOCOL_ERROR, UVWS_EREMOTE, "control frame too long");
      return -1;
    }
    p->ctl_len = 0;
    return 0;
  }
  if (fp->opcode > UVWS_OP_BINARY) {
    fail(p, h, ctx, UVWS_CLOSE_PROTOCOL_ERROR, UVWS_EREMOTE, "reserved opcode");
    return -1;
  }
  if (fp->opcode == UVWS_OP_CONT) {
    if (!p->msg_op) {
      fail(p, h, ctx, UVWS_CLOSE_PROTOCOL_ERROR, UVWS_EREMOTE, "continuation without a message");
      return -1;
    }
  } else {
    if (p->msg_op) {
      fail(p, h, ctx, UVWS_CLOSE_PROTOCOL_ERROR, UVWS_EREMOTE, "new message inside a fragmented one");
      return -1;
    }
    p->msg_op = fp->opcode;
    p->utf8 = UVWS_UTF8_ACCEPT;
    p->compressed = (fp->rsv & 0x4) != 0;
  }
  /* Checked on the header, so a 1 GiB length is refused before anything is
   * allocated for it. */
  if (p->max_payload && fp->length > p->max_payload - p->msg_len) {
    fail(p, h, ctx, UVWS_CLOSE_TOO_BIG, UVWS_ETOOBIG, "message exceeds max payload");
    return -1;
  }
  if (p->max_fragments && ++p->frames > p->max_fragments) {
    fail(p, h, ctx, UVWS_CLOSE_TOO_BIG, UVWS_ETOOBIG, "too many fragments");
    return -1;
  }
  /* A whole unfragmented message in the input: deliver it in place. A
   * compressed one is reassembled first, then inflated as a whole. */
  p->direct = fp->fin && fp->opcode != UVWS_OP_CONT && fp->length <= avail && !p->compressed;
  if (!p->direct && fp->length) {
    size_t need = p->msg_len + (size_t)fp->length;
    if (need > p->msg_cap) {
      /* Grow geometrically for many small fragments, but never past what
       * the limit allows. */
      size_t cap = p->msg_cap * 2;
      if (cap < need) cap = need;
      if (p->max_payload && cap > p->max_payload) cap = p->max_payload;
      size_t got = 0;
      uint8_t *m = !p->msg && h->buf_take ? h->buf_take(ctx, cap, &got) : NULL;
      if (m) cap = got;
      else m = realloc(p->msg, cap);
      if (!m) {
        fail(p, h, ctx, UVWS_CLOSE_TOO_BIG, UVWS_ENOMEM, "out of memory");
        return -1;
      }
      p->msg = m;
      p->msg_cap = cap;
    }
  }
  return 0;
}

static int deliver_control(uvws_proto_t *p, const uvws_proto_handler_t *h,
                           void *ctx, uint8_t *data, size_t len) {
  int op = p->fp.opcode;
  if (op == UVWS_OP_PING) return h->ping(ctx, data, len);
  if (op == UVWS_OP_PONG) return h->pong(ctx, data, len);
  int code;
  const uint8_t *reason;
  size_t rlen;
  int bad = uvws_close_parse(data, len, &code, &reason, &rlen);
  if (bad) {
    fail(p, h, ctx, bad, UVWS_EREMOTE,
         bad == UVWS_CLOSE_INVALID_PAYLOAD ? "close reason is not UTF-8"
                                           : "invalid close frame");
    return 1;
  }
  p->done = 1;
  h->close(ctx, code, reason, rlen);
  return 1;
}

static int on_control_payload(uvws_proto_t *p, const uvws_proto_handler_t *h,
                              void *ctx, uvws_frame_event_t *ev) {
  if (ev->last && p->ctl_len == 0) return deliver_control(p, h, ctx, ev->data, ev->len);
  if (!p->ctl && !(p->ctl = malloc(125))) {
    fail(p, h, ctx, UVWS_CLOSE_INTERNAL, UVWS_ENOMEM, "out of memory");
    return 1;
  }
  memcpy(p->ctl + p->ctl_len, ev->data, ev->len);
  p->ctl_len = (uint8_t)(p->ctl_len + ev->len);
  if (!ev->last) return 0;
  int r = deliver_control(p, h, ctx, p->ctl, p->ctl_len);
  free(p->ctl);
  p->ctl = NULL;
  p->ctl_len = 0;
  return r;
}

static int finish_message(uvws_proto_t *p, const uvws_proto_handler_t *h,
                          void *ctx, uint8_t *data, size_t len) {
  int binary = p->msg_op == UVWS_OP_BINARY;
  if (p->compressed) {
    uint8_t *out;
    size_t out_len;
    int r = h->inflate ? h->inflate(ctx, data, len, p->max_payload, &out, &out_len) : UVWS_EREMOTE;
    if (r < 0) {
      if (r == UVWS_ETOOBIG)
        fail(p, h, ctx, UVWS_CLOSE_TOO_BIG, UVWS_ETOOBIG, "message exceeds max payload");
      else if (r == UVWS_ENOMEM)
        fail(p, h, ctx, UVWS_CLOSE_INTERNAL, UVWS_ENOMEM, "out of memory");
      else
        fail(p, h, ctx, UVWS_CLOSE_INVALID_PAYLOAD, UVWS_EREMOTE, "invalid compressed data");
      return 1;
    }
    p->compressed = 0;
    data = out;
    len = out_len;
    if (!binary) p->utf8 = uvws_utf8_feed(UVWS_UTF8_ACCEPT, data, len);
  }
  if (!binary && p->utf8 != UVWS_UTF8_ACCEPT) {
    fail(p, h, ctx, UVWS_CLOSE_INVALID_PAYLOAD, UVWS_EREMOTE, "text message is not UTF-8");
    return 1;
  }
  /* The buffer is detached before the handler runs: it may terminate the
   * connection, which frees the proto state. */
  uint8_t *owned = p->msg;
  size_t owned_cap = p->msg_cap;
  p->msg = NULL;
  p->msg_len = p->msg_cap = 0;
  p->msg_op = 0;
  p->frames = 0;
  int r = h->message(ctx, data, len, binary);
  if (owned && h->buf_give) h->buf_give(ctx, owned, owned_cap);
  else free(owned);
  return r;
}

static int on_data_payload(uvws_proto_t *p, const uvws_proto_handler_t *h,
                           void *ctx, uint8_t *data, size_t len, int last) {
  if (p->msg_op == UVWS_OP_TEXT && !p->compressed) {
    /* Fail fast: the first invalid byte fails the connection, without
     * waiting for the end of the frame or message. */
    p->utf8 = uvws_utf8_feed(p->utf8, data, len);
    if (p->utf8 == UVWS_UTF8_REJECT) {
      fail(p, h, ctx, UVWS_CLOSE_INVALID_PAYLOAD, UVWS_EREMOTE, "text message is not UTF-8");
      return 1;
    }
  }
  if (p->direct) {
    /* The parser hands a direct frame out in one piece. */
    return last ? finish_message(p, h, ctx, data, len) : 0;
  }
  if (len) {
    if (data != p->msg + p->msg_len) memcpy(p->msg + p->msg_len, data, len);
    p->msg_len += len;
  }
  if (last && p->fp.fin)
    return finish_message(p, h, ctx, p->msg ? p->msg : data, p->msg_len);
  return 0;
}

size_t uvws_proto_feed(uvws_proto_t *p, uint8_t *in, size_t len,
                       const uvws_proto_handler_t *h, void *ctx) {
  size_t pos = 0;
  uvws_frame_event_t ev;
  while (!p->done) {
    pos += uvws_frame_parse(&p->fp, in + pos, len - pos, &ev);
    switch (ev.type) {
      case UVWS_FRAME_NEED_MORE:
        return pos;
      case UVWS_FRAME_BAD_LENGTH:
        fail(p, h, ctx, UVWS_CLOSE_PROTOCOL_ERROR, UVWS_EREMOTE, "invalid frame length");
        return pos;
      case UVWS_FRAME_HEADER:
        if (check_header(p, h, ctx, len - pos) < 0) return pos;
        if (ev.last) {
          /* Empty payload: the frame is complete now. */
          int stop = p->fp.opcode >= 0x8
                         ? deliver_control(p, h, ctx, in + pos, 0)
                         : on_data_payload(p, h, ctx, in + pos, 0, 1);
          if (stop) return pos;
        }
        break;
      case UVWS_FRAME_PAYLOAD: {
        int stop = p->fp.opcode >= 0x8
                       ? on_control_payload(p, h, ctx, &ev)
                       : on_data_payload(p, h, ctx, ev.data, ev.len, ev.last);
        if (stop) return pos;
        break;
      }
    }
  }
  return pos;
}

size_t uvws_proto_read_target(const uvws_proto_t *p, uint8_t **buf) {
  const uvws_frame_parser_t *fp = &p->fp;
  if (p->done || !fp->in_payload || fp->opcode >= 0x8 || p->direct || !p->msg)
    return 0;
  *buf = p->msg + p->msg_len;
  return (size_t)fp->remaining;
}

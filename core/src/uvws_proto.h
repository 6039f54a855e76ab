/* The receive side of one WebSocket connection, without I/O: frames in,
 * whole messages, control frames and protocol failures out. It enforces the
 * RFC 6455 rules a receiver must check (masking, reserved bits and opcodes,
 * fragmentation order, control frame limits, UTF-8 of text, close payloads,
 * max payload) and reassembles fragmented messages. Byte-for-byte testable:
 * feed it any split of a stream and it behaves the same. */
#ifndef UVWS_PROTO_H
#define UVWS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "uvws_frame.h"

/* Handlers return 0 to go on and non-zero to stop: the connection is going
 * away and the rest of the input does not matter. Pointers are valid only
 * during the call; payloads may be modified by the handler. */
typedef struct uvws_proto_handler {
  int (*message)(void *ctx, uint8_t *data, size_t len, int binary);
  int (*ping)(void *ctx, uint8_t *data, size_t len);
  int (*pong)(void *ctx, uint8_t *data, size_t len);
  /* A valid close frame (code 1005 when it had none). No more events. */
  int (*close)(void *ctx, int code, const uint8_t *reason, size_t len);
  /* The peer broke the protocol: fail the connection with `close_code`.
   * `err` is UVWS_EREMOTE, UVWS_ETOOBIG or UVWS_ENOMEM. No more events. */
  void (*fail)(void *ctx, int close_code, int err, const char *why);
  /* Decompress a whole message that came with RSV1 (permessage-deflate);
   * NULL when no extension is in use. Returns 0 with *out / *out_len set,
   * or UVWS_ETOOBIG (output over `max`), UVWS_EREMOTE, UVWS_ENOMEM. */
  int (*inflate)(void *ctx, const uint8_t *in, size_t len, size_t max,
                 uint8_t **out, size_t *out_len);
  /* Optional (NULL = malloc/free): where a message's reassembly buffer
   * comes from and goes back to. `buf_take` returns a malloc'd block of at
   * least `need` bytes with its size in *cap, or NULL (then realloc is
   * used); `buf_give` gets the buffer (malloc'd, `cap` bytes) once the
   * message was delivered and must free or keep it. Lets a loop reuse one
   * buffer for message after message instead of malloc and free around
   * each, which with glibc can trim and regrow the heap's top (page faults
   * per message). */
  uint8_t *(*buf_take)(void *ctx, size_t need, size_t *cap);
  void (*buf_give)(void *ctx, uint8_t *buf, size_t cap);
} uvws_proto_handler_t;

typedef struct uvws_proto {
  uvws_frame_parser_t fp;
  uint8_t *msg;          /* reassembly buffer; NULL when not needed */
  size_t msg_len, msg_cap;
  uint8_t *ctl;          /* a control payload split across reads */
  size_t max_payload;    /* 0 = no limit */
  uint32_t utf8;         /* validator state of the text message */
  unsigned frames;       /* frames of the message in progress */
  unsigned max_fragments;
  uint8_t ctl_len;
  uint8_t msg_op;        /* opcode of the message in progress, 0 = none */
  uint8_t expect_masked; /* 1 on a server, 0 on a client */
  uint8_t direct;        /* this frame is delivered straight from input */
  uint8_t done;          /* closed or failed: input is ignored */
  uint8_t rsv_allowed;   /* RSV bits an extension gave meaning (0x4) */
  uint8_t compressed;    /* the message in progress had RSV1 */
} uvws_proto_t;

void uvws_proto_init(uvws_proto_t *p, int is_server, size_t max_payload,
                     unsigned max_fragments);
void uvws_proto_free(uvws_proto_t *p);

/* Process input. Returns the bytes consumed: all of them, unless a handler
 * asked to stop. The input is modified (unmasked in place). */
size_t uvws_proto_feed(uvws_proto_t *p, uint8_t *in, size_t len,
                       const uvws_proto_handler_t *h, void *ctx);

/* Where the next bytes of a large frame being reassembled should be read
 * to, so that they land in the message buffer without a copy: sets *buf and
 * returns how many bytes belong there, or returns 0 when there is no such
 * place (then use any buffer). */
size_t uvws_proto_read_target(const uvws_proto_t *p, uint8_t **buf);

#endif

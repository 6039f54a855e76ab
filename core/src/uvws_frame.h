/* Frame parser and header writer (RFC 6455 section 5.2). Sans-I/O: bytes in,
 * frame headers and unmasked payload pieces out. The parser accepts any split
 * of the input and never allocates; payload is unmasked in place and handed
 * back as pointers into the caller's buffer. */
#ifndef UVWS_FRAME_H
#define UVWS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum {
  UVWS_OP_CONT = 0x0,
  UVWS_OP_TEXT = 0x1,
  UVWS_OP_BINARY = 0x2,
  UVWS_OP_CLOSE = 0x8,
  UVWS_OP_PING = 0x9,
  UVWS_OP_PONG = 0xA
};

#define UVWS_FRAME_MAX_HEADER 14

typedef struct uvws_frame_parser {
  uint64_t length;    /* payload length of the current frame */
  uint64_t remaining; /* payload bytes of it not yet returned */
  uint8_t hdr[UVWS_FRAME_MAX_HEADER];
  uint8_t hdr_len;    /* header bytes collected so far */
  uint8_t in_payload; /* 1 between the header and the end of the payload */
  uint8_t mask_pos;   /* key position of the next payload byte */
  uint8_t opcode;
  uint8_t fin;
  uint8_t rsv;        /* RSV1-3 as bits 2..0 (0x4 = RSV1) */
  uint8_t masked;
  uint8_t key[4];
} uvws_frame_parser_t;

typedef enum {
  UVWS_FRAME_NEED_MORE = 0, /* all input consumed, nothing to report */
  UVWS_FRAME_HEADER,        /* a header is complete: see the parser fields */
  UVWS_FRAME_PAYLOAD,       /* a piece of payload (data, len), unmasked */
  UVWS_FRAME_BAD_LENGTH     /* 64-bit length with the top bit set */
} uvws_frame_event_type_t;

typedef struct uvws_frame_event {
  uvws_frame_event_type_t type;
  uint8_t *data;  /* PAYLOAD: points into the input */
  size_t len;
  int last;       /* HEADER or PAYLOAD: the frame ends here */
} uvws_frame_event_t;

void uvws_frame_parser_init(uvws_frame_parser_t *fp);

/* Consume input until one event is ready; returns the bytes consumed. Call
 * again with the rest of the input until it returns NEED_MORE. A HEADER with
 * length 0 has last = 1 and no PAYLOAD event follows. */
size_t uvws_frame_parse(uvws_frame_parser_t *fp, uint8_t *in, size_t len,
                        uvws_frame_event_t *ev);

/* Write a frame header for `len` payload bytes; returns its size (2-14).
 * `key` = NULL for an unmasked (server) frame. */
size_t uvws_frame_header(uint8_t out[UVWS_FRAME_MAX_HEADER], unsigned opcode,
                         int fin, unsigned rsv, uint64_t len,
                         const uint8_t *key);

#endif

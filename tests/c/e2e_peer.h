/* A hand-driven server peer for the client tests: it listens on TCP or a
 * Unix socket, records every byte and the peer's FIN, and lets the test
 * answer as it likes (a 101, a redirect, a 503, a close frame, silence) and
 * choose when to close. Frames it sends are unmasked (server side). */
#ifndef UVWS_E2E_PEER_H
#define UVWS_E2E_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct e2e_srv e2e_srv_t;

typedef struct e2e_pconn {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_stream_t stream;
  } h;
  e2e_srv_t *srv;
  struct e2e_pconn *next;
  uint8_t *in;        /* everything received */
  size_t in_len, in_cap;
  size_t used;        /* what the test has consumed of `in` */
  int index;          /* 0 for the first connection accepted */
  int eof;            /* the client sent FIN (or reset) */
  int closed;         /* we closed it */
  int eof_before_close; /* the FIN arrived while we still had it open */
  void *data;
} e2e_pconn_t;

struct e2e_srv {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } h;
  uv_loop_t *loop;
  int is_pipe;
  int port;                      /* TCP: the port bound */
  int accepted;                  /* connections so far */
  e2e_pconn_t *conns;
  void (*on_accept)(e2e_pconn_t *c);
  void (*on_data)(e2e_pconn_t *c); /* new bytes in c->in */
  void (*on_eof)(e2e_pconn_t *c);
  void *data;
};

/* Listen on ip:0 (TCP). Returns 0 or a UV_E* code. */
int e2e_srv_tcp(uv_loop_t *loop, e2e_srv_t *s, const char *ip);
/* Listen on a Unix socket path. */
int e2e_srv_pipe(uv_loop_t *loop, e2e_srv_t *s, const char *path);
/* Close the listener and every connection still open. */
void e2e_srv_close(e2e_srv_t *s);

void e2e_pconn_write(e2e_pconn_t *c, const void *data, size_t len);
void e2e_pconn_close(e2e_pconn_t *c);

/* Once a whole request head is in c->in (from c->used): copies it
 * NUL-terminated into head (truncated to cap - 1), moves c->used past it and
 * returns its length; 0 while incomplete. */
size_t e2e_pconn_take_request(e2e_pconn_t *c, char *head, size_t cap);
/* The value of header `name` (case-insensitive) in a NUL-terminated head,
 * copied into out; 1 if found, else 0 and out is "". */
int e2e_head_header(const char *head, const char *name, char *out, size_t cap);
/* Answer 101 to the upgrade request `head` (its Sec-WebSocket-Key). */
void e2e_pconn_accept(e2e_pconn_t *c, const char *head);
/* Parse one masked client frame at c->used: returns 1 and moves c->used past
 * it (payload unmasked into out, at most cap bytes), 0 if incomplete. */
int e2e_pconn_take_frame(e2e_pconn_t *c, int *opcode, uint8_t *out, size_t cap,
                         size_t *len);

#endif

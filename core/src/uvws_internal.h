/* Transport layer internals: the structures behind the opaque handles and
 * the functions the transport files share. Nothing here is public API. */
#ifndef UVWS_INTERNAL_H
#define UVWS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "uvws.h"
#include "uvws_http.h"
#include "uvws_pool.h"
#include "uvws_deflate.h"
#include "uvws_error.h"
#include "uvws_handshake.h"
#include "uvws_proto.h"
#include "uvws_tls.h"
#include "uvws_topic.h"
#include "uvws_url.h"

#define UVWS_READ_BUF_SIZE (256 * 1024)
#define UVWS_CORK_SIZE (16 * 1024)
#define UVWS_TLS_IN_SIZE (64 * 1024)
#define UVWS_TICK_MS 200
/* Frames with at least this much payload still to come are read straight
 * into the message buffer instead of the shared read buffer. */
#define UVWS_DIRECT_READ_MIN (16 * 1024)

/* One per uv_loop_t in use: the memory every connection of that loop can
 * share because a loop runs one callback at a time. */
typedef struct uvws_loopctx {
  uv_loop_t *loop;
  struct uvws_loopctx *next; /* registry */
  unsigned refs;
  uv_prepare_t prepare;      /* uncork before the loop blocks */
  uv_check_t check;          /* uncork right after I/O callbacks */
  uv_timer_t tick;           /* timeouts of every connection */
  uint8_t *rbuf;             /* shared receive buffer */
  uint8_t *tls_in;           /* ciphertext received (TLS connections) */
  uint8_t *tls_out;          /* ciphertext to send, shared (uvws_tls.c) */
  size_t tls_out_len, tls_out_cap;
  uint8_t *cork;             /* small sends of one connection, batched */
  size_t cork_len;
  uvws_t *cork_owner;
  uvws_t *clients;           /* client connections (list) */
  uvws_server_t *servers;    /* servers (list) */
  uint32_t now;              /* ms, updated each tick */
  unsigned rand_pos;
  uint8_t rand[256];         /* masking keys come from here */
  uvws_pmd_shared_t *pmd;     /* zlib streams shared by connections */
  size_t live;                /* connections alive: the tick keeps the
                                 loop running while there are any */
  int handles_open;
  void (*released_cb)(void *arg);
  void *released_arg;
  uvws_pool_t conns;          /* server connections' uvws_t (uvws_pool.h:
                                 dense, apart from handshake garbage) */
  uint8_t *msg_spare;         /* a reassembly buffer between messages */
  size_t msg_spare_cap;       /* (conn.c h_buf_take / h_buf_give) */
  uvws_pool_t rxs;            /* uvws_proto_t of frames split across reads
                                 (conn.c rx_feed): taken and given back
                                 once per large message, off malloc's heap */
  uvws_t **kick;              /* connections with published frames queued
                                 this turn, written at its end (pubsub.c) */
  size_t kick_len, kick_cap;
} uvws_loopctx_t;

uvws_loopctx_t *uvws__loopctx_get(uv_loop_t *loop);
/* Drop a reference; `cb(arg)` runs once the context no longer needs the loop
 * (at once if others still use it). */
void uvws__loopctx_put(uvws_loopctx_t *lc, void (*cb)(void *arg), void *arg);
void uvws__mask_key(uvws_loopctx_t *lc, uint8_t key[4]);
uint32_t uvws__now(uvws_loopctx_t *lc);

/* A chunk of the send queue: either bytes copied into `buf`, or a caller's
 * buffer referenced until written (release != NULL). */
typedef struct uvws_chunk {
  struct uvws_chunk *next;
  const uint8_t *data;
  size_t len;
  void (*release)(const void *data, void *arg);
  void *release_arg;
  const void *orig;
  size_t cap;                /* bytes buf[] holds; appendable while no write
                                includes the chunk (0 once one does) */
  uint8_t buf[];
} uvws_chunk_t;

#define UVWS_MAX_WRITE_BUFS 32

typedef struct uvws_outq {
  uvws_chunk_t *head, *tail;
  size_t bytes;              /* queued, including what is being written */
  unsigned inflight;         /* chunks in the write in progress */
  int writing;
  uv_write_t req;
  uv_buf_t bufs[UVWS_MAX_WRITE_BUFS];
} uvws_outq_t;

enum {
  F_EXPOSED = 1 << 0,      /* the user has the handle: on_close is owed */
  F_CLIENT = 1 << 1,
  F_PAUSED = 1 << 2,       /* the user paused reading */
  F_CLOSE_SENT = 1 << 3,
  F_CLOSE_RCVD = 1 << 4,
  F_SHUTDOWN = 1 << 5,     /* shut down the write side once flushed */
  F_SHUTDOWN_DONE = 1 << 6,
  F_NEED_DRAIN = 1 << 7,
  F_PING_OUT = 1 << 8,     /* an automatic ping awaits any answer */
  F_HANDLE_CLOSING = 1 << 9,
  F_READING = 1 << 10,
  F_DECIDING = 1 << 11,    /* server: the upgrade hook has not decided */
  F_RECONNECT = 1 << 12,   /* client: handle closed to try the next address */
  F_FAILED = 1 << 13,
  F_HANDSHAKING = 1 << 14, /* server: counted in num_handshaking */
  F_KICK = 1 << 15 /* in lc->kick; keep below 1 << 16: flags is 16 bits */
};

/* What connections of one server (or one client connection) share. */
typedef struct uvws_conf {
  uvws_callbacks_t cb;
  uvws_limits_t limits;
  uvws_deflate_options_t deflate;
  int deflate_on;                /* permessage-deflate offered/accepted */
  uvws_stats_t stats;            /* counters of these connections */
} uvws_conf_t;

/* Count an event in the connection's counters. */
#define UVWS__STAT(ws, field, n) ((ws)->conf->stats.field += (n))

/* State most connections never need: kept out of uvws_s so that an idle
 * connection stays small. */
typedef struct uvws_aux {
  char *protocol;                /* negotiated subprotocol */
  char *close_reason;            /* peer's close reason */
  const char *err_static;        /* error to report before on_close */
  char *err_msg;                 /* same, when formatted */
  uvws_pmd_t *pmd;               /* permessage-deflate, when negotiated */
  uvws_subs_t *subs;             /* topics it subscribed to (pubsub.c) */
  /* The one pong owed while the send queue is not draining: length byte,
   * then up to 125 bytes of the latest ping's payload (NULL = none owed;
   * allocated the first time a ping finds the queue full). */
  uint8_t *pong;
  int pong_owed;
  int err;
  uint16_t close_reason_len;
  /* Pings sent and not yet answered, oldest first (latency.c). */
  struct uvws_ping_wait *pings;
  unsigned num_pings;
  uint64_t latency_us;           /* last round trip measured, 0 = none */
} uvws_aux_t;

/* Field by field, what an idle connection pays for (x86-64): libuv's handle
 * (248 bytes), the loop's context, the shared configuration, the server's
 * list links, last activity and deadline, flags and small state: 320
 * bytes. Rarely needed state hangs off pointers that are NULL when idle
 * (rx, outq, hs, tls, aux). Not stored: the user's pointer (tcp.data, which
 * libuv leaves to its user), the server (it owns `conf`: uvws__conn_server),
 * the receive state (rx). */
struct uvws_s {
  /* The socket: TCP, or a Unix domain socket (tcp.type == UV_NAMED_PIPE;
   * both start with the same uv_stream_t, so stream code uses &ws->tcp).
   * First: a uv_handle_t * to it is the uvws_t *; tcp.data is the user's
   * data. */
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  };
  uvws_loopctx_t *lc;
  uvws_conf_t *conf;             /* callbacks, limits, counters (shared);
                                    a server's own for its connections */
  uvws_t *prev, *next;           /* server's or loop's client list */
  /* Receive state, only while a frame, a control payload or a message is
   * split across reads (NULL otherwise: an idle connection sits between
   * frames, and a fresh uvws_proto_t on the stack parses each read that
   * starts there; conn.c rx_feed). Saves 104 of 456 bytes per connection. */
  uvws_proto_t *rx;
  uvws_outq_t *outq;             /* NULL when nothing is queued */
  void *hs;                      /* handshake state while connecting */
  uvws_tls_t *tls;               /* NULL for ws:// */
  uvws_aux_t *aux;               /* rarely needed state, NULL until then */
  uint32_t last_rx;              /* ms of the last byte received */
  uint32_t stamp;                /* ms: connect / close / ping start */
  uint16_t flags;                /* F_* (they fit in 16 bits) */
  uint16_t close_code;           /* code reported to on_close */
  uint8_t state;
  uint8_t tx_op;                 /* opcode of a fragmented send, 0 = none */
  uint8_t pending_reqs;          /* requests that outlive the handle */
  uint8_t rx_done;               /* closed or failed: input is ignored (the
                                    proto's `done`, kept while rx is NULL) */
#ifdef UVWS_DEBUG
  uint32_t magic;                /* UVWS__LIVE until on_close has returned */
#endif
};

/* Size of the fixed part of a connection (struct uvws_s, x86-64 Linux):
 * 456 bytes before the receive state moved out (uv_tcp_t alone is 248),
 * 352 after, 336 without `data` and `server`. */

/* Whether the connection ignores further input (closed, failed, or no
 * longer speaking WebSocket). */
static inline int uvws__rx_done(const uvws_t *ws) {
  return ws->rx ? ws->rx->done : ws->rx_done;
}

/* Use-after-on_close detection (debug builds): each public function that
 * takes a uvws_t checks it first, naming itself in the abort message. Freed
 * handles are kept poisoned in a quarantine (loopctx.c) so that the check
 * reads memory that is still ours. */
#ifdef UVWS_DEBUG
#define UVWS__LIVE 0x57534c56u /* "VLSW" */
#define UVWS__DEAD 0xdeadc105u
void uvws__check_handle(const uvws_t *ws, const char *fn);
void uvws__quarantine(uvws_loopctx_t *lc, uvws_t *ws);
#define UVWS__CHECK(ws) uvws__check_handle((ws), __func__)
#else
#define UVWS__CHECK(ws) ((void)0)
#endif

/* --- error.c: uvws_error.h --- */

/* --- conn.c --- */
/* Turn on permessage-deflate for `ws` with the negotiated parameters. */
int uvws__conn_use_deflate(uvws_t *ws, const uvws_pmd_params_t *params,
                           const char *extensions);
/* `kind`: UVWS__CONN_CLIENT for a client (else a server connection), or'ed
 * with UVWS__CONN_PIPE for a Unix domain socket. */
enum { UVWS__CONN_CLIENT = 1, UVWS__CONN_PIPE = 2 };
void uvws__conn_init(uvws_t *ws, uvws_loopctx_t *lc, int kind,
                     uvws_conf_t *conf);
/* Non-zero when `ws` is on a Unix domain socket. */
#define UVWS__IS_PIPE(ws) ((ws)->tcp.type == UV_NAMED_PIPE)
/* The connection's uvws_aux_t, allocated on first use (NULL if out of
 * memory). */
uvws_aux_t *uvws__aux(uvws_t *ws);
/* Close the socket now (no handshake) and report `err` if non-zero. */
void uvws__conn_abort(uvws_t *ws, int err, const char *msg);
/* Close the handle only to open it again (client: next address). */
void uvws__close_for_reconnect(uvws_t *ws);
/* A request that outlived the handle finished (pending_reqs). */
void uvws__conn_release_req(uvws_t *ws);
/* Write to the socket as far as it takes it, queue the rest (ciphertext
 * on a TLS connection). The last buffer may be owned (release). */
int uvws__sock_write(uvws_t *ws, uv_buf_t *bufs, unsigned n,
                     void (*release)(const void *, void *), void *arg,
                     const void *orig);
/* Plaintext received (after TLS, if any). */
void uvws__on_plain(uvws_t *ws, uint8_t *data, size_t len);
/* The peer finished sending (FIN, or TLS close_notify). */
void uvws__on_eof(uvws_t *ws);
/* Write bytes outside of frames (handshake); copied if not written at once. */
int uvws__write_raw(uvws_t *ws, const void *data, size_t len);
/* Flush, shut down the write side, and close when the peer has finished. */
void uvws__shutdown(uvws_t *ws);
void uvws__uncork(uvws_loopctx_t *lc);
void uvws__start_reading(uvws_t *ws);
void uvws__stop_reading(uvws_t *ws);
/* The connection is open: feed the bytes that came with the handshake. */
void uvws__conn_opened(uvws_t *ws, const uint8_t *extra, size_t extra_len);
/* Deadline checks, run by the tick timer (each phase's deadline is in
 * ws->stamp, set when the phase starts). */
void uvws__conn_tick(uvws_t *ws, uint32_t now);
void uvws__set_error(uvws_t *ws, int err, const char *msg, int copy);
void uvws__alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
/* Stop reading frames: whatever follows is not for the proto. */
void uvws__rx_stop(uvws_t *ws);
/* uvws_proto_read_target() of the frame in progress, 0 if none. */
size_t uvws__rx_target(const uvws_t *ws, uint8_t **buf);
/* Send a frame whose header is already built (broadcast). */
int uvws__send_frame(uvws_t *ws, const uint8_t *hdr, size_t hlen,
                     const void *data, size_t len,
                     void (*release)(const void *, void *), void *arg);
/* For the fan-out (pubsub.c): uvws_send()'s whole-message path; the
 * max_backpressure decision (0, UVWS_SEND_DROPPED, or UVWS_EBACKPRESSURE
 * with the connection closed); append a frame to the send queue without
 * writing yet, copied (batched with the queue's open tail chunk) or by
 * reference; write what is queued. */
int uvws__send_message(uvws_t *ws, const void *data, size_t len, int flags);
int uvws__backpressure(uvws_t *ws);
int uvws__queue_copy(uvws_t *ws, const uint8_t *hdr, size_t hlen,
                     const void *data, size_t len);
int uvws__queue_ref(uvws_t *ws, const uint8_t *data, size_t len,
                    void (*release)(const void *, void *), void *arg);
void uvws__queue_kick(uvws_t *ws);
/* Write the queue now as far as the socket takes it (uv_try_write), the
 * rest through uvws__queue_kick. May run on_drain. */
void uvws__queue_flush(uvws_t *ws);

/* --- pubsub.c --- */
/* Write the queues of the connections published to this turn. */
void uvws__fanout_flush(uvws_loopctx_t *lc);
/* `ws` is closing: take it off lc->kick. */
void uvws__fanout_forget(uvws_t *ws);
/* `ws` is going: unsubscribe it from everything (on_subscription). */
void uvws__pubsub_conn_gone(uvws_t *ws);
void uvws__pubsub_free(uvws_server_t *s);
/* Bytes the server's topic registry holds (tests report it). */
size_t uvws__pubsub_memory(const uvws_server_t *s);

/* --- server.c --- */
struct uvws_server_s {
  union {
    uv_tcp_t listener;
    uv_pipe_t listener_pipe;     /* unix_path servers */
  };
  uvws_loopctx_t *lc;
  uvws_server_options_t opts;
  char *path;                    /* copy of opts.path */
  uvws_conf_t conf;              /* callbacks and limits of its connections */
  uvws_upgrade_cb upgrade_cb;
  void *data;
  uvws_server_t *prev, *next;    /* loop's server list */
  uvws_t *conns;                 /* every connection, any state */
  uvws_tls_ctx_t *tls;           /* NULL for ws:// */
  struct uvws_pubsub *ps;        /* topics, NULL until first used */
  size_t num_conns, num_open;
  size_t num_handshaking;        /* F_HANDSHAKING connections */
  void (*close_cb)(uvws_server_t *);
  int closing;
  int listener_closed;
  int port;
};

/* The server a connection belongs to, NULL on a client. */
static inline uvws_server_t *uvws__conn_server(const uvws_t *ws) {
  if (ws->flags & F_CLIENT) return NULL;
  return (uvws_server_t *)(void *)((char *)ws->conf - offsetof(uvws_server_t, conf));
}

void uvws__server_on_read(uvws_t *ws, const uint8_t *data, size_t len);
void uvws__server_conn_gone(uvws_t *ws);
void uvws__server_tick(uvws_server_t *s, uint32_t now);

/* --- unix.c: Unix domain sockets --- */
/* Non-zero if `path` fits a sockaddr_un (libuv would truncate it). */
int uvws__unix_path_ok(const char *path);
/* Bind `listener` to `path`, replacing a stale socket file nobody listens
 * on; chmod it to `mode` unless 0. */
int uvws__unix_bind(uv_pipe_t *listener, const char *path, unsigned mode);
/* The peer of a connection on a Unix socket, as a sockaddr_un. */
int uvws__pipe_peer(const uvws_t *ws, struct sockaddr_storage *addr);

/* --- latency.c: round trips of pings --- */
/* A ping went out (auto or user); `cb` (may be NULL) waits for its pong. */
int uvws__ping_sent(uvws_t *ws, const void *data, size_t len, uvws_pong_cb cb, void *arg);
/* A pong arrived: it answers the oldest ping with the same payload and
 * every ping before it (a peer may answer only the latest of several). */
void uvws__pong_rcvd(uvws_t *ws, const uint8_t *data, size_t len);
/* The connection is gone: unanswered pings' callbacks get UVWS_ECLOSED. */
void uvws__pings_cancel(uvws_t *ws);

/* --- copts.c --- */
/* Deep copy of client options into *dst; the memory (*mem) is freed with
 * uvws__copts_free(). */
int uvws__copts_copy(uvws_client_options_t *dst, const uvws_client_options_t *src,
                     void **mem);
void uvws__copts_free(void *mem);

/* --- dialer.c --- */
/* uvws_connect() for a dialer: the connection remembers it. */
int uvws__client_connect(uv_loop_t *loop, const char *url,
                         const uvws_client_options_t *opts,
                         const uvws_callbacks_t *callbacks, void *data,
                         uvws_dialer_t *dialer, uvws_t **out);
/* 1 if the TLS peer's certificate failed verification. */
int uvws__tls_verify_failed(const uvws_t *ws);

/* --- client.c --- */
void uvws__client_on_read(uvws_t *ws, const uint8_t *data, size_t len);
void uvws__client_conn_gone(uvws_t *ws);
/* TLS handshake done: send the upgrade request. */
void uvws__client_tls_ready(uvws_t *ws);
/* The peer closed while connecting (reported when it was the proxy). */
void uvws__client_eof(uvws_t *ws);
/* What a connect timeout is reported as (waiting for a proxy, or not). */
const char *uvws__client_timeout_msg(const uvws_t *ws);
/* Returns 1 if the handle was closed only to reconnect. */
int uvws__client_on_handle_closed(uvws_t *ws);

#endif

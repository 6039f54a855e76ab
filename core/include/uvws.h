/*
 * uvws: a WebSocket (RFC 6455) server and client on libuv.
 *
 * Threading: every function must be called on the thread that runs the
 * uv_loop_t the handle belongs to, except uvws_strerror() and
 * uvws_version(), which may be called from anywhere.
 *
 * Lifetimes:
 *   - uvws_server_t lives from uvws_server_start() until the callback given
 *     to uvws_server_close() has run.
 *   - uvws_t (one WebSocket connection, server or client side) lives from
 *     the moment it is handed to you (on_open on the server, uvws_connect()
 *     on the client) until on_close has returned. on_close is always the
 *     last callback and is always called exactly once for a connection you
 *     were handed. After it returns the pointer is invalid: passing it to
 *     any uvws_* function is undefined behaviour (the memory may already
 *     belong to another connection). Drop your copies in on_close. Debug
 *     builds of the library (CMake's Debug configuration, which defines
 *     UVWS_DEBUG) keep freed handles poisoned for a while and abort with a
 *     message naming the function when one is used after its on_close.
 *   - Pointers passed to callbacks (data, reason, uvws_http_t) are valid only
 *     during the callback; copy what you need.
 *   - Option structs (server, client, TLS, deflate, header and protocol
 *     arrays) are read or copied during the call that takes them: they may
 *     be freed when it returns. TLS files are loaded then, too.
 *   - A connection keeps the loop alive until its on_close, even while
 *     paused.
 *
 * Signals: the first server or client created sets SIGPIPE to SIG_IGN if it
 * still has its default action (which would kill the process when a peer
 * resets a connection mid-write); writes then fail with UV_EPIPE instead.
 *
 * Errors: functions return 0 (or a non-negative count/status) on success and
 * a negative error code on failure. System errors are libuv's UV_E* codes;
 * the engine's own codes are UVWS_E* below. uvws_strerror() names both.
 */
#ifndef UVWS_H
#define UVWS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(UVWS_SHARED)
#define UVWS_EXTERN __declspec(dllexport)
#elif __GNUC__ >= 4
#define UVWS_EXTERN __attribute__((visibility("default")))
#else
#define UVWS_EXTERN
#endif

#define UVWS_VERSION_MAJOR 0
#define UVWS_VERSION_MINOR 1
#define UVWS_VERSION_PATCH 0

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* The engine's own error codes; libuv's UV_E* (all > -4096) pass through. */
#define UVWS_ERRNO_MAP(XX)                                                    \
  XX(EINVAL, -30001, "invalid argument")                                      \
  XX(ECLOSED, -30002, "connection is closing or closed")                      \
  XX(EURL, -30003, "invalid WebSocket URL")                                   \
  XX(EHANDSHAKE, -30004, "invalid WebSocket handshake")                       \
  XX(ESTATUS, -30005, "server answered the upgrade with a non-101 status")    \
  XX(EACCEPT, -30006, "Sec-WebSocket-Accept does not match the key")          \
  XX(EPROTOCOL, -30007, "subprotocol not offered by the client")              \
  XX(ETIMEDOUT, -30008, "timed out")                                          \
  XX(ETOOBIG, -30009, "message exceeds max payload")                          \
  XX(EBACKPRESSURE, -30010, "max backpressure reached")                       \
  XX(ENOMEM, -30011, "out of memory")                                         \
  XX(ETLS, -30012, "TLS error")                                               \
  XX(ENOTSUP, -30013, "not supported")                                        \
  XX(EREMOTE, -30014, "peer violated the WebSocket protocol")                 \
  XX(EEXTENSION, -30015, "invalid or unexpected extension negotiation")      \
  XX(ENOTOPEN, -30016, "connection is not open yet")                         \
  XX(ELIMIT, -30017, "topic limit exceeded (length, levels or count)")      \
  XX(EREDIRECT, -30018, "redirect refused (too many, a loop, a bad Location, " \
                        "or wss:// to ws://)")                                \
  XX(EPROXY, -30019, "the proxy refused or failed to open the tunnel")

enum uvws_errno {
#define UVWS__ERR(name, val, msg) UVWS_##name = (val),
  UVWS_ERRNO_MAP(UVWS__ERR)
#undef UVWS__ERR
};

/* A static string naming `err` (UVWS_E* or UV_E*). Never NULL. */
UVWS_EXTERN const char *uvws_strerror(int err);

/* Details of the last synchronous failure of uvws_server_start(),
 * uvws_connect(), uvws_upgrade_accept() or uvws_upgrade_reject() on this
 * thread (e.g. which TLS file could not be loaded and OpenSSL's reason, or
 * which header was refused), or "". Each of those calls clears it first. */
UVWS_EXTERN const char *uvws_last_error(void);

/* "major.minor.patch" of the linked library. */
UVWS_EXTERN const char *uvws_version(void);

/* ------------------------------------------------------------------ */
/* Handles and constants                                               */
/* ------------------------------------------------------------------ */

typedef struct uvws_s uvws_t;               /* one WebSocket connection */
typedef struct uvws_server_s uvws_server_t; /* a listening server */
typedef struct uvws_upgrade_s uvws_upgrade_t; /* a pending upgrade decision */

/* Message types and send flags (uvws_send()). */
enum {
  UVWS_TEXT = 0x1,
  UVWS_BINARY = 0x2,
  /* More fragments follow: the message stays open and the next send
   * continues it (its type is ignored until a send without UVWS_MORE). */
  UVWS_MORE = 0x100,
  /* Send this message uncompressed even if permessage-deflate is on (as
   * ws's `compress: false`). */
  UVWS_NO_COMPRESS = 0x200
};

/* uvws_send() results (non-negative; errors are negative). */
enum {
  UVWS_SEND_OK = 0,      /* written to the socket or corked for this turn */
  UVWS_SEND_QUEUED = 1,  /* accepted but buffered: wait for on_drain */
  UVWS_SEND_DROPPED = 2  /* not sent: max_backpressure is reached */
};

/* ready state, as in the browser API and ws. */
enum {
  UVWS_CONNECTING = 0,
  UVWS_OPEN = 1,
  UVWS_CLOSING = 2,
  UVWS_CLOSED = 3
};

/* Close codes the engine itself uses (RFC 6455 section 7.4.1). */
enum {
  UVWS_CLOSE_NORMAL = 1000,
  UVWS_CLOSE_GOING_AWAY = 1001,
  UVWS_CLOSE_PROTOCOL_ERROR = 1002,
  UVWS_CLOSE_UNSUPPORTED = 1003,
  UVWS_CLOSE_NO_STATUS = 1005, /* reported, never sent */
  UVWS_CLOSE_ABNORMAL = 1006,  /* reported, never sent */
  UVWS_CLOSE_INVALID_PAYLOAD = 1007,
  UVWS_CLOSE_POLICY = 1008,
  UVWS_CLOSE_TOO_BIG = 1009,
  UVWS_CLOSE_EXTENSION = 1010,
  UVWS_CLOSE_INTERNAL = 1011
};

/* ------------------------------------------------------------------ */
/* HTTP view of the upgrade request or response                        */
/* ------------------------------------------------------------------ */

typedef struct uvws_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} uvws_header_t;

/* The upgrade request (server side) or the server's response (client side).
 * Strings are not NUL-terminated unless stated. */
typedef struct uvws_http {
  int status;              /* response status; 0 for a request */
  const char *path;        /* request path without the query */
  size_t path_len;
  const char *query;       /* after '?', without it; NULL if none */
  size_t query_len;
  const uvws_header_t *headers;
  size_t num_headers;
  const struct sockaddr *remote_addr; /* peer address (request only) */
  const char *remote_ip;   /* peer address as a NUL-terminated string */
  int remote_port;
} uvws_http_t;

/* Case-insensitive header lookup: the first header called `name`, or NULL.
 * The value is stored in *len. */
UVWS_EXTERN const char *uvws_http_header(const uvws_http_t *http,
                                         const char *name, size_t *len);

/* ------------------------------------------------------------------ */
/* Callbacks                                                           */
/* ------------------------------------------------------------------ */

/* Every callback is optional (NULL). `ws` user data: uvws_get_data(). */
typedef struct uvws_callbacks {
  /* The connection is open. Server: `http` is the upgrade request.
   * Client: `http` is the server's 101 response. */
  void (*on_open)(uvws_t *ws, const uvws_http_t *http);
  /* A whole message, reassembled from its fragments; text is valid UTF-8. */
  void (*on_message)(uvws_t *ws, const char *data, size_t len, int is_binary);
  /* A ping arrived; the engine has already answered it with a pong. */
  void (*on_ping)(uvws_t *ws, const char *data, size_t len);
  void (*on_pong)(uvws_t *ws, const char *data, size_t len);
  /* The send queue became empty after a send returned UVWS_SEND_QUEUED. */
  void (*on_drain)(uvws_t *ws);
  /* Something went wrong: a protocol violation by the peer, a handshake
   * failure, a socket error, a timeout. on_close follows. `msg` is a
   * human-readable description (NUL-terminated). */
  void (*on_error)(uvws_t *ws, int err, const char *msg);
  /* Client only: the server's HTTP response to the upgrade, called before
   * it is validated (so for a 101 and for an unexpected response alike). */
  void (*on_response)(uvws_t *ws, const uvws_http_t *response);
  /* The connection is gone. `code` is the peer's close code, or 1005 when
   * its close frame had none, or 1006 when there was no closing handshake,
   * or the code we failed the connection with when the peer broke the
   * protocol (1002, 1007, 1009, ...; on_error came first). Always the last
   * callback. */
  void (*on_close)(uvws_t *ws, int code, const char *reason, size_t len);
  /* Client only, with max_redirects: the server answered `status` (301,
   * 302, 303, 307, 308) and the client now follows it to `url` (absolute,
   * NUL-terminated), on the same uvws_t. uvws_terminate() here stops it. */
  void (*on_redirect)(uvws_t *ws, int status, const char *url);
} uvws_callbacks_t;

/* ------------------------------------------------------------------ */
/* Limits and timeouts shared by servers and clients                   */
/* ------------------------------------------------------------------ */

typedef struct uvws_limits {
  size_t max_payload;        /* max message size; larger -> close 1009.
                                default 100 MiB (as ws) */
  unsigned max_fragments;    /* max frames per message; more -> close 1009.
                                default 16384 (as ws); 0 = no limit */
  size_t max_backpressure;   /* a send finding this many bytes already
                                buffered is dropped (or closes, below), so
                                a connection buffers at most this plus one
                                message; default 16 MiB; 0 = no limit */
  int close_on_backpressure; /* when a send finds max_backpressure reached:
                                0 = drop it (UVWS_SEND_DROPPED), 1 = close
                                the connection with 1008. default 0 */
  unsigned idle_timeout_ms;  /* close after this long without any frame
                                received; 0 = off (default) */
  unsigned ping_interval_ms; /* send a ping after this long without
                                traffic from the peer; 0 = off (default) */
  unsigned pong_timeout_ms;  /* after an auto ping, give up (1006) when no
                                frame arrives for this long; default 30000 */
  unsigned close_timeout_ms; /* wait this long for the peer's close frame
                                and TCP close; default 5000 */
} uvws_limits_t;

/* ------------------------------------------------------------------ */
/* permessage-deflate (RFC 7692)                                       */
/* ------------------------------------------------------------------ */

/* Compression settings; a NULL pointer in the server or client options means
 * the extension is neither offered nor accepted. Zero fields take defaults. */
typedef struct uvws_deflate_options {
  /* Server: always answer with server_no_context_takeover (our compressor
   * is then reset after every message and can be shared by all
   * connections of the loop). Client: offer it (ask the server to). */
  int server_no_context_takeover;
  /* Server: answer with client_no_context_takeover (the peer resets its
   * compressor, so our decompressor can be shared). Client: offer it. */
  int client_no_context_takeover;
  /* 9-15 (8 is accepted in negotiation; a compressor told 8 sends
   * uncompressed, since zlib cannot compress with a 256-byte window).
   * Server: the largest window it will use for compressing (answered as
   * server_max_window_bits when below 15 or when offered). Client: offered
   * as server_max_window_bits when below 15. 0 = 15. */
  int server_max_window_bits;
  /* Server: the window asked of clients that offer client_max_window_bits.
   * Client: offered as client_max_window_bits (a bare client_max_window_bits
   * is always offered). 0 = 15. */
  int client_max_window_bits;
  int level;              /* zlib level 1-9; 0 = 6 */
  int mem_level;          /* zlib memLevel 1-9; 0 = 8 */
  /* Messages shorter than this are sent uncompressed; 0 = 1024 (as ws).
   * Set to 1 to compress everything. */
  size_t threshold;
} uvws_deflate_options_t;

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

/* TLS (wss://). Give PEM files or PEM text in memory. */
typedef struct uvws_tls_sni {
  const char *server_name;   /* exact name, or "*.example.com" */
  const char *cert_file, *key_file;
  const char *cert_pem, *key_pem;
} uvws_tls_sni_t;

typedef struct uvws_tls_options {
  /* Our certificate chain and key (server: required; client: optional, for
   * mutual TLS). */
  const char *cert_file, *key_file;
  const char *cert_pem, *key_pem;
  /* Trust anchors for verifying the peer. Client: NULL = the system store.
   * Server: the CAs client certificates must chain to. */
  const char *ca_file, *ca_dir, *ca_pem;
  /* Server: ask for and verify a client certificate (mutual TLS);
   * 1 = request and verify if sent, 2 = require one. */
  int verify_client;
  /* Client: DANGEROUS, for tests only: accept any certificate and host. */
  int insecure_skip_verify;
  /* Client: name sent as SNI and checked against the certificate;
   * NULL = the URL's host. */
  const char *server_name;
  /* Server: extra certificates chosen by the SNI name the client sends. */
  const uvws_tls_sni_t *sni;
  size_t num_sni;
  /* OpenSSL cipher list / TLS 1.3 ciphersuites; NULL = modern defaults. */
  const char *ciphers, *ciphersuites;
  int min_version; /* 0 = TLS 1.2; or 0x0303 (1.2), 0x0304 (1.3) */
} uvws_tls_options_t;

typedef struct uvws_server_options {
  const char *host;          /* bind address: "0.0.0.0" (default), "::",
                                "127.0.0.1", "::1", ... */
  int port;                  /* 0 = pick a free port (uvws_server_port()) */
  int backlog;               /* listen backlog; default 511 */
  int ipv6_only;             /* with "::", do not accept IPv4; default 0 */
  const char *path;          /* accept upgrades only for this path (exact,
                                query ignored); NULL = any; else 400 */
  size_t max_header_bytes;   /* request head limit -> 431; default 8192 */
  unsigned max_headers;      /* header count limit -> 431; default 64 */
  unsigned handshake_timeout_ms; /* whole request must arrive and the
                                upgrade be decided by then; default 10000 */
  unsigned max_connections;  /* beyond it upgrades get 503; 0 = no limit */
  uvws_limits_t limits;
  const uvws_tls_options_t *tls; /* NULL = plain ws:// */
  const uvws_deflate_options_t *deflate; /* NULL = no compression */
  /* Connections still in the opening handshake (accepted, no 101 or error
   * answer yet). A new connection beyond it is answered 503 at once
   * without reading its request (wss://: closed before the TLS handshake),
   * so slow or silent clients cannot hold every file descriptor.
   * default 1024; 0 = no limit */
  unsigned max_pending_handshakes;
  /* Listen on this Unix domain socket path instead of host:port (clients
   * use ws+unix:PATH:/request-path). At most 107 bytes. A socket file left
   * there by a process that is gone (nothing accepts on it) is replaced; a
   * live one is UV_EADDRINUSE. The file is removed when the server closes.
   * Peers have no IP address: uvws_http_t's remote_ip is "" and
   * uvws_server_port() is 0. */
  const char *unix_path;
  /* chmod the socket file to this mode (e.g. 0660: owner and group may
   * connect, since connecting needs write permission); 0 = leave bind's
   * mode, 0777 minus the process umask. */
  unsigned unix_mode;
} uvws_server_options_t;

/* Fill `opts` with the defaults. Always call it before setting fields. */
UVWS_EXTERN void uvws_server_options_init(uvws_server_options_t *opts);

/* Called for every valid upgrade request before it is accepted. The hook
 * decides by calling uvws_upgrade_accept() or uvws_upgrade_reject(), now or
 * later (before the handshake timeout). Without a hook every valid upgrade is
 * accepted with the first offered subprotocol, as ws does. */
typedef void (*uvws_upgrade_cb)(uvws_server_t *server, uvws_upgrade_t *up,
                                const uvws_http_t *request);

/* Create a server on `loop`, bind and listen. The server's callbacks are
 * inherited by every connection it accepts (on_response is not used).
 * `upgrade_cb` may be NULL. On success *out is set and 0 returned. */
UVWS_EXTERN int uvws_server_start(uv_loop_t *loop,
                                  const uvws_server_options_t *opts,
                                  const uvws_callbacks_t *callbacks,
                                  uvws_upgrade_cb upgrade_cb, void *data,
                                  uvws_server_t **out);

/* The port actually bound (useful with port 0); 0 on a unix_path server. */
UVWS_EXTERN int uvws_server_port(const uvws_server_t *server);

/* Address actually bound, as sockaddr (a sockaddr_un holding the path on a
 * unix_path server); returns 0 or a UV_E* code. */
UVWS_EXTERN int uvws_server_address(const uvws_server_t *server,
                                    struct sockaddr_storage *addr);

UVWS_EXTERN void *uvws_server_get_data(const uvws_server_t *server);
UVWS_EXTERN void uvws_server_set_data(uvws_server_t *server, void *data);

/* Number of open connections (upgrades completed, on_close not yet run). */
UVWS_EXTERN size_t uvws_server_connections(const uvws_server_t *server);

/* Call fn for each open connection; stop early when fn returns non-zero.
 * fn may send, close or terminate the connection it is given. */
UVWS_EXTERN void uvws_server_foreach(uvws_server_t *server,
                                     int (*fn)(uvws_t *ws, void *arg),
                                     void *arg);

/* Send one message to every open connection, through the same delivery
 * path as topics (framed once, batched, shared; see "Topics" below).
 * Returns the number of connections it was handed to (not counting those
 * it was dropped for: uvws_topic_callbacks_t.on_dropped). */
UVWS_EXTERN size_t uvws_server_broadcast(uvws_server_t *server,
                                         const void *data, size_t len,
                                         int flags);

/* --- counters --- */

/* Per-server counters, for operators to see an attack or a slow consumer.
 * Every field is a uint64_t; XX(name, description) lists them in order, so
 * bindings can build their own views without repeating the names. "gauge"
 * fields are current values; all others only grow. Counting costs one
 * increment in memory the connection already touches. */
#define UVWS_STATS_MAP(XX)                                                     \
  XX(connections_open, "open connections (gauge)")                            \
  XX(connections_total, "connections opened (upgrades completed)")            \
  XX(handshakes_pending, "connections in the opening handshake (gauge)")      \
  XX(rejected_bad_request,                                                     \
     "upgrades answered 400, 404, 405 or 426 (malformed or not WebSocket)")   \
  XX(rejected_too_large, "upgrades answered 431 (request head too large)")    \
  XX(rejected_busy, "upgrades answered 503 (max_connections, "                \
                    "max_pending_handshakes, shutting down)")                 \
  XX(rejected_by_app, "upgrades rejected by the upgrade hook")                \
  XX(handshake_timeouts, "sockets closed at handshake_timeout_ms")            \
  XX(messages_in, "messages received")                                        \
  XX(bytes_in, "payload bytes of messages received")                          \
  XX(messages_out, "messages sent (a broadcast counts once per connection)")  \
  XX(bytes_out, "payload bytes of messages sent")                             \
  XX(sends_dropped, "sends refused at max_backpressure")                      \
  XX(pings_in, "pings received")                                              \
  XX(pongs_in, "pongs received")                                              \
  XX(pings_out, "pings sent (automatic and uvws_ping)")                       \
  XX(pongs_out, "pongs sent (automatic answers and uvws_pong)")               \
  XX(pongs_coalesced, "pings answered only by a later pong because the peer " \
                      "was not reading (RFC 6455 section 5.5.3)")             \
  XX(closes_normal, "connections ended with code 1000")                       \
  XX(closes_going_away, "connections ended with code 1001")                   \
  XX(closes_no_status, "connections ended by a close frame without a code "   \
                       "(1005)")                                              \
  XX(closes_abnormal, "connections ended without a closing handshake "        \
                      "(1006)")                                               \
  XX(closes_other, "connections ended with any other code")                   \
  XX(errors_protocol, "connections we failed with 1002 (bad frame: RSV, "     \
                      "opcode, mask, control frame, fragmentation)")          \
  XX(errors_invalid_payload, "connections we failed with 1007 (invalid "      \
                             "UTF-8, bad close payload or deflate data)")     \
  XX(errors_too_big, "connections we failed with 1009 (max_payload, "         \
                     "max_fragments)")                                        \
  XX(errors_backpressure, "connections closed by close_on_backpressure")      \
  XX(errors_timeout, "connections dropped at a ping or idle timeout")         \
  XX(errors_socket, "connections lost to a socket error (reset, EPIPE, ...)")

typedef struct uvws_stats {
#define UVWS__STAT_FIELD(name, desc) uint64_t name;
  UVWS_STATS_MAP(UVWS__STAT_FIELD)
#undef UVWS__STAT_FIELD
} uvws_stats_t;

/* Copy the server's counters into *out. Returns 0 or UVWS_EINVAL. */
UVWS_EXTERN int uvws_server_stats(const uvws_server_t *server,
                                  uvws_stats_t *out);

/* Stop accepting, close every connection with 1001 (going away), and call
 * `cb` once everything the server owns is freed. Connections still get their
 * on_close. Calling it twice returns UVWS_ECLOSED. */
UVWS_EXTERN int uvws_server_close(uvws_server_t *server,
                                  void (*cb)(uvws_server_t *server));

/* Take over a TCP socket whose HTTP upgrade request has already been (partly)
 * read elsewhere (Node's handleUpgrade): `head` holds the bytes read so far,
 * starting at the request line. The fd is owned by the server afterwards. */
UVWS_EXTERN int uvws_server_adopt(uvws_server_t *server, uv_os_sock_t fd,
                                  const char *head, size_t head_len);

/* --- upgrade decisions --- */

/* Accept, answering with `protocol` as Sec-WebSocket-Protocol (NULL for none;
 * it must be one the client offered, else UVWS_EPROTOCOL and nothing is
 * decided). `data` becomes the connection's user data before on_open. Extra
 * response headers may be given (NULL, 0 for none): a name that is not an
 * HTTP token or a value with a control character (CR, LF, NUL, ...) is
 * UVWS_EINVAL, nothing is decided and uvws_last_error() names the header.
 * Returns 0 once on_open has run; a negative code when the socket died
 * meanwhile (no on_open or on_close follows). `up` is freed either way,
 * except on UVWS_EPROTOCOL and UVWS_EINVAL. */
UVWS_EXTERN int uvws_upgrade_accept(uvws_upgrade_t *up, const char *protocol,
                                    const uvws_header_t *headers,
                                    size_t num_headers, void *data);

/* Reject with an HTTP status (400-599, or a redirect: 301, 302, 303, 307,
 * 308 with a Location header, which clients with max_redirects follow) and
 * optional headers and body, then close the socket. Other statuses become
 * 400. Frees `up`. Headers are checked as in
 * uvws_upgrade_accept(): on UVWS_EINVAL nothing is decided and `up` is kept. */
UVWS_EXTERN int uvws_upgrade_reject(uvws_upgrade_t *up, int status,
                                    const uvws_header_t *headers,
                                    size_t num_headers, const char *body,
                                    size_t body_len);

/* The subprotocols the client offered, in order: fills up to `max` entries
 * of `out` (pointers into the request) and returns how many were offered. */
UVWS_EXTERN size_t uvws_upgrade_protocols(const uvws_upgrade_t *up,
                                          uvws_header_t *out, size_t max);

/* Non-zero once the socket behind a pending upgrade is gone; the decision
 * calls still free it. */
UVWS_EXTERN int uvws_upgrade_is_aborted(const uvws_upgrade_t *up);

UVWS_EXTERN uvws_server_t *uvws_upgrade_server(const uvws_upgrade_t *up);

/* The request behind `up`; valid until the decision. */
UVWS_EXTERN const uvws_http_t *uvws_upgrade_request(const uvws_upgrade_t *up);

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

typedef struct uvws_client_options {
  const uvws_header_t *headers;   /* extra request headers */
  size_t num_headers;
  const char *const *protocols;   /* offered subprotocols */
  size_t num_protocols;
  const char *origin;             /* Origin header, NULL = none */
  unsigned connect_timeout_ms;    /* DNS + TCP + TLS + upgrade; default 30000 */
  size_t max_response_bytes;      /* response head limit; default 16384 */
  uvws_limits_t limits;
  const uvws_tls_options_t *tls;  /* for wss:// (NULL = defaults: verify
                                     against the system trust store) */
  const uvws_deflate_options_t *deflate; /* offer permessage-deflate */
  /* Follow up to this many redirects (301, 302, 303, 307, 308, with a
   * Location; http:// and https:// map to ws:// and wss://); 0 = off
   * (default, as ws): a 3xx is UVWS_ESTATUS. Refused with UVWS_EREDIRECT:
   * one more than this, a URL already visited, wss:// to ws://, leaving or
   * entering a Unix socket. When the origin (scheme, host, port) changes,
   * the Authorization, Cookie and Proxy-Authorization headers given in
   * `headers` are no longer sent. connect_timeout_ms covers the whole
   * chain. */
  unsigned max_redirects;
  /* Tunnel through a proxy: "http://[user:pass@]host[:port]" (HTTP CONNECT,
   * Basic authentication, port 80 by default) or "socks5://[user:pass@]
   * host[:port]" (socks5h:// alike; port 1080; the proxy resolves the
   * target's name). wss:// runs TLS to the origin inside the tunnel.
   * %XX escapes are decoded in the credentials. A refusal, a 407 or a
   * SOCKS error is UVWS_EPROXY naming the proxy's answer; a proxy that
   * does not answer is UVWS_ETIMEDOUT at connect_timeout_ms. Redirects go
   * through the same proxy. Never used for ws+unix:. NULL = none. */
  const char *proxy;
  /* 1: with no `proxy`, take it from the environment as curl does:
   * https_proxy / HTTPS_PROXY for wss://, http_proxy / HTTP_PROXY for
   * ws://, else all_proxy / ALL_PROXY; no_proxy / NO_PROXY lists hosts that
   * go direct ("*", names, domain suffixes, optional ":port"; no CIDR).
   * Default 0 (off). */
  int proxy_from_env;
} uvws_client_options_t;

/* Fill `opts` with the defaults. */
UVWS_EXTERN void uvws_client_options_init(uvws_client_options_t *opts);

/* Start connecting to `url` (ws://host[:port][/path][?query], IPv6 literals
 * in brackets; wss:// when TLS is built in; ws+unix:SOCKET:/path[?query] or
 * ws+unix://SOCKET:/path for a Unix domain socket, as ws spells it: the
 * socket path runs to the first ':', Host is "localhost"). On success *out is the
 * connection in UVWS_CONNECTING state and 0 is returned; from then on exactly
 * one of on_open or (on_error then on_close with 1006) follows. On a
 * synchronous failure (bad URL, bad options) nothing is created. Header
 * names must be HTTP tokens and values free of control characters,
 * subprotocols distinct tokens, the origin a valid value: else UVWS_EINVAL,
 * with the culprit named by uvws_last_error().
 * `opts` may be NULL for defaults. */
UVWS_EXTERN int uvws_connect(uv_loop_t *loop, const char *url,
                             const uvws_client_options_t *opts,
                             const uvws_callbacks_t *callbacks, void *data,
                             uvws_t **out);

/* --- reconnecting client --- */

typedef struct uvws_dialer_s uvws_dialer_t; /* a client that re-dials */

/* When and how often a dialer re-dials. Retry n (1, 2, ... counted since the
 * last connection that opened) waits a delay drawn from
 * ceiling(n) = min(max_delay_ms, initial_delay_ms * factor^(n-1)). */
typedef struct uvws_reconnect_policy {
  unsigned initial_delay_ms; /* ceiling of the first retry; default 1000 */
  double factor;             /* growth per consecutive failure, >= 1;
                                default 2 */
  unsigned max_delay_ms;     /* cap of the ceiling; default 30000 */
  int jitter;                /* 1 (default): "full jitter", the delay is
                                uniform in [0, ceiling], so that clients
                                dropped together do not come back together;
                                0: the ceiling itself */
  unsigned max_retries;      /* give up after this many consecutive retries
                                failed; 0 = never (default) */
} uvws_reconnect_policy_t;

/* Fill `policy` with the defaults. */
UVWS_EXTERN void uvws_reconnect_policy_init(uvws_reconnect_policy_t *policy);

/* What a dialer reports after each failed attempt or ended connection. */
typedef struct uvws_retry {
  unsigned attempt;   /* number of the retry now scheduled (1 = the first
                         since the last connection that opened); 0 when
                         giving up */
  unsigned delay_ms;  /* wait before it (0 when giving up) */
  int err;            /* why the attempt failed or the connection ended
                         (UVWS_E* / UV_E*), 0 when an open connection was
                         closed without error */
  const char *msg;    /* description of err, or "" */
  int status;         /* HTTP status of a refused upgrade, else 0 */
  int close_code;     /* close code of a connection that had opened, else 0 */
  int fatal;          /* 1: no retry follows. Fatal: a 4xx answer other
                         than 429, a 3xx not followed (max_redirects), a
                         redirect refused (UVWS_EREDIRECT), a certificate
                         that failed verification, or max_retries used up. Everything else (refused,
                         reset, DNS, timeouts, 5xx, 429, a connection that
                         dropped) is retried. */
} uvws_retry_t;

typedef void (*uvws_retry_cb)(uvws_dialer_t *d, const uvws_retry_t *info);

/* Connect to `url` as uvws_connect() does and keep connecting: whenever an
 * attempt fails or a connection ends (closed by either side, dropped, timed
 * out), `on_retry` is called and the dialer dials again after the delay the
 * policy gives, until uvws_dialer_close() or a fatal failure. Each
 * connection is a uvws_t of its own with `callbacks` and user data `data`
 * (on_open for each one that opens, on_close for each one made, as with
 * uvws_connect()). `opts` and `policy` are copied (NULL for defaults);
 * `on_retry` may be NULL. A bad URL or bad options fail here, as in
 * uvws_connect(). */
UVWS_EXTERN int uvws_dial(uv_loop_t *loop, const char *url,
                          const uvws_client_options_t *opts,
                          const uvws_reconnect_policy_t *policy,
                          const uvws_callbacks_t *callbacks,
                          uvws_retry_cb on_retry, void *data,
                          uvws_dialer_t **out);

/* The dialer's connection (connecting or open), or NULL between attempts
 * and after giving up. */
UVWS_EXTERN uvws_t *uvws_dialer_conn(const uvws_dialer_t *d);

/* The dialer that made `ws`, or NULL. */
UVWS_EXTERN uvws_dialer_t *uvws_get_dialer(const uvws_t *ws);

UVWS_EXTERN void *uvws_dialer_get_data(const uvws_dialer_t *d);

/* Stop dialing: an open connection is closed with `code` and `reason` (as
 * uvws_close(); a connecting one is aborted) and `cb` runs from the loop
 * once the last connection's on_close has run and the dialer is freed.
 * Also needed after giving up, to free it. A second call returns
 * UVWS_ECLOSED. */
UVWS_EXTERN int uvws_dialer_close(uvws_dialer_t *d, int code,
                                  const char *reason, size_t len,
                                  void (*cb)(uvws_dialer_t *d));

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

/* Send a message (or, with UVWS_MORE, a fragment of one). `flags` is
 * UVWS_TEXT or UVWS_BINARY, or'ed with UVWS_MORE. The payload is copied at
 * most once (only what the socket does not take at once); `data` may be
 * reused when this returns. Text is not validated.
 * Returns UVWS_SEND_OK, UVWS_SEND_QUEUED, UVWS_SEND_DROPPED, or
 * UVWS_ECLOSED / UVWS_EINVAL. */
UVWS_EXTERN int uvws_send(uvws_t *ws, const void *data, size_t len, int flags);

/* As uvws_send(), but the engine never copies the payload: it keeps `data`
 * until it is written and then calls release(data, release_arg) (also when
 * the send fails or the connection dies). On a negative return release has
 * already been called. */
UVWS_EXTERN int uvws_send_owned(uvws_t *ws, const void *data, size_t len,
                                int flags,
                                void (*release)(const void *data, void *arg),
                                void *release_arg);

/* Ping / pong with up to 125 bytes of payload (else UVWS_EINVAL). */
UVWS_EXTERN int uvws_ping(uvws_t *ws, const void *data, size_t len);
UVWS_EXTERN int uvws_pong(uvws_t *ws, const void *data, size_t len);

/* Called once for a uvws_ping_timed(): status 0 and the round-trip time in
 * microseconds when its pong arrived, or UVWS_ECLOSED (rtt 0) when the
 * connection ended first. */
typedef void (*uvws_pong_cb)(uvws_t *ws, int status, uint64_t rtt_us, void *arg);

/* As uvws_ping(), and `cb` reports the round trip. A pong answers the
 * oldest outstanding ping with the same payload and every ping sent before
 * it (RFC 6455 lets a peer answer only the latest of several), so give
 * pings distinct payloads to time each one. At most 64 pings wait at once
 * (else UVWS_EBACKPRESSURE, nothing sent). On a negative return cb is not
 * called. */
UVWS_EXTERN int uvws_ping_timed(uvws_t *ws, const void *data, size_t len,
                                uvws_pong_cb cb, void *arg);

/* The last round trip measured on `ws` (any ping: uvws_ping(),
 * uvws_ping_timed(), or the automatic ones of ping_interval_ms), in
 * microseconds; 0 until a pong has answered one. */
UVWS_EXTERN uint64_t uvws_latency_us(const uvws_t *ws);

/* Start the closing handshake. `code` must be 1000, 1001-1003, 1007-1014 or
 * 3000-4999 (or 0 to send a close frame without a code; then `reason` must be
 * empty), and `reason` at most 123 bytes of UTF-8; else UVWS_EINVAL.
 * on_close follows when the peer answers, or at the close timeout. */
UVWS_EXTERN int uvws_close(uvws_t *ws, int code, const char *reason,
                           size_t len);

/* Drop the TCP connection at once, without a closing handshake. No callback
 * of `ws` runs any more except on_close (1006), which follows from the loop
 * (never from inside this call), so it is safe to call from any callback. */
UVWS_EXTERN void uvws_terminate(uvws_t *ws);

/* Bytes accepted by send but not yet handed to the kernel. */
UVWS_EXTERN size_t uvws_buffered_amount(const uvws_t *ws);

/* Stop / restart reading from the socket (backpressure towards the peer). */
UVWS_EXTERN int uvws_pause(uvws_t *ws);
UVWS_EXTERN int uvws_resume(uvws_t *ws);

UVWS_EXTERN int uvws_ready_state(const uvws_t *ws);
UVWS_EXTERN void *uvws_get_data(const uvws_t *ws);
UVWS_EXTERN void uvws_set_data(uvws_t *ws, void *data);
/* The server that accepted `ws`, or NULL on a client connection. */
UVWS_EXTERN uvws_server_t *uvws_get_server(const uvws_t *ws);
/* The negotiated subprotocol (NUL-terminated), or "" for none. */
UVWS_EXTERN const char *uvws_protocol(const uvws_t *ws);
/* The peer's address; returns 0 or a UV_E* code. On a Unix domain socket a
 * sockaddr_un, whose path is usually "" (clients rarely bind a name). */
UVWS_EXTERN int uvws_remote_address(const uvws_t *ws,
                                    struct sockaddr_storage *addr);
/* Non-zero when permessage-deflate was negotiated on `ws`. */
UVWS_EXTERN int uvws_compressed(const uvws_t *ws);
/* The negotiated Sec-WebSocket-Extensions value, or "" (NUL-terminated). */
UVWS_EXTERN const char *uvws_extensions(const uvws_t *ws);
/* Client: the URL connected to (after redirects; NUL-terminated). "" on a
 * server connection. */
UVWS_EXTERN const char *uvws_url(const uvws_t *ws);
/* Non-zero for a connection made with uvws_connect(). */
UVWS_EXTERN int uvws_is_client(const uvws_t *ws);
/* The underlying libuv stream, e.g. for uv_fileno(); NULL once closed. Its
 * `data` field holds uvws_get_data()'s pointer: leave it to uvws_set_data(). */
UVWS_EXTERN uv_stream_t *uvws_stream(uvws_t *ws);

/* ------------------------------------------------------------------ */
/* Topics (publish/subscribe)                                          */
/* ------------------------------------------------------------------ */

/* A server keeps a registry of topics. A connection subscribes to topic
 * filters; a message published to a topic name goes to every connection
 * with at least one matching filter, once, however many of its filters
 * match. Only server-side connections subscribe (clients: UVWS_ENOTSUP).
 *
 * Names and filters are UTF-8 byte strings split into levels by '/'.
 * Empty levels are allowed and significant ("a//b", "/a", "a/" are three
 * different topics). A filter may use MQTT wildcards:
 *   '+'  a whole level: matches exactly one level, which may be empty
 *        ("a/+/c" matches "a/b/c" and "a//c", not "a/c" or "a/b/x/c");
 *   '#'  the whole last level: matches the parent level and everything
 *        below ("a/#" matches "a", "a/", "a/b", "a/b/c"; "#" alone matches
 *        every topic).
 * A wildcard inside a level ("a+", "a/b#", "#/a") is UVWS_EINVAL. Names
 * starting with '$' are not matched by a '+' or '#' in the first level (as
 * MQTT's "$SYS"). Published names contain no '+' or '#' (UVWS_EINVAL).
 * Empty strings, NUL bytes and invalid UTF-8 are UVWS_EINVAL. Filters
 * without wildcards are looked up in O(1) (a hash); wildcard filters in a
 * trie, in time proportional to the trie nodes the name can reach.
 *
 * Limits (UVWS_ELIMIT beyond them): */
#define UVWS_TOPIC_MAX_LEN 1024      /* bytes of a name or filter */
#define UVWS_TOPIC_MAX_LEVELS 32     /* levels ('/' count + 1) */
#define UVWS_TOPIC_MAX_PER_CONN 4096 /* filters one connection holds */
/*
 * Ordering: a connection receives messages in the order uvws_send(),
 * uvws_publish(), uvws_server_publish() and uvws_server_broadcast() were
 * called for it, across topics. A subscription change applies to the
 * messages published after it returns.
 *
 * Delivery: a published message is framed once. Uncompressed ws://
 * subscribers share its bytes: a small message is copied into each
 * subscriber's batch and written with one writev per subscriber per loop
 * turn; a large one is referenced (reference counted), never copied per
 * subscriber. For subscribers that negotiated permessage-deflate (message
 * over the threshold, not UVWS_NO_COMPRESS): those without context takeover
 * share one compressed frame, compressed once; the others, and wss://
 * subscribers, get their own copy through the uvws_send() path.
 *
 * Slow subscribers: a connection's max_backpressure applies to published
 * messages as to uvws_send(): the message is dropped for that connection
 * (on_dropped) or, with close_on_backpressure, the connection is closed
 * with 1008. A connection in the middle of a fragmented send (UVWS_MORE)
 * cannot take a whole message either: it is dropped for it (on_dropped).
 * Other subscribers and the publisher are never held up.
 *
 * Closing: a connection is unsubscribed from everything just before its
 * on_close (on_subscription runs for each of its filters). Between the
 * start of closing and then, it still counts in
 * uvws_server_num_subscribers() but receives nothing. */

typedef struct uvws_topic_callbacks {
  /* `ws` subscribed to or unsubscribed from `filter`; the filter now has
   * `new_count` subscribers, before it had `old_count`. Also called for
   * each filter when a connection closes. */
  void (*on_subscription)(uvws_t *ws, const char *filter, size_t len,
                          size_t new_count, size_t old_count);
  /* A published or broadcast message was not handed to `ws` (backpressure
   * with close_on_backpressure off, or a fragmented send in progress).
   * `topic` is NULL (len 0) for uvws_server_broadcast(). `flags` is the
   * message type as given to publish. Pointers valid during the call. */
  void (*on_dropped)(uvws_t *ws, const char *topic, size_t topic_len,
                     const void *data, size_t len, int flags);
} uvws_topic_callbacks_t;

/* Set (copy) the topic callbacks of `server`; NULL clears them. */
UVWS_EXTERN void uvws_server_topic_callbacks(uvws_server_t *server,
                                             const uvws_topic_callbacks_t *cb);

/* Subscribe `ws` to `filter` (`len` bytes). Returns 1 when subscribed now,
 * 0 when it already was, or UVWS_EINVAL (malformed filter), UVWS_ELIMIT,
 * UVWS_ENOTSUP (client connection), UVWS_ECLOSED (connection closed or
 * closing its socket), UVWS_ENOMEM. */
UVWS_EXTERN int uvws_subscribe(uvws_t *ws, const char *filter, size_t len);

/* Returns 1 when `ws` was subscribed to exactly `filter` and no longer is,
 * 0 when it was not, or a negative code. */
UVWS_EXTERN int uvws_unsubscribe(uvws_t *ws, const char *filter, size_t len);

/* 1 if `ws` holds exactly this filter (no matching: "a/+" is not "a/b"),
 * else 0. */
UVWS_EXTERN int uvws_is_subscribed(const uvws_t *ws, const char *filter,
                                   size_t len);

/* Call fn for each filter of `ws`, in the order they were subscribed; stop
 * early when fn returns non-zero. fn must not subscribe or unsubscribe
 * `ws`. Returns the number of filters `ws` holds. */
UVWS_EXTERN size_t uvws_topics(const uvws_t *ws,
                               int (*fn)(uvws_t *ws, const char *filter,
                                         size_t len, void *arg),
                               void *arg);

/* Publish one whole message (`flags`: UVWS_TEXT or UVWS_BINARY, optionally
 * | UVWS_NO_COMPRESS) to the subscribers of `topic` on the server of `ws`,
 * except `ws` itself. Returns the number of connections it was handed to
 * (not counting drops), or UVWS_EINVAL (bad topic or flags), UVWS_ELIMIT,
 * UVWS_ENOTSUP (client connection). */
UVWS_EXTERN int uvws_publish(uvws_t *ws, const char *topic, size_t topic_len,
                             const void *data, size_t len, int flags);

/* As uvws_publish(), to every subscriber. */
UVWS_EXTERN int uvws_server_publish(uvws_server_t *server, const char *topic,
                                    size_t topic_len, const void *data,
                                    size_t len, int flags);

/* Connections subscribed to exactly `filter` (a name or a filter with
 * wildcards, compared as a string, as uWebSockets' numSubscribers). */
UVWS_EXTERN size_t uvws_server_num_subscribers(const uvws_server_t *server,
                                               const char *filter,
                                               size_t len);

/* ------------------------------------------------------------------ */
/* Validation helpers (also used by the bindings)                      */
/* ------------------------------------------------------------------ */

/* 1 if `code` may be sent in a close frame by an application (see
 * uvws_close()), else 0. */
UVWS_EXTERN int uvws_close_code_is_valid(int code);

/* 1 if the bytes are an HTTP token (RFC 9110 section 5.6.2: a header name,
 * a subprotocol name), else 0. Empty is not a token. */
UVWS_EXTERN int uvws_http_token_is_valid(const char *s, size_t len);

/* 1 if the bytes may stand as an HTTP header value: no control characters
 * other than horizontal tab, so no CR, LF or NUL (which would end the
 * header and let the rest inject headers of its own), else 0. */
UVWS_EXTERN int uvws_http_value_is_valid(const char *s, size_t len);

/* 1 if the bytes are well-formed UTF-8 (RFC 3629), else 0. */
UVWS_EXTERN int uvws_utf8_is_valid(const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* UVWS_H */

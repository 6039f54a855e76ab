/* uvws._uvws: the CPython binding of the uvws engine.
 *
 * The extension only translates: engine callbacks become calls of Python
 * callables, Python calls become engine calls. Protocol logic stays in core/.
 *
 * Threading: every engine object belongs to one Loop (one uv_loop_t per
 * Python thread that uses uvws). The loop is driven from that thread's
 * asyncio loop: its backend fd is registered with add_reader, its next timer
 * with call_later, and each wakeup runs uv_run(UV_RUN_NOWAIT) holding the
 * GIL (a NOWAIT run never blocks; the GIL is released while asyncio waits).
 * Every engine callback therefore runs with the GIL held. Calls from other
 * threads (send, ping, pong, close, terminate) are queued and handed to the
 * loop thread through a uv_async_t.
 */
#ifndef UVWS_PYMODULE_H
#define UVWS_PYMODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <uvws.h>

/* Payloads at least this large are sent from the Python object itself
 * (uvws_send_owned, reference held until written) instead of being copied. */
#define UVWS_PY_OWNED_MIN (64 * 1024)

typedef struct xop xop_t;

typedef struct LoopObject {
  PyObject_HEAD
  uv_loop_t uv;
  int uv_ready;             /* uv_loop_init succeeded */
  unsigned long owner;      /* thread ident of the thread that runs it */
  /* asyncio attachment */
  PyObject *aio;            /* the asyncio loop we are registered with */
  PyObject *aio_call_soon;  /* its bound methods */
  PyObject *aio_call_later;
  PyObject *cb_readable;    /* our bound methods handed to asyncio */
  PyObject *cb_timer;
  PyObject *cb_soon;
  PyObject *timer;          /* asyncio TimerHandle, or NULL */
  uint64_t timer_due;       /* uv_now() ms when `timer` fires */
  int soon_pending;
  int in_run;               /* inside uv_run: engine callbacks may follow */
  int closed;
  PyObject *idle_cb;        /* called when the uv loop has nothing alive */
  PyObject *fatal;          /* BaseException raised by a callback */
  /* cross-thread operations */
  uv_async_t async;
  uv_mutex_t lock;
  xop_t *ops_head, *ops_tail;
  Py_ssize_t live;          /* open connections + servers of the engine */
  PyObject *weakreflist;
} LoopObject;

typedef struct ConnObject {
  PyObject_HEAD
  uvws_t *ws;               /* NULL before connecting and after on_close */
  LoopObject *loop;
  /* event slots: callables or NULL */
  PyObject *on_open;        /* (http) */
  PyObject *on_message;     /* (data, is_binary) */
  PyObject *on_ping;        /* (data) */
  PyObject *on_pong;        /* (data) */
  PyObject *on_drain;       /* () */
  PyObject *on_error;       /* (exc) */
  PyObject *on_close;       /* (code, reason) */
  PyObject *protocol;       /* negotiated subprotocol (str) */
  PyObject *remote_address; /* (host, port) or None */
  PyObject *url;            /* client: the URL it connected to */
  PyObject *error;          /* the exception reported by on_error */
  PyObject *close_reason;   /* str, once closed */
  PyObject *tls_keep;       /* keeps TLS option strings alive */
  void *tls_mem;            /* uvws_tls_options_t (+ sni array) */
  PyObject *extensions;     /* negotiated Sec-WebSocket-Extensions (str) */
  uvws_deflate_options_t *deflate; /* client: offered permessage-deflate */
  int tx_open;              /* a fragmented message is being sent */
  int close_code;           /* 0 until closed */
  int state;                /* ready state after close (UVWS_CLOSED) */
  int is_client;
  /* queue mode (asyncio API): messages wait in a ring until popped */
  int qmode;
  int q_paused;             /* reading paused because the queue is full */
  Py_ssize_t q_max;         /* pause reading at this many (0 = never) */
  Py_ssize_t q_head, q_len, q_cap;
  PyObject **q;
  PyObject *waiter;         /* future to resolve when something arrives */
  PyObject *dict;
  PyObject *weakreflist;
} ConnObject;

typedef struct ServerObject {
  PyObject_HEAD
  uvws_server_t *srv;       /* NULL once fully closed */
  LoopObject *loop;
  PyTypeObject *conn_type;  /* type of accepted connections */
  PyObject *on_open;        /* (conn, request) */
  PyObject *on_upgrade;     /* (upgrade, request, protocols) or NULL */
  PyObject *on_closed;      /* () once closed */
  PyObject *on_subscription; /* (conn, topic, new_count, old_count) or NULL */
  PyObject *on_dropped;     /* (conn, topic or None, data) or NULL */
  PyObject *tls_keep;
  void *tls_mem;
  uvws_deflate_options_t *deflate;
  PyObject *host;
  int port;
  int closing;
  PyObject *weakreflist;
  uvws_stats_t last_stats;  /* the counters when the engine server went away */
} ServerObject;

typedef struct UpgradeObject {
  PyObject_HEAD
  uvws_upgrade_t *up;       /* NULL once decided */
  ServerObject *server;
} UpgradeObject;

/* server.c: {name: description} of the engine's counters (UVWS_STATS_MAP). */
PyObject *uvwspy_stats_fields(void);

/* module.c */
/* Debug counters for the leak tests (uvws._uvws._debug_counts()): how many
 * objects of each kind are alive now. Only touched with the GIL held. */
enum {
  UVWSPY_K_LOOP,    /* Loop objects */
  UVWSPY_K_CONN,    /* Connection objects (and subclasses) */
  UVWSPY_K_SERVER,  /* Server objects */
  UVWSPY_K_UPGRADE, /* Upgrade objects */
  UVWSPY_K_WS,      /* engine connections (uvws_t) held by a Connection, until on_close */
  UVWSPY_K_SRV,     /* engine servers (uvws_server_t) held by a Server, until closed */
  UVWSPY_K_XOP,     /* cross-thread operations queued and not yet run */
  UVWSPY_K_N
};
extern Py_ssize_t uvwspy_alive[UVWSPY_K_N];
extern PyTypeObject Loop_Type, Conn_Type, Server_Type, Upgrade_Type;
extern PyObject *uvwspy_error_factory; /* (code, message) -> exception */
extern PyObject *uvwspy_error_hook;    /* (obj, exc, where) -> None */
extern PyObject *uvwspy_get_running_loop;
extern PyObject *uvwspy_empty_tuple;
extern PyObject *uvwspy_str_empty;
/* Set a Python exception for engine error `code`; returns NULL. */
PyObject *uvwspy_raise(int code, const char *msg);
/* Build (do not raise) the exception object for `code`. */
PyObject *uvwspy_make_error(int code, const char *msg);
/* The current exception came out of a user callback: report it through the
 * error hook (logging + 'error' event), or, for BaseException that is not an
 * Exception (KeyboardInterrupt, SystemExit), keep it to re-raise from the
 * loop's run. Clears the error indicator. */
void uvwspy_report(LoopObject *loop, PyObject *obj, const char *where);
/* Call `fn` with args; on failure report. */
void uvwspy_call(LoopObject *loop, PyObject *obj, const char *where,
                 PyObject *fn, PyObject *const *args, size_t nargs);
/* Request / response head as a tuple:
 * (status, path, query, headers, remote_ip, remote_port) */
PyObject *uvwspy_http_tuple(const uvws_http_t *http);

/* conn.c: topics */
/* A topic argument (str, or bytes of UTF-8). */
int uvwspy_topic_arg(PyObject *o, const char **p, Py_ssize_t *n);
/* publish(topic, data, binary=None, compress=True) of a connection (ws) or
 * a server (ws NULL). */
PyObject *uvwspy_publish(LoopObject *L, uvws_server_t *srv, uvws_t *ws, PyObject *args,
                         PyObject *kw);

/* loop.c */
int uvwspy_loop_is_owner(LoopObject *L);
/* An engine call was made from outside uv_run: make sure the loop runs
 * soon (flushes corked writes, applies epoll changes). */
void uvwspy_kick(LoopObject *L);
/* Before an engine call made from outside uv_run: libuv's clock only moves
 * in uv_run, and the engine computes deadlines from it (connect, close and
 * handshake timeouts); after the loop sat idle it would be stale. */
static inline void uvwspy_enter(LoopObject *L) {
  if (L && !L->in_run && L->uv_ready) uv_update_time(&L->uv);
}
/* A connection or server handed to Python starts / stops: while any
 * exists the libuv loop counts as alive (a paused connection is not an
 * active handle, yet its timeouts must run). */
void uvwspy_loop_live(LoopObject *L, int delta);
/* Queue an operation for the loop thread (from any thread, GIL held). */
int uvwspy_xop_push(LoopObject *L, int kind, ConnObject *c, PyObject *data,
                    int flags, int code);
enum { XOP_SEND = 1, XOP_PING, XOP_PONG, XOP_CLOSE, XOP_TERMINATE };

/* conn.c */
extern const uvws_callbacks_t uvwspy_conn_callbacks;
void uvwspy_conn_opened(ConnObject *c, uvws_t *ws);
/* Execute a queued operation in the loop thread. */
void uvwspy_conn_exec(ConnObject *c, int kind, PyObject *data, int flags, int code);
int uvwspy_parse_limits(PyObject *kw, uvws_limits_t *lim);
int uvwspy_conn_init_strings(void);
/* permessage-deflate options from a dict (None: off). The struct is kept by
 * the caller for the object's lifetime. */
int uvwspy_parse_deflate(PyObject *d, uvws_deflate_options_t **out);

/* tls.c-ish helpers (in server.c) */
/* Fill a uvws_tls_options_t from a dict; keeps the strings alive in *keep. */
int uvwspy_tls_from_dict(PyObject *d, void **mem, PyObject **keep,
                         uvws_tls_options_t **out);

#endif

/* Connection: one uvws_t, server or client side.
 *
 * The engine holds a strong reference to the Python object from the moment
 * the connection is handed over (server: on_open, client: uvws_connect())
 * until on_close has run, so an open connection lives on even when Python
 * code drops it. After on_close the event slots are cleared: no event can
 * follow, and reference cycles through the handlers are broken at once. */
#include "uvwsmodule.h"

#include <stdlib.h>
#include <string.h>

static PyObject *str_set_result;

static ConnObject *conn_of(const uvws_t *ws) { return (ConnObject *)uvws_get_data(ws); }

/* ------------------------------------------------------------------ */
/* Queue mode                                                          */
/* ------------------------------------------------------------------ */

static int q_push(ConnObject *c, PyObject *msg) { /* steals msg */
  if (c->q_len == c->q_cap) {
    Py_ssize_t cap = c->q_cap ? c->q_cap * 2 : 16;
    PyObject **q = PyMem_Malloc((size_t)cap * sizeof(PyObject *));
    if (!q) {
      Py_DECREF(msg);
      PyErr_NoMemory();
      return -1;
    }
    for (Py_ssize_t i = 0; i < c->q_len; i++) q[i] = c->q[(c->q_head + i) % c->q_cap];
    PyMem_Free(c->q);
    c->q = q;
    c->q_cap = cap;
    c->q_head = 0;
  }
  c->q[(c->q_head + c->q_len) % c->q_cap] = msg;
  c->q_len++;
  return 0;
}

static void wake(ConnObject *c) {
  PyObject *w = c->waiter;
  if (!w) return;
  c->waiter = NULL;
  PyObject *r = PyObject_CallMethodOneArg(w, str_set_result, Py_None);
  if (r) Py_DECREF(r);
  else PyErr_Clear(); /* the waiter was cancelled */
  Py_DECREF(w);
}

static void q_clear(ConnObject *c) {
  while (c->q_len) {
    PyObject *m = c->q[c->q_head];
    c->q_head = (c->q_head + 1) % c->q_cap;
    c->q_len--;
    Py_DECREF(m);
  }
  PyMem_Free(c->q);
  c->q = NULL;
  c->q_cap = c->q_head = 0;
}

/* ------------------------------------------------------------------ */
/* Engine callbacks                                                    */
/* ------------------------------------------------------------------ */

static PyObject *addr_tuple(const struct sockaddr_storage *ss) {
  char ip[64] = "";
  int port = 0;
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    uv_ip6_name(a, ip, sizeof(ip));
    port = ntohs(a->sin6_port);
  } else if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    uv_ip4_name(a, ip, sizeof(ip));
    port = ntohs(a->sin_port);
  } else {
    Py_RETURN_NONE;
  }
  return Py_BuildValue("(si)", ip, port);
}

void uvwspy_conn_opened(ConnObject *c, uvws_t *ws) {
  c->ws = ws;
  const char *p = uvws_protocol(ws);
  PyObject *proto = PyUnicode_DecodeLatin1(p, (Py_ssize_t)strlen(p), NULL);
  if (proto) Py_XSETREF(c->protocol, proto);
  else PyErr_Clear();
  const char *x = uvws_extensions(ws);
  if (x && *x) {
    PyObject *ext = PyUnicode_DecodeLatin1(x, (Py_ssize_t)strlen(x), NULL);
    if (ext) Py_XSETREF(c->extensions, ext);
    else PyErr_Clear();
  }
  struct sockaddr_storage ss;
  if (uvws_remote_address(ws, &ss) == 0) {
    PyObject *a = addr_tuple(&ss);
    if (a) Py_XSETREF(c->remote_address, a);
    else PyErr_Clear();
  }
}

static void cb_open(uvws_t *ws, const uvws_http_t *http) {
  /* client side only; the server's on_open is in server.c */
  ConnObject *c = conn_of(ws);
  if (!c) return;
  uvwspy_conn_opened(c, ws);
  if (!c->on_open) return;
  PyObject *h = uvwspy_http_tuple(http);
  if (!h) {
    uvwspy_report(c->loop, (PyObject *)c, "open");
    return;
  }
  PyObject *fn = c->on_open;
  Py_INCREF(fn);
  uvwspy_call(c->loop, (PyObject *)c, "open", fn, &h, 1);
  Py_DECREF(fn);
  Py_DECREF(h);
}

static void cb_response(uvws_t *ws, const uvws_http_t *http) {
  ConnObject *c = conn_of(ws);
  if (!c) return;
  PyObject *h = uvwspy_http_tuple(http);
  if (!h) {
    PyErr_Clear();
    return;
  }
  if (!c->dict) c->dict = PyDict_New();
  if (!c->dict || PyDict_SetItemString(c->dict, "_http_response", h) < 0) PyErr_Clear();
  Py_DECREF(h);
}

static void cb_message(uvws_t *ws, const char *data, size_t len, int is_binary) {
  ConnObject *c = conn_of(ws);
  if (!c) return;
  PyObject *msg = is_binary ? PyBytes_FromStringAndSize(data, (Py_ssize_t)len)
                            : PyUnicode_DecodeUTF8(len ? data : "", (Py_ssize_t)len, NULL);
  if (!msg) {
    uvwspy_report(c->loop, (PyObject *)c, "message");
    return;
  }
  if (c->qmode) {
    if (q_push(c, msg) < 0) {
      uvwspy_report(c->loop, (PyObject *)c, "message");
      return;
    }
    if (c->q_max && c->q_len >= c->q_max && !c->q_paused) {
      uvws_pause(ws);
      c->q_paused = 1;
    }
    wake(c);
    return;
  }
  if (c->on_message) {
    PyObject *fn = c->on_message;
    PyObject *args[2] = {msg, is_binary ? Py_True : Py_False};
    Py_INCREF(fn);
    PyObject *r = PyObject_Vectorcall(fn, args, 2, NULL);
    Py_DECREF(fn);
    if (r) Py_DECREF(r);
    else uvwspy_report(c->loop, (PyObject *)c, "message");
  }
  Py_DECREF(msg);
}

static void call_bytes(ConnObject *c, PyObject *fn, const char *where, const char *data,
                       size_t len) {
  if (!fn) return;
  PyObject *b = PyBytes_FromStringAndSize(len ? data : "", (Py_ssize_t)len);
  if (!b) {
    uvwspy_report(c->loop, (PyObject *)c, where);
    return;
  }
  Py_INCREF(fn);
  uvwspy_call(c->loop, (PyObject *)c, where, fn, &b, 1);
  Py_DECREF(fn);
  Py_DECREF(b);
}

static void cb_ping(uvws_t *ws, const char *data, size_t len) {
  ConnObject *c = conn_of(ws);
  if (c) call_bytes(c, c->on_ping, "ping", data, len);
}

static void cb_pong(uvws_t *ws, const char *data, size_t len) {
  ConnObject *c = conn_of(ws);
  if (c) call_bytes(c, c->on_pong, "pong", data, len);
}

static void cb_drain(uvws_t *ws) {
  ConnObject *c = conn_of(ws);
  if (!c || !c->on_drain) return;
  PyObject *fn = c->on_drain;
  Py_INCREF(fn);
  uvwspy_call(c->loop, (PyObject *)c, "drain", fn, NULL, 0);
  Py_DECREF(fn);
}

static void cb_error(uvws_t *ws, int err, const char *msg) {
  ConnObject *c = conn_of(ws);
  if (!c) return;
  PyObject *e = uvwspy_make_error(err, msg);
  if (!e) {
    uvwspy_report(c->loop, (PyObject *)c, "error");
    return;
  }
  Py_XSETREF(c->error, e);
  if (c->on_error) {
    PyObject *fn = c->on_error;
    Py_INCREF(fn);
    Py_INCREF(e);
    uvwspy_call(c->loop, (PyObject *)c, "error-handler", fn, &e, 1);
    Py_DECREF(e);
    Py_DECREF(fn);
  }
}

static void cb_close(uvws_t *ws, int code, const char *reason, size_t len) {
  ConnObject *c = conn_of(ws);
  if (!c) return;
  uvws_set_data(ws, NULL);
  c->ws = NULL;
  c->state = UVWS_CLOSED;
  c->close_code = code;
  PyObject *r = PyUnicode_DecodeUTF8(len ? reason : "", (Py_ssize_t)len, "replace");
  if (!r) {
    PyErr_Clear();
    r = uvwspy_str_empty;
    Py_INCREF(r);
  }
  Py_XSETREF(c->close_reason, r);
  if (c->qmode) wake(c);
  if (c->on_close) {
    PyObject *fn = c->on_close;
    PyObject *pc = PyLong_FromLong(code);
    if (pc) {
      PyObject *args[2] = {pc, r};
      Py_INCREF(fn);
      Py_INCREF(r);
      uvwspy_call(c->loop, (PyObject *)c, "close", fn, args, 2);
      Py_DECREF(r);
      Py_DECREF(fn);
      Py_DECREF(pc);
    } else {
      uvwspy_report(c->loop, (PyObject *)c, "close");
    }
  }
  Py_CLEAR(c->on_open);
  Py_CLEAR(c->on_message);
  Py_CLEAR(c->on_ping);
  Py_CLEAR(c->on_pong);
  Py_CLEAR(c->on_drain);
  Py_CLEAR(c->on_error);
  Py_CLEAR(c->on_close);
  Py_CLEAR(c->waiter);
  if (c->loop) uvwspy_loop_live(c->loop, -1);
  uvwspy_alive[UVWSPY_K_WS]--;
  Py_DECREF(c); /* the engine's reference */
}

const uvws_callbacks_t uvwspy_conn_callbacks = {
    .on_open = cb_open,
    .on_message = cb_message,
    .on_ping = cb_ping,
    .on_pong = cb_pong,
    .on_drain = cb_drain,
    .on_error = cb_error,
    .on_response = cb_response,
    .on_close = cb_close,
};

/* ------------------------------------------------------------------ */
/* Sending                                                             */
/* ------------------------------------------------------------------ */

static void release_pyobj(const void *data, void *arg) {
  (void)data;
  Py_DECREF((PyObject *)arg);
}

/* Where a payload's bytes are: str (UTF-8), bytes, or any buffer. */
typedef struct {
  const char *ptr;
  Py_ssize_t len;
  int immutable; /* str or bytes: may be referenced instead of copied */
  int is_str;
  Py_buffer view;
  int has_view;
} payload_t;

static int payload_get(PyObject *o, payload_t *p) {
  p->has_view = 0;
  if (PyUnicode_Check(o)) {
    p->ptr = PyUnicode_AsUTF8AndSize(o, &p->len);
    if (!p->ptr) return -1;
    p->immutable = PyUnicode_CheckExact(o);
    p->is_str = 1;
    return 0;
  }
  p->is_str = 0;
  if (PyBytes_CheckExact(o)) {
    p->ptr = PyBytes_AS_STRING(o);
    p->len = PyBytes_GET_SIZE(o);
    p->immutable = 1;
    return 0;
  }
  if (PyObject_GetBuffer(o, &p->view, PyBUF_SIMPLE) < 0) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "data must be str or a bytes-like object, not %.100s",
                 Py_TYPE(o)->tp_name);
    return -1;
  }
  p->has_view = 1;
  p->ptr = p->view.buf;
  p->len = p->view.len;
  p->immutable = 0;
  return 0;
}

static void payload_release(payload_t *p) {
  if (p->has_view) PyBuffer_Release(&p->view);
  p->has_view = 0;
}

static PyObject *closed_error(ConnObject *c) {
  return uvwspy_raise(c->state == UVWS_CONNECTING ? UVWS_ENOTOPEN : UVWS_ECLOSED, NULL);
}

/* In the loop thread: send and return the engine's result. */
static int do_send(ConnObject *c, PyObject *data, const payload_t *p, int flags) {
  if (p->immutable && p->len >= UVWS_PY_OWNED_MIN && !c->is_client) {
    /* Sent straight from the object; what the socket does not take at
     * once stays referenced (not copied) until written. */
    Py_INCREF(data);
    return uvws_send_owned(c->ws, p->ptr, (size_t)p->len, flags, release_pyobj, data);
  }
  return uvws_send(c->ws, p->ptr, (size_t)p->len, flags);
}

/* `whole`: the payload is a complete message, so bytes sent as text can be
 * checked here; a fragment may end or start inside a character, and only
 * the joined message has to be UTF-8 (the peer checks that). */
static int parse_type(PyObject *binary, const payload_t *p, int whole, int *type) {
  if (binary == NULL || binary == Py_None) {
    *type = p->is_str ? UVWS_TEXT : UVWS_BINARY;
    return 0;
  }
  int b = PyObject_IsTrue(binary);
  if (b < 0) return -1;
  *type = b ? UVWS_BINARY : UVWS_TEXT;
  if (*type == UVWS_TEXT && whole && !p->is_str && !uvws_utf8_is_valid(p->ptr, (size_t)p->len)) {
    PyErr_SetString(PyExc_ValueError, "text message is not valid UTF-8");
    return -1;
  }
  return 0;
}

static PyObject *Conn_send(ConnObject *c, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames) {
  PyObject *data = NULL, *binary = NULL, *fin_o = NULL, *compress_o = NULL;
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  if (nargs < 1 || nargs > 4) goto usage;
  data = args[0];
  if (nargs > 1) binary = args[1];
  if (nargs > 2) fin_o = args[2];
  if (nargs > 3) compress_o = args[3];
  for (Py_ssize_t i = 0; i < nkw; i++) {
    PyObject *k = PyTuple_GET_ITEM(kwnames, i);
    if (PyUnicode_CompareWithASCIIString(k, "binary") == 0 && !binary) binary = args[nargs + i];
    else if (PyUnicode_CompareWithASCIIString(k, "fin") == 0 && !fin_o) fin_o = args[nargs + i];
    else if (PyUnicode_CompareWithASCIIString(k, "compress") == 0 && !compress_o)
      compress_o = args[nargs + i];
    else goto usage;
  }
  int fin = 1, compress = 1;
  if (fin_o && (fin = PyObject_IsTrue(fin_o)) < 0) return NULL;
  if (compress_o && compress_o != Py_None && (compress = PyObject_IsTrue(compress_o)) < 0)
    return NULL;
  payload_t p;
  if (payload_get(data, &p) < 0) return NULL;
  int type;
  if (parse_type(binary, &p, fin && !c->tx_open, &type) < 0) {
    payload_release(&p);
    return NULL;
  }
  int flags = type | (fin ? 0 : UVWS_MORE) | (compress ? 0 : UVWS_NO_COMPRESS);
  LoopObject *L = c->loop;
  if (!c->ws) {
    payload_release(&p);
    return closed_error(c);
  }
  if (!uvwspy_loop_is_owner(L)) {
    /* Another thread: hand an immutable copy to the loop thread. */
    PyObject *keep;
    if (p.immutable) {
      keep = data;
      Py_INCREF(keep);
    } else {
      keep = PyBytes_FromStringAndSize(p.ptr, p.len);
    }
    payload_release(&p);
    if (!keep) return NULL;
    int r = uvwspy_xop_push(L, XOP_SEND, c, keep, flags, 0);
    Py_DECREF(keep);
    if (r < 0) return NULL;
    return PyLong_FromLong(UVWS_SEND_QUEUED);
  }
  uvwspy_enter(L);
  int r = do_send(c, data, &p, flags);
  if (r >= 0 && r != UVWS_SEND_DROPPED) c->tx_open = !fin;
  payload_release(&p);
  if (!L->in_run) uvwspy_kick(L);
  if (r < 0) return uvwspy_raise(r, NULL);
  return PyLong_FromLong(r);
usage:
  PyErr_SetString(PyExc_TypeError, "send(data, binary=None, fin=True, compress=True)");
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Topics                                                              */
/* ------------------------------------------------------------------ */

int uvwspy_topic_arg(PyObject *o, const char **p, Py_ssize_t *n) {
  if (PyUnicode_Check(o)) {
    *p = PyUnicode_AsUTF8AndSize(o, n);
    return *p ? 0 : -1;
  }
  if (PyBytes_Check(o)) {
    *p = PyBytes_AS_STRING(o);
    *n = PyBytes_GET_SIZE(o);
    return 0;
  }
  PyErr_Format(PyExc_TypeError, "topic must be str, not %.100s", Py_TYPE(o)->tp_name);
  return -1;
}

/* Topic calls touch the engine's registry: only from the loop's thread. */
static int topic_thread_ok(LoopObject *L, const char *what) {
  if (uvwspy_loop_is_owner(L)) return 0;
  PyErr_Format(PyExc_RuntimeError, "%s() must be called in the loop's thread", what);
  return -1;
}

PyObject *uvwspy_publish(LoopObject *L, uvws_server_t *srv, uvws_t *ws, PyObject *args,
                         PyObject *kw) {
  static char *kwlist[] = {"topic", "data", "binary", "compress", NULL};
  PyObject *topic, *data, *binary = Py_None, *compress_o = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OO:publish", kwlist, &topic, &data, &binary,
                                   &compress_o))
    return NULL;
  const char *t;
  Py_ssize_t tlen;
  if (uvwspy_topic_arg(topic, &t, &tlen) < 0) return NULL;
  int compress = 1;
  if (compress_o != Py_None && (compress = PyObject_IsTrue(compress_o)) < 0) return NULL;
  if (topic_thread_ok(L, "publish") < 0) return NULL;
  payload_t p;
  if (payload_get(data, &p) < 0) return NULL;
  int type;
  if (parse_type(binary, &p, 1, &type) < 0) {
    payload_release(&p);
    return NULL;
  }
  int flags = type | (compress ? 0 : UVWS_NO_COMPRESS);
  uvwspy_enter(L);
  int r = ws ? uvws_publish(ws, t, (size_t)tlen, p.ptr, (size_t)p.len, flags)
             : uvws_server_publish(srv, t, (size_t)tlen, p.ptr, (size_t)p.len, flags);
  payload_release(&p);
  if (!L->in_run) uvwspy_kick(L);
  if (r < 0) return uvwspy_raise(r, NULL);
  return PyLong_FromLong(r);
}

static PyObject *Conn_subscribe(ConnObject *c, PyObject *arg) {
  const char *t;
  Py_ssize_t n;
  if (uvwspy_topic_arg(arg, &t, &n) < 0 || topic_thread_ok(c->loop, "subscribe") < 0) return NULL;
  if (!c->ws) return closed_error(c);
  int r = uvws_subscribe(c->ws, t, (size_t)n);
  if (r < 0) return uvwspy_raise(r, NULL);
  return PyBool_FromLong(r);
}

static PyObject *Conn_unsubscribe(ConnObject *c, PyObject *arg) {
  const char *t;
  Py_ssize_t n;
  if (uvwspy_topic_arg(arg, &t, &n) < 0 || topic_thread_ok(c->loop, "unsubscribe") < 0)
    return NULL;
  if (!c->ws) Py_RETURN_FALSE; /* closing unsubscribed it from everything */
  int r = uvws_unsubscribe(c->ws, t, (size_t)n);
  if (r < 0) return uvwspy_raise(r, NULL);
  return PyBool_FromLong(r);
}

static PyObject *Conn_is_subscribed(ConnObject *c, PyObject *arg) {
  const char *t;
  Py_ssize_t n;
  if (uvwspy_topic_arg(arg, &t, &n) < 0 || topic_thread_ok(c->loop, "is_subscribed") < 0)
    return NULL;
  return PyBool_FromLong(c->ws && uvws_is_subscribed(c->ws, t, (size_t)n));
}

static int add_topic(uvws_t *ws, const char *f, size_t len, void *arg) {
  PyObject *s = PyUnicode_DecodeUTF8(f, (Py_ssize_t)len, "strict");
  if (!s || PyList_Append((PyObject *)arg, s) < 0) {
    Py_XDECREF(s);
    return 1;
  }
  Py_DECREF(s);
  return 0;
}

static PyObject *Conn_get_topics(ConnObject *c, void *x) {
  if (topic_thread_ok(c->loop, "topics") < 0) return NULL;
  PyObject *list = PyList_New(0);
  if (!list || !c->ws) return list;
  uvws_topics(c->ws, add_topic, list);
  if (PyErr_Occurred()) Py_CLEAR(list);
  return list;
}

static PyObject *Conn_publish(ConnObject *c, PyObject *args, PyObject *kw) {
  if (!c->ws) return closed_error(c);
  return uvwspy_publish(c->loop, NULL, c->ws, args, kw);
}

static PyObject *control(ConnObject *c, PyObject *args, int kind) {
  PyObject *data = NULL;
  if (!PyArg_UnpackTuple(args, kind == XOP_PING ? "ping" : "pong", 0, 1, &data)) return NULL;
  payload_t p = {.ptr = "", .len = 0};
  if (data && data != Py_None && payload_get(data, &p) < 0) return NULL;
  if (p.len > 125) {
    payload_release(&p);
    PyErr_SetString(PyExc_ValueError, "control frame payload must be at most 125 bytes");
    return NULL;
  }
  LoopObject *L = c->loop;
  if (!c->ws) {
    payload_release(&p);
    return closed_error(c);
  }
  if (!uvwspy_loop_is_owner(L)) {
    PyObject *keep = PyBytes_FromStringAndSize(p.ptr, p.len);
    payload_release(&p);
    if (!keep) return NULL;
    int r = uvwspy_xop_push(L, kind, c, keep, 0, 0);
    Py_DECREF(keep);
    if (r < 0) return NULL;
    Py_RETURN_NONE;
  }
  uvwspy_enter(L);
  int r = kind == XOP_PING ? uvws_ping(c->ws, p.ptr, (size_t)p.len)
                           : uvws_pong(c->ws, p.ptr, (size_t)p.len);
  payload_release(&p);
  if (!L->in_run) uvwspy_kick(L);
  if (r < 0) return uvwspy_raise(r, NULL);
  Py_RETURN_NONE;
}

static PyObject *Conn_ping(ConnObject *c, PyObject *args) { return control(c, args, XOP_PING); }
static PyObject *Conn_pong(ConnObject *c, PyObject *args) { return control(c, args, XOP_PONG); }

static int do_close(ConnObject *c, int code, const char *reason, size_t len) {
  int r = uvws_close(c->ws, code, reason, len);
  return r == UVWS_ECLOSED ? 0 : r; /* closing twice is not an error */
}

static PyObject *Conn_close(ConnObject *c, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"code", "reason", NULL};
  int code = 0;
  PyObject *reason_o = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|iO:close", kwlist, &code, &reason_o)) return NULL;
  payload_t p = {.ptr = "", .len = 0};
  if (reason_o && reason_o != Py_None && payload_get(reason_o, &p) < 0) return NULL;
  int bad = (code == 0 ? p.len != 0 : !uvws_close_code_is_valid(code)) || p.len > 123 ||
            (!p.is_str && !uvws_utf8_is_valid(p.ptr, (size_t)p.len));
  if (bad) {
    payload_release(&p);
    PyErr_Format(PyExc_ValueError,
                 "invalid close code %d or reason (code 1000, 1001-1003, 1007-1014 or "
                 "3000-4999, or none with an empty reason; reason at most 123 bytes of UTF-8)",
                 code);
    return NULL;
  }
  LoopObject *L = c->loop;
  if (!c->ws) {
    payload_release(&p);
    Py_RETURN_NONE;
  }
  if (!uvwspy_loop_is_owner(L)) {
    PyObject *keep = PyBytes_FromStringAndSize(p.ptr, p.len);
    payload_release(&p);
    if (!keep) return NULL;
    int r = uvwspy_xop_push(L, XOP_CLOSE, c, keep, 0, code);
    Py_DECREF(keep);
    if (r < 0) return NULL;
    Py_RETURN_NONE;
  }
  uvwspy_enter(L);
  int r = do_close(c, code, p.ptr, (size_t)p.len);
  payload_release(&p);
  if (!L->in_run) uvwspy_kick(L);
  if (r < 0) return uvwspy_raise(r, NULL);
  Py_RETURN_NONE;
}

static PyObject *Conn_terminate(ConnObject *c, PyObject *unused) {
  if (!c->ws) Py_RETURN_NONE;
  LoopObject *L = c->loop;
  if (!uvwspy_loop_is_owner(L)) {
    if (uvwspy_xop_push(L, XOP_TERMINATE, c, NULL, 0, 0) < 0) return NULL;
    Py_RETURN_NONE;
  }
  uvwspy_enter(L);
  uvws_terminate(c->ws);
  if (!L->in_run) uvwspy_kick(L);
  Py_RETURN_NONE;
}

void uvwspy_conn_exec(ConnObject *c, int kind, PyObject *data, int flags, int code) {
  if (!c->ws) return; /* closed meanwhile: nothing to do */
  payload_t p = {.ptr = "", .len = 0};
  if (data && payload_get(data, &p) < 0) {
    PyErr_Clear();
    return;
  }
  switch (kind) {
    case XOP_SEND: do_send(c, data, &p, flags); break;
    case XOP_PING: uvws_ping(c->ws, p.ptr, (size_t)p.len); break;
    case XOP_PONG: uvws_pong(c->ws, p.ptr, (size_t)p.len); break;
    case XOP_CLOSE: do_close(c, code, p.ptr, (size_t)p.len); break;
    case XOP_TERMINATE: uvws_terminate(c->ws); break;
  }
  payload_release(&p);
}

static PyObject *Conn_pause(ConnObject *c, PyObject *unused) {
  if (c->ws) {
    uvwspy_enter(c->loop);
    uvws_pause(c->ws);
    if (!c->loop->in_run) uvwspy_kick(c->loop);
  }
  Py_RETURN_NONE;
}

static PyObject *Conn_resume(ConnObject *c, PyObject *unused) {
  if (c->ws) {
    uvwspy_enter(c->loop);
    uvws_resume(c->ws);
    if (!c->loop->in_run) uvwspy_kick(c->loop);
  }
  Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* Queue mode (asyncio API)                                            */
/* ------------------------------------------------------------------ */

static PyObject *Conn_set_queue(ConnObject *c, PyObject *arg) {
  Py_ssize_t max = PyLong_AsSsize_t(arg);
  if (max == -1 && PyErr_Occurred()) return NULL;
  c->qmode = 1;
  c->q_max = max < 0 ? 0 : max;
  Py_RETURN_NONE;
}

static PyObject *Conn_pop(ConnObject *c, PyObject *unused) {
  if (!c->q_len) Py_RETURN_NONE;
  PyObject *m = c->q[c->q_head];
  c->q_head = (c->q_head + 1) % c->q_cap;
  c->q_len--;
  if (c->q_paused && c->q_len <= c->q_max / 4) {
    c->q_paused = 0;
    if (c->ws) {
      uvwspy_enter(c->loop);
      uvws_resume(c->ws);
      if (!c->loop->in_run) uvwspy_kick(c->loop);
    }
  }
  return m;
}

/* ------------------------------------------------------------------ */
/* Client connect                                                      */
/* ------------------------------------------------------------------ */

static int get_size(PyObject *d, const char *key, size_t *out) {
  PyObject *v = PyDict_GetItemString(d, key);
  if (!v || v == Py_None) return 0;
  unsigned long long x = PyLong_AsUnsignedLongLong(v);
  if (x == (unsigned long long)-1 && PyErr_Occurred()) return -1;
  *out = (size_t)x;
  return 0;
}

static int get_uint(PyObject *d, const char *key, unsigned *out) {
  PyObject *v = PyDict_GetItemString(d, key);
  if (!v || v == Py_None) return 0;
  unsigned long x = PyLong_AsUnsignedLong(v);
  if (x == (unsigned long)-1 && PyErr_Occurred()) return -1;
  if (x > 0xffffffffUL) {
    PyErr_Format(PyExc_OverflowError, "%s is too large", key);
    return -1;
  }
  *out = (unsigned)x;
  return 0;
}

int uvwspy_parse_limits(PyObject *d, uvws_limits_t *lim) {
  if (!d || d == Py_None) return 0;
  if (!PyDict_Check(d)) {
    PyErr_SetString(PyExc_TypeError, "limits must be a dict");
    return -1;
  }
  unsigned cob = lim->close_on_backpressure;
  if (get_size(d, "max_payload", &lim->max_payload) < 0 ||
      get_uint(d, "max_fragments", &lim->max_fragments) < 0 ||
      get_size(d, "max_backpressure", &lim->max_backpressure) < 0 ||
      get_uint(d, "close_on_backpressure", &cob) < 0 ||
      get_uint(d, "idle_timeout_ms", &lim->idle_timeout_ms) < 0 ||
      get_uint(d, "ping_interval_ms", &lim->ping_interval_ms) < 0 ||
      get_uint(d, "pong_timeout_ms", &lim->pong_timeout_ms) < 0 ||
      get_uint(d, "close_timeout_ms", &lim->close_timeout_ms) < 0)
    return -1;
  lim->close_on_backpressure = cob != 0;
  return 0;
}

int uvwspy_parse_deflate(PyObject *d, uvws_deflate_options_t **out) {
  *out = NULL;
  if (!d || d == Py_None) return 0;
  if (!PyDict_Check(d)) {
    PyErr_SetString(PyExc_TypeError, "deflate options must be a dict");
    return -1;
  }
  static const char *ints[] = {"server_no_context_takeover", "client_no_context_takeover",
                               "server_max_window_bits", "client_max_window_bits", "level",
                               "mem_level", "threshold", NULL};
  PyObject *key;
  Py_ssize_t pos = 0;
  while (PyDict_Next(d, &pos, &key, NULL)) {
    int ok = 0;
    for (int i = 0; ints[i] && !ok; i++) ok = PyUnicode_CompareWithASCIIString(key, ints[i]) == 0;
    if (!ok) {
      PyErr_Format(PyExc_TypeError, "unknown permessage-deflate option %R", key);
      return -1;
    }
  }
  uvws_deflate_options_t *o = PyMem_Calloc(1, sizeof(*o));
  if (!o) {
    PyErr_NoMemory();
    return -1;
  }
  int *fields[] = {&o->server_no_context_takeover, &o->client_no_context_takeover,
                   &o->server_max_window_bits, &o->client_max_window_bits, &o->level,
                   &o->mem_level};
  for (int i = 0; i < 6; i++) {
    PyObject *v = PyDict_GetItemString(d, ints[i]);
    if (!v || v == Py_None) continue;
    long x = PyLong_AsLong(v);
    if (x == -1 && PyErr_Occurred()) goto fail;
    *fields[i] = (int)x;
  }
  if (get_size(d, "threshold", &o->threshold) < 0) goto fail;
  *out = o;
  return 0;
fail:
  PyMem_Free(o);
  return -1;
}

static PyObject *Conn_connect(ConnObject *c, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"loop", "url", "protocols", "headers", "origin",
                           "connect_timeout_ms", "max_response_bytes", "limits", "tls",
                           "deflate", NULL};
  LoopObject *L;
  PyObject *url, *protocols = NULL, *headers = NULL, *origin = Py_None, *limits = NULL,
                 *tls = Py_None, *deflate = Py_None;
  unsigned connect_timeout = 0;
  Py_ssize_t max_response = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O!U|OOOInOOO:_connect", kwlist, &Loop_Type, &L,
                                   &url, &protocols, &headers, &origin, &connect_timeout,
                                   &max_response, &limits, &tls, &deflate))
    return NULL;
  if (c->ws || c->loop) {
    PyErr_SetString(PyExc_RuntimeError, "connection already used");
    return NULL;
  }
  if (!uvwspy_loop_is_owner(L)) {
    PyErr_SetString(PyExc_RuntimeError, "connect from a thread that does not own the loop");
    return NULL;
  }
  uvws_client_options_t o;
  uvws_client_options_init(&o);
  if (connect_timeout) o.connect_timeout_ms = connect_timeout;
  if (max_response > 0) o.max_response_bytes = (size_t)max_response;
  if (uvwspy_parse_limits(limits, &o.limits) < 0) return NULL;

  PyObject *pseq = NULL, *hseq = NULL;
  const char **pv = NULL;
  uvws_header_t *hv = NULL;
  PyObject *ret = NULL;
  if (protocols && protocols != Py_None) {
    if (!(pseq = PySequence_Fast(protocols, "protocols must be a sequence of str"))) goto done;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(pseq);
    pv = PyMem_Calloc((size_t)n + 1, sizeof(char *));
    if (!pv) {
      PyErr_NoMemory();
      goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
      PyObject *s = PySequence_Fast_GET_ITEM(pseq, i);
      if (!PyUnicode_Check(s)) {
        PyErr_SetString(PyExc_TypeError, "protocols must be str");
        goto done;
      }
      if (!(pv[i] = PyUnicode_AsUTF8(s))) goto done;
    }
    o.protocols = pv;
    o.num_protocols = (size_t)n;
  }
  if (headers && headers != Py_None) {
    if (!(hseq = PySequence_Fast(headers, "headers must be a sequence of (name, value)")))
      goto done;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(hseq);
    hv = PyMem_Calloc((size_t)n + 1, sizeof(*hv));
    if (!hv) {
      PyErr_NoMemory();
      goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
      PyObject *t = PySequence_Fast_GET_ITEM(hseq, i);
      Py_ssize_t nl, vl;
      if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 2 ||
          !PyUnicode_Check(PyTuple_GET_ITEM(t, 0)) || !PyUnicode_Check(PyTuple_GET_ITEM(t, 1))) {
        PyErr_SetString(PyExc_TypeError, "headers must be (str, str) pairs");
        goto done;
      }
      if (!(hv[i].name = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(t, 0), &nl))) goto done;
      if (!(hv[i].value = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(t, 1), &vl))) goto done;
      hv[i].name_len = (size_t)nl;
      hv[i].value_len = (size_t)vl;
    }
    o.headers = hv;
    o.num_headers = (size_t)n;
  }
  if (origin != Py_None) {
    if (!PyUnicode_Check(origin)) {
      PyErr_SetString(PyExc_TypeError, "origin must be str or None");
      goto done;
    }
    if (!(o.origin = PyUnicode_AsUTF8(origin))) goto done;
  }
  if (tls != Py_None) {
    uvws_tls_options_t *t;
    if (uvwspy_tls_from_dict(tls, &c->tls_mem, &c->tls_keep, &t) < 0) goto done;
    o.tls = t;
  }
  if (deflate != Py_None) {
    uvws_deflate_options_t *z;
    if (uvwspy_parse_deflate(deflate, &z) < 0) goto done;
    PyMem_Free(c->deflate);
    c->deflate = z;
    o.deflate = z;
  }
  const char *u = PyUnicode_AsUTF8(url);
  if (!u) goto done;
  uvws_t *ws;
  uvwspy_enter(L);
  int r = uvws_connect(&L->uv, u, &o, &uvwspy_conn_callbacks, c, &ws);
  if (r < 0) {
    uvwspy_raise(r, NULL);
    goto done;
  }
  Py_INCREF(c); /* the engine's reference, dropped in on_close */
  uvwspy_alive[UVWSPY_K_WS]++;
  c->ws = ws;
  Py_INCREF(L);
  c->loop = L;
  uvwspy_loop_live(L, 1);
  c->is_client = 1;
  c->state = UVWS_CONNECTING;
  Py_INCREF(url);
  Py_XSETREF(c->url, url);
  uvwspy_kick(L);
  ret = Py_None;
  Py_INCREF(ret);
done:
  PyMem_Free(pv);
  PyMem_Free(hv);
  Py_XDECREF(pseq);
  Py_XDECREF(hseq);
  return ret;
}

/* ------------------------------------------------------------------ */
/* Properties and type                                                 */
/* ------------------------------------------------------------------ */

static PyObject *Conn_get_ready_state(ConnObject *c, void *x) {
  return PyLong_FromLong(c->ws ? uvws_ready_state(c->ws) : c->state);
}

static PyObject *Conn_get_buffered(ConnObject *c, void *x) {
  return PyLong_FromSize_t(c->ws ? uvws_buffered_amount(c->ws) : 0);
}

static PyObject *Conn_get_closed(ConnObject *c, void *x) {
  return PyBool_FromLong(c->ws == NULL && c->state == UVWS_CLOSED);
}

static PyObject *Conn_get_close_code(ConnObject *c, void *x) {
  if (!c->close_code) Py_RETURN_NONE;
  return PyLong_FromLong(c->close_code);
}

static PyObject *Conn_get_compressed(ConnObject *c, void *x) {
  return PyBool_FromLong(c->extensions != NULL && c->extensions != Py_None &&
                         PyUnicode_GET_LENGTH(c->extensions) > 0);
}

static PyObject *Conn_get_extensions(ConnObject *c, void *x) {
  PyObject *r = c->extensions ? c->extensions : uvwspy_str_empty;
  Py_INCREF(r);
  return r;
}

static PyObject *Conn_get_qsize(ConnObject *c, void *x) { return PyLong_FromSsize_t(c->q_len); }

static PyObject *Conn_get_loop(ConnObject *c, void *x) {
  PyObject *r = c->loop ? (PyObject *)c->loop : Py_None;
  Py_INCREF(r);
  return r;
}

static PyObject *Conn_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  ConnObject *c = (ConnObject *)type->tp_alloc(type, 0);
  if (!c) return NULL;
  uvwspy_alive[UVWSPY_K_CONN]++;
  c->state = UVWS_CONNECTING;
  c->protocol = uvwspy_str_empty;
  Py_INCREF(c->protocol);
  return (PyObject *)c;
}

static int Conn_init(PyObject *self, PyObject *args, PyObject *kw) { return 0; }

static int Conn_traverse(ConnObject *c, visitproc visit, void *arg) {
  Py_VISIT(c->loop);
  Py_VISIT(c->on_open);
  Py_VISIT(c->on_message);
  Py_VISIT(c->on_ping);
  Py_VISIT(c->on_pong);
  Py_VISIT(c->on_drain);
  Py_VISIT(c->on_error);
  Py_VISIT(c->on_close);
  Py_VISIT(c->error);
  Py_VISIT(c->waiter);
  Py_VISIT(c->dict);
  for (Py_ssize_t i = 0; i < c->q_len; i++) Py_VISIT(c->q[(c->q_head + i) % c->q_cap]);
  return 0;
}

static int Conn_clear(ConnObject *c) {
  Py_CLEAR(c->on_open);
  Py_CLEAR(c->on_message);
  Py_CLEAR(c->on_ping);
  Py_CLEAR(c->on_pong);
  Py_CLEAR(c->on_drain);
  Py_CLEAR(c->on_error);
  Py_CLEAR(c->on_close);
  Py_CLEAR(c->error);
  Py_CLEAR(c->waiter);
  Py_CLEAR(c->dict);
  q_clear(c);
  return 0;
}

static void Conn_dealloc(ConnObject *c) {
  /* For a Python subclass, subtype_dealloc drops the type's reference
   * after this returns (the base is static). */
  PyTypeObject *tp = Py_TYPE(c);
  PyObject_GC_UnTrack(c);
  if (c->weakreflist) PyObject_ClearWeakRefs((PyObject *)c);
  Conn_clear(c);
  Py_CLEAR(c->protocol);
  Py_CLEAR(c->remote_address);
  Py_CLEAR(c->url);
  Py_CLEAR(c->close_reason);
  Py_CLEAR(c->tls_keep);
  Py_CLEAR(c->extensions);
  PyMem_Free(c->tls_mem);
  PyMem_Free(c->deflate);
  Py_CLEAR(c->loop);
  uvwspy_alive[UVWSPY_K_CONN]--;
  tp->tp_free((PyObject *)c);
}

static PyMethodDef Conn_methods[] = {
    {"send", (PyCFunction)(void (*)(void))Conn_send, METH_FASTCALL | METH_KEYWORDS,
     "send(data, binary=None, fin=True, compress=True) -> int\n\n"
     "Send a message: str as text, bytes-like as binary (binary=True/False forces the type; "
     "bytes sent as text must be UTF-8). fin=False sends a fragment: the message continues "
     "with the next send. compress=False sends it uncompressed even when permessage-deflate "
     "is on. Returns SEND_OK (written or corked), SEND_QUEUED (buffered: wait "
     "for drain) or SEND_DROPPED (max_backpressure reached). From a thread other than the "
     "loop's, the message is handed to the loop thread and SEND_QUEUED is returned. "
     "Raises InvalidStateError if the connection is not open."},
    {"ping", (PyCFunction)Conn_ping, METH_VARARGS, "ping(data=b'')\n\nSend a ping (<= 125 bytes)."},
    {"pong", (PyCFunction)Conn_pong, METH_VARARGS, "pong(data=b'')\n\nSend an unsolicited pong."},
    {"close", (PyCFunction)(void (*)(void))Conn_close, METH_VARARGS | METH_KEYWORDS,
     "close(code=0, reason='')\n\nStart the closing handshake (code 0: no status code). "
     "Closing a closed connection does nothing."},
    {"terminate", (PyCFunction)Conn_terminate, METH_NOARGS,
     "terminate()\n\nDrop the TCP connection at once, without a closing handshake."},
    {"pause", (PyCFunction)Conn_pause, METH_NOARGS, "pause()\n\nStop reading from the socket."},
    {"resume", (PyCFunction)Conn_resume, METH_NOARGS, "resume()\n\nResume reading."},
    {"_connect", (PyCFunction)(void (*)(void))Conn_connect, METH_VARARGS | METH_KEYWORDS,
     "_connect(loop, url, protocols=None, headers=None, origin=None, connect_timeout_ms=0, "
     "max_response_bytes=0, limits=None, tls=None)\n\nStart a client connection."},
    {"_set_queue", (PyCFunction)Conn_set_queue, METH_O,
     "_set_queue(max_queue)\n\nQueue messages for _pop() instead of calling on_message; "
     "reading pauses while max_queue messages wait (0 = no limit)."},
    {"_pop", (PyCFunction)Conn_pop, METH_NOARGS, "_pop() -> message or None"},
    {"subscribe", (PyCFunction)Conn_subscribe, METH_O,
     "subscribe(topic) -> bool\n\nSubscribe to a topic filter (MQTT wildcards: '+' one "
     "level, '#' the rest; see docs/topics.md). True if newly subscribed, False if it already "
     "was. Server connections only; ValueError for a malformed filter or a limit exceeded."},
    {"unsubscribe", (PyCFunction)Conn_unsubscribe, METH_O,
     "unsubscribe(topic) -> bool\n\nTrue if the connection held exactly this filter."},
    {"is_subscribed", (PyCFunction)Conn_is_subscribed, METH_O,
     "is_subscribed(topic) -> bool\n\nTrue if the connection holds exactly this filter."},
    {"publish", (PyCFunction)(void (*)(void))Conn_publish, METH_VARARGS | METH_KEYWORDS,
     "publish(topic, data, binary=None, compress=True) -> int\n\nSend a message to every "
     "subscriber of `topic` on this connection's server except this connection. Returns "
     "how many connections it was handed to."},
    {NULL, NULL, 0, NULL}};

#define SLOT(name, doc) {"_" #name, T_OBJECT, offsetof(ConnObject, name), 0, doc}
static PyMemberDef Conn_members[] = {
    SLOT(on_open, "Callable(http) run when a client connection opens."),
    SLOT(on_message, "Callable(data, is_binary) for each message."),
    SLOT(on_ping, "Callable(data) for each ping (already answered)."),
    SLOT(on_pong, "Callable(data) for each pong."),
    SLOT(on_drain, "Callable() when the send queue has emptied."),
    SLOT(on_error, "Callable(exc) before a failure closes the connection."),
    SLOT(on_close, "Callable(code, reason), always last."),
    {"_waiter", T_OBJECT, offsetof(ConnObject, waiter), 0, "Future resolved on arrival."},
    {"protocol", T_OBJECT, offsetof(ConnObject, protocol), READONLY, "Negotiated subprotocol."},
    {"remote_address", T_OBJECT, offsetof(ConnObject, remote_address), READONLY,
     "(host, port) of the peer, or None."},
    {"url", T_OBJECT, offsetof(ConnObject, url), READONLY, "Client: the URL."},
    {"error", T_OBJECT, offsetof(ConnObject, error), READONLY,
     "The exception reported before the close, or None."},
    {"close_reason", T_OBJECT, offsetof(ConnObject, close_reason), READONLY,
     "The peer's close reason once closed, else None."},
    {"is_client", T_BOOL, offsetof(ConnObject, is_client), READONLY, "True on a client."},
    {NULL, 0, 0, 0, NULL}};

static PyGetSetDef Conn_getset[] = {
    {"topics", (getter)Conn_get_topics, NULL,
     "The topic filters this connection holds, in subscription order (list of str).", NULL},
    {"ready_state", (getter)Conn_get_ready_state, NULL,
     "CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3).", NULL},
    {"buffered_amount", (getter)Conn_get_buffered, NULL,
     "Bytes accepted by send() not yet handed to the kernel.", NULL},
    {"closed", (getter)Conn_get_closed, NULL, "True once the connection is gone.", NULL},
    {"close_code", (getter)Conn_get_close_code, NULL,
     "The close code reported to on_close (1005: none, 1006: abnormal), or None.", NULL},
    {"_qsize", (getter)Conn_get_qsize, NULL, "Messages waiting in queue mode.", NULL},
    {"extensions", (getter)Conn_get_extensions, NULL,
     "The negotiated Sec-WebSocket-Extensions value, or \"\".", NULL},
    {"compressed", (getter)Conn_get_compressed, NULL,
     "True when permessage-deflate was negotiated.", NULL},
    {"loop", (getter)Conn_get_loop, NULL, "The Loop the connection runs on.", NULL},
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject Conn_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "uvws._uvws.Connection",
    .tp_basicsize = sizeof(ConnObject),
    .tp_dealloc = (destructor)Conn_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .tp_doc = "One WebSocket connection of the engine (server or client side).",
    .tp_traverse = (traverseproc)Conn_traverse,
    .tp_clear = (inquiry)Conn_clear,
    .tp_weaklistoffset = offsetof(ConnObject, weakreflist),
    .tp_dictoffset = offsetof(ConnObject, dict),
    .tp_methods = Conn_methods,
    .tp_members = Conn_members,
    .tp_getset = Conn_getset,
    .tp_init = Conn_init,
    .tp_new = Conn_new,
};

int uvwspy_conn_init_strings(void) {
  str_set_result = PyUnicode_InternFromString("set_result");
  return str_set_result ? 0 : -1;
}

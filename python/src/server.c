/* Server: one uvws_server_t; Upgrade: a pending upgrade decision; and the
 * translation of TLS options. */
#include "uvwsmodule.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* TLS options                                                         */
/* ------------------------------------------------------------------ */

/* A string option: str (UTF-8) or bytes (e.g. os.fsencode(path)). The bytes
 * object is kept alive in `keep` for as long as the engine may read it. */
static int tls_str(PyObject *d, const char *key, PyObject *keep, const char **out) {
  PyObject *v = PyDict_GetItemString(d, key);
  *out = NULL;
  if (!v || v == Py_None) return 0;
  PyObject *b;
  if (PyUnicode_Check(v)) {
    b = PyUnicode_AsUTF8String(v);
  } else if (PyBytes_Check(v)) {
    b = v;
    Py_INCREF(b);
  } else {
    PyErr_Format(PyExc_TypeError, "TLS option %s must be str or bytes", key);
    return -1;
  }
  if (!b) return -1;
  if (PyList_Append(keep, b) < 0) {
    Py_DECREF(b);
    return -1;
  }
  Py_DECREF(b);
  *out = PyBytes_AS_STRING(b);
  return 0;
}

static int tls_int(PyObject *d, const char *key, int *out) {
  PyObject *v = PyDict_GetItemString(d, key);
  if (!v || v == Py_None) return 0;
  long x = PyLong_AsLong(v);
  if (x == -1 && PyErr_Occurred()) return -1;
  *out = (int)x;
  return 0;
}

int uvwspy_tls_from_dict(PyObject *d, void **mem, PyObject **keep_out,
                         uvws_tls_options_t **out) {
  static const char *known[] = {"cert_file", "key_file", "cert_pem", "key_pem", "ca_file",
                                "ca_dir", "ca_pem", "verify_client", "insecure_skip_verify",
                                "server_name", "sni", "ciphers", "ciphersuites",
                                "min_version", NULL};
  if (!PyDict_Check(d)) {
    PyErr_SetString(PyExc_TypeError, "tls options must be a dict");
    return -1;
  }
  PyObject *key;
  Py_ssize_t pos = 0;
  while (PyDict_Next(d, &pos, &key, NULL)) {
    int ok = 0;
    for (int i = 0; known[i] && !ok; i++) ok = PyUnicode_CompareWithASCIIString(key, known[i]) == 0;
    if (!ok) {
      PyErr_Format(PyExc_TypeError, "unknown TLS option %R", key);
      return -1;
    }
  }
  PyObject *sni = PyDict_GetItemString(d, "sni");
  PyObject *sniseq = NULL;
  Py_ssize_t nsni = 0;
  if (sni && sni != Py_None) {
    if (!(sniseq = PySequence_Fast(sni, "sni must be a sequence of dicts"))) return -1;
    nsni = PySequence_Fast_GET_SIZE(sniseq);
  }
  PyObject *keep = PyList_New(0);
  uvws_tls_options_t *t = PyMem_Calloc(1, sizeof(*t) + (size_t)nsni * sizeof(uvws_tls_sni_t));
  if (!keep || !t) {
    Py_XDECREF(keep);
    Py_XDECREF(sniseq);
    PyMem_Free(t);
    PyErr_NoMemory();
    return -1;
  }
  uvws_tls_sni_t *sv = (uvws_tls_sni_t *)(t + 1);
  int skip = 0;
  if (tls_str(d, "cert_file", keep, &t->cert_file) < 0 ||
      tls_str(d, "key_file", keep, &t->key_file) < 0 ||
      tls_str(d, "cert_pem", keep, &t->cert_pem) < 0 ||
      tls_str(d, "key_pem", keep, &t->key_pem) < 0 ||
      tls_str(d, "ca_file", keep, &t->ca_file) < 0 ||
      tls_str(d, "ca_dir", keep, &t->ca_dir) < 0 ||
      tls_str(d, "ca_pem", keep, &t->ca_pem) < 0 ||
      tls_str(d, "server_name", keep, &t->server_name) < 0 ||
      tls_str(d, "ciphers", keep, &t->ciphers) < 0 ||
      tls_str(d, "ciphersuites", keep, &t->ciphersuites) < 0 ||
      tls_int(d, "verify_client", &t->verify_client) < 0 ||
      tls_int(d, "insecure_skip_verify", &skip) < 0 ||
      tls_int(d, "min_version", &t->min_version) < 0)
    goto fail;
  t->insecure_skip_verify = skip != 0;
  for (Py_ssize_t i = 0; i < nsni; i++) {
    PyObject *e = PySequence_Fast_GET_ITEM(sniseq, i);
    if (!PyDict_Check(e)) {
      PyErr_SetString(PyExc_TypeError, "sni entries must be dicts");
      goto fail;
    }
    if (tls_str(e, "server_name", keep, &sv[i].server_name) < 0 ||
        tls_str(e, "cert_file", keep, &sv[i].cert_file) < 0 ||
        tls_str(e, "key_file", keep, &sv[i].key_file) < 0 ||
        tls_str(e, "cert_pem", keep, &sv[i].cert_pem) < 0 ||
        tls_str(e, "key_pem", keep, &sv[i].key_pem) < 0)
      goto fail;
  }
  if (nsni) {
    t->sni = sv;
    t->num_sni = (size_t)nsni;
  }
  Py_XDECREF(sniseq);
  PyMem_Free(*mem);
  *mem = t;
  Py_XSETREF(*keep_out, keep);
  *out = t;
  return 0;
fail:
  Py_XDECREF(sniseq);
  Py_DECREF(keep);
  PyMem_Free(t);
  return -1;
}

/* ------------------------------------------------------------------ */
/* Server callbacks                                                    */
/* ------------------------------------------------------------------ */

static ServerObject *server_of(uvws_server_t *srv) { return uvws_server_get_data(srv); }

static void srv_open(uvws_t *ws, const uvws_http_t *http) {
  ServerObject *s = server_of(uvws_get_server(ws));
  PyTypeObject *tp = s->conn_type;
  ConnObject *c = (ConnObject *)tp->tp_new(tp, uvwspy_empty_tuple, NULL);
  if (!c) {
    uvwspy_report(s->loop, (PyObject *)s, "connection");
    uvws_terminate(ws);
    return;
  }
  Py_INCREF(s->loop);
  c->loop = s->loop;
  uvwspy_loop_live(c->loop, 1);
  c->state = UVWS_OPEN;
  uvws_set_data(ws, c); /* the engine's reference, dropped in on_close */
  uvwspy_alive[UVWSPY_K_WS]++;
  uvwspy_conn_opened(c, ws);
  if (!s->on_open) return;
  PyObject *h = uvwspy_http_tuple(http);
  if (!h) {
    uvwspy_report(s->loop, (PyObject *)c, "connection");
    return;
  }
  PyObject *fn = s->on_open;
  PyObject *args[2] = {(PyObject *)c, h};
  Py_INCREF(fn);
  Py_INCREF(c);
  uvwspy_call(s->loop, (PyObject *)c, "connection", fn, args, 2);
  Py_DECREF(c);
  Py_DECREF(fn);
  Py_DECREF(h);
}

static uvws_callbacks_t server_callbacks;

static void srv_upgrade(uvws_server_t *srv, uvws_upgrade_t *up, const uvws_http_t *req) {
  ServerObject *s = server_of(srv);
  UpgradeObject *u = PyObject_New(UpgradeObject, &Upgrade_Type);
  PyObject *h = NULL, *protos = NULL;
  if (!u) goto fail;
  uvwspy_alive[UVWSPY_K_UPGRADE]++;
  u->up = up;
  Py_INCREF(s);
  u->server = s;
  h = uvwspy_http_tuple(req);
  if (!h) goto fail;
  uvws_header_t offered[64];
  size_t n = uvws_upgrade_protocols(up, offered, 64);
  if (n > 64) n = 64;
  protos = PyTuple_New((Py_ssize_t)n);
  if (!protos) goto fail;
  for (size_t i = 0; i < n; i++) {
    PyObject *p = PyUnicode_DecodeLatin1(offered[i].name, (Py_ssize_t)offered[i].name_len, NULL);
    if (!p) goto fail;
    PyTuple_SET_ITEM(protos, (Py_ssize_t)i, p);
  }
  PyObject *args[3] = {(PyObject *)u, h, protos};
  PyObject *r = PyObject_Vectorcall(s->on_upgrade, args, 3, NULL);
  if (!r) goto fail;
  Py_DECREF(r);
  Py_DECREF(h);
  Py_DECREF(protos);
  Py_DECREF(u); /* undecided and unreferenced: dealloc rejects it */
  return;
fail:
  uvwspy_report(s->loop, (PyObject *)s, "upgrade");
  if (u && u->up) {
    uvws_upgrade_reject(u->up, 500, NULL, 0, NULL, 0);
    u->up = NULL;
  } else if (!u) {
    uvws_upgrade_reject(up, 500, NULL, 0, NULL, 0);
  }
  Py_XDECREF(h);
  Py_XDECREF(protos);
  Py_XDECREF(u);
}

/* Topic callbacks: the connection is the ConnObject the engine holds until
 * on_close (on_subscription also runs for a closing connection's filters,
 * just before its on_close). */
/* Call a topic listener with (conn, ...); `ok` is 0 when building the
 * arguments failed, which is reported instead. Both stay alive across the
 * call, which may drop the last other reference to either. */
static void fire(ServerObject *s, ConnObject *c, const char *what, PyObject *fn,
                 PyObject **args, size_t n, int ok) {
  if (!ok) {
    uvwspy_report(s->loop, (PyObject *)c, what);
    return;
  }
  Py_INCREF(fn);
  Py_INCREF(c);
  uvwspy_call(s->loop, (PyObject *)c, what, fn, args, n);
  Py_DECREF(c);
  Py_DECREF(fn);
}

static void srv_subscription(uvws_t *ws, const char *f, size_t len, size_t nw, size_t old) {
  ServerObject *s = server_of(uvws_get_server(ws));
  ConnObject *c = (ConnObject *)uvws_get_data(ws);
  if (!s || !s->on_subscription || !c) return;
  PyObject *topic = PyUnicode_DecodeUTF8(f, (Py_ssize_t)len, "strict");
  PyObject *a = PyLong_FromSize_t(nw), *b = PyLong_FromSize_t(old);
  PyObject *args[4] = {(PyObject *)c, topic, a, b};
  fire(s, c, "subscription", s->on_subscription, args, 4, topic && a && b);
  Py_XDECREF(topic);
  Py_XDECREF(a);
  Py_XDECREF(b);
}

static void srv_dropped(uvws_t *ws, const char *topic, size_t tlen, const void *data,
                        size_t len, int flags) {
  ServerObject *s = server_of(uvws_get_server(ws));
  ConnObject *c = (ConnObject *)uvws_get_data(ws);
  if (!s || !s->on_dropped || !c) return;
  PyObject *t = Py_None;
  if (topic) t = PyUnicode_DecodeUTF8(topic, (Py_ssize_t)tlen, "strict");
  else Py_INCREF(t);
  PyObject *d = (flags & 0xff) == UVWS_TEXT
                    ? PyUnicode_DecodeUTF8(data, (Py_ssize_t)len, "replace")
                    : PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
  PyObject *args[3] = {(PyObject *)c, t, d};
  fire(s, c, "dropped", s->on_dropped, args, 3, t && d);
  Py_XDECREF(t);
  Py_XDECREF(d);
}

static void srv_closed(uvws_server_t *srv) {
  ServerObject *s = server_of(srv);
  uvws_server_stats(srv, &s->last_stats);
  s->srv = NULL;
  if (s->on_closed) {
    PyObject *fn = s->on_closed;
    Py_INCREF(fn);
    uvwspy_call(s->loop, (PyObject *)s, "server close", fn, NULL, 0);
    Py_DECREF(fn);
  }
  Py_CLEAR(s->on_open);
  Py_CLEAR(s->on_upgrade);
  Py_CLEAR(s->on_closed);
  Py_CLEAR(s->on_subscription);
  Py_CLEAR(s->on_dropped);
  uvwspy_loop_live(s->loop, -1);
  uvwspy_alive[UVWSPY_K_SRV]--;
  Py_DECREF(s); /* the engine's reference */
}

/* ------------------------------------------------------------------ */
/* Server type                                                         */
/* ------------------------------------------------------------------ */

static PyObject *Server_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"loop", "on_open", "host", "port", "path", "backlog", "ipv6_only",
                           "max_header_bytes", "max_headers", "handshake_timeout_ms",
                           "max_connections", "limits", "tls", "on_upgrade", "on_closed",
                           "connection_type", "deflate", "max_pending_handshakes", NULL};
  LoopObject *L;
  PyObject *on_open, *host = Py_None, *path = Py_None, *limits = NULL, *tls = Py_None,
                     *on_upgrade = Py_None, *on_closed = Py_None, *deflate = Py_None;
  PyTypeObject *ctype = &Conn_Type;
  int port = 0, backlog = 0, ipv6_only = 0;
  Py_ssize_t max_header_bytes = 0;
  unsigned max_headers = 0, hs_timeout = 0, max_conns = 0;
  PyObject *max_pending = Py_None; /* None: the engine's default */
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O!O|OiOipnIIIOOOOO!OO:Server", kwlist, &Loop_Type,
                                   &L, &on_open, &host, &port, &path, &backlog, &ipv6_only,
                                   &max_header_bytes, &max_headers, &hs_timeout, &max_conns,
                                   &limits, &tls, &on_upgrade, &on_closed, &PyType_Type, &ctype,
                                   &deflate, &max_pending))
    return NULL;
  if (!PyType_IsSubtype(ctype, &Conn_Type)) {
    PyErr_SetString(PyExc_TypeError, "connection_type must be a subclass of Connection");
    return NULL;
  }
  if (!uvwspy_loop_is_owner(L)) {
    PyErr_SetString(PyExc_RuntimeError, "a server must be started in the thread of its loop");
    return NULL;
  }
  ServerObject *s = (ServerObject *)type->tp_alloc(type, 0);
  if (!s) return NULL;
  uvwspy_alive[UVWSPY_K_SERVER]++;
  Py_INCREF(L);
  s->loop = L;
  Py_INCREF(ctype);
  s->conn_type = ctype;
  uvws_server_options_t o;
  uvws_server_options_init(&o);
  if (host != Py_None) {
    if (!PyUnicode_Check(host)) {
      PyErr_SetString(PyExc_TypeError, "host must be str or None");
      goto fail;
    }
    Py_INCREF(host);
    s->host = host;
    if (!(o.host = PyUnicode_AsUTF8(host))) goto fail;
  }
  if (path != Py_None) {
    if (!PyUnicode_Check(path)) {
      PyErr_SetString(PyExc_TypeError, "path must be str or None");
      goto fail;
    }
    if (!(o.path = PyUnicode_AsUTF8(path))) goto fail;
  }
  o.port = port;
  if (backlog > 0) o.backlog = backlog;
  o.ipv6_only = ipv6_only;
  if (max_header_bytes > 0) o.max_header_bytes = (size_t)max_header_bytes;
  if (max_headers) o.max_headers = max_headers;
  if (hs_timeout) o.handshake_timeout_ms = hs_timeout;
  o.max_connections = max_conns;
  if (max_pending != Py_None) {
    unsigned long v = PyLong_AsUnsignedLong(max_pending);
    if (PyErr_Occurred() || v > 0xFFFFFFFFul) {
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_OverflowError, "max_pending_handshakes is too large");
      goto fail;
    }
    o.max_pending_handshakes = (unsigned)v;
  }
  if (uvwspy_parse_limits(limits, &o.limits) < 0) goto fail;
  if (tls != Py_None) {
    uvws_tls_options_t *t;
    if (uvwspy_tls_from_dict(tls, &s->tls_mem, &s->tls_keep, &t) < 0) goto fail;
    o.tls = t;
  }
  if (deflate != Py_None) {
    if (uvwspy_parse_deflate(deflate, &s->deflate) < 0) goto fail;
    o.deflate = s->deflate;
  }
  if (on_open != Py_None) {
    Py_INCREF(on_open);
    s->on_open = on_open;
  }
  if (on_upgrade != Py_None) {
    Py_INCREF(on_upgrade);
    s->on_upgrade = on_upgrade;
  }
  if (on_closed != Py_None) {
    Py_INCREF(on_closed);
    s->on_closed = on_closed;
  }
  if (!server_callbacks.on_open) {
    server_callbacks = uvwspy_conn_callbacks;
    server_callbacks.on_open = srv_open;
    server_callbacks.on_response = NULL;
  }
  uvwspy_enter(L);
  int r = uvws_server_start(&L->uv, &o, &server_callbacks, s->on_upgrade ? srv_upgrade : NULL,
                            s, &s->srv);
  if (r < 0) {
    s->srv = NULL;
    /* the engine frees a failed server in a later run */
    uvwspy_kick(L);
    uvwspy_raise(r, NULL);
    goto fail;
  }
  s->port = uvws_server_port(s->srv);
  uvwspy_loop_live(L, 1);
  uvwspy_alive[UVWSPY_K_SRV]++;
  Py_INCREF(s); /* the engine's reference, dropped once closed */
  uvwspy_kick(L);
  return (PyObject *)s;
fail:
  Py_DECREF(s);
  return NULL;
}

static PyObject *Server_close(ServerObject *s, PyObject *unused) {
  if (!s->srv || s->closing) Py_RETURN_NONE;
  if (!uvwspy_loop_is_owner(s->loop)) {
    PyErr_SetString(PyExc_RuntimeError, "Server.close() must be called in the loop's thread");
    return NULL;
  }
  s->closing = 1;
  uvwspy_enter(s->loop);
  int r = uvws_server_close(s->srv, srv_closed);
  if (!s->loop->in_run) uvwspy_kick(s->loop);
  if (r < 0 && r != UVWS_ECLOSED) return uvwspy_raise(r, NULL);
  Py_RETURN_NONE;
}

static PyObject *Server_broadcast(ServerObject *s, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"data", "binary", NULL};
  PyObject *data, *binary = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:broadcast", kwlist, &data, &binary))
    return NULL;
  if (!s->srv || s->closing) return PyLong_FromLong(0);
  if (!uvwspy_loop_is_owner(s->loop)) {
    PyErr_SetString(PyExc_RuntimeError, "broadcast() must be called in the loop's thread");
    return NULL;
  }
  Py_buffer view;
  const char *ptr;
  Py_ssize_t len;
  int is_str = PyUnicode_Check(data), has_view = 0;
  if (is_str) {
    if (!(ptr = PyUnicode_AsUTF8AndSize(data, &len))) return NULL;
  } else {
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return NULL;
    has_view = 1;
    ptr = view.buf;
    len = view.len;
  }
  int type = is_str ? UVWS_TEXT : UVWS_BINARY;
  if (binary != Py_None) {
    int b = PyObject_IsTrue(binary);
    if (b < 0) goto err;
    type = b ? UVWS_BINARY : UVWS_TEXT;
    if (!b && !is_str && !uvws_utf8_is_valid(ptr, (size_t)len)) {
      PyErr_SetString(PyExc_ValueError, "text message is not valid UTF-8");
      goto err;
    }
  }
  uvwspy_enter(s->loop);
  size_t n = uvws_server_broadcast(s->srv, ptr, (size_t)len, type);
  if (has_view) PyBuffer_Release(&view);
  if (!s->loop->in_run) uvwspy_kick(s->loop);
  return PyLong_FromSize_t(n);
err:
  if (has_view) PyBuffer_Release(&view);
  return NULL;
}

static PyObject *Server_publish(ServerObject *s, PyObject *args, PyObject *kw) {
  if (!s->srv || s->closing) return PyLong_FromLong(0);
  return uvwspy_publish(s->loop, s->srv, NULL, args, kw);
}

static PyObject *Server_topic_callbacks(ServerObject *s, PyObject *args) {
  PyObject *sub, *drop;
  if (!PyArg_ParseTuple(args, "OO:_topic_callbacks", &sub, &drop)) return NULL;
  if ((sub != Py_None && !PyCallable_Check(sub)) || (drop != Py_None && !PyCallable_Check(drop))) {
    PyErr_SetString(PyExc_TypeError, "callables or None expected");
    return NULL;
  }
  if (!s->srv) Py_RETURN_NONE;
  Py_XINCREF(sub == Py_None ? NULL : sub);
  Py_XINCREF(drop == Py_None ? NULL : drop);
  Py_XSETREF(s->on_subscription, sub == Py_None ? NULL : sub);
  Py_XSETREF(s->on_dropped, drop == Py_None ? NULL : drop);
  uvws_topic_callbacks_t cb = {s->on_subscription ? srv_subscription : NULL,
                               s->on_dropped ? srv_dropped : NULL};
  uvws_server_topic_callbacks(s->srv, &cb);
  Py_RETURN_NONE;
}

static PyObject *Server_num_subscribers(ServerObject *s, PyObject *arg) {
  const char *t;
  Py_ssize_t n;
  if (uvwspy_topic_arg(arg, &t, &n) < 0) return NULL;
  return PyLong_FromSize_t(s->srv ? uvws_server_num_subscribers(s->srv, t, (size_t)n) : 0);
}

/* The engine's counters as a dict, in UVWS_STATS_MAP order (the names come
 * from the macro, nothing is listed twice). */
static PyObject *Server_stats(ServerObject *s, PyObject *unused) {
  uvws_stats_t st = s->last_stats;
  if (s->srv) {
    if (!uvwspy_loop_is_owner(s->loop)) {
      PyErr_SetString(PyExc_RuntimeError, "stats() must be called in the loop's thread");
      return NULL;
    }
    if (uvws_server_stats(s->srv, &st) < 0) return uvwspy_raise(UVWS_EINVAL, NULL);
  }
  PyObject *d = PyDict_New();
  if (!d) return NULL;
#define XX(name, desc)                                        \
  do {                                                        \
    PyObject *v = PyLong_FromUnsignedLongLong(st.name);       \
    if (!v || PyDict_SetItemString(d, #name, v) < 0) {        \
      Py_XDECREF(v);                                          \
      Py_DECREF(d);                                           \
      return NULL;                                            \
    }                                                         \
    Py_DECREF(v);                                             \
  } while (0);
  UVWS_STATS_MAP(XX)
#undef XX
  return d;
}

PyObject *uvwspy_stats_fields(void) {
  PyObject *d = PyDict_New();
  if (!d) return NULL;
#define XX(name, desc)                                        \
  do {                                                        \
    PyObject *v = PyUnicode_FromString(desc);                 \
    if (!v || PyDict_SetItemString(d, #name, v) < 0) {        \
      Py_XDECREF(v);                                          \
      Py_DECREF(d);                                           \
      return NULL;                                            \
    }                                                         \
    Py_DECREF(v);                                             \
  } while (0);
  UVWS_STATS_MAP(XX)
#undef XX
  return d;
}

static PyObject *Server_get_connections(ServerObject *s, void *x) {
  return PyLong_FromSize_t(s->srv ? uvws_server_connections(s->srv) : 0);
}

static PyObject *Server_get_closed(ServerObject *s, void *x) { return PyBool_FromLong(s->srv == NULL); }

static int Server_traverse(ServerObject *s, visitproc visit, void *arg) {
  Py_VISIT(s->loop);
  Py_VISIT(s->conn_type);
  Py_VISIT(s->on_open);
  Py_VISIT(s->on_upgrade);
  Py_VISIT(s->on_closed);
  Py_VISIT(s->on_subscription);
  Py_VISIT(s->on_dropped);
  return 0;
}

static int Server_clear(ServerObject *s) {
  Py_CLEAR(s->on_open);
  Py_CLEAR(s->on_upgrade);
  Py_CLEAR(s->on_closed);
  Py_CLEAR(s->on_subscription);
  Py_CLEAR(s->on_dropped);
  return 0;
}

static void Server_dealloc(ServerObject *s) {
  PyObject_GC_UnTrack(s);
  if (s->weakreflist) PyObject_ClearWeakRefs((PyObject *)s);
  Server_clear(s);
  Py_CLEAR(s->conn_type);
  Py_CLEAR(s->tls_keep);
  Py_CLEAR(s->host);
  PyMem_Free(s->tls_mem);
  PyMem_Free(s->deflate);
  Py_CLEAR(s->loop);
  uvwspy_alive[UVWSPY_K_SERVER]--;
  Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyMethodDef Server_methods[] = {
    {"close", (PyCFunction)Server_close, METH_NOARGS,
     "close()\n\nStop accepting and close every connection with 1001; on_closed runs once "
     "everything is freed."},
    {"stats", (PyCFunction)Server_stats, METH_NOARGS,
     "stats() -> dict\n\nThe engine's counters for this server (names and meanings: "
     "STATS_FIELDS); after the server closed, their final values. Loop thread only."},
    {"broadcast", (PyCFunction)(void (*)(void))Server_broadcast, METH_VARARGS | METH_KEYWORDS,
     "broadcast(data, binary=None) -> int\n\nSend one message to every open connection "
     "(frame header built once). Returns how many connections it was handed to."},
    {"publish", (PyCFunction)(void (*)(void))Server_publish, METH_VARARGS | METH_KEYWORDS,
     "publish(topic, data, binary=None, compress=True) -> int\n\nSend a message to every "
     "connection subscribed to a filter matching `topic`, once each. Returns how many "
     "connections it was handed to (not counting those it was dropped for)."},
    {"_topic_callbacks", (PyCFunction)Server_topic_callbacks, METH_VARARGS,
     "_topic_callbacks(on_subscription, on_dropped)\n\non_subscription(conn, topic, new_count, "
     "old_count) after each subscription change (also for a closing connection's filters); "
     "on_dropped(conn, topic or None, data) when a published or broadcast message is not "
     "handed to a connection (max_backpressure). None clears."},
    {"num_subscribers", (PyCFunction)Server_num_subscribers, METH_O,
     "num_subscribers(topic) -> int\n\nConnections holding exactly this filter."},
    {NULL, NULL, 0, NULL}};

static PyMemberDef Server_members[] = {
    {"port", T_INT, offsetof(ServerObject, port), READONLY, "The port actually bound."},
    {"host", T_OBJECT, offsetof(ServerObject, host), READONLY, "The bind address given."},
    {"closing", T_BOOL, offsetof(ServerObject, closing), READONLY, "True once close() ran."},
    {"loop", T_OBJECT, offsetof(ServerObject, loop), READONLY, "The Loop."},
    {NULL, 0, 0, 0, NULL}};

static PyGetSetDef Server_getset[] = {
    {"connections", (getter)Server_get_connections, NULL, "Number of open connections.", NULL},
    {"closed", (getter)Server_get_closed, NULL, "True once fully closed.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject Server_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "uvws._uvws.Server",
    .tp_basicsize = sizeof(ServerObject),
    .tp_dealloc = (destructor)Server_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Server(loop, on_open, host=None, port=0, path=None, ...)\n\n"
              "A listening WebSocket server of the engine; listens at once.",
    .tp_traverse = (traverseproc)Server_traverse,
    .tp_clear = (inquiry)Server_clear,
    .tp_weaklistoffset = offsetof(ServerObject, weakreflist),
    .tp_methods = Server_methods,
    .tp_members = Server_members,
    .tp_getset = Server_getset,
    .tp_new = Server_new,
};

/* ------------------------------------------------------------------ */
/* Upgrade                                                             */
/* ------------------------------------------------------------------ */

static int headers_from(PyObject *headers, PyObject **seq, uvws_header_t **hv, size_t *n) {
  *seq = NULL;
  *hv = NULL;
  *n = 0;
  if (!headers || headers == Py_None) return 0;
  if (!(*seq = PySequence_Fast(headers, "headers must be a sequence of (name, value)")))
    return -1;
  Py_ssize_t k = PySequence_Fast_GET_SIZE(*seq);
  *hv = PyMem_Calloc((size_t)k + 1, sizeof(**hv));
  if (!*hv) {
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < k; i++) {
    PyObject *t = PySequence_Fast_GET_ITEM(*seq, i);
    Py_ssize_t nl, vl;
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(t, 0)) ||
        !PyUnicode_Check(PyTuple_GET_ITEM(t, 1))) {
      PyErr_SetString(PyExc_TypeError, "headers must be (str, str) pairs");
      return -1;
    }
    /* Names and values are checked by the engine (UVWS_EINVAL). */
    const char *name = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(t, 0), &nl);
    const char *value = name ? PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(t, 1), &vl) : NULL;
    if (!value) return -1;
    (*hv)[i] = (uvws_header_t){name, (size_t)nl, value, (size_t)vl};
  }
  *n = (size_t)k;
  return 0;
}

/* Both decisions: once only, and in the loop's thread. */
static int upgrade_check(UpgradeObject *u) {
  if (!u->up) {
    PyErr_SetString(PyExc_RuntimeError, "upgrade already decided");
    return -1;
  }
  if (!uvwspy_loop_is_owner(u->server->loop)) {
    PyErr_SetString(PyExc_RuntimeError, "an upgrade must be decided in the loop's thread");
    return -1;
  }
  return 0;
}

static PyObject *Upgrade_accept(UpgradeObject *u, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"protocol", "headers", NULL};
  PyObject *protocol = Py_None, *headers = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:accept", kwlist, &protocol, &headers))
    return NULL;
  if (upgrade_check(u) < 0) return NULL;
  const char *proto = NULL;
  if (protocol != Py_None) {
    if (!PyUnicode_Check(protocol)) {
      PyErr_SetString(PyExc_TypeError, "protocol must be str or None");
      return NULL;
    }
    if (!(proto = PyUnicode_AsUTF8(protocol))) return NULL;
  }
  PyObject *seq;
  uvws_header_t *hv;
  size_t n;
  if (headers_from(headers, &seq, &hv, &n) < 0) {
    Py_XDECREF(seq);
    PyMem_Free(hv);
    return NULL;
  }
  LoopObject *L = u->server->loop;
  Py_INCREF(u);
  uvwspy_enter(L);
  int r = uvws_upgrade_accept(u->up, proto, hv, n, NULL);
  /* EPROTOCOL and EINVAL decide nothing; anything else decided (or freed
   * the upgrade: socket gone). */
  if (r != UVWS_EPROTOCOL && r != UVWS_EINVAL) u->up = NULL;
  Py_XDECREF(seq);
  PyMem_Free(hv);
  if (!L->in_run) uvwspy_kick(L);
  Py_DECREF(u);
  if (r == UVWS_EPROTOCOL) {
    PyErr_Format(PyExc_ValueError, "subprotocol %R was not offered by the client", protocol);
    return NULL;
  }
  if (r == UVWS_EINVAL) return uvwspy_raise(r, NULL); /* a refused header */
  return PyBool_FromLong(r == 0);
}

static PyObject *Upgrade_reject(UpgradeObject *u, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"status", "body", "headers", NULL};
  int status = 400;
  PyObject *body = Py_None, *headers = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|iOO:reject", kwlist, &status, &body, &headers))
    return NULL;
  if (upgrade_check(u) < 0) return NULL;
  const char *bp = NULL;
  Py_ssize_t bl = 0;
  if (body != Py_None) {
    if (PyUnicode_Check(body)) {
      if (!(bp = PyUnicode_AsUTF8AndSize(body, &bl))) return NULL;
    } else if (PyBytes_Check(body)) {
      bp = PyBytes_AS_STRING(body);
      bl = PyBytes_GET_SIZE(body);
    } else {
      PyErr_SetString(PyExc_TypeError, "body must be str, bytes or None");
      return NULL;
    }
  }
  PyObject *seq;
  uvws_header_t *hv;
  size_t n;
  if (headers_from(headers, &seq, &hv, &n) < 0) {
    Py_XDECREF(seq);
    PyMem_Free(hv);
    return NULL;
  }
  LoopObject *L = u->server->loop;
  uvwspy_enter(L);
  int r = uvws_upgrade_reject(u->up, status, hv, n, bp, (size_t)bl);
  if (r != UVWS_EINVAL) u->up = NULL; /* EINVAL: a refused header, nothing decided */
  Py_XDECREF(seq);
  PyMem_Free(hv);
  if (!L->in_run) uvwspy_kick(L);
  if (r == UVWS_EINVAL) return uvwspy_raise(r, NULL);
  return PyBool_FromLong(r == 0);
}

static PyObject *Upgrade_get_aborted(UpgradeObject *u, void *x) {
  return PyBool_FromLong(u->up ? uvws_upgrade_is_aborted(u->up) : 0);
}

static PyObject *Upgrade_get_decided(UpgradeObject *u, void *x) { return PyBool_FromLong(u->up == NULL); }

static void Upgrade_dealloc(UpgradeObject *u) {
  if (u->up && uvwspy_loop_is_owner(u->server->loop)) {
    /* Nobody decided and nobody can any more. (Dropped in another thread,
     * it is left to the handshake timeout.) */
    uvws_upgrade_reject(u->up, 500, NULL, 0, "no decision", 11);
    u->up = NULL;
    if (u->server && !u->server->loop->in_run) uvwspy_kick(u->server->loop);
  }
  Py_CLEAR(u->server);
  uvwspy_alive[UVWSPY_K_UPGRADE]--;
  PyObject_Free(u);
}

static PyMethodDef Upgrade_methods[] = {
    {"accept", (PyCFunction)(void (*)(void))Upgrade_accept, METH_VARARGS | METH_KEYWORDS,
     "accept(protocol=None, headers=None) -> bool\n\nAccept the upgrade, answering with "
     "`protocol` (one the client offered) and extra response headers. False if the socket "
     "was already gone. ValueError (nothing decided) for a protocol not offered, a header "
     "name that is not an HTTP token or a value with CR, LF, NUL or another control "
     "character."},
    {"reject", (PyCFunction)(void (*)(void))Upgrade_reject, METH_VARARGS | METH_KEYWORDS,
     "reject(status=400, body=None, headers=None) -> bool\n\nAnswer with an HTTP error "
     "(400-599) and close. Headers are checked as by accept() (ValueError, nothing "
     "decided)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Upgrade_getset[] = {
    {"aborted", (getter)Upgrade_get_aborted, NULL, "True once the socket is gone.", NULL},
    {"decided", (getter)Upgrade_get_decided, NULL, "True once accepted or rejected.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject Upgrade_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "uvws._uvws.Upgrade",
    .tp_basicsize = sizeof(UpgradeObject),
    .tp_dealloc = (destructor)Upgrade_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A pending upgrade decision (server hook). Decide once with accept() or reject(); "
              "dropped undecided, it is rejected with 500.",
    .tp_methods = Upgrade_methods,
    .tp_getset = Upgrade_getset,
};

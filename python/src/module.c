/* Module object, error translation, reporting of callback exceptions. */
#include "uvwsmodule.h"

PyObject *uvwspy_error_factory;
PyObject *uvwspy_error_hook;
PyObject *uvwspy_get_running_loop;
PyObject *uvwspy_empty_tuple;
PyObject *uvwspy_str_empty;

PyObject *uvwspy_make_error(int code, const char *msg) {
  if (!msg) msg = uvws_strerror(code);
  if (uvwspy_error_factory) {
    PyObject *c = PyLong_FromLong(code);
    PyObject *m = c ? PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "replace") : NULL;
    PyObject *e = m ? PyObject_CallFunctionObjArgs(uvwspy_error_factory, c, m, NULL) : NULL;
    Py_XDECREF(c);
    Py_XDECREF(m);
    return e;
  }
  return PyObject_CallFunction(PyExc_RuntimeError, "sis", "uvws error", code, msg);
}

PyObject *uvwspy_raise(int code, const char *msg) {
  char buf[512];
  if (!msg && (code == UVWS_ETLS || code == UVWS_EINVAL) && *uvws_last_error()) {
    /* a synchronous TLS failure (certificate or key not loadable), or a
     * header or subprotocol the engine refused: it keeps the details per
     * thread */
    snprintf(buf, sizeof(buf), "%s: %s", uvws_strerror(code), uvws_last_error());
    msg = buf;
  }
  PyObject *e = uvwspy_make_error(code, msg);
  if (e) {
    PyErr_SetObject((PyObject *)Py_TYPE(e), e);
    Py_DECREF(e);
  }
  return NULL;
}

void uvwspy_report(LoopObject *L, PyObject *obj, const char *where) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  if (!type) return;
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb && value) PyException_SetTraceback(value, tb);
  Py_XDECREF(tb);
  if (!value) {
    Py_DECREF(type);
    return;
  }
  if (!PyErr_GivenExceptionMatches(type, PyExc_Exception)) {
    /* KeyboardInterrupt, SystemExit, ...: stop the loop and re-raise them
     * from the run, where asyncio lets them through. */
    Py_DECREF(type);
    if (L && !L->fatal) {
      L->fatal = value;
      if (L->uv_ready) uv_stop(&L->uv);
    } else {
      Py_DECREF(value);
    }
    return;
  }
  Py_DECREF(type);
  if (uvwspy_error_hook) {
    PyObject *w = PyUnicode_FromString(where);
    PyObject *r = w ? PyObject_CallFunctionObjArgs(uvwspy_error_hook, obj ? obj : Py_None,
                                                   value, w, NULL)
                    : NULL;
    Py_XDECREF(w);
    if (r) Py_DECREF(r);
    else if (PyErr_ExceptionMatches(PyExc_Exception)) PyErr_WriteUnraisable(uvwspy_error_hook);
    else uvwspy_report(L, NULL, "error hook"); /* a BaseException again */
    Py_DECREF(value);
    return;
  }
  PyErr_SetObject((PyObject *)Py_TYPE(value), value);
  Py_DECREF(value);
  PyErr_WriteUnraisable(obj);
}

void uvwspy_call(LoopObject *L, PyObject *obj, const char *where, PyObject *fn,
                 PyObject *const *args, size_t nargs) {
  PyObject *r = PyObject_Vectorcall(fn, args, nargs, NULL);
  if (r) Py_DECREF(r);
  else uvwspy_report(L, obj, where);
}

static PyObject *latin1(const char *s, size_t n) {
  return PyUnicode_DecodeLatin1(s ? s : "", s ? (Py_ssize_t)n : 0, NULL);
}

PyObject *uvwspy_http_tuple(const uvws_http_t *h) {
  PyObject *headers = PyTuple_New((Py_ssize_t)h->num_headers);
  if (!headers) return NULL;
  for (size_t i = 0; i < h->num_headers; i++) {
    const uvws_header_t *x = &h->headers[i];
    PyObject *n = latin1(x->name, x->name_len), *v = latin1(x->value, x->value_len);
    PyObject *t = (n && v) ? PyTuple_Pack(2, n, v) : NULL;
    Py_XDECREF(n);
    Py_XDECREF(v);
    if (!t) {
      Py_DECREF(headers);
      return NULL;
    }
    PyTuple_SET_ITEM(headers, (Py_ssize_t)i, t);
  }
  PyObject *path = h->path ? latin1(h->path, h->path_len) : (Py_INCREF(Py_None), Py_None);
  PyObject *query = h->query ? latin1(h->query, h->query_len) : (Py_INCREF(Py_None), Py_None);
  PyObject *ip = h->remote_ip ? PyUnicode_FromString(h->remote_ip) : (Py_INCREF(Py_None), Py_None);
  PyObject *r = NULL;
  if (path && query && ip)
    r = Py_BuildValue("(iOOOOi)", h->status, path, query, headers, ip, h->remote_port);
  Py_XDECREF(path);
  Py_XDECREF(query);
  Py_XDECREF(ip);
  Py_DECREF(headers);
  return r;
}

/* ------------------------------------------------------------------ */

static PyObject *mod_set_hooks(PyObject *m, PyObject *args) {
  PyObject *factory, *hook;
  if (!PyArg_ParseTuple(args, "OO:_set_hooks", &factory, &hook)) return NULL;
  Py_INCREF(factory);
  Py_INCREF(hook);
  Py_XSETREF(uvwspy_error_factory, factory);
  Py_XSETREF(uvwspy_error_hook, hook);
  Py_RETURN_NONE;
}

static PyObject *mod_strerror(PyObject *m, PyObject *arg) {
  int code = PyLong_AsLong(arg);
  if (code == -1 && PyErr_Occurred()) return NULL;
  return PyUnicode_FromString(uvws_strerror(code));
}

static PyObject *mod_version(PyObject *m, PyObject *unused) {
  return PyUnicode_FromString(uvws_version());
}

static PyObject *mod_close_code_is_valid(PyObject *m, PyObject *arg) {
  long code = PyLong_AsLong(arg);
  if (code == -1 && PyErr_Occurred()) return NULL;
  return PyBool_FromLong(code >= 0 && code <= 65535 && uvws_close_code_is_valid((int)code));
}

static PyObject *mod_utf8_is_valid(PyObject *m, PyObject *arg) {
  Py_buffer b;
  if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) return NULL;
  int ok = uvws_utf8_is_valid(b.buf, (size_t)b.len);
  PyBuffer_Release(&b);
  return PyBool_FromLong(ok);
}

Py_ssize_t uvwspy_alive[UVWSPY_K_N];

static PyObject *mod_debug_counts(PyObject *m, PyObject *noargs) {
  static const char *names[UVWSPY_K_N] = {"loops", "connections", "servers", "upgrades",
                                          "engine_connections", "engine_servers", "queued_ops"};
  PyObject *d = PyDict_New();
  if (!d) return NULL;
  for (int i = 0; i < UVWSPY_K_N; i++) {
    PyObject *v = PyLong_FromSsize_t(uvwspy_alive[i]);
    if (!v || PyDict_SetItemString(d, names[i], v) < 0) {
      Py_XDECREF(v);
      Py_DECREF(d);
      return NULL;
    }
    Py_DECREF(v);
  }
  return d;
}

static PyMethodDef module_methods[] = {
    {"_debug_counts", mod_debug_counts, METH_NOARGS,
     "_debug_counts() -> dict\n\nFor tests: how many objects of each kind the binding "
     "holds now (Python wrappers, engine connections and servers, queued cross-thread "
     "operations). Every count is back to 0 once everything is closed and collected."},
    {"_set_hooks", mod_set_hooks, METH_VARARGS,
     "_set_hooks(error_factory, error_hook)\n\nInstall the Python functions "
     "that build exceptions from engine error codes and report exceptions "
     "raised by callbacks."},
    {"strerror", mod_strerror, METH_O, "strerror(code) -> str\n\nName an engine or libuv error code."},
    {"version", mod_version, METH_NOARGS, "version() -> str\n\nVersion of the linked engine."},
    {"close_code_is_valid", mod_close_code_is_valid, METH_O,
     "close_code_is_valid(code) -> bool\n\nTrue if an application may send `code` in a close frame."},
    {"utf8_is_valid", mod_utf8_is_valid, METH_O,
     "utf8_is_valid(data) -> bool\n\nTrue if the bytes are well-formed UTF-8."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_uvws",
    "The uvws engine (C, libuv) for Python. Internal: use the `uvws` package.", -1,
    module_methods};

#ifdef UVWS_PY_LIBUV_COMPAT
void uvwspy_libuv_compat_init(void);
#endif

PyMODINIT_FUNC PyInit__uvws(void) {
#ifdef UVWS_PY_LIBUV_COMPAT
  uvwspy_libuv_compat_init();
#endif
  PyObject *m = PyModule_Create(&moduledef);
  if (!m) return NULL;
  if (PyType_Ready(&Loop_Type) < 0 || PyType_Ready(&Conn_Type) < 0 ||
      PyType_Ready(&Server_Type) < 0 || PyType_Ready(&Upgrade_Type) < 0)
    goto fail;
  if (uvwspy_conn_init_strings() < 0) goto fail;
  uvwspy_empty_tuple = PyTuple_New(0);
  uvwspy_str_empty = PyUnicode_FromStringAndSize("", 0);
  if (!uvwspy_empty_tuple || !uvwspy_str_empty) goto fail;
  PyObject *events = PyImport_ImportModule("asyncio.events");
  if (!events) goto fail;
  uvwspy_get_running_loop = PyObject_GetAttrString(events, "_get_running_loop");
  Py_DECREF(events);
  if (!uvwspy_get_running_loop) goto fail;

  Py_INCREF(&Loop_Type);
  Py_INCREF(&Conn_Type);
  Py_INCREF(&Server_Type);
  Py_INCREF(&Upgrade_Type);
  if (PyModule_AddObject(m, "Loop", (PyObject *)&Loop_Type) < 0 ||
      PyModule_AddObject(m, "Connection", (PyObject *)&Conn_Type) < 0 ||
      PyModule_AddObject(m, "Server", (PyObject *)&Server_Type) < 0 ||
      PyModule_AddObject(m, "Upgrade", (PyObject *)&Upgrade_Type) < 0)
    goto fail;

  struct { const char *name; long value; } ints[] = {
      {"TEXT", UVWS_TEXT}, {"BINARY", UVWS_BINARY}, {"MORE", UVWS_MORE},
      {"NO_COMPRESS", UVWS_NO_COMPRESS},
      {"SEND_OK", UVWS_SEND_OK}, {"SEND_QUEUED", UVWS_SEND_QUEUED},
      {"SEND_DROPPED", UVWS_SEND_DROPPED},
      {"CONNECTING", UVWS_CONNECTING}, {"OPEN", UVWS_OPEN},
      {"CLOSING", UVWS_CLOSING}, {"CLOSED", UVWS_CLOSED},
      {"OWNED_MIN", UVWS_PY_OWNED_MIN},
  };
  for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
    if (PyModule_AddIntConstant(m, ints[i].name, ints[i].value) < 0) goto fail;

  PyObject *codes = PyDict_New();
  if (!codes) goto fail;
#define XX(name, val, msg)                                            \
  {                                                                   \
    PyObject *k = PyLong_FromLong(val), *v = PyUnicode_FromString(#name); \
    if (!k || !v || PyDict_SetItem(codes, k, v) < 0) {                \
      Py_XDECREF(k);                                                  \
      Py_XDECREF(v);                                                  \
      Py_DECREF(codes);                                               \
      goto fail;                                                      \
    }                                                                 \
    Py_DECREF(k);                                                     \
    Py_DECREF(v);                                                     \
  }
  UVWS_ERRNO_MAP(XX)
#undef XX
  if (PyModule_AddObject(m, "errorcodes", codes) < 0) {
    Py_DECREF(codes);
    goto fail;
  }
  PyObject *fields = uvwspy_stats_fields();
  if (!fields || PyModule_AddObject(m, "STATS_FIELDS", fields) < 0) {
    Py_XDECREF(fields);
    goto fail;
  }
  return m;
fail:
  Py_DECREF(m);
  return NULL;
}

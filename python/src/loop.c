/* Loop: one uv_loop_t, driven from an asyncio event loop.
 *
 * asyncio watches the libuv backend fd (epoll) with add_reader; the earliest
 * libuv timer is mirrored by one call_later; engine calls made outside a run
 * (a send from a coroutine, a new connection) schedule one call_soon so that
 * corked frames are flushed and epoll changes applied in the same asyncio
 * iteration. Each of these runs uv_run(UV_RUN_NOWAIT), which never blocks. */
#include "uvwsmodule.h"

#include <pythread.h>
#include <stdlib.h>

struct xop {
  xop_t *next;
  int kind, flags, code;
  ConnObject *conn;
  PyObject *data;
};

int uvwspy_loop_is_owner(LoopObject *L) { return PyThread_get_thread_ident() == L->owner; }

static void on_async(uv_async_t *a) {
  LoopObject *L = a->data;
  uv_mutex_lock(&L->lock);
  xop_t *op = L->ops_head;
  L->ops_head = L->ops_tail = NULL;
  uv_mutex_unlock(&L->lock);
  while (op) {
    xop_t *next = op->next;
    uvwspy_conn_exec(op->conn, op->kind, op->data, op->flags, op->code);
    Py_DECREF(op->conn);
    Py_XDECREF(op->data);
    free(op);
    uvwspy_alive[UVWSPY_K_XOP]--;
    op = next;
  }
}

int uvwspy_xop_push(LoopObject *L, int kind, ConnObject *c, PyObject *data, int flags,
                    int code) {
  xop_t *op = malloc(sizeof(*op));
  if (!op) {
    PyErr_NoMemory();
    return -1;
  }
  uvwspy_alive[UVWSPY_K_XOP]++;
  op->next = NULL;
  op->kind = kind;
  op->flags = flags;
  op->code = code;
  Py_INCREF(c);
  op->conn = c;
  Py_XINCREF(data);
  op->data = data;
  uv_mutex_lock(&L->lock);
  if (L->ops_tail) L->ops_tail->next = op;
  else L->ops_head = op;
  L->ops_tail = op;
  uv_mutex_unlock(&L->lock);
  uv_async_send(&L->async);
  return 0;
}

void uvwspy_loop_live(LoopObject *L, int delta) {
  Py_ssize_t before = L->live;
  L->live += delta;
  if (before == 0 && L->live > 0) uv_ref((uv_handle_t *)&L->async);
  else if (before > 0 && L->live == 0) uv_unref((uv_handle_t *)&L->async);
}

/* ------------------------------------------------------------------ */
/* asyncio attachment                                                  */
/* ------------------------------------------------------------------ */

static int schedule_soon(LoopObject *L) {
  if (L->soon_pending || !L->aio) return 0;
  PyObject *h = PyObject_CallOneArg(L->aio_call_soon, L->cb_soon);
  if (!h) return -1;
  Py_DECREF(h);
  L->soon_pending = 1;
  return 0;
}

static void cancel_timer(LoopObject *L) {
  PyObject *t = L->timer;
  if (!t) return;
  L->timer = NULL;
  PyObject *r = PyObject_CallMethod(t, "cancel", NULL);
  if (r) Py_DECREF(r);
  else PyErr_Clear();
  Py_DECREF(t);
}

static void loop_detach(LoopObject *L) {
  PyObject *aio = L->aio;
  if (!aio) return;
  cancel_timer(L);
  PyObject *closed = PyObject_CallMethod(aio, "is_closed", NULL);
  if (closed && !PyObject_IsTrue(closed)) {
    PyObject *r = PyObject_CallMethod(aio, "remove_reader", "i", uv_backend_fd(&L->uv));
    Py_XDECREF(r);
  }
  Py_XDECREF(closed);
  PyErr_Clear();
  L->aio = NULL;
  Py_CLEAR(L->aio_call_soon);
  Py_CLEAR(L->aio_call_later);
  Py_DECREF(aio);
  L->soon_pending = 0;
}

static int loop_attach(LoopObject *L, PyObject *aio) {
  if (L->aio == aio) return 0;
  if (!uvwspy_loop_is_owner(L)) {
    PyErr_SetString(PyExc_RuntimeError,
                    "a uvws loop can only be driven from the thread that created it");
    return -1;
  }
  loop_detach(L);
  PyObject *soon = PyObject_GetAttrString(aio, "call_soon");
  PyObject *later = soon ? PyObject_GetAttrString(aio, "call_later") : NULL;
  PyObject *r = later ? PyObject_CallMethod(aio, "add_reader", "iO", uv_backend_fd(&L->uv),
                                            L->cb_readable)
                      : NULL;
  if (!r) {
    Py_XDECREF(soon);
    Py_XDECREF(later);
    return -1;
  }
  Py_DECREF(r);
  Py_INCREF(aio);
  L->aio = aio;
  L->aio_call_soon = soon;
  L->aio_call_later = later;
  L->soon_pending = 0;
  /* Whatever was started before the attachment runs now. */
  return schedule_soon(L);
}

void uvwspy_kick(LoopObject *L) {
  if (L->in_run || L->soon_pending || L->closed) return;
  PyObject *running = PyObject_CallNoArgs(uvwspy_get_running_loop);
  if (!running) {
    PyErr_Clear();
    return;
  }
  int r = 0;
  if (running != Py_None && running != L->aio) r = loop_attach(L, running);
  else if (L->aio) r = schedule_soon(L);
  Py_DECREF(running);
  if (r < 0) {
    /* The attached loop is closed (call_soon raised): forget it; the next
     * attach (uvws.run(), serve(), connect(), ...) runs what is pending. */
    PyErr_Clear();
    loop_detach(L);
  }
}

/* libuv applies new epoll interests (uv__io_start: a socket to read after
 * an accept, POLLOUT once a write is queued, a resumed read) only at the
 * start of its next poll. In uv_run(DEFAULT) that poll follows at once; here
 * the loop returns to asyncio, which waits on the epoll fd that does not yet
 * watch those sockets. So when interests are pending after a run, run again
 * soon. The queue is a private field of uv_loop_t; libuv is linked in
 * statically, so the layout is the one compiled against. */
static int watchers_pending(const uv_loop_t *loop) {
#if UV_VERSION_MAJOR == 1 && UV_VERSION_MINOR < 45
  return loop->watcher_queue[0] != (void *)&loop->watcher_queue;
#else
  return loop->watcher_queue.next != &loop->watcher_queue;
#endif
}

/* After a run: make sure asyncio calls us again when libuv needs it. */
static int reschedule(LoopObject *L) {
  if (!L->aio) return 0;
  if (watchers_pending(&L->uv)) return schedule_soon(L);
  if (!uv_loop_alive(&L->uv)) {
    if (L->idle_cb) {
      PyObject *cb = L->idle_cb;
      Py_INCREF(cb);
      PyObject *r = PyObject_CallNoArgs(cb);
      Py_DECREF(cb);
      if (!r) return -1;
      Py_DECREF(r);
    }
    return 0;
  }
  int t = uv_backend_timeout(&L->uv);
  if (t == 0) return schedule_soon(L);
  if (t < 0) return 0;
  uint64_t due = uv_now(&L->uv) + (uint64_t)t;
  if (L->timer && due >= L->timer_due) return 0;
  cancel_timer(L);
  PyObject *delay = PyFloat_FromDouble(t / 1000.0);
  if (!delay) return -1;
  PyObject *args[2] = {delay, L->cb_timer};
  PyObject *h = PyObject_Vectorcall(L->aio_call_later, args, 2, NULL);
  Py_DECREF(delay);
  if (!h) return -1;
  L->timer = h;
  L->timer_due = due;
  return 0;
}

static PyObject *loop_run(LoopObject *L) {
  if (L->in_run || L->closed) Py_RETURN_NONE;
  if (!uvwspy_loop_is_owner(L)) {
    PyErr_SetString(PyExc_RuntimeError, "uvws loop run from a foreign thread");
    return NULL;
  }
  Py_INCREF(L);
  L->in_run = 1;
  uv_run(&L->uv, UV_RUN_NOWAIT);
  L->in_run = 0;
  PyObject *ret = Py_None;
  if (L->fatal) {
    PyObject *e = L->fatal;
    L->fatal = NULL;
    PyErr_SetObject((PyObject *)Py_TYPE(e), e);
    Py_DECREF(e);
    ret = NULL;
  } else if (reschedule(L) < 0) {
    ret = NULL;
  }
  Py_DECREF(L);
  Py_XINCREF(ret);
  return ret;
}

static PyObject *Loop_on_readable(LoopObject *L, PyObject *unused) { return loop_run(L); }

static PyObject *Loop_on_timer(LoopObject *L, PyObject *unused) {
  Py_CLEAR(L->timer);
  return loop_run(L);
}

static PyObject *Loop_on_soon(LoopObject *L, PyObject *unused) {
  L->soon_pending = 0;
  return loop_run(L);
}

static PyObject *Loop_attach(LoopObject *L, PyObject *aio) {
  if (L->closed) {
    PyErr_SetString(PyExc_RuntimeError, "uvws loop is closed");
    return NULL;
  }
  if (loop_attach(L, aio) < 0) return NULL;
  Py_RETURN_NONE;
}

static PyObject *Loop_detach(LoopObject *L, PyObject *unused) {
  loop_detach(L);
  Py_RETURN_NONE;
}

static PyObject *Loop_run(LoopObject *L, PyObject *unused) { return loop_run(L); }

static PyObject *Loop_kick(LoopObject *L, PyObject *unused) {
  uvwspy_kick(L);
  Py_RETURN_NONE;
}

static PyObject *Loop_get_alive(LoopObject *L, void *c) {
  return PyBool_FromLong(L->uv_ready && !L->closed && uv_loop_alive(&L->uv));
}

static PyObject *Loop_get_attached(LoopObject *L, void *c) {
  PyObject *r = L->aio ? L->aio : Py_None;
  Py_INCREF(r);
  return r;
}

static PyObject *Loop_get_live(LoopObject *L, void *c) { return PyLong_FromSsize_t(L->live); }

static PyObject *Loop_get_owner(LoopObject *L, void *c) { return PyLong_FromUnsignedLong(L->owner); }

static PyObject *Loop_get_fd(LoopObject *L, void *c) { return PyLong_FromLong(uv_backend_fd(&L->uv)); }

static PyObject *Loop_get_timeout(LoopObject *L, void *c) {
  return PyLong_FromLong(uv_backend_timeout(&L->uv));
}

/* ------------------------------------------------------------------ */

static void count_handle(uv_handle_t *h, void *arg) {
  LoopObject *L = ((uv_loop_t *)h->loop)->data;
  if (h != (uv_handle_t *)&L->async && !uv_is_closing(h)) (*(int *)arg)++;
}

static PyObject *Loop_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {NULL};
  if (!PyArg_ParseTupleAndKeywords(args, kw, ":Loop", kwlist)) return NULL;
  LoopObject *L = (LoopObject *)type->tp_alloc(type, 0);
  if (!L) return NULL;
  uvwspy_alive[UVWSPY_K_LOOP]++;
  int r = uv_loop_init(&L->uv);
  if (r < 0) {
    Py_DECREF(L);
    return uvwspy_raise(r, NULL);
  }
  L->uv_ready = 1;
  L->uv.data = L;
  L->owner = PyThread_get_thread_ident();
  uv_mutex_init(&L->lock);
  uv_async_init(&L->uv, &L->async, on_async);
  L->async.data = L;
  uv_unref((uv_handle_t *)&L->async);
  L->cb_readable = PyObject_GetAttrString((PyObject *)L, "_on_readable");
  L->cb_timer = PyObject_GetAttrString((PyObject *)L, "_on_timer");
  L->cb_soon = PyObject_GetAttrString((PyObject *)L, "_on_soon");
  if (!L->cb_readable || !L->cb_timer || !L->cb_soon) {
    Py_DECREF(L);
    return NULL;
  }
  return (PyObject *)L;
}

static int Loop_traverse(LoopObject *L, visitproc visit, void *arg) {
  Py_VISIT(L->aio);
  Py_VISIT(L->aio_call_soon);
  Py_VISIT(L->aio_call_later);
  Py_VISIT(L->cb_readable);
  Py_VISIT(L->cb_timer);
  Py_VISIT(L->cb_soon);
  Py_VISIT(L->timer);
  Py_VISIT(L->idle_cb);
  Py_VISIT(L->fatal);
  return 0;
}

static int Loop_clear(LoopObject *L) {
  Py_CLEAR(L->aio);
  Py_CLEAR(L->aio_call_soon);
  Py_CLEAR(L->aio_call_later);
  Py_CLEAR(L->cb_readable);
  Py_CLEAR(L->cb_timer);
  Py_CLEAR(L->cb_soon);
  Py_CLEAR(L->timer);
  Py_CLEAR(L->idle_cb);
  Py_CLEAR(L->fatal);
  return 0;
}

static void Loop_dealloc(LoopObject *L) {
  PyObject_GC_UnTrack(L);
  if (L->weakreflist) PyObject_ClearWeakRefs((PyObject *)L);
  Loop_clear(L);
  if (L->uv_ready) {
    /* Connections and servers hold references to their loop, so nothing of
     * ours is left; the engine's per-loop handles close once its last user is
     * gone, which takes a run. If something is still open (interpreter exit
     * with live connections), the loop is left alone: its memory goes with
     * this object, but nothing will ever run it again. */
    for (int i = 0; i < 4; i++) uv_run(&L->uv, UV_RUN_NOWAIT);
    int others = 0;
    uv_walk(&L->uv, count_handle, &others);
    if (others == 0) {
      uv_close((uv_handle_t *)&L->async, NULL);
      uv_run(&L->uv, UV_RUN_NOWAIT);
      uv_loop_close(&L->uv);
      uv_mutex_destroy(&L->lock);
    }
  }
  uvwspy_alive[UVWSPY_K_LOOP]--;
  Py_TYPE(L)->tp_free((PyObject *)L);
}

static PyMethodDef Loop_methods[] = {
    {"attach", (PyCFunction)Loop_attach, METH_O,
     "attach(aio_loop)\n\nDrive this loop from the asyncio loop `aio_loop` (running in this "
     "thread): watch the libuv backend fd, mirror its timers. Detaches from the previous one."},
    {"detach", (PyCFunction)Loop_detach, METH_NOARGS, "detach()\n\nStop being driven by asyncio."},
    {"run", (PyCFunction)Loop_run, METH_NOARGS,
     "run()\n\nRun one non-blocking libuv iteration now (uv_run NOWAIT)."},
    {"kick", (PyCFunction)Loop_kick, METH_NOARGS,
     "kick()\n\nMake sure a run happens soon (attaching to the running asyncio loop if needed)."},
    {"_on_readable", (PyCFunction)Loop_on_readable, METH_NOARGS, NULL},
    {"_on_timer", (PyCFunction)Loop_on_timer, METH_NOARGS, NULL},
    {"_on_soon", (PyCFunction)Loop_on_soon, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Loop_getset[] = {
    {"alive", (getter)Loop_get_alive, NULL,
     "True while servers, connections or requests keep the libuv loop alive.", NULL},
    {"attached", (getter)Loop_get_attached, NULL, "The asyncio loop driving this loop, or None.", NULL},
    {"live", (getter)Loop_get_live, NULL, "Open connections and servers on this loop.", NULL},
    {"owner", (getter)Loop_get_owner, NULL, "Thread ident of the owning thread.", NULL},
    {"backend_fd", (getter)Loop_get_fd, NULL, "The libuv backend (epoll) fd.", NULL},
    {"backend_timeout", (getter)Loop_get_timeout, NULL, "uv_backend_timeout() in ms.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMemberDef Loop_members[] = {
    {"idle_callback", T_OBJECT, offsetof(LoopObject, idle_cb), 0,
     "Called after a run that left nothing alive in the libuv loop (or None)."},
    {NULL, 0, 0, 0, NULL}};

PyTypeObject Loop_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "uvws._uvws.Loop",
    .tp_basicsize = sizeof(LoopObject),
    .tp_dealloc = (destructor)Loop_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Loop()\n\nOne libuv loop, owned by the thread that creates it and driven from "
              "that thread's asyncio loop.",
    .tp_traverse = (traverseproc)Loop_traverse,
    .tp_clear = (inquiry)Loop_clear,
    .tp_weaklistoffset = offsetof(LoopObject, weakreflist),
    .tp_methods = Loop_methods,
    .tp_members = Loop_members,
    .tp_getset = Loop_getset,
    .tp_new = Loop_new,
};

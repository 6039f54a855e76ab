// The uvws Node addon: glue between the C engine and the JavaScript surface
// in node/lib. The engine runs on Node's own libuv loop (napi_get_uv_event_loop)
// and calls back here; each callback calls one of a fixed set of JavaScript
// functions registered once by init(), with the JS object the event is for as
// `this`. JavaScript holds the native state as napi Externals.
//
// Lifetimes:
//  - Conn: one per WebSocket. While the engine may still call back for it
//    ("attached"), it holds a strong reference to its JS WebSocket, so the JS
//    object (and the External it holds) cannot be collected. It is freed when
//    both the engine is done (on_close ran, or the upgrade never completed)
//    and its External was finalized.
//  - Server: the same, with the server's close callback as the engine's end.
//  - Up: a pending upgrade decision; a finalizer rejects it if JavaScript
//    dropped it undecided.
// The hot paths (messages in, send out) use the plain Node-API C calls.
#include <napi.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "uvws.h"
extern "C" {
#include "uvws_deflate.h"
}

namespace {

enum Fn {
  FN_OPEN,
  FN_MESSAGE,
  FN_PING,
  FN_PONG,
  FN_DRAIN,
  FN_ERROR,
  FN_CLOSE,
  FN_RESPONSE,
  FN_UPGRADE,
  FN_SERVER_CLOSED,
  FN_SUBSCRIPTION,
  FN_DROPPED,
  FN_COUNT
};
const char* const kFnNames[FN_COUNT] = {
    "onOpen",  "onMessage", "onPing",     "onPong",    "onDrain",
    "onError", "onClose",   "onResponse", "onUpgrade", "onServerClosed",
    "onSubscription", "onDropped"};

// Buffers at least this large are sent without a copy on server connections
// (uvws_send_owned, holding a reference to the JS memory until written).
constexpr size_t kOwnedMin = 64 * 1024;
constexpr size_t kScratch = 64 * 1024;
// Messages up to kSlabMax bytes are copied into a shared slab (an ArrayBuffer
// of kSlabSize bytes) and handed to JavaScript as (offset, length): JavaScript
// makes a Buffer view of the slab, so a small message costs no ArrayBuffer of
// its own (as Node's own pooled Buffers). A slab is never written twice.
constexpr size_t kSlabSize = 64 * 1024;
constexpr size_t kSlabMax = 4 * 1024;

struct Conn;
struct Server;

// Native objects alive now, per kind, for the leak tests (debugCounts()).
// Process-wide (workers share the addon), hence atomics.
enum CountKind { kCountConn, kCountServer, kCountUp, kCountOwned, kCountN };
std::atomic<long> g_alive[kCountN];

// A member that counts the objects of its kind: +1 when one is made, -1 when
// it is destroyed.
template <CountKind K>
struct Counted {
  Counted() { g_alive[K]++; }
  Counted(const Counted&) { g_alive[K]++; }
  ~Counted() { g_alive[K]--; }
};

struct Addon {
  napi_env env = nullptr;
  uv_loop_t* loop = nullptr;
  napi_ref fn[FN_COUNT] = {};
  bool alive = true;  // false once the environment is being torn down
  bool initialized = false;
  std::vector<char> scratch;  // UTF-8 of strings being sent
  napi_ref slab = nullptr;    // the current slab (see kSlabSize)
  char* slab_data = nullptr;
  size_t slab_used = kSlabSize;
  Conn* conns = nullptr;      // attached connections
  Server* servers = nullptr;  // running servers
  napi_async_cleanup_hook_handle cleanup = nullptr;
  bool teardown = false;      // the async cleanup hook is running
  bool cleanup_done = false;
  bool finalized = false;
};

// Strings for TLS options: kept alive as long as the engine object that was
// given pointers to them.
struct TlsStore {
  std::deque<std::string> strs;
  std::vector<uvws_tls_sni_t> sni;
  uvws_tls_options_t opts;
  const char* keep(const std::string& s) {
    strs.push_back(s);
    return strs.back().c_str();
  }
};

struct Conn {
  Addon* a;
  uvws_t* ws = nullptr;
  napi_ref self = nullptr;
  bool attached = false;
  bool js_gone = false;
  std::unique_ptr<TlsStore> tls;
  Conn* prev = nullptr;
  Conn* next = nullptr;
  Counted<kCountConn> counted;
};

struct Server {
  Addon* a;
  uvws_server_t* srv = nullptr;
  napi_ref self = nullptr;
  bool attached = false;
  bool js_gone = false;
  bool closing = false;
  std::string host, path;
  std::unique_ptr<TlsStore> tls;
  Server* prev = nullptr;
  Server* next = nullptr;
  Counted<kCountServer> counted;
};

struct Up {
  Addon* a;
  uvws_upgrade_t* up;
  bool decided = false;
  Counted<kCountUp> counted;
};

struct OwnedRef {
  Addon* a;
  napi_ref ref = nullptr;
  bool in_call = true;
  bool released = false;
  Counted<kCountOwned> counted;
};

// ------------------------------------------------------------------------
// Lists of live objects (for environment teardown)

template <typename T>
void list_add(T*& head, T* x) {
  x->prev = nullptr;
  x->next = head;
  if (head) head->prev = x;
  head = x;
}

template <typename T>
void list_remove(T*& head, T* x) {
  if (x->prev) x->prev->next = x->next;
  else if (head == x) head = x->next;
  if (x->next) x->next->prev = x->prev;
  x->prev = x->next = nullptr;
}

void maybe_finish_cleanup(Addon* a);

void conn_attach(Conn* c) {
  c->attached = true;
  list_add(c->a->conns, c);
}

// The engine will not call back for `c` any more.
void conn_detach(Conn* c) {
  Addon* a = c->a;
  if (c->attached) {
    c->attached = false;
    list_remove(a->conns, c);
  }
  c->ws = nullptr;
  // During the environment's teardown (alive is false, the cleanup hook
  // closes what is still open) the reference is still ours to delete; only
  // once the environment is finalized is it gone with it.
  if (c->self && !a->finalized) napi_delete_reference(a->env, c->self);
  c->self = nullptr;
  if (c->js_gone) delete c;
  maybe_finish_cleanup(a);
}

void server_detach(Server* s) {
  Addon* a = s->a;
  if (s->attached) {
    s->attached = false;
    list_remove(a->servers, s);
  }
  s->srv = nullptr;
  if (s->self && !a->finalized) napi_delete_reference(a->env, s->self);  // as in conn_detach
  s->self = nullptr;
  if (s->js_gone) delete s;
  maybe_finish_cleanup(a);
}

// ------------------------------------------------------------------------
// Calling into JavaScript

void report_exception(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

void call_js(Addon* a, napi_value recv, Fn which, size_t argc, const napi_value* argv) {
  napi_env env = a->env;
  napi_value fn, result;
  napi_get_reference_value(env, a->fn[which], &fn);
  if (napi_make_callback(env, nullptr, recv, fn, argc, argv, &result) != napi_ok)
    report_exception(env);
}

struct Scope {
  napi_env env;
  napi_handle_scope s;
  explicit Scope(napi_env e) : env(e) { napi_open_handle_scope(env, &s); }
  ~Scope() { napi_close_handle_scope(env, s); }
};

napi_value js_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

napi_value js_str(napi_env env, const char* s, size_t n) {
  napi_value r;
  napi_create_string_utf8(env, s ? s : "", s ? n : 0, &r);
  return r;
}

napi_value js_buf(napi_env env, const char* data, size_t len) {
  napi_value r;
  void* p;
  napi_create_buffer_copy(env, len, len ? data : "", &p, &r);
  return r;
}

napi_value js_headers(napi_env env, const uvws_http_t* http) {
  napi_value arr;
  napi_create_array_with_length(env, http->num_headers * 2, &arr);
  for (size_t i = 0; i < http->num_headers; i++) {
    const uvws_header_t* h = &http->headers[i];
    napi_set_element(env, arr, (uint32_t)(2 * i), js_str(env, h->name, h->name_len));
    napi_set_element(env, arr, (uint32_t)(2 * i + 1), js_str(env, h->value, h->value_len));
  }
  return arr;
}

napi_value js_self(napi_env env, napi_ref ref) {
  napi_value v;
  napi_get_reference_value(env, ref, &v);
  return v;
}

// ------------------------------------------------------------------------
// Engine callbacks

inline Conn* live_conn(uvws_t* ws) {
  Conn* c = static_cast<Conn*>(uvws_get_data(ws));
  if (!c || !c->a->alive || !c->self) return nullptr;
  return c;
}

void on_open(uvws_t* ws, const uvws_http_t* http) {
  Conn* c = static_cast<Conn*>(uvws_get_data(ws));
  if (!c) return;
  c->ws = ws;
  if (!c->attached) conn_attach(c);
  if (!(c = live_conn(ws))) return;
  napi_env env = c->a->env;
  Scope scope(env);
  const char* proto = uvws_protocol(ws);
  napi_value argv[1] = {js_str(env, proto, strlen(proto))};
  call_js(c->a, js_self(env, c->self), FN_OPEN, 1, argv);
}

// onMessage(dataOrOffset, length, isBinary, newSlab): a large message comes
// as its own Buffer (length -1); a small one as an offset into the current
// slab, with the slab itself when it is a new one.
void on_message(uvws_t* ws, const char* data, size_t len, int is_binary) {
  Conn* c = live_conn(ws);
  if (!c) return;
  Addon* a = c->a;
  napi_env env = a->env;
  Scope scope(env);
  napi_value argv[4];
  napi_get_boolean(env, is_binary != 0, &argv[2]);
  napi_get_undefined(env, &argv[3]);
  if (len <= kSlabMax) {
    size_t need = (len + 7) & ~(size_t)7;
    if (!a->slab_data || a->slab_used + need > kSlabSize) {
      void* p = nullptr;
      napi_value ab;
      napi_create_arraybuffer(env, kSlabSize, &p, &ab);
      if (a->slab) napi_delete_reference(env, a->slab);
      napi_create_reference(env, ab, 1, &a->slab);
      a->slab_data = static_cast<char*>(p);
      a->slab_used = 0;
      argv[3] = ab;
    }
    memcpy(a->slab_data + a->slab_used, data, len);
    napi_create_uint32(env, (uint32_t)a->slab_used, &argv[0]);
    napi_create_uint32(env, (uint32_t)len, &argv[1]);
    a->slab_used += need;
  } else {
    argv[0] = js_buf(env, data, len);
    argv[1] = js_int(env, -1);
  }
  call_js(a, js_self(env, c->self), FN_MESSAGE, 4, argv);
}

void on_control(uvws_t* ws, const char* data, size_t len, Fn which) {
  Conn* c = live_conn(ws);
  if (!c) return;
  napi_env env = c->a->env;
  Scope scope(env);
  napi_value argv[1] = {js_buf(env, data, len)};
  call_js(c->a, js_self(env, c->self), which, 1, argv);
}

void on_ping(uvws_t* ws, const char* data, size_t len) { on_control(ws, data, len, FN_PING); }
void on_pong(uvws_t* ws, const char* data, size_t len) { on_control(ws, data, len, FN_PONG); }

void on_drain(uvws_t* ws) {
  Conn* c = live_conn(ws);
  if (!c) return;
  napi_env env = c->a->env;
  Scope scope(env);
  call_js(c->a, js_self(env, c->self), FN_DRAIN, 0, nullptr);
}

void on_error(uvws_t* ws, int err, const char* msg) {
  Conn* c = live_conn(ws);
  if (!c) return;
  napi_env env = c->a->env;
  Scope scope(env);
  napi_value argv[2] = {js_int(env, err), js_str(env, msg, strlen(msg))};
  call_js(c->a, js_self(env, c->self), FN_ERROR, 2, argv);
}

void on_response(uvws_t* ws, const uvws_http_t* res) {
  Conn* c = live_conn(ws);
  if (!c) return;
  napi_env env = c->a->env;
  Scope scope(env);
  napi_value argv[2] = {js_int(env, res->status), js_headers(env, res)};
  call_js(c->a, js_self(env, c->self), FN_RESPONSE, 2, argv);
}

void on_close(uvws_t* ws, int code, const char* reason, size_t len) {
  Conn* c = static_cast<Conn*>(uvws_get_data(ws));
  if (!c) return;
  uvws_set_data(ws, nullptr);
  if (c->a->alive && c->self) {
    napi_env env = c->a->env;
    Scope scope(env);
    napi_value argv[2] = {js_int(env, code), js_buf(env, reason, len)};
    call_js(c->a, js_self(env, c->self), FN_CLOSE, 2, argv);
  }
  conn_detach(c);
}

const uvws_callbacks_t kServerCallbacks = {
    on_open, on_message, on_ping, on_pong, on_drain, on_error, nullptr, on_close,
};
const uvws_callbacks_t kClientCallbacks = {
    on_open, on_message, on_ping, on_pong, on_drain, on_error, on_response, on_close,
};

void up_finalize(napi_env env, void* data, void* hint) {
  Up* u = static_cast<Up*>(data);
  if (!u->decided && u->a->alive) {
    static const char body[] = "Service Unavailable";
    uvws_upgrade_reject(u->up, 503, nullptr, 0, body, sizeof(body) - 1);
  }
  delete u;
}

void on_upgrade(uvws_server_t* server, uvws_upgrade_t* up, const uvws_http_t* req) {
  Server* s = static_cast<Server*>(uvws_server_get_data(server));
  if (!s || !s->a->alive || !s->self) {
    uvws_upgrade_reject(up, 503, nullptr, 0, nullptr, 0);
    return;
  }
  napi_env env = s->a->env;
  Scope scope(env);
  Up* u = new Up{s->a, up};
  napi_value ext;
  napi_create_external(env, u, up_finalize, nullptr, &ext);
  uvws_header_t protos[64];
  size_t n = uvws_upgrade_protocols(up, protos, 64);
  if (n > 64) n = 64;
  napi_value plist;
  napi_create_array_with_length(env, n, &plist);
  for (size_t i = 0; i < n; i++)
    napi_set_element(env, plist, (uint32_t)i, js_str(env, protos[i].name, protos[i].name_len));
  int family = req->remote_addr ? req->remote_addr->sa_family : 0;
  napi_value argv[8] = {
      ext,
      js_str(env, req->path, req->path_len),
      req->query ? js_str(env, req->query, req->query_len) : nullptr,
      js_headers(env, req),
      js_str(env, req->remote_ip ? req->remote_ip : "", req->remote_ip ? strlen(req->remote_ip) : 0),
      js_int(env, req->remote_port),
      js_int(env, family == AF_INET6 ? 6 : family == AF_INET ? 4 : 0),
      plist,
  };
  if (!req->query) napi_get_null(env, &argv[2]);
  call_js(s->a, js_self(env, s->self), FN_UPGRADE, 8, argv);
}

// Topic callbacks, called with the WebSocketServer as `this`:
// onSubscription(ws, topic, newCount, oldCount), also for each filter of a
// closing connection (just before its onClose);
// onDropped(ws, topic | null, data, isBinary) for a message not handed to ws.
void on_subscription(uvws_t* ws, const char* f, size_t len, size_t nw, size_t old) {
  Server* s = static_cast<Server*>(uvws_server_get_data(uvws_get_server(ws)));
  Conn* c = live_conn(ws);
  if (!s || !c || !s->a->alive || !s->self) return;
  napi_env env = s->a->env;
  Scope scope(env);
  napi_value argv[4] = {js_self(env, c->self), js_str(env, f, len), js_int(env, (int64_t)nw),
                        js_int(env, (int64_t)old)};
  call_js(s->a, js_self(env, s->self), FN_SUBSCRIPTION, 4, argv);
}

void on_dropped(uvws_t* ws, const char* topic, size_t tlen, const void* data, size_t len, int flags) {
  Server* s = static_cast<Server*>(uvws_server_get_data(uvws_get_server(ws)));
  Conn* c = live_conn(ws);
  if (!s || !c || !s->a->alive || !s->self) return;
  napi_env env = s->a->env;
  Scope scope(env);
  napi_value argv[4] = {js_self(env, c->self), nullptr, js_buf(env, static_cast<const char*>(data), len),
                        nullptr};
  if (topic) argv[1] = js_str(env, topic, tlen);
  else napi_get_null(env, &argv[1]);
  napi_get_boolean(env, (flags & 0xff) == UVWS_BINARY, &argv[3]);
  call_js(s->a, js_self(env, s->self), FN_DROPPED, 4, argv);
}

// The counters as a JS object, in UVWS_STATS_MAP order.
napi_value stats_to_js(napi_env env, const uvws_stats_t* st) {
  napi_value o;
  napi_create_object(env, &o);
#define XX(name, desc) napi_set_named_property(env, o, #name, js_int(env, (int64_t)st->name));
  UVWS_STATS_MAP(XX)
#undef XX
  return o;
}

// onServerClosed(finalStats): the server's counters as it ends, so that
// JavaScript can keep them once the engine server is gone.
void on_server_closed(uvws_server_t* server) {
  Server* s = static_cast<Server*>(uvws_server_get_data(server));
  if (!s) return;
  if (s->a->alive && s->self) {
    napi_env env = s->a->env;
    Scope scope(env);
    uvws_stats_t st;
    napi_value argv[1];
    if (uvws_server_stats(server, &st) == 0) argv[0] = stats_to_js(env, &st);
    else napi_get_null(env, &argv[0]);
    call_js(s->a, js_self(env, s->self), FN_SERVER_CLOSED, 1, argv);
  }
  server_detach(s);
}

// ------------------------------------------------------------------------
// Environment teardown: close everything, let the loop run the closes, then
// tell Node we are done (napi async cleanup hook).

void cleanup_timer_closed(uv_handle_t* h) {
  Addon* a = static_cast<Addon*>(h->data);
  delete reinterpret_cast<uv_timer_t*>(h);
  napi_async_cleanup_hook_handle handle = a->cleanup;
  a->cleanup = nullptr;
  if (handle) napi_remove_async_cleanup_hook(handle);
  if (a->finalized) delete a;
}

void cleanup_timer_fired(uv_timer_t* t) { uv_close(reinterpret_cast<uv_handle_t*>(t), cleanup_timer_closed); }

void maybe_finish_cleanup(Addon* a) {
  if (!a->teardown || a->cleanup_done || a->conns || a->servers) return;
  a->cleanup_done = true;
  // The engine closes its own per-loop handles right after the last
  // connection or server is freed; one more loop turn lets those close
  // callbacks run before Node closes the loop.
  uv_timer_t* t = new uv_timer_t;
  uv_timer_init(a->loop, t);
  t->data = a;
  uv_timer_start(t, cleanup_timer_fired, 0, 0);
}

void async_cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  Addon* a = static_cast<Addon*>(arg);
  a->alive = false;
  a->teardown = true;
  a->cleanup = handle;
  // Connections first, at once (no closing handshake: the environment is
  // going away), then the servers, which then have nothing left to close.
  for (Conn* c = a->conns; c; c = c->next) {
    if (c->ws) uvws_terminate(c->ws);
  }
  for (Server* s = a->servers; s; s = s->next) {
    if (!s->closing) {
      s->closing = true;
      uvws_server_close(s->srv, on_server_closed);
    }
  }
  maybe_finish_cleanup(a);
}

void addon_finalize(napi_env env, void* data, void* hint) {
  Addon* a = static_cast<Addon*>(data);
  a->alive = false;
  a->finalized = true;
  // References the addon created are its own to delete (Node frees only
  // those it owns): the handlers and the current slab. Deleting a reference
  // runs no JavaScript, so it may be done from this finalizer.
  for (napi_ref& r : a->fn) {
    if (r) napi_delete_reference(env, r);
    r = nullptr;
  }
  if (a->slab) napi_delete_reference(env, a->slab);
  a->slab = nullptr;
  a->slab_data = nullptr;
  // Freed by the async cleanup hook once the engine is done with it.
  if (a->teardown && a->cleanup_done && !a->cleanup) delete a;
}

// ------------------------------------------------------------------------
// Argument helpers

Addon* addon_of(napi_env env) {
  void* d = nullptr;
  napi_get_instance_data(env, &d);
  return static_cast<Addon*>(d);
}

template <typename T>
T* external(napi_env env, napi_value v) {
  void* p = nullptr;
  if (napi_get_value_external(env, v, &p) != napi_ok) return nullptr;
  return static_cast<T*>(p);
}

struct Bytes {
  const char* p = nullptr;
  size_t n = 0;
  bool is_string = false;
  std::vector<char> big;  // strings too large for the scratch buffer
};

// Bytes of a string (UTF-8), an ArrayBufferView or an ArrayBuffer;
// null/undefined give no bytes. Returns false (and throws) for anything else.
bool get_bytes(Addon* a, napi_env env, napi_value v, Bytes* out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_string) {
    out->is_string = true;
    size_t w = 0;
    napi_get_value_string_utf8(env, v, a->scratch.data(), a->scratch.size(), &w);
    if (w + 4 < a->scratch.size()) {
      out->p = a->scratch.data();
      out->n = w;
      return true;
    }
    size_t len = 0;
    napi_get_value_string_utf8(env, v, nullptr, 0, &len);
    out->big.resize(len + 1);
    napi_get_value_string_utf8(env, v, out->big.data(), len + 1, &w);
    out->p = out->big.data();
    out->n = w;
    return true;
  }
  if (t == napi_undefined || t == napi_null) return true;
  if (t == napi_object) {
    void* data = nullptr;
    size_t len = 0;
    if (napi_get_buffer_info(env, v, &data, &len) == napi_ok) {
      out->p = static_cast<const char*>(data);
      out->n = len;
      return true;
    }
    bool is_ab = false;
    napi_is_arraybuffer(env, v, &is_ab);
    if (is_ab && napi_get_arraybuffer_info(env, v, &data, &len) == napi_ok) {
      out->p = static_cast<const char*>(data);
      out->n = len;
      return true;
    }
  }
  napi_throw_type_error(env, nullptr, "data must be a string, a Buffer, a TypedArray, a DataView or an ArrayBuffer");
  return false;
}

std::string get_string(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  return std::string();
}

bool has(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

int64_t get_int(const Napi::Object& o, const char* key, int64_t dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsNumber()) return v.As<Napi::Number>().Int64Value();
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  return dflt;
}

void read_limits(const Napi::Object& o, uvws_limits_t* l) {
  if (has(o, "maxPayload")) l->max_payload = (size_t)get_int(o, "maxPayload", 0);
  if (has(o, "maxFragments")) l->max_fragments = (unsigned)get_int(o, "maxFragments", 0);
  if (has(o, "maxBackpressure")) l->max_backpressure = (size_t)get_int(o, "maxBackpressure", 0);
  if (has(o, "closeOnBackpressure")) l->close_on_backpressure = (int)get_int(o, "closeOnBackpressure", 0);
  if (has(o, "idleTimeout")) l->idle_timeout_ms = (unsigned)get_int(o, "idleTimeout", 0);
  if (has(o, "pingInterval")) l->ping_interval_ms = (unsigned)get_int(o, "pingInterval", 0);
  if (has(o, "pongTimeout")) l->pong_timeout_ms = (unsigned)get_int(o, "pongTimeout", 0);
  if (has(o, "closeTimeout")) l->close_timeout_ms = (unsigned)get_int(o, "closeTimeout", 0);
}

// permessage-deflate, as ws's perMessageDeflate object (already normalised by
// the JS layer): serverNoContextTakeover, clientNoContextTakeover,
// serverMaxWindowBits, clientMaxWindowBits, level, memLevel, threshold.
bool read_deflate(const Napi::Value& v, uvws_deflate_options_t* d) {
  if (!v.IsObject()) return false;
  Napi::Object o = v.As<Napi::Object>();
  memset(d, 0, sizeof(*d));
  d->server_no_context_takeover = (int)get_int(o, "serverNoContextTakeover", 0);
  d->client_no_context_takeover = (int)get_int(o, "clientNoContextTakeover", 0);
  d->server_max_window_bits = (int)get_int(o, "serverMaxWindowBits", 0);
  d->client_max_window_bits = (int)get_int(o, "clientMaxWindowBits", 0);
  d->level = (int)get_int(o, "level", 0);
  d->mem_level = (int)get_int(o, "memLevel", 0);
  d->threshold = (size_t)get_int(o, "threshold", 0);
  return true;
}

// TLS options, all PEM text (the JS layer turns Buffers and arrays into
// strings): cert, key, ca, verifyClient (0/1/2), insecure, serverName,
// ciphers, ciphersuites, minVersion (0x0303/0x0304), sni: [{serverName, cert, key}].
std::unique_ptr<TlsStore> read_tls(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  auto t = std::make_unique<TlsStore>();
  memset(&t->opts, 0, sizeof(t->opts));
  auto str = [&](const char* key) -> const char* {
    if (!has(o, key)) return nullptr;
    return t->keep(get_string(o, key));
  };
  t->opts.cert_pem = str("cert");
  t->opts.key_pem = str("key");
  t->opts.ca_pem = str("ca");
  t->opts.cert_file = str("certFile");
  t->opts.key_file = str("keyFile");
  t->opts.ca_file = str("caFile");
  t->opts.ca_dir = str("caDir");
  t->opts.server_name = str("serverName");
  t->opts.ciphers = str("ciphers");
  t->opts.ciphersuites = str("ciphersuites");
  t->opts.verify_client = (int)get_int(o, "verifyClient", 0);
  t->opts.insecure_skip_verify = (int)get_int(o, "insecure", 0);
  t->opts.min_version = (int)get_int(o, "minVersion", 0);
  Napi::Value sni = o.Get("sni");
  if (sni.IsArray()) {
    Napi::Array arr = sni.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value e = arr.Get(i);
      if (!e.IsObject()) continue;
      Napi::Object eo = e.As<Napi::Object>();
      uvws_tls_sni_t s;
      memset(&s, 0, sizeof(s));
      s.server_name = t->keep(get_string(eo, "serverName"));
      if (has(eo, "cert")) s.cert_pem = t->keep(get_string(eo, "cert"));
      if (has(eo, "key")) s.key_pem = t->keep(get_string(eo, "key"));
      t->sni.push_back(s);
    }
    t->opts.sni = t->sni.data();
    t->opts.num_sni = t->sni.size();
  }
  return t;
}

// Flat [name, value, name, value, ...] array of strings -> headers.
struct HeaderList {
  std::deque<std::string> strs;
  std::vector<uvws_header_t> h;
};

void read_headers(const Napi::Value& v, HeaderList* out) {
  if (!v.IsArray()) return;
  Napi::Array arr = v.As<Napi::Array>();
  uint32_t n = arr.Length() / 2;
  for (uint32_t i = 0; i < n; i++) {
    out->strs.push_back(arr.Get(2 * i).ToString().Utf8Value());
    const std::string& name = out->strs.back();
    out->strs.push_back(arr.Get(2 * i + 1).ToString().Utf8Value());
    const std::string& value = out->strs.back();
    out->h.push_back(uvws_header_t{name.data(), name.size(), value.data(), value.size()});
  }
}

napi_value sockaddr_to_js(napi_env env, const struct sockaddr_storage* ss) {
  char ip[64] = "";
  int port = 0;
  const char* family = "IPv4";
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6* a6 = reinterpret_cast<const struct sockaddr_in6*>(ss);
    uv_ip6_name(a6, ip, sizeof(ip));
    port = ntohs(a6->sin6_port);
    family = "IPv6";
  } else {
    const struct sockaddr_in* a4 = reinterpret_cast<const struct sockaddr_in*>(ss);
    uv_ip4_name(a4, ip, sizeof(ip));
    port = ntohs(a4->sin_port);
  }
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "address", js_str(env, ip, strlen(ip)));
  napi_set_named_property(env, o, "family", js_str(env, family, strlen(family)));
  napi_set_named_property(env, o, "port", js_int(env, port));
  return o;
}

void conn_finalize(napi_env env, void* data, void* hint) {
  Conn* c = static_cast<Conn*>(data);
  c->js_gone = true;
  if (!c->attached && !c->ws) delete c;
}

void server_finalize(napi_env env, void* data, void* hint) {
  Server* s = static_cast<Server*>(data);
  s->js_gone = true;
  if (!s->attached) delete s;
}

void owned_release(const void* data, void* arg) {
  OwnedRef* r = static_cast<OwnedRef*>(arg);
  if (r->in_call) {
    r->released = true;
    return;
  }
  if (r->ref && r->a->alive) napi_delete_reference(r->a->env, r->ref);
  delete r;
}

// ------------------------------------------------------------------------
// Exported functions

#define ARGS(n)                                                   \
  size_t argc = n;                                                \
  napi_value argv[n];                                             \
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);     \
  for (size_t i_ = argc; i_ < n; i_++) napi_get_undefined(env, &argv[i_])

Conn* conn_arg(napi_env env, napi_value v) { return external<Conn>(env, v); }

// init({onOpen, onMessage, ...})
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* a = addon_of(env);
  Napi::Object fns = info[0].As<Napi::Object>();
  for (int i = 0; i < FN_COUNT; i++) {
    Napi::Value f = fns.Get(kFnNames[i]);
    if (!f.IsFunction()) {
      Napi::TypeError::New(env, std::string("missing handler ") + kFnNames[i]).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (a->fn[i]) napi_delete_reference(env, a->fn[i]);
    napi_create_reference(env, f, 1, &a->fn[i]);
  }
  a->initialized = true;
  return env.Undefined();
}

// The options every server and client of the addon starts from (the
// engine's defaults); defaults() exports them, so that tests compare the
// documented defaults with these very values.
void server_defaults(uvws_server_options_t* o) { uvws_server_options_init(o); }
void client_defaults(uvws_client_options_t* o) { uvws_client_options_init(o); }

napi_value limits_to_js(napi_env env, const uvws_limits_t* l) {
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "maxPayload", js_int(env, (int64_t)l->max_payload));
  napi_set_named_property(env, o, "maxFragments", js_int(env, l->max_fragments));
  napi_set_named_property(env, o, "maxBackpressure", js_int(env, (int64_t)l->max_backpressure));
  napi_set_named_property(env, o, "closeOnBackpressure", js_int(env, l->close_on_backpressure));
  napi_set_named_property(env, o, "idleTimeout", js_int(env, l->idle_timeout_ms));
  napi_set_named_property(env, o, "pingInterval", js_int(env, l->ping_interval_ms));
  napi_set_named_property(env, o, "pongTimeout", js_int(env, l->pong_timeout_ms));
  napi_set_named_property(env, o, "closeTimeout", js_int(env, l->close_timeout_ms));
  return o;
}

// defaults() -> {server: {...}, client: {...}}: what an option left out is.
napi_value Defaults(napi_env env, napi_callback_info info) {
  uvws_server_options_t so;
  uvws_client_options_t co;
  server_defaults(&so);
  client_defaults(&co);
  napi_value server = limits_to_js(env, &so.limits), client = limits_to_js(env, &co.limits), r;
  napi_set_named_property(env, server, "backlog", js_int(env, so.backlog));
  napi_set_named_property(env, server, "maxHeaderBytes", js_int(env, (int64_t)so.max_header_bytes));
  napi_set_named_property(env, server, "maxHeaders", js_int(env, so.max_headers));
  napi_set_named_property(env, server, "handshakeTimeout", js_int(env, so.handshake_timeout_ms));
  napi_set_named_property(env, server, "maxConnections", js_int(env, so.max_connections));
  napi_set_named_property(env, server, "maxPendingHandshakes", js_int(env, so.max_pending_handshakes));
  napi_set_named_property(env, client, "handshakeTimeout", js_int(env, co.connect_timeout_ms));
  napi_set_named_property(env, client, "maxResponseBytes", js_int(env, (int64_t)co.max_response_bytes));
  napi_create_object(env, &r);
  napi_set_named_property(env, r, "server", server);
  napi_set_named_property(env, r, "client", client);
  return r;
}

// listen(serverObj, opts) -> External | negative error code
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* a = addon_of(env);
  Napi::Object self = info[0].As<Napi::Object>();
  Napi::Object o = info[1].As<Napi::Object>();
  auto s = std::make_unique<Server>();
  s->a = a;
  uvws_server_options_t opts;
  server_defaults(&opts);
  if (has(o, "host")) {
    s->host = get_string(o, "host");
    opts.host = s->host.c_str();
  }
  opts.port = (int)get_int(o, "port", 0);
  if (has(o, "backlog")) opts.backlog = (int)get_int(o, "backlog", 511);
  opts.ipv6_only = (int)get_int(o, "ipv6Only", 0);
  if (has(o, "path")) {
    s->path = get_string(o, "path");
    opts.path = s->path.c_str();
  }
  if (has(o, "maxHeaderBytes")) opts.max_header_bytes = (size_t)get_int(o, "maxHeaderBytes", 8192);
  if (has(o, "maxHeaders")) opts.max_headers = (unsigned)get_int(o, "maxHeaders", 64);
  if (has(o, "handshakeTimeout")) opts.handshake_timeout_ms = (unsigned)get_int(o, "handshakeTimeout", 10000);
  if (has(o, "maxConnections")) opts.max_connections = (unsigned)get_int(o, "maxConnections", 0);
  if (has(o, "maxPendingHandshakes"))
    opts.max_pending_handshakes = (unsigned)get_int(o, "maxPendingHandshakes", 0);
  read_limits(o, &opts.limits);
  s->tls = read_tls(o.Get("tls"));
  if (s->tls) opts.tls = &s->tls->opts;
  uvws_deflate_options_t deflate;  // copied by the engine
  if (read_deflate(o.Get("deflate"), &deflate)) opts.deflate = &deflate;
  uvws_server_t* srv = nullptr;
  int r = uvws_server_start(a->loop, &opts, &kServerCallbacks, on_upgrade, s.get(), &srv);
  if (r < 0) return Napi::Number::New(env, r);
  uvws_topic_callbacks_t tcb = {on_subscription, on_dropped};
  uvws_server_topic_callbacks(srv, &tcb);
  Server* sp = s.release();
  sp->srv = srv;
  sp->attached = true;
  list_add(a->servers, sp);
  napi_create_reference(env, self, 1, &sp->self);
  napi_value ext;
  napi_create_external(env, sp, server_finalize, nullptr, &ext);
  return Napi::Value(env, ext);
}

Server* server_arg(const Napi::CallbackInfo& info) {
  Server* s = external<Server>(info.Env(), info[0]);
  return s && s->srv && !s->closing ? s : nullptr;
}

Napi::Value ServerClose(const Napi::CallbackInfo& info) {
  Server* s = server_arg(info);
  if (!s) return Napi::Number::New(info.Env(), UVWS_ECLOSED);
  s->closing = true;
  return Napi::Number::New(info.Env(), uvws_server_close(s->srv, on_server_closed));
}

Napi::Value ServerAddress(const Napi::CallbackInfo& info) {
  Server* s = server_arg(info);
  if (!s) return info.Env().Null();
  struct sockaddr_storage ss;
  if (uvws_server_address(s->srv, &ss) < 0) return info.Env().Null();
  return Napi::Value(info.Env(), sockaddr_to_js(info.Env(), &ss));
}

// serverStats(server) -> {name: number, ...} in UVWS_STATS_MAP order, or
// null once the server is closed.
napi_value ServerStats(napi_env env, napi_callback_info info) {
  ARGS(1);
  Server* s = external<Server>(env, argv[0]);
  uvws_stats_t st;
  if (!s || !s->srv || uvws_server_stats(s->srv, &st) < 0) {
    napi_value n;
    napi_get_null(env, &n);
    return n;
  }
  return stats_to_js(env, &st);
}

Napi::Value ServerConnections(const Napi::CallbackInfo& info) {
  Server* s = server_arg(info);
  return Napi::Number::New(info.Env(), s ? (double)uvws_server_connections(s->srv) : 0);
}

// broadcast(server, data, flags) -> connections it was handed to
napi_value Broadcast(napi_env env, napi_callback_info info) {
  ARGS(3);
  Addon* a = addon_of(env);
  Server* s = external<Server>(env, argv[0]);
  Bytes b;
  if (!get_bytes(a, env, argv[1], &b)) return nullptr;
  int32_t flags = 0;
  napi_get_value_int32(env, argv[2], &flags);
  size_t n = s && s->srv && !s->closing ? uvws_server_broadcast(s->srv, b.p, b.n, flags) : 0;
  return js_int(env, (int64_t)n);
}

// --- topics -------------------------------------------------------------

// A topic argument: a JS string, as UTF-8. False (with a TypeError thrown)
// for anything else.
bool topic_arg(napi_env env, napi_value v, std::string* out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) {
    napi_throw_type_error(env, nullptr, "topic must be a string");
    return false;
  }
  size_t n = 0;
  napi_get_value_string_utf8(env, v, nullptr, 0, &n);
  out->resize(n + 1);
  napi_get_value_string_utf8(env, v, &(*out)[0], n + 1, &n);
  out->resize(n);
  return true;
}

// subscribe(conn, topic) / unsubscribe(conn, topic) -> 1, 0 or an error code
napi_value subscription(napi_env env, napi_callback_info info, bool sub) {
  ARGS(2);
  Conn* c = conn_arg(env, argv[0]);
  std::string t;
  if (!topic_arg(env, argv[1], &t)) return nullptr;
  if (!c || !c->ws) return js_int(env, sub ? UVWS_ECLOSED : 0);
  return js_int(env, sub ? uvws_subscribe(c->ws, t.data(), t.size())
                         : uvws_unsubscribe(c->ws, t.data(), t.size()));
}
napi_value Subscribe(napi_env env, napi_callback_info info) { return subscription(env, info, true); }
napi_value Unsubscribe(napi_env env, napi_callback_info info) { return subscription(env, info, false); }

napi_value IsSubscribed(napi_env env, napi_callback_info info) {
  ARGS(2);
  Conn* c = conn_arg(env, argv[0]);
  std::string t;
  if (!topic_arg(env, argv[1], &t)) return nullptr;
  napi_value r;
  napi_get_boolean(env, c && c->ws && uvws_is_subscribed(c->ws, t.data(), t.size()), &r);
  return r;
}

struct TopicList {
  napi_env env;
  napi_value arr;
  uint32_t i;
};

int add_topic(uvws_t*, const char* f, size_t len, void* arg) {
  TopicList* l = static_cast<TopicList*>(arg);
  napi_value s;
  napi_create_string_utf8(l->env, f, len, &s);
  napi_set_element(l->env, l->arr, l->i++, s);
  return 0;
}

// topics(conn) -> [filter, ...] in subscription order
napi_value Topics(napi_env env, napi_callback_info info) {
  ARGS(1);
  Conn* c = conn_arg(env, argv[0]);
  TopicList l{env, nullptr, 0};
  napi_create_array(env, &l.arr);
  if (c && c->ws) uvws_topics(c->ws, add_topic, &l);
  return l.arr;
}

// publish(conn, topic, data, flags) / serverPublish(server, ...) -> count or
// an error code
napi_value publish(napi_env env, napi_callback_info info, bool server) {
  ARGS(4);
  Addon* a = addon_of(env);
  std::string t;
  if (!topic_arg(env, argv[1], &t)) return nullptr;
  Bytes b;
  if (!get_bytes(a, env, argv[2], &b)) return nullptr;
  int32_t flags = 0;
  napi_get_value_int32(env, argv[3], &flags);
  if (server) {
    Server* s = external<Server>(env, argv[0]);
    if (!s || !s->srv || s->closing) return js_int(env, 0);
    return js_int(env, uvws_server_publish(s->srv, t.data(), t.size(), b.p, b.n, flags));
  }
  Conn* c = conn_arg(env, argv[0]);
  if (!c || !c->ws) return js_int(env, UVWS_ECLOSED);
  return js_int(env, uvws_publish(c->ws, t.data(), t.size(), b.p, b.n, flags));
}
napi_value Publish(napi_env env, napi_callback_info info) { return publish(env, info, false); }
napi_value ServerPublish(napi_env env, napi_callback_info info) { return publish(env, info, true); }

// numSubscribers(server, topic) -> count
napi_value NumSubscribers(napi_env env, napi_callback_info info) {
  ARGS(2);
  Server* s = external<Server>(env, argv[0]);
  std::string t;
  if (!topic_arg(env, argv[1], &t)) return nullptr;
  size_t n = s && s->srv ? uvws_server_num_subscribers(s->srv, t.data(), t.size()) : 0;
  return js_int(env, (int64_t)n);
}

// adopt(server, fd, head) -> 0 | error: hand a socket whose upgrade request
// was read by Node's HTTP server to the engine. The fd is duplicated, so
// Node's socket can be destroyed afterwards without closing the connection.
Napi::Value Adopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Server* s = server_arg(info);
  if (!s) return Napi::Number::New(env, UVWS_ECLOSED);
  int fd = info[1].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> head = info[2].As<Napi::Buffer<char>>();
  int nfd = dup(fd);
  if (nfd < 0) return Napi::Number::New(env, -errno);
  int r = uvws_server_adopt(s->srv, nfd, head.Data(), head.Length());
  // On ENOMEM the engine may already own the fd; anything else happened
  // before it took it.
  if (r < 0 && r != UVWS_ENOMEM) close(nfd);
  return Napi::Number::New(env, r);
}

// newConn(wsObj) -> External for a server-side connection about to be accepted
Napi::Value NewConn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = new Conn();
  c->a = addon_of(env);
  napi_create_reference(env, info[0], 1, &c->self);
  napi_value ext;
  napi_create_external(env, c, conn_finalize, nullptr, &ext);
  return Napi::Value(env, ext);
}

// accept(up, conn, protocol|null, headers[]) -> 0 when the connection is
// open (on_open ran), else an error code.
Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Up* u = external<Up>(env, info[0]);
  Conn* c = external<Conn>(env, info[1]);
  if (!u || !c || u->decided) return Napi::Number::New(env, UVWS_EINVAL);
  std::string proto;
  bool has_proto = info[2].IsString();
  if (has_proto) proto = info[2].As<Napi::String>().Utf8Value();
  HeaderList hl;
  read_headers(info[3], &hl);
  int r = uvws_upgrade_accept(u->up, has_proto ? proto.c_str() : nullptr, hl.h.data(), hl.h.size(), c);
  if (r == UVWS_EPROTOCOL) return Napi::Number::New(env, r);  // nothing decided: JS retries
  if (r == UVWS_EINVAL) {
    // A header the engine refused (uvws_last_error() says which): nothing
    // decided, and this connection object will not be used.
    if (!c->attached && c->self) napi_delete_reference(env, c->self);
    c->self = nullptr;
    return Napi::Number::New(env, r);
  }
  u->decided = true;
  if (r == 0 && !c->ws) r = UVWS_ECLOSED;  // the 101 could not be written
  if (r < 0 && !c->attached) {
    if (c->self) napi_delete_reference(env, c->self);
    c->self = nullptr;
  }
  return Napi::Number::New(env, r);
}

// reject(up, status, headers[], body)
Napi::Value Reject(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Up* u = external<Up>(env, info[0]);
  if (!u || u->decided) return Napi::Number::New(env, UVWS_EINVAL);
  int status = info[1].As<Napi::Number>().Int32Value();
  HeaderList hl;
  read_headers(info[2], &hl);
  std::string body;
  bool has_body = info[3].IsString();
  if (has_body) body = info[3].As<Napi::String>().Utf8Value();
  int r = uvws_upgrade_reject(u->up, status, hl.h.data(), hl.h.size(), has_body ? body.data() : nullptr,
                              body.size());
  if (r != UVWS_EINVAL) u->decided = true;  // EINVAL: a refused header, nothing decided
  return Napi::Number::New(env, r);
}

Napi::Value UpgradeAborted(const Napi::CallbackInfo& info) {
  Up* u = external<Up>(info.Env(), info[0]);
  return Napi::Boolean::New(info.Env(), !u || u->decided || uvws_upgrade_is_aborted(u->up));
}

// connect(wsObj, url, opts) -> External | negative error code
Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* a = addon_of(env);
  std::string url = info[1].As<Napi::String>().Utf8Value();
  Napi::Object o = info[2].As<Napi::Object>();
  uvws_client_options_t opts;
  client_defaults(&opts);
  HeaderList hl;
  read_headers(o.Get("headers"), &hl);
  opts.headers = hl.h.data();
  opts.num_headers = hl.h.size();
  std::vector<std::string> protos;
  std::vector<const char*> pp;
  Napi::Value pv = o.Get("protocols");
  if (pv.IsArray()) {
    Napi::Array arr = pv.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) protos.push_back(arr.Get(i).ToString().Utf8Value());
    for (auto& p : protos) pp.push_back(p.c_str());
    opts.protocols = pp.data();
    opts.num_protocols = pp.size();
  }
  std::string origin;
  if (has(o, "origin")) {
    origin = get_string(o, "origin");
    opts.origin = origin.c_str();
  }
  if (has(o, "handshakeTimeout")) opts.connect_timeout_ms = (unsigned)get_int(o, "handshakeTimeout", 30000);
  if (has(o, "maxResponseBytes")) opts.max_response_bytes = (size_t)get_int(o, "maxResponseBytes", 16384);
  if (has(o, "maxRedirects")) opts.max_redirects = (unsigned)get_int(o, "maxRedirects", 0);
  read_limits(o, &opts.limits);
  auto c = std::make_unique<Conn>();
  c->a = a;
  c->tls = read_tls(o.Get("tls"));
  if (c->tls) opts.tls = &c->tls->opts;
  uvws_deflate_options_t deflate;  // copied by the engine
  if (read_deflate(o.Get("deflate"), &deflate)) opts.deflate = &deflate;
  uvws_t* ws = nullptr;
  int r = uvws_connect(a->loop, url.c_str(), &opts, &kClientCallbacks, c.get(), &ws);
  if (r < 0) return Napi::Number::New(env, r);
  Conn* cp = c.release();
  cp->ws = ws;
  conn_attach(cp);
  napi_create_reference(env, info[0], 1, &cp->self);
  napi_value ext;
  napi_create_external(env, cp, conn_finalize, nullptr, &ext);
  return Napi::Value(env, ext);
}

// send(conn, data, flags) -> UVWS_SEND_* or an error code
napi_value Send(napi_env env, napi_callback_info info) {
  ARGS(3);
  Conn* c = conn_arg(env, argv[0]);
  if (!c || !c->ws) return js_int(env, UVWS_ECLOSED);
  Addon* a = c->a;
  int32_t flags = 0;
  napi_get_value_int32(env, argv[2], &flags);
  Bytes b;
  if (!get_bytes(a, env, argv[1], &b)) return nullptr;
  int r;
  if (!b.is_string && b.n >= kOwnedMin && !uvws_is_client(c->ws)) {
    // Large buffer: whatever the socket does not take at once stays in the
    // caller's memory, kept alive by a reference until it is written.
    OwnedRef* ref = new OwnedRef{a};
    r = uvws_send_owned(c->ws, b.p, b.n, flags, owned_release, ref);
    ref->in_call = false;
    if (ref->released) delete ref;
    else napi_create_reference(env, argv[1], 1, &ref->ref);
  } else {
    r = uvws_send(c->ws, b.p, b.n, flags);
  }
  return js_int(env, r);
}

// ping(conn, data) / pong(conn, data) -> 0 or an error code
napi_value control(napi_env env, napi_callback_info info, bool ping) {
  ARGS(2);
  Conn* c = conn_arg(env, argv[0]);
  if (!c || !c->ws) return js_int(env, UVWS_ECLOSED);
  Bytes b;
  if (!get_bytes(c->a, env, argv[1], &b)) return nullptr;
  return js_int(env, ping ? uvws_ping(c->ws, b.p, b.n) : uvws_pong(c->ws, b.p, b.n));
}
napi_value Ping(napi_env env, napi_callback_info info) { return control(env, info, true); }
napi_value Pong(napi_env env, napi_callback_info info) { return control(env, info, false); }

// close(conn, code, reason) -> 0 or an error code
napi_value Close(napi_env env, napi_callback_info info) {
  ARGS(3);
  Conn* c = conn_arg(env, argv[0]);
  if (!c || !c->ws) return js_int(env, UVWS_ECLOSED);
  int32_t code = 0;
  napi_get_value_int32(env, argv[1], &code);
  Bytes b;
  if (!get_bytes(c->a, env, argv[2], &b)) return nullptr;
  return js_int(env, uvws_close(c->ws, code, b.p, b.n));
}

napi_value Terminate(napi_env env, napi_callback_info info) {
  ARGS(1);
  Conn* c = conn_arg(env, argv[0]);
  if (c && c->ws) uvws_terminate(c->ws);
  return nullptr;
}

napi_value BufferedAmount(napi_env env, napi_callback_info info) {
  ARGS(1);
  Conn* c = conn_arg(env, argv[0]);
  return js_int(env, c && c->ws ? (int64_t)uvws_buffered_amount(c->ws) : 0);
}

napi_value ReadyState(napi_env env, napi_callback_info info) {
  ARGS(1);
  Conn* c = conn_arg(env, argv[0]);
  return js_int(env, c && c->ws ? uvws_ready_state(c->ws) : UVWS_CLOSED);
}

napi_value Pause(napi_env env, napi_callback_info info) {
  ARGS(1);
  Conn* c = conn_arg(env, argv[0]);
  return js_int(env, c && c->ws ? uvws_pause(c->ws) : UVWS_ECLOSED);
}

napi_value Resume(napi_env env, napi_callback_info info) {
  ARGS(1);
  Conn* c = conn_arg(env, argv[0]);
  return js_int(env, c && c->ws ? uvws_resume(c->ws) : UVWS_ECLOSED);
}

// The negotiated extension names, as ws's `extensions` ("" or
// "permessage-deflate").
Napi::Value Extensions(const Napi::CallbackInfo& info) {
  Conn* c = conn_arg(info.Env(), info[0]);
  if (c && c->ws && uvws_compressed(c->ws)) return Napi::String::New(info.Env(), "permessage-deflate");
  return Napi::String::New(info.Env(), "");
}

Napi::Value RemoteAddress(const Napi::CallbackInfo& info) {
  Conn* c = conn_arg(info.Env(), info[0]);
  struct sockaddr_storage ss;
  if (!c || !c->ws || uvws_remote_address(c->ws, &ss) < 0) return info.Env().Null();
  return Napi::Value(info.Env(), sockaddr_to_js(info.Env(), &ss));
}

// Which header, subprotocol or TLS file the last synchronous failure was about.
Napi::Value LastError(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), uvws_last_error()); }

Napi::Value Strerror(const Napi::CallbackInfo& info) {
  int err = info[0].As<Napi::Number>().Int32Value();
  return Napi::String::New(info.Env(), uvws_strerror(err));
}

// The libuv error name (ECONNREFUSED, ...) of a UV_E* code, else "".
Napi::Value ErrName(const Napi::CallbackInfo& info) {
  int err = info[0].As<Napi::Number>().Int32Value();
  if (err <= -4096 || err >= 0) return Napi::String::New(info.Env(), "");
  return Napi::String::New(info.Env(), uv_err_name(err));
}

Napi::Value CloseCodeIsValid(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), uvws_close_code_is_valid(info[0].As<Napi::Number>().Int32Value()) != 0);
}

Napi::Value Utf8IsValid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes b;
  if (!get_bytes(addon_of(env), env, info[0], &b)) return env.Undefined();
  return Napi::Boolean::New(env, uvws_utf8_is_valid(b.p, b.n) != 0);
}

// debugCounts() -> {conns, servers, upgrades, ownedBuffers, engineConns,
// engineServers}: native objects alive now (the first four process-wide, the
// last two those attached to the engine in this environment). For the leak
// tests: all 0 once everything is closed and garbage-collected.
Napi::Value DebugCounts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* a = addon_of(env);
  long conns = 0, servers = 0;
  for (Conn* c = a->conns; c; c = c->next) conns++;
  for (Server* s = a->servers; s; s = s->next) servers++;
  Napi::Object o = Napi::Object::New(env);
  o.Set("conns", Napi::Number::New(env, (double)g_alive[kCountConn].load()));
  o.Set("servers", Napi::Number::New(env, (double)g_alive[kCountServer].load()));
  o.Set("upgrades", Napi::Number::New(env, (double)g_alive[kCountUp].load()));
  o.Set("ownedBuffers", Napi::Number::New(env, (double)g_alive[kCountOwned].load()));
  o.Set("engineConns", Napi::Number::New(env, (double)conns));
  o.Set("engineServers", Napi::Number::New(env, (double)servers));
  return o;
}

napi_value Fn(napi_env env, const char* name, napi_callback cb) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &f);
  return f;
}


// What the engine this addon was built from can do, asked of the engine
// itself (not of its header): permessage-deflate when its negotiation makes
// an offer and accepts that offer back. The package's tests skip the
// compression tests on an engine without it, and a test asserts that this
// build reports every feature, so a regression here fails instead of
// silently switching those tests off.
Napi::Object EngineFeatures(Napi::Env env) {
  uvws_deflate_options_t o;
  std::memset(&o, 0, sizeof(o));
  char offer[256];
  char resp[256];
  uvws_pmd_params_t params;
  size_t n = uvws_pmd_client_offer(&o, offer, sizeof(offer));
  bool deflate = n > 0 && uvws_pmd_server_negotiate(&o, offer, n, &params, resp, sizeof(resp)) == 1;
  Napi::Object f = Napi::Object::New(env);
  f.Set("tls", Napi::Boolean::New(env, true));
  f.Set("permessageDeflate", Napi::Boolean::New(env, deflate));
  return f;
}

Napi::Object ModuleInit(Napi::Env env, Napi::Object exports) {
  Addon* a = new Addon();
  a->env = env;
  a->scratch.resize(kScratch);
  if (napi_get_uv_event_loop(env, &a->loop) != napi_ok || !a->loop) {
    Napi::Error::New(env, "uvws: cannot get the Node.js event loop").ThrowAsJavaScriptException();
    delete a;
    return exports;
  }
  napi_set_instance_data(env, a, addon_finalize, nullptr);
  napi_add_async_cleanup_hook(env, async_cleanup, a, &a->cleanup);

  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("serverClose", Napi::Function::New(env, ServerClose, "serverClose"));
  exports.Set("serverAddress", Napi::Function::New(env, ServerAddress, "serverAddress"));
  exports.Set("serverConnections", Napi::Function::New(env, ServerConnections, "serverConnections"));
  exports.Set("broadcast", Napi::Value(env, Fn(env, "broadcast", Broadcast)));
  exports.Set("subscribe", Napi::Value(env, Fn(env, "subscribe", Subscribe)));
  exports.Set("unsubscribe", Napi::Value(env, Fn(env, "unsubscribe", Unsubscribe)));
  exports.Set("isSubscribed", Napi::Value(env, Fn(env, "isSubscribed", IsSubscribed)));
  exports.Set("topics", Napi::Value(env, Fn(env, "topics", Topics)));
  exports.Set("publish", Napi::Value(env, Fn(env, "publish", Publish)));
  exports.Set("serverPublish", Napi::Value(env, Fn(env, "serverPublish", ServerPublish)));
  exports.Set("numSubscribers", Napi::Value(env, Fn(env, "numSubscribers", NumSubscribers)));
  exports.Set("adopt", Napi::Function::New(env, Adopt, "adopt"));
  exports.Set("newConn", Napi::Function::New(env, NewConn, "newConn"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("reject", Napi::Function::New(env, Reject, "reject"));
  exports.Set("upgradeAborted", Napi::Function::New(env, UpgradeAborted, "upgradeAborted"));
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("send", Napi::Value(env, Fn(env, "send", Send)));
  exports.Set("ping", Napi::Value(env, Fn(env, "ping", Ping)));
  exports.Set("pong", Napi::Value(env, Fn(env, "pong", Pong)));
  exports.Set("close", Napi::Value(env, Fn(env, "close", Close)));
  exports.Set("terminate", Napi::Value(env, Fn(env, "terminate", Terminate)));
  exports.Set("bufferedAmount", Napi::Value(env, Fn(env, "bufferedAmount", BufferedAmount)));
  exports.Set("readyState", Napi::Value(env, Fn(env, "readyState", ReadyState)));
  exports.Set("pause", Napi::Value(env, Fn(env, "pause", Pause)));
  exports.Set("resume", Napi::Value(env, Fn(env, "resume", Resume)));
  exports.Set("remoteAddress", Napi::Function::New(env, RemoteAddress, "remoteAddress"));
  exports.Set("extensions", Napi::Function::New(env, Extensions, "extensions"));
  exports.Set("NO_COMPRESS", Napi::Number::New(env, UVWS_NO_COMPRESS));
  exports.Set("features", EngineFeatures(env));
  exports.Set("debugCounts", Napi::Function::New(env, DebugCounts, "debugCounts"));
  exports.Set("strerror", Napi::Function::New(env, Strerror, "strerror"));
  exports.Set("lastError", Napi::Function::New(env, LastError, "lastError"));
  exports.Set("serverStats", Napi::Value(env, Fn(env, "serverStats", ServerStats)));
  exports.Set("defaults", Napi::Value(env, Fn(env, "defaults", Defaults)));
  Napi::Object statsDesc = Napi::Object::New(env);
#define XX(name, desc) statsDesc.Set(#name, Napi::String::New(env, desc));
  UVWS_STATS_MAP(XX)
#undef XX
  exports.Set("statsFields", statsDesc);
  exports.Set("errName", Napi::Function::New(env, ErrName, "errName"));
  exports.Set("closeCodeIsValid", Napi::Function::New(env, CloseCodeIsValid, "closeCodeIsValid"));
  exports.Set("utf8IsValid", Napi::Function::New(env, Utf8IsValid, "utf8IsValid"));
  exports.Set("version", Napi::String::New(env, uvws_version()));
  exports.Set("TEXT", Napi::Number::New(env, UVWS_TEXT));
  exports.Set("BINARY", Napi::Number::New(env, UVWS_BINARY));
  exports.Set("MORE", Napi::Number::New(env, UVWS_MORE));
  exports.Set("SEND_OK", Napi::Number::New(env, UVWS_SEND_OK));
  exports.Set("SEND_QUEUED", Napi::Number::New(env, UVWS_SEND_QUEUED));
  exports.Set("SEND_DROPPED", Napi::Number::New(env, UVWS_SEND_DROPPED));
  Napi::Object errs = Napi::Object::New(env);
#define XX(name, val, msg) errs.Set(#name, Napi::Number::New(env, val));
  UVWS_ERRNO_MAP(XX)
#undef XX
  exports.Set("errors", errs);
  return exports;
}

}  // namespace

NODE_API_MODULE(uvws, ModuleInit)

/* TLS for wss:// on OpenSSL. The SSL object talks to a custom BIO instead of
 * a pair of memory BIOs: reads are served straight from the ciphertext the
 * loop just received, and writes go into one output buffer shared by the
 * whole loop, so an idle TLS connection holds no buffer of its own (with
 * SSL_MODE_RELEASE_BUFFERS OpenSSL frees its record buffers too). */
#include "uvws_internal.h"
#include "uvws_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct uvws_tls {
  SSL *ssl;
  const uint8_t *in;   /* ciphertext being fed, during uvws__tls_on_read */
  size_t in_len;
  uint8_t done;        /* handshake complete */
  uint8_t shutdown_sent;
  uint8_t buffered;    /* OpenSSL may hold record buffers: uvws__tls_idle */
};

typedef struct sni_entry {
  char *name;
  SSL_CTX *ctx;
} sni_entry_t;

struct uvws_tls_ctx {
  SSL_CTX *ctx;
  sni_entry_t *sni;
  size_t num_sni;
  int is_client;
  int verify;          /* client: verify peer and host */
};

/* ------------------------------------------------------------------ */
/* The BIO                                                             */
/* ------------------------------------------------------------------ */

static BIO_METHOD *bio_method;
static uv_once_t bio_once = UV_ONCE_INIT;

static int bio_write(BIO *b, const char *data, int len) {
  uvws_t *ws = BIO_get_data(b);
  uvws_loopctx_t *lc = ws->lc;
  BIO_clear_retry_flags(b);
  if (lc->tls_out_len + (size_t)len > lc->tls_out_cap) {
    size_t cap = lc->tls_out_cap ? lc->tls_out_cap : 65536;
    while (cap < lc->tls_out_len + (size_t)len) cap *= 2;
    uint8_t *p = realloc(lc->tls_out, cap);
    if (!p) return -1;
    lc->tls_out = p;
    lc->tls_out_cap = cap;
  }
  memcpy(lc->tls_out + lc->tls_out_len, data, (size_t)len);
  lc->tls_out_len += (size_t)len;
  return len;
}

static int bio_read(BIO *b, char *out, int len) {
  uvws_t *ws = BIO_get_data(b);
  uvws_tls_t *t = ws->tls;
  BIO_clear_retry_flags(b);
  if (!t->in_len) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t n = (size_t)len < t->in_len ? (size_t)len : t->in_len;
  memcpy(out, t->in, n);
  t->in += n;
  t->in_len -= n;
  return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  (void)b;
  (void)num;
  (void)ptr;
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static void bio_init_method(void) {
  bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "uvws");
  BIO_meth_set_write(bio_method, bio_write);
  BIO_meth_set_read(bio_method, bio_read);
  BIO_meth_set_ctrl(bio_method, bio_ctrl);
  BIO_meth_set_create(bio_method, bio_create);
}

/* ------------------------------------------------------------------ */
/* Contexts                                                            */
/* ------------------------------------------------------------------ */

static void set_err(char *err, size_t cap, const char *what) {
  unsigned long e = ERR_peek_last_error();
  char reason[256] = "";
  if (e) ERR_error_string_n(e, reason, sizeof(reason));
  snprintf(err, cap, "%s%s%s", what, *reason ? ": " : "", reason);
  ERR_clear_error();
}

static int load_cert_key(SSL_CTX *ctx, const char *cert_file, const char *key_file,
                         const char *cert_pem, const char *key_pem, char *err,
                         size_t cap) {
  if (cert_file) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
      set_err(err, cap, "cannot load the certificate chain");
      return UVWS_ETLS;
    }
  } else if (cert_pem) {
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int ok = x && SSL_CTX_use_certificate(ctx, x) == 1;
    X509_free(x);
    while (ok && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
      if (SSL_CTX_add_extra_chain_cert(ctx, x) != 1) {
        X509_free(x);
        ok = 0;
      }
    BIO_free(b);
    ERR_clear_error(); /* the end of the chain shows as an error */
    if (!ok) {
      set_err(err, cap, "cannot load the certificate");
      return UVWS_ETLS;
    }
  }
  if (key_file) {
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
      set_err(err, cap, "cannot load the private key");
      return UVWS_ETLS;
    }
  } else if (key_pem) {
    BIO *b = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    int ok = k && SSL_CTX_use_PrivateKey(ctx, k) == 1;
    EVP_PKEY_free(k);
    BIO_free(b);
    if (!ok) {
      set_err(err, cap, "cannot load the private key");
      return UVWS_ETLS;
    }
  }
  if ((cert_file || cert_pem) && SSL_CTX_check_private_key(ctx) != 1) {
    set_err(err, cap, "the private key does not match the certificate");
    return UVWS_ETLS;
  }
  return 0;
}

static int load_ca(SSL_CTX *ctx, const uvws_tls_options_t *o, int server,
                   char *err, size_t cap) {
  if (o->ca_file || o->ca_dir) {
    if (SSL_CTX_load_verify_locations(ctx, o->ca_file, o->ca_dir) != 1) {
      set_err(err, cap, "cannot load the CA certificates");
      return UVWS_ETLS;
    }
    if (server && o->ca_file) {
      STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca_file);
      if (names) SSL_CTX_set_client_CA_list(ctx, names);
    }
  }
  if (o->ca_pem) {
    BIO *b = BIO_new_mem_buf(o->ca_pem, -1);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509 *x;
    int n = 0;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
      X509_STORE_add_cert(store, x);
      if (server) SSL_CTX_add_client_CA(ctx, x);
      X509_free(x);
      n++;
    }
    BIO_free(b);
    ERR_clear_error();
    if (!n) {
      snprintf(err, cap, "no CA certificate found in ca_pem");
      return UVWS_ETLS;
    }
  }
  return 0;
}

static SSL_CTX *new_ctx(const uvws_tls_options_t *o, int client, char *err,
                        size_t cap) {
  SSL_CTX *ctx = SSL_CTX_new(client ? TLS_client_method() : TLS_server_method());
  if (!ctx) {
    set_err(err, cap, "cannot create a TLS context");
    return NULL;
  }
  int minv = o->min_version ? o->min_version : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, minv);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  /* Forward secrecy and AEAD only for TLS 1.2; TLS 1.3's defaults are. */
  const char *ciphers = o->ciphers ? o->ciphers
                                   : "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL";
  if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1 ||
      (o->ciphersuites && SSL_CTX_set_ciphersuites(ctx, o->ciphersuites) != 1)) {
    set_err(err, cap, "invalid cipher list");
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static int match_name(const char *pattern, const char *name) {
  if (strncmp(pattern, "*.", 2) == 0) {
    const char *dot = strchr(name, '.');
    return dot && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
  }
  return strcasecmp(pattern, name) == 0;
}

static int on_servername(SSL *ssl, int *alert, void *arg) {
  uvws_tls_ctx_t *c = arg;
  (void)alert;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;
  for (size_t i = 0; i < c->num_sni; i++) {
    if (match_name(c->sni[i].name, name)) {
      SSL_set_SSL_CTX(ssl, c->sni[i].ctx);
      /* set_SSL_CTX keeps the original verify settings: copy them. */
      SSL_set_verify(ssl, SSL_CTX_get_verify_mode(c->ctx), NULL);
      return SSL_TLSEXT_ERR_OK;
    }
  }
  return SSL_TLSEXT_ERR_OK; /* fall back to the default certificate */
}

void uvws__tls_ctx_free(uvws_tls_ctx_t *c) {
  if (!c) return;
  for (size_t i = 0; i < c->num_sni; i++) {
    free(c->sni[i].name);
    SSL_CTX_free(c->sni[i].ctx);
  }
  free(c->sni);
  SSL_CTX_free(c->ctx);
  free(c);
}

int uvws__tls_server_ctx(const uvws_tls_options_t *o, uvws_tls_ctx_t **out,
                         char *err, size_t cap) {
  *out = NULL;
  if (!(o->cert_file || o->cert_pem) || !(o->key_file || o->key_pem)) {
    snprintf(err, cap, "a TLS server needs a certificate and a key");
    return UVWS_EINVAL;
  }
  uvws_tls_ctx_t *c = calloc(1, sizeof(*c));
  if (!c) return UVWS_ENOMEM;
  int r = UVWS_ETLS;
  if (!(c->ctx = new_ctx(o, 0, err, cap))) goto fail;
  if ((r = load_cert_key(c->ctx, o->cert_file, o->key_file, o->cert_pem, o->key_pem, err, cap)) < 0)
    goto fail;
  if ((r = load_ca(c->ctx, o, 1, err, cap)) < 0) goto fail;
  if (o->verify_client) {
    if (!o->ca_file && !o->ca_dir && !o->ca_pem) {
      snprintf(err, cap, "verify_client needs ca_file, ca_dir or ca_pem");
      r = UVWS_EINVAL;
      goto fail;
    }
    SSL_CTX_set_verify(c->ctx,
                       SSL_VERIFY_PEER | (o->verify_client >= 2 ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       NULL);
  }
  /* Sessions are resumed by tickets; no per-server session cache memory. */
  SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
  if (o->num_sni) {
    c->sni = calloc(o->num_sni, sizeof(*c->sni));
    if (!c->sni) {
      r = UVWS_ENOMEM;
      goto fail;
    }
    for (size_t i = 0; i < o->num_sni; i++) {
      const uvws_tls_sni_t *s = &o->sni[i];
      r = UVWS_ETLS;
      if (!s->server_name) {
        snprintf(err, cap, "an SNI entry has no server_name");
        r = UVWS_EINVAL;
        goto fail;
      }
      c->num_sni++;
      c->sni[i].name = strdup(s->server_name);
      if (!(c->sni[i].ctx = new_ctx(o, 0, err, cap))) goto fail;
      if ((r = load_cert_key(c->sni[i].ctx, s->cert_file, s->key_file, s->cert_pem,
                             s->key_pem, err, cap)) < 0)
        goto fail;
      if ((r = load_ca(c->sni[i].ctx, o, 1, err, cap)) < 0) goto fail;
    }
    SSL_CTX_set_tlsext_servername_callback(c->ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(c->ctx, c);
  }
  *out = c;
  return 0;
fail:
  uvws__tls_ctx_free(c);
  return r;
}

int uvws__tls_client_ctx(const uvws_tls_options_t *o, uvws_tls_ctx_t **out,
                         char *err, size_t cap) {
  static const uvws_tls_options_t defaults;
  if (!o) o = &defaults;
  *out = NULL;
  uvws_tls_ctx_t *c = calloc(1, sizeof(*c));
  if (!c) return UVWS_ENOMEM;
  c->is_client = 1;
  c->verify = !o->insecure_skip_verify;
  int r = UVWS_ETLS;
  if (!(c->ctx = new_ctx(o, 1, err, cap))) goto fail;
  if ((o->cert_file || o->cert_pem) &&
      (r = load_cert_key(c->ctx, o->cert_file, o->key_file, o->cert_pem, o->key_pem, err, cap)) < 0)
    goto fail;
  if (o->ca_file || o->ca_dir || o->ca_pem) {
    if ((r = load_ca(c->ctx, o, 0, err, cap)) < 0) goto fail;
  } else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
    set_err(err, cap, "cannot load the system trust store");
    goto fail;
  }
  SSL_CTX_set_verify(c->ctx, c->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
  *out = c;
  return 0;
fail:
  uvws__tls_ctx_free(c);
  return r;
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

int uvws__tls_attach(uvws_t *ws, uvws_tls_ctx_t *c, const char *host) {
  uv_once(&bio_once, bio_init_method);
  if (!bio_method) return UVWS_ENOMEM;
  uvws_tls_t *t = calloc(1, sizeof(*t));
  if (!t) return UVWS_ENOMEM;
  t->ssl = SSL_new(c->ctx);
  BIO *b = t->ssl ? BIO_new(bio_method) : NULL;
  if (!b) {
    SSL_free(t->ssl);
    free(t);
    return UVWS_ENOMEM;
  }
  BIO_set_data(b, ws);
  SSL_set_bio(t->ssl, b, b);
  if (c->is_client) {
    SSL_set_connect_state(t->ssl);
    int is_ip = strchr(host, ':') != NULL;
    if (!is_ip) {
      unsigned char tmp[4];
      is_ip = inet_pton(AF_INET, host, tmp) == 1;
    }
    /* SNI carries names only, never addresses (RFC 6066 section 3). */
    if (!is_ip) SSL_set_tlsext_host_name(t->ssl, host);
    if (c->verify) {
      X509_VERIFY_PARAM *p = SSL_get0_param(t->ssl);
      X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(p, host) != 1
                : X509_VERIFY_PARAM_set1_host(p, host, 0) != 1) {
        SSL_free(t->ssl);
        free(t);
        return UVWS_EINVAL;
      }
    }
  } else {
    SSL_set_accept_state(t->ssl);
  }
  ws->tls = t;
  return 0;
}

void uvws__tls_free(uvws_t *ws) {
  uvws_tls_t *t = ws->tls;
  if (!t) return;
  SSL_free(t->ssl);
  free(t);
  ws->tls = NULL;
}

/* Hand what the SSL object wrote to the socket. */
static int flush_out(uvws_t *ws) {
  uvws_loopctx_t *lc = ws->lc;
  if (!lc->tls_out_len) return 0;
  uv_buf_t b = uv_buf_init((char *)lc->tls_out, (unsigned)lc->tls_out_len);
  lc->tls_out_len = 0;
  int r = uvws__sock_write(ws, &b, 1, NULL, NULL, NULL);
  /* A large message grew the shared buffer: give the memory back. */
  if (lc->tls_out_cap > 4u * 1024 * 1024) {
    free(lc->tls_out);
    lc->tls_out = NULL;
    lc->tls_out_cap = 0;
  }
  return r;
}

static void tls_fail(uvws_t *ws, const char *what) {
  char msg[320];
  unsigned long e = ERR_peek_last_error();
  long vr = SSL_get_verify_result(ws->tls->ssl);
  if (vr != X509_V_OK) {
    snprintf(msg, sizeof(msg), "%s: certificate verify failed: %s", what,
             X509_verify_cert_error_string(vr));
  } else if (e) {
    char reason[256];
    ERR_error_string_n(e, reason, sizeof(reason));
    snprintf(msg, sizeof(msg), "%s: %s", what, reason);
  } else {
    snprintf(msg, sizeof(msg), "%s", what);
  }
  ERR_clear_error();
  uvws__set_error(ws, UVWS_ETLS, msg, 1);
  flush_out(ws); /* the alert, if any */
  uvws__conn_abort(ws, 0, NULL);
}

void uvws__tls_on_read(uvws_t *ws, const uint8_t *data, size_t len) {
  uvws_tls_t *t = ws->tls;
  t->buffered = 1;
  t->in = data;
  t->in_len = len;
  if (!t->done) {
    int r = SSL_do_handshake(t->ssl);
    flush_out(ws);
    if (ws->flags & F_HANDLE_CLOSING) return;
    if (r != 1) {
      int e = SSL_get_error(t->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
      tls_fail(ws, "TLS handshake failed");
      return;
    }
    t->done = 1;
    if (ws->flags & F_CLIENT) uvws__client_tls_ready(ws);
    if (ws->flags & F_HANDLE_CLOSING) return;
  }
  /* Decrypt everything that arrived; plaintext goes where a plain read
   * would have put it (the shared buffer or a large frame's message). */
  for (;;) {
    uint8_t *dst = ws->lc->rbuf;
    size_t cap = UVWS_READ_BUF_SIZE, n;
    if (ws->state != UVWS_CONNECTING &&
        (n = uvws__rx_target(ws, &dst)) >= UVWS_DIRECT_READ_MIN) {
      cap = n > (1u << 30) ? (1u << 30) : n;
    } else {
      dst = ws->lc->rbuf;
    }
    int r = SSL_read(t->ssl, dst, (int)(cap > INT32_MAX ? INT32_MAX : cap));
    if (r <= 0) {
      int e = SSL_get_error(t->ssl, r);
      flush_out(ws); /* e.g. a TLS 1.3 key update answer */
      if (e == SSL_ERROR_WANT_READ) break;
      if (e == SSL_ERROR_ZERO_RETURN) {
        /* close_notify: the peer has finished sending, like a FIN. */
        uvws__on_eof(ws);
        return;
      }
      tls_fail(ws, "TLS error");
      return;
    }
    /* What SSL_read wrote (a key update answer) goes out now: the shared
     * output buffer must be empty before a callback may write to another
     * connection. */
    flush_out(ws);
    uvws__on_plain(ws, dst, (size_t)r);
    if (ws->flags & F_HANDLE_CLOSING) return;
  }
  t->in_len = 0;
  /* All input consumed: the read buffer SSL_read just set up holds nothing
   * (uvws__tls_idle). Freed now rather than at the next tick so that the
   * next connection's handshake reuses it: kept until idle, every
   * connection's buffers would be resident at once and, freed later, stay
   * as holes between live SSL objects. */
  if (t->done && SSL_free_buffers(t->ssl)) t->buffered = 0;
}

int uvws__tls_start(uvws_t *ws) {
  int r = SSL_do_handshake(ws->tls->ssl);
  int e = SSL_get_error(ws->tls->ssl, r);
  flush_out(ws);
  if (r != 1 && e != SSL_ERROR_WANT_READ) {
    tls_fail(ws, "TLS handshake failed");
    return UVWS_ETLS;
  }
  return 0;
}

int uvws__tls_write(uvws_t *ws, uv_buf_t *bufs, unsigned n) {
  uvws_tls_t *t = ws->tls;
  t->buffered = 1;
  for (unsigned i = 0; i < n; i++) {
    const char *p = bufs[i].base;
    size_t left = bufs[i].len;
    while (left) {
      /* Bounded pieces keep the shared output buffer small. */
      int chunk = left > 256 * 1024 ? 256 * 1024 : (int)left;
      int r = SSL_write(t->ssl, p, chunk);
      if (r <= 0) {
        tls_fail(ws, "TLS write failed");
        return UVWS_ETLS;
      }
      p += r;
      left -= (size_t)r;
      if (ws->lc->tls_out_len >= 256 * 1024) {
        int w = flush_out(ws);
        if (w < 0) return w;
      }
    }
  }
  return flush_out(ws);
}

int uvws__tls_shutdown(uvws_t *ws) {
  uvws_tls_t *t = ws->tls;
  if (t->shutdown_sent || !t->done) return 0;
  t->shutdown_sent = 1;
  SSL_shutdown(t->ssl);
  ERR_clear_error();
  return flush_out(ws);
}

/* SSL_MODE_RELEASE_BUFFERS is not enough to leave an idle connection
 * without record buffers: every read loop ends with an SSL_read that finds
 * no more input, and OpenSSL sets up its read buffer (about 17 KiB) before
 * finding out; the write buffer of a TLS 1.3 server's session tickets also
 * stays. Measured with massif on 1,000 idle wss:// connections: 23 KB each
 * of malloc'd buffers, about 11 KiB of them resident. uvws__tls_on_read
 * frees them when it has consumed its input; the tick catches the rest
 * once a connection has been quiet. SSL_free_buffers() keeps buffers that
 * still hold data. */
void uvws__tls_idle(uvws_t *ws) {
  uvws_tls_t *t = ws->tls;
  if (t->buffered && t->done && SSL_free_buffers(t->ssl)) t->buffered = 0;
}

int uvws__tls_handshake_done(const uvws_t *ws) { return ws->tls && ws->tls->done; }

int uvws__tls_verify_failed(const uvws_t *ws) {
  /* With verification off (insecure_skip_verify) OpenSSL still records a
   * result; it did not fail anything then. */
  return ws->tls && ws->tls->ssl && (SSL_get_verify_mode(ws->tls->ssl) & SSL_VERIFY_PEER) &&
         SSL_get_verify_result(ws->tls->ssl) != X509_V_OK;
}

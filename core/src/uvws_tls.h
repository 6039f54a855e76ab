/* TLS layer between the socket and the WebSocket connection (uvws_tls.c). */
#ifndef UVWS_TLS_H
#define UVWS_TLS_H

#include <stddef.h>

#include "uvws.h"

typedef struct uvws_tls uvws_tls_t;
typedef struct uvws_tls_ctx uvws_tls_ctx_t;

/* Build a context from options; on failure a description goes into err. */
int uvws__tls_server_ctx(const uvws_tls_options_t *o, uvws_tls_ctx_t **out,
                         char *err, size_t cap);
int uvws__tls_client_ctx(const uvws_tls_options_t *o, uvws_tls_ctx_t **out,
                         char *err, size_t cap);
void uvws__tls_ctx_free(uvws_tls_ctx_t *c);

/* Give `ws` a TLS session (client: verifying `host`). */
int uvws__tls_attach(uvws_t *ws, uvws_tls_ctx_t *c, const char *host);
void uvws__tls_free(uvws_t *ws);

/* Ciphertext arrived: decrypt and pass plaintext to uvws__on_plain(). */
void uvws__tls_on_read(uvws_t *ws, const uint8_t *data, size_t len);
/* Client: send the ClientHello. */
int uvws__tls_start(uvws_t *ws);
/* Encrypt and send; returns like uvws__sock_write(). */
int uvws__tls_write(uvws_t *ws, uv_buf_t *bufs, unsigned n);
/* Send close_notify (once). */
int uvws__tls_shutdown(uvws_t *ws);
int uvws__tls_handshake_done(const uvws_t *ws);
/* The connection has been quiet: give OpenSSL's record buffers back. */
void uvws__tls_idle(uvws_t *ws);

#endif

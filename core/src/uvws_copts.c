/* A deep copy of uvws_client_options_t, for what dials again later (the
 * dialer, redirects): the caller's option structs may be gone by then. */
#include "uvws_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct copts_block {
  struct copts_block *next;
  max_align_t align[];
} copts_block_t;

static void *keep(copts_block_t **mem, const void *src, size_t n) {
  copts_block_t *b = malloc(sizeof(*b) + n + 1);
  if (!b) return NULL;
  b->next = *mem;
  *mem = b;
  char *p = (char *)b->align;
  if (src) memcpy(p, src, n);
  p[n] = 0;
  return p;
}

static int keep_str(copts_block_t **mem, const char **s) {
  if (!*s) return 0;
  return (*s = keep(mem, *s, strlen(*s))) ? 0 : UVWS_ENOMEM;
}

void uvws__copts_free(void *mem) {
  for (copts_block_t *b = mem, *next; b; b = next) {
    next = b->next;
    free(b);
  }
}

int uvws__copts_copy(uvws_client_options_t *dst, const uvws_client_options_t *src,
                     void **mem_out) {
  copts_block_t *mem = NULL;
  *dst = *src;
  int r = 0;
  if (src->num_headers) {
    uvws_header_t *h = keep(&mem, src->headers, src->num_headers * sizeof(*h));
    if (!h) goto oom;
    for (size_t i = 0; i < src->num_headers; i++) {
      if (!(h[i].name = keep(&mem, src->headers[i].name, src->headers[i].name_len)) ||
          !(h[i].value = keep(&mem, src->headers[i].value, src->headers[i].value_len)))
        goto oom;
    }
    dst->headers = h;
  }
  if (src->num_protocols) {
    const char **p = keep(&mem, src->protocols, src->num_protocols * sizeof(*p));
    if (!p) goto oom;
    for (size_t i = 0; i < src->num_protocols; i++)
      if (keep_str(&mem, &p[i]) < 0) goto oom;
    dst->protocols = p;
  }
  if (keep_str(&mem, &dst->origin) < 0) goto oom;
  if (src->tls) {
    uvws_tls_options_t *t = keep(&mem, src->tls, sizeof(*t));
    if (!t) goto oom;
    const char **strs[] = {&t->cert_file, &t->key_file, &t->cert_pem, &t->key_pem,
                           &t->ca_file,   &t->ca_dir,   &t->ca_pem,   &t->server_name,
                           &t->ciphers,   &t->ciphersuites};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
      if (keep_str(&mem, strs[i]) < 0) goto oom;
    t->sni = NULL; /* server only */
    t->num_sni = 0;
    dst->tls = t;
  }
  if (src->deflate) {
    if (!(dst->deflate = keep(&mem, src->deflate, sizeof(*src->deflate)))) goto oom;
  }
  if (keep_str(&mem, &dst->proxy) < 0) goto oom;
  *mem_out = mem;
  return r;
oom:
  uvws__copts_free(mem);
  *mem_out = NULL;
  return UVWS_ENOMEM;
}

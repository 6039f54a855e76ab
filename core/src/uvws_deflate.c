#include "uvws_deflate.h"
#include "uvws_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------------ */
/* Sec-WebSocket-Extensions parsing                                     */
/* ------------------------------------------------------------------ */

#define MAX_PARAMS 16

typedef struct ext_param {
  const char *name, *value;
  size_t name_len, value_len;
  int has_value;
} ext_param_t;

typedef struct ext {
  const char *name;
  size_t name_len;
  ext_param_t params[MAX_PARAMS];
  size_t num_params;
  int bad; /* syntax error inside this element */
} ext_t;

static int is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void skip_ws(const char *v, size_t len, size_t *i) {
  while (*i < len && (v[*i] == ' ' || v[*i] == '\t')) (*i)++;
}

static size_t token(const char *v, size_t len, size_t *i) {
  size_t start = *i;
  while (*i < len && v[*i] && is_tchar(v[*i])) (*i)++;
  return *i - start;
}

/* Skip to the next ',' outside a quoted string (after a syntax error). */
static void skip_element(const char *v, size_t len, size_t *i) {
  int q = 0;
  for (; *i < len; (*i)++) {
    if (v[*i] == '"') q = !q;
    else if (v[*i] == '\\' && q && *i + 1 < len) (*i)++;
    else if (v[*i] == ',' && !q) return;
  }
}

/* Parse the next extension of the list; 0 at the end. */
static int next_ext(const char *v, size_t len, size_t *i, ext_t *e) {
  memset(e, 0, sizeof(*e));
  while (*i < len && (v[*i] == ',' || v[*i] == ' ' || v[*i] == '\t')) (*i)++;
  if (*i >= len) return 0;
  e->name = v + *i;
  e->name_len = token(v, len, i);
  if (!e->name_len) goto bad;
  for (;;) {
    skip_ws(v, len, i);
    if (*i >= len || v[*i] == ',') return 1;
    if (v[*i] != ';') goto bad;
    (*i)++;
    skip_ws(v, len, i);
    if (e->num_params == MAX_PARAMS) goto bad;
    ext_param_t *p = &e->params[e->num_params++];
    p->name = v + *i;
    p->name_len = token(v, len, i);
    if (!p->name_len) goto bad;
    skip_ws(v, len, i);
    if (*i < len && v[*i] == '=') {
      (*i)++;
      skip_ws(v, len, i);
      p->has_value = 1;
      if (*i < len && v[*i] == '"') {
        /* A quoted value must still be a token once unquoted (RFC 6455
         * section 9.1); escapes are not needed for that. */
        (*i)++;
        p->value = v + *i;
        p->value_len = token(v, len, i);
        if (*i >= len || v[*i] != '"' || !p->value_len) goto bad;
        (*i)++;
      } else {
        p->value = v + *i;
        p->value_len = token(v, len, i);
        if (!p->value_len) goto bad;
      }
    }
  }
bad:
  e->bad = 1;
  skip_element(v, len, i);
  return 1;
}

static int name_is(const char *s, size_t n, const char *lit) { return uvws_strieq(s, n, lit); }

/* 8-15, or -1. */
static int window_bits(const ext_param_t *p) {
  if (!p->has_value || p->value_len == 0 || p->value_len > 2) return -1;
  int v = 0;
  for (size_t k = 0; k < p->value_len; k++) {
    if (p->value[k] < '0' || p->value[k] > '9') return -1;
    v = v * 10 + (p->value[k] - '0');
  }
  if (p->value_len == 2 && p->value[0] == '0') return -1;
  return v >= 8 && v <= 15 ? v : -1;
}

/* The parameters of one permessage-deflate element, validated: each known
 * parameter at most once with a valid value; -1 otherwise. For offers a
 * bare client_max_window_bits is allowed (cmwb = 0 then). */
typedef struct pmd_ext {
  int snct, cnct, smwb, cmwb; /* smwb/cmwb: -1 absent, 0 bare, 8-15 */
} pmd_ext_t;

static int read_params(const ext_t *e, pmd_ext_t *x) {
  x->snct = x->cnct = 0;
  x->smwb = x->cmwb = -1;
  if (e->bad) return -1;
  for (size_t k = 0; k < e->num_params; k++) {
    const ext_param_t *p = &e->params[k];
    if (name_is(p->name, p->name_len, "server_no_context_takeover")) {
      if (x->snct || p->has_value) return -1;
      x->snct = 1;
    } else if (name_is(p->name, p->name_len, "client_no_context_takeover")) {
      if (x->cnct || p->has_value) return -1;
      x->cnct = 1;
    } else if (name_is(p->name, p->name_len, "server_max_window_bits")) {
      if (x->smwb != -1 || (x->smwb = window_bits(p)) < 0) return -1;
    } else if (name_is(p->name, p->name_len, "client_max_window_bits")) {
      if (x->cmwb != -1) return -1;
      if (p->has_value) {
        if ((x->cmwb = window_bits(p)) < 0) return -1;
      } else {
        x->cmwb = 0;
      }
    } else {
      return -1;
    }
  }
  return 0;
}

static int cfg_bits(int v) { return v >= 8 && v <= 15 ? v : 15; }

int uvws_pmd_server_negotiate(const uvws_deflate_options_t *o, const char *value,
                              size_t len, uvws_pmd_params_t *p, char *resp,
                              size_t cap) {
  size_t i = 0;
  ext_t e;
  /* Judge the whole header first: as ws, a syntax error anywhere in it, or
   * a permessage-deflate offer with an unknown, repeated or out-of-range
   * parameter, makes the offer malformed (400), not merely unacceptable. */
  pmd_ext_t x;
  while (next_ext(value, len, &i, &e)) {
    if (e.bad) return -1;
    if (name_is(e.name, e.name_len, "permessage-deflate") && read_params(&e, &x) < 0) return -1;
  }
  i = 0;
  while (next_ext(value, len, &i, &e)) {
    if (!name_is(e.name, e.name_len, "permessage-deflate") || read_params(&e, &x) < 0) continue;
    /* Our compressor's window: what we want, never above what was offered. */
    int sw = cfg_bits(o->server_max_window_bits);
    if (x.smwb > 0 && x.smwb < sw) sw = x.smwb;
    /* The client's: only restrictable when it said it can be. */
    int cw = 15;
    if (x.cmwb >= 0) {
      cw = cfg_bits(o->client_max_window_bits);
      if (x.cmwb > 0 && x.cmwb < cw) cw = x.cmwb;
    }
    p->server_no_ctx = (uint8_t)(x.snct || o->server_no_context_takeover);
    p->client_no_ctx = (uint8_t)(x.cnct || o->client_no_context_takeover);
    p->server_wbits = (uint8_t)sw;
    p->client_wbits = (uint8_t)cw;
    int n = snprintf(resp, cap, "permessage-deflate%s%s", p->server_no_ctx ? "; server_no_context_takeover" : "",
                     p->client_no_ctx ? "; client_no_context_takeover" : "");
    if (x.smwb > 0 || sw < 15) n += snprintf(resp + n, cap > (size_t)n ? cap - (size_t)n : 0, "; server_max_window_bits=%d", sw);
    if (x.cmwb >= 0 && (cw < 15 || x.cmwb > 0))
      n += snprintf(resp + n, cap > (size_t)n ? cap - (size_t)n : 0, "; client_max_window_bits=%d", cw);
    return (size_t)n < cap ? 1 : 0;
  }
  return 0;
}

size_t uvws_pmd_client_offer(const uvws_deflate_options_t *o, char *out, size_t cap) {
  int n = snprintf(out, cap, "permessage-deflate%s%s", o->client_no_context_takeover ? "; client_no_context_takeover" : "",
                   o->server_no_context_takeover ? "; server_no_context_takeover" : "");
  if (cfg_bits(o->server_max_window_bits) < 15)
    n += snprintf(out + n, cap > (size_t)n ? cap - (size_t)n : 0, "; server_max_window_bits=%d",
                  cfg_bits(o->server_max_window_bits));
  if (cfg_bits(o->client_max_window_bits) < 15)
    n += snprintf(out + n, cap > (size_t)n ? cap - (size_t)n : 0, "; client_max_window_bits=%d",
                  cfg_bits(o->client_max_window_bits));
  else
    n += snprintf(out + n, cap > (size_t)n ? cap - (size_t)n : 0, "; client_max_window_bits");
  return (size_t)n < cap ? (size_t)n : 0;
}

int uvws_pmd_client_check(const uvws_deflate_options_t *o, const char *value,
                          size_t len, uvws_pmd_params_t *p, const char **why) {
  size_t i = 0;
  ext_t e;
  int seen = 0;
  while (next_ext(value, len, &i, &e)) {
    pmd_ext_t x;
    if (seen++) {
      *why = "server accepted more than one extension";
      return UVWS_EEXTENSION;
    }
    if (!name_is(e.name, e.name_len, "permessage-deflate")) {
      *why = "server accepted an extension that was not offered";
      return UVWS_EEXTENSION;
    }
    if (read_params(&e, &x) < 0 || x.cmwb == 0) {
      *why = "invalid permessage-deflate parameters in the response";
      return UVWS_EEXTENSION;
    }
    int offered_sw = cfg_bits(o->server_max_window_bits);
    int offered_cw = cfg_bits(o->client_max_window_bits);
    if (o->server_no_context_takeover && !x.snct) {
      *why = "server ignored server_no_context_takeover";
      return UVWS_EEXTENSION;
    }
    if (offered_sw < 15 && (x.smwb < 0 || x.smwb > offered_sw)) {
      *why = "server_max_window_bits in the response is above the offer";
      return UVWS_EEXTENSION;
    }
    if (x.cmwb > offered_cw) {
      *why = "client_max_window_bits in the response is above the offer";
      return UVWS_EEXTENSION;
    }
    p->server_no_ctx = (uint8_t)x.snct;
    p->client_no_ctx = (uint8_t)(x.cnct || o->client_no_context_takeover);
    p->server_wbits = (uint8_t)(x.smwb > 0 ? x.smwb : 15);
    p->client_wbits = (uint8_t)(x.cmwb > 0 ? x.cmwb : offered_cw);
  }
  if (!seen) {
    *why = "empty Sec-WebSocket-Extensions in the response";
    return UVWS_EEXTENSION;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* zlib                                                                */
/* ------------------------------------------------------------------ */

#define MAX_SHARED_DEF 8
/* Buffers above this are given back after use. */
#define KEEP_BUFFER (1u << 20)

struct uvws_pmd_shared {
  z_stream *inf;
  struct {
    z_stream *z;
    int wbits, level, mem;
  } def[MAX_SHARED_DEF];
  int ndef;
  uint8_t *inf_out, *def_out;
  size_t inf_cap, def_cap;
};

static const uint8_t TAIL[4] = {0x00, 0x00, 0xff, 0xff};

uvws_pmd_shared_t *uvws_pmd_shared_new(void) { return calloc(1, sizeof(uvws_pmd_shared_t)); }

static void free_inf(z_stream *z) {
  if (!z) return;
  inflateEnd(z);
  free(z);
}

static void free_def(z_stream *z) {
  if (!z) return;
  deflateEnd(z);
  free(z);
}

void uvws_pmd_shared_free(uvws_pmd_shared_t *s) {
  if (!s) return;
  free_inf(s->inf);
  for (int i = 0; i < s->ndef; i++) free_def(s->def[i].z);
  free(s->inf_out);
  free(s->def_out);
  free(s);
}

static z_stream *new_inf(void) {
  z_stream *z = calloc(1, sizeof(*z));
  /* Always the largest window: a peer's smaller window is then no matter,
   * and nothing depends on it being honest. */
  if (z && inflateInit2(z, -15) != Z_OK) {
    free(z);
    z = NULL;
  }
  return z;
}

static z_stream *new_def(int wbits, int level, int mem) {
  z_stream *z = calloc(1, sizeof(*z));
  if (z && deflateInit2(z, level, Z_DEFLATED, -wbits, mem, Z_DEFAULT_STRATEGY) != Z_OK) {
    free(z);
    z = NULL;
  }
  return z;
}

int uvws_pmd_init(uvws_pmd_t *p, const uvws_deflate_options_t *o,
                  const uvws_pmd_params_t *params, int is_server,
                  uvws_pmd_shared_t *shared, const char *extensions) {
  memset(p, 0, sizeof(*p));
  p->params = *params;
  p->is_server = (uint8_t)is_server;
  p->level = (uint8_t)(o->level >= 1 && o->level <= 9 ? o->level : 6);
  p->mem_level = (uint8_t)(o->mem_level >= 1 && o->mem_level <= 9 ? o->mem_level : 8);
  p->threshold = o->threshold ? o->threshold : 1024;
  p->shared = shared;
  p->extensions = strdup(extensions ? extensions : "");
  return p->extensions ? 0 : UVWS_ENOMEM;
}

void uvws_pmd_free(uvws_pmd_t *p) {
  free_def(p->def);
  free_inf(p->inf);
  free(p->extensions);
  memset(p, 0, sizeof(*p));
}

static int own_wbits(const uvws_pmd_t *p) {
  return p->is_server ? p->params.server_wbits : p->params.client_wbits;
}
static int own_no_ctx(const uvws_pmd_t *p) {
  return p->is_server ? p->params.server_no_ctx : p->params.client_no_ctx;
}
static int peer_no_ctx(const uvws_pmd_t *p) {
  return p->is_server ? p->params.client_no_ctx : p->params.server_no_ctx;
}

int uvws_pmd_wants(const uvws_pmd_t *p, size_t len) {
  /* zlib cannot compress within a 256-byte window: send uncompressed,
   * which the extension always allows. */
  return len >= p->threshold && own_wbits(p) >= 9;
}

static int grow(uint8_t **buf, size_t *cap, size_t need, size_t max) {
  size_t c = *cap ? *cap : 16384;
  while (c < need) c *= 2;
  if (max && c > max) c = max;
  if (c < need) return UVWS_ENOMEM;
  uint8_t *b = realloc(*buf, c);
  if (!b) return UVWS_ENOMEM;
  *buf = b;
  *cap = c;
  return 0;
}

/* Give a big buffer back once the message using it is done. */
static void trim(uint8_t **buf, size_t *cap) {
  if (*cap > KEEP_BUFFER) {
    free(*buf);
    *buf = NULL;
    *cap = 0;
  }
}

int uvws_pmd_inflate(uvws_pmd_t *p, const uint8_t *in, size_t len, size_t max,
                     uint8_t **out, size_t *out_len) {
  uvws_pmd_shared_t *s = p->shared;
  z_stream *z;
  int shared = peer_no_ctx(p);
  if (shared) {
    if (!s->inf && !(s->inf = new_inf())) return UVWS_ENOMEM;
    z = s->inf;
  } else {
    if (!p->inf && !(p->inf = new_inf())) return UVWS_ENOMEM;
    z = p->inf;
  }
  trim(&s->inf_out, &s->inf_cap);
  /* One byte over the limit tells "too big" from "exactly max". */
  size_t limit = max ? max + 1 : (size_t)-1;
  size_t produced = 0;
  int r = 0, pass = 0;
  for (pass = 0; pass < 2 && r == 0; pass++) {
    z->next_in = (Bytef *)(pass == 0 ? in : TAIL);
    z->avail_in = (uInt)(pass == 0 ? len : sizeof(TAIL));
    for (;;) {
      if (produced == s->inf_cap) {
        size_t want = s->inf_cap ? s->inf_cap * 2 : (len * 4 > 16384 ? len * 4 : 16384);
        if (want > limit) want = limit;
        if (want <= produced) {
          r = UVWS_ETOOBIG;
          break;
        }
        if (grow(&s->inf_out, &s->inf_cap, want, limit) < 0) {
          r = UVWS_ENOMEM;
          break;
        }
      }
      z->next_out = s->inf_out + produced;
      z->avail_out = (uInt)(s->inf_cap - produced > UINT32_MAX ? UINT32_MAX : s->inf_cap - produced);
      size_t before = z->avail_out;
      int zr = inflate(z, Z_SYNC_FLUSH);
      produced += before - z->avail_out;
      if (produced > (max ? max : (size_t)-1)) {
        r = UVWS_ETOOBIG;
        break;
      }
      if (zr == Z_STREAM_END || (zr != Z_OK && zr != Z_BUF_ERROR)) {
        if (zr != Z_STREAM_END) r = UVWS_EREMOTE;
        else if (z->avail_in || pass == 0) {
          /* A final block ends the stream: the rest cannot be valid unless
           * a fresh stream starts, which permessage-deflate never does. */
          inflateReset(z);
        }
        break;
      }
      if (z->avail_in == 0 && z->avail_out != 0) break;
    }
  }
  if (r < 0 || shared) inflateReset(z);
  if (r == 0) {
    *out = s->inf_out;
    *out_len = produced;
  }
  return r;
}

int uvws_pmd_deflate(uvws_pmd_t *p, const uint8_t *in, size_t len,
                     uint8_t **out, size_t *out_len) {
  uvws_pmd_shared_t *s = p->shared;
  int wbits = own_wbits(p);
  z_stream *z = NULL;
  int shared = own_no_ctx(p);
  if (shared) {
    for (int i = 0; i < s->ndef; i++)
      if (s->def[i].wbits == wbits && s->def[i].level == p->level && s->def[i].mem == p->mem_level)
        z = s->def[i].z;
    if (!z) {
      if (!(z = new_def(wbits, p->level, p->mem_level))) return UVWS_ENOMEM;
      if (s->ndef == MAX_SHARED_DEF) { /* unusual mixes: recycle the oldest */
        free_def(s->def[0].z);
        memmove(&s->def[0], &s->def[1], sizeof(s->def[0]) * (MAX_SHARED_DEF - 1));
        s->ndef--;
      }
      s->def[s->ndef].z = z;
      s->def[s->ndef].wbits = wbits;
      s->def[s->ndef].level = p->level;
      s->def[s->ndef].mem = p->mem_level;
      s->ndef++;
    }
  } else {
    if (!p->def && !(p->def = new_def(wbits, p->level, p->mem_level))) return UVWS_ENOMEM;
    z = p->def;
  }
  trim(&s->def_out, &s->def_cap);
  size_t bound = deflateBound(z, (uLong)len) + 64;
  if (bound > s->def_cap && grow(&s->def_out, &s->def_cap, bound, 0) < 0) return UVWS_ENOMEM;
  z->next_in = (Bytef *)in;
  z->avail_in = (uInt)len;
  size_t n = 0;
  int zr;
  for (;;) {
    z->next_out = s->def_out + n;
    z->avail_out = (uInt)(s->def_cap - n);
    zr = deflate(z, Z_SYNC_FLUSH);
    n = s->def_cap - z->avail_out;
    /* A full output buffer may hide more pending output: grow, go on. */
    if (zr != Z_OK || z->avail_out != 0) break;
    if (grow(&s->def_out, &s->def_cap, s->def_cap * 2, 0) < 0) {
      zr = Z_MEM_ERROR;
      break;
    }
  }
  if (shared) deflateReset(z);
  if (zr != Z_OK || z->avail_in || n < 4) {
    if (!shared) deflateReset(z);
    return UVWS_ENOMEM;
  }
  /* A sync flush ends with the empty stored block the receiver re-adds. */
  *out = s->def_out;
  *out_len = n - 4;
  return 0;
}

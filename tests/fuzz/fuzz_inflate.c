/* libFuzzer target: the receive path with permessage-deflate on, so that
 * compressed frames reach the real inflate handler (uvws_pmd_inflate):
 * corrupt deflate streams, data after a final block, zip bombs against the
 * message size limit, context takeover across messages and a shared
 * decompressor when the peer has none.
 *
 * Input: byte 0 flags (bit 0: we are the server; bit 1: a 1 KiB message
 * limit instead of 256 KiB, so bombs hit it; bit 2/3: server/client
 * no_context_takeover; bit 4: "direct" mode, below), byte 1 window bits
 * (server 8 + (b & 7), client 8 + (b >> 3 & 7)), byte 2 the piece size the
 * frames are fed in. The rest is the byte stream from the peer (frames, RSV1
 * marking compressed messages), or in direct mode a list of messages given
 * straight to uvws_pmd_inflate, each a 2-byte little-endian length and the
 * compressed bytes (far easier for the fuzzer to reach deep into zlib).
 *
 * Every message that inflates is then compressed by a second pair of
 * endpoints with the same parameters and must inflate back to itself
 * (uvws_pmd_deflate / uvws_pmd_inflate agree, context kept or not). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uvws_deflate.h"
#include "uvws_proto.h"

typedef struct {
  uvws_pmd_t rx;            /* the endpoint under test */
  uvws_pmd_t tx2, rx2;      /* round-trip pair: the peer's compressor, our side */
  uvws_pmd_shared_t *shared, *shared2;
  size_t max;
} fuzz_ctx_t;

static void round_trip(fuzz_ctx_t *f, const uint8_t *d, size_t n) {
  /* The peer's compressor: it sends nothing compressed with an 8-bit window
   * (uvws_pmd_wants), so neither does this check. */
  int peer_wbits = f->rx.is_server ? f->rx.params.client_wbits : f->rx.params.server_wbits;
  if (peer_wbits < 9 || n > 65536) return;
  uint8_t *copy = malloc(n ? n : 1);
  if (!copy) return;
  memcpy(copy, d, n);
  uint8_t *z, *back;
  size_t zn, bn;
  if (uvws_pmd_deflate(&f->tx2, copy, n, &z, &zn) == 0) {
    int r = uvws_pmd_inflate(&f->rx2, z, zn, 0, &back, &bn);
    if (r != 0 || bn != n || (n && memcmp(back, copy, n) != 0)) abort();
  }
  free(copy);
}

static int on_msg(void *c, uint8_t *d, size_t n, int b) {
  (void)b;
  /* Touch every byte so the sanitizers see out-of-bounds deliveries. */
  volatile uint8_t x = 0;
  for (size_t i = 0; i < n; i++) x ^= d[i];
  round_trip(c, d, n);
  return 0;
}
static int on_ctl(void *c, uint8_t *d, size_t n) {
  volatile uint8_t x = 0;
  for (size_t i = 0; i < n; i++) x ^= d[i];
  (void)c;
  return 0;
}
static int on_close(void *c, int code, const uint8_t *r, size_t n) {
  (void)c, (void)code, (void)r, (void)n;
  return 1;
}
static void on_fail(void *c, int code, int err, const char *why) {
  (void)c, (void)code, (void)err, (void)why;
}
static int on_inflate(void *c, const uint8_t *in, size_t len, size_t max, uint8_t **out,
                      size_t *out_len) {
  fuzz_ctx_t *f = c;
  int r = uvws_pmd_inflate(&f->rx, in, len, max, out, out_len);
  /* The limit holds whatever the input: nothing over max is delivered. */
  if (r == 0 && max && *out_len > max) abort();
  return r;
}
static const uvws_proto_handler_t H = {on_msg, on_ctl, on_ctl, on_close, on_fail, on_inflate};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  int server = data[0] & 1;
  fuzz_ctx_t f;
  memset(&f, 0, sizeof(f));
  f.max = (data[0] & 2) ? 1024 : 256 * 1024;
  uvws_pmd_params_t params = {
      .server_no_ctx = (data[0] >> 2) & 1,
      .client_no_ctx = (data[0] >> 3) & 1,
      .server_wbits = (uint8_t)(8 + (data[1] & 7)),
      .client_wbits = (uint8_t)(8 + ((data[1] >> 3) & 7)),
  };
  uvws_deflate_options_t o;
  memset(&o, 0, sizeof(o));
  o.threshold = 1;
  f.shared = uvws_pmd_shared_new();
  f.shared2 = uvws_pmd_shared_new();
  if (!f.shared || !f.shared2 ||
      uvws_pmd_init(&f.rx, &o, &params, server, f.shared, "permessage-deflate") < 0 ||
      uvws_pmd_init(&f.tx2, &o, &params, !server, f.shared2, "permessage-deflate") < 0 ||
      uvws_pmd_init(&f.rx2, &o, &params, server, f.shared2, "permessage-deflate") < 0)
    abort();
  unsigned step = data[2] ? data[2] : 1;
  size_t off = 3;

  if (data[0] & 16) {
    /* Direct mode: length-prefixed compressed messages. */
    while (off + 2 <= size) {
      size_t n = (size_t)data[off] | (size_t)data[off + 1] << 8;
      off += 2;
      if (n > size - off) n = size - off;
      uint8_t *out;
      size_t out_len;
      if (on_inflate(&f, data + off, n, f.max, &out, &out_len) == 0) on_msg(&f, out, out_len, 1);
      off += n;
    }
  } else {
    uint8_t *buf = malloc(size);
    memcpy(buf, data, size);
    uvws_proto_t p;
    uvws_proto_init(&p, server, f.max, 0);
    p.rsv_allowed = 0x4; /* RSV1: permessage-deflate was negotiated */
    while (off < size && !p.done) {
      size_t n = size - off < step ? size - off : step;
      uint8_t *target;
      size_t want = uvws_proto_read_target(&p, &target);
      if (want && want >= n) {
        memcpy(target, buf + off, n);
        uvws_proto_feed(&p, target, n, &H, &f);
      } else {
        uvws_proto_feed(&p, buf + off, n, &H, &f);
      }
      off += n;
    }
    uvws_proto_free(&p);
    free(buf);
  }
  uvws_pmd_free(&f.rx);
  uvws_pmd_free(&f.tx2);
  uvws_pmd_free(&f.rx2);
  uvws_pmd_shared_free(f.shared);
  uvws_pmd_shared_free(f.shared2);
  return 0;
}

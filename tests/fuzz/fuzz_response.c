/* libFuzzer target: the client's view of the server's answer (llhttp in
 * response mode, in pieces, then the 101 checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uvws_handshake.h"
#include "uvws_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned step = data[0] ? data[0] : 1;
  uvws_head_t h;
  uvws_head_init(&h, 1, 4096, 32);
  size_t off = 1;
  int r = 0;
  while (off < size && r == 0) {
    size_t n = size - off < step ? size - off : step, used;
    r = uvws_head_feed(&h, (const char *)data + off, n, &used);
    off += used ? used : n;
  }
  if (r == 1) {
    static const char *offered[] = {"chat", "superchat"};
    const char *proto, *why;
    size_t plen;
    uvws_check_response(&h.http, h.llhttp.http_major, h.llhttp.http_minor,
                        "dGhlIHNhbXBsZSBub25jZQ==", offered, (data[0] & 1) ? 2 : 0,
                        (data[0] & 2) != 0, &proto, &plen, &why);
  }
  uvws_head_free(&h);
  return 0;
}

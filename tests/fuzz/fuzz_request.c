/* libFuzzer target: the server's upgrade request path (llhttp head parser
 * in pieces, then the RFC 6455 checks and the 101 / error answers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uvws_handshake.h"
#include "uvws_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned step = data[0] ? data[0] : 1;
  uvws_head_t h;
  uvws_head_init(&h, 0, 4096, 32);
  size_t off = 1;
  int r = 0;
  while (off < size && r == 0) {
    size_t n = size - off < step ? size - off : step, used;
    r = uvws_head_feed(&h, (const char *)data + off, n, &used);
    off += used ? used : n;
  }
  if (r == 1) {
    uvws_upgrade_info_t info;
    const char *why;
    int st = uvws_check_request(&h.http, h.llhttp.http_major, h.llhttp.http_minor,
                                h.llhttp.method == HTTP_GET, NULL, &info, &why);
    char out[2048];
    if (st == 0) uvws_build_101(out, sizeof(out), info.key, NULL, NULL, 0);
    else uvws_build_error(out, sizeof(out), st, NULL, 0, why, strlen(why));
    size_t len;
    uvws_http_header(&h.http, "sec-websocket-protocol", &len);
  }
  uvws_head_free(&h);
  return 0;
}

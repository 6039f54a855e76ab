/* libFuzzer target: the receive state machine (frame parser, reassembly,
 * UTF-8, close rules) on arbitrary bytes, on both the server and the client
 * side, fed in pieces whose sizes come from the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uvws_proto.h"

static int on_msg(void *c, uint8_t *d, size_t n, int b) {
  (void)c, (void)b;
  /* Touch every byte so the sanitizers see out-of-bounds deliveries. */
  volatile uint8_t x = 0;
  for (size_t i = 0; i < n; i++) x ^= d[i];
  return 0;
}
static int on_ctl(void *c, uint8_t *d, size_t n) { return on_msg(c, d, n, 0); }
static int on_close(void *c, int code, const uint8_t *r, size_t n) {
  (void)c, (void)code, (void)r, (void)n;
  return 1;
}
static void on_fail(void *c, int code, int err, const char *why) {
  (void)c, (void)code, (void)err, (void)why;
}
static const uvws_proto_handler_t H = {on_msg, on_ctl, on_ctl, on_close, on_fail};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  int server = data[0] & 1;
  size_t max_payload = (data[0] & 2) ? 1024 : 1 << 20;
  unsigned step = data[1] ? data[1] : 1;
  uint8_t *buf = malloc(size);
  memcpy(buf, data, size);
  uvws_proto_t p;
  uvws_proto_init(&p, server, max_payload, (data[0] & 4) ? 8 : 0);
  size_t off = 2;
  while (off < size && !p.done) {
    size_t n = size - off < step ? size - off : step;
    uint8_t *target;
    size_t want = uvws_proto_read_target(&p, &target);
    if (want && want >= n) {
      /* Mimic a direct read into the message buffer. */
      memcpy(target, buf + off, n);
      uvws_proto_feed(&p, target, n, &H, NULL);
    } else {
      uvws_proto_feed(&p, buf + off, n, &H, NULL);
    }
    off += n;
  }
  uvws_proto_free(&p);
  free(buf);
  return 0;
}

/* libFuzzer target: permessage-deflate negotiation (RFC 7692), both ways.
 *
 * Input: bytes 0-2 pick the options of one endpoint (byte 0 bit 0/1:
 * server/client_no_context_takeover; bytes 1 and 2: server/client
 * max_window_bits, 8-15 from the low nibble, else 0 = default), bytes 3-5 the
 * options of a second endpoint the same way; the rest is a
 * Sec-WebSocket-Extensions value from the peer.
 *
 * 1. The value as a client's offers, to the server with the first options
 *    (uvws_pmd_server_negotiate, as uvws_server.c calls it): when it accepts,
 *    the agreed windows are 8-15 and the response fits its buffer.
 * 2. The value as a server's response, to the client with the first options
 *    (uvws_pmd_client_check, as uvws_client.c calls it): the same checks.
 * 3. The two option sets as a real client and server: the server must accept
 *    the client's own offer, the client must accept the server's answer, and
 *    both must agree on every parameter. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uvws_deflate.h"

static void options(uvws_deflate_options_t *o, const uint8_t *b) {
  memset(o, 0, sizeof(*o));
  o->server_no_context_takeover = b[0] & 1;
  o->client_no_context_takeover = (b[0] >> 1) & 1;
  o->server_max_window_bits = (b[1] & 15) >= 8 ? (b[1] & 15) : 0;
  o->client_max_window_bits = (b[2] & 15) >= 8 ? (b[2] & 15) : 0;
}

static void check_params(const uvws_pmd_params_t *p) {
  if (p->server_wbits < 8 || p->server_wbits > 15 || p->client_wbits < 8 || p->client_wbits > 15)
    abort();
  if (p->server_no_ctx > 1 || p->client_no_ctx > 1) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 6) return 0;
  uvws_deflate_options_t a, b;
  options(&a, data);
  options(&b, data + 3);
  const char *value = (const char *)data + 6;
  size_t len = size - 6;

  /* 1: the server side. The response buffer is the one uvws_server.c uses. */
  uvws_pmd_params_t p;
  char resp[160]; /* as uvws_server.c */
  memset(resp, 0x55, sizeof(resp));
  if (uvws_pmd_server_negotiate(&a, value, len, &p, resp, sizeof(resp)) == 1) {
    check_params(&p);
    if (!memchr(resp, 0, sizeof(resp))) abort();
  }

  /* 2: the client side. */
  const char *why = NULL;
  if (uvws_pmd_client_check(&a, value, len, &p, &why) == 0) check_params(&p);
  else if (!why) abort();

  /* 3: a client with options b and a server with options a agree. */
  char offer[256];
  size_t n = uvws_pmd_client_offer(&b, offer, sizeof(offer));
  if (n == 0) abort();
  uvws_pmd_params_t ps, pc;
  if (uvws_pmd_server_negotiate(&a, offer, n, &ps, resp, sizeof(resp)) != 1) abort();
  why = NULL;
  if (uvws_pmd_client_check(&b, resp, strlen(resp), &pc, &why) != 0) abort();
  if (memcmp(&ps, &pc, sizeof(ps)) != 0) abort();
  return 0;
}

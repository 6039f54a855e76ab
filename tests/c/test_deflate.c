/* permessage-deflate: negotiation rules (RFC 7692 sections 5 and 7), echo
 * with every parameter combination, fragmented compressed messages, control
 * frames never compressed, the threshold and per-send opt-out, zip bombs
 * refused with 1009 without inflating past max payload, and the memory of
 * idle compressed connections with and without context takeover. */
#include "e2e_util.h"
#include "uvws_deflate.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <zlib.h>

static uv_loop_t *loop;

/* ------------------------------------------------------------------ */
/* Negotiation                                                          */
/* ------------------------------------------------------------------ */

static int neg(const uvws_deflate_options_t *o, const char *offer, char *resp, uvws_pmd_params_t *p) {
  return uvws_pmd_server_negotiate(o, offer, strlen(offer), p, resp, 160);
}

static void test_negotiation(void) {
  uvws_deflate_options_t o = {0};
  uvws_pmd_params_t p;
  char resp[160];
  EXPECT_INT(neg(&o, "permessage-deflate", resp, &p), 1);
  EXPECT(!strcmp(resp, "permessage-deflate"));
  EXPECT(p.server_wbits == 15 && p.client_wbits == 15 && !p.server_no_ctx && !p.client_no_ctx);
  /* A bare client_max_window_bits lets the server pick; a value caps it. */
  EXPECT_INT(neg(&o, "permessage-deflate; client_max_window_bits", resp, &p), 1);
  EXPECT_INT(neg(&o, "permessage-deflate; client_max_window_bits=10", resp, &p), 1);
  EXPECT_INT(p.client_wbits, 10);
  EXPECT(strstr(resp, "client_max_window_bits=10") != NULL);
  EXPECT_INT(neg(&o, "permessage-deflate; server_max_window_bits=9; server_no_context_takeover", resp, &p), 1);
  EXPECT(p.server_wbits == 9 && p.server_no_ctx);
  EXPECT(strstr(resp, "server_max_window_bits=9") && strstr(resp, "server_no_context_takeover"));
  /* Quoted values are tokens too. */
  EXPECT_INT(neg(&o, "permessage-deflate; server_max_window_bits=\"12\"", resp, &p), 1);
  EXPECT_INT(p.server_wbits, 12);
  /* A malformed header or an invalid permessage-deflate parameter is -1
   * (the server answers 400, as ws does), even beside a valid offer. */
  EXPECT_INT(neg(&o, "permessage-deflate; server_max_window_bits=7", resp, &p), -1);
  EXPECT_INT(neg(&o, "permessage-deflate; server_max_window_bits=16", resp, &p), -1);
  EXPECT_INT(neg(&o, "permessage-deflate; server_max_window_bits", resp, &p), -1);
  EXPECT_INT(neg(&o, "permessage-deflate; server_max_window_bits=foo", resp, &p), -1);
  EXPECT_INT(neg(&o, "permessage-deflate; client_no_context_takeover=1", resp, &p), -1);
  EXPECT_INT(neg(&o, "permessage-deflate; foo", resp, &p), -1);
  EXPECT_INT(neg(&o, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", resp, &p), -1);
  EXPECT_INT(neg(&o, "permessage-deflate; server_max_window_bits=8, permessage-deflate; foo=1, "
                     "permessage-deflate; client_max_window_bits", resp, &p), -1);
  EXPECT_INT(neg(&o, "foo, permessage-deflate; bar, permessage-deflate; client_no_context_takeover", resp, &p), -1);
  EXPECT_INT(neg(&o, "permessage-deflate;;", resp, &p), -1);
  EXPECT_INT(neg(&o, "permessage-deflate, =x", resp, &p), -1);
  /* Other extensions are not ours to judge beyond the syntax: declined. */
  EXPECT_INT(neg(&o, "x-webkit-deflate-frame", resp, &p), 0);
  EXPECT_INT(neg(&o, "x-webkit-deflate-frame; no_context_takeover", resp, &p), 0);
  /* Several valid offers: the first acceptable one is taken. */
  EXPECT_INT(neg(&o, "permessage-deflate; server_max_window_bits=8, "
                     "permessage-deflate; client_max_window_bits", resp, &p), 1);
  EXPECT_INT(p.server_wbits, 8);
  EXPECT_INT(neg(&o, "foo; bar=1, permessage-deflate; client_no_context_takeover", resp, &p), 1);
  EXPECT(p.client_no_ctx);
  /* Server settings: no context takeover asked of both sides, smaller windows. */
  o.server_no_context_takeover = o.client_no_context_takeover = 1;
  o.server_max_window_bits = 11;
  o.client_max_window_bits = 9;
  EXPECT_INT(neg(&o, "permessage-deflate; client_max_window_bits", resp, &p), 1);
  EXPECT(p.server_no_ctx && p.client_no_ctx && p.server_wbits == 11 && p.client_wbits == 9);
  EXPECT(strstr(resp, "server_max_window_bits=11") && strstr(resp, "client_max_window_bits=9"));
  /* The client did not say it can limit its window: the server cannot ask. */
  EXPECT_INT(neg(&o, "permessage-deflate", resp, &p), 1);
  EXPECT(!strstr(resp, "client_max_window_bits"));
  EXPECT_INT(p.client_wbits, 15);

  /* Client side. */
  uvws_deflate_options_t c = {0};
  char offer[192];
  EXPECT(uvws_pmd_client_offer(&c, offer, sizeof(offer)) > 0);
  EXPECT(!strcmp(offer, "permessage-deflate; client_max_window_bits"));
  const char *why;
#define CHECK_RESP(opts, s, expect) \
  EXPECT_INT(uvws_pmd_client_check(opts, s, strlen(s), &p, &why), expect)
  CHECK_RESP(&c, "permessage-deflate", 0);
  CHECK_RESP(&c, "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12", 0);
  EXPECT(p.server_wbits == 10 && p.client_wbits == 12);
  CHECK_RESP(&c, "permessage-deflate; client_max_window_bits", UVWS_EEXTENSION);
  CHECK_RESP(&c, "permessage-deflate; foo", UVWS_EEXTENSION);
  CHECK_RESP(&c, "permessage-deflate, permessage-deflate", UVWS_EEXTENSION);
  CHECK_RESP(&c, "x-other", UVWS_EEXTENSION);
  CHECK_RESP(&c, "permessage-deflate; server_max_window_bits=20", UVWS_EEXTENSION);
  c.server_no_context_takeover = 1;
  c.client_max_window_bits = 10;
  c.server_max_window_bits = 12;
  uvws_pmd_client_offer(&c, offer, sizeof(offer));
  EXPECT(strstr(offer, "server_no_context_takeover") && strstr(offer, "client_max_window_bits=10") &&
         strstr(offer, "server_max_window_bits=12"));
  CHECK_RESP(&c, "permessage-deflate; server_max_window_bits=12", UVWS_EEXTENSION); /* snct ignored */
  CHECK_RESP(&c, "permessage-deflate; server_no_context_takeover; server_max_window_bits=13", UVWS_EEXTENSION);
  CHECK_RESP(&c, "permessage-deflate; server_no_context_takeover", UVWS_EEXTENSION); /* smwb missing */
  CHECK_RESP(&c, "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; "
                 "client_max_window_bits=11", UVWS_EEXTENSION);
  CHECK_RESP(&c, "permessage-deflate; server_no_context_takeover; server_max_window_bits=9", 0);
  EXPECT(p.client_wbits == 10 && p.server_wbits == 9 && p.server_no_ctx);
}

/* ------------------------------------------------------------------ */
/* Echo with every parameter combination                                */
/* ------------------------------------------------------------------ */

typedef struct {
  uvws_server_t *server;
  int step, compressed, closes, opens;
  char ext[200];
} echo_t;
static echo_t E;
static uint8_t payload[300000];
static const size_t sizes[] = {0, 1, 100, 1023, 1024, 5000, 70000, 300000};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void srv_message(uvws_t *ws, const char *d, size_t n, int bin) {
  EXPECT(uvws_compressed(ws));
  uvws_send(ws, d, n, bin ? UVWS_BINARY : UVWS_TEXT);
}
static void srv_ping(uvws_t *ws, const char *d, size_t n) { (void)ws, (void)d, (void)n; }

static void send_step(uvws_t *ws) {
  size_t k = (size_t)E.step / 2;
  int bin = E.step % 2;
  if (k >= NSIZES) {
    uvws_close(ws, 1000, NULL, 0);
    return;
  }
  /* Text must be UTF-8: the payload is letters, compressible but varied. */
  uvws_send(ws, payload, sizes[k], bin ? UVWS_BINARY : UVWS_TEXT);
  uvws_ping(ws, "not compressed", 14);
}
static void cli_open(uvws_t *ws, const uvws_http_t *r) {
  (void)r;
  E.opens++;
  E.compressed = uvws_compressed(ws);
  snprintf(E.ext, sizeof(E.ext), "%s", uvws_extensions(ws));
  send_step(ws);
}
static void cli_message(uvws_t *ws, const char *d, size_t n, int bin) {
  size_t k = (size_t)E.step / 2;
  EXPECT_INT(n, sizes[k]);
  EXPECT_INT(bin, E.step % 2);
  EXPECT(n == 0 || !memcmp(d, payload, n));
  E.step++;
  send_step(ws);
}
static void cli_close(uvws_t *ws, int code, const char *r, size_t n) {
  (void)ws, (void)r, (void)n;
  EXPECT_INT(code, 1000);
  E.closes++;
  uvws_server_close(E.server, NULL);
}

static void echo_case(int s_snct, int s_cnct, int s_sw, int s_cw, int c_snct, int c_cnct, int c_sw, int c_cw) {
  memset(&E, 0, sizeof(E));
  uvws_deflate_options_t sd = {0}, cd = {0};
  sd.server_no_context_takeover = s_snct;
  sd.client_no_context_takeover = s_cnct;
  sd.server_max_window_bits = s_sw;
  sd.client_max_window_bits = s_cw;
  sd.threshold = 1;
  cd.server_no_context_takeover = c_snct;
  cd.client_no_context_takeover = c_cnct;
  cd.server_max_window_bits = c_sw;
  cd.client_max_window_bits = c_cw;
  cd.threshold = 1;
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.deflate = &sd;
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_message = srv_message;
  scb.on_ping = srv_ping;
  ccb.on_open = cli_open;
  ccb.on_message = cli_message;
  ccb.on_close = cli_close;
  E.server = e2e_server(loop, "127.0.0.1", &so, &scb, NULL, NULL);
  char url[96];
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(E.server), "/");
  uvws_client_options_t co;
  uvws_client_options_init(&co);
  co.deflate = &cd;
  uvws_t *ws;
  EXPECT_INT(uvws_connect(loop, url, &co, &ccb, NULL, &ws), 0);
  EXPECT_INT(e2e_run(loop, 30000), 0);
  EXPECT(E.compressed);
  EXPECT_INT(E.step, (int)(2 * NSIZES));
  EXPECT_INT(E.closes, 1);
  if (e2e_failures) fprintf(stderr, "  in case %d%d%d%d/%d%d%d%d: %s\n", s_snct, s_cnct, s_sw, s_cw,
                            c_snct, c_cnct, c_sw, c_cw, E.ext);
}

static void test_echo_combinations(void) {
  for (size_t i = 0; i < sizeof(payload); i++) payload[i] = (uint8_t)('a' + (i * 7 + i / 100) % 26);
  int wb[] = {0, 8, 9, 12};
  for (int snct = 0; snct < 2; snct++)
    for (int cnct = 0; cnct < 2; cnct++)
      for (int w = 0; w < 4; w++) {
        echo_case(snct, cnct, wb[w], wb[(w + 1) % 4], 0, 0, 0, 0);
        echo_case(0, 0, 0, 0, snct, cnct, wb[w], wb[(w + 2) % 4]);
      }
}

/* ------------------------------------------------------------------ */
/* Raw peer: fragmented compressed messages, opt-out, zip bombs         */
/* ------------------------------------------------------------------ */

static size_t deflate_raw(const uint8_t *in, size_t len, uint8_t *out, size_t cap, int strip) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  deflate(&z, Z_SYNC_FLUSH);
  size_t n = cap - z.avail_out;
  deflateEnd(&z);
  return strip ? n - 4 : n;
}

typedef struct {
  e2e_raw_t raw;
  int close_code, messages, compressed_frames, plain_frames;
  size_t offset;
} peer_t;

static void peer_data(e2e_raw_t *r) {
  peer_t *p = r->data;
  size_t h = e2e_raw_head_end(r);
  if (!h) return;
  if (!p->offset) p->offset = h;
  for (;;) {
    int op;
    const uint8_t *pl;
    uint64_t len;
    size_t fl = e2e_parse_frame(r->in + p->offset, r->in_len - p->offset, &op, &pl, &len);
    if (!fl) return;
    if (op == 8) p->close_code = len >= 2 ? (pl[0] << 8) | pl[1] : 1005;
    else if (op == 1 || op == 2) {
      p->messages++;
      if (r->in[p->offset] & 0x40) p->compressed_frames++;
      else p->plain_frames++;
    }
    p->offset += fl;
  }
}

static uvws_server_t *raw_server;
static int raw_messages;
static size_t raw_last_len;
static void raw_srv_message(uvws_t *ws, const char *d, size_t n, int bin) {
  raw_messages++;
  raw_last_len = n;
  /* Echo once compressed, once not: both are valid. */
  uvws_send(ws, d, n, (bin ? UVWS_BINARY : UVWS_TEXT) | (raw_messages % 2 ? 0 : UVWS_NO_COMPRESS));
}

static int run_peer(const uint8_t *frames, size_t len, peer_t *p) {
  static uint8_t buf[4 << 20];
  size_t n = e2e_request((char *)buf, sizeof(buf), "/",
                         "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
  memcpy(buf + n, frames, len);
  memset(p, 0, sizeof(*p));
  p->raw.data = p;
  p->raw.send = buf;
  p->raw.send_len = n + len;
  p->raw.on_data = peer_data;
  e2e_raw_connect(loop, &p->raw, "127.0.0.1", uvws_server_port(raw_server));
  int r = e2e_wait(loop, &p->close_code, 20000);
  e2e_raw_close(&p->raw);
  e2e_spin(loop, 5);
  return r;
}

static size_t masked_frame(uint8_t *out, int first_byte, const uint8_t *pl, size_t len) {
  size_t n = e2e_frame(out, 1, 0, 1, pl, len);
  out[0] = (uint8_t)first_byte;
  return n;
}

static void test_raw_peer(void) {
  uvws_deflate_options_t sd = {0};
  sd.threshold = 1;
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.deflate = &sd;
  so.limits.max_payload = 4 << 20;
  uvws_callbacks_t scb = {0};
  scb.on_message = raw_srv_message;
  raw_server = e2e_server(loop, "127.0.0.1", &so, &scb, NULL, NULL);
  static uint8_t text[50000], z[60000], frames[200000];
  for (size_t i = 0; i < sizeof(text); i++) text[i] = (uint8_t)('a' + i % 17);
  size_t zl = deflate_raw(text, sizeof(text), z, sizeof(z), 1);
  peer_t p;

  /* A compressed message in three frames (RSV1 on the first only), a ping
   * in the middle, then the same uncompressed, then a close. */
  size_t a = zl / 3, b = zl / 3, n = 0;
  n += masked_frame(frames + n, 0x40 | 0x01, z, a);
  n += masked_frame(frames + n, 0x80 | 0x09, (const uint8_t *)"p", 1);
  n += masked_frame(frames + n, 0x00, z + a, b);
  n += masked_frame(frames + n, 0x80, z + a + b, zl - a - b);
  n += masked_frame(frames + n, 0x80 | 0x01, text, 1000);
  n += masked_frame(frames + n, 0x80 | 0x08, (const uint8_t *)"\x03\xe8", 2);
  raw_messages = 0;
  EXPECT_INT(run_peer(frames, n, &p), 0);
  EXPECT_INT(p.close_code, 1000);
  EXPECT_INT(raw_messages, 2);
  EXPECT_INT(p.messages, 2);
  EXPECT_INT(p.compressed_frames, 1); /* the second echo was sent with UVWS_NO_COMPRESS */
  EXPECT_INT(p.plain_frames, 1);

  /* RSV1 on a continuation frame or a control frame: 1002. */
  n = masked_frame(frames, 0x01, text, 10);
  n += masked_frame(frames + n, 0x80 | 0x40, text, 10);
  EXPECT_INT(run_peer(frames, n, &p), 0);
  EXPECT_INT(p.close_code, 1002);
  n = masked_frame(frames, 0x80 | 0x40 | 0x09, text, 3);
  EXPECT_INT(run_peer(frames, n, &p), 0);
  EXPECT_INT(p.close_code, 1002);
  /* Garbage instead of deflate data: 1007. */
  n = masked_frame(frames, 0x80 | 0x40 | 0x02, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 6);
  EXPECT_INT(run_peer(frames, n, &p), 0);
  EXPECT_INT(p.close_code, 1007);
  /* Compressed text that is not UTF-8 once inflated: 1007. */
  zl = deflate_raw((const uint8_t *)"\xce\xba\xed\xa0\x80", 5, z, sizeof(z), 1);
  n = masked_frame(frames, 0x80 | 0x40 | 0x01, z, zl);
  EXPECT_INT(run_peer(frames, n, &p), 0);
  EXPECT_INT(p.close_code, 1007);

  /* Zip bombs: 1 KiB of zeros-stream per ~1 MiB inflated; 64 MiB of output
   * from about 64 KiB of input against a 4 MiB max payload. Refused with
   * 1009 and the process never holds more than the limit. */
  static uint8_t zeros[1 << 20];
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  uint8_t *bomb = malloc(1 << 20);
  zs.next_out = bomb;
  zs.avail_out = 1 << 20;
  for (int i = 0; i < 64; i++) {
    zs.next_in = zeros;
    zs.avail_in = sizeof(zeros);
    deflate(&zs, i == 63 ? Z_SYNC_FLUSH : Z_NO_FLUSH);
  }
  size_t bl = (1 << 20) - zs.avail_out - 4;
  deflateEnd(&zs);
  EXPECT(bl < 100 * 1024);
  uint8_t *bf = malloc(bl + 16);
  n = masked_frame(bf, 0x80 | 0x40 | 0x02, bomb, bl);
  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);
  raw_messages = 0;
  EXPECT_INT(run_peer(bf, n, &p), 0);
  getrusage(RUSAGE_SELF, &ru1);
  EXPECT_INT(p.close_code, 1009);
  EXPECT_INT(raw_messages, 0);
  /* Peak RSS grew by less than the inflated size (64 MiB). */
  EXPECT(ru1.ru_maxrss - ru0.ru_maxrss < 32 * 1024);
  free(bf);
  /* The 1 KiB bomb: about a megabyte of output, over a 64 KiB limit. */
  uvws_server_close(raw_server, NULL);
  EXPECT_INT(e2e_run(loop, 5000), 0);
  so.limits.max_payload = 64 * 1024;
  raw_server = e2e_server(loop, "127.0.0.1", &so, &scb, NULL, NULL);
  memset(&zs, 0, sizeof(zs));
  deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  zs.next_in = zeros;
  zs.avail_in = sizeof(zeros);
  zs.next_out = bomb;
  zs.avail_out = 1 << 20;
  deflate(&zs, Z_SYNC_FLUSH);
  bl = (1 << 20) - zs.avail_out - 4;
  deflateEnd(&zs);
  EXPECT(bl <= 1100);
  bf = malloc(bl + 16);
  n = masked_frame(bf, 0x80 | 0x40 | 0x02, bomb, bl);
  EXPECT_INT(run_peer(bf, n, &p), 0);
  EXPECT_INT(p.close_code, 1009);
  free(bf);
  free(bomb);
  uvws_server_close(raw_server, NULL);
  EXPECT_INT(e2e_run(loop, 5000), 0);
}

/* ------------------------------------------------------------------ */
/* Memory of idle compressed connections                                */
/* ------------------------------------------------------------------ */

typedef struct {
  uvws_server_t *server;
  int opened, echoed, closed, n;
  uvws_t **clients;
} mem_t;
static mem_t MM;

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof(line), f))
    if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
  if (f) fclose(f);
  return kb;
}
static void mem_open(uvws_t *ws, const uvws_http_t *r) {
  (void)r;
  MM.opened++;
  EXPECT(uvws_compressed(ws));
  uvws_send(ws, payload, 4000, UVWS_TEXT);
}
static void mem_message(uvws_t *ws, const char *d, size_t n, int b) {
  (void)ws, (void)d, (void)b;
  EXPECT_INT(n, 4000);
  MM.echoed++;
}
static void mem_close(uvws_t *ws, int c, const char *r, size_t n) {
  (void)ws, (void)c, (void)r, (void)n;
  if (++MM.closed == MM.n) uvws_server_close(MM.server, NULL);
}

/* KiB of RSS per connection pair (client and server in this process) after
 * each exchanged one compressed message and went idle. */
static double idle_cost(int no_takeover, int n) {
  memset(&MM, 0, sizeof(MM));
  MM.n = n;
  uvws_deflate_options_t d = {0};
  d.threshold = 1;
  d.server_no_context_takeover = d.client_no_context_takeover = no_takeover;
  uvws_server_options_t so;
  uvws_server_options_init(&so);
  so.deflate = &d;
  uvws_callbacks_t scb = {0}, ccb = {0};
  scb.on_message = srv_message;
  ccb.on_open = mem_open;
  ccb.on_message = mem_message;
  ccb.on_close = mem_close;
  MM.server = e2e_server(loop, "127.0.0.1", &so, &scb, NULL, NULL);
  char url[96];
  e2e_url(url, sizeof(url), "127.0.0.1", uvws_server_port(MM.server), "/");
  uvws_client_options_t co;
  uvws_client_options_init(&co);
  co.deflate = &d;
  MM.clients = calloc((size_t)n, sizeof(*MM.clients));
  /* Warm up the loop's shared state first. */
  e2e_spin(loop, 1);
  long before = rss_kib();
  for (int i = 0; i < n; i++) uvws_connect(loop, url, &co, &ccb, NULL, &MM.clients[i]);
  e2e_wait(loop, &MM.echoed, 20000);
  while (MM.echoed < n) {
    int done = 0;
    e2e_spin(loop, 20);
    if (MM.echoed >= n) done = 1;
    (void)done;
  }
  long after = rss_kib();
  for (int i = 0; i < n; i++) uvws_close(MM.clients[i], 1000, NULL, 0);
  EXPECT_INT(e2e_run(loop, 20000), 0);
  free(MM.clients);
  return (double)(after - before) / n;
}

static void test_memory(void) {
  int n = 300;
  double shared = idle_cost(1, n), own = idle_cost(0, n);
  printf("idle compressed connection pairs: %.1f KiB each without context takeover "
         "(shared zlib state), %.1f KiB with takeover\n", shared, own);
  /* Without takeover nothing of zlib stays per connection (ASan's own
   * bookkeeping inflates both figures, so compare them there). */
#if defined(__SANITIZE_ADDRESS__)
  EXPECT(shared * 10 < own);
#else
  EXPECT(shared < 8);
#endif
  /* With takeover each side keeps a compressor and a decompressor. */
  EXPECT(own > 100);
}

int main(void) {
  loop = uv_default_loop();
  test_negotiation();
  test_echo_combinations();
  test_raw_peer();
  test_memory();
  EXPECT_INT(uv_loop_close(loop), 0);
  return e2e_report("deflate");
}

/* The frame header writer and the incremental frame parser (uvws_frame.h):
 * every length encoding, masked and not, and every way of splitting the
 * input yields the same frames and payloads. */
#include "test.h"
#include "uvws_frame.h"

/* ------------------------------------------------------------------ */
/* Reference encoder (independent of uvws_frame_header)                */
/* ------------------------------------------------------------------ */

typedef struct {
  int fin, rsv, opcode, masked;
  uint8_t key[4];
  uint64_t len;
} spec_t;

static size_t ref_header(uint8_t *o, const spec_t *s) {
  size_t n = 0;
  o[n++] = (uint8_t)((s->fin ? 0x80 : 0) | (s->rsv << 4) | s->opcode);
  uint8_t m = s->masked ? 0x80 : 0;
  if (s->len <= 125) {
    o[n++] = (uint8_t)(m | s->len);
  } else if (s->len <= 65535) {
    o[n++] = m | 126;
    o[n++] = (uint8_t)(s->len / 256);
    o[n++] = (uint8_t)(s->len % 256);
  } else {
    o[n++] = m | 127;
    for (int i = 7; i >= 0; i--) o[n++] = (uint8_t)(s->len >> (8 * i));
  }
  if (s->masked)
    for (int i = 0; i < 4; i++) o[n++] = s->key[i];
  return n;
}

/* A byte stream of frames with known plaintext payloads. */
typedef struct {
  uint8_t *bytes; /* on the wire (masked where the spec says so) */
  size_t len, cap;
  spec_t specs[64];
  uint8_t *plain[64];
  size_t nframes;
} stream_t;

static void stream_add(stream_t *st, spec_t s) {
  uint8_t *pl = malloc(s.len ? (size_t)s.len : 1);
  test_rand_bytes(pl, (size_t)s.len);
  size_t need = st->len + 14 + (size_t)s.len;
  if (need > st->cap) {
    st->cap = need * 2;
    st->bytes = realloc(st->bytes, st->cap);
  }
  st->len += ref_header(st->bytes + st->len, &s);
  for (size_t i = 0; i < s.len; i++)
    st->bytes[st->len + i] = pl[i] ^ (s.masked ? s.key[i % 4] : 0);
  st->len += (size_t)s.len;
  st->specs[st->nframes] = s;
  st->plain[st->nframes++] = pl;
}

static void stream_free(stream_t *st) {
  for (size_t i = 0; i < st->nframes; i++) free(st->plain[i]);
  free(st->bytes);
  memset(st, 0, sizeof(*st));
}

static spec_t rand_spec(uint64_t len) {
  spec_t s;
  s.fin = (int)test_rand_below(2);
  s.rsv = (int)test_rand_below(8);
  s.opcode = (int)test_rand_below(16);
  s.masked = (int)test_rand_below(2);
  test_rand_bytes(s.key, 4);
  s.len = len;
  return s;
}

/* ------------------------------------------------------------------ */
/* Running the parser over a split input and recording what it says    */
/* ------------------------------------------------------------------ */

typedef struct {
  spec_t h;
  int header_last;
  uint8_t *payload;
  size_t plen, pieces;
  int complete;
} rec_frame_t;

typedef struct {
  rec_frame_t f[64];
  size_t n;
  int bad_length;
  int violations; /* API contract broken (see run()) */
  char why[160];
} rec_t;

static void violation(rec_t *r, const char *why, size_t at) {
  if (!r->violations++) snprintf(r->why, sizeof(r->why), "%s (stream offset %zu)", why, at);
}

static void rec_free(rec_t *r) {
  for (size_t i = 0; i < r->n; i++) free(r->f[i].payload);
  memset(r, 0, sizeof(*r));
}

/* Parse `buf` (modified: unmasked in place) in the chunks ending at cuts[]
 * and record every frame. Also checks the API contract on the way: events
 * other than NEED_MORE consume input, NEED_MORE consumes all of it, PAYLOAD
 * points at the current input position, `last` matches the length. */
static void run(uint8_t *buf, const size_t *cuts, size_t ncuts, rec_t *r) {
  uvws_frame_parser_t fp;
  uvws_frame_parser_init(&fp);
  memset(r, 0, sizeof(*r));
  size_t pos = 0;
  for (size_t c = 0; c < ncuts && !r->bad_length; c++) {
    size_t end = cuts[c];
    for (int guard = 0;; guard++) {
      uvws_frame_event_t ev;
      size_t before = pos;
      size_t used = uvws_frame_parse(&fp, buf + pos, end - pos, &ev);
      if (used > end - pos) {
        violation(r, "consumed more than given", pos);
        return;
      }
      pos += used;
      if (ev.type == UVWS_FRAME_NEED_MORE) {
        if (pos != end) violation(r, "NEED_MORE with input left", pos);
        break;
      }
      if (used == 0 || guard > 1000000) {
        violation(r, "event without consuming input", pos);
        return;
      }
      if (ev.type == UVWS_FRAME_BAD_LENGTH) {
        r->bad_length = 1;
        break;
      }
      if (ev.type == UVWS_FRAME_HEADER) {
        if (r->n && !r->f[r->n - 1].complete) violation(r, "header inside a frame", pos);
        if (r->n == 64) {
          violation(r, "too many frames", pos);
          return;
        }
        rec_frame_t *f = &r->f[r->n++];
        memset(f, 0, sizeof(*f));
        f->h.fin = fp.fin;
        f->h.rsv = fp.rsv;
        f->h.opcode = fp.opcode;
        f->h.masked = fp.masked;
        if (fp.masked) memcpy(f->h.key, fp.key, 4);
        f->h.len = fp.length;
        f->header_last = ev.last;
        f->complete = ev.last;
        if (ev.last != (fp.length == 0)) violation(r, "HEADER last != (length == 0)", pos);
        if (fp.remaining != fp.length) violation(r, "remaining != length after header", pos);
        if (fp.length < (1u << 24)) f->payload = malloc(fp.length ? (size_t)fp.length : 1);
        continue;
      }
      /* PAYLOAD */
      if (!r->n || r->f[r->n - 1].complete) {
        violation(r, "payload outside a frame", pos);
        return;
      }
      rec_frame_t *f = &r->f[r->n - 1];
      if (ev.data != buf + before) violation(r, "payload does not point at the input", pos);
      if (ev.len != used || ev.len == 0) violation(r, "payload length != consumed", pos);
      if (f->plen + ev.len > f->h.len) {
        violation(r, "payload longer than the frame", pos);
        return;
      }
      if (f->payload) memcpy(f->payload + f->plen, ev.data, ev.len);
      f->plen += ev.len;
      f->pieces++;
      if (ev.last != (f->plen == f->h.len)) violation(r, "PAYLOAD last is wrong", pos);
      f->complete = ev.last;
    }
  }
}

/* Parse a copy of the stream with the given cuts and compare with the spec. */
static void check_against_stream(const stream_t *st, const size_t *cuts, size_t ncuts,
                                 rec_t *out) {
  uint8_t *copy = malloc(st->len ? st->len : 1);
  memcpy(copy, st->bytes, st->len);
  rec_t r;
  run(copy, cuts, ncuts, &r);
  int ok = !r.violations && !r.bad_length && r.n == st->nframes;
  for (size_t i = 0; ok && i < r.n; i++) {
    const spec_t *a = &st->specs[i], *b = &r.f[i].h;
    ok = a->fin == b->fin && a->rsv == b->rsv && a->opcode == b->opcode &&
         a->masked == b->masked && a->len == b->len && r.f[i].complete &&
         (!a->masked || memcmp(a->key, b->key, 4) == 0) && r.f[i].plen == a->len &&
         memcmp(r.f[i].payload, st->plain[i], (size_t)a->len) == 0;
    if (!ok) {
      char prev[sizeof(test_ctx_)];
      memcpy(prev, test_ctx_, sizeof(prev));
      test_ctx("%s: frame %zu differs", prev, i);
    }
  }
  if (r.violations) fprintf(stderr, "  contract: %s\n", r.why);
  CHECK(ok);
  CHECK_EQ(r.violations, 0);
  free(copy);
  if (out) *out = r;
  else rec_free(&r);
}

static void check_whole_and_bytewise(const stream_t *st, const char *label) {
  size_t one = st->len;
  test_ctx("%s: one shot", label);
  check_against_stream(st, &one, 1, NULL);
  size_t *cuts = malloc((st->len + 1) * sizeof(size_t));
  cuts[0] = 0;
  for (size_t i = 0; i < st->len; i++) cuts[i] = i + 1;
  test_ctx("%s: byte by byte", label);
  check_against_stream(st, cuts, st->len ? st->len : 1, NULL);
  for (int k = 0; k < 20; k++) {
    size_t n = test_rand_splits(st->len, cuts, st->len + 1);
    test_ctx("%s: random split #%d", label, k);
    check_against_stream(st, cuts, n, NULL);
  }
  free(cuts);
  test_ctx(NULL);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void test_header_writer_bytes(void) {
  static const uint8_t key[4] = {1, 2, 3, 4};
  uint8_t out[UVWS_FRAME_MAX_HEADER];
  struct {
    uint64_t len;
    int masked;
    size_t n;
    uint8_t b[14];
  } t[] = {
      {0, 0, 2, {0x81, 0x00}},
      {0, 1, 6, {0x81, 0x80, 1, 2, 3, 4}},
      {125, 0, 2, {0x81, 0x7d}},
      {125, 1, 6, {0x81, 0xfd, 1, 2, 3, 4}},
      {126, 0, 4, {0x81, 0x7e, 0x00, 0x7e}},
      {126, 1, 8, {0x81, 0xfe, 0x00, 0x7e, 1, 2, 3, 4}},
      {65535, 0, 4, {0x81, 0x7e, 0xff, 0xff}},
      {65535, 1, 8, {0x81, 0xfe, 0xff, 0xff, 1, 2, 3, 4}},
      {65536, 0, 10, {0x81, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}},
      {65536, 1, 14, {0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4}},
      {1ull << 32, 0, 10, {0x81, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0}},
      {1ull << 32, 1, 14, {0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}},
      {0x0102030405060708ull, 0, 10, {0x81, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8}},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    test_ctx("len %llu masked %d", (unsigned long long)t[i].len, t[i].masked);
    memset(out, 0xee, sizeof(out));
    size_t n = uvws_frame_header(out, UVWS_OP_TEXT, 1, 0, t[i].len, t[i].masked ? key : NULL);
    CHECK_MEM(out, n, t[i].b, t[i].n);
  }
  /* fin, rsv and opcode bits */
  test_ctx(NULL);
  CHECK_EQ(uvws_frame_header(out, UVWS_OP_CONT, 0, 0, 0, NULL), 2);
  CHECK_EQ(out[0], 0x00);
  uvws_frame_header(out, UVWS_OP_BINARY, 0, 0, 0, NULL);
  CHECK_EQ(out[0], 0x02);
  uvws_frame_header(out, UVWS_OP_CLOSE, 1, 0, 0, NULL);
  CHECK_EQ(out[0], 0x88);
  uvws_frame_header(out, UVWS_OP_PING, 1, 4, 0, NULL);
  CHECK_EQ(out[0], 0xc9); /* RSV1 */
  uvws_frame_header(out, UVWS_OP_PONG, 1, 7, 0, NULL);
  CHECK_EQ(out[0], 0xfa);
}

static void test_header_writer_reference(void) {
  static const uint64_t lens[] = {0, 1, 2, 124, 125, 126, 127, 128, 255, 256, 1000,
                                  65534, 65535, 65536, 65537, 100000, 0xffffffffull,
                                  1ull << 32, 1ull << 62, 0x7fffffffffffffffull};
  size_t mism = 0;
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
    for (int masked = 0; masked < 2; masked++)
      for (int fin = 0; fin < 2; fin++)
        for (int rsv = 0; rsv < 8; rsv++)
          for (int op = 0; op < 16; op++) {
            spec_t s = {fin, rsv, op, masked, {0x11, 0x22, 0x33, 0x44}, lens[i]};
            uint8_t a[14], b[14];
            size_t na = ref_header(a, &s);
            size_t nb = uvws_frame_header(b, (unsigned)op, fin, (unsigned)rsv, lens[i],
                                          masked ? s.key : NULL);
            if (na != nb || memcmp(a, b, na) != 0) {
              if (!mism++) test_ctx("len %llu masked %d fin %d rsv %d op %d",
                                    (unsigned long long)lens[i], masked, fin, rsv, op);
              continue;
            }
            /* and it parses back to the same fields (header only) */
            uvws_frame_parser_t fp;
            uvws_frame_parser_init(&fp);
            uvws_frame_event_t ev;
            size_t used = uvws_frame_parse(&fp, b, nb, &ev);
            if (used != nb || ev.type != UVWS_FRAME_HEADER || fp.fin != fin ||
                fp.rsv != rsv || fp.opcode != op || fp.masked != masked ||
                fp.length != lens[i] || (masked && memcmp(fp.key, s.key, 4) != 0) ||
                ev.last != (lens[i] == 0)) {
              if (!mism++) test_ctx("parse back: len %llu masked %d fin %d rsv %d op %d",
                                    (unsigned long long)lens[i], masked, fin, rsv, op);
            }
          }
  CHECK_EQ(mism, 0);
  test_ctx(NULL);
}

/* One frame of each length encoding, masked or not, whole and split. */
static void test_each_length_encoding(void) {
  static const uint64_t lens[] = {0, 1, 5, 125, 126, 127, 1000, 65535, 65536, 70000};
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
    for (int masked = 0; masked < 2; masked++) {
      stream_t st = {0};
      spec_t s = rand_spec(lens[i]);
      s.masked = masked;
      stream_add(&st, s);
      char label[64];
      snprintf(label, sizeof(label), "len %llu masked %d", (unsigned long long)lens[i], masked);
      check_whole_and_bytewise(&st, label);
      /* header size by encoding */
      size_t hs = (lens[i] <= 125 ? 2 : lens[i] <= 65535 ? 4 : 10) + (masked ? 4 : 0);
      CHECK_EQ(st.len, hs + lens[i]);
      /* every split point inside the header and the first payload bytes */
      for (size_t k = 0; k <= hs + 3 && k <= st.len; k++) {
        size_t cuts[2] = {k, st.len};
        test_ctx("%s split at %zu", label, k);
        check_against_stream(&st, cuts, 2, NULL);
      }
      test_ctx(NULL);
      stream_free(&st);
    }
}

/* A stream of small frames: every split point, every pair of split points. */
static void test_all_split_points(void) {
  static const uint64_t lens[] = {0, 1, 3, 0, 7, 2, 0, 0, 4};
  stream_t st = {0};
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) stream_add(&st, rand_spec(lens[i]));
  size_t n = st.len, mism_one = 0;
  for (size_t i = 0; i <= n; i++) {
    for (size_t j = i; j <= n; j++) {
      size_t cuts[3] = {i, j, n};
      uint8_t *copy = malloc(n);
      memcpy(copy, st.bytes, n);
      rec_t r;
      run(copy, cuts, 3, &r);
      int ok = !r.violations && r.n == st.nframes;
      for (size_t f = 0; ok && f < r.n; f++)
        ok = r.f[f].h.len == st.specs[f].len && r.f[f].h.opcode == st.specs[f].opcode &&
             r.f[f].h.fin == st.specs[f].fin && r.f[f].h.rsv == st.specs[f].rsv &&
             r.f[f].h.masked == st.specs[f].masked && r.f[f].complete &&
             memcmp(r.f[f].payload, st.plain[f], (size_t)st.specs[f].len) == 0;
      if (!ok && !mism_one++) test_ctx("small stream split at %zu and %zu: %s", i, j, r.why);
      rec_free(&r);
      free(copy);
    }
  }
  CHECK_EQ(mism_one, 0);
  test_ctx(NULL);
  check_whole_and_bytewise(&st, "small stream");
  stream_free(&st);

  /* A larger stream with every encoding: every single split point. */
  static const uint64_t lens2[] = {125, 126, 0, 300, 1, 65535, 2, 65536, 0, 70000, 5};
  for (size_t i = 0; i < sizeof(lens2) / sizeof(lens2[0]); i++) stream_add(&st, rand_spec(lens2[i]));
  check_whole_and_bytewise(&st, "mixed stream");
  size_t fails = 0;
  for (size_t k = 0; k <= st.len; k += (k < 300 || st.len - k < 300) ? 1 : 997) {
    size_t cuts[2] = {k, st.len};
    unsigned long before = test_failed_;
    test_ctx("mixed stream split at %zu", k);
    check_against_stream(&st, cuts, 2, NULL);
    if (test_failed_ != before && ++fails > 3) break;
  }
  /* splits at every offset within 16 bytes of each frame boundary */
  size_t off = 0;
  for (size_t f = 0; f < st.nframes; f++) {
    for (size_t d = 0; d < 32; d++) {
      size_t k = off + d >= 16 ? off + d - 16 : 0;
      if (k > st.len) break;
      size_t cuts[3] = {k, k + 1 < st.len ? k + 1 : st.len, st.len};
      test_ctx("mixed stream split around frame %zu at %zu", f, k);
      check_against_stream(&st, cuts, 3, NULL);
    }
    spec_t *s = &st.specs[f];
    off += (s->len <= 125 ? 2 : s->len <= 65535 ? 4 : 10) + (s->masked ? 4 : 0) + (size_t)s->len;
  }
  test_ctx(NULL);
  CHECK_EQ(off, st.len);
  stream_free(&st);
}

/* Random streams of random frames, split at random. */
static void test_random_streams(void) {
  for (int round = 0; round < 300; round++) {
    stream_t st = {0};
    size_t nf = 1 + test_rand_below(12);
    for (size_t i = 0; i < nf; i++) {
      uint64_t len;
      switch (test_rand_below(4)) {
        case 0: len = 0; break;
        case 1: len = test_rand_below(126); break;
        case 2: len = 126 + test_rand_below(1000); break;
        default: len = test_rand_below(8) ? test_rand_below(300) : 65536 + test_rand_below(100);
      }
      stream_add(&st, rand_spec(len));
    }
    size_t *cuts = malloc((st.len + 1) * sizeof(size_t));
    for (int k = 0; k < 5; k++) {
      size_t n = test_rand_splits(st.len, cuts, st.len + 1);
      test_ctx("random stream %d split %d", round, k);
      check_against_stream(&st, cuts, n, NULL);
    }
    free(cuts);
    stream_free(&st);
  }
  test_ctx(NULL);
}

/* 64-bit length with the most significant bit set: BAD_LENGTH, reported
 * once the whole header is in, however it arrives. */
static void test_bad_length(void) {
  static const uint64_t bad[] = {0x8000000000000000ull, 0xffffffffffffffffull,
                                 0x8000000000000001ull, 0xc000000000000000ull};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    for (int masked = 0; masked < 2; masked++) {
      uint8_t h[14];
      spec_t s = {1, 0, 2, masked, {9, 8, 7, 6}, bad[i]};
      size_t hs = ref_header(h, &s);
      CHECK_EQ(hs, masked ? 14 : 10);
      test_ctx("len 0x%llx masked %d", (unsigned long long)bad[i], masked);
      /* one shot, with payload-like bytes after it */
      uint8_t in[32];
      memset(in, 0x41, sizeof(in));
      memcpy(in, h, hs);
      uvws_frame_parser_t fp;
      uvws_frame_parser_init(&fp);
      uvws_frame_event_t ev;
      size_t used = uvws_frame_parse(&fp, in, sizeof(in), &ev);
      CHECK_EQ(ev.type, UVWS_FRAME_BAD_LENGTH);
      CHECK_EQ(used, hs);
      /* byte by byte: NEED_MORE until the last header byte */
      uvws_frame_parser_init(&fp);
      for (size_t k = 0; k < hs; k++) {
        used = uvws_frame_parse(&fp, h + k, 1, &ev);
        CHECK_EQ(used, 1);
        CHECK_EQ(ev.type, k + 1 < hs ? UVWS_FRAME_NEED_MORE : UVWS_FRAME_BAD_LENGTH);
      }
    }
  /* the largest legal value is a header */
  uint8_t h[10] = {0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  uvws_frame_parser_t fp;
  uvws_frame_parser_init(&fp);
  uvws_frame_event_t ev;
  test_ctx("2^63-1");
  CHECK_EQ(uvws_frame_parse(&fp, h, sizeof(h), &ev), 10);
  CHECK_EQ(ev.type, UVWS_FRAME_HEADER);
  CHECK_EQ(fp.length, 0x7fffffffffffffffull);
  test_ctx(NULL);
}

/* Zero-length frames: a HEADER with last = 1 and no PAYLOAD event. */
static void test_zero_length(void) {
  uint8_t in[] = {0x81, 0x00, 0x89, 0x80, 1, 2, 3, 4, 0x80, 0x00, 0x8a, 0x00};
  uvws_frame_parser_t fp;
  uvws_frame_parser_init(&fp);
  uvws_frame_event_t ev;
  size_t pos = 0;
  pos += uvws_frame_parse(&fp, in + pos, sizeof(in) - pos, &ev);
  CHECK_EQ(pos, 2);
  CHECK_EQ(ev.type, UVWS_FRAME_HEADER);
  CHECK_EQ(ev.last, 1);
  CHECK_EQ(fp.opcode, UVWS_OP_TEXT);
  CHECK_EQ(fp.length, 0);
  CHECK_EQ(fp.in_payload, 0);
  pos += uvws_frame_parse(&fp, in + pos, sizeof(in) - pos, &ev);
  CHECK_EQ(pos, 8);
  CHECK_EQ(ev.type, UVWS_FRAME_HEADER); /* not PAYLOAD */
  CHECK_EQ(ev.last, 1);
  CHECK_EQ(fp.opcode, UVWS_OP_PING);
  CHECK_EQ(fp.masked, 1);
  CHECK_MEM(fp.key, 4, "\x01\x02\x03\x04", 4);
  pos += uvws_frame_parse(&fp, in + pos, sizeof(in) - pos, &ev);
  CHECK_EQ(pos, 10);
  CHECK_EQ(ev.type, UVWS_FRAME_HEADER);
  CHECK_EQ(fp.opcode, UVWS_OP_CONT);
  CHECK_EQ(fp.fin, 1);
  pos += uvws_frame_parse(&fp, in + pos, sizeof(in) - pos, &ev);
  CHECK_EQ(pos, 12);
  CHECK_EQ(fp.opcode, UVWS_OP_PONG);
  CHECK_EQ(ev.last, 1);
  CHECK_EQ(uvws_frame_parse(&fp, in + pos, 0, &ev), 0);
  CHECK_EQ(ev.type, UVWS_FRAME_NEED_MORE);
}

/* A 1 GiB (and a 4 GiB) length parses as a header at once: nothing of the
 * payload is needed, and it then comes out piece by piece. */
static void test_huge_length_header(void) {
  static const uint64_t lens[] = {1ull << 30, 1ull << 32, 1ull << 62};
  for (size_t i = 0; i < 3; i++)
    for (int masked = 0; masked < 2; masked++) {
      spec_t s = {1, 0, UVWS_OP_BINARY, masked, {0xa, 0xb, 0xc, 0xd}, lens[i]};
      uint8_t in[14 + 4096];
      size_t hs = ref_header(in, &s);
      test_ctx("len %llu masked %d", (unsigned long long)lens[i], masked);
      uvws_frame_parser_t fp;
      uvws_frame_parser_init(&fp);
      uvws_frame_event_t ev;
      CHECK_EQ(uvws_frame_parse(&fp, in, hs, &ev), hs);
      CHECK_EQ(ev.type, UVWS_FRAME_HEADER);
      CHECK_EQ(ev.last, 0);
      CHECK_EQ(fp.length, lens[i]);
      CHECK_EQ(fp.remaining, lens[i]);
      CHECK_EQ(fp.in_payload, 1);
      /* no more input: nothing to report */
      CHECK_EQ(uvws_frame_parse(&fp, in + hs, 0, &ev), 0);
      CHECK_EQ(ev.type, UVWS_FRAME_NEED_MORE);
      /* some payload */
      uint8_t plain[4096];
      test_rand_bytes(plain, sizeof(plain));
      for (size_t k = 0; k < sizeof(plain); k++)
        in[hs + k] = plain[k] ^ (masked ? s.key[k % 4] : 0);
      CHECK_EQ(uvws_frame_parse(&fp, in + hs, 1000, &ev), 1000);
      CHECK_EQ(ev.type, UVWS_FRAME_PAYLOAD);
      CHECK_EQ(ev.last, 0);
      CHECK_PTR(ev.data, in + hs);
      CHECK_EQ(fp.remaining, lens[i] - 1000);
      CHECK_EQ(uvws_frame_parse(&fp, in + hs + 1000, 3096, &ev), 3096);
      CHECK_EQ(fp.remaining, lens[i] - 4096);
      CHECK_MEM(in + hs, 4096, plain, 4096); /* unmasked in place */
    }
  test_ctx(NULL);
}

/* The header arriving in every possible pair of pieces (slow path). */
static void test_header_pieces(void) {
  spec_t s = {1, 0, UVWS_OP_TEXT, 1, {1, 2, 3, 4}, 70000};
  uint8_t h[14];
  size_t hs = ref_header(h, &s);
  for (size_t k = 0; k <= hs; k++) {
    uvws_frame_parser_t fp;
    uvws_frame_parser_init(&fp);
    uvws_frame_event_t ev;
    test_ctx("header split at %zu", k);
    size_t u1 = uvws_frame_parse(&fp, h, k, &ev);
    CHECK_EQ(u1, k);
    if (k < hs) CHECK_EQ(ev.type, UVWS_FRAME_NEED_MORE);
    if (k < hs) {
      size_t u2 = uvws_frame_parse(&fp, h + k, hs - k, &ev);
      CHECK_EQ(u2, hs - k);
    }
    CHECK_EQ(ev.type, UVWS_FRAME_HEADER);
    CHECK_EQ(fp.length, 70000);
    CHECK_MEM(fp.key, 4, s.key, 4);
  }
  test_ctx(NULL);
}

int main(void) {
  test_seed(1);
  RUN_TEST(test_header_writer_bytes);
  RUN_TEST(test_header_writer_reference);
  RUN_TEST(test_each_length_encoding);
  RUN_TEST(test_header_pieces);
  RUN_TEST(test_zero_length);
  RUN_TEST(test_bad_length);
  RUN_TEST(test_huge_length_header);
  RUN_TEST(test_all_split_points);
  RUN_TEST(test_random_streams);
  return test_report();
}

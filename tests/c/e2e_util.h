/* Helpers for the end-to-end tests: a watchdog so that no test can hang, a
 * raw TCP peer to send hand-made (and hostile) bytes, and frame builders. */
#ifndef UVWS_E2E_UTIL_H
#define UVWS_E2E_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <uvws.h>

extern int e2e_failures, e2e_passes;

#define EXPECT(cond)                                                        \
  do {                                                                      \
    if (cond) e2e_passes++;                                                 \
    else {                                                                  \
      e2e_failures++;                                                       \
      fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);    \
    }                                                                       \
  } while (0)

#define EXPECT_INT(a, b)                                                    \
  do {                                                                      \
    long long a_ = (long long)(a), b_ = (long long)(b);                     \
    if (a_ == b_) e2e_passes++;                                             \
    else {                                                                  \
      e2e_failures++;                                                       \
      fprintf(stderr, "%s:%d: FAILED: %s == %s (%lld vs %lld)\n", __FILE__, \
              __LINE__, #a, #b, a_, b_);                                    \
    }                                                                       \
  } while (0)

/* Run the loop until it has nothing left to do, or fail after `ms`. Returns
 * 0 if the loop ended by itself (every handle freed), -1 on timeout. */
int e2e_run(uv_loop_t *loop, unsigned ms);

/* Run the loop until *flag becomes non-zero; fail (and return -1) after
 * `ms`. */
int e2e_wait(uv_loop_t *loop, const int *flag, unsigned ms);

/* Run the loop for `ms` (while other handles keep it busy). */
void e2e_spin(uv_loop_t *loop, unsigned ms);

/* Start a server on host:0 with the given callbacks; aborts the test run on
 * failure. */
uvws_server_t *e2e_server(uv_loop_t *loop, const char *host,
                          uvws_server_options_t *opts,
                          const uvws_callbacks_t *cb, uvws_upgrade_cb up,
                          void *data);
/* "ws://127.0.0.1:PORT/path" or "ws://[::1]:PORT/path" */
void e2e_url(char *out, size_t cap, const char *host, int port, const char *path);

/* A raw TCP peer. */
typedef struct e2e_raw {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uint8_t *in;          /* everything received */
  size_t in_len, in_cap;
  int eof;              /* the server closed (EOF or reset) */
  int closed;
  int no_read;          /* connected but never reading */
  const uint8_t *send;  /* sent once connected */
  size_t send_len;
  void (*on_connect)(struct e2e_raw *r);
  void (*on_data)(struct e2e_raw *r);
  void (*on_eof)(struct e2e_raw *r);
  void *data;
} e2e_raw_t;

void e2e_raw_connect(uv_loop_t *loop, e2e_raw_t *r, const char *ip, int port);
void e2e_raw_write(e2e_raw_t *r, const void *data, size_t len);
void e2e_raw_start_reading(e2e_raw_t *r);
void e2e_raw_close(e2e_raw_t *r);
/* Offset just past "\r\n\r\n" in what was received, or 0. */
size_t e2e_raw_head_end(const e2e_raw_t *r);
/* Status code of the HTTP response received, or 0. */
int e2e_raw_status(const e2e_raw_t *r);

/* A valid upgrade request for `path` into out; returns its length. */
size_t e2e_request(char *out, size_t cap, const char *path, const char *extra);

/* Build a frame; masked with a fixed key when `mask` is set. */
size_t e2e_frame(uint8_t *out, int fin, int opcode, int mask,
                 const void *payload, uint64_t len);

/* Parse the first unmasked frame in buf: returns its total size, or 0 if
 * incomplete; sets *opcode, *payload and *len. */
size_t e2e_parse_frame(const uint8_t *buf, size_t n, int *opcode,
                       const uint8_t **payload, uint64_t *len);

int e2e_report(const char *name);

#endif

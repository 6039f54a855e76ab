/* Prints the defaults of uvws_server_options_init() and
 * uvws_client_options_init(), one "scope.field=value" per line, for
 * tests/readme/test_limits_doc.py, which checks docs/limits.md against them
 * (and against the Python and Node packages). Not a test by itself. */
#include <stdio.h>
#include <uvws.h>

static void limits(const char *scope, const uvws_limits_t *l) {
  printf("%s.max_payload=%zu\n", scope, l->max_payload);
  printf("%s.max_fragments=%u\n", scope, l->max_fragments);
  printf("%s.max_backpressure=%zu\n", scope, l->max_backpressure);
  printf("%s.close_on_backpressure=%d\n", scope, l->close_on_backpressure);
  printf("%s.idle_timeout_ms=%u\n", scope, l->idle_timeout_ms);
  printf("%s.ping_interval_ms=%u\n", scope, l->ping_interval_ms);
  printf("%s.pong_timeout_ms=%u\n", scope, l->pong_timeout_ms);
  printf("%s.close_timeout_ms=%u\n", scope, l->close_timeout_ms);
}

int main(void) {
  uvws_server_options_t s;
  uvws_client_options_t c;
  uvws_server_options_init(&s);
  uvws_client_options_init(&c);
  limits("server", &s.limits);
  printf("server.backlog=%d\n", s.backlog);
  printf("server.handshake_timeout_ms=%u\n", s.handshake_timeout_ms);
  printf("server.max_header_bytes=%zu\n", s.max_header_bytes);
  printf("server.max_headers=%u\n", s.max_headers);
  printf("server.max_connections=%u\n", s.max_connections);
  printf("server.max_pending_handshakes=%u\n", s.max_pending_handshakes);
  limits("client", &c.limits);
  printf("client.connect_timeout_ms=%u\n", c.connect_timeout_ms);
  printf("client.max_response_bytes=%zu\n", c.max_response_bytes);
  return 0;
}

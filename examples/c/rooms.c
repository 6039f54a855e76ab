/* Chat with rooms, on topics: each room is the topic "rooms/<room>".
 * Clients send text lines:
 *   join ROOM       subscribe (ROOM "*" joins every room: "rooms/+")
 *   leave ROOM      unsubscribe
 *   say ROOM TEXT   publish "[ROOM] NAME: TEXT" to the room (the sender gets
 *                   it too if it is in the room)
 *   rooms           the rooms this connection is in
 * NAME is the ?name= query parameter, else "guest-<n>". Closing a
 * connection leaves every room. Answers: "joined ROOM (N here)",
 * "left ROOM", "rooms: A,B", "error: WHY".
 *
 *   rooms [--host 127.0.0.1] [--port 9003]
 *
 * Prints "listening on <port>" once it accepts connections. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uvws.h>

static uvws_server_t *server;
static uv_signal_t sigint, sigterm;
static unsigned guests;

typedef struct {
  char name[33];
} user_t;

static void reply(uvws_t *ws, const char *fmt, const char *a, const char *b) {
  char buf[1200];
  int n = snprintf(buf, sizeof(buf), fmt, a, b);
  if (n > 0) uvws_send(ws, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, UVWS_TEXT);
}

/* "rooms/<room>", or "rooms/+" for "*". */
static size_t topic_of(char *out, size_t cap, const char *room, size_t len) {
  if (len == 1 && room[0] == '*') return (size_t)snprintf(out, cap, "rooms/+");
  return (size_t)snprintf(out, cap, "rooms/%.*s", (int)len, room);
}

static int add_room(uvws_t *ws, const char *f, size_t len, void *arg) {
  (void)ws;
  char *list = arg;
  size_t used = strlen(list);
  const char *room = len == 7 && !memcmp(f, "rooms/+", 7) ? "*" : f + 6;
  size_t rlen = room[0] == '*' ? 1 : len - 6;
  if (used + rlen + 2 >= 1024) return 1;
  if (used) list[used++] = ',';
  memcpy(list + used, room, rlen);
  list[used + rlen] = 0;
  return 0;
}

static void on_open(uvws_t *ws, const uvws_http_t *req) {
  user_t *u = calloc(1, sizeof(*u));
  if (!u) {
    uvws_close(ws, 1011, NULL, 0);
    return;
  }
  const char *q = req->query;
  size_t ql = req->query_len;
  if (q && ql > 5 && !memcmp(q, "name=", 5)) {
    size_t n = 0;
    for (size_t i = 5; i < ql && q[i] != '&' && n < 32; i++) u->name[n++] = q[i];
  } else {
    snprintf(u->name, sizeof(u->name), "guest-%u", ++guests);
  }
  uvws_set_data(ws, u);
}

static void on_message(uvws_t *ws, const char *data, size_t len, int is_binary) {
  user_t *u = uvws_get_data(ws);
  char topic[UVWS_TOPIC_MAX_LEN + 8], room[UVWS_TOPIC_MAX_LEN + 1];
  if (is_binary || !u) {
    uvws_close(ws, 1003, "text only", 9);
    return;
  }
  const char *sp = memchr(data, ' ', len);
  size_t cmd = sp ? (size_t)(sp - data) : len, rest = sp ? len - cmd - 1 : 0;
  const char *arg = sp ? sp + 1 : "";
  if (cmd == 5 && !memcmp(data, "rooms", 5)) {
    char list[1024] = "";
    uvws_topics(ws, add_room, list);
    reply(ws, "rooms: %s%s", list, "");
    return;
  }
  /* ROOM is the first word of the argument */
  const char *sp2 = memchr(arg, ' ', rest);
  size_t rlen = sp2 ? (size_t)(sp2 - arg) : rest;
  if (rlen == 0 || rlen > 64) {
    reply(ws, "error: %s%s", "a room name of 1 to 64 bytes is needed", "");
    return;
  }
  size_t tlen = topic_of(topic, sizeof(topic), arg, rlen);
  snprintf(room, sizeof(room), "%.*s", (int)rlen, arg);
  int r;
  if (cmd == 4 && !memcmp(data, "join", 4)) {
    r = uvws_subscribe(ws, topic, tlen);
    if (r < 0) {
      reply(ws, "error: %s%s", uvws_strerror(r), "");
      return;
    }
    char n[32];
    snprintf(n, sizeof(n), "%zu", uvws_server_num_subscribers(server, topic, tlen));
    reply(ws, "joined %s (%s here)", room, n);
  } else if (cmd == 5 && !memcmp(data, "leave", 5)) {
    r = uvws_unsubscribe(ws, topic, tlen);
    reply(ws, r == 1 ? "left %s%s" : "error: not in %s%s", room, "");
  } else if (cmd == 3 && !memcmp(data, "say", 3) && sp2 && room[0] != '*') {
    char line[1200];
    int n = snprintf(line, sizeof(line), "[%s] %s: %.*s", room, u->name,
                     (int)(rest - rlen - 1), sp2 + 1);
    if (n >= (int)sizeof(line)) n = (int)sizeof(line) - 1;
    r = uvws_server_publish(server, topic, tlen, line, (size_t)n, UVWS_TEXT);
    if (r < 0) reply(ws, "error: %s%s", uvws_strerror(r), "");
  } else {
    reply(ws, "error: %s%s", "commands: join ROOM, leave ROOM, say ROOM TEXT, rooms", "");
  }
}

static void on_close(uvws_t *ws, int code, const char *reason, size_t len) {
  /* Its rooms were left already (topics end with the connection). */
  free(uvws_get_data(ws));
}

static void on_closed(uvws_server_t *s) {
  uv_close((uv_handle_t *)&sigint, NULL);
  uv_close((uv_handle_t *)&sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
  uv_signal_stop(&sigint);
  uv_signal_stop(&sigterm);
  if (uvws_server_close(server, on_closed) < 0) uv_stop(h->loop);
}

int main(int argc, char **argv) {
  uvws_server_options_t opts;
  uvws_server_options_init(&opts);
  opts.host = "127.0.0.1";
  opts.port = 9003;
  opts.limits.max_payload = 4096;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--host")) opts.host = argv[i + 1];
    else if (!strcmp(argv[i], "--port")) opts.port = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "usage: rooms [--host ADDR] [--port N]\n");
      return 2;
    }
  }
  uvws_callbacks_t cb = {0};
  cb.on_open = on_open;
  cb.on_message = on_message;
  cb.on_close = on_close;
  uv_loop_t *loop = uv_default_loop();
  int r = uvws_server_start(loop, &opts, &cb, NULL, NULL, &server);
  if (r < 0) {
    fprintf(stderr, "rooms: cannot listen: %s\n", uvws_strerror(r));
    return 1;
  }
  printf("listening on %d\n", uvws_server_port(server));
  fflush(stdout);
  uv_signal_init(loop, &sigint);
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return 0;
}

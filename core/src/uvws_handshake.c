#include "uvws_handshake.h"
#include "uvws_http.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void uvws_accept_key(const char *key, size_t key_len,
                     char out[UVWS_ACCEPT_LEN + 1]) {
  unsigned char digest[SHA_DIGEST_LENGTH], in[UVWS_KEY_LEN + sizeof(GUID)];
  if (key_len > UVWS_KEY_LEN) key_len = UVWS_KEY_LEN;
  memcpy(in, key, key_len);
  memcpy(in + key_len, GUID, sizeof(GUID) - 1);
  EVP_Digest(in, key_len + sizeof(GUID) - 1, digest, NULL, EVP_sha1(), NULL);
  EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

int uvws_make_key(char out[UVWS_KEY_LEN + 1]) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof(raw)) != 1) return UVWS_ENOMEM;
  EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
  return 0;
}

static int is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* A key is valid when it is base64 of exactly 16 bytes: 22 symbols and
 * "==", with the unused low bits of the last symbol zero. */
static int key_is_valid(const char *k, size_t len) {
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (len != UVWS_KEY_LEN || k[22] != '=' || k[23] != '=') return 0;
  for (int i = 0; i < 22; i++)
    if (!is_b64(k[i])) return 0;
  const char *last = strchr(b64, k[21]);
  return ((last - b64) & 0x0f) == 0;
}

static const char *find_unique(const uvws_http_t *req, const char *name,
                               size_t *len, int *dup) {
  const char *v = NULL;
  *dup = 0;
  for (size_t i = 0; i < req->num_headers; i++) {
    const uvws_header_t *h = &req->headers[i];
    if (!uvws_strieq(h->name, h->name_len, name)) continue;
    if (v) *dup = 1;
    v = h->value;
    *len = h->value_len;
  }
  return v;
}

int uvws_check_request(const uvws_http_t *req, int http_major, int http_minor,
                       int method_is_get, const char *path,
                       uvws_upgrade_info_t *info, const char **why) {
  size_t len;
  int dup;
  const char *v;
  memset(info, 0, sizeof(*info));
  if (!method_is_get) {
    *why = "Invalid HTTP method";
    return 405;
  }
  if (http_major < 1 || (http_major == 1 && http_minor < 1)) {
    *why = "HTTP/1.1 or later required";
    return 400;
  }
  if (!(v = find_unique(req, "host", &len, &dup)) || dup) {
    *why = "Missing or duplicate Host header";
    return 400;
  }
  v = uvws_http_header(req, "upgrade", &len);
  if (!v) {
    *why = "Upgrade Required";
    return 426;
  }
  if (!uvws_token_list_has(v, len, "websocket")) {
    *why = "Invalid Upgrade header";
    return 400;
  }
  /* Connection may be repeated; any one of them may carry "upgrade". */
  int conn_ok = 0;
  for (size_t i = 0; i < req->num_headers; i++) {
    const uvws_header_t *h = &req->headers[i];
    if (uvws_strieq(h->name, h->name_len, "connection") &&
        uvws_token_list_has(h->value, h->value_len, "upgrade"))
      conn_ok = 1;
  }
  if (!conn_ok) {
    *why = "Invalid Connection header";
    return 400;
  }
  /* 13 is RFC 6455; 8 (hybi-08) has the same framing and handshake, and ws
   * accepts it too. A missing or repeated header is a malformed request
   * (400); a version we do not speak gets 426 and the ones we do (RFC 6455
   * section 4.4). */
  v = find_unique(req, "sec-websocket-version", &len, &dup);
  if (!v || dup) {
    *why = "Missing or invalid Sec-WebSocket-Version header";
    return 400;
  }
  if (!((len == 2 && memcmp(v, "13", 2) == 0) || (len == 1 && v[0] == '8'))) {
    *why = "Unsupported WebSocket version";
    return 426;
  }
  v = find_unique(req, "sec-websocket-key", &len, &dup);
  if (!v || dup || !key_is_valid(v, len)) {
    *why = "Missing or invalid Sec-WebSocket-Key header";
    return 400;
  }
  info->key = v;
  if (path && !(req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0)) {
    *why = "Unknown path";
    return 400;
  }
  /* Subprotocols: every offered item must be a token, none repeated. The
   * header may itself be repeated; then the lists are joined, which the
   * protocol list accessor handles by scanning every instance. */
  for (size_t i = 0; i < req->num_headers; i++) {
    const uvws_header_t *h = &req->headers[i];
    if (!uvws_strieq(h->name, h->name_len, "sec-websocket-protocol")) continue;
    size_t pos = 0, n;
    const char *item;
    int any = 0;
    while (uvws_token_next(h->value, h->value_len, &pos, &item, &n)) {
      any = 1;
      if (!uvws_http_token_is_valid(item, n)) {
        *why = "Invalid Sec-WebSocket-Protocol header";
        return 400;
      }
    }
    if (!any) {
      *why = "Invalid Sec-WebSocket-Protocol header";
      return 400;
    }
    if (!info->protocols) {
      info->protocols = h->value;
      info->protocols_len = h->value_len;
    }
  }
  info->extensions = uvws_http_header(req, "sec-websocket-extensions", &info->extensions_len);
  return 0;
}

const char *uvws_status_text(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Client Error" : "Server Error";
  }
}

/* Append helper: returns the new length or SIZE_MAX once out of room. */
static size_t put(char *out, size_t cap, size_t n, const char *s, size_t len) {
  if (n == (size_t)-1 || n + len > cap) return (size_t)-1;
  memcpy(out + n, s, len);
  return n + len;
}

#define PUTS(s) n = put(out, cap, n, (s), strlen(s))

static size_t put_headers(char *out, size_t cap, size_t n,
                          const uvws_header_t *headers, size_t num) {
  for (size_t i = 0; i < num; i++) {
    n = put(out, cap, n, headers[i].name, headers[i].name_len);
    n = put(out, cap, n, ": ", 2);
    n = put(out, cap, n, headers[i].value, headers[i].value_len);
    n = put(out, cap, n, "\r\n", 2);
  }
  return n;
}

size_t uvws_build_101(char *out, size_t cap, const char *key,
                      const char *protocol, const uvws_header_t *headers,
                      size_t num_headers) {
  char accept[UVWS_ACCEPT_LEN + 1];
  size_t n = 0;
  uvws_accept_key(key, UVWS_KEY_LEN, accept);
  PUTS("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
       "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
  PUTS(accept);
  PUTS("\r\n");
  if (protocol && *protocol) {
    PUTS("Sec-WebSocket-Protocol: ");
    PUTS(protocol);
    PUTS("\r\n");
  }
  n = put_headers(out, cap, n, headers, num_headers);
  PUTS("\r\n");
  return n == (size_t)-1 ? 0 : n;
}

size_t uvws_build_error(char *out, size_t cap, int status,
                        const uvws_header_t *headers, size_t num_headers,
                        const char *body, size_t body_len) {
  char line[96];
  size_t n = 0;
  if (!body) {
    body = uvws_status_text(status);
    body_len = strlen(body);
  }
  snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, uvws_status_text(status));
  PUTS(line);
  PUTS("Connection: close\r\nContent-Type: text/plain\r\n");
  if (status == 426) PUTS("Upgrade: websocket\r\nSec-WebSocket-Version: 13, 8\r\n");
  n = put_headers(out, cap, n, headers, num_headers);
  snprintf(line, sizeof(line), "Content-Length: %zu\r\n\r\n", body_len);
  PUTS(line);
  n = put(out, cap, n, body, body_len);
  return n == (size_t)-1 ? 0 : n;
}

char *uvws_build_request(const char *host_header, const char *path_query,
                         const char *key, const uvws_client_options_t *opts,
                         const char *extensions, size_t *len) {
  size_t cap = 256 + strlen(host_header) + strlen(path_query);
  if (extensions) cap += strlen(extensions) + 32;
  for (size_t i = 0; i < opts->num_headers; i++)
    cap += opts->headers[i].name_len + opts->headers[i].value_len + 4;
  for (size_t i = 0; i < opts->num_protocols; i++) cap += strlen(opts->protocols[i]) + 2;
  if (opts->origin) cap += strlen(opts->origin) + 12;
  char *out = malloc(cap);
  if (!out) return NULL;
  size_t n = 0;
  PUTS("GET ");
  PUTS(path_query);
  PUTS(" HTTP/1.1\r\nHost: ");
  PUTS(host_header);
  PUTS("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  PUTS(key);
  PUTS("\r\nSec-WebSocket-Version: 13\r\n");
  if (opts->num_protocols) {
    PUTS("Sec-WebSocket-Protocol: ");
    for (size_t i = 0; i < opts->num_protocols; i++) {
      if (i) PUTS(", ");
      PUTS(opts->protocols[i]);
    }
    PUTS("\r\n");
  }
  if (extensions) {
    PUTS("Sec-WebSocket-Extensions: ");
    PUTS(extensions);
    PUTS("\r\n");
  }
  if (opts->origin) {
    PUTS("Origin: ");
    PUTS(opts->origin);
    PUTS("\r\n");
  }
  n = put_headers(out, cap, n, opts->headers, opts->num_headers);
  PUTS("\r\n");
  if (n == (size_t)-1) {
    free(out);
    return NULL;
  }
  *len = n;
  return out;
}

int uvws_check_response(const uvws_http_t *res, int http_major,
                        int http_minor, const char *key,
                        const char *const *offered, size_t num_offered,
                        int offered_extensions, const char **protocol,
                        size_t *protocol_len, const char **why) {
  size_t len;
  int dup;
  const char *v;
  *protocol = NULL;
  *protocol_len = 0;
  if (res->status != 101) {
    *why = "server did not switch protocols";
    return UVWS_ESTATUS;
  }
  if (http_major < 1 || (http_major == 1 && http_minor < 1)) {
    *why = "response is not HTTP/1.1";
    return UVWS_EHANDSHAKE;
  }
  v = uvws_http_header(res, "upgrade", &len);
  if (!v || !uvws_token_list_has(v, len, "websocket")) {
    *why = "missing or invalid Upgrade header in the response";
    return UVWS_EHANDSHAKE;
  }
  int conn_ok = 0;
  for (size_t i = 0; i < res->num_headers; i++) {
    const uvws_header_t *h = &res->headers[i];
    if (uvws_strieq(h->name, h->name_len, "connection") &&
        uvws_token_list_has(h->value, h->value_len, "upgrade"))
      conn_ok = 1;
  }
  if (!conn_ok) {
    *why = "missing or invalid Connection header in the response";
    return UVWS_EHANDSHAKE;
  }
  char expect[UVWS_ACCEPT_LEN + 1];
  uvws_accept_key(key, UVWS_KEY_LEN, expect);
  v = find_unique(res, "sec-websocket-accept", &len, &dup);
  if (!v || dup || len != UVWS_ACCEPT_LEN || memcmp(v, expect, len) != 0) {
    *why = "invalid Sec-WebSocket-Accept header";
    return UVWS_EACCEPT;
  }
  v = find_unique(res, "sec-websocket-protocol", &len, &dup);
  if (v) {
    int found = 0;
    for (size_t i = 0; i < num_offered && !dup; i++)
      if (strlen(offered[i]) == len && memcmp(offered[i], v, len) == 0) found = 1;
    if (!found) {
      *why = num_offered ? "server chose a subprotocol that was not offered"
                         : "server sent a subprotocol but none was offered";
      return UVWS_EPROTOCOL;
    }
    *protocol = v;
    *protocol_len = len;
  } else if (num_offered) {
    *why = "server sent no subprotocol";
    return UVWS_EPROTOCOL;
  }
  /* An extension that was not offered is a violation (RFC 6455 section
   * 4.1, item 5 of the client's checks); so is a repeated header. */
  v = find_unique(res, "sec-websocket-extensions", &len, &dup);
  if (v && (!offered_extensions || dup)) {
    *why = "server sent an extension that was not offered";
    return UVWS_EEXTENSION;
  }
  return 0;
}

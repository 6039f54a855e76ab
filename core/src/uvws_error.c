#include "uvws.h"
#include "uvws_internal.h"

#include <stdarg.h>
#include <stdio.h>

#define STR(x) #x
#define XSTR(x) STR(x)

const char *uvws_strerror(int err) {
  switch (err) {
#define UVWS__STRERR(name, val, msg) \
  case UVWS_##name:                  \
    return msg;
    UVWS_ERRNO_MAP(UVWS__STRERR)
#undef UVWS__STRERR
    default:
      break;
  }
  /* libuv knows its own codes and says "Unknown system error" otherwise. */
  if (err < 0 && err > -4096) return uv_strerror(err);
  return "unknown error";
}

const char *uvws_version(void) {
  return XSTR(UVWS_VERSION_MAJOR) "." XSTR(UVWS_VERSION_MINOR) "." XSTR(UVWS_VERSION_PATCH);
}

static _Thread_local char last_error[320];

void uvws__set_last_error(const char *msg) {
  snprintf(last_error, sizeof(last_error), "%s", msg ? msg : "");
}

const char *uvws_last_error(void) { return last_error; }

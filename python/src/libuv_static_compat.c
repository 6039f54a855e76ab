/* Debian's libuv_a.a is compiled as position-independent *executable* code
 * (-fPIE), not -fPIC: a few objects reach three data symbols of the C
 * library (environ, stderr, in6addr_any) with PC-relative relocations, which
 * a linker accepts in an executable (copy relocations) but not in a shared
 * object such as this extension module ("relocation R_X86_64_PC32 against
 * symbol `environ' can not be used when making a shared object").
 *
 * Defining those three symbols here, hidden, lets the static link resolve
 * the references inside the module. Nothing else is affected: hidden symbols
 * are invisible outside the module (and the version script keeps everything
 * but PyInit__uvws local anyway).
 *   - in6addr_any is a constant (all zero): an exact copy.
 *   - stderr is set to the C library's stream at import (libuv only prints
 *     to it on internal assertion paths).
 *   - environ is only read by uv_os_environ() and by uv_spawn() without an
 *     explicit env; uvws uses neither. It is set to the C library's value at
 *     import as a best effort.
 * Built only with UVWS_STATIC_LIBUV (see python/CMakeLists.txt). */
#include <dlfcn.h>

__attribute__((visibility("hidden"))) const unsigned char in6addr_any[16]
    __attribute__((aligned(4))) = {0};
__attribute__((visibility("hidden"))) void *stderr;
__attribute__((visibility("hidden"))) char **environ;

void uvwspy_libuv_compat_init(void) {
  void **err = dlsym(RTLD_DEFAULT, "stderr");
  char ***env = dlsym(RTLD_DEFAULT, "environ");
  if (err) stderr = *err;
  if (env) environ = *env;
}

/* RFC 6455 section 5.3 masking. */
#ifndef UVWS_MASK_H
#define UVWS_MASK_H

#include <stddef.h>
#include <stdint.h>

/* XOR `len` bytes of `p` in place with `key`, starting at key byte `pos`
 * (0-3), so that a payload split across reads unmasks piecewise. Returns the
 * key position after the last byte. */
unsigned uvws_mask(uint8_t *p, size_t len, const uint8_t key[4], unsigned pos);

/* Copy `len` bytes from `src` to `dst` masking them with `key` from key
 * position 0 (client sends: the caller's data is never modified). */
void uvws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len,
                    const uint8_t key[4]);

#endif

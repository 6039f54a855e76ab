/* Incremental UTF-8 validation (RFC 3629): text messages arrive in pieces
 * (fragments, TCP reads), so the validator carries its state across calls
 * and reports the first invalid byte as soon as it is seen. */
#ifndef UVWS_UTF8_H
#define UVWS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 0 = between code points (a message may end here). Otherwise the low byte
 * is the upper bound and the next byte the lower bound allowed for the next
 * continuation byte, and bits 16+ count the continuation bytes still owed. */
#define UVWS_UTF8_ACCEPT 0u
#define UVWS_UTF8_REJECT 0xffffffffu

/* Feed `len` bytes; returns the new state (UVWS_UTF8_REJECT once invalid,
 * and it stays so). */
uint32_t uvws_utf8_feed(uint32_t state, const uint8_t *p, size_t len);

#endif

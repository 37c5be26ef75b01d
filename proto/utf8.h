/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. One implementation for the lexer, module decoding and names.
 */
#ifndef SC_UTF8_H
#define SC_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the valid sequence at s[0..n) (code point in *cp), or 0. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Encode the scalar value cp into buf (room for 4); returns the length. */
size_t utf8_encode(uint32_t cp, char *buf);
/* Is all of p[0..n) valid UTF-8? */
bool utf8_valid(const void *p, size_t n);

#endif

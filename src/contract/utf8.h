/*
 * utf8.h: the one UTF-8 decoder. Text crosses this project's boundaries as JSON, and
 * jansson refuses a string that is not well-formed UTF-8, so every place that takes text
 * from a plugin (log lines, audit fields, error messages, the terminal, VM strings) asks
 * the same question here and gets the same answer: overlong forms, surrogates (QuickJS
 * writes a lone one as three bytes) and code points past U+10FFFF do not decode.
 *
 * Threading: pure functions.
 */
#ifndef AL_CONTRACT_UTF8_H
#define AL_CONTRACT_UTF8_H

#include "common.h"

/* Length (1 to 4) of the well-formed sequence at s, which has n > 0 bytes, with its code
 * point in *cp (may be NULL); 0 when the bytes there do not decode. A NUL decodes (as
 * U+0000): callers that must refuse it say so. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Whether s[0..n) is well-formed throughout. */
bool utf8_valid(const char *s, size_t n);
/* The longest prefix of s[0..n) of at most `max` bytes that does not end inside a
 * character (well-formed or not: only continuation bytes are stepped back over). */
size_t utf8_cut(const char *s, size_t n, size_t max);
/* A JSON string of s[0..n) cut to at most `max` input bytes (utf8_cut), every part that
 * does not decode replaced by U+FFFD: a sequence of the right shape for a code point that
 * is not allowed as one at once, a broken one byte by byte. New reference; NULL when out
 * of memory. */
json_t *utf8_json(const char *s, size_t n, size_t max);

#endif

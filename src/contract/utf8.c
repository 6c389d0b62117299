/*
 * utf8.c: the UTF-8 decoder (see utf8.h). Table-free: the lead byte gives the length
 * and the bits it carries, the continuation bytes the rest, and the minimum for each
 * length rules out overlong forms.
 */
#include <stdlib.h>
#include <string.h>

#include "contract/utf8.h"

/* The length a lead byte announces (1 to 4), or 0 for a continuation byte or 0xF8-0xFF. */
static size_t lead_len(unsigned c) {
  return c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
}

/* Length of the sequence at s when its lead byte and continuation bytes have the right
 * shape (whatever code point they spell), else 0. */
static size_t shape(const unsigned char *s, size_t n, uint32_t *cp) {
  size_t len = lead_len(s[0]);
  if (!len || len > n) return 0;
  uint32_t v = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = v << 6 | (s[i] & 0x3F);
  }
  *cp = v;
  return len;
}

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  uint32_t v = 0;
  size_t len = n ? shape(s, n, &v) : 0;
  if (!len || v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  if (cp) *cp = v;
  return len;
}

bool utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    if (p[i] < 0x80) { /* ASCII runs are the common case */
      i++;
      continue;
    }
    size_t k = utf8_decode(p + i, n - i, NULL);
    if (!k) return false;
    i += k;
  }
  return true;
}

size_t utf8_cut(const char *s, size_t n, size_t max) {
  if (n <= max) return n;
  size_t c = max;
  while (c > 0 && ((unsigned char)s[c] & 0xC0) == 0x80) c--;
  return c;
}

json_t *utf8_json(const char *s, size_t n, size_t max) {
  n = utf8_cut(s, n, max);
  json_t *j = json_stringn(s, n); /* the common case: nothing to replace */
  if (j) return j;
  if (n > (SIZE_MAX - 1) / 3) return NULL;
  char *buf = malloc(n * 3 + 1); /* each byte becomes at most one U+FFFD (3 bytes) */
  if (!buf) return NULL;
  const unsigned char *p = (const unsigned char *)s;
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t k = utf8_decode(p + i, n - i, NULL);
    if (k) {
      memcpy(buf + o, p + i, k);
      o += k;
      i += k;
    } else {
      memcpy(buf + o, "\xEF\xBF\xBD", 3);
      o += 3;
      size_t m = shape(p + i, n - i, &cp); /* a bad code point goes whole, once */
      i += m ? m : 1;
    }
  }
  j = json_stringn(buf, o);
  free(buf);
  return j;
}

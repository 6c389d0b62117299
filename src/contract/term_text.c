/*
 * term_text.c: terminal-safe text (term_text.h).
 *
 * One walker, two sinks (a growing buffer, a FILE), so the rules exist once. UTF-8 is
 * decoded strictly (no overlongs, no surrogates, nothing past U+10FFFF): a byte that does
 * not start a valid sequence is escaped alone and decoding resumes at the next byte, so a
 * truncated sequence cannot swallow the ESC that follows it.
 */
#include "contract/term_text.h"
#include "contract/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
  FILE *f;
  char *buf;
  size_t len, cap;
  bool oom;
} sink;

static void put(sink *k, const char *p, size_t n) {
  if (k->f) {
    fwrite(p, 1, n, k->f);
    return;
  }
  if (k->oom) return;
  if (n > SIZE_MAX / 2 - k->len) { /* the doubling below could not reach it */
    k->oom = true;
    return;
  }
  if (k->len + n + 1 > k->cap) {
    size_t cap = k->cap ? k->cap : 64;
    while (cap < k->len + n + 1) cap *= 2;
    char *b = realloc(k->buf, cap);
    if (!b) {
      k->oom = true;
      return;
    }
    k->buf = b;
    k->cap = cap;
  }
  memcpy(k->buf + k->len, p, n);
  k->len += n;
  k->buf[k->len] = 0;
}

/* The code points shown as \uNNNN (term_text.h): C1 controls; the bidirectional
 * embeddings, overrides and isolates, and the bidi marks (U+061C, U+200E, U+200F), which
 * reorder or steer what is shown around them; the line and paragraph separators
 * (U+2028, U+2029); and the invisible format characters that change nothing a reader
 * can see (U+200B zero width space, U+2060-U+2064 word joiner and invisible operators,
 * U+206A-U+206F, U+FEFF), with which a plugin could make two different strings look
 * alike. U+200C and U+200D (zero width non-joiner, joiner) pass: Persian and Indic text
 * and emoji sequences need them, and they do not reorder anything. */
static bool invisible(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200B || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206F) ||
         cp == 0xFEFF;
}

static void walk(const char *s, bool keep_newlines, sink *k) {
  const unsigned char *p = (const unsigned char *)(s ? s : ""), *run = p;
  char esc[12];
  /* Text that passes is written a run at a time, not a character at a time: on an
   * unbuffered stream (stderr) each put is a write(2), and a line cut into many writes
   * interleaves with other writers' output. */
  while (*p) {
    uint32_t cp = 0;
    /* 4 bytes "left" is safe on a NUL-terminated string: decoding stops at the first
     * byte that is not a continuation, and the NUL is not one. */
    size_t n = utf8_decode(p, 4, &cp), elen = 0;
    if (!n) {
      snprintf(esc, sizeof esc, "\\x%02x", *p);
      elen = 4;
      n = 1;
    } else if ((cp < 0x20 && cp != '\t' && !(cp == '\n' && keep_newlines)) || cp == 0x7F) {
      snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
      elen = 4;
    } else if (invisible(cp)) {
      snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
      elen = 6;
    }
    if (elen) {
      if (p > run) put(k, (const char *)run, (size_t)(p - run));
      put(k, esc, elen);
      run = p + n;
    }
    p += n;
  }
  if (p > run) put(k, (const char *)run, (size_t)(p - run));
}

char *tt_escape(const char *s, bool keep_newlines) {
  sink k = {0};
  put(&k, "", 0);
  walk(s, keep_newlines, &k);
  if (k.oom) {
    free(k.buf);
    return NULL;
  }
  return k.buf;
}

void tt_fputs(const char *s, bool keep_newlines, FILE *out) {
  sink k = {.f = out};
  if (out) walk(s, keep_newlines, &k);
}

/* fuzz_term_text.c: arbitrary bytes through the terminal escaper (contract/term_text.h).
 * Byte 0 bit 0 is keep_newlines; the rest, up to its first NUL, is the text. Whatever
 * comes in, what comes out must be safe to print: no C0 control but TAB (and LF when
 * kept), no DEL, valid UTF-8 (checked here by a decoder of its own, not term_text's),
 * and no C1 or bidirectional control among the code points. Also: at most 4 bytes out
 * per byte in, tt_fputs writes exactly what tt_escape returns, and escaping the result
 * again changes nothing (clean text passes unchanged).
 * The same bytes, NULs included, go through the UTF-8 module (contract/utf8.h) too, with
 * jansson's own decoder as the oracle: utf8_valid agrees with it, utf8_json always gives
 * a string at most 3x as long, the same bytes when they were valid, and utf8_cut never
 * ends inside a character. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/term_text.h"
#include "contract/utf8.h"
#include "fuzz_check.h"

/* Walks s as strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF),
 * checking each code point; false at the first thing that breaks a rule. */
static bool safe_text(const unsigned char *s, size_t n, bool keep_newlines) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    uint32_t cp;
    size_t len;
    if (c < 0x80) cp = c, len = 1;
    else if (c >= 0xC2 && c <= 0xDF) cp = c & 0x1Fu, len = 2;
    else if (c >= 0xE0 && c <= 0xEF) cp = c & 0x0Fu, len = 3;
    else if (c >= 0xF0 && c <= 0xF4) cp = c & 0x07u, len = 4;
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    if (cp < 0x20 && cp != '\t' && !(cp == '\n' && keep_newlines)) return false;
    if (cp >= 0x7F && cp <= 0x9F) return false; /* DEL and C1 */
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return false;
    i += len;
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  bool keep = data[0] & 1;
  char *in = malloc(size);
  CHECK(in);
  memcpy(in, data + 1, size - 1);
  in[size - 1] = 0;
  size_t in_len = strlen(in);

  char *out = tt_escape(in, keep);
  CHECK(out);
  size_t out_len = strlen(out);
  CHECK(out_len <= 4 * in_len);
  CHECK(safe_text((const unsigned char *)out, out_len, keep));

  char *streamed = NULL;
  size_t streamed_len = 0;
  FILE *f = open_memstream(&streamed, &streamed_len);
  CHECK(f);
  tt_fputs(in, keep, f);
  CHECK(fclose(f) == 0);
  CHECK(streamed_len == out_len && memcmp(streamed, out, out_len) == 0);

  char *again = tt_escape(out, keep);
  CHECK(again && strcmp(again, out) == 0);

  free(again);
  free(streamed);
  free(out);
  free(in);

  const char *raw = (const char *)data + 1;
  size_t raw_len = size - 1;
  json_t *oracle = json_stringn(raw, raw_len);
  bool valid = utf8_valid(raw, raw_len);
  CHECK(valid == (oracle != NULL));
  json_decref(oracle);
  size_t max = data[0] >> 1;
  json_t *j = utf8_json(raw, raw_len, raw_len);
  CHECK(j && json_string_length(j) <= 3 * raw_len);
  CHECK(!valid || (json_string_length(j) == raw_len && !memcmp(json_string_value(j), raw, raw_len)));
  json_decref(j);
  size_t cut = utf8_cut(raw, raw_len, max);
  CHECK(cut <= max && cut <= raw_len);
  CHECK(cut == raw_len || ((unsigned char)raw[cut] & 0xC0) != 0x80 || cut == 0);
  return 0;
}

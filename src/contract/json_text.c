/*
 * json_text.c: compact JSON text of a json_t, the form every tree, result and frame takes
 * on its way out of the library.
 *
 * jansson's json_dumps goes through a callback per token, formats every number with
 * snprintf and prints reals with 17 significant digits ("0.1" comes out as
 * 0.10000000000000001). This writer appends to one growing buffer, copies unescaped
 * string runs with memcpy, formats integers by hand, and prints a real with the fewest
 * digits (15 to 17) that read back as the same double. Otherwise the output is jansson's
 * compact form byte for byte: key order as stored, non-ASCII UTF-8 as is, the same
 * escapes, and a real that looks integral keeps a ".0" so it reads back as a real.
 * A value nested deeper than JT_MAX_DEPTH (only possible through a cycle, which the
 * library never builds) yields NULL, as jansson refuses cycles.
 *
 * Also the helpers that keep out of memory apart from bad input (common.h): a shallow copy
 * that fails whole, a UTF-8 check, and what a failed parse was for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define JT_MAX_DEPTH 2048

typedef struct jt_buf {
  char *p;
  size_t len, cap;
  bool failed;
} jt_buf;

static inline bool jt_reserve(jt_buf *b, size_t n) {
  if (b->failed) return false;
  if (b->len + n + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n + 1) cap *= 2;
  char *np = realloc(b->p, cap);
  if (!np) {
    b->failed = true;
    return false;
  }
  b->p = np;
  b->cap = cap;
  return true;
}

static inline void jt_put(jt_buf *b, const char *s, size_t n) {
  if (!jt_reserve(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static inline void jt_ch(jt_buf *b, char c) {
  if (!jt_reserve(b, 1)) return;
  b->p[b->len++] = c;
}

static void jt_string(jt_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF"; /* jansson's case */
  jt_ch(b, '"');
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    jt_put(b, s + run, i - run);
    run = i + 1;
    char esc[6] = {'\\', 0};
    size_t en = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      en = 6;
    }
    jt_put(b, esc, en);
  }
  jt_put(b, s + run, n - run);
  jt_ch(b, '"');
}

static void jt_integer(jt_buf *b, json_int_t v) {
  char tmp[24];
  size_t i = sizeof tmp;
  /* negate through unsigned so INT64_MIN is fine */
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do tmp[--i] = (char)('0' + u % 10);
  while ((u /= 10));
  if (v < 0) tmp[--i] = '-';
  jt_put(b, tmp + i, sizeof tmp - i);
}

static void jt_real(jt_buf *b, double d) {
  char tmp[40];
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
    if (strtod(tmp, NULL) == d) break;
  }
  /* jansson's spelling: no '+' or leading zeros in the exponent, ".0" when integral */
  char out[48];
  size_t o = 0;
  bool has_point = false;
  for (int i = 0; i < n; i++) {
    char c = tmp[i];
    if (c == ',') c = '.'; /* a locale's decimal comma */
    if (c == '.' || c == 'e') has_point = true;
    out[o++] = c;
    if (c == 'e') {
      if (tmp[i + 1] == '+') i++;
      else if (tmp[i + 1] == '-') out[o++] = tmp[++i];
      while (tmp[i + 1] == '0' && i + 2 < n) i++;
    }
  }
  if (!has_point) {
    out[o++] = '.';
    out[o++] = '0';
  }
  jt_put(b, out, o);
}

static void jt_value(jt_buf *b, const json_t *v, unsigned depth) {
  if (depth > JT_MAX_DEPTH) {
    b->failed = true;
    return;
  }
  switch (json_typeof(v)) {
  case JSON_NULL: jt_put(b, "null", 4); break;
  case JSON_TRUE: jt_put(b, "true", 4); break;
  case JSON_FALSE: jt_put(b, "false", 5); break;
  case JSON_INTEGER: jt_integer(b, json_integer_value(v)); break;
  case JSON_REAL: jt_real(b, json_real_value(v)); break;
  case JSON_STRING: jt_string(b, json_string_value(v), json_string_length(v)); break;
  case JSON_ARRAY: {
    jt_ch(b, '[');
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
      if (i) jt_ch(b, ',');
      jt_value(b, e, depth + 1);
    }
    jt_ch(b, ']');
    break;
  }
  case JSON_OBJECT: {
    jt_ch(b, '{');
    const char *k;
    json_t *e;
    bool first = true;
    json_object_foreach((json_t *)v, k, e) {
      if (!first) jt_ch(b, ',');
      first = false;
      jt_string(b, k, strlen(k));
      jt_ch(b, ':');
      jt_value(b, e, depth + 1);
    }
    jt_ch(b, '}');
    break;
  }
  }
}

char *json_text(const json_t *v) {
  if (!v) return NULL;
  jt_buf b = {0};
  jt_value(&b, v, 0);
  if (!b.failed && jt_reserve(&b, 0)) {
    b.p[b.len] = '\0';
    return b.p;
  }
  free(b.p);
  return NULL;
}

json_t *json_copy_checked(const json_t *v) {
  json_t *c = json_copy((json_t *)v);
  if (c && ((json_is_object(v) && json_object_size(c) != json_object_size(v)) ||
            (json_is_array(v) && json_array_size(c) != json_array_size(v)))) {
    json_decref(c);
    c = NULL;
  }
  return c;
}


bool json_error_oom(const json_error_t *e) {
  return json_error_code(e) == json_error_out_of_memory || !e->text[0];
}

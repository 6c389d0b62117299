/*
 * helpers.h: small helpers the unit tests share. Everything is static so each test binary
 * gets its own copy; unused ones cost nothing.
 *
 * JSON in tests is written with ' instead of " (tj("{'a':1}")) to keep it readable; the
 * helpers swap them back before parsing. Checks that compare return a bool after printing
 * what differed, so the cmocka assertion at the call site reports the caller's line.
 */
#ifndef AL_TEST_HELPERS_H
#define AL_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses JSON written with ' for ". Fails the test on a syntax error. New reference. */
static inline json_t *tj(const char *text) {
  char *s = strdup(text);
  assert_non_null(s);
  for (char *p = s; *p; p++)
    if (*p == '\'') *p = '"';
  json_error_t e;
  json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
  if (!v) print_error("test JSON does not parse: %s (%s)\n", text, e.text);
  free(s);
  assert_non_null(v);
  return v;
}

/* Compact JSON text of v (key order kept); malloc()ed. */
static inline char *tj_text(const json_t *v) {
  char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  assert_non_null(t);
  return t;
}

/* True when `actual` equals the JSON `expected` (written with ') including key order. */
static inline bool tj_is(const json_t *actual, const char *expected) {
  if (!actual) {
    print_error("expected %s, got NULL\n", expected);
    return false;
  }
  json_t *want = tj(expected);
  char *a = tj_text(actual), *b = tj_text(want);
  bool ok = json_equal(actual, want) && strcmp(a, b) == 0;
  if (!ok) print_error("expected %s\n     got %s\n", b, a);
  free(a);
  free(b);
  json_decref(want);
  return ok;
}

/* The string member `key` of `obj`, or NULL. */
static inline const char *tj_str(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

#endif

/*
 * test_json_text.c: json_text, the library's JSON writer. Apart from reals it must be
 * byte for byte what jansson's compact json_dumps writes (hosts and tests compare text);
 * reals must be the shortest spelling that reads back as the same double. Also the
 * out-of-memory helpers beside it: utf8_valid (contract/utf8.h) must accept exactly what json_stringn
 * accepts, and json_copy_checked must copy whole.
 */
#include "helpers.h"

#include <math.h>

#include "common.h"
#include "contract/utf8.h"

/* json_text and json_dumps agree on `v` (a value without reals). */
static bool same_as_jansson(const json_t *v) {
  char *a = json_text(v);
  char *b = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  bool ok = a && b && strcmp(a, b) == 0;
  if (!ok) fprintf(stderr, "json_text: %s\njansson:   %s\n", a ? a : "(null)", b ? b : "(null)");
  free(a);
  free(b);
  return ok;
}

static void test_matches_jansson(void **state) {
  (void)state;
  const char *cases[] = {
      "null", "true", "false", "0", "-1", "9223372036854775807", "-9223372036854775808",
      "''", "'plain'", "{}", "[]", "[[],{},[[]]]",
      "{'kind':'panel','children':[{'kind':'text','text':'Counter: 1'},{'kind':'row','children':[]}]}",
      "{'z':1,'a':2,'m':{'y':[1,2,3],'b':null}}",
      "'quote \\\" backslash \\\\ slash / nl \\n cr \\r tab \\t bs \\b ff \\f'",
      "'ctl \\u0001 \\u001f del \\u007f'", "'utf8 \\u00e9 \\u20ac \\ud83d\\ude00'",
      "{'k\\\"ey\\n':'v'}",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *v = tj(cases[i]);
    assert_true(same_as_jansson(v));
    json_decref(v);
  }
  /* an embedded NUL in a string value */
  json_t *s = json_stringn("a\0b", 3);
  assert_true(same_as_jansson(s));
  json_decref(s);
}

static void test_reals_shortest_round_trip(void **state) {
  (void)state;
  struct { double d; const char *want; } cases[] = {
      {0.1, "0.1"}, {-2.5, "-2.5"}, {1.0 / 3.0, "0.3333333333333333"}, {1e300, "1e300"},
      {1e-7, "1e-7"}, {-1.5e-300, "-1.5e-300"}, {3.0, "3.0"}, {1e21, "1e21"}, {123.456, "123.456"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *v = json_real(cases[i].d);
    char *t = json_text(v);
    assert_non_null(t);
    assert_string_equal(t, cases[i].want);
    assert_true(strtod(t, NULL) == cases[i].d);
    /* jansson reads it back as a real with the same value */
    json_t *back = json_loads(t, JSON_DECODE_ANY, NULL);
    assert_true(json_is_real(back));
    assert_true(json_real_value(back) == cases[i].d);
    json_decref(back);
    free(t);
    json_decref(v);
  }
}

static void test_cycle_is_refused(void **state) {
  (void)state;
  json_t *a = json_array(), *b = json_array();
  json_array_append(a, b);
  json_array_append(b, a); /* jansson lets an indirect cycle through */
  assert_null(json_text(a));
  json_array_clear(b);
  json_decref(a);
  json_decref(b);
  assert_null(json_text(NULL));
}

/* utf8_valid agrees with json_stringn (which it stands in for when telling bad
 * input from out of memory) on every 1- and 2-byte string, and on the edges of the longer
 * forms: overlongs, surrogates, the last code point, past it, truncations. */
static void test_utf8_valid_matches_jansson(void **state) {
  (void)state;
  char b[4];
  for (unsigned i = 0; i < 256; i++) {
    b[0] = (char)i;
    json_t *s = json_stringn(b, 1);
    assert_int_equal(utf8_valid(b, 1), s != NULL);
    json_decref(s);
    for (unsigned j = 0; j < 256; j++) {
      b[1] = (char)j;
      s = json_stringn(b, 2);
      if (utf8_valid(b, 2) != (s != NULL)) fail_msg("bytes %02x %02x: jansson %d", i, j, s != NULL);
      json_decref(s);
    }
  }
  static const char *const cases[] = {
      "\xe0\x80\x80", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
      "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x80\x80\x80", "\xf0\x90\x80\x80",
      "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82", "\xf0\x9f\x98",
      "a\xe2\x82\xac" "b", "\xf0\x9f\x98\x80\x80",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = strlen(cases[i]);
    json_t *s = json_stringn(cases[i], n);
    if (utf8_valid(cases[i], n) != (s != NULL)) fail_msg("case %zu: jansson %d", i, s != NULL);
    json_decref(s);
  }
  assert_true(utf8_valid("a\0b", 3)); /* NUL inside is allowed, as by json_stringn */
}

static void test_copy_checked(void **state) {
  (void)state;
  json_t *o = tj("{'a':1,'b':[1,2],'c':{'d':null}}");
  json_t *c = json_copy_checked(o);
  assert_true(json_equal(o, c));
  assert_ptr_equal(json_object_get(o, "b"), json_object_get(c, "b")); /* shallow */
  json_decref(c);
  json_t *a = json_object_get(o, "b");
  c = json_copy_checked(a);
  assert_true(json_equal(a, c));
  json_decref(c);
  json_decref(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_jansson),
      cmocka_unit_test(test_reals_shortest_round_trip),
      cmocka_unit_test(test_cycle_is_refused),
      cmocka_unit_test(test_utf8_valid_matches_jansson),
      cmocka_unit_test(test_copy_checked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

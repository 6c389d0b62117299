/* test_utf8.c: the UTF-8 module (contract/utf8.h): what decodes, what a cut keeps, and
 * what utf8_json makes of text that does not decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "contract/utf8.h"

static size_t dec(const char *s, size_t n, uint32_t *cp) { return utf8_decode((const unsigned char *)s, n, cp); }

static void test_decode(void **st) {
  (void)st;
  uint32_t cp = 0;
  assert_int_equal(dec("A", 1, &cp), 1);
  assert_int_equal(cp, 'A');
  assert_int_equal(dec("\0", 1, &cp), 1); /* a NUL decodes; refusing it is the caller's */
  assert_int_equal(cp, 0);
  assert_int_equal(dec("\xC3\xA9", 2, &cp), 2);
  assert_int_equal(cp, 0xE9);
  assert_int_equal(dec("\xE2\x80\xAE", 3, &cp), 3);
  assert_int_equal(cp, 0x202E);
  assert_int_equal(dec("\xF0\x9F\x98\x80", 4, &cp), 4);
  assert_int_equal(cp, 0x1F600);
  assert_int_equal(dec("\xF4\x8F\xBF\xBF", 4, &cp), 4); /* U+10FFFF, the last */
  assert_int_equal(cp, 0x10FFFF);
  cp = 7;
  assert_int_equal(dec("\xF4\x90\x80\x80", 4, &cp), 0); /* past U+10FFFF */
  assert_int_equal(cp, 7);                               /* untouched on failure */
  assert_int_equal(dec("\xC0\xAF", 2, NULL), 0);         /* overlong '/' */
  assert_int_equal(dec("\xE0\x80\xAF", 3, NULL), 0);     /* overlong, 3 bytes */
  assert_int_equal(dec("\xF0\x8F\xBF\xBF", 4, NULL), 0); /* overlong, 4 bytes */
  assert_int_equal(dec("\xED\xA0\x80", 3, NULL), 0);     /* a surrogate, as QuickJS writes one */
  assert_int_equal(dec("\xC3\xA9", 1, NULL), 0);         /* truncated by n */
  assert_int_equal(dec("\xC3(", 2, NULL), 0);            /* bad continuation */
  assert_int_equal(dec("\x80", 1, NULL), 0);             /* stray continuation */
  assert_int_equal(dec("\xF8\x88\x80\x80\x80", 5, NULL), 0);
  assert_int_equal(dec("\xFF", 1, NULL), 0);
  assert_int_equal(dec("x", 0, NULL), 0);
}

static void test_valid(void **st) {
  (void)st;
  assert_true(utf8_valid("", 0));
  assert_true(utf8_valid("caf\xC3\xA9 \xF0\x9F\x98\x80", 10));
  assert_true(utf8_valid("a\0b", 3));
  assert_false(utf8_valid("ok\xED\xBF\xBF", 5));
  assert_false(utf8_valid("ok\xC3", 3));
  /* each answer agrees with jansson's, which every JSON message must pass */
  static const char *const samples[] = {"plain", "\xC3\xA9", "\xED\xA0\x80", "\xC0\x80", "\xE2\x82", "\xF4\x90\x80\x80"};
  for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
    json_t *j = json_stringn(samples[i], strlen(samples[i]));
    assert_int_equal(utf8_valid(samples[i], strlen(samples[i])), j != NULL);
    json_decref(j);
  }
}

static void test_cut(void **st) {
  (void)st;
  const char *s = "ab\xC3\xA9" "cd"; /* 6 bytes, the 'e acute' at 2..3 */
  assert_int_equal(utf8_cut(s, 6, 10), 6);
  assert_int_equal(utf8_cut(s, 6, 6), 6);
  assert_int_equal(utf8_cut(s, 6, 4), 4);
  assert_int_equal(utf8_cut(s, 6, 3), 2); /* not inside the character */
  assert_int_equal(utf8_cut(s, 6, 2), 2);
  assert_int_equal(utf8_cut(s, 6, 0), 0);
  assert_int_equal(utf8_cut("\x80\x80\x80", 3, 2), 0);
}

static void is_json(const char *in, size_t n, size_t max, const char *want) {
  json_t *j = utf8_json(in, n, max);
  assert_non_null(j);
  assert_int_equal(json_string_length(j), strlen(want));
  assert_memory_equal(json_string_value(j), want, strlen(want));
  json_decref(j);
}

static void test_json(void **st) {
  (void)st;
  is_json("plain", 5, 100, "plain");
  is_json("plain", 5, 3, "pla");
  is_json("caf\xC3\xA9", 5, 4, "caf");                                  /* the cut keeps whole characters */
  is_json("a\xFF" "b", 3, 100, "a\xEF\xBF\xBD" "b");                     /* one bad byte, one U+FFFD */
  is_json("x\xED\xA0\x80y", 5, 100, "x\xEF\xBF\xBDy");                   /* a surrogate goes whole */
  is_json("\xF0\x9F\x98", 3, 100, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* broken: byte by byte */
  is_json("", 0, 0, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode),
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_cut),
      cmocka_unit_test(test_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_term_text.c: tt_escape and tt_fputs, the terminal escaper (contract/term_text.h).
 * Each case is an exact expected output, so a rule that stops escaping (or starts
 * mangling text that should pass) fails by name; every case is also run through tt_fputs
 * into a memory stream, which must write the very same bytes.
 *
 * No out-of-memory test: tt_escape calls the C library's realloc directly and the project
 * has no allocator hook or failing-allocator helper to make it fail on demand. Forcing a
 * failure from outside (RLIMIT_AS, a huge input) would break under ASan's shadow memory
 * or depend on the machine's overcommit, i.e. a test that passes without exercising the
 * path. The OOM branch is short (free what was built, return NULL) and its callers
 * handle NULL (cli_e prints "?", the default logger falls back to tt_fputs).
 */
#include "helpers.h"

#include "contract/term_text.h"

/* What tt_fputs writes for s; malloc()ed. */
static char *via_fputs(const char *s, bool keep_newlines) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  tt_fputs(s, keep_newlines, f);
  assert_int_equal(fclose(f), 0);
  assert_non_null(buf);
  return buf;
}

/* Both forms of the escaper turn `in` into exactly `want`. */
static bool escapes_to(const char *in, bool keep_newlines, const char *want) {
  char *a = tt_escape(in, keep_newlines), *b = via_fputs(in, keep_newlines);
  bool ok = a && strcmp(a, want) == 0 && strcmp(b, want) == 0;
  if (!ok) print_error("want \"%s\"\n tt_escape \"%s\"\n tt_fputs \"%s\"\n", want, a ? a : "(null)", b);
  free(a);
  free(b);
  return ok;
}

/* Text that passes comes back unchanged. */
static bool passes(const char *in) { return escapes_to(in, false, in); }

static void test_escape_sequences(void **state) {
  (void)state;
  /* the screen clear and a colour: ESC is shown, the rest of the sequence is plain text */
  assert_true(escapes_to("\x1b[2J", false, "\\x1b[2J"));
  assert_true(escapes_to("ok\x1b[31mred\x1b[0m", false, "ok\\x1b[31mred\\x1b[0m"));
  /* OSC: retitle the window, terminated by BEL or by ST (ESC \) */
  assert_true(escapes_to("\x1b]0;pwned\x07", false, "\\x1b]0;pwned\\x07"));
  assert_true(escapes_to("\x1b]52;c;aGk=\x1b\\", false, "\\x1b]52;c;aGk=\\x1b\\"));
}

static void test_c0_and_del(void **state) {
  (void)state;
  assert_true(escapes_to("denied\rallowed", false, "denied\\x0dallowed"));
  assert_true(escapes_to("a\x7f" "b", false, "a\\x7fb"));
  assert_true(escapes_to("\x08\x0b\x0c\x01\x1f", false, "\\x08\\x0b\\x0c\\x01\\x1f"));
  /* TAB passes; LF passes only when kept */
  assert_true(passes("a\tb"));
  assert_true(escapes_to("one\ntwo", true, "one\ntwo"));
  assert_true(escapes_to("one\ntwo", false, "one\\x0atwo"));
  /* keep_newlines keeps LF alone: CR is escaped either way */
  assert_true(escapes_to("one\r\ntwo", true, "one\\x0d\ntwo"));
  /* every single byte: printable ASCII and TAB pass, other C0 and all of 0x7F..0xFF
   * (alone, none starts a complete sequence) are \xNN */
  for (int c = 1; c < 256; c++) {
    char in[2] = {(char)c, 0}, want[8];
    if ((c >= 0x20 && c < 0x7F) || c == '\t') snprintf(want, sizeof want, "%c", c);
    else snprintf(want, sizeof want, "\\x%02x", c);
    assert_true(escapes_to(in, false, want));
  }
}

static void test_c1_and_bidi(void **state) {
  (void)state;
  /* C1 controls, as UTF-8 (U+009B is CSI, which some terminals honour like ESC [) */
  assert_true(escapes_to("\xc2\x9b" "2J", false, "\\u009b2J"));
  assert_true(escapes_to("\xc2\x80\xc2\x9f", false, "\\u0080\\u009f"));
  /* right-to-left override, the other embeddings/overrides and the isolates */
  assert_true(escapes_to("abc\xe2\x80\xae" "fed", false, "abc\\u202efed"));
  assert_true(escapes_to("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", false,
                         "\\u202a\\u202b\\u202c\\u202d"));
  assert_true(escapes_to("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", false,
                         "\\u2066\\u2067\\u2068\\u2069"));
  /* bidi marks, separators and invisible format characters (issue 16: "invisible marks") */
  assert_true(escapes_to("\xd8\x9c\xe2\x80\x8e\xe2\x80\x8f", false, "\\u061c\\u200e\\u200f"));
  assert_true(escapes_to("r\xe2\x80\x8bm", false, "r\\u200bm"));
  assert_true(escapes_to("\xe2\x80\xa8\xe2\x80\xa9", false, "\\u2028\\u2029"));
  assert_true(escapes_to("\xe2\x81\xa0\xe2\x81\xa4\xe2\x81\xaa\xe2\x81\xaf\xef\xbb\xbf", false,
                         "\\u2060\\u2064\\u206a\\u206f\\ufeff"));
  /* their neighbours are ordinary text, and so are the joiners scripts and emoji need */
  assert_true(passes("\xc2\xa0"));     /* U+00A0 no-break space */
  assert_true(passes("\xe2\x80\x8c\xe2\x80\x8d")); /* U+200C, U+200D */
  assert_true(passes("\xe2\x80\xa7")); /* U+2027, below the separators */
  assert_true(passes("\xe2\x80\xaf")); /* U+202F, above the embeddings */
  assert_true(passes("\xe2\x81\xa5")); /* U+2065, between the invisible operators and the isolates */
  assert_true(passes("\xe2\x81\xb0")); /* U+2070, above them */
  assert_true(passes("\xef\xbb\xbe")); /* U+FEFE */
}

static void test_invalid_utf8(void **state) {
  (void)state;
  assert_true(escapes_to("a\xff" "b", false, "a\\xffb"));
  assert_true(escapes_to("\x80", false, "\\x80")); /* a continuation byte alone */
  /* a truncated sequence must not swallow the ESC after it: each byte is judged alone */
  assert_true(escapes_to("\xe2\x82\x1b[2J", false, "\\xe2\\x82\\x1b[2J"));
  assert_true(escapes_to("\xf0\x9f\x98\x1b", false, "\\xf0\\x9f\\x98\\x1b"));
  assert_true(escapes_to("\xc3", false, "\\xc3")); /* cut off by the end of the string */
  /* overlong forms (of '/', NUL and U+00AF), which a lax decoder turns into ASCII */
  assert_true(escapes_to("\xc0\xaf", false, "\\xc0\\xaf"));
  assert_true(escapes_to("\xc0\x80", false, "\\xc0\\x80"));
  assert_true(escapes_to("\xe0\x80\xaf", false, "\\xe0\\x80\\xaf"));
  assert_true(escapes_to("\xf0\x80\x80\xaf", false, "\\xf0\\x80\\x80\\xaf"));
  /* an overlong ESC is not an ESC to pass on either */
  assert_true(escapes_to("\xc0\x9b", false, "\\xc0\\x9b"));
  /* UTF-16 surrogates and code points past U+10FFFF */
  assert_true(escapes_to("\xed\xa0\x80", false, "\\xed\\xa0\\x80"));
  assert_true(escapes_to("\xed\xbf\xbf", false, "\\xed\\xbf\\xbf"));
  assert_true(escapes_to("\xf4\x90\x80\x80", false, "\\xf4\\x90\\x80\\x80"));
  assert_true(escapes_to("\xf8\x88\x80\x80\x80", false, "\\xf8\\x88\\x80\\x80\\x80"));
}

static void test_valid_text_passes(void **state) {
  (void)state;
  assert_true(passes(""));
  assert_true(passes("plain ASCII, with punctuation: [x] {y} \\ ~"));
  assert_true(passes("caf\xc3\xa9"));                         /* é */
  assert_true(passes("\xe2\x82\xac 5"));                      /* € */
  assert_true(passes("\xf0\x9f\x98\x80 grin"));               /* U+1F600 */
  assert_true(passes("\xed\x9f\xbf\xee\x80\x80"));            /* U+D7FF, U+E000: around the surrogates */
  assert_true(passes("\xf4\x8f\xbf\xbf"));                    /* U+10FFFF */
  assert_true(passes("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"));   /* Hebrew: right-to-left by itself, fine */
  /* mixed: only the controls change */
  assert_true(escapes_to("caf\xc3\xa9\x1b[2J\xf0\x9f\x98\x80", false, "caf\xc3\xa9\\x1b[2J\xf0\x9f\x98\x80"));
}

static void test_null_and_streams(void **state) {
  (void)state;
  char *t = tt_escape(NULL, false);
  assert_non_null(t);
  assert_string_equal(t, "");
  free(t);
  t = via_fputs(NULL, true);
  assert_string_equal(t, "");
  free(t);
  tt_fputs("ignored", false, NULL); /* no stream: nothing happens */
}

static void test_growth(void **state) {
  (void)state;
  /* many escapes and long runs, past any first allocation, in both orders */
  enum { N = 10000 };
  char *in = malloc(2 * N + 1), *want = malloc(5 * N + 1);
  assert_non_null(in);
  assert_non_null(want);
  size_t w = 0;
  for (size_t i = 0; i < N; i++) {
    in[2 * i] = '\x1b';
    in[2 * i + 1] = (char)('a' + i % 26);
    memcpy(want + w, "\\x1b", 4);
    want[w + 4] = (char)('a' + i % 26);
    w += 5;
  }
  in[2 * N] = 0;
  want[w] = 0;
  assert_true(escapes_to(in, false, want));
  memset(in, 'z', 2 * N);
  in[2 * N - 1] = '\r';
  char *out = tt_escape(in, false);
  assert_non_null(out);
  assert_int_equal(strlen(out), 2 * N - 1 + 4);
  assert_string_equal(out + 2 * N - 1, "\\x0d");
  free(out);
  free(in);
  free(want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escape_sequences), cmocka_unit_test(test_c0_and_del),
      cmocka_unit_test(test_c1_and_bidi),      cmocka_unit_test(test_invalid_utf8),
      cmocka_unit_test(test_valid_text_passes), cmocka_unit_test(test_null_and_streams),
      cmocka_unit_test(test_growth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

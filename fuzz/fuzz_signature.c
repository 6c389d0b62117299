/* fuzz_signature.c: arbitrary bytes as npm's registry keys document and `npm view` output
 * through the registry signature check (signature.h), and through the ISO time parser.
 * Input: the keys document, a NUL byte, the view output (no NUL: no keys document, all of
 * it is the view). Properties: an outcome always comes back and has one of the documented
 * shapes; "none" exactly when no signature was offered; "verified" only for an offered
 * signature, naming its key id; a time that parses round-trips through gmtime. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_check.h"
#include "pkg/signature.h"

#define INTEG "sha512-kBAuxBQJlJ85LDc+SnGSX6gWJnJR9Qk4lbgXmz/qPfCOCieCk7BgoN3YvzoNr5BUjqxQDOQxawJJvXXd6c+6Mg=="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *d = (const char *)data;
  const char *nul = memchr(d, 0, size);
  const char *keys = nul ? d : NULL, *view = nul ? nul + 1 : d;
  size_t keys_len = nul ? (size_t)(nul - d) : 0, view_len = nul ? size - keys_len - 1 : size;
  bool offered = pkg_sig_registry_offered(view, view_len);
  json_t *o = pkg_sig_registry_check(keys, keys_len, keys ? NULL : "none given", view, view_len, "hello", "1.0.0", INTEG);
  CHECK(o);
  const char *st = json_string_value(json_object_get(o, "status"));
  CHECK(st);
  if (strcmp(st, "verified")) CHECK(json_string_value(json_object_get(o, "reason")));
  if (!strcmp(st, "verified")) {
    CHECK(offered && json_string_value(json_object_get(o, "keyid")));
  } else if (!strcmp(st, "none")) {
    CHECK(!offered);
  } else {
    CHECK(!strcmp(st, "failed"));
    const char *pb = json_string_value(json_object_get(o, "problem"));
    static const char *const problems[] = {"bad-signature", "unknown-key", "expired-key", "unsupported-key",
                                           "no-keys", "unreadable"};
    bool known = false;
    for (size_t i = 0; pb && i < sizeof problems / sizeof *problems; i++) known |= !strcmp(pb, problems[i]);
    CHECK(known);
    /* an offered signature fails for a reason about it; one not offered only as unreadable */
    if (!offered) CHECK(!strcmp(pb, "unreadable"));
  }
  json_decref(o);
  /* the view bytes as a time */
  char t[64];
  size_t n = view_len < sizeof t - 1 ? view_len : sizeof t - 1;
  memcpy(t, view, n);
  t[n] = 0;
  int64_t ms;
  if (pkg_sig_parse_time(t, &ms)) {
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    CHECK(gmtime_r(&s, &tm) != NULL);
    CHECK(tm.tm_year + 1900 >= -1 && tm.tm_year + 1900 <= 10001);
  }
  return 0;
}

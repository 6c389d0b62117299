/* fuzz_wants.c: arbitrary bytes through a pi package's wants derivation (pkg/wants.h) and
 * preflight's pi profile, the two scans `airlock plugin install` runs on a pi package's
 * untrusted sources. Every want must be a known capability with a non-empty pattern and
 * a location inside the input, (cap, pattern) pairs must be unique, at most
 * PKG_WANTS_MAX kept (the rest counted), a derived pattern the install would grant must
 * pass the same check as a user's, and the pi report's `blocked` must be exactly "some
 * block finding". */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "pkg/install.h"
#include "pkg/preflight.h"
#include "pkg/wants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t lines = 1;
  for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
  json_t *w = json_array();
  CHECK(w);
  size_t dropped = 0;
  CHECK(pkg_wants_scan("f.ts", (const char *)data, size, w, &dropped, NULL) == 0);
  CHECK(json_array_size(w) <= PKG_WANTS_MAX);
  CHECK(!dropped || json_array_size(w) == PKG_WANTS_MAX);
  size_t i, j;
  json_t *e, *o;
  json_array_foreach(w, i, e) {
    const char *cap = json_string_value(json_object_get(e, "cap"));
    const char *pat = json_string_value(json_object_get(e, "pattern"));
    CHECK(pkg_wants_cap_known(cap) && pat && pat[0]);
    json_int_t line = json_integer_value(json_object_get(e, "line")), col = json_integer_value(json_object_get(e, "column"));
    CHECK(line >= 1 && (size_t)line <= lines && col >= 1 && (size_t)col <= size + 1);
    CHECK(json_is_boolean(json_object_get(e, "broad")));
    /* the broad patterns are always grantable */
    if (json_is_true(json_object_get(e, "broad"))) CHECK(pkg_pi_pattern_check(cap, pat, NULL) == 0);
    else (void)pkg_pi_pattern_check(cap, pat, NULL); /* derived literals may be refused, never crash */
    json_array_foreach(w, j, o) {
      if (j <= i) continue;
      CHECK(strcmp(cap, json_string_value(json_object_get(o, "cap"))) ||
            strcmp(pat, json_string_value(json_object_get(o, "pattern"))));
    }
  }
  char *text = pkg_wants_text(w);
  CHECK(text);
  free(text);
  json_decref(w);

  json_t *r = NULL;
  CHECK(pkg_preflight_profile((const char *)data, size, NULL, "pi", &r, NULL) == 0);
  bool want_blocked = false;
  json_array_foreach(json_object_get(r, "findings"), i, e) {
    const char *sev = json_string_value(json_object_get(e, "severity"));
    CHECK(sev && (!strcmp(sev, "warn") || !strcmp(sev, "block")));
    CHECK(!json_object_get(e, "allowed")); /* nothing is allowed for pi: no manifest */
    if (!strcmp(sev, "block")) want_blocked = true;
  }
  CHECK(json_is_true(json_object_get(r, "blocked")) == want_blocked);
  al_error err;
  CHECK((pkg_preflight_error(r, &err) == AL_EPREFLIGHT_BLOCKED) == want_blocked);
  json_decref(r);
  return 0;
}

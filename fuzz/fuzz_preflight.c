/* fuzz_preflight.c: arbitrary bytes through the preflight tokenizer and rules, without a
 * manifest and with one that allows every blocking pattern and declares every capability.
 * Findings must point inside the input (1-based line and column), `blocked` must be
 * exactly "some block finding not allowed", nothing may block under the allow-all
 * manifest, and pkg_preflight_error must agree with `blocked`. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "pkg/preflight.h"


static pkg_manifest *allow_all;

static void check_report(const json_t *r, size_t lines, size_t size) {
  CHECK(json_is_object(r));
  bool want_blocked = false;
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(r, "findings"), i, f) {
    json_int_t line = json_integer_value(json_object_get(f, "line")), col = json_integer_value(json_object_get(f, "column"));
    CHECK(line >= 1 && (size_t)line <= lines);
    CHECK(col >= 1 && (size_t)col <= size + 1);
    const char *sev = json_string_value(json_object_get(f, "severity"));
    CHECK(sev && (!strcmp(sev, "warn") || !strcmp(sev, "block")));
    CHECK(json_string_value(json_object_get(f, "rule")) && json_string_value(json_object_get(f, "message")) &&
          json_string_value(json_object_get(f, "remediation")));
    if (!strcmp(sev, "block") && !json_is_true(json_object_get(f, "allowed"))) want_blocked = true;
  }
  CHECK(json_is_true(json_object_get(r, "blocked")) == want_blocked);
  al_error err;
  CHECK((pkg_preflight_error(r, &err) == AL_EPREFLIGHT_BLOCKED) == want_blocked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!allow_all) {
    const char *m = "{\"id\":\"f\",\"version\":\"1.0.0\",\"preflight\":{\"allow\":[\"rm -rf\",\"sudo \",\"chmod 777\","
                    "\"> /dev/sd\",\"mkfs.\",\"dd if=\"]},\"capabilities\":{\"network\":[\"x.com\"],\"kv\":true,"
                    "\"fs_read\":[\"/\"],\"fs_write\":[\"/\"],\"register_tools\":true,\"read_config\":true}}";
    CHECK(pkg_manifest_parse(m, strlen(m), false, true, &allow_all, NULL, NULL) == 0);
  }
  size_t lines = 1;
  for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
  json_t *r = NULL;
  CHECK(pkg_preflight((const char *)data, size, NULL, &r, NULL) == 0);
  check_report(r, lines, size);
  json_decref(r);
  r = NULL;
  CHECK(pkg_preflight((const char *)data, size, allow_all, &r, NULL) == 0);
  check_report(r, lines, size);
  CHECK(!json_is_true(json_object_get(r, "blocked")));
  json_decref(r);
  return 0;
}

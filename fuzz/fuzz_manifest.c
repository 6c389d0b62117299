/* fuzz_manifest.c: arbitrary bytes through the manifest parser, as airlock.json and as
 * package.json, strict and lenient, and through the semver range parser. A manifest that
 * validates must have the shape manifest.h promises, and its validated JSON must validate
 * again to the same document (what the database stores is what the host reads back).
 * A range that anything satisfies must itself be valid. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "pkg/manifest.h"
#include "pkg/semver.h"


static void check_manifest(const pkg_manifest *m) {
  semver v;
  CHECK(pkg_id_valid(m->id));
  CHECK(semver_parse(m->version, &v));
  CHECK(m->entry && m->entry[0] && m->entry[0] != '/');
  CHECK(json_is_object(m->capabilities) && json_is_object(m->settings));
  CHECK(json_is_array(json_object_get(m->shared, "read")) && json_is_array(json_object_get(m->shared, "write")));
  CHECK(json_is_array(m->preflight_allow));
  if (m->engines) CHECK(semver_range_valid(m->engines));
  /* a schema is no valid override; the environment is not read (env_out), and every key
   * it would have supplied is described instead and converts from any text */
  json_t *env = NULL, *resolved = pkg_settings_resolve(m, m->settings, &env);
  CHECK(resolved && json_is_object(resolved) && json_is_object(env));
  const char *key;
  json_t *e;
  json_object_foreach(env, key, e) {
    CHECK(!json_object_get(resolved, key));
    json_decref(pkg_setting_from_env(json_object_get(e, "spec"), "12"));
    json_decref(pkg_setting_from_env(json_object_get(e, "spec"), NULL));
  }
  json_decref(env);
  json_decref(resolved);
  al_error err;
  (void)pkg_manifest_check_engine(m, AL_VERSION, &err);
  /* the validated document validates again, unchanged */
  char *text = json_text(m->json);
  CHECK(text);
  pkg_manifest *again = NULL;
  json_t *w = NULL;
  CHECK(pkg_manifest_parse(text, strlen(text), false, false, &again, &w, &err) == 0);
  CHECK(json_equal(again->json, m->json));
  pkg_manifest_free(again);
  json_decref(w);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int mode = 0; mode < 4; mode++) {
    pkg_manifest *m = NULL;
    json_t *warnings = NULL;
    al_error err;
    int rc = pkg_manifest_parse((const char *)data, size, mode & 1, mode & 2, &m, &warnings, &err);
    if (rc == 0) {
      check_manifest(m);
      if (mode & 2) CHECK(!warnings); /* strict: unknown fields are errors, never warnings */
    } else {
      CHECK(!m && err.code == rc && err.message[0]);
    }
    pkg_manifest_free(m);
    json_decref(warnings);
  }
  if (size < 256) {
    char range[256];
    memcpy(range, data, size);
    range[size] = 0;
    bool valid = semver_range_valid(range);
    static const char *const versions[] = {"0.0.0", "0.1.0", "1.2.3", "1.2.3-rc.1", "2.0.0", "10.20.30"};
    for (size_t i = 0; i < sizeof versions / sizeof *versions; i++)
      if (semver_satisfies(versions[i], range)) CHECK(valid);
    semver a, b;
    if (semver_parse(range, &a)) {
      CHECK(semver_parse("1.2.3", &b));
      CHECK(semver_cmp(&a, &b) == -semver_cmp(&b, &a));
      CHECK(semver_cmp(&a, &a) == 0);
    }
  }
  return 0;
}

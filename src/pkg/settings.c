/*
 * settings.c: a package's settings at run time (manifest.h): whether a value fits its
 * schema entry, converting an environment variable's text to the setting's type, and
 * resolving what a plugin sees: the user's stored override when it fits, else the
 * variable the manifest names (deferred to the read, which the capability chain checks),
 * else the default. The schema itself is validated with the manifest (manifest.c).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pkg/manifest.h"

bool pkg_setting_fits(const json_t *spec, const json_t *v) {
  const char *type = json_string_value(json_object_get(spec, "type"));
  if (!type) return false;
  if (!strcmp(type, "string")) return json_is_string(v);
  if (!strcmp(type, "boolean")) return json_is_boolean(v);
  if (!strcmp(type, "number")) {
    if (!json_is_number(v)) return false;
    double d = json_number_value(v);
    const json_t *mn = json_object_get(spec, "min"), *mx = json_object_get(spec, "max");
    if (mn && d < json_number_value(mn)) return false;
    if (mx && d > json_number_value(mx)) return false;
    return true;
  }
  if (!strcmp(type, "enum")) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(spec, "values"), i, e) if (json_equal(e, v)) return true;
  }
  return false;
}

int pkg_setting_check(const pkg_manifest *m, const char *key, const json_t *value, al_error *err) {
  char path[200];
  snprintf(path, sizeof path, "settings.%.150s", key ? key : "");
  const json_t *spec = m && key ? json_object_get(m->settings, key) : NULL;
  if (!spec) return err_set(err, AL_EINVALID_ARGUMENT, path, "%s: no such setting in %s's manifest", path, m ? m->id : "the");
  if (!pkg_setting_fits(spec, value)) {
    const char *type = json_string_value(json_object_get(spec, "type"));
    return err_set(err, AL_EINVALID_ARGUMENT, path, "%s: not a valid %s%s", path, type,
                  !strcmp(type, "enum") ? " (must be one of values)" : !strcmp(type, "number") ? " (within min/max)" : "");
  }
  return 0;
}

/* An environment string converted to the setting's type, or NULL when it does not fit. */
static json_t *mf_from_env(const json_t *spec, const char *s) {
  const char *type = json_string_value(json_object_get(spec, "type"));
  json_t *v = NULL;
  if (!strcmp(type, "string") || !strcmp(type, "enum")) v = json_string(s);
  else if (!strcmp(type, "boolean")) {
    if (!strcasecmp(s, "true") || !strcmp(s, "1")) v = json_true();
    else if (!strcasecmp(s, "false") || !strcmp(s, "0")) v = json_false();
  } else {
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*s && !*end && !errno && isfinite(d)) v = json_real(d);
    if (v && d > -9e15 && d < 9e15 && d == (double)(json_int_t)d) {
      json_decref(v);
      v = json_integer((json_int_t)d);
    }
  }
  if (v && !pkg_setting_fits(spec, v)) {
    json_decref(v);
    v = NULL;
  }
  return v;
}

json_t *pkg_setting_from_env(const json_t *spec, const char *text) {
  json_t *v = text ? mf_from_env(spec, text) : NULL;
  if (v) return v;
  json_t *def = json_object_get(spec, "default");
  return def ? json_incref(def) : NULL;
}

json_t *pkg_settings_resolve(const pkg_manifest *m, const json_t *stored, json_t **env_out) {
  json_t *out = json_object();
  if (env_out && !(*env_out = json_object())) {
    json_decref(out);
    return NULL;
  }
  if (!out || !m) return out;
  const char *key;
  json_t *spec;
  json_object_foreach(m->settings, key, spec) {
    json_t *s = stored ? json_object_get(stored, key) : NULL;
    if (s && pkg_setting_fits(spec, s)) {
      json_object_set(out, key, s);
      continue;
    }
    const char *env = json_string_value(json_object_get(spec, "env"));
    if (env && env_out) {
      /* Deferred, default included: a default here would answer before the check. */
      if (json_object_set_new(*env_out, key, json_pack("{s:s,s:O}", "env", env, "spec", spec))) {
        json_decref(out);
        json_decref(*env_out);
        *env_out = NULL;
        return NULL;
      }
      continue;
    }
    json_t *v = pkg_setting_from_env(spec, env ? getenv(env) : NULL);
    if (v) json_object_set_new(out, key, v);
  }
  return out;
}

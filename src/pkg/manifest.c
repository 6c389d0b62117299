/*
 * manifest.c: parsing and validating a package manifest (manifest.h).
 *
 * One walk over the JSON object, field by field, with a table of the known fields; each
 * checker names the field's full path ("manifest.capabilities.network[2]") and the rule
 * it broke. The validated object is kept whole (m->json) and the typed fields point into
 * it, so what the database stores and what the host reads are the same document.
 */
#define _GNU_SOURCE
#include "pkg/manifest.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pkg/paths.h"
#include "pkg/semver.h"

#define MF_BAD(err, path, ...) err_set((err), AL_EINVALID_ARGUMENT, (path), __VA_ARGS__)

/* The blocking preflight patterns (hooks-and-security.md sec. 5); preflight.allow may
 * only name these. Kept in the same order as preflight.c's table. */
static const char *const mf_block_patterns[] = {"rm -rf", "sudo ", "chmod 777", "> /dev/sd", "mkfs.",
                                                "dd if="};

bool pkg_id_valid(const char *id) {
  if (!id) return false;
  size_t n = strlen(id);
  if (n == 0 || n > PKG_ID_MAX) return false;
  const char *name = id;
  if (id[0] == '@') { /* @scope/name: both parts follow the name rule */
    const char *slash = strchr(id, '/');
    if (!slash || slash == id + 1) return false;
    for (const char *p = id + 1; p < slash; p++)
      if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'))
        return false;
    if (!(islower((unsigned char)id[1]) || isdigit((unsigned char)id[1]))) return false;
    name = slash + 1;
  }
  if (!(islower((unsigned char)name[0]) || isdigit((unsigned char)name[0]))) return false;
  for (const char *p = name; *p; p++)
    if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'))
      return false;
  return true;
}

/* Adds "path: unknown field" to warnings, or fails in strict mode. */
static int mf_unknown(const char *path, bool strict, json_t **warnings, al_error *err) {
  if (strict) return MF_BAD(err, path, "%s: unknown field", path);
  if (warnings) {
    if (!*warnings) *warnings = json_array();
    char msg[300];
    snprintf(msg, sizeof msg, "%s: unknown field (ignored)", path);
    json_array_append_new(*warnings, json_string(msg));
  }
  return 0;
}

static int mf_string(const json_t *v, const char *path, al_error *err) {
  if (!json_is_string(v)) return MF_BAD(err, path, "%s: must be a string", path);
  return 0;
}

/* An array of non-empty strings; `check` (may be NULL) validates each element. */
static int mf_strings(const json_t *v, const char *path, bool (*check)(const char *), const char *rule,
                      al_error *err) {
  if (!json_is_array(v)) return MF_BAD(err, path, "%s: must be an array of strings", path);
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    char p[320];
    snprintf(p, sizeof p, "%.280s[%zu]", path, i);
    if (!json_is_string(e) || !json_string_length(e))
      return MF_BAD(err, p, "%s: must be a non-empty string", p);
    if (check && !check(json_string_value(e)))
      return MF_BAD(err, p, "%s: '%.100s' %s", p, json_string_value(e), rule);
  }
  return 0;
}

/* entry: relative, inside the package: no absolute path, no `..` segment, no backslash. */
static bool mf_entry_ok(const char *e) {
  if (!e[0] || e[0] == '/' || strchr(e, '\\')) return false;
  const char *s = e;
  for (;;) {
    size_t n = strcspn(s, "/");
    if (n == 2 && s[0] == '.' && s[1] == '.') return false;
    if (!s[n]) break;
    s += n + 1;
  }
  return true;
}

/* A host pattern: host or host:port, no scheme, path, userinfo or spaces. */
static bool mf_host_ok(const char *h) {
  if (!h[0] || strstr(h, "://")) return false;
  for (const char *p = h; *p; p++)
    if (isspace((unsigned char)*p) || *p == '/' || *p == '@' || *p == '?' || *p == '#' || (unsigned char)*p < 0x20)
      return false;
  return true;
}

/* An fs path pattern: absolute, or starting with $PLUGIN_DATA, $HOME or $CWD. */
static bool mf_path_ok(const char *p) {
  if (p[0] == '/') return true;
  static const char *const vars[] = {"$PLUGIN_DATA", "$HOME", "$CWD"};
  for (size_t i = 0; i < 3; i++) {
    size_t n = strlen(vars[i]);
    if (!strncmp(p, vars[i], n) && (p[n] == 0 || p[n] == '/')) return true;
  }
  return false;
}

static bool mf_env_name_ok(const char *s) {
  if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
  for (const char *p = s; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_')) return false;
  return true;
}

static int mf_capabilities(json_t *caps, bool strict, json_t **warnings, al_error *err) {
  if (!json_is_object(caps)) return MF_BAD(err, "manifest.capabilities", "manifest.capabilities: must be an object");
  static const char *const lists[] = {"events", "network", "fs_read", "fs_write", "env_vars"};
  static const char *const flags[] = {"kv", "register_tools", "read_config"};
  const char *key;
  json_t *v, *tmp;
  json_object_foreach_safe(caps, tmp, key, v) {
    char path[300];
    snprintf(path, sizeof path, "manifest.capabilities.%s", key);
    int rc = 0;
    bool known = false;
    for (size_t i = 0; i < 5 && !known; i++) {
      if (strcmp(key, lists[i])) continue;
      known = true;
      if (!strcmp(key, "network")) rc = mf_strings(v, path, mf_host_ok, "is not a host pattern (host or host:port, no scheme or path)", err);
      else if (!strncmp(key, "fs_", 3)) rc = mf_strings(v, path, mf_path_ok, "must be an absolute path or start with $PLUGIN_DATA, $HOME or $CWD", err);
      else if (!strcmp(key, "env_vars")) rc = mf_strings(v, path, mf_env_name_ok, "is not an environment variable name", err);
      else rc = mf_strings(v, path, NULL, NULL, err);
    }
    for (size_t i = 0; i < 3 && !known; i++) {
      if (strcmp(key, flags[i])) continue;
      known = true;
      if (!json_is_boolean(v)) rc = MF_BAD(err, path, "%s: must be true or false", path);
    }
    if (!known) {
      rc = mf_unknown(path, strict, warnings, err);
      if (!rc) json_object_del(caps, key); /* an unknown capability grants nothing */
    }
    if (rc) return rc;
  }
  return 0;
}

static int mf_shared(json_t *shared, bool strict, json_t **warnings, al_error *err) {
  if (!json_is_object(shared)) return MF_BAD(err, "manifest.shared", "manifest.shared: must be an object {read, write}");
  const char *key;
  json_t *v;
  json_object_foreach(shared, key, v) {
    char path[300];
    snprintf(path, sizeof path, "manifest.shared.%s", key);
    if (!strcmp(key, "read") || !strcmp(key, "write")) {
      int rc = mf_strings(v, path, NULL, NULL, err);
      if (rc) return rc;
    } else {
      int rc = mf_unknown(path, strict, warnings, err);
      if (rc) return rc;
    }
  }
  if (!json_object_get(shared, "read")) json_object_set_new(shared, "read", json_array());
  if (!json_object_get(shared, "write")) json_object_set_new(shared, "write", json_array());
  return 0;
}

static int mf_limits(const json_t *lim, al_limits *out, bool strict, json_t **warnings, al_error *err) {
  if (!json_is_object(lim)) return MF_BAD(err, "manifest.limits", "manifest.limits: must be an object");
  static const struct { const char *name; json_int_t max; } rows[] = {
      {"memoryMiB", 65536}, {"stackKiB", 1048576}, {"loadMs", 86400000}, {"renderMs", 86400000}, {"eventMs", 86400000}};
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)lim, key, v) {
    char path[300];
    snprintf(path, sizeof path, "manifest.limits.%s", key);
    size_t i;
    for (i = 0; i < 5 && strcmp(key, rows[i].name); i++) {}
    if (i == 5) {
      int rc = mf_unknown(path, strict, warnings, err);
      if (rc) return rc;
      continue;
    }
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    if (json_is_real(v)) { /* 8.0 is 8; range first, the cast is undefined out of range */
      double d = json_real_value(v);
      if (d >= 1 && d <= (double)rows[i].max && d == (double)(json_int_t)d) n = (json_int_t)d;
    }
    if (n < 1 || n > rows[i].max)
      return MF_BAD(err, path, "%s: must be an integer from 1 to %lld", path, (long long)rows[i].max);
    switch (i) {
    case 0: out->memory_bytes = (size_t)n << 20; break;
    case 1: out->stack_bytes = (size_t)n << 10; break;
    case 2: out->load_ms = (uint32_t)n; break;
    case 3: out->render_ms = (uint32_t)n; break;
    default: out->event_ms = (uint32_t)n; break;
    }
  }
  return 0;
}

static int mf_setting(const char *name, const json_t *spec, bool strict, json_t **warnings, al_error *err) {
  char path[300];
  snprintf(path, sizeof path, "manifest.settings.%s", name);
  if (!name[0] || strlen(name) > 128 || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
    return MF_BAD(err, path, "%s: a setting name starts with a letter or '_' (at most 128 chars)", path);
  for (const char *p = name; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
      return MF_BAD(err, path, "%s: a setting name uses only letters, digits, '_', '.' and '-'", path);
  if (!json_is_object(spec)) return MF_BAD(err, path, "%s: must be an object {type, description, ...}", path);
  const char *type = json_string_value(json_object_get(spec, "type"));
  if (!type || (strcmp(type, "string") && strcmp(type, "number") && strcmp(type, "boolean") && strcmp(type, "enum")))
    return MF_BAD(err, path, "%s.type: must be one of string, number, boolean, enum", path);
  bool is_num = !strcmp(type, "number"), is_enum = !strcmp(type, "enum");
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)spec, key, v) {
    char p[360];
    snprintf(p, sizeof p, "%s.%s", path, key);
    int rc = 0;
    if (!strcmp(key, "type") || !strcmp(key, "default")) continue;
    if (!strcmp(key, "description")) rc = mf_string(v, p, err);
    else if (!strcmp(key, "secret")) rc = json_is_boolean(v) ? 0 : MF_BAD(err, p, "%s: must be true or false", p);
    else if (!strcmp(key, "env")) rc = json_is_string(v) && mf_env_name_ok(json_string_value(v)) ? 0 : MF_BAD(err, p, "%s: must be an environment variable name", p);
    else if (!strcmp(key, "min") || !strcmp(key, "max")) {
      if (!is_num) rc = MF_BAD(err, p, "%s: only settings of type number have %s", p, key);
      else if (!json_is_number(v)) rc = MF_BAD(err, p, "%s: must be a number", p);
    } else if (!strcmp(key, "values")) {
      if (!is_enum) rc = MF_BAD(err, p, "%s: only settings of type enum have values", p);
      else if (!json_is_array(v) || !json_array_size(v)) rc = MF_BAD(err, p, "%s: must be a non-empty array of strings", p);
      else rc = mf_strings(v, p, NULL, NULL, err);
    } else {
      rc = mf_unknown(p, strict, warnings, err);
    }
    if (rc) return rc;
  }
  if (!json_is_string(json_object_get(spec, "description")))
    return MF_BAD(err, path, "%s.description: is required (a string)", path);
  if (is_enum && !json_object_get(spec, "values"))
    return MF_BAD(err, path, "%s.values: is required for type enum", path);
  const json_t *mn = json_object_get(spec, "min"), *mx = json_object_get(spec, "max");
  if (mn && mx && json_number_value(mn) > json_number_value(mx))
    return MF_BAD(err, path, "%s.min: must not be greater than max", path);
  const json_t *def = json_object_get(spec, "default");
  if (def && !pkg_setting_fits(spec, def)) {
    return MF_BAD(err, path, "%s.default: is not a valid %s%s", path, type,
                  is_enum ? " (must be one of values)" : is_num && (mn || mx) ? " within min/max" : "");
  }
  return 0;
}

static int mf_settings(const json_t *s, bool strict, json_t **warnings, al_error *err) {
  if (!json_is_object(s)) return MF_BAD(err, "manifest.settings", "manifest.settings: must be an object {key: schema}");
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)s, key, v) {
    int rc = mf_setting(key, v, strict, warnings, err);
    if (rc) return rc;
  }
  return 0;
}

static int mf_preflight(json_t *pf, bool strict, json_t **warnings, al_error *err) {
  if (!json_is_object(pf)) return MF_BAD(err, "manifest.preflight", "manifest.preflight: must be an object {allow: [...]}");
  const char *key;
  json_t *v;
  json_object_foreach(pf, key, v) {
    char path[300];
    snprintf(path, sizeof path, "manifest.preflight.%s", key);
    if (strcmp(key, "allow")) {
      int rc = mf_unknown(path, strict, warnings, err);
      if (rc) return rc;
      continue;
    }
    int rc = mf_strings(v, path, NULL, NULL, err);
    if (rc) return rc;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      size_t k;
      for (k = 0; k < sizeof mf_block_patterns / sizeof *mf_block_patterns; k++)
        if (!strcmp(json_string_value(e), mf_block_patterns[k])) break;
      if (k == sizeof mf_block_patterns / sizeof *mf_block_patterns) {
        char p[320];
        snprintf(p, sizeof p, "%.290s[%zu]", path, i);
        return MF_BAD(err, p, "%s: '%.80s' is not a blocking preflight pattern (one of 'rm -rf', 'sudo ', "
                      "'chmod 777', '> /dev/sd', 'mkfs.', 'dd if=')", p, json_string_value(e));
      }
    }
  }
  if (!json_object_get(pf, "allow")) json_object_set_new(pf, "allow", json_array());
  return 0;
}

static int mf_engines(const json_t *e, bool strict, json_t **warnings, al_error *err) {
  if (!json_is_object(e)) return MF_BAD(err, "manifest.engines", "manifest.engines: must be an object {airlock: range}");
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)e, key, v) {
    if (!strcmp(key, "airlock")) {
      if (!json_is_string(v) || !semver_range_valid(json_string_value(v)))
        return MF_BAD(err, "manifest.engines.airlock", "manifest.engines.airlock: '%.100s' is not a semver range",
                      json_is_string(v) ? json_string_value(v) : "(not a string)");
    } else {
      char path[300];
      snprintf(path, sizeof path, "manifest.engines.%s", key);
      int rc = mf_unknown(path, strict, warnings, err);
      if (rc) return rc;
    }
  }
  return 0;
}

static char *mf_dup(const json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? strdup(s) : NULL;
}

/* Validates `j` (the manifest object, owned by m afterwards) into m. */
static int mf_validate(pkg_manifest *m, bool strict, json_t **warnings, al_error *err) {
  json_t *j = m->json;
  static const char *const simple[] = {"id", "version", "title", "description", "author", "license", "homepage", "entry"};
  const char *key;
  json_t *v;
  int rc;
  json_object_foreach(j, key, v) {
    char path[300];
    snprintf(path, sizeof path, "manifest.%s", key);
    size_t i;
    for (i = 0; i < sizeof simple / sizeof *simple && strcmp(key, simple[i]); i++) {}
    if (i < sizeof simple / sizeof *simple) rc = mf_string(v, path, err);
    else if (!strcmp(key, "engines")) rc = mf_engines(v, strict, warnings, err);
    else if (!strcmp(key, "capabilities")) rc = mf_capabilities(v, strict, warnings, err);
    else if (!strcmp(key, "shared")) rc = mf_shared(v, strict, warnings, err);
    else if (!strcmp(key, "limits")) rc = mf_limits(v, &m->limits, strict, warnings, err);
    else if (!strcmp(key, "settings")) rc = mf_settings(v, strict, warnings, err);
    else if (!strcmp(key, "preflight")) rc = mf_preflight(v, strict, warnings, err);
    else rc = mf_unknown(path, strict, warnings, err);
    if (rc) return rc;
  }
  const char *id = json_string_value(json_object_get(j, "id"));
  if (!id) return MF_BAD(err, "manifest.id", "manifest.id: is required");
  if (!pkg_id_valid(id))
    return MF_BAD(err, "manifest.id", "manifest.id: '%.230s' must be lowercase [a-z0-9][a-z0-9._-]* with an optional "
                  "@scope/ prefix, at most %d chars", id, PKG_ID_MAX);
  const char *ver = json_string_value(json_object_get(j, "version"));
  semver sv;
  if (!ver) return MF_BAD(err, "manifest.version", "manifest.version: is required");
  if (!semver_parse(ver, &sv))
    return MF_BAD(err, "manifest.version", "manifest.version: '%.100s' is not semver MAJOR.MINOR.PATCH[-pre][+build]", ver);
  const char *entry = json_string_value(json_object_get(j, "entry"));
  if (entry && !mf_entry_ok(entry))
    return MF_BAD(err, "manifest.entry", "manifest.entry: '%.200s' must be a relative path inside the package "
                  "(no leading '/', no '..', no '\\')", entry);
  if (!json_object_get(j, "capabilities")) json_object_set_new(j, "capabilities", json_object());
  if (!json_object_get(j, "shared")) json_object_set_new(j, "shared", json_pack("{s:[],s:[]}", "read", "write"));
  if (!json_object_get(j, "settings")) json_object_set_new(j, "settings", json_object());
  if (!json_object_get(j, "preflight")) json_object_set_new(j, "preflight", json_pack("{s:[]}", "allow"));
  m->id = mf_dup(j, "id");
  m->version = mf_dup(j, "version");
  m->title = mf_dup(j, "title");
  m->description = mf_dup(j, "description");
  m->entry = entry ? strdup(entry) : strdup("index.js");
  m->engines = mf_dup(json_object_get(j, "engines"), "airlock");
  m->capabilities = json_object_get(j, "capabilities");
  m->shared = json_object_get(j, "shared");
  m->settings = json_object_get(j, "settings");
  m->preflight_allow = json_object_get(json_object_get(j, "preflight"), "allow");
  if (!m->id || !m->version || !m->entry || !m->capabilities || !m->shared || !m->settings || !m->preflight_allow)
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory reading the manifest");
  return 0;
}

int pkg_manifest_parse(const char *text, size_t len, bool is_package_json, bool strict, pkg_manifest **out,
                       json_t **warnings, al_error *err) {
  *out = NULL;
  if (!text) return MF_BAD(err, "manifest", "manifest: no text");
  json_error_t je;
  json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *j = NULL;
  if (!doc)
    return MF_BAD(err, "manifest", "manifest: not valid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
  int rc;
  if (is_package_json) {
    if (!json_is_object(doc)) {
      rc = MF_BAD(err, "package.json", "package.json: must be an object");
      goto fail;
    }
    json_t *a = json_object_get(doc, "airlock");
    if (!json_is_object(a)) {
      rc = MF_BAD(err, "package.json.airlock", "package.json.airlock: must be an object holding the Airlock manifest");
      goto fail;
    }
    j = json_deep_copy(a);
    /* npm's own fields stand in for the ones the airlock object leaves out */
    static const char *const inherit[][2] = {{"id", "name"}, {"version", "version"}, {"description", "description"},
                                             {"license", "license"}, {"homepage", "homepage"}};
    for (size_t i = 0; j && i < sizeof inherit / sizeof *inherit; i++) {
      json_t *v = json_object_get(doc, inherit[i][1]);
      if (!json_object_get(j, inherit[i][0]) && json_is_string(v)) json_object_set(j, inherit[i][0], v);
    }
  } else {
    j = json_incref(doc);
  }
  if (!json_is_object(j)) {
    rc = j ? MF_BAD(err, "manifest", "manifest: must be a JSON object") : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto fail;
  }
  pkg_manifest *m = calloc(1, sizeof *m);
  if (!m) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto fail;
  }
  m->json = j;
  j = NULL;
  rc = mf_validate(m, strict, warnings, err);
  if (rc) {
    pkg_manifest_free(m);
    goto fail;
  }
  json_decref(doc);
  *out = m;
  return 0;
fail:
  json_decref(j);
  json_decref(doc);
  return rc;
}

int pkg_manifest_load_dir(const char *dir, bool strict, pkg_manifest **out, json_t **warnings, al_error *err) {
  *out = NULL;
  char path[PATH_MAX];
  bool pj = false;
  snprintf(path, sizeof path, "%s/airlock.json", dir);
  size_t len;
  char *text = pkg_read_file(path, (size_t)1 << 20, &len);
  if (!text && errno == ENOENT) {
    snprintf(path, sizeof path, "%s/package.json", dir);
    text = pkg_read_file(path, (size_t)1 << 20, &len);
    pj = true;
    if (!text && errno == ENOENT)
      return err_set(err, AL_EIO, dir, "%s: no airlock.json or package.json (with an \"airlock\" object) found", dir);
  }
  if (!text && errno == ENOMEM) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!text) return err_set(err, AL_EIO, path, "cannot read %s: %s", path, strerror(errno));
  pkg_manifest *m = NULL;
  int rc = pkg_manifest_parse(text, len, pj, strict, &m, warnings, err);
  free(text);
  if (rc) {
    if (err) { /* say which file */
      char msg[sizeof err->message];
      snprintf(msg, sizeof msg, "%.200s: %.300s", path, err->message);
      memcpy(err->message, msg, sizeof msg);
    }
    return rc;
  }
  /* the entry must exist and, symlinks resolved, stay inside the package */
  char real_dir[PATH_MAX], real_entry[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, m->entry);
  if (!realpath(dir, real_dir) || !realpath(path, real_entry)) {
    rc = err_set(err, AL_EIO, "manifest.entry", "manifest.entry: '%s' not found in %s", m->entry, dir);
    goto fail;
  }
  size_t dl = strlen(real_dir);
  if (strncmp(real_entry, real_dir, dl) || real_entry[dl] != '/') {
    rc = MF_BAD(err, "manifest.entry", "manifest.entry: '%s' resolves outside the package", m->entry);
    goto fail;
  }
  struct stat st;
  if (stat(real_entry, &st) || !S_ISREG(st.st_mode)) {
    rc = MF_BAD(err, "manifest.entry", "manifest.entry: '%s' is not a regular file", m->entry);
    goto fail;
  }
  *out = m;
  return 0;
fail:
  pkg_manifest_free(m);
  return rc;
}

int pkg_manifest_check_engine(const pkg_manifest *m, const char *airlock_version, al_error *err) {
  if (!m || !m->engines) return 0;
  if (semver_satisfies(airlock_version, m->engines)) return 0;
  return err_set(err, AL_EPLUGIN_LOAD, "manifest.engines.airlock",
                 "manifest.engines.airlock: %s needs airlock %s, this is %s", m->id, m->engines, airlock_version);
}

void pkg_manifest_free(pkg_manifest *m) {
  if (!m) return;
  free(m->id);
  free(m->version);
  free(m->title);
  free(m->description);
  free(m->entry);
  free(m->engines);
  json_decref(m->json);
  free(m);
}

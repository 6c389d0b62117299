/*
 * manifest.h: a plugin package's manifest (hooks-and-security.md sec. 1), parsed and
 * validated in one pass. The manifest is `airlock.json` in the package directory, or the
 * `"airlock"` object of its `package.json` (npm packages). Validation is strict about
 * shapes and names the field and the rule in every message
 * ("manifest.version: '1.2' is not semver MAJOR.MINOR.PATCH"), because a manifest is
 * written by a person who needs to know what to fix. Unknown fields are an error in strict
 * mode (`airlock check`) and a warning otherwise (loading), so a manifest written for a
 * newer Airlock still loads.
 *
 * A pkg_manifest is immutable once parsed; any thread may read it. The json_t members are
 * owned by the manifest (borrowed views into `json`), never NULL after a successful parse.
 */
#ifndef AL_PKG_MANIFEST_H
#define AL_PKG_MANIFEST_H

#include "common.h"

#define PKG_ID_MAX 214 /* npm's package-name limit */

typedef struct pkg_manifest {
  char *id, *version, *title, *description, *entry; /* title/description may be NULL;
                                                       entry defaults to "index.js" */
  json_t *json;            /* the whole validated manifest (owned) */
  json_t *capabilities;    /* {events[], network[], fs_read[], fs_write[], kv, register_tools,
                              read_config, env_vars[]}: only keys the manifest gave, each
                              validated; {} when absent. Borrowed from json. */
  json_t *shared;          /* {read[], write[]}: always both keys (grants for widget plugins) */
  al_limits limits;        /* zero fields = host default; clamping is the host's job */
  json_t *settings;        /* the settings schema, or {} */
  json_t *preflight_allow; /* array of allowed blocking patterns, or [] */
  char *engines;           /* engines.airlock range, or NULL */
} pkg_manifest;

/* Parses and validates manifest text (`len` bytes, need not be NUL-terminated). With
 * is_package_json the text is a package.json whose "airlock" object is the manifest; its
 * top-level "name"/"version"/"description" fill id/version/description when the airlock
 * object lacks them, and package.json's other fields are not "unknown". Unknown manifest
 * fields: AL_EINVALID_ARGUMENT when `strict`, else one message each appended to *warnings
 * (created when NULL; `warnings` itself may be NULL to drop them). On success *out is
 * freed with pkg_manifest_free(). Errors are AL_EINVALID_ARGUMENT with err->path the field
 * ("manifest.settings.port.min"). Thread-safe (no shared state). */
int pkg_manifest_parse(const char *text, size_t len, bool is_package_json, bool strict,
                       pkg_manifest **out, json_t **warnings, al_error *err);

/* Reads dir/airlock.json, else dir/package.json (its "airlock" object), and parses it as
 * above. Also checks that the entry file exists inside dir (after resolving symlinks).
 * AL_EIO when neither file exists or cannot be read. */
int pkg_manifest_load_dir(const char *dir, bool strict, pkg_manifest **out, json_t **warnings,
                          al_error *err);

/* Checks engines.airlock (if any) against `airlock_version` (e.g. AL_VERSION). A mismatch
 * is AL_EPLUGIN_LOAD "manifest.engines.airlock: this plugin needs airlock <range>, this is
 * <version>". */
int pkg_manifest_check_engine(const pkg_manifest *m, const char *airlock_version, al_error *err);

/* NULL harmless. */
void pkg_manifest_free(pkg_manifest *m);

/* ---- settings.c: settings at run time ---- */

/* Resolved settings {key: value}: for each schema key, the stored override (`stored`, an
 * object, may be NULL) if valid for the key's type, else the environment variable named by
 * "env" (converted to the type; ignored when it does not convert), else "default"; keys
 * with none of those are absent. New reference; NULL only when out of memory.
 * env_out NULL: reads the environment (the host user's own view, e.g. `airlock plugin
 * config`): call from one thread at a time with respect to setenv().
 * env_out non-NULL: the environment is NOT read. A plugin may see a variable only through
 * the env_vars capability and the policy, decided when it asks (pi.getConfig), so each
 * key that would come from the environment is left out of the result and described in
 * *env_out (new object, caller decrefs) as {key: {"env": VAR, "spec": schema entry}};
 * pkg_setting_from_env() finishes it once the read is allowed. */
json_t *pkg_settings_resolve(const pkg_manifest *m, const json_t *stored, json_t **env_out);

/* One environment-backed setting: the text of its variable (`text`, may be NULL when unset)
 * converted to the type of `spec` (a manifest settings entry, as in *env_out above), else
 * the spec's "default", else NULL (absent). New reference. Thread-safe. */
json_t *pkg_setting_from_env(const json_t *spec, const char *text);

/* Whether `v` is a valid value for the setting schema entry `spec` (its type, min/max,
 * values). */
bool pkg_setting_fits(const json_t *spec, const json_t *v);
/* Checks one value against a setting's schema entry (type, min/max, values). 0 or
 * AL_EINVALID_ARGUMENT naming "settings.<key>". */
int pkg_setting_check(const pkg_manifest *m, const char *key, const json_t *value, al_error *err);

/* True when `id` follows the package id rule (sec. 1). */
bool pkg_id_valid(const char *id);

#endif

/*
 * pkg_api.c: the package half of airlock_pkg.h (the database of a home: install, records,
 * enable, remove, settings; a directory's manifest and preflight), over db.h, install.h,
 * manifest.h and preflight.h, which it leaves as they are.
 *
 * This file is a facade, not a module: each function opens nothing the caller did not ask
 * for, converts the internal json_t records to the public typed ones (or to JSON text
 * where the data is a document), and fills al_error exactly as the module below did, so a
 * front end prints the same messages it printed when it called the modules itself. The
 * policy that used to live in the CLI and belongs to the data (which directories a remove
 * may delete, that secrets are never handed out, that an override is checked against the
 * recorded schema) lives here, so every front end gets it.
 *
 * It lives in src/host, above both src/pkg and src/hooks, because it needs both: the
 * registry keys an install may need are fetched through pi.http's client (hooks/http.h),
 * while src/pkg itself does no network I/O and must not depend on src/hooks. The home's
 * checks and audit trail are pkg_doctor.c; the operator's tools operator.c.
 */
#define _GNU_SOURCE
#include "airlock_pkg.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "hooks/http.h"
#include "pkg/db.h"
#include "pkg/install.h"
#include "pkg/manifest.h"
#include "pkg/preflight.h"
#include "pkg/signature.h"

_Static_assert((unsigned)AL_PKG_SIGREQ_REGISTRY == (unsigned)PKG_SIGREQ_REGISTRY &&
                   (unsigned)AL_PKG_SIGREQ_PUBLISHER == (unsigned)PKG_SIGREQ_PUBLISHER &&
                   (unsigned)AL_PKG_SIGREQ_ANY == (unsigned)PKG_SIGREQ_ANY,
               "the public signature requirement bits are signature.h's");

struct al_pkg_db {
  pkg_db *db;
};

/* JSON text for the public side: compact, key order kept, any value. */
static char *api_text(const json_t *v) { return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL; }

static int api_oom(al_error *err) { return err_set(err, AL_ENO_MEMORY, NULL, "out of memory"); }

static int api_db(const al_pkg_db *db, al_error *err) {
  return db && db->db ? 0 : err_set(err, AL_EINVALID_ARGUMENT, NULL, "no package database");
}

int al_pkg_open(const char *home, al_pkg_db **out, al_error *err) {
  if (!out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_open: out is NULL");
  *out = NULL;
  if (!home || !home[0]) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_open: no home directory");
  al_pkg_db *db = calloc(1, sizeof *db);
  if (!db) return api_oom(err);
  int rc = pkg_db_open(home, &db->db, err);
  if (rc) {
    free(db);
    return rc;
  }
  *out = db;
  return 0;
}

void al_pkg_close(al_pkg_db *db) {
  if (!db) return;
  pkg_db_close(db->db);
  free(db);
}

/* ---- records ---- */

static void record_clear(al_pkg_record *r) {
  free(r->id);
  free(r->version);
  free(r->dir);
  free(r->name);
  free(r->manifest_json);
  free(r->verification_json);
  free(r->pi_json);
  memset(r, 0, sizeof *r);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* db.h's record object into *r; 0 or AL_ENO_MEMORY (r cleared). */
static int record_from_json(const json_t *o, al_pkg_record *r, al_error *err) {
  memset(r, 0, sizeof *r);
  const json_t *verif = json_object_get(o, "verification");
  const char *name = json_string_value(json_object_get(o, "name"));
  r->id = dup_or_null(json_string_value(json_object_get(o, "id")));
  r->version = dup_or_null(json_string_value(json_object_get(o, "version")));
  r->dir = dup_or_null(json_string_value(json_object_get(o, "dir")));
  r->name = dup_or_null(name);
  r->enabled = json_is_true(json_object_get(o, "enabled"));
  r->installed_at_ms = (int64_t)json_integer_value(json_object_get(o, "installedAt"));
  r->manifest_json = api_text(json_object_get(o, "manifest"));
  bool has_verif = verif && !json_is_null(verif);
  r->verification_json = has_verif ? api_text(verif) : NULL;
  const json_t *pi = json_object_get(o, "pi");
  r->pi_json = pi ? api_text(pi) : NULL;
  if (!r->id || !r->version || !r->dir || !r->manifest_json || (name && !r->name) || (has_verif && !r->verification_json) ||
      (pi && !r->pi_json)) {
    record_clear(r);
    return api_oom(err);
  }
  return 0;
}

void al_pkg_record_free(al_pkg_record *rec) {
  if (!rec) return;
  record_clear(rec);
  free(rec);
}

void al_pkg_records_free(al_pkg_record *recs, size_t count) {
  if (!recs) return;
  for (size_t i = 0; i < count; i++) record_clear(&recs[i]);
  free(recs);
}

int al_pkg_list(al_pkg_db *db, al_pkg_record **out, size_t *count, al_error *err) {
  if (!out || !count) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_list: missing argument");
  *out = NULL;
  *count = 0;
  int rc = api_db(db, err);
  json_t *list = NULL;
  if (!rc) rc = pkg_db_package_list(db->db, &list, err);
  if (rc) return rc;
  size_t n = json_array_size(list), done = 0;
  al_pkg_record *recs = n ? calloc(n, sizeof *recs) : NULL;
  if (n && !recs) rc = api_oom(err);
  for (; !rc && done < n; done++) rc = record_from_json(json_array_get(list, done), &recs[done], err);
  json_decref(list);
  if (rc) {
    al_pkg_records_free(recs, done);
    return rc;
  }
  *out = recs;
  *count = n;
  return 0;
}

int al_pkg_get(al_pkg_db *db, const char *id, al_pkg_record **out, al_error *err) {
  if (!out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_get: out is NULL");
  *out = NULL;
  int rc = api_db(db, err);
  json_t *o = NULL;
  if (!rc) rc = pkg_db_package_get(db->db, id, &o, err);
  if (rc) return rc;
  al_pkg_record *r = malloc(sizeof *r);
  if (!r) rc = api_oom(err);
  else if ((rc = record_from_json(o, r, err))) {
    free(r);
    r = NULL;
  }
  json_decref(o);
  *out = r;
  return rc;
}

/* ---- install, enable, remove ---- */

int al_pkg_sigreq_parse(const char *text, const char *from, unsigned *mask, al_error *err) {
  if (!text || !mask) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_sigreq_parse: missing argument");
  return pkg_sig_require_parse(text, from ? from : "the signature requirement", mask, err);
}

/* pkg_install_opts.registry_keys: <registry>/-/npm/v1/keys over HTTPS (or the registry's
 * own scheme), the answer's body as the document; anything but a 200 says why not. */
static int fetch_registry_keys(void *user, const char *registry, char **doc, size_t *len, al_error *err) {
  (void)user;
  char url[1200];
  size_t n = strlen(registry);
  if (n > 1000) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "registry URL too long");
  snprintf(url, sizeof url, "%.*s/-/npm/v1/keys", (int)(n && registry[n - 1] == '/' ? n - 1 : n), registry);
  json_t *resp = NULL;
  int rc = hk_http_request("GET", url, NULL, 0, NULL, 30000, 1u << 20, 0, &resp, err);
  if (rc) return rc;
  json_int_t status = json_integer_value(json_object_get(resp, "status"));
  const char *body = json_string_value(json_object_get(resp, "body"));
  if (status != 200 || !body) rc = err_set(err, AL_EIO, NULL, "GET %s answered %lld", url, (long long)status);
  else if (!(*doc = strdup(body))) rc = api_oom(err);
  else *len = strlen(body);
  json_decref(resp);
  return rc;
}

/* al_pkg_install_opts.pi_ask behind install.h's callback (int broad, not bool). */
static int api_pi_ask(void *user, const char *cap, const char *pattern, bool broad, char *out, size_t cap_bytes) {
  const al_pkg_install_opts *o = user;
  return o->pi_ask(o->pi_ask_user, cap, pattern, broad, out, cap_bytes);
}

int al_pkg_pi_grant(al_pkg_db *db, const char *id, const char *cap, const char *pattern, int revoke,
                    char **granted_json, al_error *err) {
  if (granted_json) *granted_json = NULL;
  int rc = api_db(db, err);
  if (rc) return rc;
  if (!id || !cap || !pattern) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_pi_grant needs an id, a capability and a pattern");
  json_t *g = NULL;
  rc = pkg_pi_grant(db->db, id, cap, pattern, revoke != 0, granted_json ? &g : NULL, err);
  if (!rc && granted_json && !(*granted_json = api_text(g))) rc = api_oom(err);
  json_decref(g);
  return rc;
}

int al_pkg_install(al_pkg_db *db, const char *what, const al_pkg_install_opts *opts, char **report_json,
                   al_error *err) {
  if (report_json) *report_json = NULL;
  int rc = api_db(db, err);
  if (rc) return rc;
  pkg_install_opts io = {0};
  if (opts) {
    io.replace = opts->replace != 0;
    io.allow_downgrade = opts->allow_downgrade != 0;
    io.require_signature = opts->require_signature;
    io.signature = opts->signature;
    io.signers = opts->signers;
    io.signer_identity = opts->signer_identity;
    io.registry_keys_file = opts->registry_keys_file;
    io.registry_keys = opts->fetch_registry_keys ? fetch_registry_keys : NULL;
    io.pi_ask = opts->pi_ask ? api_pi_ask : NULL;
    io.pi_ask_user = (void *)opts;
    io.pi_grant_all = opts->pi_grant_all != 0;
    io.pi_allow = opts->pi_allow;
    io.pi_nallow = opts->pi_nallow;
  }
  json_t *report = NULL;
  rc = pkg_install(db->db, what, &io, report_json ? &report : NULL, err);
  if (!rc && report_json && !(*report_json = api_text(report))) rc = api_oom(err);
  json_decref(report);
  return rc;
}

int al_pkg_enable(al_pkg_db *db, const char *id, int enabled, al_error *err) {
  int rc = api_db(db, err);
  return rc ? rc : pkg_db_package_enable(db->db, id, enabled != 0, err);
}

/* True when `dir` is <home>/packages/<something>: only those are ours to delete. */
static bool ours(const char *home, const char *dir) {
  char pk[PATH_MAX], real_pk[PATH_MAX], real_dir[PATH_MAX];
  snprintf(pk, sizeof pk, "%s/packages", home);
  if (!realpath(pk, real_pk) || !realpath(dir, real_dir)) return false;
  size_t n = strlen(real_pk);
  return !strncmp(real_dir, real_pk, n) && real_dir[n] == '/' && real_dir[n + 1];
}

int al_pkg_remove(al_pkg_db *db, const char *id, al_error *err) {
  int rc = api_db(db, err);
  json_t *rec = NULL;
  if (!rc) rc = pkg_db_package_get(db->db, id, &rec, err);
  if (rc) return rc;
  char *dir = dup_or_null(json_string_value(json_object_get(rec, "dir")));
  json_decref(rec);
  rc = pkg_db_package_remove(db->db, id, err);
  if (!rc && dir && ours(pkg_db_home(db->db), dir)) {
    rc = pkg_rmtree(dir, err);
    char *slash = id[0] == '@' ? strrchr(dir, '/') : NULL;
    if (!rc && slash) { /* the @scope directory goes when its last package does */
      *slash = 0;
      (void)rmdir(dir);
    }
  }
  free(dir);
  return rc;
}

/* ---- settings ---- */

/* The manifest recorded for `id`, parsed again: it is the schema of the settings. */
static int recorded_manifest(al_pkg_db *db, const char *id, pkg_manifest **m, al_error *err) {
  *m = NULL;
  int rc = api_db(db, err);
  json_t *rec = NULL;
  if (!rc) rc = pkg_db_package_get(db->db, id, &rec, err);
  if (rc) return rc;
  char *mtext = api_text(json_object_get(rec, "manifest"));
  json_decref(rec);
  if (!mtext) return api_oom(err);
  if (pkg_manifest_parse(mtext, strlen(mtext), false, false, m, NULL, err)) {
    /* it was validated at install: a record that no longer parses is the database's fault */
    rc = err_set(err, AL_EINTERNAL, NULL, "the stored manifest of %s is unreadable", id);
  }
  free(mtext);
  return rc;
}

static int undeclared(const pkg_manifest *m, const char *key, al_error *err) {
  char path[200];
  snprintf(path, sizeof path, "settings.%.150s", key);
  return err_set(err, AL_EINVALID_ARGUMENT, path, "settings.%s: no such setting in %s's manifest", key, m->id);
}

/* The settings object of `which`, secrets hidden; new reference or NULL (out of memory). */
static json_t *settings_view(al_pkg_db *db, const pkg_manifest *m, int which, al_error *err, int *rc) {
  json_t *stored = NULL, *out = NULL;
  if ((*rc = pkg_db_setting_get(db->db, m->id, &stored, err))) return NULL;
  const char *key;
  json_t *spec;
  if (which == AL_PKG_SETTINGS_RESOLVED) {
    out = pkg_settings_resolve(m, stored, NULL);
  } else if ((out = json_object())) {
    json_object_foreach(m->settings, key, spec) {
      json_t *v = json_object_get(stored, key);
      if (v) json_object_set(out, key, v);
    }
  }
  json_decref(stored);
  if (!out) {
    *rc = api_oom(err);
    return NULL;
  }
  json_object_foreach(m->settings, key, spec) {
    if (json_object_get(out, key) && json_is_true(json_object_get(spec, "secret")))
      json_object_set_new(out, key, json_string("(secret)"));
  }
  return out;
}

int al_pkg_settings(al_pkg_db *db, const char *id, int which, char **json_out, al_error *err) {
  if (!json_out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_settings: json_out is NULL");
  *json_out = NULL;
  if (which != AL_PKG_SETTINGS_STORED && which != AL_PKG_SETTINGS_RESOLVED)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_settings: `which` is not an AL_PKG_SETTINGS_ value");
  pkg_manifest *m = NULL;
  int rc = recorded_manifest(db, id, &m, err);
  json_t *view = rc ? NULL : settings_view(db, m, which, err, &rc);
  if (!rc && !(*json_out = api_text(view))) rc = api_oom(err);
  json_decref(view);
  pkg_manifest_free(m);
  return rc;
}

int al_pkg_setting_get(al_pkg_db *db, const char *id, const char *key, char **json_out, al_error *err) {
  if (!json_out || !key) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_setting_get: missing argument");
  *json_out = NULL;
  pkg_manifest *m = NULL;
  int rc = recorded_manifest(db, id, &m, err);
  if (!rc && !json_object_get(m->settings, key)) rc = undeclared(m, key, err);
  json_t *view = rc ? NULL : settings_view(db, m, AL_PKG_SETTINGS_RESOLVED, err, &rc);
  const json_t *v = json_object_get(view, key);
  if (!rc && v && !(*json_out = api_text(v))) rc = api_oom(err);
  json_decref(view);
  pkg_manifest_free(m);
  return rc;
}

int al_pkg_setting_set(al_pkg_db *db, const char *id, const char *key, const char *value_json, al_error *err) {
  if (!key) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_setting_set: no key");
  pkg_manifest *m = NULL;
  json_t *value = NULL;
  int rc = recorded_manifest(db, id, &m, err);
  if (!rc && !json_object_get(m->settings, key)) rc = undeclared(m, key, err);
  if (!rc && value_json) {
    json_error_t je;
    if (!(value = json_loads(value_json, JSON_DECODE_ANY, &je)))
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "settings.%s: the value is not JSON: %s", key, je.text);
    else rc = pkg_setting_check(m, key, value, err);
  }
  if (!rc) rc = pkg_db_setting_set(db->db, m->id, key, value, err);
  json_decref(value);
  pkg_manifest_free(m);
  return rc;
}

/* ---- a package directory ---- */

int al_pkg_manifest_load(const char *dir, unsigned flags, al_pkg_manifest **out, al_error *err) {
  if (!out || !dir) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_manifest_load: missing argument");
  *out = NULL;
  pkg_manifest *m = NULL;
  int rc = pkg_manifest_load_dir(dir, (flags & AL_PKG_STRICT) != 0, &m, NULL, err);
  if (rc) return rc;
  al_pkg_manifest *p = calloc(1, sizeof *p);
  if (p) {
    p->id = strdup(m->id);
    p->version = strdup(m->version);
    p->entry = strdup(m->entry);
    p->json = json_text(m->json);
  }
  pkg_manifest_free(m);
  if (!p || !p->id || !p->version || !p->entry || !p->json) {
    al_pkg_manifest_free(p);
    return api_oom(err);
  }
  *out = p;
  return 0;
}

void al_pkg_manifest_free(al_pkg_manifest *m) {
  if (!m) return;
  free(m->id);
  free(m->version);
  free(m->entry);
  free(m->json);
  free(m);
}

int al_pkg_preflight(const char *code, size_t len, const char *manifest_json, char **report_json, al_error *err) {
  if (!report_json || (!code && len)) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_preflight: missing argument");
  *report_json = NULL;
  pkg_manifest *m = NULL;
  json_t *report = NULL;
  /* leniently, as al_load takes al_load_opts.manifest_json */
  int rc = manifest_json ? pkg_manifest_parse(manifest_json, strlen(manifest_json), false, false, &m, NULL, err) : 0;
  if (!rc) rc = pkg_preflight(code ? code : "", len, m, &report, err);
  if (!rc && !(*report_json = api_text(report))) rc = api_oom(err);
  if (!rc) rc = pkg_preflight_error(report, err);
  json_decref(report);
  pkg_manifest_free(m);
  return rc;
}

/*
 * pkg_doctor.c: airlock_pkg.h's checks of a home and its audit trail: al_pkg_doctor over
 * db.h, manifest.h and install.h's pkg_rmtree; al_pkg_audit_append / _read over
 * hooks/audit.h, whose JSON Lines writer and reader are the ones every host uses, so a
 * line the CLI appends reads back like a line a host wrote.
 *
 * The doctor collects its findings in a growing array of typed checks; a problem is a
 * finding, never an error, so one run reports everything it can see (a database that does
 * not open still lets the caller print the rest). The details are written for a person
 * and quote what the packages recorded; escaping them is the printer's business.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "airlock_pkg.h"
#include "common.h"
#include "hooks/audit.h"
#include "pkg/db.h"
#include "pkg/install.h"
#include "pkg/manifest.h"
#include "pkg/wants.h"

typedef struct checks {
  al_pkg_check *v;
  size_t n, cap;
  bool oom;
} checks;

static void add(checks *c, const char *name, bool ok, const char *detail, bool fixed) {
  if (c->oom) return;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 8;
    al_pkg_check *nv = realloc(c->v, cap * sizeof *nv);
    if (!nv) {
      c->oom = true;
      return;
    }
    c->v = nv;
    c->cap = cap;
  }
  al_pkg_check *k = &c->v[c->n];
  k->name = strdup(name);
  k->detail = strdup(detail ? detail : "");
  k->ok = ok || fixed;
  k->fixed = fixed;
  if (!k->name || !k->detail) {
    free(k->name);
    free(k->detail);
    c->oom = true;
    return;
  }
  c->n++;
}

void al_pkg_checks_free(al_pkg_check *v, size_t count) {
  if (!v) return;
  for (size_t i = 0; i < count; i++) {
    free(v[i].name);
    free(v[i].detail);
  }
  free(v);
}

/* Each recorded package: its directory exists and holds the version recorded. */
static void check_packages(checks *c, pkg_db *db, bool fix, char *detail, size_t cap) {
  json_t *list = NULL;
  al_error err;
  if (pkg_db_package_list(db, &list, &err)) {
    add(c, "packages", false, err.message, false);
    return;
  }
  size_t i;
  json_t *p;
  json_array_foreach(list, i, p) {
    const char *id = json_string_value(json_object_get(p, "id")), *dir = json_string_value(json_object_get(p, "dir"));
    const char *version = json_string_value(json_object_get(p, "version"));
    char name[300];
    snprintf(name, sizeof name, "package %s", id);
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
      bool fixed = fix && !pkg_db_package_remove(db, id, NULL);
      snprintf(detail, cap, "directory %s is missing%s", dir,
               fixed ? "; record removed" : fix ? "" : " (--fix removes the record)");
      add(c, name, false, detail, fixed);
      continue;
    }
    if (json_object_get(p, "pi")) { /* a pi package: no manifest; the pi rule must still find it */
      bool ok = pkg_pi_package(dir, NULL, NULL, NULL) == 1;
      add(c, name, ok, ok ? "ok (pi package)" : "no pi extension in its directory any more (reinstall it)", false);
      continue;
    }
    pkg_manifest *m = NULL;
    al_error merr;
    if (pkg_manifest_load_dir(dir, false, &m, NULL, &merr)) {
      add(c, name, false, merr.message, false);
    } else if (strcmp(m->version, version)) {
      snprintf(detail, cap, "files are version %s, the database says %s (reinstall it)", m->version, version);
      add(c, name, false, detail, false);
    } else {
      add(c, name, true, "ok", false);
    }
    pkg_manifest_free(m);
  }
  json_decref(list);
}

/* Staging directories left by an interrupted install (install.c names them .staging-*). */
static void check_staging(checks *c, const char *home, bool fix, char *detail, size_t cap) {
  char pk[PATH_MAX];
  snprintf(pk, sizeof pk, "%s/packages", home);
  DIR *d = opendir(pk);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (strncmp(e->d_name, ".staging-", 9)) continue;
    char p[PATH_MAX + 300];
    snprintf(p, sizeof p, "%s/%s", pk, e->d_name);
    bool fixed = fix && !pkg_rmtree(p, NULL);
    snprintf(detail, cap, "%s left by an interrupted install%s", p, fixed ? "; removed" : fix ? "" : " (--fix removes it)");
    add(c, "staging", false, detail, fixed);
  }
  if (d) closedir(d);
}

int al_pkg_doctor(const char *home, unsigned flags, al_pkg_check **out, size_t *count, al_error *err) {
  if (!out || !count || !home) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_doctor: missing argument");
  *out = NULL;
  *count = 0;
  bool fix = (flags & AL_PKG_DOCTOR_FIX) != 0;
  checks c = {0};
  size_t cap = PATH_MAX * 2 + 512; /* room for two paths and a message: on the heap */
  char *buf = malloc(cap);
  if (!buf) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  pkg_db *db = NULL;
  al_error e;
  if (pkg_db_open(home, &db, &e)) {
    add(&c, "database", false, e.message, false);
  } else {
    bool ok = false;
    char *why = NULL;
    if (pkg_db_check(db, &ok, &why, &e)) {
      add(&c, "database", false, e.message, false);
    } else {
      snprintf(buf, cap, ok ? "%s/airlock.db: integrity ok" : "%s/airlock.db: %s", home, why ? why : "");
      add(&c, "database", ok, buf, false);
    }
    free(why);
    check_packages(&c, db, fix, buf, cap);
    check_staging(&c, home, fix, buf, cap);
    pkg_db_close(db);
  }
  free(buf);
  if (c.oom) {
    al_pkg_checks_free(c.v, c.n);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  *out = c.v;
  *count = c.n;
  return 0;
}

/* ---- the audit trail ---- */

static int audit_path(const char *home, char *path, size_t cap, al_error *err) {
  if (!home || !home[0]) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "no home directory");
  if ((size_t)snprintf(path, cap, "%s/audit.jsonl", home) >= cap)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "home directory path too long");
  return 0;
}

int al_pkg_audit_append(const char *home, const char *plugin_id, const char *action, const char *resource,
                        const char *decision, const char *reason, al_error *err) {
  char path[PATH_MAX];
  int rc = audit_path(home, path, sizeof path, err);
  hk_audit *au = NULL;
  /* capacity 1: the record is written through to the file; memory keeps nothing useful */
  if (!rc) rc = hk_audit_new(1, path, &au, err);
  if (rc) return rc;
  hk_audit_record(au, plugin_id, action, resource, decision, reason);
  hk_audit_stats st;
  hk_audit_stats_get(au, &st);
  hk_audit_free(au);
  /* a host only counts a failed write (it must not fail the plugin's call); a caller
   * appending one record asked for exactly that write */
  return st.file_errors ? err_set(err, AL_EIO, NULL, "%s: the record could not be written", path) : 0;
}

int al_pkg_audit_read(const char *home, size_t n, char **json_out, size_t *skipped, al_error *err) {
  if (!json_out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_pkg_audit_read: json_out is NULL");
  *json_out = NULL;
  if (skipped) *skipped = 0;
  char path[PATH_MAX];
  int rc = audit_path(home, path, sizeof path, err);
  json_t *recs = NULL;
  if (!rc) rc = hk_audit_read_file(path, n, &recs, skipped, err);
  if (!rc && !(*json_out = json_dumps(recs, JSON_COMPACT))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  json_decref(recs);
  return rc;
}

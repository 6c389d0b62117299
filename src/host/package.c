/*
 * package.c: loading from disk (al_load_package): an installed package by id (its
 * record in the host database must be enabled), a package directory with its manifest,
 * or a pi extension (a module file, or a directory of them: docs/pi-extensions.md). The
 * host reads every file itself; the worker is sent sources, as for a load from memory
 * (load.c), and opens nothing.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "contract/utf8.h"
#include "contract/validate.h"
#include "host/host_impl.h"
#include "pkg/db.h"
#include "pkg/manifest.h"
#include "pkg/modgraph.h"
#include "pkg/paths.h"
#include "pkg/transpile.h"
#include "pkg/wants.h"
#include "store/ids.h"
#include "worker/exec.h"

/* Reads a whole small file; *out malloc()ed and NUL-terminated. */
static int read_file(const char *path, char **out, size_t *len, al_error *err) {
  if ((*out = pkg_read_file(path, AL_MAX_VALUE_BYTES, len))) return 0;
  if (errno == ENOMEM) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory reading %s", path);
  if (errno == EFBIG)
    return err_set(err, AL_EIO, NULL, "%s is too large (over %u bytes)", path, (unsigned)AL_MAX_VALUE_BYTES);
  return err_set(err, AL_EIO, NULL, "cannot open %s: %s", path, strerror(errno));
}

/* ---- pi extensions (docs/pi-extensions.md) ---------------------------------------------
 * A file (.ts/.js/.mjs) is one extension; a directory without an Airlock manifest is a pi
 * package: its package.json `pi.extensions` list, else every module in its extensions/
 * folder (and extensions/<name>/index.*), else its index.ts/index.js. Each extension is
 * its own instance, loaded in that order; its plugin id (what a policy names) is the
 * file's stem, or the package's name (with the stem when the package has several),
 * with anything but [A-Za-z0-9._-] turned into '-'. */

/* `src` made into a plugin id in out (cap bytes): stem of its last path part. */
static void pi_plugin_id(const char *src, bool stem, char *out, size_t cap) {
  const char *b = strrchr(src, '/');
  b = b && b[1] ? b + 1 : src;
  if (*b == '@') b++;
  size_t n = 0;
  for (const char *p = b; *p && n + 1 < cap && n < AL_INSTANCE_ID_MAX - 12; p++) {
    if (stem && *p == '.' && pkg_pi_module_file(p) && !strchr(p + 1, '.')) break;
    char c = *p;
    out[n++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '_' || c == '-'
                   ? c
                   : '-';
  }
  out[n] = '\0';
  if (!n) snprintf(out, cap, "pi-extension");
}

static int pi_load_one(al_host *h, const char *dir, const char *entry, const char *plugin_id,
                       const al_load_opts *opts, char *id_out, size_t id_cap, al_error *err) {
  char path[8400];
  snprintf(path, sizeof path, "%s/%s", dir, entry);
  char *code = NULL;
  size_t len = 0;
  int rc = read_file(path, &code, &len, err);
  if (rc) return rc;
  al_load_opts o = {0};
  if (opts) o = *opts;
  o.profile = "pi";
  o.source_name = entry;
  o.manifest_json = NULL; /* what a pi extension may do is the policy's to say */
  rc = host_load_sync(h, plugin_id, code, len, &o, dir, true, id_out, id_cap, err);
  free(code);
  return rc;
}

/* A pi extension or pi package at `path` (a file, or a directory without a manifest);
 * 1 when `path` is neither (the caller loads it as an Airlock package). */
static int pi_load_path(al_host *h, const char *path, const al_load_opts *opts, char *id_out,
                        size_t id_cap, al_error *err) {
  struct stat st;
  if (stat(path, &st) != 0) return 1;
  char real[PATH_MAX];
  if (!realpath(path, real)) return 1;
  char pid[AL_INSTANCE_ID_MAX];
  if (S_ISREG(st.st_mode)) {
    char *slash = strrchr(real, '/');
    const char *entry = slash + 1;
    pi_plugin_id(entry, true, pid, sizeof pid);
    *slash = '\0';
    return pi_load_one(h, real[0] ? real : "/", entry, pid, opts, id_out, id_cap, err);
  }
  if (!S_ISDIR(st.st_mode)) return 1;
  char p[PATH_MAX + 32];
  snprintf(p, sizeof p, "%s/airlock.json", real);
  if (!stat(p, &st) && S_ISREG(st.st_mode)) return 1;
  json_t *pkg = NULL, *entries = NULL;
  int rc = pkg_pi_package_json(real, &pkg, err);
  if (rc == AL_EINVALID_ARGUMENT) return 1; /* the manifest's loader names the JSON error */
  if (json_object_get(pkg, "airlock")) {
    json_decref(pkg);
    return 1;
  }
  if (!rc) rc = pkg_pi_entries(real, pkg, &entries, err);
  const char *name = json_string_value(json_object_get(pkg, "name"));
  char base[AL_INSTANCE_ID_MAX], scoped[AL_INSTANCE_ID_MAX];
  /* a scoped name keeps its scope ("@me/duo" is "me-duo"), so two scopes' "duo" differ */
  snprintf(scoped, sizeof scoped, "%s", name ? name + (name[0] == '@') : "");
  for (char *c = scoped; *c; c++) if (*c == '/') *c = '-';
  pi_plugin_id(scoped[0] ? scoped : real, false, base, sizeof base);
  size_t i;
  json_t *e;
  json_array_foreach(entries, i, e) {
    if (rc) break;
    char stem[AL_INSTANCE_ID_MAX], full[AL_INSTANCE_ID_MAX * 2 + 2];
    const char *entry = json_string_value(e);
    const char *sl = strrchr(entry, '/');
    /* extensions/<name>/index.ts is named by its folder */
    if (sl && !strncmp(sl + 1, "index.", 6) && sl > entry) {
      char folder[AL_INSTANCE_ID_MAX];
      snprintf(folder, sizeof folder, "%.*s", (int)(sl - entry), entry);
      pi_plugin_id(folder, false, stem, sizeof stem);
    } else {
      pi_plugin_id(entry, true, stem, sizeof stem);
    }
    if (json_array_size(entries) > 1) snprintf(full, sizeof full, "%s-%s", base, stem);
    else snprintf(full, sizeof full, "%s", base);
    full[AL_INSTANCE_ID_MAX - 12] = '\0';
    rc = pi_load_one(h, real, entry, full, opts, i == 0 ? id_out : NULL, i == 0 ? id_cap : 0, err);
  }
  json_decref(entries);
  json_decref(pkg);
  return rc;
}

int al_load_package(al_host *h, const char *id_or_dir, const al_load_opts *opts, char *id_out,
                    size_t id_cap, al_error *err) {
  if (!h || !id_or_dir) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_load_package needs a host and a package");
  if (hc_disabled(h->hc))
    return err_set(err, AL_EPLUGINS_DISABLED, NULL, "plugins are disabled (AIRLOCK_DISABLE_PLUGINS)");
  char *dir = NULL;
  json_t *rec = NULL;
  pkg_manifest *m = NULL;
  char *code = NULL, *mtext = NULL, *path = NULL;
  size_t len = 0;
  int rc = 0;
  if (strchr(id_or_dir, '/') && id_or_dir[0] != '@') {
    int prc = pi_load_path(h, id_or_dir, opts, id_out, id_cap, err);
    if (prc != 1) return prc;
    dir = strdup(id_or_dir);
  } else if (!hc_db(h->hc)) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "no host database (al_config.home) to find package '%.80s' in", id_or_dir);
  } else if (!(rc = pkg_db_package_get(hc_db(h->hc), id_or_dir, &rec, err))) {
    if (!json_is_true(json_object_get(rec, "enabled")))
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "package '%.80s' is disabled", id_or_dir);
    else dir = strdup(json_string_value(json_object_get(rec, "dir")) ? json_string_value(json_object_get(rec, "dir")) : "");
    const json_t *pi = json_object_get(rec, "pi");
    if (!rc && dir && pi) {
      /* An installed pi package: its extensions (the pi rule, over its files as installed)
       * with exactly what was granted; a grant that is not an object grants nothing. */
      json_t *granted = json_is_object(json_object_get(pi, "granted")) ? json_incref(json_object_get(pi, "granted"))
                                                                      : json_object();
      if (!granted) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
      else {
        h->pi_caps = granted;
        int prc = pi_load_path(h, dir, opts, id_out, id_cap, err);
        h->pi_caps = NULL;
        json_decref(granted);
        rc = prc == 1 ? err_set(err, AL_EPLUGIN_LOAD, NULL, "pi package '%.80s': its directory %.200s has no pi "
                                "extension any more", id_or_dir, dir)
                      : prc;
      }
      free(dir);
      json_decref(rec);
      return rc;
    }
  }
  if (!rc && !dir) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc) rc = pkg_manifest_load_dir(dir, false, &m, NULL, err);
  if (!rc) {
    size_t pn = strlen(dir) + strlen(m->entry) + 2;
    if ((path = malloc(pn))) snprintf(path, pn, "%s/%s", dir, m->entry);
    if (!path || !(mtext = json_text(m->json))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  if (!rc) rc = read_file(path, &code, &len, err);
  if (!rc) {
    al_load_opts o = {0};
    if (opts) o = *opts;
    o.manifest_json = mtext;
    if (!o.source_name) o.source_name = m->entry;
    /* Instance ids are "<package>@<suffix>": a scoped id loses its leading '@'. */
    const char *pkg = m->id[0] == '@' ? m->id + 1 : m->id;
    /* "type": "module" in the package's package.json makes a .js entry an ES module */
    size_t pn = strlen(dir) + sizeof "/package.json";
    char *pj = malloc(pn);
    json_t *pkgjson = NULL;
    if (pj) {
      snprintf(pj, pn, "%s/package.json", dir);
      pkgjson = json_load_file(pj, 0, NULL);
      free(pj);
    }
    const char *type = json_string_value(json_object_get(pkgjson, "type"));
    bool type_module = type && !strcmp(type, "module");
    json_decref(pkgjson);
    rc = host_load_sync(h, pkg, code, len, &o, dir, type_module, id_out, id_cap, err);
  }
  free(dir);
  free(code);
  free(mtext);
  free(path);
  json_decref(rec);
  pkg_manifest_free(m);
  return rc;
}

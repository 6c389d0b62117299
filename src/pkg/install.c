/*
 * install.c: `airlock plugin install` (install.h).
 *
 * Everything happens in a staging directory under home/packages/ (same file system, so
 * the final step is a rename): the npm tarball or the extracted archive lands there, the
 * package is checked there, and a copy made from it becomes home/packages/<id> only after
 * every check passed. The copy is itself a check: only regular files and directories are
 * copied, a symlink anywhere refuses the package (it could point outside it), and the same
 * size and count caps as for tarballs apply. Fetching from npm and checking signatures is
 * fetch.c's; running npm is run.c's.
 *
 * A pi package (no Airlock manifest, and the pi rule finds an extension: wants.h) is
 * installed the same way, with three differences: its identity is package.json's name
 * and version (a manifest {id, version} is made from them, so the record, settings and
 * kv keying are the same as for any package); preflight runs under the pi profile over
 * every source file; and its wants are derived and a grant chosen from them (the
 * caller's pi_* options), both kept in the record's pi column, the one place its
 * capabilities live (db.c, version 4).
 */
#define _GNU_SOURCE
#include "pkg/install_impl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hooks/match.h"
#include "pkg/preflight.h"
#include "pkg/semver.h"
#include "pkg/tarx.h"
#include "pkg/wants.h"

/* snprintf into a path buffer; false when it did not fit (never silently truncated).
   Out of line so the compiler's truncation analysis sees one checked call. */
bool pkg_fmt_path(char *out, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, cap, fmt, ap);
  va_end(ap);
  return n >= 0 && (size_t)n < cap;
}

#define INS_MAX_BYTES ((uint64_t)64 << 20)
#define INS_MAX_FILES 10000u

/* Copies src's tree into dst (created), refusing links and special files. */
typedef struct ins_copy {
  uint64_t bytes;
  unsigned files;
} ins_copy;

static int ins_copy_file(const char *src, const char *dst, mode_t mode, al_error *err) {
  int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return err_set(err, AL_EIO, NULL, "cannot read %s: %s", src, strerror(errno));
  int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode & 0111) ? 0755 : 0644);
  if (out < 0) {
    close(in);
    return err_set(err, AL_EIO, NULL, "cannot create %s: %s", dst, strerror(errno));
  }
  char buf[65536];
  int rc = 0;
  for (;;) {
    ssize_t r = read(in, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = err_set(err, AL_EIO, NULL, "cannot read %s: %s", src, strerror(errno));
      break;
    }
    if (r == 0) break;
    for (ssize_t w = 0; w < r;) {
      ssize_t k = write(out, buf + w, (size_t)(r - w));
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        rc = err_set(err, AL_EIO, NULL, "cannot write %s: %s", dst, strerror(errno));
        break;
      }
      w += k;
    }
    if (rc) break;
  }
  close(in);
  if (close(out) && !rc) rc = err_set(err, AL_EIO, NULL, "cannot write %s: %s", dst, strerror(errno));
  return rc;
}

static int ins_copy_tree(const char *src, const char *dst, const char *rel, ins_copy *c, al_error *err) {
  if (mkdir(dst, 0755)) return err_set(err, AL_EIO, NULL, "cannot create %s: %s", dst, strerror(errno));
  DIR *d = opendir(src);
  if (!d) return err_set(err, AL_EIO, NULL, "cannot read %s: %s", src, strerror(errno));
  int rc = 0;
  struct dirent *e;
  while (!rc && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".git")) continue;
    char s[PATH_MAX], t[PATH_MAX], r[PATH_MAX];
    if (snprintf(s, sizeof s, "%s/%s", src, e->d_name) >= (int)sizeof s ||
        snprintf(t, sizeof t, "%s/%s", dst, e->d_name) >= (int)sizeof t ||
        snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >= (int)sizeof r) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "package path too long: %.200s", s);
      break;
    }
    struct stat st;
    if (lstat(s, &st)) {
      rc = err_set(err, AL_EIO, NULL, "cannot stat %s: %s", s, strerror(errno));
    } else if (S_ISLNK(st.st_mode)) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "package file '%.200s': links are not allowed in a package", r);
    } else if (S_ISDIR(st.st_mode)) {
      rc = ins_copy_tree(s, t, r, c, err);
    } else if (S_ISREG(st.st_mode)) {
      if (++c->files > INS_MAX_FILES || (c->bytes += (uint64_t)st.st_size) > INS_MAX_BYTES)
        rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "package over the caps (%u files, %llu bytes)", INS_MAX_FILES,
                     (unsigned long long)INS_MAX_BYTES);
      else
        rc = ins_copy_file(s, t, st.st_mode, err);
    } else {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "package file '%.200s': only regular files and directories are allowed", r);
    }
  }
  closedir(d);
  return rc;
}

static bool ins_ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

/* The package root inside an extracted tree: the tree itself when it holds a manifest,
 * else its only directory (npm's "package/"). */
static void ins_find_root(const char *x, char *root, size_t cap) {
  char p[PATH_MAX];
  (void)pkg_fmt_path(root, cap, "%s", x);
  (void)pkg_fmt_path(p, sizeof p, "%s/airlock.json", x);
  if (!access(p, F_OK)) return;
  (void)pkg_fmt_path(p, sizeof p, "%s/package.json", x);
  if (!access(p, F_OK)) return;
  DIR *d = opendir(x);
  if (!d) return;
  struct dirent *e;
  int dirs = 0, others = 0;
  char only[NAME_MAX + 1] = "";
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    (void)pkg_fmt_path(p, sizeof p, "%s/%s", x, e->d_name);
    struct stat st;
    if (!lstat(p, &st) && S_ISDIR(st.st_mode)) {
      dirs++;
      snprintf(only, sizeof only, "%s", e->d_name);
    } else {
      others++;
    }
  }
  closedir(d);
  if (dirs == 1 && !others) (void)pkg_fmt_path(root, cap, "%s/%s", x, only);
}

/* Messages about files in the staging area name them relative to what the user gave
 * ("hello.tgz: package/airlock.json: ...") instead of by a path that no longer exists. */
static void ins_rebase_msg(al_error *err, const char *staged, const char *what) {
  if (!err) return;
  char *at = strstr(err->message, staged);
  size_t n = strlen(staged);
  if (!at || at[n] != '/') return;
  char msg[sizeof err->message];
  snprintf(msg, sizeof msg, "%.*s%.200s: %s", (int)(at - err->message), err->message, what, at + n + 1);
  memcpy(err->message, msg, sizeof msg);
}

/* The package's name: package.json's "name" when the root has one, else the manifest id
 * (an airlock.json-only package is known by its id). malloc'd; NULL when out of memory. */
static char *ins_package_name(const char *root, const pkg_manifest *m) {
  char p[PATH_MAX];
  char *name = NULL;
  if (pkg_fmt_path(p, sizeof p, "%s/package.json", root)) {
    json_t *doc = json_load_file(p, 0, NULL);
    const char *n = json_string_value(json_object_get(doc, "name"));
    if (n && n[0]) name = strdup(n);
    json_decref(doc);
    if (name) return name;
  }
  return strdup(m->id);
}

/* Decides what installing m (named `name`) over the record already under m->id means:
 * 0 with *fresh (the old package's data must go) and the report's replaced/downgradedFrom
 * filled, or a refusal naming both packages and the option that would allow it. */
static int ins_check_existing(pkg_db *db, const pkg_manifest *m, const char *name,
                              const pkg_install_opts *o, bool *fresh, json_t *report, al_error *err) {
  *fresh = false;
  json_t *prev = NULL;
  al_error e2;
  int rc = pkg_db_package_get(db, m->id, &prev, &e2);
  if (rc == AL_EINVALID_ARGUMENT) return 0; /* not installed */
  if (rc) {
    if (err) *err = e2;
    return rc;
  }
  const char *pname = json_string_value(json_object_get(prev, "name"));
  const char *pver = json_string_value(json_object_get(prev, "version"));
  if (!pname || strcmp(pname, name)) {
    if (!o->replace) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "id '%.200s' is held by the installed package %s%.200s%s %.64s; '%.200s' %.64s "
                   "declares the same id. Refused: it would take over that package's settings "
                   "and kv data (install --replace replaces it and drops them)",
                   m->id, pname ? "'" : "", pname ? pname : "(name not recorded)", pname ? "'" : "",
                   pver ? pver : "?", name, m->version);
    } else {
      *fresh = true;
      json_object_set_new(report, "replaced", json_pack("{s:o,s:s?}", "name", pname ? json_string(pname) : json_null(),
                                                        "version", pver));
    }
  } else {
    semver a, b;
    if (pver && semver_parse(pver, &a) && semver_parse(m->version, &b) && semver_cmp(&b, &a) < 0) {
      if (!o->allow_downgrade)
        rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                     "'%.200s' %.64s is installed; %.64s is lower. Refused as a downgrade "
                     "(install --allow-downgrade installs it; its settings and kv data are kept)",
                     name, pver, m->version);
      else
        json_object_set_new(report, "downgradedFrom", json_string(pver));
    }
  }
  json_decref(prev);
  return rc;
}

/* ---- pi packages ---------------------------------------------------------------------- */

int pkg_pi_pattern_check(const char *cap, const char *pattern, al_error *err) {
  if (!pkg_wants_cap_known(cap))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "unknown capability '%.40s' (a pi package is granted exec, fs_read, "
                   "fs_write, network or env_vars)", cap ? cap : "");
  if (!pattern || !pattern[0] || strlen(pattern) > 1024)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: a pattern is 1 to 1024 bytes", cap);
  for (const char *p = pattern; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: the pattern has a control character", cap);
  bool ok = true;
  const char *why = "";
  if (!strcmp(cap, "network")) /* the manifest's rule too: a host, never a URL */
    ok = hk_host_pattern_valid(pattern) && !strpbrk(pattern, "/@?# "),
    why = "is not a host pattern (host, host:port, *.host or *; no scheme or path)";
  else if (!strncmp(cap, "fs_", 3))
    ok = hk_path_pattern_valid(pattern), why = "is not a path pattern (absolute, or under $CWD, $HOME or $PLUGIN_DATA)";
  else if (!strcmp(cap, "env_vars")) {
    for (const char *p = pattern; *p && ok; p++)
      ok = isalnum((unsigned char)*p) || *p == '_' || (*p == '*' && !p[1]);
    why = "is not a variable name (or NAME* / *)";
  }
  if (!ok) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: '%.200s' %s", cap, pattern, why);
  return 0;
}

/* Adds pattern to granted[cap] unless there; false when out of memory. */
static bool ins_grant_add(json_t *granted, const char *cap, const char *pattern) {
  json_t *list = json_object_get(granted, cap);
  if (!list) {
    if (json_object_set_new(granted, cap, json_array())) return false;
    list = json_object_get(granted, cap);
  }
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) if (!strcmp(json_string_value(e), pattern)) return true;
  return !json_array_append_new(list, json_string(pattern));
}

/* The grant of a pi package's wants under the caller's options (install.h). */
static int ins_pi_grant(const json_t *wants, const pkg_install_opts *o, json_t **granted, json_t *warnings,
                        al_error *err) {
  json_t *g = json_object();
  if (!(*granted = g)) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  size_t i;
  json_t *w;
  json_array_foreach(wants, i, w) {
    const char *cap = json_string_value(json_object_get(w, "cap"));
    const char *pat = json_string_value(json_object_get(w, "pattern"));
    char out[1100];
    snprintf(out, sizeof out, "%s", pat);
    int yes = o->pi_grant_all;
    if (o->pi_ask) {
      yes = o->pi_ask(o->pi_ask_user, cap, pat, json_is_true(json_object_get(w, "broad")), out, sizeof out);
      if (yes < 0) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "install cancelled: no grant was chosen for %s %.200s", cap, pat);
      out[sizeof out - 1] = '\0';
    }
    if (!yes) continue;
    al_error pe;
    if (pkg_pi_pattern_check(cap, out, &pe)) {
      if (o->pi_ask && strcmp(out, pat)) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s", pe.message);
      char msg[sizeof pe.message + 40];
      snprintf(msg, sizeof msg, "not granted: %s", pe.message);
      if (json_array_append_new(warnings, json_string(msg))) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
      continue;
    }
    if (!ins_grant_add(g, cap, out)) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  for (size_t k = 0; k < o->pi_nallow; k++) {
    const char *a = o->pi_allow[k], *eq = a ? strchr(a, '=') : NULL;
    char cap[32];
    if (!eq || eq == a || (size_t)(eq - a) >= sizeof cap)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "--allow '%.200s': expected CAP=PATTERN (e.g. exec=git *)", a ? a : "");
    snprintf(cap, sizeof cap, "%.*s", (int)(eq - a), a);
    int rc = pkg_pi_pattern_check(cap, eq + 1, err);
    if (rc) return rc;
    if (!ins_grant_add(g, cap, eq + 1)) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  return 0;
}

/* A package id from a name that may not be one (a folder's name): lowercase, anything
 * but [a-z0-9._-] as '-', starting with a letter or digit. */
static void ins_pi_id(const char *from, char *out, size_t cap) {
  size_t n = 0;
  for (const char *p = from; *p && n + 1 < cap && n < PKG_ID_MAX; p++) {
    char c = (char)tolower((unsigned char)*p);
    if (!n && !isalnum((unsigned char)c)) continue;
    out[n++] = isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' ? c : '-';
  }
  out[n] = '\0';
  if (!n) snprintf(out, cap, "pi-package");
}

/* A pi package at root (its package.json `pkg`, NULL when it has none, as
 * pkg_pi_package read it): its manifest {id, version} made from package.json (fallback:
 * the name of what was given), its pi-profile preflight, its wants and their grant. */
static int ins_pi_prepare(const char *root, const json_t *pkg, const char *what, const pkg_install_opts *o,
                          pkg_manifest **m, json_t **pre, json_t **pi, json_t **warnings, al_error *err) {
  json_t *scan = NULL, *granted = NULL, *mj = NULL;
  int rc = 0;
  if (!*warnings && !(*warnings = json_array())) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  const char *name = json_string_value(json_object_get(pkg, "name"));
  const char *version = json_string_value(json_object_get(pkg, "version"));
  char id[PKG_ID_MAX + 1];
  if (name) {
    snprintf(id, sizeof id, "%s", name);
    if (!pkg_id_valid(name))
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "package.json name '%.200s' is not a valid package id (lowercase "
                   "[a-z0-9._-], optionally @scope/)", name);
  } else {
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s", what);
    size_t n = strlen(base);
    while (n > 1 && base[n - 1] == '/') base[--n] = '\0';
    static const char *const exts[] = {".tar.gz", ".tgz", ".tar"};
    for (size_t k = 0; k < 3; k++)
      if (ins_ends_with(base, exts[k])) base[strlen(base) - strlen(exts[k])] = '\0';
    const char *b = strrchr(base, '/');
    ins_pi_id(b ? b + 1 : base, id, sizeof id);
  }
  if (!rc && !(mj = json_pack("{s:s,s:s}", "id", id, "version", version ? version : "0.0.0")))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  const char *desc = json_string_value(json_object_get(pkg, "description"));
  if (!rc && desc) json_object_set_new(mj, "description", json_string(desc));
  char *text = rc ? NULL : json_dumps(mj, JSON_COMPACT);
  if (!rc && !text) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc) rc = pkg_manifest_parse(text, strlen(text), false, false, m, NULL, err);
  free(text);
  if (!rc) rc = pkg_wants_dir(root, &scan, pre, err);
  if (!rc) rc = pkg_preflight_error(*pre, err);
  const json_t *wants = json_object_get(scan, "wants");
  json_int_t dropped = json_integer_value(json_object_get(scan, "dropped"));
  if (!rc && dropped) {
    char msg[160];
    snprintf(msg, sizeof msg, "%lld more capability uses were not listed (over %d); none of them is granted",
             (long long)dropped, PKG_WANTS_MAX);
    json_array_append_new(*warnings, json_string(msg));
  }
  if (!rc) rc = ins_pi_grant(wants, o, &granted, *warnings, err);
  if (!rc && !(*pi = json_pack("{s:s,s:O,s:O}", "profile", "pi", "wants", wants, "granted", granted)))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  json_decref(scan);
  json_decref(granted);
  json_decref(mj);
  return rc;
}

int pkg_pi_grant(pkg_db *db, const char *id, const char *cap, const char *pattern, bool revoke, json_t **granted,
                 al_error *err) {
  if (granted) *granted = NULL;
  json_t *rec = NULL;
  int rc = pkg_db_package_get(db, id, &rec, err);
  if (rc) return rc;
  json_t *pi = json_deep_copy(json_object_get(rec, "pi"));
  json_decref(rec);
  if (!json_object_get(pi, "profile")) {
    json_decref(pi);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "'%.200s' is an Airlock package: its manifest declares its "
                   "capabilities (grants are for pi packages)", id);
  }
  json_t *g = json_object_get(pi, "granted");
  if (!json_is_object(g)) {
    json_object_set_new(pi, "granted", json_object());
    g = json_object_get(pi, "granted");
  }
  if (!revoke) {
    rc = pkg_pi_pattern_check(cap, pattern, err);
    if (!rc && (!g || !ins_grant_add(g, cap, pattern))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  } else {
    json_t *list = json_object_get(g, cap);
    size_t i, at = (size_t)-1;
    json_t *e;
    json_array_foreach(list, i, e) if (!strcmp(json_string_value(e), pattern ? pattern : "")) at = i;
    if (at == (size_t)-1) {
      char *have = json_dumps(list ? list : json_array(), JSON_COMPACT);
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "%.200s: %s '%.200s' is not granted (granted %s: %.300s)", id,
                   cap ? cap : "", pattern ? pattern : "", cap ? cap : "", have ? have : "?");
      free(have);
    } else {
      json_array_remove(list, at);
      if (!json_array_size(list)) json_object_del(g, cap);
    }
  }
  if (!rc) rc = pkg_db_package_pi_set(db, id, pi, err);
  if (!rc && granted) *granted = json_incref(json_object_get(pi, "granted"));
  json_decref(pi);
  return rc;
}

int pkg_install(pkg_db *db, const char *what, const pkg_install_opts *opts, json_t **report_out,
                al_error *err) {
  static const pkg_install_opts none = {0};
  if (!opts) opts = &none;
  if (report_out) *report_out = NULL;
  if (!db || !what || !what[0]) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "install: nothing to install");
  const char *home = pkg_db_home(db);
  /* with these bounds every path built below fits (ins_fmt would refuse, not truncate) */
  if (strlen(home) > PATH_MAX / 2 || strlen(what) > PATH_MAX / 2)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "install: path too long");
  char staging[PATH_MAX], root[PATH_MAX], x[PATH_MAX], dest[PATH_MAX], tmp[PATH_MAX], old[PATH_MAX];
  (void)pkg_fmt_path(staging, sizeof staging, "%s/packages/.staging-XXXXXX", home);
  if (!mkdtemp(staging)) return err_set(err, AL_EIO, NULL, "cannot create a staging directory in %s/packages: %s", home, strerror(errno));
  json_t *report = json_object(), *warnings = NULL, *pre = NULL, *verification = NULL, *pi = NULL, *entries = NULL,
         *pkgjson = NULL;
  pkg_manifest *m = NULL;
  pkg_fetched fetched = {0};
  char *code = NULL, *name = NULL;
  char data[PATH_MAX], olddata[PATH_MAX];
  bool fresh = false;
  int rc = 0;
  tmp[0] = old[0] = olddata[0] = 0;
  struct stat st;
  const char *source;
  x[0] = 0;
  tarx_limits lim = {.max_total_bytes = INS_MAX_BYTES, .max_files = INS_MAX_FILES};
  if (!report) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto fail;
  }
  /* signatures are checked before a byte of the archive is parsed */
  bool npm_named = !strncmp(what, "npm:", 4);
  if (!npm_named && !stat(what, &st) && S_ISDIR(st.st_mode)) {
    source = "directory";
    if ((rc = pkg_verify(source, NULL, NULL, staging, opts, &verification, err))) goto fail;
    (void)pkg_fmt_path(root, sizeof root, "%s", what);
  } else if (!npm_named && !stat(what, &st) && S_ISREG(st.st_mode) &&
             (ins_ends_with(what, ".tgz") || ins_ends_with(what, ".tar.gz") || ins_ends_with(what, ".tar"))) {
    source = "tarball";
    if ((rc = pkg_verify(source, what, NULL, staging, opts, &verification, err))) goto fail;
    (void)pkg_fmt_path(x, sizeof x, "%s/x", staging);
    if ((rc = tarx_extract_file(what, x, &lim, NULL, err))) goto fail;
    ins_find_root(x, root, sizeof root);
  } else if (pkg_npm_spec_ok(what + (npm_named ? 4 : 0))) {
    source = "npm"; /* "npm:" says so explicitly (a name that is also a local path) */
    if ((rc = pkg_npm_fetch(what + (npm_named ? 4 : 0), staging, &fetched, err))) goto fail;
    json_object_set_new(report, "integrity", json_string(fetched.integrity));
    if ((rc = pkg_verify(source, fetched.tgz, &fetched, staging, opts, &verification, err))) goto fail;
    (void)pkg_fmt_path(x, sizeof x, "%s/x", staging);
    if ((rc = tarx_extract_file(fetched.tgz, x, &lim, NULL, err))) goto fail;
    ins_find_root(x, root, sizeof root);
  } else {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                 "'%.200s' is not a directory, a .tgz/.tar file or an npm package name[@version]", what);
    goto fail;
  }
  /* a pi package's entries are the files' to say at every load (the pi rule): reported,
   * not kept in its record */
  int is_pi = pkg_pi_package(root, &pkgjson, &entries, err);
  if (is_pi < 0) {
    rc = -is_pi;
    if (strcmp(source, "directory")) ins_rebase_msg(err, x, what);
    goto fail;
  }
  if (is_pi) {
    if ((rc = ins_pi_prepare(root, pkgjson, what, opts, &m, &pre, &pi, &warnings, err))) {
      if (strcmp(source, "directory")) ins_rebase_msg(err, x, what);
      goto fail;
    }
  } else {
    if ((rc = pkg_manifest_load_dir(root, false, &m, &warnings, err))) {
      if (strcmp(source, "directory")) ins_rebase_msg(err, x, what);
      goto fail;
    }
    if ((rc = pkg_manifest_check_engine(m, AL_VERSION, err))) goto fail;
    char entry[PATH_MAX];
    size_t len = 0;
    (void)pkg_fmt_path(entry, sizeof entry, "%s/%s", root, m->entry);
    if (!(code = pkg_read_file(entry, PKG_READ_MAX, &len))) {
      rc = errno == ENOMEM ? err_set(err, AL_ENO_MEMORY, NULL, "out of memory")
                           : err_set(err, AL_EIO, NULL, "cannot read %s: %s", entry, strerror(errno));
      goto fail;
    }
    if ((rc = pkg_preflight(code, len, m, &pre, err))) goto fail;
    if ((rc = pkg_preflight_error(pre, err))) goto fail;
  }
  if (!(name = ins_package_name(root, m))) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto fail;
  }
  if ((rc = ins_check_existing(db, m, name, opts, &fresh, report, err))) goto fail;

  /* into place: copy to a temporary sibling, then swap with any previous version */
  (void)pkg_fmt_path(dest, sizeof dest, "%s/packages/%s", home, m->id);
  if (m->id[0] == '@') { /* @scope/name: the scope directory */
    char scope[PATH_MAX];
    (void)pkg_fmt_path(scope, sizeof scope, "%s/packages/%.*s", home, (int)(strchr(m->id, '/') - m->id), m->id);
    if ((rc = pkg_mkdirs(scope, 0700, err))) goto fail;
  }
  (void)pkg_fmt_path(tmp, sizeof tmp, "%s/copy", staging);
  ins_copy c = {0};
  if ((rc = ins_copy_tree(root, tmp, "", &c, err))) goto fail;
  if (!lstat(dest, &st)) {
    (void)pkg_fmt_path(old, sizeof old, "%s/old", staging);
    if (rename(dest, old)) {
      rc = err_set(err, AL_EIO, NULL, "cannot replace %s: %s", dest, strerror(errno));
      goto fail;
    }
  }
  if (rename(tmp, dest)) {
    rc = err_set(err, AL_EIO, NULL, "cannot move the package into %s: %s", dest, strerror(errno));
    if (old[0]) rename(old, dest);
    goto fail;
  }
  /* A replaced package's $PLUGIN_DATA (<home>/data/<id>, '/' as '+') goes with its other
   * data: moved aside now, back if recording fails, deleted with the staging area. */
  (void)pkg_fmt_path(data, sizeof data, "%s/data/%s", home, m->id);
  for (char *p = data + strlen(home) + 6; *p; p++)
    if (*p == '/') *p = '+';
  if (fresh && !lstat(data, &st)) {
    (void)pkg_fmt_path(olddata, sizeof olddata, "%s/olddata", staging);
    if (rename(data, olddata)) {
      rc = err_set(err, AL_EIO, NULL, "cannot move the replaced package's data %s aside: %s", data, strerror(errno));
      olddata[0] = 0;
    }
  }
  /* The report is whole before anything is recorded: an install the caller is told of
   * only in part (a pi package's wants and grant missing) would be a lie by omission. */
  if (!rc) {
    bool ok = !json_object_set_new(report, "warnings", warnings ? json_incref(warnings) : json_array()) &&
              !json_object_set_new(report, "id", json_string(m->id)) &&
              !json_object_set_new(report, "name", json_string(name)) &&
              !json_object_set_new(report, "version", json_string(m->version)) &&
              !json_object_set_new(report, "dir", json_string(dest)) &&
              !json_object_set_new(report, "source", json_string(source)) &&
              !json_object_set_new(report, "files", json_integer(c.files)) &&
              (!pre || !json_object_set(report, "preflight", pre)) &&
              (!verification || !json_object_set(report, "verification", verification)) &&
              (!pi || (!json_object_set_new(report, "profile", json_string("pi")) &&
                       !json_object_set(report, "entries", entries) &&
                       !json_object_set(report, "wants", json_object_get(pi, "wants")) &&
                       !json_object_set(report, "granted", json_object_get(pi, "granted"))));
    if (!ok) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  if (rc || (rc = pkg_db_package_put_pi(db, m, name, dest, verification, pi, true, fresh, err))) {
    pkg_rmtree(dest, NULL);
    if (old[0]) rename(old, dest);
    if (olddata[0]) rename(olddata, data);
    goto fail;
  }
  if (report_out) *report_out = json_incref(report);
fail:
  pkg_rmtree(staging, NULL);
  json_decref(report);
  json_decref(warnings);
  json_decref(pre);
  json_decref(verification);
  json_decref(pi);
  json_decref(entries);
  json_decref(pkgjson);
  pkg_manifest_free(m);
  pkg_fetched_free(&fetched);
  free(code);
  free(name);
  return rc;
}

/*
 * install.c: `airlock plugin install` (install.h).
 *
 * Everything happens in a staging directory under home/packages/ (same file system, so
 * the final step is a rename): the npm tarball or the extracted archive lands there, the
 * package is checked there, and a copy made from it becomes home/packages/<id> only after
 * every check passed. The copy is itself a check: only regular files and directories are
 * copied, a symlink anywhere refuses the package (it could point outside it), and the same
 * size and count caps as for tarballs apply. npm runs as a child process with a fixed
 * argument vector (no shell), the spec validated first so it cannot be an option, a URL or
 * a path; $AIRLOCK_NPM overrides the npm executable (tests use a stand-in).
 */
#define _GNU_SOURCE
#include "pkg/install.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pkg/preflight.h"
#include "pkg/semver.h"
#include "pkg/sha512.h"
#include "pkg/tarx.h"

/* snprintf into a path buffer; false when it did not fit (never silently truncated).
   Out of line so the compiler's truncation analysis sees one checked call. */
static bool ins_fmt(char *out, size_t cap, const char *fmt, ...) AL_PRINTF(3, 4);
static bool ins_fmt(char *out, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, cap, fmt, ap);
  va_end(ap);
  return n >= 0 && (size_t)n < cap;
}

#define INS_MAX_BYTES ((uint64_t)64 << 20)
#define INS_MAX_FILES 10000u

static int ins_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT ? -1 : 0;
}

int pkg_rmtree(const char *path, al_error *err) {
  struct stat st;
  if (lstat(path, &st) && errno == ENOENT) return 0;
  if (nftw(path, ins_rm_one, 32, FTW_DEPTH | FTW_PHYS))
    return err_set(err, AL_EIO, NULL, "cannot remove %s: %s", path, strerror(errno));
  return 0;
}

int pkg_integrity_check(const void *data, size_t len, const char *integrity, al_error *err) {
  if (!integrity) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "npm reported no sha512 integrity for the tarball");
  unsigned char d[SHA512_DIGEST_LEN];
  char b64[100];
  if (sha512(data, len, d))
    return err_set(err, AL_ENO_MEMORY, NULL, "cannot check the tarball's integrity: libcrypto could not set up SHA-512 "
                   "(out of memory?)");
  sha512_base64(d, sizeof d, b64, sizeof b64);
  bool seen = false;
  const char *s = integrity;
  while (*s) {
    while (*s == ' ') s++;
    size_t n = strcspn(s, " ");
    if (n > 7 && !strncmp(s, "sha512-", 7)) {
      seen = true;
      const char *h = s + 7;
      size_t hn = strcspn(h, " ?"); /* "?opts" may follow per the SRI grammar */
      if (hn == strlen(b64) && !strncmp(h, b64, hn)) return 0;
    }
    s += n;
  }
  if (!seen) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "npm reported no sha512 integrity for the tarball ('%.100s')", integrity);
  return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball integrity mismatch: npm reported %.120s, the file hashes to sha512-%s",
                 integrity, b64);
}

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

/* An npm spec we are willing to hand to `npm pack`: [@scope/]name[@version-or-range]. */
static bool ins_npm_spec_ok(const char *s) {
  if (!s[0] || s[0] == '-' || strlen(s) > 300) return false;
  const char *at = strchr(s[0] == '@' ? s + 1 : s, '@');
  size_t name_n = at ? (size_t)(at - s) : strlen(s);
  char name[256];
  if (name_n >= sizeof name) return false;
  memcpy(name, s, name_n);
  name[name_n] = 0;
  if (!pkg_id_valid(name)) return false;
  if (at) {
    if (!at[1]) return false;
    for (const char *p = at + 1; *p; p++)
      if (!(isalnum((unsigned char)*p) || strchr(".-+_~^<>=*| ", *p))) return false;
  }
  return true;
}

/* Runs argv with cwd `dir`, stdout into *out (malloc), stderr into dir/npm.err. */
static int ins_run(char *const argv[], const char *dir, char **out, al_error *err) {
  *out = NULL;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC)) return err_set(err, AL_EIO, NULL, "pipe: %s", strerror(errno));
  char errpath[PATH_MAX];
  (void)ins_fmt(errpath, sizeof errpath, "%s/npm.err", dir);
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    return err_set(err, AL_EIO, NULL, "fork: %s", strerror(errno));
  }
  if (pid == 0) {
    int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (chdir(dir) || dup2(pfd[1], 1) < 0 || (efd >= 0 && dup2(efd, 2) < 0)) _exit(126);
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) dup2(nul, 0);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(pfd[1]);
  size_t n = 0, cap = 4096;
  char *buf = malloc(cap);
  for (;;) {
    if (buf && n + 1 == cap) {
      char *nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
      if (!nb) {
        free(buf);
        buf = NULL;
      } else {
        buf = nb;
        cap *= 2;
      }
    }
    char sink[4096];
    ssize_t r = buf ? read(pfd[0], buf + n, cap - n - 1) : read(pfd[0], sink, sizeof sink);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (buf) n += (size_t)r;
  }
  close(pfd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!buf) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory reading npm's output");
  buf[n] = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status)) {
    char last[300] = "";
    FILE *f = fopen(errpath, "r");
    if (f) { /* the last non-empty line says what went wrong */
      char line[300];
      while (fgets(line, sizeof line, f))
        if (line[0] != '\n') snprintf(last, sizeof last, "%s", line);
      fclose(f);
      last[strcspn(last, "\n")] = 0;
    }
    free(buf);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
      return err_set(err, AL_EIO, NULL, "cannot run %s (is npm installed?)", argv[0]);
    return err_set(err, AL_EIO, NULL, "npm pack %s failed%s%s", argv[2], last[0] ? ": " : "", last);
  }
  *out = buf;
  return 0;
}

static char *ins_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n >= 0 && n < (256L << 20) && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
      *len = fread(buf, 1, (size_t)n, f);
      buf[*len] = 0;
    }
  }
  fclose(f);
  return buf;
}

/* npm pack <spec> into staging; *tgz_out = the verified tarball's path (malloc). */
static int ins_npm_fetch(const char *spec, const char *staging, char **tgz_out, json_t *report, al_error *err) {
  const char *npm = getenv("AIRLOCK_NPM");
  if (!npm || !npm[0]) npm = "npm";
  char *argv[] = {(char *)npm, "pack", (char *)spec, "--json", "--pack-destination", (char *)staging, NULL};
  char *out = NULL;
  int rc = ins_run(argv, staging, &out, err);
  if (rc) return rc;
  json_error_t je;
  /* npm may print lifecycle output before the JSON document: start at the first '[' */
  const char *start = strchr(out, '[');
  json_t *doc = start ? json_loads(start, JSON_DISABLE_EOF_CHECK, &je) : NULL;
  json_t *first = json_array_get(doc, 0);
  const char *file = json_string_value(json_object_get(first, "filename"));
  const char *integrity = json_string_value(json_object_get(first, "integrity"));
  char path[PATH_MAX];
  char *data = NULL;
  size_t len = 0;
  if (!file || strchr(file, '/') || file[0] == '.') {
    rc = err_set(err, AL_EIO, NULL, "npm pack %s: unexpected output (no tarball file name)", spec);
    goto done;
  }
  (void)ins_fmt(path, sizeof path, "%s/%s", staging, file);
  if (!(data = ins_read(path, &len))) {
    rc = err_set(err, AL_EIO, NULL, "npm pack %s: cannot read %s", spec, path);
    goto done;
  }
  if ((rc = pkg_integrity_check(data, len, integrity, err))) goto done;
  json_object_set_new(report, "integrity", json_string(integrity));
  if (!(*tgz_out = strdup(path))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
done:
  free(data);
  json_decref(doc);
  free(out);
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
  (void)ins_fmt(root, cap, "%s", x);
  (void)ins_fmt(p, sizeof p, "%s/airlock.json", x);
  if (!access(p, F_OK)) return;
  (void)ins_fmt(p, sizeof p, "%s/package.json", x);
  if (!access(p, F_OK)) return;
  DIR *d = opendir(x);
  if (!d) return;
  struct dirent *e;
  int dirs = 0, others = 0;
  char only[NAME_MAX + 1] = "";
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    (void)ins_fmt(p, sizeof p, "%s/%s", x, e->d_name);
    struct stat st;
    if (!lstat(p, &st) && S_ISDIR(st.st_mode)) {
      dirs++;
      snprintf(only, sizeof only, "%s", e->d_name);
    } else {
      others++;
    }
  }
  closedir(d);
  if (dirs == 1 && !others) (void)ins_fmt(root, cap, "%s/%s", x, only);
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
  if (ins_fmt(p, sizeof p, "%s/package.json", root)) {
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
  (void)ins_fmt(staging, sizeof staging, "%s/packages/.staging-XXXXXX", home);
  if (!mkdtemp(staging)) return err_set(err, AL_EIO, NULL, "cannot create a staging directory in %s/packages: %s", home, strerror(errno));
  json_t *report = json_object(), *warnings = NULL, *pre = NULL;
  pkg_manifest *m = NULL;
  char *tgz = NULL, *code = NULL, *name = NULL;
  char data[PATH_MAX], olddata[PATH_MAX];
  bool fresh = false;
  int rc = 0;
  tmp[0] = old[0] = olddata[0] = 0;
  struct stat st;
  const char *source;
  x[0] = 0;
  tarx_limits lim = {.max_total_bytes = INS_MAX_BYTES, .max_files = INS_MAX_FILES};
  if (!stat(what, &st) && S_ISDIR(st.st_mode)) {
    source = "directory";
    (void)ins_fmt(root, sizeof root, "%s", what);
  } else if (!stat(what, &st) && S_ISREG(st.st_mode) &&
             (ins_ends_with(what, ".tgz") || ins_ends_with(what, ".tar.gz") || ins_ends_with(what, ".tar"))) {
    source = "tarball";
    (void)ins_fmt(x, sizeof x, "%s/x", staging);
    if ((rc = tarx_extract_file(what, x, &lim, NULL, err))) goto fail;
    ins_find_root(x, root, sizeof root);
  } else if (ins_npm_spec_ok(what)) {
    source = "npm";
    if ((rc = ins_npm_fetch(what, staging, &tgz, report, err))) goto fail;
    (void)ins_fmt(x, sizeof x, "%s/x", staging);
    if ((rc = tarx_extract_file(tgz, x, &lim, NULL, err))) goto fail;
    ins_find_root(x, root, sizeof root);
  } else {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                 "'%.200s' is not a directory, a .tgz/.tar file or an npm package name[@version]", what);
    goto fail;
  }
  if ((rc = pkg_manifest_load_dir(root, false, &m, &warnings, err))) {
    if (strcmp(source, "directory")) ins_rebase_msg(err, x, what);
    goto fail;
  }
  if ((rc = pkg_manifest_check_engine(m, AL_VERSION, err))) goto fail;
  char entry[PATH_MAX];
  size_t len = 0;
  (void)ins_fmt(entry, sizeof entry, "%s/%s", root, m->entry);
  if (!(code = ins_read(entry, &len))) {
    rc = err_set(err, AL_EIO, NULL, "cannot read %s: %s", entry, strerror(errno));
    goto fail;
  }
  if ((rc = pkg_preflight(code, len, m, &pre, err))) goto fail;
  if ((rc = pkg_preflight_error(pre, err))) goto fail;
  if (!(name = ins_package_name(root, m))) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto fail;
  }
  if ((rc = ins_check_existing(db, m, name, opts, &fresh, report, err))) goto fail;

  /* into place: copy to a temporary sibling, then swap with any previous version */
  (void)ins_fmt(dest, sizeof dest, "%s/packages/%s", home, m->id);
  if (m->id[0] == '@') { /* @scope/name: the scope directory */
    char scope[PATH_MAX];
    (void)ins_fmt(scope, sizeof scope, "%s/packages/%.*s", home, (int)(strchr(m->id, '/') - m->id), m->id);
    if (mkdir(scope, 0700) && errno != EEXIST) {
      rc = err_set(err, AL_EIO, NULL, "cannot create %s: %s", scope, strerror(errno));
      goto fail;
    }
  }
  (void)ins_fmt(tmp, sizeof tmp, "%s/copy", staging);
  ins_copy c = {0};
  if ((rc = ins_copy_tree(root, tmp, "", &c, err))) goto fail;
  if (!lstat(dest, &st)) {
    (void)ins_fmt(old, sizeof old, "%s/old", staging);
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
  (void)ins_fmt(data, sizeof data, "%s/data/%s", home, m->id);
  for (char *p = data + strlen(home) + 6; *p; p++)
    if (*p == '/') *p = '+';
  if (fresh && !lstat(data, &st)) {
    (void)ins_fmt(olddata, sizeof olddata, "%s/olddata", staging);
    if (rename(data, olddata)) {
      rc = err_set(err, AL_EIO, NULL, "cannot move the replaced package's data %s aside: %s", data, strerror(errno));
      olddata[0] = 0;
    }
  }
  if (rc || (rc = pkg_db_package_put(db, m, name, dest, true, fresh, err))) {
    pkg_rmtree(dest, NULL);
    if (old[0]) rename(old, dest);
    if (olddata[0]) rename(olddata, data);
    goto fail;
  }
  json_object_set_new(report, "id", json_string(m->id));
  json_object_set_new(report, "name", json_string(name));
  json_object_set_new(report, "version", json_string(m->version));
  json_object_set_new(report, "dir", json_string(dest));
  json_object_set_new(report, "source", json_string(source));
  json_object_set_new(report, "files", json_integer(c.files));
  json_object_set(report, "preflight", pre);
  json_object_set_new(report, "warnings", warnings ? warnings : json_array());
  warnings = NULL;
  if (report_out) *report_out = json_incref(report);
fail:
  pkg_rmtree(staging, NULL);
  json_decref(report);
  json_decref(warnings);
  json_decref(pre);
  pkg_manifest_free(m);
  free(tgz);
  free(code);
  free(name);
  return rc;
}

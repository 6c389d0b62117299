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
#include "pkg/signature.h"
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

int pkg_run(char *const argv[], const char *dir, const char *stdin_path, char **out, int *status,
            char *last_err, size_t last_cap, al_error *err) {
  *out = NULL;
  *status = -1;
  if (last_err && last_cap) last_err[0] = 0;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC)) return err_set(err, AL_EIO, NULL, "pipe: %s", strerror(errno));
  char errpath[PATH_MAX];
  if (!ins_fmt(errpath, sizeof errpath, "%s/run.err", dir)) {
    close(pfd[0]);
    close(pfd[1]);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "path too long: %.100s", dir);
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    return err_set(err, AL_EIO, NULL, "fork: %s", strerror(errno));
  }
  if (pid == 0) {
    /* stdin first: a relative stdin_path means the caller's directory, not `dir` */
    int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
    if (in < 0 && stdin_path) _exit(126);
    int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (chdir(dir) || dup2(pfd[1], 1) < 0 || (efd >= 0 && dup2(efd, 2) < 0)) _exit(126);
    if (in >= 0) dup2(in, 0);
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
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
  if (last_err && last_cap) {
    FILE *f = fopen(errpath, "r");
    if (f) { /* the last non-empty line says what went wrong */
      char line[300];
      while (fgets(line, sizeof line, f))
        if (line[0] != '\n') snprintf(last_err, last_cap, "%s", line);
      fclose(f);
      last_err[strcspn(last_err, "\n")] = 0;
    }
  }
  unlink(errpath);
  if (!buf) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory reading the output of %s", argv[0]);
  buf[n] = 0;
  *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  *out = buf;
  return 0;
}

/* Runs npm (argv[0]) in `dir`: its stdout in *out (malloc), or an error naming the npm
 * command (argv[1] argv[2]) and the last line npm wrote to stderr. */
static int ins_run(char *const argv[], const char *dir, char **out, al_error *err) {
  int status;
  char last[300];
  int rc = pkg_run(argv, dir, NULL, out, &status, last, sizeof last, err);
  if (rc || !status) return rc;
  free(*out);
  *out = NULL;
  if (status == 127) return err_set(err, AL_EIO, NULL, "cannot run %s (is npm installed?)", argv[0]);
  return err_set(err, AL_EIO, NULL, "npm %s %s failed%s%s", argv[1], argv[2], last[0] ? ": " : "", last);
}

/* The whole file, malloc()ed and NUL-terminated; NULL with errno set (ENOMEM: out of
 * memory, which the caller reports as such, not as unreadable). */
static char *ins_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  int e = EIO;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n >= 0 && n < (256L << 20) && fseek(f, 0, SEEK_SET) == 0) {
      if ((buf = malloc((size_t)n + 1))) {
        *len = fread(buf, 1, (size_t)n, f);
        buf[*len] = 0;
      } else {
        e = ENOMEM;
      }
    }
  }
  fclose(f);
  if (!buf) errno = e;
  return buf;
}

/* What `npm pack` gave: the tarball (verified against `integrity`) and the exact name
 * and version it resolved the spec to, which `npm view` is then asked about. */
typedef struct ins_fetched {
  char *tgz, *name, *version, *integrity;
} ins_fetched;

static void ins_fetched_free(ins_fetched *f) {
  free(f->tgz);
  free(f->name);
  free(f->version);
  free(f->integrity);
}

static const char *ins_npm(void) {
  const char *npm = getenv("AIRLOCK_NPM");
  return npm && npm[0] ? npm : "npm";
}

/* npm pack <spec> into staging; f filled (the tarball's path, name, version, integrity). */
static int ins_npm_fetch(const char *spec, const char *staging, ins_fetched *f, al_error *err) {
  char *argv[] = {(char *)ins_npm(), "pack", (char *)spec, "--json", "--pack-destination", (char *)staging, NULL};
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
  const char *name = json_string_value(json_object_get(first, "name"));
  const char *version = json_string_value(json_object_get(first, "version"));
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
  f->tgz = strdup(path);
  f->integrity = strdup(integrity);
  f->name = name ? strdup(name) : NULL;
  f->version = version ? strdup(version) : NULL;
  if (!f->tgz || !f->integrity || (name && !f->name) || (version && !f->version))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
done:
  free(data);
  json_decref(doc);
  free(out);
  return rc;
}

static json_t *ins_outcome(const char *status, const char *problem, const char *reason) {
  json_t *o = json_pack("{s:s,s:s}", "status", status, "reason", reason);
  if (o && problem) json_object_set_new(o, "problem", json_string(problem));
  return o;
}

/* The registry's keys document for a signature that was offered (opts: file, else the
 * caller's fetch given `npm config get registry`). *doc NULL with `why` filled when there
 * is none; an unreadable keys file the user named is an error, not a missing key. */
static int ins_registry_keys(const pkg_install_opts *o, const char *staging, char **doc, size_t *len, char *why,
                             size_t why_cap, al_error *err) {
  *doc = NULL;
  *len = 0;
  if (o->registry_keys_file) {
    errno = 0; /* ins_read leaves it 0 for a file over its size cap */
    if (!(*doc = ins_read(o->registry_keys_file, len)))
      return err_set(err, AL_EIO, NULL, "cannot read the registry keys file %.300s: %s", o->registry_keys_file,
                     errno ? strerror(errno) : "too large");
    return 0;
  }
  if (!o->registry_keys) {
    snprintf(why, why_cap, "no keys document was given (--registry-keys FILE)");
    return 0;
  }
  char *argv[] = {(char *)ins_npm(), "config", "get", "registry", NULL};
  char *reg = NULL;
  al_error e2;
  if (ins_run(argv, staging, &reg, &e2)) {
    snprintf(why, why_cap, "%.300s", e2.message);
    return 0;
  }
  reg[strcspn(reg, "\r\n")] = 0;
  if (strncmp(reg, "https://", 8) && strncmp(reg, "http://", 7)) {
    snprintf(why, why_cap, "npm config get registry printed no URL ('%.100s')", reg);
  } else if (o->registry_keys(o->registry_keys_user, reg, doc, len, &e2)) {
    snprintf(why, why_cap, "%.300s", e2.message);
    free(*doc);
    *doc = NULL;
  }
  free(reg);
  return 0;
}

/* The registry signature outcome of what npm pack fetched. Only a keys file that cannot
 * be read is an error; everything else is an outcome, recorded and judged by policy. */
static int ins_registry(const ins_fetched *f, const char *staging, const pkg_install_opts *o, json_t **outcome,
                        al_error *err) {
  *outcome = NULL;
  semver v;
  /* both go on npm's command line: only a valid name and an exact version */
  if (!f->name || !pkg_id_valid(f->name) || !f->version || !semver_parse(f->version, &v)) {
    *outcome = ins_outcome("failed", "unreadable", "npm pack named no valid package name and version to look up");
    return *outcome ? 0 : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  char spec[600];
  (void)ins_fmt(spec, sizeof spec, "%s@%s", f->name, f->version);
  char *argv[] = {(char *)ins_npm(), "view", spec, "dist", "time", "--json", NULL};
  char *view = NULL, *keys = NULL;
  size_t keys_len = 0;
  char why[400] = "";
  al_error e2;
  int rc = 0;
  if (ins_run(argv, staging, &view, &e2)) {
    snprintf(why, sizeof why, "the registry's signature could not be read: %.300s", e2.message);
    *outcome = ins_outcome("failed", "unreadable", why);
  } else {
    if (pkg_sig_registry_offered(view, strlen(view)) &&
        (rc = ins_registry_keys(o, staging, &keys, &keys_len, why, sizeof why, err)))
      goto done;
    *outcome = pkg_sig_registry_check(keys, keys_len, why[0] ? why : NULL, view, strlen(view), f->name, f->version,
                                      f->integrity);
  }
  if (!*outcome) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
done:
  free(view);
  free(keys);
  return rc;
}

/* The sha512 integrity string of a tarball file, for the record (malloc; NULL on error). */
static char *ins_file_integrity(const char *path) {
  size_t len = 0;
  char *data = ins_read(path, &len);
  unsigned char d[SHA512_DIGEST_LEN];
  char b64[100], *out = NULL;
  if (data && !sha512(data, len, d) && sha512_base64(d, sizeof d, b64, sizeof b64) && asprintf(&out, "sha512-%s", b64) < 0)
    out = NULL;
  free(data);
  return out;
}

static bool ins_verified(const json_t *outcome) {
  const char *s = json_string_value(json_object_get(outcome, "status"));
  return s && !strcmp(s, "verified");
}

static const char *ins_reason(const json_t *outcome) {
  const char *r = json_string_value(json_object_get(outcome, "reason"));
  return r ? r : "?";
}

/* Checks every signature there is to check for the package from `source` (tarball: the
 * file to verify; f: what npm fetched, or NULL), before any of its bytes are extracted;
 * *verification = the record. Refuses when a publisher signature given does not verify
 * or a requirement is not met. */
static int ins_verify(const char *source, const char *tarball, const ins_fetched *f, const char *staging,
                      const pkg_install_opts *o, json_t **verification, al_error *err) {
  json_t *reg = NULL, *pub = NULL;
  char *integ = NULL;
  char req[64];
  unsigned need = o->require_signature;
  int rc = 0;
  *verification = NULL;
  pkg_sig_require_name(need, req, sizeof req);
  if (o->signature && !o->signers)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "a publisher signature needs the allowed signers file to check it against (--signers FILE)");
  if (!strcmp(source, "directory") && o->signature)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "a directory cannot carry a publisher signature: signatures are over a tarball's bytes "
                   "(npm pack the directory, sign the .tgz, install the .tgz). Refused: nothing was installed");
  if (f) {
    if ((rc = ins_registry(f, staging, o, &reg, err))) goto done;
  } else {
    reg = ins_outcome("none", NULL, !strcmp(source, "directory") ? "not applicable: installed from a directory"
                                                                   : "not applicable: installed from a tarball file");
  }
  if (o->signature) {
    if ((rc = pkg_sig_publisher_check(tarball, o->signature, o->signers, o->signer_identity, staging, &pub, err))) goto done;
  } else {
    pub = ins_outcome("none", NULL, "none given");
  }
  if (!reg || !pub) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto done;
  }
  if (o->signature && !ins_verified(pub)) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "publisher signature: %s. Refused: nothing was installed", ins_reason(pub));
    goto done;
  }
  const char *what = f ? "" : !strcmp(source, "directory") ? " (a directory carries no signature)" : "";
  if ((need & PKG_SIGREQ_REGISTRY) && !ins_verified(reg)) {
    if (!f)
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "a registry signature is required (%s) but only packages fetched by name from npm have one%s. "
                   "Refused: nothing was installed", req, what);
    else
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "a registry signature is required (%s) but %s%s. Refused: nothing was installed",
                   req, strcmp(json_string_value(json_object_get(reg, "status")), "none") ? "" : "no signature was offered: ",
                   ins_reason(reg));
    goto done;
  }
  if ((need & PKG_SIGREQ_PUBLISHER) && !ins_verified(pub)) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                 "a publisher signature is required (%s) but none was given%s (--signature SIG --signers ALLOWED_SIGNERS). "
                 "Refused: nothing was installed", req, what);
    goto done;
  }
  if ((need & PKG_SIGREQ_ANY) && !ins_verified(reg) && !ins_verified(pub)) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                 "a signature is required (%s) but none verified%s: registry: %s; publisher: %s. Refused: nothing was installed",
                 req, what, ins_reason(reg), ins_reason(pub));
    goto done;
  }
  if (f) integ = strdup(f->integrity);
  else if (tarball) integ = ins_file_integrity(tarball);
  *verification = json_pack("{s:s?,s:O,s:O,s:s}", "integrity", integ, "registry", reg, "publisher", pub, "required", req);
  if (!*verification) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
done:
  json_decref(reg);
  json_decref(pub);
  free(integ);
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
  json_t *report = json_object(), *warnings = NULL, *pre = NULL, *verification = NULL;
  pkg_manifest *m = NULL;
  ins_fetched fetched = {0};
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
    if ((rc = ins_verify(source, NULL, NULL, staging, opts, &verification, err))) goto fail;
    (void)ins_fmt(root, sizeof root, "%s", what);
  } else if (!npm_named && !stat(what, &st) && S_ISREG(st.st_mode) &&
             (ins_ends_with(what, ".tgz") || ins_ends_with(what, ".tar.gz") || ins_ends_with(what, ".tar"))) {
    source = "tarball";
    if ((rc = ins_verify(source, what, NULL, staging, opts, &verification, err))) goto fail;
    (void)ins_fmt(x, sizeof x, "%s/x", staging);
    if ((rc = tarx_extract_file(what, x, &lim, NULL, err))) goto fail;
    ins_find_root(x, root, sizeof root);
  } else if (ins_npm_spec_ok(what + (npm_named ? 4 : 0))) {
    source = "npm"; /* "npm:" says so explicitly (a name that is also a local path) */
    if ((rc = ins_npm_fetch(what + (npm_named ? 4 : 0), staging, &fetched, err))) goto fail;
    json_object_set_new(report, "integrity", json_string(fetched.integrity));
    if ((rc = ins_verify(source, fetched.tgz, &fetched, staging, opts, &verification, err))) goto fail;
    (void)ins_fmt(x, sizeof x, "%s/x", staging);
    if ((rc = tarx_extract_file(fetched.tgz, x, &lim, NULL, err))) goto fail;
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
    rc = errno == ENOMEM ? err_set(err, AL_ENO_MEMORY, NULL, "out of memory")
                         : err_set(err, AL_EIO, NULL, "cannot read %s: %s", entry, strerror(errno));
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
  if (rc || (rc = pkg_db_package_put(db, m, name, dest, verification, true, fresh, err))) {
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
  json_object_set(report, "verification", verification);
  if (report_out) *report_out = json_incref(report);
fail:
  pkg_rmtree(staging, NULL);
  json_decref(report);
  json_decref(warnings);
  json_decref(pre);
  json_decref(verification);
  pkg_manifest_free(m);
  ins_fetched_free(&fetched);
  free(code);
  free(name);
  return rc;
}

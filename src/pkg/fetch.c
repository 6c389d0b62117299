/*
 * fetch.c: where a package's bytes come from and whether to trust them (install_impl.h).
 * npm runs as a child process with a fixed argument vector (no shell), the spec validated
 * first so it cannot be an option, a URL or a path; $AIRLOCK_NPM overrides the npm
 * executable (tests use a stand-in). A tarball is checked against the sha512 integrity
 * npm reported before anything else reads it; then the registry's signature (npm view)
 * and a publisher's (ssh-keygen -Y, signature.c) are checked, and the install's
 * requirement applied, before a single byte is extracted.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/install_impl.h"
#include "pkg/semver.h"
#include "pkg/sha512.h"
#include "pkg/signature.h"

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

bool pkg_npm_spec_ok(const char *s) {
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

void pkg_fetched_free(pkg_fetched *f) {
  free(f->tgz);
  free(f->name);
  free(f->version);
  free(f->integrity);
}

static const char *ins_npm(void) {
  const char *npm = getenv("AIRLOCK_NPM");
  return npm && npm[0] ? npm : "npm";
}

int pkg_npm_fetch(const char *spec, const char *staging, pkg_fetched *f, al_error *err) {
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
  (void)pkg_fmt_path(path, sizeof path, "%s/%s", staging, file);
  if (!(data = pkg_read_file(path, PKG_READ_MAX, &len))) {
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
    if (!(*doc = pkg_read_file(o->registry_keys_file, PKG_READ_MAX, len)))
      return err_set(err, AL_EIO, NULL, "cannot read the registry keys file %.300s: %s", o->registry_keys_file,
                     strerror(errno));
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
static int ins_registry(const pkg_fetched *f, const char *staging, const pkg_install_opts *o, json_t **outcome,
                        al_error *err) {
  *outcome = NULL;
  semver v;
  /* both go on npm's command line: only a valid name and an exact version */
  if (!f->name || !pkg_id_valid(f->name) || !f->version || !semver_parse(f->version, &v)) {
    *outcome = ins_outcome("failed", "unreadable", "npm pack named no valid package name and version to look up");
    return *outcome ? 0 : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  char spec[600];
  (void)pkg_fmt_path(spec, sizeof spec, "%s@%s", f->name, f->version);
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
  char *data = pkg_read_file(path, PKG_READ_MAX, &len);
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

int pkg_verify(const char *source, const char *tarball, const pkg_fetched *f, const char *staging,
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

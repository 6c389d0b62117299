/*
 * install.h: `airlock plugin install`: turns a directory, a tarball or an npm package name
 * into an installed, enabled package: home/packages/<id>/ plus its record in the host
 * database. The steps, each of which can refuse the package with a clear error and leave
 * nothing behind: fetch (npm names: `npm pack <name> --json` in a temporary directory, then
 * the tarball's sha512 integrity as npm reported it is recomputed and compared), extract
 * safely (tarx.h), validate the manifest (warnings kept), check engines.airlock, run
 * preflight on the entry (a blocking finding refuses with PREFLIGHT_BLOCKED), copy/move
 * into place (an existing installation of the same id is replaced only after all checks
 * passed, and only when it is the same package at a lower or equal version, or the caller
 * confirmed the takeover or downgrade: pkg_install_opts), record.
 *
 * Threading: one install at a time per home (callers serialise; the CLI is one process).
 */
#ifndef AL_PKG_INSTALL_H
#define AL_PKG_INSTALL_H

#include "common.h"
#include "pkg/db.h"
#include "pkg/paths.h" /* pkg_rmtree, which `airlock plugin remove` uses too */

/* What an install may do to a package already recorded under the same id. The package's
 * name is package.json's "name" (else the manifest id); the id is what plugins, settings,
 * kv data and $PLUGIN_DATA are keyed by, so a different package declaring an installed id
 * would inherit all of them. Both refusals are AL_EINVALID_ARGUMENT naming the installed
 * and the new package and the option that would allow it. */
typedef struct pkg_install_opts {
  /* Another package (a different name, or one recorded before names were kept) holds the
   * id: replace it. Its settings, kv data and $PLUGIN_DATA directory are dropped, never
   * inherited. */
  bool replace;
  /* The same package at a higher version is installed: install this lower one anyway. Its
   * settings and kv data are kept (they are this package's own). */
  bool allow_downgrade;

  /* Signatures (signature.h; docs/packages.md "Signatures"). Every outcome is recorded
   * with the package; a requirement not met refuses the install and leaves nothing. */
  unsigned require_signature; /* PKG_SIGREQ_* mask; 0: none required */
  /* A publisher signature over the tarball (ssh-keygen -Y sign -n airlock-package),
   * checked against the allowed signers file `signers` (both needed together), for the
   * principal signer_identity (NULL: the one find-principals names). A signature given
   * is a signature asked for: one that does not verify refuses the install even when
   * none is required. A directory cannot carry one (refused). */
  const char *signature, *signers, *signer_identity;
  /* The npm registry's keys document (<registry>/-/npm/v1/keys), needed only when the
   * registry offers a signature: read from registry_keys_file when set, else asked of
   * registry_keys (given the registry URL from `npm config get registry`; fills *doc,
   * malloc'd, and *len; 0 or an error saying why) when set, else there are none (the
   * signature is then "failed: no-keys"). pkg does no network I/O of its own. */
  const char *registry_keys_file;
  int (*registry_keys)(void *user, const char *registry, char **doc, size_t *len, al_error *err);
  void *registry_keys_user;

  /* pi packages (no Airlock manifest; the pi rule, wants.h). What is granted of the
   * capabilities the code asks for (its wants), in this order:
   *   pi_ask, when set, is asked about each want: 1 grants the pattern in out (cap bytes,
   *   holding the want's pattern on entry; the callee may narrow it in place), 0 denies,
   *   negative cancels the install (nothing is left behind);
   *   else pi_grant_all grants every want as derived, and without it none is granted;
   *   then each of pi_allow (pi_nallow strings "CAP=PATTERN") is granted as well, want or
   *   not: the user's own narrower (or extra) patterns.
   * A pattern is checked as the capability's policy patterns are (an invalid one refuses
   * the install when the user gave it, and is left ungranted, with a warning, when it was
   * derived). Ignored for an Airlock package (its manifest declares its capabilities). */
  int (*pi_ask)(void *user, const char *cap, const char *pattern, bool broad, char *out, size_t cap_bytes);
  void *pi_ask_user;
  bool pi_grant_all;
  const char *const *pi_allow;
  size_t pi_nallow;
} pkg_install_opts;

/* `what`: an existing directory, a file ending in .tgz/.tar.gz/.tar, or an npm package
 * spec (`name`, `@scope/name`, `name@version`, each optionally prefixed "npm:"). `opts` may be NULL (nothing allowed or
 * required). On success *report (new reference; may be NULL if not wanted) = {id, name,
 * version, dir, source, preflight, warnings[], verification}, plus "replaced": {name,
 * version} when another package's record was replaced and "downgradedFrom": version when
 * a higher version was. verification = {integrity (null for a directory), registry,
 * publisher (outcomes, signature.h), required}, the record the database keeps. */
int pkg_install(pkg_db *db, const char *what, const pkg_install_opts *opts, json_t **report,
                al_error *err);

/* A pi package's report adds profile: "pi", entries: [...], wants: [{cap, pattern, broad,
 * file, line, column}], granted: {cap: [patterns]}, and its preflight (the pi profile,
 * preflight.h, over every source file; a finding's message names its file). */

/* Grants (revoke false) or revokes one capability pattern of the installed pi package
 * `id`, in its record (what its extensions load with from then on). A grant is checked as
 * at install; a revoke of a pattern not granted is AL_EINVALID_ARGUMENT naming what is.
 * *granted (may be NULL) = the grant after the change (new reference). */
int pkg_pi_grant(pkg_db *db, const char *id, const char *cap, const char *pattern, bool revoke,
                 json_t **granted, al_error *err);

/* Checks one granted pattern for capability `cap` (exec, fs_read, fs_write, network,
 * env_vars). 0 or AL_EINVALID_ARGUMENT saying what is wrong. */
int pkg_pi_pattern_check(const char *cap, const char *pattern, al_error *err);

/* Verifies an npm integrity string ("sha512-<base64>", possibly several space-separated;
 * the sha512 ones are checked) against `data`. 0, or AL_EINVALID_ARGUMENT "integrity
 * mismatch..." / "no sha512 integrity". */
int pkg_integrity_check(const void *data, size_t len, const char *integrity, al_error *err);

/* For src/pkg's own use (npm, ssh-keygen): runs argv[0] (looked up in PATH) with the
 * argument vector as given, never through a shell, with cwd `dir`, stdin from stdin_path
 * (relative to the caller's directory; NULL: /dev/null) and stderr into a file in `dir` (removed after).
 * Returns 0 when the child ran to an exit, with *out (malloc, NUL-terminated; free()) its
 * stdout (at most 16 MiB is kept), *status its exit status (127: could not be executed;
 * -1: killed by a signal) and last_err (may be NULL) the last non-empty line of its
 * stderr; AL_EIO / AL_ENO_MEMORY when it could not be run or read. */
int pkg_run(char *const argv[], const char *dir, const char *stdin_path, char **out, int *status,
            char *last_err, size_t last_cap, al_error *err);


#endif

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
} pkg_install_opts;

/* `what`: an existing directory, a file ending in .tgz/.tar.gz/.tar, or an npm package
 * spec (`name`, `@scope/name`, `name@version`). `opts` may be NULL (neither allowed). On
 * success *report (new reference; may be NULL if not wanted) = {id, name, version, dir,
 * source, preflight, warnings[]}, plus "replaced": {name, version} when another package's
 * record was replaced and "downgradedFrom": version when a higher version was. */
int pkg_install(pkg_db *db, const char *what, const pkg_install_opts *opts, json_t **report,
                al_error *err);

/* Verifies an npm integrity string ("sha512-<base64>", possibly several space-separated;
 * the sha512 ones are checked) against `data`. 0, or AL_EINVALID_ARGUMENT "integrity
 * mismatch..." / "no sha512 integrity". */
int pkg_integrity_check(const void *data, size_t len, const char *integrity, al_error *err);

/* Removes a directory tree (no symlink is followed). 0 or AL_EIO. Used by install and
 * by `airlock plugin remove`. */
int pkg_rmtree(const char *path, al_error *err);

#endif

/*
 * install.h: `airlock plugin install`: turns a directory, a tarball or an npm package name
 * into an installed, enabled package: home/packages/<id>/ plus its record in the host
 * database. The steps, each of which can refuse the package with a clear error and leave
 * nothing behind: fetch (npm names: `npm pack <name> --json` in a temporary directory, then
 * the tarball's sha512 integrity as npm reported it is recomputed and compared), extract
 * safely (tarx.h), validate the manifest (warnings kept), check engines.airlock, run
 * preflight on the entry (a blocking finding refuses with PREFLIGHT_BLOCKED), copy/move
 * into place (an existing installation of the same id is replaced only after all checks
 * passed), record.
 *
 * Threading: one install at a time per home (callers serialise; the CLI is one process).
 */
#ifndef AL_PKG_INSTALL_H
#define AL_PKG_INSTALL_H

#include "common.h"
#include "pkg/db.h"

/* `what`: an existing directory, a file ending in .tgz/.tar.gz/.tar, or an npm package
 * spec (`name`, `@scope/name`, `name@version`). On success *report (new reference; may be
 * NULL if not wanted) = {id, version, dir, source, preflight, warnings[]}. */
int pkg_install(pkg_db *db, const char *what, json_t **report, al_error *err);

/* Verifies an npm integrity string ("sha512-<base64>", possibly several space-separated;
 * the sha512 ones are checked) against `data`. 0, or AL_EINVALID_ARGUMENT "integrity
 * mismatch..." / "no sha512 integrity". */
int pkg_integrity_check(const void *data, size_t len, const char *integrity, al_error *err);

/* Removes a directory tree (no symlink is followed). 0 or AL_EIO. Used by install and
 * by `airlock plugin remove`. */
int pkg_rmtree(const char *path, al_error *err);

#endif

/*
 * paths.h: the two directory-tree operations the package layer needs, in one place:
 * creating a path with its parents (the home, its packages folder, a scope folder) and
 * removing a tree without following a symlink (a failed install's staging, a removed
 * package, a tarball's scratch folder).
 *
 * Threading: none of their own; the file system is shared with whoever else writes it.
 */
#ifndef AL_PKG_PATHS_H
#define AL_PKG_PATHS_H

#include "common.h"

/* mkdir -p: creates `path` and every missing parent with `mode` (existing ones are left
 * as they are) and checks the result is a directory. 0, AL_EINVALID_ARGUMENT (path too
 * long) or AL_EIO naming the part that could not be made. */
int pkg_mkdirs(const char *path, unsigned mode, al_error *err);
/* Removes a directory tree (no symlink is followed); a missing one is fine. 0 or AL_EIO. */
int pkg_rmtree(const char *path, al_error *err);

#endif

/*
 * paths.h: the two directory-tree operations the package layer needs, in one place:
 * creating a path with its parents (the home, its packages folder, a scope folder),
 * removing a tree without following a symlink (a failed install's staging, a removed
 * package, a tarball's scratch folder), and reading a whole file under a size cap.
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
/* A whole file of at most `max` bytes, NUL-terminated (malloc; free()), its size in *len
 * (may be NULL); NULL when it cannot be read, errno saying why: ENOMEM out of memory
 * (report it as such, not as unreadable), EFBIG over `max`, else the system's reason. The
 * one file reader of the package layer and the host's loads. */
char *pkg_read_file(const char *path, size_t max, size_t *len);
/* Removes a directory tree (no symlink is followed); a missing one is fine. 0 or AL_EIO. */
int pkg_rmtree(const char *path, al_error *err);

#endif

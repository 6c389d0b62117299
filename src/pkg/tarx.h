/*
 * tarx.h: safe extraction of a package tarball (.tgz / .tar.gz, as `npm pack` writes,
 * or a plain .tar). Hostile input is the normal case: every entry name is checked before
 * anything is written (no absolute paths, no `..` segment, no NUL, no backslash games),
 * links of any kind are refused (a package needs none, and a link is the usual way to
 * write outside the destination), device/fifo entries are refused, and totals are capped.
 * Everything is extracted into a fresh temporary directory beside the destination, which
 * is renamed into place only when the whole archive was good; on any error the temporary
 * directory is removed and the destination was never touched. npm's leading `package/`
 * directory is stripped (`strip` components). The archive is parsed by libarchive (tar and
 * gzip only); every rule above is Airlock's own, applied on top (tarx.c).
 *
 * Thread-safe: no state of ours is shared, and each call has its own libarchive reader
 * (libarchive's tar reader does bump a static counter for the inode numbers it makes up,
 * a race on values nothing here reads). The destination's parent must exist.
 */
#ifndef AL_PKG_TARX_H
#define AL_PKG_TARX_H

#include "common.h"

typedef struct tarx_limits {
  uint64_t max_total_bytes; /* sum of file sizes; 0: 64 MiB */
  uint32_t max_files;       /* entries; 0: 10000 */
  uint64_t max_file_bytes;  /* one file; 0: max_total_bytes */
  unsigned strip;           /* leading path components removed; entries with fewer are skipped */
} tarx_limits;

/* Extracts the archive in memory (`data`, `len`; gzip detected by magic) to `dest`, which
 * must not exist. Errors: AL_EINVALID_ARGUMENT naming the entry and the rule
 * ("tarball entry '../evil': path escapes the package"), AL_EIO for file system errors.
 * `limits` may be NULL. *files_out (may be NULL) receives the number of files written. */
int tarx_extract(const void *data, size_t len, const char *dest, const tarx_limits *limits,
                 size_t *files_out, al_error *err);

/* As above for a file on disk. */
int tarx_extract_file(const char *path, const char *dest, const tarx_limits *limits,
                      size_t *files_out, al_error *err);

#endif

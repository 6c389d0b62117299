/*
 * fsops.h: the host side of pi.fs, on paths the capability chain has already allowed.
 *
 * Paths come in canonical (hk_path_resolve), so every component is a real directory and
 * no component is a symlink. Each operation walks the path from "/" one component at a
 * time with openat(O_NOFOLLOW | O_DIRECTORY), and opens the last with O_NOFOLLOW: if a
 * symlink appears after the check (a race with another process), the operation fails
 * instead of following it out of the granted tree. Writes go to a temporary file in the
 * same directory (O_EXCL), are fsync()ed and renamed over the target, so a reader sees the
 * old text or the new, never half. Reads and lists are capped; text must be UTF-8.
 *
 * Errors: AL_EINVALID_ARGUMENT (not absolute, too large, not UTF-8, a symlink or a
 * non-regular file where a file was expected), AL_EIO (errno text, naming the path).
 * Threading: any thread.
 */
#ifndef AL_HK_FSOPS_H
#define AL_HK_FSOPS_H

#include "common.h"

#define HK_FS_DEFAULT_MAX_BYTES ((size_t)1 << 20)
#define HK_FS_DEFAULT_MAX_ENTRIES 10000

/* Reads a regular file of at most max_bytes (0: default). *out malloc()ed, NUL-terminated,
 * free with free(); *len (may be NULL) its length. A missing file is AL_EIO "no such
 * file". */
int hk_fs_read_text(const char *canon, size_t max_bytes, char **out, size_t *len, al_error *err);

/* Replaces (or creates, mode 0644 less umask) the file with `text` (len bytes, UTF-8,
 * at most max_bytes, 0: default). The parent directory must exist. */
int hk_fs_write_text(const char *canon, const char *text, size_t len, size_t max_bytes,
                     al_error *err);

/* *exists: whether something (not followed if a symlink) is at the path. A missing
 * parent is "false", not an error. */
int hk_fs_exists(const char *canon, bool *exists, al_error *err);

/* *out = {type: "file"|"dir"|"link"|"other", size, mtimeMs} of what is at the path (a
 * symlink is "link", never followed), or JSON null when nothing is (a missing parent
 * too); a new reference. For Node's fs.statSync in the pi profile. */
int hk_fs_stat(const char *canon, json_t **out, al_error *err);

/* The directory's entries, sorted by name, as a new array of {name, type:
 * "file"|"dir"|"link"|"other"}; "." and ".." left out; at most max_entries (0: default),
 * more is AL_EINVALID_ARGUMENT. */
int hk_fs_list(const char *canon, size_t max_entries, json_t **out, al_error *err);

/* Creates the directory `canon` and any missing parents (mode 0700), walking from "/"
 * with O_NOFOLLOW like the operations above, so a symlink on the way is refused rather
 * than followed. An existing directory is success. For the host's own directories (a
 * plugin's $PLUGIN_DATA before its first write), never for a plugin-chosen path. */
int hk_fs_ensure_dir(const char *canon, al_error *err);

#endif

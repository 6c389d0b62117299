/*
 * fsops.c: pi.fs operations on canonical, authorised paths (fsops.h).
 *
 * The capability check saw a canonical path; between that check and the operation
 * another process could replace a directory on it with a symlink. So nothing here hands
 * a whole path to the kernel: walk() opens "/" and then each directory component with
 * O_NOFOLLOW | O_DIRECTORY relative to the previous one, and the final component is opened
 * with O_NOFOLLOW too. A symlink anywhere fails the operation (ELOOP / ENOTDIR) instead of
 * being followed out of the granted tree.
 *
 * Writes: a temporary file created with O_EXCL beside the target, written, fsync()ed,
 * renamed over the target (rename replaces a symlink, never follows it), and the directory
 * fsync()ed, so after success the new text survives a crash and at no time does a reader
 * see a partial file. The replacement keeps the permission bits of the regular file it
 * replaces (a 0600 secrets file stays 0600; set-id bits are dropped, as any rewrite by
 * another owner would); a new file gets 0644 less the umask. The temporary file is
 * created 0600 and only then given its mode, so it is never wider than the result.
 */
#define _GNU_SOURCE /* fdopendir and O_* on every libc we build with */
#include "contract/utf8.h"
#include "hooks/fsops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens the directory holding the last component of canon; *name points into canon at
 * that component ("" for "/"). Returns the fd or -1 with errno set. */
static int walk(const char *canon, const char **name) {
  int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  const char *s = canon;
  for (;;) {
    while (*s == '/') s++;
    size_t n = strcspn(s, "/");
    const char *next = s + n;
    while (*next == '/') next++;
    if (*next == '\0') { /* s is the last component */
      *name = s;
      return fd;
    }
    char comp[NAME_MAX + 1];
    if (n > NAME_MAX) {
      close(fd);
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(comp, s, n);
    comp[n] = '\0';
    int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(fd);
    if (nfd < 0) {
      errno = e;
      return -1;
    }
    fd = nfd;
    s = next;
  }
}

static int check_canon(const char *canon, al_error *err) {
  if (!canon || canon[0] != '/')
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: path must be absolute and canonical");
  if (strlen(canon) >= PATH_MAX)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: path longer than %d bytes", PATH_MAX - 1);
  return 0;
}

static int errno_fail(al_error *err, int e, const char *op, const char *canon) {
  if (e == ELOOP)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "fs: %s '%.300s': a symlink is in the way (symlinks are not followed)", op,
                   canon);
  if (e == ENOENT)
    return err_set(err, AL_EIO, NULL, "fs: %s '%.300s': no such file or directory", op, canon);
  if (e == ENOTDIR)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "fs: %s '%.300s': a component is a symlink or not a directory", op, canon);
  return err_set(err, AL_EIO, NULL, "fs: %s '%.300s': %s", op, canon, strerror(e));
}

int hk_fs_read_text(const char *canon, size_t max_bytes, char **out, size_t *len, al_error *err) {
  if (out) *out = NULL;
  if (len) *len = 0;
  if (!out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: out is NULL");
  int rc = check_canon(canon, err);
  if (rc) return rc;
  if (!max_bytes) max_bytes = HK_FS_DEFAULT_MAX_BYTES;
  const char *name;
  int dfd = walk(canon, &name);
  if (dfd < 0) return errno_fail(err, errno, "readText", canon);
  int fd = *name ? openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
                 : -1;
  int e = *name ? errno : EISDIR;
  close(dfd);
  if (fd < 0) return errno_fail(err, e, "readText", canon);
  char *buf = NULL;
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: readText '%.300s': not a regular file",
                 canon);
    goto fail;
  }
  if ((uint64_t)st.st_size > max_bytes) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                 "fs: readText '%.300s': %lld bytes is over the %zu-byte limit", canon,
                 (long long)st.st_size, max_bytes);
    goto fail;
  }
  buf = malloc(max_bytes + 1);
  if (!buf) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "fs: out of memory");
    goto fail;
  }
  size_t got = 0;
  for (;;) { /* read to EOF: the file may have grown since fstat */
    ssize_t r = read(fd, buf + got, max_bytes + 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = errno_fail(err, errno, "readText", canon);
      goto fail;
    }
    if (r == 0) break;
    got += (size_t)r;
    if (got > max_bytes) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "fs: readText '%.300s': over the %zu-byte limit", canon, max_bytes);
      goto fail;
    }
  }
  buf[got] = '\0';
  if (!utf8_valid(buf, got)) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: readText '%.300s': not UTF-8 text", canon);
    goto fail;
  }
  close(fd);
  *out = buf;
  if (len) *len = got;
  return 0;
fail:
  free(buf);
  close(fd);
  return rc;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int hk_fs_write_text(const char *canon, const char *text, size_t len, size_t max_bytes,
                     al_error *err) {
  int rc = check_canon(canon, err);
  if (rc) return rc;
  if (!text && len) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: text is NULL");
  if (!max_bytes) max_bytes = HK_FS_DEFAULT_MAX_BYTES;
  if (len > max_bytes)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "fs: writeText '%.300s': %zu bytes is over the %zu-byte limit", canon, len,
                   max_bytes);
  if (!utf8_valid(text ? text : "", len))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: writeText '%.300s': not UTF-8 text",
                   canon);
  const char *name;
  int dfd = walk(canon, &name);
  if (dfd < 0) return errno_fail(err, errno, "writeText", canon);
  if (!*name) {
    close(dfd);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: writeText '/': is a directory");
  }
  struct stat old;
  mode_t mode = 0;
  if (!fstatat(dfd, name, &old, AT_SYMLINK_NOFOLLOW) && S_ISREG(old.st_mode))
    mode = old.st_mode & 0777;
  static unsigned counter; /* only makes names distinct; O_EXCL is what guarantees it */
  char tmp[64];
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
    snprintf(tmp, sizeof tmp, ".airlock-%ld-%u.tmp", (long)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                mode ? 0600 : 0644);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    rc = errno_fail(err, errno, "writeText", canon);
    close(dfd);
    return rc;
  }
  if ((mode && fchmod(fd, mode)) || write_all(fd, text, len) || fsync(fd)) {
    rc = errno_fail(err, errno, "writeText", canon);
    close(fd);
    goto fail;
  }
  if (close(fd)) {
    rc = errno_fail(err, errno, "writeText", canon);
    goto fail;
  }
  if (renameat(dfd, tmp, dfd, name)) {
    rc = errno_fail(err, errno, "writeText", canon);
    goto fail;
  }
  fsync(dfd); /* the rename itself durable; failure here leaves a correct file */
  close(dfd);
  return 0;
fail:
  unlinkat(dfd, tmp, 0);
  close(dfd);
  return rc;
}

int hk_fs_exists(const char *canon, bool *exists, al_error *err) {
  if (exists) *exists = false;
  if (!exists) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: exists is NULL");
  int rc = check_canon(canon, err);
  if (rc) return rc;
  const char *name;
  int dfd = walk(canon, &name);
  if (dfd < 0) {
    if (errno == ENOENT) return 0;
    return errno_fail(err, errno, "exists", canon);
  }
  struct stat st;
  if (!*name) {
    *exists = true;
  } else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    *exists = true;
  } else if (errno != ENOENT) {
    rc = errno_fail(err, errno, "exists", canon);
  }
  close(dfd);
  return rc;
}

/* The entry type fs.list and fs.stat name: what lstat says, never the link's target. */
static const char *type_of(const struct stat *st) {
  return S_ISREG(st->st_mode) ? "file" : S_ISDIR(st->st_mode) ? "dir" : S_ISLNK(st->st_mode) ? "link" : "other";
}

int hk_fs_stat(const char *canon, json_t **out, al_error *err) {
  if (out) *out = NULL;
  if (!out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: out is NULL");
  int rc = check_canon(canon, err);
  if (rc) return rc;
  const char *name;
  int dfd = walk(canon, &name);
  if (dfd < 0) {
    if (errno != ENOENT) return errno_fail(err, errno, "stat", canon);
    *out = json_null(); /* a missing parent: nothing there, as for exists */
    return 0;
  }
  struct stat st;
  if (fstatat(dfd, *name ? name : ".", &st, AT_SYMLINK_NOFOLLOW) == 0) {
    *out = json_pack("{s:s,s:I,s:I}", "type", type_of(&st), "size", (json_int_t)st.st_size,
                     "mtimeMs", (json_int_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
    if (!*out) rc = err_set(err, AL_ENO_MEMORY, NULL, "fs: out of memory");
  } else if (errno == ENOENT) {
    *out = json_null();
  } else {
    rc = errno_fail(err, errno, "stat", canon);
  }
  close(dfd);
  return rc;
}

typedef struct entry {
  char *name;
  const char *type;
} entry;

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

int hk_fs_list(const char *canon, size_t max_entries, json_t **out, al_error *err) {
  if (out) *out = NULL;
  if (!out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "fs: out is NULL");
  int rc = check_canon(canon, err);
  if (rc) return rc;
  if (!max_entries) max_entries = HK_FS_DEFAULT_MAX_ENTRIES;
  const char *name;
  int pfd = walk(canon, &name);
  if (pfd < 0) return errno_fail(err, errno, "list", canon);
  int fd = *name ? openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : dup(pfd);
  int e = errno;
  close(pfd);
  if (fd < 0) return errno_fail(err, e, "list", canon);
  DIR *d = fdopendir(fd);
  if (!d) {
    rc = errno_fail(err, errno, "list", canon);
    close(fd);
    return rc;
  }
  entry *es = NULL;
  size_t n = 0;
  json_t *arr = NULL;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (n == max_entries) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "fs: list '%.300s': more than %zu entries", canon, max_entries);
      goto fail;
    }
    if (n % 64 == 0) {
      entry *grown = realloc(es, (n + 64) * sizeof *es);
      if (!grown) {
        rc = err_set(err, AL_ENO_MEMORY, NULL, "fs: out of memory");
        goto fail;
      }
      es = grown;
    }
    struct stat st;
    const char *type = "other";
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) type = type_of(&st);
    es[n].name = strdup(de->d_name);
    es[n].type = type;
    if (!es[n].name) {
      rc = err_set(err, AL_ENO_MEMORY, NULL, "fs: out of memory");
      goto fail;
    }
    n++;
  }
  if (n) qsort(es, n, sizeof *es, entry_cmp);
  arr = json_array();
  for (size_t i = 0; arr && i < n; i++) {
    json_t *name_v = json_string(es[i].name); /* NULL: a name that is not UTF-8, left out */
    if (!name_v) continue;
    json_array_append_new(arr, json_pack("{s:o,s:s}", "name", name_v, "type", es[i].type));
  }
  if (!arr) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "fs: out of memory");
    goto fail;
  }
  *out = arr;
fail:
  for (size_t i = 0; i < n; i++) free(es[i].name);
  free(es);
  closedir(d);
  return rc;
}

int hk_fs_ensure_dir(const char *canon, al_error *err) {
  int rc = check_canon(canon, err);
  if (rc) return rc;
  int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_fail(err, errno, "mkdir", canon);
  for (const char *s = canon; *s;) {
    while (*s == '/') s++;
    size_t n = strcspn(s, "/");
    if (n == 0) break;
    char comp[NAME_MAX + 1];
    if (n > NAME_MAX) {
      close(fd);
      return errno_fail(err, ENAMETOOLONG, "mkdir", canon);
    }
    memcpy(comp, s, n);
    comp[n] = '\0';
    if (mkdirat(fd, comp, 0700) && errno != EEXIST) {
      rc = errno_fail(err, errno, "mkdir", canon);
      close(fd);
      return rc;
    }
    int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(fd);
    if (nfd < 0) return errno_fail(err, e, "mkdir", canon);
    fd = nfd;
    s += n;
  }
  close(fd);
  return 0;
}

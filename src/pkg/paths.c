/*
 * paths.c: mkdir -p and rm -r for the package layer (see paths.h). Removal walks with
 * nftw(FTW_PHYS): a symlink in a tree is unlinked, never followed, so a package cannot
 * make its own removal delete something outside it.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pkg/paths.h"

int pkg_mkdirs(const char *path, unsigned mode, al_error *err) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "path too long: %.100s...", path);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == 0) {
      char c = *p;
      *p = 0;
      if (mkdir(buf, (mode_t)mode) && errno != EEXIST)
        return err_set(err, AL_EIO, NULL, "cannot create %s: %s", buf, strerror(errno));
      *p = c;
      if (!c) break;
    }
  }
  struct stat st;
  if (stat(path, &st) || !S_ISDIR(st.st_mode)) return err_set(err, AL_EIO, NULL, "%s is not a directory", path);
  return 0;
}

char *pkg_read_file(const char *path, size_t max, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL; /* errno from fopen */
  size_t n = 0, cap = 0;
  char *buf = NULL;
  int e = 0;
  /* Read to the end rather than trust a size from fstat: the file may grow or not be a
   * regular file; the cap is on what is read. */
  for (;;) {
    if (cap - n < 2) {
      size_t ncap = cap ? cap * 2 : 4096;
      if (cap > max + 1) { e = EFBIG; break; }
      char *nb = realloc(buf, ncap);
      if (!nb) { e = ENOMEM; break; }
      buf = nb;
      cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (n > max) { e = EFBIG; break; }
    if (got == 0) {
      if (ferror(f)) e = errno ? errno : EIO;
      break;
    }
  }
  fclose(f);
  if (e) {
    free(buf);
    errno = e;
    return NULL;
  }
  if (!buf && !(buf = malloc(1))) {
    errno = ENOMEM;
    return NULL;
  }
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT ? -1 : 0;
}

int pkg_rmtree(const char *path, al_error *err) {
  struct stat st;
  if (lstat(path, &st) && errno == ENOENT) return 0;
  if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS))
    return err_set(err, AL_EIO, NULL, "cannot remove %s: %s", path, strerror(errno));
  return 0;
}

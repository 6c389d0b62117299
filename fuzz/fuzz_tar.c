/* fuzz_tar.c: arbitrary bytes (tar, or gzip when they start with its magic) through the
 * package extractor into a scratch directory. Whatever happens, the scratch directory may
 * afterwards hold nothing but the destination (no temporary directory, nothing beside
 * it), and the destination exists only on success and then holds only regular files and
 * directories within the caps, none with a mode beyond 0755 (no set-id, sticky or
 * group/other write bits, whatever the headers said). Byte 0 chooses how many leading
 * components to strip. The parsing is libarchive's (tarx.c), so this exercises its tar
 * and gzip readers as well as the policy Airlock applies to what they return. */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "pkg/install.h"
#include "pkg/tarx.h"


static char scratch[64];
static size_t seen_files;
static uint64_t seen_bytes;

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)path;
  (void)ftw;
  CHECK(flag == FTW_F || flag == FTW_D || flag == FTW_DP);
  CHECK(S_ISREG(st->st_mode) || S_ISDIR(st->st_mode));
  CHECK((st->st_mode & 07022) == 0);
  if (S_ISREG(st->st_mode)) {
    seen_files++;
    seen_bytes += (uint64_t)st->st_size;
  }
  return 0;
}

static int entries(const char *dir) {
  DIR *d = opendir(dir);
  CHECK(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void remove_scratch(void) { pkg_rmtree(scratch, NULL); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!scratch[0]) {
    snprintf(scratch, sizeof scratch, "/tmp/fuzz-tar-XXXXXX");
    CHECK(mkdtemp(scratch));
    atexit(remove_scratch);
  }
  if (size < 1) return 0;
  char dest[128];
  snprintf(dest, sizeof dest, "%s/pkg", scratch);
  tarx_limits lim = {.max_total_bytes = 1u << 20, .max_files = 64, .strip = data[0] & 1};
  size_t files = 0;
  al_error err;
  int rc = tarx_extract(data + 1, size - 1, dest, &lim, &files, &err);
  struct stat st;
  if (rc == 0) {
    CHECK(lstat(dest, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(entries(scratch) == 1);
    seen_files = 0;
    seen_bytes = 0;
    CHECK(nftw(dest, visit, 16, FTW_PHYS) == 0);
    CHECK(seen_files == files && files <= lim.max_files && seen_bytes <= lim.max_total_bytes);
    CHECK(pkg_rmtree(dest, NULL) == 0);
  } else {
    CHECK(err.code == rc && err.message[0]);
    CHECK(lstat(dest, &st) != 0);
  }
  CHECK(entries(scratch) == 0);
  return 0;
}

/*
 * tarx.c: safe tarball extraction (tarx.h).
 *
 * The archive is inflated into memory first (zlib, capped: a gzip bomb stops at the cap
 * instead of filling memory), then walked as ustar records. GNU long names ('L') and pax
 * headers ('x', for `path`) are honoured because npm writes them for long paths; the name
 * they give goes through the same checks. Only regular files and directories are ever
 * created, with O_EXCL|O_NOFOLLOW, inside a fresh mkdtemp() directory that contains
 * nothing but what we made, so no entry can redirect a later one. Modes are reduced to
 * 0644/0755; owners and times are not restored.
 */
#define _GNU_SOURCE
#include "pkg/tarx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "pkg/install.h"

#define TX_BLOCK 512

/* Inflates gzip data into a malloc()ed buffer of at most `cap` bytes. A gzip file may hold
 * several members one after another (RFC 1952 2.2; `cat a.gz b.gz`, pigz, some packers):
 * gzip -d and tar read them all, so every member is inflated in turn and what a tar tool
 * would show is what gets installed. Zero bytes after the last member (block padding)
 * are ignored; any other byte there is refused, rather than silently dropped. */
static int tx_gunzip(const unsigned char *in, size_t len, size_t cap, unsigned char **out, size_t *out_len, al_error *err) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 16) != Z_OK) return err_set(err, AL_ENO_MEMORY, NULL, "tarball: zlib init failed");
  size_t size = len * 4 < 65536 ? 65536 : len * 4, n = 0;
  if (size > cap + 1) size = cap + 1;
  unsigned char *buf = malloc(size);
  int rc = 0;
  if (!buf) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto done;
  }
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
  for (;;) {
    if (n == size) {
      if (size > cap) {
        rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: more than %zu bytes uncompressed", cap);
        goto done;
      }
      size_t ns = size * 2 > cap + 1 ? cap + 1 : size * 2;
      unsigned char *nb = realloc(buf, ns);
      if (!nb) {
        rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
        goto done;
      }
      buf = nb;
      size = ns;
    }
    z.next_out = buf + n;
    z.avail_out = (uInt)(size - n);
    int zr = inflate(&z, Z_NO_FLUSH);
    n = size - z.avail_out;
    if (zr == Z_STREAM_END) {
      size_t left = z.avail_in, pad = 0;
      while (pad < left && z.next_in[pad] == 0) pad++;
      if (pad == left) break;
      if (pad || left < 2 || z.next_in[0] != 0x1f || z.next_in[1] != 0x8b) {
        rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                     "tarball: %zu bytes after the gzip data that are not another gzip member", left);
        goto done;
      }
      if (inflateReset(&z) != Z_OK) {
        rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: corrupt gzip data (member header)");
        goto done;
      }
      continue;
    }
    if (zr != Z_OK && !(zr == Z_BUF_ERROR && z.avail_out == 0)) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: corrupt gzip data (%s)", z.msg ? z.msg : "truncated");
      goto done;
    }
  }
  if (n > cap) rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: more than %zu bytes uncompressed", cap);
done:
  inflateEnd(&z);
  if (rc) {
    free(buf);
    return rc;
  }
  *out = buf;
  *out_len = n;
  return 0;
}

/* An octal header field; false when malformed (base-256 sizes are refused: too big). */
static bool tx_octal(const unsigned char *f, size_t n, uint64_t *out) {
  uint64_t v = 0;
  size_t i = 0;
  while (i < n && f[i] == ' ') i++;
  if (i < n && (f[i] & 0x80)) return false;
  bool any = false;
  for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
    if (v >> 60) return false;
    v = v * 8 + (uint64_t)(f[i] - '0');
    any = true;
  }
  for (; i < n; i++)
    if (f[i] != ' ' && f[i] != 0) return false;
  *out = any ? v : 0;
  return true;
}

static bool tx_checksum_ok(const unsigned char *h) {
  uint64_t want;
  if (!tx_octal(h + 148, 8, &want)) return false;
  uint64_t sum = 0;
  for (int i = 0; i < TX_BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  return sum == want;
}

/* The entry-name rules: relative, no `..` segment, no backslash, no control bytes. */
static const char *tx_name_problem(const char *name) {
  if (!name[0]) return "empty name";
  if (name[0] == '/') return "absolute path";
  for (const char *p = name; *p; p++) {
    if ((unsigned char)*p < 0x20 || *p == 0x7f) return "control character in name";
    if (*p == '\\') return "backslash in name";
  }
  const char *s = name;
  for (;;) {
    size_t n = strcspn(s, "/");
    if (n == 2 && s[0] == '.' && s[1] == '.') return "path escapes the package";
    if (!s[n]) break;
    s += n + 1;
  }
  return NULL;
}

/* Removes `strip` leading components and "./" segments; NULL when nothing is left. */
static const char *tx_strip(const char *name, unsigned strip, char *buf, size_t cap) {
  const char *s = name;
  while (s[0] == '.' && s[1] == '/') s += 2;
  for (unsigned i = 0; i < strip; i++) {
    const char *slash = strchr(s, '/');
    if (!slash) return NULL;
    s = slash + 1;
    while (*s == '/') s++;
  }
  /* collapse "a//b" and "a/./b"; drop a trailing '/' */
  size_t o = 0;
  while (*s) {
    size_t n = strcspn(s, "/");
    if (!(n == 1 && s[0] == '.') && n) {
      if (o + n + 2 > cap) return NULL;
      if (o) buf[o++] = '/';
      memcpy(buf + o, s, n);
      o += n;
    }
    s += n;
    while (*s == '/') s++;
  }
  buf[o] = 0;
  return o ? buf : NULL;
}

/* mkdir -p of `rel` under `root` (the parents of a file, or a directory entry). */
static int tx_mkdirs(const char *root, const char *rel, bool include_last, al_error *err) {
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "%s/%s", root, rel);
  if (n < 0 || n >= (int)sizeof path) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': path too long", rel);
  size_t base = strlen(root) + 1;
  for (size_t i = base; path[i]; i++) {
    if (path[i] != '/') continue;
    path[i] = 0;
    if (mkdir(path, 0755) && errno != EEXIST) return err_set(err, AL_EIO, NULL, "cannot create %s: %s", path, strerror(errno));
    path[i] = '/';
  }
  if (include_last && mkdir(path, 0755) && errno != EEXIST)
    return err_set(err, AL_EIO, NULL, "cannot create %s: %s", path, strerror(errno));
  /* an earlier file of that name must not stand in for a directory */
  struct stat st;
  if (include_last && (lstat(path, &st) || !S_ISDIR(st.st_mode)))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': conflicts with a file", rel);
  return 0;
}

/* A pax extended header's "path" record, if any, copied into `name`. False when the
 * header is malformed: it is refused rather than half-understood. */
static bool tx_pax_path(const unsigned char *p, size_t len, char *name, size_t cap) {
  size_t i = 0;
  while (i < len) {
    size_t reclen = 0, k = i;
    while (k < len && p[k] >= '0' && p[k] <= '9' && reclen < 1000000) reclen = reclen * 10 + (size_t)(p[k++] - '0');
    if (k >= len || p[k] != ' ' || reclen == 0 || reclen > len - i || reclen <= k - i + 1 || p[i + reclen - 1] != '\n')
      return false;
    const unsigned char *kv = p + k + 1, *end = p + i + reclen - 1;
    if (end - kv >= 5 && !memcmp(kv, "path=", 5)) {
      size_t n = (size_t)(end - kv - 5);
      if (n >= cap || memchr(kv + 5, 0, n)) return false;
      memcpy(name, kv + 5, n);
      name[n] = 0;
    }
    i += reclen;
  }
  return true;
}

int tarx_extract(const void *data, size_t len, const char *dest, const tarx_limits *limits, size_t *files_out,
                 al_error *err) {
  if (files_out) *files_out = 0;
  tarx_limits lim = limits ? *limits : (tarx_limits){0};
  if (!lim.max_total_bytes) lim.max_total_bytes = 64u << 20;
  if (!lim.max_files) lim.max_files = 10000;
  if (!lim.max_file_bytes) lim.max_file_bytes = lim.max_total_bytes;
  if (!data || !dest) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: missing argument");
  struct stat st;
  if (lstat(dest, &st) == 0) return err_set(err, AL_EIO, NULL, "%s already exists", dest);

  unsigned char *raw = NULL;
  const unsigned char *tar = data;
  size_t tlen = len;
  int rc = 0;
  if (len >= 2 && tar[0] == 0x1f && tar[1] == 0x8b) {
    /* headers and padding cost at most ~3 blocks per entry beyond the file bytes */
    size_t cap = (size_t)lim.max_total_bytes + (size_t)lim.max_files * 3 * TX_BLOCK + 16 * TX_BLOCK;
    if ((rc = tx_gunzip(data, len, cap, &raw, &tlen, err))) return rc;
    tar = raw;
  }

  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", dest) >= (int)sizeof tmp) {
    free(raw);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "destination path too long");
  }
  if (!mkdtemp(tmp)) {
    free(raw);
    return err_set(err, AL_EIO, NULL, "cannot create a directory beside %s: %s", dest, strerror(errno));
  }

  char longname[PATH_MAX] = "", clean[PATH_MAX], path[PATH_MAX * 2];
  uint64_t total = 0;
  size_t files = 0, entries = 0, off = 0;
  bool ended = false;
  while (off + TX_BLOCK <= tlen) {
    const unsigned char *h = tar + off;
    bool zero = true;
    for (int i = 0; i < TX_BLOCK && zero; i++) zero = h[i] == 0;
    if (zero) {
      ended = true;
      break;
    }
    if (!tx_checksum_ok(h)) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: bad header checksum at offset %zu (not a tar archive?)", off);
      goto fail;
    }
    uint64_t size;
    if (!tx_octal(h + 124, 12, &size) || size > tlen - off - TX_BLOCK) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: bad or truncated entry size at offset %zu", off);
      goto fail;
    }
    const unsigned char *body = h + TX_BLOCK;
    size_t next = off + TX_BLOCK + (size_t)((size + TX_BLOCK - 1) / TX_BLOCK * TX_BLOCK);
    char type = (char)h[156];
    if (++entries > (size_t)lim.max_files * 2 + 16) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: more than %u entries", lim.max_files);
      goto fail;
    }
    if (type == 'L' || type == 'x') { /* the next entry's name */
      if (type == 'L') {
        /* GNU writes the name NUL-terminated; a name we cannot hold is poisoned, so the
           entry it belongs to fails the checks instead of getting a truncated name */
        if (size >= sizeof longname) {
          snprintf(longname, sizeof longname, "/invalid");
        } else {
          memcpy(longname, body, (size_t)size);
          longname[size] = 0;
        }
      } else {
        if (!tx_pax_path(body, (size_t)size, longname, sizeof longname)) {
          rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: malformed pax header at offset %zu", off);
          goto fail;
        }
      }
      off = next;
      continue;
    }
    if (type == 'g') { /* global pax header: nothing we use */
      off = next;
      continue;
    }
    char name[PATH_MAX];
    if (longname[0]) {
      snprintf(name, sizeof name, "%s", longname);
      longname[0] = 0;
    } else {
      char nm[101], prefix[156];
      memcpy(nm, h, 100);
      nm[100] = 0;
      memcpy(prefix, h + 345, 155);
      prefix[155] = 0;
      if (!memcmp(h + 257, "ustar", 5) && prefix[0]) snprintf(name, sizeof name, "%s/%s", prefix, nm);
      else snprintf(name, sizeof name, "%s", nm);
    }
    const char *problem = tx_name_problem(name);
    if (problem) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': %s", name, problem);
      goto fail;
    }
    if (type == '1' || type == '2') {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': links are not allowed in a package", name);
      goto fail;
    }
    if (type != '0' && type != 0 && type != '7' && type != '5') {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': entry type '%c' is not allowed (only files and "
                   "directories)", name, type >= 32 && type < 127 ? type : '?');
      goto fail;
    }
    const char *rel = tx_strip(name, lim.strip, clean, sizeof clean);
    if (!rel) { /* the stripped top directory itself */
      off = next;
      continue;
    }
    if (type == '5') {
      if ((rc = tx_mkdirs(tmp, rel, true, err))) goto fail;
      off = next;
      continue;
    }
    if (++files > lim.max_files) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: more than %u files", lim.max_files);
      goto fail;
    }
    if (size > lim.max_file_bytes || total + size > lim.max_total_bytes) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': over the size cap (%llu bytes per file, "
                   "%llu in all)", name, (unsigned long long)lim.max_file_bytes, (unsigned long long)lim.max_total_bytes);
      goto fail;
    }
    total += size;
    if ((rc = tx_mkdirs(tmp, rel, false, err))) goto fail;
    uint64_t mode = 0644;
    tx_octal(h + 100, 8, &mode);
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode & 0111) ? 0755 : 0644);
    if (fd < 0) {
      rc = errno == EEXIST ? err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': duplicate entry", name)
                           : err_set(err, AL_EIO, NULL, "cannot create %s: %s", path, strerror(errno));
      goto fail;
    }
    size_t w = 0;
    while (w < size) {
      ssize_t k = write(fd, body + w, (size_t)size - w);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      w += (size_t)k;
    }
    if (close(fd) || w != size) {
      rc = err_set(err, AL_EIO, NULL, "cannot write %s", path);
      goto fail;
    }
    off = next;
  }
  if (!ended && off != tlen) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: truncated archive");
    goto fail;
  }
  if (rename(tmp, dest)) {
    rc = err_set(err, AL_EIO, NULL, "cannot move the package into %s: %s", dest, strerror(errno));
    goto fail;
  }
  free(raw);
  if (files_out) *files_out = files;
  return 0;
fail:
  pkg_rmtree(tmp, NULL);
  free(raw);
  return rc;
}

int tarx_extract_file(const char *path, const char *dest, const tarx_limits *limits, size_t *files_out, al_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err_set(err, AL_EIO, NULL, "cannot open %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)(256u << 20)) {
    close(fd);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: not a regular file of at most 256 MiB", path);
  }
  size_t len = (size_t)st.st_size, got = 0;
  unsigned char *buf = malloc(len ? len : 1);
  if (!buf) {
    close(fd);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  while (got < len) {
    ssize_t k = read(fd, buf + got, len - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
  }
  close(fd);
  int rc = got == len ? tarx_extract(buf, len, dest, limits, files_out, err)
                      : err_set(err, AL_EIO, NULL, "cannot read %s", path);
  free(buf);
  return rc;
}

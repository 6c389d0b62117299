/*
 * tarx.c: safe tarball extraction (tarx.h).
 *
 * Parsing is libarchive's (the reader bsdtar uses: multi-member gzip, ustar, pax and GNU
 * long names), the policy is ours. libarchive is held to what npm tarballs need: the gzip
 * filter (used when the data starts with gzip's magic, and then required to take it) and
 * the tar format, each the only one registered with its reader, so nothing else of its
 * many formats and filters is reachable from here. archive_write_disk is not used: it
 * would apply libarchive's idea of what is safe to write; instead every entry is checked
 * and then created by us, with openat() from a descriptor of a fresh mkdtemp() directory
 * that contains nothing but what we made, O_EXCL|O_NOFOLLOW on every file and O_NOFOLLOW
 * on every directory walked, so no entry can redirect a later one.
 *
 * Two stages, as before libarchive: gzip data is inflated into memory first, capped (a
 * gzip bomb stops at the cap instead of filling memory), so that the bytes after the last
 * member can be checked (libarchive's gzip reader stops quietly at anything that is not
 * another member; we refuse anything but zero padding) and so that the tar stage reads
 * from a buffer whose length bounds every entry before a byte of it is written.
 *
 * The checks, all before anything of an entry is written: the name (relative, no `..`
 * segment, no backslash or control character), links of any kind refused, only regular
 * files and directories (by the header's own type byte as well as libarchive's reading
 * of it, since libarchive turns unknown types into regular files as POSIX suggests),
 * sparse files refused, the file count, per-file and total size caps, and the entry
 * count. Modes are reduced to 0644/0755; owners, times, ACLs and xattrs are not restored.
 */
#define _GNU_SOURCE
#include "pkg/tarx.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "pkg/paths.h"

/* Only the registration calls for the one filter and the formats used are made: the
 * generic ones (archive_read_support_*_all, archive_read_set_format,
 * archive_read_append_filter) refer to every format and filter libarchive has, and would
 * pull all of them (and libxml2, liblzma, ...) into a static link. */

#define TX_BLOCK 512

static const char *tx_msg(struct archive *a, const char *fallback) {
  const char *m = archive_error_string(a);
  return m && m[0] ? m : fallback;
}

static uint32_t tx_le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Inflates gzip data into a malloc()ed buffer of at most `cap` bytes, through libarchive's
 * gzip filter under its "raw" format (the decompressed stream as one blob). A gzip file
 * may hold several members one after another (RFC 1952 2.2; `cat a.gz b.gz`, pigz, some
 * packers): libarchive inflates them all, as gzip -d and tar do, so what a tar tool would
 * show is what gets installed. It stops at the first bytes that are not a member header
 * without complaint, so the rest is checked here: zero bytes (block padding) are
 * ignored, anything else is refused rather than silently dropped. libarchive does not
 * check the members' CRC-32 and length trailers either; the last member's is checked
 * here (the whole file for the single member `npm pack` writes). */
static int tx_gunzip(const unsigned char *in, size_t len, size_t cap, unsigned char **out, size_t *out_len,
                     al_error *err) {
  struct archive *a = archive_read_new();
  if (!a) return err_set(err, AL_ENO_MEMORY, NULL, "tarball: libarchive could not allocate a reader");
  unsigned char *buf = NULL;
  size_t size = 0, n = 0;
  int rc = 0;
  struct archive_entry *entry;
  if (archive_read_support_filter_gzip(a) < ARCHIVE_WARN || archive_read_support_format_raw(a) < ARCHIVE_WARN) {
    rc = archive_errno(a) == ENOMEM ? err_set(err, AL_ENO_MEMORY, NULL, "out of memory")
                                    : err_set(err, AL_EINTERNAL, NULL, "tarball: cannot set up libarchive's gzip reader (%s)",
                                              tx_msg(a, "no reason given"));
    goto done;
  }
  /* opening reads the first block of inflated data, so it can meet corrupt data already */
  if (archive_read_open_memory(a, in, len) != ARCHIVE_OK) {
    rc = archive_errno(a) == ENOMEM ? err_set(err, AL_ENO_MEMORY, NULL, "out of memory")
                                    : err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: corrupt gzip data (%s)",
                                              tx_msg(a, "truncated"));
    goto done;
  }
  /* the gzip filter is the only one registered; it takes the data only when the first
     member's header is sound, and otherwise the raw format would pass the bytes through */
  if (archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: corrupt gzip data (bad member header at byte 0)");
    goto done;
  }
  int r = archive_read_next_header(a, &entry);
  while (r == ARCHIVE_OK) {
    const void *blk;
    size_t bn;
    la_int64_t boff;
    r = archive_read_data_block(a, &blk, &bn, &boff);
    if (r != ARCHIVE_OK) break;
    if (bn > cap - n) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: more than %zu bytes uncompressed", cap);
      goto done;
    }
    if (n + bn > size) { /* grow geometrically, never past the cap */
      size_t ns = size ? size : (len * 4 < 65536 ? 65536 : len * 4);
      while (ns < n + bn) ns = ns > SIZE_MAX / 2 ? SIZE_MAX : ns * 2;
      if (ns > cap) ns = cap;
      unsigned char *nb = realloc(buf, ns ? ns : 1);
      if (!nb) {
        rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
        goto done;
      }
      buf = nb;
      size = ns;
    }
    memcpy(buf + n, blk, bn);
    n += bn;
  }
  if (r != ARCHIVE_EOF) {
    rc = archive_errno(a) == ENOMEM ? err_set(err, AL_ENO_MEMORY, NULL, "out of memory")
                                    : err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: corrupt gzip data (%s)",
                                              tx_msg(a, "truncated"));
    goto done;
  }
  /* the client-side position is what the gzip filter consumed: headers, deflate data and
     trailers of every member it read, and not one byte of what followed */
  la_int64_t used = archive_filter_bytes(a, -1);
  if (used < 0 || (uint64_t)used > len) {
    rc = err_set(err, AL_EINTERNAL, NULL, "tarball: libarchive reported an impossible gzip length");
    goto done;
  }
  size_t left = len - (size_t)used, pad = 0;
  const unsigned char *rest = in + used;
  while (pad < left && rest[pad] == 0) pad++;
  if (pad != left) {
    /* gzip's magic where a member should start means a member libarchive could not read */
    if (!pad && left >= 2 && rest[0] == 0x1f && rest[1] == 0x8b)
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: corrupt gzip data (bad member header at byte %zu)", (size_t)used);
    else
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: %zu bytes after the gzip data that are not another gzip member",
                   left);
    goto done;
  }
  /* the last member's trailer: CRC-32 and length (mod 2^32) of the last `isize` bytes out */
  if (used >= 18 && n <= UINT32_MAX) {
    uint32_t crc = tx_le32(rest - 8), isize = tx_le32(rest - 4);
    if (isize > n) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: corrupt gzip data (incorrect length check)");
      goto done;
    }
    uLong c = crc32(0L, Z_NULL, 0);
    const unsigned char *p = buf ? buf + (n - isize) : NULL;
    for (size_t k = isize; k;) { /* crc32() takes a uInt length */
      uInt step = k > (1u << 30) ? (1u << 30) : (uInt)k;
      c = crc32(c, p, step);
      p += step;
      k -= step;
    }
    if ((uint32_t)c != crc) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: corrupt gzip data (incorrect data check)");
      goto done;
    }
  }
done:
  archive_read_free(a);
  if (rc) {
    free(buf);
    return rc;
  }
  *out = buf;
  *out_len = n;
  return 0;
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

/* Removes `strip` leading components and "./" segments; NULL when nothing is left. The
 * result has no empty, "." or ".." component and no leading or trailing '/'. */
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

/* The extraction in progress: the temporary directory, by name (for messages and the
 * final rename) and by descriptor (every creation is relative to it). */
typedef struct tx_out {
  const char *tmp;
  int root;
} tx_out;

/* Walks the first `len` bytes of `rel` (a cleaned relative path) down from the root,
 * creating each directory that is missing, and returns a descriptor of the last one in
 * *dir (the root's own descriptor when len is 0: close it only if it differs). A
 * component that exists and is not a directory, a symlink included (O_NOFOLLOW), is an
 * earlier file of the archive: it must not stand in for a directory. */
static int tx_dir_at(const tx_out *o, const char *rel, size_t len, const char *name, int *dir, al_error *err) {
  int cur = o->root;
  size_t i = 0;
  while (i < len) {
    size_t n = strcspn(rel + i, "/");
    if (n > len - i) n = len - i;
    char comp[NAME_MAX + 1];
    if (n > NAME_MAX) {
      if (cur != o->root) close(cur);
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': path too long", name);
    }
    memcpy(comp, rel + i, n);
    comp[n] = 0;
    if (mkdirat(cur, comp, 0755) && errno != EEXIST) {
      int e = errno;
      if (cur != o->root) close(cur);
      return err_set(err, AL_EIO, NULL, "cannot create %s/%.*s: %s", o->tmp, (int)(i + n), rel, strerror(e));
    }
    int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    if (cur != o->root) close(cur);
    if (next < 0) {
      if (e == ENOTDIR || e == ELOOP)
        return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': conflicts with a file", name);
      return err_set(err, AL_EIO, NULL, "cannot open %s/%.*s: %s", o->tmp, (int)(i + n), rel, strerror(e));
    }
    cur = next;
    i += n;
    if (i < len && rel[i] == '/') i++;
  }
  *dir = cur;
  return 0;
}

/* A tar-stage failure from libarchive, in our words where the case is one we name. */
static int tx_tar_error(struct archive *a, int r, bool in_data, uint64_t off, al_error *err) {
  const char *m = tx_msg(a, "unreadable");
  if (archive_errno(a) == ENOMEM) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (r == ARCHIVE_RETRY) /* libarchive's "Damaged tar archive": the checksum failed */
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: bad header checksum at offset %llu (not a tar archive?)",
                   (unsigned long long)off);
  if (in_data || strstr(m, "size"))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: bad or truncated entry size at offset %llu (%s)",
                   (unsigned long long)off, m);
  if (strstr(m, "Truncated") || strstr(m, "Damaged")) /* a header cut short, or one announcing an entry that is missing */
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: truncated archive (%s at offset %llu)", m,
                   (unsigned long long)off);
  if (r == ARCHIVE_WARN && strstr(m, "pax"))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: malformed pax header at offset %llu (%s)",
                   (unsigned long long)off, m);
  return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: unreadable tar data at offset %llu (%s)", (unsigned long long)off, m);
}

/* Writes the current entry's data to `fd`; `size` was checked against the caps and the
 * bytes left in the buffer, and the data must be exactly that long and contiguous. */
static int tx_write_data(struct archive *a, int fd, uint64_t size, uint64_t off, const char *path, al_error *err) {
  uint64_t w = 0;
  for (;;) {
    const void *blk;
    size_t bn;
    la_int64_t boff;
    int r = archive_read_data_block(a, &blk, &bn, &boff);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return tx_tar_error(a, r, true, off, err);
    if (boff < 0 || (uint64_t)boff != w || bn > size - w)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: bad or truncated entry size at offset %llu (data out of place)",
                     (unsigned long long)off);
    const unsigned char *p = blk;
    size_t done = 0;
    while (done < bn) {
      ssize_t k = write(fd, p + done, bn - done);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) return err_set(err, AL_EIO, NULL, "cannot write %s: %s", path, k < 0 ? strerror(errno) : "short write");
      done += (size_t)k;
    }
    w += bn;
  }
  if (w != size)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: bad or truncated entry size at offset %llu",
                   (unsigned long long)off);
  return 0;
}

/* The header's own type byte. libarchive has just consumed the entry's last header block
 * (any pax or GNU long-name blocks come before it), so in our in-memory tar it is the 512
 * bytes before the reader's position. Read here because libarchive reports unknown and
 * GNU-specific types ('S', 'M', 'N', 'D', 'Z', ...) as regular files or directories, and
 * our rule is stricter. If the position were ever not where this expects, the byte read
 * would be a wrong one and the entry refused: the error is on the safe side. */
static char tx_typeflag(struct archive *a, const unsigned char *tar, size_t tlen) {
  la_int64_t pos = archive_filter_bytes(a, 0);
  if (pos < TX_BLOCK || (uint64_t)pos > tlen) return '?';
  return (char)tar[pos - TX_BLOCK + 156];
}

/* Extracts the tar in `tar` into o->root under `lim`; *files_out receives the count. */
static int tx_untar(const unsigned char *tar, size_t tlen, const tx_out *o, const tarx_limits *lim, size_t *files_out,
                    al_error *err) {
  struct archive *a = archive_read_new();
  if (!a) return err_set(err, AL_ENO_MEMORY, NULL, "tarball: libarchive could not allocate a reader");
  int rc = 0;
  /* "!mac-ext": a "._name" entry is a file of the package, not metadata to merge (the
     default off Apple, said here so it does not depend on the build) */
  if (archive_read_support_format_tar(a) < ARCHIVE_WARN ||
      archive_read_set_format_option(a, "tar", "mac-ext", NULL) < ARCHIVE_WARN) {
    rc = archive_errno(a) == ENOMEM ? err_set(err, AL_ENO_MEMORY, NULL, "out of memory")
                                    : err_set(err, AL_EINTERNAL, NULL, "tarball: cannot set up libarchive's tar reader (%s)",
                                              tx_msg(a, "no reason given"));
    archive_read_free(a);
    return rc;
  }
  /* the tar format is the only one registered, so opening is its bid on the first block:
     a refusal there is a first header that does not add up (its checksum, as a rule) */
  if (archive_read_open_memory(a, tar, tlen) != ARCHIVE_OK) {
    rc = archive_errno(a) == ENOMEM ? err_set(err, AL_ENO_MEMORY, NULL, "out of memory")
                                    : err_set(err, AL_EINVALID_ARGUMENT, NULL,
                                              "tarball: bad header checksum at offset 0 (not a tar archive?)");
    archive_read_free(a);
    return rc;
  }
  char clean[PATH_MAX], path[PATH_MAX * 2];
  uint64_t total = 0;
  size_t files = 0, entries = 0;
  for (;;) {
    /* every entry's data is read or skipped to its end (padding included) before the
       next one, so the reader's position is where the next header starts; taken now,
       because after a fatal error libarchive reports no position */
    la_int64_t here = archive_filter_bytes(a, 0);
    uint64_t off = here < 0 ? 0 : (uint64_t)here;
    struct archive_entry *e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    /* a name libarchive could not convert to the locale's charset is kept as it was in
       the archive, which is what the checks below are meant to see */
    if (r == ARCHIVE_WARN && strstr(tx_msg(a, ""), "can't be converted")) r = ARCHIVE_OK;
    if (r != ARCHIVE_OK) {
      rc = tx_tar_error(a, r, false, off, err);
      goto done;
    }
    la_int64_t pos = archive_filter_bytes(a, 0);
    la_int64_t sz = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (sz < 0 || pos < 0 || (uint64_t)pos > tlen || (uint64_t)sz > tlen - (uint64_t)pos) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: bad or truncated entry size at offset %llu",
                   (unsigned long long)off);
      goto done;
    }
    uint64_t size = (uint64_t)sz;
    if (++entries > (size_t)lim->max_files * 2 + 16) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: more than %u entries", lim->max_files);
      goto done;
    }
    const char *name = archive_entry_pathname(e);
    if (!name) name = "";
    const char *problem = tx_name_problem(name);
    if (problem) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': %s", name, problem);
      goto done;
    }
    char type = tx_typeflag(a, tar, tlen);
    mode_t ft = archive_entry_filetype(e);
    if (type == '1' || type == '2' || ft == AE_IFLNK || archive_entry_hardlink(e) || archive_entry_symlink(e)) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': links are not allowed in a package", name);
      goto done;
    }
    if (archive_entry_sparse_count(e) > 0) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': sparse files are not allowed in a package", name);
      goto done;
    }
    if ((type != '0' && type != 0 && type != '7' && type != '5') || (ft != AE_IFREG && ft != AE_IFDIR)) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': entry type '%c' is not allowed (only files and "
                   "directories)", name, type >= 32 && type < 127 ? type : '?');
      goto done;
    }
    const char *rel = tx_strip(name, lim->strip, clean, sizeof clean);
    if (!rel) { /* the stripped top directory itself */
      if (archive_read_data_skip(a) != ARCHIVE_OK) {
        rc = tx_tar_error(a, ARCHIVE_FATAL, true, off, err);
        goto done;
      }
      continue;
    }
    if (strlen(o->tmp) + 1 + strlen(rel) >= PATH_MAX) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': path too long", rel);
      goto done;
    }
    snprintf(path, sizeof path, "%s/%s", o->tmp, rel);
    if (ft == AE_IFDIR) {
      int dir;
      if ((rc = tx_dir_at(o, rel, strlen(rel), name, &dir, err))) goto done;
      if (dir != o->root) close(dir);
      if (archive_read_data_skip(a) != ARCHIVE_OK) {
        rc = tx_tar_error(a, ARCHIVE_FATAL, true, off, err);
        goto done;
      }
      continue;
    }
    if (++files > lim->max_files) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: more than %u files", lim->max_files);
      goto done;
    }
    if (size > lim->max_file_bytes || total + size > lim->max_total_bytes) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': over the size cap (%llu bytes per file, "
                   "%llu in all)", name, (unsigned long long)lim->max_file_bytes, (unsigned long long)lim->max_total_bytes);
      goto done;
    }
    total += size;
    const char *slash = strrchr(rel, '/');
    const char *leaf = slash ? slash + 1 : rel;
    int dir;
    if ((rc = tx_dir_at(o, rel, slash ? (size_t)(slash - rel) : 0, name, &dir, err))) goto done;
    int fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    (archive_entry_perm(e) & 0111) ? 0755 : 0644);
    int oe = errno;
    if (dir != o->root) close(dir);
    if (fd < 0) {
      rc = oe == EEXIST ? err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball entry '%.200s': duplicate entry", name)
                        : err_set(err, AL_EIO, NULL, "cannot create %s: %s", path, strerror(oe));
      goto done;
    }
    rc = tx_write_data(a, fd, size, off, path, err);
    if (close(fd) && !rc) rc = err_set(err, AL_EIO, NULL, "cannot write %s: %s", path, strerror(errno));
    if (rc) goto done;
  }
  *files_out = files;
done:
  archive_read_free(a);
  return rc;
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
    uint64_t cap64 = lim.max_total_bytes + (uint64_t)lim.max_files * 3 * TX_BLOCK + 16 * TX_BLOCK;
    size_t cap = cap64 > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)cap64;
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
  tx_out o = {.tmp = tmp, .root = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  size_t files = 0;
  if (o.root < 0) {
    rc = err_set(err, AL_EIO, NULL, "cannot open %s: %s", tmp, strerror(errno));
    goto fail;
  }
  /* nothing at all is an empty package, and less than a block a cut-off one, as they
     were before libarchive (whose tar bid would call both not a tar archive) */
  if (tlen && tlen < TX_BLOCK) rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tarball: truncated archive");
  else if (tlen) rc = tx_untar(tar, tlen, &o, &lim, &files, err);
  close(o.root);
  if (rc) goto fail;
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

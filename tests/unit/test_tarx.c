/*
 * test_tarx.c: package transport. Tarballs are built by hand in the test (ustar headers,
 * pax and GNU long names, links, gzip via zlib) so every hostile shape can be tried:
 * `..` and absolute names, links, caps, bombs, truncation. A refused archive must leave
 * nothing behind: not the destination, not the temporary directory, and nothing outside.
 * Also SHA-512 against the FIPS vectors and npm integrity strings.
 */
#include "helpers.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "pkg/install.h"
#include "pkg/sha512.h"
#include "pkg/tarx.h"

/* ---- building archives -------------------------------------------------------------- */

typedef struct tarbuf {
  unsigned char *p;
  size_t n;
} tarbuf;

static void tb_raw(tarbuf *t, const void *data, size_t n) {
  t->p = realloc(t->p, t->n + n);
  assert_non_null(t->p);
  memcpy(t->p + t->n, data, n);
  t->n += n;
}

/* One entry: header (+ body padded to 512), with `mode`, in ustar or (gnu) GNU tar's
 * own header layout ("ustar  \0" magic, what `tar --format=gnu` writes). */
static void tb_entry_as(tarbuf *t, const char *name, char type, const char *body, size_t size, const char *link,
                        unsigned mode, bool gnu) {
  unsigned char h[512];
  memset(h, 0, sizeof h);
  memcpy(h, name, strlen(name) > 100 ? 100 : strlen(name));
  snprintf((char *)h + 100, 8, "%07o", mode);
  snprintf((char *)h + 108, 8, "%07o", 0);
  snprintf((char *)h + 116, 8, "%07o", 0);
  snprintf((char *)h + 124, 12, "%011o", (unsigned)size);
  snprintf((char *)h + 136, 12, "%011o", 0);
  h[156] = (unsigned char)type;
  if (link) memcpy(h + 157, link, strlen(link));
  memcpy(h + 257, gnu ? "ustar  " : "ustar\0" "00", 8);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++) sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  tb_raw(t, h, 512);
  if (size) {
    tb_raw(t, body, size);
    static const unsigned char zero[512];
    if (size % 512) tb_raw(t, zero, 512 - size % 512);
  }
}

static void tb_entry(tarbuf *t, const char *name, char type, const char *body, size_t size, const char *link) {
  tb_entry_as(t, name, type, body, size, link, 0644, false);
}

static void tb_file(tarbuf *t, const char *name, const char *text) { tb_entry(t, name, '0', text, strlen(text), NULL); }

static void tb_end(tarbuf *t) {
  static const unsigned char zero[1024];
  tb_raw(t, zero, sizeof zero);
}

/* gzip of t (replaces it). */
static void tb_gzip(tarbuf *t) {
  z_stream z;
  memset(&z, 0, sizeof z);
  assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&z, t->n) + 64;
  unsigned char *out = malloc(cap);
  z.next_in = t->p;
  z.avail_in = (uInt)t->n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
  size_t n = cap - z.avail_out;
  deflateEnd(&z);
  free(t->p);
  t->p = out;
  t->n = n;
}

/* ---- a scratch directory ------------------------------------------------------------ */

static char root[64];

static int setup(void **state) {
  (void)state;
  snprintf(root, sizeof root, "/tmp/al-test-tarx-XXXXXX");
  return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  return pkg_rmtree(root, NULL);
}

/* Entries in `dir` (excluding . and ..). */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = calloc(1, 1 << 16);
  size_t n = fread(buf, 1, (1 << 16) - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

/* Extracting `t` into root/dest must fail with `want` in the message and leave root as it
 * was: only the "sentinel" file (so nothing was written outside, no dest, no temp dir). */
static bool refused(tarbuf *t, const tarx_limits *lim, const char *want) {
  char dest[256], sentinel[256];
  snprintf(dest, sizeof dest, "%s/inner/dest", root);
  snprintf(sentinel, sizeof sentinel, "%s/inner", root);
  mkdir(sentinel, 0755);
  al_error err;
  int rc = tarx_extract(t->p, t->n, dest, lim, NULL, &err);
  bool ok = rc != 0 && strstr(err.message, want) && count_entries(sentinel) == 0 && count_entries(root) == 1;
  if (!ok) print_error("rc %d message '%s' (want '%s'), %d entries in inner, %d in root\n", rc, rc ? err.message : "",
                       want, count_entries(sentinel), count_entries(root));
  free(t->p);
  t->p = NULL;
  t->n = 0;
  return ok;
}

static void test_good_archive(void **state) {
  (void)state;
  tarbuf t = {0};
  tb_entry(&t, "package/", '5', NULL, 0, NULL);
  tb_file(&t, "package/airlock.json", "{\"id\":\"x\",\"version\":\"1.0.0\"}");
  tb_file(&t, "package/lib/deep/index.js", "eval(1)");
  tb_entry(&t, "package/./empty/", '5', NULL, 0, NULL);
  tb_end(&t);
  tb_gzip(&t);
  char dest[256], p[PATH_MAX];
  snprintf(dest, sizeof dest, "%s/pkg", root);
  tarx_limits lim = {.strip = 1};
  size_t files = 0;
  al_error err;
  assert_int_equal(tarx_extract(t.p, t.n, dest, &lim, &files, &err), 0);
  assert_int_equal(files, 2);
  snprintf(p, sizeof p, "%s/lib/deep/index.js", dest);
  char *s = slurp(p);
  assert_string_equal(s, "eval(1)");
  free(s);
  snprintf(p, sizeof p, "%s/empty", dest);
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(count_entries(root), 1); /* no temporary directory left */
  /* the destination must not exist yet */
  assert_int_not_equal(tarx_extract(t.p, t.n, dest, &lim, NULL, &err), 0);
  assert_non_null(strstr(err.message, "already exists"));
  pkg_rmtree(dest, NULL);
  free(t.p);
}

static void test_traversal_refused(void **state) {
  (void)state;
  tarbuf t = {0};
  tb_file(&t, "ok.js", "1");
  tb_file(&t, "../evil", "pwned");
  tb_end(&t);
  assert_true(refused(&t, NULL, "tarball entry '../evil': path escapes the package"));
  char evil[256];
  snprintf(evil, sizeof evil, "%s/inner/evil", root);
  assert_int_not_equal(access(evil, F_OK), 0);

  tb_file(&t, "package/a/../../../evil", "x");
  tb_end(&t);
  assert_true(refused(&t, &(tarx_limits){.strip = 1}, "path escapes the package"));
  tb_file(&t, "/etc/evil", "x");
  tb_end(&t);
  tb_gzip(&t);
  assert_true(refused(&t, &(tarx_limits){.strip = 1}, "tarball entry '/etc/evil': absolute path"));
  tb_file(&t, "a\\..\\..\\evil", "x");
  tb_end(&t);
  assert_true(refused(&t, NULL, "backslash in name"));
  tb_file(&t, "..", "x");
  tb_end(&t);
  assert_true(refused(&t, NULL, "path escapes the package"));
}

static void test_long_names_are_checked(void **state) {
  (void)state;
  tarbuf t = {0};
  const char *pax = "20 path=../pax-evil\n";
  tb_entry(&t, "PaxHeader", 'x', pax, strlen(pax), NULL);
  tb_file(&t, "harmless", "x");
  tb_end(&t);
  assert_true(refused(&t, NULL, "tarball entry '../pax-evil': path escapes the package"));
  const char *gnu = "../gnu-evil";
  tb_entry(&t, "././@LongLink", 'L', gnu, strlen(gnu) + 1, NULL);
  tb_file(&t, "harmless", "x");
  tb_end(&t);
  assert_true(refused(&t, NULL, "tarball entry '../gnu-evil': path escapes the package"));
  const char *badpax = "99 path=x\n";
  tb_entry(&t, "PaxHeader", 'x', badpax, strlen(badpax), NULL);
  tb_file(&t, "harmless", "x");
  tb_end(&t);
  assert_true(refused(&t, NULL, "malformed pax header"));
  /* a good long name works */
  char longname[300];
  memset(longname, 'd', sizeof longname);
  memcpy(longname + 100, "/", 1);
  memcpy(longname + 200, "/", 1);
  longname[299] = 0;
  char rec[400];
  snprintf(rec, sizeof rec, "%zu path=%s\n", strlen(longname) + 7 + 3, longname); /* 3 digits of length */
  tb_entry(&t, "PaxHeader", 'x', rec, strlen(rec), NULL);
  tb_file(&t, "short", "long");
  tb_end(&t);
  char dest[256], p[PATH_MAX];
  snprintf(dest, sizeof dest, "%s/long", root);
  assert_int_equal(tarx_extract(t.p, t.n, dest, NULL, NULL, NULL), 0);
  snprintf(p, sizeof p, "%s/%s", dest, longname);
  assert_int_equal(access(p, F_OK), 0);
  pkg_rmtree(dest, NULL);
  free(t.p);
}

/* A pax record "<len> key=value\n", where len counts its own digits. */
static size_t pax_record(char *out, size_t cap, const char *key, const char *value) {
  size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
  size_t len = body + 1;
  while (len != body + (size_t)snprintf(NULL, 0, "%zu", len)) len = body + (size_t)snprintf(NULL, 0, "%zu", len);
  int n = snprintf(out, cap, "%zu %s=%s\n", len, key, value);
  assert_int_equal((size_t)n, len);
  return len;
}

static struct stat stat_of(const char *dir, const char *rel) {
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  struct stat st;
  memset(&st, 0, sizeof st);
  if (lstat(p, &st)) print_error("%s: missing\n", p);
  return st;
}

/* pax (`tar --format=pax`, what npm writes for long or non-ASCII paths): a path of 300
 * bytes in directories, a UTF-8 name (kept byte for byte, whatever the locale), and a
 * global header, all through libarchive; the mode's execute bit survives. A pax record
 * that gives a file a link target makes it a link, refused like any other. */
static void test_pax_long_names(void **state) {
  (void)state;
  char longname[320], rec[800];
  snprintf(longname, sizeof longname, "package/%0100d/%0100d/%090d.js", 1, 2, 3);
  tarbuf t = {0};
  size_t n = pax_record(rec, sizeof rec, "comment", "made by hand");
  tb_entry(&t, "pax_global_header", 'g', rec, n, NULL);
  tb_entry(&t, "package/", '5', NULL, 0, NULL);
  n = pax_record(rec, sizeof rec, "path", longname);
  n += pax_record(rec + n, sizeof rec - n, "mtime", "1700000000.5");
  tb_entry(&t, "PaxHeader/long", 'x', rec, n, NULL);
  tb_entry_as(&t, "package/truncated-ustar-name", '0', "long", 4, NULL, 0755, false);
  n = pax_record(rec, sizeof rec, "path", "package/caf\xc3\xa9/\xe2\x9c\x93.js");
  tb_entry(&t, "PaxHeader/utf8", 'x', rec, n, NULL);
  tb_file(&t, "package/caf?/?.js", "utf8");
  tb_end(&t);
  tb_gzip(&t);
  char dest[256];
  snprintf(dest, sizeof dest, "%s/pax", root);
  size_t files = 0;
  al_error err;
  int rc = tarx_extract(t.p, t.n, dest, &(tarx_limits){.strip = 1}, &files, &err);
  if (rc) print_error("%s\n", err.message);
  assert_int_equal(rc, 0);
  assert_int_equal(files, 2);
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/%s", dest, longname + strlen("package/"));
  char *text = slurp(p);
  assert_non_null(text);
  assert_string_equal(text, "long");
  free(text);
  struct stat st = stat_of(dest, longname + strlen("package/"));
  assert_true(S_ISREG(st.st_mode) && (st.st_mode & 0100));
  st = stat_of(dest, "caf\xc3\xa9/\xe2\x9c\x93.js");
  assert_true(S_ISREG(st.st_mode) && !(st.st_mode & 0111));
  pkg_rmtree(dest, NULL);
  free(t.p);
  t.p = NULL;
  t.n = 0;

  /* a pax linkpath on a regular-file header does not make it a link: it is a plain file
     with its own bytes, and nothing points out of the package */
  n = pax_record(rec, sizeof rec, "linkpath", "/etc/passwd");
  tb_entry(&t, "PaxHeader/x", 'x', rec, n, NULL);
  tb_file(&t, "innocent", "own bytes");
  tb_end(&t);
  snprintf(dest, sizeof dest, "%s/linkpath", root);
  assert_int_equal(tarx_extract(t.p, t.n, dest, NULL, &files, &err), 0);
  assert_true(S_ISREG(stat_of(dest, "innocent").st_mode));
  snprintf(p, sizeof p, "%s/innocent", dest);
  text = slurp(p);
  assert_string_equal(text, "own bytes");
  free(text);
  pkg_rmtree(dest, NULL);
  free(t.p);
  t.p = NULL;
  t.n = 0;
  /* ... while a link header with a pax linkpath is refused like any link */
  n = pax_record(rec, sizeof rec, "linkpath", "/etc/passwd");
  tb_entry(&t, "PaxHeader/x", 'x', rec, n, NULL);
  tb_entry(&t, "package/l", '2', NULL, 0, "harmless");
  tb_end(&t);
  assert_true(refused(&t, NULL, "tarball entry 'package/l': links are not allowed"));
  /* the pax path is what is checked, not the ustar name beside it */
  n = pax_record(rec, sizeof rec, "path", "package/../../pax-evil");
  tb_entry(&t, "PaxHeader/x", 'x', rec, n, NULL);
  tb_file(&t, "package/harmless", "x");
  tb_end(&t);
  tb_gzip(&t);
  assert_true(refused(&t, &(tarx_limits){.strip = 1}, "tarball entry 'package/../../pax-evil': path escapes the package"));
  /* a pax header with nothing after it announces an entry that is not there */
  n = pax_record(rec, sizeof rec, "path", "package/missing");
  tb_entry(&t, "PaxHeader/x", 'x', rec, n, NULL);
  assert_true(refused(&t, NULL, "truncated archive"));
}

/* GNU tar's own format (`tar --format=gnu`): 'L' carries a long name, 'K' a long link
 * target, and the header's magic is "ustar  \0" (its prefix field means something else
 * there, so it must not be read as a path prefix). */
static void test_gnu_long_names(void **state) {
  (void)state;
  char longname[320];
  snprintf(longname, sizeof longname, "package/%0120d/%0150d.js", 4, 5);
  tarbuf t = {0};
  tb_entry_as(&t, "././@LongLink", 'L', longname, strlen(longname) + 1, NULL, 0644, true);
  tb_entry_as(&t, "package/cut-short", '0', "gnu", 3, NULL, 0644, true);
  tb_entry_as(&t, "package/short.js", '0', "s", 1, NULL, 0644, true);
  tb_end(&t);
  tb_gzip(&t);
  char dest[256], p[PATH_MAX * 2];
  snprintf(dest, sizeof dest, "%s/gnu", root);
  size_t files = 0;
  al_error err;
  int rc = tarx_extract(t.p, t.n, dest, &(tarx_limits){.strip = 1}, &files, &err);
  if (rc) print_error("%s\n", err.message);
  assert_int_equal(rc, 0);
  assert_int_equal(files, 2);
  snprintf(p, sizeof p, "%s/%s", dest, longname + strlen("package/"));
  char *text = slurp(p);
  assert_non_null(text);
  assert_string_equal(text, "gnu");
  free(text);
  assert_true(S_ISREG(stat_of(dest, "short.js").st_mode));
  assert_int_equal(count_entries(dest), 2); /* the long name's directory and short.js */
  pkg_rmtree(dest, NULL);
  free(t.p);
  t.p = NULL;
  t.n = 0;

  /* a long link target still makes a link */
  tb_entry_as(&t, "././@LongLink", 'K', "/etc/passwd", 12, NULL, 0644, true);
  tb_entry_as(&t, "package/link", '2', NULL, 0, "short", 0644, true);
  tb_end(&t);
  assert_true(refused(&t, NULL, "tarball entry 'package/link': links are not allowed"));
  /* an 'L' name longer than libarchive's 1 MiB bound for it */
  size_t big = (1u << 20) + 10;
  char *huge = malloc(big);
  memset(huge, 'a', big);
  huge[big - 1] = 0;
  tb_entry_as(&t, "././@LongLink", 'L', huge, big, NULL, 0644, true);
  free(huge);
  tb_entry_as(&t, "x", '0', "x", 1, NULL, 0644, true);
  tb_end(&t);
  assert_true(refused(&t, NULL, "tarball: "));
}

/* libarchive reads types it does not know, and several GNU ones, as regular files or
 * directories (POSIX says to); the package rule is stricter and judges the header's own
 * type byte, so these are refused as before. */
static void test_other_types_refused(void **state) {
  (void)state;
  static const char types[] = {'S', 'M', 'N', 'D', 'Z', '4'};
  for (size_t i = 0; i < sizeof types; i++) {
    tarbuf t = {0};
    tb_file(&t, "ok.js", "1");
    tb_entry(&t, "odd", types[i], "abc", 3, NULL);
    tb_end(&t);
    char want[64];
    snprintf(want, sizeof want, "tarball entry 'odd': entry type '%c' is not allowed", types[i]);
    assert_true(refused(&t, NULL, want));
  }
}

static void test_links_and_specials_refused(void **state) {
  (void)state;
  tarbuf t = {0};
  tb_entry(&t, "link", '2', NULL, 0, "/etc/passwd");
  tb_end(&t);
  assert_true(refused(&t, NULL, "tarball entry 'link': links are not allowed in a package"));
  tb_entry(&t, "inside", '2', NULL, 0, "ok.js"); /* even a link that stays inside */
  tb_end(&t);
  assert_true(refused(&t, NULL, "links are not allowed"));
  tb_file(&t, "a", "x");
  tb_entry(&t, "hard", '1', NULL, 0, "a");
  tb_end(&t);
  assert_true(refused(&t, NULL, "tarball entry 'hard': links are not allowed"));
  tb_entry(&t, "dev", '3', NULL, 0, NULL);
  tb_end(&t);
  assert_true(refused(&t, NULL, "entry type '3' is not allowed"));
  tb_entry(&t, "fifo", '6', NULL, 0, NULL);
  tb_end(&t);
  assert_true(refused(&t, NULL, "entry type '6' is not allowed"));
}

static void test_caps(void **state) {
  (void)state;
  tarbuf t = {0};
  for (int i = 0; i < 5; i++) {
    char name[16];
    snprintf(name, sizeof name, "f%d", i);
    tb_file(&t, name, "x");
  }
  tb_end(&t);
  assert_true(refused(&t, &(tarx_limits){.max_files = 4}, "more than 4 files"));
  char *big = malloc(5000);
  memset(big, 'b', 5000);
  tb_entry(&t, "big", '0', big, 5000, NULL);
  tb_end(&t);
  assert_true(refused(&t, &(tarx_limits){.max_total_bytes = 4096}, "tarball entry 'big': over the size cap"));
  tb_file(&t, "a", "12345");
  tb_file(&t, "b", "12345");
  tb_end(&t);
  assert_true(refused(&t, &(tarx_limits){.max_total_bytes = 100, .max_file_bytes = 4}, "tarball entry 'a': over the size cap"));
  free(big);
  /* a gzip bomb stops at the cap instead of inflating 64 MiB */
  size_t n = 64u << 20;
  char *zeros = calloc(1, n);
  tb_entry(&t, "bomb", '0', zeros, n, NULL);
  free(zeros);
  tb_end(&t);
  tb_gzip(&t);
  assert_true(t.n < (1u << 20));
  assert_true(refused(&t, &(tarx_limits){.max_total_bytes = 1u << 20, .max_files = 10}, "bytes uncompressed"));
}

/* Several gzip members one after another are one gzip file (gzip -d and tar read them
 * all): every file of every member is installed. Bytes after the last member that are
 * not another member are refused; zero padding is not. */
static void test_multi_member_gzip(void **state) {
  (void)state;
  tarbuf a = {0}, b = {0};
  tb_file(&a, "package/airlock.json", "{\"id\":\"x\",\"version\":\"1.0.0\"}");
  tb_gzip(&a);
  tb_file(&b, "package/second.js", "two");
  tb_end(&b);
  tb_gzip(&b);
  tarbuf t = {0};
  tb_raw(&t, a.p, a.n);
  tb_raw(&t, b.p, b.n);
  static const unsigned char zeros[100];
  tb_raw(&t, zeros, sizeof zeros);
  char dest[256], p[PATH_MAX];
  snprintf(dest, sizeof dest, "%s/pkg", root);
  tarx_limits lim = {.strip = 1};
  size_t files = 0;
  al_error err;
  assert_int_equal(tarx_extract(t.p, t.n, dest, &lim, &files, &err), 0);
  assert_int_equal(files, 2);
  snprintf(p, sizeof p, "%s/second.js", dest);
  char *text = slurp(p);
  assert_string_equal(text, "two");
  free(text);
  pkg_rmtree(dest, NULL);
  tb_raw(&t, "junk", 4);
  assert_true(refused(&t, NULL, "not another gzip member"));
  /* a second member that is itself corrupt is corrupt data, as the first would be */
  tb_raw(&t, a.p, a.n);
  tb_raw(&t, "\x1f\x8b\x08\x00garbage", 11);
  assert_true(refused(&t, NULL, "corrupt gzip data"));
  /* zero padding, then something else, is still something else */
  tb_raw(&t, b.p, b.n);
  tb_raw(&t, zeros, sizeof zeros);
  tb_raw(&t, b.p, b.n);
  assert_true(refused(&t, NULL, "not another gzip member"));
  free(a.p);
  free(b.p);
}

/* A tar cut into three gzip members at arbitrary points (inside a header, inside a
 * file's body), as pigz or `cat` would leave it: the reader sees one stream. */
static void test_multi_member_split_anywhere(void **state) {
  (void)state;
  tarbuf whole = {0};
  char body[3000];
  for (size_t i = 0; i < sizeof body; i++) body[i] = (char)('a' + i % 26);
  tb_entry(&whole, "package/big.js", '0', body, sizeof body, NULL);
  tb_file(&whole, "package/after.js", "after");
  tb_end(&whole);
  size_t cuts[] = {0, 700, 2048 + 100, whole.n};
  tarbuf t = {0};
  for (int i = 0; i < 3; i++) {
    tarbuf part = {0};
    tb_raw(&part, whole.p + cuts[i], cuts[i + 1] - cuts[i]);
    tb_gzip(&part);
    tb_raw(&t, part.p, part.n);
    free(part.p);
  }
  char dest[256], p[PATH_MAX];
  snprintf(dest, sizeof dest, "%s/split", root);
  size_t files = 0;
  al_error err;
  assert_int_equal(tarx_extract(t.p, t.n, dest, &(tarx_limits){.strip = 1}, &files, &err), 0);
  assert_int_equal(files, 2);
  snprintf(p, sizeof p, "%s/big.js", dest);
  char *text = slurp(p);
  assert_memory_equal(text, body, sizeof body);
  assert_int_equal(strlen(text), sizeof body);
  free(text);
  snprintf(p, sizeof p, "%s/after.js", dest);
  text = slurp(p);
  assert_string_equal(text, "after");
  free(text);
  pkg_rmtree(dest, NULL);
  free(t.p);
  t.p = NULL;
  t.n = 0;
  /* a flipped byte in the last member's data or length trailer is caught */
  tb_raw(&t, whole.p, whole.n);
  tb_gzip(&t);
  t.p[t.n - 5] ^= 0x40; /* CRC-32 */
  assert_true(refused(&t, NULL, "corrupt gzip data (incorrect data check)"));
  tb_raw(&t, whole.p, whole.n);
  tb_gzip(&t);
  t.p[t.n - 1] ^= 0x40; /* ISIZE */
  assert_true(refused(&t, NULL, "corrupt gzip data (incorrect length check)"));
  free(whole.p);
}

static void test_malformed(void **state) {
  (void)state;
  tarbuf t = {0};
  tb_file(&t, "a", "hello");
  tb_end(&t);
  t.p[0] ^= 1; /* checksum no longer matches */
  assert_true(refused(&t, NULL, "bad header checksum"));
  tb_file(&t, "a", "hello world, this is long enough");
  t.n = 512 + 10; /* body cut short */
  assert_true(refused(&t, NULL, "truncated entry size"));
  tb_raw(&t, "\x1f\x8b\x08\x00garbage", 11);
  assert_true(refused(&t, NULL, "corrupt gzip data"));
  tb_file(&t, "a", "1");
  tb_file(&t, "a", "2");
  tb_end(&t);
  assert_true(refused(&t, NULL, "tarball entry 'a': duplicate entry"));
  tb_file(&t, "a", "1");
  tb_entry(&t, "a/", '5', NULL, 0, NULL);
  tb_end(&t);
  assert_true(refused(&t, NULL, "conflicts with a file"));
  tb_raw(&t, "not a tarball at all, just some text that is long enough to fill a block", 73);
  {
    static const unsigned char pad[512];
    tb_raw(&t, pad, 512 - 73);
  }
  assert_true(refused(&t, NULL, "bad header checksum"));
}

static void hex(const unsigned char *d, char *out) {
  for (int i = 0; i < SHA512_DIGEST_LEN; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha512_vectors(void **state) {
  (void)state;
  unsigned char d[SHA512_DIGEST_LEN];
  char h[SHA512_DIGEST_LEN * 2 + 1];
  sha512("", 0, d);
  hex(d, h);
  assert_string_equal(h, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
  sha512("abc", 3, d);
  hex(d, h);
  assert_string_equal(h, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  sha512(m896, strlen(m896), d);
  hex(d, h);
  assert_string_equal(h, "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
  /* a million 'a' fed in odd-sized pieces exercises the block buffering */
  sha512_ctx c;
  sha512_init(&c);
  char chunk[997];
  memset(chunk, 'a', sizeof chunk);
  size_t left = 1000000;
  while (left) {
    size_t k = left < sizeof chunk ? left : sizeof chunk;
    sha512_update(&c, chunk, k);
    left -= k;
  }
  sha512_final(&c, d);
  hex(d, h);
  assert_string_equal(h, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
  /* lengths around the padding boundaries (112 and 128 bytes mod 128), first 16 bytes */
  static const struct { size_t n; const char *prefix; } edges[] = {
      {111, "fa9121c7b32b9e01733d034cfc78cbf6"}, {112, "c01d080efd492776a1c43bd23dd99d0a"},
      {127, "828613968b501dc00a97e08c73b118aa"}, {128, "b73d1929aa615934e61a871596b3f3b3"},
      {239, "52c853cb8d907f3d4d6b889beb027985"}, {240, "4c296d90c61052a62ffb1dd196f1b7b0"}};
  for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
    sha512(chunk, edges[i].n, d);
    hex(d, h);
    assert_memory_equal(h, edges[i].prefix, 32);
  }
  char b64[100];
  sha512("hello", 5, d);
  assert_int_equal(sha512_base64(d, sizeof d, b64, sizeof b64), 88);
  assert_string_equal(b64, "m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==");
  assert_int_equal(sha512_base64(d, sizeof d, b64, 88), 0); /* no room for the NUL */
}

static void test_integrity(void **state) {
  (void)state;
  const char *good = "sha512-m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==";
  al_error err;
  assert_int_equal(pkg_integrity_check("hello", 5, good, &err), 0);
  char multi[300];
  snprintf(multi, sizeof multi, "sha1-abc %s", good);
  assert_int_equal(pkg_integrity_check("hello", 5, multi, &err), 0);
  assert_int_equal(pkg_integrity_check("hellO", 5, good, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "tarball integrity mismatch"));
  assert_int_equal(pkg_integrity_check("hello", 5, "sha1-qvTGHdzF6KLavt4PO0gs2a6pQ00=", &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "no sha512 integrity"));
  assert_int_equal(pkg_integrity_check("hello", 5, NULL, &err), AL_EINVALID_ARGUMENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_good_archive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_multi_member_gzip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_traversal_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_long_names_are_checked, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pax_long_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gnu_long_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_other_types_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_multi_member_split_anywhere, setup, teardown),
      cmocka_unit_test_setup_teardown(test_links_and_specials_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
      cmocka_unit_test(test_sha512_vectors),
      cmocka_unit_test(test_integrity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_fsops.c: pi.fs operations (hooks/fsops.h) on a real temp tree: round trips, size
 * caps, UTF-8, atomic replacement, and refusal of symlinks anywhere on the path (as a
 * swap after the capability check would put them).
 */
#define _XOPEN_SOURCE 700 /* realpath, mkdtemp, symlink */
#include "helpers.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/fsops.h"

static char root[PATH_MAX];

static int setup(void **state) {
  (void)state;
  char tmpl[] = "/tmp/al_fsops_XXXXXX";
  if (!mkdtemp(tmpl) || !realpath(tmpl, root)) return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  return system(cmd) == 0 ? 0 : -1;
}

/* root/rel in a static buffer (one at a time). */
static const char *at(const char *rel) {
  static char buf[2][PATH_MAX + 64];
  static int k;
  k ^= 1;
  snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
  return buf[k];
}

static void test_write_read_roundtrip(void **state) {
  (void)state;
  al_error err;
  const char *text = "h\xc3\xa9llo\nworld\n";
  assert_int_equal(hk_fs_write_text(at("a.txt"), text, strlen(text), 0, &err), 0);
  char *got = NULL;
  size_t len = 0;
  assert_int_equal(hk_fs_read_text(at("a.txt"), 0, &got, &len, &err), 0);
  assert_string_equal(got, text);
  assert_int_equal(len, strlen(text));
  free(got);
  struct stat st;
  assert_int_equal(stat(at("a.txt"), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  /* replace: the old text is gone, no temp file left beside it */
  assert_int_equal(hk_fs_write_text(at("a.txt"), "new", 3, 0, &err), 0);
  assert_int_equal(hk_fs_read_text(at("a.txt"), 0, &got, NULL, &err), 0);
  assert_string_equal(got, "new");
  free(got);
  json_t *list = NULL;
  assert_int_equal(hk_fs_list(root, 0, &list, &err), 0);
  assert_true(tj_is(list, "[{'name':'a.txt','type':'file'}]"));
  json_decref(list);
  /* empty text is a valid file */
  assert_int_equal(hk_fs_write_text(at("empty.txt"), "", 0, 0, &err), 0);
  assert_int_equal(hk_fs_read_text(at("empty.txt"), 0, &got, &len, &err), 0);
  assert_int_equal(len, 0);
  free(got);
  unlink(at("empty.txt"));
}

static void test_caps_and_utf8(void **state) {
  (void)state;
  al_error err;
  char *got = NULL;
  assert_int_equal(hk_fs_write_text(at("big.txt"), "0123456789", 10, 0, &err), 0);
  assert_int_equal(hk_fs_read_text(at("big.txt"), 9, &got, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_null(got);
  assert_non_null(strstr(err.message, "9-byte limit"));
  assert_int_equal(hk_fs_read_text(at("big.txt"), 10, &got, NULL, &err), 0);
  free(got);
  assert_int_equal(hk_fs_write_text(at("big.txt"), "0123456789", 10, 5, &err),
                   AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "5-byte limit"));
  assert_int_equal(hk_fs_write_text(at("bin.txt"), "\xff\xfe", 2, 0, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "not UTF-8"));
  bool ex = true;
  assert_int_equal(hk_fs_exists(at("bin.txt"), &ex, &err), 0);
  assert_false(ex); /* a refused write leaves nothing */
  FILE *f = fopen(at("bin.txt"), "wb");
  assert_non_null(f);
  fputs("\xff\xfe", f);
  fclose(f);
  assert_int_equal(hk_fs_read_text(at("bin.txt"), 0, &got, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "not UTF-8"));
  unlink(at("bin.txt"));
  unlink(at("big.txt"));
  /* errors that name the path */
  assert_int_equal(hk_fs_read_text(at("missing.txt"), 0, &got, NULL, &err), AL_EIO);
  assert_non_null(strstr(err.message, "no such file"));
  assert_int_equal(hk_fs_read_text(root, 0, &got, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "not a regular file"));
  assert_int_equal(hk_fs_write_text(at("nodir/x.txt"), "x", 1, 0, &err), AL_EIO);
  assert_int_equal(hk_fs_read_text("relative.txt", 0, &got, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(hk_fs_write_text("/", "x", 1, 0, &err), AL_EINVALID_ARGUMENT);
}

/* A rewrite keeps the replaced file's permission bits (issue 16: a 0600 file became 0644);
 * a new file gets 0644 less the umask; set-id bits are not carried over. */
static void test_write_keeps_mode(void **state) {
  (void)state;
  al_error err;
  struct stat st;
  assert_int_equal(hk_fs_write_text(at("secret.txt"), "a", 1, 0, &err), 0);
  assert_int_equal(chmod(at("secret.txt"), 0600), 0);
  assert_int_equal(hk_fs_write_text(at("secret.txt"), "bb", 2, 0, &err), 0);
  assert_int_equal(stat(at("secret.txt"), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(st.st_size, 2);
  assert_int_equal(chmod(at("secret.txt"), 02750), 0);
  assert_int_equal(hk_fs_write_text(at("secret.txt"), "c", 1, 0, &err), 0);
  assert_int_equal(stat(at("secret.txt"), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0750);
  unlink(at("secret.txt"));
  mode_t mask = umask(022);
  assert_int_equal(hk_fs_write_text(at("fresh.txt"), "x", 1, 0, &err), 0);
  umask(mask);
  assert_int_equal(stat(at("fresh.txt"), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0644);
  unlink(at("fresh.txt"));
}

static void test_symlinks_refused(void **state) {
  (void)state;
  al_error err;
  assert_int_equal(mkdir(at("real"), 0700), 0);
  assert_int_equal(mkdir(at("outside"), 0700), 0);
  assert_int_equal(hk_fs_write_text(at("outside/secret.txt"), "s", 1, 0, &err), 0);
  assert_int_equal(hk_fs_write_text(at("real/file.txt"), "f", 1, 0, &err), 0);
  assert_int_equal(symlink(at("outside/secret.txt"), at("real/link.txt")), 0);
  assert_int_equal(symlink(at("outside"), at("real/dirlink")), 0);

  char *got = NULL;
  /* final component a symlink */
  assert_int_equal(hk_fs_read_text(at("real/link.txt"), 0, &got, NULL, &err),
                   AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "symlink"));
  assert_null(got);
  /* a directory component a symlink (what a swap after the check would look like) */
  assert_int_equal(hk_fs_read_text(at("real/dirlink/secret.txt"), 0, &got, NULL, &err),
                   AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "symlink"));
  assert_int_equal(hk_fs_write_text(at("real/dirlink/new.txt"), "x", 1, 0, &err),
                   AL_EINVALID_ARGUMENT);
  bool ex = true;
  assert_int_equal(hk_fs_exists(at("outside/new.txt"), &ex, &err), 0);
  assert_false(ex);
  json_t *list = NULL;
  assert_int_equal(hk_fs_list(at("real/dirlink"), 0, &list, &err), AL_EINVALID_ARGUMENT);
  assert_null(list);
  /* writing over a symlink replaces the link, never writes through it */
  assert_int_equal(hk_fs_write_text(at("real/link.txt"), "mine", 4, 0, &err), 0);
  assert_int_equal(hk_fs_read_text(at("outside/secret.txt"), 0, &got, NULL, &err), 0);
  assert_string_equal(got, "s");
  free(got);
  struct stat st;
  assert_int_equal(lstat(at("real/link.txt"), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  /* exists does not follow: a dangling link exists */
  assert_int_equal(symlink(at("nowhere"), at("real/dangling")), 0);
  assert_int_equal(hk_fs_exists(at("real/dangling"), &ex, &err), 0);
  assert_true(ex);
  assert_int_equal(hk_fs_exists(at("real/nothing"), &ex, &err), 0);
  assert_false(ex);
  assert_int_equal(hk_fs_exists(at("real/nodir/nothing"), &ex, &err), 0);
  assert_false(ex);
  /* list reports links as links, sorted */
  assert_int_equal(hk_fs_list(at("real"), 0, &list, &err), 0);
  assert_true(tj_is(list, "[{'name':'dangling','type':'link'},{'name':'dirlink','type':'link'},"
                          "{'name':'file.txt','type':'file'},{'name':'link.txt','type':'file'}]"));
  json_decref(list);
  assert_int_equal(hk_fs_list(at("real"), 3, &list, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "more than 3 entries"));
  assert_null(list);
}

static void test_ensure_dir(void **state) {
  (void)state;
  al_error err;
  assert_int_equal(hk_fs_ensure_dir(at("data/@scope/plugin"), &err), 0);
  struct stat st;
  assert_int_equal(stat(at("data/@scope/plugin"), &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(hk_fs_ensure_dir(at("data/@scope/plugin"), &err), 0); /* idempotent */
  assert_int_equal(hk_fs_write_text(at("data/@scope/plugin/x.json"), "{}", 2, 0, &err), 0);
  /* a symlink on the way is refused, and nothing is created through it */
  assert_int_equal(mkdir(at("elsewhere"), 0700), 0);
  assert_int_equal(symlink(at("elsewhere"), at("data/link")), 0);
  assert_int_equal(hk_fs_ensure_dir(at("data/link/sub"), &err), AL_EINVALID_ARGUMENT);
  bool ex = true;
  assert_int_equal(hk_fs_exists(at("elsewhere/sub"), &ex, &err), 0);
  assert_false(ex);
  assert_int_equal(hk_fs_ensure_dir(at("data/@scope/plugin/x.json/sub"), &err),
                   AL_EINVALID_ARGUMENT); /* a file in the way */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_read_roundtrip),
      cmocka_unit_test(test_caps_and_utf8),
      cmocka_unit_test(test_write_keeps_mode),
      cmocka_unit_test(test_symlinks_refused),
      cmocka_unit_test(test_ensure_dir),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

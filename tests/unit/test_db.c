/*
 * test_db.c: the host database: packages, enable/disable/remove, kv with its quota and
 * prefix listing, settings, persistence across reopen, concurrent writers, and the
 * durability promise: a child process writing keys and acknowledging each one on a pipe
 * is SIGKILLed mid-loop, and every key it acknowledged is there after reopening.
 */
#include "helpers.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pkg/db.h"
#include "pkg/install.h"

static char home[128];

static int setup(void **state) {
  (void)state;
  char base[] = "/tmp/al-test-db-XXXXXX";
  if (!mkdtemp(base)) return -1;
  snprintf(home, sizeof home, "%s/nested/home", base); /* parents are created too */
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char base[PATH_MAX];
  snprintf(base, sizeof base, "%s", home);
  *strstr(base, "/nested") = 0;
  return pkg_rmtree(base, NULL);
}

static pkg_manifest *manifest(const char *id, const char *version) {
  char text[256];
  snprintf(text, sizeof text, "{\"id\":\"%s\",\"version\":\"%s\",\"capabilities\":{\"kv\":true}}", id, version);
  pkg_manifest *m = NULL;
  assert_int_equal(pkg_manifest_parse(text, strlen(text), false, true, &m, NULL, NULL), 0);
  return m;
}

static void test_open_creates_home(void **state) {
  (void)state;
  pkg_db *db = NULL;
  al_error err;
  assert_int_equal(pkg_db_open(home, &db, &err), 0);
  assert_string_equal(pkg_db_home(db), home);
  struct stat st;
  assert_int_equal(stat(home, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/packages", home);
  assert_int_equal(stat(p, &st), 0);
  snprintf(p, sizeof p, "%s/airlock.db", home);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  bool ok = false;
  assert_int_equal(pkg_db_check(db, &ok, NULL, &err), 0);
  assert_true(ok);
  pkg_db_close(db);
  pkg_db_close(NULL);
  assert_int_equal(pkg_db_open("", &db, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(pkg_db_open("/proc/no/such/place", &db, &err), AL_EIO);
  assert_null(db);
}

static void test_packages(void **state) {
  (void)state;
  pkg_db *db = NULL;
  al_error err;
  assert_int_equal(pkg_db_open(home, &db, &err), 0);
  pkg_manifest *b = manifest("beta", "1.0.0"), *a = manifest("@s/alpha", "2.0.0"), *b2 = manifest("beta", "1.1.0");
  assert_int_equal(pkg_db_package_put(db, b, NULL, "/p/beta", NULL, true, false, &err), 0);
  assert_int_equal(pkg_db_package_put(db, a, NULL, "/p/alpha", NULL, false, false, &err), 0);
  json_t *list = NULL;
  assert_int_equal(pkg_db_package_list(db, &list, &err), 0);
  assert_int_equal(json_array_size(list), 2);
  assert_string_equal(tj_str(json_array_get(list, 0), "id"), "@s/alpha"); /* by id */
  assert_true(json_is_false(json_object_get(json_array_get(list, 0), "enabled")));
  json_decref(list);

  json_t *rec = NULL;
  assert_int_equal(pkg_db_package_get(db, "beta", &rec, &err), 0);
  assert_string_equal(tj_str(rec, "version"), "1.0.0");
  assert_string_equal(tj_str(rec, "dir"), "/p/beta");
  assert_true(json_is_true(json_object_get(rec, "enabled")));
  assert_true(json_integer_value(json_object_get(rec, "installedAt")) > 1600000000000);
  assert_true(json_equal(json_object_get(rec, "manifest"), b->json));
  assert_string_equal(tj_str(rec, "name"), "beta"); /* NULL name: the id */
  json_decref(rec);
  /* put replaces, keeping the id's data; fresh (a takeover) drops it in the same step */
  assert_int_equal(pkg_db_kv_set(db, "beta", "k", "1", 0, &err), 0);
  assert_int_equal(pkg_db_package_put(db, b2, NULL, "/p/beta", NULL, true, false, &err), 0);
  assert_int_equal(pkg_db_package_get(db, "beta", &rec, &err), 0);
  assert_string_equal(tj_str(rec, "version"), "1.1.0");
  json_decref(rec);
  char *kept = NULL;
  assert_int_equal(pkg_db_kv_get(db, "beta", "k", &kept, &err), 0);
  assert_non_null(kept);
  free(kept);
  json_t *sv = json_string("secret");
  assert_int_equal(pkg_db_setting_set(db, "beta", "s", sv, &err), 0);
  json_decref(sv);
  assert_int_equal(pkg_db_package_put(db, b2, "other-name", "/p/beta", NULL, true, true, &err), 0);
  assert_int_equal(pkg_db_package_get(db, "beta", &rec, &err), 0);
  assert_string_equal(tj_str(rec, "name"), "other-name");
  json_decref(rec);
  assert_int_equal(pkg_db_kv_get(db, "beta", "k", &kept, &err), 0);
  assert_null(kept);
  json_t *gone = NULL;
  assert_int_equal(pkg_db_setting_get(db, "beta", &gone, &err), 0);
  assert_int_equal(json_object_size(gone), 0);
  json_decref(gone);

  assert_int_equal(pkg_db_package_enable(db, "beta", false, &err), 0);
  assert_int_equal(pkg_db_package_get(db, "beta", &rec, &err), 0);
  assert_true(json_is_false(json_object_get(rec, "enabled")));
  json_decref(rec);
  assert_int_equal(pkg_db_package_enable(db, "nope", true, &err), AL_EINVALID_ARGUMENT);
  assert_string_equal(err.message, "no package 'nope' is installed");
  assert_int_equal(pkg_db_package_get(db, "nope", &rec, &err), AL_EINVALID_ARGUMENT);
  assert_null(rec);
  assert_string_equal(err.message, "no package 'nope' is installed");

  /* remove forgets the package's kv data and settings too */
  assert_int_equal(pkg_db_kv_set(db, "beta", "k", "1", 0, &err), 0);
  json_t *v = json_string("x");
  assert_int_equal(pkg_db_setting_set(db, "beta", "s", v, &err), 0);
  json_decref(v);
  assert_int_equal(pkg_db_package_remove(db, "beta", &err), 0);
  assert_int_equal(pkg_db_package_remove(db, "beta", &err), AL_EINVALID_ARGUMENT);
  char *got = NULL;
  assert_int_equal(pkg_db_kv_get(db, "beta", "k", &got, &err), 0);
  assert_null(got);
  json_t *s = NULL;
  assert_int_equal(pkg_db_setting_get(db, "beta", &s, &err), 0);
  assert_true(tj_is(s, "{}"));
  json_decref(s);
  pkg_manifest_free(a);
  pkg_manifest_free(b);
  pkg_manifest_free(b2);
  pkg_db_close(db);
}

static void test_kv(void **state) {
  (void)state;
  pkg_db *db = NULL;
  al_error err;
  assert_int_equal(pkg_db_open(home, &db, &err), 0);
  char *v = NULL;
  assert_int_equal(pkg_db_kv_get(db, "p", "missing", &v, &err), 0);
  assert_null(v);
  assert_int_equal(pkg_db_kv_set(db, "p", "a", "{\"x\":[1,2]}", 0, &err), 0);
  assert_int_equal(pkg_db_kv_set(db, "p", "a%", "\"pct\"", 0, &err), 0);
  assert_int_equal(pkg_db_kv_set(db, "p", "ab", "null", 0, &err), 0);
  assert_int_equal(pkg_db_kv_set(db, "p", "b", "true", 0, &err), 0);
  assert_int_equal(pkg_db_kv_set(db, "other", "a", "2", 0, &err), 0);
  assert_int_equal(pkg_db_kv_get(db, "p", "a", &v, &err), 0);
  assert_string_equal(v, "{\"x\":[1,2]}");
  free(v);
  assert_int_equal(pkg_db_kv_get(db, "other", "a", &v, &err), 0); /* per plugin */
  assert_string_equal(v, "2");
  free(v);
  json_t *keys = NULL;
  assert_int_equal(pkg_db_kv_list(db, "p", NULL, &keys, &err), 0);
  assert_true(tj_is(keys, "['a','a%','ab','b']"));
  json_decref(keys);
  assert_int_equal(pkg_db_kv_list(db, "p", "a%", &keys, &err), 0); /* '%' is literal */
  assert_true(tj_is(keys, "['a%']"));
  json_decref(keys);
  assert_int_equal(pkg_db_kv_list(db, "p", "_", &keys, &err), 0);
  assert_true(tj_is(keys, "[]"));
  json_decref(keys);
  bool existed = false;
  assert_int_equal(pkg_db_kv_delete(db, "p", "ab", &existed, &err), 0);
  assert_true(existed);
  assert_int_equal(pkg_db_kv_delete(db, "p", "ab", &existed, &err), 0);
  assert_false(existed);

  assert_int_equal(pkg_db_kv_set(db, "p", "bad", "{not json", 0, &err), AL_EINVALID_ARGUMENT);
  assert_string_equal(err.message, "kv: the value for 'bad' is not JSON");
  assert_int_equal(pkg_db_kv_set(db, "p", "", "1", 0, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(pkg_db_kv_set(db, "", "k", "1", 0, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(pkg_db_kv_get(NULL, "p", "k", &v, &err), AL_EINVALID_ARGUMENT);

  /* quota: keys + values in bytes; a replaced value does not count twice */
  size_t used = 0;
  assert_int_equal(pkg_db_kv_usage(db, "q", &used, &err), 0);
  assert_int_equal(used, 0);
  assert_int_equal(pkg_db_kv_set(db, "q", "k1", "\"0123456789\"", 40, &err), 0); /* 2 + 12 */
  assert_int_equal(pkg_db_kv_set(db, "q", "k1", "\"0123456789abcdef\"", 40, &err), 0); /* 2 + 18 */
  assert_int_equal(pkg_db_kv_usage(db, "q", &used, &err), 0);
  assert_int_equal(used, 20);
  assert_int_equal(pkg_db_kv_set(db, "q", "k2", "\"0123456789abcdefghij\"", 40, &err), AL_ECAPABILITY_DENIED);
  assert_string_equal(err.message, "kv quota of 40 bytes exceeded");
  assert_int_equal(pkg_db_kv_get(db, "q", "k2", &v, &err), 0);
  assert_null(v); /* nothing written */
  assert_int_equal(pkg_db_kv_set(db, "q", "k2", "\"0123456789abcdef\"", 40, &err), 0); /* exactly 40 */
  /* the default quota is 1 MiB */
  char *big = malloc(PKG_KV_QUOTA_DEFAULT + 16);
  memset(big, 'x', PKG_KV_QUOTA_DEFAULT);
  big[0] = '"';
  big[PKG_KV_QUOTA_DEFAULT - 8] = '"';
  big[PKG_KV_QUOTA_DEFAULT - 7] = 0;
  assert_int_equal(pkg_db_kv_set(db, "r", "k", big, 0, &err), 0);
  assert_int_equal(pkg_db_kv_set(db, "r", "k2", "\"0123456789\"", 0, &err), AL_ECAPABILITY_DENIED);
  assert_string_equal(err.message, "kv quota of 1048576 bytes exceeded");
  free(big);
  pkg_db_close(db);
}

static void test_settings_and_reopen(void **state) {
  (void)state;
  pkg_db *db = NULL;
  al_error err;
  assert_int_equal(pkg_db_open(home, &db, &err), 0);
  json_t *v = tj("{'deep':[1,'two']}");
  assert_int_equal(pkg_db_setting_set(db, "p", "obj", v, &err), 0);
  json_decref(v);
  v = json_integer(8080);
  assert_int_equal(pkg_db_setting_set(db, "p", "port", v, &err), 0);
  assert_int_equal(pkg_db_setting_set(db, "p", "gone", v, &err), 0);
  json_decref(v);
  assert_int_equal(pkg_db_setting_set(db, "p", "gone", NULL, &err), 0);
  assert_int_equal(pkg_db_kv_set(db, "p", "persist", "[1,2,3]", 0, &err), 0);
  pkg_db_close(db);

  /* a new connection (a restarted host) sees everything */
  assert_int_equal(pkg_db_open(home, &db, &err), 0);
  json_t *s = NULL;
  assert_int_equal(pkg_db_setting_get(db, "p", &s, &err), 0);
  assert_true(tj_is(s, "{'obj':{'deep':[1,'two']},'port':8080}"));
  json_decref(s);
  char *got = NULL;
  assert_int_equal(pkg_db_kv_get(db, "p", "persist", &got, &err), 0);
  assert_string_equal(got, "[1,2,3]");
  free(got);
  pkg_db_close(db);
}

typedef struct writer {
  pkg_db *db;
  int id, failures;
} writer;

static void *writer_main(void *arg) {
  writer *w = arg;
  for (int i = 0; i < 200; i++) {
    char key[32], val[32];
    snprintf(key, sizeof key, "t%d-%d", w->id, i);
    snprintf(val, sizeof val, "%d", i);
    if (pkg_db_kv_set(w->db, "shared", key, val, 0, NULL)) w->failures++;
  }
  return NULL;
}

static void test_concurrent_writers(void **state) {
  (void)state;
  pkg_db *db = NULL;
  assert_int_equal(pkg_db_open(home, &db, NULL), 0);
  pthread_t th[4];
  writer w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (writer){db, i, 0};
    pthread_create(&th[i], NULL, writer_main, &w[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  json_t *keys = NULL;
  assert_int_equal(pkg_db_kv_list(db, "shared", "t", &keys, NULL), 0);
  assert_int_equal(json_array_size(keys), 800);
  json_decref(keys);
  pkg_db_close(db);
}

/* The child: opens the database and writes k0, k1, ... acknowledging each index on the
 * pipe only after kv_set returned. It never stops by itself. */
static void crash_child(int ackfd) {
  pkg_db *db = NULL;
  if (pkg_db_open(home, &db, NULL)) _exit(3);
  for (unsigned i = 0;; i++) {
    char key[32], val[64];
    snprintf(key, sizeof key, "k%u", i);
    snprintf(val, sizeof val, "{\"i\":%u}", i);
    if (pkg_db_kv_set(db, "crash", key, val, 0, NULL)) _exit(4);
    if (write(ackfd, &i, sizeof i) != sizeof i) _exit(5);
  }
}

static void test_acknowledged_writes_survive_sigkill(void **state) {
  (void)state;
  pkg_db *db = NULL;
  assert_int_equal(pkg_db_open(home, &db, NULL), 0); /* create the schema first */
  pkg_db_close(db);
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    crash_child(p[1]);
  }
  close(p[1]);
  unsigned last = 0, got = 0, idx;
  while (got < 150 && read(p[0], &idx, sizeof idx) == sizeof idx) { /* mid-loop: after 150 acks */
    last = idx;
    got++;
  }
  assert_int_equal(got, 150);
  kill(pid, SIGKILL);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  while (read(p[0], &idx, sizeof idx) == sizeof idx) last = idx; /* acks written before death */
  close(p[0]);

  assert_int_equal(pkg_db_open(home, &db, NULL), 0);
  bool ok = false;
  assert_int_equal(pkg_db_check(db, &ok, NULL, NULL), 0);
  assert_true(ok);
  unsigned missing = 0;
  for (unsigned i = 0; i <= last; i++) {
    char key[32], want[64], *v = NULL;
    snprintf(key, sizeof key, "k%u", i);
    snprintf(want, sizeof want, "{\"i\":%u}", i);
    if (pkg_db_kv_get(db, "crash", key, &v, NULL) || !v || strcmp(v, want)) missing++;
    free(v);
  }
  if (missing) print_error("%u of %u acknowledged keys missing\n", missing, last + 1);
  assert_int_equal(missing, 0);
  pkg_db_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_open_creates_home, setup, teardown),
      cmocka_unit_test_setup_teardown(test_packages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
      cmocka_unit_test_setup_teardown(test_settings_and_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_acknowledged_writes_survive_sigkill, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

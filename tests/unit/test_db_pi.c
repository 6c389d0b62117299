/*
 * test_db_pi.c: the host database's pi record (db.h, schema version 4): a pi package is
 * recorded with {profile, wants, granted} and read back with it, an Airlock package has
 * none, pkg_db_package_pi_set changes only a pi package's record, and a version 3 file
 * (as an older Airlock left it) is migrated on open, its rows kept as Airlock packages.
 */
#include "helpers.h"

#include <sqlite3.h>
#include <unistd.h>

#include "pkg/db.h"
#include "pkg/manifest.h"

static pkg_manifest *manifest(const char *id) {
  char text[300];
  snprintf(text, sizeof text, "{\"id\":\"%s\",\"version\":\"1.0.0\"}", id);
  pkg_manifest *m = NULL;
  assert_int_equal(pkg_manifest_parse(text, strlen(text), false, false, &m, NULL, NULL), 0);
  return m;
}

static void rmrf(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_pi_record(void **state) {
  (void)state;
  char home[] = "/tmp/al-dbpi-XXXXXX";
  assert_non_null(mkdtemp(home));
  pkg_db *db = NULL;
  al_error err;
  assert_int_equal(pkg_db_open(home, &db, &err), 0);
  pkg_manifest *p = manifest("probe"), *n = manifest("native");
  json_t *pi = tj("{'profile':'pi','wants':[{'cap':'exec','pattern':'git *'}],'granted':{}}");
  assert_int_equal(pkg_db_package_put_pi(db, p, NULL, "/p/probe", NULL, pi, true, false, &err), 0);
  assert_int_equal(pkg_db_package_put(db, n, NULL, "/p/native", NULL, true, false, &err), 0);
  json_t *rec = NULL;
  assert_int_equal(pkg_db_package_get(db, "probe", &rec, &err), 0);
  assert_true(tj_is(json_object_get(rec, "pi"), "{'profile':'pi','wants':[{'cap':'exec','pattern':'git *'}],'granted':{}}"));
  json_decref(rec);
  assert_int_equal(pkg_db_package_get(db, "native", &rec, &err), 0);
  assert_null(json_object_get(rec, "pi"));
  json_decref(rec);
  /* a grant replaces the record; an Airlock package has none to replace */
  json_t *g = tj("{'profile':'pi','wants':[],'granted':{'exec':['git *']}}");
  assert_int_equal(pkg_db_package_pi_set(db, "probe", g, &err), 0);
  assert_int_equal(pkg_db_package_get(db, "probe", &rec, &err), 0);
  assert_true(tj_is(json_object_get(json_object_get(rec, "pi"), "granted"), "{'exec':['git *']}"));
  json_decref(rec);
  assert_int_equal(pkg_db_package_pi_set(db, "native", g, &err), AL_EINVALID_ARGUMENT);
  assert_string_equal(err.message, "no pi package 'native' is installed");
  assert_int_equal(pkg_db_package_pi_set(db, "nope", g, &err), AL_EINVALID_ARGUMENT);
  /* reinstalled as an Airlock package, the pi record goes */
  assert_int_equal(pkg_db_package_put(db, p, NULL, "/p/probe", NULL, true, false, &err), 0);
  assert_int_equal(pkg_db_package_get(db, "probe", &rec, &err), 0);
  assert_null(json_object_get(rec, "pi"));
  json_decref(rec);
  json_decref(g);
  json_decref(pi);
  pkg_manifest_free(p);
  pkg_manifest_free(n);
  pkg_db_close(db);
  rmrf(home);
}

static void test_migrate_3(void **state) {
  (void)state;
  char home[] = "/tmp/al-dbpi-XXXXXX";
  assert_non_null(mkdtemp(home));
  char path[300];
  snprintf(path, sizeof path, "%s/airlock.db", home);
  sqlite3 *c = NULL;
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  assert_int_equal(sqlite3_exec(c,
                                "CREATE TABLE packages (id TEXT PRIMARY KEY, version TEXT NOT NULL, dir TEXT NOT NULL,"
                                " enabled INTEGER NOT NULL DEFAULT 1, installed_at INTEGER NOT NULL, manifest TEXT NOT NULL,"
                                " name TEXT, verification TEXT);"
                                "CREATE TABLE kv (plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (plugin, key)) WITHOUT ROWID;"
                                "CREATE TABLE settings (plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (plugin, key)) WITHOUT ROWID;"
                                "INSERT INTO packages VALUES ('old', '1.0.0', '/p/old', 1, 1, '{\"id\":\"old\",\"version\":\"1.0.0\"}', 'old', NULL);"
                                "PRAGMA user_version = 3;",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(c);
  pkg_db *db = NULL;
  al_error err;
  assert_int_equal(pkg_db_open(home, &db, &err), 0);
  json_t *rec = NULL;
  assert_int_equal(pkg_db_package_get(db, "old", &rec, &err), 0);
  assert_string_equal(tj_str(rec, "name"), "old");
  assert_null(json_object_get(rec, "pi"));
  json_decref(rec);
  pkg_manifest *p = manifest("probe");
  json_t *pi = tj("{'profile':'pi','wants':[],'granted':{}}");
  assert_int_equal(pkg_db_package_put_pi(db, p, NULL, "/p/probe", NULL, pi, true, false, &err), 0);
  assert_int_equal(pkg_db_package_get(db, "probe", &rec, &err), 0);
  assert_true(tj_is(json_object_get(rec, "pi"), "{'profile':'pi','wants':[],'granted':{}}"));
  json_decref(rec);
  json_decref(pi);
  pkg_manifest_free(p);
  pkg_db_close(db);
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(c, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 4);
  sqlite3_finalize(st);
  sqlite3_close(c);
  rmrf(home);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pi_record),
      cmocka_unit_test(test_migrate_3),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

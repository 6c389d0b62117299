/* test_pkg_api.c: airlock_pkg.h end to end, as a front end uses it: a package directory
 * installed into a temporary home, then listed, read, disabled and enabled, configured,
 * loaded by a host over the same home, audited, doctored and removed; each failure with
 * the code and message a front end prints. Only the public headers are used. */
#include <sys/stat.h>
#include <unistd.h>

#include "airlock_pkg.h"
#include "testutil.h"

typedef struct fx {
  char root[64];  /* mkdtemp */
  char home[128]; /* root/home (created by al_pkg_open) */
  char src[128];  /* root/hello: the package directory */
  al_pkg_db *db;
} fx;

static void write_file(const char *dir, const char *name, const char *text) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static const char *HELLO_MANIFEST =
    "{\"id\": \"hello\", \"version\": \"1.0.0\", \"title\": \"Hello\", \"description\": \"says hello\","
    " \"capabilities\": {\"kv\": true, \"read_config\": true, \"events\": [\"SessionStart\"]},"
    " \"settings\": {\"port\": {\"type\": \"number\", \"description\": \"p\", \"min\": 1, \"max\": 10, \"default\": 2},"
    "              \"token\": {\"type\": \"string\", \"description\": \"t\", \"secret\": true}}}";
static const char *HELLO_JS = "pi.on('SessionStart', () => ({ action: 'continue' }));\n";

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  snprintf(f->root, sizeof f->root, "/tmp/al_pkg_api_XXXXXX");
  assert_non_null(mkdtemp(f->root));
  snprintf(f->home, sizeof f->home, "%s/home", f->root);
  snprintf(f->src, sizeof f->src, "%s/hello", f->root);
  assert_int_equal(mkdir(f->src, 0700), 0);
  write_file(f->src, "airlock.json", HELLO_MANIFEST);
  write_file(f->src, "index.js", HELLO_JS);
  al_error err;
  if (al_pkg_open(f->home, &f->db, &err)) fail_msg("open: %s", err.message);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  al_pkg_close(f->db);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static void expect_err(int rc, const al_error *e, int code, const char *substr) {
  if (rc != code) fail_msg("expected %s got %s: %s", al_err_name(code), al_err_name(rc), e->message);
  assert_int_equal(e->code, code);
  if (substr && !strstr(e->message, substr)) fail_msg("message '%s' lacks '%s'", e->message, substr);
}

static void install_hello(fx *f) {
  char *report = NULL;
  al_error err;
  int rc = al_pkg_install(f->db, f->src, NULL, &report, &err);
  if (rc) fail_msg("install: %s: %s", al_err_name(rc), err.message);
  json_t *r = t_json(report);
  assert_string_equal(json_string_value(json_object_get(r, "id")), "hello");
  assert_string_equal(json_string_value(json_object_get(r, "source")), "directory");
  assert_false(json_is_true(json_object_get(json_object_get(r, "preflight"), "blocked")));
  json_decref(r);
}

static void test_install_list_get(void **state) {
  fx *f = *state;
  al_pkg_record *list = (al_pkg_record *)1;
  size_t n = 99;
  assert_int_equal(al_pkg_list(f->db, &list, &n, NULL), 0);
  assert_null(list); /* an empty home: nothing, not an empty allocation */
  assert_int_equal(n, 0);

  install_hello(f);
  assert_int_equal(al_pkg_list(f->db, &list, &n, NULL), 0);
  assert_int_equal(n, 1);
  assert_string_equal(list[0].id, "hello");
  assert_string_equal(list[0].version, "1.0.0");
  assert_string_equal(list[0].name, "hello"); /* no package.json: the id */
  assert_true(list[0].enabled);
  assert_true(list[0].installed_at_ms > 0);
  char want_dir[200];
  snprintf(want_dir, sizeof want_dir, "%s/packages/hello", f->home);
  assert_string_equal(list[0].dir, want_dir);
  json_t *m = json_loads(list[0].manifest_json, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(m, "title")), "Hello");
  json_decref(m);
  json_t *v = json_loads(list[0].verification_json, 0, NULL);
  assert_true(json_is_null(json_object_get(v, "integrity"))); /* a directory has none */
  json_decref(v);
  al_pkg_records_free(list, n);

  /* the installed copy is the package: a change to the source does not reach it */
  struct stat st;
  snprintf(want_dir, sizeof want_dir, "%s/packages/hello/index.js", f->home);
  assert_int_equal(stat(want_dir, &st), 0);

  al_pkg_record *r = NULL;
  assert_int_equal(al_pkg_get(f->db, "hello", &r, NULL), 0);
  assert_string_equal(r->id, "hello");
  al_pkg_record_free(r);
  al_pkg_record_free(NULL);
  al_pkg_records_free(NULL, 3);
}

static void test_unknown_package(void **state) {
  fx *f = *state;
  al_error err;
  al_pkg_record *r = (al_pkg_record *)1;
  expect_err(al_pkg_get(f->db, "nope", &r, &err), &err, AL_EINVALID_ARGUMENT, "no package 'nope' is installed");
  assert_null(r);
  expect_err(al_pkg_enable(f->db, "nope", 1, &err), &err, AL_EINVALID_ARGUMENT, "no package 'nope' is installed");
  expect_err(al_pkg_remove(f->db, "nope", &err), &err, AL_EINVALID_ARGUMENT, "no package 'nope' is installed");
  char *json = (char *)1;
  expect_err(al_pkg_settings(f->db, "nope", AL_PKG_SETTINGS_RESOLVED, &json, &err), &err, AL_EINVALID_ARGUMENT,
             "no package 'nope' is installed");
  assert_null(json);
  expect_err(al_pkg_install(f->db, "/nonexistent/dir/x.tgz", NULL, &json, &err), &err, AL_EINVALID_ARGUMENT,
             "is not a directory, a .tgz/.tar file or an npm package name");
  assert_null(json);
  expect_err(al_pkg_install(NULL, f->src, NULL, NULL, &err), &err, AL_EINVALID_ARGUMENT, "no package database");
}

/* A host over the same home loads what is installed, and refuses it once disabled. */
static void test_disable_enable_load(void **state) {
  fx *f = *state;
  install_hello(f);
  assert_int_equal(al_pkg_enable(f->db, "hello", 0, NULL), 0);
  al_pkg_record *r = NULL;
  assert_int_equal(al_pkg_get(f->db, "hello", &r, NULL), 0);
  assert_false(r->enabled);
  al_pkg_record_free(r);

  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_INLINE;
  cfg.home = f->home;
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  char id[AL_INSTANCE_ID_MAX];
  al_error err;
  expect_err(al_load_package(h, "hello", NULL, id, sizeof id, &err), &err, AL_EINVALID_ARGUMENT, "disabled");
  assert_int_equal(al_pkg_enable(f->db, "hello", 1, NULL), 0);
  if (al_load_package(h, "hello", NULL, id, sizeof id, &err)) fail_msg("load: %s", err.message);
  assert_int_equal(al_hook_subscribed(h, "SessionStart"), 1);
  al_host_free(h);
}

static void test_settings(void **state) {
  fx *f = *state;
  install_hello(f);
  al_error err;
  char *json = NULL;
  assert_int_equal(al_pkg_settings(f->db, "hello", AL_PKG_SETTINGS_RESOLVED, &json, NULL), 0);
  json_t *s = t_json(json);
  t_assert_json(s, "{\"port\":2}"); /* the default; the token has no value */
  json_decref(s);
  assert_int_equal(al_pkg_settings(f->db, "hello", AL_PKG_SETTINGS_STORED, &json, NULL), 0);
  s = t_json(json);
  t_assert_json(s, "{}");
  json_decref(s);

  assert_int_equal(al_pkg_setting_set(f->db, "hello", "port", "5", NULL), 0);
  assert_int_equal(al_pkg_setting_set(f->db, "hello", "token", "\"s3cr3t\"", NULL), 0);
  expect_err(al_pkg_setting_set(f->db, "hello", "port", "50", &err), &err, AL_EINVALID_ARGUMENT,
             "settings.port: not a valid number (within min/max)");
  expect_err(al_pkg_setting_set(f->db, "hello", "nope", "1", &err), &err, AL_EINVALID_ARGUMENT,
             "settings.nope: no such setting in hello's manifest");
  assert_string_equal(err.path, "settings.nope");
  expect_err(al_pkg_setting_set(f->db, "hello", "port", "{oops", &err), &err, AL_EINVALID_ARGUMENT,
             "settings.port: the value is not JSON");

  /* secrets never leave the library, in either view or one at a time */
  assert_int_equal(al_pkg_settings(f->db, "hello", AL_PKG_SETTINGS_STORED, &json, NULL), 0);
  s = t_json(json);
  t_assert_json(s, "{\"port\":5,\"token\":\"(secret)\"}");
  json_decref(s);
  assert_int_equal(al_pkg_settings(f->db, "hello", AL_PKG_SETTINGS_RESOLVED, &json, NULL), 0);
  s = t_json(json);
  t_assert_json(s, "{\"port\":5,\"token\":\"(secret)\"}");
  json_decref(s);
  assert_int_equal(al_pkg_setting_get(f->db, "hello", "token", &json, NULL), 0);
  assert_string_equal(json, "\"(secret)\"");
  al_free(json);
  assert_int_equal(al_pkg_setting_get(f->db, "hello", "port", &json, NULL), 0);
  assert_string_equal(json, "5");
  al_free(json);
  expect_err(al_pkg_setting_get(f->db, "hello", "nope", &json, &err), &err, AL_EINVALID_ARGUMENT,
             "settings.nope: no such setting in hello's manifest");

  /* NULL drops the override: the default is back, an unset secret has no value at all */
  assert_int_equal(al_pkg_setting_set(f->db, "hello", "port", NULL, NULL), 0);
  assert_int_equal(al_pkg_setting_set(f->db, "hello", "token", NULL, NULL), 0);
  assert_int_equal(al_pkg_setting_get(f->db, "hello", "port", &json, NULL), 0);
  assert_string_equal(json, "2");
  al_free(json);
  json = (char *)1;
  assert_int_equal(al_pkg_setting_get(f->db, "hello", "token", &json, NULL), 0);
  assert_null(json);
  expect_err(al_pkg_settings(f->db, "hello", 7, &json, &err), &err, AL_EINVALID_ARGUMENT, "AL_PKG_SETTINGS_");
}

static void test_audit(void **state) {
  fx *f = *state;
  char *json = NULL;
  size_t skipped = 9;
  /* no trail yet: an empty array, not an error */
  assert_int_equal(al_pkg_audit_read(f->home, 0, &json, &skipped, NULL), 0);
  assert_string_equal(json, "[]");
  assert_int_equal(skipped, 0);
  al_free(json);
  assert_int_equal(al_pkg_audit_append(f->home, "hello", "install", "/src/hello", "allowed", "first", NULL), 0);
  assert_int_equal(al_pkg_audit_append(f->home, "hello", "disable", "hello", "changed", "second", NULL), 0);
  /* a torn line, as a crash mid-write leaves it, is skipped and counted */
  char path[256];
  snprintf(path, sizeof path, "%s/audit.jsonl", f->home);
  FILE *fp = fopen(path, "a");
  assert_non_null(fp);
  fputs("{\"timestamp\":\"2024", fp);
  fclose(fp);

  assert_int_equal(al_pkg_audit_read(f->home, 0, &json, &skipped, NULL), 0);
  json_t *a = t_json(json);
  assert_int_equal(skipped, 1);
  assert_int_equal(json_array_size(a), 2);
  json_t *newest = json_array_get(a, 0);
  assert_string_equal(json_string_value(json_object_get(newest, "reason")), "second");
  assert_string_equal(json_string_value(json_object_get(newest, "action")), "disable");
  assert_true(strlen(json_string_value(json_object_get(newest, "timestamp"))) > 0);
  json_decref(a);
  assert_int_equal(al_pkg_audit_read(f->home, 1, &json, NULL, NULL), 0);
  a = t_json(json);
  assert_int_equal(json_array_size(a), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "reason")), "second");
  json_decref(a);

  al_error err;
  expect_err(al_pkg_audit_append("/nonexistent/home", "p", "a", "r", "d", "x", &err), &err, AL_EIO, "/nonexistent/home");
  expect_err(al_pkg_audit_read(NULL, 0, &json, NULL, &err), &err, AL_EINVALID_ARGUMENT, "home");
}

static const al_pkg_check *find_check(const al_pkg_check *c, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(c[i].name, name)) return &c[i];
  fail_msg("no check '%s'", name);
  return NULL;
}

static void test_doctor_and_remove(void **state) {
  fx *f = *state;
  install_hello(f);
  al_pkg_check *c = NULL;
  size_t n = 0;
  assert_int_equal(al_pkg_doctor(f->home, 0, &c, &n, NULL), 0);
  assert_int_equal(n, 2);
  assert_true(find_check(c, n, "database")->ok);
  const al_pkg_check *p = find_check(c, n, "package hello");
  assert_true(p->ok);
  assert_string_equal(p->detail, "ok");
  al_pkg_checks_free(c, n);

  /* a staging directory an interrupted install left is found, then removed with FIX */
  char staging[256];
  snprintf(staging, sizeof staging, "%s/packages/.staging-test", f->home);
  assert_int_equal(mkdir(staging, 0700), 0);
  assert_int_equal(al_pkg_doctor(f->home, 0, &c, &n, NULL), 0);
  p = find_check(c, n, "staging");
  assert_false(p->ok);
  assert_false(p->fixed);
  assert_non_null(strstr(p->detail, "(--fix removes it)"));
  al_pkg_checks_free(c, n);
  assert_int_equal(al_pkg_doctor(f->home, AL_PKG_DOCTOR_FIX, &c, &n, NULL), 0);
  p = find_check(c, n, "staging");
  assert_true(p->ok);
  assert_true(p->fixed);
  al_pkg_checks_free(c, n);
  struct stat st;
  assert_int_not_equal(stat(staging, &st), 0);

  /* remove deletes what it installed under the home, and only that */
  char dir[256];
  snprintf(dir, sizeof dir, "%s/packages/hello", f->home);
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(al_pkg_remove(f->db, "hello", NULL), 0);
  assert_int_not_equal(stat(dir, &st), 0);
  al_pkg_record *list = NULL;
  assert_int_equal(al_pkg_list(f->db, &list, &n, NULL), 0);
  assert_int_equal(n, 0);
  assert_int_equal(stat(f->src, &st), 0); /* the source directory is not the package's */
  al_pkg_checks_free(NULL, 0);
}

static void test_manifest_and_preflight(void **state) {
  fx *f = *state;
  al_pkg_manifest *m = NULL;
  assert_int_equal(al_pkg_manifest_load(f->src, AL_PKG_STRICT, &m, NULL), 0);
  assert_string_equal(m->id, "hello");
  assert_string_equal(m->version, "1.0.0");
  assert_string_equal(m->entry, "index.js");
  json_t *j = json_loads(m->json, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "title")), "Hello");
  json_decref(j);

  char *report = NULL;
  assert_int_equal(al_pkg_preflight(HELLO_JS, strlen(HELLO_JS), m->json, &report, NULL), 0);
  json_t *r = t_json(report);
  assert_false(json_is_true(json_object_get(r, "blocked")));
  json_decref(r);
  al_pkg_manifest_free(m);
  al_pkg_manifest_free(NULL);

  /* a blocking finding: BLOCKED, with the report all the same */
  const char *bad = "run('rm -rf /tmp/x');\n";
  al_error err;
  expect_err(al_pkg_preflight(bad, strlen(bad), NULL, &report, &err), &err, AL_EPREFLIGHT_BLOCKED,
             "preflight blocked the plugin");
  r = t_json(report);
  assert_true(json_is_true(json_object_get(r, "blocked")));
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "findings"), 0), "severity")),
                      "block");
  json_decref(r);

  /* strict: an unknown field is an error; lenient: it loads */
  write_file(f->src, "airlock.json", "{\"id\": \"hello\", \"version\": \"1.0.0\", \"colour\": \"red\"}");
  m = (al_pkg_manifest *)1;
  expect_err(al_pkg_manifest_load(f->src, AL_PKG_STRICT, &m, &err), &err, AL_EINVALID_ARGUMENT, "unknown field");
  assert_null(m);
  assert_int_equal(al_pkg_manifest_load(f->src, 0, &m, NULL), 0);
  al_pkg_manifest_free(m);
  write_file(f->src, "airlock.json", "{\"id\": \"hello\", \"version\": \"1.2\"}");
  expect_err(al_pkg_manifest_load(f->src, 0, &m, &err), &err, AL_EINVALID_ARGUMENT, "manifest.version");
  expect_err(al_pkg_install(f->db, f->src, NULL, NULL, &err), &err, AL_EINVALID_ARGUMENT, "manifest.version");
}

static void test_sigreq(void **state) {
  (void)state;
  unsigned mask = 0;
  assert_int_equal(al_pkg_sigreq_parse("registry", "--require-signature", &mask, NULL), 0);
  assert_int_equal(al_pkg_sigreq_parse("publisher", "--require-signature", &mask, NULL), 0);
  assert_int_equal(mask, AL_PKG_SIGREQ_REGISTRY | AL_PKG_SIGREQ_PUBLISHER);
  al_error err;
  expect_err(al_pkg_sigreq_parse("sometimes", "--require-signature", &mask, &err), &err, AL_EINVALID_ARGUMENT,
             "--require-signature");
}

static void test_operator_tools(void **state) {
  (void)state;
  char *t = al_term_escape("a\x1b[2Jb\n", 0);
  assert_string_equal(t, "a\\x1b[2Jb\\x0a");
  al_free(t);
  t = al_term_escape(NULL, 1);
  assert_string_equal(t, "");
  al_free(t);

  char path[4096];
  setenv("AIRLOCK_WORKER", "/opt/x/airlock-worker", 1);
  assert_string_equal(al_worker_default_path(path, sizeof path), "/opt/x/airlock-worker");
  unsetenv("AIRLOCK_WORKER");

  char *json = NULL;
  unsetenv("AIRLOCK_DISABLE_PLUGINS");
  setenv("AIRLOCK_SKIP_PLUGINS", "1", 1);
  unsetenv("AIRLOCK_FORCE_DENY");
  unsetenv("AIRLOCK_PLUGIN_MODE");
  assert_int_equal(al_switches_env(&json, NULL), 0);
  json_t *s = t_json(json);
  t_assert_json(s, "{\"disable\":false,\"skip\":true,\"forceDeny\":false,\"mode\":null}");
  json_decref(s);
  setenv("AIRLOCK_PLUGIN_MODE", "bogus", 1);
  al_error err;
  expect_err(al_switches_env(&json, &err), &err, AL_EINVALID_ARGUMENT, "AIRLOCK_PLUGIN_MODE");
  s = t_json(json); /* set all the same: the mode a host would take */
  assert_string_equal(json_string_value(json_object_get(s, "mode")), "none");
  assert_string_equal(json_string_value(json_object_get(s, "invalidMode")), "bogus");
  json_decref(s);
  unsetenv("AIRLOCK_PLUGIN_MODE");
  unsetenv("AIRLOCK_SKIP_PLUGINS");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_install_list_get, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_package, setup, teardown),
      cmocka_unit_test_setup_teardown(test_disable_enable_load, setup, teardown),
      cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_doctor_and_remove, setup, teardown),
      cmocka_unit_test_setup_teardown(test_manifest_and_preflight, setup, teardown),
      cmocka_unit_test(test_sigreq),
      cmocka_unit_test(test_operator_tools),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

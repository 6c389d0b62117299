/*
 * test_manifest.c: manifest parsing and validation (hooks-and-security.md sec. 1): each
 * rule is broken once and the message must name the field and the rule; defaults; strict
 * vs lenient unknown fields; package.json#airlock; directories; settings resolution.
 */
#include "helpers.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pkg/manifest.h"

/* Parses JSON written with ' for ". */
static int parse(const char *text, bool pj, bool strict, pkg_manifest **m, json_t **warnings, al_error *err) {
  char *s = strdup(text);
  for (char *p = s; *p; p++)
    if (*p == '\'') *p = '"';
  int rc = pkg_manifest_parse(s, strlen(s), pj, strict, m, warnings, err);
  free(s);
  return rc;
}

/* Expects a refusal whose message contains `want` and whose path is `path`. */
static bool refused(const char *text, bool strict, const char *path, const char *want) {
  pkg_manifest *m = NULL;
  al_error err;
  int rc = parse(text, false, strict, &m, NULL, &err);
  bool ok = rc == AL_EINVALID_ARGUMENT && !m && strstr(err.message, want) && !strcmp(err.path, path);
  if (!ok) print_error("%s\n  rc %d path '%s' message '%s'\n  wanted path '%s' and '%s'\n", text, rc,
                       rc ? err.path : "", rc ? err.message : "", path, want);
  pkg_manifest_free(m);
  return ok;
}

static void test_minimal_and_defaults(void **state) {
  (void)state;
  pkg_manifest *m = NULL;
  json_t *w = NULL;
  al_error err;
  assert_int_equal(parse("{'id':'hello','version':'1.0.0'}", false, true, &m, &w, &err), 0);
  assert_string_equal(m->id, "hello");
  assert_string_equal(m->version, "1.0.0");
  assert_string_equal(m->entry, "index.js");
  assert_null(m->title);
  assert_null(m->engines);
  assert_true(tj_is(m->capabilities, "{}"));
  assert_true(tj_is(m->shared, "{'read':[],'write':[]}"));
  assert_true(tj_is(m->settings, "{}"));
  assert_true(tj_is(m->preflight_allow, "[]"));
  assert_int_equal(m->limits.memory_bytes, 0);
  assert_null(w);
  pkg_manifest_free(m);

  assert_int_equal(parse("{'id':'@acme/guard.rail_x-1','version':'2.0.0-rc.1+b7','title':'T','description':'D',"
                         "'author':'a','license':'MIT','homepage':'https://x','entry':'dist/main.js',"
                         "'engines':{'airlock':'>=0.1.0 <1'},'shared':{'read':['counter-summary']},"
                         "'limits':{'memoryMiB':8,'stackKiB':256,'loadMs':500,'renderMs':50,'eventMs':70},"
                         "'capabilities':{'events':['PreToolUse'],'network':['api.example.com','localhost:8080'],"
                         "'fs_read':['$PLUGIN_DATA/**','/tmp/x'],'fs_write':['$CWD/out'],'kv':true,"
                         "'register_tools':false,'read_config':true,'env_vars':['HOME_DIR']},"
                         "'preflight':{'allow':['rm -rf']}}", false, true, &m, NULL, &err), 0);
  assert_string_equal(m->id, "@acme/guard.rail_x-1");
  assert_string_equal(m->entry, "dist/main.js");
  assert_string_equal(m->title, "T");
  assert_string_equal(m->engines, ">=0.1.0 <1");
  assert_true(tj_is(m->shared, "{'read':['counter-summary'],'write':[]}"));
  assert_int_equal(m->limits.memory_bytes, 8u << 20);
  assert_int_equal(m->limits.stack_bytes, 256u << 10);
  assert_int_equal(m->limits.load_ms, 500);
  assert_int_equal(m->limits.render_ms, 50);
  assert_int_equal(m->limits.event_ms, 70);
  assert_true(json_is_true(json_object_get(m->capabilities, "kv")));
  assert_true(tj_is(m->preflight_allow, "['rm -rf']"));
  assert_int_equal(pkg_manifest_check_engine(m, "0.1.0", &err), 0);
  assert_int_equal(pkg_manifest_check_engine(m, "1.0.0", &err), AL_EPLUGIN_LOAD);
  assert_non_null(strstr(err.message, "manifest.engines.airlock"));
  assert_non_null(strstr(err.message, "needs airlock >=0.1.0 <1, this is 1.0.0"));
  pkg_manifest_free(m);
}

static void test_id_rule(void **state) {
  (void)state;
  char long_id[PKG_ID_MAX + 2];
  memset(long_id, 'a', sizeof long_id);
  long_id[PKG_ID_MAX] = 0;
  assert_true(pkg_id_valid(long_id));
  long_id[PKG_ID_MAX] = 'a';
  long_id[PKG_ID_MAX + 1] = 0;
  assert_false(pkg_id_valid(long_id));
  static const char *const good[] = {"a", "0x", "a.b_c-d", "@s/n", "@scope-1/na.me"};
  static const char *const bad[] = {"", "A", "aB", "-a", ".a", "_a", "a b", "@/a", "@s/", "@s", "s/n", "@S/n", "@s/N",
                                    "a/b", "@s/n/x", "café"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) assert_true(pkg_id_valid(good[i]));
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (pkg_id_valid(bad[i])) print_error("accepted '%s'\n", bad[i]);
    assert_false(pkg_id_valid(bad[i]));
  }
  assert_true(refused("{'version':'1.0.0'}", false, "manifest.id", "manifest.id: is required"));
  assert_true(refused("{'id':'Bad','version':'1.0.0'}", false, "manifest.id",
                      "manifest.id: 'Bad' must be lowercase [a-z0-9][a-z0-9._-]* with an optional @scope/ prefix, at most 214 chars"));
  assert_true(refused("{'id':7,'version':'1.0.0'}", false, "manifest.id", "manifest.id: must be a string"));
}

static void test_version_and_engines(void **state) {
  (void)state;
  assert_true(refused("{'id':'a'}", false, "manifest.version", "manifest.version: is required"));
  assert_true(refused("{'id':'a','version':'1.2'}", false, "manifest.version",
                      "manifest.version: '1.2' is not semver MAJOR.MINOR.PATCH"));
  assert_true(refused("{'id':'a','version':'1.0.0','engines':{'airlock':'^^1'}}", false, "manifest.engines.airlock",
                      "manifest.engines.airlock: '^^1' is not a semver range"));
  assert_true(refused("{'id':'a','version':'1.0.0','engines':'1'}", false, "manifest.engines", "must be an object"));
}

static void test_entry_must_stay_inside(void **state) {
  (void)state;
  static const char *const bad[] = {"../x.js", "/etc/passwd", "a/../../b.js", "..", "a\\\\..\\\\b.js", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[200];
    snprintf(text, sizeof text, "{'id':'a','version':'1.0.0','entry':'%s'}", bad[i]);
    assert_true(refused(text, false, "manifest.entry", "must be a relative path inside the package"));
  }
  pkg_manifest *m = NULL;
  assert_int_equal(parse("{'id':'a','version':'1.0.0','entry':'./lib/..x.js'}", false, true, &m, NULL, NULL), 0);
  pkg_manifest_free(m);
}

static void test_unknown_fields(void **state) {
  (void)state;
  const char *text = "{'id':'a','version':'1.0.0','colour':'red','capabilities':{'kv':true,'telepathy':true},"
                     "'limits':{'cpuMs':5},'shared':{'admin':[]}}";
  assert_true(refused(text, true, "manifest.colour", "manifest.colour: unknown field"));
  pkg_manifest *m = NULL;
  json_t *w = NULL;
  assert_int_equal(parse(text, false, false, &m, &w, NULL), 0);
  assert_true(tj_is(w, "['manifest.colour: unknown field (ignored)',"
                       "'manifest.capabilities.telepathy: unknown field (ignored)',"
                       "'manifest.limits.cpuMs: unknown field (ignored)','manifest.shared.admin: unknown field (ignored)']"));
  /* an unknown capability grants nothing: it is not in the validated set */
  assert_true(tj_is(m->capabilities, "{'kv':true}"));
  json_decref(w);
  pkg_manifest_free(m);
  assert_true(refused("{'id':'a','version':'1.0.0','capabilities':{'kv':true,'telepathy':true}}", true,
                      "manifest.capabilities.telepathy", "unknown field"));
}

static void test_capabilities_shapes(void **state) {
  (void)state;
  assert_true(refused("{'id':'a','version':'1.0.0','capabilities':[]}", false, "manifest.capabilities", "must be an object"));
  assert_true(refused("{'id':'a','version':'1.0.0','capabilities':{'kv':'yes'}}", false, "manifest.capabilities.kv",
                      "must be true or false"));
  assert_true(refused("{'id':'a','version':'1.0.0','capabilities':{'events':'PreToolUse'}}", false,
                      "manifest.capabilities.events", "must be an array of strings"));
  assert_true(refused("{'id':'a','version':'1.0.0','capabilities':{'events':['ok','']}}", false,
                      "manifest.capabilities.events[1]", "must be a non-empty string"));
  assert_true(refused("{'id':'a','version':'1.0.0','capabilities':{'network':['https://evil.com/x']}}", false,
                      "manifest.capabilities.network[0]", "is not a host pattern"));
  assert_true(refused("{'id':'a','version':'1.0.0','capabilities':{'fs_read':['data/**']}}", false,
                      "manifest.capabilities.fs_read[0]", "must be an absolute path or start with $PLUGIN_DATA"));
  assert_true(refused("{'id':'a','version':'1.0.0','capabilities':{'fs_write':['$HOMEX/a']}}", false,
                      "manifest.capabilities.fs_write[0]", "$PLUGIN_DATA"));
  assert_true(refused("{'id':'a','version':'1.0.0','capabilities':{'env_vars':['A-B']}}", false,
                      "manifest.capabilities.env_vars[0]", "is not an environment variable name"));
  assert_true(refused("{'id':'a','version':'1.0.0','shared':{'read':'x'}}", false, "manifest.shared.read",
                      "must be an array of strings"));
  assert_true(refused("{'id':'a','version':'1.0.0','preflight':{'allow':['rm']}}", false, "manifest.preflight.allow[0]",
                      "'rm' is not a blocking preflight pattern"));
}

static void test_limits(void **state) {
  (void)state;
  assert_true(refused("{'id':'a','version':'1.0.0','limits':{'memoryMiB':0}}", false, "manifest.limits.memoryMiB",
                      "manifest.limits.memoryMiB: must be an integer from 1 to 65536"));
  assert_true(refused("{'id':'a','version':'1.0.0','limits':{'eventMs':'5'}}", false, "manifest.limits.eventMs",
                      "must be an integer"));
  assert_true(refused("{'id':'a','version':'1.0.0','limits':{'eventMs':1.5}}", false, "manifest.limits.eventMs",
                      "must be an integer"));
  assert_true(refused("{'id':'a','version':'1.0.0','limits':[]}", false, "manifest.limits", "must be an object"));
  assert_true(refused("{'id':'a','version':'1.0.0','limits':{'loadMs':1e300}}", false, "manifest.limits.loadMs",
                      "must be an integer"));
  pkg_manifest *m = NULL;
  assert_int_equal(parse("{'id':'a','version':'1.0.0','limits':{'memoryMiB':8.0}}", false, true, &m, NULL, NULL), 0);
  assert_int_equal(m->limits.memory_bytes, 8u << 20);
  pkg_manifest_free(m);
}

static void test_settings_schema(void **state) {
  (void)state;
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'k':{'type':'date','description':'d'}}}", false,
                      "manifest.settings.k", "manifest.settings.k.type: must be one of string, number, boolean, enum"));
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'k':{'type':'string'}}}", false, "manifest.settings.k",
                      "manifest.settings.k.description: is required"));
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'k':{'type':'number','description':'d','default':'5'}}}",
                      false, "manifest.settings.k", "manifest.settings.k.default: is not a valid number"));
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'k':{'type':'number','description':'d','min':1,'max':3,"
                      "'default':5}}}", false, "manifest.settings.k", "default: is not a valid number within min/max"));
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'k':{'type':'number','description':'d','min':3,'max':1}}}",
                      false, "manifest.settings.k", "min: must not be greater than max"));
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'k':{'type':'string','description':'d','min':1}}}", false,
                      "manifest.settings.k.min", "only settings of type number have min"));
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'k':{'type':'enum','description':'d'}}}", false,
                      "manifest.settings.k", "values: is required for type enum"));
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'k':{'type':'enum','description':'d','values':['x'],"
                      "'default':'y'}}}", false, "manifest.settings.k", "(must be one of values)"));
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'k':{'type':'string','description':'d','env':'1X'}}}",
                      false, "manifest.settings.k.env", "must be an environment variable name"));
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'k':{'type':'boolean','description':'d','secret':1}}}",
                      false, "manifest.settings.k.secret", "must be true or false"));
  assert_true(refused("{'id':'a','version':'1.0.0','settings':{'9k':{'type':'string','description':'d'}}}", false,
                      "manifest.settings.9k", "a setting name starts with a letter"));
}

static void test_settings_resolve(void **state) {
  (void)state;
  pkg_manifest *m = NULL;
  assert_int_equal(parse("{'id':'a','version':'1.0.0','settings':{"
                         "'level':{'type':'enum','description':'d','values':['low','high'],'default':'low'},"
                         "'port':{'type':'number','description':'d','min':1,'max':65535,'default':80,'env':'AL_TEST_PORT'},"
                         "'debug':{'type':'boolean','description':'d','env':'AL_TEST_DEBUG'},"
                         "'token':{'type':'string','description':'d','secret':true}}}", false, true, &m, NULL, NULL), 0);
  unsetenv("AL_TEST_PORT");
  unsetenv("AL_TEST_DEBUG");
  json_t *r = pkg_settings_resolve(m, NULL, NULL);
  assert_true(tj_is(r, "{'level':'low','port':80}"));
  json_decref(r);
  setenv("AL_TEST_PORT", "8080", 1);
  setenv("AL_TEST_DEBUG", "TRUE", 1);
  r = pkg_settings_resolve(m, NULL, NULL);
  assert_true(tj_is(r, "{'level':'low','port':8080,'debug':true}"));
  json_decref(r);
  setenv("AL_TEST_PORT", "99999", 1); /* out of range: the default stands */
  json_t *stored = tj("{'level':'high','token':'s3','debug':'no','port':443}");
  r = pkg_settings_resolve(m, stored, NULL);
  /* stored wins where valid; the invalid stored 'debug' falls back to the env */
  assert_true(tj_is(r, "{'level':'high','port':443,'debug':true,'token':'s3'}"));
  json_decref(r);
  json_decref(stored);
  unsetenv("AL_TEST_PORT");
  unsetenv("AL_TEST_DEBUG");
  al_error err;
  json_t *v = json_integer(70000);
  assert_int_equal(pkg_setting_check(m, "port", v, &err), AL_EINVALID_ARGUMENT);
  assert_string_equal(err.message, "settings.port: not a valid number (within min/max)");
  json_decref(v);
  v = json_string("x");
  assert_int_equal(pkg_setting_check(m, "nope", v, &err), AL_EINVALID_ARGUMENT);
  assert_string_equal(err.message, "settings.nope: no such setting in a's manifest");
  json_decref(v);
  pkg_manifest_free(m);
}

static void test_package_json(void **state) {
  (void)state;
  pkg_manifest *m = NULL;
  json_t *w = NULL;
  al_error err;
  assert_int_equal(parse("{'name':'@acme/tool','version':'3.1.4','description':'npm desc','main':'x.js',"
                         "'dependencies':{},'airlock':{'entry':'plugin.js','capabilities':{'kv':true}}}",
                         true, true, &m, &w, &err), 0);
  assert_string_equal(m->id, "@acme/tool");
  assert_string_equal(m->version, "3.1.4");
  assert_string_equal(m->description, "npm desc");
  assert_string_equal(m->entry, "plugin.js");
  assert_null(w); /* npm's own fields are not "unknown" */
  pkg_manifest_free(m);
  /* the airlock object's own id wins over npm's name */
  assert_int_equal(parse("{'name':'npm-name','version':'1.0.0','airlock':{'id':'own-id'}}", true, true, &m, NULL, &err), 0);
  assert_string_equal(m->id, "own-id");
  pkg_manifest_free(m);
  assert_int_equal(parse("{'name':'x','version':'1.0.0'}", true, true, &m, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_string_equal(err.message, "package.json.airlock: must be an object holding the Airlock manifest");
  assert_int_equal(pkg_manifest_parse("{\"id\": ", 7, false, true, &m, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "manifest: not valid JSON"));
  assert_int_equal(parse("[1]", false, true, &m, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_string_equal(err.message, "manifest: must be a JSON object");
  assert_int_equal(parse("{'id':'a','id':'b','version':'1.0.0'}", false, true, &m, NULL, &err), AL_EINVALID_ARGUMENT);
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_load_dir(void **state) {
  (void)state;
  char dir[] = "/tmp/al-test-manifest-XXXXXX";
  assert_non_null(mkdtemp(dir));
  pkg_manifest *m = NULL;
  al_error err;
  assert_int_equal(pkg_manifest_load_dir(dir, false, &m, NULL, &err), AL_EIO);
  assert_non_null(strstr(err.message, "no airlock.json or package.json"));

  write_file(dir, "package.json", "{\"name\":\"from-npm\",\"version\":\"1.0.0\",\"airlock\":{}}");
  assert_int_equal(pkg_manifest_load_dir(dir, false, &m, NULL, &err), AL_EIO);
  assert_string_equal(err.path, "manifest.entry");
  write_file(dir, "index.js", "definePlugin(() => ({widgets:{}}));");
  assert_int_equal(pkg_manifest_load_dir(dir, false, &m, NULL, &err), 0);
  assert_string_equal(m->id, "from-npm");
  pkg_manifest_free(m);

  /* airlock.json takes precedence; its errors name the file */
  write_file(dir, "airlock.json", "{\"id\":\"own\",\"version\":\"x\"}");
  assert_int_equal(pkg_manifest_load_dir(dir, false, &m, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "/airlock.json: manifest.version: 'x' is not semver"));

  /* an entry that is a symlink out of the package is refused */
  write_file(dir, "airlock.json", "{\"id\":\"own\",\"version\":\"1.0.0\",\"entry\":\"link.js\"}");
  char link[PATH_MAX];
  snprintf(link, sizeof link, "%s/link.js", dir);
  assert_int_equal(symlink("/etc/hostname", link), 0);
  assert_int_equal(pkg_manifest_load_dir(dir, false, &m, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_string_equal(err.message, "manifest.entry: 'link.js' resolves outside the package");
  assert_null(m);

  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_minimal_and_defaults),
      cmocka_unit_test(test_id_rule),
      cmocka_unit_test(test_version_and_engines),
      cmocka_unit_test(test_entry_must_stay_inside),
      cmocka_unit_test(test_unknown_fields),
      cmocka_unit_test(test_capabilities_shapes),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_settings_schema),
      cmocka_unit_test(test_settings_resolve),
      cmocka_unit_test(test_package_json),
      cmocka_unit_test(test_load_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

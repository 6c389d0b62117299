/*
 * test_capability_e2e.c: pi.http and pi.fs from plugin code through the public API, in
 * thread and process isolation: the hostcall reaches the capability chain with the
 * plugin's real manifest and the host's policy, a grant works, a symlink or ".." out of
 * the granted tree is refused, a read grant does not grant writes, a global deny beats a
 * grant, redirects come back unfollowed, and every decision is in the audit trail with
 * the spec's reason.
 */
#define _GNU_SOURCE /* mkdtemp, realpath, symlink */
#include "testutil.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "integration/httpd_test.h"

static char root[PATH_MAX];
static httpd_test *srv;

static int setup(void **state) {
  (void)state;
  char tmpl[] = "/tmp/al_cap_e2e_XXXXXX";
  if (!mkdtemp(tmpl) || !realpath(tmpl, root)) return -1;
  char p[PATH_MAX + 64], q[PATH_MAX + 64];
  const char *dirs[] = {"granted", "granted/out", "granted/private", "secret"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
    if (mkdir(p, 0700)) return -1;
  }
  const char *files[] = {"granted/file.txt", "granted/private/x.txt", "secret/key.txt"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", root, files[i]);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fprintf(f, "content of %s", files[i]);
    fclose(f);
  }
  snprintf(p, sizeof p, "%s/secret", root);
  snprintf(q, sizeof q, "%s/granted/escape", root);
  if (symlink(p, q)) return -1;
  if (httpd_test_start(&srv)) return -1;
  httpd_test_route(srv, "/ok", 200, "X-Served: yes\r\n", "hello plugin", 12, 0);
  httpd_test_route(srv, "/redir", 302, "Location: http://127.0.0.1:1/elsewhere\r\n", "", 0, 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  httpd_test_stop(srv);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  return system(cmd) == 0 ? 0 : -1;
}

/* Each tool turns a rejected hostcall into {ok:false, error} so the test sees the message. */
static const char *PLUGIN =
    "const wrap = (f) => async (a) => { try { return { ok: true, value: await f(a) }; }"
    "  catch (e) { return { ok: false, error: String(e && e.message || e) }; } };"
    "const tool = (name, f) => pi.registerTool({ name, description: name,"
    "  parameters: { type: 'object' }, handler: wrap(f) });"
    "tool('fetch', (a) => pi.http.get(a.url));"
    "tool('read', (a) => pi.fs.readText(a.path));"
    "tool('write', (a) => pi.fs.writeText(a.path, a.text));"
    "tool('exists', (a) => pi.fs.exists(a.path));";

static al_host *host_for(al_isolation iso) {
  static char policy[PATH_MAX + 128];
  snprintf(policy, sizeof policy, "{\"deny\":{\"fs_read\":[\"%s/granted/private/**\"]}}", root);
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = 1;
  cfg.watchdog_grace_ms = 5000;
  cfg.policy_json = policy;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  char manifest[PATH_MAX * 2 + 512];
  snprintf(manifest, sizeof manifest,
           "{\"id\":\"cap-e2e\",\"version\":\"1.0.0\",\"capabilities\":{\"register_tools\":true,"
           "\"network\":[\"127.0.0.1\"],\"fs_read\":[\"%s/granted/**\"],"
           "\"fs_write\":[\"%s/granted/out/**\"]}}",
           root, root);
  al_load_opts o = {.manifest_json = manifest};
  char id[AL_INSTANCE_ID_MAX];
  int rc = al_load(h, "cap-e2e", PLUGIN, strlen(PLUGIN), &o, id, sizeof id, &e);
  if (rc) fail_msg("load: %s: %s", al_err_name(rc), e.message);
  return h;
}

/* Calls a tool with args built from fmt; returns its {ok, value | error}. */
static json_t *call(al_host *h, const char *tool, const char *key, const char *value,
                    const char *key2, const char *value2) {
  json_t *args = json_pack("{s:s}", key, value);
  if (key2) json_object_set_new(args, key2, json_string(value2));
  char *text = json_dumps(args, JSON_COMPACT);
  json_decref(args);
  char *out = NULL;
  al_error e;
  int rc = al_tool_call(h, tool, text, &out, &e);
  free(text);
  if (rc) fail_msg("tool %s: %s: %s", tool, al_err_name(rc), e.message);
  return t_json(out);
}

static bool ok_of(const json_t *r) { return json_is_true(json_object_get(r, "ok")); }

static bool error_has(const json_t *r, const char *needle) {
  const char *e = json_string_value(json_object_get(r, "error"));
  if (!e || !strstr(e, needle)) {
    char *t = json_dumps(r, JSON_COMPACT);
    print_error("expected an error containing '%s', got %s\n", needle, t);
    free(t);
    return false;
  }
  return true;
}

static const char *at(const char *rel) {
  static char buf[4][PATH_MAX + 64];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
  return buf[k];
}

static void run_all(al_isolation iso) {
  al_host *h = host_for(iso);
  char u[128];

  /* network: granted host, response passed through; another host denied by default */
  snprintf(u, sizeof u, "http://127.0.0.1:%d/ok", httpd_test_port(srv));
  json_t *r = call(h, "fetch", "url", u, NULL, NULL);
  assert_true(ok_of(r));
  json_t *v = json_object_get(r, "value");
  assert_int_equal(json_integer_value(json_object_get(v, "status")), 200);
  assert_string_equal(json_string_value(json_object_get(v, "body")), "hello plugin");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(v, "headers"), "x-served")), "yes");
  json_decref(r);
  unsigned served = httpd_test_count(srv);
  snprintf(u, sizeof u, "http://localhost:%d/ok", httpd_test_port(srv));
  r = call(h, "fetch", "url", u, NULL, NULL);
  assert_false(ok_of(r));
  assert_true(error_has(r, "Denied by default"));
  json_decref(r);
  r = call(h, "fetch", "url", "file:///etc/passwd", NULL, NULL);
  assert_false(ok_of(r));
  json_decref(r);
  assert_int_equal(httpd_test_count(srv), served); /* neither reached the network */
  snprintf(u, sizeof u, "http://127.0.0.1:%d/redir", httpd_test_port(srv));
  r = call(h, "fetch", "url", u, NULL, NULL);
  assert_true(ok_of(r));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "value"), "status")),
                   302);
  json_decref(r);

  /* fs_read: granted file; symlink and ".." out of the tree; global deny inside it */
  r = call(h, "read", "path", at("granted/file.txt"), NULL, NULL);
  assert_true(ok_of(r));
  assert_string_equal(json_string_value(json_object_get(r, "value")),
                      "content of granted/file.txt");
  json_decref(r);
  r = call(h, "read", "path", at("granted/escape/key.txt"), NULL, NULL);
  assert_false(ok_of(r));
  assert_true(error_has(r, "Denied by default"));
  json_decref(r);
  r = call(h, "read", "path", at("granted/../secret/key.txt"), NULL, NULL);
  assert_false(ok_of(r));
  assert_true(error_has(r, "Denied by default"));
  json_decref(r);
  r = call(h, "read", "path", at("granted/private/x.txt"), NULL, NULL);
  assert_false(ok_of(r));
  assert_true(error_has(r, "Denied by global policy"));
  json_decref(r);

  /* fs_write: only under granted/out; a read grant is not a write grant */
  r = call(h, "write", "path", at("granted/out/new.txt"), "text", "written by plugin");
  assert_true(ok_of(r));
  json_decref(r);
  FILE *f = fopen(at("granted/out/new.txt"), "r");
  assert_non_null(f);
  char line[64] = "";
  assert_non_null(fgets(line, sizeof line, f));
  fclose(f);
  assert_string_equal(line, "written by plugin");
  r = call(h, "write", "path", at("granted/file.txt"), "text", "overwrite");
  assert_false(ok_of(r));
  assert_true(error_has(r, "Denied by default"));
  json_decref(r);
  r = call(h, "exists", "path", at("granted/out/new.txt"), NULL, NULL);
  assert_true(ok_of(r));
  assert_true(json_is_true(json_object_get(r, "value")));
  json_decref(r);
  unlink(at("granted/out/new.txt"));

  /* the audit trail has each decision, newest first, with the spec's reasons */
  char *out = NULL;
  assert_int_equal(al_audit(h, 0, &out, NULL), 0);
  json_t *audit = t_json(out);
  const char *want[][3] = {
      {"fs_read", "allowed", "Allowed by plugin allow list"},
      {"fs_write", "denied", "Denied by default"},
      {"fs_write", "allowed", "Allowed by plugin allow list"},
      {"fs_read", "denied", "Denied by global policy"},
      {"network", "allowed", "Allowed by plugin allow list"},
  };
  size_t i, found = 0;
  json_t *rec;
  for (size_t w = 0; w < sizeof want / sizeof want[0]; w++)
    json_array_foreach(audit, i, rec) {
      if (!strcmp(json_string_value(json_object_get(rec, "plugin_id")), "cap-e2e") &&
          !strcmp(json_string_value(json_object_get(rec, "action")), want[w][0]) &&
          !strcmp(json_string_value(json_object_get(rec, "decision")), want[w][1]) &&
          !strcmp(json_string_value(json_object_get(rec, "reason")), want[w][2])) {
        found++;
        break;
      }
    }
  assert_int_equal(found, sizeof want / sizeof want[0]);
  json_decref(audit);
  al_host_free(h);
}

static void test_thread(void **state) {
  (void)state;
  run_all(AL_ISOLATION_THREAD);
}

static void test_process(void **state) {
  (void)state;
  run_all(AL_ISOLATION_PROCESS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_thread),
      cmocka_unit_test(test_process),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

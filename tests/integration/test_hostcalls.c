/*
 * test_hostcalls.c: the `pi` API's calls outside the VM, end to end, in thread and
 * process isolation: pi.http against a loopback server (granted, and denied with an audit
 * record), pi.kv surviving a host restart, pi.fs on granted paths only, the approve
 * callback for "needs approval", and hostcall time counting against the event deadline.
 */
#include <unistd.h>

#include "httpd_test.h"
#include "testutil.h"

static al_host *mk(al_isolation iso, const char *home, const char *policy, al_approve_fn approve,
                   void *user) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = 2;
  cfg.watchdog_grace_ms = 5000; /* see testutil.h */
  cfg.home = home;
  cfg.policy_json = policy;
  cfg.approve = approve;
  cfg.approve_user = user;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  return h;
}

static void load(al_host *h, const char *pkg, const char *src, const char *manifest) {
  al_load_opts o = {.manifest_json = manifest};
  al_error e;
  int rc = al_load(h, pkg, src, strlen(src), &o, NULL, 0, &e);
  if (rc) fail_msg("load %s failed: %s: %s", pkg, al_err_name(rc), e.message);
}

/* Calls a tool; returns rc, with *out the parsed result (or NULL) and the error in *e. */
static int tool(al_host *h, const char *name, const char *args, json_t **out, al_error *e) {
  char *text = NULL;
  int rc = al_tool_call(h, name, args, &text, e);
  *out = rc ? NULL : t_json(text);
  return rc;
}

/* The newest audit record for (plugin, action), or NULL. New reference. */
static json_t *audit_find(al_host *h, const char *plugin, const char *action) {
  char *text = NULL;
  assert_int_equal(al_audit(h, 0, &text, NULL), 0);
  json_t *a = t_json(text), *found = NULL;
  size_t i;
  json_t *x;
  json_array_foreach(a, i, x) {
    if (!strcmp(json_string_value(json_object_get(x, "plugin_id")), plugin) &&
        !strcmp(json_string_value(json_object_get(x, "action")), action)) {
      found = json_incref(x);
      break;
    }
  }
  json_decref(a);
  return found;
}

static const char *HTTP_PLUGIN =
    "pi.registerTool({ name: '%s', handler: (a) => pi.http.get(a.url) });";

static void http_case(al_isolation iso) {
  httpd_test *srv = NULL;
  assert_int_equal(httpd_test_start(&srv), 0);
  httpd_test_route(srv, "/hello", 200, "X-Test: yes\r\n", "hi there", 8, 0);
  al_host *h = mk(iso, NULL, NULL, NULL, NULL);
  char src[256];
  snprintf(src, sizeof src, HTTP_PLUGIN, "fetch_ok");
  load(h, "netok", src, "{\"id\":\"netok\",\"version\":\"1.0.0\",\"capabilities\":"
                         "{\"register_tools\":true,\"network\":[\"127.0.0.1\"]}}");
  snprintf(src, sizeof src, HTTP_PLUGIN, "fetch_no");
  load(h, "netno", src, "{\"id\":\"netno\",\"version\":\"1.0.0\",\"capabilities\":{\"register_tools\":true}}");
  char args[128];
  snprintf(args, sizeof args, "{\"url\":\"http://127.0.0.1:%d/hello\"}", httpd_test_port(srv));
  json_t *r;
  al_error e;
  int rc = tool(h, "fetch_ok", args, &r, &e);
  if (rc) fail_msg("fetch_ok: %s: %s", al_err_name(rc), e.message);
  assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
  assert_string_equal(json_string_value(json_object_get(r, "body")), "hi there");
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "headers"), "x-test")), "yes");
  json_decref(r);
  json_t *rec = audit_find(h, "netok", "network");
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "decision")), "allowed");
  json_decref(rec);
  unsigned before = httpd_test_count(srv);
  rc = tool(h, "fetch_no", args, &r, &e);
  if (rc != AL_EPLUGIN || !strstr(e.message, "CAPABILITY_DENIED"))
    fail_msg("fetch_no: expected PLUGIN_ERROR with CAPABILITY_DENIED, got %s: %s", al_err_name(rc),
             rc ? e.message : "");
  assert_int_equal(httpd_test_count(srv), before); /* nothing left the host */
  rec = audit_find(h, "netno", "network");
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "decision")), "denied");
  assert_string_equal(json_string_value(json_object_get(rec, "reason")), "Denied by default");
  assert_non_null(strstr(json_string_value(json_object_get(rec, "resource")), "/hello"));
  json_decref(rec);
  /* issue 16: a grant of the NAME 'localhost' does not reach 127.0.0.1 (the address is
   * checked after resolution); the grant of '127.0.0.1' above, naming it, does */
  snprintf(src, sizeof src, HTTP_PLUGIN, "fetch_lo");
  load(h, "netlo", src, "{\"id\":\"netlo\",\"version\":\"1.0.0\",\"capabilities\":"
                         "{\"register_tools\":true,\"network\":[\"localhost\"]}}");
  snprintf(args, sizeof args, "{\"url\":\"http://localhost:%d/hello\"}", httpd_test_port(srv));
  rc = tool(h, "fetch_lo", args, &r, &e);
  if (rc != AL_EPLUGIN || !strstr(e.message, "CAPABILITY_DENIED") || !strstr(e.message, "loopback"))
    fail_msg("fetch_lo: expected CAPABILITY_DENIED for a loopback address, got %s: %s", al_err_name(rc),
             rc ? e.message : "");
  assert_int_equal(httpd_test_count(srv), before);
  rec = audit_find(h, "netlo", "network");
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "decision")), "denied");
  assert_non_null(strstr(json_string_value(json_object_get(rec, "reason")), "loopback"));
  json_decref(rec);
  al_host_free(h);
  httpd_test_stop(srv);
}

static void test_http_thread(void **st) {
  (void)st;
  http_case(AL_ISOLATION_THREAD);
}

static void test_http_process(void **st) {
  (void)st;
  http_case(AL_ISOLATION_PROCESS);
}

/* Hostcall time counts against the event's deadline: a slow server cannot hold an
 * info-class handler past its 500 ms. */
static void test_hostcall_deadline(void **st) {
  (void)st;
  httpd_test *srv = NULL;
  assert_int_equal(httpd_test_start(&srv), 0);
  httpd_test_route(srv, "/slow", 200, NULL, "late", 4, 3000);
  al_host *h = mk(AL_ISOLATION_THREAD, NULL, NULL, NULL, NULL);
  char src[256];
  snprintf(src, sizeof src,
           "pi.on('SessionEnd', async () => { const r = await pi.http.get('http://127.0.0.1:%d/slow');"
           " return { got: r.body }; });", httpd_test_port(srv));
  load(h, "slow", src, "{\"id\":\"slow\",\"version\":\"1.0.0\",\"capabilities\":{\"network\":[\"127.0.0.1\"]}}");
  char *out = NULL;
  assert_int_equal(al_emit(h, "SessionEnd", "{}", &out, NULL), 0);
  json_t *r = t_json(out);
  json_t *x = json_array_get(json_object_get(r, "results"), 0);
  assert_string_equal(json_string_value(json_object_get(x, "action")), "error");
  const char *why = json_string_value(json_object_get(x, "reason"));
  assert_true(strstr(why, "VM_TIMEOUT") || strstr(why, "timed out") || strstr(why, "deadline"));
  json_decref(r);
  al_host_free(h);
  httpd_test_stop(srv);
}

static const char *KV_PLUGIN =
    "pi.registerTool({ name: 'put', handler: async (a) => { await pi.kv.set(a.k, a.v); return true; } });"
    "pi.registerTool({ name: 'get', handler: (a) => pi.kv.get(a.k) });"
    "pi.registerTool({ name: 'keys', handler: () => pi.kv.list('') });";
static const char *KV_MANIFEST =
    "{\"id\":\"kvp\",\"version\":\"1.0.0\",\"capabilities\":{\"kv\":true,\"register_tools\":true}}";

static void kv_case(al_isolation iso) {
  char home[] = "/tmp/airlock-kv-XXXXXX";
  assert_non_null(mkdtemp(home));
  al_host *h = mk(iso, home, NULL, NULL, NULL);
  load(h, "kvp", KV_PLUGIN, KV_MANIFEST);
  json_t *r;
  al_error e;
  if (tool(h, "put", "{\"k\":\"a\",\"v\":{\"n\":[1,2,3]}}", &r, &e)) fail_msg("put: %s", e.message);
  json_decref(r);
  al_host_free(h);

  h = mk(iso, home, NULL, NULL, NULL); /* a new host over the same home */
  load(h, "kvp", KV_PLUGIN, KV_MANIFEST);
  if (tool(h, "get", "{\"k\":\"a\"}", &r, &e)) fail_msg("get: %s", e.message);
  t_assert_json(r, "{\"n\":[1,2,3]}");
  json_decref(r);
  if (tool(h, "keys", NULL, &r, &e)) fail_msg("keys: %s", e.message);
  t_assert_json(r, "[\"a\"]");
  json_decref(r);
  al_host_free(h);

  /* without a database pi.kv is refused, not silently forgotten */
  h = mk(iso, NULL, NULL, NULL, NULL);
  load(h, "kvp", KV_PLUGIN, KV_MANIFEST);
  assert_int_equal(tool(h, "put", "{\"k\":\"a\",\"v\":1}", &r, &e), AL_EPLUGIN);
  assert_non_null(strstr(e.message, "CAPABILITY_DENIED"));
  al_host_free(h);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", home);
  assert_int_equal(system(cmd), 0);
}

static void test_kv_thread(void **st) {
  (void)st;
  kv_case(AL_ISOLATION_THREAD);
}

static void test_kv_process(void **st) {
  (void)st;
  kv_case(AL_ISOLATION_PROCESS);
}

/* In process isolation the worker has no file access of its own; pi.fs reaches exactly
 * the granted paths, per action. */
static void test_fs_process(void **st) {
  (void)st;
  char dir[] = "/tmp/airlock-fs-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128], manifest[512], src[512];
  snprintf(path, sizeof path, "%s/note.txt", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("hello from the host", f);
  fclose(f);
  al_host *h = mk(AL_ISOLATION_PROCESS, NULL, NULL, NULL, NULL);
  snprintf(manifest, sizeof manifest,
           "{\"id\":\"fsp\",\"version\":\"1.0.0\",\"capabilities\":{\"register_tools\":true,"
           "\"fs_read\":[\"%s/**\"]}}", dir);
  snprintf(src, sizeof src,
           "pi.registerTool({ name: 'read', handler: (a) => pi.fs.readText(a.p) });"
           "pi.registerTool({ name: 'write', handler: (a) => pi.fs.writeText(a.p, 'x') });"
           "pi.registerTool({ name: 'ls', handler: (a) => pi.fs.list(a.p) });");
  load(h, "fsp", src, manifest);
  char args[256];
  json_t *r;
  al_error e;
  snprintf(args, sizeof args, "{\"p\":\"%s\"}", path);
  if (tool(h, "read", args, &r, &e)) fail_msg("read: %s", e.message);
  assert_string_equal(json_string_value(r), "hello from the host");
  json_decref(r);
  /* fs_read does not grant fs_write */
  assert_int_equal(tool(h, "write", args, &r, &e), AL_EPLUGIN);
  assert_non_null(strstr(e.message, "CAPABILITY_DENIED"));
  json_t *rec = audit_find(h, "fsp", "fs_write");
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "decision")), "denied");
  json_decref(rec);
  /* outside the grant, also through "..": refused */
  snprintf(args, sizeof args, "{\"p\":\"%s/../../etc/passwd\"}", dir);
  assert_int_equal(tool(h, "read", args, &r, &e), AL_EPLUGIN);
  assert_non_null(strstr(e.message, "CAPABILITY_DENIED"));
  assert_int_equal(tool(h, "read", "{\"p\":\"/proc/self/environ\"}", &r, &e), AL_EPLUGIN);
  assert_non_null(strstr(e.message, "CAPABILITY_DENIED"));
  snprintf(args, sizeof args, "{\"p\":\"%s\"}", dir);
  if (tool(h, "ls", args, &r, &e)) fail_msg("ls: %s", e.message);
  assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "name")), "note.txt");
  json_decref(r);
  al_host_free(h);
  unlink(path);
  rmdir(dir);
}

/* $PLUGIN_DATA is the plugin's own directory under the host's home, created on first use. */
static void test_plugin_data(void **st) {
  (void)st;
  char home[] = "/tmp/airlock-data-XXXXXX";
  assert_non_null(mkdtemp(home));
  al_host *h = mk(AL_ISOLATION_PROCESS, home, NULL, NULL, NULL);
  load(h, "notes",
       "pi.registerTool({ name: 'save', handler: async (a) => {"
       "  await pi.fs.writeText('$PLUGIN_DATA/n.txt', a.text);"
       "  return { back: await pi.fs.readText('$PLUGIN_DATA/n.txt'), there: await pi.fs.exists('$PLUGIN_DATA/n.txt') }; } });",
       "{\"id\":\"notes\",\"version\":\"1.0.0\",\"capabilities\":{\"register_tools\":true,"
       "\"fs_read\":[\"$PLUGIN_DATA/**\"],\"fs_write\":[\"$PLUGIN_DATA/**\"]}}");
  json_t *r;
  al_error e;
  if (tool(h, "save", "{\"text\":\"kept\"}", &r, &e)) fail_msg("save: %s", e.message);
  t_assert_json(r, "{\"back\":\"kept\",\"there\":true}");
  json_decref(r);
  al_host_free(h);
  char path[128];
  snprintf(path, sizeof path, "%s/data/notes/n.txt", home);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  fclose(f);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", home);
  assert_int_equal(system(cmd), 0);
}

typedef struct approvals {
  int asked;
  int answer;
  char last[128];
} approvals;

static int approve(void *user, const char *plugin_id, const char *action, const char *resource) {
  approvals *a = user;
  a->asked++;
  snprintf(a->last, sizeof a->last, "%s %s %s", plugin_id, action, resource);
  return a->answer;
}

static void test_approval(void **st) {
  (void)st;
  char home[] = "/tmp/airlock-ask-XXXXXX";
  assert_non_null(mkdtemp(home));
  const char *policy = "{\"default\":\"ask\"}";
  const char *src = "pi.registerTool({ name: 'put', handler: (a) => pi.kv.set(a.k, 1) });";
  const char *manifest = "{\"id\":\"asker\",\"version\":\"1.0.0\",\"capabilities\":{\"register_tools\":true}}";
  approvals ap = {0, AL_APPROVE_ALLOW, ""};
  al_host *h = mk(AL_ISOLATION_THREAD, home, policy, approve, &ap);
  load(h, "asker", src, manifest);
  json_t *r;
  al_error e;
  if (tool(h, "put", "{\"k\":\"x\"}", &r, &e)) fail_msg("put: %s", e.message);
  json_decref(r);
  assert_int_equal(ap.asked, 1);
  assert_string_equal(ap.last, "asker kv x");
  json_t *rec = audit_find(h, "asker", "kv");
  assert_string_equal(json_string_value(json_object_get(rec, "decision")), "allowed");
  assert_non_null(strstr(json_string_value(json_object_get(rec, "reason")), "Requires user approval: approved"));
  json_decref(rec);
  ap.answer = AL_APPROVE_DENY;
  assert_int_equal(tool(h, "put", "{\"k\":\"y\"}", &r, &e), AL_EPLUGIN);
  assert_non_null(strstr(e.message, "not approved"));
  al_host_free(h);

  /* headless: no callback, nobody to ask, denied */
  h = mk(AL_ISOLATION_THREAD, home, policy, NULL, NULL);
  load(h, "asker", src, manifest);
  assert_int_equal(tool(h, "put", "{\"k\":\"z\"}", &r, &e), AL_EPLUGIN);
  assert_non_null(strstr(e.message, "headless"));
  al_host_free(h);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", home);
  assert_int_equal(system(cmd), 0);
}

typedef struct log_lines {
  int n;
  char last[256];
} log_lines;

static void on_log(void *user, const char *plugin_id, const char *level, const char *message) {
  log_lines *l = user;
  l->n++;
  snprintf(l->last, sizeof l->last, "%s %s %s", plugin_id, level, message);
}

/* pi.getConfig reads the resolved settings (needs read_config); pi.logger reaches the
 * host's log callback tagged with the plugin id. */
static void test_config_and_logger(void **st) {
  (void)st;
  log_lines lines = {0, ""};
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_PROCESS;
  cfg.workers = 1;
  cfg.watchdog_grace_ms = 5000;
  cfg.log = on_log;
  cfg.log_user = &lines;
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  const char *src =
      "pi.registerTool({ name: 'cfg', handler: async (a) => {"
      "  pi.logger.warn('asked for', a.k, { n: 1 });"
      "  const v = await pi.getConfig(a.k); return v === undefined ? 'undefined' : v; } });";
  load(h, "cfg", src,
       "{\"id\":\"cfg\",\"version\":\"1.0.0\",\"capabilities\":{\"register_tools\":true,"
       "\"read_config\":true},\"settings\":{\"greeting\":{\"type\":\"string\","
       "\"description\":\"how to greet\",\"default\":\"hello\"}}}");
  json_t *r;
  al_error e;
  if (tool(h, "cfg", "{\"k\":\"greeting\"}", &r, &e)) fail_msg("cfg: %s", e.message);
  assert_string_equal(json_string_value(r), "hello");
  json_decref(r);
  assert_string_equal(lines.last, "cfg warn asked for greeting {\"n\":1}");
  if (tool(h, "cfg", "{\"k\":\"nope\"}", &r, &e)) fail_msg("cfg: %s", e.message);
  assert_string_equal(json_string_value(r), "undefined");
  json_decref(r);
  al_host_free(h);
}

/* Issue 16: a setting whose value comes from a host variable is a read of that variable.
 * read_config alone does not reveal it (denied, audited under the variable's name);
 * env_vars naming it does. The canary is set in this process, the host's environment. */
static void env_case(al_isolation iso) {
  setenv("AWS_SECRET_ACCESS_KEY", "canary-4f1e", 1);
  al_host *h = mk(iso, NULL, NULL, NULL, NULL);
  const char *src =
      "pi.registerTool({ name: '%s', handler: async () => {"
      "  try { const v = await pi.getConfig('key'); return v === undefined ? 'undefined' : v; }"
      "  catch (e) { return 'threw ' + e.message; } } });";
  const char *settings = "\"settings\":{\"key\":{\"type\":\"string\",\"description\":\"d\","
                         "\"secret\":true,\"env\":\"AWS_SECRET_ACCESS_KEY\",\"default\":\"dflt\"}}";
  char code[512], man[512];
  snprintf(code, sizeof code, src, "env_no");
  snprintf(man, sizeof man, "{\"id\":\"envno\",\"version\":\"1.0.0\",\"capabilities\":"
           "{\"register_tools\":true,\"read_config\":true},%s}", settings);
  load(h, "envno", code, man);
  snprintf(code, sizeof code, src, "env_yes");
  snprintf(man, sizeof man, "{\"id\":\"envyes\",\"version\":\"1.0.0\",\"capabilities\":"
           "{\"register_tools\":true,\"read_config\":true,\"env_vars\":[\"AWS_SECRET_ACCESS_KEY\"]},%s}",
           settings);
  load(h, "envyes", code, man);
  json_t *r;
  al_error e;
  if (tool(h, "env_no", "{}", &r, &e)) fail_msg("env_no: %s", e.message);
  const char *got = json_string_value(r);
  if (!got || strstr(got, "canary") || !strstr(got, "CAPABILITY_DENIED") ||
      !strstr(got, "AWS_SECRET_ACCESS_KEY"))
    fail_msg("env_no: expected a denial naming the variable, got %s", got ? got : "(not a string)");
  json_decref(r);
  json_t *rec = audit_find(h, "envno", "env_vars");
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "decision")), "denied");
  assert_string_equal(json_string_value(json_object_get(rec, "resource")), "AWS_SECRET_ACCESS_KEY");
  json_decref(rec);
  if (tool(h, "env_yes", "{}", &r, &e)) fail_msg("env_yes: %s", e.message);
  assert_string_equal(json_string_value(r), "canary-4f1e");
  json_decref(r);
  rec = audit_find(h, "envyes", "env_vars");
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "decision")), "allowed");
  assert_string_equal(json_string_value(json_object_get(rec, "resource")), "AWS_SECRET_ACCESS_KEY");
  json_decref(rec);
  /* unset: the default, still only after the check */
  unsetenv("AWS_SECRET_ACCESS_KEY");
  if (tool(h, "env_yes", "{}", &r, &e)) fail_msg("env_yes: %s", e.message);
  assert_string_equal(json_string_value(r), "dflt");
  json_decref(r);
  al_host_free(h);
}

static void test_env_thread(void **st) {
  (void)st;
  env_case(AL_ISOLATION_THREAD);
}

static void test_env_process(void **st) {
  (void)st;
  env_case(AL_ISOLATION_PROCESS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_thread),
      cmocka_unit_test(test_http_process),
      cmocka_unit_test(test_hostcall_deadline),
      cmocka_unit_test(test_kv_thread),
      cmocka_unit_test(test_kv_process),
      cmocka_unit_test(test_fs_process),
      cmocka_unit_test(test_plugin_data),
      cmocka_unit_test(test_approval),
      cmocka_unit_test(test_config_and_logger),
      cmocka_unit_test(test_env_thread),
      cmocka_unit_test(test_env_process),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

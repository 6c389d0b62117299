/*
 * test_hooks.c: events through the public API: pi.on/once/off in the VM, emit to many
 * plugins, result normalization and aggregation, failure isolation (a handler that loops
 * forever costs only its own result), tools, and the kill switches.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static al_host *mk(al_isolation iso, unsigned workers) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = workers;
  cfg.watchdog_grace_ms = 5000; /* see testutil.h */
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  return h;
}

/* Loads a hook plugin with an optional manifest; asserts success. */
static void load(al_host *h, const char *pkg, const char *src, const char *manifest, char *id) {
  al_load_opts o = {.manifest_json = manifest};
  al_error e;
  int rc = al_load(h, pkg, src, strlen(src), &o, id, AL_INSTANCE_ID_MAX, &e);
  if (rc) fail_msg("load %s failed: %s: %s", pkg, al_err_name(rc), e.message);
}

static const char *action_of(const json_t *v) { return json_string_value(json_object_get(v, "action")); }

/* The guard builds its pattern, so preflight sees no destructive string literal. */
static const char *GUARD =
    "const bad = ['rm', '-rf'].join(' ');"
    "pi.on('PreToolUse', (e) => {"
    "  const cmd = String((e.tool_input || {}).command || '');"
    "  if (cmd.includes(bad)) return { block: 'refusing ' + bad + ' (' + pi.id + ')' };"
    "});";

static void test_block_and_continue(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD, 2);
  char id[AL_INSTANCE_ID_MAX];
  load(h, "guard", GUARD, NULL, id);
  assert_int_equal(al_hook_subscribed(h, "PreToolUse"), 1);
  assert_int_equal(al_hook_subscribed(h, "PostToolUse"), 0);
  json_t *r = t_emit(h, "PreToolUse", "{\"tool_name\":\"bash\",\"tool_input\":{\"command\":\"rm -rf /\"}}");
  assert_string_equal(action_of(r), "block");
  assert_string_equal(json_string_value(json_object_get(r, "reason")), "refusing rm -rf (guard)");
  json_t *res = json_object_get(r, "results");
  assert_int_equal(json_array_size(res), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "instanceId")), id);
  assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "pluginId")), "guard");
  json_decref(r);
  r = t_emit(h, "PreToolUse", "{\"tool_name\":\"bash\",\"tool_input\":{\"command\":\"ls\"}}");
  assert_string_equal(action_of(r), "continue");
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "payload"), "tool_name")), "bash");
  json_decref(r);
  /* no subscriber: nothing runs, the aggregate still answers */
  r = t_emit(h, "PostToolUse", NULL);
  t_assert_json(json_object_get(r, "results"), "[]");
  assert_string_equal(action_of(r), "continue");
  json_decref(r);
  assert_int_equal(al_emit(h, "PostToolUse", NULL, NULL, NULL), 0);
  al_error e;
  assert_int_equal(al_emit(h, "NoSuchEvent", NULL, NULL, &e), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(e.message, "NoSuchEvent"));
  assert_int_equal(al_emit(h, "PreToolUse", "[1]", NULL, &e), AL_EINVALID_ARGUMENT);
  /* unloading drops the subscription */
  assert_int_equal(al_unload(h, id, NULL), 0);
  assert_int_equal(al_hook_subscribed(h, "PreToolUse"), 0);
  al_host_free(h);
}

static void test_unknown_event_is_type_error(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_INLINE, 1);
  const char *src = "pi.on('PreToolUs', () => {});";
  al_error e;
  assert_int_equal(al_load(h, "typo", src, strlen(src), NULL, NULL, 0, &e), AL_EPLUGIN_LOAD);
  assert_non_null(strstr(e.message, "TypeError"));
  assert_non_null(strstr(e.message, "Unknown event 'PreToolUs'"));
  assert_non_null(strstr(e.message, "PreToolUse, PostToolUse"));
  /* and a script with neither definePlugin nor pi.on still fails the contract's way */
  const char *none = "1 + 1;";
  assert_int_equal(al_load(h, "none", none, strlen(none), NULL, NULL, 0, &e), AL_EPLUGIN_LOAD);
  assert_string_equal(e.message, "Plugin did not register via definePlugin");
  al_host_free(h);
}

/* 100 plugins, every tenth subscribed to SessionEnd (info class, 500 ms); one of those
 * loops forever. All ten results arrive in registration order; only the looping one is an
 * error, and it is a timeout. */
static void test_hundred_plugins(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD, 2);
  char ids[100][AL_INSTANCE_ID_MAX];
  char src[256];
  for (int i = 0; i < 100; i++) {
    if (i % 10 == 0)
      snprintf(src, sizeof src, "pi.on('SessionEnd', (e) => { %s return { n: %d, sid: e.session_id, ev: e.event }; });",
               i == 30 ? "for (;;) {}" : "", i);
    else
      snprintf(src, sizeof src, "definePlugin(({ ui }) => ({ widgets: { w: { render: () => ui.text('%d') } } }));", i);
    char pkg[16];
    snprintf(pkg, sizeof pkg, "p%d", i);
    load(h, pkg, src, NULL, ids[i]);
  }
  json_t *r = t_emit(h, "SessionEnd", "{\"session_id\":\"s1\"}");
  json_t *res = json_object_get(r, "results");
  assert_int_equal(json_array_size(res), 10);
  for (int k = 0; k < 10; k++) {
    json_t *x = json_array_get(res, (size_t)k);
    assert_string_equal(json_string_value(json_object_get(x, "instanceId")), ids[k * 10]);
    if (k == 3) {
      assert_string_equal(action_of(x), "error");
      assert_non_null(strstr(json_string_value(json_object_get(x, "reason")), "VM_TIMEOUT"));
    } else {
      assert_string_equal(action_of(x), "continue");
      json_t *out = json_object_get(x, "output");
      assert_int_equal(json_integer_value(json_object_get(out, "n")), k * 10);
      assert_string_equal(json_string_value(json_object_get(out, "sid")), "s1");
      assert_string_equal(json_string_value(json_object_get(out, "ev")), "SessionEnd");
    }
  }
  assert_string_equal(action_of(r), "continue");
  json_decref(r);
  al_host_free(h);
}

static void test_aggregation(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD, 2);
  char id[AL_INSTANCE_ID_MAX];
  load(h, "allow1", "pi.on('PermissionRequest', () => ({ decision: 'allow' }));", NULL, id);
  load(h, "deny1", "pi.on('PermissionRequest', () => ({ decision: 'deny', message: 'not on my watch' }));", NULL, id);
  load(h, "allow2", "pi.on('PermissionRequest', async () => { await pi.sleep(5); return { decision: 'allow' }; });", NULL, id);
  load(h, "thrower", "pi.on('PermissionRequest', () => { throw new Error('boom'); });", NULL, id);
  json_t *r = t_emit(h, "PermissionRequest", "{\"action\":\"write\",\"session_id\":\"s\"}");
  assert_string_equal(action_of(r), "deny");
  assert_string_equal(json_string_value(json_object_get(r, "reason")), "not on my watch");
  json_t *res = json_object_get(r, "results");
  assert_int_equal(json_array_size(res), 4);
  assert_string_equal(action_of(json_array_get(res, 0)), "allow");
  assert_string_equal(action_of(json_array_get(res, 2)), "allow");
  assert_string_equal(action_of(json_array_get(res, 3)), "error");
  assert_non_null(strstr(json_string_value(json_object_get(json_array_get(res, 3), "reason")), "boom"));
  json_decref(r);

  /* modifications chain in registration order: the later replacement wins */
  load(h, "m1", "pi.on('UserPromptSubmit', (e) => ({ modified_prompt: e.content + '!' }));", NULL, id);
  load(h, "m2", "pi.on('UserPromptSubmit', () => ({ modified_prompt: 'second' }));", NULL, id);
  load(h, "m3", "pi.on('UserPromptSubmit', () => ({ block: 'cannot block this' }));", NULL, id);
  r = t_emit(h, "UserPromptSubmit", "{\"content\":\"hi\",\"session_id\":\"s\"}");
  assert_string_equal(action_of(r), "continue");
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "payload"), "content")), "second");
  res = json_object_get(r, "results");
  t_assert_json(json_object_get(json_array_get(res, 0), "output"), "{\"modified_prompt\":\"hi!\"}");
  assert_non_null(json_object_get(json_array_get(res, 2), "ignored"));
  json_decref(r);

  /* AgentStart appends additional_system_prompt from every handler */
  load(h, "a1", "pi.on('AgentStart', () => ({ additional_system_prompt: ['one'] }));", NULL, id);
  load(h, "a2", "pi.on('AgentStart', () => ({ additional_system_prompt: 'two' }));", NULL, id);
  r = t_emit(h, "AgentStart", "{}");
  t_assert_json(json_object_get(r, "additional_system_prompt"), "[\"one\",\"two\"]");
  json_decref(r);
  al_host_free(h);
}

static void test_once_off_and_order_within_plugin(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_INLINE, 1);
  char id[AL_INSTANCE_ID_MAX];
  load(h, "o",
       "let n = 0;"
       "pi.once('TurnEnd', () => ({ which: 'once', n: ++n }));"
       "const f = () => ({ which: 'on', n: ++n });"
       "pi.on('TurnEnd', f);"
       "pi.on('TaskCreated', () => { pi.off('TurnEnd', f); return { off: true }; });",
       NULL, id);
  json_t *r = t_emit(h, "TurnEnd", "{}");
  json_t *res = json_object_get(r, "results");
  assert_int_equal(json_array_size(res), 2);
  t_assert_json(json_object_get(json_array_get(res, 0), "output"), "{\"which\":\"once\",\"n\":1}");
  t_assert_json(json_object_get(json_array_get(res, 1), "output"), "{\"which\":\"on\",\"n\":2}");
  json_decref(r);
  r = t_emit(h, "TurnEnd", "{}");
  assert_int_equal(json_array_size(json_object_get(r, "results")), 1);
  json_decref(r);
  json_decref(t_emit(h, "TaskCreated", "{}"));
  assert_int_equal(al_hook_subscribed(h, "TurnEnd"), 0);
  al_host_free(h);
}

static void test_pi_members(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_PROCESS, 1);
  char id[AL_INSTANCE_ID_MAX];
  const char *manifest = "{\"id\":\"members\",\"version\":\"1.2.3\",\"capabilities\":{\"register_tools\":true}}";
  load(h, "members",
       "pi.registerTool({ name: 'info', description: 'd', parameters: { type: 'object' },"
       "  handler: async (a) => { const t0 = Date.now(); await pi.sleep(20);"
       "    pi.logger.info('tool ran', { a });"
       "    return { id: pi.id, version: pi.version, same: pi === airlock, uuid: pi.uuid(),"
       "             slept: Date.now() - t0 >= 15, a, std: typeof std, os: typeof os }; } });",
       manifest, id);
  char *out = NULL;
  al_error e;
  assert_int_equal(al_tools(h, &out, NULL), 0);
  json_t *tools = t_json(out);
  assert_int_equal(json_array_size(tools), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(tools, 0), "name")), "info");
  assert_string_equal(json_string_value(json_object_get(json_array_get(tools, 0), "pluginId")), "members");
  json_decref(tools);
  int rc = al_tool_call(h, "info", "{\"x\":1}", &out, &e);
  if (rc) fail_msg("tool: %s", e.message);
  json_t *v = t_json(out);
  assert_string_equal(json_string_value(json_object_get(v, "id")), "members");
  assert_string_equal(json_string_value(json_object_get(v, "version")), "1.2.3");
  assert_true(json_is_true(json_object_get(v, "same")));
  assert_true(json_is_true(json_object_get(v, "slept")));
  assert_string_equal(json_string_value(json_object_get(v, "std")), "undefined");
  assert_string_equal(json_string_value(json_object_get(v, "os")), "undefined");
  const char *u = json_string_value(json_object_get(v, "uuid"));
  assert_int_equal(strlen(u), 36);
  assert_int_equal(u[14], '4');
  assert_true(strchr("89ab", u[19]) != NULL);
  t_assert_json(json_object_get(v, "a"), "{\"x\":1}");
  json_decref(v);
  assert_int_equal(al_tool_call(h, "nope", NULL, &out, &e), AL_EINVALID_ARGUMENT);
  /* a tool name is unique host-wide; without register_tools the call is denied */
  const char *dup = "pi.registerTool({ name: 'info', handler: () => 1 });";
  assert_int_equal(al_load(h, "dup", dup, strlen(dup), &(al_load_opts){.manifest_json = "{\"id\":\"dup\",\"version\":\"1.0.0\",\"capabilities\":{\"register_tools\":true}}"}, NULL, 0, &e), AL_EPLUGIN_LOAD);
  assert_non_null(strstr(e.message, "already registered by plugin 'members'"));
  assert_int_equal(al_load(h, "nocap", dup, strlen(dup), NULL, NULL, 0, &e), AL_EPLUGIN_LOAD);
  assert_non_null(strstr(e.message, "CAPABILITY_DENIED"));
  al_host_free(h);
}

static void test_preflight_blocks(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_INLINE, 1);
  const char *src = "pi.on('PreToolUse', () => { console.log('rm -rf /'); });";
  const char *manifest = "{\"id\":\"bad\",\"version\":\"1.0.0\"}";
  al_error e;
  assert_int_equal(al_load(h, "bad", src, strlen(src), &(al_load_opts){.manifest_json = manifest}, NULL, 0, &e),
                   AL_EPREFLIGHT_BLOCKED);
  char *out = NULL;
  assert_int_equal(al_audit(h, 0, &out, NULL), 0);
  json_t *a = t_json(out);
  bool seen = false;
  size_t i;
  json_t *x;
  json_array_foreach(a, i, x) seen |= !strcmp(json_string_value(json_object_get(x, "action")), "preflight") &&
                                      !strcmp(json_string_value(json_object_get(x, "decision")), "denied");
  assert_true(seen);
  json_decref(a);
  al_host_free(h);
}

static void test_kill_switches(void **st) {
  (void)st;
  setenv("AIRLOCK_SKIP_PLUGINS", "TRUE", 1);
  al_host *h = mk(AL_ISOLATION_INLINE, 1);
  unsetenv("AIRLOCK_SKIP_PLUGINS");
  char id[AL_INSTANCE_ID_MAX];
  load(h, "guard", GUARD, NULL, id);
  json_t *r = t_emit(h, "PreToolUse", "{\"tool_input\":{\"command\":\"rm -rf /\"}}");
  assert_string_equal(action_of(r), "continue");
  t_assert_json(json_object_get(r, "results"), "[]");
  json_decref(r);
  char *out;
  al_error e;
  assert_int_equal(al_tool_call(h, "x", NULL, &out, &e), AL_EPLUGINS_DISABLED);
  assert_int_equal(al_audit(h, 0, &out, NULL), 0);
  json_t *a = t_json(out);
  assert_string_equal(json_string_value(json_object_get(json_array_get(a, json_array_size(a) - 1), "resource")),
                      "AIRLOCK_SKIP_PLUGINS");
  json_decref(a);
  al_host_free(h);

  setenv("AIRLOCK_DISABLE_PLUGINS", "1", 1);
  h = mk(AL_ISOLATION_INLINE, 1);
  unsetenv("AIRLOCK_DISABLE_PLUGINS");
  assert_int_equal(al_load(h, "guard", GUARD, strlen(GUARD), NULL, NULL, 0, &e), AL_EPLUGINS_DISABLED);
  assert_int_equal(al_emit(h, "PreToolUse", NULL, NULL, &e), AL_EPLUGINS_DISABLED);
  al_host_free(h);

  setenv("AIRLOCK_FORCE_DENY", "1", 1);
  h = mk(AL_ISOLATION_INLINE, 1);
  unsetenv("AIRLOCK_FORCE_DENY");
  /* permission events answer deny without asking anyone */
  r = t_emit(h, "PermissionRequest", "{}");
  assert_string_equal(action_of(r), "deny");
  assert_string_equal(json_string_value(json_object_get(r, "reason")), "Denied by AIRLOCK_FORCE_DENY");
  json_decref(r);
  /* every capability check is denied, even subscribing to an event */
  assert_int_equal(al_load(h, "guard", GUARD, strlen(GUARD), NULL, NULL, 0, &e), AL_EPLUGIN_LOAD);
  assert_non_null(strstr(e.message, "CAPABILITY_DENIED"));
  assert_non_null(strstr(e.message, "AIRLOCK_FORCE_DENY"));
  al_host_free(h);
}

static void test_register_event(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD, 2);
  al_hook_def d = {.name = "Deploy", .timeout_ms = 1000, .flags = AL_HOOK_MAY_BLOCK | AL_HOOK_MAY_MODIFY,
                   .modifies_json = "{\"target\":\"env\"}"};
  al_error e;
  assert_int_equal(al_hook_register(h, &d, &e), 0);
  al_hook_def bad = {.name = "has space"};
  assert_int_equal(al_hook_register(h, &bad, &e), AL_EINVALID_ARGUMENT);
  char id[AL_INSTANCE_ID_MAX];
  load(h, "d", "pi.on('Deploy', (e) => ({ target: e.env + '-canary' }));", NULL, id);
  json_t *r = t_emit(h, "Deploy", "{\"env\":\"prod\"}");
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "payload"), "env")), "prod-canary");
  json_decref(r);
  char *out;
  assert_int_equal(al_hooks(h, &out, NULL), 0);
  json_t *hs = t_json(out);
  assert_true(json_array_size(hs) > 27);
  json_decref(hs);
  al_host_free(h);
}

/* pi.sleep never holds a handler past its deadline: a 10 s sleep in an info-class (500 ms)
 * handler ends as that handler's VM_TIMEOUT, and the instance answers the next emit. */
static void test_sleep_deadline(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_PROCESS, 1);
  char id[AL_INSTANCE_ID_MAX];
  load(h, "sleepy", "let n = 0; pi.on('TurnEnd', async () => { if (++n === 1) await pi.sleep(10000); return { n }; });",
       NULL, id);
  json_t *r = t_emit(h, "TurnEnd", "{}");
  json_t *x = json_array_get(json_object_get(r, "results"), 0);
  assert_string_equal(action_of(x), "error");
  assert_non_null(strstr(json_string_value(json_object_get(x, "reason")), "VM_TIMEOUT"));
  json_decref(r);
  r = t_emit(h, "TurnEnd", "{}");
  t_assert_json(json_object_get(json_array_get(json_object_get(r, "results"), 0), "output"), "{\"n\":2}");
  json_decref(r);
  al_host_free(h);
}

/* A plugin's time for an event is its class's, however many handlers it registered (20
 * stalling handlers once held an info-class emit for 20 x 500 ms): the first handler that
 * stalls is cut at the plugin's deadline, the ones after it do not run at all, and the
 * other plugin's handler, on another worker, answers as usual. Shown by what each handler
 * reports, not by a clock. The 65th handler for one event is refused inside the VM. */
static void test_budget_per_plugin(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_PROCESS, 2);
  char slow[AL_INSTANCE_ID_MAX], fast[AL_INSTANCE_ID_MAX];
  load(h, "stall", "globalThis.ran = 0;"
                   "for (let i = 0; i < 20; i++) pi.on('TurnEnd', () => { ran++; for (;;) {} });"
                   "pi.on('TurnStart', () => ({ ran }));", NULL, slow);
  load(h, "quick", "pi.on('TurnEnd', () => ({ fine: true }));", NULL, fast);
  json_t *r = t_emit(h, "TurnEnd", "{}");
  json_t *res = json_object_get(r, "results");
  assert_int_equal(json_array_size(res), 21);
  size_t i, cut = 0, skipped = 0;
  json_t *x;
  json_array_foreach(res, i, x) {
    const char *pid = json_string_value(json_object_get(x, "pluginId"));
    if (!strcmp(pid, "quick")) {
      t_assert_json(json_object_get(x, "output"), "{\"fine\":true}");
      continue;
    }
    assert_string_equal(action_of(x), "error");
    const char *why = json_string_value(json_object_get(x, "reason"));
    assert_non_null(strstr(why, "VM_TIMEOUT"));
    if (strstr(why, "before this handler's turn")) skipped++;
    else cut++;
  }
  assert_int_equal(cut, 1);
  assert_int_equal(skipped, 19);
  json_decref(r);
  /* only the first stalling handler ever ran */
  r = t_emit(h, "TurnStart", "{}");
  t_assert_json(json_object_get(json_array_get(json_object_get(r, "results"), 0), "output"), "{\"ran\":1}");
  json_decref(r);
  /* at most EV_MAX_HANDLERS (64) per event, refused where the plugin can see it */
  al_error e;
  const char *many = "for (let i = 0; i < 65; i++) pi.on('TurnEnd', () => {});";
  assert_int_equal(al_load(h, "many", many, strlen(many), NULL, NULL, 0, &e), AL_EPLUGIN_LOAD);
  assert_non_null(strstr(e.message, "at most 64 handlers for 'TurnEnd'"));
  al_host_free(h);
}

/* A plugin with no capabilities that asks for the same denied thing in a loop (it once
 * wrote 61 MiB of audit in one emit): the first denial is recorded, the rest are counted,
 * and the count is written when the host closes. The audit file stays small. */
static void test_audit_flood(void **st) {
  (void)st;
  char path[] = "/tmp/airlock-audit-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  al_config cfg;
  al_config_init(&cfg);
  cfg.watchdog_grace_ms = 5000;
  cfg.audit_path = path;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  char id[AL_INSTANCE_ID_MAX];
  load(h, "flood", "pi.on('TurnStart', async () => { let n = 0;"
                   "  for (let i = 0; i < 500; i++) { try { await pi.fs.readText('/etc/' + 'x'.repeat(3000)); } catch (e) { n++; } }"
                   "  return { denied: n }; });", NULL, id);
  json_t *r = t_emit(h, "TurnStart", "{}");
  t_assert_json(json_object_get(json_array_get(json_object_get(r, "results"), 0), "output"), "{\"denied\":500}");
  json_decref(r);
  char *out = NULL;
  assert_int_equal(al_audit(h, 0, &out, &e), 0);
  json_t *all = t_json(out);
  size_t i, mine = 0;
  json_t *rec;
  json_array_foreach(all, i, rec)
    if (!strcmp(json_string_value(json_object_get(rec, "plugin_id")), "flood") &&
        !strcmp(json_string_value(json_object_get(rec, "action")), "fs_read"))
      mine++;
  assert_int_equal(mine, 1);
  json_decref(all);
  al_host_free(h);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_true(sb.st_size < 64 * 1024); /* not 500 x 3 KiB */
  FILE *f = fopen(path, "r");
  char line[8192];
  bool counted = false;
  while (f && fgets(line, sizeof line, f)) counted |= strstr(line, "(and 499 more identical denials within 10 s)") != NULL;
  if (f) fclose(f);
  assert_true(counted);
  unlink(path);
}

/* The tool table lives in the host, so the host bounds it (4 MB registrations once grew
 * it by 218 MiB): 64 tools per plugin, 4 KiB descriptions, 64 KiB parameter schemas; each
 * refusal is an error the plugin sees where it registered. */
static void test_tool_bounds(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_PROCESS, 1);
  char id[AL_INSTANCE_ID_MAX];
  load(h, "tools", "let err = '';"
                   "pi.registerTool({ name: 'errors', handler: () => err });"
                   "for (let i = 0; i < 63; i++) pi.registerTool({ name: 't' + i, handler: () => i });"
                   "try { pi.registerTool({ name: 't63', handler: () => 0 }); } catch (e) { err += e.message + '|'; }"
                   "try { pi.registerTool({ name: 't0', description: 'd'.repeat(4097), handler: () => 0 }); } catch (e) { err += e.message + '|'; }"
                   "try { pi.registerTool({ name: 't1', parameters: { type: 'object', description: 'p'.repeat(70000) }, handler: () => 0 }); } catch (e) { err += e.message + '|'; }",
       "{\"id\":\"tools\",\"version\":\"1.0.0\",\"capabilities\":{\"register_tools\":true}}", id);
  char *out = NULL;
  al_error e;
  assert_int_equal(al_tools(h, &out, &e), 0);
  json_t *tools = t_json(out);
  assert_int_equal(json_array_size(tools), 64);
  json_decref(tools);
  assert_int_equal(al_tool_call(h, "errors", NULL, &out, &e), 0);
  json_t *v = t_json(out);
  const char *got = json_string_value(v);
  assert_non_null(strstr(got, "'t63': a plugin may register at most 64 tools|"));
  assert_non_null(strstr(got, "'t0': a description may have at most 4096 bytes (this one has 4097)|"));
  assert_non_null(strstr(got, "'t1': parameters may have at most 65536 bytes of JSON|"));
  json_decref(v);
  al_host_free(h);
}

/* Process isolation: a worker that dies is audited, restarts on the next call, and
 * reloads its instances with their subscriptions: the next emit reaches them again. */
static void test_crash_restart(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_PROCESS, 1);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX];
  load(h, "a", "let n = 0; pi.on('TurnStart', () => ({ n: ++n }));", NULL, a);
  load(h, "b", "pi.on('TurnStart', () => ({ b: true }));", NULL, b);
  json_decref(t_emit(h, "TurnStart", "{}"));
  al_error e;
  assert_int_equal(al_debug(h, a, "crash", 0, &e), AL_ECRASHED);
  json_t *r = t_emit(h, "TurnStart", "{}");
  json_t *res = json_object_get(r, "results");
  assert_int_equal(json_array_size(res), 2);
  /* module state started over with the reload; the subscription survived it */
  t_assert_json(json_object_get(json_array_get(res, 0), "output"), "{\"n\":1}");
  t_assert_json(json_object_get(json_array_get(res, 1), "output"), "{\"b\":true}");
  json_decref(r);
  char *out;
  assert_int_equal(al_audit(h, 0, &out, NULL), 0);
  json_t *au = t_json(out);
  bool seen = false;
  size_t i;
  json_t *x;
  json_array_foreach(au, i, x) seen |= !strcmp(json_string_value(json_object_get(x, "action")), "worker_restart");
  assert_true(seen);
  json_decref(au);
  al_host_free(h);
}

/* A hot reload swaps a hook plugin's code in place: the tools and subscriptions become the
 * new code's only when the reload succeeds; a failed one leaves the old ones working. */
static void reload_case(al_isolation iso) {
  al_host *h = mk(iso, 1);
  static const char *MANIFEST =
      "{\"id\":\"hot\",\"version\":\"1.0.0\",\"capabilities\":{\"register_tools\":true,"
      "\"read_config\":true}}";
  static const char *V1 = "pi.registerTool({ name: 'which', handler: () => 'v1' });"
                          "pi.on('SessionEnd', () => ({ from: 'v1' }));";
  /* v2's tool makes a hostcall: the swapped-in VM must speak for the instance's id */
  static const char *V2 = "pi.registerTool({ name: 'which', handler: async () =>"
                          "  'v2' + ((await pi.getConfig('k')) ?? '') });"
                          "pi.on('TurnEnd', () => ({ from: 'v2' }));";
  static const char *BROKEN = "pi.registerTool({ name: 'which', handler: () => 'broken' });"
                              "throw new Error('half way');";
  char id[AL_INSTANCE_ID_MAX], *out = NULL;
  al_error e;
  load(h, "hot", V1, MANIFEST, id);
  assert_int_equal(al_tool_call(h, "which", "{}", &out, &e), 0);
  assert_string_equal(out, "\"v1\"");
  al_free(out);

  assert_int_equal(al_reload(h, id, BROKEN, strlen(BROKEN), NULL, &e), AL_EPLUGIN_LOAD);
  assert_int_equal(al_tool_call(h, "which", "{}", &out, &e), 0);
  assert_string_equal(out, "\"v1\""); /* the staged tool died with the failed reload */
  al_free(out);
  assert_int_equal(al_hook_subscribed(h, "SessionEnd"), 1);

  assert_int_equal(al_reload(h, id, V2, strlen(V2), NULL, &e), 0);
  assert_int_equal(al_tool_call(h, "which", "{}", &out, &e), 0);
  assert_string_equal(out, "\"v2\"");
  al_free(out);
  assert_int_equal(al_hook_subscribed(h, "SessionEnd"), 0);
  assert_int_equal(al_hook_subscribed(h, "TurnEnd"), 1);
  json_t *r = t_emit(h, "TurnEnd", "{}");
  json_t *x = json_array_get(json_object_get(r, "results"), 0);
  assert_string_equal(json_string_value(json_object_get(x, "instanceId")), id);
  json_decref(r);
  assert_int_equal(al_tools(h, &out, &e), 0);
  json_t *tools = t_json(out);
  assert_int_equal(json_array_size(tools), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(tools, 0), "instanceId")), id);
  json_decref(tools);
  assert_int_equal(al_unload(h, id, NULL), 0);
  assert_int_equal(al_tool_call(h, "which", "{}", NULL, &e), AL_EINVALID_ARGUMENT);
  assert_int_equal(al_hook_subscribed(h, "TurnEnd"), 0);
  al_host_free(h);
}

static void test_reload_thread(void **st) {
  (void)st;
  reload_case(AL_ISOLATION_THREAD);
}

static void test_reload_process(void **st) {
  (void)st;
  reload_case(AL_ISOLATION_PROCESS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_block_and_continue),
      cmocka_unit_test(test_unknown_event_is_type_error),
      cmocka_unit_test(test_hundred_plugins),
      cmocka_unit_test(test_aggregation),
      cmocka_unit_test(test_once_off_and_order_within_plugin),
      cmocka_unit_test(test_pi_members),
      cmocka_unit_test(test_preflight_blocks),
      cmocka_unit_test(test_kill_switches),
      cmocka_unit_test(test_register_event),
      cmocka_unit_test(test_crash_restart),
      cmocka_unit_test(test_sleep_deadline),
      cmocka_unit_test(test_budget_per_plugin),
      cmocka_unit_test(test_tool_bounds),
      cmocka_unit_test(test_audit_flood),
      cmocka_unit_test(test_reload_thread),
      cmocka_unit_test(test_reload_process),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

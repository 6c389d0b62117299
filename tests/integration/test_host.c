/* test_host.c: load, render, event and the host store through the public API. */
#include "testutil.h"
#include "airlock_jansson.h"

static const char *COUNTER_SRC =
    "definePlugin(({ ui }) => ({ id: 'ctr', title: 'Ctr', description: 'd',"
    "  initialState: { value: 0 },"
    "  widgets: { main: {"
    "    render({ pluginState }) { return ui.text('Counter: ' + pluginState.value); },"
    "    handlers: {"
    "      increment({ dispatchPluginAction }) { dispatchPluginAction('increment'); },"
    "      share({ pluginState, dispatchSharedAction }) {"
    "        dispatchSharedAction('counter-summary', 'set-instance', { value: pluginState.value }); },"
    "      boom() { throw new TypeError('nope'); },"
    "      bad({ dispatchPluginAction }) { dispatchPluginAction(''); },"
    "    } },"
    "    norender: { handlers: {} } } }));";

static void test_load_render_event(void **st) {
  (void)st;
  al_host *h = t_host(T_WORKBENCH);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "counter", COUNTER_SRC, NULL, id);
  assert_memory_equal(id, "counter@", 8);
  assert_int_equal(strlen(id), 16);

  char *text;
  assert_int_equal(al_plugin_info(h, id, &text, NULL), 0);
  json_t *info = t_json(text);
  assert_string_equal(json_string_value(json_object_get(info, "declaredId")), "ctr");
  assert_string_equal(json_string_value(json_object_get(info, "status")), "loaded");
  t_assert_json(json_object_get(info, "widgets"), "[\"main\",\"norender\"]");
  t_assert_json(json_object_get(info, "initialState"), "{\"value\":0}");
  json_decref(info);

  json_t *tree = t_render(h, id, "main");
  t_assert_json(tree, "{\"kind\":\"text\",\"text\":\"Counter: 0\"}");
  json_decref(tree);

  json_t *res = t_event(h, id, "main", "increment", NULL);
  json_t *a0 = json_array_get(json_object_get(res, "actions"), 0);
  assert_string_equal(json_string_value(json_object_get(a0, "outcome")), "applied");
  assert_string_equal(json_string_value(json_object_get(a0, "instanceId")), id);
  assert_string_equal(json_string_value(json_object_get(a0, "source")), "vm");
  assert_int_equal(strlen(json_string_value(json_object_get(a0, "dispatchId"))), 26);
  assert_true(json_is_integer(json_object_get(a0, "timestamp")));
  json_decref(res);

  json_t *s = t_state(h, id);
  t_assert_json(s, "{\"value\":1}");
  json_decref(s);
  tree = t_render(h, id, "main");
  t_assert_json(tree, "{\"kind\":\"text\",\"text\":\"Counter: 1\"}");
  json_decref(tree);
  al_host_free(h);
}

static void expect_err(int rc, const al_error *e, int code, const char *substr) {
  if (rc != code) fail_msg("expected %s got %s: %s", al_err_name(code), al_err_name(rc), e->message);
  assert_int_equal(e->code, code);
  if (substr && !strstr(e->message, substr)) fail_msg("message '%s' lacks '%s'", e->message, substr);
}

static void test_error_codes(void **st) {
  (void)st;
  al_host *h = t_host(T_WORKBENCH);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "counter", COUNTER_SRC, NULL, id);
  al_error e;
  char *out = NULL;
  expect_err(al_render(h, "nope@12345678", "main", &out, &e), &e, AL_EINSTANCE_NOT_FOUND, "nope@12345678");
  assert_null(out);
  expect_err(al_render(h, id, "missing", &out, &e), &e, AL_EWIDGET_NOT_FOUND, "missing");
  expect_err(al_render(h, id, "norender", &out, &e), &e, AL_EWIDGET_NOT_FOUND, "norender");
  expect_err(al_event(h, id, "main", "x", NULL, &out, &e), &e, AL_EHANDLER_NOT_FOUND, "Handler not found: x");
  expect_err(al_event(h, id, "main", "toString", NULL, &out, &e), &e, AL_EHANDLER_NOT_FOUND, NULL);
  expect_err(al_event(h, id, "main", "boom", NULL, &out, &e), &e, AL_EPLUGIN, "TypeError: nope");
  assert_string_equal(e.instance_id, id);
  expect_err(al_event(h, id, "main", "bad", NULL, &out, &e), &e, AL_ECONTRACT,
             "Dispatch intent actionType must be a non-empty string");
  expect_err(al_event(h, id, "main", "increment", "{not json", &out, &e), &e, AL_EINVALID_ARGUMENT, "args");
  /* nothing was applied by the failed events */
  json_t *s = t_state(h, id);
  t_assert_json(s, "{\"value\":0}");
  json_decref(s);

  al_load_opts o = {.instance_id = id};
  expect_err(al_load(h, "counter", COUNTER_SRC, strlen(COUNTER_SRC), &o, NULL, 0, &e), &e,
             AL_EINSTANCE_EXISTS, id);
  o = (al_load_opts){.grants_json = "{\"readShared\":[1]}"};
  expect_err(al_load(h, "x", COUNTER_SRC, strlen(COUNTER_SRC), &o, NULL, 0, &e), &e,
             AL_EINVALID_ARGUMENT, "readShared");
  o = (al_load_opts){.grants_json = "{\"admin\":[]}"};
  expect_err(al_load(h, "x", COUNTER_SRC, strlen(COUNTER_SRC), &o, NULL, 0, &e), &e,
             AL_EINVALID_ARGUMENT, "admin");
  expect_err(al_load(h, "a@b", COUNTER_SRC, strlen(COUNTER_SRC), NULL, NULL, 0, &e), &e,
             AL_EINVALID_ARGUMENT, "package id");
  expect_err(al_unload(h, "nope", &e), &e, AL_EINSTANCE_NOT_FOUND, NULL);
  expect_err(al_shared_get(h, "nope", &out, &e), &e, AL_EUNKNOWN_DOMAIN, "nope");
  /* a NULL host is a bad argument that says so, on every entry point (issue 15: the
   * state and grants calls returned the code with `err` unfilled) */
  expect_err(al_state_get(NULL, id, &out, &e), &e, AL_EINVALID_ARGUMENT, "host must not be NULL");
  expect_err(al_state_set(NULL, id, "{}", &e), &e, AL_EINVALID_ARGUMENT, "host must not be NULL");
  expect_err(al_global_state(NULL, id, &out, &e), &e, AL_EINVALID_ARGUMENT, "host must not be NULL");
  expect_err(al_grants_get(NULL, id, &out, &e), &e, AL_EINVALID_ARGUMENT, "host must not be NULL");
  expect_err(al_grants_set(NULL, id, "{}", "test", &e), &e, AL_EINVALID_ARGUMENT, "host must not be NULL");
  expect_err(al_plugin_info(NULL, id, &out, &e), &e, AL_EINVALID_ARGUMENT, "host must not be NULL");
  /* the failed loads left no instance behind */
  assert_int_equal(al_instances(h, &out, NULL), 0);
  json_t *ids = t_json(out);
  assert_int_equal(json_array_size(ids), 1);
  json_decref(ids);
  al_host_free(h);
}

/* al_error_json: the one JSON form of an error; optional members only when set */
static void test_error_json(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
  al_error e;
  char *out = NULL;
  assert_int_equal(al_render(h, "nope@12345678", "main", &out, &e), AL_EINSTANCE_NOT_FOUND);
  json_t *j = t_json(al_error_json(&e));
  assert_string_equal(json_string_value(json_object_get(j, "code")), "INSTANCE_NOT_FOUND");
  assert_string_equal(json_string_value(json_object_get(j, "message")), e.message);
  assert_string_equal(json_string_value(json_object_get(j, "instanceId")), "nope@12345678");
  assert_null(json_object_get(j, "path"));
  assert_null(json_object_get(j, "line"));
  json_decref(j);
  const char *BAD = "definePlugin(({ ui }) => ({ widgets: { main: { render() {\n return ui.panel([{ kind: 'nope' }]); } } } }));";
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "bad", BAD, NULL, id);
  assert_int_equal(al_render(h, id, "main", &out, &e), AL_ECONTRACT);
  j = t_json(al_error_json(&e));
  assert_string_equal(json_string_value(json_object_get(j, "code")), "CONTRACT_VIOLATION");
  assert_string_equal(json_string_value(json_object_get(j, "path")), e.path);
  assert_true(e.path[0] != 0);
  json_decref(j);
  assert_null(al_error_json(NULL));
  al_host_free(h);
}

/* al_load_opts.preflight_out: the load's own preflight report, also when it refused */
static void test_preflight_out(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
  al_error e;
  char id[AL_INSTANCE_ID_MAX], *report = NULL;
  const char *WIPER = "pi.on('SessionStart', () => exec('rm -rf /'));";
  al_load_opts o = {.manifest_json = "{\"id\": \"wiper\", \"version\": \"1.0.0\"}", .preflight_out = &report};
  assert_int_equal(al_load(h, "wiper", WIPER, strlen(WIPER), &o, id, sizeof id, &e), AL_EPREFLIGHT_BLOCKED);
  json_t *r = t_json(report);
  assert_true(json_is_true(json_object_get(r, "blocked")));
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "findings"), 0), "rule")),
                      "shell-destructive");
  json_decref(r);
  report = NULL;
  const char *FINE = "definePlugin(({ ui }) => ({ widgets: { main: { render() { return ui.text('ok'); } } } }));";
  o.manifest_json = "{\"id\": \"fine\", \"version\": \"1.0.0\"}";
  assert_int_equal(al_load(h, "fine", FINE, strlen(FINE), &o, id, sizeof id, &e), 0);
  r = t_json(report);
  assert_false(json_is_true(json_object_get(r, "blocked")));
  json_decref(r);
  report = NULL;
  o.manifest_json = NULL; /* no manifest: no preflight, nothing written */
  assert_int_equal(al_load(h, "plain", FINE, strlen(FINE), &o, id, sizeof id, &e), 0);
  assert_null(report);
  al_host_free(h);
}

static void test_load_errors(void **st) {
  (void)st;
  static const struct {
    const char *src, *msg;
  } cases[] = {
      {"definePlugin(42);", "definePlugin requires a factory function"},
      {"const x = 1;", "Plugin did not register via definePlugin"},
      {"", "Plugin did not register via definePlugin"},
      {"definePlugin(() => null);", "Plugin did not register via definePlugin"},
      {"definePlugin(() => ({ widgets: [] }));", "Plugin widgets must be an object"},
      {"definePlugin(() => ({ widgets: null }));", "Plugin widgets must be an object"},
      {"definePlugin(() => ({}))", "Plugin widgets must be an object"},
      {"definePlugin(() => ({ widgets: {} })", "SyntaxError"},
      {"throw new Error('boom');", "Error: boom"},
      {"definePlugin(() => { throw new RangeError('factory'); });", "RangeError: factory"},
      {"let definePlugin = 1;", "SyntaxError"},
      {"function definePlugin(f) {} definePlugin(() => ({ widgets: {} }));",
       "Plugin did not register via definePlugin"},
      {"import x from 'y';", "SyntaxError"},
  };
  al_host *h = t_host(T_BARE);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    al_error e;
    char id[AL_INSTANCE_ID_MAX] = "";
    int rc = al_load(h, "custom", cases[i].src, strlen(cases[i].src), NULL, id, sizeof id, &e);
    expect_err(rc, &e, AL_EPLUGIN_LOAD, cases[i].msg);
  }
  /* a syntax error reports its line */
  const char *src = "\n\ndefinePlugin(() => ({ widgets: {} )));";
  al_error e;
  al_load_opts o = {.source_name = "bad.js"};
  expect_err(al_load(h, "custom", src, strlen(src), &o, NULL, 0, &e), &e, AL_EPLUGIN_LOAD, "SyntaxError");
  assert_int_equal(e.line, 3);
  al_host_free(h);
}

static void test_metadata_defaults(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
  char id[AL_INSTANCE_ID_MAX], *text;
  t_load(h, "p", "definePlugin(() => ({ title: 7, description: 3, widgets: { a: {}, b: {} } }));", NULL, id);
  al_plugin_info(h, id, &text, NULL);
  json_t *info = t_json(text);
  assert_string_equal(json_string_value(json_object_get(info, "title")), "7");
  assert_null(json_object_get(info, "description"));
  assert_null(json_object_get(info, "initialState"));
  assert_null(json_object_get(info, "declaredId"));
  json_decref(info);
  json_t *s = t_state(h, id); /* no initialState: readers see {} */
  t_assert_json(s, "{}");
  json_decref(s);
  t_load(h, "p", "definePlugin(() => ({ widgets: {} }));", NULL, id);
  al_plugin_info(h, id, &text, NULL);
  info = t_json(text);
  assert_string_equal(json_string_value(json_object_get(info, "title")), "Untitled Plugin");
  json_decref(info);
  al_host_free(h);
}

static void test_tree_output_rules(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
  char id[AL_INSTANCE_ID_MAX];
  al_error e;
  char *out;
  /* functions and undefined are dropped as JSON.stringify drops them; extra fields kept */
  t_load(h, "p", T_PLUGIN("return { kind: 'text', text: 'x', f() {}, u: undefined, extra: [1, undefined] };"), NULL, id);
  json_t *t = t_render(h, id, "main");
  t_assert_json(t, "{\"kind\":\"text\",\"text\":\"x\",\"extra\":[1,null]}");
  json_decref(t);
  /* a cycle is a violation, not a crash */
  t_load(h, "p", T_PLUGIN("const n = ui.panel([]); n.children.push(n); return n;"), NULL, id);
  expect_err(al_render(h, id, "main", &out, &e), &e, AL_ECONTRACT, "cyclic");
  assert_string_equal(e.path, "root.children[0]");
  char *info;
  al_plugin_info(h, id, &info, NULL);
  json_t *ij = t_json(info);
  assert_string_equal(json_string_value(json_object_get(ij, "status")), "error");
  assert_non_null(strstr(json_string_value(json_object_get(ij, "error")), "CONTRACT_VIOLATION"));
  json_decref(ij);
  /* depth 65 */
  t_load(h, "p", T_PLUGIN("let n = ui.text('leaf'); for (let i = 0; i < 64; i++) n = ui.panel([n]); return n;"), NULL, id);
  expect_err(al_render(h, id, "main", &out, &e), &e, AL_ECONTRACT, "depth of 64");
  t_load(h, "p", T_PLUGIN("let n = ui.text('leaf'); for (let i = 0; i < 63; i++) n = ui.panel([n]); return n;"), NULL, id);
  t = t_render(h, id, "main");
  json_decref(t);
  /* over 1 MiB serialized */
  t_load(h, "p", T_PLUGIN("return ui.text('x'.repeat(1100000));"), NULL, id);
  expect_err(al_render(h, id, "main", &out, &e), &e, AL_ECONTRACT, "byte");
  /* too many nodes */
  t_load(h, "p", T_PLUGIN("const c = []; for (let i = 0; i < 10001; i++) c.push(ui.text('')); return ui.panel(c);"), NULL, id);
  expect_err(al_render(h, id, "main", &out, &e), &e, AL_ECONTRACT, "10000 nodes");
  /* a throwing getter is the plugin's error */
  t_load(h, "p", T_PLUGIN("return { kind: 'text', get text() { throw new Error('getter'); } };"), NULL, id);
  expect_err(al_render(h, id, "main", &out, &e), &e, AL_EPLUGIN, "Error: getter");
  /* undefined render result */
  t_load(h, "p", T_PLUGIN("return undefined;"), NULL, id);
  expect_err(al_render(h, id, "main", &out, &e), &e, AL_ECONTRACT, "root must be an object");
  /* a lone surrogate arrives as U+FFFD, never as invalid UTF-8 */
  t_load(h, "p", T_PLUGIN("return ui.text('a\\uD800b');"), NULL, id);
  t = t_render(h, id, "main");
  assert_string_equal(json_string_value(json_object_get(t, "text")), "a\xEF\xBF\xBD" "b");
  json_decref(t);
  al_host_free(h);
}

static void test_status_recovers(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
  char id[AL_INSTANCE_ID_MAX], *text;
  t_load(h, "p", T_PLUGIN("if (pluginState.bad) throw new Error('bad'); return ui.text('ok');"), NULL, id);
  assert_int_equal(al_state_set(h, id, "{\"bad\":true}", NULL), 0);
  al_error e;
  expect_err(al_render(h, id, "main", &text, &e), &e, AL_EPLUGIN, "Error: bad");
  assert_int_equal(al_state_set(h, id, "{}", NULL), 0);
  json_t *t = t_render(h, id, "main");
  json_decref(t);
  al_plugin_info(h, id, &text, NULL);
  json_t *info = t_json(text);
  assert_string_equal(json_string_value(json_object_get(info, "status")), "loaded");
  assert_null(json_object_get(info, "error"));
  json_decref(info);
  al_host_free(h);
}

typedef struct changes_seen {
  int calls;
  char last[8][AL_INSTANCE_ID_MAX];
  size_t nlast;
  char cause[16];
  int finalized;
} changes_seen;

static void on_change(void *user, const al_change *c) {
  changes_seen *s = user;
  s->calls++;
  s->nlast = c->instance_count < 8 ? c->instance_count : 8;
  for (size_t i = 0; i < s->nlast; i++) snprintf(s->last[i], sizeof s->last[i], "%s", c->instance_ids[i]);
  snprintf(s->cause, sizeof s->cause, "%s", c->cause);
}

static void on_final(void *user) { ((changes_seen *)user)->finalized++; }

static bool seen(const changes_seen *s, const char *id) {
  for (size_t i = 0; i < s->nlast; i++)
    if (!strcmp(s->last[i], id)) return true;
  return false;
}

static void test_selective_rerender(void **st) {
  (void)st;
  al_host *h = t_host(T_WORKBENCH);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX], reader[AL_INSTANCE_ID_MAX], other[AL_INSTANCE_ID_MAX];
  const char *rw = "{\"readShared\":[\"counter-summary\"],\"writeShared\":[\"counter-summary\"]}";
  t_load(h, "counter", COUNTER_SRC, rw, a);
  t_load(h, "counter", COUNTER_SRC, rw, b);
  t_load(h, "dash", T_PLUGIN("return ui.text(JSON.stringify(globalState.shared));"),
         "{\"readShared\":[\"counter-summary\"]}", reader);
  t_load(h, "calc", T_PLUGIN("return ui.text('x');"), NULL, other);
  changes_seen s = {0};
  int sub = al_subscribe(h, on_change, &s, on_final);
  assert_true(sub > 0);

  /* local change: exactly the instance itself */
  json_t *r = t_event(h, a, "main", "increment", NULL);
  json_decref(r);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.nlast, 1);
  assert_string_equal(s.last[0], a);
  assert_string_equal(s.cause, "event");

  /* shared write: every reader of the domain, not the unrelated instance */
  r = t_event(h, a, "main", "share", NULL);
  json_decref(r);
  assert_int_equal(s.calls, 2);
  assert_true(seen(&s, a) && seen(&s, b) && seen(&s, reader));
  assert_false(seen(&s, other));

  /* the same write again changes no projection: no instance needs a re-render (the
   * notification still reports the dispatch, which runtime-metrics counts) */
  r = t_event(h, a, "main", "share", NULL);
  json_decref(r);
  assert_int_equal(s.calls, 3);
  assert_int_equal(s.nlast, 0);

  /* the reader sees the projection, never other instances' values */
  json_t *t = t_render(h, reader, "main");
  const char *txt = json_string_value(json_object_get(t, "text"));
  assert_non_null(strstr(txt, "\"totalValue\":1"));
  assert_null(strstr(txt, "values"));
  json_decref(t);

  /* unloading the writer removes its value: readers re-render */
  assert_int_equal(al_unload(h, a, NULL), 0);
  assert_int_equal(s.calls, 4);
  assert_true(seen(&s, b) && seen(&s, reader));
  assert_int_equal(al_unsubscribe(h, sub), 0);
  assert_int_equal(s.finalized, 1);
  assert_int_equal(al_unsubscribe(h, sub), AL_EINVALID_ARGUMENT);
  al_host_free(h);
}

static void test_grants(void **st) {
  (void)st;
  al_host *h = t_host(T_WORKBENCH);
  char id[AL_INSTANCE_ID_MAX], *text;
  /* custom code gets no grants by default */
  t_load(h, "custom", COUNTER_SRC, NULL, id);
  json_t *r = t_event(h, id, "main", "share", NULL);
  json_t *a0 = json_array_get(json_object_get(r, "actions"), 0);
  assert_string_equal(json_string_value(json_object_get(a0, "outcome")), "denied");
  assert_string_equal(json_string_value(json_object_get(a0, "reason")), "missing-write-grant:counter-summary");
  assert_string_equal(json_string_value(json_object_get(a0, "domain")), "counter-summary");
  json_decref(r);
  assert_int_equal(al_global_state(h, id, &text, NULL), 0);
  json_t *gs = t_json(text);
  t_assert_json(json_object_get(gs, "shared"), "{}");
  assert_string_equal(json_string_value(json_object_get(json_object_get(gs, "self"), "instanceId")), id);
  assert_null(json_object_get(gs, "system"));
  json_decref(gs);

  assert_int_equal(al_grants_set(h, id, "{\"readShared\":[\"counter-summary\"],\"writeShared\":[\"counter-summary\"]}",
                                 "workbench", NULL), 0);
  al_timeline(h, &text, NULL);
  json_t *tl = t_json(text);
  json_t *last = json_array_get(tl, json_array_size(tl) - 1);
  assert_string_equal(json_string_value(json_object_get(last, "actionType")), "grants/set");
  assert_string_equal(json_string_value(json_object_get(last, "source")), "workbench");
  json_decref(tl);
  r = t_event(h, id, "main", "share", NULL);
  a0 = json_array_get(json_object_get(r, "actions"), 0);
  assert_string_equal(json_string_value(json_object_get(a0, "outcome")), "applied");
  json_decref(r);
  al_grants_get(h, id, &text, NULL);
  json_t *g = t_json(text);
  t_assert_json(g, "{\"readShared\":[\"counter-summary\"],\"writeShared\":[\"counter-summary\"],\"systemCommands\":[]}");
  json_decref(g);
  /* manifest grants for the workbench examples apply when none are given */
  al_load_opts o = {0};
  assert_int_equal(al_load(h, "status-dashboard", COUNTER_SRC, strlen(COUNTER_SRC), &o, id, sizeof id, NULL), 0);
  al_grants_get(h, id, &text, NULL);
  g = t_json(text);
  assert_int_equal(json_array_size(json_object_get(g, "readShared")), 3);
  assert_int_equal(json_array_size(json_object_get(g, "writeShared")), 0);
  json_decref(g);
  al_host_free(h);
}

static void test_plugin_reducers_and_async(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "p",
         "definePlugin(({ ui }) => ({ initialState: { items: [] },"
         "  reducers: { add(state, p) { return { ...state, items: state.items.concat([p]) }; },"
         "              keep(state) { }, fail() { throw new Error('red'); } },"
         "  widgets: { main: { render({ pluginState }) { return ui.text(pluginState.items.join(',')); },"
         "    handlers: {"
         "      async go({ dispatchPluginAction }, a) { dispatchPluginAction('add', a); await null;"
         "        await Promise.resolve(); dispatchPluginAction('add', a + '!'); },"
         "      mix({ dispatchPluginAction }) { dispatchPluginAction('keep'); dispatchPluginAction('fail');"
         "        dispatchPluginAction('nothing'); dispatchPluginAction('add', 'z'); },"
         "      async rejects() { await null; throw new RangeError('later'); },"
         "      never() { return new Promise(() => {}); },"
         "    } } } }));",
         NULL, id);
  json_t *r = t_event(h, id, "main", "go", "\"x\"");
  assert_int_equal(json_array_size(json_object_get(r, "intents")), 2);
  json_decref(r);
  json_t *t = t_render(h, id, "main");
  assert_string_equal(json_string_value(json_object_get(t, "text")), "x,x!");
  json_decref(t);

  r = t_event(h, id, "main", "mix", NULL);
  json_t *acts = json_object_get(r, "actions");
  assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 0), "outcome")), "applied");
  assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 1), "outcome")), "ignored");
  assert_non_null(strstr(json_string_value(json_object_get(json_array_get(acts, 1), "reason")), "Error: red"));
  assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 2), "reason")), "no-local-reducer-match");
  assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 3), "outcome")), "applied");
  json_decref(r);
  t = t_render(h, id, "main");
  assert_string_equal(json_string_value(json_object_get(t, "text")), "x,x!,z");
  json_decref(t);

  al_error e;
  char *out;
  expect_err(al_event(h, id, "main", "rejects", NULL, &out, &e), &e, AL_EPLUGIN, "RangeError: later");
  expect_err(al_event(h, id, "main", "never", NULL, &out, &e), &e, AL_EPLUGIN, "never settle");
  al_host_free(h);
}

/* C-registered reducer and domain through the public string API. */
static int c_reducer(void *user, const char *action, const char *state, const char *payload, char **next) {
  (*(int *)user)++;
  (void)state;
  if (strcmp(action, "set")) return AL_REDUCE_UNSUPPORTED;
  size_t n = strlen(payload) + 8;
  *next = malloc(n);
  snprintf(*next, n, "{\"v\":%s}", payload);
  return AL_REDUCE_APPLIED;
}

static int c_domain_reduce(void *user, const char *writer, const char *action, const char *state,
                           const char *payload, char **next) {
  (void)user;
  (void)state;
  (void)payload;
  if (strcmp(action, "touch")) return AL_REDUCE_UNSUPPORTED;
  size_t n = strlen(writer) + 16;
  *next = malloc(n);
  snprintf(*next, n, "{\"by\":\"%s\"}", writer);
  return AL_REDUCE_APPLIED;
}

static int c_domain_project(void *user, const char *state, char **out) {
  (void)user;
  size_t n = strlen(state) + 16;
  *out = malloc(n);
  snprintf(*out, n, "{\"seen\":%s}", state);
  return 0;
}

static void test_c_registration(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
  int calls = 0;
  assert_int_equal(al_register_reducer(h, "pkg", c_reducer, &calls, NULL), 0);
  al_error e;
  expect_err(al_register_reducer(h, "pkg", c_reducer, &calls, &e), &e, AL_EINVALID_ARGUMENT, "already");
  al_domain_def d = {.name = "mine", .initial_state_json = "{}", .reduce = c_domain_reduce,
                     .project = c_domain_project};
  assert_int_equal(al_register_domain(h, &d, NULL), 0);
  expect_err(al_register_domain(h, &d, &e), &e, AL_EINVALID_ARGUMENT, "already");
  char id[AL_INSTANCE_ID_MAX], *text;
  t_load(h, "pkg",
         "definePlugin(({ ui }) => ({ widgets: { main: { render({ globalState }) {"
         " return ui.text(JSON.stringify(globalState.shared)); },"
         " handlers: { go({ dispatchPluginAction, dispatchSharedAction }) {"
         "  dispatchPluginAction('set', 5); dispatchPluginAction('state/merge', { w: 1 });"
         "  dispatchSharedAction('mine', 'touch'); dispatchSharedAction('mine', 'other'); } } } } }));",
         "{\"readShared\":[\"mine\"],\"writeShared\":[\"mine\"]}", id);
  json_t *r = t_event(h, id, "main", "go", NULL);
  json_t *acts = json_object_get(r, "actions");
  assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 2), "outcome")), "applied");
  assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 3), "reason")), "unsupported-action:mine/other");
  json_decref(r);
  assert_int_equal(calls, 2); /* the package reducer saw both plugin actions */
  json_t *s = t_state(h, id);
  t_assert_json(s, "{\"v\":5,\"w\":1}");
  json_decref(s);
  assert_int_equal(al_shared_get(h, "mine", &text, NULL), 0);
  json_t *p = t_json(text);
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "seen"), "by")), id);
  json_decref(p);
  al_host_free(h);
}

/* The same through airlock_jansson.h: values in, a new reference out, no text. */
static int j_reducer(void *user, const char *action, const json_t *state, const json_t *payload,
                     json_t **next) {
  (void)state;
  ++*(int *)user;
  if (strcmp(action, "set")) return AL_REDUCE_UNSUPPORTED;
  *next = json_pack("{s:O}", "v", payload);
  return *next ? AL_REDUCE_APPLIED : AL_ENO_MEMORY;
}

static int j_domain_reduce(void *user, const char *writer, const char *action, const json_t *state,
                           const json_t *payload, json_t **next) {
  (void)user;
  (void)payload;
  if (strcmp(action, "touch")) return AL_REDUCE_UNSUPPORTED;
  json_int_t n = json_integer_value(json_object_get(state, "n"));
  *next = json_pack("{s:s,s:I}", "by", writer, "n", n + 1);
  return *next ? AL_REDUCE_APPLIED : AL_ENO_MEMORY;
}

static json_t *j_domain_project(void *user, const json_t *state) {
  (void)user;
  return json_pack("{s:O}", "seen", state);
}

static void test_jansson_registration(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
  int calls = 0;
  al_error e;
  expect_err(al_register_reducer_jansson(h, "pkg", NULL, NULL, &e), &e, AL_EINVALID_ARGUMENT, "a function");
  assert_int_equal(al_register_reducer_jansson(h, "pkg", j_reducer, &calls, NULL), 0);
  json_t *init = json_pack("{s:i}", "n", 40);
  al_domain_jansson_def d = {.name = "mine", .initial_state = init, .reduce = j_domain_reduce,
                             .project = j_domain_project};
  assert_int_equal(al_register_domain_jansson(h, &d, NULL), 0);
  json_decref(init); /* copied */
  d.initial_state = NULL;
  expect_err(al_register_domain_jansson(h, &d, &e), &e, AL_EINVALID_ARGUMENT, "already");
  al_domain_jansson_def bad = {.name = "bad", .reduce = j_domain_reduce, .project = j_domain_project,
                               .derive = AL_DOMAIN_DERIVE_TRACE};
  expect_err(al_register_domain_jansson(h, &bad, &e), &e, AL_EINVALID_ARGUMENT, "is derived");
  char id[AL_INSTANCE_ID_MAX], *text;
  t_load(h, "pkg",
         "definePlugin(({ ui }) => ({ widgets: { main: { render({ globalState }) {"
         " return ui.text(JSON.stringify(globalState.shared)); },"
         " handlers: { go({ dispatchPluginAction, dispatchSharedAction }) {"
         "  dispatchPluginAction('set', 0.1); dispatchSharedAction('mine', 'touch'); } } } } }));",
         "{\"readShared\":[\"mine\"],\"writeShared\":[\"mine\"]}", id);
  json_decref(t_event(h, id, "main", "go", NULL));
  assert_int_equal(calls, 1);
  json_t *s = t_state(h, id);
  assert_true(json_real_value(json_object_get(s, "v")) == 0.1); /* the value itself, not its text */
  json_decref(s);
  assert_int_equal(al_shared_get(h, "mine", &text, NULL), 0);
  json_t *p = t_json(text);
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "seen"), "by")), id);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "seen"), "n")), 41);
  json_decref(p);
  al_host_free(h);
}

static void on_change_domains(void *user, const al_change *c) {
  json_t *seen = user;
  for (size_t i = 0; i < c->domain_count; i++) json_object_set_new(seen, c->domains[i], json_true());
}

/* A derived domain registered through the public API sees the host's view (records as
 * al_plugin_info gives them, the trace) and changes with it; a package's registered
 * manifest gives its grants at load; the timeline reads incrementally. */
static void test_derived_domain_and_package(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
  al_error e;
  al_domain_def bad = {.name = "bad", .reduce = c_domain_reduce, .project = c_domain_project,
                       .derive = AL_DOMAIN_DERIVE_INSTANCES};
  expect_err(al_register_domain(h, &bad, &e), &e, AL_EINVALID_ARGUMENT, "is derived");
  bad = (al_domain_def){.name = "bad", .derive = AL_DOMAIN_DERIVE_TRACE};
  expect_err(al_register_domain(h, &bad, &e), &e, AL_EINVALID_ARGUMENT, "is derived");
  bad = (al_domain_def){.name = "bad", .project = c_domain_project, .derive = 8};
  expect_err(al_register_domain(h, &bad, &e), &e, AL_EINVALID_ARGUMENT, "unknown derive flags");
  al_domain_def d = {.name = "view", .project = c_domain_project,
                     .derive = AL_DOMAIN_DERIVE_INSTANCES | AL_DOMAIN_DERIVE_TRACE};
  assert_int_equal(al_register_domain(h, &d, NULL), 0);

  expect_err(al_package_register(h, "{\"id\":\"pkg\"}", &e), &e, AL_EINVALID_ARGUMENT, "manifest.version");
  expect_err(al_package_register(h, NULL, &e), &e, AL_EINVALID_ARGUMENT, "needs a host");
  assert_int_equal(al_package_register(h, "{\"id\":\"pkg\",\"version\":\"1.0.0\",\"shared\":{\"read\":[\"view\"]}}", NULL), 0);
  char *text;
  assert_int_equal(al_package_grants(h, "pkg", &text, NULL), 0);
  json_t *g = t_json(text);
  t_assert_json(g, "{\"readShared\":[\"view\"],\"writeShared\":[],\"systemCommands\":[]}");
  json_decref(g);

  json_t *changed = json_object();
  assert_true(al_subscribe(h, on_change_domains, changed, NULL) > 0);
  const char *src = "definePlugin(({ ui }) => ({ title: 'T', widgets: { main: { render({ globalState }) {"
                    " return ui.text(String(globalState.shared.view.seen.instances.length)); },"
                    " handlers: { go({ dispatchPluginAction }) { dispatchPluginAction('state/merge', { a: 1 }); } } } } }));";
  char id[AL_INSTANCE_ID_MAX];
  assert_int_equal(al_load(h, "pkg", src, strlen(src), NULL, id, sizeof id, &e), 0); /* manifest grants */
  assert_non_null(json_object_get(changed, "view")); /* a load changes the registry */
  json_t *tree = t_render(h, id, "main");
  assert_string_equal(json_string_value(json_object_get(tree, "text")), "1");
  json_decref(tree);

  assert_int_equal(al_shared_get(h, "view", &text, NULL), 0);
  json_t *v = t_json(text), *seen = json_object_get(v, "seen"), *info;
  assert_int_equal(al_plugin_info(h, id, &text, NULL), 0);
  info = t_json(text);
  assert_true(json_equal(json_array_get(json_object_get(seen, "instances"), 0), info));
  json_decref(info);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(seen, "trace"), "count")), 0);
  json_decref(v);

  json_object_clear(changed);
  json_decref(t_event(h, id, "main", "go", NULL));
  assert_non_null(json_object_get(changed, "view")); /* a dispatch changes the trace */
  json_decref(t_event(h, id, "main", "go", NULL));
  assert_int_equal(al_shared_get(h, "view", &text, NULL), 0);
  v = t_json(text);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(v, "seen"), "trace"), "count")), 2);
  json_decref(v);

  uint64_t last = 0;
  assert_int_equal(al_timeline_since(h, 0, &text, &last, NULL), 0);
  assert_int_equal(last, 2);
  json_t *tl = t_json(text);
  assert_int_equal(json_array_size(tl), 2);
  json_decref(tl);
  assert_int_equal(al_timeline_since(h, 1, &text, &last, NULL), 0);
  tl = t_json(text);
  assert_int_equal(json_array_size(tl), 1);
  assert_int_equal(al_timeline(h, &text, NULL), 0);
  json_t *all = t_json(text);
  assert_true(json_equal(json_array_get(tl, 0), json_array_get(all, 1)));
  json_decref(all);
  json_decref(tl);
  assert_int_equal(al_timeline_since(h, last, &text, NULL, NULL), 0);
  tl = t_json(text);
  assert_int_equal(json_array_size(tl), 0);
  json_decref(tl);
  assert_int_equal(al_timeline_since(NULL, 0, &text, &last, &e), AL_EINVALID_ARGUMENT);
  assert_null(text);
  al_host_free(h);
  json_decref(changed);
}

static void test_error_table(void **st) {
  (void)st;
  assert_string_equal(al_err_name(AL_ETIMEOUT), "VM_TIMEOUT");
  assert_string_equal(al_err_name(AL_EPLUGIN_LOAD), "PLUGIN_LOAD_ERROR");
  assert_string_equal(al_err_name(AL_ECONTRACT), "CONTRACT_VIOLATION");
  assert_string_equal(al_err_name(12345), "UNKNOWN");
  assert_int_equal(al_err_from_name("VM_STACK_OVERFLOW"), AL_ESTACK_OVERFLOW);
  assert_int_equal(al_err_from_name("nope"), AL_EINTERNAL);
  for (int c = 0; c >= AL_EUNKNOWN_DOMAIN; c--) {
    assert_int_equal(al_err_from_name(al_err_name(c)), c);
    assert_true(strlen(al_strerror(c)) > 0);
  }
  al_host_free(NULL); /* harmless */
  al_free(NULL);
}

static void test_health_and_trace(void **st) {
  (void)st;
  al_host *h = t_host(T_WORKBENCH);
  char id[AL_INSTANCE_ID_MAX], *text;
  t_load(h, "counter", COUNTER_SRC, NULL, id);
  json_t *r = t_event(h, id, "main", "increment", NULL);
  json_decref(r);
  al_health(h, &text, NULL);
  json_t *hj = t_json(text);
  assert_true(json_is_true(json_object_get(hj, "ready")));
  assert_int_equal(json_array_size(json_object_get(hj, "instances")), 1);
  json_decref(hj);
  al_trace(h, &text, NULL);
  json_t *tr = t_json(text);
  assert_int_equal(json_integer_value(json_object_get(tr, "count")), 1);
  assert_string_equal(json_string_value(json_object_get(tr, "lastOutcome")), "applied");
  json_decref(tr);
  al_shared_get(h, "runtime-metrics", &text, NULL);
  json_t *m = t_json(text);
  assert_int_equal(json_integer_value(json_object_get(m, "pluginCount")), 1);
  assert_int_equal(json_integer_value(json_object_get(m, "dispatchCount")), 1);
  json_decref(m);
  al_shared_get(h, "runtime-registry", &text, NULL);
  json_t *reg = t_json(text);
  assert_string_equal(json_string_value(json_object_get(json_array_get(reg, 0), "instanceId")), id);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(reg, 0), "widgets")), 2);
  json_decref(reg);
  for (int i = 0; i < 3; i++) json_decref(t_event(h, id, "main", "increment", NULL));
  char other[AL_INSTANCE_ID_MAX];
  t_load(h, "counter", COUNTER_SRC, NULL, other);
  json_decref(t_render(h, other, "main"));
  al_telemetry(h, &text, NULL);
  json_t *tm = t_json(text);
  assert_int_equal(json_array_size(tm), 7); /* load + 4 events, load + render */
  assert_string_equal(json_string_value(json_object_get(json_array_get(tm, 1), "op")), "event");
  /* the summary is the records summed up: counted and ranked here from al_telemetry */
  assert_int_equal(al_telemetry_summary(h, &text, NULL), 0);
  json_t *sum = t_json(text);
  const char *ids[] = {NULL, id, other};
  for (size_t k = 0; k < 3; k++) {
    json_int_t lat[16];
    size_t n = 0, i;
    json_t *rec;
    json_array_foreach(tm, i, rec)
      if (!ids[k] || !strcmp(json_string_value(json_object_get(rec, "instanceId")), ids[k]))
        lat[n++] = json_integer_value(json_object_get(rec, "elapsedUs"));
    for (size_t x = 1; x < n; x++) /* insertion sort */
      for (size_t y = x; y > 0 && lat[y - 1] > lat[y]; y--) {
        json_int_t tmp = lat[y];
        lat[y] = lat[y - 1];
        lat[y - 1] = tmp;
      }
    json_t *row = ids[k] ? json_object_get(json_object_get(sum, "instances"), ids[k]) : sum;
    assert_non_null(row);
    assert_int_equal(json_integer_value(json_object_get(row, "calls")), n);
    assert_int_equal(json_integer_value(json_object_get(row, "p50Us")), lat[(n * 50 + 99) / 100 - 1]);
    assert_int_equal(json_integer_value(json_object_get(row, "p99Us")), lat[(n * 99 + 99) / 100 - 1]);
    assert_int_equal(json_integer_value(json_object_get(row, "timeouts")), 0);
  }
  assert_int_equal(json_object_size(json_object_get(sum, "instances")), 2);
  json_decref(sum);
  json_decref(tm);
  al_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load_render_event), cmocka_unit_test(test_error_codes),
      cmocka_unit_test(test_error_json),      cmocka_unit_test(test_jansson_registration),      cmocka_unit_test(test_preflight_out),
      cmocka_unit_test(test_load_errors),       cmocka_unit_test(test_metadata_defaults),
      cmocka_unit_test(test_tree_output_rules), cmocka_unit_test(test_status_recovers),
      cmocka_unit_test(test_selective_rerender), cmocka_unit_test(test_grants),
      cmocka_unit_test(test_plugin_reducers_and_async), cmocka_unit_test(test_c_registration),
      cmocka_unit_test(test_derived_domain_and_package),
      cmocka_unit_test(test_error_table),       cmocka_unit_test(test_health_and_trace),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_resident.c: the VM's resident copy of an instance's state (issue 14) is a cache
 * the host may never be wrong about. Whatever changes the host's state (a C reducer,
 * al_state_set, the generic merge's one-key delta, a key a reducer removes, a
 * shared-domain write, a hot reload, a worker crash and restart), the next call sees
 * exactly the host's state, in the host's key order; and a plugin that writes to its
 * pluginState in place changes nothing the host or a later call sees.
 *
 * Every plugin here renders JSON.stringify of what it was given, so a test compares the
 * VM's view with the host's byte for byte. Each case runs under every isolation: the
 * thread and inline lanes hand the worker the store's values by reference, the process
 * lane sends text. The last tests are about the host's tree cache (issue 14 item 2).
 */
#include "testutil.h"

static const char *SRC =
    "definePlugin(({ ui }) => ({ initialState: { n: 0, items: [1, 2, 3] },"
    /* plugin reducers get a state of their own to change: one mutates and returns it, one
     * mutates and returns undefined (the state stays) */
    "  reducers: { push(state, v) { state.items.push(v); return state; },"
    "              noop(state) { state.n = -1; } },"
    "  widgets: { main: {"
    "  render({ pluginState, globalState }) {"
    "    return ui.text(JSON.stringify({ s: pluginState, g: globalState.shared,"
    "      frozen: Object.isFrozen(pluginState) && Object.isFrozen(pluginState.items) })); },"
    "  handlers: {"
    "    inc({ pluginState, dispatchPluginAction }) {"
    "      dispatchPluginAction('state/merge', { n: pluginState.n + 1 }); },"
    "    add({ pluginState, dispatchPluginAction }, k) {"
    "      dispatchPluginAction('state/merge', { [k]: k.length }); },"
    "    drop({ dispatchPluginAction }, k) { dispatchPluginAction('drop', k); },"
    "    many({ pluginState, dispatchPluginAction }) {"
    "      dispatchPluginAction('push', 7); dispatchPluginAction('state/merge', { n: 40 });"
    "      dispatchPluginAction('push', 8); dispatchPluginAction('noop');"
    "      dispatchPluginAction('bump'); dispatchPluginAction('push', pluginState.n); },"
    "    write({ dispatchSharedAction }, v) { dispatchSharedAction('board', 'put', v); },"
    /* writes to what it was given, in every way a plugin might, then reports */
    "    vandal({ pluginState, dispatchPluginAction }) {"
    "      try { pluginState.n = 999; } catch (e) {}"
    "      try { pluginState.items.push(4); } catch (e) {}"
    "      try { delete pluginState.items; } catch (e) {}"
    "      try { pluginState.fresh = 1; } catch (e) {}"
    "      dispatchPluginAction('state/merge', { seen: pluginState.n }); } } } } }));";

/* A C package reducer: "drop" removes the key named by its payload; "bump" adds 10 to n
 * by building the whole state anew (no value shared with the old one). */
static int reducer(void *user, const char *action, const char *state, const char *payload,
                   char **next) {
  (void)user;
  json_t *s = json_loads(state, 0, NULL), *p = json_loads(payload, JSON_DECODE_ANY, NULL);
  int rc = AL_REDUCE_UNSUPPORTED;
  if (!strcmp(action, "drop") && json_is_string(p)) {
    json_object_del(s, json_string_value(p));
    rc = AL_REDUCE_APPLIED;
  } else if (!strcmp(action, "bump")) {
    json_object_set_new(s, "n", json_integer(json_integer_value(json_object_get(s, "n")) + 10));
    rc = AL_REDUCE_APPLIED;
  }
  if (rc == AL_REDUCE_APPLIED) *next = json_dumps(s, JSON_COMPACT);
  json_decref(s);
  json_decref(p);
  return rc;
}

/* A shared domain "board" whose state is the last value put. */
static int board_reduce(void *user, const char *writer, const char *action, const char *state,
                        const char *payload, char **next) {
  (void)user, (void)writer, (void)state;
  if (strcmp(action, "put")) return AL_REDUCE_UNSUPPORTED;
  *next = strdup(payload);
  return AL_REDUCE_APPLIED;
}

static al_host *mk(al_isolation iso) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = 1; /* every instance shares one worker: a restart reaches them all */
  cfg.watchdog_grace_ms = 5000;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  assert_int_equal(al_register_reducer(h, "p", reducer, NULL, &e), 0);
  al_domain_def d = {.name = "board", .initial_state_json = "0", .reduce = board_reduce};
  assert_int_equal(al_register_domain(h, &d, &e), 0);
  return h;
}

static char *load(al_host *h, char *id) {
  t_load(h, "p", SRC, "{\"readShared\":[\"board\"],\"writeShared\":[\"board\"]}", id);
  return id;
}

/* Renders and checks that the plugin saw exactly the host's state (same bytes: same
 * values in the same key order) and shared projection, frozen. */
static void check(al_host *h, const char *id) {
  json_t *tree = t_render(h, id, "main");
  const char *text = json_string_value(json_object_get(tree, "text"));
  assert_non_null(text);
  json_t *seen = json_loads(text, 0, NULL);
  assert_non_null(seen);
  json_t *state = t_state(h, id);
  char *want = json_dumps(state, JSON_COMPACT), *got = json_dumps(json_object_get(seen, "s"), JSON_COMPACT);
  assert_string_equal(got, want);
  free(want);
  free(got);
  char *g;
  assert_int_equal(al_global_state(h, id, &g, NULL), 0);
  json_t *global = t_json(g);
  assert_true(json_equal(json_object_get(global, "shared"), json_object_get(seen, "g")));
  if (json_object_get(state, "items")) assert_true(json_is_true(json_object_get(seen, "frozen")));
  json_decref(global);
  json_decref(state);
  json_decref(seen);
  json_decref(tree);
}

static void set_state(al_host *h, const char *id, const char *json) {
  al_error e;
  if (al_state_set(h, id, json, &e)) fail_msg("state_set: %s", e.message);
}

static void ev(al_host *h, const char *id, const char *handler, const char *args) {
  json_decref(t_event(h, id, "main", handler, args));
}

static void run_changes(al_isolation iso) {
  al_host *h = mk(iso);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX];
  load(h, a);
  load(h, b);
  check(h, a);
  check(h, a); /* nothing changed: the VM answers from what it holds */
  ev(h, a, "inc", NULL); /* generic merge of one key: a delta */
  check(h, a);
  ev(h, a, "inc", NULL);
  ev(h, a, "inc", NULL); /* two changes since the VM's copy: sent whole */
  check(h, a);
  ev(h, a, "add", "\"zeta\""); /* a key appended by a delta */
  check(h, a);
  ev(h, a, "many", NULL); /* plugin reducers between merges and a C reducer, one event */
  json_t *m = t_state(h, a);
  char *mt = json_dumps(json_object_get(m, "items"), JSON_COMPACT);
  assert_string_equal(mt, "[1,2,3,7,8,3]"); /* the handler saw n = 3 */
  free(mt);
  assert_int_equal(json_integer_value(json_object_get(m, "n")), 50); /* 40, noop kept, +10 */
  json_decref(m);
  check(h, a);
  ev(h, a, "drop", "\"items\""); /* a key removed by the C reducer */
  check(h, a);
  ev(h, a, "add", "\"items\""); /* ... and back, now last in the order */
  check(h, a);
  set_state(h, a, "{\"items\":[9],\"n\":5}"); /* al_state_set, reordered */
  check(h, a);
  set_state(h, a, "{\"n\":5,\"items\":[9]}"); /* the same values, order changed */
  check(h, a);
  al_error e;
  char *out = NULL;
  assert_int_equal(al_event(h, a, "main", "inc", NULL, &out, &e), 0);
  al_free(out);
  check(h, a);
  /* a shared-domain write by another instance changes what `a` reads */
  ev(h, b, "write", "{\"v\":1}");
  check(h, a);
  check(h, b);
  ev(h, b, "write", "{\"v\":2}");
  check(h, a);
  /* grants narrowed: globalState changes with nothing else */
  assert_int_equal(al_grants_set(h, a, "{\"readShared\":[]}", "host", &e), 0);
  check(h, a);
  assert_int_equal(al_grants_set(h, a, "{\"readShared\":[\"board\"],\"writeShared\":[\"board\"]}", "host", &e), 0);
  check(h, a);
  /* a hot reload: the new VM holds nothing, the host state carries over */
  ev(h, a, "inc", NULL);
  assert_int_equal(al_reload(h, a, SRC, strlen(SRC), NULL, &e), 0);
  check(h, a);
  ev(h, a, "inc", NULL);
  check(h, a);
  al_host_free(h);
}

/* Asynchronous calls go through the same cache, and a stale answer there is resent. */
static int async_done;
static void on_done(void *user, int rc, const char *result, const al_error *err) {
  (void)user, (void)result;
  if (rc) fail_msg("async call failed: %s", err ? err->message : "");
  async_done++;
}

static void run_async(al_isolation iso) {
  al_host *h = mk(iso);
  char a[AL_INSTANCE_ID_MAX];
  load(h, a);
  async_done = 0;
  for (int i = 0; i < 5; i++) {
    assert_int_equal(al_event_async(h, a, "main", "inc", NULL, on_done, NULL), 0);
    assert_int_equal(al_render_async(h, a, "main", on_done, NULL), 0);
  }
  while (al_host_pending(h)) al_host_dispatch(h, -1);
  assert_int_equal(async_done, 10);
  json_t *s = t_state(h, a);
  assert_int_equal(json_integer_value(json_object_get(s, "n")), 5);
  json_decref(s);
  check(h, a);
  al_host_free(h);
}

/* In-place writes do nothing: every later call and the host see the host's state. */
static void run_vandal(al_isolation iso) {
  al_host *h = mk(iso);
  char a[AL_INSTANCE_ID_MAX];
  load(h, a);
  check(h, a);
  ev(h, a, "vandal", NULL);
  json_t *s = t_state(h, a);
  t_assert_json(s, "{\"n\":0,\"items\":[1,2,3],\"seen\":0}");
  json_decref(s);
  check(h, a);
  ev(h, a, "vandal", NULL);
  check(h, a);
  al_host_free(h);
}

static void test_changes_thread(void **st) { (void)st; run_changes(AL_ISOLATION_THREAD); }
static void test_changes_process(void **st) { (void)st; run_changes(AL_ISOLATION_PROCESS); }
static void test_changes_inline(void **st) { (void)st; run_changes(AL_ISOLATION_INLINE); }
static void test_async_thread(void **st) { (void)st; run_async(AL_ISOLATION_THREAD); }
static void test_async_process(void **st) { (void)st; run_async(AL_ISOLATION_PROCESS); }
static void test_vandal_thread(void **st) { (void)st; run_vandal(AL_ISOLATION_THREAD); }
static void test_vandal_process(void **st) { (void)st; run_vandal(AL_ISOLATION_PROCESS); }

/* A worker crash: every VM on it restarts holding nothing, while the host still believes
 * the other instances' VMs hold their state. Their next calls are answered "stale" and
 * resent whole; the one whose call crashed is forgotten at once. */
static void test_crash_restart(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_PROCESS);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX];
  load(h, a);
  load(h, b);
  ev(h, a, "inc", NULL);
  ev(h, b, "add", "\"k\"");
  check(h, a);
  check(h, b);
  al_error e;
  assert_int_equal(al_debug(h, a, "crash", 0, &e), AL_ECRASHED);
  check(h, b); /* b's VM was reloaded: stale, resent */
  check(h, a);
  ev(h, b, "inc", NULL); /* a delta against the resent state */
  check(h, b);
  /* an async call after a crash is resent the same way */
  ev(h, a, "inc", NULL);
  assert_int_equal(al_debug(h, b, "crash", 0, &e), AL_ECRASHED);
  async_done = 0;
  assert_int_equal(al_render_async(h, a, "main", on_done, NULL), 0);
  while (al_host_pending(h)) al_host_dispatch(h, -1);
  assert_int_equal(async_done, 1);
  check(h, a);
  al_host_free(h);
}

/* The host's tree cache: a render whose tree the host already holds for that widget is
 * answered from the host's copy, and only then. Telemetry says which renders were. */
static const char *TREE_SRC =
    "definePlugin(({ ui }) => ({ initialState: { n: 0 }, widgets: {"
    "  a: { render({ pluginState }) {"
    "    if (pluginState.bad) return { kind: 'nonsense' };"
    "    return ui.text('n=' + pluginState.n); } },"
    "  b: { render({ pluginState }) { return ui.badge('b' + pluginState.n); } } } }));";

static bool last_unchanged(al_host *h) {
  char *text;
  assert_int_equal(al_telemetry(h, &text, NULL), 0);
  json_t *tm = t_json(text);
  json_t *last = json_array_get(tm, json_array_size(tm) - 1);
  assert_string_equal(json_string_value(json_object_get(last, "op")), "render");
  bool u = json_is_true(json_object_get(last, "unchanged"));
  json_decref(tm);
  return u;
}

static void render_is(al_host *h, const char *id, const char *widget, const char *text) {
  json_t *t = t_render(h, id, widget);
  assert_string_equal(json_string_value(json_object_get(t, "text")), text);
  json_decref(t);
}

static void run_trees(al_isolation iso) {
  al_host *h = mk(iso);
  char a[AL_INSTANCE_ID_MAX];
  t_load(h, "q", TREE_SRC, NULL, a);
  /* the host keeps a tree's text once a render repeats it (one rendered once costs only
   * its hash), and answers the next from it */
  render_is(h, a, "a", "n=0");
  assert_false(last_unchanged(h));
  render_is(h, a, "a", "n=0");
  assert_false(last_unchanged(h));
  render_is(h, a, "a", "n=0");
  assert_true(last_unchanged(h));
  render_is(h, a, "b", "b0"); /* per widget */
  assert_false(last_unchanged(h));
  render_is(h, a, "a", "n=0");
  assert_true(last_unchanged(h));
  set_state(h, a, "{\"n\":1}");
  render_is(h, a, "a", "n=1");
  assert_false(last_unchanged(h));
  render_is(h, a, "a", "n=1");
  assert_false(last_unchanged(h)); /* kept now */
  /* an invalid tree is refused, never answered with the last good one ... */
  set_state(h, a, "{\"n\":1,\"bad\":true}");
  al_error e;
  char *out = NULL;
  assert_int_equal(al_render(h, a, "a", &out, &e), AL_ECONTRACT);
  assert_int_equal(al_render(h, a, "a", &out, &e), AL_ECONTRACT);
  /* ... and the good one, rendered again, is the host's copy */
  set_state(h, a, "{\"n\":1}");
  render_is(h, a, "a", "n=1");
  assert_true(last_unchanged(h));
  /* new code that renders the same tree is still that tree; different code is not */
  assert_int_equal(al_reload(h, a, TREE_SRC, strlen(TREE_SRC), NULL, &e), 0);
  render_is(h, a, "a", "n=1");
  assert_true(last_unchanged(h));
  const char *v2 = "definePlugin(({ ui }) => ({ widgets: { a: { render({ pluginState }) {"
                   " return ui.text('v2 n=' + pluginState.n); } } } }));";
  assert_int_equal(al_reload(h, a, v2, strlen(v2), NULL, &e), 0);
  render_is(h, a, "a", "v2 n=1");
  assert_false(last_unchanged(h));
  al_host_free(h);
}

static void test_trees_thread(void **st) { (void)st; run_trees(AL_ISOLATION_THREAD); }
static void test_trees_process(void **st) { (void)st; run_trees(AL_ISOLATION_PROCESS); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_changes_thread), cmocka_unit_test(test_changes_process),
      cmocka_unit_test(test_changes_inline), cmocka_unit_test(test_async_thread),
      cmocka_unit_test(test_async_process),  cmocka_unit_test(test_vandal_thread),
      cmocka_unit_test(test_vandal_process), cmocka_unit_test(test_crash_restart),
      cmocka_unit_test(test_trees_thread),   cmocka_unit_test(test_trees_process),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

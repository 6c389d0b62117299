/*
 * test_reload.c: hot reload and asynchronous loads through the public API.
 *
 * A reload swaps an instance's code in place: same id, same local state and grants, new
 * title and widgets; a failed reload leaves the old code running and names the line. The
 * async variants let a host loop go on serving other instances while a plugin's top
 * level spins to its deadline. Each case runs under thread, inline and process isolation
 * where it means something, since the swap happens inside the worker.
 */
#include "testutil.h"

static const char *V1 =
    "definePlugin(({ ui }) => ({ title: 'One', initialState: { n: 0 }, widgets: { main: {"
    "  render({ pluginState }) { return ui.text('v1 n=' + pluginState.n); },"
    "  handlers: { inc({ pluginState, dispatchPluginAction }) {"
    "    dispatchPluginAction('state/merge', { n: pluginState.n + 1 }); } } } } }));";

/* New title, a second widget, a different initialState (which must not be applied). */
static const char *V2 =
    "definePlugin(({ ui }) => ({ title: 'Two', initialState: { n: 100 }, widgets: {"
    "  main: { render({ pluginState }) { return ui.text('v2 n=' + pluginState.n); },"
    "    handlers: { inc({ pluginState, dispatchPluginAction }) {"
    "      dispatchPluginAction('state/merge', { n: pluginState.n + 10 }); } } },"
    "  extra: { render() { return ui.text('extra'); } } } }));";

/* A syntax error on line 3. */
static const char *BAD = "definePlugin(({ ui }) => ({\n  widgets: {\n    main: { render() { return ui.text('x') ; } ,, }\n  } }));";

static const char *SPIN = "for (;;) {}";

static al_host *mk(al_isolation iso) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = 2;
  cfg.watchdog_grace_ms = 2000; /* see testutil.h */
  cfg.limits.load_ms = 300;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  return h;
}

static const char *text_of(json_t *tree) { return json_string_value(json_object_get(tree, "text")); }

static void expect_text(al_host *h, const char *id, const char *widget, const char *want) {
  json_t *t = t_render(h, id, widget);
  assert_string_equal(text_of(t), want);
  json_decref(t);
}

static json_t *info(al_host *h, const char *id) {
  char *text = NULL;
  assert_int_equal(al_plugin_info(h, id, &text, NULL), 0);
  return t_json(text);
}

/* Counts change notifications by cause. */
typedef struct changes_seen {
  int reloads;
  char last_origin[AL_INSTANCE_ID_MAX];
} changes_seen;

static void on_change(void *user, const al_change *c) {
  changes_seen *cs = user;
  if (strcmp(c->cause, "reload") == 0) {
    cs->reloads++;
    snprintf(cs->last_origin, sizeof cs->last_origin, "%s", c->origin_instance_id);
    assert_int_equal(c->instance_count, 1);
    assert_string_equal(c->instance_ids[0], c->origin_instance_id);
  }
}

static void reload_keeps_state(al_isolation iso) {
  al_host *h = mk(iso);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "p", V1, "{\"readShared\":[\"x\"]}", id);
  changes_seen cs = {0};
  assert_true(al_subscribe(h, on_change, &cs, NULL) > 0);
  json_decref(t_event(h, id, "main", "inc", NULL));
  json_decref(t_event(h, id, "main", "inc", NULL));
  expect_text(h, id, "main", "v1 n=2");

  al_error e;
  assert_int_equal(al_reload(h, id, V2, strlen(V2), NULL, &e), 0);
  assert_int_equal(cs.reloads, 1);
  assert_string_equal(cs.last_origin, id);
  expect_text(h, id, "main", "v2 n=2"); /* new code, old state */
  expect_text(h, id, "extra", "extra");
  json_t *rec = info(h, id);
  assert_string_equal(json_string_value(json_object_get(rec, "title")), "Two");
  assert_int_equal(json_array_size(json_object_get(rec, "widgets")), 2);
  assert_string_equal(json_string_value(json_object_get(rec, "instanceId")), id);
  json_decref(rec);
  char *g = NULL;
  assert_int_equal(al_grants_get(h, id, &g, NULL), 0);
  json_t *gj = t_json(g);
  assert_string_equal(json_string_value(json_array_get(json_object_get(gj, "readShared"), 0)), "x");
  json_decref(gj);
  json_decref(t_event(h, id, "main", "inc", NULL)); /* the new handler runs */
  expect_text(h, id, "main", "v2 n=12");

  /* a broken reload keeps the running code and says where it broke */
  memset(&e, 0, sizeof e);
  assert_int_equal(al_reload(h, id, BAD, strlen(BAD), NULL, &e), AL_EPLUGIN_LOAD);
  assert_int_equal(e.line, 3);
  assert_string_equal(e.instance_id, id);
  assert_int_equal(cs.reloads, 1);
  expect_text(h, id, "main", "v2 n=12");
  rec = info(h, id);
  assert_string_equal(json_string_value(json_object_get(rec, "title")), "Two");
  assert_string_equal(json_string_value(json_object_get(rec, "status")), "loaded");
  json_decref(rec);

  /* a reload that spins past the load deadline: same */
  assert_int_equal(al_reload(h, id, SPIN, strlen(SPIN), NULL, &e), AL_ETIMEOUT);
  expect_text(h, id, "main", "v2 n=12");

  /* back to v1, then unload: nothing is left behind on the worker */
  assert_int_equal(al_reload(h, id, V1, strlen(V1), NULL, &e), 0);
  expect_text(h, id, "main", "v1 n=12");
  assert_int_equal(al_reload(h, "nope@x", V1, strlen(V1), NULL, &e), AL_EINSTANCE_NOT_FOUND);
  assert_int_equal(al_unload(h, id, &e), 0);
  assert_int_equal(al_reload(h, id, V1, strlen(V1), NULL, &e), AL_EINSTANCE_NOT_FOUND);
  al_host_free(h);
}

static void test_reload_thread(void **st) { (void)st; reload_keeps_state(AL_ISOLATION_THREAD); }
static void test_reload_inline(void **st) { (void)st; reload_keeps_state(AL_ISOLATION_INLINE); }
static void test_reload_process(void **st) { (void)st; reload_keeps_state(AL_ISOLATION_PROCESS); }

/* After a reload, a worker crash reloads the instance from its new code. */
static void test_reload_then_crash(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_PROCESS);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "p", V1, NULL, id);
  json_decref(t_event(h, id, "main", "inc", NULL));
  al_error e;
  assert_int_equal(al_reload(h, id, V2, strlen(V2), NULL, &e), 0);
  assert_int_equal(al_debug(h, id, "crash", 0, &e), AL_ECRASHED);
  expect_text(h, id, "main", "v2 n=1");
  al_host_free(h);
}

typedef struct done {
  int calls, rc;
  char json[512];
  al_error err;
} done;

static void on_done(void *user, int rc, const char *json, const al_error *err) {
  done *d = user;
  d->calls++;
  d->rc = rc;
  snprintf(d->json, sizeof d->json, "%s", json ? json : "");
  if (err) d->err = *err;
}

static void wait_for(al_host *h, const done *d) {
  for (int i = 0; i < 1000 && !d->calls; i++) al_host_dispatch(h, 100);
  assert_int_equal(d->calls, 1);
}

/* A plugin spinning at load time holds up neither the host loop nor other instances. */
static void async_load(al_isolation iso) {
  al_host *h = mk(iso);
  char other[AL_INSTANCE_ID_MAX], spin[AL_INSTANCE_ID_MAX], id[AL_INSTANCE_ID_MAX];
  t_load(h, "other", V1, NULL, other);
  done ds = {0}, dl = {0}, dr = {0}, dx = {0};
  al_error e;
  al_load_opts o = {.instance_id = "spin@fixed"};
  assert_int_equal(al_load_async(h, "spin", SPIN, strlen(SPIN), &o, spin, sizeof spin, on_done, &ds, &e), 0);
  assert_string_equal(spin, "spin@fixed");
  /* its id is reserved while it loads */
  assert_int_equal(al_load_async(h, "spin", V1, strlen(V1), &o, NULL, 0, on_done, &dx, &e),
                   AL_EINSTANCE_EXISTS);
  assert_int_equal(al_load_async(h, "p", V1, strlen(V1), NULL, id, sizeof id, on_done, &dl, &e), 0);
  if (iso != AL_ISOLATION_INLINE) {
    assert_int_equal(ds.calls, 0); /* nothing runs a callback outside al_host_dispatch */
    assert_int_equal(al_plugin_info(h, spin, NULL, &e), AL_EINSTANCE_NOT_FOUND);
  }
  wait_for(h, &dl);
  assert_int_equal(dl.rc, 0);
  json_t *rec = t_json(strdup(dl.json));
  assert_string_equal(json_string_value(json_object_get(rec, "instanceId")), id);
  assert_string_equal(json_string_value(json_object_get(rec, "title")), "One");
  json_decref(rec);
  wait_for(h, &ds);
  assert_int_equal(ds.rc, AL_ETIMEOUT);
  assert_string_equal(ds.err.instance_id, "spin@fixed");
  assert_int_equal(al_plugin_info(h, spin, NULL, &e), AL_EINSTANCE_NOT_FOUND);
  expect_text(h, other, "main", "v1 n=0");

  /* reload, async: a syntax error names its line; then a good one swaps */
  assert_int_equal(al_reload_async(h, id, BAD, strlen(BAD), NULL, on_done, &dr, &e), 0);
  wait_for(h, &dr);
  assert_int_equal(dr.rc, AL_EPLUGIN_LOAD);
  assert_int_equal(dr.err.line, 3);
  memset(&dr, 0, sizeof dr);
  json_decref(t_event(h, id, "main", "inc", NULL));
  assert_int_equal(al_reload_async(h, id, V2, strlen(V2), NULL, on_done, &dr, &e), 0);
  wait_for(h, &dr);
  assert_int_equal(dr.rc, 0);
  expect_text(h, id, "main", "v2 n=1");
  /* unloaded while the reload is in flight: the reload reports it, nothing leaks */
  memset(&dr, 0, sizeof dr);
  assert_int_equal(al_reload_async(h, id, V1, strlen(V1), NULL, on_done, &dr, &e), 0);
  assert_int_equal(al_unload(h, id, &e), 0);
  wait_for(h, &dr);
  assert_int_equal(dr.rc, AL_EINSTANCE_NOT_FOUND);
  assert_int_equal(al_reload_async(h, id, V1, strlen(V1), NULL, on_done, &dr, &e), AL_EINSTANCE_NOT_FOUND);
  assert_int_equal(al_load_async(h, "p", V1, strlen(V1), NULL, NULL, 0, NULL, NULL, &e), AL_EINVALID_ARGUMENT);
  while (al_host_pending(h)) al_host_dispatch(h, 100);
  al_host_free(h);
}

static void test_async_thread(void **st) { (void)st; async_load(AL_ISOLATION_THREAD); }
static void test_async_inline(void **st) { (void)st; async_load(AL_ISOLATION_INLINE); }
static void test_async_process(void **st) { (void)st; async_load(AL_ISOLATION_PROCESS); }

/* Unloading an instance whose worker is busy does not wait for it. */
static void test_unload_async(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "p", V1, NULL, id);
  done dl = {0}, du = {0};
  al_error e;
  /* a reload that spins to its 300 ms deadline occupies the instance's worker */
  assert_int_equal(al_reload_async(h, id, SPIN, strlen(SPIN), NULL, on_done, &dl, &e), 0);
  assert_int_equal(al_unload_async(h, id, on_done, &du, &e), 0);
  assert_int_equal(al_plugin_info(h, id, NULL, &e), AL_EINSTANCE_NOT_FOUND); /* gone at once */
  assert_int_equal(du.calls, 0);
  assert_int_equal(al_unload_async(h, id, NULL, NULL, &e), AL_EINSTANCE_NOT_FOUND);
  wait_for(h, &du);
  assert_int_equal(du.rc, 0);
  assert_int_equal(dl.calls, 1); /* answered first, in queue order */
  assert_int_equal(dl.rc, AL_ETIMEOUT);
  char *ids = NULL;
  assert_int_equal(al_instances(h, &ids, NULL), 0);
  assert_string_equal(ids, "[]");
  al_free(ids);
  /* without a callback: dispatch consumes the answer, nothing is left pending */
  t_load(h, "p", V1, NULL, id);
  assert_int_equal(al_unload_async(h, id, NULL, NULL, &e), 0);
  for (int i = 0; i < 100 && al_host_pending(h); i++) al_host_dispatch(h, 100);
  assert_int_equal(al_host_pending(h), 0);
  al_host_free(h);
}

/* Left pending at al_host_free: freed, not leaked, callbacks never run. */
static void test_free_with_pending_load(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD);
  done d = {0};
  assert_int_equal(al_load_async(h, "p", V1, strlen(V1), NULL, NULL, 0, on_done, &d, NULL), 0);
  al_host_free(h);
  assert_int_equal(d.calls, 0);
}

static void test_package_grants(void **st) {
  (void)st;
  al_host *h = t_host(T_WORKBENCH);
  char *g = NULL;
  assert_int_equal(al_package_grants(h, "counter", &g, NULL), 0);
  json_t *gj = t_json(g);
  assert_string_equal(json_string_value(json_array_get(json_object_get(gj, "writeShared"), 0)),
                      "counter-summary");
  json_decref(gj);
  assert_int_equal(al_package_grants(h, "my-plugin", &g, NULL), 0);
  gj = t_json(g);
  assert_int_equal(json_array_size(json_object_get(gj, "readShared")), 0);
  assert_int_equal(json_array_size(json_object_get(gj, "writeShared")), 0);
  json_decref(gj);
  assert_int_equal(al_package_grants(h, NULL, &g, NULL), AL_EINVALID_ARGUMENT);
  assert_null(g);
  al_host_free(h);
}

/* A reload stages its new code as "<id>#reload<n>": no instance may be named like that,
 * or it would share the hostcall record of another instance's reload (issue 16). */
static void test_reload_ids_reserved(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD);
  al_load_opts o = {.instance_id = "x"};
  al_error e;
  assert_int_equal(al_load(h, "p", V1, strlen(V1), &o, NULL, 0, &e), 0);
  o.instance_id = "x#reload1";
  assert_int_equal(al_load(h, "p", V1, strlen(V1), &o, NULL, 0, &e), AL_EINVALID_ARGUMENT);
  assert_string_equal(e.message, "instance id 'x#reload1' must not contain '#'");
  assert_int_equal(al_reload(h, "x", V1, strlen(V1), NULL, &e), 0);
  al_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reload_thread),
      cmocka_unit_test(test_reload_inline),
      cmocka_unit_test(test_reload_process),
      cmocka_unit_test(test_reload_then_crash),
      cmocka_unit_test(test_reload_ids_reserved),
      cmocka_unit_test(test_async_thread),
      cmocka_unit_test(test_async_inline),
      cmocka_unit_test(test_async_process),
      cmocka_unit_test(test_unload_async),
      cmocka_unit_test(test_free_with_pending_load),
      cmocka_unit_test(test_package_grants),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

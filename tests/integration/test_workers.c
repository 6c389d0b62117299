/*
 * test_workers.c: thread isolation through the public API: async calls, per-instance
 * ordering, parallel instances, 1,000 instances over the workers, BUSY. Runs under
 * ThreadSanitizer in CI as well as ASan.
 */
#include "testutil.h"

static const char *SRC =
    "definePlugin(({ ui }) => ({ initialState: { n: 0, log: [] }, widgets: { main: {"
    "  render({ pluginState }) { if (pluginState.spin) for (;;) {} return ui.text('n=' + pluginState.n); },"
    "  handlers: { add({ pluginState, dispatchPluginAction }, k) {"
    "    dispatchPluginAction('state/merge', { n: pluginState.n + 1, log: pluginState.log.concat([k]) }); } } } } }));";

static al_host *mk(al_isolation iso, unsigned workers, unsigned qcap) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.watchdog_grace_ms = 5000; /* see testutil.h */
  cfg.isolation = iso;
  cfg.workers = workers;
  cfg.queue_capacity = qcap;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  return h;
}

typedef struct results {
  int calls;
  int order[64];
  int rc[64];
  char text[64][64];
} results;

typedef struct tag {
  results *r;
  int id;
} tag;

static void on_result(void *user, int rc, const char *json, const al_error *err) {
  tag *t = user;
  results *r = t->r;
  if (r->calls < 64) {
    r->order[r->calls] = t->id;
    r->rc[r->calls] = rc;
    snprintf(r->text[r->calls], sizeof r->text[0], "%.63s", rc ? err->message : json);
  }
  r->calls++;
}

static void drain(al_host *h, results *r, int want) {
  while (r->calls < want) al_host_dispatch(h, 1000);
}

static void test_async_in_order(void **st) {
  (void)st;
  for (int iso = 0; iso < 2; iso++) {
    al_host *h = mk(iso == 0 ? AL_ISOLATION_THREAD : AL_ISOLATION_INLINE, 2, 64);
    char id[AL_INSTANCE_ID_MAX];
    t_load(h, "w", SRC, NULL, id);
    results r = {0};
    tag tags[11];
    for (int i = 0; i < 10; i++) {
      tags[i] = (tag){&r, i};
      char args[16];
      snprintf(args, sizeof args, "%d", i);
      assert_int_equal(al_event_async(h, id, "main", "add", args, on_result, &tags[i]), 0);
    }
    tags[10] = (tag){&r, 10};
    assert_int_equal(al_render_async(h, id, "main", on_result, &tags[10]), 0);
    assert_int_equal(al_host_pending(h), 11);
    drain(h, &r, 11);
    assert_int_equal(al_host_pending(h), 0);
    for (int i = 0; i < 11; i++) {
      assert_int_equal(r.order[i], i);
      assert_int_equal(r.rc[i], 0);
    }
    /* a call sees the state as it is when the call starts, after every earlier call's
     * intents were applied: the 10 queued events count up, and the render queued after
     * them sees all ten */
    json_t *s = t_state(h, id);
    t_assert_json(s, "{\"n\":10,\"log\":[0,1,2,3,4,5,6,7,8,9]}");
    json_decref(s);
    assert_non_null(strstr(r.text[10], "n=10"));
    al_host_free(h);
  }
}

static void test_parallel_instances(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD, 2, 64);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX];
  t_load(h, "w", SRC, NULL, a);
  t_load(h, "w", SRC, NULL, b);
  char *text;
  al_health(h, &text, NULL);
  json_t *hj = t_json(text);
  json_t *insts = json_object_get(hj, "instances");
  assert_int_not_equal(json_integer_value(json_object_get(json_array_get(insts, 0), "worker")),
                       json_integer_value(json_object_get(json_array_get(insts, 1), "worker")));
  json_decref(hj);
  assert_int_equal(al_state_set(h, a, "{\"n\":0,\"log\":[],\"spin\":true}", NULL), 0);
  results r = {0};
  tag ta = {&r, 1}, tb = {&r, 2};
  assert_int_equal(al_render_async(h, a, "main", on_result, &ta), 0);
  assert_int_equal(al_render_async(h, b, "main", on_result, &tb), 0);
  drain(h, &r, 2);
  /* b's worker answered while a's was still spinning towards its deadline */
  assert_int_equal(r.order[0], 2);
  assert_int_equal(r.rc[0], 0);
  assert_int_equal(r.order[1], 1);
  assert_int_equal(r.rc[1], AL_ETIMEOUT);
  /* a is usable again */
  assert_int_equal(al_state_set(h, a, "{\"n\":3,\"log\":[]}", NULL), 0);
  json_t *t = t_render(h, a, "main");
  assert_string_equal(json_string_value(json_object_get(t, "text")), "n=3");
  json_decref(t);
  al_host_free(h);
}

static void test_thousand_instances(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD, 4, 2000);
  enum { N = 1000 };
  char (*ids)[AL_INSTANCE_ID_MAX] = calloc(N, sizeof *ids);
  for (int i = 0; i < N; i++) t_load(h, "many", SRC, NULL, ids[i]);
  results r = {0};
  tag tg = {&r, 0};
  for (int i = 0; i < N; i++) assert_int_equal(al_render_async(h, ids[i], "main", on_result, &tg), 0);
  drain(h, &r, N);
  assert_int_equal(al_host_pending(h), 0);
  char *text;
  al_health(h, &text, NULL);
  json_t *hj = t_json(text);
  int per[4] = {0};
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(hj, "instances"), i, e) per[json_integer_value(json_object_get(e, "worker"))]++;
  for (int k = 0; k < 4; k++) assert_int_equal(per[k], N / 4); /* spread evenly */
  json_decref(hj);
  for (int k = 0; k < N; k++) assert_int_equal(al_unload(h, ids[k], NULL), 0);
  free(ids);
  al_host_free(h);
}

static void test_busy(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD, 1, 2);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "w", SRC, NULL, id);
  assert_int_equal(al_state_set(h, id, "{\"n\":0,\"log\":[],\"spin\":true}", NULL), 0);
  results r = {0};
  tag tg = {&r, 0};
  assert_int_equal(al_render_async(h, id, "main", on_result, &tg), 0);
  assert_int_equal(al_render_async(h, id, "main", on_result, &tg), 0);
  assert_int_equal(al_render_async(h, id, "main", on_result, &tg), AL_EBUSY);
  char *out = NULL;
  al_error e;
  assert_int_equal(al_render(h, id, "main", &out, &e), AL_EBUSY);
  assert_string_equal(e.instance_id, id);
  drain(h, &r, 2);
  al_host_free(h);
}

static void test_free_with_pending(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD, 2, 8);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "w", SRC, NULL, id);
  results r = {0};
  tag tg = {&r, 0};
  for (int i = 0; i < 5; i++) assert_int_equal(al_render_async(h, id, "main", on_result, &tg), 0);
  al_host_free(h); /* pending calls are dropped without running their callbacks */
  assert_int_equal(r.calls, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_async_in_order), cmocka_unit_test(test_parallel_instances),
      cmocka_unit_test(test_thousand_instances), cmocka_unit_test(test_busy),
      cmocka_unit_test(test_free_with_pending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

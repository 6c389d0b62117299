/*
 * test_lifecycle.c: 10,000 load/dispose cycles and many live instances. Leaks are caught
 * by LeakSanitizer (CI builds with ASan) and by QuickJS's own assertion that a runtime is
 * empty when freed; here we also check that the host's own bookkeeping returns to zero.
 */
#include "testutil.h"

static const char *SRC =
    "let n = 0;"
    "definePlugin(({ ui }) => ({ initialState: { v: 1 }, widgets: { main: {"
    "  render({ pluginState }) { n++; return ui.panel([ui.text('v' + pluginState.v), ui.badge(n)]); },"
    "  handlers: { inc({ pluginState, dispatchPluginAction }) {"
    "    dispatchPluginAction('state/merge', { v: pluginState.v + 1 }); } } } } }));";

static size_t count_instances(al_host *h) {
  char *text;
  assert_int_equal(al_instances(h, &text, NULL), 0);
  json_t *a = t_json(text);
  size_t n = json_array_size(a);
  json_decref(a);
  return n;
}

static void test_cycles(void **st) {
  (void)st;
  al_host *h = t_host(T_WORKBENCH);
  char id[AL_INSTANCE_ID_MAX];
  for (int i = 0; i < 10000; i++) {
    t_load(h, "cycle", SRC, NULL, id);
    if (i % 100 == 0) { /* exercise a render and an event now and then */
      json_t *r = t_event(h, id, "main", "inc", NULL);
      json_decref(r);
      json_t *t = t_render(h, id, "main");
      json_decref(t);
    }
    assert_int_equal(al_unload(h, id, NULL), 0);
  }
  assert_int_equal(count_instances(h), 0);
  char *text;
  al_shared_get(h, "runtime-registry", &text, NULL);
  json_t *reg = t_json(text);
  assert_int_equal(json_array_size(reg), 0);
  json_decref(reg);
  al_host_free(h);
}

static void test_many_instances(void **st) {
  (void)st;
  al_host *h = t_host(T_WORKBENCH);
  enum { N = 200 };
  char (*ids)[AL_INSTANCE_ID_MAX] = calloc(N, sizeof *ids);
  for (int i = 0; i < N; i++) t_load(h, "many", SRC, NULL, ids[i]);
  for (int i = 0; i < N; i++)
    if (i % 2) json_decref(t_event(h, ids[i], "main", "inc", NULL));
  for (int i = 0; i < N; i++) {
    json_t *t = t_render(h, ids[i], "main");
    const char *txt = json_string_value(json_object_get(json_array_get(json_object_get(t, "children"), 0), "text"));
    assert_string_equal(txt, i % 2 ? "v2" : "v1"); /* instances never share state */
    json_decref(t);
  }
  assert_int_equal(count_instances(h), N);
  /* unload in a scattered order; lookups must keep working through the holes */
  for (int i = 0; i < N; i += 3) assert_int_equal(al_unload(h, ids[i], NULL), 0);
  for (int i = 0; i < N; i++) {
    char *out = NULL;
    int rc = al_render(h, ids[i], "main", &out, NULL);
    assert_int_equal(rc, i % 3 == 0 ? AL_EINSTANCE_NOT_FOUND : 0);
    al_free(out);
  }
  free(ids);
  al_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cycles),
      cmocka_unit_test(test_many_instances),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_vm_reuse.c: what vm.c and exec.c reuse across instances, and that reuse changes
 * nothing a plugin or the host can observe:
 *   - spare VMs (vm_new_spare + vm_adopt): an adopted spare runs under the load's limits,
 *     and a spare is refused where vm_new itself might have behaved differently;
 *   - the plugin bytecode cache: every instance of one source behaves alike, the first
 *     included; the cache is keyed by source text and file name; errors keep their lines;
 *   - a worker table's spare maker (wk_table_prewarm): loads through it get their limits.
 */
#include "helpers.h"

#include <time.h>

#include "vm/vm.h"
#include "worker/exec.h"

static vm_config config(size_t memory, size_t stack) {
  return (vm_config){.limits = {.memory_bytes = memory, .stack_bytes = stack, .load_ms = 5000,
                                .render_ms = 5000, .event_ms = 5000},
                     .max_value_bytes = 1u << 20, .max_tree_bytes = 1u << 20};
}

/* Needs 4 MiB at once: fits the spare's own 32 MiB, not a 2 or 3 MiB limit. */
static const char BIG[] =
    "definePlugin(({ ui }) => ({ widgets: { main: { render() {"
    "  return ui.text(String(new Uint8Array(4 << 20).length)); } } } }));";

/* Loads `code` and renders "main"; returns the render's code. */
static int load_render(vm_instance *vm, const char *code, const char *name, al_error *e) {
  json_t *meta = NULL, *tree = NULL, *st = json_object(), *gs = json_object();
  int rc = vm_load(vm, code, strlen(code), name, &meta, e);
  if (!rc) rc = vm_render(vm, "main", &(vm_state_msg){.full = st}, &(vm_state_msg){.full = gs}, &tree, e);
  json_decref(meta);
  json_decref(tree);
  json_decref(st);
  json_decref(gs);
  return rc;
}

static void test_adopted_spare_takes_the_limits(void **state) {
  (void)state;
  vm_instance *vm = NULL;
  assert_int_equal(vm_new_spare(NULL, NULL, &vm, NULL), 0);
  vm_config c = config(2u << 20, 1u << 20); /* the spare was made with 32 MiB */
  assert_true(vm_adopt(vm, &c));
  al_error e;
  assert_int_equal(load_render(vm, BIG, "big.js", &e), AL_EMEMORY_LIMIT);
  assert_non_null(strstr(e.message, "2097152"));
  vm_free(vm);
}

static void test_spare_refused_when_it_could_differ(void **state) {
  (void)state;
  vm_instance *vm = NULL;
  assert_int_equal(vm_new_spare(NULL, NULL, &vm, NULL), 0);
  size_t boot = vm_memory_bytes(vm);
  assert_true(boot > 0);
  vm_config tight = config(boot, 1u << 20); /* vm_new might have failed under this */
  assert_false(vm_adopt(vm, &tight));
  vm_config shallow = config(32u << 20, 64u << 10);
  assert_false(vm_adopt(vm, &shallow));
  int ud;
  vm_config other = config(32u << 20, 1u << 20);
  other.alloc_ud = &ud; /* another allocator's heap */
  assert_false(vm_adopt(vm, &other));
  /* refused adoptions leave the spare as it was: it still works with its own limits */
  al_error e;
  assert_int_equal(load_render(vm, BIG, "big.js", &e), 0);
  vm_free(vm);
}

static const char TWICE[] =
    "let calls = 0;\n"
    "function helper() { return 'h'; }\n"
    "definePlugin(({ ui }) => ({ title: 'Twice', widgets: { main: { render() {\n"
    "  calls++;\n"
    "  return ui.text(calls + ':' + typeof helper + ':' + String(helper).includes('helper'));\n"
    "} }, boom: { render() {\n"
    "  throw new Error('bang');\n"
    "} } } }));\n";

static char *render_text(vm_instance *vm, const char *widget, al_error *e, int *rc) {
  json_t *tree = NULL, *st = json_object(), *gs = json_object();
  *rc = vm_render(vm, widget, &(vm_state_msg){.full = st}, &(vm_state_msg){.full = gs}, &tree, e);
  char *s = *rc ? NULL : strdup(json_string_value(json_object_get(tree, "text")));
  json_decref(tree);
  json_decref(st);
  json_decref(gs);
  return s;
}

static void test_cached_instances_behave_alike(void **state) {
  (void)state;
  vm_config c = config(32u << 20, 1u << 20);
  /* a source no other test uses, so the first load here compiles it */
  char src[sizeof TWICE + 64];
  snprintf(src, sizeof src, "// test_cached_instances_behave_alike %ld\n%s", (long)time(NULL), TWICE);
  for (int i = 0; i < 3; i++) {
    vm_instance *vm = NULL;
    assert_int_equal(vm_new(&c, &vm, NULL), 0);
    json_t *meta = NULL;
    al_error e;
    assert_int_equal(vm_load(vm, src, strlen(src), "twice.js", &meta, &e), 0);
    assert_string_equal(json_string_value(json_object_get(meta, "title")), "Twice");
    json_decref(meta);
    int rc;
    char *t = render_text(vm, "main", &e, &rc);
    assert_int_equal(rc, 0);
    /* each instance has its own globals; toString is the same for every instance */
    assert_string_equal(t, "1:function:true");
    free(t);
    assert_null(render_text(vm, "boom", &e, &rc));
    assert_int_equal(rc, AL_EPLUGIN);
    assert_string_equal(e.message, "Error: bang");
    assert_int_equal(e.line, 8); /* line numbers survive the bytecode (line 1: the comment) */
    vm_free(vm);
  }
}

static void test_cache_keyed_by_source_and_name(void **state) {
  (void)state;
  vm_config c = config(32u << 20, 1u << 20);
  const char *a = "definePlugin(() => ({ widgets: { main: { render() { throw new Error('A'); } } } }));";
  const char *b = "definePlugin(() => ({ widgets: { main: { render() { throw new Error('B'); } } } }));";
  const char *names[] = {"a.js", "b.js", "a.js", "c.js"};
  const char *srcs[] = {a, b, a, a};
  for (int i = 0; i < 4; i++) {
    vm_instance *vm = NULL;
    assert_int_equal(vm_new(&c, &vm, NULL), 0);
    al_error e;
    assert_int_equal(load_render(vm, srcs[i], names[i], &e), AL_EPLUGIN);
    assert_string_equal(e.message, srcs[i] == a ? "Error: A" : "Error: B");
    vm_free(vm);
  }
  /* a syntax error is still the parser's, with its line, every time */
  for (int i = 0; i < 2; i++) {
    vm_instance *vm = NULL;
    assert_int_equal(vm_new(&c, &vm, NULL), 0);
    json_t *meta = NULL;
    al_error e;
    const char *bad = "\n\ndefinePlugin(() => ({ widgets: { main: { render() { return 1 +; } } } }));";
    assert_int_equal(vm_load(vm, bad, strlen(bad), "bad.js", &meta, &e), AL_EPLUGIN_LOAD);
    assert_null(meta);
    assert_non_null(strstr(e.message, "SyntaxError"));
    assert_int_equal(e.line, 3);
    vm_free(vm);
  }
}

/* A plugin whose code is a large share of its memory limit still loads: when there is no
 * room to write its bytecode out for the cache, it runs uncached. */
static void test_big_plugin_near_the_limit(void **state) {
  (void)state;
  size_t n = 700u << 10;
  char *src = malloc(n + 256);
  assert_non_null(src);
  size_t o = (size_t)sprintf(src, "const blob = '");
  memset(src + o, 'x', n);
  o += n;
  o += (size_t)sprintf(src + o, "';\ndefinePlugin(({ ui }) => ({ widgets: { main: { render() {"
                                 " return ui.text(String(blob.length)); } } } }));\n");
  src[o] = '\0';
  /* 2 MiB: the code is compiled but there is no room to write it out, so it runs
   * uncached; 3 MiB: it is compiled and cached; 4 MiB: read from the cache */
  for (size_t mib = 2; mib <= 4; mib++) {
    vm_config c = config(mib << 20, 1u << 20);
    vm_instance *vm = NULL;
    assert_int_equal(vm_new(&c, &vm, NULL), 0);
    al_error e;
    int rc = load_render(vm, src, "big.js", &e);
    if (rc) fail_msg("%zu MiB: %s: %s", mib, al_err_name(rc), e.message);
    vm_free(vm);
  }
  /* A sweep of limits over a fresh source each time, across the points where writing the
   * bytecode out, then reading it back, stop fitting: a load either succeeds or is a
   * memory-limit hit, and once it fits it fits at every larger limit. */
  bool fitted = false;
  for (size_t kib = 1024; kib <= 3072; kib += 32) {
    memcpy(src + 14, "yyyyyyyy", 8); /* inside the blob: a source never seen before */
    snprintf(src + 22, 9, "%08zu", kib);
    src[30] = 'x';
    vm_config c = config(kib << 10, 1u << 20);
    vm_instance *vm = NULL;
    assert_int_equal(vm_new(&c, &vm, NULL), 0);
    al_error e;
    int rc = load_render(vm, src, "sweep.js", &e);
    if (rc && rc != AL_EMEMORY_LIMIT) fail_msg("%zu KiB: %s: %s", kib, al_err_name(rc), e.message);
    if (rc && fitted) fail_msg("%zu KiB: refused after a smaller limit fitted", kib);
    if (!rc) fitted = true;
    vm_free(vm);
  }
  assert_true(fitted);
  free(src);
}

static void test_table_prewarm_loads_get_their_limits(void **state) {
  (void)state;
  wk_table *t = wk_table_new(NULL, NULL, NULL);
  assert_non_null(t);
  assert_int_equal(wk_table_prewarm(t), 0);
  /* whether or not the spare is ready when each load comes, the load's limits hold */
  for (int i = 0; i < 6; i++) {
    char id[16];
    snprintf(id, sizeof id, "big%d", i);
    json_t *req = json_pack("{s:s,s:s,s:s,s:{s:i,s:i}}", "op", "load", "instanceId", id, "code", BIG,
                            "limits", "memoryBytes", 3 << 20, "renderMs", 5000);
    json_t *resp = wk_exec(t, req);
    assert_int_equal(wk_response_result(resp, NULL, NULL), 0);
    json_decref(resp);
    json_decref(req);
    req = json_pack("{s:s,s:s,s:s,s:{},s:{}}", "op", "render", "instanceId", id, "widgetId", "main",
                    "pluginState", "globalState");
    resp = wk_exec(t, req);
    al_error e;
    assert_int_equal(wk_response_result(resp, NULL, &e), AL_EMEMORY_LIMIT);
    assert_non_null(strstr(e.message, "3145728"));
    json_decref(resp);
    json_decref(req);
    struct timespec ts = {0, 20 * 1000000L}; /* room for the maker to run; not asserted */
    nanosleep(&ts, NULL);
  }
  assert_int_equal(wk_table_count(t), 6);
  wk_table_free(t); /* stops the maker and frees its spare */
}

int main(void) {
  wk_global_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_adopted_spare_takes_the_limits),
      cmocka_unit_test(test_spare_refused_when_it_could_differ),
      cmocka_unit_test(test_cached_instances_behave_alike),
      cmocka_unit_test(test_cache_keyed_by_source_and_name),
      cmocka_unit_test(test_big_plugin_near_the_limit),
      cmocka_unit_test(test_table_prewarm_loads_get_their_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_limits.c: deadlines, memory and stack limits. Each failure must carry the right
 * code, decided from what the host observed, and leave the instance usable. No timing is
 * asserted here (sanitized QuickJS is several times slower); the conformance case's maxMs
 * and bench/ measure speed.
 */
#include "testutil.h"

static const char *SPIN =
    "let calls = 0;"
    "definePlugin(({ ui }) => ({ reducers: { slow(s) { for (;;) {} } },"
    "  widgets: { main: {"
    "    render({ pluginState }) { calls++;"
    "      switch (pluginState.mode) {"
    "        case 'loop': for (;;) {}"
    "        case 'catch': try { for (;;) {} } catch (e) {} return ui.text('escaped');"
    "        case 'recurse': { const f = (n) => f(n + 1) + 1; return f(0); }"
    "        case 'hog': { const a = []; for (;;) a.push(new Uint8Array(1 << 20)); }"
    "        case 'buffer': return ui.text(String(new ArrayBuffer(64 << 20).byteLength));"
    "        case 'async-loop': return (async () => { await null; for (;;) {} })();"
    "        case 'microtasks': return new Promise(() => { const f = () => Promise.resolve().then(f); f(); });"
    "        case 'regexp-ok': return ui.text(String(/a+$/.test('aaaa')));"
    "        default: return ui.text('alive ' + calls);"
    "      } },"
    "    handlers: { slow({ dispatchPluginAction }) { dispatchPluginAction('slow'); dispatchPluginAction('state/merge', { after: 1 }); } } } } }));";

/* `alt` (0: none) is a second acceptable code, for a plugin that two limits race to stop. */
static void expect_code(al_host *h, const char *id, int code, int alt) {
  char *out = NULL;
  al_error e;
  int rc = al_render(h, id, "main", &out, &e);
  if (rc != code && (!alt || rc != alt))
    fail_msg("expected %s got %s: %s", al_err_name(code), al_err_name(rc), e.message);
  assert_null(out);
  /* the instance stays usable */
  rc = al_render(h, id, "main", &out, &e);
  (void)rc;
  al_free(out);
}

static void set_mode(al_host *h, const char *id, const char *mode) {
  char s[64];
  snprintf(s, sizeof s, "{\"mode\":\"%s\"}", mode);
  assert_int_equal(al_state_set(h, id, s, NULL), 0);
}

static void alive(al_host *h, const char *id) {
  set_mode(h, id, "ok");
  json_t *t = t_render(h, id, "main");
  assert_non_null(strstr(json_string_value(json_object_get(t, "text")), "alive"));
  json_decref(t);
}

static void test_limits(void **st) {
  (void)st;
  al_config cfg;
  al_config_init(&cfg);
  cfg.watchdog_grace_ms = 5000; /* see testutil.h */
  cfg.limits.memory_bytes = 16u << 20;
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  /* Timeouts run with the default 100 ms; memory and stack cases get a deadline so long
   * that only the limit under test can end them, however slow a sanitized engine is. */
  char id[AL_INSTANCE_ID_MAX], roomy[AL_INSTANCE_ID_MAX];
  t_load(h, "spin", SPIN, NULL, id);
  al_limits slow = {.render_ms = 20000};
  al_load_opts lo = {.grants_json = "{}", .limits = &slow};
  assert_int_equal(al_load(h, "spin", SPIN, strlen(SPIN), &lo, roomy, sizeof roomy, NULL), 0);
  static const struct {
    const char *mode;
    int code;
    bool roomy;
    int alt;
  } cases[] = {
      {"loop", AL_ETIMEOUT, false, 0},           {"catch", AL_ETIMEOUT, false, 0},
      {"recurse", AL_ESTACK_OVERFLOW, true, 0},  {"hog", AL_EMEMORY_LIMIT, true, 0},
      {"buffer", AL_EMEMORY_LIMIT, true, 0},     {"async-loop", AL_ETIMEOUT, false, 0},
      /* each reaction's promise is resolved with the next: the chain grows until the
       * deadline or the 16 MiB heap ends it, whichever a machine's speed makes first */
      {"microtasks", AL_ETIMEOUT, false, AL_EMEMORY_LIMIT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *which = cases[i].roomy ? roomy : id;
    set_mode(h, which, cases[i].mode);
    expect_code(h, which, cases[i].code, cases[i].alt);
    alive(h, which);
  }
  set_mode(h, id, "regexp-ok");
  json_t *t = t_render(h, id, "main");
  json_decref(t);

  /* telemetry marks the interrupted call */
  char *text;
  al_telemetry(h, &text, NULL);
  json_t *tm = t_json(text);
  bool any = false;
  size_t i;
  json_t *r;
  json_array_foreach(tm, i, r) {
    if (json_is_true(json_object_get(r, "interrupted"))) {
      any = true;
      assert_string_equal(json_string_value(json_object_get(r, "outcome")), "VM_TIMEOUT");
    }
  }
  assert_true(any);
  json_decref(tm);

  /* a plugin-declared reducer that loops shares the event's deadline; the event itself
   * succeeded, the stuck action is ignored, and the next one cannot run past the deadline */
  json_t *res = t_event(h, id, "main", "slow", NULL);
  json_t *a0 = json_array_get(json_object_get(res, "actions"), 0);
  assert_string_equal(json_string_value(json_object_get(a0, "outcome")), "ignored");
  assert_non_null(strstr(json_string_value(json_object_get(a0, "reason")), "VM_TIMEOUT"));
  json_decref(res);
  alive(h, id);
  al_host_free(h);
}

static void test_load_limits(void **st) {
  (void)st;
  al_host *h = t_host(AL_PROFILE_BARE);
  al_error e;
  const char *loop = "for (;;) {}";
  int rc = al_load(h, "p", loop, strlen(loop), NULL, NULL, 0, &e);
  assert_int_equal(rc, AL_ETIMEOUT);
  const char *hog = "const a = []; for (;;) a.push(new Uint8Array(1 << 16));";
  al_limits lim = {.memory_bytes = 4u << 20, .load_ms = 20000};
  al_load_opts o = {.limits = &lim};
  rc = al_load(h, "p", hog, strlen(hog), &o, NULL, 0, &e);
  assert_int_equal(rc, AL_EMEMORY_LIMIT);
  const char *deep = "function f() { return f() + 1; } f();";
  rc = al_load(h, "p", deep, strlen(deep), &o, NULL, 0, &e);
  assert_int_equal(rc, AL_ESTACK_OVERFLOW);
  /* nothing was left behind */
  char *text;
  al_instances(h, &text, NULL);
  json_t *ids = t_json(text);
  assert_int_equal(json_array_size(ids), 0);
  json_decref(ids);
  al_host_free(h);
}

/* A Lua-style allocator hook that counts what it hands out. */
typedef struct counting {
  size_t live, total;
} counting;

static void *count_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  counting *c = ud;
  if (nsize == 0) {
    if (ptr) c->live -= osize;
    free(ptr);
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (p) {
    c->live += nsize - (ptr ? osize : 0);
    c->total++;
  }
  return p;
}

static void test_allocator_hook(void **st) {
  (void)st;
  counting c = {0};
  al_config cfg;
  al_config_init(&cfg);
  cfg.watchdog_grace_ms = 5000; /* see testutil.h */
  cfg.alloc = count_alloc;
  cfg.alloc_ud = &c;
  cfg.limits.memory_bytes = 8u << 20;
  cfg.limits.render_ms = 20000; /* only the memory limit may end the hog */
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "spin", SPIN, NULL, id);
  assert_true(c.total > 0);
  assert_true(c.live > 0);
  set_mode(h, id, "hog");
  expect_code(h, id, AL_EMEMORY_LIMIT, 0);
  alive(h, id);
  al_host_free(h);
  assert_int_equal(c.live, 0); /* every block came back */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_load_limits),
      cmocka_unit_test(test_allocator_hook),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

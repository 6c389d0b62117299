/*
 * test_limits.c: deadlines, memory and stack limits. Each failure must carry the right
 * code, decided from what the host observed, and leave the instance usable. No timing is
 * asserted here (sanitized QuickJS is several times slower); the conformance case's maxMs
 * and bench/ measure speed.
 */
#include "testutil.h"

static const char *SPIN =
    "let calls = 0, resumed = 0;"
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
    "        case 'microtasks': return new Promise(() => { const f = () => { Promise.resolve().then(f); }; f(); });"
    "        case 'microtask-chain': return new Promise(() => { const f = () => Promise.resolve().then(f); f(); });"
    "        case 'never': return new Promise(() => {});"
    "        case 'sleep-abandon': return (async () => { pi.sleep(1).then(() => { resumed++; }); for (;;) {} })();"
    "        case 'sleep-ok': return (async () => { await pi.sleep(5); return ui.text('resumed ' + resumed); })();"
    "        case 'async-ok': return (async () => { await null; return ui.text('async ok'); })();"
    "        case 'regexp-ok': return ui.text(String(/a+$/.test('aaaa')));"
    "        default: return ui.text('alive ' + calls);"
    "      } },"
    "    handlers: { slow({ dispatchPluginAction }) { dispatchPluginAction('slow'); dispatchPluginAction('state/merge', { after: 1 }); } } } } }));";

static void expect_code(al_host *h, const char *id, int code) {
  char *out = NULL;
  al_error e;
  int rc = al_render(h, id, "main", &out, &e);
  if (rc != code) fail_msg("expected %s got %s: %s", al_err_name(code), al_err_name(rc), e.message);
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

static void async_alive(al_host *h, const char *id) {
  set_mode(h, id, "async-ok");
  json_t *t = t_render(h, id, "main");
  assert_string_equal(json_string_value(json_object_get(t, "text")), "async ok");
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
  } cases[] = {
      {"loop", AL_ETIMEOUT, false},           {"catch", AL_ETIMEOUT, false},
      {"recurse", AL_ESTACK_OVERFLOW, true},  {"hog", AL_EMEMORY_LIMIT, true},
      {"buffer", AL_EMEMORY_LIMIT, true},     {"async-loop", AL_ETIMEOUT, false},
      {"microtasks", AL_ETIMEOUT, false},     {"microtask-chain", AL_EMEMORY_LIMIT, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *which = cases[i].roomy ? roomy : id;
    set_mode(h, which, cases[i].mode);
    expect_code(h, which, cases[i].code);
    alive(h, which);
  }
  /* The jobs an abandoned call left queued are gone: an async call settles normally. */
  async_alive(h, id);
  async_alive(h, roomy);
  /* With no leftover work, a promise that can never settle is reported at once as the
   * plugin's error instead of spinning someone else's loop until the deadline. */
  set_mode(h, id, "never");
  expect_code(h, id, AL_EPLUGIN);
  /* Nor does a pi.sleep timer set by an abandoned call fire later and resume it. */
  set_mode(h, id, "sleep-abandon");
  expect_code(h, id, AL_ETIMEOUT);
  set_mode(h, id, "sleep-ok");
  json_t *slept = t_render(h, id, "main");
  assert_string_equal(json_string_value(json_object_get(slept, "text")), "resumed 0");
  json_decref(slept);
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
  expect_code(h, id, AL_EMEMORY_LIMIT);
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

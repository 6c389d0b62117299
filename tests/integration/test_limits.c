/*
 * test_limits.c: deadlines, memory and stack limits. Each failure must carry the right
 * code, decided from what the host observed, and leave the instance usable. No timing is
 * asserted here (sanitized QuickJS is several times slower); the conformance case's maxMs
 * and bench/ measure speed.
 */
#include <time.h>

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

  /* a plugin-declared reducer that loops is cut at the event's deadline; the event itself
   * succeeded, the stuck action is ignored, and the next one's reducer does not run */
  json_t *res = t_event(h, id, "main", "slow", NULL);
  json_t *a0 = json_array_get(json_object_get(res, "actions"), 0);
  assert_string_equal(json_string_value(json_object_get(a0, "outcome")), "ignored");
  assert_non_null(strstr(json_string_value(json_object_get(a0, "reason")), "VM_TIMEOUT"));
  json_t *a1 = json_array_get(json_object_get(res, "actions"), 1);
  assert_string_equal(json_string_value(json_object_get(a1, "outcome")), "ignored");
  assert_non_null(strstr(json_string_value(json_object_get(a1, "reason")), "an earlier reducer of this event ran out of time"));
  json_decref(res);
  alive(h, id);
  al_host_free(h);
}

static void test_load_limits(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
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
  cfg.isolation = AL_ISOLATION_THREAD; /* the hook serves heaps in this process */
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

/* Intents are bounded per call (40,000 in one event once took the host 2 s): past the
 * count or the size the whole event fails before anything is applied, and the state the
 * host keeps for an instance is bounded by the instance's memory limit: a write past it is
 * refused as STATE_LIMIT and the state stays whole. */
static const char *FLOOD =
    "definePlugin(({ ui }) => ({ initialState: { n: 0 }, widgets: { main: {"
    "  render({ pluginState }) { return ui.text('n=' + pluginState.n); },"
    "  handlers: {"
    "    many({ dispatchPluginAction }, a) { for (let i = 0; i < a.count; i++) dispatchPluginAction('state/merge', { n: i }); },"
    "    big({ dispatchPluginAction }) { const s = 'x'.repeat(300 << 10); for (let i = 0; i < 4; i++) dispatchPluginAction('state/merge', { ['k' + i]: s }); },"
    "    grow({ dispatchPluginAction }, a) { dispatchPluginAction('state/merge', { [a.key]: 'y'.repeat(a.bytes) }); },"
    "  } } } }));";

static void test_intent_and_state_bounds(void **st) {
  (void)st;
  al_config cfg;
  al_config_init(&cfg);
  cfg.watchdog_grace_ms = 5000; /* see testutil.h */
  cfg.limits.event_ms = 20000;  /* only the bound under test may end a call */
  cfg.limits.state_bytes = 1u << 20;
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "flood", FLOOD, NULL, id);
  char *out = NULL;
  al_error e;
  /* at the cap: applied */
  json_t *r = t_event(h, id, "main", "many", "{\"count\":1000}");
  assert_int_equal(json_array_size(json_object_get(r, "actions")), 1000);
  json_decref(r);
  /* past it: nothing applied */
  assert_int_equal(al_event(h, id, "main", "many", "{\"count\":40000}", &out, &e), AL_ECONTRACT);
  assert_string_equal(e.message, "Dispatch intents: at most 1000 per call, this one dispatched 40000");
  assert_null(out);
  /* 4 x 300 KiB: more than 1 MiB of intents in one call */
  assert_int_equal(al_event(h, id, "main", "big", NULL, &out, &e), AL_ECONTRACT);
  assert_non_null(strstr(e.message, "at most 1048576 bytes per call"));
  json_t *t = t_render(h, id, "main");
  assert_string_equal(json_string_value(json_object_get(t, "text")), "n=999");
  json_decref(t);

  /* a thousand intents (the most one call may dispatch) through a plugin-declared reducer
   * all apply: each reducer has the event's deadline, and only a reducer that runs out of
   * it stops the rest (the stalling case is test_limits' "slow"). The budget is generous:
   * the host also ends a whole apply at ten times it, and a thousand round trips to a
   * sanitized worker on a loaded machine took over 10 s once (533 of 1000 applied). */
  al_limits quick = {.event_ms = 30000};
  al_load_opts qo = {.grants_json = "{}", .limits = &quick};
  const char *REDUCING =
      "definePlugin(({ ui }) => ({ initialState: { n: 0 }, reducers: { add(s, p) { return { n: s.n + p }; } },"
      "  widgets: { main: { render({ pluginState }) { return ui.text('n=' + pluginState.n); },"
      "    handlers: { go({ dispatchPluginAction }) { for (let i = 0; i < 1000; i++) dispatchPluginAction('add', 1); } } } } }));";
  char rid[AL_INSTANCE_ID_MAX];
  assert_int_equal(al_load(h, "reducing", REDUCING, strlen(REDUCING), &qo, rid, sizeof rid, &e), 0);
  r = t_event(h, rid, "main", "go", NULL);
  json_decref(r);
  t = t_render(h, rid, "main");
  assert_string_equal(json_string_value(json_object_get(t, "text")), "n=1000");
  json_decref(t);

  /* a reducer's telemetry starts when the reducer was called, not when it returned (issue
   * 15): a reducer that runs for 40 ms ends by the time the event has returned */
  const char *TIMED =
      "definePlugin(({ ui }) => ({ reducers: { slow(s) { const t = Date.now(); while (Date.now() - t < 40) {} return s; } },"
      "  widgets: { main: { render() { return ui.text('x'); },"
      "    handlers: { go({ dispatchPluginAction }) { dispatchPluginAction('slow', 0); } } } } }));";
  char tid[AL_INSTANCE_ID_MAX];
  assert_int_equal(al_load(h, "timed", TIMED, strlen(TIMED), &qo, tid, sizeof tid, &e), 0);
  json_decref(t_event(h, tid, "main", "go", NULL));
  struct timespec after;
  clock_gettime(CLOCK_REALTIME, &after);
  char *tel = NULL;
  assert_int_equal(al_telemetry(h, &tel, NULL), 0);
  json_t *tm = t_json(tel), *last_reduce = NULL;
  size_t ti;
  json_t *tr;
  json_array_foreach(tm, ti, tr)
    if (!strcmp(json_string_value(json_object_get(tr, "op")), "reduce") &&
        !strcmp(json_string_value(json_object_get(tr, "instanceId")), tid))
      last_reduce = tr;
  assert_non_null(last_reduce);
  json_int_t began = json_integer_value(json_object_get(last_reduce, "start"));
  json_int_t ran_ms = json_integer_value(json_object_get(last_reduce, "elapsedUs")) / 1000;
  assert_true(ran_ms >= 20); /* it ran (the VM's clock; Date.now() has whole ms) */
  assert_true(began + ran_ms <= (json_int_t)after.tv_sec * 1000 + after.tv_nsec / 1000000 + 1);
  json_decref(tm);

  /* state: 600 KiB fits under the 1 MiB limit, another 600 KiB does not and is denied */
  r = t_event(h, id, "main", "grow", "{\"key\":\"a\",\"bytes\":614400}");
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "actions"), 0), "outcome")), "applied");
  json_decref(r);
  r = t_event(h, id, "main", "grow", "{\"key\":\"b\",\"bytes\":614400}");
  json_t *a0 = json_array_get(json_object_get(r, "actions"), 0);
  assert_string_equal(json_string_value(json_object_get(a0, "outcome")), "denied");
  assert_non_null(strstr(json_string_value(json_object_get(a0, "reason")), "STATE_LIMIT: the plugin's state would pass its limit of 1048576 bytes"));
  json_decref(r);
  /* nothing lost: the state is the one before the refused write */
  json_t *s = t_state(h, id);
  assert_int_equal(json_string_length(json_object_get(s, "a")), 614400);
  assert_null(json_object_get(s, "b"));
  assert_int_equal(json_integer_value(json_object_get(s, "n")), 999);
  json_decref(s);
  /* replacing a key is measured by what changed: 600 KiB replaced by 600 KiB still fits */
  r = t_event(h, id, "main", "grow", "{\"key\":\"a\",\"bytes\":614000}");
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "actions"), 0), "outcome")), "applied");
  json_decref(r);
  /* the host's own writes are held to the same bound */
  char *huge = malloc(2u << 20);
  memset(huge, 'z', 2u << 20);
  memcpy(huge, "{\"z\":\"", 6);
  memcpy(huge + (2u << 20) - 3, "\"}", 3);
  assert_int_equal(al_state_set(h, id, huge, &e), AL_ESTATE_LIMIT);
  assert_string_equal(al_err_name(e.code), "STATE_LIMIT");
  assert_non_null(strstr(e.message, "would pass the instance's limit of 1048576 bytes"));
  free(huge);
  s = t_state(h, id);
  assert_int_equal(json_string_length(json_object_get(s, "a")), 614000);
  json_decref(s);
  assert_int_equal(al_state_set(h, id, "{\"n\":1}", &e), 0);
  t = t_render(h, id, "main");
  assert_string_equal(json_string_value(json_object_get(t, "text")), "n=1");
  json_decref(t);
  al_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_load_limits),
      cmocka_unit_test(test_allocator_hook),
      cmocka_unit_test(test_intent_and_state_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

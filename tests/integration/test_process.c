/*
 * test_process.c: process isolation through the public API. A worker that dies takes
 * only the call in flight with it: the host and every other instance continue, instances
 * are reloaded from their source keeping their host-owned state, and an instance that
 * keeps crashing its worker is set aside until it is loaded again.
 */
#include "testutil.h"

static const char *SRC =
    "let renders = 0;"
    "definePlugin(({ ui }) => ({ initialState: { n: 0 }, widgets: { main: {"
    "  render({ pluginState }) { renders++;"
    "    if (pluginState.redos) /(a+)+$/.test('a'.repeat(44) + '!');"
    "    return ui.text('n=' + pluginState.n + ' renders=' + renders); },"
    "  handlers: { inc({ pluginState, dispatchPluginAction }) {"
    "    dispatchPluginAction('state/merge', { n: pluginState.n + 1 }); } } } } }));";

static al_host *mk(unsigned workers) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_PROCESS;
  cfg.workers = workers;
  cfg.watchdog_grace_ms = 2000; /* see testutil.h; the watchdog test sets its own */
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  return h;
}

static const char *text_of(json_t *tree) { return json_string_value(json_object_get(tree, "text")); }

static void test_basics(void **st) {
  (void)st;
  al_host *h = mk(2);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "p", SRC, NULL, id);
  json_decref(t_event(h, id, "main", "inc", NULL));
  json_t *t = t_render(h, id, "main");
  assert_string_equal(text_of(t), "n=1 renders=1");
  json_decref(t);
  al_error e;
  char *out;
  const char *bad = "definePlugin(() => ({ widgets: {} })";
  assert_int_equal(al_load(h, "p", bad, strlen(bad), NULL, NULL, 0, &e), AL_EPLUGIN_LOAD);
  assert_int_equal(al_render(h, id, "nope", &out, &e), AL_EWIDGET_NOT_FOUND);
  assert_int_equal(al_debug(h, id, "bogus", 0, &e), AL_EINVALID_ARGUMENT);
  /* telemetry names the diagnostic with its own text, not the caller's pointer (issue 15:
   * it kept `what`, which the caller may free or reuse) */
  char *what = strdup("stall");
  assert_int_equal(al_debug(h, id, what, 0, &e), 0);
  memset(what, 'x', 5);
  free(what);
  char *text;
  assert_int_equal(al_telemetry(h, &text, NULL), 0);
  json_t *tm = t_json(text);
  json_t *last = json_array_get(tm, json_array_size(tm) - 1);
  assert_string_equal(json_string_value(json_object_get(last, "op")), "stall");
  json_decref(tm);
  al_health(h, &text, NULL);
  json_t *hj = t_json(text);
  assert_true(json_integer_value(json_object_get(json_object_get(hj, "workerEvents"), "starts")) >= 1);
  /* the frames took the shared-memory lane, unless this run asked for the socket (ctest
   * runs this file both ways: test_process and test_process_socket) */
  const char *lane = getenv("AIRLOCK_LANE");
  if (lane && !strcmp(lane, "socket")) assert_int_equal(json_integer_value(json_object_get(hj, "lanes")), 0);
  else assert_true(json_integer_value(json_object_get(hj, "lanes")) >= 1);
  json_decref(hj);
  al_host_free(h);
}

static void test_crash_contained(void **st) {
  (void)st;
  al_host *h = mk(2);
  enum { N = 101 };
  char (*ids)[AL_INSTANCE_ID_MAX] = calloc(N, sizeof *ids);
  for (int i = 0; i < N; i++) {
    t_load(h, "p", SRC, NULL, ids[i]);
    char s[32];
    snprintf(s, sizeof s, "{\"n\":%d}", i);
    assert_int_equal(al_state_set(h, ids[i], s, NULL), 0);
  }
  al_error e;
  assert_int_equal(al_debug(h, ids[0], "crash", 0, &e), AL_ECRASHED);
  assert_non_null(strstr(e.message, "SIG"));
  assert_string_equal(e.instance_id, ids[0]);
  /* the other 100 keep answering, with their host-owned state; module state restarted on
   * the crashed worker, survived on the other */
  for (int i = 1; i < N; i++) {
    json_t *t = t_render(h, ids[i], "main");
    char want[32];
    snprintf(want, sizeof want, "n=%d renders=1", i);
    assert_string_equal(text_of(t), want);
    json_decref(t);
  }
  /* the crashed instance itself was reloaded too */
  json_t *t = t_render(h, ids[0], "main");
  assert_string_equal(text_of(t), "n=0 renders=1");
  json_decref(t);
  char *text;
  al_health(h, &text, NULL);
  json_t *hj = t_json(text);
  json_t *ev = json_object_get(hj, "workerEvents");
  assert_int_equal(json_integer_value(json_object_get(ev, "crashes")), 1);
  assert_int_equal(json_integer_value(json_object_get(ev, "starts")), 3); /* 2 + 1 restart */
  json_decref(hj);
  free(ids);
  al_host_free(h);
}

static void test_repeat_offender(void **st) {
  (void)st;
  al_host *h = mk(1);
  char bad[AL_INSTANCE_ID_MAX], good[AL_INSTANCE_ID_MAX];
  t_load(h, "p", SRC, NULL, bad);
  t_load(h, "p", SRC, NULL, good);
  al_error e;
  for (int i = 0; i < 3; i++) assert_int_equal(al_debug(h, bad, "crash", 0, &e), AL_ECRASHED);
  char *out = NULL;
  assert_int_equal(al_render(h, bad, "main", &out, &e), AL_ECRASHED);
  assert_non_null(strstr(e.message, "3 worker crashes"));
  char *info;
  al_plugin_info(h, bad, &info, NULL);
  json_t *ij = t_json(info);
  assert_string_equal(json_string_value(json_object_get(ij, "status")), "error");
  json_decref(ij);
  json_t *t = t_render(h, good, "main");
  assert_non_null(strstr(text_of(t), "n=0"));
  json_decref(t);
  /* loading it again is the explicit retry */
  assert_int_equal(al_unload(h, bad, NULL), 0);
  t_load(h, "p", SRC, NULL, bad);
  t = t_render(h, bad, "main");
  json_decref(t);
  al_host_free(h);
}

static void test_watchdog_kill(void **st) {
  (void)st;
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_PROCESS;
  cfg.workers = 1;
  cfg.watchdog_grace_ms = 50;
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX];
  t_load(h, "p", SRC, NULL, a);
  t_load(h, "p", SRC, NULL, b);
  assert_int_equal(al_state_set(h, b, "{\"n\":7}", NULL), 0);
  al_error e;
  /* blocked past timeout + grace without polling: killed, answered VM_TIMEOUT */
  assert_int_equal(al_debug(h, a, "stall", 5000, &e), AL_ETIMEOUT);
  assert_non_null(strstr(e.message, "watchdog"));
  json_t *t = t_render(h, b, "main");
  assert_string_equal(text_of(t), "n=7 renders=1"); /* reloaded, state kept */
  json_decref(t);
  char *text;
  al_health(h, &text, NULL);
  json_t *hj = t_json(text);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(hj, "workerEvents"), "watchdogKills")), 1);
  json_decref(hj);
  /* catastrophic backtracking ends as VM_TIMEOUT too (interrupt or watchdog) */
  assert_int_equal(al_state_set(h, a, "{\"n\":0,\"redos\":true}", NULL), 0);
  char *out = NULL;
  assert_int_equal(al_render(h, a, "main", &out, &e), AL_ETIMEOUT);
  t = t_render(h, b, "main");
  assert_non_null(strstr(text_of(t), "n=7"));
  json_decref(t);
  al_host_free(h);
}

static void test_thousand_instances(void **st) {
  (void)st;
  al_host *h = mk(2);
  enum { N = 1000 };
  char (*ids)[AL_INSTANCE_ID_MAX] = calloc(N, sizeof *ids);
  for (int i = 0; i < N; i++) t_load(h, "many", SRC, NULL, ids[i]);
  for (int i = 0; i < N; i++) {
    json_t *t = t_render(h, ids[i], "main");
    assert_string_equal(text_of(t), "n=0 renders=1");
    json_decref(t);
  }
  for (int i = 0; i < N; i++) assert_int_equal(al_unload(h, ids[i], NULL), 0);
  char *text;
  al_health(h, &text, NULL);
  json_t *hj = t_json(text);
  assert_int_equal(json_array_size(json_object_get(hj, "instances")), 0);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(hj, "workerEvents"), "crashes")), 0);
  json_decref(hj);
  free(ids);
  al_host_free(h);
}

/* Requests are pipelined to a worker process: many async calls with large states in
 * and large trees out fill both directions of the socket at once. The driver must keep
 * reading while its own writes wait (a driver blocked in a write to a worker blocked in
 * a write to it would wait forever): every call completes. */
static const char *BIG =
    "definePlugin(({ ui }) => ({ widgets: { main: { render({ pluginState }) {"
    "  return ui.text(String(pluginState.pad).length + ':' + 'y'.repeat(60000)); } } } }));";

typedef struct big_done {
  int n, failed;
} big_done;

static void on_big(void *user, int rc, const char *json, const al_error *err) {
  (void)err;
  big_done *d = user;
  d->n++;
  if (rc || !json || !strstr(json, "60000:")) d->failed++;
}

static void test_pipelined_both_ways_full(void **st) {
  (void)st;
  al_host *h = mk(1);
  enum { N = 64 };
  char (*ids)[AL_INSTANCE_ID_MAX] = calloc(N, sizeof *ids);
  char *state = malloc(60100);
  memcpy(state, "{\"pad\":\"", 8);
  memset(state + 8, 'x', 60000);
  strcpy(state + 60008, "\"}");
  for (int i = 0; i < N; i++) {
    t_load(h, "big", BIG, NULL, ids[i]);
    assert_int_equal(al_state_set(h, ids[i], state, NULL), 0);
  }
  big_done d = {0};
  for (int i = 0; i < N; i++) assert_int_equal(al_render_async(h, ids[i], "main", on_big, &d), 0);
  for (int round = 0; round < 400 && d.n < N; round++) al_host_dispatch(h, 50);
  assert_int_equal(d.n, N);
  assert_int_equal(d.failed, 0);
  free(state);
  free(ids);
  al_host_free(h);
}

/* One frame several times the lane's size each way (ring.h: 128 KiB): a 1 MB state
 * down, a 300 KB tree up, so both sides wait for room as the other takes the bytes. */
static void test_frames_larger_than_lane(void **st) {
  (void)st;
  al_host *h = mk(1);
  const char *src = "definePlugin(({ ui }) => ({ widgets: { main: { render({ pluginState }) {"
                    "  return ui.text(pluginState.pad.length + ':' + 'y'.repeat(300000)); } } } }));";
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "huge", src, NULL, id);
  enum { PAD = 1000000 };
  char *state = malloc(PAD + 16);
  memcpy(state, "{\"pad\":\"", 8);
  memset(state + 8, 'x', PAD);
  strcpy(state + 8 + PAD, "\"}");
  assert_int_equal(al_state_set(h, id, state, NULL), 0);
  for (int round = 0; round < 3; round++) { /* the lane's counters wrap past its end */
    json_t *t = t_render(h, id, "main");
    const char *text = text_of(t);
    assert_non_null(text);
    assert_int_equal(strlen(text), strlen("1000000:") + 300000);
    assert_memory_equal(text, "1000000:yyy", 11);
    json_decref(t);
    state[8 + round] = 'z'; /* a new state each time: sent whole, not from the VM's cache */
    assert_int_equal(al_state_set(h, id, state, NULL), 0);
  }
  free(state);
  al_host_free(h);
}

static void test_thread_refuses_crash(void **st) {
  (void)st;
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_THREAD; /* an explicit choice: process is the default */
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "p", SRC, NULL, id);
  al_error e;
  assert_int_equal(al_debug(h, id, "crash", 0, &e), AL_EINVALID_ARGUMENT);
  al_host_free(h);
}

/* Safe by default (issue 16): a host configured with nothing but al_config_init runs
 * plugin code in sandboxed worker processes, where an engine crash costs a worker only. */
static void test_default_is_process(void **st) {
  (void)st;
  al_config cfg;
  al_config_init(&cfg);
  assert_int_equal(cfg.isolation, AL_ISOLATION_PROCESS);
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  char id[AL_INSTANCE_ID_MAX];
  t_load(h, "p", SRC, NULL, id);
  al_error e;
  assert_int_equal(al_debug(h, id, "crash", 0, &e), AL_ECRASHED);
  json_t *t = t_render(h, id, "main");
  assert_string_equal(text_of(t), "n=0 renders=1");
  json_decref(t);
  al_host_free(h);
}

/* Worker processes never mix trust (issue 16): instances of one package with the same
 * grants share a worker, another package gets a process of its own even with workers = 1,
 * so a crash (or a compromised worker) takes down only instances of the same identity. */
static void test_trust_apart(void **st) {
  (void)st;
  al_host *h = mk(1);
  char a1[AL_INSTANCE_ID_MAX], a2[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX], c[AL_INSTANCE_ID_MAX];
  t_load(h, "p", SRC, NULL, a1);
  t_load(h, "p", SRC, NULL, a2);
  t_load(h, "q", SRC, NULL, b);
  t_load(h, "p", SRC, "{\"readShared\":[],\"writeShared\":[],\"systemCommands\":[]}", c); /* other grants */
  const char *ids[] = {a1, a2, b, c};
  for (int i = 0; i < 4; i++) json_decref(t_render(h, ids[i], "main")); /* renders=1 each */
  assert_int_equal(t_worker_starts(h), 3); /* p, q, p with other grants */
  al_error e;
  assert_int_equal(al_debug(h, a1, "crash", 0, &e), AL_ECRASHED);
  /* a2 shared a1's process: its module state restarted; b and c never shared it */
  json_t *t = t_render(h, a2, "main");
  assert_string_equal(text_of(t), "n=0 renders=1");
  json_decref(t);
  t = t_render(h, b, "main");
  assert_string_equal(text_of(t), "n=0 renders=2");
  json_decref(t);
  t = t_render(h, c, "main");
  assert_string_equal(text_of(t), "n=0 renders=2");
  json_decref(t);
  al_host_free(h);
}

/* A process that hosted one identity is never handed to another: an idle one is replaced
 * by a fresh process first, and past max_workers a load is refused, not co-located. */
static void test_trust_recycle_and_cap(void **st) {
  (void)st;
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_PROCESS;
  cfg.workers = 1;
  cfg.max_workers = 2;
  cfg.watchdog_grace_ms = 2000;
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX], c[AL_INSTANCE_ID_MAX];
  t_load(h, "p", SRC, NULL, a);
  t_load(h, "q", SRC, NULL, b);
  json_decref(t_render(h, a, "main"));
  json_decref(t_render(h, b, "main"));
  assert_int_equal(t_worker_starts(h), 2);
  al_error e;
  assert_int_equal(al_load(h, "r", SRC, strlen(SRC), &(al_load_opts){.grants_json = "{}"}, c, sizeof c, &e),
                   AL_EBUSY);
  assert_non_null(strstr(e.message, "different trust never share"));
  assert_int_equal(al_unload(h, b, NULL), 0);
  t_load(h, "r", SRC, NULL, c); /* q's idle process is replaced, not reused */
  json_t *t = t_render(h, c, "main");
  assert_string_equal(text_of(t), "n=0 renders=1");
  json_decref(t);
  assert_int_equal(t_worker_starts(h), 3);
  t = t_render(h, a, "main"); /* untouched */
  assert_string_equal(text_of(t), "n=0 renders=2");
  json_decref(t);
  al_host_free(h);
}

/* Watchdog kills count toward setting an instance aside, as crashes do (issue 16): the
 * third in a minute sets it aside, and its neighbour keeps working with its state. */
static void test_timeouts_set_aside(void **st) {
  (void)st;
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_PROCESS;
  cfg.workers = 1;
  cfg.watchdog_grace_ms = 50;
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX];
  t_load(h, "p", SRC, NULL, a);
  t_load(h, "p", SRC, NULL, b);
  assert_int_equal(al_state_set(h, b, "{\"n\":5}", NULL), 0);
  al_error e;
  for (int i = 0; i < 3; i++) assert_int_equal(al_debug(h, a, "stall", 2000, &e), AL_ETIMEOUT);
  char *out = NULL;
  assert_int_equal(al_render(h, a, "main", &out, &e), AL_ECRASHED);
  assert_non_null(strstr(e.message, "watchdog kills"));
  json_t *t = t_render(h, b, "main");
  assert_non_null(strstr(text_of(t), "n=5"));
  json_decref(t);
  al_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basics),          cmocka_unit_test(test_crash_contained),
      cmocka_unit_test(test_repeat_offender), cmocka_unit_test(test_watchdog_kill),
      cmocka_unit_test(test_thousand_instances), cmocka_unit_test(test_thread_refuses_crash),
      cmocka_unit_test(test_default_is_process),
      cmocka_unit_test(test_pipelined_both_ways_full), cmocka_unit_test(test_frames_larger_than_lane),
      cmocka_unit_test(test_trust_apart),     cmocka_unit_test(test_trust_recycle_and_cap),
      cmocka_unit_test(test_timeouts_set_aside),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

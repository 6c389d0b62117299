/*
 * test_pool.c: the worker pool on its own: ordering per worker, parallel workers, bounded
 * queues, the watchdog and wedged-worker handling. The "stall" diagnostic op blocks a
 * worker in C without polling any deadline, like a builtin that never checks the
 * interrupt handler; no assertion depends on how fast the engine is.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "worker/exec.h"
#include "worker/pool.h"

static pool *mk(pool_kind kind, unsigned workers, unsigned qcap, uint32_t wedged_ms) {
  pool_config cfg = {.kind = kind, .workers = workers, .queue_capacity = qcap, .grace_ms = 5,
                     .wedged_ms = wedged_ms};
  pool *p = NULL;
  assert_int_equal(pool_new(&cfg, &p, NULL), 0);
  return p;
}

static int result(json_t *resp, const json_t **v) {
  int rc = wk_response_result(resp, v, NULL);
  return rc;
}

static json_t *load_req(const char *id, const char *code) {
  return json_pack("{s:s,s:s,s:s,s:{s:i}}", "op", "load", "instanceId", id, "code", code, "limits",
                   "renderMs", 1000);
}

static const char *SEQ =
    "let seen = [];"
    "definePlugin(({ ui }) => ({ widgets: { main: { render({ pluginState }) {"
    "  seen.push(pluginState.n); return ui.text(seen.join(',')); } } } }));";

static json_t *render_req(const char *id, int n) {
  return json_pack("{s:s,s:s,s:s,s:{s:i},s:{}}", "op", "render", "instanceId", id, "widgetId", "main",
                   "pluginState", "n", n, "globalState");
}

static void test_ordered_async(void **st) {
  (void)st;
  pool *p = mk(POOL_THREAD, 2, 64, 0);
  json_t *resp;
  assert_int_equal(pool_call(p, 0, load_req("a", SEQ), 1000, &resp, NULL), 0);
  assert_int_equal(result(resp, NULL), 0);
  json_decref(resp);
  uint64_t t[20];
  for (int i = 0; i < 20; i++) assert_int_equal(pool_submit(p, 0, render_req("a", i), 1000, true, &t[i], NULL), 0);
  int got = 0;
  const char *last = NULL;
  json_t *keep = NULL;
  while (got < 20) {
    pool_wait_any(p, -1);
    uint64_t tk;
    while (pool_next(p, &tk, &resp)) {
      assert_int_equal(tk, t[got]); /* one worker answers in submission order */
      got++;
      const json_t *v;
      assert_int_equal(result(resp, &v), 0);
      last = json_string_value(json_object_get(v, "text"));
      json_decref(keep);
      keep = resp;
    }
  }
  assert_string_equal(last, "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19");
  json_decref(keep);
  assert_true(pool_fd(p) >= 0);
  pool_free(p);
}

static void test_parallel_workers(void **st) {
  (void)st;
  pool *p = mk(POOL_THREAD, 2, 64, 0);
  /* worker 0 stalls; worker 1 still answers meanwhile */
  uint64_t t0;
  assert_int_equal(pool_submit(p, 0, json_pack("{s:s,s:i}", "op", "stall", "ms", 300), 1000, false, &t0, NULL), 0);
  json_t *resp;
  assert_int_equal(pool_call(p, 1, json_pack("{s:s}", "op", "health"), 1000, &resp, NULL), 0);
  assert_int_equal(result(resp, NULL), 0);
  json_decref(resp);
  resp = pool_wait(p, t0);
  assert_int_equal(result(resp, NULL), 0);
  json_decref(resp);
  /* assignment balances instances over workers */
  int a = -1, b = -1;
  assert_int_equal(pool_assign(p, "x", &a, NULL), 0);
  assert_int_equal(pool_assign(p, "y", &b, NULL), 0); /* threads: trust plays no part */
  assert_int_not_equal(a, b);
  pool_release(p, a);
  pool_release(p, b);
  pool_free(p);
}

static void test_busy(void **st) {
  (void)st;
  pool *p = mk(POOL_THREAD, 1, 2, 0);
  uint64_t t[2];
  /* capacity counts the running call too, so this is deterministic */
  assert_int_equal(pool_submit(p, 0, json_pack("{s:s,s:i}", "op", "stall", "ms", 100), 1000, false, &t[0], NULL), 0);
  assert_int_equal(pool_submit(p, 0, json_pack("{s:s}", "op", "health"), 1000, false, &t[1], NULL), 0);
  al_error e;
  assert_int_equal(pool_submit(p, 0, json_pack("{s:s}", "op", "health"), 1000, false, NULL, &e), AL_EBUSY);
  assert_int_equal(e.code, AL_EBUSY);
  assert_non_null(strstr(e.message, "queue is full"));
  for (int i = 0; i < 2; i++) {
    json_t *resp = pool_wait(p, t[i]);
    assert_int_equal(result(resp, NULL), 0);
    json_decref(resp);
  }
  /* drained: accepted again */
  json_t *resp;
  assert_int_equal(pool_call(p, 0, json_pack("{s:s}", "op", "health"), 1000, &resp, NULL), 0);
  json_decref(resp);
  pool_free(p);
}

static void test_watchdog(void **st) {
  (void)st;
  pool *p = mk(POOL_THREAD, 1, 8, 5000);
  json_t *resp;
  /* a call that overruns its timeout + grace is answered VM_TIMEOUT by the watchdog */
  assert_int_equal(pool_call(p, 0, json_pack("{s:s,s:i}", "op", "stall", "ms", 400), 20, &resp, NULL), 0);
  al_error e;
  assert_int_equal(wk_response_result(resp, NULL, &e), AL_ETIMEOUT);
  assert_non_null(strstr(e.message, "watchdog"));
  json_decref(resp);
  /* the next call waits for the stalled one, then runs normally; the late answer of the
   * stalled call was dropped, not delivered to anyone */
  assert_int_equal(pool_call(p, 0, json_pack("{s:s}", "op", "health"), 1000, &resp, NULL), 0);
  const json_t *v;
  assert_int_equal(result(resp, &v), 0);
  assert_true(json_is_true(json_object_get(v, "ready")));
  json_decref(resp);
  uint64_t tk;
  assert_false(pool_next(p, &tk, &resp));
  pool_free(p);
}

static void test_wedged(void **st) {
  (void)st;
  pool *p = mk(POOL_THREAD, 2, 8, 30);
  uint64_t t0, t1;
  assert_int_equal(pool_submit(p, 0, json_pack("{s:s,s:i}", "op", "stall", "ms", 600), 10, false, &t0, NULL), 0);
  assert_int_equal(pool_submit(p, 0, json_pack("{s:s}", "op", "health"), 10, false, &t1, NULL), 0);
  json_t *resp = pool_wait(p, t0);
  assert_int_equal(wk_response_result(resp, NULL, NULL), AL_ETIMEOUT);
  json_decref(resp);
  /* stuck long past its deadline: what waited behind it is failed, not left hanging */
  resp = pool_wait(p, t1);
  assert_int_equal(wk_response_result(resp, NULL, NULL), AL_ECRASHED);
  json_decref(resp);
  al_error e;
  assert_int_equal(pool_submit(p, 0, json_pack("{s:s}", "op", "health"), 10, false, NULL, &e), AL_ECRASHED);
  /* new instances avoid the wedged worker; the other one keeps serving */
  int w = -1;
  assert_int_equal(pool_assign(p, NULL, &w, NULL), 0);
  assert_int_equal(w, 1);
  assert_int_equal(pool_call(p, 1, json_pack("{s:s}", "op", "health"), 100, &resp, NULL), 0);
  assert_int_equal(result(resp, NULL), 0);
  json_decref(resp);
  pool_free(p); /* the stall ends within the second pool_free grants it: no leak */
}

static void test_inline(void **st) {
  (void)st;
  pool *p = mk(POOL_INLINE, 4, 0, 0);
  assert_int_equal(pool_workers(p), 1);
  assert_int_equal(pool_fd(p), -1);
  json_t *resp;
  assert_int_equal(pool_call(p, 0, load_req("x", SEQ), 1000, &resp, NULL), 0);
  json_decref(resp);
  assert_int_equal(pool_call(p, 0, render_req("x", 7), 1000, &resp, NULL), 0);
  const json_t *v;
  assert_int_equal(result(resp, &v), 0);
  assert_string_equal(json_string_value(json_object_get(v, "text")), "7");
  json_decref(resp);
  pool_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ordered_async), cmocka_unit_test(test_parallel_workers),
      cmocka_unit_test(test_busy),          cmocka_unit_test(test_watchdog),
      cmocka_unit_test(test_wedged),        cmocka_unit_test(test_inline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_events.c: the event registry (names, lookup, re-declaration, the agent profile) and
 * subscription snapshots (per-event lists in registration order, the bitmap, events the
 * registry does not know).
 */
#include "helpers.h"

#include "hooks/events.h"

static void test_registry(void **st) {
  (void)st;
  ev_registry *r = ev_registry_new();
  assert_non_null(r);
  assert_int_equal(ev_lookup(r, "PreToolUse"), -1);
  assert_int_equal(ev_agent_profile(r, NULL), 0);
  assert_int_equal(ev_count(r), 27);
  int e = ev_lookup(r, "PreToolUse");
  assert_int_equal(e, 0);
  const ev_def *d = ev_at(r, e);
  assert_int_equal(d->timeout_ms, EV_ACTIONABLE_MS);
  assert_true(d->flags & AL_HOOK_MAY_BLOCK);
  assert_true(tj_is(d->modifies, "{'modified_input':'tool_input'}"));
  assert_int_equal(ev_at(r, ev_lookup(r, "SessionEnd"))->timeout_ms, EV_INFO_MS);
  assert_int_equal(ev_at(r, ev_lookup(r, "PermissionRequest"))->timeout_ms, EV_PERMISSION_MS);
  assert_true(ev_at(r, ev_lookup(r, "PermissionRequest"))->flags & AL_HOOK_PERMISSION);
  assert_int_equal(ev_lookup(r, "pretooluse"), -1); /* names are exact */
  assert_int_equal(ev_lookup(r, NULL), -1);
  assert_null(ev_at(r, 27));

  al_error err;
  assert_int_equal(ev_register(r, "bad name", 100, 0, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "bad name"));
  assert_int_equal(ev_register(r, "", 100, 0, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(ev_register(r, "X", 0, 0, NULL, &err), AL_EINVALID_ARGUMENT);
  json_t *bad = tj("{'a':1}");
  assert_int_equal(ev_register(r, "X", 10, 0, bad, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "modifies.a"));
  json_decref(bad);
  /* re-declaring replaces in place: same index, new definition */
  assert_int_equal(ev_register(r, "TurnEnd", 1234, AL_HOOK_MAY_BLOCK, NULL, NULL), 0);
  assert_int_equal(ev_count(r), 27);
  assert_int_equal(ev_at(r, ev_lookup(r, "TurnEnd"))->timeout_ms, 1234);
  json_t *names = ev_names(r);
  assert_int_equal(json_array_size(names), 27);
  assert_string_equal(json_string_value(json_array_get(names, 0)), "PreToolUse");
  json_decref(names);
  ev_registry_free(r);
  ev_registry_free(NULL);
}

static void test_full_registry(void **st) {
  (void)st;
  ev_registry *r = ev_registry_new();
  char name[16];
  for (int i = 0; i < EV_MAX; i++) {
    snprintf(name, sizeof name, "E%d", i);
    assert_int_equal(ev_register(r, name, 10, 0, NULL, NULL), 0);
  }
  al_error err;
  assert_int_equal(ev_register(r, "one-more", 10, 0, NULL, &err), AL_EINVALID_ARGUMENT);
  for (int i = 0; i < EV_MAX; i++) {
    snprintf(name, sizeof name, "E%d", i);
    assert_int_equal(ev_lookup(r, name), i);
  }
  assert_int_equal(ev_lookup(r, "E256"), -1);
  ev_registry_free(r);
}

static void test_snapshot(void **st) {
  (void)st;
  ev_registry *r = ev_registry_new();
  assert_int_equal(ev_agent_profile(r, NULL), 0);
  json_t *ha = tj("{'PreToolUse':2,'Nope':1}"), *hb = tj("{}"),
         *hc = tj("{'PreToolUse':1,'Stop':1,'TurnEnd':0}");
  const ev_member inst[] = {{"a@1", "a", 0, ha}, {"b@1", "b", 1, hb}, {"c@1", "c", 1, hc}, {"d@1", "d", 1, NULL}};
  ev_snapshot *s = ev_snapshot_build(r, inst, 4);
  assert_non_null(s);
  int pre = ev_lookup(r, "PreToolUse"), stop = ev_lookup(r, "Stop"), turn = ev_lookup(r, "TurnEnd");
  assert_true(ev_subscribed(s, pre));
  assert_true(ev_subscribed(s, stop));
  assert_false(ev_subscribed(s, turn)); /* a count of 0 is no subscription */
  assert_false(ev_subscribed(s, -1));
  assert_false(ev_subscribed(NULL, pre));
  assert_int_equal(s->nsubs[pre], 2);
  assert_string_equal(s->subs[pre][0].instance_id, "a@1");
  assert_int_equal(s->subs[pre][0].handlers, 2);
  assert_string_equal(s->subs[pre][1].instance_id, "c@1");
  assert_string_equal(s->subs[pre][1].plugin_id, "c");
  assert_int_equal(s->subs[pre][1].worker, 1);
  assert_int_equal(s->nsubs[stop], 1);
  ev_snapshot_free(s);
  json_decref(ha);
  json_decref(hb);
  json_decref(hc);
  /* nobody loaded: an empty snapshot answers "no" everywhere */
  s = ev_snapshot_build(r, NULL, 0);
  assert_non_null(s);
  for (size_t i = 0; i < ev_count(r); i++) assert_false(ev_subscribed(s, (int)i));
  ev_snapshot_free(s);
  ev_registry_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registry),
      cmocka_unit_test(test_full_registry),
      cmocka_unit_test(test_snapshot),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

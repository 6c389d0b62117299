/*
 * test_emit.c: normalization of handler results and aggregation (hooks-and-security.md
 * sec. 3), on plain JSON.
 */
#include "helpers.h"

#include "hooks/emit.h"

static ev_registry *reg;

static const ev_def *ev(const char *name) { return ev_at(reg, ev_lookup(reg, name)); }

/* normalize(event, value text or NULL) == expected */
static bool norm_is(const char *event, const char *value, const char *expected) {
  json_t *v = value ? tj(value) : NULL;
  json_t *r = em_normalize(ev(event), v);
  bool ok = tj_is(r, expected);
  json_decref(v);
  json_decref(r);
  return ok;
}

static void test_normalize(void **st) {
  (void)st;
  assert_true(norm_is("PreToolUse", NULL, "{'action':'continue'}"));
  assert_true(norm_is("PreToolUse", "null", "{'action':'continue'}"));
  assert_true(norm_is("PreToolUse", "{}", "{'action':'continue'}"));
  assert_true(norm_is("PreToolUse", "{'block':'no'}", "{'action':'block','reason':'no'}"));
  assert_true(norm_is("PreToolUse", "{'block':true}", "{'action':'block'}"));
  assert_true(norm_is("PreToolUse", "{'block':false}", "{'action':'continue'}"));
  assert_true(norm_is("PreToolUse", "{'action':'block','output':'why'}", "{'action':'block','reason':'why'}"));
  assert_true(norm_is("PreToolUse", "{'action':'block','reason':'r','extra':1}",
                      "{'action':'block','reason':'r','output':{'extra':1}}"));
  assert_true(norm_is("PreToolUse", "{'modified_input':{'a':1}}",
                      "{'action':'continue','output':{'modified_input':{'a':1}}}"));
  assert_true(norm_is("PreToolUse", "'text'", "{'action':'continue','output':'text'}"));
  assert_true(norm_is("PreToolUse", "[1]", "{'action':'continue','output':[1]}"));
  /* what the event does not allow is kept as continue and said */
  assert_true(norm_is("TurnEnd", "{'block':'no'}",
                      "{'action':'continue','ignored':'block is not allowed for TurnEnd'}"));
  assert_true(norm_is("PreToolUse", "{'decision':'deny'}",
                      "{'action':'continue','ignored':'deny is not allowed for PreToolUse'}"));
  assert_true(norm_is("PermissionRequest", "{'decision':'deny','message':'m'}",
                      "{'action':'deny','reason':'m','output':{'message':'m'}}"));
  assert_true(norm_is("PermissionRequest", "{'decision':'ask'}", "{'action':'ask'}"));
  assert_true(norm_is("PermissionRequest", "{'decision':'maybe'}",
                      "{'action':'continue','output':{'decision':'maybe'}}"));
  json_t *e = em_error("VM_TIMEOUT: late");
  assert_true(tj_is(e, "{'action':'error','reason':'VM_TIMEOUT: late'}"));
  json_decref(e);
}

static json_t *agg(const char *event, const char *payload, const char *results) {
  json_t *p = payload ? tj(payload) : NULL, *r = tj(results);
  json_t *a = em_aggregate(ev(event), p, r);
  json_decref(p);
  json_decref(r);
  assert_non_null(a);
  return a;
}

static void test_aggregate(void **st) {
  (void)st;
  json_t *a = agg("PreToolUse", "{'tool_input':{'c':'x'}}", "[]");
  assert_true(tj_is(a, "{'event':'PreToolUse','action':'continue','payload':{'tool_input':{'c':'x'}},'results':[]}"));
  json_decref(a);
  /* the first block's reason; errors change nothing */
  a = agg("PreToolUse", NULL,
          "[{'action':'error','reason':'boom'},{'action':'continue'},{'action':'block','reason':'one'},"
          "{'action':'block','reason':'two'}]");
  assert_string_equal(tj_str(a, "action"), "block");
  assert_string_equal(tj_str(a, "reason"), "one");
  assert_int_equal(json_array_size(json_object_get(a, "results")), 4);
  json_decref(a);
  a = agg("PreToolUse", NULL, "[{'action':'error','reason':'boom'}]");
  assert_string_equal(tj_str(a, "action"), "continue");
  json_decref(a);
  /* deny beats ask beats allow, whatever the order */
  a = agg("PermissionRequest", "{}",
          "[{'action':'allow'},{'action':'ask','reason':'a'},{'action':'deny','reason':'d'},{'action':'allow'}]");
  assert_string_equal(tj_str(a, "action"), "deny");
  assert_string_equal(tj_str(a, "reason"), "d");
  json_decref(a);
  a = agg("PermissionRequest", "{}", "[{'action':'allow','reason':'fine'},{'action':'ask','reason':'hm'}]");
  assert_string_equal(tj_str(a, "action"), "ask");
  json_decref(a);
  a = agg("PermissionRequest", "{}", "[{'action':'allow','reason':'fine'},{'action':'continue'}]");
  assert_string_equal(tj_str(a, "action"), "allow");
  json_decref(a);
  /* modifications in registration order: the later one wins; unrelated fields are left */
  a = agg("PreToolUse", "{'tool_input':{'c':'x'},'tool_name':'bash'}",
          "[{'action':'continue','output':{'modified_input':{'c':'y'}}},"
          " {'action':'continue','output':{'modified_input':{'c':'z'},'note':1}}]");
  assert_true(tj_is(json_object_get(a, "payload"), "{'tool_input':{'c':'z'},'tool_name':'bash'}"));
  json_decref(a);
  /* events that may not modify ignore such output */
  a = agg("TurnEnd", "{'x':1}", "[{'action':'continue','output':{'x':2}}]");
  assert_true(tj_is(json_object_get(a, "payload"), "{'x':1}"));
  json_decref(a);
  /* "+name" fields are appended into the aggregate */
  a = agg("AgentStart", "{}",
          "[{'action':'continue','output':{'additional_system_prompt':['a','b']}},"
          " {'action':'error','output':{'additional_system_prompt':'lost'}},"
          " {'action':'continue','output':{'additional_system_prompt':'c'}}]");
  assert_true(tj_is(json_object_get(a, "additional_system_prompt"), "['a','b','c']"));
  json_decref(a);
}

int main(void) {
  reg = ev_registry_new();
  if (!reg || ev_agent_profile(reg, NULL)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normalize),
      cmocka_unit_test(test_aggregate),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ev_registry_free(reg);
  return rc;
}

/*
 * test_store.c: the host store of spec section 5 with the workbench profile: package
 * reducers, plugin-declared reducers (through the callback), the generic reducer, shared
 * domains and their grants, projections (derived ones from the store's view),
 * globalState, trace and timeline (whole and after a cursor), dispatch stamping, change
 * sets and the instance registry. The profile's own functions (workbench/wb_impl.h) are
 * registered on the bare store here, as the host's adapters register them through the
 * public API, so its logic is tested without a host.
 */
#include "helpers.h"

#include "store/ids.h"
#include "store/store.h"
#include "wb_impl.h"

/* ---- fixture and helpers ---------------------------------------------------------------- */

/* What wb_profile_register() registers, straight on a store. */
static int store_workbench(store *s, al_error *err) {
  static const store_domain_ops summary = {.reduce = wb_summary_reduce,
                                           .project = wb_summary_project,
                                           .on_unload = wb_summary_unload};
  static const store_domain_ops greeter = {.reduce = wb_greeter_profile_reduce,
                                           .on_unload = wb_greeter_profile_unload};
  static const store_domain_ops registry = {.project = wb_registry_project,
                                            .derive = AL_DOMAIN_DERIVE_INSTANCES};
  static const store_domain_ops metrics = {
      .project = wb_metrics_project, .derive = AL_DOMAIN_DERIVE_INSTANCES | AL_DOMAIN_DERIVE_TRACE};
  int rc;
  if ((rc = store_register_reducer(s, "counter", wb_counter_reduce, NULL, NULL, err)) ||
      (rc = store_register_reducer(s, "calculator", wb_calculator_reduce, NULL, NULL, err)) ||
      (rc = store_register_reducer(s, "greeter", wb_greeter_reduce, NULL, NULL, err)) ||
      (rc = store_register_domain(s, "counter-summary", json_loads(WB_SUMMARY_INITIAL, 0, NULL),
                                  &summary, NULL, err)) ||
      (rc = store_register_domain(s, "greeter-profile", json_loads(WB_GREETER_INITIAL, 0, NULL),
                                  &greeter, NULL, err)) ||
      (rc = store_register_domain(s, "runtime-registry", NULL, &registry, NULL, err)) ||
      (rc = store_register_domain(s, "runtime-metrics", NULL, &metrics, NULL, err)))
    return rc;
  for (unsigned i = 0; i < wb_manifest_count; i++) {
    json_t *m = json_loads(wb_manifests[i], 0, NULL), *sh = json_object_get(m, "shared");
    json_t *g = json_pack("{s:O,s:O}", "readShared", json_object_get(sh, "read"), "writeShared",
                          json_object_get(sh, "write"));
    rc = g ? store_set_manifest_grants(s, json_string_value(json_object_get(m, "id")), g) : -1;
    json_decref(m);
    if (rc) return rc;
  }
  return 0;
}

static int setup(void **state) {
  store *s = store_new(200);
  if (!s) return -1;
  al_error err;
  if (store_workbench(s, &err)) {
    store_free(s);
    return -1;
  }
  *state = s;
  return 0;
}

static int teardown(void **state) {
  store_free(*state);
  return 0;
}

/* Adds an instance with the manifest grants of its package (grants_json NULL) or the given
 * ones. meta_json uses ' for ". Fails the test on error. */
static store_instance *add_g(store *s, const char *id, const char *pkg, const char *meta_json,
                             const char *grants_json) {
  json_t *meta = tj(meta_json);
  json_t *grants = grants_json ? tj(grants_json) : store_default_grants(s, pkg);
  store_instance *inst = NULL;
  al_error err;
  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);
  int rc = store_add(s, id, pkg, meta, grants, &inst, &ch, &err);
  if (rc) print_error("store_add %s: %s\n", id, err.message);
  assert_int_equal(rc, 0);
  assert_non_null(inst);
  assert_non_null(json_object_get(ch.instances, id));
  store_changes_clear(&ch);
  json_decref(meta);
  json_decref(grants);
  return inst;
}

static store_instance *add(store *s, const char *id, const char *pkg, const char *meta_json) {
  return add_g(s, id, pkg, meta_json, NULL);
}

/* Applies intents (' for ") with the callback; returns the actions. `ch` may be NULL. */
static json_t *apply_cb(store *s, store_instance *inst, const char *intents_json,
                        store_plugin_reduce_fn fn, void *user, store_changes *ch) {
  json_t *intents = tj(intents_json);
  json_t *actions = NULL;
  al_error err;
  int rc = store_apply(s, inst, intents, "vm", fn, user, &actions, ch, &err);
  if (rc) print_error("store_apply: %s\n", err.message);
  assert_int_equal(rc, 0);
  assert_non_null(actions);
  assert_int_equal(json_array_size(actions), json_array_size(intents));
  json_decref(intents);
  return actions;
}

static json_t *apply(store *s, store_instance *inst, const char *intents_json) {
  return apply_cb(s, inst, intents_json, NULL, NULL, NULL);
}

/* One plugin intent; returns the single action. */
static json_t *act(store *s, store_instance *inst, const char *action, const char *payload_json) {
  char buf[512];
  if (payload_json)
    snprintf(buf, sizeof buf, "[{'scope':'plugin','actionType':'%s','payload':%s}]", action,
             payload_json);
  else
    snprintf(buf, sizeof buf, "[{'scope':'plugin','actionType':'%s'}]", action);
  json_t *actions = apply(s, inst, buf);
  json_t *a = json_incref(json_array_get(actions, 0));
  json_decref(actions);
  return a;
}

/* One shared intent; returns the single action. */
static json_t *shared_act(store *s, store_instance *inst, const char *domain, const char *action,
                          const char *payload_json, store_changes *ch) {
  char buf[512];
  snprintf(buf, sizeof buf, "[{'scope':'shared','domain':'%s','actionType':'%s','payload':%s}]",
           domain, action, payload_json ? payload_json : "null");
  json_t *actions = apply_cb(s, inst, buf, NULL, NULL, ch);
  json_t *a = json_incref(json_array_get(actions, 0));
  json_decref(actions);
  return a;
}

/* outcome and reason (NULL: json null) of an action */
static bool outcome_is(const json_t *a, const char *outcome, const char *reason) {
  const char *o = tj_str(a, "outcome");
  const json_t *r = json_object_get(a, "reason");
  bool ok = o && strcmp(o, outcome) == 0 &&
            (reason ? json_is_string(r) && strcmp(json_string_value(r), reason) == 0
                    : json_is_null(r));
  if (!ok) {
    char *t = tj_text(a);
    print_error("expected outcome %s reason %s, got %s\n", outcome, reason ? reason : "null", t);
    free(t);
  }
  return ok;
}

static bool state_is(const store_instance *inst, const char *expected) {
  json_t *st = store_plugin_state(inst);
  bool ok = tj_is(st, expected);
  json_decref(st);
  return ok;
}

static bool projection_is(const store *s, const char *domain, const char *expected) {
  json_t *p = NULL;
  al_error err;
  int rc = store_projection(s, domain, &p, &err);
  if (rc) {
    print_error("projection %s: %s\n", domain, err.message);
    return false;
  }
  bool ok = tj_is(p, expected);
  json_decref(p);
  return ok;
}

static const char *const counter_meta =
    "{'title':'Counter','widgets':['main'],'initialState':{'value':0}}";

/* ---- package reducers -------------------------------------------------------------------- */

static void test_counter_reducer(void **state) {
  store *s = *state;
  store_instance *c = add(s, "counter@AAAAAAAA", "counter", counter_meta);
  assert_true(state_is(c, "{'value':0}"));
  json_t *a = act(s, c, "increment", NULL);
  assert_true(outcome_is(a, "applied", NULL));
  json_decref(a);
  json_decref(apply(s, c, "[{'scope':'plugin','actionType':'increment'},"
                          "{'scope':'plugin','actionType':'increment'}]"));
  assert_true(state_is(c, "{'value':3}"));
  json_decref(act(s, c, "decrement", "{'ignored':1}"));
  assert_true(state_is(c, "{'value':2}"));
  json_decref(act(s, c, "reset", NULL));
  assert_true(state_is(c, "{'value':0}"));
  json_decref(act(s, c, "decrement", NULL));
  assert_true(state_is(c, "{'value':-1}"));

  /* other fields of the state are kept */
  store_instance *c2 =
      add(s, "counter@BBBBBBBB", "counter",
          "{'title':'C','widgets':['main'],'initialState':{'value':5,'label':'x'}}");
  json_decref(act(s, c2, "increment", NULL));
  assert_true(state_is(c2, "{'value':6,'label':'x'}"));

  /* no initial state: value starts from 0 */
  store_instance *c3 = add(s, "counter@CCCCCCCC", "counter", "{'title':'C','widgets':['main']}");
  assert_null(c3->state);
  assert_true(state_is(c3, "{}"));
  json_decref(act(s, c3, "increment", NULL));
  assert_true(state_is(c3, "{'value':1}"));
  /* an action the package reducer does not know falls through */
  a = act(s, c3, "explode", NULL);
  assert_true(outcome_is(a, "ignored", "no-local-reducer-match"));
  json_decref(a);
  assert_true(state_is(c3, "{'value':1}"));
}

static void test_calculator_reducer(void **state) {
  store *s = *state;
  store_instance *k = add(s, "calculator@AAAAAAAA", "calculator",
                          "{'title':'Calc','widgets':['main'],"
                          "'initialState':{'display':'0','accumulator':null,'operation':null}}");
  json_t *actions = apply(s, k,
                          "[{'scope':'plugin','actionType':'digit','payload':'1'},"
                          "{'scope':'plugin','actionType':'digit','payload':{'digit':'2'}},"
                          "{'scope':'plugin','actionType':'operation','payload':'+'}]");
  for (size_t i = 0; i < 3; i++) assert_true(outcome_is(json_array_get(actions, i), "applied", NULL));
  json_decref(actions);
  assert_true(state_is(k, "{'display':'0','accumulator':12,'operation':'+'}"));
  json_decref(act(s, k, "digit", "3"));
  assert_true(state_is(k, "{'display':'3','accumulator':12,'operation':'+'}"));
  json_decref(act(s, k, "equals", NULL));
  assert_true(state_is(k, "{'display':'15','accumulator':null,'operation':null}"));

  /* chained operations and non-integer results */
  json_decref(act(s, k, "clear", NULL));
  assert_true(state_is(k, "{'display':'0','accumulator':null,'operation':null}"));
  json_decref(apply(s, k,
                    "[{'scope':'plugin','actionType':'digit','payload':'7'},"
                    "{'scope':'plugin','actionType':'operation','payload':{'operation':'/'}},"
                    "{'scope':'plugin','actionType':'digit','payload':'2'},"
                    "{'scope':'plugin','actionType':'equals'}]"));
  assert_true(state_is(k, "{'display':'3.5','accumulator':null,'operation':null}"));
  json_decref(apply(s, k,
                    "[{'scope':'plugin','actionType':'clear'},"
                    "{'scope':'plugin','actionType':'digit','payload':'4'},"
                    "{'scope':'plugin','actionType':'operation','payload':'*'},"
                    "{'scope':'plugin','actionType':'digit','payload':'5'},"
                    "{'scope':'plugin','actionType':'operation','payload':'-'},"
                    "{'scope':'plugin','actionType':'digit','payload':'3'},"
                    "{'scope':'plugin','actionType':'equals'}]"));
  assert_true(state_is(k, "{'display':'17','accumulator':null,'operation':null}"));

  /* division by zero */
  json_decref(apply(s, k,
                    "[{'scope':'plugin','actionType':'clear'},"
                    "{'scope':'plugin','actionType':'digit','payload':'8'},"
                    "{'scope':'plugin','actionType':'operation','payload':'/'},"
                    "{'scope':'plugin','actionType':'digit','payload':'0'},"
                    "{'scope':'plugin','actionType':'equals'}]"));
  /* the original shows String(result) (issue 15): Infinity, not "Error" */
  assert_true(state_is(k, "{'display':'Infinity','accumulator':null,'operation':null}"));
  json_decref(apply(s, k,
                    "[{'scope':'plugin','actionType':'clear'},"
                    "{'scope':'plugin','actionType':'digit','payload':'.'},"
                    "{'scope':'plugin','actionType':'digit','payload':'1'},"
                    "{'scope':'plugin','actionType':'operation','payload':'+'},"
                    "{'scope':'plugin','actionType':'digit','payload':'.'},"
                    "{'scope':'plugin','actionType':'digit','payload':'2'},"
                    "{'scope':'plugin','actionType':'equals'}]"));
  assert_string_equal(tj_str(k->state, "display"), "0.30000000000000004");

  /* decimal point: once only */
  json_decref(apply(s, k,
                    "[{'scope':'plugin','actionType':'clear'},"
                    "{'scope':'plugin','actionType':'digit','payload':'.'},"
                    "{'scope':'plugin','actionType':'digit','payload':'5'},"
                    "{'scope':'plugin','actionType':'digit','payload':'.'}]"));
  assert_string_equal(tj_str(k->state, "display"), "0.5");
  /* equals without a pending operation changes nothing */
  json_decref(act(s, k, "equals", NULL));
  assert_string_equal(tj_str(k->state, "display"), "0.5");
  json_t *a = act(s, k, "sqrt", NULL);
  assert_true(outcome_is(a, "ignored", "no-local-reducer-match"));
  json_decref(a);
}

/* wb_string is JavaScript's String(number): shortest round-trip digits, JS's
 * placement of the decimal point and exponent. */
static void test_js_number_text(void **state) {
  (void)state;
  static const struct { double d; const char *want; } cases[] = {
      {0.1 + 0.2, "0.30000000000000004"}, {3.5, "3.5"}, {1e21, "1e+21"},
      {123456789012345680000.0, "123456789012345680000"}, {1e-6, "0.000001"},
      {1e-7, "1e-7"}, {-0.000123, "-0.000123"}, {1.5e-10, "1.5e-10"}, {1.0 / 3, "0.3333333333333333"},
      {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
      {100.25, "100.25"}, {-0.0, "0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *v = json_real(cases[i].d);
    char *got = wb_string(v);
    assert_string_equal(got, cases[i].want);
    free(got);
    json_decref(v);
  }
}

static void test_greeter_reducer(void **state) {
  store *s = *state;
  store_instance *g =
      add(s, "greeter@AAAAAAAA", "greeter", "{'title':'G','widgets':['main'],'initialState':{'name':''}}");
  json_t *a = act(s, g, "nameChanged", "{'name':'Ada'}");
  assert_true(outcome_is(a, "applied", NULL));
  json_decref(a);
  assert_true(state_is(g, "{'name':'Ada'}"));
  json_decref(act(s, g, "nameChanged", "'Bob'"));
  assert_true(state_is(g, "{'name':'Bob'}"));
  json_decref(act(s, g, "nameChanged", "{'value':'Cy'}"));
  assert_true(state_is(g, "{'name':'Cy'}"));
  json_decref(act(s, g, "nameChanged", NULL));
  assert_true(state_is(g, "{'name':''}"));
  a = act(s, g, "rename", "'x'");
  assert_true(outcome_is(a, "ignored", "no-local-reducer-match"));
  json_decref(a);
}

/* ---- generic reducer and rule 4 ---------------------------------------------------------- */

static void test_generic_reducer(void **state) {
  store *s = *state;
  store_instance *p = add(s, "custom@AAAAAAAA", "custom", "{'title':'P','widgets':['main']}");
  assert_null(p->state);
  json_t *a = act(s, p, "state/replace", "{'a':1,'b':[1,2]}");
  assert_true(outcome_is(a, "applied", NULL));
  json_decref(a);
  assert_true(state_is(p, "{'a':1,'b':[1,2]}"));
  json_decref(act(s, p, "state/merge", "{'b':2,'c':{'d':1}}"));
  assert_true(state_is(p, "{'a':1,'b':2,'c':{'d':1}}"));
  /* shallow: the nested object is replaced, not merged */
  json_decref(act(s, p, "state/merge", "{'c':{'e':2}}"));
  assert_true(state_is(p, "{'a':1,'b':2,'c':{'e':2}}"));
  json_decref(act(s, p, "state/replace", "null"));
  assert_true(state_is(p, "{}"));
  json_decref(act(s, p, "state/replace", "[1,2]"));
  assert_true(state_is(p, "[1,2]"));
  json_decref(act(s, p, "state/replace", NULL)); /* absent payload */
  assert_true(state_is(p, "{}"));
  json_decref(act(s, p, "state/replace", "7"));
  assert_true(state_is(p, "7"));
  /* merging into a non-object state starts from {} */
  json_decref(act(s, p, "state/merge", "{'x':1}"));
  assert_true(state_is(p, "{'x':1}"));
  /* a non-object payload is not merged */
  a = act(s, p, "state/merge", "[1]");
  assert_string_equal(tj_str(a, "outcome"), "ignored");
  assert_true(json_is_string(json_object_get(a, "reason")));
  json_decref(a);
  assert_true(state_is(p, "{'x':1}"));

  /* the generic reducer also serves packages with a package reducer */
  store_instance *c = add(s, "counter@AAAAAAAA", "counter", counter_meta);
  json_decref(act(s, c, "state/replace", "{'value':41}"));
  json_decref(act(s, c, "increment", NULL));
  assert_true(state_is(c, "{'value':42}"));
}

static void test_no_local_reducer_match(void **state) {
  store *s = *state;
  store_instance *p = add(s, "custom@AAAAAAAA", "custom", "{'title':'P','widgets':['main']}");
  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);
  json_t *actions = apply_cb(s, p,
                             "[{'scope':'plugin','actionType':'whatever','payload':{'a':1}},"
                             "{'scope':'plugin','actionType':'increment'}]",
                             NULL, NULL, &ch);
  assert_true(outcome_is(json_array_get(actions, 0), "ignored", "no-local-reducer-match"));
  assert_true(outcome_is(json_array_get(actions, 1), "ignored", "no-local-reducer-match"));
  json_decref(actions);
  assert_null(p->state);
  assert_int_equal(json_object_size(ch.instances), 0);
  store_changes_clear(&ch);
}

/* ---- plugin-declared reducers (the callback) ---------------------------------------------- */

typedef struct fake_vm {
  int calls;
  store_instance *last_inst;
  char last_action[64];
  char *last_state;
  char *last_payload;
} fake_vm;

/* Declares "double" (value * 2), "state/replace" (overrides the generic one: stores
 * {"replaced": payload}) and "boom" (throws). */
static int fake_reduce(void *user, store_instance *inst, const char *action, const json_t *st,
                       const json_t *payload, json_t **next, bool *handled, al_error *err) {
  fake_vm *f = user;
  f->calls++;
  f->last_inst = inst;
  snprintf(f->last_action, sizeof f->last_action, "%s", action);
  free(f->last_state);
  free(f->last_payload);
  f->last_state = tj_text(st);
  f->last_payload = tj_text(payload);
  *handled = false;
  if (strcmp(action, "double") == 0) {
    *next = json_pack("{s:I}", "value", json_integer_value(json_object_get(st, "value")) * 2);
    *handled = true;
    return 0;
  }
  if (strcmp(action, "state/replace") == 0) {
    *next = json_pack("{s:O}", "replaced", payload);
    *handled = true;
    return 0;
  }
  if (strcmp(action, "boom") == 0)
    return err_set(err, AL_EPLUGIN, NULL, "Error: boom");
  return 0;
}

static void test_plugin_declared_reducer(void **state) {
  store *s = *state;
  fake_vm f = {0};
  store_instance *c = add(s, "counter@AAAAAAAA", "counter", counter_meta);
  store_instance *p = add(s, "custom@AAAAAAAA", "custom", "{'title':'P','widgets':['main']}");

  /* the package reducer comes first: the plugin's reducers are not consulted */
  json_t *actions = apply_cb(s, c, "[{'scope':'plugin','actionType':'increment'}]", fake_reduce, &f, NULL);
  assert_true(outcome_is(json_array_get(actions, 0), "applied", NULL));
  json_decref(actions);
  assert_int_equal(f.calls, 0);
  assert_true(state_is(c, "{'value':1}"));

  /* an action the package reducer does not handle reaches the plugin's reducer */
  actions = apply_cb(s, c, "[{'scope':'plugin','actionType':'double','payload':{'by':2}}]",
                     fake_reduce, &f, NULL);
  assert_true(outcome_is(json_array_get(actions, 0), "applied", NULL));
  json_decref(actions);
  assert_int_equal(f.calls, 1);
  assert_ptr_equal(f.last_inst, c);
  assert_string_equal(f.last_action, "double");
  assert_string_equal(f.last_state, "{\"value\":1}");
  assert_string_equal(f.last_payload, "{\"by\":2}");
  assert_true(state_is(c, "{'value':2}"));

  /* instances without state pass {} and an absent payload is null */
  actions = apply_cb(s, p, "[{'scope':'plugin','actionType':'unknown'}]", fake_reduce, &f, NULL);
  assert_true(outcome_is(json_array_get(actions, 0), "ignored", "no-local-reducer-match"));
  json_decref(actions);
  assert_int_equal(f.calls, 2);
  assert_string_equal(f.last_state, "{}");
  assert_string_equal(f.last_payload, "null");
  assert_null(p->state);

  /* the plugin's reducers come before the generic ones */
  actions = apply_cb(s, p, "[{'scope':'plugin','actionType':'state/replace','payload':5}]",
                     fake_reduce, &f, NULL);
  assert_true(outcome_is(json_array_get(actions, 0), "applied", NULL));
  json_decref(actions);
  assert_true(state_is(p, "{'replaced':5}"));
  /* state/merge is not declared: the generic reducer handles it after the callback */
  actions = apply_cb(s, p, "[{'scope':'plugin','actionType':'state/merge','payload':{'m':1}}]",
                     fake_reduce, &f, NULL);
  assert_true(outcome_is(json_array_get(actions, 0), "applied", NULL));
  json_decref(actions);
  assert_int_equal(f.calls, 4);
  assert_true(state_is(p, "{'replaced':5,'m':1}"));

  /* a reducer that throws: ignored, state untouched, later intents still applied */
  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);
  actions = apply_cb(s, c,
                     "[{'scope':'plugin','actionType':'boom'},"
                     "{'scope':'plugin','actionType':'increment'}]",
                     fake_reduce, &f, &ch);
  json_t *a = json_array_get(actions, 0);
  assert_string_equal(tj_str(a, "outcome"), "ignored");
  const char *reason = tj_str(a, "reason");
  assert_non_null(reason);
  assert_non_null(strstr(reason, "boom"));
  assert_true(outcome_is(json_array_get(actions, 1), "applied", NULL));
  json_decref(actions);
  assert_true(state_is(c, "{'value':3}"));
  store_changes_clear(&ch);

  free(f.last_state);
  free(f.last_payload);
}

/* ---- shared scope -------------------------------------------------------------------------- */

static void test_shared_denied_and_ignored(void **state) {
  store *s = *state;
  store_instance *p = add(s, "custom@AAAAAAAA", "custom", "{'title':'P','widgets':['main']}");
  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);

  /* custom code has no grants */
  json_t *a = shared_act(s, p, "counter-summary", "set-instance", "{'value':5}", &ch);
  assert_true(outcome_is(a, "denied", "missing-write-grant:counter-summary"));
  assert_string_equal(tj_str(a, "domain"), "counter-summary");
  assert_string_equal(tj_str(a, "scope"), "shared");
  json_decref(a);
  assert_true(projection_is(s, "counter-summary",
                            "{'totalValue':0,'instanceCount':0,'lastUpdatedInstanceId':null}"));
  assert_null(json_object_get(ch.domains, "counter-summary"));
  assert_null(json_object_get(ch.instances, p->id));

  /* without a grant even an unknown domain is denied */
  a = shared_act(s, p, "nope", "x", NULL, NULL);
  assert_true(outcome_is(a, "denied", "missing-write-grant:nope"));
  json_decref(a);

  /* read grants do not allow writes */
  store_instance *d = add(s, "status-dashboard@AAAAAAAA", "status-dashboard",
                          "{'title':'D','widgets':['main']}");
  a = shared_act(s, d, "counter-summary", "set-instance", "{'value':5}", NULL);
  assert_true(outcome_is(a, "denied", "missing-write-grant:counter-summary"));
  json_decref(a);

  store_instance *w = add_g(s, "custom@BBBBBBBB", "custom", "{'title':'W','widgets':['main']}",
                            "{'writeShared':['nope','runtime-registry','runtime-metrics',"
                            "'counter-summary']}");
  a = shared_act(s, w, "nope", "x", NULL, NULL);
  assert_true(outcome_is(a, "ignored", "unknown-domain:nope"));
  json_decref(a);
  a = shared_act(s, w, "runtime-registry", "set", "{}", NULL);
  assert_true(outcome_is(a, "ignored", "unsupported-domain:runtime-registry"));
  json_decref(a);
  a = shared_act(s, w, "runtime-metrics", "set", "{}", NULL);
  assert_true(outcome_is(a, "ignored", "unsupported-domain:runtime-metrics"));
  json_decref(a);
  a = shared_act(s, w, "counter-summary", "add", "{'value':1}", NULL);
  assert_true(outcome_is(a, "ignored", "unsupported-action:counter-summary/add"));
  json_decref(a);

  /* a denied or ignored intent does not stop the next one */
  json_t *actions = apply_cb(s, w,
                             "[{'scope':'shared','domain':'greeter-profile','actionType':'set-name','payload':'x'},"
                             "{'scope':'shared','domain':'nope','actionType':'x'},"
                             "{'scope':'shared','domain':'counter-summary','actionType':'set-instance','payload':{'value':4}},"
                             "{'scope':'plugin','actionType':'state/replace','payload':{'ok':true}}]",
                             NULL, NULL, NULL);
  assert_true(outcome_is(json_array_get(actions, 0), "denied", "missing-write-grant:greeter-profile"));
  assert_true(outcome_is(json_array_get(actions, 1), "ignored", "unknown-domain:nope"));
  assert_true(outcome_is(json_array_get(actions, 2), "applied", NULL));
  assert_true(outcome_is(json_array_get(actions, 3), "applied", NULL));
  json_decref(actions);
  assert_true(projection_is(s, "counter-summary",
                            "{'totalValue':4,'instanceCount':1,'lastUpdatedInstanceId':'custom@BBBBBBBB'}"));
  assert_true(projection_is(s, "greeter-profile", "{'name':'','lastUpdatedInstanceId':null}"));
  assert_true(state_is(w, "{'ok':true}"));
  store_changes_clear(&ch);
}

static void test_counter_summary(void **state) {
  store *s = *state;
  store_instance *c1 = add(s, "counter@11111111", "counter", counter_meta);
  store_instance *c2 = add(s, "counter@22222222", "counter", counter_meta);
  assert_true(projection_is(s, "counter-summary",
                            "{'totalValue':0,'instanceCount':0,'lastUpdatedInstanceId':null}"));
  json_t *a = shared_act(s, c1, "counter-summary", "set-instance", "{'value':3}", NULL);
  assert_true(outcome_is(a, "applied", NULL));
  json_decref(a);
  json_decref(shared_act(s, c2, "counter-summary", "set-instance", "{'value':4}", NULL));
  assert_true(projection_is(s, "counter-summary",
                            "{'totalValue':7,'instanceCount':2,'lastUpdatedInstanceId':'counter@22222222'}"));
  /* a writer's value is replaced, not added */
  json_decref(shared_act(s, c1, "counter-summary", "set-instance", "{'value':10}", NULL));
  assert_true(projection_is(s, "counter-summary",
                            "{'totalValue':14,'instanceCount':2,'lastUpdatedInstanceId':'counter@11111111'}"));
  /* Number(value ?? 0) */
  json_decref(shared_act(s, c2, "counter-summary", "set-instance", "{}", NULL));
  assert_true(projection_is(s, "counter-summary",
                            "{'totalValue':10,'instanceCount':2,'lastUpdatedInstanceId':'counter@22222222'}"));
  json_decref(shared_act(s, c2, "counter-summary", "set-instance", "{'value':'2.5'}", NULL));
  assert_true(projection_is(s, "counter-summary",
                            "{'totalValue':12.5,'instanceCount':2,'lastUpdatedInstanceId':'counter@22222222'}"));
  /* the same projection is what the counter sees in globalState */
  json_t *gs = store_global_state(s, c1);
  assert_true(tj_is(json_object_get(json_object_get(gs, "shared"), "counter-summary"),
                    "{'totalValue':12.5,'instanceCount':2,'lastUpdatedInstanceId':'counter@22222222'}"));
  json_decref(gs);

  /* unloading removes the instance's value */
  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);
  al_error err;
  assert_int_equal(store_remove(s, "counter@22222222", &ch, &err), 0);
  assert_non_null(json_object_get(ch.domains, "counter-summary"));
  assert_true(projection_is(s, "counter-summary",
                            "{'totalValue':10,'instanceCount':1,'lastUpdatedInstanceId':null}"));
  store_changes_clear(&ch);
  assert_int_equal(store_changes_init(&ch), 0);
  assert_int_equal(store_remove(s, "counter@11111111", &ch, &err), 0);
  assert_true(projection_is(s, "counter-summary",
                            "{'totalValue':0,'instanceCount':0,'lastUpdatedInstanceId':null}"));
  store_changes_clear(&ch);

  /* an instance that never wrote leaves the domain unchanged when it goes */
  store_instance *c3 = add(s, "counter@33333333", "counter", counter_meta);
  json_decref(shared_act(s, c3, "counter-summary", "set-instance", "{'value':1}", NULL));
  add(s, "counter@44444444", "counter", counter_meta);
  assert_int_equal(store_changes_init(&ch), 0);
  assert_int_equal(store_remove(s, "counter@44444444", &ch, &err), 0);
  assert_null(json_object_get(ch.domains, "counter-summary"));
  store_changes_clear(&ch);
  assert_true(projection_is(s, "counter-summary",
                            "{'totalValue':1,'instanceCount':1,'lastUpdatedInstanceId':'counter@33333333'}"));
}

static void test_greeter_profile(void **state) {
  store *s = *state;
  store_instance *g = add(s, "greeter@AAAAAAAA", "greeter", "{'title':'G','widgets':['main']}");
  store_instance *r = add(s, "greeter-shared-state@AAAAAAAA", "greeter-shared-state",
                          "{'title':'R','widgets':['main']}");
  assert_true(projection_is(s, "greeter-profile", "{'name':'','lastUpdatedInstanceId':null}"));
  json_t *a = shared_act(s, g, "greeter-profile", "set-name", "'Ada'", NULL);
  assert_true(outcome_is(a, "applied", NULL));
  json_decref(a);
  assert_true(projection_is(s, "greeter-profile",
                            "{'name':'Ada','lastUpdatedInstanceId':'greeter@AAAAAAAA'}"));
  json_t *gs = store_global_state(s, r);
  assert_true(tj_is(gs, "{'self':{'instanceId':'greeter-shared-state@AAAAAAAA',"
                        "'packageId':'greeter-shared-state'},"
                        "'shared':{'greeter-profile':{'name':'Ada','lastUpdatedInstanceId':'greeter@AAAAAAAA'}}}"));
  json_decref(gs);
  /* String(payload ?? "") */
  json_decref(shared_act(s, g, "greeter-profile", "set-name", "null", NULL));
  assert_true(projection_is(s, "greeter-profile", "{'name':'','lastUpdatedInstanceId':'greeter@AAAAAAAA'}"));
  json_decref(shared_act(s, g, "greeter-profile", "set-name", "42", NULL));
  assert_true(projection_is(s, "greeter-profile", "{'name':'42','lastUpdatedInstanceId':'greeter@AAAAAAAA'}"));
  /* the reader cannot write */
  a = shared_act(s, r, "greeter-profile", "set-name", "'Eve'", NULL);
  assert_true(outcome_is(a, "denied", "missing-write-grant:greeter-profile"));
  json_decref(a);
  a = shared_act(s, g, "greeter-profile", "clear", NULL, NULL);
  assert_true(outcome_is(a, "ignored", "unsupported-action:greeter-profile/clear"));
  json_decref(a);
  assert_true(projection_is(s, "greeter-profile", "{'name':'42','lastUpdatedInstanceId':'greeter@AAAAAAAA'}"));

  /* unloading a reader changes nothing; unloading the last writer forgets its id, keeps
   * the name, and its readers are told */
  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);
  store_instance *r2 = add(s, "greeter-shared-state@BBBBBBBB", "greeter-shared-state",
                           "{'title':'R2','widgets':['main']}");
  (void)r2;
  assert_int_equal(store_remove(s, "greeter-shared-state@BBBBBBBB", &ch, NULL), 0);
  assert_null(json_object_get(ch.domains, "greeter-profile"));
  store_changes_clear(&ch);
  assert_int_equal(store_changes_init(&ch), 0);
  assert_int_equal(store_remove(s, "greeter@AAAAAAAA", &ch, NULL), 0);
  assert_non_null(json_object_get(ch.domains, "greeter-profile"));
  json_t *aff = store_affected(s, &ch);
  assert_true(tj_is(aff, "['greeter-shared-state@AAAAAAAA']"));
  json_decref(aff);
  store_changes_clear(&ch);
  assert_true(projection_is(s, "greeter-profile", "{'name':'42','lastUpdatedInstanceId':null}"));
}

static void test_runtime_registry(void **state) {
  store *s = *state;
  assert_true(projection_is(s, "runtime-registry", "[]"));
  store_instance *c = add(s, "counter@AAAAAAAA", "counter",
                          "{'declaredId':'my-counter','title':'Counter','widgets':['main'],"
                          "'initialState':{'value':0}}");
  add(s, "custom@BBBBBBBB", "custom", "{'title':'Two','widgets':['a','b']}");
  assert_true(projection_is(s, "runtime-registry",
                            "[{'id':'my-counter','instanceId':'counter@AAAAAAAA','packageId':'counter',"
                            "'title':'Counter','status':'loaded','enabled':true,'widgets':1},"
                            "{'id':'custom','instanceId':'custom@BBBBBBBB','packageId':'custom',"
                            "'title':'Two','status':'loaded','enabled':true,'widgets':2}]"));
  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);
  store_set_status(s, c, "Error: render failed", &ch);
  assert_non_null(json_object_get(ch.domains, "runtime-registry"));
  assert_string_equal(tj_str(c->record, "status"), "error");
  assert_string_equal(tj_str(c->record, "error"), "Error: render failed");
  store_changes_clear(&ch);
  json_t *p = NULL;
  assert_int_equal(store_projection(s, "runtime-registry", &p, NULL), 0);
  assert_string_equal(tj_str(json_array_get(p, 0), "status"), "error");
  json_decref(p);
  store_set_status(s, c, NULL, NULL);
  assert_string_equal(tj_str(c->record, "status"), "loaded");
  assert_null(json_object_get(c->record, "error"));

  al_error err;
  assert_int_equal(store_remove(s, "counter@AAAAAAAA", NULL, &err), 0);
  assert_true(projection_is(s, "runtime-registry",
                            "[{'id':'custom','instanceId':'custom@BBBBBBBB','packageId':'custom',"
                            "'title':'Two','status':'loaded','enabled':true,'widgets':2}]"));
}

static void test_runtime_metrics(void **state) {
  store *s = *state;
  assert_true(projection_is(s, "runtime-metrics",
                            "{'pluginCount':0,'dispatchCount':0,'lastTimestamp':null,'lastDispatchId':null,"
                            "'lastScope':null,'lastActionType':null,'lastOutcome':null,'lastReason':null}"));
  store_instance *c = add(s, "counter@AAAAAAAA", "counter", counter_meta);
  add(s, "calculator@AAAAAAAA", "calculator", "{'title':'K','widgets':['main']}");
  json_decref(act(s, c, "increment", NULL));
  json_t *a = act(s, c, "nothing", NULL);
  json_t *p = NULL;
  assert_int_equal(store_projection(s, "runtime-metrics", &p, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(p, "pluginCount")), 2);
  assert_int_equal(json_integer_value(json_object_get(p, "dispatchCount")), 2);
  assert_string_equal(tj_str(p, "lastDispatchId"), tj_str(a, "dispatchId"));
  assert_true(json_equal(json_object_get(p, "lastTimestamp"), json_object_get(a, "timestamp")));
  assert_string_equal(tj_str(p, "lastScope"), "plugin");
  assert_string_equal(tj_str(p, "lastActionType"), "nothing");
  assert_string_equal(tj_str(p, "lastOutcome"), "ignored");
  assert_string_equal(tj_str(p, "lastReason"), "no-local-reducer-match");
  assert_int_equal(json_object_size(p), 8);
  json_decref(p);
  json_decref(a);
  /* a denied shared write counts too */
  store_instance *k = store_find(s, "calculator@AAAAAAAA");
  json_decref(shared_act(s, k, "counter-summary", "set-instance", "{'value':1}", NULL));
  assert_int_equal(store_remove(s, "counter@AAAAAAAA", NULL, NULL), 0);
  assert_int_equal(store_projection(s, "runtime-metrics", &p, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(p, "pluginCount")), 1);
  assert_int_equal(json_integer_value(json_object_get(p, "dispatchCount")), 3);
  assert_string_equal(tj_str(p, "lastScope"), "shared");
  assert_string_equal(tj_str(p, "lastOutcome"), "denied");
  assert_string_equal(tj_str(p, "lastReason"), "missing-write-grant:counter-summary");
  json_decref(p);

  al_error err;
  assert_int_equal(store_projection(s, "nope", &p, &err), AL_EUNKNOWN_DOMAIN);
  assert_null(p);
}

/* ---- globalState and grants ---------------------------------------------------------------- */

static void test_global_state(void **state) {
  store *s = *state;
  store_instance *d = add(s, "status-dashboard@AAAAAAAA", "status-dashboard",
                          "{'title':'D','widgets':['main']}");
  json_t *gs = store_global_state(s, d);
  assert_int_equal(json_object_size(gs), 2); /* self and shared: no ungated system object */
  assert_true(tj_is(json_object_get(gs, "self"),
                    "{'instanceId':'status-dashboard@AAAAAAAA','packageId':'status-dashboard'}"));
  json_t *sh = json_object_get(gs, "shared");
  assert_int_equal(json_object_size(sh), 3);
  assert_non_null(json_object_get(sh, "counter-summary"));
  assert_non_null(json_object_get(sh, "runtime-metrics"));
  assert_non_null(json_object_get(sh, "runtime-registry"));
  assert_null(json_object_get(sh, "greeter-profile"));
  assert_int_equal(json_array_size(json_object_get(sh, "runtime-registry")), 1);
  json_decref(gs);

  store_instance *k = add(s, "calculator@AAAAAAAA", "calculator", "{'title':'K','widgets':['main']}");
  gs = store_global_state(s, k);
  assert_true(tj_is(gs, "{'self':{'instanceId':'calculator@AAAAAAAA','packageId':'calculator'},'shared':{}}"));
  json_decref(gs);
  store_instance *m = add(s, "runtime-monitor@AAAAAAAA", "runtime-monitor", "{'title':'M','widgets':['main']}");
  gs = store_global_state(s, m);
  sh = json_object_get(gs, "shared");
  assert_int_equal(json_object_size(sh), 1);
  assert_int_equal(json_array_size(json_object_get(sh, "runtime-registry")), 3);
  json_decref(gs);

  /* custom code: no grants; read grants of unknown domains show nothing */
  store_instance *p = add_g(s, "custom@AAAAAAAA", "custom", "{'title':'P','widgets':['main']}",
                            "{'readShared':['greeter-profile','no-such-domain']}");
  gs = store_global_state(s, p);
  assert_true(tj_is(json_object_get(gs, "shared"),
                    "{'greeter-profile':{'name':'','lastUpdatedInstanceId':null}}"));
  json_decref(gs);
  json_t *g = store_default_grants(s, "custom");
  assert_true(tj_is(g, "{'readShared':[],'writeShared':[],'systemCommands':[]}"));
  json_decref(g);
  g = store_default_grants(s, "counter");
  assert_true(tj_is(g, "{'readShared':['counter-summary'],'writeShared':['counter-summary'],"
                       "'systemCommands':[]}"));
  json_decref(g);
  g = store_default_grants(s, "calculator");
  assert_true(tj_is(g, "{'readShared':[],'writeShared':[],'systemCommands':[]}"));
  json_decref(g);
}

static void test_set_grants(void **state) {
  store *s = *state;
  store_instance *p = add(s, "custom@AAAAAAAA", "custom", "{'title':'P','widgets':['main']}");
  assert_true(tj_is(p->grants, "{'readShared':[],'writeShared':[],'systemCommands':[]}"));
  json_t *a = shared_act(s, p, "counter-summary", "set-instance", "{'value':2}", NULL);
  assert_true(outcome_is(a, "denied", "missing-write-grant:counter-summary"));
  json_decref(a);

  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);
  json_t *g = tj("{'readShared':['counter-summary'],'writeShared':['counter-summary']}");
  uint64_t t0 = clock_wall_ms();
  assert_int_equal(store_set_grants(s, p, g, "workbench", &ch, NULL), 0);
  json_decref(g);
  assert_true(tj_is(p->grants, "{'readShared':['counter-summary'],'writeShared':['counter-summary'],"
                               "'systemCommands':[]}"));
  assert_non_null(json_object_get(ch.instances, p->id));
  store_changes_clear(&ch);

  json_t *tl = store_timeline(s);
  assert_int_equal(json_array_size(tl), 2);
  json_t *e = json_array_get(tl, 1);
  assert_string_equal(tj_str(e, "scope"), "host");
  assert_string_equal(tj_str(e, "actionType"), "grants/set");
  assert_string_equal(tj_str(e, "instanceId"), "custom@AAAAAAAA");
  assert_string_equal(tj_str(e, "outcome"), "applied");
  assert_string_equal(tj_str(e, "source"), "workbench");
  assert_true(json_is_null(json_object_get(e, "domain")));
  assert_true(json_is_null(json_object_get(e, "reason")));
  assert_int_equal(strlen(tj_str(e, "dispatchId")), ID_DISPATCH_LEN);
  assert_true((uint64_t)json_integer_value(json_object_get(e, "timestamp")) >= t0);
  json_decref(tl);
  json_t *tr = store_trace(s);
  assert_int_equal(json_integer_value(json_object_get(tr, "count")), 2);
  assert_string_equal(tj_str(tr, "lastActionType"), "grants/set");
  json_decref(tr);

  /* the grant takes effect */
  a = shared_act(s, p, "counter-summary", "set-instance", "{'value':2}", NULL);
  assert_true(outcome_is(a, "applied", NULL));
  json_decref(a);
  json_t *gs = store_global_state(s, p);
  assert_non_null(json_object_get(json_object_get(gs, "shared"), "counter-summary"));
  json_decref(gs);

  /* setting the same grants again is still recorded, but changes no inputs */
  assert_int_equal(store_changes_init(&ch), 0);
  g = tj("{'readShared':['counter-summary'],'writeShared':['counter-summary'],'systemCommands':[]}");
  assert_int_equal(store_set_grants(s, p, g, "host", &ch, NULL), 0);
  json_decref(g);
  assert_null(json_object_get(ch.instances, p->id));
  store_changes_clear(&ch);
  tl = store_timeline(s);
  assert_int_equal(json_array_size(tl), 4);
  assert_string_equal(tj_str(json_array_get(tl, 3), "source"), "host");
  json_decref(tl);
}

/* ---- trace, timeline, stamping -------------------------------------------------------------- */

static void test_trace_and_timeline_capacity(void **state) {
  (void)state;
  store *s = store_new(3);
  assert_non_null(s);
  assert_int_equal(store_workbench(s, NULL), 0);
  store_instance *p = add(s, "custom@AAAAAAAA", "custom", "{'title':'P','widgets':['main']}");
  json_t *tr = store_trace(s);
  assert_true(tj_is(tr, "{'count':0,'lastDispatchId':null,'lastTimestamp':null,'lastScope':null,"
                        "'lastActionType':null,'lastOutcome':null,'lastReason':null}"));
  json_decref(tr);
  json_t *tl = store_timeline(s);
  assert_int_equal(json_array_size(tl), 0);
  json_decref(tl);

  char last_id[ID_DISPATCH_LEN + 1] = "";
  for (int i = 1; i <= 7; i++) {
    char name[16];
    snprintf(name, sizeof name, "a%d", i);
    json_t *a = act(s, p, name, NULL);
    snprintf(last_id, sizeof last_id, "%s", tj_str(a, "dispatchId"));
    json_decref(a);
  }
  tr = store_trace(s);
  assert_int_equal(json_integer_value(json_object_get(tr, "count")), 7);
  assert_string_equal(tj_str(tr, "lastDispatchId"), last_id);
  assert_string_equal(tj_str(tr, "lastActionType"), "a7");
  assert_string_equal(tj_str(tr, "lastScope"), "plugin");
  assert_string_equal(tj_str(tr, "lastOutcome"), "ignored");
  assert_string_equal(tj_str(tr, "lastReason"), "no-local-reducer-match");
  assert_true(json_is_integer(json_object_get(tr, "lastTimestamp")));
  json_decref(tr);

  tl = store_timeline(s);
  assert_int_equal(json_array_size(tl), 3);
  assert_string_equal(tj_str(json_array_get(tl, 0), "actionType"), "a5");
  assert_string_equal(tj_str(json_array_get(tl, 1), "actionType"), "a6");
  assert_string_equal(tj_str(json_array_get(tl, 2), "actionType"), "a7");
  assert_string_equal(tj_str(json_array_get(tl, 2), "dispatchId"), last_id);
  assert_true(strcmp(tj_str(json_array_get(tl, 0), "dispatchId"),
                     tj_str(json_array_get(tl, 1), "dispatchId")) < 0);
  assert_true(strcmp(tj_str(json_array_get(tl, 1), "dispatchId"),
                     tj_str(json_array_get(tl, 2), "dispatchId")) < 0);
  static const char *const keys[] = {"dispatchId", "timestamp", "scope",  "actionType",
                                     "instanceId", "domain",    "outcome", "reason"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    assert_non_null(json_object_get(json_array_get(tl, 0), keys[i]));
  json_decref(tl);

  /* the cursor: entries are numbered 1..7; the ring kept 5..7 */
  static const struct {
    uint64_t after;
    const char *first; /* NULL: none come back */
    size_t n;
  } since[] = {{0, "a5", 3}, {4, "a5", 3}, {5, "a6", 2}, {6, "a7", 1}, {7, NULL, 0}, {99, NULL, 0}};
  for (size_t i = 0; i < sizeof since / sizeof since[0]; i++) {
    uint64_t last = 0;
    tl = store_timeline_since(s, since[i].after, &last);
    assert_int_equal(last, 7);
    assert_int_equal(json_array_size(tl), since[i].n);
    if (since[i].first) {
      assert_string_equal(tj_str(json_array_get(tl, 0), "actionType"), since[i].first);
      assert_string_equal(tj_str(json_array_get(tl, since[i].n - 1), "actionType"), "a7");
    }
    json_decref(tl);
  }

  /* runtime-metrics counts everything, uncapped */
  json_t *m = NULL;
  assert_int_equal(store_projection(s, "runtime-metrics", &m, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(m, "dispatchCount")), 7);
  json_decref(m);
  store_free(s);

  /* capacity 0 still keeps the newest entry */
  s = store_new(0);
  assert_non_null(s);
  p = add(s, "custom@AAAAAAAA", "custom", "{'title':'P','widgets':['main']}");
  json_decref(act(s, p, "x1", NULL));
  json_decref(act(s, p, "x2", NULL));
  tl = store_timeline(s);
  assert_int_equal(json_array_size(tl), 1);
  assert_string_equal(tj_str(json_array_get(tl, 0), "actionType"), "x2");
  json_decref(tl);
  store_free(s);
}

/* A huge payload is kept in the timeline as a capped prefix of its JSON text, cut on a
 * character boundary, and marked; the action itself is unaffected. */
static void test_timeline_payload_cap(void **state) {
  store *s = *state;
  store_instance *c = add(s, "todo@AAAAAAAA", "todo", "{'title':'T','widgets':['w']}");
  size_t n = 3 * STORE_PAYLOAD_MAX;
  char *big = malloc(n + 1);
  assert_non_null(big);
  for (size_t i = 0; i < n; i += 2) memcpy(big + i, "\xc3\xa9", 2); /* two-byte characters */
  big[n] = 0;
  json_t *intents = json_pack("[{s:s,s:s,s:{s:s}}]", "scope", "plugin", "actionType",
                              "state/merge", "payload", "text", big);
  json_t *actions = NULL;
  assert_int_equal(store_apply(s, c, intents, "vm", NULL, NULL, &actions, NULL, NULL), 0);
  assert_null(json_object_get(json_array_get(actions, 0), "payload"));
  json_t *tl = store_timeline(s);
  json_t *e = json_array_get(tl, json_array_size(tl) - 1);
  json_t *p = json_object_get(e, "payload");
  assert_true(json_is_string(p)); /* json_string validated the cut as UTF-8 */
  assert_true(json_string_length(p) <= STORE_PAYLOAD_MAX);
  assert_true(json_string_length(p) > STORE_PAYLOAD_MAX - 4);
  assert_true(json_is_true(json_object_get(e, "payloadTruncated")));
  assert_memory_equal(json_string_value(p), "{\"text\":\"", 9);
  /* a small one is kept as it was, unmarked */
  json_t *small = tj("[{'scope':'plugin','actionType':'state/merge','payload':{'a':[1,2]}}]");
  json_decref(actions);
  assert_int_equal(store_apply(s, c, small, "vm", NULL, NULL, &actions, NULL, NULL), 0);
  json_decref(tl);
  tl = store_timeline(s);
  e = json_array_get(tl, json_array_size(tl) - 1);
  assert_true(json_equal(json_object_get(e, "payload"), json_object_get(json_array_get(small, 0), "payload")));
  assert_null(json_object_get(e, "payloadTruncated"));
  json_decref(tl);
  json_decref(small);
  json_decref(actions);
  json_decref(intents);
  free(big);
}

static void test_dispatch_stamping(void **state) {
  store *s = *state;
  store_instance *c = add(s, "counter@AAAAAAAA", "counter", counter_meta);
  json_t *intents = tj("[{'scope':'plugin','actionType':'increment'},"
                       "{'scope':'shared','domain':'counter-summary','actionType':'set-instance',"
                       "'payload':{'value':1}},"
                       "{'scope':'plugin','actionType':'increment','domain':'ignored-for-plugin'}]");
  json_t *actions = NULL;
  uint64_t t0 = clock_wall_ms();
  assert_int_equal(store_apply(s, c, intents, "workbench", NULL, NULL, &actions, NULL, NULL), 0);
  uint64_t t1 = clock_wall_ms();
  json_decref(intents);
  assert_int_equal(json_array_size(actions), 3);
  const char *prev = "";
  for (size_t i = 0; i < 3; i++) {
    json_t *a = json_array_get(actions, i);
    const char *id = tj_str(a, "dispatchId");
    assert_non_null(id);
    assert_int_equal(strlen(id), ID_DISPATCH_LEN);
    assert_true(strcmp(prev, id) < 0);
    prev = id;
    json_t *ts = json_object_get(a, "timestamp");
    assert_true(json_is_integer(ts));
    assert_true((uint64_t)json_integer_value(ts) >= t0 && (uint64_t)json_integer_value(ts) <= t1);
    assert_string_equal(tj_str(a, "instanceId"), "counter@AAAAAAAA");
    assert_string_equal(tj_str(a, "source"), "workbench");
    assert_string_equal(tj_str(a, "outcome"), "applied");
    assert_true(json_is_null(json_object_get(a, "reason")));
  }
  json_t *a0 = json_array_get(actions, 0), *a1 = json_array_get(actions, 1),
         *a2 = json_array_get(actions, 2);
  assert_string_equal(tj_str(a0, "scope"), "plugin");
  assert_string_equal(tj_str(a0, "actionType"), "increment");
  assert_true(json_is_null(json_object_get(a0, "domain")));
  assert_string_equal(tj_str(a1, "scope"), "shared");
  assert_string_equal(tj_str(a1, "actionType"), "set-instance");
  assert_string_equal(tj_str(a1, "domain"), "counter-summary");
  assert_true(json_is_null(json_object_get(a2, "domain")));

  /* the timeline holds the same stamped entries, plus each intent's payload */
  json_t *tl = store_timeline(s);
  assert_int_equal(json_array_size(tl), 3);
  for (size_t i = 0; i < 3; i++) {
    json_t *e = json_copy(json_array_get(tl, i));
    json_object_del(e, "payload");
    assert_true(json_equal(e, json_array_get(actions, i)));
    json_decref(e);
  }
  assert_null(json_object_get(json_array_get(tl, 0), "payload"));
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(json_array_get(tl, 1), "payload"), "value")), 1);
  json_decref(tl);
  json_decref(actions);

  /* the source is passed through */
  intents = tj("[{'scope':'plugin','actionType':'reset'}]");
  assert_int_equal(store_apply(s, c, intents, "host", NULL, NULL, &actions, NULL, NULL), 0);
  assert_string_equal(tj_str(json_array_get(actions, 0), "source"), "host");
  json_decref(actions);
  assert_int_equal(store_apply(s, c, intents, "vm", NULL, NULL, &actions, NULL, NULL), 0);
  assert_string_equal(tj_str(json_array_get(actions, 0), "source"), "vm");
  json_decref(actions);
  json_decref(intents);

  /* an empty intent list records nothing */
  intents = tj("[]");
  assert_int_equal(store_apply(s, c, intents, "vm", NULL, NULL, &actions, NULL, NULL), 0);
  assert_int_equal(json_array_size(actions), 0);
  json_decref(actions);
  json_decref(intents);
  json_t *tr = store_trace(s);
  assert_int_equal(json_integer_value(json_object_get(tr, "count")), 5);
  json_decref(tr);
}

/* ---- change sets -> affected instances ----------------------------------------------------- */

/* Applies intents and checks store_affected names exactly `expected` (JSON array). */
static bool affected_by(store *s, store_instance *inst, const char *intents_json,
                        const char *expected) {
  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);
  json_decref(apply_cb(s, inst, intents_json, NULL, NULL, &ch));
  json_t *aff = store_affected(s, &ch);
  bool ok = tj_is(aff, expected);
  json_decref(aff);
  store_changes_clear(&ch);
  return ok;
}

static void test_affected(void **state) {
  store *s = *state;
  store_instance *c1 = add(s, "counter@11111111", "counter", counter_meta);
  add(s, "counter@22222222", "counter", counter_meta);
  add(s, "status-dashboard@33333333", "status-dashboard", "{'title':'D','widgets':['main']}");
  store_instance *k = add(s, "calculator@44444444", "calculator",
                          "{'title':'K','widgets':['main'],'initialState':{'display':'0'}}");
  store_instance *g = add(s, "greeter@55555555", "greeter", "{'title':'G','widgets':['main']}");
  add(s, "runtime-monitor@66666666", "runtime-monitor", "{'title':'M','widgets':['main']}");
  store_instance *r = add(s, "greeter-shared-state@77777777", "greeter-shared-state",
                          "{'title':'R','widgets':['main']}");

  /* own state: the instance, plus the dashboard (it reads runtime-metrics) */
  assert_true(affected_by(s, c1, "[{'scope':'plugin','actionType':'increment'}]",
                          "['counter@11111111','status-dashboard@33333333']"));
  /* a shared write: every reader of the domain, the writer included */
  assert_true(affected_by(s, c1,
                          "[{'scope':'shared','domain':'counter-summary','actionType':'set-instance',"
                          "'payload':{'value':5}}]",
                          "['counter@11111111','counter@22222222','status-dashboard@33333333']"));
  /* the same write again changes no projection */
  assert_true(affected_by(s, c1,
                          "[{'scope':'shared','domain':'counter-summary','actionType':'set-instance',"
                          "'payload':{'value':5}}]",
                          "['status-dashboard@33333333']"));
  /* an action that leaves the state equal changes nothing but the metrics */
  assert_true(affected_by(s, k, "[{'scope':'plugin','actionType':'equals'}]",
                          "['status-dashboard@33333333']"));
  assert_true(affected_by(s, k, "[{'scope':'plugin','actionType':'nope'}]",
                          "['status-dashboard@33333333']"));
  assert_true(affected_by(s, r,
                          "[{'scope':'shared','domain':'greeter-profile','actionType':'set-name','payload':'x'}]",
                          "['status-dashboard@33333333']"));
  /* greeter-profile readers */
  assert_true(affected_by(s, g,
                          "[{'scope':'shared','domain':'greeter-profile','actionType':'set-name','payload':'Ada'}]",
                          "['status-dashboard@33333333','greeter@55555555','greeter-shared-state@77777777']"));
  /* calculator digit: only the calculator (and the metrics reader) */
  assert_true(affected_by(s, k, "[{'scope':'plugin','actionType':'digit','payload':'7'}]",
                          "['status-dashboard@33333333','calculator@44444444']"));
  /* several intents: the union */
  assert_true(affected_by(s, g,
                          "[{'scope':'plugin','actionType':'nameChanged','payload':'Bo'},"
                          "{'scope':'shared','domain':'greeter-profile','actionType':'set-name','payload':'Bo'}]",
                          "['status-dashboard@33333333','greeter@55555555','greeter-shared-state@77777777']"));

  /* loading: the new instance and the registry readers */
  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);
  json_t *meta = tj("{'title':'N','widgets':['main']}");
  json_t *grants = store_default_grants(s, "custom");
  store_instance *n = NULL;
  assert_int_equal(store_add(s, "custom@88888888", "custom", meta, grants, &n, &ch, NULL), 0);
  json_decref(meta);
  json_decref(grants);
  json_t *aff = store_affected(s, &ch);
  assert_true(tj_is(aff, "['status-dashboard@33333333','runtime-monitor@66666666','custom@88888888']"));
  json_decref(aff);
  store_changes_clear(&ch);

  /* unloading a counter that wrote: summary readers and registry readers */
  assert_int_equal(store_changes_init(&ch), 0);
  assert_int_equal(store_remove(s, "counter@11111111", &ch, NULL), 0);
  aff = store_affected(s, &ch);
  assert_true(tj_is(aff, "['counter@22222222','status-dashboard@33333333','runtime-monitor@66666666']"));
  json_decref(aff);
  store_changes_clear(&ch);

  /* host state writes */
  assert_int_equal(store_changes_init(&ch), 0);
  assert_int_equal(store_set_state(s, n, tj("{'a':1}"), &ch), 0);
  aff = store_affected(s, &ch);
  assert_true(tj_is(aff, "['custom@88888888']"));
  json_decref(aff);
  store_changes_clear(&ch);
  assert_int_equal(store_changes_init(&ch), 0);
  assert_int_equal(store_set_state(s, n, tj("{'a':1}"), &ch), 0); /* equal: no change */
  assert_true(store_changes_empty(&ch));
  store_changes_clear(&ch);
  assert_true(state_is(n, "{'a':1}"));
}

/* ---- registry ------------------------------------------------------------------------------- */

static void test_add_remove(void **state) {
  store *s = *state;
  store_instance *c = add(s, "counter@AAAAAAAA", "counter",
                          "{'title':'Counter','description':'d','widgets':['main'],"
                          "'initialState':{'value':3}}");
  assert_true(tj_is(c->record, "{'instanceId':'counter@AAAAAAAA','packageId':'counter','title':'Counter',"
                               "'description':'d','widgets':['main'],'initialState':{'value':3},"
                               "'status':'loaded'}"));
  assert_string_equal(c->package_id, "counter");
  /* local state is a copy of initialState */
  assert_true(state_is(c, "{'value':3}"));
  json_decref(act(s, c, "increment", NULL));
  assert_true(tj_is(json_object_get(c->record, "initialState"), "{'value':3}"));

  /* duplicate id: an error, never a replacement */
  json_t *meta = tj("{'title':'Other','widgets':['x']}");
  store_instance *out = (store_instance *)0x1;
  al_error err;
  assert_int_equal(store_add(s, "counter@AAAAAAAA", "counter", meta, NULL, &out, NULL, &err),
                   AL_EINSTANCE_EXISTS);
  assert_int_equal(err.code, AL_EINSTANCE_EXISTS);
  assert_non_null(strstr(err.message, "counter@AAAAAAAA"));
  assert_int_equal(store_count(s), 1);
  assert_ptr_equal(store_find(s, "counter@AAAAAAAA"), c);
  assert_string_equal(tj_str(c->record, "title"), "Counter");
  assert_true(state_is(c, "{'value':4}"));
  json_decref(meta);

  /* unknown id */
  assert_int_equal(store_remove(s, "counter@ZZZZZZZZ", NULL, &err), AL_EINSTANCE_NOT_FOUND);
  assert_int_equal(err.code, AL_EINSTANCE_NOT_FOUND);
  assert_string_equal(err.message, "Instance not found: counter@ZZZZZZZZ");
  assert_null(store_find(s, "counter@ZZZZZZZZ"));
  assert_null(store_find(s, NULL));

  assert_int_equal(store_remove(s, "counter@AAAAAAAA", NULL, &err), 0);
  assert_null(store_find(s, "counter@AAAAAAAA"));
  assert_int_equal(store_count(s), 0);
  assert_int_equal(store_remove(s, "counter@AAAAAAAA", NULL, &err), AL_EINSTANCE_NOT_FOUND);
  /* the id can be used again after removal */
  c = add(s, "counter@AAAAAAAA", "counter", "{'title':'Again','widgets':['main']}");
  assert_null(c->state);
}

static void test_many_instances(void **state) {
  store *s = *state;
  enum { N = 1500 };
  json_t *meta = tj("{'title':'T','widgets':['main']}");
  for (int i = 0; i < N; i++) {
    char id[32];
    snprintf(id, sizeof id, "custom@%08d", i);
    store_instance *inst = NULL;
    assert_int_equal(store_add(s, id, "custom", meta, NULL, &inst, NULL, NULL), 0);
  }
  assert_int_equal(store_count(s), N);
  /* remove two thirds (leaving tombstones), then add again: every lookup stays right */
  for (int i = 0; i < N; i++) {
    if (i % 3 == 0) continue;
    char id[32];
    snprintf(id, sizeof id, "custom@%08d", i);
    assert_int_equal(store_remove(s, id, NULL, NULL), 0);
  }
  assert_int_equal(store_count(s), N / 3);
  for (int i = 0; i < N; i++) {
    char id[32];
    snprintf(id, sizeof id, "custom@%08d", i);
    store_instance *f = store_find(s, id);
    if (i % 3 == 0) {
      assert_non_null(f);
      assert_string_equal(f->id, id);
    } else {
      assert_null(f);
    }
  }
  for (int i = 1; i < N; i += 3) {
    char id[32];
    snprintf(id, sizeof id, "custom@%08d", i);
    store_instance *inst = NULL;
    assert_int_equal(store_add(s, id, "custom", meta, NULL, &inst, NULL, NULL), 0);
    assert_ptr_equal(store_find(s, id), inst);
  }
  json_decref(meta);
  /* load order is kept */
  assert_string_equal(store_at(s, 0)->id, "custom@00000000");
  assert_string_equal(store_at(s, 1)->id, "custom@00000003");
  assert_null(store_at(s, store_count(s)));
}

static void test_set_state(void **state) {
  store *s = *state;
  store_instance *p = add(s, "custom@AAAAAAAA", "custom", "{'title':'P','widgets':['main']}");
  json_t *st = store_plugin_state(p);
  assert_true(tj_is(st, "{}"));
  json_decref(st);
  assert_null(p->state);
  store_changes ch;
  assert_int_equal(store_changes_init(&ch), 0);
  assert_true(store_changes_empty(&ch));
  assert_int_equal(store_set_state(s, p, tj("{'v':[1]}"), &ch), 0);
  assert_false(store_changes_empty(&ch));
  assert_true(state_is(p, "{'v':[1]}"));
  store_changes_clear(&ch);
  assert_int_equal(store_set_state(s, p, NULL, NULL), AL_ENO_MEMORY);
  assert_true(state_is(p, "{'v':[1]}"));

  json_t *names = store_domain_names(s);
  assert_true(tj_is(names, "['counter-summary','greeter-profile','runtime-registry','runtime-metrics']"));
  json_decref(names);
}

/* Versions and the one-change delta the resident-state cache relies on (store.h). */
static void test_versions_and_delta(void **state) {
  store *s = *state;
  store_instance *p = add_g(s, "custom@AAAAAAAA", "custom", "{'title':'P','widgets':['main']}",
                            "{'readShared':['counter-summary']}");
  store_instance *q = add_g(s, "custom@AAAAAAAB", "custom", "{'title':'Q','widgets':['main']}",
                            "{}");
  uint64_t v0 = p->state_version, g0 = store_global_version(s, p), gq = store_global_version(s, q);
  assert_true(v0 > 0 && g0 > 0);
  /* first state: nothing to take a delta from */
  assert_int_equal(store_set_state(s, p, tj("{'a':[1,2],'b':1,'c':{'x':1}}"), NULL), 0);
  assert_true(p->state_version > v0);
  assert_null(p->delta_set);
  /* a shallow copy with one key replaced, one removed and one appended */
  uint64_t v1 = p->state_version;
  json_t *next = json_copy(p->state);
  json_object_set_new(next, "b", json_integer(2));
  json_object_del(next, "c");
  json_object_set_new(next, "d", json_true());
  assert_int_equal(store_set_state(s, p, next, NULL), 0);
  assert_int_equal(p->delta_base, v1);
  assert_true(tj_is(p->delta_set, "{'b':2,'d':true}"));
  assert_true(tj_is(p->delta_del, "['c']"));
  /* the same keys in another order: a VM applying a delta could not know, so none */
  next = json_object();
  json_object_set(next, "d", json_object_get(p->state, "d"));
  json_object_set(next, "a", json_object_get(p->state, "a"));
  json_object_set_new(next, "b", json_integer(3));
  assert_int_equal(store_set_state(s, p, next, NULL), 0);
  assert_null(p->delta_set);
  /* every value new: the whole state is as cheap, so none */
  assert_int_equal(store_set_state(s, p, tj("{'d':1,'a':2,'b':3}"), NULL), 0);
  assert_null(p->delta_set);
  /* an equal state changes no version */
  uint64_t v2 = p->state_version;
  assert_int_equal(store_set_state(s, p, tj("{'d':1,'a':2,'b':3}"), NULL), 0);
  assert_int_equal(p->state_version, v2);
  /* globalState moves with what the instance reads: a grants change moves it, then a
   * write to the counter summary moves p's (it reads it) and not q's (it does not) */
  json_t *rw = tj("{'writeShared':['counter-summary'],'readShared':['counter-summary']}");
  assert_int_equal(store_set_grants(s, p, rw, "host", NULL, NULL), 0);
  json_decref(rw);
  assert_true(store_global_version(s, p) > g0);
  assert_int_equal(store_global_version(s, q), gq);
  uint64_t g1 = store_global_version(s, p);
  json_decref(apply_cb(s, p, "[{'scope':'shared','domain':'counter-summary','actionType':'set-instance','payload':{'value':4}}]",
                       NULL, NULL, NULL));
  assert_true(store_global_version(s, p) > g1);
  assert_int_equal(store_global_version(s, q), gq);
  json_t *ro = tj("{'readShared':['counter-summary']}");
  assert_int_equal(store_set_grants(s, q, ro, "host", NULL, NULL), 0);
  json_decref(ro);
  assert_true(store_global_version(s, q) > gq);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_counter_reducer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_calculator_reducer, setup, teardown),
      cmocka_unit_test(test_js_number_text),
      cmocka_unit_test_setup_teardown(test_greeter_reducer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_generic_reducer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_local_reducer_match, setup, teardown),
      cmocka_unit_test_setup_teardown(test_plugin_declared_reducer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_shared_denied_and_ignored, setup, teardown),
      cmocka_unit_test_setup_teardown(test_counter_summary, setup, teardown),
      cmocka_unit_test_setup_teardown(test_greeter_profile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_runtime_registry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_runtime_metrics, setup, teardown),
      cmocka_unit_test_setup_teardown(test_global_state, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_grants, setup, teardown),
      cmocka_unit_test(test_trace_and_timeline_capacity),
      cmocka_unit_test_setup_teardown(test_dispatch_stamping, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeline_payload_cap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_affected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_add_remove, setup, teardown),
      cmocka_unit_test_setup_teardown(test_many_instances, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_state, setup, teardown),
      cmocka_unit_test_setup_teardown(test_versions_and_delta, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

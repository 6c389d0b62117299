/*
 * test_validate.c: the host-side contract checks (spec sections 3 and 4): every UINode
 * rule passing and failing with its exact message and path, the budgets at their edges,
 * dispatch intents, load metadata and grants.
 */
#include "helpers.h"

#include "contract/validate.h"

static const al_budgets dflt = {64, 10000, 1u << 20};

/* Validates `json` (' for ") with budgets `b`. With msg == NULL expects success;
 * otherwise expects AL_ECONTRACT with exactly that message and path. Also checks the tree
 * is not modified and that a NULL err works. */
static bool tree_check_b(const char *json, const al_budgets *b, const char *msg,
                         const char *path) {
  json_t *t = tj(json);
  char *before = tj_text(t);
  al_error err;
  memset(&err, 0x5a, sizeof err);
  int rc = ui_validate_tree(t, b, &err);
  int rc_null = ui_validate_tree(t, b, NULL);
  char *after = tj_text(t);
  bool ok = true;
  if (strcmp(before, after) != 0) {
    print_error("validation modified the tree: %s -> %s\n", before, after);
    ok = false;
  }
  if (rc != rc_null) {
    print_error("rc %d with err, %d without\n", rc, rc_null);
    ok = false;
  }
  if (!msg) {
    if (rc != 0) {
      print_error("expected %s to pass, got %d: %s (path %s)\n", json, rc, err.message, err.path);
      ok = false;
    }
  } else if (rc != AL_ECONTRACT || err.code != AL_ECONTRACT) {
    print_error("expected %s to fail with '%s', got rc %d\n", json, msg, rc);
    ok = false;
  } else {
    if (strcmp(err.message, msg) != 0) {
      print_error("message for %s\n  expected '%s'\n       got '%s'\n", json, msg, err.message);
      ok = false;
    }
    if (path && strcmp(err.path, path) != 0) {
      print_error("path for %s\n  expected '%s'\n       got '%s'\n", json, path, err.path);
      ok = false;
    }
  }
  free(before);
  free(after);
  json_decref(t);
  return ok;
}

#define TREE_OK(json) assert_true(tree_check_b((json), &dflt, NULL, NULL))
#define TREE_FAIL(json, msg, path) assert_true(tree_check_b((json), &dflt, (msg), (path)))

/* ---- rule 1: objects -------------------------------------------------------------------- */

static void test_root_must_be_object(void **state) {
  (void)state;
  TREE_FAIL("null", "root must be an object", "root");
  TREE_FAIL("[]", "root must be an object", "root");
  TREE_FAIL("[{'kind':'text','text':'a'}]", "root must be an object", "root");
  TREE_FAIL("'panel'", "root must be an object", "root");
  TREE_FAIL("42", "root must be an object", "root");
  TREE_FAIL("true", "root must be an object", "root");
}

static void test_child_must_be_object(void **state) {
  (void)state;
  TREE_FAIL("{'kind':'panel','children':[{'kind':'text','text':'a'},null]}",
            "root.children[1] must be an object", "root.children[1]");
  TREE_FAIL("{'kind':'row','children':[[]]}", "root.children[0] must be an object",
            "root.children[0]");
  TREE_FAIL("{'kind':'column','children':['text']}", "root.children[0] must be an object",
            "root.children[0]");
  TREE_FAIL("{'kind':'panel','children':[{'kind':'row','children':[{'kind':'text','text':'x'},"
            "{'kind':'text','text':'y'},7]}]}",
            "root.children[0].children[2] must be an object", "root.children[0].children[2]");
}

/* ---- rule 2: kind ----------------------------------------------------------------------- */

static void test_kind_must_be_string(void **state) {
  (void)state;
  TREE_FAIL("{}", "root.kind must be a string", "root");
  TREE_FAIL("{'kind':null}", "root.kind must be a string", "root");
  TREE_FAIL("{'kind':1}", "root.kind must be a string", "root");
  TREE_FAIL("{'kind':['text']}", "root.kind must be a string", "root");
  TREE_FAIL("{'text':'a'}", "root.kind must be a string", "root");
  TREE_FAIL("{'kind':'panel','children':[{'kind':'text','text':'a'},{'children':[]}]}",
            "root.children[1].kind must be a string", "root.children[1]");
}

/* ---- rule 3: containers ----------------------------------------------------------------- */

static void test_containers(void **state) {
  (void)state;
  static const char *const kinds[] = {"panel", "row", "column"};
  for (size_t i = 0; i < 3; i++) {
    char buf[256];
    snprintf(buf, sizeof buf, "{'kind':'%s'}", kinds[i]);
    TREE_OK(buf);
    snprintf(buf, sizeof buf, "{'kind':'%s','children':[]}", kinds[i]);
    TREE_OK(buf);
    snprintf(buf, sizeof buf, "{'kind':'%s','props':{'gap':4},'children':[{'kind':'text','text':'a'}]}",
             kinds[i]);
    TREE_OK(buf);
    snprintf(buf, sizeof buf, "{'kind':'%s','children':{}}", kinds[i]);
    TREE_FAIL(buf, "root.children must be an array", "root");
    snprintf(buf, sizeof buf, "{'kind':'%s','children':null}", kinds[i]);
    TREE_FAIL(buf, "root.children must be an array", "root");
    snprintf(buf, sizeof buf, "{'kind':'%s','children':'abc'}", kinds[i]);
    TREE_FAIL(buf, "root.children must be an array", "root");
    snprintf(buf, sizeof buf, "{'kind':'panel','children':[{'kind':'%s','children':5}]}", kinds[i]);
    TREE_FAIL(buf, "root.children[0].children must be an array", "root.children[0]");
  }
  /* nested paths name every level */
  TREE_FAIL("{'kind':'panel','children':[{'kind':'text','text':'a'},{'kind':'row','children':"
            "[{'kind':'button','props':{'label':3}}]}]}",
            "root.children[1].children[0].props.label must be a string", "root.children[1].children[0]");
  /* the first violation in document order wins */
  TREE_FAIL("{'kind':'panel','children':[{'kind':'text'},{'kind':'badge'}]}",
            "root.children[0].text must be a string", "root.children[0]");
}

/* ---- rule 4: text / badge ---------------------------------------------------------------- */

static void test_text_badge(void **state) {
  (void)state;
  TREE_OK("{'kind':'text','text':'hello'}");
  TREE_OK("{'kind':'text','text':''}");
  TREE_OK("{'kind':'badge','text':'3','props':{'tone':'ok'}}");
  TREE_FAIL("{'kind':'text'}", "root.text must be a string", "root");
  TREE_FAIL("{'kind':'text','text':5}", "root.text must be a string", "root");
  TREE_FAIL("{'kind':'text','text':null}", "root.text must be a string", "root");
  TREE_FAIL("{'kind':'text','props':{'text':'a'}}", "root.text must be a string", "root");
  TREE_FAIL("{'kind':'badge'}", "root.text must be a string", "root");
  TREE_FAIL("{'kind':'badge','text':['a']}", "root.text must be a string", "root");
  TREE_FAIL("{'kind':'row','children':[{'kind':'badge','text':{}}]}",
            "root.children[0].text must be a string", "root.children[0]");
}

/* ---- rule 5: button ---------------------------------------------------------------------- */

static void test_button(void **state) {
  (void)state;
  TREE_OK("{'kind':'button','props':{'label':'Go'}}");
  TREE_OK("{'kind':'button','props':{'label':'','variant':'primary'}}");
  TREE_OK("{'kind':'button','props':{'label':'Go','onClick':{'handler':'go','args':{'n':1}}}}");
  TREE_FAIL("{'kind':'button'}", "root.props.label must be a string", "root");
  TREE_FAIL("{'kind':'button','props':null}", "root.props.label must be a string", "root");
  TREE_FAIL("{'kind':'button','props':'Go'}", "root.props.label must be a string", "root");
  TREE_FAIL("{'kind':'button','props':{}}", "root.props.label must be a string", "root");
  TREE_FAIL("{'kind':'button','props':{'label':1}}", "root.props.label must be a string", "root");
  TREE_FAIL("{'kind':'button','label':'Go'}", "root.props.label must be a string", "root");
  /* the kind rule comes before the EventRef rule */
  TREE_FAIL("{'kind':'button','props':{'onClick':5}}", "root.props.label must be a string",
            "root");
}

/* ---- rule 6: input ----------------------------------------------------------------------- */

static void test_input(void **state) {
  (void)state;
  TREE_OK("{'kind':'input','props':{'value':''}}");
  TREE_OK("{'kind':'input','props':{'value':'x','placeholder':'Name','onChange':{'handler':'set'}}}");
  TREE_FAIL("{'kind':'input'}", "root.props.value must be a string", "root");
  TREE_FAIL("{'kind':'input','props':{}}", "root.props.value must be a string", "root");
  TREE_FAIL("{'kind':'input','props':{'value':3}}", "root.props.value must be a string", "root");
  TREE_FAIL("{'kind':'input','props':{'value':null}}", "root.props.value must be a string", "root");
  TREE_FAIL("{'kind':'input','value':'x'}", "root.props.value must be a string", "root");
}

/* ---- rule 7: counter --------------------------------------------------------------------- */

static void test_counter(void **state) {
  (void)state;
  TREE_OK("{'kind':'counter','props':{'value':0}}");
  TREE_OK("{'kind':'counter','props':{'value':-2.5}}");
  TREE_OK("{'kind':'counter','props':{'value':7,'onIncrement':{'handler':'inc'},"
          "'onDecrement':{'handler':'dec','args':[1]}}}");
  TREE_FAIL("{'kind':'counter'}", "root.props.value must be a number", "root");
  TREE_FAIL("{'kind':'counter','props':{}}", "root.props.value must be a number", "root");
  TREE_FAIL("{'kind':'counter','props':{'value':'1'}}", "root.props.value must be a number", "root");
  TREE_FAIL("{'kind':'counter','props':{'value':null}}", "root.props.value must be a number", "root");
  TREE_FAIL("{'kind':'counter','props':{'value':true}}", "root.props.value must be a number", "root");
}

/* ---- rule 8: table ----------------------------------------------------------------------- */

static void test_table(void **state) {
  (void)state;
  TREE_OK("{'kind':'table','props':{'headers':[],'rows':[]}}");
  TREE_OK("{'kind':'table','props':{'headers':['a','b'],'rows':[[1,'x'],[],[null,{'y':2}]]}}");
  TREE_FAIL("{'kind':'table'}", "root.props must be an object", "root");
  TREE_FAIL("{'kind':'table','props':null}", "root.props must be an object", "root");
  TREE_FAIL("{'kind':'table','props':[['a']]}", "root.props must be an object", "root");
  TREE_FAIL("{'kind':'table','props':{'rows':[]}}", "root.props.headers must be a string[]", "root");
  TREE_FAIL("{'kind':'table','props':{'headers':'a','rows':[]}}",
            "root.props.headers must be a string[]", "root");
  TREE_FAIL("{'kind':'table','props':{'headers':['a',1],'rows':[]}}",
            "root.props.headers must be a string[]", "root");
  TREE_FAIL("{'kind':'table','props':{'headers':[null],'rows':[]}}",
            "root.props.headers must be a string[]", "root");
  TREE_FAIL("{'kind':'table','props':{'headers':['a']}}",
            "root.props.rows must be an array of rows", "root");
  TREE_FAIL("{'kind':'table','props':{'headers':['a'],'rows':{}}}",
            "root.props.rows must be an array of rows", "root");
  TREE_FAIL("{'kind':'table','props':{'headers':['a'],'rows':[1]}}",
            "root.props.rows must be an array of rows", "root");
  TREE_FAIL("{'kind':'table','props':{'headers':['a'],'rows':[['x'],'y']}}",
            "root.props.rows must be an array of rows", "root");
  TREE_FAIL("{'kind':'panel','children':[{'kind':'table','props':{'headers':[],'rows':[{}]}}]}",
            "root.children[0].props.rows must be an array of rows", "root.children[0]");
}

/* ---- rule 9: unsupported kinds ----------------------------------------------------------- */

static void test_unsupported_kind(void **state) {
  (void)state;
  TREE_FAIL("{'kind':'slider'}", "root.kind 'slider' is not supported", "root");
  TREE_FAIL("{'kind':''}", "root.kind '' is not supported", "root");
  TREE_FAIL("{'kind':'Panel'}", "root.kind 'Panel' is not supported", "root");
  TREE_FAIL("{'kind':'panel','children':[{'kind':'text','text':'a'},{'kind':'slider','props':{}}]}",
            "root.children[1].kind 'slider' is not supported", "root.children[1]");
  /* plugin-controlled text quoted back is capped */
  char kind[201], json[300], msg[300];
  memset(kind, 'k', 200);
  kind[200] = '\0';
  snprintf(json, sizeof json, "{'kind':'%s'}", kind);
  snprintf(msg, sizeof msg, "root.kind '%.60s' is not supported", kind);
  TREE_FAIL(json, msg, "root");
}

/* ---- rule 10: EventRefs ------------------------------------------------------------------ */

static void test_event_refs(void **state) {
  (void)state;
  static const struct {
    const char *ref, *node; /* node: printf format with %s for the ref JSON */
  } cases[] = {
      {"onClick", "{'kind':'button','props':{'label':'Go','onClick':%s}}"},
      {"onChange", "{'kind':'input','props':{'value':'','onChange':%s}}"},
      {"onIncrement", "{'kind':'counter','props':{'value':1,'onIncrement':%s}}"},
      {"onDecrement", "{'kind':'counter','props':{'value':1,'onDecrement':%s}}"},
  };
  static const char *const not_objects[] = {"null", "'go'", "1", "true", "[{'handler':'go'}]"};
  static const char *const bad_handlers[] = {"{}", "{'handler':''}", "{'handler':null}",
                                             "{'handler':1}", "{'handler':['go']}",
                                             "{'args':1}"};
  static const char *const good[] = {"{'handler':'go'}", "{'handler':'go','args':null}",
                                     "{'handler':'go','args':{'x':[1,2]}}",
                                     "{'handler':'go','extra':true}"};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char json[400], msg[200], path[100];
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
      snprintf(json, sizeof json, cases[i].node, good[k]);
      TREE_OK(json);
    }
    snprintf(path, sizeof path, "root.props.%s", cases[i].ref);
    for (size_t k = 0; k < sizeof not_objects / sizeof not_objects[0]; k++) {
      snprintf(json, sizeof json, cases[i].node, not_objects[k]);
      snprintf(msg, sizeof msg, "root.props.%s must be an object", cases[i].ref);
      TREE_FAIL(json, msg, path);
    }
    for (size_t k = 0; k < sizeof bad_handlers / sizeof bad_handlers[0]; k++) {
      snprintf(json, sizeof json, cases[i].node, bad_handlers[k]);
      snprintf(msg, sizeof msg, "root.props.%s.handler must be a non-empty string", cases[i].ref);
      TREE_FAIL(json, msg, path);
    }
  }
  /* nested path */
  TREE_FAIL("{'kind':'panel','children':[{'kind':'text','text':'a'},{'kind':'row','children':"
            "[{'kind':'button','props':{'label':'x','onClick':{'handler':''}}}]}]}",
            "root.children[1].children[0].props.onClick.handler must be a non-empty string",
            "root.children[1].children[0].props.onClick");
  /* every present EventRef is checked, whatever the kind */
  TREE_FAIL("{'kind':'panel','props':{'onClick':{'handler':''}}}",
            "root.props.onClick.handler must be a non-empty string", "root.props.onClick");
  TREE_FAIL("{'kind':'text','text':'a','props':{'onChange':3}}",
            "root.props.onChange must be an object", "root.props.onChange");
  TREE_FAIL("{'kind':'button','props':{'label':'a','onChange':[]}}",
            "root.props.onChange must be an object", "root.props.onChange");
  /* checked in the order onClick, onChange, onIncrement, onDecrement */
  TREE_FAIL("{'kind':'counter','props':{'value':1,'onDecrement':1,'onIncrement':2}}",
            "root.props.onIncrement must be an object", "root.props.onIncrement");
  TREE_FAIL("{'kind':'button','props':{'label':'a','onDecrement':1,'onClick':{}}}",
            "root.props.onClick.handler must be a non-empty string", "root.props.onClick");
  /* other names are not EventRefs */
  TREE_OK("{'kind':'button','props':{'label':'a','onHover':5,'handler':''}}");
}

/* ---- extra fields ------------------------------------------------------------------------ */

static void test_extra_fields_allowed(void **state) {
  (void)state;
  TREE_OK("{'kind':'text','text':'a','id':'t1','style':{'bold':true},'props':{'x':[1]}}");
  TREE_OK("{'kind':'panel','title':'P','children':[{'kind':'button','props':{'label':'a',"
          "'variant':'ghost','data':{'k':1}},'key':3}],'meta':null}");
  TREE_OK("{'kind':'table','props':{'headers':['h'],'rows':[['c']],'caption':'t'},'x':1}");
  TREE_OK("{'kind':'counter','props':{'value':1,'min':0,'max':10},'children':5}");
  /* the validator only reads: the tree (with its extras) is unchanged, checked in
   * tree_check_b for every case */
}

/* ---- budgets ------------------------------------------------------------------------------ */

/* {"kind":"panel","children":[ ... depth levels ... ]} with a text leaf at `depth`. */
static json_t *deep_tree(uint32_t depth) {
  json_t *node = json_pack("{s:s,s:s}", "kind", "text", "text", "leaf");
  for (uint32_t d = 1; d < depth; d++)
    node = json_pack("{s:s,s:[o]}", "kind", "panel", "children", node);
  assert_non_null(node);
  return node;
}

/* A panel with n - 1 text children: n nodes in all. */
static json_t *wide_tree(uint32_t n) {
  json_t *kids = json_array();
  for (uint32_t i = 1; i < n; i++)
    json_array_append_new(kids, json_pack("{s:s,s:s}", "kind", "text", "text", "x"));
  json_t *t = json_pack("{s:s,s:o}", "kind", "panel", "children", kids);
  assert_non_null(t);
  return t;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_depth_budget(void **state) {
  (void)state;
  al_error err;
  json_t *t = deep_tree(64);
  assert_int_equal(ui_validate_tree(t, &dflt, &err), 0);
  json_decref(t);

  t = deep_tree(65);
  assert_int_equal(ui_validate_tree(t, &dflt, &err), AL_ECONTRACT);
  assert_int_equal(err.code, AL_ECONTRACT);
  assert_true(ends_with(err.message, " exceeds the maximum tree depth of 64"));
  assert_true(strncmp(err.message, "root.children[0].children[0]", 28) == 0);
  assert_true(strncmp(err.path, "root.children[0].children[0]", 28) == 0);
  json_decref(t);

  /* very deep input is refused at the budget, not by exhausting the C stack */
  t = deep_tree(5000);
  assert_int_equal(ui_validate_tree(t, &dflt, &err), AL_ECONTRACT);
  assert_true(ends_with(err.message, " exceeds the maximum tree depth of 64"));
  json_decref(t);

  /* a custom budget, where the whole path fits */
  al_budgets b = {3, 100, 1000};
  t = deep_tree(3);
  assert_int_equal(ui_validate_tree(t, &b, &err), 0);
  json_decref(t);
  t = deep_tree(4);
  assert_int_equal(ui_validate_tree(t, &b, &err), AL_ECONTRACT);
  assert_string_equal(err.message,
                      "root.children[0].children[0].children[0] exceeds the maximum tree depth of 3");
  assert_string_equal(err.path, "root.children[0].children[0].children[0]");
  json_decref(t);
  assert_true(tree_check_b("{'kind':'panel','children':[{'kind':'text','text':'a'},{'kind':'row',"
                           "'children':[{'kind':'column','children':[{'kind':'text','text':'b'}]}]}]}",
                           &b, "root.children[1].children[0].children[0] exceeds the maximum tree depth of 3",
                           "root.children[1].children[0].children[0]"));
  /* depth 1: only a leaf root */
  b.max_depth = 1;
  assert_true(tree_check_b("{'kind':'text','text':'a'}", &b, NULL, NULL));
  assert_true(tree_check_b("{'kind':'panel','children':[]}", &b, NULL, NULL));
  assert_true(tree_check_b("{'kind':'panel','children':[{'kind':'text','text':'a'}]}", &b,
                           "root.children[0] exceeds the maximum tree depth of 1",
                           "root.children[0]"));
}

static void test_node_budget(void **state) {
  (void)state;
  al_error err;
  json_t *t = wide_tree(10000);
  assert_int_equal(ui_validate_tree(t, &dflt, &err), 0);
  json_decref(t);

  t = wide_tree(10001);
  assert_int_equal(ui_validate_tree(t, &dflt, &err), AL_ECONTRACT);
  assert_string_equal(err.message, "root.children[9999] exceeds the budget of 10000 nodes");
  assert_string_equal(err.path, "root.children[9999]");
  json_decref(t);

  /* nodes are counted across levels, not per level */
  al_budgets b = {64, 5, 1000};
  const char *five = "{'kind':'panel','children':[{'kind':'row','children':[{'kind':'text','text':'a'},"
                     "{'kind':'text','text':'b'}]},{'kind':'badge','text':'c'}]}";
  assert_true(tree_check_b(five, &b, NULL, NULL));
  b.max_nodes = 4;
  assert_true(tree_check_b(five, &b, "root.children[1] exceeds the budget of 4 nodes",
                           "root.children[1]"));
  b.max_nodes = 3;
  assert_true(tree_check_b(five, &b, "root.children[0].children[1] exceeds the budget of 3 nodes",
                           "root.children[0].children[1]"));
  /* a custom budget larger than the default */
  b = (al_budgets){64, 20000, 1u << 20};
  t = wide_tree(15000);
  assert_int_equal(ui_validate_tree(t, &b, &err), 0);
  assert_int_equal(ui_validate_tree(t, &dflt, &err), AL_ECONTRACT);
  json_decref(t);
}

/* ---- intents (section 4) ------------------------------------------------------------------ */

static bool intents_check(const char *json, const char *msg, const char *path) {
  json_t *v = tj(json);
  al_error err;
  memset(&err, 0, sizeof err);
  int rc = ui_validate_intents(v, &err);
  int rc_null = ui_validate_intents(v, NULL);
  json_decref(v);
  bool ok = rc == rc_null;
  if (!msg) {
    if (rc != 0) {
      print_error("expected intents %s to pass, got %s\n", json, err.message);
      ok = false;
    }
    return ok;
  }
  if (rc != AL_ECONTRACT || err.code != AL_ECONTRACT) {
    print_error("expected intents %s to fail with '%s', got rc %d\n", json, msg, rc);
    return false;
  }
  if (strcmp(err.message, msg) != 0) {
    print_error("intents %s: expected '%s', got '%s'\n", json, msg, err.message);
    ok = false;
  }
  if (path && strcmp(err.path, path) != 0) {
    print_error("intents %s: expected path '%s', got '%s'\n", json, path, err.path);
    ok = false;
  }
  return ok;
}

#define INTENTS_OK(j) assert_true(intents_check((j), NULL, NULL))
#define INTENTS_FAIL(j, m, p) assert_true(intents_check((j), (m), (p)))

static void test_intents(void **state) {
  (void)state;
  static const char *const not_array = "Dispatch intents result must be an array";
  static const char *const not_object = "Dispatch intent must be an object";
  static const char *const bad_scope = "Dispatch intent scope must be 'plugin' or 'shared'";
  static const char *const bad_action = "Dispatch intent actionType must be a non-empty string";
  static const char *const bad_domain = "Shared dispatch intent domain must be a non-empty string";

  INTENTS_OK("[]");
  INTENTS_OK("[{'scope':'plugin','actionType':'increment'}]");
  INTENTS_OK("[{'scope':'plugin','actionType':'x','payload':{'a':[1]}},"
             "{'scope':'shared','domain':'counter-summary','actionType':'set-instance','payload':1},"
             "{'scope':'plugin','actionType':'y','payload':null,'extra':true}]");
  /* a plugin intent's domain is not looked at */
  INTENTS_OK("[{'scope':'plugin','actionType':'x','domain':5}]");

  INTENTS_FAIL("{}", not_array, "intents");
  INTENTS_FAIL("null", not_array, "intents");
  INTENTS_FAIL("'increment'", not_array, "intents");
  INTENTS_FAIL("{'0':{'scope':'plugin','actionType':'x'}}", not_array, "intents");

  INTENTS_FAIL("[null]", not_object, "intents[0]");
  INTENTS_FAIL("[1]", not_object, "intents[0]");
  INTENTS_FAIL("[[]]", not_object, "intents[0]");
  INTENTS_FAIL("[{'scope':'plugin','actionType':'x'},'increment']", not_object, "intents[1]");

  INTENTS_FAIL("[{'actionType':'x'}]", bad_scope, "intents[0]");
  INTENTS_FAIL("[{'scope':'global','actionType':'x'}]", bad_scope, "intents[0]");
  INTENTS_FAIL("[{'scope':'Plugin','actionType':'x'}]", bad_scope, "intents[0]");
  INTENTS_FAIL("[{'scope':'','actionType':'x'}]", bad_scope, "intents[0]");
  INTENTS_FAIL("[{'scope':1,'actionType':'x'}]", bad_scope, "intents[0]");
  INTENTS_FAIL("[{'scope':null,'actionType':'x'}]", bad_scope, "intents[0]");

  INTENTS_FAIL("[{'scope':'plugin'}]", bad_action, "intents[0]");
  INTENTS_FAIL("[{'scope':'plugin','actionType':''}]", bad_action, "intents[0]");
  INTENTS_FAIL("[{'scope':'plugin','actionType':1}]", bad_action, "intents[0]");
  INTENTS_FAIL("[{'scope':'shared','domain':'d','actionType':null}]", bad_action, "intents[0]");
  /* actionType is checked before domain */
  INTENTS_FAIL("[{'scope':'shared','actionType':''}]", bad_action, "intents[0]");

  INTENTS_FAIL("[{'scope':'shared','actionType':'set'}]", bad_domain, "intents[0]");
  INTENTS_FAIL("[{'scope':'shared','actionType':'set','domain':''}]", bad_domain, "intents[0]");
  INTENTS_FAIL("[{'scope':'shared','actionType':'set','domain':3}]", bad_domain, "intents[0]");
  INTENTS_FAIL("[{'scope':'shared','actionType':'set','domain':null}]", bad_domain, "intents[0]");

  /* the first invalid intent is the one reported */
  INTENTS_FAIL("[{'scope':'plugin','actionType':'ok'},{'scope':'shared','actionType':'set'},"
               "{'scope':'bad'},7]",
               bad_domain, "intents[1]");
  INTENTS_FAIL("[{'scope':'plugin','actionType':'a'},{'scope':'plugin','actionType':'b'},"
               "{'scope':'plugin','actionType':'c'},{'scope':'x','actionType':'d'}]",
               bad_scope, "intents[3]");
}

/* ---- metadata ------------------------------------------------------------------------------ */

static bool meta_check(const char *json, const char *msg, const char *path) {
  json_t *v = tj(json);
  al_error err;
  memset(&err, 0, sizeof err);
  int rc = ui_validate_metadata(v, &err);
  json_decref(v);
  if (!msg) {
    if (rc) print_error("metadata %s: unexpected '%s'\n", json, err.message);
    return rc == 0;
  }
  bool ok = rc == AL_ECONTRACT && err.code == AL_ECONTRACT && strcmp(err.message, msg) == 0 &&
            (!path || strcmp(err.path, path) == 0);
  if (!ok)
    print_error("metadata %s: expected '%s' (%s), got rc %d '%s' (%s)\n", json, msg,
                path ? path : "-", rc, err.message, err.path);
  return ok;
}

static void test_metadata(void **state) {
  (void)state;
  assert_true(meta_check("{'title':'T','widgets':['main']}", NULL, NULL));
  assert_true(meta_check("{'declaredId':'counter','title':'Counter','description':'d',"
                         "'initialState':{'value':0},'widgets':['main','side']}",
                         NULL, NULL));
  assert_true(meta_check("{'title':'','widgets':['a'],'initialState':null}", NULL, NULL));

  assert_true(meta_check("null", "Plugin metadata must be an object", "plugin"));
  assert_true(meta_check("[]", "Plugin metadata must be an object", "plugin"));
  assert_true(meta_check("{'widgets':['a']}", "Plugin metadata title must be a string", "title"));
  assert_true(meta_check("{'title':5,'widgets':['a']}", "Plugin metadata title must be a string",
                         "title"));
  assert_true(meta_check("{'title':'T','declaredId':5,'widgets':['a']}",
                         "Plugin metadata declaredId must be a string", "declaredId"));
  assert_true(meta_check("{'title':'T','description':{},'widgets':['a']}",
                         "Plugin metadata description must be a string", "description"));
  assert_true(meta_check("{'title':'T'}", "Plugin metadata widgets must be a string[]", "widgets"));
  assert_true(meta_check("{'title':'T','widgets':{'main':{}}}",
                         "Plugin metadata widgets must be a string[]", "widgets"));
  assert_true(meta_check("{'title':'T','widgets':['a',1]}",
                         "Plugin metadata widgets must be a string[]", "widgets"));
  assert_true(meta_check("{'title':'T','widgets':['a','']}",
                         "Plugin widget ids must be non-empty strings", "widgets"));
  assert_true(meta_check("{'title':'T','widgets':['a','b','a']}",
                         "Plugin widget id 'a' is repeated", "widgets"));
}

/* ---- grants -------------------------------------------------------------------------------- */

static bool grants_check(const char *json, const char *msg) {
  json_t *v = tj(json);
  al_error err;
  memset(&err, 0, sizeof err);
  int rc = ui_validate_grants(v, &err);
  json_decref(v);
  if (!msg) {
    if (rc) print_error("grants %s: unexpected '%s'\n", json, err.message);
    return rc == 0;
  }
  bool ok = rc == AL_EINVALID_ARGUMENT && err.code == AL_EINVALID_ARGUMENT &&
            strcmp(err.message, msg) == 0;
  if (!ok) print_error("grants %s: expected '%s', got rc %d '%s'\n", json, msg, rc, err.message);
  return ok;
}

static void test_grants(void **state) {
  (void)state;
  assert_true(grants_check("{}", NULL));
  assert_true(grants_check("{'readShared':[]}", NULL));
  assert_true(grants_check("{'readShared':['counter-summary'],'writeShared':['counter-summary'],"
                           "'systemCommands':['reload']}",
                           NULL));
  assert_true(grants_check("null", "grants must be an object"));
  assert_true(grants_check("['readShared']", "grants must be an object"));
  assert_true(grants_check("{'readShared':[],'admin':true}",
                           "grants.admin is not a grant (readShared, writeShared, systemCommands)"));
  assert_true(grants_check("{'readshared':[]}",
                           "grants.readshared is not a grant (readShared, writeShared, systemCommands)"));
  assert_true(grants_check("{'readShared':'counter-summary'}",
                           "grants.readShared must be an array of strings"));
  assert_true(grants_check("{'writeShared':['a',1]}", "grants.writeShared must be an array of strings"));
  assert_true(grants_check("{'systemCommands':null}",
                           "grants.systemCommands must be an array of strings"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_root_must_be_object),
      cmocka_unit_test(test_child_must_be_object),
      cmocka_unit_test(test_kind_must_be_string),
      cmocka_unit_test(test_containers),
      cmocka_unit_test(test_text_badge),
      cmocka_unit_test(test_button),
      cmocka_unit_test(test_input),
      cmocka_unit_test(test_counter),
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_unsupported_kind),
      cmocka_unit_test(test_event_refs),
      cmocka_unit_test(test_extra_fields_allowed),
      cmocka_unit_test(test_depth_budget),
      cmocka_unit_test(test_node_budget),
      cmocka_unit_test(test_intents),
      cmocka_unit_test(test_metadata),
      cmocka_unit_test(test_grants),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

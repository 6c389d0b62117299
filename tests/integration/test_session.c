/*
 * test_session.c: the workbench protocol (docs/workbench-protocol.md) end to end, without
 * sockets: messages go into a session and everything it sends is captured per client.
 * Covers the acceptance flows at the protocol level (the page tests repeat them through a
 * browser): counter increments with timeline rows, custom code denied a shared write
 * until granted, hot reload keeping state, a syntax error naming its line and a fix
 * recovering, a spinning load not holding up other requests, and bad messages answered.
 * The hooks layer: pi.logger lines pushed as `log`, the audit trail as `audit` (a grant
 * change included), and an approval asked on the page, deduplicated while pending,
 * remembered once answered and revocable.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "session.h"

typedef struct sent {
  uint64_t client;
  json_t *msg;
  char *text; /* as sent */
} sent;

typedef struct capture {
  sent *v;
  size_t n, cap;
} capture;

static void on_send(void *ud, uint64_t client, const char *text, size_t len) {
  capture *c = ud;
  json_error_t je;
  json_t *m = json_loadb(text, len, 0, &je);
  if (!m) fail_msg("session sent invalid JSON: %s: %.*s", je.text, (int)len, text);
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 64;
    c->v = realloc(c->v, c->cap * sizeof *c->v);
    assert_non_null(c->v);
  }
  char *t = strndup(text, len);
  assert_non_null(t);
  c->v[c->n++] = (sent){client, m, t};
}

static void capture_clear(capture *c) {
  for (size_t i = 0; i < c->n; i++) {
    json_decref(c->v[i].msg);
    free(c->v[i].text);
  }
  c->n = 0;
}

typedef struct fixture {
  sess *s;
  capture cap;
  int next_id;
} fixture;

static int setup(void **st) {
  fixture *f = calloc(1, sizeof *f);
  sess_config cfg = {.isolation = AL_ISOLATION_THREAD, .workers = 2, .send = on_send,
                     .send_ud = &f->cap};
  al_error e;
  if (sess_new(&cfg, &f->s, &e)) fail_msg("sess_new: %s", e.message);
  *st = f;
  return 0;
}

static int teardown(void **st) {
  fixture *f = *st;
  sess_free(f->s);
  capture_clear(&f->cap);
  free(f->cap.v);
  free(f);
  return 0;
}

/* Runs dispatches until nothing is pending (bounded). */
static void settle(fixture *f) {
  for (int i = 0; i < 500 && sess_pending(f->s); i++) {
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
    sess_dispatch(f->s);
  }
  assert_int_equal(sess_pending(f->s), 0);
}

/* Sends a request from client 1, settles, and returns its answer (borrowed from the
 * capture, valid until the next capture_clear). */
static int send_only(fixture *f, json_t *req /* stolen */);
static json_t *reply_to(fixture *f, int id);

static json_t *request(fixture *f, json_t *req /* stolen */) {
  int id = send_only(f, req);
  settle(f);
  json_t *m = reply_to(f, id);
  if (m) {
    size_t i = 0;
    while (f->cap.v[i].msg != m) i++;
    assert_int_equal(f->cap.v[i].client, 1);
    return m;
  }
  fail_msg("no answer to request %d", id);
  return NULL;
}

/* Sends a request without waiting for the session to settle (a call that parks on an
 * approval keeps it unsettled); returns its id, for reply_to. */
static int send_only(fixture *f, json_t *req /* stolen */) {
  int id = ++f->next_id;
  json_object_set_new(req, "id", json_integer(id));
  char *text = json_dumps(req, JSON_COMPACT);
  json_decref(req);
  sess_message(f->s, 1, text, strlen(text));
  free(text);
  return id;
}

/* The captured reply to request `id`, or NULL. */
static json_t *reply_to(fixture *f, int id) {
  for (size_t i = 0; i < f->cap.n; i++) {
    json_t *re = json_object_get(f->cap.v[i].msg, "re");
    if (re && json_integer_value(re) == id) return f->cap.v[i].msg;
  }
  return NULL;
}

static json_t *ok_of(json_t *answer) {
  json_t *ok = json_object_get(answer, "ok");
  if (!ok) {
    char *t = json_dumps(answer, 0);
    fail_msg("expected ok, got %s", t);
  }
  return ok;
}

/* The newest push of `type` (for `instance_id`, when not NULL) since the last clear. */
static json_t *last_push(fixture *f, const char *type, const char *instance_id) {
  for (size_t i = f->cap.n; i-- > 0;) {
    json_t *m = f->cap.v[i].msg;
    if (json_object_get(m, "re") || strcmp(json_string_value(json_object_get(m, "type")), type)) continue;
    json_t *iid = json_object_get(m, "instanceId");
    if (!iid) iid = json_object_get(json_object_get(m, "instance"), "instanceId");
    if (instance_id && (!iid || strcmp(json_string_value(iid), instance_id))) continue;
    assert_int_equal(f->cap.v[i].client, SESS_BROADCAST);
    return m;
  }
  return NULL;
}

/* Dispatches (bounded) until a push of `type` was captured; returns it. */
static json_t *await_push(fixture *f, const char *type) {
  json_t *m = NULL;
  for (int i = 0; i < 500 && !(m = last_push(f, type, NULL)); i++) {
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
    sess_dispatch(f->s);
  }
  assert_non_null(m);
  return m;
}

/* The text of the first text node of a pushed tree. */
static const char *first_text(json_t *tree) {
  if (!tree) return NULL;
  if (!strcmp(json_string_value(json_object_get(tree, "kind")), "text"))
    return json_string_value(json_object_get(tree, "text"));
  size_t i;
  json_t *ch;
  json_array_foreach(json_object_get(tree, "children"), i, ch) {
    const char *t = first_text(ch);
    if (t) return t;
  }
  return NULL;
}

static const char *catalog_source(fixture *f, const char *pkg) {
  json_t *ok = ok_of(request(f, json_pack("{s:s}", "type", "catalog")));
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(ok, "plugins"), i, e)
    if (!strcmp(json_string_value(json_object_get(e, "packageId")), pkg))
      return json_string_value(json_object_get(e, "source"));
  fail_msg("no %s in the catalog", pkg);
  return NULL;
}

static char *load(fixture *f, const char *pkg, const char *src) {
  json_t *ok = ok_of(request(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "load", "packageId", pkg,
                                         "source", src, "tabId", "tab-1")));
  json_t *inst = json_object_get(ok, "instance");
  assert_string_equal(json_string_value(json_object_get(inst, "tabId")), "tab-1");
  return strdup(json_string_value(json_object_get(inst, "instanceId")));
}

static void event(fixture *f, const char *id, const char *widget, const char *handler) {
  ok_of(request(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "event", "instanceId", id, "widgetId",
                             widget, "handler", handler)));
}

/* The workbench's New-plugin pattern: each click merges clicks + 1 from the state it read. */
static const char *CLICKER =
    "definePlugin(({ ui }) => ({ initialState: { clicks: 0 }, widgets: { main: {"
    "  render({ pluginState }) { return ui.text('clicks=' + pluginState.clicks); },"
    "  handlers: { click({ pluginState, dispatchPluginAction }) {"
    "    dispatchPluginAction('state/merge', { clicks: pluginState.clicks + 1 }); } } } } }));";

/* Fifty event messages sent back to back, as fast clicks send them, end at exactly fifty:
 * each event reads the state its predecessor left, in thread and process isolation. */
static void clicks_case(al_isolation iso) {
  fixture f = {0};
  sess_config cfg = {.isolation = iso, .workers = 1, .send = on_send, .send_ud = &f.cap};
  al_error e;
  if (sess_new(&cfg, &f.s, &e)) fail_msg("sess_new: %s", e.message);
  char *id = load(&f, "clicker", CLICKER);
  int ids[50];
  for (int i = 0; i < 50; i++)
    ids[i] = send_only(&f, json_pack("{s:s,s:s,s:s,s:s}", "type", "event", "instanceId", id, "widgetId",
                                      "main", "handler", "click"));
  settle(&f);
  for (int i = 0; i < 50; i++) ok_of(reply_to(&f, ids[i]));
  json_t *ok = ok_of(request(&f, json_pack("{s:s,s:s}", "type", "state.get", "instanceId", id)));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(ok, "state"), "clicks")), 50);
  free(id);
  sess_free(f.s);
  capture_clear(&f.cap);
  free(f.cap.v);
}

static void test_fifty_clicks_thread(void **st) {
  (void)st;
  clicks_case(AL_ISOLATION_THREAD);
}

static void test_fifty_clicks_process(void **st) {
  (void)st;
  clicks_case(AL_ISOLATION_PROCESS);
}

static void test_hello_and_catalog(void **st) {
  fixture *f = *st;
  json_t *ok = ok_of(request(f, json_pack("{s:s}", "type", "hello")));
  assert_string_equal(json_string_value(json_object_get(ok, "isolation")), "thread");
  json_t *cat = json_object_get(ok, "catalog");
  assert_true(json_array_size(cat) >= 6);
  size_t i;
  json_t *e;
  bool saw_counter = false;
  json_array_foreach(cat, i, e) {
    assert_non_null(json_string_value(json_object_get(e, "source")));
    assert_non_null(json_string_value(json_object_get(e, "title")));
    if (strcmp(json_string_value(json_object_get(e, "packageId")), "counter")) continue;
    saw_counter = true;
    json_t *g = json_object_get(e, "grants");
    assert_string_equal(json_string_value(json_array_get(json_object_get(g, "writeShared"), 0)), "counter-summary");
    assert_string_equal(json_string_value(json_object_get(e, "file")), "counter.js");
  }
  assert_true(saw_counter);
  assert_true(json_is_array(json_object_get(ok, "tabs")));
  assert_true(json_is_object(json_object_get(json_object_get(ok, "domains"), "counter-summary")));
  assert_string_equal(json_string_value(json_object_get(json_object_get(ok, "metrics"), "health")), "ok");
}

static void test_counter_twice(void **st) {
  fixture *f = *st;
  char *id = load(f, "counter", catalog_source(f, "counter"));
  json_t *t = last_push(f, "tree", id);
  assert_non_null(t);
  assert_string_equal(first_text(json_object_get(t, "tree")), "Counter: 0");
  capture_clear(&f->cap);
  event(f, id, "counter", "increment");
  event(f, id, "counter", "increment");
  t = last_push(f, "tree", id);
  assert_string_equal(json_string_value(json_object_get(t, "widgetId")), "counter");
  assert_string_equal(first_text(json_object_get(t, "tree")), "Counter: 2");
  json_t *s = last_push(f, "state", id);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "state"), "value")), 2);
  /* two events, two intents each: four timeline rows, with their payloads */
  size_t rows = 0;
  for (size_t i = 0; i < f->cap.n; i++) {
    json_t *m = f->cap.v[i].msg;
    if (json_object_get(m, "re") || strcmp(json_string_value(json_object_get(m, "type")), "timeline")) continue;
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(m, "entries"), k, e) {
      rows++;
      assert_string_equal(json_string_value(json_object_get(e, "outcome")), "applied");
      if (json_is_string(json_object_get(e, "domain")))
        assert_true(json_is_object(json_object_get(e, "payload")));
    }
  }
  assert_int_equal(rows, 4);
  json_t *sh = last_push(f, "shared", NULL);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(sh, "domains"),
                                                                      "counter-summary"), "totalValue")), 2);
  free(id);
}

static void test_two_instances_independent(void **st) {
  fixture *f = *st;
  const char *src = catalog_source(f, "counter");
  char *a = load(f, "counter", src), *b = load(f, "counter", src);
  assert_string_not_equal(a, b);
  event(f, a, "counter", "increment");
  json_t *ok = ok_of(request(f, json_pack("{s:s,s:s}", "type", "state.get", "instanceId", b)));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(ok, "state"), "value")), 0);
  ok = ok_of(request(f, json_pack("{s:s,s:s}", "type", "state.get", "instanceId", a)));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(ok, "state"), "value")), 1);
  free(a);
  free(b);
}

static const char *CUSTOM =
    "definePlugin(({ ui }) => ({ title: 'Custom', initialState: { n: 0 }, widgets: { main: {"
    "  render({ pluginState }) { return ui.text('n=' + pluginState.n); },"
    "  handlers: { write({ pluginState, dispatchPluginAction, dispatchSharedAction }) {"
    "    dispatchPluginAction('state/merge', { n: pluginState.n + 1 });"
    "    dispatchSharedAction('counter-summary', 'set-instance', { value: 5 }); } } } } }));";

static void test_custom_denied_until_granted(void **st) {
  fixture *f = *st;
  char *id = load(f, "custom", CUSTOM);
  json_t *g = ok_of(request(f, json_pack("{s:s,s:s}", "type", "grants.get", "instanceId", id)));
  assert_int_equal(json_array_size(json_object_get(json_object_get(g, "grants"), "writeShared")), 0);
  capture_clear(&f->cap);
  event(f, id, "main", "write");
  json_t *tl = last_push(f, "timeline", NULL);
  json_t *e = json_array_get(json_object_get(tl, "entries"), 1);
  assert_string_equal(json_string_value(json_object_get(e, "outcome")), "denied");
  assert_string_equal(json_string_value(json_object_get(e, "reason")), "missing-write-grant:counter-summary");
  json_t *ok = ok_of(request(f, json_pack("{s:s}", "type", "shared.get")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(ok, "domains"),
                                                                      "counter-summary"), "totalValue")), 0);
  /* a person grants write: recorded, and the next write applies */
  capture_clear(&f->cap);
  ok = ok_of(request(f, json_pack("{s:s,s:s,s:{s:[s]}}", "type", "grants.set", "instanceId", id,
                                  "grants", "writeShared", "counter-summary")));
  assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(ok, "grants"), "writeShared"), 0)),
                      "counter-summary");
  tl = last_push(f, "timeline", NULL);
  e = json_array_get(json_object_get(tl, "entries"), 0);
  assert_string_equal(json_string_value(json_object_get(e, "actionType")), "grants/set");
  assert_string_equal(json_string_value(json_object_get(e, "source")), "workbench");
  assert_non_null(last_push(f, "instance", NULL));
  event(f, id, "main", "write");
  ok = ok_of(request(f, json_pack("{s:s}", "type", "shared.get")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(ok, "domains"),
                                                                      "counter-summary"), "totalValue")), 5);
  /* an edited example is custom code too: no manifest grants */
  char *edited = load(f, "counter", "// edited\n" /* same package, different bytes */
                      "definePlugin(({ ui }) => ({ widgets: { counter: { render() { return ui.text('x'); } } } }));");
  g = ok_of(request(f, json_pack("{s:s,s:s}", "type", "grants.get", "instanceId", edited)));
  assert_int_equal(json_array_size(json_object_get(json_object_get(g, "grants"), "writeShared")), 0);
  free(edited);
  free(id);
}

static void test_reload_keeps_state_and_errors(void **st) {
  fixture *f = *st;
  char *id = load(f, "custom", CUSTOM);
  event(f, id, "main", "write");
  event(f, id, "main", "write");
  capture_clear(&f->cap);
  const char *v2 = "definePlugin(({ ui }) => ({ title: 'Custom v2', widgets: { main: {"
                   "  render({ pluginState }) { return ui.text('v2 n=' + pluginState.n); } } } }));";
  json_t *ok = ok_of(request(f, json_pack("{s:s,s:s,s:s}", "type", "reload", "instanceId", id, "source", v2)));
  json_t *inst = json_object_get(ok, "instance");
  assert_string_equal(json_string_value(json_object_get(inst, "instanceId")), id);
  assert_string_equal(json_string_value(json_object_get(inst, "title")), "Custom v2");
  assert_string_equal(first_text(json_object_get(last_push(f, "tree", id), "tree")), "v2 n=2");

  /* a syntax error on line 2: answered with the line, pushed to Errors, old code kept */
  capture_clear(&f->cap);
  const char *bad = "definePlugin(({ ui }) => ({\n  widgets: { main: { render() { return ui.text('x') } ,, } } }));";
  json_t *ans = request(f, json_pack("{s:s,s:s,s:s}", "type", "reload", "instanceId", id, "source", bad));
  json_t *err = json_object_get(ans, "error");
  assert_string_equal(json_string_value(json_object_get(err, "code")), "PLUGIN_LOAD_ERROR");
  assert_int_equal(json_integer_value(json_object_get(err, "line")), 2);
  json_t *errs = last_push(f, "errors", NULL);
  assert_non_null(errs);
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(errs, "entries"), 0), "op")), "reload");
  json_t *r = ok_of(request(f, json_pack("{s:s,s:s,s:s}", "type", "render", "instanceId", id, "widgetId", "main")));
  assert_string_equal(first_text(json_object_get(r, "tree")), "v2 n=2");
  /* fixing it recovers */
  ok_of(request(f, json_pack("{s:s,s:s,s:s}", "type", "reload", "instanceId", id, "source", CUSTOM)));
  r = ok_of(request(f, json_pack("{s:s,s:s,s:s}", "type", "render", "instanceId", id, "widgetId", "main")));
  assert_string_equal(first_text(json_object_get(r, "tree")), "n=2");
  /* unload: pushed, and the id is gone */
  ok_of(request(f, json_pack("{s:s,s:s}", "type", "unload", "instanceId", id)));
  assert_non_null(last_push(f, "unload", id));
  ans = request(f, json_pack("{s:s,s:s}", "type", "state.get", "instanceId", id));
  assert_string_equal(json_string_value(json_object_get(json_object_get(ans, "error"), "code")), "INSTANCE_NOT_FOUND");
  free(id);
}

/* A widget whose render loops shows VM_TIMEOUT in place; other instances keep working,
 * and a load that spins does not delay an answer to another request. */
static void test_timeouts_contained(void **st) {
  fixture *f = *st;
  const char *loop = "definePlugin(({ ui }) => ({ widgets: { main: { render() { for (;;) {} } } } }));";
  char *bad = load(f, "looper", loop);
  json_t *t = last_push(f, "tree", bad);
  assert_string_equal(json_string_value(json_object_get(json_object_get(t, "error"), "code")), "VM_TIMEOUT");
  json_t *rec = last_push(f, "instance", bad);
  assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "instance"), "status")), "error");
  char *good = load(f, "counter", catalog_source(f, "counter"));
  event(f, good, "counter", "increment");
  assert_string_equal(first_text(json_object_get(last_push(f, "tree", good), "tree")), "Counter: 1");

  /* the spinning load is answered after the state request sent behind it */
  capture_clear(&f->cap);
  const char *spin = "{\"id\":900,\"type\":\"load\",\"packageId\":\"spin\",\"source\":\"for(;;){}\"}";
  sess_message(f->s, 1, spin, strlen(spin));
  char q[256];
  snprintf(q, sizeof q, "{\"id\":901,\"type\":\"state.get\",\"instanceId\":\"%s\"}", good);
  sess_message(f->s, 1, q, strlen(q));
  bool got900 = false, got901 = false;
  for (size_t i = 0; i < f->cap.n; i++) {
    json_int_t re = json_integer_value(json_object_get(f->cap.v[i].msg, "re"));
    got900 |= re == 900;
    got901 |= re == 901;
  }
  assert_true(got901);
  assert_false(got900);
  settle(f);
  json_t *last = f->cap.v[f->cap.n - 1].msg;
  for (size_t i = 0; i < f->cap.n; i++)
    if (json_integer_value(json_object_get(f->cap.v[i].msg, "re")) == 900) last = f->cap.v[i].msg;
  assert_string_equal(json_string_value(json_object_get(json_object_get(last, "error"), "code")), "VM_TIMEOUT");
  free(bad);
  free(good);
}

static void expect_bad(fixture *f, const char *text, const char *needle) {
  capture_clear(&f->cap);
  sess_message(f->s, 7, text, strlen(text));
  settle(f);
  assert_true(f->cap.n >= 1);
  json_t *m = f->cap.v[0].msg;
  assert_int_equal(f->cap.v[0].client, 7);
  json_t *e = json_object_get(m, "error");
  assert_string_equal(json_string_value(json_object_get(e, "code")), "INVALID_ARGUMENT");
  const char *msg = json_string_value(json_object_get(e, "message"));
  if (!strstr(msg, needle)) fail_msg("'%s' does not mention '%s'", msg, needle);
}

static void test_bad_messages(void **st) {
  fixture *f = *st;
  expect_bad(f, "not json", "not valid JSON");
  expect_bad(f, "[1]", "must be a JSON object");
  expect_bad(f, "{\"id\":1}", "no 'type'");
  expect_bad(f, "{\"id\":1,\"type\":\"frobnicate\"}", "unknown message type 'frobnicate'");
  expect_bad(f, "{\"id\":1,\"type\":\"load\",\"source\":\"x\"}", "'packageId'");
  expect_bad(f, "{\"id\":1,\"type\":\"load\",\"packageId\":\"p\"}", "'source'");
  expect_bad(f, "{\"id\":1,\"type\":\"event\",\"instanceId\":\"a\",\"widgetId\":\"w\"}", "'handler'");
  expect_bad(f, "{\"id\":1,\"type\":\"grants.set\",\"instanceId\":\"a\",\"grants\":3}", "'grants'");
  expect_bad(f, "{\"id\":1,\"type\":\"tabs.save\",\"tabs\":{}}", "'tabs'");
  /* an id that is neither a number nor a string is not echoed */
  capture_clear(&f->cap);
  sess_message(f->s, 7, "{\"id\":[1],\"type\":\"x\"}", 22);
  assert_true(json_is_null(json_object_get(f->cap.v[0].msg, "re")));
  /* the id is echoed as sent */
  capture_clear(&f->cap);
  sess_message(f->s, 7, "{\"id\":\"abc\",\"type\":\"metrics\"}", 29);
  assert_string_equal(json_string_value(json_object_get(f->cap.v[0].msg, "re")), "abc");
  /* over the cap */
  size_t n = SESS_MAX_MESSAGE + 10;
  char *big = malloc(n);
  memset(big, ' ', n);
  expect_bad(f, "", "not valid JSON");
  capture_clear(&f->cap);
  sess_message(f->s, 7, big, n);
  assert_non_null(strstr(json_string_value(json_object_get(json_object_get(f->cap.v[0].msg, "error"), "message")),
                         "over the"));
  free(big);
}

/* A plugin error quoting a long non-ASCII string is cut inside a character by the fixed
 * message size; the answer must still be sent, as valid JSON. */
static void test_error_cut_inside_character(void **st) {
  fixture *f = *st;
  const char *src = "definePlugin(({ ui }) => ({ widgets: { main: { render() { return ui.text('x'); },"
                    "  handlers: { boom() { throw new Error('\u00e9'.repeat(400)); } } } } }));";
  char *id = load(f, "thrower", src);
  for (int pad = 0; pad < 2; pad++) { /* both parities of the cut */
    json_t *ans = request(f, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "event", "instanceId", id,
                                       "widgetId", "main", "handler", "boom", "pad", pad ? "x" : ""));
    json_t *e = json_object_get(ans, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "PLUGIN_ERROR");
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "\xc3\xa9"));
  }
  free(id);
}

static void test_tabs_persist(void **st) {
  (void)st;
  char dir[] = "/tmp/airlock-tabs-XXXXXX";
  assert_non_null(mkdtemp(dir));
  capture cap = {0};
  sess_config cfg = {.isolation = AL_ISOLATION_INLINE, .home = dir, .send = on_send, .send_ud = &cap};
  sess *s = NULL;
  assert_int_equal(sess_new(&cfg, &s, NULL), 0);
  const char *save = "{\"id\":1,\"type\":\"tabs.save\",\"tabs\":[{\"tabId\":\"t1\",\"packageId\":\"p\",\"source\":\"// \\u00e9dit\"}]}";
  sess_message(s, 1, save, strlen(save));
  assert_non_null(json_object_get(cap.v[cap.n - 1].msg, "ok"));
  sess_free(s);
  capture_clear(&cap);
  assert_int_equal(sess_new(&cfg, &s, NULL), 0); /* a restart */
  sess_message(s, 1, "{\"id\":2,\"type\":\"hello\"}", 23);
  json_t *tabs = json_object_get(json_object_get(cap.v[0].msg, "ok"), "tabs");
  assert_int_equal(json_array_size(tabs), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(tabs, 0), "source")), "// \xc3\xa9" "dit");
  sess_free(s);
  capture_clear(&cap);
  free(cap.v);
  char path[128];
  snprintf(path, sizeof path, "%s/workbench-tabs.json", dir);
  assert_int_equal(unlink(path), 0);
  /* the host database (pi.kv) lives beside the tabs */
  snprintf(path, sizeof path, "%s/airlock.db", dir);
  assert_int_equal(access(path, F_OK), 0);
  snprintf(path, sizeof path, "rm -rf %s", dir);
  assert_int_equal(system(path), 0);
}

/* ---- the hooks layer ------------------------------------------------------------------ */

static atomic_int wakes;
static void on_wake(void *ud) {
  (void)ud;
  atomic_fetch_add(&wakes, 1);
}

typedef struct hooks_fixture {
  fixture f;
  char home[32];
} hooks_fixture;

/* A session with a database and a policy whose default is "ask". */
static int setup_hooks(void **st) {
  hooks_fixture *hf = calloc(1, sizeof *hf);
  snprintf(hf->home, sizeof hf->home, "/tmp/airlock-sess-XXXXXX");
  if (!mkdtemp(hf->home)) fail_msg("mkdtemp");
  sess_config cfg = {.isolation = AL_ISOLATION_THREAD, .workers = 2, .home = hf->home,
                     .policy_json = "{\"mode\": \"all\", \"default\": \"ask\"}",
                     .send = on_send, .send_ud = &hf->f.cap, .wake = on_wake};
  al_error e;
  if (sess_new(&cfg, &hf->f.s, &e)) fail_msg("sess_new: %s", e.message);
  *st = hf;
  return 0;
}

static int teardown_hooks(void **st) {
  hooks_fixture *hf = *st;
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", hf->home);
  sess_free(hf->f.s);
  capture_clear(&hf->f.cap);
  free(hf->f.cap.v);
  if (system(cmd)) fail_msg("%s failed", cmd);
  free(hf);
  return 0;
}

/* Custom code (no manifest: no kv capability), so pi.kv reaches the policy's default. */
static const char *KV_PLUGIN =
    "definePlugin(({ ui }) => ({ title: 'KV', initialState: { n: 0 }, widgets: { main: {"
    "  render({ pluginState }) { return ui.text('n=' + pluginState.n); },"
    "  handlers: { async put({ pluginState, dispatchPluginAction }) {"
    "    pi.logger.info('putting', pluginState.n + 1);"
    "    await pi.kv.set('count', pluginState.n + 1);"
    "    dispatchPluginAction('state/merge', { n: pluginState.n + 1 }); } } } } }));";

/* Sends an event and returns the answer (ok or error). */
static json_t *try_event(fixture *f, const char *id) {
  return request(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "event", "instanceId", id, "widgetId",
                              "main", "handler", "put"));
}

/* How many pushes of `type` since the last clear. */
static size_t count_pushes(fixture *f, const char *type) {
  size_t n = 0;
  for (size_t i = 0; i < f->cap.n; i++) {
    const char *t = json_string_value(json_object_get(f->cap.v[i].msg, "type"));
    if (!json_object_get(f->cap.v[i].msg, "re") && t && !strcmp(t, type)) n++;
  }
  return n;
}

static const char *audit_field(json_t *rec, const char *k) { return json_string_value(json_object_get(rec, k)); }

static void test_log_audit_and_approval(void **st) {
  fixture *f = &((hooks_fixture *)*st)->f;
  char *id = load(f, "kvdemo", KV_PLUGIN);
  capture_clear(&f->cap);
  atomic_store(&wakes, 0);

  /* 1. asked, nobody has answered: the call waits for the person (parked, its deadline
   * paused), a prompt and a log line are pushed, and nothing is denied meanwhile */
  int first = send_only(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "event", "instanceId", id, "widgetId",
                                     "main", "handler", "put"));
  json_t *prompt = json_object_get(await_push(f, "approval"), "prompt");
  assert_non_null(prompt);
  assert_true(atomic_load(&wakes) >= 1); /* the callbacks woke the loop */
  json_t *log = await_push(f, "log");
  json_t *line = json_array_get(json_object_get(log, "entries"), 0);
  assert_string_equal(audit_field(line, "level"), "info");
  assert_non_null(strstr(audit_field(line, "message"), "putting"));
  assert_non_null(strstr(audit_field(line, "message"), "1"));
  const char *plugin = audit_field(line, "pluginId");
  assert_non_null(plugin);
  assert_string_equal(audit_field(prompt, "pluginId"), plugin);
  assert_string_equal(audit_field(prompt, "action"), "kv");
  assert_string_equal(audit_field(prompt, "resource"), "count");
  char *key = strdup(audit_field(prompt, "key"));
  assert_null(reply_to(f, first)); /* still waiting */
  assert_true(sess_pending(f->s) > 0);

  /* 2. a person allows: remembered, and that same first call goes on and succeeds */
  json_t *ok = ok_of(request(f, json_pack("{s:s,s:s,s:b}", "type", "approval.answer", "key", key, "allow", 1)));
  json_t *appr = json_object_get(ok, "approvals");
  assert_int_equal(json_array_size(json_object_get(appr, "pending")), 0);
  json_t *mem = json_array_get(json_object_get(appr, "remembered"), 0);
  assert_true(json_is_true(json_object_get(mem, "allow")));
  assert_string_equal(audit_field(mem, "resource"), "count");
  assert_non_null(last_push(f, "approvals", NULL));
  ok_of(reply_to(f, first));
  json_t *rec = json_array_get(json_object_get(last_push(f, "audit", NULL), "records"), 0);
  assert_string_equal(audit_field(rec, "action"), "kv");
  assert_string_equal(audit_field(rec, "decision"), "allowed");
  assert_non_null(strstr(audit_field(rec, "reason"), "Requires user approval: approved"));
  assert_string_equal(first_text(json_object_get(last_push(f, "tree", id), "tree")), "n=1");

  /* 3. asked again: the remembered answer applies at once, no prompt */
  capture_clear(&f->cap);
  ok_of(try_event(f, id));
  assert_int_equal(count_pushes(f, "approval"), 0);

  /* 4. a new page gets the lot in hello */
  ok = ok_of(request(f, json_pack("{s:s}", "type", "hello")));
  assert_true(json_array_size(json_object_get(ok, "logs")) >= 2);
  assert_true(json_array_size(json_object_get(ok, "audit")) >= 2);
  assert_int_equal(json_array_size(json_object_get(json_object_get(ok, "approvals"), "remembered")), 1);
  ok = ok_of(request(f, json_pack("{s:s,s:i}", "type", "audit", "n", 2)));
  assert_int_equal(json_array_size(json_object_get(ok, "records")), 2);
  assert_string_equal(audit_field(json_array_get(json_object_get(ok, "records"), 0), "decision"), "allowed");

  /* 5. revoked: asked again (a fresh prompt); a person denies, and the waiting call fails */
  ok_of(request(f, json_pack("{s:s,s:s}", "type", "approval.revoke", "key", key)));
  capture_clear(&f->cap);
  int again = send_only(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "event", "instanceId", id, "widgetId",
                                     "main", "handler", "put"));
  await_push(f, "approval");
  assert_int_equal(count_pushes(f, "approval"), 1);
  assert_null(reply_to(f, again));
  ok_of(request(f, json_pack("{s:s,s:s,s:b}", "type", "approval.answer", "key", key, "allow", 0)));
  assert_non_null(json_object_get(reply_to(f, again), "error"));

  /* 6. a deny is remembered too: no more prompts for it */
  capture_clear(&f->cap);
  assert_non_null(json_object_get(try_event(f, id), "error"));
  assert_int_equal(count_pushes(f, "approval"), 0);
  /* the same denial again within seconds is counted, not recorded twice (audit.c): the
   * newest record is still the person's "not approved" */
  ok = ok_of(request(f, json_pack("{s:s,s:i}", "type", "audit", "n", 1)));
  rec = json_array_get(json_object_get(ok, "records"), 0);
  assert_non_null(strstr(audit_field(rec, "reason"), "not approved"));
  free(key);
  free(id);
}

static void test_audit_shows_grant_change(void **st) {
  fixture *f = &((hooks_fixture *)*st)->f;
  char *id = load(f, "custom", CUSTOM);
  capture_clear(&f->cap);
  ok_of(request(f, json_pack("{s:s,s:s,s:{s:[s]}}", "type", "grants.set", "instanceId", id,
                             "grants", "writeShared", "counter-summary")));
  json_t *rec = json_array_get(json_object_get(last_push(f, "audit", NULL), "records"), 0);
  assert_non_null(rec);
  assert_string_equal(audit_field(rec, "action"), "grants");
  assert_string_equal(audit_field(rec, "resource"), id);
  assert_string_equal(audit_field(rec, "decision"), "changed");
  assert_non_null(strstr(audit_field(rec, "reason"), "counter-summary"));
  free(id);
}

/* A plugin that logs faster than the host thread drains is cut off at the queue's bound,
 * and the drop is counted rather than hidden; a new page gets only the newest lines. */
static void test_log_flood_bounded(void **st) {
  (void)st;
  /* inline: the lines are all queued inside the load, before any flush could drain them */
  fixture fx = {0}, *f = &fx;
  sess_config cfg = {.isolation = AL_ISOLATION_INLINE, .send = on_send, .send_ud = &f->cap};
  assert_int_equal(sess_new(&cfg, &f->s, NULL), 0);
  char *id = load(f, "flood",
                  "for (let i = 0; i < 2100; i++) pi.logger.debug('line ' + i);"
                  "definePlugin(({ ui }) => ({ widgets: { w: { render() { return ui.text('x'); } } } }));");
  json_t *log = last_push(f, "log", NULL);
  assert_non_null(log);
  json_t *entries = json_object_get(log, "entries");
  assert_int_equal(json_array_size(entries), 2000);
  assert_int_equal(json_integer_value(json_object_get(log, "dropped")), 100);
  assert_string_equal(audit_field(json_array_get(entries, 0), "message"), "line 0");
  assert_string_equal(audit_field(json_array_get(entries, 0), "level"), "debug");
  json_t *ok = ok_of(request(f, json_pack("{s:s}", "type", "hello")));
  json_t *kept = json_object_get(ok, "logs");
  assert_int_equal(json_array_size(kept), 500);
  assert_string_equal(audit_field(json_array_get(kept, 499), "message"), "line 1999");
  free(id);
  /* a long line is cut at 4 KiB, at a character boundary: 'a' then 2-byte characters */
  capture_clear(&f->cap);
  id = load(f, "long", "pi.logger.info('a' + '\\u00e9'.repeat(5000));"
                       "definePlugin(({ ui }) => ({ widgets: { w: { render() { return ui.text('x'); } } } }));");
  const char *msg = audit_field(json_array_get(json_object_get(last_push(f, "log", NULL), "entries"), 0), "message");
  assert_int_equal(strlen(msg), 4095);
  assert_memory_equal(msg, "a\xc3\xa9", 3);
  free(id);
  sess_free(f->s);
  capture_clear(&f->cap);
  free(f->cap.v);
}

/* ---- pi extensions on the pi lane -------------------------------------------------------- */

/* The bundled pi extension's source, from the catalog (which says it is one). */
static char *pi_example(fixture *f) {
  json_t *ok = ok_of(request(f, json_pack("{s:s}", "type", "catalog")));
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(ok, "plugins"), i, e) {
    if (strcmp(json_string_value(json_object_get(e, "packageId")), "permission-guard")) continue;
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "pi");
    assert_string_equal(json_string_value(json_object_get(e, "file")), "permission-guard.ts");
    return strdup(json_string_value(json_object_get(e, "source")));
  }
  fail_msg("no permission-guard in the catalog");
  return NULL;
}

static int pi_emit(fixture *f, const char *command) {
  return send_only(f, json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}}}", "type", "pi.emit", "event", "tool_call",
                                "payload", "toolName", "bash", "toolCallId", "c1", "input", "command", command));
}

/* Dispatches (bounded) until request `id` is answered; returns the answer. */
static json_t *await_reply(fixture *f, int id) {
  json_t *m = NULL;
  for (int i = 0; i < 1000 && !(m = reply_to(f, id)); i++) {
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
    sess_dispatch(f->s);
  }
  if (!m) fail_msg("no answer to request %d", id);
  return m;
}

static bool has_name(json_t *list, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    const char *n = json_is_string(v) ? json_string_value(v) : json_string_value(json_object_get(v, "name"));
    if (n && !strcmp(n, name)) return true;
  }
  return false;
}

/* The flow the page drives: load the bundled guard, its registrations; a dangerous command
 * asks through the approvals (action ui) while the ordinary plugins go on answering; deny
 * blocks, allow continues (a ctx.ui question is never remembered), a harmless command does
 * not ask; the command's notify intent and the tool's answer; a syntax error naming the
 * .ts line replaces the tab's instance. */
static void test_pi_lane(void **st) {
  fixture *f = &((hooks_fixture *)*st)->f;
  char *src = pi_example(f);
  json_t *ok = ok_of(request(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "pi.load", "tabId", "tab-pi", "sourceName",
                                          "permission-guard.ts", "source", src)));
  assert_string_equal(json_string_value(json_object_get(ok, "pluginId")), "permission-guard");
  char *pid = strdup(json_string_value(json_object_get(ok, "instanceId")));
  json_t *reg = json_object_get(ok, "registrations");
  assert_true(has_name(json_object_get(reg, "tools"), "guard_check"));
  assert_true(has_name(json_object_get(reg, "commands"), "guard-status"));
  assert_true(has_name(json_object_get(reg, "events"), "tool_call"));
  char *cid = load(f, "clicker", CLICKER);
  capture_clear(&f->cap);

  /* asked: the prompt is the approvals' own, and the emit waits for it */
  int em = pi_emit(f, "rm -rf /tmp/x");
  json_t *prompt = json_object_get(await_push(f, "approval"), "prompt");
  assert_string_equal(json_string_value(json_object_get(prompt, "action")), "ui");
  assert_string_equal(json_string_value(json_object_get(prompt, "resource")), "Dangerous command: rm -rf /tmp/x");
  char *key = strdup(json_string_value(json_object_get(prompt, "key")));
  /* meanwhile the loop serves the ordinary host: a click completes before the emit */
  int click = send_only(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "event", "instanceId", cid, "widgetId", "main",
                                     "handler", "click"));
  ok_of(await_reply(f, click));
  assert_null(reply_to(f, em));

  /* denied: blocked by the user; nothing remembered */
  ok = ok_of(request(f, json_pack("{s:s,s:s,s:b}", "type", "approval.answer", "key", key, "allow", 0)));
  assert_int_equal(json_array_size(json_object_get(json_object_get(ok, "approvals"), "remembered")), 0);
  ok = ok_of(await_reply(f, em));
  assert_string_equal(json_string_value(json_object_get(ok, "action")), "block");
  assert_string_equal(json_string_value(json_object_get(ok, "reason")), "Blocked by user");

  /* asked again (a fresh question), allowed: the call continues */
  capture_clear(&f->cap);
  em = pi_emit(f, "rm -rf /tmp/x");
  await_push(f, "approval");
  ok_of(request(f, json_pack("{s:s,s:s,s:b}", "type", "approval.answer", "key", key, "allow", 1)));
  ok = ok_of(await_reply(f, em));
  assert_string_equal(json_string_value(json_object_get(ok, "action")), "continue");

  /* harmless: no question */
  capture_clear(&f->cap);
  ok = ok_of(await_reply(f, pi_emit(f, "ls -la")));
  assert_string_equal(json_string_value(json_object_get(ok, "action")), "continue");
  assert_int_equal(count_pushes(f, "approval"), 0);

  /* the command's notify intent, the tool's answer, the list */
  ok = ok_of(request(f, json_pack("{s:s,s:s}", "type", "pi.command", "name", "guard-status")));
  json_t *intent = json_array_get(json_object_get(ok, "intents"), 0);
  assert_string_equal(json_string_value(json_object_get(intent, "type")), "notify");
  assert_non_null(strstr(json_string_value(json_object_get(intent, "message")), "permission-guard"));
  ok = ok_of(request(f, json_pack("{s:s,s:s,s:{s:s}}", "type", "pi.tool", "name", "guard_check", "params",
                                  "command", "sudo ls")));
  assert_true(json_is_true(json_object_get(json_object_get(ok, "details"), "dangerous")));
  ok = ok_of(request(f, json_pack("{s:s}", "type", "pi.list")));
  assert_int_equal(json_array_size(json_object_get(ok, "extensions")), 1);
  json_t *err = json_object_get(request(f, json_pack("{s:s,s:s}", "type", "pi.command", "name", "nope")), "error");
  assert_string_equal(json_string_value(json_object_get(err, "code")), "INVALID_ARGUMENT");

  /* a syntax error: names the .ts file's line; the tab's old instance is gone either way */
  err = json_object_get(request(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "pi.load", "tabId", "tab-pi", "sourceName",
                                             "guard.ts", "source",
                                             "export default function (pi: any) {\n  const a: number = 1;\n"
                                             "  const x = ;\n}\n")),
                        "error");
  assert_non_null(err);
  assert_int_equal(json_integer_value(json_object_get(err, "line")), 3);
  assert_non_null(strstr(json_string_value(json_object_get(err, "message")), "guard.ts"));
  ok = ok_of(request(f, json_pack("{s:s}", "type", "pi.list")));
  assert_int_equal(json_array_size(json_object_get(ok, "extensions")), 0);
  err = json_object_get(request(f, json_pack("{s:s,s:s}", "type", "pi.unload", "instanceId", pid)), "error");
  assert_string_equal(json_string_value(json_object_get(err, "code")), "INSTANCE_NOT_FOUND");

  /* loaded again and unloaded by id */
  ok = ok_of(request(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "pi.load", "tabId", "tab-pi", "sourceName",
                                  "permission-guard.ts", "source", src)));
  ok_of(request(f, json_pack("{s:s,s:O}", "type", "pi.unload", "instanceId", json_object_get(ok, "instanceId"))));
  ok = ok_of(request(f, json_pack("{s:s}", "type", "pi.list")));
  assert_int_equal(json_array_size(json_object_get(ok, "extensions")), 0);
  free(key);
  free(cid);
  free(pid);
  free(src);
}

/* Answers the pending prompt `key` (allow, and `text` when not NULL); the answer's ok. */
static json_t *answer_text(fixture *f, const char *key, int allow, const char *text) {
  json_t *req = json_pack("{s:s,s:s,s:b}", "type", "approval.answer", "key", key, "allow", allow);
  if (text) json_object_set_new(req, "text", json_string(text));
  return ok_of(await_reply(f, send_only(f, req)));
}

/* Waits for the next prompt (the capture cleared first by the caller); checks its action
 * and returns its key (strdup'd) and its resource parsed (`*res`, a new reference). */
static char *await_prompt(fixture *f, const char *action, json_t **res) {
  json_t *prompt = json_object_get(await_push(f, "approval"), "prompt");
  assert_string_equal(json_string_value(json_object_get(prompt, "action")), action);
  json_error_t je;
  *res = json_loads(json_string_value(json_object_get(prompt, "resource")), 0, &je);
  if (!*res) fail_msg("the %s resource is not JSON: %s", action, je.text);
  return strdup(json_string_value(json_object_get(prompt, "key")));
}

/* The /note intent's message. */
static const char *note_message(json_t *ok) {
  json_t *intent = json_array_get(json_object_get(ok, "intents"), 0);
  assert_string_equal(json_string_value(json_object_get(intent, "type")), "notify");
  return json_string_value(json_object_get(intent, "message"));
}

static const char *error_message(json_t *answer, const char *code) {
  json_t *err = json_object_get(answer, "error");
  assert_non_null(err);
  assert_string_equal(json_string_value(json_object_get(err, "code")), code);
  return json_string_value(json_object_get(err, "message"));
}

/* Runs /note again (the captured messages cleared first) up to its select question:
 * the command's request id in *cmd, the question's key returned (free it). */
static char *note_to_select(fixture *f, int *cmd) {
  capture_clear(&f->cap);
  *cmd = send_only(f, json_pack("{s:s,s:s}", "type", "pi.command", "name", "note"));
  json_t *res;
  char *key = await_prompt(f, "ui.select", &res);
  json_decref(res);
  return key;
}

/* ctx.ui.select and ctx.ui.input through the approvals: the bundled guard's /note asks
 * "ui.select" (its options in the resource's JSON), then "ui.input"; approval.answer's
 * `text` reaches the extension, nothing is remembered; a dismissed question (allow false,
 * no text, an option not offered) answers undefined; a bad `text`, or one for a key that
 * is not a text question (the guard's confirm), is refused and leaves the prompt open. */
static void test_pi_text_questions(void **st) {
  fixture *f = &((hooks_fixture *)*st)->f;
  char *src = pi_example(f);
  ok_of(request(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "pi.load", "tabId", "tab-pi", "sourceName",
                             "permission-guard.ts", "source", src)));
  capture_clear(&f->cap);

  /* picked and typed: both reach the extension */
  int cmd = send_only(f, json_pack("{s:s,s:s}", "type", "pi.command", "name", "note"));
  json_t *res;
  char *key = await_prompt(f, "ui.select", &res);
  assert_string_equal(json_string_value(json_object_get(res, "title")), "Kind?");
  json_t *opts = json_object_get(res, "options");
  assert_int_equal(json_array_size(opts), 2);
  assert_string_equal(json_string_value(json_array_get(opts, 0)), "todo");
  assert_string_equal(json_string_value(json_array_get(opts, 1)), "idea");
  json_decref(res);
  capture_clear(&f->cap);
  json_t *ok = answer_text(f, key, 1, "idea");
  assert_int_equal(json_array_size(json_object_get(json_object_get(ok, "approvals"), "remembered")), 0);
  free(key);
  key = await_prompt(f, "ui.input", &res);
  assert_string_equal(json_string_value(json_object_get(res, "title")), "Note text");
  assert_string_equal(json_string_value(json_object_get(res, "placeholder")), "what to remember");
  json_decref(res);
  /* refused, the question stays open: not a string, too long */
  json_t *req = json_pack("{s:s,s:s,s:b,s:i}", "type", "approval.answer", "key", key, "allow", 1, "text", 7);
  assert_non_null(strstr(error_message(await_reply(f, send_only(f, req)), "INVALID_ARGUMENT"), "'text' must be a string"));
  char *big = malloc(65537 + 1);
  memset(big, 'x', 65537);
  big[65537] = '\0';
  req = json_pack("{s:s,s:s,s:b,s:s}", "type", "approval.answer", "key", key, "allow", 1, "text", big);
  assert_non_null(strstr(error_message(await_reply(f, send_only(f, req)), "INVALID_ARGUMENT"), "at most 65536"));
  free(big);
  assert_null(reply_to(f, cmd));
  ok = answer_text(f, key, 1, "buy milk \xc3\xa9");
  free(key);
  ok = ok_of(await_reply(f, cmd));
  assert_string_equal(note_message(ok), "note (idea): buy milk \xc3\xa9");

  /* dismissed at the select (allow false, whatever the text): undefined */
  key = note_to_select(f, &cmd);
  answer_text(f, key, 0, "todo");
  free(key);
  assert_string_equal(note_message(ok_of(await_reply(f, cmd))), "note: cancelled");

  /* an option not offered counts as dismissed */
  key = note_to_select(f, &cmd);
  answer_text(f, key, 1, "neither");
  free(key);
  assert_string_equal(note_message(ok_of(await_reply(f, cmd))), "note: cancelled");

  /* allowed with no text at the input: dismissed */
  key = note_to_select(f, &cmd);
  capture_clear(&f->cap);
  answer_text(f, key, 1, "todo");
  free(key);
  key = await_prompt(f, "ui.input", &res);
  json_decref(res);
  answer_text(f, key, 1, NULL);
  free(key);
  assert_string_equal(note_message(ok_of(await_reply(f, cmd))), "note: cancelled");

  /* a text for the confirm ("ui", a yes/no): refused, and the question is still there */
  capture_clear(&f->cap);
  int em = pi_emit(f, "rm -rf /tmp/x");
  json_t *prompt = json_object_get(await_push(f, "approval"), "prompt");
  assert_string_equal(json_string_value(json_object_get(prompt, "action")), "ui");
  key = strdup(json_string_value(json_object_get(prompt, "key")));
  req = json_pack("{s:s,s:s,s:b,s:s}", "type", "approval.answer", "key", key, "allow", 1, "text", "yes");
  const char *msg = error_message(await_reply(f, send_only(f, req)), "INVALID_ARGUMENT");
  assert_non_null(strstr(msg, "only a ctx.ui select, input or editor question"));
  assert_non_null(strstr(msg, "is action 'ui'"));
  assert_null(reply_to(f, em));
  ok = ok_of(await_reply(f, send_only(f, json_pack("{s:s}", "type", "hello"))));
  assert_int_equal(json_array_size(json_object_get(json_object_get(ok, "approvals"), "pending")), 1);
  answer_text(f, key, 0, NULL);
  free(key);
  assert_string_equal(json_string_value(json_object_get(ok_of(await_reply(f, em)), "action")), "block");

  /* a question left open when the session closes is dismissed (teardown frees it) */
  free(note_to_select(f, &cmd));
  free(src);
}

/* Bad pi messages are answered with what was wrong, and never reach the lane. */
static void test_pi_bad_messages(void **st) {
  fixture *f = &((hooks_fixture *)*st)->f;
  static const struct { const char *msg, *want; } cases[] = {
      {"{\"id\":1,\"type\":\"pi.load\",\"tabId\":\"../x\",\"sourceName\":\"a.ts\",\"source\":\"\"}", "'tabId' must be 1 to 64 of"},
      {"{\"id\":1,\"type\":\"pi.load\",\"tabId\":\"t\",\"sourceName\":\"a.txt\",\"source\":\"\"}", "ending .ts, .js or .mjs"},
      {"{\"id\":1,\"type\":\"pi.load\",\"tabId\":\"t\",\"sourceName\":\".a.ts\",\"source\":\"\"}", "not starting with '.'"},
      {"{\"id\":1,\"type\":\"pi.load\",\"tabId\":\"t\",\"sourceName\":\"d/a.ts\",\"source\":\"\"}", "no '/'"},
      {"{\"id\":1,\"type\":\"pi.load\",\"tabId\":\"t\",\"sourceName\":\"a.ts\"}", "'source' must be a string"},
      {"{\"id\":1,\"type\":\"pi.emit\",\"event\":\"tool_call\",\"payload\":[1]}", "'payload' must be an object"},
      {"{\"id\":1,\"type\":\"pi.tool\",\"name\":\"t\",\"params\":\"x\"}", "'params' must be an object"},
      {"{\"id\":1,\"type\":\"pi.command\",\"name\":\"t\",\"args\":3}", "'args' must be a string"},
      {"{\"id\":1,\"type\":\"pi.nope\"}", "unknown message type 'pi.nope'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    capture_clear(&f->cap);
    sess_message(f->s, 1, cases[i].msg, strlen(cases[i].msg));
    json_t *err = json_object_get(reply_to(f, 1), "error");
    if (!err || !strstr(json_string_value(json_object_get(err, "message")), cases[i].want))
      fail_msg("%s: expected an error with '%s'", cases[i].msg, cases[i].want);
  }
}

/* Without a home there is nowhere to put an extension's file: said so, no lane made. */
static void test_pi_needs_home(void **st) {
  fixture *f = *st;
  json_t *err = json_object_get(request(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "pi.load", "tabId", "t",
                                                     "sourceName", "a.ts", "source", "")),
                                "error");
  assert_non_null(strstr(json_string_value(json_object_get(err, "message")), "needs a home"));
  err = json_object_get(request(f, json_pack("{s:s}", "type", "pi.list")), "error");
  assert_non_null(strstr(json_string_value(json_object_get(err, "message")), "needs a home"));
}

/* One call waiting on a person holds the lane: 32 more wait behind it, the next is BUSY;
 * the session then closes with the question open (denied, the lane joined, nothing
 * leaked: ASan/TSan in CI). */
static void test_pi_lane_bounded_and_closing(void **st) {
  fixture *f = &((hooks_fixture *)*st)->f;
  char *src = pi_example(f);
  ok_of(request(f, json_pack("{s:s,s:s,s:s,s:s}", "type", "pi.load", "tabId", "tab-pi", "sourceName",
                             "permission-guard.ts", "source", src)));
  free(src);
  capture_clear(&f->cap);
  int em = pi_emit(f, "sudo rm -rf /");
  await_push(f, "approval");
  int ids[33];
  for (int i = 0; i < 33; i++) ids[i] = send_only(f, json_pack("{s:s}", "type", "pi.list"));
  for (int i = 0; i < 32; i++) assert_null(reply_to(f, ids[i]));
  json_t *err = json_object_get(reply_to(f, ids[32]), "error");
  assert_string_equal(json_string_value(json_object_get(err, "code")), "BUSY");
  assert_non_null(strstr(json_string_value(json_object_get(err, "message")), "32 requests waiting"));
  assert_null(reply_to(f, em));
  /* teardown_hooks frees the session now, the emit still waiting on its question */
}

static void test_hooks_bad_messages(void **st) {
  fixture *f = &((hooks_fixture *)*st)->f;
  static const struct {
    const char *msg, *needle;
  } cases[] = {
      {"{\"id\":1,\"type\":\"approval.answer\",\"key\":\"p\\nkv\\nx\",\"allow\":true}", "no pending or remembered approval"},
      {"{\"id\":1,\"type\":\"approval.answer\",\"key\":\"k\"}", "'allow' must be true or false"},
      {"{\"id\":1,\"type\":\"approval.answer\",\"allow\":true}", "'key' must be a string"},
      {"{\"id\":1,\"type\":\"approval.revoke\",\"key\":\"nope\"}", "no remembered approval"},
      {"{\"id\":1,\"type\":\"audit\",\"n\":-1}", "'n' must be an integer"},
      {"{\"id\":1,\"type\":\"audit\",\"n\":\"5\"}", "'n' must be an integer"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    capture_clear(&f->cap);
    sess_message(f->s, 1, cases[i].msg, strlen(cases[i].msg));
    json_t *err = json_object_get(f->cap.v[0].msg, "error");
    assert_non_null(err);
    assert_string_equal(json_string_value(json_object_get(err, "code")), "INVALID_ARGUMENT");
    const char *m = json_string_value(json_object_get(err, "message"));
    if (!strstr(m, cases[i].needle)) fail_msg("case %zu: '%s' lacks '%s'", i, m, cases[i].needle);
  }
}

/* A policy that does not validate fails sess_new with the library's message. */
static void test_bad_policy(void **st) {
  (void)st;
  capture cap = {0};
  sess_config cfg = {.isolation = AL_ISOLATION_INLINE, .policy_json = "{\"default\": \"maybe\"}",
                     .send = on_send, .send_ud = &cap};
  sess *s = NULL;
  al_error e = {0};
  assert_int_not_equal(sess_new(&cfg, &s, &e), 0);
  assert_null(s);
  assert_non_null(strstr(e.message, "default"));
}

/* Every call leaves a snapshot (load, events, edits); state.set records its edit in the
 * timeline between the host's entries, and rewindTo marks a jump back. */
/* The text of the newest message of `type` (a push) or answering request `id`. */
static const char *sent_text(fixture *f, const char *type, int id) {
  for (size_t i = f->cap.n; i-- > 0;) {
    json_t *m = f->cap.v[i].msg;
    if (type ? !json_object_get(m, "re") && !strcmp(json_string_value(json_object_get(m, "type")), type)
             : json_integer_value(json_object_get(m, "re")) == id)
      return f->cap.v[i].text;
  }
  fail_msg("no message %s/%d", type ? type : "re", id);
  return NULL;
}

/* What the library wrote goes out as it wrote it (issue 15): the session splices the
 * texts into its messages, so a state of 0.1 is sent as 0.1 in the state push and the
 * state.get answer, never reprinted as 0.10000000000000001. (The session's own values,
 * the history snapshot and its state/set timeline entry, are jansson's and still are.) */
static void test_library_text_spliced(void **st) {
  fixture *f = *st;
  char *id = load(f, "custom", "definePlugin(({ ui }) => ({ widgets: { main: {"
                               " render({ pluginState }) { return ui.text('v=' + (pluginState.v ?? 0)); } } } }));");
  settle(f);
  capture_clear(&f->cap);
  ok_of(request(f, json_pack("{s:s,s:s,s:{s:f}}", "type", "state.set", "instanceId", id, "state", "v", 0.1)));
  settle(f);
  const char *push = sent_text(f, "state", 0);
  assert_non_null(strstr(push, "\"state\":{\"v\":0.1}"));
  int rid = send_only(f, json_pack("{s:s,s:s}", "type", "state.get", "instanceId", id));
  settle(f);
  const char *answer = sent_text(f, NULL, rid);
  assert_non_null(strstr(answer, "\"state\":{\"v\":0.1}"));
  assert_null(strstr(push, "0.10000000000000001"));
  assert_null(strstr(answer, "0.10000000000000001"));
  json_t *parsed = json_loads(answer, 0, NULL);
  json_t *v = json_object_get(json_object_get(json_object_get(parsed, "ok"), "state"), "v");
  assert_true(json_real_value(v) == 0.1);
  json_decref(parsed);
  free(id);
}

static void test_state_history_and_rewind(void **st) {
  fixture *f = *st;
  char *id = load(f, "counter", catalog_source(f, "counter"));
  event(f, id, "counter", "increment");
  event(f, id, "counter", "increment");
  json_t *ok = ok_of(request(f, json_pack("{s:s,s:s}", "type", "state.history", "instanceId", id)));
  json_t *h = json_object_get(ok, "entries");
  assert_int_equal(json_array_size(h), 3);
  assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "op")), "load");
  json_t *second = json_array_get(h, 1);
  assert_string_equal(json_string_value(json_object_get(second, "op")), "event");
  assert_string_equal(json_string_value(json_object_get(second, "handler")), "increment");
  assert_string_equal(json_string_value(json_array_get(json_object_get(second, "actions"), 0)), "increment");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(second, "state"), "value")), 1);
  assert_true(json_is_string(json_object_get(second, "dispatchId")));
  char *second_id = strdup(json_string_value(json_object_get(second, "dispatchId")));

  capture_clear(&f->cap); /* `second` is gone with the capture */
  ok_of(request(f, json_pack("{s:s,s:s,s:{s:i},s:i}", "type", "state.set", "instanceId", id, "state",
                             "value", 1, "rewindTo", 2)));
  json_t *p = last_push(f, "history", id);
  assert_non_null(p);
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "entry"), "op")), "state/rewind");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(p, "entry"), "state"), "value")), 1);
  json_t *tl = last_push(f, "timeline", NULL);
  json_t *e = json_array_get(json_object_get(tl, "entries"), 0);
  assert_string_equal(json_string_value(json_object_get(e, "actionType")), "state/rewind");
  assert_string_equal(json_string_value(json_object_get(e, "source")), "workbench");
  assert_string_equal(json_string_value(json_object_get(e, "scope")), "host");
  const char *edit_id = json_string_value(json_object_get(e, "dispatchId"));
  assert_true(strcmp(edit_id, second_id) > 0);
  free(second_id);
  assert_string_equal(first_text(json_object_get(last_push(f, "tree", id), "tree")), "Counter: 1");

  /* The next event goes on from the rewound state, and sorts after the edit. */
  event(f, id, "counter", "increment");
  assert_string_equal(first_text(json_object_get(last_push(f, "tree", id), "tree")), "Counter: 2");
  ok = ok_of(request(f, json_pack("{s:s}", "type", "timeline")));
  json_t *all = json_object_get(ok, "entries");
  size_t i, at = 0, n = json_array_size(all);
  json_array_foreach(all, i, e)
    if (!strcmp(json_string_value(json_object_get(e, "actionType")), "state/rewind")) at = i;
  assert_true(at > 0 && at < n - 1);
  for (i = 1; i < n; i++)
    assert_true(strcmp(json_string_value(json_object_get(json_array_get(all, i - 1), "dispatchId")),
                       json_string_value(json_object_get(json_array_get(all, i), "dispatchId"))) < 0);

  /* Bad rewindTo, unknown instance. */
  json_t *bad = request(f, json_pack("{s:s,s:s,s:{},s:s}", "type", "state.set", "instanceId", id, "state", "rewindTo", "x"));
  assert_string_equal(json_string_value(json_object_get(json_object_get(bad, "error"), "code")), "INVALID_ARGUMENT");
  bad = request(f, json_pack("{s:s,s:s}", "type", "state.history", "instanceId", "nope@12345678"));
  assert_non_null(json_object_get(bad, "error"));
  free(id);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_hello_and_catalog, setup, teardown),
      cmocka_unit_test_setup_teardown(test_counter_twice, setup, teardown),
      cmocka_unit_test_setup_teardown(test_state_history_and_rewind, setup, teardown),
      cmocka_unit_test_setup_teardown(test_library_text_spliced, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_instances_independent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_custom_denied_until_granted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reload_keeps_state_and_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeouts_contained, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_error_cut_inside_character, setup, teardown),
      cmocka_unit_test(test_tabs_persist),
      cmocka_unit_test(test_fifty_clicks_thread),
      cmocka_unit_test(test_fifty_clicks_process),
      cmocka_unit_test_setup_teardown(test_log_audit_and_approval, setup_hooks, teardown_hooks),
      cmocka_unit_test_setup_teardown(test_audit_shows_grant_change, setup_hooks, teardown_hooks),
      cmocka_unit_test(test_log_flood_bounded),
      cmocka_unit_test_setup_teardown(test_hooks_bad_messages, setup_hooks, teardown_hooks),
      cmocka_unit_test(test_bad_policy),
      cmocka_unit_test_setup_teardown(test_pi_lane, setup_hooks, teardown_hooks),
      cmocka_unit_test_setup_teardown(test_pi_text_questions, setup_hooks, teardown_hooks),
      cmocka_unit_test_setup_teardown(test_pi_bad_messages, setup_hooks, teardown_hooks),
      cmocka_unit_test_setup_teardown(test_pi_needs_home, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pi_lane_bounded_and_closing, setup_hooks, teardown_hooks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_waiting.c: a call that waits does not hold up its worker (issue 10), through the
 * public API only, in thread and process isolation with ONE worker, so that the waiting
 * instance A and the instance B that must not be held up share it.
 *
 * Design
 *   - No timing assertions. "B was not held up by A" is proved by the ORDER in which the
 *     async callbacks run (each appends to a completion log), never by measuring a
 *     duration. Where A waits on pi.http, its answer is held by the loopback server until
 *     the test releases it (HTTPD_TEST_HOLD), after the test has seen A's request arrive
 *     and all of B's calls complete: those cases have no race at all. The pi.sleep cases
 *     (the acceptance: `await pi.sleep(200)`) rest on B's eleven small calls taking
 *     less than 200 ms, with both instances warmed up first.
 *   - Every wait is bounded (WAIT_MS of al_host_dispatch rounds), so on a core that still
 *     runs one call to completion a case fails with a message saying what came in which
 *     order, never hangs. A case records its first failure, cleans up (releases the
 *     server, frees the host) and only then fails, so a failing run leaks nothing either.
 *   - Each call reads the instance's state when it STARTS (after the previous call's
 *     intents were applied), which the state/merge counter shows: event k must see
 *     clicks == k-1, and a render queued among the events sees the count of those before
 *     it. The same for globalState, through a shared domain the instance both reads and
 *     writes (workbench profile).
 *   - A parked call past its deadline answers VM_TIMEOUT, and its late hostcall answer
 *     reaches no later call: the next call to the same instance is itself parked on a
 *     hostcall when the server lets the late answer go.
 *   - A hostcall that needs approval parks until the person answers, and the wait for the
 *     person does not count against the call's deadline. The "person" is the al_config
 *     approve callback, holding its answer until the test lets it go (bounded, so a core
 *     that calls it on the host thread delays the test, never hangs it); and the
 *     non-blocking al_config.ask, answered by the test thread with al_approval_answer():
 *     Allow after the deadline, Deny, an answer given inside `ask`, and an answer given
 *     after the host is gone (accepted and ignored; ASan checks nothing leaks).
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "httpd_test.h"
#include "testutil.h"

#define SLEEP_MS 200          /* A's pi.sleep in the sleep cases (the figure) */
#define SLEEP_ROUNDS 5        /* ...awaited this many times in a row: B's calls get 1 s, so a
                                 loaded machine cannot let A's one timer fire first, while a
                                 worker that blocks on A still completes A first */
#define WAIT_MS 8000          /* the longest any wait for callbacks may take */
#define PARKED_EVENT_MS 30000 /* A's event deadline while the test holds its answer */
#define MAX_DONE 128

/* A: waits on pi.sleep or pi.http and stores what it got only after the await, so its
 * state shows whether (and which) answer reached it. */
static const char *PARKER =
    "definePlugin(({ ui }) => ({ initialState: { got: 'nothing' }, widgets: { main: {"
    "  render({ pluginState }) { return ui.text('got=' + pluginState.got); },"
    "  handlers: {"
    "    async nap({ dispatchPluginAction }, [ms, n]) { for (let i = 0; i < n; i++) await pi.sleep(ms);"
    "      dispatchPluginAction('state/merge', { got: 'slept' }); },"
    "    async fetch({ dispatchPluginAction }, url) { const r = await pi.http.get(url);"
    "      dispatchPluginAction('state/merge', { got: r.status + ' ' + r.body }); } } } } }));";
static const char *PARKER_MANIFEST =
    "{\"id\":\"parker\",\"version\":\"1.0.0\",\"capabilities\":{\"network\":[\"127.0.0.1\"]}}";

/* B: quick calls that do not depend on its state. */
static const char *QUICK =
    "definePlugin(({ ui }) => ({ initialState: { last: -1 }, widgets: { main: {"
    "  render({ pluginState }) { return ui.text('last=' + pluginState.last); },"
    "  handlers: { set({ dispatchPluginAction }, k) {"
    "    dispatchPluginAction('state/merge', { last: k }); } } } } }));";

/* The workbench's New-plugin template and the authoring guide's pattern (issue 10). */
static const char *COUNTER =
    "definePlugin(({ ui }) => ({ widgets: { main: {"
    "  render({ pluginState }) { return ui.text('clicks=' + (pluginState.clicks || 0)); },"
    "  handlers: { click({ pluginState, dispatchPluginAction }) {"
    "    dispatchPluginAction('state/merge', { clicks: (pluginState.clicks || 0) + 1 }); } } } } }));";

static const char *iso_name(al_isolation iso) {
  return iso == AL_ISOLATION_THREAD ? "thread" : iso == AL_ISOLATION_PROCESS ? "process" : "inline";
}

/* ---- the completion log ----------------------------------------------------------------- */

typedef struct done_log {
  int n;
  char order[MAX_DONE + 1]; /* who completed, in callback order: "BBBA" */
  int seq[MAX_DONE];        /* the call's number among its instance's calls */
  int rc[MAX_DONE];
  /* a render's text, an event's first intent payload (compact JSON), or the error */
  char text[MAX_DONE][128];
} done_log;

typedef struct call_tag {
  done_log *log;
  char who;
  int seq;
} call_tag;

static void on_done(void *user, int rc, const char *json, const al_error *err) {
  call_tag *t = user;
  done_log *l = t->log;
  if (l->n >= MAX_DONE) return;
  int i = l->n++;
  l->order[i] = t->who;
  l->order[i + 1] = '\0';
  l->seq[i] = t->seq;
  l->rc[i] = rc;
  l->text[i][0] = '\0';
  if (rc) {
    snprintf(l->text[i], sizeof l->text[i], "%.20s: %.100s", al_err_name(rc), err ? err->message : "");
    return;
  }
  json_t *v = json ? json_loads(json, 0, NULL) : NULL;
  const json_t *text = json_object_get(v, "text"); /* a render's tree */
  const json_t *payload = json_object_get(json_array_get(json_object_get(v, "intents"), 0), "payload");
  if (json_is_string(text)) {
    snprintf(l->text[i], sizeof l->text[i], "%.127s", json_string_value(text));
  } else if (payload) {
    char *p = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    snprintf(l->text[i], sizeof l->text[i], "%.127s", p ? p : "?");
    free(p);
  }
  json_decref(v);
}

/* Where `who`'s call number `seq` is in the log, or -1. */
static int pos_of(const done_log *l, char who, int seq) {
  for (int i = 0; i < l->n; i++)
    if (l->order[i] == who && l->seq[i] == seq) return i;
  return -1;
}

/* How many calls completed before A's first one did (all of them if it has not). */
static int before_a(const done_log *l) {
  for (int i = 0; i < l->n; i++)
    if (l->order[i] == 'A') return i;
  return l->n;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs callbacks until the log holds `want` entries or WAIT_MS passed. A bound on the
 * wait, not an assertion on time: on success it returns as soon as the calls are in. */
static bool wait_done(al_host *h, done_log *l, int want) {
  double end = now_ms() + WAIT_MS;
  while (l->n < want && now_ms() < end) al_host_dispatch(h, 50);
  return l->n >= want;
}

/* Waits until the server has seen `n` requests, running callbacks meanwhile. */
static bool wait_requests(al_host *h, httpd_test *srv, unsigned n) {
  double end = now_ms() + WAIT_MS;
  while (httpd_test_count(srv) < n && now_ms() < end) al_host_dispatch(h, 5);
  return httpd_test_count(srv) >= n;
}

/* ---- hosts, loads and checks ------------------------------------------------------------ */

static al_host *mk_profile(al_isolation iso, int profile) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = 1; /* A and B share the worker: that is what these tests are about */
  cfg.watchdog_grace_ms = 5000; /* see testutil.h */
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %.200s", e.message);
  if (profile == T_WORKBENCH && wb_profile_register(h, &e)) fail_msg("profile: %.200s", e.message);
  return h;
}

static al_host *mk(al_isolation iso) { return mk_profile(iso, T_BARE); }

static void load_granted(al_host *h, const char *pkg, const char *src, const char *manifest,
                         const char *grants, uint32_t event_ms, char *id) {
  al_limits lim = {.event_ms = event_ms};
  al_load_opts o = {.grants_json = grants, .manifest_json = manifest, .limits = event_ms ? &lim : NULL};
  al_error e;
  int rc = al_load(h, pkg, src, strlen(src), &o, id, AL_INSTANCE_ID_MAX, &e);
  if (rc) fail_msg("load %.200s failed: %.200s: %.200s", pkg, al_err_name(rc), e.message);
}

static void load(al_host *h, const char *pkg, const char *src, const char *manifest,
                 uint32_t event_ms, char *id) {
  load_granted(h, pkg, src, manifest, "{}", event_ms, id);
}

/* The first failure of a case, kept until the case has cleaned up. */
#define CHECK(why, cond, ...)                                                                 \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      if (!(why)[0]) snprintf((why), sizeof(why), __VA_ARGS__);                               \
      goto out;                                                                               \
    }                                                                                         \
  } while (0)

/* The instance's render text, or an error text. Into buf. */
static const char *render_text(al_host *h, const char *id, char *buf, size_t cap) {
  char *tree = NULL;
  al_error e;
  int rc = al_render(h, id, "main", &tree, &e);
  if (rc) {
    snprintf(buf, cap, "(render failed: %.20s: %.100s)", al_err_name(rc), e.message);
    return buf;
  }
  json_t *t = json_loads(tree, 0, NULL);
  snprintf(buf, cap, "%.159s", json_string_value(json_object_get(t, "text")) ? json_string_value(json_object_get(t, "text")) : "?");
  json_decref(t);
  al_free(tree);
  return buf;
}

/* Timeline entries of `id` with `action_type` and outcome "applied". */
static int applied_count(al_host *h, const char *id, const char *action_type) {
  char *text = NULL;
  if (al_timeline(h, &text, NULL)) return -1;
  json_t *tl = json_loads(text, 0, NULL);
  al_free(text);
  int n = 0;
  size_t i;
  json_t *x;
  json_array_foreach(tl, i, x) {
    const char *inst = json_string_value(json_object_get(x, "instanceId"));
    const char *type = json_string_value(json_object_get(x, "actionType"));
    const char *outcome = json_string_value(json_object_get(x, "outcome"));
    if (inst && type && outcome && !strcmp(inst, id) && !strcmp(type, action_type) &&
        !strcmp(outcome, "applied"))
      n++;
  }
  json_decref(tl);
  return n;
}

/* ---- a, b: B's calls complete while A is parked ----------------------------------------- */

typedef enum how { BY_SLEEP, BY_HTTP } how;

#define B_EVENTS 10

/* A parks (on pi.sleep(SLEEP_MS), or on pi.http to a route the test holds); B gets one
 * render and B_EVENTS events; every one of B's completions must come before A's. */
static void parked_case(al_isolation iso, how by) {
  char why[1024] = "";
  httpd_test *srv = NULL;
  assert_int_equal(httpd_test_start(&srv), 0);
  httpd_test_route(srv, "/held", 200, NULL, "late", 4, HTTPD_TEST_HOLD);
  al_host *h = mk(iso);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX], buf[160];
  load(h, "parker", PARKER, PARKER_MANIFEST, PARKED_EVENT_MS, a);
  load(h, "quick", QUICK, NULL, 0, b);
  /* Warm both up (the process worker, the engine's caches) so B's calls are quick. */
  render_text(h, a, buf, sizeof buf);
  render_text(h, b, buf, sizeof buf);

  done_log log = {0};
  call_tag ta = {&log, 'A', 0}, tb[1 + B_EVENTS];
  char args[128];
  if (by == BY_SLEEP) snprintf(args, sizeof args, "[%d,%d]", SLEEP_MS, SLEEP_ROUNDS);
  else snprintf(args, sizeof args, "\"http://127.0.0.1:%d/held\"", httpd_test_port(srv));
  int rc = al_event_async(h, a, "main", by == BY_SLEEP ? "nap" : "fetch", args, on_done, &ta);
  CHECK(why, rc == 0, "al_event_async(A): %.200s", al_err_name(rc));
  /* With pi.http, A is known to be parked once its request reached the server. */
  if (by == BY_HTTP)
    CHECK(why, wait_requests(h, srv, 1), "A's pi.http request never reached the server");

  tb[0] = (call_tag){&log, 'B', 0};
  rc = al_render_async(h, b, "main", on_done, &tb[0]);
  CHECK(why, rc == 0, "al_render_async(B): %.200s", al_err_name(rc));
  for (int k = 1; k <= B_EVENTS; k++) {
    tb[k] = (call_tag){&log, 'B', k};
    snprintf(args, sizeof args, "%d", k);
    rc = al_event_async(h, b, "main", "set", args, on_done, &tb[k]);
    CHECK(why, rc == 0, "al_event_async(B %d): %.200s", k, al_err_name(rc));
  }
  CHECK(why, al_host_pending(h) == 2 + B_EVENTS, "pending %zu, want %d", al_host_pending(h), 2 + B_EVENTS);

  if (by == BY_HTTP) {
    /* A's answer is held: B's calls can only complete if the worker serves them while A
     * waits. */
    bool all_b = wait_done(h, &log, 1 + B_EVENTS);
    CHECK(why, all_b && pos_of(&log, 'A', 0) < 0,
          "%.10s: while A was parked on a held pi.http answer, %d of B's %d calls completed "
          "(completion order \"%.60s\"): B was held up by A", iso_name(iso),
          before_a(&log), 1 + B_EVENTS, log.order);
    httpd_test_release(srv);
  }
  CHECK(why, wait_done(h, &log, 2 + B_EVENTS), "%.200s: only %d of %d calls completed (order \"%.200s\")",
        iso_name(iso), log.n, 2 + B_EVENTS, log.order);
  int pa = pos_of(&log, 'A', 0);
  CHECK(why, pa == B_EVENTS + 1,
        "%.200s: A's call (parked on %.200s) completed at position %d of %d, completion order \"%.200s\"; "
        "every one of B's calls must complete before it: B was held up by A",
        iso_name(iso), by == BY_SLEEP ? "pi.sleep(200)" : "pi.http", pa + 1, log.n, log.order);
  CHECK(why, log.rc[pa] == 0, "A failed: %.200s", log.text[pa]);
  for (int i = 0; i <= B_EVENTS; i++) {
    /* B's own calls still complete in the order they were made */
    CHECK(why, log.order[i] == 'B' && log.seq[i] == i, "B's call %d completed at position %d", log.seq[i], i);
    CHECK(why, log.rc[i] == 0, "B's call %d failed: %.200s", i, log.text[i]);
  }
  CHECK(why, !strcmp(log.text[0], "last=-1"), "B's render saw \"%.200s\"", log.text[0]);
  const char *want_a = by == BY_SLEEP ? "got=slept" : "got=200 late";
  CHECK(why, !strcmp(render_text(h, a, buf, sizeof buf), want_a), "A shows \"%.200s\", want \"%.200s\"", buf, want_a);
  snprintf(args, sizeof args, "last=%d", B_EVENTS);
  CHECK(why, !strcmp(render_text(h, b, buf, sizeof buf), args), "B shows \"%.200s\", want \"%.200s\"", buf, args);
  CHECK(why, al_host_pending(h) == 0, "pending %zu after all callbacks", al_host_pending(h));
out:
  httpd_test_release(srv); /* a failed case may have left A held */
  al_host_free(h);
  httpd_test_stop(srv);
  if (why[0]) fail_msg("%s", why);
}

static void test_sleep_thread(void **st) {
  (void)st;
  parked_case(AL_ISOLATION_THREAD, BY_SLEEP);
}

static void test_sleep_process(void **st) {
  (void)st;
  parked_case(AL_ISOLATION_PROCESS, BY_SLEEP);
}

static void test_http_thread(void **st) {
  (void)st;
  parked_case(AL_ISOLATION_THREAD, BY_HTTP);
}

static void test_http_process(void **st) {
  (void)st;
  parked_case(AL_ISOLATION_PROCESS, BY_HTTP);
}

/* ---- c: queued events read the state their predecessors left -------------------------- */

#define CLICKS 50

/* CLICKS async events of the state/merge counter submitted back to back, with a render
 * queued after the first half: event k sees clicks == k-1 and proposes k, the render sees
 * CLICKS/2, the state ends at CLICKS and the timeline holds CLICKS applied dispatches. */
static void fresh_state_case(al_isolation iso) {
  char why[1024] = "";
  al_host *h = mk(iso);
  char id[AL_INSTANCE_ID_MAX], buf[160];
  load(h, "clicker", COUNTER, NULL, 0, id);
  done_log log = {0};
  call_tag tags[CLICKS + 1];
  int k = 0;
  for (int i = 0; i <= CLICKS; i++) {
    int rc;
    if (i == CLICKS / 2) {
      tags[i] = (call_tag){&log, 'R', 0};
      rc = al_render_async(h, id, "main", on_done, &tags[i]);
    } else {
      tags[i] = (call_tag){&log, 'E', ++k};
      rc = al_event_async(h, id, "main", "click", NULL, on_done, &tags[i]);
    }
    CHECK(why, rc == 0, "submit %d: %.200s", i, al_err_name(rc));
  }
  CHECK(why, wait_done(h, &log, CLICKS + 1), "%.200s: only %d of %d calls completed", iso_name(iso),
        log.n, CLICKS + 1);
  for (int i = 0; i <= CLICKS; i++) CHECK(why, log.rc[i] == 0, "call %d failed: %.200s", i, log.text[i]);
  k = 0;
  for (int i = 0; i <= CLICKS; i++) {
    char want[64];
    if (i == CLICKS / 2) {
      snprintf(want, sizeof want, "clicks=%d", CLICKS / 2);
      CHECK(why, log.order[i] == 'R' && !strcmp(log.text[i], want),
            "%.200s: the render queued after %d clicks showed \"%.200s\", want \"%.200s\": it did not read "
            "the state when it started", iso_name(iso), CLICKS / 2, log.text[i], want);
      continue;
    }
    k++;
    snprintf(want, sizeof want, "{\"clicks\":%d}", k);
    CHECK(why, log.order[i] == 'E' && log.seq[i] == k, "call %d completed at position %d", log.seq[i], i);
    CHECK(why, !strcmp(log.text[i], want),
          "%.200s: click %d dispatched %.200s, want %.200s: it read the state as of when it was queued, "
          "not after click %d was applied", iso_name(iso), k, log.text[i], want, k - 1);
  }
  json_t *s = t_state(h, id);
  char *st = json_dumps(s, JSON_COMPACT);
  json_decref(s);
  bool ok = st && !strcmp(st, "{\"clicks\":50}");
  snprintf(buf, sizeof buf, "%.159s", st ? st : "?");
  free(st);
  CHECK(why, ok, "%.200s: state %.200s after %d clicks, want {\"clicks\":%d}", iso_name(iso), buf, CLICKS, CLICKS);
  int applied = applied_count(h, id, "state/merge");
  CHECK(why, applied == CLICKS, "%.200s: the timeline shows %d applied state/merge dispatches, want %d",
        iso_name(iso), applied, CLICKS);
  char *text = NULL;
  CHECK(why, al_trace(h, &text, NULL) == 0, "al_trace failed");
  json_t *tr = json_loads(text, 0, NULL);
  al_free(text);
  json_int_t count = json_integer_value(json_object_get(tr, "count"));
  char last[32];
  snprintf(last, sizeof last, "%.31s", json_string_value(json_object_get(tr, "lastOutcome")) ? json_string_value(json_object_get(tr, "lastOutcome")) : "?");
  json_decref(tr);
  CHECK(why, count == CLICKS && !strcmp(last, "applied"), "trace count %lld (last outcome %.200s), want %d applied",
        (long long)count, last, CLICKS);
  CHECK(why, !strcmp(render_text(h, id, buf, sizeof buf), "clicks=50"), "renders \"%.200s\"", buf);
out:
  al_host_free(h);
  if (why[0]) fail_msg("%s", why);
}

static void test_fresh_state_thread(void **st) {
  (void)st;
  fresh_state_case(AL_ISOLATION_THREAD);
}

static void test_fresh_state_process(void **st) {
  (void)st;
  fresh_state_case(AL_ISOLATION_PROCESS);
}

static void test_fresh_state_inline(void **st) {
  (void)st;
  fresh_state_case(AL_ISOLATION_INLINE);
}

/* The same for globalState: each event reads the shared counter-summary total and writes
 * total + 1 as its own value (it is the domain's only writer), so only an event that saw
 * its predecessors' shared writes proposes the right number. Workbench profile. */
static const char *SHARED_COUNTER =
    "definePlugin(({ ui }) => ({ widgets: { main: {"
    "  render({ globalState }) { const s = globalState.shared['counter-summary'];"
    "    return ui.text('total=' + Number(s ? s.totalValue : -1)); },"
    "  handlers: { bump({ globalState, dispatchSharedAction }) {"
    "    const s = globalState.shared['counter-summary'];"
    "    dispatchSharedAction('counter-summary', 'set-instance', { value: Number(s ? s.totalValue : 0) + 1 }); } } } } }));";
static const char *SHARED_GRANTS = "{\"readShared\":[\"counter-summary\"],\"writeShared\":[\"counter-summary\"]}";

#define BUMPS 20

static void fresh_global_case(al_isolation iso) {
  char why[1024] = "";
  al_host *h = mk_profile(iso, T_WORKBENCH);
  char id[AL_INSTANCE_ID_MAX], buf[160], want[64];
  load_granted(h, "bumper", SHARED_COUNTER, NULL, SHARED_GRANTS, 0, id);
  CHECK(why, !strcmp(render_text(h, id, buf, sizeof buf), "total=0"), "starts at \"%.100s\"", buf);
  done_log log = {0};
  call_tag tags[BUMPS + 1];
  for (int i = 0; i < BUMPS; i++) {
    tags[i] = (call_tag){&log, 'E', i + 1};
    int rc = al_event_async(h, id, "main", "bump", NULL, on_done, &tags[i]);
    CHECK(why, rc == 0, "submit %d: %.20s", i, al_err_name(rc));
  }
  tags[BUMPS] = (call_tag){&log, 'R', 0};
  CHECK(why, al_render_async(h, id, "main", on_done, &tags[BUMPS]) == 0, "al_render_async");
  CHECK(why, wait_done(h, &log, BUMPS + 1), "%.10s: only %d of %d calls completed", iso_name(iso),
        log.n, BUMPS + 1);
  for (int i = 0; i < BUMPS; i++) {
    CHECK(why, log.rc[i] == 0, "bump %d failed: %.100s", i + 1, log.text[i]);
    snprintf(want, sizeof want, "{\"value\":%d}", i + 1);
    CHECK(why, log.order[i] == 'E' && log.seq[i] == i + 1 && !strcmp(log.text[i], want),
          "%.10s: bump %d dispatched %.100s, want %.60s: it read globalState as of when it was "
          "queued, not after bump %d was applied", iso_name(iso), i + 1, log.text[i], want, i);
  }
  snprintf(want, sizeof want, "total=%d", BUMPS);
  CHECK(why, log.rc[BUMPS] == 0 && !strcmp(log.text[BUMPS], want),
        "%.10s: the render queued after %d bumps showed \"%.100s\", want \"%.60s\"", iso_name(iso),
        BUMPS, log.text[BUMPS], want);
  CHECK(why, applied_count(h, id, "set-instance") == BUMPS, "%.10s: %d applied set-instance dispatches, want %d",
        iso_name(iso), applied_count(h, id, "set-instance"), BUMPS);
out:
  al_host_free(h);
  if (why[0]) fail_msg("%s", why);
}

static void test_fresh_global_thread(void **st) {
  (void)st;
  fresh_global_case(AL_ISOLATION_THREAD);
}

static void test_fresh_global_process(void **st) {
  (void)st;
  fresh_global_case(AL_ISOLATION_PROCESS);
}

/* ---- d: a parked call's deadline, and its late answer dropped --------------------------- */

#define DEADLINE_MS 150

/* A (event deadline DEADLINE_MS) awaits a pi.http answer the server holds: VM_TIMEOUT,
 * and A's state is untouched. A's next call awaits another request; only once the server
 * has that request does it release the held answer, so if the host delivered the late
 * answer to whatever A waits on now, A would store "late". A must store "fast", B's calls
 * succeed, and nothing more arrives. */
static void deadline_case(al_isolation iso) {
  char why[1024] = "";
  httpd_test *srv = NULL;
  assert_int_equal(httpd_test_start(&srv), 0);
  httpd_test_route(srv, "/never", 200, NULL, "late", 4, HTTPD_TEST_HOLD);
  /* answers after a little while, so the late answer is let go while A's second call is
   * still waiting for this one; well inside DEADLINE_MS */
  httpd_test_route(srv, "/fast", 200, NULL, "fast", 4, 40);
  al_host *h = mk(iso);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX], buf[160], args[128];
  load(h, "parker", PARKER, PARKER_MANIFEST, DEADLINE_MS, a);
  load(h, "quick", QUICK, NULL, 0, b);
  render_text(h, a, buf, sizeof buf);
  render_text(h, b, buf, sizeof buf);

  done_log log = {0};
  call_tag t1 = {&log, 'A', 1}, t2 = {&log, 'A', 2}, tb[4];
  snprintf(args, sizeof args, "\"http://127.0.0.1:%d/never\"", httpd_test_port(srv));
  int rc = al_event_async(h, a, "main", "fetch", args, on_done, &t1);
  CHECK(why, rc == 0, "al_event_async(A 1): %.200s", al_err_name(rc));
  CHECK(why, wait_done(h, &log, 1), "%.200s: A's call awaiting an answer that never comes did not "
        "complete within %d ms (deadline %d ms)", iso_name(iso), WAIT_MS, DEADLINE_MS);
  /* The call's deadline must win: a hostcall cut short at the deadline rejecting inside
   * the VM instead (a catchable error, so PLUGIN_ERROR when uncaught) breaks the contract. */
  CHECK(why, log.rc[0] == AL_ETIMEOUT,
        "%.10s: A's call answered %.120s, want VM_TIMEOUT%.120s", iso_name(iso),
        log.rc[0] ? log.text[0] : "OK",
        log.rc[0] == AL_EPLUGIN ? " (the hostcall was rejected inside the VM at the deadline "
                                  "instead of the call being abandoned with VM_TIMEOUT)" : "");
  CHECK(why, httpd_test_count(srv) == 1, "the server saw %u requests", httpd_test_count(srv));
  CHECK(why, !strcmp(render_text(h, a, buf, sizeof buf), "got=nothing"),
        "%.200s: after the timeout A shows \"%.200s\": the abandoned call applied something", iso_name(iso), buf);
  CHECK(why, applied_count(h, a, "state/merge") == 0, "the abandoned call dispatched");

  snprintf(args, sizeof args, "\"http://127.0.0.1:%d/fast\"", httpd_test_port(srv));
  rc = al_event_async(h, a, "main", "fetch", args, on_done, &t2);
  CHECK(why, rc == 0, "al_event_async(A 2): %.200s", al_err_name(rc));
  CHECK(why, wait_requests(h, srv, 2), "A's second request never reached the server");
  httpd_test_release(srv); /* the late answer, if the host still listens for it */
  for (int k = 0; k < 4; k++) {
    tb[k] = (call_tag){&log, 'B', k};
    snprintf(args, sizeof args, "%d", k);
    rc = k ? al_event_async(h, b, "main", "set", args, on_done, &tb[k])
           : al_render_async(h, b, "main", on_done, &tb[k]);
    CHECK(why, rc == 0, "B %d: %.200s", k, al_err_name(rc));
  }
  CHECK(why, wait_done(h, &log, 6), "%.200s: only %d of 6 calls completed (order \"%.200s\")", iso_name(iso),
        log.n, log.order);
  int p2 = pos_of(&log, 'A', 2);
  CHECK(why, p2 >= 0 && log.rc[p2] == 0, "%.200s: A's second call failed: %.200s", iso_name(iso),
        p2 >= 0 ? log.text[p2] : "(missing)");
  CHECK(why, !strcmp(log.text[p2], "{\"got\":\"200 fast\"}"),
        "%.200s: A's second call dispatched %.200s: it received the late answer of the abandoned call",
        iso_name(iso), log.text[p2]);
  for (int k = 0; k < 4; k++) {
    int p = pos_of(&log, 'B', k);
    CHECK(why, p >= 0 && log.rc[p] == 0, "B's call %d failed: %.200s", k, p >= 0 ? log.text[p] : "(missing)");
  }
  CHECK(why, !strcmp(render_text(h, a, buf, sizeof buf), "got=200 fast"), "A shows \"%.200s\"", buf);
  CHECK(why, !strcmp(render_text(h, b, buf, sizeof buf), "last=3"), "B shows \"%.200s\"", buf);
  CHECK(why, applied_count(h, a, "state/merge") == 1, "A has %d applied dispatches, want 1",
        applied_count(h, a, "state/merge"));
  /* nothing is left to arrive: no stray callback, nothing pending */
  CHECK(why, al_host_pending(h) == 0, "pending %zu", al_host_pending(h));
  CHECK(why, al_host_dispatch(h, 0) == 0 && log.n == 6, "a callback ran after all calls were answered");
out:
  httpd_test_release(srv);
  al_host_free(h);
  httpd_test_stop(srv);
  if (why[0]) fail_msg("%s", why);
}

static void test_deadline_thread(void **st) {
  (void)st;
  deadline_case(AL_ISOLATION_THREAD);
}

static void test_deadline_process(void **st) {
  (void)st;
  deadline_case(AL_ISOLATION_PROCESS);
}

/* ---- e: the synchronous API while another instance is parked ------------------------- */

/* While A's async event is parked (pi.sleep(SLEEP_MS), or a pi.http answer the server
 * holds), synchronous al_render and al_event of B on the same worker return, and A's
 * call is still unanswered afterwards: no callback is ready for al_host_dispatch(h, 0) and
 * al_host_pending still counts it. */
static void sync_case(al_isolation iso, how by) {
  char why[1024] = "";
  httpd_test *srv = NULL;
  assert_int_equal(httpd_test_start(&srv), 0);
  httpd_test_route(srv, "/held", 200, NULL, "late", 4, HTTPD_TEST_HOLD);
  al_host *h = mk(iso);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX], buf[160], args[128];
  /* Held: the deadline bounds how long today's blocking worker keeps B waiting. */
  load(h, "parker", PARKER, PARKER_MANIFEST, by == BY_HTTP ? 3000 : 5000, a);
  load(h, "quick", QUICK, NULL, 0, b);
  render_text(h, a, buf, sizeof buf);
  render_text(h, b, buf, sizeof buf);

  done_log log = {0};
  call_tag ta = {&log, 'A', 0};
  if (by == BY_SLEEP) snprintf(args, sizeof args, "[%d,%d]", SLEEP_MS, SLEEP_ROUNDS);
  else snprintf(args, sizeof args, "\"http://127.0.0.1:%d/held\"", httpd_test_port(srv));
  int rc = al_event_async(h, a, "main", by == BY_SLEEP ? "nap" : "fetch", args, on_done, &ta);
  CHECK(why, rc == 0, "al_event_async(A): %.200s", al_err_name(rc));
  if (by == BY_HTTP) CHECK(why, wait_requests(h, srv, 1), "A's request never reached the server");

  render_text(h, b, buf, sizeof buf);
  CHECK(why, !strcmp(buf, "last=-1"), "%.200s: B's synchronous render: \"%.200s\"", iso_name(iso), buf);
  int ran = al_host_dispatch(h, 0);
  CHECK(why, ran == 0 && log.n == 0 && al_host_pending(h) == 1,
        "%.200s: A's call (parked on %.200s) was answered before B's synchronous render returned "
        "(%d callback(s) ready, %zu pending): the render waited behind A",
        iso_name(iso), by == BY_SLEEP ? "pi.sleep(200)" : "a held pi.http answer", ran, al_host_pending(h));
  char *res = NULL;
  al_error e;
  rc = al_event(h, b, "main", "set", "7", &res, &e);
  al_free(res);
  CHECK(why, rc == 0, "%.200s: B's synchronous event: %.200s: %.200s", iso_name(iso), al_err_name(rc), e.message);
  CHECK(why, al_host_dispatch(h, 0) == 0 && log.n == 0 && al_host_pending(h) == 1,
        "%.200s: A's call was answered before B's synchronous event returned", iso_name(iso));
  CHECK(why, !strcmp(render_text(h, b, buf, sizeof buf), "last=7"), "B shows \"%.200s\"", buf);

  if (by == BY_HTTP) httpd_test_release(srv);
  CHECK(why, wait_done(h, &log, 1), "%.200s: A's call never completed", iso_name(iso));
  CHECK(why, log.rc[0] == 0, "%.200s: A failed: %.200s", iso_name(iso), log.text[0]);
  const char *want = by == BY_SLEEP ? "got=slept" : "got=200 late";
  CHECK(why, !strcmp(render_text(h, a, buf, sizeof buf), want), "A shows \"%.200s\", want \"%.200s\"", buf, want);
  CHECK(why, al_host_pending(h) == 0, "pending %zu", al_host_pending(h));
out:
  httpd_test_release(srv);
  al_host_free(h);
  httpd_test_stop(srv);
  if (why[0]) fail_msg("%s", why);
}

static void test_sync_sleep_thread(void **st) {
  (void)st;
  sync_case(AL_ISOLATION_THREAD, BY_SLEEP);
}

static void test_sync_sleep_process(void **st) {
  (void)st;
  sync_case(AL_ISOLATION_PROCESS, BY_SLEEP);
}

static void test_sync_http_thread(void **st) {
  (void)st;
  sync_case(AL_ISOLATION_THREAD, BY_HTTP);
}

static void test_sync_http_process(void **st) {
  (void)st;
  sync_case(AL_ISOLATION_PROCESS, BY_HTTP);
}

/* ---- f: a hostcall waiting for a person ----------------------------------------------- */

/* A's event deadline in the approval cases, and how long the person takes: longer than the
 * deadline, to show the wait is not counted. The deadline still has to cover the work that
 * is counted (pi.kv.set's database commit after the answer, on a loaded CI disk, and a
 * sanitized worker process getting as far as the question on a machine running other
 * builds: 400 ms once ran out there), so it is not as tight as DEADLINE_MS. */
#define PERSON_DEADLINE_MS 1000
#define PERSON_HOLD_MS (PERSON_DEADLINE_MS * 5 / 2)

/* The person: counts questions, and answers Allow only when the test says so (or after
 * WAIT_MS, so nothing hangs if the callback runs somewhere the test cannot release it). */
typedef struct person {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int asked;
  bool answer_now;
  char last[160];
} person;

static int person_approve(void *user, const char *plugin_id, const char *action, const char *resource) {
  person *p = user;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += WAIT_MS / 1000;
  pthread_mutex_lock(&p->mu);
  p->asked++;
  snprintf(p->last, sizeof p->last, "%.40s %.20s %.80s", plugin_id, action, resource);
  pthread_cond_broadcast(&p->cv);
  while (!p->answer_now)
    if (pthread_cond_timedwait(&p->cv, &p->mu, &until)) break;
  pthread_mutex_unlock(&p->mu);
  return AL_APPROVE_ALLOW;
}

static int person_asked(person *p) {
  pthread_mutex_lock(&p->mu);
  int n = p->asked;
  pthread_mutex_unlock(&p->mu);
  return n;
}

static void person_answer(person *p) {
  pthread_mutex_lock(&p->mu);
  p->answer_now = true;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static const char *SAVER =
    "definePlugin(({ ui }) => ({ initialState: { saved: 'no' }, widgets: { main: {"
    "  render({ pluginState }) { return ui.text('saved=' + pluginState.saved); },"
    "  handlers: { async save({ dispatchPluginAction }) { await pi.kv.set('k', 1);"
    "    dispatchPluginAction('state/merge', { saved: 'yes' }); } } } } }));";

/* A (event deadline PERSON_DEADLINE_MS) does pi.kv.set under a policy that asks. While the person
 * has not answered, B's calls on the same worker complete; the person then keeps A waiting
 * past A's deadline before pressing Allow, and A's first call succeeds: the wait for a
 * person is bounded by the permission class, not by the event's deadline. */
static void approval_case(al_isolation iso) {
  char why[1024] = "", home[] = "/tmp/airlock-wait-XXXXXX";
  assert_non_null(mkdtemp(home));
  person p = {.asked = 0};
  pthread_mutex_init(&p.mu, NULL);
  pthread_cond_init(&p.cv, NULL);
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = 1;
  cfg.watchdog_grace_ms = 5000;
  cfg.home = home;
  cfg.policy_json = "{\"mode\":\"all\",\"default\":\"ask\"}";
  cfg.approve = person_approve;
  cfg.approve_user = &p;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX], buf[160], args[16];
  load(h, "saver", SAVER, NULL, PERSON_DEADLINE_MS, a);
  load(h, "quick", QUICK, NULL, 0, b);
  render_text(h, a, buf, sizeof buf);
  render_text(h, b, buf, sizeof buf);

  done_log log = {0};
  call_tag ta = {&log, 'A', 0}, tb[1 + B_EVENTS];
  int rc = al_event_async(h, a, "main", "save", NULL, on_done, &ta);
  CHECK(why, rc == 0, "al_event_async(A): %.20s", al_err_name(rc));
  double end = now_ms() + WAIT_MS;
  while (!person_asked(&p) && now_ms() < end) al_host_dispatch(h, 5);
  CHECK(why, person_asked(&p) == 1, "%.10s: the person was asked %d times, want 1 (A: %.100s)",
        iso_name(iso), person_asked(&p), log.n ? log.text[0] : "pending");
  double asked_at = now_ms();
  for (int k = 0; k <= B_EVENTS; k++) {
    tb[k] = (call_tag){&log, 'B', k};
    snprintf(args, sizeof args, "%d", k);
    rc = k ? al_event_async(h, b, "main", "set", args, on_done, &tb[k])
           : al_render_async(h, b, "main", on_done, &tb[k]);
    CHECK(why, rc == 0, "B %d: %.20s", k, al_err_name(rc));
  }
  bool all_b = wait_done(h, &log, 1 + B_EVENTS);
  CHECK(why, all_b && pos_of(&log, 'A', 0) < 0,
        "%.10s: while A waited for the person, %d of B's %d calls completed (completion order "
        "\"%.60s\"): B was held up by A", iso_name(iso), before_a(&log), 1 + B_EVENTS, log.order);
  /* The person takes longer than A's deadline to answer: a wait, not an assertion. */
  while (now_ms() < asked_at + PERSON_HOLD_MS) al_host_dispatch(h, 10);
  CHECK(why, log.n == 1 + B_EVENTS, "%.10s: A's call ended before the person answered: %.100s",
        iso_name(iso), log.n > 1 + B_EVENTS ? log.text[log.n - 1] : "?");
  person_answer(&p);
  CHECK(why, wait_done(h, &log, 2 + B_EVENTS), "%.10s: A's call never completed after Allow", iso_name(iso));
  CHECK(why, log.rc[1 + B_EVENTS] == 0,
        "%.10s: A's call, allowed after %d ms (its deadline %d ms), answered %.100s: the wait "
        "for a person counted against the event's deadline", iso_name(iso), PERSON_HOLD_MS,
        PERSON_DEADLINE_MS, log.text[1 + B_EVENTS]);
  CHECK(why, !strcmp(render_text(h, a, buf, sizeof buf), "saved=yes"), "A shows \"%.100s\"", buf);
  CHECK(why, person_asked(&p) == 1, "the person was asked %d times", person_asked(&p));
  pthread_mutex_lock(&p.mu); /* written by whichever thread ran the callback */
  snprintf(buf, sizeof buf, "%.159s", p.last);
  pthread_mutex_unlock(&p.mu);
  CHECK(why, !strcmp(buf, "saver kv k"), "the person was asked \"%.100s\"", buf);
out:
  person_answer(&p); /* a failed case may have left the callback waiting */
  al_host_free(h);
  pthread_cond_destroy(&p.cv);
  pthread_mutex_destroy(&p.mu);
  snprintf(buf, sizeof buf, "rm -rf %.100s", home);
  if (system(buf) != 0 && !why[0]) snprintf(why, sizeof why, "cannot remove %.100s", home);
  if (why[0]) fail_msg("%s", why);
}

static void test_approval_thread(void **st) {
  (void)st;
  approval_case(AL_ISOLATION_THREAD);
}

static void test_approval_process(void **st) {
  (void)st;
  approval_case(AL_ISOLATION_PROCESS);
}

/* A load whose top-level code computes for a second (no await: it holds its worker) does
 * not delay calls to an instance on another worker, and the next instance goes to the
 * least busy worker: B (already loaded) renders and handles B_EVENTS events, and a third
 * instance loads, all before the slow load completes. Two workers; order, not time. */
static const char *SLOW_LOAD =
    "const t0 = Date.now(); while (Date.now() - t0 < 1000) {}"
    "definePlugin(({ ui }) => ({ widgets: { main: { render() { return ui.text('slow'); } } } }));";

static void slow_load_case(al_isolation iso) {
  char why[1024] = "";
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = 2;
  cfg.watchdog_grace_ms = 5000;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %.200s", e.message);
  char b[AL_INSTANCE_ID_MAX], slow[AL_INSTANCE_ID_MAX], third[AL_INSTANCE_ID_MAX], buf[160], args[32];
  load(h, "quick", QUICK, NULL, 0, b);
  render_text(h, b, buf, sizeof buf);
  done_log log = {0};
  call_tag tl = {&log, 'L', 0}, tb[1 + B_EVENTS];
  al_limits lim = {.load_ms = 3000};
  al_load_opts o = {.grants_json = "{}", .limits = &lim};
  int rc = al_load_async(h, "slow", SLOW_LOAD, strlen(SLOW_LOAD), &o, slow, sizeof slow, on_done, &tl, &e);
  CHECK(why, rc == 0, "al_load_async(slow): %.200s", e.message);
  tb[0] = (call_tag){&log, 'B', 0};
  CHECK(why, al_render_async(h, b, "main", on_done, &tb[0]) == 0, "al_render_async(B)");
  for (int k = 1; k <= B_EVENTS; k++) {
    tb[k] = (call_tag){&log, 'B', k};
    snprintf(args, sizeof args, "%d", k);
    CHECK(why, al_event_async(h, b, "main", "set", args, on_done, &tb[k]) == 0, "al_event_async(B)");
  }
  /* A synchronous load meanwhile: placed on the worker that is not busy with the slow one. */
  load(h, "quick", QUICK, NULL, 0, third);
  CHECK(why, log.n == 0 || pos_of(&log, 'L', 0) < 0, "the slow load completed before the third load");
  CHECK(why, wait_done(h, &log, 2 + B_EVENTS), "%.10s: only %d calls completed (order \"%.40s\")",
        iso_name(iso), log.n, log.order);
  CHECK(why, pos_of(&log, 'L', 0) == 1 + B_EVENTS,
        "%.10s: the slow load completed at position %d of %d (order \"%.40s\"): B, on the other "
        "worker, was held up by it", iso_name(iso), pos_of(&log, 'L', 0) + 1, log.n, log.order);
  CHECK(why, log.rc[1 + B_EVENTS] == 0, "the slow load failed: %.200s", log.text[1 + B_EVENTS]);
  char *text = NULL;
  CHECK(why, al_health(h, &text, NULL) == 0, "al_health");
  json_t *hj = json_loads(text, 0, NULL);
  al_free(text);
  int wb = -1, ws = -1, wt = -1;
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(hj, "instances"), i, it) {
    const char *iid = json_string_value(json_object_get(it, "instanceId"));
    int w = (int)json_integer_value(json_object_get(it, "worker"));
    if (!strcmp(iid, b)) wb = w;
    else if (!strcmp(iid, slow)) ws = w;
    else if (!strcmp(iid, third)) wt = w;
  }
  json_decref(hj);
  CHECK(why, wb >= 0 && ws >= 0 && wt >= 0 && wb != ws && wt != ws,
        "placement: B on %d, the slow load on %d, the third on %d: the slow one should have "
        "a worker to itself", wb, ws, wt);
out:
  al_host_free(h);
  if (why[0]) fail_msg("%s", why);
}

static void test_slow_load_thread(void **st) {
  (void)st;
  slow_load_case(AL_ISOLATION_THREAD);
}

static void test_slow_load_process(void **st) {
  (void)st;
  slow_load_case(AL_ISOLATION_PROCESS);
}

/* ---- g: the non-blocking question, al_config.ask ------------------------------------- */

/* The front end: keeps the open question for the test thread, or answers inside `ask`. */
typedef struct front {
  pthread_mutex_t mu;
  int asked;
  int answer_inside; /* -1: keep the question; else answer it at once with this */
  al_approval *open;
  char last[160];
} front;

static void front_ask(void *user, al_approval *q, const char *plugin_id, const char *action,
                      const char *resource) {
  front *f = user;
  pthread_mutex_lock(&f->mu);
  f->asked++;
  snprintf(f->last, sizeof f->last, "%.40s %.20s %.80s", plugin_id, action, resource);
  int now = f->answer_inside;
  if (now < 0) f->open = q;
  pthread_mutex_unlock(&f->mu);
  if (now >= 0) al_approval_answer(q, now); /* a remembered answer */
}

/* The question the test holds, once asked (bounded wait), or NULL; taken out of `f`. */
static al_approval *front_take(al_host *h, front *f) {
  double end = now_ms() + WAIT_MS;
  for (;;) {
    pthread_mutex_lock(&f->mu);
    al_approval *q = f->open;
    f->open = NULL;
    pthread_mutex_unlock(&f->mu);
    if (q || now_ms() >= end) return q;
    al_host_dispatch(h, 5);
  }
}

static const char *COUNTING_SAVER =
    "definePlugin(({ ui }) => ({ initialState: { saved: 0 }, widgets: { main: {"
    "  render({ pluginState }) { return ui.text('saved=' + pluginState.saved); },"
    "  handlers: { async save({ pluginState, dispatchPluginAction }) { await pi.kv.set('k', 1);"
    "    dispatchPluginAction('state/merge', { saved: pluginState.saved + 1 }); } } } } }));";

/* Submits one async `save` of A; its completion goes to t's log. */
static bool save_once(al_host *h, const char *a, call_tag *t) {
  return al_event_async(h, a, "main", "save", NULL, on_done, t) == 0;
}

static void ask_case(al_isolation iso) {
  char why[1024] = "", home[] = "/tmp/airlock-ask-XXXXXX";
  assert_non_null(mkdtemp(home));
  front f = {.answer_inside = -1};
  pthread_mutex_init(&f.mu, NULL);
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = 1;
  cfg.watchdog_grace_ms = 5000;
  cfg.home = home;
  cfg.policy_json = "{\"mode\":\"all\",\"default\":\"ask\"}";
  cfg.ask = front_ask;
  cfg.ask_user = &f;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %.200s", e.message);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX], buf[160], args[16];
  load(h, "saver", COUNTING_SAVER, NULL, PERSON_DEADLINE_MS, a);
  load(h, "quick", QUICK, NULL, 0, b);
  render_text(h, a, buf, sizeof buf);
  render_text(h, b, buf, sizeof buf);
  done_log log = {0};
  call_tag ta[4] = {{&log, 'A', 0}, {&log, 'A', 1}, {&log, 'A', 2}, {&log, 'A', 3}}, tb[1 + B_EVENTS];
  al_approval *q = NULL;

  /* 1. Asked; B's calls run meanwhile; answered Allow well after A's deadline: A succeeds. */
  CHECK(why, save_once(h, a, &ta[0]), "al_event_async(A)");
  q = front_take(h, &f);
  CHECK(why, q, "%.10s: the front end was never asked (A: %.100s)", iso_name(iso), log.n ? log.text[0] : "pending");
  double asked_at = now_ms();
  for (int k = 0; k <= B_EVENTS; k++) {
    tb[k] = (call_tag){&log, 'B', k};
    snprintf(args, sizeof args, "%d", k);
    int rc = k ? al_event_async(h, b, "main", "set", args, on_done, &tb[k])
               : al_render_async(h, b, "main", on_done, &tb[k]);
    CHECK(why, rc == 0, "B %d: %.20s", k, al_err_name(rc));
  }
  CHECK(why, wait_done(h, &log, 1 + B_EVENTS) && pos_of(&log, 'A', 0) < 0,
        "%.10s: while A's question was open, %d of B's %d calls completed (completion order "
        "\"%.60s\")", iso_name(iso), before_a(&log), 1 + B_EVENTS, log.order);
  while (now_ms() < asked_at + PERSON_HOLD_MS) al_host_dispatch(h, 10);
  CHECK(why, log.n == 1 + B_EVENTS, "%.10s: A's call ended before the answer: %.100s", iso_name(iso),
        log.text[log.n - 1]);
  al_approval_answer(q, AL_APPROVE_ALLOW);
  q = NULL;
  CHECK(why, wait_done(h, &log, 2 + B_EVENTS), "%.10s: A's call never completed after Allow", iso_name(iso));
  CHECK(why, log.rc[1 + B_EVENTS] == 0, "%.10s: A's call, allowed after %d ms (deadline %d ms), "
        "answered %.100s", iso_name(iso), PERSON_HOLD_MS, PERSON_DEADLINE_MS, log.text[1 + B_EVENTS]);
  CHECK(why, !strcmp(render_text(h, a, buf, sizeof buf), "saved=1"), "A shows \"%.100s\"", buf);
  pthread_mutex_lock(&f.mu);
  snprintf(buf, sizeof buf, "%.159s", f.last);
  pthread_mutex_unlock(&f.mu);
  CHECK(why, !strcmp(buf, "saver kv k"), "the front end was asked \"%.100s\"", buf);

  /* 2. Deny: the waiting call fails with the refusal, nothing applied. */
  int base = log.n;
  CHECK(why, save_once(h, a, &ta[1]), "al_event_async(A 2)");
  q = front_take(h, &f);
  CHECK(why, q, "%.10s: not asked the second time", iso_name(iso));
  al_approval_answer(q, AL_APPROVE_DENY);
  q = NULL;
  CHECK(why, wait_done(h, &log, base + 1), "%.10s: A's denied call never completed", iso_name(iso));
  CHECK(why, log.rc[base] == AL_EPLUGIN && strstr(log.text[base], "CAPABILITY_DENIED"),
        "%.10s: A's denied call answered %.100s, want PLUGIN_ERROR with CAPABILITY_DENIED", iso_name(iso),
        log.rc[base] ? log.text[base] : "OK");
  CHECK(why, !strcmp(render_text(h, a, buf, sizeof buf), "saved=1"), "after Deny A shows \"%.100s\"", buf);

  /* 3. Answered inside ask (a remembered answer): no wait at all. */
  pthread_mutex_lock(&f.mu);
  f.answer_inside = AL_APPROVE_ALLOW;
  pthread_mutex_unlock(&f.mu);
  CHECK(why, save_once(h, a, &ta[2]), "al_event_async(A 3)");
  CHECK(why, wait_done(h, &log, base + 2), "%.10s: A's call answered inside ask never completed", iso_name(iso));
  CHECK(why, log.rc[base + 1] == 0, "%.10s: A's call answered inside ask: %.100s", iso_name(iso), log.text[base + 1]);
  CHECK(why, !strcmp(render_text(h, a, buf, sizeof buf), "saved=2"), "A shows \"%.100s\"", buf);

  /* 4. The host goes away with a question open; the front end answers afterwards: the
   *    answer is accepted and ignored, and frees the question (ASan: no leak, no UAF). */
  pthread_mutex_lock(&f.mu);
  f.answer_inside = -1;
  int asked_before = f.asked;
  pthread_mutex_unlock(&f.mu);
  CHECK(why, save_once(h, a, &ta[3]), "al_event_async(A 4)");
  q = front_take(h, &f);
  CHECK(why, q, "%.10s: not asked the fourth time", iso_name(iso));
  pthread_mutex_lock(&f.mu);
  int asked = f.asked;
  pthread_mutex_unlock(&f.mu);
  CHECK(why, asked == asked_before + 1, "asked %d times, want %d", asked, asked_before + 1);
  al_host_free(h); /* must not wait for the person */
  h = NULL;
  al_approval_answer(q, AL_APPROVE_ALLOW);
  q = NULL;
  CHECK(why, log.n == base + 2, "a callback ran for the call cut short by al_host_free");
out:
  if (q) al_approval_answer(q, AL_APPROVE_DENY); /* a failed case may hold one */
  al_host_free(h);
  pthread_mutex_lock(&f.mu); /* a question asked after the case gave up waiting for it */
  q = f.open;
  f.open = NULL;
  pthread_mutex_unlock(&f.mu);
  if (q) al_approval_answer(q, AL_APPROVE_DENY);
  pthread_mutex_destroy(&f.mu);
  snprintf(buf, sizeof buf, "rm -rf %.100s", home);
  if (system(buf) != 0 && !why[0]) snprintf(why, sizeof why, "cannot remove %.100s", home);
  if (why[0]) fail_msg("%s", why);
}

static void test_ask_thread(void **st) {
  (void)st;
  ask_case(AL_ISOLATION_THREAD);
}

static void test_ask_process(void **st) {
  (void)st;
  ask_case(AL_ISOLATION_PROCESS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sleep_thread),        cmocka_unit_test(test_sleep_process),
      cmocka_unit_test(test_http_thread),         cmocka_unit_test(test_http_process),
      cmocka_unit_test(test_fresh_state_thread),  cmocka_unit_test(test_fresh_state_process),
      cmocka_unit_test(test_fresh_state_inline),  cmocka_unit_test(test_fresh_global_thread),
      cmocka_unit_test(test_fresh_global_process), cmocka_unit_test(test_deadline_thread),
      cmocka_unit_test(test_deadline_process),    cmocka_unit_test(test_sync_sleep_thread),
      cmocka_unit_test(test_sync_sleep_process),  cmocka_unit_test(test_sync_http_thread),
      cmocka_unit_test(test_sync_http_process),   cmocka_unit_test(test_approval_thread),
      cmocka_unit_test(test_approval_process),    cmocka_unit_test(test_ask_thread),
      cmocka_unit_test(test_ask_process),         cmocka_unit_test(test_slow_load_thread),
      cmocka_unit_test(test_slow_load_process),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

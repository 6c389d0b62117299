/*
 * test_breach.c: a worker that lies (issue 16). Each case loads one instance whose worker
 * process misbehaves in one way (tests/integration/hostile_worker.c, selected by a marker
 * in the instance's source) beside honest instances of other plugins, which process
 * isolation puts on other worker processes. The host must refuse the lie, kill that
 * worker, audit a worker_breach under the lying plugin's id, and leave every other
 * instance as it was: same answers, same JS state (a render counter that a restart
 * would reset).
 */
#include <time.h>

#include "testutil.h"

static al_host *mk(void) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_PROCESS;
  cfg.workers = 1; /* the pool grows one process per trust identity */
  cfg.worker_path = HOSTILE_WORKER;
  cfg.watchdog_grace_ms = 1000;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  return h;
}

/* An honest widget plugin whose JS state (a counter) survives only if its process does. */
static const char *HONEST =
    "let renders = 0;"
    "pi.on('SessionStart', () => ({ note: 'honest' }));"
    "definePlugin(({ ui }) => ({ widgets: { main: { render() { renders++; return ui.text('renders=' + renders); } } } }));";

static void honest_renders(al_host *h, const char *id, int want) {
  json_t *t = t_render(h, id, "main");
  char text[32];
  snprintf(text, sizeof text, "renders=%d", want);
  assert_string_equal(json_string_value(json_object_get(t, "text")), text);
  json_decref(t);
}

/* The audit records of `action` for `plugin` (waits for the worker's driver, which may
 * record a breach a moment after the call it spoiled returned). */
static json_t *audited(al_host *h, const char *plugin, const char *action, bool wait) {
  for (int tries = 0;; tries++) {
    char *text = NULL;
    assert_int_equal(al_audit(h, 0, &text, NULL), 0);
    json_t *all = t_json(text), *hits = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r)
      if (!strcmp(json_string_value(json_object_get(r, "action")), action) &&
          !strcmp(json_string_value(json_object_get(r, "plugin_id")), plugin))
        json_array_append(hits, r);
    json_decref(all);
    if (json_array_size(hits) || !wait || tries == 1000) return hits;
    json_decref(hits);
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  }
}

static void assert_breach(al_host *h, const char *plugin, const char *why_part) {
  json_t *hits = audited(h, plugin, "worker_breach", true);
  assert_true(json_array_size(hits) >= 1);
  const char *why = json_string_value(json_object_get(json_array_get(hits, 0), "reason"));
  if (!why || !strstr(why, why_part)) fail_msg("breach reason '%s' lacks '%s'", why ? why : "(none)", why_part);
  assert_string_equal(json_string_value(json_object_get(json_array_get(hits, 0), "decision")), "denied");
  json_decref(hits);
}

/* The results in an emit's aggregate that came from plugin `pid`. */
static size_t results_of(const json_t *agg, const char *pid, const char **action, const char **reason) {
  size_t i, n = 0;
  json_t *r;
  json_array_foreach(json_object_get(agg, "results"), i, r) {
    if (strcmp(json_string_value(json_object_get(r, "pluginId")), pid)) continue;
    if (action) *action = json_string_value(json_object_get(r, "action"));
    if (reason) *reason = json_string_value(json_object_get(r, "reason"));
    n++;
  }
  return n;
}

/* A report of a subscription the host never approved: the handlers of a plugin that asked
 * only for SessionStart once ran for PreToolUse and PermissionRequest. */
static void test_false_subscriptions(void **st) {
  (void)st;
  al_host *h = mk();
  char good[AL_INSTANCE_ID_MAX], bad[AL_INSTANCE_ID_MAX];
  t_load(h, "good", HONEST, NULL, good);
  const char *liar = "/*HOSTILE:hooks*/ pi.on('SessionStart', () => ({}));";
  t_load(h, "liar", liar, NULL, bad);
  honest_renders(h, good, 1);
  assert_int_equal(al_hook_subscribed(h, "PreToolUse"), 0);
  json_t *r = t_emit(h, "SessionStart", "{}");
  const char *action = NULL, *reason = NULL;
  assert_int_equal(results_of(r, "liar", &action, &reason), 1);
  assert_string_equal(action, "error");
  assert_non_null(strstr(reason, "PLUGIN_CRASHED"));
  assert_int_equal(results_of(r, "good", NULL, NULL), 1);
  json_decref(r);
  assert_breach(h, "liar", "for 'PreToolUse' where the host approved 0");
  /* the lie changed nothing: no one is subscribed to PreToolUse */
  assert_int_equal(al_hook_subscribed(h, "PreToolUse"), 0);
  /* the liar is set aside; the honest plugin kept its process and its JS state */
  char *out = NULL;
  al_error e;
  r = t_emit(h, "SessionStart", "{}");
  assert_int_equal(results_of(r, "liar", &action, NULL), 1);
  assert_string_equal(action, "error");
  json_decref(r);
  assert_int_equal(al_render(h, bad, "main", &out, &e), AL_ECRASHED);
  honest_renders(h, good, 2);
  al_host_free(h);
}

/* A huge handler count at load (10^6 once made the host allocate 2 GB on an error path). */
static void test_huge_count(void **st) {
  (void)st;
  al_host *h = mk();
  char good[AL_INSTANCE_ID_MAX];
  t_load(h, "good", HONEST, NULL, good);
  honest_renders(h, good, 1);
  const char *liar = "/*HOSTILE:count*/ pi.on('SessionStart', () => ({}));";
  al_error e;
  int rc = al_load(h, "liar", liar, strlen(liar), NULL, NULL, 0, &e);
  assert_int_equal(rc, AL_ECRASHED);
  assert_non_null(strstr(e.message, "reported 1000000 handler(s) for 'SessionStart' where the host approved 1"));
  assert_breach(h, "liar", "1000000 handler(s)");
  json_t *r = t_emit(h, "SessionStart", "{}");
  assert_int_equal(results_of(r, "liar", NULL, NULL), 0);
  assert_int_equal(results_of(r, "good", NULL, NULL), 1);
  json_decref(r);
  honest_renders(h, good, 2);
  al_host_free(h);
}

/* More results than handlers, each answering "allow" to a permission request. */
static void test_forged_results(void **st) {
  (void)st;
  al_host *h = mk();
  char good[AL_INSTANCE_ID_MAX], bad[AL_INSTANCE_ID_MAX];
  t_load(h, "good", HONEST, NULL, good);
  t_load(h, "liar", "/*HOSTILE:results*/ pi.on('PermissionRequest', () => undefined);", NULL, bad);
  json_t *r = t_emit(h, "PermissionRequest", "{\"tool_name\":\"bash\"}");
  const char *action = NULL;
  assert_int_equal(results_of(r, "liar", &action, NULL), 1);
  assert_string_equal(action, "error");
  assert_string_not_equal(json_string_value(json_object_get(r, "action")), "allow");
  json_decref(r);
  assert_breach(h, "liar", "returned 5000 result(s) for 'PermissionRequest' where the host approved 1");
  honest_renders(h, good, 1);
  al_host_free(h);
}

/* A hostcall naming another instance: it once read a file only that instance was granted
 * and wrote kv under its name. The breach is the liar's, never the victim's. */
static void test_foreign_hostcall(void **st) {
  (void)st;
  al_host *h = mk();
  char good[AL_INSTANCE_ID_MAX];
  al_load_opts o = {.instance_id = "victim"};
  al_error e;
  assert_int_equal(al_load(h, "good", HONEST, strlen(HONEST), &o, good, sizeof good, &e), 0);
  honest_renders(h, good, 1);
  const char *liar = "/*HOSTILE:foreign:victim*/ pi.on('SessionStart', () => ({}));";
  int rc = al_load(h, "liar", liar, strlen(liar), NULL, NULL, 0, &e);
  assert_int_equal(rc, AL_ECRASHED);
  assert_breach(h, "liar", "a hostcall naming another instance");
  json_t *none = audited(h, "good", "worker_breach", false);
  assert_int_equal(json_array_size(none), 0);
  json_decref(none);
  honest_renders(h, good, 2);
  json_t *r = t_emit(h, "SessionStart", "{}");
  assert_int_equal(results_of(r, "good", NULL, NULL), 1);
  json_decref(r);
  al_host_free(h);
}

/* One extra answer, for the ticket after its own: it was once taken as the reply to the
 * next request, and another instance rendered a forged tree. */
static void test_extra_answer(void **st) {
  (void)st;
  al_host *h = mk();
  char good[AL_INSTANCE_ID_MAX], bad[AL_INSTANCE_ID_MAX];
  t_load(h, "good", HONEST, NULL, good);
  t_load(h, "liar", "/*HOSTILE:extra*/" T_PLUGIN("return ui.text('liar');"), NULL, bad);
  json_t *t = t_render(h, bad, "main");
  assert_string_equal(json_string_value(json_object_get(t, "text")), "liar");
  json_decref(t);
  assert_breach(h, "liar", "an answer for a call it was not sent, or a second answer");
  honest_renders(h, good, 1);
  honest_renders(h, good, 2);
  char *out = NULL;
  al_error e;
  assert_int_equal(al_render(h, bad, "main", &out, &e), AL_ECRASHED);
  al_host_free(h);
}

/* An answer naming a ticket the host never sent. */
static void test_wrong_ticket(void **st) {
  (void)st;
  al_host *h = mk();
  char good[AL_INSTANCE_ID_MAX], bad[AL_INSTANCE_ID_MAX];
  t_load(h, "good", HONEST, NULL, good);
  honest_renders(h, good, 1);
  t_load(h, "liar", "/*HOSTILE:wrongticket*/" T_PLUGIN("return ui.text('liar');"), NULL, bad);
  char *out = NULL;
  al_error e;
  assert_int_equal(al_render(h, bad, "main", &out, &e), AL_ECRASHED);
  assert_null(out);
  assert_breach(h, "liar", "an answer for a call it was not sent");
  honest_renders(h, good, 2);
  al_host_free(h);
}

/* An answer trickled a byte at a time (it once stretched a 100 ms render to 10 s): the
 * frame read is bounded by the call's hard deadline, so the render ends as a timeout and
 * never returns the trickled tree. */
static void test_trickled_answer(void **st) {
  (void)st;
  al_host *h = mk();
  char good[AL_INSTANCE_ID_MAX], bad[AL_INSTANCE_ID_MAX];
  t_load(h, "good", HONEST, NULL, good);
  honest_renders(h, good, 1);
  t_load(h, "liar", "/*HOSTILE:trickle*/" T_PLUGIN("return ui.text('trickled');"), NULL, bad);
  unsigned starts = t_worker_starts(h);
  char *out = NULL;
  al_error e;
  int rc = al_render(h, bad, "main", &out, &e);
  assert_int_equal(rc, AL_ETIMEOUT);
  assert_null(out);
  honest_renders(h, good, 2);
  /* the watchdog killed the trickler's process only */
  assert_int_equal(t_worker_starts(h), starts);
  al_host_free(h);
}

/* A pi extension's worker that answers a tool_call with an intent pi has no such call for
 * (and an error in another extension's name): the host refuses the whole answer, kills
 * the worker, and, the event being tool_call, blocks (fail closed); the honest pi
 * extension after it is never asked, and the forged error appears nowhere. */
static void test_pi_forged_intent(void **st) {
  (void)st;
  char dir[] = "/tmp/airlock-breach-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char liar[300], honest[300];
  snprintf(liar, sizeof liar, "%s/liar.ts", dir);
  snprintf(honest, sizeof honest, "%s/victim.ts", dir);
  FILE *f = fopen(liar, "w");
  assert_non_null(f);
  fputs("/*HOSTILE:piintent*/ export default function (pi) { pi.on('tool_call', () => undefined); }\n", f);
  fclose(f);
  assert_non_null(f = fopen(honest, "w"));
  fputs("export default function (pi) { pi.on('tool_call', () => { pi.appendEntry('victim', {}); }); }\n", f);
  fclose(f);
  al_host *h = mk();
  al_error e = {0};
  assert_int_equal(al_load_package(h, liar, NULL, NULL, 0, &e), 0);
  assert_int_equal(al_load_package(h, honest, NULL, NULL, 0, &e), 0);
  json_t *r = t_emit(h, "tool_call", "{\"toolName\":\"bash\",\"toolCallId\":\"c\",\"input\":{}}");
  assert_string_equal(json_string_value(json_object_get(r, "action")), "block");
  assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "Extension 'liar' failed in tool_call: PLUGIN_CRASHED"));
  assert_int_equal(json_array_size(json_object_get(r, "intents")), 0);
  char *text = json_dumps(r, JSON_COMPACT);
  assert_null(strstr(text, "framed"));
  assert_null(strstr(text, "runShell"));
  free(text);
  json_decref(r);
  assert_breach(h, "liar", "not one of pi's session calls");
  al_host_free(h);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_false_subscriptions), cmocka_unit_test(test_huge_count),
      cmocka_unit_test(test_forged_results),      cmocka_unit_test(test_foreign_hostcall),
      cmocka_unit_test(test_extra_answer),        cmocka_unit_test(test_wrong_ticket),
      cmocka_unit_test(test_trickled_answer),      cmocka_unit_test(test_pi_forged_intent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

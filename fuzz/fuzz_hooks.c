/* fuzz_hooks.c: what a compromised worker or a hostile plugin can hand the host's hooks
 * code: hostcall frames ({method, args}, as a worker process sends them) through the
 * dispatcher, a worker's report of subscriptions ({subscribe: [events asked for],
 * hooks: {event: count}, event, results}) through the host's check, and handler return values through normalization and aggregation for every
 * agent-profile event. Nothing may crash or leak; normalized results must have an action
 * from the contract's set, and aggregates must keep one result per input.
 *
 * The dispatcher runs with no database, the default policy (deny) and a manifest granting
 * nothing that reaches the network or the file system, so every input stays in memory;
 * byte 0 picks whether the plugin's manifest grants kv/register_tools/read_config (to
 * reach past the chain into argument handling). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "hooks/emit.h"
#include "hooks/events.h"
#include "hooks/hostcall.h"


static void quiet(void *u, const char *p, const char *l, const char *m) {
  (void)u, (void)p, (void)l, (void)m;
}

static bool action_ok(const char *a) {
  static const char *ok[] = {"continue", "block", "allow", "deny", "ask", "error"};
  for (size_t i = 0; a && i < sizeof ok / sizeof ok[0]; i++)
    if (!strcmp(a, ok[i])) return true;
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static ev_registry *reg;
  static hc_services *hc;
  if (!reg) {
    reg = ev_registry_new();
    CHECK(reg && ev_agent_profile(reg, NULL) == 0);
    hc_config cfg = {.log = quiet};
    CHECK(hc_new(&cfg, &hc, NULL) == 0);
  }
  json_t *v = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (!v) return 0;

  /* as a hostcall frame */
  json_t *caps = data[0] & 1 ? json_pack("{s:b,s:b,s:b,s:[s,s]}", "kv", 1, "register_tools", 1, "read_config", 1,
                                         "events", "SessionStart", "PreToolUse")
                             : NULL;
  /* settingsEnv: settings read from the host's environment (pkg_settings_resolve's env_out) */
  CHECK(hc_plugin_add(hc, "fz@00000000", "fz", caps, json_object_get(v, "settings"),
                      json_object_get(v, "settingsEnv"), NULL) == 0);
  const char *method = json_string_value(json_object_get(v, "method"));
  if (method) {
    json_t *res = NULL;
    al_error e = {0};
    int rc = hc_call(hc, "fz@00000000", method, json_object_get(v, "args"), 50, NULL, &res, &e);
    CHECK(rc ? res == NULL && e.code == rc : res != NULL);
    json_decref(res);
  }
  /* as a worker's report of the plugin's subscriptions ({event: count}) and a hook
   * answer's result count, after the subscriptions `subscribe` (an array of names) asked
   * for: believed only when the host approved at least that much (hc_hooks_check) */
  size_t i;
  json_t *name;
  json_array_foreach(json_object_get(v, "subscribe"), i, name) {
    json_t *res = NULL, *args = json_pack("{s:O}", "event", name);
    if (args && !hc_call(hc, "fz@00000000", "events.subscribe", args, 50, NULL, &res, NULL)) json_decref(res);
    json_decref(args);
  }
  char why[200];
  const json_t *hooks = json_object_get(v, "hooks");
  const char *event = json_string_value(json_object_get(v, "event"));
  size_t nres = json_array_size(json_object_get(v, "results"));
  if (!hc_hooks_check(hc, "fz@00000000", hooks, event, nres, why, sizeof why)) {
    /* believed: every count is one the host approved, within EV_MAX_HANDLERS */
    const char *k;
    json_t *n;
    json_object_foreach((json_t *)hooks, k, n)
      CHECK(json_is_integer(n) && json_integer_value(n) >= 1 && json_integer_value(n) <= EV_MAX_HANDLERS);
    CHECK(nres <= EV_MAX_HANDLERS);
  } else {
    CHECK(why[0] != '\0');
  }
  hc_plugin_remove(hc, "fz@00000000");
  json_decref(caps);

  /* as a handler's return value, for every event */
  json_t *results = json_array();
  for (i = 0; i < ev_count(reg); i++) {
    const ev_def *ev = ev_at(reg, (int)i);
    json_t *r = em_normalize(ev, v);
    CHECK(r && action_ok(json_string_value(json_object_get(r, "action"))));
    json_array_append_new(results, r);
    json_t *agg = em_aggregate(ev, json_is_object(v) ? v : NULL, results);
    CHECK(agg && action_ok(json_string_value(json_object_get(agg, "action"))));
    CHECK(json_array_size(json_object_get(agg, "results")) == i + 1);
    json_decref(agg);
  }
  json_decref(results);
  json_decref(v);
  return 0;
}

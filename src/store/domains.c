/*
 * domains.c: the workbench's shared domains and the profile that registers them.
 *
 * counter-summary keeps per-writer values in its state and hides them in the projection;
 * greeter-profile is its own projection; runtime-registry and runtime-metrics are
 * read-only views computed from the store on demand, so they can never disagree with it.
 */
#include <string.h>
#include <stdlib.h>

#include "profile.h"

/* ---- counter-summary: state {values: {instanceId: n}, lastUpdatedInstanceId} ---------- */

static int summary_reduce(void *user, const char *writer, const char *action, const json_t *state,
                          const json_t *payload, json_t **next) {
  (void)user;
  if (strcmp(action, "set-instance")) return AL_REDUCE_UNSUPPORTED;
  const json_t *v = json_is_object(payload) ? json_object_get(payload, "value") : NULL;
  double d = profile_number(v);
  json_t *n = json_deep_copy(state);
  json_t *values = json_object_get(n, "values");
  if (!n || !values) { json_decref(n); return AL_ENO_MEMORY; }
  json_object_set_new(values, writer, profile_number_json(d));
  json_object_set_new(n, "lastUpdatedInstanceId", json_string(writer));
  *next = n;
  return AL_REDUCE_APPLIED;
}

static json_t *summary_project(void *user, const json_t *state, const store *s) {
  (void)user;
  (void)s;
  double total = 0;
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(state, "values"), k, v) total += profile_number(v);
  json_t *last = json_object_get(state, "lastUpdatedInstanceId");
  return json_pack("{s:o,s:I,s:O}", "totalValue", profile_number_json(total), "instanceCount",
                   (json_int_t)json_object_size(json_object_get(state, "values")),
                   "lastUpdatedInstanceId", last ? last : json_null());
}

static int summary_unload(void *user, const char *id, const json_t *state, json_t **next) {
  (void)user;
  if (!json_object_get(json_object_get(state, "values"), id)) return AL_REDUCE_UNSUPPORTED;
  json_t *n = json_deep_copy(state);
  if (!n) return AL_ENO_MEMORY;
  json_object_del(json_object_get(n, "values"), id);
  const char *last = json_string_value(json_object_get(n, "lastUpdatedInstanceId"));
  if (last && !strcmp(last, id)) json_object_set_new(n, "lastUpdatedInstanceId", json_null());
  *next = n;
  return AL_REDUCE_APPLIED;
}

/* ---- greeter-profile: {name, lastUpdatedInstanceId} ----------------------------------- */

static int greeter_profile_reduce(void *user, const char *writer, const char *action,
                                  const json_t *state, const json_t *payload, json_t **next) {
  (void)user;
  (void)state;
  if (strcmp(action, "set-name")) return AL_REDUCE_UNSUPPORTED;
  char *name = profile_string(payload);
  if (!name) return AL_ENO_MEMORY;
  *next = json_pack("{s:s,s:s}", "name", name, "lastUpdatedInstanceId", writer);
  free(name);
  return *next ? AL_REDUCE_APPLIED : AL_ENO_MEMORY;
}

/* An unloaded writer is no longer "last updated": like counter-summary, drop the id. */
static int greeter_profile_unload(void *user, const char *id, const json_t *state, json_t **next) {
  (void)user;
  const char *last = json_string_value(json_object_get(state, "lastUpdatedInstanceId"));
  if (!last || strcmp(last, id)) return AL_REDUCE_UNSUPPORTED;
  *next = json_deep_copy(state);
  if (!*next) return AL_ENO_MEMORY;
  json_object_set_new(*next, "lastUpdatedInstanceId", json_null());
  return AL_REDUCE_APPLIED;
}

/* ---- derived, read-only --------------------------------------------------------------- */

static json_t *registry_project(void *user, const json_t *state, const store *s) {
  (void)user;
  (void)state;
  json_t *a = json_array();
  for (size_t i = 0; i < store_count(s); i++) {
    const store_instance *inst = store_at(s, i);
    const json_t *rec = inst->record;
    json_t *declared = json_object_get(rec, "declaredId");
    json_array_append_new(
        a, json_pack("{s:O,s:s,s:s,s:O,s:O,s:b,s:I}", "id",
                     declared ? declared : json_object_get(rec, "packageId"), "instanceId",
                     inst->id, "packageId", inst->package_id, "title",
                     json_object_get(rec, "title"), "status", json_object_get(rec, "status"),
                     "enabled", 1, "widgets",
                     (json_int_t)json_array_size(json_object_get(rec, "widgets"))));
  }
  return a;
}

static json_t *metrics_project(void *user, const json_t *state, const store *s) {
  (void)user;
  (void)state;
  json_t *t = store_trace(s);
  json_t *m = json_pack("{s:I,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "pluginCount",
                        (json_int_t)store_count(s), "dispatchCount", json_object_get(t, "count"),
                        "lastTimestamp", json_object_get(t, "lastTimestamp"), "lastDispatchId",
                        json_object_get(t, "lastDispatchId"), "lastScope",
                        json_object_get(t, "lastScope"), "lastActionType",
                        json_object_get(t, "lastActionType"), "lastOutcome",
                        json_object_get(t, "lastOutcome"), "lastReason",
                        json_object_get(t, "lastReason"));
  json_decref(t);
  return m;
}

int profile_domains(store *s, al_error *err) {
  static const store_domain_ops summary = {.reduce = summary_reduce,
                                           .project = summary_project,
                                           .on_unload = summary_unload};
  static const store_domain_ops greeter = {.reduce = greeter_profile_reduce,
                                           .on_unload = greeter_profile_unload};
  static const store_domain_ops registry = {.project = registry_project, .derived_registry = true};
  static const store_domain_ops metrics = {
      .project = metrics_project, .derived_registry = true, .derived_metrics = true};
  int rc;
  if ((rc = store_register_domain(
           s, "counter-summary",
           json_pack("{s:{},s:n}", "values", "lastUpdatedInstanceId"), &summary, NULL, err)))
    return rc;
  if ((rc = store_register_domain(s, "greeter-profile",
                                  json_pack("{s:s,s:n}", "name", "", "lastUpdatedInstanceId"),
                                  &greeter, NULL, err)))
    return rc;
  if ((rc = store_register_domain(s, "runtime-registry", NULL, &registry, NULL, err))) return rc;
  return store_register_domain(s, "runtime-metrics", NULL, &metrics, NULL, err);
}

int profile_workbench(store *s, al_error *err) {
  static const struct {
    const char *package, *grants;
  } manifests[] = {
      {"counter", "{\"readShared\":[\"counter-summary\"],\"writeShared\":[\"counter-summary\"]}"},
      {"calculator", "{}"},
      {"status-dashboard",
       "{\"readShared\":[\"counter-summary\",\"runtime-metrics\",\"runtime-registry\"]}"},
      {"greeter", "{\"readShared\":[\"greeter-profile\"],\"writeShared\":[\"greeter-profile\"]}"},
      {"greeter-shared-state", "{\"readShared\":[\"greeter-profile\"]}"},
      {"runtime-monitor", "{\"readShared\":[\"runtime-registry\"]}"},
  };
  int rc;
  if ((rc = profile_reducers(s, err)) || (rc = profile_domains(s, err))) return rc;
  for (size_t i = 0; i < sizeof manifests / sizeof manifests[0]; i++) {
    json_t *g = json_loads(manifests[i].grants, 0, NULL);
    if (!g || store_set_manifest_grants(s, manifests[i].package, g))
      return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  return 0;
}

/*
 * domains.c: the workbench's shared domains.
 *
 * counter-summary keeps per-writer values in its state and hides them in the projection;
 * greeter-profile is its own projection; runtime-registry and runtime-metrics are derived
 * domains: read-only, projected from the view of the instances and the trace the host
 * builds for them on demand (al_domain_def.derive), so they can never disagree with it
 * and need nothing of the host's internals.
 */
#include <string.h>
#include <stdlib.h>

#include "airlock.h"
#include "wb_impl.h"

/* ---- counter-summary: state {values: {instanceId: n}, lastUpdatedInstanceId} ---------- */

int wb_summary_reduce(void *user, const char *writer, const char *action, const json_t *state,
                      const json_t *payload, json_t **next) {
  (void)user;
  if (strcmp(action, "set-instance")) return AL_REDUCE_UNSUPPORTED;
  const json_t *v = json_is_object(payload) ? json_object_get(payload, "value") : NULL;
  double d = wb_number(v);
  json_t *n = json_deep_copy(state);
  json_t *values = json_object_get(n, "values");
  if (!n || !values) { json_decref(n); return AL_ENO_MEMORY; }
  json_object_set_new(values, writer, wb_number_json(d));
  json_object_set_new(n, "lastUpdatedInstanceId", json_string(writer));
  *next = n;
  return AL_REDUCE_APPLIED;
}

json_t *wb_summary_project(void *user, const json_t *state) {
  (void)user;
  double total = 0;
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(state, "values"), k, v) total += wb_number(v);
  json_t *last = json_object_get(state, "lastUpdatedInstanceId");
  return json_pack("{s:o,s:I,s:O}", "totalValue", wb_number_json(total), "instanceCount",
                   (json_int_t)json_object_size(json_object_get(state, "values")),
                   "lastUpdatedInstanceId", last ? last : json_null());
}

int wb_summary_unload(void *user, const char *id, const json_t *state, json_t **next) {
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

int wb_greeter_profile_reduce(void *user, const char *writer, const char *action,
                              const json_t *state, const json_t *payload, json_t **next) {
  (void)user;
  (void)state;
  if (strcmp(action, "set-name")) return AL_REDUCE_UNSUPPORTED;
  char *name = wb_string(payload);
  if (!name) return AL_ENO_MEMORY;
  *next = json_pack("{s:s,s:s}", "name", name, "lastUpdatedInstanceId", writer);
  free(name);
  return *next ? AL_REDUCE_APPLIED : AL_ENO_MEMORY;
}

/* An unloaded writer is no longer "last updated": like counter-summary, drop the id. */
int wb_greeter_profile_unload(void *user, const char *id, const json_t *state, json_t **next) {
  (void)user;
  const char *last = json_string_value(json_object_get(state, "lastUpdatedInstanceId"));
  if (!last || strcmp(last, id)) return AL_REDUCE_UNSUPPORTED;
  *next = json_deep_copy(state);
  if (!*next) return AL_ENO_MEMORY;
  json_object_set_new(*next, "lastUpdatedInstanceId", json_null());
  return AL_REDUCE_APPLIED;
}

/* ---- derived, read-only --------------------------------------------------------------- */

json_t *wb_registry_project(void *user, const json_t *view) {
  (void)user;
  json_t *a = json_array();
  size_t i;
  const json_t *rec;
  json_array_foreach(json_object_get(view, "instances"), i, rec) {
    json_t *declared = json_object_get(rec, "declaredId");
    json_array_append_new(
        a, json_pack("{s:O,s:O,s:O,s:O,s:O,s:b,s:I}", "id",
                     declared ? declared : json_object_get(rec, "packageId"), "instanceId",
                     json_object_get(rec, "instanceId"), "packageId",
                     json_object_get(rec, "packageId"), "title", json_object_get(rec, "title"),
                     "status", json_object_get(rec, "status"), "enabled", 1, "widgets",
                     (json_int_t)json_array_size(json_object_get(rec, "widgets"))));
  }
  return a;
}

json_t *wb_metrics_project(void *user, const json_t *view) {
  (void)user;
  json_t *t = json_object_get(view, "trace");
  return json_pack("{s:I,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "pluginCount",
                   (json_int_t)json_array_size(json_object_get(view, "instances")),
                   "dispatchCount", json_object_get(t, "count"), "lastTimestamp",
                   json_object_get(t, "lastTimestamp"), "lastDispatchId",
                   json_object_get(t, "lastDispatchId"), "lastScope",
                   json_object_get(t, "lastScope"), "lastActionType",
                   json_object_get(t, "lastActionType"), "lastOutcome",
                   json_object_get(t, "lastOutcome"), "lastReason",
                   json_object_get(t, "lastReason"));
}

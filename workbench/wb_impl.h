/*
 * wb_impl.h: inside the workbench profile. The reducers and projections work on jansson
 * values, with the signatures of the store's own callbacks, so that the profile's logic
 * is one set of functions: profile.c wraps them for the text-level public API, and the
 * store's unit test (tests/unit/test_store.c) registers them on a bare store directly.
 * None of them keeps state; all are reentrant.
 */
#ifndef WB_IMPL_H
#define WB_IMPL_H

#include <jansson.h>

/* JS-like coercions the reducers share: Number(x ?? 0), the JSON number for a double
 * (null when not finite, an integer when integral), String(x ?? "") (malloc()ed; NULL
 * when out of memory). */
double wb_number(const json_t *v);
json_t *wb_number_json(double d);
char *wb_string(const json_t *v);

/* Package reducers (reducers.c): AL_REDUCE_APPLIED with *next (new reference),
 * AL_REDUCE_UNSUPPORTED for an action they do not know, or AL_ENO_MEMORY. `state` and
 * `payload` are never NULL. `user` is unused. */
int wb_counter_reduce(void *user, const char *action, const json_t *state, const json_t *payload,
                      json_t **next);
int wb_calculator_reduce(void *user, const char *action, const json_t *state,
                         const json_t *payload, json_t **next);
int wb_greeter_reduce(void *user, const char *action, const json_t *state, const json_t *payload,
                      json_t **next);

/* Shared domains (domains.c), same conventions. Projections return a new reference (NULL
 * when out of memory). The derived ones take the host's view
 * (AL_DOMAIN_DERIVE_INSTANCES / _TRACE, airlock.h) in place of a state. */
#define WB_SUMMARY_INITIAL "{\"values\":{},\"lastUpdatedInstanceId\":null}"
#define WB_GREETER_INITIAL "{\"name\":\"\",\"lastUpdatedInstanceId\":null}"
int wb_summary_reduce(void *user, const char *writer, const char *action, const json_t *state,
                      const json_t *payload, json_t **next);
json_t *wb_summary_project(void *user, const json_t *state);
int wb_summary_unload(void *user, const char *id, const json_t *state, json_t **next);
int wb_greeter_profile_reduce(void *user, const char *writer, const char *action,
                              const json_t *state, const json_t *payload, json_t **next);
int wb_greeter_profile_unload(void *user, const char *id, const json_t *state, json_t **next);
json_t *wb_registry_project(void *user, const json_t *view); /* needs DERIVE_INSTANCES */
json_t *wb_metrics_project(void *user, const json_t *view);  /* needs INSTANCES | TRACE */

/* The example manifests (examples/plugins/NAME.airlock.json), generated into wb_manifests.c
 * by CMakeLists.txt at configure time: wb_manifest_count NUL-terminated texts. */
extern const char *const wb_manifests[];
extern const unsigned wb_manifest_count;

#endif

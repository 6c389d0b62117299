/*
 * emit.h: what one emit does with handler results: normalization and aggregation
 * (hooks-and-security.md sec. 3), kept free of workers and VMs so it can be tested
 * on plain JSON.
 *
 * A handler's return value is normalized to {action: continue|block|allow|deny|error,
 * reason?, output?}. The aggregate over all results of one emit is
 * {event, action, reason?, payload, results}: any block wins with the first block's
 * reason; on permission events deny beats ask beats allow; modifications are applied to
 * the payload in registration order (a later handler's replacement of the same field
 * wins, each sees its predecessors' result in the final payload); error results never
 * change the aggregate.
 *
 * Threading: pure functions; any thread.
 */
#ifndef AL_HOOKS_EMIT_H
#define AL_HOOKS_EMIT_H

#include "hooks/events.h"

/* Normalizes one handler's return value (borrowed; NULL = undefined) for event `ev`.
 * Returns a new {action, reason?, output?}; NULL only when out of memory. */
json_t *em_normalize(const ev_def *ev, const json_t *value);

/* An {action: "error", reason} result; new reference. */
json_t *em_error(const char *reason);

/* Aggregates `results` (borrowed array of normalized results, each possibly carrying
 * instanceId, pluginId and elapsedUs) for `ev` over `payload` (borrowed). Returns a new
 * {event, action, reason?, payload, results, ...appended fields}; NULL when out of memory. */
json_t *em_aggregate(const ev_def *ev, const json_t *payload, const json_t *results);

#endif

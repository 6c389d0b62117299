/*
 * pi_vet.h: what the host believes of a pi extension's worker (host/pi_host.c): its
 * registrations, the intents and errors in its answers, and what a chain's result means.
 * Pure functions on JSON, so they can be tested and fuzzed without workers
 * (fuzz/fuzz_pi.c).
 *
 * Threading: pure; any thread.
 */
#ifndef AL_HOOKS_PI_VET_H
#define AL_HOOKS_PI_VET_H

#include "common.h"

#define PV_MAX_INTENTS 256
#define PV_MAX_ERRORS 64
#define PV_MAX_REG 128 /* per kind: tools, commands, flags, ... */
#define PV_MAX_NAME 128
#define PV_MAX_TEXT 4096
#define PV_MAX_PARAMS ((size_t)64 << 10)
#define PV_MAX_BUS 32   /* pi.events emits per answer (pi_ext.js's maxBus) */

/* The `why` every pv_* function below gives when it fails for want of memory rather than
 * because the worker broke a bound: the caller answers OUT_OF_MEMORY, never a breach. */
#define PV_OOM "out of memory"

/* pi's event names (pv_nevents of them, static storage). */
extern const char *const pv_events[];
extern const size_t pv_nevents;

/* A registrations report (borrowed) -> a copy holding only what it may say: {tools:
 * [{name, description, parameters}], commands: [{name, description}], flags: [{name,
 * type, default}], shortcuts: [key], events: [pi event], messageRenderers: [type],
 * channels: [pi.events channel it listens on]}, each
 * bounded (PV_MAX_*). NULL, with why (cap bytes), when it breaks a bound. New reference. */
json_t *pv_registry(const json_t *reg, char *why, size_t cap);

/* Appends copies of the intents in `a` (borrowed; NULL: none) to `into`: each an object
 * whose type is one of pi's session calls, at most PV_MAX_INTENTS in `into` in all. False
 * (with why) when one is not. */
bool pv_intents(const json_t *a, json_t *into, char *why, size_t cap);

/* Appends copies {channel, data} of the pi.events emits in `a` (borrowed; NULL: none) to
 * `into`: channels 1-PV_MAX_NAME bytes, data at most PV_MAX_PARAMS bytes of JSON, at most
 * PV_MAX_BUS in `into` in all. False (with why) when one breaks a bound. */
bool pv_bus(const json_t *a, json_t *into, char *why, size_t cap);

/* Appends {extension: plugin_id, message} to `errors` (at most PV_MAX_ERRORS; past that
 * it is dropped, true). False only when memory ran out. */
bool pv_error(json_t *errors, const char *plugin_id, const char *msg);
/* The errors an answer reported (`a`, borrowed), appended under `plugin_id`: the host's
 * name for the extension, never the one the worker gave. False when `a` is malformed. */
bool pv_errors(const json_t *a, json_t *into, const char *plugin_id, char *why, size_t cap);

/* What a chain's `result` (borrowed; any JSON) means for pi event `event`: "continue",
 * "block" (tool_call {block}), "cancel" (session_before_* {cancel}), "transform" or
 * "handled" (input); *reason: the block's reason when it has one (borrowed from result). */
const char *pv_action(const char *event, const json_t *result, const char **reason);
/* True when the chain ends at this result (a block, a cancel, handled input, a user_bash
 * result). */
bool pv_stops(const char *event, const char *action, const json_t *result);

#endif

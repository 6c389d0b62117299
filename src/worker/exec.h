/*
 * exec.h: the worker side of the runtime boundary (spec sec. 6).
 *
 * A wk_table owns the VMs of the instances assigned to one worker (a thread, or the
 * airlock-worker process) and executes boundary requests against them. Requests and
 * responses are JSON, so the same executor serves an in-process thread (json_t handed
 * over directly) and a worker process (the same json_t carried in IPC frames).
 *
 *   load    {op, instanceId, code, sourceName?, limits{memoryBytes, stackBytes, loadMs,
 *            renderMs, eventMs}, maxValueBytes, maxTreeBytes}      -> ok: metadata
 *   render  {op, instanceId, widgetId, pluginState, globalState}   -> ok: tree
 *   event   {op, instanceId, widgetId, handler, args?, pluginState,
 *            globalState}                                          -> ok: intents
 *   reduce  {op, instanceId, actionType, state, payload}           -> ok: {handled, next?}
 *   dispose {op, instanceId}                                       -> ok: {disposed}
 *   swap    {op, instanceId, from}  the VM loaded as `from` replaces
 *           instanceId's (hot reload)                              -> ok: {swapped}
 *   health  {op}                                                   -> ok: {ready, instances}
 *   stall   {op, ms}   host-only diagnostic: blocks the worker       -> ok: {stalledMs}
 *   hook    {op, instanceId, event, payload, timeoutMs}             -> ok: {results[], hooks}
 *   tool    {op, instanceId, name, args, timeoutMs}                  -> ok: value
 *
 * load also takes `pi` {id, version, events[]} (the `pi` global is installed from it before
 * the plugin's code runs) and answers `hooks` {event: handler count} beside `ok`, as do
 * hook and tool (inside ok for hook), so the host learns subscriptions as they change.
 *
 * Every response is {ok: value, stats} or {error: {code, message, path?, line?}, stats},
 * with the contract's code strings ("VM_TIMEOUT") and stats {elapsedUs, interrupted,
 * memoryBytes}. Outputs are unvalidated: the host validates them.
 *
 * Threading: a wk_table is used by one thread at a time (its worker's).
 */
#ifndef AL_WORKER_EXEC_H
#define AL_WORKER_EXEC_H

#include "common.h"

typedef struct wk_table wk_table;

/* alloc may be NULL (C library); it is used for every VM heap the table creates. */
wk_table *wk_table_new(al_alloc_fn alloc, void *alloc_ud);
void wk_table_free(wk_table *t);
/* Where the VMs this table creates send their hostcalls (see common.h); NULL: none. */
void wk_table_set_hostcall(wk_table *t, hostcall_fn fn, void *user);
/* Starts a thread that keeps one spare VM ready for this table's next load, so a load
 * costs only the plugin's own evaluation (thread back end; the thread runs at a lower
 * priority and sleeps while the spare is unused). The thread allocates with the table's
 * allocator, so that must be thread-safe. Returns 0 or AL_EINTERNAL. */
int wk_table_prewarm(wk_table *t);
/* Makes the spare VM now, on the calling thread, if the table has none: for a worker
 * process, which has no second thread, to call when it finds itself idle. */
void wk_table_make_spare(wk_table *t);
size_t wk_table_count(const wk_table *t);

/* Executes one request. Returns a new response; NULL only when out of memory. */
json_t *wk_exec(wk_table *t, const json_t *req);

/* Builds an error response {error:{code,message,path?,line?}}. New reference. */
json_t *wk_error_response(const al_error *err);
/* Reads a response into (rc, *value borrowed from resp, err). Returns rc. */
int wk_response_result(const json_t *resp, const json_t **value, al_error *err);

/* Runs process-wide QuickJS set-up once (pthread_once); call before starting threads. */
void wk_global_init(void);

#endif

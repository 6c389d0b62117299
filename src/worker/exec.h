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
 * An ES module plugin's load carries `modules` {entry, files: {id: {code, imports}}}
 * (pkg/modgraph.h) in place of `code`: the VM evaluates the graph from it (vm/module.c).
 *
 * load also takes `pi` {id, version, events[]} (the `pi` global is installed from it before
 * the plugin's code runs) and answers `hooks` {event: handler count} beside `ok`, as do
 * hook and tool (inside ok for hook), so the host learns subscriptions as they change.
 *
 * Every response is {ok: value, stats} or {error: {code, message, path?, line?}, stats},
 * with the contract's code strings ("VM_TIMEOUT") and stats {elapsedUs, interrupted,
 * memoryBytes}. Outputs are unvalidated: the host validates them.
 *
 * The table is an event loop over its VMs. A call whose promise waits on a pi.sleep timer
 * or an asynchronous hostcall is parked: the table keeps it and goes on with requests for
 * other instances; requests for the parked call's own instance wait behind it, so calls to
 * one instance run in order. wk_submit() starts or queues a request, wk_deliver() hands a
 * hostcall's answer over (resuming the call that awaits it), wk_hold() pauses a call's
 * deadline while the host waits for a person, wk_poll() fires due timers and abandons
 * parked calls past their deadline (VM_TIMEOUT: their jobs, timers and awaited hostcalls
 * are dropped, so a late answer finds no one). Finished requests go to the sink's `done`.
 *
 * Threading: a wk_table is used by one thread at a time (its worker's); the sink's
 * functions are called on that thread, from inside the wk_* calls.
 */
#ifndef AL_WORKER_EXEC_H
#define AL_WORKER_EXEC_H

#include "common.h"

typedef struct wk_table wk_table;

/* Where a table's results and outgoing hostcalls go. Every member may be NULL. */
typedef struct wk_sink {
  /* Request `ticket` finished; `resp` is stolen. */
  void (*done)(void *user, uint64_t ticket, json_t *resp);
  /* Send asynchronous hostcall `id` of request `ticket` (instance `instance_id`) to the
   * host; `args` is stolen. Its answer comes back through wk_deliver(id), never from
   * inside this call. Returns 0, or an error the awaiting promise rejects with. */
  int (*send)(void *user, uint64_t id, uint64_t ticket, const char *instance_id,
              const char *method, json_t *args, uint32_t timeout_ms, al_error *err);
  /* Hostcalls answered at once (subscribe, register a tool, log); see hostcall_fn. */
  hostcall_fn call;
  /* A slice of request `ticket` is about to run plugin code; `busy` is the number of
   * requests in progress (parked or running) in the table. For the watchdog and, in a
   * worker process, to tell the host which call a crash happened in. */
  void (*slice)(void *user, uint64_t ticket, size_t busy);
  void *user;
} wk_sink;

/* alloc may be NULL (C library); it is used for every VM heap the table creates. `sink`
 * (copied; may be NULL) says where results go. */
wk_table *wk_table_new(al_alloc_fn alloc, void *alloc_ud, const wk_sink *sink);
void wk_table_free(wk_table *t);
/* Starts a thread that keeps one spare VM ready for this table's next load, so a load
 * costs only the plugin's own evaluation (thread back end; the thread runs at a lower
 * priority and sleeps while the spare is unused). The thread allocates with the table's
 * allocator, so that must be thread-safe. Returns 0 or AL_EINTERNAL. */
int wk_table_prewarm(wk_table *t);
/* Makes the spare VM now, on the calling thread, if the table has none: for a worker
 * process, which has no second thread, to call when it finds itself idle. */
void wk_table_make_spare(wk_table *t);
size_t wk_table_count(const wk_table *t);
/* Requests in progress (parked or running) or queued behind one. */
size_t wk_busy(const wk_table *t);

/* Starts request `req` (stolen) under `ticket` (non-zero), or queues it behind the call in
 * progress on its instance. Its response reaches sink.done, perhaps before this returns. */
void wk_submit(wk_table *t, uint64_t ticket, json_t *req);
/* The answer to asynchronous hostcall `id`: {ok: value} or {error: {code, message}}
 * (stolen). An id nobody awaits any more is dropped. */
void wk_deliver(wk_table *t, uint64_t id, json_t *reply);
/* The host waits for a person on hostcall `id`'s behalf: see vm_hold. */
void wk_hold(wk_table *t, uint64_t id, uint32_t ms);
/* Fires due timers and times out parked calls past their deadline. Returns the ms until
 * the next timer or deadline of a parked call (0: call again at once), -1 when none. */
int64_t wk_poll(wk_table *t);

/* Runs one request to completion on the calling thread, sleeping through its timers; for
 * tools and tests on a table whose sink has no `done`. Returns the response (NULL only when
 * out of memory). */
json_t *wk_exec(wk_table *t, const json_t *req);

/* Builds an error response {error:{code,message,path?,line?}}. New reference, or NULL
 * when out of memory. */
json_t *wk_error_response(const al_error *err);
/* Reads a response into (rc, *value borrowed from resp, err). Returns rc; a NULL resp
 * (no memory was left to make one) is OUT_OF_MEMORY. */
int wk_response_result(const json_t *resp, const json_t **value, al_error *err);

/* Runs process-wide QuickJS set-up once (pthread_once); call before starting threads. */
void wk_global_init(void);

#endif

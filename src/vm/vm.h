/*
 * vm.h: one plugin instance's QuickJS runtime + context, and the calls the runtime
 * boundary defines (load, render, event, reduce).
 *
 * Inputs and outputs are json_t values, never JSValues: that is the serializable
 * request/response boundary a worker thread or process can carry unchanged. Every call
 * runs under an absolute deadline enforced by the interrupt handler; timeouts, memory and
 * stack errors are classified from what the host observed (deadline flag, allocator
 * flag), and the instance stays usable afterwards.
 *
 * Threading: a vm_instance may be used by one thread at a time; its runtime is not shared.
 */
#ifndef AL_VM_H
#define AL_VM_H

#include "common.h"

typedef struct vm_instance vm_instance;

/* The states of a call record (bootstrap.js's `rec.state`). The bootstrap receives this
 * table as its REC object, so C and JS name them from one place. */
#define VM_REC_STATES(X)                                                           \
  X(PENDING, 0)    /* not settled yet */                                           \
  X(FULFILLED, 1)  /* rec.value (and rec.intents) hold the result */               \
  X(REJECTED, 2)   /* rec.error holds what the plugin threw or rejected with */    \
  X(NO_TARGET, 3)  /* no such widget, hook handler or tool */                      \
  X(NO_HANDLER, 4) /* the widget has no such handler */                            \
  X(NO_REDUCER, 5) /* the plugin declares no reducer for the action */
enum {
#define VM_REC_ENUM(name, value) VM_REC_##name = value,
  VM_REC_STATES(VM_REC_ENUM)
#undef VM_REC_ENUM
};

/* A call's result besides 0 and the negative AL_E* codes: its promise waits on a pi.sleep
 * timer or an asynchronous hostcall. The call is parked: the VM keeps it, and the caller
 * finishes it with vm_resume() once vm_deliver() handed over an answer, a timer is due
 * (vm_wake_ms), or its deadline passed (vm_deadline). At most one call per VM is in
 * progress; no other call may start until it finished. The inputs a parked call was given
 * (states, payload, args) stay borrowed until it finished: the caller keeps them alive,
 * and the VM takes no reference of its own (a value shared with another thread must not
 * have its count changed here). */
#define VM_PARKED 1

/* How a VM sends an asynchronous hostcall: `args` is stolen. On success the sender sets
 * *id (unique among the ids this sender handed out, below 2^53) and later hands the
 * answer to vm_deliver(id), on the VM's thread, between calls into the VM. */
typedef int (*vm_send_fn)(void *user, const char *instance_id, const char *method,
                          json_t *args, uint32_t timeout_ms, uint64_t *id, al_error *err);

typedef struct vm_config {
  al_limits limits;        /* resolved: every field non-zero */
  al_alloc_fn alloc;       /* may be NULL */
  void *alloc_ud;
  size_t max_value_bytes;  /* cap on state/intents/metadata read back */
  size_t max_tree_bytes;   /* cap on a render result read back */
  hostcall_fn hostcall;    /* the `pi` API's way out for calls answered at once
                              (subscribe, register a tool, log); NULL: they fail */
  vm_send_fn send;         /* ...and for the rest (kv, http, fs, config); NULL: they fail */
  void *hostcall_user;     /* passed to both */
  const char *instance_id; /* passed to hostcall (copied); NULL: "" */
} vm_config;

/* What the last call cost, for telemetry. */
typedef struct vm_stats {
  uint64_t elapsed_us;
  bool interrupted;       /* the deadline fired */
  size_t memory_bytes;    /* heap in use after the call */
} vm_stats;

int vm_new(const vm_config *cfg, vm_instance **out, al_error *err);
void vm_free(vm_instance *vm);

/* A spare instance made ahead of time (runtime, context and bootstrap, no plugin), with
 * default limits until vm_adopt. May be created on one thread and adopted on another,
 * given a hand-off that orders memory (a lock or an atomic exchange). */
int vm_new_spare(al_alloc_fn alloc, void *alloc_ud, vm_instance **out, al_error *err);
/* Gives a spare the configuration `cfg`, as if vm_new(cfg) had made it. False (the spare
 * unchanged) when it cannot stand in for that: another allocator, or limits so tight
 * that vm_new itself might have failed under them. */
bool vm_adopt(vm_instance *vm, const vm_config *cfg);
/* The instance id the VM's hostcalls name (copied; NULL: ""): set at vm_new/vm_adopt, and
 * again when a hot reload's VM takes over its instance's id. */
void vm_set_instance_id(vm_instance *vm, const char *id);

/* Evaluates the plugin and runs its factory. *meta receives {declaredId?, title,
 * description?, initialState?, widgets[]} unvalidated: the caller validates it. */
int vm_load(vm_instance *vm, const char *code, size_t len, const char *source_name,
            json_t **meta, al_error *err);

/* Evaluates an ES module plugin: `graph` {entry, files: {id: {code, imports}}} (borrowed
 * for the call; pkg/modgraph.h makes it) is served by module.c's loader, and the entry's
 * exports are mapped by the bootstrap (a default export function is called with `pi`; a
 * default export object is the plugin's definition, see docs/modules.md). Then as
 * vm_load; errors name the module file and line in err->path and err->line. */
int vm_load_module(vm_instance *vm, const json_t *graph, json_t **meta, al_error *err);

/* Resident state. A VM keeps the last pluginState and globalState a render or event gave
 * it, deeply frozen (a plugin cannot change them in place, so what it sees is always the
 * host's value), under the version the host gave them. A call then says, per input,
 * one of: here is the value (`full`; version 0: use it for this call only); apply this
 * top-level delta to version `base`; or "you have version `version`". The VM's copy is a
 * cache: when it does not hold what the call assumes (a restarted or reloaded VM holds
 * nothing) the call returns VM_STALE, runs no plugin code, and the host sends the value
 * whole. All of a msg is borrowed for the call. */
typedef struct vm_state_msg {
  uint64_t version;
  const json_t *full;
  uint64_t base;
  const json_t *set, *del; /* with `set` (object): the delta; `del` an array of keys */
} vm_state_msg;
#define VM_STALE 2

/* Calls widget.render; *tree receives the (unvalidated) result, json null for undefined.
 * Like vm_event, vm_reduce, vm_hook and vm_tool it may return VM_PARKED (see above);
 * like vm_event, VM_STALE (err says which input). */
int vm_render(vm_instance *vm, const char *widget, const vm_state_msg *plugin_state,
              const vm_state_msg *global_state, json_t **tree, al_error *err);

/* Calls widget.handlers[handler]; *intents receives what it dispatched (unvalidated).
 * `args` NULL means the handler is called without an args argument. */
int vm_event(vm_instance *vm, const char *widget, const char *handler, const json_t *args,
             const vm_state_msg *plugin_state, const vm_state_msg *global_state,
             json_t **intents, al_error *err);

/* Runs the plugin-declared reducer for `action` until `deadline_ns` (clock_mono_ns time)
 * on `state` (a resident-state msg for pluginState: the reducer gets a mutable copy).
 * *handled is false when the plugin declares none (then *next is NULL and 0 returned):
 * the state is then only taken into the cache, never converted for a reducer. A reducer
 * returning undefined leaves the state unchanged: handled with *next NULL. May return
 * VM_STALE like vm_render. */
int vm_reduce(vm_instance *vm, const char *action, const vm_state_msg *state,
              const json_t *payload, uint64_t deadline_ns, json_t **next, bool *handled,
              al_error *err);

/* The deadline the last vm_event ran under, so its reducers share it. */
uint64_t vm_event_deadline(const vm_instance *vm);

/* ---- parked calls ----------------------------------------------------------------------
 * vm_resume runs a parked call on: it returns what the call that parked would have
 * returned (0 with the same *out: tree, intents, next state (reduce, handled), results
 * (hook), value (tool); an error; or VM_PARKED again). Past the call's deadline it
 * answers AL_ETIMEOUT and drops the call's jobs, timers and awaited hostcalls. */
int vm_resume(vm_instance *vm, json_t **out, al_error *err);
bool vm_parked(const vm_instance *vm);
/* Milliseconds until the parked call's next pi.sleep timer is due; -1: none. */
int64_t vm_wake_ms(const vm_instance *vm);
/* The parked (or running) call's deadline, clock_mono_ns time. */
uint64_t vm_deadline(const vm_instance *vm);
/* Hands an asynchronous hostcall's answer to the promise awaiting it: rc 0 with `value`
 * (borrowed), or rc < 0 with `e`. False when nobody awaits `id` any more (the call was
 * abandoned). Never runs plugin code: the promise's reactions run in the next vm_resume
 * (or the instance's next call). */
bool vm_deliver(vm_instance *vm, uint64_t id, int rc, const json_t *value, const al_error *e);
/* The host is waiting for a person on the call's behalf: ms > 0 pauses the call's deadline
 * (it may wait up to ms more), ms == 0 ends that pause and restores what was left of it.
 * Pauses nest (two approvals at once): the clock runs again after the last one ended. */
void vm_hold(vm_instance *vm, uint32_t ms);

/* ---- hooks (the `pi` API) -------------------------------------------------------------
 * vm_install_pi installs the globals `pi` and `airlock` before the plugin's code runs;
 * `info` is {id, version, events: [names pi.on accepts], maxHandlers: per event}. */
int vm_install_pi(vm_instance *vm, const json_t *info, al_error *err);

/* Runs the instance's handlers for `event` in registration order, each with the payload
 * (borrowed), all under one deadline `timeout_ms` from now (the plugin's budget for the
 * event, whatever its handler count). *results receives an array with one entry per
 * handler: {ok: value|null, elapsedUs} or {error: {code, message}, elapsedUs}; a failing
 * handler never stops the next, and one whose turn comes after the deadline answers
 * VM_TIMEOUT without running. Returns 0 unless out of memory. */
int vm_hook(vm_instance *vm, const char *event, const json_t *payload, uint32_t timeout_ms,
            json_t **results, al_error *err);

/* Calls tool `name`'s handler with `args` under a deadline of timeout_ms. *value receives
 * its result (null for undefined). AL_EINVALID_ARGUMENT when the instance has no such tool. */
int vm_tool(vm_instance *vm, const char *name, const json_t *args, uint32_t timeout_ms,
            json_t **value, al_error *err);

/* The instance's current subscriptions {event: handler count} (new reference), or NULL
 * when they could not be read (out of memory, the deadline): never a guess. */
json_t *vm_hooks(vm_instance *vm);
/* What a pi extension (the pi profile, pi_ext.js) registered so far: {tools: [{name,
 * description, parameters}], commands: [{name, description}], flags, shortcuts, events,
 * messageRenderers}, as the VM claims it (the host vets it). NULL for other plugins or
 * when it cannot be read. New reference. The worker's thread. */
json_t *vm_pi_registry(vm_instance *vm);

void vm_last_stats(const vm_instance *vm, vm_stats *st);
size_t vm_memory_bytes(const vm_instance *vm);

#endif

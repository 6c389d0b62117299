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

typedef struct vm_config {
  al_limits limits;        /* resolved: every field non-zero */
  al_alloc_fn alloc;       /* may be NULL */
  void *alloc_ud;
  size_t max_value_bytes;  /* cap on state/intents/metadata read back */
  size_t max_tree_bytes;   /* cap on a render result read back */
  hostcall_fn hostcall;    /* the `pi` API's way out; NULL: every hostcall fails */
  void *hostcall_user;
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

/* Calls widget.render; *tree receives the (unvalidated) result, json null for undefined. */
int vm_render(vm_instance *vm, const char *widget, const json_t *plugin_state,
              const json_t *global_state, json_t **tree, al_error *err);

/* Calls widget.handlers[handler]; *intents receives what it dispatched (unvalidated).
 * `args` NULL means the handler is called without an args argument. */
int vm_event(vm_instance *vm, const char *widget, const char *handler, const json_t *args,
             const json_t *plugin_state, const json_t *global_state, json_t **intents,
             al_error *err);

/* Runs the plugin-declared reducer for `action` until `deadline_ns` (clock_mono_ns time).
 * *handled is false when the plugin declares none (then *next is NULL and 0 returned).
 * A reducer returning undefined leaves the state unchanged (*next = copy of state). */
int vm_reduce(vm_instance *vm, const char *action, const json_t *state, const json_t *payload,
              uint64_t deadline_ns, json_t **next, bool *handled, al_error *err);

/* The deadline the last vm_event ran under, so its reducers share it. */
uint64_t vm_event_deadline(const vm_instance *vm);

/* ---- hooks (the `pi` API) -------------------------------------------------------------
 * vm_install_pi installs the globals `pi` and `airlock` before the plugin's code runs;
 * `info` is {id, version, events: [names pi.on accepts]}. */
int vm_install_pi(vm_instance *vm, const json_t *info, al_error *err);

/* Runs the instance's handlers for `event` in registration order, each with the payload
 * (borrowed) and its own deadline of `timeout_ms`. *results receives an array with one
 * entry per handler: {ok: value|null, elapsedUs} or {error: {code, message}, elapsedUs};
 * a failing handler never stops the next. Returns 0 unless out of memory. */
int vm_hook(vm_instance *vm, const char *event, const json_t *payload, uint32_t timeout_ms,
            json_t **results, al_error *err);

/* Calls tool `name`'s handler with `args` under a deadline of timeout_ms. *value receives
 * its result (null for undefined). AL_EINVALID_ARGUMENT when the instance has no such tool. */
int vm_tool(vm_instance *vm, const char *name, const json_t *args, uint32_t timeout_ms,
            json_t **value, al_error *err);

/* The instance's current subscriptions {event: handler count} (new reference). */
json_t *vm_hooks(vm_instance *vm);

void vm_last_stats(const vm_instance *vm, vm_stats *st);
size_t vm_memory_bytes(const vm_instance *vm);

#endif

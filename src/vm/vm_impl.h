/*
 * vm_impl.h: the insides of a vm_instance, shared by the files of src/vm/ that implement
 * vm.h and by nothing else:
 *   vm.c       the runtime: its allocator, running plugin code under a deadline and
 *              classifying what failed, lifecycle
 *   vm_code.c  bytecode: our scripts' (compiled once per process) and plugins' (a
 *              process-wide cache keyed by source)
 *   vm_call.c  the boundary's calls: load, render, event, reduce, tool
 *   vm_hook.c  hooks and the `pi` API's natives, and parked calls
 *   module.c   ES module plugins (module.h)
 * vm.c's opening comment gives the design they share. Everything here runs on the thread
 * that owns the instance.
 */
#ifndef AL_VM_IMPL_H
#define AL_VM_IMPL_H

#include <quickjs.h>

#include "vm.h"

struct vm_instance {
  JSRuntime *rt;
  JSContext *ctx;
  JSValue entry; /* the bootstrap's private object */
  JSValue fn_take, fn_render, fn_event, fn_reduce, fn_has_reducer, fn_load_error;
  JSValue fn_install_pi, fn_hook_begin, fn_hook, fn_hooks, fn_tool, fn_timers, fn_deliver;
  JSValue fn_module, fn_module_begin, fn_pi_profile, fn_pi_registry;
  char instance_id[AL_INSTANCE_ID_MAX];
  vm_config cfg;
  uint64_t deadline_ns;
  uint64_t event_deadline_ns;
  uint64_t call_start_ns;
  bool interrupted;
  bool oom;
  size_t heap_bytes; /* mirrors the runtime's malloc_size, kept by our allocator */
  vm_stats last;
  char source_name[128];
  bool is_module;          /* loaded as an ES module graph (module.c) */
  bool pi_profile;         /* given pi's ExtensionAPI (docs/pi-extensions.md) */
  const json_t *modgraph; /* the graph module.c serves from, during vm_load_module only */
  /* The call in progress while it is parked (see vm.h). */
  struct {
    int op;            /* VM_OP_*; VM_OP_NONE when no call is in progress */
    JSValue rec;       /* the record it waits on */
    json_t *keep;      /* hook: the results so far (owned) */
    const json_t *payload; /* hook: the payload every handler gets (borrowed) */
    int32_t hook_i, hook_n;
    uint64_t hook_end_ns; /* hook: the one deadline all its handlers share */
  } call;
  unsigned hc_pending; /* asynchronous hostcalls sent and not answered or dropped */
  int64_t wake_ms;     /* the parked call's next timer, -1: none */
  unsigned holds;      /* vm_hold pauses in force */
  uint64_t held_left_ns; /* what was left of the deadline when the first pause began */
  /* resident state (vm.h): [0] pluginState, [1] globalState, frozen; version 0: none */
  JSValue res[2];
  uint64_t res_version[2];
};

enum { VM_OP_NONE, VM_OP_RENDER, VM_OP_EVENT, VM_OP_REDUCE, VM_OP_HOOK, VM_OP_TOOL };

typedef struct vm_script {
  const char *src;
  size_t len;
  const char *name;
  uint8_t *code; /* owned by the process; NULL: compile failed, parse instead */
  size_t code_len;
} vm_script;

/* ---- shared between the files ---------------------------------------------------------
 * Each is defined, with its full comment, in the file named; all run on the thread that
 * owns `vm`. */

/* vm.c: running plugin code */
void vm_run_begin(vm_instance *vm, uint64_t deadline_ns); /* a slice under a deadline */
void vm_run_end(vm_instance *vm);
uint64_t vm_deadline_in(uint32_t ms); /* now + ms, on the monotonic clock */
int vm_args(vm_instance *vm, JSValue *argv, int n, const json_t *const *vals, al_error *err);
int vm_invoke(vm_instance *vm, JSValueConst fn, int argc, JSValue *argv, int plugin_code,
              JSValue *rec, al_error *err);
int vm_settled(vm_instance *vm, JSValue r, int plugin_code, JSValue *rec, al_error *err);
int vm_read(vm_instance *vm, JSValueConst rec, const char *field, const char *root,
            size_t max_bytes, json_t **out, al_error *err);
int vm_fail_pending(vm_instance *vm, int plugin_code, al_error *err);

/* vm_code.c: bytecode */
extern vm_script vm_pi, vm_pi_ext, vm_pi_node, vm_esm;
JSValue vm_script_eval(vm_instance *vm, const vm_script *sc);
JSValue vm_bootstrap(vm_instance *vm);
JSValue vm_compile(vm_instance *vm, const char *src, size_t len);

/* vm_call.c: a call's start and end */
void vm_call_begin(vm_instance *vm, int op, uint64_t deadline_ns);
int vm_finish(vm_instance *vm, int st, JSValue rec, json_t **out, al_error *err);
int vm_after(vm_instance *vm, int st, JSValue rec, json_t **out, al_error *err);

#endif

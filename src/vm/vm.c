/*
 * vm.c: a plugin instance's QuickJS runtime.
 *
 * Each instance gets its own JSRuntime, because QuickJS's memory limit, stack limit and
 * interrupt handler are per runtime: sharing one would share the limits. The runtime's
 * allocator is ours so that hitting the memory limit is an observed fact (vm->oom), not
 * a guess from an error message; likewise the interrupt handler records that the
 * deadline fired (vm->interrupted). Classification of a failed call reads those flags
 * first and only then looks at the exception.
 *
 * Plugin code reaches the host only through the bootstrap's private entry points (see
 * bootstrap.js), whose results are converted by convert.c and validated by the caller.
 *
 * The bootstrap is parsed once per process, not once per instance: the first vm_new
 * compiles it in a scratch runtime and keeps the bytecode (JS_WriteObject), and every
 * instance evaluates that (JS_ReadObject), which skips the parser, most of a cold load.
 * Only this bytecode, which we produced ourselves in this process, is ever read: plugin
 * code always arrives as source and goes through the parser.
 *
 * Plugin code is compiled the same way: the parser's output is written out as bytecode
 * and kept in a small process-wide cache keyed by the exact source text and file name,
 * and every instance, the first included, evaluates the bytecode read back from it. So
 * a second instance of a plugin skips the parser, and all instances behave alike. What
 * is cached is only ever what our own compiler produced from source in this process.
 * Bytecode does not carry the source text (QuickJS keeps it only for
 * Function.prototype.toString, which then prints "[native code]" bodies), which also
 * spares each instance a copy of its plugin's source per function.
 *
 * The files (vm_impl.h): this one is the runtime, its allocator, running code under a
 * deadline and classifying failures, and the lifecycle; vm_code.c the bytecode, vm_call.c
 * the boundary's calls, vm_hook.c hooks and parked calls, module.c ES modules.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <quickjs.h>

#include "convert.h"
#include "module.h"
#include "vm_impl.h"

/* ---- allocator ------------------------------------------------------------------------
 * QuickJS frees without a size, so with a host allocator hook each block carries a
 * 16-byte header holding its size; with the C library we ask malloc_usable_size. */

#define VM_HDR 16

static size_t vm_block_size(vm_instance *vm, const void *p) {
  if (!p) return 0;
  if (vm->cfg.alloc) return *(const size_t *)((const char *)p - VM_HDR);
  return malloc_usable_size((void *)p);
}

static void *vm_raw_realloc(vm_instance *vm, void *p, size_t old, size_t n) {
  if (!vm->cfg.alloc) {
    if (n == 0) { free(p); return NULL; }
    return realloc(p, n);
  }
  char *base = p ? (char *)p - VM_HDR : NULL;
  if (n == 0) {
    vm->cfg.alloc(vm->cfg.alloc_ud, base, old + VM_HDR, 0);
    return NULL;
  }
  char *nb = vm->cfg.alloc(vm->cfg.alloc_ud, base, base ? old + VM_HDR : 0, n + VM_HDR);
  if (!nb) return NULL;
  *(size_t *)nb = n;
  return nb + VM_HDR;
}

static void *vm_js_malloc(JSMallocState *s, size_t size) {
  vm_instance *vm = s->opaque;
  if (s->malloc_size + size + 8 > s->malloc_limit) {
    vm->oom = true;
    return NULL;
  }
  void *p = vm_raw_realloc(vm, NULL, 0, size);
  if (!p) { vm->oom = true; return NULL; }
  s->malloc_count++;
  s->malloc_size += vm_block_size(vm, p) + 8;
  vm->heap_bytes = s->malloc_size;
  return p;
}

static void vm_js_free(JSMallocState *s, void *p) {
  vm_instance *vm = s->opaque;
  if (!p) return;
  size_t sz = vm_block_size(vm, p);
  s->malloc_count--;
  s->malloc_size -= sz + 8;
  vm->heap_bytes = s->malloc_size;
  vm_raw_realloc(vm, p, sz, 0);
}

static void *vm_js_realloc(JSMallocState *s, void *p, size_t size) {
  vm_instance *vm = s->opaque;
  if (!p) return size ? vm_js_malloc(s, size) : NULL;
  size_t old = vm_block_size(vm, p);
  if (size == 0) {
    vm_js_free(s, p);
    return NULL;
  }
  if (s->malloc_size + size - old > s->malloc_limit) {
    vm->oom = true;
    return NULL;
  }
  void *np = vm_raw_realloc(vm, p, old, size);
  if (!np) { vm->oom = true; return NULL; }
  s->malloc_size += vm_block_size(vm, np) - old;
  vm->heap_bytes = s->malloc_size;
  return np;
}

static size_t vm_js_usable(const void *p) {
  /* Only used by QuickJS as an optimisation hint; 0 means "unknown" and is always safe,
   * whereas a wrong answer would not be. */
  (void)p;
  return 0;
}

static const JSMallocFunctions vm_mf = {vm_js_malloc, vm_js_free, vm_js_realloc, vm_js_usable};

/* ---- calls ---------------------------------------------------------------------------- */

static int vm_interrupt(JSRuntime *rt, void *opaque) {
  (void)rt;
  vm_instance *vm = opaque;
  if (clock_mono_ns() >= vm->deadline_ns) {
    vm->interrupted = true;
    return 1;
  }
  return 0;
}

void vm_run_begin(vm_instance *vm, uint64_t deadline_ns) {
  vm->call_start_ns = clock_mono_ns();
  vm->deadline_ns = deadline_ns;
  vm->interrupted = false;
  vm->oom = false;
  /* The stack limit is measured from here: calls may come from different frames (and,
   * with workers, different threads) than the one that created the runtime. */
  JS_UpdateStackTop(vm->rt);
}

/* Forgets pending pi.sleep timers and awaited hostcalls, whose resolution would resume an
 * abandoned call (a late hostcall answer then finds no one). Runs only our bootstrap's
 * code, so the deadline is lifted to keep the interrupt handler (the call's deadline has
 * passed) from cutting it short. */
static void vm_drop_timers(vm_instance *vm) {
  vm->hc_pending = 0;
  if (JS_IsUndefined(vm->fn_timers)) return;
  uint64_t deadline = vm->deadline_ns;
  vm->deadline_ns = UINT64_MAX;
  JSValue drop = JS_TRUE;
  JSValue r = JS_Call(vm->ctx, vm->fn_timers, vm->entry, 1, &drop);
  if (JS_IsException(r)) JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
  JS_FreeValue(vm->ctx, r);
  vm->deadline_ns = deadline;
}

void vm_run_end(vm_instance *vm) {
  /* An abandoned call's queued jobs are dropped, not left for the next call to run: a
   * microtask loop would otherwise go on inside every later call that waits on a promise
   * (and keep whatever it was growing). */
  if (vm->interrupted || vm->oom) {
    JS_DiscardPendingJobs(vm->rt);
    vm_drop_timers(vm);
    JS_RunGC(vm->rt); /* give back what the failed call held */
  }
  vm->holds = 0;
  vm->last.elapsed_us = (clock_mono_ns() - vm->call_start_ns) / 1000u;
  vm->last.interrupted = vm->interrupted;
  vm->last.memory_bytes = vm_memory_bytes(vm);
}

uint64_t vm_deadline_in(uint32_t ms) { return clock_mono_ns() + (uint64_t)ms * 1000000u; }

/* Extracts "<source>:<line>" from an error's stack, 0 when absent. */
static int vm_error_line(vm_instance *vm, JSValueConst ex) {
  if (!JS_IsError(vm->ctx, ex)) return 0;
  JSValue st = JS_GetPropertyStr(vm->ctx, ex, "stack");
  int line = 0;
  const char *s = JS_IsString(st) ? JS_ToCString(vm->ctx, st) : NULL;
  if (s) {
    size_t n = strlen(vm->source_name);
    for (const char *p = strstr(s, vm->source_name); p; p = strstr(p + 1, vm->source_name)) {
      if (p[n] == ':' && p[n + 1] >= '0' && p[n + 1] <= '9') {
        line = atoi(p + n + 1);
        break;
      }
    }
    JS_FreeCString(vm->ctx, s);
  }
  JS_FreeValue(vm->ctx, st);
  return line;
}

/* A module plugin's error may come from any of its files: the innermost frame that names
 * one gives err->path and err->line, and the message says where, as a script's
 * single file needs not. */
static void vm_module_where(vm_instance *vm, JSValueConst ex, al_error *err) {
  if (!JS_IsError(vm->ctx, ex)) return;
  JSValue st = JS_GetPropertyStr(vm->ctx, ex, "stack");
  const char *s = JS_IsString(st) ? JS_ToCString(vm->ctx, st) : NULL;
  char file[sizeof err->path];
  int line = s ? vm_stack_where(s, file, sizeof file) : 0;
  if (line > 0 && strcmp(file, "<airlock-entry>")) {
    err->line = line;
    snprintf(err->path, sizeof err->path, "%s", file);
    size_t n = strlen(err->message);
    snprintf(err->message + n, sizeof err->message - n, " (at %s:%d)", file, line);
  }
  JS_FreeCString(vm->ctx, s);
  JS_FreeValue(vm->ctx, st);
}

static bool vm_is_stack_overflow(vm_instance *vm, JSValueConst ex) {
  /* QuickJS 2021-03-27 reports stack exhaustion only as InternalError("stack overflow").
   * A plugin could throw a look-alike; the cost is merely its own error code. */
  if (!JS_IsError(vm->ctx, ex)) return false;
  bool r = false;
  JSValue m = JS_GetPropertyStr(vm->ctx, ex, "message");
  const char *s = JS_IsString(m) ? JS_ToCString(vm->ctx, m) : NULL;
  if (s) r = strcmp(s, "stack overflow") == 0;
  JS_FreeCString(vm->ctx, s);
  JS_FreeValue(vm->ctx, m);
  if (JS_IsException(m)) JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
  return r;
}

/* Classifies a failed call. Takes ownership of `ex` (the exception or rejection value). */
static int vm_fail(vm_instance *vm, JSValue ex, int plugin_code, al_error *err) {
  int rc;
  if (vm->interrupted || clock_mono_ns() >= vm->deadline_ns) {
    uint64_t ms = (vm->deadline_ns - vm->call_start_ns + 500000u) / 1000000u; /* nearest ms */
    rc = err_set(err, AL_ETIMEOUT, NULL, "the call's deadline of %llu ms passed",
                 (unsigned long long)ms);
  } else if (vm->oom) {
    rc = err_set(err, AL_EMEMORY_LIMIT, NULL, "the instance's memory limit of %zu bytes was hit",
                 vm->cfg.limits.memory_bytes);
  } else if (vm_is_stack_overflow(vm, ex)) {
    rc = err_set(err, AL_ESTACK_OVERFLOW, NULL, "the instance's stack limit of %zu bytes was hit",
                 vm->cfg.limits.stack_bytes);
  } else {
    /* String(ex) is "Name: message" for errors; it may run plugin code, under the
     * deadline that is still in force. */
    const char *s = JS_ToCString(vm->ctx, ex);
    if (s) {
      rc = err_set(err, plugin_code, NULL, "%.400s", s);
      JS_FreeCString(vm->ctx, s);
    } else {
      JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
      rc = err_set(err, vm->interrupted ? AL_ETIMEOUT : plugin_code, NULL,
                   vm->interrupted ? "the call's deadline passed" : "the plugin threw a value that cannot be printed");
    }
    if (err && rc == plugin_code) {
      err->line = vm_error_line(vm, ex);
      if (vm->is_module) vm_module_where(vm, ex, err);
    }
  }
  JS_FreeValue(vm->ctx, ex);
  return rc;
}

int vm_fail_pending(vm_instance *vm, int plugin_code, al_error *err) {
  return vm_fail(vm, JS_GetException(vm->ctx), plugin_code, err);
}

static int rec_state(vm_instance *vm, JSValueConst rec) {
  JSValue s = JS_GetPropertyStr(vm->ctx, rec, "state");
  int32_t st = -1;
  if (JS_IsException(s) || JS_ToInt32(vm->ctx, &st, s) < 0) st = -1;
  JS_FreeValue(vm->ctx, s);
  return st;
}

/* Fires due pi.sleep timers; returns ms until the next one, or -1 when none is pending. */
static int64_t vm_timers(vm_instance *vm) {
  if (JS_IsUndefined(vm->fn_timers)) return -1;
  JSValue r = JS_Call(vm->ctx, vm->fn_timers, vm->entry, 0, NULL);
  double ms = -1;
  if (JS_IsException(r)) JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
  else if (JS_ToFloat64(vm->ctx, &ms, r) < 0) ms = -1;
  JS_FreeValue(vm->ctx, r);
  return ms < 0 ? -1 : (int64_t)ms;
}

/* Runs promise jobs until the call record settles, parks or the deadline passes. Returns
 * the record's state (VM_REC_*: PENDING when parked) or a negative error. */
static int vm_settle(vm_instance *vm, JSValueConst rec, int plugin_code, al_error *err) {
  for (;;) {
    int st = rec_state(vm, rec);
    if (st < 0) return vm_fail_pending(vm, plugin_code, err);
    if (st != 0) return st;
    if (clock_mono_ns() >= vm->deadline_ns) {
      vm->interrupted = true;
      return vm_fail(vm, JS_UNDEFINED, plugin_code, err);
    }
    /* QuickJS's promise machinery swallows an allocation failure inside a job (the job
     * is dropped, or its rejection handled by plugin code), so a limit hit while the call
     * is still pending ends it here rather than leaving it to thrash near the limit. */
    if (vm->oom) return vm_fail(vm, JS_UNDEFINED, plugin_code, err);
    JSContext *jctx;
    int r = JS_ExecutePendingJob(vm->rt, &jctx);
    if (r < 0) return vm_fail_pending(vm, plugin_code, err);
    if (r == 0 && rec_state(vm, rec) == 0) {
      /* The deadline can fire inside a promise reaction, which QuickJS turns into a
       * rejection of that reaction's promise: the chain then ends without settling ours.
       * That is a timeout, not a plugin bug. */
      if (vm->interrupted || vm->oom) return vm_fail(vm, JS_UNDEFINED, plugin_code, err);
      /* No job is runnable: fire due pi.sleep timers; if the promise still waits on a
       * timer or a hostcall, the call parks (VM_REC_PENDING) and the worker serves others
       * until one of them answers. With neither, it can never settle. */
      int64_t wait_ms = vm_timers(vm);
      if (wait_ms == 0) continue; /* a timer fired: its reactions are queued */
      if (wait_ms < 0 && vm->hc_pending == 0)
        return err_set(err, plugin_code, NULL,
                       "the returned promise can never settle: no pending work is left");
      vm->wake_ms = wait_ms;
      return VM_REC_PENDING;
    }
  }
}

/* Calls fn(args...) and settles the record it returns. On success *rec owns the record
 * and the return value is its state (>= 1). */
int vm_settled(vm_instance *vm, JSValue r, int plugin_code, JSValue *rec, al_error *err);

int vm_invoke(vm_instance *vm, JSValueConst fn, int argc, JSValue *argv, int plugin_code,
                     JSValue *rec, al_error *err) {
  JSValue r = JS_Call(vm->ctx, fn, vm->entry, argc, argv);
  for (int i = 0; i < argc; i++) JS_FreeValue(vm->ctx, argv[i]);
  if (JS_IsException(r)) return vm_fail_pending(vm, plugin_code, err);
  return vm_settled(vm, r, plugin_code, rec, err);
}

/* Settles record `r` (owned): on a result *rec owns it and the return value is its state;
 * VM_REC_PENDING: parked, *rec still owns it. */
int vm_settled(vm_instance *vm, JSValue r, int plugin_code, JSValue *rec, al_error *err) {
  int st = vm_settle(vm, r, plugin_code, err);
  if (st < 0) {
    JS_FreeValue(vm->ctx, r);
    return st;
  }
  if (st == VM_REC_REJECTED) {
    JSValue e = JS_GetPropertyStr(vm->ctx, r, "error");
    JS_FreeValue(vm->ctx, r);
    if (JS_IsException(e)) return vm_fail_pending(vm, plugin_code, err);
    return vm_fail(vm, e, plugin_code, err);
  }
  *rec = r;
  return st;
}

/* Converts rec[field] to JSON; conversion runs plugin code (getters) so its exceptions
 * are classified like the call's own. */
int vm_read(vm_instance *vm, JSValueConst rec, const char *field, const char *root,
                   size_t max_bytes, json_t **out, al_error *err) {
  JSValue v = JS_GetPropertyStr(vm->ctx, rec, field);
  if (JS_IsException(v)) return vm_fail_pending(vm, AL_EPLUGIN, err);
  cv_limits lim = {.max_depth = 512, .max_bytes = max_bytes};
  int rc = cv_to_json(vm->ctx, v, root, &lim, out, err);
  JS_FreeValue(vm->ctx, v);
  if (rc == AL_EPLUGIN) return vm_fail_pending(vm, AL_EPLUGIN, err);
  return rc;
}

int vm_args(vm_instance *vm, JSValue *argv, int n, const json_t *const *vals, al_error *err) {
  for (int i = 0; i < n; i++) {
    argv[i] = cv_from_json(vm->ctx, vals[i]);
    if (JS_IsException(argv[i])) {
      for (int j = 0; j < i; j++) JS_FreeValue(vm->ctx, argv[j]);
      return vm_fail_pending(vm, AL_EPLUGIN, err);
    }
  }
  return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int vm_new(const vm_config *cfg, vm_instance **out, al_error *err) {
  *out = NULL;
  vm_instance *vm = calloc(1, sizeof *vm);
  if (!vm) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory creating an instance");
  vm->cfg = *cfg;
  vm->entry = vm->fn_take = vm->fn_render = vm->fn_event = vm->fn_reduce = vm->fn_has_reducer =
      vm->fn_load_error =
      JS_UNDEFINED;
  vm->fn_install_pi = vm->fn_hook_begin = vm->fn_hook = vm->fn_hooks = vm->fn_tool =
      vm->fn_timers = vm->fn_deliver = vm->fn_module = vm->fn_module_begin = vm->fn_pi_profile = vm->fn_pi_registry = vm->call.rec = vm->res[0] = vm->res[1] = JS_UNDEFINED;
  vm->wake_ms = -1;
  vm_set_instance_id(vm, cfg->instance_id);
  vm->rt = JS_NewRuntime2(&vm_mf, vm);
  if (!vm->rt) goto nomem;
  JS_SetMemoryLimit(vm->rt, cfg->limits.memory_bytes);
  JS_SetMaxStackSize(vm->rt, cfg->limits.stack_bytes);
  JS_SetInterruptHandler(vm->rt, vm_interrupt, vm);
  JS_SetGCThreshold(vm->rt, 256 * 1024);
  vm_module_init(vm->rt, &vm->modgraph);
  vm->ctx = JS_NewContext(vm->rt);
  if (!vm->ctx) goto nomem;
  JS_SetContextOpaque(vm->ctx, vm); /* the pi natives find their instance through it */

  vm_run_begin(vm, vm_deadline_in(cfg->limits.load_ms));
  vm->entry = vm_bootstrap(vm);
  if (JS_IsException(vm->entry)) {
    int rc = vm_fail_pending(vm, AL_EINTERNAL, err);
    vm->entry = JS_UNDEFINED;
    vm_free(vm);
    return rc;
  }
  vm->fn_take = JS_GetPropertyStr(vm->ctx, vm->entry, "take");
  vm->fn_render = JS_GetPropertyStr(vm->ctx, vm->entry, "render");
  vm->fn_event = JS_GetPropertyStr(vm->ctx, vm->entry, "event");
  vm->fn_reduce = JS_GetPropertyStr(vm->ctx, vm->entry, "reduce");
  vm->fn_has_reducer = JS_GetPropertyStr(vm->ctx, vm->entry, "hasReducer");
  vm->fn_load_error = JS_GetPropertyStr(vm->ctx, vm->entry, "loadError");
  vm->fn_install_pi = JS_GetPropertyStr(vm->ctx, vm->entry, "installPi");
  vm->fn_hook_begin = JS_GetPropertyStr(vm->ctx, vm->entry, "hookBegin");
  vm->fn_hook = JS_GetPropertyStr(vm->ctx, vm->entry, "hook");
  vm->fn_hooks = JS_GetPropertyStr(vm->ctx, vm->entry, "hooks");
  vm->fn_tool = JS_GetPropertyStr(vm->ctx, vm->entry, "tool");
  vm->fn_timers = JS_GetPropertyStr(vm->ctx, vm->entry, "timers");
  vm->fn_deliver = JS_GetPropertyStr(vm->ctx, vm->entry, "deliver");
  vm->fn_module = JS_GetPropertyStr(vm->ctx, vm->entry, "module");
  vm->fn_pi_profile = JS_GetPropertyStr(vm->ctx, vm->entry, "piProfile");
  vm->fn_module_begin = JS_GetPropertyStr(vm->ctx, vm->entry, "moduleBegin");
  vm->fn_pi_registry = JS_GetPropertyStr(vm->ctx, vm->entry, "piRegistry");
  vm_run_end(vm);
  *out = vm;
  return 0;
nomem:
  vm_free(vm);
  return err_set(err, AL_ENO_MEMORY, NULL, "out of memory creating an instance's runtime");
}

void vm_set_instance_id(vm_instance *vm, const char *id) {
  snprintf(vm->instance_id, sizeof vm->instance_id, "%s", id ? id : "");
  vm->cfg.instance_id = NULL; /* the copy above is the one in use */
}

int vm_new_spare(al_alloc_fn alloc, void *alloc_ud, vm_instance **out, al_error *err) {
  vm_config c = {.limits = AL_LIMITS_DEFAULT,
                 .alloc = alloc, .alloc_ud = alloc_ud,
                 .max_value_bytes = 16u << 20, .max_tree_bytes = (1u << 20) + 1024};
  return vm_new(&c, out, err);
}

bool vm_adopt(vm_instance *vm, const vm_config *cfg) {
  /* The bootstrap allocates the same few tens of KiB every time and needs little stack;
   * with half the heap limit to spare and a normal stack, vm_new(cfg) would have
   * succeeded just the same, so the spare is indistinguishable from a fresh instance. */
  if (cfg->alloc != vm->cfg.alloc || cfg->alloc_ud != vm->cfg.alloc_ud) return false;
  if (vm->heap_bytes * 2 > cfg->limits.memory_bytes || cfg->limits.stack_bytes < (256u << 10))
    return false;
  vm->cfg = *cfg;
  vm_set_instance_id(vm, cfg->instance_id);
  JS_SetMemoryLimit(vm->rt, cfg->limits.memory_bytes);
  JS_SetMaxStackSize(vm->rt, cfg->limits.stack_bytes);
  return true;
}

void vm_free(vm_instance *vm) {
  if (!vm) return;
  if (vm->ctx) {
    JSValue *vals[] = {&vm->entry, &vm->fn_take, &vm->fn_render, &vm->fn_event, &vm->fn_reduce, &vm->fn_has_reducer,
                       &vm->fn_load_error, &vm->fn_install_pi, &vm->fn_hook_begin, &vm->fn_hook,
                       &vm->fn_hooks, &vm->fn_tool, &vm->fn_timers, &vm->fn_deliver, &vm->fn_module, &vm->fn_module_begin, &vm->fn_pi_profile, &vm->fn_pi_registry,
                       &vm->call.rec, &vm->res[0], &vm->res[1]};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) JS_FreeValue(vm->ctx, *vals[i]);
    JS_FreeContext(vm->ctx);
  }
  if (vm->rt) JS_FreeRuntime(vm->rt);
  json_decref(vm->call.keep);
  free(vm);
}

/* The allocator keeps the count, so every call can report it without walking the heap
 * (JS_ComputeMemoryUsage would visit every object and shape). */
size_t vm_memory_bytes(const vm_instance *vm) { return vm->heap_bytes; }

void vm_last_stats(const vm_instance *vm, vm_stats *st) { *st = vm->last; }

uint64_t vm_event_deadline(const vm_instance *vm) { return vm->event_deadline_ns; }

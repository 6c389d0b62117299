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

#include "bootstrap_js.h"
#include "pi_js.h"
#include "pi_ext_js.h"
#include "convert.h"
#include "module.h"
#include "vm.h"

struct vm_instance {
  JSRuntime *rt;
  JSContext *ctx;
  JSValue entry; /* the bootstrap's private object */
  JSValue fn_take, fn_render, fn_event, fn_reduce, fn_has_reducer, fn_load_error;
  JSValue fn_install_pi, fn_hook_begin, fn_hook, fn_hooks, fn_tool, fn_timers, fn_deliver;
  JSValue fn_module, fn_pi_profile, fn_pi_registry;
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

static void call_begin(vm_instance *vm, uint64_t deadline_ns) {
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

static void call_end(vm_instance *vm) {
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

static uint64_t deadline_in(uint32_t ms) { return clock_mono_ns() + (uint64_t)ms * 1000000u; }

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

static int vm_fail_pending(vm_instance *vm, int plugin_code, al_error *err) {
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
static int vm_settled(vm_instance *vm, JSValue r, int plugin_code, JSValue *rec, al_error *err);

static int vm_invoke(vm_instance *vm, JSValueConst fn, int argc, JSValue *argv, int plugin_code,
                     JSValue *rec, al_error *err) {
  JSValue r = JS_Call(vm->ctx, fn, vm->entry, argc, argv);
  for (int i = 0; i < argc; i++) JS_FreeValue(vm->ctx, argv[i]);
  if (JS_IsException(r)) return vm_fail_pending(vm, plugin_code, err);
  return vm_settled(vm, r, plugin_code, rec, err);
}

/* Settles record `r` (owned): on a result *rec owns it and the return value is its state;
 * VM_REC_PENDING: parked, *rec still owns it. */
static int vm_settled(vm_instance *vm, JSValue r, int plugin_code, JSValue *rec, al_error *err) {
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
static int vm_read(vm_instance *vm, JSValueConst rec, const char *field, const char *root,
                   size_t max_bytes, json_t **out, al_error *err) {
  JSValue v = JS_GetPropertyStr(vm->ctx, rec, field);
  if (JS_IsException(v)) return vm_fail_pending(vm, AL_EPLUGIN, err);
  cv_limits lim = {.max_depth = 512, .max_bytes = max_bytes};
  int rc = cv_to_json(vm->ctx, v, root, &lim, out, err);
  JS_FreeValue(vm->ctx, v);
  if (rc == AL_EPLUGIN) return vm_fail_pending(vm, AL_EPLUGIN, err);
  return rc;
}

static int vm_args(vm_instance *vm, JSValue *argv, int n, const json_t *const *vals, al_error *err) {
  for (int i = 0; i < n; i++) {
    argv[i] = cv_from_json(vm->ctx, vals[i]);
    if (JS_IsException(argv[i])) {
      for (int j = 0; j < i; j++) JS_FreeValue(vm->ctx, argv[j]);
      return vm_fail_pending(vm, AL_EPLUGIN, err);
    }
  }
  return 0;
}

/* ---- our scripts' bytecode -----------------------------------------------------------
 * The bootstrap (every instance) and pi.js (instances whose plugin uses `pi`) are
 * compiled once per process, without debug information (nothing of theirs needs a line
 * number, and each instance would carry it), and every instance reads the bytecode. */

typedef struct vm_script {
  const char *src;
  size_t len;
  const char *name;
  uint8_t *code; /* owned by the process; NULL: compile failed, parse instead */
  size_t code_len;
} vm_script;

static vm_script vm_boot = {al_bootstrap_js, sizeof al_bootstrap_js - 1, "<airlock>", NULL, 0};
static vm_script vm_pi = {al_pi_js, sizeof al_pi_js - 1, "<airlock-pi>", NULL, 0};
/* the pi profile (docs/pi-extensions.md) */
static vm_script vm_pi_ext = {al_pi_ext_js, sizeof al_pi_ext_js - 1, "<airlock-pi-ext>", NULL, 0};
static pthread_once_t vm_scripts_once = PTHREAD_ONCE_INIT;

static void vm_script_compile(JSContext *ctx, vm_script *sc) {
  JSValue fn = JS_Eval(ctx, sc->src, sc->len, sc->name,
                       JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY | JS_EVAL_FLAG_STRIP);
  if (!JS_IsException(fn)) {
    size_t len = 0;
    uint8_t *buf = JS_WriteObject(ctx, &len, fn, JS_WRITE_OBJ_BYTECODE);
    if (buf && (sc->code = malloc(len))) {
      memcpy(sc->code, buf, len);
      sc->code_len = len;
    }
    js_free(ctx, buf);
  }
  JS_FreeValue(ctx, fn);
}

static void vm_scripts_compile(void) {
  JSRuntime *rt = JS_NewRuntime();
  JSContext *ctx = rt ? JS_NewContext(rt) : NULL;
  if (ctx) {
    vm_script_compile(ctx, &vm_boot);
    vm_script_compile(ctx, &vm_pi);
    vm_script_compile(ctx, &vm_pi_ext);
    JS_FreeContext(ctx);
  }
  if (rt) JS_FreeRuntime(rt);
}

/* Evaluates one of our scripts in vm's context: its bytecode when we have it, else the
 * source. Returns the script's value. */
static JSValue vm_script_eval(vm_instance *vm, const vm_script *sc) {
  pthread_once(&vm_scripts_once, vm_scripts_compile);
  if (!sc->code)
    return JS_Eval(vm->ctx, sc->src, sc->len, sc->name, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_STRIP);
  JSValue fn = JS_ReadObject(vm->ctx, sc->code, sc->code_len, JS_READ_OBJ_BYTECODE);
  if (JS_IsException(fn)) return fn;
  return JS_EvalFunction(vm->ctx, fn); /* frees fn */
}

/* ---- plugin bytecode cache ------------------------------------------------------------ */

typedef struct vm_code {
  uint64_t hash;
  char *name;
  char *src;
  size_t len;
  uint8_t *bc;
  size_t bc_len;
  uint64_t used; /* tick of the last hit, for eviction */
  struct vm_code *next;
} vm_code;

#define VM_CODE_MAX_BYTES ((size_t)16 << 20) /* sources + bytecode kept, process-wide */

static pthread_mutex_t vm_code_mu = PTHREAD_MUTEX_INITIALIZER;
static vm_code *vm_codes;
static size_t vm_code_bytes;
static uint64_t vm_code_tick;

static void vm_code_free(vm_code *c) {
  free(c->name);
  free(c->src);
  free(c->bc);
  free(c);
}

/* A malloc()ed copy of the cached bytecode for (name, src), or NULL. */
static uint8_t *vm_code_get(uint64_t hash, const char *name, const char *src, size_t len,
                            size_t *bc_len) {
  uint8_t *copy = NULL;
  pthread_mutex_lock(&vm_code_mu);
  for (vm_code *c = vm_codes; c; c = c->next) {
    if (c->hash != hash || c->len != len || strcmp(c->name, name) || memcmp(c->src, src, len))
      continue;
    if ((copy = malloc(c->bc_len))) {
      memcpy(copy, c->bc, c->bc_len);
      *bc_len = c->bc_len;
      c->used = ++vm_code_tick;
    }
    break;
  }
  pthread_mutex_unlock(&vm_code_mu);
  return copy;
}

/* Keeps a copy of bytecode just compiled from (name, src); drops the least recently used
 * entries past VM_CODE_MAX_BYTES. Failing to keep it costs only a later parse. An entry
 * already there is kept instead (a hit whose copy failed for want of memory compiles
 * again, and must not add the same source twice). */
static void vm_code_put(uint64_t hash, const char *name, const char *src, size_t len,
                        const uint8_t *bc, size_t bc_len) {
  size_t cost = len + bc_len + strlen(name);
  if (cost > VM_CODE_MAX_BYTES / 4) return;
  vm_code *c = calloc(1, sizeof *c);
  if (!c || !(c->name = strdup(name)) || !(c->src = malloc(len ? len : 1)) ||
      !(c->bc = malloc(bc_len))) {
    if (c) vm_code_free(c);
    return;
  }
  memcpy(c->src, src, len);
  memcpy(c->bc, bc, bc_len);
  c->hash = hash;
  c->len = len;
  c->bc_len = bc_len;
  pthread_mutex_lock(&vm_code_mu);
  for (vm_code *e = vm_codes; e; e = e->next)
    if (e->hash == hash && e->len == len && !strcmp(e->name, name) && !memcmp(e->src, src, len)) {
      pthread_mutex_unlock(&vm_code_mu);
      vm_code_free(c);
      return;
    }
  while (vm_codes && vm_code_bytes + cost > VM_CODE_MAX_BYTES) {
    vm_code **oldest = &vm_codes;
    for (vm_code **pp = &vm_codes; *pp; pp = &(*pp)->next)
      if ((*pp)->used < (*oldest)->used) oldest = pp;
    vm_code *o = *oldest;
    *oldest = o->next;
    vm_code_bytes -= o->len + o->bc_len + strlen(o->name);
    vm_code_free(o);
  }
  c->used = ++vm_code_tick;
  c->next = vm_codes;
  vm_codes = c;
  vm_code_bytes += cost;
  pthread_mutex_unlock(&vm_code_mu);
}

/* The plugin's top-level code as a function object ready for JS_EvalFunction: read from
 * bytecode this process compiled from the same source, compiling it first if needed.
 * `src` is NUL-terminated. Returns JS_EXCEPTION (pending) on a syntax error. */
static JSValue vm_compile(vm_instance *vm, const char *src, size_t len) {
    /* a bucket choice for a handful of entries, each confirmed by comparing the source */
  uint64_t hash = al_hash64(vm->source_name, strlen(vm->source_name), al_hash64(src, len, AL_HASH64_SEED));
  size_t bc_len = 0;
  uint8_t *bc = vm_code_get(hash, vm->source_name, src, len, &bc_len);
  if (bc) {
    JSValue fn = JS_ReadObject(vm->ctx, bc, bc_len, JS_READ_OBJ_BYTECODE);
    free(bc);
    return fn;
  }
  JSValue fn = JS_Eval(vm->ctx, src, len, vm->source_name,
                       JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
  if (JS_IsException(fn)) return fn;
  uint8_t *out = JS_WriteObject(vm->ctx, &bc_len, fn, JS_WRITE_OBJ_BYTECODE);
  if (!out) {
    /* No room to write it out under the instance's memory limit (the bytecode is held
     * twice for a moment: as a function and as bytes): run it uncached, and forget the
     * failed allocation so it does not colour how a later failure is classified. */
    JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
    vm->oom = false;
    return fn;
  }
  JS_FreeValue(vm->ctx, fn);
  vm_code_put(hash, vm->source_name, src, len, out, bc_len);
  /* The first instance runs the read-back bytecode too, so that every instance of a
   * plugin behaves the same whether or not it was the first. */
  fn = JS_ReadObject(vm->ctx, out, bc_len, JS_READ_OBJ_BYTECODE);
  js_free(vm->ctx, out);
  if (JS_IsException(fn) && vm->oom && !vm->interrupted) {
    /* the bytes and the function did not fit side by side: compile it once more */
    JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
    vm->oom = false;
    fn = JS_Eval(vm->ctx, src, len, vm->source_name, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
  }
  return fn;
}

/* The bootstrap's entry points: its script value is a function taking the REC table. */
static JSValue vm_bootstrap(vm_instance *vm) {
  JSValue f = vm_script_eval(vm, &vm_boot);
  if (JS_IsException(f)) return f;
  JSValue rec = JS_NewObject(vm->ctx);
#define VM_REC_PROP(name, value) JS_SetPropertyStr(vm->ctx, rec, #name, JS_NewInt32(vm->ctx, value));
  VM_REC_STATES(VM_REC_PROP)
#undef VM_REC_PROP
  JSValue entry = JS_Call(vm->ctx, f, JS_UNDEFINED, 1, &rec);
  JS_FreeValue(vm->ctx, rec);
  JS_FreeValue(vm->ctx, f);
  return entry;
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
      vm->fn_timers = vm->fn_deliver = vm->fn_module = vm->fn_pi_profile = vm->fn_pi_registry = vm->call.rec = vm->res[0] = vm->res[1] = JS_UNDEFINED;
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

  call_begin(vm, deadline_in(cfg->limits.load_ms));
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
  vm->fn_pi_registry = JS_GetPropertyStr(vm->ctx, vm->entry, "piRegistry");
  call_end(vm);
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
                       &vm->fn_hooks, &vm->fn_tool, &vm->fn_timers, &vm->fn_deliver, &vm->fn_module, &vm->fn_pi_profile, &vm->fn_pi_registry,
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

/* ---- the boundary's calls ------------------------------------------------------------- */

static int vm_load_end(vm_instance *vm, JSValue r, json_t **meta, al_error *err);

int vm_load(vm_instance *vm, const char *code, size_t len, const char *source_name,
            json_t **meta, al_error *err) {
  *meta = NULL;
  snprintf(vm->source_name, sizeof vm->source_name, "%s", source_name ? source_name : "<plugin>");
  /* QuickJS's parser needs a NUL after the source. */
  char *src = malloc(len + 1);
  if (!src) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory copying plugin source");
  memcpy(src, code, len);
  src[len] = '\0';
  call_begin(vm, deadline_in(vm->cfg.limits.load_ms));
  JSValue fn = vm_compile(vm, src, len);
  free(src);
  JSValue r = JS_IsException(fn) ? JS_EXCEPTION : JS_EvalFunction(vm->ctx, fn); /* frees fn */
  return vm_load_end(vm, r, meta, err);
}

int vm_load_module(vm_instance *vm, const json_t *graph, json_t **meta, al_error *err) {
  *meta = NULL;
  const char *entry = json_string_value(json_object_get(graph, "entry"));
  snprintf(vm->source_name, sizeof vm->source_name, "%s", entry ? entry : "<plugin>");
  vm->is_module = true;
  call_begin(vm, deadline_in(vm->cfg.limits.load_ms));
  vm->modgraph = graph;
  /* A pi extension (pkg/modgraph.h marks its graph) gets the pi profile before any of its
   * modules runs: they import its virtual modules and use Node's globals at top level. */
  const char *profile = json_string_value(json_object_get(graph, "profile"));
  JSValue ns = JS_UNDEFINED;
  if (profile && !strcmp(profile, "pi")) {
    JSValue r0 = JS_Call(vm->ctx, vm->fn_pi_profile, vm->entry, 0, NULL);
    if (JS_IsException(r0)) ns = JS_EXCEPTION;
    JS_FreeValue(vm->ctx, r0);
  }
  if (!JS_IsException(ns)) ns = vm_module_eval(vm->ctx, graph);
  vm->modgraph = NULL; /* a later import() finds nothing (module.c) */
  JSValue r = ns;
  if (!JS_IsException(ns)) {
    /* the bootstrap maps the module's exports onto what a plugin provides */
    r = JS_Call(vm->ctx, vm->fn_module, vm->entry, 1, &ns);
    JS_FreeValue(vm->ctx, ns);
  }
  if (profile && !strcmp(profile, "pi") && !JS_IsException(r)) {
    /* pi awaits an async factory: its promise jobs run now, under the load's deadline
     * (the interrupt handler ends a loop in one); what it awaits beyond them (a timer, a
     * hostcall) is not waited for. A rejection is the load's error (bootstrap module()). */
    JSContext *jc;
    int jr;
    while ((jr = JS_ExecutePendingJob(vm->rt, &jc)) > 0) {}
    if (jr < 0) {
      JS_FreeValue(vm->ctx, r);
      r = JS_EXCEPTION;
    }
  }
  return vm_load_end(vm, r, meta, err);
}

/* The part of a load after the plugin's top-level code ran with result `r` (owned;
 * JS_EXCEPTION with the exception pending): classifies a failure, else runs the factory
 * and reads the metadata. Ends the call. */
static int vm_load_end(vm_instance *vm, JSValue r, json_t **meta, al_error *err) {
  int rc = 0;
  if (JS_IsException(r)) {
    /* definePlugin's own refusal is reported with its exact contract message. */
    JSValue le = JS_Call(vm->ctx, vm->fn_load_error, vm->entry, 0, NULL);
    const char *s = JS_IsString(le) ? JS_ToCString(vm->ctx, le) : NULL;
    if (s && !vm->interrupted && !vm->oom) {
      JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
      rc = err_set(err, AL_EPLUGIN_LOAD, NULL, "%s", s);
    } else {
      rc = vm_fail_pending(vm, AL_EPLUGIN_LOAD, err);
    }
    JS_FreeCString(vm->ctx, s);
    JS_FreeValue(vm->ctx, le);
    goto done;
  }
  JS_FreeValue(vm->ctx, r);

  JSValue m = JS_Call(vm->ctx, vm->fn_take, vm->entry, 0, NULL);
  if (JS_IsException(m)) {
    rc = vm_fail_pending(vm, AL_EPLUGIN_LOAD, err);
    goto done;
  }
  if (JS_IsString(m)) {
    const char *s = JS_ToCString(vm->ctx, m);
    rc = err_set(err, AL_EPLUGIN_LOAD, NULL, "%s", s ? s : "Plugin failed to load");
    JS_FreeCString(vm->ctx, s);
  } else {
    cv_limits lim = {.max_depth = 512, .max_bytes = vm->cfg.max_value_bytes};
    rc = cv_to_json(vm->ctx, m, "plugin", &lim, meta, err);
    if (rc == AL_EPLUGIN) rc = vm_fail_pending(vm, AL_EPLUGIN_LOAD, err);
  }
  JS_FreeValue(vm->ctx, m);
done:
  call_end(vm);
  return rc;
}

/* Finishes a call whose record settled with state `st` (>= 1) or failed (st < 0, err
 * filled): reads its result by kind, ends the call. Owns `rec`. */
static int vm_finish(vm_instance *vm, int st, JSValue rec, json_t **out, al_error *err) {
  int rc = st < 0 ? st : 0, op = vm->call.op;
  if (rc) {
  } else if (op == VM_OP_RENDER) {
    rc = vm_read(vm, rec, "value", "root", vm->cfg.max_tree_bytes, out, err);
  } else if (op == VM_OP_EVENT) {
    rc = vm_read(vm, rec, "intents", "intents", vm->cfg.max_value_bytes, out, err);
  } else if (op == VM_OP_REDUCE) {
    rc = vm_read(vm, rec, "value", "state", vm->cfg.max_value_bytes, out, err);
    if (!rc && !*out) { /* undefined: the state stays; the host has it (vm.h) */
      JS_FreeValue(vm->ctx, rec);
      vm->call.op = VM_OP_NONE;
      call_end(vm);
      return 0;
    }
  } else if (op == VM_OP_TOOL) {
    rc = vm_read(vm, rec, "value", "result", vm->cfg.max_value_bytes, out, err);
  }
  if (!rc && !*out && !(*out = json_null())) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  JS_FreeValue(vm->ctx, rec);
  vm->call.op = VM_OP_NONE;
  call_end(vm);
  return rc;
}

/* After vm_invoke: parks the call (VM_PARKED) or finishes it. */
static int vm_after(vm_instance *vm, int st, JSValue rec, json_t **out, al_error *err) {
  if (st == VM_REC_PENDING) {
    vm->call.rec = rec;
    return VM_PARKED;
  }
  return vm_finish(vm, st, st < 0 ? JS_UNDEFINED : rec, out, err);
}

static void vm_call_begin(vm_instance *vm, int op, uint64_t deadline_ns) {
  call_begin(vm, deadline_ns);
  vm->call.op = op;
  vm->call.rec = JS_UNDEFINED;
  vm->wake_ms = -1;
}

/* One state input of a render or event (vm.h's resident state): *out gets a new
 * reference, or VM_STALE / an error is returned (conversion failures are classified like
 * any VM failure). The cache is dropped first so a failure never leaves a half-known
 * version behind. */
static int vm_state_arg(vm_instance *vm, int slot, const vm_state_msg *m, JSValue *out,
                        al_error *err) {
  static const char *const names[] = {"pluginState", "globalState"};
  uint64_t held = vm->res_version[slot];
  JSValue v;
  *out = JS_UNDEFINED;
  if (!m->full && !m->set) {
    if (!m->version || held != m->version)
      return err_set(err, AL_EINTERNAL, NULL, "the VM does not hold %s version %llu", names[slot],
                     (unsigned long long)m->version),
             VM_STALE;
    *out = JS_DupValue(vm->ctx, vm->res[slot]);
    return 0;
  }
  if (!m->full && (!m->base || held != m->base))
    return err_set(err, AL_EINTERNAL, NULL, "the VM does not hold %s version %llu for its delta",
                   names[slot], (unsigned long long)m->base),
           VM_STALE;
  v = m->full ? cv_from_json_frozen(vm->ctx, m->full)
              : cv_patch_frozen(vm->ctx, vm->res[slot], m->set, m->del);
  JS_FreeValue(vm->ctx, vm->res[slot]);
  vm->res[slot] = JS_UNDEFINED;
  vm->res_version[slot] = 0;
  if (JS_IsException(v)) return vm_fail_pending(vm, AL_EPLUGIN, err);
  if (m->version) {
    vm->res[slot] = JS_DupValue(vm->ctx, v);
    vm->res_version[slot] = m->version;
  }
  *out = v;
  return 0;
}

/* Both state inputs into argv[0..1]; on failure neither is left to free. */
static int vm_state_args(vm_instance *vm, const vm_state_msg *ps, const vm_state_msg *gs,
                         JSValue *argv, al_error *err) {
  int rc = vm_state_arg(vm, 0, ps, &argv[0], err);
  if (!rc && (rc = vm_state_arg(vm, 1, gs, &argv[1], err))) JS_FreeValue(vm->ctx, argv[0]);
  return rc;
}

/* A call that ran no plugin code because its state was stale. */
static int vm_stale(vm_instance *vm) {
  vm->call.op = VM_OP_NONE;
  call_end(vm);
  return VM_STALE;
}

int vm_render(vm_instance *vm, const char *widget, const vm_state_msg *plugin_state,
              const vm_state_msg *global_state, json_t **tree, al_error *err) {
  *tree = NULL;
  vm_call_begin(vm, VM_OP_RENDER, deadline_in(vm->cfg.limits.render_ms));
  JSValue argv[3], rec = JS_UNDEFINED;
  int rc = vm_state_args(vm, plugin_state, global_state, argv + 1, err);
  if (rc == VM_STALE) return vm_stale(vm);
  if (rc) return vm_finish(vm, rc, JS_UNDEFINED, tree, err);
  argv[0] = JS_NewString(vm->ctx, widget);
  rc = vm_invoke(vm, vm->fn_render, 3, argv, AL_EPLUGIN, &rec, err);
  if (rc == VM_REC_NO_TARGET) {
    JS_FreeValue(vm->ctx, rec);
    return vm_finish(vm, err_set(err, AL_EWIDGET_NOT_FOUND, NULL, "Widget not found: %s", widget),
                     JS_UNDEFINED, tree, err);
  }
  return vm_after(vm, rc, rec, tree, err);
}

int vm_event(vm_instance *vm, const char *widget, const char *handler, const json_t *args,
             const vm_state_msg *plugin_state, const vm_state_msg *global_state,
             json_t **intents, al_error *err) {
  *intents = NULL;
  vm->event_deadline_ns = deadline_in(vm->cfg.limits.event_ms);
  vm_call_begin(vm, VM_OP_EVENT, vm->event_deadline_ns);
  JSValue argv[6], rec = JS_UNDEFINED;
  int rc = vm_state_args(vm, plugin_state, global_state, argv + 4, err);
  if (rc == VM_STALE) return vm_stale(vm);
  if (rc) return vm_finish(vm, rc, JS_UNDEFINED, intents, err);
  argv[2] = args ? cv_from_json(vm->ctx, args) : JS_UNDEFINED;
  if (JS_IsException(argv[2])) {
    JS_FreeValue(vm->ctx, argv[4]);
    JS_FreeValue(vm->ctx, argv[5]);
    return vm_finish(vm, vm_fail_pending(vm, AL_EPLUGIN, err), JS_UNDEFINED, intents, err);
  }
  argv[0] = JS_NewString(vm->ctx, widget);
  argv[1] = JS_NewString(vm->ctx, handler);
  argv[3] = JS_NewBool(vm->ctx, args != NULL);
  rc = vm_invoke(vm, vm->fn_event, 6, argv, AL_EPLUGIN, &rec, err);
  if (rc == VM_REC_NO_TARGET || rc == VM_REC_NO_HANDLER) {
    JS_FreeValue(vm->ctx, rec);
    rc = rc == VM_REC_NO_TARGET ? err_set(err, AL_EWIDGET_NOT_FOUND, NULL, "Widget not found: %s", widget)
                                : err_set(err, AL_EHANDLER_NOT_FOUND, NULL, "Handler not found: %s", handler);
    return vm_finish(vm, rc, JS_UNDEFINED, intents, err);
  }
  return vm_after(vm, rc, rec, intents, err);
}

int vm_reduce(vm_instance *vm, const char *action, const vm_state_msg *state,
              const json_t *payload, uint64_t deadline_ns, json_t **next, bool *handled,
              al_error *err) {
  *next = NULL;
  *handled = false;
  vm_call_begin(vm, VM_OP_REDUCE, deadline_ns);
  JSValue frozen, argv[3], rec = JS_UNDEFINED;
  int rc = vm_state_arg(vm, 0, state, &frozen, err);
  if (rc == VM_STALE) return vm_stale(vm);
  if (rc) return vm_finish(vm, rc, JS_UNDEFINED, next, err);
  /* Most actions have no plugin reducer (the generic merge takes them): find out before
   * paying for a mutable copy of the state. */
  argv[0] = JS_NewString(vm->ctx, action);
  JSValue has = JS_Call(vm->ctx, vm->fn_has_reducer, vm->entry, 1, argv);
  if (JS_IsException(has)) {
    JS_FreeValue(vm->ctx, argv[0]);
    JS_FreeValue(vm->ctx, frozen);
    return vm_finish(vm, vm_fail_pending(vm, AL_EPLUGIN, err), JS_UNDEFINED, next, err);
  }
  if (!JS_ToBool(vm->ctx, has)) {
    JS_FreeValue(vm->ctx, argv[0]);
    JS_FreeValue(vm->ctx, frozen);
    vm->call.op = VM_OP_NONE;
    call_end(vm);
    return 0;
  }
  argv[1] = cv_thaw(vm->ctx, frozen);
  JS_FreeValue(vm->ctx, frozen);
  argv[2] = JS_IsException(argv[1]) ? JS_UNDEFINED : cv_from_json(vm->ctx, payload);
  if (JS_IsException(argv[1]) || JS_IsException(argv[2])) {
    JS_FreeValue(vm->ctx, argv[0]);
    JS_FreeValue(vm->ctx, argv[1]);
    return vm_finish(vm, vm_fail_pending(vm, AL_EPLUGIN, err), JS_UNDEFINED, next, err);
  }
  rc = vm_invoke(vm, vm->fn_reduce, 3, argv, AL_EPLUGIN, &rec, err);
  if (rc == VM_REC_NO_REDUCER) {
    JS_FreeValue(vm->ctx, rec);
    vm->call.op = VM_OP_NONE;
    call_end(vm);
    return 0;
  }
  *handled = rc >= 0;
  return vm_after(vm, rc, rec, next, err);
}

/* ---- hooks: the `pi` API's natives and calls ------------------------------------------
 * The natives are handed to the bootstrap's installPi and never become globals. A hostcall
 * is synchronous from the VM's view: the worker's thread blocks while the host decides and
 * performs it, bounded by what is left of the call's deadline, so hostcall time counts
 * against the event like any other work; the bootstrap wraps the answer in a promise. */

/* An Error whose message starts with the code's name and which carries `code`. */
static JSValue vm_code_error(JSContext *ctx, int code, const char *msg) {
  JSValue e = JS_NewError(ctx);
  if (JS_IsException(e)) return e;
  char buf[sizeof ((al_error *)0)->message + 40];
  snprintf(buf, sizeof buf, "%s: %s", al_err_name(code), msg);
  JS_DefinePropertyValueStr(ctx, e, "message", JS_NewString(ctx, buf),
                            JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
  JS_DefinePropertyValueStr(ctx, e, "code", JS_NewString(ctx, al_err_name(code)),
                            JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
  return e;
}

static JSValue vm_throw_code(JSContext *ctx, int code, const char *msg) {
  JSValue e = vm_code_error(ctx, code, msg);
  return JS_IsException(e) ? e : JS_Throw(ctx, e);
}

/* The method and args of a hostcall, checked against the call's deadline. Returns 0 with
 * *method (JS_FreeCString it), *args and *left_ms set, or a pending exception. */
static int vm_hostcall_args(vm_instance *vm, int argc, JSValueConst *argv, const char **method,
                            json_t **args, uint32_t *left_ms) {
  JSContext *ctx = vm->ctx;
  *method = NULL;
  *args = NULL;
  if (argc < 1 || !JS_IsString(argv[0])) {
    JS_ThrowTypeError(ctx, "hostcall: bad method");
    return -1;
  }
  al_error e = {0};
  cv_limits lim = {.max_depth = 64, .max_bytes = vm->cfg.max_value_bytes};
  int rc = argc > 1 ? cv_to_json(ctx, argv[1], "args", &lim, args, &e) : 0;
  if (rc == AL_EPLUGIN) return -1;
  if (rc) {
    vm_throw_code(ctx, rc, e.message);
    return -1;
  }
  if (!*args && !(*args = json_null())) {
    vm_throw_code(ctx, AL_ENO_MEMORY, "out of memory");
    return -1;
  }
  uint64_t now = clock_mono_ns();
  if (now >= vm->deadline_ns) {
    json_decref(*args);
    *args = NULL;
    vm->interrupted = true;
    vm_throw_code(ctx, AL_ETIMEOUT, "the call's deadline passed before the hostcall");
    return -1;
  }
  uint64_t left = (vm->deadline_ns - now) / 1000000u;
  *left_ms = (uint32_t)(left > UINT32_MAX ? UINT32_MAX : left ? left : 1);
  if (!(*method = JS_ToCString(ctx, argv[0]))) {
    json_decref(*args);
    *args = NULL;
    return -1;
  }
  return 0;
}

#define VM_HOSTCALL_SLACK_MS 50u

/* native.hostAsync(method, args): sends the hostcall and returns its id; the answer comes
 * through vm_deliver. */
static JSValue vm_js_hostcall_async(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  vm_instance *vm = JS_GetContextOpaque(ctx);
  if (!vm->cfg.send) return vm_throw_code(ctx, AL_ECAPABILITY_DENIED, "this host offers no services");
  const char *method;
  json_t *args;
  uint32_t left;
  if (vm_hostcall_args(vm, argc, argv, &method, &args, &left)) return JS_EXCEPTION;
  uint64_t id = 0;
  al_error e = {0};
  /* The host gets a little longer than the call has left, so the call's own deadline
   * always comes first: the call answers VM_TIMEOUT (and the late answer is dropped),
   * rather than the plugin seeing a hostcall time out a moment before its deadline and
   * failing with that. */
  uint32_t ms = left > UINT32_MAX - VM_HOSTCALL_SLACK_MS ? UINT32_MAX : left + VM_HOSTCALL_SLACK_MS;
  int rc = vm->cfg.send(vm->cfg.hostcall_user, vm->instance_id, method, args, ms, &id, &e);
  JS_FreeCString(ctx, method);
  if (rc) return vm_throw_code(ctx, rc, e.message);
  vm->hc_pending++;
  return JS_NewFloat64(ctx, (double)id);
}

/* native.host(method, args): performs the hostcall at once (subscriptions, tools, logs). */
static JSValue vm_js_hostcall(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  vm_instance *vm = JS_GetContextOpaque(ctx);
  if (!vm->cfg.hostcall) return vm_throw_code(ctx, AL_ECAPABILITY_DENIED, "this host offers no services");
  const char *method;
  json_t *args;
  uint32_t left;
  if (vm_hostcall_args(vm, argc, argv, &method, &args, &left)) return JS_EXCEPTION;
  json_t *res = NULL;
  al_error e = {0};
  int rc = vm->cfg.hostcall(vm->cfg.hostcall_user, vm->instance_id, method, args, left, NULL, &res, &e);
  JS_FreeCString(ctx, method);
  json_decref(args);
  if (rc) {
    json_decref(res);
    return vm_throw_code(ctx, rc, e.message);
  }
  JSValue v = cv_from_json(ctx, res);
  json_decref(res);
  return v;
}

static JSValue vm_js_now(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  (void)argc;
  (void)argv;
  return JS_NewFloat64(ctx, (double)clock_mono_ns() / 1e6);
}

/* Random v4 UUID from getrandom(2): works inside the worker sandbox, which has no
 * /dev/urandom but allows the system call. */
static JSValue vm_js_uuid(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  (void)argc;
  (void)argv;
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n <= 0) return vm_throw_code(ctx, AL_EINTERNAL, "no randomness available");
    got += (size_t)n;
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  char s[37];
  snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
           b[14], b[15]);
  return JS_NewString(ctx, s);
}

/* pi.js's factory, for the bootstrap's lazy `pi` getter. */
static JSValue vm_js_load_pi(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  (void)argc;
  (void)argv;
  return vm_script_eval(JS_GetContextOpaque(ctx), &vm_pi);
}

/* pi_ext.js's factory, for the bootstrap's piProfile. */
static JSValue vm_js_load_pi_ext(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  (void)argc;
  (void)argv;
  return vm_script_eval(JS_GetContextOpaque(ctx), &vm_pi_ext);
}

int vm_install_pi(vm_instance *vm, const json_t *info, al_error *err) {
  call_begin(vm, deadline_in(vm->cfg.limits.load_ms));
  JSValue argv[7];
  char *text = json_text(info);
  if (!text) {
    call_end(vm);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  argv[0] = JS_NewString(vm->ctx, text);
  free(text);
  argv[1] = JS_NewCFunction(vm->ctx, vm_js_hostcall, "host", 2);
  argv[2] = JS_NewCFunction(vm->ctx, vm_js_hostcall_async, "hostAsync", 2);
  argv[3] = JS_NewCFunction(vm->ctx, vm_js_now, "now", 0);
  argv[4] = JS_NewCFunction(vm->ctx, vm_js_uuid, "uuid", 0);
  argv[5] = JS_NewCFunction(vm->ctx, vm_js_load_pi, "loadPi", 0);
  argv[6] = JS_NewCFunction(vm->ctx, vm_js_load_pi_ext, "loadPiExt", 0);
  JSValue r = JS_Call(vm->ctx, vm->fn_install_pi, vm->entry, 7, argv);
  for (int i = 0; i < 7; i++) JS_FreeValue(vm->ctx, argv[i]);
  int rc = 0;
  if (JS_IsException(r)) rc = vm_fail_pending(vm, AL_EINTERNAL, err);
  JS_FreeValue(vm->ctx, r);
  call_end(vm);
  return rc;
}

static json_t *vm_error_json(const al_error *e) {
  json_t *j = err_json(e);
  return j ? json_pack("{s:o}", "error", j) : NULL;
}

/* Turns one handler's settled record (state st, or an error) into a {ok|error, elapsedUs}
 * entry and ends that handler's call. Owns `rec`. */
static json_t *vm_hook_entry(vm_instance *vm, int st, JSValue rec, const al_error *e) {
  json_t *v = NULL;
  al_error re = *e;
  int rc = st < 0 ? st : 0;
  if (st == VM_REC_NO_TARGET) rc = err_set(&re, AL_EHANDLER_NOT_FOUND, NULL, "the handler went away");
  else if (st > 0) rc = vm_read(vm, rec, "value", "result", vm->cfg.max_value_bytes, &v, &re);
  JS_FreeValue(vm->ctx, rec);
  call_end(vm);
  vm->call.hook_end_ns = vm->deadline_ns; /* as vm_hold may have moved it */
  json_t *out = rc ? vm_error_json(&re) : json_pack("{s:o}", "ok", v ? v : json_null());
  if (out) json_object_set_new(out, "elapsedUs", json_integer((json_int_t)vm->last.elapsed_us));
  return out;
}

/* Runs the hook's handlers from vm->call.hook_i on, until one parks (VM_PARKED) or all
 * ran (0, *results set). They share one deadline: the plugin's time for an event is its
 * class's, however many handlers it registered (20 stalling handlers once held an info
 * emit for 10 s). A handler whose turn comes after the deadline does not run and answers
 * VM_TIMEOUT; time a person spent answering a question (vm_hold) moves the deadline on. */
static int vm_hook_run(vm_instance *vm, json_t **results, al_error *err) {
  for (; vm->call.hook_i < vm->call.hook_n; vm->call.hook_i++) {
    if (clock_mono_ns() >= vm->call.hook_end_ns) {
      al_error te = {0};
      err_set(&te, AL_ETIMEOUT, NULL, "the plugin's time for this event ran out before this handler's turn");
      /* (vm->last keeps the handler that did run: the call's telemetry is its time) */
      json_t *entry = vm_error_json(&te);
      if (entry) json_object_set_new(entry, "elapsedUs", json_integer(0));
      if (!entry || json_array_append_new(vm->call.keep, entry)) {
        vm->call.hook_n = -1;
        break;
      }
      continue;
    }
    call_begin(vm, vm->call.hook_end_ns);
    vm->wake_ms = -1;
    JSValue argv[2] = {JS_NewInt32(vm->ctx, vm->call.hook_i), JS_UNDEFINED}, rec = JS_UNDEFINED;
    al_error e = {0};
    int st = vm_args(vm, argv + 1, 1, (const json_t *const[]){vm->call.payload}, &e);
    if (!st) st = vm_invoke(vm, vm->fn_hook, 2, argv, AL_EPLUGIN, &rec, &e);
    else JS_FreeValue(vm->ctx, argv[0]);
    if (st == VM_REC_PENDING) {
      vm->call.rec = rec;
      return VM_PARKED;
    }
    json_t *entry = vm_hook_entry(vm, st, st < 0 ? JS_UNDEFINED : rec, &e);
    if (!entry || json_array_append_new(vm->call.keep, entry)) {
      vm->call.hook_n = -1; /* out of memory: stop, and say so below */
      break;
    }
  }
  json_t *list = vm->call.keep;
  bool complete = vm->call.hook_n >= 0;
  vm->call.keep = NULL;
  vm->call.payload = NULL;
  vm->call.op = VM_OP_NONE;
  if (!complete || !list) {
    json_decref(list);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  *results = list;
  return 0;
}

int vm_hook(vm_instance *vm, const char *event, const json_t *payload, uint32_t timeout_ms,
            json_t **results, al_error *err) {
  *results = NULL;
  json_t *list = json_array();
  if (!list) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  uint64_t end = deadline_in(timeout_ms);
  call_begin(vm, end);
  JSValue ev = JS_NewString(vm->ctx, event);
  JSValue n = JS_Call(vm->ctx, vm->fn_hook_begin, vm->entry, 1, &ev);
  JS_FreeValue(vm->ctx, ev);
  int32_t count = 0;
  if (JS_IsException(n) || JS_ToInt32(vm->ctx, &count, n) < 0) {
    JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
    count = 0;
  }
  JS_FreeValue(vm->ctx, n);
  call_end(vm);
  vm->call.op = VM_OP_HOOK;
  vm->call.rec = JS_UNDEFINED;
  vm->call.keep = list;
  vm->call.payload = payload;
  vm->call.hook_i = 0;
  vm->call.hook_n = count;
  vm->call.hook_end_ns = end;
  return vm_hook_run(vm, results, err);
}

int vm_tool(vm_instance *vm, const char *name, const json_t *args, uint32_t timeout_ms,
            json_t **value, al_error *err) {
  *value = NULL;
  vm_call_begin(vm, VM_OP_TOOL, deadline_in(timeout_ms));
  JSValue argv[2], rec = JS_UNDEFINED;
  int rc = vm_args(vm, argv + 1, 1, (const json_t *const[]){args}, err);
  if (rc) return vm_finish(vm, rc, JS_UNDEFINED, value, err);
  argv[0] = JS_NewString(vm->ctx, name);
  rc = vm_invoke(vm, vm->fn_tool, 2, argv, AL_EPLUGIN, &rec, err);
  if (rc == VM_REC_NO_TARGET) {
    JS_FreeValue(vm->ctx, rec);
    return vm_finish(vm, err_set(err, AL_EINVALID_ARGUMENT, NULL, "no tool '%.80s' in this instance", name),
                     JS_UNDEFINED, value, err);
  }
  return vm_after(vm, rc, rec, value, err);
}

/* ---- parked calls --------------------------------------------------------------------- */

bool vm_parked(const vm_instance *vm) { return vm->call.op != VM_OP_NONE; }
int64_t vm_wake_ms(const vm_instance *vm) { return vm->wake_ms; }
uint64_t vm_deadline(const vm_instance *vm) { return vm->deadline_ns; }

int vm_resume(vm_instance *vm, json_t **out, al_error *err) {
  *out = NULL;
  if (vm->call.op == VM_OP_NONE) return err_set(err, AL_EINTERNAL, NULL, "no call to resume");
  JS_UpdateStackTop(vm->rt); /* perhaps another frame than the one that parked */
  vm->wake_ms = -1;
  JSValue r = vm->call.rec, rec = JS_UNDEFINED;
  vm->call.rec = JS_UNDEFINED;
  if (vm->call.op == VM_OP_HOOK) {
    al_error e = {0};
    int st = vm_settled(vm, r, AL_EPLUGIN, &rec, &e);
    if (st == VM_REC_PENDING) {
      vm->call.rec = rec;
      return VM_PARKED;
    }
    json_t *entry = vm_hook_entry(vm, st, st < 0 ? JS_UNDEFINED : rec, &e);
    if (!entry || json_array_append_new(vm->call.keep, entry)) vm->call.hook_n = -1;
    else vm->call.hook_i++;
    return vm_hook_run(vm, out, err);
  }
  int st = vm_settled(vm, r, AL_EPLUGIN, &rec, err);
  return vm_after(vm, st, rec, out, err);
}

void vm_hold(vm_instance *vm, uint32_t ms) {
  uint64_t now = clock_mono_ns();
  if (ms > 0) {
    if (vm->holds++ == 0) vm->held_left_ns = vm->deadline_ns > now ? vm->deadline_ns - now : 0;
    uint64_t until = now + (uint64_t)ms * 1000000u;
    if (until > vm->deadline_ns) vm->deadline_ns = until;
  } else if (vm->holds > 0 && --vm->holds == 0) {
    vm->deadline_ns = now + vm->held_left_ns;
  }
}

bool vm_deliver(vm_instance *vm, uint64_t id, int rc, const json_t *value, const al_error *e) {
  if (JS_IsUndefined(vm->fn_deliver)) return false;
  JS_UpdateStackTop(vm->rt);
  /* Only our bootstrap runs (resolve() queues the reactions), so no deadline applies. */
  uint64_t deadline = vm->deadline_ns;
  vm->deadline_ns = UINT64_MAX;
  JSValue argv[3];
  argv[0] = JS_NewFloat64(vm->ctx, (double)id);
  argv[1] = JS_NewBool(vm->ctx, rc == 0);
  if (rc == 0) {
    argv[2] = cv_from_json(vm->ctx, value ? value : json_null());
  } else {
    argv[2] = vm_code_error(vm->ctx, rc, e ? e->message : al_strerror(rc));
  }
  bool taken = false;
  if (JS_IsException(argv[2])) {
    /* out of memory making the answer: the awaiting promise rejects with that instead */
    argv[2] = JS_GetException(vm->ctx);
    argv[1] = JS_FALSE;
  }
  JSValue r = JS_Call(vm->ctx, vm->fn_deliver, vm->entry, 3, argv);
  if (JS_IsException(r)) JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
  else taken = JS_ToBool(vm->ctx, r) > 0;
  JS_FreeValue(vm->ctx, r);
  JS_FreeValue(vm->ctx, argv[2]);
  vm->deadline_ns = deadline;
  if (taken && vm->hc_pending) vm->hc_pending--;
  return taken;
}

json_t *vm_hooks(vm_instance *vm) {
  call_begin(vm, deadline_in(vm->cfg.limits.event_ms));
  JSValue r = JS_Call(vm->ctx, vm->fn_hooks, vm->entry, 0, NULL);
  json_t *out = NULL;
  cv_limits lim = {.max_depth = 4, .max_bytes = 1u << 20};
  if (JS_IsException(r) || cv_to_json(vm->ctx, r, "hooks", &lim, &out, NULL))
    JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
  JS_FreeValue(vm->ctx, r);
  call_end(vm);
  return out; /* not {} on failure: that would tell the host every subscription is gone */
}

json_t *vm_pi_registry(vm_instance *vm) {
  call_begin(vm, deadline_in(vm->cfg.limits.event_ms));
  JSValue r = JS_Call(vm->ctx, vm->fn_pi_registry, vm->entry, 0, NULL);
  json_t *out = NULL;
  cv_limits lim = {.max_depth = 32, .max_bytes = 1u << 20};
  if (JS_IsException(r) || cv_to_json(vm->ctx, r, "pi", &lim, &out, NULL))
    JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
  JS_FreeValue(vm->ctx, r);
  call_end(vm);
  if (json_is_null(out)) {
    json_decref(out);
    out = NULL;
  }
  return out;
}

/*
 * vm_code.c: bytecode. Our scripts (bootstrap.js, esm.js, pi.js, pi_ext.js, pi_node.js) are compiled once per
 * process and every instance reads their bytecode; plugin code is compiled from source and
 * its bytecode kept in a small process-wide cache keyed by the exact source and file name
 * (vm.c's opening comment says why that is safe: only what our own compiler produced in
 * this process is ever read back).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap_js.h"
#include "esm_js.h"
#include "pi_ext_js.h"
#include "pi_node_js.h"
#include "pi_js.h"
#include "vm_impl.h"

/* ---- our scripts' bytecode -----------------------------------------------------------
 * The bootstrap (every instance) and pi.js (instances whose plugin uses `pi`) are
 * compiled once per process, without debug information (nothing of theirs needs a line
 * number, and each instance would carry it), and every instance reads the bytecode. */


static vm_script vm_boot = {al_bootstrap_js, sizeof al_bootstrap_js - 1, "<airlock>", NULL, 0};
vm_script vm_pi = {al_pi_js, sizeof al_pi_js - 1, "<airlock-pi>", NULL, 0};
/* the pi profile (docs/pi-extensions.md) */
vm_script vm_pi_ext = {al_pi_ext_js, sizeof al_pi_ext_js - 1, "<airlock-pi-ext>", NULL, 0};
/* the pi profile's modules (pi_node.js) */
vm_script vm_pi_node = {al_pi_node_js, sizeof al_pi_node_js - 1, "<airlock-pi-node>", NULL, 0};
/* ES module plugins (esm.js, docs/modules.md) */
vm_script vm_esm = {al_esm_js, sizeof al_esm_js - 1, "<airlock-esm>", NULL, 0};
/* Each script is compiled the first time an instance needs it, not all at once: every
 * process evaluates the bootstrap, few ever touch pi.js, and only a host that loads pi
 * extensions needs pi_ext.js, the largest (compiling all three at the first vm_new cost
 * every `airlock emit` and every worker process start some twenty million instructions). */
static void vm_script_compile(vm_script *sc) {
  JSRuntime *rt = JS_NewRuntime();
  JSContext *ctx = rt ? JS_NewContext(rt) : NULL;
  JSValue fn = ctx ? JS_Eval(ctx, sc->src, sc->len, sc->name,
                             JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY | JS_EVAL_FLAG_STRIP)
                   : JS_EXCEPTION;
  if (ctx && !JS_IsException(fn)) {
    size_t len = 0;
    uint8_t *buf = JS_WriteObject(ctx, &len, fn, JS_WRITE_OBJ_BYTECODE);
    if (buf && (sc->code = malloc(len))) {
      memcpy(sc->code, buf, len);
      sc->code_len = len;
    }
    js_free(ctx, buf);
  }
  if (ctx) {
    JS_FreeValue(ctx, fn);
    JS_FreeContext(ctx);
  }
  if (rt) JS_FreeRuntime(rt);
}

static pthread_once_t boot_once = PTHREAD_ONCE_INIT, pi_once = PTHREAD_ONCE_INIT,
                      pi_ext_once = PTHREAD_ONCE_INIT, pi_node_once = PTHREAD_ONCE_INIT,
                      esm_once = PTHREAD_ONCE_INIT;
static void boot_compile(void) { vm_script_compile(&vm_boot); }
static void pi_compile(void) { vm_script_compile(&vm_pi); }
static void pi_ext_compile(void) { vm_script_compile(&vm_pi_ext); }
static void pi_node_compile(void) { vm_script_compile(&vm_pi_node); }
static void esm_compile(void) { vm_script_compile(&vm_esm); }

/* Evaluates one of our scripts in vm's context: its bytecode when we have it, else the
 * source. Returns the script's value. */
JSValue vm_script_eval(vm_instance *vm, const vm_script *sc) {
  if (sc == &vm_boot) pthread_once(&boot_once, boot_compile);
  else if (sc == &vm_pi) pthread_once(&pi_once, pi_compile);
  else if (sc == &vm_pi_ext) pthread_once(&pi_ext_once, pi_ext_compile);
  else if (sc == &vm_pi_node) pthread_once(&pi_node_once, pi_node_compile);
  else pthread_once(&esm_once, esm_compile);
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
JSValue vm_compile(vm_instance *vm, const char *src, size_t len) {
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
JSValue vm_bootstrap(vm_instance *vm) {
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

/*
 * vm_call.c: the boundary's calls (vm.h): loading a plugin's code (a script or a module
 * graph), render, event, reduce and tool; each runs under its deadline (vm.c), is
 * classified from recorded facts, and its value is read back through convert.c with the
 * instance's size limits.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "vm_impl.h"

#include "module.h"

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
  vm_run_begin(vm, vm_deadline_in(vm->cfg.limits.load_ms));
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
  vm_run_begin(vm, vm_deadline_in(vm->cfg.limits.load_ms));
  vm->modgraph = graph;
  /* A pi extension (pkg/modgraph.h marks its graph) gets the pi profile before any of its
   * modules runs: they import its virtual modules and use Node's globals at top level. */
  const char *profile = json_string_value(json_object_get(graph, "profile"));
  /* esm.js first: the JSX factory a .tsx module calls as it is evaluated */
  JSValue ns = JS_Call(vm->ctx, vm->fn_module_begin, vm->entry, 0, NULL);
  if (!JS_IsException(ns)) {
    JS_FreeValue(vm->ctx, ns);
    ns = JS_UNDEFINED;
  }
  if (!JS_IsException(ns) && profile && !strcmp(profile, "pi")) {
    JSValue r0 = JS_Call(vm->ctx, vm->fn_pi_profile, vm->entry, 0, NULL);
    if (JS_IsException(r0)) ns = JS_EXCEPTION;
    else vm->pi_profile = true;
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
  vm_run_end(vm);
  return rc;
}

/* Finishes a call whose record settled with state `st` (>= 1) or failed (st < 0, err
 * filled): reads its result by kind, ends the call. Owns `rec`. */
int vm_finish(vm_instance *vm, int st, JSValue rec, json_t **out, al_error *err) {
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
      vm_run_end(vm);
      return 0;
    }
  } else if (op == VM_OP_TOOL) {
    rc = vm_read(vm, rec, "value", "result", vm->cfg.max_value_bytes, out, err);
  }
  if (!rc && !*out && !(*out = json_null())) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  JS_FreeValue(vm->ctx, rec);
  vm->call.op = VM_OP_NONE;
  vm_run_end(vm);
  return rc;
}

/* After vm_invoke: parks the call (VM_PARKED) or finishes it. */
int vm_after(vm_instance *vm, int st, JSValue rec, json_t **out, al_error *err) {
  if (st == VM_REC_PENDING) {
    vm->call.rec = rec;
    return VM_PARKED;
  }
  return vm_finish(vm, st, st < 0 ? JS_UNDEFINED : rec, out, err);
}

void vm_call_begin(vm_instance *vm, int op, uint64_t deadline_ns) {
  vm_run_begin(vm, deadline_ns);
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
  vm_run_end(vm);
  return VM_STALE;
}

int vm_render(vm_instance *vm, const char *widget, const vm_state_msg *plugin_state,
              const vm_state_msg *global_state, json_t **tree, al_error *err) {
  *tree = NULL;
  vm_call_begin(vm, VM_OP_RENDER, vm_deadline_in(vm->cfg.limits.render_ms));
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
  vm->event_deadline_ns = vm_deadline_in(vm->cfg.limits.event_ms);
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
    vm_run_end(vm);
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
    vm_run_end(vm);
    return 0;
  }
  *handled = rc >= 0;
  return vm_after(vm, rc, rec, next, err);
}

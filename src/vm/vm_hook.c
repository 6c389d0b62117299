/*
 * vm_hook.c: hooks and the `pi` API inside the VM: the natives pi.js and pi_ext.js are
 * given (hostcalls, the clock, UUIDs, loading the pi scripts), running an event's
 * handlers under one shared deadline, and the calls that park while they wait for a
 * hostcall's answer or a timer, then resume.
 */
#define _GNU_SOURCE
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "vm_impl.h"

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

/* pi_node.js's factory, for the pi profile's modules (pi_ext.js). */
static JSValue vm_js_load_pi_node(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  (void)argc;
  (void)argv;
  return vm_script_eval(JS_GetContextOpaque(ctx), &vm_pi_node);
}

/* esm.js's factory, for the bootstrap's ES module entry points. */
static JSValue vm_js_load_esm(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  (void)argc;
  (void)argv;
  return vm_script_eval(JS_GetContextOpaque(ctx), &vm_esm);
}

int vm_install_pi(vm_instance *vm, const json_t *info, al_error *err) {
  vm_run_begin(vm, vm_deadline_in(vm->cfg.limits.load_ms));
  JSValue argv[9];
  char *text = json_text(info);
  if (!text) {
    vm_run_end(vm);
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
  argv[7] = JS_NewCFunction(vm->ctx, vm_js_load_esm, "loadEsm", 0);
  argv[8] = JS_NewCFunction(vm->ctx, vm_js_load_pi_node, "loadPiNode", 0);
  JSValue r = JS_Call(vm->ctx, vm->fn_install_pi, vm->entry, 9, argv);
  for (int i = 0; i < 9; i++) JS_FreeValue(vm->ctx, argv[i]);
  int rc = 0;
  if (JS_IsException(r)) rc = vm_fail_pending(vm, AL_EINTERNAL, err);
  JS_FreeValue(vm->ctx, r);
  vm_run_end(vm);
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
  vm_run_end(vm);
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
    vm_run_begin(vm, vm->call.hook_end_ns);
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
  uint64_t end = vm_deadline_in(timeout_ms);
  vm_run_begin(vm, end);
  JSValue ev = JS_NewString(vm->ctx, event);
  JSValue n = JS_Call(vm->ctx, vm->fn_hook_begin, vm->entry, 1, &ev);
  JS_FreeValue(vm->ctx, ev);
  int32_t count = 0;
  if (JS_IsException(n) || JS_ToInt32(vm->ctx, &count, n) < 0) {
    JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
    count = 0;
  }
  JS_FreeValue(vm->ctx, n);
  vm_run_end(vm);
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
  vm_call_begin(vm, VM_OP_TOOL, vm_deadline_in(timeout_ms));
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
  vm_run_begin(vm, vm_deadline_in(vm->cfg.limits.event_ms));
  JSValue r = JS_Call(vm->ctx, vm->fn_hooks, vm->entry, 0, NULL);
  json_t *out = NULL;
  cv_limits lim = {.max_depth = 4, .max_bytes = 1u << 20};
  if (JS_IsException(r) || cv_to_json(vm->ctx, r, "hooks", &lim, &out, NULL))
    JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
  JS_FreeValue(vm->ctx, r);
  vm_run_end(vm);
  return out; /* not {} on failure: that would tell the host every subscription is gone */
}

json_t *vm_pi_registry(vm_instance *vm) {
  if (!vm->pi_profile) return NULL; /* every other plugin: no call into the VM on its load */
  vm_run_begin(vm, vm_deadline_in(vm->cfg.limits.event_ms));
  JSValue r = JS_Call(vm->ctx, vm->fn_pi_registry, vm->entry, 0, NULL);
  json_t *out = NULL;
  cv_limits lim = {.max_depth = 32, .max_bytes = 1u << 20};
  if (JS_IsException(r) || cv_to_json(vm->ctx, r, "pi", &lim, &out, NULL))
    JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
  JS_FreeValue(vm->ctx, r);
  vm_run_end(vm);
  if (json_is_null(out)) {
    json_decref(out);
    out = NULL;
  }
  return out;
}

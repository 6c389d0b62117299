/*
 * exec.c: executes runtime-boundary requests against the VMs one worker owns.
 *
 * The table maps instanceId -> vm_instance with a jansson object holding pointers as
 * integers: a worker owns at most a few thousand instances, and jansson's hashtable is
 * already there. Nothing here touches host state; it only turns requests into calls on
 * vm.c and results into responses.
 *
 * Most of a load is making the runtime and context and evaluating the bootstrap, which do
 * not depend on the plugin. With wk_table_prewarm a maker thread does that ahead of time:
 * it keeps one spare VM in an atomic slot, the worker takes it on load (vm_adopt gives it
 * the load's limits) and wakes the maker to make the next one. The maker waits until the
 * worker has been quiet for WK_QUIET_NS first: measured, a spare made at once competed
 * with the new instance's first render for the CPU and cost as much as it saved, whereas
 * under a storm of loads the maker simply stays out of the way (loads then make their own
 * VM, as without a maker). A worker process has no maker thread; it calls
 * wk_table_make_spare itself when it finds itself idle.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <quickjs.h>

#include "exec.h"
#include "vm/vm.h"

struct wk_table {
  json_t *vms; /* instanceId -> integer(pointer) */
  al_alloc_fn alloc;
  void *alloc_ud;
  hostcall_fn hostcall;
  void *hostcall_user;
  /* the spare maker (wk_table_prewarm) */
  _Atomic(vm_instance *) spare;
  _Atomic uint64_t last_exec_ns; /* when the worker last finished a request */
  atomic_bool busy;              /* the worker is executing a request */
  bool maker_started, maker_stop;
  pthread_t maker;
  pthread_mutex_t mk_mu;
  pthread_cond_t mk_cond;
};

static pthread_once_t wk_once = PTHREAD_ONCE_INIT;

/* QuickJS 2021-03-27 allocates class ids from a process-wide counter without a lock, and
 * the first runtime initialises shared tables: do both once, before any worker starts. */
static void wk_init_once(void) {
  JSRuntime *rt = JS_NewRuntime();
  if (rt) {
    JSContext *ctx = JS_NewContext(rt);
    if (ctx) JS_FreeContext(ctx);
    JS_FreeRuntime(rt);
  }
}

void wk_global_init(void) { pthread_once(&wk_once, wk_init_once); }

wk_table *wk_table_new(al_alloc_fn alloc, void *alloc_ud) {
  wk_global_init();
  wk_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->vms = json_object();
  if (!t->vms) {
    free(t);
    return NULL;
  }
  t->alloc = alloc;
  t->alloc_ud = alloc_ud;
  atomic_init(&t->spare, NULL);
  atomic_init(&t->last_exec_ns, 0);
  atomic_init(&t->busy, false);
  pthread_mutex_init(&t->mk_mu, NULL);
  pthread_cond_init(&t->mk_cond, NULL);
  return t;
}

#define WK_QUIET_NS 1000000u /* 1 ms */

/* Waits (under mk_mu) until the worker has been idle for WK_QUIET_NS or the maker stops. */
static void maker_wait_quiet(wk_table *t) {
  while (!t->maker_stop) {
    uint64_t idle = atomic_load(&t->busy) ? 0 : clock_mono_ns() - atomic_load(&t->last_exec_ns);
    if (idle >= WK_QUIET_NS) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (WK_QUIET_NS - idle);
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(&t->mk_cond, &t->mk_mu, &ts);
  }
}

static void *maker_main(void *arg) {
  wk_table *t = arg;
  /* Making spares is background work: the calls being served come first. */
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
  pthread_mutex_lock(&t->mk_mu);
  while (!t->maker_stop) {
    if (atomic_load(&t->spare)) {
      pthread_cond_wait(&t->mk_cond, &t->mk_mu);
      continue;
    }
    maker_wait_quiet(t);
    if (t->maker_stop) break;
    pthread_mutex_unlock(&t->mk_mu);
    vm_instance *vm = NULL, *none = NULL;
    int rc = vm_new_spare(t->alloc, t->alloc_ud, &vm, NULL);
    if (!rc && !atomic_compare_exchange_strong(&t->spare, &none, vm)) vm_free(vm);
    pthread_mutex_lock(&t->mk_mu);
    if (rc && !t->maker_stop) { /* out of memory: try again later, never spin */
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait(&t->mk_cond, &t->mk_mu, &ts);
    }
  }
  pthread_mutex_unlock(&t->mk_mu);
  return NULL;
}

int wk_table_prewarm(wk_table *t) {
  if (t->maker_started) return 0;
  if (pthread_create(&t->maker, NULL, maker_main, t)) return AL_EINTERNAL;
  t->maker_started = true;
  return 0;
}

void wk_table_make_spare(wk_table *t) {
  if (atomic_load(&t->spare)) return;
  vm_instance *vm = NULL, *none = NULL;
  if (!vm_new_spare(t->alloc, t->alloc_ud, &vm, NULL) &&
      !atomic_compare_exchange_strong(&t->spare, &none, vm))
    vm_free(vm);
}

/* Takes the spare for `vc`, or NULL when there is none that fits. */
static vm_instance *take_spare(wk_table *t, const vm_config *vc) {
  vm_instance *vm = atomic_exchange(&t->spare, NULL);
  if (vm && !vm_adopt(vm, vc)) {
    vm_instance *none = NULL; /* put it back for a load it fits */
    if (!atomic_compare_exchange_strong(&t->spare, &none, vm)) vm_free(vm);
    return NULL;
  }
  if (vm && t->maker_started) {
    pthread_mutex_lock(&t->mk_mu);
    pthread_cond_signal(&t->mk_cond);
    pthread_mutex_unlock(&t->mk_mu);
  }
  return vm;
}

static vm_instance *table_get(const wk_table *t, const char *id) {
  json_t *p = id ? json_object_get(t->vms, id) : NULL;
  return p ? (vm_instance *)(uintptr_t)json_integer_value(p) : NULL;
}

void wk_table_free(wk_table *t) {
  if (!t) return;
  if (t->maker_started) {
    pthread_mutex_lock(&t->mk_mu);
    t->maker_stop = true;
    pthread_cond_signal(&t->mk_cond);
    pthread_mutex_unlock(&t->mk_mu);
    pthread_join(t->maker, NULL);
  }
  vm_free(atomic_exchange(&t->spare, NULL));
  pthread_mutex_destroy(&t->mk_mu);
  pthread_cond_destroy(&t->mk_cond);
  const char *k;
  json_t *v;
  json_object_foreach(t->vms, k, v) vm_free((vm_instance *)(uintptr_t)json_integer_value(v));
  json_decref(t->vms);
  free(t);
}

void wk_table_set_hostcall(wk_table *t, hostcall_fn fn, void *user) {
  t->hostcall = fn;
  t->hostcall_user = user;
}

size_t wk_table_count(const wk_table *t) { return json_object_size(t->vms); }

json_t *wk_error_response(const al_error *err) {
  json_t *e = json_pack("{s:s,s:s}", "code", al_err_name(err->code), "message", err->message);
  if (!e) return NULL;
  if (err->path[0]) json_object_set_new(e, "path", json_string(err->path));
  if (err->line > 0) json_object_set_new(e, "line", json_integer(err->line));
  return json_pack("{s:o}", "error", e);
}

int wk_response_result(const json_t *resp, const json_t **value, al_error *err) {
  if (value) *value = NULL;
  const json_t *e = json_object_get(resp, "error");
  if (e) {
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    int rc = al_err_from_name(code);
    if (rc == AL_EOK) rc = AL_EINTERNAL;
    err_set(err, rc, json_string_value(json_object_get(e, "path")), "%s", msg ? msg : al_strerror(rc));
    if (err) err->line = (int)json_integer_value(json_object_get(e, "line"));
    return rc;
  }
  const json_t *ok = json_object_get(resp, "ok");
  if (!ok) return err_set(err, AL_EINTERNAL, NULL, "malformed worker response");
  if (value) *value = ok;
  return 0;
}

static size_t num(const json_t *o, const char *k, size_t dflt) {
  const json_t *v = json_object_get(o, k);
  return json_is_integer(v) && json_integer_value(v) > 0 ? (size_t)json_integer_value(v) : dflt;
}

static const char *str(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

/* Wraps a call's result: {ok: value (stolen)} or the error, plus the VM's stats. */
static json_t *respond(int rc, json_t *value, const al_error *err, const vm_instance *vm) {
  json_t *r = rc ? wk_error_response(err) : json_pack("{s:o}", "ok", value ? value : json_null());
  if (rc) json_decref(value);
  if (r && vm) {
    vm_stats st;
    vm_last_stats(vm, &st);
    json_object_set_new(r, "stats", json_pack("{s:I,s:b,s:I}", "elapsedUs", (json_int_t)st.elapsed_us,
                                              "interrupted", st.interrupted, "memoryBytes",
                                              (json_int_t)st.memory_bytes));
  }
  return r;
}

static json_t *exec_load(wk_table *t, const json_t *req, al_error *err) {
  const char *id = str(req, "instanceId");
  const json_t *code = json_object_get(req, "code");
  if (!id || !json_is_string(code)) {
    err_set(err, AL_EINVALID_ARGUMENT, NULL, "load needs instanceId and code");
    return respond(AL_EINVALID_ARGUMENT, NULL, err, NULL);
  }
  if (table_get(t, id)) {
    err_set(err, AL_EINSTANCE_EXISTS, NULL, "an instance with id '%s' already exists", id);
    return respond(AL_EINSTANCE_EXISTS, NULL, err, NULL);
  }
  const json_t *lim = json_object_get(req, "limits");
  vm_config vc = {.limits = {.memory_bytes = num(lim, "memoryBytes", 32u << 20),
                             .stack_bytes = num(lim, "stackBytes", 1u << 20),
                             .load_ms = (uint32_t)num(lim, "loadMs", 1000),
                             .render_ms = (uint32_t)num(lim, "renderMs", 100),
                             .event_ms = (uint32_t)num(lim, "eventMs", 100)},
                  .alloc = t->alloc, .alloc_ud = t->alloc_ud,
                  .max_value_bytes = num(req, "maxValueBytes", 16u << 20),
                  .max_tree_bytes = num(req, "maxTreeBytes", (1u << 20) + 1024),
                  .hostcall = t->hostcall, .hostcall_user = t->hostcall_user, .instance_id = id};
  vm_instance *vm = take_spare(t, &vc);
  int rc = vm ? 0 : vm_new(&vc, &vm, err);
  if (rc) return respond(rc, NULL, err, NULL);
  json_t *meta = NULL;
  const json_t *pi = json_object_get(req, "pi");
  json_t *dflt = pi ? NULL : json_pack("{s:s}", "id", id);
  rc = vm_install_pi(vm, pi ? pi : dflt, err);
  json_decref(dflt);
  if (!rc)
    rc = vm_load(vm, json_string_value(code), json_string_length(code), str(req, "sourceName"), &meta, err);
  json_t *resp = respond(rc, meta, err, vm);
  if (!rc && resp) json_object_set_new(resp, "hooks", vm_hooks(vm));
  if (rc || json_object_set_new(t->vms, id, json_integer((json_int_t)(uintptr_t)vm))) vm_free(vm);
  return resp;
}

static json_t *exec_op(wk_table *t, const json_t *req) {
  al_error err = {0};
  const char *op = str(req, "op");
  if (!op) {
    err_set(&err, AL_EINVALID_ARGUMENT, NULL, "request has no op");
    return respond(err.code, NULL, &err, NULL);
  }
  if (!strcmp(op, "load")) return exec_load(t, req, &err);
  if (!strcmp(op, "stall")) {
    /* Host-only diagnostic: blocks this worker without polling any deadline, the way a
     * builtin that never checks the interrupt handler would. Exercises the watchdog. */
    json_int_t ms = json_integer_value(json_object_get(req, "ms"));
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0) {}
    return respond(0, json_pack("{s:I}", "stalledMs", ms), &err, NULL);
  }
  if (!strcmp(op, "swap")) {
    /* Hot reload's second half: the VM loaded under the temporary id `from` takes over
     * `instanceId`, and the old VM is freed. Run in queue order, so every call made
     * after the host accepted the new code reaches the new VM. */
    const char *id = str(req, "instanceId"), *from = str(req, "from");
    vm_instance *nvm = table_get(t, from), *old = table_get(t, id);
    if (!id || !nvm) {
      err_set(&err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", from ? from : "(none)");
      return respond(err.code, NULL, &err, NULL);
    }
    if (json_object_set_new(t->vms, id, json_integer((json_int_t)(uintptr_t)nvm))) {
      err_set(&err, AL_ENO_MEMORY, NULL, "out of memory");
      return respond(err.code, NULL, &err, NULL);
    }
    json_object_del(t->vms, from);
    vm_set_instance_id(nvm, id); /* its hostcalls now speak for the instance */
    vm_free(old);
    return respond(0, json_pack("{s:b}", "swapped", 1), &err, nvm);
  }
  if (!strcmp(op, "health")) {
    json_t *ids = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(t->vms, k, v) json_array_append_new(ids, json_string(k));
    return respond(0, json_pack("{s:b,s:o}", "ready", 1, "instances", ids), &err, NULL);
  }
  const char *id = str(req, "instanceId");
  vm_instance *vm = table_get(t, id);
  if (!vm) {
    err_set(&err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", id ? id : "(none)");
    return respond(err.code, NULL, &err, NULL);
  }
  json_t *out = NULL;
  int rc;
  if (!strcmp(op, "render")) {
    rc = vm_render(vm, str(req, "widgetId") ? str(req, "widgetId") : "", json_object_get(req, "pluginState"),
                   json_object_get(req, "globalState"), &out, &err);
  } else if (!strcmp(op, "event")) {
    rc = vm_event(vm, str(req, "widgetId") ? str(req, "widgetId") : "",
                  str(req, "handler") ? str(req, "handler") : "", json_object_get(req, "args"),
                  json_object_get(req, "pluginState"), json_object_get(req, "globalState"), &out, &err);
  } else if (!strcmp(op, "reduce")) {
    bool handled = false;
    json_t *next = NULL;
    const json_t *payload = json_object_get(req, "payload");
    rc = vm_reduce(vm, str(req, "actionType") ? str(req, "actionType") : "", json_object_get(req, "state"),
                   payload ? payload : json_null(), vm_event_deadline(vm), &next, &handled, &err);
    if (!rc) out = json_pack("{s:b,s:o?}", "handled", handled, "next", next);
  } else if (!strcmp(op, "hook")) {
    json_t *results = NULL;
    const json_t *payload = json_object_get(req, "payload");
    rc = vm_hook(vm, str(req, "event") ? str(req, "event") : "", payload ? payload : json_null(),
                 (uint32_t)num(req, "timeoutMs", 5000), &results, &err);
    if (!rc) out = json_pack("{s:o,s:o}", "results", results, "hooks", vm_hooks(vm));
  } else if (!strcmp(op, "tool")) {
    const json_t *args = json_object_get(req, "args");
    rc = vm_tool(vm, str(req, "name") ? str(req, "name") : "", args ? args : json_null(),
                 (uint32_t)num(req, "timeoutMs", 5000), &out, &err);
  } else if (!strcmp(op, "dispose")) {
    json_object_del(t->vms, id);
    vm_free(vm);
    return respond(0, json_pack("{s:b}", "disposed", 1), &err, NULL);
  } else {
    err_set(&err, AL_EINVALID_ARGUMENT, NULL, "unknown op '%.40s'", op);
    return respond(err.code, NULL, &err, NULL);
  }
  return respond(rc, out, &err, vm);
}

json_t *wk_exec(wk_table *t, const json_t *req) {
  atomic_store(&t->busy, true);
  json_t *resp = exec_op(t, req);
  atomic_store(&t->last_exec_ns, clock_mono_ns());
  atomic_store(&t->busy, false);
  return resp;
}

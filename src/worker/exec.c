/*
 * exec.c: executes runtime-boundary requests against the VMs one worker owns.
 *
 * The table (wk_table.c) maps instanceId -> wk_inst (the VM, the request in progress,
 * the requests waiting behind it) in an idmap (contract/idmap.h). Parked calls are also
 * on a short list that wk_poll walks; awaited hostcall ids map to their instance id. Nothing here touches host state; it only turns requests into calls on
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

#include "exec_impl.h"

/* ---- responses -------------------------------------------------------------------------- */

json_t *wk_error_response(const al_error *err) {
  json_t *e = err_json(err);
  return e ? json_pack("{s:o}", "error", e) : NULL;
}

int wk_response_result(const json_t *resp, const json_t **value, al_error *err) {
  if (value) *value = NULL;
  if (!resp) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory"); /* no answer could be made */
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

static json_t *error_response(int code, const char *fmt, const char *a) {
  al_error e = {0};
  err_set(&e, code, NULL, fmt, a);
  return respond(code, NULL, &e, NULL);
}

/* ---- asynchronous hostcalls: from the VM to the sink --------------------------------- */

static int table_send(void *user, const char *instance_id, const char *method, json_t *args,
                      uint32_t timeout_ms, uint64_t *id, al_error *err) {
  wk_table *t = user;
  wk_inst *in = wk_inst_get(t, instance_id);
  if (!t->sink.send || !in) {
    json_decref(args);
    return err_set(err, AL_ECAPABILITY_DENIED, NULL, "this host offers no services");
  }
  char key[24];
  uint64_t n = t->next_call++;
  snprintf(key, sizeof key, "%llu", (unsigned long long)n);
  if (json_object_set_new(t->calls, key, json_string(in->id))) {
    json_decref(args);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  int rc = t->sink.send(t->sink.user, n, in->ticket, in->id, method, args, timeout_ms, err);
  if (rc) {
    json_object_del(t->calls, key);
    return rc;
  }
  *id = n;
  return 0;
}

static int table_call(void *user, const char *instance_id, const char *method, const json_t *args,
                      uint32_t timeout_ms, const hostcall_hold *hold, json_t **result, al_error *err) {
  wk_table *t = user;
  if (!t->sink.call) return err_set(err, AL_ECAPABILITY_DENIED, NULL, "this host offers no services");
  return t->sink.call(t->sink.user, instance_id, method, args, timeout_ms, hold, result, err);
}

/* ---- requests ------------------------------------------------------------------------- */

static json_t *exec_load(wk_table *t, const json_t *req, al_error *err) {
  const char *id = str(req, "instanceId");
  const json_t *code = json_object_get(req, "code");
  /* an ES module plugin comes as its module map instead (pkg/modgraph.h) */
  const json_t *mods = json_object_get(req, "modules");
  if (!id || (!json_is_string(code) && !json_is_object(mods)) || strlen(id) >= sizeof ((wk_inst *)0)->id) {
    err_set(err, AL_EINVALID_ARGUMENT, NULL, "load needs instanceId and code or modules");
    return respond(AL_EINVALID_ARGUMENT, NULL, err, NULL);
  }
  if (wk_inst_get(t, id)) {
    err_set(err, AL_EINSTANCE_EXISTS, NULL, "an instance with id '%s' already exists", id);
    return respond(AL_EINSTANCE_EXISTS, NULL, err, NULL);
  }
  wk_inst *in = calloc(1, sizeof *in);
  if (!in) {
    err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    return respond(AL_ENO_MEMORY, NULL, err, NULL);
  }
  snprintf(in->id, sizeof in->id, "%s", id);
  const json_t *lim = json_object_get(req, "limits");
  al_limits dl = AL_LIMITS_DEFAULT;
  vm_config vc = {.limits = {.memory_bytes = num(lim, "memoryBytes", dl.memory_bytes),
                             .stack_bytes = num(lim, "stackBytes", dl.stack_bytes),
                             .load_ms = (uint32_t)num(lim, "loadMs", dl.load_ms),
                             .render_ms = (uint32_t)num(lim, "renderMs", dl.render_ms),
                             .event_ms = (uint32_t)num(lim, "eventMs", dl.event_ms)},
                  .alloc = t->alloc, .alloc_ud = t->alloc_ud,
                  .max_value_bytes = num(req, "maxValueBytes", 16u << 20),
                  .max_tree_bytes = num(req, "maxTreeBytes", (1u << 20) + 1024),
                  .hostcall = table_call, .send = table_send, .hostcall_user = t, .instance_id = id};
  vm_instance *vm = wk_take_spare(t, &vc);
  int rc = vm ? 0 : vm_new(&vc, &vm, err);
  if (rc) {
    free(in);
    return respond(rc, NULL, err, NULL);
  }
  in->vm = vm;
  /* Registered before the code runs: its asynchronous hostcalls find it by id. */
  if (idmap_put(&t->vms, id, in, NULL)) {
    wk_inst_free(in);
    err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    return respond(AL_ENO_MEMORY, NULL, err, NULL);
  }
  json_t *meta = NULL;
  const json_t *pi = json_object_get(req, "pi");
  json_t *dflt = pi ? NULL : json_pack("{s:s}", "id", id);
  rc = vm_install_pi(vm, pi ? pi : dflt, err);
  json_decref(dflt);
  if (!rc && json_is_object(mods))
    rc = vm_load_module(vm, mods, &meta, err);
  else if (!rc)
    rc = vm_load(vm, json_string_value(code), json_string_length(code), str(req, "sourceName"), &meta, err);
  json_t *resp = respond(rc, meta, err, vm);
  json_t *hooks = !rc && resp ? vm_hooks(vm) : NULL;
  if (!rc && resp && (!hooks || json_object_set_new(resp, "hooks", hooks))) {
    /* a load without its subscriptions would leave the plugin's hooks unheard */
    json_decref(resp);
    resp = error_response(AL_ENO_MEMORY, "%s", "out of memory");
    rc = AL_ENO_MEMORY;
  }
  /* a pi extension's registrations (the pi profile), which the host vets */
  json_t *reg = !rc && resp ? vm_pi_registry(vm) : NULL;
  if (reg && json_object_set_new(resp, "pi", reg)) {
    json_decref(resp);
    resp = error_response(AL_ENO_MEMORY, "%s", "out of memory");
    rc = AL_ENO_MEMORY;
  }
  if (rc || !resp) {
    idmap_del(&t->vms, id);
    wk_inst_free(in);
  }
  return resp;
}

/* A render whose tree is the one the host says it holds (its hash in `treeHash`, see the
 * tree cache in host/calls.c) is answered "unchanged" instead: the host then neither
 * receives nor validates it again. The hash is of the tree's canonical text (json_text),
 * the text the host hashed when it kept its copy. */
static bool tree_unchanged(const json_t *req, const json_t *tree) {
  const json_t *h = json_object_get(req, "treeHash");
  if (!json_is_integer(h)) return false;
  char *text = json_text(tree);
  bool same = text && (json_int_t)al_hash64(text, strlen(text), AL_HASH64_SEED) == json_integer_value(h);
  free(text);
  return same;
}

/* Finishes a call-type request from its VM result (rc 0 with `out` stolen, or err). */
static json_t *finish_call(wk_inst *in, const json_t *req, int rc, json_t *out, const al_error *err) {
  if (!rc && in->op == WK_OP_RENDER && tree_unchanged(req, out)) {
    json_decref(out);
    json_t *r = respond(0, NULL, err, in->vm);
    if (r) json_object_set_new(r, "unchanged", json_true());
    return r;
  }
  if (!rc && in->op == WK_OP_REDUCE) {
    /* no next: the reducer returned undefined and the state stays (vm.h) */
    out = out ? json_pack("{s:b,s:o}", "handled", 1, "next", out) : json_pack("{s:b}", "handled", 1);
    if (!out) return error_response(AL_ENO_MEMORY, "%s", "out of memory"); /* not {ok: null} */
  } else if (!rc && in->op == WK_OP_HOOK) {
    json_t *hooks = vm_hooks(in->vm);
    if (!hooks) json_decref(out);
    out = hooks ? json_pack("{s:o,s:o}", "results", out ? out : json_array(), "hooks", hooks) : NULL;
    if (!out) return error_response(AL_ENO_MEMORY, "%s", "out of memory"); /* not {ok: null} */
  }
  return respond(rc, out, err, in->vm);
}

/* A render's or event's state input, as the request states it (vm.h's resident state):
 * `<ver>` the host's version, the value whole under `<full>`, or a delta under
 * <pre>Base/<pre>Set/<pre>Del. A request without a version (an older host, a test) is an
 * uncached call: its value is used for that call only. */
static vm_state_msg state_msg(const json_t *req, const char *ver, const char *full,
                              const char *pre) {
  char k[32];
  vm_state_msg m = {0};
  const json_t *v = json_object_get(req, ver);
  m.version = json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
  m.full = json_object_get(req, full);
  snprintf(k, sizeof k, "%sSet", pre);
  const json_t *set = json_object_get(req, k);
  if (!m.full && m.version && json_is_object(set)) {
    snprintf(k, sizeof k, "%sBase", pre);
    v = json_object_get(req, k);
    m.base = json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
    m.set = set;
    snprintf(k, sizeof k, "%sDel", pre);
    m.del = json_object_get(req, k);
  } else if (!m.full && !m.version) {
    m.full = json_null(); /* absent and uncached: undefined as before is null here */
  }
  return m;
}

/* Starts a call-type request on `in`. Returns its response (NULL: no memory to make one)
 * with *parked false, or NULL with *parked true when it parked. Not NULL alone: a call
 * taken for parked that was not would never be answered. */
static json_t *start_call(wk_table *t, wk_inst *in, uint64_t ticket, const json_t *req, wk_op op,
                          bool *parked) {
  *parked = false;
  al_error err = {0};
  json_t *out = NULL;
  vm_instance *vm = in->vm;
  int rc;
  in->op = op;
  in->ticket = ticket;
  if (t->sink.slice) t->sink.slice(t->sink.user, ticket, t->busy);
  const char *w = str(req, "widgetId") ? str(req, "widgetId") : "";
  if (op == WK_OP_RENDER || op == WK_OP_EVENT) {
    vm_state_msg ps = state_msg(req, "stateVersion", "pluginState", "state");
    vm_state_msg gs = state_msg(req, "globalVersion", "globalState", "global");
    if (op == WK_OP_RENDER)
      rc = vm_render(vm, w, &ps, &gs, &out, &err);
    else
      rc = vm_event(vm, w, str(req, "handler") ? str(req, "handler") : "", json_object_get(req, "args"),
                    &ps, &gs, &out, &err);
    if (rc == VM_STALE) { /* ran nothing: the host resends the state whole */
      in->ticket = 0;
      json_t *r = respond(rc, NULL, &err, vm);
      if (r) json_object_set_new(r, "stale", json_true());
      return r;
    }
  } else if (op == WK_OP_REDUCE) {
    bool handled = false;
    const json_t *payload = json_object_get(req, "payload");
    vm_state_msg ps = state_msg(req, "stateVersion", "pluginState", "state");
    rc = vm_reduce(vm, str(req, "actionType") ? str(req, "actionType") : "", &ps,
                   payload ? payload : json_null(), vm_event_deadline(vm), &out, &handled, &err);
    if (rc == VM_STALE) {
      in->ticket = 0;
      json_t *r = respond(rc, NULL, &err, vm);
      if (r) json_object_set_new(r, "stale", json_true());
      return r;
    }
    if (!rc && !handled) {
      in->ticket = 0;
      return respond(0, json_pack("{s:b}", "handled", 0), &err, vm);
    }
  } else if (op == WK_OP_HOOK) {
    const json_t *payload = json_object_get(req, "payload");
    rc = vm_hook(vm, str(req, "event") ? str(req, "event") : "", payload ? payload : json_null(),
                 (uint32_t)num(req, "timeoutMs", 5000), &out, &err);
  } else {
    const json_t *args = json_object_get(req, "args");
    rc = vm_tool(vm, str(req, "name") ? str(req, "name") : "", args ? args : json_null(),
                 (uint32_t)num(req, "timeoutMs", 5000), &out, &err);
  }
  if (rc == VM_PARKED) {
    *parked = true;
    return NULL;
  }
  in->ticket = 0;
  return finish_call(in, req, rc, out, &err);
}


static void emit_done(wk_table *t, uint64_t ticket, json_t *resp) {
  if (!resp) resp = error_response(AL_ENO_MEMORY, "%s", "out of memory in the worker");
  t->busy--;
  if (t->exec_ticket && ticket == t->exec_ticket) {
    json_decref(t->exec_resp);
    t->exec_resp = resp;
  } else if (t->sink.done) {
    t->sink.done(t->sink.user, ticket, resp);
  } else {
    json_decref(resp);
  }
}

/* Runs one request that found its instance (if any) idle. Returns the response (NULL: no
 * memory for one, which emit_done answers), or with *kept set NULL when the call parked
 * or was answered here (then `req` is kept or consumed). Consumes `req` otherwise. */
static json_t *run_request(wk_table *t, uint64_t ticket, json_t *req, bool *kept) {
  *kept = false;
  al_error err = {0};
  const char *op = str(req, "op");
  wk_op kind = wk_op_parse(op);
  if (!op) return error_response(AL_EINVALID_ARGUMENT, "%s", "request has no op");
  if (kind == WK_OP_NONE || kind == WK_OP_CRASH) /* a crash is the worker process's own */
    return error_response(AL_EINVALID_ARGUMENT, "unknown op '%.40s'", op);
  if (kind == WK_OP_LOAD) return exec_load(t, req, &err);
  if (kind == WK_OP_STALL) {
    /* Host-only diagnostic: blocks this worker without polling any deadline, the way a
     * builtin that never checks the interrupt handler would. Exercises the watchdog. */
    json_int_t ms = json_integer_value(json_object_get(req, "ms"));
    if (t->sink.slice) t->sink.slice(t->sink.user, ticket, t->busy);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0) {}
    return respond(0, json_pack("{s:I}", "stalledMs", ms), &err, NULL);
  }
  if (kind == WK_OP_HEALTH) {
    json_t *ids = json_array();
    size_t pos = 0;
    const char *k;
    void *v;
    while (idmap_next(&t->vms, &pos, &k, &v)) json_array_append_new(ids, json_string(k));
    return respond(0, json_pack("{s:b,s:o}", "ready", 1, "instances", ids), &err, NULL);
  }
  const char *id = str(req, "instanceId");
  wk_inst *in = wk_inst_get(t, id);
  if (kind == WK_OP_SWAP) {
    /* Hot reload's second half: the VM loaded under the temporary id `from` takes over
     * `instanceId`, and the old VM is freed. Run in queue order, so every call made
     * after the host accepted the new code reaches the new VM. */
    const char *from = str(req, "from");
    wk_inst *nin = wk_inst_get(t, from);
    if (!id || !nin || nin->ticket) {
      err_set(&err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", from ? from : "(none)");
      return respond(err.code, NULL, &err, NULL);
    }
    vm_instance *nvm = nin->vm;
    nin->vm = NULL;
    idmap_del(&t->vms, from);
    wk_inst_free(nin);
    if (in) {
      vm_free(in->vm);
      in->vm = nvm;
    } else if (!(in = calloc(1, sizeof *in)) || idmap_put(&t->vms, id, in, NULL)) {
      free(in);
      vm_free(nvm);
      err_set(&err, AL_ENO_MEMORY, NULL, "out of memory");
      return respond(err.code, NULL, &err, NULL);
    } else {
      snprintf(in->id, sizeof in->id, "%s", id);
      in->vm = nvm;
    }
    vm_set_instance_id(nvm, id); /* its hostcalls now speak for the instance */
    return respond(0, json_pack("{s:b}", "swapped", 1), &err, nvm);
  }
  if (!in) {
    err_set(&err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", id ? id : "(none)");
    return respond(err.code, NULL, &err, NULL);
  }
  if (kind == WK_OP_DISPOSE) {
    idmap_del(&t->vms, in->id);
    json_t *r = respond(0, json_pack("{s:b}", "disposed", 1), &err, NULL);
    /* The host sends nothing for an instance after its dispose; should anything be
     * queued behind it all the same, it is answered, never left waiting. */
    wk_qreq *q = in->head;
    in->head = in->tail = NULL;
    wk_inst_free(in);
    emit_done(t, ticket, r);
    while (q) {
      wk_qreq *nx = q->next;
      json_decref(q->req);
      emit_done(t, q->ticket, error_response(AL_EINSTANCE_NOT_FOUND, "Instance not found: %s", "(disposed)"));
      free(q);
      q = nx;
    }
    *kept = true; /* answered here */
    json_decref(req);
    return NULL;
  }
  bool parked;
  json_t *resp = start_call(t, in, ticket, req, kind, &parked);
  if (parked) {
    int64_t w = vm_wake_ms(in->vm);
    in->wake_at = w >= 0 ? clock_mono_ns() + (uint64_t)w * 1000000u : UINT64_MAX;
    in->req = req;
    in->parked = true;
    in->next_parked = t->parked;
    t->parked = in;
    *kept = true;
  }
  return resp;
}

static void unpark(wk_table *t, wk_inst *in) {
  for (wk_inst **pp = &t->parked; *pp; pp = &(*pp)->next_parked)
    if (*pp == in) {
      *pp = in->next_parked;
      break;
    }
  in->parked = false;
  in->next_parked = NULL;
}

/* Pops the first request waiting on instance `id` (which may be gone by now: a callback
 * or a dispose can have removed it). False when there is none. */
static bool take_queued(wk_table *t, const char *id, uint64_t *ticket, json_t **req) {
  wk_inst *in = wk_inst_get(t, id);
  if (!in || !in->head) return false;
  wk_qreq *q = in->head;
  in->head = q->next;
  if (!in->head) in->tail = NULL;
  *ticket = q->ticket;
  *req = q->req;
  free(q);
  return true;
}

/* Runs `ticket`'s request, then whatever waits behind it on the same instance, until
 * one parks or the queue is empty. */
static void run_from(wk_table *t, uint64_t ticket, json_t *req) {
  for (;;) {
    const char *id = str(req, "instanceId");
    char idc[sizeof ((wk_inst *)0)->id];
    snprintf(idc, sizeof idc, "%s", id ? id : "");
    bool kept;
    json_t *resp = run_request(t, ticket, req, &kept);
    if (kept) return;
    json_decref(req);
    emit_done(t, ticket, resp);
    if (!take_queued(t, idc, &ticket, &req)) return;
  }
}

static void mark_busy(wk_table *t, bool on) {
  if (!on) atomic_store(&t->last_exec_ns, clock_mono_ns());
  atomic_store(&t->busy_flag, on);
}

void wk_submit(wk_table *t, uint64_t ticket, json_t *req) {
  mark_busy(t, true);
  t->busy++;
  wk_inst *in = wk_inst_get(t, str(req, "instanceId"));
  /* A swap waits for the instance it replaces, as every other call to it does. */
  if (in && (in->ticket || in->head) && wk_op_parse(str(req, "op")) != WK_OP_LOAD) {
    wk_qreq *q = malloc(sizeof *q);
    if (!q) {
      json_decref(req);
      emit_done(t, ticket, error_response(AL_ENO_MEMORY, "%s", "out of memory queueing a call"));
      return;
    }
    *q = (wk_qreq){ticket, req, NULL};
    if (in->tail) in->tail->next = q;
    else in->head = q;
    in->tail = q;
    mark_busy(t, false);
    return;
  }
  run_from(t, ticket, req);
  mark_busy(t, false);
}

/* Runs a parked call on; when it finishes, the requests behind it. */
static void resume(wk_table *t, wk_inst *in) {
  if (t->sink.slice) t->sink.slice(t->sink.user, in->ticket, t->busy);
  json_t *out = NULL;
  al_error err = {0};
  int rc = vm_resume(in->vm, &out, &err);
  if (rc == VM_PARKED) {
    int64_t w = vm_wake_ms(in->vm);
    in->wake_at = w >= 0 ? clock_mono_ns() + (uint64_t)w * 1000000u : UINT64_MAX;
    return;
  }
  unpark(t, in);
  uint64_t ticket = in->ticket;
  json_t *req = in->req;
  in->req = NULL;
  in->ticket = 0;
  json_t *resp = finish_call(in, req, rc, out, &err);
  json_decref(req);
  char idc[sizeof in->id];
  memcpy(idc, in->id, sizeof idc);
  emit_done(t, ticket, resp);
  if (take_queued(t, idc, &ticket, &req)) run_from(t, ticket, req);
}

static wk_inst *call_owner(wk_table *t, uint64_t id, bool forget) {
  char key[24];
  snprintf(key, sizeof key, "%llu", (unsigned long long)id);
  wk_inst *in = wk_inst_get(t, json_string_value(json_object_get(t->calls, key)));
  if (forget) json_object_del(t->calls, key);
  return in;
}

void wk_deliver(wk_table *t, uint64_t id, json_t *reply) {
  wk_inst *in = call_owner(t, id, true);
  if (in) {
    const json_t *v = NULL;
    al_error e = {0};
    int rc = wk_response_result(reply, &v, &e);
    if (vm_deliver(in->vm, id, rc, v, &e) && in->parked) resume(t, in);
  }
  json_decref(reply);
}

void wk_hold(wk_table *t, uint64_t id, uint32_t ms) {
  wk_inst *in = call_owner(t, id, false);
  if (in && in->parked) vm_hold(in->vm, ms);
}

int64_t wk_poll(wk_table *t) {
  for (;;) {
    int64_t next = -1;
    uint64_t now = clock_mono_ns();
    wk_inst *due = NULL;
    for (wk_inst *in = t->parked; in && !due; in = in->next_parked) {
      uint64_t at = vm_deadline(in->vm);
      if (in->wake_at < at) at = in->wake_at;
      if (now >= at) due = in; /* a timer is due, or the deadline passed (VM_TIMEOUT) */
      int64_t ms = now >= at ? 0 : (int64_t)((at - now + 999999u) / 1000000u);
      if (next < 0 || ms < next) next = ms;
    }
    if (!due) return next;
    resume(t, due); /* may unpark it and run others: look again from the start */
  }
}

json_t *wk_exec(wk_table *t, const json_t *req) {
  json_t *r = json_deep_copy(req);
  if (!r) return NULL;
  uint64_t ticket = UINT64_MAX - 1;
  t->exec_ticket = ticket;
  wk_submit(t, ticket, r);
  while (!t->exec_resp) {
    int64_t ms = wk_poll(t);
    if (t->exec_resp) break;
    if (ms < 0) break; /* nothing will ever wake it: cannot happen for a parked call */
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
  }
  t->exec_ticket = 0;
  json_t *resp = t->exec_resp;
  t->exec_resp = NULL;
  return resp;
}

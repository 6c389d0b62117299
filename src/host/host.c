/*
 * host.c: the al_host object tying the pieces together (host_impl.h says how, and which
 * file does what): its configuration, creating and freeing it, the helpers every file of
 * src/host/ uses, the calls' telemetry, change notifications and their subscribers, and
 * what the host says about its instances (al_plugin_info, al_instances, al_health,
 * al_debug).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_impl.h"
#include "worker/exec.h"

void al_config_init(al_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->limits = (al_limits)AL_LIMITS_DEFAULT;
  cfg->budgets = (al_budgets){.max_depth = 64, .max_nodes = 10000, .max_bytes = 1u << 20};
  cfg->timeline_capacity = 200;
  cfg->telemetry_capacity = 1000;
  cfg->isolation = AL_ISOLATION_PROCESS; /* safe by default: see airlock.h */
  cfg->queue_capacity = 256;
  cfg->watchdog_grace_ms = 50;
}

void host_limits_fill(al_limits *l, const al_limits *dflt) {
  if (!l->memory_bytes) l->memory_bytes = dflt->memory_bytes;
  if (!l->stack_bytes) l->stack_bytes = dflt->stack_bytes;
  if (!l->load_ms) l->load_ms = dflt->load_ms;
  if (!l->render_ms) l->render_ms = dflt->render_ms;
  if (!l->event_ms) l->event_ms = dflt->event_ms;
  if (!l->state_bytes) l->state_bytes = dflt->state_bytes ? dflt->state_bytes : l->memory_bytes;
}

int al_host_new(const al_config *cfg, al_host **out, al_error *err) {
  if (!out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "out must not be NULL");
  *out = NULL;
  al_config d;
  al_config_init(&d);
  al_host *h = calloc(1, sizeof *h);
  if (!h) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory creating a host");
  h->cfg = cfg ? *cfg : d;
  host_limits_fill(&h->cfg.limits, &d.limits);
  if (!h->cfg.budgets.max_depth) h->cfg.budgets.max_depth = d.budgets.max_depth;
  if (!h->cfg.budgets.max_nodes) h->cfg.budgets.max_nodes = d.budgets.max_nodes;
  if (!h->cfg.budgets.max_bytes) h->cfg.budgets.max_bytes = d.budgets.max_bytes;
  if (!h->cfg.timeline_capacity) h->cfg.timeline_capacity = d.timeline_capacity;
  if (!h->cfg.telemetry_capacity) h->cfg.telemetry_capacity = d.telemetry_capacity;
  h->next_sub = 1;
  h->store = store_new(h->cfg.timeline_capacity);
  h->telemetry = calloc(h->cfg.telemetry_capacity, sizeof *h->telemetry);
  int rc = 0;
  if (!h->cfg.watchdog_grace_ms) h->cfg.watchdog_grace_ms = d.watchdog_grace_ms;
  if (!h->store || !h->telemetry) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory creating a host");
  else if (h->cfg.isolation != AL_ISOLATION_THREAD && h->cfg.isolation != AL_ISOLATION_INLINE &&
           h->cfg.isolation != AL_ISOLATION_PROCESS)
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "unknown isolation %d", (int)h->cfg.isolation);
  if (!rc) {
    hc_config hcc = {.home = h->cfg.home, .policy_json = h->cfg.policy_json,
                     .audit_capacity = h->cfg.audit_capacity, .audit_path = h->cfg.audit_path,
                     .approve = h->cfg.approve, .approve_user = h->cfg.approve_user,
                     .ask = h->cfg.ask, .ask_user = h->cfg.ask_user,
                     .log = h->cfg.log, .log_user = h->cfg.log_user};
    rc = hc_new(&hcc, &h->hc, err);
  }
  if (!rc && !(h->events = ev_registry_new()))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory creating a host");
  if (!rc) rc = ev_agent_profile(h->events, err);
  if (!rc) {
    static const pool_kind kinds[] = {[AL_ISOLATION_THREAD] = POOL_THREAD,
                                      [AL_ISOLATION_INLINE] = POOL_INLINE,
                                      [AL_ISOLATION_PROCESS] = POOL_PROCESS};
    pool_config pc = {.kind = kinds[h->cfg.isolation], .workers = h->cfg.workers,
                      .queue_capacity = h->cfg.queue_capacity,
                      .grace_ms = h->cfg.watchdog_grace_ms, .alloc = h->cfg.alloc,
                      .alloc_ud = h->cfg.alloc_ud, .worker_path = h->cfg.worker_path,
                      /* A backstop under the per-instance heap limits, which QuickJS
                       * enforces: room for many instances, not for runaway native code. */
                      .address_space_bytes = (size_t)4 << 30,
                      .max_workers = h->cfg.max_workers,
                      .hostcall = hc_call, .hostcall_user = h->hc, .breach = hc_breach};
    rc = pool_new(&pc, &h->pool, err);
  }
  if (rc) {
    al_host_free(h);
    return rc;
  }
  *out = h;
  return 0;
}

void al_host_free(al_host *h) {
  if (!h) return;
  /* The pool owns every VM: stopping it disposes them all, whatever is pending. It goes
   * first, so no hostcall can reach the services below once they are freed; questions
   * still waiting for a person are denied before, as the pool waits for its hostcalls. */
  hc_close_questions(h->hc);
  pool_free(h->pool);
  hc_free(h->hc);
  ev_registry_free(h->events);
  ev_snapshot_free(atomic_load(&h->snap));
  json_decref(h->event_names);
  json_decref(h->pi_ctx);
  for (size_t b = 0; b < h->pending_cap; b++)
    for (host_pending *pd = h->pending[b], *nx; pd; pd = nx) {
      nx = pd->next;
      host_load_free(pd->load);
      host_call_free(pd->call);
      free(pd);
    }
  free(h->pending);
  while (h->first) host_inst_free(h, h->first);
  store_free(h->store);
  for (size_t i = 0; i < h->nsubs; i++)
    if (h->subs[i].finalizer) h->subs[i].finalizer(h->subs[i].user);
  free(h->subs);
  free(h->telemetry);
  free(h);
}

/* ---- helpers -------------------------------------------------------------------------- */

int host_out_json(json_t *v, char **out, al_error *err) {
  if (!out) {
    json_decref(v);
    return 0;
  }
  *out = v ? json_text(v) : NULL;
  json_decref(v);
  return *out ? 0 : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
}

int host_parse_arg(const char *text, const char *what, json_t **out, al_error *err) {
  json_error_t je;
  *out = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
  if (!*out && json_error_oom(&je)) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!*out)
    return err_set(err, AL_EINVALID_ARGUMENT, what, "%s is not valid JSON: %s (line %d, column %d)",
                   what, je.text, je.line, je.column);
  return 0;
}

host_inst *host_inst_get(const al_host *h, const char *id) {
  store_instance *rec = id ? store_find(h->store, id) : NULL;
  return rec ? rec->owner : NULL;
}

host_inst *host_find(al_host *h, const char *id, al_error *err) {
  if (!h) { /* the API's NULL host, said like every other bad argument */
    err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
    return NULL;
  }
  host_inst *inst = host_inst_get(h, id);
  if (!inst) {
    err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", id ? id : "(null)");
    err_instance(err, id);
  }
  return inst;
}

host_inst *host_inst_new(al_host *h, store_instance *rec, const al_limits *lim, int worker,
                         const json_t *pi) {
  host_inst *inst = calloc(1, sizeof *inst);
  const char *pid = json_string_value(json_object_get(pi, "id"));
  const char *ver = json_string_value(json_object_get(pi, "version"));
  if (!inst || !(inst->plugin_id = strdup(pid ? pid : rec->id)) ||
      !(inst->version = strdup(ver ? ver : "0.0.0")) || !(inst->hooks = json_object())) {
    if (inst) {
      free(inst->plugin_id);
      free(inst->version);
    }
    free(inst);
    return NULL;
  }
  inst->rec = rec;
  inst->id = rec->id;
  inst->lim = *lim;
  inst->worker = worker;
  inst->prev = h->last;
  if (h->last) h->last->next = inst;
  else h->first = inst;
  h->last = inst;
  rec->owner = inst;
  return inst;
}

void host_inst_free(al_host *h, host_inst *inst) {
  if (!inst) return;
  if (inst->prev) inst->prev->next = inst->next;
  else h->first = inst->next;
  if (inst->next) inst->next->prev = inst->prev;
  else h->last = inst->prev;
  for (host_call *c = inst->waiting, *nx; c; c = nx) {
    nx = c->next;
    h->nwaiting--;
    host_call_free(c);
  }
  for (host_tree *t = inst->trees, *nx; t; t = nx) {
    nx = t->next;
    free(t);
  }
  inst->rec->owner = NULL;
  free(inst->plugin_id);
  free(inst->version);
  json_decref(inst->hooks);
  json_decref(inst->pi);
  free(inst);
}

/* Records one call's telemetry from the worker's stats; returns the call's result code
 * with *value borrowed from resp. Also keeps the instance's last known heap size. */
int host_call_result(al_host *h, host_inst *inst, const char *id, const char *op,
                     uint64_t start_ms, const json_t *resp, const json_t **value, al_error *err) {
  int rc = wk_response_result(resp, value, err);
  const json_t *st = json_object_get(resp, "stats");
  json_int_t mem = json_integer_value(json_object_get(st, "memoryBytes"));
  if (inst && mem > 0) inst->memory_bytes = (size_t)mem;
  host_tm *t = &h->telemetry[h->tm_head];
  snprintf(t->instance_id, sizeof t->instance_id, "%s", id);
  t->op = op;
  t->outcome = rc ? al_err_name(rc) : "OK";
  t->start_ms = start_ms;
  t->elapsed_us = json_integer_value(json_object_get(st, "elapsedUs"));
  t->interrupted = json_is_true(json_object_get(st, "interrupted"));
  t->unchanged = json_is_true(json_object_get(resp, "unchanged"));
  t->memory_bytes = mem;
  h->tm_head = (h->tm_head + 1) % h->cfg.telemetry_capacity;
  if (h->tm_len < h->cfg.telemetry_capacity) h->tm_len++;
  return rc;
}

/* Turns recorded changes into one notification. */
void host_notify(al_host *h, const char *cause, const char *origin, store_changes *ch) {
  if (!h->nsubs || store_changes_empty(ch)) return;
  json_t *ids = store_affected(h->store, ch);
  size_t ni = json_array_size(ids), nd = json_object_size(ch->domains);
  const char **iv = calloc(ni + 1, sizeof *iv);
  const char **dv = calloc(nd + 1, sizeof *dv);
  if (iv && dv) {
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) iv[i] = json_string_value(v);
    const char *k;
    i = 0;
    json_object_foreach(ch->domains, k, v) dv[i++] = k;
    al_change c = {cause, origin, iv, ni, dv, nd};
    for (size_t s = 0; s < h->nsubs; s++) h->subs[s].fn(h->subs[s].user, &c);
  }
  free(iv);
  free(dv);
  json_decref(ids);
}

/* ---- telemetry ------------------------------------------------------------------------ */

int al_telemetry(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *a = json_array();
  uint32_t cap = h->cfg.telemetry_capacity;
  for (uint32_t i = 0; a && i < h->tm_len; i++) {
    const host_tm *t = &h->telemetry[(h->tm_head + cap - h->tm_len + i) % cap];
    json_t *r = json_pack("{s:s,s:s,s:I,s:I,s:s,s:b,s:I}", "instanceId", t->instance_id, "op",
                          t->op, "start", (json_int_t)t->start_ms, "elapsedUs", t->elapsed_us,
                          "outcome", t->outcome, "interrupted", t->interrupted, "memoryBytes",
                          t->memory_bytes);
    if (r && !strcmp(t->op, "render") && json_object_set_new(r, "unchanged", json_boolean(t->unchanged))) {
      json_decref(r);
      r = NULL;
    }
    if (!r || json_array_append_new(a, r)) {
      json_decref(a);
      a = NULL;
    }
  }
  if (!a) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  return host_out_json(a, json_out, err);
}

static int tm_by_instance(const void *a, const void *b) {
  const host_tm *x = *(const host_tm *const *)a, *y = *(const host_tm *const *)b;
  int c = strcmp(x->instance_id, y->instance_id);
  return c ? c : (x->elapsed_us > y->elapsed_us) - (x->elapsed_us < y->elapsed_us);
}

static int tm_by_elapsed(const void *a, const void *b) {
  const host_tm *x = *(const host_tm *const *)a, *y = *(const host_tm *const *)b;
  return (x->elapsed_us > y->elapsed_us) - (x->elapsed_us < y->elapsed_us);
}

/* {calls, p50Us, p99Us, timeouts, crashes} of n records sorted by elapsed time; the
 * percentiles by nearest rank, 0 when there are none. */
static json_t *tm_stats(host_tm *const *v, size_t n) {
  json_int_t timeouts = 0, crashes = 0;
  for (size_t i = 0; i < n; i++) {
    if (!strcmp(v[i]->outcome, "VM_TIMEOUT")) timeouts++;
    if (!strcmp(v[i]->outcome, "PLUGIN_CRASHED")) crashes++;
  }
  size_t k50 = (n * 50 + 99) / 100, k99 = (n * 99 + 99) / 100;
  return json_pack("{s:I,s:I,s:I,s:I,s:I}", "calls", (json_int_t)n, "p50Us",
                   n ? v[k50 ? k50 - 1 : 0]->elapsed_us : 0, "p99Us",
                   n ? v[k99 ? k99 - 1 : 0]->elapsed_us : 0, "timeouts", timeouts, "crashes",
                   crashes);
}

int al_telemetry_summary(al_host *h, char **json_out, al_error *err) {
  if (json_out) *json_out = NULL;
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  /* Sorted pointers into the ring: no record is copied or turned into JSON. */
  host_tm **v = malloc((h->tm_len ? h->tm_len : 1) * sizeof *v);
  json_t *out = NULL, *per = json_object();
  if (!v || !per) goto done;
  for (uint32_t i = 0; i < h->tm_len; i++) v[i] = &h->telemetry[i];
  qsort(v, h->tm_len, sizeof *v, tm_by_instance);
  for (size_t i = 0, j; i < h->tm_len; i = j) {
    for (j = i + 1; j < h->tm_len && !strcmp(v[j]->instance_id, v[i]->instance_id); j++) {}
    if (json_object_set_new(per, v[i]->instance_id, tm_stats(v + i, j - i))) goto done;
  }
  qsort(v, h->tm_len, sizeof *v, tm_by_elapsed);
  out = tm_stats(v, h->tm_len);
  if (out && json_object_set(out, "instances", per)) {
    json_decref(out);
    out = NULL;
  }
done:
  free(v);
  json_decref(per);
  if (!out) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  return host_out_json(out, json_out, err);
}

/* ---- subscriptions -------------------------------------------------------------------- */

int al_subscribe(al_host *h, al_change_fn fn, void *user, void (*finalizer)(void *)) {
  if (!h || !fn) return AL_EINVALID_ARGUMENT;
  host_sub *ns = realloc(h->subs, (h->nsubs + 1) * sizeof *ns);
  if (!ns) return AL_ENO_MEMORY;
  h->subs = ns;
  h->subs[h->nsubs++] = (host_sub){h->next_sub, fn, user, finalizer};
  return h->next_sub++;
}

int al_unsubscribe(al_host *h, int id) {
  if (!h) return AL_EINVALID_ARGUMENT;
  for (size_t i = 0; i < h->nsubs; i++) {
    if (h->subs[i].id == id) {
      host_sub s = h->subs[i];
      memmove(&h->subs[i], &h->subs[i + 1], (h->nsubs - i - 1) * sizeof *h->subs);
      h->nsubs--;
      if (s.finalizer) s.finalizer(s.user);
      return 0;
    }
  }
  return AL_EINVALID_ARGUMENT;
}

/* ---- instances ------------------------------------------------------------------------ */

int al_plugin_info(al_host *h, const char *instance_id, char **json_out, al_error *err) {
  if (json_out) *json_out = NULL;
  host_inst *inst = host_find(h, instance_id, err);
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  return host_out_json(json_deep_copy(inst->rec->record), json_out, err);
}

int al_instances(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *list = json_array();
  for (const host_inst *inst = h->first; inst; inst = inst->next)
    json_array_append_new(list, json_string(inst->id));
  return host_out_json(list, json_out, err);
}

int al_health(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *list = json_array();
  for (const host_inst *inst = h->first; inst; inst = inst->next) {
    json_array_append_new(list, json_pack("{s:s,s:s,s:O,s:I,s:i}", "instanceId", inst->id,
                                          "packageId", inst->rec->package_id, "status",
                                          json_object_get(inst->rec->record, "status"), "memoryBytes",
                                          (json_int_t)inst->memory_bytes, "worker", inst->worker));
  }
  pool_stats ps;
  pool_get_stats(h->pool, &ps);
  return host_out_json(json_pack("{s:b,s:I,s:I,s:{s:I,s:I,s:I},s:o}", "ready", 1, "workers",
                                 (json_int_t)pool_workers(h->pool), "lanes", (json_int_t)ps.lanes,
                                 "workerEvents", "starts",
                                 (json_int_t)ps.starts, "crashes", (json_int_t)ps.crashes,
                                 "watchdogKills", (json_int_t)ps.watchdog_kills, "instances", list),
                       json_out, err);
}

int al_debug(al_host *h, const char *instance_id, const char *what, unsigned arg, al_error *err) {
  if (!h || !what) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_debug needs a host and what");
  host_inst *inst = host_find(h, instance_id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  json_t *req;
  const char *op; /* a literal: telemetry keeps the pointer past this call, never the caller's */
  if (!strcmp(what, "crash")) {
    op = "crash";
    if (h->cfg.isolation != AL_ISOLATION_PROCESS)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "a crash is only contained with process isolation");
    req = json_pack("{s:s,s:s,s:s}", "op", "crash", "instanceId", inst->id, "signal", "SIGSEGV");
  } else if (!strcmp(what, "stall")) {
    op = "stall";
    req = json_pack("{s:s,s:s,s:I}", "op", "stall", "instanceId", inst->id, "ms", (json_int_t)arg);
  } else {
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "unknown diagnostic '%.40s'", what);
  }
  json_t *resp = NULL;
  uint64_t start = clock_wall_ms();
  int rc = pool_call(h->pool, inst->worker, req, inst->lim.event_ms, &resp, err);
  if (!rc) rc = host_call_result(h, inst, inst->id, op, start, resp, NULL, err);
  json_decref(resp);
  if (rc == AL_ECRASHED || rc == AL_ETIMEOUT) host_hooks_note_workers(h);
  if (rc) err_instance(err, inst->id);
  return rc;
}

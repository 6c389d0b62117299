/*
 * host.c: the al_host object tying the pieces together.
 *
 * Every public call follows one path: arguments are checked here, the request goes to
 * the instance's worker (pool.c, which runs it in that instance's VM), what comes back is
 * validated (validate.c), the store applies it (store.c), and the changes it recorded
 * become one notification to subscribers. Nothing else mutates host state, and only the
 * host thread touches the store: workers see requests and return responses, nothing more.
 *
 * Synchronous calls submit and wait; asynchronous ones keep a pending record keyed by the
 * pool's ticket and finish in al_host_dispatch() through the same *_finish functions.
 *
 * Renders and events of one instance run one at a time, and each request is built when it
 * is sent, so it carries the state after every earlier call's intents were applied (Redux
 * semantics: fifty queued clicks count to fifty). An asynchronous call made while the
 * instance has one in flight waits in the instance's `waiting` list and is sent when the
 * one before it has finished; a synchronous call first lets those finish (running their
 * callbacks, as al_host_dispatch would).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/validate.h"
#include "hooks/emit.h"
#include "hooks/events.h"
#include "hooks/hostcall.h"
#include "pkg/db.h"
#include "pkg/manifest.h"
#include "pkg/preflight.h"
#include "store/ids.h"
#include "store/profile.h"
#include "store/store.h"
#include "worker/exec.h"
#include "worker/pool.h"

#define AL_MAX_VALUE_BYTES ((size_t)16 << 20)

typedef struct host_sub {
  int id;
  al_change_fn fn;
  void *user;
  void (*finalizer)(void *);
} host_sub;

/* HOST_DROP: a request the host sends for its own bookkeeping (disposing a VM it refused,
 * a hot reload's swap) whose answer nobody waits for. */
typedef enum host_op { HOST_RENDER, HOST_EVENT, HOST_LOAD, HOST_RELOAD, HOST_DROP } host_op;

/* A load or hot reload between its request and its answer: what finishing it needs. A
 * reload loads the new code under a temporary id (`vm_id`) on the instance's worker, so
 * the old VM keeps serving until the host has accepted the new one. */
typedef struct host_load {
  char id[AL_INSTANCE_ID_MAX];
  char vm_id[AL_INSTANCE_ID_MAX + 24];
  char *package_id;
  json_t *grants; /* load only */
  json_t *caps;   /* load only: the manifest's capabilities (NULL: no manifest) */
  json_t *pi;     /* what the VM's `pi` is told: {id, version, events} */
  al_limits lim;
  int worker;
  bool reload;
} host_load;

/* One call's telemetry, kept as plain fields: recording one is on every call's path, so
 * the JSON is built only when al_telemetry asks. `op` and `outcome` are static strings. */
typedef struct host_tm {
  char instance_id[AL_INSTANCE_ID_MAX];
  const char *op, *outcome;
  uint64_t start_ms;
  json_int_t elapsed_us, memory_bytes;
  bool interrupted;
  bool unchanged; /* a render answered from the tree cache */
} host_tm;

/* An asynchronous render or event waiting for its instance's call in flight to finish. */
typedef struct host_call {
  int op; /* HOST_RENDER, HOST_EVENT */
  char *widget, *handler;
  json_t *args;
  al_result_fn cb;
  void *user;
  bool resent; /* sent again once after a stale answer (see call_request) */
  struct host_call *next;
} host_call;

static void host_call_free(host_call *c);
static void vm_cache_forget(store_instance *inst);
static store_tree *tree_find(const store_instance *inst, const char *widget);
static void host_call_drop(al_host *h, store_instance *inst);
static int host_call_settle(al_host *h, const char *id, store_instance **out, al_error *err);

/* An async call waiting for its answer. */
typedef struct host_pending {
  uint64_t ticket;
  host_op op;
  char instance_id[AL_INSTANCE_ID_MAX];
  uint64_t start_ms;
  al_result_fn cb;
  void *user;
  host_load *load; /* HOST_LOAD, HOST_RELOAD */
  struct host_call *call; /* HOST_RENDER, HOST_EVENT: the call, to resend if stale */
  struct host_pending *next;
} host_pending;

struct al_host {
  al_config cfg;
  store *store;
  pool *pool;
  host_pending *pending;
  size_t npending;
  size_t nwaiting; /* host_calls waiting behind their instance's call in flight */
  host_sub *subs;
  size_t nsubs;
  int next_sub;
  host_tm *telemetry; /* ring */
  uint32_t tm_head, tm_len;
  /* hooks (see the "hooks" section at the end of this file) */
  hc_services *hc;
  ev_registry *events;
  _Atomic(ev_snapshot *) snap;
  json_t *hooked; /* [{instanceId, pluginId, version, worker, hooks}] in load order */
  json_t *event_names; /* the declared events, shared by every pi record; NULL: stale */
  unsigned seen_crashes, seen_kills; /* worker events already in the audit trail */
  uint64_t reload_seq; /* makes reloads' temporary VM ids unique */
  /* Applying an event's intents (host_plugin_reduce): a wall-clock backstop the host
   * keeps itself (0: not applying), and whether one of its reducers already ran out of
   * time, after which the rest do not run. */
  uint64_t reduce_until_ms;
  bool reduce_stalled;
};

static void load_free(host_load *ld) {
  if (!ld) return;
  free(ld->package_id);
  json_decref(ld->grants);
  json_decref(ld->caps);
  json_decref(ld->pi);
  free(ld);
}

void al_config_init(al_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->limits = (al_limits)AL_LIMITS_DEFAULT;
  cfg->budgets = (al_budgets){.max_depth = 64, .max_nodes = 10000, .max_bytes = 1u << 20};
  cfg->profile = AL_PROFILE_BARE;
  cfg->timeline_capacity = 200;
  cfg->telemetry_capacity = 1000;
  cfg->isolation = AL_ISOLATION_PROCESS; /* safe by default: see airlock.h */
  cfg->queue_capacity = 256;
  cfg->watchdog_grace_ms = 50;
}

static void limits_fill(al_limits *l, const al_limits *dflt) {
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
  limits_fill(&h->cfg.limits, &d.limits);
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
  if (!rc && (!(h->events = ev_registry_new()) || !(h->hooked = json_array())))
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
  if (!rc && h->cfg.profile == AL_PROFILE_WORKBENCH) rc = profile_workbench(h->store, err);
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
  json_decref(h->hooked);
  json_decref(h->event_names);
  for (host_pending *pd = h->pending; pd;) {
    host_pending *nx = pd->next;
    load_free(pd->load);
    host_call_free(pd->call);
    free(pd);
    pd = nx;
  }
  for (size_t i = 0; i < store_count(h->store); i++) /* never sent: nobody is told */
    for (host_call *c = store_at(h->store, i)->waiting, *nx; c; c = nx) {
      nx = c->next;
      host_call_free(c);
    }
  store_free(h->store);
  for (size_t i = 0; i < h->nsubs; i++)
    if (h->subs[i].finalizer) h->subs[i].finalizer(h->subs[i].user);
  free(h->subs);
  free(h->telemetry);
  free(h);
}

/* ---- helpers -------------------------------------------------------------------------- */

static int out_json(json_t *v, char **out, al_error *err) {
  if (!out) {
    json_decref(v);
    return 0;
  }
  *out = v ? json_text(v) : NULL;
  json_decref(v);
  return *out ? 0 : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
}

static int parse_arg(const char *text, const char *what, json_t **out, al_error *err) {
  json_error_t je;
  *out = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
  if (!*out)
    return err_set(err, AL_EINVALID_ARGUMENT, what, "%s is not valid JSON: %s (line %d, column %d)",
                   what, je.text, je.line, je.column);
  return 0;
}

static store_instance *find(al_host *h, const char *id, al_error *err) {
  store_instance *inst = id ? store_find(h->store, id) : NULL;
  if (!inst) {
    err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", id ? id : "(null)");
    err_instance(err, id);
  }
  return inst;
}

/* Records one call's telemetry from the worker's stats; returns the call's result code
 * with *value borrowed from resp. Also keeps the instance's last known heap size. */
static int call_result(al_host *h, store_instance *inst, const char *id, const char *op,
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
static void notify(al_host *h, const char *cause, const char *origin, store_changes *ch) {
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

/* ---- instances ------------------------------------------------------------------------ */

static json_t *limits_json(const al_limits *l) {
  return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "memoryBytes", (json_int_t)l->memory_bytes,
                   "stackBytes", (json_int_t)l->stack_bytes, "loadMs", (json_int_t)l->load_ms,
                   "renderMs", (json_int_t)l->render_ms, "eventMs", (json_int_t)l->event_ms,
                   "stateBytes", (json_int_t)l->state_bytes);
}

/* The limits an instance was loaded with, for its calls' watchdog deadlines. */
static uint32_t inst_timeout(const store_instance *inst, const char *key) {
  json_t *l = json_object_get(inst->record, "limits");
  return (uint32_t)json_integer_value(json_object_get(l, key));
}

/* Hooks side of a load, reload and unload (defined in the hooks section at the end). */
static int hooks_prepare(al_host *h, const char *id, const char *package_id, const char *code,
                         size_t len, const al_load_opts *o, json_t **grants, json_t **caps,
                         al_limits *lim, json_t **pi, al_error *err);
static void hooks_loaded(al_host *h, const char *id, const json_t *pi, int worker,
                         const json_t *resp);
static int hooks_vet(al_host *h, int worker, const char *id, const json_t *hooks,
                     const char *event, size_t results, al_error *err);
static json_t *hooks_pi(al_host *h, const char *id);
static void hooks_reloaded(al_host *h, const char *id, const char *vm_id, const json_t *resp);
static void hooks_unloaded(al_host *h, const char *id);
static void hooks_note_workers(al_host *h);

/* Whether `id` names an instance or one whose async load is in flight. */
static bool id_taken(const al_host *h, const char *id) {
  if (store_find(h->store, id)) return true;
  for (const host_pending *pd = h->pending; pd; pd = pd->next)
    if (pd->op == HOST_LOAD && strcmp(pd->instance_id, id) == 0) return true;
  return false;
}

/* The worker request that evaluates `code` as `vm_id` under `lim`, with the `pi` record
 * (borrowed) its VM installs. */
static json_t *load_request(const al_host *h, const char *vm_id, const char *code, size_t len,
                            const char *source_name, const al_limits *lim, const json_t *pi,
                            al_error *err) {
  /* The source travels as JSON text to the worker, so it must be UTF-8. */
  json_t *src = json_stringn(code ? code : "", len);
  if (!src) {
    err_set(err, AL_EPLUGIN_LOAD, NULL, "plugin source is not valid UTF-8");
    return NULL;
  }
  json_t *req = json_pack("{s:s,s:s,s:o,s:s,s:o,s:I,s:I}", "op", "load", "instanceId", vm_id,
                          "code", src, "sourceName", source_name ? source_name : "<plugin>",
                          "limits", limits_json(lim), "maxValueBytes",
                          (json_int_t)AL_MAX_VALUE_BYTES, "maxTreeBytes",
                          (json_int_t)(h->cfg.budgets.max_bytes + 1024));
  if (req && pi && json_object_set(req, "pi", (json_t *)pi)) {
    json_decref(req);
    req = NULL;
  }
  if (!req) err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  return req;
}

/* Checks a load's arguments, picks its id and grants, and builds its request. On success
 * *ld_out is owned by the caller (load_free) and *req is a new reference. */
static int load_prepare(al_host *h, const char *package_id, const char *code, size_t len,
                        const al_load_opts *opts, char *id_out, size_t id_cap,
                        host_load **ld_out, json_t **req, al_error *err) {
  *ld_out = NULL;
  *req = NULL;
  if (!h || !package_id || !*package_id || (!code && len))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_load needs a host, a package id and code");
  if (hc_disabled(h->hc))
    return err_set(err, AL_EPLUGINS_DISABLED, NULL, "plugins are disabled (AIRLOCK_DISABLE_PLUGINS)");
  if (strchr(package_id, '@') || strlen(package_id) > AL_INSTANCE_ID_MAX - 10)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "package id '%.80s' must be at most %d characters without '@'", package_id,
                   AL_INSTANCE_ID_MAX - 10);
  al_load_opts o = {0};
  if (opts) o = *opts;
  host_load *ld = calloc(1, sizeof *ld);
  if (!ld || !(ld->package_id = strdup(package_id))) {
    free(ld);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  int rc = 0;
  if (o.instance_id) {
    if (strlen(o.instance_id) >= sizeof ld->id || !*o.instance_id) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "instance id must be 1 to %d characters",
                   AL_INSTANCE_ID_MAX - 1);
      goto fail;
    }
    if (strchr(o.instance_id, '#')) {
      /* '#' is the reload staging ids' ("<id>#reload<n>"): an instance named like one
       * would share its hostcall record with another instance's reload. */
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "instance id '%s' must not contain '#'",
                   o.instance_id);
      goto fail;
    }
    if (id_taken(h, o.instance_id)) {
      rc = err_set(err, AL_EINSTANCE_EXISTS, NULL, "an instance with id '%s' already exists",
                   o.instance_id);
      err_instance(err, o.instance_id);
      goto fail;
    }
    memcpy(ld->id, o.instance_id, strlen(o.instance_id) + 1);
  } else {
    do id_instance(package_id, ld->id, sizeof ld->id);
    while (id_taken(h, ld->id));
  }
  if (id_out && id_cap < strlen(ld->id) + 1) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "id_out is too small for '%s'", ld->id);
    goto fail;
  }
  memcpy(ld->vm_id, ld->id, strlen(ld->id) + 1);
  if (o.limits) ld->lim = *o.limits;
  /* A manifest brings its own grants and may tighten the limits; preflight runs here. */
  if ((rc = hooks_prepare(h, ld->id, package_id, code, len, &o, &ld->grants, &ld->caps, &ld->lim,
                          &ld->pi, err)))
    goto fail;
  if (ld->grants) {
    /* the manifest's shared grants */
  } else if (o.grants_json) {
    if ((rc = parse_arg(o.grants_json, "grants", &ld->grants, err))) goto fail;
    if ((rc = ui_validate_grants(ld->grants, err))) goto fail;
  } else if (!(ld->grants = store_default_grants(h->store, package_id))) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto fail;
  }
  limits_fill(&ld->lim, &h->cfg.limits);
  if (!(*req = load_request(h, ld->vm_id, code, len, o.source_name, &ld->lim, ld->pi, err))) {
    rc = err ? err->code : AL_EPLUGIN_LOAD;
    goto fail;
  }
  if (id_out) memcpy(id_out, ld->id, strlen(ld->id) + 1);
  *ld_out = ld;
  return 0;
fail:
  if (rc != AL_EINSTANCE_EXISTS) {
    err_instance(err, ld->id[0] ? ld->id : NULL);
    if (ld->id[0]) hc_plugin_remove(h->hc, ld->id);
  }
  load_free(ld);
  return rc;
}

/* Same for a hot reload of `instance_id`: a new VM on the instance's own worker, under a
 * temporary id, with the limits the instance was loaded with. The new VM acts for the
 * instance towards the host's services (hc_plugin_stage) until it replaces the old one. */
static int reload_prepare(al_host *h, const char *instance_id, const char *code, size_t len,
                          const al_load_opts *opts, host_load **ld_out, json_t **req,
                          al_error *err) {
  *ld_out = NULL;
  *req = NULL;
  if (!h || (!code && len))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_reload needs a host and code");
  store_instance *inst = find(h, instance_id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  host_load *ld = calloc(1, sizeof *ld);
  if (!ld || !(ld->package_id = strdup(inst->package_id))) {
    free(ld);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  ld->reload = true;
  ld->worker = inst->worker;
  memcpy(ld->id, inst->id, strlen(inst->id) + 1);
  /* '#' cannot start a generated id, and the sequence keeps two reloads in flight apart. */
  snprintf(ld->vm_id, sizeof ld->vm_id, "%s#reload%llu", inst->id,
           (unsigned long long)++h->reload_seq);
  json_t *l = json_object_get(inst->record, "limits");
  ld->lim = (al_limits){.memory_bytes = (size_t)json_integer_value(json_object_get(l, "memoryBytes")),
                        .stack_bytes = (size_t)json_integer_value(json_object_get(l, "stackBytes")),
                        .load_ms = inst_timeout(inst, "loadMs"),
                        .render_ms = inst_timeout(inst, "renderMs"),
                        .event_ms = inst_timeout(inst, "eventMs"),
                        .state_bytes = (size_t)json_integer_value(json_object_get(l, "stateBytes"))};
  limits_fill(&ld->lim, &h->cfg.limits);
  ld->pi = hooks_pi(h, inst->id);
  int rc = hc_plugin_stage(h->hc, ld->vm_id, inst->id, err);
  if (!rc && !(*req = load_request(h, ld->vm_id, code, len, opts ? opts->source_name : NULL,
                                   &ld->lim, ld->pi, err)))
    rc = err ? err->code : AL_EPLUGIN_LOAD;
  if (rc) {
    hc_plugin_remove(h->hc, ld->vm_id);
    err_instance(err, inst->id);
    load_free(ld);
    return rc;
  }
  *ld_out = ld;
  return 0;
}

/* Sends a bookkeeping request to `worker`: waits for it when the caller is synchronous;
 * otherwise queues it and lets al_host_dispatch() drop the answer, so the host thread
 * never waits behind plugin code. Returns 0 or the submit error. */
static int host_send(al_host *h, int worker, json_t *req, bool async, al_error *err) {
  if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!async) {
    json_t *resp = NULL;
    int rc = pool_call(h->pool, worker, req, 1000, &resp, err);
    if (!rc) rc = wk_response_result(resp, NULL, err);
    json_decref(resp);
    return rc;
  }
  host_pending *pd = calloc(1, sizeof *pd);
  if (!pd) {
    json_decref(req);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  pd->op = HOST_DROP;
  int rc = pool_submit(h->pool, worker, req, 1000, true, &pd->ticket, err);
  if (rc) {
    free(pd);
    return rc;
  }
  pd->next = h->pending;
  h->pending = pd;
  h->npending++;
  return 0;
}

/* Finishes a load or reload from the worker's answer (NULL when the call itself failed,
 * with `call_rc`): validates the metadata and adds the instance, or, for a reload, swaps
 * the new VM in and updates the record. A failure leaves no trace: a refused VM is
 * disposed and a reloaded instance keeps its old code. *record_out (may be NULL) gets
 * the instance's record. */
static int load_finish(al_host *h, host_load *ld, int call_rc, uint64_t start, const json_t *resp,
                       bool async, char **record_out, al_error *err) {
  json_t *meta = NULL;
  const json_t *m = NULL;
  store_changes ch = {0};
  store_instance *inst = ld->reload ? store_find(h->store, ld->id) : NULL;
  int rc = call_rc;
  if (!rc) rc = call_result(h, inst, ld->id, ld->reload ? "reload" : "load", start, resp, &m, err);
  if (!rc) rc = hooks_vet(h, ld->worker, ld->vm_id, json_object_get(resp, "hooks"), NULL, 0, err);
  if (!rc && !(meta = json_deep_copy(m))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc) rc = ui_validate_metadata(meta, err);
  if (!rc && (rc = store_changes_init(&ch))) err_set(err, rc, NULL, "out of memory");
  if (!rc && ld->reload && !inst) /* unloaded while its new code was loading */
    rc = err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", ld->id);
  if (!rc && ld->reload) {
    /* Queued behind every call already made to the instance and ahead of every later
     * one, so calls see either the old code or the new, never a mix. */
    rc = host_send(h, ld->worker,
                   json_pack("{s:s,s:s,s:s}", "op", "swap", "instanceId", ld->id, "from", ld->vm_id),
                   async, err);
    if (!rc && (rc = store_replace_meta(h->store, inst, meta, &ch)))
      err_set(err, rc, NULL, "out of memory");
    if (!rc) vm_cache_forget(inst); /* calls after the swap reach a VM that holds nothing */
  } else if (!rc) {
    rc = store_add(h->store, ld->id, ld->package_id, meta, ld->grants, &inst, &ch, err);
    if (!rc) {
      inst->worker = ld->worker;
      inst->state_limit = ld->lim.state_bytes; /* its state is the plugin's, kept here */
      json_object_set_new(inst->record, "limits", limits_json(&ld->lim));
    }
  }
  if (!rc) {
    inst->memory_bytes = (size_t)json_integer_value(
        json_object_get(json_object_get(resp, "stats"), "memoryBytes"));
    if (ld->reload) hooks_reloaded(h, ld->id, ld->vm_id, resp);
    else hooks_loaded(h, ld->id, ld->pi, ld->worker, resp);
    notify(h, ld->reload ? "reload" : "load", ld->id, &ch);
    if (record_out) rc = al_plugin_info(h, ld->id, record_out, err);
  } else {
    /* The worker may hold a VM for a load the host refused (bad metadata): drop it. */
    if (resp && !json_object_get(resp, "error"))
      host_send(h, ld->worker, json_pack("{s:s,s:s}", "op", "dispose", "instanceId", ld->vm_id),
                async, NULL);
    if (!ld->reload) pool_release(h->pool, ld->worker);
    hc_plugin_remove(h->hc, ld->vm_id);
    err_instance(err, ld->id);
  }
  store_changes_clear(&ch);
  json_decref(meta);
  return rc;
}

/* The synchronous half shared by al_load and al_reload: runs `req` (stolen) on ld's
 * worker, finishes, frees ld. */
static int load_run(al_host *h, host_load *ld, json_t *req, al_error *err) {
  json_t *resp = NULL;
  uint64_t start = clock_wall_ms();
  int rc = pool_call(h->pool, ld->worker, req, ld->lim.load_ms, &resp, err);
  rc = load_finish(h, ld, rc, start, resp, false, NULL, err);
  json_decref(resp);
  load_free(ld);
  return rc;
}

/* Picks the new instance's worker by its trust identity: the package, the manifest's
 * capabilities and the grants, as one canonical JSON text compared whole (a hash could be
 * made to collide by a package that wants a neighbour). Worker processes host one
 * identity each (pool.h); a failure undoes the load's hostcall record. */
static int load_place(al_host *h, host_load *ld, al_error *err) {
  json_t *who = json_pack("{s:s,s:O?,s:O?}", "package", ld->package_id, "capabilities", ld->caps,
                          "grants", ld->grants);
  char *trust = who ? json_dumps(who, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
  json_decref(who);
  int rc = trust ? pool_assign(h->pool, trust, &ld->worker, err) : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  free(trust);
  if (rc) {
    hc_plugin_remove(h->hc, ld->vm_id);
    err_instance(err, ld->id);
  }
  return rc;
}

int al_load(al_host *h, const char *package_id, const char *code, size_t len,
            const al_load_opts *opts, char *id_out, size_t id_cap, al_error *err) {
  host_load *ld;
  json_t *req;
  int rc = load_prepare(h, package_id, code, len, opts, id_out, id_cap, &ld, &req, err);
  if (!rc && (rc = load_place(h, ld, err))) {
    json_decref(req);
    load_free(ld);
  }
  if (rc) return rc;
  return load_run(h, ld, req, err);
}

int al_reload(al_host *h, const char *instance_id, const char *code, size_t len,
              const al_load_opts *opts, al_error *err) {
  host_load *ld;
  json_t *req;
  int rc = reload_prepare(h, instance_id, code, len, opts, &ld, &req, err);
  if (rc) return rc;
  return load_run(h, ld, req, err);
}

int al_unload(al_host *h, const char *instance_id, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  store_instance *inst = find(h, instance_id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  store_changes ch;
  if (store_changes_init(&ch)) {
    store_changes_clear(&ch);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  host_call_drop(h, inst);
  /* Host state goes first: whatever the worker answers, the instance is gone. */
  json_t *req = json_pack("{s:s,s:s}", "op", "dispose", "instanceId", instance_id);
  int worker = -1;
  int rc = store_remove(h->store, instance_id, &worker, &ch, err);
  if (!rc) {
    hooks_unloaded(h, instance_id);
    json_t *resp = NULL;
    if (!pool_call(h->pool, worker, req, 1000, &resp, NULL)) json_decref(resp);
    req = NULL;
    pool_release(h->pool, worker);
    notify(h, "unload", NULL, &ch);
  }
  json_decref(req);
  store_changes_clear(&ch);
  return rc;
}

static int submit_async(al_host *h, int worker, const char *id, host_op op, json_t *req,
                        uint32_t timeout, al_result_fn cb, void *user, host_load *ld,
                        struct host_call *call, al_error *err);

int al_unload_async(al_host *h, const char *instance_id, al_result_fn cb, void *user,
                    al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  store_instance *inst = find(h, instance_id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  char id[AL_INSTANCE_ID_MAX];
  memcpy(id, inst->id, strlen(inst->id) + 1);
  store_changes ch;
  if (store_changes_init(&ch)) {
    store_changes_clear(&ch);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  host_call_drop(h, inst);
  int worker = -1;
  int rc = store_remove(h->store, id, &worker, &ch, err);
  if (!rc) {
    /* As in al_unload, host state goes first; the VM is freed when the worker reaches the
     * dispose, behind whatever the instance was still running. */
    /* A full queue (BUSY) leaves the VM to pool_free(), as al_unload's ignored answer
     * does; the instance is gone for the host either way. */
    hooks_unloaded(h, id);
    submit_async(h, worker, id, HOST_DROP,
                 json_pack("{s:s,s:s}", "op", "dispose", "instanceId", id), 1000, cb, user, NULL,
                 NULL, NULL);
    pool_release(h->pool, worker);
    notify(h, "unload", NULL, &ch);
  }
  store_changes_clear(&ch);
  return rc;
}

int al_plugin_info(al_host *h, const char *instance_id, char **json_out, al_error *err) {
  if (json_out) *json_out = NULL;
  store_instance *inst = h ? find(h, instance_id, err) : NULL;
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *rec = json_deep_copy(inst->record);
  json_object_del(rec, "limits"); /* host bookkeeping, not part of the contract's record */
  return out_json(rec, json_out, err);
}

/* ---- resident state -------------------------------------------------------------------
 * A VM keeps the last state and globalState it was sent (vm.h). The host remembers which
 * versions it sent last (store_instance.vm_*_version) and sends, per input, nothing when
 * the VM holds the current version, the store's last delta when the VM holds its base,
 * and the value whole otherwise. What the host remembers is a belief, not a fact: a call
 * may not have reached the VM, the worker may have restarted (its VMs then hold
 * nothing). So any failed call forgets it, and a VM that does not hold what a request
 * assumes answers "stale" without running anything; the host then forgets and sends the
 * call once more with every value whole, which a VM can always take. The VM's copy is
 * never read back: the host's state stays the only truth. */

static void vm_cache_forget(store_instance *inst) {
  inst->vm_state_version = inst->vm_global_version = 0;
  inst->vm_warm = false;
}

static bool resp_stale(const json_t *resp) { return json_is_true(json_object_get(resp, "stale")); }

/* Adds the pluginState part of a request to `req`: its version and nothing, the store's
 * last delta, or the state whole, and takes note of what the VM will hold. Nonzero when
 * out of memory (the note then says nothing). */
static int state_fields(store_instance *inst, json_t *req) {
  uint64_t sv = inst->vm_warm ? inst->state_version : 0;
  int bad = json_object_set_new(req, "stateVersion", json_integer((json_int_t)sv));
  if (!bad && (!sv || inst->vm_state_version != sv)) {
    if (inst->vm_state_version && inst->delta_set && inst->delta_base == inst->vm_state_version)
      bad = json_object_set_new(req, "stateBase", json_integer((json_int_t)inst->delta_base)) ||
            json_object_set(req, "stateSet", inst->delta_set) ||
            json_object_set(req, "stateDel", inst->delta_del);
    else
      bad = json_object_set_new(req, "pluginState", store_plugin_state(inst));
  }
  inst->vm_state_version = bad ? 0 : sv;
  return bad;
}

/* Builds a render or event request for the instance's current state (see above). `args`
 * is borrowed. */
static json_t *call_request(al_host *h, store_instance *inst, const char *op, const char *widget_id,
                            const char *handler, json_t *args) {
  /* The first call after a VM started (or was forgotten) sends its state untagged (version
   * 0: the VM keeps no copy), so an instance rendered once and then left idle holds no
   * resident copy (BENCHMARKS.md, memory per idle instance); the next call tags it. */
  uint64_t gv = inst->vm_warm ? store_global_version(h->store, inst) : 0;
  json_t *req = json_pack("{s:s,s:s,s:s,s:I}", "op", op, "instanceId", inst->id, "widgetId",
                          widget_id, "globalVersion", (json_int_t)gv);
  int bad = !req || state_fields(inst, req);
  if (!bad && (!gv || inst->vm_global_version != gv))
    bad = json_object_set_new(req, "globalState", store_global_state(h->store, inst));
  const store_tree *t = handler ? NULL : tree_find(inst, widget_id);
  if (!bad && t && t->has_text) bad = json_object_set_new(req, "treeHash", json_integer((json_int_t)t->hash));
  if (!bad && handler) bad = json_object_set_new(req, "handler", json_string(handler));
  if (!bad && args) bad = json_object_set(req, "args", args);
  if (bad) {
    json_decref(req);
    vm_cache_forget(inst);
    return NULL;
  }
  inst->vm_global_version = gv;
  inst->vm_warm = true;
  return req;
}

/* A synchronous render or event round trip: resends once, whole, after a stale answer.
 * *inst is looked up again (a hostcall answered meanwhile may have unloaded it). */
static int call_sync(al_host *h, store_instance **inst, const char *op, const char *widget_id,
                     const char *handler, json_t *args, uint32_t timeout, json_t **resp,
                     al_error *err) {
  char id[AL_INSTANCE_ID_MAX];
  snprintf(id, sizeof id, "%s", (*inst)->id);
  int rc = 0;
  *resp = NULL;
  for (int attempt = 0; attempt < 2; attempt++) {
    json_t *req = call_request(h, *inst, op, widget_id, handler, args);
    if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    rc = pool_call(h->pool, (*inst)->worker, req, timeout, resp, err);
    if (!(*inst = store_find(h->store, id))) break;
    if (rc || json_object_get(*resp, "error")) vm_cache_forget(*inst);
    if (rc || !resp_stale(*resp) || attempt) break;
    json_decref(*resp);
    *resp = NULL;
  }
  return rc;
}

/* ---- the tree cache ---------------------------------------------------------------------
 * The host keeps each widget's last validated tree: its hash, and its text once a render
 * repeated it (tree_keep). A render request names the hash of a kept text (treeHash); a
 * worker whose new tree has that hash answers "unchanged" and the host answers with its
 * copy, with no tree sent, parsed or validated again. The claim is
 * checked against what the host holds; a worker can at most make its own instance show
 * the tree it showed before (hash.c: the hash is not collision resistant, and need not
 * be for that). */

static store_tree *tree_find(const store_instance *inst, const char *widget) {
  for (store_tree *t = inst->trees; t; t = t->next)
    if (strcmp(t->data, widget) == 0) return t;
  return NULL;
}

static const char *tree_text(const store_tree *t) { return t->data + strlen(t->data) + 1; }

/* Notes `text` as the widget's last tree: its hash at first, the text too once a render
 * repeats it. A tree rendered once (an instance left idle) costs no copy; a stable one is
 * answered from the copy from its third render on. A failed allocation only loses the
 * shortcut. */
static void tree_keep(store_instance *inst, const char *widget, const char *text, size_t len) {
  uint64_t hash = al_hash64(text, len, AL_HASH64_SEED);
  store_tree **pp = &inst->trees;
  while (*pp && strcmp((*pp)->data, widget) != 0) pp = &(*pp)->next;
  store_tree *old = *pp;
  if (old && old->hash == hash && old->has_text) return;
  bool stable = old && old->hash == hash;
  size_t wl = strlen(widget);
  store_tree *t = malloc(sizeof *t + wl + 1 + (stable ? len + 1 : 0));
  if (old) *pp = old->next;
  free(old);
  if (!t) return;
  t->hash = hash;
  t->len = stable ? len : 0;
  t->has_text = stable;
  memcpy(t->data, widget, wl + 1);
  if (stable) memcpy(t->data + wl + 1, text, len + 1);
  t->next = inst->trees;
  inst->trees = t;
}

/* Finishes a render: validates the tree, records the instance's status, serializes. */
static int render_finish(al_host *h, const char *id, const char *widget, uint64_t start,
                         const json_t *resp, char **tree_out, al_error *err) {
  store_instance *inst = store_find(h->store, id);
  const json_t *tree = NULL;
  int rc = call_result(h, inst, id, "render", start, resp, &tree, err);
  if (!inst) return err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", id);
  char *text = NULL;
  if (!rc && json_is_true(json_object_get(resp, "unchanged"))) {
    const store_tree *t = tree_find(inst, widget);
    if (!t || !t->has_text) rc = err_set(err, AL_EINTERNAL, NULL, "the worker claimed an unchanged tree for widget '%s', which the host does not hold", widget);
    else if (!(text = malloc(t->len + 1))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    else memcpy(text, tree_text(t), t->len + 1);
  } else if (!rc && !(rc = ui_validate_tree(tree, &h->cfg.budgets, err))) {
    text = json_text(tree);
    size_t len = text ? strlen(text) : 0;
    if (!text) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    else if (len > h->cfg.budgets.max_bytes)
      rc = err_set(err, AL_ECONTRACT, "root", "root serializes to %zu bytes, over the %zu-byte budget",
                   len, h->cfg.budgets.max_bytes);
    else tree_keep(inst, widget, text, len);
  }
  /* The store records render failures as the instance's status (the original never did).
   * A success on an instance that is not in error changes nothing: skip the bookkeeping
   * (it is on every render's path). */
  const char *status = json_string_value(json_object_get(inst->record, "status"));
  bool status_may_change = rc || (status && strcmp(status, "error") == 0);
  store_changes ch = {0};
  if (rc != AL_EWIDGET_NOT_FOUND && status_may_change && !store_changes_init(&ch)) {
    char msg[sizeof err->message + 40];
    if (rc) snprintf(msg, sizeof msg, "%s: %s", al_err_name(rc), err ? err->message : "");
    store_set_status(h->store, inst, rc ? msg : NULL, &ch);
    notify(h, "status", inst->id, &ch);
  }
  store_changes_clear(&ch);
  if (rc) err_instance(err, id);
  if (!rc && tree_out) {
    *tree_out = text;
    text = NULL;
  }
  free(text);
  return rc;
}

int al_render(al_host *h, const char *instance_id, const char *widget_id, char **tree_out,
              al_error *err) {
  if (tree_out) *tree_out = NULL;
  if (!h || !widget_id) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_render needs a host and a widget id");
  store_instance *inst;
  int src = host_call_settle(h, instance_id, &inst, err);
  if (src) return src;
  json_t *resp = NULL;
  char id[AL_INSTANCE_ID_MAX];
  snprintf(id, sizeof id, "%s", inst->id);
  uint64_t start = clock_wall_ms();
  int rc = call_sync(h, &inst, "render", widget_id, NULL, NULL, inst_timeout(inst, "renderMs"),
                     &resp, err);
  if (!rc) rc = render_finish(h, id, widget_id, start, resp, tree_out, err);
  else err_instance(err, id);
  json_decref(resp);
  return rc;
}

/* store_plugin_reduce_fn: plugin-declared reducers run in the instance's own VM, under the
 * deadline of the event that dispatched the intent. The host thread waits for them: a
 * reducer is part of applying the event. */
static int host_plugin_reduce(void *user, store_instance *inst, const char *action,
                              const json_t *state, const json_t *payload, json_t **next,
                              bool *handled, al_error *err) {
  al_host *h = user;
  *next = NULL;
  *handled = false;
  int rc = 0;
  json_t *resp = NULL;
  /* The store hands over the instance's current state, which the VM usually holds
   * already (it just ran the event): the request names its version (see call_request).
   * Anything else would be a store change this cache does not know: sent whole. */
  bool cached = inst->state ? state == inst->state : json_object_size(state) == 0;
  uint32_t ms = inst_timeout(inst, "eventMs");
  if (h->reduce_until_ms) {
    uint64_t now = clock_wall_ms();
    if (h->reduce_stalled)
      return err_set(err, AL_ETIMEOUT, NULL, "an earlier reducer of this event ran out of time; this one did not run");
    if (now >= h->reduce_until_ms)
      return err_set(err, AL_ETIMEOUT, NULL, "the event's intents took too long to apply; this one's reducer did not run");
    if (h->reduce_until_ms - now < ms) ms = (uint32_t)(h->reduce_until_ms - now);
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    json_t *req = json_pack("{s:s,s:s,s:s,s:O}", "op", "reduce", "instanceId", inst->id,
                            "actionType", action, "payload", payload);
    if (req && !cached) {
      if (json_object_set(req, "pluginState", (json_t *)state)) json_decref(req), req = NULL;
    } else if (req && state_fields(inst, req)) {
      json_decref(req);
      req = NULL;
    }
    if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    rc = pool_call(h->pool, inst->worker, req, ms, &resp, err);
    if (h->reduce_until_ms && (rc == AL_ETIMEOUT || rc == AL_ECRASHED || (!rc && wk_response_result(resp, NULL, NULL) == AL_ETIMEOUT)))
      h->reduce_stalled = true;
    if (rc || json_object_get(resp, "error")) vm_cache_forget(inst);
    if (rc || !resp_stale(resp) || attempt) break;
    json_decref(resp);
    resp = NULL;
  }
  const json_t *v = NULL;
  if (!rc) rc = call_result(h, inst, inst->id, "reduce", clock_wall_ms(), resp, &v, err);
  if (!rc && json_is_true(json_object_get(v, "handled"))) {
    *handled = true;
    const json_t *nx = json_object_get(v, "next");
    /* no next: the reducer returned undefined, the state stays */
    *next = nx ? json_deep_copy(nx) : json_incref((json_t *)state);
    if (!*next) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  json_decref(resp);
  return rc;
}

/* Finishes an event: validates the intents, stamps them, applies them through the store. */
static int event_finish(al_host *h, const char *id, uint64_t start, const json_t *resp,
                        char **result_out, al_error *err) {
  store_instance *inst = store_find(h->store, id);
  const json_t *got = NULL;
  int rc = call_result(h, inst, id, "event", start, resp, &got, err);
  if (!inst) return err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", id);
  json_t *intents = NULL, *actions = NULL;
  if (!rc) rc = ui_validate_intents(got, err);
  if (!rc && !(intents = json_deep_copy(got))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc) {
    /* The host stamps every intent with the caller: a plugin can only address its own
     * local state. */
    size_t i;
    json_t *it;
    json_array_foreach(intents, i, it) json_object_set_new(it, "instanceId", json_string(inst->id));
    store_changes ch;
    if ((rc = store_changes_init(&ch))) {
      err_set(err, rc, NULL, "out of memory");
    } else {
      /* Applying the intents is charged to the event (host_plugin_reduce): each
       * plugin reducer runs under the event's deadline, but once one runs out of time
       * the rest of this event's do not run (1,000 stalling reducers would otherwise
       * hold the host for 1,000 deadlines), and the host's own clock ends the whole at
       * ten times the event's budget (at least 2 s: a thousand round trips to a
       * sanitized worker), whatever a worker reports. */
      uint32_t budget = inst_timeout(inst, "eventMs");
      uint64_t backstop = (uint64_t)budget * 10u;
      h->reduce_stalled = false;
      h->reduce_until_ms = clock_wall_ms() + (backstop > 2000 ? backstop : 2000);
      rc = store_apply(h->store, inst, intents, "vm", host_plugin_reduce, h, &actions, &ch, err);
      h->reduce_until_ms = 0;
      if (!rc) notify(h, "event", inst->id, &ch);
    }
    store_changes_clear(&ch);
  }
  if (!rc && result_out)
    rc = out_json(json_pack("{s:O,s:O}", "intents", intents, "actions", actions), result_out, err);
  if (rc) err_instance(err, id);
  json_decref(intents);
  json_decref(actions);
  return rc;
}

int al_event(al_host *h, const char *instance_id, const char *widget_id, const char *handler,
             const char *args_json, char **result_out, al_error *err) {
  if (result_out) *result_out = NULL;
  if (!h || !widget_id || !handler)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_event needs a host, a widget and a handler");
  store_instance *inst;
  int src = host_call_settle(h, instance_id, &inst, err);
  if (src) return src;
  json_t *args = NULL, *resp = NULL;
  int rc = 0;
  if (args_json && (rc = parse_arg(args_json, "args", &args, err))) return rc;
  char id[AL_INSTANCE_ID_MAX];
  snprintf(id, sizeof id, "%s", inst->id);
  uint64_t start = clock_wall_ms();
  rc = call_sync(h, &inst, "event", widget_id, handler, args, inst_timeout(inst, "eventMs"), &resp,
                 err);
  json_decref(args);
  if (!rc) rc = event_finish(h, id, start, resp, result_out, err);
  else err_instance(err, id);
  json_decref(resp);
  return rc;
}

/* ---- asynchronous calls --------------------------------------------------------------- */

/* Submits `req` (stolen) and records what finishing it needs; `call` (render and event)
 * becomes the pending's on success and stays the caller's on failure. */
static int submit_async(al_host *h, int worker, const char *id, host_op op, json_t *req,
                        uint32_t timeout, al_result_fn cb, void *user, host_load *ld,
                        host_call *call, al_error *err) {
  if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  host_pending *pd = calloc(1, sizeof *pd);
  if (!pd) {
    json_decref(req);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  pd->op = op;
  pd->cb = cb;
  pd->user = user;
  pd->start_ms = clock_wall_ms();
  pd->load = ld;
  pd->call = call;
  memcpy(pd->instance_id, id, strlen(id) + 1);
  int rc = pool_submit(h->pool, worker, req, timeout, true, &pd->ticket, err);
  if (rc) {
    free(pd);
    err_instance(err, id);
    return rc;
  }
  pd->next = h->pending;
  h->pending = pd;
  h->npending++;
  return 0;
}

static void host_call_free(host_call *c) {
  if (!c) return;
  free(c->widget);
  free(c->handler);
  json_decref(c->args);
  free(c);
}

/* Sends `c` (consumed) for `inst` with its current state. The pending call keeps `c` to
 * send it again after a stale answer; the request shares its args, which nobody changes
 * once they are sent (a worker thread may be reading them). */
static int host_call_send(al_host *h, store_instance *inst, host_call *c) {
  json_t *req = call_request(h, inst, c->op == HOST_RENDER ? "render" : "event", c->widget,
                            c->handler, c->args);
  int rc = submit_async(h, inst->worker, inst->id, c->op, req,
                        inst_timeout(inst, c->op == HOST_RENDER ? "renderMs" : "eventMs"), c->cb, c->user,
                        NULL, c, NULL);
  if (!rc) inst->calling = true;
  else {
    vm_cache_forget(inst);
    host_call_free(c);
  }
  return rc;
}

/* The instance's call in flight finished: sends the next one waiting, if any. A waiting
 * call that cannot be sent is answered with its error, never dropped. */
static void host_call_next(al_host *h, const char *id) {
  store_instance *inst = store_find(h->store, id);
  if (!inst) return;
  inst->calling = false;
  while (!inst->calling && inst->waiting) {
    host_call *c = inst->waiting;
    inst->waiting = c->next;
    if (!inst->waiting) inst->waiting_tail = NULL;
    h->nwaiting--;
    al_result_fn cb = c->cb;
    void *user = c->user;
    int rc = host_call_send(h, inst, c);
    if (rc) {
      al_error e = {0};
      err_set(&e, rc, NULL, "%s", al_strerror(rc));
      err_instance(&e, id);
      cb(user, rc, NULL, &e);
      if (!(inst = store_find(h->store, id))) return; /* the callback unloaded it */
    }
  }
}

/* Fails every call waiting on `inst` (it is being unloaded). */
static void host_call_drop(al_host *h, store_instance *inst) {
  host_call *c = inst->waiting;
  inst->waiting = inst->waiting_tail = NULL;
  while (c) {
    host_call *nx = c->next;
    h->nwaiting--;
    al_error e = {0};
    err_set(&e, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", inst->id);
    err_instance(&e, inst->id);
    c->cb(c->user, AL_EINSTANCE_NOT_FOUND, NULL, &e);
    host_call_free(c);
    c = nx;
  }
}

/* An instance's calls waiting behind its call in flight are bounded like a worker's queue
 * (the one in flight counts): past that a call answers BUSY instead of growing it. */
static bool host_call_full(const al_host *h, const store_instance *inst) {
  unsigned n = 1;
  for (const host_call *c = inst->waiting; c; c = c->next) n++;
  return n >= h->cfg.queue_capacity;
}

/* Lets the instance's asynchronous calls finish before a synchronous one reads its state.
 * Returns 0 with *out set, AL_EINSTANCE_NOT_FOUND or AL_EBUSY. */
static int host_call_settle(al_host *h, const char *id, store_instance **out, al_error *err) {
  store_instance *inst = find(h, id, err);
  *out = NULL;
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  if (inst->calling && host_call_full(h, inst)) {
    err_set(err, AL_EBUSY, NULL, "the instance's queue is full (%u calls)", h->cfg.queue_capacity);
    err_instance(err, inst->id);
    return AL_EBUSY;
  }
  while (inst && (inst->calling || inst->waiting)) {
    char idc[AL_INSTANCE_ID_MAX];
    snprintf(idc, sizeof idc, "%s", inst->id);
    al_host_dispatch(h, -1);
    inst = find(h, idc, err);
  }
  *out = inst;
  return inst ? 0 : AL_EINSTANCE_NOT_FOUND;
}

static int host_call_async(al_host *h, const char *instance_id, int op, const char *widget_id,
                           const char *handler, json_t *args, al_result_fn cb, void *user) {
  store_instance *inst = find(h, instance_id, NULL);
  if (!inst) {
    json_decref(args);
    return AL_EINSTANCE_NOT_FOUND;
  }
  host_call *c = calloc(1, sizeof *c);
  if (!c || !(c->widget = strdup(widget_id)) || (handler && !(c->handler = strdup(handler)))) {
    host_call_free(c);
    json_decref(args);
    return AL_ENO_MEMORY;
  }
  *c = (host_call){op, c->widget, c->handler, args, cb, user, false, NULL};
  if (!inst->calling) return host_call_send(h, inst, c);
  if (host_call_full(h, inst)) {
    host_call_free(c);
    return AL_EBUSY;
  }
  if (inst->waiting_tail) inst->waiting_tail->next = c;
  else inst->waiting = c;
  inst->waiting_tail = c;
  h->nwaiting++;
  return 0;
}

int al_render_async(al_host *h, const char *instance_id, const char *widget_id, al_result_fn cb,
                    void *user) {
  if (!h || !widget_id || !cb) return AL_EINVALID_ARGUMENT;
  return host_call_async(h, instance_id, HOST_RENDER, widget_id, NULL, NULL, cb, user);
}

int al_event_async(al_host *h, const char *instance_id, const char *widget_id, const char *handler,
                   const char *args_json, al_result_fn cb, void *user) {
  if (!h || !widget_id || !handler || !cb) return AL_EINVALID_ARGUMENT;
  if (!find(h, instance_id, NULL)) return AL_EINSTANCE_NOT_FOUND;
  json_t *args = NULL;
  if (args_json && parse_arg(args_json, "args", &args, NULL)) return AL_EINVALID_ARGUMENT;
  return host_call_async(h, instance_id, HOST_EVENT, widget_id, handler, args, cb, user);
}

int al_load_async(al_host *h, const char *package_id, const char *code, size_t len,
                  const al_load_opts *opts, char *id_out, size_t id_cap, al_result_fn cb,
                  void *user, al_error *err) {
  if (!cb) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_load_async needs a callback");
  host_load *ld;
  json_t *req;
  int rc = load_prepare(h, package_id, code, len, opts, id_out, id_cap, &ld, &req, err);
  if (rc) return rc;
  if ((rc = load_place(h, ld, err))) {
    json_decref(req);
    load_free(ld);
    return rc;
  }
  rc = submit_async(h, ld->worker, ld->id, HOST_LOAD, req, ld->lim.load_ms, cb, user, ld, NULL, err);
  if (rc) {
    pool_release(h->pool, ld->worker);
    load_free(ld);
  }
  return rc;
}

int al_reload_async(al_host *h, const char *instance_id, const char *code, size_t len,
                    const al_load_opts *opts, al_result_fn cb, void *user, al_error *err) {
  if (!cb) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_reload_async needs a callback");
  host_load *ld;
  json_t *req;
  int rc = reload_prepare(h, instance_id, code, len, opts, &ld, &req, err);
  if (rc) return rc;
  rc = submit_async(h, ld->worker, ld->id, HOST_RELOAD, req, ld->lim.load_ms, cb, user, ld, NULL, err);
  if (rc) load_free(ld);
  return rc;
}

int al_host_fd(const al_host *h) { return h ? pool_fd(h->pool) : -1; }

size_t al_host_pending(const al_host *h) { return h ? h->npending + h->nwaiting : 0; }

int al_host_dispatch(al_host *h, int timeout_ms) {
  if (!h) return AL_EINVALID_ARGUMENT;
  if (!h->npending) return 0;
  pool_wait_any(h->pool, timeout_ms);
  int ran = 0;
  uint64_t ticket;
  json_t *resp;
  while (pool_next(h->pool, &ticket, &resp)) {
    host_pending **pp = &h->pending;
    while (*pp && (*pp)->ticket != ticket) pp = &(*pp)->next;
    host_pending *pd = *pp;
    if (!pd) { /* not ours: cannot happen, but never leak */
      json_decref(resp);
      continue;
    }
    *pp = pd->next;
    h->npending--;
    al_error e = {0};
    char *text = NULL;
    int rc = 0;
    store_instance *inst = pd->call ? store_find(h->store, pd->instance_id) : NULL;
    if (inst && json_object_get(resp, "error")) vm_cache_forget(inst);
    if (inst && resp_stale(resp) && !pd->call->resent) {
      /* the VM held less than the host believed: send the call again, all of it whole */
      host_call *c = pd->call;
      al_result_fn cb = c->cb;
      void *user = c->user;
      char id[AL_INSTANCE_ID_MAX];
      memcpy(id, pd->instance_id, sizeof id);
      c->resent = true;
      json_decref(resp);
      free(pd);
      inst->calling = false;
      if ((rc = host_call_send(h, inst, c))) { /* answered, never dropped */
        err_set(&e, rc, NULL, "%s", al_strerror(rc));
        err_instance(&e, id);
        cb(user, rc, NULL, &e);
        ran++;
        host_call_next(h, id);
      }
      continue;
    }
    switch (pd->op) {
    case HOST_RENDER:
      rc = render_finish(h, pd->instance_id, pd->call->widget, pd->start_ms, resp, &text, &e);
      break;
    case HOST_EVENT: rc = event_finish(h, pd->instance_id, pd->start_ms, resp, &text, &e); break;
    case HOST_LOAD:
    case HOST_RELOAD: rc = load_finish(h, pd->load, 0, pd->start_ms, resp, true, &text, &e); break;
    case HOST_DROP: break;
    }
    json_decref(resp);
    if (pd->cb) pd->cb(pd->user, rc, text, rc ? &e : NULL);
    al_free(text);
    if (pd->op == HOST_RENDER || pd->op == HOST_EVENT) host_call_next(h, pd->instance_id);
    load_free(pd->load);
    host_call_free(pd->call);
    bool counted = pd->cb != NULL;
    free(pd);
    if (counted) ran++;
  }
  return ran;
}

int al_debug(al_host *h, const char *instance_id, const char *what, unsigned arg, al_error *err) {
  if (!h || !what) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_debug needs a host and what");
  store_instance *inst = find(h, instance_id, err);
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
  int rc = pool_call(h->pool, inst->worker, req, inst_timeout(inst, "eventMs"), &resp, err);
  if (!rc) rc = call_result(h, inst, inst->id, op, start, resp, NULL, err);
  json_decref(resp);
  if (rc == AL_ECRASHED || rc == AL_ETIMEOUT) hooks_note_workers(h);
  if (rc) err_instance(err, inst->id);
  return rc;
}

int al_health(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *list = json_array();
  for (size_t i = 0; i < store_count(h->store); i++) {
    store_instance *inst = store_at(h->store, i);
    json_array_append_new(list, json_pack("{s:s,s:s,s:O,s:I,s:i}", "instanceId", inst->id,
                                          "packageId", inst->package_id, "status",
                                          json_object_get(inst->record, "status"), "memoryBytes",
                                          (json_int_t)inst->memory_bytes, "worker", inst->worker));
  }
  pool_stats ps;
  pool_get_stats(h->pool, &ps);
  return out_json(json_pack("{s:b,s:I,s:I,s:{s:I,s:I,s:I},s:o}", "ready", 1, "workers",
                            (json_int_t)pool_workers(h->pool), "lanes", (json_int_t)ps.lanes,
                            "workerEvents", "starts",
                            (json_int_t)ps.starts, "crashes", (json_int_t)ps.crashes,
                            "watchdogKills", (json_int_t)ps.watchdog_kills, "instances", list),
                  json_out, err);
}

int al_instances(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *list = json_array();
  for (size_t i = 0; i < store_count(h->store); i++)
    json_array_append_new(list, json_string(store_at(h->store, i)->id));
  return out_json(list, json_out, err);
}

/* ---- state ---------------------------------------------------------------------------- */

int al_state_get(al_host *h, const char *instance_id, char **json_out, al_error *err) {
  store_instance *inst = h ? find(h, instance_id, err) : NULL;
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  return out_json(store_plugin_state(inst), json_out, err);
}

int al_state_set(al_host *h, const char *instance_id, const char *json, al_error *err) {
  store_instance *inst = h ? find(h, instance_id, err) : NULL;
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  if (!json) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "state must not be NULL");
  json_t *v;
  int rc = parse_arg(json, "state", &v, err);
  if (rc) return rc;
  store_changes ch = {0};
  if (store_changes_init(&ch)) {
    json_decref(v);
    store_changes_clear(&ch);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  size_t before = inst->state_bytes;
  rc = store_set_state(h->store, inst, v, &ch);
  if (rc == AL_ESTATE_LIMIT)
    err_set(err, rc, NULL, "the new state would pass the instance's limit of %zu bytes (it holds %zu, unchanged)",
            inst->state_limit, before);
  else if (rc)
    err_set(err, rc, NULL, "out of memory");
  if (!rc) notify(h, "state", NULL, &ch);
  store_changes_clear(&ch);
  return rc;
}

int al_global_state(al_host *h, const char *instance_id, char **json_out, al_error *err) {
  store_instance *inst = h ? find(h, instance_id, err) : NULL;
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  return out_json(store_global_state(h->store, inst), json_out, err);
}

int al_shared_get(al_host *h, const char *domain, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *p;
  int rc = store_projection(h->store, domain, &p, err);
  return rc ? rc : out_json(p, json_out, err);
}

int al_shared_domains(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return out_json(store_domain_names(h->store), json_out, err);
}

int al_grants_get(al_host *h, const char *instance_id, char **json_out, al_error *err) {
  store_instance *inst = h ? find(h, instance_id, err) : NULL;
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  return out_json(json_deep_copy(inst->grants), json_out, err);
}

int al_grants_set(al_host *h, const char *instance_id, const char *grants_json,
                  const char *source, al_error *err) {
  store_instance *inst = h ? find(h, instance_id, err) : NULL;
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  if (!grants_json) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "grants must not be NULL");
  json_t *g;
  int rc = parse_arg(grants_json, "grants", &g, err);
  if (!rc) rc = ui_validate_grants(g, err);
  store_changes ch = {0};
  if (!rc && (rc = store_changes_init(&ch))) err_set(err, rc, NULL, "out of memory");
  if (!rc) {
    rc = store_set_grants(h->store, inst, g, source ? source : "host", &ch, err);
    if (!rc) {
      hc_audit(h->hc, inst->package_id, "grants", inst->id, "changed", grants_json);
      notify(h, "grants", inst->id, &ch);
    }
    store_changes_clear(&ch);
  }
  json_decref(g);
  return rc;
}

int al_package_grants(al_host *h, const char *package_id, char **json_out, al_error *err) {
  if (json_out) *json_out = NULL;
  if (!h || !package_id)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_package_grants needs a host and a package id");
  json_t *g = store_default_grants(h->store, package_id);
  return g ? out_json(g, json_out, err) : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
}

int al_trace(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return out_json(store_trace(h->store), json_out, err);
}

int al_timeline(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return out_json(store_timeline(h->store), json_out, err);
}

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
  return out_json(a, json_out, err);
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

/* ---- C reducers and domains: adapters from the string API to the store's json_t API -- */

typedef struct host_reducer {
  al_reducer_fn fn;
  void *user;
} host_reducer;

/* Runs a string-level reducer; parses what it returns. */
static int run_text_reducer(int rc, char *next_text, json_t **next) {
  if (rc != AL_REDUCE_APPLIED) {
    free(next_text);
    return rc < 0 ? rc : AL_REDUCE_UNSUPPORTED;
  }
  *next = next_text ? json_loads(next_text, JSON_DECODE_ANY, NULL) : NULL;
  free(next_text);
  return *next ? AL_REDUCE_APPLIED : AL_EINVALID_ARGUMENT;
}

static int host_reducer_call(void *user, const char *action, const json_t *state,
                             const json_t *payload, json_t **next) {
  host_reducer *r = user;
  char *st = json_text(state), *pl = json_text(payload), *nx = NULL;
  int rc = st && pl ? r->fn(r->user, action, st, pl, &nx) : AL_ENO_MEMORY;
  free(st);
  free(pl);
  return run_text_reducer(rc, nx, next);
}

int al_register_reducer(al_host *h, const char *package_id, al_reducer_fn fn, void *user,
                        al_error *err) {
  if (!h || !fn) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_register_reducer needs a host and a function");
  host_reducer *r = malloc(sizeof *r);
  if (!r) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  *r = (host_reducer){fn, user};
  int rc = store_register_reducer(h->store, package_id, host_reducer_call, r, free, err);
  if (rc) free(r);
  return rc;
}

typedef struct host_domain {
  al_domain_def def;
} host_domain;

static int host_domain_reduce(void *user, const char *writer, const char *action,
                              const json_t *state, const json_t *payload, json_t **next) {
  host_domain *d = user;
  char *st = json_text(state), *pl = json_text(payload), *nx = NULL;
  int rc = st && pl ? d->def.reduce(d->def.user, writer, action, st, pl, &nx) : AL_ENO_MEMORY;
  free(st);
  free(pl);
  return run_text_reducer(rc, nx, next);
}

static json_t *host_domain_project(void *user, const json_t *state, const store *s) {
  (void)s;
  host_domain *d = user;
  char *st = json_text(state), *pj = NULL;
  json_t *out = NULL;
  if (st && d->def.project(d->def.user, st, &pj) == 0 && pj)
    out = json_loads(pj, JSON_DECODE_ANY, NULL);
  free(st);
  free(pj);
  return out ? out : json_null();
}

static int host_domain_unload(void *user, const char *id, const json_t *state, json_t **next) {
  host_domain *d = user;
  char *st = json_text(state), *nx = NULL;
  int rc = st ? d->def.on_unload(d->def.user, id, st, &nx) : AL_ENO_MEMORY;
  free(st);
  return run_text_reducer(rc, nx, next);
}

int al_register_domain(al_host *h, const al_domain_def *def, al_error *err) {
  if (!h || !def || !def->name)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_register_domain needs a host and a named definition");
  json_t *init = NULL;
  if (def->initial_state_json) {
    int rc = parse_arg(def->initial_state_json, "initial_state_json", &init, err);
    if (rc) return rc;
  }
  host_domain *d = malloc(sizeof *d);
  if (!d) {
    json_decref(init);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  d->def = *def;
  store_domain_ops ops = {.reduce = def->reduce ? host_domain_reduce : NULL,
                          .project = def->project ? host_domain_project : NULL,
                          .on_unload = def->on_unload ? host_domain_unload : NULL,
                          .free_user = free};
  /* The name is copied by the store; the rest of def is the caller's to keep alive. */
  int rc = store_register_domain(h->store, def->name, init, &ops, d, err);
  if (rc) free(d);
  return rc;
}

/* ---- hooks -------------------------------------------------------------------------------
 * Subscriptions: h->hooked lists every loaded instance with the events its VM reported
 * subscribing to (after its load, and after each hook or tool call, since `once` and
 * pi.off change them). From it an immutable ev_snapshot is built and published through
 * an atomic pointer. The host API is single-threaded and worker threads never read the
 * snapshot, so the only reader is the host thread itself: when it swaps a snapshot no
 * emit is in flight, and the old one is freed at once. An emit that changes
 * subscriptions (a `once` handler ran) publishes the new snapshot only after it has
 * finished with the one it started with. */

static void hooks_publish(al_host *h) {
  ev_snapshot *ns = ev_snapshot_build(h->events, h->hooked);
  if (!ns) return; /* out of memory: keep serving the previous subscriptions */
  ev_snapshot *old = atomic_exchange_explicit(&h->snap, ns, memory_order_acq_rel);
  ev_snapshot_free(old);
}

/* Holds a worker's report about instance `id` to the host's record (hc_hooks_check). A
 * worker that lies is killed and the instance set aside, with the breach audited;
 * AL_ECRASHED then says so. Checked reports are bounded (EV_MAX_HANDLERS per event), so
 * nothing after this allocates by a count the worker chose. */
static int hooks_vet(al_host *h, int worker, const char *id, const json_t *hooks,
                     const char *event, size_t results, al_error *err) {
  char why[200];
  if (!hc_hooks_check(h->hc, id, hooks, event, results, why, sizeof why)) return 0;
  hc_breach(h->hc, id, why);
  pool_condemn(h->pool, worker, id, why); /* process isolation; a thread worker is our code */
  return err_set(err, AL_ECRASHED, NULL, "worker process killed: %s", why);
}

/* Replaces an instance's reported subscriptions; true when they changed. */
static bool hooks_set(al_host *h, const char *id, const json_t *hooks) {
  size_t i;
  json_t *e;
  json_array_foreach(h->hooked, i, e) {
    if (strcmp(json_string_value(json_object_get(e, "instanceId")), id)) continue;
    if (!json_is_object(hooks) || json_equal(json_object_get(e, "hooks"), (json_t *)hooks)) return false;
    json_object_set(e, "hooks", (json_t *)hooks);
    return true;
  }
  return false;
}

/* One array of the declared events serves every instance's pi record (they are only read,
 * and jansson counts references atomically), instead of a copy per instance. */
static json_t *pi_info(al_host *h, const char *plugin_id, const char *version) {
  if (!h->event_names && !(h->event_names = ev_names(h->events))) return NULL;
  return json_pack("{s:s,s:s,s:O,s:i}", "id", plugin_id, "version", version ? version : "0.0.0",
                   "events", h->event_names, "maxHandlers", EV_MAX_HANDLERS);
}

/* Manifest, preflight, grants, limits, settings and the hostcall record for a load. */
static int hooks_prepare(al_host *h, const char *id, const char *package_id, const char *code,
                         size_t len, const al_load_opts *o, json_t **grants, json_t **caps,
                         al_limits *lim, json_t **pi, al_error *err) {
  *grants = NULL;
  *caps = NULL;
  *pi = NULL;
  if (!o->manifest_json) {
    *pi = pi_info(h, package_id, NULL);
    int rc = *pi ? hc_plugin_add(h->hc, id, package_id, NULL, NULL, NULL, err)
                 : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    return rc;
  }
  pkg_manifest *m = NULL;
  json_t *report = NULL, *stored = NULL, *settings = NULL, *settings_env = NULL, *warnings = NULL;
  int rc = pkg_manifest_parse(o->manifest_json, strlen(o->manifest_json), false, false, &m, &warnings, err);
  /* Unknown manifest fields load (a manifest for a newer Airlock) but are said out loud. */
  size_t wi;
  json_t *w;
  json_array_foreach(warnings, wi, w) hc_log(h->hc, m ? m->id : package_id, "warn", json_string_value(w));
  json_decref(warnings);
  if (!rc) rc = pkg_manifest_check_engine(m, AL_VERSION, err);
  if (!rc) rc = pkg_preflight(code ? code : "", len, m, &report, err);
  if (!rc) {
    size_t nf = json_array_size(json_object_get(report, "findings"));
    char why[sizeof err->message];
    rc = pkg_preflight_error(report, err);
    snprintf(why, sizeof why, "%s", rc && err ? err->message : "");
    if (!rc) snprintf(why, sizeof why, "%zu finding(s), none blocking", nf);
    hc_audit(h->hc, m->id, "preflight", id, rc ? "denied" : "allowed", why);
  }
  if (!rc) {
    /* Per-plugin limits may only tighten the host's. */
    const al_limits *ml = &m->limits, *hl = &h->cfg.limits;
    if (!lim->memory_bytes && ml->memory_bytes) lim->memory_bytes = ml->memory_bytes < hl->memory_bytes ? ml->memory_bytes : hl->memory_bytes;
    if (!lim->stack_bytes && ml->stack_bytes) lim->stack_bytes = ml->stack_bytes < hl->stack_bytes ? ml->stack_bytes : hl->stack_bytes;
    if (!lim->load_ms && ml->load_ms) lim->load_ms = ml->load_ms < hl->load_ms ? ml->load_ms : hl->load_ms;
    if (!lim->render_ms && ml->render_ms) lim->render_ms = ml->render_ms < hl->render_ms ? ml->render_ms : hl->render_ms;
    if (!lim->event_ms && ml->event_ms) lim->event_ms = ml->event_ms < hl->event_ms ? ml->event_ms : hl->event_ms;
    if (!o->grants_json &&
        !(*grants = json_pack("{s:O,s:O,s:[]}", "readShared", json_object_get(m->shared, "read"),
                              "writeShared", json_object_get(m->shared, "write"), "systemCommands")))
      rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  if (!rc && hc_db(h->hc)) rc = pkg_db_setting_get(hc_db(h->hc), m->id, &stored, err);
  if (!rc && !(settings = pkg_settings_resolve(m, stored, &settings_env))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc && !(*pi = pi_info(h, m->id, m->version))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc) rc = hc_plugin_add(h->hc, id, m->id, m->capabilities, settings, settings_env, err);
  if (!rc && m->capabilities && !(*caps = json_deep_copy(m->capabilities)))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (rc) {
    json_decref(*grants);
    *grants = NULL;
  }
  json_decref(report);
  json_decref(stored);
  json_decref(settings);
  json_decref(settings_env);
  pkg_manifest_free(m);
  return rc;
}

static void hooks_loaded(al_host *h, const char *id, const json_t *pi, int worker,
                         const json_t *resp) {
  json_t *hooks = json_object_get(resp, "hooks");
  const char *plugin_id = json_string_value(json_object_get(pi, "id"));
  const char *version = json_string_value(json_object_get(pi, "version"));
  json_t *e = json_pack("{s:s,s:s,s:s,s:i,s:o}", "instanceId", id, "pluginId",
                        plugin_id ? plugin_id : id, "version", version ? version : "0.0.0",
                        "worker", worker,
                        "hooks", json_is_object(hooks) ? json_incref(hooks) : json_object());
  if (!e) return;
  json_array_append_new(h->hooked, e);
  if (json_object_size(hooks)) hooks_publish(h);
}

/* The `pi` record an instance was loaded with, for its hot reloads (new reference). */
static json_t *hooks_pi(al_host *h, const char *id) {
  size_t i;
  json_t *e;
  json_array_foreach(h->hooked, i, e)
    if (!strcmp(json_string_value(json_object_get(e, "instanceId")), id))
      return pi_info(h, json_string_value(json_object_get(e, "pluginId")),
                     json_string_value(json_object_get(e, "version")));
  return NULL;
}

/* A hot reload replaced the instance's VM: its subscriptions are the new code's, and the
 * tools the new code registered take the place of the old ones. */
static void hooks_reloaded(al_host *h, const char *id, const char *vm_id, const json_t *resp) {
  hc_plugin_commit(h->hc, vm_id);
  const json_t *hooks = json_object_get(resp, "hooks");
  json_t *empty = json_object();
  if (hooks_set(h, id, json_is_object(hooks) ? hooks : empty)) hooks_publish(h);
  json_decref(empty);
}

static void hooks_unloaded(al_host *h, const char *id) {
  hc_plugin_remove(h->hc, id);
  size_t i;
  json_t *e;
  json_array_foreach(h->hooked, i, e) {
    if (strcmp(json_string_value(json_object_get(e, "instanceId")), id)) continue;
    bool had = json_object_size(json_object_get(e, "hooks")) > 0;
    json_array_remove(h->hooked, i);
    if (had) hooks_publish(h);
    return;
  }
}

/* Worker crashes and watchdog kills (process isolation) since the last look go to the
 * audit trail; the worker restarts with its instances on its next call. Called after
 * calls that came back failed, so the common path never takes the pool lock for it. */
static void hooks_note_workers(al_host *h) {
  pool_stats ps;
  pool_get_stats(h->pool, &ps);
  char why[128];
  if (ps.crashes > h->seen_crashes) {
    snprintf(why, sizeof why, "%u worker crash(es); the worker restarts and reloads its instances",
             ps.crashes - h->seen_crashes);
    hc_audit(h->hc, "host", "worker_restart", "crash", "error", why);
  }
  if (ps.watchdog_kills > h->seen_kills) {
    snprintf(why, sizeof why, "%u worker(s) killed by the watchdog; the worker restarts and reloads its instances",
             ps.watchdog_kills - h->seen_kills);
    hc_audit(h->hc, "host", "worker_restart", "watchdog", "error", why);
  }
  h->seen_crashes = ps.crashes;
  h->seen_kills = ps.watchdog_kills;
}

int al_hook_register(al_host *h, const al_hook_def *def, al_error *err) {
  if (!h || !def) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_hook_register needs a host and a definition");
  json_t *mod = NULL;
  int rc = def->modifies_json ? parse_arg(def->modifies_json, "modifies_json", &mod, err) : 0;
  if (!rc) rc = ev_register(h->events, def->name, def->timeout_ms ? def->timeout_ms : EV_ACTIONABLE_MS,
                            def->flags, mod, err);
  json_decref(mod);
  if (!rc) {
    json_decref(h->event_names); /* records already made keep the list they were given */
    h->event_names = NULL;
    hooks_publish(h); /* the snapshot is sized by the registry */
  }
  return rc;
}

int al_hook_subscribed(const al_host *h, const char *event) {
  if (!h) return 0;
  ev_snapshot *s = atomic_load_explicit(&((al_host *)h)->snap, memory_order_acquire);
  return ev_subscribed(s, ev_lookup(h->events, event));
}

int al_hooks(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *a = json_array();
  for (size_t i = 0; i < ev_count(h->events); i++) {
    const ev_def *d = ev_at(h->events, (int)i);
    json_array_append_new(a, json_pack("{s:s,s:I,s:b,s:b,s:b,s:O}", "name", d->name, "timeoutMs",
                                       (json_int_t)d->timeout_ms, "mayBlock", (d->flags & AL_HOOK_MAY_BLOCK) != 0,
                                       "mayModify", (d->flags & AL_HOOK_MAY_MODIFY) != 0, "permission",
                                       (d->flags & AL_HOOK_PERMISSION) != 0, "modifies", d->modifies));
  }
  return out_json(a, json_out, err);
}

/* Turns one instance's hook response into normalized results appended to `out`. */
static void emit_collect(al_host *h, const ev_def *ev, const ev_sub *sub, int submit_rc,
                         const al_error *submit_err, json_t *resp, json_t *out, bool *changed) {
  al_error e = {0};
  const json_t *ok = NULL;
  int rc = submit_rc ? submit_rc : wk_response_result(resp, &ok, &e);
  if (submit_rc) err_copy(&e, submit_err);
  const json_t *list = json_object_get(ok, "results");
  if (!rc) rc = hooks_vet(h, sub->worker, sub->instance_id, json_object_get(ok, "hooks"), ev->name,
                          json_array_size(list), &e);
  if (!rc && hooks_set(h, sub->instance_id, json_object_get(ok, "hooks"))) *changed = true;
  if (rc == AL_ECRASHED || rc == AL_ETIMEOUT) {
    hc_audit(h->hc, sub->plugin_id, rc == AL_ECRASHED ? "crash" : "timeout", sub->instance_id, "error", e.message);
    hooks_note_workers(h);
  }
  size_t n = rc ? sub->handlers : json_array_size(list);
  for (size_t i = 0; i < n; i++) {
    const json_t *item = rc ? NULL : json_array_get(list, i);
    json_t *r;
    char why[sizeof e.message + 32];
    if (rc || json_object_get(item, "error")) {
      al_error he = {0};
      int hrc = rc ? rc : wk_response_result(item, NULL, &he);
      snprintf(why, sizeof why, "%s: %s", al_err_name(hrc), rc ? e.message : he.message);
      r = em_error(why);
    } else {
      r = em_normalize(ev, json_object_get(item, "ok"));
    }
    if (!r) continue;
    json_t *tagged = json_pack("{s:s,s:s}", "instanceId", sub->instance_id, "pluginId", sub->plugin_id);
    if (tagged) {
      json_object_update(tagged, r);
      json_object_set_new(tagged, "elapsedUs", json_integer(json_integer_value(json_object_get(item, "elapsedUs"))));
      json_array_append_new(out, tagged);
    }
    json_decref(r);
  }
}

int al_emit(al_host *h, const char *event, const char *payload_json, char **result_json,
            al_error *err) {
  if (result_json) *result_json = NULL;
  if (!h || !event) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_emit needs a host and an event");
  int e = ev_lookup(h->events, event);
  if (e < 0) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "unknown event '%.80s'", event);
  if (hc_disabled(h->hc))
    return err_set(err, AL_EPLUGINS_DISABLED, NULL, "plugins are disabled (AIRLOCK_DISABLE_PLUGINS)");
  ev_snapshot *snap = atomic_load_explicit(&h->snap, memory_order_acquire);
  const ev_def *ev = ev_at(h->events, e);
  bool force_deny = hc_force_deny(h->hc) && (ev->flags & AL_HOOK_PERMISSION);
  bool run = ev_subscribed(snap, e) && !hc_skip(h->hc) && !force_deny;
  if (!run && !result_json && !force_deny) return 0; /* the nanosecond path */

  json_t *payload = NULL, *results = json_array(), *agg = NULL;
  int rc = payload_json ? parse_arg(payload_json, "payload", &payload, err) : 0;
  if (!rc && !payload && !(payload = json_object())) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc && !json_is_object(payload)) rc = err_set(err, AL_EINVALID_ARGUMENT, "payload", "the payload must be a JSON object");
  if (!rc && !results) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (rc) goto done;
  if (run) {
    /* Submit to every subscriber's worker first, then collect in registration order:
     * plugins on different workers run at once. */
    size_t n = snap->nsubs[e];
    json_t *hp = json_deep_copy(payload);
    uint64_t *tickets = calloc(n ? n : 1, sizeof *tickets);
    int *src = calloc(n ? n : 1, sizeof *src);
    al_error *serr = calloc(n ? n : 1, sizeof *serr);
    if (!hp || !tickets || !src || !serr) {
      json_decref(hp);
      free(tickets);
      free(src);
      free(serr);
      rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
      goto done;
    }
    json_object_set_new(hp, "event", json_string(ev->name));
    /* Every request shares this one payload: workers only read it (jansson 2.14 reads
     * without writing and counts references atomically), and nobody writes it again. */
    for (size_t i = 0; i < n; i++) {
      const ev_sub *sb = &snap->subs[e][i];
      json_t *req = json_pack("{s:s,s:s,s:s,s:O,s:I}", "op", "hook", "instanceId", sb->instance_id,
                              "event", ev->name, "payload", hp, "timeoutMs", (json_int_t)ev->timeout_ms);
      /* One budget per plugin, its event class's, however many handlers it has: the
       * VM runs them all under that one deadline (vm_hook). */
      src[i] = req ? pool_submit(h->pool, sb->worker, req, ev->timeout_ms, false, &tickets[i], &serr[i])
                   : err_set(&serr[i], AL_ENO_MEMORY, NULL, "out of memory");
    }
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
      json_t *resp = src[i] ? NULL : pool_wait(h->pool, tickets[i]);
      emit_collect(h, ev, &snap->subs[e][i], src[i], &serr[i], resp, results, &changed);
      json_decref(resp);
    }
    /* Only now: every worker has let go of it, and each answer came through the pool's
     * lock, so this last release cannot race a worker's (jansson's count is not enough
     * on its own to order a free after another thread's reads). */
    json_decref(hp);
    free(tickets);
    free(src);
    free(serr);
    if (changed) hooks_publish(h); /* `snap` is not used past this point */
  }
  if (!result_json) goto done;
  agg = em_aggregate(ev, payload, results);
  if (agg && force_deny) {
    json_object_set_new(agg, "action", json_string("deny"));
    json_object_set_new(agg, "reason", json_string("Denied by AIRLOCK_FORCE_DENY"));
  }
  if (agg && hc_skip(h->hc)) json_object_set_new(agg, "skipped", json_string("AIRLOCK_SKIP_PLUGINS is set"));
  rc = agg ? out_json(agg, result_json, err) : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  agg = NULL;
done:
  json_decref(agg);
  json_decref(payload);
  json_decref(results);
  return rc;
}

int al_tools(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return out_json(hc_tools(h->hc), json_out, err);
}

int al_tool_call(al_host *h, const char *name, const char *args_json, char **result_json,
                 al_error *err) {
  if (result_json) *result_json = NULL;
  if (!h || !name) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_tool_call needs a host and a tool name");
  if (hc_disabled(h->hc) || hc_skip(h->hc))
    return err_set(err, AL_EPLUGINS_DISABLED, NULL, "plugins are disabled (%s)",
                   hc_disabled(h->hc) ? "AIRLOCK_DISABLE_PLUGINS" : "AIRLOCK_SKIP_PLUGINS");
  char id[AL_INSTANCE_ID_MAX];
  int rc = hc_tool_owner(h->hc, name, id, sizeof id, err);
  if (rc) return rc;
  store_instance *inst = find(h, id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  json_t *args = NULL, *resp = NULL;
  if (args_json && (rc = parse_arg(args_json, "args", &args, err))) return rc;
  json_t *req = json_pack("{s:s,s:s,s:s,s:o,s:I}", "op", "tool", "instanceId", id, "name", name,
                          "args", args ? args : json_object(), "timeoutMs", (json_int_t)EV_ACTIONABLE_MS);
  if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  uint64_t start = clock_wall_ms();
  rc = pool_call(h->pool, inst->worker, req, EV_ACTIONABLE_MS, &resp, err);
  const json_t *v = NULL;
  if (!rc) rc = call_result(h, inst, id, "tool", start, resp, &v, err);
  if (!rc) rc = out_json(json_incref((json_t *)v), result_json, err);
  if (rc == AL_ECRASHED || rc == AL_ETIMEOUT) hooks_note_workers(h);
  if (rc) err_instance(err, id);
  json_decref(resp);
  return rc;
}

int al_audit(al_host *h, size_t n, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return out_json(hc_audit_recent(h->hc, n), json_out, err);
}

int al_switches(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return out_json(hc_switches(h->hc), json_out, err);
}

/* Reads a whole small file; *out malloc()ed and NUL-terminated. */
static int read_file(const char *path, char **out, size_t *len, al_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return err_set(err, AL_EIO, NULL, "cannot open %s", path);
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 == cap) {
      char *nb = cap < AL_MAX_VALUE_BYTES ? realloc(buf, cap * 2) : NULL;
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (!buf) return err_set(err, AL_EIO, NULL, "%s is too large or memory ran out", path);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

int al_load_package(al_host *h, const char *id_or_dir, const al_load_opts *opts, char *id_out,
                    size_t id_cap, al_error *err) {
  if (!h || !id_or_dir) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_load_package needs a host and a package");
  if (hc_disabled(h->hc))
    return err_set(err, AL_EPLUGINS_DISABLED, NULL, "plugins are disabled (AIRLOCK_DISABLE_PLUGINS)");
  char *dir = NULL;
  json_t *rec = NULL;
  pkg_manifest *m = NULL;
  char *code = NULL, *mtext = NULL, *path = NULL;
  size_t len = 0;
  int rc = 0;
  if (strchr(id_or_dir, '/') && id_or_dir[0] != '@') {
    dir = strdup(id_or_dir);
  } else if (!hc_db(h->hc)) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "no host database (al_config.home) to find package '%.80s' in", id_or_dir);
  } else if (!(rc = pkg_db_package_get(hc_db(h->hc), id_or_dir, &rec, err))) {
    if (!json_is_true(json_object_get(rec, "enabled")))
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "package '%.80s' is disabled", id_or_dir);
    else dir = strdup(json_string_value(json_object_get(rec, "dir")) ? json_string_value(json_object_get(rec, "dir")) : "");
  }
  if (!rc && !dir) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc) rc = pkg_manifest_load_dir(dir, false, &m, NULL, err);
  if (!rc) {
    size_t pn = strlen(dir) + strlen(m->entry) + 2;
    if ((path = malloc(pn))) snprintf(path, pn, "%s/%s", dir, m->entry);
    if (!path || !(mtext = json_text(m->json))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  if (!rc) rc = read_file(path, &code, &len, err);
  if (!rc) {
    al_load_opts o = {0};
    if (opts) o = *opts;
    o.manifest_json = mtext;
    if (!o.source_name) o.source_name = m->entry;
    /* Instance ids are "<package>@<suffix>": a scoped id loses its leading '@'. */
    const char *pkg = m->id[0] == '@' ? m->id + 1 : m->id;
    rc = al_load(h, pkg, code, len, &o, id_out, id_cap, err);
  }
  free(dir);
  free(code);
  free(mtext);
  free(path);
  json_decref(rec);
  pkg_manifest_free(m);
  return rc;
}

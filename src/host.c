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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/validate.h"
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

typedef enum host_op { HOST_RENDER, HOST_EVENT } host_op;

/* One call's telemetry, kept as plain fields: recording one is on every call's path, so
 * the JSON is built only when al_telemetry asks. `op` and `outcome` are static strings. */
typedef struct host_tm {
  char instance_id[AL_INSTANCE_ID_MAX];
  const char *op, *outcome;
  uint64_t start_ms;
  json_int_t elapsed_us, memory_bytes;
  bool interrupted;
} host_tm;

/* An async call waiting for its answer. */
typedef struct host_pending {
  uint64_t ticket;
  host_op op;
  char instance_id[AL_INSTANCE_ID_MAX];
  uint64_t start_ms;
  al_result_fn cb;
  void *user;
  struct host_pending *next;
} host_pending;

struct al_host {
  al_config cfg;
  store *store;
  pool *pool;
  host_pending *pending;
  size_t npending;
  host_sub *subs;
  size_t nsubs;
  int next_sub;
  host_tm *telemetry; /* ring */
  uint32_t tm_head, tm_len;
};

void al_config_init(al_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->limits = (al_limits){.memory_bytes = 32u << 20, .stack_bytes = 1u << 20, .load_ms = 1000,
                            .render_ms = 100, .event_ms = 100};
  cfg->budgets = (al_budgets){.max_depth = 64, .max_nodes = 10000, .max_bytes = 1u << 20};
  cfg->profile = AL_PROFILE_BARE;
  cfg->timeline_capacity = 200;
  cfg->telemetry_capacity = 1000;
  cfg->isolation = AL_ISOLATION_THREAD;
  cfg->queue_capacity = 256;
  cfg->watchdog_grace_ms = 50;
}

static void limits_fill(al_limits *l, const al_limits *dflt) {
  if (!l->memory_bytes) l->memory_bytes = dflt->memory_bytes;
  if (!l->stack_bytes) l->stack_bytes = dflt->stack_bytes;
  if (!l->load_ms) l->load_ms = dflt->load_ms;
  if (!l->render_ms) l->render_ms = dflt->render_ms;
  if (!l->event_ms) l->event_ms = dflt->event_ms;
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
    static const pool_kind kinds[] = {[AL_ISOLATION_THREAD] = POOL_THREAD,
                                      [AL_ISOLATION_INLINE] = POOL_INLINE,
                                      [AL_ISOLATION_PROCESS] = POOL_PROCESS};
    pool_config pc = {.kind = kinds[h->cfg.isolation], .workers = h->cfg.workers,
                      .queue_capacity = h->cfg.queue_capacity,
                      .grace_ms = h->cfg.watchdog_grace_ms, .alloc = h->cfg.alloc,
                      .alloc_ud = h->cfg.alloc_ud, .worker_path = h->cfg.worker_path,
                      /* A backstop under the per-instance heap limits, which QuickJS
                       * enforces: room for many instances, not for runaway native code. */
                      .address_space_bytes = (size_t)4 << 30};
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
  /* The pool owns every VM: stopping it disposes them all, whatever is pending. */
  pool_free(h->pool);
  for (host_pending *pd = h->pending; pd;) {
    host_pending *nx = pd->next;
    free(pd);
    pd = nx;
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
  return json_pack("{s:I,s:I,s:I,s:I,s:I}", "memoryBytes", (json_int_t)l->memory_bytes,
                   "stackBytes", (json_int_t)l->stack_bytes, "loadMs", (json_int_t)l->load_ms,
                   "renderMs", (json_int_t)l->render_ms, "eventMs", (json_int_t)l->event_ms);
}

/* The limits an instance was loaded with, for its calls' watchdog deadlines. */
static uint32_t inst_timeout(const store_instance *inst, const char *key) {
  json_t *l = json_object_get(inst->record, "limits");
  return (uint32_t)json_integer_value(json_object_get(l, key));
}

int al_load(al_host *h, const char *package_id, const char *code, size_t len,
            const al_load_opts *opts, char *id_out, size_t id_cap, al_error *err) {
  if (!h || !package_id || !*package_id || (!code && len))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_load needs a host, a package id and code");
  if (strchr(package_id, '@') || strlen(package_id) > AL_INSTANCE_ID_MAX - 10)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "package id '%.80s' must be at most %d characters without '@'", package_id,
                   AL_INSTANCE_ID_MAX - 10);
  al_load_opts o = {0};
  if (opts) o = *opts;

  char id[AL_INSTANCE_ID_MAX];
  if (o.instance_id) {
    if (strlen(o.instance_id) >= sizeof id || !*o.instance_id)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "instance id must be 1 to %d characters",
                     AL_INSTANCE_ID_MAX - 1);
    if (store_find(h->store, o.instance_id)) {
      err_set(err, AL_EINSTANCE_EXISTS, NULL, "an instance with id '%s' already exists",
              o.instance_id);
      err_instance(err, o.instance_id);
      return AL_EINSTANCE_EXISTS;
    }
    memcpy(id, o.instance_id, strlen(o.instance_id) + 1);
  } else {
    do id_instance(package_id, id, sizeof id);
    while (store_find(h->store, id));
  }
  if (id_out && id_cap < strlen(id) + 1)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "id_out is too small for '%s'", id);

  json_t *grants = NULL, *resp = NULL, *src = NULL, *meta = NULL;
  int rc = 0;
  if (o.grants_json) {
    if ((rc = parse_arg(o.grants_json, "grants", &grants, err))) return rc;
    if ((rc = ui_validate_grants(grants, err))) goto done;
  } else {
    grants = store_default_grants(h->store, package_id);
  }
  /* The source travels as JSON text to the worker, so it must be UTF-8. */
  if (!(src = json_stringn(code ? code : "", len))) {
    rc = err_set(err, AL_EPLUGIN_LOAD, NULL, "plugin source is not valid UTF-8");
    goto done;
  }
  al_limits lim = {0};
  if (o.limits) lim = *o.limits;
  limits_fill(&lim, &h->cfg.limits);
  json_t *req = json_pack("{s:s,s:s,s:o,s:s,s:o,s:I,s:I}", "op", "load", "instanceId", id, "code",
                          src, "sourceName", o.source_name ? o.source_name : "<plugin>",
                          "limits", limits_json(&lim), "maxValueBytes",
                          (json_int_t)AL_MAX_VALUE_BYTES, "maxTreeBytes",
                          (json_int_t)(h->cfg.budgets.max_bytes + 1024));
  src = NULL;
  if (!req) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto done;
  }
  int worker = pool_assign(h->pool);
  uint64_t start = clock_wall_ms();
  rc = pool_call(h->pool, worker, req, lim.load_ms, &resp, err);
  const json_t *m = NULL;
  if (!rc) rc = call_result(h, NULL, id, "load", start, resp, &m, err);
  if (!rc && !(meta = json_deep_copy(m))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc) rc = ui_validate_metadata(meta, err);
  store_changes ch = {0};
  if (!rc && (rc = store_changes_init(&ch))) err_set(err, rc, NULL, "out of memory");
  store_instance *inst = NULL;
  if (!rc) rc = store_add(h->store, id, package_id, meta, grants, &inst, &ch, err);
  if (!rc) {
    inst->worker = worker;
    json_object_set_new(inst->record, "limits", limits_json(&lim));
    inst->memory_bytes = (size_t)json_integer_value(
        json_object_get(json_object_get(resp, "stats"), "memoryBytes"));
    if (id_out) memcpy(id_out, id, strlen(id) + 1);
    notify(h, "load", id, &ch);
  } else {
    /* The worker may hold a VM for a load the host refused (bad metadata): drop it. */
    json_t *dr = NULL;
    if (resp && !json_object_get(resp, "error") &&
        !pool_call(h->pool, worker, json_pack("{s:s,s:s}", "op", "dispose", "instanceId", id),
                   lim.load_ms, &dr, NULL))
      json_decref(dr);
    pool_release(h->pool, worker);
  }
  store_changes_clear(&ch);
done:
  if (rc) err_instance(err, id);
  json_decref(src);
  json_decref(grants);
  json_decref(resp);
  json_decref(meta);
  return rc;
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
  /* Host state goes first: whatever the worker answers, the instance is gone. */
  json_t *req = json_pack("{s:s,s:s}", "op", "dispose", "instanceId", instance_id);
  int worker = -1;
  int rc = store_remove(h->store, instance_id, &worker, &ch, err);
  if (!rc) {
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

int al_plugin_info(al_host *h, const char *instance_id, char **json_out, al_error *err) {
  if (json_out) *json_out = NULL;
  store_instance *inst = h ? find(h, instance_id, err) : NULL;
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *rec = json_deep_copy(inst->record);
  json_object_del(rec, "limits"); /* host bookkeeping, not part of the contract's record */
  return out_json(rec, json_out, err);
}

/* Builds a render or event request with the host's current state for the instance. */
static json_t *call_request(al_host *h, store_instance *inst, const char *op, const char *widget_id,
                            const char *handler, json_t *args /* stolen */) {
  json_t *req = json_pack("{s:s,s:s,s:s,s:o,s:o}", "op", op, "instanceId", inst->id, "widgetId",
                          widget_id, "pluginState", store_plugin_state(inst), "globalState",
                          store_global_state(h->store, inst));
  if (req && handler) json_object_set_new(req, "handler", json_string(handler));
  if (req && args) json_object_set(req, "args", args);
  json_decref(args);
  return req;
}

/* Finishes a render: validates the tree, records the instance's status, serializes. */
static int render_finish(al_host *h, const char *id, uint64_t start, const json_t *resp,
                         char **tree_out, al_error *err) {
  store_instance *inst = store_find(h->store, id);
  const json_t *tree = NULL;
  int rc = call_result(h, inst, id, "render", start, resp, &tree, err);
  if (!inst) return err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", id);
  if (!rc) rc = ui_validate_tree(tree, &h->cfg.budgets, err);
  char *text = NULL;
  if (!rc) {
    text = json_text(tree);
    if (!text) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    else if (strlen(text) > h->cfg.budgets.max_bytes)
      rc = err_set(err, AL_ECONTRACT, "root", "root serializes to %zu bytes, over the %zu-byte budget",
                   strlen(text), h->cfg.budgets.max_bytes);
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
  store_instance *inst = find(h, instance_id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  json_t *req = call_request(h, inst, "render", widget_id, NULL, NULL), *resp = NULL;
  if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  uint64_t start = clock_wall_ms();
  int rc = pool_call(h->pool, inst->worker, req, inst_timeout(inst, "renderMs"), &resp, err);
  if (!rc) rc = render_finish(h, inst->id, start, resp, tree_out, err);
  else err_instance(err, inst->id);
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
  json_t *req = json_pack("{s:s,s:s,s:s,s:O,s:O}", "op", "reduce", "instanceId", inst->id,
                          "actionType", action, "state", state, "payload", payload);
  json_t *resp = NULL;
  if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  int rc = pool_call(h->pool, inst->worker, req, inst_timeout(inst, "eventMs"), &resp, err);
  const json_t *v = NULL;
  if (!rc) rc = call_result(h, inst, inst->id, "reduce", clock_wall_ms(), resp, &v, err);
  if (!rc && json_is_true(json_object_get(v, "handled"))) {
    *handled = true;
    *next = json_deep_copy(json_object_get(v, "next"));
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
      rc = store_apply(h->store, inst, intents, "vm", host_plugin_reduce, h, &actions, &ch, err);
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
  store_instance *inst = find(h, instance_id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  json_t *args = NULL, *resp = NULL;
  int rc = 0;
  if (args_json && (rc = parse_arg(args_json, "args", &args, err))) return rc;
  json_t *req = call_request(h, inst, "event", widget_id, handler, args);
  if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  uint64_t start = clock_wall_ms();
  rc = pool_call(h->pool, inst->worker, req, inst_timeout(inst, "eventMs"), &resp, err);
  if (!rc) rc = event_finish(h, inst->id, start, resp, result_out, err);
  else err_instance(err, inst->id);
  json_decref(resp);
  return rc;
}

/* ---- asynchronous calls --------------------------------------------------------------- */

static int submit_async(al_host *h, store_instance *inst, host_op op, json_t *req, uint32_t timeout,
                        al_result_fn cb, void *user, al_error *err) {
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
  memcpy(pd->instance_id, inst->id, strlen(inst->id) + 1);
  int rc = pool_submit(h->pool, inst->worker, req, timeout, true, &pd->ticket, err);
  if (rc) {
    free(pd);
    err_instance(err, inst->id);
    return rc;
  }
  pd->next = h->pending;
  h->pending = pd;
  h->npending++;
  return 0;
}

int al_render_async(al_host *h, const char *instance_id, const char *widget_id, al_result_fn cb,
                    void *user) {
  if (!h || !widget_id || !cb) return AL_EINVALID_ARGUMENT;
  store_instance *inst = find(h, instance_id, NULL);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  return submit_async(h, inst, HOST_RENDER, call_request(h, inst, "render", widget_id, NULL, NULL),
                      inst_timeout(inst, "renderMs"), cb, user, NULL);
}

int al_event_async(al_host *h, const char *instance_id, const char *widget_id, const char *handler,
                   const char *args_json, al_result_fn cb, void *user) {
  if (!h || !widget_id || !handler || !cb) return AL_EINVALID_ARGUMENT;
  store_instance *inst = find(h, instance_id, NULL);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  json_t *args = NULL;
  if (args_json && parse_arg(args_json, "args", &args, NULL)) return AL_EINVALID_ARGUMENT;
  return submit_async(h, inst, HOST_EVENT, call_request(h, inst, "event", widget_id, handler, args),
                      inst_timeout(inst, "eventMs"), cb, user, NULL);
}

int al_host_fd(const al_host *h) { return h ? pool_fd(h->pool) : -1; }

size_t al_host_pending(const al_host *h) { return h ? h->npending : 0; }

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
    int rc = pd->op == HOST_RENDER ? render_finish(h, pd->instance_id, pd->start_ms, resp, &text, &e)
                                   : event_finish(h, pd->instance_id, pd->start_ms, resp, &text, &e);
    json_decref(resp);
    pd->cb(pd->user, rc, text, rc ? &e : NULL);
    al_free(text);
    free(pd);
    ran++;
  }
  return ran;
}

int al_debug(al_host *h, const char *instance_id, const char *what, unsigned arg, al_error *err) {
  if (!h || !what) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_debug needs a host and what");
  store_instance *inst = find(h, instance_id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  json_t *req;
  if (!strcmp(what, "crash")) {
    if (h->cfg.isolation != AL_ISOLATION_PROCESS)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "a crash is only contained with process isolation");
    req = json_pack("{s:s,s:s,s:s}", "op", "crash", "instanceId", inst->id, "signal", "SIGSEGV");
  } else if (!strcmp(what, "stall")) {
    req = json_pack("{s:s,s:s,s:I}", "op", "stall", "instanceId", inst->id, "ms", (json_int_t)arg);
  } else {
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "unknown diagnostic '%.40s'", what);
  }
  json_t *resp = NULL;
  uint64_t start = clock_wall_ms();
  int rc = pool_call(h->pool, inst->worker, req, inst_timeout(inst, "eventMs"), &resp, err);
  if (!rc) rc = call_result(h, inst, inst->id, what, start, resp, NULL, err);
  json_decref(resp);
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
  return out_json(json_pack("{s:b,s:I,s:{s:I,s:I,s:I},s:o}", "ready", 1, "workers",
                            (json_int_t)pool_workers(h->pool), "workerEvents", "starts",
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
  store_set_state(h->store, inst, v, &ch);
  notify(h, "state", NULL, &ch);
  store_changes_clear(&ch);
  return 0;
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
    if (!rc) notify(h, "grants", inst->id, &ch);
    store_changes_clear(&ch);
  }
  json_decref(g);
  return rc;
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

/*
 * load.c: an instance's life: loading its code into a new VM (al_load*, and
 * al_load_package from an installed package or a directory), replacing its code while it
 * runs (al_reload*), and unloading it (al_unload*).
 *
 * A load is prepared on the host thread (arguments, id, manifest and grants, the worker
 * by trust identity), runs on the instance's worker, and is finished by host_load_finish,
 * synchronously or from al_host_dispatch. A hot reload loads the new code under a
 * temporary id on the same worker, so the old VM keeps serving until the host has
 * accepted the new one. The hooks side of each step is in hooks.c.
 *
 * An ES module plugin (a .ts/.tsx/.mts/.mjs entry, or .js in a "type": "module" package)
 * is resolved, read and transpiled here, on the host (pkg/modgraph.h), and its load
 * request carries the module map instead of the code; preflight then scans the entry's
 * transpiled JavaScript, which its tokenizer knows, rather than TypeScript or JSX.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "contract/utf8.h"
#include "contract/validate.h"
#include "host/host_impl.h"
#include "pkg/db.h"
#include "pkg/manifest.h"
#include "pkg/modgraph.h"
#include "pkg/transpile.h"
#include "store/ids.h"
#include "worker/exec.h"

void host_load_free(host_load *ld) {
  if (!ld) return;
  free(ld->package_id);
  json_decref(ld->grants);
  json_decref(ld->caps);
  json_decref(ld->pi);
  free(ld);
}

static json_t *limits_json(const al_limits *l) {
  return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "memoryBytes", (json_int_t)l->memory_bytes,
                   "stackBytes", (json_int_t)l->stack_bytes, "loadMs", (json_int_t)l->load_ms,
                   "renderMs", (json_int_t)l->render_ms, "eventMs", (json_int_t)l->event_ms,
                   "stateBytes", (json_int_t)l->state_bytes);
}

/* Whether `id` names an instance or one whose async load is in flight. */
static bool id_taken(const al_host *h, const char *id) {
  if (store_find(h->store, id)) return true;
  for (const host_load *ld = h->loading; ld; ld = ld->next)
    if (strcmp(ld->id, id) == 0) return true;
  return false;
}

/* Takes `ld` off the list of async loads in flight, if it is on it. */
static void loading_unlink(al_host *h, host_load *ld) {
  for (host_load **pp = &h->loading; *pp; pp = &(*pp)->next)
    if (*pp == ld) {
      *pp = ld->next;
      ld->next = NULL;
      return;
    }
}

/* The worker request that evaluates `code` as `vm_id` under `lim`, with the `pi` record
 * (borrowed) its VM installs. */
static json_t *load_request(const al_host *h, const char *vm_id, const char *code, size_t len,
                            const char *source_name, const al_limits *lim, const json_t *pi,
                            const json_t *graph, al_error *err) {
  /* The source travels as JSON text to the worker, so it must be UTF-8. */
  json_t *src = graph ? json_deep_copy(graph) : json_stringn(code ? code : "", len);
  if (!src) {
    if (utf8_valid(code ? code : "", len)) err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    else err_set(err, AL_EPLUGIN_LOAD, NULL, "plugin source is not valid UTF-8");
    return NULL;
  }
  json_t *req = json_pack("{s:s,s:s,s:o,s:s,s:o,s:I,s:I}", "op", "load", "instanceId", vm_id,
                          graph ? "modules" : "code", src, "sourceName", source_name ? source_name : "<plugin>",
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

/* For an ES module plugin (source_name says so: modgraph.h), *graph gets its module map
 * (new reference), from package directory `dir` when there is one, else from `code`
 * alone; *code and *len then point at the entry's transpiled code, for preflight (borrowed
 * from *graph). Otherwise *graph stays NULL. */
static int load_graph(al_host *h, const char *dir, bool type_module, bool pi, const char *source_name,
                      const char **code, size_t *len, json_t **graph, al_error *err) {
  *graph = NULL;
  if (!pkg_is_module_name(source_name, type_module || pi)) {
    if (pi) return err_set(err, AL_EPLUGIN_LOAD, NULL, "a pi extension is a .ts, .js or .mjs module, not %.200s",
                           source_name ? source_name : "(unnamed)");
    return 0;
  }
  if (pi && !dir)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "a pi extension loads from a file or package (al_load_package)");
  char *cache = pkg_transpile_cache_dir(h->cfg.home);
  int rc = pi    ? pkg_modgraph_pi(dir, source_name, cache, graph, err)
           : dir ? pkg_modgraph(dir, source_name, cache, graph, err)
                 : pkg_modgraph_single(*code, *len, source_name, cache, graph, err);
  free(cache);
  if (rc) return rc;
  const json_t *entry = json_object_get(json_object_get(*graph, "files"),
                                        json_string_value(json_object_get(*graph, "entry")));
  *code = json_string_value(json_object_get(entry, "code"));
  *len = json_string_length(json_object_get(entry, "code"));
  return 0;
}

/* Checks a load's arguments, picks its id and grants, and builds its request. On success
 * *ld_out is owned by the caller (host_load_free) and *req is a new reference. `dir`
 * (may be NULL) is the package directory an ES module plugin's imports resolve in. */
static int load_prepare(al_host *h, const char *package_id, const char *code, size_t len,
                        const al_load_opts *opts, const char *dir, bool type_module,
                        char *id_out, size_t id_cap, host_load **ld_out, json_t **req,
                        al_error *err) {
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
  json_t *graph = NULL;
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
  ld->pi_profile = o.profile && !strcmp(o.profile, "pi");
  if (o.profile && !ld->pi_profile) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "unknown plugin profile '%.40s' (the one there is: pi)", o.profile);
    goto fail;
  }
  /* pi's events exist before the extension subscribes to them */
  if (ld->pi_profile && (rc = host_pi_declare(h, err))) goto fail;
  if ((rc = load_graph(h, dir, type_module, ld->pi_profile, o.source_name, &code, &len, &graph, err))) goto fail;
  /* A manifest brings its own grants and may tighten the limits; preflight runs here. */
  if ((rc = host_hooks_prepare(h, ld->id, package_id, code, len, &o, &ld->grants, &ld->caps, &ld->lim,
                               &ld->pi, err)))
    goto fail;
  if (ld->grants) {
    /* the manifest's shared grants */
  } else if (o.grants_json) {
    if ((rc = host_parse_arg(o.grants_json, "grants", &ld->grants, err))) goto fail;
    if ((rc = ui_validate_grants(ld->grants, err))) goto fail;
  } else if (!(ld->grants = store_default_grants(h->store, package_id))) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto fail;
  }
  host_limits_fill(&ld->lim, &h->cfg.limits);
  if (!(*req = load_request(h, ld->vm_id, code, len, o.source_name, &ld->lim, ld->pi, graph, err))) {
    rc = err ? err->code : AL_EPLUGIN_LOAD;
    goto fail;
  }
  json_decref(graph);
  if (id_out) memcpy(id_out, ld->id, strlen(ld->id) + 1);
  *ld_out = ld;
  return 0;
fail:
  json_decref(graph);
  if (rc != AL_EINSTANCE_EXISTS) {
    err_instance(err, ld->id[0] ? ld->id : NULL);
    if (ld->id[0]) hc_plugin_remove(h->hc, ld->id);
  }
  host_load_free(ld);
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
  host_inst *inst = host_find(h, instance_id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  if (inst->pi) /* its graph and profile come from its files (al_load_package), not code */
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "a pi extension is reloaded by unloading and loading it again");
  host_load *ld = calloc(1, sizeof *ld);
  if (!ld || !(ld->package_id = strdup(inst->rec->package_id))) {
    free(ld);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  ld->reload = true;
  ld->worker = inst->worker;
  memcpy(ld->id, inst->id, strlen(inst->id) + 1);
  /* '#' cannot start a generated id, and the sequence keeps two reloads in flight apart. */
  snprintf(ld->vm_id, sizeof ld->vm_id, "%s#reload%llu", inst->id,
           (unsigned long long)++h->reload_seq);
  ld->lim = inst->lim;
  ld->pi = host_hooks_pi(h, inst);
  int rc = hc_plugin_stage(h->hc, ld->vm_id, inst->id, err);
  /* a module plugin reloads as one module: al_reload has no package directory */
  json_t *graph = NULL;
  const char *name = opts ? opts->source_name : NULL;
  if (!rc) rc = load_graph(h, NULL, false, false, name, &code, &len, &graph, err);
  if (!rc && !(*req = load_request(h, ld->vm_id, code, len, name, &ld->lim, ld->pi, graph, err)))
    rc = err ? err->code : AL_EPLUGIN_LOAD;
  json_decref(graph);
  if (rc) {
    hc_plugin_remove(h->hc, ld->vm_id);
    err_instance(err, inst->id);
    host_load_free(ld);
    return rc;
  }
  *ld_out = ld;
  return 0;
}

/* Sends a bookkeeping request to `worker`: waits for it when the caller is synchronous;
 * otherwise queues it and lets al_host_dispatch() drop the answer, so the host thread
 * never waits behind plugin code. Returns 0 or the submit error. */
static int host_send(al_host *h, int worker, const char *id, json_t *req, bool async, al_error *err) {
  if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!async) {
    json_t *resp = NULL;
    int rc = pool_call(h->pool, worker, req, 1000, &resp, err);
    if (!rc) rc = wk_response_result(resp, NULL, err);
    json_decref(resp);
    return rc;
  }
  return host_submit_async(h, worker, id, HOST_DROP, req, 1000, NULL, NULL, NULL, NULL, err);
}

/* Finishes a load or reload from the worker's answer (NULL when the call itself failed,
 * with `call_rc`): validates the metadata and adds the instance, or, for a reload, swaps
 * the new VM in and updates the record. A failure leaves no trace: a refused VM is
 * disposed and a reloaded instance keeps its old code. *record_out (may be NULL) gets
 * the instance's record. */
int host_load_finish(al_host *h, host_load *ld, int call_rc, uint64_t start, const json_t *resp,
                     bool async, char **record_out, al_error *err) {
  json_t *meta = NULL;
  const json_t *m = NULL;
  store_changes ch = {0};
  host_inst *inst = ld->reload ? host_inst_get(h, ld->id) : NULL;
  loading_unlink(h, ld);
  int rc = call_rc;
  if (!rc) rc = host_call_result(h, inst, ld->id, ld->reload ? "reload" : "load", start, resp, &m, err);
  if (!rc) rc = host_hooks_vet(h, ld->worker, ld->vm_id, json_object_get(resp, "hooks"), NULL, 0, err);
  if (!rc && !(meta = json_deep_copy(m))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc) rc = ui_validate_metadata(meta, err);
  if (!rc && (rc = store_changes_init(&ch))) err_set(err, rc, NULL, "out of memory");
  if (!rc && ld->reload && !inst) /* unloaded while its new code was loading */
    rc = err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", ld->id);
  if (!rc && ld->reload) {
    /* Queued behind every call already made to the instance and ahead of every later
     * one, so calls see either the old code or the new, never a mix. */
    rc = host_send(h, ld->worker, ld->id,
                   json_pack("{s:s,s:s,s:s}", "op", "swap", "instanceId", ld->id, "from", ld->vm_id),
                   async, err);
    if (!rc && (rc = store_replace_meta(h->store, inst->rec, meta, &ch)))
      err_set(err, rc, NULL, "out of memory");
    if (!rc) host_vm_cache_forget(inst); /* calls after the swap reach a VM that holds nothing */
  } else if (!rc) {
    store_instance *rec = NULL;
    rc = store_add(h->store, ld->id, ld->package_id, meta, ld->grants, &rec, &ch, err);
    if (!rc && !(inst = host_inst_new(h, rec, &ld->lim, ld->worker, ld->pi))) {
      store_remove(h->store, ld->id, NULL, NULL);
      rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    }
    if (!rc) rec->state_limit = ld->lim.state_bytes; /* its state is the plugin's, kept here */
  }
  if (!rc) {
    inst->memory_bytes = (size_t)json_integer_value(
        json_object_get(json_object_get(resp, "stats"), "memoryBytes"));
    if (ld->reload) host_hooks_reloaded(h, inst, ld->vm_id, resp);
    else host_hooks_loaded(h, inst, resp);
    if (!ld->reload && ld->pi_profile) host_pi_loaded(h, inst, json_object_get(resp, "pi"));
    host_notify(h, ld->reload ? "reload" : "load", ld->id, &ch);
    if (record_out) rc = al_plugin_info(h, ld->id, record_out, err);
  } else {
    /* The worker may hold a VM for a load the host refused (bad metadata): drop it. */
    if (resp && !json_object_get(resp, "error"))
      host_send(h, ld->worker, ld->id, json_pack("{s:s,s:s}", "op", "dispose", "instanceId", ld->vm_id),
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
  rc = host_load_finish(h, ld, rc, start, resp, false, NULL, err);
  json_decref(resp);
  if (!rc && ld->pi_profile && !ld->reload) { /* an async factory still waiting: its remaining time */
    uint64_t spent = clock_wall_ms() - start;
    rc = host_pi_settle(h, ld->id, spent < ld->lim.load_ms ? (unsigned)(ld->lim.load_ms - spent) : 1, err);
  }
  host_load_free(ld);
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

/* al_load, with the package directory an ES module plugin resolves its imports in. */
int host_load_sync(al_host *h, const char *package_id, const char *code, size_t len,
                   const al_load_opts *opts, const char *dir, bool type_module, char *id_out,
                   size_t id_cap, al_error *err) {
  host_load *ld;
  json_t *req;
  int rc = load_prepare(h, package_id, code, len, opts, dir, type_module, id_out, id_cap, &ld, &req, err);
  if (!rc && (rc = load_place(h, ld, err))) {
    json_decref(req);
    host_load_free(ld);
  }
  if (rc) return rc;
  return load_run(h, ld, req, err);
}

int al_load(al_host *h, const char *package_id, const char *code, size_t len,
            const al_load_opts *opts, char *id_out, size_t id_cap, al_error *err) {
  return host_load_sync(h, package_id, code, len, opts, NULL, false, id_out, id_cap, err);
}

int al_reload(al_host *h, const char *instance_id, const char *code, size_t len,
              const al_load_opts *opts, al_error *err) {
  host_load *ld;
  json_t *req;
  int rc = reload_prepare(h, instance_id, code, len, opts, &ld, &req, err);
  if (rc) return rc;
  return load_run(h, ld, req, err);
}

int al_load_async(al_host *h, const char *package_id, const char *code, size_t len,
                  const al_load_opts *opts, char *id_out, size_t id_cap, al_result_fn cb,
                  void *user, al_error *err) {
  if (!cb) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_load_async needs a callback");
  host_load *ld;
  json_t *req;
  int rc = load_prepare(h, package_id, code, len, opts, NULL, false, id_out, id_cap, &ld, &req, err);
  if (rc) return rc;
  if ((rc = load_place(h, ld, err))) {
    json_decref(req);
    host_load_free(ld);
    return rc;
  }
  rc = host_submit_async(h, ld->worker, ld->id, HOST_LOAD, req, ld->lim.load_ms, cb, user, ld, NULL, err);
  if (rc) {
    pool_release(h->pool, ld->worker);
    host_load_free(ld);
    return rc;
  }
  ld->next = h->loading; /* its id is taken until it finishes */
  h->loading = ld;
  return 0;
}

int al_reload_async(al_host *h, const char *instance_id, const char *code, size_t len,
                    const al_load_opts *opts, al_result_fn cb, void *user, al_error *err) {
  if (!cb) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_reload_async needs a callback");
  host_load *ld;
  json_t *req;
  int rc = reload_prepare(h, instance_id, code, len, opts, &ld, &req, err);
  if (rc) return rc;
  rc = host_submit_async(h, ld->worker, ld->id, HOST_RELOAD, req, ld->lim.load_ms, cb, user, ld, NULL, err);
  if (rc) host_load_free(ld);
  return rc;
}

int al_unload(al_host *h, const char *instance_id, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  host_inst *inst = host_find(h, instance_id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  char id[AL_INSTANCE_ID_MAX];
  memcpy(id, inst->id, strlen(inst->id) + 1);
  store_changes ch;
  if (store_changes_init(&ch)) {
    store_changes_clear(&ch);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  host_call_drop(h, inst);
  if (!(inst = host_find(h, id, err))) { /* a dropped call's callback unloaded it */
    store_changes_clear(&ch);
    return AL_EINSTANCE_NOT_FOUND;
  }
  /* Host state goes first: whatever the worker answers, the instance is gone. */
  json_t *req = json_pack("{s:s,s:s}", "op", "dispose", "instanceId", id);
  int worker = inst->worker;
  host_hooks_unloaded(h, inst);
  host_inst_free(h, inst);
  int rc = store_remove(h->store, id, &ch, err);
  if (!rc) {
    json_t *resp = NULL;
    if (!pool_call(h->pool, worker, req, 1000, &resp, NULL)) json_decref(resp);
    req = NULL;
    pool_release(h->pool, worker);
    host_notify(h, "unload", NULL, &ch);
  }
  json_decref(req);
  store_changes_clear(&ch);
  return rc;
}

int al_unload_async(al_host *h, const char *instance_id, al_result_fn cb, void *user,
                    al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  host_inst *inst = host_find(h, instance_id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  char id[AL_INSTANCE_ID_MAX];
  memcpy(id, inst->id, strlen(inst->id) + 1);
  store_changes ch;
  if (store_changes_init(&ch)) {
    store_changes_clear(&ch);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  host_call_drop(h, inst);
  if (!(inst = host_find(h, id, err))) { /* a dropped call's callback unloaded it */
    store_changes_clear(&ch);
    return AL_EINSTANCE_NOT_FOUND;
  }
  int worker = inst->worker;
  host_hooks_unloaded(h, inst);
  host_inst_free(h, inst);
  int rc = store_remove(h->store, id, &ch, err);
  if (!rc) {
    /* As in al_unload, host state goes first; the VM is freed when the worker reaches the
     * dispose, behind whatever the instance was still running. */
    /* A full queue (BUSY) leaves the VM to pool_free(), as al_unload's ignored answer
     * does; the instance is gone for the host either way. */
    host_submit_async(h, worker, id, HOST_DROP,
                      json_pack("{s:s,s:s}", "op", "dispose", "instanceId", id), 1000, cb, user, NULL,
                      NULL, NULL);
    pool_release(h->pool, worker);
    host_notify(h, "unload", NULL, &ch);
  }
  store_changes_clear(&ch);
  return rc;
}

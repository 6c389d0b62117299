/*
 * state.c: what the store holds, read and written through the string API: an instance's
 * local state and its view of the shared state, the shared domains, grants (and the
 * packages' registered manifest grants), the trace and the timeline (whole, or after a
 * cursor); and the adapters that let C code written against that API reduce
 * intents and own shared domains in the store, which works in json_t.
 */
#include <stdlib.h>
#include <string.h>

#include "contract/validate.h"
#include "pkg/manifest.h"
#include "airlock_jansson.h"
#include "host/host_impl.h"

/* ---- state ---------------------------------------------------------------------------- */

/* The store's part of the instance named `id` (what this file reads and writes), or NULL
 * with host_find's error. */
static store_instance *find_rec(al_host *h, const char *id, al_error *err) {
  host_inst *inst = host_find(h, id, err);
  return inst ? inst->rec : NULL;
}

int al_state_get(al_host *h, const char *instance_id, char **json_out, al_error *err) {
  store_instance *inst = find_rec(h, instance_id, err);
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  return host_out_json(store_plugin_state(inst), json_out, err);
}

int al_state_set(al_host *h, const char *instance_id, const char *json, al_error *err) {
  store_instance *inst = find_rec(h, instance_id, err);
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  if (!json) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "state must not be NULL");
  json_t *v;
  int rc = host_parse_arg(json, "state", &v, err);
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
  if (!rc) host_notify(h, "state", NULL, &ch);
  store_changes_clear(&ch);
  return rc;
}

int al_global_state(al_host *h, const char *instance_id, char **json_out, al_error *err) {
  store_instance *inst = find_rec(h, instance_id, err);
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  return host_out_json(store_global_state(h->store, inst), json_out, err);
}

int al_shared_get(al_host *h, const char *domain, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *p;
  int rc = store_projection(h->store, domain, &p, err);
  return rc ? rc : host_out_json(p, json_out, err);
}

int al_shared_domains(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return host_out_json(store_domain_names(h->store), json_out, err);
}

int al_grants_get(al_host *h, const char *instance_id, char **json_out, al_error *err) {
  store_instance *inst = find_rec(h, instance_id, err);
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  return host_out_json(json_deep_copy(inst->grants), json_out, err);
}

int al_grants_set(al_host *h, const char *instance_id, const char *grants_json,
                  const char *source, al_error *err) {
  store_instance *inst = find_rec(h, instance_id, err);
  if (!inst) return h ? AL_EINSTANCE_NOT_FOUND : AL_EINVALID_ARGUMENT;
  if (!grants_json) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "grants must not be NULL");
  json_t *g;
  int rc = host_parse_arg(grants_json, "grants", &g, err);
  if (!rc) rc = ui_validate_grants(g, err);
  store_changes ch = {0};
  if (!rc && (rc = store_changes_init(&ch))) err_set(err, rc, NULL, "out of memory");
  if (!rc) {
    rc = store_set_grants(h->store, inst, g, source ? source : "host", &ch, err);
    if (!rc) {
      hc_audit(h->hc, inst->package_id, "grants", inst->id, "changed", grants_json);
      host_notify(h, "grants", inst->id, &ch);
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
  return g ? host_out_json(g, json_out, err) : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
}

int al_package_register(al_host *h, const char *manifest_json, al_error *err) {
  if (!h || !manifest_json)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_package_register needs a host and a manifest");
  pkg_manifest *m = NULL;
  /* Not strict: the same rule as a manifest given at load, without its warnings. */
  int rc = pkg_manifest_parse(manifest_json, strlen(manifest_json), false, false, &m, NULL, err);
  if (rc) return rc;
  json_t *g = json_pack("{s:O,s:O,s:[]}", "readShared", json_object_get(m->shared, "read"),
                        "writeShared", json_object_get(m->shared, "write"), "systemCommands");
  rc = g && !store_set_manifest_grants(h->store, m->id, g) ? 0
                                                           : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  pkg_manifest_free(m);
  return rc;
}

int al_trace(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return host_out_json(store_trace(h->store), json_out, err);
}

int al_timeline(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return host_out_json(store_timeline(h->store), json_out, err);
}

int al_timeline_since(al_host *h, uint64_t after_seq, char **json_out, uint64_t *last_seq,
                      al_error *err) {
  if (json_out) *json_out = NULL;
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  uint64_t last;
  json_t *a = store_timeline_since(h->store, after_seq, &last);
  if (last_seq) *last_seq = last;
  return host_out_json(a, json_out, err);
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

static json_t *host_domain_project(void *user, const json_t *state) {
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

/* What both registrations check: a name, known derive flags, a derived domain's shape. */
static int domain_check(const char *name, unsigned derive, bool reduce, bool project, bool on_unload,
                        bool initial, al_error *err) {
  if (!name)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_register_domain needs a host and a named definition");
  if (derive & ~(unsigned)(AL_DOMAIN_DERIVE_INSTANCES | AL_DOMAIN_DERIVE_TRACE))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "shared domain '%s': unknown derive flags %#x", name, derive);
  if (derive && (reduce || on_unload || !project || initial))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "shared domain '%s' is derived: it takes a project function and no state, reduce or on_unload",
                   name);
  return 0;
}

int al_register_domain(al_host *h, const al_domain_def *def, al_error *err) {
  if (!h || !def) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_register_domain needs a host and a named definition");
  int rc = domain_check(def->name, def->derive, def->reduce, def->project, def->on_unload,
                        def->initial_state_json != NULL, err);
  if (rc) return rc;
  json_t *init = NULL;
  if (def->initial_state_json && (rc = host_parse_arg(def->initial_state_json, "initial_state_json", &init, err)))
    return rc;
  host_domain *d = malloc(sizeof *d);
  if (!d) {
    json_decref(init);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  d->def = *def;
  store_domain_ops ops = {.reduce = def->reduce ? host_domain_reduce : NULL,
                          .project = def->project ? host_domain_project : NULL,
                          .on_unload = def->on_unload ? host_domain_unload : NULL,
                          .free_user = free, .derive = def->derive};
  /* The name is copied by the store; the rest of def is the caller's to keep alive. */
  rc = store_register_domain(h->store, def->name, init, &ops, d, err);
  if (rc) free(d);
  return rc;
}

/* ---- the same over jansson values (airlock_jansson.h) ---------------------------------
 * The store's callbacks have these very signatures: the caller's functions are handed to
 * it as they are, with no adapter in between. */

int al_register_reducer_jansson(al_host *h, const char *package_id, al_reducer_jansson_fn fn,
                                void *user, al_error *err) {
  if (!h || !fn) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_register_reducer_jansson needs a host and a function");
  return store_register_reducer(h->store, package_id, fn, user, NULL, err);
}

int al_register_domain_jansson(al_host *h, const al_domain_jansson_def *def, al_error *err) {
  if (!h || !def) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_register_domain needs a host and a named definition");
  int rc = domain_check(def->name, def->derive, def->reduce, def->project, def->on_unload,
                        def->initial_state != NULL, err);
  if (rc) return rc;
  json_t *init = def->initial_state ? json_deep_copy(def->initial_state) : NULL;
  if (def->initial_state && !init) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  store_domain_ops ops = {.reduce = def->reduce, .project = def->project, .on_unload = def->on_unload,
                          .derive = def->derive};
  return store_register_domain(h->store, def->name, init, &ops, def->user, err);
}

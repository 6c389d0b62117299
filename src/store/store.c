/*
 * store.c: instances, local state, grants, shared domains, reducers, trace and timeline.
 *
 * Instances live in a load-ordered array plus an open-addressing index by id, so lookups
 * stay O(1) with thousands of instances. Domain states are jansson values that are only
 * ever replaced, never mutated in place, so a projection handed out earlier stays valid.
 * Every dispatch is stamped in store_apply.c and nowhere else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

static store_instance tomb_;
#define TOMB (&tomb_)

/* ---- change sets ---------------------------------------------------------------------- */

int store_changes_init(store_changes *c) {
  c->instances = json_object();
  c->domains = json_object();
  return c->instances && c->domains ? 0 : AL_ENO_MEMORY;
}

void store_changes_clear(store_changes *c) {
  json_decref(c->instances);
  json_decref(c->domains);
  c->instances = c->domains = NULL;
}

bool store_changes_empty(const store_changes *c) {
  return json_object_size(c->instances) == 0 && json_object_size(c->domains) == 0;
}

void store_mark_instance(store_changes *ch, const char *id) {
  if (ch) json_object_set_new(ch->instances, id, json_true());
}
/* A domain's projection changed: stamped whether or not the caller collects changes. */
void store_mark_domain(store *s, store_changes *ch, store_domain *d) {
  d->stamp = ++s->clock;
  /* a derived domain's view changed (a reducer domain's cache went with its state) */
  json_decref(d->proj);
  d->proj = NULL;
  if (ch) json_object_set_new(ch->domains, d->name, json_true());
}

/* ---- index ---------------------------------------------------------------------------- */

static uint64_t hash_id(const char *s) { return al_hash64(s, strlen(s), AL_HASH64_SEED); }

/* Rehashes the live instances into a table of `ncap` slots (a power of two, at least
 * twice the live count), dropping tombstones. */
static int index_rebuild(store *s, size_t ncap) {
  while (ncap < s->count * 2 + 2) ncap *= 2;
  store_instance **ni = calloc(ncap, sizeof *ni);
  if (!ni) return AL_ENO_MEMORY;
  for (size_t i = 0; i < s->count; i++) {
    size_t j = hash_id(s->list[i]->id) & (ncap - 1);
    while (ni[j]) j = (j + 1) & (ncap - 1);
    ni[j] = s->list[i];
  }
  free(s->index);
  s->index = ni;
  s->index_cap = ncap;
  s->index_used = s->count;
  return 0;
}

store_instance *store_find(const store *s, const char *id) {
  if (!s->index_cap || !id) return NULL;
  for (size_t j = hash_id(id) & (s->index_cap - 1);; j = (j + 1) & (s->index_cap - 1)) {
    store_instance *e = s->index[j];
    if (!e) return NULL;
    if (e != TOMB && strcmp(e->id, id) == 0) return e;
  }
}

size_t store_count(const store *s) { return s->count; }
store_instance *store_at(const store *s, size_t i) { return i < s->count ? s->list[i] : NULL; }

/* ---- lifecycle ------------------------------------------------------------------------ */

store *store_new(uint32_t timeline_capacity) {
  store *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->tl_cap = timeline_capacity ? timeline_capacity : 1;
  s->timeline = calloc(s->tl_cap, sizeof *s->timeline);
  s->manifests = json_object();
  s->trace = json_pack("{s:i,s:n,s:n,s:n,s:n,s:n,s:n}", "count", 0, "lastDispatchId",
                       "lastTimestamp", "lastScope", "lastActionType", "lastOutcome",
                       "lastReason");
  if (!s->timeline || !s->manifests || !s->trace) {
    store_free(s);
    return NULL;
  }
  id_gen_init(&s->ids);
  return s;
}

static void instance_free(store_instance *inst) {
  if (!inst) return;
  free(inst->package_id);
  json_decref(inst->record);
  json_decref(inst->state);
  json_decref(inst->grants);
  json_decref(inst->delta_set);
  json_decref(inst->delta_del);
  free(inst);
}

void store_free(store *s) {
  if (!s) return;
  for (size_t i = 0; i < s->count; i++) instance_free(s->list[i]);
  free(s->list);
  free(s->index);
  for (size_t i = 0; i < s->ndomains; i++) {
    store_domain *d = &s->domains[i];
    if (d->ops.free_user) d->ops.free_user(d->user);
    free(d->name);
    json_decref(d->state);
    json_decref(d->proj);
  }
  free(s->domains);
  for (size_t i = 0; i < s->nreducers; i++) {
    if (s->reducers[i].free_user) s->reducers[i].free_user(s->reducers[i].user);
    free(s->reducers[i].package_id);
  }
  free(s->reducers);
  json_decref(s->manifests);
  json_decref(s->trace);
  if (s->timeline)
    for (uint32_t i = 0; i < s->tl_cap; i++) json_decref(s->timeline[i]);
  free(s->timeline);
  free(s);
}

/* ---- registration --------------------------------------------------------------------- */

store_domain *store_domain_find(const store *s, const char *name) {
  for (size_t i = 0; i < s->ndomains; i++)
    if (strcmp(s->domains[i].name, name) == 0) return &s->domains[i];
  return NULL;
}

store_reducer *store_reducer_find(const store *s, const char *package_id) {
  for (size_t i = 0; i < s->nreducers; i++)
    if (strcmp(s->reducers[i].package_id, package_id) == 0) return &s->reducers[i];
  return NULL;
}

int store_register_reducer(store *s, const char *package_id, store_reducer_fn fn, void *user,
                           void (*free_user)(void *), al_error *err) {
  if (!package_id || !*package_id || !fn)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "a reducer needs a package id and a function");
  if (store_reducer_find(s, package_id))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "package '%s' already has a reducer",
                   package_id);
  store_reducer *nr = realloc(s->reducers, (s->nreducers + 1) * sizeof *nr);
  if (!nr) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  s->reducers = nr;
  char *pid = strdup(package_id);
  if (!pid) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  s->reducers[s->nreducers++] = (store_reducer){pid, fn, user, free_user};
  return 0;
}

int store_register_domain(store *s, const char *name, json_t *initial_state,
                          const store_domain_ops *ops, void *user, al_error *err) {
  if (!name || !*name) {
    json_decref(initial_state);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "a shared domain needs a name");
  }
  if (store_domain_find(s, name)) {
    json_decref(initial_state);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "shared domain '%s' is already registered",
                   name);
  }
  store_domain *nd = realloc(s->domains, (s->ndomains + 1) * sizeof *nd);
  char *nm = strdup(name);
  if (!nd || !nm) {
    if (nd) s->domains = nd;
    free(nm);
    json_decref(initial_state);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  s->domains = nd;
  s->domains[s->ndomains++] =
      (store_domain){nm, ++s->clock, initial_state ? initial_state : json_null(), NULL, *ops, user};
  return 0;
}

int store_set_manifest_grants(store *s, const char *package_id, json_t *grants) {
  return json_object_set_new(s->manifests, package_id, grants) ? AL_ENO_MEMORY : 0;
}

json_t *store_grants_normalize(const json_t *g) {
  json_t *out = json_object();
  static const char *const keys[] = {"readShared", "writeShared", "systemCommands"};
  for (size_t i = 0; i < 3; i++) {
    json_t *v = g ? json_object_get(g, keys[i]) : NULL;
    json_object_set_new(out, keys[i], v ? json_deep_copy(v) : json_array());
  }
  return out;
}

json_t *store_default_grants(const store *s, const char *package_id) {
  return store_grants_normalize(json_object_get(s->manifests, package_id));
}

bool store_grant_has(const store_instance *inst, const char *kind, const char *domain) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(inst->grants, kind), i, v)
    if (strcmp(json_string_value(v), domain) == 0) return true;
  return false;
}

/* ---- instances ------------------------------------------------------------------------ */

void store_registry_changed(store *s, store_changes *ch) {
  for (size_t i = 0; i < s->ndomains; i++)
    if (s->domains[i].ops.derive & AL_DOMAIN_DERIVE_INSTANCES) store_mark_domain(s, ch, &s->domains[i]);
}

int store_add(store *s, const char *id, const char *package_id, const json_t *meta,
              const json_t *grants, store_instance **out, store_changes *ch, al_error *err) {
  if (store_find(s, id))
    return err_set(err, AL_EINSTANCE_EXISTS, NULL, "an instance with id '%s' already exists", id);
  if (strlen(id) >= AL_INSTANCE_ID_MAX)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "instance id is too long");
  store_instance *inst = calloc(1, sizeof *inst);
  if (!inst) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  memcpy(inst->id, id, strlen(id) + 1);
  inst->package_id = strdup(package_id);
  inst->record = json_object();
  inst->grants = store_grants_normalize(grants);
  if (!inst->package_id || !inst->record || !inst->grants) goto nomem;
  json_object_set_new(inst->record, "instanceId", json_string(id));
  json_object_set_new(inst->record, "packageId", json_string(package_id));
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)meta, k, v) json_object_set(inst->record, k, v);
  json_object_set_new(inst->record, "status", json_string("loaded"));
  json_t *init = json_object_get(meta, "initialState");
  if (init && !(inst->state = json_deep_copy(init))) goto nomem;
  inst->state_bytes = store_state_bytes(inst->state);
  inst->state_version = ++s->clock;
  inst->grants_stamp = ++s->clock;

  if (s->count == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 16;
    store_instance **nl = realloc(s->list, ncap * sizeof *nl);
    if (!nl) goto nomem;
    s->list = nl;
    s->cap = ncap;
  }
  if ((s->index_used + 1) * 2 > s->index_cap) {
    if (index_rebuild(s, s->index_cap ? s->index_cap * 2 : 64)) goto nomem;
  }
  s->list[s->count++] = inst;
  size_t j = hash_id(id) & (s->index_cap - 1);
  while (s->index[j] && s->index[j] != TOMB) j = (j + 1) & (s->index_cap - 1);
  if (!s->index[j]) s->index_used++;
  s->index[j] = inst;
  store_registry_changed(s, ch);
  store_mark_instance(ch, id);
  *out = inst;
  return 0;
nomem:
  instance_free(inst);
  return err_set(err, AL_ENO_MEMORY, NULL, "out of memory adding an instance");
}

int store_replace_meta(store *s, store_instance *inst, const json_t *meta, store_changes *ch) {
  /* Only what the plugin's definition supplies is replaced: the id, package, limits and
   * local state are the host's and survive a hot reload. */
  static const char *const plugin_keys[] = {"declaredId", "title", "description",
                                            "initialState", "widgets"};
  json_t *rec = json_deep_copy(inst->record);
  if (!rec) return AL_ENO_MEMORY;
  for (size_t i = 0; i < sizeof plugin_keys / sizeof plugin_keys[0]; i++) {
    json_t *v = json_object_get(meta, plugin_keys[i]);
    if (!v) {
      json_object_del(rec, plugin_keys[i]);
    } else if (json_object_set(rec, plugin_keys[i], v)) {
      json_decref(rec);
      return AL_ENO_MEMORY;
    }
  }
  json_object_set_new(rec, "status", json_string("loaded"));
  json_object_del(rec, "error");
  json_decref(inst->record);
  inst->record = rec;
  store_registry_changed(s, ch);
  /* New code renders differently from the same state: every widget is stale. */
  store_mark_instance(ch, inst->id);
  return 0;
}

static json_t *project(const store *s, const store_domain *cd) {
  if (!cd->ops.project) return json_incref(cd->state);
  store_domain *d = (store_domain *)cd; /* the cache is not the domain's value: see proj */
  if (!d->proj) {
    if (!d->ops.derive) {
      d->proj = d->ops.project(d->user, d->state);
    } else {
      json_t *view = store_view(s, d->ops.derive);
      d->proj = view ? d->ops.project(d->user, view) : NULL;
      json_decref(view);
    }
  }
  return json_incref(d->proj);
}

/* Replaces a domain's state, marking it changed only if its projection changed. */
void store_domain_set(store *s, store_domain *d, json_t *next, store_changes *ch) {
  if (json_equal(d->state, next)) {
    json_decref(next);
    return;
  }
  json_t *before = project(s, d);
  json_decref(d->state);
  d->state = next;
  json_decref(d->proj);
  d->proj = NULL;
  json_t *after = project(s, d);
  if (!json_equal(before, after)) store_mark_domain(s, ch, d);
  json_decref(before);
  json_decref(after);
}

int store_remove(store *s, const char *id, store_changes *ch, al_error *err) {
  store_instance *inst = store_find(s, id);
  if (!inst) return err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", id);
  for (size_t i = 0; i < s->ndomains; i++) {
    store_domain *d = &s->domains[i];
    json_t *next = NULL;
    if (d->ops.on_unload && d->ops.on_unload(d->user, id, d->state, &next) == AL_REDUCE_APPLIED &&
        next)
      store_domain_set(s, d, next, ch);
  }
  for (size_t j = hash_id(id) & (s->index_cap - 1);; j = (j + 1) & (s->index_cap - 1)) {
    if (s->index[j] == inst) {
      s->index[j] = TOMB;
      break;
    }
  }
  for (size_t i = 0; i < s->count; i++) {
    if (s->list[i] == inst) {
      memmove(&s->list[i], &s->list[i + 1], (s->count - i - 1) * sizeof *s->list);
      s->count--;
      break;
    }
  }
  /* Sweep tombstones once they dominate; on failure the old table stays valid. */
  if (s->index_used > s->count * 4 + 64) index_rebuild(s, 64);
  store_registry_changed(s, ch);
  instance_free(inst);
  return 0;
}

json_t *store_plugin_state(const store_instance *inst) {
  return inst->state ? json_incref(inst->state) : json_object();
}

json_t *store_global_state(const store *s, const store_instance *inst) {
  json_t *shared = json_object();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(inst->grants, "readShared"), i, v) {
    const store_domain *d = store_domain_find(s, json_string_value(v));
    if (d) json_object_set_new(shared, d->name, project(s, d));
  }
  return json_pack("{s:{s:s,s:s},s:o}", "self", "instanceId", inst->id, "packageId",
                   inst->package_id, "shared", shared);
}

uint64_t store_global_version(const store *s, const store_instance *inst) {
  /* Every stamp comes from one clock, so the newest of the inputs' stamps changes
   * whenever any input does. */
  uint64_t v = inst->grants_stamp;
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(inst->grants, "readShared"), i, n) {
    const store_domain *d = store_domain_find(s, json_string_value(n));
    if (d && d->stamp > v) v = d->stamp;
  }
  return v;
}

int store_projection(const store *s, const char *domain, json_t **out, al_error *err) {
  const store_domain *d = domain ? store_domain_find(s, domain) : NULL;
  if (!d) {
    *out = NULL;
    return err_set(err, AL_EUNKNOWN_DOMAIN, NULL, "unknown shared domain '%s'",
                   domain ? domain : "(null)");
  }
  *out = project(s, d);
  return *out ? 0 : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
}

json_t *store_domain_names(const store *s) {
  json_t *a = json_array();
  for (size_t i = 0; i < s->ndomains; i++) json_array_append_new(a, json_string(s->domains[i].name));
  return a;
}

json_t *store_trace(const store *s) { return json_deep_copy(s->trace); }

json_t *store_view(const store *s, unsigned derive) {
  json_t *v = json_object();
  if (v && (derive & AL_DOMAIN_DERIVE_INSTANCES)) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->count; i++) {
      /* al_plugin_info's record: a shallow copy without the host's bookkeeping */
      json_t *r = json_copy(s->list[i]->record);
      if (r) json_object_del(r, "limits");
      if (!r || json_array_append_new(a, r)) {
        json_decref(a);
        a = NULL;
      }
    }
    if (!a || json_object_set_new(v, "instances", a)) goto fail;
  }
  if (v && (derive & AL_DOMAIN_DERIVE_TRACE) && json_object_set_new(v, "trace", store_trace(s)))
    goto fail;
  return v;
fail:
  json_decref(v);
  return NULL;
}

json_t *store_timeline(const store *s) {
  json_t *a = json_array();
  for (uint32_t i = 0; i < s->tl_len; i++) {
    uint32_t k = (s->tl_head + s->tl_cap - s->tl_len + i) % s->tl_cap;
    json_array_append(a, s->timeline[k]);
  }
  return a;
}

json_t *store_timeline_since(const store *s, uint64_t after_seq, uint64_t *last_seq) {
  /* The ring holds the newest tl_len of `count` entries recorded: numbers
   * count - tl_len + 1 .. count, so the cursor needs no field of its own. */
  uint64_t count = (uint64_t)json_integer_value(json_object_get(s->trace, "count"));
  *last_seq = count;
  json_t *a = json_array();
  uint64_t first = count - s->tl_len + 1;
  uint64_t from = after_seq + 1 > first ? after_seq + 1 : first;
  for (uint64_t n = from; a && n <= count; n++) {
    uint32_t k = (uint32_t)((s->tl_head + s->tl_cap - (count - n) - 1) % s->tl_cap);
    if (json_array_append(a, s->timeline[k])) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

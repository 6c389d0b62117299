/*
 * store.c: instances, local state, grants, shared domains, reducers, trace and timeline.
 *
 * Instances live in a load-ordered array plus an open-addressing index by id, so lookups
 * stay O(1) with thousands of instances. Domain states are jansson values that are only
 * ever replaced, never mutated in place, so a projection handed out earlier stays valid.
 * Every dispatch is stamped here and nowhere else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "store.h"

typedef struct store_domain {
  char *name;
  uint64_t stamp; /* when its projection last changed (the store's clock) */
  json_t *state;
  /* The projection of `state` (or of the view, for a derived domain) last computed; NULL:
   * not yet, or its input changed since. A projection is a pure function of its input,
   * and what is handed out is never changed in place, so every reader of an unchanged
   * domain shares one: a domain whose projection goes through the text API (a front
   * end's) is projected once per change, not once per render of each reader. */
  json_t *proj;
  store_domain_ops ops;
  void *user;
} store_domain;

typedef struct store_reducer {
  char *package_id;
  store_reducer_fn fn;
  void *user;
  void (*free_user)(void *);
} store_reducer;

struct store {
  store_instance **list; /* load order */
  size_t count, cap;
  store_instance **index; /* open addressing; NULL empty, TOMB deleted */
  size_t index_cap;       /* power of two */
  size_t index_used;      /* live + tombstones */

  store_domain *domains;
  size_t ndomains;
  store_reducer *reducers;
  size_t nreducers;
  json_t *manifests; /* packageId -> grants */

  id_gen ids;
  uint64_t clock; /* stamps every version (store.h); only ever grows */
  json_t *trace;
  json_t **timeline; /* ring */
  uint32_t tl_cap, tl_head, tl_len;
};

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

static void mark_instance(store_changes *ch, const char *id) {
  if (ch) json_object_set_new(ch->instances, id, json_true());
}
/* A domain's projection changed: stamped whether or not the caller collects changes. */
static void mark_domain(store *s, store_changes *ch, store_domain *d) {
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

static store_domain *find_domain(const store *s, const char *name) {
  for (size_t i = 0; i < s->ndomains; i++)
    if (strcmp(s->domains[i].name, name) == 0) return &s->domains[i];
  return NULL;
}

static store_reducer *find_reducer(const store *s, const char *package_id) {
  for (size_t i = 0; i < s->nreducers; i++)
    if (strcmp(s->reducers[i].package_id, package_id) == 0) return &s->reducers[i];
  return NULL;
}

int store_register_reducer(store *s, const char *package_id, store_reducer_fn fn, void *user,
                           void (*free_user)(void *), al_error *err) {
  if (!package_id || !*package_id || !fn)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "a reducer needs a package id and a function");
  if (find_reducer(s, package_id))
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
  if (find_domain(s, name)) {
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

static json_t *grants_normalize(const json_t *g) {
  json_t *out = json_object();
  static const char *const keys[] = {"readShared", "writeShared", "systemCommands"};
  for (size_t i = 0; i < 3; i++) {
    json_t *v = g ? json_object_get(g, keys[i]) : NULL;
    json_object_set_new(out, keys[i], v ? json_deep_copy(v) : json_array());
  }
  return out;
}

json_t *store_default_grants(const store *s, const char *package_id) {
  return grants_normalize(json_object_get(s->manifests, package_id));
}

static bool grant_has(const store_instance *inst, const char *kind, const char *domain) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(inst->grants, kind), i, v)
    if (strcmp(json_string_value(v), domain) == 0) return true;
  return false;
}

/* ---- instances ------------------------------------------------------------------------ */

static void registry_changed(store *s, store_changes *ch) {
  for (size_t i = 0; i < s->ndomains; i++)
    if (s->domains[i].ops.derive & AL_DOMAIN_DERIVE_INSTANCES) mark_domain(s, ch, &s->domains[i]);
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
  inst->grants = grants_normalize(grants);
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
  registry_changed(s, ch);
  mark_instance(ch, id);
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
  registry_changed(s, ch);
  /* New code renders differently from the same state: every widget is stale. */
  mark_instance(ch, inst->id);
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
static void domain_replace(store *s, store_domain *d, json_t *next, store_changes *ch) {
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
  if (!json_equal(before, after)) mark_domain(s, ch, d);
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
      domain_replace(s, d, next, ch);
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
  registry_changed(s, ch);
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
    const store_domain *d = find_domain(s, json_string_value(v));
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
    const store_domain *d = find_domain(s, json_string_value(n));
    if (d && d->stamp > v) v = d->stamp;
  }
  return v;
}

int store_projection(const store *s, const char *domain, json_t **out, al_error *err) {
  const store_domain *d = domain ? find_domain(s, domain) : NULL;
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

/* ---- dispatch ------------------------------------------------------------------------- */

static void metrics_changed(store *s, store_changes *ch) {
  for (size_t i = 0; i < s->ndomains; i++)
    if (s->domains[i].ops.derive & AL_DOMAIN_DERIVE_TRACE) mark_domain(s, ch, &s->domains[i]);
}

/* Stamps and records one action: trace, timeline ring, derived metrics. Returns the
 * action (new reference). */
/* The timeline's copy of an action, carrying the payload (NULL: none) so a person can
 * inspect it. Payloads over STORE_PAYLOAD_MAX bytes of JSON text are kept as a prefix of
 * that text, cut on a UTF-8 boundary and marked payloadTruncated, so one huge intent
 * cannot make the timeline hold megabytes. */
static json_t *timeline_entry(json_t *a, const json_t *payload) {
  if (!payload) return json_incref(a);
  json_t *t = json_copy_checked(a);
  char *text = t ? json_text(payload) : NULL;
  if (!text) {
    json_decref(t);
    return json_incref(a);
  }
  size_t n = strlen(text);
  if (n <= STORE_PAYLOAD_MAX) {
    json_object_set(t, "payload", (json_t *)payload);
  } else {
    n = STORE_PAYLOAD_MAX;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    json_object_set_new(t, "payload", json_stringn(text, n));
    json_object_set_new(t, "payloadTruncated", json_true());
  }
  free(text);
  return t;
}

static json_t *record_action(store *s, const char *scope, const char *action,
                             const char *instance_id, const char *domain, const char *outcome,
                             const char *reason, const char *source, const json_t *payload,
                             store_changes *ch) {
  char id[ID_DISPATCH_LEN + 1];
  uint64_t ms;
  id_dispatch(&s->ids, id, &ms);
  json_t *a = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s?,s:s,s:s?,s:s}", "dispatchId", id,
                        "timestamp", (json_int_t)ms, "scope", scope, "actionType", action,
                        "instanceId", instance_id, "domain", domain, "outcome", outcome,
                        "reason", reason, "source", source);
  if (!a) return NULL;
  json_int_t count = json_integer_value(json_object_get(s->trace, "count")) + 1;
  json_object_set_new(s->trace, "count", json_integer(count));
  json_object_set_new(s->trace, "lastDispatchId", json_string(id));
  json_object_set_new(s->trace, "lastTimestamp", json_integer((json_int_t)ms));
  json_object_set_new(s->trace, "lastScope", json_string(scope));
  json_object_set_new(s->trace, "lastActionType", json_string(action));
  json_object_set_new(s->trace, "lastOutcome", json_string(outcome));
  json_object_set_new(s->trace, "lastReason", reason ? json_string(reason) : json_null());
  json_decref(s->timeline[s->tl_head]);
  s->timeline[s->tl_head] = timeline_entry(a, payload);
  s->tl_head = (s->tl_head + 1) % s->tl_cap;
  if (s->tl_len < s->tl_cap) s->tl_len++;
  metrics_changed(s, ch);
  return a;
}

/* The top-level delta that turns object `a` into object `b`: *set gets the keys whose
 * value is not the very same json_t (reducers that copy shallowly share the rest, so the
 * test is by identity and costs nothing per nested value), *del the keys that went. Only
 * when applying it key by key gives `b`'s exact key order (a VM copies the old keys in
 * order, then appends the new ones) and it leaves at least one value in place: otherwise
 * the whole state is as cheap to send, and false is returned. */
static bool state_delta(const json_t *a, const json_t *b, json_t **set, json_t **del) {
  *set = *del = NULL;
  if (!json_is_object(a) || !json_is_object(b) || json_object_size(a) == 0) return false;
  json_t *st = json_object(), *dl = json_array();
  size_t kept = 0;
  void *ib = json_object_iter((json_t *)b);
  const char *k;
  json_t *va;
  bool ok = st && dl;
  json_object_foreach((json_t *)a, k, va) {
    if (!ok) break;
    json_t *vb = json_object_get(b, k);
    if (!vb) {
      ok = !json_array_append_new(dl, json_string(k));
      continue;
    }
    /* b's next key must be this one, or the order would differ */
    ok = ib && strcmp(json_object_iter_key(ib), k) == 0;
    if (!ok) break;
    if (vb == va) kept++;
    else ok = !json_object_set(st, k, vb);
    ib = json_object_iter_next((json_t *)b, ib);
  }
  for (; ok && ib; ib = json_object_iter_next((json_t *)b, ib)) {
    const char *kb = json_object_iter_key(ib);
    /* a key seen above out of place also lands here: it was in a, so no delta */
    ok = !json_object_get(a, kb) && !json_object_set(st, kb, json_object_iter_value(ib));
  }
  if (!ok || kept == 0) {
    json_decref(st);
    json_decref(dl);
    return false;
  }
  *set = st;
  *del = dl;
  return true;
}

/* One member of an object as store_state_bytes counts it: "key":value, plus a comma. */
static size_t member_bytes(const char *key, const json_t *v) {
  return strlen(key) + 4 + json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

size_t store_state_bytes(const json_t *state) {
  if (!state) return 0;
  if (!json_is_object(state)) return json_dumpb(state, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
  size_t n = 2;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)state, k, v) n += member_bytes(k, v);
  return n;
}

int store_set_state(store *s, store_instance *inst, json_t *state, store_changes *ch) {
  if (!state) return AL_ENO_MEMORY;
  if (inst->state && json_equal(inst->state, state)) {
    json_decref(state);
    return 0;
  }
  json_t *set = NULL, *del = NULL;
  bool delta = state_delta(inst->state, state, &set, &del);
  /* The new size from what changed when the delta says (a one-key merge into a big state
   * costs that key), else measured whole: the change is as big as the state then. */
  size_t bytes;
  if (delta) {
    uint64_t b = inst->state_bytes;
    size_t i;
    json_t *k;
    json_array_foreach(del, i, k)
      b -= member_bytes(json_string_value(k), json_object_get(inst->state, json_string_value(k)));
    const char *key;
    json_t *v;
    json_object_foreach(set, key, v) {
      const json_t *old = json_object_get(inst->state, key);
      if (old) b -= member_bytes(key, old);
      b += member_bytes(key, v);
    }
    bytes = (size_t)b;
  } else {
    bytes = store_state_bytes(state);
  }
  if (inst->state_limit && bytes > inst->state_limit) {
    json_decref(set);
    json_decref(del);
    json_decref(state);
    return AL_ESTATE_LIMIT;
  }
  json_decref(inst->delta_set);
  json_decref(inst->delta_del);
  inst->delta_set = set;
  inst->delta_del = del;
  inst->delta_base = delta ? inst->state_version : 0;
  inst->state_bytes = bytes;
  json_decref(inst->state);
  inst->state = state;
  inst->state_version = ++s->clock;
  mark_instance(ch, inst->id);
  return 0;
}

int store_set_grants(store *s, store_instance *inst, const json_t *grants, const char *source,
                     store_changes *ch, al_error *err) {
  json_t *g = grants_normalize(grants);
  if (!g) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  bool same = json_equal(g, inst->grants);
  json_decref(inst->grants);
  inst->grants = g;
  if (!same) inst->grants_stamp = ++s->clock;
  json_t *a = record_action(s, "host", "grants/set", inst->id, NULL, "applied", NULL, source, g,
                           ch);
  json_decref(a);
  /* What the instance may read changed, so its globalState did. */
  if (!same) mark_instance(ch, inst->id);
  return 0;
}

void store_set_status(store *s, store_instance *inst, const char *error, store_changes *ch) {
  const char *cur = json_string_value(json_object_get(inst->record, "status"));
  const char *cur_err = json_string_value(json_object_get(inst->record, "error"));
  bool was_error = cur && strcmp(cur, "error") == 0;
  if (!error && !was_error) return;
  if (error && was_error && cur_err && strcmp(cur_err, error) == 0) return;
  json_object_set_new(inst->record, "status", json_string(error ? "error" : "loaded"));
  if (error) json_object_set_new(inst->record, "error", json_string(error));
  else json_object_del(inst->record, "error");
  /* The record changed (status, or the error's text): a derived domain exposes it. */
  registry_changed(s, ch);
}

static bool is_plain(const json_t *v) { return json_is_object(v); }

/* Rule 3: the generic reducer. */
static int generic_reduce(const char *action, const json_t *state, const json_t *payload,
                          json_t **next, const char **reason) {
  if (strcmp(action, "state/replace") == 0) {
    *next = json_is_null(payload) ? json_object() : json_deep_copy(payload);
    return AL_REDUCE_APPLIED;
  }
  if (strcmp(action, "state/merge") == 0) {
    if (!is_plain(payload)) { /* not a merge the generic reducer knows: rule 4 */
      *reason = "no-local-reducer-match";
      return AL_REDUCE_UNSUPPORTED;
    }
    /* Shallow: the untouched values are shared with the old state (the store never
     * changes a state in place), which keeps a one-key merge of a big state cheap and
     * lets store_set_state see which keys it touched. */
    *next = is_plain(state) ? json_copy_checked(state) : json_object();
    if (*next && json_object_update(*next, (json_t *)payload)) { /* NULL: out of memory */
      json_decref(*next);
      *next = NULL;
    }
    return AL_REDUCE_APPLIED;
  }
  *reason = "no-local-reducer-match";
  return AL_REDUCE_UNSUPPORTED;
}

static const char *apply_plugin(store *s, store_instance *inst, const char *action,
                                const json_t *payload, store_plugin_reduce_fn plugin_reduce,
                                void *user, char *reason_buf, size_t reason_cap,
                                bool *denied, store_changes *ch) {
  json_t *state = store_plugin_state(inst);
  json_t *next = NULL;
  const char *reason = NULL;
  int rc = AL_REDUCE_UNSUPPORTED;
  store_reducer *r = find_reducer(s, inst->package_id);
  if (r) {
    rc = r->fn(r->user, action, state, payload, &next);
    if (rc < 0) {
      snprintf(reason_buf, reason_cap, "reducer-error:%s", al_err_name(rc));
      reason = reason_buf;
    }
  }
  if (rc == AL_REDUCE_UNSUPPORTED && plugin_reduce) {
    bool handled = false;
    al_error e = {0};
    int prc = plugin_reduce(user, inst, action, state, payload, &next, &handled, &e);
    if (prc < 0) {
      snprintf(reason_buf, reason_cap, "plugin-reducer-error:%s:%.160s", al_err_name(prc),
               e.message);
      reason = reason_buf;
      rc = prc;
    } else if (handled) {
      rc = AL_REDUCE_APPLIED;
    }
  }
  if (rc == AL_REDUCE_UNSUPPORTED) rc = generic_reduce(action, state, payload, &next, &reason);
  json_decref(state);
  if (rc == AL_REDUCE_APPLIED) {
    if (!next) return "reducer-error:OUT_OF_MEMORY";
    size_t before = inst->state_bytes;
    int src = store_set_state(s, inst, next, ch);
    if (src == AL_ESTATE_LIMIT) { /* refused, not ignored: the host said no */
      *denied = true;
      snprintf(reason_buf, reason_cap, "STATE_LIMIT: the plugin's state would pass its limit of %zu bytes (it holds %zu)",
               inst->state_limit, before);
      return reason_buf;
    }
    return src ? "reducer-error:OUT_OF_MEMORY" : NULL;
  }
  json_decref(next);
  return reason ? reason : "no-local-reducer-match";
}

int store_apply(store *s, store_instance *inst, const json_t *intents, const char *source,
                store_plugin_reduce_fn plugin_reduce, void *user, json_t **actions,
                store_changes *ch, al_error *err) {
  json_t *out = json_array();
  if (!out) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  size_t i;
  json_t *it;
  json_array_foreach(intents, i, it) {
    const char *scope = json_string_value(json_object_get(it, "scope"));
    const char *action = json_string_value(json_object_get(it, "actionType"));
    json_t *payload = json_object_get(it, "payload");
    json_t *null_payload = NULL;
    if (!payload) payload = null_payload = json_null();
    char reason_buf[512];
    const char *reason = NULL, *outcome = "applied", *domain = NULL;
    if (strcmp(scope, "plugin") == 0) {
      bool denied = false;
      reason = apply_plugin(s, inst, action, payload, plugin_reduce, user, reason_buf,
                            sizeof reason_buf, &denied, ch);
      if (reason) outcome = denied ? "denied" : "ignored";
    } else {
      domain = json_string_value(json_object_get(it, "domain"));
      store_domain *d = find_domain(s, domain);
      if (!grant_has(inst, "writeShared", domain)) {
        outcome = "denied";
        snprintf(reason_buf, sizeof reason_buf, "missing-write-grant:%.200s", domain);
        reason = reason_buf;
      } else if (!d) {
        outcome = "ignored";
        snprintf(reason_buf, sizeof reason_buf, "unknown-domain:%.200s", domain);
        reason = reason_buf;
      } else if (!d->ops.reduce) {
        outcome = "ignored";
        snprintf(reason_buf, sizeof reason_buf, "unsupported-domain:%.200s", domain);
        reason = reason_buf;
      } else {
        json_t *next = NULL;
        int rc = d->ops.reduce(d->user, inst->id, action, d->state, payload, &next);
        if (rc == AL_REDUCE_APPLIED && next) {
          domain_replace(s, d, next, ch);
        } else {
          json_decref(next);
          outcome = "ignored";
          if (rc == AL_REDUCE_UNSUPPORTED)
            snprintf(reason_buf, sizeof reason_buf, "unsupported-action:%.120s/%.120s", domain,
                     action);
          else
            snprintf(reason_buf, sizeof reason_buf, "reducer-error:%s", al_err_name(rc));
          reason = reason_buf;
        }
      }
    }
    json_decref(null_payload);
    json_t *a = record_action(s, scope, action, inst->id, domain, outcome, reason, source,
                              json_object_get(it, "payload"), ch);
    if (!a || json_array_append_new(out, a)) {
      json_decref(out);
      return err_set(err, AL_ENO_MEMORY, NULL, "out of memory recording an action");
    }
  }
  *actions = out;
  return 0;
}

json_t *store_affected(const store *s, const store_changes *ch) {
  json_t *out = json_array();
  for (size_t i = 0; i < s->count; i++) {
    const store_instance *inst = s->list[i];
    bool hit = json_object_get(ch->instances, inst->id) != NULL;
    size_t k;
    json_t *v;
    json_array_foreach(json_object_get(inst->grants, "readShared"), k, v) {
      if (hit) break;
      hit = json_object_get(ch->domains, json_string_value(v)) != NULL;
    }
    if (hit) json_array_append_new(out, json_string(inst->id));
  }
  return out;
}

/*
 * store.h: the host-owned state of spec section 5.
 *
 * The store owns instances' records, local state and grants, the shared domains and
 * their reducers, the package reducers, and the trace and timeline. It never calls into
 * a VM itself: a plugin-declared reducer is reached through the callback the caller
 * passes to store_apply(), so data keeps flowing one way (VM -> validation -> store ->
 * subscribers).
 *
 * Every mutating function records what it changed in a store_changes, from which
 * store_affected() derives exactly the instances whose render inputs changed.
 *
 * Threading: none; the host serialises access.
 */
#ifndef AL_STORE_H
#define AL_STORE_H

#include "common.h"

typedef struct store store;

typedef struct store_instance {
  char id[AL_INSTANCE_ID_MAX];
  char *package_id;
  json_t *record; /* {instanceId, packageId, declaredId?, title, description?,
                     initialState?, widgets[], status, error?} */
  json_t *state;  /* NULL until the instance has local state */
  json_t *grants; /* {readShared[], writeShared[], systemCommands[]} */
  /* Versions of the render inputs, stamped from one store-wide clock so that no two
   * changes share a stamp: `state_version` changes with the local state, `grants_stamp`
   * with what the instance may read. The last state change is also kept as a top-level
   * delta against `delta_base` (NULL set: none), for a VM that holds the state before it
   * (the host's resident-state cache, host/calls.c). */
  uint64_t state_version, grants_stamp, delta_base;
  json_t *delta_set; /* key -> new value (borrowed from `state`'s own references) */
  json_t *delta_del; /* keys removed */
  /* The local state's size as JSON text (store_state_bytes' measure, kept up to date by
   * store_set_state) and the most it may reach, 0: unbounded. The host sets the bound to
   * the instance's memory limit: state lives in the host, but it is the plugin's. */
  size_t state_bytes, state_limit;
  /* The host's record of this instance (host/host_impl.h host_inst), set by the host
   * after store_add; the store never reads it. */
  void *owner;
} store_instance;

typedef struct store_changes {
  json_t *instances; /* set (object id -> true) of instances whose local state changed */
  json_t *domains;   /* set of domains whose public projection changed */
} store_changes;

int store_changes_init(store_changes *c);
void store_changes_clear(store_changes *c);
bool store_changes_empty(const store_changes *c);

/* Package reducer (C, json_t flavour): returns AL_REDUCE_APPLIED with *next (new ref),
 * AL_REDUCE_UNSUPPORTED, or a negative AL_E* code. `state` is never NULL ({} when the
 * instance has none); `payload` is never NULL (json null when absent). */
typedef int (*store_reducer_fn)(void *user, const char *action, const json_t *state,
                                const json_t *payload, json_t **next);

/* A shared domain. Reducer domains keep `state` and implement reduce; derived domains
 * (`derive` != 0) are read-only: the store builds the view the flags name (store_view)
 * and hands it to `project` in place of a state, so the domain's code needs nothing of
 * the store's internals and its projection can never disagree with the store. */
typedef struct store_domain_ops {
  int (*reduce)(void *user, const char *writer, const char *action, const json_t *state,
                const json_t *payload, json_t **next);
  /* Projection as a new reference; NULL means "the state itself". For a derived domain
   * `state` is the store_view of its `derive` flags. */
  json_t *(*project)(void *user, const json_t *state);
  /* Drops an instance's contribution: AL_REDUCE_APPLIED with *next, or UNSUPPORTED. */
  int (*on_unload)(void *user, const char *instance_id, const json_t *state, json_t **next);
  void (*free_user)(void *user);
  unsigned derive; /* AL_DOMAIN_DERIVE_* (airlock.h): what the projection depends on */
} store_domain_ops;

/* Callback for plugin-declared reducers (rule 2 of applying an intent). Sets *handled. */
typedef int (*store_plugin_reduce_fn)(void *user, store_instance *inst, const char *action,
                                      const json_t *state, const json_t *payload,
                                      json_t **next, bool *handled, al_error *err);

store *store_new(uint32_t timeline_capacity);
void store_free(store *s);

int store_register_reducer(store *s, const char *package_id, store_reducer_fn fn, void *user,
                           void (*free_user)(void *), al_error *err);
int store_register_domain(store *s, const char *name, json_t *initial_state /* stolen */,
                          const store_domain_ops *ops, void *user, al_error *err);
/* Default grants for packages the host knows (the workbench's example manifests). */
int store_set_manifest_grants(store *s, const char *package_id, json_t *grants /* stolen */);
/* New reference: the manifest grants for package_id, or empty grants. */
json_t *store_default_grants(const store *s, const char *package_id);

/* Adds an instance from validated load metadata. meta and grants are borrowed. */
int store_add(store *s, const char *id, const char *package_id, const json_t *meta,
              const json_t *grants, store_instance **out, store_changes *ch, al_error *err);
/* Hot reload: replaces the record's plugin-supplied fields (declaredId, title,
 * description, initialState, widgets) from validated `meta` (borrowed) and sets status
 * "loaded"; id, package, grants and local state stay. Returns 0 or AL_ENO_MEMORY. */
int store_replace_meta(store *s, store_instance *inst, const json_t *meta, store_changes *ch);
/* Removes an instance and its shared-domain contributions, and frees it (its `owner` is
 * the caller's to free first). */
int store_remove(store *s, const char *id, store_changes *ch, al_error *err);
store_instance *store_find(const store *s, const char *id);
size_t store_count(const store *s);
store_instance *store_at(const store *s, size_t i); /* load order */

/* New references. */
json_t *store_plugin_state(const store_instance *inst); /* {} when none */
json_t *store_global_state(const store *s, const store_instance *inst);
/* The version of store_global_state(inst): changes whenever it may have changed (a read
 * domain's projection, the instance's grants); never repeats an earlier value. */
uint64_t store_global_version(const store *s, const store_instance *inst);
int store_projection(const store *s, const char *domain, json_t **out, al_error *err);
json_t *store_domain_names(const store *s);
json_t *store_trace(const store *s);
/* New reference: what a derived domain with AL_DOMAIN_DERIVE_* flags `derive` sees,
 * {instances?: [records, load order], trace?: store_trace}. The records are the store's
 * own, as al_plugin_info gives them (shallow copies: read only). */
json_t *store_view(const store *s, unsigned derive);
/* Oldest first. Entries carry the action's payload (capped at STORE_PAYLOAD_MAX bytes of
 * JSON text, then a string prefix with payloadTruncated: true). */
json_t *store_timeline(const store *s);
/* The entries recorded after the one numbered after_seq (numbered from 1 across the
 * store's life; the trace's count is the newest), oldest first; *last_seq gets the
 * newest number. New reference. */
json_t *store_timeline_since(const store *s, uint64_t after_seq, uint64_t *last_seq);
#define STORE_PAYLOAD_MAX 4096

/* Host writes. state is stolen. Returns 0, AL_ENO_MEMORY, or AL_ESTATE_LIMIT when the
 * new state would be larger than inst->state_limit: then nothing changes (the old state
 * stays whole) and the new one is freed. */
int store_set_state(store *s, store_instance *inst, json_t *state, store_changes *ch);
/* The size store_set_state bounds: the compact JSON text's length, objects counted key by
 * key (so a change of a few keys is measured by those keys alone). */
size_t store_state_bytes(const json_t *state);
int store_set_grants(store *s, store_instance *inst, const json_t *grants, const char *source,
                     store_changes *ch, al_error *err);
/* Sets status "loaded" (error == NULL) or "error" with the message. */
void store_set_status(store *s, store_instance *inst, const char *error, store_changes *ch);

/* Applies validated intents for `inst` in order (spec sec. 5 "Applying an intent").
 * *actions receives one stamped action per intent. */
int store_apply(store *s, store_instance *inst, const json_t *intents, const char *source,
                store_plugin_reduce_fn plugin_reduce, void *user, json_t **actions,
                store_changes *ch, al_error *err);

/* New reference: array of the ids of instances whose render inputs changed. */
json_t *store_affected(const store *s, const store_changes *ch);

#endif

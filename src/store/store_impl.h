/*
 * store_impl.h: the insides of the store, shared by its two files and by nothing else
 * (store.h is its interface):
 *   store.c        instances and their index, registration, grants, reads
 *   store_apply.c  dispatch: applying intents through the reducers, state changes and
 *                  their deltas, the trace and the timeline
 * store.c's opening comment gives the design. Single-threaded, as the store is.
 */
#ifndef AL_STORE_IMPL_H
#define AL_STORE_IMPL_H

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

/* ---- shared between the files (defined, with their comments, in store.c) ---- */

void store_domain_set(store *s, store_domain *d, json_t *next, store_changes *ch);
store_domain *store_domain_find(const store *s, const char *name);
store_reducer *store_reducer_find(const store *s, const char *package_id);
bool store_grant_has(const store_instance *inst, const char *kind, const char *domain);
json_t *store_grants_normalize(const json_t *g);
void store_mark_domain(store *s, store_changes *ch, store_domain *d);
void store_mark_instance(store_changes *ch, const char *id);
void store_registry_changed(store *s, store_changes *ch);

#endif

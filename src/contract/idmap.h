/*
 * idmap.h: a map from an id (a NUL-terminated string) to a pointer, for the registries
 * that find a typed record by an id that arrived as text: the hostcall identities by VM
 * id (hooks/hc_ident.c), a worker's instances by instance id (worker/exec.c). Open
 * addressing with linear probing over al_hash64; the map keeps its own copy of each key.
 * Lookups never allocate; a failed growth leaves the map as it was.
 *
 * Threading: none; the owner serialises access.
 */
#ifndef AL_CONTRACT_IDMAP_H
#define AL_CONTRACT_IDMAP_H

#include "common.h"

typedef struct idmap_slot {
  char *key; /* NULL: empty; IDMAP_TOMB: removed */
  void *val;
} idmap_slot;

typedef struct idmap {
  idmap_slot *slots;
  size_t cap, used, count; /* used: live + removed */
} idmap;

#define IDMAP_INIT {NULL, 0, 0, 0}

/* The value stored under `key`, or NULL (also for a NULL key). */
void *idmap_get(const idmap *m, const char *key);
/* Stores `val` (not NULL) under `key` (copied). *old (may be NULL) gets the value it
 * replaces, or NULL. 0, or AL_ENO_MEMORY with the map unchanged. */
int idmap_put(idmap *m, const char *key, void *val, void **old);
/* Removes `key` and returns its value, or NULL when it was not there. */
void *idmap_del(idmap *m, const char *key);
size_t idmap_count(const idmap *m);
/* Iterates: start with *pos = 0; true with *key and *val set while entries remain. The
 * map must not change during a walk, except by idmap_del of the entry just returned. */
bool idmap_next(const idmap *m, size_t *pos, const char **key, void **val);
/* Frees the map's own memory (the values are the caller's: walk first). */
void idmap_free(idmap *m);

#endif

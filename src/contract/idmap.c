/*
 * idmap.c: an id -> pointer map (see idmap.h). At most half the slots are in use,
 * removed ones included, so a probe always ends at an empty slot; a growth sweeps the
 * removed ones and keeps live entries at a quarter of the slots at most.
 */
#include <stdlib.h>
#include <string.h>

#include "contract/idmap.h"

static char tomb_key;
#define IDMAP_TOMB (&tomb_key)

static size_t slot_of(const char *key, size_t cap) {
  return (size_t)al_hash64(key, strlen(key), AL_HASH64_SEED) & (cap - 1);
}

static idmap_slot *find(const idmap *m, const char *key) {
  if (!m->cap || !key) return NULL;
  for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
    idmap_slot *s = &m->slots[i];
    if (!s->key) return NULL;
    if (s->key != IDMAP_TOMB && !strcmp(s->key, key)) return s;
  }
}

void *idmap_get(const idmap *m, const char *key) {
  idmap_slot *s = find(m, key);
  return s ? s->val : NULL;
}

static int reserve(idmap *m) {
  if ((m->used + 1) * 2 <= m->cap) return 0;
  size_t cap = 16;
  while ((m->count + 1) * 4 > cap) cap *= 2;
  idmap_slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return AL_ENO_MEMORY;
  for (size_t i = 0; i < m->cap; i++) {
    idmap_slot *s = &m->slots[i];
    if (!s->key || s->key == IDMAP_TOMB) continue;
    size_t j = slot_of(s->key, cap);
    while (slots[j].key) j = (j + 1) & (cap - 1);
    slots[j] = *s;
  }
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  m->used = m->count;
  return 0;
}

int idmap_put(idmap *m, const char *key, void *val, void **old) {
  if (old) *old = NULL;
  idmap_slot *s = find(m, key);
  if (s) {
    if (old) *old = s->val;
    s->val = val;
    return 0;
  }
  char *k = strdup(key);
  if (!k || reserve(m)) {
    free(k);
    return AL_ENO_MEMORY;
  }
  size_t i = slot_of(key, m->cap);
  while (m->slots[i].key && m->slots[i].key != IDMAP_TOMB) i = (i + 1) & (m->cap - 1);
  if (!m->slots[i].key) m->used++;
  m->slots[i] = (idmap_slot){k, val};
  m->count++;
  return 0;
}

void *idmap_del(idmap *m, const char *key) {
  idmap_slot *s = find(m, key);
  if (!s) return NULL;
  void *val = s->val;
  free(s->key);
  *s = (idmap_slot){IDMAP_TOMB, NULL};
  m->count--;
  return val;
}

size_t idmap_count(const idmap *m) { return m->count; }

bool idmap_next(const idmap *m, size_t *pos, const char **key, void **val) {
  for (; *pos < m->cap; (*pos)++) {
    idmap_slot *s = &m->slots[*pos];
    if (!s->key || s->key == IDMAP_TOMB) continue;
    *key = s->key;
    *val = s->val;
    (*pos)++;
    return true;
  }
  return false;
}

void idmap_free(idmap *m) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key && m->slots[i].key != IDMAP_TOMB) free(m->slots[i].key);
  free(m->slots);
  *m = (idmap)IDMAP_INIT;
}

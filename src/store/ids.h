/*
 * ids.h: instance ids ("<packageId>@<8 chars>") and dispatch ids.
 *
 * A dispatch id is 26 characters of Crockford base32: 10 for the millisecond timestamp,
 * 6 for a random per-generator prefix, 10 for a per-generator counter. Ids from one
 * generator therefore sort by time and then by issue order (the timestamp never goes
 * backwards within a generator, even if the wall clock does), and ids from different
 * generators differ in the prefix.
 */
#ifndef AL_IDS_H
#define AL_IDS_H

#include "common.h"

#define ID_DISPATCH_LEN 26

typedef struct id_gen {
  uint64_t last_ms;
  uint64_t counter;
  uint32_t prefix;
} id_gen;

void id_gen_init(id_gen *g);
/* Writes a NUL-terminated dispatch id into out[ID_DISPATCH_LEN + 1]; *ms receives the
 * timestamp the id encodes. */
void id_dispatch(id_gen *g, char *out, uint64_t *ms);
/* Writes "<package_id>@<8 random chars from A-Za-z0-9_->" into out (capacity cap).
 * Returns AL_EINVALID_ARGUMENT when the package id does not fit. */
int id_instance(const char *package_id, char *out, size_t cap);
/* Fills buf with len random bytes from the kernel (falls back to a seeded mix). */
void id_random(void *buf, size_t len);

#endif

/*
 * hash.c: the one non-cryptographic hash every table and cache here uses.
 *
 * Eight bytes per step (xor, multiply by the 64-bit golden ratio, fold the high bits
 * down), then FNV-1a's byte step for the tail. It picks buckets (the store's instance
 * index, the event table, the bytecode cache) and names values a cache already holds
 * (a render's tree, see host/calls.c): every user either confirms a hit by comparing
 * the whole key, or only ever fools itself with a collision (a plugin whose tree
 * collides with its own previous tree sees that tree again). Nothing here may rely on it against
 * an adversary choosing inputs to collide with someone else's.
 */
#include <string.h>

#include "common.h"

uint64_t al_hash64(const void *p, size_t n, uint64_t h) {
  const unsigned char *s = p;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15u;
    h ^= h >> 29;
  }
  for (; i < n; i++) h = (h ^ s[i]) * 1099511628211u;
  return h;
}

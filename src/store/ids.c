/* ids.c: see ids.h for the formats and ordering guarantees. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ids.h"

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void id_random(void *buf, size_t len) {
  unsigned char *p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t n = getrandom(p + got, len - got, 0);
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (got < len) {
    /* No kernel randomness (seccomp, ancient kernel): ids need uniqueness, not secrecy. */
    uint64_t x = clock_mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)buf;
    for (size_t i = got; i < len; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      p[i] = (unsigned char)x;
    }
  }
}

void id_gen_init(id_gen *g) {
  memset(g, 0, sizeof *g);
  id_random(&g->prefix, sizeof g->prefix);
  g->prefix &= (1u << 30) - 1;
}

static void put_b32(char *out, uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; i--) {
    out[i] = b32[v & 31];
    v >>= 5;
  }
}

void id_dispatch(id_gen *g, char *out, uint64_t *ms) {
  uint64_t now = clock_wall_ms();
  if (now < g->last_ms) now = g->last_ms;
  g->last_ms = now;
  g->counter++;
  put_b32(out, now, 10);
  put_b32(out + 10, g->prefix, 6);
  put_b32(out + 16, g->counter, 10);
  out[ID_DISPATCH_LEN] = '\0';
  if (ms) *ms = now;
}

int id_instance(const char *package_id, char *out, size_t cap) {
  size_t n = strlen(package_id);
  if (n + 10 > cap) return AL_EINVALID_ARGUMENT;
  unsigned char r[8];
  id_random(r, sizeof r);
  memcpy(out, package_id, n);
  out[n] = '@';
  for (int i = 0; i < 8; i++) out[n + 1 + i] = b64url[r[i] & 63];
  out[n + 9] = '\0';
  return 0;
}

/*
 * common.h: what every internal module shares: the public header, the error helper, the
 * monotonic clock, and jansson. Internal names carry their module's prefix (err_, vm_,
 * ui_, store_, id_); only al_ names are exported from the library.
 */
#ifndef AL_COMMON_H
#define AL_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock.h"

#if defined(__GNUC__)
#define AL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define AL_PRINTF(a, b)
#endif

/* The default limits of an instance (al_config_init), the one place they are written. An
 * initializer: `al_limits l = AL_LIMITS_DEFAULT;`. */
#define AL_LIMITS_DEFAULT                                                                  \
  {.memory_bytes = 32u << 20, .stack_bytes = 1u << 20, .load_ms = 1000, .render_ms = 100, \
   .event_ms = 100}

/* Fills `err` (may be NULL) and returns `code`, so call sites read
 * `return err_set(err, AL_ECONTRACT, path, "...")`. `path` may be NULL. */
int err_set(al_error *err, int code, const char *path, const char *fmt, ...) AL_PRINTF(4, 5);
/* Records the instance id on an already filled error. */
void err_instance(al_error *err, const char *instance_id);
/* Copies `src` into `dst` (both may be NULL). */
void err_copy(al_error *dst, const al_error *src);
/* The one JSON form of an error, wherever one crosses a boundary (worker answers, the
 * CLI's --json, the workbench): {code, message, path?, line?, instanceId?}, the optional
 * members only when set. New reference; NULL when out of memory. */
json_t *err_json(const al_error *e);

/* Monotonic clock in nanoseconds, and wall clock in milliseconds since the epoch. */
uint64_t clock_mono_ns(void);
uint64_t clock_wall_ms(void);

/* How the host thread performing a hostcall says that it is waiting for a person (an
 * approval): fn(user, ms > 0) pauses the calling call's deadline for up to ms, fn(user, 0)
 * ends the pause. Only asynchronous hostcalls have one; thread-safe. */
typedef struct hostcall_hold {
  void (*fn)(void *user, uint32_t ms);
  void *user;
} hostcall_hold;

/* A plugin's call outside its VM (the `pi` API), answered by the host (hooks/hostcall.h).
 * Called on the thread running the VM for calls answered at once (hold NULL), or on one of
 * the host's hostcall threads for asynchronous ones; `timeout_ms` is what remains of the
 * call's deadline. Returns 0 with *result a new reference, or a negative AL_E* code with
 * err filled. Implementations must be thread-safe: several threads call at once. */
typedef int (*hostcall_fn)(void *user, const char *instance_id, const char *method,
                           const json_t *args, uint32_t timeout_ms, const hostcall_hold *hold,
                           json_t **result, al_error *err);

/* JSON text of `v`, compact, key order kept; malloc()ed (free with free()/al_free()), or
 * NULL when out of memory. */
char *json_text(const json_t *v);

/* json_copy that fails whole: jansson 2.14's shallow copy of an object or array ignores
 * a failed insertion and returns a copy missing members, which a caller would send or
 * store as if complete. New reference, or NULL when out of memory. */
json_t *json_copy_checked(const json_t *v);

/* Whether a json_loads/json_loadb failure reported in `e` was for want of memory (jansson
 * leaves the text empty when it fails before it can say anything), not bad input. */
bool json_error_oom(const json_error_t *e);

/* hash.c: a 64-bit hash of n bytes, continuing from `h` (start with AL_HASH64_SEED). Not
 * collision resistant against a chosen input; see hash.c for what may rely on it. */
#define AL_HASH64_SEED 14695981039346656037u
uint64_t al_hash64(const void *p, size_t n, uint64_t h);

#endif

/*
 * events.h: the host's event registry and the subscription snapshot emit reads.
 *
 * The registry is the list of events a host declares (name, timeout class, what a
 * handler's result may do); ev_agent_profile() adds the coding-agent events of
 * hooks-and-security.md sec. 3. Names are looked up through a small open-addressing hash,
 * so finding an event costs one hash and usually one string compare.
 *
 * Subscriptions live in an immutable ev_snapshot built from the host's list of loaded
 * instances (load order) and the events each one's VM reported subscribing to. A snapshot
 * has, per event, the subscribed instances in registration order and one bit in a bitmap,
 * so "is anyone subscribed to X?" is a hash probe and a bit test. A new snapshot is built
 * and swapped in whenever an instance loads, unloads or changes its subscriptions.
 *
 * Threading: the registry and snapshots are read and written on the host thread only (the
 * host API is single-threaded). Worker threads never see them: what a VM may subscribe to
 * is checked through hostcalls against the manifest, not against the snapshot.
 */
#ifndef AL_HOOKS_EVENTS_H
#define AL_HOOKS_EVENTS_H

#include "common.h"

#define EV_MAX 256 /* events a host may declare */
/* Handlers one instance may have for one event. pi.on refuses the next one inside the
 * VM, and the host believes no report of more (a worker claiming 10^6 handlers once made
 * the host allocate a result for each). */
#define EV_MAX_HANDLERS 64

/* An ev_def flag beside the public AL_HOOK_* ones: one of pi's events, which al_emit
 * runs with pi's semantics (host/pi_host.c) instead of the contract's fan-out. */
#define EV_FLAG_PI (1u << 16)

/* Timeout classes (spec sec. 3). */
#define EV_INFO_MS 500u
#define EV_ACTIONABLE_MS 5000u
#define EV_PERMISSION_MS 3600000u

typedef struct ev_def {
  char *name;
  uint32_t timeout_ms;
  unsigned flags;       /* AL_HOOK_MAY_BLOCK | AL_HOOK_MAY_MODIFY | AL_HOOK_PERMISSION */
  json_t *modifies;     /* {result field: payload field | "+name" (appended to an aggregate
                           array)}; {} when none. Owned. */
} ev_def;

typedef struct ev_registry ev_registry;

/* A new, empty registry; NULL when out of memory. Free with ev_registry_free (NULL ok). */
ev_registry *ev_registry_new(void);
void ev_registry_free(ev_registry *r);

/* Declares an event. `modifies` (borrowed, may be NULL) maps result fields to the payload
 * fields they replace. Re-declaring a name replaces its definition. Errors:
 * AL_EINVALID_ARGUMENT (bad name, zero timeout, full registry), AL_ENO_MEMORY. */
int ev_register(ev_registry *r, const char *name, uint32_t timeout_ms, unsigned flags,
                const json_t *modifies, al_error *err);
/* Declares the agent profile's events. */
int ev_agent_profile(ev_registry *r, al_error *err);

/* True when `name` is a well-formed event name: 1-64 of [A-Za-z0-9_.:-]. */
bool ev_name_valid(const char *name);

/* The event's index (0..count-1), or -1 when `name` is not declared. O(1). */
int ev_lookup(const ev_registry *r, const char *name);
size_t ev_count(const ev_registry *r);
/* Borrowed; valid until the registry changes. */
const ev_def *ev_at(const ev_registry *r, int index);
/* The declared names, in declaration order, as a new JSON array. */
json_t *ev_names(const ev_registry *r);

/* One subscribed instance, as emit needs it. */
typedef struct ev_sub {
  char instance_id[AL_INSTANCE_ID_MAX];
  char plugin_id[AL_INSTANCE_ID_MAX];
  int worker;
  unsigned handlers; /* how many handlers this instance has for the event */
} ev_sub;

typedef struct ev_snapshot {
  size_t nevents;
  uint64_t bits[EV_MAX / 64];  /* bit e: event e has a subscriber */
  ev_sub **subs;               /* per event: subscribers in registration order */
  size_t *nsubs;
} ev_snapshot;

/* One loaded instance as a snapshot sees it; every pointer borrowed for the build. */
typedef struct ev_member {
  const char *instance_id, *plugin_id;
  int worker;
  const json_t *hooks; /* {event: handler count}; NULL: none */
} ev_member;

/* Builds a snapshot from `members` (borrowed, `n` of them, in load order). Events not in
 * the registry and counts under 1 are ignored. NULL when out of memory. Free with
 * ev_snapshot_free (NULL ok). */
ev_snapshot *ev_snapshot_build(const ev_registry *r, const ev_member *members, size_t n);
void ev_snapshot_free(ev_snapshot *s);

/* True when event `index` has a subscriber in `s` (which may be NULL). */
static inline bool ev_subscribed(const ev_snapshot *s, int index) {
  return s && index >= 0 && (size_t)index < s->nevents &&
         (s->bits[index / 64] >> (index % 64)) & 1u;
}

#endif

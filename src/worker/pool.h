/*
 * pool.h: the host side of the runtime boundary: a set of workers that run requests.
 *
 * Each instance is assigned to one worker for its life, and each worker runs its requests
 * in submission order, so calls to one instance are ordered while calls to instances on
 * different workers run in parallel.
 *
 * Worker processes never mix trust. Plugin code is assumed able to become native code
 * inside its worker (docs/security.md), and such code can speak for every instance its
 * process hosts. So a process pool places an instance only on a worker that hosts its
 * trust identity (the host's string for "same package, same effective grants and
 * capabilities", compared whole) or has never hosted anything; an idle worker that hosted
 * another identity is replaced by a fresh process first; and when neither exists the
 * pool starts another worker process, up to max_workers. Queues are bounded: a full one answers BUSY instead
 * of growing. Back ends:
 *   POOL_INLINE  the caller's thread runs the request inside pool_submit (no threads).
 *   POOL_THREAD  one thread per worker; each QuickJS runtime lives on exactly one thread.
 *   POOL_PROCESS one thread per worker drives a sandboxed airlock-worker process
 *                (worker_process.h), which it kills on the hard deadline and restarts.
 * A watchdog enforces each call's hard wall-clock deadline (its timeout plus a grace): a
 * call that passes it is answered VM_TIMEOUT and its late result is dropped; a thread
 * worker still stuck long after that (a builtin that never polls the interrupt handler)
 * is declared wedged and answers PLUGIN_CRASHED from then on.
 *
 * Threading: pool_* functions may be called from any thread; completions are handed out
 * by pool_wait() (one ticket, blocking) and pool_next() (any async ticket, non-blocking).
 */
#ifndef AL_POOL_H
#define AL_POOL_H

#include "common.h"

typedef enum pool_kind { POOL_INLINE = 0, POOL_THREAD = 1, POOL_PROCESS = 2 } pool_kind;

typedef struct pool_config {
  pool_kind kind;
  unsigned workers;          /* 0: one per online CPU */
  unsigned queue_capacity;   /* per worker; 0: 256 */
  uint32_t grace_ms;         /* watchdog grace over a call's timeout */
  uint32_t wedged_ms;        /* stuck this long past the deadline: wedged; 0: 5000 */
  al_alloc_fn alloc;         /* VM heaps (in-process back ends only) */
  void *alloc_ud;
  const char *worker_path;   /* POOL_PROCESS: airlock-worker; NULL: wp_default_path() */
  size_t address_space_bytes; /* POOL_PROCESS: the worker's RLIMIT_AS; 0: none */
  unsigned max_workers;      /* POOL_PROCESS: the most worker processes, one per trust
                                identity at least; 0: POOL_MAX_PROCESSES */
  hostcall_fn hostcall;      /* answers the VMs' hostcalls (thread, inline: on the worker's
                                thread; process: on its driver thread); NULL: refused */
  void *hostcall_user;
  /* Told when a worker process is caught breaking the protocol (a forged or inconsistent
   * frame), before it is killed: `instance_id` is what it was running or claimed (may be
   * NULL), `why` says what it did. Called on its driver thread; NULL: not told. Shares
   * hostcall_user. */
  void (*breach)(void *user, const char *instance_id, const char *why);
} pool_config;


typedef struct pool pool;

#define POOL_MAX_PROCESSES 64u

/* Counters for telemetry: worker starts, crashes and watchdog kills (process back end). */
typedef struct pool_stats {
  unsigned starts, crashes, watchdog_kills;
  unsigned lanes; /* worker processes running now whose frames travel the lane */
} pool_stats;
void pool_get_stats(pool *p, pool_stats *st);

int pool_new(const pool_config *cfg, pool **out, al_error *err);
/* Stops the workers (waiting for running calls to end) and frees every VM. */
void pool_free(pool *p);
/* Worker slots running now (a process pool adds them as identities need). Any thread. */
unsigned pool_workers(const pool *p);

/* Picks the worker for a new instance of trust identity `trust` (borrowed; NULL or a
 * thread or inline pool: any worker) and counts the instance there: the least busy one
 * that may host it (see the file comment), a fresh process when none may. *worker gets
 * its index. Errors: AL_EBUSY (every process hosts another identity and max_workers are
 * running), AL_ENO_MEMORY, AL_EINTERNAL (a new worker thread would not start). Host
 * thread only: it is the one thread that adds workers. */
int pool_assign(pool *p, const char *trust, int *worker, al_error *err);
void pool_release(pool *p, int worker);
/* A process worker broke the protocol in a way only the host could see (a report its own
 * records contradict): it is killed as if it had crashed, its calls in flight answer
 * PLUGIN_CRASHED with `why`, and `instance_id` (copied) is set aside for good, while the
 * worker's other instances reload in its successor. Any thread. AL_EINVALID_ARGUMENT for
 * other pools (a thread worker cannot be killed; it shares the host's memory anyway). */
int pool_condemn(pool *p, int worker, const char *instance_id, const char *why);

/* How long a call may run before the watchdog acts, in ns: its timeout plus the grace, added
 * in 64 bits so a timeout near UINT32_MAX cannot wrap to a few milliseconds. Every watchdog
 * and backstop deadline is computed with this; pure, any thread. */
static inline uint64_t pool_allowance_ns(uint32_t timeout_ms, uint32_t grace_ms) {
  return ((uint64_t)timeout_ms + grace_ms) * 1000000u;
}

/* Queues `req` (stolen) on `worker`. `timeout_ms` is the call's own deadline; the watchdog
 * answers after timeout_ms + grace. Sync tickets are collected with pool_wait(), async ones
 * with pool_next(). Returns 0, AL_EBUSY (queue full) or AL_ECRASHED (worker wedged). */
int pool_submit(pool *p, int worker, json_t *req, uint32_t timeout_ms, bool async, uint64_t *ticket,
                al_error *err);
/* Blocks until the response for a sync ticket arrives; returns it (new reference). */
json_t *pool_wait(pool *p, uint64_t ticket);
/* Submit + wait. */
int pool_call(pool *p, int worker, json_t *req, uint32_t timeout_ms, json_t **resp, al_error *err);

/* Pops one completed async ticket; false when none is ready. */
bool pool_next(pool *p, uint64_t *ticket, json_t **resp);
/* Readable (eventfd) while async completions are waiting; -1 for POOL_INLINE. */
int pool_fd(const pool *p);
/* Blocks until an async completion is ready or timeout_ms passes (-1: forever). */
void pool_wait_any(pool *p, int timeout_ms);

#endif

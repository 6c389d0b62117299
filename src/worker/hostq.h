/*
 * hostq.h: the host threads that perform asynchronous hostcalls.
 *
 * A VM's pi.http, pi.kv, pi.fs and pi.getConfig calls arrive here from its worker (the
 * thread back end's worker thread, or the driver thread of a worker process) and are run
 * by a small pool of host threads, so a slow web request or a person answering an approval
 * never holds up the worker: the worker parks the call and serves other instances. Threads
 * are started on demand, up to HQ_MAX_THREADS, so 100 concurrent awaits on a slow server
 * take about one latency; past that, jobs queue (FIFO) and wait for a free thread.
 *
 * A job's answer goes back through its callback (`done`, on the hostq thread), which hands
 * it to the worker's inbox; a job waiting for a person calls `hold` first, so the worker
 * pauses the call's deadline (see hostcall_hold in common.h). What the answer's way back
 * needs is reserved when the job is queued, so running out of memory later costs the
 * call its result (an OUT_OF_MEMORY answer), never its answer (a wait to the deadline).
 *
 * Threading: hq_submit may be called from any thread; hq_free waits for running jobs
 * (each bounded by its timeout or the permission class) and drops queued ones unanswered,
 * so call it after the workers that would receive the answers are gone.
 */
#ifndef AL_WORKER_HOSTQ_H
#define AL_WORKER_HOSTQ_H

#include "common.h"

#define HQ_MAX_THREADS 128u

typedef struct hq hq;

/* Where a job's answer goes. An answer is never lost to a failed allocation: what
 * delivering it needs is reserved when the job is queued (`reserve`, whose failure
 * refuses the job at once), and the job keeps an out-of-memory answer made then too, for
 * when the real one cannot be built. */
typedef struct hq_reply_to {
  /* What `done` will need to deliver an answer (the worker's inbox message), or NULL when
   * out of memory. Called in hq_submit. */
  void *(*reserve)(void *user);
  /* A reservation never used: the job was dropped (hq_free) or refused. */
  void (*unreserve)(void *user, void *slot);
  /* The answer to hostcall `id`: {ok: value} or {error: {...}}, stolen, with the job's
   * reservation (taken over). On a hostq thread. */
  void (*done)(void *user, uint64_t id, json_t *reply, void *slot);
  /* The job waits for a person (ms > 0) or stopped waiting (0): see hostcall_hold.
   * Best effort: a hold lost to memory leaves the deadline running. */
  void (*hold)(void *user, uint64_t id, uint32_t ms);
  void *user;
} hq_reply_to;

/* `fn` (with `fn_user`) performs the calls. Returns NULL when out of memory. */
hq *hq_new(hostcall_fn fn, void *fn_user);
void hq_free(hq *q); /* NULL is harmless */

/* Queues hostcall `id` of `instance_id` (copied); `args` is stolen. Returns 0, or
 * AL_ENO_MEMORY / AL_EINTERNAL (nothing was queued; args freed). */
int hq_submit(hq *q, uint64_t id, const char *instance_id, const char *method, json_t *args,
              uint32_t timeout_ms, const hq_reply_to *to, al_error *err);

#endif

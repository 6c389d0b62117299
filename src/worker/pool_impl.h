/*
 * pool_impl.h: the insides of the pool, shared by its two files and by nothing else:
 *   pool.c       the pool itself: workers and their placement, tickets, submitting,
 *                waiting, completions
 *   pool_lane.c  what a back end uses from its worker's lane (taking requests, answering,
 *                the in-flight list, slices, hostcalls) and the watchdog that watches the
 *                slices
 * pool.c's opening comment gives the locking and spinning design both follow.
 */
#ifndef AL_WORKER_POOL_IMPL_H
#define AL_WORKER_POOL_IMPL_H

#include <stdatomic.h>
#include <time.h>

#include "worker/backend.h"

typedef struct pool_done {
  uint64_t ticket;
  json_t *resp;
  bool async;
  struct pool_done *next;
} pool_done;

struct pool {
  pool_config cfg;
  const pool_backend *be;
  pthread_mutex_t mu;
  pthread_cond_t done_cond;
  pthread_cond_t dog_cond;
  pool_worker *w;      /* cap slots; the first n are set up and running */
  unsigned n, cap;     /* n grows on the host thread, under mu (pool_assign) */
  pool_done *done_head, *done_tail;
  unsigned async_ready;
  uint64_t next_ticket;
  int efd;
  bool stopping;
  pthread_t dog;
  bool dog_started;
  uint64_t dog_wake_ns;  /* when the watchdog next wakes by itself (under mu) */
  atomic_uint done_seq;  /* bumped on every completion: a spinning caller's "look again" */
  hq *hq;                /* the asynchronous hostcall threads */
};

#define POOL_SPIN_NS 50000u

/* Spins until *v differs from `seen` or POOL_SPIN_NS pass; true when it changed. */
bool pool_spin_for_change(atomic_uint *v, unsigned seen);
/* *ts = now on `clk` + add_ns, for a timed wait. */
void pool_abs_time(struct timespec *ts, clockid_t clk, uint64_t add_ns);
/* Appends r's completion (`resp` stolen) and wakes whoever waits for it. The record was
 * allocated with the request (pool_submit), since a completion that could not be
 * recorded would leave its caller waiting forever; resp NULL (no memory for an answer)
 * reaches the caller as OUT_OF_MEMORY (wk_response_result). Once per request. Under
 * p->mu. */
void pool_post_done(pool *p, pool_req *r, json_t *resp);
/* The watchdog thread's body (pool_lane.c); `arg` is the pool. */
void *pool_watchdog_main(void *arg);

#endif

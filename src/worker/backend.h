/*
 * backend.h: what pool.c shares with its back ends (worker_thread.c, worker_process.c,
 * worker_inline.c), and the one interface they implement.
 *
 * pool.c owns tickets, the per-worker queues, completions and the watchdog; a back end
 * owns how a worker runs what it is given: a thread running the worker's table (an event
 * loop over its VMs, exec.h), a driver thread talking to a worker process, or the caller's
 * own thread. A back end takes submitted requests and hostcall answers from its worker
 * with pool_take(), runs them, and reports with pool_answer() and pool_slice(); it sends
 * asynchronous hostcalls to the host's hostcall threads with pool_hostcall(), whose
 * answers come back through the same pool_take().
 *
 * Threading: functions marked "(lock)" are called by pool.c with the pool mutex held; all
 * others take it themselves.
 */
#ifndef AL_WORKER_BACKEND_H
#define AL_WORKER_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>

#include "worker/pool.h"
#include "worker/worker_process.h"

typedef struct pool_req {
  uint64_t ticket;
  json_t *req;         /* owned until a back end takes it */
  uint32_t timeout_ms;
  bool async, answered; /* answered: the watchdog (or a crash) answered it already */
  uint64_t hard_ns;       /* process back end: answered by then at the latest, whatever
                             the worker says (its driver's backstop; clock_mono_ns) */
  struct pool_req *next;  /* the queue, then the in-flight list (pool.c's) */
  struct pool_req *batch; /* the list pool_take handed out (the back end's) */
  struct pool_done *done; /* its completion record, made with it so that answering a call
                             never needs memory (pool.c's) */
} pool_req;

/* An answer (or hold) from the hostcall threads, for the worker's inbox. */
typedef struct pool_msg {
  uint64_t id;
  json_t *reply;  /* NULL: a hold of `ms` */
  uint32_t ms;
  struct pool_msg *next;
} pool_msg;

typedef struct pool_worker pool_worker;

typedef struct pool_backend {
  /* Sets up w->be (w's thread is not started yet). Returns 0 or an AL_E* code. */
  int (*init)(pool_worker *w);
  /* The worker thread's body; returns when pool_take() says the pool stops. NULL: no
   * thread (inline). */
  void (*run)(pool_worker *w);
  /* New work or inbox messages are waiting (lock). */
  void (*wake)(pool_worker *w);
  /* Frees w->be after the thread ended. */
  void (*fini)(pool_worker *w);
  /* Inline only: runs the worker on the calling thread until ticket `t` (0: any async
   * completion) is answered or timeout_ms passes (-1: no limit). */
  void (*drive)(pool_worker *w, uint64_t t, int timeout_ms);
} pool_backend;

extern const pool_backend pool_thread_backend, pool_process_backend, pool_inline_backend;

struct pool_worker {
  pool *p;
  int index;
  pthread_t thread;
  bool started;
  pthread_cond_t cond;
  pool_req *head, *tail; /* submitted, not yet taken */
  pool_req *inflight;    /* taken, not yet answered */
  unsigned qlen;         /* queued + in flight: capacity counts both */
  unsigned instances;
  char *trust;           /* the trust identity it hosts or last hosted (NULL: none yet;
                            process pools only; pool.c, under the lock) */
  pool_msg *inbox, *inbox_tail; /* id 0: an order for the back end (pool.c) */
  /* the slice running now, for the watchdog (thread back end) */
  uint64_t slice, slice_deadline_ns;
  bool wedged;
  wp_stats proc_stats;   /* process back end, copied under the lock */
  atomic_uint submitted; /* bumped on every submit or message: "look again" */
  void *be;
};

const pool_config *pool_cfg(const pool *p);
/* Waits up to wait_ms (-1: no limit, 0: not at all) for requests or inbox messages and
 * moves them to *reqs (linked by `batch`; now in flight: answer each with pool_answer)
 * and *msgs (the caller frees them), both in arrival order. False when the pool stops
 * and nothing is left. */
bool pool_take(pool_worker *w, pool_req **reqs, pool_msg **msgs, int64_t wait_ms);
/* Answers in-flight ticket `t` with `resp` (stolen); dropped when already answered. */
void pool_answer(pool_worker *w, uint64_t t, json_t *resp);
/* The in-flight request `t` (NULL when gone). Valid until it is answered; only the worker's
 * own thread may call it. */
pool_req *pool_inflight(pool_worker *w, uint64_t t);
/* Ticket `t` now runs plugin code (0: nothing does), for the watchdog. */
void pool_slice(pool_worker *w, uint64_t t);
/* Sends asynchronous hostcall `id` to the host's hostcall threads; its answer and holds
 * arrive in w's inbox. `args` is stolen. */
int pool_hostcall(pool_worker *w, uint64_t id, const char *instance_id, const char *method,
                  json_t *args, uint32_t timeout_ms, al_error *err);
/* The host's hostcall_fn (pool_config.hostcall) for worker `user` (a pool_worker *): what
 * the in-process back ends' tables call for hostcalls answered at once. */
int pool_call_host(void *user, const char *instance_id, const char *method, const json_t *args,
                   uint32_t timeout_ms, const hostcall_hold *hold, json_t **result, al_error *err);
/* An error response {error:{code,message}} (never NULL unless out of memory). */
json_t *pool_error(int code, const char *msg);
/* Hands what pool_take gave to `t`: hostcall answers and holds first (freeing the
 * messages), then the requests in arrival order (worker_thread.c). */
struct wk_table;
void pool_feed(struct wk_table *t, pool_req *reqs, pool_msg *msgs);
/* Whether ticket t (0: any async one) has its completion waiting (inline back end). */
bool pool_answered(pool *p, uint64_t ticket);
/* Copies up to cap in-flight tickets of w into out; returns how many there are (<= cap). */
size_t pool_inflight_tickets(pool_worker *w, uint64_t *out, size_t cap);
/* The in-flight request of w with the earliest hard_ns: its ticket in *ticket (0: none)
 * and its hard_ns returned (UINT64_MAX: none); and the latest hard_ns of any (0: none). */
uint64_t pool_inflight_earliest(pool_worker *w, uint64_t *ticket);
uint64_t pool_inflight_latest(pool_worker *w);
/* Adds add_ns to the hard_ns of every in-flight request of w whose hard_ns >= from_ns. */
void pool_inflight_extend(pool_worker *w, uint64_t from_ns, uint64_t add_ns);
/* A worker process's counters, for pool_get_stats. */
void pool_proc_stats(pool_worker *w, const wp_stats *st);

#endif

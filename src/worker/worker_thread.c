/*
 * worker_thread.c: the thread back end. One thread per worker runs the worker's table
 * (exec.h), an event loop over its VMs: it takes requests and hostcall answers from the
 * pool, hands them to the table, and sleeps until the next request, answer, timer or
 * parked call's deadline. Each QuickJS runtime lives on exactly this one thread.
 *
 * Hostcalls answered at once (subscribe, register, log) are made right here, on the
 * worker's thread; asynchronous ones go to the host's hostcall threads (pool_hostcall),
 * whose answers come back through the pool's inbox, so the worker never waits for them.
 */
#include <stdlib.h>

#include "worker/backend.h"
#include "worker/exec.h"

static void thr_done(void *user, uint64_t ticket, json_t *resp) { pool_answer(user, ticket, resp); }

static int thr_send(void *user, uint64_t id, uint64_t ticket, const char *instance_id,
                    const char *method, json_t *args, uint32_t timeout_ms, al_error *err) {
  (void)ticket;
  return pool_hostcall(user, id, instance_id, method, args, timeout_ms, err);
}

static void thr_slice(void *user, uint64_t ticket, size_t busy) {
  (void)busy;
  pool_slice(user, ticket);
}

static int thr_init(pool_worker *w) {
  const pool_config *cfg = pool_cfg(w->p);
  wk_sink sink = {.done = thr_done, .send = thr_send, .call = pool_call_host, .slice = thr_slice, .user = w};
  wk_table *t = wk_table_new(cfg->alloc, cfg->alloc_ud, &sink);
  if (!t) return AL_ENO_MEMORY;
  w->be = t;
  /* (No spare maker with a host allocator: it would call it from one more thread than
   * the host's workers, which the host may not expect.) */
  if (!cfg->alloc && wk_table_prewarm(t)) return AL_EINTERNAL;
  return 0;
}

/* Hands what pool_take gave to the table: answers first (they may finish parked calls
 * that requests queued behind), then requests in arrival order. */
void pool_feed(wk_table *t, pool_req *reqs, pool_msg *msgs) {
  while (msgs) {
    pool_msg *nx = msgs->next;
    if (!msgs->id) json_decref(msgs->reply); /* an order for worker processes (pool.c) */
    else if (msgs->reply) wk_deliver(t, msgs->id, msgs->reply);
    else wk_hold(t, msgs->id, msgs->ms);
    free(msgs);
    msgs = nx;
  }
  while (reqs) {
    pool_req *nx = reqs->batch; /* read first: answering frees reqs */
    json_t *q = reqs->req;
    reqs->req = NULL;
    wk_submit(t, reqs->ticket, q);
    reqs = nx;
  }
}

static void thr_run(pool_worker *w) {
  wk_table *t = w->be;
  for (;;) {
    int64_t next = wk_poll(t);
    pool_req *reqs;
    pool_msg *msgs;
    if (!pool_take(w, &reqs, &msgs, next)) break;
    pool_feed(t, reqs, msgs);
  }
}

static void thr_wake(pool_worker *w) { pthread_cond_signal(&w->cond); }

static void thr_fini(pool_worker *w) { wk_table_free(w->be); }

const pool_backend pool_thread_backend = {thr_init, thr_run, thr_wake, thr_fini, NULL};

/*
 * pool.c: tickets, queues, completions, placement and the watchdog (see pool.h); how each
 * worker runs its requests is its back end's business (backend.h).
 *
 * One mutex guards every queue, inbox and the completion list: with a handful of workers
 * the critical sections are a few pointer moves, and one lock keeps the watchdog's view of
 * "what runs where" consistent without lock ordering rules. Worker threads block on their
 * own condition variable (or, for a process driver, in poll() on its own eventfd);
 * callers waiting for a ticket block on `done_cond`; the host's event loop sleeps on the
 * eventfd.
 *
 * A synchronous call is a round trip between two threads, and a futex sleep and wake-up on
 * each side cost more than a small render itself. So both sides spin for a short while
 * (POOL_SPIN_NS) before sleeping: a worker that just answered watches its queue, and a
 * caller waiting for its ticket watches the completion counter, both read without the
 * lock through atomics that only ever say "look again". Sleeping still follows under the
 * lock, so no wake-up is lost.
 *
 * The watchdog watches slices, not calls: a parked call runs no code and its own worker
 * times it out (exec.h), so what needs a second pair of eyes is a slice of plugin code
 * that does not come back (a builtin that never polls the interrupt handler). A slice
 * running past its call's timeout plus the grace is answered VM_TIMEOUT; still stuck
 * `wedged_ms` later, the thread is declared wedged and everything queued on it answers
 * PLUGIN_CRASHED. Worker processes are killed by their driver instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "worker/exec.h"
#include "worker/hostq.h"
#include "worker/pool_impl.h"


static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

bool pool_spin_for_change(atomic_uint *v, unsigned seen) {
  uint64_t until = 0;
  for (unsigned i = 0;; i++) {
    if (atomic_load_explicit(v, memory_order_acquire) != seen) return true;
    if ((i & 63) == 0) {
      uint64_t t = clock_mono_ns();
      if (!until) until = t + POOL_SPIN_NS;
      else if (t >= until) return false;
      sched_yield(); /* on a busy machine the thread we wait for may need this core */
    }
    cpu_relax();
  }
}

void pool_abs_time(struct timespec *ts, clockid_t clk, uint64_t add_ns) {
  clock_gettime(clk, ts);
  uint64_t abs_ns = (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec + add_ns;
  ts->tv_sec = (time_t)(abs_ns / 1000000000u);
  ts->tv_nsec = (long)(abs_ns % 1000000000u);
}

json_t *pool_error(int code, const char *msg) {
  al_error e;
  err_set(&e, code, NULL, "%s", msg);
  return wk_error_response(&e);
}

const pool_config *pool_cfg(const pool *p) { return &p->cfg; }

void pool_post_done(pool *p, pool_req *r, json_t *resp) {
  pool_done *d = r->done;
  r->done = NULL;
  bool async = r->async;
  *d = (pool_done){r->ticket, resp, async, NULL};
  if (p->done_tail) p->done_tail->next = d;
  else p->done_head = d;
  p->done_tail = d;
  atomic_fetch_add_explicit(&p->done_seq, 1, memory_order_release);
  if (async) {
    p->async_ready++;
    uint64_t one = 1;
    if (p->efd >= 0 && write(p->efd, &one, sizeof one) < 0) { /* saturated: still readable */ }
  }
  pthread_cond_broadcast(&p->done_cond);
}

static void *worker_thread(void *arg) {
  pool_worker *w = arg;
  w->p->be->run(w);
  return NULL;
}

/* Sets up worker slot i (its thread not yet started). 0 or an AL_E* code. */
static int worker_init(pool *p, pool_worker *w, unsigned i) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  w->p = p;
  w->index = (int)i;
  pthread_cond_init(&w->cond, &ca);
  pthread_condattr_destroy(&ca);
  return p->be->init(w);
}

/* ---- the pool --------------------------------------------------------------------------- */

int pool_new(const pool_config *cfg, pool **out, al_error *err) {
  *out = NULL;
  wk_global_init();
  pool *p = calloc(1, sizeof *p);
  if (!p) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory creating workers");
  p->cfg = *cfg;
  if (!p->cfg.queue_capacity) p->cfg.queue_capacity = 256;
  if (!p->cfg.wedged_ms) p->cfg.wedged_ms = 5000;
  p->be = cfg->kind == POOL_PROCESS ? &pool_process_backend
          : cfg->kind == POOL_THREAD ? &pool_thread_backend
                                     : &pool_inline_backend;
  p->efd = -1;
  p->next_ticket = 1;
  p->dog_wake_ns = UINT64_MAX;
  unsigned n = cfg->kind == POOL_INLINE ? 1 : cfg->workers;
  if (!n) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    n = c > 0 ? (unsigned)c : 1;
  }
  /* Worker processes are added as trust identities need them (pool_assign), up to the cap;
   * the array is sized for all of them now so a worker's address never moves. */
  unsigned cap = n;
  if (cfg->kind == POOL_PROCESS) {
    cap = cfg->max_workers ? cfg->max_workers : POOL_MAX_PROCESSES;
    if (cap < n) cap = n;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->done_cond, NULL);
  pthread_cond_init(&p->dog_cond, &ca);
  p->w = calloc(cap, sizeof *p->w);
  p->cap = cap;
  if (!p->w || (cfg->hostcall && !(p->hq = hq_new(cfg->hostcall, cfg->hostcall_user)))) {
    pthread_condattr_destroy(&ca);
    pool_free(p);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory creating workers");
  }
  p->n = n;
  int rc = 0;
  for (unsigned i = 0; i < n && !rc; i++) {
    if ((rc = worker_init(p, &p->w[i], i))) {
      pthread_condattr_destroy(&ca);
      pool_free(p);
      return err_set(err, rc, NULL, "cannot set up worker %u", i);
    }
  }
  pthread_condattr_destroy(&ca);
  if (cfg->kind != POOL_INLINE) {
    p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->efd < 0) {
      pool_free(p);
      return err_set(err, AL_EIO, NULL, "eventfd: %s", strerror(errno));
    }
    for (unsigned i = 0; i < n; i++) {
      if (pthread_create(&p->w[i].thread, NULL, worker_thread, &p->w[i])) {
        pool_free(p);
        return err_set(err, AL_EINTERNAL, NULL, "cannot start worker thread %u", i);
      }
      p->w[i].started = true;
    }
    if (pthread_create(&p->dog, NULL, pool_watchdog_main, p)) {
      pool_free(p);
      return err_set(err, AL_EINTERNAL, NULL, "cannot start the watchdog thread");
    }
    p->dog_started = true;
  }
  *out = p;
  return 0;
}

static void req_free_all(pool_req *r) {
  while (r) {
    pool_req *nx = r->next;
    json_decref(r->req);
    free(r->done);
    free(r);
    r = nx;
  }
}

void pool_free(pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stopping = true;
  for (unsigned i = 0; i < p->n; i++)
    if (p->w[i].p) p->be->wake(&p->w[i]);
  pthread_cond_signal(&p->dog_cond);
  pthread_mutex_unlock(&p->mu);
  if (p->dog_started) pthread_join(p->dog, NULL);
  bool abandoned = false;
  for (unsigned i = 0; i < p->n; i++) {
    pool_worker *w = &p->w[i];
    bool joined = !w->started;
    if (w->started && !w->wedged) {
      pthread_join(w->thread, NULL);
      joined = true;
    } else if (w->started) {
      /* A wedged thread may still come back; give it a moment, then abandon it. */
      struct timespec ts;
      pool_abs_time(&ts, CLOCK_REALTIME, 1000000000u);
      joined = pthread_timedjoin_np(w->thread, NULL, &ts) == 0;
      if (!joined) pthread_detach(w->thread);
    }
    if (!joined) {
      abandoned = true; /* it still uses its table and the pool's lock: keep both */
      continue;
    }
  }
  if (abandoned) return; /* deliberate leak: freeing would pull memory from under a live thread */
  /* The workers are gone: the hostcall threads' answers have nowhere to go but the
   * inboxes, which are freed below. */
  hq_free(p->hq);
  for (unsigned i = 0; i < p->n; i++) {
    pool_worker *w = &p->w[i];
    if (!w->p) continue;
    if (p->be->fini) p->be->fini(w);
    req_free_all(w->head);
    req_free_all(w->inflight);
    for (pool_msg *m = w->inbox; m;) {
      pool_msg *nx = m->next;
      json_decref(m->reply);
      free(m);
      m = nx;
    }
    pthread_cond_destroy(&w->cond);
    free(w->trust);
  }
  for (pool_done *d = p->done_head; d;) {
    pool_done *nx = d->next;
    json_decref(d->resp);
    free(d);
    d = nx;
  }
  free(p->w);
  if (p->efd >= 0) close(p->efd);
  pthread_cond_destroy(&p->done_cond);
  pthread_cond_destroy(&p->dog_cond);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

unsigned pool_workers(const pool *p) {
  pthread_mutex_lock((pthread_mutex_t *)&p->mu);
  unsigned n = p->n;
  pthread_mutex_unlock((pthread_mutex_t *)&p->mu);
  return n;
}

/* Queues an order for w's back end (lock). Orders travel the inbox as messages with id 0,
 * so they reach the worker in order with everything else sent to it. */
static int order_push(pool_worker *w, json_t *order) {
  pool_msg *m = order ? calloc(1, sizeof *m) : NULL;
  if (!m) {
    json_decref(order);
    return AL_ENO_MEMORY;
  }
  m->reply = order;
  if (w->inbox_tail) w->inbox_tail->next = m;
  else w->inbox = m;
  w->inbox_tail = m;
  atomic_fetch_add_explicit(&w->submitted, 1, memory_order_release);
  w->p->be->wake(w);
  return 0;
}

/* Starts worker slot p->n (lock held; the new thread waits for it). */
static int worker_add(pool *p, al_error *err) {
  pool_worker *w = &p->w[p->n];
  int rc = worker_init(p, w, p->n);
  if (!rc && pthread_create(&w->thread, NULL, worker_thread, w)) rc = AL_EINTERNAL;
  if (rc) {
    if (w->p && p->be->fini) p->be->fini(w);
    pthread_cond_destroy(&w->cond);
    memset(w, 0, sizeof *w);
    return err_set(err, rc, NULL, "cannot start another worker process");
  }
  w->started = true;
  p->n++;
  return 0;
}

int pool_assign(pool *p, const char *trust, int *worker, al_error *err) {
  /* The least busy worker (fewest calls queued or in flight, a long load included), then
   * the one with the fewest instances. A process pool keeps trust identities apart
   * (pool.h): only workers that host this identity, or never hosted anything, qualify. */
  bool keyed = p->cfg.kind == POOL_PROCESS && trust;
  pthread_mutex_lock(&p->mu);
  int best = -1, spare = -1;
  for (unsigned i = 0; i < p->n; i++) {
    pool_worker *w = &p->w[i], *b = best < 0 ? NULL : &p->w[best];
    if (w->wedged) continue;
    if (keyed && w->trust && strcmp(w->trust, trust)) {
      if (!w->instances && spare < 0) spare = (int)i; /* idle, another identity's */
      continue;
    }
    if (!b || w->qlen < b->qlen || (w->qlen == b->qlen && w->instances < b->instances)) best = (int)i;
  }
  int rc = 0;
  if (keyed && best < 0 && spare < 0 && p->n < p->cap) {
    if (!(rc = worker_add(p, err))) best = (int)p->n - 1;
  } else if (keyed && best < 0 && spare >= 0) {
    /* An idle worker process that hosted another identity: it may carry whatever that
     * identity's code did to it, so it is replaced by a fresh one before this load. */
    if ((rc = order_push(&p->w[spare], json_pack("{s:b}", "recycle", 1))))
      err_set(err, rc, NULL, "out of memory");
    else best = spare;
  } else if (keyed && best < 0 && !rc) {
    rc = err_set(err, AL_EBUSY, NULL,
                 "every worker process (%u, the most this host starts) hosts another plugin's "
                 "instances, and plugins of different trust never share one; unload some or raise "
                 "al_config.max_workers", p->cap);
  }
  if (!rc && best < 0) best = 0; /* all wedged: submits will say so */
  if (!rc && keyed && !p->w[best].trust && !(p->w[best].trust = strdup(trust)))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc && keyed && strcmp(p->w[best].trust, trust)) {
    char *t = strdup(trust);
    if (!t) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    else {
      free(p->w[best].trust);
      p->w[best].trust = t;
    }
  }
  if (!rc) p->w[best].instances++;
  pthread_mutex_unlock(&p->mu);
  *worker = rc ? -1 : best;
  return rc;
}

void pool_release(pool *p, int worker) {
  pthread_mutex_lock(&p->mu);
  if (worker >= 0 && (unsigned)worker < p->n && p->w[worker].instances) p->w[worker].instances--;
  pthread_mutex_unlock(&p->mu);
}

int pool_condemn(pool *p, int worker, const char *instance_id, const char *why) {
  pthread_mutex_lock(&p->mu);
  int rc = AL_EINVALID_ARGUMENT;
  if (p->cfg.kind == POOL_PROCESS && worker >= 0 && (unsigned)worker < p->n)
    rc = order_push(&p->w[worker], json_pack("{s:s,s:s}", "condemn", instance_id ? instance_id : "",
                                             "why", why ? why : "it broke the protocol"));
  pthread_mutex_unlock(&p->mu);
  return rc;
}

int pool_submit(pool *p, int worker, json_t *req, uint32_t timeout_ms, bool async, uint64_t *ticket,
                al_error *err) {
  pthread_mutex_lock(&p->mu);
  if (worker < 0 || (unsigned)worker >= p->n) {
    pthread_mutex_unlock(&p->mu);
    json_decref(req);
    return err_set(err, AL_EINTERNAL, NULL, "no worker %d", worker);
  }
  pool_worker *w = &p->w[worker];
  uint64_t t = p->next_ticket++;
  if (ticket) *ticket = t;
  int rc = 0;
  if (w->wedged) rc = err_set(err, AL_ECRASHED, NULL, "the worker thread stopped responding");
  else if (w->qlen >= p->cfg.queue_capacity)
    rc = err_set(err, AL_EBUSY, NULL, "the instance's queue is full (%u calls)", w->qlen);
  pool_req *r = rc ? NULL : calloc(1, sizeof *r);
  pool_done *done = r ? malloc(sizeof *done) : NULL;
  if (!rc && !done) {
    free(r);
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory queueing a call");
  }
  if (rc) {
    pthread_mutex_unlock(&p->mu);
    json_decref(req);
    return rc;
  }
  *r = (pool_req){.ticket = t, .req = req, .timeout_ms = timeout_ms, .async = async, .done = done};
  if (w->tail) w->tail->next = r;
  else w->head = r;
  w->tail = r;
  w->qlen++;
  atomic_fetch_add_explicit(&w->submitted, 1, memory_order_release);
  p->be->wake(w);
  pthread_mutex_unlock(&p->mu);
  if (p->be->drive && !async) { /* inline: sync calls run in pool_wait */ }
  else if (p->be->drive) p->be->drive(w, UINT64_MAX, 0); /* start it now; it may park */
  return 0;
}

/* Unlinks and returns the first completion matching (ticket, or any async when 0). (lock) */
static pool_done *take_done(pool *p, uint64_t ticket) {
  for (pool_done **pp = &p->done_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
    pool_done *d = *pp;
    if (ticket ? d->ticket == ticket : d->async) {
      *pp = d->next;
      if (p->done_tail == d) p->done_tail = prev;
      if (d->async) p->async_ready--;
      return d;
    }
  }
  return NULL;
}

json_t *pool_wait(pool *p, uint64_t ticket) {
  pthread_mutex_lock(&p->mu);
  pool_done *d;
  bool spun = false;
  while (!(d = take_done(p, ticket))) {
    if (p->be->drive) { /* inline: this thread is the worker */
      pthread_mutex_unlock(&p->mu);
      p->be->drive(&p->w[0], ticket, -1);
      pthread_mutex_lock(&p->mu);
      continue;
    }
    if (!spun) { /* once per wait, then sleep: see the file comment */
      spun = true;
      unsigned seen = atomic_load_explicit(&p->done_seq, memory_order_acquire);
      pthread_mutex_unlock(&p->mu);
      pool_spin_for_change(&p->done_seq, seen);
      pthread_mutex_lock(&p->mu);
      continue;
    }
    pthread_cond_wait(&p->done_cond, &p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  json_t *r = d->resp;
  free(d);
  return r;
}

int pool_call(pool *p, int worker, json_t *req, uint32_t timeout_ms, json_t **resp, al_error *err) {
  uint64_t t;
  *resp = NULL;
  int rc = pool_submit(p, worker, req, timeout_ms, false, &t, err);
  if (rc) return rc;
  *resp = pool_wait(p, t);
  return 0;
}

bool pool_next(pool *p, uint64_t *ticket, json_t **resp) {
  if (p->be->drive) p->be->drive(&p->w[0], 0, 0);
  pthread_mutex_lock(&p->mu);
  pool_done *d = take_done(p, 0);
  if (d && p->async_ready == 0 && p->efd >= 0) {
    uint64_t v;
    if (read(p->efd, &v, sizeof v) < 0) { /* EAGAIN: already drained */ }
  }
  pthread_mutex_unlock(&p->mu);
  if (!d) return false;
  *ticket = d->ticket;
  *resp = d->resp;
  free(d);
  return true;
}

int pool_fd(const pool *p) { return p->efd; }

void pool_wait_any(pool *p, int timeout_ms) {
  if (p->be->drive) {
    p->be->drive(&p->w[0], 0, timeout_ms);
    return;
  }
  pthread_mutex_lock(&p->mu);
  if (!p->async_ready && timeout_ms != 0) {
    if (timeout_ms < 0) {
      while (!p->async_ready) pthread_cond_wait(&p->done_cond, &p->mu);
    } else {
      struct timespec ts;
      pool_abs_time(&ts, CLOCK_REALTIME, (uint64_t)timeout_ms * 1000000u);
      while (!p->async_ready && pthread_cond_timedwait(&p->done_cond, &p->mu, &ts) == 0) {}
    }
  }
  pthread_mutex_unlock(&p->mu);
}

bool pool_answered(pool *p, uint64_t ticket) {
  pthread_mutex_lock(&p->mu);
  bool found = false;
  for (pool_done *d = p->done_head; d && !found; d = d->next) found = ticket ? d->ticket == ticket : d->async;
  pthread_mutex_unlock(&p->mu);
  return found;
}

void pool_proc_stats(pool_worker *w, const wp_stats *st) {
  pthread_mutex_lock(&w->p->mu);
  w->proc_stats = *st;
  pthread_mutex_unlock(&w->p->mu);
}

void pool_get_stats(pool *p, pool_stats *st) {
  memset(st, 0, sizeof *st);
  pthread_mutex_lock(&p->mu);
  for (unsigned i = 0; i < p->n; i++) {
    st->starts += p->w[i].proc_stats.starts;
    st->crashes += p->w[i].proc_stats.crashes;
    st->watchdog_kills += p->w[i].proc_stats.watchdog_kills;
    st->lanes += p->w[i].proc_stats.pid > 0 && p->w[i].proc_stats.lane;
  }
  pthread_mutex_unlock(&p->mu);
}

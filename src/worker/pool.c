/*
 * pool.c: workers, queues, completions and the watchdog (see pool.h for the contract).
 *
 * One mutex guards every queue and the completion list: with a handful of workers the
 * critical sections are a few pointer moves, and one lock keeps the watchdog's view of
 * "what is running where" consistent without lock ordering rules. Worker threads block on
 * their own condition variable; callers waiting for a ticket block on `done_cond`; the
 * host's event loop sleeps on the eventfd.
 *
 * A synchronous call is a round trip between two threads, and a futex sleep and wake-up on
 * each side cost more than a small render itself. So both sides spin for a short while
 * (POOL_SPIN_NS) before sleeping: a worker that just answered watches its queue, and a
 * caller waiting for its ticket watches the completion counter, both read without the
 * lock through atomics that only ever say "look again". Sleeping still follows under the
 * lock, so no wake-up is lost; a long call costs the caller one short spin. The watchdog
 * is woken only when a new deadline is earlier than the one it sleeps towards.
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

#include "exec.h"
#include "pool.h"
#include "worker_process.h"

typedef struct pool_req {
  uint64_t ticket;
  json_t *req;
  uint32_t timeout_ms;
  bool async;
  struct pool_req *next;
} pool_req;

typedef struct pool_done {
  uint64_t ticket;
  json_t *resp;
  bool async;
  struct pool_done *next;
} pool_done;

typedef struct pool_worker {
  pool *p;
  int index;
  pthread_t thread;
  bool started;
  pthread_cond_t cond;
  pool_req *head, *tail;
  unsigned qlen; /* queued + running */
  unsigned instances;
  wk_table *table;  /* thread back end */
  wp_child *proc;   /* process back end */
  wp_stats proc_stats; /* copied after each call, under the pool lock */
  /* the running call, for the watchdog */
  uint64_t running;
  bool running_async;
  uint64_t deadline_ns;
  bool answered; /* the watchdog already answered the running call */
  bool wedged;
  atomic_uint submitted; /* bumped on every submit: a spinning worker's "look again" */
} pool_worker;

struct pool {
  pool_config cfg;
  pthread_mutex_t mu;
  pthread_cond_t done_cond;
  pthread_cond_t dog_cond;
  pool_worker *w;
  unsigned n;
  pool_done *done_head, *done_tail;
  unsigned async_ready;
  uint64_t next_ticket;
  int efd;
  bool stopping;
  pthread_t dog;
  bool dog_started;
  uint64_t dog_wake_ns;  /* when the watchdog next wakes by itself (under mu) */
  atomic_uint done_seq;  /* bumped on every completion: a spinning caller's "look again" */
};

/* How long a thread spins for the other side of a call before sleeping. Long enough to
 * cover a small call and the host's turnaround between calls, short enough that an idle
 * worker gives its core back at once. */
#define POOL_SPIN_NS 50000u

static uint64_t now_ns(void) { return clock_mono_ns(); }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Spins until *v differs from `seen` or POOL_SPIN_NS pass; true when it changed. */
static bool spin_for_change(atomic_uint *v, unsigned seen) {
  uint64_t until = 0;
  for (unsigned i = 0;; i++) {
    if (atomic_load_explicit(v, memory_order_acquire) != seen) return true;
    if ((i & 63) == 0) {
      uint64_t t = now_ns();
      if (!until) until = t + POOL_SPIN_NS;
      else if (t >= until) return false;
      /* On a busy machine the thread we wait for may be waiting for this core. */
      sched_yield();
    }
    cpu_relax();
  }
}

/* Appends a completion and wakes whoever waits for it. Called with p->mu held. */
static void post_done(pool *p, uint64_t ticket, json_t *resp, bool async) {
  pool_done *d = malloc(sizeof *d);
  if (!d) { /* a completion that cannot be recorded would leave its caller waiting
             * forever; failing loudly is the lesser harm */
    json_decref(resp);
    abort();
  }
  *d = (pool_done){ticket, resp, async, NULL};
  if (p->done_tail) p->done_tail->next = d;
  else p->done_head = d;
  p->done_tail = d;
  atomic_fetch_add_explicit(&p->done_seq, 1, memory_order_release);
  if (async) {
    p->async_ready++;
    uint64_t one = 1;
    if (p->efd >= 0 && write(p->efd, &one, sizeof one) < 0) { /* counter saturated: still readable */ }
  }
  pthread_cond_broadcast(&p->done_cond);
}

static json_t *error_resp(int code, const char *fmt, const char *detail) {
  al_error e;
  err_set(&e, code, NULL, fmt, detail);
  return wk_error_response(&e);
}

static void *worker_main(void *arg) {
  pool_worker *w = arg;
  pool *p = w->p;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    if (!w->head && !p->stopping) {
      /* Spin (unlocked) for the next call before sleeping: see the file comment. */
      unsigned seen = atomic_load_explicit(&w->submitted, memory_order_acquire);
      pthread_mutex_unlock(&p->mu);
      spin_for_change(&w->submitted, seen);
      pthread_mutex_lock(&p->mu);
    }
    while (!w->head && !p->stopping) pthread_cond_wait(&w->cond, &p->mu);
    if (!w->head) break; /* stopping and drained */
    pool_req *r = w->head;
    w->head = r->next;
    if (!w->head) w->tail = NULL;
    w->running = r->ticket; /* still counted in qlen until answered: capacity = queued + running */
    w->running_async = r->async;
    w->answered = false;
    /* A worker process is killed on its deadline by its own driver (wp_exec); only
     * threads need the watchdog to answer for them. */
    w->deadline_ns = w->proc ? UINT64_MAX
                             : now_ns() + (uint64_t)(r->timeout_ms + p->cfg.grace_ms) * 1000000u;
    if (w->deadline_ns < p->dog_wake_ns) pthread_cond_signal(&p->dog_cond);
    pthread_mutex_unlock(&p->mu);

    json_t *resp = w->proc ? wp_exec(w->proc, r->req, r->timeout_ms) : wk_exec(w->table, r->req);
    if (!resp) resp = error_resp(AL_ENO_MEMORY, "%s", "out of memory in the worker");

    pthread_mutex_lock(&p->mu);
    if (w->proc) wp_get_stats(w->proc, &w->proc_stats);
    if (w->answered) json_decref(resp); /* the watchdog answered; the caller has moved on */
    else post_done(p, r->ticket, resp, r->async);
    w->running = 0;
    w->qlen--;
    json_decref(r->req);
    free(r);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Sleeps until the earliest running deadline and answers calls that passed it. */
static void *watchdog_main(void *arg) {
  pool *p = arg;
  pthread_mutex_lock(&p->mu);
  while (!p->stopping) {
    uint64_t now = now_ns(), next = now + 1000000000u;
    for (unsigned i = 0; i < p->n; i++) {
      pool_worker *w = &p->w[i];
      if (!w->running || w->deadline_ns == UINT64_MAX) continue;
      if (!w->answered && now >= w->deadline_ns) {
        w->answered = true;
        post_done(p, w->running, error_resp(AL_ETIMEOUT, "%s",
                                            "the call passed its hard deadline (watchdog)"),
                  w->running_async);
      }
      uint64_t wedge_at = w->deadline_ns + (uint64_t)p->cfg.wedged_ms * 1000000u;
      if (w->answered && !w->wedged && now >= wedge_at) {
        /* A thread cannot be killed: fail what waits behind it instead of hanging. */
        w->wedged = true;
        for (pool_req *r = w->head; r;) {
          pool_req *nx = r->next;
          post_done(p, r->ticket, error_resp(AL_ECRASHED, "%s",
                                             "the worker thread stopped responding"), r->async);
          json_decref(r->req);
          free(r);
          r = nx;
        }
        w->head = w->tail = NULL;
        w->qlen = 1; /* the stuck call */
      }
      if (!w->answered && w->deadline_ns < next) next = w->deadline_ns;
      if (w->answered && !w->wedged && wedge_at < next) next = wedge_at;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t wait = next > now ? next - now : 0;
    p->dog_wake_ns = next;
    uint64_t abs_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + wait;
    ts.tv_sec = (time_t)(abs_ns / 1000000000u);
    ts.tv_nsec = (long)(abs_ns % 1000000000u);
    pthread_cond_timedwait(&p->dog_cond, &p->mu, &ts);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

int pool_new(const pool_config *cfg, pool **out, al_error *err) {
  *out = NULL;
  wk_global_init();
  pool *p = calloc(1, sizeof *p);
  if (!p) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory creating workers");
  p->cfg = *cfg;
  if (!p->cfg.queue_capacity) p->cfg.queue_capacity = 256;
  if (!p->cfg.wedged_ms) p->cfg.wedged_ms = 5000;
  p->efd = -1;
  p->next_ticket = 1;
  unsigned n = cfg->kind == POOL_INLINE ? 1 : cfg->workers;
  if (!n) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    n = c > 0 ? (unsigned)c : 1;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->done_cond, NULL);
  pthread_cond_init(&p->dog_cond, &ca);
  pthread_condattr_destroy(&ca);
  p->w = calloc(n, sizeof *p->w);
  if (!p->w) goto nomem;
  p->n = n;
  for (unsigned i = 0; i < n; i++) {
    pool_worker *w = &p->w[i];
    w->p = p;
    w->index = (int)i;
    pthread_cond_init(&w->cond, NULL);
    if (cfg->kind == POOL_PROCESS) {
      wp_config wc = {.worker_path = cfg->worker_path, .address_space_bytes = cfg->address_space_bytes,
                      .grace_ms = cfg->grace_ms, .hostcall = cfg->hostcall,
                      .hostcall_user = cfg->hostcall_user};
      if (!(w->proc = wp_new(&wc))) goto nomem;
    } else if (!(w->table = wk_table_new(cfg->alloc, cfg->alloc_ud))) {
      goto nomem;
    } else {
      wk_table_set_hostcall(w->table, cfg->hostcall, cfg->hostcall_user);
      /* (No spare maker with a host allocator: it would call it from one more thread
       * than the host's workers, which the host may not expect.) */
      if (cfg->kind == POOL_THREAD && !cfg->alloc && wk_table_prewarm(w->table)) {
        pool_free(p);
        return err_set(err, AL_EINTERNAL, NULL, "cannot start worker %u's spare maker", i);
      }
    }
  }
  if (cfg->kind != POOL_INLINE) {
    p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->efd < 0) {
      pool_free(p);
      return err_set(err, AL_EIO, NULL, "eventfd: %s", strerror(errno));
    }
    for (unsigned i = 0; i < n; i++) {
      if (pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i])) {
        pool_free(p);
        return err_set(err, AL_EINTERNAL, NULL, "cannot start worker thread %u", i);
      }
      p->w[i].started = true;
    }
    if (pthread_create(&p->dog, NULL, watchdog_main, p)) {
      pool_free(p);
      return err_set(err, AL_EINTERNAL, NULL, "cannot start the watchdog thread");
    }
    p->dog_started = true;
  }
  *out = p;
  return 0;
nomem:
  pool_free(p);
  return err_set(err, AL_ENO_MEMORY, NULL, "out of memory creating workers");
}

void pool_free(pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stopping = true;
  for (unsigned i = 0; i < p->n; i++) pthread_cond_signal(&p->w[i].cond);
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
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      joined = pthread_timedjoin_np(w->thread, NULL, &ts) == 0;
      if (!joined) pthread_detach(w->thread);
    }
    if (!joined) {
      abandoned = true; /* it still uses its table and the pool's lock: keep both */
      continue;
    }
    wk_table_free(w->table);
    wp_free(w->proc);
    for (pool_req *r = w->head; r;) {
      pool_req *nx = r->next;
      json_decref(r->req);
      free(r);
      r = nx;
    }
    w->head = NULL;
    pthread_cond_destroy(&w->cond);
  }
  if (abandoned) return; /* deliberate leak: freeing would pull memory from under a live thread */
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

unsigned pool_workers(const pool *p) { return p->n; }

int pool_assign(pool *p) {
  pthread_mutex_lock(&p->mu);
  int best = -1;
  for (unsigned i = 0; i < p->n; i++)
    if (!p->w[i].wedged && (best < 0 || p->w[i].instances < p->w[best].instances)) best = (int)i;
  if (best < 0) best = 0; /* all wedged: submits will say so */
  p->w[best].instances++;
  pthread_mutex_unlock(&p->mu);
  return best;
}

void pool_release(pool *p, int worker) {
  pthread_mutex_lock(&p->mu);
  if (worker >= 0 && (unsigned)worker < p->n && p->w[worker].instances) p->w[worker].instances--;
  pthread_mutex_unlock(&p->mu);
}

int pool_submit(pool *p, int worker, json_t *req, uint32_t timeout_ms, bool async, uint64_t *ticket,
                al_error *err) {
  if (worker < 0 || (unsigned)worker >= p->n) {
    json_decref(req);
    return err_set(err, AL_EINTERNAL, NULL, "no worker %d", worker);
  }
  pool_worker *w = &p->w[worker];
  pthread_mutex_lock(&p->mu);
  uint64_t t = p->next_ticket++;
  if (ticket) *ticket = t;
  if (p->cfg.kind == POOL_INLINE) {
    /* Runs right here; the lock is only held for the bookkeeping. */
    pthread_mutex_unlock(&p->mu);
    json_t *resp = wk_exec(w->table, req);
    json_decref(req);
    if (!resp) resp = error_resp(AL_ENO_MEMORY, "%s", "out of memory in the worker");
    pthread_mutex_lock(&p->mu);
    post_done(p, t, resp, async);
    pthread_mutex_unlock(&p->mu);
    return 0;
  }
  int rc = 0;
  if (w->wedged) rc = err_set(err, AL_ECRASHED, NULL, "the worker thread stopped responding");
  else if (w->qlen >= p->cfg.queue_capacity)
    rc = err_set(err, AL_EBUSY, NULL, "the instance's queue is full (%u calls)", w->qlen);
  pool_req *r = rc ? NULL : malloc(sizeof *r);
  if (!rc && !r) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory queueing a call");
  if (rc) {
    pthread_mutex_unlock(&p->mu);
    json_decref(req);
    return rc;
  }
  *r = (pool_req){t, req, timeout_ms, async, NULL};
  if (w->tail) w->tail->next = r;
  else w->head = r;
  w->tail = r;
  w->qlen++;
  atomic_fetch_add_explicit(&w->submitted, 1, memory_order_release);
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&p->mu);
  return 0;
}

/* Unlinks and returns the first completion matching (ticket, or any async when 0). */
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
    if (!spun) { /* once per wait, then sleep: see the file comment */
      spun = true;
      unsigned seen = atomic_load_explicit(&p->done_seq, memory_order_acquire);
      pthread_mutex_unlock(&p->mu);
      spin_for_change(&p->done_seq, seen);
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
  pthread_mutex_lock(&p->mu);
  if (!p->async_ready && timeout_ms != 0) {
    if (timeout_ms < 0) {
      while (!p->async_ready) pthread_cond_wait(&p->done_cond, &p->mu);
    } else {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      uint64_t abs_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
                        (uint64_t)timeout_ms * 1000000u;
      ts.tv_sec = (time_t)(abs_ns / 1000000000u);
      ts.tv_nsec = (long)(abs_ns % 1000000000u);
      while (!p->async_ready && pthread_cond_timedwait(&p->done_cond, &p->mu, &ts) == 0) {}
    }
  }
  pthread_mutex_unlock(&p->mu);
}

void pool_get_stats(pool *p, pool_stats *st) {
  memset(st, 0, sizeof *st);
  pthread_mutex_lock(&p->mu);
  for (unsigned i = 0; i < p->n; i++) {
    st->starts += p->w[i].proc_stats.starts;
    st->crashes += p->w[i].proc_stats.crashes;
    st->watchdog_kills += p->w[i].proc_stats.watchdog_kills;
  }
  pthread_mutex_unlock(&p->mu);
}

/*
 * pool_lane.c: a worker's lane as its back end sees it (backend.h): taking the next
 * requests and messages, answering a ticket, the list of calls in flight with their
 * deadlines, the slice of plugin code now running, and hostcalls handed to the host's
 * hostcall threads; and the watchdog, which watches those slices (pool.c's opening
 * comment says why slices and not calls). Every function here runs under, or takes, the
 * pool's one mutex.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/exec.h"
#include "worker/hostq.h"
#include "worker/pool_impl.h"

/* ---- for the back ends ---------------------------------------------------------------- */

bool pool_take(pool_worker *w, pool_req **reqs, pool_msg **msgs, int64_t wait_ms) {
  pool *p = w->p;
  *reqs = NULL;
  *msgs = NULL;
  pthread_mutex_lock(&p->mu);
  w->slice = 0;
  if (!w->head && !w->inbox && !p->stopping && wait_ms != 0) {
    /* Spin (unlocked) for the next call before sleeping: see the file comment. */
    unsigned seen = atomic_load_explicit(&w->submitted, memory_order_acquire);
    pthread_mutex_unlock(&p->mu);
    pool_spin_for_change(&w->submitted, seen);
    pthread_mutex_lock(&p->mu);
  }
  if (wait_ms != 0 && !w->head && !w->inbox && !p->stopping) {
    if (wait_ms < 0) {
      while (!w->head && !w->inbox && !p->stopping) pthread_cond_wait(&w->cond, &p->mu);
    } else {
      struct timespec ts;
      pool_abs_time(&ts, CLOCK_MONOTONIC, (uint64_t)wait_ms * 1000000u);
      while (!w->head && !w->inbox && !p->stopping &&
             pthread_cond_timedwait(&w->cond, &p->mu, &ts) == 0) {}
    }
  }
  bool go = !(p->stopping && !w->head && !w->inbox);
  if (w->head) {
    pool_req *first = w->head, *last = first;
    for (pool_req *r = first; r; r = r->next) {
      r->batch = r->next; /* the caller's list, in arrival order */
      last = r;
    }
    last->next = w->inflight; /* all of them are in flight now */
    w->inflight = first;
    w->head = w->tail = NULL;
    *reqs = first;
  }
  *msgs = w->inbox;
  w->inbox = w->inbox_tail = NULL;
  pthread_mutex_unlock(&p->mu);
  return go;
}

void pool_answer(pool_worker *w, uint64_t t, json_t *resp) {
  pool *p = w->p;
  if (!resp) resp = pool_error(AL_ENO_MEMORY, "out of memory in the worker");
  pthread_mutex_lock(&p->mu);
  for (pool_req **pp = &w->inflight; *pp; pp = &(*pp)->next) {
    pool_req *r = *pp;
    if (r->ticket != t) continue;
    *pp = r->next;
    if (r->answered) json_decref(resp);
    else pool_post_done(p, r, resp);
    resp = NULL;
    w->qlen--;
    if (w->slice == t) w->slice = 0;
    json_decref(r->req);
    free(r->done);
    free(r);
    break;
  }
  pthread_mutex_unlock(&p->mu);
  json_decref(resp); /* not in flight (cannot happen): never leak */
}

pool_req *pool_inflight(pool_worker *w, uint64_t t) {
  pool_req *found = NULL;
  pthread_mutex_lock(&w->p->mu);
  for (pool_req *r = w->inflight; r && !found; r = r->next)
    if (r->ticket == t) found = r;
  pthread_mutex_unlock(&w->p->mu);
  return found;
}

size_t pool_inflight_tickets(pool_worker *w, uint64_t *out, size_t cap) {
  size_t n = 0;
  pthread_mutex_lock(&w->p->mu);
  for (pool_req *r = w->inflight; r && n < cap; r = r->next) out[n++] = r->ticket;
  pthread_mutex_unlock(&w->p->mu);
  return n;
}

uint64_t pool_inflight_earliest(pool_worker *w, uint64_t *ticket) {
  uint64_t best = UINT64_MAX;
  *ticket = 0;
  pthread_mutex_lock(&w->p->mu);
  for (pool_req *r = w->inflight; r; r = r->next)
    if (r->hard_ns < best) {
      best = r->hard_ns;
      *ticket = r->ticket;
    }
  pthread_mutex_unlock(&w->p->mu);
  return best;
}

uint64_t pool_inflight_latest(pool_worker *w) {
  uint64_t latest = 0;
  pthread_mutex_lock(&w->p->mu);
  for (pool_req *r = w->inflight; r; r = r->next)
    if (r->hard_ns > latest) latest = r->hard_ns;
  pthread_mutex_unlock(&w->p->mu);
  return latest;
}

void pool_inflight_extend(pool_worker *w, uint64_t from_ns, uint64_t add_ns) {
  pthread_mutex_lock(&w->p->mu);
  for (pool_req *r = w->inflight; r; r = r->next)
    if (r->hard_ns >= from_ns) r->hard_ns = r->hard_ns > UINT64_MAX - add_ns ? UINT64_MAX : r->hard_ns + add_ns;
  pthread_mutex_unlock(&w->p->mu);
}

void pool_slice(pool_worker *w, uint64_t t) {
  pool *p = w->p;
  pthread_mutex_lock(&p->mu);
  w->slice = t;
  w->slice_deadline_ns = UINT64_MAX;
  for (pool_req *r = w->inflight; t && r; r = r->next)
    if (r->ticket == t)
      w->slice_deadline_ns = clock_mono_ns() + pool_allowance_ns(r->timeout_ms, p->cfg.grace_ms);
  if (w->slice_deadline_ns < p->dog_wake_ns) pthread_cond_signal(&p->dog_cond);
  pthread_mutex_unlock(&p->mu);
}

int pool_call_host(void *user, const char *instance_id, const char *method, const json_t *args,
                   uint32_t timeout_ms, const hostcall_hold *hold, json_t **result, al_error *err) {
  const pool_config *cfg = &((pool_worker *)user)->p->cfg;
  if (!cfg->hostcall) return err_set(err, AL_ECAPABILITY_DENIED, NULL, "this host offers no services");
  return cfg->hostcall(cfg->hostcall_user, instance_id, method, args, timeout_ms, hold, result, err);
}

static void inbox_push(pool_worker *w, pool_msg *m) {
  pool *p = w->p;
  pthread_mutex_lock(&p->mu);
  if (w->inbox_tail) w->inbox_tail->next = m;
  else w->inbox = m;
  w->inbox_tail = m;
  atomic_fetch_add_explicit(&w->submitted, 1, memory_order_release);
  p->be->wake(w);
  pthread_mutex_unlock(&p->mu);
}

static void *hq_reserve(void *user) {
  (void)user;
  return calloc(1, sizeof(pool_msg));
}

static void hq_unreserve(void *user, void *slot) {
  (void)user;
  free(slot);
}

static void hq_done(void *user, uint64_t id, json_t *reply, void *slot) {
  pool_msg *m = slot; /* reserved when the call was queued: an answer is never dropped */
  m->id = id;
  m->reply = reply;
  inbox_push(user, m);
}

static void hq_hold(void *user, uint64_t id, uint32_t ms) {
  pool_msg *m = calloc(1, sizeof *m);
  if (!m) return;
  m->id = id;
  m->ms = ms;
  inbox_push(user, m);
}

int pool_hostcall(pool_worker *w, uint64_t id, const char *instance_id, const char *method,
                  json_t *args, uint32_t timeout_ms, al_error *err) {
  if (!w->p->hq) {
    json_decref(args);
    return err_set(err, AL_ECAPABILITY_DENIED, NULL, "this host offers no services");
  }
  hq_reply_to to = {hq_reserve, hq_unreserve, hq_done, hq_hold, w};
  return hq_submit(w->p->hq, id, instance_id, method, args, timeout_ms, &to, err);
}

/* ---- the watchdog --------------------------------------------------------------------- */

void *pool_watchdog_main(void *arg) {
  pool *p = arg;
  pthread_mutex_lock(&p->mu);
  while (!p->stopping) {
    uint64_t now = clock_mono_ns(), next = now + 1000000000u;
    for (unsigned i = 0; i < p->n; i++) {
      pool_worker *w = &p->w[i];
      if (!w->slice || w->slice_deadline_ns == UINT64_MAX) continue;
      pool_req *r = NULL;
      for (pool_req *x = w->inflight; x; x = x->next)
        if (x->ticket == w->slice) r = x;
      if (r && !r->answered && now >= w->slice_deadline_ns) {
        r->answered = true;
        pool_post_done(p, r, pool_error(AL_ETIMEOUT, "the call passed its hard deadline (watchdog)"));
      }
      uint64_t wedge_at = w->slice_deadline_ns + (uint64_t)p->cfg.wedged_ms * 1000000u;
      if (!w->wedged && now >= wedge_at) {
        /* A thread cannot be killed: fail what waits behind it instead of hanging. */
        w->wedged = true;
        for (pool_req *x = w->head; x;) {
          pool_req *nx = x->next;
          pool_post_done(p, x, pool_error(AL_ECRASHED, "the worker thread stopped responding"));
          json_decref(x->req);
          free(x);
          x = nx;
          w->qlen--;
        }
        w->head = w->tail = NULL;
        for (pool_req *x = w->inflight; x; x = x->next)
          if (!x->answered) {
            x->answered = true;
            pool_post_done(p, x, pool_error(AL_ECRASHED, "the worker thread stopped responding"));
          }
      }
      if (now < w->slice_deadline_ns && w->slice_deadline_ns < next) next = w->slice_deadline_ns;
      else if (!w->wedged && wedge_at < next) next = wedge_at;
    }
    struct timespec ts;
    p->dog_wake_ns = next;
    pool_abs_time(&ts, CLOCK_MONOTONIC, next > now ? next - now : 0);
    pthread_cond_timedwait(&p->dog_cond, &p->mu, &ts);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

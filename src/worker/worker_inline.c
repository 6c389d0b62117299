/*
 * worker_inline.c: the inline back end: no threads at all. The caller's thread runs the
 * worker's table inside pool_submit (an async call starts at once and may park) and inside
 * pool_wait / pool_wait_any / pool_next, which drive the table until the awaited answer
 * is there: deliver hostcall answers, fire timers, sleep until the next one.
 *
 * Hostcalls are performed right away on the same thread (there is no one else to serve),
 * and an asynchronous one's answer is queued in the inbox and delivered after the slice
 * that asked. So inline mode keeps the plugin-visible semantics (promises settle later)
 * without concurrency; an approval waits at most what is left of the call's deadline.
 */
#include <stdlib.h>
#include <time.h>

#include "worker/backend.h"
#include "worker/exec.h"


static void inl_done(void *user, uint64_t ticket, json_t *resp) { pool_answer(user, ticket, resp); }

static int inl_call(void *user, const char *instance_id, const char *method, const json_t *args,
                    uint32_t timeout_ms, const hostcall_hold *hold, json_t **result, al_error *err) {
  pool_worker *w = user;
  const pool_config *cfg = pool_cfg(w->p);
  if (!cfg->hostcall) return err_set(err, AL_ECAPABILITY_DENIED, NULL, "this host offers no services");
  return cfg->hostcall(cfg->hostcall_user, instance_id, method, args, timeout_ms, hold, result, err);
}

static int inl_send(void *user, uint64_t id, uint64_t ticket, const char *instance_id,
                    const char *method, json_t *args, uint32_t timeout_ms, al_error *err) {
  (void)ticket;
  (void)err;
  pool_worker *w = user;
  json_t *res = NULL;
  al_error e = {0};
  int rc = inl_call(w, instance_id, method, args, timeout_ms, NULL, &res, &e);
  json_decref(args);
  pool_msg *m = calloc(1, sizeof *m);
  json_t *reply = rc ? wk_error_response(&e) : json_pack("{s:o}", "ok", res ? res : json_null());
  if (rc) json_decref(res);
  if (!m || !reply) {
    free(m);
    json_decref(reply);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  m->id = id;
  m->reply = reply;
  /* Only this thread touches an inline worker: no lock, no wake-up needed. */
  if (w->inbox_tail) w->inbox_tail->next = m;
  else w->inbox = m;
  w->inbox_tail = m;
  return 0;
}

static int inl_init(pool_worker *w) {
  const pool_config *cfg = pool_cfg(w->p);
  wk_sink sink = {.done = inl_done, .send = inl_send, .call = inl_call, .user = w};
  return (w->be = wk_table_new(cfg->alloc, cfg->alloc_ud, &sink)) ? 0 : AL_ENO_MEMORY;
}

static void inl_wake(pool_worker *w) { (void)w; }

static void inl_fini(pool_worker *w) { wk_table_free(w->be); }

static void inl_drive(pool_worker *w, uint64_t ticket, int timeout_ms) {
  wk_table *t = w->be;
  uint64_t until = timeout_ms < 0 ? UINT64_MAX : clock_mono_ns() + (uint64_t)timeout_ms * 1000000u;
  for (;;) {
    pool_req *reqs;
    pool_msg *msgs;
    pool_take(w, &reqs, &msgs, 0);
    pool_feed(t, reqs, msgs);
    int64_t next = wk_poll(t);
    if (w->inbox) continue; /* a slice asked the host: deliver before sleeping */
    if (ticket == UINT64_MAX || pool_answered(w->p, ticket)) return;
    uint64_t now = clock_mono_ns();
    if (next < 0 || now >= until) return; /* nothing can happen, or time is up */
    uint64_t wake = now + (uint64_t)next * 1000000u;
    if (wake > until) wake = until;
    struct timespec ts = {(time_t)((wake - now) / 1000000000u), (long)((wake - now) % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0) {}
  }
}

const pool_backend pool_inline_backend = {inl_init, NULL, inl_wake, inl_fini, inl_drive};

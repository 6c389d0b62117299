/*
 * hostq.c: the asynchronous hostcall threads (see hostq.h).
 *
 * One mutex guards the job list and the thread count; idle threads sleep on one condition
 * variable. A thread is started when a job arrives and no thread is idle, so the pool
 * grows to the concurrency actually asked for and no further than HQ_MAX_THREADS. Threads
 * stay until hq_free: a host that once had 100 requests in flight keeps 100 sleeping
 * threads (small stacks, nothing touched), which costs less than starting them again.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/exec.h"
#include "worker/hostq.h"

typedef struct hq_job {
  uint64_t id;
  char instance_id[AL_INSTANCE_ID_MAX + 32];
  char *method;
  json_t *args;
  uint32_t timeout_ms;
  hq_reply_to to;
  void *slot;          /* to.reserve's, until done takes it */
  json_t *oom_reply;   /* the answer when the real one cannot be built */
  struct hq_job *next;
} hq_job;

struct hq {
  hostcall_fn fn;
  void *fn_user;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  hq_job *head, *tail;
  unsigned threads, idle;
  pthread_t tids[HQ_MAX_THREADS];
  bool stopping;
};

static void job_free(hq_job *j) {
  if (j->slot) j->to.unreserve(j->to.user, j->slot);
  json_decref(j->oom_reply);
  free(j->method);
  json_decref(j->args);
  free(j);
}

static void job_hold(void *user, uint32_t ms) {
  hq_job *j = user;
  if (j->to.hold) j->to.hold(j->to.user, j->id, ms);
}

static void *hq_main(void *arg) {
  hq *q = arg;
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (!q->head && !q->stopping) {
      q->idle++;
      pthread_cond_wait(&q->cv, &q->mu);
      q->idle--;
    }
    if (!q->head) break;
    hq_job *j = q->head;
    q->head = j->next;
    if (!q->head) q->tail = NULL;
    pthread_mutex_unlock(&q->mu);

    json_t *res = NULL;
    al_error e = {0};
    hostcall_hold hold = {job_hold, j};
    int rc = q->fn(q->fn_user, j->instance_id, j->method, j->args, j->timeout_ms, &hold, &res, &e);
    json_t *reply = rc ? wk_error_response(&e) : json_pack("{s:o}", "ok", res ? res : json_null());
    if (rc) json_decref(res);
    if (!reply) { /* out of memory: say so, or the call would wait out its deadline */
      reply = j->oom_reply;
      j->oom_reply = NULL;
    }
    void *slot = j->slot;
    j->slot = NULL;
    j->to.done(j->to.user, j->id, reply, slot);
    job_free(j);
    pthread_mutex_lock(&q->mu);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

hq *hq_new(hostcall_fn fn, void *fn_user) {
  hq *q = calloc(1, sizeof *q);
  if (!q) return NULL;
  q->fn = fn;
  q->fn_user = fn_user;
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  return q;
}

void hq_free(hq *q) {
  if (!q) return;
  pthread_mutex_lock(&q->mu);
  q->stopping = true;
  hq_job *left = q->head;
  q->head = q->tail = NULL;
  pthread_cond_broadcast(&q->cv);
  pthread_mutex_unlock(&q->mu);
  for (unsigned i = 0; i < q->threads; i++) pthread_join(q->tids[i], NULL);
  while (left) {
    hq_job *nx = left->next;
    job_free(left);
    left = nx;
  }
  pthread_cond_destroy(&q->cv);
  pthread_mutex_destroy(&q->mu);
  free(q);
}

int hq_submit(hq *q, uint64_t id, const char *instance_id, const char *method, json_t *args,
              uint32_t timeout_ms, const hq_reply_to *to, al_error *err) {
  hq_job *j = calloc(1, sizeof *j);
  if (!j) {
    json_decref(args);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory queueing a hostcall");
  }
  j->to = *to;
  j->args = args;
  al_error oom = {0};
  err_set(&oom, AL_ENO_MEMORY, NULL, "out of memory answering a hostcall");
  if (!(j->method = strdup(method)) || !(j->oom_reply = wk_error_response(&oom)) ||
      !(j->slot = to->reserve(to->user))) {
    job_free(j);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory queueing a hostcall");
  }
  j->id = id;
  snprintf(j->instance_id, sizeof j->instance_id, "%s", instance_id);
  j->timeout_ms = timeout_ms;
  pthread_mutex_lock(&q->mu);
  if (q->stopping) {
    pthread_mutex_unlock(&q->mu);
    job_free(j);
    return err_set(err, AL_EINTERNAL, NULL, "the host is shutting down");
  }
  if (q->tail) q->tail->next = j;
  else q->head = j;
  q->tail = j;
  if (!q->idle && q->threads < HQ_MAX_THREADS) {
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 512u << 10);
    if (!pthread_create(&q->tids[q->threads], &at, hq_main, q)) q->threads++;
    pthread_attr_destroy(&at);
    /* no thread at all could be started: the job waits for one, or for hq_free */
  }
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  return 0;
}

/*
 * wk_table.c: a worker's table of instances (exec_impl.h): QuickJS's process-wide set-up
 * done once, the maker thread that keeps one spare VM ready (exec.c's opening comment
 * says when it makes one and why it waits), looking instances up by id, and freeing.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <quickjs.h>

#include "exec_impl.h"

/* ---- the table -------------------------------------------------------------------------- */

static pthread_once_t wk_once = PTHREAD_ONCE_INIT;

/* QuickJS 2021-03-27 allocates class ids from a process-wide counter without a lock, and
 * the first runtime initialises shared tables: do both once, before any worker starts. */
static void wk_init_once(void) {
  JSRuntime *rt = JS_NewRuntime();
  if (rt) {
    JSContext *ctx = JS_NewContext(rt);
    if (ctx) JS_FreeContext(ctx);
    JS_FreeRuntime(rt);
  }
}

void wk_global_init(void) { pthread_once(&wk_once, wk_init_once); }

wk_table *wk_table_new(al_alloc_fn alloc, void *alloc_ud, const wk_sink *sink) {
  wk_global_init();
  wk_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->calls = json_object();
  if (!t->calls) {
    free(t);
    return NULL;
  }
  if (sink) t->sink = *sink;
  t->next_call = 1;
  t->alloc = alloc;
  t->alloc_ud = alloc_ud;
  atomic_init(&t->spare, NULL);
  atomic_init(&t->last_exec_ns, 0);
  atomic_init(&t->busy_flag, false);
  pthread_mutex_init(&t->mk_mu, NULL);
  pthread_cond_init(&t->mk_cond, NULL);
  return t;
}

#define WK_QUIET_NS 1000000u /* 1 ms */

/* Waits (under mk_mu) until the worker has been idle for WK_QUIET_NS or the maker stops. */
static void maker_wait_quiet(wk_table *t) {
  while (!t->maker_stop) {
    uint64_t idle = atomic_load(&t->busy_flag) ? 0 : clock_mono_ns() - atomic_load(&t->last_exec_ns);
    if (idle >= WK_QUIET_NS) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (WK_QUIET_NS - idle);
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(&t->mk_cond, &t->mk_mu, &ts);
  }
}

static void *maker_main(void *arg) {
  wk_table *t = arg;
  /* Making spares is background work: the calls being served come first. */
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
  pthread_mutex_lock(&t->mk_mu);
  while (!t->maker_stop) {
    if (atomic_load(&t->spare)) {
      pthread_cond_wait(&t->mk_cond, &t->mk_mu);
      continue;
    }
    maker_wait_quiet(t);
    if (t->maker_stop) break;
    pthread_mutex_unlock(&t->mk_mu);
    vm_instance *vm = NULL, *none = NULL;
    int rc = vm_new_spare(t->alloc, t->alloc_ud, &vm, NULL);
    if (!rc && !atomic_compare_exchange_strong(&t->spare, &none, vm)) vm_free(vm);
    pthread_mutex_lock(&t->mk_mu);
    if (rc && !t->maker_stop) { /* out of memory: try again later, never spin */
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait(&t->mk_cond, &t->mk_mu, &ts);
    }
  }
  pthread_mutex_unlock(&t->mk_mu);
  return NULL;
}

int wk_table_prewarm(wk_table *t) {
  if (t->maker_started) return 0;
  if (pthread_create(&t->maker, NULL, maker_main, t)) return AL_EINTERNAL;
  t->maker_started = true;
  return 0;
}

void wk_table_make_spare(wk_table *t) {
  if (atomic_load(&t->spare)) return;
  vm_instance *vm = NULL, *none = NULL;
  if (!vm_new_spare(t->alloc, t->alloc_ud, &vm, NULL) &&
      !atomic_compare_exchange_strong(&t->spare, &none, vm))
    vm_free(vm);
}

/* Takes the spare for `vc`, or NULL when there is none that fits. */
vm_instance *wk_take_spare(wk_table *t, const vm_config *vc) {
  vm_instance *vm = atomic_exchange(&t->spare, NULL);
  if (vm && !vm_adopt(vm, vc)) {
    vm_instance *none = NULL; /* put it back for a load it fits */
    if (!atomic_compare_exchange_strong(&t->spare, &none, vm)) vm_free(vm);
    return NULL;
  }
  if (vm && t->maker_started) {
    pthread_mutex_lock(&t->mk_mu);
    pthread_cond_signal(&t->mk_cond);
    pthread_mutex_unlock(&t->mk_mu);
  }
  return vm;
}

wk_inst *wk_inst_get(const wk_table *t, const char *id) {
  return idmap_get(&t->vms, id);
}

static void qreq_free_all(wk_qreq *q) {
  while (q) {
    wk_qreq *nx = q->next;
    json_decref(q->req);
    free(q);
    q = nx;
  }
}

void wk_inst_free(wk_inst *in) {
  if (!in) return;
  vm_free(in->vm);
  json_decref(in->req);
  qreq_free_all(in->head);
  free(in);
}

void wk_table_free(wk_table *t) {
  if (!t) return;
  if (t->maker_started) {
    pthread_mutex_lock(&t->mk_mu);
    t->maker_stop = true;
    pthread_cond_signal(&t->mk_cond);
    pthread_mutex_unlock(&t->mk_mu);
    pthread_join(t->maker, NULL);
  }
  vm_free(atomic_exchange(&t->spare, NULL));
  pthread_mutex_destroy(&t->mk_mu);
  pthread_cond_destroy(&t->mk_cond);
  size_t pos = 0;
  const char *k;
  void *v;
  while (idmap_next(&t->vms, &pos, &k, &v)) wk_inst_free(v);
  idmap_free(&t->vms);
  json_decref(t->calls);
  json_decref(t->exec_resp);
  free(t);
}

size_t wk_table_count(const wk_table *t) { return idmap_count(&t->vms); }
size_t wk_busy(const wk_table *t) { return t->busy; }

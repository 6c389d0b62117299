/*
 * exec_impl.h: the insides of a worker's table, shared by its two files and by nothing
 * else (exec.h is its interface):
 *   wk_table.c  the table itself: process-wide QuickJS set-up, the spare VM maker, the
 *               instances by id, freeing
 *   exec.c      requests: running them on the instances' VMs, queueing, parking,
 *               resuming, and the responses
 * exec.c's opening comment gives the design. A table belongs to its worker's thread;
 * only the spare slot is shared with the maker thread (atomics, mk_mu).
 */
#ifndef AL_WORKER_EXEC_IMPL_H
#define AL_WORKER_EXEC_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "contract/idmap.h"
#include "exec.h"
#include "proto.h"
#include "vm/vm.h"

typedef struct wk_qreq {
  uint64_t ticket;
  json_t *req;
  struct wk_qreq *next;
} wk_qreq;

/* One instance: its VM, the request in progress (ticket 0: none) and those behind it. */
typedef struct wk_inst {
  char id[AL_INSTANCE_ID_MAX + 32];
  vm_instance *vm;
  uint64_t ticket;
  json_t *req;      /* the request in progress: the VM borrows from it while parked */
  wk_op op;         /* its op (a call: proto.h) */
  wk_qreq *head, *tail;
  struct wk_inst *next_parked;
  bool parked;
  uint64_t wake_at; /* parked: when its next timer is due (clock_mono_ns), or UINT64_MAX */
} wk_inst;

struct wk_table {
  idmap vms;     /* instanceId -> wk_inst */
  json_t *calls; /* awaited hostcall id (decimal) -> instance id */
  wk_inst *parked;
  size_t busy;   /* requests in progress or queued */
  uint64_t next_call;
  al_alloc_fn alloc;
  void *alloc_ud;
  wk_sink sink;
  /* wk_exec's own completion */
  uint64_t exec_ticket;
  json_t *exec_resp;
  /* the spare maker (wk_table_prewarm) */
  _Atomic(vm_instance *) spare;
  _Atomic uint64_t last_exec_ns; /* when the worker last finished a request */
  atomic_bool busy_flag;         /* the worker is executing a request */
  bool maker_started, maker_stop;
  pthread_t maker;
  pthread_mutex_t mk_mu;
  pthread_cond_t mk_cond;
};

/* ---- shared between the files (defined, with their comments, in wk_table.c) ---- */

/* The instance named `id`, or NULL. */
wk_inst *wk_inst_get(const wk_table *t, const char *id);
/* Frees an instance, its VM and whatever is queued behind it (NULL ok). */
void wk_inst_free(wk_inst *in);
/* A spare VM made ahead of time, adopted for `vc`, or NULL (make one). */
vm_instance *wk_take_spare(wk_table *t, const vm_config *vc);

#endif

/*
 * host_impl.h: the insides of the al_host object, shared by the files of src/host/ and by
 * nothing else (only the .c files there include it; the public API is include/airlock.h).
 *
 * Every public call follows one path: arguments are checked by the host, the request
 * goes to the instance's worker (pool.c, which runs it in that instance's VM), what comes
 * back is validated (validate.c), the store applies it (store.c), and the changes it
 * recorded become one notification to subscribers. Nothing else mutates host state, and
 * only the host thread touches the store: workers see requests and return responses,
 * nothing more.
 *
 * Who owns what. The al_host owns its store (the instances and their records, local
 * state, shared domains, grants; per instance also the host's tree cache and its belief of
 * what the VM holds, see store_instance), its pool (which owns every VM: freeing the pool
 * disposes them), its hostcall services, its event registry and the subscription
 * snapshot built from it, its pending asynchronous calls (each owning its host_load or
 * host_call), its subscribers and its telemetry ring. A host_call waiting behind its
 * instance's call in flight is owned by that instance's `waiting` list.
 *
 * Threading. The host API is single-threaded, and every function declared below runs on
 * the host thread only: the thread that calls the public API (and, through it,
 * al_host_dispatch). Worker threads, and the process pool's driver threads, answer the
 * VMs' hostcalls through the hostcall services (hooks/hostcall.h) and never call into
 * these. Functions marked "runs callbacks" may run the caller's al_result_fn or
 * al_change_fn callbacks, which may call the API again (an instance can be gone after).
 *
 * The files, one idea each:
 *   host.c   the object: configuration, al_host_new/free, the helpers every file uses,
 *            telemetry, change notifications and subscriptions, instance getters, al_debug
 *   load.c   loading, hot reloading and unloading an instance
 *   package.c  loading from disk: al_load_package (packages, directories, pi extensions)
 *   calls.c  renders and events: the tree cache, the resident-state cache, applying intents
 *   async.c  the asynchronous calls, their per-instance sequencing, al_host_dispatch
 *   state.c  state, shared domains and grants through the string API; C reducers and domains
 *   hooks.c  events and their subscriptions, al_emit, tools, the audit trail and switches
 */
#ifndef AL_HOST_IMPL_H
#define AL_HOST_IMPL_H

#include <stdatomic.h>

#include "hooks/events.h"
#include "hooks/hostcall.h"
#include "store/store.h"
#include "worker/pool.h"

typedef struct host_sub {
  int id;
  al_change_fn fn;
  void *user;
  void (*finalizer)(void *);
} host_sub;

/* HOST_DROP: a request the host sends for its own bookkeeping (disposing a VM it refused,
 * a hot reload's swap) whose answer nobody waits for. */
typedef enum host_op { HOST_RENDER, HOST_EVENT, HOST_LOAD, HOST_RELOAD, HOST_DROP } host_op;

/* A load or hot reload between its request and its answer: what finishing it needs. A
 * reload loads the new code under a temporary id (`vm_id`) on the instance's worker, so
 * the old VM keeps serving until the host has accepted the new one. */
typedef struct host_load {
  char id[AL_INSTANCE_ID_MAX];
  char vm_id[AL_INSTANCE_ID_MAX + 24];
  char *package_id;
  json_t *grants; /* load only */
  json_t *caps;   /* load only: the manifest's capabilities (NULL: no manifest) */
  json_t *pi;     /* what the VM's `pi` is told: {id, version, events} */
  al_limits lim;
  int worker;
  bool reload;
  bool pi_profile; /* a pi extension (al_load_opts.profile "pi") */
  struct host_load *next; /* in h->loading while an async load is in flight */
} host_load;

/* One call's telemetry, kept as plain fields: recording one is on every call's path, so
 * the JSON is built only when al_telemetry asks. `op` and `outcome` are static strings. */
typedef struct host_tm {
  char instance_id[AL_INSTANCE_ID_MAX];
  const char *op, *outcome;
  uint64_t start_ms;
  json_int_t elapsed_us, memory_bytes;
  bool interrupted;
  bool unchanged; /* a render answered from the tree cache */
} host_tm;

/* What the host knows of a widget's last validated render (its tree cache, calls.c):
 * `data` holds the widget id, a NUL and, when has_text, the text and a NUL. */
typedef struct host_tree {
  struct host_tree *next;
  uint64_t hash; /* al_hash64 of the text */
  size_t len;    /* of the text (0 without it) */
  bool has_text; /* kept once a render repeated it */
  char data[];
} host_tree;

/* An asynchronous render or event waiting for its instance's call in flight to finish. */
typedef struct host_call {
  int op; /* HOST_RENDER, HOST_EVENT */
  char *widget, *handler;
  json_t *args;
  al_result_fn cb;
  void *user;
  bool resent; /* sent again once after a stale answer (see host_call_request) */
  struct host_call *next;
} host_call;

/* One instance as the host keeps it: everything about it that is not the store's. The
 * store keeps what the contract defines (record, local state, grants: `rec`, which the
 * store owns and frees in store_remove) and points back here through rec->owner, which it
 * never reads; so a lookup by id is the store's hashed one, and every layer of the host
 * reaches the rest by pointer. A host_inst exists from the moment its load is accepted
 * (store_add) to its unload; loads in flight are host_load records instead.
 *
 * The limits are the ones it was loaded with, final (host defaults filled in, a
 * manifest's tightening applied): every call's watchdog deadline and a hot reload's VM
 * come from them. `hooks` is what the VM last reported subscribing to, after the host
 * vetted it against what it approved (host_hooks_vet); emits are built from it. */
typedef struct host_inst {
  store_instance *rec;
  const char *id; /* rec->id */
  al_limits lim;
  int worker;          /* the pool worker that owns its VM */
  size_t memory_bytes; /* VM heap after its last call, as the worker reported */
  char *plugin_id;     /* the manifest's id, else the package id */
  char *version;       /* the manifest's version, else "0.0.0" */
  json_t *hooks;       /* {event: handler count}, never NULL */
  json_t *pi;          /* a pi extension's registrations (pi_host.c, vetted); NULL: not
                          a pi extension */
  bool pi_pending;     /* its async factory had not settled when the load answered */
  /* Call sequencing (async.c): a render or event is in flight, and the asynchronous ones
   * waiting for it to finish (a FIFO of `nwaiting`). */
  bool calling;
  unsigned nwaiting;
  struct host_call *waiting, *waiting_tail;
  /* The host's belief of what the VM caches (calls.c): the state and globalState versions
   * it last sent (0: nothing; the VM checks and answers "stale" otherwise), whether a call
   * reached this VM since it started, and the tree cache. */
  uint64_t vm_state_version, vm_global_version;
  bool vm_warm;
  host_tree *trees;
  struct host_inst *prev, *next; /* load order */
} host_inst;

/* An async call waiting for its answer, in the pending table by ticket. */
typedef struct host_pending {
  uint64_t ticket;
  host_op op;
  char instance_id[AL_INSTANCE_ID_MAX];
  uint64_t start_ms;
  al_result_fn cb;
  void *user;
  host_load *load; /* HOST_LOAD, HOST_RELOAD */
  struct host_call *call; /* HOST_RENDER, HOST_EVENT: the call, to resend if stale */
  struct host_pending *next;
} host_pending;

struct al_host {
  al_config cfg;
  store *store;
  pool *pool;
  host_inst *first, *last; /* the instances in load order */
  /* The async calls waiting for their answer, hashed by the pool's ticket (sequential, so
   * its low bits spread them): chains of `pending_cap` (a power of two) buckets. */
  host_pending **pending;
  size_t pending_cap, npending;
  host_load *loading;  /* async loads in flight (their ids are taken), linked by `next` */
  size_t nwaiting; /* host_calls waiting behind their instance's call in flight */
  host_sub *subs;
  size_t nsubs;
  int next_sub;
  host_tm *telemetry; /* ring */
  uint32_t tm_head, tm_len;
  /* hooks (hooks.c) */
  hc_services *hc;
  ev_registry *events;
  _Atomic(ev_snapshot *) snap;
  json_t *event_names; /* the declared events, shared by every pi record; NULL: stale */
  json_t *pi_ctx;      /* al_pi_context's object, never NULL once pi events are declared */
  const json_t *pi_caps; /* during al_load_package of an installed pi package only: its
                            granted capabilities (borrowed), which host_hooks_prepare
                            gives the manifest-less load; NULL otherwise (the policy
                            alone decides) */
  bool pi_events;      /* pi's events are declared (pi_host.c) */
  unsigned seen_crashes, seen_kills; /* worker events already in the audit trail */
  uint64_t reload_seq; /* makes reloads' temporary VM ids unique */
  /* Applying an event's intents (host_plugin_reduce): a wall-clock backstop the host
   * keeps itself (0: not applying), and whether one of its reducers already ran out of
   * time, after which the rest do not run. */
  uint64_t reduce_until_ms;
  bool reduce_stalled;
};

/* ---- host.c --------------------------------------------------------------------------- */

/* Fills the limits `l` leaves at 0 from `dflt`. Pure. */
void host_limits_fill(al_limits *l, const al_limits *dflt);
/* Hands `v` (stolen; NULL is out of memory) to the caller as JSON text in *out, or drops
 * it when `out` is NULL. */
int host_out_json(json_t *v, char **out, al_error *err);
/* Parses the caller's JSON text `text` (any value) into *out; `what` names it in the
 * error. */
int host_parse_arg(const char *text, const char *what, json_t **out, al_error *err);
/* The instance named `id`, or NULL with AL_EINSTANCE_NOT_FOUND in `err` (a NULL host:
 * AL_EINVALID_ARGUMENT, "host must not be NULL"). Borrowed: valid until its unload. */
host_inst *host_find(al_host *h, const char *id, al_error *err);
/* Same without the error, for the host's own lookups. */
host_inst *host_inst_get(const al_host *h, const char *id);
/* Makes the host's record of an instance the store just added (`rec`), with the limits
 * and plugin identity it was loaded with, and links it last in load order. NULL when out
 * of memory (the caller then removes `rec`). */
host_inst *host_inst_new(al_host *h, store_instance *rec, const al_limits *lim, int worker,
                         const json_t *pi);
/* Unlinks and frees `inst` (NULL ok): its tree cache and any call still waiting (never
 * sent: nobody is told; host_call_drop tells them first). Call before store_remove. */
void host_inst_free(al_host *h, host_inst *inst);
/* Records one call's telemetry and returns its result code, *value borrowed from resp.
 * `inst` (may be NULL) keeps the heap size the worker reported. */
int host_call_result(al_host *h, host_inst *inst, const char *id, const char *op,
                     uint64_t start_ms, const json_t *resp, const json_t **value, al_error *err);
/* Tells the subscribers about the changes in `ch` as one notification. Runs callbacks. */
void host_notify(al_host *h, const char *cause, const char *origin, store_changes *ch);

/* The largest value a worker may send back in one answer, and the largest plugin file the
 * host reads. */
#define AL_MAX_VALUE_BYTES ((size_t)16 << 20)

/* ---- load.c --------------------------------------------------------------------------- */

/* al_load, with the package directory (NULL: none) an ES module plugin resolves its
 * imports in, and whether the package says its .js files are modules; package.c's loads
 * end here. */
int host_load_sync(al_host *h, const char *package_id, const char *code, size_t len,
                   const al_load_opts *opts, const char *dir, bool type_module, char *id_out,
                   size_t id_cap, al_error *err);

void host_load_free(host_load *ld);
/* Finishes a load or reload from its worker's answer; `async` says whether the caller may
 * wait for the worker (false) or must not (true: al_host_dispatch). Runs callbacks. */
int host_load_finish(al_host *h, host_load *ld, int call_rc, uint64_t start, const json_t *resp,
                     bool async, char **record_out, al_error *err);

/* ---- calls.c -------------------------------------------------------------------------- */

/* Forgets what the host believes the instance's VM holds (see calls.c). */
void host_vm_cache_forget(host_inst *inst);
/* Whether a worker answered that the VM did not hold what the request assumed. */
bool host_resp_stale(const json_t *resp);
/* A render (handler NULL) or event request for the instance's current state; `args` is
 * borrowed. NULL when out of memory. */
json_t *host_call_request(al_host *h, host_inst *inst, const char *op, const char *widget_id,
                          const char *handler, json_t *args);
/* Finish a render or an event from its worker's answer. Run callbacks (notifications). */
int host_render_finish(al_host *h, const char *id, const char *widget, uint64_t start,
                       const json_t *resp, char **tree_out, al_error *err);
int host_event_finish(al_host *h, const char *id, uint64_t start, const json_t *resp,
                      char **result_out, al_error *err);

/* ---- async.c -------------------------------------------------------------------------- */

/* Submits `req` (stolen) without waiting and records a pending call; al_host_dispatch
 * finishes it (with `cb` NULL: drops its answer, for the host's own bookkeeping). */
int host_submit_async(al_host *h, int worker, const char *id, host_op op, json_t *req,
                      uint32_t timeout, al_result_fn cb, void *user, host_load *ld,
                      struct host_call *call, al_error *err);
void host_call_free(host_call *c);
/* Fails every call waiting on `inst`, which is being unloaded. Runs callbacks. */
void host_call_drop(al_host *h, host_inst *inst);
/* Lets the instance's asynchronous calls finish before a synchronous call. Runs
 * callbacks (it dispatches). */
int host_call_settle(al_host *h, const char *id, host_inst **out, al_error *err);

/* ---- hooks.c -------------------------------------------------------------------------- */

/* The hooks side of a load (manifest, preflight, grants, limits, settings and the hostcall
 * record), of its success, of a hot reload (host_hooks_pi: the `pi` record the instance was
 * loaded with, a new reference) and of an unload. */
int host_hooks_prepare(al_host *h, const char *id, const char *package_id, const char *code,
                       size_t len, const al_load_opts *o, json_t **grants, json_t **caps,
                       al_limits *lim, json_t **pi, al_error *err);
void host_hooks_loaded(al_host *h, host_inst *inst, const json_t *resp);
json_t *host_hooks_pi(al_host *h, const host_inst *inst);
void host_hooks_reloaded(al_host *h, host_inst *inst, const char *vm_id, const json_t *resp);
/* Before host_inst_free: the hostcall record goes, and its subscriptions. */
void host_hooks_unloaded(al_host *h, host_inst *inst);
/* Holds a worker's report about instance `id` to the host's record; a worker that lies is
 * killed (AL_ECRASHED). */
int host_hooks_vet(al_host *h, int worker, const char *id, const json_t *hooks,
                   const char *event, size_t results, al_error *err);
/* Puts worker crashes and watchdog kills since the last look in the audit trail. */
void host_hooks_note_workers(al_host *h);
/* Rebuilds and publishes the subscription snapshot from the instances' hooks. */
void host_hooks_refresh(al_host *h);

/* ---- pi_host.c: pi extensions (docs/pi-extensions.md) ---------------------------------
 * All on the host thread; every json_t argument is borrowed, *result_json as al_emit's. */

/* Declares pi's events once (before the first pi extension loads). */
int host_pi_declare(al_host *h, al_error *err);
/* True for one of pi's events (EV_FLAG_PI). */
bool host_pi_event(const ev_def *ev);
/* A pi extension loaded: its registrations (the worker's report, borrowed; NULL: none)
 * are vetted and held in inst->pi. */
void host_pi_loaded(al_host *h, host_inst *inst, const json_t *reg);
/* After a pi extension's load (instance `id`): when its async factory was still waiting
 * (a timer, a hostcall), waits up to `ms` for it with a call of its own, which parks in
 * the worker like any call. A factory that fails unloads the instance and is the load's
 * error (PLUGIN_LOAD_ERROR "pi extension factory failed: ...", or its VM_TIMEOUT). */
int host_pi_settle(al_host *h, const char *id, unsigned ms, al_error *err);
/* al_emit of pi event `ev` (index e) with `payload` (borrowed object). */
int host_pi_emit(al_host *h, const ev_def *ev, int e, const json_t *payload, char **result_json,
                 al_error *err);
/* The pi extension that registered `name` among its `kind` ("tools", "commands"), or NULL. */
host_inst *host_pi_owner(al_host *h, const char *kind, const char *name);
/* Runs pi tool `name` of `inst` with `params` (borrowed). */
int host_pi_tool(al_host *h, host_inst *inst, const char *name, json_t *params, char **result_json,
                 al_error *err);

#endif

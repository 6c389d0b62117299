/*
 * worker_process.h: the host side of one airlock-worker process.
 *
 * A wp_child is driven by one pool thread, which forks the worker (so PR_SET_PDEATHSIG
 * ties the worker to a thread that outlives it) and carries each request over the
 * socketpair. It is where process isolation keeps its promises:
 *   - watchdog: a call still unanswered at timeout + grace gets the worker SIGKILLed; the
 *     call returns VM_TIMEOUT;
 *   - crashes: a worker that dies (signal, seccomp kill, abort) turns the call in flight
 *     into PLUGIN_CRASHED naming the signal;
 *   - recovery: the next call starts a new worker (with exponential backoff after repeated
 *     deaths) and reloads every instance from its source; host-owned state is untouched,
 *     module-level variables start over. An instance that crashed its worker 3 times in
 *     60 s is not reloaded: its calls answer PLUGIN_CRASHED until it is loaded again.
 *
 * Hostcalls: while a request is in flight the worker may send {hostcall: {method, args,
 * timeoutMs}} frames; the driver thread answers each with {hostreply: {ok}|{error}} from
 * wp_config.hostcall, on behalf of the instance the in-flight request names (never one the
 * worker names), within the request's deadline. The worker itself keeps no file or network
 * access: everything it may reach goes through here and the capability chain.
 *
 * Threading: one thread per wp_child.
 */
#ifndef AL_WORKER_PROCESS_H
#define AL_WORKER_PROCESS_H

#include "common.h"

typedef struct wp_config {
  const char *worker_path;     /* the airlock-worker executable */
  size_t address_space_bytes;  /* RLIMIT_AS for the worker; 0: none */
  uint32_t grace_ms;           /* watchdog grace over a call's timeout */
  hostcall_fn hostcall;        /* answers the worker's hostcall frames; NULL: refused */
  void *hostcall_user;
} wp_config;

typedef struct wp_child wp_child;

wp_child *wp_new(const wp_config *cfg);
/* Kills and reaps the worker if one runs. NULL is harmless. */
void wp_free(wp_child *c);
/* Runs one request in the worker, starting it if needed. Never NULL but out of memory. */
json_t *wp_exec(wp_child *c, const json_t *req, uint32_t timeout_ms);

typedef struct wp_stats {
  unsigned starts, crashes, watchdog_kills;
  int pid;                     /* current worker, 0 when none runs */
} wp_stats;
void wp_get_stats(const wp_child *c, wp_stats *st);

/* Where the airlock-worker executable is: `configured` when set, else $AIRLOCK_WORKER,
 * else airlock-worker beside the running executable, else the build tree's. Writes the
 * path into buf; returns buf. */
const char *wp_default_path(const char *configured, char *buf, size_t cap);

#endif

/*
 * worker_process.h: the process back end's helpers that other files share.
 *
 * Each worker is a sandboxed airlock-worker process driven by one pool thread (the
 * back end in worker_process.c), which forks the worker (so PR_SET_PDEATHSIG ties it to a
 * thread that outlives it) and carries frames over a socketpair in both directions at
 * once: requests (each with its pool ticket) go out as they come, responses come back in
 * whatever order the worker finishes them (a parked call lets later ones by). It is where
 * process isolation keeps its promises:
 *   - watchdog: the worker reports which call runs plugin code (slice frames); a slice
 *     still running at its call's timeout + grace gets the worker SIGKILLed: that call
 *     returns VM_TIMEOUT, the others in flight PLUGIN_CRASHED;
 *   - crashes: a worker that dies (signal, seccomp kill, abort) turns the call that was
 *     running into PLUGIN_CRASHED naming the signal;
 *   - recovery: the next call starts a new worker (with exponential backoff after repeated
 *     deaths) and reloads every instance from its source; host-owned state is untouched,
 *     module-level variables start over. An instance that crashed its worker 3 times in
 *     60 s is not reloaded: its calls answer PLUGIN_CRASHED until it is loaded again.
 *
 * Hostcalls: the worker sends {hostcall: {id, ticket, method, args, timeoutMs, sync?}}.
 * The driver answers it on behalf of the instance that in-flight request `ticket` names
 * (never one the worker names): a sync one at once, an asynchronous one through the
 * host's hostcall threads, its {hostreply: {id, ok|error}} (and {hold: {id, ms}} while a
 * person is asked) sent when it arrives. The worker asks for a {tick} when its next timer
 * or parked deadline is due ({wake: ms}), since its sandbox cannot wait with a timeout.
 *
 * Threading: the driver's state belongs to its thread.
 */
#ifndef AL_WORKER_PROCESS_H
#define AL_WORKER_PROCESS_H

#include "common.h"

typedef struct wp_stats {
  unsigned starts, crashes, watchdog_kills;
  int pid;                     /* current worker, 0 when none runs */
  bool lane;                   /* its frames travel the shared-memory lane (ring.h) */
} wp_stats;

/* Where the airlock-worker executable is: `configured` when set, else $AIRLOCK_WORKER,
 * else airlock-worker beside the running executable, else the build tree's. Writes the
 * path into buf; returns buf. */
const char *wp_default_path(const char *configured, char *buf, size_t cap);

#endif

/*
 * wp_impl.h: the insides of the process back end, shared by its two files and by nothing
 * else (worker_process.h is its interface):
 *   wp_link.c         the link to one worker process: starting it, the frames both ways
 *                     over the socket or the shared-memory lane, waiting for one, reaping
 *   worker_process.c  what travels on the link: requests, answers, hostcalls, the
 *                     driver loop
 *   wp_fault.c        failures: crashes, breaches, a lost worker's calls, restarts
 * Everything here runs on the worker's driver thread (worker_process.c's opening comment
 * gives the design).
 */
#ifndef AL_WORKER_WP_IMPL_H
#define AL_WORKER_WP_IMPL_H

#include <limits.h>
#include <sys/types.h>

#include "worker/backend.h"
#include "worker/ipc.h"
#include "worker/ring.h"
#include "worker/worker_process.h"

#ifndef AL_DEFAULT_WORKER_PATH
#define AL_DEFAULT_WORKER_PATH "airlock-worker"
#endif

#define WP_CRASH_WINDOW_MS 60000u
#define WP_CRASH_LIMIT 3

typedef struct wp_child {
  pool_worker *w;
  char path[PATH_MAX];
  size_t address_space_bytes;
  uint32_t grace_ms;
  pid_t pid;
  int fd, efd;
  ipc_reader rd;
  unsigned gen;     /* which worker incarnation; tags hostcall ids */
  unsigned nflight; /* requests sent and not answered */
  uint64_t current, current_since; /* the call running plugin code, 0: none */
  char last_answered[AL_INSTANCE_ID_MAX + 24]; /* whose call the last answer was: see suspect() */
  uint64_t wake_at; /* the worker asked for a tick then; UINT64_MAX: not */
  json_t *loads;    /* instanceId -> its load request, for reloads */
  json_t *crashes;  /* instanceId -> [timestamps ms] within the window */
  json_t *disabled; /* instanceId -> reason */
  json_t *hc_ticket; /* tagged hostcall id (decimal) -> the ticket that made it, for holds */
  /* Frames for the worker not yet written: the driver never blocks on a write, since the
   * worker may at the same moment be blocked writing its answers to us (requests are
   * pipelined; both socket buffers can be full at once). */
  unsigned char *out;
  size_t out_off, out_len, out_cap;
  bool reloading;   /* ensure_worker's reloads: one blocking round trip at a time */
  int lane_fd;      /* the lane's memfd (-1: none, frames stay on the socket) */
  ring_shared *lane_map;
  ring_end lane;    /* the host's end; its counters restart with each worker */
  bool on_lane;     /* this worker's frames travel the lane */
  unsigned recent_deaths; /* consecutive deaths, for backoff */
  wp_stats stats;
} wp_child;

#define WP_GEN_SHIFT 44 /* worker ids stay below 2^44; the generation sits above */
#define WP_RELOAD_TICKET ((uint64_t)1 << 52) /* a reload's: pool tickets never get this high */


/* ---- wp_link.c ------------------------------------------------------------------------ */

/* Starts the worker process and waits (5 s at most) for its hello; 0, or AL_EIO /
 * AL_ECRASHED with `why` saying what failed. */
int wp_spawn(wp_child *c, char *why, size_t cap);
/* Kills (if asked) and reaps the worker and resets the link; returns its wait status, or
 * -1. */
int wp_reap(wp_child *c, bool kill_it);
/* Says in words how a worker died, from its wait status (-1: gone unseen). */
void wp_describe_death(int status, char *buf, size_t cap);
/* Writes what the output queue holds, as far as the socket or lane takes it now. 0, or
 * AL_EIO when the worker is gone. */
int wp_out_flush(wp_child *c);
/* Sends one frame (`msg` borrowed): queued and written as far as it goes without
 * blocking. 0, or AL_EIO / AL_ENO_MEMORY (the caller treats the worker as gone). */
int wp_send(wp_child *c, const json_t *msg);
/* Reads the doorbells the socket holds (on the lane it carries nothing else): 0, or
 * AL_EIO. */
int wp_lane_bells(wp_child *c);
/* Moves what the lane holds into the reader and writes the output queue down it. 0, or
 * AL_EIO (the worker's counters are impossible, or its bytes are not frames) or
 * AL_ENO_MEMORY (the host could not take them). */
int wp_lane_pump(wp_child *c);
/* Whether there is lane work now: bytes up, or room down for what is queued. */
bool wp_lane_ready(const wp_child *c);
/* Announces the driver's sleep to the worker; false (and no sleep) when there is work. */
bool wp_lane_may_sleep(wp_child *c);
/* Waits for one frame until deadline_ns: 1 = *msg got it, 0 = deadline passed, <0 =
 * peer gone. */
int wp_recv_until(wp_child *c, uint64_t deadline_ns, json_t **msg);

/* ---- wp_fault.c: failures, breaches, restarts ---------------------------------------- */

void wp_breach(wp_child *c, const char *id, const char *why);
void wp_died(wp_child *c);
json_t *wp_ensure_worker(wp_child *c);
void wp_gone(wp_child *c, int rc);
void wp_set_aside_liar(wp_child *c, const char *id, const char *why);
const char *wp_suspect(wp_child *c);
void wp_worker_lost(wp_child *c, int ran_code, const char *ran_msg, bool count);

/* ---- worker_process.c: what the fault side needs of the protocol ---------------------- */

int wp_answer_sync(wp_child *c, const char *id, const json_t *call);
bool wp_hostcall_is_for(const json_t *call, const char *id);
const char *wp_req_instance(const json_t *req);

#endif

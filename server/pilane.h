/*
 * pilane.h: the workbench's pi lane, a second al_host that runs pi extensions' calls
 * (docs/pi-extensions.md) for the session, off its event loop.
 *
 * Why a lane: the pi calls (al_load_package, al_emit, al_command_call, al_tool_call,
 * al_pi_extensions) are synchronous, and an extension's ctx.ui.confirm waits for a person
 * whose answer reaches the session through the very event loop that would be blocked in
 * the call (a deadlock). So the session hands each pi request to the lane, whose one
 * thread owns the lane's host and runs the requests one at a time, in the order they
 * came, from a bounded queue; each answered request goes on a done list and the lane calls
 * the session's `wake`, so the host thread's next dispatch takes it (pilane_take) and
 * replies. While a call waits on a person, the loop, the page and the ordinary plugins
 * (the session's own host) go on.
 *
 * The lane's host asks and logs through the session's own callbacks (thread-safe: they
 * only touch the session's inbox under its mutex), so ctx.ui questions show in the page's
 * approvals like any other. It knows the tabs' pi instances itself (tabId -> instanceId,
 * touched by the lane thread alone): a load for a tab first unloads what that tab loaded
 * before, even when the earlier load was still queued when the new one came.
 *
 * Threading: pilane_new, pilane_submit, pilane_take, pilane_pending and pilane_free are
 * called from one thread (the session's host thread). The lane thread makes every call on
 * the lane's host after pilane_new returns. `mu` guards the queue, the done list and the
 * counts; the wake callback is called with no lock held.
 */
#ifndef AL_SERVER_PILANE_H
#define AL_SERVER_PILANE_H

#include <stddef.h>

#include "airlock.h"

#define PILANE_QUEUE_MAX 32 /* requests waiting (not counting the running one); past that: BUSY */

typedef enum pilane_op {
  PILANE_LOAD,    /* a = tab id, b = the extension's file path */
  PILANE_UNLOAD,  /* a = instance id */
  PILANE_EMIT,    /* a = event, b = payload JSON */
  PILANE_COMMAND, /* a = command name, b = argument text */
  PILANE_TOOL,    /* a = tool name, b = params JSON */
  PILANE_LIST     /* nothing */
} pilane_op;

/* One request and, once run, its answer. Made by pilane_req_new (host thread), owned by
 * the lane from a successful pilane_submit until pilane_take hands it back. */
typedef struct pilane_req {
  struct pilane_req *next;
  pilane_op op;
  char *a, *b;    /* malloc()ed copies (NULL when the op takes none) */
  void *user;     /* the submitter's, untouched by the lane */
  /* The answer, written by the lane thread before the request goes on the done list. */
  int rc;         /* 0, or the AL_E* code, with err filled */
  al_error err;
  char *json;     /* rc 0: the answer's JSON text (malloc()ed); what the session sends as `ok` */
} pilane_req;

/* A request for `op` with copies of a and b (either may be NULL); NULL when out of
 * memory. Any thread; the caller owns it until pilane_submit succeeds. */
pilane_req *pilane_req_new(pilane_op op, const char *a, const char *b, void *user);
/* Frees a request and its answer. NULL is harmless. The thread that owns it. */
void pilane_req_free(pilane_req *r);

typedef struct pilane_config {
  al_isolation isolation;
  const char *home;        /* the lane host's home (the session's); required */
  const char *worker_path; /* NULL: the library's default */
  const char *policy_json; /* NULL: default deny */
  const char *cwd;         /* ctx.cwd for every call; NULL: the server's working directory */
  al_ask_fn ask;           /* the session's: thread-safe, never blocks */
  void *ask_user;
  al_log_fn log;
  void *log_user;
  void (*wake)(void *ud);  /* called from the lane thread after an answer is put on the done
                              list; NULL: the submitter polls */
  void *wake_ud;
} pilane_config;

typedef struct pilane pilane;

/* Creates the lane's host (with the config's callbacks, hasUI true and ctx.cwd set
 * through al_pi_context) and starts its thread. Strings in `cfg` are copied or used only
 * during the call. Host thread. */
int pilane_new(const pilane_config *cfg, pilane **out, al_error *err);
/* Queues `r` (taken over on success). AL_EBUSY with a message in `err` when
 * PILANE_QUEUE_MAX requests already wait; the caller keeps `r` then. Host thread. */
int pilane_submit(pilane *l, pilane_req *r, al_error *err);
/* The oldest answered request (the caller owns it and frees it with pilane_req_free), or
 * NULL. Host thread. */
pilane_req *pilane_take(pilane *l);
/* Requests submitted and not yet taken (queued, running or answered). Host thread. */
size_t pilane_pending(pilane *l);
/* Stops the lane: requests still queued are dropped unrun (freed; their `user` is not
 * touched), the running one is waited for, the thread joined and the host freed. Whoever
 * answers the lane's questions must deny what is pending before (or while) this runs, or
 * the running call waits for its answer until its deadline. NULL is harmless. Host
 * thread. */
void pilane_free(pilane *l);

#endif

/*
 * session.h: the workbench's protocol (docs/workbench-protocol.md) over one al_host.
 *
 * A session owns the host (workbench profile), the catalog of bundled examples, the
 * editor tabs and what the connected pages have been told. It knows nothing of sockets:
 * messages come in through sess_message() and go out through the sess_send_fn it was
 * given, so the same code serves lws (server.c) and the fuzz target (fuzz_wsmsg.c).
 *
 * Every plugin call is asynchronous: a message handler queues the call and returns, and
 * the answer is sent when sess_dispatch() runs its callback, so a plugin spinning to its
 * deadline never holds up the event loop. After every message and every dispatch, the
 * session pushes what the host's change notifications named: new timeline entries, the
 * records, state and shared domains that changed, and fresh trees for exactly the
 * instances whose render inputs changed.
 *
 * The hooks layer reaches the pages too: the audit trail (pushed as it grows), plugins'
 * pi.logger lines and the capability chain's requests for approval. A call waits for an
 * approval under its deadline (100 ms for a widget event), far too short for a person, so
 * the approve callback never waits: it answers from the answers a person gave earlier in
 * this run (plugin, action, resource), and otherwise queues a prompt for the pages and
 * denies at once. The person's answer applies from the next call.
 *
 * Threading: one thread (the host thread) makes every call on a session. The host's log
 * and approve callbacks run on worker (or driver) threads; they only touch the session's
 * mutex-protected inbox and then call sess_config.wake, so the host thread's next
 * sess_dispatch() pushes what they left.
 */
#ifndef AL_SERVER_SESSION_H
#define AL_SERVER_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "airlock.h"

#define SESS_MAX_MESSAGE ((size_t)2 << 20) /* a client message's size cap */
#define SESS_BROADCAST 0                   /* the client id meaning "every client" */

/* Sends `text` (`len` bytes, borrowed) to client `client`, or to every connected client
 * when it is SESS_BROADCAST. A client that is gone is skipped silently. */
typedef void (*sess_send_fn)(void *ud, uint64_t client, const char *text, size_t len);
/* Asks the host thread's loop to call sess_dispatch() soon. Called from worker threads
 * (never the host thread's own locks held), so it must be thread-safe, e.g.
 * lws_cancel_service(). */
typedef void (*sess_wake_fn)(void *ud);

typedef struct sess_config {
  al_isolation isolation;
  unsigned workers;      /* 0: one per CPU */
  const char *home;      /* where tabs and the host database (pi.kv) live; NULL: nowhere */
  const char *worker_path; /* NULL: the library's default */
  const char *policy_json; /* capability policy (docs/security.md); NULL: default deny */
  sess_send_fn send;
  void *send_ud;
  sess_wake_fn wake;     /* NULL: what the callbacks left waits for the next dispatch */
  void *wake_ud;
} sess_config;

typedef struct sess sess;

/* Creates the host and the catalog. `cfg` is copied (strings too). */
int sess_new(const sess_config *cfg, sess **out, al_error *err);
/* Frees the host and every call still waiting for its answer. NULL is harmless. */
void sess_free(sess *s);

/* Handles one client message (`len` bytes, need not be NUL-terminated). Never fails: a
 * bad message is answered with an error naming what was wrong. */
void sess_message(sess *s, uint64_t client, const char *msg, size_t len);
/* Runs the callbacks of answered calls, then pushes what changed. */
void sess_dispatch(sess *s);
/* Once a second: pushes metrics when they changed (audit, logs and prompts go out with
 * every dispatch). */
void sess_tick(sess *s);
/* The host's completion descriptor for the event loop (-1: inline, nothing to watch). */
int sess_host_fd(const sess *s);
/* Calls still waiting for an answer. */
size_t sess_pending(const sess *s);

#endif

/*
 * wp_fault.c: when a worker process fails or lies (wp_impl.h). Crashes are counted per
 * instance and an instance that keeps crashing is set aside; a lost worker's calls are
 * answered, never left waiting; a worker whose frames break the protocol is killed and
 * the instance it spoke for (wp_suspect) charged with the breach; the next call restarts
 * the worker and reloads its instances one blocking round trip at a time, hostcalls they
 * make meanwhile answered as they come.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include "worker/exec.h"
#include "worker/proto.h"
#include "worker/wp_impl.h"

/* Counts a crash against an instance; disables it at the limit. */
static void count_crash(wp_child *c, const char *id, const char *what) {
  if (!id) return;
  uint64_t now = clock_wall_ms();
  json_t *old = json_object_get(c->crashes, id), *recent = json_array();
  size_t i;
  json_t *t;
  json_array_foreach(old, i, t)
    if (now - (uint64_t)json_integer_value(t) < WP_CRASH_WINDOW_MS) json_array_append(recent, t);
  json_array_append_new(recent, json_integer((json_int_t)now));
  if (json_array_size(recent) >= WP_CRASH_LIMIT) {
    char reason[320];
    snprintf(reason, sizeof reason,
             "disabled after %d worker crashes or watchdog kills in %u s (last: %s); load it again to retry",
             WP_CRASH_LIMIT, WP_CRASH_WINDOW_MS / 1000, what);
    json_object_set_new(c->disabled, id, json_string(reason));
    json_object_del(c->loads, id);
  }
  json_object_set_new(c->crashes, id, recent);
}

/* One blocking round trip for a reload after a restart: 1 answered (*resp set),
 * 0 deadline passed, < 0 worker gone. */
static int reload_one(wp_child *c, const json_t *load, uint32_t timeout_ms, json_t **resp) {
  *resp = NULL;
  uint64_t deadline = clock_mono_ns() + pool_allowance_ns(timeout_ms, c->grace_ms);
  json_t *msg = json_copy_checked(load);
  if (!msg || json_object_set_new(msg, "ticket", json_integer((json_int_t)WP_RELOAD_TICKET))) {
    json_decref(msg);
    return AL_ENO_MEMORY;
  }
  int r = wp_send(c, msg) ? AL_EIO : 0;
  json_decref(msg);
  while (r == 0) {
    json_t *f = NULL;
    r = wp_recv_until(c, deadline, &f);
    if (r != 1) break;
    const json_t *hc = json_object_get(f, "hostcall");
    if (hc && !wp_hostcall_is_for(hc, wp_req_instance(load))) {
      r = AL_EIO; /* forged: the reload fails, and the instance sits out (ensure_worker) */
    } else if (hc) {
      r = wp_answer_sync(c, wp_req_instance(load), hc);
    } else if ((uint64_t)json_integer_value(json_object_get(f, "ticket")) == WP_RELOAD_TICKET) {
      *resp = f;
      return 1;
    } else {
      r = 0; /* wake, slice: nothing to do during a reload */
    }
    json_decref(f);
  }
  return r;
}

/* Starts a worker (after a backoff if workers keep dying) and reloads every instance.
 * Returns NULL, or the error every request should get. */
json_t *wp_ensure_worker(wp_child *c) {
  if (c->pid > 0) return NULL;
  if (c->recent_deaths > 0) {
    unsigned shift = c->recent_deaths > 6 ? 6 : c->recent_deaths - 1;
    uint64_t ms = 25u << shift; /* 25 ms .. 1.6 s */
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
  }
  char why[400];
  if (wp_spawn(c, why, sizeof why)) {
    c->recent_deaths++;
    return pool_error(AL_ECRASHED, why);
  }
  const char *id;
  json_t *load, *tmp;
  c->reloading = true;
  json_object_foreach_safe(c->loads, tmp, id, load) {
    uint32_t ms = (uint32_t)json_integer_value(json_object_get(json_object_get(load, "limits"), "loadMs"));
    json_t *resp = NULL;
    int r = reload_one(c, load, ms ? ms : 1000, &resp);
    if (r != 1) { /* the reload itself killed it: that instance sits out; others retry */
      c->reloading = false;
      wp_reap(c, true);
      json_object_set_new(c->disabled, id, json_string("its reload after a worker crash failed"));
      json_object_del(c->loads, id);
      c->recent_deaths++;
      return wp_ensure_worker(c);
    }
    if (json_object_get(resp, "error")) {
      json_object_set_new(c->disabled, id, json_string("its reload after a worker crash failed"));
      json_object_del(c->loads, id);
    }
    json_decref(resp);
  }
  c->reloading = false;
  return NULL;
}

/* The worker is gone (died, or killed by us): every request in flight is answered. The
 * one that ran plugin code gets `ran_msg` (with `ran_code`), the rest learn that another
 * call took the worker down. */
void wp_worker_lost(wp_child *c, int ran_code, const char *ran_msg, bool count) {
  uint64_t ran = c->current;
  /* Collect the tickets first (answering frees the records), a batch at a time until
   * none is left: a queue may hold more than one batch. */
  uint64_t tickets[512];
  size_t n = pool_inflight_tickets(c->w, tickets, sizeof tickets / sizeof tickets[0]);
  if (!ran && n == 1) ran = tickets[0];
  for (; n; n = pool_inflight_tickets(c->w, tickets, sizeof tickets / sizeof tickets[0])) {
    for (size_t i = 0; i < n; i++) {
      pool_req *r = pool_inflight(c->w, tickets[i]);
      if (!r) continue;
      if (tickets[i] == ran) {
        if (count) count_crash(c, wp_req_instance(r->req), ran_msg);
        pool_answer(c->w, tickets[i], pool_error(ran_code, ran_msg));
      } else {
        pool_answer(c->w, tickets[i],
                    pool_error(AL_ECRASHED, "the worker process was restarted while this call waited "
                                            "(another instance's call took it down); retry"));
      }
    }
  }
}

/* The worker died on its own (or broke the protocol): its calls are answered, the one
 * that ran counts against its instance, and the next start waits out the back-off, which
 * stops a worker that dies at once from being restarted in a loop. */
void wp_died(wp_child *c) {
  int st = wp_reap(c, true);
  char d[200];
  wp_describe_death(st, d, sizeof d);
  c->stats.crashes++;
  pool_proc_stats(c->w, &c->stats);
  wp_worker_lost(c, AL_ECRASHED, d, true);
  c->recent_deaths++;
}

/* What follows a failed send or read: wp_died(), except when the host itself ran out of
 * memory (a frame it could not make, queue or decode). Then the worker can no longer be
 * told or heard either, so it is let go as well, but its running call is answered
 * OUT_OF_MEMORY and nothing counts against its instance, whose plugin did nothing wrong
 * (three such would otherwise set it aside as a crashing plugin), and no restart
 * back-off applies. */
void wp_gone(wp_child *c, int rc) {
  if (rc != AL_ENO_MEMORY) {
    wp_died(c);
    return;
  }
  wp_reap(c, true);
  wp_worker_lost(c, AL_ENO_MEMORY, "out of memory in the host: the worker was let go and restarts on the next call",
              false);
}

/* Sets instance `id` aside for good (until loaded again): its worker lied for it. */
void wp_set_aside_liar(wp_child *c, const char *id, const char *why) {
  char reason[300], keep[AL_INSTANCE_ID_MAX + 24];
  snprintf(reason, sizeof reason, "set aside: its worker process broke the protocol (%s); load it again to retry", why);
  snprintf(keep, sizeof keep, "%s", id); /* `id` may live in what the deletes below free */
  json_object_set_new(c->disabled, keep, json_string(reason));
  json_object_del(c->loads, keep);
  json_object_del(c->crashes, keep);
}

/* The worker broke the protocol: told to the host (audited), the instance it acted for
 * (`id`, NULL when none can be named) set aside for good, and the worker killed; its
 * other instances reload in a fresh process. A worker that lies once is not believed
 * again, and a plugin whose code made it lie does not get to try a second time. */
void wp_breach(wp_child *c, const char *id, const char *why) {
  const pool_config *cfg = pool_cfg(c->w->p);
  if (cfg->breach) cfg->breach(cfg->hostcall_user, id, why);
  if (id) wp_set_aside_liar(c, id, why);
  wp_died(c);
}

/* Whom to hold to account for a frame that belongs to no call (a second answer, a
 * hostcall or slice for a call never sent): the instance whose code runs now, else the
 * one whose call was answered last, whose code ran most recently. All instances of one
 * worker process share one trust identity (pool_assign), so either names the plugin that
 * lied; NULL when the worker has answered nothing yet. */
const char *wp_suspect(wp_child *c) {
  pool_req *r = c->current ? pool_inflight(c->w, c->current) : NULL;
  const char *id = r ? wp_req_instance(r->req) : NULL;
  return id ? id : c->last_answered[0] ? c->last_answered : NULL;
}

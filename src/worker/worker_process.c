/*
 * worker_process.c: the process back end: spawning, talking to, killing and restarting
 * airlock-worker. See worker_process.h for the guarantees; this file is how they are kept.
 *
 * The driver thread sleeps in poll() on the worker's socket and its own eventfd (which
 * the pool writes when requests or hostcall answers are queued for it), sends requests as
 * they come, and reads frames as they come. It tracks which call runs plugin code in the
 * worker (`current`): the only request in flight, or what the worker's slice frames say.
 * The worker's word is not needed for the watchdog to hold: each request also gets a
 * backstop, `hard_ns`, the moment by which it is answered whatever the worker says or
 * does not say: its timeout and the grace after the backstop of every request sent
 * before it (the worker runs them one slice at a time), moved on by the time the host
 * itself spent waiting for a person on its behalf. A worker that lets one pass is
 * killed, as one that overruns its slice is.
 *
 * Frames to the worker go through an output queue written without blocking (POLLOUT
 * when it is full), so a worker blocked writing its answers can never hold the driver in
 * a write while it waits to be read: both would wait forever.
 *
 * Hostcall ids are the worker's, tagged with the worker's generation before they go to
 * the hostcall threads, so an answer meant for a worker that has since died is dropped
 * instead of reaching its successor.
 *
 * Frames travel the shared-memory lane (ring.h) once the worker's hello says it mapped
 * it: requests down, everything else up, with the socket left for the worker's doorbells
 * and as the sign of its death (a hang-up in poll()). The bytes are the same frames; they
 * are fed to the same reader and validated the same way. AIRLOCK_LANE=socket, or a lane
 * that cannot be made or mapped, keeps every frame on the socket as before.
 *
 * The child end of the socketpair becomes fd 3 in the worker, the lane's memfd fd 4
 * (wp_link.c starts it and carries the frames; this file is what they say).
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

const char *wp_req_instance(const json_t *req) {
  return json_string_value(json_object_get(req, "instanceId"));
}

/* Whether a hostcall frame speaks for `id`, the instance of the call it names: a worker
 * names the instance its VM acts for, and the host compares it with its own record of
 * that call. Either one disagreeing is a forgery (a compromised worker trying to act for
 * a neighbour). */
bool wp_hostcall_is_for(const json_t *call, const char *id) {
  const char *named = json_string_value(json_object_get(call, "instanceId"));
  return id && named && !strcmp(named, id);
}

/* Answers a sync hostcall frame, or refuses an asynchronous one (during a reload). */
int wp_answer_sync(wp_child *c, const char *id, const json_t *call) {
  const pool_config *cfg = pool_cfg(c->w->p);
  const char *method = json_string_value(json_object_get(call, "method"));
  json_int_t ms = json_integer_value(json_object_get(call, "timeoutMs"));
  json_t *res = NULL, *reply;
  al_error e = {0};
  int rc;
  if (!id || !method) rc = err_set(&e, AL_EINVALID_ARGUMENT, NULL, "malformed hostcall");
  else if (!cfg->hostcall) rc = err_set(&e, AL_ECAPABILITY_DENIED, NULL, "this host offers no services");
  else if (!json_is_true(json_object_get(call, "sync")))
    rc = err_set(&e, AL_EBUSY, NULL, "the worker is restarting; asynchronous hostcalls are refused meanwhile");
  else
    rc = cfg->hostcall(cfg->hostcall_user, id, method, json_object_get(call, "args"),
                       (uint32_t)(ms > 0 && ms < 3600000 ? ms : 1000), NULL, &res, &e);
  json_t *body = rc ? wk_error_response(&e) : json_pack("{s:o}", "ok", res ? res : json_null());
  if (rc) json_decref(res);
  /* an answer without its id (or sync mark) would leave the worker waiting for the real
   * one until the watchdog: none at all is sent instead, and the worker is let go */
  const json_t *wid = json_object_get(call, "id");
  if (body && ((wid && json_object_set(body, "id", (json_t *)wid)) ||
               (json_is_true(json_object_get(call, "sync")) && json_object_set_new(body, "sync", json_true())))) {
    json_decref(body);
    body = NULL;
  }
  reply = body ? json_pack("{s:o}", "hostreply", body) : NULL;
  int r = wp_send(c, reply);
  json_decref(reply);
  return r;
}

/* An order from the pool (a message with id 0, pool.c). True when it killed the worker
 * and answered this turn's requests (as forward() says). */
static bool take_order(wp_child *c, const json_t *o) {
  const char *id = json_string_value(json_object_get(o, "condemn"));
  if (id) { /* the host caught the worker in a lie: see pool_condemn */
    const char *why = json_string_value(json_object_get(o, "why"));
    bool ran = c->pid > 0;
    if (*id) wp_set_aside_liar(c, id, why ? why : "it broke the protocol");
    if (!ran) return false;
    wp_reap(c, true);
    c->stats.crashes++;
    pool_proc_stats(c->w, &c->stats);
    wp_worker_lost(c, AL_ECRASHED, why ? why : "the worker broke the protocol", false);
    return true;
  }
  if (json_is_true(json_object_get(o, "recycle"))) {
    /* The worker is to host another trust identity: it starts again from a fresh process,
     * remembering nothing of the identity it served. It hosts no instance now, so what
     * may still be in flight is bookkeeping sent before (a dispose), answered here; the
     * requests of this turn were not sent yet and go to the new process. */
    if (c->pid > 0) {
      wp_reap(c, true);
      uint64_t tickets[64];
      size_t n = pool_inflight_tickets(c->w, tickets, sizeof tickets / sizeof tickets[0]);
      for (size_t i = 0; i < n; i++) {
        pool_req *r = pool_inflight(c->w, tickets[i]);
        if (r && r->hard_ns) pool_answer(c->w, tickets[i], json_pack("{s:{s:b}}", "ok", "disposed", 1));
      }
    }
    json_object_clear(c->loads);
    c->last_answered[0] = '\0';
    json_object_clear(c->crashes);
    json_object_clear(c->disabled);
    c->recent_deaths = 0;
  }
  return false;
}

/* Sends one taken request to the worker (starting it first if needed). True when the
 * worker died doing so: wp_worker_lost() then answered every request in flight, the rest of
 * the caller's batch among them, which the caller must no longer touch. */
static bool send_request(wp_child *c, pool_req *r) {
  wk_op op = wk_op_parse(json_string_value(json_object_get(r->req, "op")));
  const char *id = wp_req_instance(r->req);
  json_t *why = id ? json_object_get(c->disabled, id) : NULL;
  if (why && op == WK_OP_DISPOSE) {
    json_object_del(c->disabled, id);
    json_object_del(c->crashes, id);
    pool_answer(c->w, r->ticket, json_pack("{s:{s:b}}", "ok", "disposed", 1));
    return false;
  }
  if (why && op != WK_OP_LOAD) {
    pool_answer(c->w, r->ticket, pool_error(AL_ECRASHED, json_string_value(why)));
    return false;
  }
  if (why) { /* loading it again is the explicit retry */
    json_object_del(c->disabled, id);
    json_object_del(c->crashes, id);
  }
  json_t *fail = wp_ensure_worker(c);
  if (fail) {
    pool_answer(c->w, r->ticket, fail);
    return false;
  }
  json_t *msg = json_copy_checked(r->req);
  if (!msg || json_object_set_new(msg, "ticket", json_integer((json_int_t)r->ticket))) {
    json_decref(msg);
    pool_answer(c->w, r->ticket, pool_error(AL_ENO_MEMORY, "out of memory"));
    return false;
  }
  uint64_t now = clock_mono_ns(), after = pool_inflight_latest(c->w);
  if (after < now) after = now;
  r->hard_ns = after + pool_allowance_ns(r->timeout_ms, c->grace_ms);
  int rc = wp_send(c, msg);
  json_decref(msg);
  c->nflight++;
  if (c->nflight == 1) {
    c->current = r->ticket;
    c->current_since = clock_mono_ns();
  }
  if (rc) wp_gone(c, rc);
  return rc != 0;
}

/* A response frame for `ticket`: bookkeeping for reloads, then the answer. A worker
 * answers each request it was sent exactly once, with {ok} or {error: {code, message}};
 * anything else (a ticket not in flight, a second answer, neither or both) breaks the
 * protocol, and a worker that does is not to be trusted with its calls: it is killed
 * like one that crashed, and its calls in flight are answered for it. */
static void take_response(wp_child *c, uint64_t ticket, json_t *resp) {
  pool_req *r = pool_inflight(c->w, ticket);
  const json_t *e = json_object_get(resp, "error");
  bool ok = json_object_get(resp, "ok") != NULL;
  if (!r || ok == (e != NULL) ||
      (e && !(json_is_string(json_object_get(e, "code")) && json_is_string(json_object_get(e, "message"))))) {
    json_decref(resp);
    wp_breach(c, r ? wp_req_instance(r->req) : wp_suspect(c),
           r ? "an answer that is neither {ok} nor {error: {code, message}}"
             : "an answer for a call it was not sent, or a second answer");
    return;
  }
  json_object_del(resp, "ticket");
  wk_op op = wk_op_parse(json_string_value(json_object_get(r->req, "op")));
  const char *id = wp_req_instance(r->req);
  snprintf(c->last_answered, sizeof c->last_answered, "%s", id ? id : "");
  if (id && !json_object_get(resp, "error")) {
    if (op == WK_OP_LOAD) json_object_set(c->loads, id, r->req);
    else if (op == WK_OP_SWAP) { /* a crash now reloads the new code under the old id */
      const char *from = json_string_value(json_object_get(r->req, "from"));
      json_t *load = from ? json_copy_checked(json_object_get(c->loads, from)) : NULL;
      if (load && !json_object_set_new(load, "instanceId", json_string(id)))
        json_object_set(c->loads, id, load);
      json_decref(load);
      if (from) json_object_del(c->loads, from);
    } else if (op == WK_OP_DISPOSE) {
      json_object_del(c->loads, id);
      json_object_del(c->crashes, id);
    }
  }
  c->recent_deaths = 0;
  if (c->nflight) c->nflight--;
  if (c->current == ticket || !c->current) {
    /* the one left, if only one is, is what runs now (a slice frame corrects it) */
    c->current = 0;
    uint64_t left[2];
    if (c->nflight == 1 && pool_inflight_tickets(c->w, left, 2) == 2) {
      c->current = left[0] == ticket ? left[1] : left[0];
      c->current_since = clock_mono_ns();
    }
  }
  pool_answer(c->w, ticket, resp);
}

static void take_hostcall(wp_child *c, const json_t *call) {
  uint64_t ticket = (uint64_t)json_integer_value(json_object_get(call, "ticket"));
  pool_req *r = pool_inflight(c->w, ticket);
  const char *id = r ? wp_req_instance(r->req) : NULL;
  if (!r || !wp_hostcall_is_for(call, id)) {
    wp_breach(c, id ? id : wp_suspect(c),
           !r ? "a hostcall for a call it was not sent" : "a hostcall naming another instance than its call's");
    return;
  }
  if (json_is_true(json_object_get(call, "sync"))) {
    int rc = wp_answer_sync(c, id, call);
    if (rc) wp_gone(c, rc);
    return;
  }
  json_int_t wid = json_integer_value(json_object_get(call, "id"));
  const char *method = json_string_value(json_object_get(call, "method"));
  json_int_t ms = json_integer_value(json_object_get(call, "timeoutMs"));
  al_error e = {0};
  int rc;
  if (wid <= 0 || (uint64_t)wid >= (1ull << WP_GEN_SHIFT) || !method)
    rc = err_set(&e, AL_EINVALID_ARGUMENT, NULL, "malformed hostcall");
  else
    /* a copy of its own: the hostcall thread must share no value with this one (jansson
     * counts references without the ordering a cross-thread free needs) */
    rc = pool_hostcall(c->w, ((uint64_t)(c->gen & 0xFFFFF) << WP_GEN_SHIFT) | (uint64_t)wid, id, method,
                       json_deep_copy(json_object_get(call, "args")),
                       (uint32_t)(ms > 0 && ms < 3600000 ? ms : 1000), &e);
  if (!rc) {
    char key[24];
    snprintf(key, sizeof key, "%llu",
             (unsigned long long)(((uint64_t)(c->gen & 0xFFFFF) << WP_GEN_SHIFT) | (uint64_t)wid));
    json_object_set_new(c->hc_ticket, key, json_integer((json_int_t)ticket));
  }
  if (rc) { /* refused before it left: answer at once */
    json_t *body = wk_error_response(&e);
    const json_t *wid_v = json_object_get(call, "id");
    if (body && wid_v && json_object_set(body, "id", (json_t *)wid_v)) { /* as in answer_sync */
      json_decref(body);
      body = NULL;
    }
    json_t *reply = body ? json_pack("{s:o}", "hostreply", body) : NULL;
    int src = wp_send(c, reply);
    json_decref(reply);
    if (src) wp_gone(c, src);
  }
}

/* Forwards the hostcall threads' answers and holds to the worker they belong to. True
 * when the worker died meanwhile (as send_request()). */
static bool forward(wp_child *c, pool_msg *m) {
  bool lost = false;
  while (m) {
    pool_msg *nx = m->next;
    uint64_t gen = m->id >> WP_GEN_SHIFT, wid = m->id & ((1ull << WP_GEN_SHIFT) - 1);
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)m->id);
    if (!m->id) {
      if (take_order(c, m->reply)) lost = true;
    } else if (c->pid > 0 && gen == (c->gen & 0xFFFFF)) {
      pool_req *held = !m->reply && m->ms
                           ? pool_inflight(c->w, (uint64_t)json_integer_value(json_object_get(c->hc_ticket, key)))
                           : NULL;
      if (held) /* the host waits for a person for this call: so may everything after it */
        pool_inflight_extend(c->w, held->hard_ns, (uint64_t)m->ms * 1000000u);
      if (m->reply) json_object_del(c->hc_ticket, key);
      /* An answer that cannot be framed whole (its id is what the worker matches it by)
       * leaves the worker unservable, as a failed send does; a hold that cannot be is
       * only a deadline left running (hostq.h: best effort). */
      json_t *f = NULL;
      if (!m->reply) f = json_pack("{s:{s:I,s:I}}", "hold", "id", (json_int_t)wid, "ms", (json_int_t)m->ms);
      else if (!json_object_set_new(m->reply, "id", json_integer((json_int_t)wid)))
        f = json_pack("{s:O}", "hostreply", m->reply);
      int src = f || m->reply ? wp_send(c, f) : 0;
      json_decref(f);
      if (src) {
        wp_gone(c, src);
        lost = true;
      }
    }
    json_decref(m->reply);
    free(m);
    m = nx;
  }
  return lost;
}

static void take_frame(wp_child *c, json_t *f) {
  const json_t *hc = json_object_get(f, "hostcall");
  if (hc) {
    take_hostcall(c, hc);
  } else if (json_object_get(f, "wake")) {
    json_int_t ms = json_integer_value(json_object_get(f, "wake"));
    c->wake_at = ms < 0 ? UINT64_MAX : clock_mono_ns() + (uint64_t)ms * 1000000u;
  } else if (json_object_get(f, "slice")) {
    uint64_t t = (uint64_t)json_integer_value(json_object_get(f, "slice"));
    if (t && !pool_inflight(c->w, t)) { /* names a call it was never sent: not to be trusted */
      json_decref(f);
      wp_breach(c, wp_suspect(c), "a slice of a call it was not sent");
      return;
    }
    c->current = t;
    c->current_since = clock_mono_ns();
  } else if (json_is_integer(json_object_get(f, "ticket"))) {
    /* handed over whole: once answered it belongs to the host thread, which may free it */
    take_response(c, (uint64_t)json_integer_value(json_object_get(f, "ticket")), f);
    return;
  }
  json_decref(f);
}

static void proc_run(pool_worker *w) {
  wp_child *c = w->be;
  /* Start the worker now, while the host is still setting itself up (opening its
   * database, reading packages): a short-lived host such as a hook command finds it ready
   * for its first call. A failure here is tried again, and reported, at that call. */
  json_decref(wp_ensure_worker(c));
  for (;;) {
    pool_req *reqs;
    pool_msg *msgs;
    if (!pool_take(w, &reqs, &msgs, 0)) break;
    bool took = reqs || msgs;
    if (c->pid > 0 && wp_out_flush(c)) {
      wp_died(c);
      continue;
    }
    /* a death while forwarding answered this turn's requests too (they are in flight) */
    for (pool_req *r = forward(c, msgs) ? NULL : reqs, *nx; r; r = nx) {
      nx = r->batch;
      if (send_request(c, r)) break; /* found by fuzz_lane: the rest were answered and freed */
    }
    /* Read what the worker has to say, then sleep until it says more, the pool has work,
     * the running slice passes its hard deadline or the worker wants its tick. */
    uint64_t now = clock_mono_ns(), until = c->wake_at;
    pool_req *cur = c->current && c->pid > 0 ? pool_inflight(w, c->current) : NULL;
    uint64_t slice_hard = cur ? c->current_since + pool_allowance_ns(cur->timeout_ms, c->grace_ms) : UINT64_MAX;
    uint64_t hard = slice_hard;
    uint64_t late = 0, backstop = c->pid > 0 ? pool_inflight_earliest(w, &late) : UINT64_MAX;
    if (backstop < hard) hard = backstop;
    if (hard < until) until = hard;
    if (c->pid > 0 && now >= hard) { /* the watchdog: the running slice, or a backstop */
      uint64_t over = cur && now >= slice_hard ? cur->ticket : late;
      wp_reap(c, true);
      c->stats.watchdog_kills++;
      pool_proc_stats(w, &c->stats);
      c->current = over;
      /* Counted against the instance that ran, as a crash is (set aside at the limit),
       * but without the restart back-off: the kill was the host's own decision, not a
       * worker that keeps dying, and its other instances should not wait for it. */
      wp_worker_lost(c, AL_ETIMEOUT, "the call passed its hard deadline: the watchdog killed the worker, "
                                  "which restarts with its other instances on the next call", true);
      continue;
    }
    if (c->pid > 0 && now >= c->wake_at) {
      c->wake_at = UINT64_MAX;
      json_t *tick = json_pack("{s:b}", "tick", 1);
      int rc = wp_send(c, tick);
      json_decref(tick);
      if (rc) wp_gone(c, rc);
      continue;
    }
    /* (NULL reader: what it holds now is at most part of a frame, which only new bytes
     * can complete; counting it as readable would spin on a worker trickling bytes) */
    bool lane = c->pid > 0 && c->on_lane;
    if (c->pid > 0 && c->nflight && (lane ? ring_spin_readable(&c->lane, 50000u) : ipc_spin_readable(c->fd, NULL, 50000u))) {
      /* most answers come within microseconds of the request */
    } else {
      struct pollfd pfd[2] = {{.fd = c->efd, .events = POLLIN},
                              {.fd = c->pid > 0 ? c->fd : -1,
                               .events = (short)(POLLIN | (!lane && c->out_len > c->out_off ? POLLOUT : 0))}};
      int ms = until == UINT64_MAX ? -1 : (int)((until - now + 999999u) / 1000000u);
      /* Work taken this turn may have come after a wake-up this thread already consumed
       * (the pool's stop among them): only a turn that took nothing may sleep, so the
       * next pool_take() sees what the consumed wake-up was for. */
      if (took) ms = 0;
      if (lane && ms != 0 && !wp_lane_may_sleep(c)) ms = 0;
      int r = poll(pfd, 2, ms);
      if (lane) ring_host_sleeping(&c->lane, false);
      if (r < 0 && errno != EINTR) break;
      if (pfd[0].revents & POLLIN) {
        uint64_t v;
        if (read(c->efd, &v, sizeof v) < 0) { /* EAGAIN: drained already */ }
      }
      if (r > 0 && (pfd[1].revents & POLLOUT) && wp_out_flush(c)) {
        wp_died(c);
        continue;
      }
      if (!lane && (r <= 0 || !(pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))) continue;
      if (lane && r > 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) && wp_lane_bells(c)) {
        wp_died(c);
        continue;
      }
    }
    if (lane) { /* Frames: take every complete one the lane holds now. */
      json_t *f;
      int got = wp_lane_pump(c); /* 0, or the negative code wp_gone() tells apart */
      while (!got && c->pid > 0 && (got = ipc_reader_next(&c->rd, &f, NULL)) == 1) {
        take_frame(c, f);
        got = 0;
      }
      if (c->pid > 0 && got < 0) wp_gone(c, got);
      continue;
    }
    /* Frames: take every complete one the socket holds now. */
    char buf[65536];
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      wp_died(c);
      continue;
    }
    int frc = n > 0 ? ipc_reader_feed(&c->rd, buf, (size_t)n, NULL) : 0;
    if (frc) {
      wp_gone(c, frc); /* protocol error: the stream cannot be trusted any more */
      continue;
    }
    json_t *f;
    int got;
    while (c->pid > 0 && (got = ipc_reader_next(&c->rd, &f, NULL)) == 1) take_frame(c, f);
    if (c->pid > 0 && got < 0) wp_gone(c, got);
  }
}

static int proc_init(pool_worker *w) {
  const pool_config *cfg = pool_cfg(w->p);
  wp_child *c = calloc(1, sizeof *c);
  if (!c) return AL_ENO_MEMORY;
  c->w = w;
  wp_default_path(cfg->worker_path, c->path, sizeof c->path);
  c->address_space_bytes = cfg->address_space_bytes;
  c->grace_ms = cfg->grace_ms;
  c->fd = -1;
  c->lane_fd = -1;
  c->wake_at = UINT64_MAX;
  ipc_reader_init(&c->rd);
  const char *lane = getenv("AIRLOCK_LANE");
  if (!(lane && !strcmp(lane, "socket")) && ring_create(&c->lane_fd, &c->lane_map, NULL)) {
    c->lane_fd = -1; /* no memfd here: the socket carries the frames */
    c->lane_map = NULL;
  }
  c->loads = json_object();
  c->crashes = json_object();
  c->disabled = json_object();
  c->hc_ticket = json_object();
  c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  w->be = c;
  if (!c->loads || !c->crashes || !c->disabled || !c->hc_ticket || c->efd < 0) return AL_ENO_MEMORY;
  return 0;
}

static void proc_wake(pool_worker *w) {
  wp_child *c = w->be;
  uint64_t one = 1;
  if (c && c->efd >= 0 && write(c->efd, &one, sizeof one) < 0) { /* saturated: still readable */ }
}

static void proc_fini(pool_worker *w) {
  wp_child *c = w->be;
  if (!c) return;
  if (c->pid > 0) wp_reap(c, true); /* closing the socket lets a healthy worker leave anyway */
  ipc_reader_free(&c->rd);
  json_decref(c->loads);
  json_decref(c->crashes);
  json_decref(c->disabled);
  json_decref(c->hc_ticket);
  free(c->out);
  ring_destroy(c->lane_fd, c->lane_map);
  if (c->efd >= 0) close(c->efd);
  free(c);
  w->be = NULL;
}

const pool_backend pool_process_backend = {proc_init, proc_run, proc_wake, proc_fini, NULL};

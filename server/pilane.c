/*
 * pilane.c: the pi lane (see pilane.h): one thread, one al_host, a bounded FIFO.
 *
 * The thread sleeps on `cv` until a request is queued or the lane stops; it takes the
 * oldest, runs it with `mu` released (the call may wait minutes on a person), puts it on
 * the done list and wakes the session. Stopping is a flag under `mu`: the thread finishes
 * the call it is in, if any, and exits without touching what is still queued, which
 * pilane_free then drops. Nothing else is shared: the host, the tab map and the request
 * being run belong to the thread while it runs.
 *
 * Answers: what the library wrote (al_emit's, al_command_call's, al_tool_call's text) is
 * passed on as it came, never parsed and printed again; only a load's answer, which picks
 * one extension out of al_pi_extensions, and the list's envelope are built here.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "pilane.h"

struct pilane {
  al_host *h;
  json_t *tabs; /* tabId -> instanceId: lane thread only */
  void (*wake)(void *ud);
  void *wake_ud;
  pthread_t thread;
  bool started;
  bool sync_ok; /* mu and cv were made */
  pthread_mutex_t mu; /* guards everything below */
  pthread_cond_t cv;
  pilane_req *queue, *queue_tail;
  size_t queued;
  bool running;
  pilane_req *done, *done_tail;
  size_t ndone;
  bool stop;
};

static char *dup_or_null(const char *s, bool *failed) {
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *failed = true;
  return d;
}

pilane_req *pilane_req_new(pilane_op op, const char *a, const char *b, void *user) {
  pilane_req *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  bool failed = false;
  r->op = op;
  r->user = user;
  r->a = dup_or_null(a, &failed);
  r->b = dup_or_null(b, &failed);
  if (failed) {
    pilane_req_free(r);
    return NULL;
  }
  return r;
}

void pilane_req_free(pilane_req *r) {
  if (!r) return;
  free(r->a);
  free(r->b);
  free(r->json); /* the library's text (al_free is free) or ours */
  free(r);
}

/* Fills *err (may be NULL) with `code` and the formatted message; returns `code`. The
 * server sees only the public headers, so it has no err_set of the library's. */
static int lane_err(al_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lane_err(al_error *err, int code, const char *fmt, ...) {
  if (!err) return code;
  memset(err, 0, sizeof *err);
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return code;
}


/* Takes text the library returned as the answer; a library that answered nothing is
 * answered `null`. */
static void answer_lib(pilane_req *r, char *text) {
  if (!text) text = strdup("null");
  if (!text) r->rc = lane_err(&r->err, AL_ENO_MEMORY, "out of memory answering a pi call");
  r->json = text;
}

/* Answers with `v` (stolen) as text. */
static void answer_json(pilane_req *r, json_t *v) {
  r->json = v ? json_dumps(v, JSON_COMPACT) : NULL;
  json_decref(v);
  if (!r->json) r->rc = lane_err(&r->err, AL_ENO_MEMORY, "out of memory answering a pi call");
}

/* ---- the lane thread's work ----------------------------------------------------------- */

/* Forgets (and unloads) what tab `tab` loaded, if anything. */
static void unload_tab(pilane *l, const char *tab) {
  const char *prev = json_string_value(json_object_get(l->tabs, tab));
  if (prev) al_unload(l->h, prev, NULL); /* already gone (a crash, pi.unload) is fine */
  json_object_del(l->tabs, tab);
}

/* A load's answer: {instanceId, pluginId, registrations}, where registrations is the
 * instance's own entry of al_pi_extensions ({tools, commands, flags, events, ...}). */
static void run_load(pilane *l, pilane_req *r) {
  char id[AL_INSTANCE_ID_MAX], *text = NULL;
  unload_tab(l, r->a);
  r->rc = al_load_package(l->h, r->b, NULL, id, sizeof id, &r->err);
  if (r->rc) return;
  if (json_object_set_new(l->tabs, r->a, json_string(id))) {
    al_unload(l->h, id, NULL); /* unrecorded, the tab's next load could not replace it */
    r->rc = lane_err(&r->err, AL_ENO_MEMORY, "out of memory recording tab %.200s's pi instance", r->a);
    return;
  }
  json_t *all = NULL, *mine = NULL;
  if (!(r->rc = al_pi_extensions(l->h, &text, &r->err))) all = json_loads(text, 0, NULL);
  al_free(text);
  if (r->rc) return;
  size_t i;
  json_t *e;
  json_array_foreach(all, i, e) {
    const char *iid = json_string_value(json_object_get(e, "instanceId"));
    if (iid && !strcmp(iid, id)) mine = e;
  }
  json_t *plugin = json_object_get(mine, "pluginId");
  answer_json(r, json_pack("{s:s,s:O,s:O}", "instanceId", id, "pluginId", plugin ? plugin : json_null(),
                           "registrations", mine ? mine : json_null()));
  json_decref(all);
}

static void run_unload(pilane *l, pilane_req *r) {
  if ((r->rc = al_unload(l->h, r->a, &r->err))) return;
  const char *tab, *iid;
  json_t *v, *tmp;
  json_object_foreach_safe(l->tabs, tmp, tab, v) {
    iid = json_string_value(v);
    if (iid && !strcmp(iid, r->a)) json_object_del(l->tabs, tab);
  }
  answer_json(r, json_pack("{s:s}", "instanceId", r->a));
}

static void run_list(pilane *l, pilane_req *r) {
  char *text = NULL;
  if ((r->rc = al_pi_extensions(l->h, &text, &r->err))) return;
  size_t n = strlen(text);
  char *out = malloc(n + 32);
  if (out) snprintf(out, n + 32, "{\"extensions\":%s}", text);
  al_free(text);
  if (!out) r->rc = lane_err(&r->err, AL_ENO_MEMORY, "out of memory listing the pi extensions");
  r->json = out;
}

static void run(pilane *l, pilane_req *r) {
  char *text = NULL;
  switch (r->op) {
  case PILANE_LOAD: run_load(l, r); return;
  case PILANE_UNLOAD: run_unload(l, r); return;
  case PILANE_LIST: run_list(l, r); return;
  case PILANE_EMIT: r->rc = al_emit(l->h, r->a, r->b, &text, &r->err); break;
  case PILANE_COMMAND: r->rc = al_command_call(l->h, r->a, r->b ? r->b : "", &text, &r->err); break;
  case PILANE_TOOL: r->rc = al_tool_call(l->h, r->a, r->b, &text, &r->err); break;
  }
  if (r->rc) al_free(text);
  else answer_lib(r, text);
}

static void *lane_main(void *arg) {
  pilane *l = arg;
  pthread_mutex_lock(&l->mu);
  for (;;) {
    while (!l->stop && !l->queue) pthread_cond_wait(&l->cv, &l->mu);
    if (l->stop) break;
    pilane_req *r = l->queue;
    l->queue = r->next;
    if (!l->queue) l->queue_tail = NULL;
    l->queued--;
    l->running = true;
    pthread_mutex_unlock(&l->mu);
    r->next = NULL;
    run(l, r);
    pthread_mutex_lock(&l->mu);
    l->running = false;
    if (l->done_tail) l->done_tail->next = r;
    else l->done = r;
    l->done_tail = r;
    l->ndone++;
    pthread_mutex_unlock(&l->mu);
    if (l->wake) l->wake(l->wake_ud);
    pthread_mutex_lock(&l->mu);
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

/* ---- the host thread's side ----------------------------------------------------------- */

int pilane_new(const pilane_config *cfg, pilane **out, al_error *err) {
  *out = NULL;
  pilane *l = calloc(1, sizeof *l);
  json_t *ctx = NULL;
  char *ctx_text = NULL, cwd[4096];
  int rc = AL_ENO_MEMORY;
  if (!l || !(l->tabs = json_object()) || pthread_mutex_init(&l->mu, NULL)) goto nomem;
  if (pthread_cond_init(&l->cv, NULL)) {
    pthread_mutex_destroy(&l->mu);
    goto nomem;
  }
  l->sync_ok = true;
  l->wake = cfg->wake;
  l->wake_ud = cfg->wake_ud;
  al_config hc;
  al_config_init(&hc);
  hc.isolation = cfg->isolation;
  hc.workers = 1; /* one call at a time: a second worker would only idle */
  hc.worker_path = cfg->worker_path;
  hc.home = cfg->home;
  hc.policy_json = cfg->policy_json;
  hc.ask = cfg->ask;
  hc.ask_user = cfg->ask_user;
  hc.log = cfg->log;
  hc.log_user = cfg->log_user;
  if ((rc = al_host_new(&hc, &l->h, err))) goto fail;
  const char *dir = cfg->cwd ? cfg->cwd : getcwd(cwd, sizeof cwd);
  ctx = json_pack("{s:b}", "hasUI", 1);
  if (ctx && dir) json_object_set_new(ctx, "cwd", json_string(dir));
  ctx_text = ctx ? json_dumps(ctx, JSON_COMPACT) : NULL;
  json_decref(ctx);
  if (!ctx_text) goto nomem;
  rc = al_pi_context(l->h, ctx_text, err);
  free(ctx_text);
  if (rc) goto fail;
  if (pthread_create(&l->thread, NULL, lane_main, l)) {
    rc = lane_err(err, AL_EINTERNAL, "could not start the pi lane's thread");
    goto fail;
  }
  l->started = true;
  *out = l;
  return 0;
nomem:
  rc = lane_err(err, AL_ENO_MEMORY, "out of memory starting the pi lane");
fail:
  pilane_free(l);
  return rc;
}

int pilane_submit(pilane *l, pilane_req *r, al_error *err) {
  pthread_mutex_lock(&l->mu);
  if (l->queued >= PILANE_QUEUE_MAX) {
    pthread_mutex_unlock(&l->mu);
    return lane_err(err, AL_EBUSY,
                    "the pi lane already has %d requests waiting (one runs at a time; a ctx.ui question "
                    "holds the lane until it is answered): try again once they answer",
                    PILANE_QUEUE_MAX);
  }
  r->next = NULL;
  if (l->queue_tail) l->queue_tail->next = r;
  else l->queue = r;
  l->queue_tail = r;
  l->queued++;
  pthread_cond_signal(&l->cv);
  pthread_mutex_unlock(&l->mu);
  return 0;
}

pilane_req *pilane_take(pilane *l) {
  if (!l) return NULL;
  pthread_mutex_lock(&l->mu);
  pilane_req *r = l->done;
  if (r) {
    l->done = r->next;
    if (!l->done) l->done_tail = NULL;
    l->ndone--;
    r->next = NULL;
  }
  pthread_mutex_unlock(&l->mu);
  return r;
}

size_t pilane_pending(pilane *l) {
  if (!l) return 0;
  pthread_mutex_lock(&l->mu);
  size_t n = l->queued + (l->running ? 1 : 0) + l->ndone;
  pthread_mutex_unlock(&l->mu);
  return n;
}

void pilane_free(pilane *l) {
  if (!l) return;
  if (l->started) {
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
  }
  /* The thread is gone (or never ran): what is left is ours alone. */
  for (pilane_req *r = l->queue, *next; r; r = next) {
    next = r->next;
    pilane_req_free(r);
  }
  for (pilane_req *r = l->done, *next; r; r = next) {
    next = r->next;
    pilane_req_free(r);
  }
  al_host_free(l->h);
  json_decref(l->tabs);
  if (l->sync_ok) {
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
  }
  free(l);
}

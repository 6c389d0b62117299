/*
 * async.c: the asynchronous calls (al_render_async, al_event_async; the loads' and
 * unloads' are in load.c) and al_host_dispatch, which finishes them.
 *
 * Synchronous calls submit and wait; asynchronous ones keep a pending record keyed by the
 * pool's ticket and finish in al_host_dispatch() through the same *_finish functions. The
 * pending records are hashed by ticket, so finishing one costs the same with ten
 * thousand in flight as with one.
 *
 * Renders and events of one instance run one at a time, and each request is built when it
 * is sent, so it carries the state after every earlier call's intents were applied (Redux
 * semantics: fifty queued clicks count to fifty). An asynchronous call made while the
 * instance has one in flight waits in the instance's `waiting` list and is sent when the
 * one before it has finished; a synchronous call first lets those finish (running their
 * callbacks, as al_host_dispatch would).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_impl.h"

/* Makes room for one more pending record: the table doubles when it is as full as it has
 * buckets, so chains stay short. A failed growth keeps the old table (still correct). */
static int pending_reserve(al_host *h) {
  if (h->npending < h->pending_cap) return 0;
  size_t cap = h->pending_cap ? h->pending_cap * 2 : 64;
  host_pending **t = calloc(cap, sizeof *t);
  if (!t) return h->pending_cap ? 0 : AL_ENO_MEMORY;
  for (size_t b = 0; b < h->pending_cap; b++)
    for (host_pending *pd = h->pending[b], *nx; pd; pd = nx) {
      nx = pd->next;
      pd->next = t[pd->ticket & (cap - 1)];
      t[pd->ticket & (cap - 1)] = pd;
    }
  free(h->pending);
  h->pending = t;
  h->pending_cap = cap;
  return 0;
}

/* Takes the pending record of `ticket` out of the table; NULL when it has none. */
static host_pending *pending_take(al_host *h, uint64_t ticket) {
  if (!h->pending_cap) return NULL;
  host_pending **pp = &h->pending[ticket & (h->pending_cap - 1)];
  while (*pp && (*pp)->ticket != ticket) pp = &(*pp)->next;
  host_pending *pd = *pp;
  if (pd) {
    *pp = pd->next;
    h->npending--;
  }
  return pd;
}

/* Submits `req` (stolen) and records what finishing it needs; `call` (render and event)
 * becomes the pending's on success and stays the caller's on failure. */
int host_submit_async(al_host *h, int worker, const char *id, host_op op, json_t *req,
                      uint32_t timeout, al_result_fn cb, void *user, host_load *ld,
                      host_call *call, al_error *err) {
  if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  host_pending *pd = pending_reserve(h) ? NULL : calloc(1, sizeof *pd);
  if (!pd) {
    json_decref(req);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  pd->op = op;
  pd->cb = cb;
  pd->user = user;
  pd->start_ms = clock_wall_ms();
  pd->load = ld;
  pd->call = call;
  memcpy(pd->instance_id, id, strlen(id) + 1);
  int rc = pool_submit(h->pool, worker, req, timeout, true, &pd->ticket, err);
  if (rc) {
    free(pd);
    err_instance(err, id);
    return rc;
  }
  host_pending **b = &h->pending[pd->ticket & (h->pending_cap - 1)];
  pd->next = *b;
  *b = pd;
  h->npending++;
  return 0;
}

void host_call_free(host_call *c) {
  if (!c) return;
  free(c->widget);
  free(c->handler);
  json_decref(c->args);
  free(c);
}

/* Sends `c` (consumed) for `inst` with its current state. The pending call keeps `c` to
 * send it again after a stale answer; the request shares its args, which nobody changes
 * once they are sent (a worker thread may be reading them). */
static int host_call_send(al_host *h, host_inst *inst, host_call *c) {
  json_t *req = host_call_request(h, inst, c->op == HOST_RENDER ? "render" : "event", c->widget,
                                  c->handler, c->args);
  int rc = host_submit_async(h, inst->worker, inst->id, c->op, req,
                             c->op == HOST_RENDER ? inst->lim.render_ms : inst->lim.event_ms, c->cb, c->user,
                             NULL, c, NULL);
  if (!rc) inst->calling = true;
  else {
    host_vm_cache_forget(inst);
    host_call_free(c);
  }
  return rc;
}

/* The instance's call in flight finished: sends the next one waiting, if any. A waiting
 * call that cannot be sent is answered with its error, never dropped. */
static void host_call_next(al_host *h, const char *id) {
  host_inst *inst = host_inst_get(h, id);
  if (!inst) return;
  inst->calling = false;
  while (!inst->calling && inst->waiting) {
    host_call *c = inst->waiting;
    inst->waiting = c->next;
    if (!inst->waiting) inst->waiting_tail = NULL;
    inst->nwaiting--;
    h->nwaiting--;
    al_result_fn cb = c->cb;
    void *user = c->user;
    int rc = host_call_send(h, inst, c);
    if (rc) {
      al_error e = {0};
      err_set(&e, rc, NULL, "%s", al_strerror(rc));
      err_instance(&e, id);
      cb(user, rc, NULL, &e);
      if (!(inst = host_inst_get(h, id))) return; /* the callback unloaded it */
    }
  }
}

/* Fails every call waiting on `inst` (it is being unloaded). */
void host_call_drop(al_host *h, host_inst *inst) {
  host_call *c = inst->waiting;
  inst->waiting = inst->waiting_tail = NULL;
  inst->nwaiting = 0;
  while (c) {
    host_call *nx = c->next;
    h->nwaiting--;
    al_error e = {0};
    err_set(&e, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", inst->id);
    err_instance(&e, inst->id);
    c->cb(c->user, AL_EINSTANCE_NOT_FOUND, NULL, &e);
    host_call_free(c);
    c = nx;
  }
}

/* An instance's calls waiting behind its call in flight are bounded like a worker's queue
 * (the one in flight counts): past that a call answers BUSY instead of growing it. */
static bool host_call_full(const al_host *h, const host_inst *inst) {
  return inst->nwaiting + 1 >= h->cfg.queue_capacity;
}

/* Lets the instance's asynchronous calls finish before a synchronous one reads its state.
 * Returns 0 with *out set, AL_EINSTANCE_NOT_FOUND or AL_EBUSY. */
int host_call_settle(al_host *h, const char *id, host_inst **out, al_error *err) {
  host_inst *inst = host_find(h, id, err);
  *out = NULL;
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  if (inst->calling && host_call_full(h, inst)) {
    err_set(err, AL_EBUSY, NULL, "the instance's queue is full (%u calls)", h->cfg.queue_capacity);
    err_instance(err, inst->id);
    return AL_EBUSY;
  }
  while (inst && (inst->calling || inst->waiting)) {
    char idc[AL_INSTANCE_ID_MAX];
    snprintf(idc, sizeof idc, "%s", inst->id);
    al_host_dispatch(h, -1);
    inst = host_find(h, idc, err);
  }
  *out = inst;
  return inst ? 0 : AL_EINSTANCE_NOT_FOUND;
}

static int host_call_async(al_host *h, const char *instance_id, int op, const char *widget_id,
                           const char *handler, json_t *args, al_result_fn cb, void *user) {
  host_inst *inst = host_find(h, instance_id, NULL);
  if (!inst) {
    json_decref(args);
    return AL_EINSTANCE_NOT_FOUND;
  }
  host_call *c = calloc(1, sizeof *c);
  if (!c || !(c->widget = strdup(widget_id)) || (handler && !(c->handler = strdup(handler)))) {
    host_call_free(c);
    json_decref(args);
    return AL_ENO_MEMORY;
  }
  *c = (host_call){op, c->widget, c->handler, args, cb, user, false, NULL};
  if (!inst->calling) return host_call_send(h, inst, c);
  if (host_call_full(h, inst)) {
    host_call_free(c);
    return AL_EBUSY;
  }
  if (inst->waiting_tail) inst->waiting_tail->next = c;
  else inst->waiting = c;
  inst->waiting_tail = c;
  inst->nwaiting++;
  h->nwaiting++;
  return 0;
}

int al_render_async(al_host *h, const char *instance_id, const char *widget_id, al_result_fn cb,
                    void *user) {
  if (!h || !widget_id || !cb) return AL_EINVALID_ARGUMENT;
  return host_call_async(h, instance_id, HOST_RENDER, widget_id, NULL, NULL, cb, user);
}

int al_event_async(al_host *h, const char *instance_id, const char *widget_id, const char *handler,
                   const char *args_json, al_result_fn cb, void *user) {
  if (!h || !widget_id || !handler || !cb) return AL_EINVALID_ARGUMENT;
  if (!host_find(h, instance_id, NULL)) return AL_EINSTANCE_NOT_FOUND;
  json_t *args = NULL;
  if (args_json && host_parse_arg(args_json, "args", &args, NULL)) return AL_EINVALID_ARGUMENT;
  return host_call_async(h, instance_id, HOST_EVENT, widget_id, handler, args, cb, user);
}

int al_host_fd(const al_host *h) { return h ? pool_fd(h->pool) : -1; }

size_t al_host_pending(const al_host *h) { return h ? h->npending + h->nwaiting : 0; }

int al_host_dispatch(al_host *h, int timeout_ms) {
  if (!h) return AL_EINVALID_ARGUMENT;
  if (!h->npending) return 0;
  pool_wait_any(h->pool, timeout_ms);
  int ran = 0;
  uint64_t ticket;
  json_t *resp;
  while (pool_next(h->pool, &ticket, &resp)) {
    host_pending *pd = pending_take(h, ticket);
    if (!pd) { /* not ours: cannot happen, but never leak */
      json_decref(resp);
      continue;
    }
    al_error e = {0};
    char *text = NULL;
    int rc = 0;
    host_inst *inst = pd->call ? host_inst_get(h, pd->instance_id) : NULL;
    if (inst && json_object_get(resp, "error")) host_vm_cache_forget(inst);
    if (inst && host_resp_stale(resp) && !pd->call->resent) {
      /* the VM held less than the host believed: send the call again, all of it whole */
      host_call *c = pd->call;
      al_result_fn cb = c->cb;
      void *user = c->user;
      char id[AL_INSTANCE_ID_MAX];
      memcpy(id, pd->instance_id, sizeof id);
      c->resent = true;
      json_decref(resp);
      free(pd);
      inst->calling = false;
      if ((rc = host_call_send(h, inst, c))) { /* answered, never dropped */
        err_set(&e, rc, NULL, "%s", al_strerror(rc));
        err_instance(&e, id);
        cb(user, rc, NULL, &e);
        ran++;
        host_call_next(h, id);
      }
      continue;
    }
    switch (pd->op) {
    case HOST_RENDER:
      rc = host_render_finish(h, pd->instance_id, pd->call->widget, pd->start_ms, resp, &text, &e);
      break;
    case HOST_EVENT: rc = host_event_finish(h, pd->instance_id, pd->start_ms, resp, &text, &e); break;
    case HOST_LOAD:
    case HOST_RELOAD: rc = host_load_finish(h, pd->load, 0, pd->start_ms, resp, true, &text, &e); break;
    case HOST_DROP: break;
    }
    json_decref(resp);
    if (pd->cb) pd->cb(pd->user, rc, text, rc ? &e : NULL);
    al_free(text);
    if (pd->op == HOST_RENDER || pd->op == HOST_EVENT) host_call_next(h, pd->instance_id);
    host_load_free(pd->load);
    host_call_free(pd->call);
    bool counted = pd->cb != NULL;
    free(pd);
    if (counted) ran++;
  }
  return ran;
}

/*
 * calls.c: renders and events, synchronous (al_render, al_event) and the finishing half
 * the asynchronous ones share (host_render_finish, host_event_finish): what a request
 * carries, what the host keeps so that it need not send or receive the same thing twice
 * (the tree cache and the resident-state cache below), and how an event's intents are
 * applied, plugin reducers included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/validate.h"
#include "host/host_impl.h"
#include "worker/exec.h"

/* ---- the tree cache ---------------------------------------------------------------------
 * The host keeps each widget's last validated tree: its hash, and its text once a render
 * repeated it (tree_keep). A render request names the hash of a kept text (treeHash); a
 * worker whose new tree has that hash answers "unchanged" and the host answers with its
 * copy, with no tree sent, parsed or validated again. The claim is
 * checked against what the host holds; a worker can at most make its own instance show
 * the tree it showed before (hash.c: the hash is not collision resistant, and need not
 * be for that). */

static host_tree *tree_find(const host_inst *inst, const char *widget) {
  for (host_tree *t = inst->trees; t; t = t->next)
    if (strcmp(t->data, widget) == 0) return t;
  return NULL;
}

static const char *tree_text(const host_tree *t) { return t->data + strlen(t->data) + 1; }

/* Notes `text` as the widget's last tree: its hash at first, the text too once a render
 * repeats it. A tree rendered once (an instance left idle) costs no copy; a stable one is
 * answered from the copy from its third render on. A failed allocation only loses the
 * shortcut. */
static void tree_keep(host_inst *inst, const char *widget, const char *text, size_t len) {
  uint64_t hash = al_hash64(text, len, AL_HASH64_SEED);
  host_tree **pp = &inst->trees;
  while (*pp && strcmp((*pp)->data, widget) != 0) pp = &(*pp)->next;
  host_tree *old = *pp;
  if (old && old->hash == hash && old->has_text) return;
  bool stable = old && old->hash == hash;
  size_t wl = strlen(widget);
  host_tree *t = malloc(sizeof *t + wl + 1 + (stable ? len + 1 : 0));
  if (old) *pp = old->next;
  free(old);
  if (!t) return;
  t->hash = hash;
  t->len = stable ? len : 0;
  t->has_text = stable;
  memcpy(t->data, widget, wl + 1);
  if (stable) memcpy(t->data + wl + 1, text, len + 1);
  t->next = inst->trees;
  inst->trees = t;
}

/* ---- resident state -------------------------------------------------------------------
 * A VM keeps the last state and globalState it was sent (vm.h). The host remembers which
 * versions it sent last (host_inst.vm_*_version) and sends, per input, nothing when
 * the VM holds the current version, the store's last delta when the VM holds its base,
 * and the value whole otherwise. What the host remembers is a belief, not a fact: a call
 * may not have reached the VM, the worker may have restarted (its VMs then hold
 * nothing). So any failed call forgets it, and a VM that does not hold what a request
 * assumes answers "stale" without running anything; the host then forgets and sends the
 * call once more with every value whole, which a VM can always take. The VM's copy is
 * never read back: the host's state stays the only truth. */

void host_vm_cache_forget(host_inst *inst) {
  inst->vm_state_version = inst->vm_global_version = 0;
  inst->vm_warm = false;
}

bool host_resp_stale(const json_t *resp) { return json_is_true(json_object_get(resp, "stale")); }

/* Adds the pluginState part of a request to `req`: its version and nothing, the store's
 * last delta, or the state whole, and takes note of what the VM will hold. Nonzero when
 * out of memory (the note then says nothing). */
static int state_fields(host_inst *inst, json_t *req) {
  const store_instance *rec = inst->rec;
  uint64_t sv = inst->vm_warm ? rec->state_version : 0;
  int bad = json_object_set_new(req, "stateVersion", json_integer((json_int_t)sv));
  if (!bad && (!sv || inst->vm_state_version != sv)) {
    if (inst->vm_state_version && rec->delta_set && rec->delta_base == inst->vm_state_version)
      bad = json_object_set_new(req, "stateBase", json_integer((json_int_t)rec->delta_base)) ||
            json_object_set(req, "stateSet", rec->delta_set) ||
            json_object_set(req, "stateDel", rec->delta_del);
    else
      bad = json_object_set_new(req, "pluginState", store_plugin_state(rec));
  }
  inst->vm_state_version = bad ? 0 : sv;
  return bad;
}

/* Builds a render or event request for the instance's current state (see above). `args`
 * is borrowed. */
json_t *host_call_request(al_host *h, host_inst *inst, const char *op, const char *widget_id,
                          const char *handler, json_t *args) {
  /* The first call after a VM started (or was forgotten) sends its state untagged (version
   * 0: the VM keeps no copy), so an instance rendered once and then left idle holds no
   * resident copy (BENCHMARKS.md, memory per idle instance); the next call tags it. */
  uint64_t gv = inst->vm_warm ? store_global_version(h->store, inst->rec) : 0;
  json_t *req = json_pack("{s:s,s:s,s:s,s:I}", "op", op, "instanceId", inst->id, "widgetId",
                          widget_id, "globalVersion", (json_int_t)gv);
  int bad = !req || state_fields(inst, req);
  if (!bad && (!gv || inst->vm_global_version != gv))
    bad = json_object_set_new(req, "globalState", store_global_state(h->store, inst->rec));
  const host_tree *t = handler ? NULL : tree_find(inst, widget_id);
  if (!bad && t && t->has_text) bad = json_object_set_new(req, "treeHash", json_integer((json_int_t)t->hash));
  if (!bad && handler) bad = json_object_set_new(req, "handler", json_string(handler));
  if (!bad && args) bad = json_object_set(req, "args", args);
  if (bad) {
    json_decref(req);
    host_vm_cache_forget(inst);
    return NULL;
  }
  inst->vm_global_version = gv;
  inst->vm_warm = true;
  return req;
}

/* A synchronous render or event round trip: resends once, whole, after a stale answer.
 * *inst is looked up again (a hostcall answered meanwhile may have unloaded it). */
static int call_sync(al_host *h, host_inst **inst, const char *op, const char *widget_id,
                     const char *handler, json_t *args, uint32_t timeout, json_t **resp,
                     al_error *err) {
  char id[AL_INSTANCE_ID_MAX];
  snprintf(id, sizeof id, "%s", (*inst)->id);
  int rc = 0;
  *resp = NULL;
  for (int attempt = 0; attempt < 2; attempt++) {
    json_t *req = host_call_request(h, *inst, op, widget_id, handler, args);
    if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    rc = pool_call(h->pool, (*inst)->worker, req, timeout, resp, err);
    if (!(*inst = host_inst_get(h, id))) break;
    if (rc || json_object_get(*resp, "error")) host_vm_cache_forget(*inst);
    if (rc || !host_resp_stale(*resp) || attempt) break;
    json_decref(*resp);
    *resp = NULL;
  }
  return rc;
}

/* ---- renders and events --------------------------------------------------------------- */

/* Finishes a render: validates the tree, records the instance's status, serializes. */
int host_render_finish(al_host *h, const char *id, const char *widget, uint64_t start,
                       const json_t *resp, char **tree_out, al_error *err) {
  host_inst *inst = host_inst_get(h, id);
  const json_t *tree = NULL;
  int rc = host_call_result(h, inst, id, "render", start, resp, &tree, err);
  if (!inst) return err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", id);
  char *text = NULL;
  if (!rc && json_is_true(json_object_get(resp, "unchanged"))) {
    const host_tree *t = tree_find(inst, widget);
    if (!t || !t->has_text) rc = err_set(err, AL_EINTERNAL, NULL, "the worker claimed an unchanged tree for widget '%s', which the host does not hold", widget);
    else if (!(text = malloc(t->len + 1))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    else memcpy(text, tree_text(t), t->len + 1);
  } else if (!rc && !(rc = ui_validate_tree(tree, &h->cfg.budgets, err))) {
    text = json_text(tree);
    size_t len = text ? strlen(text) : 0;
    if (!text) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    else if (len > h->cfg.budgets.max_bytes)
      rc = err_set(err, AL_ECONTRACT, "root", "root serializes to %zu bytes, over the %zu-byte budget",
                   len, h->cfg.budgets.max_bytes);
    else tree_keep(inst, widget, text, len);
  }
  /* The store records render failures as the instance's status (the original never did).
   * A success on an instance that is not in error changes nothing: skip the bookkeeping
   * (it is on every render's path). */
  const char *status = json_string_value(json_object_get(inst->rec->record, "status"));
  bool status_may_change = rc || (status && strcmp(status, "error") == 0);
  store_changes ch = {0};
  if (rc != AL_EWIDGET_NOT_FOUND && status_may_change && !store_changes_init(&ch)) {
    char msg[sizeof err->message + 40];
    if (rc) snprintf(msg, sizeof msg, "%s: %s", al_err_name(rc), err ? err->message : "");
    store_set_status(h->store, inst->rec, rc ? msg : NULL, &ch);
    host_notify(h, "status", inst->id, &ch);
  }
  store_changes_clear(&ch);
  if (rc) err_instance(err, id);
  if (!rc && tree_out) {
    *tree_out = text;
    text = NULL;
  }
  free(text);
  return rc;
}

int al_render(al_host *h, const char *instance_id, const char *widget_id, char **tree_out,
              al_error *err) {
  if (tree_out) *tree_out = NULL;
  if (!h || !widget_id) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_render needs a host and a widget id");
  host_inst *inst;
  int src = host_call_settle(h, instance_id, &inst, err);
  if (src) return src;
  json_t *resp = NULL;
  char id[AL_INSTANCE_ID_MAX];
  snprintf(id, sizeof id, "%s", inst->id);
  uint64_t start = clock_wall_ms();
  int rc = call_sync(h, &inst, "render", widget_id, NULL, NULL, inst->lim.render_ms,
                     &resp, err);
  if (!rc) rc = host_render_finish(h, id, widget_id, start, resp, tree_out, err);
  else err_instance(err, id);
  json_decref(resp);
  return rc;
}

/* store_plugin_reduce_fn: plugin-declared reducers run in the instance's own VM, under the
 * deadline of the event that dispatched the intent. The host thread waits for them: a
 * reducer is part of applying the event. */
static int host_plugin_reduce(void *user, store_instance *rec, const char *action,
                              const json_t *state, const json_t *payload, json_t **next,
                              bool *handled, al_error *err) {
  al_host *h = user;
  host_inst *inst = rec->owner;
  *next = NULL;
  *handled = false;
  int rc = 0;
  json_t *resp = NULL;
  /* The store hands over the instance's current state, which the VM usually holds
   * already (it just ran the event): the request names its version (see host_call_request).
   * Anything else would be a store change this cache does not know: sent whole. */
  bool cached = rec->state ? state == rec->state : json_object_size(state) == 0;
  uint32_t ms = inst->lim.event_ms;
  if (h->reduce_until_ms) {
    uint64_t now = clock_wall_ms();
    if (h->reduce_stalled)
      return err_set(err, AL_ETIMEOUT, NULL, "an earlier reducer of this event ran out of time; this one did not run");
    if (now >= h->reduce_until_ms)
      return err_set(err, AL_ETIMEOUT, NULL, "the event's intents took too long to apply; this one's reducer did not run");
    if (h->reduce_until_ms - now < ms) ms = (uint32_t)(h->reduce_until_ms - now);
  }
  uint64_t start = clock_wall_ms(); /* the telemetry's start: before the call, not after */
  for (int attempt = 0; attempt < 2; attempt++) {
    json_t *req = json_pack("{s:s,s:s,s:s,s:O}", "op", "reduce", "instanceId", inst->id,
                            "actionType", action, "payload", payload);
    if (req && !cached) {
      if (json_object_set(req, "pluginState", (json_t *)state)) json_decref(req), req = NULL;
    } else if (req && state_fields(inst, req)) {
      json_decref(req);
      req = NULL;
    }
    if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    rc = pool_call(h->pool, inst->worker, req, ms, &resp, err);
    if (h->reduce_until_ms && (rc == AL_ETIMEOUT || rc == AL_ECRASHED || (!rc && wk_response_result(resp, NULL, NULL) == AL_ETIMEOUT)))
      h->reduce_stalled = true;
    if (rc || json_object_get(resp, "error")) host_vm_cache_forget(inst);
    if (rc || !host_resp_stale(resp) || attempt) break;
    json_decref(resp);
    resp = NULL;
  }
  const json_t *v = NULL;
  if (!rc) rc = host_call_result(h, inst, inst->id, "reduce", start, resp, &v, err);
  if (!rc && json_is_true(json_object_get(v, "handled"))) {
    *handled = true;
    const json_t *nx = json_object_get(v, "next");
    /* no next: the reducer returned undefined, the state stays */
    *next = nx ? json_deep_copy(nx) : json_incref((json_t *)state);
    if (!*next) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  json_decref(resp);
  return rc;
}

/* Finishes an event: validates the intents, stamps them, applies them through the store. */
int host_event_finish(al_host *h, const char *id, uint64_t start, const json_t *resp,
                      char **result_out, al_error *err) {
  host_inst *inst = host_inst_get(h, id);
  const json_t *got = NULL;
  int rc = host_call_result(h, inst, id, "event", start, resp, &got, err);
  if (!inst) return err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", id);
  json_t *intents = NULL, *actions = NULL;
  if (!rc) rc = ui_validate_intents(got, err);
  if (!rc && !(intents = json_deep_copy(got))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc) {
    /* The host stamps every intent with the caller: a plugin can only address its own
     * local state. */
    size_t i;
    json_t *it;
    json_array_foreach(intents, i, it) json_object_set_new(it, "instanceId", json_string(inst->id));
    store_changes ch;
    if ((rc = store_changes_init(&ch))) {
      err_set(err, rc, NULL, "out of memory");
    } else {
      /* Applying the intents is charged to the event (host_plugin_reduce): each
       * plugin reducer runs under the event's deadline, but once one runs out of time
       * the rest of this event's do not run (1,000 stalling reducers would otherwise
       * hold the host for 1,000 deadlines), and the host's own clock ends the whole at
       * ten times the event's budget (at least 2 s: a thousand round trips to a
       * sanitized worker), whatever a worker reports. */
      uint32_t budget = inst->lim.event_ms;
      uint64_t backstop = (uint64_t)budget * 10u;
      h->reduce_stalled = false;
      h->reduce_until_ms = clock_wall_ms() + (backstop > 2000 ? backstop : 2000);
      rc = store_apply(h->store, inst->rec, intents, "vm", host_plugin_reduce, h, &actions, &ch, err);
      h->reduce_until_ms = 0;
      if (!rc) host_notify(h, "event", inst->id, &ch);
    }
    store_changes_clear(&ch);
  }
  if (!rc && result_out)
    rc = host_out_json(json_pack("{s:O,s:O}", "intents", intents, "actions", actions), result_out, err);
  if (rc) err_instance(err, id);
  json_decref(intents);
  json_decref(actions);
  return rc;
}

int al_event(al_host *h, const char *instance_id, const char *widget_id, const char *handler,
             const char *args_json, char **result_out, al_error *err) {
  if (result_out) *result_out = NULL;
  if (!h || !widget_id || !handler)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_event needs a host, a widget and a handler");
  host_inst *inst;
  int src = host_call_settle(h, instance_id, &inst, err);
  if (src) return src;
  json_t *args = NULL, *resp = NULL;
  int rc = 0;
  if (args_json && (rc = host_parse_arg(args_json, "args", &args, err))) return rc;
  char id[AL_INSTANCE_ID_MAX];
  snprintf(id, sizeof id, "%s", inst->id);
  uint64_t start = clock_wall_ms();
  rc = call_sync(h, &inst, "event", widget_id, handler, args, inst->lim.event_ms, &resp,
                 err);
  json_decref(args);
  if (!rc) rc = host_event_finish(h, id, start, resp, result_out, err);
  else err_instance(err, id);
  json_decref(resp);
  return rc;
}

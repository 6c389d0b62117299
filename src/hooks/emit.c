/*
 * emit.c: normalizing handler results and aggregating them (see emit.h for the rules).
 *
 * Both functions work on copies: the handler's value and the caller's payload are only
 * read. A result that asks for something its event does not allow (a block on an event
 * that cannot be blocked, a decision outside a permission event) is kept as "continue"
 * with `ignored` naming what was dropped, so a plugin author sees why nothing happened
 * instead of the host silently doing something else.
 */
#include <string.h>

#include "hooks/emit.h"

json_t *em_error(const char *reason) {
  return json_pack("{s:s,s:s}", "action", "error", "reason", reason ? reason : "error");
}

static const char *str_of(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

json_t *em_normalize(const ev_def *ev, const json_t *value) {
  json_t *r = json_pack("{s:s}", "action", "continue");
  if (!r || !value || json_is_null(value)) return r;
  if (!json_is_object(value)) {
    if (json_object_set(r, "output", (json_t *)value)) {
      json_decref(r);
      return NULL;
    }
    return r;
  }
  json_t *out = json_deep_copy(value);
  if (!out) {
    json_decref(r);
    return NULL;
  }
  const char *action = str_of(value, "action");
  const json_t *blk = json_object_get(value, "block");
  const char *decision = str_of(value, "decision");
  const char *want = NULL, *reason = NULL;
  if ((action && !strcmp(action, "block")) || (blk && !json_is_false(blk) && !json_is_null(blk))) {
    want = "block";
    reason = json_is_string(blk) ? json_string_value(blk) : str_of(value, "reason");
    if (!reason) reason = str_of(value, "output");
    json_object_del(out, "block");
    if (json_is_string(json_object_get(out, "output"))) json_object_del(out, "output");
  } else if (decision && (!strcmp(decision, "allow") || !strcmp(decision, "deny") ||
                          !strcmp(decision, "ask"))) {
    want = decision;
    reason = str_of(value, "reason");
    if (!reason) reason = str_of(value, "message");
    json_object_del(out, "decision");
  } else if (action && (!strcmp(action, "allow") || !strcmp(action, "deny"))) {
    want = action;
    reason = str_of(value, "reason");
  }
  json_object_del(out, "action");
  if (json_is_false(blk) || json_is_null(blk)) json_object_del(out, "block"); /* "not blocking" */
  bool ok = !want ||
            (!strcmp(want, "block") ? (ev->flags & AL_HOOK_MAY_BLOCK) != 0
                                    : (ev->flags & AL_HOOK_PERMISSION) != 0);
  /* every part or none: a result missing its "block" for want of memory would read as
   * "continue" and let the operation through */
  int bad = 0;
  if (want && ok) {
    bad |= json_object_set_new(r, "action", json_string(want));
    if (reason) bad |= json_object_set_new(r, "reason", json_string(reason));
    json_object_del(out, "reason");
  } else if (want) {
    bad |= json_object_set_new(r, "ignored", json_sprintf("%s is not allowed for %s", want, ev->name));
  }
  if (json_object_size(out)) bad |= json_object_set_new(r, "output", out);
  else json_decref(out);
  if (bad) {
    json_decref(r);
    return NULL;
  }
  return r;
}

/* Applies one result's output to the aggregate: replacements into the payload, "+name"
 * fields appended to aggregate arrays. */
static void em_apply(const ev_def *ev, json_t *agg, json_t *payload, const json_t *output) {
  if (!(ev->flags & (AL_HOOK_MAY_MODIFY | AL_HOOK_PERMISSION)) || !json_is_object(output)) return;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)output, k, v) {
    const char *target = json_string_value(json_object_get(ev->modifies, k));
    if (!target) continue;
    if (target[0] == '+') {
      json_t *arr = json_object_get(agg, target + 1);
      if (!arr) json_object_set_new(agg, target + 1, arr = json_array());
      if (json_is_array(v)) json_array_extend(arr, v);
      else json_array_append(arr, v);
    } else if (json_is_object(payload)) {
      json_object_set(payload, target, v);
    }
  }
}

json_t *em_aggregate(const ev_def *ev, const json_t *payload, const json_t *results) {
  json_t *pl = payload ? json_deep_copy(payload) : json_object();
  json_t *rs = json_deep_copy(results ? results : json_array());
  json_t *agg = json_pack("{s:s,s:s}", "event", ev->name, "action", "continue");
  if (!pl || !rs || !agg) goto fail;
  const char *block = NULL, *deny = NULL, *ask = NULL, *allow = NULL;
  bool blocked = false, denied = false, asked = false, allowed = false;
  size_t i;
  json_t *r;
  json_array_foreach(rs, i, r) {
    const char *a = str_of(r, "action");
    const char *why = str_of(r, "reason");
    if (!a || !strcmp(a, "error")) continue;
    if (!strcmp(a, "block") && !blocked) blocked = true, block = why;
    else if (!strcmp(a, "deny") && !denied) denied = true, deny = why;
    else if (!strcmp(a, "ask") && !asked) asked = true, ask = why;
    else if (!strcmp(a, "allow") && !allowed) allowed = true, allow = why;
    em_apply(ev, agg, pl, json_object_get(r, "output"));
  }
  /* A block ends the operation whatever else was said; on a permission a single deny
   * outweighs any number of allows (the original took the first answer). */
  const char *action = blocked ? "block" : denied ? "deny" : asked ? "ask" : allowed ? "allow" : "continue";
  const char *reason = blocked ? block : denied ? deny : asked ? ask : allowed ? allow : NULL;
  int bad = json_object_set_new(agg, "action", json_string(action)); /* all steal */
  if (reason) bad |= json_object_set_new(agg, "reason", json_string(reason));
  bad |= json_object_set_new(agg, "payload", pl);
  bad |= json_object_set_new(agg, "results", rs);
  if (bad) { /* an aggregate short of its action would say "continue" */
    json_decref(agg);
    return NULL;
  }
  return agg;
fail:
  json_decref(pl);
  json_decref(rs);
  json_decref(agg);
  return NULL;
}

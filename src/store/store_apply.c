/*
 * store_apply.c: dispatch (store.h, store_apply): an intent goes through the package's
 * reducer, the plugin's own (a callback from the host: the store never calls a VM), the
 * generic state/replace and state/merge, in that order, or is refused with its reason; a
 * shared intent through its domain's reducer when the writer's grants allow. Every
 * dispatch is stamped here and nowhere else: the trace, the timeline entry, the state's
 * version and the top-level delta the VM cache needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* ---- dispatch ------------------------------------------------------------------------- */

static void metrics_changed(store *s, store_changes *ch) {
  for (size_t i = 0; i < s->ndomains; i++)
    if (s->domains[i].ops.derive & AL_DOMAIN_DERIVE_TRACE) store_mark_domain(s, ch, &s->domains[i]);
}

/* Stamps and records one action: trace, timeline ring, derived metrics. Returns the
 * action (new reference). */
/* The timeline's copy of an action, carrying the payload (NULL: none) so a person can
 * inspect it. Payloads over STORE_PAYLOAD_MAX bytes of JSON text are kept as a prefix of
 * that text, cut on a UTF-8 boundary and marked payloadTruncated, so one huge intent
 * cannot make the timeline hold megabytes. */
static json_t *timeline_entry(json_t *a, const json_t *payload) {
  if (!payload) return json_incref(a);
  json_t *t = json_copy_checked(a);
  char *text = t ? json_text(payload) : NULL;
  if (!text) {
    json_decref(t);
    return json_incref(a);
  }
  size_t n = strlen(text);
  if (n <= STORE_PAYLOAD_MAX) {
    json_object_set(t, "payload", (json_t *)payload);
  } else {
    n = STORE_PAYLOAD_MAX;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    json_object_set_new(t, "payload", json_stringn(text, n));
    json_object_set_new(t, "payloadTruncated", json_true());
  }
  free(text);
  return t;
}

static json_t *record_action(store *s, const char *scope, const char *action,
                             const char *instance_id, const char *domain, const char *outcome,
                             const char *reason, const char *source, const json_t *payload,
                             store_changes *ch) {
  char id[ID_DISPATCH_LEN + 1];
  uint64_t ms;
  id_dispatch(&s->ids, id, &ms);
  json_t *a = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s?,s:s,s:s?,s:s}", "dispatchId", id,
                        "timestamp", (json_int_t)ms, "scope", scope, "actionType", action,
                        "instanceId", instance_id, "domain", domain, "outcome", outcome,
                        "reason", reason, "source", source);
  if (!a) return NULL;
  json_int_t count = json_integer_value(json_object_get(s->trace, "count")) + 1;
  json_object_set_new(s->trace, "count", json_integer(count));
  json_object_set_new(s->trace, "lastDispatchId", json_string(id));
  json_object_set_new(s->trace, "lastTimestamp", json_integer((json_int_t)ms));
  json_object_set_new(s->trace, "lastScope", json_string(scope));
  json_object_set_new(s->trace, "lastActionType", json_string(action));
  json_object_set_new(s->trace, "lastOutcome", json_string(outcome));
  json_object_set_new(s->trace, "lastReason", reason ? json_string(reason) : json_null());
  json_decref(s->timeline[s->tl_head]);
  s->timeline[s->tl_head] = timeline_entry(a, payload);
  s->tl_head = (s->tl_head + 1) % s->tl_cap;
  if (s->tl_len < s->tl_cap) s->tl_len++;
  metrics_changed(s, ch);
  return a;
}

/* The top-level delta that turns object `a` into object `b`: *set gets the keys whose
 * value is not the very same json_t (reducers that copy shallowly share the rest, so the
 * test is by identity and costs nothing per nested value), *del the keys that went. Only
 * when applying it key by key gives `b`'s exact key order (a VM copies the old keys in
 * order, then appends the new ones) and it leaves at least one value in place: otherwise
 * the whole state is as cheap to send, and false is returned. */
static bool state_delta(const json_t *a, const json_t *b, json_t **set, json_t **del) {
  *set = *del = NULL;
  if (!json_is_object(a) || !json_is_object(b) || json_object_size(a) == 0) return false;
  json_t *st = json_object(), *dl = json_array();
  size_t kept = 0;
  void *ib = json_object_iter((json_t *)b);
  const char *k;
  json_t *va;
  bool ok = st && dl;
  json_object_foreach((json_t *)a, k, va) {
    if (!ok) break;
    json_t *vb = json_object_get(b, k);
    if (!vb) {
      ok = !json_array_append_new(dl, json_string(k));
      continue;
    }
    /* b's next key must be this one, or the order would differ */
    ok = ib && strcmp(json_object_iter_key(ib), k) == 0;
    if (!ok) break;
    if (vb == va) kept++;
    else ok = !json_object_set(st, k, vb);
    ib = json_object_iter_next((json_t *)b, ib);
  }
  for (; ok && ib; ib = json_object_iter_next((json_t *)b, ib)) {
    const char *kb = json_object_iter_key(ib);
    /* a key seen above out of place also lands here: it was in a, so no delta */
    ok = !json_object_get(a, kb) && !json_object_set(st, kb, json_object_iter_value(ib));
  }
  if (!ok || kept == 0) {
    json_decref(st);
    json_decref(dl);
    return false;
  }
  *set = st;
  *del = dl;
  return true;
}

/* One member of an object as store_state_bytes counts it: "key":value, plus a comma. */
static size_t member_bytes(const char *key, const json_t *v) {
  return strlen(key) + 4 + json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

size_t store_state_bytes(const json_t *state) {
  if (!state) return 0;
  if (!json_is_object(state)) return json_dumpb(state, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
  size_t n = 2;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)state, k, v) n += member_bytes(k, v);
  return n;
}

int store_set_state(store *s, store_instance *inst, json_t *state, store_changes *ch) {
  if (!state) return AL_ENO_MEMORY;
  if (inst->state && json_equal(inst->state, state)) {
    json_decref(state);
    return 0;
  }
  json_t *set = NULL, *del = NULL;
  bool delta = state_delta(inst->state, state, &set, &del);
  /* The new size from what changed when the delta says (a one-key merge into a big state
   * costs that key), else measured whole: the change is as big as the state then. */
  size_t bytes;
  if (delta) {
    uint64_t b = inst->state_bytes;
    size_t i;
    json_t *k;
    json_array_foreach(del, i, k)
      b -= member_bytes(json_string_value(k), json_object_get(inst->state, json_string_value(k)));
    const char *key;
    json_t *v;
    json_object_foreach(set, key, v) {
      const json_t *old = json_object_get(inst->state, key);
      if (old) b -= member_bytes(key, old);
      b += member_bytes(key, v);
    }
    bytes = (size_t)b;
  } else {
    bytes = store_state_bytes(state);
  }
  if (inst->state_limit && bytes > inst->state_limit) {
    json_decref(set);
    json_decref(del);
    json_decref(state);
    return AL_ESTATE_LIMIT;
  }
  json_decref(inst->delta_set);
  json_decref(inst->delta_del);
  inst->delta_set = set;
  inst->delta_del = del;
  inst->delta_base = delta ? inst->state_version : 0;
  inst->state_bytes = bytes;
  json_decref(inst->state);
  inst->state = state;
  inst->state_version = ++s->clock;
  store_mark_instance(ch, inst->id);
  return 0;
}

int store_set_grants(store *s, store_instance *inst, const json_t *grants, const char *source,
                     store_changes *ch, al_error *err) {
  json_t *g = store_grants_normalize(grants);
  if (!g) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  bool same = json_equal(g, inst->grants);
  json_decref(inst->grants);
  inst->grants = g;
  if (!same) inst->grants_stamp = ++s->clock;
  json_t *a = record_action(s, "host", "grants/set", inst->id, NULL, "applied", NULL, source, g,
                           ch);
  json_decref(a);
  /* What the instance may read changed, so its globalState did. */
  if (!same) store_mark_instance(ch, inst->id);
  return 0;
}

void store_set_status(store *s, store_instance *inst, const char *error, store_changes *ch) {
  const char *cur = json_string_value(json_object_get(inst->record, "status"));
  const char *cur_err = json_string_value(json_object_get(inst->record, "error"));
  bool was_error = cur && strcmp(cur, "error") == 0;
  if (!error && !was_error) return;
  if (error && was_error && cur_err && strcmp(cur_err, error) == 0) return;
  json_object_set_new(inst->record, "status", json_string(error ? "error" : "loaded"));
  if (error) json_object_set_new(inst->record, "error", json_string(error));
  else json_object_del(inst->record, "error");
  /* The record changed (status, or the error's text): a derived domain exposes it. */
  store_registry_changed(s, ch);
}

static bool is_plain(const json_t *v) { return json_is_object(v); }

/* Rule 3: the generic reducer. */
static int generic_reduce(const char *action, const json_t *state, const json_t *payload,
                          json_t **next, const char **reason) {
  if (strcmp(action, "state/replace") == 0) {
    *next = json_is_null(payload) ? json_object() : json_deep_copy(payload);
    return AL_REDUCE_APPLIED;
  }
  if (strcmp(action, "state/merge") == 0) {
    if (!is_plain(payload)) { /* not a merge the generic reducer knows: rule 4 */
      *reason = "no-local-reducer-match";
      return AL_REDUCE_UNSUPPORTED;
    }
    /* Shallow: the untouched values are shared with the old state (the store never
     * changes a state in place), which keeps a one-key merge of a big state cheap and
     * lets store_set_state see which keys it touched. */
    *next = is_plain(state) ? json_copy_checked(state) : json_object();
    if (*next && json_object_update(*next, (json_t *)payload)) { /* NULL: out of memory */
      json_decref(*next);
      *next = NULL;
    }
    return AL_REDUCE_APPLIED;
  }
  *reason = "no-local-reducer-match";
  return AL_REDUCE_UNSUPPORTED;
}

static const char *apply_plugin(store *s, store_instance *inst, const char *action,
                                const json_t *payload, store_plugin_reduce_fn plugin_reduce,
                                void *user, char *reason_buf, size_t reason_cap,
                                bool *denied, store_changes *ch) {
  json_t *state = store_plugin_state(inst);
  json_t *next = NULL;
  const char *reason = NULL;
  int rc = AL_REDUCE_UNSUPPORTED;
  store_reducer *r = store_reducer_find(s, inst->package_id);
  if (r) {
    rc = r->fn(r->user, action, state, payload, &next);
    if (rc < 0) {
      snprintf(reason_buf, reason_cap, "reducer-error:%s", al_err_name(rc));
      reason = reason_buf;
    }
  }
  if (rc == AL_REDUCE_UNSUPPORTED && plugin_reduce) {
    bool handled = false;
    al_error e = {0};
    int prc = plugin_reduce(user, inst, action, state, payload, &next, &handled, &e);
    if (prc < 0) {
      snprintf(reason_buf, reason_cap, "plugin-reducer-error:%s:%.160s", al_err_name(prc),
               e.message);
      reason = reason_buf;
      rc = prc;
    } else if (handled) {
      rc = AL_REDUCE_APPLIED;
    }
  }
  if (rc == AL_REDUCE_UNSUPPORTED) rc = generic_reduce(action, state, payload, &next, &reason);
  json_decref(state);
  if (rc == AL_REDUCE_APPLIED) {
    if (!next) return "reducer-error:OUT_OF_MEMORY";
    size_t before = inst->state_bytes;
    int src = store_set_state(s, inst, next, ch);
    if (src == AL_ESTATE_LIMIT) { /* refused, not ignored: the host said no */
      *denied = true;
      snprintf(reason_buf, reason_cap, "STATE_LIMIT: the plugin's state would pass its limit of %zu bytes (it holds %zu)",
               inst->state_limit, before);
      return reason_buf;
    }
    return src ? "reducer-error:OUT_OF_MEMORY" : NULL;
  }
  json_decref(next);
  return reason ? reason : "no-local-reducer-match";
}

int store_apply(store *s, store_instance *inst, const json_t *intents, const char *source,
                store_plugin_reduce_fn plugin_reduce, void *user, json_t **actions,
                store_changes *ch, al_error *err) {
  json_t *out = json_array();
  if (!out) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  size_t i;
  json_t *it;
  json_array_foreach(intents, i, it) {
    const char *scope = json_string_value(json_object_get(it, "scope"));
    const char *action = json_string_value(json_object_get(it, "actionType"));
    json_t *payload = json_object_get(it, "payload");
    json_t *null_payload = NULL;
    if (!payload) payload = null_payload = json_null();
    char reason_buf[512];
    const char *reason = NULL, *outcome = "applied", *domain = NULL;
    if (strcmp(scope, "plugin") == 0) {
      bool denied = false;
      reason = apply_plugin(s, inst, action, payload, plugin_reduce, user, reason_buf,
                            sizeof reason_buf, &denied, ch);
      if (reason) outcome = denied ? "denied" : "ignored";
    } else {
      domain = json_string_value(json_object_get(it, "domain"));
      store_domain *d = store_domain_find(s, domain);
      if (!store_grant_has(inst, "writeShared", domain)) {
        outcome = "denied";
        snprintf(reason_buf, sizeof reason_buf, "missing-write-grant:%.200s", domain);
        reason = reason_buf;
      } else if (!d) {
        outcome = "ignored";
        snprintf(reason_buf, sizeof reason_buf, "unknown-domain:%.200s", domain);
        reason = reason_buf;
      } else if (!d->ops.reduce) {
        outcome = "ignored";
        snprintf(reason_buf, sizeof reason_buf, "unsupported-domain:%.200s", domain);
        reason = reason_buf;
      } else {
        json_t *next = NULL;
        int rc = d->ops.reduce(d->user, inst->id, action, d->state, payload, &next);
        if (rc == AL_REDUCE_APPLIED && next) {
          store_domain_set(s, d, next, ch);
        } else {
          json_decref(next);
          outcome = "ignored";
          if (rc == AL_REDUCE_UNSUPPORTED)
            snprintf(reason_buf, sizeof reason_buf, "unsupported-action:%.120s/%.120s", domain,
                     action);
          else
            snprintf(reason_buf, sizeof reason_buf, "reducer-error:%s", al_err_name(rc));
          reason = reason_buf;
        }
      }
    }
    json_decref(null_payload);
    json_t *a = record_action(s, scope, action, inst->id, domain, outcome, reason, source,
                              json_object_get(it, "payload"), ch);
    if (!a || json_array_append_new(out, a)) {
      json_decref(out);
      return err_set(err, AL_ENO_MEMORY, NULL, "out of memory recording an action");
    }
  }
  *actions = out;
  return 0;
}

json_t *store_affected(const store *s, const store_changes *ch) {
  json_t *out = json_array();
  for (size_t i = 0; i < s->count; i++) {
    const store_instance *inst = s->list[i];
    bool hit = json_object_get(ch->instances, inst->id) != NULL;
    size_t k;
    json_t *v;
    json_array_foreach(json_object_get(inst->grants, "readShared"), k, v) {
      if (hit) break;
      hit = json_object_get(ch->domains, json_string_value(v)) != NULL;
    }
    if (hit) json_array_append_new(out, json_string(inst->id));
  }
  return out;
}

/*
 * hooks.c: events plugins subscribe to and the host emits (al_hook_register, al_emit),
 * the tools plugins register (al_tools, al_tool_call), the audit trail and the kill
 * switches; and the hooks side of loading, reloading and unloading an instance
 * (host_hooks_*, called from load.c): manifest and preflight, the `pi` record, the
 * hostcall record, and the instance's reported subscriptions.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks/emit.h"
#include "host/host_impl.h"
#include "pkg/plan.h"
#include "worker/exec.h"

/* ---- hooks -------------------------------------------------------------------------------
 * Subscriptions: every loaded instance keeps the events its VM reported subscribing to
 * (host_inst.hooks: after its load, and after each hook call, since `once` and pi.off
 * change them), vetted against what the host approved. From the instances, in load
 * order, an immutable ev_snapshot is built and published through
 * an atomic pointer. The host API is single-threaded and worker threads never read the
 * snapshot, so the only reader is the host thread itself: when it swaps a snapshot no
 * emit is in flight, and the old one is freed at once. An emit that changes
 * subscriptions (a `once` handler ran) publishes the new snapshot only after it has
 * finished with the one it started with. */

static void hooks_publish(al_host *h) {
  size_t n = 0;
  for (const host_inst *inst = h->first; inst; inst = inst->next)
    if (json_object_size(inst->hooks)) n++;
  ev_member *m = calloc(n ? n : 1, sizeof *m);
  if (!m) return; /* out of memory: keep serving the previous subscriptions */
  n = 0;
  for (const host_inst *inst = h->first; inst; inst = inst->next)
    if (json_object_size(inst->hooks))
      m[n++] = (ev_member){inst->id, inst->plugin_id, inst->worker, inst->hooks};
  ev_snapshot *ns = ev_snapshot_build(h->events, m, n);
  free(m);
  if (!ns) return;
  ev_snapshot *old = atomic_exchange_explicit(&h->snap, ns, memory_order_acq_rel);
  ev_snapshot_free(old);
}

void host_hooks_refresh(al_host *h) { hooks_publish(h); }

/* Holds a worker's report about instance `id` to the host's record (hc_hooks_check). A
 * worker that lies is killed and the instance set aside, with the breach audited;
 * AL_ECRASHED then says so. Checked reports are bounded (EV_MAX_HANDLERS per event), so
 * nothing after this allocates by a count the worker chose. */
int host_hooks_vet(al_host *h, int worker, const char *id, const json_t *hooks,
                   const char *event, size_t results, al_error *err) {
  char why[200];
  if (!hc_hooks_check(h->hc, id, hooks, event, results, why, sizeof why)) return 0;
  hc_breach(h->hc, id, why);
  pool_condemn(h->pool, worker, id, why); /* process isolation; a thread worker is our code */
  return err_set(err, AL_ECRASHED, NULL, "worker process killed: %s", why);
}

/* Replaces an instance's reported subscriptions (a vetted report; anything but an object
 * leaves them); true when they changed. */
static bool hooks_set(host_inst *inst, const json_t *hooks) {
  if (!inst || !json_is_object(hooks) || json_equal(inst->hooks, (json_t *)hooks)) return false;
  json_decref(inst->hooks);
  inst->hooks = json_incref((json_t *)hooks);
  return true;
}

/* One array of the declared events serves every instance's pi record (they are only read,
 * and jansson counts references atomically), instead of a copy per instance. */
/* `cwd` is what process.cwd() answers while the extension loads (its factory runs before
 * any call's ctx exists): al_pi_context's cwd, else the host's, as a call's ctx.cwd. */
static json_t *pi_info(al_host *h, const char *plugin_id, const char *version) {
  if (!h->event_names && !(h->event_names = ev_names(h->events))) return NULL;
  char here[4096];
  const char *cwd = json_string_value(json_object_get(h->pi_ctx, "cwd"));
  if (!cwd) cwd = getcwd(here, sizeof here) ? here : "/";
  return json_pack("{s:s,s:s,s:O,s:i,s:s}", "id", plugin_id, "version", version ? version : "0.0.0",
                   "events", h->event_names, "maxHandlers", EV_MAX_HANDLERS, "cwd", cwd);
}

/* The hostcall record and `pi` record for a load; with a manifest, its plan first
 * (pkg/plan.h: manifest, engine, preflight, limits, grants, settings). */
int host_hooks_prepare(al_host *h, const char *id, const char *package_id, const char *code,
                       size_t len, const al_load_opts *o, json_t **grants, json_t **caps,
                       al_limits *lim, json_t **pi, al_error *err) {
  *grants = NULL;
  *caps = NULL;
  *pi = NULL;
  if (!o->manifest_json) {
    *pi = pi_info(h, package_id, NULL);
    /* an installed pi package's grant is its capabilities (al_load_package) */
    int rc = *pi ? hc_plugin_add(h->hc, id, package_id, h->pi_caps, NULL, NULL, err)
                 : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    return rc;
  }
  pkg_plan plan;
  int rc = pkg_plan_make(o->manifest_json, code, len, lim, &h->cfg.limits, o->grants_json != NULL,
                         hc_db(h->hc), &plan, err);
  const char *who = plan.plugin_id ? plan.plugin_id : package_id;
  /* Unknown manifest fields load (a manifest for a newer Airlock) but are said out loud. */
  size_t wi;
  json_t *w;
  json_array_foreach(plan.warnings, wi, w) hc_log(h->hc, who, "warn", json_string_value(w));
  if (plan.report && o->preflight_out && !(*o->preflight_out = json_text(plan.report)) && !rc)
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (plan.report) { /* preflight ran: its verdict is a decision, and audited as one */
    char why[sizeof err->message];
    bool blocked = rc == AL_EPREFLIGHT_BLOCKED;
    if (blocked) snprintf(why, sizeof why, "%s", err ? err->message : "");
    else snprintf(why, sizeof why, "%zu finding(s), none blocking",
                  json_array_size(json_object_get(plan.report, "findings")));
    hc_audit(h->hc, who, "preflight", id, blocked ? "denied" : "allowed", why);
  }
  if (!rc) {
    *lim = plan.limits;
    if (!(*pi = pi_info(h, plan.plugin_id, plan.version))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  if (!rc) rc = hc_plugin_add(h->hc, id, plan.plugin_id, plan.caps, plan.settings, plan.settings_env, err);
  if (!rc) {
    *grants = plan.grants;
    *caps = plan.caps;
    plan.grants = plan.caps = NULL;
  }
  pkg_plan_clear(&plan);
  return rc;
}

void host_hooks_loaded(al_host *h, host_inst *inst, const json_t *resp) {
  if (hooks_set(inst, json_object_get(resp, "hooks")) && json_object_size(inst->hooks))
    hooks_publish(h);
}

/* The `pi` record an instance was loaded with, for its hot reloads (new reference). */
json_t *host_hooks_pi(al_host *h, const host_inst *inst) {
  return pi_info(h, inst->plugin_id, inst->version);
}

/* A hot reload replaced the instance's VM: its subscriptions are the new code's, and the
 * tools the new code registered take the place of the old ones. */
void host_hooks_reloaded(al_host *h, host_inst *inst, const char *vm_id, const json_t *resp) {
  hc_plugin_commit(h->hc, vm_id);
  const json_t *hooks = json_object_get(resp, "hooks");
  json_t *empty = json_object();
  if (hooks_set(inst, json_is_object(hooks) ? hooks : empty)) hooks_publish(h);
  json_decref(empty);
}

void host_hooks_unloaded(al_host *h, host_inst *inst) {
  hc_plugin_remove(h->hc, inst->id);
  if (!json_object_size(inst->hooks)) return;
  json_object_clear(inst->hooks); /* the snapshot is built without it */
  hooks_publish(h);
}

/* Worker crashes and watchdog kills (process isolation) since the last look go to the
 * audit trail; the worker restarts with its instances on its next call. Called after
 * calls that came back failed, so the common path never takes the pool lock for it. */
void host_hooks_note_workers(al_host *h) {
  pool_stats ps;
  pool_get_stats(h->pool, &ps);
  char why[128];
  if (ps.crashes > h->seen_crashes) {
    snprintf(why, sizeof why, "%u worker crash(es); the worker restarts and reloads its instances",
             ps.crashes - h->seen_crashes);
    hc_audit(h->hc, "host", "worker_restart", "crash", "error", why);
  }
  if (ps.watchdog_kills > h->seen_kills) {
    snprintf(why, sizeof why, "%u worker(s) killed by the watchdog; the worker restarts and reloads its instances",
             ps.watchdog_kills - h->seen_kills);
    hc_audit(h->hc, "host", "worker_restart", "watchdog", "error", why);
  }
  h->seen_crashes = ps.crashes;
  h->seen_kills = ps.watchdog_kills;
}

int al_hook_register(al_host *h, const al_hook_def *def, al_error *err) {
  if (!h || !def) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_hook_register needs a host and a definition");
  json_t *mod = NULL;
  int rc = def->modifies_json ? host_parse_arg(def->modifies_json, "modifies_json", &mod, err) : 0;
  if (!rc) rc = ev_register(h->events, def->name, def->timeout_ms ? def->timeout_ms : EV_ACTIONABLE_MS,
                            def->flags, mod, err);
  json_decref(mod);
  if (!rc) {
    json_decref(h->event_names); /* records already made keep the list they were given */
    h->event_names = NULL;
    hooks_publish(h); /* the snapshot is sized by the registry */
  }
  return rc;
}

int al_hook_subscribed(const al_host *h, const char *event) {
  if (!h) return 0;
  ev_snapshot *s = atomic_load_explicit(&((al_host *)h)->snap, memory_order_acquire);
  return ev_subscribed(s, ev_lookup(h->events, event));
}

int al_hooks(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *a = json_array();
  for (size_t i = 0; i < ev_count(h->events); i++) {
    const ev_def *d = ev_at(h->events, (int)i);
    json_array_append_new(a, json_pack("{s:s,s:I,s:b,s:b,s:b,s:O}", "name", d->name, "timeoutMs",
                                       (json_int_t)d->timeout_ms, "mayBlock", (d->flags & AL_HOOK_MAY_BLOCK) != 0,
                                       "mayModify", (d->flags & AL_HOOK_MAY_MODIFY) != 0, "permission",
                                       (d->flags & AL_HOOK_PERMISSION) != 0, "modifies", d->modifies));
  }
  return host_out_json(a, json_out, err);
}

/* Turns one instance's hook response into normalized results appended to `out`. Sets
 * *lost when one could not be recorded for want of memory (the emit then fails: a result
 * left out could be a block). */
static void emit_collect(al_host *h, const ev_def *ev, const ev_sub *sub, int submit_rc,
                         const al_error *submit_err, json_t *resp, json_t *out, bool *changed,
                         bool *lost) {
  al_error e = {0};
  const json_t *ok = NULL;
  int rc = submit_rc ? submit_rc : wk_response_result(resp, &ok, &e);
  if (submit_rc) err_copy(&e, submit_err);
  const json_t *list = json_object_get(ok, "results");
  if (!rc) rc = host_hooks_vet(h, sub->worker, sub->instance_id, json_object_get(ok, "hooks"), ev->name,
                               json_array_size(list), &e);
  if (!rc && hooks_set(host_inst_get(h, sub->instance_id), json_object_get(ok, "hooks"))) *changed = true;
  if (rc == AL_ECRASHED || rc == AL_ETIMEOUT) {
    hc_audit(h->hc, sub->plugin_id, rc == AL_ECRASHED ? "crash" : "timeout", sub->instance_id, "error", e.message);
    host_hooks_note_workers(h);
  }
  size_t n = rc ? sub->handlers : json_array_size(list);
  for (size_t i = 0; i < n; i++) {
    const json_t *item = rc ? NULL : json_array_get(list, i);
    json_t *r;
    char why[sizeof e.message + 32];
    if (rc || json_object_get(item, "error")) {
      al_error he = {0};
      int hrc = rc ? rc : wk_response_result(item, NULL, &he);
      snprintf(why, sizeof why, "%s: %s", al_err_name(hrc), rc ? e.message : he.message);
      r = em_error(why);
    } else {
      r = em_normalize(ev, json_object_get(item, "ok"));
    }
    if (!r) {
      *lost = true;
      continue;
    }
    json_t *tagged = json_pack("{s:s,s:s}", "instanceId", sub->instance_id, "pluginId", sub->plugin_id);
    bool kept = tagged && !json_object_update(tagged, r) &&
                !json_object_set_new(tagged, "elapsedUs",
                                     json_integer(json_integer_value(json_object_get(item, "elapsedUs"))));
    if (kept) kept = !json_array_append_new(out, tagged); /* steals tagged either way */
    else json_decref(tagged);
    if (!kept) *lost = true;
    json_decref(r);
  }
}

int al_emit(al_host *h, const char *event, const char *payload_json, char **result_json,
            al_error *err) {
  if (result_json) *result_json = NULL;
  if (!h || !event) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_emit needs a host and an event");
  int e = ev_lookup(h->events, event);
  /* with plugins disabled no pi extension loaded to declare pi's events: still "disabled" */
  if (e < 0 && hc_disabled(h->hc))
    return err_set(err, AL_EPLUGINS_DISABLED, NULL, "plugins are disabled (AIRLOCK_DISABLE_PLUGINS)");
  if (e < 0) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "unknown event '%.80s'", event);
  if (hc_disabled(h->hc))
    return err_set(err, AL_EPLUGINS_DISABLED, NULL, "plugins are disabled (AIRLOCK_DISABLE_PLUGINS)");
  ev_snapshot *snap = atomic_load_explicit(&h->snap, memory_order_acquire);
  const ev_def *ev = ev_at(h->events, e);
  if (host_pi_event(ev)) {
    /* pi's semantics (pi_host.c); its no-subscriber path is as short as this one's */
    if (!ev_subscribed(snap, e) && !result_json) return 0;
    json_t *pl = NULL;
    int prc = payload_json ? host_parse_arg(payload_json, "payload", &pl, err) : 0;
    if (!prc && !pl && !(pl = json_object())) prc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    if (!prc && !json_is_object(pl)) prc = err_set(err, AL_EINVALID_ARGUMENT, "payload", "the payload must be a JSON object");
    if (!prc) prc = host_pi_emit(h, ev, e, pl, result_json, err);
    json_decref(pl);
    return prc;
  }
  bool force_deny = hc_force_deny(h->hc) && (ev->flags & AL_HOOK_PERMISSION);
  bool run = ev_subscribed(snap, e) && !hc_skip(h->hc) && !force_deny;
  if (!run && !result_json && !force_deny) return 0; /* the nanosecond path */

  json_t *payload = NULL, *results = json_array(), *agg = NULL;
  int rc = payload_json ? host_parse_arg(payload_json, "payload", &payload, err) : 0;
  if (!rc && !payload && !(payload = json_object())) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc && !json_is_object(payload)) rc = err_set(err, AL_EINVALID_ARGUMENT, "payload", "the payload must be a JSON object");
  if (!rc && !results) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (rc) goto done;
  if (run) {
    /* Submit to every subscriber's worker first, then collect in registration order:
     * plugins on different workers run at once. */
    size_t n = snap->nsubs[e];
    json_t *hp = json_deep_copy(payload);
    uint64_t *tickets = calloc(n ? n : 1, sizeof *tickets);
    int *src = calloc(n ? n : 1, sizeof *src);
    al_error *serr = calloc(n ? n : 1, sizeof *serr);
    if (!hp || !tickets || !src || !serr) {
      json_decref(hp);
      free(tickets);
      free(src);
      free(serr);
      rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
      goto done;
    }
    json_object_set_new(hp, "event", json_string(ev->name));
    /* Every request shares this one payload: workers only read it (jansson 2.14 reads
     * without writing and counts references atomically), and nobody writes it again. */
    for (size_t i = 0; i < n; i++) {
      const ev_sub *sb = &snap->subs[e][i];
      json_t *req = json_pack("{s:s,s:s,s:s,s:O,s:I}", "op", "hook", "instanceId", sb->instance_id,
                              "event", ev->name, "payload", hp, "timeoutMs", (json_int_t)ev->timeout_ms);
      /* One budget per plugin, its event class's, however many handlers it has: the
       * VM runs them all under that one deadline (vm_hook). */
      src[i] = req ? pool_submit(h->pool, sb->worker, req, ev->timeout_ms, false, &tickets[i], &serr[i])
                   : err_set(&serr[i], AL_ENO_MEMORY, NULL, "out of memory");
    }
    bool changed = false, lost = false;
    for (size_t i = 0; i < n; i++) {
      json_t *resp = src[i] ? NULL : pool_wait(h->pool, tickets[i]);
      emit_collect(h, ev, &snap->subs[e][i], src[i], &serr[i], resp, results, &changed, &lost);
      json_decref(resp);
    }
    /* Only now: every worker has let go of it, and each answer came through the pool's
     * lock, so this last release cannot race a worker's (jansson's count is not enough
     * on its own to order a free after another thread's reads). */
    json_decref(hp);
    free(tickets);
    free(src);
    free(serr);
    if (changed) hooks_publish(h); /* `snap` is not used past this point */
    if (lost) {
      rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory collecting the handlers' results");
      goto done;
    }
  }
  if (!result_json) goto done;
  agg = em_aggregate(ev, payload, results);
  if (agg && force_deny &&
      (json_object_set_new(agg, "action", json_string("deny")) |
       json_object_set_new(agg, "reason", json_string("Denied by AIRLOCK_FORCE_DENY")))) {
    json_decref(agg); /* never an aggregate that kept the handlers' answer instead */
    agg = NULL;
  }
  if (agg && hc_skip(h->hc)) json_object_set_new(agg, "skipped", json_string("AIRLOCK_SKIP_PLUGINS is set"));
  rc = agg ? host_out_json(agg, result_json, err) : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  agg = NULL;
done:
  json_decref(agg);
  json_decref(payload);
  json_decref(results);
  return rc;
}

int al_tools(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *a = hc_tools(h->hc);
  /* and the pi extensions' (pi_host.c), as their workers reported them, vetted */
  for (const host_inst *inst = h->first; a && inst; inst = inst->next) {
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(inst->pi, "tools"), i, t)
      json_array_append_new(a, json_pack("{s:O,s:s,s:s,s:O,s:O}", "name", json_object_get(t, "name"), "pluginId",
                                         inst->plugin_id, "instanceId", inst->id, "description",
                                         json_object_get(t, "description"), "parameters",
                                         json_object_get(t, "parameters")));
  }
  return host_out_json(a, json_out, err);
}

int al_tool_call(al_host *h, const char *name, const char *args_json, char **result_json,
                 al_error *err) {
  if (result_json) *result_json = NULL;
  if (!h || !name) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_tool_call needs a host and a tool name");
  if (hc_disabled(h->hc) || hc_skip(h->hc))
    return err_set(err, AL_EPLUGINS_DISABLED, NULL, "plugins are disabled (%s)",
                   hc_disabled(h->hc) ? "AIRLOCK_DISABLE_PLUGINS" : "AIRLOCK_SKIP_PLUGINS");
  char id[AL_INSTANCE_ID_MAX];
  host_inst *pinst = host_pi_owner(h, "tools", name);
  if (pinst) { /* a pi extension's tool (pi_host.c) */
    json_t *params = NULL;
    int prc = args_json ? host_parse_arg(args_json, "args", &params, err) : 0;
    if (!prc && !params && !(params = json_object())) prc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    if (!prc) prc = host_pi_tool(h, pinst, name, params, result_json, err);
    json_decref(params);
    return prc;
  }
  int rc = hc_tool_owner(h->hc, name, id, sizeof id, err);
  if (rc) return rc;
  host_inst *inst = host_find(h, id, err);
  if (!inst) return AL_EINSTANCE_NOT_FOUND;
  json_t *args = NULL, *resp = NULL;
  if (args_json && (rc = host_parse_arg(args_json, "args", &args, err))) return rc;
  json_t *req = json_pack("{s:s,s:s,s:s,s:o,s:I}", "op", "tool", "instanceId", id, "name", name,
                          "args", args ? args : json_object(), "timeoutMs", (json_int_t)EV_ACTIONABLE_MS);
  if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  uint64_t start = clock_wall_ms();
  rc = pool_call(h->pool, inst->worker, req, EV_ACTIONABLE_MS, &resp, err);
  const json_t *v = NULL;
  if (!rc) rc = host_call_result(h, inst, id, "tool", start, resp, &v, err);
  if (!rc) rc = host_out_json(json_incref((json_t *)v), result_json, err);
  if (rc == AL_ECRASHED || rc == AL_ETIMEOUT) host_hooks_note_workers(h);
  if (rc) err_instance(err, id);
  json_decref(resp);
  return rc;
}

int al_audit(al_host *h, size_t n, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return host_out_json(hc_audit_recent(h->hc, n), json_out, err);
}

int al_audit_since(al_host *h, uint64_t after_seq, size_t n, char **json_out, uint64_t *last_seq,
                   al_error *err) {
  if (json_out) *json_out = NULL;
  if (!h || !json_out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_audit_since needs a host and json_out");
  uint64_t last;
  *json_out = hc_audit_since(h->hc, after_seq, n, &last);
  if (last_seq) *last_seq = last;
  return *json_out ? 0 : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
}

int al_switches(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  return host_out_json(hc_switches(h->hc), json_out, err);
}

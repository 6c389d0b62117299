/*
 * pi_host.c: the host's side of pi extensions (docs/pi-extensions.md): pi's events, its
 * sequential handler semantics across extensions, pi tools and commands, and the checks
 * the host applies to everything a pi extension's worker claims.
 *
 * pi's events are declared the first time a pi extension loads (host_pi_declare), with
 * EV_FLAG_PI, which sends al_emit here instead of the contract's fan-out. pi runs an
 * event's handlers one after another, each seeing what the previous one changed, and a
 * short-circuit result ends the chain; so this emit asks one extension at a time, in load
 * order, handing each the chain's state as the previous one left it ({event, result,
 * acc}; vm/pi_ext.js applies pi's per-event rules inside one extension). What the chain
 * means (block, cancel, transform, handled) is decided here from the final result, not
 * from anything a worker says about it, and a tool_call that fails anywhere (a throw, a
 * timeout, a crash, a malformed answer) blocks: fail closed.
 *
 * Every answer is held to bounds before it is believed (hooks/pi_vet.h): the one result an
 * extension may give per emit (host_hooks_vet, as for every hook), intents of known types
 * only and at most PV_MAX_INTENTS (hooks/pi_vet.h), registrations bounded per kind, errors attributed to
 * the plugin the host knows the instance as, never the name the worker gives.
 *
 * Threading: the host thread (the host API is single-threaded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/host_impl.h"
#include "hooks/pi_vet.h"
#include "worker/exec.h"

#define PI_CALL_MS 60000u        /* a pi tool's or command's time */


int host_pi_declare(al_host *h, al_error *err) {
  if (h->pi_events) return 0;
  for (size_t i = 0; i < pv_nevents; i++) {
    const char *n = pv_events[i];
    bool session_before = !strncmp(n, "session_before_", 15);
    unsigned flags = EV_FLAG_PI | (!strcmp(n, "tool_call") || session_before ? AL_HOOK_MAY_BLOCK : 0) |
                     AL_HOOK_MAY_MODIFY;
    al_hook_def d = {.name = n, .timeout_ms = EV_ACTIONABLE_MS, .flags = flags};
    int rc = al_hook_register(h, &d, err);
    if (rc) return rc;
  }
  if (!h->pi_ctx && !(h->pi_ctx = json_object())) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  h->pi_events = true;
  return 0;
}

bool host_pi_event(const ev_def *ev) { return ev && (ev->flags & EV_FLAG_PI); }

/* ---- vetting (hooks/pi_vet.h) ---------------------------------------------------------- */

/* A worker that breaks a bound is treated as the breach it is (host_hooks_vet's rule);
 * a vetting that ran out of memory (why is PV_OOM) is the host's failure, not the
 * worker's, and leaves it alone. */
static int pi_breach(al_host *h, const host_inst *inst, const char *why, al_error *err) {
  if (!strcmp(why, PV_OOM)) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  hc_breach(h->hc, inst->id, why);
  pool_condemn(h->pool, inst->worker, inst->id, why);
  return err_set(err, AL_ECRASHED, NULL, "worker process killed: %s", why);
}

void host_pi_loaded(al_host *h, host_inst *inst, const json_t *reg) {
  char why[200];
  json_t *v = reg ? pv_registry(reg, why, sizeof why) : json_object();
  if (!v) {
    al_error e = {0};
    pi_breach(h, inst, why, &e);
    v = json_object();
  }
  json_decref(inst->pi);
  inst->pi = v;
  /* Only ever costs the extension a call of its own: believed as a request, not a fact. */
  inst->pi_pending = json_is_true(json_object_get(reg, "factoryPending"));
}

/* A later answer's registrations replace the held ones (pi lets handlers register). */
static bool pi_update_registry(al_host *h, host_inst *inst, const json_t *reg, al_error *err) {
  if (!reg) return true;
  char why[200];
  json_t *v = pv_registry(reg, why, sizeof why);
  if (!v) {
    pi_breach(h, inst, why, err);
    return false;
  }
  json_decref(inst->pi);
  inst->pi = v;
  return true;
}

/* The ctx a pi call gets: al_pi_context's, with the host's cwd when it names none. */
static json_t *pi_ctx(al_host *h) {
  json_t *c = h->pi_ctx ? json_deep_copy(h->pi_ctx) : json_object();
  if (c && !json_is_string(json_object_get(c, "cwd"))) {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) json_object_set_new(c, "cwd", json_string(cwd));
  }
  return c;
}

/* ---- pi.events across extensions --------------------------------------------------------- */

static int pi_call(al_host *h, host_inst *inst, const char *name, json_t *args, unsigned ms, json_t **value,
                   al_error *err);

static bool listens(const host_inst *inst, const char *channel) {
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(inst->pi, "channels"), i, c)
    if (!strcmp(json_string_value(c), channel)) return true;
  return false;
}

/* pi has one event bus for all extensions; here each runs in its own VM, so what a call
 * emitted (`emits`, vetted by pv_bus, from instance `from`) is handed, once that call has
 * answered, to every other pi extension listening on the channel, in load order, as a
 * call of its own (pi_ext.js's kind "bus"). What those listeners emit is delivered in
 * turn, breadth first; PI_BUS_MAX deliveries per host call bound a ping-pong. Their
 * intents and errors join the host call's. A listener that fails is an error entry, never
 * the emitter's failure (pi's bus catches a listener's throw the same way). */
#define PI_BUS_MAX 64

static int pi_bus_run(al_host *h, const char *from, const json_t *emits, json_t *intents, json_t *errors,
                      unsigned ms, al_error *err) {
  if (!json_array_size(emits)) return 0;
  json_t *queue = json_array();
  size_t i, delivered = 0;
  json_t *e;
  json_array_foreach(emits, i, e) json_array_append_new(queue, json_pack("{s:s,s:O}", "from", from, "emit", e));
  if (!queue || json_array_size(queue) != json_array_size(emits)) {
    json_decref(queue);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  int rc = 0;
  for (size_t q = 0; !rc && delivered <= PI_BUS_MAX && q < json_array_size(queue); q++) {
    const json_t *item = json_array_get(queue, q), *emit = json_object_get(item, "emit");
    const char *src = json_string_value(json_object_get(item, "from"));
    const char *channel = json_string_value(json_object_get(emit, "channel"));
    for (host_inst *inst = h->first; !rc && inst; inst = inst->next) {
      if (!inst->pi || !strcmp(inst->id, src) || !listens(inst, channel)) continue;
      if (delivered++ == PI_BUS_MAX) {
        char msg[200];
        snprintf(msg, sizeof msg, "pi.events: more than %d deliveries in one call; the rest were dropped", PI_BUS_MAX);
        if (!pv_error(errors, inst->plugin_id, msg)) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
      }
      if (delivered > PI_BUS_MAX) break;
      json_t *ctx = pi_ctx(h);
      json_t *args = json_pack("{s:s,s:O,s:o}", "kind", "bus", "data", json_object_get(emit, "data"), "ctx",
                               ctx ? ctx : json_object());
      if (!args) {
        rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
        break;
      }
      json_t *v = NULL, *more = json_array();
      al_error ce = {0};
      int crc = pi_call(h, inst, channel, args, ms, &v, &ce);
      char why[200] = "";
      if (!crc && (!more || !pv_intents(json_object_get(v, "intents"), intents, why, sizeof why) ||
                   !pv_errors(json_object_get(v, "errors"), errors, inst->plugin_id, why, sizeof why) ||
                   !pv_bus(json_object_get(v, "bus"), more, why, sizeof why)))
        crc = more ? pi_breach(h, inst, why, &ce) : err_set(&ce, AL_ENO_MEMORY, NULL, "out of memory");
      if (crc == AL_ENO_MEMORY) rc = err_set(err, crc, NULL, "%s", ce.message);
      if (crc) {
        char msg[sizeof ce.message + 64];
        snprintf(msg, sizeof msg, "pi.events '%s': %s: %s", channel, al_err_name(crc), ce.message);
        if (!pv_error(errors, inst->plugin_id, msg) && !rc) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
      }
      size_t j;
      json_t *m;
      json_array_foreach(crc ? NULL : more, j, m)
        if (json_array_append_new(queue, json_pack("{s:s,s:O}", "from", inst->id, "emit", m)) && !rc)
          rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
      json_decref(more);
      json_decref(v);
    }
  }
  json_decref(queue);
  return rc;
}

/* ---- emit ------------------------------------------------------------------------------- */

int host_pi_emit(al_host *h, const ev_def *ev, int e, const json_t *payload, char **result_json,
                 al_error *err) {
  ev_snapshot *snap = atomic_load_explicit(&h->snap, memory_order_acquire);
  json_t *event = json_deep_copy(payload);
  json_t *state = NULL, *intents = json_array(), *errors = json_array(), *ctx = pi_ctx(h);
  json_t *emits = json_array(); /* one extension's pi.events emits, for pi_bus_run */
  json_t *block = NULL; /* a fail-closed tool_call block {block, reason} */
  int rc = 0;
  if (!event || !intents || !errors || !ctx || !emits) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto done;
  }
  if (!json_is_string(json_object_get(event, "type"))) json_object_set_new(event, "type", json_string(ev->name));
  state = json_pack("{s:O,s:n,s:{}}", "event", event, "result", "acc");
  bool tool_call = !strcmp(ev->name, "tool_call");
  bool changed = false;
  size_t n = ev_subscribed(snap, e) && !hc_skip(h->hc) ? snap->nsubs[e] : 0;
  for (size_t i = 0; state && i < n; i++) {
    const ev_sub *sb = &snap->subs[e][i];
    host_inst *inst = host_inst_get(h, sb->instance_id);
    if (!inst || !inst->pi) continue; /* a contract plugin subscribed to a pi name: not pi's */
    json_t *req = json_pack("{s:s,s:s,s:s,s:{s:s,s:O,s:O},s:I}", "op", "hook", "instanceId", sb->instance_id,
                            "event", ev->name, "payload", "event", ev->name, "piState", state, "piCtx", ctx,
                            "timeoutMs", (json_int_t)ev->timeout_ms);
    json_t *resp = NULL;
    al_error ce = {0};
    int crc = req ? pool_call(h->pool, sb->worker, req, ev->timeout_ms, &resp, &ce)
                  : err_set(&ce, AL_ENO_MEMORY, NULL, "out of memory");
    const json_t *ok = NULL;
    if (!crc) crc = wk_response_result(resp, &ok, &ce);
    const json_t *list = json_object_get(ok, "results");
    if (!crc) crc = host_hooks_vet(h, sb->worker, sb->instance_id, json_object_get(ok, "hooks"), ev->name,
                                   json_array_size(list), &ce);
    if (!crc && json_is_object(json_object_get(ok, "hooks")) && !json_equal(inst->hooks, json_object_get(ok, "hooks"))) {
      json_decref(inst->hooks);
      inst->hooks = json_deep_copy(json_object_get(ok, "hooks"));
      changed = true;
    }
    const json_t *item = json_array_get(list, 0);
    if (!crc && json_object_get(item, "error")) crc = wk_response_result(item, NULL, &ce);
    const json_t *v = json_object_get(item, "ok");
    const json_t *nst = json_object_get(v, "state");
    char why[256] = "";
    if (!crc && item &&
        (!json_is_object(nst) || !json_is_object(json_object_get(nst, "event")) ||
         !pv_intents(json_object_get(v, "intents"), intents, why, sizeof why) ||
         !pv_errors(json_object_get(v, "errors"), errors, sb->plugin_id, why, sizeof why) ||
         !pv_bus(json_object_get(v, "bus"), emits, why, sizeof why)))
      crc = pi_breach(h, inst, why[0] ? why : "a pi hook answer without a state", &ce);
    if (!crc && item && !pi_update_registry(h, inst, json_object_get(v, "registry"), &ce)) crc = ce.code;
    if (crc == AL_ECRASHED || crc == AL_ETIMEOUT) {
      hc_audit(h->hc, sb->plugin_id, crc == AL_ECRASHED ? "crash" : "timeout", sb->instance_id, "error", ce.message);
      host_hooks_note_workers(h);
    }
    if (crc) {
      char msg[sizeof ce.message + 32];
      snprintf(msg, sizeof msg, "%s: %s", al_err_name(crc), ce.message);
      pv_error(errors, sb->plugin_id, msg);
      if (tool_call) { /* pi lets a failing tool_call handler fail the call: block */
        char reason[sizeof msg + 200];
        snprintf(reason, sizeof reason, "Extension '%s' failed in tool_call: %s", sb->plugin_id, msg);
        block = json_pack("{s:b,s:s}", "block", 1, "reason", reason);
        json_decref(resp);
        break;
      }
    } else if (item) {
      json_t *next = json_deep_copy(nst);
      if (next) {
        json_decref(state);
        state = next;
      }
    }
    json_decref(resp);
    if (!crc && pi_bus_run(h, sb->instance_id, emits, intents, errors, ev->timeout_ms, &ce) == AL_ENO_MEMORY) {
      rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
      goto done;
    }
    json_array_clear(emits);
    const char *r0;
    const char *act = pv_action(ev->name, json_object_get(state, "result"), &r0);
    if (pv_stops(ev->name, act, json_object_get(state, "result"))) break;
  }
  if (changed) host_hooks_refresh(h);
  if (!state) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    goto done;
  }
  if (!result_json) goto done;
  const json_t *result = block ? block : json_object_get(state, "result");
  const char *reason = NULL, *action = pv_action(ev->name, result, &reason);
  json_t *out = json_pack("{s:s,s:s,s:O,s:O,s:O}", "event", ev->name, "action", action, "payload",
                          json_object_get(state, "event"), "intents", intents, "errors", errors);
  if (out && !strcmp(action, "block") && !reason) reason = "Blocked by an extension";
  if (out && reason) json_object_set_new(out, "reason", json_string(reason));
  if (out && json_is_object(result)) json_object_set(out, "result", (json_t *)result);
  if (out && hc_skip(h->hc)) json_object_set_new(out, "skipped", json_string("AIRLOCK_SKIP_PLUGINS is set"));
  rc = out ? host_out_json(out, result_json, err) : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
done:
  json_decref(event);
  json_decref(state);
  json_decref(intents);
  json_decref(errors);
  json_decref(ctx);
  json_decref(emits);
  json_decref(block);
  return rc;
}

int host_pi_settle(al_host *h, const char *id, unsigned ms, al_error *err) {
  host_inst *inst = host_inst_get(h, id);
  if (!inst || !inst->pi || !inst->pi_pending) return 0;
  inst->pi_pending = false;
  json_t *ctx = pi_ctx(h);
  json_t *args = json_pack("{s:s,s:o}", "kind", "factory", "ctx", ctx ? ctx : json_object());
  if (!args) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  json_t *v = NULL;
  int rc = pi_call(h, inst, "", args, ms ? ms : 1, &v, err);
  json_decref(v);
  if (!rc) return 0;
  char msg[sizeof err->message];
  snprintf(msg, sizeof msg, "%s", err->message);
  al_error ue = {0};
  (void)al_unload(h, id, &ue); /* a failed factory is a failed load: nothing stays */
  if (rc == AL_EPLUGIN) rc = AL_EPLUGIN_LOAD;
  err_set(err, rc, NULL, rc == AL_EPLUGIN_LOAD ? "pi extension factory failed: %s" : "%s", msg);
  err_instance(err, id);
  return rc;
}

/* ---- tools and commands ----------------------------------------------------------------- */

static bool reg_has(const host_inst *inst, const char *kind, const char *name) {
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(inst->pi, kind), i, e)
    if (!strcmp(json_string_value(json_object_get(e, "name")), name)) return true;
  return false;
}

host_inst *host_pi_owner(al_host *h, const char *kind, const char *name) {
  for (host_inst *inst = h->first; inst; inst = inst->next)
    if (inst->pi && reg_has(inst, kind, name)) return inst;
  return NULL;
}

/* One tool, command or bus call to `inst` (steals args), of at most `ms`; *value is its
 * answer (new reference), its registry already taken. */
static int pi_call(al_host *h, host_inst *inst, const char *name, json_t *args, unsigned ms, json_t **value,
                   al_error *err) {
  *value = NULL;
  json_t *req = json_pack("{s:s,s:s,s:s,s:o,s:I}", "op", "tool", "instanceId", inst->id, "name", name, "args",
                          args, "timeoutMs", (json_int_t)ms);
  if (!req) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  json_t *resp = NULL;
  uint64_t start = clock_wall_ms();
  int rc = pool_call(h->pool, inst->worker, req, ms, &resp, err);
  const json_t *v = NULL;
  if (!rc) rc = host_call_result(h, inst, inst->id, "tool", start, resp, &v, err);
  if (rc == AL_ECRASHED || rc == AL_ETIMEOUT) host_hooks_note_workers(h);
  if (!rc && !json_is_object(v)) rc = pi_breach(h, inst, "a pi call answered without an object", err);
  if (!rc && !pi_update_registry(h, inst, json_object_get(v, "registry"), err)) rc = err->code;
  if (!rc && !(*value = json_deep_copy(v))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (rc) err_instance(err, inst->id);
  json_decref(resp);
  return rc;
}

int host_pi_tool(al_host *h, host_inst *inst, const char *name, json_t *params, char **result_json,
                 al_error *err) {
  static unsigned seq;
  char call_id[32];
  snprintf(call_id, sizeof call_id, "call-%u", ++seq);
  json_t *ctx = pi_ctx(h);
  json_t *args = json_pack("{s:s,s:s,s:O,s:o}", "kind", "tool", "toolCallId", call_id, "params", params,
                           "ctx", ctx ? ctx : json_object());
  if (!args) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  json_t *v = NULL;
  int rc = pi_call(h, inst, name, args, PI_CALL_MS, &v, err);
  json_t *intents = json_array(), *emits = json_array(), *errors = json_array();
  char why[200] = "a pi tool's answer needs content and updates arrays";
  if (!rc && (!intents || !emits || !errors)) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc && (!json_is_array(json_object_get(v, "content")) ||
              (json_object_get(v, "updates") && !json_is_array(json_object_get(v, "updates"))) ||
              !pv_intents(json_object_get(v, "intents"), intents, why, sizeof why) ||
              !pv_bus(json_object_get(v, "bus"), emits, why, sizeof why)))
    rc = pi_breach(h, inst, why, err);
  if (!rc) rc = pi_bus_run(h, inst->id, emits, intents, errors, PI_CALL_MS, err);
  json_t *out = NULL;
  if (!rc) {
    out = json_pack("{s:O,s:O,s:O,s:O}", "content", json_object_get(v, "content"), "details",
                    json_object_get(v, "details") ? json_object_get(v, "details") : json_null(), "updates",
                    json_object_get(v, "updates") ? json_object_get(v, "updates") : json_array(), "intents", intents);
    if (out && json_is_boolean(json_object_get(v, "isError")))
      json_object_set(out, "isError", json_object_get(v, "isError"));
    if (out && json_array_size(errors)) json_object_set(out, "errors", errors); /* listeners' */
    rc = out ? host_out_json(out, result_json, err) : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  json_decref(intents);
  json_decref(emits);
  json_decref(errors);
  json_decref(v);
  return rc;
}

int al_command_call(al_host *h, const char *name, const char *text, char **result_json, al_error *err) {
  if (result_json) *result_json = NULL;
  if (!h || !name) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_command_call needs a host and a command name");
  if (hc_disabled(h->hc) || hc_skip(h->hc))
    return err_set(err, AL_EPLUGINS_DISABLED, NULL, "plugins are disabled (%s)",
                   hc_disabled(h->hc) ? "AIRLOCK_DISABLE_PLUGINS" : "AIRLOCK_SKIP_PLUGINS");
  host_inst *inst = host_pi_owner(h, "commands", name);
  if (!inst) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "no command named '%.80s' is registered", name);
  json_t *ctx = pi_ctx(h);
  json_t *args = json_pack("{s:s,s:s,s:o}", "kind", "command", "args", text ? text : "", "ctx", ctx ? ctx : json_object());
  if (!args) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  json_t *v = NULL;
  int rc = pi_call(h, inst, name, args, PI_CALL_MS, &v, err);
  json_t *intents = json_array(), *errors = json_array(), *emits = json_array();
  char why[200];
  if (!rc && (!intents || !errors || !emits)) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc && (!pv_intents(json_object_get(v, "intents"), intents, why, sizeof why) ||
              !pv_errors(json_object_get(v, "errors"), errors, inst->plugin_id, why, sizeof why) ||
              !pv_bus(json_object_get(v, "bus"), emits, why, sizeof why)))
    rc = pi_breach(h, inst, why, err);
  if (!rc) rc = pi_bus_run(h, inst->id, emits, intents, errors, PI_CALL_MS, err);
  if (!rc) {
    json_t *out = json_pack("{s:s,s:O,s:O}", "command", name, "intents", intents, "errors", errors);
    rc = out ? host_out_json(out, result_json, err) : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  json_decref(intents);
  json_decref(errors);
  json_decref(emits);
  json_decref(v);
  return rc;
}

int al_pi_context(al_host *h, const char *ctx_json, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *c = NULL;
  int rc = ctx_json ? host_parse_arg(ctx_json, "ctx_json", &c, err) : 0;
  if (rc) return rc;
  if (c && !json_is_object(c)) {
    json_decref(c);
    return err_set(err, AL_EINVALID_ARGUMENT, "ctx_json", "the pi context must be a JSON object");
  }
  json_decref(h->pi_ctx);
  h->pi_ctx = c ? c : json_object();
  return 0;
}

int al_pi_extensions(al_host *h, char **json_out, al_error *err) {
  if (!h) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "host must not be NULL");
  json_t *a = json_array();
  for (host_inst *inst = h->first; a && inst; inst = inst->next) {
    if (!inst->pi) continue;
    json_t *e = json_pack("{s:s,s:s}", "instanceId", inst->id, "pluginId", inst->plugin_id);
    if (e) json_object_update(e, inst->pi);
    json_array_append_new(a, e);
  }
  return a ? host_out_json(a, json_out, err) : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
}

/*
 * pi_vet.c: the bounds a pi extension's answers are held to (pi_vet.h). Everything is
 * copied out of the worker's JSON field by field: an unknown field is dropped, a wrong
 * type or a size past a bound refuses the whole report, which the caller treats as a
 * breach.
 */
#include <stdio.h>
#include <string.h>

#include "hooks/pi_vet.h"

/* pi's events, as pi_ext.js knows them. */
const char *const pv_events[] = {
    "session_start", "session_before_switch", "session_before_fork", "session_before_compact",
    "session_compact", "session_before_tree", "session_tree", "session_shutdown",
    "resources_discover", "before_agent_start", "agent_start", "agent_end", "turn_start",
    "turn_end", "message_start", "message_update", "message_end", "tool_execution_start",
    "tool_execution_update", "tool_execution_end", "context", "before_provider_request",
    "after_provider_response", "model_select", "thinking_level_select", "tool_call",
    "tool_result", "user_bash", "input"};

static const char *const pv_intent_types[] = {
    "sendMessage", "sendUserMessage", "appendEntry", "setSessionName", "setLabel",
    "setActiveTools", "setModel", "setThinkingLevel", "notify", "setStatus", "abort",
    "shutdown", "compact", "newSession", "fork", "navigateTree", "switchSession", "reload"};

static bool in_list(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; s && i < n; i++)
    if (!strcmp(list[i], s)) return true;
  return false;
}
#define IN(s, list) in_list((s), (list), sizeof (list) / sizeof (list)[0])


const size_t pv_nevents = sizeof pv_events / sizeof pv_events[0];

static bool short_str(const json_t *v, size_t max) {
  return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= max;
}

static size_t json_size(const json_t *v) { return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY); }

/* A registrations report: a copy of what it may say, or NULL (with why) when it breaks a
 * bound. Unknown fields are dropped. */
json_t *pv_registry(const json_t *reg, char *why, size_t cap) {
  static const char *const kinds[] = {"tools", "commands", "flags", "shortcuts", "events", "messageRenderers",
                                      "channels"};
  if (!json_is_object(reg)) {
    snprintf(why, cap, "a pi registry must be an object");
    return NULL;
  }
  json_t *out = json_object();
  for (size_t k = 0; out && k < sizeof kinds / sizeof kinds[0]; k++) {
    const json_t *a = json_object_get(reg, kinds[k]);
    json_t *copy = json_array();
    if (a && (!json_is_array(a) || json_array_size(a) > PV_MAX_REG)) {
      snprintf(why, cap, "pi registry: %s must be an array of at most %d", kinds[k], PV_MAX_REG);
      goto bad;
    }
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) {
      bool named = k < 3; /* tools, commands, flags are objects with a name */
      const json_t *name = named ? json_object_get(e, "name") : e;
      if (!short_str(name, PV_MAX_NAME) || (k == 4 && !IN(json_string_value(name), pv_events))) {
        snprintf(why, cap, "pi registry: %s[%zu] has no valid name", kinds[k], i);
        goto bad;
      }
      json_t *item;
      if (!named) {
        item = json_incref((json_t *)name);
      } else {
        const json_t *desc = json_object_get(e, "description");
        if (desc && (!json_is_string(desc) || json_string_length(desc) > PV_MAX_TEXT)) {
          snprintf(why, cap, "pi registry: %s[%zu].description is too long", kinds[k], i);
          goto bad;
        }
        item = json_pack("{s:O,s:s}", "name", name, "description", desc ? json_string_value(desc) : "");
        const json_t *params = json_object_get(e, "parameters");
        if (k == 0 && item) {
          if (params && (!json_is_object(params) || json_size(params) > PV_MAX_PARAMS)) {
            json_decref(item);
            snprintf(why, cap, "pi registry: tools[%zu].parameters must be a JSON Schema object of at most %zu bytes",
                     i, PV_MAX_PARAMS);
            goto bad;
          }
          json_object_set_new(item, "parameters", params ? json_deep_copy(params) : json_pack("{s:s}", "type", "object"));
        }
        if (k == 2 && item) {
          const json_t *t = json_object_get(e, "type"), *d = json_object_get(e, "default");
          json_object_set_new(item, "type", json_string(short_str(t, 16) ? json_string_value(t) : "string"));
          json_object_set_new(item, "default", d && json_size(d) <= PV_MAX_TEXT ? json_deep_copy(d) : json_null());
        }
      }
      if (!item || json_array_append_new(copy, item)) goto oom;
    }
    if (json_object_set_new(out, kinds[k], copy)) goto oom_nocopy;
    continue;
  oom:
    snprintf(why, cap, "%s", PV_OOM);
  bad:
    json_decref(copy);
    goto bad_nocopy;
  oom_nocopy:
    snprintf(why, cap, "%s", PV_OOM);
  bad_nocopy:
    json_decref(out);
    return NULL;
  }
  if (!out) snprintf(why, cap, "%s", PV_OOM);
  return out;
}

/* Intents and errors from one answer, appended (checked) to the emit's lists. */
bool pv_intents(const json_t *a, json_t *into, char *why, size_t cap) {
  if (a && (!json_is_array(a) || json_array_size(a) + json_array_size(into) > PV_MAX_INTENTS)) {
    snprintf(why, cap, "pi intents must be an array of at most %d", PV_MAX_INTENTS);
    return false;
  }
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e) {
    if (!json_is_object(e) || !IN(json_string_value(json_object_get(e, "type")), pv_intent_types)) {
      snprintf(why, cap, "pi intent %zu is not one of pi's session calls", i);
      return false;
    }
    if (json_array_append_new(into, json_deep_copy(e))) {
      snprintf(why, cap, "%s", PV_OOM);
      return false;
    }
  }
  return true;
}

bool pv_bus(const json_t *a, json_t *into, char *why, size_t cap) {
  if (a && (!json_is_array(a) || json_array_size(a) + json_array_size(into) > PV_MAX_BUS)) {
    snprintf(why, cap, "pi.events: an answer may carry at most %d events", PV_MAX_BUS);
    return false;
  }
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e) {
    const json_t *c = json_object_get(e, "channel"), *d = json_object_get(e, "data");
    if (!json_is_object(e) || !short_str(c, PV_MAX_NAME) || (d && json_size(d) > PV_MAX_PARAMS)) {
      snprintf(why, cap, "pi.events: event %zu needs a channel of 1-%d bytes and data of at most %zu bytes", i,
               PV_MAX_NAME, PV_MAX_PARAMS);
      return false;
    }
    json_t *copy = json_pack("{s:O,s:O}", "channel", c, "data", d ? d : json_null());
    if (!copy || json_array_append_new(into, copy)) {
      snprintf(why, cap, "%s", PV_OOM);
      return false;
    }
  }
  return true;
}

bool pv_error(json_t *errors, const char *plugin_id, const char *msg) {
  if (json_array_size(errors) >= PV_MAX_ERRORS) return true;
  return !json_array_append_new(errors, json_pack("{s:s,s:s}", "extension", plugin_id, "message", msg ? msg : "error"));
}

bool pv_errors(const json_t *a, json_t *into, const char *plugin_id, char *why, size_t cap) {
  if (a && (!json_is_array(a) || json_array_size(a) > PV_MAX_ERRORS)) {
    snprintf(why, cap, "pi errors must be an array of at most %d", PV_MAX_ERRORS);
    return false;
  }
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e) {
    const json_t *m = json_object_get(e, "message");
    char msg[PV_MAX_TEXT + 1];
    snprintf(msg, sizeof msg, "%s", json_is_string(m) ? json_string_value(m) : "error");
    if (!pv_error(into, plugin_id, msg)) { /* the host's name for it, not the worker's */
      snprintf(why, cap, "%s", PV_OOM);
      return false;
    }
  }
  return true;
}

/* What the chain's result means for `event` (see the header comment). */
const char *pv_action(const char *event, const json_t *result, const char **reason) {
  *reason = NULL;
  if (!json_is_object(result)) return "continue";
  const json_t *blk = json_object_get(result, "block"), *cancel = json_object_get(result, "cancel");
  if (!strcmp(event, "tool_call") && blk && !json_is_false(blk) && !json_is_null(blk)) {
    *reason = json_string_value(json_object_get(result, "reason"));
    return "block";
  }
  if (!strncmp(event, "session_before_", 15) && cancel && !json_is_false(cancel) && !json_is_null(cancel))
    return "cancel";
  if (!strcmp(event, "input")) {
    const char *a = json_string_value(json_object_get(result, "action"));
    if (a && (!strcmp(a, "handled") || !strcmp(a, "transform"))) return a;
  }
  return "continue";
}

bool pv_stops(const char *event, const char *action, const json_t *result) {
  return strcmp(action, "continue") != 0 && strcmp(action, "transform") != 0
             ? true
             : !strcmp(event, "user_bash") && json_is_object(result);
}


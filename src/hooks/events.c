/*
 * events.c: the event registry and subscription snapshots (see events.h).
 *
 * Lookup is an open-addressing table of 2 * EV_MAX slots holding event indexes, probed
 * linearly from al_hash64 of the name: with at most EV_MAX events the table is at
 * most half full, so a miss ends at the first empty slot within a probe or two. That is
 * what keeps an emit with no subscribers in the tens of nanoseconds.
 *
 * A snapshot is one allocation per event with subscribers plus the bitmap; it is never
 * modified after ev_snapshot_build returns, so emit can hold a pointer to it for the
 * whole emit while the host thread is busy there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/events.h"

#define EV_SLOTS (2 * EV_MAX)

struct ev_registry {
  ev_def defs[EV_MAX];
  size_t n;
  int16_t slots[EV_SLOTS]; /* event index, -1 empty */
};

static uint32_t ev_hash(const char *s) {
  uint64_t h = al_hash64(s, strlen(s), AL_HASH64_SEED);
  return (uint32_t)(h ^ (h >> 32));
}

ev_registry *ev_registry_new(void) {
  ev_registry *r = calloc(1, sizeof *r);
  if (r) memset(r->slots, 0xff, sizeof r->slots);
  return r;
}

void ev_registry_free(ev_registry *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) {
    free(r->defs[i].name);
    json_decref(r->defs[i].modifies);
  }
  free(r);
}

int ev_lookup(const ev_registry *r, const char *name) {
  if (!r || !name) return -1;
  for (uint32_t i = ev_hash(name) % EV_SLOTS;; i = (i + 1) % EV_SLOTS) {
    int idx = r->slots[i];
    if (idx < 0) return -1;
    if (!strcmp(r->defs[idx].name, name)) return idx;
  }
}

size_t ev_count(const ev_registry *r) { return r ? r->n : 0; }

const ev_def *ev_at(const ev_registry *r, int index) {
  return r && index >= 0 && (size_t)index < r->n ? &r->defs[index] : NULL;
}

json_t *ev_names(const ev_registry *r) {
  json_t *a = json_array();
  for (size_t i = 0; a && r && i < r->n; i++)
    if (json_array_append_new(a, json_string(r->defs[i].name))) { /* the whole list or none */
      json_decref(a);
      a = NULL;
    }
  return a;
}

bool ev_name_valid(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > 64) return false;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '_' || *p == '.' || *p == ':' || *p == '-'))
      return false;
  return true;
}

int ev_register(ev_registry *r, const char *name, uint32_t timeout_ms, unsigned flags,
                const json_t *modifies, al_error *err) {
  if (!ev_name_valid(name))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "event name '%.80s' must be 1 to 64 characters of [A-Za-z0-9_.:-]",
                   name ? name : "(null)");
  if (!timeout_ms) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "event '%s' needs a timeout", name);
  if (modifies && !json_is_object(modifies))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "event '%s': modifies must be an object", name);
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)modifies, k, v)
    if (!json_is_string(v) || !json_string_length(v))
      return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                     "event '%s': modifies.%s must name a payload field", name, k);
  json_t *m = modifies ? json_deep_copy(modifies) : json_object();
  if (!m) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  int idx = ev_lookup(r, name);
  if (idx >= 0) {
    ev_def *d = &r->defs[idx];
    json_decref(d->modifies);
    d->modifies = m;
    d->timeout_ms = timeout_ms;
    d->flags = flags;
    return 0;
  }
  if (r->n >= EV_MAX) {
    json_decref(m);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "a host may declare at most %d events", EV_MAX);
  }
  char *nm = strdup(name);
  if (!nm) {
    json_decref(m);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  r->defs[r->n] = (ev_def){nm, timeout_ms, flags, m};
  uint32_t i = ev_hash(name) % EV_SLOTS;
  while (r->slots[i] >= 0) i = (i + 1) % EV_SLOTS;
  r->slots[i] = (int16_t)r->n++;
  return 0;
}

/* The agent profile (hooks-and-security.md sec. 3). */
int ev_agent_profile(ev_registry *r, al_error *err) {
  enum { B = AL_HOOK_MAY_BLOCK, M = AL_HOOK_MAY_MODIFY, P = AL_HOOK_PERMISSION };
  static const struct {
    const char *name;
    uint32_t ms;
    unsigned flags;
    const char *modifies;
  } prof[] = {
      {"PreToolUse", EV_ACTIONABLE_MS, B | M, "{\"modified_input\":\"tool_input\"}"},
      {"PostToolUse", EV_ACTIONABLE_MS, M, "{\"modified_output\":\"tool_output\"}"},
      {"PostToolUseFailure", EV_ACTIONABLE_MS, 0, NULL},
      {"ToolExecutionStart", EV_ACTIONABLE_MS, 0, NULL},
      {"ToolExecutionEnd", EV_ACTIONABLE_MS, 0, NULL},
      {"SessionStart", EV_ACTIONABLE_MS, 0, NULL},
      {"SessionEnd", EV_INFO_MS, 0, NULL},
      {"SessionSwitch", EV_ACTIONABLE_MS, 0, NULL},
      {"SessionCompact", EV_ACTIONABLE_MS, 0, NULL},
      {"SessionBeforeCompact", EV_ACTIONABLE_MS, 0, NULL},
      {"SessionShutdown", EV_ACTIONABLE_MS, 0, NULL},
      {"PermissionRequest", EV_PERMISSION_MS, P, "{\"message\":\"+messages\"}"},
      {"PermissionDenied", EV_PERMISSION_MS, 0, NULL},
      {"AgentStart", EV_ACTIONABLE_MS, M, "{\"additional_system_prompt\":\"+additional_system_prompt\"}"},
      {"AgentEnd", EV_ACTIONABLE_MS, 0, NULL},
      {"TurnStart", EV_ACTIONABLE_MS, 0, NULL},
      {"TurnEnd", EV_INFO_MS, 0, NULL},
      {"MessageStart", EV_ACTIONABLE_MS, 0, NULL},
      {"MessageEnd", EV_ACTIONABLE_MS, 0, NULL},
      {"PreCompact", EV_ACTIONABLE_MS, M,
       "{\"system_prompt\":\"system_prompt\",\"instructions\":\"instructions\",\"prevent\":\"prevent\"}"},
      {"AutoCompactionStart", EV_INFO_MS, M,
       "{\"system_prompt\":\"system_prompt\",\"instructions\":\"instructions\",\"prevent\":\"prevent\"}"},
      {"PostCompact", EV_INFO_MS, 0, NULL},
      {"TaskCreated", EV_ACTIONABLE_MS, 0, NULL},
      {"TaskCompleted", EV_ACTIONABLE_MS, 0, NULL},
      {"UserPromptSubmit", EV_ACTIONABLE_MS, M, "{\"modified_prompt\":\"content\"}"},
      {"Stop", EV_ACTIONABLE_MS, M, "{\"reason\":\"reason\"}"},
      {"Notification", EV_ACTIONABLE_MS, M,
       "{\"suppress\":\"suppress\",\"modified_message\":\"message\"}"},
  };
  for (size_t i = 0; i < sizeof prof / sizeof prof[0]; i++) {
    json_t *m = prof[i].modifies ? json_loads(prof[i].modifies, 0, NULL) : NULL;
    int rc = ev_register(r, prof[i].name, prof[i].ms, prof[i].flags, m, err);
    json_decref(m);
    if (rc) return rc;
  }
  return 0;
}

/* ---- snapshots ------------------------------------------------------------------------ */

void ev_snapshot_free(ev_snapshot *s) {
  if (!s) return;
  for (size_t i = 0; s->subs && i < s->nevents; i++) free(s->subs[i]);
  free(s->subs);
  free(s->nsubs);
  free(s);
}

ev_snapshot *ev_snapshot_build(const ev_registry *r, const ev_member *members, size_t n) {
  ev_snapshot *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->nevents = ev_count(r);
  s->subs = calloc(s->nevents ? s->nevents : 1, sizeof *s->subs);
  s->nsubs = calloc(s->nevents ? s->nevents : 1, sizeof *s->nsubs);
  if (!s->subs || !s->nsubs) goto fail;
  /* Two passes: count, then fill, so each event's list is one exact allocation. */
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      for (size_t e = 0; e < s->nevents; e++) {
        if (!s->nsubs[e]) continue;
        if (!(s->subs[e] = calloc(s->nsubs[e], sizeof **s->subs))) goto fail;
        s->nsubs[e] = 0;
      }
    }
    for (size_t i = 0; i < n; i++) {
      const ev_member *m = &members[i];
      const char *k;
      json_t *cnt;
      json_object_foreach((json_t *)m->hooks, k, cnt) { /* read only */
        int e = ev_lookup(r, k);
        json_int_t handlers = json_integer_value(cnt);
        if (e < 0 || handlers <= 0 || !m->instance_id) continue;
        if (pass == 1) {
          ev_sub *sb = &s->subs[e][s->nsubs[e]];
          snprintf(sb->instance_id, sizeof sb->instance_id, "%s", m->instance_id);
          snprintf(sb->plugin_id, sizeof sb->plugin_id, "%s", m->plugin_id ? m->plugin_id : "");
          sb->worker = m->worker;
          sb->handlers = (unsigned)handlers;
          s->bits[e / 64] |= (uint64_t)1 << (e % 64);
        }
        s->nsubs[e]++;
      }
    }
  }
  return s;
fail:
  ev_snapshot_free(s);
  return NULL;
}

/*
 * hc_ident.c: who is calling. The hostcall identity of every VM the host loaded (hc_impl.h
 * says what one holds), the table that finds it by the VM's instance id, the staging of a
 * hot reload's identity, and the subscriptions the host approved for each VM, which a
 * worker's report is held to (hc_hooks_check).
 *
 * A worker's frame names the instance a hostcall is for; that name is only a claim, which
 * the process pool has already matched against the instances the host placed in that
 * process. Here it only selects the identity; everything the call may do follows from the
 * identity, never from the frame.
 *
 * Lifetimes: the table holds one reference; each call in progress holds one more (taken
 * under the mutex, given back without it: the count is atomic). Removing an identity from
 * the table never waits for calls using it; the last reference frees it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/audit.h"
#include "hooks/events.h"
#include "hooks/hc_impl.h"
#include "pkg/db.h"

static void ident_unref(hc_ident *id) {
  if (!id || atomic_fetch_sub_explicit(&id->refs, 1, memory_order_acq_rel) != 1) return;
  json_decref(id->caps);
  json_decref(id->settings);
  json_decref(id->settings_env);
  json_decref(id->subs);
  free(id->data_dir);
  free(id);
}

/* A new identity with one reference, its JSON deep-copied (so no reader ever shares a
 * count with anyone else's); NULL when out of memory. */
static hc_ident *ident_new(hc_services *s, const char *vm_id, const char *owner,
                           const char *plugin_id, const json_t *caps, const json_t *settings,
                           const json_t *settings_env) {
  hc_ident *id = calloc(1, sizeof *id);
  if (!id) return NULL;
  atomic_init(&id->refs, 1);
  snprintf(id->vm_id, sizeof id->vm_id, "%s", vm_id);
  snprintf(id->owner, sizeof id->owner, "%s", owner);
  snprintf(id->plugin_id, sizeof id->plugin_id, "%s", plugin_id);
  /* NULL stays NULL: no manifest means "only the policy's entry" to hk_decide
   * (capability.h), which an empty object would turn into "a manifest granting nothing" */
  id->caps = caps ? json_deep_copy(caps) : NULL;
  id->settings = settings ? json_deep_copy(settings) : json_object();
  id->settings_env = settings_env ? json_deep_copy(settings_env) : json_object();
  id->subs = json_object();
  bool ok = (!caps || id->caps) && id->settings && id->settings_env && id->subs;
  /* $PLUGIN_DATA: <home>/data/<id>, a scoped id's '/' spelled '+' so it stays one level */
  if (ok && s->db) {
    const char *home = pkg_db_home(s->db);
    if (asprintf(&id->data_dir, "%s/data/%s", home, id->plugin_id) < 0) {
      id->data_dir = NULL;
      ok = false;
    }
    for (char *p = ok ? id->data_dir + strlen(home) + 6 : NULL; p && *p; p++)
      if (*p == '/') *p = '+';
  }
  if (!ok) {
    ident_unref(id);
    return NULL;
  }
  return id;
}

/* Puts `id` (its reference moves to the table) in place of any identity of the same VM id,
 * whose reference goes (under mu). Nonzero when out of memory: `id` is then still the
 * caller's. */
static int ids_put(idmap *t, hc_ident *id) {
  void *old = NULL;
  if (idmap_put(t, id->vm_id, id, &old)) return -1;
  ident_unref(old);
  return 0;
}

void hc_ids_clear(idmap *t) {
  size_t pos = 0;
  const char *k;
  void *v;
  while (idmap_next(t, &pos, &k, &v)) ident_unref(v);
  idmap_free(t);
}

/* ---- the host's side: add, remove, stage, commit -------------------------------------- */

int hc_plugin_add(hc_services *s, const char *instance_id, const char *plugin_id,
                  const json_t *caps, const json_t *settings, const json_t *settings_env,
                  al_error *err) {
  hc_ident *id = ident_new(s, instance_id, instance_id, plugin_id, caps, settings, settings_env);
  if (!id) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  pthread_mutex_lock(&s->mu);
  int r = ids_put(&s->ids, id);
  pthread_mutex_unlock(&s->mu);
  if (r) ident_unref(id);
  return r ? err_set(err, AL_ENO_MEMORY, NULL, "out of memory") : 0;
}

void hc_plugin_remove(hc_services *s, const char *instance_id) {
  pthread_mutex_lock(&s->mu);
  hc_ident *id = idmap_del(&s->ids, instance_id);
  json_object_del(s->staged, instance_id);
  const char *k;
  json_t *v, *tmp;
  json_object_foreach_safe(s->tools, tmp, k, v)
    if (!strcmp(json_string_value(json_object_get(v, "instanceId")), instance_id))
      json_object_del(s->tools, k);
  pthread_mutex_unlock(&s->mu);
  ident_unref(id);
}

int hc_plugin_stage(hc_services *s, const char *stage_id, const char *instance_id,
                    al_error *err) {
  /* The stage acts for the instance with the instance's grants; its subscriptions start
   * empty: they are the new code's own. Copied outside the lock, from a reference. */
  hc_rec r;
  int rc = hc_rec_get(s, instance_id, &r, NULL);
  if (rc) return err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "Instance not found: %s", instance_id);
  hc_ident *id = ident_new(s, stage_id, instance_id, r.plugin_id, r.caps, r.settings, r.settings_env);
  hc_rec_clear(&r);
  if (!id) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  pthread_mutex_lock(&s->mu);
  rc = ids_put(&s->ids, id);
  pthread_mutex_unlock(&s->mu);
  if (rc) ident_unref(id);
  return rc ? err_set(err, AL_ENO_MEMORY, NULL, "out of memory") : 0;
}

void hc_plugin_commit(hc_services *s, const char *stage_id) {
  pthread_mutex_lock(&s->mu);
  hc_ident *stage = idmap_del(&s->ids, stage_id);
  hc_ident *orec = stage ? idmap_get(&s->ids, stage->owner) : NULL;
  if (stage) {
    const char *k;
    json_t *v, *tmp;
    json_object_foreach_safe(s->tools, tmp, k, v)
      if (!strcmp(json_string_value(json_object_get(v, "instanceId")), stage->owner))
        json_object_del(s->tools, k);
    /* A name another plugin took while the reload ran stays theirs (first come). */
    json_object_foreach(json_object_get(s->staged, stage_id), k, v)
      if (!json_object_get(s->tools, k)) json_object_set(s->tools, k, v);
  }
  if (orec) { /* the subscriptions approved are now the new code's (hc_hooks_check) */
    json_t *subs = orec->subs;
    orec->subs = stage->subs;
    stage->subs = subs;
  }
  json_object_del(s->staged, stage_id);
  pthread_mutex_unlock(&s->mu);
  ident_unref(stage);
}

/* ---- a call's view --------------------------------------------------------------------- */

int hc_rec_get(hc_services *s, const char *instance_id, hc_rec *r, al_error *err) {
  memset(r, 0, sizeof *r);
  r->instance_id = instance_id;
  pthread_mutex_lock(&s->mu);
  hc_ident *id = idmap_get(&s->ids, instance_id);
  if (id) atomic_fetch_add_explicit(&id->refs, 1, memory_order_relaxed);
  pthread_mutex_unlock(&s->mu);
  if (!id) return err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "hostcall from an unknown instance");
  r->who = id;
  r->plugin_id = id->plugin_id;
  r->owner = id->owner;
  r->data_dir = id->data_dir;
  r->caps = id->caps;
  r->settings = id->settings;
  r->settings_env = id->settings_env;
  return 0;
}

void hc_rec_clear(hc_rec *r) {
  ident_unref(r->who);
  r->who = NULL;
}

/* ---- subscriptions ---------------------------------------------------------------------
 * What a worker says an instance subscribed to is only a claim: the host counts, per
 * event, the events.subscribe calls it approved for the instance's VM, and believes no
 * report of an event it never approved or of more handlers than it approved. The counts
 * only grow (pi.off and `once` are not reported to the host), so a report read at any
 * later moment is still covered: the check has no race with calls the instance makes
 * meanwhile. A report is also held to EV_MAX_HANDLERS per event, which pi.on enforces
 * inside the VM. Distinct events per record are bounded by EV_MAX, and names by
 * ev_name_valid, so a forged subscription flood costs the host a few kilobytes. */

int hc_subs_add(hc_services *s, const char *instance_id, const char *event, al_error *err) {
  int rc = 0;
  pthread_mutex_lock(&s->mu);
  hc_ident *id = idmap_get(&s->ids, instance_id);
  json_t *subs = id ? id->subs : NULL;
  json_t *n = json_object_get(subs, event);
  if (!subs) rc = err_set(err, AL_EINSTANCE_NOT_FOUND, NULL, "hostcall from an unknown instance");
  else if (!n && json_object_size(subs) >= EV_MAX)
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "events.subscribe: more than %d distinct events", EV_MAX);
  else if (n && json_integer_value(n) < INT32_MAX) json_integer_set(n, json_integer_value(n) + 1);
  else if (!n && json_object_set_new(subs, event, json_integer(1)))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  pthread_mutex_unlock(&s->mu);
  return rc;
}

int hc_hooks_check(hc_services *s, const char *instance_id, const json_t *hooks,
                   const char *event, size_t results, char *why, size_t cap) {
  int rc = 0;
  pthread_mutex_lock(&s->mu);
  hc_ident *id = idmap_get(&s->ids, instance_id);
  const json_t *subs = id ? id->subs : NULL;
  if (!subs) {
    snprintf(why, cap, "it answered for an instance the host does not know");
    rc = -1;
  } else if (hooks && !json_is_object(hooks)) {
    snprintf(why, cap, "its report of the plugin's subscriptions is not an object");
    rc = -1;
  }
  const char *k;
  json_t *v;
  if (!rc) json_object_foreach((json_t *)hooks, k, v) {
    json_int_t approved = json_integer_value(json_object_get(subs, k));
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    if (!json_is_integer(v)) {
      snprintf(why, cap, "its report of handlers for '%.64s' is not a number", k);
      rc = -1;
    } else if (n < 1 || n > EV_MAX_HANDLERS || n > approved) {
      snprintf(why, cap, "it reported %lld handler(s) for '%.64s' where the host approved %lld (at most %d)",
               (long long)n, k, (long long)approved, EV_MAX_HANDLERS);
      rc = -1;
    }
    if (rc) break;
  }
  if (!rc && event) {
    json_int_t approved = json_integer_value(json_object_get(subs, event));
    if (approved > EV_MAX_HANDLERS) approved = EV_MAX_HANDLERS;
    if ((json_int_t)results > approved) {
      snprintf(why, cap, "it returned %zu result(s) for '%.64s' where the host approved %lld handler(s)",
               results, event, (long long)approved);
      rc = -1;
    }
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

void hc_breach(void *user, const char *instance_id, const char *why) {
  hc_services *s = user;
  char plugin[AL_INSTANCE_ID_MAX] = "host";
  hc_rec r;
  if (instance_id && !hc_rec_get(s, instance_id, &r, NULL)) {
    snprintf(plugin, sizeof plugin, "%s", r.plugin_id);
    hc_rec_clear(&r);
  }
  char line[400];
  snprintf(line, sizeof line, "worker process killed: %s%s%s", why, instance_id ? "; set aside: " : "",
           instance_id ? instance_id : "");
  hc_log_line(s, "airlock", "error", line);
  hc_audit(s, plugin, "worker_breach", instance_id ? instance_id : "worker", "denied", why);
}

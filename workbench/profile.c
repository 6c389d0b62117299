/*
 * profile.c: registers the workbench profile through the public API (wb_profile.h).
 *
 * The public API speaks JSON text and the profile's logic speaks jansson (wb_impl.h), so
 * each callback here parses its inputs, calls the logic and prints its result. The text
 * is printed with jansson's 17 significant digits, which always read back as the same
 * double, so the round trip changes no number. One table names every reducer and domain,
 * so what the profile holds is visible in one place.
 */
#include <stdlib.h>
#include <string.h>

#include "wb_impl.h"
#include "wb_profile.h"

/* ---- text <-> jansson ----------------------------------------------------------------- */

static json_t *parse(const char *text) { return json_loads(text, JSON_DECODE_ANY, NULL); }

/* AL_REDUCE_APPLIED with *out printed from `next` (stolen), or the code the logic gave. */
static int finish(int rc, json_t *next, char **out) {
  if (rc != AL_REDUCE_APPLIED) {
    json_decref(next);
    return rc;
  }
  *out = next ? json_dumps(next, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  json_decref(next);
  return *out ? AL_REDUCE_APPLIED : AL_ENO_MEMORY;
}

typedef int (*wb_reducer)(void *, const char *, const json_t *, const json_t *, json_t **);

static int text_reduce(void *user, const char *action, const char *state_json,
                       const char *payload_json, char **next_json) {
  json_t *st = parse(state_json), *pl = parse(payload_json), *next = NULL;
  int rc = st && pl ? (*(wb_reducer *)user)(NULL, action, st, pl, &next) : AL_ENO_MEMORY;
  json_decref(st);
  json_decref(pl);
  return finish(rc, next, next_json);
}

/* A domain's jansson-level functions; `user` of the text callbacks points at one. */
typedef struct wb_domain {
  const char *name, *initial;
  int (*reduce)(void *, const char *, const char *, const json_t *, const json_t *, json_t **);
  json_t *(*project)(void *, const json_t *);
  int (*unload)(void *, const char *, const json_t *, json_t **);
  unsigned derive;
} wb_domain;

static int text_domain_reduce(void *user, const char *writer, const char *action,
                              const char *state_json, const char *payload_json,
                              char **next_json) {
  const wb_domain *d = user;
  json_t *st = parse(state_json), *pl = parse(payload_json), *next = NULL;
  int rc = st && pl ? d->reduce(NULL, writer, action, st, pl, &next) : AL_ENO_MEMORY;
  json_decref(st);
  json_decref(pl);
  return finish(rc, next, next_json);
}

static int text_domain_project(void *user, const char *state_json, char **projection_json) {
  const wb_domain *d = user;
  json_t *st = parse(state_json);
  json_t *p = st ? d->project(NULL, st) : NULL;
  json_decref(st);
  *projection_json = p ? json_dumps(p, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  json_decref(p);
  return *projection_json ? 0 : AL_ENO_MEMORY;
}

static int text_domain_unload(void *user, const char *instance_id, const char *state_json,
                              char **next_json) {
  const wb_domain *d = user;
  json_t *st = parse(state_json), *next = NULL;
  int rc = st ? d->unload(NULL, instance_id, st, &next) : AL_ENO_MEMORY;
  json_decref(st);
  return finish(rc, next, next_json);
}

/* ---- the profile ---------------------------------------------------------------------- */

static const struct {
  const char *package;
  wb_reducer fn;
} reducers[] = {
    {"counter", wb_counter_reduce},
    {"calculator", wb_calculator_reduce},
    {"greeter", wb_greeter_reduce},
};

static const wb_domain domains[] = {
    {"counter-summary", WB_SUMMARY_INITIAL, wb_summary_reduce, wb_summary_project,
     wb_summary_unload, 0},
    {"greeter-profile", WB_GREETER_INITIAL, wb_greeter_profile_reduce, NULL,
     wb_greeter_profile_unload, 0},
    {"runtime-registry", NULL, NULL, wb_registry_project, NULL, AL_DOMAIN_DERIVE_INSTANCES},
    /* pluginCount is the registry's size: it changes with the instances too */
    {"runtime-metrics", NULL, NULL, wb_metrics_project, NULL,
     AL_DOMAIN_DERIVE_INSTANCES | AL_DOMAIN_DERIVE_TRACE},
};

int wb_profile_register(al_host *h, al_error *err) {
  int rc;
  for (size_t i = 0; i < sizeof reducers / sizeof reducers[0]; i++)
    /* the host only passes `user` back: the table is never written through it */
    if ((rc = al_register_reducer(h, reducers[i].package, text_reduce, (void *)&reducers[i].fn,
                                  err)))
      return rc;
  for (size_t i = 0; i < sizeof domains / sizeof domains[0]; i++) {
    const wb_domain *d = &domains[i];
    al_domain_def def = {.name = d->name,
                         .initial_state_json = d->initial,
                         .reduce = d->reduce ? text_domain_reduce : NULL,
                         .project = d->project ? text_domain_project : NULL,
                         .on_unload = d->unload ? text_domain_unload : NULL,
                         .user = (void *)d,
                         .derive = d->derive};
    if ((rc = al_register_domain(h, &def, err))) return rc;
  }
  for (unsigned i = 0; i < wb_manifest_count; i++)
    if ((rc = al_package_register(h, wb_manifests[i], err))) return rc;
  return 0;
}

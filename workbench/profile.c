/*
 * profile.c: registers the workbench profile through the public API (wb_profile.h).
 *
 * The profile's logic works on jansson values (wb_impl.h), so it registers through
 * airlock_jansson.h: the host hands each reducer its state and payload as values, with no
 * JSON printed or parsed on a click (the text API, airlock.h, cost a counter event about
 * a third more instructions). One table names every reducer and domain, so what the
 * profile holds is visible in one place.
 */
#include <stdlib.h>
#include <string.h>

#include "airlock_jansson.h"
#include "wb_impl.h"
#include "wb_profile.h"

typedef int (*wb_reducer)(void *, const char *, const json_t *, const json_t *, json_t **);

/* A domain's functions and what it starts from. */
typedef struct wb_domain {
  const char *name, *initial;
  int (*reduce)(void *, const char *, const char *, const json_t *, const json_t *, json_t **);
  json_t *(*project)(void *, const json_t *);
  int (*unload)(void *, const char *, const json_t *, json_t **);
  unsigned derive;
} wb_domain;

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
    if ((rc = al_register_reducer_jansson(h, reducers[i].package, reducers[i].fn, NULL, err)))
      return rc;
  for (size_t i = 0; i < sizeof domains / sizeof domains[0]; i++) {
    const wb_domain *d = &domains[i];
    json_t *init = d->initial ? json_loads(d->initial, 0, NULL) : NULL;
    if (d->initial && !init) return AL_ENO_MEMORY; /* the texts are ours and valid */
    al_domain_jansson_def def = {.name = d->name, .initial_state = init, .reduce = d->reduce,
                                 .project = d->project, .on_unload = d->unload, .derive = d->derive};
    rc = al_register_domain_jansson(h, &def, err);
    json_decref(init);
    if (rc) return rc;
  }
  for (unsigned i = 0; i < wb_manifest_count; i++)
    if ((rc = al_package_register(h, wb_manifests[i], err))) return rc;
  return 0;
}

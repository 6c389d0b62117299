/*
 * plan.h: what loading a plugin with a manifest means, decided before any code runs.
 *
 * From the manifest text, the plugin's source and the limits the caller asked for,
 * pkg_plan_make works out everything the host needs to load it: the manifest's identity,
 * whether this Airlock satisfies its engine range, the preflight report over the source
 * (blocking findings stop the load), the limits (a manifest may only tighten the host's),
 * the shared grants its manifest declares, its capabilities, and its settings resolved
 * against what the user stored (pkg/db) and the environment. The host then records the
 * decisions (audit, hostcall identity); nothing here touches a VM or the host.
 *
 * Threading: none; pure apart from reading the database and the environment
 * (pkg_settings_resolve's contract).
 */
#ifndef AL_PKG_PLAN_H
#define AL_PKG_PLAN_H

#include "common.h"

struct pkg_db;

typedef struct pkg_plan {
  char *plugin_id, *version; /* the manifest's */
  json_t *warnings;          /* [text]: unknown manifest fields (they load, said out loud) */
  json_t *report;            /* the preflight report; NULL when it did not run */
  al_limits limits;          /* the caller's, with zeros filled by the manifest's tightening */
  json_t *grants;            /* the manifest's shared grants (NULL: the caller gave grants) */
  json_t *caps;              /* the manifest's capabilities; NULL: it declares none */
  json_t *settings, *settings_env; /* resolved (pkg_settings_resolve) */
} pkg_plan;

/* Fills *plan (cleared first; pkg_plan_clear frees it, also after a failure, when it may
 * hold the warnings and the report for the caller to show). `asked` are the caller's
 * limits (0: unset), `host` the host's; `caller_grants` says the caller brings its own
 * grants; `db` (may be NULL) holds stored settings. Errors: the manifest's
 * (AL_EMANIFEST_INVALID ...), the engine range's, AL_EPREFLIGHT_BLOCKED with the first
 * blocking finding, AL_ENO_MEMORY. */
int pkg_plan_make(const char *manifest_json, const char *code, size_t len, const al_limits *asked,
                  const al_limits *host, bool caller_grants, struct pkg_db *db, pkg_plan *plan,
                  al_error *err);
void pkg_plan_clear(pkg_plan *plan);

#endif

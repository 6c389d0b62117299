/*
 * plan.c: a manifest's load plan (see plan.h). The steps run in the order a user would
 * fix them: a manifest that does not parse says nothing about the engine, an engine
 * mismatch says nothing about the code, and preflight runs on the code only once both
 * hold.
 */
#include <stdlib.h>
#include <string.h>

#include "pkg/db.h"
#include "pkg/manifest.h"
#include "pkg/plan.h"
#include "pkg/preflight.h"

void pkg_plan_clear(pkg_plan *p) {
  if (!p) return;
  free(p->plugin_id);
  free(p->version);
  json_decref(p->warnings);
  json_decref(p->report);
  json_decref(p->grants);
  json_decref(p->caps);
  json_decref(p->settings);
  json_decref(p->settings_env);
  memset(p, 0, sizeof *p);
}

/* A limit the caller left at 0 takes the manifest's, but never more than the host's. */
static void tighten(size_t *out, size_t manifest, size_t host) {
  if (!*out && manifest) *out = manifest < host ? manifest : host;
}
static void tighten_ms(uint32_t *out, uint32_t manifest, uint32_t host) {
  if (!*out && manifest) *out = manifest < host ? manifest : host;
}

int pkg_plan_make(const char *manifest_json, const char *code, size_t len, const al_limits *asked,
                  const al_limits *host, bool caller_grants, pkg_db *db, pkg_plan *p,
                  al_error *err) {
  memset(p, 0, sizeof *p);
  p->limits = *asked;
  pkg_manifest *m = NULL;
  json_t *stored = NULL;
  int rc = pkg_manifest_parse(manifest_json, strlen(manifest_json), false, false, &m, &p->warnings, err);
  if (!rc && (!(p->plugin_id = strdup(m->id)) || !(p->version = strdup(m->version ? m->version : "0.0.0"))))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc) rc = pkg_manifest_check_engine(m, AL_VERSION, err);
  if (!rc) rc = pkg_preflight(code ? code : "", len, m, &p->report, err);
  if (!rc) rc = pkg_preflight_error(p->report, err);
  if (!rc) {
    const al_limits *ml = &m->limits;
    tighten(&p->limits.memory_bytes, ml->memory_bytes, host->memory_bytes);
    tighten(&p->limits.stack_bytes, ml->stack_bytes, host->stack_bytes);
    tighten_ms(&p->limits.load_ms, ml->load_ms, host->load_ms);
    tighten_ms(&p->limits.render_ms, ml->render_ms, host->render_ms);
    tighten_ms(&p->limits.event_ms, ml->event_ms, host->event_ms);
    if (!caller_grants &&
        !(p->grants = json_pack("{s:O,s:O,s:[]}", "readShared", json_object_get(m->shared, "read"),
                                "writeShared", json_object_get(m->shared, "write"), "systemCommands")))
      rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  if (!rc && db) rc = pkg_db_setting_get(db, m->id, &stored, err);
  if (!rc && !(p->settings = pkg_settings_resolve(m, stored, &p->settings_env)))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc && m->capabilities && !(p->caps = json_deep_copy(m->capabilities)))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  json_decref(stored);
  pkg_manifest_free(m);
  return rc;
}

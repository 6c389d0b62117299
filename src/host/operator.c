/*
 * operator.c: the operator's tools of airlock_pkg.h, each a thin public face over the
 * module that owns the answer: the kill switches as al_host_new() reads them
 * (hooks/killswitch.h), the sandbox layers a worker gets (worker/sandbox.h, probed in a
 * forked child), where the worker executable is looked for (worker/worker_process.h), and
 * terminal escaping (contract/term_text.h, which the default logger uses too, so a front
 * end and the library show a plugin's text the same way).
 *
 * Nothing here keeps state; the conversions are the whole job, and they are written so
 * the public structs need not change when an internal one grows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock_pkg.h"
#include "common.h"
#include "contract/term_text.h"
#include "hooks/killswitch.h"
#include "worker/sandbox.h"
#include "worker/worker_process.h"

int al_switches_env(char **json_out, al_error *err) {
  if (!json_out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_switches_env: json_out is NULL");
  hk_switches sw;
  int rc = hk_switches_from_env(&sw, err); /* *sw complete either way */
  json_t *o = hk_switches_json(&sw);
  *json_out = o ? json_text(o) : NULL;
  json_decref(o);
  if (!*json_out) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  return rc;
}

int al_sandbox_report(al_sandbox_layers *out, char **json_out, al_error *err) {
  if (json_out) *json_out = NULL;
  if (!out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "al_sandbox_report: out is NULL");
  sbx_report rep;
  memset(&rep, 0, sizeof rep);
  int rc = sbx_probe(&rep);
  *out = (al_sandbox_layers){.fds_closed = rep.fds_closed, .pdeathsig = rep.pdeathsig,
                             .no_new_privs = rep.no_new_privs, .rlimits = rep.rlimits,
                             .netns = rep.netns, .userns = rep.userns, .mountns = rep.mountns,
                             .landlock = rep.landlock, .seccomp = rep.seccomp};
  _Static_assert(sizeof out->detail == sizeof rep.detail, "the detail is copied whole");
  memcpy(out->detail, rep.detail, sizeof out->detail);
  out->detail[sizeof out->detail - 1] = '\0';
  if (json_out) {
    char *buf = malloc(SBX_JSON_MAX);
    if (!buf) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    sbx_report_json(&rep, buf, SBX_JSON_MAX);
    *json_out = buf;
  }
  if (rc) err_set(err, rc, NULL, "the sandbox probe failed: %s", rep.detail[0] ? rep.detail : al_strerror(rc));
  return rc;
}

const char *al_worker_default_path(char *buf, size_t cap) {
  if (!buf || !cap) return buf;
  return wp_default_path(NULL, buf, cap);
}

char *al_term_escape(const char *s, int keep_newlines) { return tt_escape(s, keep_newlines != 0); }

void al_term_fputs(const char *s, int keep_newlines, FILE *out) {
  if (out) tt_fputs(s, keep_newlines != 0, out);
}

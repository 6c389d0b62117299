/*
 * sandbox_none.c: sbx_enter() where Airlock has no sandbox (anything but Linux).
 *
 * Nothing is applied and every layer is reported false, which is the truth; the worker
 * main decides whether to run plugins in such a process at all. Not an error, by the rule
 * in sandbox.h: the process is exactly as contained as reported.
 */
#include <stdio.h>
#include <string.h>

#include "sandbox.h"

int sbx_enter(const sbx_config *cfg, sbx_report *rep, al_error *err) {
  if (!rep) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "sandbox: no report");
  memset(rep, 0, sizeof *rep);
  if (!cfg || (cfg->keep_fd != -1 && cfg->keep_fd < 3))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "sandbox: keep_fd must be -1 or >= 3");
  snprintf(rep->detail, sizeof rep->detail, "no sandbox on this platform");
  return 0;
}

void sbx_report_json(const sbx_report *r, char *buf, size_t cap) {
  if (!buf || cap == 0) return;
  if (!r) {
    snprintf(buf, cap, "{}");
    return;
  }
  /* the same shape as on Linux; the detail is made JSON-safe by blunting, not escaping */
  char detail[sizeof r->detail];
  size_t n = strnlen(r->detail, sizeof r->detail - 1);
  for (size_t i = 0; i < n; i++) {
    char c = r->detail[i];
    detail[i] = (c == '"' || c == '\\' || (unsigned char)c < 0x20) ? '?' : c;
  }
  detail[n] = '\0';
#define SBX_B(x) ((x) ? "true" : "false")
  int w = snprintf(buf, cap,
                   "{\"fdsClosed\":%s,\"pdeathsig\":%s,\"noNewPrivs\":%s,\"rlimits\":%s,"
                   "\"netns\":%s,\"userns\":%s,\"mountns\":%s,\"landlock\":%s,"
                   "\"seccomp\":%s,\"detail\":\"%s\"}",
                   SBX_B(r->fds_closed), SBX_B(r->pdeathsig), SBX_B(r->no_new_privs),
                   SBX_B(r->rlimits), SBX_B(r->netns), SBX_B(r->userns), SBX_B(r->mountns),
                   SBX_B(r->landlock), SBX_B(r->seccomp), detail);
#undef SBX_B
  if (w < 0 || (size_t)w >= cap) buf[0] = '\0';
}

int sbx_probe(sbx_report *rep) {
  if (!rep) return AL_EINVALID_ARGUMENT;
  memset(rep, 0, sizeof *rep);
  snprintf(rep->detail, sizeof rep->detail, "no sandbox on this platform");
  return 0;
}

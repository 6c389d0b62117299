/*
 * cmd_doctor.c: `airlock doctor`: what this machine gives plugins. Reports which sandbox
 * layers a worker process gets here (measured by sandboxing a probe child, never this
 * process), where the worker executable is, and whether a process-isolated host works.
 */
#include <stdio.h>
#include <string.h>

#include "airlock_pkg.h"
#include "commands.h"
#include "util.h"

int cmd_doctor(int argc, char **argv) {
  bool as_json = argc > 1 && !strcmp(argv[1], "--json");
  al_sandbox_layers rep;
  char *sbx = NULL;
  int prc = al_sandbox_report(&rep, &sbx, NULL);
  char path[4096];
  al_worker_default_path(path, sizeof path);

  /* A real process-isolated host: load and render a one-line plugin. */
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_PROCESS;
  cfg.workers = 1;
  al_host *h = NULL;
  al_error e = {0};
  const char *src = "definePlugin(({ ui }) => ({ widgets: { w: { render() { return ui.text('ok'); } } } }));";
  char id[AL_INSTANCE_ID_MAX], *tree = NULL;
  int rc = al_host_new(&cfg, &h, &e);
  if (!rc) rc = al_load(h, "doctor", src, strlen(src), NULL, id, sizeof id, &e);
  if (!rc) rc = al_render(h, id, "w", &tree, &e);
  al_free(tree);
  al_host_free(h);

  if (as_json) {
    printf("{\"sandbox\":%s,\"probe\":\"%s\",\"workerPath\":\"%s\",\"processIsolation\":%s}\n", sbx ? sbx : "{}",
           prc ? al_err_name(prc) : "OK", path, rc ? "false" : "true");
  } else {
    static const char *const names[] = {"fds closed", "parent-death signal", "no new privileges",
                                        "resource limits", "network namespace", "user namespace",
                                        "mount namespace", "Landlock (no filesystem)", "seccomp allowlist"};
    const int on[] = {rep.fds_closed, rep.pdeathsig, rep.no_new_privs, rep.rlimits, rep.netns,
                       rep.userns, rep.mountns, rep.landlock, rep.seccomp};
    printf("worker sandbox layers on this machine:\n");
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) printf("  %-26s %s\n", names[i], on[i] ? "active" : "missing");
    if (rep.detail[0]) printf("  (%s)\n", rep.detail);
    printf("worker executable: %s\n", path);
    if (rc) printf("process isolation: FAILED: %s: %s\n", al_err_name(rc), e.message);
    else printf("process isolation: working\n");
  }
  al_free(sbx);
  return (prc || rc || !rep.seccomp) ? 1 : 0;
}

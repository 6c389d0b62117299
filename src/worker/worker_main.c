/*
 * worker_main.c: airlock-worker, the sandboxed process that runs plugin VMs.
 *
 *   airlock-worker --fd N --parent PID [--address-space BYTES] [--no-sandbox]
 *
 * Started by the host (fork+exec) with one end of a socketpair on fd N. It sets up what
 * needs files or process-wide state, enters the sandbox (sandbox.h), announces itself with
 * one frame {ready, pid, sandbox}, then answers requests (exec.h) one at a time over the
 * socket until the host closes it. It never starts a thread. `--no-sandbox` exists for
 * debugging a worker under gdb and is refused unless AIRLOCK_WORKER_NO_SANDBOX=1.
 *
 * Besides the boundary ops, two host-only diagnostics exist here: "crash" (dies on
 * purpose with the named signal, to exercise crash recovery) and "stall" (in exec.c).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker/exec.h"
#include "worker/ipc.h"
#include "worker/sandbox.h"

/* Sanitizer builds: LeakSanitizer's exit-time scan needs ptrace and /proc, which the
 * sandbox forbids (the worker also leaves through _exit, in case the environment turns
 * leak detection back on); and a crash must reach the host as the signal it is, not as
 * ASan's report and exit status. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "detect_leaks=0"; }
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0:handle_sigbus=0:handle_abort=0"; }

/* Hostcalls go to the host over the same socket, in the middle of the request being
 * served: the host answers each with one hostreply frame before it sends anything else. */
typedef struct wm_link {
  int fd;
  ipc_reader *rd;
} wm_link;

static int wm_hostcall(void *user, const char *instance_id, const char *method, const json_t *args,
                       uint32_t timeout_ms, json_t **result, al_error *err) {
  (void)instance_id; /* the host knows which instance it asked; it does not take ours */
  wm_link *l = user;
  *result = NULL;
  json_t *msg = json_pack("{s:{s:s,s:O,s:I}}", "hostcall", "method", method, "args", args,
                          "timeoutMs", (json_int_t)timeout_ms);
  int rc = msg ? ipc_send(l->fd, msg, err) : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  json_decref(msg);
  if (rc) return rc;
  json_t *reply = NULL;
  if (ipc_recv(l->fd, l->rd, &reply, err) != 1) {
    json_decref(reply);
    return err_set(err, AL_EIO, NULL, "the host did not answer the hostcall");
  }
  const json_t *v = NULL;
  rc = wk_response_result(json_object_get(reply, "hostreply"), &v, err);
  if (!rc) *result = json_incref((json_t *)v);
  json_decref(reply);
  return rc;
}

static int die(const char *msg) {
  /* stderr is /dev/null once sandboxed; before that, it is the host's */
  fprintf(stderr, "airlock-worker: %s\n", msg);
  return 2;
}

int main(int argc, char **argv) {
  int fd = -1;
  long parent = -1;
  size_t as = 0;
  bool sandbox = true;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--fd") && i + 1 < argc) fd = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--parent") && i + 1 < argc) parent = atol(argv[++i]);
    else if (!strcmp(argv[i], "--address-space") && i + 1 < argc) as = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--no-sandbox")) sandbox = false;
    else return die("usage: airlock-worker --fd N --parent PID [--address-space BYTES]");
  }
  if (fd < 3) return die("--fd must name the host's socket (>= 3)");
  /* PDEATHSIG cannot catch a parent that died before we got here. */
  if (parent <= 0 || getppid() != (pid_t)parent) return die("the host is gone");
  if (!sandbox) {
    const char *ok = getenv("AIRLOCK_WORKER_NO_SANDBOX");
    if (!ok || strcmp(ok, "1")) return die("--no-sandbox needs AIRLOCK_WORKER_NO_SANDBOX=1");
  }

  /* Everything that needs a file or a process-wide setting happens before the sandbox. */
  signal(SIGPIPE, SIG_IGN);
  tzset();
  wk_global_init();
  wk_table *t = wk_table_new(NULL, NULL);
  if (!t) return die("out of memory");

  sbx_report rep = {0};
  al_error err = {0};
  if (sandbox) {
    sbx_config sc = {.keep_fd = fd, .address_space_bytes = as, .allow_landlock = true,
                     .allow_namespaces = true, .allow_seccomp = true};
    if (sbx_enter(&sc, &rep, &err)) _exit(3); /* partly sandboxed: leave at once */
  }
  char report[SBX_JSON_MAX];
  sbx_report_json(&rep, report, sizeof report);
  json_t *hello = json_pack("{s:b,s:I,s:o}", "ready", 1, "pid", (json_int_t)getpid(), "sandbox",
                            json_loads(report, 0, NULL));
  if (!hello || ipc_send(fd, hello, NULL)) _exit(4);
  json_decref(hello);

  ipc_reader rd;
  ipc_reader_init(&rd);
  wm_link link = {fd, &rd};
  wk_table_set_hostcall(t, wm_hostcall, &link);
  for (;;) {
    json_t *req = NULL;
    /* The host's next call usually follows within microseconds: look for it briefly
     * before sleeping in read() (a sleep and wake-up costs more than a small call). A
     * worker that finds itself idle makes a spare VM for the next load meanwhile. */
    if (!ipc_spin_readable(fd, &rd, 50000u)) wk_table_make_spare(t);
    int rc = ipc_recv(fd, &rd, &req, &err);
    if (rc <= 0) break; /* host closed the socket, or spoke nonsense: either way, leave */
    const char *op = json_string_value(json_object_get(req, "op"));
    if (op && !strcmp(op, "crash")) {
      const char *sig = json_string_value(json_object_get(req, "signal"));
      if (sig && !strcmp(sig, "SIGABRT")) abort();
      volatile int *p = NULL; /* a genuine SIGSEGV, as a memory-safety bug would cause */
      *p = 1;
    }
    json_t *resp = wk_exec(t, req);
    json_decref(req);
    if (!resp) _exit(5);
    rc = ipc_send(fd, resp, NULL);
    json_decref(resp);
    if (rc) break;
  }
  ipc_reader_free(&rd);
  wk_table_free(t);
  _exit(0);
}

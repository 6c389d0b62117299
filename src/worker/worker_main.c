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

/* The worker's side of the protocol (worker_process.h). Frames from the host are
 * requests (with a ticket), hostcall answers, holds and ticks; frames to the host are
 * responses, hostcalls, slice notices and wake-up requests. A hostcall answered at once
 * blocks this loop until its reply: frames that arrive before it are kept (`early`) and
 * handled after. */
typedef struct wm_link {
  int fd;
  ipc_reader *rd;
  wk_table *t;
  json_t *early;      /* frames read while waiting for a sync reply, in order */
  uint64_t fresh;     /* the request being started right now from a frame */
  uint64_t reported;  /* what the host was last told runs (0: nothing) */
  uint64_t running;   /* the request whose code runs now: a sync hostcall is its */
  int64_t wake_sent;  /* the last {wake} sent; -2: none */
  bool broken;
} wm_link;

static void wm_send(wm_link *l, json_t *msg) {
  if (!msg || ipc_send(l->fd, msg, NULL)) l->broken = true;
  json_decref(msg);
}

static void wm_done(void *user, uint64_t ticket, json_t *resp) {
  wm_link *l = user;
  if (resp) json_object_set_new(resp, "ticket", json_integer((json_int_t)ticket));
  wm_send(l, resp);
}

static int wm_send_hostcall(void *user, uint64_t id, uint64_t ticket, const char *instance_id,
                            const char *method, json_t *args, uint32_t timeout_ms, al_error *err) {
  (void)instance_id; /* the host knows which instance `ticket` is for; it does not take ours */
  wm_link *l = user;
  json_t *msg = json_pack("{s:{s:I,s:I,s:s,s:o,s:I}}", "hostcall", "id", (json_int_t)id, "ticket",
                          (json_int_t)ticket, "method", method, "args", args, "timeoutMs", (json_int_t)timeout_ms);
  if (!msg) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  wm_send(l, msg);
  return l->broken ? err_set(err, AL_EIO, NULL, "the host is gone") : 0;
}

static int wm_hostcall(void *user, const char *instance_id, const char *method, const json_t *args,
                       uint32_t timeout_ms, const hostcall_hold *hold, json_t **result, al_error *err) {
  (void)instance_id;
  (void)hold;
  wm_link *l = user;
  *result = NULL;
  json_t *msg = json_pack("{s:{s:b,s:I,s:s,s:O,s:I}}", "hostcall", "sync", 1, "ticket",
                          (json_int_t)l->running, "method", method, "args", args, "timeoutMs",
                          (json_int_t)timeout_ms);
  if (!msg) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  wm_send(l, msg);
  while (!l->broken) {
    json_t *f = NULL;
    if (ipc_recv(l->fd, l->rd, &f, err) != 1) {
      json_decref(f);
      l->broken = true;
      break;
    }
    const json_t *r = json_object_get(f, "hostreply");
    if (r && json_is_true(json_object_get(r, "sync"))) {
      const json_t *v = NULL;
      int rc = wk_response_result(r, &v, err);
      if (!rc) *result = json_incref((json_t *)v);
      json_decref(f);
      return rc;
    }
    json_array_append_new(l->early, f); /* for the main loop, in order */
  }
  return err_set(err, AL_EIO, NULL, "the host did not answer the hostcall");
}

static void wm_slice(void *user, uint64_t ticket, size_t busy) {
  wm_link *l = user;
  /* The host assumes a request it sent with nothing else in flight runs at once: only
   * say so when that is not the case. */
  if (!(busy == 1 && ticket == l->fresh) && ticket != l->reported)
    wm_send(l, json_pack("{s:I}", "slice", (json_int_t)ticket));
  l->reported = ticket;
  l->running = ticket;
}

/* Handles one frame from the host. */
static void wm_frame(wm_link *l, json_t *f) {
  const json_t *r;
  if ((r = json_object_get(f, "hostreply"))) {
    wk_deliver(l->t, (uint64_t)json_integer_value(json_object_get(r, "id")), json_incref((json_t *)r));
  } else if ((r = json_object_get(f, "hold"))) {
    wk_hold(l->t, (uint64_t)json_integer_value(json_object_get(r, "id")),
            (uint32_t)json_integer_value(json_object_get(r, "ms")));
  } else if (json_object_get(f, "op")) {
    const char *op = json_string_value(json_object_get(f, "op"));
    if (op && !strcmp(op, "crash")) {
      const char *sig = json_string_value(json_object_get(f, "signal"));
      if (sig && !strcmp(sig, "SIGABRT")) abort();
      volatile int *p = NULL; /* a genuine SIGSEGV, as a memory-safety bug would cause */
      *p = 1;
    }
    uint64_t ticket = (uint64_t)json_integer_value(json_object_get(f, "ticket"));
    json_object_del(f, "ticket");
    l->fresh = l->running = ticket;
    wk_submit(l->t, ticket, json_incref(f));
    l->fresh = 0;
  } /* tick, or anything else: the loop polls the table next */
  json_decref(f);
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
  wm_link link = {.fd = fd, .rd = &rd, .early = json_array(), .wake_sent = -2};
  wk_sink sink = {.done = wm_done, .send = wm_send_hostcall, .call = wm_hostcall, .slice = wm_slice,
                  .user = &link};
  wk_table *t = wk_table_new(NULL, NULL, &sink);
  if (!t || !link.early) _exit(5);
  link.t = t;
  while (!link.broken) {
    int64_t next = wk_poll(t);
    if (json_array_size(link.early)) { /* kept while a sync hostcall waited */
      json_t *f = json_incref(json_array_get(link.early, 0));
      json_array_remove(link.early, 0);
      wm_frame(&link, f);
      continue;
    }
    if (wk_busy(t) > 0 && link.reported) { /* what runs now is nothing: all parked */
      wm_send(&link, json_pack("{s:I}", "slice", (json_int_t)0));
      link.reported = 0;
    }
    if (next != link.wake_sent && (next >= 0 || link.wake_sent >= 0)) {
      wm_send(&link, json_pack("{s:I}", "wake", (json_int_t)next));
      link.wake_sent = next;
    }
    json_t *f = NULL;
    /* The host's next call usually follows within microseconds: look for it briefly
     * before sleeping in read() (a sleep and wake-up costs more than a small call). A
     * worker that finds itself idle makes a spare VM for the next load meanwhile. */
    if (!ipc_spin_readable(fd, &rd, 50000u) && !wk_busy(t)) wk_table_make_spare(t);
    int rc = ipc_recv(fd, &rd, &f, &err);
    if (rc <= 0) break; /* host closed the socket, or spoke nonsense: either way, leave */
    if (json_object_get(f, "tick")) link.wake_sent = -2; /* it forgot our wake-up */
    wm_frame(&link, f);
  }
  _exit(0);
}

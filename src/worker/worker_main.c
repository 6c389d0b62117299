/*
 * worker_main.c: airlock-worker, the sandboxed process that runs plugin VMs.
 *
 *   airlock-worker --fd N --parent PID [--lane M] [--address-space BYTES] [--no-sandbox]
 *
 * Started by the host (fork+exec) with one end of a socketpair on fd N and, normally, the
 * shared-memory lane's memfd on fd M (ring.h). It maps the lane, sets up what needs files
 * or process-wide state, enters the sandbox (sandbox.h), announces itself on the socket
 * with one frame {ready, pid, sandbox, lane}, then answers requests (exec.h) until the
 * host goes away. Once `lane` is true every frame in both directions travels the lane and
 * the socket carries only doorbells to the host (and its hang-up); without a lane (no
 * --lane, or mapping it failed) the frames stay on the socket. It never starts a thread.
 * `--no-sandbox` exists for debugging a worker under gdb and is refused unless
 * AIRLOCK_WORKER_NO_SANDBOX=1.
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
#include <sys/socket.h>
#include <unistd.h>

#include "worker/exec.h"
#include "worker/ipc.h"
#include "worker/proto.h"
#include "worker/ring.h"
#include "worker/sandbox.h"

/* Where tests/integration/hostile_worker.c, which compiles this file into a worker that
 * lies to the host on purpose (airlock-worker-hostile, a test build only), changes what
 * goes out. Here they do nothing. */
#ifndef WM_ON_REQUEST
#define WM_ON_REQUEST(l, ticket, f) ((void)0)
#define WM_ON_RESPONSE(l, ticket, resp) false /* true: it sent (or dropped) resp itself */
#define WM_HOSTCALL_AS(l, instance_id) (instance_id)
#endif

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
  ring_end ring;
  bool lane;          /* frames go over `ring`; the socket is for doorbells */
  ipc_reader *rd;
  wk_table *t;
  json_t *early;      /* frames read while waiting for a sync reply, in order */
  uint64_t fresh;     /* the request being started right now from a frame */
  uint64_t reported;  /* what the host was last told runs (0: nothing) */
  uint64_t running;   /* the request whose code runs now: a sync hostcall is its */
  int64_t wake_sent;  /* the last {wake} sent; -2: none */
  bool broken;
} wm_link;

/* Whether the host closed its end (looked at only after a futex wait timed out: a host
 * that died took us with it through PDEATHSIG, but one may simply have hung up). */
static bool host_gone(int fd) {
  char b;
  return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Sleeps until the host moves the bell or 1 s passes, unless `ready` already holds after
 * saying so (ring.h: announce, look again, sleep). False when the host is gone. */
static bool lane_wait(wm_link *l, bool (*ready)(const ring_end *)) {
  return ring_worker_nap(&l->ring, ready, 1000) || !host_gone(l->fd);
}

static bool has_room(const ring_end *e) { return ring_room(e) > 0; }

/* Writes `n` bytes of frames into the lane, waiting for room as the host takes them, and
 * rings the host's doorbell after each part. -1: the lane or the host is gone. */
static int lane_send(wm_link *l, const unsigned char *p, size_t n) {
  while (n) {
    ssize_t w = ring_write(&l->ring, p, n);
    if (w < 0) return -1;
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      if (ring_ring_host(&l->ring, l->fd)) return -1;
    } else if (!lane_wait(l, has_room)) {
      return -1;
    }
  }
  return 0;
}

static void wm_send(wm_link *l, json_t *msg) {
  if (!msg) {
    l->broken = true;
  } else if (l->lane) {
    unsigned char *frame = NULL;
    size_t len;
    if (ipc_encode(msg, &frame, &len, NULL) || lane_send(l, frame, len)) l->broken = true;
    free(frame);
  } else if (ipc_send(l->fd, msg, NULL)) {
    l->broken = true;
  }
  json_decref(msg);
}

/* The next frame from the host: 1 (*f set), 0 when the host is gone, < 0 on a protocol
 * error. Over the lane, everything the ring holds goes to the reader at once (the worker
 * has nothing to poll() that could miss buffered bytes). */
static int wm_recv(wm_link *l, json_t **f, al_error *err) {
  if (!l->lane) return ipc_recv(l->fd, l->rd, f, err);
  static unsigned char buf[65536]; /* the worker has one thread */
  for (;;) {
    int rc = ipc_reader_next(l->rd, f, err);
    if (rc) return rc;
    ssize_t n = ring_read(&l->ring, buf, sizeof buf);
    if (n < 0) return err_set(err, AL_EIO, NULL, "the host's lane counters are impossible");
    if (n > 0) {
      if ((rc = ipc_reader_feed(l->rd, buf, (size_t)n, err))) return rc;
      if (ring_ring_host(&l->ring, l->fd)) return 0; /* room for the host's next frames */
    } else if (!lane_wait(l, ring_readable)) {
      return 0;
    }
  }
}

/* Whether a frame is (probably) there to read, looking for up to `ns` without sleeping. */
static bool wm_spin(wm_link *l, uint64_t ns) {
  if (!l->lane) return ipc_spin_readable(l->fd, l->rd, ns);
  return ipc_reader_holds(l->rd) || ring_spin_readable(&l->ring, ns);
}

static void wm_done(void *user, uint64_t ticket, json_t *resp) {
  wm_link *l = user;
  if (resp) json_object_set_new(resp, "ticket", json_integer((json_int_t)ticket));
  if (resp && WM_ON_RESPONSE(l, ticket, resp)) return;
  wm_send(l, resp);
}

static int wm_send_hostcall(void *user, uint64_t id, uint64_t ticket, const char *instance_id,
                            const char *method, json_t *args, uint32_t timeout_ms, al_error *err) {
  /* The host checks the instance against its own record of `ticket` (worker_process.c) */
  wm_link *l = user;
  json_t *msg = json_pack("{s:{s:I,s:I,s:s,s:s,s:o,s:I}}", "hostcall", "id", (json_int_t)id, "ticket",
                          (json_int_t)ticket, "instanceId", WM_HOSTCALL_AS(l, instance_id), "method", method, "args", args,
                          "timeoutMs", (json_int_t)timeout_ms);
  if (!msg) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  wm_send(l, msg);
  return l->broken ? err_set(err, AL_EIO, NULL, "the host is gone") : 0;
}

static int wm_hostcall(void *user, const char *instance_id, const char *method, const json_t *args,
                       uint32_t timeout_ms, const hostcall_hold *hold, json_t **result, al_error *err) {
  (void)hold;
  wm_link *l = user;
  *result = NULL;
  json_t *msg = json_pack("{s:{s:b,s:I,s:s,s:s,s:O,s:I}}", "hostcall", "sync", 1, "ticket",
                          (json_int_t)l->running, "instanceId", WM_HOSTCALL_AS(l, instance_id), "method", method, "args",
                          args, "timeoutMs", (json_int_t)timeout_ms);
  if (!msg) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  wm_send(l, msg);
  while (!l->broken) {
    json_t *f = NULL;
    if (wm_recv(l, &f, err) != 1) {
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
    if (wk_op_parse(json_string_value(json_object_get(f, "op"))) == WK_OP_CRASH) {
      const char *sig = json_string_value(json_object_get(f, "signal"));
      if (sig && !strcmp(sig, "SIGABRT")) abort();
      volatile int *p = NULL; /* a genuine SIGSEGV, as a memory-safety bug would cause */
      *p = 1;
    }
    uint64_t ticket = (uint64_t)json_integer_value(json_object_get(f, "ticket"));
    json_object_del(f, "ticket");
    WM_ON_REQUEST(l, ticket, f);
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
  int fd = -1, lane_fd = -1;
  long parent = -1;
  size_t as = 0;
  bool sandbox = true;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--fd") && i + 1 < argc) fd = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--parent") && i + 1 < argc) parent = atol(argv[++i]);
    else if (!strcmp(argv[i], "--lane") && i + 1 < argc) lane_fd = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--address-space") && i + 1 < argc) as = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--no-sandbox")) sandbox = false;
    else return die("usage: airlock-worker --fd N --parent PID [--lane M] [--address-space BYTES]");
  }
  if (fd < 3) return die("--fd must name the host's socket (>= 3)");
  if (lane_fd >= 0 && (lane_fd < 3 || lane_fd == fd)) return die("--lane must name the lane's memfd (>= 3, not --fd)");
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

  ipc_reader rd;
  ipc_reader_init(&rd);
  wm_link link = {.fd = fd, .rd = &rd, .wake_sent = -2};
  al_error err = {0};
  /* Mapped before the sandbox, which keeps only the socket open; a lane that cannot be
   * mapped leaves the frames on the socket (the hello says which). */
  if (lane_fd >= 0) link.lane = ring_worker_attach(lane_fd, &link.ring, &err) == 0;

  sbx_report rep = {0};
  if (sandbox) {
    sbx_config sc = {.keep_fd = fd, .address_space_bytes = as, .allow_landlock = true,
                     .allow_namespaces = true, .allow_seccomp = true};
    if (sbx_enter(&sc, &rep, &err)) _exit(3); /* partly sandboxed: leave at once */
  }
  char report[SBX_JSON_MAX];
  sbx_report_json(&rep, report, sizeof report);
  json_t *hello = json_pack("{s:b,s:I,s:o,s:b}", "ready", 1, "pid", (json_int_t)getpid(), "sandbox",
                            json_loads(report, 0, NULL), "lane", link.lane);
  if (!hello || ipc_send(fd, hello, NULL)) _exit(4);
  json_decref(hello);

  link.early = json_array();
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
    if (!wm_spin(&link, 50000u) && !wk_busy(t)) wk_table_make_spare(t);
    int rc = wm_recv(&link, &f, &err);
    if (rc <= 0) break; /* host closed the socket, or spoke nonsense: either way, leave */
    if (json_object_get(f, "tick")) link.wake_sent = -2; /* it forgot our wake-up */
    wm_frame(&link, f);
  }
  _exit(0);
}

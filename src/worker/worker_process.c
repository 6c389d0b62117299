/*
 * worker_process.c: spawning, talking to, killing and restarting airlock-worker.
 * See worker_process.h for the guarantees; this file is how they are kept.
 *
 * The child end of the socketpair becomes fd 3 in the worker. Between fork and exec the
 * child only calls async-signal-safe functions (the host is multi-threaded): argv and
 * environment are prepared before fork.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "worker/exec.h"
#include "worker/ipc.h"
#include "worker/worker_process.h"

#ifndef AL_DEFAULT_WORKER_PATH
#define AL_DEFAULT_WORKER_PATH "airlock-worker"
#endif

#define WP_CRASH_WINDOW_MS 60000u
#define WP_CRASH_LIMIT 3

extern char **environ;

struct wp_child {
  wp_config cfg;
  char path[PATH_MAX];
  pid_t pid;
  int fd;
  ipc_reader rd;
  json_t *loads;    /* instanceId -> its load request, for reloads */
  json_t *crashes;  /* instanceId -> [timestamps ms] within the window */
  json_t *disabled; /* instanceId -> reason */
  unsigned recent_deaths; /* consecutive deaths, for backoff */
  wp_stats stats;
};

const char *wp_default_path(const char *configured, char *buf, size_t cap) {
  const char *env = getenv("AIRLOCK_WORKER");
  if (configured && *configured) snprintf(buf, cap, "%s", configured);
  else if (env && *env) snprintf(buf, cap, "%s", env);
  else {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    buf[0] = '\0';
    if (n > 0) {
      self[n] = '\0';
      char *slash = strrchr(self, '/');
      if (slash) {
        *slash = '\0';
        snprintf(buf, cap, "%s/airlock-worker", self);
        if (access(buf, X_OK) != 0) buf[0] = '\0';
      }
    }
    if (!buf[0]) snprintf(buf, cap, "%s", AL_DEFAULT_WORKER_PATH);
  }
  return buf;
}

wp_child *wp_new(const wp_config *cfg) {
  wp_child *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->cfg = *cfg;
  wp_default_path(cfg->worker_path, c->path, sizeof c->path);
  c->cfg.worker_path = c->path;
  c->fd = -1;
  ipc_reader_init(&c->rd);
  c->loads = json_object();
  c->crashes = json_object();
  c->disabled = json_object();
  if (!c->loads || !c->crashes || !c->disabled) {
    wp_free(c);
    return NULL;
  }
  return c;
}

/* Kills (if asked) and reaps the worker; returns its wait status, or -1. */
static int reap(wp_child *c, bool kill_it) {
  int status = -1;
  if (c->pid > 0) {
    if (kill_it) kill(c->pid, SIGKILL);
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {}
  }
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->pid = 0;
  c->stats.pid = 0;
  ipc_reader_free(&c->rd);
  ipc_reader_init(&c->rd);
  return status;
}

void wp_free(wp_child *c) {
  if (!c) return;
  if (c->pid > 0) {
    /* closing the socket lets a healthy worker leave on its own; no need to wait for it */
    reap(c, true);
  }
  ipc_reader_free(&c->rd);
  json_decref(c->loads);
  json_decref(c->crashes);
  json_decref(c->disabled);
  free(c);
}

void wp_get_stats(const wp_child *c, wp_stats *st) { *st = c->stats; }

static json_t *error_resp(int code, const char *msg) {
  al_error e;
  err_set(&e, code, NULL, "%s", msg);
  return wk_error_response(&e);
}

static void describe_death(int status, char *buf, size_t cap) {
  if (status < 0) snprintf(buf, cap, "the worker process is gone");
  else if (WIFSIGNALED(status))
    snprintf(buf, cap, "the worker process was killed by SIG%s (signal %d)%s",
             sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?",
             WTERMSIG(status), WTERMSIG(status) == SIGSYS ? ": a forbidden system call" : "");
  else snprintf(buf, cap, "the worker process exited with status %d", WEXITSTATUS(status));
}

/* Waits for one frame until deadline_ns. 1 = got it, 0 = deadline passed, <0 = peer gone. */
static int recv_until(wp_child *c, uint64_t deadline_ns, json_t **msg) {
  /* Most answers come within microseconds: look for one briefly before sleeping in poll()
   * (bounded well under any deadline; the watchdog's kill is unaffected). */
  if (ipc_spin_readable(c->fd, &c->rd, 50000u)) {
    int rc = ipc_recv(c->fd, &c->rd, msg, NULL);
    return rc == 1 ? 1 : AL_EIO;
  }
  for (;;) {
    uint64_t now = clock_mono_ns();
    if (now >= deadline_ns) return 0;
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int ms = (int)((deadline_ns - now + 999999u) / 1000000u);
    int r = poll(&pfd, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return AL_EIO;
    if (r == 0) continue; /* re-check the deadline */
    int rc = ipc_recv(c->fd, &c->rd, msg, NULL);
    return rc == 1 ? 1 : AL_EIO;
  }
}

static int spawn(wp_child *c, char *why, size_t cap) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    snprintf(why, cap, "socketpair: %s", strerror(errno));
    return AL_EIO;
  }
  char parent[24], as[32];
  snprintf(parent, sizeof parent, "%ld", (long)getpid());
  snprintf(as, sizeof as, "%zu", c->cfg.address_space_bytes);
  char *argv[] = {c->path, "--fd", "3", "--parent", parent, "--address-space", as, NULL};
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(why, cap, "fork: %s", strerror(errno));
    close(sv[0]);
    close(sv[1]);
    return AL_EIO;
  }
  if (pid == 0) {
    /* async-signal-safe only from here on */
    if (sv[1] == 3) fcntl(3, F_SETFD, 0);
    else if (dup2(sv[1], 3) < 0) _exit(126);
    execve(c->path, argv, environ);
    _exit(127);
  }
  close(sv[1]);
  c->pid = pid;
  c->fd = sv[0];
  c->stats.pid = (int)pid;
  c->stats.starts++;
  json_t *hello = NULL;
  int r = recv_until(c, clock_mono_ns() + 5000000000ull, &hello);
  bool ready = r == 1 && json_is_true(json_object_get(hello, "ready"));
  json_decref(hello);
  if (!ready) {
    int st = reap(c, true);
    char d[160];
    describe_death(st, d, sizeof d);
    snprintf(why, cap, "cannot start %.200s: %s", c->path, r == 0 ? "no answer within 5 s" : d);
    return AL_ECRASHED;
  }
  return 0;
}

/* Counts a crash against an instance; disables it at the limit. */
static void count_crash(wp_child *c, const char *id, const char *what) {
  if (!id) return;
  uint64_t now = clock_wall_ms();
  json_t *old = json_object_get(c->crashes, id), *recent = json_array();
  size_t i;
  json_t *t;
  json_array_foreach(old, i, t)
    if (now - (uint64_t)json_integer_value(t) < WP_CRASH_WINDOW_MS) json_array_append(recent, t);
  json_array_append_new(recent, json_integer((json_int_t)now));
  if (json_array_size(recent) >= WP_CRASH_LIMIT) {
    char reason[320];
    snprintf(reason, sizeof reason, "disabled after %d worker crashes in %u s (last: %s); load it again to retry",
             WP_CRASH_LIMIT, WP_CRASH_WINDOW_MS / 1000, what);
    json_object_set_new(c->disabled, id, json_string(reason));
    json_object_del(c->loads, id);
  }
  json_object_set_new(c->crashes, id, recent);
}

/* Answers one hostcall frame for the instance the in-flight request names. Returns 0, or
 * AL_EIO when the reply could not be sent. */
static int answer_hostcall(wp_child *c, const json_t *req, const json_t *call, uint64_t deadline) {
  const char *id = json_string_value(json_object_get(req, "instanceId"));
  const char *method = json_string_value(json_object_get(call, "method"));
  json_int_t want = json_integer_value(json_object_get(call, "timeoutMs"));
  uint64_t now = clock_mono_ns();
  uint64_t left = deadline > now ? (deadline - now) / 1000000u : 0;
  uint32_t ms = (uint32_t)(want > 0 && (uint64_t)want < left ? (uint64_t)want : left);
  json_t *res = NULL, *reply;
  al_error e = {0};
  int rc;
  if (!id || !method) rc = err_set(&e, AL_EINVALID_ARGUMENT, NULL, "malformed hostcall");
  else if (!c->cfg.hostcall) rc = err_set(&e, AL_ECAPABILITY_DENIED, NULL, "this host offers no services");
  else if (!ms) rc = err_set(&e, AL_ETIMEOUT, NULL, "the call's deadline passed before the hostcall");
  else rc = c->cfg.hostcall(c->cfg.hostcall_user, id, method, json_object_get(call, "args"), ms, &res, &e);
  if (rc) {
    json_decref(res);
    reply = json_pack("{s:o}", "hostreply", wk_error_response(&e));
  } else {
    reply = json_pack("{s:{s:o}}", "hostreply", "ok", res ? res : json_null());
  }
  int r = reply ? ipc_send(c->fd, reply, NULL) : AL_ENO_MEMORY;
  json_decref(reply);
  return r ? AL_EIO : 0;
}

/* Sends one request and waits for its answer, serving the hostcalls it makes meanwhile;
 * handles death and the watchdog. */
static json_t *roundtrip(wp_child *c, const json_t *req, uint32_t timeout_ms, bool *died) {
  *died = false;
  uint64_t deadline = clock_mono_ns() + (uint64_t)(timeout_ms + c->cfg.grace_ms) * 1000000u;
  json_t *resp = NULL;
  int r = ipc_send(c->fd, req, NULL);
  if (r == 0) r = recv_until(c, deadline, &resp);
  else r = AL_EIO;
  while (r == 1 && json_object_get(resp, "hostcall")) {
    r = answer_hostcall(c, req, json_object_get(resp, "hostcall"), deadline);
    json_decref(resp);
    resp = NULL;
    if (r == 0) r = recv_until(c, deadline, &resp);
  }
  if (r == 1) return resp;
  *died = true;
  if (r == 0) {
    reap(c, true);
    c->stats.watchdog_kills++;
    return error_resp(AL_ETIMEOUT, "the call passed its hard deadline: the watchdog killed the worker, "
                                   "which restarts with its other instances on the next call");
  }
  int st = reap(c, true);
  char d[200];
  describe_death(st, d, sizeof d);
  c->stats.crashes++;
  count_crash(c, json_string_value(json_object_get(req, "instanceId")), d);
  return error_resp(AL_ECRASHED, d);
}

/* Starts a worker (after a backoff if workers keep dying) and reloads every instance. */
static json_t *ensure_worker(wp_child *c) {
  if (c->pid > 0) return NULL;
  if (c->recent_deaths > 0) {
    unsigned shift = c->recent_deaths > 6 ? 6 : c->recent_deaths - 1;
    uint64_t ms = 25u << shift; /* 25 ms .. 1.6 s */
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
  }
  char why[400];
  if (spawn(c, why, sizeof why)) {
    c->recent_deaths++;
    return error_resp(AL_ECRASHED, why);
  }
  const char *id;
  json_t *load, *tmp;
  json_object_foreach_safe(c->loads, tmp, id, load) {
    uint32_t ms = (uint32_t)json_integer_value(json_object_get(json_object_get(load, "limits"), "loadMs"));
    bool died;
    json_t *resp = roundtrip(c, load, ms ? ms : 1000, &died);
    if (died) { /* the reload itself killed it: that instance sits out; others retry */
      json_object_set_new(c->disabled, id, json_string("its reload after a worker crash failed"));
      json_object_del(c->loads, id);
      json_decref(resp);
      c->recent_deaths++;
      return ensure_worker(c);
    }
    if (json_object_get(resp, "error")) {
      json_object_set_new(c->disabled, id, json_string("its reload after a worker crash failed"));
      json_object_del(c->loads, id);
    }
    json_decref(resp);
  }
  return NULL;
}

json_t *wp_exec(wp_child *c, const json_t *req, uint32_t timeout_ms) {
  const char *op = json_string_value(json_object_get(req, "op"));
  const char *id = json_string_value(json_object_get(req, "instanceId"));
  json_t *why = id ? json_object_get(c->disabled, id) : NULL;
  if (why && op && !strcmp(op, "dispose")) {
    json_object_del(c->disabled, id);
    json_object_del(c->crashes, id);
    return json_pack("{s:{s:b}}", "ok", "disposed", 1);
  }
  if (why && op && strcmp(op, "load")) return error_resp(AL_ECRASHED, json_string_value(why));
  if (why) { /* loading it again is the explicit retry */
    json_object_del(c->disabled, id);
    json_object_del(c->crashes, id);
  }
  json_t *fail = ensure_worker(c);
  if (fail) return fail;
  bool died;
  json_t *resp = roundtrip(c, req, timeout_ms, &died);
  if (died) {
    c->recent_deaths++;
    return resp;
  }
  c->recent_deaths = 0;
  if (op && id && !json_object_get(resp, "error")) {
    if (!strcmp(op, "load")) json_object_set(c->loads, id, (json_t *)req);
    else if (!strcmp(op, "swap")) { /* a crash now reloads the new code under the old id */
      const char *from = json_string_value(json_object_get(req, "from"));
      json_t *load = from ? json_copy(json_object_get(c->loads, from)) : NULL;
      if (load && !json_object_set_new(load, "instanceId", json_string(id)))
        json_object_set(c->loads, id, load);
      json_decref(load);
      if (from) json_object_del(c->loads, from);
    }
    else if (!strcmp(op, "dispose")) {
      json_object_del(c->loads, id);
      json_object_del(c->crashes, id);
    }
  }
  return resp;
}

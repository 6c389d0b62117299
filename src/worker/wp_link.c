/*
 * wp_link.c: the link to one worker process (wp_impl.h): where its binary is, starting it
 * with its socket as fd 3 and its lane as fd 4, the output queue that never blocks, the
 * shared-memory lane's pump and doorbells, waiting for the next frame with a deadline,
 * and reaping it. What the frames mean is worker_process.c's business.
 *
 * Between fork and exec the child only calls async-signal-safe functions (the host is
 * multi-threaded): argv and environment are prepared before fork.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker/wp_impl.h"

extern char **environ;

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

/* Kills (if asked) and reaps the worker; returns its wait status, or -1. */
int wp_reap(wp_child *c, bool kill_it) {
  int status = -1;
  if (c->pid > 0) {
    if (kill_it) kill(c->pid, SIGKILL);
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {}
  }
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->pid = 0;
  c->stats.pid = 0;
  c->nflight = 0;
  c->current = 0;
  c->wake_at = UINT64_MAX;
  c->gen++;
  json_object_clear(c->hc_ticket);
  c->out_off = c->out_len = 0;
  c->on_lane = c->stats.lane = false;
  ipc_reader_free(&c->rd);
  ipc_reader_init(&c->rd);
  pool_proc_stats(c->w, &c->stats);
  return status;
}

void wp_describe_death(int status, char *buf, size_t cap) {
  if (status < 0) snprintf(buf, cap, "the worker process is gone");
  else if (WIFSIGNALED(status))
    snprintf(buf, cap, "the worker process was killed by SIG%s (signal %d)%s",
             sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?",
             WTERMSIG(status), WTERMSIG(status) == SIGSYS ? ": a forbidden system call" : "");
  else snprintf(buf, cap, "the worker process exited with status %d", WEXITSTATUS(status));
}

/* Writes what the output queue holds, as far as the socket takes it now. Returns 0, or
 * AL_EIO when the worker is gone. */
int wp_out_flush(wp_child *c) {
  if (c->on_lane) {
    ssize_t n = c->out_off < c->out_len ? ring_write(&c->lane, c->out + c->out_off, c->out_len - c->out_off) : 0;
    if (n < 0) return AL_EIO; /* the worker's counter is impossible */
    if (n > 0) {
      c->out_off += (size_t)n;
      ring_wake_worker(&c->lane);
    }
  }
  while (!c->on_lane && c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) c->out_off += (size_t)n;
    else if (n < 0 && errno == EINTR) continue;
    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    else return AL_EIO;
  }
  if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
  return 0;
}

/* Sends one frame to the worker: queued and written as far as it goes without blocking,
 * or, during a restart's reloads (nothing else in flight), written whole. Returns 0, or
 * AL_EIO / AL_ENO_MEMORY (the caller treats the worker as gone). */
int wp_send(wp_child *c, const json_t *msg) {
  if (!msg) return AL_ENO_MEMORY;
  if (c->reloading && !c->on_lane) return ipc_send(c->fd, msg, NULL) ? AL_EIO : 0;
  unsigned char *frame;
  size_t len;
  if (ipc_encode(msg, &frame, &len, NULL)) return AL_ENO_MEMORY;
  if (c->out_len + len > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 65536;
    while (cap < c->out_len + len) cap *= 2;
    unsigned char *nb = realloc(c->out, cap);
    if (!nb) {
      free(frame);
      return AL_ENO_MEMORY;
    }
    c->out = nb;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, frame, len);
  c->out_len += len;
  free(frame);
  return wp_out_flush(c);
}

/* Reads the doorbells the socket holds: 0, or AL_EIO when the worker hung up, failed, or
 * wrote anything but a doorbell (on the lane the socket carries nothing else). */
int wp_lane_bells(wp_child *c) {
  unsigned char buf[256];
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : AL_EIO;
    if (n == 0) return AL_EIO;
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] != RING_DOORBELL) return AL_EIO;
  }
}

/* Moves what the lane holds into the reader, at most one ring's worth (a worker that
 * refills it as fast as it empties must not grow the reader without its frames being
 * popped, nor keep this thread here: the rest waits for the next turn), wakes a worker
 * waiting for room, then writes what the output queue holds as far as the lane takes it.
 * 0, or AL_EIO when the worker's counters are impossible or the reader refused the bytes. */
int wp_lane_pump(wp_child *c) {
  unsigned char buf[65536];
  size_t took = 0;
  while (took < c->lane.cap) {
    ssize_t n = ring_read(&c->lane, buf, sizeof buf < c->lane.cap - took ? sizeof buf : c->lane.cap - took);
    if (n < 0) return AL_EIO;
    if (n == 0) break;
    took += (size_t)n;
    int rc = ipc_reader_feed(&c->rd, buf, (size_t)n, NULL);
    if (rc) return rc;
  }
  if (took) ring_wake_worker(&c->lane);
  return wp_out_flush(c);
}

/* Whether the driver has something to do on the lane now: bytes up, or room down for
 * what its queue holds. */
bool wp_lane_ready(const wp_child *c) {
  return ring_readable(&c->lane) || (c->out_len > c->out_off && ring_room(&c->lane) > 0);
}

/* Announces the driver's sleep to the worker; false (and no sleep) when, looking once
 * more, there is something to do already. Pair with lane_awake(). */
bool wp_lane_may_sleep(wp_child *c) {
  ring_host_sleeping(&c->lane, true);
  if (!wp_lane_ready(c)) return true;
  ring_host_sleeping(&c->lane, false);
  return false;
}

/* wp_recv_until() over the lane. */
static int lane_recv_until(wp_child *c, uint64_t deadline_ns, json_t **msg) {
  bool spun = false;
  for (;;) {
    if (wp_lane_pump(c)) return AL_EIO;
    int got = ipc_reader_next(&c->rd, msg, NULL);
    if (got) return got == 1 ? 1 : AL_EIO;
    if (!spun) {
      spun = true;
      if (ring_spin_readable(&c->lane, 50000u)) continue;
    }
    uint64_t now = clock_mono_ns();
    if (now >= deadline_ns) return 0;
    if (!wp_lane_may_sleep(c)) continue;
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int r = poll(&pfd, 1, (int)((deadline_ns - now + 999999u) / 1000000u));
    ring_host_sleeping(&c->lane, false);
    if (r < 0 && errno != EINTR) return AL_EIO;
    if (r > 0 && wp_lane_bells(c)) return AL_EIO;
  }
}

/* Waits for one frame until deadline_ns. 1 = got it, 0 = deadline passed, <0 = peer gone. */
int wp_recv_until(wp_child *c, uint64_t deadline_ns, json_t **msg) {
  if (c->on_lane) return lane_recv_until(c, deadline_ns, msg);
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

int wp_spawn(wp_child *c, char *why, size_t cap) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    snprintf(why, cap, "socketpair: %s", strerror(errno));
    return AL_EIO;
  }
  char parent[24], as[32];
  snprintf(parent, sizeof parent, "%ld", (long)getpid());
  snprintf(as, sizeof as, "%zu", c->address_space_bytes);
  char *argv[] = {c->path, "--fd", "3", "--parent", parent, "--address-space", as,
                  c->lane_map ? "--lane" : NULL, "4", NULL};
  if (c->lane_map) {
    ring_reset(c->lane_map); /* the previous worker is reaped: nobody writes it now */
    ring_host_end(&c->lane, c->lane_map);
  }
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(why, cap, "fork: %s", strerror(errno));
    close(sv[0]);
    close(sv[1]);
    return AL_EIO;
  }
  if (pid == 0) {
    /* async-signal-safe only from here on. Both descriptors move above 4 first, so
     * placing one cannot overwrite the other; dup2() clears close-on-exec. */
    int s = fcntl(sv[1], F_DUPFD_CLOEXEC, 5), m = c->lane_map ? fcntl(c->lane_fd, F_DUPFD_CLOEXEC, 5) : -1;
    if (s < 0 || dup2(s, 3) < 0) _exit(126);
    if (c->lane_map && (m < 0 || dup2(m, 4) < 0)) _exit(126);
    execve(c->path, argv, environ);
    _exit(127);
  }
  close(sv[1]);
  c->pid = pid;
  c->fd = sv[0];
  c->stats.pid = (int)pid;
  c->stats.starts++;
  json_t *hello = NULL;
  int r = wp_recv_until(c, clock_mono_ns() + 5000000000ull, &hello);
  bool ready = r == 1 && json_is_true(json_object_get(hello, "ready"));
  /* a worker that could not map the lane says so and keeps to the socket */
  c->on_lane = ready && c->lane_map && json_is_true(json_object_get(hello, "lane"));
  c->stats.lane = c->on_lane;
  json_decref(hello);
  if (!ready) {
    int st = wp_reap(c, true);
    char d[160];
    wp_describe_death(st, d, sizeof d);
    snprintf(why, cap, "cannot start %.200s: %s", c->path, r == 0 ? "no answer within 5 s" : d);
    return AL_ECRASHED;
  }
  pool_proc_stats(c->w, &c->stats);
  return 0;
}

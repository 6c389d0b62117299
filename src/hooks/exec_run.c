/*
 * exec_run.c: one command run for a plugin (exec_run.h).
 *
 * fork() then, in the child, only chdir/dup2/setpgid/execvp before it becomes the
 * command: the host is multithreaded, so the child must not touch locks another thread
 * may have held at the fork. The parent polls both output pipes (and feeds stdin) until
 * both close and the child is reaped, or the deadline passes: then the whole process
 * group is SIGKILLed (a shell's children too) and the result says killed. Output beyond
 * HK_EXEC_MAX_OUTPUT per stream is read and dropped; stdin is an empty pipe, so a chatty command cannot block on
 * a full pipe nor grow the host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks/exec_run.h"

typedef struct ex_buf {
  char *p;
  size_t n, cap;
} ex_buf;

static void buf_add(ex_buf *b, const char *s, size_t n) {
  if (b->n >= HK_EXEC_MAX_OUTPUT) return;
  if (n > HK_EXEC_MAX_OUTPUT - b->n) n = HK_EXEC_MAX_OUTPUT - b->n;
  if (b->n + n + 1 > b->cap) {
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->n + n + 1) nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) return; /* out of memory: the output is shorter */
    b->p = np;
    b->cap = nc;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

/* The bytes as a JSON string, invalid UTF-8 replaced by U+FFFD. */
static json_t *utf8_string(const ex_buf *b) {
  const unsigned char *s = (const unsigned char *)(b->p ? b->p : "");
  size_t n = b->n;
  json_t *j = json_stringn((const char *)s, n);
  if (j) return j;
  char *o = malloc(n * 3 + 1);
  if (!o) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= n;
    for (size_t q = 1; ok && q < len; q++) ok = (s[i + q] & 0xC0) == 0x80;
    if (ok && len > 1) {
      json_t *t = json_stringn((const char *)s + i, len); /* overlong / surrogate check */
      ok = t != NULL;
      json_decref(t);
    }
    if (ok) {
      memcpy(o + k, s + i, len);
      k += len;
      i += len;
    } else {
      memcpy(o + k, "\xEF\xBF\xBD", 3);
      k += 3;
      i++;
    }
  }
  j = json_stringn(o, k);
  free(o);
  return j;
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int hk_exec_run(char *const *argv, const char *cwd, uint32_t timeout_ms,
                json_t **result, al_error *err) {
  *result = NULL;
  if (!argv || !argv[0] || !*argv[0]) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "exec needs a command");
  struct stat st;
  if (cwd && (stat(cwd, &st) != 0 || !S_ISDIR(st.st_mode)))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "exec: the working directory %.200s is not a directory", cwd);
  int out[2] = {-1, -1}, errp[2] = {-1, -1}, in[2] = {-1, -1}, report[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(in, O_CLOEXEC) || pipe2(report, O_CLOEXEC)) {
    int e = errno;
    for (int i = 0; i < 2; i++) {
      if (out[i] >= 0) close(out[i]);
      if (errp[i] >= 0) close(errp[i]);
      if (in[i] >= 0) close(in[i]);
      if (report[i] >= 0) close(report[i]);
    }
    return err_set(err, AL_EIO, NULL, "exec: no pipe: %s", strerror(e));
  }
  pid_t pid = fork();
  if (pid == 0) {
    /* the child: async-signal-safe calls only */
    setpgid(0, 0);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(errp[1], 2);
    if (cwd && chdir(cwd) != 0) {
      int e = errno;
      if (write(report[1], &e, sizeof e) < 0) _exit(127);
      _exit(127);
    }
    execvp(argv[0], argv);
    int e = errno;
    if (write(report[1], &e, sizeof e) < 0) _exit(127);
    _exit(127);
  }
  int fork_errno = errno;
  close(in[0]);
  close(out[1]);
  close(errp[1]);
  close(report[1]);
  if (pid < 0) {
    close(in[1]);
    close(out[0]);
    close(errp[0]);
    close(report[0]);
    return err_set(err, AL_EIO, NULL, "exec: cannot start %.200s: %s", argv[0], strerror(fork_errno));
  }
  /* exec failed? the report pipe closes at execvp (CLOEXEC) or carries the errno */
  int child_errno = 0;
  ssize_t got;
  do got = read(report[0], &child_errno, sizeof child_errno);
  while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == (ssize_t)sizeof child_errno) {
    close(in[1]);
    close(out[0]);
    close(errp[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return err_set(err, AL_EIO, NULL, "exec: cannot run %.200s: %s", argv[0], strerror(child_errno));
  }
  ex_buf ob = {0}, eb = {0};
  /* stdin is an empty pipe: a command that reads it sees the end at once */
  close(in[1]);
  in[1] = -1;
  uint64_t end = mono_ms() + (timeout_ms ? timeout_ms : HK_EXEC_DEFAULT_MS);
  bool killed = false;
  int fds_open = 2;
  char chunk[16384];
  while (fds_open > 0) {
    uint64_t t = mono_ms();
    if (t >= end) {
      kill(-pid, SIGKILL);
      killed = true;
      break;
    }
    struct pollfd p[2] = {{out[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
    int pr = poll(p, 2, (int)(end - t));
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) break;
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = read(p[i].fd, chunk, sizeof chunk);
      if (r > 0) buf_add(i ? &eb : &ob, chunk, (size_t)r);
      else if (r == 0 || errno != EINTR) {
        close(p[i].fd);
        if (i) errp[0] = -1;
        else out[0] = -1;
        fds_open--;
      }
    }
  }
  if (out[0] >= 0) close(out[0]);
  if (errp[0] >= 0) close(errp[0]);
  /* Both pipes closed, but the command may live on (it closed them, or passed them to a
   * child that outlived it): the deadline still applies. */
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, killed ? 0 : WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) break;
    if (w == 0 && mono_ms() >= end) {
      kill(-pid, SIGKILL);
      killed = true;
    } else if (w == 0) {
      struct timespec ts = {0, 2000000};
      nanosleep(&ts, NULL);
    }
  }
  if (killed) kill(-pid, SIGKILL); /* what the group left behind */
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
  json_t *so = utf8_string(&ob), *se = utf8_string(&eb);
  free(ob.p);
  free(eb.p);
  if (so && se) *result = json_pack("{s:o,s:o,s:i,s:b}", "stdout", so, "stderr", se, "code", code, "killed", killed);
  else {
    json_decref(so);
    json_decref(se);
  }
  return *result ? 0 : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
}

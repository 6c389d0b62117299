/*
 * run.c: running a helper program (npm, ssh-keygen) for the package layer: a fixed
 * argument vector, never a shell, a working directory, stdout captured (16 MiB kept at
 * most), stderr into a file whose last line explains a failure. See install.h (pkg_run).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pkg/install_impl.h"

int pkg_run(char *const argv[], const char *dir, const char *stdin_path, char **out, int *status,
            char *last_err, size_t last_cap, al_error *err) {
  *out = NULL;
  *status = -1;
  if (last_err && last_cap) last_err[0] = 0;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC)) return err_set(err, AL_EIO, NULL, "pipe: %s", strerror(errno));
  char errpath[PATH_MAX];
  if (!pkg_fmt_path(errpath, sizeof errpath, "%s/run.err", dir)) {
    close(pfd[0]);
    close(pfd[1]);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "path too long: %.100s", dir);
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    return err_set(err, AL_EIO, NULL, "fork: %s", strerror(errno));
  }
  if (pid == 0) {
    /* stdin first: a relative stdin_path means the caller's directory, not `dir` */
    int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
    if (in < 0 && stdin_path) _exit(126);
    int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (chdir(dir) || dup2(pfd[1], 1) < 0 || (efd >= 0 && dup2(efd, 2) < 0)) _exit(126);
    if (in >= 0) dup2(in, 0);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(pfd[1]);
  size_t n = 0, cap = 4096;
  char *buf = malloc(cap);
  for (;;) {
    if (buf && n + 1 == cap) {
      char *nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
      if (!nb) {
        free(buf);
        buf = NULL;
      } else {
        buf = nb;
        cap *= 2;
      }
    }
    char sink[4096];
    ssize_t r = buf ? read(pfd[0], buf + n, cap - n - 1) : read(pfd[0], sink, sizeof sink);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (buf) n += (size_t)r;
  }
  close(pfd[0]);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
  if (last_err && last_cap) {
    FILE *f = fopen(errpath, "r");
    if (f) { /* the last non-empty line says what went wrong */
      char line[300];
      while (fgets(line, sizeof line, f))
        if (line[0] != '\n') snprintf(last_err, last_cap, "%s", line);
      fclose(f);
      last_err[strcspn(last_err, "\n")] = 0;
    }
  }
  unlink(errpath);
  if (!buf) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory reading the output of %s", argv[0]);
  buf[n] = 0;
  *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  *out = buf;
  return 0;
}

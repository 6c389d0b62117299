/*
 * serve_exec.c: `airlock serve` in the lean `airlock` binary: hands the command to
 * `airlock-serve`, the same CLI built with the workbench server, installed beside it.
 *
 * Why two binaries: the server needs libwebsockets, whose TLS libraries cost about 3 ms
 * to load and initialise at every process start. `airlock` is started once per tool call
 * when it serves as a coding agent's hook (`airlock emit --protocol ...`), so it carries
 * no server; `airlock serve` pays for the server only when the server is wanted.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

int cmd_serve(int argc, char **argv) {
  char self[PATH_MAX], path[PATH_MAX + 16];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    fprintf(stderr, "error: IO_ERROR: cannot tell where this airlock binary is: %s\n", strerror(errno));
    return 1;
  }
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (slash) *slash = '\0';
  snprintf(path, sizeof path, "%s/airlock-serve", slash ? self : ".");
  /* argv is {"serve", options...}: airlock-serve gets {path, "serve", options...}. */
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (!args) {
    fprintf(stderr, "error: NO_MEMORY: out of memory\n");
    return 1;
  }
  args[0] = path;
  for (int i = 0; i < argc; i++) args[i + 1] = argv[i];
  execv(path, args);
  fprintf(stderr, "error: IO_ERROR: airlock serve runs %s, which cannot be started: %s\n", path, strerror(errno));
  free(args);
  return 1;
}

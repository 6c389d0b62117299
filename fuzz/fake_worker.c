/*
 * fake_worker.c: stands in for airlock-worker under fuzz_worker. It greets the host like
 * the real worker ({"ready":true}), then writes the bytes of the file $AIRLOCK_FUZZ_FRAMES
 * to the host as if they were its frames (a compromised worker can send anything), and
 * keeps reading until the host hangs up, so the host's own writes never block.
 *
 * Not a worker: it runs no plugin and has no sandbox; it exists only in the fuzz build.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int fd = -1;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--fd")) fd = atoi(argv[i + 1]);
  if (fd < 0) return 2;
  static const char hello[] = "\0\0\0\016{\"ready\":true}";
  if (write(fd, hello, sizeof hello - 1) != (ssize_t)(sizeof hello - 1)) return 3;
  const char *path = getenv("AIRLOCK_FUZZ_FRAMES");
  int in = path ? open(path, O_RDONLY) : -1;
  char buf[4096];
  ssize_t n;
  while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(fd, buf, (size_t)n) != n) return 0; /* the host hung up: done */
  while (read(fd, buf, sizeof buf) > 0) {}
  return 0;
}

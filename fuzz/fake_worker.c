/*
 * fake_worker.c: stands in for airlock-worker under fuzz_worker and fuzz_lane. It greets
 * the host like the real worker, then sends the bytes of the file $AIRLOCK_FUZZ_FRAMES to
 * the host as if they were its frames (a compromised worker can send anything), and keeps
 * taking what the host sends until the host hangs up, so the host's own writes never
 * block.
 *
 * With AIRLOCK_FUZZ_LANE=1 and a lane (--lane N) it says it mapped the lane and sends the
 * bytes through it instead (ring.h), ringing the host's doorbell as the real worker does.
 * The file's first byte then picks a forgery: bit 0 stores the next 8 bytes as the
 * worker's two counters (the up ring's head, the down ring's tail) once the bytes are
 * sent, bit 1 writes one stray byte that is not a doorbell to the socket; the rest is the
 * stream.
 *
 * Not a worker: it runs no plugin and has no sandbox; it exists only in the fuzz build.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "worker/ring.h"

/* Reads and drops what the host sent over the lane; false once the host hung up. */
static int drain(ring_end *e, int fd) {
  unsigned char buf[4096];
  while (ring_read(e, buf, sizeof buf) > 0) ring_ring_host(e, fd);
  char b;
  return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) != 0;
}

static bool has_room(const ring_end *e) { return ring_room(e) > 0; }

static int lane_main(int fd, int lane_fd, const unsigned char *in, size_t n) {
  ring_end e;
  if (ring_worker_attach(lane_fd, &e, NULL)) return 4;
  static const char hello[] = "\0\0\0\032{\"ready\":true,\"lane\":true}";
  if (write(fd, hello, sizeof hello - 1) != (ssize_t)(sizeof hello - 1)) return 3;
  unsigned flags = n ? in[0] : 0;
  const unsigned char *forged = n > 9 ? in + 1 : NULL;
  size_t off = n > 9 ? 9 : n;
  while (off < n) {
    ssize_t w = ring_write(&e, in + off, n - off);
    if (w < 0) return 0;
    off += (size_t)w;
    ring_ring_host(&e, fd);
    if (!drain(&e, fd)) return 0;
    if (!w) ring_worker_nap(&e, has_room, 10); /* full: let the host take some */
  }
  if ((flags & 1) && forged) {
    uint32_t head, tail;
    memcpy(&head, forged, 4);
    memcpy(&tail, forged + 4, 4);
    atomic_store(&e.sh->up.head, head);
    atomic_store(&e.sh->down.tail, tail);
    atomic_store(&e.sh->host_sleeping, 1u);
    ring_ring_host(&e, fd);
  }
  if (flags & 2) {
    char stray = 'x';
    if (send(fd, &stray, 1, MSG_NOSIGNAL) != 1) return 0;
  }
  while (drain(&e, fd)) ring_worker_nap(&e, ring_readable, 10);
  return 0;
}

int main(int argc, char **argv) {
  int fd = -1, lane_fd = -1;
  for (int i = 1; i + 1 < argc; i++) {
    if (!strcmp(argv[i], "--fd")) fd = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--lane")) lane_fd = atoi(argv[i + 1]);
  }
  if (fd < 0) return 2;
  const char *path = getenv("AIRLOCK_FUZZ_FRAMES"), *lane = getenv("AIRLOCK_FUZZ_LANE");
  int in = path ? open(path, O_RDONLY) : -1;
  if (lane && !strcmp(lane, "1") && lane_fd >= 0) {
    static unsigned char data[1 << 20];
    size_t n = 0;
    ssize_t r;
    while (in >= 0 && n < sizeof data && (r = read(in, data + n, sizeof data - n)) > 0) n += (size_t)r;
    return lane_main(fd, lane_fd, data, n);
  }
  static const char hello[] = "\0\0\0\016{\"ready\":true}";
  if (write(fd, hello, sizeof hello - 1) != (ssize_t)(sizeof hello - 1)) return 3;
  char buf[4096];
  ssize_t n;
  while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(fd, buf, (size_t)n) != n) return 0; /* the host hung up: done */
  while (read(fd, buf, sizeof buf) > 0) {}
  return 0;
}

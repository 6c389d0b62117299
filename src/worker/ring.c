/*
 * ring.c: the shared-memory lane (ring.h). Counters wrap at 2^32; `cap` divides 2^32, so
 * a counter taken modulo cap is a position and the difference of two counters is a fill
 * level whatever the wrap. Each copy is at most two memcpy()s (up to the end of the data
 * area, then from its start).
 */
#define _GNU_SOURCE
#include "worker/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(ring_shared) <= RING_DATA_OFFSET, "the header fits before the data");
_Static_assert((RING_CAP & (RING_CAP - 1)) == 0, "cap divides 2^32");

int ring_create(int *fd, ring_shared **map, al_error *err) {
  *fd = -1;
  *map = NULL;
  size_t size = RING_MAP_SIZE(RING_CAP);
  int f = memfd_create("airlock-lane", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (f < 0) return err_set(err, AL_EIO, NULL, "memfd_create: %s", strerror(errno));
  if (ftruncate(f, (off_t)size) != 0 ||
      fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int e = errno;
    close(f);
    return err_set(err, AL_EIO, NULL, "sizing the lane: %s", strerror(e));
  }
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
  if (m == MAP_FAILED) {
    int e = errno;
    close(f);
    return err_set(err, AL_EIO, NULL, "mapping the lane: %s", strerror(e));
  }
  *fd = f;
  *map = m;
  ring_reset(m);
  return 0;
}

void ring_destroy(int fd, ring_shared *map) {
  if (map) munmap(map, RING_MAP_SIZE(RING_CAP));
  if (fd >= 0) close(fd);
}

void ring_reset(ring_shared *m) {
  memset(m, 0, sizeof *m);
  m->magic = RING_MAGIC;
  m->cap = RING_CAP;
}

static void end_init(ring_end *e, ring_shared *m, bool host) {
  unsigned char *base = (unsigned char *)m + RING_DATA_OFFSET;
  memset(e, 0, sizeof *e);
  e->sh = m;
  e->cap = RING_CAP;
  e->host = host;
  e->tx = host ? base : base + RING_CAP;
  e->rx = host ? base + RING_CAP : base;
  e->txd = host ? &m->down : &m->up;
  e->rxd = host ? &m->up : &m->down;
}

void ring_host_end(ring_end *e, ring_shared *m) { end_init(e, m, true); }

int ring_worker_attach(int fd, ring_end *e, al_error *err) {
  struct stat st;
  size_t size = RING_MAP_SIZE(RING_CAP);
  int rc = 0;
  if (fstat(fd, &st) != 0 || (size_t)st.st_size != size) {
    rc = err_set(err, AL_EIO, NULL, "the lane is not %zu bytes", size);
  } else {
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) rc = err_set(err, AL_EIO, NULL, "mapping the lane: %s", strerror(errno));
    else if (((ring_shared *)m)->magic != RING_MAGIC || ((ring_shared *)m)->cap != RING_CAP) {
      munmap(m, size);
      rc = err_set(err, AL_EIO, NULL, "the lane's header is not this build's");
    } else {
      end_init(e, m, false);
    }
  }
  close(fd);
  return rc;
}

/* Fill level of the ring this side writes, or UINT32_MAX when the peer's tail is
 * impossible (past what was written, or behind by more than the ring holds). */
static uint32_t tx_used(const ring_end *e) {
  uint32_t used = e->tx_head - atomic_load(&e->txd->tail);
  return used > e->cap ? UINT32_MAX : used;
}

static uint32_t rx_avail(const ring_end *e) {
  uint32_t avail = atomic_load(&e->rxd->head) - e->rx_tail;
  return avail > e->cap ? UINT32_MAX : avail;
}

ssize_t ring_write(ring_end *e, const void *data, size_t n) {
  uint32_t used = tx_used(e);
  if (used == UINT32_MAX) return -1;
  size_t room = e->cap - used;
  if (n > room) n = room;
  if (!n) return 0;
  size_t at = e->tx_head % e->cap, first = e->cap - at < n ? e->cap - at : n;
  memcpy(e->tx + at, data, first);
  memcpy(e->tx, (const unsigned char *)data + first, n - first);
  e->tx_head += (uint32_t)n;
  atomic_store(&e->txd->head, e->tx_head); /* publishes the bytes (release and more) */
  return (ssize_t)n;
}

ssize_t ring_read(ring_end *e, void *buf, size_t cap) {
  uint32_t avail = rx_avail(e);
  if (avail == UINT32_MAX) return -1;
  size_t n = avail < cap ? avail : cap;
  if (!n) return 0;
  size_t at = e->rx_tail % e->cap, first = e->cap - at < n ? e->cap - at : n;
  memcpy(buf, e->rx + at, first);
  memcpy((unsigned char *)buf + first, e->rx, n - first);
  e->rx_tail += (uint32_t)n;
  atomic_store(&e->rxd->tail, e->rx_tail); /* the room is the producer's again */
  return (ssize_t)n;
}

bool ring_readable(const ring_end *e) { return rx_avail(e) != 0; }

size_t ring_room(const ring_end *e) {
  uint32_t used = tx_used(e);
  return used == UINT32_MAX ? 0 : e->cap - used;
}

static long futex(atomic_uint *word, int op, uint32_t val, const struct timespec *ts) {
  /* not FUTEX_PRIVATE_FLAG: the word is shared between two processes */
  return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
}

void ring_wake_worker(ring_end *e) {
  atomic_fetch_add(&e->sh->worker_bell, 1);
  if (atomic_load(&e->sh->worker_sleeping)) futex(&e->sh->worker_bell, FUTEX_WAKE, 1, NULL);
}

uint32_t ring_bell(const ring_end *e) { return atomic_load(&e->sh->worker_bell); }

void ring_worker_sleeping(ring_end *e, bool on) { atomic_store(&e->sh->worker_sleeping, on ? 1u : 0u); }

void ring_worker_wait(ring_end *e, uint32_t seen, int timeout_ms) {
  struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
  /* EAGAIN (the bell moved already), EINTR, ETIMEDOUT: the caller looks again either way */
  futex(&e->sh->worker_bell, FUTEX_WAIT, seen, timeout_ms < 0 ? NULL : &ts);
}

bool ring_worker_nap(ring_end *e, bool (*ready)(const ring_end *), int timeout_ms) {
  uint32_t seen = ring_bell(e);
  ring_worker_sleeping(e, true);
  if (!ready(e)) ring_worker_wait(e, seen, timeout_ms);
  ring_worker_sleeping(e, false);
  return ready(e) || ring_bell(e) != seen;
}

bool ring_spin_readable(const ring_end *e, uint64_t ns) {
  uint64_t until = clock_mono_ns() + ns;
  while (!ring_readable(e)) {
    if (clock_mono_ns() >= until) return false;
    sched_yield();
  }
  return true;
}

void ring_host_sleeping(ring_end *e, bool on) { atomic_store(&e->sh->host_sleeping, on ? 1u : 0u); }

int ring_ring_host(ring_end *e, int fd) {
  if (!atomic_exchange(&e->sh->host_sleeping, 0u)) return 0;
  static const unsigned char bell = RING_DOORBELL;
  for (;;) {
    ssize_t n = send(fd, &bell, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == 1) return 0;
    if (n < 0 && errno == EINTR) continue;
    /* a full socket already holds doorbells the host has not read: it will look */
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  }
}

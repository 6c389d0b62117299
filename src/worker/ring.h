/*
 * ring.h: the shared-memory lane between the host and one worker process.
 *
 * Two single-producer single-consumer byte rings in one memfd that both processes map:
 * `down` carries host -> worker, `up` worker -> host. They carry exactly the byte stream
 * the socket would (ipc.h frames), so a receiver feeds what it reads to an ipc_reader and
 * every frame is validated as before; what the lane removes is the two system calls per
 * frame and direction, and, while the other side is awake, any wake-up at all.
 *
 * Counters, not pointers: each ring has `head` (bytes ever written, mod 2^32, stored only
 * by its producer) and `tail` (bytes ever consumed, stored only by its consumer). The
 * host never believes the worker: it keeps its own copies of the counters it owns and
 * only stores them into the mapping, and a counter of the worker's that says more than
 * the ring can hold (head - tail > cap, which a tail past the head also gives) breaks the
 * lane like a bad frame (ring_read / ring_write return -1: the caller kills the worker).
 * Bytes are copied out of the mapping once, into the reader; the worker rewriting them
 * meanwhile can only change what it said, which validation then judges. The file's size
 * is sealed before the worker starts, so it cannot shrink the mapping under the host
 * (that would be SIGBUS in the host); the worker closes its descriptor before it enters
 * the sandbox anyway.
 *
 * Wake-ups. The worker sleeps on a futex (`worker_bell`, which the host bumps whenever it
 * made progress possible for the worker: bytes down, or room up) after announcing it in
 * `worker_sleeping`; the futex call is in the worker's seccomp allowlist. The host never
 * waits on a word the worker can write: its driver keeps sleeping in poll() on the socket
 * (so a dead worker is still a hang-up there) and its eventfd; it announces that in
 * `host_sleeping`, and a worker that then gives it something to do (bytes up, or room
 * down) writes one doorbell byte (RING_DOORBELL) to the socket. All five words are
 * sequentially consistent atomics: "announce, then look once more, then sleep" on one
 * side against "publish, then look at the announcement" on the other never loses a
 * wake-up. A worker that never rings only delays its own calls, whose backstops hold.
 *
 * Threading: each ring_end belongs to one thread (the host's driver thread for its
 * worker, the worker's only thread). The mapping is shared by exactly two processes.
 */
#ifndef AL_RING_H
#define AL_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"

#define RING_MAGIC 0x414c5231u  /* "ALR1" */
#define RING_CAP (128u * 1024u) /* bytes per direction: about a socket buffer's */
#define RING_DOORBELL 0x01      /* the only byte a worker writes to the socket once on the lane */

/* One direction's counters, each on its own cache line (one side writes each). */
typedef struct ring_dir {
  _Alignas(64) atomic_uint head;
  _Alignas(64) atomic_uint tail;
} ring_dir;

/* The mapping's header; the two data areas (down, then up, `cap` bytes each) follow it
 * at RING_DATA_OFFSET. */
typedef struct ring_shared {
  uint32_t magic, cap; /* written by the host before the worker starts */
  ring_dir down, up;
  _Alignas(64) atomic_uint worker_bell;
  atomic_uint worker_sleeping;
  _Alignas(64) atomic_uint host_sleeping;
} ring_shared;

#define RING_DATA_OFFSET 4096u
#define RING_MAP_SIZE(cap) ((size_t)RING_DATA_OFFSET + 2u * (size_t)(cap))

/* One side's view: which ring it writes (tx) and reads (rx), and its own counters. */
typedef struct ring_end {
  ring_shared *sh;
  unsigned char *tx, *rx;
  ring_dir *txd, *rxd;
  uint32_t cap;
  uint32_t tx_head; /* what this side produced: the mapping's copy is never read back */
  uint32_t rx_tail; /* what this side consumed: likewise */
  bool host;        /* which side: the host validates the worker's counters */
} ring_end;

/* Host: creates the lane's memfd (sealed at its size, close-on-exec) and maps it. *fd and
 * *map are the caller's to ring_destroy(). Returns 0, or AL_EIO naming the failed call
 * (an old kernel without memfd_create: the caller stays on the socket). */
int ring_create(int *fd, ring_shared **map, al_error *err);
/* Unmaps and closes what ring_create() made (either may be -1 / NULL). */
void ring_destroy(int fd, ring_shared *map);
/* Host: empties both rings and clears every word, for a worker about to start (the
 * previous one is reaped: nobody else writes the mapping now). */
void ring_reset(ring_shared *map);
/* Host: its end of `map`. */
void ring_host_end(ring_end *e, ring_shared *map);

/* Worker: maps the memfd `fd`, checks its size and header, closes `fd` and fills `e`
 * with the worker's end. Returns 0 or AL_EIO (the worker then stays on the socket). */
int ring_worker_attach(int fd, ring_end *e, al_error *err);

/* Copies up to `n` bytes into the ring this side writes. Returns the number taken (0 when
 * full), or -1 when the peer's counter is impossible (the lane is broken). Does not wake
 * the peer: see ring_wake_worker / ring_ring_host. */
ssize_t ring_write(ring_end *e, const void *data, size_t n);
/* Copies up to `cap` bytes out of the ring this side reads. Returns the number copied
 * (0 when empty), or -1 when the peer's counter is impossible. */
ssize_t ring_read(ring_end *e, void *buf, size_t cap);
/* Whether the ring this side reads holds a byte (or the peer's counter is impossible,
 * which ring_read then reports). */
bool ring_readable(const ring_end *e);
/* Room left in the ring this side writes (0 also when the peer's counter is impossible). */
size_t ring_room(const ring_end *e);

/* Host: tells a sleeping worker to look again (bumps worker_bell; a futex wake only when
 * the worker said it sleeps). */
void ring_wake_worker(ring_end *e);
/* Worker: sleeps until worker_bell moves past `seen` or `timeout_ms` passes. The caller
 * reads `seen` with ring_bell(), then calls ring_worker_sleeping(e, true), looks at its
 * condition once more, and only then sleeps; ring_worker_sleeping(e, false) after. */
uint32_t ring_bell(const ring_end *e);
void ring_worker_sleeping(ring_end *e, bool on);
void ring_worker_wait(ring_end *e, uint32_t seen, int timeout_ms);
/* Worker: the sequence above in one call. Sleeps up to `timeout_ms` unless `ready(e)`
 * holds once the sleep is announced; true when `ready` holds or the bell moved after. */
bool ring_worker_nap(ring_end *e, bool (*ready)(const ring_end *), int timeout_ms);

/* Either side: spins up to `ns` nanoseconds, yielding the CPU between looks, until the
 * ring this side reads holds a byte. For answers that come within microseconds; the
 * caller sleeps as above after a false. */
bool ring_spin_readable(const ring_end *e, uint64_t ns);

/* Host: announces that its driver sleeps in poll() (on) or is awake (off). */
void ring_host_sleeping(ring_end *e, bool on);
/* Worker: after giving the host something to do, rings its doorbell on socket `fd` if it
 * sleeps. Returns 0, or -1 when the socket is gone. */
int ring_ring_host(ring_end *e, int fd);

#endif

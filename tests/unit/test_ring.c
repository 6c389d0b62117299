/*
 * test_ring.c: the shared-memory lane (ring.h), both ends in one process over one memfd.
 * Byte streams survive wrap-around of the data area and of the 32-bit counters; a full
 * ring takes nothing and an empty one gives nothing; counters the other side forged
 * (a tail past the head, a head more than the ring holds ahead) are refused by the host
 * as a broken lane instead of being turned into copies; a mapping of the wrong size or
 * with another build's header is refused; the doorbell is rung only for a host that said
 * it sleeps, and the bell moves for every wake-up. (The lane allocates nothing: there is
 * no out-of-memory path to fail.)
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <signal.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "worker/ring.h"

typedef struct lane {
  int fd;
  ring_shared *map;
  ring_end host, worker;
} lane;

static void lane_open(lane *l) {
  al_error e = {0};
  assert_int_equal(ring_create(&l->fd, &l->map, &e), 0);
  ring_host_end(&l->host, l->map);
  assert_int_equal(ring_worker_attach(dup(l->fd), &l->worker, &e), 0);
}

static void lane_close(lane *l) {
  munmap(l->worker.sh, RING_MAP_SIZE(RING_CAP));
  ring_destroy(l->fd, l->map);
}

/* Sends `n` patterned bytes from `tx` to `rx` in writes of `chunk`, reading as it goes,
 * and checks every byte arrives once and in order. */
static void stream(ring_end *tx, ring_end *rx, size_t n, size_t chunk) {
  unsigned char *out = malloc(chunk), *in = malloc(RING_CAP);
  size_t sent = 0, got = 0;
  while (got < n) {
    size_t k = n - sent < chunk ? n - sent : chunk;
    for (size_t i = 0; i < k; i++) out[i] = (unsigned char)((sent + i) * 7 + 3);
    ssize_t w = ring_write(tx, out, k);
    assert_true(w >= 0);
    sent += (size_t)w;
    ssize_t r = ring_read(rx, in, RING_CAP);
    assert_true(r >= 0);
    for (ssize_t i = 0; i < r; i++) assert_int_equal(in[i], (unsigned char)((got + (size_t)i) * 7 + 3));
    got += (size_t)r;
    assert_true(w > 0 || r > 0); /* one side always moves */
  }
  assert_int_equal(sent, n);
  assert_false(ring_readable(rx));
  free(out);
  free(in);
}

static void test_streams_both_ways(void **st) {
  (void)st;
  lane l;
  lane_open(&l);
  stream(&l.host, &l.worker, 10 * RING_CAP + 17, 5000);  /* the data area wraps ten times */
  stream(&l.worker, &l.host, 3 * RING_CAP + 1, RING_CAP); /* whole-ring writes */
  lane_close(&l);
}

static void test_counters_wrap(void **st) {
  (void)st;
  lane l;
  lane_open(&l);
  /* both ends as if 2^32 - 1000 bytes had gone by already */
  uint32_t base = UINT32_MAX - 999u;
  l.host.tx_head = l.worker.rx_tail = base;
  atomic_store(&l.map->down.head, base);
  atomic_store(&l.map->down.tail, base);
  stream(&l.host, &l.worker, 2 * RING_CAP, 3000);
  assert_true(l.host.tx_head < base); /* it wrapped */
  lane_close(&l);
}

static void test_full_and_empty(void **st) {
  (void)st;
  lane l;
  lane_open(&l);
  unsigned char *big = calloc(1, RING_CAP + 10), b;
  assert_int_equal(ring_read(&l.worker, &b, 1), 0);
  assert_false(ring_readable(&l.worker));
  assert_int_equal(ring_room(&l.host), RING_CAP);
  assert_int_equal(ring_write(&l.host, big, RING_CAP + 10), RING_CAP);
  assert_int_equal(ring_room(&l.host), 0);
  assert_int_equal(ring_write(&l.host, big, 1), 0);
  assert_true(ring_readable(&l.worker));
  assert_int_equal(ring_read(&l.worker, big, 100), 100);
  assert_int_equal(ring_room(&l.host), 100);
  free(big);
  lane_close(&l);
}

static void test_forged_counters(void **st) {
  (void)st;
  lane l;
  lane_open(&l);
  unsigned char buf[64] = {0};
  assert_int_equal(ring_write(&l.host, buf, 10), 10);
  /* the worker says it consumed more than the host ever wrote */
  atomic_store(&l.map->down.tail, 11u);
  assert_int_equal(ring_write(&l.host, buf, 1), -1);
  assert_int_equal(ring_room(&l.host), 0);
  atomic_store(&l.map->down.tail, 10u);
  assert_int_equal(ring_write(&l.host, buf, 1), 1);
  /* the worker says it wrote more than the ring holds */
  atomic_store(&l.map->up.head, RING_CAP + 1u);
  assert_true(ring_readable(&l.host)); /* so that ring_read reports it */
  assert_int_equal(ring_read(&l.host, buf, sizeof buf), -1);
  atomic_store(&l.map->up.head, UINT32_MAX); /* "behind" the host's tail: as impossible */
  assert_int_equal(ring_read(&l.host, buf, sizeof buf), -1);
  /* and the host's own counters are its copies: overwriting the mapping's changes nothing */
  atomic_store(&l.map->up.head, 0u);
  atomic_store(&l.map->down.head, 12345u);
  assert_int_equal(ring_room(&l.host), RING_CAP - 1); /* 11 written, 10 taken */
  lane_close(&l);
}

static void test_attach_refuses_strangers(void **st) {
  (void)st;
  al_error e = {0};
  ring_end end;
  int fd = memfd_create("small", 0);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, 4096), 0);
  assert_int_equal(ring_worker_attach(fd, &end, &e), AL_EIO); /* closes fd either way */
  assert_non_null(strstr(e.message, "bytes"));
  lane l;
  lane_open(&l);
  l.map->magic = 0x12345678u;
  assert_int_equal(ring_worker_attach(dup(l.fd), &end, &e), AL_EIO);
  assert_non_null(strstr(e.message, "header"));
  lane_close(&l);
}

static void test_doorbell_and_bell(void **st) {
  (void)st;
  lane l;
  lane_open(&l);
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  char b;
  assert_int_equal(ring_ring_host(&l.worker, sv[1]), 0); /* the host is awake: no byte */
  assert_int_equal(recv(sv[0], &b, 1, MSG_DONTWAIT), -1);
  ring_host_sleeping(&l.host, true);
  assert_int_equal(ring_ring_host(&l.worker, sv[1]), 0);
  assert_int_equal(recv(sv[0], &b, 1, MSG_DONTWAIT), 1);
  assert_int_equal(b, RING_DOORBELL);
  assert_int_equal(ring_ring_host(&l.worker, sv[1]), 0); /* rung once per sleep */
  assert_int_equal(recv(sv[0], &b, 1, MSG_DONTWAIT), -1);
  uint32_t seen = ring_bell(&l.worker);
  ring_wake_worker(&l.host);
  assert_int_equal(ring_bell(&l.worker), seen + 1);
  ring_worker_wait(&l.worker, seen, 10000); /* the bell moved: returns at once */
  ring_host_sleeping(&l.host, true);
  close(sv[0]);
  assert_int_equal(ring_ring_host(&l.worker, sv[1]), -1); /* the host is gone */
  close(sv[1]);
  lane_close(&l);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_streams_both_ways), cmocka_unit_test(test_counters_wrap),
      cmocka_unit_test(test_full_and_empty),    cmocka_unit_test(test_forged_counters),
      cmocka_unit_test(test_attach_refuses_strangers), cmocka_unit_test(test_doorbell_and_bell),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

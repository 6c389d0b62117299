/* fuzz_worker.c: arbitrary bytes as a worker process's side of the stream, through the
 * host's process driver (worker_process.c): forged responses (wrong, repeated or unknown
 * tickets), hostcalls naming any ticket, slice and wake frames, truncated or invalid
 * frames. The worker is fake_worker, which replays the input; the pool has two calls in
 * flight on it. Whatever the bytes say, every call must be answered with {ok} or {error}
 * (the host never hangs on a worker and never takes a second answer for one call), no
 * hostcall may run for an instance the host did not send, and nothing may leak.
 *
 * Input: the bytes the worker sends after its greeting (fuzz_lane: see fake_worker.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "worker/exec.h"
#include "worker/pool.h"

#ifndef AL_FAKE_WORKER
#error "AL_FAKE_WORKER must name fake_worker"
#endif
#ifndef AL_FUZZ_LANE
#define AL_FUZZ_LANE 0 /* fuzz_lane.c sets it: the bytes travel the shared-memory lane */
#endif

/* The only instance ids the host ever sends; a hostcall must speak for one of them. */
static int stub_hostcall(void *user, const char *instance_id, const char *method, const json_t *args,
                         uint32_t timeout_ms, const hostcall_hold *hold, json_t **result, al_error *err) {
  (void)user;
  (void)method;
  (void)args;
  (void)timeout_ms;
  CHECK(instance_id && (!strcmp(instance_id, "fz@a") || !strcmp(instance_id, "fz@b")));
  if (hold) { /* the hold path too, with no person to wait for */
    hold->fn(hold->user, 10);
    hold->fn(hold->user, 0);
  }
  *result = json_true();
  return *result ? 0 : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
}

static void check_answer(const json_t *resp) {
  CHECK(resp);
  CHECK(json_object_get(resp, "ok") || json_object_get(resp, "error"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[] = "/tmp/airlock-fuzz-frames-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK(write(fd, data, size) == (ssize_t)size);
  close(fd);
  setenv("AIRLOCK_FUZZ_FRAMES", path, 1);
  setenv("AIRLOCK_FUZZ_LANE", AL_FUZZ_LANE ? "1" : "0", 1);
  pool_config cfg = {.kind = POOL_PROCESS, .workers = 1, .grace_ms = 5, .worker_path = AL_FAKE_WORKER,
                     .hostcall = stub_hostcall};
  pool *p = NULL;
  CHECK(pool_new(&cfg, &p, NULL) == 0);
  uint64_t t1, t2;
  /* Short deadlines: an input that never answers costs 20 ms, not a second. */
  CHECK(pool_submit(p, 0, json_pack("{s:s,s:s,s:s}", "op", "render", "instanceId", "fz@a", "widgetId", "w"),
                    20, false, &t1, NULL) == 0);
  CHECK(pool_submit(p, 0, json_pack("{s:s,s:s,s:s}", "op", "event", "instanceId", "fz@b", "widgetId", "w"),
                    20, false, &t2, NULL) == 0);
  json_t *r1 = pool_wait(p, t1), *r2 = pool_wait(p, t2);
  check_answer(r1);
  check_answer(r2);
  json_decref(r1);
  json_decref(r2);
  pool_free(p);
  unlink(path);
  return 0;
}

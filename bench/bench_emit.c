/*
 * bench_emit.c: what an emit costs. Prints ns per call for
 *   - al_hook_subscribed() on an event nobody subscribed to,
 *   - al_emit() with no subscriber and no result wanted (the path a host takes for every
 *     event it fires; it touches no worker and allocates nothing),
 *   - al_emit() with no subscriber and the aggregate wanted (parses the payload, builds
 *     the JSON answer),
 *   - al_emit() to one subscribed handler on a worker thread (a full round trip).
 * Not a test: numbers depend on the machine. Run: build-x/tests/bench_emit [iterations]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airlock.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 10000000;
  al_config cfg;
  al_config_init(&cfg);
  cfg.workers = 1;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) {
    fprintf(stderr, "host: %s\n", e.message);
    return 1;
  }
  const char *src = "pi.on('PreToolUse', () => undefined);";
  if (al_load(h, "b", src, strlen(src), NULL, NULL, 0, &e)) {
    fprintf(stderr, "load: %s\n", e.message);
    return 1;
  }
  const char *payload = "{\"tool_name\":\"bash\",\"tool_input\":{\"command\":\"ls\"},\"session_id\":\"s\"}";
  volatile int sink = 0;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) sink += al_hook_subscribed(h, "PostToolUse");
  double t1 = now_ns();
  for (long i = 0; i < n; i++) sink += al_emit(h, "PostToolUse", payload, NULL, NULL);
  double t2 = now_ns();
  long m = n / 100 ? n / 100 : 1;
  for (long i = 0; i < m; i++) {
    char *out = NULL;
    sink += al_emit(h, "PostToolUse", payload, &out, NULL);
    al_free(out);
  }
  double t3 = now_ns();
  long k = n / 10000 ? n / 10000 : 1;
  for (long i = 0; i < k; i++) {
    char *out = NULL;
    sink += al_emit(h, "PreToolUse", payload, &out, NULL);
    al_free(out);
  }
  double t4 = now_ns();
  printf("al_hook_subscribed, no subscriber:        %8.1f ns/call (%ld calls)\n", (t1 - t0) / (double)n, n);
  printf("al_emit, no subscriber, no result:        %8.1f ns/call (%ld calls)\n", (t2 - t1) / (double)n, n);
  printf("al_emit, no subscriber, aggregate JSON:   %8.1f ns/call (%ld calls)\n", (t3 - t2) / (double)m, m);
  printf("al_emit, 1 handler on a worker thread:    %8.1f us/call (%ld calls)\n", (t4 - t3) / (double)k / 1000.0, k);
  al_host_free(h);
  return sink == -1;
}

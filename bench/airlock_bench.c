/*
 * airlock_bench.c: Airlock's workloads, timed through the public API only.
 *
 * Every figure comes from calls a host application would make (al_load, al_render,
 * al_event, al_render_async + al_host_dispatch, al_emit): nothing reaches into the
 * library's internals, so what is measured is what an embedder gets. Each workload is one
 * function that fills a `bench_stat` (median and p99 of its samples) and prints one table
 * row; with --json the whole run is one JSON line for bench/compare to combine with the
 * original architecture's figures.
 *
 * Timing uses CLOCK_MONOTONIC around each call; samples are kept and sorted, so medians
 * and p99s are exact order statistics, not estimates. Memory is the process's resident
 * set (/proc/self/statm), plus, with process isolation, the resident sets of its worker
 * processes (found as children in /proc), reported separately.
 *
 * Two workloads are about calls that wait (issue 10) and use the tests' loopback HTTP
 * server (tests/integration/httpd_test.c, one thread per connection, a fixed delay per
 * route): "wait" times B's renders while A, on the same single worker, is parked on
 * pi.sleep or on a delayed pi.http answer; "http100" times 100 instances' events that each
 * await one delayed pi.http answer, submitted at once. Both finish on a core that still
 * runs one call to completion, only slowly: their sample counts are bounded by rounds, so
 * the figures show the difference instead of the run never ending.
 *
 * "state" (issue 14) is about how a call's cost grows with the instance's state: a render
 * that reads one number and an event that changes one key of states of 0 to 10,000
 * items, against the floor for a design that does not keep state in the VM: raw QuickJS
 * in this process parsing the state text, calling the same render and stringifying the
 * tree (no host, no validation, no isolation).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <quickjs.h>

#include "airlock.h"
#include "wb_profile.h"
#include "integration/httpd_test.h"

#define BENCH_WIDGET "counter"

typedef struct bench_stat {
  double median, p99;
  size_t n;
} bench_stat;

typedef struct bench_opts {
  al_isolation isolation;
  int quick;
  int json;
  const char *plugin_path;
  const char *worker_path;
} bench_opts;

/* What the run found; printed as one JSON line at the end with --json. */
typedef struct bench_report {
  bench_stat cold_load_us, render_us, event_us, overshoot_ms, emit_noop_ns, emit_noop_result_ns,
      emit_10_us;
  bench_stat wait_idle_us, wait_sleep_us, wait_http_us, http100_ms;
  bench_stat spin_same_us, spin_other_us;
  double http100_ratio;
  double rss_per_instance_kib, worker_rss_per_instance_kib, throughput;
  double trust_rss_kib, trust_pss_kib; /* per extra worker process (wl_trust) */
  int have_emit;
  bench_stat curve[4];
  bench_stat st_render[4], st_event[4], raw_render[4], raw_event[4];
} bench_report;

static const unsigned state_items[4] = {0, 100, 1000, 10000};

static const unsigned curve_counts[4] = {1, 10, 100, 1000};

static char *plugin_src;
static size_t plugin_len;

static const char loop_src[] =
    "definePlugin(() => ({ title: 'Loop', widgets: { spin: { render() { for (;;) {} } } } }));";

/* ---- helpers -------------------------------------------------------------------------- */

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts `v` in place and takes the order statistics. */
static bench_stat stat_of(double *v, size_t n) {
  bench_stat s = {0, 0, n};
  if (!n) return s;
  qsort(v, n, sizeof *v, cmp_double);
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  size_t i = (size_t)((double)n * 0.99);
  s.p99 = v[i < n ? i : n - 1];
  return s;
}

static void die(const char *what, int rc, const al_error *e) {
  fprintf(stderr, "airlock_bench: %s failed: %s (%s)\n", what, al_err_name(rc),
          e && e->message[0] ? e->message : al_strerror(rc));
  exit(1);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "airlock_bench: cannot open %s: %s\n", path, strerror(errno));
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "airlock_bench: cannot read %s\n", path);
    exit(1);
  }
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* Resident set of one process in KiB, from /proc/<pid>/statm (pid 0: this process). */
static double rss_kib_of(int pid) {
  char path[64];
  if (pid) snprintf(path, sizeof path, "/proc/%d/statm", pid);
  else snprintf(path, sizeof path, "/proc/self/statm");
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned long size = 0, res = 0;
  if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
  fclose(f);
  return (double)res * (double)sysconf(_SC_PAGESIZE) / 1024.0;
}

/* Proportional set of one process in KiB (/proc/<pid>/smaps_rollup's Pss: pages shared
 * with other processes, the worker binary's text among them, count a share each), or -1
 * when the kernel does not let us read it. */
static double pss_kib_of(int pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  double kib = -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "Pss:", 4)) {
      kib = strtod(line + 4, NULL);
      break;
    }
  fclose(f);
  return kib;
}

enum { CHILD_RSS, CHILD_PSS, CHILD_COUNT };

/* Over this process's children (the airlock-worker processes): the sum of their resident
 * or proportional sets, or their count. */
static double children_sum(int what) {
  DIR *d = opendir("/proc");
  if (!d) return 0;
  double sum = 0;
  int self = (int)getpid();
  struct dirent *de;
  while ((de = readdir(d))) {
    int pid = atoi(de->d_name);
    if (pid <= 0) continue;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces, so parse after the last ')'. */
    char *rp = strrchr(buf, ')');
    char state;
    int ppid;
    if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != self || state == 'Z') continue;
    sum += what == CHILD_RSS ? rss_kib_of(pid) : what == CHILD_PSS ? pss_kib_of(pid) : 1;
  }
  closedir(d);
  return sum;
}

static double children_rss_kib(void) { return children_sum(CHILD_RSS); }

/* workers 0: one per online CPU (the default) */
static al_host *host_new_workers(const bench_opts *o, unsigned queue_capacity, unsigned workers) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = o->isolation;
  cfg.workers = workers;
  cfg.worker_path = o->worker_path;
  if (queue_capacity) cfg.queue_capacity = queue_capacity;
  al_host *h = NULL;
  al_error e;
  int rc = al_host_new(&cfg, &h, &e);
  if (rc) die("al_host_new", rc, &e);
  /* the counter's package reducer and shared domain */
  if ((rc = wb_profile_register(h, &e))) die("wb_profile_register", rc, &e);
  return h;
}

static al_host *host_new(const bench_opts *o, unsigned queue_capacity) {
  return host_new_workers(o, queue_capacity, 0);
}

static void load_counter(al_host *h, char *id, size_t cap) {
  al_error e;
  int rc = al_load(h, "counter", plugin_src, plugin_len, NULL, id, cap, &e);
  if (rc) die("al_load", rc, &e);
}

static void render_once(al_host *h, const char *id) {
  char *tree = NULL;
  al_error e;
  int rc = al_render(h, id, BENCH_WIDGET, &tree, &e);
  if (rc) die("al_render", rc, &e);
  al_free(tree);
}

static void row(const bench_opts *o, const char *name, const bench_stat *s, const char *unit) {
  if (!o->json) printf("  %-44s %12.2f %12.2f  %-6s (n=%zu)\n", name, s->median, s->p99, unit, s->n);
}

static void json_stat(const char *key, const bench_stat *s, int have) {
  if (!have) printf("\"%s\":null,", key);
  else printf("\"%s\":{\"median\":%.3f,\"p99\":%.3f,\"n\":%zu},", key, s->median, s->p99, s->n);
}

/* ---- workloads ------------------------------------------------------------------------ */

/* Cold load to first validated render: al_load + al_render of a fresh instance on an
 * already-created host. The unload after each sample is not timed, and samples are
 * COLD_GAP_MS apart, as loads come to a host that is otherwise idle (bench/original
 * spaces its samples the same way). */
#define COLD_GAP_MS 3
static void wl_cold_load(const bench_opts *o, bench_report *r) {
  size_t n = o->quick ? 200 : 1000;
  double *v = calloc(n, sizeof *v);
  al_host *h = host_new(o, 0);
  for (size_t i = 0; i < n + 20; i++) {
    char id[AL_INSTANCE_ID_MAX];
    double t0 = now_us();
    load_counter(h, id, sizeof id);
    render_once(h, id);
    double dt = now_us() - t0;
    if (i >= 20) v[i - 20] = dt; /* the first few warm caches and worker threads */
    al_unload(h, id, NULL);
    struct timespec gap = {0, COLD_GAP_MS * 1000000L};
    nanosleep(&gap, NULL);
  }
  al_host_free(h);
  r->cold_load_us = stat_of(v, n);
  row(o, "cold load -> first validated render", &r->cold_load_us, "us");
  free(v);
}

/* Render round trip of one widget: state out, tree back, validated, serialized. */
static void wl_render(const bench_opts *o, bench_report *r) {
  size_t n = o->quick ? 3000 : 20000;
  double *v = calloc(n, sizeof *v);
  al_host *h = host_new(o, 0);
  char id[AL_INSTANCE_ID_MAX];
  load_counter(h, id, sizeof id);
  for (size_t i = 0; i < 200; i++) render_once(h, id);
  for (size_t i = 0; i < n; i++) {
    double t0 = now_us();
    render_once(h, id);
    v[i] = now_us() - t0;
  }
  al_host_free(h);
  r->render_us = stat_of(v, n);
  row(o, "render round trip", &r->render_us, "us");
  free(v);
}

/* Collects the instances a change notification names, for re-rendering. */
typedef struct bench_changes {
  char ids[16][AL_INSTANCE_ID_MAX];
  size_t n;
} bench_changes;

static void on_change(void *user, const al_change *c) {
  bench_changes *bc = user;
  for (size_t i = 0; i < c->instance_count; i++) {
    size_t j = 0;
    while (j < bc->n && strcmp(bc->ids[j], c->instance_ids[i])) j++;
    if (j == bc->n && bc->n < 16) snprintf(bc->ids[bc->n++], AL_INSTANCE_ID_MAX, "%s", c->instance_ids[i]);
  }
}

/* Event -> intents -> store -> re-render: al_event runs the handler, the host validates
 * and applies its intents (package reducer, shared domain), and the widgets of every
 * instance the change notification names are rendered again. */
static void wl_event(const bench_opts *o, bench_report *r) {
  size_t n = o->quick ? 2000 : 10000;
  double *v = calloc(n, sizeof *v);
  al_host *h = host_new(o, 0);
  bench_changes bc = {0};
  al_subscribe(h, on_change, &bc, NULL);
  char id[AL_INSTANCE_ID_MAX];
  load_counter(h, id, sizeof id);
  size_t rerenders = 0;
  for (size_t i = 0; i < n + 100; i++) {
    bc.n = 0;
    double t0 = now_us();
    al_error e;
    int rc = al_event(h, id, BENCH_WIDGET, i % 2 ? "decrement" : "increment", NULL, NULL, &e);
    if (rc) die("al_event", rc, &e);
    for (size_t j = 0; j < bc.n; j++) render_once(h, bc.ids[j]);
    double dt = now_us() - t0;
    if (i >= 100) {
      v[i - 100] = dt;
      rerenders += bc.n;
    }
  }
  if (rerenders < n) {
    fprintf(stderr, "airlock_bench: events re-rendered %zu widgets for %zu events\n", rerenders, n);
    exit(1);
  }
  al_host_free(h);
  r->event_us = stat_of(v, n);
  row(o, "event -> intents -> store -> re-render", &r->event_us, "us");
  free(v);
}

/* Resident memory of 1,000 idle instances (loaded, rendered once), per instance. */
static void wl_memory(const bench_opts *o, bench_report *r) {
  const size_t n = 1000;
  al_host *h = host_new(o, 0);
  char id[AL_INSTANCE_ID_MAX];
  /* One instance first, so per-worker and per-process fixed costs are not counted. */
  load_counter(h, id, sizeof id);
  render_once(h, id);
  double base = rss_kib_of(0), wbase = children_rss_kib();
  for (size_t i = 0; i < n; i++) {
    load_counter(h, id, sizeof id);
    render_once(h, id);
  }
  double host = rss_kib_of(0) - base, workers = children_rss_kib() - wbase;
  al_host_free(h);
  r->rss_per_instance_kib = (host + workers) / (double)n;
  r->worker_rss_per_instance_kib = workers / (double)n;
  if (!o->json) {
    printf("  %-44s %12.1f KiB", "resident memory per idle instance (1,000)", r->rss_per_instance_kib);
    if (o->isolation == AL_ISOLATION_PROCESS)
      printf("  (host %.1f + workers %.1f)", host / (double)n, workers / (double)n);
    printf("\n");
  }
}

/* Process isolation: what one more trust identity costs (issue 16). Instances of
 * different packages never share a worker process, so each new package is a process of
 * its own: measured as the growth of the workers' resident (RSS) and proportional (PSS,
 * shared pages split among the processes mapping them) sets per extra process, each
 * process holding one loaded and rendered instance, against one more instance in a
 * process that already exists (wl_memory). */
static void wl_trust(const bench_opts *o, bench_report *r) {
  if (o->isolation != AL_ISOLATION_PROCESS) return;
  const unsigned k = 16;
  al_host *h = host_new_workers(o, 0, 1);
  char id[AL_INSTANCE_ID_MAX], pkg[32];
  load_counter(h, id, sizeof id);
  render_once(h, id);
  double procs = children_sum(CHILD_COUNT), rss = children_sum(CHILD_RSS), pss = children_sum(CHILD_PSS);
  for (unsigned i = 0; i < k; i++) {
    snprintf(pkg, sizeof pkg, "trust%u", i);
    al_error e;
    int rc = al_load(h, pkg, plugin_src, plugin_len, NULL, id, sizeof id, &e);
    if (rc) die("al_load", rc, &e);
    render_once(h, id);
  }
  double more = children_sum(CHILD_COUNT) - procs;
  if (more != k) {
    fprintf(stderr, "airlock_bench: %u packages started %.0f worker processes, not %u\n", k, more, k);
    exit(1);
  }
  r->trust_rss_kib = (children_sum(CHILD_RSS) - rss) / more;
  r->trust_pss_kib = pss < 0 ? -1 : (children_sum(CHILD_PSS) - pss) / more;
  al_host_free(h);
  if (!o->json) {
    printf("  %-44s %12.1f KiB", "per extra trust identity (worker process)", r->trust_pss_kib);
    printf("  (PSS; RSS %.1f KiB; 16 packages)\n", r->trust_rss_kib);
  }
}

typedef struct bench_async {
  size_t done, failed;
  double t0;
  double *lat;
} bench_async;

static void on_render(void *user, int rc, const char *json, const al_error *err) {
  (void)json;
  (void)err;
  bench_async *a = user;
  a->done++;
  if (rc) a->failed++;
}

/* Renders per second across all cores: 1,000 instances, every one rendered each round
 * with al_render_async, answers collected with al_host_dispatch. */
static void wl_throughput(const bench_opts *o, bench_report *r) {
  const size_t n = 1000;
  size_t rounds = o->quick ? 5 : 20;
  al_host *h = host_new(o, 2048);
  char(*ids)[AL_INSTANCE_ID_MAX] = calloc(n, sizeof *ids);
  for (size_t i = 0; i < n; i++) load_counter(h, ids[i], sizeof ids[i]);
  bench_async a = {0};
  double t0 = 0;
  for (size_t round = 0; round <= rounds; round++) {
    if (round == 1) t0 = now_us(); /* round 0 warms up */
    for (size_t i = 0; i < n; i++) {
      int rc;
      while ((rc = al_render_async(h, ids[i], BENCH_WIDGET, on_render, &a)) == AL_EBUSY)
        al_host_dispatch(h, 1);
      if (rc) die("al_render_async", rc, NULL);
    }
    while (al_host_pending(h)) al_host_dispatch(h, -1);
  }
  double secs = (now_us() - t0) / 1e6;
  if (a.failed) {
    fprintf(stderr, "airlock_bench: %zu async renders failed\n", a.failed);
    exit(1);
  }
  al_host_free(h);
  free(ids);
  r->throughput = (double)(n * rounds) / secs;
  if (!o->json)
    printf("  %-44s %12.0f renders/s (%ld cores)\n", "throughput, 1,000 instances, all cores",
           r->throughput, sysconf(_SC_NPROCESSORS_ONLN));
}

/* Render latency against the number of loaded instances (1, 10, 100, 1000), renders
 * spread round-robin over them: the data for the latency-vs-instances plot. */
static void wl_curve(const bench_opts *o, bench_report *r) {
  size_t per = o->quick ? 1000 : 5000;
  double *v = calloc(per, sizeof *v);
  al_host *h = host_new(o, 0);
  char(*ids)[AL_INSTANCE_ID_MAX] = calloc(1000, sizeof *ids);
  size_t loaded = 0;
  for (size_t c = 0; c < 4; c++) {
    while (loaded < curve_counts[c]) {
      load_counter(h, ids[loaded], sizeof ids[loaded]);
      render_once(h, ids[loaded]);
      loaded++;
    }
    for (size_t i = 0; i < per; i++) {
      double t0 = now_us();
      render_once(h, ids[i % loaded]);
      v[i] = now_us() - t0;
    }
    r->curve[c] = stat_of(v, per);
    char name[64];
    snprintf(name, sizeof name, "render latency, %u instances loaded", curve_counts[c]);
    row(o, name, &r->curve[c], "us");
  }
  al_host_free(h);
  free(ids);
  free(v);
}

/* How far past its deadline an infinite loop is stopped: render deadline 50 ms, sample =
 * al_render's elapsed time - 50 ms, as the host observes it. */
static void wl_overshoot(const bench_opts *o, bench_report *r) {
  size_t n = o->quick ? 30 : 100;
  const uint32_t deadline_ms = 50;
  double *v = calloc(n, sizeof *v);
  al_host *h = host_new(o, 0);
  al_limits lim = {.render_ms = deadline_ms};
  al_load_opts lo = {.limits = &lim};
  char id[AL_INSTANCE_ID_MAX];
  al_error e;
  int rc = al_load(h, "loop", loop_src, sizeof loop_src - 1, &lo, id, sizeof id, &e);
  if (rc) die("al_load(loop)", rc, &e);
  for (size_t i = 0; i < n; i++) {
    double t0 = now_us();
    rc = al_render(h, id, "spin", NULL, &e);
    double dt = now_us() - t0;
    if (rc != AL_ETIMEOUT) die("al_render(loop) expecting VM_TIMEOUT", rc ? rc : AL_EINTERNAL, &e);
    v[i] = dt / 1000.0 - deadline_ms;
  }
  al_host_free(h);
  r->overshoot_ms = stat_of(v, n);
  row(o, "infinite loop: overshoot of a 50 ms deadline", &r->overshoot_ms, "ms");
  free(v);
}

#ifdef AL_HAVE_EMIT
static const char hook_src[] =
    "let ended = 0;\n"
    "pi.on('SessionEnd', (e) => { ended++; return undefined; });\n"
    "definePlugin(({ ui }) => ({ title: 'Hook', widgets: { w: { render() {"
    " return ui.text('ended ' + ended); } } } }));\n";

/* al_emit among 1,000 loaded plugins: an event nobody subscribes to (TurnEnd), timed in
 * batches because one call is close to the clock's resolution, twice: as a notification
 * (no result wanted: the documented path that parses and allocates nothing) and asking
 * for the aggregate (the payload is parsed and echoed); then SessionEnd with 10
 * subscribers, timed per call. */
static void wl_emit(const bench_opts *o, bench_report *r) {
  const size_t n = 1000, batch = 1000;
  size_t samples = o->quick ? 200 : 1000, calls10 = o->quick ? 200 : 1000;
  al_host *h = host_new(o, 0);
  char id[AL_INSTANCE_ID_MAX];
  al_error e;
  for (size_t i = 0; i < n; i++) {
    if (i % 100 == 0) {
      int rc = al_load(h, "hook", hook_src, sizeof hook_src - 1, NULL, id, sizeof id, &e);
      if (rc) die("al_load(hook)", rc, &e);
    } else {
      load_counter(h, id, sizeof id);
    }
  }
  double *v = calloc(samples > calls10 ? samples : calls10, sizeof *v);
  static const char turn_end[] = "{\"session_id\":\"s\",\"turn_number\":1,\"duration_ms\":1}";
  for (int want = 0; want < 2; want++) {
    for (size_t s = 0; s < samples; s++) {
      double t0 = now_us();
      for (size_t i = 0; i < batch; i++) {
        char *res = NULL;
        int rc = al_emit(h, "TurnEnd", turn_end, want ? &res : NULL, &e);
        if (rc) die("al_emit(TurnEnd)", rc, &e);
        al_free(res);
      }
      v[s] = (now_us() - t0) * 1000.0 / (double)batch;
    }
    bench_stat *st = want ? &r->emit_noop_result_ns : &r->emit_noop_ns;
    *st = stat_of(v, samples);
    row(o, want ? "emit, no subscriber, aggregate JSON wanted" : "emit, no subscriber, 1,000 plugins",
        st, "ns");
  }
  for (size_t s = 0; s < calls10; s++) {
    char *res = NULL;
    double t0 = now_us();
    int rc = al_emit(h, "SessionEnd", "{\"session_id\":\"s\"}", &res, &e);
    v[s] = now_us() - t0;
    if (rc) die("al_emit(SessionEnd)", rc, &e);
    al_free(res);
  }
  r->emit_10_us = stat_of(v, calls10);
  row(o, "emit, 10 subscribers of 1,000 plugins", &r->emit_10_us, "us");
  r->have_emit = 1;
  al_host_free(h);
  free(v);
}
#endif

/* ---- calls that wait (issue 10) -------------------------------------------------------- */

/* A plugin that waits: `nap` on pi.sleep, `get` on pi.http. Loaded with a manifest granting
 * network access to 127.0.0.1 and a long event deadline, so today's blocking worker is
 * measured rather than timed out. */
static const char waiter_src[] =
    "definePlugin(({ ui }) => ({ title: 'Waiter', widgets: { w: {"
    "  render() { return ui.text('waiting'); },"
    "  handlers: { async nap(ctx, ms) { await pi.sleep(ms); },"
    "    spin(ctx, ms) { const t = Date.now(); while (Date.now() - t < ms) {} },"
    "    async get(ctx, url) { const r = await pi.http.get(url); if (r.status !== 200) throw new Error('status ' + r.status); } } } } }));";
static const char waiter_manifest[] =
    "{\"id\":\"waiter\",\"version\":\"1.0.0\",\"capabilities\":{\"network\":[\"127.0.0.1\"]}}";

#define WAIT_PARK_MS 300  /* how long A stays parked in each round of "wait" */
#define WAIT_SPIN_MS 100  /* how long A computes in each round of the CPU-bound rows */
#define HTTP100_N 100
#define HTTP100_DELAY_MS 50

static void load_waiter(al_host *h, char *id, size_t cap) {
  al_limits lim = {.event_ms = 30000};
  al_load_opts lo = {.manifest_json = waiter_manifest, .limits = &lim};
  al_error e;
  int rc = al_load(h, "waiter", waiter_src, sizeof waiter_src - 1, &lo, id, cap, &e);
  if (rc) die("al_load(waiter)", rc, &e);
}

typedef struct bench_done {
  size_t done, failed;
  int last_rc;
  char last_err[256];
} bench_done;

static void on_done(void *user, int rc, const char *json, const al_error *err) {
  (void)json;
  bench_done *d = user;
  d->done++;
  if (rc) {
    d->failed++;
    d->last_rc = rc;
    snprintf(d->last_err, sizeof d->last_err, "%.200s", err ? err->message : "");
  }
}

static void check_done(const char *what, const bench_done *d) {
  if (!d->failed) return;
  fprintf(stderr, "airlock_bench: %s: %zu calls failed, the last with %s: %s\n", what, d->failed,
          al_err_name(d->last_rc), d->last_err);
  exit(1);
}

/* B's render round trip while A, on the same (single) worker, is parked: A's event is
 * re-submitted whenever it completes, and B is rendered synchronously in between; a
 * sample counts if A's call was still outstanding when it started. Up to `rounds` of A's
 * waits: on a worker that blocks on A, each round yields one sample of about
 * WAIT_PARK_MS, so the run stays short and the figure shows it. */
static bench_stat wait_parked(al_host *h, const char *a, const char *b, const char *handler,
                              const char *args, size_t n, size_t rounds) {
  double *v = calloc(n, sizeof *v);
  size_t got = 0;
  for (size_t round = 0; round < rounds && got < n; round++) {
    bench_done d = {0};
    int rc = al_event_async(h, a, "w", handler, args, on_done, &d);
    if (rc) die("al_event_async(A)", rc, NULL);
    while (!d.done && got < n) {
      double t0 = now_us();
      render_once(h, b);
      v[got++] = now_us() - t0;
      al_host_dispatch(h, 0);
    }
    while (!d.done) al_host_dispatch(h, -1);
    check_done("A's parked event", &d);
  }
  bench_stat s = stat_of(v, got);
  free(v);
  return s;
}

/* Render latency of B while A awaits: A on pi.sleep(WAIT_PARK_MS), then A on a pi.http
 * answer the loopback server delays by WAIT_PARK_MS; one worker, so they share it. The
 * same renders with A idle are the baseline. */
static void wl_wait(const bench_opts *o, bench_report *r) {
  size_t n = o->quick ? 1000 : 5000, rounds = o->quick ? 3 : 10;
  httpd_test *srv = NULL;
  if (httpd_test_start(&srv)) {
    fprintf(stderr, "airlock_bench: cannot start the loopback server: %s\n", strerror(errno));
    exit(1);
  }
  httpd_test_route(srv, "/park", 200, NULL, "ok", 2, WAIT_PARK_MS);
  al_host *h = host_new_workers(o, 0, 1);
  char a[AL_INSTANCE_ID_MAX], b[AL_INSTANCE_ID_MAX], url[96], args[128];
  load_waiter(h, a, sizeof a);
  load_counter(h, b, sizeof b);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/park", httpd_test_port(srv));
  /* warm up: B's renders, and A's first touch of `pi` (installed on first use) */
  for (size_t i = 0; i < 200; i++) render_once(h, b);
  al_error e;
  int rc = al_event(h, a, "w", "nap", "0", NULL, &e);
  if (rc) die("al_event(A nap 0)", rc, &e);

  double *v = calloc(n, sizeof *v);
  for (size_t i = 0; i < n; i++) {
    double t0 = now_us();
    render_once(h, b);
    v[i] = now_us() - t0;
  }
  r->wait_idle_us = stat_of(v, n);
  free(v);
  row(o, "render of B, A idle (1 worker)", &r->wait_idle_us, "us");

  snprintf(args, sizeof args, "%d", WAIT_PARK_MS);
  r->wait_sleep_us = wait_parked(h, a, b, "nap", args, n, rounds);
  row(o, "render of B while A awaits pi.sleep(300)", &r->wait_sleep_us, "us");
  snprintf(args, sizeof args, "\"%s\"", url);
  r->wait_http_us = wait_parked(h, a, b, "get", args, n, rounds);
  row(o, "render of B while A awaits pi.http (300 ms)", &r->wait_http_us, "us");
  /* What a call that computes instead of awaiting costs its neighbours: A spins 100 ms;
   * B shares its worker here, and has a worker of its own below. */
  snprintf(args, sizeof args, "%d", WAIT_SPIN_MS);
  r->spin_same_us = wait_parked(h, a, b, "spin", args, n, rounds);
  row(o, "render of B while A computes 100 ms (same worker)", &r->spin_same_us, "us");
  al_host_free(h);
  h = host_new_workers(o, 0, 2);
  load_waiter(h, a, sizeof a);
  load_counter(h, b, sizeof b); /* the least busy worker: the other one */
  for (size_t i = 0; i < 200; i++) render_once(h, b);
  r->spin_other_us = wait_parked(h, a, b, "spin", args, n, rounds);
  row(o, "render of B while A computes 100 ms (other worker)", &r->spin_other_us, "us");
  al_host_free(h);
  httpd_test_stop(srv);
}

/* HTTP100_N instances, each with one async event awaiting pi.http to a loopback route
 * that answers after HTTP100_DELAY_MS, all submitted at once; a sample is the wall time
 * from the first submission to the last callback. Default worker count. The ratio to one
 * latency says how many latencies the batch took: about 1 when the waits overlap, about
 * HTTP100_N / workers when each worker performs its hostcalls one after another. */
static void wl_http100(const bench_opts *o, bench_report *r) {
  size_t rounds = o->quick ? 3 : 7;
  httpd_test *srv = NULL;
  if (httpd_test_start(&srv)) {
    fprintf(stderr, "airlock_bench: cannot start the loopback server: %s\n", strerror(errno));
    exit(1);
  }
  httpd_test_route(srv, "/lat", 200, NULL, "ok", 2, HTTP100_DELAY_MS);
  al_host *h = host_new(o, 2 * HTTP100_N);
  char(*ids)[AL_INSTANCE_ID_MAX] = calloc(HTTP100_N, sizeof *ids);
  for (size_t i = 0; i < HTTP100_N; i++) load_waiter(h, ids[i], sizeof ids[i]);
  char args[128];
  snprintf(args, sizeof args, "\"http://127.0.0.1:%d/lat\"", httpd_test_port(srv));
  double *v = calloc(rounds, sizeof *v);
  for (size_t round = 0; round <= rounds; round++) { /* round 0 warms up */
    bench_done d = {0};
    double t0 = now_us();
    for (size_t i = 0; i < HTTP100_N; i++) {
      int rc = al_event_async(h, ids[i], "w", "get", args, on_done, &d);
      if (rc) die("al_event_async(get)", rc, NULL);
    }
    while (d.done < HTTP100_N) al_host_dispatch(h, -1);
    double dt = (now_us() - t0) / 1000.0;
    check_done("http100", &d);
    if (round) v[round - 1] = dt;
  }
  r->http100_ms = stat_of(v, rounds);
  r->http100_ratio = r->http100_ms.median / HTTP100_DELAY_MS;
  if (!o->json) {
    row(o, "100 concurrent pi.http awaits (50 ms each)", &r->http100_ms, "ms");
    printf("  %-44s %12.1f x one latency\n", "  wall time / one 50 ms latency", r->http100_ratio);
  }
  al_host_free(h);
  free(ids);
  free(v);
  httpd_test_stop(srv);
}

/* ---- state size (issue 14) ----------------------------------------------------------- */

static const char state_src[] =
    "definePlugin(({ ui }) => ({ title: 'State', widgets: { main: {"
    "  render({ pluginState }) { return ui.text('n=' + pluginState.n); },"
    "  handlers: { inc({ pluginState, dispatchPluginAction }) {"
    "    dispatchPluginAction('state/merge', { n: pluginState.n + 1 }); } } } } }));";

/* The same render and handler for raw QuickJS: state in as JSON text, out as JSON text. */
static const char raw_src[] =
    "var ui = { text: (x) => ({ kind: 'text', text: String(x) }) };"
    "function render(s) { const pluginState = JSON.parse(s);"
    "  return JSON.stringify(ui.text('n=' + pluginState.n)); }"
    "function event(s) { const pluginState = JSON.parse(s);"
    "  return JSON.stringify([{ scope: 'plugin', actionType: 'state/merge',"
    "    payload: { n: pluginState.n + 1 } }]); }";

/* {"n":0,"items":[{"id":0,"title":"item 0","done":false},...]}: about 40 bytes an item. */
static char *state_text(unsigned items) {
  size_t cap = 64 + (size_t)items * 64, len = 0;
  char *t = malloc(cap);
  if (!t) exit(1);
  len += (size_t)snprintf(t + len, cap - len, "{\"n\":0,\"items\":[");
  for (unsigned i = 0; i < items; i++)
    len += (size_t)snprintf(t + len, cap - len, "%s{\"id\":%u,\"title\":\"item %u\",\"done\":false}",
                            i ? "," : "", i, i);
  snprintf(t + len, cap - len, "]}");
  return t;
}

/* One raw call: fn(state text) -> string, freed. */
static void raw_call(JSContext *ctx, JSValueConst fn, const char *state, size_t len) {
  JSValue arg = JS_NewStringLen(ctx, state, len);
  JSValue r = JS_Call(ctx, fn, JS_UNDEFINED, 1, &arg);
  if (!JS_IsString(r)) {
    fprintf(stderr, "airlock_bench: raw QuickJS call failed\n");
    exit(1);
  }
  size_t n;
  const char *out = JS_ToCStringLen(ctx, &n, r);
  JS_FreeCString(ctx, out);
  JS_FreeValue(ctx, r);
  JS_FreeValue(ctx, arg);
}

static void wl_state(const bench_opts *o, bench_report *r) {
  JSRuntime *rt = JS_NewRuntime();
  JSContext *ctx = rt ? JS_NewContext(rt) : NULL;
  JSValue ev = ctx ? JS_Eval(ctx, raw_src, sizeof raw_src - 1, "<raw>", JS_EVAL_TYPE_GLOBAL)
                   : JS_EXCEPTION;
  if (JS_IsException(ev)) {
    fprintf(stderr, "airlock_bench: raw QuickJS set-up failed\n");
    exit(1);
  }
  JS_FreeValue(ctx, ev);
  JSValue g = JS_GetGlobalObject(ctx);
  JSValue f_render = JS_GetPropertyStr(ctx, g, "render"), f_event = JS_GetPropertyStr(ctx, g, "event");
  al_host *h = host_new(o, 0);
  for (size_t k = 0; k < 4; k++) {
    unsigned items = state_items[k];
    size_t n = o->quick ? 100 : (items >= 10000 ? 300 : 2000);
    double *v = calloc(n, sizeof *v);
    char *st = state_text(items);
    size_t st_len = strlen(st);
    char id[AL_INSTANCE_ID_MAX];
    al_error e;
    int rc = al_load(h, "statebench", state_src, sizeof state_src - 1, NULL, id, sizeof id, &e);
    if (rc) die("al_load(state)", rc, &e);
    if ((rc = al_state_set(h, id, st, &e))) die("al_state_set", rc, &e);
    char *tree;
    for (size_t i = 0; i < 20 + n; i++) {
      double t0 = now_us();
      if ((rc = al_render(h, id, "main", &tree, &e))) die("al_render(state)", rc, &e);
      if (i >= 20) v[i - 20] = now_us() - t0;
      al_free(tree);
    }
    r->st_render[k] = stat_of(v, n);
    for (size_t i = 0; i < 20 + n; i++) {
      double t0 = now_us();
      if ((rc = al_event(h, id, "main", "inc", NULL, NULL, &e))) die("al_event(state)", rc, &e);
      if ((rc = al_render(h, id, "main", &tree, &e))) die("al_render(state)", rc, &e);
      if (i >= 20) v[i - 20] = now_us() - t0;
      al_free(tree);
    }
    r->st_event[k] = stat_of(v, n);
    if ((rc = al_unload(h, id, &e))) die("al_unload(state)", rc, &e);
    for (size_t i = 0; i < 20 + n; i++) {
      double t0 = now_us();
      raw_call(ctx, f_render, st, st_len);
      if (i >= 20) v[i - 20] = now_us() - t0;
    }
    r->raw_render[k] = stat_of(v, n);
    for (size_t i = 0; i < 20 + n; i++) {
      double t0 = now_us();
      raw_call(ctx, f_event, st, st_len);
      raw_call(ctx, f_render, st, st_len);
      if (i >= 20) v[i - 20] = now_us() - t0;
    }
    r->raw_event[k] = stat_of(v, n);
    if (!o->json) {
      char name[64];
      snprintf(name, sizeof name, "state %u items: render", items);
      row(o, name, &r->st_render[k], "us");
      snprintf(name, sizeof name, "state %u items: event -> re-render", items);
      row(o, name, &r->st_event[k], "us");
      snprintf(name, sizeof name, "  raw QuickJS, %u items: render", items);
      row(o, name, &r->raw_render[k], "us");
      snprintf(name, sizeof name, "  raw QuickJS, %u items: event + render", items);
      row(o, name, &r->raw_event[k], "us");
    }
    free(st);
    free(v);
  }
  if (!o->json) {
    printf("  %-44s %12.2f x\n", "render 10k / render 0", r->st_render[3].median / r->st_render[0].median);
    printf("  %-44s %12.2f x\n", "event 10k / event 0", r->st_event[3].median / r->st_event[0].median);
    printf("  %-44s %12.2f x\n", "render 0 / raw QuickJS render 0", r->st_render[0].median / r->raw_render[0].median);
    printf("  %-44s %12.1f x\n", "raw QuickJS render 10k / render 10k", r->raw_render[3].median / r->st_render[3].median);
    printf("  %-44s %12.1f x\n", "raw QuickJS event 10k / event 10k", r->raw_event[3].median / r->st_event[3].median);
  }
  al_host_free(h);
  JS_FreeValue(ctx, f_render);
  JS_FreeValue(ctx, f_event);
  JS_FreeValue(ctx, g);
  JS_FreeContext(ctx);
  JS_FreeRuntime(rt);
}

/* ---- main ----------------------------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr,
          "usage: airlock_bench [--isolation thread|process] [--quick] [--json]\n"
          "                     [--plugin counter.js] [--worker airlock-worker]\n"
          "                     [--only cold,render,event,memory,throughput,curve,overshoot,emit,\n"
          "                             wait,http100,state]\n");
  exit(2);
}

static int wanted(const char *only, const char *name) {
  if (!only) return 1;
  size_t n = strlen(name);
  for (const char *p = strstr(only, name); p; p = strstr(p + 1, name))
    if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
  return 0;
}

int main(int argc, char **argv) {
  bench_opts o = {.isolation = AL_ISOLATION_THREAD, .plugin_path = AL_SOURCE_DIR "/examples/plugins/counter.js"};
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) o.quick = 1;
    else if (!strcmp(argv[i], "--json")) o.json = 1;
    else if (!strcmp(argv[i], "--isolation") && i + 1 < argc) {
      const char *m = argv[++i];
      if (!strcmp(m, "thread")) o.isolation = AL_ISOLATION_THREAD;
      else if (!strcmp(m, "process")) o.isolation = AL_ISOLATION_PROCESS;
      else if (!strcmp(m, "inline")) o.isolation = AL_ISOLATION_INLINE;
      else usage();
    } else if (!strcmp(argv[i], "--plugin") && i + 1 < argc) o.plugin_path = argv[++i];
    else if (!strcmp(argv[i], "--worker") && i + 1 < argc) o.worker_path = argv[++i];
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else usage();
  }
  plugin_src = read_file(o.plugin_path, &plugin_len);
  static const char *iso_names[] = {"thread", "inline", "process"};
  const char *iso = iso_names[o.isolation];
  if (!o.json)
    printf("Airlock %s, %s isolation%s                     median          p99\n", al_version(),
           iso, o.quick ? ", quick" : "");

  bench_report r = {0};
  if (wanted(only, "cold")) wl_cold_load(&o, &r);
  if (wanted(only, "render")) wl_render(&o, &r);
  if (wanted(only, "event")) wl_event(&o, &r);
  if (wanted(only, "memory")) wl_memory(&o, &r);
  if (wanted(only, "trust")) wl_trust(&o, &r);
  if (wanted(only, "throughput")) wl_throughput(&o, &r);
  if (wanted(only, "curve")) wl_curve(&o, &r);
  if (wanted(only, "overshoot")) wl_overshoot(&o, &r);
  if (wanted(only, "wait")) wl_wait(&o, &r);
  if (wanted(only, "http100")) wl_http100(&o, &r);
  if (wanted(only, "state")) wl_state(&o, &r);
#ifdef AL_HAVE_EMIT
  if (wanted(only, "emit")) wl_emit(&o, &r);
  const char *emit_note = NULL;
#else
  const char *emit_note = "pending: al_emit not in this build";
  if (!o.json && wanted(only, "emit")) printf("  %-44s %s\n", "emit", emit_note);
#endif

  if (o.json) {
    printf("{\"isolation\":\"%s\",\"quick\":%s,\"cores\":%ld,", iso, o.quick ? "true" : "false",
           sysconf(_SC_NPROCESSORS_ONLN));
    json_stat("cold_load_us", &r.cold_load_us, r.cold_load_us.n > 0);
    json_stat("render_us", &r.render_us, r.render_us.n > 0);
    json_stat("event_us", &r.event_us, r.event_us.n > 0);
    json_stat("timeout_overshoot_ms", &r.overshoot_ms, r.overshoot_ms.n > 0);
    json_stat("emit_noop_ns", &r.emit_noop_ns, r.have_emit);
    json_stat("emit_noop_result_ns", &r.emit_noop_result_ns, r.have_emit);
    json_stat("emit_10_of_1000_us", &r.emit_10_us, r.have_emit);
    if (emit_note) printf("\"emit_note\":\"%s\",", emit_note);
    json_stat("wait_idle_render_us", &r.wait_idle_us, r.wait_idle_us.n > 0);
    json_stat("wait_sleep_render_us", &r.wait_sleep_us, r.wait_sleep_us.n > 0);
    json_stat("wait_http_render_us", &r.wait_http_us, r.wait_http_us.n > 0);
    json_stat("spin_same_render_us", &r.spin_same_us, r.spin_same_us.n > 0);
    json_stat("spin_other_render_us", &r.spin_other_us, r.spin_other_us.n > 0);
    json_stat("http100_wall_ms", &r.http100_ms, r.http100_ms.n > 0);
    if (r.http100_ms.n) printf("\"http100_ratio\":%.2f,", r.http100_ratio);
    if (r.trust_rss_kib > 0)
      printf("\"trust_process_rss_kib\":%.1f,\"trust_process_pss_kib\":%.1f,", r.trust_rss_kib, r.trust_pss_kib);
    printf("\"rss_per_instance_kib\":%.2f,\"worker_rss_per_instance_kib\":%.2f,"
           "\"throughput_renders_per_s\":%.1f,\"latency_vs_instances\":[",
           r.rss_per_instance_kib, r.worker_rss_per_instance_kib, r.throughput);
    for (size_t c = 0; c < 4; c++)
      printf("%s{\"instances\":%u,\"median_us\":%.3f,\"p99_us\":%.3f}", c ? "," : "", curve_counts[c],
             r.curve[c].median, r.curve[c].p99);
    printf("],\"state\":[");
    for (size_t k = 0; k < 4 && r.st_render[0].n; k++)
      printf("%s{\"items\":%u,\"render_us\":%.3f,\"event_us\":%.3f,\"raw_render_us\":%.3f,"
             "\"raw_event_us\":%.3f}",
             k ? "," : "", state_items[k], r.st_render[k].median, r.st_event[k].median,
             r.raw_render[k].median, r.raw_event[k].median);
    printf("]}\n");
  }
  free(plugin_src);
  return 0;
}

/*
 * test_fault.c: every out-of-memory branch on the main paths, run (issue 15). The binary
 * is linked with the failing allocator (fault_alloc.h: libairlock's own allocations and
 * jansson's; QuickJS heaps deliberately left out). For each path (load, render, event,
 * emit, a tool call, state and the read-only reports, package install from a directory
 * and from a tarball, a pi package's install (wants derived and granted), load of an
 * installed package, a pi command whose pi.events emit
 * reaches another extension, the load of one whose async factory is still waiting, a pi
 * command whose ctx.ui questions the ask callback answers with text) the
 * test counts the path's
 * allocations in a clean run,
 * then for N = 1, 2, ... arms "fail allocation N", runs the path once, disarms, and
 * checks:
 *   - the call returned 0 (the failure was recovered from, e.g. an optional cache or a
 *     log line) or an error: AL_ENO_MEMORY (OUT_OF_MEMORY), or one of the few the path
 *     lists with the reason it may answer so (below), with err filled: code == rc and a
 *     message;
 *   - what a call that succeeded returned is whole where it can be told (emit: a
 *     handler's block is the aggregate's action; tool: exactly the handler's value);
 *   - the host is still usable: the same path, run again with no fault, succeeds;
 *   - nothing leaked: after the path's host (or database) is freed, the live allocations
 *     counted by the hook are back to what they were before it was made; ASan's leak
 *     check at exit covers what the count cannot attribute.
 * The loop ends when an armed run completes without reaching its allocation N, past the
 * clean run's count.
 *
 * Bounded time: a path with more than FAULT_POINTS (default 1000) allocations is sampled
 * with a fixed stride (every k-th allocation, k = count / FAULT_POINTS, rounded up), the
 * same points on every run; the first FAULT_HEAD allocations are always all tried, since
 * setup code is where most distinct branches are. Today every path is under 1000 (the
 * largest, load-package, about 510), so every allocation is tried: about 25 s under ASan
 * on two cores. FAULT_POINTS=0 in the environment never samples.
 *
 * Process isolation is the main mode: plugin code runs in airlock-worker (not wrapped),
 * so only the host's allocations fail, as in production. An inline host covers the VM
 * glue (src/vm, src/worker/exec.c) in-process, with the QuickJS heap on fault_heap_alloc.
 *
 * With threads, which allocation is the Nth can differ between runs; nothing asserted
 * depends on it. To look at one case: FAULT_PATH=<name> FAULT_ONLY=<N> FAULT_TRACE=1
 * runs only that one and prints the failed allocation's stack.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "airlock.h"
#include "fault_alloc.h"
#include "pkg/db.h"
#include "pkg/install.h"

#define FAULT_HEAD 64

/* A plugin with a widget, a handler that changes state, and a hook handler. */
static const char *PLUGIN =
    "pi.on('PreToolUse', (e) => {"
    "  const cmd = String((e.tool_input || {}).command || '');"
    "  if (cmd.startsWith('no')) return { block: 'refused: ' + cmd };"
    "});"
    "definePlugin(({ ui }) => ({ id: 'probe', title: 'Probe', initialState: { n: 0 },"
    "  widgets: { main: {"
    "    render({ pluginState }) {"
    "      return ui.panel([ui.text('n=' + Number(pluginState?.n ?? 0)),"
    "                       ui.button('More', { onClick: { handler: 'inc' } })]);"
    "    },"
    "    handlers: { inc({ pluginState, dispatchPluginAction }, step) {"
    "      dispatchPluginAction('state/merge', { n: Number(pluginState?.n ?? 0) + Number(step ?? 1) });"
    "    } } } } }));";

/* A plugin with one tool, which answers with what it was given. */
static const char *TOOLER = "pi.registerTool({ name: 'echo', description: 'd', parameters: { type: 'object' },"
                            "  handler: (a) => ({ got: a.x, list: [a.x, 'two'] }) });";

typedef struct fctx {
  al_host *h;
  char id[AL_INSTANCE_ID_MAX];  /* the instance the calls use */
  char made[AL_INSTANCE_ID_MAX]; /* what a load path made, for undo */
  char home[128];
  char pkgdir[160];  /* a package directory */
  char tgz[160];     /* the same package as a tarball */
  pkg_db *db;
  al_isolation iso;
  char *out; /* what the path returned, for its check (after the fault is disarmed) */
} fctx;

typedef struct fpath {
  const char *name;
  void (*setup)(fctx *c);
  int (*run)(fctx *c, al_error *e); /* the path; frees what it got back */
  void (*undo)(fctx *c);            /* after a run that succeeded; may be NULL */
  void (*teardown)(fctx *c);
  /* Checks (and frees) c->out after a run that returned 0, unarmed; NULL: none. Returns
   * NULL or what is wrong with it. */
  const char *(*check)(fctx *c);
  /* Codes besides OUT_OF_MEMORY this path may answer under a fault, 0-terminated. */
  int also[4];
} fpath;

/* ---- hosts ---------------------------------------------------------------------------- */

static void host_make(fctx *c, al_isolation iso, bool with_home) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = 1;
  cfg.watchdog_grace_ms = 5000; /* sanitized builds are slow; this is not about the watchdog */
  cfg.alloc = fault_heap_alloc;
  if (with_home) cfg.home = c->home;
  al_error e;
  int rc = al_host_new(&cfg, &c->h, &e);
  if (rc) fail_msg("host: %s: %s", al_err_name(rc), e.message);
  c->iso = iso;
}

static void load_probe(fctx *c, char *id) {
  al_error e;
  al_load_opts o = {.grants_json = "{}"};
  int rc = al_load(c->h, "probe", PLUGIN, strlen(PLUGIN), &o, id, AL_INSTANCE_ID_MAX, &e);
  if (rc) fail_msg("load: %s: %s", al_err_name(rc), e.message);
}

static void setup_process(fctx *c) {
  host_make(c, AL_ISOLATION_PROCESS, false);
  load_probe(c, c->id);
}

static void setup_inline(fctx *c) {
  host_make(c, AL_ISOLATION_INLINE, false);
  load_probe(c, c->id);
}

static void setup_tool(fctx *c) {
  host_make(c, AL_ISOLATION_PROCESS, false);
  al_error e;
  al_load_opts o = {.manifest_json = "{\"id\":\"tooler\",\"version\":\"1.0.0\",\"capabilities\":{\"register_tools\":true}}"};
  int rc = al_load(c->h, "tooler", TOOLER, strlen(TOOLER), &o, c->id, sizeof c->id, &e);
  if (rc) fail_msg("load: %s: %s", al_err_name(rc), e.message);
}

static void teardown_host(fctx *c) {
  al_host_free(c->h);
  c->h = NULL;
}

/* ---- the host paths ------------------------------------------------------------------- */

static int run_load(fctx *c, al_error *e) {
  al_load_opts o = {.grants_json = "{}"};
  return al_load(c->h, "probe", PLUGIN, strlen(PLUGIN), &o, c->made, sizeof c->made, e);
}

static void undo_load(fctx *c) {
  al_error e;
  if (al_unload(c->h, c->made, &e)) fail_msg("unload: %s", e.message);
}

static int run_render(fctx *c, al_error *e) {
  char *out = NULL;
  int rc = al_render(c->h, c->id, "main", &out, e);
  if (!rc && !strstr(out, "n=")) fail_msg("render: %s", out);
  al_free(out);
  return rc;
}

static int run_event(fctx *c, al_error *e) {
  char *out = NULL;
  int rc = al_event(c->h, c->id, "main", "inc", "1", &out, e);
  if (!rc && !strstr(out, "state/merge")) fail_msg("event: %s", out);
  al_free(out);
  return rc;
}

static int run_emit(fctx *c, al_error *e) {
  return al_emit(c->h, "PreToolUse", "{\"tool_name\":\"bash\",\"tool_input\":{\"command\":\"no way\"}}",
                 &c->out, e);
}

/* A handler's error may leave the operation to go on (the spec: a failed handler is not
 * a decision), but a block the handler did return must be the aggregate's action: out of
 * memory must never turn a guard's "block" into "continue". */
static const char *check_emit(fctx *c) {
  json_t *r = json_loads(c->out, 0, NULL);
  al_free(c->out);
  c->out = NULL;
  if (!r) return "the aggregate is not JSON";
  const char *why = NULL;
  json_t *res = json_object_get(r, "results"), *x;
  size_t i;
  bool blocked = false;
  json_array_foreach(res, i, x) {
    const char *a = json_string_value(json_object_get(x, "action"));
    blocked = blocked || (a && !strcmp(a, "block"));
  }
  const char *action = json_string_value(json_object_get(r, "action"));
  if (!action || !json_is_array(res) || json_array_size(res) != 1) why = "the aggregate lacks its action or results";
  else if (blocked && strcmp(action, "block")) why = "a handler's block was lost from the aggregate";
  json_decref(r);
  return why;
}

static int run_state(fctx *c, al_error *e) {
  char *out = NULL;
  int rc = al_state_get(c->h, c->id, &out, e);
  al_free(out);
  if (rc) return rc;
  rc = al_state_set(c->h, c->id, "{\"n\":5,\"q\":\"x\"}", e);
  if (rc) return rc;
  rc = al_global_state(c->h, c->id, &out, e);
  al_free(out);
  return rc;
}

static int run_tool(fctx *c, al_error *e) { return al_tool_call(c->h, "echo", "{\"x\":7}", &c->out, e); }

/* A tool call that succeeded answered exactly what the handler returned. */
static const char *check_tool(fctx *c) {
  json_t *r = json_loads(c->out, 0, NULL), *want = json_loads("{\"got\":7,\"list\":[7,\"two\"]}", 0, NULL);
  al_free(c->out);
  c->out = NULL;
  const char *why = !r ? "the result is not JSON" : !json_equal(r, want) ? "the result is not the handler's" : NULL;
  json_decref(r);
  json_decref(want);
  return why;
}

/* The read-only reports an embedder polls. */
static int run_reports(fctx *c, al_error *e) {
  char *out = NULL;
  int rc;
  if ((rc = al_plugin_info(c->h, c->id, &out, e))) return rc;
  al_free(out);
  if ((rc = al_instances(c->h, &out, e))) return rc;
  al_free(out);
  if ((rc = al_health(c->h, &out, e))) return rc;
  al_free(out);
  if ((rc = al_audit(c->h, 0, &out, e))) return rc;
  al_free(out);
  if ((rc = al_hooks(c->h, &out, e))) return rc;
  al_free(out);
  if ((rc = al_timeline(c->h, &out, e))) return rc;
  al_free(out);
  if ((rc = al_trace(c->h, &out, e))) return rc;
  al_free(out);
  return 0;
}

/* ---- pi extensions: a command whose pi.events emit reaches another extension ---------- */

static const char *PI_EMITTER = "export default function (pi) {"
                                "  pi.registerCommand('ping', { handler: async (a) => { pi.events.emit('chat', { a }); } });"
                                "}";
static const char *PI_LISTENER = "export default function (pi) {"
                                 "  pi.events.on('chat', (d) => { pi.appendEntry('heard', { a: d.a }); });"
                                 "}";

static void write_file(const char *path, const char *text);
static void sh(const char *fmt, ...);

static void setup_pi(fctx *c) {
  snprintf(c->pkgdir, sizeof c->pkgdir, "/tmp/airlock-fault-pi-XXXXXX");
  if (!mkdtemp(c->pkgdir)) fail_msg("mkdtemp: %s", strerror(errno));
  host_make(c, AL_ISOLATION_PROCESS, false);
  const char *src[] = {PI_EMITTER, PI_LISTENER}, *name[] = {"emitter.ts", "listener.ts"};
  for (int i = 0; i < 2; i++) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", c->pkgdir, name[i]);
    write_file(path, src[i]);
    al_error e;
    int rc = al_load_package(c->h, path, NULL, c->id, sizeof c->id, &e);
    if (rc) fail_msg("load %s: %s: %s", name[i], al_err_name(rc), e.message);
  }
}

static void teardown_pi(fctx *c) {
  teardown_host(c);
  sh("rm -rf '%s'", c->pkgdir);
}

static int run_pi_bus(fctx *c, al_error *e) { return al_command_call(c->h, "ping", "x", &c->out, e); }

/* The load of a pi extension whose async factory still waits on a timer when the load
 * answers, so the host waits for it with a call of its own (host_pi_settle). */
static const char *PI_LATE = "export default async function (pi) {"
                             "  await new Promise((r) => setTimeout(r, 1));"
                             "  pi.registerCommand('late', { handler: async () => {} });"
                             "}";

static int run_pi_late(fctx *c, al_error *e) {
  char path[256];
  snprintf(path, sizeof path, "%s/late.mjs", c->pkgdir);
  write_file(path, PI_LATE);
  int rc = al_load_package(c->h, path, NULL, c->made, sizeof c->made, e);
  if (!rc) { /* loaded means its factory finished: the command it registers late is there */
    char *out = NULL;
    rc = al_command_call(c->h, "late", "", &out, e);
    al_free(out);
  }
  return rc;
}

/* A command that succeeded carries the listener's intent, or the error that says why the
 * delivery did not happen: never a silently lost delivery. */
static const char *check_pi_bus(fctx *c) {
  json_t *r = json_loads(c->out, 0, NULL);
  al_free(c->out);
  c->out = NULL;
  if (!r) return "the answer is not JSON";
  size_t ni = json_array_size(json_object_get(r, "intents")), ne = json_array_size(json_object_get(r, "errors"));
  const char *why = ni == 1 && ne == 0 ? NULL : ni == 0 && ne == 1 ? NULL : "the listener's intent was lost";
  json_decref(r);
  return why;
}

/* ---- pi extensions: ctx.ui text questions answered through the ask callback ---------- */

static const char *PI_UI = "export default function (pi) {"
                           "  pi.registerCommand('ask', { handler: async (a, ctx) => {"
                           "    const kind = await ctx.ui.select('Kind?', ['todo', 'idea']);"
                           "    const note = await ctx.ui.input('Note?', 'one line');"
                           "    pi.appendEntry('r', { kind: kind ?? null, note: note ?? null });"
                           "  } });"
                           "}";

static void pi_ui_ask(void *user, al_approval *q, const char *plugin_id, const char *action, const char *resource) {
  (void)user;
  (void)plugin_id;
  (void)resource;
  al_approval_answer_text(q, !strcmp(action, "ui.select") ? "idea" : "a note");
}

static void setup_pi_ui(fctx *c) {
  snprintf(c->pkgdir, sizeof c->pkgdir, "/tmp/airlock-fault-pi-XXXXXX");
  if (!mkdtemp(c->pkgdir)) fail_msg("mkdtemp: %s", strerror(errno));
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_PROCESS;
  cfg.workers = 1;
  cfg.watchdog_grace_ms = 5000;
  cfg.ask = pi_ui_ask;
  al_error e;
  int rc = al_host_new(&cfg, &c->h, &e);
  if (!rc) rc = al_pi_context(c->h, "{\"hasUI\":true}", &e);
  if (rc) fail_msg("host: %s: %s", al_err_name(rc), e.message);
  c->iso = AL_ISOLATION_PROCESS;
  char path[256];
  snprintf(path, sizeof path, "%s/asks.ts", c->pkgdir);
  write_file(path, PI_UI);
  if ((rc = al_load_package(c->h, path, NULL, c->id, sizeof c->id, &e)))
    fail_msg("load asks.ts: %s: %s", al_err_name(rc), e.message);
}

static int run_pi_ui(fctx *c, al_error *e) { return al_command_call(c->h, "ask", "", &c->out, e); }

/* Each answer is the one given or, when memory ran out on its way, none (dismissed):
 * never a partial or another text. */
static const char *check_pi_ui(fctx *c) {
  json_t *r = json_loads(c->out, 0, NULL);
  al_free(c->out);
  c->out = NULL;
  if (!r) return "the answer is not JSON";
  const json_t *d = json_object_get(json_array_get(json_object_get(r, "intents"), 0), "data");
  const json_t *kind = json_object_get(d, "kind"), *note = json_object_get(d, "note");
  const char *why = !d ? "the extension's entry is missing"
                    : !(json_is_null(kind) || (json_is_string(kind) && !strcmp(json_string_value(kind), "idea")))
                        ? "the select's answer is neither the one given nor none"
                    : !(json_is_null(note) || (json_is_string(note) && !strcmp(json_string_value(note), "a note")))
                        ? "the input's answer is neither the one given nor none"
                        : NULL;
  json_decref(r);
  return why;
}

/* ---- packages ------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fclose(f)) fail_msg("cannot write %s: %s", path, strerror(errno));
}

static void sh(const char *fmt, ...) {
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  if (system(cmd)) fail_msg("command failed: %s", cmd);
}

/* A temporary home, a package directory and its tarball (npm's package/ layout). */
static void make_package(fctx *c) {
  snprintf(c->home, sizeof c->home, "/tmp/airlock-fault-XXXXXX");
  if (!mkdtemp(c->home)) fail_msg("mkdtemp: %s", strerror(errno));
  snprintf(c->pkgdir, sizeof c->pkgdir, "%s/src/package", c->home);
  sh("mkdir -p '%s' '%s/home'", c->pkgdir, c->home);
  char path[256];
  snprintf(path, sizeof path, "%s/airlock.json", c->pkgdir);
  write_file(path, "{\"id\":\"probe\",\"version\":\"1.0.0\",\"title\":\"Probe\",\"main\":\"index.js\","
                   "\"capabilities\":{\"events\":[\"PreToolUse\"],\"kv\":true}}\n");
  snprintf(path, sizeof path, "%s/index.js", c->pkgdir);
  write_file(path, PLUGIN);
  snprintf(c->tgz, sizeof c->tgz, "%s/probe.tgz", c->home);
  sh("tar -czf '%s' -C '%s/src' package", c->tgz, c->home);
  /* the database lives in home/home so the sources stay out of it */
  size_t n = strlen(c->home);
  snprintf(c->home + n, sizeof c->home - n, "/home");
}

static void remove_package(fctx *c) {
  char *slash = strrchr(c->home, '/');
  *slash = '\0'; /* back to the temporary directory itself */
  sh("rm -rf '%s'", c->home);
}

static void setup_db(fctx *c) {
  make_package(c);
  al_error e;
  int rc = pkg_db_open(c->home, &c->db, &e);
  if (rc) fail_msg("db: %s", e.message);
}

static void teardown_db(fctx *c) {
  pkg_db_close(c->db);
  c->db = NULL;
  remove_package(c);
}

static int install(fctx *c, const char *what, al_error *e) {
  json_t *report = NULL;
  int rc = pkg_install(c->db, what, NULL, &report, e);
  if (!rc && !json_is_object(report)) fail_msg("install %s: no report", what);
  json_decref(report);
  return rc;
}

static int run_install_dir(fctx *c, al_error *e) { return install(c, c->pkgdir, e); }
static int run_install_tgz(fctx *c, al_error *e) { return install(c, c->tgz, e); }

/* A pi package beside the Airlock one: installed with its wants derived and granted. */
static const char *PI_PKG_EXT = "import { readFileSync } from 'node:fs';"
                                "export default function (pi) {"
                                "  pi.registerCommand('st', { handler: async () => {"
                                "    await pi.exec('git', ['status']);"
                                "    try { readFileSync('notes.md'); } catch {}"
                                "  } });"
                                "}";

static void setup_pi_db(fctx *c) {
  setup_db(c);
  snprintf(c->pkgdir + strlen(c->pkgdir), sizeof c->pkgdir - strlen(c->pkgdir), "-pi");
  sh("mkdir -p '%s'", c->pkgdir);
  char path[256];
  snprintf(path, sizeof path, "%s/package.json", c->pkgdir);
  write_file(path, "{\"name\":\"probe-pi\",\"version\":\"1.0.0\",\"pi\":{\"extensions\":[\"./ext.ts\"]}}\n");
  snprintf(path, sizeof path, "%s/ext.ts", c->pkgdir);
  write_file(path, PI_PKG_EXT);
}

/* The install's report names both wants and the grant is what was wanted. */
static int run_install_pi(fctx *c, al_error *e) {
  json_t *report = NULL;
  pkg_install_opts o = {.replace = true, .pi_grant_all = true};
  int rc = pkg_install(c->db, c->pkgdir, &o, &report, e);
  if (!rc) {
    const json_t *g = json_object_get(report, "granted");
    if (json_array_size(json_object_get(report, "wants")) != 2 || !json_object_get(g, "exec") ||
        !json_object_get(g, "fs_read"))
      fail_msg("install-pi: the report lost a want or its grant: %s", json_dumps(report, JSON_COMPACT));
  }
  json_decref(report);
  return rc;
}

static void setup_installed(fctx *c) {
  setup_db(c);
  al_error e;
  if (install(c, c->pkgdir, &e)) fail_msg("install: %s", e.message);
  host_make(c, AL_ISOLATION_PROCESS, true);
}

static int run_load_package(fctx *c, al_error *e) {
  return al_load_package(c->h, "probe", NULL, c->made, sizeof c->made, e);
}

static void teardown_installed(fctx *c) {
  teardown_host(c);
  teardown_db(c);
}

/* ---- the driver ----------------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* OUT_OF_MEMORY, or another code whose message says that memory ran out: a hostcall the
 * host could not serve reaches the plugin as a thrown Error "OUT_OF_MEMORY: ...", which
 * fails the plugin's load (PLUGIN_LOAD_ERROR) or handler (PLUGIN_ERROR) with that text,
 * or one of the codes the path lists. */
static bool allowed(const fpath *p, int rc, const char *message) {
  if (rc == AL_ENO_MEMORY || strstr(message, "OUT_OF_MEMORY") || strstr(message, "out of memory")) return true;
  for (int i = 0; p->also[i]; i++)
    if (p->also[i] == rc) return true;
  return false;
}

static unsigned long env_ul(const char *name, unsigned long dflt) {
  const char *v = getenv(name);
  return v && *v ? strtoul(v, NULL, 10) : dflt;
}

/* What a path got wrong: printed as found, so one run lists them all; the path fails at
 * its end (or after FAULT_MAX_BUGS, when its host is likely beyond use). */
#define FAULT_MAX_BUGS 10
static unsigned fault_bugs;

static void bug(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAULT: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  if (++fault_bugs >= FAULT_MAX_BUGS) fail_msg("too many failures, giving up on this path");
}

/* A clean run of the path, which must succeed; returns its allocation count. */
static unsigned long clean_run(const fpath *p, fctx *c, const char *when, unsigned long n) {
  al_error e = {0};
  fault_arm(0);
  int rc = p->run(c, &e);
  unsigned long count = fault_counted();
  fault_disarm();
  if (rc) {
    bug("%s: the clean run %s %lu failed: %s: %s", p->name, when, n, al_err_name(rc), e.message);
    return count;
  }
  if (p->undo) p->undo(c);
  const char *why = p->check ? p->check(c) : NULL;
  if (why) bug("%s: the clean run %s %lu: %s", p->name, when, n, why);
  return count;
}

static void drive(const fpath *p) {
  const char *only_path = getenv("FAULT_PATH");
  if (only_path && *only_path && strcmp(only_path, p->name)) return;
  unsigned long only = env_ul("FAULT_ONLY", 0), points = env_ul("FAULT_POINTS", 1000);
  double t0 = now_s();
  long live0 = fault_live();
  fctx c = {0};
  fault_bugs = 0;
  p->setup(&c);
  unsigned long count = clean_run(p, &c, "before", 0);
  if (fault_bugs) fail_msg("%s: the path fails with no fault injected", p->name);
  unsigned long stride = 1;
  if (points && count > points) stride = (count - FAULT_HEAD + points - 1) / points;
  unsigned long tried = 0, recovered = 0, oom = 0, other = 0, n = only ? only : 1, last = 0;
  for (;;) {
    al_error e = {0};
    fault_arm(n);
    int rc = p->run(&c, &e);
    bool fired = fault_disarm();
    if (!fired) { /* the path completed before allocation n */
      if (rc) bug("%s: a run that allocation %lu was not reached in failed: %s: %s", p->name, n,
                  al_err_name(rc), e.message);
      else if (p->undo) p->undo(&c);
      const char *why = !rc && p->check ? p->check(&c) : NULL;
      if (why) bug("%s: an unfaulted run: %s", p->name, why);
      /* past the clean run's count: all of it was tried; short of it, a background thread
       * (exec.c's spare-VM maker) allocated less this time, so go on */
      if (n > count || only) break;
      n += n < FAULT_HEAD ? 1 : stride;
      continue;
    }
    tried++;
    last = n;
    if (rc == 0) {
      recovered++;
      if (p->undo) p->undo(&c);
      const char *why = p->check ? p->check(&c) : NULL;
      if (why) bug("%s: allocation %lu failed and the call succeeded, but %s", p->name, n, why);
    } else {
      al_free(c.out);
      c.out = NULL;
      if (!allowed(p, rc, e.message))
        bug("%s: allocation %lu failed: the call answered %s (%s)", p->name, n, al_err_name(rc), e.message);
      else if (e.code != rc || !e.message[0])
        bug("%s: allocation %lu: rc %s but err {%d, '%s'}", p->name, n, al_err_name(rc), e.code, e.message);
      if (rc == AL_ENO_MEMORY) oom++;
      else other++;
    }
    (void)clean_run(p, &c, "after failing allocation", n);
    if (only) break;
    n += n < FAULT_HEAD ? 1 : stride;
  }
  p->teardown(&c);
  long live1 = fault_live();
  printf("fault %-14s %5lu allocations, %4lu failed (stride %lu, last %lu): %lu OUT_OF_MEMORY, %lu other "
         "error, %lu recovered; %.1f s\n",
         p->name, count, tried, stride, last, oom, other, recovered, now_s() - t0);
  fflush(stdout);
  if (live1 != live0)
    bug("%s: %ld allocations more are live after the host was freed than before it was made",
             p->name, live1 - live0);
  if (fault_bugs) fail_msg("%s: %u failures (above)", p->name, fault_bugs);
}

#define PATH_TEST(fn, ...)                                \
  static void fn(void **st) {                             \
    (void)st;                                             \
    static const fpath p = __VA_ARGS__;                   \
    drive(&p);                                            \
  }

/* PLUGIN_CRASHED: the host drops a worker it can no longer serve (a reply it could not
 * read for want of memory leaves the stream undecodable), as it would a dead one. */
PATH_TEST(test_load, {"load", setup_process, run_load, undo_load, teardown_host, NULL, {AL_ECRASHED}})
PATH_TEST(test_render, {"render", setup_process, run_render, NULL, teardown_host, NULL, {AL_ECRASHED}})
PATH_TEST(test_event, {"event", setup_process, run_event, NULL, teardown_host, NULL, {AL_ECRASHED}})
PATH_TEST(test_emit, {"emit", setup_process, run_emit, NULL, teardown_host, check_emit, {AL_ECRASHED}})
PATH_TEST(test_tool, {"tool", setup_tool, run_tool, NULL, teardown_host, check_tool, {AL_ECRASHED}})
PATH_TEST(test_state, {"state", setup_process, run_state, NULL, teardown_host, NULL, {0}})
PATH_TEST(test_reports, {"reports", setup_process, run_reports, NULL, teardown_host, NULL, {0}})
PATH_TEST(test_inline_load, {"inline-load", setup_inline, run_load, undo_load, teardown_host, NULL, {0}})
PATH_TEST(test_inline_render, {"inline-render", setup_inline, run_render, NULL, teardown_host, NULL, {0}})
PATH_TEST(test_inline_event, {"inline-event", setup_inline, run_event, NULL, teardown_host, NULL, {0}})
PATH_TEST(test_inline_emit, {"inline-emit", setup_inline, run_emit, NULL, teardown_host, check_emit, {0}})
PATH_TEST(test_install_dir, {"install-dir", setup_db, run_install_dir, NULL, teardown_db, NULL, {0}})
PATH_TEST(test_install_tgz, {"install-tgz", setup_db, run_install_tgz, NULL, teardown_db, NULL, {0}})
PATH_TEST(test_install_pi, {"install-pi", setup_pi_db, run_install_pi, NULL, teardown_db, NULL, {0}})
PATH_TEST(test_load_package, {"load-package", setup_installed, run_load_package, undo_load,
                              teardown_installed, NULL, {AL_ECRASHED}})
PATH_TEST(test_pi_bus, {"pi-bus", setup_pi, run_pi_bus, NULL, teardown_pi, check_pi_bus, {AL_ECRASHED}})
PATH_TEST(test_pi_late, {"pi-late", setup_pi, run_pi_late, undo_load, teardown_pi, NULL, {AL_ECRASHED}})
PATH_TEST(test_pi_ui, {"pi-ui", setup_pi_ui, run_pi_ui, NULL, teardown_pi, check_pi_ui, {AL_ECRASHED}})

int main(void) {
  fault_init();
  /* Process-wide one-time work (QuickJS's class ids and scratch runtimes, the bytecode
   * cache's first entry, lazy library initialisation) happens here, unarmed, so the
   * paths' live counts compare like with like. */
  {
    fctx c = {0};
    setup_inline(&c);
    (void)run_render(&c, NULL);
    teardown_host(&c);
    setup_process(&c);
    teardown_host(&c);
    setup_pi(&c); /* the pi profile's once-per-process work */
    (void)run_pi_late(&c, NULL);
    teardown_pi(&c);
    setup_pi_ui(&c); /* its source's transpile, cached for the process */
    teardown_pi(&c);
    setup_pi_db(&c); /* a pi package's install: the pattern checks' one-time set-up */
    (void)run_install_pi(&c, NULL);
    teardown_db(&c);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load),         cmocka_unit_test(test_render),
      cmocka_unit_test(test_event),        cmocka_unit_test(test_emit),
      cmocka_unit_test(test_tool),
      cmocka_unit_test(test_state),        cmocka_unit_test(test_reports),
      cmocka_unit_test(test_inline_load),  cmocka_unit_test(test_inline_render),
      cmocka_unit_test(test_inline_event), cmocka_unit_test(test_inline_emit),
      cmocka_unit_test(test_install_dir),  cmocka_unit_test(test_install_tgz),
      cmocka_unit_test(test_install_pi),
      cmocka_unit_test(test_pi_bus),       cmocka_unit_test(test_pi_late),
      cmocka_unit_test(test_pi_ui),
      cmocka_unit_test(test_load_package),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_modules.c: TypeScript and ES module plugins through the public API (issue 11 item
 * 1, docs/modules.md): a .ts plugin with types loads and renders; a package's module
 * graph (a relative ./x.js that is x.ts, a bare import from the package's node_modules
 * through package.json "exports") loads under process isolation, where the sandboxed
 * worker can open nothing, so it can only have run from the sources the host sent; an
 * import escaping the package, a missing import and a syntax error are refused naming
 * file and line (imports are used: TypeScript drops an import whose bindings are never
 * used as values, as sucrase does); a throw names the .ts file and line; a second load transpiles nothing
 * (counted, memory then disk); the .tsx example renders through the ui builders.
 *
 * The transpile counters are the host library's (pkg/transpile.h): the test links it.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "pkg/modgraph.h"
#include "pkg/transpile.h"
#include "vm/module.h"

static char tmp_root[256];

static void put(const char *dir, const char *rel, const char *text) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  for (char *p = path + strlen(dir) + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(path, 0700);
    *p = '/';
  }
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* A fresh package directory with an airlock.json whose entry is `entry`. */
static void mkpkg(char *dir, size_t cap, const char *name, const char *entry) {
  snprintf(dir, cap, "%s/%s", tmp_root, name);
  mkdir(dir, 0700);
  char m[256];
  snprintf(m, sizeof m, "{\"id\":\"%s\",\"version\":\"1.0.0\",\"entry\":\"%s\"}", name, entry);
  put(dir, "airlock.json", m);
}

static al_host *mk(al_isolation iso) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.workers = 1;
  cfg.watchdog_grace_ms = 5000; /* see testutil.h */
  cfg.limits.load_ms = 5000;   /* sanitized builds */
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  return h;
}

static int load_named(al_host *h, const char *name, const char *src, char *id, al_error *e) {
  al_load_opts o = {.grants_json = "{}", .source_name = name};
  return al_load(h, "p", src, strlen(src), &o, id, AL_INSTANCE_ID_MAX, e);
}

static const char *text_of(const json_t *t) { return json_string_value(json_object_get(t, "text")); }

/* ---- a .ts plugin ---------------------------------------------------------------------- */

static const char *TS_PLUGIN =
    "interface State { n: number }\n"
    "enum Mode { Plain, Loud }\n"
    "const mode: Mode = Mode.Loud;\n"
    "function label<T extends State>(s: T): string {\n"
    "  return (mode === Mode.Loud ? 'N=' : 'n=') + (s.n as number);\n"
    "}\n"
    "definePlugin(({ ui }) => ({ initialState: { n: 3 } as State, widgets: { main: {\n"
    "  render({ pluginState }: { pluginState: State }) { return ui.text(label(pluginState)); } } } }));\n";

static void ts_renders(al_isolation iso) {
  al_host *h = mk(iso);
  char id[AL_INSTANCE_ID_MAX];
  al_error e;
  if (load_named(h, "plugin.ts", TS_PLUGIN, id, &e)) fail_msg("load: %s", e.message);
  json_t *t = t_render(h, id, "main");
  assert_string_equal(text_of(t), "N=3");
  json_decref(t);
  al_host_free(h);
}
static void test_ts_thread(void **st) { (void)st; ts_renders(AL_ISOLATION_THREAD); }
static void test_ts_process(void **st) { (void)st; ts_renders(AL_ISOLATION_PROCESS); }

/* The same code as a plain .js script is still a script: types are a syntax error there. */
static void test_js_stays_script(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD);
  char id[AL_INSTANCE_ID_MAX];
  al_error e;
  assert_int_equal(load_named(h, "plugin.js", TS_PLUGIN, id, &e), AL_EPLUGIN_LOAD);
  /* and `export` in a .js script is QuickJS's own refusal, as before */
  assert_int_equal(load_named(h, "gate.js", "export default function (pi) {}", id, &e), AL_EPLUGIN_LOAD);
  al_host_free(h);
}

/* ---- errors name the .ts file and line ------------------------------------------------- */

static void test_ts_errors(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD);
  char id[AL_INSTANCE_ID_MAX];
  al_error e = {0};
  /* a syntax error sucrase finds, on line 3 */
  assert_int_equal(load_named(h, "bad.ts", "type A = { x: number };\nconst a: A = { x: 1 };\nconst b = (a: ;\n", id, &e),
                   AL_EPLUGIN_LOAD);
  assert_int_equal(e.line, 3);
  assert_non_null(strstr(e.message, "bad.ts:3"));
  /* a throw on line 6, after lines whose types were stripped */
  const char *thrower =
      "type Pair<A, B> = [A, B];\n"
      "interface Big {\n  a: number;\n  b: string;\n}\n"
      "const p: Pair<number, string> = [1, 'x']; throw new Error('boom ' + (p[0] as number));\n";
  memset(&e, 0, sizeof e);
  assert_int_equal(load_named(h, "thrower.ts", thrower, id, &e), AL_EPLUGIN_LOAD);
  assert_int_equal(e.line, 6);
  assert_string_equal(e.path, "thrower.ts");
  assert_non_null(strstr(e.message, "boom 1"));
  assert_non_null(strstr(e.message, "thrower.ts:6"));
  /* a render that throws names its line too */
  const char *late = "export default {\n  widgets: { main: {\n    render(): never {\n"
                     "      throw new Error('late');\n    } } } };\n";
  if (load_named(h, "late.ts", late, id, &e)) fail_msg("load: %s", e.message);
  char *out = NULL;
  memset(&e, 0, sizeof e);
  assert_int_equal(al_render(h, id, "main", &out, &e), AL_EPLUGIN);
  assert_int_equal(e.line, 4);
  assert_non_null(strstr(e.message, "late.ts:4"));
  /* a module loaded from memory has nothing to import from */
  memset(&e, 0, sizeof e);
  assert_int_equal(load_named(h, "m.ts", "\nimport { x } from './x.js';\nexport default {widgets: {}, x};", id, &e),
                   AL_EPLUGIN_LOAD);
  assert_non_null(strstr(e.message, "m.ts:2"));
  assert_non_null(strstr(e.message, "./x.js"));
  al_host_free(h);
}

/* ---- a module graph from a package directory ------------------------------------------ */

static void make_graph(char *dir, size_t cap) {
  mkpkg(dir, cap, "graph", "index.ts");
  put(dir, "index.ts",
      "import { greet } from './lib/greet.js';\n"
      "import shout, { VERSION } from 'fixture-pkg';\n"
      "import type { Unused } from './lib/types';\n"
      "export default {\n"
      "  title: 'Graph',\n"
      "  widgets: { main: { render: (): object => ({ kind: 'text', text: shout(greet('ts')) + ' v' + VERSION }) } },\n"
      "};\n");
  put(dir, "lib/greet.ts", "export const greet = (who: string): string => 'hello ' + who;\n");
  put(dir, "lib/types.ts", "export interface Unused { a: number }\n");
  /* a package that says where its ES module build is, and a CommonJS one it must not take */
  put(dir, "node_modules/fixture-pkg/package.json",
      "{\"name\":\"fixture-pkg\",\"exports\":{\".\":{\"require\":\"./cjs.js\",\"import\":\"./esm/index.mjs\"}}}");
  put(dir, "node_modules/fixture-pkg/cjs.js", "module.exports = 'wrong build';\n");
  put(dir, "node_modules/fixture-pkg/esm/index.mjs",
      "import { up } from './util.mjs';\nexport const VERSION = 2;\nexport default function shout(s) { return up(s) + '!'; }\n");
  put(dir, "node_modules/fixture-pkg/esm/util.mjs", "export const up = (s) => s.toUpperCase();\n");
}

static void graph_loads(al_isolation iso) {
  char dir[512];
  make_graph(dir, sizeof dir);
  al_host *h = mk(iso);
  char id[AL_INSTANCE_ID_MAX];
  al_error e;
  if (al_load_package(h, dir, NULL, id, sizeof id, &e)) fail_msg("load: %s", e.message);
  json_t *t = t_render(h, id, "main");
  assert_string_equal(text_of(t), "HELLO TS! v2");
  json_decref(t);
  al_host_free(h);
}
static void test_graph_thread(void **st) { (void)st; graph_loads(AL_ISOLATION_THREAD); }
static void test_graph_process(void **st) { (void)st; graph_loads(AL_ISOLATION_PROCESS); }

static void expect_refused(const char *name, const char *index, const char *want1, const char *want2) {
  char dir[512];
  mkpkg(dir, sizeof dir, name, "index.ts");
  put(dir, "index.ts", index);
  al_host *h = mk(AL_ISOLATION_THREAD);
  char id[AL_INSTANCE_ID_MAX];
  al_error e = {0};
  assert_int_equal(al_load_package(h, dir, NULL, id, sizeof id, &e), AL_EPLUGIN_LOAD);
  if (!strstr(e.message, want1) || !strstr(e.message, want2))
    fail_msg("%s: message '%s' lacks '%s' or '%s'", name, e.message, want1, want2);
  al_host_free(h);
}

static void test_graph_refusals(void **st) {
  (void)st;
  /* outside the package, lexically, absolutely, as a URL */
  put(tmp_root, "outside.ts", "export const secret = 1;\n");
  expect_refused("esc1", "// up\nimport { secret } from '../outside.js';\nexport default {widgets: {}, secret};\n",
                 "index.ts:2", "'../outside.js' escapes the package directory");
  expect_refused("esc2", "import '/etc/passwd';\n", "index.ts:1", "escapes the package directory");
  expect_refused("esc3", "import fs from 'node:fs';\nfs.readFileSync('x');\n", "index.ts:1", "'node:fs' escapes");
  /* missing files and packages name the importing file, its line and the specifier */
  expect_refused("miss1", "\n\nimport { x } from './nope.js';\nx();\n", "index.ts:3", "cannot find module './nope.js'");
  expect_refused("miss2", "import x from 'left-pad';\nx();\n", "index.ts:1", "cannot find package 'left-pad'");
  /* a symlink inside that points outside is not followed out */
  char dir[512];
  mkpkg(dir, sizeof dir, "esc4", "index.ts");
  put(dir, "index.ts", "import { secret } from './link.js';\nexport default { widgets: {}, secret };\n");
  char link[600], target[600];
  snprintf(link, sizeof link, "%s/link.ts", dir);
  snprintf(target, sizeof target, "%s/outside.ts", tmp_root);
  assert_int_equal(symlink(target, link), 0);
  al_host *h = mk(AL_ISOLATION_THREAD);
  char id[AL_INSTANCE_ID_MAX];
  al_error e = {0};
  assert_int_equal(al_load_package(h, dir, NULL, id, sizeof id, &e), AL_EPLUGIN_LOAD);
  assert_non_null(strstr(e.message, "cannot find module './link.js'"));
  /* a dependency that throws while loading is named with its own line */
  mkpkg(dir, sizeof dir, "deep", "index.ts");
  put(dir, "index.ts", "import './lib/boom.js';\nexport default {widgets: {}};\n");
  put(dir, "lib/boom.ts", "const a: number = 1;\n\nthrow new Error('deep ' + a);\n");
  memset(&e, 0, sizeof e);
  assert_int_equal(al_load_package(h, dir, NULL, id, sizeof id, &e), AL_EPLUGIN_LOAD);
  assert_string_equal(e.path, "lib/boom.ts");
  assert_int_equal(e.line, 3);
  al_host_free(h);
}

/* ---- the transpile cache --------------------------------------------------------------- */

static void test_cache_counts(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_THREAD);
  char id[AL_INSTANCE_ID_MAX], src[512];
  al_error e;
  /* a source no other test has: its first load must transpile */
  snprintf(src, sizeof src, "const tag: string = '%ld';\nexport default { widgets: { main: { render: () => ({ kind: 'text', text: tag }) } } };\n",
           (long)getpid());
  pkg_transpile_stats s0, s1, s2, s3;
  pkg_transpile_stats_get(&s0);
  if (load_named(h, "c.ts", src, id, &e)) fail_msg("load: %s", e.message);
  pkg_transpile_stats_get(&s1);
  assert_int_equal(s1.runs, s0.runs + 1);
  /* the same source again: answered from memory */
  if (load_named(h, "c.ts", src, id, &e)) fail_msg("load: %s", e.message);
  pkg_transpile_stats_get(&s2);
  assert_int_equal(s2.runs, s1.runs);
  assert_int_equal(s2.memory_hits, s1.memory_hits + 1);
  /* as a new process would: from the disk cache */
  pkg_transpile_forget();
  if (load_named(h, "c.ts", src, id, &e)) fail_msg("load: %s", e.message);
  pkg_transpile_stats_get(&s3);
  assert_int_equal(s3.runs, s2.runs);
  assert_int_equal(s3.disk_hits, s2.disk_hits + 1);
  json_t *t = t_render(h, id, "main");
  char want[32];
  snprintf(want, sizeof want, "%ld", (long)getpid());
  assert_string_equal(text_of(t), want);
  json_decref(t);
  al_host_free(h);
}

/* ---- pi-style default export and the .tsx example -------------------------------------- */

static void test_default_function_gets_pi(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_PROCESS);
  char id[AL_INSTANCE_ID_MAX];
  al_error e;
  const char *gate =
      "type Ev = { tool_input?: { command?: string } };\n"
      "export default function (pi: any): void {\n"
      "  pi.on('PreToolUse', (e: Ev) => {\n"
      "    if (String(e.tool_input?.command ?? '').startsWith('sudo')) return { block: 'no sudo (' + pi.id + ')' };\n"
      "  });\n"
      "}\n";
  al_load_opts o = {.source_name = "permission-gate.ts",
                    .manifest_json = "{\"id\":\"gate\",\"version\":\"1.0.0\",\"capabilities\":{\"events\":[\"PreToolUse\"]}}"};
  if (al_load(h, "gate", gate, strlen(gate), &o, id, sizeof id, &e)) fail_msg("load: %s", e.message);
  json_t *r = t_emit(h, "PreToolUse", "{\"tool_name\":\"bash\",\"tool_input\":{\"command\":\"sudo ls\"}}");
  assert_string_equal(json_string_value(json_object_get(r, "action")), "block");
  assert_string_equal(json_string_value(json_object_get(r, "reason")), "no sudo (gate)");
  json_decref(r);
  al_host_free(h);
}

static void test_tsx_example(void **st) {
  (void)st;
  al_host *h = mk(AL_ISOLATION_PROCESS);
  char id[AL_INSTANCE_ID_MAX];
  al_error e;
  if (al_load_package(h, AL_SOURCE_DIR "/examples/tsx-widget", NULL, id, sizeof id, &e))
    fail_msg("load: %s", e.message);
  const char *row = "{\"kind\":\"row\",\"children\":[{\"kind\":\"text\",\"text\":\"Count\"},{\"kind\":\"badge\",\"text\":\"%d\"}]}";
  const char *btn = "{\"kind\":\"button\",\"props\":{\"label\":\"Add one\",\"onClick\":{\"handler\":\"inc\"}}}";
  char want[1024], r[256];
  snprintf(r, sizeof r, row, 0);
  snprintf(want, sizeof want, "{\"kind\":\"panel\",\"children\":[%s,%s]}", r, btn);
  json_t *t = t_render(h, id, "main");
  t_assert_json(t, want);
  json_decref(t);
  /* three clicks later the conditional element appears */
  for (int i = 0; i < 3; i++) json_decref(t_event(h, id, "main", "inc", NULL));
  snprintf(r, sizeof r, row, 3);
  snprintf(want, sizeof want,
           "{\"kind\":\"panel\",\"children\":[%s,{\"kind\":\"text\",\"text\":\"That is a lot\"},%s]}", r, btn);
  t = t_render(h, id, "main");
  t_assert_json(t, want);
  json_decref(t);
  al_host_free(h);
}

/* ---- the pure parts -------------------------------------------------------------------- */

static void test_exports_and_stack(void **st) {
  (void)st;
  json_t *p = json_loads("{\"exports\":{\".\":[{\"node\":\"./n.js\",\"default\":\"./d.js\"}],"
                         "\"./feat/*\":{\"import\":\"./src/feat/*.mjs\"},\"./x\":null,\"./bad\":\"../up.js\"}}", 0, NULL);
  char out[128];
  assert_int_equal(pkg_exports_target(p, ".", out, sizeof out), 0);
  assert_string_equal(out, "./d.js");
  assert_int_equal(pkg_exports_target(p, "./feat/a/b", out, sizeof out), 0);
  assert_string_equal(out, "./src/feat/a/b.mjs");
  assert_int_equal(pkg_exports_target(p, "./x", out, sizeof out), -1);
  assert_int_equal(pkg_exports_target(p, "./bad", out, sizeof out), -1);
  assert_int_equal(pkg_exports_target(p, "./other", out, sizeof out), -1);
  json_decref(p);
  p = json_loads("{\"exports\":\"./main.mjs\"}", 0, NULL);
  assert_int_equal(pkg_exports_target(p, ".", out, sizeof out), 0);
  assert_string_equal(out, "./main.mjs");
  assert_int_equal(pkg_exports_target(p, "./sub", out, sizeof out), -1);
  json_decref(p);
  char file[64];
  assert_int_equal(vm_stack_where("    at <anonymous> (native)\n    at render (lib/x.ts:12)\n", file, sizeof file), 12);
  assert_string_equal(file, "lib/x.ts");
  assert_int_equal(vm_stack_where("    at index.ts:3\n", file, sizeof file), 3);
  assert_string_equal(file, "index.ts");
  assert_int_equal(vm_stack_where("no frames", file, sizeof file), 0);
  assert_true(pkg_is_module_name("a.tsx", false));
  assert_false(pkg_is_module_name("a.js", false));
  assert_true(pkg_is_module_name("a.js", true));
}

int main(void) {
  snprintf(tmp_root, sizeof tmp_root, "/tmp/al-modules-XXXXXX");
  if (!mkdtemp(tmp_root)) return 1;
  /* the disk cache goes to this run's own directory */
  char cache[300];
  snprintf(cache, sizeof cache, "%s/cache", tmp_root);
  setenv("XDG_CACHE_HOME", cache, 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ts_thread),         cmocka_unit_test(test_ts_process),
      cmocka_unit_test(test_js_stays_script),   cmocka_unit_test(test_ts_errors),
      cmocka_unit_test(test_graph_thread),      cmocka_unit_test(test_graph_process),
      cmocka_unit_test(test_graph_refusals),    cmocka_unit_test(test_cache_counts),
      cmocka_unit_test(test_default_function_gets_pi), cmocka_unit_test(test_tsx_example),
      cmocka_unit_test(test_exports_and_stack),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
  if (system(cmd) != 0) rc = rc ? rc : 1;
  return rc;
}

/*
 * test_wants.c: what a pi package's code asks for (src/pkg/wants.c), each sink kind with
 * a literal and a non-literal argument in the form the capability chain matches; what
 * is not a want (a guard's "rm -rf", a RegExp's exec, a module the file never names, a
 * call in a comment); dedupe and order; the tree walk (node_modules left out) and the pi
 * rule; and every allocation failing in turn (linked with the fault-injection allocator:
 * tests/fault/fault_alloc.h), which must give OUT_OF_MEMORY and leak nothing.
 */
#include "helpers.h"

#include <sys/stat.h>
#include <unistd.h>

#include "../fault/fault_alloc.h"
#include "pkg/wants.h"

/* "cap pattern[!]" of each want (! = broad), comma-separated, into a static buffer. */
static const char *wants_of(const char *src) {
  static char buf[4096];
  json_t *w = json_array();
  al_error err;
  assert_int_equal(pkg_wants_scan("t.ts", src, strlen(src), w, NULL, &err), 0);
  buf[0] = 0;
  size_t i, n = 0;
  json_t *e;
  json_array_foreach(w, i, e) {
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s %s%s", i ? ", " : "", tj_str(e, "cap"), tj_str(e, "pattern"),
                          json_is_true(json_object_get(e, "broad")) ? "!" : "");
  }
  json_decref(w);
  return buf;
}

#define WANTS(src, expected) assert_string_equal(wants_of(src), expected)

static void test_pi_exec(void **state) {
  (void)state;
  WANTS("pi.exec('git', ['status']);", "exec git *");
  WANTS("await pi.exec(\"npm\", [\"run\", x]);", "exec npm *");
  WANTS("pi.exec(cmd, args);", "exec *!");
  WANTS("pi.exec(`gh`, []);", "exec gh *");
  WANTS("pi.exec(`${tool}`, []);", "exec *!");
  /* a command with a space is one word of the line: quoted as hk_exec_line quotes it */
  WANTS("pi.exec('my tool', []);", "exec 'my tool' *");
  /* pi.exec is pi's own: no import needed; a call in a comment or a string is not code */
  WANTS("// pi.exec('rm', [])\nconst s = \"pi.exec('x')\";", "");
}

static void test_child_process(void **state) {
  (void)state;
  const char *cp = "import { execSync, execFile, spawnSync } from 'node:child_process';\n";
  char src[1024];
  snprintf(src, sizeof src, "%sexecSync('git status');", cp);
  WANTS(src, "exec sh -c 'git status'"); /* the runtime runs sh -c CMD */
  snprintf(src, sizeof src, "%sexecSync(cmd);", cp);
  WANTS(src, "exec sh -c *!");
  snprintf(src, sizeof src, "%sexecFile('git', ['log']); spawnSync('ls', ['-l']);", cp);
  WANTS(src, "exec git *, exec ls *");
  WANTS("const cp = require('child_process'); cp.execFileSync('make', []); cp.exec(c);",
        "exec make *, exec sh -c *!");
  WANTS("import * as child from 'child_process'; child.spawn(bin);", "exec *!");
  WANTS("import { execSync as run } from 'node:child_process'; run('date');", "exec sh -c date");
  /* no child_process in the file: a RegExp's exec, a local helper, nothing */
  WANTS("const m = /a(b)/.exec(s); re.exec(t); execSync('x');", "");
  /* with it, a RegExp's exec on some other object is still not a command */
  WANTS("import { execSync } from 'child_process'; const m = re.exec(s);", "");
}

static void test_bash_tool(void **state) {
  (void)state;
  WANTS("import { createBashTool } from '@mariozechner/pi-coding-agent'; const t = createBashTool(cwd);",
        "exec bash -c *!");
}

static void test_fs(void **state) {
  (void)state;
  WANTS("import { readFileSync, writeFileSync } from 'node:fs';\n"
        "readFileSync('notes.txt', 'utf8'); readFileSync('./a/b.json'); readFileSync('/etc/hostname');\n"
        "writeFileSync(out, data); writeFileSync('log.txt', s);",
        "fs_read $CWD/notes.txt, fs_read $CWD/a/b.json, fs_read /etc/hostname, fs_write $CWD/**!, "
        "fs_write $CWD/log.txt");
  WANTS("import fs from 'fs'; fs.existsSync(p); fs.promises.readFile('x');", "fs_read $CWD/**!, fs_read $CWD/x");
  WANTS("import * as fsp from 'node:fs/promises'; await fsp.appendFile('a.log', s);", "fs_write $CWD/a.log");
  /* no fs in the file: a helper named readFile is the file's own */
  WANTS("function readFile(p) {} readFile('x');", "");
}

static void test_fetch_env(void **state) {
  (void)state;
  WANTS("await fetch('https://api.example.com/v1/items');", "network api.example.com");
  WANTS("fetch('http://localhost:8080/x'); fetch('https://h.example:443/');", "network localhost:8080, network h.example");
  WANTS("fetch(`https://api.github.com/repos/${r}`);", "network api.github.com");
  WANTS("fetch(url); globalThis.fetch(u2);", "network *!");
  WANTS("process.env.GITHUB_TOKEN; process.env['API_KEY']; process.env[k];",
        "env_vars GITHUB_TOKEN, env_vars API_KEY, env_vars *!");
  WANTS("const { HOME } = process.env;", "env_vars *!");
  /* a literal that is not UTF-8 names nothing a grant could: the broad want (fuzz_wants) */
  WANTS("process.env['\xff']; pi.exec('\xfe', []); import fs from 'fs'; fs.readFileSync('\xc3');",
        "env_vars *!, exec *!, fs_read $CWD/**!");
}

static void test_guard_and_dedupe(void **state) {
  (void)state;
  /* the commonest guard: rm -rf is matched against, never run */
  WANTS("pi.on('tool_call', (e) => { if (e.input.command.includes('rm -rf')) return { block: true }; "
        "if (/rm -rf/.test(e.input.command)) return { block: true }; });",
        "");
  /* the same want twice is one, at its first place; order is the code's */
  json_t *w = json_array();
  al_error err;
  const char *src = "fetch('https://a.example/x');\npi.exec('git', []);\npi.exec('git', ['log']);\nfetch('https://a.example/y');";
  assert_int_equal(pkg_wants_scan("f.ts", src, strlen(src), w, NULL, &err), 0);
  assert_true(tj_is(w, "[{'cap':'network','pattern':'a.example','broad':false,'file':'f.ts','line':1,'column':1},"
                       "{'cap':'exec','pattern':'git *','broad':false,'file':'f.ts','line':2,'column':4}]"));
  json_decref(w);
}

static void test_bounds(void **state) {
  (void)state;
  /* more distinct wants than PKG_WANTS_MAX: the rest are counted, not kept */
  size_t n = PKG_WANTS_MAX + 10, cap = n * 40 + 1, off = 0;
  char *src = malloc(cap);
  assert_non_null(src);
  for (size_t i = 0; i < n; i++) off += (size_t)snprintf(src + off, cap - off, "process.env.V%zu;\n", i);
  json_t *w = json_array();
  size_t dropped = 0;
  al_error err;
  assert_int_equal(pkg_wants_scan("b.js", src, off, w, &dropped, &err), 0);
  assert_int_equal(json_array_size(w), PKG_WANTS_MAX);
  assert_int_equal(dropped, 10);
  json_decref(w);
  /* deep nesting costs nothing but tokens */
  size_t depth = 100000;
  char *deep = malloc(depth * 2 + 64);
  assert_non_null(deep);
  memset(deep, '(', depth);
  size_t k = depth + (size_t)sprintf(deep + depth, "pi.exec('ls', [])");
  memset(deep + k, ')', depth);
  k += depth;
  w = json_array();
  assert_int_equal(pkg_wants_scan("d.js", deep, k, w, NULL, &err), 0);
  assert_int_equal(json_array_size(w), 1);
  json_decref(w);
  free(deep);
  free(src);
}

static void put(const char *dir, const char *rel, const char *text) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  for (char *s = p + strlen(dir) + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(p, 0755);
      *s = '/';
    }
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_dir_and_pi_rule(void **state) {
  (void)state;
  char dir[] = "/tmp/al-wants-XXXXXX";
  assert_non_null(mkdtemp(dir));
  put(dir, "extensions/b.ts", "pi.exec('git', []);");
  put(dir, "extensions/a.ts", "import { x } from '../lib/util.js'; fetch('https://a.example/');");
  put(dir, "lib/util.js", "export const x = process.env.TOKEN;");
  put(dir, "node_modules/dep/index.js", "pi.exec('curl', []);");
  put(dir, "types.d.ts", "declare function fetch(u: string): void; fetch('https://d.example/');");
  put(dir, "README.md", "pi.exec('nope', [])");
  json_t *out = NULL, *pre = NULL;
  al_error err;
  assert_int_equal(pkg_wants_dir(dir, &out, &pre, &err), 0);
  /* files in name order, node_modules, .d.ts and non-sources left out */
  assert_true(tj_is(json_object_get(out, "files"), "3"));
  assert_string_equal(tj_str(json_array_get(json_object_get(out, "wants"), 0), "pattern"), "a.example");
  assert_string_equal(tj_str(json_array_get(json_object_get(out, "wants"), 1), "pattern"), "git *");
  assert_string_equal(tj_str(json_array_get(json_object_get(out, "wants"), 2), "file"), "lib/util.js");
  assert_int_equal(json_array_size(json_object_get(out, "wants")), 3);
  assert_true(tj_is(pre, "{'blocked':false,'findings':[]}"));
  json_decref(out);
  json_decref(pre);

  /* the pi rule: extensions/ in name order; pi.extensions wins; an Airlock manifest is not pi */
  json_t *e = NULL;
  assert_int_equal(pkg_pi_entries(dir, NULL, &e, &err), 0);
  assert_true(tj_is(e, "['extensions/a.ts','extensions/b.ts']"));
  json_decref(e);
  json_t *pj = tj("{'pi':{'extensions':['./extensions/b.ts']}}");
  assert_int_equal(pkg_pi_entries(dir, pj, &e, &err), 0);
  assert_true(tj_is(e, "['extensions/b.ts']"));
  json_decref(e);
  json_decref(pj);
  assert_int_equal(pkg_pi_package(dir, NULL, NULL, NULL), 1);
  put(dir, "airlock.json", "{}");
  assert_int_equal(pkg_pi_package(dir, NULL, NULL, NULL), 0);

  /* a destructive command at a sink in any file blocks, naming the file */
  put(dir, "lib/clean.ts", "pi.exec('sh', ['-c', 'rm -rf /']);");
  assert_int_equal(pkg_wants_dir(dir, &out, &pre, &err), 0);
  assert_true(json_is_true(json_object_get(pre, "blocked")));
  assert_non_null(strstr(tj_str(json_array_get(json_object_get(pre, "findings"), 0), "message"),
                         "lib/clean.ts: shell-destructive string 'rm -rf' passed to a command sink (pi.exec)"));
  json_decref(out);
  json_decref(pre);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);

  char empty[] = "/tmp/al-wants-XXXXXX";
  assert_non_null(mkdtemp(empty));
  assert_int_equal(pkg_pi_entries(empty, NULL, &e, &err), AL_EPLUGIN_LOAD);
  assert_int_equal(pkg_pi_package(empty, NULL, NULL, NULL), 0);
  rmdir(empty);
}

static void test_text(void **state) {
  (void)state;
  json_t *w = tj("[{'cap':'exec','pattern':'git *'},{'cap':'network','pattern':'api.example.com'}]");
  char *s = pkg_wants_text(w);
  assert_string_equal(s, "exec git *, network api.example.com");
  free(s);
  json_decref(w);
  assert_true(pkg_wants_cap_known("fs_write"));
  assert_false(pkg_wants_cap_known("kv"));
}

/* Every allocation of a scan fails in turn: OUT_OF_MEMORY each time, nothing leaked, and
 * with none failing the full result. */
static void test_oom(void **state) {
  (void)state;
  const char *src = "import { execSync } from 'node:child_process'; import fs from 'fs';\n"
                    "execSync('git status'); pi.exec('ls', []); fs.readFileSync('a.txt');\n"
                    "fetch(`https://x.example/${p}`); process.env.K; createBashTool(c);";
  long live0 = fault_live();
  unsigned failed = 0;
  for (unsigned long n = 1; n < 100000; n++) {
    json_t *w = json_array();
    assert_non_null(w);
    al_error err;
    fault_arm(n);
    int rc = pkg_wants_scan("o.ts", src, strlen(src), w, NULL, &err);
    bool hit = fault_disarm();
    json_decref(w);
    assert_int_equal(fault_live(), live0);
    if (!hit) {
      assert_int_equal(rc, 0);
      break;
    }
    failed++;
    if (rc != AL_ENO_MEMORY) print_error("allocation %lu: rc %d\n", n, rc);
    assert_int_equal(rc, AL_ENO_MEMORY);
  }
  assert_true(failed > 10);
}

int main(void) {
  fault_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pi_exec),  cmocka_unit_test(test_child_process), cmocka_unit_test(test_bash_tool),
      cmocka_unit_test(test_fs),       cmocka_unit_test(test_fetch_env),     cmocka_unit_test(test_guard_and_dedupe),
      cmocka_unit_test(test_bounds),   cmocka_unit_test(test_dir_and_pi_rule), cmocka_unit_test(test_text),
      cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

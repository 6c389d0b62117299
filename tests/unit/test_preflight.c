/*
 * test_preflight.c: the tokenizer decides what is code (comments, strings, templates with
 * nested ${}, regex vs division) and each finding of hooks-and-security.md sec. 5 fires on
 * code and only on code, with line:column, remediation and preflight.allow.
 */
#include "helpers.h"

#include "pkg/preflight.h"

static json_t *scan_m(const char *src, const pkg_manifest *m) {
  json_t *r = NULL;
  al_error err;
  assert_int_equal(pkg_preflight(src, strlen(src), m, &r, &err), 0);
  assert_non_null(r);
  return r;
}
static json_t *scan(const char *src) { return scan_m(src, NULL); }

static pkg_manifest *manifest(const char *text) {
  char *s = strdup(text);
  for (char *p = s; *p; p++)
    if (*p == '\'') *p = '"';
  pkg_manifest *m = NULL;
  assert_int_equal(pkg_manifest_parse(s, strlen(s), false, true, &m, NULL, NULL), 0);
  free(s);
  return m;
}

/* "rule@line:col" of each finding, comma-separated, into a static buffer. */
static const char *rules(const json_t *r) {
  static char buf[2048];
  buf[0] = 0;
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(r, "findings"), i, f) {
    char one[128];
    snprintf(one, sizeof one, "%s%s%s@%lld:%lld", i ? "," : "", tj_str(f, "rule"),
             !strcmp(tj_str(f, "severity"), "block") ? (json_is_true(json_object_get(f, "allowed")) ? "!allowed" : "!")
                                                     : "",
             (long long)json_integer_value(json_object_get(f, "line")),
             (long long)json_integer_value(json_object_get(f, "column")));
    strncat(buf, one, sizeof buf - strlen(buf) - 1);
  }
  return buf;
}

static bool has(const char *src, const char *want) {
  json_t *r = scan(src);
  const char *got = rules(r);
  bool ok = !strcmp(got, want);
  if (!ok) print_error("source: %s\n  want: '%s'\n   got: '%s'\n", src, want, got);
  json_decref(r);
  return ok;
}

static void test_clean_code(void **state) {
  (void)state;
  assert_true(has("definePlugin(({ui}) => ({ widgets: { a: { render() { return ui.text('hi'); } } } }));", ""));
  assert_true(has("", ""));
  json_t *r = scan("let x = 1;");
  assert_true(tj_is(r, "{'blocked':false,'findings':[]}"));
  json_decref(r);
}

static void test_not_code_is_not_flagged(void **state) {
  (void)state;
  assert_true(has("// eval(x) require('fs') rm -rf /\n/* new Function('a') process.exit() */ let a = 1;", ""));
  assert_true(has("const s = 'eval(x) and require(y)';", ""));
  assert_true(has("const t = `process ${'eval('} fetch(`;", ""));
  assert_true(has("const re = /eval\\(|process/g; const s = re.source;", ""));
  assert_true(has("retrieval(1); evaluate(2); myrequire(3); processor(); refetch(); x.eval(1); obj.process;", ""));
  assert_true(has("const o = { process: 1, eval: 2 };", ""));
}

static void test_code_is_flagged(void **state) {
  (void)state;
  assert_true(has("eval('1+1');", "eval@1:1"));
  assert_true(has("x = globalThis.eval(s);", "eval@1:16"));
  assert_true(has("const f = new Function('a', 'return a');", "new-function@1:15"));
  assert_true(has("const f = Function('return 1');\nconst g = Function(x);", "function-string@1:11"));
  assert_true(has("import('./x.js');", "dynamic-import@1:1"));
  assert_true(has("const fs = require('fs');", "require@1:12"));
  assert_true(has("if (process.env.X) {}", "process@1:5"));
  assert_true(has("require('child_process');", "require@1:1,child-process@1:9"));
  assert_true(has("fetch('https://x');\nnew XMLHttpRequest();\nnew WebSocket(u);",
                  "network-api@1:1,network-api@2:5,network-api@3:5"));
  assert_true(has("\\u0065val('x');", "eval@1:1")); /* an escaped name is the same name */
}

static void test_regex_or_division(void **state) {
  (void)state;
  /* division: the "regex" would swallow eval( if the tokenizer got it wrong */
  assert_true(has("let a = b / 2; eval(x); let c = d / 3;", "eval@1:16"));
  assert_true(has("let a = (b) / 2 / eval(x);", "eval@1:19"));
  assert_true(has("let a = arr[0] / 2; eval(1) / 3;", "eval@1:21"));
  assert_true(has("i++ / 2; eval(1);", "eval@1:10"));
  /* regex: its text is not code, even when it looks like a comment or a quote */
  assert_true(has("x = /[/]eval(/.test(s); y = 1;", ""));
  assert_true(has("return /'/.test(s) || eval(t);", "eval@1:23"));
  assert_true(has("if (a) x = /\\/\\/ eval(/g;", ""));
  assert_true(has("f(/`/); eval(1);", "eval@1:9"));
  assert_true(has("x = typeof /eval(/; z = a\n/ b / eval(c);", "eval@2:7"));
  /* after a statement head's ')' a '/' starts a regex; after a call's ')' it divides */
  assert_true(has("if (ok) /'/.test(s); eval(1);", "eval@1:22"));
  assert_true(has("while (f(x)) /\\//.exec(s); eval(1);", "eval@1:28"));
  assert_true(has("y = f(x) / 2; eval(1);", "eval@1:15"));
}

static void test_templates(void **state) {
  (void)state;
  /* code inside ${} is code, at any depth; text around it is not */
  assert_true(has("const s = `a ${eval(x)} b`;", "eval@1:16"));
  assert_true(has("const s = `eval( ${ `inner ${ require('x') } eval(` } eval(`;", "require@1:31"));
  assert_true(has("const s = `${ {a: 1}.a } eval( ${ fetch } `; eval(2);", "eval@1:46"));
  assert_true(has("const s = `line1\nline2 ${eval(1)}`;", "eval@2:9"));
}

static void test_shell_strings(void **state) {
  (void)state;
  /* passed to a call: blocks; anywhere else in a string: a warning; in a comment: nothing */
  assert_true(has("exec('rm -rf /');", "shell-destructive!@1:6"));
  assert_true(has("run(['sudo reboot']);", "shell-destructive!@1:6"));
  assert_true(has("sh`chmod 777 ${f}`;", "shell-destructive!@1:3"));
  assert_true(has("pi.tool.call(`dd if=/dev/zero of=${d}`);", "shell-destructive!@1:14"));
  assert_true(has("spawn(\"mkfs.ext4 /dev/sda1\", opts);", "shell-destructive!@1:7"));
  assert_true(has("x('cat > /dev/sda');", "shell-destructive!@1:3"));
  assert_true(has("x('rm\\x20-rf /');", "shell-destructive!@1:3")); /* escapes decoded */
  assert_true(has("const cmd = 'rm -rf /';", "shell-destructive@1:13"));
  assert_true(has("// exec('rm -rf /')\n/* sudo rm -rf */ ok();", ""));
  assert_true(has("if ('rm -rf' === s) {}", "shell-destructive@1:5"));
  json_t *r = scan("a();\n  exec('rm -rf /');");
  assert_true(json_is_true(json_object_get(r, "blocked")));
  json_t *f = json_array_get(json_object_get(r, "findings"), 0);
  assert_string_equal(tj_str(f, "severity"), "block");
  assert_string_equal(tj_str(f, "message"), "shell-destructive string 'rm -rf' passed to a call");
  assert_non_null(strstr(tj_str(f, "remediation"), "preflight.allow"));
  al_error err;
  assert_int_equal(pkg_preflight_error(r, &err), AL_EPREFLIGHT_BLOCKED);
  assert_string_equal(err.message, "preflight blocked the plugin: shell-destructive string 'rm -rf' passed to a call at 2:8");
  json_decref(r);
}

static void test_preflight_allow(void **state) {
  (void)state;
  pkg_manifest *m = manifest("{'id':'a','version':'1.0.0','preflight':{'allow':['rm -rf']}}");
  json_t *r = scan_m("exec('rm -rf /tmp/x'); exec('sudo ls');", m);
  assert_string_equal(rules(r), "shell-destructive!allowed@1:6,shell-destructive!@1:29");
  assert_true(json_is_true(json_object_get(r, "blocked"))); /* sudo is not allowed */
  json_decref(r);
  r = scan_m("exec('rm -rf /tmp/x');", m);
  assert_true(json_is_false(json_object_get(r, "blocked")));
  assert_true(json_is_true(json_object_get(json_array_get(json_object_get(r, "findings"), 0), "allowed")));
  assert_int_equal(pkg_preflight_error(r, NULL), 0);
  json_decref(r);
  pkg_manifest_free(m);
}

static void test_capabilities(void **state) {
  (void)state;
  const char *src = "pi.http.get(u); pi.http.post(u, b); pi.kv.set('a', 1); pi.fs.readText(p);\n"
                    "pi.fs.writeText(p, s); pi.registerTool({}); pi.getConfig('k'); pi.on('PreToolUse', h); pi.logger.info(1);";
  json_t *r = scan(src); /* no manifest: every capability use is undeclared, once each */
  assert_string_equal(rules(r), "undeclared-capability@1:1,undeclared-capability@1:37,undeclared-capability@1:56,"
                                "undeclared-capability@2:1,undeclared-capability@2:24,undeclared-capability@2:45");
  json_t *f = json_array_get(json_object_get(r, "findings"), 0);
  assert_string_equal(tj_str(f, "message"), "pi.http is used but the manifest does not declare the 'network' capability");
  json_decref(r);
  pkg_manifest *m = manifest("{'id':'a','version':'1.0.0','capabilities':{'network':['x.com'],'kv':true,"
                             "'fs_read':['/d'],'fs_write':['/d'],'register_tools':true,'read_config':true,"
                             "'events':['SessionStart']}}");
  r = scan_m(src, m);
  assert_string_equal(rules(r), "undeclared-capability@2:64"); /* PreToolUse is not in events */
  json_decref(r);
  r = scan_m("fetch(u);", m); /* with a network capability fetch( is only absent, not undeclared */
  assert_string_equal(rules(r), "");
  json_decref(r);
  pkg_manifest_free(m);
}

static void test_unterminated_and_odd_input(void **state) {
  (void)state;
  assert_true(has("eval(1); 'abc", "eval@1:1,unterminated@1:10"));
  assert_true(has("/* never closed eval(", "unterminated@1:1"));
  assert_true(has("`abc ${ eval(1) ", "unterminated@1:1,eval@1:9"));
  assert_true(has("#!/usr/bin/env node\neval(1);", "eval@2:1"));
  /* NUL bytes and invalid UTF-8 are just bytes */
  const char src[] = "a\0b; eval(1); \xff\xfe";
  json_t *r = NULL;
  assert_int_equal(pkg_preflight(src, sizeof src - 1, NULL, &r, NULL), 0);
  assert_string_equal(rules(r), "eval@1:6");
  json_decref(r);
  /* deep nesting costs no recursion */
  size_t n = 200000;
  char *deep = malloc(n * 4 + 1);
  for (size_t i = 0; i < n; i++) memcpy(deep + i * 3, "`${", 3);
  deep[n * 3] = 0;
  r = NULL;
  assert_int_equal(pkg_preflight(deep, strlen(deep), NULL, &r, NULL), 0);
  json_decref(r);
  free(deep);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_code),
      cmocka_unit_test(test_not_code_is_not_flagged),
      cmocka_unit_test(test_code_is_flagged),
      cmocka_unit_test(test_regex_or_division),
      cmocka_unit_test(test_templates),
      cmocka_unit_test(test_shell_strings),
      cmocka_unit_test(test_preflight_allow),
      cmocka_unit_test(test_capabilities),
      cmocka_unit_test(test_unterminated_and_odd_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

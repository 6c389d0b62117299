/*
 * test_preflight_pi.c: preflight's pi profile (preflight.h, pkg_preflight_profile): a
 * destructive string blocks only where it reaches a command sink, so a guard matching
 * "rm -rf" installs; Node's names are no findings; and the native rule (the spec's "a
 * destructive string passed to any call") is unchanged, message included.
 */
#include "helpers.h"

#include "pkg/preflight.h"

static json_t *scan_p(const char *src, const char *profile) {
  json_t *r = NULL;
  al_error err;
  assert_int_equal(pkg_preflight_profile(src, strlen(src), NULL, profile, &r, &err), 0);
  assert_non_null(r);
  return r;
}

/* "rule[!]@line:col" of each finding (! = blocks), comma-separated. */
static const char *rules(const json_t *r) {
  static char buf[2048];
  buf[0] = 0;
  size_t i, n = 0;
  json_t *f;
  json_array_foreach(json_object_get(r, "findings"), i, f)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s@%lld:%lld", i ? "," : "", tj_str(f, "rule"),
                          !strcmp(tj_str(f, "severity"), "block") ? "!" : "",
                          (long long)json_integer_value(json_object_get(f, "line")),
                          (long long)json_integer_value(json_object_get(f, "column")));
  return buf;
}

static bool blocked(const json_t *r) { return json_is_true(json_object_get(r, "blocked")); }

#define PI(src, expect_rules, expect_blocked)                 \
  do {                                                        \
    json_t *r_ = scan_p(src, "pi");                           \
    assert_string_equal(rules(r_), expect_rules);             \
    assert_int_equal(blocked(r_), expect_blocked);            \
    json_decref(r_);                                          \
  } while (0)

static void test_guard_installs(void **state) {
  (void)state;
  /* the commonest guard there is, in both spellings, and in a message */
  PI("if (cmd.includes(\"rm -rf\")) return { block: true, reason: \"no rm -rf\" };",
     "shell-destructive@1:18,shell-destructive@1:59", false);
  PI("if (/rm -rf/.test(cmd)) block();", "", false); /* a regex is no string */
  PI("const bad = ['rm -rf', 'sudo ']; if (bad.some((b) => cmd.startsWith(b))) ui.notify(`blocked: ${cmd}`);",
     "shell-destructive@1:14,shell-destructive@1:24", false);
}

static void test_sinks_block(void **state) {
  (void)state;
  PI("pi.exec(\"rm -rf /\");", "shell-destructive!@1:9", true);
  PI("await pi.exec('sh', ['-c', 'rm -rf ' + dir]);", "shell-destructive!@1:28", true);
  PI("execSync(`sudo ${x}`);", "shell-destructive!@1:10", true);
  PI("child_process.exec('dd if=/dev/zero of=x');", "shell-destructive!@1:20", true);
  PI("spawnSync('bash', ['-c', 'chmod 777 /']);", "shell-destructive!@1:26", true);
  PI("$`rm -rf ${d}`;", "shell-destructive!@1:2", true); /* zx's tagged template */
  /* a call inside the sink's arguments is its own context */
  PI("pi.exec('echo', [quote('rm -rf')]);", "shell-destructive@1:24", false);
  json_t *r = scan_p("pi.exec(\"rm -rf /\");", "pi");
  assert_string_equal(tj_str(json_array_get(json_object_get(r, "findings"), 0), "message"),
                      "shell-destructive string 'rm -rf' passed to a command sink (pi.exec)");
  al_error err;
  assert_int_equal(pkg_preflight_error(r, &err), AL_EPREFLIGHT_BLOCKED);
  assert_non_null(strstr(err.message, "passed to a command sink (pi.exec) at 1:9"));
  json_decref(r);
}

static void test_node_names_exist(void **state) {
  (void)state;
  PI("import { execSync } from 'node:child_process'; const fs = require('fs'); const h = process.env.HOME;"
     " const r = await fetch(u); pi.registerTool(t); child_process.execFile('git', []);",
     "", false);
  /* what is not pi's to have still warns */
  PI("eval(code); new Function('a', b);", "eval@1:1,new-function@1:17", false);
}

static void test_native_unchanged(void **state) {
  (void)state;
  /* the spec's rule for Airlock's own plugins: any call */
  json_t *r = scan_p("if (cmd.includes(\"rm -rf\")) x();", NULL);
  assert_string_equal(rules(r), "shell-destructive!@1:18");
  assert_true(blocked(r));
  assert_string_equal(tj_str(json_array_get(json_object_get(r, "findings"), 0), "message"),
                      "shell-destructive string 'rm -rf' passed to a call");
  json_decref(r);
  r = scan_p("const p = process.env; require('x');", NULL);
  assert_string_equal(rules(r), "process@1:11,require@1:24");
  json_decref(r);
  /* pkg_preflight is the native profile */
  al_error err;
  const char *src = "f('sudo x')";
  json_t *a = NULL, *b = NULL;
  assert_int_equal(pkg_preflight(src, strlen(src), NULL, &a, &err), 0);
  assert_int_equal(pkg_preflight_profile(src, strlen(src), NULL, NULL, &b, &err), 0);
  assert_true(json_equal(a, b));
  json_decref(a);
  json_decref(b);
  assert_int_equal(pkg_preflight_profile(src, strlen(src), NULL, "other", &a, &err), AL_EINVALID_ARGUMENT);
  assert_null(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_guard_installs),
      cmocka_unit_test(test_sinks_block),
      cmocka_unit_test(test_node_names_exist),
      cmocka_unit_test(test_native_unchanged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

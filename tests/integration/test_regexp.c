/*
 * test_regexp.c: the call deadline stops regular-expression matching. QuickJS 2021-03-27's
 * matcher never polled the interrupt handler (patches/quickjs-2021-03-27-regexp-interrupt.patch
 * makes it), so a catastrophically backtracking pattern ran for minutes. Each entry point
 * into the matcher must end in AL_ETIMEOUT that the plugin cannot catch, the instance must
 * stay usable, and ordinary patterns, long-running but finite ones included, must give the
 * same results as before. No timing is asserted (sanitized QuickJS is several times slower).
 */
#include "testutil.h"

/* 44 'a's then '!': /(a+)+$/ tries every way to split the run before failing, 2^44 paths. */
static const char *REGEXPS =
    "const evil = () => 'a'.repeat(44) + '!';"
    "const cases = {"
    "  'test': () => /(a+)+$/.test(evil()),"
    "  'exec': () => /(a+)+$/.exec(evil()),"
    "  'catch': () => { try { /(a+)+$/.test(evil()); } catch (e) { return 'caught ' + e; } return 'no match'; },"
    "  'finally': () => { try { return /(a+)+$/.test(evil()); } finally { return 'finally ran'; } },"
    "  'replace': () => evil().replace(/(a+)+$/, 'x'),"
    "  'replace-fn': () => evil().replace(/(a+)+$/, () => 'x'),"
    "  'replace-global-empty': () => evil().replace(/(a+)+$/g, ''),"
    "  'replace-all': () => evil().replaceAll(/(a+)+$/g, 'x'),"
    "  'match': () => evil().match(/(a+)+$/),"
    "  'match-global': () => evil().match(/(a+)+$/g),"
    "  'match-all': () => [...evil().matchAll(/(a+)+$/g)],"
    "  'search': () => evil().search(/(a+)+$/),"
    "  'split': () => evil().split(/(a+)+$/),"
    "  'nested-quant': () => /^(\\w+\\s?)*$/.test('an ordinary sentence with words in it that ends badly!'),"
    /* Finite but long: seconds of matching in many short matches, in simple-quantifier
     * scans inside lookaheads, or in long back-reference comparisons. A step counter that
     * restarted with every match, or that did not count those, would let these run far past
     * the deadline: to success, or until the watchdog, not the engine, gave up on them. */
    "  'many-short-matches': () => 'a'.repeat(20000).replace(new RegExp('(?=[^c]{0,9000}c)|', 'g'), '').length,"
    "  'many-short-matches-fn': () => 'a'.repeat(20000).replace(new RegExp('(?=[^c]{0,9000}c)|', 'g'), () => '').length,"
    "  'lookahead-rescan': () => ('a'.repeat(100000) + 'b').replace(/(?=a*b)/gy, '').length,"
    "  'long-backref': () => new RegExp('^(a{300000,}?)' + '(?=\\\\1)'.repeat(16) + '$', 'i')"
    "    .test('a'.repeat(1000000)),"
    "  'async': () => (async () => { await null; return /(a+)+$/.test(evil()); })(),"
    "  'async-catch': () => Promise.resolve().then(() => /(a+)+$/.test(evil())).catch((e) => 'caught ' + e),"
    "};"
    "function ordinary(n) {"
    "  const long = 'a'.repeat(n) + 'b';"
    "  const re = /a/g; re.test('aa');"
    "  const sticky = /b/y; sticky.lastIndex = 1;"
    "  return {"
    "    simple: /a*b/.exec(long)[0].length,"
    "    simpleIndex: /a*b/.exec('xx' + long).index,"
    "    loop: /(?:a|c)*b/.exec(long)[0].length,"
    "    capture: /(a|c)*b/.exec(long)[1],"
    "    counted: new RegExp('^(?:a{10}){' + n / 10 + '}b$').test(long),"
    "    lazy: /a*?b/.exec(long)[0].length,"
    "    lookahead: /a(?=a*b)/.test(long),"
    "    negLookahead: /^(?!a*c)/.test(long),"
    /* quadratic: 2000 (4M steps, ~10 ms, ~100 ms under TSan) only for the large runs, so
     * the small check after each timeout stays far inside its 400 ms deadline */
    "    backref: /^(a+)\\1b$/.test('a'.repeat(n >= 1000 ? 2000 : 20) + 'b'),"
    "    backtracked: /(a+)+$/.test('a'.repeat(12) + '!'),"
    "    evilMatches: /(a+)+$/.test('a'.repeat(44)),"
    "    noMatch: /a*b/.test('a'.repeat(1000)),"
    "    globalCount: ('ab'.repeat(n / 2)).match(/a/g).length,"
    "    deleteAll: ('ab'.repeat(n / 2)).replace(/a/g, '').length,"
    "    replaceFn: 'x1y22z333'.replace(/\\d+/g, (m) => '<' + m.length + '>'),"
    "    swap: 'John Smith'.replace(/(\\w+)\\s(\\w+)/, '$2, $1'),"
    "    split: 'a, b,,c'.split(/,\\s*/),"
    "    splitCaptures: 'a1b2c'.split(/(\\d)/),"
    "    matchAll: [...'t1e22s333'.matchAll(/\\d+/g)].map((m) => m[0] + '@' + m.index),"
    "    search: 'hello world'.search(/o\\sw/),"
    "    named: '2024-05-06'.match(/(?<y>\\d{4})-(?<m>\\d\\d)-(?<d>\\d\\d)/).groups,"
    "    ignoreCase: /HELLO/i.test('say hello'),"
    "    unicode: /^\\u{1F600}+$/u.test('\\u{1F600}\\u{1F600}'),"
    "    multiline: 'one\\ntwo\\nthree'.match(/^t\\w+$/gm),"
    "    dotAll: /a.b/s.test('a\\nb'),"
    "    lastIndex: re.lastIndex,"
    "    sticky: sticky.test('abc') && sticky.lastIndex,"
    "    wordBoundary: 'cat concat cat'.match(/\\bcat\\b/g).length,"
    "  };"
    "}"
    "definePlugin(({ ui }) => ({ widgets: { main: {"
    "  render({ pluginState }) {"
    "    const f = cases[pluginState.mode];"
    "    if (f) { const r = f(); return r && r.then ? r.then((v) => ui.text(String(v))) : ui.text(String(r)); }"
    "    return ui.text(JSON.stringify(ordinary(pluginState.n)));"
    "  } } } }));";

/* What ordinary(n) returns for a string of n 'a's and a 'b' (n a multiple of 10): the
 * same as on the unpatched QuickJS 2021-03-27 (and on any other engine). */
static json_t *ordinary_want(unsigned n) {
  char text[1024];
  snprintf(text, sizeof text,
           "{\"simple\":%u,\"simpleIndex\":2,\"loop\":%u,\"capture\":\"a\",\"counted\":true,"
           "\"lazy\":%u,\"lookahead\":true,\"negLookahead\":true,\"backref\":true,"
           "\"backtracked\":false,\"evilMatches\":true,\"noMatch\":false,\"globalCount\":%u,"
           "\"deleteAll\":%u,\"replaceFn\":\"x<1>y<2>z<3>\",\"swap\":\"Smith, John\","
           "\"split\":[\"a\",\"b\",\"\",\"c\"],\"splitCaptures\":[\"a\",\"1\",\"b\",\"2\",\"c\"],"
           "\"matchAll\":[\"1@1\",\"22@3\",\"333@6\"],\"search\":4,"
           "\"named\":{\"y\":\"2024\",\"m\":\"05\",\"d\":\"06\"},\"ignoreCase\":true,"
           "\"unicode\":true,\"multiline\":[\"two\",\"three\"],\"dotAll\":true,\"lastIndex\":1,"
           "\"sticky\":2,\"wordBoundary\":2}",
           n + 1, n + 1, n + 1, n / 2, n / 2);
  json_t *want = json_loads(text, 0, NULL);
  assert_non_null(want);
  return want;
}

static void set_mode(al_host *h, const char *id, const char *mode) {
  char s[96];
  snprintf(s, sizeof s, "{\"mode\":\"%s\"}", mode);
  assert_int_equal(al_state_set(h, id, s, NULL), 0);
}

/* Renders ordinary(n) and checks every result; `after` names what ran before, for messages. */
static void ordinary_ok(al_host *h, const char *id, unsigned n, const char *after) {
  char mode[64];
  snprintf(mode, sizeof mode, "{\"mode\":\"ordinary\",\"n\":%u}", n);
  assert_int_equal(al_state_set(h, id, mode, NULL), 0);
  char *out = NULL;
  al_error e;
  int rc = al_render(h, id, "main", &out, &e);
  if (rc) fail_msg("ordinary(%u) after %s failed: %s: %s", n, after, al_err_name(rc), e.message);
  json_t *t = t_json(out);
  const char *text = json_string_value(json_object_get(t, "text"));
  assert_non_null(text);
  json_t *got = json_loads(text, 0, NULL);
  if (!got) fail_msg("ordinary(%u) after %s returned %s", n, after, text);
  json_t *want = ordinary_want(n);
  if (!json_equal(want, got)) fail_msg("ordinary(%u) after %s returned %s", n, after, text);
  json_decref(want);
  json_decref(got);
  json_decref(t);
}

/* The newest telemetry record must be a call of `op` that the VM's own interrupt handler
 * ended: "interrupted" is only set from inside the engine, never by the watchdog, whose
 * hard deadline would also report AL_ETIMEOUT for a matcher that ignored the deadline. */
static void last_call_interrupted(al_host *h, const char *op, const char *what) {
  char *text = NULL;
  assert_int_equal(al_telemetry(h, &text, NULL), 0);
  json_t *tm = t_json(text);
  json_t *r = json_array_get(tm, json_array_size(tm) - 1);
  assert_non_null(r);
  assert_string_equal(json_string_value(json_object_get(r, "op")), op);
  assert_string_equal(json_string_value(json_object_get(r, "outcome")), "VM_TIMEOUT");
  if (!json_is_true(json_object_get(r, "interrupted")))
    fail_msg("%s: the deadline was enforced from outside the engine, not by its interrupt handler", what);
  json_decref(tm);
}

/* render_ms 0 keeps the default (100 ms). */
static al_host *regexp_host(uint32_t render_ms, char *id) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.watchdog_grace_ms = 5000; /* see testutil.h; the engine itself must stop the matcher */
  if (render_ms) cfg.limits.render_ms = render_ms;
  al_host *h = NULL;
  assert_int_equal(al_host_new(&cfg, &h, NULL), 0);
  t_load(h, "regexps", REGEXPS, NULL, id);
  return h;
}

/* 100 KB subjects: hundreds of thousands of matcher steps, so the new interrupt polling
 * runs many times, yet every result is what it was. The deadline is generous because
 * this is about results, not speed (sanitized QuickJS is several times slower). */
static void test_ordinary(void **st) {
  (void)st;
  char id[AL_INSTANCE_ID_MAX];
  al_host *h = regexp_host(60000, id);
  ordinary_ok(h, id, 100000, "loading");
  ordinary_ok(h, id, 100000, "ordinary(100000)"); /* nothing is left over from the first run */
  ordinary_ok(h, id, 1000, "ordinary(100000)");
  al_host_free(h);
}

static void test_catastrophic(void **st) {
  (void)st;
  char id[AL_INSTANCE_ID_MAX];
  /* 400 ms: each catastrophic case runs into it, and the small check after it must not
   * (ordinary(10) takes about 50 ms under ASan+UBSan on an idle 2-vCPU machine, so the
   * default 100 ms left a loaded one no margin: CI failed on it once) */
  al_host *h = regexp_host(400, id);
  static const char *const modes[] = {
      "test",        "exec",         "catch",        "finally",  "replace",
      "replace-fn",  "replace-global-empty",         "replace-all", "match",
      "match-global", "match-all",   "search",       "split",    "nested-quant",
      "many-short-matches", "many-short-matches-fn", "lookahead-rescan", "long-backref",
      "async",       "async-catch",
  };
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    set_mode(h, id, modes[i]);
    char *out = NULL;
    al_error e;
    int rc = al_render(h, id, "main", &out, &e);
    if (rc != AL_ETIMEOUT)
      fail_msg("%s: expected AL_ETIMEOUT got %s: %s (%s)", modes[i], al_err_name(rc),
               rc ? e.message : "", out ? out : "no output");
    assert_null(out);
    last_call_interrupted(h, "render", modes[i]);
    /* the instance renders normally afterwards, with the same results; a small subject,
     * since this call also runs under the 400 ms deadline (and a loaded machine running
     * sanitized QuickJS must not turn it into a timeout) */
    ordinary_ok(h, id, 10, modes[i]);
  }

  al_host_free(h);
}

static void test_load(void **st) {
  (void)st;
  al_host *h = t_host(T_BARE);
  al_error e;
  /* at load time, behind a catch */
  const char *src = "try { /(a+)+$/.test('a'.repeat(44) + '!'); } catch (e) {}"
                    "definePlugin(({ ui }) => ({ widgets: { main: { render() { return ui.text('x'); } } } }));";
  int rc = al_load(h, "p", src, strlen(src), NULL, NULL, 0, &e);
  assert_int_equal(rc, AL_ETIMEOUT);
  last_call_interrupted(h, "load", "load");
  char *text = NULL;
  assert_int_equal(al_instances(h, &text, NULL), 0);
  json_t *ids = t_json(text);
  assert_int_equal(json_array_size(ids), 0);
  json_decref(ids);
  al_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ordinary),
      cmocka_unit_test(test_catastrophic),
      cmocka_unit_test(test_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

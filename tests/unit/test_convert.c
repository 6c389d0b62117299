/*
 * test_convert.c: JSValue <-> json_t with JSON.stringify's rules, the refusals (cycles,
 * depth, size, non-JSON values), plugin code that throws during conversion, string
 * repair, and the host -> JS direction.
 *
 * Every JSValue is freed before the context and runtime: QuickJS asserts on leaks.
 */
#include "helpers.h"

#include <quickjs.h>

#include "vm/convert.h"

typedef struct fx {
  JSRuntime *rt;
  JSContext *ctx;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->rt = JS_NewRuntime();
  f->ctx = f->rt ? JS_NewContext(f->rt) : NULL;
  if (!f->ctx) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  JS_FreeContext(f->ctx);
  JS_FreeRuntime(f->rt);
  free(f);
  return 0;
}

static const cv_limits big = {64, 1u << 20};

/* Evaluates `src` as a global script; the test fails if it throws. */
static JSValue eval(JSContext *ctx, const char *src) {
  JSValue v = JS_Eval(ctx, src, strlen(src), "<test>", JS_EVAL_TYPE_GLOBAL);
  if (JS_IsException(v)) {
    JSValue e = JS_GetException(ctx);
    const char *m = JS_ToCString(ctx, e);
    print_error("eval '%s' threw: %s\n", src, m ? m : "?");
    JS_FreeCString(ctx, m);
    JS_FreeValue(ctx, e);
  }
  assert_false(JS_IsException(v));
  return v;
}

/* Converts the value of `src`; returns rc, *out the json (or NULL). */
static int conv(JSContext *ctx, const char *src, const cv_limits *lim, json_t **out,
                al_error *err) {
  JSValue v = eval(ctx, src);
  int rc = cv_to_json(ctx, v, "root", lim, out, err);
  JS_FreeValue(ctx, v);
  return rc;
}

/* True when `src` converts to exactly `expected` (' for "; NULL: no value). */
static bool conv_is(JSContext *ctx, const char *src, const char *expected) {
  json_t *out = NULL;
  al_error err;
  memset(&err, 0, sizeof err);
  int rc = conv(ctx, src, &big, &out, &err);
  if (rc) {
    print_error("%s: rc %d %s\n", src, rc, err.message);
    return false;
  }
  bool ok;
  if (!expected) {
    ok = out == NULL;
    if (!ok) print_error("%s: expected no value\n", src);
  } else {
    ok = tj_is(out, expected);
    if (!ok) print_error("  (converting %s)\n", src);
  }
  json_decref(out);
  return ok;
}

/* True when `src` is refused with `code`, a message containing every one of `parts`
 * (NULL-terminated) and, when path != NULL, exactly that path. */
static bool conv_refused(JSContext *ctx, const char *src, const cv_limits *lim, int code,
                         const char *path, const char *const *parts) {
  json_t *out = (json_t *)1;
  al_error err;
  memset(&err, 0, sizeof err);
  int rc = conv(ctx, src, lim, &out, &err);
  bool ok = rc == code && out == NULL;
  if (!ok) print_error("%s: expected rc %d, got %d (%s)\n", src, code, rc, err.message);
  if (ok && code == AL_ECONTRACT) {
    ok = err.code == code;
    if (path && strcmp(err.path, path) != 0) {
      print_error("%s: expected path '%s', got '%s'\n", src, path, err.path);
      ok = false;
    }
    for (const char *const *p = parts; p && *p; p++)
      if (!strstr(err.message, *p)) {
        print_error("%s: message '%s' lacks '%s'\n", src, err.message, *p);
        ok = false;
      }
  }
  if (out && out != (json_t *)1) json_decref(out);
  return ok;
}

/* Takes the pending exception and returns its message (malloc()ed), or NULL if none. */
static char *take_exception(JSContext *ctx) {
  JSValue e = JS_GetException(ctx);
  char *msg = NULL;
  if (!JS_IsNull(e) && !JS_IsUndefined(e)) {
    const char *m = JS_ToCString(ctx, e);
    msg = strdup(m ? m : "?");
    JS_FreeCString(ctx, m);
  }
  JS_FreeValue(ctx, e);
  return msg;
}

/* ---- primitives ---------------------------------------------------------------------------- */

static void test_primitives(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  assert_true(conv_is(ctx, "1", "1"));
  assert_true(conv_is(ctx, "-42", "-42"));
  assert_true(conv_is(ctx, "true", "true"));
  assert_true(conv_is(ctx, "false", "false"));
  assert_true(conv_is(ctx, "null", "null"));
  assert_true(conv_is(ctx, "'hi'", "'hi'"));
  assert_true(conv_is(ctx, "''", "''"));
  assert_true(conv_is(ctx, "'caf\\u00e9 \\u4e2d'", "'caf\\u00e9 \\u4e2d'"));
  /* non-finite numbers become null */
  assert_true(conv_is(ctx, "NaN", "null"));
  assert_true(conv_is(ctx, "Infinity", "null"));
  assert_true(conv_is(ctx, "-Infinity", "null"));
  assert_true(conv_is(ctx, "[NaN, 1/0]", "[null,null]"));
  assert_true(conv_is(ctx, "({a: 0/0})", "{'a':null}"));
  /* undefined, functions and symbols have no JSON form at the top */
  assert_true(conv_is(ctx, "undefined", NULL));
  assert_true(conv_is(ctx, "(function () {})", NULL));
  assert_true(conv_is(ctx, "(() => 1)", NULL));
  assert_true(conv_is(ctx, "Symbol('s')", NULL));
}

static void test_numbers(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  json_t *out = NULL;
  /* -0 is 0, an integer */
  assert_int_equal(conv(ctx, "-0", &big, &out, NULL), 0);
  assert_true(json_is_integer(out));
  assert_int_equal(json_integer_value(out), 0);
  json_decref(out);
  assert_true(conv_is(ctx, "[-0, 0, 0 * -1]", "[0,0,0]"));
  /* integral doubles are integers, others reals */
  assert_int_equal(conv(ctx, "2.0", &big, &out, NULL), 0);
  assert_true(json_is_integer(out));
  json_decref(out);
  assert_int_equal(conv(ctx, "2 ** 40", &big, &out, NULL), 0);
  assert_true(json_is_integer(out));
  assert_true(json_integer_value(out) == ((json_int_t)1 << 40));
  json_decref(out);
  assert_int_equal(conv(ctx, "-(2 ** 53) + 1", &big, &out, NULL), 0);
  assert_true(json_is_integer(out));
  assert_true(json_integer_value(out) == -(((json_int_t)1 << 53) - 1));
  json_decref(out);
  assert_int_equal(conv(ctx, "1.5", &big, &out, NULL), 0);
  assert_true(json_is_real(out));
  assert_true(json_real_value(out) == 1.5);
  json_decref(out);
  assert_int_equal(conv(ctx, "0.1 + 0.2", &big, &out, NULL), 0);
  assert_true(json_is_real(out));
  assert_true(json_real_value(out) == 0.1 + 0.2);
  json_decref(out);
  /* beyond 2^53 integers are no longer exact: kept as reals */
  assert_int_equal(conv(ctx, "2 ** 53", &big, &out, NULL), 0);
  assert_true(json_is_number(out));
  assert_true(json_number_value(out) == 9007199254740992.0);
  json_decref(out);
  assert_int_equal(conv(ctx, "1e300", &big, &out, NULL), 0);
  assert_true(json_is_real(out));
  assert_true(json_real_value(out) == 1e300);
  json_decref(out);
  assert_int_equal(conv(ctx, "-1e-300", &big, &out, NULL), 0);
  assert_true(json_is_real(out));
  json_decref(out);
}

/* ---- objects and arrays -------------------------------------------------------------------- */

static void test_objects_and_arrays(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  assert_true(conv_is(ctx, "({})", "{}"));
  assert_true(conv_is(ctx, "[]", "[]"));
  assert_true(conv_is(ctx, "({a: 1, b: [true, null, 'x', {c: []}]})",
                      "{'a':1,'b':[true,null,'x',{'c':[]}]}"));
  /* dropped from objects, null in arrays */
  assert_true(conv_is(ctx, "({a: undefined, b: function () {}, c: Symbol('x'), d: 1, e: () => 2})",
                      "{'d':1}"));
  assert_true(conv_is(ctx, "[undefined, function () {}, Symbol(), 1]", "[null,null,null,1]"));
  /* holes read as undefined */
  assert_true(conv_is(ctx, "[1, , 3]", "[1,null,3]"));
  assert_true(conv_is(ctx, "(() => { const a = []; a.length = 3; return a; })()", "[null,null,null]"));
  /* symbol keys and non-enumerable properties are not serialized */
  assert_true(conv_is(ctx, "({[Symbol('k')]: 1, a: 2})", "{'a':2}"));
  assert_true(conv_is(ctx, "Object.defineProperty({a: 1}, 'hidden', {value: 2, enumerable: false})",
                      "{'a':1}"));
  /* inherited properties are not own */
  assert_true(conv_is(ctx, "Object.create({inherited: 1}, {own: {value: 2, enumerable: true}})",
                      "{'own':2}"));
  /* extra properties on arrays are ignored */
  assert_true(conv_is(ctx, "(() => { const a = [1]; a.extra = 2; return a; })()", "[1]"));
  /* getters are called */
  assert_true(conv_is(ctx, "({get a() { return 5; }})", "{'a':5}"));
  /* shared references are not cycles */
  assert_true(conv_is(ctx, "(() => { const x = {v: 1}; return {p: x, q: x, r: [x, x]}; })()",
                      "{'p':{'v':1},'q':{'v':1},'r':[{'v':1},{'v':1}]}"));
  /* special objects */
  assert_true(conv_is(ctx, "({m: new Map([[1, 2]]), r: /x/g, e: new Error('e')})",
                      "{'m':{},'r':{},'e':{}}"));
}

static void test_key_order(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  /* insertion order kept (integer-like keys first, ascending, as JS orders them) */
  assert_true(conv_is(ctx, "({z: 1, a: 2, m: {y: 1, b: 2, k: 3}})",
                      "{'z':1,'a':2,'m':{'y':1,'b':2,'k':3}}"));
  assert_true(conv_is(ctx, "({b: 1, 2: 'two', a: 2, 1: 'one'})",
                      "{'1':'one','2':'two','b':1,'a':2}"));
  assert_true(conv_is(ctx, "(() => { const o = {x: 1, y: 2}; delete o.x; o.x = 3; return o; })()",
                      "{'y':2,'x':3}"));
  /* unusual keys are kept as text */
  assert_true(conv_is(ctx, "({'': 1, 'a b': 2, '\\u00e9': 3, 'q\"': 4})",
                      "{'':1,'a b':2,'\\u00e9':3,'q\\'':4}"));
}

static void test_to_json(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  assert_true(conv_is(ctx, "new Date(0)", "'1970-01-01T00:00:00.000Z'"));
  assert_true(conv_is(ctx, "({when: new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 250))})",
                      "{'when':'2024-02-29T12:30:15.250Z'}"));
  assert_true(conv_is(ctx, "[new Date(NaN)]", "[null]"));
  assert_true(conv_is(ctx, "({toJSON() { return {x: 1}; }, ignored: 2})", "{'x':1}"));
  assert_true(conv_is(ctx, "({a: {toJSON() { return 'A'; }}})", "{'a':'A'}"));
  assert_true(conv_is(ctx, "({toJSON() { return undefined; }})", NULL));
  assert_true(conv_is(ctx, "({a: {toJSON() { return undefined; }}, b: 1})", "{'b':1}"));
  /* toJSON is called with the object as this */
  assert_true(conv_is(ctx, "({v: 7, toJSON() { return this.v * 2; }})", "14"));
  /* a toJSON that is not a function is an ordinary property */
  assert_true(conv_is(ctx, "({toJSON: 3})", "{'toJSON':3}"));
  /* what toJSON returns is converted, but its own toJSON is not called again */
  assert_true(conv_is(ctx, "({toJSON() { return {toJSON: 1, y: 2}; }})", "{'toJSON':1,'y':2}"));
  assert_true(conv_is(ctx, "({toJSON() { return {inner: {toJSON() { return 'I'; }}}; }})",
                      "{'inner':'I'}"));
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_cycles(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  static const char *const cyc[] = {"cyclic", NULL};
  assert_true(conv_refused(ctx, "(() => { const o = {a: {b: {}}}; o.a.b = o; return o; })()", &big,
                           AL_ECONTRACT, "root.a.b", (const char *const[]){"root.a.b", "cyclic", NULL}));
  assert_true(conv_refused(ctx, "(() => { const o = {a: {b: {}}}; o.a.b.c = o.a; return o; })()",
                           &big, AL_ECONTRACT, "root.a.b.c", cyc));
  assert_true(conv_refused(ctx, "(() => { const o = {}; o.self = o; return o; })()", &big,
                           AL_ECONTRACT, "root.self", cyc));
  assert_true(conv_refused(ctx, "(() => { const a = [1]; a.push(a); return a; })()", &big,
                           AL_ECONTRACT, "root[1]", (const char *const[]){"root[1]", "cyclic", NULL}));
  assert_true(conv_refused(ctx, "(() => { const o = {list: [0, {}]}; o.list[1].up = o; return o; })()",
                           &big, AL_ECONTRACT, "root.list[1].up", cyc));
  /* through toJSON */
  assert_true(conv_refused(ctx, "(() => { const o = {}; o.k = {toJSON() { return o; }}; return o; })()",
                           &big, AL_ECONTRACT, "root.k", cyc));

  /* the root name is the caller's */
  JSValue v = eval(ctx, "(() => { const i = [{scope: 'plugin'}]; i[0].payload = i; return i; })()");
  json_t *out = NULL;
  al_error err;
  assert_int_equal(cv_to_json(ctx, v, "intents", &big, &out, &err), AL_ECONTRACT);
  JS_FreeValue(ctx, v);
  assert_null(out);
  assert_string_equal(err.path, "intents[0].payload");
  assert_non_null(strstr(err.message, "intents[0].payload"));
  assert_non_null(strstr(err.message, "cyclic"));
}

static void test_depth_limit(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  cv_limits lim = {3, 1u << 20};
  json_t *out = NULL;
  al_error err;
  /* three levels of nesting fit, four do not */
  assert_int_equal(conv(ctx, "[[[1]]]", &lim, &out, &err), 0);
  assert_true(tj_is(out, "[[[1]]]"));
  json_decref(out);
  assert_int_equal(conv(ctx, "({a: {b: {c: 1}}})", &lim, &out, &err), 0);
  json_decref(out);
  assert_true(conv_refused(ctx, "[[[[1]]]]", &lim, AL_ECONTRACT, "root[0][0][0]",
                           (const char *const[]){"root[0][0][0]", "nests deeper than 3 levels", NULL}));
  assert_true(conv_refused(ctx, "({a: {b: {c: {d: 1}}}})", &lim, AL_ECONTRACT, "root.a.b.c",
                           (const char *const[]){"nests deeper than 3", NULL}));
  /* scalars do not count as a level */
  assert_int_equal(conv(ctx, "({a: {b: {c: 'deep'}}})", &lim, &out, &err), 0);
  json_decref(out);

  /* very deep values are refused at the limit, not by exhausting the C stack */
  assert_true(conv_refused(ctx, "(() => { let v = 1; for (let i = 0; i < 100000; i++) v = [v]; return v; })()",
                           &big, AL_ECONTRACT, NULL,
                           (const char *const[]){"nests deeper than 64 levels", NULL}));
  cv_limits huge = {UINT32_MAX, SIZE_MAX};
  assert_true(conv_refused(ctx, "(() => { let v = 1; for (let i = 0; i < 100000; i++) v = {v}; return v; })()",
                           &huge, AL_ECONTRACT, NULL, (const char *const[]){"nests deeper", NULL}));

  /* deeper than the frames the walk keeps inline: the frame stack moves to the heap in
   * the middle of a walk, and the frames above keep their keys and indexes */
  cv_limits deep = {500, 1u << 20};
  assert_int_equal(conv(ctx, "(() => { let v = {x: 1}; for (let i = 0; i < 200; i++) v = {a: [0, v]}; return v; })()",
                        &deep, &out, &err), 0);
  json_t *leaf = out;
  for (int i = 0; i < 200; i++) leaf = json_array_get(json_object_get(leaf, "a"), 1);
  assert_int_equal(json_integer_value(json_object_get(leaf, "x")), 1);
  json_decref(out);
  assert_int_equal(conv(ctx, "(() => { const o = {}; let v = o; for (let i = 0; i < 40; i++) v = v.n = {};"
                             " v.back = o; return o; })()", &deep, &out, &err), AL_ECONTRACT);
  assert_null(out);
  char want[256] = "root";
  for (int i = 0; i < 40; i++) strcat(want, ".n");
  strcat(want, ".back");
  assert_string_equal(err.path, want);
  assert_non_null(strstr(err.message, "cyclic"));
}

static void test_byte_limit(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  cv_limits lim = {64, 100};
  json_t *out = NULL;
  assert_int_equal(conv(ctx, "'x'.repeat(50)", &lim, &out, NULL), 0);
  json_decref(out);
  assert_true(conv_refused(ctx, "'x'.repeat(200)", &lim, AL_ECONTRACT, "root",
                           (const char *const[]){"root is larger than the 100-byte limit", NULL}));
  assert_true(conv_refused(ctx, "({a: 1, b: 'x'.repeat(200)})", &lim, AL_ECONTRACT, "root.b",
                           (const char *const[]){"100-byte limit", NULL}));
  /* many small values add up */
  assert_true(conv_refused(ctx, "Array.from({length: 100}, (_, i) => i)", &lim, AL_ECONTRACT, NULL,
                           (const char *const[]){"100-byte limit", NULL}));
  /* long keys count */
  assert_true(conv_refused(ctx, "({['k'.repeat(150)]: 1})", &lim, AL_ECONTRACT, NULL,
                           (const char *const[]){"100-byte limit", NULL}));
  /* a huge sparse array is refused by its length, before any element is read */
  assert_true(conv_refused(ctx, "(() => { const a = []; a.length = 4e9; return a; })()", &big,
                           AL_ECONTRACT, "root", (const char *const[]){"1048576-byte limit", NULL}));
  /* the limit is inclusive of what fits */
  lim.max_bytes = 1u << 20;
  assert_int_equal(conv(ctx, "'x'.repeat(1000000)", &lim, &out, NULL), 0);
  assert_int_equal(json_string_length(out), 1000000);
  json_decref(out);
}

static void test_not_json(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  /* BigInt, when the engine has it, is not a JSON value (JSON.stringify throws) */
  JSValue v = JS_Eval(ctx, "10n", 3, "<test>", JS_EVAL_TYPE_GLOBAL);
  if (JS_IsException(v)) { /* built without CONFIG_BIGNUM */
    free(take_exception(ctx));
    skip();
  }
  json_t *out = NULL;
  al_error err;
  assert_int_equal(cv_to_json(ctx, v, "root", &big, &out, &err), AL_ECONTRACT);
  assert_null(out);
  assert_string_equal(err.message, "root is not a JSON value");
  JS_FreeValue(ctx, v);
  assert_true(conv_refused(ctx, "({a: [1, 2n]})", &big, AL_ECONTRACT, "root.a[1]",
                           (const char *const[]){"root.a[1] is not a JSON value", NULL}));
}

/* ---- plugin code that throws --------------------------------------------------------------- */

static void test_throwing_plugin_code(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  static const char *const srcs[] = {
      "({ok: 1, get a() { throw new Error('boom'); }})",
      "({a: {toJSON() { throw new Error('boom'); }}})",
      "[1, {get x() { throw new Error('boom'); }}]",
      "new Proxy({}, {ownKeys() { throw new Error('boom'); }})",
      "new Proxy([], {get(t, k) { if (k === 'length') throw new Error('boom'); return t[k]; }})",
      "({get toJSON() { throw new Error('boom'); }})",
  };
  for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++) {
    JSValue v = eval(ctx, srcs[i]);
    json_t *out = (json_t *)1;
    int rc = cv_to_json(ctx, v, "root", &big, &out, NULL);
    JS_FreeValue(ctx, v);
    if (rc != AL_EPLUGIN) print_error("%s: rc %d\n", srcs[i], rc);
    assert_int_equal(rc, AL_EPLUGIN);
    assert_null(out);
    /* the exception is pending in the context */
    char *msg = take_exception(ctx);
    assert_non_null(msg);
    assert_string_equal(msg, "Error: boom");
    free(msg);
  }
  /* the context is still usable */
  assert_true(conv_is(ctx, "({fine: true})", "{'fine':true}"));
}

/* ---- strings ------------------------------------------------------------------------------- */

static bool valid_utf8(const char *s, size_t len) {
  json_t *j = json_stringn(s, len); /* jansson validates */
  bool ok = j != NULL;
  json_decref(j);
  return ok;
}

static void test_lone_surrogates(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  json_t *out = NULL;
  static const char *const srcs[] = {"'a\\uD800b'", "'a\\uDC00b'", "'a' + '\\uD83D'.slice(0) + 'b'"};
  for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++) {
    assert_int_equal(conv(ctx, srcs[i], &big, &out, NULL), 0);
    assert_true(json_is_string(out));
    /* one UTF-16 code unit, one U+FFFD */
    assert_true(valid_utf8(json_string_value(out), json_string_length(out)));
    assert_string_equal(json_string_value(out), "a\xEF\xBF\xBD" "b");
    json_decref(out);
  }
  assert_true(conv_is(ctx, "'\\uDFFF\\uD800'", "'\\uFFFD\\uFFFD'"));
  /* in nested values and in keys too: a key is plugin text like any other, so it must
   * not turn into an out-of-memory error */
  assert_true(conv_is(ctx, "({a: ['x\\uDFFF']})", "{'a':['x\\uFFFD']}"));
  assert_true(conv_is(ctx, "({['k\\uD800']: 1})", "{'k\\uFFFD':1}"));
  /* a proper pair is one code point */
  assert_true(conv_is(ctx, "'\\uD83D\\uDE00'", "'\\uD83D\\uDE00'"));
  assert_int_equal(conv(ctx, "'\\uD83D\\uDE00'", &big, &out, NULL), 0);
  assert_string_equal(json_string_value(out), "\xF0\x9F\x98\x80");
  json_decref(out);
}

static void test_embedded_nul(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  json_t *out = NULL;
  assert_int_equal(conv(ctx, "'a\\u0000b'", &big, &out, NULL), 0);
  assert_true(json_is_string(out));
  assert_int_equal(json_string_length(out), 3);
  assert_memory_equal(json_string_value(out), "a\0b", 3);
  json_decref(out);
}

static void test_cv_string(void **state) {
  (void)state;
  static const struct {
    const char *in;
    size_t len;
    const char *out;
    size_t out_len;
  } cases[] = {
      {"", 0, "", 0},
      {"plain", 5, "plain", 5},
      {"abc", 2, "ab", 2}, /* len, not the NUL, bounds the input */
      {"caf\xC3\xA9", 5, "caf\xC3\xA9", 5},
      {"\xF0\x9F\x98\x80", 4, "\xF0\x9F\x98\x80", 4},
      {"\xFF", 1, "\xEF\xBF\xBD", 3},
      {"a\xFE" "b", 3, "a\xEF\xBF\xBD" "b", 5},
      {"a\xC3", 2, "a\xEF\xBF\xBD", 4},                      /* truncated sequence */
      {"\xC3(", 2, "\xEF\xBF\xBD(", 4},                      /* bad continuation */
      /* a well-formed sequence for a bad code point is one U+FFFD */
      {"\xC0\xAF", 2, "\xEF\xBF\xBD", 3},                    /* overlong '/' */
      {"\xE0\x80\xAF", 3, "\xEF\xBF\xBD", 3},                /* overlong, 3 bytes */
      {"\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD", 3},            /* above U+10FFFF */
      {"x\xED\xA0\x80y", 5, "x\xEF\xBF\xBDy", 5},             /* encoded lone surrogate */
      {"\xED\xBF\xBF\xED\xA0\x80", 6, "\xEF\xBF\xBD\xEF\xBF\xBD", 6},
      /* a broken sequence loses one byte at a time */
      {"\xED\xA0", 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 6},
      {"\xF0\x9F\x98", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 9},
      {"\x80" "ok", 3, "\xEF\xBF\xBD" "ok", 5},               /* stray continuation */
      {"\xC3\xA9\xFF\xC3\xA9", 5, "\xC3\xA9\xEF\xBF\xBD\xC3\xA9", 7},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *j = cv_string(cases[i].in, cases[i].len);
    assert_non_null(j);
    if (json_string_length(j) != cases[i].out_len ||
        memcmp(json_string_value(j), cases[i].out, cases[i].out_len) != 0)
      print_error("cv_string case %zu: got %zu bytes\n", i, json_string_length(j));
    assert_int_equal(json_string_length(j), cases[i].out_len);
    assert_memory_equal(json_string_value(j), cases[i].out, cases[i].out_len);
    assert_true(valid_utf8(json_string_value(j), json_string_length(j)));
    json_decref(j);
  }
  /* NUL is valid UTF-8 and kept */
  json_t *j = cv_string("a\0b", 3);
  assert_non_null(j);
  assert_int_equal(json_string_length(j), 3);
  assert_memory_equal(json_string_value(j), "a\0b", 3);
  json_decref(j);
}

/* ---- host -> JS ---------------------------------------------------------------------------- */

static void test_from_json_round_trip(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  static const char *const docs[] = {
      "{'a':[1,2.5,'s',true,false,null,{'b':{}}],'z':-7,'m':{'y':1,'b':[]},'u':'caf\\u00e9 \\ud83d\\ude00'}",
      "[]", "{}", "0", "-1", "1.25", "'text'", "null", "true", "[[[[]]]]",
      "{'big':4294967296,'neg':-2147483649,'max':2147483647,'min':-2147483648}",
  };
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
    json_t *in = tj(docs[i]);
    JSValue v = cv_from_json(ctx, in);
    assert_false(JS_IsException(v));
    json_t *back = NULL;
    assert_int_equal(cv_to_json(ctx, v, "root", &big, &back, NULL), 0);
    JS_FreeValue(ctx, v);
    char *a = tj_text(in), *b = tj_text(back);
    if (strcmp(a, b)) print_error("round trip: %s -> %s\n", a, b);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(in);
    json_decref(back);
  }

  /* what the JS side sees: real values of the right types, fresh objects */
  json_t *in = tj("{'n':1,'f':1.5,'s':'x','a':[1,{'k':null}],'t':true,'big':4294967296}");
  JSValue v = cv_from_json(ctx, in);
  JSValue global = JS_GetGlobalObject(ctx);
  JS_SetPropertyStr(ctx, global, "x", v); /* takes v */
  JSValue r = eval(ctx, "[typeof x.n, typeof x.f, typeof x.s, Array.isArray(x.a), x.a[1].k === null,"
                        " x.t === true, x.big === 4294967296, Object.keys(x).join(','),"
                        " JSON.stringify(x)].join('|')");
  const char *rs = JS_ToCString(ctx, r);
  assert_non_null(rs);
  assert_string_equal(rs, "number|number|string|true|true|true|true|n,f,s,a,t,big|"
                          "{\"n\":1,\"f\":1.5,\"s\":\"x\",\"a\":[1,{\"k\":null}],\"t\":true,"
                          "\"big\":4294967296}");
  JS_FreeCString(ctx, rs);
  JS_FreeValue(ctx, r);
  /* mutating the copy in JS does not touch the json */
  JSValue m = eval(ctx, "x.a.push(2); x.n = 99; delete x.s; 0");
  JS_FreeValue(ctx, m);
  assert_true(tj_is(in, "{'n':1,'f':1.5,'s':'x','a':[1,{'k':null}],'t':true,'big':4294967296}"));
  JS_FreeValue(ctx, global);
  json_decref(in);

  /* NULL is undefined */
  JSValue u = cv_from_json(ctx, NULL);
  assert_true(JS_IsUndefined(u));

  /* a string with an embedded NUL survives both ways */
  json_t *nul = json_stringn("a\0b", 3);
  v = cv_from_json(ctx, nul);
  json_t *back = NULL;
  assert_int_equal(cv_to_json(ctx, v, "root", &big, &back, NULL), 0);
  assert_true(json_equal(nul, back));
  JS_FreeValue(ctx, v);
  json_decref(back);
  json_decref(nul);
}

/* Frozen values (a VM's resident state) and the delta that makes the next one. */
static void test_frozen_and_patch(void **state) {
  JSContext *ctx = ((fx *)*state)->ctx;
  json_t *src = tj("{'n':1,'items':[{'k':1},2],'gone':true,'keep':'x'}");
  JSValue v = cv_from_json_frozen(ctx, src);
  assert_false(JS_IsException(v));
  JSValue g = JS_GetGlobalObject(ctx);
  JS_SetPropertyStr(ctx, g, "s", JS_DupValue(ctx, v));
  /* frozen at every level, writes do nothing (sloppy) or throw (strict) */
  JSValue r = eval(ctx, "[Object.isFrozen(s), Object.isFrozen(s.items), Object.isFrozen(s.items[0]),"
                        " (s.n = 5, s.items.length = 0, s.items[0].k = 9, s.fresh = 1, JSON.stringify(s)),"
                        " (() => { 'use strict'; try { s.items.push(3); return 'pushed'; } catch (e) { return e.name; } })()]");
  json_t *got = NULL;
  al_error err;
  assert_int_equal(cv_to_json(ctx, r, "root", &big, &got, &err), 0);
  assert_string_equal(json_string_value(json_array_get(got, 3)),
                      "{\"n\":1,\"items\":[{\"k\":1},2],\"gone\":true,\"keep\":\"x\"}");
  json_array_remove(got, 3);
  assert_true(tj_is(got, "[true,true,true,'TypeError']"));
  json_decref(got);
  JS_FreeValue(ctx, r);
  /* a prototype setter for a key the delta adds must not see the write */
  JS_FreeValue(ctx, eval(ctx, "var hit = 0; Object.defineProperty(Object.prototype, 'late', { set() { hit++; }, configurable: true });"));
  json_t *set = tj("{'n':2,'late':[1]}"), *del = tj("['gone']");
  JSValue p = cv_patch_frozen(ctx, v, set, del);
  assert_false(JS_IsException(p));
  JS_SetPropertyStr(ctx, g, "p", p);
  r = eval(ctx, "[JSON.stringify(p), Object.isFrozen(p), Object.isFrozen(p.late), p.items === s.items, hit]");
  assert_int_equal(cv_to_json(ctx, r, "root", &big, &got, &err), 0);
  /* old keys in order without the deleted one, replaced in place, new ones appended, and
   * untouched values shared with the old state */
  assert_string_equal(json_string_value(json_array_get(got, 0)),
                      "{\"n\":2,\"items\":[{\"k\":1},2],\"keep\":\"x\",\"late\":[1]}");
  json_array_remove(got, 0);
  assert_true(tj_is(got, "[true,true,true,0]"));
  json_decref(got);
  JS_FreeValue(ctx, r);
  JS_FreeValue(ctx, eval(ctx, "delete Object.prototype.late"));
  JS_FreeValue(ctx, g);
  JS_FreeValue(ctx, v);
  json_decref(src);
  json_decref(set);
  json_decref(del);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_primitives, setup, teardown),
      cmocka_unit_test_setup_teardown(test_frozen_and_patch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_objects_and_arrays, setup, teardown),
      cmocka_unit_test_setup_teardown(test_key_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_to_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cycles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_byte_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_throwing_plugin_code, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lone_surrogates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_embedded_nul, setup, teardown),
      cmocka_unit_test(test_cv_string),
      cmocka_unit_test_setup_teardown(test_from_json_round_trip, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

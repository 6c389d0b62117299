/*
 * convert.c: JSValue <-> json_t.
 *
 * The walk keeps its ancestors on a fixed stack: that stack detects cycles (an object
 * that is its own ancestor) and, only when something fails, spells out the path, so a
 * successful conversion formats no strings.
 *
 * A render result is mostly short ASCII keys and strings, so those take a fast path:
 * ASCII text is already valid UTF-8 and goes to jansson without a second check or copy,
 * and the atoms the walk looks up on every object ("toJSON", "length") are made once
 * per conversion instead of once per lookup.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/utf8.h"
#include "convert.h"

#define CV_STACK_MAX 1024
#define CV_STACK_SMALL 32 /* frames kept in the walk itself; deeper values grow to the heap */

typedef struct cv_frame {
  void *obj;      /* object being walked, for cycle detection */
  JSAtom key;     /* property this frame's child is under, or JS_ATOM_NULL */
  uint32_t index; /* array index when key == JS_ATOM_NULL */
  bool is_array;
} cv_frame;

typedef struct cv_walk {
  JSContext *ctx;
  JSAtom at_tojson, at_length;
  const cv_limits *lim;
  const char *root;
  size_t bytes;
  uint32_t depth, cap;
  cv_frame *stack; /* `small`, or a heap array once deeper than CV_STACK_SMALL */
  cv_frame small[CV_STACK_SMALL];
  al_error *err;
} cv_walk;

static void cv_path(cv_walk *w, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "%s", w->root);
  for (uint32_t i = 0; i < w->depth && n < cap; i++) {
    cv_frame *f = &w->stack[i];
    if (f->is_array ? f->index == UINT32_MAX : f->key == JS_ATOM_NULL) break;
    if (f->is_array) {
      n += (size_t)snprintf(buf + n, cap - n, "[%u]", f->index);
    } else {
      size_t klen = 0;
      JSValue ks = JS_AtomToString(w->ctx, f->key);
      const char *k = JS_IsException(ks) ? NULL : JS_ToCStringLen(w->ctx, &klen, ks);
      JS_FreeValue(w->ctx, ks);
      json_t *kj = k ? cv_string(k, klen > 40 ? 40 : klen) : NULL; /* valid UTF-8 only */
      n += (size_t)snprintf(buf + n, cap - n, ".%s", kj ? json_string_value(kj) : "?");
      json_decref(kj);
      JS_FreeCString(w->ctx, k);
    }
  }
}

static int cv_fail(cv_walk *w, const char *what) {
  char path[256];
  cv_path(w, path, sizeof path);
  return err_set(w->err, AL_ECONTRACT, path, "%s %s", path, what);
}

/* Replaces what does not decode with U+FFFD (contract/utf8.h), so the output is at most
 * 3x the input. */
json_t *cv_string(const char *s, size_t len) { return utf8_json(s, len, len); }

static int cv_value(cv_walk *w, JSValueConst v, json_t **out, bool allow_tojson);

/* True when s[0..len) is ASCII without NUL: valid UTF-8 as it stands. */
static bool cv_plain_ascii(const char *s, size_t len) {
  unsigned char acc = 0, nul = 1;
  for (size_t i = 0; i < len; i++) {
    acc |= (unsigned char)s[i];
    nul &= s[i] != 0;
  }
  return acc < 0x80 && nul;
}

/* cv_string, skipping jansson's UTF-8 check when the text is plain ASCII. */
static json_t *cv_string_fast(const char *s, size_t len) {
  return cv_plain_ascii(s, len) ? json_stringn_nocheck(s, len) : cv_string(s, len);
}

static int cv_add_bytes(cv_walk *w, size_t n) {
  w->bytes += n;
  if (w->bytes > w->lim->max_bytes) {
    char what[80];
    snprintf(what, sizeof what, "is larger than the %zu-byte limit", w->lim->max_bytes);
    return cv_fail(w, what);
  }
  return 0;
}

static int cv_push(cv_walk *w, JSValueConst obj, bool is_array) {
  void *p = JS_VALUE_GET_PTR(obj);
  for (uint32_t i = 0; i < w->depth; i++)
    if (w->stack[i].obj == p) return cv_fail(w, "is cyclic (it contains itself)");
  if (w->depth >= w->lim->max_depth || w->depth >= CV_STACK_MAX) {
    char what[80];
    uint32_t max = w->lim->max_depth < CV_STACK_MAX ? w->lim->max_depth : CV_STACK_MAX;
    snprintf(what, sizeof what, "nests deeper than %u levels", max);
    return cv_fail(w, what);
  }
  if (w->depth == w->cap) {
    uint32_t cap = w->cap * 4 < CV_STACK_MAX ? w->cap * 4 : CV_STACK_MAX;
    cv_frame *ns = malloc(cap * sizeof *ns);
    if (!ns) return AL_ENO_MEMORY;
    memcpy(ns, w->stack, w->depth * sizeof *ns);
    if (w->stack != w->small) free(w->stack);
    w->stack = ns;
    w->cap = cap;
  }
  w->stack[w->depth++] =
      (cv_frame){.obj = p, .key = JS_ATOM_NULL, .index = UINT32_MAX, .is_array = is_array};
  return 0;
}

static int cv_array(cv_walk *w, JSValueConst v, json_t **out) {
  JSContext *ctx = w->ctx;
  int64_t len = 0;
  JSValue lv = JS_GetProperty(ctx, v, w->at_length);
  if (JS_IsException(lv)) return AL_EPLUGIN;
  int rc = JS_ToInt64(ctx, &len, lv);
  JS_FreeValue(ctx, lv);
  if (rc < 0) return AL_EPLUGIN;
  if (len < 0) len = 0;
  if (len > UINT32_MAX) len = UINT32_MAX; /* the byte budget refuses it long before */
  if ((rc = cv_add_bytes(w, 2 + (size_t)len))) return rc; /* brackets + commas, bounds len */
  json_t *arr = json_array();
  if (!arr) return AL_ENO_MEMORY;
  /* this value's frame, by index: the stack may move when a child grows it */
  uint32_t fi = w->depth - 1;
  for (int64_t i = 0; i < len; i++) {
    w->stack[fi].index = (uint32_t)i;
    JSValue e = JS_GetPropertyUint32(ctx, v, (uint32_t)i);
    if (JS_IsException(e)) { rc = AL_EPLUGIN; break; }
    json_t *je = NULL;
    rc = cv_value(w, e, &je, true);
    JS_FreeValue(ctx, e);
    if (rc) break;
    if (!je && !(je = json_null())) { rc = AL_ENO_MEMORY; break; }
    if (json_array_append_new(arr, je)) { rc = AL_ENO_MEMORY; break; }
  }
  if (rc) { json_decref(arr); return rc; }
  *out = arr;
  return 0;
}

static int cv_object(cv_walk *w, JSValueConst v, json_t **out) {
  JSContext *ctx = w->ctx;
  JSPropertyEnum *tab = NULL;
  uint32_t n = 0;
  if (JS_GetOwnPropertyNames(ctx, &tab, &n, v, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY) < 0)
    return AL_EPLUGIN;
  int rc = cv_add_bytes(w, 2 + n);
  json_t *obj = rc ? NULL : json_object();
  if (!rc && !obj) rc = AL_ENO_MEMORY;
  uint32_t fi = w->depth - 1; /* by index: the stack may move when a child grows it */
  for (uint32_t i = 0; !rc && i < n; i++) {
    w->stack[fi].key = tab[i].atom;
    JSValue e = JS_GetProperty(ctx, v, tab[i].atom);
    if (JS_IsException(e)) { rc = AL_EPLUGIN; break; }
    json_t *je = NULL;
    rc = cv_value(w, e, &je, true);
    JS_FreeValue(ctx, e);
    if (rc || !je) continue; /* dropped: undefined, function, symbol */
    size_t klen;
    JSValue ks = JS_AtomToString(ctx, tab[i].atom);
    const char *k = JS_IsException(ks) ? NULL : JS_ToCStringLen(ctx, &klen, ks);
    JS_FreeValue(ctx, ks);
    if (!k) { json_decref(je); rc = AL_EPLUGIN; break; }
    /* A key is plugin text like any value: lone surrogates become U+FFFD (jansson refuses
     * keys that are not valid UTF-8). jansson keys are NUL-terminated; a key with an
     * embedded NUL is cut there, which can merge two keys: the later one wins, as with
     * any duplicate key. */
    if (cv_plain_ascii(k, klen)) {
      rc = cv_add_bytes(w, klen + 4);
      if (!rc && json_object_setn_new_nocheck(obj, k, klen, je)) rc = AL_ENO_MEMORY;
      else if (rc) json_decref(je);
      JS_FreeCString(ctx, k);
      continue;
    }
    json_t *kj = cv_string(k, klen);
    JS_FreeCString(ctx, k);
    if (!kj) { json_decref(je); rc = AL_ENO_MEMORY; break; }
    rc = cv_add_bytes(w, klen + 4);
    if (!rc && json_object_set_new(obj, json_string_value(kj), je)) rc = AL_ENO_MEMORY;
    else if (rc) json_decref(je);
    json_decref(kj);
  }
  w->stack[fi].key = JS_ATOM_NULL;
  for (uint32_t i = 0; i < n; i++) JS_FreeAtom(ctx, tab[i].atom);
  js_free(ctx, tab);
  if (rc) { json_decref(obj); return rc; }
  *out = obj;
  return 0;
}

static int cv_value(cv_walk *w, JSValueConst v, json_t **out, bool allow_tojson) {
  JSContext *ctx = w->ctx;
  *out = NULL;
  switch (JS_VALUE_GET_NORM_TAG(v)) {
  case JS_TAG_INT:
    if (cv_add_bytes(w, 8)) return AL_ECONTRACT;
    return (*out = json_integer(JS_VALUE_GET_INT(v))) ? 0 : AL_ENO_MEMORY;
  case JS_TAG_FLOAT64: {
    if (cv_add_bytes(w, 8)) return AL_ECONTRACT;
    double d = JS_VALUE_GET_FLOAT64(v);
    if (!isfinite(d)) *out = json_null();
    else if (d == floor(d) && fabs(d) < 9007199254740992.0) *out = json_integer((json_int_t)d);
    else *out = json_real(d);
    return *out ? 0 : AL_ENO_MEMORY;
  }
  case JS_TAG_BOOL:
    if (cv_add_bytes(w, 5)) return AL_ECONTRACT;
    return (*out = json_boolean(JS_VALUE_GET_BOOL(v))) ? 0 : AL_ENO_MEMORY;
  case JS_TAG_NULL:
    if (cv_add_bytes(w, 4)) return AL_ECONTRACT;
    return (*out = json_null()) ? 0 : AL_ENO_MEMORY;
  case JS_TAG_UNDEFINED:
  case JS_TAG_SYMBOL:
    return 0;
  case JS_TAG_STRING: {
    size_t len;
    const char *s = JS_ToCStringLen(ctx, &len, v);
    if (!s) return AL_EPLUGIN;
    int rc = cv_add_bytes(w, len + 2);
    if (!rc) rc = (*out = cv_string_fast(s, len)) ? 0 : AL_ENO_MEMORY;
    JS_FreeCString(ctx, s);
    return rc;
  }
  case JS_TAG_OBJECT:
    break;
  default:
    return cv_fail(w, "is not a JSON value");
  }
  if (JS_IsFunction(ctx, v)) return 0;

  if (allow_tojson) {
    /* JSON.stringify calls toJSON once and serializes whatever it returns in v's place */
    JSValue tj = JS_GetProperty(ctx, v, w->at_tojson);
    if (JS_IsException(tj)) return AL_EPLUGIN;
    if (JS_IsFunction(ctx, tj)) {
      JSValue r = JS_Call(ctx, tj, v, 0, NULL);
      JS_FreeValue(ctx, tj);
      if (JS_IsException(r)) return AL_EPLUGIN;
      int rc = cv_value(w, r, out, false);
      JS_FreeValue(ctx, r);
      return rc;
    }
    JS_FreeValue(ctx, tj);
  }

  int isarr = JS_IsArray(ctx, v);
  if (isarr < 0) return AL_EPLUGIN;
  int rc = cv_push(w, v, isarr);
  if (rc) return rc;
  rc = isarr ? cv_array(w, v, out) : cv_object(w, v, out);
  w->depth--;
  return rc;
}

int cv_to_json(JSContext *ctx, JSValueConst v, const char *root, const cv_limits *lim,
               json_t **out, al_error *err) {
  /* The walk lives on the C stack (a few hundred bytes): a 24 KiB heap block per
   * conversion made glibc consolidate its free lists on every render. */
  cv_walk walk, *w = &walk;
  w->stack = w->small;
  w->cap = CV_STACK_SMALL;
  w->ctx = ctx;
  w->lim = lim;
  w->root = root;
  w->bytes = 0;
  w->depth = 0;
  w->err = err;
  w->at_tojson = JS_NewAtom(ctx, "toJSON");
  w->at_length = JS_NewAtom(ctx, "length");
  *out = NULL;
  int rc = w->at_tojson == JS_ATOM_NULL || w->at_length == JS_ATOM_NULL ? AL_ENO_MEMORY
                                                                        : cv_value(w, v, out, true);
  JS_FreeAtom(ctx, w->at_tojson);
  JS_FreeAtom(ctx, w->at_length);
  if (w->stack != w->small) free(w->stack);
  if (rc == AL_ENO_MEMORY) err_set(err, rc, NULL, "out of memory converting %s", root);
  if (rc) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

/* A frozen value is built frozen rather than frozen afterwards: its properties are
 * defined non-writable and non-configurable and the container is then made
 * non-extensible (what Object.freeze leaves), so no walk over it is needed and nothing a
 * plugin did to Object or Array.prototype takes part. An array's length is made
 * read-only last. */
static JSValue from_json(JSContext *ctx, const json_t *v, bool frozen) {
  if (!v) return JS_UNDEFINED;
  int flags = frozen ? JS_PROP_ENUMERABLE : JS_PROP_C_W_E;
  switch (json_typeof(v)) {
  case JSON_NULL: return JS_NULL;
  case JSON_TRUE: return JS_TRUE;
  case JSON_FALSE: return JS_FALSE;
  case JSON_INTEGER: {
    json_int_t i = json_integer_value(v);
    return (i >= INT32_MIN && i <= INT32_MAX) ? JS_NewInt32(ctx, (int32_t)i)
                                              : JS_NewFloat64(ctx, (double)i);
  }
  case JSON_REAL: return JS_NewFloat64(ctx, json_real_value(v));
  case JSON_STRING: return JS_NewStringLen(ctx, json_string_value(v), json_string_length(v));
  case JSON_ARRAY: {
    JSValue a = JS_NewArray(ctx);
    if (JS_IsException(a)) return a;
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
      JSValue je = from_json(ctx, e, frozen);
      if (JS_IsException(je) || JS_DefinePropertyValueUint32(ctx, a, (uint32_t)i, je, flags) < 0) {
        JS_FreeValue(ctx, a);
        return JS_EXCEPTION;
      }
    }
    if (frozen) {
      JSAtom len = JS_NewAtom(ctx, "length");
      int r = len == JS_ATOM_NULL ? -1
                                  : JS_DefineProperty(ctx, a, len, JS_UNDEFINED, JS_UNDEFINED,
                                                      JS_UNDEFINED, JS_PROP_HAS_WRITABLE);
      JS_FreeAtom(ctx, len);
      if (r < 0 || JS_PreventExtensions(ctx, a) < 0) {
        JS_FreeValue(ctx, a);
        return JS_EXCEPTION;
      }
    }
    return a;
  }
  case JSON_OBJECT: {
    JSValue o = JS_NewObject(ctx);
    if (JS_IsException(o)) return o;
    const char *k;
    const json_t *e;
    json_object_foreach((json_t *)v, k, e) {
      JSValue je = from_json(ctx, e, frozen);
      if (JS_IsException(je) || JS_DefinePropertyValueStr(ctx, o, k, je, flags) < 0) {
        JS_FreeValue(ctx, o);
        return JS_EXCEPTION;
      }
    }
    if (frozen && JS_PreventExtensions(ctx, o) < 0) {
      JS_FreeValue(ctx, o);
      return JS_EXCEPTION;
    }
    return o;
  }
  }
  return JS_UNDEFINED;
}

JSValue cv_from_json(JSContext *ctx, const json_t *v) { return from_json(ctx, v, false); }

JSValue cv_from_json_frozen(JSContext *ctx, const json_t *v) { return from_json(ctx, v, true); }

JSValue cv_thaw(JSContext *ctx, JSValueConst v) {
  if (!JS_IsObject(v)) return JS_DupValue(ctx, v);
  bool arr = JS_IsArray(ctx, v) > 0;
  JSValue o = arr ? JS_NewArray(ctx) : JS_NewObject(ctx);
  JSPropertyEnum *tab = NULL;
  uint32_t n = 0;
  if (JS_IsException(o) || JS_GetOwnPropertyNames(ctx, &tab, &n, v, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY) < 0) {
    JS_FreeValue(ctx, o);
    return JS_EXCEPTION;
  }
  bool ok = true;
  for (uint32_t j = 0; j < n; j++) {
    /* `v` was built frozen from JSON: plain data properties, no plugin code to run */
    JSValue e = ok ? JS_GetProperty(ctx, v, tab[j].atom) : JS_UNDEFINED;
    JSValue c = ok && !JS_IsException(e) ? cv_thaw(ctx, e) : JS_EXCEPTION;
    JS_FreeValue(ctx, e);
    if (ok && (JS_IsException(c) ||
               JS_DefinePropertyValue(ctx, o, tab[j].atom, c, JS_PROP_C_W_E) < 0))
      ok = false;
    JS_FreeAtom(ctx, tab[j].atom);
  }
  js_free(ctx, tab);
  if (ok) return o;
  JS_FreeValue(ctx, o);
  return JS_EXCEPTION;
}

JSValue cv_patch_frozen(JSContext *ctx, JSValueConst old, const json_t *set, const json_t *del) {
  JSPropertyEnum *tab = NULL;
  uint32_t n = 0;
  json_t *gone = json_object(); /* del as a set: a delta may remove many keys */
  JSValue o = gone ? JS_NewObject(ctx) : JS_EXCEPTION;
  if (JS_IsException(o) || !json_is_object(set) ||
      JS_GetOwnPropertyNames(ctx, &tab, &n, old, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY) < 0)
    goto fail;
  size_t i;
  const json_t *k;
  json_array_foreach(del, i, k) {
    if (json_is_string(k) && json_object_set(gone, json_string_value(k), json_true())) goto fail;
  }
  /* The old keys in their order, then the new ones: store.c's state_delta only offers a
   * delta for which that is the new state's own order. `old` was built frozen, so its
   * properties are plain data: reading them runs no plugin code. */
  for (uint32_t j = 0; j < n; j++) {
    const char *name = JS_AtomToCString(ctx, tab[j].atom);
    if (!name) goto fail;
    const json_t *nv = json_object_get(set, name);
    bool drop = json_object_get(gone, name) != NULL;
    JS_FreeCString(ctx, name);
    if (drop && !nv) continue;
    JSValue v = nv ? from_json(ctx, nv, true) : JS_GetProperty(ctx, old, tab[j].atom);
    if (JS_IsException(v) || JS_DefinePropertyValue(ctx, o, tab[j].atom, v, JS_PROP_ENUMERABLE) < 0)
      goto fail;
  }
  const char *name;
  const json_t *nv;
  json_object_foreach((json_t *)set, name, nv) {
    JSAtom a = JS_NewAtom(ctx, name);
    if (a == JS_ATOM_NULL) goto fail;
    int has = JS_GetOwnProperty(ctx, NULL, o, a); /* own only: never the prototype's */
    JS_FreeAtom(ctx, a);
    if (has < 0) goto fail;
    if (has) continue;
    JSValue v = from_json(ctx, nv, true);
    if (JS_IsException(v) || JS_DefinePropertyValueStr(ctx, o, name, v, JS_PROP_ENUMERABLE) < 0)
      goto fail;
  }
  if (JS_PreventExtensions(ctx, o) < 0) goto fail;
  for (uint32_t j = 0; j < n; j++) JS_FreeAtom(ctx, tab[j].atom);
  js_free(ctx, tab);
  json_decref(gone);
  return o;
fail:
  for (uint32_t j = 0; j < n; j++) JS_FreeAtom(ctx, tab[j].atom);
  js_free(ctx, tab);
  json_decref(gone);
  JS_FreeValue(ctx, o);
  return JS_EXCEPTION;
}

/*
 * convert.h: the only way values cross between a QuickJS context and the host.
 *
 * JS -> host walks the JSValue graph directly (no stringify-then-parse) with
 * JSON.stringify's rules: undefined, functions and symbols are dropped from objects and
 * become null in arrays, non-finite numbers become null, toJSON() is honoured. Cycles,
 * excessive depth and excessive size are refused with the path where they were found.
 * Host -> JS builds fresh objects, so a plugin only ever receives copies.
 *
 * Both run on the thread that owns the context, inside a call's deadline: getters,
 * proxies and toJSON are plugin code.
 */
#ifndef AL_CONVERT_H
#define AL_CONVERT_H

#include <quickjs.h>

#include "common.h"

typedef struct cv_limits {
  uint32_t max_depth; /* nesting levels of objects/arrays */
  size_t max_bytes;   /* approximate JSON size */
} cv_limits;

/* Converts `v` to a new json_t in *out (NULL when `v` itself is undefined, a function or
 * a symbol). `root` names the value in error paths ("root", "intents").
 * Returns 0; AL_ECONTRACT for a cycle, depth, size or non-JSON value; AL_EPLUGIN when
 * plugin code (a getter, proxy trap or toJSON) threw: the exception is pending in ctx;
 * AL_ENO_MEMORY when the host could not allocate. */
int cv_to_json(JSContext *ctx, JSValueConst v, const char *root, const cv_limits *lim,
               json_t **out, al_error *err);

/* A new JS value equal to `v` (NULL: undefined), or JS_EXCEPTION when the context is out
 * of memory. The caller owns the result. */
JSValue cv_from_json(JSContext *ctx, const json_t *v);
/* The same, deeply frozen (as Object.freeze at every level), for values a VM keeps
 * across calls and hands to plugin code. */
JSValue cv_from_json_frozen(JSContext *ctx, const json_t *v);
/* A mutable deep copy of `v`, a value cv_from_json_frozen or cv_patch_frozen built. */
JSValue cv_thaw(JSContext *ctx, JSValueConst v);
/* A new frozen object: the frozen object `old`'s own properties with the keys of `del`
 * (array of strings) removed and those of `set` (object) replaced or appended. */
JSValue cv_patch_frozen(JSContext *ctx, JSValueConst old, const json_t *set, const json_t *del);

/* Copies `len` bytes of `s` into a json string, replacing invalid UTF-8 (QuickJS encodes
 * lone surrogates as such) with U+FFFD. NULL only when out of memory. */
json_t *cv_string(const char *s, size_t len);

#endif

/*
 * module.c: the module loader of ES module plugins (module.h).
 *
 * QuickJS asks two questions while it links a module: normalize (which module does
 * specifier S name, imported from module B?) and load (give me module N). Both are
 * answered from the graph alone: normalize looks S up in B's `imports`, which the host
 * filled when it resolved the graph, so the worker does no path arithmetic of its own and
 * can reach no module the host did not put there; load compiles N's code (already plain
 * JavaScript: the host stripped the types). A specifier the graph does not name fails
 * with an error naming it and the importing module; after the load the slot is empty, so
 * a later dynamic import() fails the same way instead of reaching anything.
 *
 * The entry is evaluated through a two-line wrapper module that imports its namespace
 * and hands it out through the wrapper's own import.meta, which only this C code can
 * reach (QuickJS 2021-03-27 has no call that returns a module's namespace).
 *
 * Modules are always parsed (no bytecode cache as for scripts in vm.c): a graph is
 * evaluated once per instance, and its parse is small beside the host's transpile, which
 * is cached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/module.h"

#define VM_ENTRY_NAME "<airlock-entry>"

static char *vm_mod_normalize(JSContext *ctx, const char *base, const char *name, void *opaque) {
  const json_t *graph = *(const json_t *const *)opaque;
  const json_t *files = json_object_get(graph, "files");
  const char *id = NULL;
  if (graph && !strcmp(base, VM_ENTRY_NAME)) {
    const char *entry = json_string_value(json_object_get(graph, "entry"));
    if (entry && !strcmp(entry, name)) id = entry;
  } else {
    id = json_string_value(json_object_get(json_object_get(json_object_get(files, base), "imports"), name));
  }
  if (!id || !json_object_get(files, id)) {
    JS_ThrowReferenceError(ctx, "cannot import '%.200s' from %.200s: %s", name, base,
                           graph ? "the plugin's module map does not have it"
                                 : "modules are only loaded with the plugin");
    return NULL;
  }
  size_t n = strlen(id) + 1;
  char *copy = js_malloc(ctx, n);
  if (copy) memcpy(copy, id, n);
  return copy;
}

static JSModuleDef *vm_mod_load(JSContext *ctx, const char *name, void *opaque) {
  const json_t *graph = *(const json_t *const *)opaque;
  const json_t *code = json_object_get(json_object_get(json_object_get(graph, "files"), name), "code");
  if (!json_is_string(code)) {
    JS_ThrowReferenceError(ctx, "no module '%.200s' in the plugin's module map", name);
    return NULL;
  }
  /* json strings are NUL-terminated, as the parser needs */
  JSValue fn = JS_Eval(ctx, json_string_value(code), json_string_length(code), name,
                       JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
  if (JS_IsException(fn)) return NULL;
  JSModuleDef *m = JS_VALUE_GET_PTR(fn);
  JS_FreeValue(ctx, fn); /* the context keeps the module */
  /* import.meta.url: the host's file: URL for the module (modgraph.c), as Node gives it,
   * so `dirname(fileURLToPath(import.meta.url))` names the extension's own directory. A
   * virtual module or a module given in memory has none, as a Node module without a file
   * would not. */
  const json_t *url = json_object_get(json_object_get(json_object_get(graph, "files"), name), "url");
  if (json_is_string(url)) {
    JSValue meta = JS_GetImportMeta(ctx, m);
    if (JS_IsException(meta)) return NULL;
    int rc = JS_SetPropertyStr(ctx, meta, "url", JS_NewStringLen(ctx, json_string_value(url), json_string_length(url)));
    JS_FreeValue(ctx, meta);
    if (rc < 0) return NULL;
  }
  return m;
}

void vm_module_init(JSRuntime *rt, const json_t *const *slot) {
  JS_SetModuleLoaderFunc(rt, vm_mod_normalize, vm_mod_load, (void *)slot);
}

JSValue vm_module_eval(JSContext *ctx, const json_t *graph) {
  const json_t *entry = json_object_get(graph, "entry");
  if (!json_is_string(entry)) return JS_ThrowTypeError(ctx, "the module map names no entry");
  /* A JSON string literal is a JavaScript string literal. */
  char *lit = json_dumps(entry, JSON_ENCODE_ANY);
  size_t n = lit ? strlen(lit) + 64 : 0;
  char *src = lit ? malloc(n) : NULL;
  if (!src) {
    free(lit);
    return JS_ThrowOutOfMemory(ctx);
  }
  snprintf(src, n, "import * as ns from %s;\nimport.meta.ns = ns;\n", lit);
  free(lit);
  JSValue fn = JS_Eval(ctx, src, strlen(src), VM_ENTRY_NAME, JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
  free(src);
  if (JS_IsException(fn)) return fn;
  JSValue meta = JS_GetImportMeta(ctx, JS_VALUE_GET_PTR(fn));
  if (JS_IsException(meta)) {
    JS_FreeValue(ctx, fn);
    return meta;
  }
  JSValue r = JS_EvalFunction(ctx, fn); /* frees fn; links, loads and runs the graph */
  JSValue ns = JS_EXCEPTION;
  if (!JS_IsException(r)) ns = JS_GetPropertyStr(ctx, meta, "ns");
  JS_FreeValue(ctx, r);
  JS_FreeValue(ctx, meta);
  return ns;
}

int vm_stack_where(const char *stack, char *file, size_t cap) {
  if (cap) file[0] = '\0';
  for (const char *p = stack; p && *p;) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    const char *at = NULL;
    for (size_t i = 0; i + 3 <= len; i++)
      if (!strncmp(p + i, "at ", 3)) {
        at = p + i + 3;
        break;
      }
    if (at) {
      const char *end = p + len, *open = NULL;
      for (const char *q = at; q < end; q++) if (*q == '(') open = q;
      const char *s = open ? open + 1 : at, *e = end;
      if (open) for (const char *q = s; q < end; q++) if (*q == ')') { e = q; break; }
      const char *colon = NULL;
      for (const char *q = s; q < e; q++) if (*q == ':') colon = q;
      int line = 0;
      bool digits = colon && colon + 1 < e;
      for (const char *q = colon ? colon + 1 : e; digits && q < e; q++) {
        if (*q < '0' || *q > '9') digits = false;
        else if (line < 100000000) line = line * 10 + (*q - '0');
      }
      size_t fl = colon ? (size_t)(colon - s) : 0;
      if (digits && line > 0 && fl > 0 && fl < cap) {
        memcpy(file, s, fl);
        file[fl] = '\0';
        return line;
      }
    }
    p = eol ? eol + 1 : NULL;
  }
  return 0;
}

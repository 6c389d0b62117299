/*
 * module.h: ES module plugins inside a VM: QuickJS's module loader over the module map
 * a load request carries (pkg/modgraph.h), so evaluating a graph opens no file: the
 * worker's sandbox forbids it, and the host resolved and read everything already.
 *
 * Threading: as the VM's (one thread at a time per runtime).
 */
#ifndef AL_VM_MODULE_H
#define AL_VM_MODULE_H

#include <quickjs.h>

#include "common.h"

/* Installs the loader on `rt`. `slot` (owned by the caller, outliving rt) holds the graph
 * the loader serves from ({entry, files: {id: {code, imports}}}, borrowed): set it for the
 * duration of vm_module_eval; while it is NULL every import fails. */
void vm_module_init(JSRuntime *rt, const json_t *const *slot);

/* Evaluates the graph's entry module (and all it imports, once each). Returns the entry's
 * namespace object, or JS_EXCEPTION with the exception pending. */
JSValue vm_module_eval(JSContext *ctx, const json_t *graph);

/* The innermost frame of an error's `stack` text that names a file with a line: "at f
 * (src/x.ts:12)" or "at src/x.ts:12". Copies the file into `file` (cap bytes) and
 * returns the line, or 0 when no frame has one. Pure; fuzzable. */
int vm_stack_where(const char *stack, char *file, size_t cap);

#endif

/*
 * modgraph.h: an ES module plugin's module graph, resolved and read by the host, so the
 * sandboxed worker evaluates it from memory and opens nothing (docs/modules.md).
 *
 * The graph is a JSON value the load request carries unchanged:
 *   {entry: id, files: {id: {code, imports: {specifier: id}}}}
 * where an id is the file's path relative to the package directory ("src/x.ts",
 * "node_modules/pkg/index.mjs"), code is what the worker evaluates (types stripped), and
 * `imports` maps every specifier the file names to the id it resolved to.
 *
 * Thread-safe (no shared state beyond transpile.h's cache).
 */
#ifndef AL_PKG_MODGRAPH_H
#define AL_PKG_MODGRAPH_H

#include "common.h"

#define PKG_MOD_MAX_FILES 256
#define PKG_MOD_MAX_BYTES ((size_t)8 << 20) /* all sources of a graph together */

/* Whether a plugin named `name` is an ES module: .ts .tsx .mts .mjs, or .js when
 * `type_module` (its package.json says "type": "module"). */
bool pkg_is_module_name(const char *name, bool type_module);

/* Resolves, reads and transpiles the graph of `entry` (relative to `root`, the package
 * directory). *graph: a new reference. Errors are AL_EPLUGIN_LOAD naming the importing
 * file, its line and the specifier (a missing module, an import that escapes the package
 * directory, past the caps), or the transpiler's. `cache_dir`: see pkg_transpile. */
int pkg_modgraph(const char *root, const char *entry, const char *cache_dir, json_t **graph,
                 al_error *err);

/* The same for a pi extension (docs/pi-extensions.md): the modules pi's runtime provides
 * resolve to virtual modules ("airlock:pi/<specifier>") and the graph carries
 * `profile: "pi"`, which makes the VM load it with the pi profile (vm/pi_ext.js). */
int pkg_modgraph_pi(const char *root, const char *entry, const char *cache_dir, json_t **graph,
                    al_error *err);

/* The graph of one module given in memory (al_load): it may import nothing, as there is
 * no package directory to resolve from. */
int pkg_modgraph_single(const char *code, size_t len, const char *name, const char *cache_dir,
                        json_t **graph, al_error *err);

/* package.json "exports" resolution: the target `pkg` (a package.json value, borrowed)
 * gives subpath `sub` ("." or "./x") under the "import", "module" and "default"
 * conditions, copied into out (cap bytes). 0, or -1 when the package exports no such
 * subpath, the target is not a "./" path, or it does not fit. Pure. */
int pkg_exports_target(const json_t *pkg, const char *sub, char *out, size_t cap);

#endif

/*
 * transpile.h: TypeScript/TSX to JavaScript on the host, by sucrase running in a
 * short-lived QuickJS VM (cmake/FetchSucrase.cmake fetches it; transpile.js drives it),
 * with the output cached by content hash in memory and on disk, so loading a file seen
 * before transpiles nothing. Also lists each module's import specifiers, from sucrase's
 * tokens, for modgraph.c to resolve.
 *
 * Thread-safe: any thread may call; each transpile uses its own runtime.
 */
#ifndef AL_PKG_TRANSPILE_H
#define AL_PKG_TRANSPILE_H

#include "common.h"

typedef enum pkg_ts_kind {
  PKG_TS_JS,  /* plain JavaScript: scanned for imports, not transformed */
  PKG_TS_TS,  /* TypeScript: types stripped */
  PKG_TS_TSX, /* TypeScript with JSX: types stripped, JSX onto the ui builders */
} pkg_ts_kind;

/* The kind a file name says: .ts/.mts/.cts TS, .tsx TSX, anything else JS. NULL: JS. */
pkg_ts_kind pkg_ts_kind_of(const char *name);

/* Transpiles (or only scans, PKG_TS_JS) `src` (`len` bytes, UTF-8). *out (new reference)
 * is {code: string, imports: [{spec, line}]}. `name` (borrowed) names the file in errors:
 * a syntax error is AL_EPLUGIN_LOAD "<name>:<line>: <message>" with err->line and
 * err->path = name. `cache_dir` (borrowed; NULL: memory only) holds the disk cache; it is
 * created when missing, and failing to read or write it only costs a transpile. */
int pkg_transpile(const char *src, size_t len, pkg_ts_kind kind, const char *name,
                  const char *cache_dir, json_t **out, al_error *err);

/* The disk cache directory for a host whose home is `home` (may be NULL):
 * <home>/cache/transpile, else $XDG_CACHE_HOME/airlock/transpile, else
 * $HOME/.cache/airlock/transpile; NULL when none applies or out of memory. free() it. */
char *pkg_transpile_cache_dir(const char *home);

/* Process-wide counts since start (for tests and telemetry): transpiler runs, and loads
 * answered by the memory and the disk cache. */
typedef struct pkg_transpile_stats {
  uint64_t runs, memory_hits, disk_hits;
} pkg_transpile_stats;
void pkg_transpile_stats_get(pkg_transpile_stats *st);
/* Empties the memory cache (tests use it to reach the disk cache). */
void pkg_transpile_forget(void);

#endif

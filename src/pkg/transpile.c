/*
 * transpile.c: sucrase in a short-lived QuickJS VM on the host, and the cache in front of
 * it (transpile.h).
 *
 * Why on the host, in a VM of its own, and not in the plugin's worker: no plugin code
 * ever runs in the VM that transpiles (sucrase parses its input and prints it back; it
 * never evaluates it), and the cache is written only by the host, so a plugin that
 * compromised its worker can neither see another plugin's sources nor poison the output
 * another plugin will run. What is left is a sucrase or QuickJS bug reachable from
 * crafted source text: the VM gets a memory limit, a stack limit and a deadline, and lives
 * for one transpile, so such input can at worst fail its own load. That is judged safe
 * enough for a parser that evaluates nothing (the worker sandbox would cost a process per
 * load for it).
 *
 * The bundle and the driver (transpile.js) are compiled once per process into bytecode in
 * a scratch runtime (pthread_once) and each transpile reads that back, which skips
 * parsing sucrase's half a megabyte every time.
 *
 * Cache key: SHA-512 of (format tag, sucrase version, the driver's text, which holds the
 * options, the kind, the source); the first 64 hex digits name the entry. Memory: the
 * last entries up to TS_MEM_MAX bytes, oldest dropped first. Disk: one JSON file per key
 * under the cache directory, written to a temporary name and renamed, so a reader never
 * sees half a file; an entry that does not read back as {code, imports} is ignored.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <quickjs.h>

#include "pkg/sha512.h"
#include "pkg/paths.h"
#include "pkg/transpile.h"
#include "sucrase_js.h"
#include "transpile_js.h"
#include "worker/exec.h"

#define TS_MEM_MAX ((size_t)8 << 20)     /* memory cache, process-wide */
#define TS_VM_MEMORY ((size_t)128 << 20) /* the transpiling VM's heap */
#define TS_VM_STACK ((size_t)1 << 20)
#define TS_VM_MS 5000u                   /* per transpile, sucrase's load included */
#define TS_KEY_HEX 64

static const char *const ts_kind_name[] = {"js", "ts", "tsx"};

pkg_ts_kind pkg_ts_kind_of(const char *name) {
  const char *dot = name ? strrchr(name, '.') : NULL;
  if (!dot || strchr(dot, '/')) return PKG_TS_JS;
  if (!strcmp(dot, ".ts") || !strcmp(dot, ".mts") || !strcmp(dot, ".cts")) return PKG_TS_TS;
  if (!strcmp(dot, ".tsx")) return PKG_TS_TSX;
  return PKG_TS_JS;
}

/* ---- bytecode, once per process ------------------------------------------------------- */

typedef struct ts_script {
  const char *src, *name;
  size_t len;
  uint8_t *bc; /* process-owned; NULL: compile failed (every transpile then fails) */
  size_t bc_len;
} ts_script;

static ts_script ts_bundle = {al_sucrase_js, "<sucrase>", sizeof al_sucrase_js - 1, NULL, 0};
static ts_script ts_driver = {al_transpile_js, "<transpile>", sizeof al_transpile_js - 1, NULL, 0};
static pthread_once_t ts_once = PTHREAD_ONCE_INIT;

static void ts_compile(JSContext *ctx, ts_script *sc) {
  JSValue fn = JS_Eval(ctx, sc->src, sc->len, sc->name,
                       JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY | JS_EVAL_FLAG_STRIP);
  if (!JS_IsException(fn)) {
    size_t n = 0;
    uint8_t *buf = JS_WriteObject(ctx, &n, fn, JS_WRITE_OBJ_BYTECODE);
    if (buf && (sc->bc = malloc(n))) {
      memcpy(sc->bc, buf, n);
      sc->bc_len = n;
    }
    js_free(ctx, buf);
  }
  JS_FreeValue(ctx, fn);
}

static void ts_compile_once(void) {
  wk_global_init(); /* QuickJS's process-wide set-up (exec.h) */
  JSRuntime *rt = JS_NewRuntime();
  JSContext *ctx = rt ? JS_NewContext(rt) : NULL;
  if (ctx) {
    JS_SetMaxStackSize(rt, 0); /* our own, trusted scripts; the parser recurses deeply */
    ts_compile(ctx, &ts_bundle);
    ts_compile(ctx, &ts_driver);
    JS_FreeContext(ctx);
  }
  if (rt) JS_FreeRuntime(rt);
}

static JSValue ts_eval(JSContext *ctx, const ts_script *sc) {
  JSValue fn = JS_ReadObject(ctx, sc->bc, sc->bc_len, JS_READ_OBJ_BYTECODE);
  if (JS_IsException(fn)) return fn;
  return JS_EvalFunction(ctx, fn); /* frees fn */
}

/* ---- the transpiling VM --------------------------------------------------------------- */

static int ts_interrupt(JSRuntime *rt, void *opaque) {
  (void)rt;
  return clock_mono_ns() >= *(const uint64_t *)opaque;
}

/* Fills err from the exception sucrase threw: its .loc.line names the line. */
static int ts_fail(JSContext *ctx, const char *name, bool late, al_error *err) {
  JSValue ex = JS_GetException(ctx);
  int line = 0;
  if (JS_IsObject(ex)) {
    JSValue loc = JS_GetPropertyStr(ctx, ex, "loc");
    JSValue l = JS_IsObject(loc) ? JS_GetPropertyStr(ctx, loc, "line") : JS_UNDEFINED;
    if (JS_ToInt32(ctx, &line, l) < 0) line = 0;
    JS_FreeValue(ctx, l);
    JS_FreeValue(ctx, loc);
  }
  const char *s = JS_ToCString(ctx, ex);
  int rc;
  if (late) rc = err_set(err, AL_EPLUGIN_LOAD, name, "%s: transpiling took longer than %u ms", name, TS_VM_MS);
  else if (line > 0) rc = err_set(err, AL_EPLUGIN_LOAD, name, "%s:%d: %.400s", name, line, s ? s : "syntax error");
  else rc = err_set(err, AL_EPLUGIN_LOAD, name, "%s: %.400s", name, s ? s : "the transpiler failed");
  if (err) err->line = line;
  JS_FreeCString(ctx, s);
  JS_FreeValue(ctx, ex);
  return rc;
}

/* Runs the driver on `src`; *text (malloc) gets its JSON answer. */
static int ts_run(const char *src, size_t len, pkg_ts_kind kind, const char *name, char **text,
                  al_error *err) {
  *text = NULL;
  pthread_once(&ts_once, ts_compile_once);
  if (!ts_bundle.bc || !ts_driver.bc)
    return err_set(err, AL_EINTERNAL, name, "the embedded transpiler does not compile");
  uint64_t deadline = clock_mono_ns() + (uint64_t)TS_VM_MS * 1000000u;
  JSRuntime *rt = JS_NewRuntime();
  JSContext *ctx = rt ? JS_NewContext(rt) : NULL;
  if (!ctx) {
    if (rt) JS_FreeRuntime(rt);
    return err_set(err, AL_ENO_MEMORY, name, "out of memory starting the transpiler");
  }
  JS_SetMemoryLimit(rt, TS_VM_MEMORY);
  JS_SetMaxStackSize(rt, TS_VM_STACK);
  JS_SetInterruptHandler(rt, ts_interrupt, &deadline);
  int rc = 0;
  JSValue load = ts_eval(ctx, &ts_bundle), drv = JS_UNDEFINED, run = JS_UNDEFINED, r = JS_UNDEFINED;
  if (!JS_IsException(load)) drv = ts_eval(ctx, &ts_driver);
  if (!JS_IsException(load) && !JS_IsException(drv)) run = JS_Call(ctx, drv, JS_UNDEFINED, 1, &load);
  if (JS_IsException(load) || JS_IsException(drv) || JS_IsException(run)) {
    JS_FreeValue(ctx, JS_GetException(ctx));
    rc = err_set(err, AL_EINTERNAL, name, "the embedded transpiler failed to start");
    goto done;
  }
  JSValue argv[2] = {JS_NewStringLen(ctx, src, len), JS_NewString(ctx, ts_kind_name[kind])};
  r = JS_Call(ctx, run, JS_UNDEFINED, 2, argv);
  JS_FreeValue(ctx, argv[0]);
  JS_FreeValue(ctx, argv[1]);
  if (JS_IsException(r)) {
    rc = ts_fail(ctx, name, clock_mono_ns() >= deadline, err);
    goto done;
  }
  size_t n = 0;
  const char *s = JS_ToCStringLen(ctx, &n, r);
  if (s && (*text = malloc(n + 1))) {
    memcpy(*text, s, n);
    (*text)[n] = '\0';
  }
  JS_FreeCString(ctx, s);
  if (!*text) rc = err_set(err, AL_ENO_MEMORY, name, "out of memory reading the transpiler's output");
done:
  JS_FreeValue(ctx, r);
  JS_FreeValue(ctx, run);
  JS_FreeValue(ctx, drv);
  JS_FreeValue(ctx, load);
  JS_FreeContext(ctx);
  JS_FreeRuntime(rt);
  return rc;
}

/* ---- the cache ------------------------------------------------------------------------ */

typedef struct ts_entry {
  char key[TS_KEY_HEX + 1];
  char *text;
  size_t len;
  struct ts_entry *next; /* newest first */
} ts_entry;

static pthread_mutex_t ts_mu = PTHREAD_MUTEX_INITIALIZER;
static ts_entry *ts_mem;
static size_t ts_mem_bytes;
static pkg_transpile_stats ts_stats;

static int ts_key(const char *src, size_t len, pkg_ts_kind kind, char key[TS_KEY_HEX + 1]) {
  static const char tag[] = "airlock-transpile-1";
  unsigned char d[SHA512_DIGEST_LEN];
  unsigned char k = (unsigned char)kind;
  sha512_ctx c;
  sha512_init(&c);
  sha512_update(&c, tag, sizeof tag);
  sha512_update(&c, AL_SUCRASE_VERSION, sizeof AL_SUCRASE_VERSION);
  sha512_update(&c, al_transpile_js, sizeof al_transpile_js);
  sha512_update(&c, &k, 1);
  sha512_update(&c, src, len);
  if (sha512_final(&c, d)) return -1;
  for (int i = 0; i < TS_KEY_HEX / 2; i++) snprintf(key + 2 * i, 3, "%02x", d[i]);
  return 0;
}

/* A copy of the memory cache's text for `key`, or NULL. */
static char *ts_mem_get(const char *key) {
  char *copy = NULL;
  pthread_mutex_lock(&ts_mu);
  for (ts_entry *e = ts_mem; e; e = e->next) {
    if (strcmp(e->key, key)) continue;
    copy = strdup(e->text);
    break;
  }
  pthread_mutex_unlock(&ts_mu);
  return copy;
}

static void ts_mem_put(const char *key, const char *text) {
  size_t len = strlen(text);
  if (len > TS_MEM_MAX / 4) return;
  ts_entry *n = calloc(1, sizeof *n);
  if (!n || !(n->text = strdup(text))) {
    free(n);
    return;
  }
  memcpy(n->key, key, TS_KEY_HEX + 1);
  n->len = len;
  pthread_mutex_lock(&ts_mu);
  /* Already there: a lookup that found no memory for its copy transpiled again, or two
   * threads transpiled the same source at once. One entry per key. */
  for (ts_entry *e = ts_mem; e; e = e->next) {
    if (strcmp(e->key, key)) continue;
    pthread_mutex_unlock(&ts_mu);
    free(n->text);
    free(n);
    return;
  }
  n->next = ts_mem;
  ts_mem = n;
  ts_mem_bytes += len;
  /* drop the oldest (the list's tail) past the cap */
  while (ts_mem_bytes > TS_MEM_MAX && ts_mem->next) {
    ts_entry **pp = &ts_mem;
    while ((*pp)->next) pp = &(*pp)->next;
    ts_mem_bytes -= (*pp)->len;
    free((*pp)->text);
    free(*pp);
    *pp = NULL;
  }
  pthread_mutex_unlock(&ts_mu);
}

void pkg_transpile_forget(void) {
  pthread_mutex_lock(&ts_mu);
  while (ts_mem) {
    ts_entry *e = ts_mem;
    ts_mem = e->next;
    free(e->text);
    free(e);
  }
  ts_mem_bytes = 0;
  pthread_mutex_unlock(&ts_mu);
}

void pkg_transpile_stats_get(pkg_transpile_stats *st) {
  pthread_mutex_lock(&ts_mu);
  *st = ts_stats;
  pthread_mutex_unlock(&ts_mu);
}

static void ts_count(uint64_t *field) {
  pthread_mutex_lock(&ts_mu);
  (*field)++;
  pthread_mutex_unlock(&ts_mu);
}

/* mkdir -p; errors are left to the open that follows. */
static void ts_mkdirs(const char *dir) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(buf, 0700);
    *p = '/';
  }
  mkdir(buf, 0700);
}

static char *ts_disk_get(const char *dir, const char *key) {
  char path[4096];
  if (!dir || snprintf(path, sizeof path, "%s/%s.json", dir, key) >= (int)sizeof path) return NULL;
  return pkg_read_file(path, (size_t)64 << 20, NULL);
}

static void ts_disk_put(const char *dir, const char *key, const char *text) {
  char path[4096], tmp[4200];
  if (!dir || snprintf(path, sizeof path, "%s/%s.json", dir, key) >= (int)sizeof path) return;
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  ts_mkdirs(dir);
  FILE *f = fopen(tmp, "wb");
  if (!f) return;
  size_t n = strlen(text);
  bool ok = fwrite(text, 1, n, f) == n;
  if (fclose(f) != 0) ok = false;
  if (!ok || rename(tmp, path) != 0) unlink(tmp);
}

/* The cached or fresh answer as a value, checked for its shape: NULL when it has another. */
static json_t *ts_parse(const char *text) {
  json_t *v = json_loads(text, 0, NULL);
  const json_t *imp = json_object_get(v, "imports");
  bool ok = json_is_string(json_object_get(v, "code")) && json_is_array(imp);
  for (size_t i = 0; ok && i < json_array_size(imp); i++) {
    const json_t *e = json_array_get(imp, i);
    ok = json_is_string(json_object_get(e, "spec")) && json_is_integer(json_object_get(e, "line"));
  }
  if (!ok) {
    json_decref(v);
    return NULL;
  }
  return v;
}

int pkg_transpile(const char *src, size_t len, pkg_ts_kind kind, const char *name,
                  const char *cache_dir, json_t **out, al_error *err) {
  *out = NULL;
  if (!name) name = "<plugin>";
  if ((unsigned)kind > PKG_TS_TSX) return err_set(err, AL_EINVALID_ARGUMENT, name, "unknown source kind");
  char key[TS_KEY_HEX + 1];
  if (ts_key(src, len, kind, key)) return err_set(err, AL_ENO_MEMORY, name, "out of memory hashing a source");
  char *text = ts_mem_get(key);
  if (text && (*out = ts_parse(text))) {
    free(text);
    ts_count(&ts_stats.memory_hits);
    return 0;
  }
  free(text);
  text = ts_disk_get(cache_dir, key);
  if (text && (*out = ts_parse(text))) {
    ts_mem_put(key, text);
    free(text);
    ts_count(&ts_stats.disk_hits);
    return 0;
  }
  free(text);
  ts_count(&ts_stats.runs);
  int rc = ts_run(src, len, kind, name, &text, err);
  if (rc) return rc;
  if (!(*out = ts_parse(text))) {
    free(text);
    return err_set(err, AL_EINTERNAL, name, "the transpiler answered something unexpected");
  }
  ts_mem_put(key, text);
  ts_disk_put(cache_dir, key, text);
  free(text);
  return 0;
}

char *pkg_transpile_cache_dir(const char *home) {
  const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
  const char *base = home && *home ? home : x && *x ? x : h && *h ? h : NULL;
  const char *tail = home && *home ? "/cache/transpile" : x && *x ? "/airlock/transpile" : "/.cache/airlock/transpile";
  if (!base) return NULL;
  size_t n = strlen(base) + strlen(tail) + 1;
  char *dir = malloc(n);
  if (dir) snprintf(dir, n, "%s%s", base, tail);
  return dir;
}

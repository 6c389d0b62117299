/*
 * fault_alloc.c: the wrapped allocator (see fault_alloc.h for what it covers and why).
 *
 * Every __wrap_X counts the call as one allocation, fails it when it is the armed one,
 * and otherwise calls the real allocator and records the pointer. realloc(p, 0) frees and
 * is not an allocation. The formatting wrappers (asprintf, vasprintf) format with
 * vsnprintf into memory from the hook, so their allocation is counted and failed like the
 * rest (glibc's own would allocate inside libc, out of the wrap's reach).
 *
 * jansson's parser (json_loads, json_loadb, json_load_file, also wrapped) is not safe to
 * fail inside: in 2.14 lex_save ignores a failed strbuffer_append_byte, after which
 * lex_scan_string copies the string into a buffer sized by the shorter saved text and
 * writes past its end. So a parse counts as one allocation as a whole: when it is the
 * armed one the parse fails as jansson reports an early out of memory (NULL, code
 * json_error_out_of_memory), and otherwise it runs with no fault inside it. What the
 * callers do with a NULL parse is then tested; jansson's parser itself is not.
 *
 * FAULT_TRACE=1 in the environment prints a stack at each injected failure (through the
 * sanitizer runtime when there is one): how an OOM branch found by the test is located.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_alloc.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_vasprintf(char **out, const char *fmt, va_list ap);
int __wrap_asprintf(char **out, const char *fmt, ...);
json_t *__real_json_loads(const char *input, size_t flags, json_error_t *error);
json_t *__real_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error);
json_t *__real_json_load_file(const char *path, size_t flags, json_error_t *error);
json_t *__wrap_json_loads(const char *input, size_t flags, json_error_t *error);
json_t *__wrap_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error);
json_t *__wrap_json_load_file(const char *path, size_t flags, json_error_t *error);
/* present only in sanitized builds */
void __sanitizer_print_stack_trace(void) __attribute__((weak));

static atomic_ulong fa_count;    /* allocations since fault_arm */
static atomic_ulong fa_target;   /* the one to fail; 0: none */
static atomic_bool fa_fired;
static bool fa_trace;
static _Thread_local bool fa_parsing; /* inside jansson's parser: no faults (above) */

/* ---- the pointer set: open addressing, linear probing, backward-shift deletion -------- */

#define FA_SLOTS ((size_t)1 << 21)
static uintptr_t *fa_set;
static size_t fa_live;
static pthread_mutex_t fa_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t fa_slot(uintptr_t p) { return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull) & (FA_SLOTS - 1); }

static void fa_add(void *ptr) {
  if (!ptr || !fa_set) return;
  uintptr_t p = (uintptr_t)ptr;
  pthread_mutex_lock(&fa_mu);
  size_t i = fa_slot(p);
  while (fa_set[i] && fa_set[i] != p) i = (i + 1) & (FA_SLOTS - 1);
  if (!fa_set[i]) {
    fa_set[i] = p;
    if (++fa_live > FA_SLOTS / 4 * 3) {
      fprintf(stderr, "fault_alloc: pointer set full\n");
      abort();
    }
  }
  pthread_mutex_unlock(&fa_mu);
}

/* Removes ptr if it is in the set (memory from the real allocator is not). */
static void fa_del(void *ptr) {
  if (!ptr || !fa_set) return;
  uintptr_t p = (uintptr_t)ptr;
  pthread_mutex_lock(&fa_mu);
  size_t i = fa_slot(p);
  while (fa_set[i] && fa_set[i] != p) i = (i + 1) & (FA_SLOTS - 1);
  if (fa_set[i]) {
    fa_live--;
    /* shift the following run back over the hole so every probe chain stays unbroken */
    size_t j = i;
    for (;;) {
      fa_set[i] = 0;
      for (;;) {
        j = (j + 1) & (FA_SLOTS - 1);
        if (!fa_set[j]) goto done;
        size_t home = fa_slot(fa_set[j]);
        /* j's entry may move to i unless its home lies cyclically in (i, j] */
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) continue;
        break;
      }
      fa_set[i] = fa_set[j];
      i = j;
    }
  }
done:
  pthread_mutex_unlock(&fa_mu);
}

/* ---- counting and failing ------------------------------------------------------------- */

/* Counts one allocation; true when it is the one to fail. */
static bool fa_fail_now(void) {
  if (fa_parsing) return false;
  unsigned long target = atomic_load(&fa_target);
  unsigned long n = atomic_fetch_add(&fa_count, 1) + 1;
  if (!target || n != target) return false;
  atomic_store(&fa_fired, true);
  errno = ENOMEM; /* as the C library's allocator sets it */
  if (fa_trace) {
    fprintf(stderr, "fault_alloc: failing allocation %lu\n", n);
    if (__sanitizer_print_stack_trace) {
      __sanitizer_print_stack_trace();
    } else {
      void *frames[32];
      backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
    }
  }
  return true;
}

void *__wrap_malloc(size_t n) {
  if (fa_fail_now()) return NULL;
  void *p = __real_malloc(n);
  fa_add(p);
  return p;
}

void *__wrap_calloc(size_t k, size_t n) {
  if (fa_fail_now()) return NULL;
  void *p = __real_calloc(k, n);
  fa_add(p);
  return p;
}

void *__wrap_realloc(void *p, size_t n) {
  if (p && n == 0) {
    fa_del(p);
    return __real_realloc(p, 0);
  }
  if (fa_fail_now()) return NULL;
  void *np = __real_realloc(p, n);
  if (np) {
    fa_del(p);
    fa_add(np);
  }
  return np;
}

void __wrap_free(void *p) {
  fa_del(p);
  __real_free(p);
}

char *__wrap_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = __wrap_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

char *__wrap_strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *d = __wrap_malloc(len + 1);
  if (!d) return NULL;
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

int __wrap_vasprintf(char **out, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int len = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (len < 0) return -1;
  char *s = __wrap_malloc((size_t)len + 1);
  if (!s) return -1; /* glibc leaves *out unspecified too */
  vsnprintf(s, (size_t)len + 1, fmt, ap);
  *out = s;
  return len;
}

int __wrap_asprintf(char **out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = __wrap_vasprintf(out, fmt, ap);
  va_end(ap);
  return rc;
}

/* ---- jansson's parser, failed only as a whole ----------------------------------------- */

/* Fills e as jansson does for an out of memory found before parsing began. */
static json_t *fa_parse_failed(json_error_t *e, const char *source) {
  if (e) {
    memset(e, 0, sizeof *e);
    e->line = e->column = -1;
    snprintf(e->source, sizeof e->source, "%s", source);
    snprintf(e->text, sizeof e->text, "out of memory");
    e->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_out_of_memory;
  }
  return NULL;
}

#define FA_PARSE(source, call)        \
  do {                                \
    if (fa_fail_now()) return fa_parse_failed(error, source); \
    bool outer = fa_parsing;          \
    fa_parsing = true;                \
    json_t *v = call;                 \
    fa_parsing = outer;               \
    return v;                         \
  } while (0)

json_t *__wrap_json_loads(const char *input, size_t flags, json_error_t *error) {
  FA_PARSE("<string>", __real_json_loads(input, flags, error));
}

json_t *__wrap_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error) {
  FA_PARSE("<buffer>", __real_json_loadb(buffer, buflen, flags, error));
}

json_t *__wrap_json_load_file(const char *path, size_t flags, json_error_t *error) {
  FA_PARSE(path, __real_json_load_file(path, flags, error));
}

/* ---- the API -------------------------------------------------------------------------- */

void fault_init(void) {
  fa_set = __real_calloc(FA_SLOTS, sizeof *fa_set);
  if (!fa_set) abort();
  const char *t = getenv("FAULT_TRACE");
  fa_trace = t && *t && strcmp(t, "0");
  if (fa_trace) { /* backtrace() loads libgcc on its first call, which allocates */
    void *frames[1];
    (void)backtrace(frames, 1);
  }
  json_set_alloc_funcs(__wrap_malloc, __wrap_free);
}

void fault_arm(unsigned long n) {
  atomic_store(&fa_fired, false);
  atomic_store(&fa_count, 0);
  atomic_store(&fa_target, n);
}

bool fault_disarm(void) {
  atomic_store(&fa_target, 0);
  return atomic_load(&fa_fired);
}

unsigned long fault_counted(void) { return atomic_load(&fa_count); }

long fault_live(void) {
  pthread_mutex_lock(&fa_mu);
  long n = (long)fa_live;
  pthread_mutex_unlock(&fa_mu);
  return n;
}

void *fault_heap_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    __real_free(ptr);
    return NULL;
  }
  return __real_realloc(ptr, nsize);
}

/*
 * fault_alloc.h: the failing allocator of the fault-injection test (tests/fault/), in the
 * manner of Lua's ltests.c `failnext` and SQLite's fault injector.
 *
 * The test binary is linked with -Wl,--wrap for malloc, calloc, realloc, free, strdup,
 * strndup, asprintf and vasprintf, which redirects every reference to them made by an
 * object in that link, i.e. all of libairlock.a (our code and QuickJS's objects) and the
 * test itself, but not the shared libraries. jansson's parsers are wrapped too and fail
 * only as a whole (fault_alloc.c says why). jansson is a shared library here, so its
 * allocations are routed to the same hook through json_set_alloc_funcs (fault_init).
 * What escapes: allocations made inside other shared libraries (SQLite, libarchive,
 * libcrypto, libc's own: fopen's buffer, opendir, getaddrinfo, realpath's scratch), which
 * report their failures through their own return codes, not through our code's NULL
 * checks, and so are not what this test is about.
 *
 * QuickJS: its instance heaps go through al_config.alloc when one is set (src/vm/vm.c),
 * and the test sets fault_heap_alloc there, which is never failed: the engine's own OOM
 * handling is the memory-limit tests' subject (test_limits), and failing inside QuickJS
 * 2021-03-27 would test QuickJS. Its scratch runtimes (JS_NewRuntime in pthread_once)
 * run once, before any fault is armed. With process isolation the host runs no QuickJS at
 * all; the workers are another executable, not wrapped.
 *
 * Counting is process-wide (every thread): the host's driver, watchdog and hostcall
 * threads allocate on behalf of a call too, and their failures must be handled as well.
 * So with threads at work which allocation is the Nth is not fixed from run to run; a
 * run's checks do not depend on which one it was.
 *
 * Live allocations are tracked in a pointer set (not a size header, so memory may cross
 * between the hook and the real allocator in both directions: a pointer the set does not
 * know is freed and not counted).
 *
 * Threading: every function here is thread-safe.
 */
#ifndef AL_FAULT_ALLOC_H
#define AL_FAULT_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* Installs the jansson hooks and sizes the pointer set; call first in main. */
void fault_init(void);
/* From now on, the nth allocation (1-based, counted over every thread) fails, once. */
void fault_arm(unsigned long n);
/* Stops failing; returns whether the armed allocation was reached (and failed). */
bool fault_disarm(void);
/* Allocations counted since the last fault_arm (the failed one included). */
unsigned long fault_counted(void);
/* Allocations made through the hook that are still live. */
long fault_live(void);
/* An al_alloc_fn (airlock.h) on the real allocator, never failed and not counted: for
 * al_config.alloc, so QuickJS heaps are left out (see above). */
void *fault_heap_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

#endif

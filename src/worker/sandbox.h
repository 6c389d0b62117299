/*
 * sandbox.h: the containment airlock-worker applies to itself before it runs any plugin.
 *
 * The worker is started by fork+exec and keeps exactly one channel to the host, a
 * socketpair end (`keep_fd`). sbx_enter() then narrows the process, layer by layer, to
 * "compute, and talk over that fd":
 *
 *   1. fds       every fd except keep_fd is closed; 0, 1 and 2 are reopened on /dev/null so
 *                a stray printf goes nowhere (and a later fd can never land on 0-2 and
 *                receive it). The host's stderr is NOT kept in release builds: it would be
 *                an unmetered channel from untrusted code to the host's terminal or log;
 *                diagnostics travel over keep_fd as frames. ASan/TSan builds keep fd 2 so
 *                sanitizer reports from a worker reach the CI log.
 *   2. pdeathsig SIGKILL when the parent thread exits (see the note below).
 *   3. no_new_privs  required by Landlock and seccomp for an unprivileged process, and it
 *                makes exec of setuid binaries harmless should exec ever be reachable.
 *   4. rlimits   RLIMIT_AS (if asked), CORE=0, FSIZE=0, NPROC=0 (ignored for root: the
 *                seccomp layer is what really stops fork), NOFILE=SBX_NOFILE.
 *   5. namespaces  unshare(USER|NET|NS), combined or one by one, best-effort. A new net
 *                namespace has only a down loopback: no network even without seccomp.
 *   6. Landlock  a ruleset that handles every filesystem right the kernel knows (and TCP
 *                bind/connect, and signal/abstract-socket scoping where supported) with no
 *                rules: no filesystem access at all.
 *   7. seccomp   default kill-process; an allowlist of memory, time, futex and I/O on
 *                already-open fds; no PROT_EXEC mappings. Last, because it forbids the
 *                calls the layers above need.
 *
 * A layer the kernel lacks (or that cfg disables) is reported false and is not an error:
 * the worker main decides what it requires. sbx_enter() fails only when the process could
 * end up LESS contained than the report says (a limit that did not apply, an
 * unexpected error from an available layer, other threads that the per-thread layers
 * would miss). After a failure the process is partly sandboxed and must _exit().
 *
 * What the worker may do afterwards: read/write/recvmsg/sendmsg on keep_fd and 0-2,
 * malloc/free/realloc, pthread mutexes and condition variables, clocks and sleeps,
 * getrandom, snprintf/dprintf, exit. Incidental libc probes are refused rather than fatal:
 * open/openat and fstatat fail with EACCES (so glibc's tzset() falls back to UTC and
 * stdio uses its default buffer), ioctl fails with ENOTTY (so isatty() says no).
 * Everything else, including socket, fork/clone, execve, kill, ptrace, mount and
 * PROT_EXEC mappings, kills the process with SIGSYS.
 *
 * RLIMIT_FSIZE=0 applies to every write to a regular file, so keep_fd must be a socket
 * or pipe (a write to a file raises SIGXFSZ), and in sanitizer builds a report reaches the
 * kept stderr only when that is a pipe or terminal (as under ctest), not a file.
 *
 * Contract for the worker main (see also sandbox_linux.c):
 *   - call sbx_enter() while single-threaded (it checks), after everything that needs a
 *     file: load libraries, read configuration, call tzset() so local time is right;
 *   - pass keep_fd >= 3 (or -1) and do not rely on any other fd surviving;
 *   - start no threads afterwards (clone is not allowed);
 *   - leave through exit() or _exit(); in ASan builds LeakSanitizer's exit-time check needs
 *     ptrace and /proc, so the worker must set detect_leaks=0 (define
 *     __lsan_default_options, as tests/integration/sandbox_probe.c does) or use _exit();
 *   - PR_SET_PDEATHSIG fires when the parent THREAD that forked the worker exits, so the
 *     host must fork workers from a thread that lives as long as they do.
 *
 * Threading: sbx_enter() changes the whole process and must be called by its only thread.
 * sbx_probe() forks; it is safe from a multi-threaded caller with glibc (the child only
 * runs sbx_enter and write). sbx_report_json() is pure.
 */
#ifndef AL_WORKER_SANDBOX_H
#define AL_WORKER_SANDBOX_H

#include "common.h"

/* RLIMIT_NOFILE after sbx_enter: room for a few fds received over keep_fd, no more. */
#define SBX_NOFILE 16

typedef struct sbx_config {
  int keep_fd;                /* the one fd kept open; >= 3, or -1 for none */
  size_t address_space_bytes; /* RLIMIT_AS; 0 = leave it (ASan/TSan builds skip it) */
  bool allow_landlock, allow_namespaces, allow_seccomp; /* false skips that layer */
} sbx_config;

/* Which layers took effect. `detail` is a NUL-terminated, human-readable list of what
 * was skipped or missing and why ("landlock: ABI 3; userns: EPERM"). */
typedef struct sbx_report {
  bool fds_closed, pdeathsig, no_new_privs, rlimits, netns, userns, mountns, landlock,
      seccomp;
  char detail[512];
} sbx_report;

/* Enough for any report's JSON text. */
#define SBX_JSON_MAX (256 + 6 * 512)

/* Sandboxes the calling process (see above). `cfg` is required; `rep` is required and is
 * filled even on failure; `err` may be NULL. Returns 0, AL_EINVALID_ARGUMENT (bad cfg, or
 * more than one thread), or AL_EINTERNAL (a layer failed in a way that would leave the
 * process less contained than reported; the caller must _exit()). */
int sbx_enter(const sbx_config *cfg, sbx_report *rep, al_error *err);

/* Writes `r` as one JSON object, {"fdsClosed":true,...,"detail":"..."}, for
 * `airlock doctor`. Always NUL-terminates when cap > 0; a buffer of SBX_JSON_MAX always
 * fits; a smaller one that cannot hold the detail gets it dropped, and one too small even
 * for that gets "". */
void sbx_report_json(const sbx_report *r, char *buf, size_t cap);

/* Forks a child, runs sbx_enter() there with every layer allowed (keep_fd: a pipe back,
 * no RLIMIT_AS), and fills `rep` with what the child reported. The caller is unaffected.
 * Returns 0, AL_EIO (fork/pipe failed), or AL_ECRASHED (the child died or sbx_enter
 * failed; rep->detail says which). */
int sbx_probe(sbx_report *rep);

#endif

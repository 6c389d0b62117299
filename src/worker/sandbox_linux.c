/*
 * sandbox_linux.c: sbx_enter() on Linux (the model and the worker's contract are in
 * sandbox.h).
 *
 * Each layer is one function that either takes effect and sets its report flag, reports
 * why it could not (the kernel lacks it, or the caller turned it off), or fails the whole
 * call when the process would be less contained than the report says. The order matters:
 * fds are settled before anything can open one; NO_NEW_PRIVS comes before Landlock and
 * seccomp, which need it when unprivileged; /dev/null is opened before Landlock forbids
 * it; seccomp is last because it forbids prctl, setrlimit, unshare and the Landlock calls.
 *
 * The Landlock ABI is declared here rather than taken from <linux/landlock.h>: the
 * distribution's header is often older than the running kernel, and the ABI is stable
 * and versioned, so asking the kernel its version and handling every right that version
 * knows is both simpler and stricter. Syscall numbers come from <sys/syscall.h>.
 *
 * seccomp kills on anything not allowed, except four calls that glibc makes on its own
 * initiative (tzset opening /etc/localtime, stdio's fstat and isatty): those fail with an
 * errno instead, so that ordinary library code degrades rather than dies. None of them
 * can reach a file or device: the errno answer does not depend on the arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

/* ASan and TSan reserve terabytes of shadow address space up front (so RLIMIT_AS would
 * break them) and report on fd 2 (which we then keep, so reports reach the test log). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SBX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SBX_SANITIZER 1
#endif
#endif
#ifndef SBX_SANITIZER
#define SBX_SANITIZER 0
#endif

/* Appends "; <text>" to the report's detail, truncating. */
static void sbx_note(sbx_report *r, const char *fmt, ...) AL_PRINTF(2, 3);
static void sbx_note(sbx_report *r, const char *fmt, ...) {
  size_t len = strnlen(r->detail, sizeof r->detail);
  if (len + 1 >= sizeof r->detail) return;
  if (len) {
    snprintf(r->detail + len, sizeof r->detail - len, "; ");
    len = strnlen(r->detail, sizeof r->detail);
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->detail + len, sizeof r->detail - len, fmt, ap);
  va_end(ap);
}

/* The process's thread count from /proc/self/stat (field 20), or 0 when unknown.
 * Landlock and seccomp bind only the calling thread and unshare(CLONE_NEWUSER) refuses a
 * threaded process, so a second thread would escape what the report claims. */
static long sbx_threads(void) {
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may itself hold spaces and parens */
  if (!p) return 0;
  p++;
  for (int field = 2; field < 20; field++) {
    p = strchr(p, ' ');
    if (!p) return 0;
    p++;
  }
  return strtol(p, NULL, 10);
}

/* Closes fds lo..hi (inclusive). close_range() needs Linux 5.9; before that, every
 * number below the fd limit is tried. */
static int sbx_close_range(unsigned lo, unsigned hi) {
  if (lo > hi) return 0;
#ifdef SYS_close_range
  if (syscall(SYS_close_range, lo, hi, 0) == 0) return 0;
  if (errno != ENOSYS) return -1;
#endif
  struct rlimit rl;
  unsigned max = 1u << 20;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < max)
    max = (unsigned)rl.rlim_cur;
  for (unsigned fd = lo; fd <= hi && fd < max; fd++) close((int)fd);
  return 0;
}

/* Layer 1: keep_fd, and 0-2 on /dev/null (fd 2 kept as inherited in sanitizer builds). */
static int sbx_fds(int keep, sbx_report *r, al_error *err) {
  int rc = keep < 0 ? sbx_close_range(3, ~0u)
                    : (sbx_close_range(3, (unsigned)keep - 1) ||
                       sbx_close_range((unsigned)keep + 1, ~0u));
  if (rc) return err_set(err, AL_EINTERNAL, NULL, "sandbox: closing fds: %s", strerror(errno));
  int nul = open("/dev/null", O_RDWR);
  if (nul < 0) return err_set(err, AL_EINTERNAL, NULL, "sandbox: /dev/null: %s", strerror(errno));
  int last = SBX_SANITIZER ? 1 : 2;
  for (int fd = 0; fd <= last; fd++) {
    if (fd != nul && dup2(nul, fd) < 0)
      return err_set(err, AL_EINTERNAL, NULL, "sandbox: dup2 /dev/null: %s", strerror(errno));
  }
  if (nul > 2) close(nul);
  if (SBX_SANITIZER) sbx_note(r, "fds: stderr kept (sanitizer build)");
  r->fds_closed = true;
  return 0;
}

/* Layer 2. The parent may die between fork and this prctl, in which case no signal will
 * ever come: a changed getppid() tells. (A parent that died before sbx_enter was even
 * called is the worker main's to detect, by comparing getppid() with the host's pid.) */
static int sbx_pdeathsig(pid_t ppid, sbx_report *r, al_error *err) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    return err_set(err, AL_EINTERNAL, NULL, "sandbox: PR_SET_PDEATHSIG: %s", strerror(errno));
  if (getppid() != ppid)
    return err_set(err, AL_EINTERNAL, NULL, "sandbox: the parent exited before PR_SET_PDEATHSIG");
  r->pdeathsig = true;
  return 0;
}

/* Layer 3. Also not dumpable: core_pattern pipes ignore RLIMIT_CORE, and a non-dumpable
 * process cannot be ptrace-attached by others running as the same user. */
static int sbx_no_new_privs(sbx_report *r, al_error *err) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
    return err_set(err, AL_EINTERNAL, NULL, "sandbox: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return err_set(err, AL_EINTERNAL, NULL, "sandbox: PR_SET_DUMPABLE: %s", strerror(errno));
  r->no_new_privs = true;
  return 0;
}

/* Sets both soft and hard limit, so the plugin cannot raise them again; never above an
 * existing hard limit (that would fail and loosen nothing). */
static int sbx_limit(int resource, rlim_t v) {
  struct rlimit rl;
  if (getrlimit(resource, &rl) != 0) return -1;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < v) v = rl.rlim_max;
  rl.rlim_cur = rl.rlim_max = v;
  return setrlimit(resource, &rl);
}

/* Layer 4. Lowering a limit cannot fail on a sane kernel, so any failure is an error. */
static int sbx_rlimits(size_t as_bytes, sbx_report *r, al_error *err) {
  static const struct { int res; rlim_t v; const char *name; } lim[] = {
      {RLIMIT_CORE, 0, "CORE"},
      {RLIMIT_FSIZE, 0, "FSIZE"},
      {RLIMIT_NPROC, 0, "NPROC"}, /* root ignores it; seccomp is what stops fork */
      {RLIMIT_NOFILE, SBX_NOFILE, "NOFILE"},
  };
  for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
    if (sbx_limit(lim[i].res, lim[i].v) != 0)
      return err_set(err, AL_EINTERNAL, NULL, "sandbox: RLIMIT_%s: %s", lim[i].name,
                     strerror(errno));
  }
  r->rlimits = true;
  if (as_bytes == 0) return 0;
  if (SBX_SANITIZER) {
    r->rlimits = false; /* honest: a requested limit is not in force */
    sbx_note(r, "rlimits: RLIMIT_AS skipped (sanitizer shadow memory)");
    return 0;
  }
  if (sbx_limit(RLIMIT_AS, (rlim_t)as_bytes) != 0)
    return err_set(err, AL_EINTERNAL, NULL, "sandbox: RLIMIT_AS: %s", strerror(errno));
  return 0;
}

/* Layer 5, best-effort: every failure of unshare means "not available here" (EPERM in a
 * container or for an unprivileged user with userns disabled, EINVAL/ENOSPC/EUSERS at
 * limits). The user namespace comes first so that the other two are allowed to an
 * unprivileged process; as root it also sheds every capability in the initial namespace.
 * The mount namespace alone hides nothing (Landlock is what denies the filesystem); it
 * only keeps any mount this process could make from propagating back. */
static void sbx_namespaces(sbx_report *r) {
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) == 0) {
    r->userns = r->netns = r->mountns = true;
    return;
  }
  static const struct { int flag; const char *name; } ns[] = {
      {CLONE_NEWUSER, "userns"}, {CLONE_NEWNET, "netns"}, {CLONE_NEWNS, "mountns"}};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    bool ok = unshare(ns[i].flag) == 0;
    if (!ok) sbx_note(r, "%s: %s", ns[i].name, strerror(errno));
    if (ns[i].flag == CLONE_NEWUSER) r->userns = ok;
    else if (ns[i].flag == CLONE_NEWNET) r->netns = ok;
    else r->mountns = ok;
  }
}

/* The Landlock ABI (include/uapi/linux/landlock.h), by the version that added each. */
struct sbx_ll_attr {
  uint64_t handled_access_fs;  /* ABI 1 */
  uint64_t handled_access_net; /* ABI 4 */
  uint64_t scoped;             /* ABI 6 */
};
#define SBX_LL_VERSION 1u                 /* LANDLOCK_CREATE_RULESET_VERSION */
#define SBX_LL_FS_V1 ((1ull << 13) - 1)   /* EXECUTE .. MAKE_SYM */
#define SBX_LL_FS_REFER (1ull << 13)      /* ABI 2 */
#define SBX_LL_FS_TRUNCATE (1ull << 14)   /* ABI 3 */
#define SBX_LL_FS_IOCTL_DEV (1ull << 15)  /* ABI 5 */
#define SBX_LL_NET_TCP 3ull               /* BIND_TCP | CONNECT_TCP, ABI 4 */
#define SBX_LL_SCOPE_ALL 3ull             /* ABSTRACT_UNIX_SOCKET | SIGNAL, ABI 6 */

/* Layer 6: handle every right the kernel knows and add no rule, so all of them are
 * denied. ENOSYS (not built) and EOPNOTSUPP (built, disabled at boot) mean the kernel
 * lacks it; any other failure of an available Landlock is unexpected and an error. */
static int sbx_landlock(sbx_report *r, al_error *err) {
#if defined(SYS_landlock_create_ruleset) && defined(SYS_landlock_restrict_self)
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, SBX_LL_VERSION);
  if (abi < 0) {
    if (errno == ENOSYS || errno == EOPNOTSUPP) {
      sbx_note(r, "landlock: %s", strerror(errno));
      return 0;
    }
    return err_set(err, AL_EINTERNAL, NULL, "sandbox: landlock version: %s", strerror(errno));
  }
  struct sbx_ll_attr a = {.handled_access_fs = SBX_LL_FS_V1};
  size_t size = sizeof a.handled_access_fs;
  if (abi >= 2) a.handled_access_fs |= SBX_LL_FS_REFER;
  if (abi >= 3) a.handled_access_fs |= SBX_LL_FS_TRUNCATE;
  if (abi >= 5) a.handled_access_fs |= SBX_LL_FS_IOCTL_DEV;
  if (abi >= 4) {
    a.handled_access_net = SBX_LL_NET_TCP;
    size = offsetof(struct sbx_ll_attr, scoped);
  }
  if (abi >= 6) {
    a.scoped = SBX_LL_SCOPE_ALL;
    size = sizeof a;
  }
  long fd = syscall(SYS_landlock_create_ruleset, &a, size, 0);
  if (fd < 0)
    return err_set(err, AL_EINTERNAL, NULL, "sandbox: landlock ruleset (ABI %ld): %s", abi,
                   strerror(errno));
  long rc = syscall(SYS_landlock_restrict_self, (int)fd, 0);
  int saved = errno;
  close((int)fd);
  if (rc != 0)
    return err_set(err, AL_EINTERNAL, NULL, "sandbox: landlock restrict: %s", strerror(saved));
  r->landlock = true;
  sbx_note(r, "landlock: ABI %ld", abi);
  return 0;
#else
  (void)err;
  sbx_note(r, "landlock: not in this build's headers");
  return 0;
#endif
}

/* Allowed without conditions. Anything absent from the running architecture (open on
 * arm64, say) is skipped by name. */
static const char *const sbx_allowed[] = {
    /* I/O on fds that are already open: the host socket and /dev/null */
    "read", "write", "readv", "writev", "recvmsg", "sendmsg", "recvfrom", "sendto", "close",
    "lseek", /* stdio probes a stream's position (dprintf) */
    "fstat", /* by fd only; glibc itself uses newfstatat, refused below */
    /* memory; mmap and mprotect are added with a no-PROT_EXEC condition */
    "munmap", "mremap", "madvise", "brk",
    /* mutexes and condition variables, clocks, sleeps, randomness */
    "futex", "clock_gettime", "clock_getres", "gettimeofday", "time", "clock_nanosleep",
    "nanosleep", "getrandom", "sched_yield", "getpid", "gettid",
    /* signal delivery and return, and leaving */
    "rt_sigreturn", "rt_sigprocmask", "sigaltstack", "restart_syscall", "exit", "exit_group",
};

/* Refused with an errno instead of killed (see the top of the file). */
static const struct { const char *name; int err; } sbx_refused[] = {
    {"open", EACCES}, {"openat", EACCES}, {"newfstatat", EACCES}, {"ioctl", ENOTTY}};

static int sbx_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
                    const struct scmp_arg_cmp *cmp) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return 0;
  return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

/* Argument conditions are spelled out field by field: libseccomp's SCMP_A* macros leave
 * datum_b implicit, which clang's -Wmissing-field-initializers rejects. */
static int sbx_filter(scmp_filter_ctx ctx) {
  int rc = 0;
  for (size_t i = 0; !rc && i < sizeof sbx_allowed / sizeof sbx_allowed[0]; i++)
    rc = sbx_rule(ctx, SCMP_ACT_ALLOW, sbx_allowed[i], 0, NULL);
  for (size_t i = 0; !rc && i < sizeof sbx_refused / sizeof sbx_refused[0]; i++)
    rc = sbx_rule(ctx, SCMP_ACT_ERRNO((uint32_t)sbx_refused[i].err), sbx_refused[i].name, 0, NULL);
  /* W^X: no new executable memory, so a JIT-style exploit has nowhere to put code */
  struct scmp_arg_cmp no_exec = {.arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC,
                                 .datum_b = 0};
  if (!rc) rc = sbx_rule(ctx, SCMP_ACT_ALLOW, "mmap", 1, &no_exec);
  if (!rc) rc = sbx_rule(ctx, SCMP_ACT_ALLOW, "mprotect", 1, &no_exec);
  /* fdopen() and friends read flags; nothing may set them or duplicate fds */
  struct scmp_arg_cmp getfl = {.arg = 1, .op = SCMP_CMP_EQ, .datum_a = F_GETFL, .datum_b = 0};
  struct scmp_arg_cmp getfd = {.arg = 1, .op = SCMP_CMP_EQ, .datum_a = F_GETFD, .datum_b = 0};
  if (!rc) rc = sbx_rule(ctx, SCMP_ACT_ALLOW, "fcntl", 1, &getfl);
  if (!rc) rc = sbx_rule(ctx, SCMP_ACT_ALLOW, "fcntl", 1, &getfd);
  /* abort() (a failed assert) may signal itself with SIGABRT, so the host can tell the
   * worker's own check from a sandbox violation (SIGSYS); no other signal, no other pid */
  struct scmp_arg_cmp self_abort[2] = {
      {.arg = 0, .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)getpid(), .datum_b = 0},
      {.arg = 2, .op = SCMP_CMP_EQ, .datum_a = SIGABRT, .datum_b = 0}};
  if (!rc) rc = sbx_rule(ctx, SCMP_ACT_ALLOW, "tgkill", 2, self_abort);
  return rc;
}

/* Layer 7. A kernel without seccomp filters answers PR_GET_SECCOMP with EINVAL; with
 * them, any failure to build or load ours is an error. */
static int sbx_seccomp(sbx_report *r, al_error *err) {
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
    sbx_note(r, "seccomp: not in this kernel");
    return 0;
  }
  /* KILL_PROCESS needs Linux 4.14; before that KILL (the thread) is the same thing for a
   * single-threaded process, which sbx_enter has checked we are. */
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx) ctx = seccomp_init(SCMP_ACT_KILL);
  if (!ctx) return err_set(err, AL_EINTERNAL, NULL, "sandbox: seccomp_init failed");
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
  (void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1); /* the kernel's errno, not ECANCELED */
#endif
  int rc = sbx_filter(ctx);
  const char *what = "rule";
  if (!rc) {
    what = "load";
    rc = seccomp_load(ctx);
  }
  seccomp_release(ctx); /* only free() from here on, which the filter allows */
  if (rc)
    return err_set(err, AL_EINTERNAL, NULL, "sandbox: seccomp %s: %s", what, strerror(-rc));
  r->seccomp = true;
  return 0;
}

int sbx_enter(const sbx_config *cfg, sbx_report *rep, al_error *err) {
  if (!rep) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "sandbox: no report");
  memset(rep, 0, sizeof *rep);
  al_error e;
  int rc;
  pid_t ppid = getppid(); /* as early as possible: the pdeathsig check compares to it */
  if (!cfg || (cfg->keep_fd != -1 && cfg->keep_fd < 3)) {
    rc = err_set(&e, AL_EINVALID_ARGUMENT, NULL, "sandbox: keep_fd must be -1 or >= 3");
    goto fail;
  }
  long threads = sbx_threads();
  if (threads > 1) {
    rc = err_set(&e, AL_EINVALID_ARGUMENT, NULL, "sandbox: %ld threads; must be one", threads);
    goto fail;
  }
  if ((rc = sbx_fds(cfg->keep_fd, rep, &e))) goto fail;
  if ((rc = sbx_pdeathsig(ppid, rep, &e))) goto fail;
  if ((rc = sbx_no_new_privs(rep, &e))) goto fail;
  if ((rc = sbx_rlimits(cfg->address_space_bytes, rep, &e))) goto fail;
  if (cfg->allow_namespaces) sbx_namespaces(rep);
  else sbx_note(rep, "namespaces: off");
  /* Credential changes clear the parent-death signal. Entering a user namespace does not
   * today, but this check is cheaper than relying on it. */
  int sig = 0;
  if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) != 0 || sig != SIGKILL) {
    if ((rc = sbx_pdeathsig(ppid, rep, &e))) goto fail;
  }
  if (cfg->allow_landlock) {
    if ((rc = sbx_landlock(rep, &e))) goto fail;
  } else {
    sbx_note(rep, "landlock: off");
  }
  if (cfg->allow_seccomp) {
    if ((rc = sbx_seccomp(rep, &e))) goto fail;
  } else {
    sbx_note(rep, "seccomp: off");
  }
  return 0;
fail:
  sbx_note(rep, "error: %s", e.message);
  err_copy(err, &e);
  return rc;
}

/* Writes `s` JSON-escaped into out (cap >= 1), NUL-terminated; returns false if cut. */
static bool sbx_escape(const char *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && s[i]; i++) {
    unsigned char c = (unsigned char)s[i];
    char tmp[8];
    if (c == '"' || c == '\\') snprintf(tmp, sizeof tmp, "\\%c", c);
    else if (c < 0x20 || c == 0x7f) snprintf(tmp, sizeof tmp, "\\u%04x", c);
    else snprintf(tmp, sizeof tmp, "%c", c);
    size_t t = strlen(tmp);
    if (o + t >= cap) {
      out[o] = '\0';
      return false;
    }
    memcpy(out + o, tmp, t);
    o += t;
  }
  out[o] = '\0';
  return true;
}

void sbx_report_json(const sbx_report *r, char *buf, size_t cap) {
  if (!buf || cap == 0) return;
  if (!r) {
    snprintf(buf, cap, "{}");
    return;
  }
  char detail[6 * sizeof r->detail + 1];
  sbx_escape(r->detail, sizeof r->detail, detail, sizeof detail);
#define SBX_B(x) ((x) ? "true" : "false")
  const char *fmt = "{\"fdsClosed\":%s,\"pdeathsig\":%s,\"noNewPrivs\":%s,\"rlimits\":%s,"
                    "\"netns\":%s,\"userns\":%s,\"mountns\":%s,\"landlock\":%s,"
                    "\"seccomp\":%s,\"detail\":\"%s\"}";
  for (int pass = 0; pass < 2; pass++) {
    int n = snprintf(buf, cap, fmt, SBX_B(r->fds_closed), SBX_B(r->pdeathsig),
                     SBX_B(r->no_new_privs), SBX_B(r->rlimits), SBX_B(r->netns),
                     SBX_B(r->userns), SBX_B(r->mountns), SBX_B(r->landlock),
                     SBX_B(r->seccomp), pass ? "" : detail);
    if (n >= 0 && (size_t)n < cap) return;
  }
#undef SBX_B
  buf[0] = '\0';
}

/* What the probe child sends back. Same binary on both ends, so raw bytes are fine. */
typedef struct sbx_probe_msg {
  int rc;
  sbx_report rep;
} sbx_probe_msg;

static _Noreturn void sbx_probe_child(int wfd) {
  sbx_probe_msg m;
  memset(&m, 0, sizeof m);
  if (wfd < 3) wfd = fcntl(wfd, F_DUPFD, 3); /* keep_fd must clear 0-2 */
  sbx_config cfg = {.keep_fd = wfd, .allow_landlock = true, .allow_namespaces = true,
                    .allow_seccomp = true};
  m.rc = sbx_enter(&cfg, &m.rep, NULL);
  const char *p = (const char *)&m;
  size_t left = sizeof m;
  while (left) { /* fits in PIPE_BUF, so this is one write; the loop is for EINTR */
    ssize_t n = write(wfd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(1);
    p += n;
    left -= (size_t)n;
  }
  /* prove the filter is live: getppid is not allowed, so this must die of SIGSYS */
  if (m.rep.seccomp) (void)syscall(SYS_getppid);
  _exit(0); /* not exit(): no atexit handlers (LeakSanitizer) in a sandbox */
}

int sbx_probe(sbx_report *rep) {
  if (!rep) return AL_EINVALID_ARGUMENT;
  memset(rep, 0, sizeof *rep);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    sbx_note(rep, "probe: pipe: %s", strerror(errno));
    return AL_EIO;
  }
  pid_t pid = fork();
  if (pid < 0) {
    sbx_note(rep, "probe: fork: %s", strerror(errno));
    close(p[0]);
    close(p[1]);
    return AL_EIO;
  }
  if (pid == 0) {
    close(p[0]);
    sbx_probe_child(p[1]);
  }
  close(p[1]);
  sbx_probe_msg m;
  size_t got = 0;
  while (got < sizeof m) {
    ssize_t n = read(p[0], (char *)&m + got, sizeof m - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(p[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != sizeof m) {
    if (WIFSIGNALED(status)) sbx_note(rep, "probe: child killed by signal %d", WTERMSIG(status));
    else sbx_note(rep, "probe: child exited %d without a report", WEXITSTATUS(status));
    return AL_ECRASHED;
  }
  *rep = m.rep;
  rep->detail[sizeof rep->detail - 1] = '\0';
  if (m.rc) return AL_ECRASHED; /* sbx_enter put the reason in the detail */
  if (rep->seccomp && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)) {
    rep->seccomp = false;
    sbx_note(rep, "seccomp: filter loaded but a forbidden call did not kill");
  }
  return 0;
}

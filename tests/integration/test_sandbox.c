/*
 * test_sandbox.c: the worker sandbox, tried from outside.
 *
 * Each case runs sandbox_probe (path in SANDBOX_PROBE) in a fresh process, because the
 * sandbox cannot be undone: the probe sandboxes itself, attempts one thing and reports
 * over a pipe. An attack passes when seccomp killed the probe (SIGSYS) or the call was
 * refused; which of the two is expected is part of the filter's design and is asserted.
 * The "noseccomp" and "nsonly" cases check that Landlock and the network namespace hold
 * on their own, and are skipped where this kernel lacks the layer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "worker/sandbox.h"

#ifndef SANDBOX_PROBE
#error "SANDBOX_PROBE must name the sandbox_probe executable"
#endif

typedef struct probe_run {
  int status;
  char out[8192];
} probe_run;

static void run_probe(const char *attack, const char *layers, const char *arg, probe_run *r) {
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char fd[16];
    snprintf(fd, sizeof fd, "%d", p[1]);
    fcntl(p[1], F_SETFD, 0); /* the one fd the probe keeps */
    /* LeakSanitizer's exit-time check needs ptrace and /proc, which the sandbox forbids;
     * an inherited ASAN_OPTIONS=detect_leaks=1 would override the probe's own default,
     * so append the override (later options win). */
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[512];
    snprintf(opts, sizeof opts, "%s%sdetect_leaks=0", asan ? asan : "", asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    execl(SANDBOX_PROBE, SANDBOX_PROBE, attack, fd, layers, arg, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  size_t got = 0;
  for (;;) {
    ssize_t n = read(p[0], r->out + got, sizeof r->out - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  r->out[got] = '\0';
  close(p[0]);
  while (waitpid(pid, &r->status, 0) < 0) assert_int_equal(errno, EINTR);
}

static bool killed_by_sigsys(const probe_run *r) {
  return WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGSYS;
}

/* The report line the probe printed after sbx_enter, parsed. */
static json_t *entered(const probe_run *r) {
  const char *e = strstr(r->out, "entered ");
  if (!e) fail_msg("the probe did not enter the sandbox: %s", r->out);
  json_t *v = json_loadb(e + 8, strcspn(e + 8, "\n"), 0, NULL);
  if (!v) fail_msg("bad report line: %s", r->out);
  return v;
}

static bool layer(const json_t *rep, const char *name) {
  return json_is_true(json_object_get(rep, name));
}

enum expect { KILLED, REFUSED };

/* Runs one attack and asserts it was contained in the expected way. */
static void attack(const char *name, const char *layers, const char *arg, enum expect want) {
  probe_run r;
  run_probe(name, layers, arg, &r);
  json_decref(entered(&r));
  if (strstr(r.out, "escaped")) fail_msg("%s/%s ESCAPED: %s", name, layers, r.out);
  const char *ref = strstr(r.out, "refused ");
  if (want == KILLED && !killed_by_sigsys(&r))
    fail_msg("%s/%s: expected SIGSYS, got status 0x%x: %s", name, layers, r.status, r.out);
  if (want == REFUSED && (!ref || !WIFEXITED(r.status)))
    fail_msg("%s/%s: expected a refusal, got status 0x%x: %s", name, layers, r.status, r.out);
  print_message("  %-9s %-9s %.*s\n", name, layers, ref ? (int)strcspn(ref, "\n") : 16,
                ref ? ref : "killed by SIGSYS");
}

static int listener(int *port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(s >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(s, 4), 0);
  assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return s;
}

static void tmp_path(char *buf, size_t cap, const char *tag) {
  snprintf(buf, cap, "/tmp/airlock-sbx-%ld-%s", (long)getpid(), tag);
  unlink(buf);
}

static void assert_absent(const char *path) {
  if (access(path, F_OK) == 0) {
    unlink(path);
    fail_msg("the probe created %s", path);
  }
}

static void test_attacks_all_layers(void **st) {
  (void)st;
  char port[16], path[128];
  int pn = 0, s = listener(&pn);
  snprintf(port, sizeof port, "%d", pn);
  tmp_path(path, sizeof path, "all");
  attack("open", "all", "", REFUSED); /* soft-denied by the filter, and by Landlock */
  attack("tmpwrite", "all", path, REFUSED);
  assert_absent(path);
  attack("socket", "all", "", KILLED);
  attack("connect", "all", port, KILLED);
  attack("exec", "all", "", KILLED);
  attack("fork", "all", "", KILLED);
  attack("mprotect", "all", "", KILLED);
  attack("mmapexec", "all", "", KILLED);
  attack("kill", "all", "", KILLED);
  close(s);
}

/* The Landlock ABI the probe reported ("landlock: ABI 7" in the detail), or 0. */
static long landlock_abi(const json_t *rep) {
  const char *d = json_string_value(json_object_get(rep, "detail"));
  const char *a = d ? strstr(d, "landlock: ABI ") : NULL;
  return a ? strtol(a + 14, NULL, 10) : 0;
}

/* Without seccomp: Landlock alone keeps the filesystem (and, from ABI 4, TCP; from ABI 6,
 * signals), and the network namespace alone keeps the network. */
static void test_attacks_without_seccomp(void **st) {
  (void)st;
  probe_run r;
  run_probe("ok", "noseccomp", "", &r);
  json_t *rep = entered(&r);
  assert_false(layer(rep, "seccomp"));
  char port[16], path[128];
  int pn = 0, s = listener(&pn);
  snprintf(port, sizeof port, "%d", pn);
  tmp_path(path, sizeof path, "noseccomp");
  if (layer(rep, "landlock")) {
    attack("open", "noseccomp", "", REFUSED);
    attack("tmpwrite", "noseccomp", path, REFUSED);
    assert_absent(path);
    if (landlock_abi(rep) >= 6) attack("kill", "noseccomp", "", REFUSED);
  } else {
    print_message("  (Landlock unavailable here: filesystem cases skipped)\n");
  }
  if (layer(rep, "netns")) attack("connect", "nsonly", port, REFUSED);
  else print_message("  (no network namespace here: connect case skipped)\n");
  close(s);
  json_decref(rep);
}

static void test_allowed_work(void **st) {
  (void)st;
  probe_run r;
  run_probe("ok", "all", "", &r);
  json_t *rep = entered(&r);
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
    fail_msg("allowed work died: status 0x%x: %s", r.status, r.out);
  const char *ok = strstr(r.out, "\nok ");
  if (!ok) fail_msg("no ok line: %s", r.out);
  assert_non_null(strstr(ok, "wait=timedout"));
  assert_non_null(strstr(ok, "random=16"));
  assert_non_null(strstr(ok, "pi=3.142"));
  if (layer(rep, "rlimits")) assert_non_null(strstr(ok, "big=no")); /* RLIMIT_AS held */
  print_message("  %.*s\n", (int)strcspn(ok + 1, "\n"), ok + 1);
  json_decref(rep);
}

static void test_quickjs_in_sandbox(void **st) {
  (void)st;
  probe_run r;
  run_probe("vm", "all", "", &r);
  json_decref(entered(&r));
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
    fail_msg("QuickJS died in the sandbox: status 0x%x: %s", r.status, r.out);
  const char *ok = strstr(r.out, "\nok vm 1970-01-01T00:00:00.000Z number true {\"a\":[1,2]} true");
  if (!ok) fail_msg("unexpected output: %s", r.out);
  assert_non_null(strstr(ok, "loop=VM_TIMEOUT"));
  assert_non_null(strstr(ok, "hog=VM_MEMORY_LIMIT"));
  print_message("  %.*s\n", (int)strcspn(ok + 1, "\n"), ok + 1);
}

static void test_refuses_threads(void **st) {
  (void)st;
  probe_run r;
  run_probe("threads", "all", "", &r);
  assert_true(WIFEXITED(r.status));
  assert_int_equal(WEXITSTATUS(r.status), 3);
  assert_non_null(strstr(r.out, "enter-failed INVALID_ARGUMENT"));
}

/* Bad arguments are refused before anything changes, so this runs in-process. */
static void test_bad_config(void **st) {
  (void)st;
  sbx_report rep;
  al_error err;
  sbx_config cfg = {.keep_fd = 1, .allow_seccomp = true};
  assert_int_equal(sbx_enter(&cfg, &rep, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(rep.detail, "keep_fd"));
  assert_int_equal(sbx_enter(NULL, &rep, NULL), AL_EINVALID_ARGUMENT);
  assert_int_equal(sbx_enter(&cfg, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_false(rep.seccomp);
}

static void test_probe(void **st) {
  (void)st;
  sbx_report rep;
  int rc = sbx_probe(&rep);
  char json[SBX_JSON_MAX];
  sbx_report_json(&rep, json, sizeof json);
  print_message("  %s\n", json);
#if defined(__SANITIZE_THREAD__)
  /* TSan restarts its background thread in a forked child, and sbx_enter rightly refuses
   * a threaded process; the exec'd probe above (the real worker's path) is unaffected. */
  if (rc && strstr(rep.detail, "threads")) skip();
#endif
  if (rc) fail_msg("sbx_probe: %s: %s", al_err_name(rc), rep.detail);
  assert_true(rep.seccomp);
  assert_true(rep.no_new_privs);
  assert_true(rep.fds_closed);
  assert_true(rep.pdeathsig);
  assert_true(rep.rlimits);
  json_t *v = json_loads(json, 0, NULL);
  assert_non_null(v);
  assert_true(json_is_true(json_object_get(v, "seccomp")));
  json_decref(v);
  /* the caller is untouched: it can still do what the sandbox forbids */
  int fd = open("/etc/passwd", O_RDONLY);
  assert_true(fd >= 0);
  close(fd);
}

static void test_report_json(void **st) {
  (void)st;
  sbx_report rep;
  memset(&rep, 0, sizeof rep);
  rep.seccomp = rep.landlock = true;
  snprintf(rep.detail, sizeof rep.detail, "quote \" back \\ tab \t end");
  char buf[SBX_JSON_MAX];
  sbx_report_json(&rep, buf, sizeof buf);
  json_t *v = json_loads(buf, 0, NULL);
  if (!v) fail_msg("not JSON: %s", buf);
  assert_true(json_is_true(json_object_get(v, "seccomp")));
  assert_true(json_is_false(json_object_get(v, "fdsClosed")));
  assert_string_equal(json_string_value(json_object_get(v, "detail")), rep.detail);
  json_decref(v);
  /* too small for the detail: dropped; too small for anything: empty */
  memset(rep.detail, 'x', 400);
  rep.detail[400] = '\0';
  char small[300];
  sbx_report_json(&rep, small, sizeof small);
  v = json_loads(small, 0, NULL);
  if (!v) fail_msg("not JSON: %s", small);
  assert_string_equal(json_string_value(json_object_get(v, "detail")), "");
  json_decref(v);
  char tiny[8];
  sbx_report_json(&rep, tiny, sizeof tiny);
  assert_string_equal(tiny, "");
  sbx_report_json(NULL, tiny, sizeof tiny);
  assert_string_equal(tiny, "{}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_report_json),     cmocka_unit_test(test_bad_config),
      cmocka_unit_test(test_probe),           cmocka_unit_test(test_allowed_work),
      cmocka_unit_test(test_quickjs_in_sandbox), cmocka_unit_test(test_attacks_all_layers),
      cmocka_unit_test(test_attacks_without_seccomp), cmocka_unit_test(test_refuses_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

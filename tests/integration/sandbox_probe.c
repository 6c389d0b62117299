/*
 * sandbox_probe.c: a test-only program that sandboxes itself and then tries one thing.
 *
 *   sandbox_probe ATTACK FD LAYERS [ARG]
 *
 * FD is the write end of a pipe from test_sandbox.c and the only fd sbx_enter() keeps;
 * everything the probe has to say goes there as lines, written with dprintf() the way a
 * worker writes to its socket:
 *
 *   entered {report json}        sbx_enter() succeeded
 *   enter-failed CODE message    it refused (exit 3)
 *   refused ERRNO                the attack's call failed: contained
 *   escaped what                 the attack's call succeeded: the test fails
 *   ok ...                       the allowed-work modes finished
 *
 * A probe killed by SIGSYS was stopped by seccomp. LAYERS is "all", "noseccomp" (to see
 * Landlock hold on its own) or "nsonly" (neither seccomp nor Landlock: the network
 * namespace alone). ARG is the TCP port for "connect" and the file path for "tmpwrite".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vm/vm.h"
#include "worker/sandbox.h"

/* LeakSanitizer's exit-time check needs ptrace and /proc, which the sandbox forbids, so a
 * sandboxed program must not run it (sandbox.h). Unused in builds without ASan. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "detect_leaks=0"; }

static int out_fd = -1;

static int refused(void) {
  dprintf(out_fd, "refused %s\n", strerror(errno));
  return 0;
}

static int escaped(const char *what) {
  dprintf(out_fd, "escaped %s\n", what);
  return 1;
}

static int attack_open(void) {
  int fd = open("/etc/passwd", O_RDONLY);
  if (fd < 0) return refused();
  char buf[16];
  return escaped(read(fd, buf, sizeof buf) > 0 ? "read /etc/passwd" : "opened /etc/passwd");
}

static int attack_socket(void) {
  return socket(AF_INET, SOCK_STREAM, 0) < 0 ? refused() : escaped("socket(AF_INET)");
}

static int attack_connect(const char *port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return refused();
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return connect(s, (struct sockaddr *)&a, sizeof a) < 0 ? refused() : escaped("connect");
}

static int attack_exec(void) {
  char *argv[] = {"/bin/true", NULL};
  char *envp[] = {NULL};
  execve(argv[0], argv, envp);
  return refused(); /* on success /bin/true exits 0 having said nothing: the test fails */
}

static int attack_fork(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  return pid < 0 ? refused() : escaped("fork");
}

static int attack_tmpwrite(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return refused();
  return escaped(write(fd, "x", 1) == 1 ? "wrote a file" : "created a file");
}

static int attack_mprotect(void) {
  void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return escaped("(mmap RW failed, the allowed path broke)");
  return mprotect(p, 4096, PROT_READ | PROT_EXEC) < 0 ? refused() : escaped("mprotect EXEC");
}

static int attack_mmapexec(void) {
  void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? refused() : escaped("mmap EXEC");
}

static int attack_kill(pid_t ppid) {
  return kill(ppid, 0) < 0 ? refused() : escaped("may signal the parent");
}

/* What a worker does all day: allocate, lock, wait, tell the time, print. */
static pthread_mutex_t ok_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ok_cv = PTHREAD_COND_INITIALIZER;

static int work_ok(void) {
  size_t total = 0;
  void *blocks[64] = {0};
  for (int i = 0; i < 64; i++) { /* small, medium and mmap-sized blocks */
    size_t n = (size_t)(i % 3 == 0 ? 64 : i % 3 == 1 ? 64 << 10 : 2 << 20);
    blocks[i] = malloc(n);
    if (!blocks[i]) return escaped("(malloc failed)");
    memset(blocks[i], i, n);
    total += n;
  }
  for (int i = 0; i < 64; i += 2) {
    void *q = realloc(blocks[i], 3 << 20);
    if (!q) return escaped("(realloc failed)");
    blocks[i] = q;
  }
  for (int i = 0; i < 64; i++) free(blocks[i]);
  void *big = malloc((size_t)2 << 30); /* over RLIMIT_AS when it is set */
  bool big_ok = big != NULL;
  free(big);

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 5 * 1000 * 1000;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&ok_mu);
  int wait_rc = pthread_cond_timedwait(&ok_cv, &ok_mu, &ts); /* a real futex wait */
  pthread_cond_signal(&ok_cv);
  pthread_mutex_unlock(&ok_mu);
  nanosleep(&(struct timespec){0, 1000000}, NULL);

  unsigned char rnd[16];
  ssize_t got = getrandom(rnd, sizeof rnd, 0);
  struct tm tm;
  time_t now = time(NULL);
  localtime_r(&now, &tm);
  char when[64];
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", &tm);

  /* stdout is /dev/null: glibc probes it (fstat, isatty) and must survive the answers */
  printf("into the void %d\n", isatty(1));
  fflush(stdout);
  FILE *f = fdopen(out_fd, "w");
  if (!f) return escaped("(fdopen failed)");
  fprintf(f, "ok alloc=%zuMiB big=%s wait=%s random=%zd time=%s pi=%.3f\n", total >> 20,
          big_ok ? "yes" : "no", wait_rc == ETIMEDOUT ? "timedout" : "other", got, when,
          3.14159);
  fclose(f);
  exit(0); /* a normal exit: atexit handlers and stdio flushing run under the filter */
}

static const char *PLUGIN =
    "definePlugin(({ ui }) => ({ widgets: { main: { render({ pluginState }) {"
    "  if (pluginState.mode === 'loop') for (;;) {}"
    "  if (pluginState.mode === 'hog') { const a = []; for (;;) a.push(new Uint8Array(1 << 20)); }"
    "  const d = new Date(0);"
    "  let s = ''; for (let i = 0; i < 2000; i++) s += i;"
    "  return ui.text(['vm', d.toISOString(), typeof d.getTimezoneOffset(),"
    "    Math.random() < 1, JSON.stringify({ a: [1, 2] }), /a+b/.test('aab'), s.length].join(' '));"
    "} } } }));";

static int vm_mode(vm_instance *vm, const char *mode, json_t **tree, al_error *err) {
  json_t *st = json_pack("{s:s}", "mode", mode);
  json_t *global = json_object();
  int rc = vm_render(vm, "main", &(vm_state_msg){.full = st}, &(vm_state_msg){.full = global}, tree, err);
  json_decref(st);
  json_decref(global);
  return rc;
}

/* The worker's real work: a QuickJS runtime created, run into its limits and reused,
 * all inside the sandbox. */
static int work_vm(void) {
  vm_config cfg = {.limits = {.memory_bytes = 16u << 20, .stack_bytes = 1u << 20,
                              .load_ms = 2000, .render_ms = 1000, .event_ms = 1000},
                   .max_value_bytes = 1u << 20, .max_tree_bytes = 1u << 20};
  vm_instance *vm = NULL;
  al_error err;
  json_t *meta = NULL, *tree = NULL;
  if (vm_new(&cfg, &vm, &err)) return escaped("(vm_new failed)");
  if (vm_load(vm, PLUGIN, strlen(PLUGIN), "probe.js", &meta, &err)) {
    dprintf(out_fd, "vm-error load %s\n", err.message);
    return 1;
  }
  json_decref(meta);
  int loop = vm_mode(vm, "loop", &tree, &err);
  json_decref(tree);
  int hog = vm_mode(vm, "hog", &tree, &err);
  json_decref(tree);
  tree = NULL;
  if (vm_mode(vm, "ok", &tree, &err)) {
    dprintf(out_fd, "vm-error render %s\n", err.message);
    return 1;
  }
  dprintf(out_fd, "ok %s loop=%s hog=%s\n", json_string_value(json_object_get(tree, "text")),
          al_err_name(loop), al_err_name(hog));
  json_decref(tree);
  vm_free(vm);
  exit(0);
}

static void *idle_thread(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: sandbox_probe ATTACK FD all|noseccomp|nsonly [ARG]\n");
    return 2;
  }
  const char *attack = argv[1], *arg = argc > 4 ? argv[4] : "";
  out_fd = atoi(argv[2]);
  pid_t ppid = getppid(); /* asked now: getppid is not allowed afterwards */
  tzset();                /* the worker contract: before the sandbox, so localtime works */
  if (strcmp(attack, "threads") == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, idle_thread, NULL) != 0) return 2;
  }

  bool all = strcmp(argv[3], "all") == 0;
  sbx_config cfg = {.keep_fd = out_fd, .address_space_bytes = (size_t)1 << 30,
                    .allow_landlock = all || strcmp(argv[3], "noseccomp") == 0,
                    .allow_namespaces = true, .allow_seccomp = all};
  sbx_report rep;
  al_error err;
  int rc = sbx_enter(&cfg, &rep, &err);
  if (rc) {
    dprintf(out_fd, "enter-failed %s %s\n", al_err_name(rc), err.message);
    _exit(3);
  }
  char json[SBX_JSON_MAX];
  sbx_report_json(&rep, json, sizeof json);
  dprintf(out_fd, "entered %s\n", json);

  if (!strcmp(attack, "open")) return attack_open();
  if (!strcmp(attack, "socket")) return attack_socket();
  if (!strcmp(attack, "connect")) return attack_connect(arg);
  if (!strcmp(attack, "exec")) return attack_exec();
  if (!strcmp(attack, "fork")) return attack_fork();
  if (!strcmp(attack, "tmpwrite")) return attack_tmpwrite(arg);
  if (!strcmp(attack, "mprotect")) return attack_mprotect();
  if (!strcmp(attack, "mmapexec")) return attack_mmapexec();
  if (!strcmp(attack, "kill")) return attack_kill(ppid);
  if (!strcmp(attack, "ok")) return work_ok();
  if (!strcmp(attack, "vm")) return work_vm();
  dprintf(out_fd, "unknown attack %s\n", attack);
  return 2;
}

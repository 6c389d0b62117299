/*
 * cmd_emit.c: `airlock emit <event> [payload.json | -]`: load the enabled installed
 * packages from the host database, emit one event, print the aggregate with every
 * handler's result as JSON, and exit 2 when the aggregate is block or deny, so the
 * command can serve as another program's hook. Also the host set-up `airlock tool`
 * shares (cli_hooks_host).
 *
 * A package that fails to load is reported on stderr and skipped: one broken plugin must
 * not take every other one's verdict away. With AIRLOCK_DISABLE_PLUGINS the answer is
 * "continue" with `disabled` saying why, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "pkg/db.h"
#include "util.h"

static void emit_usage(FILE *out) {
  fprintf(out,
          "usage: airlock emit <event> [payload.json | -] [options]\n"
          "  --home DIR              host database and packages (default: $AIRLOCK_HOME,\n"
          "                          else $XDG_DATA_HOME/airlock, else ~/.local/share/airlock)\n"
          "  --isolation MODE        process (default), thread or inline\n"
          "  --policy FILE           capability policy JSON\n"
          "  --plugin DIR            also load the package in DIR (repeatable; not installed)\n"
          "  --no-prompt             deny what the policy says needs approval instead of\n"
          "                          asking on the terminal (the default without one)\n"
          "prints {event, action, reason?, payload, results}; exit 2 on block or deny\n");
}

const char *cli_default_home(char *buf, size_t cap) {
  const char *h = getenv("AIRLOCK_HOME"), *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
  if (h && *h) snprintf(buf, cap, "%s", h);
  else if (x && *x) snprintf(buf, cap, "%s/airlock", x);
  else snprintf(buf, cap, "%s/.local/share/airlock", home && *home ? home : ".");
  return buf;
}

/* Reads a JSON argument from a file or stdin ("-"); NULL path: "{}". malloc()ed. */
char *cli_read_json_arg(const char *path) {
  if (!path) return strdup("{}");
  size_t n;
  char *t = cli_read_file(path, &n);
  if (!t)
    fprintf(stderr, "error: IO_ERROR: cannot read %s: %s\n", strcmp(path, "-") ? path : "stdin",
            strerror(errno));
  return t;
}

void cli_hooks_opts_init(cli_hooks_opts *o) {
  memset(o, 0, sizeof *o);
  o->iso = AL_ISOLATION_PROCESS;
}

int cli_hooks_opt(int argc, char **argv, int *i, cli_hooks_opts *o) {
  const char *a = argv[*i];
  bool has_val = *i + 1 < argc;
  if (!strcmp(a, "--home") && has_val) o->home = argv[++*i];
  else if (!strcmp(a, "--policy") && has_val) o->policy_file = argv[++*i];
  else if (!strcmp(a, "--isolation") && has_val) return cli_isolation(argv[++*i], &o->iso) ? 2 : 1;
  else if (!strcmp(a, "--no-prompt")) o->no_prompt = true;
  else if (!strcmp(a, "--plugin") && has_val) {
    if (o->ndirs == (int)(sizeof o->dirs / sizeof o->dirs[0])) {
      fprintf(stderr, "error: INVALID_ARGUMENT: at most %d --plugin directories\n", o->ndirs);
      return 2;
    }
    o->dirs[o->ndirs++] = argv[++*i];
  } else return 0;
  return 1;
}

/* What the policy says needs approval is asked on the controlling terminal (the host
 * serialises its approve calls, so prompts never interleave); without a terminal it is
 * denied, as for any headless host. The prompt goes to /dev/tty, not stdout or stdin,
 * which carry the JSON result and payload. The wait is bounded: the worker that asked is
 * blocked meanwhile, and an answer after the plugin's call ran out of time would find
 * the call already answered anyway. */
#define CLI_APPROVE_WAIT_MS 30000

static int tty_approve(void *user, const char *plugin_id, const char *action,
                       const char *resource) {
  (void)user;
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return AL_APPROVE_DENY;
  char q[1024];
  int n = snprintf(q, sizeof q, "airlock: allow plugin '%s' %s %s? [y/N] ", plugin_id, action,
                   resource && *resource ? resource : "(no resource)");
  char ans[8] = {0};
  struct pollfd p = {fd, POLLIN, 0};
  if (n > 0 && write(fd, q, (size_t)n < sizeof q ? (size_t)n : sizeof q - 1) > 0) {
    if (poll(&p, 1, CLI_APPROVE_WAIT_MS) == 1 && read(fd, ans, sizeof ans - 1) < 0) ans[0] = 0;
    if (!ans[0]) {
      static const char late[] = "(no answer: denied)\n";
      if (write(fd, late, sizeof late - 1) < 0) { /* the terminal went away: nothing to tell */ }
    }
  }
  close(fd);
  return ans[0] == 'y' || ans[0] == 'Y' ? AL_APPROVE_ALLOW : AL_APPROVE_DENY;
}

int cli_hooks_host(const cli_hooks_opts *o, al_host **out) {
  *out = NULL;
  char hb[4096];
  const char *home = o->home ? o->home : cli_default_home(hb, sizeof hb);
  const char *policy_file = o->policy_file;
  al_isolation iso = o->iso;
  const char *const *dirs = o->dirs;
  int ndirs = o->ndirs;
  char *policy = NULL;
  if (policy_file && !(policy = cli_read_json_arg(policy_file))) return 1;
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = iso;
  cfg.home = home;
  cfg.policy_json = policy;
  /* The same trail `airlock plugin audit` reads. */
  char audit_path[4200];
  snprintf(audit_path, sizeof audit_path, "%s/audit.jsonl", home);
  cfg.audit_path = audit_path;
  if (!o->no_prompt) cfg.approve = tty_approve;
  al_error err;
  int rc = al_host_new(&cfg, out, &err);
  free(policy);
  if (rc) {
    cli_print_error(&err);
    return 1;
  }
  /* The enabled packages, in id order. The database is opened once more here only to
   * list them; the host keeps its own connection. */
  pkg_db *db = NULL;
  json_t *list = NULL;
  if (pkg_db_open(home, &db, &err) || pkg_db_package_list(db, &list, &err)) {
    cli_print_error(&err);
    pkg_db_close(db);
    al_host_free(*out);
    *out = NULL;
    return 1;
  }
  pkg_db_close(db);
  size_t i;
  json_t *p;
  json_array_foreach(list, i, p) {
    if (!json_is_true(json_object_get(p, "enabled"))) continue;
    const char *id = json_string_value(json_object_get(p, "id"));
    rc = al_load_package(*out, id, NULL, NULL, 0, &err);
    if (rc == AL_EPLUGINS_DISABLED) break;
    if (rc) fprintf(stderr, "warning: package '%s' not loaded: %s: %s\n", id, al_err_name(rc), err.message);
  }
  json_decref(list);
  for (int d = 0; d < ndirs; d++) {
    rc = al_load_package(*out, dirs[d], NULL, NULL, 0, &err);
    if (rc == AL_EPLUGINS_DISABLED) break;
    if (rc) fprintf(stderr, "warning: package in '%s' not loaded: %s: %s\n", dirs[d], al_err_name(rc), err.message);
  }
  return 0;
}

int cmd_emit(int argc, char **argv) {
  const char *event = NULL, *payload_path = NULL;
  cli_hooks_opts o;
  cli_hooks_opts_init(&o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int taken;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      emit_usage(stdout);
      return 0;
    } else if ((taken = cli_hooks_opt(argc, argv, &i, &o))) {
      if (taken == 2) return 2;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "error: INVALID_ARGUMENT: unknown or incomplete option '%s'\n", a);
      emit_usage(stderr);
      return 2;
    } else if (!event) event = a;
    else if (!payload_path) payload_path = a;
    else {
      fprintf(stderr, "error: INVALID_ARGUMENT: unexpected argument '%s'\n", a);
      return 2;
    }
  }
  if (!event) {
    emit_usage(stderr);
    return 2;
  }
  char *payload = cli_read_json_arg(payload_path);
  if (!payload) return 1;
  al_host *h = NULL;
  int status = cli_hooks_host(&o, &h);
  if (status) {
    free(payload);
    return status;
  }
  char *out = NULL;
  al_error err;
  int rc = al_emit(h, event, payload, &out, &err);
  if (rc == AL_EPLUGINS_DISABLED) {
    json_t *v = json_pack("{s:s,s:s,s:s,s:[]}", "event", event, "action", "continue", "disabled",
                          "AIRLOCK_DISABLE_PLUGINS is set", "results");
    out = json_dumps(v, JSON_INDENT(2));
    json_decref(v);
    rc = 0;
  }
  if (rc) {
    cli_print_error(&err);
    status = 1;
  } else {
    json_t *v = json_loads(out, 0, NULL);
    const char *action = json_string_value(json_object_get(v, "action"));
    char *pretty = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", pretty ? pretty : out);
    free(pretty);
    status = action && (!strcmp(action, "block") || !strcmp(action, "deny")) ? 2 : 0;
    json_decref(v);
  }
  free(out);
  free(payload);
  al_host_free(h);
  return status;
}

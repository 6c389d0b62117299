/*
 * cmd_serve.c: `airlock serve`: the workbench. Parses options and hands over to the
 * server (server/server.h); everything about sockets and the protocol lives there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../server/server.h"
#include "../server/tabs.h"
#include "commands.h"
#include "util.h"

static void serve_usage(FILE *out) {
  fprintf(out,
          "usage: airlock serve [options]\n"
          "  --port N             port to listen on (default 7777; 0: any free port)\n"
          "  --host ADDR          address to bind (default 127.0.0.1; loopback only unless\n"
          "                       --allow-remote)\n"
          "  --allow-remote       permit a non-loopback --host (prints a warning)\n"
          "  --no-open            do not open a browser\n"
          "  --home DIR           where editor tabs and the host database (pi.kv) are kept\n"
          "                       (default $AIRLOCK_HOME, else $XDG_DATA_HOME/airlock, else\n"
          "                       ~/.local/share/airlock)\n"
          "  --isolation MODE     process (default: sandboxed workers), thread or inline\n"
          "  --workers N          worker count (default: one per CPU)\n"
          "  --policy FILE        capability policy JSON (docs/security.md; default: deny what\n"
          "                       no manifest grants); \"ask\" prompts on the page\n"
          "Prints 'airlock serve: http://127.0.0.1:PORT/?token=...' once listening; the token\n"
          "is new on every run and required by the page's WebSocket. AIRLOCK_WEB_DIR=DIR\n"
          "serves the page from DIR instead of the copy built in (development).\n");
}

static int parse_uint(const char *flag, const char *v, long max, long *out) {
  char *end;
  long n = strtol(v, &end, 10);
  if (!*v || *end || n < 0 || n > max) {
    fprintf(stderr, "error: INVALID_ARGUMENT: %s takes a number from 0 to %ld, not '%s'\n", flag, max, v);
    return -1;
  }
  *out = n;
  return 0;
}

int cmd_serve(int argc, char **argv) {
  srv_config cfg = {.host = "127.0.0.1", .port = 7777, .open_browser = true,
                    .isolation = AL_ISOLATION_PROCESS};
  const char *home = NULL, *policy_file = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has_val = i + 1 < argc;
    long n;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      serve_usage(stdout);
      return 0;
    } else if (!strcmp(a, "--no-open")) cfg.open_browser = false;
    else if (!strcmp(a, "--allow-remote")) cfg.allow_remote = true;
    else if (!strcmp(a, "--port") && has_val) {
      if (parse_uint(a, argv[++i], 65535, &n)) return 2;
      cfg.port = (int)n;
    } else if (!strcmp(a, "--workers") && has_val) {
      if (parse_uint(a, argv[++i], 256, &n)) return 2;
      cfg.workers = (unsigned)n;
    } else if (!strcmp(a, "--host") && has_val) cfg.host = argv[++i];
    else if (!strcmp(a, "--home") && has_val) home = argv[++i];
    else if (!strcmp(a, "--policy") && has_val) policy_file = argv[++i];
    else if (!strcmp(a, "--isolation") && has_val) {
      if (cli_isolation(argv[++i], &cfg.isolation)) return 2;
    } else {
      fprintf(stderr, "error: INVALID_ARGUMENT: unknown or incomplete option '%s'\n", a);
      serve_usage(stderr);
      return 2;
    }
  }
  char buf[4096];
  if (!home && !(home = tabs_default_home(buf, sizeof buf)))
    fprintf(stderr, "airlock serve: no home directory (set --home or AIRLOCK_HOME); tabs are not kept\n");
  if (home && tabs_ensure_home(home)) {
    perror("airlock serve: cannot create the home directory; tabs are not kept");
    home = NULL;
  }
  cfg.home = home;
  const char *web = getenv("AIRLOCK_WEB_DIR");
  cfg.web_dir = web && *web ? web : NULL;
  char *policy = NULL;
  if (policy_file && !(policy = cli_read_json_arg(policy_file))) return 1;
  cfg.policy_json = policy;
  int status = srv_run(&cfg);
  free(policy);
  return status;
}

/*
 * cmd_tool.c: `airlock tool <name> [args.json | -]` calls a tool an enabled installed
 * package registered with pi.registerTool; `airlock tool --list` prints them all. The
 * packages are loaded the way `airlock emit` loads them (cli_hooks_host).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "util.h"

static void tool_usage(FILE *out) {
  fprintf(out,
          "usage: airlock tool <name> [args.json | -] [options]\n"
          "       airlock tool --list [options]\n"
          "  --home DIR              host database and packages (as for emit)\n"
          "  --isolation MODE        process (default), thread or inline\n"
          "  --policy FILE           capability policy JSON\n"
          "  --plugin DIR            also load the package in DIR (repeatable; not installed)\n"
          "  --no-prompt             deny what needs approval instead of asking on the terminal\n");
}

int cmd_tool(int argc, char **argv) {
  const char *name = NULL, *args_path = NULL;
  bool list = false;
  cli_hooks_opts o;
  cli_hooks_opts_init(&o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int taken;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      tool_usage(stdout);
      return 0;
    } else if (!strcmp(a, "--list")) list = true;
    else if ((taken = cli_hooks_opt(argc, argv, &i, &o))) {
      if (taken == 2) return 2;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "error: INVALID_ARGUMENT: unknown or incomplete option '%s'\n", a);
      tool_usage(stderr);
      return 2;
    } else if (!name) name = a;
    else if (!args_path) args_path = a;
    else {
      fprintf(stderr, "error: INVALID_ARGUMENT: unexpected argument '%s'\n", a);
      return 2;
    }
  }
  if (!list && !name) {
    tool_usage(stderr);
    return 2;
  }
  char *args = list ? NULL : cli_read_json_arg(args_path);
  if (!list && !args) return 1;
  al_host *h = NULL;
  int status = cli_hooks_host(&o, &h);
  if (status) {
    free(args);
    return status;
  }
  char *out = NULL;
  al_error err;
  int rc = list ? al_tools(h, &out, &err) : al_tool_call(h, name, args, &out, &err);
  if (rc) {
    cli_print_error(&err);
    status = 1;
  } else {
    json_t *v = json_loads(out, JSON_DECODE_ANY, NULL);
    char *pretty = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    printf("%s\n", pretty ? pretty : out);
    free(pretty);
    json_decref(v);
  }
  free(out);
  free(args);
  al_host_free(h);
  return status;
}

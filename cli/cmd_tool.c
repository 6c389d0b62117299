/*
 * cmd_tool.c: `airlock tool <name> [args.json | -]` calls a tool an enabled installed
 * package registered with pi.registerTool; `airlock tool --list` prints them all. The
 * packages are loaded the way `airlock emit` loads them (cli_hooks_host). Also `airlock
 * command <name> [args...]`, which runs a pi extension's command (pi.registerCommand).
 *
 * Exit status: 0; 1 when the tool threw (its message printed as {"error": ...}) or the
 * host failed; 2 for a usage error or a tool or command nobody registered, so a caller
 * can tell "no such tool" from "the tool failed".
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
          "  --plugin PATH           also load the package, pi extension or pi package in PATH\n"
          "                          (repeatable; not installed)\n"
          "  --cwd DIR, --flag N=V   ctx.cwd and pi.getFlag values for pi extensions\n"
          "  --no-prompt             deny what needs approval instead of asking on the terminal\n"
          "prints what the tool returned (a pi tool: {content, details, isError?, updates,\n"
          "intents}); exit 1 if it threw ({\"error\": message}), 2 for an unknown tool\n");
}

/* A tool's or command's failure: an unknown name is exit 2, anything else exit 1 with
 * {"error": message} on stdout (the tool's own words, for the caller to read). */
static int call_failed(const al_error *err, bool unknown) {
  if (unknown) {
    cli_print_error(err);
    return 2;
  }
  json_t *v = json_pack("{s:s,s:s}", "error", err->message, "code", al_err_name(err->code));
  char *t = v ? json_dumps(v, JSON_INDENT(2)) : NULL;
  if (t) printf("%s\n", t);
  free(t);
  json_decref(v);
  cli_print_error(err);
  return 1;
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
    /* al_tool_call answers INVALID_ARGUMENT "no tool named ..." for a name nobody has */
    status = list ? (cli_print_error(&err), 1)
                  : call_failed(&err, rc == AL_EINVALID_ARGUMENT && strstr(err.message, "no tool named"));
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

static void command_usage(FILE *out) {
  fprintf(out,
          "usage: airlock command <name> [args...] --plugin PATH ... [options]\n"
          "  runs the pi command <name> (pi.registerCommand) with its arguments joined by\n"
          "  spaces, as pi passes them; prints {command, intents, errors}; exit 2 for an\n"
          "  unknown command. Options as for `airlock tool`.\n");
}

int cmd_command(int argc, char **argv) {
  const char *name = NULL;
  cli_hooks_opts o;
  cli_hooks_opts_init(&o);
  size_t cap = 1;
  for (int i = 1; i < argc; i++) cap += strlen(argv[i]) + 1;
  char *text = calloc(1, cap);
  if (!text) return 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int taken;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      command_usage(stdout);
      free(text);
      return 0;
    } else if ((taken = cli_hooks_opt(argc, argv, &i, &o))) {
      if (taken == 2) {
        free(text);
        return 2;
      }
    } else if (!name) {
      name = a;
    } else {
      if (*text) strcat(text, " ");
      strcat(text, a);
    }
  }
  if (!name) {
    command_usage(stderr);
    free(text);
    return 2;
  }
  if (name[0] == '/') name++; /* "/todo" as typed in pi */
  al_host *h = NULL;
  int status = cli_hooks_host(&o, &h);
  if (status) {
    free(text);
    return status;
  }
  char *out = NULL;
  al_error err;
  int rc = al_command_call(h, name, text, &out, &err);
  if (rc) {
    status = rc == AL_EINVALID_ARGUMENT && strstr(err.message, "no command named") ? 2 : 1;
    cli_print_error(&err);
  } else {
    json_t *v = json_loads(out, 0, NULL);
    char *pretty = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", pretty ? pretty : out);
    free(pretty);
    json_decref(v);
  }
  free(out);
  free(text);
  al_host_free(h);
  return status;
}

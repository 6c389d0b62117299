/* main.c: the `airlock` command: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "airlock.h"
#include "commands.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: airlock <command> [options]\n"
          "\n"
          "commands:\n"
          "  run <plugin.js> [--package ID] [--grant read:DOMAIN|write:DOMAIN]...\n"
          "      [--state JSON] [--event WIDGET:HANDLER[:ARGS_JSON]]... [--json] [--trace]\n"
          "                       load a plugin, apply events, render every widget\n"
          "  check <plugin.js | package-dir> [--package ID] [--isolation MODE] [--json]\n"
          "                       preflight, load and render every widget; report every error\n"
          "  conform [--isolation MODE] <cases.json>...\n"
          "                       run conformance cases; closes with 'N passed, N failed'\n"
          "                       (MODE: thread, inline or process; also for run)\n"
          "  emit <event> [payload.json | -] [--home DIR] [--isolation MODE]\n"
          "                       run the installed plugins' handlers for one event; print the\n"
          "                       aggregate as JSON; exit 2 on block or deny\n"
          "  emit --protocol claude-code|gemini-cli [- | input.json] [--fail-open]\n"
          "                       a coding agent's command hook: its input on stdin, its answer\n"
          "                       in its own terms; Airlock failures block (docs/agents.md)\n"
          "  hooks install|remove --claude-code|--gemini-cli [--project DIR | --user] [--dry-run]\n"
          "                       write Airlock's hook entries into the agent's settings.json\n"
          "  tool <name> [args.json | -] | tool --list\n"
          "                       call a tool a plugin registered, or list them\n"
          "  command <name> [args...]\n"
          "                       run a command a pi extension registered (docs/pi-extensions.md)\n"
          "  plugin install|list|info|enable|disable|remove|config|audit|doctor [--home DIR]\n"
          "                       manage installed plugin packages (airlock plugin --help)\n"
          "  doctor [--json]      which sandbox layers workers get here; is process isolation working\n"
          "  serve [--port N] [--host ADDR] [--no-open] [--home DIR] [--isolation MODE]\n"
          "                       the workbench: prints its URL (with a per-run token)\n"
          "  version              print the version\n"
          "\n"
          "Run 'airlock <command> --help' for a command's options.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
  if (!strcmp(cmd, "check")) return cmd_check(argc - 1, argv + 1);
  if (!strcmp(cmd, "conform")) return cmd_conform(argc - 1, argv + 1);
  if (!strcmp(cmd, "doctor")) return cmd_doctor(argc - 1, argv + 1);
  if (!strcmp(cmd, "emit")) return cmd_emit(argc - 1, argv + 1);
  if (!strcmp(cmd, "tool")) return cmd_tool(argc - 1, argv + 1);
  if (!strcmp(cmd, "command")) return cmd_command(argc - 1, argv + 1);
  if (!strcmp(cmd, "plugin")) return cmd_plugin(argc - 1, argv + 1);
  if (!strcmp(cmd, "hooks")) return cmd_hooks(argc - 1, argv + 1);
  if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("airlock %s\n", al_version());
    return 0;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "error: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}

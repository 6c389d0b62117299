/* commands.h: one entry point per subcommand; each returns the process exit status. */
#ifndef AL_CLI_COMMANDS_H
#define AL_CLI_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_conform(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_emit(int argc, char **argv);
int cmd_tool(int argc, char **argv);
int cmd_plugin(int argc, char **argv);
int cmd_hooks(int argc, char **argv);
int cmd_command(int argc, char **argv);

/* Shared by emit and tool (cmd_emit.c). */
#include <stdbool.h>

#include "airlock.h"
/* $AIRLOCK_HOME, else $XDG_DATA_HOME/airlock, else ~/.local/share/airlock, into buf. */
const char *cli_default_home(char *buf, size_t cap);
/* A JSON argument read from a file, or stdin for "-"; NULL path: "{}". malloc()ed; NULL
 * (after printing why) when it cannot be read. */
char *cli_read_json_arg(const char *path);
/* The options emit, tool and command share: --home DIR, --policy FILE, --plugin PATH
 * (repeatable: a package directory, a pi extension file or a pi package), --isolation
 * MODE, --workers N, --no-prompt, and for pi extensions --cwd DIR and --flag name=value
 * (repeatable). */
typedef struct cli_hooks_opts {
  const char *home, *policy_file;
  const char *dirs[64];
  int ndirs;
  al_isolation iso; /* default AL_ISOLATION_PROCESS */
  bool no_prompt;   /* --no-prompt: never ask on the terminal */
  unsigned workers; /* --workers N; 0: the library's default (one per CPU) */
  int protocol;     /* an ap_protocol (agent_proto.h): its event profile is declared
                       before any package loads; 0: Airlock's own */
  const char *cwd;  /* --cwd DIR: ctx.cwd of pi extensions' calls (default: ours) */
  const char *flags[64]; /* --flag name=value: pi.getFlag's values */
  bool ui;          /* --ui: pi extensions' ctx.hasUI, their ui prompts asked on the terminal */
  int nflags;
} cli_hooks_opts;
void cli_hooks_opts_init(cli_hooks_opts *o);
/* Takes argv[*i] (and its value, advancing *i) when it is one of those options. Returns
 * 1 when taken, 0 when it is not one of them, 2 after printing a usage error. */
int cli_hooks_opt(int argc, char **argv, int *i, cli_hooks_opts *o);
/* A host over o->home (default: cli_default_home) with every enabled installed package
 * loaded, then the packages in o->dirs (failures are warnings on stderr). Returns 0 with
 * *out set (al_host_free), or 1 after printing the error. */
int cli_hooks_host(const cli_hooks_opts *o, al_host **out);
/* The same, for callers that answer failures themselves (an agent's hook): nothing is
 * printed but the load warnings; `failure` (cap bytes, may be NULL) receives why the host
 * could not be made (return 1), or, with a 0 return, why a package did not load ("" when
 * every one did). */
int cli_hooks_host_report(const cli_hooks_opts *o, al_host **out, char *failure, size_t cap);

#endif

/*
 * exec_run.h: running a command for a plugin, outside the worker sandbox, as the `exec`
 * capability allows (docs/pi-extensions.md): argv only, never a shell of the host's
 * choosing (a plugin that wants one asks for `sh -c ...`, which its grant must name), a
 * deadline after which the process group is killed, capped output, and a checked working
 * directory.
 *
 * Threading: any thread; each call forks its own child and waits for it alone.
 */
#ifndef AL_HOOKS_EXEC_RUN_H
#define AL_HOOKS_EXEC_RUN_H

#include "common.h"

#define HK_EXEC_MAX_ARGS 256
#define HK_EXEC_MAX_OUTPUT ((size_t)1 << 20) /* per stream; the rest is dropped */
#define HK_EXEC_DEFAULT_MS 30000u

/* Runs `argv[0]` (looked up in PATH) with argv (NULL-terminated, borrowed) in directory
 * `cwd` (NULL: the host's), with the host's environment and an empty stdin, for at most
 * timeout_ms (0: HK_EXEC_DEFAULT_MS).
 * *result = {stdout, stderr, code, killed} (new reference): code is the exit status, or
 * 128 + the signal's number; killed is true when the deadline killed it; output that is
 * not UTF-8 has its bad bytes replaced by U+FFFD. Errors: AL_EINVALID_ARGUMENT (cwd is not
 * a directory), AL_EIO (the command could not be started: its errno's text), AL_ENO_MEMORY. */
int hk_exec_run(char *const *argv, const char *cwd, uint32_t timeout_ms,
                json_t **result, al_error *err);

#endif

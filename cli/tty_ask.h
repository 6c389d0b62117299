/*
 * tty_ask.h: questions for the person at the controlling terminal, for the CLI's hosts
 * (`airlock emit`, `airlock tool`, `airlock command`): what a policy says needs approval
 * (yes / no), and a pi extension's ctx.ui questions under --ui (yes / no, or a text:
 * select, input, editor). Everything goes to and comes from /dev/tty, never stdin or
 * stdout, which carry the JSON payload and result; without a terminal every question is
 * answered no (or dismissed), as for any headless host.
 */
#ifndef AL_CLI_TTY_ASK_H
#define AL_CLI_TTY_ASK_H

#include "airlock.h"

/* al_config.ask: answers inside the call, on the terminal: a text question (action
 * "ui.select", "ui.input", "ui.editor"; airlock.h al_approval_answer_text) with a text,
 * any other with yes/no. Questions from several host threads wait for each other (a
 * process-wide lock), so prompts never interleave. Any host thread. */
void cli_tty_ask(void *user, al_approval *q, const char *plugin_id, const char *action, const char *resource);

#endif

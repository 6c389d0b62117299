/*
 * agent_proto.h: the hook protocols of coding agents that run `airlock emit` as a command
 * hook (Claude Code, Gemini CLI), translated onto Airlock's agent profile and back.
 *
 * One agent event maps to at most one Airlock event. Each mapping says how the agent's
 * input becomes the Airlock payload, which results the agent can act on (a block, a
 * permission decision, a rewritten input, added context), and what a block becomes in
 * the agent's vocabulary (exit 2 with the reason on stderr, a top-level `decision`, a
 * permission decision, or `continue: false`). Under a protocol the host's event
 * declarations are widened to what the agent allows (a Claude Code Stop may be blocked,
 * SessionStart may add context), so a plugin's answer that the agent can honour is not
 * dropped as "not allowed for this event".
 *
 * Fail closed: for events where the agent lets a hook stop an action (a tool call, a
 * permission, a prompt), an Airlock failure answers the way a block does, naming the
 * failure; elsewhere, and with fail_open, it is the agent's non-blocking error (exit 1).
 *
 * Threading: pure functions over jansson values and a caller's host; one thread.
 */
#ifndef AL_CLI_AGENT_PROTO_H
#define AL_CLI_AGENT_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "airlock.h"

typedef enum { AP_NONE = 0, AP_CLAUDE_CODE, AP_GEMINI_CLI } ap_protocol;

/* What a block (or a deny) becomes in the agent. */
typedef enum {
  AP_BLOCK_EXIT2,      /* exit 2, reason on stderr */
  AP_BLOCK_DECISION,   /* {"decision": "block"|"deny", "reason"} on stdout */
  AP_BLOCK_PERMISSION, /* Claude's PermissionRequest: hookSpecificOutput.decision.behavior */
  AP_BLOCK_STOP,       /* {"continue": false, "stopReason"}: the agent stops */
  AP_BLOCK_NONE        /* the event cannot be blocked at all */
} ap_block;

typedef struct ap_event {
  const char *agent;     /* the agent's event name (hook_event_name) */
  const char *airlock;   /* the Airlock event it is emitted as */
  unsigned flags;        /* AL_HOOK_* for the Airlock event under this protocol */
  const char *modifies;  /* al_hook_def.modifies_json under this protocol (NULL: none) */
  unsigned timeout_ms;   /* per handler under this protocol */
  ap_block block;        /* what a block becomes */
  bool fail_closed;      /* an Airlock failure blocks (the agent lets a hook stop this) */
  bool context;          /* hookSpecificOutput.additionalContext is read for this event */
  bool matcher;          /* the agent filters this event with a matcher ("*": all) */
} ap_event;

/* "claude-code" / "gemini-cli" -> protocol; AP_NONE for anything else. */
ap_protocol ap_protocol_named(const char *name);
const char *ap_protocol_name(ap_protocol p);

/* The protocol whose events include `agent_event` (Claude Code first: the names the two
 * share, SessionStart and Notification, are read the Claude Code way); AP_NONE if none. */
ap_protocol ap_detect(const char *agent_event);

/* The mapping of `agent_event` under `p`; NULL when the agent's event has no Airlock
 * counterpart (the answer is then "no opinion": exit 0, nothing printed). Static. */
const ap_event *ap_event_find(ap_protocol p, const char *agent_event);

/* The mappings of `p`, *n of them; static storage. */
const ap_event *ap_events(ap_protocol p, size_t *n);

/* Declares every mapped Airlock event with the protocol's flags (al_hook_register), so
 * plugins loaded afterwards answer as the agent allows. Returns 0 or an AL_E* code. */
int ap_register_profile(al_host *h, ap_protocol p, al_error *err);

/* The Airlock payload for the agent's `input` (borrowed): a copy of every field the agent
 * sent, plus the Airlock names for the ones it calls differently (prompt -> content,
 * tool_response -> tool_output, ...) and `agent`. New reference; NULL when out of memory. */
json_t *ap_payload(ap_protocol p, const ap_event *ev, const json_t *input);

/* Writes the agent's answer for the aggregate `agg` (borrowed; al_emit's result) to `out`
 * (JSON, or nothing) and `err` (a block's reason), and returns the exit status.
 * `input` is what the agent sent (to see what the plugins changed). `failure`, when not
 * NULL, is an Airlock failure found beside the aggregate (a package that did not load):
 * it is answered as by ap_fail, unless the aggregate blocks anyway. */
int ap_answer(ap_protocol p, const ap_event *ev, const json_t *input, const json_t *agg,
              const char *failure, bool fail_open, FILE *out, FILE *err);

/* The answer when Airlock itself failed (`why` names the failure): exit 2 with the reason
 * on stderr for a fail-closed event (ev NULL: an unknown event, so fail closed too),
 * unless fail_open; else exit 1 with the reason on stderr (the agent's non-blocking error). */
int ap_fail(ap_protocol p, const ap_event *ev, const char *why, bool fail_open, FILE *err);

#endif

/*
 * agent_proto.c: the Claude Code and Gemini CLI hook protocols (see agent_proto.h).
 *
 * The tables below are the whole mapping; the code only reads them. The facts behind them
 * are the agents' public hook references: Claude Code's (common input fields, exit code 2
 * per event, top-level `decision` for UserPromptSubmit / PostToolUse / Stop,
 * hookSpecificOutput for PreToolUse's permissionDecision and PermissionRequest's
 * decision.behavior, additionalContext, continue / stopReason / systemMessage) and Gemini
 * CLI's (BeforeTool / AfterTool / BeforeAgent / AfterAgent, `decision: "deny"`,
 * hookSpecificOutput.tool_input and additionalContext, exit 2 = block with stderr).
 *
 * Two choices the references leave to us, made for a security layer:
 * - A plugin's rewrite of a Claude Code tool input is answered with permissionDecision
 *   "ask" (never "allow"), so the person sees and confirms the rewritten call: a
 *   sandboxed plugin must not gain a way to run a command of its choosing unprompted.
 * - Fail closed covers the events whose block stops an action (tool call, permission,
 *   prompt). A failing Stop or TaskCompleted hook does not block: blocking those makes
 *   the agent keep working, which is the opposite of closed, and could loop.
 */
#include <string.h>

#include "agent_proto.h"
#include "airlock_pkg.h"

enum { B = AL_HOOK_MAY_BLOCK, M = AL_HOOK_MAY_MODIFY, P = AL_HOOK_PERMISSION };
#define ASP "\"additional_system_prompt\":\"+additional_system_prompt\""
#define INFO_MS 500u
#define ACT_MS 5000u
#define PERM_MS 3600000u

/* Claude Code: every event of its reference that Airlock's agent profile has a
 * counterpart for. SubagentStart/Stop, TeammateIdle, ConfigChange, InstructionsLoaded and
 * the Worktree events have none: they answer "no opinion" and are never installed. */
static const ap_event claude_events[] = {
    {"PreToolUse", "PreToolUse", B | M | P, "{\"modified_input\":\"tool_input\"," ASP "}", ACT_MS,
     AP_BLOCK_EXIT2, true, true, true},
    {"PermissionRequest", "PermissionRequest", P, "{\"message\":\"+messages\"}", PERM_MS,
     AP_BLOCK_PERMISSION, true, false, true},
    {"PostToolUse", "PostToolUse", B | M, "{\"modified_output\":\"tool_output\"," ASP "}", ACT_MS,
     AP_BLOCK_DECISION, false, true, true},
    {"PostToolUseFailure", "PostToolUseFailure", M, "{" ASP "}", ACT_MS, AP_BLOCK_NONE, false, true,
     true},
    {"UserPromptSubmit", "UserPromptSubmit", B | M, "{\"modified_prompt\":\"content\"," ASP "}",
     ACT_MS, AP_BLOCK_DECISION, true, true, false},
    {"Stop", "Stop", B | M, "{\"reason\":\"reason\"}", ACT_MS, AP_BLOCK_DECISION, false, false, false},
    {"SessionStart", "SessionStart", B | M, "{" ASP "}", ACT_MS, AP_BLOCK_STOP, false, true, true},
    {"SessionEnd", "SessionEnd", 0, NULL, INFO_MS, AP_BLOCK_NONE, false, false, true},
    {"Notification", "Notification", B | M,
     "{\"suppress\":\"suppress\",\"modified_message\":\"message\"," ASP "}", ACT_MS, AP_BLOCK_STOP,
     false, true, true},
    {"PreCompact", "PreCompact", M,
     "{\"system_prompt\":\"system_prompt\",\"instructions\":\"instructions\",\"prevent\":\"prevent\"}",
     ACT_MS, AP_BLOCK_NONE, false, false, true},
    {"TaskCompleted", "TaskCompleted", B, NULL, ACT_MS, AP_BLOCK_EXIT2, false, false, false},
};

/* Gemini CLI: its tool, agent and lifecycle hooks. BeforeModel, AfterModel and
 * BeforeToolSelection work on LLM requests, which Airlock's profile has no event for. */
static const ap_event gemini_events[] = {
    {"BeforeTool", "PreToolUse", B | M, "{\"modified_input\":\"tool_input\"}", ACT_MS, AP_BLOCK_EXIT2,
     true, false, true},
    {"AfterTool", "PostToolUse", B | M, "{\"modified_output\":\"tool_output\"," ASP "}", ACT_MS,
     AP_BLOCK_DECISION, false, true, true},
    {"BeforeAgent", "UserPromptSubmit", B | M, "{\"modified_prompt\":\"content\"," ASP "}", ACT_MS,
     AP_BLOCK_DECISION, true, true, false},
    {"AfterAgent", "Stop", B | M, "{\"reason\":\"reason\"}", ACT_MS, AP_BLOCK_DECISION, false, false,
     false},
    {"SessionStart", "SessionStart", M, "{" ASP "}", ACT_MS, AP_BLOCK_NONE, false, true, false},
    {"SessionEnd", "SessionEnd", 0, NULL, INFO_MS, AP_BLOCK_NONE, false, false, false},
    {"Notification", "Notification", M, "{\"suppress\":\"suppress\",\"modified_message\":\"message\"}",
     ACT_MS, AP_BLOCK_NONE, false, false, false},
    {"PreCompress", "PreCompact", M,
     "{\"system_prompt\":\"system_prompt\",\"instructions\":\"instructions\",\"prevent\":\"prevent\"}",
     ACT_MS, AP_BLOCK_NONE, false, false, false},
};

ap_protocol ap_protocol_named(const char *name) {
  if (!name) return AP_NONE;
  if (!strcmp(name, "claude-code")) return AP_CLAUDE_CODE;
  if (!strcmp(name, "gemini-cli")) return AP_GEMINI_CLI;
  return AP_NONE;
}

const char *ap_protocol_name(ap_protocol p) {
  return p == AP_CLAUDE_CODE ? "claude-code" : p == AP_GEMINI_CLI ? "gemini-cli" : "airlock";
}

const ap_event *ap_events(ap_protocol p, size_t *n) {
  if (p == AP_CLAUDE_CODE) {
    *n = sizeof claude_events / sizeof claude_events[0];
    return claude_events;
  }
  if (p == AP_GEMINI_CLI) {
    *n = sizeof gemini_events / sizeof gemini_events[0];
    return gemini_events;
  }
  *n = 0;
  return NULL;
}

const ap_event *ap_event_find(ap_protocol p, const char *agent_event) {
  size_t n;
  const ap_event *t = ap_events(p, &n);
  for (size_t i = 0; agent_event && i < n; i++)
    if (!strcmp(t[i].agent, agent_event)) return &t[i];
  return NULL;
}

/* Claude Code's events without an Airlock counterpart still say "this is Claude Code". */
static const char *const claude_unmapped[] = {"SubagentStart", "SubagentStop", "TeammateIdle",
                                              "ConfigChange", "InstructionsLoaded",
                                              "WorktreeCreate", "WorktreeRemove"};
static const char *const gemini_unmapped[] = {"BeforeModel", "AfterModel", "BeforeToolSelection"};

ap_protocol ap_detect(const char *agent_event) {
  if (!agent_event) return AP_NONE;
  if (ap_event_find(AP_CLAUDE_CODE, agent_event)) return AP_CLAUDE_CODE;
  for (size_t i = 0; i < sizeof claude_unmapped / sizeof *claude_unmapped; i++)
    if (!strcmp(claude_unmapped[i], agent_event)) return AP_CLAUDE_CODE;
  if (ap_event_find(AP_GEMINI_CLI, agent_event)) return AP_GEMINI_CLI;
  for (size_t i = 0; i < sizeof gemini_unmapped / sizeof *gemini_unmapped; i++)
    if (!strcmp(gemini_unmapped[i], agent_event)) return AP_GEMINI_CLI;
  return AP_NONE;
}

int ap_register_profile(al_host *h, ap_protocol p, al_error *err) {
  size_t n;
  const ap_event *t = ap_events(p, &n);
  for (size_t i = 0; i < n; i++) {
    /* Two agent events never share an Airlock event within one protocol, so each
     * declaration is made once. */
    al_hook_def d = {.name = t[i].airlock, .timeout_ms = t[i].timeout_ms, .flags = t[i].flags,
                     .modifies_json = t[i].modifies};
    int rc = al_hook_register(h, &d, err);
    if (rc) return rc;
  }
  return 0;
}

/* ---- input ---------------------------------------------------------------------------- */

static void set_if_absent(json_t *o, const char *k, json_t *v) {
  if (!v) return;
  if (!json_object_get(o, k)) json_object_set(o, k, v);
}

/* A one-line summary of what a tool call touches: its command, path, URL or query. */
static json_t *tool_target(const json_t *input) {
  static const char *const keys[] = {"command", "file_path", "path", "url", "pattern", "query",
                                     "notebook_path", "absolute_path"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    json_t *v = json_object_get(input, keys[i]);
    if (json_is_string(v)) return v;
  }
  return NULL;
}

json_t *ap_payload(ap_protocol p, const ap_event *ev, const json_t *input) {
  json_t *pl = json_deep_copy(input);
  if (!pl) return NULL;
  json_object_set_new(pl, "agent", json_string(ap_protocol_name(p)));
  const char *a = ev->airlock;
  if (!strcmp(a, "PostToolUse")) {
    set_if_absent(pl, "tool_output", json_object_get(input, "tool_response"));
    if (!json_object_get(pl, "success")) json_object_set_new(pl, "success", json_true());
  } else if (!strcmp(a, "UserPromptSubmit")) {
    set_if_absent(pl, "content", json_object_get(input, "prompt"));
  } else if (!strcmp(a, "SessionStart")) {
    set_if_absent(pl, "project_dir", json_object_get(input, "cwd"));
    if (p == AP_CLAUDE_CODE && !json_object_get(pl, "provider"))
      json_object_set_new(pl, "provider", json_string("anthropic"));
    if (p == AP_GEMINI_CLI && !json_object_get(pl, "provider"))
      json_object_set_new(pl, "provider", json_string("google"));
  } else if (!strcmp(a, "Notification")) {
    if (!json_object_get(pl, "level")) json_object_set_new(pl, "level", json_string("info"));
  } else if (!strcmp(a, "PreCompact")) {
    set_if_absent(pl, "instructions", json_object_get(input, "custom_instructions"));
  } else if (!strcmp(a, "PermissionRequest")) {
    if (!json_object_get(pl, "action")) json_object_set_new(pl, "action", json_string("use_tool"));
    set_if_absent(pl, "target", tool_target(json_object_get(input, "tool_input")));
  } else if (!strcmp(a, "TaskCompleted")) {
    set_if_absent(pl, "subject", json_object_get(input, "task_subject"));
  } else if (!strcmp(a, "Stop") && p == AP_GEMINI_CLI) {
    set_if_absent(pl, "content", json_object_get(input, "prompt_response"));
  }
  return pl;
}

/* ---- answers -------------------------------------------------------------------------- */

static const char *str_of(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

/* Appends "text" to the notices (a "; "-joined systemMessage). */
static void notice(json_t *notices, const char *fmt, const char *a, const char *b) {
  json_array_append_new(notices, json_sprintf(fmt, a ? a : "", b ? b : ""));
}

static char *join(const json_t *arr, const char *sep) {
  size_t total = 1, i;
  json_t *v;
  json_array_foreach(arr, i, v) total += strlen(json_string_value(v) ? json_string_value(v) : "") + strlen(sep);
  char *s = calloc(1, total);
  if (!s) return NULL;
  json_array_foreach(arr, i, v) {
    if (i) strcat(s, sep);
    strcat(s, json_string_value(v) ? json_string_value(v) : "");
  }
  return s;
}

/* The plugin ids of results whose output has `field`, "a, b". */
static json_t *who_output(const json_t *results, const char *field) {
  json_t *ids = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(results, i, r) if (json_object_get(json_object_get(r, "output"), field))
      json_array_append_new(ids, json_sprintf("'%s'", str_of(r, "pluginId") ? str_of(r, "pluginId") : "?"));
  return ids;
}

int ap_fail(ap_protocol p, const ap_event *ev, const char *why, bool fail_open, FILE *err) {
  bool closed = (!ev || ev->fail_closed) && !fail_open;
  /* Text, not JSON: the agent passes it on and shows it, often on a terminal, and `why`
   * may quote a plugin (what it threw), so it is escaped (al_term_fputs, airlock_pkg.h). */
  fprintf(err, "airlock (%s hook): ", ap_protocol_name(p));
  al_term_fputs(why ? why : "failed", 1, err);
  fprintf(err, "; %s\n", closed ? "blocked because Airlock fails closed (--fail-open lets it through)" : "not blocking");
  return closed ? 2 : 1;
}

/* The block's reason as the agent shows it: the plugin's own words, attributed. */
static json_t *block_reason(const json_t *agg) {
  const char *reason = str_of(agg, "reason"), *action = str_of(agg, "action"), *plugin = NULL;
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(agg, "results"), i, r) {
    if (action && str_of(r, "action") && !strcmp(str_of(r, "action"), action)) {
      plugin = str_of(r, "pluginId");
      break;
    }
  }
  if (!plugin) return json_sprintf("Blocked by Airlock: %s", reason ? reason : "no reason given");
  return reason ? json_sprintf("Blocked by Airlock plugin '%s': %s", plugin, reason)
                : json_sprintf("Blocked by Airlock plugin '%s'", plugin);
}

/* Scans the results: notices for handlers that failed or asked for what the event does
 * not allow, and a failure when no handler answered at all or a worker crashed. */
static char *scan_results(const json_t *results, json_t *notices) {
  size_t i, errors = 0, n = json_array_size(results);
  json_t *r;
  const char *first = NULL, *crash = NULL;
  json_array_foreach(results, i, r) {
    const char *a = str_of(r, "action"), *why = str_of(r, "reason"), *pid = str_of(r, "pluginId");
    if (a && !strcmp(a, "error")) {
      errors++;
      if (!first) first = why;
      if (why && !strncmp(why, "PLUGIN_CRASHED", 14) && !crash) crash = why;
      notice(notices, "Airlock plugin '%s' failed: %s", pid, why);
    } else if (str_of(r, "ignored")) {
      notice(notices, "Airlock plugin '%s': %s", pid, str_of(r, "ignored"));
    }
  }
  json_t *f = NULL;
  if (crash) f = json_sprintf("a plugin's worker crashed (%s)", crash);
  else if (n && errors == n) f = json_sprintf("every handler failed (%s)", first ? first : "error");
  char *s = f ? strdup(json_string_value(f)) : NULL;
  json_decref(f);
  return s;
}

static void put_context(const json_t *agg, json_t *hso) {
  json_t *asp = json_object_get(agg, "additional_system_prompt");
  if (!json_array_size(asp)) return;
  json_t *parts = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(asp, i, v) {
    if (json_is_string(v)) json_array_append(parts, v);
    else {
      char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
      if (s) json_array_append_new(parts, json_string(s));
      free(s);
    }
  }
  char *ctx = join(parts, "\n");
  if (ctx) json_object_set_new(hso, "additionalContext", json_string(ctx));
  free(ctx);
  json_decref(parts);
}

static int print_json(json_t *o, FILE *out) {
  char *s = json_dumps(o, JSON_COMPACT);
  if (s) fprintf(out, "%s\n", s);
  free(s);
  return 0;
}

int ap_answer(ap_protocol p, const ap_event *ev, const json_t *input, const json_t *agg,
              const char *failure, bool fail_open, FILE *out, FILE *err) {
  const char *action = str_of(agg, "action");
  const json_t *payload = json_object_get(agg, "payload"), *results = json_object_get(agg, "results");
  bool claude = p == AP_CLAUDE_CODE;
  json_t *notices = json_array();
  char *found = scan_results(results, notices);
  bool blocked = action && (!strcmp(action, "block") || !strcmp(action, "deny"));
  int status = 0;
  json_t *o = json_object(), *hso = json_pack("{s:s}", "hookEventName", ev->agent);

  if (blocked && ev->block != AP_BLOCK_NONE) {
    json_t *why = block_reason(agg);
    switch (ev->block) {
      case AP_BLOCK_EXIT2:
        /* stderr text the agent shows: the plugin's reason escaped as in ap_fail (the
         * JSON answers below are the agent's to decode and stay byte-exact) */
        al_term_fputs(json_string_value(why), 1, err);
        fputc('\n', err);
        status = 2;
        break;
      case AP_BLOCK_DECISION:
        json_object_set_new(o, "decision", json_string(claude ? "block" : "deny"));
        json_object_set(o, "reason", why);
        break;
      case AP_BLOCK_PERMISSION:
        json_object_set_new(hso, "decision", json_pack("{s:s,s:O}", "behavior", "deny", "message", why));
        json_object_set(o, "hookSpecificOutput", hso);
        break;
      case AP_BLOCK_STOP:
        json_object_set_new(o, "continue", json_false());
        json_object_set(o, "stopReason", why);
        break;
      case AP_BLOCK_NONE: break;
    }
    json_decref(why);
    goto answer;
  }
  if (failure || found) {
    status = ap_fail(p, ev, failure ? failure : found, fail_open, err);
    goto done;
  }

  const char *a = ev->airlock;
  if (!strcmp(a, "PreToolUse")) {
    const json_t *orig = json_object_get(input, "tool_input"), *now = json_object_get(payload, "tool_input");
    bool rewritten = now && !(orig && json_equal((json_t *)orig, (json_t *)now));
    const char *decision = action && (!strcmp(action, "ask") || !strcmp(action, "allow")) ? action : NULL;
    if (rewritten && claude) {
      /* Shown to the person, who confirms the rewritten call (see the file comment). */
      json_t *ids = who_output(results, "modified_input");
      char *names = join(ids, ", ");
      json_object_set_new(hso, "permissionDecision", json_string("ask"));
      json_object_set_new(hso, "permissionDecisionReason",
                          json_sprintf("Airlock plugin %s rewrote this %s call%s%s", names ? names : "",
                                       str_of(input, "tool_name") ? str_of(input, "tool_name") : "tool",
                                       decision && str_of(agg, "reason") ? ": " : "",
                                       decision && str_of(agg, "reason") ? str_of(agg, "reason") : ""));
      json_object_set(hso, "updatedInput", (json_t *)now);
      free(names);
      json_decref(ids);
    } else if (rewritten) {
      json_object_set(hso, "tool_input", (json_t *)now); /* Gemini merges it over the original */
    } else if (decision && claude) {
      json_object_set_new(hso, "permissionDecision", json_string(decision));
      if (str_of(agg, "reason")) json_object_set_new(hso, "permissionDecisionReason", json_string(str_of(agg, "reason")));
    }
  } else if (!strcmp(a, "PermissionRequest") && claude) {
    if (action && !strcmp(action, "allow"))
      json_object_set_new(hso, "decision", json_pack("{s:s}", "behavior", "allow"));
    else if (action && !strcmp(action, "ask") && str_of(agg, "reason"))
      notice(notices, "Airlock: %s%s", str_of(agg, "reason"), NULL);
  } else if (!strcmp(a, "PostToolUse")) {
    const json_t *orig = json_object_get(input, "tool_response"), *now = json_object_get(payload, "tool_output");
    if (now && !(orig && json_equal((json_t *)orig, (json_t *)now))) {
      const char *tool = str_of(input, "tool_name") ? str_of(input, "tool_name") : "";
      if (!claude) {
        /* Gemini CLI takes the replacement as text. */
        char *txt = json_is_string(now) ? NULL : json_dumps(now, JSON_ENCODE_ANY | JSON_COMPACT);
        json_object_set_new(hso, "tool_output", json_string(txt ? txt : json_string_value(now)));
        free(txt);
      }
      else if (!strncmp(tool, "mcp__", 5)) json_object_set(hso, "updatedMCPToolOutput", (json_t *)now);
      else
        notice(notices, "Airlock: a plugin replaced the output of %s, but Claude Code replaces only an MCP tool's output%s", tool, "");
    }
  } else if (!strcmp(a, "UserPromptSubmit")) {
    const json_t *orig = json_object_get(input, "prompt"), *now = json_object_get(payload, "content");
    if (now && !(orig && json_equal((json_t *)orig, (json_t *)now)))
      notice(notices, "Airlock: a plugin rewrote the prompt, but %s cannot replace a prompt%s",
             claude ? "Claude Code" : "Gemini CLI", "");
  } else if (!strcmp(a, "PreCompact")) {
    if (json_is_true(json_object_get(payload, "prevent")))
      notice(notices, "Airlock: a plugin asked to prevent compaction, which %s hooks cannot do%s",
             claude ? "Claude Code" : "Gemini CLI", "");
  }
  if (ev->context) put_context(agg, hso);

answer:
  if (json_object_size(hso) > 1 && !json_object_get(o, "hookSpecificOutput")) json_object_set(o, "hookSpecificOutput", hso);
  if (json_array_size(notices)) {
    char *msg = join(notices, "; ");
    if (msg) json_object_set_new(o, "systemMessage", json_string(msg));
    free(msg);
  }
  /* Exit 2 makes the agent ignore stdout, so nothing is printed with it. */
  if (status == 0 && json_object_size(o)) print_json(o, out);
done:
  free(found);
  json_decref(o);
  json_decref(hso);
  json_decref(notices);
  return status;
}

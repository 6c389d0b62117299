/*
 * capability.h: the host's policy and the 5-step decision chain every hostcall passes
 * (hooks-and-security.md sec. 4).
 *
 * A decision is a pure function of (policy, switches, plugin, manifest capabilities,
 * action, resource): no state, no I/O except canonicalising a path, no approval prompt.
 * It answers ALLOWED, DENIED or ASK; turning ASK into an answer (the host's approve
 * callback, or deny when there is none) and recording the outcome in the audit trail are
 * the caller's job, so this file stays testable as a table.
 *
 *   -  force_deny (AIRLOCK_FORCE_DENY)        -> denied  "Denied by AIRLOCK_FORCE_DENY"
 *   0. mode none                              -> denied  "Plugin mode is 'none'"
 *   1. plugin deny set matches                -> denied  "Denied by plugin deny list"
 *   2. global deny set matches                -> denied  "Denied by global policy"
 *   3. plugin allow set matches               -> allowed "Allowed by plugin allow list"
 *      (mode interactive: ask, "Requires user approval")
 *   4. global default allow / deny / ask      -> "Allowed by default" / "Denied by default" /
 *      "Requires user approval" (mode trusted: allowed, "Allowed by default")
 *
 * The plugin allow set is the manifest's grant for that action, narrowed by the policy's
 * plugins.<id>.allow entry for the action when there is one (both must cover the
 * resource). A plugin without a manifest (caps NULL) has only the policy's entry, except
 * for events, where no manifest means no events list, which restricts nothing.
 * Matching is per action: fs_read grants never cover fs_write.
 *
 * Resources and matching, per action:
 *   network           URL; patterns are host patterns (match.h)
 *   fs_read, fs_write path, canonicalised here before matching; path patterns (match.h)
 *   events            event name; an absent or empty manifest `events` list grants every
 *                     event (the manifest rule), a non-empty one only those listed
 *   env_vars          variable name, exact
 *   exec              a command line as hk_exec_line writes it; command patterns
 *                     ("git *", "git status", "npm run *") match it word by word: a plain
 *                     word exactly, "pre*" a word's prefix, a trailing "*" the rest
 *                     (zero or more words)
 *   kv, register_tools, read_config
 *                     boolean grants (`true` in the manifest); the resource (a key, a tool
 *                     name, a setting, or "") is matched only against policy lists
 * In policy lists `true` covers everything, "*" too, "prefix*" covers names starting with
 * prefix, anything else one exact name (network and fs_* use host/path patterns instead).
 *
 * Threading: an hk_policy is immutable once built; any thread may call hk_decide on it.
 */
#ifndef AL_HK_CAPABILITY_H
#define AL_HK_CAPABILITY_H

#include "hooks/match.h"

typedef enum hk_mode { HK_MODE_ALL, HK_MODE_TRUSTED, HK_MODE_INTERACTIVE, HK_MODE_NONE } hk_mode;
typedef enum hk_verdict { HK_ALLOWED, HK_DENIED, HK_ASK } hk_verdict;

/* The exact reason strings (static storage). */
#define HK_REASON_FORCE_DENY "Denied by AIRLOCK_FORCE_DENY"
#define HK_REASON_MODE_NONE "Plugin mode is 'none'"
#define HK_REASON_PLUGIN_DENY "Denied by plugin deny list"
#define HK_REASON_GLOBAL_DENY "Denied by global policy"
#define HK_REASON_PLUGIN_ALLOW "Allowed by plugin allow list"
#define HK_REASON_ASK "Requires user approval"
#define HK_REASON_DEFAULT_ALLOW "Allowed by default"
#define HK_REASON_DEFAULT_DENY "Denied by default"
#define HK_REASON_UNKNOWN_ACTION "Unknown capability action"
#define HK_REASON_BAD_RESOURCE "Resource is not valid for this action"

typedef struct hk_policy hk_policy;

/* Builds a policy from its JSON (borrowed; NULL: mode "all", default "deny", no lists):
 *   {"mode": "all|trusted|interactive|none", "default": "deny|allow|ask",
 *    "deny": {<action>: [patterns] | true},
 *    "plugins": {"<plugin id>": {"allow": {<action>: [patterns] | true},
 *                                "deny":  {<action>: [patterns] | true}}}}
 * Unknown keys and actions are errors: AL_EINVALID_ARGUMENT naming the field
 * ("policy.plugins.x.deny.netwrk: unknown action"). *out freed with hk_policy_free(). */
int hk_policy_new(const json_t *policy, hk_policy **out, al_error *err);
/* NULL harmless. */
void hk_policy_free(hk_policy *p);
/* The configured mode (before any override). p NULL: HK_MODE_ALL. */
hk_mode hk_policy_mode(const hk_policy *p);

/* The chain above for (plugin_id, action, resource). p NULL = the default policy.
 * caps: the plugin's manifest capabilities object (may be NULL). mode_override: -1 or an
 * hk_mode (AIRLOCK_PLUGIN_MODE). vars: for $PLUGIN_DATA/$HOME/$CWD in path patterns and
 * relative resource paths (may be NULL). *reason (reason may be NULL) receives one of the
 * HK_REASON_* strings. A NULL plugin_id/action/resource, an unknown action, or a
 * resource that is not a valid URL/path for its action is denied. */
hk_verdict hk_decide(const hk_policy *p, int mode_override, bool force_deny,
                     const char *plugin_id, const json_t *caps, const char *action,
                     const char *resource, const hk_path_vars *vars, const char **reason);

/* The command line `command` with `args` (n of them) as the exec action's resource and
 * audit: words separated by spaces, each quoted in '...' unless it is plain
 * ([A-Za-z0-9_./:=@%+,-]). malloc()ed; NULL when out of memory. Pure. */
char *hk_exec_line(const char *command, const char *const *args, size_t n);

/* "all", "trusted", ... ; parse returns false for anything else (case-insensitive). */
const char *hk_mode_name(hk_mode m);
bool hk_mode_parse(const char *s, hk_mode *out);
/* "allowed", "denied", "ask": the audit trail's decision words. */
const char *hk_verdict_name(hk_verdict v);

#endif

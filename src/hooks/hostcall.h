/*
 * hostcall.h: the host side of every call a plugin makes outside its VM (the `pi` API).
 *
 * A VM (on a worker thread, on the host thread with inline isolation, or in a worker
 * process whose driver thread relays the call) calls hc_call() with its instance id, a
 * method and JSON args. The dispatcher finds the instance's plugin record (plugin id,
 * manifest capabilities, resolved settings), runs the capability chain (capability.h),
 * asks the host's approve callback when the chain says "needs approval", writes the
 * decision to the audit trail, and only then performs the call through the database (kv),
 * the HTTP client, the fs operations, the logger or the settings.
 *
 * Methods and args:
 *   events.subscribe {event}            -> true          (capability "events"; counted,
 *                                        see hc_hooks_check)
 *   tools.register   {name, description, parameters}  -> true   ("register_tools"; names
 *                                        are unique host-wide)
 *   config.get       {key}              -> value|null    ("read_config")
 *   kv.get {key} | kv.set {key, value} | kv.delete {key} | kv.list {prefix?}  ("kv")
 *   log              {level, message}   -> null
 *   http.request     {method, url, body?, headers?}   -> {status, headers, body} ("network")
 *   fs.readText {path} | fs.exists {path} | fs.list {path} | fs.stat {path}  ("fs_read")
 *   fs.writeText {path, text}                           ("fs_write")
 *   exec.run {command, args?, cwd?, timeoutMs?} -> {stdout, stderr, code, killed}
 *                                        ("exec", on the command line hk_exec_line
 *                                        writes; run by exec_run.h, outside the sandbox)
 *   env.get {name}                      -> value|null    ("env_vars"; the pi profile's
 *                                        process.env)
 *   ui.prompt {kind: confirm, title, message?} -> bool | {kind: select, title, options}
 *                                        -> option|null | {kind: input, title,
 *                                        placeholder?} / {kind: editor, title, prefill?}
 *                                        -> text|null  (no capability: a question for
 *                                        the person, through ask/approve; audited "ui",
 *                                        "ui.select", "ui.input", "ui.editor")
 *
 * Approvals: a call needing one asks the host's ask callback (al_config.ask: a question
 * answered later with al_approval_answer, from any thread) or else its approve callback
 * (answers before returning). An asynchronous hostcall (performed on a host thread, with a
 * hostcall_hold) pauses its call's deadline while it waits, up to the permission class
 * (EV_PERMISSION_MS); a call answered at once (subscribe, register a tool) waits at most
 * what is left of its deadline.
 *
 * Threading: every function is thread-safe. Plugin records and tools are guarded by one
 * mutex; the approve callback is serialised by another, so a host's callback never runs
 * twice at once (the ask callback is not: each question is its own); the database, audit
 * and policy are thread-safe (or immutable) themselves.
 */
#ifndef AL_HOOKS_HOSTCALL_H
#define AL_HOOKS_HOSTCALL_H

#include "common.h"

typedef struct hc_services hc_services;

typedef struct hc_config {
  const char *home;             /* NULL: no database, kv answers CAPABILITY_DENIED */
  const char *policy_json;      /* NULL: mode all, default deny */
  uint32_t audit_capacity;      /* 0: 1000 */
  const char *audit_path;       /* NULL: ring buffer only */
  al_approve_fn approve;        /* NULL: needs-approval means denied (headless) */
  void *approve_user;
  al_ask_fn ask;                /* asks without blocking; takes precedence over approve */
  void *ask_user;
  al_log_fn log;                /* NULL: stderr */
  void *log_user;
  size_t kv_quota_bytes;        /* 0: 1 MiB */
  size_t http_max_bytes;        /* 0: 4 MiB */
} hc_config;

/* Creates the services: opens the database (when home is set), builds the policy, the
 * audit trail and reads the kill switches from the environment (each in effect is logged
 * once and audited). Free with hc_free (NULL harmless). */
int hc_new(const hc_config *cfg, hc_services **out, al_error *err);
void hc_free(hc_services *s);

/* Denies every question still waiting for the ask callback's answer, and every later one
 * at once: for shutting down, so no hostcall thread waits for a person who will not come.
 * Thread-safe. */
void hc_close_questions(hc_services *s);

/* Kill switches read at hc_new. */
bool hc_disabled(const hc_services *s);     /* AIRLOCK_DISABLE_PLUGINS */
bool hc_skip(const hc_services *s);         /* AIRLOCK_SKIP_PLUGINS */
bool hc_force_deny(const hc_services *s);   /* AIRLOCK_FORCE_DENY */
json_t *hc_switches(const hc_services *s);  /* new {disable, skip, forceDeny, mode} */

/* The host database, or NULL without a home. Borrowed; thread-safe itself. */
struct pkg_db *hc_db(hc_services *s);

/* Registers an instance's plugin record before its code runs. `caps`, `settings` and
 * `settings_env` (borrowed, copied; each may be NULL) are the manifest's capabilities, the
 * resolved settings, and the settings that come from host environment variables as
 * pkg_settings_resolve()'s *env_out describes them: pi.getConfig of one of those also
 * needs env_vars for the variable (decided and audited under the variable's name). */
int hc_plugin_add(hc_services *s, const char *instance_id, const char *plugin_id,
                  const json_t *caps, const json_t *settings, const json_t *settings_env,
                  al_error *err);
/* Forgets the instance and every tool it registered (or staged). Unknown ids are ignored. */
void hc_plugin_remove(hc_services *s, const char *instance_id);
/* A hot reload evaluates the new code in a second VM, `stage_id`, before it replaces the
 * instance's VM. That VM acts for `instance_id`: it gets a copy of the instance's record,
 * and the tools it registers are staged instead of replacing the instance's, which keep
 * working while the reload may still fail. hc_plugin_commit() (the swap happened) puts
 * the staged tools in place of the instance's and forgets `stage_id`; hc_plugin_remove()
 * (the reload failed) drops them. */
int hc_plugin_stage(hc_services *s, const char *stage_id, const char *instance_id,
                    al_error *err);
void hc_plugin_commit(hc_services *s, const char *stage_id);

/* The hostcall entry point (matches hostcall_fn in common.h; `user` is the hc_services).
 * `timeout_ms` is what is left of the calling event's deadline. On success *result is a
 * new reference; on failure the code and message are in err (CAPABILITY_DENIED, IO_ERROR,
 * INVALID_ARGUMENT, TIMEOUT...). */
int hc_call(void *user, const char *instance_id, const char *method, const json_t *args,
            uint32_t timeout_ms, const hostcall_hold *hold, json_t **result, al_error *err);

/* A worker was caught breaking the protocol while acting for `instance_id` (may be NULL):
 * audited as worker_breach under the instance's plugin and logged. Matches
 * pool_config.breach (`user` is the hc_services); thread-safe. */
void hc_breach(void *user, const char *instance_id, const char *why);

/* Checks a worker's report about an instance against the host's own record: `hooks`
 * ({event: handler count}; NULL: no report) may name only events whose subscription the
 * host approved for the instance, each with at most as many handlers as it approved and
 * at most EV_MAX_HANDLERS; and with `event` set, a hook answer's `results` entries may
 * not outnumber the handlers approved for that event. 0 when it holds; -1 with the
 * reason in `why` when the worker lied (the caller kills it: hc_breach, pool_condemn).
 * Thread-safe. */
int hc_hooks_check(hc_services *s, const char *instance_id, const json_t *hooks,
                   const char *event, size_t results, char *why, size_t cap);

/* Tools: the registered tools [{name, pluginId, instanceId, description, parameters}]
 * (new reference), and the instance that owns `name` (copied into id_out). */
json_t *hc_tools(hc_services *s);
int hc_tool_owner(hc_services *s, const char *name, char *id_out, size_t cap, al_error *err);

/* Writes one line to the host's log (al_config.log, else stderr); thread-safe. */
void hc_log(hc_services *s, const char *plugin_id, const char *level, const char *message);

/* Records an audit entry (plugin id may be "host"); thread-safe. */
void hc_audit(hc_services *s, const char *plugin_id, const char *action, const char *resource,
              const char *decision, const char *reason);
/* The newest n audit records (0: all), newest first; new reference. */
json_t *hc_audit_recent(hc_services *s, size_t n);
char *hc_audit_since(hc_services *s, uint64_t after_seq, size_t n, uint64_t *last_seq);

#endif

/*
 * hostcall.c: the host services behind the `pi` API (see hostcall.h).
 *
 * Every method follows one path: take a reference on the calling VM's identity
 * (hc_ident.c), ask the capability chain (hk_decide) about (plugin, action, resource),
 * turn "needs approval" into an answer from a person (approval.c) or the host's approve
 * callback (none: denied), record the decision in the audit trail, and only then perform
 * the call. A refusal is CAPABILITY_DENIED naming the action, the resource and the
 * chain's reason, so a plugin author can tell which rule said no.
 *
 * The services' mutex is held only to find an identity or to read or replace a tool,
 * never across a decision or an I/O call (hc_impl.h).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "contract/term_text.h"
#include "hooks/audit.h"
#include "hooks/capability.h"
#include "hooks/events.h"
#include "hooks/exec_run.h"
#include "hooks/fsops.h"
#include "hooks/hc_impl.h"
#include "hooks/http.h"
#include "hooks/killswitch.h"
#include "pkg/db.h"
#include "pkg/manifest.h"

void hc_log_line(hc_services *s, const char *plugin, const char *level, const char *msg) {
  if (s->cfg.log) s->cfg.log(s->cfg.log_user, plugin, level, msg);
  else {
    /* The default sink is a terminal more often than not: the plugin's text is escaped
     * (a log line cannot clear the screen or forge a second line), one record per line.
     * The line goes out in one call: stderr is unbuffered, and pieces written one by one
     * would interleave with other threads' lines. Out of memory, it goes out in pieces
     * under the stream's lock, escaped all the same. */
    char *p = tt_escape(plugin, false), *l = tt_escape(level, false), *m = tt_escape(msg, false);
    if (p && l && m) {
      fprintf(stderr, "[%s] %s: %s\n", p, l, m);
    } else {
      flockfile(stderr);
      fputc('[', stderr);
      tt_fputs(plugin, false, stderr);
      fputs("] ", stderr);
      tt_fputs(level, false, stderr);
      fputs(": ", stderr);
      tt_fputs(msg, false, stderr);
      fputc('\n', stderr);
      funlockfile(stderr);
    }
    free(p);
    free(l);
    free(m);
  }
}

void hc_log(hc_services *s, const char *plugin_id, const char *level, const char *message) {
  hc_log_line(s, plugin_id, level, message);
}

void hc_audit(hc_services *s, const char *plugin_id, const char *action, const char *resource,
              const char *decision, const char *reason) {
  if (s) hk_audit_record(s->audit, plugin_id, action, resource, decision, reason);
}

json_t *hc_audit_recent(hc_services *s, size_t n) { return hk_audit_recent(s ? s->audit : NULL, n); }
char *hc_audit_since(hc_services *s, uint64_t after_seq, size_t n, uint64_t *last_seq) {
  return hk_audit_since(s ? s->audit : NULL, after_seq, n, last_seq);
}

/* Each switch in effect is logged once, here, and audited. */
static void hc_announce_switches(hc_services *s, const al_error *mode_err) {
  static const struct {
    size_t off;
    const char *var, *effect;
  } sw[] = {
      {offsetof(hk_switches, disable), "AIRLOCK_DISABLE_PLUGINS", "no plugin is loaded; plugin operations answer PLUGINS_DISABLED"},
      {offsetof(hk_switches, skip), "AIRLOCK_SKIP_PLUGINS", "emits run no handler; tools answer PLUGINS_DISABLED"},
      {offsetof(hk_switches, force_deny), "AIRLOCK_FORCE_DENY", "every capability check is denied; permission events answer deny"},
  };
  for (size_t i = 0; i < sizeof sw / sizeof sw[0]; i++) {
    if (!*(const bool *)((const char *)&s->sw + sw[i].off)) continue;
    char line[256];
    snprintf(line, sizeof line, "%s is set: %s", sw[i].var, sw[i].effect);
    hc_log_line(s, "airlock", "warn", line);
    hc_audit(s, "host", "killswitch", sw[i].var, "enabled", sw[i].effect);
  }
  if (mode_err) {
    hc_log_line(s, "airlock", "error", mode_err->message);
    hc_audit(s, "host", "killswitch", "AIRLOCK_PLUGIN_MODE", "enabled", mode_err->message);
  } else if (s->sw.mode >= 0) {
    char line[128];
    snprintf(line, sizeof line, "AIRLOCK_PLUGIN_MODE is set: mode '%s' overrides the policy",
             hk_mode_name((hk_mode)s->sw.mode));
    hc_log_line(s, "airlock", "warn", line);
    hc_audit(s, "host", "killswitch", "AIRLOCK_PLUGIN_MODE", "enabled", line);
  }
}

int hc_new(const hc_config *cfg, hc_services **out, al_error *err) {
  *out = NULL;
  hc_services *s = calloc(1, sizeof *s);
  if (!s) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  s->cfg = *cfg;
  if (!s->cfg.kv_quota_bytes) s->cfg.kv_quota_bytes = (size_t)1 << 20;
  if (!s->cfg.http_max_bytes) s->cfg.http_max_bytes = (size_t)4 << 20;
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->approve, NULL);
  s->tools = json_object();
  s->staged = json_object();
  const char *home = getenv("HOME");
  s->home_env = home ? strdup(home) : NULL;
  s->cwd = getcwd(NULL, 0);
  json_t *pj = NULL;
  int rc = 0;
  if (!s->tools || !s->staged) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc && cfg->policy_json) {
    json_error_t je;
    if (!(pj = json_loads(cfg->policy_json, 0, &je)))
      rc = err_set(err, AL_EINVALID_ARGUMENT, "policy", "policy is not valid JSON: %s (line %d)", je.text, je.line);
  }
  if (!rc) rc = hk_policy_new(pj, &s->policy, err);
  /* The database first: opening it creates the home, where the audit file usually lives. */
  if (!rc && cfg->home) rc = pkg_db_open(cfg->home, &s->db, err);
  if (!rc) rc = hk_audit_new(cfg->audit_capacity, cfg->audit_path, &s->audit, err);
  json_decref(pj);
  if (rc) {
    hc_free(s);
    return rc;
  }
  al_error me = {0};
  bool bad_mode = hk_switches_from_env(&s->sw, &me) != 0;
  hc_announce_switches(s, bad_mode ? &me : NULL);
  *out = s;
  return 0;
}

void hc_free(hc_services *s) {
  if (!s) return;
  hk_policy_free(s->policy);
  hk_audit_free(s->audit);
  pkg_db_close(s->db);
  hc_ids_clear(&s->ids);
  json_decref(s->tools);
  json_decref(s->staged);
  free(s->home_env);
  free(s->cwd);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->approve);
  free(s);
}

bool hc_disabled(const hc_services *s) { return s->sw.disable; }
bool hc_skip(const hc_services *s) { return s->sw.skip; }
bool hc_force_deny(const hc_services *s) { return s->sw.force_deny; }
json_t *hc_switches(const hc_services *s) { return hk_switches_json(&s->sw); }
struct pkg_db *hc_db(hc_services *s) { return s->db; }

json_t *hc_tools(hc_services *s) {
  json_t *a = json_array();
  pthread_mutex_lock(&s->mu);
  const char *k;
  json_t *v;
  json_object_foreach(s->tools, k, v) json_array_append_new(a, json_deep_copy(v));
  pthread_mutex_unlock(&s->mu);
  return a;
}

int hc_tool_owner(hc_services *s, const char *name, char *id_out, size_t cap, al_error *err) {
  pthread_mutex_lock(&s->mu);
  const char *id = json_string_value(json_object_get(json_object_get(s->tools, name ? name : ""), "instanceId"));
  if (id) snprintf(id_out, cap, "%s", id);
  pthread_mutex_unlock(&s->mu);
  return id ? 0 : err_set(err, AL_EINVALID_ARGUMENT, NULL, "no tool named '%.80s' is registered", name ? name : "(null)");
}

/* ---- the chain ------------------------------------------------------------------------- */

/* Decides, asks, audits. Returns 0 when allowed, else CAPABILITY_DENIED with the reason.
 * An asynchronous call waits for a person's answer up to the permission class (its
 * deadline paused meanwhile, see hostcall_hold); one answered at once, only up to what is
 * left of its deadline (a remembered answer is given at once). */
static int hc_decide(hc_services *s, const hc_rec *r, const char *action, const char *resource,
                     al_error *err) {
  hk_path_vars vars = {r->data_dir, s->home_env, s->cwd};
  const char *reason = NULL;
  hk_verdict v = hk_decide(s->policy, s->sw.mode, s->sw.force_deny, r->plugin_id, r->caps, action,
                           resource, &vars, &reason);
  char why[160];
  snprintf(why, sizeof why, "%s", reason ? reason : "");
  if (v == HK_ASK) {
    int answer = AL_APPROVE_DENY;
    bool asked = s->cfg.ask || s->cfg.approve, answered = true;
    if (asked && r->hold) r->hold->fn(r->hold->user, EV_PERMISSION_MS);
    if (s->cfg.ask) {
      answer = hc_ask(s, r, action, resource, r->hold ? EV_PERMISSION_MS : r->timeout_ms, &answered);
    } else if (s->cfg.approve) {
      pthread_mutex_lock(&s->approve);
      answer = s->cfg.approve(s->cfg.approve_user, r->plugin_id, action, resource);
      pthread_mutex_unlock(&s->approve);
    }
    if (asked && r->hold) r->hold->fn(r->hold->user, 0);
    if (asked)
      snprintf(why, sizeof why, "%s: %s", HK_REASON_ASK,
               answer == AL_APPROVE_ALLOW ? "approved"
               : answered                 ? "not approved"
                                          : "not answered in time");
    else
      snprintf(why, sizeof why, "%s: no one to ask (headless), denied", HK_REASON_ASK);
    v = answer == AL_APPROVE_ALLOW ? HK_ALLOWED : HK_DENIED;
  }
  hc_audit(s, r->plugin_id, action, resource, hk_verdict_name(v), why);
  if (v == HK_ALLOWED) return 0;
  return err_set(err, AL_ECAPABILITY_DENIED, NULL, "%s '%.200s' denied: %s", action, resource, why);
}

/* ---- methods ---------------------------------------------------------------------------- */

static const char *arg_str(const json_t *args, const char *k) {
  return json_string_value(json_object_get(args, k));
}

static int need(const char *v, const char *method, const char *k, al_error *err) {
  return v ? 0 : err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s needs a string '%s'", method, k);
}

static int hc_kv(hc_services *s, const hc_rec *r, const char *method, const json_t *args,
                 json_t **result, al_error *err) {
  const char *key = arg_str(args, !strcmp(method, "kv.list") ? "prefix" : "key");
  int rc = need(key, method, !strcmp(method, "kv.list") ? "prefix" : "key", err);
  if (!rc) rc = hc_decide(s, r, "kv", key, err);
  if (rc) return rc;
  if (!s->db)
    return err_set(err, AL_ECAPABILITY_DENIED, NULL, "pi.kv needs a host database (al_config.home); this host has none");
  if (!strcmp(method, "kv.get")) {
    char *text = NULL;
    if ((rc = pkg_db_kv_get(s->db, r->plugin_id, key, &text, err))) return rc;
    *result = text ? json_loads(text, JSON_DECODE_ANY, NULL) : json_null();
    free(text);
  } else if (!strcmp(method, "kv.set")) {
    char *text = json_text(json_object_get(args, "value") ? json_object_get(args, "value") : json_null());
    if (!text) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    rc = pkg_db_kv_set(s->db, r->plugin_id, key, text, s->cfg.kv_quota_bytes, err);
    free(text);
    if (!rc) *result = json_true();
  } else if (!strcmp(method, "kv.delete")) {
    bool existed = false;
    if (!(rc = pkg_db_kv_delete(s->db, r->plugin_id, key, &existed, err))) *result = json_boolean(existed);
  } else {
    rc = pkg_db_kv_list(s->db, r->plugin_id, key, result, err);
  }
  return rc;
}

static int hc_fs(hc_services *s, const hc_rec *r, const char *method, const json_t *args,
                 json_t **result, al_error *err) {
  const char *path = arg_str(args, "path");
  int rc = need(path, method, "path", err);
  if (rc) return rc;
  hk_path_vars vars = {r->data_dir, s->home_env, s->cwd};
  char *canon = NULL;
  bool write = !strcmp(method, "fs.writeText");
  if (r->data_dir && !strncmp(path, "$PLUGIN_DATA", 12)) {
    /* The plugin's data directory exists from its first use on; creating it grants
     * nothing: what may be read or written there is still the chain's decision. A failure
     * here shows up as the operation's own error below. */
    char *dd = NULL;
    if (!hk_path_canon(r->data_dir, &dd, NULL)) (void)hk_fs_ensure_dir(dd, NULL);
    free(dd);
  }
  if ((rc = hk_path_resolve(path, &vars, &canon, err))) {
    hc_audit(s, r->plugin_id, write ? "fs_write" : "fs_read", path, "denied", HK_REASON_BAD_RESOURCE);
    return rc;
  }
  rc = hc_decide(s, r, write ? "fs_write" : "fs_read", canon, err);
  if (!rc && !strcmp(method, "fs.readText")) {
    char *text = NULL;
    size_t len = 0;
    if (!(rc = hk_fs_read_text(canon, 0, &text, &len, err))) {
      *result = json_stringn(text, len);
      if (!*result) rc = err_set(err, AL_EIO, NULL, "%s is not UTF-8 text", path);
    }
    free(text);
  } else if (!rc && write) {
    const char *text = arg_str(args, "text");
    if (!(rc = need(text, method, "text", err)) &&
        !(rc = hk_fs_write_text(canon, text, strlen(text), 0, err)))
      *result = json_true();
  } else if (!rc && !strcmp(method, "fs.exists")) {
    bool ex = false;
    if (!(rc = hk_fs_exists(canon, &ex, err))) *result = json_boolean(ex);
  } else if (!rc && !strcmp(method, "fs.stat")) {
    rc = hk_fs_stat(canon, result, err);
  } else if (!rc) {
    rc = hk_fs_list(canon, 0, result, err);
  }
  free(canon);
  return rc;
}

/* What one instance may register: tool registrations of 4 MB each once grew the host by
 * 218 MiB. The tool table lives in the host, so the host bounds it. */
#define HC_MAX_TOOLS 64
#define HC_MAX_TOOL_NAME 128
#define HC_MAX_TOOL_DESCRIPTION 4096
#define HC_MAX_TOOL_PARAMETERS ((size_t)64 << 10)

/* Tools in `table` registered by instance `owner` (under s->mu). */
static size_t tools_of(const json_t *table, const char *owner) {
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)table, k, v)
    if (!strcmp(json_string_value(json_object_get(v, "instanceId")), owner)) n++;
  return n;
}

static int hc_tool_register(hc_services *s, const hc_rec *r, const json_t *args, json_t **result,
                            al_error *err) {
  const char *name = arg_str(args, "name");
  const char *desc = arg_str(args, "description");
  const json_t *params = json_object_get(args, "parameters");
  int rc = need(name, "tools.register", "name", err);
  if (!rc && strlen(name) > HC_MAX_TOOL_NAME)
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tools.register: a tool name may have at most %d bytes",
                 HC_MAX_TOOL_NAME);
  else if (!rc && desc && strlen(desc) > HC_MAX_TOOL_DESCRIPTION)
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                 "tools.register: '%.80s': a description may have at most %d bytes (this one has %zu)", name,
                 HC_MAX_TOOL_DESCRIPTION, strlen(desc));
  else if (!rc && params && json_dumpb(params, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY) > HC_MAX_TOOL_PARAMETERS)
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                 "tools.register: '%.80s': parameters may have at most %zu bytes of JSON", name,
                 HC_MAX_TOOL_PARAMETERS);
  if (!rc) rc = hc_decide(s, r, "register_tools", name, err);
  if (rc) return rc;
  json_t *t = json_pack("{s:s,s:s,s:s,s:s,s:O}", "name", name, "pluginId", r->plugin_id,
                        "instanceId", r->owner, "description",
                        arg_str(args, "description") ? arg_str(args, "description") : "",
                        "parameters", json_object_get(args, "parameters") ? json_object_get(args, "parameters") : json_null());
  if (!t) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  pthread_mutex_lock(&s->mu);
  json_t *old = json_object_get(s->tools, name);
  const char *owner = json_string_value(json_object_get(old, "instanceId"));
  bool staged = strcmp(r->owner, r->instance_id) != 0;
  json_t *into = s->tools;
  if (staged && !(into = json_object_get(s->staged, r->instance_id)) &&
      (json_object_set_new(s->staged, r->instance_id, json_object()) ||
       !(into = json_object_get(s->staged, r->instance_id))))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  else if (old && strcmp(owner, r->owner))
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "a tool named '%.80s' is already registered by plugin '%s'",
                 name, json_string_value(json_object_get(old, "pluginId")));
  else if (!json_object_get(into, name) && tools_of(into, r->owner) >= HC_MAX_TOOLS)
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "tools.register: '%.80s': a plugin may register at most %d tools",
                 name, HC_MAX_TOOLS);
  else if (json_object_set(into, name, t))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  pthread_mutex_unlock(&s->mu);
  json_decref(t);
  if (!rc) *result = json_true();
  return rc;
}


/* exec.run {command, args?, cwd?, timeoutMs?}: the `exec` capability decides on the
 * command line (capability.h), which the audit records with its arguments; then the host
 * runs it outside the sandbox (exec_run.h), bounded by the calling call's deadline. */
static int hc_exec(hc_services *s, const hc_rec *r, const json_t *args, json_t **result, al_error *err) {
  const char *cmd = arg_str(args, "command");
  const json_t *av = json_object_get(args, "args");
  const char *cwd = arg_str(args, "cwd");
  int rc = need(cmd, "exec.run", "command", err);
  size_t n = json_array_size(av);
  if (!rc && av && !json_is_array(av)) rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "exec.run: args must be an array of strings");
  if (!rc && n > HK_EXEC_MAX_ARGS) rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "exec.run: at most %d arguments", HK_EXEC_MAX_ARGS);
  if (!rc && !*cmd) rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "exec.run: the command is empty");
  char **argv = rc ? NULL : calloc(n + 2, sizeof *argv);
  if (!rc && !argv) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  for (size_t i = 0; !rc && i < n; i++)
    if (!(argv[i + 1] = (char *)json_string_value(json_array_get(av, i))))
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "exec.run: args[%zu] must be a string", i);
  char *line = NULL;
  if (!rc) {
    argv[0] = (char *)cmd;
    if (!(line = hk_exec_line(cmd, (const char *const *)argv + 1, n))) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  if (!rc) rc = hc_decide(s, r, "exec", line, err);
  if (!rc) {
    json_int_t want = json_integer_value(json_object_get(args, "timeoutMs"));
    uint32_t ms = r->timeout_ms ? r->timeout_ms : HK_EXEC_DEFAULT_MS;
    if (want > 0 && (uint64_t)want < ms) ms = (uint32_t)want;
    rc = hk_exec_run(argv, cwd, ms, result, err);
    if (rc) hc_audit(s, r->plugin_id, "exec", line, "error", err ? err->message : "exec failed");
  }
  free(line);
  free(argv);
  return rc;
}

/* A question for the person at the host (ctx.ui in the pi profile), through the same
 * machinery as an approval: the ask callback, else the approve callback, else no one
 * (false). The calling call's deadline pauses while the person thinks, as for an
 * approval; the question and its answer are audited as action "ui". */
static bool hc_person(hc_services *s, const hc_rec *r, const char *question) {
  int answer = AL_APPROVE_DENY;
  bool asked = s->cfg.ask || s->cfg.approve, answered = true;
  if (asked && r->hold) r->hold->fn(r->hold->user, EV_PERMISSION_MS);
  if (s->cfg.ask) {
    answer = hc_ask(s, r, "ui", question, r->hold ? EV_PERMISSION_MS : r->timeout_ms, &answered);
  } else if (s->cfg.approve) {
    pthread_mutex_lock(&s->approve);
    answer = s->cfg.approve(s->cfg.approve_user, r->plugin_id, "ui", question);
    pthread_mutex_unlock(&s->approve);
  }
  if (asked && r->hold) r->hold->fn(r->hold->user, 0);
  bool yes = answer == AL_APPROVE_ALLOW;
  hc_audit(s, r->plugin_id, "ui", question, yes ? "allowed" : "denied",
           !asked ? "no one to ask (headless)" : answered ? "answered by a person" : "not answered in time");
  return yes;
}

#define HC_UI_MAX_OPTIONS 32
#define HC_UI_MAX_TEXT 1024

/* A question wanting text (ui.select, ui.input, ui.editor) for the person, through the
 * ask callback alone (an approve callback answers only yes or no): `q` is what the front
 * end is shown, as JSON text. The text answered (malloc; the caller frees it) or NULL:
 * dismissed, not answered in time, nobody to ask, or out of memory. Audited like a "ui"
 * question, with the title and never the text (it may be anything the person typed). */
static char *hc_person_text(hc_services *s, const hc_rec *r, const char *action, const json_t *q,
                            const char *title) {
  char *text = NULL, *shown = s->cfg.ask ? json_dumps(q, JSON_COMPACT) : NULL;
  bool answered = false;
  const char *why = !s->cfg.ask ? (s->cfg.approve ? "the host's approve callback answers only yes or no"
                                                  : "no one to ask (headless)")
                    : !shown    ? "out of memory"
                                : NULL;
  if (!why) {
    if (r->hold) r->hold->fn(r->hold->user, EV_PERMISSION_MS);
    hc_ask_text(s, r, action, shown, r->hold ? EV_PERMISSION_MS : r->timeout_ms, &answered, &text);
    if (r->hold) r->hold->fn(r->hold->user, 0);
    why = text ? "answered by a person" : answered ? "dismissed by the person" : "not answered in time";
  }
  free(shown);
  hc_audit(s, r->plugin_id, action, title, text ? "allowed" : "denied", why);
  return text;
}

/* A string argument of ui.prompt at most `max` bytes: 0 (absent is "") or the error. */
static int ui_str(const json_t *args, const char *k, size_t max, const char **out, al_error *err) {
  const json_t *v = json_object_get(args, k);
  *out = "";
  if (!v) return 0;
  if (!json_is_string(v) || json_string_length(v) > max)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ui.prompt: '%s' must be a string of at most %zu bytes", k, max);
  *out = json_string_value(v);
  return 0;
}

/* ui.prompt {kind: confirm, title, message} -> bool; {kind: select, title, options} ->
 * the option taken, or null; {kind: input, title, placeholder} / {kind: editor, title,
 * prefill} -> the text, or null. With an ask callback select, input and editor are one
 * text question each (hc_person_text); with only approve, select asks option by option
 * and input and editor answer null. */
static int hc_ui_prompt(hc_services *s, const hc_rec *r, const json_t *args, json_t **result, al_error *err) {
  const char *kind = arg_str(args, "kind"), *title = NULL, *msg = NULL;
  const json_t *opts = json_object_get(args, "options");
  char q[2 * HC_UI_MAX_TEXT + 16];
  if (!kind || !json_is_string(json_object_get(args, "title")))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ui.prompt needs a kind and a title");
  int rc = ui_str(args, "title", HC_UI_MAX_TEXT, &title, err);
  if (rc) return rc;
  if (!strcmp(kind, "confirm")) {
    if ((rc = ui_str(args, "message", HC_UI_MAX_TEXT, &msg, err))) return rc;
    snprintf(q, sizeof q, "%s%s%s", title, *msg ? ": " : "", msg);
    *result = json_boolean(hc_person(s, r, q));
    return 0;
  }
  bool input = !strcmp(kind, "input"), editor = !strcmp(kind, "editor");
  if (input || editor) {
    const char *k = input ? "placeholder" : "prefill";
    if ((rc = ui_str(args, k, input ? HC_UI_MAX_TEXT : AL_APPROVAL_TEXT_MAX, &msg, err))) return rc;
    json_t *shown = json_pack("{s:s,s:s}", "title", title, k, msg);
    if (!shown) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    char *text = hc_person_text(s, r, input ? "ui.input" : "ui.editor", shown, title);
    json_decref(shown);
    *result = text ? json_string(text) : NULL; /* text that is not UTF-8 counts as dismissed */
    free(text);
    if (!*result) *result = json_null();
    return 0;
  }
  if (strcmp(kind, "select") || !json_is_array(opts) || json_array_size(opts) > HC_UI_MAX_OPTIONS)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ui.prompt: kind is confirm, select, input or editor (a "
                   "select has at most %d options)", HC_UI_MAX_OPTIONS);
  size_t i;
  json_t *o;
  json_array_foreach(opts, i, o) if (!json_is_string(o) || json_string_length(o) > HC_UI_MAX_TEXT)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ui.prompt: select's options are strings of at most %d bytes",
                   HC_UI_MAX_TEXT);
  *result = NULL;
  if (s->cfg.ask) {
    json_t *shown = json_pack("{s:s,s:O}", "title", title, "options", opts);
    if (!shown) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    char *text = hc_person_text(s, r, "ui.select", shown, title);
    json_decref(shown);
    /* the front end's claim is checked: only one of the options is an answer */
    json_array_foreach(opts, i, o) if (!*result && text && !strcmp(json_string_value(o), text))
      *result = json_incref(o);
    free(text);
  } else {
    json_array_foreach(opts, i, o) {
      snprintf(q, sizeof q, "%s: choose '%s'", title, json_string_value(o));
      if (hc_person(s, r, q)) {
        *result = json_incref(o);
        break;
      }
    }
  }
  if (!*result) *result = json_null();
  return 0;
}

int hc_call(void *user, const char *instance_id, const char *method, const json_t *args,
            uint32_t timeout_ms, const hostcall_hold *hold, json_t **result, al_error *err) {
  hc_services *s = user;
  *result = NULL;
  hc_rec r;
  int rc = hc_rec_get(s, instance_id, &r, err);
  if (rc) return rc;
  r.timeout_ms = timeout_ms;
  r.hold = hold;
  if (!json_is_object(args)) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: arguments must be an object", method);
  } else if (!strcmp(method, "log")) {
    const char *lvl = arg_str(args, "level"), *msg = arg_str(args, "message");
    if (!lvl || (strcmp(lvl, "debug") && strcmp(lvl, "info") && strcmp(lvl, "warn") && strcmp(lvl, "error")))
      lvl = "info";
    hc_log_line(s, r.plugin_id, lvl, msg ? msg : "");
    *result = json_null();
  } else if (!strcmp(method, "events.subscribe")) {
    const char *ev = arg_str(args, "event");
    if (!(rc = need(ev, method, "event", err)) && !ev_name_valid(ev))
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "events.subscribe: '%.80s' is not an event name", ev);
    if (!rc && !(rc = hc_decide(s, &r, "events", ev, err)) && !(rc = hc_subs_add(s, instance_id, ev, err)))
      *result = json_true();
  } else if (!strcmp(method, "tools.register")) {
    rc = hc_tool_register(s, &r, args, result, err);
  } else if (!strcmp(method, "config.get")) {
    const char *key = arg_str(args, "key");
    if (!(rc = need(key, method, "key", err)) && !(rc = hc_decide(s, &r, "read_config", key, err))) {
      json_t *v = json_object_get(r.settings, key);
      const json_t *fromenv = json_object_get(r.settings_env, key);
      const char *var = json_string_value(json_object_get(fromenv, "env"));
      if (var) {
        /* A setting backed by a host variable is a read of that variable: read_config
         * alone must not reveal the host's environment (AWS_SECRET_ACCESS_KEY and the
         * like), so env_vars has to cover the name and the policy has to pass it, and
         * the audit names the variable. The read happens now, not at load, so the
         * decision and the value belong to the same moment. getenv() here assumes the
         * embedding application does not setenv() concurrently (pkg_settings_resolve's
         * contract too). */
        if (!(rc = hc_decide(s, &r, "env_vars", var, err))) {
          json_t *ev = pkg_setting_from_env(json_object_get(fromenv, "spec"), getenv(var));
          *result = ev ? ev : json_null();
        }
      } else {
        *result = v ? json_deep_copy(v) : json_null();
      }
    }
  } else if (!strncmp(method, "kv.", 3) &&
             (!strcmp(method + 3, "get") || !strcmp(method + 3, "set") ||
              !strcmp(method + 3, "delete") || !strcmp(method + 3, "list"))) {
    rc = hc_kv(s, &r, method, args, result, err);
  } else if (!strcmp(method, "http.request")) {
    const char *url = arg_str(args, "url"), *m = arg_str(args, "method"), *body = arg_str(args, "body");
    if (!(rc = need(url, method, "url", err)) && !(rc = hc_decide(s, &r, "network", url, err))) {
      /* Non-public addresses need a grant naming them: the plugin's own allow set (the
       * manifest narrowed by the policy) covering this URL, where an IP literal matches
       * only itself. A default-allow policy or trusted mode does not count: they were
       * not written with 169.254.169.254 in mind. */
      hk_path_vars vars = {r.data_dir, s->home_env, s->cwd};
      const char *why = NULL;
      unsigned hf = hk_decide(s->policy, HK_MODE_ALL, false, r.plugin_id, r.caps, "network", url, &vars, &why) ==
                                HK_ALLOWED && why && !strcmp(why, HK_REASON_PLUGIN_ALLOW)
                        ? HK_HTTP_LITERAL_GRANTED
                        : 0;
      rc = hk_http_request(m ? m : "GET", url, body, body ? strlen(body) : 0,
                           json_object_get(args, "headers"), timeout_ms, s->cfg.http_max_bytes, hf,
                           result, err);
      if (rc == AL_ECAPABILITY_DENIED)
        hc_audit(s, r.plugin_id, "network", url, "denied", err ? err->message : "non-public address");
    }
  } else if (!strcmp(method, "fs.readText") || !strcmp(method, "fs.writeText") ||
             !strcmp(method, "fs.exists") || !strcmp(method, "fs.list") || !strcmp(method, "fs.stat")) {
    rc = hc_fs(s, &r, method, args, result, err);
  } else if (!strcmp(method, "exec.run")) {
    rc = hc_exec(s, &r, args, result, err);
  } else if (!strcmp(method, "ui.prompt")) {
    rc = hc_ui_prompt(s, &r, args, result, err);
  } else if (!strcmp(method, "env.get")) {
    /* process.env.NAME in the pi profile: env_vars decides per name, and audits it */
    const char *name = arg_str(args, "name");
    if (!(rc = need(name, method, "name", err)) && !(rc = hc_decide(s, &r, "env_vars", name, err))) {
      const char *v = getenv(name);
      *result = v ? json_string(v) : json_null();
    }
  } else {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "unknown hostcall '%.60s'", method);
  }
  if (!rc && !*result) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (rc) {
    json_decref(*result);
    *result = NULL;
  }
  hc_rec_clear(&r);
  return rc;
}

/*
 * capability.c: policy parsing and the decision chain (capability.h has the table).
 *
 * The policy is validated completely when it is built, so a typo in an action name or a
 * pattern that can never match is an error the host sees at start-up, not a rule that
 * silently does nothing. After that it is a read-only jansson tree: hk_decide only reads
 * it (json_object_get never touches reference counts), which is what makes it safe to
 * share between threads.
 *
 * A resource is prepared once per decision (a path canonicalised, a URL parsed) and then
 * matched against each list; an invalid one is denied before any list is consulted, so a
 * deny pattern can never be bypassed by a resource that no pattern code understands.
 */
#include "hooks/capability.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum act_kind { ACT_NAME, ACT_NETWORK, ACT_PATH, ACT_BOOL, ACT_EVENTS, ACT_EXEC } act_kind;

static const struct {
  const char *name;
  act_kind kind;
} actions[] = {
    {"events", ACT_EVENTS},        {"network", ACT_NETWORK},     {"fs_read", ACT_PATH},
    {"fs_write", ACT_PATH},        {"kv", ACT_BOOL},             {"register_tools", ACT_BOOL},
    {"read_config", ACT_BOOL},     {"env_vars", ACT_NAME},       {"exec", ACT_EXEC},
};

static int action_kind(const char *name) {
  if (!name) return -1;
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
    if (strcmp(actions[i].name, name) == 0) return (int)actions[i].kind;
  return -1;
}

typedef enum def_kind { DEF_DENY, DEF_ALLOW, DEF_ASK } def_kind;

struct hk_policy {
  hk_mode mode;
  def_kind deflt;
  json_t *deny;    /* {action: true | [patterns]}, validated; never NULL */
  json_t *plugins; /* {id: {allow: {...}, deny: {...}}}, validated; never NULL */
};

static const char *const mode_names[] = {"all", "trusted", "interactive", "none"};

const char *hk_mode_name(hk_mode m) {
  return (m >= HK_MODE_ALL && m <= HK_MODE_NONE) ? mode_names[m] : "unknown";
}

bool hk_mode_parse(const char *s, hk_mode *out) {
  for (int i = 0; s && i < 4; i++)
    if (strcasecmp(s, mode_names[i]) == 0) {
      if (out) *out = (hk_mode)i;
      return true;
    }
  return false;
}

const char *hk_verdict_name(hk_verdict v) {
  return v == HK_ALLOWED ? "allowed" : v == HK_ASK ? "ask" : "denied";
}

/* Validates an {action: true | [patterns]} object at `where`. */
static int check_action_set(const json_t *set, const char *where, al_error *err) {
  if (!json_is_object(set))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "%s: must be an object of action: true | [patterns]", where);
  const char *action;
  json_t *v;
  json_object_foreach((json_t *)set, action, v) {
    int kind = action_kind(action);
    if (kind < 0)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                     "%s.%s: unknown action (events, network, fs_read, fs_write, kv, "
                     "register_tools, read_config, env_vars, exec)",
                     where, action);
    if (json_is_true(v)) continue;
    if (!json_is_array(v))
      return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                     "%s.%s: must be true or an array of strings", where, action);
    size_t i;
    json_t *pat;
    json_array_foreach(v, i, pat) {
      const char *s = json_string_value(pat);
      if (!s || !*s)
        return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s.%s[%zu]: must be a non-empty string",
                       where, action, i);
      if (kind == ACT_NETWORK && !hk_host_pattern_valid(s))
        return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s.%s[%zu]: '%s' is not a host pattern",
                       where, action, i, s);
      if (kind == ACT_PATH && !hk_path_pattern_valid(s))
        return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                       "%s.%s[%zu]: '%s' is not an absolute path, a $PLUGIN_DATA/$HOME/$CWD "
                       "path, or one of those followed by a '**' segment",
                       where, action, i, s);
    }
  }
  return 0;
}

int hk_policy_new(const json_t *policy, hk_policy **out, al_error *err) {
  if (!out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "policy: out is NULL");
  *out = NULL;
  hk_policy *p = calloc(1, sizeof *p);
  if (!p) return err_set(err, AL_ENO_MEMORY, NULL, "policy: out of memory");
  p->mode = HK_MODE_ALL;
  p->deflt = DEF_DENY;
  int rc = 0;
  if (policy && !json_is_null(policy)) {
    if (!json_is_object(policy)) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "policy: must be an object");
      goto fail;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)policy, key, v) {
      if (strcmp(key, "mode") == 0) {
        hk_mode m;
        if (!json_is_string(v) || !hk_mode_parse(json_string_value(v), &m)) {
          rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                       "policy.mode: must be \"all\", \"trusted\", \"interactive\" or \"none\"");
          goto fail;
        }
        p->mode = m;
      } else if (strcmp(key, "default") == 0) {
        const char *d = json_string_value(v);
        if (d && strcmp(d, "deny") == 0) p->deflt = DEF_DENY;
        else if (d && strcmp(d, "allow") == 0) p->deflt = DEF_ALLOW;
        else if (d && strcmp(d, "ask") == 0) p->deflt = DEF_ASK;
        else {
          rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                       "policy.default: must be \"deny\", \"allow\" or \"ask\"");
          goto fail;
        }
      } else if (strcmp(key, "deny") == 0) {
        if ((rc = check_action_set(v, "policy.deny", err))) goto fail;
        p->deny = json_deep_copy(v);
      } else if (strcmp(key, "plugins") == 0) {
        if (!json_is_object(v)) {
          rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                       "policy.plugins: must be an object keyed by plugin id");
          goto fail;
        }
        const char *id;
        json_t *entry;
        json_object_foreach(v, id, entry) {
          char where[300];
          if (!json_is_object(entry)) {
            rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                         "policy.plugins.%.200s: must be an object {allow?, deny?}", id);
            goto fail;
          }
          const char *k2;
          json_t *set;
          json_object_foreach(entry, k2, set) {
            if (strcmp(k2, "allow") != 0 && strcmp(k2, "deny") != 0) {
              rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                           "policy.plugins.%.200s.%.40s: unknown field (allow, deny)", id, k2);
              goto fail;
            }
            snprintf(where, sizeof where, "policy.plugins.%.200s.%s", id, k2);
            if ((rc = check_action_set(set, where, err))) goto fail;
          }
        }
        p->plugins = json_deep_copy(v);
      } else {
        rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                     "policy.%.100s: unknown field (mode, default, deny, plugins)", key);
        goto fail;
      }
    }
  }
  if (!p->deny) p->deny = json_object();
  if (!p->plugins) p->plugins = json_object();
  if (!p->deny || !p->plugins) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "policy: out of memory");
    goto fail;
  }
  *out = p;
  return 0;
fail:
  hk_policy_free(p);
  return rc;
}

void hk_policy_free(hk_policy *p) {
  if (!p) return;
  json_decref(p->deny);
  json_decref(p->plugins);
  free(p);
}

hk_mode hk_policy_mode(const hk_policy *p) { return p ? p->mode : HK_MODE_ALL; }

/* "*" all, "prefix*" prefix, else exact. */
/* ---- exec: command patterns against a command line ------------------------------------ */

/* The next word of a command line as hk_exec_line quotes it (plain, or '...' pieces with
 * '\'' for a quote), unquoted into out (cap bytes); *p advances past it. False at the end
 * or when the word does not fit. */
static bool exec_word(const char **p, char *out, size_t cap) {
  const char *s = *p;
  while (*s == ' ') s++;
  if (!*s) return false;
  size_t n = 0;
  while (*s && *s != ' ') {
    if (*s == '\'') {
      for (s++; *s && *s != '\''; s++) {
        if (n + 1 >= cap) return false;
        out[n++] = *s;
      }
      if (*s) s++;
    } else if (*s == '\\' && s[1]) {
      if (n + 1 >= cap) return false;
      out[n++] = s[1];
      s += 2;
    } else {
      if (n + 1 >= cap) return false;
      out[n++] = *s++;
    }
  }
  out[n] = '\0';
  *p = s;
  return true;
}

/* A command pattern ("git *", "git status", "npm run *", "ls") covers a command line when
 * its words match the line's words one by one: a plain word exactly, a word ending in '*'
 * as a prefix of one word, and a last word that is just "*" any number of further words
 * (none included). Words, not characters: "git *" never covers "gitx" and an argument
 * cannot spill into the command's name. */
static bool exec_match(const char *pat, const char *line) {
  const char *pp = pat, *lp = line;
  char pw[512], lw[4096];
  for (;;) {
    bool has_p = exec_word(&pp, pw, sizeof pw);
    if (!has_p) return !exec_word(&lp, lw, sizeof lw); /* the line has no more words either */
    if (!strcmp(pw, "*")) {
      const char *rest = pp;
      while (*rest == ' ') rest++;
      if (!*rest) return true; /* a trailing "*": whatever follows */
      if (!exec_word(&lp, lw, sizeof lw)) return false;
      continue;
    }
    if (!exec_word(&lp, lw, sizeof lw)) return false;
    size_t n = strlen(pw);
    if (n > 0 && pw[n - 1] == '*' ? strncmp(pw, lw, n - 1) != 0 : strcmp(pw, lw) != 0) return false;
  }
}

static bool name_match(const char *pat, const char *name) {
  size_t n = strlen(pat);
  if (n > 0 && pat[n - 1] == '*') return strncmp(pat, name, n - 1) == 0;
  return strcmp(pat, name) == 0;
}

/* The resource in the form its action's patterns match. */
typedef struct resource {
  act_kind kind;
  const char *raw;   /* name or URL as given */
  const char *canon; /* canonical path for ACT_PATH */
} resource;

/* Does `list` (true | [patterns], or anything else = no) cover r? */
static bool list_covers(const json_t *list, const resource *r, const hk_path_vars *vars) {
  if (json_is_true(list)) return true;
  if (!json_is_array(list)) return false;
  size_t i;
  json_t *pat;
  json_array_foreach(list, i, pat) {
    const char *s = json_string_value(pat);
    if (!s) continue;
    bool hit;
    switch (r->kind) {
    case ACT_NETWORK: hit = hk_host_match(s, r->raw); break;
    case ACT_PATH: hit = hk_path_match(s, r->canon, vars); break;
    case ACT_EXEC: hit = exec_match(s, r->raw); break;
    default: hit = name_match(s, r->raw); break;
    }
    if (hit) return true;
  }
  return false;
}

/* The manifest's grant for the action. */
static bool manifest_covers(const json_t *caps, const char *action, const resource *r,
                            const hk_path_vars *vars) {
  const json_t *g = json_object_get(caps, action);
  switch (r->kind) {
  case ACT_EVENTS: /* an absent or empty list restricts nothing (the manifest rule) */
    if (!g || json_is_null(g) || (json_is_array(g) && json_array_size(g) == 0)) return true;
    return list_covers(g, r, vars);
  case ACT_BOOL: return json_is_true(g);
  default: return list_covers(g, r, vars);
  }
}

static const json_t *plugin_set(const hk_policy *p, const char *plugin_id, const char *which) {
  return json_object_get(json_object_get(p->plugins, plugin_id), which);
}

static hk_verdict verdict(const char **reason, hk_verdict v, const char *why) {
  if (reason) *reason = why;
  return v;
}

hk_verdict hk_decide(const hk_policy *p, int mode_override, bool force_deny,
                     const char *plugin_id, const json_t *caps, const char *action,
                     const char *resource_in, const hk_path_vars *vars, const char **reason) {
  static const hk_policy fallback = {HK_MODE_ALL, DEF_DENY, NULL, NULL};
  if (!p) p = &fallback;
  if (force_deny) return verdict(reason, HK_DENIED, HK_REASON_FORCE_DENY);
  hk_mode mode = (mode_override >= HK_MODE_ALL && mode_override <= HK_MODE_NONE)
                     ? (hk_mode)mode_override
                     : p->mode;
  if (mode == HK_MODE_NONE) return verdict(reason, HK_DENIED, HK_REASON_MODE_NONE);
  int kind = action_kind(action);
  if (kind < 0 || !plugin_id) return verdict(reason, HK_DENIED, HK_REASON_UNKNOWN_ACTION);
  if (!resource_in) return verdict(reason, HK_DENIED, HK_REASON_BAD_RESOURCE);

  resource r = {(act_kind)kind, resource_in, NULL};
  char *canon = NULL;
  if (r.kind == ACT_PATH) {
    if (hk_path_resolve(resource_in, vars, &canon, NULL))
      return verdict(reason, HK_DENIED, HK_REASON_BAD_RESOURCE);
    r.canon = canon;
  } else if (r.kind == ACT_NETWORK) {
    char host[HK_HOST_MAX];
    int port;
    if (hk_url_parse(resource_in, host, sizeof host, &port, NULL))
      return verdict(reason, HK_DENIED, HK_REASON_BAD_RESOURCE);
  }

  hk_verdict v;
  const char *why;
  const json_t *pdeny = p->plugins ? plugin_set(p, plugin_id, "deny") : NULL;
  const json_t *pallow = p->plugins ? plugin_set(p, plugin_id, "allow") : NULL;
  const json_t *pallow_action = json_object_get(pallow, action);
  if (list_covers(json_object_get(pdeny, action), &r, vars)) {
    v = HK_DENIED, why = HK_REASON_PLUGIN_DENY;
  } else if (p->deny && list_covers(json_object_get(p->deny, action), &r, vars)) {
    v = HK_DENIED, why = HK_REASON_GLOBAL_DENY;
  } else if (caps || r.kind == ACT_EVENTS ? manifest_covers(caps, action, &r, vars) &&
                        (!pallow_action || list_covers(pallow_action, &r, vars))
                  : list_covers(pallow_action, &r, vars)) {
    if (mode == HK_MODE_INTERACTIVE)
      v = HK_ASK, why = HK_REASON_ASK;
    else
      v = HK_ALLOWED, why = HK_REASON_PLUGIN_ALLOW;
  } else if (mode == HK_MODE_TRUSTED || p->deflt == DEF_ALLOW) {
    v = HK_ALLOWED, why = HK_REASON_DEFAULT_ALLOW;
  } else if (p->deflt == DEF_ASK) {
    v = HK_ASK, why = HK_REASON_ASK;
  } else {
    v = HK_DENIED, why = HK_REASON_DEFAULT_DENY;
  }
  free(canon);
  return verdict(reason, v, why);
}

static bool exec_plain(const char *w) {
  if (!*w) return false;
  for (const char *p = w; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("_./:=@%+,-", *p)))
      return false;
  return true;
}

char *hk_exec_line(const char *command, const char *const *args, size_t n) {
  size_t cap = 1;
  for (size_t i = 0; i <= n; i++) {
    const char *w = i ? args[i - 1] : command;
    cap += 3 + 4 * strlen(w ? w : "");
  }
  char *out = malloc(cap), *o = out;
  if (!out) return NULL;
  for (size_t i = 0; i <= n; i++) {
    const char *w = i ? args[i - 1] : command;
    if (!w) w = "";
    if (i) *o++ = ' ';
    if (exec_plain(w)) {
      size_t l = strlen(w);
      memcpy(o, w, l);
      o += l;
      continue;
    }
    *o++ = '\'';
    for (const char *p = w; *p; p++) {
      if (*p == '\'') {
        memcpy(o, "'\\''", 4);
        o += 4;
      } else {
        *o++ = *p;
      }
    }
    *o++ = '\'';
  }
  *o = '\0';
  return out;
}

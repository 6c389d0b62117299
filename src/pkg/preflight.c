/*
 * preflight.c: the pre-evaluation scan (preflight.h).
 *
 * Two passes: the tokenizer (pf_lex.c) and the rules, here.
 *
 * The rule pass walks the tokens with a stack of open brackets, each `(` marked as a call
 * when it follows a callee (a name, `)`, `]`), which is what "a string passed to a call"
 * means: a string or template chunk whose innermost enclosing bracket, looking through
 * array literals, is a call's argument list (a tagged template is a call too).
 * Everything is bounded by the input: no recursion, no backtracking.
 */
#include "pkg/preflight.h"
#include "pkg/pf_lex.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The blocking patterns, in manifest.c's order. */
static const char *const pf_block[] = {"rm -rf", "sudo ", "chmod 777", "> /dev/sd", "mkfs.", "dd if="};
enum { PF_NBLOCK = sizeof pf_block / sizeof *pf_block };

/* ---- rules -------------------------------------------------------------------------- */

typedef struct pf_ctx {
  pf_lexer *lx;
  const pkg_manifest *m;
  json_t *findings;
  bool blocked;
  bool pi; /* the pi profile: command sinks only, and Node's names exist */
  bool reported_cap[8];
} pf_ctx;

static void pf_find(pf_ctx *c, const pf_tok *t, const char *rule, const char *severity, const char *message,
                    const char *remediation, bool allowed) {
  json_t *f = json_pack("{s:s,s:s,s:i,s:i,s:s,s:s}", "rule", rule, "severity", severity, "line", t->line, "column",
                        t->col, "message", message, "remediation", remediation);
  if (!f) return;
  if (allowed) json_object_set_new(f, "allowed", json_true());
  else if (!strcmp(severity, "block")) c->blocked = true;
  json_array_append_new(c->findings, f);
}

static const pf_tok *pf_at(const pf_ctx *c, size_t i) { return i < c->lx->ntoks ? &c->lx->toks[i] : NULL; }
static bool pf_is_punct(const pf_tok *t, const char *p) { return t && t->type == TK_PUNCT && !strcmp(t->punct, p); }
static bool pf_is_ident(const pf_tok *t, const char *v) { return t && t->type == TK_IDENT && !strcmp(t->val, v); }
static bool pf_is_dot(const pf_tok *t) { return pf_is_punct(t, ".") || pf_is_punct(t, "?."); }

/* A global name used as such: not a property (`x.eval`), except through a global object
 * (`globalThis.eval`), and not an object key (`{ process: 1 }`). */
static bool pf_global_ref(const pf_ctx *c, size_t i) {
  const pf_tok *prev = i ? pf_at(c, i - 1) : NULL;
  if (pf_is_dot(prev)) {
    const pf_tok *obj = i >= 2 ? pf_at(c, i - 2) : NULL;
    return pf_is_ident(obj, "globalThis") || pf_is_ident(obj, "window") || pf_is_ident(obj, "self") ||
           pf_is_ident(obj, "global");
  }
  const pf_tok *next = pf_at(c, i + 1);
  if (pf_is_punct(next, ":") && (pf_is_punct(prev, "{") || pf_is_punct(prev, ","))) return false;
  return true;
}

static bool pf_cap_list(const pkg_manifest *m, const char *key) {
  return m && json_array_size(json_object_get(m->capabilities, key)) > 0;
}
static bool pf_cap_flag(const pkg_manifest *m, const char *key) {
  return m && json_is_true(json_object_get(m->capabilities, key));
}

static bool pf_allowed(const pkg_manifest *m, const char *pattern) {
  size_t i;
  json_t *e;
  if (!m) return false;
  json_array_foreach(m->preflight_allow, i, e) if (json_is_string(e) && !strcmp(json_string_value(e), pattern)) return true;
  return false;
}

/* pi.<member> / airlock.<member> used without the capability it needs. */
static void pf_capability_use(pf_ctx *c, size_t i) {
  const pf_tok *t = pf_at(c, i);
  if (!pf_is_dot(pf_at(c, i + 1)) || !pf_at(c, i + 2) || pf_at(c, i + 2)->type != TK_IDENT) return;
  if (i && pf_is_dot(pf_at(c, i - 1))) return;
  const char *member = pf_at(c, i + 2)->val, *sub = NULL;
  if (pf_is_dot(pf_at(c, i + 3)) && pf_at(c, i + 4) && pf_at(c, i + 4)->type == TK_IDENT) sub = pf_at(c, i + 4)->val;
  const char *cap = NULL;
  int slot = -1;
  bool have = true;
  if (!strcmp(member, "http")) cap = "network", slot = 0, have = pf_cap_list(c->m, "network");
  else if (!strcmp(member, "kv")) cap = "kv", slot = 1, have = pf_cap_flag(c->m, "kv");
  else if (!strcmp(member, "registerTool")) cap = "register_tools", slot = 2, have = pf_cap_flag(c->m, "register_tools");
  else if (!strcmp(member, "getConfig")) cap = "read_config", slot = 3, have = pf_cap_flag(c->m, "read_config");
  else if (!strcmp(member, "fs") && sub && !strcmp(sub, "writeText")) cap = "fs_write", slot = 4, have = pf_cap_list(c->m, "fs_write");
  else if (!strcmp(member, "fs")) cap = "fs_read", slot = 5, have = pf_cap_list(c->m, "fs_read");
  else if ((!strcmp(member, "on") || !strcmp(member, "once")) && pf_is_punct(pf_at(c, i + 3), "(") &&
           pf_at(c, i + 4) && pf_at(c, i + 4)->type == TK_STR && pf_cap_list(c->m, "events")) {
    const char *ev = pf_at(c, i + 4)->val;
    size_t k;
    json_t *e;
    bool listed = false;
    json_array_foreach(json_object_get(c->m->capabilities, "events"), k, e) listed = listed || !strcmp(json_string_value(e), ev);
    if (!listed) {
      char msg[300];
      snprintf(msg, sizeof msg, "%s.%s('%.100s') subscribes to an event not listed in capabilities.events", t->val, member, ev);
      pf_find(c, t, "undeclared-capability", "warn", msg,
              "Add the event to capabilities.events in the manifest, or remove the subscription.", false);
    }
    return;
  }
  if (!cap || have || c->reported_cap[slot]) return;
  c->reported_cap[slot] = true;
  char msg[300], rem[300];
  snprintf(msg, sizeof msg, "%s.%s is used but the manifest does not declare the '%s' capability", t->val, member, cap);
  snprintf(rem, sizeof rem, "Declare '%s' under capabilities in the manifest; without it every such call is denied.", cap);
  pf_find(c, t, "undeclared-capability", "warn", msg, rem, false);
}

/* Looks through array literals for the innermost '(' and says whether it is a call. */
typedef struct pf_open {
  char kind; /* '(' '[' '{' '$' */
  bool call;
  const char *sink; /* a call: the command sink it is (pi profile), else NULL */
} pf_open;

static const pf_open *pf_innermost(const pf_open *st, size_t n) {
  for (size_t k = n; k-- > 0;) {
    if (st[k].kind == '[') continue;
    return &st[k];
  }
  return NULL;
}

static bool pf_in_call(const pf_open *st, size_t n) {
  const pf_open *o = pf_innermost(st, n);
  return o && o->kind == '(' && o->call;
}

/* The command sink a call of the name at token i is (pi.exec, child_process's exec*,
 * spawn*, anything called on child_process), or NULL. */
static const char *pf_sink(const pf_ctx *c, size_t i) {
  static const char *const sinks[] = {"exec", "execSync", "execFile", "execFileSync", "spawn", "spawnSync"};
  const pf_tok *t = pf_at(c, i);
  if (!t || t->type != TK_IDENT) return NULL;
  bool on_pi = i >= 2 && pf_is_dot(pf_at(c, i - 1)) && pf_is_ident(pf_at(c, i - 2), "pi");
  for (size_t k = 0; k < sizeof sinks / sizeof *sinks; k++)
    if (!strcmp(t->val, sinks[k])) return on_pi && !k ? "pi.exec" : sinks[k];
  if (i >= 2 && pf_is_dot(pf_at(c, i - 1)) && pf_is_ident(pf_at(c, i - 2), "child_process")) return "child_process";
  return NULL;
}

/* A tagged template that runs its text as a command (zx's $`...`, sh`...`). */
static const char *pf_tag_sink(const pf_tok *tag) {
  if (!tag || tag->type != TK_IDENT) return NULL;
  if (!strcmp(tag->val, "$") || !strcmp(tag->val, "sh") || !strcmp(tag->val, "exec") || !strcmp(tag->val, "execSync"))
    return tag->val;
  return NULL;
}

static void pf_strings_pi(pf_ctx *c, const pf_tok *t, const char *sink) {
  for (size_t p = 0; p < PF_NBLOCK; p++) {
    if (!strstr(t->val, pf_block[p])) continue;
    char msg[300], rem[400];
    if (sink) {
      snprintf(msg, sizeof msg, "shell-destructive string '%s' passed to a command sink (%s)", pf_block[p], sink);
      snprintf(rem, sizeof rem, "Remove the command from the %s call; a pi extension that must run it asks the user "
               "for the exec capability, which names the command line.", sink);
      pf_find(c, t, "shell-destructive", "block", msg, rem, false);
    } else {
      snprintf(msg, sizeof msg, "shell-destructive string '%s' in a string that reaches no command sink", pf_block[p]);
      snprintf(rem, sizeof rem, "Nothing to do if it is matched against (a guard); passed to pi.exec or child_process "
               "it would block the extension.");
      pf_find(c, t, "shell-destructive", "warn", msg, rem, false);
    }
  }
}

static void pf_strings(pf_ctx *c, const pf_tok *t, bool in_call) {
  for (size_t p = 0; p < PF_NBLOCK; p++) {
    if (!strstr(t->val, pf_block[p])) continue;
    char msg[300], rem[400];
    if (in_call) {
      bool allowed = pf_allowed(c->m, pf_block[p]);
      snprintf(msg, sizeof msg, "shell-destructive string '%s' passed to a call%s", pf_block[p],
               allowed ? " (allowed by preflight.allow)" : "");
      snprintf(rem, sizeof rem, "Remove the command; if the plugin really needs it, declare \"%s\" in the manifest's "
               "preflight.allow and explain why in its description.", pf_block[p]);
      pf_find(c, t, "shell-destructive", "block", msg, rem, allowed);
    } else {
      snprintf(msg, sizeof msg, "shell-destructive string '%s' in a string literal", pf_block[p]);
      snprintf(rem, sizeof rem, "Remove the string; passed to a call it would block the plugin.");
      pf_find(c, t, "shell-destructive", "warn", msg, rem, false);
    }
  }
}

/* Room for one more entry at `depth`; false when out of memory. */
static bool pf_grow(pf_open **st, size_t *cap, size_t depth) {
  if (depth < *cap) return true;
  pf_open *ns = realloc(*st, *cap * 2 * sizeof **st);
  if (!ns) return false;
  *st = ns;
  *cap *= 2;
  return true;
}

static int pf_rules(pf_ctx *c) {
  size_t n = c->lx->ntoks, depth = 0, cap = 64;
  pf_open *st = malloc(cap * sizeof *st);
  if (!st) return AL_ENO_MEMORY;
  for (size_t i = 0; i < n; i++) {
    const pf_tok *t = pf_at(c, i), *prev = i ? pf_at(c, i - 1) : NULL, *next = pf_at(c, i + 1);
    if (t->type == TK_TEMPLATE) {
      /* a later chunk closes its `${`: it is judged in the template's own context */
      if (!t->tpl_head && depth && st[depth - 1].kind == '$') depth--;
      bool in_call = pf_in_call(st, depth);
      /* a tagged template (sh`...`) is a call with the template as its argument */
      if (t->tpl_head && prev && (pf_is_punct(prev, ")") || (prev->type == TK_IDENT && !pf_operator_keyword(prev->val))))
        in_call = true;
      if (c->pi) {
        const pf_open *o = pf_innermost(st, depth);
        const char *sink = t->tpl_head ? pf_tag_sink(prev) : NULL;
        if (!sink && o && o->kind == '(') sink = o->sink;
        pf_strings_pi(c, t, sink);
      } else {
        pf_strings(c, t, in_call);
      }
      if (t->tpl_open && pf_grow(&st, &cap, depth)) {
        st[depth].kind = '$';
        st[depth].call = false;
        st[depth].sink = NULL;
        depth++;
      } else if (t->tpl_open) {
        free(st);
        return AL_ENO_MEMORY;
      }
      continue;
    }
    if (t->type == TK_PUNCT && !t->punct[1]) {
      char ch = t->punct[0];
      if ((ch == ')' || ch == ']' || ch == '}') && depth) depth--;
      if (ch == '(' || ch == '[' || ch == '{') {
        if (!pf_grow(&st, &cap, depth)) {
          free(st);
          return AL_ENO_MEMORY;
        }
        bool call = false;
        if (ch == '(' && prev) {
          if (prev->type == TK_IDENT) {
            static const char *const not_callees[] = {"if", "while", "for", "switch", "catch", "with", "return",
                                                      "typeof", "function", "in", "of", "new", "delete", "void",
                                                      "throw", "case", "do", "else", "await", "yield"};
            call = true;
            for (size_t k = 0; k < sizeof not_callees / sizeof *not_callees; k++)
              if (!strcmp(prev->val, not_callees[k])) call = false;
            if (i >= 2 && pf_is_ident(pf_at(c, i - 2), "function")) call = false; /* declaration */
          } else {
            call = pf_is_punct(prev, ")") || pf_is_punct(prev, "]") || (prev->type == TK_TEMPLATE && !prev->tpl_open);
          }
        }
        st[depth].kind = ch;
        st[depth].call = call;
        st[depth].sink = call && i ? pf_sink(c, i - 1) : NULL;
        depth++;
      }
      continue;
    }
    if (t->type == TK_STR) {
      if (c->pi) {
        const pf_open *o = pf_innermost(st, depth);
        pf_strings_pi(c, t, o && o->kind == '(' ? o->sink : NULL);
        continue; /* Node's modules exist for pi: child_process is no finding */
      }
      pf_strings(c, t, pf_in_call(st, depth));
      if (!strcmp(t->val, "child_process") || !strcmp(t->val, "node:child_process"))
        pf_find(c, t, "child-process", "warn", "reference to 'child_process', which does not exist in the sandbox",
                "Remove it: plugins cannot start processes; use a host-provided tool instead.", false);
      continue;
    }
    if (t->type != TK_IDENT) continue;
    const char *v = t->val;
    bool call_next = pf_is_punct(next, "(");
    /* pi: require, process, child_process, fetch exist (over capabilities), and pi.* is
     * pi's own API, which no manifest declares */
    if (c->pi && (!strcmp(v, "require") || !strcmp(v, "process") || !strcmp(v, "child_process") ||
                  !strcmp(v, "fetch") || !strcmp(v, "XMLHttpRequest") || !strcmp(v, "WebSocket") ||
                  !strcmp(v, "pi") || !strcmp(v, "airlock")))
      continue;
    if (!strcmp(v, "eval") && call_next && pf_global_ref(c, i))
      pf_find(c, t, "eval", "warn", "eval( runs a string as code",
              "Parse data with JSON.parse and call functions directly instead of evaluating strings.", false);
    else if (!strcmp(v, "Function") && call_next && pf_is_ident(prev, "new"))
      pf_find(c, t, "new-function", "warn", "new Function( builds code from strings",
              "Write the function in the source instead of building it from strings.", false);
    else if (!strcmp(v, "Function") && call_next && pf_global_ref(c, i) && pf_at(c, i + 2) &&
             (pf_at(c, i + 2)->type == TK_STR || pf_at(c, i + 2)->type == TK_TEMPLATE))
      pf_find(c, t, "function-string", "warn", "Function( called on a string builds code from it",
              "Write the function in the source instead of building it from strings.", false);
    else if (!strcmp(v, "import") && call_next && !pf_is_dot(prev))
      pf_find(c, t, "dynamic-import", "warn", "dynamic import( loads code at run time, which the sandbox does not allow",
              "Bundle everything the plugin needs into its one script.", false);
    else if (!strcmp(v, "require") && call_next && pf_global_ref(c, i))
      pf_find(c, t, "require", "warn", "require( does not exist in the sandbox",
              "Bundle dependencies into the plugin script; there is no module loader.", false);
    else if (!strcmp(v, "process") && pf_global_ref(c, i))
      pf_find(c, t, "process", "warn", "reference to 'process', which does not exist in the sandbox",
              "Use pi.getConfig for configuration; environment variables are declared in capabilities.env_vars.", false);
    else if (!strcmp(v, "child_process"))
      pf_find(c, t, "child-process", "warn", "reference to 'child_process', which does not exist in the sandbox",
              "Remove it: plugins cannot start processes; use a host-provided tool instead.", false);
    else if (((!strcmp(v, "fetch") && call_next) || !strcmp(v, "XMLHttpRequest") || !strcmp(v, "WebSocket")) &&
             pf_global_ref(c, i) && !pf_cap_list(c->m, "network")) {
      char msg[200];
      snprintf(msg, sizeof msg, "%s%s is used without a network capability (and does not exist in the sandbox)", v,
               call_next ? "(" : "");
      pf_find(c, t, "network-api", "warn", msg,
              "Use pi.http.get/post and declare the hosts in capabilities.network.", false);
    } else if (!strcmp(v, "pi") || !strcmp(v, "airlock"))
      pf_capability_use(c, i);
  }
  free(st);
  return 0;
}

int pkg_preflight(const char *src, size_t len, const pkg_manifest *manifest, json_t **report, al_error *err) {
  return pkg_preflight_profile(src, len, manifest, NULL, report, err);
}

int pkg_preflight_profile(const char *src, size_t len, const pkg_manifest *manifest, const char *profile,
                          json_t **report, al_error *err) {
  *report = NULL;
  if (profile && strcmp(profile, "pi"))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "preflight: unknown profile '%.40s' (the one there is: pi)", profile);
  pf_lexer lx;
  pf_lexer_init(&lx, src, len);
  pf_ctx c = {.lx = &lx, .m = manifest, .findings = json_array(), .pi = profile != NULL};
  int rc = 0;
  if (!c.findings) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory in preflight");
  pf_lex(&lx);
  if (lx.oom || pf_rules(&c)) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory in preflight");
    goto done;
  }
  if (lx.unterminated) {
    pf_tok at = {.line = lx.un_line, .col = lx.un_col};
    char msg[120];
    snprintf(msg, sizeof msg, "unterminated %s", lx.unterminated);
    pf_find(&c, &at, "unterminated", "warn", msg, "Close it; the engine will refuse the script as it is.", false);
    /* keep findings in source order */
    json_t *arr = c.findings;
    size_t last = json_array_size(arr) - 1, pos = 0;
    json_t *f = json_incref(json_array_get(arr, last));
    json_array_remove(arr, last);
    while (pos < json_array_size(arr)) {
      json_t *g = json_array_get(arr, pos);
      json_int_t gl = json_integer_value(json_object_get(g, "line")), gc = json_integer_value(json_object_get(g, "column"));
      if (gl > lx.un_line || (gl == lx.un_line && gc > lx.un_col)) break;
      pos++;
    }
    json_array_insert_new(arr, pos, f);
  }
  *report = json_pack("{s:b,s:O}", "blocked", c.blocked, "findings", c.findings);
  if (!*report) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory in preflight");
done:
  pf_lexer_free(&lx);
  json_decref(c.findings);
  return rc;
}

int pkg_preflight_error(const json_t *report, al_error *err) {
  if (!json_is_true(json_object_get(report, "blocked"))) return 0;
  char msg[480] = "preflight blocked the plugin:";
  size_t i, n = strlen(msg);
  json_t *f;
  const char *sep = " ";
  json_array_foreach(json_object_get(report, "findings"), i, f) {
    if (strcmp(json_string_value(json_object_get(f, "severity")), "block") || json_is_true(json_object_get(f, "allowed")))
      continue;
    int k = snprintf(msg + n, sizeof msg - n, "%s%s at %lld:%lld", sep, json_string_value(json_object_get(f, "message")),
                     (long long)json_integer_value(json_object_get(f, "line")),
                     (long long)json_integer_value(json_object_get(f, "column")));
    if (k < 0 || (size_t)k >= sizeof msg - n) break;
    n += (size_t)k;
    sep = "; ";
  }
  return err_set(err, AL_EPREFLIGHT_BLOCKED, NULL, "%s", msg);
}

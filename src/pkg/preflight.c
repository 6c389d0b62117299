/*
 * preflight.c: the pre-evaluation scan (preflight.h).
 *
 * Two passes. The tokenizer turns source into tokens (identifiers with \u escapes
 * decoded, numbers, strings and template chunks with escapes decoded, regex literals,
 * punctuators), skipping comments. Whether `/` starts a regex is decided by the previous
 * significant token: after something that ends an expression (a name that is not an
 * operator keyword, a literal, `)`, `]`, `}`, a closing template, `++`/`--`) it divides,
 * otherwise it starts a regex. Template literals keep a stack of open braces, so `}`
 * closing a `${` resumes the template text at any nesting depth.
 *
 * The rule pass walks the tokens with a stack of open brackets, each `(` marked as a call
 * when it follows a callee (a name, `)`, `]`), which is what "a string passed to a call"
 * means: a string or template chunk whose innermost enclosing bracket, looking through
 * array literals, is a call's argument list (a tagged template is a call too).
 * Everything is bounded by the input: no recursion, no backtracking.
 */
#include "pkg/preflight.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TK_IDENT, TK_NUM, TK_STR, TK_TEMPLATE, TK_REGEX, TK_PUNCT };

typedef struct pf_tok {
  int type;
  int line, col;
  char punct[4];  /* TK_PUNCT: the operator (only the ones that matter are multi-char) */
  char *val;      /* IDENT/STR/TEMPLATE: decoded text (malloc) */
  bool tpl_open;  /* TEMPLATE: the chunk ended with `${` (more of the template follows) */
  bool tpl_head;  /* TEMPLATE: the chunk began at a backtick */
  bool ctl_close; /* PUNCT ')': closes an if/while/for/with head, so a regex may follow */
} pf_tok;

typedef struct pf_brace {
  char kind;
  int line, col;
} pf_brace;

typedef struct pf_lexer {
  const char *s;
  size_t n, i;
  int line;
  size_t line_start;
  pf_tok *toks;
  size_t ntoks, cap;
  pf_brace *braces; /* '{', or '$' for a template substitution with where its template began */
  size_t nbraces, bcap;
  bool *parens; /* per open '(': whether it is an if/while/for/with head */
  size_t nparens, pcap;
  bool oom;
  const char *unterminated; /* what was left open, or NULL */
  int un_line, un_col;
} pf_lexer;

/* The blocking patterns, in manifest.c's order. */
static const char *const pf_block[] = {"rm -rf", "sudo ", "chmod 777", "> /dev/sd", "mkfs.", "dd if="};
enum { PF_NBLOCK = sizeof pf_block / sizeof *pf_block };

/* ---- tokenizer ---------------------------------------------------------------------- */

static void pf_newline_at(pf_lexer *lx, size_t i) {
  lx->line++;
  lx->line_start = i + 1;
}

static int pf_col(const pf_lexer *lx, size_t i) { return (int)(i - lx->line_start) + 1; }

static pf_tok *pf_push(pf_lexer *lx, int type, size_t start, int line, int col) {
  if (lx->oom) return NULL;
  if (lx->ntoks == lx->cap) {
    size_t nc = lx->cap ? lx->cap * 2 : 256;
    pf_tok *nt = realloc(lx->toks, nc * sizeof *nt);
    if (!nt) {
      lx->oom = true;
      return NULL;
    }
    lx->toks = nt;
    lx->cap = nc;
  }
  (void)start;
  pf_tok *t = &lx->toks[lx->ntoks++];
  memset(t, 0, sizeof *t);
  t->type = type;
  t->line = line;
  t->col = col;
  return t;
}

static void pf_brace_push(pf_lexer *lx, char c, int line, int col) {
  if (lx->nbraces == lx->bcap) {
    size_t nc = lx->bcap ? lx->bcap * 2 : 64;
    pf_brace *nb = realloc(lx->braces, nc * sizeof *nb);
    if (!nb) {
      lx->oom = true;
      return;
    }
    lx->braces = nb;
    lx->bcap = nc;
  }
  lx->braces[lx->nbraces++] = (pf_brace){c, line, col};
}

/* A growing byte buffer for decoded text. */
typedef struct pf_buf {
  char *p;
  size_t n, cap;
  bool oom;
} pf_buf;

static void pf_put(pf_buf *b, char c) {
  if (b->oom) return;
  if (b->n + 2 > b->cap) {
    size_t nc = b->cap ? b->cap * 2 : 32;
    char *np = realloc(b->p, nc);
    if (!np) {
      b->oom = true;
      return;
    }
    b->p = np;
    b->cap = nc;
  }
  b->p[b->n++] = c;
  b->p[b->n] = 0;
}

static int pf_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes the escape after a backslash at s[i] (i indexes the char after '\') into b;
 * returns the index after it. Non-ASCII code points are kept as '?' (patterns are ASCII). */
static size_t pf_escape(pf_lexer *lx, size_t i, pf_buf *b) {
  const char *s = lx->s;
  size_t n = lx->n;
  if (i >= n) return i;
  char c = s[i];
  long cp = -1;
  size_t j = i + 1;
  switch (c) {
  case 'n': cp = '\n'; break;
  case 't': cp = '\t'; break;
  case 'r': cp = '\r'; break;
  case 'b': cp = '\b'; break;
  case 'f': cp = '\f'; break;
  case 'v': cp = '\v'; break;
  case '0': cp = 0; break;
  case 'x':
    if (j + 1 < n && pf_hex(s[j]) >= 0 && pf_hex(s[j + 1]) >= 0) {
      cp = pf_hex(s[j]) * 16 + pf_hex(s[j + 1]);
      j += 2;
    }
    break;
  case 'u':
    if (j < n && s[j] == '{') {
      long v = 0;
      size_t k = j + 1;
      while (k < n && pf_hex(s[k]) >= 0 && v < 0x110000) v = v * 16 + pf_hex(s[k++]);
      if (k < n && s[k] == '}') {
        cp = v;
        j = k + 1;
      }
    } else if (j + 3 < n && pf_hex(s[j]) >= 0 && pf_hex(s[j + 1]) >= 0 && pf_hex(s[j + 2]) >= 0 && pf_hex(s[j + 3]) >= 0) {
      cp = pf_hex(s[j]) * 4096 + pf_hex(s[j + 1]) * 256 + pf_hex(s[j + 2]) * 16 + pf_hex(s[j + 3]);
      j += 4;
    }
    break;
  case '\r':
    if (j < n && s[j] == '\n') j++;
    return j; /* line continuation */
  case '\n':
    pf_newline_at(lx, i);
    return j;
  default: cp = (unsigned char)c; break;
  }
  if (cp < 0) cp = (unsigned char)c;
  pf_put(b, cp < 0x80 ? (char)cp : '?');
  return j;
}

static bool pf_ident_start(unsigned char c) { return isalpha(c) || c == '_' || c == '$' || c >= 0x80 || c == '\\'; }
static bool pf_ident_part(unsigned char c) { return pf_ident_start(c) || isdigit(c); }

/* Keywords after which an expression (so a regex) may start, although they are names. */
static bool pf_operator_keyword(const char *v) {
  static const char *const kw[] = {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw",
                                   "case", "do", "else", "yield", "await", "extends"};
  for (size_t i = 0; i < sizeof kw / sizeof *kw; i++)
    if (!strcmp(v, kw[i])) return true;
  return false;
}

/* Whether a '/' after the last token divides (true) or starts a regex (false). */
static bool pf_slash_divides(const pf_lexer *lx) {
  if (!lx->ntoks) return false;
  const pf_tok *t = &lx->toks[lx->ntoks - 1];
  switch (t->type) {
  case TK_IDENT: return !pf_operator_keyword(t->val ? t->val : "");
  case TK_NUM:
  case TK_STR:
  case TK_REGEX: return true;
  case TK_TEMPLATE: return !t->tpl_open;
  default:
    return (!strcmp(t->punct, ")") && !t->ctl_close) || !strcmp(t->punct, "]") || !strcmp(t->punct, "}") || !strcmp(t->punct, "++") ||
           !strcmp(t->punct, "--");
  }
}

static void pf_unterminated(pf_lexer *lx, const char *what, int line, int col) {
  if (lx->unterminated) return;
  lx->unterminated = what;
  lx->un_line = line;
  lx->un_col = col;
}

/* Scans template text from lx->i (just after '`' or the '}' closing a substitution).
 * line/col: where this chunk starts; tl/tc: where its template began (for messages). */
static void pf_template(pf_lexer *lx, bool head, int line, int col, int tl, int tc) {
  pf_buf b = {0};
  pf_put(&b, 0), b.n = 0; /* an empty chunk still gets a "" value */
  bool open = false, closed = false;
  while (lx->i < lx->n) {
    char c = lx->s[lx->i];
    if (c == '`') {
      lx->i++;
      closed = true;
      break;
    }
    if (c == '$' && lx->i + 1 < lx->n && lx->s[lx->i + 1] == '{') {
      lx->i += 2;
      open = closed = true;
      break;
    }
    if (c == '\\') {
      lx->i = pf_escape(lx, lx->i + 1, &b);
      continue;
    }
    if (c == '\n') pf_newline_at(lx, lx->i);
    pf_put(&b, c);
    lx->i++;
  }
  if (!closed) pf_unterminated(lx, "template literal", tl, tc);
  pf_tok *t = pf_push(lx, TK_TEMPLATE, 0, line, col);
  if (!t || b.oom) {
    lx->oom = true;
    free(b.p);
    return;
  }
  t->val = b.p;
  t->tpl_open = open;
  t->tpl_head = head;
  if (open) pf_brace_push(lx, '$', tl, tc);
}

static void pf_lex(pf_lexer *lx) {
  const char *s = lx->s;
  size_t n = lx->n;
  if (n >= 2 && s[0] == '#' && s[1] == '!') /* hashbang line */
    while (lx->i < n && s[lx->i] != '\n') lx->i++;
  while (lx->i < n && !lx->oom) {
    size_t i = lx->i;
    unsigned char c = (unsigned char)s[i];
    int line = lx->line, col = pf_col(lx, i);
    if (c == '\n') {
      pf_newline_at(lx, i);
      lx->i++;
      continue;
    }
    if (isspace(c)) {
      lx->i++;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (lx->i < n && s[lx->i] != '\n') lx->i++;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      lx->i += 2;
      bool closed = false;
      while (lx->i < n) {
        if (s[lx->i] == '*' && lx->i + 1 < n && s[lx->i + 1] == '/') {
          lx->i += 2;
          closed = true;
          break;
        }
        if (s[lx->i] == '\n') pf_newline_at(lx, lx->i);
        lx->i++;
      }
      if (!closed) pf_unterminated(lx, "comment", line, col);
      continue;
    }
    if (c == '\'' || c == '"') {
      pf_buf b = {0};
      pf_put(&b, 0), b.n = 0;
      lx->i++;
      bool closed = false;
      while (lx->i < n) {
        char d = s[lx->i];
        if (d == (char)c) {
          lx->i++;
          closed = true;
          break;
        }
        if (d == '\n') break; /* strings do not span lines */
        if (d == '\\') {
          lx->i = pf_escape(lx, lx->i + 1, &b);
          continue;
        }
        pf_put(&b, d);
        lx->i++;
      }
      if (!closed) pf_unterminated(lx, "string literal", line, col);
      pf_tok *t = pf_push(lx, TK_STR, i, line, col);
      if (!t || b.oom) {
        lx->oom = true;
        free(b.p);
        return;
      }
      t->val = b.p;
      continue;
    }
    if (c == '`') {
      lx->i++;
      pf_template(lx, true, line, col, line, col);
      continue;
    }
    if (c == '}' && lx->nbraces && lx->braces[lx->nbraces - 1].kind == '$') {
      pf_brace b = lx->braces[--lx->nbraces];
      lx->i++;
      pf_template(lx, false, line, col, b.line, b.col);
      continue;
    }
    if (isdigit(c) || (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
      lx->i++;
      while (lx->i < n) {
        char d = s[lx->i];
        if (isalnum((unsigned char)d) || d == '_' || d == '.') lx->i++;
        else if ((d == '+' || d == '-') && (s[lx->i - 1] == 'e' || s[lx->i - 1] == 'E') &&
                 !(s[i] == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X'))) lx->i++;
        else break;
      }
      pf_push(lx, TK_NUM, i, line, col);
      continue;
    }
    if (pf_ident_start(c)) {
      pf_buf b = {0};
      while (lx->i < n && pf_ident_part((unsigned char)s[lx->i])) {
        if (s[lx->i] == '\\') { /* \uXXXX in a name: `\u0065val` is `eval` */
          if (lx->i + 1 < n && s[lx->i + 1] == 'u') lx->i = pf_escape(lx, lx->i + 1, &b);
          else lx->i++;
          continue;
        }
        pf_put(&b, s[lx->i++]);
      }
      pf_tok *t = pf_push(lx, TK_IDENT, i, line, col);
      if (!t || b.oom) {
        lx->oom = true;
        free(b.p);
        return;
      }
      t->val = b.p ? b.p : strdup("");
      if (!t->val) lx->oom = true;
      continue;
    }
    if (c == '/' && !pf_slash_divides(lx)) { /* regex literal */
      lx->i++;
      bool in_class = false, closed = false;
      while (lx->i < n) {
        char d = s[lx->i];
        if (d == '\n') break;
        if (d == '\\') {
          lx->i += 2;
          continue;
        }
        if (d == '[') in_class = true;
        else if (d == ']') in_class = false;
        else if (d == '/' && !in_class) {
          lx->i++;
          closed = true;
          break;
        }
        lx->i++;
      }
      if (lx->i > n) lx->i = n;
      while (lx->i < n && pf_ident_part((unsigned char)s[lx->i])) lx->i++; /* flags */
      if (!closed) pf_unterminated(lx, "regular expression literal", line, col);
      pf_push(lx, TK_REGEX, i, line, col);
      continue;
    }
    /* punctuators: the multi-char ones that matter for the rules, the rest one by one */
    pf_tok *t = pf_push(lx, TK_PUNCT, i, line, col);
    if (!t) return;
    static const char *const multi[] = {"?.", "++", "--", "=>", "..."};
    size_t len = 1;
    for (size_t k = 0; k < sizeof multi / sizeof *multi; k++) {
      size_t ml = strlen(multi[k]);
      if (i + ml <= n && !memcmp(s + i, multi[k], ml) && !(k == 0 && i + 2 < n && isdigit((unsigned char)s[i + 2]))) {
        len = ml;
        break;
      }
    }
    memcpy(t->punct, s + i, len);
    lx->i += len;
    if (c == '(') { /* remember whether this paren is a statement head: `if (x) /re/` */
      bool head = false;
      if (lx->ntoks >= 2) {
        const pf_tok *p = &lx->toks[lx->ntoks - 2];
        head = p->type == TK_IDENT && (!strcmp(p->val, "if") || !strcmp(p->val, "while") || !strcmp(p->val, "for") ||
                                       !strcmp(p->val, "with"));
      }
      if (lx->nparens == lx->pcap) {
        size_t nc = lx->pcap ? lx->pcap * 2 : 64;
        bool *np = realloc(lx->parens, nc * sizeof *np);
        if (!np) {
          lx->oom = true;
          return;
        }
        lx->parens = np;
        lx->pcap = nc;
      }
      lx->parens[lx->nparens++] = head;
    } else if (c == ')' && lx->nparens) {
      t->ctl_close = lx->parens[--lx->nparens];
    }
    if (c == '{') pf_brace_push(lx, '{', line, col);
    else if (c == '}' && lx->nbraces) lx->nbraces--;
  }
  /* a template whose ${ never closed */
  for (size_t k = 0; k < lx->nbraces; k++)
    if (lx->braces[k].kind == '$') {
      pf_unterminated(lx, "template literal", lx->braces[k].line, lx->braces[k].col);
      break;
    }
}

/* ---- rules -------------------------------------------------------------------------- */

typedef struct pf_ctx {
  pf_lexer *lx;
  const pkg_manifest *m;
  json_t *findings;
  bool blocked;
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
} pf_open;

static bool pf_in_call(const pf_open *st, size_t n) {
  for (size_t k = n; k-- > 0;) {
    if (st[k].kind == '[') continue;
    return st[k].kind == '(' && st[k].call;
  }
  return false;
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
      pf_strings(c, t, in_call);
      if (t->tpl_open && pf_grow(&st, &cap, depth)) {
        st[depth].kind = '$';
        st[depth].call = false;
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
        depth++;
      }
      continue;
    }
    if (t->type == TK_STR) {
      pf_strings(c, t, pf_in_call(st, depth));
      if (!strcmp(t->val, "child_process") || !strcmp(t->val, "node:child_process"))
        pf_find(c, t, "child-process", "warn", "reference to 'child_process', which does not exist in the sandbox",
                "Remove it: plugins cannot start processes; use a host-provided tool instead.", false);
      continue;
    }
    if (t->type != TK_IDENT) continue;
    const char *v = t->val;
    bool call_next = pf_is_punct(next, "(");
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
  *report = NULL;
  pf_lexer lx;
  memset(&lx, 0, sizeof lx);
  lx.s = src ? src : "";
  lx.n = src ? len : 0;
  lx.line = 1;
  pf_ctx c = {.lx = &lx, .m = manifest, .findings = json_array()};
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
  for (size_t i = 0; i < lx.ntoks; i++) free(lx.toks[i].val);
  free(lx.toks);
  free(lx.braces);
  free(lx.parens);
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

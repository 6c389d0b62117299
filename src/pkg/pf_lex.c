/*
 * pf_lex.c: the JavaScript tokenizer under preflight (see pf_lex.h for its design).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/pf_lex.h"

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
bool pf_operator_keyword(const char *v) {
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

void pf_lex(pf_lexer *lx) {
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

void pf_lexer_init(pf_lexer *lx, const char *src, size_t len) {
  memset(lx, 0, sizeof *lx);
  lx->s = src ? src : "";
  lx->n = src ? len : 0;
  lx->line = 1;
}

void pf_lexer_free(pf_lexer *lx) {
  for (size_t i = 0; i < lx->ntoks; i++) free(lx->toks[i].val);
  free(lx->toks);
  free(lx->braces);
  free(lx->parens);
}

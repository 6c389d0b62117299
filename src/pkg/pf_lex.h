/*
 * pf_lex.h: the JavaScript tokenizer under preflight (preflight.c), shared by nothing
 * else yet. It turns source into tokens (identifiers with \u escapes decoded, numbers,
 * strings and template chunks with escapes decoded, regex literals, punctuators),
 * skipping comments. Whether `/` starts a regex is decided by the previous significant
 * token: after something that ends an expression (a name that is not an operator
 * keyword, a literal, `)`, `]`, `}`, a closing template, `++`/`--`) it divides, otherwise
 * it starts a regex. Template literals keep a stack of open braces, so `}` closing a
 * `${` resumes the template text at any nesting depth. Bounded by the input: no
 * recursion, no backtracking; an allocation failure sets `oom` and stops.
 *
 * Threading: a lexer belongs to its caller.
 */
#ifndef AL_PKG_PF_LEX_H
#define AL_PKG_PF_LEX_H

#include "common.h"

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

/* Prepares `lx` over src[0..len) (borrowed until pf_lexer_free). */
void pf_lexer_init(pf_lexer *lx, const char *src, size_t len);
/* Tokenizes the whole source into lx->toks (lx->oom on allocation failure; what was left
 * open in lx->unterminated). */
void pf_lex(pf_lexer *lx);
/* Whether identifier `v` is a keyword after which an expression may start although it is
 * a name (typeof, return, ...): a `/` after one starts a regex, and a template after one
 * is no tagged call. */
bool pf_operator_keyword(const char *v);
/* Frees the tokens; `lx` itself is the caller's. */
void pf_lexer_free(pf_lexer *lx);

#endif

/*
 * semver.c: versions and ranges (semver.h). A range is first desugared into primitive
 * comparators (op, version), npm's way: `^1.2.3` becomes `>=1.2.3 <2.0.0`, `1.x` becomes
 * `>=1.0.0 <2.0.0`, and so on; a version satisfies a comparator set when it satisfies
 * every comparator, and a range when it satisfies one set. Parsing is by hand on a
 * bounded copy, so malformed input of any length is simply "invalid".
 */
#include "pkg/semver.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum { OP_EQ, OP_GT, OP_GE, OP_LT, OP_LE };

typedef struct sv_cmp {
  int op;
  semver v;
} sv_cmp;

#define SV_MAX_CMPS 32

/* A numeric identifier: digits, no leading zero unless "0", fits in 53 bits. */
static bool sv_num(const char *s, size_t n, uint64_t *out) {
  if (n == 0 || n > 15) return false;
  if (n > 1 && s[0] == '0') return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i])) return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return true;
}

/* Dot-separated identifiers of [0-9A-Za-z-]; numeric ones without leading zeros. */
static bool sv_idents(const char *s, size_t n, bool numeric_rule) {
  if (n == 0) return false;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '.') {
      size_t len = i - start;
      if (len == 0) return false;
      bool all_digits = true;
      for (size_t k = start; k < i; k++)
        if (!isdigit((unsigned char)s[k])) all_digits = false;
      if (numeric_rule && all_digits && len > 1 && s[start] == '0') return false;
      start = i + 1;
    } else if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
      return false;
    }
  }
  return true;
}

bool semver_parse(const char *s, semver *out) {
  if (!s) return false;
  size_t n = strlen(s);
  if (n > 256) return false;
  memset(out, 0, sizeof *out);
  const char *plus = memchr(s, '+', n);
  size_t core_n = plus ? (size_t)(plus - s) : n;
  if (plus && !sv_idents(plus + 1, n - core_n - 1, false)) return false;
  const char *dash = memchr(s, '-', core_n);
  size_t nums_n = dash ? (size_t)(dash - s) : core_n;
  if (dash) {
    size_t pre_n = core_n - nums_n - 1;
    if (!sv_idents(dash + 1, pre_n, true) || pre_n >= sizeof out->pre) return false;
    memcpy(out->pre, dash + 1, pre_n);
    out->pre[pre_n] = 0;
  }
  uint64_t parts[3];
  size_t start = 0, k = 0;
  for (size_t i = 0; i <= nums_n; i++) {
    if (i == nums_n || s[i] == '.') {
      if (k == 3 || !sv_num(s + start, i - start, &parts[k])) return false;
      k++;
      start = i + 1;
    }
  }
  if (k != 3) return false;
  out->major = parts[0];
  out->minor = parts[1];
  out->patch = parts[2];
  return true;
}

static int sv_u64cmp(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

/* Pre-release precedence: identifiers left to right; numeric < alphanumeric; numeric
 * ones compare as numbers; a shorter list that is a prefix is lower. */
static int sv_precmp(const char *a, const char *b) {
  if (!*a || !*b) return *a ? -1 : *b ? 1 : 0; /* no pre-release ranks higher */
  for (;;) {
    size_t la = strcspn(a, "."), lb = strcspn(b, ".");
    bool na = true, nb = true;
    for (size_t i = 0; i < la; i++) na = na && isdigit((unsigned char)a[i]);
    for (size_t i = 0; i < lb; i++) nb = nb && isdigit((unsigned char)b[i]);
    int c;
    if (na && nb) c = la != lb ? (la < lb ? -1 : 1) : strncmp(a, b, la);
    else if (na) c = -1;
    else if (nb) c = 1;
    else {
      size_t m = la < lb ? la : lb;
      c = strncmp(a, b, m);
      if (!c) c = la < lb ? -1 : la > lb;
    }
    if (c) return c < 0 ? -1 : 1;
    a += la;
    b += lb;
    if (!*a || !*b) return *a ? 1 : *b ? -1 : 0;
    a++;
    b++;
  }
}

int semver_cmp(const semver *a, const semver *b) {
  int c = sv_u64cmp(a->major, b->major);
  if (!c) c = sv_u64cmp(a->minor, b->minor);
  if (!c) c = sv_u64cmp(a->patch, b->patch);
  if (!c) c = sv_precmp(a->pre, b->pre);
  return c;
}

/* A partial version: X[.Y[.Z[-pre]]] where any of X/Y/Z may be x, X or * (and then the
 * rest must be too or absent). `parts` is how many numbers were given (0..3). */
typedef struct sv_partial {
  int parts;
  uint64_t n[3];
  char pre[128];
} sv_partial;

static bool sv_is_wild(const char *s, size_t n) {
  return n == 1 && (s[0] == 'x' || s[0] == 'X' || s[0] == '*');
}

static bool sv_parse_partial(const char *s, size_t n, sv_partial *p) {
  memset(p, 0, sizeof *p);
  if (n && (s[0] == 'v' || s[0] == 'V')) s++, n--;
  if (n == 0) return true; /* "" is "*" */
  const char *plus = memchr(s, '+', n);
  if (plus) {
    if (!sv_idents(plus + 1, n - (size_t)(plus - s) - 1, false)) return false;
    n = (size_t)(plus - s);
  }
  const char *dash = memchr(s, '-', n);
  size_t nums_n = dash ? (size_t)(dash - s) : n;
  size_t start = 0;
  bool wild = false;
  int k = 0;
  for (size_t i = 0; i <= nums_n; i++) {
    if (i == nums_n || s[i] == '.') {
      if (k == 3) return false;
      size_t len = i - start;
      if (sv_is_wild(s + start, len)) wild = true;
      else if (wild || !sv_num(s + start, len, &p->n[k])) return false;
      else p->parts = k + 1;
      k++;
      start = i + 1;
    }
  }
  if (dash) {
    size_t pre_n = n - nums_n - 1;
    if (p->parts != 3 || pre_n >= sizeof p->pre || !sv_idents(dash + 1, pre_n, true)) return false;
    memcpy(p->pre, dash + 1, pre_n);
  }
  return true;
}

static semver sv_make(uint64_t a, uint64_t b, uint64_t c, const char *pre) {
  semver v;
  memset(&v, 0, sizeof v);
  v.major = a;
  v.minor = b;
  v.patch = c;
  if (pre) strcpy(v.pre, pre);
  return v;
}

static bool sv_add(sv_cmp *set, int *n, int op, semver v) {
  if (*n >= SV_MAX_CMPS) return false;
  set[*n].op = op;
  set[*n].v = v;
  (*n)++;
  return true;
}

/* The lowest version a partial names, and the exclusive upper bound of its span. */
static semver sv_low(const sv_partial *p) { return sv_make(p->n[0], p->n[1], p->n[2], p->pre); }
static semver sv_span_end(const sv_partial *p) {
  if (p->parts == 1) return sv_make(p->n[0] + 1, 0, 0, NULL);
  return sv_make(p->n[0], p->n[1] + 1, 0, NULL); /* parts == 2 */
}

/* Desugars one comparator token (operator and partial already split) into the set. */
static bool sv_desugar(const char *op, const sv_partial *p, sv_cmp *set, int *n) {
  if (p->parts == 0) { /* wildcard: any version (op < * matches nothing) */
    if (!strcmp(op, "<") || !strcmp(op, ">")) return sv_add(set, n, OP_LT, sv_make(0, 0, 0, "0"));
    return sv_add(set, n, OP_GE, sv_make(0, 0, 0, NULL));
  }
  bool full = p->parts == 3;
  if (!strcmp(op, "") || !strcmp(op, "=")) {
    if (full) return sv_add(set, n, OP_EQ, sv_low(p));
    return sv_add(set, n, OP_GE, sv_low(p)) && sv_add(set, n, OP_LT, sv_span_end(p));
  }
  if (!strcmp(op, ">")) return full ? sv_add(set, n, OP_GT, sv_low(p)) : sv_add(set, n, OP_GE, sv_span_end(p));
  if (!strcmp(op, ">=")) return sv_add(set, n, OP_GE, sv_low(p));
  if (!strcmp(op, "<")) return sv_add(set, n, OP_LT, sv_low(p));
  if (!strcmp(op, "<=")) return full ? sv_add(set, n, OP_LE, sv_low(p)) : sv_add(set, n, OP_LT, sv_span_end(p));
  if (!strcmp(op, "~")) {
    semver hi = p->parts == 1 ? sv_make(p->n[0] + 1, 0, 0, NULL) : sv_make(p->n[0], p->n[1] + 1, 0, NULL);
    return sv_add(set, n, OP_GE, sv_low(p)) && sv_add(set, n, OP_LT, hi);
  }
  if (!strcmp(op, "^")) {
    semver hi;
    if (p->n[0] > 0 || p->parts == 1) hi = sv_make(p->n[0] + 1, 0, 0, NULL);
    else if (p->n[1] > 0 || p->parts == 2) hi = sv_make(0, p->n[1] + 1, 0, NULL);
    else hi = sv_make(0, 0, p->n[2] + 1, NULL);
    return sv_add(set, n, OP_GE, sv_low(p)) && sv_add(set, n, OP_LT, hi);
  }
  return false;
}

static bool sv_test(const sv_cmp *c, const semver *v) {
  int r = semver_cmp(v, &c->v);
  switch (c->op) {
  case OP_EQ: return r == 0;
  case OP_GT: return r > 0;
  case OP_GE: return r >= 0;
  case OP_LT: return r < 0;
  default: return r <= 0;
  }
}

static bool sv_is_op(const char *t) { return t[0] && strspn(t, "<>=~^") == strlen(t); }

/* Parses one `||` alternative (s, n) into comparators. */
static bool sv_parse_set(const char *s, size_t n, sv_cmp *set, int *count) {
  char toks[SV_MAX_CMPS][160];
  int nt = 0;
  bool glue = false; /* the previous token was a bare operator (">= 1.2.3") */
  size_t i = 0;
  *count = 0;
  while (i < n) {
    while (i < n && isspace((unsigned char)s[i])) i++;
    if (i == n) break;
    size_t st = i;
    while (i < n && !isspace((unsigned char)s[i])) i++;
    size_t len = i - st;
    if (glue) {
      size_t pl = strlen(toks[nt - 1]);
      if (pl + len >= sizeof toks[0] || strspn(s + st, "<>=~^")) return false;
      memcpy(toks[nt - 1] + pl, s + st, len);
      toks[nt - 1][pl + len] = 0;
      glue = false;
      continue;
    }
    if (nt == SV_MAX_CMPS || len >= sizeof toks[0]) return false;
    memcpy(toks[nt], s + st, len);
    toks[nt][len] = 0;
    glue = sv_is_op(toks[nt]);
    nt++;
  }
  if (glue) return false;
  if (nt == 0) return sv_add(set, count, OP_GE, sv_make(0, 0, 0, NULL)); /* "" = "*" */
  if (nt == 3 && !strcmp(toks[1], "-")) { /* hyphen range */
    sv_partial lo, hi;
    if (!sv_parse_partial(toks[0], strlen(toks[0]), &lo) || !sv_parse_partial(toks[2], strlen(toks[2]), &hi))
      return false;
    if (!sv_add(set, count, OP_GE, sv_low(&lo))) return false;
    if (hi.parts == 0) return true;
    return hi.parts == 3 ? sv_add(set, count, OP_LE, sv_low(&hi)) : sv_add(set, count, OP_LT, sv_span_end(&hi));
  }
  for (int t = 0; t < nt; t++) {
    const char *tok = toks[t];
    size_t ol = strspn(tok, "<>=~^");
    char op[3] = {0};
    if (ol > 2) return false;
    memcpy(op, tok, ol);
    if (ol == 2 && strcmp(op, ">=") && strcmp(op, "<=")) return false;
    sv_partial p;
    if (!sv_parse_partial(tok + ol, strlen(tok + ol), &p)) return false;
    if (!tok[ol] && ol) return false;
    if (!sv_desugar(op, &p, set, count)) return false;
  }
  return true;
}

/* Walks the `||` alternatives; with version NULL only checks syntax. */
static bool sv_range(const char *range, const semver *v, bool *matched) {
  if (!range || strlen(range) > 1024) return false;
  *matched = false;
  const char *s = range;
  for (;;) {
    const char *bar = strstr(s, "||");
    size_t n = bar ? (size_t)(bar - s) : strlen(s);
    sv_cmp set[SV_MAX_CMPS];
    int count;
    if (!sv_parse_set(s, n, set, &count)) return false;
    if (v && !*matched) {
      bool ok = true, pre_allowed = !v->pre[0];
      for (int i = 0; i < count && ok; i++) {
        ok = sv_test(&set[i], v);
        if (set[i].v.pre[0] && set[i].v.major == v->major && set[i].v.minor == v->minor &&
            set[i].v.patch == v->patch)
          pre_allowed = true;
      }
      if (ok && pre_allowed) *matched = true;
    }
    if (!bar) break;
    s = bar + 2;
  }
  return true;
}

bool semver_range_valid(const char *range) {
  bool m;
  return sv_range(range, NULL, &m);
}

bool semver_satisfies(const char *version, const char *range) {
  semver v;
  bool m = false;
  if (!semver_parse(version, &v)) return false;
  return sv_range(range, &v, &m) && m;
}

/*
 * wants.c: what a pi package asks to do, and which files make one (wants.h).
 *
 * One file is lexed once (pf_lex.c, the tokenizer preflight uses, so a call in a comment
 * or a string is never a want) and walked twice, linearly: first for what the file binds
 * (does it name child_process or fs; under which local names: `import * as cp from
 * "node:child_process"`, `const fs = require("fs")`, `import { execSync as run }`), then
 * for the calls. A call's first argument is "literal" when it is a single string token
 * (or a template without substitutions) followed by `,` or `)`; anything else gives the
 * broad pattern of its kind. The token walk keeps no stack, so hostile nesting costs
 * nothing but tokens, and the tokenizer's own bounds hold.
 */
#define _GNU_SOURCE
#include "pkg/wants.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract/utf8.h"
#include "hooks/capability.h"
#include "hooks/match.h"
#include "pkg/paths.h"
#include "pkg/pf_lex.h"
#include "pkg/preflight.h"

static const char *const known_caps[] = {"exec", "fs_read", "fs_write", "network", "env_vars"};

bool pkg_wants_cap_known(const char *cap) {
  for (size_t i = 0; cap && i < sizeof known_caps / sizeof *known_caps; i++)
    if (!strcmp(cap, known_caps[i])) return true;
  return false;
}

/* ---- one file --------------------------------------------------------------------- */

enum { W_MAX_ALIAS = 32 };

/* A local name for a module function: `run` for `import { execSync as run }`. */
typedef struct w_alias {
  const char *local, *name; /* borrowed from the tokens */
} w_alias;

typedef struct w_file {
  const pf_lexer *lx;
  const char *file;
  json_t *wants;
  size_t *dropped;
  bool has_cp, has_fs, oom;
  const char *cp_ns[8], *fs_ns[8]; /* namespace bindings (`cp` in cp.execSync) */
  size_t ncp, nfs;
  w_alias alias[W_MAX_ALIAS];
  size_t nalias;
} w_file;

static const pf_tok *w_at(const w_file *w, size_t i) { return i < w->lx->ntoks ? &w->lx->toks[i] : NULL; }
static bool w_punct(const pf_tok *t, const char *p) { return t && t->type == TK_PUNCT && !strcmp(t->punct, p); }
static bool w_ident(const pf_tok *t, const char *v) { return t && t->type == TK_IDENT && !strcmp(t->val, v); }
static bool w_dot(const pf_tok *t) { return w_punct(t, ".") || w_punct(t, "?."); }

static bool w_in(const char *v, const char *const *list, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    if (!strcmp(v, list[i])) return true;
  return false;
}

static const char *const cp_mods[] = {"child_process", "node:child_process"};
static const char *const fs_mods[] = {"fs", "node:fs", "fs/promises", "node:fs/promises"};
/* child_process's command sinks; spawn throws ENOSYS in Airlock but asks all the same */
static const char *const cp_fns[] = {"exec", "execSync", "execFile", "execFileSync", "spawn", "spawnSync"};
static const char *const fs_reads[] = {"readFileSync", "readFile", "existsSync", "readdirSync", "readdir",
                                       "statSync", "stat", "lstatSync", "lstat", "access", "accessSync",
                                       "createReadStream", "opendir", "opendirSync", "realpath", "realpathSync"};
static const char *const fs_writes[] = {"writeFileSync", "writeFile", "appendFileSync", "appendFile",
                                        "createWriteStream", "mkdirSync", "mkdir", "rmSync", "rm", "unlinkSync",
                                        "unlink", "renameSync", "rename", "copyFileSync", "copyFile"};
static const char *const bash_fns[] = {"createBashTool", "createBashToolDefinition", "createLocalBashOperations"};
#define N(a) (sizeof a / sizeof *a)

/* Records what the file binds to a module named at token s (a string). */
static void w_bind(w_file *w, size_t s, bool cp) {
  const char **ns = cp ? w->cp_ns : w->fs_ns;
  size_t *n = cp ? &w->ncp : &w->nfs;
  const pf_tok *p1 = s ? w_at(w, s - 1) : NULL;
  const char *local = NULL;
  if (w_ident(p1, "from") && s >= 2) {
    /* import X from / import * as X from / import X, { ... } from */
    size_t k = s - 2;
    const pf_tok *t = w_at(w, k);
    if (t && t->type == TK_IDENT && k >= 1 && (w_ident(w_at(w, k - 1), "as") || w_ident(w_at(w, k - 1), "import")))
      local = t->val;
    else if (w_punct(t, "}")) { /* import X, { ... } from: X before the brace */
      size_t j = k;
      while (j > 0 && !w_punct(w_at(w, j), "{")) j--;
      if (j >= 2 && w_punct(w_at(w, j - 1), ",") && w_at(w, j - 2)->type == TK_IDENT) local = w_at(w, j - 2)->val;
    }
  } else if (w_punct(p1, "(") && s >= 4 && (w_ident(w_at(w, s - 2), "require") || w_ident(w_at(w, s - 2), "import"))) {
    /* X = require("m") / X = await import("m") */
    size_t k = s - 3;
    if (w_ident(w_at(w, k), "await") && k) k--;
    if (w_punct(w_at(w, k), "=") && k && w_at(w, k - 1)->type == TK_IDENT) local = w_at(w, k - 1)->val;
  }
  if (local && *n < 8) ns[(*n)++] = local;
}

static bool w_ns(const w_file *w, const char *v, bool cp) {
  if (!v) return false; /* called on something that is not a name: (a || b).exec( */
  const char *const *ns = cp ? w->cp_ns : w->fs_ns;
  size_t n = cp ? w->ncp : w->nfs;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(ns[i], v)) return true;
  return cp ? !strcmp(v, "child_process") : (!strcmp(v, "fs") || !strcmp(v, "fsp") || !strcmp(v, "promises"));
}

/* The module-level facts first: which modules, which local names. */
static void w_prepass(w_file *w) {
  for (size_t i = 0; i < w->lx->ntoks; i++) {
    const pf_tok *t = w_at(w, i);
    if (t->type == TK_STR && w_in(t->val, cp_mods, N(cp_mods))) {
      w->has_cp = true;
      w_bind(w, i, true);
    } else if (t->type == TK_STR && w_in(t->val, fs_mods, N(fs_mods))) {
      w->has_fs = true;
      w_bind(w, i, false);
    } else if (t->type == TK_IDENT && i + 2 < w->lx->ntoks && w->nalias < W_MAX_ALIAS &&
               (w_in(t->val, cp_fns, N(cp_fns)) || w_in(t->val, fs_reads, N(fs_reads)) ||
                w_in(t->val, fs_writes, N(fs_writes)))) {
      /* { execSync as run } (import) or { execSync: run } (destructuring) */
      const pf_tok *mid = w_at(w, i + 1), *loc = w_at(w, i + 2), *prev = i ? w_at(w, i - 1) : NULL;
      if (loc->type == TK_IDENT && (w_ident(mid, "as") || (w_punct(mid, ":") && (w_punct(prev, "{") || w_punct(prev, ",")))))
        w->alias[w->nalias++] = (w_alias){loc->val, t->val};
    }
  }
}

static const char *w_unalias(const w_file *w, const char *v) {
  for (size_t i = 0; i < w->nalias; i++)
    if (!strcmp(w->alias[i].local, v)) return w->alias[i].name;
  return v;
}

/* A file name as the wants and findings name it: JSON text is UTF-8. */
static const char *w_name(const char *file) {
  return !file ? "" : utf8_valid(file, strlen(file)) ? file : "(a file whose name is not UTF-8)";
}

/* Adds one want unless (cap, pattern) is there already. A literal that is empty or not
 * UTF-8 names nothing a grant could: the want is the broad one of its kind. */
static void w_add(w_file *w, const pf_tok *at, const char *cap, const char *pattern, bool broad) {
  if (w->oom || !pattern) {
    if (!pattern) w->oom = true;
    return;
  }
  if (!pattern[0] || !utf8_valid(pattern, strlen(pattern))) { /* process.env[""], or not UTF-8 */
    pattern = !strncmp(cap, "fs_", 3) ? "$CWD/**" : "*";
    broad = true;
  }
  size_t i;
  json_t *e;
  json_array_foreach(w->wants, i, e) {
    if (!strcmp(json_string_value(json_object_get(e, "cap")), cap) &&
        !strcmp(json_string_value(json_object_get(e, "pattern")), pattern))
      return;
  }
  if (json_array_size(w->wants) >= PKG_WANTS_MAX) {
    if (w->dropped) (*w->dropped)++;
    return;
  }
  json_t *o = json_pack("{s:s,s:s,s:b,s:s,s:i,s:i}", "cap", cap, "pattern", pattern, "broad", broad, "file",
                        w_name(w->file), "line", at->line, "column", at->col);
  if (!o || json_array_append_new(w->wants, o)) w->oom = true;
}

/* The literal first argument of the call whose '(' is at token p, or NULL. */
static const char *w_literal(const w_file *w, size_t p) {
  const pf_tok *a = w_at(w, p + 1), *after = w_at(w, p + 2);
  if (!a || !(w_punct(after, ",") || w_punct(after, ")"))) return NULL;
  if (a->type == TK_STR) return a->val;
  if (a->type == TK_TEMPLATE && a->tpl_head && !a->tpl_open) return a->val;
  return NULL;
}

/* A word as the exec line writes it, followed by " *" (pi.exec("git", ...) -> "git *"). */
static char *w_cmd_pattern(const char *cmd) {
  char *line = hk_exec_line(cmd, NULL, 0);
  if (!line) return NULL;
  size_t n = strlen(line);
  char *p = malloc(n + 3);
  if (p) {
    memcpy(p, line, n);
    memcpy(p + n, " *", 3);
  }
  free(line);
  return p;
}

static void w_exec(w_file *w, const pf_tok *at, size_t paren, bool shell) {
  const char *lit = w_literal(w, paren);
  if (shell) { /* execSync(CMD) / exec(CMD): the runtime runs sh -c CMD */
    if (!lit) {
      w_add(w, at, "exec", "sh -c *", true);
      return;
    }
    const char *args[] = {"-c", lit};
    char *line = hk_exec_line("sh", args, 2);
    w_add(w, at, "exec", line, false);
    free(line);
    return;
  }
  /* pi.exec(FILE, args) / execFile(FILE, args): FILE with any arguments */
  if (!lit || !lit[0]) {
    w_add(w, at, "exec", "*", true);
    return;
  }
  char *p = w_cmd_pattern(lit);
  w_add(w, at, "exec", p, false);
  free(p);
}

static void w_fs(w_file *w, const pf_tok *at, size_t paren, bool write) {
  const char *cap = write ? "fs_write" : "fs_read";
  const char *lit = w_literal(w, paren);
  if (!lit || !lit[0]) {
    w_add(w, at, cap, "$CWD/**", true);
    return;
  }
  if (lit[0] == '/' || lit[0] == '$') {
    w_add(w, at, cap, lit, false);
    return;
  }
  while (lit[0] == '.' && lit[1] == '/') lit += 2;
  size_t n = strlen(lit);
  char *p = malloc(n + 6);
  if (p) {
    memcpy(p, "$CWD/", 5);
    memcpy(p + 5, lit, n + 1);
  }
  w_add(w, at, cap, p, false);
  free(p);
}

static void w_fetch(w_file *w, const pf_tok *at, size_t paren) {
  const pf_tok *a = w_at(w, paren + 1);
  const char *url = w_literal(w, paren);
  /* `https://api.example.com/v1/${path}`: the host is in the head chunk */
  if (!url && a && a->type == TK_TEMPLATE && a->tpl_head && a->tpl_open) {
    const char *sep = strstr(a->val, "://");
    if (sep && strchr(sep + 3, '/')) url = a->val;
  }
  char host[300];
  int port = 0;
  bool https = false;
  if (!url || hk_url_parse_ex(url, host, sizeof host, &port, &https, NULL)) {
    w_add(w, at, "network", "*", true);
    return;
  }
  char pat[320];
  if (port && port != (https ? 443 : 80)) snprintf(pat, sizeof pat, "%s:%d", host, port);
  else snprintf(pat, sizeof pat, "%s", host);
  w_add(w, at, "network", pat, false);
}

/* process.env.NAME / process.env["NAME"] / process.env anything else (broad). */
static void w_env(w_file *w, size_t i) {
  const pf_tok *t = w_at(w, i);
  const pf_tok *a = w_at(w, i + 3), *b = w_at(w, i + 4), *c = w_at(w, i + 5);
  if (w_dot(a) && b && b->type == TK_IDENT) w_add(w, t, "env_vars", b->val, false);
  else if (w_punct(a, "[") && b && b->type == TK_STR && w_punct(c, "]")) w_add(w, t, "env_vars", b->val, false);
  else w_add(w, t, "env_vars", "*", true);
}

static void w_calls(w_file *w) {
  size_t n = w->lx->ntoks;
  for (size_t i = 0; i < n && !w->oom; i++) {
    const pf_tok *t = w_at(w, i);
    if (t->type != TK_IDENT) continue;
    const pf_tok *prev = i ? w_at(w, i - 1) : NULL, *next = w_at(w, i + 1);
    bool member = w_dot(prev);
    const pf_tok *obj = member && i >= 2 ? w_at(w, i - 2) : NULL;
    const char *objname = obj && obj->type == TK_IDENT ? obj->val : NULL;
    if (!strcmp(t->val, "process") && !member && w_dot(next) && w_ident(w_at(w, i + 2), "env")) {
      w_env(w, i);
      continue;
    }
    if (!w_punct(next, "(")) continue;
    /* a declaration (`function exec(`, `async execSync(` in a class) is no call */
    if (prev && (w_ident(prev, "function") || (prev->type == TK_IDENT && !member && !strcmp(prev->val, "async"))))
      continue;
    const char *name = member ? t->val : w_unalias(w, t->val);
    if (member && w_ident(obj, "pi") && !strcmp(name, "exec")) {
      w_exec(w, t, i + 1, false);
    } else if (w_in(name, bash_fns, N(bash_fns)) && (!member || objname)) {
      w_add(w, t, "exec", "bash -c *", true);
    } else if (w->has_cp && w_in(name, cp_fns, N(cp_fns)) && (!member || w_ns(w, objname, true))) {
      w_exec(w, t, i + 1, !strcmp(name, "exec") || !strcmp(name, "execSync"));
    } else if (w->has_fs && (!member || w_ns(w, objname, false)) && w_in(name, fs_reads, N(fs_reads))) {
      w_fs(w, t, i + 1, false);
    } else if (w->has_fs && (!member || w_ns(w, objname, false)) && w_in(name, fs_writes, N(fs_writes))) {
      w_fs(w, t, i + 1, true);
    } else if (!strcmp(name, "fetch") && (!member || w_ident(obj, "globalThis"))) {
      w_fetch(w, t, i + 1);
    }
  }
}

int pkg_wants_scan(const char *file, const char *src, size_t len, json_t *wants, size_t *dropped, al_error *err) {
  if (!wants || (!src && len)) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "wants: missing argument");
  pf_lexer lx;
  pf_lexer_init(&lx, src ? src : "", len);
  pf_lex(&lx);
  w_file w = {.lx = &lx, .file = file, .wants = wants, .dropped = dropped, .oom = lx.oom};
  if (!w.oom) {
    w_prepass(&w);
    w_calls(&w);
  }
  pf_lexer_free(&lx);
  return w.oom ? err_set(err, AL_ENO_MEMORY, NULL, "out of memory deriving a package's wants") : 0;
}

/* ---- a package's tree ----------------------------------------------------------------- */

static bool w_source_file(const char *name) {
  static const char *const exts[] = {".ts", ".js", ".mjs", ".cjs", ".mts", ".cts", ".tsx", ".jsx"};
  const char *dot = strrchr(name, '.');
  if (!dot || (strlen(name) > 5 && !strcmp(name + strlen(name) - 5, ".d.ts"))) return false;
  return w_in(dot, exts, N(exts));
}

static int w_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct w_list {
  char **v;
  size_t n, cap;
} w_list;

static bool w_push(w_list *l, char *s) {
  if (!s) return false;
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 32;
    char **nv = realloc(l->v, nc * sizeof *nv);
    if (!nv) {
      free(s);
      return false;
    }
    l->v = nv;
    l->cap = nc;
  }
  l->v[l->n++] = s;
  return true;
}

static void w_list_free(w_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
}

static char *w_join(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *s = malloc(na + nb + 2);
  if (!s) return NULL;
  memcpy(s, a, na);
  s[na] = na ? '/' : '\0';
  memcpy(s + na + (na ? 1 : 0), b, nb + 1);
  return s;
}

/* Every source file under dir (relative paths), with an explicit stack of folders. */
static int w_collect(const char *dir, w_list *files, al_error *err) {
  w_list stack = {0};
  int rc = 0;
  char *root = strdup("");
  if (!w_push(&stack, root)) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  while (!rc && stack.n && files->n < PKG_WANTS_MAX_FILES) {
    char *rel = stack.v[--stack.n];
    size_t depth = 0;
    for (const char *p = rel; *p; p++) depth += *p == '/';
    char *abs = rel[0] ? w_join(dir, rel) : strdup(dir);
    DIR *d = abs ? opendir(abs) : NULL;
    if (!abs) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    struct dirent *e;
    while (!rc && d && (e = readdir(d))) {
      if (e->d_name[0] == '.' || !strcmp(e->d_name, "node_modules")) continue;
      char *r = w_join(rel, e->d_name), *full = r ? w_join(dir, r) : NULL;
      struct stat st;
      if (!r || !full) {
        rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
      } else if (lstat(full, &st)) {
        /* gone since readdir: nothing to read */
      } else if (S_ISDIR(st.st_mode) && depth + 1 < PKG_WANTS_MAX_DEPTH) {
        if (!w_push(&stack, r)) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
        r = NULL;
      } else if (S_ISREG(st.st_mode) && w_source_file(e->d_name) && files->n < PKG_WANTS_MAX_FILES) {
        if (!w_push(files, r)) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
        r = NULL;
      }
      free(r);
      free(full);
    }
    if (d) closedir(d);
    free(abs);
    free(rel);
  }
  w_list_free(&stack);
  if (!rc) qsort(files->v, files->n, sizeof *files->v, w_cmp);
  return rc;
}

/* One file's pi-profile preflight findings into `findings`, each message prefixed with
 * the file's name; *blocked set when one blocks. */
static int w_preflight(const char *rel, const char *src, size_t len, json_t *findings, bool *blocked, al_error *err) {
  json_t *rep = NULL;
  int rc = pkg_preflight_profile(src, len, NULL, "pi", &rep, err);
  if (rc) return rc;
  if (json_is_true(json_object_get(rep, "blocked"))) *blocked = true;
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(rep, "findings"), i, f) {
    char msg[PATH_MAX + 600]; /* the whole name: a cut one may end inside a UTF-8 sequence */
    snprintf(msg, sizeof msg, "%s: %s", w_name(rel), json_string_value(json_object_get(f, "message")));
    if (json_object_set_new(f, "message", json_string(msg)) || json_object_set_new(f, "file", json_string(w_name(rel))) ||
        json_array_append(findings, f)) {
      rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
      break;
    }
  }
  json_decref(rep);
  return rc;
}

int pkg_wants_dir(const char *dir, json_t **out, json_t **preflight, al_error *err) {
  *out = NULL;
  if (preflight) *preflight = NULL;
  if (!dir) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "wants: no directory");
  w_list files = {0};
  json_t *wants = json_array(), *findings = preflight ? json_array() : NULL;
  size_t dropped = 0;
  bool blocked = false;
  int rc = wants && (findings || !preflight) ? w_collect(dir, &files, err)
                                             : err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  for (size_t i = 0; !rc && i < files.n; i++) {
    char *full = w_join(dir, files.v[i]);
    size_t len = 0;
    char *src = full ? pkg_read_file(full, PKG_WANTS_MAX_FILE, &len) : NULL;
    if (!full || (!src && errno == ENOMEM)) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    else if (!src) rc = err_set(err, AL_EIO, NULL, "cannot read %s: %s", full, strerror(errno));
    else rc = pkg_wants_scan(files.v[i], src, len, wants, &dropped, err);
    if (!rc && findings) rc = w_preflight(files.v[i], src, len, findings, &blocked, err);
    free(src);
    free(full);
  }
  if (!rc && !(*out = json_pack("{s:O,s:I,s:I}", "wants", wants, "files", (json_int_t)files.n, "dropped",
                                (json_int_t)dropped)))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc && preflight && !(*preflight = json_pack("{s:b,s:O}", "blocked", blocked, "findings", findings))) {
    json_decref(*out);
    *out = NULL;
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  json_decref(wants);
  json_decref(findings);
  w_list_free(&files);
  return rc;
}

char *pkg_wants_text(const json_t *wants) {
  size_t cap = 1, i;
  json_t *e;
  json_array_foreach(wants, i, e)
    cap += strlen(json_string_value(json_object_get(e, "cap"))) + strlen(json_string_value(json_object_get(e, "pattern"))) + 3;
  char *s = malloc(cap);
  if (!s) return NULL;
  size_t n = 0;
  json_array_foreach(wants, i, e)
    n += (size_t)snprintf(s + n, cap - n, "%s%s %s", i ? ", " : "", json_string_value(json_object_get(e, "cap")),
                          json_string_value(json_object_get(e, "pattern")));
  s[n] = '\0';
  return s;
}

/* ---- the pi rule (docs/pi-extensions.md) ------------------------------------------------ */

static bool pi_is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

bool pkg_pi_module_file(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (!strcmp(dot, ".ts") || !strcmp(dot, ".js") || !strcmp(dot, ".mjs"));
}

static int pi_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int pkg_pi_entries(const char *dir, const json_t *pkgjson, json_t **out, al_error *err) {
  *out = NULL;
  json_t *a = json_array();
  if (!a) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  const json_t *list = json_object_get(json_object_get(pkgjson, "pi"), "extensions");
  char p[4200];
  size_t i;
  json_t *e;
  bool oom = false;
  json_array_foreach(list, i, e) {
    const char *rel = json_string_value(e);
    if (!rel) continue;
    while (rel[0] == '.' && rel[1] == '/') rel += 2;
    if (json_array_append_new(a, json_string(rel))) oom = true;
  }
  if (!json_array_size(a) && !oom) {
    snprintf(p, sizeof p, "%s/extensions", dir);
    DIR *d = opendir(p);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while (d && n < 256 && (de = readdir(d))) {
      if (de->d_name[0] == '.') continue;
      char q[sizeof p + 260];
      if (snprintf(q, sizeof q, "%s/%s", p, de->d_name) >= (int)sizeof q) continue;
      char *found = NULL;
      if (pkg_pi_module_file(de->d_name) && pi_is_file(q)) {
        size_t l = strlen(de->d_name) + 12;
        if ((found = malloc(l))) snprintf(found, l, "extensions/%s", de->d_name);
        else oom = true;
      } else {
        static const char *const idx[] = {"index.ts", "index.js", "index.mjs"};
        for (size_t k = 0; !found && k < 3; k++) {
          char r[sizeof q + 16];
          if (snprintf(r, sizeof r, "%s/%s", q, idx[k]) >= (int)sizeof r) continue;
          size_t l = strlen(de->d_name) + strlen(idx[k]) + 13;
          if (!pi_is_file(r)) continue;
          if ((found = malloc(l))) snprintf(found, l, "extensions/%s/%s", de->d_name, idx[k]);
          else oom = true;
        }
      }
      if (found) names[n++] = found;
    }
    if (d) closedir(d);
    qsort(names, n, sizeof *names, pi_cmp);
    for (size_t k = 0; k < n; k++) {
      if (json_array_append_new(a, json_string(names[k]))) oom = true;
      free(names[k]);
    }
  }
  static const char *const roots[] = {"index.ts", "index.js", "index.mjs"};
  for (size_t k = 0; !oom && !json_array_size(a) && k < 3; k++) {
    snprintf(p, sizeof p, "%s/%s", dir, roots[k]);
    if (pi_is_file(p) && json_array_append_new(a, json_string(roots[k]))) oom = true;
  }
  if (oom) {
    json_decref(a);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  if (!json_array_size(a)) {
    json_decref(a);
    return err_set(err, AL_EPLUGIN_LOAD, dir, "%.200s has no Airlock manifest and no pi extension (package.json "
                   "pi.extensions, an extensions/ folder, or index.ts)", dir);
  }
  *out = a;
  return 0;
}

int pkg_pi_package_json(const char *dir, json_t **out, al_error *err) {
  *out = NULL;
  char p[PATH_MAX];
  if (snprintf(p, sizeof p, "%s/package.json", dir) >= (int)sizeof p)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%.200s: the path is too long", dir);
  if (access(p, F_OK)) return 0;
  json_error_t je;
  if ((*out = json_load_file(p, 0, &je))) return 0;
  if (json_error_code(&je) == json_error_out_of_memory) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory reading %s", p);
  return err_set(err, AL_EINVALID_ARGUMENT, p, "%s: %s (line %d)", p, je.text, je.line);
}

int pkg_pi_package(const char *dir, json_t **pkgjson, json_t **entries, al_error *err) {
  if (pkgjson) *pkgjson = NULL;
  if (entries) *entries = NULL;
  char p[PATH_MAX];
  if (snprintf(p, sizeof p, "%s/airlock.json", dir) >= (int)sizeof p || !access(p, F_OK)) return 0;
  json_t *pkg = NULL, *found = NULL;
  int rc = pkg_pi_package_json(dir, &pkg, err);
  if (rc) return -rc;
  bool airlock = json_object_get(pkg, "airlock") != NULL;
  rc = airlock ? AL_EPLUGIN_LOAD : pkg_pi_entries(dir, pkg, &found, err);
  if (!rc && pkgjson) *pkgjson = json_incref(pkg);
  if (!rc && entries) *entries = json_incref(found);
  json_decref(found);
  json_decref(pkg);
  return rc == AL_ENO_MEMORY ? -rc : !rc;
}

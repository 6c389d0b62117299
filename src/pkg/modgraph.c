/*
 * modgraph.c: the host's half of ES module plugins (modgraph.h): resolving specifiers,
 * reading files, transpiling the TypeScript ones, and building the map a load request
 * carries to the worker.
 *
 * Resolution follows what TypeScript and Node do for a package, restricted to it:
 * - a relative specifier ("./x.js", "../lib/y") names a file from the importing file's
 *   directory: the exact file, else for x.js (.mjs, .jsx) the x.ts / x.tsx (.mts) that
 *   compiles to it, as TypeScript resolves; without an extension, x + .ts .tsx .js .mjs,
 *   then x/index with the same extensions;
 * - a bare specifier ("pkg", "@scope/pkg/sub") names a package in a node_modules
 *   directory between the importing file and the package root (the nearest first); its
 *   package.json "exports" (conditions "import", "module", "default") decides, else
 *   "module", else "main", else index.js; a subpath without "exports" is a file in it;
 * - nothing outside the package directory is ever read: every file found is realpath()ed
 *   and must lie under the real package directory (so a symlink cannot lead out), and a
 *   specifier that would leave it is refused, naming the importing file, its line and
 *   the specifier. Absolute specifiers and URLs ("node:fs", "https:") are refused alike.
 * A pi extension's graph (pkg_modgraph_pi) also resolves the modules pi's runtime provides
 * (`@mariozechner/pi-coding-agent`, `node:fs`, ...) to virtual modules: a few lines of
 * code, made here, that re-export what the VM's pi profile (vm/pi_ext.js) implements; a
 * package's own node_modules copy of typebox still wins over the virtual one.
 * Caps: PKG_MOD_MAX_FILES modules and PKG_MOD_MAX_BYTES of source per graph, so a
 * package cannot make the host read without end.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pkg/modgraph.h"
#include "pkg/paths.h"
#include "pkg/transpile.h"

#define MG_PATH 4096

bool pkg_is_module_name(const char *name, bool type_module) {
  const char *dot = name ? strrchr(name, '.') : NULL;
  if (!dot || strchr(dot, '/')) return false;
  if (!strcmp(dot, ".ts") || !strcmp(dot, ".tsx") || !strcmp(dot, ".mts") || !strcmp(dot, ".mjs"))
    return true;
  return type_module && !strcmp(dot, ".js");
}

/* ---- package.json "exports" ----------------------------------------------------------- */

/* A conditions value (string, array, object of conditions, null) -> its target. */
static const char *mg_conditions(const json_t *v, int depth) {
  if (depth > 16) return NULL;
  if (json_is_string(v)) return json_string_value(v);
  if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++) {
      const char *t = mg_conditions(json_array_get(v, i), depth + 1);
      if (t) return t;
    }
    return NULL;
  }
  if (!json_is_object(v)) return NULL;
  /* Node takes the first key, in the object's order, among the conditions it meets. */
  const char *k;
  json_t *val;
  json_object_foreach((json_t *)v, k, val) {
    if (strcmp(k, "import") && strcmp(k, "module") && strcmp(k, "default")) continue;
    const char *t = mg_conditions(val, depth + 1);
    if (t) return t;
  }
  return NULL;
}

int pkg_exports_target(const json_t *pkg, const char *sub, char *out, size_t cap) {
  const json_t *ex = json_object_get(pkg, "exports");
  const char *t = NULL;
  char buf[MG_PATH];
  if (!ex || !sub) return -1;
  bool subpaths = false;
  if (json_is_object(ex)) {
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)ex, k, val) {
      subpaths = k[0] == '.';
      break;
    }
  }
  if (!subpaths) {
    if (strcmp(sub, ".")) return -1;
    t = mg_conditions(ex, 0);
  } else if (json_object_get(ex, sub)) {
    t = mg_conditions(json_object_get(ex, sub), 0);
  } else {
    /* a key with one star, "./features/STAR" -> "./src/features/STAR.js" (STAR being
     * "*"), matches what it stands for; the longest prefix wins */
    const char *k, *best = NULL;
    json_t *val, *bestv = NULL;
    size_t best_len = 0;
    json_object_foreach((json_t *)ex, k, val) {
      const char *star = strchr(k, '*');
      if (!star || strchr(star + 1, '*')) continue;
      size_t pre = (size_t)(star - k), post = strlen(star + 1), n = strlen(sub);
      if (n < pre + post || strncmp(sub, k, pre) || strcmp(sub + n - post, star + 1)) continue;
      if (!best || pre > best_len) {
        best = k;
        bestv = val;
        best_len = pre;
      }
    }
    if (!best) return -1;
    const char *pat = mg_conditions(bestv, 0);
    const char *star = pat ? strchr(pat, '*') : NULL;
    size_t post = strlen(strchr(best, '*') + 1);
    if (!star) return -1;
    int n = snprintf(buf, sizeof buf, "%.*s%.*s%s", (int)(star - pat), pat,
                     (int)(strlen(sub) - best_len - post), sub + best_len, star + 1);
    if (n < 0 || (size_t)n >= sizeof buf) return -1;
    t = buf;
  }
  if (!t || strncmp(t, "./", 2) || strlen(t) >= cap) return -1;
  memcpy(out, t, strlen(t) + 1);
  return 0;
}

/* ---- files ---------------------------------------------------------------------------- */

typedef struct mg {
  char root[MG_PATH]; /* realpath of the package directory */
  size_t root_len;
  const char *cache_dir;
  json_t *files;
  size_t bytes;
  bool pi; /* the pi profile: its virtual modules resolve (pkg_modgraph_pi) */
} mg;

static bool is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Lexically normalises "a/./b/../c" into out; false when ".." would climb above "". */
static bool mg_normalize(const char *path, char *out, size_t cap) {
  char copy[MG_PATH]; /* out may be path */
  if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy) return false;
  const char *in = copy;
  size_t n = 0;
  out[0] = '\0';
  while (*in) {
    while (*in == '/') in++;
    const char *e = strchr(in, '/');
    size_t len = e ? (size_t)(e - in) : strlen(in);
    if (len == 0) break;
    if (len == 1 && in[0] == '.') {
    } else if (len == 2 && in[0] == '.' && in[1] == '.') {
      if (n == 0) return false;
      while (n > 0 && out[n - 1] != '/') n--;
      if (n > 0) n--;
      out[n] = '\0';
    } else {
      if (n + len + 2 > cap) return false;
      if (n) out[n++] = '/';
      memcpy(out + n, in, len);
      n += len;
      out[n] = '\0';
    }
    in += len;
  }
  return n > 0;
}

/* `rel` (normalised, relative to the root) as an id, if the file exists and really lies in
 * the package: *id set and true. */
static bool mg_try(mg *g, const char *rel, char *id, size_t cap) {
  char abs[MG_PATH], real[PATH_MAX];
  if (snprintf(abs, sizeof abs, "%s/%s", g->root, rel) >= (int)sizeof abs || !is_file(abs)) return false;
  if (!realpath(abs, real) || strncmp(real, g->root, g->root_len) || real[g->root_len] != '/') return false;
  if (strlen(real + g->root_len + 1) >= cap) return false;
  memcpy(id, real + g->root_len + 1, strlen(real + g->root_len + 1) + 1);
  return true;
}

/* A file for path `rel`: exact, TypeScript's .js -> .ts, extensions, index files. */
static bool mg_file(mg *g, const char *rel, char *id, size_t cap) {
  static const char *const exts[] = {".ts", ".tsx", ".js", ".mjs"};
  static const char *const swaps[][3] = {{".js", ".ts", ".tsx"}, {".mjs", ".mts", NULL}, {".jsx", ".tsx", NULL}};
  char p[MG_PATH];
  if (mg_try(g, rel, id, cap)) return true;
  const char *dot = strrchr(rel, '.');
  if (dot && !strchr(dot, '/')) {
    for (size_t i = 0; i < sizeof swaps / sizeof swaps[0]; i++) {
      if (strcmp(dot, swaps[i][0])) continue;
      for (int j = 1; j < 3 && swaps[i][j]; j++) {
        if (snprintf(p, sizeof p, "%.*s%s", (int)(dot - rel), rel, swaps[i][j]) < (int)sizeof p &&
            mg_try(g, p, id, cap))
          return true;
      }
    }
  }
  for (size_t i = 0; i < 4; i++) {
    if (snprintf(p, sizeof p, "%s%s", rel, exts[i]) < (int)sizeof p && mg_try(g, p, id, cap)) return true;
  }
  for (size_t i = 0; i < 4; i++) {
    if (snprintf(p, sizeof p, "%s/index%s", rel, exts[i]) < (int)sizeof p && mg_try(g, p, id, cap)) return true;
  }
  return false;
}


/* A bare specifier from module `from`: the nearest node_modules/<name> above it. */
static bool mg_bare(mg *g, const char *from, const char *spec, char *id, size_t cap) {
  const char *slash = strchr(spec, '/');
  if (spec[0] == '@' && slash) slash = strchr(slash + 1, '/');
  size_t nlen = slash ? (size_t)(slash - spec) : strlen(spec);
  char name[256], sub[MG_PATH], dir[MG_PATH], rel[MG_PATH], t[MG_PATH];
  if (nlen == 0 || nlen >= sizeof name) return false;
  memcpy(name, spec, nlen);
  name[nlen] = '\0';
  if (strstr(name, "..") || (name[0] == '@' && !strchr(name, '/'))) return false;
  snprintf(sub, sizeof sub, ".%s", slash ? slash : "");
  snprintf(dir, sizeof dir, "%s", from);
  for (;;) {
    char *cut = strrchr(dir, '/');
    if (cut) *cut = '\0';
    else dir[0] = '\0';
    char pkgdir[MG_PATH], pj[MG_PATH];
    if (snprintf(pkgdir, sizeof pkgdir, "%s%snode_modules/%s", dir, dir[0] ? "/" : "", name) >= (int)sizeof pkgdir)
      return false;
    if (snprintf(pj, sizeof pj, "%s/%s/package.json", g->root, pkgdir) >= (int)sizeof pj) return false;
    size_t len = 0;
    char *text = pkg_read_file(pj, 1u << 20, &len);
    json_t *pkg = text ? json_loadb(text, len, 0, NULL) : NULL;
    free(text);
    bool found = false;
    if (pkg && json_object_get(pkg, "exports")) {
      found = pkg_exports_target(pkg, sub, t, sizeof t) == 0 &&
              snprintf(rel, sizeof rel, "%s/%s", pkgdir, t + 2) < (int)sizeof rel &&
              mg_normalize(rel, rel, sizeof rel) && mg_try(g, rel, id, cap);
    } else if (pkg || is_file(pj)) {
      const char *m = json_string_value(json_object_get(pkg, "module"));
      if (!m) m = json_string_value(json_object_get(pkg, "main"));
      found = snprintf(rel, sizeof rel, "%s/%s", pkgdir, strcmp(sub, ".") ? sub + 2 : m ? m : "index.js") <
                  (int)sizeof rel &&
              mg_normalize(rel, rel, sizeof rel) && strncmp(rel, pkgdir, strlen(pkgdir)) == 0 &&
              mg_file(g, rel, id, cap);
    }
    json_decref(pkg);
    if (found) return true;
    if (dir[0] == '\0') return false;
  }
}


/* ---- the pi profile's virtual modules --------------------------------------------------- */

/* Each virtual module and the names it exports (its default export is the whole module).
 * A name an extension imports that is missing here fails the link with QuickJS's message
 * naming it; the implementations are vm/pi_ext.js's. */
static const struct {
  const char *spec, *names;
  bool node_modules_first; /* a real copy in the package's node_modules is preferred */
} mg_virtual[] = {
    {"@mariozechner/pi-coding-agent",
     "VERSION,defineTool,isToolCallEventType,isBashToolResult,getAgentDir,getMarkdownTheme,"
     "getSettingsListTheme,BorderedLoader,DynamicBorder,CustomEditor,withFileMutationQueue,"
     "parseFrontmatter,createBashTool,createReadTool,createWriteTool,createEditTool,createFindTool,"
     "createGrepTool,createLsTool,convertToLlm,serializeConversation,DEFAULT_MAX_BYTES,DEFAULT_MAX_LINES,"
     "formatSize,truncateHead,truncateTail,createBashToolDefinition,createLocalBashOperations,stripFrontmatter",
     false},
    {"@mariozechner/pi-ai", "Type,StringEnum,complete,streamSimple,getModel,registerApiProvider,calculateCost,"
                            "createAssistantMessageEventStream,streamSimpleAnthropic,streamSimpleOpenAIResponses", false},
    {"@mariozechner/pi-tui",
     "Box,Text,Container,Markdown,Spacer,SelectList,SettingsList,Editor,Input,Loader,Image,"
     "TruncatedText,CURSOR_MARKER,Key,matchesKey,isKeyRelease,parseKey,visibleWidth,truncateToWidth,"
     "wrapTextWithAnsi,fuzzyFilter", false},
    {"@sinclair/typebox", "Type", true},
    {"typebox", "Type", true},
    {"node:path", "sep,delimiter,normalize,join,resolve,dirname,basename,extname,relative,isAbsolute,"
                  "parse,format,posix", false},
    {"node:fs", "readFileSync,writeFileSync,appendFileSync,existsSync,readdirSync,statSync,lstatSync,"
                "mkdirSync,rmSync,unlinkSync,renameSync,watch,createReadStream,createWriteStream,constants,promises,"
                "Dirent,Stats", false},
    {"node:fs/promises", "readFile,writeFile,readdir,access,appendFile,stat,lstat,mkdir,mkdtemp", false},
    {"node:os", "homedir,tmpdir,platform,type,EOL,hostname,arch,cpus", false},
    {"node:url", "fileURLToPath,pathToFileURL", false},
    {"node:child_process", "execSync,execFileSync,exec,execFile,spawn,spawnSync", false},
    {"node:util", "promisify,inspect,format", false},
    {"node:module", "createRequire", false},
};

/* The virtual module `spec` names (Node's builtins with or without "node:"), or -1. */
static int mg_virtual_find(const char *spec) {
  char node[128];
  if (strncmp(spec, "node:", 5) && snprintf(node, sizeof node, "node:%s", spec) < (int)sizeof node) {
    for (size_t i = 0; i < sizeof mg_virtual / sizeof mg_virtual[0]; i++)
      if (!strcmp(mg_virtual[i].spec, node)) return (int)i;
  }
  for (size_t i = 0; i < sizeof mg_virtual / sizeof mg_virtual[0]; i++)
    if (!strcmp(mg_virtual[i].spec, spec)) return (int)i;
  return -1;
}

/* Puts virtual module i in the graph as "airlock:pi/<spec>" (its id in *id). */
static int mg_virtual_add(mg *g, int i, char *id, size_t cap, al_error *err) {
  snprintf(id, cap, "airlock:pi/%s", mg_virtual[i].spec);
  if (json_object_get(g->files, id)) return 0;
  /* one `export const x = m.x;` per name: QuickJS 2021-03-27 does not bind the names of
   * a destructuring `export const {x} = m` */
  char code[8192];
  int n = snprintf(code, sizeof code, "const m = globalThis.__airlock_pimod(\"%s\");\nexport default m;\n",
                   mg_virtual[i].spec);
  for (const char *p = mg_virtual[i].names; n > 0 && n < (int)sizeof code && *p;) {
    size_t len = strcspn(p, ",");
    n += snprintf(code + n, sizeof code - (size_t)n, "export const %.*s = m.%.*s;\n", (int)len, p, (int)len, p);
    p += len + (p[len] == ',');
  }
  json_t *file = n > 0 && n < (int)sizeof code ? json_pack("{s:s,s:{}}", "code", code, "imports") : NULL;
  if (!file || json_object_set_new(g->files, id, file)) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  return 0;
}

/* ---- the graph ------------------------------------------------------------------------ */

static int mg_fail(al_error *err, const char *from, int line, const char *fmt, const char *spec) {
  char msg[512];
  snprintf(msg, sizeof msg, fmt, spec);
  int rc = err_set(err, AL_EPLUGIN_LOAD, from, "%s:%d: %s", from, line, msg);
  if (err) err->line = line;
  return rc;
}

/* The module's import.meta.url, as Node gives it: "file://" + its absolute path on the
 * host (the real package directory + id), with the bytes a URL path may not hold
 * percent-encoded. It names the file for the extension's own path arithmetic (a
 * resource beside the module); the worker opens nothing with it. Free with free(). */
static char *mg_file_url(const mg *g, const char *id) {
  static const char hex[] = "0123456789ABCDEF";
  size_t cap = 8 + 3 * (g->root_len + 1 + strlen(id)) + 1;
  char *u = malloc(cap), *o = u;
  if (!u) return NULL;
  memcpy(o, "file://", 7);
  o += 7;
  for (int part = 0; part < 3; part++) {
    const char *s = part == 0 ? g->root : part == 1 ? "/" : id;
    for (; *s; s++) {
      unsigned char c = (unsigned char)*s;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("/-._~!$&'()*+,;=:@", c)) {
        *o++ = (char)c;
      } else {
        *o++ = '%';
        *o++ = hex[c >> 4];
        *o++ = hex[c & 15];
      }
    }
  }
  *o = '\0';
  return u;
}

/* Adds module `id` (its source given, or read from the package) and, depth first, all it
 * imports; a file of the package also gets its "url" (mg_file_url). */
static int mg_add(mg *g, const char *id, const char *code, size_t len, al_error *err) {
  if (json_object_get(g->files, id)) return 0;
  if (json_object_size(g->files) >= PKG_MOD_MAX_FILES)
    return err_set(err, AL_EPLUGIN_LOAD, id, "%s: the plugin has more than %d modules", id, PKG_MOD_MAX_FILES);
  char *own = NULL;
  if (!code) {
    char abs[MG_PATH];
    if (snprintf(abs, sizeof abs, "%s/%s", g->root, id) >= (int)sizeof abs)
      return err_set(err, AL_EPLUGIN_LOAD, id, "%s: the path is too long", id);
    if (!(own = pkg_read_file(abs, PKG_MOD_MAX_BYTES - g->bytes, &len))) {
      int e = errno;
      if (e == ENOMEM) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory reading %s", id);
      if (e == EFBIG)
        return err_set(err, AL_EPLUGIN_LOAD, id, "%s: the plugin's modules exceed %zu bytes", id, PKG_MOD_MAX_BYTES);
      return err_set(err, AL_EPLUGIN_LOAD, id, "%s: cannot read it: %s", id, strerror(e));
    }
    code = own;
  }
  g->bytes += len;
  if (g->bytes > PKG_MOD_MAX_BYTES) {
    free(own);
    return err_set(err, AL_EPLUGIN_LOAD, id, "%s: the plugin's modules exceed %zu bytes", id, PKG_MOD_MAX_BYTES);
  }
  json_t *t = NULL;
  int rc = pkg_transpile(code, len, pkg_ts_kind_of(id), id, g->cache_dir, &t, err);
  free(own);
  if (rc) return rc;
  json_t *map = json_object();
  char *url = mg_file_url(g, id);
  json_t *file = map && url ? json_pack("{s:O,s:o,s:s}", "code", json_object_get(t, "code"), "imports", map,
                                        "url", url)
                            : NULL;
  if (!url) json_decref(map); /* json_pack steals an "o" value even when it fails */
  free(url);
  if (!file || json_object_set_new(g->files, id, file)) {
    json_decref(t);
    return err_set(err, AL_ENO_MEMORY, id, "out of memory");
  }
  const json_t *imps = json_object_get(t, "imports");
  for (size_t i = 0; !rc && i < json_array_size(imps); i++) {
    const json_t *e = json_array_get(imps, i);
    const char *spec = json_string_value(json_object_get(e, "spec"));
    int line = (int)json_integer_value(json_object_get(e, "line"));
    char rel[MG_PATH], dep[MG_PATH];
    int vi;
    if (json_object_get(map, spec)) continue;
    if (spec[0] == '.' && (spec[1] == '/' || (spec[1] == '.' && (spec[2] == '/' || !spec[2])) || !spec[1])) {
      const char *cut = strrchr(id, '/');
      char joined[MG_PATH];
      int jn = snprintf(joined, sizeof joined, "%.*s%s%s", cut ? (int)(cut - id) : 0, id, cut ? "/" : "", spec);
      if (jn < 0 || jn >= (int)sizeof joined)
        rc = mg_fail(err, id, line, "import '%.200s' is too long", spec);
      else if (!mg_normalize(joined, rel, sizeof rel))
        rc = mg_fail(err, id, line, "import '%.200s' escapes the package directory", spec);
      else if (!mg_file(g, rel, dep, sizeof dep))
        rc = mg_fail(err, id, line, "cannot find module '%.200s'", spec);
    } else if (g->pi && (vi = mg_virtual_find(spec)) >= 0 &&
               !(mg_virtual[vi].node_modules_first && mg_bare(g, id, spec, dep, sizeof dep))) {
      if (!(rc = mg_virtual_add(g, vi, dep, sizeof dep, err)) && json_object_set_new(map, spec, json_string(dep)))
        rc = err_set(err, AL_ENO_MEMORY, id, "out of memory");
      continue;
    } else if (spec[0] == '/' || strchr(spec, ':') || spec[0] == '.' || spec[0] == '\0') {
      rc = mg_fail(err, id, line, "import '%.200s' escapes the package directory: only relative "
                   "imports and packages in its node_modules are allowed", spec);
    } else if (!mg_bare(g, id, spec, dep, sizeof dep)) {
      rc = mg_fail(err, id, line, "cannot find package '%.200s' in the plugin's node_modules", spec);
    }
    if (!rc && json_object_set_new(map, spec, json_string(dep))) rc = err_set(err, AL_ENO_MEMORY, id, "out of memory");
    if (!rc) rc = mg_add(g, dep, NULL, 0, err);
  }
  json_decref(t);
  return rc;
}

static int mg_build(const char *root, const char *entry, const char *cache_dir, bool pi, json_t **graph,
                    al_error *err) {
  *graph = NULL;
  char real[PATH_MAX], rel[MG_PATH], id[MG_PATH];
  mg g = {.cache_dir = cache_dir, .pi = pi};
  if (!root || !entry || !realpath(root, real) || strlen(real) >= sizeof g.root)
    return err_set(err, AL_EIO, root, "cannot find the package directory %.200s", root ? root : "");
  memcpy(g.root, real, strlen(real) + 1);
  g.root_len = strlen(g.root);
  if (!mg_normalize(entry, rel, sizeof rel) || !mg_try(&g, rel, id, sizeof id))
    return err_set(err, AL_EPLUGIN_LOAD, entry, "the entry %.200s is not a file in the package", entry);
  if (!(g.files = json_object())) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  int rc = mg_add(&g, id, NULL, 0, err);
  if (!rc && !(*graph = json_pack("{s:s,s:O}", "entry", id, "files", g.files)))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  if (!rc && pi && json_object_set_new(*graph, "profile", json_string("pi")))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  json_decref(g.files);
  return rc;
}

int pkg_modgraph(const char *root, const char *entry, const char *cache_dir, json_t **graph,
                 al_error *err) {
  return mg_build(root, entry, cache_dir, false, graph, err);
}

int pkg_modgraph_pi(const char *root, const char *entry, const char *cache_dir, json_t **graph,
                    al_error *err) {
  return mg_build(root, entry, cache_dir, true, graph, err);
}

int pkg_modgraph_single(const char *code, size_t len, const char *name, const char *cache_dir,
                        json_t **graph, al_error *err) {
  *graph = NULL;
  const char *base = name ? strrchr(name, '/') : NULL;
  base = base ? base + 1 : name ? name : "<plugin>.mjs";
  json_t *t = NULL;
  int rc = pkg_transpile(code, len, pkg_ts_kind_of(base), base, cache_dir, &t, err);
  if (rc) return rc;
  const json_t *imps = json_object_get(t, "imports");
  if (json_array_size(imps)) {
    const json_t *e = json_array_get(imps, 0);
    rc = mg_fail(err, base, (int)json_integer_value(json_object_get(e, "line")),
                 "cannot import '%.200s': a plugin loaded from memory has no package directory "
                 "(load it as a package)", json_string_value(json_object_get(e, "spec")));
  }
  if (!rc && !(*graph = json_pack("{s:s,s:{s:{s:O,s:{}}}}", "entry", base, "files", base, "code",
                                  json_object_get(t, "code"), "imports")))
    rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  json_decref(t);
  return rc;
}

/*
 * cmd_run.c: `airlock run`: load one plugin in a workbench-profile host, apply the given
 * events in order through the store, then render every widget.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "airlock_pkg.h"
#include "textui.h"
#include "util.h"
#include "wb_profile.h"

static void run_usage(FILE *out) {
  fprintf(out,
          "usage: airlock run <plugin.js> [options]\n"
          "  --package ID            package id (default: the file name without .js)\n"
          "  --grant read:DOMAIN     grant reading a shared domain (repeatable)\n"
          "  --grant write:DOMAIN    grant writing a shared domain (repeatable)\n"
          "                          (without --grant: the package's manifest grants)\n"
          "  --state JSON            replace the local state after loading\n"
          "  --event W:H[:ARGS_JSON] run handler H of widget W (repeatable, in order)\n"
          "  --json                  print {plugin, state, trees, timeline, errors}\n"
          "  --trace                 add per-call telemetry (op, elapsed us, outcome)\n"
          "  --isolation MODE        process (default: sandboxed workers), thread or inline\n");
}

typedef struct run_opts {
  const char *file, *package, *state;
  const char **events;
  int nevents;
  json_t *grants;
  bool json, trace;
  al_isolation isolation;
} run_opts;

static int add_grant(run_opts *o, const char *spec) {
  const char *key = !strncmp(spec, "read:", 5) ? "readShared" : !strncmp(spec, "write:", 6) ? "writeShared" : NULL;
  const char *domain = strchr(spec, ':');
  if (!key || !domain || !domain[1]) {
    fprintf(stderr, "error: INVALID_ARGUMENT: --grant takes read:DOMAIN or write:DOMAIN, not '%s'\n", spec);
    return -1;
  }
  if (!o->grants) o->grants = json_pack("{s:[],s:[]}", "readShared", "writeShared");
  json_array_append_new(json_object_get(o->grants, key), json_string(domain + 1));
  return 0;
}

static int parse(int argc, char **argv, run_opts *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has_val = i + 1 < argc;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      run_usage(stdout);
      return 1;
    } else if (!strcmp(a, "--json")) o->json = true;
    else if (!strcmp(a, "--trace")) o->trace = true;
    else if (!strcmp(a, "--package") && has_val) o->package = argv[++i];
    else if (!strcmp(a, "--state") && has_val) o->state = argv[++i];
    else if (!strcmp(a, "--grant") && has_val) {
      if (add_grant(o, argv[++i])) return -1;
    } else if (!strcmp(a, "--event") && has_val) {
      const char *ev = argv[++i], *c = strchr(ev, ':');
      if (!c || c == ev || !c[1] || c[1] == ':') {
        fprintf(stderr, "error: INVALID_ARGUMENT: --event takes WIDGET:HANDLER[:ARGS_JSON], not '%s'\n", ev);
        return -1;
      }
      o->events[o->nevents++] = ev;
    }
    else if (!strcmp(a, "--isolation") && has_val) {
      if (cli_isolation(argv[++i], &o->isolation)) return -1;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "error: INVALID_ARGUMENT: unknown or incomplete option '%s'\n", a);
      run_usage(stderr);
      return -1;
    } else if (!o->file) o->file = a;
    else {
      fprintf(stderr, "error: INVALID_ARGUMENT: unexpected argument '%s'\n", a);
      return -1;
    }
  }
  if (!o->file) {
    run_usage(stderr);
    return -1;
  }
  return 0;
}

/* Splits "WIDGET:HANDLER[:ARGS_JSON]" in place. */
static int split_event(char *spec, char **widget, char **handler, char **args) {
  char *c1 = strchr(spec, ':');
  if (!c1 || c1 == spec || !c1[1]) return -1;
  *c1 = '\0';
  *widget = spec;
  *handler = c1 + 1;
  char *c2 = strchr(*handler, ':');
  *args = NULL;
  if (c2) {
    *c2 = '\0';
    *args = c2 + 1;
  }
  return **handler ? 0 : -1;
}

static void error_json(json_t *errors, const char *op, const char *widget, const char *handler,
                       const al_error *e) {
  json_t *o = cli_error_json(e);
  json_object_set_new(o, "op", json_string(op));
  if (widget) json_object_set_new(o, "widget", json_string(widget));
  if (handler) json_object_set_new(o, "handler", json_string(handler));
  json_array_append_new(errors, o);
}

static void indent_line(FILE *f, int depth) {
  fputc('\n', f);
  for (int i = 0; i < depth; i++) fputs("  ", f);
}

/* Prints compact JSON text laid out as json_dumps(JSON_INDENT(2)) lays it out, copying
 * every token as it is: the library's numbers keep their shortest form, which a parse and
 * print through jansson would lose (0.1 comes out 0.10000000000000001). */
static void put_indented(FILE *f, const char *t) {
  int depth = 0;
  for (const char *p = t; *p; p++) {
    char c = *p;
    if (c == '"') { /* a string, escapes and all, verbatim */
      const char *q = p + 1;
      while (*q && *q != '"') q += (*q == '\\' && q[1]) ? 2 : 1;
      fwrite(p, 1, (size_t)(q - p) + (*q ? 1 : 0), f);
      p = *q ? q : q - 1;
    } else if (c == '{' || c == '[') {
      fputc(c, f);
      if (p[1] == (c == '{' ? '}' : ']')) {
        fputc(*++p, f);
      } else {
        indent_line(f, ++depth);
      }
    } else if (c == '}' || c == ']') {
      indent_line(f, --depth);
      fputc(c, f);
    } else if (c == ',') {
      fputc(c, f);
      indent_line(f, depth);
    } else if (c == ':') {
      fputs(": ", f);
    } else {
      fputc(c, f);
    }
  }
  fputc('\n', f);
}

/* Appends text to the JSON text being built in *doc (*len bytes; NULL: out of memory,
 * and it stays NULL): `"key":value` after a comma unless it is the first member, or with
 * key NULL the closing brace. value NULL: null. `key` is JSON text (a quoted string). */
static void doc_add(char **doc, size_t *len, const char *key, const char *value) {
  if (!*doc) return;
  if (!value) value = "null";
  size_t need = key ? strlen(key) + strlen(value) + 3 : 2;
  char *n = realloc(*doc, *len + need);
  if (!n) {
    free(*doc);
    *doc = NULL;
    return;
  }
  *doc = n;
  if (key) *len += (size_t)sprintf(n + *len, "%s%s:%s", *len > 1 ? "," : "", key, value);
  else *len += (size_t)sprintf(n + *len, "}");
}

int cmd_run(int argc, char **argv) {
  const char *events[256];
  /* A plugin file of unknown origin runs in a sandboxed worker unless told otherwise. */
  run_opts o = {.events = events, .isolation = AL_ISOLATION_PROCESS};
  if (argc > 258) {
    fprintf(stderr, "error: INVALID_ARGUMENT: too many arguments\n");
    return 2;
  }
  int prc = parse(argc, argv, &o);
  if (prc) {
    json_decref(o.grants);
    return prc > 0 ? 0 : 2;
  }
  int status = 0;
  al_host *h = NULL;
  al_error err;
  char id[AL_INSTANCE_ID_MAX];
  char *grants_text = o.grants ? json_dumps(o.grants, JSON_COMPACT) : NULL;
  char *pkg = o.package ? strdup(o.package) : cli_basename_noext(o.file);
  json_t *errors = json_array(), *trees = json_object();
  size_t len;
  char *code = cli_read_file(o.file, &len);
  if (!code) {
    fprintf(stderr, "error: IO_ERROR: cannot read %s: %s\n", o.file, strerror(errno));
    status = 1;
    goto out;
  }
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = o.isolation;
  if (al_host_new(&cfg, &h, &err) || wb_profile_register(h, &err)) {
    cli_print_error(&err);
    status = 1;
    goto out;
  }
  al_load_opts lo = {.grants_json = grants_text, .source_name = o.file};
  if (al_load(h, pkg, code, len, &lo, id, sizeof id, &err)) {
    if (o.json) {
      error_json(errors, "load", NULL, NULL, &err);
      json_t *out = json_pack("{s:n,s:n,s:O,s:[],s:O}", "plugin", "state", "trees", trees,
                              "timeline", "errors", errors);
      char *s = json_dumps(out, JSON_INDENT(2));
      puts(s ? s : "null");
      free(s);
      json_decref(out);
    } else {
      cli_print_error(&err);
    }
    status = 1;
    goto out;
  }
  if (o.state && al_state_set(h, id, o.state, &err)) {
    cli_print_error(&err);
    status = 1;
    goto out;
  }
  for (int i = 0; i < o.nevents; i++) {
    char *spec = strdup(o.events[i]), *w, *hd, *args;
    if (!spec || split_event(spec, &w, &hd, &args)) {
      fprintf(stderr, "error: INVALID_ARGUMENT: --event takes WIDGET:HANDLER[:ARGS_JSON], not '%s'\n", o.events[i]);
      free(spec);
      status = 1;
      goto out;
    }
    int rc = al_event(h, id, w, hd, args, NULL, &err);
    if (rc) {
      error_json(errors, "event", w, hd, &err);
      if (!o.json) cli_print_error(&err);
      status = 1;
    }
    free(spec);
    if (rc) break; /* later events assumed this one applied */
  }

  json_t *plugin = NULL;
  char *text = NULL;
  al_plugin_info(h, id, &text, NULL);
  plugin = cli_take_json(text);
  size_t wi;
  json_t *wv;
  if (!o.json) { /* the title and widget names are the plugin's: escaped */
    cli_esc e = {0};
    printf("%s  (%s)\n", cli_e(&e, json_string_value(json_object_get(plugin, "title"))), cli_e(&e, id));
    cli_esc_free(&e);
  }
  /* --json: the library's texts, spliced into one document (doc_add), never reparsed */
  size_t tlen = 1;
  char *trees_text = o.json ? strdup("{") : NULL;
  json_array_foreach(json_object_get(plugin, "widgets"), wi, wv) {
    const char *w = json_string_value(wv);
    char *tree_text = NULL;
    int rc = al_render(h, id, w, &tree_text, &err);
    if (o.json) { /* the widget name is the plugin's: its key is escaped by jansson */
      json_t *k = json_string(w);
      char *key = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
      if (key) doc_add(&trees_text, &tlen, key, rc ? NULL : tree_text);
      else {
        free(trees_text);
        trees_text = NULL;
      }
      free(key);
      json_decref(k);
    }
    json_t *tree = rc || o.json ? json_null() : cli_take_json(tree_text);
    if (o.json) al_free(tree_text);
    json_object_set_new(trees, w, tree);
    if (rc) {
      error_json(errors, "render", w, NULL, &err);
      status = 1;
    }
    if (!o.json) {
      fputs("\n-- ", stdout);
      al_term_fputs(w, 0, stdout);
      fputs(" --\n", stdout);
      fflush(stdout); /* keep the error line in place when both streams are a terminal */
      if (rc) cli_print_error(&err);
      else textui_draw(stdout, tree, 0);
    }
  }
  if (o.json) {
    size_t dlen = 1;
    char *doc = strdup("{"), *part = NULL;
    doc_add(&trees_text, &tlen, NULL, NULL);
    al_plugin_info(h, id, &part, NULL);
    doc_add(&doc, &dlen, "\"plugin\"", part);
    al_free(part);
    part = NULL;
    al_state_get(h, id, &part, NULL);
    doc_add(&doc, &dlen, "\"state\"", part);
    al_free(part);
    doc_add(&doc, &dlen, "\"trees\"", trees_text);
    part = NULL;
    al_timeline(h, &part, NULL);
    doc_add(&doc, &dlen, "\"timeline\"", part);
    al_free(part);
    part = json_dumps(errors, JSON_COMPACT);
    doc_add(&doc, &dlen, "\"errors\"", part);
    free(part);
    if (o.trace) {
      part = NULL;
      al_telemetry(h, &part, NULL);
      doc_add(&doc, &dlen, "\"telemetry\"", part);
      al_free(part);
    }
    doc_add(&doc, &dlen, NULL, NULL);
    if (doc) put_indented(stdout, doc);
    else puts("null");
    free(doc);
    free(trees_text);
  } else if (o.trace) {
    al_telemetry(h, &text, NULL);
    json_t *tm = cli_take_json(text);
    printf("\n%-8s %10s  %-20s %s\n", "op", "elapsed", "outcome", "memory");
    size_t i;
    json_t *t;
    json_array_foreach(tm, i, t)
      printf("%-8s %8lldus  %-20s %lld KiB\n", json_string_value(json_object_get(t, "op")),
             (long long)json_integer_value(json_object_get(t, "elapsedUs")),
             json_string_value(json_object_get(t, "outcome")),
             (long long)json_integer_value(json_object_get(t, "memoryBytes")) / 1024);
    json_decref(tm);
  }
  json_decref(plugin);
out:
  json_decref(errors);
  json_decref(trees);
  json_decref(o.grants);
  free(grants_text);
  free(pkg);
  free(code);
  al_host_free(h);
  return status;
}

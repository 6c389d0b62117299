/*
 * cmd_check.c: `airlock check`: load a plugin and render every widget with its initial
 * state, reporting its metadata and every error found (not just the first).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "util.h"

static void report(json_t *errors, bool as_json, const char *where, const al_error *e) {
  json_t *o = json_pack("{s:s,s:s,s:s}", "where", where, "code", al_err_name(e->code), "message", e->message);
  if (e->path[0]) json_object_set_new(o, "path", json_string(e->path));
  if (e->line) json_object_set_new(o, "line", json_integer(e->line));
  json_array_append_new(errors, o);
  if (!as_json) {
    printf("  %-14s FAIL  %s: %s", where, al_err_name(e->code), e->message);
    if (e->line) printf(" (line %d)", e->line);
    putchar('\n');
  }
}

int cmd_check(int argc, char **argv) {
  const char *file = NULL, *package = NULL;
  bool as_json = false;
  al_isolation isolation = AL_ISOLATION_PROCESS; /* unknown code: sandboxed by default */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) as_json = true;
    else if (!strcmp(argv[i], "--package") && i + 1 < argc) package = argv[++i];
    else if (!strcmp(argv[i], "--isolation") && i + 1 < argc) {
      if (cli_isolation(argv[++i], &isolation)) return 2;
    }
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: airlock check <plugin.js> [--package ID] [--isolation MODE] [--json]\n");
      return 0;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "error: INVALID_ARGUMENT: unknown or incomplete option '%s'\n", argv[i]);
      return 2;
    } else if (!file) file = argv[i];
    else {
      fprintf(stderr, "error: INVALID_ARGUMENT: unexpected argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (!file) {
    fprintf(stderr, "usage: airlock check <plugin.js> [--package ID] [--json]\n");
    return 2;
  }
  size_t len;
  char *code = cli_read_file(file, &len);
  if (!code) {
    fprintf(stderr, "error: IO_ERROR: cannot read %s: %s\n", file, strerror(errno));
    return 1;
  }
  char *pkg = package ? strdup(package) : cli_basename_noext(file);
  al_config cfg;
  al_config_init(&cfg);
  cfg.profile = AL_PROFILE_WORKBENCH;
  cfg.isolation = isolation;
  al_host *h = NULL;
  al_error err;
  json_t *errors = json_array(), *plugin = NULL, *widgets = json_object();
  char id[AL_INSTANCE_ID_MAX];
  if (!as_json) printf("%s\n", file);
  if (al_host_new(&cfg, &h, &err)) {
    report(errors, as_json, "host", &err);
  } else {
    al_load_opts lo = {.source_name = file};
    if (al_load(h, pkg, code, len, &lo, id, sizeof id, &err)) {
      report(errors, as_json, "load", &err);
    } else {
      char *text = NULL;
      al_plugin_info(h, id, &text, NULL);
      plugin = cli_take_json(text);
      if (!as_json) {
        const char *declared = json_string_value(json_object_get(plugin, "declaredId"));
        printf("  title          %s\n", json_string_value(json_object_get(plugin, "title")));
        if (declared) printf("  id             %s\n", declared);
        const char *desc = json_string_value(json_object_get(plugin, "description"));
        if (desc) printf("  description    %s\n", desc);
        printf("  widgets        %zu\n", json_array_size(json_object_get(plugin, "widgets")));
      }
      size_t i;
      json_t *w;
      json_array_foreach(json_object_get(plugin, "widgets"), i, w) {
        char where[96];
        snprintf(where, sizeof where, "render %s", json_string_value(w));
        char *tree = NULL;
        if (al_render(h, id, json_string_value(w), &tree, &err)) {
          report(errors, as_json, where, &err);
          json_object_set_new(widgets, json_string_value(w), json_string("error"));
        } else {
          if (!as_json) printf("  %-14s ok    %zu bytes\n", where, strlen(tree));
          json_object_set_new(widgets, json_string_value(w), json_string("ok"));
        }
        al_free(tree);
      }
    }
  }
  size_t nerr = json_array_size(errors);
  if (as_json) {
    json_t *out = json_pack("{s:s,s:O,s:O,s:O,s:b}", "file", file, "plugin", plugin ? plugin : json_null(),
                            "widgets", widgets, "errors", errors, "ok", nerr == 0);
    char *s = json_dumps(out, JSON_INDENT(2));
    puts(s ? s : "null");
    free(s);
    json_decref(out);
  } else {
    printf("%zu error%s\n", nerr, nerr == 1 ? "" : "s");
  }
  json_decref(errors);
  json_decref(plugin);
  json_decref(widgets);
  al_host_free(h);
  free(pkg);
  free(code);
  return nerr ? 1 : 0;
}

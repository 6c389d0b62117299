/*
 * cmd_check.c: `airlock check`: preflight a plugin, load it and render every widget with
 * its initial state, reporting its metadata and every error found (not just the first).
 * Given a package directory, the manifest is validated strictly (unknown fields are
 * errors here, warnings at load) and preflight runs with its capabilities and
 * preflight.allow; a lenient parse then lets the remaining steps still run, so one check
 * reports everything. A blocked preflight is an error and the code is not loaded.
 *
 * A pi extension (a file that imports `@mariozechner/pi-*`, a directory that is a pi
 * package, or anything with --pi) is checked by loading it with the pi profile and
 * reporting what it registered (check_pi; docs/pi-extensions.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "airlock_pkg.h"
#include "commands.h"
#include "util.h"
#include "wb_profile.h"

static void report(json_t *errors, bool as_json, const char *where, const al_error *e) {
  json_t *o = cli_error_json(e);
  json_object_set_new(o, "where", json_string(where));
  json_array_append_new(errors, o);
  if (!as_json) { /* `where` names a widget and the message may quote the plugin */
    cli_esc x = {0};
    printf("  %-14s FAIL  %s: ", cli_e(&x, where), al_err_name(e->code));
    cli_esc_free(&x);
    al_term_fputs(e->message, 1, stdout);
    if (e->line) printf(" (line %d)", e->line);
    putchar('\n');
  }
}

static const char *tj_sev(const json_t *f) { return json_string_value(json_object_get(f, "severity")); }
static const char *tj_rule(const json_t *f) { return json_string_value(json_object_get(f, "rule")); }

/* Prints preflight's findings (not with --json) and reports a block, which `prc` says
 * (PREFLIGHT_BLOCKED, with `e` naming the blocking findings); a report that could not be
 * made at all is reported as the error it was. True when the code must not run. */
static bool show_preflight(json_t *errors, bool as_json, int prc, const json_t *preflight, const al_error *e) {
  if (prc && !preflight) {
    report(errors, as_json, "preflight", e);
    return true;
  }
  size_t nf = json_array_size(json_object_get(preflight, "findings"));
  if (!as_json) {
    printf("  preflight      %zu finding%s\n", nf, nf == 1 ? "" : "s");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(preflight, "findings"), i, f) {
      /* messages quote the source (string literals, event names) */
      cli_esc x = {0};
      printf("    %lld:%lld  %-5s %s: %s\n", (long long)json_integer_value(json_object_get(f, "line")),
             (long long)json_integer_value(json_object_get(f, "column")),
             json_is_true(json_object_get(f, "allowed")) ? "allow" : tj_sev(f), tj_rule(f),
             cli_e(&x, json_string_value(json_object_get(f, "message"))));
      printf("          fix: %s\n", cli_e(&x, json_string_value(json_object_get(f, "remediation"))));
      cli_esc_free(&x);
    }
  }
  if (prc) report(errors, as_json, "preflight", e); /* e says which findings block */
  return prc != 0;
}

/* Is `path` a pi extension? A directory without an Airlock manifest, or a module file
 * whose text names one of pi's packages. */
static bool looks_pi(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return false;
  char p[PATH_MAX + 32];
  if (S_ISDIR(st.st_mode)) {
    snprintf(p, sizeof p, "%s/airlock.json", path);
    if (stat(p, &st) == 0) return false;
    snprintf(p, sizeof p, "%s/package.json", path);
    json_t *pkg = json_load_file(p, 0, NULL);
    bool airlock = json_object_get(pkg, "airlock") != NULL;
    json_decref(pkg);
    return !airlock;
  }
  size_t n;
  char *text = cli_read_file(path, &n);
  bool pi = text && strstr(text, "@mariozechner/pi-") != NULL;
  free(text);
  return pi;
}

/* Loads the pi extension(s) at `path` and prints what they registered:
 * {file, ok, errors, instances, pi: {tools, commands, flags, shortcuts, events,
 * messageRenderers}} (names; for a package, every extension's together, in load order). */
static int check_pi(const char *path, bool as_json, al_isolation isolation) {
  json_t *errors = json_array(), *pi = json_pack("{s:[],s:[],s:[],s:[],s:[],s:[]}", "tools", "commands", "flags",
                                                  "shortcuts", "events", "messageRenderers");
  json_t *instances = json_array();
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = isolation;
  cfg.workers = 1;
  al_host *h = NULL;
  al_error err = {0};
  if (!as_json) printf("%s (pi extension)\n", path);
  if (al_host_new(&cfg, &h, &err)) {
    report(errors, as_json, "host", &err);
  } else if (al_load_package(h, path, NULL, NULL, 0, &err)) {
    report(errors, as_json, "load", &err);
  } else {
    char *text = NULL;
    json_t *exts = al_pi_extensions(h, &text, &err) ? NULL : json_loads(text, 0, NULL);
    al_free(text);
    size_t i;
    json_t *e;
    json_array_foreach(exts, i, e) {
      json_array_append_new(instances, json_pack("{s:O,s:O}", "instanceId", json_object_get(e, "instanceId"),
                                                 "pluginId", json_object_get(e, "pluginId")));
      const char *k;
      json_t *list;
      json_object_foreach(pi, k, list) {
        size_t j;
        json_t *x;
        json_array_foreach(json_object_get(e, k), j, x)
          json_array_append(list, json_is_object(x) ? json_object_get(x, "name") : x);
      }
    }
    json_decref(exts);
  }
  bool ok = json_array_size(errors) == 0;
  if (as_json) {
    json_t *out = json_pack("{s:s,s:b,s:O,s:O,s:O}", "file", path, "ok", ok, "errors", errors, "instances",
                            instances, "pi", pi);
    char *t = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (t) printf("%s\n", t);
    free(t);
    json_decref(out);
  } else {
    const char *k;
    json_t *list;
    json_object_foreach(pi, k, list) {
      char *t = json_dumps(list, JSON_COMPACT);
      cli_esc x = {0};
      printf("  %-16s %s\n", k, cli_e(&x, t ? t : "[]"));
      cli_esc_free(&x);
      free(t);
    }
    printf("%s\n", ok ? "ok" : "failed");
  }
  al_host_free(h);
  json_decref(errors);
  json_decref(pi);
  json_decref(instances);
  return ok ? 0 : 1;
}

int cmd_check(int argc, char **argv) {
  const char *file = NULL, *package = NULL;
  bool as_json = false, force_pi = false;
  al_isolation isolation = AL_ISOLATION_PROCESS; /* unknown code: sandboxed by default */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) as_json = true;
    else if (!strcmp(argv[i], "--pi")) force_pi = true;
    else if (!strcmp(argv[i], "--package") && i + 1 < argc) package = argv[++i];
    else if (!strcmp(argv[i], "--isolation") && i + 1 < argc) {
      if (cli_isolation(argv[++i], &isolation)) return 2;
    }
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: airlock check <plugin.js | package-dir> [--package ID] [--isolation MODE] [--json]\n"
             "  a package directory's manifest (airlock.json or package.json#airlock) is\n"
             "  validated strictly and its capabilities and preflight.allow apply\n"
             "  a pi extension (imports @mariozechner/pi-*, a pi package, or --pi) is loaded\n"
             "  with the pi profile and what it registered is reported\n");
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
  if (force_pi || (!package && looks_pi(file))) return check_pi(file, as_json, isolation);
  json_t *errors = json_array(), *plugin = NULL, *widgets = json_object(), *preflight = NULL, *manifest = NULL;
  al_pkg_manifest *m = NULL;
  char *preflight_text = NULL, entry[PATH_MAX];
  const char *source = file;
  struct stat st;
  al_error err;
  if (!as_json) printf("%s\n", file);
  if (!stat(file, &st) && S_ISDIR(st.st_mode)) {
    if (al_pkg_manifest_load(file, AL_PKG_STRICT, &m, &err)) {
      report(errors, as_json, "manifest", &err);
      al_pkg_manifest_load(file, 0, &m, NULL); /* go on with what loads */
    }
    if (!m) {
      if (as_json) {
        json_t *out = json_pack("{s:s,s:O,s:b}", "file", file, "errors", errors, "ok", 0);
        char *t = json_dumps(out, JSON_INDENT(2));
        puts(t ? t : "null");
        free(t);
        json_decref(out);
      } else {
        printf("%zu error%s\n", json_array_size(errors), json_array_size(errors) == 1 ? "" : "s");
      }
      json_decref(errors);
      json_decref(widgets);
      return 1;
    }
    snprintf(entry, sizeof entry, "%s/%s", file, m->entry);
    source = entry;
    manifest = json_loads(m->json, 0, NULL);
    if (!as_json) printf("  manifest       %s@%s\n", m->id, m->version); /* both validated */
  }
  size_t len;
  char *code = cli_read_file(source, &len);
  if (!code) {
    fprintf(stderr, "error: IO_ERROR: cannot read %s: %s\n", source, strerror(errno));
    json_decref(errors);
    json_decref(widgets);
    json_decref(manifest);
    al_pkg_manifest_free(m);
    return 1;
  }
  /* With a manifest the load runs preflight (and refuses a blocked package), so its
   * report is the one shown: the code is scanned once. Without one, check scans it. */
  bool blocked = false;
  if (!m) {
    int prc = al_pkg_preflight(code, len, NULL, &preflight_text, &err);
    preflight = cli_take_json(preflight_text);
    preflight_text = NULL;
    blocked = show_preflight(errors, as_json, prc, preflight, &err);
  }
  char *pkg = package ? strdup(package) : m ? strdup(m->id) : cli_basename_noext(file);
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = isolation;
  al_host *h = NULL;
  char id[AL_INSTANCE_ID_MAX];
  if (blocked) {
    /* the code is not evaluated */
  } else if (al_host_new(&cfg, &h, &err) || wb_profile_register(h, &err)) {
    report(errors, as_json, "host", &err);
  } else {
    /* A package directory loads as a package (its module graph, its manifest read the
     * load's own way); a file loads from memory. */
    al_load_opts lo = {.source_name = m ? NULL : source, .preflight_out = m ? &preflight_text : NULL};
    int lrc = m ? al_load_package(h, file, &lo, id, sizeof id, &err)
                : al_load(h, pkg, code, len, &lo, id, sizeof id, &err);
    if (m && preflight_text) {
      preflight = cli_take_json(preflight_text);
      preflight_text = NULL;
      show_preflight(errors, as_json, lrc == AL_EPREFLIGHT_BLOCKED ? lrc : 0, preflight, &err);
    } else if (m && !as_json) {
      printf("  preflight      not run (the load stopped before it)\n");
    }
    if (lrc == AL_EPREFLIGHT_BLOCKED) {
      /* reported with the findings above; the code was not evaluated */
    } else if (lrc) {
      report(errors, as_json, "load", &err);
    } else {
      char *text = NULL;
      al_plugin_info(h, id, &text, NULL);
      plugin = cli_take_json(text);
      if (!as_json) { /* what definePlugin declared: the plugin's own words */
        cli_esc x = {0};
        const char *declared = json_string_value(json_object_get(plugin, "declaredId"));
        printf("  title          %s\n", cli_e(&x, json_string_value(json_object_get(plugin, "title"))));
        if (declared) printf("  id             %s\n", cli_e(&x, declared));
        const char *desc = json_string_value(json_object_get(plugin, "description"));
        if (desc) printf("  description    %s\n", cli_e(&x, desc));
        printf("  widgets        %zu\n", json_array_size(json_object_get(plugin, "widgets")));
        cli_esc_free(&x);
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
          if (!as_json) {
            cli_esc x = {0};
            printf("  %-14s ok    %zu bytes\n", cli_e(&x, where), strlen(tree));
            cli_esc_free(&x);
          }
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
    json_object_set(out, "preflight", preflight ? preflight : json_null());
    if (manifest) json_object_set(out, "manifest", manifest);
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
  json_decref(preflight);
  json_decref(manifest);
  al_pkg_manifest_free(m);
  al_host_free(h);
  free(pkg);
  free(code);
  return nerr ? 1 : 0;
}

/*
 * cmd_plugin.c: `airlock plugin install|list|info|enable|disable|remove|audit|doctor`:
 * the package manager's face. Everything goes through the host database (airlock_pkg.h) in
 * the home directory (--home DIR, else $AIRLOCK_HOME, else $XDG_DATA_HOME/airlock, else
 * ~/.local/share/airlock), so what `plugin list` shows is exactly what `airlock emit` and
 * al_load_package() will load.
 *
 * `config` stores setting overrides, checked against the manifest recorded at install; the
 * plugin reads the resolved value (override, else env, else default) with pi.getConfig.
 *
 * Signatures: install passes the publisher signature options and the requirement
 * (--require-signature and $AIRLOCK_REQUIRE_SIGNATURE, both applying) to al_pkg_install,
 * and names npm's registry keys: --registry-keys FILE, else $AIRLOCK_NPM_KEYS, else the
 * library fetches <registry>/-/npm/v1/keys through pi.http's client
 * (al_pkg_install_opts.fetch_registry_keys).
 *
 * pi packages (no Airlock manifest): install prints what the code asks for ("wants: exec
 * git *, ...") and grants it as told: on a terminal (stdin and stdout) without --grant it
 * asks per want (y / n / a narrower pattern); otherwise --grant all|none (none when not
 * given, which the output says) plus every --allow CAP=PATTERN. `grant` and `revoke`
 * change one pattern later; `info` shows wants against granted.
 *
 * Every change (install, a refused install, enable, disable, remove, grant, revoke) is appended to the
 * home's audit trail; the packages' own text is escaped before it reaches the terminal.
 *
 * Exit status: 0 done, 1 the operation failed (the message says why), 2 usage error.
 * `doctor` exits 1 when a problem remains (after --fix, when given).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock_pkg.h"
#include "commands.h"
#include "util.h"

static void plugin_usage(FILE *out) {
  fprintf(out,
          "usage: airlock plugin <command> [--home DIR] [--json]\n"
          "  install <dir | file.tgz | [npm:]npm-name[@version]> [--replace] [--allow-downgrade]\n"
          "                    validate, preflight and record a package (enabled); --replace lets\n"
          "                    it take an id another package holds (that one's settings and kv\n"
          "                    data are dropped), --allow-downgrade a lower version of itself\n"
          "      [--signature SIG --signers ALLOWED_SIGNERS [--signer-identity ID]]\n"
          "      [--require-signature none|registry|publisher|any] [--registry-keys FILE]\n"
          "                    verify a publisher's ssh-keygen signature (namespace\n"
          "                    airlock-package) and npm's registry signature; a requirement\n"
          "                    (also $AIRLOCK_REQUIRE_SIGNATURE) not met refuses the install\n"
          "      [--grant all|none] [--allow CAP=PATTERN]...\n"
          "                    a pi package: what of its wants (the capabilities its code asks\n"
          "                    for) to grant; on a terminal without --grant it asks per want,\n"
          "                    otherwise none unless --grant all; --allow grants a pattern of\n"
          "                    your own (CAP: exec, fs_read, fs_write, network, env_vars)\n"
          "  grant <id> CAP PATTERN, revoke <id> CAP PATTERN\n"
          "                    change a pi package's granted capabilities\n"
          "  list              installed packages\n"
          "  info <id>         one package: version, directory, capabilities, settings\n"
          "  enable <id>, disable <id>\n"
          "  remove <id>       forget the package, its kv data and settings; delete its files\n"
          "  audit [--recent N]\n"
          "                    the audit trail (<home>/audit.jsonl), newest first\n"
          "  doctor [--fix]    database integrity, missing package directories, kill switches\n"
          "  config <id> [KEY [JSON | --unset]]\n"
          "                    resolved settings (secrets hidden), or store / drop an override\n"
          "--home DIR: default $AIRLOCK_HOME, else $XDG_DATA_HOME/airlock, else ~/.local/share/airlock\n");
}

typedef struct plugin_args {
  const char *sub, *arg, *home;
  const char *key, *value; /* config */
  bool json, fix, unset;
  bool replace, allow_downgrade; /* install */
  const char *grant;             /* install: --grant all|none (NULL: ask on a terminal, else none) */
  const char *allow[64];         /* install: --allow CAP=PATTERN */
  size_t nallow;
  const char *signature, *signers, *identity, *keys;
  unsigned require; /* AL_PKG_SIGREQ_*: every --require-signature given */
  bool require_given;
  size_t recent;
} plugin_args;

static void print_json(const json_t *v) {
  char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
  puts(s ? s : "null");
  free(s);
}

static int open_db(const plugin_args *a, al_pkg_db **db) {
  al_error err;
  if (al_pkg_open(a->home, db, &err)) {
    cli_print_error(&err);
    return 1;
  }
  return 0;
}

/* Appends one record to the home's audit trail (<home>/audit.jsonl, what `plugin audit`
 * and hosts over this home share). The audit is evidence, not a gate: a trail that cannot
 * be written is reported on stderr and the command goes on. */
static void audit_note(const plugin_args *a, const char *plugin_id, const char *action,
                       const char *resource, const char *decision, const char *reason) {
  al_error err;
  if (al_pkg_audit_append(a->home, plugin_id, action, resource, decision, reason, &err))
    fprintf(stderr, "warning: audit trail not written: %s\n", err.message);
}

static void print_findings(const json_t *report, const char *indent) {
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(report, "findings"), i, f) {
    const char *sev = json_string_value(json_object_get(f, "severity"));
    bool allowed = json_is_true(json_object_get(f, "allowed"));
    /* messages quote the package's source (string literals, event names) */
    cli_esc e = {0};
    printf("%s%lld:%lld  %-5s %s: %s\n", indent, (long long)json_integer_value(json_object_get(f, "line")),
           (long long)json_integer_value(json_object_get(f, "column")), allowed ? "allow" : sev,
           json_string_value(json_object_get(f, "rule")), cli_e(&e, json_string_value(json_object_get(f, "message"))));
    printf("%s      fix: %s\n", indent, cli_e(&e, json_string_value(json_object_get(f, "remediation"))));
    cli_esc_free(&e);
  }
}

/* One line per signature for the install output and `info`: what was verified. */
static void print_verification(const json_t *v, const char *indent) {
  if (!json_is_object(v)) {
    printf("%sverification: not recorded (installed before Airlock kept it)\n", indent);
    return;
  }
  cli_esc e = {0};
  const char *integ = json_string_value(json_object_get(v, "integrity"));
  printf("%sintegrity: %s\n", indent, integ ? cli_e(&e, integ) : "none (a directory)");
  static const char *const which[] = {"registry", "publisher"};
  for (int i = 0; i < 2; i++) {
    const json_t *o = json_object_get(v, which[i]);
    const char *st = json_string_value(json_object_get(o, "status"));
    const char *reason = json_string_value(json_object_get(o, "reason"));
    printf("%s%s signature: ", indent, which[i]);
    /* key ids, identities and reasons quote the registry's and the signer file's text */
    if (st && !strcmp(st, "verified") && i == 0)
      printf("verified (key %s)\n", cli_e(&e, json_string_value(json_object_get(o, "keyid"))));
    else if (st && !strcmp(st, "verified"))
      printf("verified: %s (%s key %s)\n", cli_e(&e, json_string_value(json_object_get(o, "identity"))),
             cli_e(&e, json_string_value(json_object_get(o, "keyType"))),
             cli_e(&e, json_string_value(json_object_get(o, "fingerprint"))));
    else if (st && !strcmp(st, "none"))
      printf("%s\n", reason ? cli_e(&e, reason) : "none");
    else
      printf("NOT VERIFIED (%s): %s\n", cli_e(&e, json_string_value(json_object_get(o, "problem"))),
             reason ? cli_e(&e, reason) : "?");
    cli_esc_free(&e);
  }
  const char *req = json_string_value(json_object_get(v, "required"));
  printf("%srequired: %s\n", indent, req ? cli_e(&e, req) : "none");
  cli_esc_free(&e);
}

/* "LABEL: exec git *, fs_read $CWD/a.txt" for a wants list or a grant object, escaped;
 * `in_info`: the label in info's column instead ("  wants         exec git *"). */
static void print_caps_line(const char *label, bool in_info, const json_t *wants, const json_t *granted) {
  if (in_info) printf("  %-13s", label);
  else printf("%s:", label);
  size_t i, n = 0;
  json_t *e;
  cli_esc esc = {0};
  json_array_foreach(wants, i, e) {
    printf("%s %s %s%s", n++ ? "," : "", json_string_value(json_object_get(e, "cap")),
           cli_e(&esc, json_string_value(json_object_get(e, "pattern"))),
           json_is_true(json_object_get(e, "broad")) ? " (broad)" : "");
    cli_esc_free(&esc);
  }
  const char *cap;
  json_t *list;
  json_object_foreach((json_t *)granted, cap, list) {
    json_array_foreach(list, i, e) {
      printf("%s %s %s", n++ ? "," : "", cli_e(&esc, cap), cli_e(&esc, json_string_value(e)));
      cli_esc_free(&esc);
    }
  }
  printf("%s\n", n ? "" : " (nothing)");
}

/* The terminal's answer for one want: y grants it, n denies it, anything else is the
 * narrower pattern to grant instead; end of input cancels. */
static int ask_want(void *user, const char *cap, const char *pattern, int broad, char *out, size_t out_cap) {
  int *asked = user;
  if (!(*asked)++) printf("this pi package's code asks for these capabilities; grant each? (y = yes, n = no, "
                          "or type a narrower pattern)\n");
  cli_esc e = {0};
  printf("  wants: %s %s%s  grant? [y/n/PATTERN] ", cap, cli_e(&e, pattern),
         broad ? " (broad: the code's argument is not a literal)" : "");
  cli_esc_free(&e);
  fflush(stdout);
  char line[1100];
  if (!fgets(line, sizeof line, stdin)) return -1;
  line[strcspn(line, "\r\n")] = '\0';
  if (!strcmp(line, "y") || !strcmp(line, "Y") || !strcmp(line, "yes")) return 1;
  if (!strcmp(line, "n") || !strcmp(line, "N") || !strcmp(line, "no") || !line[0]) return 0;
  snprintf(out, out_cap, "%s", line);
  return 1;
}

static int do_install(const plugin_args *a) {
  al_error err;
  al_pkg_install_opts io = {.replace = a->replace, .allow_downgrade = a->allow_downgrade, .signature = a->signature,
                            .signers = a->signers, .signer_identity = a->identity,
                            .registry_keys_file = a->keys ? a->keys : getenv("AIRLOCK_NPM_KEYS"),
                            .fetch_registry_keys = 1};
  if (io.registry_keys_file && !io.registry_keys_file[0]) io.registry_keys_file = NULL;
  /* pi packages: ask on a terminal unless told; otherwise nothing beyond --allow */
  int asked = 0;
  bool tty = isatty(0) && isatty(1) && !a->json;
  if (a->grant && strcmp(a->grant, "all") && strcmp(a->grant, "none")) {
    fprintf(stderr, "error: INVALID_ARGUMENT: --grant takes all or none, not '%s'\n", a->grant);
    return 2;
  }
  io.pi_grant_all = a->grant && !strcmp(a->grant, "all");
  if (!a->grant && tty) {
    io.pi_ask = ask_want;
    io.pi_ask_user = &asked;
  }
  io.pi_allow = a->allow;
  io.pi_nallow = a->nallow;
  /* both apply: a flag cannot lift what the environment requires */
  const char *env = getenv("AIRLOCK_REQUIRE_SIGNATURE");
  io.require_signature = a->require;
  if (env && env[0] && al_pkg_sigreq_parse(env, "AIRLOCK_REQUIRE_SIGNATURE", &io.require_signature, &err)) {
    cli_print_error(&err);
    return 2;
  }
  al_pkg_db *db = NULL;
  if (open_db(a, &db)) return 1;
  char *report_text = NULL;
  int rc = al_pkg_install(db, a->arg, &io, &report_text, &err);
  al_pkg_close(db);
  json_t *report = cli_take_json(report_text);
  if (rc) {
    /* A refusal is a decision worth keeping; an unreadable source is just an error. */
    if (rc == AL_EPREFLIGHT_BLOCKED || rc == AL_ECAPABILITY_DENIED || strstr(err.message, "Refused"))
      audit_note(a, a->arg, "install", a->arg, "denied", err.message);
    cli_print_error(&err);
    return 1;
  }
  {
    const json_t *pre = json_object_get(report, "preflight");
    char why[512];
    const json_t *rep = json_object_get(report, "replaced");
    const char *down = json_string_value(json_object_get(report, "downgradedFrom"));
    snprintf(why, sizeof why, "preflight: %zu finding(s), none blocking%s%.200s%s%s%.64s",
             json_array_size(json_object_get(pre, "findings")), rep ? "; replaced package " : "",
             rep ? (json_string_value(json_object_get(rep, "name")) ? json_string_value(json_object_get(rep, "name"))
                                                                     : "(name not recorded)")
                 : "",
             rep ? " (its settings and kv data dropped)" : "", down ? "; downgraded from " : "", down ? down : "");
    /* what vouched for it belongs in the trail too */
    const json_t *v = json_object_get(report, "verification");
    const char *rs = json_string_value(json_object_get(json_object_get(v, "registry"), "status"));
    const char *ps = json_string_value(json_object_get(json_object_get(v, "publisher"), "status"));
    size_t n = strlen(why);
    snprintf(why + n, sizeof why - n, "; registry signature %s; publisher signature %s", rs ? rs : "?", ps ? ps : "?");
    audit_note(a, json_string_value(json_object_get(report, "id")), "install",
               json_string_value(json_object_get(report, "dir")), "allowed", why);
  }
  if (a->json) {
    print_json(report);
  } else {
    printf("installed %s@%s (%s) into %s\n", json_string_value(json_object_get(report, "id")),
           json_string_value(json_object_get(report, "version")), json_string_value(json_object_get(report, "source")),
           json_string_value(json_object_get(report, "dir")));
    /* what the packages recorded and the manifest's warnings (which quote its field
     * names) are the packages' own text: escaped */
    cli_esc e = {0};
    const json_t *rep = json_object_get(report, "replaced");
    if (rep)
      printf("replaced %s %s: its settings and kv data were dropped\n",
             json_string_value(json_object_get(rep, "name")) ? cli_e(&e, json_string_value(json_object_get(rep, "name")))
                                                             : "(a package whose name was not recorded)",
             cli_e(&e, json_string_value(json_object_get(rep, "version"))));
    if (json_object_get(report, "downgradedFrom"))
      printf("downgraded from %s\n", cli_e(&e, json_string_value(json_object_get(report, "downgradedFrom"))));
    cli_esc_free(&e);
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(report, "warnings"), i, w) {
      printf("warning: %s\n", cli_e(&e, json_string_value(w)));
      cli_esc_free(&e);
    }
    print_verification(json_object_get(report, "verification"), "");
    if (json_object_get(report, "profile")) {
      print_caps_line("wants", false, json_object_get(report, "wants"), NULL);
      print_caps_line("granted", false, NULL, json_object_get(report, "granted"));
      if (!a->grant && !io.pi_ask)
        printf("(not a terminal and no --grant: nothing of its wants was granted beyond --allow; "
               "airlock plugin grant %s CAP PATTERN grants later)\n", json_string_value(json_object_get(report, "id")));
    }
    json_t *pre = json_object_get(report, "preflight");
    size_t n = json_array_size(json_object_get(pre, "findings"));
    if (n) {
      printf("preflight: %zu finding%s\n", n, n == 1 ? "" : "s");
      print_findings(pre, "  ");
    }
  }
  json_decref(report);
  return 0;
}

/* A record as JSON, in the database's key order: {id, version, dir, enabled, installedAt,
 * manifest (unless brief), name, verification}. */
static json_t *record_json(const al_pkg_record *r, bool brief) {
  json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:I}", "id", r->id, "version", r->version, "dir", r->dir, "enabled",
                        r->enabled, "installedAt", (json_int_t)r->installed_at_ms);
  if (!o) return NULL;
  if (!brief) json_object_set_new(o, "manifest", r->manifest_json ? json_loads(r->manifest_json, 0, NULL) : json_null());
  json_object_set_new(o, "name", r->name ? json_string(r->name) : json_null());
  json_t *v = r->verification_json ? json_loads(r->verification_json, 0, NULL) : NULL;
  json_object_set_new(o, "verification", v ? v : json_null());
  json_t *pi = r->pi_json ? json_loads(r->pi_json, 0, NULL) : NULL;
  if (pi) json_object_set_new(o, "pi", pi);
  return o;
}

static int do_list(const plugin_args *a) {
  al_pkg_db *db = NULL;
  if (open_db(a, &db)) return 1;
  al_pkg_record *list = NULL;
  size_t n = 0;
  al_error err;
  int rc = al_pkg_list(db, &list, &n, &err);
  al_pkg_close(db);
  if (rc) {
    cli_print_error(&err);
    return 1;
  }
  if (a->json) {
    json_t *brief = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(brief, record_json(&list[i], true));
    print_json(brief);
    json_decref(brief);
  } else if (!n) {
    printf("no plugins installed in %s\n", a->home);
  } else {
    for (size_t i = 0; i < n; i++)
      printf("%-32s %-12s %-8s %s%s\n", list[i].id, list[i].version, list[i].enabled ? "enabled" : "disabled",
             list[i].dir, list[i].pi_json ? "  (pi)" : "");
  }
  al_pkg_records_free(list, n);
  return 0;
}

static void print_names(const char *label, const json_t *arr) {
  if (!json_array_size(arr)) return;
  printf("  %-13s ", label); /* the column, or one space past a longer label */
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    fputs(i ? ", " : "", stdout);
    al_term_fputs(json_string_value(v), 0, stdout); /* hosts, paths, names: the manifest's */
  }
  putchar('\n');
}

static int do_info(const plugin_args *a) {
  al_pkg_db *db = NULL;
  if (open_db(a, &db)) return 1;
  al_pkg_record *r = NULL;
  char *stored = NULL;
  al_error err;
  int rc = al_pkg_get(db, a->arg, &r, &err);
  /* the stored overrides, secrets already hidden by the library */
  if (!rc) rc = al_pkg_settings(db, a->arg, AL_PKG_SETTINGS_STORED, &stored, &err);
  al_pkg_close(db);
  if (rc) {
    al_pkg_record_free(r);
    cli_print_error(&err);
    return 1;
  }
  json_t *rec = record_json(r, false), *settings = cli_take_json(stored);
  al_pkg_record_free(r);
  json_t *m = json_object_get(rec, "manifest");
  const char *key;
  if (a->json) {
    json_object_set(rec, "settings", settings);
    print_json(rec);
  } else {
    printf("%s@%s  %s\n", json_string_value(json_object_get(rec, "id")), json_string_value(json_object_get(rec, "version")),
           json_is_true(json_object_get(rec, "enabled")) ? "enabled" : "disabled");
    const char *t = json_string_value(json_object_get(m, "title")), *d = json_string_value(json_object_get(m, "description"));
    /* a package's own words: escaped */
    cli_esc e = {0};
    if (t) printf("  %-14s%s\n", "title", cli_e(&e, t));
    if (d) printf("  %-14s%s\n", "description", cli_e(&e, d));
    printf("  %-14s%s\n", "directory", json_string_value(json_object_get(rec, "dir")));
    const char *entry = json_string_value(json_object_get(m, "entry"));
    if (!json_object_get(rec, "pi")) /* a pi package's entries are its files' (the pi rule) */
      printf("  %-14s%s\n", "entry", entry ? cli_e(&e, entry) : "index.js");
    cli_esc_free(&e);
    json_t *pi = json_object_get(rec, "pi");
    if (pi) { /* a pi package: what its code asks for against what was granted */
      printf("  %-14spi\n", "profile");
      print_caps_line("wants", true, json_object_get(pi, "wants"), NULL);
      print_caps_line("granted", true, NULL, json_object_get(pi, "granted"));
    }
    json_t *caps = json_object_get(m, "capabilities");
    if (pi) caps = NULL;
    else if (!json_object_size(caps)) printf("  %-14s(none)\n", "capabilities");
    json_t *v;
    json_object_foreach(caps, key, v) {
      char label[64];
      snprintf(label, sizeof label, "cap %s", cli_e(&e, key));
      cli_esc_free(&e);
      if (json_is_array(v)) print_names(label, v);
      else printf("  %-13s %s\n", label, json_is_true(v) ? "yes" : "no");
    }
    print_verification(json_object_get(rec, "verification"), "  ");
    print_names("shared read", json_object_get(json_object_get(m, "shared"), "read"));
    print_names("shared write", json_object_get(json_object_get(m, "shared"), "write"));
    json_object_foreach(settings, key, v) {
      /* setting names are the manifest's; JSON leaves C1 and bidi controls raw */
      char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
      char label[300];
      snprintf(label, sizeof label, "setting %s", cli_e(&e, key));
      printf("  %-14s %s\n", label, s ? cli_e(&e, s) : "?");
      cli_esc_free(&e);
      free(s);
    }
  }
  json_decref(settings);
  json_decref(rec);
  return 0;
}

static int do_grant(const plugin_args *a, bool revoke) {
  if (!a->key || !a->value) {
    fprintf(stderr, "error: INVALID_ARGUMENT: 'airlock plugin %s' needs an id, a capability and a pattern\n",
            revoke ? "revoke" : "grant");
    return 2;
  }
  al_pkg_db *db = NULL;
  if (open_db(a, &db)) return 1;
  al_error err;
  char *g = NULL;
  int rc = al_pkg_pi_grant(db, a->arg, a->key, a->value, revoke, &g, &err);
  al_pkg_close(db);
  if (rc) {
    cli_print_error(&err);
    return 1;
  }
  char res[1200];
  snprintf(res, sizeof res, "%s %s", a->key, a->value);
  audit_note(a, a->arg, revoke ? "revoke" : "grant", res, "allowed", revoke ? "revoked by the user" : "granted by the user");
  json_t *granted = cli_take_json(g);
  if (a->json) print_json(granted);
  else {
    cli_esc e = {0};
    printf("%s %s %s %s\n", revoke ? "revoked" : "granted", a->key, cli_e(&e, a->value), a->arg);
    cli_esc_free(&e);
    print_caps_line("granted", false, NULL, granted);
  }
  json_decref(granted);
  return 0;
}

static int do_enable(const plugin_args *a, bool on) {
  al_pkg_db *db = NULL;
  if (open_db(a, &db)) return 1;
  al_error err;
  int rc = al_pkg_enable(db, a->arg, on, &err);
  al_pkg_close(db);
  if (rc) {
    cli_print_error(&err);
    return 1;
  }
  audit_note(a, a->arg, on ? "enable" : "disable", a->arg, "changed", "airlock plugin");
  printf("%s %s\n", on ? "enabled" : "disabled", a->arg);
  return 0;
}

static int do_remove(const plugin_args *a) {
  al_pkg_db *db = NULL;
  if (open_db(a, &db)) return 1;
  al_error err;
  /* the library deletes the files only when they are under <home>/packages */
  int rc = al_pkg_remove(db, a->arg, &err);
  al_pkg_close(db);
  if (rc) {
    cli_print_error(&err);
    return 1;
  }
  audit_note(a, a->arg, "remove", a->arg, "changed", "airlock plugin");
  printf("removed %s\n", a->arg);
  return 0;
}

static int do_audit(const plugin_args *a) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/audit.jsonl", a->home);
  char *text = NULL;
  size_t skipped = 0;
  al_error err;
  if (al_pkg_audit_read(a->home, a->recent, &text, &skipped, &err)) {
    cli_print_error(&err);
    return 1;
  }
  json_t *recs = cli_take_json(text);
  if (a->json) {
    print_json(recs);
  } else if (!json_array_size(recs)) {
    printf("no audit records in %s\n", path);
  } else {
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
      /* Every field is escaped: resources and reasons quote plugins (kv keys, URLs,
       * messages), and any host writing to this home could have written the line. */
      cli_esc e = {0};
      printf("%s  %-20s %-14s %-8s %s  (%s)\n", cli_e(&e, json_string_value(json_object_get(r, "timestamp"))),
             cli_e(&e, json_string_value(json_object_get(r, "plugin_id"))),
             cli_e(&e, json_string_value(json_object_get(r, "action"))),
             cli_e(&e, json_string_value(json_object_get(r, "decision"))),
             cli_e(&e, json_string_value(json_object_get(r, "resource"))),
             cli_e(&e, json_string_value(json_object_get(r, "reason"))));
      cli_esc_free(&e);
    }
  }
  if (skipped) fprintf(stderr, "warning: %zu unreadable line%s skipped in %s\n", skipped, skipped == 1 ? "" : "s", path);
  json_decref(recs);
  return 0;
}

/* doctor: the home's checks (al_pkg_doctor), then the kill switches in effect here. */
static void check(json_t *checks, const char *name, bool ok, const char *detail, bool fixed) {
  json_t *c = json_pack("{s:s,s:b,s:s}", "check", name, "ok", ok || fixed, "detail", detail);
  if (fixed) json_object_set_new(c, "fixed", json_true());
  json_array_append_new(checks, c);
}

static int do_doctor(const plugin_args *a) {
  json_t *checks = json_array();
  al_pkg_check *found = NULL;
  size_t nfound = 0;
  al_error err;
  if (al_pkg_doctor(a->home, a->fix ? AL_PKG_DOCTOR_FIX : 0, &found, &nfound, &err)) {
    cli_print_error(&err);
    json_decref(checks);
    return 1;
  }
  for (size_t k = 0; k < nfound; k++) check(checks, found[k].name, found[k].ok, found[k].detail, found[k].fixed);
  al_pkg_checks_free(found, nfound);
  char *swtext = NULL;
  al_error serr;
  int src = al_switches_env(&swtext, &serr);
  json_t *swj = cli_take_json(swtext);
  {
    char buf[256] = "", detail[512];
    size_t n = 0;
    if (json_is_true(json_object_get(swj, "disable"))) n += (size_t)snprintf(buf + n, sizeof buf - n, "AIRLOCK_DISABLE_PLUGINS ");
    if (json_is_true(json_object_get(swj, "skip"))) n += (size_t)snprintf(buf + n, sizeof buf - n, "AIRLOCK_SKIP_PLUGINS ");
    if (json_is_true(json_object_get(swj, "forceDeny"))) n += (size_t)snprintf(buf + n, sizeof buf - n, "AIRLOCK_FORCE_DENY ");
    const char *mode = json_string_value(json_object_get(swj, "mode"));
    if (mode) snprintf(buf + n, sizeof buf - n, "AIRLOCK_PLUGIN_MODE=%s ", mode);
    if (src) check(checks, "kill switches", false, serr.message, false);
    else {
      snprintf(detail, sizeof detail, buf[0] ? "in effect: %s" : "none in effect", buf);
      if (buf[0]) detail[strlen(detail) - 1] = 0; /* the trailing space */
      check(checks, "kill switches", true, detail, false);
    }
  }
  size_t bad = 0, i;
  json_t *c;
  json_array_foreach(checks, i, c) if (!json_is_true(json_object_get(c, "ok"))) bad++;
  if (a->json) {
    json_t *out = json_pack("{s:s,s:O,s:O,s:b}", "home", a->home, "checks", checks, "switches", swj ? swj : json_null(),
                            "ok", bad == 0);
    print_json(out);
    json_decref(out);
  } else {
    json_array_foreach(checks, i, c) {
      bool ok = json_is_true(json_object_get(c, "ok")), fixed = json_is_true(json_object_get(c, "fixed"));
      /* details quote the packages' manifests (versions, what did not parse) */
      cli_esc e = {0};
      printf("%-6s %-28s %s\n", fixed ? "FIXED" : ok ? "ok" : "FAIL", cli_e(&e, json_string_value(json_object_get(c, "check"))),
             cli_e(&e, json_string_value(json_object_get(c, "detail"))));
      cli_esc_free(&e);
    }
    printf("%zu problem%s\n", bad, bad == 1 ? "" : "s");
  }
  json_decref(swj);
  json_decref(checks);
  return bad ? 1 : 0;
}

/* config: the library checks an override against the manifest recorded at install and
 * hides secrets; this prints. */
static int do_config(const plugin_args *a) {
  al_pkg_db *db = NULL;
  if (open_db(a, &db)) return 1;
  char *text = NULL;
  al_error err;
  int status = 1;
  if (a->key && (a->value || a->unset)) {
    char *value = NULL;
    if (a->value) {
      json_error_t je;
      json_t *v = json_loads(a->value, JSON_DECODE_ANY, &je);
      if (!v) v = json_string(a->value); /* a bare word is a string */
      value = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
      json_decref(v);
      if (!value) {
        fprintf(stderr, "error: OUT_OF_MEMORY: out of memory\n");
        goto done;
      }
    }
    int rc = al_pkg_setting_set(db, a->arg, a->key, value, &err);
    free(value);
    if (rc) {
      cli_print_error(&err);
      goto done;
    }
    printf("%s %s.%s\n", a->value ? "set" : "unset", a->arg, a->key);
    status = 0;
    goto done;
  }
  if (a->key) {
    if (al_pkg_setting_get(db, a->arg, a->key, &text, &err)) {
      cli_print_error(&err);
      goto done;
    }
    /* JSON for a person's terminal: values can be the package's own text (defaults), so
     * everything beyond ASCII is spelled \uNNNN (no C1 control or bidi override reaches
     * the terminal), still JSON that reads back as the same value. */
    json_t *v = cli_take_json(text);
    char *t = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    puts(t ? t : "undefined");
    free(t);
    json_decref(v);
  } else {
    if (al_pkg_settings(db, a->arg, AL_PKG_SETTINGS_RESOLVED, &text, &err)) {
      cli_print_error(&err);
      goto done;
    }
    json_t *resolved = cli_take_json(text);
    char *t = resolved ? json_dumps(resolved, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
    puts(t ? t : "null");
    free(t);
    json_decref(resolved);
  }
  status = 0;
done:
  al_pkg_close(db);
  return status;
}

int cmd_plugin(int argc, char **argv) {
  plugin_args a = {0};
  char home[PATH_MAX];
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "--json")) a.json = true;
    else if (!strcmp(s, "--fix")) a.fix = true;
    else if (!strcmp(s, "--unset")) a.unset = true;
    else if (!strcmp(s, "--replace")) a.replace = true;
    else if (!strcmp(s, "--allow-downgrade")) a.allow_downgrade = true;
    else if (!strcmp(s, "--home") && i + 1 < argc) a.home = argv[++i];
    else if (!strcmp(s, "--grant") && i + 1 < argc) a.grant = argv[++i];
    else if (!strcmp(s, "--allow") && i + 1 < argc) {
      if (a.nallow == sizeof a.allow / sizeof *a.allow) {
        fprintf(stderr, "error: INVALID_ARGUMENT: at most %zu --allow options\n", sizeof a.allow / sizeof *a.allow);
        return 2;
      }
      a.allow[a.nallow++] = argv[++i];
    }
    else if (!strcmp(s, "--signature") && i + 1 < argc) a.signature = argv[++i];
    else if (!strcmp(s, "--signers") && i + 1 < argc) a.signers = argv[++i];
    else if (!strcmp(s, "--signer-identity") && i + 1 < argc) a.identity = argv[++i];
    else if (!strcmp(s, "--require-signature") && i + 1 < argc) {
      al_error err;
      a.require_given = true;
      if (al_pkg_sigreq_parse(argv[++i], "--require-signature", &a.require, &err)) {
        cli_print_error(&err);
        return 2;
      }
    }
    else if (!strcmp(s, "--registry-keys") && i + 1 < argc) a.keys = argv[++i];
    else if (!strcmp(s, "--recent") && i + 1 < argc) {
      char *end;
      long n = strtol(argv[++i], &end, 10);
      if (*end || n < 0) {
        fprintf(stderr, "error: INVALID_ARGUMENT: --recent needs a count, not '%s'\n", argv[i]);
        return 2;
      }
      a.recent = (size_t)n;
    } else if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
      plugin_usage(stdout);
      return 0;
    } else if (s[0] == '-' && s[1]) {
      fprintf(stderr, "error: INVALID_ARGUMENT: unknown or incomplete option '%s'\n", s);
      return 2;
    } else if (!a.sub) a.sub = s;
    else if (!a.arg) a.arg = s;
    else if ((!strcmp(a.sub, "config") || !strcmp(a.sub, "grant") || !strcmp(a.sub, "revoke")) && !a.key) a.key = s;
    else if ((!strcmp(a.sub, "config") || !strcmp(a.sub, "grant") || !strcmp(a.sub, "revoke")) && !a.value) a.value = s;
    else {
      fprintf(stderr, "error: INVALID_ARGUMENT: unexpected argument '%s'\n", s);
      return 2;
    }
  }
  if (!a.sub) {
    plugin_usage(stderr);
    return 2;
  }
  if (!a.home) a.home = cli_default_home(home, sizeof home);
  static const char *const need_arg[] = {"install", "info", "enable", "disable", "remove", "config", "grant", "revoke"};
  static const char *const no_arg[] = {"list", "audit", "doctor"};
  bool known = false;
  for (size_t k = 0; k < sizeof need_arg / sizeof *need_arg; k++)
    if (!strcmp(a.sub, need_arg[k])) {
      known = true;
      if (!a.arg) {
        fprintf(stderr, "error: INVALID_ARGUMENT: 'airlock plugin %s' needs %s\n", a.sub,
                k == 0 ? "a directory, a .tgz file or an npm package name" : "a package id");
        return 2;
      }
    }
  for (size_t k = 0; k < 3; k++)
    if (!strcmp(a.sub, no_arg[k])) {
      known = true;
      if (a.arg) {
        fprintf(stderr, "error: INVALID_ARGUMENT: unexpected argument '%s'\n", a.arg);
        return 2;
      }
    }
  if (!known) {
    fprintf(stderr, "error: INVALID_ARGUMENT: unknown plugin command '%s'\n", a.sub);
    plugin_usage(stderr);
    return 2;
  }
  if ((a.signature || a.signers || a.identity || a.require_given || a.keys) && strcmp(a.sub, "install")) {
    fprintf(stderr, "error: INVALID_ARGUMENT: the signature options belong to 'airlock plugin install'\n");
    return 2;
  }
  if ((a.grant || a.nallow) && strcmp(a.sub, "install")) {
    fprintf(stderr, "error: INVALID_ARGUMENT: --grant and --allow belong to 'airlock plugin install'\n");
    return 2;
  }
  if (!a.signature != !a.signers || (a.identity && !a.signature)) {
    fprintf(stderr, "error: INVALID_ARGUMENT: --signature SIG and --signers ALLOWED_SIGNERS go together "
                    "(--signer-identity only with them)\n");
    return 2;
  }
  if (!strcmp(a.sub, "install")) return do_install(&a);
  if (!strcmp(a.sub, "list")) return do_list(&a);
  if (!strcmp(a.sub, "info")) return do_info(&a);
  if (!strcmp(a.sub, "enable")) return do_enable(&a, true);
  if (!strcmp(a.sub, "disable")) return do_enable(&a, false);
  if (!strcmp(a.sub, "remove")) return do_remove(&a);
  if (!strcmp(a.sub, "grant")) return do_grant(&a, false);
  if (!strcmp(a.sub, "revoke")) return do_grant(&a, true);
  if (!strcmp(a.sub, "audit")) return do_audit(&a);
  if (!strcmp(a.sub, "config")) {
    if (a.unset && (!a.key || a.value)) {
      fprintf(stderr, "error: INVALID_ARGUMENT: --unset takes a KEY and no value\n");
      return 2;
    }
    return do_config(&a);
  }
  return do_doctor(&a);
}

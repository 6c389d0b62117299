/*
 * cmd_emit.c: `airlock emit <event> [payload.json | -]`: load the enabled installed
 * packages from the host database, emit one event, print the aggregate with every
 * handler's result as JSON, and exit 2 when the aggregate is block or deny, so the
 * command can serve as another program's hook. Also the host set-up `airlock tool`
 * shares (cli_hooks_host).
 *
 * A package that fails to load is reported on stderr and skipped: one broken plugin must
 * not take every other one's verdict away. With AIRLOCK_DISABLE_PLUGINS the answer is
 * "continue" with `disabled` saying why, exit 0.
 *
 * With --protocol (or input carrying an agent's hook_event_name) the command is a coding
 * agent's command hook instead (emit_agent): the agent's event and input are mapped onto
 * Airlock's (agent_proto.h) and the answer is the agent's own, never Airlock's JSON or
 * its exit 1; there a package that does not load is a failure, which the events that can
 * stop an action answer by blocking (fail closed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_proto.h"
#include "airlock_pkg.h"
#include "commands.h"
#include "tty_ask.h"
#include "util.h"

static void emit_usage(FILE *out) {
  fprintf(out,
          "usage: airlock emit <event> [payload.json | -] [options]\n"
          "       airlock emit [--protocol claude-code|gemini-cli] [event] [- | input.json] [options]\n"
          "  --home DIR              host database and packages (default: $AIRLOCK_HOME,\n"
          "                          else $XDG_DATA_HOME/airlock, else ~/.local/share/airlock)\n"
          "  --isolation MODE        process (default), thread or inline\n"
          "  --policy FILE           capability policy JSON\n"
          "  --plugin PATH           also load the package in PATH, a pi extension file or a pi\n"
          "                          package (repeatable, in order; not installed)\n"
          "  --cwd DIR               ctx.cwd for pi extensions (default: the current directory)\n"
          "  --flag NAME=VALUE       a pi flag's value for pi.getFlag (repeatable)\n"
          "  --ui                    pi extensions get ctx.hasUI true and their ctx.ui questions\n"
          "                          (confirm, select, input, editor) are asked on the\n"
          "                          terminal (default: headless)\n"
          "  --workers N             worker count (default: one per CPU; with --protocol: 1)\n"
          "  --no-prompt             deny what the policy says needs approval instead of\n"
          "                          asking on the terminal (the default without one)\n"
          "  --protocol NAME         answer as a coding agent's command hook: claude-code or\n"
          "                          gemini-cli (the input on stdin names the event with\n"
          "                          hook_event_name; `emit -` recognises such input alone)\n"
          "  --fail-open             with a protocol: when Airlock itself fails, answer the\n"
          "                          agent's non-blocking error (exit 1) instead of blocking\n"
          "prints {event, action, reason?, payload, results}; exit 2 on block or deny\n"
          "(pi's events, e.g. tool_call: {event, action, reason?, payload, result?, intents,\n"
          "errors}; exit 2 on block or cancel; docs/pi-extensions.md)\n"
          "(with --protocol: the agent's own answer; docs/agents.md)\n");
}

const char *cli_default_home(char *buf, size_t cap) {
  const char *h = getenv("AIRLOCK_HOME"), *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
  if (h && *h) snprintf(buf, cap, "%s", h);
  else if (x && *x) snprintf(buf, cap, "%s/airlock", x);
  else snprintf(buf, cap, "%s/.local/share/airlock", home && *home ? home : ".");
  return buf;
}

/* Reads a JSON argument from a file or stdin ("-"); NULL path: "{}". malloc()ed. */
char *cli_read_json_arg(const char *path) {
  if (!path) return strdup("{}");
  size_t n;
  char *t = cli_read_file(path, &n);
  if (!t)
    fprintf(stderr, "error: IO_ERROR: cannot read %s: %s\n", strcmp(path, "-") ? path : "stdin",
            strerror(errno));
  return t;
}

void cli_hooks_opts_init(cli_hooks_opts *o) {
  memset(o, 0, sizeof *o);
  o->iso = AL_ISOLATION_PROCESS;
}

int cli_hooks_opt(int argc, char **argv, int *i, cli_hooks_opts *o) {
  const char *a = argv[*i];
  bool has_val = *i + 1 < argc;
  if (!strcmp(a, "--home") && has_val) o->home = argv[++*i];
  else if (!strcmp(a, "--policy") && has_val) o->policy_file = argv[++*i];
  else if (!strcmp(a, "--isolation") && has_val) return cli_isolation(argv[++*i], &o->iso) ? 2 : 1;
  else if (!strcmp(a, "--no-prompt")) o->no_prompt = true;
  else if (!strcmp(a, "--cwd") && has_val) o->cwd = argv[++*i];
  else if (!strcmp(a, "--ui")) o->ui = true;
  else if (!strcmp(a, "--flag") && has_val) {
    const char *f = argv[++*i];
    if (!strchr(f, '=') || f[0] == '=' || o->nflags == (int)(sizeof o->flags / sizeof o->flags[0])) {
      fprintf(stderr, "error: INVALID_ARGUMENT: --flag takes name=value (at most %d), not '%s'\n",
              (int)(sizeof o->flags / sizeof o->flags[0]), f);
      return 2;
    }
    o->flags[o->nflags++] = f;
  }
  else if (!strcmp(a, "--workers") && has_val) {
    char *end;
    long n = strtol(argv[++*i], &end, 10);
    if (*end || n < 1 || n > 64) {
      fprintf(stderr, "error: INVALID_ARGUMENT: --workers takes 1 to 64, not '%s'\n", argv[*i]);
      return 2;
    }
    o->workers = (unsigned)n;
  }
  else if (!strcmp(a, "--plugin") && has_val) {
    if (o->ndirs == (int)(sizeof o->dirs / sizeof o->dirs[0])) {
      fprintf(stderr, "error: INVALID_ARGUMENT: at most %d --plugin directories\n", o->ndirs);
      return 2;
    }
    o->dirs[o->ndirs++] = argv[++*i];
  } else return 0;
  return 1;
}

/* Records the first failure in `failure`, counting the rest. */
static void note_failure(char *failure, size_t cap, int *nfail, const char *fmt, const char *a,
                         const char *b, const char *c) {
  if (failure && cap && (*nfail)++ == 0) snprintf(failure, cap, fmt, a, b, c);
}

int cli_hooks_host_report(const cli_hooks_opts *o, al_host **out, char *failure, size_t cap) {
  *out = NULL;
  if (failure && cap) failure[0] = '\0';
  char hb[4096];
  const char *home = o->home ? o->home : cli_default_home(hb, sizeof hb);
  al_error err = {0};
  char *policy = NULL;
  if (o->policy_file) {
    size_t n;
    if (!(policy = cli_read_file(o->policy_file, &n))) {
      if (failure) snprintf(failure, cap, "IO_ERROR: cannot read the policy file %s: %s", o->policy_file, strerror(errno));
      return 1;
    }
  }
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = o->iso;
  cfg.workers = o->workers;
  cfg.home = home;
  cfg.policy_json = policy;
  /* The same trail `airlock plugin audit` reads. */
  char audit_path[4200];
  snprintf(audit_path, sizeof audit_path, "%s/audit.jsonl", home);
  cfg.audit_path = audit_path;
  if (!o->no_prompt) cfg.ask = cli_tty_ask; /* tty_ask.c: questions on the controlling terminal */
  int rc = al_host_new(&cfg, out, &err);
  free(policy);
  /* An agent's profile widens the event declarations before any plugin subscribes. */
  if (!rc && o->protocol) rc = ap_register_profile(*out, (ap_protocol)o->protocol, &err);
  if (!rc && (o->cwd || o->nflags || o->ui)) {
    /* what pi extensions' ctx.cwd and pi.getFlag answer (docs/pi-extensions.md) */
    json_t *ctx = json_object(), *flags = json_object();
    if (o->cwd) json_object_set_new(ctx, "cwd", json_string(o->cwd));
    /* --ui: a person is at this terminal (unless --no-prompt): ctx.ui asks them */
    if (o->ui && !o->no_prompt) json_object_set_new(ctx, "hasUI", json_true());
    for (int f = 0; f < o->nflags; f++) {
      const char *eq = strchr(o->flags[f], '=');
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)(eq - o->flags[f]), o->flags[f]);
      json_object_set_new(flags, name, json_string(eq + 1));
    }
    json_object_set_new(ctx, "flags", flags);
    char *text = json_dumps(ctx, JSON_COMPACT);
    rc = text ? al_pi_context(*out, text, &err) : AL_ENO_MEMORY;
    free(text);
    json_decref(ctx);
  }
  if (rc) {
    /* The policy's errors name no file: this is the one place that knows it. */
    bool in_policy = o->policy_file && strstr(err.message, "polic");
    if (failure)
      snprintf(failure, cap, "%s: %s%s%s%s", al_err_name(err.code), err.message, in_policy ? " (in " : "",
               in_policy ? o->policy_file : "", in_policy ? ")" : "");
    al_host_free(*out);
    *out = NULL;
    return 1;
  }
  /* The enabled packages, in id order. The database is opened once more here only to
   * list them; the host keeps its own connection. */
  al_pkg_db *db = NULL;
  al_pkg_record *list = NULL;
  size_t count = 0;
  if (al_pkg_open(home, &db, &err) || al_pkg_list(db, &list, &count, &err)) {
    if (failure) snprintf(failure, cap, "%s: %s", al_err_name(err.code), err.message);
    al_pkg_close(db);
    al_host_free(*out);
    *out = NULL;
    return 1;
  }
  al_pkg_close(db);
  int nfail = 0;
  for (size_t i = 0; i < count; i++) {
    if (!list[i].enabled) continue;
    const char *id = list[i].id;
    rc = al_load_package(*out, id, NULL, NULL, 0, &err);
    if (rc == AL_EPLUGINS_DISABLED) break;
    if (rc) {
      cli_esc e = {0}; /* the message may quote the package (what it threw, its manifest) */
      fprintf(stderr, "warning: package '%s' not loaded: %s: %s\n", cli_e(&e, id), al_err_name(rc), cli_e(&e, err.message));
      cli_esc_free(&e);
      note_failure(failure, cap, &nfail, "package '%s' did not load: %s: %s", id, al_err_name(rc), err.message);
    }
  }
  al_pkg_records_free(list, count);
  for (int d = 0; d < o->ndirs; d++) {
    rc = al_load_package(*out, o->dirs[d], NULL, NULL, 0, &err);
    if (rc == AL_EPLUGINS_DISABLED) break;
    if (rc) {
      cli_esc e = {0};
      fprintf(stderr, "warning: package in '%s' not loaded: %s: %s\n", cli_e(&e, o->dirs[d]), al_err_name(rc),
              cli_e(&e, err.message));
      cli_esc_free(&e);
      note_failure(failure, cap, &nfail, "package in '%s' did not load: %s: %s", o->dirs[d], al_err_name(rc), err.message);
    }
  }
  if (nfail > 1 && failure) {
    size_t len = strlen(failure);
    snprintf(failure + len, cap - len, " (and %d more)", nfail - 1);
  }
  return 0;
}

int cli_hooks_host(const cli_hooks_opts *o, al_host **out) {
  char why[1024];
  int rc = cli_hooks_host_report(o, out, why, sizeof why);
  if (rc) {
    fputs("error: ", stderr);
    al_term_fputs(why, 1, stderr); /* may quote a package's load error */
    fputc('\n', stderr);
  }
  return rc;
}

/* The agent's hook: its input on stdin (or payload_path), its event named by `event` or
 * by the input's hook_event_name, its answer in its own terms (agent_proto.h). Every
 * failure is answered through ap_fail, so the agent never sees Airlock's own exit 1
 * where it should see a block. */
static int emit_agent(ap_protocol p, const char *event, const char *payload_path, cli_hooks_opts *o,
                      bool fail_open) {
  size_t n;
  const char *src = payload_path ? payload_path : "-";
  char *text = cli_read_file(src, &n);
  char why[1400];
  if (!text) {
    snprintf(why, sizeof why, "IO_ERROR: cannot read the hook input from %s: %s",
             strcmp(src, "-") ? src : "stdin", strerror(errno));
    return ap_fail(p, NULL, why, fail_open, stderr);
  }
  json_error_t jerr;
  json_t *input = json_loads(text, 0, &jerr);
  free(text);
  if (!json_is_object(input)) {
    if (input) snprintf(why, sizeof why, "INVALID_ARGUMENT: the hook input must be a JSON object");
    else snprintf(why, sizeof why, "INVALID_ARGUMENT: the hook input is not JSON: %s (line %d)", jerr.text, jerr.line);
    json_decref(input);
    return ap_fail(p, NULL, why, fail_open, stderr);
  }
  const char *name = event ? event : json_string_value(json_object_get(input, "hook_event_name"));
  if (!name) {
    json_decref(input);
    return ap_fail(p, NULL, "INVALID_ARGUMENT: no event named and the input has no hook_event_name",
                   fail_open, stderr);
  }
  if (p == AP_NONE) p = ap_detect(name);
  const ap_event *ev = ap_event_find(p, name);
  if (!ev && !strcmp(name, "WorktreeCreate")) {
    /* The one event where exit 0 with nothing printed is not "go on": Claude Code reads
     * the new worktree's path from stdout. Say plainly that this hook is misplaced. */
    fprintf(stderr, "airlock (%s hook): WorktreeCreate hooks must create the worktree; Airlock does not, remove this hook\n",
            ap_protocol_name(p));
    json_decref(input);
    return 1;
  }
  if (!ev) {
    /* An event of the agent with no Airlock counterpart: no opinion. Exit 0 with nothing
     * on stdout is "go on" for every other event the agent documents. */
    fprintf(stderr, "airlock (%s hook): no Airlock event for '%s'; no opinion\n", ap_protocol_name(p), name);
    json_decref(input);
    return 0;
  }
  o->protocol = p;
  /* One worker unless told otherwise: a hook usually has a plugin or two with quick
   * handlers, and every further worker process costs its own start (~5 ms) before the
   * first answer; concurrency across plugins would only pay off for slow handlers. */
  if (!o->workers) o->workers = 1;
  al_host *h = NULL;
  char failure[1024];
  if (cli_hooks_host_report(o, &h, failure, sizeof failure)) {
    json_decref(input);
    return ap_fail(p, ev, failure, fail_open, stderr);
  }
  json_t *payload = ap_payload(p, ev, input);
  char *ptext = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
  json_decref(payload);
  char *out = NULL;
  al_error err = {0};
  int rc = ptext ? al_emit(h, ev->airlock, ptext, &out, &err) : AL_ENO_MEMORY;
  if (!ptext) snprintf(err.message, sizeof err.message, "out of memory");
  int status;
  if (rc == AL_EPLUGINS_DISABLED) {
    status = 0; /* the operator turned plugins off on purpose: nothing to say */
  } else if (rc) {
    snprintf(why, sizeof why, "%s: %s", al_err_name(rc), err.message);
    status = ap_fail(p, ev, why, fail_open, stderr);
  } else {
    json_t *agg = json_loads(out, 0, NULL);
    status = agg ? ap_answer(p, ev, input, agg, failure[0] ? failure : NULL, fail_open, stdout, stderr)
                 : ap_fail(p, ev, "NO_MEMORY: the aggregate could not be read", fail_open, stderr);
    json_decref(agg);
  }
  free(out);
  free(ptext);
  json_decref(input);
#ifndef __SANITIZE_ADDRESS__
  /* The answer is out and nothing is left to finish: the audit trail is written with
   * write(2), database commits are already on disk, and the worker processes die with
   * us (PR_SET_PDEATHSIG). A teardown would only make the agent wait (about 1 ms per
   * call). Sanitizer builds tear down, so leaks are still found. */
  fflush(stdout);
  fflush(stderr);
  _exit(status);
#endif
  al_host_free(h);
  return status;
}

int cmd_emit(int argc, char **argv) {
  const char *event = NULL, *payload_path = NULL, *proto_name = NULL;
  bool fail_open = false;
  cli_hooks_opts o;
  cli_hooks_opts_init(&o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int taken;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      emit_usage(stdout);
      return 0;
    } else if ((taken = cli_hooks_opt(argc, argv, &i, &o))) {
      if (taken == 2) return 2;
    } else if (!strcmp(a, "--protocol") && i + 1 < argc) {
      proto_name = argv[++i];
    } else if (!strcmp(a, "--fail-open")) {
      fail_open = true;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "error: INVALID_ARGUMENT: unknown or incomplete option '%s'\n", a);
      emit_usage(stderr);
      return 2;
    } else if (!event) event = a;
    else if (!payload_path) payload_path = a;
    else {
      fprintf(stderr, "error: INVALID_ARGUMENT: unexpected argument '%s'\n", a);
      return 2;
    }
  }
  /* `emit -` names no event: the payload is the first argument. */
  if (event && !strcmp(event, "-") && !payload_path) {
    payload_path = event;
    event = NULL;
  }
  ap_protocol proto = AP_NONE;
  if (proto_name && !strcmp(proto_name, "airlock")) proto_name = NULL;
  else if (proto_name && !(proto = ap_protocol_named(proto_name))) {
    fprintf(stderr, "error: INVALID_ARGUMENT: --protocol takes claude-code, gemini-cli or airlock, not '%s'\n", proto_name);
    return 2;
  }
  /* Under a protocol one argument is an event only if the agent has one of that name
   * (`emit --protocol claude-code Stop`); otherwise it is the input file. */
  if (proto && event && !payload_path && ap_detect(event) == AP_NONE) {
    payload_path = event;
    event = NULL;
  }
  if (proto || !event) {
    /* An agent's hook (named, or recognised by the input's hook_event_name): answered in
     * the agent's terms. Without a protocol the input must name a known agent event. */
    if (!proto && !payload_path) {
      emit_usage(stderr);
      return 2;
    }
    return emit_agent(proto, event, payload_path, &o, fail_open);
  }
  char *payload = cli_read_json_arg(payload_path);
  if (!payload) return 1;
  al_host *h = NULL;
  int status = cli_hooks_host(&o, &h);
  if (status) {
    free(payload);
    return status;
  }
  char *out = NULL;
  al_error err;
  int rc = al_emit(h, event, payload, &out, &err);
  if (rc == AL_EPLUGINS_DISABLED) {
    json_t *v = json_pack("{s:s,s:s,s:s,s:[]}", "event", event, "action", "continue", "disabled",
                          "AIRLOCK_DISABLE_PLUGINS is set", "results");
    out = json_dumps(v, JSON_INDENT(2));
    json_decref(v);
    rc = 0;
  }
  if (rc) {
    cli_print_error(&err);
    status = 1;
  } else {
    json_t *v = json_loads(out, 0, NULL);
    const char *action = json_string_value(json_object_get(v, "action"));
    char *pretty = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", pretty ? pretty : out);
    free(pretty);
    /* a pi event's chain may also end in "cancel" (session_before_*) */
    status = action && (!strcmp(action, "block") || !strcmp(action, "deny") || !strcmp(action, "cancel")) ? 2 : 0;
    json_decref(v);
  }
  free(out);
  free(payload);
  al_host_free(h);
  return status;
}

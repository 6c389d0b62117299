/*
 * cmd_hooks.c: `airlock hooks install|remove --claude-code|--gemini-cli`: writes (or
 * takes out) Airlock's command hooks in an agent's settings.json, so the agent runs
 * `airlock emit --protocol NAME` for every event the installed plugins subscribe to.
 *
 * The file is someone else's: everything in it that is not Airlock's entry stays as it was
 * (other hooks, other matcher groups, unrelated keys, their order). Airlock's entries are
 * recognised by their command, `<.../airlock> emit --protocol NAME ...`, so a second
 * install replaces them (one entry per event, wherever the binary now lives) and remove
 * finds them. The new file is written beside the old one and renamed over it, with the
 * old one's mode, so a crash leaves either the old or the new file, never half of one.
 *
 * Which events: the mapped events (agent_proto.c) that at least one enabled installed
 * plugin subscribes to, found by loading them as `emit` would. When that says nothing (no
 * plugin installed, none subscribed to a mapped event, or they could not be loaded), every
 * mapped event is installed: a hook that runs with no subscriber costs a process start and
 * answers "go on", while a missing one would silently skip a plugin installed later.
 * `--all-events` asks for that directly.
 *
 * Exit status: 0 done (or nothing to change), 1 the file could not be read or written,
 * 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_proto.h"
#include "commands.h"
#include "util.h"

static void hooks_usage(FILE *out) {
  fprintf(out,
          "usage: airlock hooks install --claude-code|--gemini-cli [--project DIR | --user] [options]\n"
          "       airlock hooks remove  --claude-code|--gemini-cli [--project DIR | --user] [--dry-run]\n"
          "  --project DIR     DIR/.claude/settings.json (DIR/.gemini/ for Gemini CLI); default: .\n"
          "  --user            ~/.claude/settings.json (~/.gemini/settings.json)\n"
          "  --dry-run         print what would change and the resulting file; write nothing\n"
          "  --all-events      install every event Airlock maps, not only the subscribed ones\n"
          "  --home DIR, --policy FILE, --isolation MODE\n"
          "                    written into the hook command (absolute paths), and used to find\n"
          "                    which events the installed plugins subscribe to\n"
          "The command written is `<absolute path of this airlock> emit --protocol NAME ...`.\n");
}

/* Single-quotes `s` for sh when it holds anything but plain path characters. */
static void shell_word(char *buf, size_t cap, const char *s) {
  bool plain = *s != '\0';
  for (const char *p = s; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=:,@%", *p)) plain = false;
  size_t n = strlen(buf);
  if (plain) {
    snprintf(buf + n, cap - n, "%s", s);
    return;
  }
  if (n + 1 < cap) buf[n++] = '\'';
  for (const char *p = s; *p && n + 5 < cap; p++) {
    if (*p == '\'') {
      memcpy(buf + n, "'\\''", 4);
      n += 4;
    } else buf[n++] = *p;
  }
  if (n + 1 < cap) buf[n++] = '\'';
  buf[n] = '\0';
}

/* An absolute form of `path` (canonical when it exists). */
static void absolute(const char *path, char *out, size_t cap) {
  char rp[PATH_MAX];
  if (realpath(path, rp)) snprintf(out, cap, "%s", rp);
  else if (path[0] == '/') snprintf(out, cap, "%s", path);
  else {
    char cwd[PATH_MAX];
    int w = snprintf(out, cap, "%s/%s", getcwd(cwd, sizeof cwd) ? cwd : ".", path);
    if (w < 0 || (size_t)w >= cap) snprintf(out, cap, "%s", path); /* too long: as given */
  }
}

/* Is `cmd` one of Airlock's hook commands for protocol `proto`? Its first word is a path
 * ending in "airlock" and it runs `emit --protocol proto`. */
static bool is_airlock_command(const char *cmd, const char *proto) {
  if (!cmd) return false;
  char first[PATH_MAX];
  size_t n = 0;
  const char *p = cmd;
  while (*p == ' ') p++;
  if (*p == '\'') {
    for (p++; *p && *p != '\'' && n + 1 < sizeof first; p++) first[n++] = *p;
    if (*p == '\'') p++;
  } else {
    for (; *p && *p != ' ' && n + 1 < sizeof first; p++) first[n++] = *p;
  }
  first[n] = '\0';
  const char *base = strrchr(first, '/');
  base = base ? base + 1 : first;
  if (strcmp(base, "airlock")) return false;
  char want[64];
  snprintf(want, sizeof want, " emit --protocol %s", proto);
  const char *hit = strstr(p, want);
  return hit == p && (hit[strlen(want)] == '\0' || hit[strlen(want)] == ' ');
}

/* Takes Airlock's entries out of root.hooks; records each in `changes` ("- Event: cmd").
 * Containers that only held Airlock's entries go with them. */
static void strip(json_t *root, const char *proto, json_t *changes) {
  json_t *hooks = json_object_get(root, "hooks");
  if (!json_is_object(hooks)) return;
  const char *ev;
  json_t *groups, *tmp;
  size_t before_events = json_object_size(hooks);
  json_object_foreach_safe(hooks, tmp, ev, groups) {
    if (!json_is_array(groups)) continue;
    size_t before_groups = json_array_size(groups);
    for (size_t g = json_array_size(groups); g-- > 0;) {
      json_t *grp = json_array_get(groups, g), *list = json_object_get(grp, "hooks");
      if (!json_is_array(list)) continue;
      size_t before = json_array_size(list);
      for (size_t k = json_array_size(list); k-- > 0;) {
        const char *cmd = json_string_value(json_object_get(json_array_get(list, k), "command"));
        if (!is_airlock_command(cmd, proto)) continue;
        json_array_append_new(changes, json_sprintf("- %s: %s", ev, cmd));
        json_array_remove(list, k);
      }
      if (before && !json_array_size(list)) json_array_remove(groups, g);
    }
    if (before_groups && !json_array_size(groups)) json_object_del(hooks, ev);
  }
  if (before_events && !json_object_size(hooks)) json_object_del(root, "hooks");
}

/* Writes `text` to `path` through a temporary file in the same directory, renamed over it;
 * the mode is the old file's (0644 for a new one). */
static int write_atomic(const char *path, const char *text, mode_t mode) {
  char tmp[PATH_MAX + 32];
  int w = snprintf(tmp, sizeof tmp, "%s.airlock-XXXXXX", path);
  if (w < 0 || (size_t)w >= sizeof tmp) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = mkstemp(tmp);
  if (fd < 0) return -1;
  size_t len = strlen(text), off = 0;
  int ok = fchmod(fd, mode) == 0;
  while (ok && off < len) {
    ssize_t got = write(fd, text + off, len - off);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) ok = 0;
    else off += (size_t)got;
  }
  if (ok && fsync(fd)) ok = 0;
  int saved = errno;
  if (close(fd)) ok = 0;
  if (ok && rename(tmp, path) == 0) return 0;
  if (!ok) errno = saved;
  saved = errno;
  unlink(tmp);
  errno = saved;
  return -1;
}

/* The mapped events the loaded plugins subscribe to, as a JSON array of agent event names;
 * empty when that cannot be told. */
static json_t *subscribed_events(ap_protocol p, cli_hooks_opts *o) {
  json_t *names = json_array();
  al_host *h = NULL;
  char failure[1024];
  o->protocol = p;
  o->no_prompt = true;
  if (cli_hooks_host_report(o, &h, failure, sizeof failure)) {
    cli_esc e = {0}; /* the failure may quote a package's load error */
    fprintf(stderr, "warning: could not load the installed plugins (%s)\n", cli_e(&e, failure));
    cli_esc_free(&e);
    return names;
  }
  size_t n;
  const ap_event *t = ap_events(p, &n);
  for (size_t i = 0; i < n; i++)
    if (al_hook_subscribed(h, t[i].airlock)) json_array_append_new(names, json_string(t[i].agent));
  al_host_free(h);
  return names;
}

int cmd_hooks(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    hooks_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *verb = argv[1];
  bool install = !strcmp(verb, "install");
  if (!install && strcmp(verb, "remove")) {
    fprintf(stderr, "error: INVALID_ARGUMENT: unknown hooks command '%s' (install or remove)\n", verb);
    hooks_usage(stderr);
    return 2;
  }
  ap_protocol proto = AP_NONE;
  const char *project = NULL;
  bool user = false, dry = false, all = false;
  cli_hooks_opts o;
  cli_hooks_opts_init(&o);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    int taken;
    if (!strcmp(a, "--claude-code")) proto = AP_CLAUDE_CODE;
    else if (!strcmp(a, "--gemini-cli")) proto = AP_GEMINI_CLI;
    else if (!strcmp(a, "--project") && i + 1 < argc) project = argv[++i];
    else if (!strcmp(a, "--user")) user = true;
    else if (!strcmp(a, "--dry-run")) dry = true;
    else if (!strcmp(a, "--all-events")) all = true;
    else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      hooks_usage(stdout);
      return 0;
    } else if (strcmp(a, "--plugin") && (taken = cli_hooks_opt(argc, argv, &i, &o))) {
      if (taken == 2) return 2;
    } else {
      fprintf(stderr, "error: INVALID_ARGUMENT: unknown or incomplete option '%s'\n", a);
      hooks_usage(stderr);
      return 2;
    }
  }
  if (!proto) {
    fprintf(stderr, "error: INVALID_ARGUMENT: name the agent: --claude-code or --gemini-cli\n");
    return 2;
  }
  if (user && project) {
    fprintf(stderr, "error: INVALID_ARGUMENT: --project and --user exclude each other\n");
    return 2;
  }
  const char *dot = proto == AP_CLAUDE_CODE ? ".claude" : ".gemini";
  char base[PATH_MAX], dir[PATH_MAX + 16], path[PATH_MAX + 32];
  if (user) {
    const char *home = getenv("HOME");
    if (!home || !*home) {
      fprintf(stderr, "error: INVALID_ARGUMENT: --user needs $HOME\n");
      return 2;
    }
    absolute(home, base, sizeof base);
  } else {
    absolute(project ? project : ".", base, sizeof base);
  }
  snprintf(dir, sizeof dir, "%s/%s", base, dot);
  snprintf(path, sizeof path, "%s/settings.json", dir);

  /* The file as it is. */
  mode_t mode = 0644;
  struct stat st;
  bool exists = stat(path, &st) == 0;
  if (exists) mode = st.st_mode & 07777;
  /* A settings.json that is a symlink (dotfiles kept elsewhere) is rewritten where it
   * points, so the link survives the rename. */
  char target[PATH_MAX];
  if (exists && realpath(path, target)) snprintf(path, sizeof path, "%s", target);
  json_t *root;
  if (exists) {
    size_t n;
    char *text = cli_read_file(path, &n);
    if (!text) {
      fprintf(stderr, "error: IO_ERROR: cannot read %s: %s\n", path, strerror(errno));
      return 1;
    }
    json_error_t jerr;
    root = n ? json_loads(text, 0, &jerr) : json_object();
    free(text);
    if (!root) {
      fprintf(stderr, "error: INVALID_ARGUMENT: %s is not JSON (line %d: %s); nothing changed\n", path,
              jerr.line, jerr.text);
      return 1;
    }
    if (!json_is_object(root) ||
        (json_object_get(root, "hooks") && !json_is_object(json_object_get(root, "hooks")))) {
      fprintf(stderr, "error: INVALID_ARGUMENT: %s: %s; nothing changed\n", path,
              json_is_object(root) ? "\"hooks\" is not an object" : "the file is not a JSON object");
      json_decref(root);
      return 1;
    }
  } else {
    root = json_object();
  }
  json_t *before = json_deep_copy(root), *changes = json_array();
  strip(root, ap_protocol_name(proto), changes);

  char command[3 * PATH_MAX] = "";
  json_t *events = NULL;
  if (install) {
    char exe[PATH_MAX], abs[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
      fprintf(stderr, "error: IO_ERROR: cannot tell where this airlock binary is: %s\n", strerror(errno));
      json_decref(root);
      json_decref(before);
      json_decref(changes);
      return 1;
    }
    exe[n] = '\0';
    shell_word(command, sizeof command, exe);
    strncat(command, " emit --protocol ", sizeof command - strlen(command) - 1);
    strncat(command, ap_protocol_name(proto), sizeof command - strlen(command) - 1);
    if (o.home) {
      absolute(o.home, abs, sizeof abs);
      strncat(command, " --home ", sizeof command - strlen(command) - 1);
      shell_word(command, sizeof command, abs);
    }
    if (o.policy_file) {
      absolute(o.policy_file, abs, sizeof abs);
      strncat(command, " --policy ", sizeof command - strlen(command) - 1);
      shell_word(command, sizeof command, abs);
    }
    if (o.iso != AL_ISOLATION_PROCESS)
      strncat(command, o.iso == AL_ISOLATION_THREAD ? " --isolation thread" : " --isolation inline",
              sizeof command - strlen(command) - 1);
    /* The agent's prompt on a terminal would hang the agent: never ask there. */
    strncat(command, " --no-prompt", sizeof command - strlen(command) - 1);

    events = all ? json_array() : subscribed_events(proto, &o);
    if (!json_array_size(events)) {
      if (!all)
        fprintf(stderr, "note: no installed plugin subscribes to an event %s has; installing every mapped event\n",
                proto == AP_CLAUDE_CODE ? "Claude Code" : "Gemini CLI");
      size_t ne;
      const ap_event *t = ap_events(proto, &ne);
      for (size_t i = 0; i < ne; i++) json_array_append_new(events, json_string(t[i].agent));
    }
    json_t *hooks = json_object_get(root, "hooks");
    if (!hooks) json_object_set_new(root, "hooks", hooks = json_object());
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
      const char *name = json_string_value(e);
      const ap_event *ev = ap_event_find(proto, name);
      json_t *groups = json_object_get(hooks, name);
      if (!json_is_array(groups)) {
        if (groups) continue; /* not ours to repair: left as it is */
        json_object_set_new(hooks, name, groups = json_array());
      }
      json_t *entry = json_pack("{s:s,s:s}", "type", "command", "command", command);
      if (proto == AP_GEMINI_CLI) json_object_set_new(entry, "name", json_string("airlock"));
      json_t *grp = json_object();
      if (ev && ev->matcher && proto == AP_CLAUDE_CODE) json_object_set_new(grp, "matcher", json_string("*"));
      json_object_set_new(grp, "hooks", json_pack("[o]", entry));
      json_array_append_new(groups, grp);
      json_array_append_new(changes, json_sprintf("+ %s: %s", name, command));
    }
  }

  int status = 0;
  bool same = json_equal(before, root);
  char *text = json_dumps(root, JSON_INDENT(2));
  if (dry) {
    printf("%s (%s)%s\n", path, exists ? "exists" : "new", same ? ": no change" : ":");
    size_t i;
    json_t *c;
    if (!same) json_array_foreach(changes, i, c) printf("  %s\n", json_string_value(c));
    if (!same) printf("%s\n", text ? text : "");
  } else if (same) {
    printf("%s: already up to date\n", path);
  } else {
    if (!exists && mkdir(dir, 0755) && errno != EEXIST) {
      fprintf(stderr, "error: IO_ERROR: cannot create %s: %s\n", dir, strerror(errno));
      status = 1;
    } else {
      size_t len = text ? strlen(text) : 0;
      char *with_nl = text ? malloc(len + 2) : NULL;
      if (with_nl) {
        memcpy(with_nl, text, len);
        memcpy(with_nl + len, "\n", 2);
      }
      if (!with_nl || write_atomic(path, with_nl, mode)) {
        fprintf(stderr, "error: IO_ERROR: cannot write %s: %s; it is unchanged\n", path, strerror(errno));
        status = 1;
      } else if (install) {
        printf("%s: Airlock's %s hooks for", path, ap_protocol_name(proto));
        size_t i;
        json_t *e;
        json_array_foreach(events, i, e) printf(" %s", json_string_value(e));
        printf("\n  command: %s\n", command);
      } else {
        printf("%s: Airlock's %s hooks removed (%zu)\n", path, ap_protocol_name(proto), json_array_size(changes));
      }
      free(with_nl);
    }
  }
  free(text);
  json_decref(events);
  json_decref(root);
  json_decref(before);
  json_decref(changes);
  return status;
}

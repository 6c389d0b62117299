/*
 * cmd_conform.c: `airlock conform`: runs the conformance case format of
 * shared/conformance/README.md. Each case gets a fresh workbench-profile host; a case
 * stops at its first failing step, which is reported as "FAIL name: step N: ...".
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "textui.h"
#include "util.h"
#include "wb_profile.h"

typedef struct conf_case {
  al_host *h;
  json_t *aliases; /* alias -> instance id */
  const char *dir; /* directory of the case file */
  char why[1024];  /* failure description */
} conf_case;

/* Replaces every string "$alias" in expected values with the alias's instance id. */
static json_t *subst(const conf_case *c, const json_t *v) {
  if (json_is_string(v) && json_string_value(v)[0] == '$') {
    json_t *id = json_object_get(c->aliases, json_string_value(v) + 1);
    if (id) return json_incref(id);
  }
  if (json_is_array(v)) {
    json_t *a = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) json_array_append_new(a, subst(c, e));
    return a;
  }
  if (json_is_object(v)) {
    json_t *o = json_object();
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e) json_object_set_new(o, k, subst(c, e));
    return o;
  }
  return json_deep_copy(v);
}

static int mismatch(conf_case *c, const char *what, const json_t *want, const json_t *got) {
  char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
  char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  snprintf(c->why, sizeof c->why, "expected %s %.400s got %.400s", what, w ? w : "?", g ? g : "nothing");
  free(w);
  free(g);
  return -1;
}

/* JSON equality, with the expectation's aliases substituted. */
static int expect_eq(conf_case *c, const char *what, const json_t *want_raw, const json_t *got) {
  json_t *want = subst(c, want_raw);
  int rc = json_equal(want, got) ? 0 : mismatch(c, what, want, got);
  json_decref(want);
  return rc;
}

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static const char *alias_id(conf_case *c, const json_t *step) {
  const char *a = str(step, "instance");
  const char *id = a ? str(c->aliases, a) : NULL;
  /* An unknown alias stands for itself, so INSTANCE_NOT_FOUND can be tested. */
  return id ? id : (a ? a : "");
}

/* Checks the outcome of a call against `expect.error`. Returns 1 when the step is
 * finished (error expected and matched, or mismatch recorded in c->why as -1). */
static int check_error(conf_case *c, const json_t *expect, int rc, const al_error *e) {
  const json_t *want = json_object_get(expect, "error");
  if (!want) {
    if (rc == 0) return 0;
    snprintf(c->why, sizeof c->why, "expected success got %s: %.400s", al_err_name(rc), e->message);
    return -1;
  }
  const char *code = str(want, "code"), *msg = str(want, "message");
  if (rc == 0) {
    snprintf(c->why, sizeof c->why, "expected error %s got success", code ? code : "?");
    return -1;
  }
  if (code && strcmp(code, al_err_name(rc))) {
    snprintf(c->why, sizeof c->why, "expected error %s got %s: %.400s", code, al_err_name(rc), e->message);
    return -1;
  }
  if (msg && !strstr(e->message, msg)) {
    snprintf(c->why, sizeof c->why, "expected message containing \"%.200s\" got \"%.400s\"", msg, e->message);
    return -1;
  }
  return 1;
}

static int step_load(conf_case *c, const json_t *step, const json_t *expect, al_error *e) {
  size_t len = 0;
  char *code = NULL;
  const char *file = str(step, "file"), *source = str(step, "source");
  char path[4096] = "<source>";
  if (file) {
    snprintf(path, sizeof path, "%s/%s", c->dir, file);
    code = cli_read_file(path, &len);
    if (!code) {
      snprintf(c->why, sizeof c->why, "cannot read %.400s: %s", path, strerror(errno));
      return -1;
    }
  } else {
    code = strdup(source ? source : "");
    len = strlen(code);
  }
  const json_t *g = json_object_get(step, "grants");
  char *grants = g ? json_dumps(g, JSON_COMPACT) : strdup("{}");
  al_load_opts lo = {.grants_json = grants, .source_name = file ? file : "<source>"};
  char id[AL_INSTANCE_ID_MAX];
  const char *pkg = str(step, "packageId");
  int rc = al_load(c->h, pkg ? pkg : "custom", code, len, &lo, id, sizeof id, e);
  free(code);
  free(grants);
  int r = check_error(c, expect, rc, e);
  if (r) return r < 0 ? -1 : 0;
  if (str(step, "as")) json_object_set_new(c->aliases, str(step, "as"), json_string(id));
  const char *pat = str(expect, "instanceIdPattern");
  if (pat) {
    regex_t re;
    if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB)) {
      snprintf(c->why, sizeof c->why, "bad instanceIdPattern %s", pat);
      return -1;
    }
    int m = regexec(&re, id, 0, NULL, 0);
    regfree(&re);
    if (m) {
      snprintf(c->why, sizeof c->why, "expected instanceId matching %s got %s", pat, id);
      return -1;
    }
  }
  const json_t *want = json_object_get(expect, "plugin");
  if (want) {
    char *text;
    al_plugin_info(c->h, id, &text, NULL);
    json_t *got = cli_take_json(text), *sub = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v) {
      json_t *gv = json_object_get(got, k);
      if (gv && strcmp(k, "instanceId")) json_object_set(sub, k, gv);
    }
    json_t *w2 = json_deep_copy(want);
    json_object_del(w2, "instanceId");
    r = expect_eq(c, "plugin", w2, sub);
    json_decref(w2);
    json_decref(sub);
    json_decref(got);
    if (r) return -1;
  }
  return 0;
}

static int step_render(conf_case *c, const json_t *step, const json_t *expect, al_error *e) {
  char *text = NULL;
  int rc = al_render(c->h, alias_id(c, step), str(step, "widget") ? str(step, "widget") : "", &text, e);
  int r = check_error(c, expect, rc, e);
  if (r) {
    al_free(text);
    return r < 0 ? -1 : 0;
  }
  json_t *tree = cli_take_json(text);
  r = 0;
  if (json_object_get(expect, "tree")) r = expect_eq(c, "tree", json_object_get(expect, "tree"), tree);
  if (!r && json_object_get(expect, "texts")) {
    json_t *t = textui_texts(tree);
    r = expect_eq(c, "texts", json_object_get(expect, "texts"), t);
    json_decref(t);
  }
  json_decref(tree);
  return r;
}

static int step_event(conf_case *c, const json_t *step, const json_t *expect, al_error *e) {
  const json_t *args = json_object_get(step, "args");
  char *args_text = args ? json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  char *text = NULL;
  int rc = al_event(c->h, alias_id(c, step), str(step, "widget") ? str(step, "widget") : "",
                    str(step, "handler") ? str(step, "handler") : "", args_text, &text, e);
  free(args_text);
  int r = check_error(c, expect, rc, e);
  if (r) {
    al_free(text);
    return r < 0 ? -1 : 0;
  }
  json_t *res = cli_take_json(text);
  r = 0;
  if (json_object_get(expect, "intents")) {
    json_t *intents = json_deep_copy(json_object_get(res, "intents"));
    size_t i;
    json_t *it;
    json_array_foreach(intents, i, it) json_object_del(it, "instanceId");
    r = expect_eq(c, "intents", json_object_get(expect, "intents"), intents);
    json_decref(intents);
  }
  if (!r && json_object_get(expect, "outcomes")) {
    json_t *oc = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(res, "actions"), i, a)
      json_array_append_new(oc, json_pack("[O,O]", json_object_get(a, "outcome"), json_object_get(a, "reason")));
    r = expect_eq(c, "outcomes", json_object_get(expect, "outcomes"), oc);
    json_decref(oc);
  }
  json_decref(res);
  return r;
}

/* For steps that fetch one JSON value: checks the call's outcome, then compares the value
 * with expect[key] when given. Takes ownership of *text. */
static int check_fetched(conf_case *c, const json_t *expect, const char *key, int rc,
                         const al_error *e, char **text) {
  int r = check_error(c, expect, rc, e);
  if (r == 0 && json_object_get(expect, key)) {
    json_t *got = cli_take_json(*text);
    *text = NULL;
    r = expect_eq(c, key, json_object_get(expect, key), got);
    json_decref(got);
  }
  return r;
}

/* Runs one step; returns 0 or -1 with c->why set. */
static int run_step(conf_case *c, const json_t *step) {
  const char *op = str(step, "op");
  const json_t *expect = json_object_get(step, "expect");
  al_error e = {0};
  uint64_t t0 = 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  t0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  int r = 0;
  char *text = NULL;
  if (!op) {
    snprintf(c->why, sizeof c->why, "step has no op");
    return -1;
  } else if (!strcmp(op, "load")) {
    r = step_load(c, step, expect, &e);
  } else if (!strcmp(op, "render")) {
    r = step_render(c, step, expect, &e);
  } else if (!strcmp(op, "event")) {
    r = step_event(c, step, expect, &e);
  } else if (!strcmp(op, "state")) {
    int rc = al_state_get(c->h, alias_id(c, step), &text, &e);
    r = check_fetched(c, expect, "state", rc, &e, &text);
  } else if (!strcmp(op, "setState")) {
    char *s = json_dumps(json_object_get(step, "state"), JSON_COMPACT | JSON_ENCODE_ANY);
    int rc = al_state_set(c->h, alias_id(c, step), s ? s : "null", &e);
    free(s);
    r = check_error(c, expect, rc, &e);
  } else if (!strcmp(op, "shared")) {
    int rc = al_shared_get(c->h, str(step, "domain"), &text, &e);
    r = check_fetched(c, expect, "projection", rc, &e, &text);
  } else if (!strcmp(op, "unload")) {
    r = check_error(c, expect, al_unload(c->h, alias_id(c, step), &e), &e);
  } else if (!strcmp(op, "timeline")) {
    al_timeline(c->h, &text, &e);
    json_t *tl = cli_take_json(text), *entries = json_array();
    text = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(tl, i, a)
      json_array_append_new(entries, json_pack("[O,O,O,O]", json_object_get(a, "scope"),
                                               json_object_get(a, "actionType"),
                                               json_object_get(a, "outcome"), json_object_get(a, "reason")));
    if (json_object_get(expect, "entries")) r = expect_eq(c, "entries", json_object_get(expect, "entries"), entries);
    json_decref(tl);
    json_decref(entries);
  } else {
    snprintf(c->why, sizeof c->why, "unknown op '%s'", op);
    r = -1;
  }
  al_free(text);
  if (r > 0) r = 0;
  const json_t *max = json_object_get(expect, "maxMs");
  if (r == 0 && json_is_number(max)) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double ms = ((double)((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) - (double)t0) / 1e6;
    if (ms > json_number_value(max)) {
      snprintf(c->why, sizeof c->why, "expected to return within %g ms got %.1f ms", json_number_value(max), ms);
      r = -1;
    }
  }
  return r;
}

static int run_file(const char *path, al_isolation isolation, int *passed, int *failed) {
  json_error_t je;
  json_t *doc = json_load_file(path, 0, &je);
  if (!doc) {
    fprintf(stderr, "error: INVALID_ARGUMENT: %s: %s (line %d)\n", path, je.text, je.line);
    return -1;
  }
  const json_t *cases = json_object_get(doc, "cases");
  if (!json_is_array(cases)) {
    fprintf(stderr, "error: INVALID_ARGUMENT: %s: no \"cases\" array\n", path);
    json_decref(doc);
    return -1;
  }
  char *dir = strdup(path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
  else strcpy(dir, ".");
  size_t i;
  json_t *cs;
  json_array_foreach(cases, i, cs) {
    conf_case c = {.dir = dir, .aliases = json_object()};
    const char *name = str(cs, "name") ? str(cs, "name") : "(unnamed)";
    al_config cfg;
    al_config_init(&cfg);
    cfg.isolation = isolation;
    al_error e;
    int bad_step = 0;
    if (al_host_new(&cfg, &c.h, &e) || wb_profile_register(c.h, &e)) {
      snprintf(c.why, sizeof c.why, "host: %s", e.message);
      bad_step = -1;
    } else {
      size_t k;
      json_t *step;
      json_array_foreach(json_object_get(cs, "steps"), k, step) {
        if (run_step(&c, step)) {
          bad_step = (int)k + 1;
          break;
        }
      }
    }
    if (bad_step) {
      cli_esc x = {0}; /* the reason quotes what the case's plugin answered */
      printf("FAIL %s: step %d: %s\n", cli_e(&x, name), bad_step, cli_e(&x, c.why));
      cli_esc_free(&x);
      (*failed)++;
    } else {
      printf("PASS %s\n", name);
      (*passed)++;
    }
    fflush(stdout);
    al_host_free(c.h);
    json_decref(c.aliases);
  }
  free(dir);
  json_decref(doc);
  return 0;
}

int cmd_conform(int argc, char **argv) {
  int passed = 0, failed = 0, nfiles = 0;
  al_isolation isolation = AL_ISOLATION_THREAD;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: airlock conform [--isolation thread|inline] <cases.json>...\n");
      return 0;
    }
    if (!strcmp(argv[i], "--isolation") && i + 1 < argc) {
      if (cli_isolation(argv[++i], &isolation)) return 2;
      continue;
    }
    if (nfiles++ == 0) { /* a host this configuration cannot make fails every case: say so once */
      al_config cfg;
      al_config_init(&cfg);
      cfg.isolation = isolation;
      al_host *h = NULL;
      al_error e;
      if (al_host_new(&cfg, &h, &e)) {
        cli_print_error(&e);
        return 2;
      }
      al_host_free(h);
    }
    if (run_file(argv[i], isolation, &passed, &failed)) return 2;
  }
  if (!nfiles) {
    fprintf(stderr, "usage: airlock conform <cases.json>...\n");
    return 2;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

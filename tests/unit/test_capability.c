/*
 * test_capability.c: the 5-step capability chain (hooks-and-security.md sec. 4) as one
 * table: each row is (policy, mode override, force deny, plugin, manifest capabilities,
 * action, resource) -> (verdict, exact reason). Rows cover every step, every mode, every
 * action, per-action matching, and narrowing of manifest grants by host policy. Policy
 * validation errors are checked for the field they name.
 */
#define _XOPEN_SOURCE 700 /* realpath, mkdtemp, symlink */
#include "helpers.h"

#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/capability.h"
#include "hooks/killswitch.h"

/* Policies the table refers to by index. */
static const char *const policies[] = {
    /* 0 */ NULL,
    /* 1 */ "{'default':'allow'}",
    /* 2 */ "{'default':'ask'}",
    /* 3 */ "{'mode':'none','default':'allow'}",
    /* 4 */ "{'mode':'trusted'}",
    /* 5 */ "{'mode':'interactive','default':'allow'}",
    /* 6 */ "{'default':'allow','deny':{'network':['evil.com'],'fs_read':['/etc/**'],"
            "'kv':['secret*'],'env_vars':['AWS_SECRET']},"
            "'plugins':{'p':{'deny':{'network':['ads.example.com'],'events':['Stop'],"
            "'register_tools':true}}}}",
    /* 7 */ "{'plugins':{'p':{'allow':{'network':['api.example.com']}}}}",
    /* 8 */ "{'mode':'interactive'}",
    /* 9 */ "{'mode':'trusted','deny':{'network':['evil.com']}}",
    /* 10 */ "{'deny':{'exec':['git push *']},"
             "'plugins':{'p':{'allow':{'exec':['git *','npm run *','ls','g* status','sh -c *']}}}}",
};

/* Manifest capabilities the table refers to by index. */
static const char *const capsets[] = {
    /* 0 */ NULL,
    /* 1 */ "{}",
    /* 2 */ "{'network':['example.com'],'fs_read':['/srv/data/**'],'fs_write':['/srv/out/**'],"
            "'kv':true,'register_tools':true,'read_config':true,'env_vars':['TOKEN'],"
            "'events':['PreToolUse','Stop']}",
    /* 3 */ "{'events':[]}",
};

#define P "p"
#define FORCE true
typedef struct row {
  int policy, mode_override;
  bool force;
  const char *plugin;
  int caps;
  const char *action, *resource;
  hk_verdict want;
  const char *reason;
} row;

static const row rows[] = {
    /* force deny beats everything, even a trusted mode and a manifest grant */
    {4, -1, FORCE, P, 2, "network", "https://example.com/", HK_DENIED, HK_REASON_FORCE_DENY},
    /* step 0: mode none (configured or by override) */
    {3, -1, false, P, 2, "network", "https://example.com/", HK_DENIED, HK_REASON_MODE_NONE},
    {1, HK_MODE_NONE, false, P, 2, "kv", "", HK_DENIED, HK_REASON_MODE_NONE},
    {3, HK_MODE_ALL, false, P, 2, "kv", "", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    /* step 1: plugin deny set, before the global deny set and the manifest grant */
    {6, -1, false, P, 2, "network", "https://ads.example.com/x", HK_DENIED,
     HK_REASON_PLUGIN_DENY},
    {6, -1, false, P, 2, "events", "Stop", HK_DENIED, HK_REASON_PLUGIN_DENY},
    {6, -1, false, P, 2, "register_tools", "anything", HK_DENIED, HK_REASON_PLUGIN_DENY},
    {6, -1, false, "other", 2, "register_tools", "x", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    /* step 2: global deny set */
    {6, -1, false, P, 2, "network", "https://cdn.evil.com/", HK_DENIED, HK_REASON_GLOBAL_DENY},
    {6, -1, false, P, 2, "fs_read", "/etc/passwd", HK_DENIED, HK_REASON_GLOBAL_DENY},
    {6, -1, false, P, 2, "kv", "secret-token", HK_DENIED, HK_REASON_GLOBAL_DENY},
    {6, -1, false, P, 2, "kv", "public", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {6, -1, false, P, 2, "env_vars", "AWS_SECRET", HK_DENIED, HK_REASON_GLOBAL_DENY},
    {9, -1, false, P, 1, "network", "https://evil.com/", HK_DENIED, HK_REASON_GLOBAL_DENY},
    /* step 3: the manifest's grants, per action */
    {0, -1, false, P, 2, "network", "https://api.example.com/v1", HK_ALLOWED,
     HK_REASON_PLUGIN_ALLOW},
    {0, -1, false, P, 2, "network", "https://example.org/", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {0, -1, false, P, 2, "fs_read", "/srv/data/a/b.txt", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {0, -1, false, P, 2, "fs_write", "/srv/data/a/b.txt", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {0, -1, false, P, 2, "fs_write", "/srv/out/x.json", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {0, -1, false, P, 2, "fs_read", "/srv/out/x.json", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {0, -1, false, P, 2, "fs_read", "/srv/database/x", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {0, -1, false, P, 2, "fs_read", "/srv/data/../secret", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {0, -1, false, P, 2, "kv", "k", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {0, -1, false, P, 2, "register_tools", "t", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {0, -1, false, P, 2, "read_config", "", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {0, -1, false, P, 2, "env_vars", "TOKEN", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {0, -1, false, P, 2, "env_vars", "TOKEN2", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {0, -1, false, P, 2, "events", "PreToolUse", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {0, -1, false, P, 2, "events", "SessionStart", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {0, -1, false, P, 1, "kv", "k", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {0, -1, false, P, 1, "events", "SessionStart", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {0, -1, false, P, 3, "events", "SessionStart", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {0, -1, false, P, 0, "events", "SessionStart", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    /* step 3 narrowed by host policy: both must cover */
    {7, -1, false, P, 2, "network", "https://api.example.com/", HK_ALLOWED,
     HK_REASON_PLUGIN_ALLOW},
    {7, -1, false, P, 2, "network", "https://www.example.com/", HK_DENIED,
     HK_REASON_DEFAULT_DENY},
    {7, -1, false, "other", 2, "network", "https://www.example.com/", HK_ALLOWED,
     HK_REASON_PLUGIN_ALLOW},
    /* no manifest: the policy's allow entry alone */
    {7, -1, false, P, 0, "network", "https://api.example.com/", HK_ALLOWED,
     HK_REASON_PLUGIN_ALLOW},
    {7, -1, false, P, 0, "kv", "k", HK_DENIED, HK_REASON_DEFAULT_DENY},
    /* mode interactive: a step 3 match needs approval; step 4 keeps its default */
    {8, -1, false, P, 2, "kv", "k", HK_ASK, HK_REASON_ASK},
    {8, -1, false, P, 2, "fs_read", "/srv/data/x", HK_ASK, HK_REASON_ASK},
    {8, -1, false, P, 1, "kv", "k", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {5, -1, false, P, 1, "kv", "k", HK_ALLOWED, HK_REASON_DEFAULT_ALLOW},
    {0, HK_MODE_INTERACTIVE, false, P, 2, "network", "https://example.com/", HK_ASK,
     HK_REASON_ASK},
    /* step 4: the global default, and mode trusted */
    {0, -1, false, P, 1, "network", "https://example.com/", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {1, -1, false, P, 1, "network", "https://example.com/", HK_ALLOWED, HK_REASON_DEFAULT_ALLOW},
    {2, -1, false, P, 1, "network", "https://example.com/", HK_ASK, HK_REASON_ASK},
    {4, -1, false, P, 1, "network", "https://example.com/", HK_ALLOWED, HK_REASON_DEFAULT_ALLOW},
    {2, HK_MODE_TRUSTED, false, P, 1, "fs_write", "/tmp/x", HK_ALLOWED, HK_REASON_DEFAULT_ALLOW},
    {4, HK_MODE_ALL, false, P, 1, "fs_write", "/tmp/x", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {4, -1, false, P, 2, "kv", "k", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    /* invalid input is denied, never allowed by a default */
    {1, -1, false, P, 1, "netwrk", "x", HK_DENIED, HK_REASON_UNKNOWN_ACTION},
    {1, -1, false, NULL, 1, "kv", "x", HK_DENIED, HK_REASON_UNKNOWN_ACTION},
    {1, -1, false, P, 1, "kv", NULL, HK_DENIED, HK_REASON_BAD_RESOURCE},
    {1, -1, false, P, 1, "network", "ftp://example.com/", HK_DENIED, HK_REASON_BAD_RESOURCE},
    {4, -1, false, P, 1, "network", "https://a@b@example.com/", HK_DENIED,
     HK_REASON_BAD_RESOURCE},
    {1, -1, false, P, 1, "fs_read", "relative/path", HK_DENIED, HK_REASON_BAD_RESOURCE},
    {1, -1, false, P, 1, "fs_read", "", HK_DENIED, HK_REASON_BAD_RESOURCE},
    /* exec: command patterns match word by word (a plugin without a manifest: the policy's
     * entry alone decides) */
    {10, -1, false, P, 0, "exec", "git --version", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {10, -1, false, P, 0, "exec", "git", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},        /* '*': zero words too */
    {10, -1, false, P, 0, "exec", "gitx status", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW}, /* 'g* status' */
    {10, -1, false, P, 0, "exec", "gitx --version", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {10, -1, false, P, 0, "exec", "go status now", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {10, -1, false, P, 0, "exec", "ls", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {10, -1, false, P, 0, "exec", "ls -l", HK_DENIED, HK_REASON_DEFAULT_DENY},        /* exact */
    {10, -1, false, P, 0, "exec", "npm run build", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW},
    {10, -1, false, P, 0, "exec", "npm install x", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {10, -1, false, P, 0, "exec", "rm -rf /", HK_DENIED, HK_REASON_DEFAULT_DENY},
    {10, -1, false, P, 0, "exec", "'git' status", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW}, /* quoting is undone */
    {10, -1, false, P, 0, "exec", "'git x' --version", HK_DENIED, HK_REASON_DEFAULT_DENY}, /* one word, not two */
    {10, -1, false, P, 0, "exec", "git push origin", HK_DENIED, HK_REASON_GLOBAL_DENY}, /* deny first */
    {10, -1, false, P, 0, "exec", "sh -c 'rm -rf /'", HK_ALLOWED, HK_REASON_PLUGIN_ALLOW}, /* a shell grant is all */
    {10, -1, false, "q", 0, "exec", "git --version", HK_DENIED, HK_REASON_DEFAULT_DENY}, /* another plugin */
    {0, -1, false, P, 2, "exec", "git --version", HK_DENIED, HK_REASON_DEFAULT_DENY},  /* no grant, no run */
};

static void test_chain_table(void **state) {
  (void)state;
  hk_policy *pol[sizeof policies / sizeof policies[0]];
  json_t *caps[sizeof capsets / sizeof capsets[0]];
  for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
    json_t *j = policies[i] ? tj(policies[i]) : NULL;
    al_error err;
    int rc = hk_policy_new(j, &pol[i], &err);
    if (rc) print_error("policy %zu: %s\n", i, err.message);
    assert_int_equal(rc, 0);
    json_decref(j);
  }
  for (size_t i = 0; i < sizeof capsets / sizeof capsets[0]; i++)
    caps[i] = capsets[i] ? tj(capsets[i]) : NULL;
  int bad = 0;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const row *r = &rows[i];
    const char *reason = "unset";
    hk_verdict v = hk_decide(pol[r->policy], r->mode_override, r->force, r->plugin,
                             caps[r->caps], r->action, r->resource, NULL, &reason);
    if (v != r->want || strcmp(reason, r->reason) != 0) {
      print_error("row %zu (%s %s): got %s '%s', want %s '%s'\n", i, r->action,
                  r->resource ? r->resource : "(null)", hk_verdict_name(v), reason,
                  hk_verdict_name(r->want), r->reason);
      bad++;
    }
  }
  assert_int_equal(bad, 0);
  for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) hk_policy_free(pol[i]);
  for (size_t i = 0; i < sizeof capsets / sizeof capsets[0]; i++) json_decref(caps[i]);
}

/* One policy, read by several threads at once (the host shares it between workers): every
 * thread gets the table's answers. Under TSan this also checks that hk_decide only reads. */
typedef struct chain_ctx {
  hk_policy **pol;
  json_t **caps;
  int mismatches;
} chain_ctx;

static void *run_rows(void *arg) {
  chain_ctx *c = arg;
  for (int rep = 0; rep < 50; rep++)
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
      const row *r = &rows[i];
      const char *reason = "";
      hk_verdict v = hk_decide(c->pol[r->policy], r->mode_override, r->force, r->plugin,
                               c->caps[r->caps], r->action, r->resource, NULL, &reason);
      if (v != r->want || strcmp(reason, r->reason) != 0) c->mismatches++;
    }
  return NULL;
}

static void test_chain_threads(void **state) {
  (void)state;
  hk_policy *pol[sizeof policies / sizeof policies[0]];
  json_t *caps[sizeof capsets / sizeof capsets[0]];
  for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
    json_t *j = policies[i] ? tj(policies[i]) : NULL;
    assert_int_equal(hk_policy_new(j, &pol[i], NULL), 0);
    json_decref(j);
  }
  for (size_t i = 0; i < sizeof capsets / sizeof capsets[0]; i++)
    caps[i] = capsets[i] ? tj(capsets[i]) : NULL;
  enum { T = 4 };
  pthread_t th[T];
  chain_ctx ctx[T];
  for (int i = 0; i < T; i++) {
    ctx[i] = (chain_ctx){pol, caps, 0};
    assert_int_equal(pthread_create(&th[i], NULL, run_rows, &ctx[i]), 0);
  }
  int mismatches = 0;
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    mismatches += ctx[i].mismatches;
  }
  assert_int_equal(mismatches, 0);
  for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) hk_policy_free(pol[i]);
  for (size_t i = 0; i < sizeof capsets / sizeof capsets[0]; i++) json_decref(caps[i]);
}

/* The reason strings are the spec's, word for word. */
static void test_reason_strings(void **state) {
  (void)state;
  assert_string_equal(HK_REASON_MODE_NONE, "Plugin mode is 'none'");
  assert_string_equal(HK_REASON_PLUGIN_DENY, "Denied by plugin deny list");
  assert_string_equal(HK_REASON_GLOBAL_DENY, "Denied by global policy");
  assert_string_equal(HK_REASON_PLUGIN_ALLOW, "Allowed by plugin allow list");
  assert_string_equal(HK_REASON_DEFAULT_ALLOW, "Allowed by default");
  assert_string_equal(HK_REASON_DEFAULT_DENY, "Denied by default");
  assert_string_equal(HK_REASON_ASK, "Requires user approval");
}

/* $PLUGIN_DATA in a manifest grant, a symlink out of it, and the policy default NULL. */
static void test_chain_paths_with_vars(void **state) {
  (void)state;
  char tmpl[] = "/tmp/al_cap_XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  char data[PATH_MAX + 16], link[PATH_MAX + 32], real[PATH_MAX];
  assert_non_null(realpath(tmpl, real));
  snprintf(data, sizeof data, "%s/data", real);
  assert_int_equal(mkdir(data, 0700), 0);
  snprintf(link, sizeof link, "%s/data/out", real);
  assert_int_equal(symlink("/etc", link), 0);
  json_t *caps = tj("{'fs_read':['$PLUGIN_DATA/**'],'fs_write':['$PLUGIN_DATA/**']}");
  hk_path_vars vars = {data, "/nonexistent-home", data};
  const char *reason;
  assert_int_equal(hk_decide(NULL, -1, false, "p", caps, "fs_write", "$PLUGIN_DATA/new.json",
                             &vars, &reason), HK_ALLOWED);
  assert_int_equal(hk_decide(NULL, -1, false, "p", caps, "fs_write", "notes/../new.json", &vars,
                             &reason), HK_ALLOWED);
  assert_int_equal(hk_decide(NULL, -1, false, "p", caps, "fs_read", "$PLUGIN_DATA/out/passwd",
                             &vars, &reason), HK_DENIED);
  assert_string_equal(reason, HK_REASON_DEFAULT_DENY);
  assert_int_equal(hk_decide(NULL, -1, false, "p", caps, "fs_read", "../data/../../etc/passwd",
                             &vars, &reason), HK_DENIED);
  json_decref(caps);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", real);
  assert_int_equal(system(cmd), 0);
}

static void test_policy_errors(void **state) {
  (void)state;
  static const struct {
    const char *json, *msg;
  } bad[] = {
      {"[]", "policy: must be an object"},
      {"{'mode':'most'}", "policy.mode: must be"},
      {"{'default':'maybe'}", "policy.default: must be"},
      {"{'deny':{'netwrk':['x.com']}}", "policy.deny.netwrk: unknown action"},
      {"{'deny':{'network':'x.com'}}", "policy.deny.network: must be true or an array"},
      {"{'deny':{'network':['http://x.com/path']}}", "policy.deny.network[0]: 'http://x.com/path' is not a host pattern"},
      {"{'deny':{'fs_read':['relative/**']}}", "policy.deny.fs_read[0]: 'relative/**' is not an absolute path"},
      {"{'deny':{'kv':['']}}", "policy.deny.kv[0]: must be a non-empty string"},
      {"{'plugins':{'p':{'allow':{'kv':1}}}}", "policy.plugins.p.allow.kv: must be true or an array"},
      {"{'plugins':{'p':{'grant':{}}}}", "policy.plugins.p.grant: unknown field"},
      {"{'plugins':{'p':[]}}", "policy.plugins.p: must be an object"},
      {"{'plugins':[]}", "policy.plugins: must be an object"},
      {"{'extra':1}", "policy.extra: unknown field"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *j = tj(bad[i].json);
    hk_policy *p = (hk_policy *)&p; /* must be reset to NULL */
    al_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(hk_policy_new(j, &p, &err), AL_EINVALID_ARGUMENT);
    assert_null(p);
    if (!strstr(err.message, bad[i].msg))
      print_error("%s: message '%s' lacks '%s'\n", bad[i].json, err.message, bad[i].msg);
    assert_non_null(strstr(err.message, bad[i].msg));
    json_decref(j);
  }
  hk_policy *p = NULL;
  json_t *j = tj("{'mode':'TRUSTED','default':'ask','deny':{'kv':true},'plugins':{}}");
  assert_int_equal(hk_policy_new(j, &p, NULL), 0);
  assert_int_equal(hk_policy_mode(p), HK_MODE_TRUSTED);
  hk_policy_free(p);
  hk_policy_free(NULL);
  json_decref(j);
  assert_int_equal(hk_policy_mode(NULL), HK_MODE_ALL);
}

/* The exec resource: plain words as they are, anything else in '...' with quotes escaped,
 * so the audit shows an unambiguous command line and the matcher reads it back. */
static void test_exec_line(void **state) {
  (void)state;
  const char *a1[] = {"--version"};
  char *l = hk_exec_line("git", a1, 1);
  assert_string_equal(l, "git --version");
  free(l);
  const char *a2[] = {"a b", "it's", "", "x;y"};
  l = hk_exec_line("echo", a2, 4);
  assert_string_equal(l, "echo 'a b' 'it'\\''s' '' 'x;y'");
  free(l);
  /* what hk_exec_line writes, the matcher reads back as the same words */
  hk_policy *p = NULL;
  json_t *j = tj("{'plugins':{'p':{'allow':{'exec':['echo * three']}}}}"); /* a middle '*': one word */
  assert_int_equal(hk_policy_new(j, &p, NULL), 0);
  const char *a3[] = {"one two", "three"};
  l = hk_exec_line("echo", a3, 2);
  assert_int_equal(hk_decide(p, -1, false, "p", NULL, "exec", l, NULL, NULL), HK_ALLOWED); /* "one two" is one word */
  free(l);
  const char *a4[] = {"one", "two", "three"};
  l = hk_exec_line("echo", a4, 3);
  assert_int_equal(hk_decide(p, -1, false, "p", NULL, "exec", l, NULL, NULL), HK_DENIED); /* four words */
  free(l);
  hk_policy_free(p);
  json_decref(j);
}

static void test_names(void **state) {
  (void)state;
  hk_mode m;
  assert_true(hk_mode_parse("Interactive", &m));
  assert_int_equal(m, HK_MODE_INTERACTIVE);
  assert_false(hk_mode_parse("", &m));
  assert_false(hk_mode_parse(NULL, &m));
  assert_string_equal(hk_mode_name(HK_MODE_NONE), "none");
  assert_string_equal(hk_verdict_name(HK_ALLOWED), "allowed");
  assert_string_equal(hk_verdict_name(HK_DENIED), "denied");
  assert_string_equal(hk_verdict_name(HK_ASK), "ask");
}

/* Kill switches (sec. 7): "1" or "true" in any case turns one on, nothing else does; a bad
 * mode is reported and fails closed. */
static void test_kill_switches(void **state) {
  (void)state;
  static const struct {
    const char *value;
    bool on;
  } vals[] = {{"1", true},    {"true", true}, {"TRUE", true}, {"True", true}, {"0", false},
              {"false", false}, {"yes", false}, {"", false},    {"2", false},   {" true", false},
              {"on", false}};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    assert_int_equal(hk_switch_value_on(vals[i].value), vals[i].on);
  assert_false(hk_switch_value_on(NULL));

  unsetenv("AIRLOCK_DISABLE_PLUGINS");
  unsetenv("AIRLOCK_SKIP_PLUGINS");
  unsetenv("AIRLOCK_FORCE_DENY");
  unsetenv("AIRLOCK_PLUGIN_MODE");
  hk_switches s;
  assert_int_equal(hk_switches_from_env(&s, NULL), 0);
  assert_false(s.disable || s.skip || s.force_deny);
  assert_int_equal(s.mode, -1);
  json_t *j = hk_switches_json(&s);
  assert_true(tj_is(j, "{'disable':false,'skip':false,'forceDeny':false,'mode':null}"));
  json_decref(j);

  setenv("AIRLOCK_DISABLE_PLUGINS", "True", 1);
  setenv("AIRLOCK_SKIP_PLUGINS", "0", 1);
  setenv("AIRLOCK_FORCE_DENY", "1", 1);
  setenv("AIRLOCK_PLUGIN_MODE", "Interactive", 1);
  assert_int_equal(hk_switches_from_env(&s, NULL), 0);
  assert_true(s.disable);
  assert_false(s.skip);
  assert_true(s.force_deny);
  assert_int_equal(s.mode, HK_MODE_INTERACTIVE);
  j = hk_switches_json(&s);
  assert_true(tj_is(j, "{'disable':true,'skip':false,'forceDeny':true,'mode':'interactive'}"));
  json_decref(j);

  setenv("AIRLOCK_PLUGIN_MODE", "trused", 1);
  al_error err;
  assert_int_equal(hk_switches_from_env(&s, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "AIRLOCK_PLUGIN_MODE: 'trused' is not all, trusted"));
  assert_int_equal(s.mode, HK_MODE_NONE);
  assert_true(s.disable); /* the other switches are still read */
  j = hk_switches_json(&s);
  assert_true(tj_is(j, "{'disable':true,'skip':false,'forceDeny':true,'mode':'none',"
                       "'invalidMode':'trused'}"));
  json_decref(j);
  /* and the failed-closed mode denies through the chain */
  const char *reason;
  json_t *caps = tj("{'kv':true}");
  assert_int_equal(hk_decide(NULL, s.mode, false, "p", caps, "kv", "", NULL, &reason), HK_DENIED);
  assert_string_equal(reason, HK_REASON_MODE_NONE);
  json_decref(caps);
  unsetenv("AIRLOCK_DISABLE_PLUGINS");
  unsetenv("AIRLOCK_SKIP_PLUGINS");
  unsetenv("AIRLOCK_FORCE_DENY");
  unsetenv("AIRLOCK_PLUGIN_MODE");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chain_table),
      cmocka_unit_test(test_chain_threads),
      cmocka_unit_test(test_reason_strings),
      cmocka_unit_test(test_chain_paths_with_vars),
      cmocka_unit_test(test_policy_errors),
      cmocka_unit_test(test_exec_line),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_kill_switches),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_match.c: URL parsing, host patterns and path matching (hooks/match.h), as tables
 * of the tricks that break naive checks, plus a real temp tree with a symlink that points
 * outside the granted directory.
 */
#define _XOPEN_SOURCE 700 /* realpath, mkdtemp, symlink */
#include "helpers.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/match.h"

typedef struct host_case {
  const char *pattern, *url;
  bool match;
} host_case;

static void test_host_match_table(void **state) {
  (void)state;
  static const host_case cases[] = {
      {"evil.com", "https://evil.com/x", true},
      {"evil.com", "https://sub.evil.com/x", true},
      {"evil.com", "http://a.b.evil.com:8080/", true},
      {"evil.com", "https://notevil.com/", false},
      {"evil.com", "https://evil.com.attacker.net/", false},
      {"evil.com", "https://evilxcom/", false},
      {"evil.com", "https://attacker.net/evil.com", false},
      {"evil.com", "https://attacker.net/?evil.com", false},
      {"evil.com", "https://attacker.net/#@evil.com", false},
      {"evil.com", "https://evil.com@attacker.net/", false},  /* userinfo is not the host */
      {"good.com", "https://evil.com@good.com/", true},       /* userinfo dropped */
      {"good.com", "https://user@evil.com@good.com/", false}, /* two '@': refused */
      {"evil.com", "https://user@evil.com@good.com/", false},
      {"good.com", "https://evil.com\\@good.com/", false},    /* backslash: refused */
      {"evil.com", "https://evil.com\\@good.com/", false},
      {"evil.com", "HTTPS://SUB.EVIL.COM/", true},            /* case */
      {"EVIL.com", "https://evil.com/", true},
      {"evil.com", "https://evil.com./", true},               /* trailing dot */
      {"evil.com.", "https://sub.evil.com/", true},
      {"evil.com", "https://evil.com../", false},
      {"evil.com", "https://%65vil.com/", false},             /* percent-encoding */
      {"evil.com", "https://evil%2ecom/", false},
      {"evil.com:8443", "https://evil.com:8443/", true},      /* ports */
      {"evil.com:8443", "https://evil.com/", false},
      {"evil.com:443", "https://evil.com/", true},            /* default port counts */
      {"evil.com:80", "https://evil.com/", false},
      {"evil.com", "https://evil.com:9999/", true},
      {"evil.com:8443", "https://sub.evil.com:8443/", true},
      {"evil.com", "https://evil.com:0/", false},
      {"evil.com", "https://evil.com:65536/", false},
      {"evil.com", "https://evil.com:/", true},               /* empty port: default */
      {"*.evil.com", "https://sub.evil.com/", true},
      {"*.evil.com", "https://evil.com/", false},
      {"*", "https://anything.example/", true},
      {"*", "ftp://anything.example/", false},
      {"https://evil.com", "https://evil.com/", true},        /* scheme in the pattern */
      {"https://evil.com", "http://evil.com/", false},
      {"evil.com", "ftp://evil.com/", false},                 /* schemes */
      {"evil.com", "file:///etc/passwd", false},
      {"evil.com", "javascript:alert(1)", false},
      {"evil.com", "//evil.com/", false},
      {"evil.com", "evil.com", false},
      {"evil.com", "https://evil.com /", false},
      {"127.0.0.1", "http://127.0.0.1:8080/", true},          /* IPv4 literals: exact */
      {"127.0.0.1", "http://127.0.0.2/", false},
      {"0.0.1", "http://127.0.0.1/", false},
      {"127.0.0.1", "http://2130706433/", false},             /* numeric forms refused */
      {"127.0.0.1", "http://0x7f.0.0.1/", false},
      {"127.0.0.1", "http://0177.0.0.1/", false},
      {"127.0.0.1", "http://127.1/", false},
      {"1.2.3.4", "http://a.1.2.3.4/", false},
      {"[::1]", "http://[::1]:8080/", true},                  /* IPv6 literals */
      {"[::1]", "http://[0:0:0:0:0:0:0:1]/", true},
      {"[::1]", "http://[::2]/", false},
      {"[::1]:8080", "http://[::1]:8080/", true},
      {"[::1]:8080", "http://[::1]:8081/", false},
      {"[::1]", "http://[::1%25eth0]/", false},
      {"localhost", "http://[::1]/", false},
      {"evil.com", "https://xn--vil-dma.com/", false},
      {"evil.com", "https://\xc3\xa9vil.com/", false},
      {"evil.com/path", "https://evil.com/path", false},      /* malformed patterns */
      {"", "https://evil.com/", false},
      {"*.1.2.3.4", "http://1.2.3.4/", false},
      {"user@evil.com", "https://evil.com/", false},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool got = hk_host_match(cases[i].pattern, cases[i].url);
    if (got != cases[i].match) {
      print_error("hk_host_match(%s, %s) = %d, want %d\n", cases[i].pattern, cases[i].url, got,
                  cases[i].match);
      bad++;
    }
  }
  assert_int_equal(bad, 0);
  assert_false(hk_host_match(NULL, "https://evil.com/"));
  assert_false(hk_host_match("evil.com", NULL));
}

static void test_url_parse_messages(void **state) {
  (void)state;
  char host[HK_HOST_MAX];
  int port = 0;
  bool tls = false;
  al_error err;
  assert_int_equal(hk_url_parse_ex("https://User:Pw@API.Example.COM.:8443/p?q#f", host,
                                   sizeof host, &port, &tls, &err), 0);
  assert_string_equal(host, "api.example.com");
  assert_int_equal(port, 8443);
  assert_true(tls);
  assert_int_equal(hk_url_parse("http://[::FFFF:1.2.3.4]/", host, sizeof host, &port, NULL), 0);
  assert_string_equal(host, "::ffff:1.2.3.4");
  assert_int_equal(port, 80);

  static const struct {
    const char *url, *msg;
  } bad[] = {
      {"ftp://x.com/", "scheme 'ftp' is not http or https"},
      {"x.com", "does not start with http:// or https://"},
      {"http://a\\b.com/", "backslash"},
      {"http://a.com/\x01", "control character"},
      {"http://a@b@c.com/", "more than one '@'"},
      {"http://%61.com/", "percent-encoding"},
      {"http://2130706433/", "not a dotted-quad"},
      {"http://a..com/", "empty label"},
      {"http:///x", "no host"},
      {"http://a.com:99999/", "is not 1-65535"},
      {"http://[zz]/", "is not an IPv6 address"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&err, 0, sizeof err);
    assert_int_equal(hk_url_parse(bad[i].url, host, sizeof host, &port, &err),
                     AL_EINVALID_ARGUMENT);
    if (!strstr(err.message, bad[i].msg))
      print_error("%s: message '%s' lacks '%s'\n", bad[i].url, err.message, bad[i].msg);
    assert_non_null(strstr(err.message, bad[i].msg));
  }
  char tiny[4];
  assert_int_equal(hk_url_parse("http://example.com/", tiny, sizeof tiny, &port, NULL),
                   AL_EINVALID_ARGUMENT);
}

/* A temp tree:
 *   T/granted/file.txt
 *   T/granted/escape -> T/secret      (symlink out of the granted dir)
 *   T/granted/inner  -> T/granted/sub  (symlink inside)
 *   T/granted/sub/
 *   T/secret/key.txt
 *   T/database/x */
typedef struct tree {
  char root[PATH_MAX];
} tree;

static void path_join(char *out, size_t cap, const char *a, const char *b) {
  int w = snprintf(out, cap, "%s/%s", a, b);
  assert_true(w > 0 && (size_t)w < cap);
}

static void touch(const char *root, const char *rel) {
  char p[PATH_MAX];
  path_join(p, sizeof p, root, rel);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs("x", f);
  fclose(f);
}

static void mkd(const char *root, const char *rel) {
  char p[PATH_MAX];
  path_join(p, sizeof p, root, rel);
  assert_int_equal(mkdir(p, 0700), 0);
}

static void tree_make(tree *t) {
  char tmpl[] = "/tmp/al_match_XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  assert_non_null(realpath(tmpl, t->root)); /* /tmp may itself be a symlink */
  mkd(t->root, "granted");
  mkd(t->root, "granted/sub");
  mkd(t->root, "secret");
  mkd(t->root, "database");
  touch(t->root, "granted/file.txt");
  touch(t->root, "secret/key.txt");
  touch(t->root, "database/x");
  char link[PATH_MAX], target[PATH_MAX];
  path_join(link, sizeof link, t->root, "granted/escape");
  path_join(target, sizeof target, t->root, "secret");
  assert_int_equal(symlink(target, link), 0);
  path_join(link, sizeof link, t->root, "granted/inner");
  assert_int_equal(symlink("sub", link), 0);
}

static void tree_free(tree *t) {
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->root);
  assert_int_equal(system(cmd), 0);
}

/* Canonical form of root/rel. */
static char *canon_of(const tree *t, const char *rel) {
  char p[PATH_MAX];
  path_join(p, sizeof p, t->root, rel);
  char *c = NULL;
  al_error err;
  if (hk_path_canon(p, &c, &err)) print_error("canon %s: %s\n", p, err.message);
  assert_non_null(c);
  return c;
}

static void expect_canon(const tree *t, const char *rel, const char *want_rel) {
  char *c = canon_of(t, rel);
  char want[PATH_MAX];
  if (want_rel) path_join(want, sizeof want, t->root, want_rel);
  else snprintf(want, sizeof want, "%s", t->root);
  if (strcmp(c, want) != 0) print_error("canon(%s) = %s, want %s\n", rel, c, want);
  assert_string_equal(c, want);
  free(c);
}

static void test_path_canon(void **state) {
  (void)state;
  tree t;
  tree_make(&t);
  expect_canon(&t, "granted/file.txt", "granted/file.txt");
  expect_canon(&t, "granted/escape/key.txt", "secret/key.txt");   /* symlink resolved */
  expect_canon(&t, "granted/../secret/key.txt", "secret/key.txt"); /* .. resolved */
  expect_canon(&t, "granted/./sub//", "granted/sub");
  expect_canon(&t, "granted/inner/new.txt", "granted/sub/new.txt"); /* new file, real dir */
  expect_canon(&t, "granted/escape/new/deeper.txt", "secret/new/deeper.txt");
  expect_canon(&t, "granted/missing/../escape/key.txt", "secret/key.txt");
  expect_canon(&t, "granted/missing/../../secret", "secret");
  expect_canon(&t, "granted/sub/..", "granted");
  char *c = NULL;
  al_error err;
  char p[PATH_MAX];
  path_join(p, sizeof p, t.root, "granted/file.txt/x");
  assert_int_equal(hk_path_canon(p, &c, &err), AL_EINVALID_ARGUMENT); /* not a directory */
  assert_null(c);
  assert_int_equal(hk_path_canon("", &c, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(hk_path_canon("/../../..", &c, NULL), 0);
  assert_string_equal(c, "/");
  free(c);
  tree_free(&t);
}

static bool pm(const char *pattern, const char *canon, const hk_path_vars *v) {
  return hk_path_match(pattern, canon, v);
}

static void test_path_match(void **state) {
  (void)state;
  tree t;
  tree_make(&t);
  char granted[PATH_MAX], pat[PATH_MAX + 8];
  path_join(granted, sizeof granted, t.root, "granted");
  snprintf(pat, sizeof pat, "%s/**", granted);

  char *file = canon_of(&t, "granted/file.txt");
  char *escape = canon_of(&t, "granted/escape/key.txt");
  char *dotdot = canon_of(&t, "granted/../secret/key.txt");
  char *inner = canon_of(&t, "granted/inner/new.txt");
  char *newf = canon_of(&t, "granted/new.txt");
  assert_true(pm(pat, file, NULL));
  assert_true(pm(pat, inner, NULL));
  assert_true(pm(pat, newf, NULL));
  assert_true(pm(pat, granted, NULL)); /* the directory itself */
  assert_false(pm(pat, escape, NULL)); /* symlink leading out */
  assert_false(pm(pat, dotdot, NULL)); /* granted/../secret */
  assert_false(pm(granted, file, NULL)); /* no subtree suffix: exactly one path */
  assert_true(pm(granted, granted, NULL));

  /* whole segments: a grant of .../data never covers .../database */
  char data_pat[PATH_MAX + 32], *database = canon_of(&t, "database/x");
  snprintf(data_pat, sizeof data_pat, "%s/data/**", t.root);
  assert_false(pm(data_pat, database, NULL));
  snprintf(data_pat, sizeof data_pat, "%s/database/**", t.root);
  assert_true(pm(data_pat, database, NULL));

  /* variables */
  hk_path_vars v = {granted, t.root, granted};
  assert_true(pm("$PLUGIN_DATA/**", file, &v));
  assert_true(pm("$CWD/file.txt", file, &v));
  assert_true(pm("$HOME/granted/**", file, &v));
  assert_false(pm("$PLUGIN_DATA/**", escape, &v));
  assert_false(pm("$HOME/secret/**", file, &v));
  hk_path_vars none = {NULL, NULL, NULL};
  assert_false(pm("$PLUGIN_DATA/**", file, &none));
  assert_false(pm("$PLUGIN_DATA/**", file, NULL));
  assert_false(pm("$PLUGIN_DATAX/**", file, &v));
  assert_false(pm("$OTHER/**", file, &v));

  /* a grant naming a symlinked directory covers where it really points */
  char via_link[PATH_MAX + 32];
  snprintf(via_link, sizeof via_link, "%s/granted/inner/**", t.root);
  assert_true(pm(via_link, inner, NULL));

  /* resolve: variables, relative paths, canonicalisation */
  char *r = NULL;
  assert_int_equal(hk_path_resolve("$PLUGIN_DATA/escape/key.txt", &v, &r, NULL), 0);
  assert_string_equal(r, escape);
  free(r);
  assert_int_equal(hk_path_resolve("sub/../file.txt", &v, &r, NULL), 0);
  assert_string_equal(r, file);
  free(r);
  al_error err;
  assert_int_equal(hk_path_resolve("file.txt", &none, &r, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "relative"));
  assert_int_equal(hk_path_resolve("$PLUGIN_DATA/x", &none, &r, &err), AL_EINVALID_ARGUMENT);
  assert_null(r);

  /* pattern validity */
  assert_true(hk_path_pattern_valid("/data/**"));
  assert_true(hk_path_pattern_valid("$HOME/notes.txt"));
  assert_false(hk_path_pattern_valid("data/**"));
  assert_false(hk_path_pattern_valid("/data/**/x"));
  assert_false(hk_path_pattern_valid("$NOPE/x"));
  assert_false(hk_path_pattern_valid(""));

  free(file);
  free(escape);
  free(dotdot);
  free(inner);
  free(newf);
  free(database);
  tree_free(&t);
}

static void test_path_special_dirs(void **state) {
  (void)state;
  /* /proc, /sys and /dev only by exact grant */
  assert_false(hk_path_match("/**", "/proc/self/mem", NULL));
  assert_false(hk_path_match("/proc/**", "/proc/cpuinfo", NULL));
  assert_true(hk_path_match("/proc/cpuinfo", "/proc/cpuinfo", NULL));
  assert_false(hk_path_match("/sys/**", "/sys/kernel", NULL));
  assert_false(hk_path_match("/**", "/dev/sda", NULL));
  assert_true(hk_path_match("/dev/null", "/dev/null", NULL));
  assert_false(hk_path_match("/dev/null", "/dev/zero", NULL));
  assert_true(hk_path_match("/**", "/etc/hostname", NULL));
  assert_true(hk_path_match("/**", "/devices/x", NULL)); /* a segment named like /dev */
  assert_false(hk_path_match("/etc/**", "relative/x", NULL));
  assert_false(hk_path_match(NULL, "/etc", NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_host_match_table),
      cmocka_unit_test(test_url_parse_messages),
      cmocka_unit_test(test_path_canon),
      cmocka_unit_test(test_path_match),
      cmocka_unit_test(test_path_special_dirs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

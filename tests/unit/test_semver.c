/*
 * test_semver.c: versions (parse, precedence per semver.org 2.0.0 sec. 11) and the range
 * forms engines.airlock accepts, checked against npm's semantics case by case.
 */
#include "helpers.h"

#include "pkg/semver.h"

static void test_parse(void **state) {
  (void)state;
  semver v;
  assert_true(semver_parse("1.2.3", &v));
  assert_int_equal(v.major, 1);
  assert_int_equal(v.minor, 2);
  assert_int_equal(v.patch, 3);
  assert_string_equal(v.pre, "");
  assert_true(semver_parse("0.0.0-alpha.1+build.5", &v));
  assert_string_equal(v.pre, "alpha.1");
  assert_true(semver_parse("10.20.30+meta-data", &v));
  assert_true(semver_parse("1.0.0-x-y-z.--", &v));
  static const char *const bad[] = {"1.2", "1", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "v1.2.3", "=1.2.3", "1.2.3-",
                                    "1.2.3+", "1.2.3-01", "1.2.3-a..b", "1.2.3-a_b", "a.b.c", "", " 1.2.3", "1.2.3 ",
                                    "-1.2.3", "1.2.x", "99999999999999999.0.0"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (semver_parse(bad[i], &v)) print_error("accepted '%s'\n", bad[i]);
    assert_false(semver_parse(bad[i], &v));
  }
}

static void test_precedence(void **state) {
  (void)state;
  /* semver.org's example chain, each strictly lower than the next */
  static const char *const chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
                                      "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0"};
  size_t n = sizeof chain / sizeof *chain;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < n; k++) {
      semver a, b;
      assert_true(semver_parse(chain[i], &a));
      assert_true(semver_parse(chain[k], &b));
      int want = i < k ? -1 : i > k;
      if (semver_cmp(&a, &b) != want) print_error("%s vs %s\n", chain[i], chain[k]);
      assert_int_equal(semver_cmp(&a, &b), want);
    }
  semver a, b;
  assert_true(semver_parse("1.0.0+a", &a));
  assert_true(semver_parse("1.0.0+b", &b));
  assert_int_equal(semver_cmp(&a, &b), 0); /* build metadata is ignored */
}

typedef struct rcase {
  const char *range, *version;
  bool want;
} rcase;

static void test_ranges(void **state) {
  (void)state;
  static const rcase cases[] = {
      {"^1.2.3", "1.2.3", true},   {"^1.2.3", "1.9.0", true},     {"^1.2.3", "2.0.0", false},
      {"^1.2.3", "1.2.2", false},  {"^0.2.3", "0.2.9", true},     {"^0.2.3", "0.3.0", false},
      {"^0.0.3", "0.0.3", true},   {"^0.0.3", "0.0.4", false},    {"^1.x", "1.5.0", true},
      {"^0.x", "0.9.9", true},     {"^0.x", "1.0.0", false},      {"^1", "1.9.9", true},
      {"~1.2.3", "1.2.9", true},   {"~1.2.3", "1.3.0", false},    {"~1.2", "1.2.0", true},
      {"~1", "1.9.0", true},       {"~1", "2.0.0", false},        {">=1.2.3", "1.2.3", true},
      {">=1.2.3", "1.2.2", false}, {">1.2.3", "1.2.3", false},    {">1.2", "1.2.9", false},
      {">1.2", "1.3.0", true},     {"<2.0.0", "1.99.0", true},    {"<2.0.0", "2.0.0", false},
      {"<=1.2", "1.2.9", true},    {"<=1.2", "1.3.0", false},     {"=1.2.3", "1.2.3", true},
      {"1.2.3", "1.2.3", true},    {"1.2.3", "1.2.4", false},     {"1.2.x", "1.2.7", true},
      {"1.2.x", "1.3.0", false},   {"1.x", "1.0.0", true},        {"1.X", "1.4.0", true},
      {"1", "1.4.0", true},        {"1", "2.0.0", false},         {"*", "0.0.1", true},
      {"x", "99.0.0", true},       {"", "1.0.0", true},           {">=1.0.0 <1.5.0", "1.4.9", true},
      {">=1.0.0 <1.5.0", "1.5.0", false}, {">= 1.0.0  < 1.5.0", "1.2.0", true},
      {"<1.0.0 || >=2.0.0", "0.5.0", true}, {"<1.0.0 || >=2.0.0", "1.5.0", false},
      {"<1.0.0 || >=2.0.0", "2.1.0", true}, {"1.2.3 - 2.3.4", "2.3.4", true},
      {"1.2.3 - 2.3.4", "2.3.5", false}, {"1.2 - 2.3", "2.3.9", true}, {"1.2 - 2.3", "2.4.0", false},
      {"v1.2.3", "1.2.3", true},
      /* pre-releases only match a comparator naming a pre-release of the same tuple */
      {"^1.2.3", "1.3.0-beta", false}, {"^1.2.3-beta.1", "1.2.3-beta.2", true},
      {"^1.2.3-beta.1", "1.2.4-beta", false}, {">=1.0.0-rc.1", "1.0.0-rc.2", true},
      {"*", "1.0.0-rc.1", false},  {"^0.1.0", "0.1.0+build.7", true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    bool got = semver_satisfies(cases[i].version, cases[i].range);
    if (got != cases[i].want)
      print_error("'%s' satisfies '%s': got %d, want %d\n", cases[i].version, cases[i].range, got, cases[i].want);
    assert_true(got == cases[i].want);
  }
}

static void test_invalid_ranges(void **state) {
  (void)state;
  static const char *const good[] = {"^1.2.3", ">=1 <2", "1.2.3 - 2", "*", "", "1.x || 3", ">= 1.2.3", "~0.1.0-beta.1"};
  static const char *const bad[] = {"^^1", "1.2.3.4", ">=", "=> 1.0.0", "1.2.3 -", "abc", "~>1.2", "1.2.3-", "01.2.3",
                                    ">=1.0.0 <", "1.x.3", "||| 1", ">>1"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    if (!semver_range_valid(good[i])) print_error("refused '%s'\n", good[i]);
    assert_true(semver_range_valid(good[i]));
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (semver_range_valid(bad[i])) print_error("accepted '%s'\n", bad[i]);
    assert_false(semver_range_valid(bad[i]));
  }
  assert_false(semver_satisfies("1.2", "*"));      /* not a version */
  assert_false(semver_satisfies("1.0.0", "^^1"));  /* not a range */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_ranges),
      cmocka_unit_test(test_invalid_ranges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

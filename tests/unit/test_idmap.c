/* test_idmap.c: the id -> pointer map (contract/idmap.h): lookups, replacement, removal
 * with reuse of removed slots, growth past many removals, and a walk that sees each live
 * entry once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "contract/idmap.h"

static void test_basic(void **st) {
  (void)st;
  idmap m = IDMAP_INIT;
  int a = 1, b = 2;
  void *old = &a;
  assert_null(idmap_get(&m, "x"));
  assert_null(idmap_get(&m, NULL));
  assert_null(idmap_del(&m, "x"));
  assert_int_equal(idmap_put(&m, "x", &a, &old), 0);
  assert_null(old);
  char key[] = "y";
  assert_int_equal(idmap_put(&m, key, &b, NULL), 0);
  key[0] = 'z'; /* the map keeps its own copy */
  assert_ptr_equal(idmap_get(&m, "y"), &b);
  assert_null(idmap_get(&m, "z"));
  assert_int_equal(idmap_put(&m, "x", &b, &old), 0);
  assert_ptr_equal(old, &a);
  assert_ptr_equal(idmap_get(&m, "x"), &b);
  assert_int_equal(idmap_count(&m), 2);
  assert_ptr_equal(idmap_del(&m, "x"), &b);
  assert_null(idmap_get(&m, "x"));
  assert_ptr_equal(idmap_get(&m, "y"), &b); /* found past the removed slot */
  assert_int_equal(idmap_count(&m), 1);
  idmap_free(&m);
  idmap_free(&m); /* harmless twice */
}

static void test_many(void **st) {
  (void)st;
  enum { N = 20000 };
  static int vals[N];
  idmap m = IDMAP_INIT;
  char k[32];
  for (int round = 0; round < 3; round++) { /* removals leave tombstones: growth sweeps them */
    for (int i = 0; i < N; i++) {
      snprintf(k, sizeof k, "inst@%d", i);
      assert_int_equal(idmap_put(&m, k, &vals[i], NULL), 0);
    }
    assert_int_equal(idmap_count(&m), N);
    for (int i = 0; i < N; i += 2) {
      snprintf(k, sizeof k, "inst@%d", i);
      assert_ptr_equal(idmap_del(&m, k), &vals[i]);
    }
    assert_int_equal(idmap_count(&m), N / 2);
    for (int i = 0; i < N; i++) {
      snprintf(k, sizeof k, "inst@%d", i);
      assert_ptr_equal(idmap_get(&m, k), i % 2 ? &vals[i] : NULL);
    }
  }
  static unsigned char seen[N];
  memset(seen, 0, sizeof seen);
  size_t pos = 0, n = 0;
  const char *key;
  void *v;
  while (idmap_next(&m, &pos, &key, &v)) {
    int i = (int)((int *)v - vals);
    assert_true(i >= 0 && i < N && i % 2 == 1 && !seen[i]);
    snprintf(k, sizeof k, "inst@%d", i);
    assert_string_equal(key, k);
    seen[i] = 1;
    n++;
  }
  assert_int_equal(n, N / 2);
  /* removing the entry just returned during a walk is allowed */
  pos = 0;
  while (idmap_next(&m, &pos, &key, &v)) assert_non_null(idmap_del(&m, key));
  assert_int_equal(idmap_count(&m), 0);
  idmap_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_basic), cmocka_unit_test(test_many)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

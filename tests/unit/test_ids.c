/*
 * test_ids.c: dispatch ids (26 chars of Crockford base32, unique and sortable by time and
 * issue order) and instance ids ("<packageId>@<8 chars from A-Za-z0-9_->").
 */
#include "helpers.h"

#include <regex.h>

#include "store/ids.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* value of a Crockford digit, or -1 */
static int b32_value(char c) {
  const char *p = c ? strchr(crockford, c) : NULL;
  return p ? (int)(p - crockford) : -1;
}

static uint64_t b32_decode(const char *s, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 5) | (uint64_t)b32_value(s[i]);
  return v;
}

static void test_dispatch_ids_million(void **state) {
  (void)state;
  enum { N = 1000000 };
  bool valid[256] = {false};
  for (const char *p = crockford; *p; p++) valid[(unsigned char)*p] = true;

  id_gen g;
  id_gen_init(&g);
  char ids[2][ID_DISPATCH_LEN + 1];
  memset(ids, 0, sizeof ids);
  uint64_t t0 = clock_wall_ms(), ms = 0, prev_ms = 0;
  int bad_len = 0, bad_char = 0, not_increasing = 0, bad_ms = 0;
  for (int i = 0; i < N; i++) {
    char *cur = ids[i & 1], *prev = ids[(i & 1) ^ 1];
    memset(cur, 'x', ID_DISPATCH_LEN + 1);
    id_dispatch(&g, cur, &ms);
    if (strlen(cur) != ID_DISPATCH_LEN) bad_len++;
    for (int k = 0; k < ID_DISPATCH_LEN; k++)
      if (!valid[(unsigned char)cur[k]]) bad_char++;
    /* strictly increasing in strcmp order implies all unique */
    if (i > 0 && strcmp(prev, cur) >= 0) not_increasing++;
    if (ms < prev_ms || b32_decode(cur, 10) != ms) bad_ms++;
    prev_ms = ms;
  }
  uint64_t t1 = clock_wall_ms();
  assert_int_equal(bad_len, 0);
  assert_int_equal(bad_char, 0);
  assert_int_equal(not_increasing, 0);
  assert_int_equal(bad_ms, 0);
  /* the first 10 chars are the wall-clock time the id was issued */
  assert_true(ms >= t0 && ms <= t1);
  /* the last 10 count the ids issued */
  assert_int_equal(b32_decode(ids[(N - 1) & 1] + 16, 10), N);
}

static void test_dispatch_ids_two_generators(void **state) {
  (void)state;
  enum { N = 2000 };
  id_gen a, b;
  id_gen_init(&a);
  id_gen_init(&b);
  char (*ia)[ID_DISPATCH_LEN + 1] = calloc(N, sizeof *ia);
  char (*ib)[ID_DISPATCH_LEN + 1] = calloc(N, sizeof *ib);
  assert_non_null(ia);
  assert_non_null(ib);
  for (int i = 0; i < N; i++) {
    id_dispatch(&a, ia[i], NULL); /* ms may be NULL */
    id_dispatch(&b, ib[i], NULL);
  }
  /* the same issue counter at the same time still differs: the generator prefix does */
  assert_true(memcmp(ia[0] + 10, ib[0] + 10, 6) != 0);
  int equal = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++)
      if (memcmp(ia[i], ib[j], ID_DISPATCH_LEN) == 0) equal++;
  assert_int_equal(equal, 0);
  /* each generator keeps its own prefix */
  for (int i = 1; i < N; i++) {
    assert_memory_equal(ia[i] + 10, ia[0] + 10, 6);
    assert_memory_equal(ib[i] + 10, ib[0] + 10, 6);
  }
  free(ia);
  free(ib);
}

static void test_dispatch_ids_clock_backwards(void **state) {
  (void)state;
  id_gen g;
  id_gen_init(&g);
  char first[ID_DISPATCH_LEN + 1], second[ID_DISPATCH_LEN + 1];
  uint64_t ms1, ms2;
  /* pretend the last id was issued an hour in the future: the wall clock is now "behind" */
  const uint64_t future = clock_wall_ms() + 3600 * 1000;
  char before[ID_DISPATCH_LEN + 1];
  id_dispatch(&g, before, NULL);
  g.last_ms = future;
  id_dispatch(&g, first, &ms1);
  id_dispatch(&g, second, &ms2);
  /* time never goes backwards within a generator, so order holds */
  assert_true(ms1 == future);
  assert_true(ms2 == future);
  assert_true(b32_decode(first, 10) == future);
  assert_true(strcmp(before, first) < 0);
  assert_true(strcmp(first, second) < 0);
}

static void test_instance_ids(void **state) {
  (void)state;
  regex_t re;
  assert_int_equal(regcomp(&re, "^pkg@[A-Za-z0-9_-]{8}$", REG_EXTENDED | REG_NOSUB), 0);
  enum { N = 2000 };
  static char ids[N][AL_INSTANCE_ID_MAX];
  bool seen[256] = {false};
  for (int i = 0; i < N; i++) {
    assert_int_equal(id_instance("pkg", ids[i], sizeof ids[i]), 0);
    if (regexec(&re, ids[i], 0, NULL, 0) != 0) print_error("bad instance id '%s'\n", ids[i]);
    assert_int_equal(regexec(&re, ids[i], 0, NULL, 0), 0);
    for (int k = 4; k < 12; k++) seen[(unsigned char)ids[i][k]] = true;
  }
  regfree(&re);
  /* all 64 characters occur (16000 random draws), '-' and '_' included */
  int distinct = 0;
  for (int c = 0; c < 256; c++) distinct += seen[c];
  assert_int_equal(distinct, 64);
  assert_true(seen['-'] && seen['_']);
  /* no two alike (48 random bits each) */
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j < N; j++) assert_true(strcmp(ids[i], ids[j]) != 0);

  /* other package ids keep their text */
  char out[AL_INSTANCE_ID_MAX];
  assert_int_equal(id_instance("counter", out, sizeof out), 0);
  assert_int_equal(strlen(out), strlen("counter@") + 8);
  assert_memory_equal(out, "counter@", 8);
}

static void test_instance_id_refusal(void **state) {
  (void)state;
  char out[32];
  /* "pkg@" + 8 + NUL needs exactly 13 bytes */
  assert_int_equal(id_instance("pkg", out, 13), 0);
  assert_int_equal(strlen(out), 12);
  memset(out, '#', sizeof out);
  assert_int_equal(id_instance("pkg", out, 12), AL_EINVALID_ARGUMENT);
  assert_int_equal(id_instance("pkg", out, 0), AL_EINVALID_ARGUMENT);
  for (size_t i = 0; i < sizeof out; i++) assert_int_equal(out[i], '#'); /* untouched */

  /* the largest package id that fits AL_INSTANCE_ID_MAX */
  char pkg[AL_INSTANCE_ID_MAX + 1];
  char id[AL_INSTANCE_ID_MAX];
  memset(pkg, 'p', sizeof pkg);
  pkg[AL_INSTANCE_ID_MAX - 10] = '\0';
  assert_int_equal(id_instance(pkg, id, sizeof id), 0);
  assert_int_equal(strlen(id), AL_INSTANCE_ID_MAX - 1);
  pkg[AL_INSTANCE_ID_MAX - 10] = 'p';
  pkg[AL_INSTANCE_ID_MAX - 9] = '\0';
  assert_int_equal(id_instance(pkg, id, sizeof id), AL_EINVALID_ARGUMENT);
}

static void test_random(void **state) {
  (void)state;
  unsigned char a[32], b[32];
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  id_random(a, sizeof a);
  id_random(b, sizeof b);
  assert_true(memcmp(a, b, sizeof a) != 0);
  id_random(a, 0); /* harmless */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dispatch_ids_million),
      cmocka_unit_test(test_dispatch_ids_two_generators),
      cmocka_unit_test(test_dispatch_ids_clock_backwards),
      cmocka_unit_test(test_instance_ids),
      cmocka_unit_test(test_instance_id_refusal),
      cmocka_unit_test(test_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

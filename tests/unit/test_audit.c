/*
 * test_audit.c: the audit ring buffer (default 1000, newest first), its JSON Lines file
 * written from several threads at once, and reading the file back newest first with a
 * bound, past torn and foreign lines.
 */
#define _XOPEN_SOURCE 700 /* mkstemp */
#include "helpers.h"

#include <pthread.h>
#include <regex.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/audit.h"

static bool ts_ok(const char *ts) {
  regex_t re;
  assert_int_equal(regcomp(&re,
                           "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
                           REG_EXTENDED | REG_NOSUB), 0);
  bool ok = regexec(&re, ts, 0, NULL, 0) == 0;
  regfree(&re);
  return ok;
}

static const char *field(const json_t *arr, size_t i, const char *key) {
  return json_string_value(json_object_get(json_array_get(arr, i), key));
}

static void test_ring_default_capacity(void **state) {
  (void)state;
  hk_audit *a = NULL;
  assert_int_equal(hk_audit_new(0, NULL, &a, NULL), 0);
  char res[32];
  for (int i = 0; i < 1500; i++) {
    snprintf(res, sizeof res, "r%d", i);
    hk_audit_record(a, "p", "kv", res, "allowed", "Allowed by plugin allow list");
  }
  json_t *all = hk_audit_recent(a, 0);
  assert_int_equal(json_array_size(all), HK_AUDIT_DEFAULT_CAPACITY);
  assert_string_equal(field(all, 0, "resource"), "r1499");
  assert_string_equal(field(all, 999, "resource"), "r500");
  json_t *rec = json_array_get(all, 0);
  assert_int_equal(json_object_size(rec), 6);
  assert_true(ts_ok(field(all, 0, "timestamp")));
  assert_string_equal(field(all, 0, "plugin_id"), "p");
  assert_string_equal(field(all, 0, "action"), "kv");
  assert_string_equal(field(all, 0, "decision"), "allowed");
  assert_string_equal(field(all, 0, "reason"), "Allowed by plugin allow list");
  json_decref(all);
  json_t *three = hk_audit_recent(a, 3);
  assert_int_equal(json_array_size(three), 3);
  assert_string_equal(field(three, 2, "resource"), "r1497");
  json_decref(three);
  hk_audit_stats st;
  hk_audit_stats_get(a, &st);
  assert_int_equal(st.recorded, 1500);
  assert_int_equal(st.file_errors, 0);
  hk_audit_free(a);
  hk_audit_free(NULL);
  hk_audit_record(NULL, "p", "a", "r", "d", "x"); /* harmless */
  json_t *none = hk_audit_recent(NULL, 5);
  assert_int_equal(json_array_size(none), 0);
  json_decref(none);
}

static void test_fields_bounded_and_utf8(void **state) {
  (void)state;
  hk_audit *a = NULL;
  assert_int_equal(hk_audit_new(4, NULL, &a, NULL), 0);
  char *big = malloc(10001);
  assert_non_null(big);
  memset(big, 'x', 10000);
  big[10000] = '\0';
  hk_audit_record(a, NULL, "network", big, "denied", NULL);
  hk_audit_record(a, "p", "fs_read", "/tmp/\xff\xfe-\xc3\xa9", "denied", "r");
  json_t *r = hk_audit_recent(a, 0);
  assert_int_equal(json_array_size(r), 2);
  json_decref(r);
  /* credentials in a network URL are not recorded; other actions are left alone */
  hk_audit_record(a, "p", "network", "https://user:pw@a@b.example/x?u=v@w", "denied", "r");
  hk_audit_record(a, "p", "network", "https://b.example/x?u=v@w", "denied", "r");
  hk_audit_record(a, "p", "kv", "https://user:pw@b.example/", "denied", "r");
  r = hk_audit_recent(a, 3);
  assert_string_equal(field(r, 2, "resource"), "https://***@b.example/x?u=v@w");
  assert_string_equal(field(r, 1, "resource"), "https://b.example/x?u=v@w");
  assert_string_equal(field(r, 0, "resource"), "https://user:pw@b.example/");
  json_decref(r);
  /* (not "denied": the same denials again would be collapsed, see below) */
  hk_audit_record(a, NULL, "network", big, "error", NULL);
  hk_audit_record(a, "p", "fs_read", "/tmp/\xff\xfe-\xc3\xa9", "error", "r");
  r = hk_audit_recent(a, 2);
  assert_string_equal(field(r, 0, "resource"), "/tmp/\xef\xbf\xbd\xef\xbf\xbd-\xc3\xa9");
  assert_int_equal(strlen(field(r, 1, "resource")), 4096);
  assert_string_equal(field(r, 1, "plugin_id"), "");
  assert_string_equal(field(r, 1, "reason"), "");
  json_decref(r);
  free(big);
  hk_audit_free(a);
}

typedef struct writer {
  hk_audit *a;
  int id;
} writer;

static void *write_many(void *arg) {
  writer *w = arg;
  char res[32], plugin[16];
  snprintf(plugin, sizeof plugin, "t%d", w->id);
  for (int i = 0; i < 500; i++) {
    snprintf(res, sizeof res, "%d", i);
    hk_audit_record(w->a, plugin, "kv", res, "denied", "Denied by default");
  }
  return NULL;
}

static void temp_path(char *buf, size_t cap) {
  snprintf(buf, cap, "/tmp/al_audit_%ld_XXXXXX", (long)getpid());
  int fd = mkstemp(buf);
  assert_true(fd >= 0);
  close(fd);
  unlink(buf);
}

static void test_threads_and_file(void **state) {
  (void)state;
  char path[64];
  temp_path(path, sizeof path);
  hk_audit *a = NULL;
  assert_int_equal(hk_audit_new(100, path, &a, NULL), 0);
  pthread_t th[4];
  writer w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (writer){a, i};
    assert_int_equal(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  hk_audit_stats st;
  hk_audit_stats_get(a, &st);
  assert_int_equal(st.recorded, 2000);
  json_t *ring = hk_audit_recent(a, 0);
  assert_int_equal(json_array_size(ring), 100);
  json_decref(ring);
  hk_audit_free(a);

  /* every line in the file is a whole record, and each thread's 500 are in order */
  json_t *all = NULL;
  size_t skipped = 99;
  assert_int_equal(hk_audit_read_file(path, 0, &all, &skipped, NULL), 0);
  assert_int_equal(skipped, 0);
  assert_int_equal(json_array_size(all), 2000);
  int next[4] = {499, 499, 499, 499}, out_of_order = 0; /* newest first: counting down */
  for (size_t i = 0; i < 2000; i++) {
    int t = field(all, i, "plugin_id")[1] - '0';
    if (atoi(field(all, i, "resource")) != next[t]) out_of_order++;
    next[t]--;
  }
  assert_int_equal(out_of_order, 0);
  json_decref(all);

  /* a torn last line (a crash mid-write) and a foreign line are skipped */
  FILE *f = fopen(path, "a");
  assert_non_null(f);
  fputs("{\"not\":\"a record\"}\n{\"timestamp\":\"2026-01-01T00:00:00.000000Z\",\"plu", f);
  fclose(f);
  json_t *five = NULL;
  assert_int_equal(hk_audit_read_file(path, 5, &five, &skipped, NULL), 0);
  assert_int_equal(json_array_size(five), 5);
  assert_int_equal(skipped, 2);
  assert_string_equal(field(five, 0, "resource"), "499");
  json_decref(five);
  unlink(path);
}

/* The newest N from a file larger than the first tail chunk. */
static void test_read_file_tail(void **state) {
  (void)state;
  char path[64];
  temp_path(path, sizeof path);
  hk_audit *a = NULL;
  assert_int_equal(hk_audit_new(10, path, &a, NULL), 0);
  char res[64];
  for (int i = 0; i < 5000; i++) {
    snprintf(res, sizeof res, "https://example.com/item/%d", i);
    hk_audit_record(a, "p", "network", res, "allowed", "Allowed by default");
  }
  hk_audit_free(a);
  for (size_t n = 1; n <= 4000; n *= 4) {
    json_t *out = NULL;
    assert_int_equal(hk_audit_read_file(path, n, &out, NULL, NULL), 0);
    assert_int_equal(json_array_size(out), n);
    snprintf(res, sizeof res, "https://example.com/item/%d", 4999);
    assert_string_equal(field(out, 0, "resource"), res);
    snprintf(res, sizeof res, "https://example.com/item/%d", (int)(5000 - n));
    assert_string_equal(field(out, n - 1, "resource"), res);
    json_decref(out);
  }
  json_t *out = NULL;
  assert_int_equal(hk_audit_read_file(path, 9999, &out, NULL, NULL), 0);
  assert_int_equal(json_array_size(out), 5000);
  json_decref(out);
  unlink(path);

  /* missing file: empty; unopenable path: IO error naming it */
  assert_int_equal(hk_audit_read_file(path, 5, &out, NULL, NULL), 0);
  assert_int_equal(json_array_size(out), 0);
  json_decref(out);
  al_error err;
  assert_int_equal(hk_audit_new(0, "/nonexistent-dir/audit.jsonl", &a, &err), AL_EIO);
  assert_null(a);
  assert_non_null(strstr(err.message, "/nonexistent-dir/audit.jsonl"));
  assert_int_equal(hk_audit_read_file("/", 5, &out, NULL, &err), AL_EIO);
  assert_null(out);
}

static void test_parse_text(void **state) {
  (void)state;
  const char *text =
      "{\"timestamp\":\"t1\",\"plugin_id\":\"a\",\"action\":\"kv\",\"resource\":\"\","
      "\"decision\":\"allowed\",\"reason\":\"x\",\"extra\":1}\r\n"
      "\n"
      "[1,2]\n"
      "{\"timestamp\":\"t2\",\"plugin_id\":\"b\",\"action\":\"kv\",\"resource\":\"\","
      "\"decision\":\"denied\",\"reason\":\"y\"}";
  json_t *out = NULL;
  size_t skipped = 0;
  assert_int_equal(hk_audit_parse(text, strlen(text), 0, &out, &skipped, NULL), 0);
  assert_true(tj_is(out, "[{'timestamp':'t2','plugin_id':'b','action':'kv','resource':'',"
                         "'decision':'denied','reason':'y'},"
                         "{'timestamp':'t1','plugin_id':'a','action':'kv','resource':'',"
                         "'decision':'allowed','reason':'x'}]"));
  assert_int_equal(skipped, 1);
  json_decref(out);
}

/* Repeated identical denials are collapsed into the first record and one that counts
 * the rest (a plugin once wrote 61 MiB of audit in one emit by asking in a loop); other
 * denials, and allowed decisions, are each recorded. */
static void test_repeated_denials_collapse(void **state) {
  (void)state;
  char path[64];
  temp_path(path, sizeof path);
  hk_audit *a = NULL;
  assert_int_equal(hk_audit_new(100, path, &a, NULL), 0);
  char big[5000];
  memset(big, 'r', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for (int i = 0; i < 10000; i++) {
    hk_audit_record(a, "flood", "fs_read", big, "denied", "Denied by default");
    if (i % 1000 == 0) hk_audit_record(a, "flood", "fs_read", "/other", "denied", "Denied by default");
    if (i % 2500 == 0) hk_audit_record(a, "ok", "kv", "k", "allowed", "Allowed by plugin allow list");
  }
  json_t *ring = hk_audit_recent(a, 0);
  /* one /other denial, collapsed too; four allowed; one big denial, its count not yet due */
  assert_int_equal(json_array_size(ring), 1 + 1 + 4);
  json_decref(ring);
  hk_audit_stats st;
  hk_audit_stats_get(a, &st);
  assert_int_equal(st.recorded, 10000 + 10 + 4);
  assert_int_equal(st.collapsed, 9999 + 9);
  hk_audit_free(a); /* closes the open windows: their counts are written */
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_true(sb.st_size < 64 * 1024); /* not 10,000 x 4 KiB */
  json_t *all = NULL;
  assert_int_equal(hk_audit_read_file(path, 0, &all, NULL, NULL), 0);
  assert_int_equal(json_array_size(all), 2 + 2 + 4);
  int sums = 0;
  size_t i;
  json_t *r;
  json_array_foreach(all, i, r) {
    const char *why = json_string_value(json_object_get(r, "reason"));
    if (strstr(why, "(and 9999 more identical denials within 10 s)")) {
      assert_int_equal(strlen(json_string_value(json_object_get(r, "resource"))), 4096);
      sums++;
    }
    if (strstr(why, "(and 9 more identical denials within 10 s)")) {
      assert_string_equal(json_string_value(json_object_get(r, "resource")), "/other");
      sums++;
    }
    assert_int_equal(json_object_size(r), 6);
  }
  assert_int_equal(sums, 2);
  json_decref(all);
  unlink(path);
}

/* hk_audit_since: records numbered as they enter the ring; the text is the records'
 * own, newest first, equal to what hk_audit_recent parses out of the ring. */
static void test_since_cursor(void **state) {
  (void)state;
  hk_audit *a = NULL;
  assert_int_equal(hk_audit_new(4, NULL, &a, NULL), 0);
  uint64_t last = 99;
  char *t = hk_audit_since(a, 0, 0, &last);
  assert_string_equal(t, "[]");
  assert_int_equal(last, 0);
  free(t);
  for (int i = 1; i <= 6; i++) {
    char res[16];
    snprintf(res, sizeof res, "k%d", i);
    hk_audit_record(a, "p", "kv", res, "allowed", "ok");
  }
  static const struct {
    uint64_t after;
    size_t n, want; /* records back */
    const char *newest, *oldest;
  } cases[] = {{0, 0, 4, "k6", "k3"}, {4, 0, 2, "k6", "k5"}, {5, 0, 1, "k6", "k6"},
               {6, 0, 0, NULL, NULL}, {0, 2, 2, "k6", "k5"}, {50, 0, 0, NULL, NULL}};
  json_t *all = hk_audit_recent(a, 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    t = hk_audit_since(a, cases[i].after, cases[i].n, &last);
    assert_int_equal(last, 6);
    json_t *got = json_loads(t, 0, NULL);
    assert_non_null(got);
    assert_int_equal(json_array_size(got), cases[i].want);
    for (size_t k = 0; k < cases[i].want; k++) /* the same records, in the same order */
      assert_true(json_equal(json_array_get(got, k), json_array_get(all, k)));
    if (cases[i].want) {
      assert_string_equal(json_string_value(json_object_get(json_array_get(got, 0), "resource")), cases[i].newest);
      assert_string_equal(json_string_value(json_object_get(json_array_get(got, cases[i].want - 1), "resource")),
                          cases[i].oldest);
    }
    json_decref(got);
    free(t);
  }
  json_decref(all);
  hk_audit_free(a);
  t = hk_audit_since(NULL, 0, 0, &last);
  assert_string_equal(t, "[]");
  free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ring_default_capacity),
      cmocka_unit_test(test_fields_bounded_and_utf8),
      cmocka_unit_test(test_threads_and_file),
      cmocka_unit_test(test_read_file_tail),
      cmocka_unit_test(test_parse_text),
      cmocka_unit_test(test_repeated_denials_collapse),
      cmocka_unit_test(test_since_cursor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_signature.c: npm registry signatures (signature.h) against key pairs made here with
 * libcrypto: a good signature, each way one fails (wrong key, other message, unknown key
 * id, expired key, no publish time, a key that is not P-256 or not ECDSA), the choice
 * among several signatures, and the helpers: ISO times, base64, requirement names.
 * Publisher signatures need ssh-keygen and are covered end to end by cli_plugin.
 */
#define _GNU_SOURCE /* asprintf */
#include "helpers.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/sha512.h"
#include "pkg/signature.h"

#define INTEG "sha512-kBAuxBQJlJ85LDc+SnGSX6gWJnJR9Qk4lbgXmz/qPfCOCieCk7BgoN3YvzoNr5BUjqxQDOQxawJJvXXd6c+6Mg=="
#define MSG "hello@1.0.0:" INTEG

typedef struct key {
  EVP_PKEY *pk;
  char pub[256]; /* base64 DER SubjectPublicKeyInfo */
} key;

static void key_make(key *k, const char *curve) {
  k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
  assert_non_null(k->pk);
  unsigned char *der = NULL;
  int n = i2d_PUBKEY(k->pk, &der);
  assert_true(n > 0);
  assert_true(sha512_base64(der, (size_t)n, k->pub, sizeof k->pub) > 0);
  OPENSSL_free(der);
}

/* base64 DER ECDSA signature of msg (SHA-256), into out */
static void key_sign(const key *k, const char *msg, char *out, size_t cap) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char sig[160];
  size_t n = sizeof sig;
  assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pk), 1);
  assert_int_equal(EVP_DigestSign(md, sig, &n, (const unsigned char *)msg, strlen(msg)), 1);
  EVP_MD_CTX_free(md);
  assert_true(sha512_base64(sig, n, out, cap) > 0);
}

typedef struct fixture {
  key k1, k2, k384;
  char keys[4096];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  key_make(&f->k1, "P-256");
  key_make(&f->k2, "P-256");
  key_make(&f->k384, "P-384");
  snprintf(f->keys, sizeof f->keys,
           "{\"keys\":[{\"expires\":null,\"keyid\":\"SHA256:k1\",\"keytype\":\"ecdsa-sha2-nistp256\",\"scheme\":"
           "\"ecdsa-sha2-nistp256\",\"key\":\"%s\"},"
           "{\"expires\":\"2020-01-01T00:00:00.000Z\",\"keyid\":\"SHA256:old\",\"keytype\":\"ecdsa-sha2-nistp256\","
           "\"scheme\":\"ecdsa-sha2-nistp256\",\"key\":\"%s\"},"
           "{\"expires\":\"2030-01-01T00:00:00.000Z\",\"keyid\":\"SHA256:later\",\"keytype\":\"ecdsa-sha2-nistp256\","
           "\"scheme\":\"ecdsa-sha2-nistp256\",\"key\":\"%s\"},"
           "{\"expires\":null,\"keyid\":\"SHA256:p384\",\"keytype\":\"ecdsa-sha2-nistp256\",\"scheme\":"
           "\"ecdsa-sha2-nistp256\",\"key\":\"%s\"},"
           "{\"expires\":null,\"keyid\":\"SHA256:rsa\",\"keytype\":\"rsa\",\"scheme\":\"rsa\",\"key\":\"%s\"}]}",
           f->k1.pub, f->k2.pub, f->k2.pub, f->k384.pub, f->k1.pub);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  EVP_PKEY_free(f->k1.pk);
  EVP_PKEY_free(f->k2.pk);
  EVP_PKEY_free(f->k384.pk);
  free(f);
  return 0;
}

/* npm view's output with one or two signatures (keyid2 NULL: one) */
static char *view(const char *keyid, const char *sig, const char *keyid2, const char *sig2, const char *published) {
  char *out = NULL;
  char second[600] = "";
  if (keyid2) snprintf(second, sizeof second, ",{\"keyid\":\"%s\",\"sig\":\"%s\"}", keyid2, sig2);
  int n = asprintf(&out, "{\"dist\":{\"integrity\":\"" INTEG "\",\"signatures\":[{\"keyid\":\"%s\",\"sig\":\"%s\"}%s]},"
                         "\"time\":{\"created\":\"2020-01-01T00:00:00Z\"%s%s%s}}",
                   keyid, sig, second, published ? ",\"1.0.0\":\"" : "", published ? published : "", published ? "\"" : "");
  assert_true(n > 0);
  return out;
}

/* the outcome of checking v (freed) against the fixture's keys; status and problem compared */
static void check(const fixture *f, char *v, const char *status, const char *problem, const char *keyid) {
  json_t *o = pkg_sig_registry_check(f->keys, strlen(f->keys), NULL, v, strlen(v), "hello", "1.0.0", INTEG);
  assert_non_null(o);
  const char *st = json_string_value(json_object_get(o, "status"));
  const char *pb = json_string_value(json_object_get(o, "problem"));
  if (strcmp(st, status) || (problem && (!pb || strcmp(pb, problem))))
    print_error("got %s/%s (%s), want %s/%s\n", st, pb ? pb : "-", json_string_value(json_object_get(o, "reason")), status,
                problem ? problem : "-");
  assert_string_equal(st, status);
  if (problem) assert_string_equal(pb, problem);
  if (keyid) assert_string_equal(json_string_value(json_object_get(o, "keyid")), keyid);
  json_decref(o);
  free(v);
}

static void test_registry(void **state) {
  fixture *f = *state;
  char good[200], by_k2[200], other[200];
  key_sign(&f->k1, MSG, good, sizeof good);
  key_sign(&f->k2, MSG, by_k2, sizeof by_k2);
  key_sign(&f->k1, "hello@1.0.1:" INTEG, other, sizeof other);
  const char *t = "2024-12-13T09:43:47.367Z";
  check(f, view("SHA256:k1", good, NULL, NULL, t), "verified", NULL, "SHA256:k1");
  check(f, view("SHA256:k1", by_k2, NULL, NULL, t), "failed", "bad-signature", "SHA256:k1");
  check(f, view("SHA256:k1", other, NULL, NULL, t), "failed", "bad-signature", NULL);
  check(f, view("SHA256:k1", "!!notbase64", NULL, NULL, t), "failed", "bad-signature", NULL);
  check(f, view("SHA256:nope", good, NULL, NULL, t), "failed", "unknown-key", "SHA256:nope");
  /* k2 is listed as "old", expired 2020: not trusted for a 2024 version, fine for 2019 */
  check(f, view("SHA256:old", by_k2, NULL, NULL, t), "failed", "expired-key", NULL);
  check(f, view("SHA256:old", by_k2, NULL, NULL, "2019-06-01T00:00:00.000+02:00"), "verified", NULL, NULL);
  check(f, view("SHA256:later", by_k2, NULL, NULL, t), "verified", NULL, "SHA256:later");
  /* an expiring key with no publish time to hold it against */
  check(f, view("SHA256:later", by_k2, NULL, NULL, NULL), "failed", "expired-key", NULL);
  check(f, view("SHA256:k1", good, NULL, NULL, NULL), "verified", NULL, NULL); /* k1 never expires */
  /* a P-384 key under the P-256 name, and a key the document says is not ECDSA */
  check(f, view("SHA256:p384", good, NULL, NULL, t), "failed", "unsupported-key", NULL);
  check(f, view("SHA256:rsa", good, NULL, NULL, t), "failed", "unsupported-key", NULL);
  /* several: one that verifies suffices; otherwise the most telling failure */
  check(f, view("SHA256:nope", good, "SHA256:k1", good, t), "verified", NULL, "SHA256:k1");
  check(f, view("SHA256:nope", good, "SHA256:k1", by_k2, t), "failed", "bad-signature", "SHA256:k1");
  check(f, view("SHA256:k1", by_k2, "SHA256:nope", good, t), "failed", "bad-signature", "SHA256:k1");
}

static void test_registry_documents(void **state) {
  fixture *f = *state;
  char good[200];
  key_sign(&f->k1, MSG, good, sizeof good);
  static const char none[] = "{\"dist\":{\"integrity\":\"" INTEG "\"},\"time\":{}}";
  static const char empty[] = "npm warn x\n{\"dist\":{\"signatures\":[]}}";
  static const char one[] = "[{\"dist\":{}}]";
  for (int i = 0; i < 3; i++) {
    const char *v = i == 0 ? none : i == 1 ? empty : one;
    assert_false(pkg_sig_registry_offered(v, strlen(v)));
    json_t *o = pkg_sig_registry_check(NULL, 0, NULL, v, strlen(v), "hello", "1.0.0", INTEG);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "none");
    assert_string_equal(json_string_value(json_object_get(o, "reason")), "none offered");
    json_decref(o);
  }
  static const char *const unreadable[] = {"", "npm ERR!", "[1,2]", "{\"dist\":{\"signatures\":{}}}",
                                           "{\"dist\":{\"signatures\":[{\"keyid\":1}]}}", "\"x\""};
  for (size_t i = 0; i < sizeof unreadable / sizeof *unreadable; i++) {
    json_t *o = pkg_sig_registry_check(f->keys, strlen(f->keys), NULL, unreadable[i], strlen(unreadable[i]), "hello",
                                       "1.0.0", INTEG);
    assert_string_equal(json_string_value(json_object_get(o, "problem")), "unreadable");
    json_decref(o);
  }
  char *v = view("SHA256:k1", good, NULL, NULL, NULL);
  assert_true(pkg_sig_registry_offered(v, strlen(v)));
  /* no keys: the reason given is kept */
  json_t *o = pkg_sig_registry_check(NULL, 0, "GET x answered 404", v, strlen(v), "hello", "1.0.0", INTEG);
  assert_string_equal(json_string_value(json_object_get(o, "problem")), "no-keys");
  assert_non_null(strstr(json_string_value(json_object_get(o, "reason")), "answered 404"));
  json_decref(o);
  o = pkg_sig_registry_check("{\"keys\":{}}", 11, NULL, v, strlen(v), "hello", "1.0.0", INTEG);
  assert_string_equal(json_string_value(json_object_get(o, "problem")), "no-keys");
  json_decref(o);
  /* the tarball's own integrity is what is signed: another one fails and says so */
  o = pkg_sig_registry_check(f->keys, strlen(f->keys), NULL, v, strlen(v), "hello", "1.0.0", "sha512-other");
  assert_string_equal(json_string_value(json_object_get(o, "problem")), "bad-signature");
  assert_non_null(strstr(json_string_value(json_object_get(o, "reason")), "is not the tarball's"));
  json_decref(o);
  free(v);
}

static void test_time(void **state) {
  (void)state;
  int64_t ms = 0;
  assert_true(pkg_sig_parse_time("1970-01-01T00:00:00Z", &ms));
  assert_int_equal(ms, 0);
  assert_true(pkg_sig_parse_time("2024-12-13T09:43:47.367Z", &ms));
  assert_int_equal(ms, 1734083027367LL);
  assert_true(pkg_sig_parse_time("2024-12-13T09:43:47.367000+00:00", &ms));
  assert_int_equal(ms, 1734083027367LL);
  assert_true(pkg_sig_parse_time("2024-12-13T10:43:47.3+01:00", &ms));
  assert_int_equal(ms, 1734083027300LL);
  static const char *const bad[] = {"", "2024-12-13", "2024-12-13T09:43:47", "2024-13-01T00:00:00Z",
                                    "2024-12-13T09:43:47.Z", "2024-12-13T09:43:47Zx", "2024-12-13 09:43:47Z",
                                    "2024-12-13T09:43:47+0100", "+2024-12-13T09:43:47Z", "2024-12-13T24:00:00Z"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (pkg_sig_parse_time(bad[i], &ms)) print_error("accepted '%s'\n", bad[i]);
    assert_false(pkg_sig_parse_time(bad[i], &ms));
  }
  assert_false(pkg_sig_parse_time(NULL, &ms));
}

static void test_base64(void **state) {
  (void)state;
  unsigned char *out = NULL;
  size_t n = 0;
  assert_int_equal(sha512_base64_decode("aGk=", 4, &out, &n), 0);
  assert_int_equal(n, 2);
  assert_memory_equal(out, "hi", 2);
  free(out);
  assert_int_equal(sha512_base64_decode("aGV5", 4, &out, &n), 0);
  assert_int_equal(n, 3);
  free(out);
  assert_int_equal(sha512_base64_decode("", 0, &out, &n), 0);
  assert_int_equal(n, 0);
  free(out);
  static const char *const bad[] = {"aGk", "aG=k", "a===", " aGk=", "aGk=\n", "aG-k", "=aGk"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(sha512_base64_decode(bad[i], strlen(bad[i]), &out, &n), -1);
    assert_null(out);
  }
}

static void test_require(void **state) {
  (void)state;
  unsigned m = 0;
  al_error err;
  char buf[64];
  assert_int_equal(pkg_sig_require_parse("none", "x", &m, &err), 0);
  assert_string_equal(pkg_sig_require_name(m, buf, sizeof buf), "none");
  assert_int_equal(pkg_sig_require_parse("publisher", "x", &m, &err), 0);
  assert_int_equal(pkg_sig_require_parse("registry", "x", &m, &err), 0);
  assert_int_equal(pkg_sig_require_parse("none", "x", &m, &err), 0); /* never lifts */
  assert_string_equal(pkg_sig_require_name(m, buf, sizeof buf), "registry+publisher");
  assert_int_equal(pkg_sig_require_parse("Registry", "--require-signature", &m, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "--require-signature: 'Registry' is not a signature requirement"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_documents, setup, teardown),
      cmocka_unit_test(test_time),
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_require),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

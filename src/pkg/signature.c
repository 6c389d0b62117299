/*
 * signature.c: registry and publisher signatures (signature.h).
 *
 * Registry: both documents are parsed with jansson and every field is type-checked before
 * use; nothing in them is trusted for more than the check it feeds. The message signed is
 * rebuilt from the integrity Airlock itself verified against the tarball's bytes, never
 * from the packument's copy, so a packument that names other bytes than the ones we
 * hold cannot make its signature count for ours. Among several signatures one that
 * verifies with a trusted key suffices (the registry may sign with an old and a new key
 * during a rotation); when none does, the most telling failure is reported (a signature
 * that does not verify says more than an unknown key id). Keys must be ECDSA on P-256 in
 * both the document's words (keytype, scheme) and the DER key itself, so a document
 * cannot swap in a weaker algorithm. The crypto is libcrypto's EVP (d2i_PUBKEY,
 * EVP_DigestVerify), as for SHA-512.
 *
 * Publisher: ssh-keygen through pkg_run (install.h): an argument vector, no shell, the
 * tarball on stdin. Its exit status is the verdict; its stdout line
 * `Good "airlock-package" signature for ID with TYPE key SHA256:...` only supplies the
 * key type and fingerprint for the record. When verification fails, find-principals
 * tells a wrong identity (the key is allowed, for someone else) from a bad signature.
 */
#define _GNU_SOURCE
#include "pkg/signature.h"

#include <errno.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkg/install.h"
#include "pkg/sha512.h"

static const struct {
  const char *name;
  unsigned bit;
} sig_reqs[] = {{"registry", PKG_SIGREQ_REGISTRY}, {"publisher", PKG_SIGREQ_PUBLISHER}, {"any", PKG_SIGREQ_ANY}};

int pkg_sig_require_parse(const char *s, const char *from, unsigned *mask, al_error *err) {
  if (s && !strcmp(s, "none")) return 0;
  for (size_t i = 0; s && i < sizeof sig_reqs / sizeof sig_reqs[0]; i++)
    if (!strcmp(s, sig_reqs[i].name)) {
      *mask |= sig_reqs[i].bit;
      return 0;
    }
  return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: '%.100s' is not a signature requirement (none, registry, publisher or any)",
                 from, s ? s : "");
}

const char *pkg_sig_require_name(unsigned mask, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = 0;
  for (size_t i = 0; i < sizeof sig_reqs / sizeof sig_reqs[0]; i++)
    if (mask & sig_reqs[i].bit) n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? "+" : "", sig_reqs[i].name);
  if (!buf[0]) snprintf(buf, cap, "none");
  return buf;
}

bool pkg_sig_parse_time(const char *s, int64_t *ms) {
  if (!s) return false;
  int f[6] = {0};
  const char *p = s;
  static const char seps[] = "--T::";
  static const int widths[] = {4, 2, 2, 2, 2, 2};
  for (int i = 0; i < 6; i++) {
    for (int k = 0; k < widths[i]; k++, p++) {
      if (*p < '0' || *p > '9') return false;
      f[i] = f[i] * 10 + (*p - '0');
    }
    if (i < 5 && *p++ != seps[i]) return false;
  }
  int frac_ms = 0, digits = 0;
  if (*p == '.') {
    for (p++; *p >= '0' && *p <= '9'; p++, digits++)
      if (digits < 3) frac_ms = frac_ms * 10 + (*p - '0');
    if (!digits) return false;
    for (int d = digits; d < 3; d++) frac_ms *= 10;
  }
  int offset_min = 0;
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1, h = 0, m = 0;
    for (int k = 0; k < 2; k++, p++) {
      if (*p < '0' || *p > '9') return false;
      h = h * 10 + (*p - '0');
    }
    if (*p++ != ':') return false;
    for (int k = 0; k < 2; k++, p++) {
      if (*p < '0' || *p > '9') return false;
      m = m * 10 + (*p - '0');
    }
    if (h > 23 || m > 59) return false;
    offset_min = sign * (h * 60 + m);
  } else {
    return false;
  }
  if (*p || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60) return false;
  struct tm tm = {.tm_year = f[0] - 1900, .tm_mon = f[1] - 1, .tm_mday = f[2], .tm_hour = f[3], .tm_min = f[4], .tm_sec = f[5]};
  time_t t = timegm(&tm);
  if (t == (time_t)-1 && f[0] != 1969) return false;
  *ms = ((int64_t)t - (int64_t)offset_min * 60) * 1000 + frac_ms;
  return true;
}

/* npm view's document: an object, or (when a spec matched several versions) an array of
 * them, of which a lone one is accepted. npm writes nothing before it with --json; a
 * warning line before it is skipped all the same, as for npm pack. */
static json_t *sig_view_doc(const char *view, size_t len) {
  if (!view) return NULL;
  size_t i = 0;
  while (i < len && view[i] != '{' && view[i] != '[') i++;
  if (i == len) return NULL;
  json_t *doc = json_loadb(view + i, len - i, JSON_DISABLE_EOF_CHECK, NULL);
  if (json_is_array(doc) && json_array_size(doc) == 1 && json_is_object(json_array_get(doc, 0))) {
    json_t *one = json_incref(json_array_get(doc, 0));
    json_decref(doc);
    doc = one;
  }
  if (!json_is_object(doc)) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

bool pkg_sig_registry_offered(const char *view, size_t len) {
  json_t *doc = sig_view_doc(view, len);
  json_t *sigs = json_object_get(json_object_get(doc, "dist"), "signatures");
  bool offered = json_array_size(sigs) > 0;
  json_decref(doc);
  return offered;
}

/* A failed outcome; keyid may be NULL. */
static json_t *sig_failed(const char *problem, const char *keyid, const char *fmt, ...) AL_PRINTF(3, 4);
static json_t *sig_failed(const char *problem, const char *keyid, const char *fmt, ...) {
  char reason[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  json_t *o = json_pack("{s:s,s:s,s:s}", "status", "failed", "problem", problem, "reason", reason);
  if (o && keyid) json_object_set_new(o, "keyid", json_string(keyid));
  return o;
}

/* How telling a failure is; the highest among several signatures is reported. */
static int sig_rank(const char *problem) {
  static const char *const order[] = {"unknown-key", "unsupported-key", "expired-key", "bad-signature"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(problem, order[i])) return i + 1;
  return 0;
}

/* 1 when `sig_der` is a valid ECDSA P-256/SHA-256 signature of msg under the base64 DER
 * SubjectPublicKeyInfo `key_b64`; 0 when it is not; -1 when the key is not a P-256 key
 * (or not a key at all); -2 out of memory. */
static int sig_ecdsa_verify(const char *key_b64, const unsigned char *sig_der, size_t sig_len, const char *msg) {
  unsigned char *der = NULL;
  size_t der_len = 0;
  if (sha512_base64_decode(key_b64, strlen(key_b64), &der, &der_len) || der_len > LONG_MAX) {
    free(der);
    return -1;
  }
  const unsigned char *p = der;
  EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)der_len);
  bool whole = p == der + der_len; /* trailing bytes after the key: not a clean key */
  free(der);
  char group[64] = "";
  if (!pk || !whole || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) != 1 ||
      strcmp(group, "prime256v1")) {
    EVP_PKEY_free(pk);
    return -1;
  }
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int rc = -2;
  if (md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1)
    rc = EVP_DigestVerify(md, sig_der, sig_len, (const unsigned char *)msg, strlen(msg)) == 1 ? 1 : 0;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk);
  return rc;
}

/* The outcome of one {keyid, sig} entry against the keys array. */
static json_t *sig_check_one(const json_t *entry, const json_t *keys, const char *msg, const char *version,
                             bool have_time, int64_t published, const char *published_s) {
  const char *keyid = json_string_value(json_object_get(entry, "keyid"));
  const char *sig = json_string_value(json_object_get(entry, "sig"));
  if (!keyid || !sig) return sig_failed("unreadable", NULL, "a dist.signatures entry lacks its keyid or sig string");
  const json_t *key = NULL, *k;
  size_t i;
  json_array_foreach(keys, i, k) {
    const char *id = json_string_value(json_object_get(k, "keyid"));
    if (id && !strcmp(id, keyid)) {
      key = k;
      break;
    }
  }
  if (!key) return sig_failed("unknown-key", keyid, "signed with key %.100s, which is not among the registry's keys", keyid);
  const char *type = json_string_value(json_object_get(key, "keytype"));
  const char *scheme = json_string_value(json_object_get(key, "scheme"));
  const char *key_b64 = json_string_value(json_object_get(key, "key"));
  if (!type || !scheme || !key_b64 || strcmp(type, "ecdsa-sha2-nistp256") || strcmp(scheme, "ecdsa-sha2-nistp256"))
    return sig_failed("unsupported-key", keyid, "key %.100s is not an ecdsa-sha2-nistp256 key", keyid);
  json_t *exp = json_object_get(key, "expires");
  if (exp && !json_is_null(exp)) {
    int64_t until;
    if (!pkg_sig_parse_time(json_string_value(exp), &until))
      return sig_failed("unsupported-key", keyid, "key %.100s has an unreadable expiry", keyid);
    if (!have_time)
      return sig_failed("expired-key", keyid, "key %.100s expires %.40s and the registry gave no publish time for %.64s, "
                        "so it cannot be trusted for it", keyid, json_string_value(exp), version);
    if (until < published)
      return sig_failed("expired-key", keyid, "key %.100s expired %.40s, before %.64s was published (%.40s)", keyid,
                        json_string_value(exp), version, published_s);
  }
  unsigned char *der = NULL;
  size_t der_len = 0;
  if (sha512_base64_decode(sig, strlen(sig), &der, &der_len))
    return sig_failed("bad-signature", keyid, "the signature by key %.100s is not base64", keyid);
  int v = sig_ecdsa_verify(key_b64, der, der_len, msg);
  free(der);
  if (v == 1) return json_pack("{s:s,s:s}", "status", "verified", "keyid", keyid);
  if (v == -2) return NULL;
  if (v == -1) return sig_failed("unsupported-key", keyid, "key %.100s is not a readable P-256 public key", keyid);
  return sig_failed("bad-signature", keyid, "bad signature: key %.100s did not sign %.500s", keyid, msg);
}

json_t *pkg_sig_registry_check(const char *keys, size_t keys_len, const char *keys_why, const char *view,
                               size_t view_len, const char *name, const char *version, const char *integrity) {
  json_t *doc = sig_view_doc(view, view_len), *kdoc = NULL, *out = NULL;
  if (!doc) return sig_failed("unreadable", NULL, "npm view printed no JSON object");
  json_t *dist = json_object_get(doc, "dist");
  json_t *sigs = json_object_get(dist, "signatures");
  if (!sigs || (json_is_array(sigs) && !json_array_size(sigs))) {
    out = json_pack("{s:s,s:s}", "status", "none", "reason", "none offered");
    goto done;
  }
  if (!json_is_array(sigs)) {
    out = sig_failed("unreadable", NULL, "dist.signatures is not an array");
    goto done;
  }
  if (!keys) {
    out = sig_failed("no-keys", NULL, "the registry's keys could not be obtained%s%.300s", keys_why ? ": " : "",
                     keys_why ? keys_why : "");
    goto done;
  }
  kdoc = json_loadb(keys, keys_len, 0, NULL);
  json_t *karr = json_object_get(kdoc, "keys");
  if (!json_is_array(karr)) {
    out = sig_failed("no-keys", NULL, "the registry keys document has no \"keys\" array");
    goto done;
  }
  const char *published_s = json_string_value(json_object_get(json_object_get(doc, "time"), version));
  int64_t published = 0;
  bool have_time = pkg_sig_parse_time(published_s, &published);
  char *msg = NULL;
  if (asprintf(&msg, "%s@%s:%s", name, version, integrity) < 0) goto done;
  size_t i;
  json_t *e;
  json_array_foreach(sigs, i, e) {
    json_t *one = sig_check_one(e, karr, msg, version, have_time, published, published_s);
    if (!one) break; /* out of memory */
    const char *st = json_string_value(json_object_get(one, "status"));
    const char *pb = json_string_value(json_object_get(one, "problem"));
    const char *opb = json_string_value(json_object_get(out, "problem"));
    if (!strcmp(st, "verified") || !out || sig_rank(pb ? pb : "") > sig_rank(opb ? opb : "")) {
      json_decref(out);
      out = one;
      if (!strcmp(st, "verified")) break;
    } else {
      json_decref(one);
    }
  }
  /* a packument naming other bytes is worth saying, whatever the signature did */
  const char *theirs = json_string_value(json_object_get(dist, "integrity"));
  const char *ost = json_string_value(json_object_get(out, "status"));
  if (out && ost && strcmp(ost, "verified") && theirs && strcmp(theirs, integrity)) {
    char reason[900];
    snprintf(reason, sizeof reason, "%s (the registry's dist.integrity %.100s is not the tarball's)",
             json_string_value(json_object_get(out, "reason")), theirs);
    json_object_set_new(out, "reason", json_string(reason));
  }
  free(msg);
done:
  json_decref(kdoc);
  json_decref(doc);
  return out;
}

/* The first line of s (a principal as find-principals prints it), first of a comma
 * list; malloc'd, NULL when there is none. */
static char *sig_first_principal(const char *s) {
  size_t n = strcspn(s, "\n,");
  return n ? strndup(s, n) : NULL;
}

int pkg_sig_publisher_check(const char *tarball, const char *sig, const char *signers, const char *identity,
                            const char *workdir, json_t **outcome, al_error *err) {
  *outcome = NULL;
  char sig_abs[PATH_MAX], signers_abs[PATH_MAX];
  /* ssh-keygen runs in workdir: the files are named by absolute paths */
  if (!realpath(sig, sig_abs)) return err_set(err, AL_EIO, NULL, "cannot read the signature file %.300s: %s", sig, strerror(errno));
  if (!realpath(signers, signers_abs))
    return err_set(err, AL_EIO, NULL, "cannot read the allowed signers file %.300s: %s", signers, strerror(errno));
  char last[300];
  char *out = NULL, *found = NULL;
  int status = 0, rc = 0;
  /* the principals whose allowed key made the signature (not a verification: the data
   * is not read), either to pick the identity or to explain a failure */
  char *find[] = {"ssh-keygen", "-Y", "find-principals", "-s", sig_abs, "-f", signers_abs, NULL};
  if ((rc = pkg_run(find, workdir, NULL, &out, &status, last, sizeof last, err))) return rc;
  if (status == 127) {
    free(out);
    return err_set(err, AL_EIO, NULL, "cannot run ssh-keygen (install openssh-client) to check the publisher signature");
  }
  if (!status) found = sig_first_principal(out);
  free(out);
  out = NULL;
  const char *id = identity ? identity : found;
  if (!id) {
    *outcome = sig_failed("bad-signature", NULL, "no key in %.200s made the signature %.200s%s%.200s", signers, sig,
                          last[0] ? ": " : "", last);
    goto done;
  }
  char *verify[] = {"ssh-keygen", "-Y", "verify", "-f", signers_abs, "-I", (char *)id, "-n", PKG_SIG_NAMESPACE, "-s", sig_abs, NULL};
  if ((rc = pkg_run(verify, workdir, tarball, &out, &status, last, sizeof last, err))) goto done;
  if (status == 0) {
    /* Good "airlock-package" signature for ID with TYPE key SHA256:... */
    const char *with = strstr(out, " with "), *key = with ? strstr(with, " key ") : NULL;
    char type[32] = "", fp[128] = "";
    if (with && key && key - with - 6 < (long)sizeof type) snprintf(type, sizeof type, "%.*s", (int)(key - with - 6), with + 6);
    if (key) snprintf(fp, sizeof fp, "%.*s", (int)strcspn(key + 5, " \n"), key + 5);
    *outcome = json_pack("{s:s,s:s,s:s,s:s}", "status", "verified", "identity", id, "fingerprint", fp, "keyType", type);
  } else if (identity && found && strcmp(found, identity)) {
    *outcome = sig_failed("wrong-identity", NULL, "wrong identity: the signature is by '%.200s', not by '%.200s'", found, identity);
    if (*outcome) json_object_set_new(*outcome, "identity", json_string(found));
  } else {
    *outcome = sig_failed("bad-signature", NULL, "bad signature: ssh-keygen could not verify %.200s for '%.200s' over the "
                          "tarball%s%.200s", sig, id, last[0] ? ": " : "", last);
  }
done:
  if (!rc && !*outcome) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  free(out);
  free(found);
  return rc;
}

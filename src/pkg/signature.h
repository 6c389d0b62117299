/*
 * signature.h: the signatures an install can verify on top of the tarball's integrity,
 * and the policy that can require them (docs/packages.md, "Signatures").
 *
 *   - npm's registry signature: the registry signs `${name}@${version}:${integrity}` with
 *     ECDSA P-256 over SHA-256 and lists {keyid, sig} in the packument's dist.signatures;
 *     its public keys come as the document `<registry>/-/npm/v1/keys`. This module only
 *     checks: the packument (`npm view NAME@VERSION dist time --json`) and the keys
 *     document are inputs (install.c runs npm; the caller supplies the keys), both
 *     untrusted text, parsed here and nowhere else (fuzz/fuzz_signature.c).
 *   - a publisher signature: an OpenSSH signature (`ssh-keygen -Y sign -n airlock-package`)
 *     over the tarball's bytes, checked by `ssh-keygen -Y verify` against an allowed
 *     signers file. ssh-keygen does the cryptography and the allowed-signers rules
 *     (namespaces, validity dates, cert authorities); we only run it and read its answer.
 *
 * Outcomes are JSON objects so that the record kept in the host database, the install
 * report and `airlock plugin info --json` are one and the same thing:
 *   {"status": "verified", "keyid": K}                        (registry)
 *   {"status": "verified", "identity": I, "fingerprint": F, "keyType": T}   (publisher)
 *   {"status": "none", "reason": R}                           nothing offered / given
 *   {"status": "failed", "problem": P, "reason": R, "keyid"?: K, "identity"?: I}
 * with P one of "bad-signature", "unknown-key", "expired-key", "unsupported-key",
 * "no-keys", "unreadable", "wrong-identity". R is a sentence for a person.
 *
 * Threading: every function is reentrant (publisher checks fork a child).
 */
#ifndef AL_PKG_SIGNATURE_H
#define AL_PKG_SIGNATURE_H

#include "common.h"

/* The namespace publishers sign in: a signature made for another purpose (git commits,
 * files) with the same key cannot be replayed as a package signature. */
#define PKG_SIG_NAMESPACE "airlock-package"

/* Requirements, a mask: each set bit must be met. "any" is met by either signature. */
enum {
  PKG_SIGREQ_REGISTRY = 1u,
  PKG_SIGREQ_PUBLISHER = 2u,
  PKG_SIGREQ_ANY = 4u,
};

/* Adds the requirement `s` ("none", "registry", "publisher", "any") to *mask ("none"
 * adds nothing: a requirement is never lifted by another source). `from` names where s
 * came from, for the message. 0 or AL_EINVALID_ARGUMENT. */
int pkg_sig_require_parse(const char *s, const char *from, unsigned *mask, al_error *err);
/* "none", "registry", "publisher", "any" or several joined by '+', into buf; returns buf. */
const char *pkg_sig_require_name(unsigned mask, char *buf, size_t cap);

/* True when npm view's output (`view`, `len` bytes, not NUL-terminated necessarily)
 * carries a non-empty dist.signatures array, i.e. keys are worth obtaining. */
bool pkg_sig_registry_offered(const char *view, size_t len);

/* Checks the registry signature of name@version whose tarball's verified integrity is
 * `integrity`, from npm view's output and the registry keys document (keys NULL: none
 * could be obtained; keys_why says why, may be NULL). A key whose `expires` is before
 * the version's publish time (time[version]) is not trusted for it, nor is one with an
 * expiry when the publish time is unknown. Returns a new outcome object (see above), or
 * NULL only when out of memory. */
json_t *pkg_sig_registry_check(const char *keys, size_t keys_len, const char *keys_why, const char *view,
                               size_t view_len, const char *name, const char *version, const char *integrity);

/* Verifies the publisher signature file `sig` over the file `tarball` with ssh-keygen
 * against the allowed signers file `signers`. identity NULL: the principal is the one
 * `ssh-keygen -Y find-principals` names for the signature's key. `workdir`: a writable
 * directory for ssh-keygen's stderr. 0 with *outcome (new reference) verified or failed;
 * AL_EIO when ssh-keygen cannot be run or a file cannot be read (nothing was checked). */
int pkg_sig_publisher_check(const char *tarball, const char *sig, const char *signers, const char *identity,
                            const char *workdir, json_t **outcome, al_error *err);

/* Parses an ISO 8601 UTC time as npm writes them ("2024-01-02T03:04:05.678Z", or with a
 * "+HH:MM" offset) into milliseconds since 1970. false when it is not one. */
bool pkg_sig_parse_time(const char *s, int64_t *ms);

#endif

/*
 * sha512.h: SHA-512 for npm tarball integrity ("sha512-<base64>"), computed by OpenSSL's
 * libcrypto (EVP) rather than by code of our own: a maintained, tested implementation is
 * the point. This header stays free of OpenSSL types so callers need not include it.
 *
 * Streaming use: sha512_init, any number of sha512_update, then sha512_final, which always
 * releases the context (call it even after a failed init, so nothing leaks). libcrypto
 * allocates its digest context, so init can fail; every later call then does nothing and
 * final reports the failure (-1) and zeroes `out`, which never matches a real digest.
 */
#ifndef AL_PKG_SHA512_H
#define AL_PKG_SHA512_H

#include <stddef.h>
#include <stdint.h>

#define SHA512_DIGEST_LEN 64

struct evp_md_ctx_st; /* OpenSSL's EVP_MD_CTX */

typedef struct sha512_ctx {
  struct evp_md_ctx_st *md; /* NULL before init, after final, or when init failed */
  int failed;               /* a libcrypto call failed; final returns -1 */
} sha512_ctx;

/* 0, or -1 when libcrypto could not allocate or set up the digest. */
int sha512_init(sha512_ctx *c);
void sha512_update(sha512_ctx *c, const void *data, size_t len);
/* 0 with the digest in `out`, or -1 (out zeroed) when any step failed. Frees the context. */
int sha512_final(sha512_ctx *c, unsigned char out[SHA512_DIGEST_LEN]);
/* One shot; 0 or -1 as sha512_final. */
int sha512(const void *data, size_t len, unsigned char out[SHA512_DIGEST_LEN]);
/* Standard base64 (with padding) of `len` bytes into `out` (cap >= 4*ceil(len/3)+1).
 * Returns the length written, or 0 when cap is too small. */
size_t sha512_base64(const unsigned char *in, size_t len, char *out, size_t cap);
/* The inverse, for the base64 that npm's registry signatures and keys are written in:
 * standard alphabet, padded, no whitespace. *out (malloc, free()) gets the bytes and
 * *out_len their count. 0, or -1 (nothing allocated) when `in` is not such base64 or
 * memory ran out. */
int sha512_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);

#endif

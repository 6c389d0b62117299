/*
 * sha512.h: SHA-512 (FIPS 180-4), here so that npm tarball integrity ("sha512-<base64>")
 * can be verified without adding OpenSSL as a dependency. Streaming interface; pure.
 */
#ifndef AL_PKG_SHA512_H
#define AL_PKG_SHA512_H

#include <stddef.h>
#include <stdint.h>

#define SHA512_DIGEST_LEN 64

typedef struct sha512_ctx {
  uint64_t h[8];
  uint64_t len_lo, len_hi; /* message length in bytes (128-bit) */
  unsigned char buf[128];
  size_t fill;
} sha512_ctx;

void sha512_init(sha512_ctx *c);
void sha512_update(sha512_ctx *c, const void *data, size_t len);
void sha512_final(sha512_ctx *c, unsigned char out[SHA512_DIGEST_LEN]);
/* One shot. */
void sha512(const void *data, size_t len, unsigned char out[SHA512_DIGEST_LEN]);
/* Standard base64 (with padding) of `len` bytes into `out` (cap >= 4*ceil(len/3)+1).
 * Returns the length written, or 0 when cap is too small. */
size_t sha512_base64(const unsigned char *in, size_t len, char *out, size_t cap);

#endif

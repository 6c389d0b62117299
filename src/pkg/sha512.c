/*
 * sha512.c: SHA-512 through OpenSSL's EVP interface (sha512.h).
 *
 * EVP rather than the low-level SHA512_Init family: those are deprecated in OpenSSL 3 and
 * would trip -Werror, and EVP is the interface OpenSSL keeps. The context is heap-allocated
 * by libcrypto (EVP_MD_CTX is opaque), so allocation can fail; the failure is remembered
 * in the context and reported by sha512_final rather than crashing or hashing nothing
 * silently. Base64 is EVP_EncodeBlock, which writes the standard padded alphabet that npm's
 * integrity strings use (and no line breaks, unlike the EVP_Encode* streaming calls);
 * EVP_DecodeBlock is its inverse, but it skips surrounding whitespace and counts padding
 * as zero bytes, so the decoder checks the alphabet and the padding itself first.
 */
#include "pkg/sha512.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int sha512_init(sha512_ctx *c) {
  c->failed = 0;
  c->md = EVP_MD_CTX_new();
  if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha512(), NULL) != 1) {
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
    c->failed = 1;
    return -1;
  }
  return 0;
}

void sha512_update(sha512_ctx *c, const void *data, size_t len) {
  if (c->failed || !c->md) {
    c->failed = 1;
    return;
  }
  if (len && EVP_DigestUpdate(c->md, data, len) != 1) c->failed = 1;
}

int sha512_final(sha512_ctx *c, unsigned char out[SHA512_DIGEST_LEN]) {
  unsigned int n = 0;
  int ok = !c->failed && c->md && EVP_DigestFinal_ex(c->md, out, &n) == 1 && n == SHA512_DIGEST_LEN;
  EVP_MD_CTX_free(c->md);
  c->md = NULL;
  c->failed = 0;
  if (!ok) {
    memset(out, 0, SHA512_DIGEST_LEN);
    return -1;
  }
  return 0;
}

int sha512(const void *data, size_t len, unsigned char out[SHA512_DIGEST_LEN]) {
  sha512_ctx c;
  sha512_init(&c); /* a failure is remembered in c and reported by final */
  sha512_update(&c, data, len);
  return sha512_final(&c, out);
}

size_t sha512_base64(const unsigned char *in, size_t len, char *out, size_t cap) {
  size_t need = (len + 2) / 3 * 4;
  if (cap < need + 1 || len > (size_t)INT_MAX / 4 * 3) return 0;
  /* EVP_EncodeBlock writes exactly `need` characters and a NUL */
  int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
  return n < 0 ? 0 : (size_t)n;
}

int sha512_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (!in || len % 4 || len > (size_t)INT_MAX) return -1;
  size_t pad = 0;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=' && i + 2 >= len && (i + 1 == len || in[i + 1] == '=')) pad++;
    else if (!ok || pad) return -1; /* '=' only at the end */
  }
  unsigned char *buf = malloc(len / 4 * 3 + 1);
  if (!buf) return -1;
  int n = len ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len) : 0;
  if (n < 0 || (size_t)n < pad) {
    free(buf);
    return -1;
  }
  *out = buf;
  *out_len = (size_t)n - pad;
  return 0;
}

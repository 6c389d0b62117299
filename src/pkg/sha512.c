/*
 * sha512.c: SHA-512 per FIPS 180-4 (sha512.h). The round constants are the first 64 bits
 * of the fractional parts of the cube roots of the first 80 primes, the initial hash those
 * of the square roots of the first 8; the unit test checks the FIPS example vectors and
 * multi-block streaming. Straightforward rather than fast: it hashes one tarball per
 * install.
 */
#include "pkg/sha512.h"

#include <string.h>

static const uint64_t sha_k[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

static const uint64_t sha_h0[8] = {
    0x6a09e667f3bcc908ULL,
    0xbb67ae8584caa73bULL,
    0x3c6ef372fe94f82bULL,
    0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL,
    0x9b05688c2b3e6c1fULL,
    0x1f83d9abfb41bd6bULL,
    0x5be0cd19137e2179ULL
};

static uint64_t sha_rotr(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

static void sha_block(sha512_ctx *c, const unsigned char *p) {
  uint64_t w[80];
  for (int i = 0; i < 16; i++) {
    uint64_t v = 0;
    for (int k = 0; k < 8; k++) v = (v << 8) | p[i * 8 + k];
    w[i] = v;
  }
  for (int i = 16; i < 80; i++) {
    uint64_t s0 = sha_rotr(w[i - 15], 1) ^ sha_rotr(w[i - 15], 8) ^ (w[i - 15] >> 7);
    uint64_t s1 = sha_rotr(w[i - 2], 19) ^ sha_rotr(w[i - 2], 61) ^ (w[i - 2] >> 6);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint64_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
  for (int i = 0; i < 80; i++) {
    uint64_t t1 = h + (sha_rotr(e, 14) ^ sha_rotr(e, 18) ^ sha_rotr(e, 41)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
    uint64_t t2 = (sha_rotr(a, 28) ^ sha_rotr(a, 34) ^ sha_rotr(a, 39)) + ((a & b) ^ (a & cc) ^ (b & cc));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = cc;
    cc = b;
    b = a;
    a = t1 + t2;
  }
  c->h[0] += a;
  c->h[1] += b;
  c->h[2] += cc;
  c->h[3] += d;
  c->h[4] += e;
  c->h[5] += f;
  c->h[6] += g;
  c->h[7] += h;
}

void sha512_init(sha512_ctx *c) {
  memset(c, 0, sizeof *c);
  memcpy(c->h, sha_h0, sizeof c->h);
}

void sha512_update(sha512_ctx *c, const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t before = c->len_lo;
  c->len_lo += (uint64_t)len;
  if (c->len_lo < before) c->len_hi++;
  while (len) {
    size_t n = 128 - c->fill;
    if (n > len) n = len;
    memcpy(c->buf + c->fill, p, n);
    c->fill += n;
    p += n;
    len -= n;
    if (c->fill == 128) {
      sha_block(c, c->buf);
      c->fill = 0;
    }
  }
}

void sha512_final(sha512_ctx *c, unsigned char out[SHA512_DIGEST_LEN]) {
  /* length in bits, 128-bit big-endian, after a 0x80 byte and zero padding */
  uint64_t hi = (c->len_hi << 3) | (c->len_lo >> 61), lo = c->len_lo << 3;
  unsigned char pad[128 + 16] = {0x80};
  size_t padn = (c->fill < 112 ? 112 : 240) - c->fill;
  unsigned char lenb[16];
  for (int i = 0; i < 8; i++) {
    lenb[i] = (unsigned char)(hi >> (56 - 8 * i));
    lenb[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
  }
  sha512_update(c, pad, padn);
  sha512_update(c, lenb, 16);
  for (int i = 0; i < 8; i++)
    for (int k = 0; k < 8; k++) out[i * 8 + k] = (unsigned char)(c->h[i] >> (56 - 8 * k));
  memset(c, 0, sizeof *c);
}

void sha512(const void *data, size_t len, unsigned char out[SHA512_DIGEST_LEN]) {
  sha512_ctx c;
  sha512_init(&c);
  sha512_update(&c, data, len);
  sha512_final(&c, out);
}

size_t sha512_base64(const unsigned char *in, size_t len, char *out, size_t cap) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t need = (len + 2) / 3 * 4;
  if (cap < need + 1) return 0;
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < len) v |= in[i + 2];
    out[o++] = tab[(v >> 18) & 63];
    out[o++] = tab[(v >> 12) & 63];
    out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? tab[v & 63] : '=';
  }
  out[o] = 0;
  return o;
}

/*
 * netaddr.c: address classes for pi.http (netaddr.h).
 *
 * Written as prefix tables rather than by inet helpers' macros (IN_LOOPBACK and friends
 * vary between libcs and miss CGNAT and metadata), so the list a reviewer reads is the
 * list that is enforced. Metadata is checked before link-local because it is inside it and
 * deserves its own word in the error.
 */
#include "hooks/netaddr.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static const char *v4_special(uint32_t a) {
  static const struct { uint32_t net, mask; const char *why; } t[] = {
      {0xA9FEA9FEu, 0xFFFFFFFFu, "metadata"},       /* 169.254.169.254 */
      {0x00000000u, 0xFF000000u, "unspecified"},    /* 0.0.0.0/8 */
      {0x7F000000u, 0xFF000000u, "loopback"},       /* 127/8 */
      {0x0A000000u, 0xFF000000u, "private"},        /* 10/8 */
      {0xAC100000u, 0xFFF00000u, "private"},        /* 172.16/12 */
      {0xC0A80000u, 0xFFFF0000u, "private"},        /* 192.168/16 */
      {0xA9FE0000u, 0xFFFF0000u, "link-local"},     /* 169.254/16 */
      {0x64400000u, 0xFFC00000u, "shared (CGNAT)"}, /* 100.64/10 */
      {0xC0000000u, 0xFFFFFF00u, "reserved"},       /* 192.0.0/24 (IETF protocol assignments) */
      {0xC6120000u, 0xFFFE0000u, "reserved"},       /* 198.18/15 (benchmarking) */
      {0xE0000000u, 0xF0000000u, "multicast"},      /* 224/4 */
      {0xF0000000u, 0xF0000000u, "reserved"},       /* 240/4, broadcast included */
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if ((a & t[i].mask) == t[i].net) return t[i].why;
  return NULL;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *v6_special(const unsigned char *b) {
  static const unsigned char zero[16] = {0};
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
  if (!memcmp(b, zero, 16)) return "unspecified";
  if (!memcmp(b, zero, 15) && b[15] == 1) return "loopback";
  /* the IPv4 inside decides: ::ffff:127.0.0.1 is loopback however it is spelled */
  if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12)) return v4_special(be32(b + 12));
  if (!memcmp(b, zero, 12)) return "reserved"; /* deprecated IPv4-compatible ::a.b.c.d */
  if ((b[0] & 0xfe) == 0xfc) return "private";  /* fc00::/7 */
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local"; /* fe80::/10 */
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "private";    /* fec0::/10, site-local */
  if (b[0] == 0xff) return "multicast";
  return NULL;
}

const char *hk_addr_special(const struct sockaddr *sa) {
  if (!sa) return "not IP";
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
    return v4_special(be32((const unsigned char *)&s4->sin_addr));
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
    return v6_special(s6->sin6_addr.s6_addr);
  }
  return "not IP";
}

bool hk_addr_same(const struct sockaddr *a, const struct sockaddr *b) {
  if (!a || !b || a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET)
    return !memcmp(&((const struct sockaddr_in *)(const void *)a)->sin_addr,
                   &((const struct sockaddr_in *)(const void *)b)->sin_addr, sizeof(struct in_addr));
  if (a->sa_family == AF_INET6)
    return !memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
                   &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr, sizeof(struct in6_addr));
  return false;
}

/*
 * netaddr.h: which IP addresses pi.http may reach when a plugin was granted a host NAME.
 *
 * A grant of `api.example.com` is a grant of whatever that name resolves to, and DNS is
 * controlled by whoever controls the name: `localhost`, a name pointed at 127.0.0.1, at
 * the cloud metadata service (169.254.169.254), or at the operator's LAN would turn a
 * harmless-looking grant into access to the host's own services. So after resolution
 * every address is classified, and the ones that are not on the public internet are
 * refused unless the grant named that address literally (an IP literal in the URL that
 * the plugin's own allow set covers; see hostcall.c). Addresses embedding IPv4
 * (::ffff:a.b.c.d, 64:ff9b::a.b.c.d) are judged by the IPv4 address they embed.
 *
 * Pure functions; any thread.
 */
#ifndef AL_HK_NETADDR_H
#define AL_HK_NETADDR_H

#include <stdbool.h>
#include <sys/socket.h>

/* NULL when `sa` (AF_INET or AF_INET6; borrowed) is a public unicast address; otherwise a
 * static word naming why not: "loopback", "private", "link-local", "metadata",
 * "shared (CGNAT)", "unspecified", "multicast", "reserved", or "not IP" for another
 * family. */
const char *hk_addr_special(const struct sockaddr *sa);

/* True when a and b (borrowed) are the same address of the same family (ports ignored). */
bool hk_addr_same(const struct sockaddr *a, const struct sockaddr *b);

#endif

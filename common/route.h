/* "Is this destination tunnelled?" -- pure code, no I/O. */
#ifndef TSSHIM_ROUTE_H
#define TSSHIM_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define ROUTE_MAX 64

/* One CIDR; IPv4 prefixes are stored as IPv4-mapped IPv6 (::ffff:a.b.c.d/96+n). */
struct route {
    uint8_t addr[16];
    uint8_t prefix_len; /* 0..128, in the IPv6 form */
};

struct route_table {
    struct route route[ROUTE_MAX];
    unsigned count;
    bool all; /* TSRUN_ROUTES=all: every non-loopback destination */
};

/* Parses "10.20.0.0/16,fd00::/8,all". Returns 0 or -EINVAL; on error *bad
 * (if not NULL) points at the offending item within s. */
int route_parse_list(const char *s, struct route_table *out, const char **bad);

/* The address lengths Linux accepts on connect(), sendto(), sendmsg() and
 * sendmmsg() for these families (net/socket.c move_addr_to_kernel: at most
 * sizeof(struct sockaddr_storage); net/ipv4 tcp_v4_connect, udp_sendmsg,
 * ip4_datagram_connect: at least sizeof(struct sockaddr_in); net/ipv6
 * tcp_v6_connect, ip6_datagram_connect, udpv6_sendmsg, rawv6_sendmsg: at
 * least SIN6_LEN_RFC2133 = 24, the RFC 2133 sockaddr_in6 without
 * sin6_scope_id). Shorter or longer lengths get EINVAL from the kernel. */
#define ROUTE_SIN_LEN_MIN 16
#define ROUTE_SIN6_LEN_MIN 24 /* SIN6_LEN_RFC2133 */
#define ROUTE_SA_LEN_MAX 128  /* sizeof(struct sockaddr_storage) */

/* Normalises a sockaddr into a 16-byte IPv6 form (IPv4 -> ::ffff:a.b.c.d).
 * Reads only the first len bytes (never sin6_scope_id). Returns false for
 * families other than AF_INET/AF_INET6 and for lengths the kernel rejects
 * (see above): those never leave through any route, the kernel refuses
 * them with EINVAL. */
bool route_addr16(const struct sockaddr *sa, socklen_t len, uint8_t out[16], uint16_t *port);

/* True when a connection to sa goes through the tunnel: the tailnet ranges
 * 100.64.0.0/10 and fd7a:115c:a1e0::/48 (including ::ffff:100.64.0.0/106), or
 * any route in extra. Loopback is never tunnelled. */
bool route_is_tunnelled(const struct sockaddr *sa, socklen_t len, const struct route_table *extra);

/* Same test on the normalised 16-byte form. */
bool route_addr16_is_tunnelled(const uint8_t a[16], const struct route_table *extra);

/* Why a destination is tunnelled, for callers that treat `all` apart. */
enum route_match {
    ROUTE_DIRECT,  /* not tunnelled */
    ROUTE_TAILNET, /* 100.64.0.0/10, fd7a:115c:a1e0::/48 */
    ROUTE_LISTED,  /* one of extra's CIDRs */
    ROUTE_ALL,     /* only because extra->all (exit node) */
};
enum route_match route_addr16_match(const uint8_t a[16], const struct route_table *extra);

#endif

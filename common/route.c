#include "route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* 100.64.0.0/10 as ::ffff:100.64.0.0/106, and fd7a:115c:a1e0::/48. */
static const struct route tailnet_v4 = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 64, 0, 0},
                                        96 + 10};
static const struct route tailnet_v6 = {{0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0}, 48};

static bool prefix_match(const uint8_t a[16], const struct route *r)
{
    unsigned full = r->prefix_len / 8, rest = r->prefix_len % 8;
    if (memcmp(a, r->addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (r->addr[full] & mask);
}

static bool is_v4_mapped(const uint8_t a[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, prefix, sizeof prefix) == 0;
}

static bool is_loopback(const uint8_t a[16])
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    if (is_v4_mapped(a))
        return a[12] == 127;
    return memcmp(a, v6_loopback, 16) == 0;
}

static bool is_unspecified(const uint8_t a[16])
{
    static const uint8_t zero[16];
    if (is_v4_mapped(a))
        return memcmp(a + 12, zero, 4) == 0;
    return memcmp(a, zero, 16) == 0;
}

_Static_assert(ROUTE_SIN_LEN_MIN == sizeof(struct sockaddr_in), "sockaddr_in size");
_Static_assert(ROUTE_SIN6_LEN_MIN == offsetof(struct sockaddr_in6, sin6_scope_id),
               "SIN6_LEN_RFC2133 is sockaddr_in6 up to sin6_scope_id");
_Static_assert(ROUTE_SA_LEN_MAX == sizeof(struct sockaddr_storage), "sockaddr_storage size");

bool route_addr16(const struct sockaddr *sa, socklen_t len, uint8_t out[16], uint16_t *port)
{
    if (sa == NULL || len < sizeof(sa_family_t) || len > ROUTE_SA_LEN_MAX)
        return false;
    if (sa->sa_family == AF_INET && len >= ROUTE_SIN_LEN_MIN) {
        const struct sockaddr_in *in = (const void *)sa;
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &in->sin_addr, 4);
        if (port != NULL)
            *port = ntohs(in->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6 && len >= ROUTE_SIN6_LEN_MIN) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        memcpy(out, &in6->sin6_addr, 16);
        if (port != NULL)
            *port = ntohs(in6->sin6_port);
        return true;
    }
    return false;
}

enum route_match route_addr16_match(const uint8_t a[16], const struct route_table *extra)
{
    if (prefix_match(a, &tailnet_v4) || prefix_match(a, &tailnet_v6))
        return ROUTE_TAILNET;
    if (extra == NULL || is_loopback(a) || is_unspecified(a))
        return ROUTE_DIRECT;
    for (unsigned i = 0; i < extra->count; i++)
        if (prefix_match(a, &extra->route[i]))
            return ROUTE_LISTED;
    return extra->all ? ROUTE_ALL : ROUTE_DIRECT;
}

bool route_addr16_is_tunnelled(const uint8_t a[16], const struct route_table *extra)
{
    return route_addr16_match(a, extra) != ROUTE_DIRECT;
}

bool route_is_tunnelled(const struct sockaddr *sa, socklen_t len, const struct route_table *extra)
{
    uint8_t a[16];
    return route_addr16(sa, len, a, NULL) && route_addr16_is_tunnelled(a, extra);
}

/* Parses one "ADDR/LEN" or bare "ADDR" (a host route). */
static int parse_cidr(const char *item, size_t n, struct route *r)
{
    char buf[INET6_ADDRSTRLEN + 5];
    if (n == 0 || n >= sizeof buf)
        return -EINVAL;
    memcpy(buf, item, n);
    buf[n] = '\0';

    long len = -1;
    char *slash = strchr(buf, '/');
    if (slash != NULL) {
        char *end;
        *slash = '\0';
        if (slash[1] < '0' || slash[1] > '9')
            return -EINVAL;
        len = strtol(slash + 1, &end, 10);
        if (*end != '\0')
            return -EINVAL;
    }
    memset(r, 0, sizeof *r);
    struct in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        if (len > 32)
            return -EINVAL;
        r->addr[10] = r->addr[11] = 0xff;
        memcpy(r->addr + 12, &v4, 4);
        r->prefix_len = (uint8_t)(96 + (len < 0 ? 32 : len));
    } else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
        if (len > 128)
            return -EINVAL;
        r->prefix_len = (uint8_t)(len < 0 ? 128 : len);
    } else {
        return -EINVAL;
    }
    return 0;
}

int route_parse_list(const char *s, struct route_table *out, const char **bad)
{
    memset(out, 0, sizeof *out);
    while (*s != '\0') {
        while (*s == ',' || *s == ' ')
            s++;
        if (*s == '\0')
            break;
        size_t n = strcspn(s, ", ");
        if (n == 3 && strncmp(s, "all", 3) == 0) {
            out->all = true;
        } else if (out->count == ROUTE_MAX || parse_cidr(s, n, &out->route[out->count]) < 0) {
            if (bad != NULL)
                *bad = s;
            return -EINVAL;
        } else {
            out->count++;
        }
        s += n;
    }
    return 0;
}

#include "intercept.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "config.h"
#include "fdtab.h"
#include "log.h"
#include "names.h"
#include "route.h"
#include "tunnel.h"

bool intercept_wants(const struct sockaddr *dest, socklen_t len)
{
    uint8_t a[16];
    if (dest == NULL || (dest->sa_family != AF_INET && dest->sa_family != AF_INET6))
        return false;
    if (!route_addr16(dest, len, a, NULL))
        return false;
    const struct config *cfg = config_get();
    return cfg->enabled && route_addr16_is_tunnelled(a, &cfg->routes);
}

int intercept_refuse_datagram(const char *what, int fd,
                              const struct sockaddr *dest, socklen_t len)
{
    char d[80];
    log_debug("%s fd=%d %s -> refused: UDP and raw sockets are not tunnelled "
              "(ENETUNREACH)",
              what, fd, log_sockaddr(dest, len, d, sizeof d));
    return -ENETUNREACH;
}

/* SOCK_STREAM over TCP (or MPTCP, which falls back to TCP) only. */
static bool is_tcp_stream(int fd)
{
    int type = 0, proto = 0;
    socklen_t tl = sizeof type, pl = sizeof proto;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM)
        return false;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) < 0)
        return true; /* kernels before 2.6.32: a stream is TCP */
    return proto == IPPROTO_TCP || proto == 262 /* IPPROTO_MPTCP */;
}

int intercept_connect(const char *what, int fd, const struct sockaddr *dest,
                      socklen_t len)
{
    const struct config *cfg = config_get();
    char d[80];
    uint8_t a[16];
    uint16_t port = 0;

    route_addr16(dest, len, a, &port);
    if (!is_tcp_stream(fd)) {
        int type = 0;
        socklen_t tl = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
            return -errno; /* EBADF, ENOTSOCK: what the kernel would say */
        return intercept_refuse_datagram(what, fd, dest, len);
    }

    /* The name map knows which peers are offline: tailscaled would make us
     * wait its full 5 s dial timeout only to answer 0x01. */
    int family = dest->sa_family;
    const void *raw = family == AF_INET
                          ? (const void *)&((const struct sockaddr_in *)dest)->sin_addr
                          : (const void *)&((const struct sockaddr_in6 *)dest)->sin6_addr;
    if (names_addr_state(family, raw) == NAMES_OFFLINE) {
        log_debug("%s fd=%d %s -> refused: peer is offline in the name map "
                  "(EHOSTUNREACH)",
                  what, fd, log_sockaddr(dest, len, d, sizeof d));
        return -EHOSTUNREACH;
    }

    long long start = log_now_ms();
    int rc = tunnel_connect(fd, family, a, port, cfg);
    if (rc == 0)
        fdtab_remember(fd, dest, len);
    if (log_debug_enabled()) {
        char p[80];
        log_line("%s fd=%d %s -> tunnel via %s: %s (%lld ms)", what, fd,
                 log_sockaddr(dest, len, d, sizeof d),
                 config_socks5_text(cfg, p, sizeof p),
                 rc == 0 ? "ok" : strerror(-rc), log_now_ms() - start);
    }
    return rc;
}

#include "intercept.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "config.h"
#include "fdtab.h"
#include "localaddr.h"
#include "log.h"
#include "names.h"
#include "route.h"
#include "tunnel.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

bool intercept_wants(const struct sockaddr *dest, socklen_t len)
{
    uint8_t a[16];
    /* route_addr16 takes exactly the lengths the kernel accepts for the
     * family (common/route.h); the kernel refuses every other length with
     * EINVAL before it looks at a route, so those may pass through. */
    if (dest == NULL || !route_addr16(dest, len, a, NULL))
        return false;
    const struct config *cfg = config_get();
    if (!cfg->enabled)
        return false;
    switch (route_addr16_match(a, &cfg->routes)) {
    case ROUTE_DIRECT:
        return false;
    case ROUTE_ALL:
        /* Exit node: the machine's own addresses are delivered locally, as
         * on a TUN-mode node where the local table wins (localaddr.h). */
        return !localaddr_is_local(a);
    case ROUTE_TAILNET:
    case ROUTE_LISTED:
        break;
    }
    return true;
}

enum socket_kind { KIND_TCP, KIND_STREAM_OTHER, KIND_OTHER };

/* What the socket is: TCP (or MPTCP, which falls back to TCP), another stream
 * protocol (SCTP), or anything else; -errno when fd is not a socket. */
static int socket_kind(int fd, int *domain)
{
    int type = 0, proto = 0;
    socklen_t tl = sizeof type, dl = sizeof *domain, pl = sizeof proto;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_DOMAIN, domain, &dl) < 0)
        return -errno;
    if (type != SOCK_STREAM)
        return KIND_OTHER;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) < 0)
        return -errno;
    return proto == IPPROTO_TCP || proto == IPPROTO_MPTCP ? KIND_TCP : KIND_STREAM_OTHER;
}

/* A non-blocking socket connects asynchronously, except with
 * TCP_FASTOPEN_CONNECT, whose connect() must be done before its first send. */
static bool wants_async(int fd)
{
    int fl = fcntl(fd, F_GETFL), tfo = 0;
    socklen_t len = sizeof tfo;
#ifdef TCP_FASTOPEN_CONNECT
    if (getsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &tfo, &len) < 0)
        tfo = 0;
#endif
    return fl >= 0 && (fl & O_NONBLOCK) != 0 && tfo == 0;
}

/* What the kernel answers when the address family does not fit the socket
 * (tcp_v4_connect, ip4_datagram_connect, udp_sendmsg: EAFNOSUPPORT;
 * tcp_v6_connect checks the length first: EINVAL below SIN6_LEN_RFC2133),
 * or 0 when it would go on (an IPv4 datagram on an IPv6 socket). */
static int family_error(int kind, int domain, const struct sockaddr *dest, socklen_t len)
{
    if (domain == dest->sa_family)
        return 0;
    if (domain == AF_INET)
        return -EAFNOSUPPORT;
    if (kind == KIND_TCP)
        return len < ROUTE_SIN6_LEN_MIN ? -EINVAL : -EAFNOSUPPORT;
    return 0;
}

static int refuse(const char *what, int fd, const struct sockaddr *dest,
                  socklen_t len)
{
    char d[80];
    log_debug("%s fd=%d %s -> refused: only TCP is tunnelled (ENETUNREACH)", what,
              fd, log_sockaddr(dest, len, d, sizeof d));
    return -ENETUNREACH;
}

/* Tunnels a TCP socket whose domain matches dest; asynchronously (EINPROGRESS,
 * shim/pending.h) when `async`. */
static int tunnel(const char *what, int fd, const struct sockaddr *dest,
                  socklen_t len, bool async)
{
    const struct config *cfg = config_get();
    char d[80];
    uint8_t a[16];
    uint16_t port = 0;

    route_addr16(dest, len, a, &port);
    if (cfg->refuse_errno != 0) {
        log_debug("%s fd=%d %s -> refused: TSRUN_SOCKS5 is unusable (%s)", what, fd,
                  log_sockaddr(dest, len, d, sizeof d), strerror(cfg->refuse_errno));
        return -cfg->refuse_errno;
    }
    /* The name map knows which peers are offline: tailscaled would make us
     * wait its full 5 s dial timeout only to answer 0x01. */
    static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    bool v4 = memcmp(a, v4_mapped, sizeof v4_mapped) == 0;
    if (names_addr_state(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a) == NAMES_OFFLINE) {
        log_debug("%s fd=%d %s -> refused: peer is offline in the name map "
                  "(EHOSTUNREACH)",
                  what, fd, log_sockaddr(dest, len, d, sizeof d));
        return -EHOSTUNREACH;
    }

    /* tsrun records tailscaled's backend state in the map: while it is not
     * Running, every dial would stall 5 s before its 0x01. */
    char state[NAMES_MAX_BACKEND];
    if (names_backend_stopped(state)) {
        log_debug("%s fd=%d %s -> refused: tailscaled is %s (ECONNREFUSED)", what, fd,
                  log_sockaddr(dest, len, d, sizeof d), state);
        log_hint("tailscaled is not Running (state %s): run `tsrun up`", state);
        return -ECONNREFUSED;
    }

    long long start = log_now_ms();
    int rc = async ? tunnel_start(fd, dest->sa_family, a, port, cfg)
                   : tunnel_connect(fd, dest->sa_family, a, port, cfg);
    if (rc == 0 || rc == -EINPROGRESS)
        fdtab_remember(fd, dest, len);
    if (log_debug_enabled()) {
        char p[80];
        log_line("%s fd=%d %s -> tunnel via %s: %s (%lld ms)", what, fd,
                 log_sockaddr(dest, len, d, sizeof d),
                 config_socks5_text(cfg, p, sizeof p),
                 rc == 0 ? "ok" : rc == -EINPROGRESS ? "request sent, reply pending"
                                                     : strerror(-rc),
                 log_now_ms() - start);
    }
    return rc;
}

int intercept_connect(const char *what, int fd, const struct sockaddr *dest,
                      socklen_t len)
{
    int domain = 0, kind = socket_kind(fd, &domain);
    if (kind < 0)
        return kind; /* EBADF, ENOTSOCK: what the kernel would say */
    int bad = family_error(kind, domain, dest, len);
    if (bad < 0)
        return bad; /* as the kernel answers a family mismatch */
    if (kind != KIND_TCP)
        return refuse(what, fd, dest, len);
    return tunnel(what, fd, dest, len, wants_async(fd));
}

int intercept_send(const char *what, int fd, const struct sockaddr *dest,
                   socklen_t len, int flags)
{
    int domain = 0, kind = socket_kind(fd, &domain);
    if (kind < 0)
        return kind;
    if (kind == KIND_OTHER) {
        int bad = family_error(kind, domain, dest, len);
        return bad < 0 ? bad : refuse(what, fd, dest, len);
    }
    /* A connected stream ignores the address unless MSG_FASTOPEN asks for a
     * connect; SCTP and friends are refused as in connect(). */
    if ((flags & MSG_FASTOPEN) == 0)
        return 1;
    int bad = family_error(kind, domain, dest, len);
    if (bad < 0)
        return bad;
    if (kind != KIND_TCP)
        return refuse(what, fd, dest, len);
    return tunnel(what, fd, dest, len, false); /* MSG_FASTOPEN sends data now */
}

#include "tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <netinet/tcp.h>

#include "libc.h"
#include "log.h"
#include "pending.h"
#include "socks5_errno.h"

int tunnel_proxy_addr(const struct config *cfg, int family, int v6only,
                      struct sockaddr_storage *out, socklen_t *len)
{
    memset(out, 0, sizeof *out);
    if (family == AF_INET) {
        if (!cfg->socks5_is_v4)
            return -EAFNOSUPPORT;
        struct sockaddr_in *in = (struct sockaddr_in *)out;
        in->sin_family = AF_INET;
        in->sin_port = cfg->socks5.sin6_port;
        memcpy(&in->sin_addr, &cfg->socks5.sin6_addr.s6_addr[12], 4);
        *len = sizeof *in;
        return 0;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    *in6 = cfg->socks5;
    if (cfg->socks5_is_v4 && v6only) {
        /* A v6-only socket cannot use ::ffff:127.0.0.1; the only IPv6 twin
         * of an IPv4 proxy we can guess is loopback's. */
        if (cfg->socks5.sin6_addr.s6_addr[12] != 127)
            return -EAFNOSUPPORT;
        memset(&in6->sin6_addr, 0, sizeof in6->sin6_addr);
        in6->sin6_addr.s6_addr[15] = 1;
    }
    *len = sizeof *in6;
    return 0;
}

/* Waits for events on fd until the deadline; 0, or -ETIMEDOUT / -errno. */
static int wait_for(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - log_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = libc_poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (rc > 0)
            return 0; /* readable/writable, or an error the next call reports */
        if (rc < 0 && errno != EINTR)
            return -errno;
    }
}

/* Connects to the proxy within the deadline without touching O_NONBLOCK.
 * app_sndtimeo: the blocking socket's SO_SNDTIMEO, NULL for a non-blocking
 * socket (or when it could not be read). */
static int connect_proxy(int fd, const struct sockaddr *proxy, socklen_t len,
                         const struct timeval *app_sndtimeo, long long deadline)
{
    struct timeval bound;
    bool restore = false;

    if (app_sndtimeo != NULL) {
        /* A blocking connect honours SO_SNDTIMEO: bound it by our deadline,
         * then put the application's value back. */
        long long left = deadline - log_now_ms();
        if (left < 1)
            left = 1; /* 0 would mean "no timeout" */
        bound.tv_sec = left / 1000;
        bound.tv_usec = (left % 1000) * 1000;
        restore = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound) == 0;
    }
    int rc = libc_connect(fd, proxy, len);
    int err = rc == 0 ? 0 : errno;
    if (restore)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, app_sndtimeo, sizeof *app_sndtimeo);

    if (err == 0)
        return 0;
    /* tunnel_connect() turned an already connected socket away; this is
     * another thread of the app connecting it meanwhile. Answer like the
     * kernel and leave that connection alone: no greeting, no disconnect. */
    if (err == EISCONN)
        return -EISCONN;
    /* EALREADY: the app had a connect of its own in progress on this socket
     * before calling us; answer as the kernel does and leave it alone. */
    if (err != EINPROGRESS && err != EINTR && err != EAGAIN)
        return -err;
    /* In progress (non-blocking, interrupted, or SO_SNDTIMEO expired): the
     * kernel keeps connecting; wait for the outcome. */
    int w = wait_for(fd, POLLOUT, deadline);
    if (w < 0)
        return w;
    int soerr = 0;
    socklen_t elen = sizeof soerr;
    if (libc_getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) < 0)
        return -errno;
    return -soerr;
}

static int send_all(int fd, const uint8_t *buf, size_t len, long long deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = libc_sendto(fd, buf + off, len - off,
                                MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
        if (n >= 0) {
            off += (size_t)n;
            continue;
        }
        /* EINPROGRESS: TCP_FASTOPEN_CONNECT deferred the SYN to this send. */
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS) {
            int w = wait_for(fd, POLLOUT, deadline);
            if (w < 0)
                return w;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* Reads the replies into buf, never a byte beyond them (those belong to the
 * app), until they are complete (returns 0) or `pause` bytes have arrived
 * with more to come (returns 1), or -errno. */
static int read_reply(int fd, uint8_t buf[SOCKS5_REPLY_MAX], size_t *have,
                      size_t pause, struct socks5_reply *reply,
                      long long deadline)
{
    size_t need;
    while ((need = socks5_parse_reply(buf, *have, reply)) != 0) {
        if (*have >= pause)
            return 1;
        if (need > pause)
            need = pause;
        ssize_t n = libc_recvfrom(fd, buf + *have, need - *have, MSG_DONTWAIT, NULL, NULL);
        if (n > 0) {
            *have += (size_t)n;
        } else if (n == 0) {
            return -ECONNRESET; /* EOF before a complete reply */
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_for(fd, POLLIN, deadline);
            if (w < 0)
                return w;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* Sends greeting and CONNECT and reads both replies. Pipelined: one write,
 * one round trip. Otherwise greeting, method reply, then CONNECT. */
static int handshake(int fd, const uint8_t dest16[16], uint16_t port,
                     const struct config *cfg, struct socks5_reply *reply,
                     long long start, long long deadline)
{
    uint8_t request[SOCKS5_REQUEST_MAX], buf[SOCKS5_REPLY_MAX];
    size_t reqlen = socks5_encode_connect(request, dest16, port);
    size_t greeting = SOCKS5_GREETING_LEN, have = 0;
    int rc;

    if (cfg->pipeline)
        greeting = reqlen;
    rc = send_all(fd, request, greeting, deadline);
    if (rc == 0 && !cfg->pipeline) {
        rc = read_reply(fd, buf, &have, 2, reply, deadline);
        if (rc == 1)
            rc = send_all(fd, request + greeting, reqlen - greeting, deadline);
        else if (rc == 0)
            return 0; /* the method reply alone decided: a failure */
    }
    if (rc == 0)
        rc = read_reply(fd, buf, &have, SOCKS5_REPLY_MAX, reply, deadline);
    /* Silence after the method reply is normal while tailscaled dials (up to
     * its 5 s cap); past that, the server likely dropped the pipelined bytes. */
    if (rc == -ETIMEDOUT && cfg->pipeline && have == 2 &&
        log_now_ms() - start > TUNNEL_TAILSCALED_DIAL_CAP_MS)
        log_hint("the SOCKS5 proxy answered the greeting but not the CONNECT sent with "
                 "it; if it is not tailscaled, set TSRUN_SOCKS5_PIPELINE=0");
    return rc;
}

static void hint_proxy_down(const struct config *cfg)
{
    char proxy[80];
    log_hint("no SOCKS5 proxy answers at %s: is tailscaled running? Start it with `tsrun up`",
             config_socks5_text(cfg, proxy, sizeof proxy));
}

/* Puts a socket whose tunnel failed back into the unconnected state, as a
 * failed kernel connect leaves it, so the app may retry or close it. */
static void disconnect(int fd)
{
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    libc_connect(fd, &unspec, sizeof unspec);
    /* The failure is reported by the shim; a reset from the proxy must not
     * come back later as a second error in SO_ERROR. */
    int err;
    socklen_t len = sizeof err;
    libc_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
}

/* What every tunnel does first: refuse an already connected socket and find
 * the proxy address this socket can reach. */
/* One tunnel attempt: its clock and the proxy address its socket can use. */
struct attempt {
    long long start, deadline; /* CLOCK_MONOTONIC ms */
    struct sockaddr_storage proxy;
    socklen_t proxylen;
    int v6only;
};

static int prepare(int fd, int family, const uint8_t dest16[16], const struct config *cfg,
                   struct attempt *at)
{
    at->start = log_now_ms();
    at->deadline = at->start + cfg->connect_timeout_ms;
    struct sockaddr_storage *proxy = &at->proxy;
    socklen_t *proxylen = &at->proxylen;
    int *v6only = &at->v6only;
    /* Already connected (the app calls connect() again, or sends with
     * MSG_FASTOPEN on its connected socket): answer like the kernel and
     * leave the connection alone. After our non-blocking handshake the
     * kernel would answer a repeated connect() with 0, so ask getpeername(). */
    struct sockaddr_storage peer;
    socklen_t peerlen = sizeof peer, optlen = sizeof *v6only;
    if (libc_getpeername(fd, (struct sockaddr *)&peer, &peerlen) == 0)
        return -EISCONN;

    *v6only = 0;
    if (family == AF_INET6)
        libc_getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only, &optlen);
    if (*v6only) {
        static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
        if (memcmp(dest16, v4_mapped, sizeof v4_mapped) == 0)
            return -ENETUNREACH; /* tcp_v6_connect: a mapped address, v6-only */
        /* An IPv6-only socket cannot reach an IPv4 proxy; the socket is not
         * bound yet, so it may still take IPv4 (the tailnet peer it asked
         * for is IPv6 either way). A bound one keeps trying [::1]. */
        int off = 0;
        if (cfg->socks5_is_v4 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0)
            *v6only = 0;
    }
    int rc = tunnel_proxy_addr(cfg, family, *v6only, proxy, proxylen);
    if (rc < 0)
        log_line("cannot reach SOCKS5 proxy from this %s socket: set TSRUN_SOCKS5 "
                 "to an address of the same family",
                 family == AF_INET ? "IPv4" : "IPv6-only");
    return rc;
}

/* The proxy connect failed: say why where it helps, and leave the socket
 * unconnected unless it belongs to a connect of the app's own. */
static int proxy_failed(int fd, int rc, int family, int v6only, const struct config *cfg)
{
    bool twin = family == AF_INET6 && v6only && cfg->socks5_is_v4;
    if (rc == -ECONNREFUSED && twin) {
        char p[80];
        log_line("IPV6_V6ONLY socket: the SOCKS5 proxy %s has no IPv6 twin at [::1] "
                 "(connection refused); listen there too or use an IPv4 socket",
                 config_socks5_text(cfg, p, sizeof p));
    } else if (rc == -ECONNREFUSED) {
        hint_proxy_down(cfg);
    }
    if (rc != -EISCONN && rc != -EALREADY)
        disconnect(fd);
    return rc;
}

/* How long ago the last byte arrived on fd, in ms (TCP_INFO), or 0. A failure
 * reply read late must still be told apart by when it came. */
static long long reply_age_ms(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (libc_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_last_data_recv) + sizeof ti.tcpi_last_data_recv)
        return 0;
    return ti.tcpi_last_data_recv;
}

/* The errno of a complete reply, with the debug line that says why. */
static int reply_result(int fd, const struct socks5_reply *reply, long long elapsed_ms)
{
    if (reply->error == SOCKS5_OK)
        return 0;
    if (reply->error == SOCKS5_ERR_REPLY)
        log_debug("fd=%d proxy replied 0x%02x (%s)", fd, reply->rep,
                  socks5_rep_name(reply->rep));
    else
        log_debug("fd=%d bad proxy reply: %s", fd, socks5_error_name(reply->error));
    return -socks5_reply_errno(reply, elapsed_ms);
}

int tunnel_connect(int fd, int family, const uint8_t dest16[16], uint16_t port,
                   const struct config *cfg)
{
    struct attempt at;
    int rc = prepare(fd, family, dest16, cfg, &at);
    if (rc < 0)
        return rc;
    long long start = at.start, deadline = at.deadline;

    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    struct timeval sndtimeo = {0}, *app_sndtimeo = NULL;
    socklen_t tvlen = sizeof sndtimeo;
    if ((flags & O_NONBLOCK) == 0 &&
        libc_getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sndtimeo, &tvlen) == 0) {
        /* The app bounded its blocking connect with SO_SNDTIMEO: a tighter
         * bound than ours wins (the kernel would give up then, too). */
        app_sndtimeo = &sndtimeo;
        long long app_ms = (long long)sndtimeo.tv_sec * 1000 + sndtimeo.tv_usec / 1000;
        if (app_ms > 0 && start + app_ms < deadline)
            deadline = start + app_ms;
    }
    rc = connect_proxy(fd, (struct sockaddr *)&at.proxy, at.proxylen, app_sndtimeo, deadline);
    if (rc < 0)
        return proxy_failed(fd, rc, family, at.v6only, cfg);

    struct socks5_reply reply;
    rc = handshake(fd, dest16, port, cfg, &reply, start, deadline);
    if (rc == 0) {
        rc = reply_result(fd, &reply, log_now_ms() - start);
    } else if (rc == -ECONNRESET || rc == -EPIPE) {
        log_debug("fd=%d proxy closed the connection during the handshake", fd);
        rc = -ECONNREFUSED;
    }
    if (rc < 0)
        disconnect(fd);
    return rc;
}

/* IMPORTANT: only the local part of the handshake happens here: connecting
 * to the proxy on loopback, and (without pipelining) its method reply, which
 * needs no dial. The CONNECT reply waits for tailscaled's dial of the peer (a
 * tailnet round trip, up to its 5 s cap), so it is left to the read-side
 * hooks, the poll/select gates and SO_ERROR (tunnel_settle). */
int tunnel_start(int fd, int family, const uint8_t dest16[16], uint16_t port,
                 const struct config *cfg)
{
    struct attempt at;
    int rc = prepare(fd, family, dest16, cfg, &at);
    if (rc < 0)
        return rc;
    long long start = at.start, deadline = at.deadline;
    struct pending *p = pending_add(fd, pending_socket_ino(fd), start, deadline);
    if (p == NULL) {
        log_debug("fd=%d asynchronous connect table full: connecting synchronously", fd);
        return tunnel_connect(fd, family, dest16, port, cfg);
    }

    rc = connect_proxy(fd, (struct sockaddr *)&at.proxy, at.proxylen, NULL, deadline);
    if (rc < 0) {
        pending_remove(p);
        return proxy_failed(fd, rc, family, at.v6only, cfg);
    }
    uint8_t request[SOCKS5_REQUEST_MAX];
    size_t reqlen = socks5_encode_connect(request, dest16, port);
    size_t first = cfg->pipeline ? reqlen : SOCKS5_GREETING_LEN;
    if (!cfg->pipeline) {
        /* Greeting now; the CONNECT once the method reply is in, and the
         * app's bytes only after the CONNECT reply (tunnel_settle): no byte
         * of the app's can reach a server that reads the greeting and the
         * request one recv() each. */
        p->hold_writes = true;
        p->unsent = (uint8_t)(reqlen - first);
        memcpy(p->request + sizeof p->request - p->unsent, request + first, p->unsent);
    }
    rc = send_all(fd, request, first, deadline);
    if (rc < 0) {
        if (rc == -ECONNRESET || rc == -EPIPE)
            rc = -ECONNREFUSED;
        pending_remove(p);
        disconnect(fd);
        return rc;
    }
    pending_release(p);
    return -EINPROGRESS;
}

static int settle_fail(int fd, struct pending *p, int err)
{
    p->err = err;
    atomic_store_explicit(&p->state, PENDING_FAILED, memory_order_relaxed);
    disconnect(fd);
    return -err;
}

int tunnel_settle(int fd, struct pending *p)
{
    if (atomic_load_explicit(&p->state, memory_order_relaxed) == PENDING_FAILED)
        return -p->err;
    for (;;) {
        struct socks5_reply reply;
        size_t need = socks5_parse_reply(p->buf, p->have, &reply);
        if (need == 0) {
            long long elapsed = log_now_ms() - p->start_ms;
            if (reply.error == SOCKS5_ERR_REPLY)
                elapsed -= reply_age_ms(fd);
            int rc = reply_result(fd, &reply, elapsed);
            if (rc == 0)
                log_debug("fd=%d tunnel up: SOCKS5 reply %lld ms after connect", fd,
                          log_now_ms() - p->start_ms);
            return rc == 0 ? 0 : settle_fail(fd, p, -rc);
        }
        if (p->have >= 2 && p->unsent > 0) {
            /* The method reply said "no authentication" (parsed above): the
             * CONNECT request goes out now. 22 bytes into a fresh loopback
             * connection's empty send buffer. */
            size_t off = sizeof p->request - p->unsent;
            ssize_t s = libc_sendto(fd, p->request + off, p->unsent, MSG_DONTWAIT | MSG_NOSIGNAL,
                                    NULL, 0);
            if (s < 0 && errno == EINTR)
                continue;
            if (s < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                log_debug("fd=%d proxy closed the connection during the handshake", fd);
                return settle_fail(fd, p, ECONNREFUSED);
            }
            if (s > 0) {
                p->unsent = (uint8_t)(p->unsent - s);
                continue;
            }
        }
        ssize_t n = libc_recvfrom(fd, p->buf + p->have, need - p->have, MSG_DONTWAIT,
                                  NULL, NULL);
        if (n > 0) {
            p->have = (uint16_t)(p->have + n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            log_debug("fd=%d proxy closed the connection during the handshake", fd);
            return settle_fail(fd, p, ECONNREFUSED);
        }
        if (log_now_ms() >= atomic_load_explicit(&p->deadline_ms, memory_order_relaxed)) {
            log_debug("fd=%d no complete SOCKS5 reply within TSRUN_CONNECT_TIMEOUT_MS", fd);
            return settle_fail(fd, p, ETIMEDOUT);
        }
        return -EAGAIN;
    }
}

/* probe: one socket operation, reported in a machine-readable line.
 *
 *   probe connect [OPTIONS] HOST PORT [SEND]
 *
 * Options:
 *   --nonblock        O_NONBLOCK before connect (EINPROGRESS is waited for)
 *   --cloexec         SOCK_CLOEXEC
 *   --v6only          IPV6_V6ONLY=1 (AF_INET6 sockets)
 *   --family 4|6      socket family (default: the address's; 6 + IPv4 host = v4-mapped)
 *   --udp             SOCK_DGRAM
 *   --sendto          send SEND with sendto(HOST) instead of connect (UDP)
 *   --sendmsg         ... with sendmsg(msg_name = HOST)
 *   --sendmmsg        ... with sendmmsg (one message)
 *   --sendto-fastopen TCP: sendto(SEND, MSG_FASTOPEN, HOST) instead of connect
 *   --sendmsg-fastopen TCP: sendmsg(SEND, MSG_FASTOPEN, HOST)
 *   --timeout-ms N    bound for waits and reads (default 5000)
 *   --read N          read the reply until EOF or N bytes (default: until EOF)
 *   --shut            shutdown(SHUT_WR) after sending SEND
 *   --repeat N        N sockets, one after another, one line each
 *   --reuse           after a failed connect, retry on the SAME socket to 127.0.0.1:REUSE_PORT
 *                     (env PROBE_REUSE_PORT) and report reuse=ok|ERRNO
 *
 * Prints: result=ok|errno=ENAME elapsed_ms=N flags_before=0xN flags_after=0xN
 *         cloexec=0|1 family=4|6 peer=ADDR sock=ADDR [inprogress=1]
 * then (with SEND) recv=<C-escaped bytes> recv_n=N. Exit 0 unless misused. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
    switch (e) {
#define E(x) case x: return #x
        E(ECONNREFUSED); E(ETIMEDOUT); E(EHOSTUNREACH); E(ENETUNREACH); E(EACCES);
        E(EOPNOTSUPP); E(EAFNOSUPPORT); E(EINTR); E(EINPROGRESS); E(EALREADY);
        E(EISCONN); E(ECONNRESET); E(EPIPE); E(EBADF); E(ENOTSOCK); E(EINVAL);
        E(EADDRNOTAVAIL); E(EAGAIN); E(EPROTOTYPE); E(ENOTCONN); E(EPERM);
#undef E
    }
    static char buf[32];
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(buf, size, "%s:%u", ip, ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, size, "none");
    }
    return buf;
}

static void usage(void)
{
    fprintf(stderr, "usage: probe connect [OPTIONS] HOST PORT [SEND]\n");
    exit(2);
}

struct opts {
    int nonblock, cloexec, v6only, family, udp, mode, timeout_ms, shut, repeat, reuse;
    long readmax;
};
enum { M_CONNECT, M_SENDTO, M_SENDMSG, M_SENDMMSG, M_SENDTO_TFO, M_SENDMSG_TFO };

static socklen_t make_addr(const char *host, int port, int family, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, host, &v4) == 1) {
        if (family == 6) {
            struct sockaddr_in6 *in6 = (void *)ss;
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons((uint16_t)port);
            in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
            memcpy(&in6->sin6_addr.s6_addr[12], &v4, 4);
            return sizeof *in6;
        }
        struct sockaddr_in *in = (void *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        in->sin_addr = v4;
        return sizeof *in;
    }
    if (inet_pton(AF_INET6, host, &v6) == 1) {
        struct sockaddr_in6 *in6 = (void *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        in6->sin6_addr = v6;
        return sizeof *in6;
    }
    fprintf(stderr, "probe: not a numeric address: %s\n", host);
    exit(2);
}

/* Waits for a non-blocking connect; returns 0 or an errno. */
static int finish_connect(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int rc;
    do
        rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err;
}

static void print_escaped(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\\')
            fputs("\\\\", stdout);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c < 32 || c >= 127)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void exchange(int fd, const char *send_text, const struct opts *o, int sent_already)
{
    size_t len = strlen(send_text);
    if (!sent_already) {
        size_t off = 0;
        while (off < len) {
            ssize_t n = send(fd, send_text + off, len - off, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, o->timeout_ms);
                continue;
            }
            if (n < 0) {
                printf(" send_errno=%s", errname(errno));
                return;
            }
            off += (size_t)n;
        }
    }
    if (o->shut)
        shutdown(fd, SHUT_WR);
    static char buf[1 << 20];
    size_t have = 0;
    long long deadline = now_ms() + o->timeout_ms;
    const char *end = "eof";
    while (o->readmax < 0 || have < (size_t)o->readmax) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            end = "timeout";
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            end = "timeout";
            break;
        }
        size_t want = sizeof buf - have;
        if (o->readmax >= 0 && want > (size_t)o->readmax - have)
            want = (size_t)o->readmax - have;
        ssize_t n = recv(fd, buf + have, want, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0) {
            end = errname(errno);
            break;
        }
        if (n == 0)
            break;
        have += (size_t)n;
        end = "limit";
    }
    printf(" recv=");
    print_escaped(buf, have);
    printf(" recv_n=%zu recv_end=%s", have, end);
}

static void one(const char *host, int port, const char *send_text, const struct opts *o)
{
    struct sockaddr_storage dest, peer, sock;
    socklen_t dlen = make_addr(host, port, o->family, &dest);
    int family = dest.ss_family;
    int type = (o->udp ? SOCK_DGRAM : SOCK_STREAM) | (o->cloexec ? SOCK_CLOEXEC : 0);
    int fd = socket(family, type, 0);
    if (fd < 0) {
        printf("socket_errno=%s\n", errname(errno));
        return;
    }
    if (o->v6only) {
        int one_ = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one_, sizeof one_);
    }
    if (o->nonblock)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int flags_before = fcntl(fd, F_GETFL);
    size_t slen = send_text ? strlen(send_text) : 0;
    const char *payload = send_text ? send_text : "";
    int rc, err = 0, inprogress = 0, sent = 0;
    long long t0 = now_ms();
    struct iovec iov = {.iov_base = (void *)payload, .iov_len = slen};
    struct msghdr msg = {.msg_name = &dest, .msg_namelen = dlen, .msg_iov = &iov, .msg_iovlen = 1};
    switch (o->mode) {
    case M_CONNECT:
        rc = connect(fd, (struct sockaddr *)&dest, dlen);
        break;
    case M_SENDTO:
        rc = (int)sendto(fd, payload, slen, 0, (struct sockaddr *)&dest, dlen);
        break;
    case M_SENDMSG:
        rc = (int)sendmsg(fd, &msg, 0);
        break;
    case M_SENDMMSG: {
        struct mmsghdr mm = {.msg_hdr = msg};
        rc = sendmmsg(fd, &mm, 1, 0);
        break;
    }
    case M_SENDTO_TFO:
        rc = (int)sendto(fd, payload, slen, MSG_FASTOPEN | MSG_NOSIGNAL, (struct sockaddr *)&dest, dlen);
        sent = 1;
        break;
    default:
        rc = (int)sendmsg(fd, &msg, MSG_FASTOPEN | MSG_NOSIGNAL);
        sent = 1;
        break;
    }
    if (rc < 0)
        err = errno;
    if (rc < 0 && err == EINPROGRESS && o->mode == M_CONNECT) {
        inprogress = 1;
        err = finish_connect(fd, o->timeout_ms);
    }
    long long elapsed = now_ms() - t0;
    int flags_after = fcntl(fd, F_GETFL), fdflags = fcntl(fd, F_GETFD);
    socklen_t plen = sizeof peer, sklen = sizeof sock;
    memset(&peer, 0, sizeof peer);
    memset(&sock, 0, sizeof sock);
    int prc = getpeername(fd, (struct sockaddr *)&peer, &plen);
    getsockname(fd, (struct sockaddr *)&sock, &sklen);
    char pbuf[80], sbuf[80];
    if (err == 0)
        printf("result=ok");
    else
        printf("errno=%s", errname(err));
    printf(" elapsed_ms=%lld flags_before=0x%x flags_after=0x%x cloexec=%d family=%d peer=%s"
           " peerlen=%u sock=%s",
           elapsed, flags_before, flags_after, (fdflags & FD_CLOEXEC) ? 1 : 0,
           family == AF_INET ? 4 : 6, prc == 0 ? fmt_addr(&peer, pbuf, sizeof pbuf) : "none",
           prc == 0 ? (unsigned)plen : 0u, fmt_addr(&sock, sbuf, sizeof sbuf));
    if (inprogress)
        printf(" inprogress=1");
    if (o->mode != M_CONNECT && err == 0)
        printf(" sent=%d", rc);
    if (err == 0 && send_text != NULL && !o->udp)
        exchange(fd, send_text, o, sent);
    if (err != 0 && o->reuse) {
        const char *rp = getenv("PROBE_REUSE_PORT");
        struct sockaddr_storage again;
        socklen_t alen = make_addr(family == AF_INET ? "127.0.0.1" : "::1", rp ? atoi(rp) : 1,
                                   family == AF_INET ? 4 : 6, &again);
        int r2 = connect(fd, (struct sockaddr *)&again, alen);
        int e2 = r2 < 0 ? errno : 0;
        if (r2 < 0 && e2 == EINPROGRESS)
            e2 = finish_connect(fd, o->timeout_ms);
        printf(" reuse=%s", e2 == 0 ? "ok" : errname(e2));
    }
    printf("\n");
    fflush(stdout);
    close(fd);
}

int main(int argc, char **argv)
{
    struct opts o = {.timeout_ms = 5000, .readmax = -1, .repeat = 1, .mode = M_CONNECT};
    if (argc < 2 || strcmp(argv[1], "connect") != 0)
        usage();
    int i = 2;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--nonblock")) o.nonblock = 1;
        else if (!strcmp(a, "--cloexec")) o.cloexec = 1;
        else if (!strcmp(a, "--v6only")) o.v6only = 1;
        else if (!strcmp(a, "--udp")) o.udp = 1;
        else if (!strcmp(a, "--shut")) o.shut = 1;
        else if (!strcmp(a, "--reuse")) o.reuse = 1;
        else if (!strcmp(a, "--sendto")) o.mode = M_SENDTO;
        else if (!strcmp(a, "--sendmsg")) o.mode = M_SENDMSG;
        else if (!strcmp(a, "--sendmmsg")) o.mode = M_SENDMMSG;
        else if (!strcmp(a, "--sendto-fastopen")) o.mode = M_SENDTO_TFO;
        else if (!strcmp(a, "--sendmsg-fastopen")) o.mode = M_SENDMSG_TFO;
        else if (!strcmp(a, "--family") && i + 1 < argc) o.family = atoi(argv[++i]);
        else if (!strcmp(a, "--timeout-ms") && i + 1 < argc) o.timeout_ms = atoi(argv[++i]);
        else if (!strcmp(a, "--read") && i + 1 < argc) o.readmax = atol(argv[++i]);
        else if (!strcmp(a, "--repeat") && i + 1 < argc) o.repeat = atoi(argv[++i]);
        else usage();
    }
    if (argc - i < 2 || argc - i > 3)
        usage();
    for (int r = 0; r < o.repeat; r++)
        one(argv[i], atoi(argv[i + 1]), argc - i == 3 ? argv[i + 2] : NULL, &o);
    return 0;
}

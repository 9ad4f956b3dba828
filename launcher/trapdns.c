/* DNS jobs on a duplicate of the app's socket (see trapdns.h). Moved out of
 * unotify.c (the dns branch) so that ptrace mode runs the same code. */
#include "trapdns.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "dnssock.h"
#include "dnsstub.h"
#include "sigdue.h"
#include "tsrun.h"

#define DNS_DGRAM_MAX 65536  /* larger than any UDP datagram */
#define DNS_WAIT_SLICE_MS 50 /* how often a waiting recvfrom checks its caller */

void trapdns_stub_for(int family, int type, struct sockaddr_storage *out, socklen_t *len)
{
    const struct unotify_cfg *cfg = trap_cfg();
    const struct sockaddr_in *st4 =
        (const struct sockaddr_in *)(type == SOCK_STREAM ? &cfg->stub_tcp : &cfg->stub);
    memset(out, 0, sizeof *out);
    if (family != AF_INET6) {
        memcpy(out, st4, sizeof *st4);
        *len = sizeof *st4;
        return;
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = st4->sin_port;
    s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s6->sin6_addr.s6_addr[12], &st4->sin_addr, 4);
    *len = sizeof *s6;
}

/* A local address as the (IPv4) stub sees it: ::ffff:a.b.c.d:P -> a.b.c.d:P. */
static void v4_form(struct sockaddr_storage *from)
{
    if (from->ss_family != AF_INET6)
        return;
    struct sockaddr_in6 f6;
    memcpy(&f6, from, sizeof f6);
    struct sockaddr_in *f4 = (struct sockaddr_in *)from;
    memset(from, 0, sizeof *from);
    f4->sin_family = AF_INET;
    f4->sin_port = f6.sin6_port;
    memcpy(&f4->sin_addr, &f6.sin6_addr.s6_addr[12], 4);
}

/* connect() on d, waiting for loopback when d (the app's O_NONBLOCK) does
 * not. 0 or -errno (d is back to unconnected then). */
static int connect_stub(int d, const struct sockaddr_storage *stub, socklen_t sl)
{
    if (connect(d, (const struct sockaddr *)stub, sl) == 0)
        return 0;
    int e = errno;
    struct pollfd p = {.fd = d, .events = POLLOUT};
    socklen_t el = sizeof e;
    if (e == EINPROGRESS && poll(&p, 1, TRAPDNS_TCP_CONNECT_MS) == 1 &&
        getsockopt(d, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0)
        return 0;
    /* Back to unconnected for the kernel's own connect. */
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    (void)connect(d, &unspec, sizeof unspec);
    return -(e ? e : ETIMEDOUT);
}

/* d's local address as the stub sees what d sends it: in IPv4 form, and
 * the wildcard as loopback (an unconnected socket's datagrams to the stub
 * leave from 127.0.0.1). 0 or -errno. */
static int stub_source(int d, struct sockaddr_storage *from)
{
    socklen_t fl = sizeof *from;
    memset(from, 0, sizeof *from);
    if (getsockname(d, (struct sockaddr *)from, &fl) < 0)
        return -errno;
    v4_form(from);
    struct sockaddr_in f4;
    memcpy(&f4, from, sizeof f4);
    if (f4.sin_addr.s_addr == htonl(INADDR_ANY)) {
        f4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        memcpy(from, &f4, sizeof f4);
    }
    return 0;
}

int trapdns_connect(const struct trap_job *j, int d)
{
    bool tcp = j->kind == TRAP_JOB_DNS_TCP;
    struct sockaddr_storage stub, from;
    socklen_t sl;
    trapdns_stub_for(j->family, tcp ? SOCK_STREAM : SOCK_DGRAM, &stub, &sl);
    if (connect_stub(d, &stub, sl) < 0 || stub_source(d, &from) < 0)
        return -ENETUNREACH; /* connected to ns, its tailnet queries could not be seen */
    if (tcp) {
        dnsstub_remember_tcp(&from, &j->dest, j->len);
        struct stat sb;
        if (fstat(d, &sb) == 0)
            trap_peer_remember(sb.st_ino, (const struct sockaddr *)&j->dest, j->len);
    } else {
        dnsstub_remember(&from, &j->dest, j->len);
    }
    tsr_debug("%s: tid %d fd %d: DNS%s connect redirected to the stub", trap_who(), (int)j->tid,
              j->fd, tcp ? "-over-TCP" : "");
    return 0;
}

int64_t trapdns_sendto(const struct trap_job *j, int d)
{
    struct stat sb;
    struct sockaddr_storage st;
    socklen_t sl;
    int rc;
    trapdns_stub_for(j->family, SOCK_DGRAM, &st, &sl);
    struct sockaddr_storage any, from;
    memset(&any, 0, sizeof any);
    any.ss_family = (sa_family_t)j->family;
    if (fstat(d, &sb) < 0) {
        rc = -ENETUNREACH;
    } else {
        dnssock_remember(sb.st_ino, &j->dest, j->len); /* before the answer can arrive */
        /* The stub forwards a query it does not answer itself (one to a
         * nameserver in a tunnelled range) to the nameserver recorded for
         * its source: bound first (as the send would), so that the source
         * is known before the query arrives. An unbound socket's bind to
         * the wildcard and port 0 is what the send does anyway. */
        (void)bind(d, (struct sockaddr *)&any,
                   j->family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                         : sizeof(struct sockaddr_in));
        if (stub_source(d, &from) == 0)
            dnsstub_remember(&from, &j->dest, j->len);
        rc = sendto(d, j->q, j->qlen, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&st, sl) < 0
                 ? -ENETUNREACH
                 : 0;
    }
    unsigned msglen = (unsigned)j->qlen;
    if (rc == 0 && j->msglen_at && trap_mem_write(j->tid, j->msglen_at, &msglen, sizeof msglen) < 0)
        rc = -EFAULT;
    tsr_debug("%s: tid %d fd %d: tailnet DNS query (%s) -> the stub: %s", trap_who(), (int)j->tid,
              j->fd, j->msglen_at ? "sendmmsg" : "sendto/sendmsg", rc == 0 ? "ok" : strerror(-rc));
    return rc < 0 ? rc : j->sent;
}

int64_t trapdns_recv_try(const struct trap_job *j, int d)
{
    size_t cap = j->buflen < DNS_DGRAM_MAX ? (size_t)j->buflen : DNS_DGRAM_MAX;
    uint8_t *data = malloc(cap ? cap : 1);
    if (!data)
        return -ENOMEM;
    struct sockaddr_storage src;
    socklen_t sl = sizeof src;
    int64_t r = recvfrom(d, data, cap, j->flags | MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
    if (r < 0) {
        r = -errno;
        goto out;
    }
    const void *from = &src;
    if (dnssock_from_stub((struct sockaddr *)&src, sl, &trap_cfg()->stub)) {
        from = &j->dest;
        sl = j->len;
    }
    size_t copy = (size_t)r < cap ? (size_t)r : cap, acopy = j->ulen < sl ? j->ulen : sl;
    if ((copy && trap_mem_write(j->tid, j->buf, data, copy) < 0) ||
        (acopy && trap_mem_write(j->tid, j->addr, from, acopy) < 0) ||
        trap_mem_write(j->tid, j->lenp, &sl, sizeof sl) < 0)
        r = -EFAULT;
out:
    free(data);
    return r;
}

bool trapdns_recv_blocks(const struct trap_job *j, int d)
{
    int fl = fcntl(d, F_GETFL);
    return !(j->flags & MSG_DONTWAIT) && fl >= 0 && !(fl & O_NONBLOCK);
}

int64_t trapdns_recv_wait(const struct trap_job *j, int d, bool (*valid)(void *), void *arg)
{
    struct timeval tv = {0};
    socklen_t tl = sizeof tv;
    long left = -1; /* ms; -1: no SO_RCVTIMEO */
    if (getsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) == 0 && (tv.tv_sec || tv.tv_usec))
        left = (long)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
    for (;;) {
        int slice = left >= 0 && left < DNS_WAIT_SLICE_MS ? (int)left : DNS_WAIT_SLICE_MS;
        struct pollfd p = {.fd = d, .events = POLLIN};
        int pr = poll(&p, 1, slice);
        if (!valid(arg))
            return TRAPDNS_GONE;
        if (pr > 0) {
            int64_t r = trapdns_recv_try(j, d);
            if (r != -EAGAIN)
                return r;
        }
        if (sigdue(j->tid))
            return -EINTR; /* the signal is delivered as the call returns */
        if (left >= 0 && (left -= slice) <= 0)
            return -EAGAIN;
    }
}

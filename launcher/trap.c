/* The per-syscall decisions of both supervisors (see trap.h). Moved out of
 * unotify.c unchanged in substance: only "respond(id, X)" became
 * "return X", and the caller (unotify.c or ptracer.c) answers. What is
 * done with a DNS job (on a duplicate of the app's socket) is trapdns.c's.
 *
 * IMPORTANT: for seccomp, memory read from the tracee is trusted only after
 * c->valid() says the notification still stands (the tid may have been
 * recycled); a ptrace-stopped tracee cannot change under us. */
#include "trap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "dnssock.h"
#include "mapview.h"
#include "dnsstub.h"
#include "socks5_dial.h"
#include "tsrun.h"

static const struct unotify_cfg *g_cfg;
static const char *g_who = "seccomp";

void trap_init(const struct unotify_cfg *cfg, const char *who)
{
    g_cfg = cfg;
    g_who = who;
    trap_mem_init();
}

const struct unotify_cfg *trap_cfg(void)
{
    return g_cfg;
}

const char *trap_who(void)
{
    return g_who;
}

/* Sockets tunnelled so far: inode -> the tailnet peer getpeername reports.
 * A ring: the oldest entry goes first (socket inodes are not reused soon). */
#define PEER_MAX 4096

struct peer {
    ino_t ino;
    socklen_t len;
    struct sockaddr_storage sa;
};

static struct peer peers[PEER_MAX];
static size_t npeers, peer_next;
static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;

void trap_peer_remember(ino_t ino, const struct sockaddr *sa, socklen_t len)
{
    pthread_mutex_lock(&peer_lock);
    struct peer *p = &peers[peer_next];
    peer_next = (peer_next + 1) % PEER_MAX;
    if (npeers < PEER_MAX)
        npeers++;
    p->ino = ino;
    p->len = len;
    memcpy(&p->sa, sa, len);
    pthread_mutex_unlock(&peer_lock);
}

static bool peer_lookup(ino_t ino, struct sockaddr_storage *sa, socklen_t *len)
{
    bool found = false;
    pthread_mutex_lock(&peer_lock);
    for (size_t i = 0; i < npeers && !found; i++) {
        if (peers[i].ino == ino) {
            *sa = peers[i].sa;
            *len = peers[i].len;
            found = true;
        }
    }
    pthread_mutex_unlock(&peer_lock);
    return found;
}

static bool peers_empty(void)
{
    pthread_mutex_lock(&peer_lock);
    bool e = npeers == 0;
    pthread_mutex_unlock(&peer_lock);
    return e;
}

static void fd_path(char *out, size_t n, pid_t tid, const char *what, int fd)
{
    snprintf(out, n, "/proc/%d/%s/%d", (int)tid, what, fd);
}

enum sock_kind { SOCK_KIND_NONE, SOCK_KIND_TCP, SOCK_KIND_UDP, SOCK_KIND_OTHER };

/* Where the kernel has no sockprotoname (gVisor): the kind from a
 * duplicate's SO_DOMAIN/SO_TYPE/SO_PROTOCOL (pidfd_getfd); without one,
 * SOCK_KIND_OTHER, so that a connect to the tailnet fails closed. */
static enum sock_kind sock_kind_asked(pid_t tid, int fd, int *family)
{
    int d = trap_app_fd(tid, fd), dom = 0, type = 0, proto = 0;
    if (d < 0)
        return SOCK_KIND_OTHER;
    socklen_t l = sizeof dom, lt = sizeof type, lp = sizeof proto;
    bool ok = getsockopt(d, SOL_SOCKET, SO_DOMAIN, &dom, &l) == 0 &&
              getsockopt(d, SOL_SOCKET, SO_TYPE, &type, &lt) == 0 &&
              getsockopt(d, SOL_SOCKET, SO_PROTOCOL, &proto, &lp) == 0;
    close(d);
    if (!ok || (dom != AF_INET && dom != AF_INET6))
        return SOCK_KIND_OTHER;
    *family = dom;
    if (type == SOCK_STREAM && (proto == IPPROTO_TCP || proto == IPPROTO_MPTCP))
        return SOCK_KIND_TCP;
    if (type == SOCK_DGRAM && proto == IPPROTO_UDP)
        return SOCK_KIND_UDP;
    return SOCK_KIND_OTHER;
}

/* The socket's protocol from its sockprotoname, without touching it. */
static enum sock_kind sock_kind(pid_t tid, int fd, int *family)
{
    char path[64], name[32];
    struct stat sb;
    fd_path(path, sizeof path, tid, "fd", fd);
    ssize_t n = getxattr(path, "system.sockprotoname", name, sizeof name - 1);
    int e = errno;
    if (n < 0 && (e == EOPNOTSUPP || e == ENODATA) && stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        return sock_kind_asked(tid, fd, family);
    if (n < 0)
        return e == ENOENT || e == ENODATA || e == EOPNOTSUPP ? SOCK_KIND_NONE : SOCK_KIND_OTHER;
    name[n] = '\0';
    size_t l = strlen(name);
    *family = l > 2 && strcmp(name + l - 2, "v6") == 0 ? AF_INET6 : AF_INET;
    if (!strcmp(name, "TCP") || !strcmp(name, "TCPv6") || !strcmp(name, "MPTCP") ||
        !strcmp(name, "MPTCPv6"))
        return SOCK_KIND_TCP;
    if (!strcmp(name, "UDP") || !strcmp(name, "UDPv6"))
        return SOCK_KIND_UDP;
    return SOCK_KIND_OTHER;
}

pid_t trap_tgid(pid_t tid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    FILE *f = fopen(path, "re");
    pid_t tgid = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Tgid: %d", &tgid) == 1)
            break;
    fclose(f);
    return tgid;
}

/* O_NONBLOCK / O_CLOEXEC of the app's fd, from fdinfo ("flags:\t0%o"). */
int trap_fd_flags(pid_t tid, int fd)
{
    char path[64], line[128];
    fd_path(path, sizeof path, tid, "fdinfo", fd);
    FILE *f = fopen(path, "re");
    unsigned flags = 0;
    int rc = -ENOENT;
    if (!f)
        return -errno;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "flags: %o", &flags) == 1) {
            rc = (int)flags;
            break;
        }
    fclose(f);
    return rc;
}

/* The proxy as seen from a socket of this family. */
int trap_proxy_for(int family, int v6only, struct sockaddr_storage *out, socklen_t *len)
{
    const struct sockaddr_storage *p = &g_cfg->proxy;
    memset(out, 0, sizeof *out);
    if (p->ss_family == family) {
        *out = *p;
        *len = g_cfg->proxylen;
        return 0;
    }
    if (family != AF_INET6)
        return -EAFNOSUPPORT;
    const struct sockaddr_in *in = (const struct sockaddr_in *)p;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = in->sin_port;
    if (v6only) {
        /* A v6-only socket cannot use ::ffff:127.0.0.1: try loopback's twin. */
        if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
            return -EAFNOSUPPORT;
        in6->sin6_addr = in6addr_loopback;
    } else {
        in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&in6->sin6_addr.s6_addr[12], &in->sin_addr, 4);
    }
    *len = sizeof *in6;
    return 0;
}

int trap_app_fd(pid_t tid, int fd)
{
    pid_t tgid = trap_tgid(tid);
    if (tgid < 0)
        return -ESRCH;
    int pfd = (int)syscall(SYS_pidfd_open, tgid, 0);
    if (pfd < 0)
        return -errno;
    int d = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
    int e = errno;
    close(pfd);
    return d < 0 ? -e : d;
}

bool trap_getfd_refused(int err)
{
    return err == -ENOSYS || err == -EPERM || err == -EACCES;
}

/* The handshake on the app's own socket: every option it set stays. */
int trap_tunnel_getfd(const struct trap_job *j)
{
    int fd = trap_app_fd(j->tid, j->fd);
    if (fd < 0)
        return trap_getfd_refused(fd) ? TRAP_GETFD_REFUSED : fd;
    struct sockaddr_storage ps;
    socklen_t pl = sizeof ps;
    int rc, v6only = 0;
    socklen_t ol = sizeof v6only;
    if (getpeername(fd, (struct sockaddr *)&ps, &pl) == 0) {
        rc = -EISCONN; /* as the kernel answers a second connect */
        goto out;
    }
    if (j->family == AF_INET6)
        getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol);
    rc = trap_proxy_for(j->family, v6only, &ps, &pl);
    if (rc == 0)
        rc = socks5_dial(fd, (struct sockaddr *)&ps, pl, j->dest16, j->port, g_cfg->timeout_ms);
    if (rc < 0) {
        /* Back to unconnected, as a failed kernel connect leaves it. */
        struct sockaddr unspec = {.sa_family = AF_UNSPEC};
        (void)connect(fd, &unspec, sizeof unspec);
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0)
        trap_peer_remember(sb.st_ino, (const struct sockaddr *)&j->dest, j->len);
out:
    close(fd);
    return rc;
}

/* --- the decisions --- */

static bool still_valid(const struct trap_call *c)
{
    return !c->valid || c->valid(c);
}

/* Reads a sockaddr the app passed. TRAP_CONTINUE when the kernel may judge
 * it (bad length, or a pointer the kernel will refuse itself), 0, or -errno
 * to answer. */
static int read_dest(const struct trap_call *n, uint64_t addr, uint64_t len,
                     struct sockaddr_storage *ss)
{
    if (len < sizeof(sa_family_t) || len > sizeof *ss || addr == 0)
        return TRAP_CONTINUE;
    memset(ss, 0, sizeof *ss);
    int rc = trap_mem_read(n->tid, addr, ss, (size_t)len);
    if (rc == -EFAULT)
        return TRAP_CONTINUE;
    /* Unreadable for another reason: we cannot tell where it goes, so it
     * does not go (fail closed). */
    return rc < 0 ? -ENETUNREACH : 0;
}

/* A nameserver's port (53) while the stub runs: a DNS query to redirect? */
static bool dns_port(const struct sockaddr_storage *ss, socklen_t len)
{
    uint8_t a16[16];
    uint16_t port = 0;
    return g_cfg->dns && route_addr16((const struct sockaddr *)ss, len, a16, &port) &&
           port == DNSSTUB_PORT;
}

/* A DNS job on the app's fd, addressed to ns. TRAP_DNS or -ENOBUFS. */
static int dns_job(const struct trap_call *n, enum trap_job_kind kind, int fd, int family,
                   const struct sockaddr_storage *ns, socklen_t nslen, struct trap_job **out)
{
    struct trap_job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOBUFS;
    j->kind = kind;
    j->id = n->id;
    j->tid = n->tid;
    j->fd = fd;
    j->family = family;
    j->dest = *ns;
    j->len = nslen;
    *out = j;
    return TRAP_DNS;
}

static int on_connect(const struct trap_call *n, struct trap_job **out)
{
    int fd = (int)n->args[0];
    socklen_t len = (socklen_t)n->args[2];
    struct sockaddr_storage ss;
    int rc = read_dest(n, n->args[1], n->args[2], &ss);
    if (!still_valid(n))
        return TRAP_GONE;
    bool tunnelled = rc == 0 && route_is_tunnelled((struct sockaddr *)&ss, len, &g_cfg->routes);
    /* Port 53 of any nameserver, in a tunnelled range too (MagicDNS's
     * 100.100.100.100, one behind a subnet route or an exit node): Go's
     * resolver on UDP, and DNS over TCP, go to the stub instead, which
     * forwards other names (through the proxy to a tunnelled nameserver,
     * dnsstub.c). A TCP one without the stub's TCP listener fails:
     * connected to the nameserver itself, it would carry tailnet queries
     * unseen. */
    if (rc == 0 && dns_port(&ss, len)) {
        int fam = AF_INET;
        enum sock_kind k = sock_kind(n->tid, fd, &fam);
        if (k == SOCK_KIND_UDP || (k == SOCK_KIND_TCP && g_cfg->dns_tcp))
            return dns_job(n, k == SOCK_KIND_UDP ? TRAP_JOB_DNS_UDP : TRAP_JOB_DNS_TCP, fd, fam,
                           &ss, len, out);
        if (k == SOCK_KIND_TCP)
            return -ENETUNREACH;
    }
    if (!tunnelled)
        return rc ? rc : TRAP_CONTINUE;
    int family = AF_INET;
    enum sock_kind k = sock_kind(n->tid, fd, &family);
    if (k != SOCK_KIND_TCP) {
        /* Only TCP is tunnelled; UDP or raw to the tailnet never leaves
         * through the kernel's routes. */
        return k == SOCK_KIND_NONE ? -ENOTSOCK : -ENETUNREACH;
    }
    struct trap_job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOBUFS;
    j->kind = TRAP_JOB_TUNNEL;
    j->id = n->id;
    j->tid = (pid_t)n->tid;
    j->fd = fd;
    j->family = family;
    j->len = len;
    j->dest = ss;
    route_addr16((struct sockaddr *)&ss, len, j->dest16, &j->port);
    /* The name map as it is now (mapview.h): an offline peer would make
     * tailscaled wait its full 5 s dial timeout, and while tailscaled is
     * not Running every dial would; both are refused at once, as the shim
     * does. */
    char state[NAMES_MAX_BACKEND];
    int refuse = 0;
    if (mapview_addr_state(j->dest16) == NAMES_OFFLINE) {
        tsr_debug("%s: tid %d fd %d: peer offline in the name map (EHOSTUNREACH)", g_who, j->tid,
                  fd);
        refuse = -EHOSTUNREACH;
    } else if (mapview_backend_stopped(state)) {
        tsr_debug("%s: tid %d fd %d: tailscaled is %s (ECONNREFUSED)", g_who, j->tid, fd, state);
        refuse = -ECONNREFUSED;
    }
    if (refuse) {
        free(j);
        return refuse;
    }
    *out = j;
    return TRAP_TUNNEL;
}

static int on_getpeername(const struct trap_call *n)
{
    if (peers_empty())
        return TRAP_CONTINUE;
    char path[64];
    struct stat sb;
    struct sockaddr_storage sa;
    socklen_t salen, ulen;
    fd_path(path, sizeof path, n->tid, "fd", (int)n->args[0]);
    if (stat(path, &sb) < 0 || !peer_lookup(sb.st_ino, &sa, &salen))
        return TRAP_CONTINUE;
    uint64_t addr = n->args[1], lenp = n->args[2];
    if (trap_mem_read(n->tid, lenp, &ulen, sizeof ulen) < 0)
        return -EFAULT;
    if (!still_valid(n))
        return TRAP_GONE;
    /* Like the kernel: copy what fits, report the full length. */
    size_t copy = ulen < salen ? ulen : salen;
    if ((copy && trap_mem_write(n->tid, addr, &sa, copy) < 0) ||
        trap_mem_write(n->tid, lenp, &salen, sizeof salen) < 0)
        return -EFAULT;
    return 0;
}

/* What an addressed send to a tunnelled destination gets from a socket of
 * kind k: TCP ignores the address unless MSG_FASTOPEN would open a
 * connection past the tunnel; anything else never leaves through the
 * kernel's routes. */
static int tunnelled_send_verdict(enum sock_kind k, uint64_t flags)
{
    if (k == SOCK_KIND_TCP)
        return (flags & MSG_FASTOPEN) ? -EOPNOTSUPP : TRAP_CONTINUE;
    return k == SOCK_KIND_NONE ? -ENOTSOCK : -ENETUNREACH;
}

/* A DNS job for the query q (qlen bytes, of which the first
 * TRAP_DNS_QUERY_MAX were read) when it asks about a tailnet name: TRAP_DNS
 * (the job answers qlen once sent), TRAP_CONTINUE (another name: to the
 * nameserver), -EMSGSIZE (a tailnet question in a datagram too large to
 * redirect: it never reaches the nameserver either; the question, at most
 * 272 bytes, is in what was read) or -ENOBUFS. all: ns is in a tunnelled
 * range, so every query goes through the stub, which forwards other names
 * to it through the proxy (dnsstub.c). */
static int dns_query_job(const struct trap_call *n, int family, const struct sockaddr_storage *ns,
                         socklen_t nslen, bool all, const uint8_t *q, size_t qlen,
                         struct trap_job **out)
{
    if (!all && !dnsstub_is_tailnet(q, qlen < TRAP_DNS_QUERY_MAX ? qlen : TRAP_DNS_QUERY_MAX))
        return TRAP_CONTINUE;
    if (qlen > TRAP_DNS_QUERY_MAX)
        return -EMSGSIZE;
    int rc = dns_job(n, TRAP_JOB_DNS_SENDTO, (int)n->args[0], family, ns, nslen, out);
    if (rc == TRAP_DNS) {
        memcpy((*out)->q, q, qlen);
        (*out)->qlen = qlen;
        (*out)->sent = (int64_t)qlen;
    }
    return rc;
}

/* A send to a nameserver's port 53 that tsrun could not judge whole, so
 * that a tailnet query could pass the stub: a TCP fast open (a connect that
 * carries its first bytes, past trapdns_connect) or a corked UDP datagram
 * (MSG_MORE: its query is not all in this call). -EOPNOTSUPP for those (no
 * resolver sends either), 0 for any other. A socket corked with UDP_CORK
 * cannot be seen. */
static int dns_send_flags(enum sock_kind k, uint64_t flags)
{
    if ((k == SOCK_KIND_TCP && (flags & MSG_FASTOPEN)) ||
        (k == SOCK_KIND_UDP && (flags & MSG_MORE)))
        return -EOPNOTSUPP;
    return 0;
}

/* sendto(fd, q, qlen, flags, ns, nslen) to port 53: a tailnet query on a
 * UDP socket is a DNS job (musl's static resolver asks this way); any other
 * datagram continues. The query is read here: unreadable for another reason
 * than a bad pointer, it might be a tailnet name and fails (-ENETUNREACH).
 * Only its first TRAP_DNS_QUERY_MAX bytes are read (see dns_query_job). */
static int dns_sendto(const struct trap_call *n, const struct sockaddr_storage *ns, socklen_t nslen,
                      bool all, struct trap_job **out)
{
    uint8_t q[TRAP_DNS_QUERY_MAX];
    int fd = (int)n->args[0], family = AF_INET;
    uint64_t qlen = n->args[2];
    enum sock_kind k = sock_kind(n->tid, fd, &family);
    int refuse = dns_send_flags(k, n->args[3]);
    if (refuse)
        return refuse;
    if (qlen < 12 || k != SOCK_KIND_UDP)
        return TRAP_CONTINUE;
    int rc = trap_mem_read(n->tid, n->args[1], q, qlen < sizeof q ? (size_t)qlen : sizeof q);
    if (rc == -EFAULT)
        return TRAP_CONTINUE; /* the kernel refuses it too */
    if (!still_valid(n))
        return TRAP_GONE;
    if (rc < 0)
        return -ENETUNREACH;
    return dns_query_job(n, family, ns, nslen, all, q, (size_t)qlen, out);
}

static int on_sendto(const struct trap_call *n, struct trap_job **out)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)n->args[5];
    int rc = read_dest(n, n->args[4], n->args[5], &ss);
    if (!still_valid(n))
        return TRAP_GONE;
    if (rc != 0)
        return rc;
    bool tunnelled = route_is_tunnelled((struct sockaddr *)&ss, len, &g_cfg->routes);
    if (dns_port(&ss, len)) {
        rc = dns_sendto(n, &ss, len, tunnelled, out);
        if (rc != TRAP_CONTINUE || !tunnelled)
            return rc;
    }
    if (!tunnelled)
        return TRAP_CONTINUE;
    int family;
    return tunnelled_send_verdict(sock_kind(n->tid, (int)n->args[0], &family), n->args[3]);
}

/* --- sendmsg and sendmmsg: the address and the datagram inside struct msghdr --- */

/* msg_decide's "the kernel fails this message itself before sending it"
 * (sendmsg continues; sendmmsg stops looking there, as the kernel stops
 * sending there). Internal, never returned by trap_decide. */
#define MSG_KERNEL_REFUSES 100

#define MSG_MAXIOV 1024  /* UIO_MAXIOV (linux/uio.h): the kernel's cap on iovecs and vlen */
#define MSG_IOV_CHUNK 64 /* iovecs read from the tracee at a time */
#define MSG_CONTROL_MAX (64 << 10) /* control bytes read to check them (see msg_control_ok) */

/* The socket of a sendmsg/sendmmsg (n->args[0]), looked up once per call. */
struct msg_sock {
    bool known;
    enum sock_kind kind;
    int family;
};

static enum sock_kind msg_sock_kind(const struct trap_call *n, struct msg_sock *s)
{
    if (!s->known) {
        s->family = AF_INET;
        s->kind = sock_kind(n->tid, (int)n->args[0], &s->family);
        s->known = true;
    }
    return s->kind;
}

/* The datagram mh's iovecs gather, its first TRAP_DNS_QUERY_MAX bytes into
 * q: 0 and *qlen (its whole length, 12 or more), TRAP_CONTINUE (shorter:
 * not a query), MSG_KERNEL_REFUSES (more than MSG_MAXIOV iovecs: EMSGSIZE;
 * a length beyond SSIZE_MAX: EINVAL; an iovec array or a byte read that the
 * kernel cannot read: EFAULT) or -ENETUNREACH (unreadable for another
 * reason). */
static int msg_gather(const struct trap_call *n, const struct msghdr *mh, uint8_t *q, size_t *qlen)
{
    struct iovec v[MSG_IOV_CHUNK];
    size_t total = 0, iovlen = mh->msg_iovlen;
    bool fault = false;
    if (iovlen > MSG_MAXIOV)
        return MSG_KERNEL_REFUSES;
    for (size_t i = 0; i < iovlen; i += MSG_IOV_CHUNK) {
        size_t k = iovlen - i < MSG_IOV_CHUNK ? iovlen - i : MSG_IOV_CHUNK;
        int rc = trap_mem_read(n->tid, (uint64_t)(uintptr_t)mh->msg_iov + (uint64_t)i * sizeof *v,
                               v, k * sizeof *v);
        if (rc < 0)
            return rc == -EFAULT ? MSG_KERNEL_REFUSES : -ENETUNREACH;
        for (size_t j = 0; j < k; j++) {
            if (v[j].iov_len > (size_t)SSIZE_MAX - total)
                return MSG_KERNEL_REFUSES;
            size_t room = total < TRAP_DNS_QUERY_MAX ? TRAP_DNS_QUERY_MAX - total : 0;
            size_t take = v[j].iov_len < room ? v[j].iov_len : room;
            if (take && !fault) {
                rc = trap_mem_read(n->tid, (uint64_t)(uintptr_t)v[j].iov_base, q + total, take);
                if (rc < 0 && rc != -EFAULT)
                    return -ENETUNREACH;
                fault = rc == -EFAULT;
            }
            total += v[j].iov_len;
        }
    }
    if (total < 12)
        return TRAP_CONTINUE;
    if (fault)
        return MSG_KERNEL_REFUSES;
    *qlen = total;
    return 0;
}

/* IMPORTANT: the control messages of a redirected query are dropped: they
 * steer how a datagram leaves this host (source address and interface,
 * TTL/hop limit, TOS, GSO segment size, mark, transmit time) and this one
 * does not leave it (the stub on loopback answers). What is kept from the
 * kernel is its refusal before sending: a control buffer it cannot read
 * (EFAULT) leaves the call to it. Their content is not checked (a malformed
 * message the kernel would refuse with EINVAL is dropped like the rest),
 * and more than MSG_CONTROL_MAX bytes fail closed. 0, MSG_KERNEL_REFUSES or
 * -ENETUNREACH. */
static int msg_control_ok(const struct trap_call *n, const struct msghdr *mh)
{
    uint8_t buf[1024];
    size_t len = mh->msg_controllen;
    if (len > MSG_CONTROL_MAX)
        return -ENETUNREACH;
    for (size_t off = 0; off < len; off += sizeof buf) {
        size_t k = len - off < sizeof buf ? len - off : sizeof buf;
        int rc = trap_mem_read(n->tid, (uint64_t)(uintptr_t)mh->msg_control + off, buf, k);
        if (rc < 0)
            return rc == -EFAULT ? MSG_KERNEL_REFUSES : -ENETUNREACH;
    }
    return 0;
}

/* One message of a sendmsg or sendmmsg (socket n->args[0], send flags):
 * TRAP_CONTINUE (no address, or one tsrun lets through), MSG_KERNEL_REFUSES,
 * TRAP_DNS with *out (a tailnet query to a nameserver's port 53 on a UDP
 * socket: a TRAP_JOB_DNS_SENDTO job), or -errno to answer (a tunnelled
 * destination: as sendto; an address or a query that cannot be read for
 * another reason than a bad pointer: -ENETUNREACH). What was read from the
 * tracee is trusted only after the caller's still_valid. */
static int msg_decide(const struct trap_call *n, const struct msghdr *mh, uint64_t flags,
                      struct msg_sock *s, struct trap_job **out)
{
    struct sockaddr_storage ss;
    /* The kernel takes msg_namelen as an int and clamps a length beyond a
     * sockaddr_storage to it (net/socket.c __copy_msghdr), where sendto
     * refuses one (EINVAL). */
    if (!mh->msg_name || !mh->msg_namelen)
        return TRAP_CONTINUE;
    if (mh->msg_namelen > INT32_MAX)
        return MSG_KERNEL_REFUSES;
    socklen_t len = mh->msg_namelen > sizeof ss ? (socklen_t)sizeof ss : mh->msg_namelen;
    int rc = read_dest(n, (uint64_t)(uintptr_t)mh->msg_name, len, &ss);
    if (rc == TRAP_CONTINUE)
        return MSG_KERNEL_REFUSES; /* a bad pointer (EFAULT), or a length too short for
                                    * any family (EINVAL; TCP ignores it, but only a fast
                                    * open reads it, and refuses it) */
    if (rc < 0)
        return -ENETUNREACH;
    bool tunnelled = route_is_tunnelled((struct sockaddr *)&ss, len, &g_cfg->routes);
    if (!dns_port(&ss, len))
        return tunnelled ? tunnelled_send_verdict(msg_sock_kind(n, s), flags) : TRAP_CONTINUE;
    rc = dns_send_flags(msg_sock_kind(n, s), flags);
    if (rc != 0)
        return rc;
    if (s->kind != SOCK_KIND_UDP)
        return tunnelled ? tunnelled_send_verdict(s->kind, flags) : TRAP_CONTINUE;
    uint8_t q[TRAP_DNS_QUERY_MAX];
    size_t qlen = 0;
    rc = msg_gather(n, mh, q, &qlen);
    if (rc == TRAP_CONTINUE && tunnelled)
        return -ENETUNREACH; /* not a query, and UDP to the tailnet never leaves */
    if (rc != 0)
        return rc;
    rc = dns_query_job(n, s->family, &ss, len, tunnelled, q, qlen, out);
    /* Only a query about the tailnet has its control messages read: any
     * other datagram is the kernel's, whatever they hold. */
    int ctl = rc == TRAP_DNS && mh->msg_controllen ? msg_control_ok(n, mh) : 0;
    if (ctl != 0) {
        free(*out);
        *out = NULL;
        return ctl;
    }
    return rc;
}

/* sendmsg(fd, msg, flags): a tailnet query is sent to the stub and
 * answered with its byte count. */
static int on_sendmsg(const struct trap_call *n, struct trap_job **out)
{
    struct msghdr mh;
    struct msg_sock s = {0};
    int rc = trap_mem_read(n->tid, n->args[1], &mh, sizeof mh);
    if (rc == -EFAULT)
        return TRAP_CONTINUE; /* the kernel refuses it too */
    rc = rc < 0 ? -ENETUNREACH : msg_decide(n, &mh, n->args[2], &s, out);
    if (!still_valid(n)) {
        free(*out);
        *out = NULL;
        return TRAP_GONE;
    }
    return rc == MSG_KERNEL_REFUSES ? TRAP_CONTINUE : rc;
}

/* sendmmsg(fd, msgvec, vlen, flags) returns how many entries it sent, and
 * callers send the rest again. IMPORTANT: an entry is either sent by the
 * kernel or answered by tsrun, never both, and tsrun cannot send entries
 * for the kernel: so a tailnet query in entry 0 is sent to the stub alone
 * (the call answers 1, msg_len written as the kernel would), a tailnet
 * query in a later entry fails the whole call (-ENETUNREACH: nothing is
 * sent, the caller cannot be told "the first k went"), and so does one
 * entry to a tunnelled destination (as sendto). Entries after one the
 * kernel refuses itself are not looked at: it stops there. */
static int on_sendmmsg(const struct trap_call *n, struct trap_job **out)
{
    unsigned vlen = n->args[2] > MSG_MAXIOV ? MSG_MAXIOV : (unsigned)n->args[2];
    struct msg_sock s = {0};
    int rc = TRAP_CONTINUE;
    for (unsigned i = 0; i < vlen && rc == TRAP_CONTINUE; i++) {
        struct mmsghdr m;
        uint64_t at = n->args[1] + (uint64_t)i * sizeof m;
        rc = trap_mem_read(n->tid, at, &m, sizeof m);
        if (rc == -EFAULT)
            break; /* the kernel stops (or fails) here itself */
        rc = rc < 0 ? -ENETUNREACH : msg_decide(n, &m.msg_hdr, n->args[3], &s, out);
        if (rc == TRAP_DNS && i > 0) {
            free(*out);
            *out = NULL;
            rc = -ENETUNREACH;
        } else if (rc == TRAP_DNS) {
            (*out)->sent = 1;
            (*out)->msglen_at = at + offsetof(struct mmsghdr, msg_len);
        }
    }
    if (!still_valid(n)) {
        free(*out);
        *out = NULL;
        return TRAP_GONE;
    }
    return rc == MSG_KERNEL_REFUSES || rc == -EFAULT ? TRAP_CONTINUE : rc;
}

/* recvfrom(fd, buf, len, flags, src_addr != NULL, addrlen): a DNS job only
 * on a socket a tailnet query went out on (dnssock.h); the kernel answers
 * every other one, and MSG_ERRQUEUE/MSG_OOB. */
static int on_recvfrom(const struct trap_call *n, struct trap_job **out)
{
    char path[64];
    struct stat sb;
    struct sockaddr_storage ns;
    socklen_t nslen, ulen;
    int fd = (int)n->args[0], flags = (int)n->args[3];
    if (dnssock_empty() || !n->args[4] || !n->args[5] || (flags & (MSG_ERRQUEUE | MSG_OOB)))
        return TRAP_CONTINUE;
    fd_path(path, sizeof path, n->tid, "fd", fd);
    if (stat(path, &sb) < 0 || !dnssock_lookup(sb.st_ino, &ns, &nslen) ||
        trap_mem_read(n->tid, n->args[5], &ulen, sizeof ulen) < 0)
        return TRAP_CONTINUE; /* the kernel answers (or faults) */
    if (!still_valid(n))
        return TRAP_GONE;
    int rc = dns_job(n, TRAP_JOB_DNS_RECVFROM, fd, AF_UNSPEC, &ns, nslen, out);
    if (rc == TRAP_DNS) {
        struct trap_job *j = *out;
        j->buf = n->args[1];
        j->buflen = n->args[2];
        j->flags = flags;
        j->addr = n->args[4];
        j->lenp = n->args[5];
        j->ulen = ulen;
    }
    return rc;
}

int trap_decide(const struct trap_call *c, struct trap_job **job)
{
    *job = NULL;
    switch (c->nr) {
    case __NR_connect:
        return on_connect(c, job);
    case __NR_getpeername:
        return on_getpeername(c);
    case __NR_sendto:
        return on_sendto(c, job);
    case __NR_sendmsg:
        return on_sendmsg(c, job);
    case __NR_sendmmsg:
        return on_sendmmsg(c, job);
    case __NR_recvfrom:
        return on_recvfrom(c, job);
    default:
        return TRAP_CONTINUE;
    }
}

int trap_spawn(void *(*fn)(void *), void *arg)
{
    /* The thread must not take the signals meant for the command. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, (size_t)64 * 1024);
    int rc = pthread_create(&t, &at, fn, arg);
    pthread_attr_destroy(&at);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}

void trap_report_exec(const char *file, const char *shown)
{
    struct stat sb;
    bool priv =
        stat(file, &sb) == 0 && S_ISREG(sb.st_mode) &&
        ((sb.st_mode & (S_ISUID | S_ISGID)) || getxattr(file, "security.capability", NULL, 0) > 0);
    if (!priv)
        return;
    static struct {
        dev_t dev;
        ino_t ino;
    } said[8];
    static unsigned nsaid;
    for (unsigned i = 0; i < nsaid && i < 8; i++)
        if (said[i].dev == sb.st_dev && said[i].ino == sb.st_ino)
            return;
    said[nsaid % 8].dev = sb.st_dev;
    said[nsaid++ % 8].ino = sb.st_ino;
    tsr_warn("%s is %s: under --intercept=%s without CAP_SYS_ADMIN (no-new-privs) it runs without "
             "those privileges",
             shown,
             (sb.st_mode & S_ISUID)   ? "setuid"
             : (sb.st_mode & S_ISGID) ? "setgid"
                                      : "setcap",
             g_who);
}

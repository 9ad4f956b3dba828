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
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
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

int trap_mem_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
    struct iovec l = {.iov_base = buf, .iov_len = len};
    struct iovec r = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
    ssize_t n = process_vm_readv(tid, &l, 1, &r, 1, 0);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EFAULT;
}

int trap_mem_write(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
    struct iovec l = {.iov_base = (void *)buf, .iov_len = len};
    struct iovec r = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
    ssize_t n = process_vm_writev(tid, &l, 1, &r, 1, 0);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EFAULT;
}

static void fd_path(char *out, size_t n, pid_t tid, const char *what, int fd)
{
    snprintf(out, n, "/proc/%d/%s/%d", (int)tid, what, fd);
}

enum sock_kind { SOCK_KIND_NONE, SOCK_KIND_TCP, SOCK_KIND_UDP, SOCK_KIND_OTHER };

/* The socket's protocol from its sockprotoname, without touching it. */
static enum sock_kind sock_kind(pid_t tid, int fd, int *family)
{
    char path[64], name[32];
    fd_path(path, sizeof path, tid, "fd", fd);
    ssize_t n = getxattr(path, "system.sockprotoname", name, sizeof name - 1);
    if (n < 0)
        return errno == ENOENT || errno == ENODATA || errno == EOPNOTSUPP ? SOCK_KIND_NONE
                                                                          : SOCK_KIND_OTHER;
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

static pid_t tgid_of(pid_t tid)
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
    pid_t tgid = tgid_of(tid);
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
    if (rc != 0 || !route_is_tunnelled((struct sockaddr *)&ss, len, &g_cfg->routes)) {
        int fam = AF_INET;
        enum sock_kind k =
            rc == 0 && dns_port(&ss, len) ? sock_kind(n->tid, fd, &fam) : SOCK_KIND_NONE;
        /* Go's resolver on UDP, and DNS over TCP: to the stub instead. */
        if (k == SOCK_KIND_UDP || (k == SOCK_KIND_TCP && g_cfg->dns_tcp))
            return dns_job(n, k == SOCK_KIND_UDP ? TRAP_JOB_DNS_UDP : TRAP_JOB_DNS_TCP, fd, fam,
                           &ss, len, out);
        return rc ? rc : TRAP_CONTINUE;
    }
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

/* What an addressed send to a tunnelled destination gets: TCP ignores the
 * address unless MSG_FASTOPEN would open a connection past the tunnel;
 * anything else never leaves through the kernel's routes. */
static int tunnelled_send_verdict(pid_t tid, int fd, uint64_t flags)
{
    int family;
    enum sock_kind k = sock_kind(tid, fd, &family);
    if (k == SOCK_KIND_TCP)
        return (flags & MSG_FASTOPEN) ? -EOPNOTSUPP : TRAP_CONTINUE;
    return k == SOCK_KIND_NONE ? -ENOTSOCK : -ENETUNREACH;
}

/* sendto(fd, q, qlen, flags, ns, nslen) to port 53: a tailnet query on a
 * UDP socket is a DNS job (musl's static resolver asks this way); any other
 * datagram continues. The query is read here: unreadable for another reason
 * than a bad pointer, it might be a tailnet name and fails (-ENETUNREACH). */
static int dns_sendto(const struct trap_call *n, const struct sockaddr_storage *ns, socklen_t nslen,
                      struct trap_job **out)
{
    uint8_t q[TRAP_DNS_QUERY_MAX];
    int fd = (int)n->args[0], family = AF_INET;
    uint64_t qlen = n->args[2];
    if (qlen < 12 || qlen > sizeof q || sock_kind(n->tid, fd, &family) != SOCK_KIND_UDP)
        return TRAP_CONTINUE;
    int rc = trap_mem_read(n->tid, n->args[1], q, (size_t)qlen);
    if (rc == -EFAULT)
        return TRAP_CONTINUE; /* the kernel refuses it too */
    if (!still_valid(n))
        return TRAP_GONE;
    if (rc < 0)
        return -ENETUNREACH;
    if (!dnsstub_is_tailnet(q, (size_t)qlen))
        return TRAP_CONTINUE;
    rc = dns_job(n, TRAP_JOB_DNS_SENDTO, fd, family, ns, nslen, out);
    if (rc == TRAP_DNS) {
        memcpy((*out)->q, q, (size_t)qlen);
        (*out)->qlen = (size_t)qlen;
    }
    return rc;
}

static int on_sendto(const struct trap_call *n, struct trap_job **out)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)n->args[5];
    int rc = read_dest(n, n->args[4], n->args[5], &ss);
    if (!still_valid(n))
        return TRAP_GONE;
    if (rc == 0 && !route_is_tunnelled((struct sockaddr *)&ss, len, &g_cfg->routes))
        return dns_port(&ss, len) ? dns_sendto(n, &ss, len, out) : TRAP_CONTINUE;
    if (rc != 0)
        return rc;
    return tunnelled_send_verdict(n->tid, (int)n->args[0], n->args[3]);
}

/* --- sendmsg and sendmmsg: the address inside struct msghdr --- */

/* 1 when mh names a tunnelled destination, 0 when not (no address, or one
 * the kernel refuses itself), -errno when its address cannot be read (the
 * caller fails closed). */
static int msghdr_tunnelled(const struct trap_call *n, const struct msghdr *mh)
{
    struct sockaddr_storage ss;
    if (!mh->msg_name || !mh->msg_namelen)
        return 0;
    int rc = read_dest(n, (uint64_t)(uintptr_t)mh->msg_name, mh->msg_namelen, &ss);
    if (rc == TRAP_CONTINUE)
        return 0;
    if (rc < 0)
        return rc;
    return route_is_tunnelled((struct sockaddr *)&ss, mh->msg_namelen, &g_cfg->routes) ? 1 : 0;
}

/* sendmsg(fd, msg, flags). */
static int on_sendmsg(const struct trap_call *n)
{
    struct msghdr mh;
    int rc = trap_mem_read(n->tid, n->args[1], &mh, sizeof mh);
    if (rc == -EFAULT)
        return TRAP_CONTINUE; /* the kernel refuses it too */
    if (rc == 0)
        rc = msghdr_tunnelled(n, &mh);
    if (!still_valid(n))
        return TRAP_GONE;
    if (rc < 0)
        return -ENETUNREACH;
    return rc == 0 ? TRAP_CONTINUE : tunnelled_send_verdict(n->tid, (int)n->args[0], n->args[2]);
}

/* sendmmsg(fd, msgvec, vlen, flags): one tunnelled entry fails the whole
 * call (the kernel would send the entries before it first). */
static int on_sendmmsg(const struct trap_call *n)
{
    enum { MMSG_MAX = 1024 }; /* UIO_MAXIOV: the kernel's cap on vlen */
    unsigned vlen = n->args[2] > MMSG_MAX ? MMSG_MAX : (unsigned)n->args[2];
    int rc = 0;
    for (unsigned i = 0; i < vlen && rc == 0; i++) {
        struct mmsghdr m;
        rc = trap_mem_read(n->tid, n->args[1] + (uint64_t)i * sizeof m, &m, sizeof m);
        if (rc == -EFAULT) {
            rc = 0; /* the kernel stops (or fails) here itself */
            break;
        }
        if (rc == 0)
            rc = msghdr_tunnelled(n, &m.msg_hdr);
    }
    if (!still_valid(n))
        return TRAP_GONE;
    if (rc < 0)
        return -ENETUNREACH;
    return rc == 0 ? TRAP_CONTINUE : tunnelled_send_verdict(n->tid, (int)n->args[0], n->args[3]);
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
    if (dnssock_empty() || !n->args[5] || (flags & (MSG_ERRQUEUE | MSG_OOB)))
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
        return on_sendmsg(c);
    case __NR_sendmmsg:
        return on_sendmmsg(c);
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

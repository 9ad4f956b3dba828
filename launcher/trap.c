/* The per-syscall decisions of both supervisors (see trap.h). Moved out of
 * unotify.c unchanged in substance: only "respond(id, X)" became
 * "return X", and the caller (unotify.c or ptrace.c) answers.
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

static int mem_write(pid_t tid, uint64_t addr, const void *buf, size_t len)
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

enum sock_kind { SOCK_KIND_NONE, SOCK_KIND_TCP, SOCK_KIND_OTHER };

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

/* The handshake on the app's own socket: every option it set stays. */
int trap_tunnel_getfd(const struct trap_job *j)
{
    pid_t tgid = tgid_of(j->tid);
    if (tgid < 0)
        return -ESRCH;
    int pfd = (int)syscall(SYS_pidfd_open, tgid, 0);
    if (pfd < 0)
        return errno == ENOSYS || errno == EPERM ? TRAP_GETFD_REFUSED : -errno;
    int fd = (int)syscall(SYS_pidfd_getfd, pfd, j->fd, 0);
    int e = errno;
    close(pfd);
    if (fd < 0)
        return e == ENOSYS || e == EPERM || e == EACCES ? TRAP_GETFD_REFUSED : -e;
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

static bool is_offline(const uint8_t a[16])
{
    for (size_t i = 0; i < g_cfg->noffline; i++)
        if (memcmp(g_cfg->offline[i], a, 16) == 0)
            return true;
    return false;
}

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

static bool is_udp(pid_t tid, int fd, int *family)
{
    char path[64], name[32];
    fd_path(path, sizeof path, tid, "fd", fd);
    ssize_t l = getxattr(path, "system.sockprotoname", name, sizeof name - 1);
    if (l < 0)
        return false;
    name[l] = '\0';
    *family = !strcmp(name, "UDPv6") ? AF_INET6 : AF_INET;
    return !strcmp(name, "UDP") || !strcmp(name, "UDPv6");
}

/* A UDP socket connected to a nameserver (Go's pure resolver): connect it
 * to the stub instead, which answers tailnet names and forwards the rest to
 * ns. TRAP_CONTINUE when that cannot be done (the query then goes to ns). */
static int redirect_dns(const struct trap_call *n, int fd, int family,
                        const struct sockaddr_storage *ns, socklen_t nslen)
{
    pid_t tgid = tgid_of((pid_t)n->tid);
    int pfd = tgid < 0 ? -1 : (int)syscall(SYS_pidfd_open, tgid, 0);
    if (pfd < 0)
        return TRAP_CONTINUE;
    int lfd = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
    close(pfd);
    if (lfd < 0)
        return TRAP_CONTINUE;
    struct sockaddr_storage stub, from;
    socklen_t sl, fl = sizeof from;
    int rc = TRAP_CONTINUE;
    const struct sockaddr_in *st4 = (const struct sockaddr_in *)&g_cfg->stub;
    memset(&stub, 0, sizeof stub);
    memset(&from, 0, sizeof from);
    if (family == AF_INET) {
        memcpy(&stub, st4, sizeof *st4);
        sl = sizeof *st4;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&stub;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = st4->sin_port;
        s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&s6->sin6_addr.s6_addr[12], &st4->sin_addr, 4);
        sl = sizeof *s6;
    }
    if (connect(lfd, (struct sockaddr *)&stub, sl) < 0 ||
        getsockname(lfd, (struct sockaddr *)&from, &fl) < 0)
        goto out;
    if (from.ss_family == AF_INET6) {
        /* The stub (IPv4) sees ::ffff:127.0.0.1:P as 127.0.0.1:P. */
        struct sockaddr_in6 f6;
        memcpy(&f6, &from, sizeof f6);
        struct sockaddr_in *f4 = (struct sockaddr_in *)&from;
        memset(&from, 0, sizeof from);
        f4->sin_family = AF_INET;
        f4->sin_port = f6.sin6_port;
        memcpy(&f4->sin_addr, &f6.sin6_addr.s6_addr[12], 4);
    }
    dnsstub_remember(&from, ns, nslen);
    tsr_debug("%s: tid %d fd %d: DNS connect redirected to the stub", g_who, (int)n->tid, fd);
    rc = 0;
out:
    close(lfd);
    return rc;
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
        uint8_t a16[16];
        uint16_t port = 0;
        int fam;
        if (rc == 0 && g_cfg->dns && route_addr16((struct sockaddr *)&ss, len, a16, &port) &&
            port == DNSSTUB_PORT && is_udp(n->tid, fd, &fam)) {
            return redirect_dns(n, fd, fam, &ss, len);
        }
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
    j->id = n->id;
    j->tid = (pid_t)n->tid;
    j->fd = fd;
    j->family = family;
    j->len = len;
    j->dest = ss;
    route_addr16((struct sockaddr *)&ss, len, j->dest16, &j->port);
    if (is_offline(j->dest16)) {
        tsr_debug("%s: tid %d fd %d: peer offline in the status (EHOSTUNREACH)", g_who, j->tid, fd);
        free(j);
        return -EHOSTUNREACH;
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
    if ((copy && mem_write(n->tid, addr, &sa, copy) < 0) ||
        mem_write(n->tid, lenp, &salen, sizeof salen) < 0)
        return -EFAULT;
    return 0;
}

static int on_sendto(const struct trap_call *n)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)n->args[5];
    int rc = read_dest(n, n->args[4], n->args[5], &ss);
    if (!still_valid(n))
        return TRAP_GONE;
    if (rc != 0 || !route_is_tunnelled((struct sockaddr *)&ss, len, &g_cfg->routes))
        return rc ? rc : TRAP_CONTINUE;
    int family;
    enum sock_kind k = sock_kind(n->tid, (int)n->args[0], &family);
    if (k == SOCK_KIND_TCP)
        /* A stream socket ignores the address unless it opens a connection
         * (fast open), which would skip the tunnel. */
        rc = (n->args[3] & MSG_FASTOPEN) ? -EOPNOTSUPP : TRAP_CONTINUE;
    else
        rc = k == SOCK_KIND_NONE ? -ENOTSOCK : -ENETUNREACH;
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
        return on_sendto(c);
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

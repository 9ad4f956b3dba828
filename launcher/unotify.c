/* The seccomp supervisor loop (see unotify.h).
 *
 * IMPORTANT: the main thread only decides: read the sockaddr, check the
 * notification is still valid, then CONTINUE, refuse, or hand a tunnelled
 * connect to a thread of its own, so 50 concurrent 100 ms dials take 100 ms,
 * not 5 s. The app's thread stays blocked in connect() until its thread
 * answers; with WAIT_KILLABLE_RECV no signal can restart that connect
 * mid-handshake (so one connect = one tunnel). Go registers the fd with its
 * poller only after connect returns, so using or replacing the fd meanwhile
 * is safe for Go (go1.19 internal/poll, net/fd_unix.go). */
#include "unotify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "dnssock.h"
#include "dnsstub.h"
#include "socks5_dial.h"
#include "tsrun.h"

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

static int g_listener = -1;
static const struct unotify_cfg *g_cfg;
static struct seccomp_notif_sizes g_sizes;
static atomic_int g_use_addfd; /* pidfd_getfd refused once: ADDFD from then on */
static volatile pid_t g_child;

/* Signals another process sends tsrun go on to the command. */
static const int forwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
                                SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH};

static void peer_remember(ino_t ino, const struct sockaddr *sa, socklen_t len)
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

int unotify_parse_proxy(const char *text, struct unotify_cfg *cfg)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof host)
        return -EINVAL;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port <= 0 || port > 65535)
        return -EINVAL;
    memset(&cfg->proxy, 0, sizeof cfg->proxy);
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&cfg->proxy;
        if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
            return -EINVAL;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        cfg->proxylen = sizeof *in6;
        return 0;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)&cfg->proxy;
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
        return -EINVAL;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    cfg->proxylen = sizeof *in;
    return 0;
}

/* --- the tracee --- */

static int mem_read(pid_t tid, uint64_t addr, void *buf, size_t len)
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

/* Still the same syscall of the same thread? (Memory read before this
 * check may belong to a recycled tid otherwise.) */
static bool id_valid(uint64_t id)
{
    return ioctl(g_listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* err: 0 (success), -errno, or 1 for "continue in the kernel". */
static void respond(uint64_t id, int err)
{
    union {
        struct seccomp_notif_resp r;
        char pad[256];
    } u;
    memset(&u, 0, sizeof u);
    u.r.id = id;
    if (err == 1)
        u.r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    else
        u.r.error = err;
    /* ENOENT: the thread died or a fatal signal ended its wait. */
    while (ioctl(g_listener, SECCOMP_IOCTL_NOTIF_SEND, &u.r) < 0 && errno == EINTR)
        ;
}

#define RESP_CONTINUE 1

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
static int fd_flags(pid_t tid, int fd)
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

/* --- tunnelled connects, one thread each --- */

struct job {
    uint64_t id;
    pid_t tid;
    int fd;
    int family; /* of the app's socket */
    uint8_t dest16[16];
    uint16_t port;
    socklen_t len;
    struct sockaddr_storage dest; /* as the app gave it: getpeername's answer */
};

/* The proxy as seen from a socket of this family. */
static int proxy_for(int family, int v6only, struct sockaddr_storage *out, socklen_t *len)
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

#define GETFD_REFUSED 1 /* pidfd_getfd not permitted here: use ADDFD */

/* The handshake on the app's own socket: every option it set stays. */
static int via_getfd(const struct job *j)
{
    pid_t tgid = tgid_of(j->tid);
    if (tgid < 0)
        return -ESRCH;
    int pfd = (int)syscall(SYS_pidfd_open, tgid, 0);
    if (pfd < 0)
        return errno == ENOSYS || errno == EPERM ? GETFD_REFUSED : -errno;
    int fd = (int)syscall(SYS_pidfd_getfd, pfd, j->fd, 0);
    int e = errno;
    close(pfd);
    if (fd < 0)
        return e == ENOSYS || e == EPERM || e == EACCES ? GETFD_REFUSED : -e;
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
    rc = proxy_for(j->family, v6only, &ps, &pl);
    if (rc == 0)
        rc = socks5_dial(fd, (struct sockaddr *)&ps, pl, j->dest16, j->port, g_cfg->timeout_ms);
    if (rc < 0) {
        /* Back to unconnected, as a failed kernel connect leaves it. */
        struct sockaddr unspec = {.sa_family = AF_UNSPEC};
        connect(fd, &unspec, sizeof unspec);
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0)
        peer_remember(sb.st_ino, (const struct sockaddr *)&j->dest, j->len);
out:
    close(fd);
    return rc;
}

/* A new socket, tunnelled, then installed over the app's fd (Docker's
 * default profile permits this but not pidfd_getfd). */
static int via_addfd(const struct job *j)
{
    struct sockaddr_storage ps;
    socklen_t pl;
    int family = proxy_for(j->family, 0, &ps, &pl) == 0 ? j->family : g_cfg->proxy.ss_family;
    int rc = proxy_for(family, 0, &ps, &pl);
    if (rc < 0)
        return rc;
    int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    if (family == AF_INET6) {
        int off = 0;
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    rc = socks5_dial(s, (struct sockaddr *)&ps, pl, j->dest16, j->port, g_cfg->timeout_ms);
    if (rc < 0)
        goto out;
    int flags = fd_flags(j->tid, j->fd);
    if (flags < 0) {
        rc = flags == -ENOENT ? -EBADF : flags;
        goto out;
    }
    if (!(flags & O_NONBLOCK) && fcntl(s, F_SETFL, 0) < 0) {
        rc = -errno;
        goto out;
    }
    struct seccomp_notif_addfd a = {
        .id = j->id,
        .flags = SECCOMP_ADDFD_FLAG_SETFD,
        .srcfd = (unsigned)s,
        .newfd = (unsigned)j->fd,
        .newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0,
    };
    if (ioctl(g_listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0) {
        rc = -errno;
        goto out;
    }
    struct stat sb;
    if (fstat(s, &sb) == 0)
        peer_remember(sb.st_ino, (const struct sockaddr *)&j->dest, j->len);
out:
    close(s);
    return rc;
}

static void *tunnel_job(void *arg)
{
    struct job *j = arg;
    int rc = GETFD_REFUSED;
    if (!atomic_load(&g_use_addfd))
        rc = via_getfd(j);
    if (rc == GETFD_REFUSED) {
        if (!atomic_exchange(&g_use_addfd, 1))
            tsr_debug("seccomp: pidfd_getfd is not permitted here; installing tunnelled sockets "
                      "with SECCOMP_IOCTL_NOTIF_ADDFD");
        rc = via_addfd(j);
    }
    if (tsr_verbose) {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, j->dest16, a, sizeof a);
        tsr_debug("seccomp: tid %d fd %d connect [%s]:%u -> tunnel: %s", (int)j->tid, j->fd, a,
                  j->port, rc == 0 ? "ok" : strerror(-rc));
    }
    respond(j->id, rc);
    free(j);
    return NULL;
}

/* --- the decisions --- */

static bool is_offline(const uint8_t a[16])
{
    for (size_t i = 0; i < g_cfg->noffline; i++)
        if (memcmp(g_cfg->offline[i], a, 16) == 0)
            return true;
    return false;
}

/* Reads a sockaddr the app passed. RESP_CONTINUE when the kernel may judge
 * it (bad length, or a pointer the kernel will refuse itself), 0, or -errno
 * to answer. */
static int read_dest(const struct seccomp_notif *n, uint64_t addr, uint64_t len,
                     struct sockaddr_storage *ss)
{
    if (len < sizeof(sa_family_t) || len > sizeof *ss || addr == 0)
        return RESP_CONTINUE;
    memset(ss, 0, sizeof *ss);
    int rc = mem_read(n->pid, addr, ss, (size_t)len);
    if (rc == -EFAULT)
        return RESP_CONTINUE;
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
 * ns. RESP_CONTINUE when that cannot be done (the query then goes to ns). */
static int redirect_dns_addfd(const struct seccomp_notif *n, int fd, int family, int type,
                              const struct sockaddr_storage *ns, socklen_t nslen);

static int redirect_dns(const struct seccomp_notif *n, int fd, int family,
                        const struct sockaddr_storage *ns, socklen_t nslen)
{
    if (atomic_load(&g_use_addfd))
        return redirect_dns_addfd(n, fd, family, SOCK_DGRAM, ns, nslen);
    pid_t tgid = tgid_of((pid_t)n->pid);
    int pfd = tgid < 0 ? -1 : (int)syscall(SYS_pidfd_open, tgid, 0);
    if (pfd < 0)
        return RESP_CONTINUE;
    int lfd = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
    close(pfd);
    if (lfd < 0)
        return redirect_dns_addfd(n, fd, family, SOCK_DGRAM, ns, nslen);
    struct sockaddr_storage stub, from;
    socklen_t sl, fl = sizeof from;
    int rc = RESP_CONTINUE;
    const struct sockaddr_in *st4 = (const struct sockaddr_in *)&g_cfg->stub;
    memset(&stub, 0, sizeof stub);
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
    tsr_debug("seccomp: tid %d fd %d: DNS connect redirected to the stub", (int)n->pid, fd);
    rc = 0;
out:
    close(lfd);
    return rc;
}

static int redirect_dns_tcp(const struct seccomp_notif *n, int fd, int family,
                            const struct sockaddr_storage *ns, socklen_t nslen);

static void on_connect(const struct seccomp_notif *n)
{
    int fd = (int)n->data.args[0];
    socklen_t len = (socklen_t)n->data.args[2];
    struct sockaddr_storage ss;
    int rc = read_dest(n, n->data.args[1], n->data.args[2], &ss);
    if (!id_valid(n->id))
        return;
    if (rc != 0 || !route_is_tunnelled((struct sockaddr *)&ss, len, &g_cfg->routes)) {
        uint8_t a16[16];
        uint16_t port = 0;
        int fam;
        if (rc == 0 && g_cfg->dns && route_addr16((struct sockaddr *)&ss, len, a16, &port) &&
            port == DNSSTUB_PORT && is_udp(n->pid, fd, &fam)) {
            respond(n->id, redirect_dns(n, fd, fam, &ss, len));
            return;
        }
        if (rc == 0 && g_cfg->dns_tcp && port == DNSSTUB_PORT &&
            sock_kind(n->pid, fd, &fam) == SOCK_KIND_TCP) {
            respond(n->id, redirect_dns_tcp(n, fd, fam, &ss, len));
            return;
        }
        respond(n->id, rc ? rc : RESP_CONTINUE);
        return;
    }
    int family = AF_INET;
    enum sock_kind k = sock_kind(n->pid, fd, &family);
    if (k != SOCK_KIND_TCP) {
        /* Only TCP is tunnelled; UDP or raw to the tailnet never leaves
         * through the kernel's routes. */
        respond(n->id, k == SOCK_KIND_NONE ? -ENOTSOCK : -ENETUNREACH);
        return;
    }
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        respond(n->id, -ENOBUFS);
        return;
    }
    j->id = n->id;
    j->tid = (pid_t)n->pid;
    j->fd = fd;
    j->family = family;
    j->len = len;
    j->dest = ss;
    route_addr16((struct sockaddr *)&ss, len, j->dest16, &j->port);
    if (is_offline(j->dest16)) {
        tsr_debug("seccomp: tid %d fd %d: peer offline in the status (EHOSTUNREACH)", j->tid, fd);
        respond(n->id, -EHOSTUNREACH);
        free(j);
        return;
    }
    /* The thread must not take the signals meant for the command. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    rc = pthread_create(&t, &at, tunnel_job, j);
    pthread_attr_destroy(&at);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        respond(n->id, -EAGAIN);
        free(j);
    }
}

static void on_getpeername(const struct seccomp_notif *n)
{
    if (peers_empty()) {
        respond(n->id, RESP_CONTINUE);
        return;
    }
    char path[64];
    struct stat sb;
    struct sockaddr_storage sa;
    socklen_t salen, ulen;
    fd_path(path, sizeof path, n->pid, "fd", (int)n->data.args[0]);
    if (stat(path, &sb) < 0 || !peer_lookup(sb.st_ino, &sa, &salen)) {
        respond(n->id, RESP_CONTINUE);
        return;
    }
    uint64_t addr = n->data.args[1], lenp = n->data.args[2];
    if (mem_read(n->pid, lenp, &ulen, sizeof ulen) < 0) {
        respond(n->id, -EFAULT);
        return;
    }
    if (!id_valid(n->id))
        return;
    /* Like the kernel: copy what fits, report the full length. */
    size_t copy = ulen < salen ? ulen : salen;
    if ((copy && mem_write(n->pid, addr, &sa, copy) < 0) ||
        mem_write(n->pid, lenp, &salen, sizeof salen) < 0) {
        respond(n->id, -EFAULT);
        return;
    }
    respond(n->id, 0);
}

/* --- DNS on unconnected UDP sockets (musl's static resolver) ---
 *
 * IMPORTANT: musl sends each query with sendto() to every nameserver and
 * keeps a reply only when recvfrom()'s source equals one of them (musl
 * 1.2.3 src/network/res_msend.c). A tailnet query is therefore sent to the
 * stub on a pidfd_getfd duplicate of the app's own socket (the answer lands
 * in the app's queue, so its poll() wakes as usual), and the app's
 * recvfrom() on that socket is done here on a duplicate too, reporting the
 * nameserver instead of the stub. Other queries continue in the kernel,
 * unchanged. The main thread never blocks: the duplicate shares the app's
 * O_NONBLOCK, so a blocking recvfrom with nothing queued waits in a thread. */

#define DNS_QUERY_MAX 1232    /* dnsstub.c's message bound */
#define DNS_DGRAM_MAX 65536   /* larger than any UDP datagram */
#define DNS_WAIT_SLICE_MS 250 /* how often a waiting recvfrom checks its caller */

/* Answers the syscall with a value (a byte count). */
static void respond_val(uint64_t id, int64_t val)
{
    union {
        struct seccomp_notif_resp r;
        char pad[256];
    } u;
    memset(&u, 0, sizeof u);
    u.r.id = id;
    u.r.val = val;
    while (ioctl(g_listener, SECCOMP_IOCTL_NOTIF_SEND, &u.r) < 0 && errno == EINTR)
        ;
}

/* A detached thread that takes none of the command's signals. */
static int spawn_worker(void *(*fn)(void *), void *arg)
{
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

/* A duplicate of the app's fd in this process, or -errno (-EPERM where
 * tsrun keeps off pidfd_getfd: TSRUN_SECCOMP_ADDFD=1, Docker's case). */
static int app_fd_dup(pid_t tid, int fd)
{
    if (atomic_load(&g_use_addfd))
        return -EPERM;
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

/* The stub as a socket of this family reaches it (IPv6: v4-mapped). */
static void stub_for(int family, struct sockaddr_storage *out, socklen_t *len)
{
    const struct sockaddr_in *st4 = (const struct sockaddr_in *)&g_cfg->stub;
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

/* sendto(fd, query, len, flags, ns, nslen) to port 53 on a UDP socket. A
 * tailnet query goes to the stub and the call returns len; the socket is
 * remembered with ns. Where that cannot be done (no pidfd_getfd, an IPv6-only
 * socket) the call fails with ENETUNREACH: a tailnet name never reaches ns.
 * Returns false, having answered nothing, for every other datagram. */
static bool dns_sendto(const struct seccomp_notif *n, int fd, int family,
                       const struct sockaddr_storage *ns, socklen_t nslen)
{
    uint8_t q[DNS_QUERY_MAX];
    uint64_t len = n->data.args[2];
    if (len < 12 || len > sizeof q)
        return false;
    int rc = mem_read(n->pid, n->data.args[1], q, (size_t)len);
    if (rc == -EFAULT)
        return false; /* the kernel refuses it too */
    if (!id_valid(n->id))
        return true;
    if (rc < 0) {
        respond(n->id, -ENETUNREACH); /* unreadable: it might be a tailnet name */
        return true;
    }
    if (!dnsstub_is_tailnet(q, (size_t)len))
        return false;
    int d = app_fd_dup((pid_t)n->pid, fd);
    if (d < 0) {
        tsr_debug("seccomp: tid %d fd %d: tailnet DNS query refused (no pidfd_getfd: %s)",
                  (int)n->pid, fd, strerror(-d));
        respond(n->id, -ENETUNREACH);
        return true;
    }
    struct stat sb;
    struct sockaddr_storage st;
    socklen_t sl;
    stub_for(family, &st, &sl);
    if (fstat(d, &sb) < 0) {
        rc = -errno;
    } else {
        dnssock_remember(sb.st_ino, ns, nslen); /* before the answer can arrive */
        rc = sendto(d, q, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&st, sl) < 0
                 ? -ENETUNREACH
                 : 0;
    }
    close(d);
    tsr_debug("seccomp: tid %d fd %d: tailnet DNS query (sendto) -> the stub: %s", (int)n->pid, fd,
              rc == 0 ? "ok" : strerror(-rc));
    if (rc < 0)
        respond(n->id, rc);
    else
        respond_val(n->id, (int64_t)len);
    return true;
}

struct dnsrecv {
    uint64_t id;
    pid_t tid;
    int fd; /* our duplicate */
    uint64_t buf, len, addr, lenp;
    int flags;
    socklen_t ulen, nslen;
    struct sockaddr_storage ns;
};

/* One recvfrom on the duplicate, without waiting; the data and the source
 * (the nameserver when it came from the stub) written to the app. The byte
 * count (as the kernel's), or -errno (-EAGAIN: nothing queued). */
static int64_t dns_recv_try(const struct dnsrecv *j)
{
    size_t cap = j->len < DNS_DGRAM_MAX ? (size_t)j->len : DNS_DGRAM_MAX;
    uint8_t *data = malloc(cap ? cap : 1);
    if (!data)
        return -ENOMEM;
    struct sockaddr_storage src;
    socklen_t sl = sizeof src;
    int64_t r = recvfrom(j->fd, data, cap, j->flags | MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
    if (r < 0) {
        r = -errno;
        goto out;
    }
    const void *from = &src;
    if (dnssock_from_stub((struct sockaddr *)&src, sl, &g_cfg->stub)) {
        from = &j->ns;
        sl = j->nslen;
    }
    size_t copy = (size_t)r < cap ? (size_t)r : cap, acopy = j->ulen < sl ? j->ulen : sl;
    if ((copy && mem_write(j->tid, j->buf, data, copy) < 0) ||
        (acopy && mem_write(j->tid, j->addr, from, acopy) < 0) ||
        mem_write(j->tid, j->lenp, &sl, sizeof sl) < 0)
        r = -EFAULT;
out:
    free(data);
    return r;
}

static void dns_recv_answer(struct dnsrecv *j, int64_t r)
{
    if (r < 0)
        respond(j->id, (int)r);
    else
        respond_val(j->id, r);
    close(j->fd);
    free(j);
}

/* A blocking recvfrom with nothing queued: wait here, within the socket's
 * SO_RCVTIMEO, and give up when the caller is gone. */
static void *dns_recv_wait(void *arg)
{
    struct dnsrecv *j = arg;
    struct timeval tv = {0};
    socklen_t tl = sizeof tv;
    long left = -1; /* ms; -1: no SO_RCVTIMEO */
    if (getsockopt(j->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) == 0 && (tv.tv_sec || tv.tv_usec))
        left = (long)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
    for (;;) {
        int slice = left >= 0 && left < DNS_WAIT_SLICE_MS ? (int)left : DNS_WAIT_SLICE_MS;
        struct pollfd p = {.fd = j->fd, .events = POLLIN};
        int pr = poll(&p, 1, slice);
        if (!id_valid(j->id)) {
            close(j->fd);
            free(j);
            return NULL;
        }
        if (pr > 0) {
            int64_t r = dns_recv_try(j);
            if (r != -EAGAIN) {
                dns_recv_answer(j, r);
                return NULL;
            }
        }
        if (left >= 0 && (left -= slice) <= 0) {
            dns_recv_answer(j, -EAGAIN);
            return NULL;
        }
    }
}

/* recvfrom(fd, buf, len, flags, src_addr != NULL, addrlen): answered here
 * only for sockets a tailnet query went out on (dns_sendto). */
static void on_recvfrom(const struct seccomp_notif *n)
{
    char path[64];
    struct stat sb;
    struct dnsrecv r = {.id = n->id, .tid = (pid_t)n->pid, .fd = -1};
    int fd = (int)n->data.args[0];
    r.buf = n->data.args[1];
    r.len = n->data.args[2];
    r.flags = (int)n->data.args[3];
    r.addr = n->data.args[4];
    r.lenp = n->data.args[5];
    if (dnssock_empty() || !r.lenp || (r.flags & (MSG_ERRQUEUE | MSG_OOB))) {
        respond(n->id, RESP_CONTINUE);
        return;
    }
    fd_path(path, sizeof path, r.tid, "fd", fd);
    if (stat(path, &sb) < 0 || !dnssock_lookup(sb.st_ino, &r.ns, &r.nslen) ||
        mem_read(r.tid, r.lenp, &r.ulen, sizeof r.ulen) < 0) {
        respond(n->id, RESP_CONTINUE); /* the kernel answers (or faults) */
        return;
    }
    if (!id_valid(n->id))
        return;
    r.fd = app_fd_dup(r.tid, fd);
    if (r.fd < 0) {
        respond(n->id, RESP_CONTINUE);
        return;
    }
    int fl = fcntl(r.fd, F_GETFL);
    bool wait = !(r.flags & MSG_DONTWAIT) && fl >= 0 && !(fl & O_NONBLOCK);
    int64_t got = dns_recv_try(&r);
    struct dnsrecv *j = got == -EAGAIN && wait ? malloc(sizeof *j) : NULL;
    if (j) {
        *j = r;
        if (spawn_worker(dns_recv_wait, j) == 0)
            return;
        free(j);
    }
    if (got == -EAGAIN && wait)
        got = -ENOBUFS;
    struct dnsrecv *done = malloc(sizeof *done);
    if (!done) {
        close(r.fd);
        respond(n->id, -ENOBUFS);
        return;
    }
    *done = r;
    dns_recv_answer(done, got);
}

/* A TCP connect to a nameserver's port 53 (DNS over TCP: Go after a
 * truncated answer, or with "options use-vc"): the app's socket is connected
 * to the stub's TCP listener instead, which answers tailnet names and
 * forwards the rest to ns over TCP; getpeername reports ns. The connect
 * returns 0 (loopback, bounded by DNS_TCP_CONNECT_MS) or RESP_CONTINUE when
 * this cannot be done (the query then goes to ns itself). */
#define DNS_TCP_CONNECT_MS 1000

/* Where pidfd_getfd is refused (Docker's default profile): a new socket of
 * the app's family and type, connected to the stub (UDP or TCP), installed
 * over the app's fd with SECCOMP_IOCTL_NOTIF_ADDFD, its O_NONBLOCK and
 * O_CLOEXEC kept (options the app set before connect are not; Go sets none
 * on its DNS sockets). Go registers the fd with its poller only after
 * connect returns (see the banner), so the swap is safe for it. 0, or
 * RESP_CONTINUE when it cannot be done. */
static int redirect_dns_addfd(const struct seccomp_notif *n, int fd, int family, int type,
                              const struct sockaddr_storage *ns, socklen_t nslen)
{
    struct sockaddr_storage stub, from = {0};
    socklen_t sl, fl = sizeof from;
    const struct sockaddr_storage *st4 = type == SOCK_STREAM ? &g_cfg->stub_tcp : &g_cfg->stub;
    int flags = fd_flags((pid_t)n->pid, fd), rc = RESP_CONTINUE;
    if (flags < 0)
        return RESP_CONTINUE;
    int s = socket(family, type | SOCK_CLOEXEC, 0);
    if (s < 0)
        return RESP_CONTINUE;
    if (family == AF_INET6) {
        int off = 0;
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    stub_for(family, &stub, &sl);
    /* stub_for maps the UDP stub's address; the TCP one differs in port. */
    uint16_t port = ((const struct sockaddr_in *)st4)->sin_port;
    if (family == AF_INET6)
        ((struct sockaddr_in6 *)&stub)->sin6_port = port;
    else
        ((struct sockaddr_in *)&stub)->sin_port = port;
    if (connect(s, (struct sockaddr *)&stub, sl) < 0 ||
        getsockname(s, (struct sockaddr *)&from, &fl) < 0 ||
        ((flags & O_NONBLOCK) && fcntl(s, F_SETFL, O_NONBLOCK) < 0))
        goto out;
    if (from.ss_family == AF_INET6) {
        struct sockaddr_in6 f6;
        memcpy(&f6, &from, sizeof f6);
        struct sockaddr_in *f4 = (struct sockaddr_in *)&from;
        memset(&from, 0, sizeof from);
        f4->sin_family = AF_INET;
        f4->sin_port = f6.sin6_port;
        memcpy(&f4->sin_addr, &f6.sin6_addr.s6_addr[12], 4);
    }
    if (type == SOCK_STREAM)
        dnsstub_remember_tcp(&from, ns, nslen);
    else
        dnsstub_remember(&from, ns, nslen);
    struct seccomp_notif_addfd a = {
        .id = n->id,
        .flags = SECCOMP_ADDFD_FLAG_SETFD,
        .srcfd = (unsigned)s,
        .newfd = (unsigned)fd,
        .newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0,
    };
    if (ioctl(g_listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0)
        goto out;
    struct stat sb;
    if (type == SOCK_STREAM && fstat(s, &sb) == 0)
        peer_remember(sb.st_ino, (const struct sockaddr *)ns, nslen);
    tsr_debug("seccomp: tid %d fd %d: DNS connect redirected to the stub (ADDFD)", (int)n->pid, fd);
    rc = 0;
out:
    close(s);
    return rc;
}

static int redirect_dns_tcp(const struct seccomp_notif *n, int fd, int family,
                            const struct sockaddr_storage *ns, socklen_t nslen)
{
    int d = app_fd_dup((pid_t)n->pid, fd);
    if (d < 0)
        return redirect_dns_addfd(n, fd, family, SOCK_STREAM, ns, nslen);
    struct sockaddr_storage stub, from = {0};
    socklen_t sl, fl = sizeof from;
    int rc = RESP_CONTINUE;
    const struct sockaddr_in *st4 = (const struct sockaddr_in *)&g_cfg->stub_tcp;
    memset(&stub, 0, sizeof stub);
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
    if (connect(d, (struct sockaddr *)&stub, sl) < 0) {
        /* The app's O_NONBLOCK is the duplicate's: wait for loopback. */
        struct pollfd p = {.fd = d, .events = POLLOUT};
        int e = 0;
        socklen_t el = sizeof e;
        if (errno != EINPROGRESS || poll(&p, 1, DNS_TCP_CONNECT_MS) != 1 ||
            getsockopt(d, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e != 0) {
            /* Back to unconnected for the kernel's own connect. */
            struct sockaddr unspec = {.sa_family = AF_UNSPEC};
            (void)connect(d, &unspec, sizeof unspec);
            goto out;
        }
    }
    if (getsockname(d, (struct sockaddr *)&from, &fl) < 0)
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
    dnsstub_remember_tcp(&from, ns, nslen);
    struct stat sb;
    if (fstat(d, &sb) == 0)
        peer_remember(sb.st_ino, (const struct sockaddr *)ns, nslen);
    tsr_debug("seccomp: tid %d fd %d: DNS-over-TCP connect redirected to the stub", (int)n->pid,
              fd);
    rc = 0;
out:
    close(d);
    return rc;
}

static void on_sendto(const struct seccomp_notif *n)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)n->data.args[5];
    int rc = read_dest(n, n->data.args[4], n->data.args[5], &ss);
    if (!id_valid(n->id))
        return;
    if (rc != 0 || !route_is_tunnelled((struct sockaddr *)&ss, len, &g_cfg->routes)) {
        uint8_t a16[16];
        uint16_t port = 0;
        int fam;
        if (rc == 0 && g_cfg->dns && route_addr16((struct sockaddr *)&ss, len, a16, &port) &&
            port == DNSSTUB_PORT && is_udp(n->pid, (int)n->data.args[0], &fam) &&
            dns_sendto(n, (int)n->data.args[0], fam, &ss, len))
            return;
        respond(n->id, rc ? rc : RESP_CONTINUE);
        return;
    }
    int family;
    enum sock_kind k = sock_kind(n->pid, (int)n->data.args[0], &family);
    if (k == SOCK_KIND_TCP)
        /* A stream socket ignores the address unless it opens a connection
         * (fast open), which would skip the tunnel. */
        rc = (n->data.args[3] & MSG_FASTOPEN) ? -EOPNOTSUPP : RESP_CONTINUE;
    else
        rc = k == SOCK_KIND_NONE ? -ENOTSOCK : -ENETUNREACH;
    respond(n->id, rc);
}

/* --- sendmsg and sendmmsg: the address inside struct msghdr --- */

/* What an addressed send to a tunnelled destination gets (as on_sendto):
 * TCP ignores the address unless MSG_FASTOPEN would open a connection past
 * the tunnel; anything else never leaves through the kernel's routes. */
static int tunnelled_send_verdict(pid_t tid, int fd, uint64_t flags)
{
    int family;
    enum sock_kind k = sock_kind(tid, fd, &family);
    if (k == SOCK_KIND_TCP)
        return (flags & MSG_FASTOPEN) ? -EOPNOTSUPP : RESP_CONTINUE;
    return k == SOCK_KIND_NONE ? -ENOTSOCK : -ENETUNREACH;
}

/* 1 when mh names a tunnelled destination, 0 when not (no address, or one
 * the kernel refuses itself), -errno when its address cannot be read (the
 * caller fails closed). */
static int msghdr_tunnelled(const struct seccomp_notif *n, const struct msghdr *mh)
{
    struct sockaddr_storage ss;
    if (!mh->msg_name || !mh->msg_namelen)
        return 0;
    int rc = read_dest(n, (uint64_t)(uintptr_t)mh->msg_name, mh->msg_namelen, &ss);
    if (rc == RESP_CONTINUE)
        return 0;
    if (rc < 0)
        return rc;
    return route_is_tunnelled((struct sockaddr *)&ss, mh->msg_namelen, &g_cfg->routes) ? 1 : 0;
}

/* sendmsg(fd, msg, flags). */
static void on_sendmsg(const struct seccomp_notif *n)
{
    struct msghdr mh;
    int rc = mem_read(n->pid, n->data.args[1], &mh, sizeof mh);
    if (rc == -EFAULT) {
        respond(n->id, RESP_CONTINUE); /* the kernel refuses it too */
        return;
    }
    if (rc == 0)
        rc = msghdr_tunnelled(n, &mh);
    if (!id_valid(n->id))
        return;
    if (rc < 0) {
        respond(n->id, -ENETUNREACH);
        return;
    }
    respond(n->id, rc == 0 ? RESP_CONTINUE
                           : tunnelled_send_verdict(n->pid, (int)n->data.args[0], n->data.args[2]));
}

/* sendmmsg(fd, msgvec, vlen, flags): one tunnelled entry fails the whole
 * call (the kernel would send the entries before it first). */
static void on_sendmmsg(const struct seccomp_notif *n)
{
    enum { MMSG_MAX = 1024 }; /* UIO_MAXIOV: the kernel's cap on vlen */
    unsigned vlen = n->data.args[2] > MMSG_MAX ? MMSG_MAX : (unsigned)n->data.args[2];
    int rc = 0;
    for (unsigned i = 0; i < vlen && rc == 0; i++) {
        struct mmsghdr m;
        rc = mem_read(n->pid, n->data.args[1] + (uint64_t)i * sizeof m, &m, sizeof m);
        if (rc == -EFAULT) {
            rc = 0; /* the kernel stops (or fails) here itself */
            break;
        }
        if (rc == 0)
            rc = msghdr_tunnelled(n, &m.msg_hdr);
    }
    if (!id_valid(n->id))
        return;
    if (rc < 0) {
        respond(n->id, -ENETUNREACH);
        return;
    }
    respond(n->id, rc == 0 ? RESP_CONTINUE
                           : tunnelled_send_verdict(n->pid, (int)n->data.args[0], n->data.args[3]));
}

/* Reads a NUL-terminated path from the tracee, a page at a time (a string
 * near the end of a mapping must not fail the whole read). */
static int read_path(pid_t tid, uint64_t addr, char *out, size_t n)
{
    size_t have = 0;
    while (have + 1 < n) {
        size_t page = 4096 - (size_t)((addr + have) & 4095);
        size_t want = page < n - 1 - have ? page : n - 1 - have;
        if (mem_read(tid, addr + have, out + have, want) < 0)
            return -EFAULT;
        void *nul = memchr(out + have, '\0', want);
        if (nul)
            return 0;
        have += want;
    }
    return -ENAMETOOLONG;
}

/* setuid/setgid/setcap programs run without their privileges under
 * no-new-privs: say so once per program instead of letting them fail
 * mysteriously (sudo: "effective uid is not 0"). */
static void on_exec(const struct seccomp_notif *n)
{
    char path[PATH_MAX], full[PATH_MAX + 64];
    bool at = n->data.nr == __NR_execveat;
    int dirfd = at ? (int)n->data.args[0] : AT_FDCWD;
    if (!g_cfg->no_new_privs ||
        read_path(n->pid, at ? n->data.args[1] : n->data.args[0], path, sizeof path) < 0) {
        respond(n->id, RESP_CONTINUE);
        return;
    }
    if (path[0] == '/')
        snprintf(full, sizeof full, "%s", path);
    else if (dirfd == AT_FDCWD)
        snprintf(full, sizeof full, "/proc/%d/cwd/%s", (int)n->pid, path);
    else
        snprintf(full, sizeof full, "/proc/%d/fd/%d/%s", (int)n->pid, dirfd, path);
    struct stat sb;
    bool priv =
        stat(full, &sb) == 0 && S_ISREG(sb.st_mode) &&
        ((sb.st_mode & (S_ISUID | S_ISGID)) || getxattr(full, "security.capability", NULL, 0) > 0);
    respond(n->id, RESP_CONTINUE);
    if (priv) {
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
        tsr_warn("%s is %s: under --intercept=seccomp without CAP_SYS_ADMIN (no-new-privs) it "
                 "runs without those privileges",
                 path,
                 (sb.st_mode & S_ISUID)   ? "setuid"
                 : (sb.st_mode & S_ISGID) ? "setgid"
                                          : "setcap");
    }
}

static void on_notification(const struct seccomp_notif *n)
{
    switch (n->data.nr) {
    case __NR_connect:
        on_connect(n);
        break;
    case __NR_getpeername:
        on_getpeername(n);
        break;
    case __NR_sendto:
        on_sendto(n);
        break;
    case __NR_recvfrom:
        on_recvfrom(n);
        break;
    case __NR_sendmsg:
        on_sendmsg(n);
        break;
    case __NR_sendmmsg:
        on_sendmmsg(n);
        break;
    case __NR_execve:
    case __NR_execveat:
        on_exec(n);
        break;
    default:
        respond(n->id, RESP_CONTINUE);
    }
}

/* --- signals and the end --- */

static void forward(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    /* si_code <= 0: kill()/sigqueue()/tgkill() from a process. The
     * terminal's signals (SI_KERNEL) reach the command's group directly. */
    if (si->si_code <= 0 && g_child > 0)
        kill(g_child, sig);
}

static void install_forwarding(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaction(forwarded[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

_Noreturn void unotify_exit_like(int status)
{
    if (WIFEXITED(status))
        exit(WEXITSTATUS(status));
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none); /* the command dumped its own core */
    signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    raise(sig);
    _exit(128 + sig);
}

int unotify_supervise(int listener, pid_t child, const struct unotify_cfg *cfg)
{
    g_listener = listener;
    g_cfg = cfg;
    g_child = child;
    atomic_store(&g_use_addfd, cfg->force_addfd);
    install_forwarding();
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &g_sizes) < 0)
        memset(&g_sizes, 0, sizeof g_sizes);
    size_t nsize = g_sizes.seccomp_notif > sizeof(struct seccomp_notif)
                       ? g_sizes.seccomp_notif
                       : sizeof(struct seccomp_notif);
    /* Allocated once, before the command can need an answer. */
    struct seccomp_notif *n = malloc(nsize);
    int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    int status = 0;
    struct pollfd p[2] = {{.fd = n ? listener : -1, .events = POLLIN},
                          {.fd = pidfd, .events = POLLIN}};
    for (;;) {
        int r = poll(p, 2, pidfd < 0 ? 100 : -1);
        if ((pidfd < 0 || (r > 0 && p[1].revents)) && waitpid(child, &status, WNOHANG) == child)
            break;
        if (r <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            memset(n, 0, nsize);
            if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, n) == 0)
                on_notification(n);
        } else if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            p[0].fd = -1; /* no filtered task is left; the child is exiting */
        }
    }
    free(n);
    if (pidfd >= 0)
        close(pidfd);
    return status;
}

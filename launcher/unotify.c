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

#include "socks5_dial.h"
#include "trap.h"
#include "tsrun.h"
#include "unotify_dns.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS /* Linux 6.6, uapi seccomp.h */
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

static int g_listener = -1;
static const struct unotify_cfg *g_cfg;
static struct seccomp_notif_sizes g_sizes;
static atomic_int g_use_addfd; /* pidfd_getfd refused once: ADDFD from then on */
static volatile pid_t g_child;

/* Signals another process sends tsrun go on to the command. */
static const int forwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
                                SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH};

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

bool unotify_id_valid(uint64_t id)
{
    return ioctl(g_listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* flags: SECCOMP_USER_NOTIF_FLAG_CONTINUE or 0; error: 0 or -errno. */
static void send_resp(uint64_t id, uint32_t flags, int error, int64_t val)
{
    union {
        struct seccomp_notif_resp r;
        char pad[256];
    } u;
    memset(&u, 0, sizeof u);
    u.r.id = id;
    u.r.flags = flags;
    u.r.error = error;
    u.r.val = val;
    /* ENOENT: the thread died or a fatal signal ended its wait. */
    while (ioctl(g_listener, SECCOMP_IOCTL_NOTIF_SEND, &u.r) < 0 && errno == EINTR)
        ;
}

void unotify_respond(uint64_t id, int err)
{
    if (err == TRAP_CONTINUE)
        send_resp(id, SECCOMP_USER_NOTIF_FLAG_CONTINUE, 0, 0);
    else
        send_resp(id, 0, err, 0);
}

void unotify_respond_val(uint64_t id, int64_t val)
{
    send_resp(id, 0, 0, val);
}

bool unotify_use_addfd(void)
{
    return atomic_load(&g_use_addfd);
}

void unotify_stop_getfd(void)
{
    if (!atomic_exchange(&g_use_addfd, 1))
        tsr_debug("seccomp: pidfd_getfd is not permitted here; installing sockets with "
                  "SECCOMP_IOCTL_NOTIF_ADDFD");
}

int unotify_addfd(uint64_t id, int s, int fd, int fd_flags)
{
    struct seccomp_notif_addfd a = {
        .id = id,
        .flags = SECCOMP_ADDFD_FLAG_SETFD,
        .srcfd = (unsigned)s,
        .newfd = (unsigned)fd,
        .newfd_flags = (fd_flags & O_CLOEXEC) ? O_CLOEXEC : 0,
    };
    return ioctl(g_listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 ? -errno : 0;
}

/* --- tunnelled connects, one thread each --- */

/* A new socket, tunnelled, then installed over the app's fd (Docker's
 * default profile permits this but not pidfd_getfd). */
static int via_addfd(const struct trap_job *j)
{
    struct sockaddr_storage ps;
    socklen_t pl;
    int family = trap_proxy_for(j->family, 0, &ps, &pl) == 0 ? j->family : g_cfg->proxy.ss_family;
    int rc = trap_proxy_for(family, 0, &ps, &pl);
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
    int flags = trap_fd_flags(j->tid, j->fd);
    if (flags < 0) {
        rc = flags == -ENOENT ? -EBADF : flags;
        goto out;
    }
    if (!(flags & O_NONBLOCK) && fcntl(s, F_SETFL, 0) < 0) {
        rc = -errno;
        goto out;
    }
    rc = unotify_addfd(j->id, s, j->fd, flags);
    if (rc < 0)
        goto out;
    struct stat sb;
    if (fstat(s, &sb) == 0)
        trap_peer_remember(sb.st_ino, (const struct sockaddr *)&j->dest, j->len);
out:
    close(s);
    return rc;
}

static void *tunnel_job(void *arg)
{
    struct trap_job *j = arg;
    int rc = TRAP_GETFD_REFUSED;
    if (!atomic_load(&g_use_addfd))
        rc = trap_tunnel_getfd(j);
    if (rc == TRAP_GETFD_REFUSED) {
        unotify_stop_getfd();
        rc = via_addfd(j);
    }
    if (tsr_verbose) {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, j->dest16, a, sizeof a);
        tsr_debug("seccomp: tid %d fd %d connect [%s]:%u -> tunnel: %s", (int)j->tid, j->fd, a,
                  j->port, rc == 0 ? "ok" : strerror(-rc));
    }
    unotify_respond(j->id, rc);
    free(j);
    return NULL;
}

/* Reads a NUL-terminated path from the tracee, a page at a time (a string
 * near the end of a mapping must not fail the whole read). */
static int read_path(pid_t tid, uint64_t addr, char *out, size_t n)
{
    size_t have = 0;
    while (have + 1 < n) {
        size_t page = 4096 - (size_t)((addr + have) & 4095);
        size_t want = page < n - 1 - have ? page : n - 1 - have;
        if (trap_mem_read(tid, addr + have, out + have, want) < 0)
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
        unotify_respond(n->id, TRAP_CONTINUE);
        return;
    }
    if (path[0] == '/')
        snprintf(full, sizeof full, "%s", path);
    else if (dirfd == AT_FDCWD)
        snprintf(full, sizeof full, "/proc/%d/cwd/%s", (int)n->pid, path);
    else
        snprintf(full, sizeof full, "/proc/%d/fd/%d/%s", (int)n->pid, dirfd, path);
    unotify_respond(n->id, TRAP_CONTINUE);
    trap_report_exec(full, path);
}

static bool notif_valid(const struct trap_call *c)
{
    return unotify_id_valid(c->id);
}

static void on_notification(const struct seccomp_notif *n)
{
    if (n->data.nr == __NR_execve || n->data.nr == __NR_execveat) {
        on_exec(n);
        return;
    }
    struct trap_call c = {
        .tid = (pid_t)n->pid, .nr = n->data.nr, .id = n->id, .valid = notif_valid};
    memcpy(c.args, n->data.args, sizeof c.args);
    struct trap_job *j = NULL;
    int rc = trap_decide(&c, &j);
    if (rc == TRAP_GONE)
        return;
    if (rc == TRAP_DNS) {
        unotify_dns(j);
        return;
    }
    if (rc != TRAP_TUNNEL) {
        unotify_respond(n->id, rc);
        return;
    }
    if (trap_spawn(tunnel_job, j) < 0) {
        unotify_respond(n->id, -EAGAIN);
        free(j);
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

void unotify_forward_signals(pid_t child)
{
    g_child = child;
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
    trap_init(cfg, "seccomp");
    g_child = child;
    atomic_store(&g_use_addfd, cfg->force_addfd);
    unotify_forward_signals(child);
    /* The command's thread waits while this one decides: with the flag the
     * kernel hands the CPU straight to us and back, instead of waking an
     * idle CPU each way (on this VM a trapped call took 70-100 µs without
     * it when both CPUs were idle, 4-5 µs when pinned to one). Linux 6.6
     * (uapi seccomp.h); older kernels answer EINVAL, harmlessly. */
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0) < 0)
        tsr_debug("seccomp: no synchronous wake-up (%s): Linux >= 6.6 has it", strerror(errno));
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

/* DNS jobs answered over the seccomp listener (see unotify_dns.h). The work
 * on the app's socket is trapdns.c's, shared with ptrace mode; what is here
 * is user-notify's own: the ADDFD fallback, answering a byte count, and a
 * thread that answers a waiting recvfrom. */
#include "unotify_dns.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnssock.h"
#include "dnsstub.h"
#include "trapdns.h"
#include "tsrun.h"

#define ADDFD_ANSWER_WAIT_MS 100 /* sendto_addfd: the stub's answer, queued in time */

/* A duplicate of the app's socket: by pidfd_getfd, or, where that is not
 * permitted, tsrun's copy of a socket it installed there itself
 * (sendto_addfd). -errno (-EPERM/-ENOENT: neither) when there is none. */
static int app_fd(const struct trap_job *j)
{
    if (!unotify_use_addfd()) {
        int d = trap_app_fd(j->tid, j->fd);
        if (d >= 0 || !trap_getfd_refused(d))
            return d;
        unotify_stop_getfd();
    }
    char path[64];
    struct stat sb;
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)j->tid, j->fd);
    return stat(path, &sb) < 0 ? -errno : dnssock_dup_kept(sb.st_ino);
}

/* 0 or a byte count answered as a value, -errno as an error. */
static void answer(uint64_t id, int64_t r)
{
    if (r < 0)
        unotify_respond(id, (int)r);
    else
        unotify_respond_val(id, r);
}

/* A new socket of tsrun's, of the app's family and this type, to install
 * over the app's fd where pidfd_getfd is refused (ADDFD): dual-stack on
 * IPv6, so that it reaches the IPv4 stub. Options the app set on its own
 * socket are not carried over. The fd, or -1. */
static int socket_like(const struct trap_job *j, int type)
{
    int off = 0, s = socket(j->family, type | SOCK_CLOEXEC, 0);
    if (s >= 0 && j->family == AF_INET6 &&
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) {
        close(s);
        return -1;
    }
    return s;
}

/* Where pidfd_getfd is refused (Docker's default profile): a new socket,
 * connected to the stub as trapdns_connect connects a duplicate, then given
 * the app's O_NONBLOCK and installed over the app's fd. Go registers the fd
 * with its poller only after connect returns (see unotify.c's banner), so
 * the swap is safe for it. 0, or -ENETUNREACH when it cannot be done (as
 * trapdns_connect). */
static int connect_addfd(const struct trap_job *j)
{
    int flags = trap_fd_flags(j->tid, j->fd);
    int s = flags < 0 ? -1 : socket_like(j, j->kind == TRAP_JOB_DNS_TCP ? SOCK_STREAM : SOCK_DGRAM);
    int rc = s < 0 ? -ENETUNREACH : trapdns_connect(j, s);
    if (rc == 0 && (((flags & O_NONBLOCK) && fcntl(s, F_SETFL, O_NONBLOCK) < 0) ||
                    unotify_addfd(j->id, s, j->fd, flags) < 0))
        rc = -ENETUNREACH;
    if (rc == 0)
        tsr_debug("seccomp: tid %d fd %d: the DNS connect's socket installed (ADDFD)", (int)j->tid,
                  j->fd);
    if (s >= 0)
        close(s);
    return rc;
}

static void on_connect(const struct trap_job *j)
{
    int d = app_fd(j), rc;
    if (d >= 0) {
        rc = trapdns_connect(j, d);
        close(d);
    } else {
        rc = connect_addfd(j);
    }
    unotify_respond(j->id, rc);
}

/* Where pidfd_getfd is refused: a UDP socket of tsrun's (the app's family
 * and O_NONBLOCK; options it set are not carried over, and musl sets only
 * IPV6_V6ONLY off, as here) installed over the app's fd, the query sent on
 * it, and tsrun's copy kept (dnssock_keep) so that the app's later sendto
 * and recvfrom on that fd are served on it. Replies still due to the app's
 * old socket are lost with it: the resolver asks again (musl retries).
 * The byte count, or -ENETUNREACH (the query never reaches ns). */
static int64_t sendto_addfd(const struct trap_job *j)
{
    int flags = trap_fd_flags(j->tid, j->fd);
    int s = flags < 0 ? -1 : socket_like(j, SOCK_DGRAM);
    if (s < 0 || ((flags & O_NONBLOCK) && fcntl(s, F_SETFL, O_NONBLOCK) < 0) ||
        unotify_addfd(j->id, s, j->fd, flags) < 0) {
        tsr_debug("seccomp: tid %d fd %d: tailnet DNS query refused (no pidfd_getfd, no ADDFD)",
                  (int)j->tid, j->fd);
        if (s >= 0)
            close(s);
        return -ENETUNREACH;
    }
    int64_t r = trapdns_sendto(j, s); /* remembers the socket (dnssock) */
    /* A program that watched its old socket (Go registers one with epoll
     * when it makes it, before this sendto) watches nothing now: let the
     * stub's answer be queued before the call returns, so that its first
     * read finds it instead of waiting for a readiness it cannot see
     * (loopback: well within the bound). */
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (r >= 0)
        (void)poll(&p, 1, ADDFD_ANSWER_WAIT_MS);
    struct stat sb;
    pid_t pid = trap_tgid(j->tid); /* the fd table outlives the thread that asked */
    if (fstat(s, &sb) == 0)
        dnssock_keep(sb.st_ino, s, pid > 0 ? pid : j->tid, j->fd);
    else
        close(s);
    return r;
}

static void on_sendto(const struct trap_job *j)
{
    int d = app_fd(j);
    if (d < 0) {
        answer(j->id, sendto_addfd(j));
        return;
    }
    answer(j->id, trapdns_sendto(j, d));
    close(d);
}

struct waiter {
    struct trap_job *j;
    int d;
};

static bool waiter_valid(void *arg)
{
    const struct waiter *w = arg;
    return unotify_id_valid(w->j->id);
}

static void *recv_wait(void *arg)
{
    struct waiter *w = arg;
    int64_t r = trapdns_recv_wait(w->j, w->d, waiter_valid, w);
    if (r != TRAPDNS_GONE)
        answer(w->j->id, r);
    close(w->d);
    free(w->j);
    free(w);
    return NULL;
}

/* Takes j: a blocking recvfrom with nothing queued waits in a thread (the
 * main thread never blocks). */
static void on_recvfrom(struct trap_job *j)
{
    int d = app_fd(j);
    if (d < 0) {
        unotify_respond(j->id, TRAP_CONTINUE);
        free(j);
        return;
    }
    int64_t got = trapdns_recv_try(j, d);
    if (got == -EAGAIN && trapdns_recv_blocks(j, d)) {
        struct waiter *w = malloc(sizeof *w);
        if (w) {
            *w = (struct waiter){.j = j, .d = d};
            if (trap_spawn(recv_wait, w) == 0)
                return;
            free(w);
        }
        got = -ENOBUFS;
    }
    close(d);
    answer(j->id, got);
    free(j);
}

void unotify_dns(struct trap_job *j)
{
    switch (j->kind) {
    case TRAP_JOB_DNS_UDP:
    case TRAP_JOB_DNS_TCP:
        on_connect(j);
        break;
    case TRAP_JOB_DNS_SENDTO:
        on_sendto(j);
        break;
    case TRAP_JOB_DNS_RECVFROM:
        on_recvfrom(j);
        return; /* it took j */
    case TRAP_JOB_TUNNEL:
        unotify_respond(j->id, -EINVAL); /* not a DNS job: never given here */
        break;
    }
    free(j);
}

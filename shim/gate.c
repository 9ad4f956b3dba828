#include "gate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "libc.h"
#include "pending.h"
#include "tunnel.h"

/* Pending fds one call can gate; more than the table holds only when the
 * same socket appears several times. Those beyond are answered "not ready". */
#define GATE_MAX (2 * PENDING_SLOTS)

#define WRITE_EVENTS (POLLOUT | POLLWRNORM | POLLWRBAND)
/* What the kernel reports for a failed connect: readable and writable (the
 * socket is shut down both ways), with POLLERR and POLLHUP always. */
#define FAILED_EVENTS (POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM)

enum gate_state { GATE_WAIT, GATE_UP, GATE_FAILED, GATE_BUSY };

struct gated {
    nfds_t index;
    short events; /* the app's */
    uint8_t state;
};

/* One non-blocking settle; a failure stays in the table (PENDING_FAILED) for
 * SO_ERROR or the first read to report once. */
static enum gate_state settle(int fd)
{
    bool busy;
    struct pending *p = pending_acquire(fd, &busy);
    if (p == NULL)
        return busy ? GATE_BUSY : GATE_UP;
    int rc = tunnel_settle(fd, p);
    if (rc == 0) {
        pending_remove(p);
        return GATE_UP;
    }
    pending_release(p);
    return rc == -EAGAIN ? GATE_WAIT : GATE_FAILED;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void restore(struct pollfd *fds, const struct gated *g, unsigned ng)
{
    for (unsigned k = 0; k < ng; k++)
        fds[g[k].index].events = g[k].events;
}

int gate_poll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
              const sigset_t *mask)
{
    struct gated g[GATE_MAX];
    unsigned ng = 0;
    for (nfds_t i = 0; i < n && ng < GATE_MAX; i++)
        if (fds[i].fd >= 0 && pending_has(fds[i].fd))
            g[ng++] = (struct gated){.index = i, .events = fds[i].events, .state = GATE_WAIT};
    if (ng == 0)
        return libc_ppoll(fds, n, timeout, mask);

    /* The app's deadline, rounded up to whole milliseconds. */
    long long app_deadline = -1;
    if (timeout != NULL)
        app_deadline = now_ms() + timeout->tv_sec * 1000LL +
                       (timeout->tv_nsec + 999999) / 1000000;
    for (;;) {
        bool failed = false, waiting = false, busy = false;
        for (unsigned k = 0; k < ng; k++) {
            struct pollfd *f = &fds[g[k].index];
            if (g[k].state == GATE_WAIT || g[k].state == GATE_BUSY)
                g[k].state = (uint8_t)settle(f->fd);
            busy |= g[k].state == GATE_BUSY;
            if (g[k].state == GATE_BUSY)
                g[k].state = GATE_WAIT;
            if (g[k].state == GATE_WAIT) {
                /* Wake when the reply arrives, not when the loopback
                 * connection to the proxy is writable. */
                f->events = (short)((g[k].events & ~WRITE_EVENTS) | POLLIN);
                waiting = true;
            } else {
                f->events = g[k].events;
                failed |= g[k].state == GATE_FAILED;
            }
        }
        long long now = now_ms(), wait = -1;
        if (app_deadline >= 0)
            wait = app_deadline > now ? app_deadline - now : 0;
        long long next = waiting ? pending_next_deadline() : -1;
        if (next >= 0 && (wait < 0 || next - now + 1 < wait))
            wait = next > now ? next - now + 1 : 0;
        /* Another thread holds an entry: it may bring the tunnel up without
         * our POLLIN ever firing; look again soon. */
        if (busy && (wait < 0 || wait > 10))
            wait = 10;
        if (failed)
            wait = 0;
        struct timespec ts = {.tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000};
        int rc = libc_ppoll(fds, n, wait < 0 ? NULL : &ts, mask);
        if (rc < 0) {
            int saved = errno;
            restore(fds, g, ng);
            errno = saved;
            return rc;
        }
        for (unsigned k = 0; k < ng; k++) {
            struct pollfd *f = &fds[g[k].index];
            if (g[k].state == GATE_WAIT)
                f->revents = 0; /* looked at again on the next turn */
            else if (g[k].state == GATE_FAILED)
                f->revents = (short)((g[k].events & FAILED_EVENTS) | POLLERR | POLLHUP);
        }
        /* Sockets beyond GATE_MAX that are pending are never "ready". */
        int ready = 0;
        for (nfds_t i = 0; i < n; i++) {
            if (fds[i].revents == 0)
                continue;
            if (ng == GATE_MAX && (fds[i].revents & WRITE_EVENTS) != 0 &&
                pending_has(fds[i].fd)) {
                fds[i].revents = 0;
                continue;
            }
            ready++;
        }
        if (ready > 0 || (app_deadline >= 0 && now_ms() >= app_deadline)) {
            restore(fds, g, ng);
            return ready;
        }
    }
}

/* What select() reports for poll events (the kernel's POLLIN_SET,
 * POLLOUT_SET and POLLEX_SET, fs/select.c). */
#define SELECT_IN (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SELECT_OUT (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SELECT_EX (POLLPRI)

static bool any_pending(int n, const fd_set *rd, const fd_set *wr, const fd_set *ex)
{
    for (int fd = 0; fd < n; fd++)
        if (((rd != NULL && FD_ISSET(fd, rd)) || (wr != NULL && FD_ISSET(fd, wr)) ||
             (ex != NULL && FD_ISSET(fd, ex))) &&
            pending_has(fd))
            return true;
    return false;
}

int gate_select(int n, fd_set *rd, fd_set *wr, fd_set *ex,
                const struct timespec *timeout, const sigset_t *mask,
                struct timespec *remaining, bool is_pselect)
{
    if (n < 0 || n > FD_SETSIZE || !any_pending(n, rd, wr, ex)) {
        if (is_pselect)
            return libc_pselect(n, rd, wr, ex, timeout, mask);
        struct timeval tv, *tvp = NULL;
        if (timeout != NULL) {
            tv.tv_sec = timeout->tv_sec;
            tv.tv_usec = timeout->tv_nsec / 1000;
            tvp = &tv;
        }
        int rc = libc_select(n, rd, wr, ex, tvp);
        if (remaining != NULL && tvp != NULL) {
            remaining->tv_sec = tv.tv_sec;
            remaining->tv_nsec = tv.tv_usec * 1000;
        }
        return rc;
    }

    struct pollfd pfd[FD_SETSIZE];
    nfds_t np = 0;
    for (int fd = 0; fd < n; fd++) {
        short ev = 0;
        if (rd != NULL && FD_ISSET(fd, rd))
            ev |= POLLIN;
        if (wr != NULL && FD_ISSET(fd, wr))
            ev |= POLLOUT;
        if (ex != NULL && FD_ISSET(fd, ex))
            ev |= POLLPRI;
        if (ev != 0)
            pfd[np++] = (struct pollfd){.fd = fd, .events = ev};
    }
    long long start = now_ms();
    int rc = gate_poll(pfd, np, timeout, mask);
    if (remaining != NULL && timeout != NULL) {
        long long left = timeout->tv_sec * 1000LL + timeout->tv_nsec / 1000000 -
                         (now_ms() - start);
        if (left < 0)
            left = 0;
        remaining->tv_sec = left / 1000;
        remaining->tv_nsec = (left % 1000) * 1000000;
    }
    if (rc < 0)
        return rc;
    for (nfds_t k = 0; k < np; k++)
        if (pfd[k].revents & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
    int count = 0;
    for (nfds_t k = 0; k < np; k++) {
        int fd = pfd[k].fd;
        short re = pfd[k].revents;
        if (rd != NULL && FD_ISSET(fd, rd) && !(re & SELECT_IN))
            FD_CLR(fd, rd);
        if (wr != NULL && FD_ISSET(fd, wr) && !(re & SELECT_OUT))
            FD_CLR(fd, wr);
        if (ex != NULL && FD_ISSET(fd, ex) && !(re & SELECT_EX))
            FD_CLR(fd, ex);
        count += (rd != NULL && FD_ISSET(fd, rd)) + (wr != NULL && FD_ISSET(fd, wr)) +
                 (ex != NULL && FD_ISSET(fd, ex));
    }
    return count;
}

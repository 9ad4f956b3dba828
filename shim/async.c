#include "async.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>

#include "libc.h"
#include "log.h"
#include "pending.h"
#include "tunnel.h"

bool async_fd_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK) != 0;
}

/* One non-blocking step on fd's entry: 1 = not pending (or just came up:
 * removed), 0 = still waiting (*deadline set when known), -errno = failed
 * (removed when `report`). *busy: another thread holds the entry. */
static int step(int fd, bool report, long long *deadline, bool *busy)
{
    struct pending *p = pending_acquire(fd, busy);
    if (p == NULL)
        return *busy ? 0 : 1;
    int rc = tunnel_settle(fd, p);
    if (rc == 0) {
        pending_remove(p);
        return 1;
    }
    if (rc == -EAGAIN) {
        *deadline = atomic_load_explicit(&p->deadline_ms, memory_order_relaxed);
        pending_release(p);
        return 0;
    }
    if (report)
        pending_remove(p);
    else
        pending_release(p);
    return rc;
}

/* Waits (unless nonblocking) until fd's tunnel is up or failed; a failure
 * is reported (entry removed) only with `report`. 0, or -errno. */
static int settled(int fd, bool nonblocking, bool report)
{
    for (;;) {
        long long deadline = -1;
        bool busy;
        int rc = step(fd, report, &deadline, &busy);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return rc;
        if (nonblocking)
            return -EAGAIN;
        /* IMPORTANT: wait without holding the entry, so that another thread
         * (or a signal handler) reading the same socket is never stuck
         * behind us; whoever runs next consumes what has arrived. A busy
         * entry's deadline is unknown: look again in 10 ms. */
        long long left = deadline < 0 ? 10 : deadline - log_now_ms() + 1;
        if (left < 0)
            left = 0;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (libc_poll(&pfd, 1, left > 60000 ? 60000 : (int)left) < 0 && errno == EINTR)
            return -EINTR;
    }
}

int async_before_read(int fd, bool nonblocking)
{
    return settled(fd, nonblocking, true);
}

int async_before_write(int fd, bool dontwait)
{
    bool busy;
    struct pending *p = pending_acquire(fd, &busy);
    if (p == NULL && !busy)
        return 0;
    bool hold = true;
    if (p != NULL) {
        hold = p->hold_writes;
        int rc = tunnel_settle(fd, p);
        if (rc == 0) {
            pending_remove(p);
            return 0;
        }
        pending_release(p);
        /* A tunnel that failed is reported by the first read, once, as on
         * the epoll path everywhere: these bytes are lost with it, as bytes
         * a peer resets after they were sent. */
        if (rc != -EAGAIN)
            return 1;
    }
    if (!hold)
        return 0;
    /* A non-blocking write must not wait for a tailnet dial: "try again"
     * is always a valid answer to it (poll/select do not report the socket
     * writable meanwhile; an epoll loop retries when the kernel says it is). */
    if (dontwait || async_fd_nonblocking(fd))
        return -EAGAIN;
    int rc = settled(fd, false, false);
    if (rc == -EINTR)
        return rc;
    return rc == 0 ? 0 : 1; /* a failure stays for the first read */
}

bool async_so_error(int fd, int *err)
{
    long long deadline;
    bool busy;
    int rc = step(fd, true, &deadline, &busy);
    if (rc == 1)
        return false; /* the kernel's own SO_ERROR is the answer */
    *err = rc < 0 ? -rc : 0;
    return true;
}

int async_connect_again(int fd)
{
    long long deadline;
    bool busy;
    int rc = step(fd, true, &deadline, &busy);
    /* Up (now or before): the ordinary path answers EISCONN. */
    if (rc == 1)
        return 1;
    return rc == 0 ? -EALREADY : rc;
}

bool async_inq(int fd, int *queued)
{
    long long deadline;
    bool busy;
    int rc = step(fd, false, &deadline, &busy);
    if (rc == 1)
        return false;
    *queued = 0;
    return true;
}

static void settle_blocking(int fd)
{
    async_before_read(fd, false);
}

void async_before_exec(void)
{
    pending_each_inherited(settle_blocking);
}

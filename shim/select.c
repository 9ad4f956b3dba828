/* select() and pselect(): the same gate as poll() (shim/gate.h). */
#include <errno.h>
#include <stddef.h>

#include "export.h"
#include "gate.h"
#include "libc.h"
#include "pending.h"

static __attribute__((noinline)) int select_pending(int n, fd_set *rd, fd_set *wr, fd_set *ex,
                                                    struct timeval *tv);

/* Without a reply outstanding anywhere in this process: one load and a tail
 * call to libc (no frame). */
TSSHIM_EXPORT int select(int n, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    if (pending_any())
        return select_pending(n, rd, wr, ex, tv);
    return libc_select(n, rd, wr, ex, tv);
}

static int select_pending(int n, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    if (tv != NULL && (tv->tv_sec < 0 || tv->tv_usec < 0)) {
        errno = EINVAL;
        return -1;
    }
    struct timespec ts, left, *tsp = NULL;
    if (tv != NULL) {
        /* Linux normalises tv_usec >= 10^6 too. */
        ts.tv_sec = tv->tv_sec + tv->tv_usec / 1000000;
        ts.tv_nsec = (tv->tv_usec % 1000000) * 1000;
        tsp = &ts;
    }
    int rc = gate_select(n, rd, wr, ex, tsp, NULL, &left, false);
    if (tv != NULL) {
        /* Linux reports the time left in the timeval. */
        tv->tv_sec = left.tv_sec;
        tv->tv_usec = left.tv_nsec / 1000;
    }
    return rc;
}

TSSHIM_EXPORT int pselect(int n, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *timeout,
                          const sigset_t *mask)
{
    if (!pending_any())
        return libc_pselect(n, rd, wr, ex, timeout, mask);
    return gate_select(n, rd, wr, ex, timeout, mask, NULL, true);
}

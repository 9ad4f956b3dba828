/* poll() and ppoll(): a socket whose SOCKS5 reply is outstanding becomes
 * writable only once its tunnel is up (shim/gate.h). Without one, the call
 * goes straight to libc. */
#include <errno.h>

#include "export.h"
#include "gate.h"
#include "libc.h"
#include "pending.h"

/* Each hook: without a reply outstanding anywhere in this process, one
 * load and a tail call to libc (no frame); otherwise the gate. */

static __attribute__((noinline)) int poll_pending(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000L};
    return gate_poll(fds, n, timeout_ms < 0 ? NULL : &ts, NULL);
}

TSSHIM_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    if (pending_any())
        return poll_pending(fds, n, timeout_ms);
    return libc_poll(fds, n, timeout_ms);
}

static __attribute__((noinline)) int
ppoll_pending(struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask);

TSSHIM_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                        const sigset_t *mask)
{
    if (pending_any())
        return ppoll_pending(fds, n, timeout, mask);
    return libc_ppoll(fds, n, timeout, mask);
}

static int ppoll_pending(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                         const sigset_t *mask)
{
    if (timeout != NULL &&
        (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L)) {
        errno = EINVAL;
        return -1;
    }
    return gate_poll(fds, n, timeout, mask);
}

/* _FORTIFY_SOURCE entry points: the size check is libc's. */
TSSHIM_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen)
{
    if (!pending_any() || fdslen / sizeof *fds < n)
        return libc___poll_chk(fds, n, timeout_ms, fdslen);
    return poll(fds, n, timeout_ms);
}

TSSHIM_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                              const sigset_t *mask, size_t fdslen)
{
    if (!pending_any() || fdslen / sizeof *fds < n)
        return libc___ppoll_chk(fds, n, timeout, mask, fdslen);
    return ppoll(fds, n, timeout, mask);
}

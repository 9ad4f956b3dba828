/* write(), writev(), send(): bytes the app writes while its SOCKS5 reply is
 * outstanding (shim/async.h, async_before_write). sendto(), sendmsg() and
 * sendmmsg() do the same in their own files. Without a pending tunnel the
 * call goes straight to libc. */
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "async.h"
#include "export.h"
#include "libc.h"
#include "pending.h"

/* async_before_write()'s answer for a call of n bytes: -1 (go on with
 * the real call), or the call's result. */
static ssize_t before(int fd, size_t n, bool dontwait)
{
    int rc = async_before_write(fd, dontwait);
    if (rc == 0)
        return -1;
    if (rc == 1)
        return (ssize_t)n;
    errno = -rc;
    return -2;
}

static size_t iov_bytes(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;
    for (int i = 0; iov != NULL && i < iovcnt; i++)
        n += iov[i].iov_len;
    return n;
}

#define BEFORE(fd, n, dontwait)                                             \
    do {                                                                    \
        ssize_t r_;                                                         \
        if (pending_any() && (r_ = before((fd), (n), (dontwait))) != -1)    \
            return r_ == -2 ? -1 : r_;                                      \
    } while (0)

TSSHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    BEFORE(fd, n, false);
    return libc_write(fd, buf, n);
}

TSSHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    BEFORE(fd, iov_bytes(iov, iovcnt), false);
    return libc_writev(fd, iov, iovcnt);
}

TSSHIM_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    BEFORE(fd, n, (flags & MSG_DONTWAIT) != 0);
    return libc_sendto(fd, buf, n, flags, NULL, 0);
}

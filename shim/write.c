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

/* Each hook: without a reply outstanding anywhere in this process, one
 * load and a tail call to libc (no frame); otherwise its _pending twin. */

static __attribute__((noinline)) ssize_t write_pending(int fd, const void *buf, size_t n)
{
    ssize_t r = before(fd, n, false);
    if (r != -1)
        return r == -2 ? -1 : r;
    return libc_write(fd, buf, n);
}

TSSHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    if (pending_any())
        return write_pending(fd, buf, n);
    return libc_write(fd, buf, n);
}

static __attribute__((noinline)) ssize_t writev_pending(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t r = before(fd, iov_bytes(iov, iovcnt), false);
    if (r != -1)
        return r == -2 ? -1 : r;
    return libc_writev(fd, iov, iovcnt);
}

TSSHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (pending_any())
        return writev_pending(fd, iov, iovcnt);
    return libc_writev(fd, iov, iovcnt);
}

static __attribute__((noinline)) ssize_t send_pending(int fd, const void *buf, size_t n, int flags)
{
    ssize_t r = before(fd, n, (flags & MSG_DONTWAIT) != 0);
    if (r != -1)
        return r == -2 ? -1 : r;
    return libc_sendto(fd, buf, n, flags, NULL, 0);
}

TSSHIM_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    if (pending_any())
        return send_pending(fd, buf, n, flags);
    return libc_sendto(fd, buf, n, flags, NULL, 0);
}

/* write(), writev(), send(): bytes the app writes while its SOCKS5 reply is
 * outstanding (shim/async.h, async_before_write). sendto(), sendmsg() and
 * sendmmsg() do the same in their own files. Without a pending tunnel the
 * call goes straight to libc. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "async.h"
#include "export.h"
#include "libc.h"
#include "pending.h"

static int before(int fd)
{
    int rc = async_before_write(fd);
    if (rc == 0)
        return 0;
    errno = -rc;
    return -1;
}

TSSHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    if (pending_any() && before(fd) < 0)
        return -1;
    return libc_write(fd, buf, n);
}

TSSHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (pending_any() && before(fd) < 0)
        return -1;
    return libc_writev(fd, iov, iovcnt);
}

TSSHIM_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    if (pending_any() && before(fd) < 0)
        return -1;
    return libc_sendto(fd, buf, n, flags, NULL, 0);
}

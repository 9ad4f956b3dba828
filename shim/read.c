/* read(), readv(): a socket whose SOCKS5 reply is outstanding gives up the
 * reply's bytes to the shim first, never one of the app's (shim/async.h). */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "async.h"
#include "export.h"
#include "libc.h"
#include "pending.h"

/* 0: go on with the real call; -1 with errno: answer it. */
static int before(int fd)
{
    int rc = async_before_read(fd, async_fd_nonblocking(fd));
    if (rc == 0)
        return 0;
    errno = -rc;
    return -1;
}

/* read() with a reply outstanding somewhere in this process. */
static __attribute__((noinline)) ssize_t read_pending(int fd, void *buf, size_t n)
{
    if (before(fd) < 0)
        return -1;
    return libc_read(fd, buf, n);
}

TSSHIM_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    if (pending_any())
        return read_pending(fd, buf, n);
    return libc_read(fd, buf, n);
}

/* readv() with a reply outstanding somewhere in this process. */
static __attribute__((noinline)) ssize_t readv_pending(int fd, const struct iovec *iov, int iovcnt)
{
    if (before(fd) < 0)
        return -1;
    return libc_readv(fd, iov, iovcnt);
}

TSSHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    if (pending_any())
        return readv_pending(fd, iov, iovcnt);
    return libc_readv(fd, iov, iovcnt);
}

/* __read_chk() with a reply outstanding somewhere in this process. */
static __attribute__((noinline)) ssize_t read_chk_pending(int fd, void *buf, size_t n,
                                                          size_t buflen)
{
    if (n <= buflen && before(fd) < 0)
        return -1;
    return libc___read_chk(fd, buf, n, buflen);
}

TSSHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (pending_any())
        return read_chk_pending(fd, buf, n, buflen);
    return libc___read_chk(fd, buf, n, buflen);
}

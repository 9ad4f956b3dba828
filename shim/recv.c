/* recv(), recvfrom(), recvmsg(), recvmmsg(): as read() (shim/async.h);
 * MSG_DONTWAIT makes the wait for an outstanding reply non-blocking, and
 * MSG_PEEK / MSG_WAITALL apply to the app's bytes after it. */
#include <errno.h>
#include <sys/socket.h>

#include "async.h"
#include "export.h"
#include "libc.h"
#include "pending.h"

static int before(int fd, int flags)
{
    if ((flags & MSG_ERRQUEUE) != 0)
        return 0; /* the error queue holds no stream bytes */
    bool nonblocking = (flags & MSG_DONTWAIT) != 0 || async_fd_nonblocking(fd);
    int rc = async_before_read(fd, nonblocking);
    if (rc == 0)
        return 0;
    errno = -rc;
    return -1;
}

/* recv() with a reply outstanding somewhere in this process. */
static __attribute__((noinline)) ssize_t recv_pending(int fd, void *buf, size_t n, int flags)
{
    if (before(fd, flags) < 0)
        return -1;
    return libc_recvfrom(fd, buf, n, flags, NULL, NULL);
}

TSSHIM_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    if (pending_any())
        return recv_pending(fd, buf, n, flags);
    return libc_recvfrom(fd, buf, n, flags, NULL, NULL);
}

/* recvfrom() with a reply outstanding somewhere in this process. */
static __attribute__((noinline)) ssize_t recvfrom_pending(int fd, void *buf, size_t n, int flags,
                                                          struct sockaddr *addr, socklen_t *len)
{
    if (before(fd, flags) < 0)
        return -1;
    return libc_recvfrom(fd, buf, n, flags, addr, len);
}

TSSHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                               socklen_t *len)
{
    if (pending_any())
        return recvfrom_pending(fd, buf, n, flags, addr, len);
    return libc_recvfrom(fd, buf, n, flags, addr, len);
}

/* recvmsg() with a reply outstanding somewhere in this process. */
static __attribute__((noinline)) ssize_t recvmsg_pending(int fd, struct msghdr *msg, int flags)
{
    if (before(fd, flags) < 0)
        return -1;
    return libc_recvmsg(fd, msg, flags);
}

TSSHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (pending_any())
        return recvmsg_pending(fd, msg, flags);
    return libc_recvmsg(fd, msg, flags);
}

/* glibc declares recvmmsg()'s flags int, musl unsigned int. */
#ifdef __GLIBC__
typedef int recvmmsg_flags_t;
#else
typedef unsigned int recvmmsg_flags_t;
#endif

/* recvmmsg() with a reply outstanding somewhere in this process. */
static __attribute__((noinline)) int recvmmsg_pending(int fd, struct mmsghdr *vec, unsigned int n,
                                                      recvmmsg_flags_t flags,
                                                      struct timespec *timeout)
{
    if (before(fd, (int)flags) < 0)
        return -1;
    return libc_recvmmsg(fd, vec, n, (int)flags, timeout);
}

TSSHIM_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, recvmmsg_flags_t flags,
                           struct timespec *timeout)
{
    if (pending_any())
        return recvmmsg_pending(fd, vec, n, flags, timeout);
    return libc_recvmmsg(fd, vec, n, (int)flags, timeout);
}

/* __recv_chk() with a reply outstanding somewhere in this process. */
static __attribute__((noinline)) ssize_t recv_chk_pending(int fd, void *buf, size_t n,
                                                          size_t buflen, int flags)
{
    if (n <= buflen && before(fd, flags) < 0)
        return -1;
    return libc___recv_chk(fd, buf, n, buflen, flags);
}

TSSHIM_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    if (pending_any())
        return recv_chk_pending(fd, buf, n, buflen, flags);
    return libc___recv_chk(fd, buf, n, buflen, flags);
}

/* __recvfrom_chk() with a reply outstanding somewhere in this process. */
static __attribute__((noinline)) ssize_t recvfrom_chk_pending(int fd, void *buf, size_t n,
                                                              size_t buflen, int flags,
                                                              struct sockaddr *addr, socklen_t *len)
{
    if (n <= buflen && before(fd, flags) < 0)
        return -1;
    return libc___recvfrom_chk(fd, buf, n, buflen, flags, addr, len);
}

TSSHIM_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                     struct sockaddr *addr, socklen_t *len)
{
    if (pending_any())
        return recvfrom_chk_pending(fd, buf, n, buflen, flags, addr, len);
    return libc___recvfrom_chk(fd, buf, n, buflen, flags, addr, len);
}

/* connect(): TCP to the tailnet goes through the SOCKS5 tunnel on the app's
 * own fd; everything else goes straight to libc. A socket whose SOCKS5
 * reply is outstanding answers a repeated connect() as the kernel answers
 * one in progress (shim/async.h). */
#include <errno.h>

#include "async.h"
#include "export.h"
#include "intercept.h"
#include "libc.h"
#include "pending.h"

TSSHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int rc;
    if (pending_any() && (rc = async_connect_again(fd)) != 1)
        goto out;
    if (!intercept_wants(addr, len))
        return libc_connect(fd, addr, len);
    rc = intercept_connect("connect", fd, addr, len);
out:
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return 0;
}

/* glibc exports connect() also as __connect, which some programs and
 * libraries call directly. */
TSSHIM_EXPORT int __connect(int fd, const struct sockaddr *addr, socklen_t len)
    __attribute__((alias("connect")));

/* sendto(): MSG_FASTOPEN to the tailnet takes the tunnel (connect, then an
 * ordinary send); a datagram to the tailnet is refused, never routed. */
#include <errno.h>
#include <stddef.h>

#include "async.h"
#include "export.h"
#include "intercept.h"
#include "libc.h"
#include "pending.h"

TSSHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                             const struct sockaddr *addr, socklen_t len)
{
    int rc0;
    if (pending_any() && (rc0 = async_before_write(fd, (flags & MSG_DONTWAIT) != 0)) != 0) {
        if (rc0 == 1)
            return (ssize_t)n; /* the tunnel failed: the first read says so */
        errno = -rc0;
        return -1;
    }
    if (!intercept_wants(addr, len))
        return libc_sendto(fd, buf, n, flags, addr, len);
    int rc = intercept_send("sendto", fd, addr, len, flags);
    if (rc == 1)
        return libc_sendto(fd, buf, n, flags, addr, len);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return libc_sendto(fd, buf, n, flags & ~MSG_FASTOPEN, NULL, 0);
}

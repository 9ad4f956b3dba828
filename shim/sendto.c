/* sendto(): MSG_FASTOPEN to the tailnet takes the tunnel (connect, then an
 * ordinary send); a datagram to the tailnet is refused, never routed. */
#include <errno.h>
#include <stddef.h>

#include "export.h"
#include "intercept.h"
#include "libc.h"

TSSHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                             const struct sockaddr *addr, socklen_t len)
{
    if (!intercept_wants(addr, len))
        return libc_sendto(fd, buf, n, flags, addr, len);
    int type = 0;
    socklen_t tl = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM) {
        /* Without MSG_FASTOPEN the kernel ignores the address of a stream. */
        if ((flags & MSG_FASTOPEN) == 0)
            return libc_sendto(fd, buf, n, flags, addr, len);
        int rc = intercept_connect("sendto(MSG_FASTOPEN)", fd, addr, len);
        if (rc < 0) {
            errno = -rc;
            return -1;
        }
        return libc_sendto(fd, buf, n, flags & ~MSG_FASTOPEN, NULL, 0);
    }
    errno = -intercept_refuse_datagram("sendto", fd, addr, len);
    return -1;
}

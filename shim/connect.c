/* connect(): TCP to the tailnet goes through the SOCKS5 tunnel on the app's
 * own fd; everything else goes straight to libc. */
#include <errno.h>

#include "export.h"
#include "intercept.h"
#include "libc.h"

TSSHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (!intercept_wants(addr, len))
        return libc_connect(fd, addr, len);
    int rc = intercept_connect("connect", fd, addr, len);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return 0;
}

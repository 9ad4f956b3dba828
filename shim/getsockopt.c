/* getsockopt(SO_ERROR): for a socket whose SOCKS5 reply is outstanding, the
 * outcome of the tunnel, as the kernel reports a connect's (shim/async.h).
 * libuv, asyncio, tokio and Go read it after an optimistic writable event:
 * 0 while the reply is still on its way, so their loops carry on. */
#include <sys/socket.h>

#include "async.h"
#include "export.h"
#include "libc.h"
#include "pending.h"

TSSHIM_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    int err;
    if (level != SOL_SOCKET || name != SO_ERROR || !pending_any() || val == NULL ||
        len == NULL || *len < sizeof err || !async_so_error(fd, &err))
        return libc_getsockopt(fd, level, name, val, len);
    *(int *)val = err;
    *len = sizeof err;
    return 0;
}

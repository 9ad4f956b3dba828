/* ioctl(FIONREAD / SIOCINQ): the reply's bytes are not the app's to count
 * (shim/async.h). Every other request goes straight to libc. */
#include <stdarg.h>
#include <sys/ioctl.h>

#include "async.h"
#include "export.h"
#include "libc.h"
#include "pending.h"

/* glibc declares the request unsigned long, musl int. */
#ifdef __GLIBC__
typedef unsigned long ioctl_request_t;
#else
typedef int ioctl_request_t;
#endif

TSSHIM_EXPORT int ioctl(int fd, ioctl_request_t request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int queued;
    if ((unsigned long)request == FIONREAD && arg != NULL && pending_any() &&
        async_inq(fd, &queued)) {
        *(int *)arg = queued;
        return 0;
    }
    return libc_ioctl(fd, (unsigned long)request, arg);
}

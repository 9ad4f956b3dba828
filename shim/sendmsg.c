/* sendmsg() / sendmmsg(): the same policy as sendto(). */
#include <errno.h>
#include <stddef.h>

#include "export.h"
#include "intercept.h"
#include "libc.h"

static bool is_stream(int fd)
{
    int type = 0;
    socklen_t tl = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM;
}

TSSHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (msg == NULL || !intercept_wants(msg->msg_name, msg->msg_namelen))
        return libc_sendmsg(fd, msg, flags);
    if (is_stream(fd)) {
        if ((flags & MSG_FASTOPEN) == 0)
            return libc_sendmsg(fd, msg, flags);
        int rc = intercept_connect("sendmsg(MSG_FASTOPEN)", fd, msg->msg_name,
                                   msg->msg_namelen);
        if (rc < 0) {
            errno = -rc;
            return -1;
        }
        struct msghdr plain = *msg;
        plain.msg_name = NULL;
        plain.msg_namelen = 0;
        return libc_sendmsg(fd, &plain, flags & ~MSG_FASTOPEN);
    }
    errno = -intercept_refuse_datagram("sendmsg", fd, msg->msg_name, msg->msg_namelen);
    return -1;
}

/* glibc declares sendmmsg()'s flags int, musl unsigned int. */
#ifdef __GLIBC__
typedef int sendmmsg_flags_t;
#else
typedef unsigned int sendmmsg_flags_t;
#endif

TSSHIM_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int n,
                           sendmmsg_flags_t flags)
{
    /* Send the messages before the first tailnet one; refuse from there on,
     * the way a partial sendmmsg() reports how many went out. */
    unsigned ok = 0;
    while (vec != NULL && ok < n &&
           !intercept_wants(vec[ok].msg_hdr.msg_name, vec[ok].msg_hdr.msg_namelen))
        ok++;
    if (vec == NULL || ok == n)
        return libc_sendmmsg(fd, vec, n, flags);
    if (ok > 0)
        return libc_sendmmsg(fd, vec, ok, flags);
    errno = -intercept_refuse_datagram("sendmmsg", fd, vec[0].msg_hdr.msg_name,
                                       vec[0].msg_hdr.msg_namelen);
    return -1;
}

/* sendmsg() / sendmmsg(): the same policy as sendto(). */
#include <errno.h>
#include <stddef.h>

#include "async.h"
#include "export.h"
#include "intercept.h"
#include "libc.h"
#include "pending.h"

static size_t msg_bytes(const struct msghdr *msg)
{
    size_t n = 0;
    for (size_t i = 0; msg->msg_iov != NULL && i < (size_t)msg->msg_iovlen; i++)
        n += msg->msg_iov[i].iov_len;
    return n;
}

TSSHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    int rc0;
    if (pending_any() && (rc0 = async_before_write(fd, (flags & MSG_DONTWAIT) != 0)) != 0) {
        if (rc0 == 1 && msg != NULL)
            return (ssize_t)msg_bytes(msg); /* failed tunnel: the first read says so */
        errno = rc0 == 1 ? EFAULT : -rc0;
        return -1;
    }
    socklen_t len = msg != NULL ? intercept_msg_namelen(msg->msg_namelen) : 0;
    if (msg == NULL || !intercept_wants(msg->msg_name, len))
        return libc_sendmsg(fd, msg, flags);
    int rc = intercept_send("sendmsg", fd, msg->msg_name, len, flags);
    if (rc == 1)
        return libc_sendmsg(fd, msg, flags);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    struct msghdr plain = *msg;
    plain.msg_name = NULL;
    plain.msg_namelen = 0;
    return libc_sendmsg(fd, &plain, flags & ~MSG_FASTOPEN);
}

/* glibc declares sendmmsg()'s flags int, musl unsigned int. */
#ifdef __GLIBC__
typedef int sendmmsg_flags_t;
#else
typedef unsigned int sendmmsg_flags_t;
#endif

TSSHIM_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, sendmmsg_flags_t flags)
{
    /* Messages to tunnelled addresses are refused (sendmmsg has no
     * MSG_FASTOPEN); send those before the first one, and report how many
     * went out, as a partial sendmmsg() does. */
    int rc0;
    if (pending_any() && (rc0 = async_before_write(fd, (flags & MSG_DONTWAIT) != 0)) != 0) {
        if (rc0 == 1 && vec != NULL) {
            for (unsigned i = 0; i < n; i++) /* failed tunnel: see sendmsg() */
                vec[i].msg_len = (unsigned)msg_bytes(&vec[i].msg_hdr);
            return (int)n;
        }
        errno = rc0 == 1 ? EFAULT : -rc0;
        return -1;
    }
    unsigned ok = 0;
    while (vec != NULL && ok < n &&
           !intercept_wants(vec[ok].msg_hdr.msg_name,
                            intercept_msg_namelen(vec[ok].msg_hdr.msg_namelen)))
        ok++;
    if (vec == NULL || ok == n)
        return libc_sendmmsg(fd, vec, n, (int)flags);
    if (ok > 0)
        return libc_sendmmsg(fd, vec, ok, (int)flags);
    int rc = intercept_send("sendmmsg", fd, vec[0].msg_hdr.msg_name,
                            intercept_msg_namelen(vec[0].msg_hdr.msg_namelen),
                            (int)flags & ~MSG_FASTOPEN);
    if (rc == 1)
        return libc_sendmmsg(fd, vec, n, (int)flags);
    errno = rc < 0 ? -rc : ENETUNREACH;
    return -1;
}

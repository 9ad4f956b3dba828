/* The one decision every socket hook shares: does this destination go
 * through the tunnel, and if so, what happens. */
#ifndef TSSHIM_INTERCEPT_H
#define TSSHIM_INTERCEPT_H

#include <stdbool.h>
#include <sys/socket.h>

/* True when dest must not reach libc as is (tunnelled or refused). Cheap for
 * everything else: a family check, the config pointer and a prefix test.
 * len is the length the kernel will use: for sendmsg()/sendmmsg() pass it
 * through intercept_msg_namelen() first. */
bool intercept_wants(const struct sockaddr *dest, socklen_t len);

/* The msg_namelen the kernel uses: ___sys_sendmsg (net/socket.c,
 * copy_msghdr_from_user) clamps it to sizeof(struct sockaddr_storage) where
 * connect() and sendto() refuse longer lengths with EINVAL. */
static inline socklen_t intercept_msg_namelen(socklen_t len)
{
    return len > sizeof(struct sockaddr_storage) ? (socklen_t)sizeof(struct sockaddr_storage) : len;
}

/* connect() to a destination intercept_wants(): TCP goes through the tunnel;
 * UDP, raw and other protocols are refused with ENETUNREACH (a datagram to
 * the tailnet must never leave through the host's default route). Returns 0
 * or -errno and logs one debug line. `what` names the calling hook. */
int intercept_connect(const char *what, int fd, const struct sockaddr *dest, socklen_t len);

/* sendto()/sendmsg() with a destination intercept_wants(). Returns
 *   1: hand the call to libc unchanged (a stream ignores the address),
 *   0: fd is now connected through the tunnel (MSG_FASTOPEN): send the data
 *      without the address and without MSG_FASTOPEN,
 *   -errno: fail the call. */
int intercept_send(const char *what, int fd, const struct sockaddr *dest, socklen_t len, int flags);

#endif

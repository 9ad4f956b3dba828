/* The one decision every socket hook shares: does this destination go
 * through the tunnel, and if so, what happens. */
#ifndef TSSHIM_INTERCEPT_H
#define TSSHIM_INTERCEPT_H

#include <stdbool.h>
#include <sys/socket.h>

/* True when dest must not reach libc as is (tunnelled or refused). Cheap for
 * everything else: a family check, the config pointer and a prefix test. */
bool intercept_wants(const struct sockaddr *dest, socklen_t len);

/* connect() to a destination intercept_wants(): TCP goes through the tunnel;
 * UDP, raw and other protocols are refused with ENETUNREACH (a datagram to
 * the tailnet must never leave through the host's default route). Returns 0
 * or -errno and logs one debug line. `what` names the calling hook. */
int intercept_connect(const char *what, int fd, const struct sockaddr *dest,
                      socklen_t len);

/* sendto()/sendmsg() with a destination intercept_wants(). Returns
 *   1: hand the call to libc unchanged (a stream ignores the address),
 *   0: fd is now connected through the tunnel (MSG_FASTOPEN): send the data
 *      without the address and without MSG_FASTOPEN,
 *   -errno: fail the call. */
int intercept_send(const char *what, int fd, const struct sockaddr *dest,
                   socklen_t len, int flags);

#endif

/* The one decision every socket hook shares: does this destination go
 * through the tunnel, and if so, what happens. */
#ifndef TSSHIM_INTERCEPT_H
#define TSSHIM_INTERCEPT_H

#include <stdbool.h>
#include <sys/socket.h>

/* True when dest must not reach libc as is (tunnelled or refused). Cheap for
 * everything else: a family check, the config pointer and a prefix test. */
bool intercept_wants(const struct sockaddr *dest, socklen_t len);

/* Connects fd to dest through the tunnel (TCP) or refuses it (UDP, raw, any
 * other protocol: a datagram to the tailnet must never leave through the
 * host's default route). Returns 0 or -errno; logs one debug line. The
 * caller has checked intercept_wants(). `what` names the calling hook. */
int intercept_connect(const char *what, int fd, const struct sockaddr *dest,
                      socklen_t len);

/* For datagram sends: -ENETUNREACH with a debug line. */
int intercept_refuse_datagram(const char *what, int fd,
                              const struct sockaddr *dest, socklen_t len);

#endif

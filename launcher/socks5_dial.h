/* A SOCKS5 CONNECT driven to completion on one socket, for the seccomp
 * supervisor (threads may block here; the shim has its own driver). */
#ifndef TSRUN_SOCKS5_DIAL_H
#define TSRUN_SOCKS5_DIAL_H

#include <stdint.h>
#include <sys/socket.h>

/* Connects fd (an unconnected TCP socket, blocking or not; its flags are
 * left as they are) to the proxy and asks it for dest16:port (IPv6 form,
 * IPv4 as ::ffff:a.b.c.d). Bounded by timeout_ms for the whole exchange,
 * retries EINTR. Returns 0 when fd carries the tunnel, else -errno as a
 * kernel connect would give it: -ECONNREFUSED when the proxy refuses or
 * closes early, -ETIMEDOUT past the bound, the SOCKS5 reply's errno
 * (common/socks5_errno.h) otherwise. On failure fd may be connected to the
 * proxy: the caller disconnects it (connect AF_UNSPEC) or closes it. */
int socks5_dial(int fd, const struct sockaddr *proxy, socklen_t proxylen, const uint8_t dest16[16],
                uint16_t port, int timeout_ms);

#endif

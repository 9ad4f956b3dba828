/* Drives the SOCKS5 handshake on the application's own socket. This is the
 * only file in the shim that does network I/O. */
#ifndef TSSHIM_TUNNEL_H
#define TSSHIM_TUNNEL_H

#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "socks5.h"

/* tailscaled answers every CONNECT within this (its dial context). */
#define TUNNEL_TAILSCALED_DIAL_CAP_MS 5000

/* Connects fd (a TCP socket of the app, blocking or not) to the proxy and
 * asks it for dest16:port. Returns 0 when the fd carries the tunnel, else
 * -errno; on failure the socket is disconnected again, as after a failed
 * kernel connect. Never changes the fd's flags; bounded by the configured
 * timeout; retries on EINTR. */
int tunnel_connect(int fd, int family, const uint8_t dest16[16], uint16_t port,
                   const struct config *cfg);

/* The same for a non-blocking socket, asynchronously: connects fd to the
 * proxy and sends the request (local, bounded steps), registers the socket
 * in the pending table and returns -EINPROGRESS; the reply is consumed later
 * by tunnel_settle(). Returns 0 or another -errno when it finished at once
 * (refused locally, or connected synchronously because the table is full). */
int tunnel_start(int fd, int family, const uint8_t dest16[16], uint16_t port,
                 const struct config *cfg);

struct pending;

/* Reads what has arrived of p's reply (p locked by the caller), never a byte
 * beyond it, without waiting. Returns 0 when the tunnel is up (the caller
 * removes p), -EAGAIN while the reply is incomplete and the deadline not
 * reached, or -errno when the tunnel failed: p is then PENDING_FAILED with
 * p->err, the socket is unconnected again, and whoever reports the errno
 * (once) removes p. */
int tunnel_settle(int fd, struct pending *p);


/* The proxy address to use from a socket of this family, or -errno
 * (EAFNOSUPPORT: an IPv4 socket cannot reach an IPv6-only proxy). */
int tunnel_proxy_addr(const struct config *cfg, int family, int v6only,
                      struct sockaddr_storage *out, socklen_t *len);

#endif

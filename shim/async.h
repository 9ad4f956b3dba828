/* What the hooks do with a socket whose SOCKS5 reply is outstanding
 * (shim/pending.h): each function answers one kind of call, and each is
 * called only after pending_any() said something is outstanding. */
#ifndef TSSHIM_ASYNC_H
#define TSSHIM_ASYNC_H

#include <stdbool.h>

/* Before a read-side call (read, recv*, readv, ...) on fd. Returns 0: go on
 * with the real call (nothing pending, or the tunnel just came up: the
 * reply's bytes are consumed, the app's are untouched); -EAGAIN: the reply
 * is incomplete and the call must not block (`nonblocking`: O_NONBLOCK or
 * MSG_DONTWAIT); -errno: the tunnel failed, reported here once. A blocking
 * call waits, bounded by TSRUN_CONNECT_TIMEOUT_MS; a signal makes it -EINTR. */
int async_before_read(int fd, bool nonblocking);

/* Before a write-side call on fd (write, send*, ...). Returns
 *   0: go on with the real call;
 *   1: the tunnel has failed: answer the call as if its bytes were sent (as
 *      bytes sent just before a peer's reset are lost) and leave the errno to
 *      the first read, where epoll loops look for it, once;
 *   -EINTR: a signal interrupted the wait below;
 *   -EAGAIN: see below.
 * Servers that read the request with one recv() and drop what came with it
 * (microsocks: the reason for TSRUN_SOCKS5_PIPELINE=0) must not get the app's
 * bytes before their reply: for those tunnels a blocking call waits for it,
 * bounded by the deadline, and a non-blocking one (`dontwait`: MSG_DONTWAIT,
 * or O_NONBLOCK) gets -EAGAIN. tailscaled forwards early bytes after its
 * reply: nothing waits there, but a reply that has already arrived is
 * consumed first. */
int async_before_write(int fd, bool dontwait);

/* True when fd's descriptor is non-blocking (fcntl), for the hooks above. */
bool async_fd_nonblocking(int fd);

/* getsockopt(SO_ERROR) on fd: true with *err set when fd is pending (the
 * reply is consumed if complete: 0 or its errno, once; 0 while incomplete,
 * as the kernel reports a connect still in progress), false otherwise. */
bool async_so_error(int fd, int *err);

/* connect() on fd again. Returns 1 when fd is not pending (any more: the
 * ordinary path then answers EISCONN for a tunnel that is up); else the
 * answer: -EALREADY while pending, the failure's -errno once. */
int async_connect_again(int fd);

/* ioctl(FIONREAD/SIOCINQ): true with *queued = 0 while fd's reply is
 * incomplete or failed (the app's bytes cannot have arrived before it); false
 * when the caller should ask the kernel (nothing pending, or now consumed). */
bool async_inq(int fd, int *queued);

/* Before execve(): the new image has no table, so every inherited pending
 * socket is settled now (waiting, bounded by its deadline); a failed one is
 * left unconnected, as the kernel leaves a failed connect. */
void async_before_exec(void);

#endif

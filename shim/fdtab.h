/* Which tailnet destination a tunnelled socket was asked to reach, so that
 * getpeername() can answer with it instead of the proxy's address. */
#ifndef TSSHIM_FDTAB_H
#define TSSHIM_FDTAB_H

#include <stdbool.h>
#include <sys/socket.h>

/* Records dest for the socket now open as fd, keyed by the socket's inode:
 * every descriptor of that socket finds it. Best effort: a slot another
 * thread is writing is skipped (getpeername then shows the proxy), never
 * waited for. */
void fdtab_remember(int fd, const struct sockaddr *dest, socklen_t len);

/* The destination recorded for the socket open as fd (any dup of it), if
 * any (a reused fd number is another socket, another inode). */
bool fdtab_lookup(int fd, struct sockaddr_storage *dest, socklen_t *len);

#endif

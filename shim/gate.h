/* The poll/select gate: a socket whose SOCKS5 reply is outstanding is not
 * writable yet. curl, Java and CPython's blocking-with-timeout sockets wait
 * for a connect with poll() and then read SO_ERROR; gating here gives them
 * exact connect semantics (writable once the tunnel is up; writable + error,
 * with the errno in SO_ERROR, when it failed). */
#ifndef TSSHIM_GATE_H
#define TSSHIM_GATE_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/select.h>
#include <time.h>

/* ppoll() semantics (timeout NULL: none; mask may be NULL) with pending
 * sockets gated: their POLLOUT interest waits for the reply instead, and an
 * incomplete reply is never an event. Returns the number of fds with events,
 * 0 on timeout, -1 with errno (EINTR, ...). The app's array is restored
 * before it returns. Waits at most until the earliest handshake deadline
 * between looks, so a stalled tunnel fails with ETIMEDOUT on time. */
int gate_poll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
              const sigset_t *mask);

/* pselect() semantics on top of gate_poll() (fds below FD_SETSIZE).
 * remaining (may be NULL) receives the time left, as Linux select() reports
 * it in its timeval. Falls through to libc when no set fd is pending. */
int gate_select(int n, fd_set *rd, fd_set *wr, fd_set *ex,
                const struct timespec *timeout, const sigset_t *mask,
                struct timespec *remaining, bool is_pselect);

#endif

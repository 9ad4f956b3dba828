/* UDP sockets whose DNS queries for tailnet names tsrun sent to the stub on
 * the program's behalf (an unconnected socket's sendto to port 53, the way
 * musl's static resolver asks: musl 1.2.3 src/network/res_msend.c). The
 * stub's answers then arrive on that socket from the stub's address, but the
 * resolver accepts a reply only when recvfrom's source address is byte for
 * byte a nameserver it asked (memcmp on the sockaddr): tsrun answers that
 * recvfrom itself and reports the nameserver instead.
 *
 * The table is keyed by the socket's inode (any dup of the socket, in any
 * process of the tree), holds the nameserver exactly as the program passed
 * it to sendto, and forgets the oldest entry first (DNSSOCK_MAX).
 * Where tsrun cannot duplicate the program's socket (pidfd_getfd refused:
 * Docker's default seccomp profile) it installs a UDP socket of its own
 * over the program's fd instead, and an entry also keeps tsrun's copy of
 * that socket, to send and receive on it later (dnssock_keep).
 * Thread-safe; dnssock_empty() is a lock-free read for the fast path. */
#ifndef TSRUN_DNSSOCK_H
#define TSRUN_DNSSOCK_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#define DNSSOCK_MAX 256
#define DNSSOCK_KEEP_MAX 32 /* copies kept at once (dnssock_keep) */

/* Remembers (or updates) ino -> ns (the nslen bytes the program passed). */
void dnssock_remember(ino_t ino, const void *ns, socklen_t nslen);

/* The nameserver remembered for ino: true and *ns, *nslen filled. */
bool dnssock_lookup(ino_t ino, struct sockaddr_storage *ns, socklen_t *nslen);

/* Keeps s, tsrun's copy of a socket it installed over fd in process pid
 * (SECCOMP_IOCTL_NOTIF_ADDFD), with the entry of ino (s's inode, which
 * dnssock_remember must have recorded: otherwise s is closed at once).
 * Takes s: it is closed when the entry is forgotten. First every kept copy
 * whose fd in its process no longer names it (the program closed it, or
 * the process is gone: /proc/PID/fd/FD) is closed; beyond DNSSOCK_KEEP_MAX
 * the oldest copy is. */
void dnssock_keep(ino_t ino, int s, pid_t pid, int fd);

/* A duplicate of the copy kept for ino (the caller closes it), or -errno
 * (-ENOENT: none kept). */
int dnssock_dup_kept(ino_t ino);

/* No socket remembered yet (recvfrom then continues at once). */
bool dnssock_empty(void);

/* Pure: is src (a datagram's source, IPv4 or IPv6, v4-mapped allowed) the
 * stub's address stub (IPv4)? Address and port compared. */
bool dnssock_from_stub(const struct sockaddr *src, socklen_t srclen,
                       const struct sockaddr_storage *stub);

#endif

/* Internal to the seccomp supervisor (unotify.c and unotify_dns.c): how a
 * DNS job (trap.h's TRAP_DNS) is answered over the user-notify listener, and
 * the listener calls both files use. */
#ifndef TSRUN_UNOTIFY_DNS_H
#define TSRUN_UNOTIFY_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include "trap.h"

/* Answers j's notification and frees j (a blocking recvfrom with nothing
 * queued is answered later, from a thread of its own). On a pidfd_getfd
 * duplicate of the app's socket (trapdns.h); where tsrun keeps off
 * pidfd_getfd (it was refused once, or TSRUN_SECCOMP_ADDFD=1: Docker's
 * case), a DNS connect (UDP or TCP) is answered by installing a new socket
 * connected to the stub over the app's fd (SECCOMP_IOCTL_NOTIF_ADDFD, its
 * O_NONBLOCK and O_CLOEXEC kept; options the app set before connect are
 * not, and Go sets none on its DNS sockets); a tailnet query by sendto
 * (musl's static resolver) is sent on a new UDP socket installed the same
 * way, which tsrun keeps a copy of (dnssock_keep) to serve that fd's later
 * sendto and recvfrom; with no copy a recvfrom continues in the kernel. */
void unotify_dns(struct trap_job *j);

/* --- unotify.c's, for unotify_dns.c --- */

/* Still the same syscall of the same thread? */
bool unotify_id_valid(uint64_t id);

/* Answers notification id: err is 0, -errno, or TRAP_CONTINUE (the kernel
 * runs the call). */
void unotify_respond(uint64_t id, int err);

/* Answers notification id with the value val (a byte count). */
void unotify_respond_val(uint64_t id, int64_t val);

/* Has tsrun given up pidfd_getfd (use ADDFD)? */
bool unotify_use_addfd(void);

/* pidfd_getfd was refused: give it up from now on (one debug line). */
void unotify_stop_getfd(void);

/* Installs our socket s as the app's fd (SECCOMP_ADDFD_FLAG_SETFD) while
 * notification id waits, with O_CLOEXEC when fd_flags (the app's fd's
 * flags) has it. 0 or -errno. */
int unotify_addfd(uint64_t id, int s, int fd, int fd_flags);

#endif

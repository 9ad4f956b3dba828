/* What both supervisors do with trap_decide's DNS jobs (trap.h), on d, a
 * duplicate of the app's socket (trap_app_fd: pidfd_getfd) that the caller
 * owns and closes. Where no duplicate can be had the caller decides
 * (seccomp: SECCOMP_IOCTL_NOTIF_ADDFD, unotify_dns.c; ptrace: the connect
 * continues, a tailnet query fails).
 *
 * IMPORTANT: musl sends each query with sendto() to every nameserver and
 * keeps a reply only when recvfrom()'s source equals one of them (musl
 * 1.2.3 src/network/res_msend.c). A tailnet query is therefore sent to the
 * stub on the duplicate (the answer lands in the app's queue, so its poll()
 * wakes as usual), and the app's recvfrom() on that socket is done here on
 * a duplicate too, reporting the nameserver instead of the stub. */
#ifndef TSRUN_TRAPDNS_H
#define TSRUN_TRAPDNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "trap.h"

#define TRAPDNS_TCP_CONNECT_MS 1000 /* a DNS-over-TCP connect to the stub (loopback) */
#define TRAPDNS_GONE INT64_MIN      /* trapdns_recv_wait: the caller went away */

/* The stub (type SOCK_DGRAM, or SOCK_STREAM: the TCP listener) as a socket
 * of this family reaches it (IPv6: v4-mapped, so not on a v6-only socket). */
void trapdns_stub_for(int family, int type, struct sockaddr_storage *out, socklen_t *len);

/* TRAP_JOB_DNS_UDP / TRAP_JOB_DNS_TCP: connects d to the stub (TCP: within
 * TRAPDNS_TCP_CONNECT_MS, whatever the app's O_NONBLOCK) and tells the stub
 * which nameserver the socket was meant for (forwards go there; a TCP
 * socket's getpeername reports it). 0 (answer the connect 0) or
 * -ENETUNREACH (not done: the connect fails, since a socket connected to the
 * nameserver itself would send it tailnet queries tsrun never sees). */
int trapdns_connect(const struct trap_job *j, int d);

/* TRAP_JOB_DNS_SENDTO: the query goes to the stub on d and the socket is
 * remembered with its nameserver (dnssock.h); for sendmmsg, entry 0's
 * msg_len is written (j->msglen_at). j->sent (answer the call with it),
 * -ENETUNREACH (not sent), or -EFAULT (sent, but msg_len could not be
 * written: the kernel answers that too). */
int64_t trapdns_sendto(const struct trap_job *j, int d);

/* TRAP_JOB_DNS_RECVFROM, without waiting: one datagram off d; it and its
 * source (the nameserver when it came from the stub) written to the app as
 * recvfrom would. The byte count, or -errno (-EAGAIN: nothing queued). */
int64_t trapdns_recv_try(const struct trap_job *j, int d);

/* Would the app's recvfrom wait (neither MSG_DONTWAIT nor O_NONBLOCK)? */
bool trapdns_recv_blocks(const struct trap_job *j, int d);

/* A blocking recvfrom with nothing queued: waits for a datagram on d
 * within the socket's SO_RCVTIMEO (then -EAGAIN, as the kernel answers),
 * asking valid(arg) every 50 ms whether the caller still waits, and
 * whether a signal is due to it (sigdue.h): then -EINTR, so that its
 * handler runs (or a fatal one ends it) as the call returns. A handler
 * installed with SA_RESTART sees EINTR too, as with a socket that has a
 * SO_RCVTIMEO. The byte count, -errno, or TRAPDNS_GONE. Runs on a thread
 * of its own. */
int64_t trapdns_recv_wait(const struct trap_job *j, int d, bool (*valid)(void *), void *arg);

#endif

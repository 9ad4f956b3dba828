/* The decisions both supervisors make for a trapped syscall (seccomp
 * user-notify in unotify.c, ptrace in ptracer.c): given the syscall, its
 * arguments and the thread that made it -> continue in the kernel, answer
 * 0/-errno, tunnel (a job another thread runs with trap_tunnel_getfd), or
 * redirect a DNS query to tsrun's stub (a job trapdns.c's mechanism runs
 * on a duplicate of the app's socket). Tracee memory is read with
 * process_vm_readv (the tracer, or the same uid, may), fds are reached
 * through /proc/TID/fd and pidfd_getfd. */
#ifndef TSRUN_TRAP_H
#define TSRUN_TRAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "unotify.h" /* struct unotify_cfg: the configuration both share */

#define TRAP_CONTINUE 1      /* let the kernel run the syscall as asked */
#define TRAP_TUNNEL 2        /* *job filled: run it off the supervisor's thread */
#define TRAP_GONE 3          /* the call is no longer valid (seccomp): answer nothing */
#define TRAP_GETFD_REFUSED 4 /* trap_tunnel_getfd: pidfd_getfd not permitted here */
#define TRAP_DNS 5           /* *job filled (a TRAP_JOB_DNS_* kind): see trapdns.h */

#define TRAP_DNS_QUERY_MAX 1232 /* the largest query redirected (dnsstub.c's message bound) */

struct trap_call {
    pid_t tid;        /* the thread (a seccomp notification's pid; the ptrace tid) */
    long nr;          /* this architecture's syscall number */
    uint64_t args[6]; /* the syscall's arguments */
    uint64_t id;      /* for valid(): the seccomp notification id */
    /* Still the same syscall of the same thread after its memory was read
     * (a tid may be recycled)? NULL: always (a ptrace-stopped tracee). */
    bool (*valid)(const struct trap_call *c);
};

/* What a trap_job asks for. */
enum trap_job_kind {
    TRAP_JOB_TUNNEL,       /* connect to a tunnelled range on a TCP socket (TRAP_TUNNEL) */
    TRAP_JOB_DNS_UDP,      /* connect(fd, ns:53) on a UDP socket (Go's resolver) */
    TRAP_JOB_DNS_TCP,      /* connect(fd, ns:53) on a TCP socket (DNS over TCP) */
    TRAP_JOB_DNS_SENDTO,   /* sendto/sendmsg/sendmmsg(fd, q, ns:53) of a tailnet name, UDP */
    TRAP_JOB_DNS_RECVFROM, /* recvfrom(fd, .., src) on a socket a tailnet query went out on */
};

/* A call to finish off the supervisor's thread (a tunnelled TCP connect) or
 * on a duplicate of the app's socket (DNS). Allocated by trap_decide, freed
 * by the caller. */
struct trap_job {
    enum trap_job_kind kind;
    uint64_t id; /* the seccomp notification (unotify), unused by ptrace */
    pid_t tid;
    int fd;     /* the app's socket, in the app's fd table */
    int family; /* of the app's socket (DNS_RECVFROM: AF_UNSPEC, not looked up) */
    uint8_t dest16[16];
    uint16_t port;
    socklen_t len;
    /* As the app gave it: getpeername's answer (TUNNEL), the nameserver it
     * addressed (DNS_*; RECVFROM: the one its query was addressed to). */
    struct sockaddr_storage dest;
    /* DNS_SENDTO: the query (qlen bytes, 12..TRAP_DNS_QUERY_MAX); what
     * the call answers once it is sent (sendto, sendmsg: qlen; sendmmsg: 1,
     * one entry); msglen_at: where sendmmsg's entry 0 gets its msg_len
     * (tracee address; 0: sendto, sendmsg). */
    size_t qlen;
    uint8_t q[TRAP_DNS_QUERY_MAX];
    int64_t sent;
    uint64_t msglen_at;
    /* DNS_RECVFROM: recvfrom's arguments (tracee addresses) and *addrlen. */
    uint64_t buf, buflen, addr, lenp;
    int flags;
    socklen_t ulen;
};

/* Once, before the first trap_decide: cfg outlives every call; who prefixes
 * the debug lines ("seccomp", "ptrace"). */
void trap_init(const struct unotify_cfg *cfg, const char *who);

/* Decides a trapped connect, getpeername, addressed sendto, sendmsg,
 * sendmmsg or recvfrom asking for the source (other numbers:
 * TRAP_CONTINUE). Returns TRAP_CONTINUE, 0 or -errno to answer (getpeername
 * has already written the tailnet peer into the tracee's memory when it
 * returns 0), TRAP_TUNNEL with *job (connect to a tunnelled range on a TCP
 * socket), TRAP_DNS with *job (with cfg->dns: a connect to port 53 on a UDP
 * socket, or on a TCP one with cfg->dns_tcp; a tailnet query to port 53
 * on a UDP socket, sent with sendto or sendmsg or as sendmmsg's entry 0; a
 * recvfrom with a source address on a socket such a query went out on), or
 * TRAP_GONE. Fails closed: a destination (or a DNS query) that
 * cannot be read for another reason than a bad pointer is answered
 * -ENETUNREACH; a tailnet query over TRAP_DNS_QUERY_MAX bytes -EMSGSIZE; UDP/raw to a tunnelled
 * range by connect, sendto, sendmsg or sendmmsg -ENETUNREACH, TCP fast open there -EOPNOTSUPP; one
 * tunnelled entry, or a tailnet query in an entry after the first, fails a whole sendmmsg
 * (-ENETUNREACH, nothing sent).
 *
 * IMPORTANT: recvmsg and recvmmsg are not trapped (every UDP receive of a
 * seccomp-mode program would cost a notification). The stub's answer to a
 * tailnet query is read by them as the kernel delivers it: msg_name is the
 * stub's address (127.0.0.1:PORT, or ::ffff:127.0.0.1:PORT on an IPv6
 * socket), not the nameserver's. A resolver that reads its answer with
 * recvmsg and keeps only an answer from the address it asked drops it;
 * recvfrom (musl) and read/recv on a connected socket (Go, glibc) see the
 * nameserver, or need no address. */
int trap_decide(const struct trap_call *c, struct trap_job **job);

/* The SOCKS5 handshake on the app's own socket (pidfd_getfd): every option
 * it set stays; blocks up to cfg->timeout_ms. 0 (the socket carries the
 * tunnel; getpeername answers j->dest from now on), -errno as a kernel
 * connect gives it (the socket is back to unconnected), or
 * TRAP_GETFD_REFUSED (pidfd_getfd is not permitted: nothing was done). */
int trap_tunnel_getfd(const struct trap_job *j);

/* Runs fn(arg) on a detached thread (64 KiB of stack) with every signal blocked (the
 * command's signals are not for it). 0 or -errno (nothing started). */
int trap_spawn(void *(*fn)(void *), void *arg);

/* A setuid/setgid/setcap program is being (or was just) exec'd in a tree
 * running with no-new-privs: one warning per program (up to 8 remembered)
 * that it runs without those privileges. file: a path tsrun can stat
 * (/proc/TID/exe, /proc/TID/cwd/...); shown: the name the warning gives.
 * Call from the supervisor's thread only. */
void trap_report_exec(const char *file, const char *shown);

/* A duplicate of the app's fd tid's fd in this process (pidfd_getfd), or
 * -errno (-EPERM, -EACCES or -ENOSYS: pidfd_getfd is not permitted). */
int trap_app_fd(pid_t tid, int fd);
/* The process (thread group) of thread tid, from /proc/TID/status, or -1. */
pid_t trap_tgid(pid_t tid);
bool trap_getfd_refused(int err); /* is trap_app_fd's -errno "not permitted"? */

/* The configuration given to trap_init, and who is answering ("seccomp"). */
const struct unotify_cfg *trap_cfg(void);
const char *trap_who(void);

/* Helpers unotify.c's ADDFD path shares. */
int trap_proxy_for(int family, int v6only, struct sockaddr_storage *out, socklen_t *len);
int trap_fd_flags(pid_t tid, int fd); /* O_NONBLOCK/O_CLOEXEC of the app's fd, or -errno */
void trap_peer_remember(ino_t ino, const struct sockaddr *sa, socklen_t len);

/* A trapped thread's memory (launcher/trapmem.c): all len bytes at addr, or
 * none. 0, -EFAULT (not mapped so, as the kernel's own copy would say), or
 * -errno (the supervisor may not read it). */
int trap_mem_read(pid_t tid, uint64_t addr, void *buf, size_t len);
int trap_mem_write(pid_t tid, uint64_t addr, const void *buf, size_t len);
/* Once, before the first of those (trap_init calls it): process_vm_readv, or
 * /proc/TID/mem where tsrun may not call it (Docker, gVisor). */
void trap_mem_init(void);

/* May tsrun call process_vm_readv (asked about its own memory: a process may
 * always read itself, so only a seccomp filter or a missing call says no)?
 * 0 or -errno (-EPERM under Docker's default profile, -ENOSYS on gVisor). */
int trap_mem_probe(void);

#endif

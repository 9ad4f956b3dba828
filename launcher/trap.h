/* The decisions both supervisors make for a trapped syscall (seccomp
 * user-notify in unotify.c, ptrace in ptrace.c): given the syscall, its
 * arguments and the thread that made it -> continue in the kernel, answer
 * 0/-errno, or tunnel (a job another thread runs with trap_tunnel_getfd).
 * Tracee memory is read with process_vm_readv (the tracer, or the same uid,
 * may), fds are reached through /proc/TID/fd and pidfd_getfd. */
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

struct trap_call {
    pid_t tid;        /* the thread (a seccomp notification's pid; the ptrace tid) */
    long nr;          /* this architecture's syscall number */
    uint64_t args[6]; /* the syscall's arguments */
    uint64_t id;      /* for valid(): the seccomp notification id */
    /* Still the same syscall of the same thread after its memory was read
     * (a tid may be recycled)? NULL: always (a ptrace-stopped tracee). */
    bool (*valid)(const struct trap_call *c);
};

/* A tunnelled TCP connect: what trap_tunnel_getfd (or unotify's ADDFD path)
 * needs. Allocated by trap_decide, freed by the caller. */
struct trap_job {
    uint64_t id; /* the seccomp notification (unotify), unused by ptrace */
    pid_t tid;
    int fd;     /* the app's socket, in the app's fd table */
    int family; /* of the app's socket */
    uint8_t dest16[16];
    uint16_t port;
    socklen_t len;
    struct sockaddr_storage dest; /* as the app gave it: getpeername's answer */
};

/* Once, before the first trap_decide: cfg outlives every call; who prefixes
 * the debug lines ("seccomp", "ptrace"). */
void trap_init(const struct unotify_cfg *cfg, const char *who);

/* Decides a trapped connect, getpeername or addressed sendto (other numbers:
 * TRAP_CONTINUE). Returns TRAP_CONTINUE, 0 or -errno to answer (getpeername
 * has already written the tailnet peer into the tracee's memory when it
 * returns 0), TRAP_TUNNEL with *job (connect to a tunnelled range on a TCP
 * socket), or TRAP_GONE. Fails closed: a destination that cannot be read
 * for another reason than a bad pointer is answered -ENETUNREACH; UDP/raw
 * to a tunnelled range -ENETUNREACH; a UDP connect to port 53 is redirected
 * to the DNS stub (cfg->dns) and answered 0. */
int trap_decide(const struct trap_call *c, struct trap_job **job);

/* The SOCKS5 handshake on the app's own socket (pidfd_getfd): every option
 * it set stays; blocks up to cfg->timeout_ms. 0 (the socket carries the
 * tunnel; getpeername answers j->dest from now on), -errno as a kernel
 * connect gives it (the socket is back to unconnected), or
 * TRAP_GETFD_REFUSED (pidfd_getfd is not permitted: nothing was done). */
int trap_tunnel_getfd(const struct trap_job *j);

/* Runs fn(arg) on a detached thread with every signal blocked (the
 * command's signals are not for it). 0 or -errno (nothing started). */
int trap_spawn(void *(*fn)(void *), void *arg);

/* A setuid/setgid/setcap program is being (or was just) exec'd in a tree
 * running with no-new-privs: one warning per program (up to 8 remembered)
 * that it runs without those privileges. file: a path tsrun can stat
 * (/proc/TID/exe, /proc/TID/cwd/...); shown: the name the warning gives.
 * Call from the supervisor's thread only. */
void trap_report_exec(const char *file, const char *shown);

/* Helpers unotify.c's ADDFD path shares. */
int trap_proxy_for(int family, int v6only, struct sockaddr_storage *out, socklen_t *len);
int trap_fd_flags(pid_t tid, int fd); /* O_NONBLOCK/O_CLOEXEC of the app's fd, or -errno */
void trap_peer_remember(ino_t ino, const struct sockaddr *sa, socklen_t len);
int trap_mem_read(pid_t tid, uint64_t addr, void *buf, size_t len); /* 0, -EFAULT, -errno */

#endif

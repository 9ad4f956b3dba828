/* The ptrace intercept (--intercept=ptrace, and auto's fallback when no
 * seccomp listener can be had: gVisor answers EINVAL, a notifier already in
 * place EBUSY). The command runs under a seccomp filter that returns
 * SECCOMP_RET_TRACE for seccomp mode's calls (connect, getpeername,
 * addressed sendto, sendmsg, sendmmsg, recvfrom asking for the source; not
 * the execs); tsrun seizes it (PTRACE_O_TRACESECCOMP, following every
 * clone/fork/vfork/exec, EXITKILL) and answers those stops with trap.c's
 * decisions, DNS jobs with trapdns.c's redirects. Needs ptrace
 * of one's own child (Yama scope <= 1), pidfd_open/pidfd_getfd (Linux 5.6),
 * and x86_64 or aarch64 (registers through PTRACE_GETREGSET NT_PRSTATUS;
 * aarch64 sets the syscall number with NT_ARM_SYSTEM_CALL). */
#ifndef TSRUN_PTRACER_H
#define TSRUN_PTRACER_H

#include <stdbool.h>
#include <sys/types.h>

#include "unotify.h"

struct ptracer_child {
    pid_t pid;         /* the command, seized, already exec'ing */
    bool no_new_privs; /* PR_SET_NO_NEW_PRIVS was needed (no CAP_SYS_ADMIN) */
};

/* ptracer_spawn/ptracer_probe: ptrace works, but pidfd_getfd does not (not
 * permitted, or no pidfd_open: Debian 12's gVisor), so no tunnel can be built
 * on the app's socket. Positive: no -errno is taken for it. With
 * fail_closed, ptracer_spawn runs the command anyway: its
 * tunnelled connects are then answered ENETUNREACH instead of leaving by
 * the kernel's routes, its tailnet DNS queries sent with sendto fail the
 * same way, and its other DNS goes to its nameservers unchanged. */
#define PTRACER_NO_GETFD 2

/* Forks; the child installs the RET_TRACE filter (seccomp_install_trace)
 * and waits; tsrun checks pidfd_getfd on it and seizes it, then the child
 * execvpe()s argv with env (exit 127/126 with one line when that fails).
 * SIGCHLD is blocked in the calling thread from here on, until
 * ptracer_supervise unblocks it; the command gets the old mask.
 * Before the child may exec, tsrun starts and seizes its "doorbell" child
 * (see ptracer_supervise), so that failing leaves no command running.
 * 0 with *out filled (also without pidfd_getfd when fail_closed),
 * PTRACER_NO_GETFD (without fail_closed; nothing ran), or
 * -errno when the tree cannot be traced (nothing ran): EPERM/EACCES ptrace
 * refused (Yama, a seccomp profile), the filter's own error, or the
 * doorbell's (pipe2, fork: EAGAIN/ENOMEM). */
int ptracer_spawn(char *const argv[], char **env, bool fail_closed, struct ptracer_child *out);

/* Does this process permit the ptrace intercept? Forks a probe child that
 * goes through ptracer_spawn's steps without exec'ing. 0, PTRACER_NO_GETFD
 * or its -errno. */
int ptracer_probe(void);

/* One line for a ptracer_spawn error: why ptrace cannot be used. */
const char *ptracer_strerror(int err);

/* Runs until the command (child) exits, as unotify_supervise does: every
 * thread and process of the tree is followed; signal-delivery-stops are
 * reinjected, group-stops are left with PTRACE_LISTEN; tunnelled connects
 * are dialled (and a blocking DNS recvfrom with nothing queued waits) on
 * threads of their own (the tracee stays stopped) and their result comes
 * back over a pipe to this thread, the only one that issues
 * ptrace requests; it blocks in waitpid, woken for results by a traced
 * "doorbell" child of its own (ptracer.c). Sets SIGCHLD to SIG_DFL (no
 * handler: a stop costs no signal). Returns the child's wait status (for
 * unotify_exit_like). When tsrun exits, what is left of the tree is killed (EXITKILL). */
int ptracer_supervise(pid_t child, const struct unotify_cfg *cfg);

#endif
